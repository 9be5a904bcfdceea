//! The web portal: server-rendered HTML pages at `/` (maud templates compiled into the
//! binary, a stylesheet and a little JavaScript embedded with `include_str!`; no Node
//! toolchain). Pages read and change everything through the REST API router in process
//! ([`backend`]), as the signed-in user, so the portal has the API's RBAC, validation,
//! read-only mode and audit trail by construction. Forms carry the session's CSRF token.

mod backend;
mod confirm;
mod layout;
pub(crate) mod pages;
mod perms;
mod viewer;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use backend::Api;

/// What portal handlers share: the server state and the API router to call.
#[derive(Clone)]
pub(crate) struct Portal {
    pub state: AppState,
    pub api: Api,
}

const CSS: &str = include_str!("assets/portal.css");
const JS: &str = include_str!("assets/portal.js");
/// Styles of the pages added after `portal.css` (confirmation, global search, quotas).
const EXTRA_CSS: &str = include_str!("assets/portal-extra.css");

/// Content Security Policy: only our own scripts, styles and forms; never framed.
pub(crate) const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The portal's routes; `api` is the guarded REST API router the pages call.
pub(crate) fn router(state: AppState, api: Router) -> Router {
    let portal = Portal {
        state,
        api: Api::new(api),
    };
    let gate = axum::middleware::from_fn_with_state(portal.clone(), confirm::gate);
    pages::routes()
        .route("/", get(|| async { Redirect::to("/projects") }))
        .route("/static/portal.css", get(|| asset(CSS, "text/css")))
        .route(
            "/static/portal-extra.css",
            get(|| asset(EXTRA_CSS, "text/css")),
        )
        .route("/static/portal.js", get(|| asset(JS, "text/javascript")))
        .fallback(no_such_page)
        .layer(gate)
        .with_state(portal)
        .layer(axum::middleware::map_response(as_pages))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}

/// Gives axum's own plain-text rejections (a malformed form or path) the portal's error
/// page, so a browser never sees a bare `422 Failed to deserialize...`.
async fn as_pages(resp: Response) -> Response {
    let status = resp.status();
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() && plain) {
        return resp;
    }
    let (status, message) = match status {
        StatusCode::NOT_FOUND => (status, "There is no such page."),
        StatusCode::METHOD_NOT_ALLOWED => (status, "This page cannot be used that way."),
        _ => (
            StatusCode::BAD_REQUEST,
            "The request was malformed: a field or part of the address is not valid.",
        ),
    };
    layout::error_page(None, &backend::Failure::new(status, message))
}

/// Any address no route serves (the API and `/v2/` keep their own answers): the portal's
/// 404 page, with navigation for a signed-in user, instead of the browser's empty one.
/// Paths that belong to the registry, the API and the session endpoints: an unknown one
/// there is a plain `404` for programs, not a page.
const NOT_PORTAL: [&str; 4] = ["/v2/", "/api/", "/service/", "/c/"];

async fn no_such_page(
    uri: axum::http::Uri,
    viewer: Result<viewer::Viewer, viewer::SignIn>,
) -> Response {
    if NOT_PORTAL.iter().any(|p| uri.path().starts_with(p)) {
        return StatusCode::NOT_FOUND.into_response();
    }
    layout::error_page(
        viewer.ok().as_ref(),
        &backend::Failure::new(
            StatusCode::NOT_FOUND,
            "There is no such page. Check the address, or start again from the projects.",
        ),
    )
}

async fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}
