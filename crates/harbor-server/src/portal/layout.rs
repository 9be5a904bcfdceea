//! The page shell (head, navigation, flash message) and the small components every page
//! uses: tables' empty states, pagers, search boxes, confirm buttons, byte and time
//! formatting. All text goes through maud, which escapes it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::backend::{Failure, enc};
use super::viewer::{FLASH_COOKIE, Flash, Viewer};

/// A full HTML page for `viewer` (or for nobody, on the login page).
pub(crate) fn page(viewer: Option<&Viewer>, title: &str, body: Markup) -> Response {
    page_with_status(viewer, StatusCode::OK, title, body, None)
}

/// A page answered with `status` (a form shown again with the API's refusal).
pub(crate) fn page_with_code(
    viewer: &Viewer,
    status: StatusCode,
    title: &str,
    body: Markup,
) -> Response {
    page_with_status(Some(viewer), status, title, body, None)
}

/// A page that reloads itself every `secs` seconds (a job in progress).
pub(crate) fn refreshing_page(viewer: &Viewer, title: &str, body: Markup, secs: u32) -> Response {
    page_with_status(Some(viewer), StatusCode::OK, title, body, Some(secs))
}

fn page_with_status(
    viewer: Option<&Viewer>,
    status: StatusCode,
    title: &str,
    body: Markup,
    refresh: Option<u32>,
) -> Response {
    let flash = viewer.and_then(|v| v.flash.clone());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = refresh { meta http-equiv="refresh" content=(s); }
                title { (title) " · Harbor-rs" }
                link rel="stylesheet" href="/static/portal.css";
                link rel="stylesheet" href="/static/portal-extra.css";
                script src="/static/portal.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (nav(viewer))
                main #main {
                    @if let Some(v) = viewer && v.read_only {
                        div.banner.read-only role="status" #read-only-banner {
                            strong { "Read-only mode. " }
                            "Pulls work; pushes, deletions and every other change are refused until an administrator turns it off."
                        }
                    }
                    @if let Some(v) = viewer && !v.banner.is_empty() { div.banner role="note" #banner { (v.banner) } }
                    @if let Some(f) = &flash { (flash_box(f)) }
                    (body)
                }
                footer { "Harbor-rs " (env!("CARGO_PKG_VERSION")) " · " a href="/api/v2.0/systeminfo" { "API" } }
            }
        }
    };
    // Forms that ask before acting get their no-script confirmation field here, in one
    // place, whichever page built them.
    let markup = maud::PreEscaped(super::confirm::mark(markup.into_string()));
    let mut resp = (status, markup).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if flash.is_some() {
        let clear = format!("{FLASH_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&clear) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn nav(viewer: Option<&Viewer>) -> Markup {
    html! {
        header.top {
            a.brand href="/" { "⚓ Harbor-rs" }
            @if let Some(v) = viewer {
                nav aria-label="Main" {
                    a href="/projects" { "Projects" }
                    @if v.user.sysadmin {
                        a href="/admin/users" { "Users" }
                        a href="/admin/groups" { "Groups" }
                        a href="/admin/authentication" { "Authentication" }
                        a href="/admin/robots" { "Robot accounts" }
                        a href="/admin/labels" { "Labels" }
                        a href="/admin/quotas" { "Quotas" }
                        a href="/admin/registries" { "Registries" }
                        a href="/admin/replication" { "Replications" }
                        a href="/admin/gc" { "Garbage collection" }
                        a href="/admin/interrogation" { "Interrogation services" }
                        a href="/admin/security" { "Security hub" }
                        a href="/admin/audit" { "Audit log" }
                        a href="/admin/settings" { "Settings" }
                    }
                    a href="/system" { "System" }
                }
                form.global-search method="get" action="/search" role="search" {
                    label.sr for="global-q" { "Search projects and repositories" }
                    input #global-q type="search" name="q" placeholder="Search projects and repositories";
                    button.secondary type="submit" { "Search" }
                }
                div.who {
                    a #whoami href="/account" title="Your account" { (v.user.username) }
                    form method="post" action="/logout" {
                        (csrf(v))
                        button.link type="submit" #logout { "Log out" }
                    }
                }
            }
        }
    }
}

fn flash_box(f: &Flash) -> Markup {
    html! {
        @if f.ok { div.flash.ok role="status" #flash { (f.text) } }
        @else { div.flash.err role="alert" #flash { (f.text) } }
    }
}

/// The hidden CSRF field every form carries.
pub(crate) fn csrf(v: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(v.csrf()); }
}

/// A one-button form posting to `action` that asks `question` first: with JavaScript a
/// `confirm()` dialog, without it a confirmation page (`data-confirm`, see
/// [`super::confirm`]).
pub(crate) fn action_button(v: &Viewer, action: &str, label: &str, question: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=(question) {
            (csrf(v))
            button.danger type="submit" { (label) }
        }
    }
}

/// An error page (the API's message, with its status).
pub(crate) fn error_page(viewer: Option<&Viewer>, f: &Failure) -> Response {
    let title = match f.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Sign-in required",
        s if s.is_server_error() => "Something went wrong",
        _ => "Request refused",
    };
    let body = html! {
        h1 { (title) }
        p.error #error { (f.message) }
        p { a href="/projects" { "Back to projects" } }
    };
    page_with_status(viewer, f.status, title, body, None)
}

/// Renders a failed page load: sign-in for 401, an error page otherwise.
pub(crate) fn failed(viewer: &Viewer, f: Failure) -> Response {
    if f.status == StatusCode::UNAUTHORIZED {
        return axum::response::Redirect::to(&format!("/login?next={}", enc(&viewer.here)))
            .into_response();
    }
    error_page(Some(viewer), &f)
}

