//! The Docker registry token service's tokens: ES256 JWTs whose `access` claim lists what
//! the bearer may do, as Harbor and CNCF Distribution issue them.
//!
//! Verification is strict: the algorithm is fixed (so `alg: none` or an HMAC made with the
//! public key cannot pass), and issuer, audience, expiry and not-before are all required.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AuthError;

/// Harbor's token issuer name.
pub const ISSUER: &str = "harbor-token-issuer";
/// Harbor's registry service name (the token audience).
pub const SERVICE: &str = "harbor-registry";
/// Clock skew tolerated when checking `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Most verified tokens remembered at once.
const VERIFIED_MAX: usize = 10_000;

/// An ECDSA P-256 signing key, stored as PKCS#8 DER so that every replica can share it.
#[derive(Clone)]
pub struct SigningKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(kid={})", self.kid)
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Result<Self, AuthError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| AuthError::Key("cannot generate an ECDSA key".into()))?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// A key from its PKCS#8 DER encoding.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, AuthError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| AuthError::Key("not a P-256 PKCS#8 key".into()))?;
        let public = pair.public_key().as_ref().to_vec();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &public);
        let kid = digest.as_ref()[..15]
            .chunks(3)
            .map(|c| c.iter().map(|b| format!("{b:02X}")).collect::<String>())
            .collect::<Vec<_>>()
            .join(":");
        Ok(SigningKey {
            pkcs8: der.to_vec(),
            public,
            kid,
        })
    }

    /// The PKCS#8 DER encoding, to store.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key id put in token headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// One grant of a token: `{"type":"repository","name":"library/nginx","actions":["pull"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Repository name, or `catalog`.
    pub name: String,
    /// Granted actions.
    pub actions: Vec<String>,
}

/// The claims of a registry token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user or robot name ("" for anonymous).
    pub sub: String,
    /// Audience: the registry service.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Unique token id.
    pub jti: String,
    /// What the token grants.
    pub access: Vec<Access>,
    /// The id of the subject's account (absent for anonymous tokens). Names can be
    /// reused after an account is deleted; ids are never, so a token stays bound to the
    /// account it was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
}

/// A token as the token endpoint answers it.
#[derive(Clone, Debug, Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// The same JWT (OAuth2 name).
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// RFC 3339 issue time.
    pub issued_at: String,
}

