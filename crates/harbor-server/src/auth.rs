//! Request credentials (Basic, Bearer, session cookie), the token realm and challenges,
//! shared by `/v2/`, `/service/token` and `/api/v2.0/`.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use harbor_auth::Principal;
use harbor_auth::token::Claims;

use crate::AppState;

/// What the `Authorization` header carries.
#[derive(Debug)]
pub(crate) enum Credentials {
    /// No `Authorization` header.
    None,
    /// `Basic base64(user:password)`.
    Basic { user: String, password: String },
    /// `Bearer <jwt>`.
    Bearer(String),
    /// A header we cannot read.
    Malformed,
}

/// Reads the `Authorization` header.
pub(crate) fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Credentials::None;
    };
    let Ok(value) = value.to_str() else {
        return Credentials::Malformed;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return Credentials::Malformed;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return Credentials::Malformed;
        };
        return match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Credentials::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            },
            _ => Credentials::Malformed,
        };
    }
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Credentials::Bearer(rest.to_owned());
    }
    Credentials::Malformed
}

/// Who is calling, and how they proved it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The identity.
    pub principal: Principal,
    /// The registry token's claims, for Bearer-authenticated `/v2/` requests.
    pub token: Option<Claims>,
}

/// Why a request could not be authenticated.
#[derive(Debug)]
pub(crate) enum AuthFailure {
    /// Wrong password, unknown account, forged or stale token, malformed header.
    BadCredentials(&'static str),
    /// The identity store failed.
    Internal(harbor_core::Error),
}

/// Authenticates Basic or Bearer credentials (`bearer`: whether registry tokens count).
/// Failed Basic sign-ins count towards the login throttle under the request's client.
pub(crate) async fn authenticate(
    state: &AppState,
    parts: &Parts,
    bearer: bool,
) -> Result<Caller, AuthFailure> {
    match credentials(&parts.headers) {
        Credentials::None => Ok(Caller {
            principal: Principal::Anonymous,
            token: None,
        }),
        Credentials::Basic { user, password } => {
            let client = crate::client::of(parts).ip;
            match state.accounts.login(&user, &password, client).await {
                Ok(Some(principal)) => Ok(Caller {
                    principal,
                    token: None,
                }),
                Ok(None) => Err(AuthFailure::BadCredentials("invalid username or password")),
                Err(e) => Err(AuthFailure::Internal(e)),
            }
        }
        Credentials::Bearer(t) if bearer => {
            let Ok(claims) = state.tokens.verify(&t) else {
                return Err(AuthFailure::BadCredentials("invalid or expired token"));
            };
            match state.accounts.subject(&claims.sub, claims.account_id).await {
                Ok(Some(principal)) => Ok(Caller {
                    principal,
                    token: Some(claims),
                }),
                Ok(None) => Err(AuthFailure::BadCredentials(
                    "the token's account no longer exists or is disabled",
                )),
                Err(e) => Err(AuthFailure::Internal(e)),
            }
        }
        Credentials::Bearer(_) => Err(AuthFailure::BadCredentials(
            "registry tokens are not accepted here",
        )),
        Credentials::Malformed => Err(AuthFailure::BadCredentials(
            "malformed Authorization header",
        )),
    }
}

/// The base URL clients reach us at: the configured external URL, else the request's
/// `X-Forwarded-Proto` (or `http`) and `Host`. A `Host` with characters that do not
/// belong in a host name is ignored, so it cannot inject into a challenge header.
pub(crate) fn external_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.auth.external_url {
        return url.trim_end_matches('/').to_owned();
    }
    fn clean(v: &HeaderValue) -> Option<&str> {
        v.to_str().ok().filter(|s| {
            !s.is_empty()
                && s.len() <= 255
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        })
    }
    let host = headers
        .get(header::HOST)
        .and_then(clean)
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// `Bearer realm="<base>/service/token",service="harbor-registry"[,scope="..."][,error="..."]`.
pub(crate) fn bearer_challenge(
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<&str>,
    error: Option<&str>,
) -> HeaderValue {
    let mut v = format!(
        "Bearer realm=\"{}/service/token\",service=\"{}\"",
        external_base(state, headers),
        harbor_auth::token::SERVICE
    );
    if let Some(s) = scope {
        v.push_str(&format!(",scope=\"{s}\""));
    }
    if let Some(e) = error {
        v.push_str(&format!(",error=\"{e}\""));
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// `Basic realm="harbor"`.
pub(crate) fn basic_challenge() -> HeaderValue {
    HeaderValue::from_static("Basic realm=\"harbor\"")
}

/// Whether a browser says this request comes from another site: `Sec-Fetch-Site` is
/// `cross-site` or `same-site` (another origin), or `Origin` names another host than the
/// request's `Host` (or the configured external URL). Requests without either header
/// (curl, the CLI, other programs) are not cross-site: only browsers carry a victim's
/// ambient session into a forged form, and they send both headers on such posts.
pub(crate) fn cross_site(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        // `null` (a sandboxed frame, a redirect chain) and anything malformed.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let external = state
        .auth
        .external_url
        .as_deref()
        .and_then(|u| u.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    !(host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
        || external.is_some_and(|e| e.eq_ignore_ascii_case(authority)))
}