/// A message for a list with nothing in it.
pub(crate) fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}

/// Page navigation for a list of `total` items shown `size` at a time; `base` is the
/// page's URL with its other query parameters (ending in `?` or `&`).
pub(crate) fn pager(base: &str, page: u64, size: u64, total: u64) -> Markup {
    let pages = total.div_ceil(size.max(1)).max(1);
    html! {
        nav.pager aria-label="Pages" {
            span { (total) " total · page " (page) " of " (pages) }
            @if page > 1 { a rel="prev" href={ (base) "page=" (page - 1) } { "← Previous" } }
            @if page < pages { a rel="next" href={ (base) "page=" (page + 1) } { "Next →" } }
        }
    }
}

/// A search box submitting `q` to `action` with GET.
pub(crate) fn search_box(action: &str, q: &str, placeholder: &str) -> Markup {
    html! {
        form.search method="get" action=(action) role="search" {
            label.sr for="q" { (placeholder) }
            input #q type="search" name="q" value=(q) placeholder=(placeholder);
            button type="submit" { "Search" }
        }
    }
}

/// Tabs: (label, href, selected).
pub(crate) fn tabs(items: &[(&str, String, bool)]) -> Markup {
    html! {
        nav.tabs aria-label="Sections" {
            @for (label, href, on) in items {
                @if *on { a.on href=(href) aria-current="page" { (label) } }
                @else { a href=(href) { (label) } }
            }
        }
    }
}

/// A value with a button copying it to the clipboard.
pub(crate) fn copyable(id: &str, text: &str) -> Markup {
    html! {
        span.copy {
            code id=(id) { (text) }
            button type="button" data-copy=(id) title="Copy to clipboard" { "Copy" }
        }
    }
}

/// Bytes as B, KiB, MiB, GiB, TiB.
pub(crate) fn bytes(n: i64) -> String {
    if n < 0 {
        return "unlimited".to_owned();
    }
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// An API time as `2026-01-02 03:04` (`—` for none or Harbor's "never").
pub(crate) fn at(t: &str) -> String {
    match t.get(..16) {
        Some(head) if !t.starts_with("0001") => head.replace('T', " "),
        _ => "—".to_owned(),
    }
}

/// A robot's expiry (`expires_at`, Unix seconds) as `2026-01-02 03:04`, marked
/// `(expired)` once past `now_secs`; `never` for -1.
pub(crate) fn expiry(secs: i64, now_secs: i64) -> String {
    if secs < 0 {
        return "never".to_owned();
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let text = time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| secs.to_string());
    if secs <= now_secs {
        format!("{text} (expired)")
    } else {
        text
    }
}

/// A label's colour as the badge's `data-color` (painted by `portal.js`, as the content
/// security policy forbids inline styles): `#rgb` or `#rrggbb` only, else none.
pub(crate) fn label_color(color: &str) -> Option<&str> {
    let hex = color.strip_prefix('#')?;
    (matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(color)
}

/// Display text (`—` when empty).
pub(crate) fn dash(s: &str) -> String {
    if s.is_empty() {
        "—".to_owned()
    } else {
        s.to_owned()
    }
}

/// A JSON value as display text (`—` when absent).
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) if s.is_empty() => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A quota bar: `used` of `hard` bytes (`hard` < 0 is unlimited).
pub(crate) fn quota_bar(used: i64, hard: i64) -> Markup {
    html! {
        div.quota {
            @if hard > 0 {
                meter min="0" max=(hard) low=(hard / 10 * 7) high=(hard / 10 * 9) optimum="0" value=(used.min(hard)) {
                    (bytes(used)) " of " (bytes(hard))
                }
            }
            span.small { (bytes(used)) " of " (bytes(hard)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_and_times_read_like_people_write_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(10 * 1024 * 1024 * 1024), "10.0 GiB");
        assert_eq!(bytes(-1), "unlimited");
        assert_eq!(at("2026-11-29T03:04:05.123Z"), "2026-11-29 03:04");
        assert_eq!(at("0001-01-01T00:00:00Z"), "—");
        assert_eq!(at(""), "—");
        assert_eq!(dash(""), "—");
        assert_eq!(label_color("#61717D"), Some("#61717D"));
        assert_eq!(label_color("#fff"), Some("#fff"));
        for bad in ["", "red", "#12345", "#ggg", "#fff;x", "61717D"] {
            assert_eq!(label_color(bad), None, "{bad}");
        }
        assert_eq!(expiry(-1, 0), "never");
        assert_eq!(expiry(1_767_323_040, 0), "2026-01-02 03:04");
        assert_eq!(
            expiry(1_767_323_040, 1_767_323_040),
            "2026-01-02 03:04 (expired)"
        );
        assert_eq!(dash("x"), "x");
        assert_eq!(text(&json!("")), "—");
        assert_eq!(text(&json!(3)), "3");
    }

    #[test]
    fn the_pager_links_only_to_pages_that_exist() {
        let one = pager("/p?", 1, 25, 10).into_string();
        assert!(one.contains("page 1 of 1") && !one.contains("rel=\"next\""));
        let mid = pager("/p?q=x&", 2, 25, 60).into_string();
        assert!(mid.contains("href=\"/p?q=x&amp;page=1\""), "{mid}");
        assert!(mid.contains("href=\"/p?q=x&amp;page=3\""), "{mid}");
        let last = pager("/p?", 3, 25, 60).into_string();
        assert!(!last.contains("rel=\"next\""));
    }

    #[test]
    fn text_is_escaped() {
        let m = html! { td { (text(&json!("<script>alert(1)</script>"))) } }.into_string();
        assert_eq!(m, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    }
}
