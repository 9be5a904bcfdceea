//! Scans of artifacts: `POST …/artifacts/{reference}/scan` (vulnerabilities or an SBOM),
//! `…/scan/stop`, `…/scan/{report_id}/log`, the `vulnerabilities` addition and the
//! `scan_overview` / `sbom_overview` of artifact listings.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_api_model as m;
use harbor_api_model::scanner_adapter::{SBOM_REPORT, Scanner};
use harbor_platform::ProjectRef;
use harbor_platform::scanner::scans::{ReportSummary, ScanType};

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::time;
use crate::AppState;

/// The repository part of the path, decoded once more (Harbor double-encodes `/`).
fn repository(r: &str) -> ApiResult<String> {
    super::repositories::percent_decode(r)
        .ok_or_else(|| ApiError::bad_request(format!("invalid repository name {r:?}")))
}

/// The body's `scan_type` (an empty body is a vulnerability scan).
fn scan_type(body: &Bytes, required: bool) -> ApiResult<ScanType> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if required {
            return Err(ApiError::bad_request("the body must name the scan_type"));
        }
        return Ok(ScanType::Vulnerability);
    }
    let parsed: m::ScanType = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    Ok(ScanType::parse(parsed.scan_type.as_deref().unwrap_or(""))?)
}

/// Unscannable artifacts are Harbor's 422.
fn unprocessable(e: harbor_core::Error) -> ApiError {
    match e {
        harbor_core::Error::Unsupported(m) => ApiError::unprocessable(m),
        other => other.into(),
    }
}

/// `POST …/scan`: 202 once queued.
pub(crate) async fn scan(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((p, r, reference)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let kind = scan_type(&body, false)?;
    let base = crate::auth::external_base(&state, &headers);
    state
        .platform
        .scans
        .scan(
            &ctx.principal,
            &ProjectRef::Name(p),
            &repository(&r)?,
            &reference,
            kind,
            &base,
        )
        .await
        .map_err(unprocessable)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST …/scan/stop`.
pub(crate) async fn stop(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let kind = scan_type(&body, true)?;
    state
        .platform
        .scans
        .stop(
            &ctx.principal,
            &ProjectRef::Name(p),
            &repository(&r)?,
            &reference,
            kind,
        )
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `GET …/scan/{report_id}/log`, as text.
pub(crate) async fn log(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((p, r, reference, report_id)): Path<(String, String, String, String)>,
) -> ApiResult {
    let log = state
        .platform
        .scans
        .log(
            &ctx.principal,
            &ProjectRef::Name(p),
            &repository(&r)?,
            &reference,
            &report_id,
        )
        .await?;
    let mut resp = log.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(resp)
}

/// The `vulnerabilities` addition: the reports by type, as the scanner wrote them.
pub(crate) async fn vulnerabilities(
    state: &AppState,
    ctx: &Ctx,
    p: &str,
    r: &str,
    reference: &str,
) -> ApiResult<Response> {
    let reports = state
        .platform
        .scans
        .vulnerabilities(
            &ctx.principal,
            &ProjectRef::Name(p.to_string()),
            &repository(r)?,
            reference,
        )
        .await?;
    Ok(axum::Json(reports).into_response())
}

/// Fills an artifact's overviews from its reports.
pub(crate) fn overview(v: &mut m::Artifact, reports: &[ReportSummary], scan: bool, sbom: bool) {
    let scanner = |s: &ReportSummary| {
        s.scanner.as_ref().map(|r| Scanner {
            name: r.settings.name.clone(),
            vendor: String::new(),
            version: String::new(),
        })
    };
    let duration = |s: &ReportSummary| {
        if s.record.end_ms > 0 {
            (s.record.end_ms - s.record.start_ms) / 1000
        } else {
            0
        }
    };
    if scan {
        let map: BTreeMap<String, m::NativeReportSummary> = reports
            .iter()
            .filter(|s| s.record.mime_type != SBOM_REPORT)
            .map(|s| {
                let done = s.record.status == "Success";
                let summary = done.then(|| m::VulnerabilitySummary {
                    total: s.record.total,
                    fixable: s.record.fixable,
                    summary: serde_json::from_str(&s.record.summary).unwrap_or_default(),
                });
                (
                    s.record.mime_type.clone(),
                    m::NativeReportSummary {
                        report_id: s.record.id.clone(),
                        scan_status: s.record.status.clone(),
                        severity: if done {
                            s.record.severity.clone()
                        } else {
                            String::new()
                        },
                        duration: duration(s),
                        summary,
                        start_time: time(s.record.start_ms),
                        end_time: if s.record.end_ms > 0 {
                            time(s.record.end_ms)
                        } else {
                            String::new()
                        },
                        complete_percent: s
                            .percent
                            .map_or(if s.record.is_running() { 0 } else { 100 }, |p| {
                                i64::try_from(p).unwrap_or(100)
                            }),
                        scanner: scanner(s),
                    },
                )
            })
            .collect();
        v.scan_overview = Some(map);
    }
    if sbom && let Some(s) = reports.iter().find(|s| s.record.mime_type == SBOM_REPORT) {
        v.sbom_overview = Some(m::SbomOverview {
            start_time: time(s.record.start_ms),
            end_time: if s.record.end_ms > 0 {
                time(s.record.end_ms)
            } else {
                String::new()
            },
            scan_status: s.record.status.clone(),
            sbom_digest: s.sbom_digest().unwrap_or_default(),
            report_id: s.record.id.clone(),
            duration: duration(s),
            scanner: scanner(s),
        });
    }
}
