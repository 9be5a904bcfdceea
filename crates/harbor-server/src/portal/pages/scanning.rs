//! Scanning in the portal: the administration area's "Interrogation services" page
//! (scanner registrations and the default, the vulnerability database, scan all with its
//! schedule and metrics), the scan buttons of an artifact and the pieces of the artifact
//! pages that show reports: a severity cell for listings, the vulnerabilities and SBOM
//! sections of one artifact.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use harbor_api_model::scanner_adapter::{VULN_REPORT_HARBOR, VULN_REPORT_V11, VulnerabilityReport};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Confirm, csrf_checked, load};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{action_button, at, csrf, dash, empty, page, refreshing_page};
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/admin/interrogation", get(overview))
        .route("/admin/interrogation/scan-all", post(scan_all))
        .route("/admin/interrogation/scan-all/stop", post(stop_scan_all))
        .route("/admin/interrogation/schedule", post(set_schedule))
        .route("/admin/scanners/{uuid}/default", post(set_default))
        .route("/artifact/scan", post(scan))
}

/// Severities from the most to the least severe.
const SEVERITIES: [&str; 6] = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"];

/// The schedule types the form offers.
const SCHEDULE_TYPES: [&str; 5] = ["None", "Hourly", "Daily", "Weekly", "Custom"];

/// The vulnerability overview a listing or page shows: v1.1, else Harbor's v1.0.
fn vuln_overview(a: &m::Artifact) -> Option<&m::NativeReportSummary> {
    let o = a.scan_overview.as_ref()?;
    o.get(VULN_REPORT_V11).or_else(|| o.get(VULN_REPORT_HARBOR))
}

/// A listing's "Vulnerabilities" cell: the severity and counts, or the scan's status.
pub(crate) fn severity_cell(a: &m::Artifact) -> Markup {
    let Some(o) = vuln_overview(a) else {
        return html! { td.vulns.status-none { "Not scanned" } };
    };
    html! {
        td.vulns class={ "status-" (o.scan_status) } {
            @if o.scan_status == "Success" {
                @let total = o.summary.as_ref().map(|s| s.total).unwrap_or(0);
                @let fixable = o.summary.as_ref().map(|s| s.fixable).unwrap_or(0);
                @if total == 0 { span.badge.sev data-severity="None" { "None" } }
                @else {
                    span.badge.sev data-severity=(o.severity) { (o.severity) }
                    " " (total) " (" (fixable) " fixable)"
                }
            } @else { (o.scan_status) }
        }
    }
}

