//! Cryptographic checks of signatures against the keys a project trusts, without I/O:
//! cosign key pairs (a PEM `PUBLIC KEY`, ECDSA P-256; the base64 DER signature over the
//! exact payload bytes) on aws-lc-rs, the provider the server's TLS already builds.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ParsedPublicKey};
use base64::Engine as _;
use harbor_core::Digest;
use harbor_core::signature::{MAX_PEM_BYTES, SignatureKind};
use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::{self, PemObject as _};

/// A key that did not parse: the text says why (shown to the client as a 400).
#[derive(Debug, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cosign public key, parsed.
pub struct CosignKey {
    key: ParsedPublicKey,
    /// `sha256:<hex>` of its DER `SubjectPublicKeyInfo`.
    pub fingerprint: String,
}

impl CosignKey {
    /// Parses a PEM `PUBLIC KEY` block holding an ECDSA P-256 key (what `cosign
    /// generate-key-pair` writes to `cosign.pub`).
    pub fn from_pem(pem_text: &str) -> Result<Self, KeyError> {
        if pem_text.len() > MAX_PEM_BYTES {
            return Err(KeyError(format!(
                "the key is larger than {MAX_PEM_BYTES} bytes"
            )));
        }
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem_text.as_bytes()).map_err(|e| {
            KeyError(match e {
                pem::Error::NoItemsFound => {
                    "no PEM \"PUBLIC KEY\" block found: give the public key (cosign.pub), \
                     not a private key or certificate"
                        .to_owned()
                }
                other => format!("the key is not valid PEM: {other}"),
            })
        })?;
        let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, der.as_ref()).map_err(|_| {
            KeyError(
                "the key is not an ECDSA P-256 public key (cosign key pairs are ECDSA \
                 P-256)"
                    .to_owned(),
            )
        })?;
        Ok(Self {
            key,
            fingerprint: Digest::sha256(der.as_ref()).to_string(),
        })
    }

    /// Whether `signature_b64` (cosign's `dev.cosignproject.cosign/signature`: base64 of
    /// a DER ECDSA signature) signs `payload` with this key.
    pub fn verifies(&self, payload: &[u8], signature_b64: &str) -> bool {
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else {
            return false;
        };
        self.key.verify_sig(payload, &sig).is_ok()
    }
}

/// Checks a key of `kind` given as PEM and returns its fingerprint.
pub fn fingerprint(kind: SignatureKind, pem_text: &str) -> Result<String, KeyError> {
    match kind {
        SignatureKind::Cosign => CosignKey::from_pem(pem_text).map(|k| k.fingerprint),
        SignatureKind::Notation => {
            super::notation::RootCert::from_pem(pem_text).map(|c| c.fingerprint)
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

    use super::*;

    /// A fresh P-256 key pair and its public key as PEM.
    fn pair() -> (EcdsaKeyPair, String) {
        let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let spki = kp.public_key().as_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(spki.as_ref());
        (
            kp,
            format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n"),
        )
    }

    #[test]
    fn verifies_what_the_key_signed_only() {
        let (kp, pem_text) = pair();
        let key = CosignKey::from_pem(&pem_text).unwrap();
        assert!(key.fingerprint.starts_with("sha256:"));
        let payload = b"{\"critical\":{}}";
        let sig = kp.sign(&SystemRandom::new(), payload).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(sig.as_ref());
        assert!(key.verifies(payload, &b64));
        assert!(!key.verifies(b"{\"critical\":{} }", &b64), "other bytes");
        assert!(!key.verifies(payload, "not base64!"));
        let (_, other) = pair();
        assert!(!CosignKey::from_pem(&other).unwrap().verifies(payload, &b64));
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        let e = CosignKey::from_pem("hello").err().unwrap();
        assert!(e.0.contains("no PEM \"PUBLIC KEY\" block"), "{e}");
        let e = CosignKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")
            .err()
            .unwrap();
        assert!(
            e.0.contains("not valid PEM") || e.0.contains("P-256"),
            "{e}"
        );
        // An Ed25519 key (a valid SubjectPublicKeyInfo of another algorithm).
        let ed = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        let e = CosignKey::from_pem(ed).err().unwrap();
        assert!(e.0.contains("not an ECDSA P-256"), "{e}");
        let huge = "A".repeat(MAX_PEM_BYTES + 1);
        assert!(CosignKey::from_pem(&huge).is_err());
    }
}
