//! `/api/v2.0/audit-logs` and `/api/v2.0/projects/{p}/logs`.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use harbor_core::identity::{AuditEntry, AuditQuery, Page};

use super::context::{Ctx, project_ref};
use super::error::{ApiError, ApiResult};
use super::paging::{QValue, list, page, param, parse_q, parse_time, query, time};
use crate::AppState;

/// Harbor's `AuditLog`.
fn entry_model(e: &AuditEntry) -> harbor_api_model::AuditLog {
    harbor_api_model::AuditLog {
        id: e.id,
        username: e.username.clone(),
        resource: e.resource.clone(),
        resource_type: e.resource_type.clone(),
        operation: e.operation.clone(),
        op_time: time(e.op_time_ms),
    }
}

/// Filters: `username`, `resource` (exact or `~fuzzy`), `operation`, `resource_type`,
/// `op_time=[from~to]`.
fn filter(q: &[(String, String)]) -> ApiResult<AuditQuery> {
    let mut f = AuditQuery::default();
    for (k, v) in parse_q(param(q, "q"))? {
        match k.as_str() {
            "username" => f.username = Some(v.text(&k)?),
            "resource" => f.resource = Some(v.text(&k)?),
            "operation" => f.operation = Some(v.exact(&k)?.to_owned()),
            "resource_type" => f.resource_type = Some(v.exact(&k)?.to_owned()),
            "op_time" => match v {
                QValue::Range(a, b) => {
                    if !a.is_empty() {
                        f.from_ms = Some(parse_time(&a)?);
                    }
                    if !b.is_empty() {
                        f.to_ms = Some(parse_time(&b)?);
                    }
                }
                _ => return Err(ApiError::bad_request("op_time takes a range: [from~to]")),
            },
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported filter {other:?}"
                )));
            }
        }
    }
    Ok(f)
}

fn respond(parts: &Parts, pg: Page, entries: Vec<AuditEntry>, total: u64) -> ApiResult {
    Ok(list(
        &parts.uri,
        pg,
        total,
        entries.iter().map(entry_model).collect(),
    ))
}

/// Every entry: system administrators and robots holding `audit-log:list`.
pub(crate) async fn all(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    let q = query(&parts.uri);
    let (f, pg) = (filter(&q)?, page(&q)?);
    let (entries, total) = state.platform.audit.list(&ctx.principal, &f, pg).await?;
    respond(&parts, pg, entries, total)
}

/// A project's entries: needs `log:list` in the project (project admins).
pub(crate) async fn project(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
) -> ApiResult {
    let q = query(&parts.uri);
    let (f, pg) = (filter(&q)?, page(&q)?);
    let r = project_ref(&parts.headers, &reference)?;
    let (entries, total) = state
        .platform
        .audit
        .of_project(&ctx.principal, &r, f, pg)
        .await?;
    respond(&parts, pg, entries, total)
}
