//! Signing in through the OIDC provider (`/c/oidc/*`), CLI secrets
//! (`PUT /api/v2.0/users/{id}/cli_secret`) and `POST /api/v2.0/system/oidc/ping`.
//!
//! `/c/oidc/login` seals the state, nonce and PKCE verifier into an HttpOnly cookie
//! (`oidc_login`, `SameSite=Lax`, ten minutes, path `/c/oidc`) and sends the browser to
//! the provider; `/c/oidc/callback` checks them, lets the platform exchange the code and
//! verify the ID token, and starts a portal session (or, for a new user without
//! auto-onboarding, seals the verified identity into `oidc_onboard` and shows the
//! onboarding page, which posts to `/c/oidc/onboard`). Failures are pages with a 4xx
//! (502 when the provider cannot be used), never a 500 for what the browser sent.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use harbor_api_model as m;
use harbor_platform::sign_in::oidc::{Callback, Finished, Oidc, OidcError};
use serde::Deserialize;

use super::context::{CSRF_HEADER, Ctx, SESSION_COOKIE, cookie};
use super::error::{ApiError, ApiResult};
use crate::AppState;
use crate::client::ClientInfo;
use crate::portal::pages::oidc::{failed_page, leaving_page, onboard_page};

const LOGIN_COOKIE: &str = harbor_platform::sign_in::oidc::flow::LOGIN_COOKIE;
const ONBOARD_COOKIE: &str = harbor_platform::sign_in::oidc::flow::ONBOARD_COOKIE;
/// Where the pending-sign-in cookies are sent.
const COOKIE_PATH: &str = "/c/oidc";

fn oidc(state: &AppState) -> Result<&Oidc, OidcError> {
    state
        .platform
        .sign_in
        .as_ref()
        .map(|s| s.oidc())
        .ok_or(OidcError::NotConfigured)
}

fn secure(state: &AppState, client: &ClientInfo) -> &'static str {
    if state.auth.secure_cookies(client) {
        "; Secure"
    } else {
        ""
    }
}

/// The portal's security headers on the pages served here (onboarding, failures).
pub(crate) async fn page_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(crate::portal::CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn pending_cookie(state: &AppState, client: &ClientInfo, name: &str, value: &str) -> String {
    format!(
        "{name}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=600{}",
        secure(state, client)
    )
}

fn cleared(state: &AppState, client: &ClientInfo, name: &str) -> String {
    format!(
        "{name}=; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(state, client)
    )
}

/// The status and words of a failed sign-in.
fn failure(e: &OidcError) -> (StatusCode, String) {
    let status = match e {
        OidcError::NotConfigured => StatusCode::PRECONDITION_FAILED,
        OidcError::BadState(_) => StatusCode::BAD_REQUEST,
        OidcError::Refused(_) | OidcError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        OidcError::Provider(_) => StatusCode::BAD_GATEWAY,
        OidcError::Core(c) => ApiError::from(clone_core(c)).status,
    };
    if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
        tracing::error!(error = %e, "OIDC sign-in failed");
        return (status, "the sign-in failed: see the server's log".into());
    }
    tracing::info!(error = %e, "OIDC sign-in refused");
    (status, e.to_string())
}

