//! Scanning artifacts as Harbor does, end to end on one real server: the built-in scanner
//! registered under `/scanners` (its adapter API on the same server, reached over
//! loopback with an adapter key, the way Harbor reaches Trivy's adapter), a scan started
//! over the REST API, run as a job that gives the adapter a short-lived robot, the report
//! polled and stored; `scan_overview`, the `vulnerabilities` addition, the scan log,
//! SBOMs, and what is refused.

use std::time::Duration;

use harbor_api_model::scanner_adapter as spec;
use harbor_scanner::fixtures;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::scanner::{push_debian, push_layers};
use crate::common::*;
use crate::support::*;

const KEY: &str = "adapter-k3y";

/// A server that may reach itself on loopback, with the fixture database imported and the
/// built-in scanner registered as the default; the registration's uuid.
pub(crate) async fn set_up() -> (TestServer, String) {
    set_up_with(|_| {}).await
}

async fn set_up_with(
    tweak: impl FnOnce(&mut harbor_server::config::Config),
) -> (TestServer, String) {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.scanner.adapter_api_key = Some(harbor_server::config::Secret(KEY.into()));
        tweak(c);
    })
    .await;
    let resp = client()
        .put(s.url("/api/v2.0/system/vulnerability-db"))
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json!({
        "name": "Harbor-rs built-in",
        "url": s.base,
        "auth": "X-ScannerAdapter-API-Key",
        "access_credential": KEY,
    });
    let resp = admin(&s, Method::POST, "/api/v2.0/scanners", Some(body)).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    let location = header(resp.headers(), "location").unwrap().to_string();
    let uuid = location.rsplit('/').next().unwrap().to_string();
    (s, uuid)
}

pub(crate) fn artifact_path(repo: &str, reference: &str) -> String {
    let (project, rest) = repo.split_once('/').unwrap();
    format!(
        "/api/v2.0/projects/{project}/repositories/{}/artifacts/{reference}",
        rest.replace('/', "%252F")
    )
}

pub(crate) async fn start_scan(
    s: &TestServer,
    repo: &str,
    reference: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let path = format!("{}/scan", artifact_path(repo, reference));
    admin(s, Method::POST, &path, body).await
}