/// Issues and verifies registry tokens with one key.
///
/// A client sends the same token with every request of a push or pull, so verified tokens
/// are remembered (by the SHA-256 of the whole token, until they expire) and the ECDSA
/// signature is checked once per token, not once per request.
pub struct TokenService {
    key: SigningKey,
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    verified: Mutex<HashMap<[u8; 32], Claims>>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service signing with `key`, tokens valid for `ttl`.
    pub fn new(key: SigningKey, ttl: Duration) -> Self {
        let encoding = EncodingKey::from_ec_der(key.pkcs8());
        let decoding = DecodingKey::from_ec_der(&key.public);
        TokenService {
            key,
            encoding,
            decoding,
            ttl,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// A token for `subject` (whose account has id `account_id`) granting `access`,
    /// issued at `now` (seconds since the epoch), valid for the service's lifetime.
    pub fn issue(
        &self,
        subject: &str,
        account_id: Option<i64>,
        access: Vec<Access>,
        now: u64,
    ) -> Result<IssuedToken, AuthError> {
        self.issue_for(subject, account_id, access, now, self.ttl)
    }

    /// [`TokenService::issue`] with another lifetime (a run-time setting).
    pub fn issue_for(
        &self,
        subject: &str,
        account_id: Option<i64>,
        access: Vec<Access>,
        now: u64,
        ttl: Duration,
    ) -> Result<IssuedToken, AuthError> {
        let claims = Claims {
            iss: ISSUER.into(),
            sub: subject.into(),
            aud: SERVICE.into(),
            exp: now + ttl.as_secs(),
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            access,
            account_id,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid().to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AuthError::Key(e.to_string()))?;
        let issued_at = time::OffsetDateTime::from_unix_timestamp(now as i64)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Ok(IssuedToken {
            access_token: token.clone(),
            token,
            expires_in: ttl.as_secs(),
            issued_at,
        })
    }

    /// Checks signature, algorithm, issuer, audience, expiry and not-before.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        use sha2::Digest as _;
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Still within its lifetime (with the same leeway as the full check); `nbf` was
        // checked when it was first verified and time only moves on.
        let live = |c: &Claims| now <= c.exp.saturating_add(LEEWAY_SECS);
        if let Ok(map) = self.verified.lock()
            && let Some(c) = map.get(&key).filter(|c| live(c))
        {
            return Ok(c.clone());
        }
        let claims = self.verify_signed(token)?;
        if let Ok(mut map) = self.verified.lock() {
            if map.len() >= VERIFIED_MAX {
                map.retain(|_, c| live(c));
                if map.len() >= VERIFIED_MAX {
                    map.clear();
                }
            }
            map.insert(key, claims.clone());
        }
        Ok(claims)
    }

    fn verify_signed(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[SERVICE]);
        v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = LEEWAY_SECS;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))
    }

    /// The token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn pull(repo: &str) -> Vec<Access> {
        vec![Access {
            kind: "repository".into(),
            name: repo.into(),
            actions: vec!["pull".into()],
        }]
    }

    fn b64(v: &serde_json::Value) -> String {
        base64url(serde_json::to_vec(v).unwrap().as_slice())
    }

    fn base64url(data: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..=c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn round_trip_and_key_storage() {
        let key = SigningKey::generate().unwrap();
        let restored = SigningKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(restored.kid(), key.kid());
        assert_eq!(key.kid().split(':').count(), 5);
        let svc = TokenService::new(key, Duration::from_secs(1800));
        let t = svc
            .issue("alice", Some(1), pull("library/nginx"), now())
            .unwrap();
        assert_eq!(t.token, t.access_token);
        assert_eq!(t.expires_in, 1800);
        assert!(t.issued_at.ends_with('Z'));
        // Another service with the same stored key verifies it: replicas share keys.
        let other = TokenService::new(restored, Duration::from_secs(1800));
        let c = other.verify(&t.token).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.iss, ISSUER);
        assert_eq!(c.aud, SERVICE);
        assert_eq!(c.access, pull("library/nginx"));
        let header = jsonwebtoken::decode_header(&t.token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(other.key.kid()));
    }

    #[test]
    fn forged_and_stale_tokens_are_rejected() {
        let svc = TokenService::new(SigningKey::generate().unwrap(), Duration::from_secs(1800));
        let t = now();
        // Expired, and not yet valid (beyond the leeway).
        let expired = svc.issue("a", Some(1), pull("x"), t - 3600).unwrap().token;
        assert!(svc.verify(&expired).is_err());
        let future = svc.issue("a", Some(1), pull("x"), t + 600).unwrap().token;
        assert!(svc.verify(&future).is_err());
        // Signed with another key.
        let stranger =
            TokenService::new(SigningKey::generate().unwrap(), Duration::from_secs(1800));
        let foreign = stranger.issue("a", Some(1), pull("x"), t).unwrap().token;
        assert!(svc.verify(&foreign).is_err());
        // Wrong audience or issuer, validly signed by us.
        for (iss, aud) in [(ISSUER, "other-registry"), ("someone-else", SERVICE)] {
            let claims = Claims {
                iss: iss.into(),
                sub: "a".into(),
                aud: aud.into(),
                exp: t + 60,
                nbf: t,
                iat: t,
                jti: "j".into(),
                access: pull("x"),
                account_id: Some(1),
            };
            let tok = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &svc.encoding)
                .unwrap();
            assert!(svc.verify(&tok).is_err(), "{iss} {aud}");
        }
        // An HMAC "signed" with the public key (algorithm confusion).
        let claims = svc
            .verify(&svc.issue("a", Some(1), pull("x"), t).unwrap().token)
            .unwrap();
        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&svc.key.public),
        )
        .unwrap();
        assert!(svc.verify(&hmac).is_err());
        // alg: none, and a tampered payload.
        let good = svc.issue("a", Some(1), pull("x"), t).unwrap().token;
        let parts: Vec<&str> = good.split('.').collect();
        let escalated = b64(&serde_json::json!({
            "iss": ISSUER, "sub": "a", "aud": SERVICE, "exp": t + 60, "nbf": t, "iat": t,
            "jti": "j", "access": [{"type": "repository", "name": "x", "actions": ["pull", "push", "delete"]}]
        }));
        let none_header = b64(&serde_json::json!({"alg": "none", "typ": "JWT"}));
        for forged in [
            format!("{none_header}.{escalated}."),
            format!("{}.{escalated}.{}", parts[0], parts[2]),
            format!("{}.{}.", parts[0], parts[1]),
            "garbage".to_string(),
            String::new(),
        ] {
            assert!(svc.verify(&forged).is_err(), "{forged}");
        }
        assert!(svc.verify(&good).is_ok());
    }

    #[test]
    fn remembered_tokens_still_expire_and_tampering_is_caught() {
        let key = SigningKey::generate().unwrap();
        let svc = TokenService::new(key, Duration::from_secs(1));
        // Expired a minute ago less a second: still inside the leeway, for about a second.
        let t = svc
            .issue("u", Some(1), pull("a/b"), now() - LEEWAY_SECS)
            .unwrap()
            .token;
        assert_eq!(svc.verify(&t).unwrap().sub, "u");
        assert_eq!(svc.verify(&t).unwrap().sub, "u");
        // The same claims under a broken signature are not served from the cache.
        let mut forged = t.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(svc.verify(&forged).is_err());
        std::thread::sleep(Duration::from_millis(2100));
        assert!(svc.verify(&t).is_err());
    }
}