/// The status of a core error (messages of internal errors are never shown).
fn clone_core(e: &harbor_core::Error) -> harbor_core::Error {
    use harbor_core::Error as E;
    match e {
        E::Invalid(m) => E::Invalid(m.clone()),
        E::Unauthorized(m) => E::Unauthorized(m.clone()),
        E::Forbidden(m) => E::Forbidden(m.clone()),
        E::NotFound(m) => E::NotFound(m.clone()),
        E::Conflict(m) => E::Conflict(m.clone()),
        E::Precondition(m) => E::Precondition(m.clone()),
        E::NameInvalid(m) => E::NameInvalid(m.clone()),
        E::Busy(m) => E::Busy(m.clone()),
        _ => E::internal("internal error"),
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    redirect_url: String,
}

/// `GET /c/oidc/login?redirect_url=`: to the provider.
pub(crate) async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let then = crate::portal::pages::login::local(&q.redirect_url).to_owned();
    let redirect_uri = format!(
        "{}/c/oidc/callback",
        crate::auth::external_base(&state, &headers)
    );
    let started = match oidc(&state) {
        Ok(o) => o.begin(&redirect_uri, &then).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(s) => {
            let mut resp = Redirect::to(&s.url).into_response();
            set_cookie(
                &mut resp,
                &pending_cookie(&state, &client, LOGIN_COOKIE, &s.cookie),
            );
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => {
            let (status, message) = failure(&e);
            failed_page(status, &message)
        }
    }
}

/// A portal session for `user`, then to `then`; the pending cookie `pending` cleared.
async fn signed_in(
    state: &AppState,
    client: &ClientInfo,
    user: harbor_core::identity::User,
    then: &str,
    pending: &str,
    json: bool,
) -> Result<Response, OidcError> {
    let signed = state
        .platform
        .sessions
        .start(user, state.auth.session_ttl)
        .await?;
    let mut resp = if json {
        StatusCode::OK.into_response()
    } else {
        Redirect::to(crate::portal::pages::login::local(then)).into_response()
    };
    set_cookie(
        &mut resp,
        &format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            signed.sid,
            signed.ttl.as_secs(),
            secure(state, client)
        ),
    );
    set_cookie(&mut resp, &cleared(state, client, pending));
    if let Ok(v) = HeaderValue::from_str(&signed.csrf) {
        resp.headers_mut().insert(CSRF_HEADER, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /c/oidc/callback`: back from the provider.
pub(crate) async fn callback(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let done = async {
        let finished = oidc(&state)?
            .finish(cookie(&headers, LOGIN_COOKIE), &q)
            .await?;
        match finished {
            Finished::SignedIn { user, then, .. } => {
                signed_in(&state, &client, user, &then, LOGIN_COOKIE, false).await
            }
            Finished::Onboard { cookie, suggested } => {
                let to = format!(
                    "/oidc-onboard?username={}",
                    url::form_urlencoded::byte_serialize(suggested.as_bytes()).collect::<String>()
                );
                let mut resp = Redirect::to(&to).into_response();
                set_cookie(
                    &mut resp,
                    &pending_cookie(&state, &client, ONBOARD_COOKIE, &cookie),
                );
                set_cookie(&mut resp, &cleared(&state, &client, LOGIN_COOKIE));
                Ok(resp)
            }
        }
    };
    match done.await {
        Ok(resp) => resp,
        Err(e) => {
            let (status, message) = failure(&e);
            let mut resp = failed_page(status, &message);
            set_cookie(&mut resp, &cleared(&state, &client, LOGIN_COOKIE));
            resp
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct OnboardReq {
    #[serde(default)]
    username: String,
}

/// `POST /c/oidc/onboard` (`{"username": ...}` as JSON, or the onboarding page's form):
/// creates the account of the user the provider just verified and signs them in.
pub(crate) async fn onboard(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let req: Result<OnboardReq, String> = if json {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    } else {
        Ok(OnboardReq {
            username: url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == "username")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default(),
        })
    };
    let refuse = |status: StatusCode, message: &str, username: &str| {
        if json {
            ApiError::new(status, error_code(status), message).into_response()
        } else {
            onboard_page(username, Some((status, message)))
        }
    };
    let req = match req {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("invalid body: {e}"), ""),
    };
    if crate::auth::cross_site(&state, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "sign-in refused: the request came from another site",
            &req.username,
        );
    }
    let done = async {
        let (user, then) = oidc(&state)?
            .onboard(cookie(&headers, ONBOARD_COOKIE), &req.username)
            .await?;
        signed_in(&state, &client, user, &then, ONBOARD_COOKIE, json).await
    };
    match done.await {
        Ok(resp) => resp,
        Err(e) => {
            let (status, message) = failure(&e);
            refuse(status, &message, &req.username)
        }
    }
}

fn error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BAD_REQUEST",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::PRECONDITION_FAILED => "PRECONDITION",
        StatusCode::BAD_GATEWAY => "BAD_GATEWAY",
        _ => "UNKNOWN",
    }
}

/// `GET /c/oidc/logout`: ends the session, and with `oidc_logout` the provider's too
/// (RP-initiated logout), coming back to the sign-in page.
pub(crate) async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    ctx: Ctx,
) -> Response {
    let back = format!("{}/login", crate::auth::external_base(&state, &headers));
    let mut provider = None;
    if let Some(s) = &ctx.session {
        if let Ok(o) = oidc(&state) {
            provider = o.logout_url(s.user_id, &back).await;
        }
        if let Err(e) = state.platform.sessions.sign_out(s).await {
            return ApiError::from(e).into_response();
        }
    }
    let mut resp = match provider {
        Some(url) => leaving_page(&url),
        None => Redirect::to("/login").into_response(),
    };
    set_cookie(
        &mut resp,
        &format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            secure(&state, &client)
        ),
    );
    resp
}

/// `PUT /users/{id}/cli_secret`.
pub(crate) async fn put_cli_secret(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Json(req): Json<m::OIDCCliSecretReq>,
) -> ApiResult {
    let o = oidc(&state).map_err(harbor_core::Error::from)?;
    o.set_cli_secret(&ctx.principal, id, &req.secret).await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /system/oidc/ping`.
pub(crate) async fn ping(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<m::OidcPingReq>,
) -> ApiResult {
    ctx.require_sysadmin()?;
    let o = oidc(&state).map_err(harbor_core::Error::from)?;
    o.ping(&ctx.principal, &req.url, req.verify_cert).await?;
    Ok(StatusCode::OK.into_response())
}

/// Harbor's `OIDCUserInfo` of `user_id`, if they sign in through OIDC.
pub(crate) async fn user_meta(
    state: &AppState,
    user_id: i64,
) -> Result<Option<m::OIDCUserInfo>, ApiError> {
    let Some(sign_in) = &state.platform.sign_in else {
        return Ok(None);
    };
    Ok(sign_in
        .oidc()
        .meta(user_id)
        .await?
        .map(|meta| m::OIDCUserInfo {
            id: meta.id,
            user_id: meta.user_id,
            subiss: meta.subiss,
            secret: meta.secret,
            creation_time: super::paging::time(meta.created_ms),
            update_time: super::paging::time(meta.updated_ms),
        }))
}
