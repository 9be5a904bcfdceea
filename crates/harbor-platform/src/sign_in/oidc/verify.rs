//! ID-token verification: the signature against the provider's keys (asymmetric
//! algorithms only: RS*, PS*, ES256/ES384, EdDSA; never `none` or a shared secret), the
//! issuer, the audience (contains the client id; `azp` is the client when present or when
//! there are several audiences), expiry and issue time (60 s of leeway), and the nonce
//! the sign-in sent.

use harbor_auth::secret::constant_time_eq;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::OidcError;

/// Clock skew tolerated between this server and the provider.
const LEEWAY_SECS: u64 = 60;
/// An ID token issued longer ago than this is refused (a replayed one).
const MAX_AGE_SECS: i64 = 24 * 3600;

const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn invalid(why: impl Into<String>) -> OidcError {
    OidcError::InvalidToken(why.into())
}

/// The header's key id and algorithm, refusing algorithms that are not asymmetric.
pub(crate) fn header(token: &str) -> Result<(Option<String>, Algorithm), OidcError> {
    let h = jsonwebtoken::decode_header(token).map_err(|e| invalid(format!("malformed: {e}")))?;
    if !ALGORITHMS.contains(&h.alg) {
        return Err(invalid(format!("algorithm {:?} is not accepted", h.alg)));
    }
    Ok((h.kid, h.alg))
}

/// What an ID token must be.
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce the sign-in sent; `None` for a token from a refresh.
    pub nonce: Option<&'a str>,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// Verifies `token` with one of `keys` and returns its claims.
pub(crate) fn verify(
    token: &str,
    keys: &[Jwk],
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, OidcError> {
    let (kid, alg) = header(token)?;
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(|k| match (&kid, &k.common.key_id) {
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .collect();
    if candidates.is_empty() {
        return Err(invalid(match kid {
            Some(k) => format!("signed with key {k:?}, which the provider does not publish"),
            None => "no key of the provider can verify it".into(),
        }));
    }
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.set_audience(&[expected.client_id]);
    validation.set_issuer(&[expected.issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    let mut last = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => return check_claims(data.claims, expected),
            Err(e) => last = Some(e),
        }
    }
    Err(match last.as_ref().map(|e| e.kind()) {
        Some(jsonwebtoken::errors::ErrorKind::ExpiredSignature) => invalid("it has expired"),
        Some(jsonwebtoken::errors::ErrorKind::InvalidIssuer) => {
            invalid(format!("it was not issued by {}", expected.issuer))
        }
        Some(jsonwebtoken::errors::ErrorKind::InvalidAudience) => {
            invalid("it was not issued for this client")
        }
        Some(jsonwebtoken::errors::ErrorKind::InvalidSignature) => {
            invalid("its signature does not verify")
        }
        Some(other) => invalid(format!("{other:?}")),
        None => invalid("no key of the provider can verify it"),
    })
}

fn check_claims(
    claims: Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, OidcError> {
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("iat is not a number"))?;
    let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(60);
    if iat > expected.now + leeway {
        return Err(invalid("it was issued in the future"));
    }
    if iat < expected.now - MAX_AGE_SECS {
        return Err(invalid("it was issued too long ago"));
    }
    let several = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != expected.client_id => {
            return Err(invalid("it was issued to another client (azp)"));
        }
        None if several => return Err(invalid("several audiences and no azp")),
        _ => {}
    }
    if let Some(nonce) = expected.nonce {
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !constant_time_eq(got.as_bytes(), nonce.as_bytes()) {
            return Err(invalid("its nonce is not this sign-in's"));
        }
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(invalid("sub is empty"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ISS: &str = "https://id.example";

    struct Key {
        encoding: EncodingKey,
        jwk: Jwk,
    }

    fn key(kid: &str) -> Key {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let public = pair.public_key().as_ref(); // 0x04 || x || y
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": b64(&public[1..33]), "y": b64(&public[33..65]),
        }))
        .unwrap();
        Key {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }

    fn now() -> i64 {
        harbor_core::model::now_ms() / 1000
    }

    fn sign(k: &Key, kid: &str, claims: Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, &k.encoding).unwrap()
    }

    fn good(n: i64) -> Value {
        json!({"iss": ISS, "aud": "harbor", "sub": "alice", "iat": n, "exp": n + 300, "nonce": "n1"})
    }

    fn expected(nonce: Option<&str>) -> Expected<'_> {
        Expected {
            issuer: ISS,
            client_id: "harbor",
            nonce,
            now: now(),
        }
    }

    #[test]
    fn a_good_token_verifies() {
        let k = key("k1");
        let t = sign(&k, "k1", good(now()));
        let claims = verify(&t, std::slice::from_ref(&k.jwk), &expected(Some("n1"))).unwrap();
        assert_eq!(claims["sub"], "alice");
        // A refresh's token: no nonce expected.
        verify(&t, &[k.jwk], &expected(None)).unwrap();
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let k = key("k1");
        let other = key("k2");
        let n = now();
        let refused = |t: String, keys: &[Jwk], nonce, why: &str| {
            let e = verify(&t, keys, &expected(nonce)).unwrap_err();
            assert!(e.to_string().contains(why), "{e} should say {why}");
        };
        let keys = [k.jwk.clone()];
        let mut c = good(n);
        c["exp"] = json!(n - 120);
        refused(sign(&k, "k1", c), &keys, Some("n1"), "expired");
        let mut c = good(n);
        c["iss"] = json!("https://evil.example");
        refused(sign(&k, "k1", c), &keys, Some("n1"), "not issued by");
        let mut c = good(n);
        c["aud"] = json!("someone-else");
        refused(sign(&k, "k1", c), &keys, Some("n1"), "for this client");
        refused(sign(&k, "k1", good(n)), &keys, Some("n2"), "nonce");
        let mut c = good(n);
        c["iat"] = json!(n + 3600);
        refused(sign(&k, "k1", c), &keys, Some("n1"), "future");
        let mut c = good(n);
        c["aud"] = json!(["harbor", "other"]);
        refused(sign(&k, "k1", c), &keys, Some("n1"), "azp");
        let mut c = good(n);
        c["azp"] = json!("other");
        refused(sign(&k, "k1", c), &keys, Some("n1"), "another client");
        // Signed by a key the provider does not publish under that id, or with a
        // forged key id.
        refused(
            sign(&other, "k2", good(n)),
            &keys,
            Some("n1"),
            "does not publish",
        );
        refused(sign(&other, "k1", good(n)), &keys, Some("n1"), "signature");
        // Tampered: the claims changed after signing.
        let t = sign(&k, "k1", good(n));
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut c = good(n);
        c["sub"] = json!("admin");
        parts[1] = b64.encode(serde_json::to_vec(&c).unwrap());
        refused(parts.join("."), &keys, Some("n1"), "signature");
        // HS256 (a shared secret) and `none` are never accepted.
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good(n),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        refused(hs, &keys, Some("n1"), "not accepted");
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none"}"#),
            b64.encode(serde_json::to_vec(&good(n)).unwrap())
        );
        assert!(verify(&none, &keys, &expected(Some("n1"))).is_err());
        refused("garbage".into(), &keys, Some("n1"), "malformed");
    }
}
