//! Who is looking at a page: the session cookie's user, the CSRF check for form posts,
//! and one-shot flash messages carried in a short-lived cookie across a redirect.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use harbor_auth::secret::{constant_time_eq, token_hash};
use harbor_core::identity::{Session, User};
use harbor_core::model::now_ms;

use super::Portal;
use super::backend::{Failure, enc};
use crate::api::context::{SESSION_COOKIE, cookie};
use crate::client::ClientInfo;

pub(crate) use crate::api::context::CSRF_HEADER;

/// The cookie holding a flash message for the next page.
pub(crate) const FLASH_COOKIE: &str = "harbor_flash";

/// A signed-in user looking at a page.
pub(crate) struct Viewer {
    pub user: User,
    session: Session,
    sid: String,
    /// The flash message this request carried (`ok:` or `err:` then the text).
    pub flash: Option<Flash>,
    /// The path and query of this request (for "log in and come back").
    pub here: String,
    /// The client, passed on to the API calls made for this viewer.
    pub client: ClientInfo,
    /// The administrators' banner message (`banner_message`), empty for none.
    pub banner: String,
    /// Whether the system is in read-only mode (every page says so).
    pub read_only: bool,
}

/// A message shown once at the top of the next page.
#[derive(Clone, Debug)]
pub(crate) struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Viewer {
    /// The CSRF token forms must carry.
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// The `Cookie` header value that authenticates API calls as this viewer.
    pub fn cookie_header(&self) -> String {
        format!("{SESSION_COOKIE}={}", self.sid)
    }

    /// Refuses a form post whose `_csrf` field does not match the session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Failure> {
        if constant_time_eq(sent.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site (CSRF check failed). \
                 Reload the page and try again.",
            ))
        }
    }
}

/// The flash message a request carries, if any.
pub(crate) fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let decoded: String = form_urlencoded::parse(format!("f={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let (kind, text) = decoded.split_once(':')?;
    Some(Flash {
        ok: kind == "ok",
        text: text.chars().take(500).collect(),
    })
}

/// A 303 to `to` that shows `result`'s message on the next page.
pub(crate) fn redirect_with(to: &str, result: Result<String, Failure>) -> Response {
    let value = match result {
        Ok(m) => format!("ok:{m}"),
        Err(f) => format!("err:{}", f.message),
    };
    let mut resp = Redirect::to(to).into_response();
    let cookie = format!(
        "{FLASH_COOKIE}={}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
        enc(&value)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Not signed in (or the session expired): where to send the browser.
pub(crate) struct SignIn(String);

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", enc(&self.0))).into_response()
    }
}

impl FromRequestParts<Portal> for Viewer {
    type Rejection = SignIn;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, SignIn> {
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let back = || {
            if parts.method == axum::http::Method::GET {
                SignIn(here.clone())
            } else {
                SignIn("/".to_owned())
            }
        };
        let Some(sid) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| !s.is_empty()) else {
            return Err(back());
        };
        let store = portal.state.accounts.store();
        let session = match store.session(&token_hash(sid), now_ms()).await {
            Ok(Some(s)) => s,
            _ => return Err(back()),
        };
        let user = match store.user(session.user_id).await {
            Ok(Some(u)) => u,
            _ => return Err(back()),
        };
        // One cached settings read per page: the banner and read-only mode.
        let settings = portal.state.settings.get().await;
        Ok(Viewer {
            user,
            session,
            sid: sid.to_owned(),
            flash: read_flash(&parts.headers),
            here,
            client: crate::client::of(parts),
            banner: settings.banner_message,
            read_only: settings.read_only,
        })
    }
}
