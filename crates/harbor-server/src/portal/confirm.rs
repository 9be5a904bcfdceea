//! The confirmation step of destructive forms when JavaScript is off. A form that asks
//! first carries `data-confirm="<question>"`: with scripts, `portal.js` asks it with
//! `confirm()`. The page shell ([`mark`]) also puts a `<noscript>` field
//! `_confirm=<question>` in each such form, which only a browser without scripts submits;
//! [`gate`] answers a post carrying it with a page asking the question, whose button
//! posts the same fields again without the marker. The question is shown to the user who
//! sent it, escaped; the repeated post still needs the session's CSRF token.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::Portal;
use super::layout::page;
use super::viewer::Viewer;

/// The form field that asks for the confirmation page.
pub(crate) const FIELD: &str = "_confirm";

/// The largest form body the gate reads (portal forms are a few hundred bytes).
const MAX_FORM: usize = 1024 * 1024;

const ATTR: &str = " data-confirm=\"";

/// Adds the no-script confirmation field to every `<form>` of `html` that has a
/// `data-confirm` question. `html` is maud's output: attribute values are escaped
/// (`"` and `>` included), so the question ends at the next `"` and the tag at the next
/// `>`, and the escaped question is copied as it is into the new attribute.
pub(crate) fn mark(html: String) -> String {
    if !html.contains(ATTR) {
        return html;
    }
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<form") {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + len];
        out.push_str(&rest[..=start + len]);
        if let Some(at) = tag.find(ATTR) {
            let value = &tag[at + ATTR.len()..];
            let question = value.split('"').next().unwrap_or_default();
            out.push_str(&format!(
                "<noscript><input type=\"hidden\" name=\"{FIELD}\" value=\"{question}\"></noscript>"
            ));
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn is_form(req: &Request) -> bool {
    req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Answers a form post carrying [`FIELD`] with the confirmation page (when the sender is
/// signed in and the CSRF token matches; otherwise the post goes on to its handler, which
/// refuses it); every other request passes unchanged.
pub(crate) async fn gate(State(portal): State<Portal>, req: Request, next: Next) -> Response {
    if !is_form(&req) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    if let Some(question) = fields.iter().find(|(k, _)| k == FIELD).map(|(_, v)| v)
        && let Ok(viewer) = Viewer::from_request_parts(&mut parts, &portal).await
    {
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map_or("", |(_, v)| v.as_str());
        if viewer.check_csrf(sent).is_ok() {
            return ask(&viewer, &parts, question, &fields);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The page asking `question`: the same form again, without the marker.
fn ask(v: &Viewer, parts: &Parts, question: &str, fields: &[(String, String)]) -> Response {
    let action = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let back = referer_path(parts).unwrap_or_else(|| "/projects".to_owned());
    let body = html! {
        h1 { "Please confirm" }
        section.card #confirm {
            p #confirm-question { (question) }
            form.row method="post" action=(action) #confirm-form {
                @for (k, val) in fields.iter().filter(|(k, _)| k != FIELD) {
                    input type="hidden" name=(k) value=(val);
                }
                button.danger type="submit" #confirm-yes { "Yes, continue" }
                a.button.secondary href=(back) #confirm-cancel { "Cancel" }
            }
        }
    };
    page(Some(v), "Please confirm", body)
}

/// The path and query of the page the form was on (`Referer`, same site only).
fn referer_path(parts: &Parts) -> Option<String> {
    let r = parts.headers.get(header::REFERER)?.to_str().ok()?;
    let path = match r.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => r,
    };
    // `//host` and `/\host` would leave the site.
    (path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\"))
        .then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{mark, referer_path};
    use maud::html;

    #[test]
    fn cancel_stays_on_the_site() {
        let from = |r: &str| {
            let req = axum::http::Request::builder()
                .header("referer", r)
                .body(())
                .unwrap();
            referer_path(&req.into_parts().0)
        };
        assert_eq!(
            from("https://r.example.com/projects/1?tab=repos").as_deref(),
            Some("/projects/1?tab=repos")
        );
        for away in [
            "//evil.example",
            "/\\evil.example",
            "https://r.example.com",
            "x",
        ] {
            assert_eq!(from(away), None, "{away}");
        }
    }

    #[test]
    fn only_forms_that_ask_get_the_marker() {
        let q = "Delete \"x\" <now>?";
        let page = html! {
            p { "data-confirm=\"not a form\"" }
            form method="post" action="/a" data-confirm=(q) { button { "Delete" } }
            form method="post" action="/b" { button { "Save" } }
            form.inline data-confirm="Remove?" method="post" action="/c" { }
        }
        .into_string();
        let out = mark(page);
        assert_eq!(out.matches("<noscript>").count(), 2, "{out}");
        assert!(out.contains(
            "data-confirm=\"Delete &quot;x&quot; &lt;now&gt;?\"><noscript><input type=\"hidden\" \
             name=\"_confirm\" value=\"Delete &quot;x&quot; &lt;now&gt;?\"></noscript>"
        ), "{out}");
        assert!(out.contains("action=\"/b\"><button>Save"), "{out}");
        assert!(out.contains("value=\"Remove?\""), "{out}");
        assert_eq!(mark("<p>x</p>".into()), "<p>x</p>");
    }
}
