//! Notation signatures (notaryproject `signature-specification.md`, the `notary.x509`
//! scheme) in the JWS JSON envelope (`application/jose+json`), without I/O: the
//! certificate chain in `header.x5c` must lead, with the code-signing usage, to a root
//! certificate the project trusts (rustls-webpki, the certificate verifier the server's
//! TLS already builds); the leaf's key must sign `protected.payload` with the `alg` of
//! the protected header (aws-lc-rs); the payload's `targetArtifact.digest` must be the
//! artifact's. COSE envelopes and timestamp countersignatures are not read: a COSE
//! signature does not verify here.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED, ParsedPublicKey,
    RSA_PSS_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512,
    VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use harbor_core::Digest;
use harbor_core::signature::MAX_PEM_BYTES;
use rustls_pki_types::pem::{self, PemObject as _};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Deserialize;
use webpki::{EndEntityCert, KeyUsage};

use super::verify::KeyError;

/// The extended key usage Notation requires of a signing certificate (id-kp-codeSigning,
/// 1.3.6.1.5.5.7.3.3, encoded).
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// A root certificate a project trusts, parsed.
pub struct RootCert {
    der: CertificateDer<'static>,
    /// `sha256:<hex>` of its DER.
    pub fingerprint: String,
}

impl RootCert {
    /// Parses one PEM `CERTIFICATE` that can serve as a trust anchor.
    pub fn from_pem(pem_text: &str) -> Result<Self, KeyError> {
        if pem_text.len() > MAX_PEM_BYTES {
            return Err(KeyError(format!(
                "the certificate is larger than {MAX_PEM_BYTES} bytes"
            )));
        }
        let der = CertificateDer::from_pem_slice(pem_text.as_bytes()).map_err(|e| {
            KeyError(match e {
                pem::Error::NoItemsFound => "no PEM \"CERTIFICATE\" block found: give the root \
                                             certificate of the signing chain"
                    .to_owned(),
                other => format!("the certificate is not valid PEM: {other}"),
            })
        })?;
        webpki::anchor_from_trusted_cert(&der)
            .map_err(|e| KeyError(format!("the certificate cannot be a trust anchor: {e}")))?;
        let fingerprint = Digest::sha256(der.as_ref()).to_string();
        Ok(Self { der, fingerprint })
    }
}

#[derive(Deserialize)]
struct Envelope {
    payload: String,
    protected: String,
    #[serde(default)]
    header: Header,
    signature: String,
}

#[derive(Deserialize, Default)]
struct Header {
    #[serde(default)]
    x5c: Vec<String>,
}

#[derive(Deserialize)]
struct Protected {
    alg: String,
}

/// Why a Notation signature does not verify (for the log; the client sees Harbor's
/// refusal).
pub type Failure = String;

fn algorithm(alg: &str) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        "ES256" => &ECDSA_P256_SHA256_FIXED,
        "ES384" => &ECDSA_P384_SHA384_FIXED,
        "ES512" => &ECDSA_P521_SHA512_FIXED,
        "PS256" => &RSA_PSS_2048_8192_SHA256,
        "PS384" => &RSA_PSS_2048_8192_SHA384,
        "PS512" => &RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// Verifies a JWS envelope signing `subject` against `roots`: the index of the root the
