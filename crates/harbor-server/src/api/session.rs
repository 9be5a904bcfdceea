//! Web sessions: `POST /c/login` (form fields `principal`, `password`) sets an HttpOnly
//! `sid` cookie and returns the session's CSRF token in `X-Harbor-CSRF-Token`; unsafe
//! API calls made with the cookie must echo it. `GET /c/log_out` ends the session.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_platform::sessions::SignedIn;
use serde::Deserialize;

use super::context::{CSRF_HEADER, Ctx, SESSION_COOKIE};
use super::error::{ApiError, ApiResult};
use crate::AppState;
use crate::client::ClientInfo;

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    principal: String,
    password: String,
}

fn secure(state: &AppState, client: &ClientInfo) -> &'static str {
    if state.auth.secure_cookies(client) {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> ApiResult {
    // Login CSRF: a cross-site page must not sign its visitor in to an account of its own.
    if crate::auth::cross_site(&state, &headers) {
        return Err(ApiError::forbidden(
            "sign-in refused: the request came from another site",
        ));
    }
    let SignedIn { sid, csrf, ttl, .. } = state
        .platform
        .sessions
        .sign_in(
            &form.principal,
            &form.password,
            client.ip,
            state.auth.session_ttl,
        )
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        ttl.as_secs(),
        secure(&state, &client)
    );
    let mut resp = StatusCode::OK.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(harbor_core::Error::internal)?,
    );
    h.insert(
        CSRF_HEADER,
        HeaderValue::from_str(&csrf).map_err(harbor_core::Error::internal)?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub(crate) async fn log_out(
    State(state): State<AppState>,
    client: ClientInfo,
    ctx: Ctx,
) -> Response {
    if let Some(s) = &ctx.session
        && let Err(e) = state.platform.sessions.sign_out(s).await
    {
        return ApiError::from(e).into_response();
    }
    let mut resp = StatusCode::OK.into_response();
    let expired = format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(&state, &client)
    );
    if let Ok(v) = HeaderValue::from_str(&expired) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /c/csrf`: the session's CSRF token again (a page reload loses it).
pub(crate) async fn csrf(ctx: Ctx) -> ApiResult {
    let Some(s) = &ctx.session else {
        return Err(ApiError::unauthorized("no session"));
    };
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        CSRF_HEADER,
        HeaderValue::from_str(&s.csrf_token).map_err(harbor_core::Error::internal)?,
    );
    Ok(resp)
}
