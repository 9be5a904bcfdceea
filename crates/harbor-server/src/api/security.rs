//! The security hub (`/security/summary`, `/security/vul`) and CVE export
//! (`POST /export/cve`, `/export/cve/executions`, `/export/cve/execution/{id}`,
//! `/export/cve/download/{id}`), with Harbor's models, `q` filters and answers. Each
//! handler decodes, calls one `SecurityHub` or `CveExports` method (which checks the
//! caller's permissions) and encodes.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use harbor_api_model as m;
use harbor_core::identity::Page;
use harbor_core::scan::security::{CveExport, ExportCriteria, VulnFilter};
use harbor_platform::scanner::cve_export::ExportRequest;

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::paging::{QValue, flag, list, page, param, parse_q, positive_id, query, time};
use crate::AppState;

/// `GET /security/summary?with_dangerous_cve=&with_dangerous_artifact=`.
pub(crate) async fn summary(State(state): State<AppState>, ctx: Ctx, parts: Parts) -> ApiResult {
    let q = query(&parts.uri);
    let with_cves = flag(&q, "with_dangerous_cve", false)?;
    let with_artifacts = flag(&q, "with_dangerous_artifact", false)?;
    let s = state
        .platform
        .security_hub
        .summary(&ctx.principal, with_cves, with_artifacts)
        .await?;
    let c = s.counts;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let body = m::SecuritySummary {
        critical_cnt: n(c.critical),
        high_cnt: n(c.high),
        medium_cnt: n(c.medium),
        low_cnt: n(c.low),
        none_cnt: n(c.none),
        unknown_cnt: n(c.unknown),
        total_vuls: n(c.critical + c.high + c.medium + c.low + c.none + c.unknown),
        scanned_cnt: n(c.scanned),
        total_artifact: n(c.artifacts),
        fixable_cnt: n(c.fixable),
        dangerous_cves: s.dangerous_cves.map(|list| {
            list.into_iter()
                .map(|v| m::DangerousCve {
                    cve_id: v.cve_id,
                    severity: v.severity,
                    cvss_score_v3: v.cvss_v3,
                    desc: v.description,
                    package: v.package,
                    version: v.version,
                })
                .collect()
        }),
        dangerous_artifacts: s.dangerous_artifacts.map(|list| {
            list.into_iter()
                .map(|a| m::DangerousArtifact {
                    project_id: a.project_id,
                    repository_name: a.repository_name,
                    digest: a.digest,
                    critical_cnt: n(a.critical),
                    high_cnt: n(a.high),
                    medium_cnt: n(a.medium),
                })
                .collect()
        }),
    };
    Ok(Json(body).into_response())
}

/// Harbor's `q` of `/security/vul` (`pkg/securityhub/dao`): exact `cve_id`, `severity`,
/// `project_id`, `repository_name`, `package`, `tag`, `digest` and the range
/// `cvss_score_v3=[min~max]`; any other key or kind of value is a `400`.
fn vuln_filter(q: Option<&str>) -> ApiResult<VulnFilter> {
    let mut f = VulnFilter::default();
    let not_allowed =
        |k: &str| ApiError::bad_request(format!("keyword: {k}, the query type is not allowed"));
    for (k, v) in parse_q(q)? {
        if k == "cvss_score_v3" {
            let QValue::Range(min, max) = &v else {
                return Err(not_allowed(&k));
            };
            let bound = |s: &str| -> ApiResult<Option<f64>> {
                if s.is_empty() {
                    return Ok(None);
                }
                s.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("cvss_score_v3: {s:?} is not a number"))
                    })
            };
            let (min, max) = (bound(min)?, bound(max)?);
            if min.is_none() && max.is_none() {
                return Err(ApiError::bad_request(
                    "cvss_score_v3: set the minimum, the maximum or both",
                ));
            }
            f.cvss_v3 = Some((min, max));
            continue;
        }
        let value = match &v {
            QValue::Exact(s) if !s.is_empty() && !s.starts_with(['{', '(']) => s.clone(),
            QValue::Exact(s) if s.is_empty() => {
                return Err(ApiError::bad_request(format!(
                    "the value of {k} cannot be empty"
                )));
            }
            _ => return Err(not_allowed(&k)),
        };
        match k.as_str() {
            "cve_id" => f.cve_id = Some(value),
            "severity" => f.severity = Some(value),
            "repository_name" => f.repository_name = Some(value),
            "package" => f.package = Some(value),
            "tag" => f.tag = Some(value),
            "digest" => f.digest = Some(value),
            "project_id" => {
                f.project_id = Some(value.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("project_id must be an integer, not {value:?}"))
                })?);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "keyword: {other} is not allowed"
                )));
            }
        }
    }
    Ok(f)
}