/// The artifact once `pick` finds a finished entry in it (60 s at most).
pub(crate) async fn finished(
    s: &TestServer,
    repo: &str,
    reference: &str,
    query: &str,
    pick: impl Fn(&Value) -> Option<Value>,
) -> (Value, Value) {
    for _ in 0..600 {
        let path = format!("{}?{query}", artifact_path(repo, reference));
        let artifact: Value = get_json(&client(), s, &path).await;
        if let Some(entry) = pick(&artifact)
            && !matches!(entry["scan_status"].as_str(), Some("Pending" | "Running"))
        {
            return (artifact, entry);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scan of {repo}:{reference} did not finish");
}

pub(crate) fn vuln_overview(a: &Value) -> Option<Value> {
    a["scan_overview"].get(spec::VULN_REPORT_V11).cloned()
}

#[tokio::test]
async fn a_scan_through_the_registered_builtin_scanner() {
    let (s, uuid) = set_up().await;
    let digest = push_debian(&s, "library/app").await;

    // Not scanned yet: the overview is there and empty.
    let a: Value = get_json(
        &client(),
        &s,
        &format!(
            "{}?with_scan_overview=true",
            artifact_path("library/app", "1")
        ),
    )
    .await;
    assert_eq!(a["scan_overview"], json!({}));
    let resp = start_scan(&s, "library/app", "1", None).await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "{}",
        resp.text().await.unwrap()
    );

    let (_, overview) = finished(
        &s,
        "library/app",
        "1",
        "with_scan_overview=true",
        vuln_overview,
    )
    .await;
    assert_eq!(overview["scan_status"], "Success", "{overview}");
    assert_eq!(overview["severity"], "Critical");
    assert_eq!(overview["complete_percent"], 100);
    assert_eq!(overview["scanner"]["name"], "Harbor-rs built-in");
    assert_eq!(overview["summary"]["total"], 15);
    assert_eq!(
        overview["summary"]["fixable"], 14,
        "all but tar's last_affected"
    );
    assert_eq!(
        overview["summary"]["summary"],
        json!({"Critical": 4, "High": 1, "Medium": 1, "Unknown": 9})
    );
    let report_id = overview["report_id"].as_str().unwrap().to_string();

    // The listing carries it too, in one query for the page.
    let list: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/library/repositories/app/artifacts?with_scan_overview=true",
    )
    .await;
    assert_eq!(
        list[0]["scan_overview"][spec::VULN_REPORT_V11]["report_id"],
        report_id.as_str()
    );
    let plain: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/library/repositories/app/artifacts",
    )
    .await;
    assert!(
        plain[0].get("scan_overview").is_none(),
        "only when asked for"
    );

    // The report itself, as the scanner wrote it.
    let reports: Value = get_json(
        &client(),
        &s,
        &format!(
            "{}/additions/vulnerabilities",
            artifact_path("library/app", &digest)
        ),
    )
    .await;
    let report = &reports[spec::VULN_REPORT_V11];
    assert_eq!(report["artifact"]["digest"], digest.as_str());
    assert_eq!(report["vulnerabilities"].as_array().unwrap().len(), 15);
    assert!(
        report["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == "CVE-2021-44228" && v["preferred_cvss"]["score_v3"] == 10.0)
    );

    // Its log.
    let resp = get(
        &client(),
        &s,
        &format!("{}/scan/{report_id}/log", artifact_path("library/app", "1")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some("text/plain; charset=utf-8")
    );
    let log = resp.text().await.unwrap();
    assert!(
        log.contains("Harbor-rs built-in") && log.contains("done: 15 vulnerabilities"),
        "{log}"
    );
    assert_eq!(
        status_of(
            &client(),
            &s,
            &format!("{}/scan/nope/log", artifact_path("library/app", "1"))
        )
        .await,
        StatusCode::NOT_FOUND
    );

    // The scan robot is gone once the scan ended.
    let robots: Vec<Value> = get_json(&client(), &s, "/api/v2.0/robots?q=Level%3Dproject").await;
    assert!(
        robots
            .iter()
            .all(|r| !r["name"].as_str().unwrap_or_default().contains("scanner")),
        "{robots:?}"
    );

    // A second scan replaces the report.
    assert_eq!(
        start_scan(&s, "library/app", "1", None).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, again) = finished(&s, "library/app", "1", "with_scan_overview=true", |a| {
        vuln_overview(a).filter(|o| o["report_id"] != report_id.as_str())
    })
    .await;
    assert_eq!(again["summary"]["total"], 15);

    // SBOMs.
    let resp = start_scan(&s, "library/app", "1", Some(json!({"scan_type": "sbom"}))).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let (_, sbom) = finished(&s, "library/app", "1", "with_sbom_overview=true", |a| {
        a.get("sbom_overview").cloned()
    })
    .await;
    assert_eq!(sbom["scan_status"], "Success", "{sbom}");

    // Nothing is running now, so a stop is refused.
    let resp = admin(
        &s,
        Method::POST,
        &format!("{}/scan/stop", artifact_path("library/app", "1")),
        Some(json!({"scan_type": "vulnerability"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    let _ = uuid;
}

#[tokio::test]
async fn what_cannot_be_scanned_and_who_may_not() {
    let (s, uuid) = set_up().await;
    push_debian(&s, "library/app").await;
    let chart = push_layers(
        &s,
        "library/chart",
        "1",
        "application/vnd.cncf.helm.config.v1+json",
        &[(
            b"chart".to_vec(),
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        )],
    )
    .await;
    // A chart is not an image: the scanner answers with the reason, the report says Error.
    assert_eq!(
        start_scan(&s, "library/chart", &chart, None).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, overview) = finished(
        &s,
        "library/chart",
        &chart,
        "with_scan_overview=true",
        vuln_overview,
    )
    .await;
    assert_eq!(overview["scan_status"], "Error");
    let log = get(
        &client(),
        &s,
        &format!(
            "{}/scan/{}/log",
            artifact_path("library/chart", &chart),
            overview["report_id"].as_str().unwrap()
        ),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(log.contains("not an image"), "{log}");
    // An index is refused at once (422), a missing artifact is 404, a bad body 400.
    let index =
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}))
            .unwrap();
    assert_eq!(
        put_manifest(&s, "library/app", "multi", OCI_INDEX, &index)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        start_scan(&s, "library/app", "multi", None).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        start_scan(&s, "library/app", "nope", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        start_scan(
            &s,
            "library/app",
            "1",
            Some(json!({"scan_type": "malware"}))
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    // A guest reads overviews but may not scan.
    create_user(&s, "guest").await;
    add_member(&s, "library", "guest", 3).await;
    let guest = as_user("guest", PASSWORD);
    let resp = guest
        .post(s.url(&format!("{}/scan", artifact_path("library/app", "1"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        guest
            .get(s.url(&format!(
                "{}?with_scan_overview=true",
                artifact_path("library/app", "1")
            )))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Without an enabled scanner: 412.
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/scanners/{uuid}"),
        None,
    )
    .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let resp = start_scan(&s, "library/app", "1", None).await;
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    assert!(resp.text().await.unwrap().contains("/scanners"));
}

/// The built-in adapter runs its scans outside the job queue, so a server with one job
/// worker (held by the scan job waiting for the report) still finishes its scans.
#[tokio::test]
async fn one_job_worker_is_enough_for_the_builtin_scanner() {
    let (s, _) = set_up_with(|c| c.jobs.workers = 1).await;
    push_debian(&s, "library/app").await;
    assert_eq!(
        start_scan(&s, "library/app", "1", None).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, overview) = finished(
        &s,
        "library/app",
        "1",
        "with_scan_overview=true",
        vuln_overview,
    )
    .await;
    assert_eq!(overview["scan_status"], "Success", "{overview}");
}
