//! CLI secrets: generated at onboarding, changed by the user or an administrator under
//! Harbor's rules.

use harbor_core::{Error, Result};

/// Length of a generated CLI secret.
pub const GENERATED_LEN: usize = 32;

/// A random CLI secret: 32 letters and digits, at least one of each kind Harbor's rules
/// ask for.
pub fn generate() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    loop {
        let mut raw = [0u8; GENERATED_LEN];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| Error::internal("no randomness"))?;
        // 256 is not a multiple of the alphabet's size: drop the biased top.
        let limit = 256 - 256 % ALPHABET.len();
        if raw.iter().any(|b| usize::from(*b) >= limit) {
            continue;
        }
        let s: String = raw
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        if check_rules(&s).is_ok() {
            return Ok(s);
        }
    }
}

/// Harbor's rules for a CLI secret: 8 to 128 characters with an upper-case letter, a
/// lower-case letter and a digit.
pub fn check_rules(s: &str) -> Result<()> {
    let n = s.chars().count();
    if !(8..=128).contains(&n) {
        return Err(Error::Invalid(
            "the length of the secret must be longer than 8 and shorter than 128".into(),
        ));
    }
    let has = |f: fn(&char) -> bool| s.chars().any(|c| f(&c));
    if !has(char::is_ascii_uppercase)
        || !has(char::is_ascii_lowercase)
        || !has(char::is_ascii_digit)
    {
        return Err(Error::Invalid(
            "the secret must contain at least one uppercase letter, one lowercase letter and one number".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_follow_the_rules_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), GENERATED_LEN);
        assert_ne!(a, b);
        check_rules(&a).unwrap();
    }

    #[test]
    fn harbor_rules() {
        check_rules("Passw0rd").unwrap();
        for bad in [
            "Pa0",
            "password1",
            "PASSWORD1",
            "Password",
            &"Aa1".repeat(50),
        ] {
            assert!(check_rules(bad).is_err(), "{bad}");
        }
    }
}