/// The artifact page's "Vulnerabilities" and "SBOM" sections, with the scan buttons the
/// viewer may use.
pub(crate) async fn artifact_sections(
    p: &Portal,
    v: &Viewer,
    api_path: &str,
    repo: &str,
    a: &m::Artifact,
    can_scan: bool,
    can_sbom: bool,
) -> Markup {
    let digest = a.digest.as_str();
    let vulns = p
        .api
        .get(
            v,
            &format!(
                "{api_path}/artifacts/{}/additions/vulnerabilities",
                enc(digest)
            ),
        )
        .await
        .ok()
        .and_then(|r| r.decode::<std::collections::BTreeMap<String, Value>>().ok())
        .unwrap_or_default();
    let report: Option<VulnerabilityReport> = vulns
        .get(VULN_REPORT_V11)
        .or_else(|| vulns.get(VULN_REPORT_HARBOR))
        .and_then(|r| serde_json::from_value(r.clone()).ok());
    let overview = vuln_overview(a);
    let sbom = a.sbom_overview.as_ref();
    let scannable = a.kind == "IMAGE";
    let mut items = report.map(|r| r.vulnerabilities).unwrap_or_default();
    let rank = |s: &str| {
        SEVERITIES
            .iter()
            .position(|k| *k == s)
            .unwrap_or(SEVERITIES.len())
    };
    items.sort_by(|x, y| {
        rank(&x.severity)
            .cmp(&rank(&y.severity))
            .then_with(|| x.id.cmp(&y.id))
    });
    let button = |kind: &str, label: &str| {
        html! {
            form.inline method="post" action="/artifact/scan" {
                (csrf(v))
                input type="hidden" name="repo" value=(repo);
                input type="hidden" name="ref" value=(digest);
                input type="hidden" name="scan_type" value=(kind);
                button.secondary type="submit" id={ "scan-" (kind) } { (label) }
            }
        }
    };
    html! {
        @if scannable {
            section #vulnerabilities {
                h2 { "Vulnerabilities" }
                p #scan-status {
                    @match overview {
                        None => { "Not scanned yet." }
                        Some(o) => {
                            "Scan " (o.scan_status)
                            @if let Some(s) = &o.scanner { " by " (s.name) }
                            @if !o.end_time.is_empty() { " · " (at(&o.end_time)) }
                            @if let Some(s) = o.summary.as_ref().filter(|_| o.scan_status == "Success") {
                                " · " (s.total) " vulnerabilities, " (s.fixable) " fixable"
                                @for k in SEVERITIES { @if let Some(n) = s.summary.get(k) {
                                    " " span.badge.sev data-severity=(k) { (k) " " (n) }
                                } }
                            }
                        }
                    }
                }
                @if can_scan { (button("vulnerability", "Scan")) }
                @if !items.is_empty() {
                    div.scroll { table #vulnerability-list {
                        thead { tr { th { "Severity" } th { "Vulnerability" } th { "Package" } th { "Version" } th { "Fixed in" } th.hide-sm { "Description" } } }
                        tbody { @for i in &items { tr {
                            td { span.badge.sev data-severity=(i.severity) { (i.severity) } }
                            td { @if let Some(l) = i.links.first().filter(|l| l.starts_with("https://")) { a href=(l) rel="noreferrer noopener" { (i.id) } } @else { (i.id) } }
                            td { (i.package) }
                            td.mono { (i.version) }
                            td.mono { (dash(&i.fix_version)) }
                            td.hide-sm.small { (i.description.chars().take(160).collect::<String>()) }
                        } } }
                    } }
                } @else if overview.is_some_and(|o| o.scan_status == "Success") {
                    (empty("No vulnerabilities found."))
                }
            }
            section #sbom {
                h2 { "SBOM" }
                p #sbom-status {
                    @match sbom {
                        None => { "No SBOM yet." }
                        Some(s) => {
                            "Generation " (s.scan_status)
                            @if !s.end_time.is_empty() { " · " (at(&s.end_time)) }
                            @if !s.sbom_digest.is_empty() {
                                " · " a #sbom-link href={ "/artifact?repo=" (enc(repo)) "&ref=" (enc(&s.sbom_digest)) } { "the SBOM accessory" }
                            }
                        }
                    }
                }
                @if can_sbom { (button("sbom", "Generate SBOM")) }
            }
        }
    }
}

/// The packages of an SBOM accessory's document (the `sbom` addition), as a section.
pub(crate) async fn sbom_document(
    p: &Portal,
    v: &Viewer,
    api_path: &str,
    a: &m::Artifact,
) -> Markup {
    if a.kind != "SBOM" {
        return html! {};
    }
    let doc = p
        .api
        .get(
            v,
            &format!("{api_path}/artifacts/{}/additions/sbom", enc(&a.digest)),
        )
        .await
        .map(|r| r.body)
        .unwrap_or(Value::Null);
    let packages = doc["packages"].as_array().cloned().unwrap_or_default();
    html! {
        section #sbom-document {
            h2 { "SBOM document" }
            p { (dash(doc["spdxVersion"].as_str().unwrap_or_default())) " · " (packages.len()) " packages" }
            @if !packages.is_empty() {
                div.scroll { table #sbom-packages {
                    thead { tr { th { "Package" } th { "Version" } th.hide-sm { "Package URL" } } }
                    tbody { @for pk in &packages { tr {
                        td { (pk["name"].as_str().unwrap_or_default()) }
                        td.mono { (dash(pk["versionInfo"].as_str().unwrap_or_default())) }
                        td.hide-sm.mono.small {
                            @let purl = pk["externalRefs"].as_array().and_then(|r| r.iter().find(|x| x["referenceType"] == "purl")).and_then(|x| x["referenceLocator"].as_str()).unwrap_or_default();
                            (dash(purl))
                        }
                    } } }
                } }
            }
        }
    }
}

