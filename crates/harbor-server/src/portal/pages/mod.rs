//! The portal's pages, one module per area. Handlers load with `GET`s through the API,
//! render with maud, and answer form posts with a redirect carrying a flash message.

mod account;
mod admin;
mod allowlists;
mod authentication;
mod gc;
pub(crate) mod groups;
pub(crate) mod login;
pub(crate) mod oidc;
mod project;
mod projects;
mod replication;
mod repository;
mod robots;
mod scanning;
mod search;
mod security;

use axum::Router;
use axum::routing::{get, post};
use serde::Deserialize;

use super::Portal;

/// Unwraps an API answer or returns the error page (or the sign-in redirect).
macro_rules! load {
    ($viewer:expr, $call:expr) => {
        match $call {
            Ok(v) => v,
            Err(f) => return $crate::portal::layout::failed(&$viewer, f),
        }
    };
}
pub(crate) use load;

/// Refuses a form post without the session's CSRF token (403 page).
macro_rules! csrf_checked {
    ($viewer:expr, $sent:expr) => {
        if let Err(f) = $viewer.check_csrf($sent) {
            return $crate::portal::layout::error_page(Some(&$viewer), &f);
        }
    };
}
pub(crate) use csrf_checked;

/// `?q=&page=` of list pages.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: Option<u64>,
}

impl ListQuery {
    /// The page number (from 1).
    pub fn page(&self) -> u64 {
        self.page.unwrap_or(1).max(1)
    }
}

/// A search term as a `q` filter value: the characters of Harbor's `q` syntax
/// (`,` `=` `~` brackets, braces, parentheses) are dropped, so a search never turns into
/// another filter or a malformed one.
pub(crate) fn term(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ',' | '=' | '~' | '(' | ')' | '[' | ']' | '{' | '}'))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The API path of one page of a list: `path` plus `page`, `page_size` and, when the
/// search box holds something, `q=<key>=~<term>`.
pub(crate) fn list_path(path: &str, q: &ListQuery, key: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = format!("{path}{sep}page={}&page_size={PAGE_SIZE}", q.page());
    let t = term(&q.q);
    if !t.is_empty() {
        out.push_str(&format!(
            "&q={}",
            super::backend::enc(&format!("{key}=~{t}"))
        ));
    }
    out
}

/// The API path of one page of robots matching `filter` (`Level=...`), narrowed by the
/// search box's name.
pub(crate) fn robots_path(mut filter: String, q: &ListQuery) -> String {
    if !q.q.is_empty() {
        filter.push_str(&format!(",name=~{}", term(&q.q)));
    }
    format!(
        "/robots?q={}&page={}&page_size={PAGE_SIZE}",
        super::backend::enc(&filter),
        q.page()
    )
}

/// Rows per page on every list.
pub(crate) const PAGE_SIZE: u64 = 25;

/// The new-robot form (project and system pages alike): `access` repeats, so it is read
/// from the raw body.
pub(crate) struct RobotForm {
    pub csrf: String,
    pub name: String,
    pub description: String,
    pub duration: i64,
    /// `{resource, action}` objects.
    pub access: Vec<serde_json::Value>,
}

impl RobotForm {
    pub(crate) fn parse(body: &str) -> Self {
        let mut f = RobotForm {
            csrf: String::new(),
            name: String::new(),
            description: String::new(),
            duration: -1,
            access: Vec::new(),
        };
        for (k, val) in form_urlencoded::parse(body.as_bytes()) {
            match k.as_ref() {
                "_csrf" => f.csrf = val.into_owned(),
                "name" => f.name = val.trim().to_owned(),
                "description" => f.description = val.into_owned(),
                "duration" => f.duration = val.trim().parse().unwrap_or(-1),
                "access" => {
                    if let Some((r, a)) = val.split_once(':') {
                        f.access
                            .push(serde_json::json!({ "resource": r, "action": a }));
                    }
                }
                _ => {}
            }
        }
        f
    }

    /// The `POST /robots` body: a robot of `level` whose permissions are `kind` in
    /// `namespace`.
    pub(crate) fn body(self, level: &str, kind: &str, namespace: &str) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "description": self.description, "level": level,
            "duration": self.duration,
            "permissions": [{ "kind": kind, "namespace": namespace, "access": self.access }],
        })
    }
}

/// A form with only the CSRF token (buttons that delete or run something).
#[derive(Deserialize)]
pub(crate) struct Confirm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
}

/// Every portal route.
pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/oidc-onboard", get(oidc::onboard))
        .route("/projects", get(projects::list).post(projects::create))
        .route("/search", get(search::search))
        .merge(account::routes())
        .merge(project::routes())
        .merge(repository::routes())
        .merge(admin::routes())
        .merge(groups::routes())
        .merge(authentication::routes())
        .merge(allowlists::routes())
        .merge(gc::routes())
        .merge(robots::routes())
        .merge(replication::routes())
        .merge(scanning::routes())
        .merge(security::routes())
}

#[cfg(test)]
mod tests {
    use super::term;

    #[test]
    fn search_terms_cannot_add_filters() {
        assert_eq!(term("  app "), "app");
        assert_eq!(term("a,project_id=1"), "aproject_id1");
        assert_eq!(term("x~(1 2)"), "x1 2");
        assert_eq!(term("[1~2]"), "12");
    }
}