/// chain leads to.
pub fn verify_jws(envelope: &[u8], subject: &Digest, roots: &[RootCert]) -> Result<usize, Failure> {
    let env: Envelope =
        serde_json::from_slice(envelope).map_err(|e| format!("not a JWS JSON envelope: {e}"))?;
    let protected = URL_SAFE_NO_PAD
        .decode(env.protected.trim_end_matches('='))
        .map_err(|e| format!("protected header: {e}"))?;
    let protected: Protected =
        serde_json::from_slice(&protected).map_err(|e| format!("protected header: {e}"))?;
    let alg = algorithm(&protected.alg)
        .ok_or_else(|| format!("unsupported signature algorithm {:?}", protected.alg))?;
    let payload = URL_SAFE_NO_PAD
        .decode(env.payload.trim_end_matches('='))
        .map_err(|e| format!("payload: {e}"))?;
    let payload: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| format!("payload: {e}"))?;
    match payload["targetArtifact"]["digest"].as_str() {
        Some(d) if d == subject.as_str() => {}
        Some(d) => return Err(format!("the payload signs {d}, not {subject}")),
        None => return Err("the payload has no targetArtifact.digest".into()),
    }
    let chain: Vec<CertificateDer<'static>> = env
        .header
        .x5c
        .iter()
        .map(|c| STANDARD.decode(c).map(CertificateDer::from))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("x5c: {e}"))?;
    let (leaf, intermediates) = chain.split_first().ok_or("x5c is empty")?;
    let leaf_cert = EndEntityCert::try_from(leaf).map_err(|e| format!("leaf certificate: {e}"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(env.signature.trim_end_matches('='))
        .map_err(|e| format!("signature: {e}"))?;
    let spki = leaf_cert.subject_public_key_info();
    let key = ParsedPublicKey::new(alg, spki.as_ref())
        .map_err(|_| format!("the leaf key does not fit {}", protected.alg))?;
    let signed = format!("{}.{}", env.protected, env.payload);
    key.verify_sig(signed.as_bytes(), &signature)
        .map_err(|_| "the signature does not verify with the leaf certificate".to_owned())?;
    let now = UnixTime::now();
    for (i, root) in roots.iter().enumerate() {
        let Ok(anchor) = webpki::anchor_from_trusted_cert(&root.der) else {
            continue;
        };
        if leaf_cert
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &[anchor],
                intermediates,
                now,
                KeyUsage::required(CODE_SIGNING),
                None,
                None,
            )
            .is_ok()
        {
            return Ok(i);
        }
    }
    Err("the certificate chain leads to no trusted root".into())
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };

    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A root CA, and a leaf signed by it with the given usage, as (root PEM, leaf DER,
    /// leaf key PKCS#8).
    fn chain(code_signing: bool) -> (String, Vec<u8>, Vec<u8>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf.extended_key_usages = vec![if code_signing {
            ExtendedKeyUsagePurpose::CodeSigning
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        (
            ca_cert.pem(),
            leaf_cert.der().to_vec(),
            leaf_key.serialize_der(),
        )
    }

    fn envelope(leaf: &[u8], key: &[u8], digest: &str) -> Vec<u8> {
        let protected = URL_SAFE_NO_PAD.encode(
            br#"{"alg":"ES256","crit":["io.cncf.notary.signingScheme"],"cty":"application/vnd.cncf.notary.payload.v1+json","io.cncf.notary.signingScheme":"notary.x509"}"#,
        );
        let payload = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"targetArtifact":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":7}}}}"#
        ));
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key).unwrap();
        let sig = kp
            .sign(
                &SystemRandom::new(),
                format!("{protected}.{payload}").as_bytes(),
            )
            .unwrap();
        serde_json::to_vec(&serde_json::json!({
            "payload": payload,
            "protected": protected,
            "header": {"x5c": [STANDARD.encode(leaf)]},
            "signature": URL_SAFE_NO_PAD.encode(sig.as_ref()),
        }))
        .unwrap()
    }

    #[test]
    fn a_chain_to_a_trusted_root_verifies() {
        let subject = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        let (root, leaf, key) = chain(true);
        let root = RootCert::from_pem(&root).unwrap();
        let env = envelope(&leaf, &key, subject.as_str());
        assert_eq!(
            verify_jws(&env, &subject, std::slice::from_ref(&root)),
            Ok(0)
        );
        // Another root is not trusted.
        let (other, _, _) = chain(true);
        let other = RootCert::from_pem(&other).unwrap();
        let e = verify_jws(&env, &subject, std::slice::from_ref(&other)).unwrap_err();
        assert!(e.contains("no trusted root"), "{e}");
        // The payload names another artifact.
        let tampered = envelope(&leaf, &key, &format!("sha256:{}", "f".repeat(64)));
        let e = verify_jws(&tampered, &subject, std::slice::from_ref(&root)).unwrap_err();
        assert!(e.contains("not sha256:0123"), "{e}");
        // A changed signature.
        let mut v: serde_json::Value = serde_json::from_slice(&env).unwrap();
        v["payload"] = URL_SAFE_NO_PAD
            .encode(format!(r#"{{"targetArtifact":{{"digest":"{subject}"}}}}"#))
            .into();
        let e = verify_jws(&serde_json::to_vec(&v).unwrap(), &subject, &[root]).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
    }

    #[test]
    fn a_leaf_without_code_signing_is_refused() {
        let subject = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        let (root, leaf, key) = chain(false);
        let root = RootCert::from_pem(&root).unwrap();
        let env = envelope(&leaf, &key, subject.as_str());
        assert!(verify_jws(&env, &subject, &[root]).is_err());
    }

    #[test]
    fn bad_certificates_are_refused_with_a_reason() {
        let e = RootCert::from_pem("nothing").err().unwrap();
        assert!(e.0.contains("no PEM \"CERTIFICATE\""), "{e}");
        let e =
            RootCert::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .err()
                .unwrap();
        assert!(e.0.contains("trust anchor"), "{e}");
    }
}
