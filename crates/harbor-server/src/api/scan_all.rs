//! Scan all: `/system/scanAll/schedule` (Harbor's schedule API, `Manual` runs now, with
//! the run history under `/system/scanAll` as for the other system jobs),
//! `POST /system/scanAll/stop`, and the latest run's metrics `/scans/all/metrics` and
//! `/scans/schedule/metrics` (the latest scheduled run). System administrators only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use harbor_api_model as m;
use harbor_platform::scanner::scan_all::ScanAllMetrics;

use super::context::Ctx;
use super::error::ApiResult;
use crate::AppState;

fn stats(metrics: Option<ScanAllMetrics>) -> m::ScanAllStats {
    let Some(x) = metrics else {
        return m::ScanAllStats::default();
    };
    let trigger = match x.trigger.as_str() {
        "SCHEDULE" => "Schedule",
        "EVENT" => "Event",
        _ => "Manual",
    };
    m::ScanAllStats {
        total: x.total,
        completed: x.completed,
        metrics: x.by_status,
        ongoing: x.ongoing,
        trigger: Some(trigger.to_owned()),
        requester: Some(x.requester),
    }
}

/// `GET /scans/all/metrics`.
pub(crate) async fn metrics(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let m = state
        .platform
        .scans
        .scan_all_metrics(&ctx.principal, false)
        .await?;
    Ok(Json(stats(m)).into_response())
}

/// `GET /scans/schedule/metrics`.
pub(crate) async fn schedule_metrics(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let m = state
        .platform
        .scans
        .scan_all_metrics(&ctx.principal, true)
        .await?;
    Ok(Json(stats(m)).into_response())
}

/// `POST /system/scanAll/stop`: 202; 400 when no run is going.
pub(crate) async fn stop(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    state.platform.scans.stop_scan_all(&ctx.principal).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
