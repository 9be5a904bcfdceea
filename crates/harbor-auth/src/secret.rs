//! Passwords and robot secrets: policy, hashing, verification, generation.
//!
//! Hashes are Argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`, OWASP's
//! recommended minimum), so parameters can be raised later without invalidating stored
//! hashes. Verification compares in constant time.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

use crate::AuthError;

/// Shortest password or secret accepted.
pub const MIN_LEN: usize = 8;
/// Longest password or secret accepted.
pub const MAX_LEN: usize = 128;

/// Largest Argon2 memory cost (KiB) a stored hash may ask for: 4x the default. A stored
/// hash is ours, but a larger one would let a bad row take the server's memory.
const MAX_M_COST: u32 = 4 * Params::DEFAULT_M_COST;

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

/// Argon2's working memory, reused from one hash to the next (19 MiB at the default
/// cost), so that hashing does not allocate and free large blocks each time.
#[derive(Default)]
pub struct Memory(Vec<Block>);

impl Memory {
    /// The first `blocks` blocks, growing the buffer if needed.
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::new());
        }
        &mut self.0[..blocks]
    }

    /// Bytes held.
    pub fn len_bytes(&self) -> usize {
        self.0.len() * Block::SIZE
    }
}

/// Hashes a password or secret with a fresh random salt.
pub fn hash(secret: &str) -> Result<String, AuthError> {
    hash_in(&mut Memory::default(), secret)
}

/// [`hash`] in the given working memory.
pub fn hash_in(memory: &mut Memory, secret: &str) -> Result<String, AuthError> {
    let err = |e: &dyn std::fmt::Display| AuthError::Hash(e.to_string());
    let params = Params::default();
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| AuthError::Key("no randomness".into()))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            secret.as_bytes(),
            &salt,
            &mut out,
            memory.blocks(params.block_count()),
        )
        .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `candidate` matches a stored hash. A malformed hash never matches.
pub fn verify(stored: &str, candidate: &str) -> bool {
    verify_in(&mut Memory::default(), stored, candidate)
}

/// [`verify`] in the given working memory; compares in constant time.
pub fn verify_in(memory: &mut Memory, stored: &str, candidate: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let blocks = memory.blocks(params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(candidate.as_bytes(), salt, &mut out, blocks)
        .is_ok()
        && constant_time_eq(&out, expected.as_ref())
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
    fn reused_memory_agrees_with_the_argon2_crate() {
        use argon2::password_hash::PasswordVerifier as _;
        let mut memory = Memory::default();
        let ours = hash_in(&mut memory, "Harbor12345").unwrap();
        assert_eq!(memory.len_bytes(), 19 * 1024 * 1024);
        // Our hashes verify with the crate's own verifier, and the crate's with ours.
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Harbor12345", &parsed)
                .is_ok()
        );
        use argon2::password_hash::PasswordHasher as _;
        let theirs = Argon2::default()
            .hash_password(b"Harbor12345")
            .unwrap()
            .to_string();
        assert!(verify_in(&mut memory, &theirs, "Harbor12345"));
        assert!(!verify_in(&mut memory, &theirs, "Harbor12346"));
        assert!(verify_in(&mut memory, &ours, "Harbor12345"));
        assert_eq!(memory.len_bytes(), 19 * 1024 * 1024, "reused, not grown");
        // Other parameters (argon2i, a smaller cost) verify too; an excessive cost never.
        let small = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert!(verify_in(&mut memory, &small, "pw"));
        let huge = ours.replace("m=19456", "m=4194304");
        assert!(!verify_in(&mut memory, &huge, "Harbor12345"));
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
