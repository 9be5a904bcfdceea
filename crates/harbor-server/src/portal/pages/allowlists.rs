//! CVE allowlists in the portal: the system list on the administrators' settings page
//! (`POST /admin/allowlist`), and the helpers the project's vulnerability settings
//! (`project::vulnerability`) share with it: ids typed one per line (or separated by
//! commas or spaces) and an expiry date.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::post;
use harbor_api_model as m;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::csrf_checked;
use crate::portal::Portal;
use crate::portal::backend::Failure;
use crate::portal::layout::csrf;
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new().route("/admin/allowlist", post(save_system))
}

/// The ids typed in a list's text area.
pub(crate) fn typed_ids(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A typed expiry date (`YYYY-MM-DD`, the list stops applying at the start of that day,
/// UTC) as Unix seconds; empty for never.
pub(crate) fn typed_expiry(text: &str) -> Result<Option<i64>, Failure> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
        .map_err(|_| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                format!("The expiry date {text:?} is not a date (YYYY-MM-DD)."),
            )
        })
}

/// An expiry as the form's date (`YYYY-MM-DD`), empty for never.
pub(crate) fn expiry_date(at: Option<i64>) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    at.and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Whether a list has expired (it allows nothing then).
pub(crate) fn expired(list: &m::CveAllowlist) -> bool {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    list.expires_at.is_some_and(|at| now >= at)
}

/// The ids of a list, one per line (the text area's content).
pub(crate) fn ids_text(list: &m::CveAllowlist) -> String {
    list.items
        .iter()
        .map(|i| i.cve_id.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `CVEAllowlist` body of typed ids and expiry.
pub(crate) fn list_body(cves: &str, expires: &str) -> Result<Value, Failure> {
    let items: Vec<Value> = typed_ids(cves)
        .into_iter()
        .map(|id| json!({ "cve_id": id }))
        .collect();
    Ok(json!({ "items": items, "expires_at": typed_expiry(expires)? }))
}

/// A list's ids and expiry, read only.
pub(crate) fn view(list: &m::CveAllowlist, id: &str) -> Markup {
    html! {
        dl.kv id=(id) {
            dt { "Expires" }
            dd { @match list.expires_at {
                None => "never",
                Some(_) => { (expiry_date(list.expires_at)) @if expired(list) { " (expired: it allows nothing)" } }
            } }
            dt { "Allowed" }
            dd { @if list.items.is_empty() { "none" } @else {
                @for (i, item) in list.items.iter().enumerate() {
                    @if i > 0 { ", " } code { (item.cve_id) }
                }
            } }
        }
    }
}

/// The text area and expiry fields of a list form.
pub(crate) fn fields(list: &m::CveAllowlist) -> Markup {
    html! {
        label { "Allowed vulnerability ids (one per line: CVE-2021-44228, GHSA-…)"
            textarea name="cves" rows="6" spellcheck="false" { (ids_text(list)) } }
        label { "Expires on (empty: never)"
            input type="date" name="expires" value=(expiry_date(list.expires_at)); }
        @if expired(list) { p.small role="alert" { "This list has expired: it allows nothing until the date is moved or removed." } }
    }
}

/// The system list's card on the settings page: a form for administrators.
pub(crate) fn system_card(v: &Viewer, list: &m::CveAllowlist) -> Markup {
    html! {
        section.card #system-allowlist {
            h2 { "System CVE allowlist" }
            p.small { "Vulnerabilities listed here do not count when \"prevent vulnerable images from running\" judges a pull, in every project that uses the system list (the default)." }
            @if v.user.sysadmin {
                form.stack method="post" action="/admin/allowlist" #system-allowlist-form {
                    (csrf(v))
                    (fields(list))
                    button type="submit" #save-allowlist { "Save" }
                }
            } @else {
                (view(list, "system-allowlist-view"))
            }
        }
    }
}

#[derive(Deserialize)]
struct AllowlistForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    cves: String,
    #[serde(default)]
    expires: String,
}

/// `POST /admin/allowlist`: replaces the system list.
async fn save_system(v: Viewer, State(p): State<Portal>, Form(f): Form<AllowlistForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = "/admin/settings";
    let body = match list_body(&f.cves, &f.expires) {
        Ok(b) => b,
        Err(e) => return redirect_with(back, Err(e)),
    };
    let n = body["items"].as_array().map_or(0, Vec::len);
    let r = p
        .api
        .send(&v, Method::PUT, "/system/CVEAllowlist", Some(body))
        .await;
    redirect_with(
        back,
        r.map(|_| format!("The system CVE allowlist holds {n} ids.")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lists() {
        assert_eq!(
            typed_ids(" CVE-2021-44228\r\nGHSA-x, CVE-2014-0160;\n\n"),
            ["CVE-2021-44228", "GHSA-x", "CVE-2014-0160"]
        );
        assert_eq!(typed_expiry("").unwrap(), None);
        assert_eq!(typed_expiry("2030-01-01").unwrap(), Some(1_893_456_000));
        assert!(typed_expiry("01/01/2030").is_err());
        assert_eq!(expiry_date(Some(1_893_456_000)), "2030-01-01");
        assert_eq!(expiry_date(None), "");
    }
}
