//! Signing in through the OIDC provider: the onboarding page (a new user chooses a
//! username; the form posts to `/c/oidc/onboard`) and the page a failed sign-in shows.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use crate::portal::layout::page;

#[derive(Deserialize, Default)]
pub(crate) struct Suggested {
    #[serde(default)]
    username: String,
}

/// The onboarding page, with the refusal of a previous attempt if any.
pub(crate) fn onboard_page(username: &str, error: Option<(StatusCode, &str)>) -> Response {
    let body = html! {
        div.card.login {
            h1 { "Choose your username" }
            p { "You signed in through the OIDC provider for the first time. Choose the username you will have here (and use with your CLI secret)." }
            @if let Some((_, e)) = error { p.error #error role="alert" { (e) } }
            form.stack method="post" action="/c/oidc/onboard" {
                label { "Username" input #username name="username" autocomplete="username" required maxlength="255" value=(username); }
                button #onboard type="submit" { "Save" }
            }
        }
    };
    let mut resp = page(None, "Choose your username", body);
    if let Some((status, _)) = error {
        *resp.status_mut() = status;
    }
    resp
}

/// `GET /oidc-onboard?username=`.
pub(crate) async fn onboard(Query(q): Query<Suggested>) -> Response {
    let name: String = q.username.chars().take(255).collect();
    onboard_page(&name, None)
}

/// A sign-in through the provider failed: why, and a way back.
pub(crate) fn failed_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        div.card.login {
            h1 { "Sign-in failed" }
            p.error #error role="alert" { (message) }
            p { a #again href="/login" { "Back to the sign-in page" } }
        }
    };
    let mut resp = page(None, "Sign-in failed", body);
    *resp.status_mut() = status;
    resp
}

/// The session ended here; the browser goes on to the provider's end-session endpoint
/// (`url`): a page that refreshes to it (a redirect would be the logout form's, which
/// the portal's `form-action 'self'` does not let leave the site) with a link.
pub(crate) fn leaving_page(url: &str) -> Response {
    let body = html! {
        div.card.login {
            h1 { "Signed out" }
            p { "Signing you out at the OIDC provider too…" }
            p { a #provider-logout href=(url) { "Continue to the provider" } }
        }
    };
    let mut resp = page(None, "Signed out", body);
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("0; url={url}")) {
        resp.headers_mut()
            .insert(axum::http::HeaderName::from_static("refresh"), v);
    }
    resp
}