/// `GET /security/vul?q=&page=&page_size=&tune_count=&with_tag=`: `X-Total-Count` is -1
/// with `tune_count=true` once there are more than 1,000 matches.
pub(crate) async fn vulnerabilities(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> ApiResult {
    let q = query(&parts.uri);
    let pg: Page = page(&q)?;
    let filter = vuln_filter(param(&q, "q"))?;
    let tune = flag(&q, "tune_count", false)?;
    let with_tag = flag(&q, "with_tag", false)?;
    let result = state
        .platform
        .security_hub
        .vulnerabilities(&ctx.principal, &filter, pg, tune, with_tag)
        .await?;
    let shown = result.items.len() as u64;
    let items: Vec<m::security::VulnerabilityItem> = result
        .items
        .into_iter()
        .map(|v| {
            let f = v.row.finding;
            m::security::VulnerabilityItem {
                project_id: v.row.project_id,
                repository_name: v.row.repository_name,
                digest: v.row.digest,
                tags: with_tag.then_some(v.tags),
                cve_id: f.cve_id,
                severity: f.severity,
                status: String::new(),
                cvss_v3_score: f.cvss_v3.unwrap_or(0.0),
                package: f.package,
                version: f.version,
                fixed_version: f.fix_version,
                desc: f.description,
                links: f.links,
            }
        })
        .collect();
    // Without a total, a full page links to the next one.
    let total = result
        .total
        .unwrap_or_else(|| pg.offset() + shown + u64::from(shown == pg.page_size));
    let mut resp = list(&parts.uri, pg, total, items);
    if result.total.is_none() {
        resp.headers_mut()
            .insert("x-total-count", HeaderValue::from_static("-1"));
    }
    Ok(resp)
}

/// Harbor's execution model.
fn execution(e: CveExport) -> m::ScanDataExportExecution {
    let status_text = if e.status == "Error" && e.status_text.is_empty() {
        "Please contact the system administrator to check the logs of jobservice.".into()
    } else {
        e.status_text
    };
    m::ScanDataExportExecution {
        id: e.id,
        user_id: e.user_id,
        status: e.status,
        trigger: "MANUAL".into(),
        start_time: time(e.created_ms),
        end_time: if e.end_ms > 0 {
            time(e.end_ms)
        } else {
            String::new()
        },
        status_text,
        user_name: e.user_name,
        file_present: e.file_present,
    }
}

/// `POST /export/cve` with `X-Scan-Data-Type` and a `ScanDataExportRequest`: `200 {id}`.
pub(crate) async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    body: Bytes,
) -> ApiResult {
    let data_type = parts
        .headers
        .get("x-scan-data-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let req: m::ScanDataExportRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid criteria: {e}")))?;
    let request = ExportRequest {
        job_name: req.job_name,
        criteria: ExportCriteria {
            projects: req.projects,
            labels: req.labels,
            repositories: req.repositories,
            tags: req.tags,
            cve_ids: req.cve_ids,
        },
    };
    let id = state
        .platform
        .cve_exports
        .start(&ctx.principal, data_type, request)
        .await?;
    Ok(Json(m::ScanDataExportJob { id }).into_response())
}

/// `GET /export/cve/executions`: the caller's own.
pub(crate) async fn executions(State(state): State<AppState>, ctx: Ctx) -> ApiResult {
    let items = state
        .platform
        .cve_exports
        .executions(&ctx.principal)
        .await?
        .into_iter()
        .map(execution)
        .collect();
    Ok(Json(m::ScanDataExportExecutionList { items }).into_response())
}

/// `GET /export/cve/execution/{execution_id}`.
pub(crate) async fn get_execution(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id(&id, "execution")?;
    let e = state
        .platform
        .cve_exports
        .execution(&ctx.principal, id)
        .await?;
    Ok(Json(execution(e)).into_response())
}

/// `GET /export/cve/download/{execution_id}`: the CSV, streamed, as
/// `scandata_export_{id}.csv`.
pub(crate) async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult {
    let id = positive_id(&id, "execution")?;
    let d = state
        .platform
        .cve_exports
        .download(&ctx.principal, id)
        .await?;
    let body = Body::from_stream(d.body.map_err(std::io::Error::other));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(d.export.file_size),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"scandata_export_{id}.csv\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harbors_q_keys_and_kinds() {
        let f = vuln_filter(Some(
            "cve_id=CVE-1,severity=High,cvss_score_v3=[7~10],project_id=3,repository_name=a/b,package=p,tag=1,digest=sha256:x",
        ))
        .unwrap();
        assert_eq!(f.cve_id.as_deref(), Some("CVE-1"));
        assert_eq!(f.severity.as_deref(), Some("High"));
        assert_eq!(f.cvss_v3, Some((Some(7.0), Some(10.0))));
        assert_eq!(f.project_id, Some(3));
        assert_eq!(f.repository_name.as_deref(), Some("a/b"));
        assert_eq!(f.package.as_deref(), Some("p"));
        assert_eq!(f.tag.as_deref(), Some("1"));
        assert_eq!(f.digest.as_deref(), Some("sha256:x"));
        assert_eq!(
            vuln_filter(Some("cvss_score_v3=[7.5~]")).unwrap().cvss_v3,
            Some((Some(7.5), None))
        );
        for bad in [
            "status=fixed",
            "name=x",
            "cve_id=~CVE",
            "cve_id=[a~b]",
            "package={a b}",
            "cvss_score_v3=7",
            "cvss_score_v3=[a~b]",
            "cvss_score_v3=[~]",
            "project_id=abc",
            "cve_id=",
            "novalue",
        ] {
            assert!(vuln_filter(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(vuln_filter(None).unwrap(), VulnFilter::default());
    }
}