#[derive(Deserialize)]
struct ScanForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    repo: String,
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    scan_type: String,
}

/// `POST /artifact/scan`: starts a scan (or SBOM generation) of an artifact.
async fn scan(v: Viewer, State(p): State<Portal>, Form(f): Form<ScanForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let back = format!("/artifact?repo={}&ref={}", enc(&f.repo), enc(&f.reference));
    let Some((project, rest)) = f.repo.split_once('/') else {
        return redirect_with(
            &back,
            Err(crate::portal::backend::Failure::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Invalid repository.",
            )),
        );
    };
    let path = format!(
        "/projects/{}/repositories/{}/artifacts/{}/scan",
        enc(project),
        enc(&rest.replace('/', "%2F")),
        enc(&f.reference)
    );
    let sbom = f.scan_type == "sbom";
    let body = json!({ "scan_type": if sbom { "sbom" } else { "vulnerability" } });
    let r = p.api.send(&v, Method::POST, &path, Some(body)).await;
    let done = if sbom {
        "SBOM generation started."
    } else {
        "Scan started."
    };
    redirect_with(&back, r.map(|_| done.to_owned()))
}

/// `GET /admin/interrogation`: scanners, the database, scan all (reloading while a scan
/// all is going).
async fn overview(v: Viewer, State(p): State<Portal>) -> Response {
    let (scanners, db, metrics, schedule) = tokio::join!(
        p.api.get(&v, "/scanners?page_size=100"),
        p.api.get(&v, "/system/vulnerability-db"),
        p.api.get(&v, "/scans/all/metrics"),
        p.api.get(&v, "/system/scanAll/schedule"),
    );
    let scanners: Vec<m::ScannerRegistration> = load!(v, load!(v, scanners).decode());
    let db: m::VulnerabilityDbStatus = load!(v, load!(v, db).decode());
    let metrics: m::ScanAllStats = load!(v, load!(v, metrics).decode());
    let schedule: m::ExecHistory = schedule.and_then(|a| a.decode()).unwrap_or_default();
    let sched = schedule.schedule.clone().unwrap_or_default();
    let kind = if sched.kind.is_empty() {
        "None"
    } else {
        sched.kind.as_str()
    };
    let cron = sched.cron.as_deref().unwrap_or_default();
    let body = html! {
        h1 { "Interrogation services" }
        p.small { "Scanners that check images for vulnerabilities and make their SBOMs, the built-in scanner's database, and scanning everything at once. What they found across all artifacts is in the " a #security-hub-link href="/admin/security" { "security hub" } "." }
        h2 { "Scanners" }
        @if scanners.is_empty() { (empty("No scanner is registered.")) } @else {
            div.scroll { table #scanners {
                thead { tr { th { "Name" } th { "Endpoint" } th { "Default" } th { "Enabled" } th.hide-sm { "Description" } th { "" } } }
                tbody { @for s in &scanners { tr data-uuid=(s.uuid) {
                    td { (s.name) }
                    td.mono { (s.url) }
                    td { @if s.is_default { span.badge { "Default" } } }
                    td { @if s.disabled { "no" } @else { "yes" } }
                    td.hide-sm.small { (dash(&s.description)) }
                    td { @if !s.is_default && !s.disabled {
                        (action_button(&v, &format!("/admin/scanners/{}/default", enc(&s.uuid)), "Make default", "Scan with this scanner by default?"))
                    } }
                } } }
            } }
        }
        h2 { "Vulnerability database" }
        div.card #vulnerability-db {
            @if db.imported {
                dl.kv {
                    dt { "Version" } dd { (db.version) }
                    dt { "Source" } dd { (dash(&db.source)) }
                    dt { "Imported" } dd { (at(&db.imported_at)) }
                    dt { "Advisories" } dd { (db.advisories) }
                }
            } @else {
                p { "No database yet: import OSV data with " code { "harbor scanner db import PATH" } " or start the server with " code { "HARBOR_SCANNER_DB" } "." }
            }
        }
        h2 { "Scan all" }
        div.grid {
            section.card #scan-all {
                p #scan-all-metrics {
                    @match metrics.requester.as_deref() {
                        None => { "Scan all has not run yet." }
                        Some(run) => {
                            "Run " (run) " (" (metrics.trigger.as_deref().unwrap_or_default()) "): "
                            (metrics.completed) " of " (metrics.total) " scans ended"
                            @for (k, n) in &metrics.metrics { " · " span class={ "status-" (k) } { (k) " " (n) } }
                        }
                    }
                }
                @if metrics.ongoing {
                    form.inline method="post" action="/admin/interrogation/scan-all/stop" data-confirm="Stop scanning everything?" {
                        (csrf(&v)) button.danger type="submit" #scan-all-stop { "Stop" }
                    }
                } @else {
                    form.inline method="post" action="/admin/interrogation/scan-all" {
                        (csrf(&v)) button type="submit" #scan-all-now { "Scan now" }
                    }
                }
            }
            section.card {
                h2 { "Schedule" }
                p #scan-all-schedule {
                    @if kind == "None" { "Not scheduled." } @else {
                        (kind) @if !cron.is_empty() { " (" code { (cron) } ")" }
                        @if let Some(next) = &sched.next_scheduled_time { " · next run " (at(next)) }
                    }
                }
                form.stack method="post" action="/admin/interrogation/schedule" #scan-all-schedule-form {
                    (csrf(&v))
                    label { "Repeat" select name="type" #scan-all-schedule-type {
                        @for t in SCHEDULE_TYPES { option value=(t) selected[t == kind] { (t) } }
                    } }
                    label { "Cron (for Custom: seconds minutes hours day month weekday)"
                        input name="cron" value=(cron) placeholder="0 0 2 * * *"; }
                    button type="submit" { "Save schedule" }
                }
            }
        }
    };
    if metrics.ongoing {
        refreshing_page(&v, "Interrogation services", body, 3)
    } else {
        page(Some(&v), "Interrogation services", body)
    }
}

