//! Secrets at rest: values the server must read back (the token-signing key now; remote
//! registry credentials later) are sealed with AES-256-GCM under a key from the
//! configuration, so a copy of the database alone reveals nothing.
//!
//! A sealed value is `hrs1` ‖ 12-byte random nonce ‖ ciphertext ‖ 16-byte tag; the
//! additional data names what the value is, so one sealed value cannot be passed off as
//! another. Keys are 32 random bytes, written as 64 hex characters.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};

use crate::AuthError;

const MAGIC: &[u8; 4] = b"hrs1";
const KEY_LEN: usize = 32;

/// A key that seals and opens secrets at rest.
pub struct SealingKey {
    key: RandomizedNonceKey,
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

impl SealingKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<Self, AuthError> {
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| AuthError::Key("cannot use the sealing key".into()))?;
        Ok(SealingKey { key, bytes })
    }

    /// A new random key.
    pub fn generate() -> Result<Self, AuthError> {
        let mut bytes = [0u8; KEY_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| AuthError::Key("no randomness".into()))?;
        Self::from_bytes(bytes)
    }

    /// A key written as 64 hex characters (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let text = text.trim();
        let bad = || AuthError::Key("a secret key is 64 hex characters (32 random bytes)".into());
        if text.len() != 2 * KEY_LEN || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; KEY_LEN];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Self::from_bytes(bytes)
    }

    /// The key as 64 hex characters, to store or hand to other replicas.
    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Seals `plaintext`; `what` names the value (its additional authenticated data).
    pub fn seal(&self, plaintext: &[u8], what: &str) -> Result<Vec<u8>, AuthError> {
        let mut data = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(what.as_bytes()), &mut data)
            .map_err(|_| AuthError::Key("cannot seal".into()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + data.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Opens a value sealed with this key as `what`; fails for any other key, name or
    /// tampered bytes.
    pub fn open(&self, sealed: &[u8], what: &str) -> Result<Vec<u8>, AuthError> {
        let wrong = || AuthError::Key(format!("cannot open the sealed {what} with this key"));
        let rest = sealed.strip_prefix(MAGIC.as_slice()).ok_or_else(wrong)?;
        if rest.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut data = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(what.as_bytes()), &mut data)
            .map_err(|_| wrong())?;
        Ok(plain.to_vec())
    }

    /// A secret derived from this key for `purpose` (HMAC-SHA256, 64 hex characters):
    /// every replica with the same key derives the same value, nothing is stored.
    pub fn derive(&self, purpose: &str) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.bytes);
        aws_lc_rs::hmac::sign(&key, purpose.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Another handle on the same key.
    pub fn duplicate(&self) -> Result<Self, AuthError> {
        Self::from_bytes(self.bytes)
    }

    /// Whether `bytes` look sealed (as opposed to a value stored in clear by an older
    /// version).
    pub fn is_sealed(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }
}

/// The current key and the ones it replaced: values are sealed with the current one and
/// opened with whichever seals them (a key rotation re-seals them over time).
#[derive(Debug)]
pub struct SealingKeys {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl SealingKeys {
    /// The keys: `current` seals, all open.
    pub fn new(current: SealingKey, previous: Vec<SealingKey>) -> Self {
        SealingKeys { current, previous }
    }

    /// A secret derived from the current key for `purpose` ([`SealingKey::derive`]).
    pub fn derive(&self, purpose: &str) -> String {
        self.current.derive(purpose)
    }

    /// Seals with the current key.
    pub fn seal(&self, plaintext: &[u8], what: &str) -> Result<Vec<u8>, AuthError> {
        self.current.seal(plaintext, what)
    }

    /// Opens with the current key, else a previous one; also says whether the value
    /// should be re-sealed (it was sealed with a previous key).
    pub fn open(&self, sealed: &[u8], what: &str) -> Result<(Vec<u8>, bool), AuthError> {
        if let Ok(plain) = self.current.open(sealed, what) {
            return Ok((plain, false));
        }
        for key in &self.previous {
            if let Ok(plain) = key.open(sealed, what) {
                return Ok((plain, true));
            }
        }
        Err(AuthError::Key(format!(
            "cannot open the sealed {what} with the configured secret key \
             (auth.secret_key, or one of auth.previous_secret_keys)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_name() {
        let k = SealingKey::generate().unwrap();
        let sealed = k.seal(b"private key", "signing key").unwrap();
        assert!(SealingKey::is_sealed(&sealed));
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        assert_eq!(k.open(&sealed, "signing key").unwrap(), b"private key");
        assert_ne!(
            sealed,
            k.seal(b"private key", "signing key").unwrap(),
            "nonce"
        );
        assert!(k.open(&sealed, "something else").is_err());
        let other = SealingKey::generate().unwrap();
        assert!(other.open(&sealed, "signing key").is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(k.open(&tampered, "signing key").is_err());
        assert!(k.open(b"hrs1", "signing key").is_err());
        assert!(k.open(b"clear", "signing key").is_err());
        // Hex round trip.
        let again = SealingKey::parse(&format!(" {}\n", k.to_hex())).unwrap();
        assert_eq!(again.open(&sealed, "signing key").unwrap(), b"private key");
        assert!(SealingKey::parse("abc").is_err());
        assert!(SealingKey::parse(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{k:?}"), "SealingKey(***)");
    }

    #[test]
    fn derived_secrets_depend_on_key_and_purpose_only() {
        let k = SealingKey::parse(&"01".repeat(32)).unwrap();
        let d = k.derive("scanner adapter");
        assert_eq!(d.len(), 64);
        assert!(d.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(d, k.duplicate().unwrap().derive("scanner adapter"));
        assert_ne!(d, k.derive("something else"));
        assert_ne!(d, SealingKey::generate().unwrap().derive("scanner adapter"));
        // HMAC-SHA256(key = 0x01 * 32, "abc"), computed with Python's hmac module.
        assert_eq!(
            k.derive("abc"),
            "73860612aa6aadf68985b6e9c4233357cedd5f24a221eba740b2aa8350276cfc"
        );
    }

    #[test]
    fn keys_open_with_previous_ones_and_say_so() {
        let old = SealingKey::generate().unwrap();
        let sealed_old = old.seal(b"s", "x").unwrap();
        let keys = SealingKeys::new(
            SealingKey::generate().unwrap(),
            vec![old.duplicate().unwrap()],
        );
        assert_eq!(keys.open(&sealed_old, "x").unwrap(), (b"s".to_vec(), true));
        let sealed_new = keys.seal(b"t", "x").unwrap();
        assert_eq!(keys.open(&sealed_new, "x").unwrap(), (b"t".to_vec(), false));
        assert!(old.open(&sealed_new, "x").is_err());
        let stranger = SealingKey::generate().unwrap().seal(b"u", "x").unwrap();
        assert!(keys.open(&stranger, "x").is_err());
    }
}
