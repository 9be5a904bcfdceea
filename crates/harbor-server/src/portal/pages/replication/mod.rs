//! Replication (Administration): the remote registries it talks to ([`registries`]), its
//! policies ([`policies`]), and their executions, tasks and task logs ([`executions`]).
//! System administrators only: the API refuses everyone else, so their pages answer its
//! `403` and their posts its message, like the other administration pages.

mod executions;
mod policies;
mod registries;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use harbor_api_model as m;
use maud::{Markup, html};

use crate::portal::Portal;
use crate::portal::backend::Failure;
use crate::portal::layout::dash;

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .merge(registries::routes())
        .merge(policies::routes())
        .merge(executions::routes())
}

/// A status (`healthy`, `Succeed`, `InProgress`...), classed `status-<status>` for the
/// stylesheet and tests.
pub(super) fn status(s: &str) -> Markup {
    html! { span class={ "status-" (s) } { (dash(s)) } }
}

/// "yes"/"no".
pub(super) fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// A policy's side: "this registry" for the local one (absent or id 0), else the remote
/// registry's name.
pub(super) fn side(r: Option<&m::Registry>) -> String {
    match r {
        Some(r) if r.id > 0 => r.name.clone(),
        _ => "this registry".to_owned(),
    }
}

/// A policy's trigger as text: `manual`, `scheduled (0 0 * * * *)`, `event-based`.
pub(super) fn trigger_text(t: Option<&m::ReplicationTrigger>) -> String {
    match t.map(|t| t.kind.as_str()) {
        Some("scheduled") => {
            let cron = t
                .and_then(|t| t.trigger_settings.as_ref())
                .map_or("", |s| s.cron.as_str());
            format!("scheduled ({cron})")
        }
        Some("event_based") => "event-based".to_owned(),
        _ => "manual".to_owned(),
    }
}

/// A policy's filters as short text: `name: library/**`, `tag excludes: tmp-*`,
/// `labels: a, b`, `resource: image`; "everything" without filters.
pub(super) fn filters_text(filters: &[m::ReplicationFilter]) -> Vec<String> {
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let out: Vec<String> = filters
        .iter()
        .map(|f| match (f.kind.as_str(), f.decoration.as_str()) {
            ("tag", "excludes") => format!("tag excludes: {}", value(&f.value)),
            ("label", _) => format!("labels: {}", value(&f.value)),
            (kind, _) => format!("{kind}: {}", value(&f.value)),
        })
        .collect();
    if out.is_empty() {
        vec!["everything".to_owned()]
    } else {
        out
    }
}

/// The id at the end of a `201`'s `Location` (`/api/v2.0/replication/executions/7`).
pub(super) fn created_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(header::LOCATION)?
        .to_str()
        .ok()?
        .rsplit('/')
        .next()?
        .parse()
        .ok()
}

/// A form value the portal refuses before calling the API.
pub(super) fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policies_read_as_text() {
        assert_eq!(side(None), "this registry");
        let local = m::Registry {
            name: "Local".into(),
            ..Default::default()
        };
        assert_eq!(side(Some(&local)), "this registry");
        let remote = m::Registry {
            id: 3,
            name: "mirror".into(),
            ..Default::default()
        };
        assert_eq!(side(Some(&remote)), "mirror");
        let scheduled = m::ReplicationTrigger {
            kind: "scheduled".into(),
            trigger_settings: Some(m::ReplicationTriggerSettings {
                cron: "0 0 * * * *".into(),
            }),
        };
        assert_eq!(trigger_text(Some(&scheduled)), "scheduled (0 0 * * * *)");
        assert_eq!(trigger_text(None), "manual");
        let f = |kind: &str, value, decoration: &str| m::ReplicationFilter {
            kind: kind.into(),
            value,
            decoration: decoration.into(),
        };
        assert_eq!(
            filters_text(&[
                f("name", json!("library/**"), ""),
                f("tag", json!("tmp-*"), "excludes"),
                f("label", json!(["a", "b"]), "matches"),
            ]),
            ["name: library/**", "tag excludes: tmp-*", "labels: a, b"]
        );
        assert_eq!(filters_text(&[]), ["everything"]);
        let mut h = HeaderMap::new();
        h.insert(
            header::LOCATION,
            "/api/v2.0/replication/executions/7".parse().unwrap(),
        );
        assert_eq!(created_id(&h), Some(7));
        assert_eq!(created_id(&HeaderMap::new()), None);
    }
}