/// `POST /admin/interrogation/scan-all`.
async fn scan_all(v: Viewer, State(p): State<Portal>, Form(f): Form<Confirm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let body = json!({ "schedule": { "type": "Manual" } });
    let r = p
        .api
        .send(&v, Method::POST, "/system/scanAll/schedule", Some(body))
        .await;
    redirect_with(
        "/admin/interrogation",
        r.map(|_| "Scan all started.".to_owned()),
    )
}

/// `POST /admin/interrogation/scan-all/stop`.
async fn stop_scan_all(v: Viewer, State(p): State<Portal>, Form(f): Form<Confirm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(&v, Method::POST, "/system/scanAll/stop", None)
        .await;
    redirect_with(
        "/admin/interrogation",
        r.map(|_| "Scan all stopped.".to_owned()),
    )
}

#[derive(Deserialize)]
struct ScheduleForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    cron: String,
}

/// `POST /admin/interrogation/schedule`.
async fn set_schedule(v: Viewer, State(p): State<Portal>, Form(f): Form<ScheduleForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let cron = f.cron.trim();
    let body =
        json!({ "schedule": { "type": f.kind, "cron": (f.kind == "Custom").then_some(cron) } });
    let r = p
        .api
        .send(&v, Method::PUT, "/system/scanAll/schedule", Some(body))
        .await;
    redirect_with(
        "/admin/interrogation",
        r.map(|_| "Schedule saved.".to_owned()),
    )
}

/// `POST /admin/scanners/{uuid}/default`.
async fn set_default(
    v: Viewer,
    State(p): State<Portal>,
    Path(uuid): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let r = p
        .api
        .send(
            &v,
            Method::PATCH,
            &format!("/scanners/{}", enc(&uuid)),
            Some(json!({"is_default": true})),
        )
        .await;
    redirect_with(
        "/admin/interrogation",
        r.map(|_| "Default scanner changed.".to_owned()),
    )
}
