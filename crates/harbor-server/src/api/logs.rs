//! `/api/v2.0/audit-logs` and `/api/v2.0/projects/{p}/logs`.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use harbor_auth::Principal;
use harbor_auth::principal::robot_system_allows;
use harbor_core::identity::{AuditEntry, AuditQuery};
use harbor_core::rbac::{Action, Resource};
use serde_json::{Value, json};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{QValue, list, page, param, parse_q, parse_time, query, time};
use crate::AppState;

fn entry_json(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "username": e.username,
        "resource": e.resource,
        "resource_type": e.resource_type,
        "operation": e.operation,
        "op_time": time(e.op_time_ms),
    })
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

async fn respond(state: &AppState, parts: &Parts, f: AuditQuery) -> ApiResult {
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let (entries, total) = state.accounts.store().audit_log(&f, pg).await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        entries.iter().map(entry_json).collect(),
    ))
}

/// Every entry: system administrators and robots holding `audit-log:list`.
pub(crate) async fn all(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    ctx.require_authenticated()?;
    let ok = match &ctx.principal {
        Principal::Robot { robot, .. } => {
            robot_system_allows(&robot.permissions, "audit-log", "list")
        }
        p => p.is_sysadmin(),
    };
    if !ok {
        return Err(ApiError::forbidden(
            "only system administrators may read the whole audit log",
        ));
    }
    let f = filter(&query(&parts.uri))?;
    respond(&state, &parts, f).await
}

/// A project's entries: needs `log:list` in the project (project admins).
pub(crate) async fn project(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(reference): Path<String>,
) -> ApiResult {
    let (p, grants) = ctx.project(&state, &parts.headers, &reference).await?;
    ctx.check(&grants, Resource::Log, Action::List)?;
    let mut f = filter(&query(&parts.uri))?;
    f.project_id = Some(p.id);
    respond(&state, &parts, f).await
}
