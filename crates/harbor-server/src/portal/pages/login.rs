//! Sign-in and sign-out. The login form posts to the session endpoint (`/c/login`) in
//! process, so the cookie, lockout-free checks and audit record are the API's.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http::Method};
use maud::html;
use serde::Deserialize;

use super::{Confirm, csrf_checked};
use crate::client::ClientInfo;
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::page;
use crate::portal::viewer::Viewer;

#[derive(Deserialize, Default)]
pub(crate) struct Next {
    #[serde(default)]
    next: String,
    /// A fixed notice to show ([`Notice`]); anything else is ignored, so no text from the
    /// address reaches the page.
    #[serde(default)]
    notice: String,
}

/// The notices the sign-in page knows, named by `?notice=` (never free text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The user changed their password, which ended their sessions.
    PasswordChanged,
}

impl Notice {
    /// The `notice` query value.
    pub(crate) const fn key(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "password-changed",
        }
    }

    fn parse(key: &str) -> Option<Notice> {
        (key == Notice::PasswordChanged.key()).then_some(Notice::PasswordChanged)
    }

    fn text(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "Password changed: sign in with the new one.",
        }
    }
}

/// Only paths of this site are followed after sign-in (no open redirect): an absolute
/// path that does not start with `//`, without backslashes, whitespace or control
/// characters (browsers drop tabs and newlines from a `Location`, which would turn
/// `/\t/evil.example` into `//evil.example`), and not too long.
pub(crate) fn local(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    if ok { next } else { "/projects" }
}

/// The sign-in page; with an error, answered with its status (401 or 429).
fn login_page(
    next: &str,
    error: Option<(StatusCode, &str)>,
    username: &str,
    notice: Option<Notice>,
    oidc: Option<&str>,
) -> Response {
    let body = html! {
        div.card.login {
            h1 { "Sign in to Harbor-rs" }
            @if let Some(n) = notice { p.flash.ok #notice role="status" { (n.text()) } }
            @if let Some((_, e)) = error { p.error #error role="alert" { (e) } }
            @if let Some(name) = oidc {
                p {
                    a.button #oidc-login href={ "/c/oidc/login?redirect_url=" (enc(next)) } { "Login via OIDC provider" }
                    @if !name.is_empty() { " " span.muted #oidc-name { "(" (name) ")" } }
                }
                p.muted { "Administrators sign in with their password below." }
            }
            form.stack method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label { "Username" input #username name="username" autocomplete="username" required value=(username); }
                label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                button #login type="submit" { "Sign in" }
            }
        }
    };
    let mut resp = page(None, "Sign in", body);
    if let Some((status, _)) = error {
        *resp.status_mut() = status;
    }
    resp
}

/// The provider's name when users sign in through OIDC (`auth_mode` `oidc_auth`).
async fn oidc_name(p: &Portal) -> Option<String> {
    let auth = p.state.settings.get().await.auth;
    (auth.mode == harbor_platform::sign_in::AuthMode::Oidc).then_some(auth.oidc.name)
}

/// `GET /login`.
pub(crate) async fn form(State(p): State<Portal>, Query(q): Query<Next>) -> Response {
    let oidc = oidc_name(&p).await;
    login_page(
        local(&q.next),
        None,
        "",
        Notice::parse(&q.notice),
        oidc.as_deref(),
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: checks the credentials through `/c/login` and forwards its cookie.
pub(crate) async fn submit(
    State(p): State<Portal>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local(&f.next).to_owned();
    if crate::auth::cross_site(&p.state, &headers) {
        let message = "Sign-in refused: the form was sent from another site.";
        return login_page(
            &next,
            Some((StatusCode::FORBIDDEN, message)),
            "",
            None,
            None,
        );
    }
    let body = format!(
        "principal={}&password={}",
        enc(&f.username),
        enc(&f.password)
    );
    match p.api.post_form(client, "/c/login", &body).await {
        Ok(a) => {
            let mut resp = Redirect::to(&next).into_response();
            if let Some(c) = a.headers.get(header::SET_COOKIE) {
                resp.headers_mut().insert(header::SET_COOKIE, c.clone());
            }
            resp
        }
        Err(e) => {
            let status = if e.status == StatusCode::TOO_MANY_REQUESTS {
                e.status
            } else {
                StatusCode::UNAUTHORIZED
            };
            let oidc = oidc_name(&p).await;
            login_page(
                &next,
                Some((status, &e.message)),
                &f.username,
                None,
                oidc.as_deref(),
            )
        }
    }
}

/// `POST /logout`: ends the session and clears the cookie.
pub(crate) async fn logout(v: Viewer, State(p): State<Portal>, Form(f): Form<Confirm>) -> Response {
    csrf_checked!(v, &f.csrf);
    // With `oidc_logout`, the OIDC logout ends the session and the provider's too.
    let auth = p.state.settings.get().await.auth;
    if auth.mode == harbor_platform::sign_in::AuthMode::Oidc && auth.oidc.logout {
        return Redirect::to("/c/oidc/logout").into_response();
    }
    let ended = p.api.call(Some(&v), Method::GET, "/c/log_out", None).await;
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(a) = ended
        && let Some(c) = a.headers.get(header::SET_COOKIE)
    {
        resp.headers_mut().insert(header::SET_COOKIE, c.clone());
    } else if let Ok(c) = HeaderValue::from_str("sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0") {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::{Notice, local};

    #[test]
    fn notices_are_named_not_written_in_the_address() {
        assert_eq!(
            Notice::parse("password-changed"),
            Some(Notice::PasswordChanged)
        );
        assert_eq!(Notice::parse("<b>hi</b>"), None);
        assert_eq!(Notice::parse(""), None);
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local("/projects/a?x=1"), "/projects/a?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "",
            "projects",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: a=b",
            "/\u{7f}x",
            "/ /evil.example",
            "/\u{a0}/evil.example",
        ] {
            assert_eq!(local(bad), "/projects", "{bad}");
        }
    }
}
