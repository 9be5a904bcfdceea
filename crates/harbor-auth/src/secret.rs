//! Passwords and robot secrets: policy, hashing, verification, generation.
//!
//! Hashes are Argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`, OWASP's
//! recommended minimum), so parameters can be raised later without invalidating stored
//! hashes. Verification compares in constant time.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::AuthError;

/// Shortest password or secret accepted.
pub const MIN_LEN: usize = 8;
/// Longest password or secret accepted.
pub const MAX_LEN: usize = 128;

/// Harbor's policy for user passwords and robot secrets: 8 to 128 characters with at
/// least one uppercase letter, one lowercase letter and one digit.
pub fn check_policy(secret: &str) -> Result<(), AuthError> {
    let len = secret.chars().count();
    let ok = (MIN_LEN..=MAX_LEN).contains(&len)
        && secret.chars().any(|c| c.is_ascii_uppercase())
        && secret.chars().any(|c| c.is_ascii_lowercase())
        && secret.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(AuthError::Policy(format!(
            "must be {MIN_LEN} to {MAX_LEN} characters with at least one uppercase letter, \
             one lowercase letter and one digit"
        )))
    }
}

/// Hashes a password or secret with a fresh random salt.
pub fn hash(secret: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `candidate` matches a stored hash. A malformed hash never matches.
pub fn verify(stored: &str, candidate: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A new random secret of 32 characters that meets [`check_policy`] (about 190 bits).
pub fn generate() -> Result<String, AuthError> {
    loop {
        let mut raw = [0u8; 32];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| AuthError::Key("no randomness".into()))?;
        // 62 symbols: reject bytes that would bias the choice.
        let s: String = raw
            .iter()
            .filter(|&&b| (b as usize) < ALPHABET.len() * 4)
            .map(|&b| ALPHABET[b as usize % ALPHABET.len()] as char)
            .collect();
        if s.len() >= 24 && check_policy(&s).is_ok() {
            return Ok(s);
        }
    }
}

/// Whether two byte strings are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// A random 256-bit token as 64 hex characters (session ids, CSRF tokens).
pub fn random_token() -> Result<String, AuthError> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| AuthError::Key("no randomness".into()))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 of a token, hex: what is stored instead of a session id.
pub fn token_hash(token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        for ok in [
            "Harbor12345",
            "aB3aaaaa",
            &format!("Aa1{}", "x".repeat(125)),
        ] {
            assert!(check_policy(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Aa1",
            "harbor12345",
            "HARBOR12345",
            "HarborHarbor",
            &format!("Aa1{}", "x".repeat(126)),
        ] {
            assert!(check_policy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes_verify_only_the_right_secret() {
        let h = hash("Harbor12345").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Harbor12345"));
        assert!(verify(&h, "Harbor12345"));
        assert!(!verify(&h, "Harbor12346"));
        assert!(!verify(&h, ""));
        assert_ne!(h, hash("Harbor12345").unwrap(), "salted");
        assert!(!verify("not a hash", "Harbor12345"));
        assert!(!verify("", ""));
    }

    #[test]
    fn generated_secrets_are_strong_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert!(s.len() >= 24);
            check_policy(s).unwrap();
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }
}
