//! `GET/PUT /system/CVEAllowlist`: the system CVE allowlist (any signed-in caller reads
//! it, system administrators replace it), and the conversions the project routes use for
//! a project's own list (`cve_allowlist`).

use axum::Json;
use axum::extract::State;
use harbor_api_model as m;
use harbor_core::scan::allowlist::{AllowlistInput, CveAllowlist};

use super::context::Ctx;
use super::error::ApiResult;
use super::paging::time;
use crate::AppState;

/// Harbor's `CVEAllowlist` of a stored list (id and times only once written).
pub(crate) fn model(l: &CveAllowlist) -> m::CveAllowlist {
    let written = l.id > 0;
    m::CveAllowlist {
        id: written.then_some(l.id),
        project_id: Some(l.project_id),
        expires_at: l.expires_at,
        items: l
            .items
            .iter()
            .map(|id| m::CveAllowlistItem { cve_id: id.clone() })
            .collect(),
        creation_time: written.then(|| time(l.created_ms)),
        update_time: written.then(|| time(l.updated_ms)),
    }
}

/// The list a request asks to write (`id` and `project_id` are ignored, as in Harbor).
pub(crate) fn input(l: m::CveAllowlist) -> AllowlistInput {
    AllowlistInput {
        expires_at: l.expires_at,
        items: l.items.into_iter().map(|i| i.cve_id).collect(),
    }
}

/// `GET /system/CVEAllowlist`.
pub(crate) async fn get_system(
    State(state): State<AppState>,
    ctx: Ctx,
) -> ApiResult<Json<m::CveAllowlist>> {
    let list = state.platform.allowlists.system(&ctx.principal).await?;
    Ok(Json(model(&list)))
}

/// `PUT /system/CVEAllowlist`: replaces the list; `200` with no body, as Harbor answers.
pub(crate) async fn put_system(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(req): Json<m::CveAllowlist>,
) -> ApiResult<()> {
    state
        .platform
        .allowlists
        .set_system(&ctx.principal, input(req))
        .await?;
    Ok(())
}
