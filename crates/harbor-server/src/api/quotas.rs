//! `/api/v2.0/quotas`: list, read and update projects' storage quotas (system
//! administrators, as in Harbor), and `POST /quotas/{id}/recount`, our addition, which
//! counts a project's usage from scratch and repairs any drift (docs/quotas.md).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_auth::Principal;
use harbor_auth::principal::robot_system_allows;
use harbor_core::quota::{Quota, QuotaQuery, QuotaRecount, QuotaSortKey};
use serde_json::Value;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{flag, list, page, param, query, sort_keys, time};
use crate::AppState;

/// Harbor's `Quota`.
pub(crate) fn quota_model(q: &Quota) -> m::Quota {
    m::Quota {
        id: q.id,
        reference: m::QuotaRef {
            id: q.project_id,
            name: q.project_name.clone(),
            owner_name: q.owner_name.clone(),
        },
        hard: [("storage".to_owned(), q.hard)].into(),
        used: [("storage".to_owned(), q.used)].into(),
        creation_time: time(q.created_ms),
        update_time: time(q.updated_ms),
    }
}

/// System administrators, and robots holding the system permission `quota:<action>`.
fn require(ctx: &Ctx, action: &str) -> ApiResult<()> {
    ctx.require_authenticated()?;
    let ok = match &ctx.principal {
        Principal::Robot { robot, .. } => robot_system_allows(&robot.permissions, "quota", action),
        p => p.is_sysadmin(),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only system administrators may manage quotas",
        ))
    }
}

fn quota_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid quota id {id:?}")))
}

/// `sort=key,-key`: `id`, `creation_time`, `update_time`, `hard.storage`, `used.storage`.
fn sort(v: &str) -> ApiResult<Vec<(QuotaSortKey, bool)>> {
    sort_keys(
        Some(v),
        "quotas",
        &[
            ("id", QuotaSortKey::Id),
            ("creation_time", QuotaSortKey::CreationTime),
            ("update_time", QuotaSortKey::UpdateTime),
            ("hard.storage", QuotaSortKey::Hard),
            ("used.storage", QuotaSortKey::Used),
        ],
    )
}

/// `GET /quotas?reference=project&reference_id=&sort=&page=&page_size=`.
pub(crate) async fn list_quotas(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    require(&ctx, "list")?;
    let q = query(&parts.uri);
    let pg = page(&q)?;
    let mut filter = QuotaQuery::default();
    if let Some(s) = param(&q, "sort") {
        filter.sort = sort(s)?;
    }
    if let Some(id) = param(&q, "reference_id").filter(|v| !v.is_empty()) {
        let id = id
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("reference_id must be an integer"))?;
        filter.project_id = Some(id);
    }
    // Projects are the only reference with quotas.
    if let Some(r) = param(&q, "reference").filter(|v| !v.is_empty())
        && r != "project"
    {
        return Ok(list(&parts.uri, pg, 0, Vec::<Value>::new()));
    }
    let (quotas, total) = state.registry.list_quotas(&filter, pg).await?;
    Ok(list(
        &parts.uri,
        pg,
        total,
        quotas.iter().map(quota_model).collect(),
    ))
}

/// `GET /quotas/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    require(&ctx, "read")?;
    let q = state.registry.quota(quota_id(&id)?).await?;
    Ok(Json(quota_model(&q)).into_response())
}

/// The `storage` of a `{"hard": {"storage": N}}` body.
fn hard_storage(body: &Value) -> ApiResult<i64> {
    let hard = match body.get("hard") {
        Some(Value::Object(m)) if !m.is_empty() => m,
        _ => return Err(ApiError::bad_request("hard required in body")),
    };
    if let Some(other) = hard.keys().find(|k| k.as_str() != "storage") {
        return Err(ApiError::bad_request(format!(
            "resource {other} not support"
        )));
    }
    hard.get("storage")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("hard.storage must be an integer number of bytes"))
}

/// `PUT /quotas/{id}` with `{"hard": {"storage": N}}` (-1 = unlimited). A limit below
/// the current usage is accepted: further pushes are refused until space is freed.
pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult {
    require(&ctx, "update")?;
    let id = quota_id(&id)?;
    let hard = hard_storage(&body)?;
    state
        .registry
        .set_quota_limit(ctx.principal.name(), id, hard)
        .await?;
    Ok(StatusCode::OK.into_response())
}

fn recount_model(q: &Quota, r: &QuotaRecount, repaired: bool) -> m::QuotaRecount {
    m::QuotaRecount {
        id: q.id,
        reference: m::QuotaRef {
            id: q.project_id,
            name: q.project_name.clone(),
            owner_name: q.owner_name.clone(),
        },
        stored: r.stored,
        charged: r.charged,
        recounted: r.recounted,
        drifted_digests: r.drifted_digests,
        consistent: r.consistent(),
        repaired,
    }
}

/// `POST /quotas/{id}/recount[?dry_run=true]`: counts the project's usage from scratch,
/// reports what was stored and, unless `dry_run`, replaces it with the recount when they
/// differ (audited).
pub(crate) async fn recount(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    Path(id): Path<String>,
) -> ApiResult {
    require(&ctx, "update")?;
    let q = state.registry.quota(quota_id(&id)?).await?;
    let dry_run = flag(&query(&parts.uri), "dry_run", false)?;
    let (found, repaired) = if dry_run {
        (state.registry.recount_quota(q.project_id).await?, false)
    } else {
        let found = state
            .registry
            .repair_quota(ctx.principal.name(), q.project_id)
            .await?;
        (found, !found.consistent())
    };
    Ok(Json(recount_model(&q, &found, repaired)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_sort_keys() {
        assert_eq!(
            sort("-used.storage,id").ok(),
            Some(vec![(QuotaSortKey::Used, true), (QuotaSortKey::Id, false)])
        );
        assert!(sort("size").is_err());
    }

    #[test]
    fn reads_hard_storage() {
        assert_eq!(
            hard_storage(&json!({"hard": {"storage": 10}})).ok(),
            Some(10)
        );
        assert!(hard_storage(&json!({})).is_err());
        assert!(hard_storage(&json!({"hard": {}})).is_err());
        assert!(hard_storage(&json!({"hard": {"count": 1}})).is_err());
        assert!(hard_storage(&json!({"hard": {"storage": "10"}})).is_err());
    }
}
