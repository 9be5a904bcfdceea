//! Scan all (`/system/scanAll/*`, `/scans/*/metrics`): every image scanned once with the
//! built-in scanner the server registered by itself, the schedule, the metrics of the
//! latest run, and stop, against an adapter that never finishes.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use harbor_api_model::scanner_adapter as spec;
use harbor_scanner::fixtures;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::scanner::{push_debian, push_layers};
use super::scans::{artifact_path, vuln_overview};
use crate::common::*;
use crate::support::*;

async fn metrics(s: &TestServer) -> Value {
    get_json(&client(), s, "/api/v2.0/scans/all/metrics").await
}

/// The metrics once the latest run and its scans are done (60 s at most).
async fn settled(s: &TestServer) -> Value {
    for _ in 0..600 {
        let m = metrics(s).await;
        if m["ongoing"] == false && m["total"].as_u64().unwrap_or(0) > 0 {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scan all did not finish: {}", metrics(s).await);
}

async fn run_now(s: &TestServer) -> reqwest::Response {
    admin(
        s,
        Method::POST,
        "/api/v2.0/system/scanAll/schedule",
        Some(json!({"schedule": {"type": "Manual"}})),
    )
    .await
}

#[tokio::test]
async fn scan_all_scans_every_image_once() {
    let s = TestServer::start_configured(|c| c.scanner.builtin = true).await;
    let resp = client()
        .put(s.url("/api/v2.0/system/vulnerability-db"))
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Before any run: zeros.
    let m = metrics(&s).await;
    assert_eq!(m["total"], 0);
    assert_eq!(m["ongoing"], false);

    // The Debian image in two repositories (one digest), Alpine, and a chart.
    push_debian(&s, "library/a").await;
    push_debian(&s, "library/b").await;
    let alpine: Vec<(Vec<u8>, &str)> = fixtures::alpine_image()
        .into_iter()
        .map(|l| (l, "application/vnd.oci.image.layer.v1.tar"))
        .collect();
    push_layers(&s, "library/c", "1", OCI_CONFIG, &alpine).await;
    push_layers(
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

    // Users may not start it or read its metrics.
    create_user(&s, "scanall-user").await;
    let as_user = as_user("scanall-user", PASSWORD);
    let resp = as_user
        .post(s.url("/api/v2.0/system/scanAll/schedule"))
        .json(&json!({"schedule": {"type": "Manual"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = as_user
        .get(s.url("/api/v2.0/scans/all/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = as_user
        .post(s.url("/api/v2.0/system/scanAll/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = run_now(&s).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    let m = settled(&s).await;
    // Two digests: the Debian image once, Alpine once; the chart is not an image.
    assert_eq!(m["total"], 2, "{m}");
    assert_eq!(m["completed"], 2, "{m}");
    assert_eq!(m["metrics"], json!({"Success": 2}), "{m}");
    assert_eq!(m["trigger"], "Manual");
    for repo in ["library/a", "library/b", "library/c"] {
        let a: Value = get_json(
            &client(),
            &s,
            &format!("{}?with_scan_overview=true", artifact_path(repo, "1")),
        )
        .await;
        assert_eq!(
            vuln_overview(&a).unwrap()["scan_status"],
            "Success",
            "{repo}: {a}"
        );
    }
    let runs: Vec<Value> = get_json(&client(), &s, "/api/v2.0/system/scanAll").await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["job_status"], "Success");
    assert_eq!(runs[0]["job_name"], "SCAN_ALL");
    // Nothing is going: stop says so.
    let resp = admin(&s, Method::POST, "/api/v2.0/system/scanAll/stop", None).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The schedule: daily, then none; the scheduled metrics have no run yet.
    let resp = admin(
        &s,
        Method::PUT,
        "/api/v2.0/system/scanAll/schedule",
        Some(json!({"schedule": {"type": "Daily"}})),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let sched: Value = get_json(&client(), &s, "/api/v2.0/system/scanAll/schedule").await;
    assert_eq!(sched["schedule"]["type"], "Daily");
    assert_eq!(sched["schedule"]["cron"], "0 0 0 * * *");
    let m: Value = get_json(&client(), &s, "/api/v2.0/scans/schedule/metrics").await;
    assert_eq!(m["total"], 0);
    let resp = admin(
        &s,
        Method::PUT,
        "/api/v2.0/system/scanAll/schedule",
        Some(json!({"schedule": {"type": "None"}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sched: Value = get_json(&client(), &s, "/api/v2.0/system/scanAll/schedule").await;
    assert_eq!(sched["schedule"]["type"], "None");
}

/// A scanner adapter that accepts scans and never finishes them.
async fn endless_adapter() -> String {
    let metadata = json!({
        "scanner": {"name": "Endless", "vendor": "tests", "version": "1"},
        "capabilities": [{
            "consumes_mime_types": spec::CONSUMES,
            "produces_mime_types": [spec::VULN_REPORT_V11],
        }],
        "properties": {},
    });
    let app = Router::new()
        .route(
            "/api/v1/metadata",
            get(move || {
                let m = metadata.clone();
                async move { axum::Json(m) }
            }),
        )
        .route(
            "/api/v1/scan",
            post(|| async { (AxumStatus::ACCEPTED, axum::Json(json!({"id": "forever"}))) }),
        )
        .route(
            "/api/v1/scan/{id}/report",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert("refresh-after", "1".parse().unwrap());
                (AxumStatus::FOUND, h)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn scan_all_stops_with_its_scans() {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let url = endless_adapter().await;
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/scanners",
        Some(json!({"name": "endless", "url": url})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    push_debian(&s, "library/a").await;
    let alpine: Vec<(Vec<u8>, &str)> = fixtures::alpine_image()
        .into_iter()
        .map(|l| (l, "application/vnd.oci.image.layer.v1.tar"))
        .collect();
    push_layers(&s, "library/c", "1", OCI_CONFIG, &alpine).await;

    assert_eq!(run_now(&s).await.status(), StatusCode::CREATED);
    // Both scans get going; the run itself is over, its scans are not.
    let mut m = metrics(&s).await;
    for _ in 0..300 {
        if m["metrics"]["Running"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        m = metrics(&s).await;
    }
    assert_eq!(m["metrics"], json!({"Running": 2}), "{m}");
    assert_eq!(m["ongoing"], true);
    // A second run while one is going is refused.
    assert_eq!(run_now(&s).await.status(), StatusCode::CONFLICT);

    let resp = admin(&s, Method::POST, "/api/v2.0/system/scanAll/stop", None).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let m = metrics(&s).await;
    assert_eq!(m["metrics"], json!({"Stopped": 2}), "{m}");
    assert_eq!(m["completed"], 2);
    assert_eq!(m["ongoing"], false);
    let a: Value = get_json(
        &client(),
        &s,
        &format!(
            "{}?with_scan_overview=true",
            artifact_path("library/a", "1")
        ),
    )
    .await;
    assert_eq!(vuln_overview(&a).unwrap()["scan_status"], "Stopped");
}
