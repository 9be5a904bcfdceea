//! Content digests (`algorithm:encoded`) and streaming hashers.
//!
//! Only `sha256` and `sha512` are accepted, as the OCI distribution spec recommends; the
//! encoded part must be lowercase hex of the algorithm's length.

use std::fmt;
use std::str::FromStr;

use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest as _, Sha256, Sha512};

use crate::error::Error;

/// A digest algorithm supported by the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the canonical algorithm.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in digest strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex-encoded digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated content digest such as `sha256:e3b0c442...`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    repr: String,
}

impl Digest {
    /// Parses and validates a digest string.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::DigestInvalid(format!("{why}: {}", truncate(s)));
        let (alg, encoded) = s.split_once(':').ok_or_else(|| invalid("missing ':'"))?;
        if !valid_algorithm_component(alg) {
            return Err(invalid("malformed algorithm"));
        }
        if encoded.is_empty()
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
        {
            return Err(invalid("malformed encoded part"));
        }
        let algorithm =
            Algorithm::from_name(alg).ok_or_else(|| invalid("unsupported digest algorithm"))?;
        if encoded.len() != algorithm.hex_len()
            || !encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid(
                "encoded part must be lowercase hex of the algorithm's length",
            ));
        }
        Ok(Digest {
            algorithm,
            repr: s.to_owned(),
        })
    }

    /// Digest of a byte slice held in memory.
    pub fn of(algorithm: Algorithm, data: &[u8]) -> Self {
        let mut h = Hasher::new(algorithm);
        h.update(data);
        h.finalize()
    }

    /// Canonical (sha256) digest of a byte slice.
    pub fn sha256(data: &[u8]) -> Self {
        Self::of(Algorithm::Sha256, data)
    }

    fn from_raw(algorithm: Algorithm, raw: &[u8]) -> Self {
        Digest {
            algorithm,
            repr: format!("{}:{}", algorithm.as_str(), hex::encode(raw)),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex-encoded part after the colon.
    pub fn hex(&self) -> &str {
        &self.repr[self.algorithm.as_str().len() + 1..]
    }

    /// The full `algorithm:hex` string.
    pub fn as_str(&self) -> &str {
        &self.repr
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(150) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `[a-z0-9]+(?:[.+_-][a-z0-9]+)*`
fn valid_algorithm_component(s: &str) -> bool {
    let mut prev_sep = true;
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => prev_sep = false,
            b'.' | b'+' | b'_' | b'-' if !prev_sep => prev_sep = true,
            _ => return false,
        }
    }
    !prev_sep
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Digest::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.repr)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher whose state can be saved and restored, so an upload can be
/// resumed by another request, process or replica without re-reading its bytes.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far (the hasher itself is not consumed).
    pub fn digest(&self) -> Digest {
        self.clone().finalize()
    }

    /// Finishes and returns the digest.
    pub fn finalize(self) -> Digest {
        let alg = self.algorithm();
        match self {
            Hasher::Sha256(h) => Digest::from_raw(alg, &h.finalize()),
            Hasher::Sha512(h) => Digest::from_raw(alg, &h.finalize()),
        }
    }

    /// Serialises the internal state: one algorithm byte followed by the hash state.
    pub fn save(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        match self {
            Hasher::Sha256(h) => {
                out.push(1);
                out.extend_from_slice(h.serialize().as_slice());
            }
            Hasher::Sha512(h) => {
                out.push(2);
                out.extend_from_slice(h.serialize().as_slice());
            }
        }
        out
    }

    /// Restores a state produced by [`Hasher::save`].
    pub fn restore(saved: &[u8]) -> Result<Self, Error> {
        let bad = || Error::internal("corrupt upload hash state");
        let (tag, state) = saved.split_first().ok_or_else(bad)?;
        match tag {
            1 => {
                let state = state.try_into().map_err(|_| bad())?;
                Ok(Hasher::Sha256(
                    Sha256::deserialize(state).map_err(|_| bad())?,
                ))
            }
            2 => {
                let state = state.try_into().map_err(|_| bad())?;
                Ok(Hasher::Sha512(
                    Sha512::deserialize(state).map_err(|_| bad())?,
                ))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({})", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_valid_digests() {
        let d = Digest::parse(EMPTY256).unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex().len(), 64);
        assert_eq!(d.to_string(), EMPTY256);
        let s512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(Digest::parse(&s512).unwrap().algorithm(), Algorithm::Sha512);
    }

    #[test]
    fn rejects_malformed_digests() {
        for bad in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            "sha256:abc",
            "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
            "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "foo:bar",
            "sha256+:abc",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/x",
            "../../etc/passwd",
        ] {
            let err = Digest::parse(bad).unwrap_err();
            assert!(matches!(err, Error::DigestInvalid(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn computes_known_digests() {
        assert_eq!(Digest::sha256(b"").as_str(), EMPTY256);
        assert_eq!(
            Digest::sha256(b"{}").as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(
            Digest::of(Algorithm::Sha512, b"").as_str(),
            "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
    }

    #[test]
    fn hasher_state_survives_save_and_restore() {
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
            let mut h = Hasher::new(alg);
            h.update(&data[..3333]);
            let saved = h.save();
            let mut resumed = Hasher::restore(&saved).unwrap();
            resumed.update(&data[3333..]);
            assert_eq!(resumed.finalize(), Digest::of(alg, &data));
        }
        assert!(Hasher::restore(&[]).is_err());
        assert!(Hasher::restore(&[1, 2, 3]).is_err());
        assert!(Hasher::restore(&[9; 200]).is_err());
    }
}
