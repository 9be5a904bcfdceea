//! The built-in scanner as the server registers it by itself (`scanner.builtin`), scans
//! and SBOMs started by pushes (`auto_scan`, `auto_sbom_generation`), SBOMs stored as
//! Harbor stores them (an accessory read through the `sbom` addition), and indexes
//! scanned platform by platform. No `remote.allow_loopback` anywhere: the server reaches
//! its own address whatever the address policy says, and nothing else on loopback.

use harbor_scanner::fixtures;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::scanner::{push_debian, push_layers};
use super::scans::{artifact_path, finished, start_scan, vuln_overview};
use crate::common::*;
use crate::support::*;

/// A server with the built-in scanner registered by itself and the fixture database.
async fn set_up() -> TestServer {
    let s = TestServer::start_configured(|c| c.scanner.builtin = true).await;
    let resp = client()
        .put(s.url("/api/v2.0/system/vulnerability-db"))
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    s
}

async fn create_project(s: &TestServer, name: &str, metadata: Value) {
    let resp = admin(
        s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": name, "metadata": metadata})),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
}

fn sbom_overview(a: &Value) -> Option<Value> {
    a.get("sbom_overview").cloned().filter(|o| o.is_object())
}

#[tokio::test]
async fn the_builtin_scanner_is_registered_and_fixed() {
    let s = set_up().await;
    let list: Vec<Value> = get_json(&client(), &s, "/api/v2.0/scanners").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let builtin = &list[0];
    assert_eq!(builtin["name"], "Harbor-rs");
    assert_eq!(builtin["url"], s.base.as_str());
    assert_eq!(builtin["is_default"], true);
    assert_eq!(builtin["auth"], "X-ScannerAdapter-API-Key");
    assert_eq!(builtin["access_credential"], "");
    // What the adapter says about itself, as Harbor fills it.
    assert_eq!(builtin["health"], "healthy");
    assert_eq!(builtin["adapter"], "Harbor-rs");
    assert_eq!(builtin["vendor"], "Harbor-rs");
    assert_eq!(
        builtin["capabilities"],
        json!({"support_vulnerability": true, "support_sbom": true})
    );
    let uuid = builtin["uuid"].as_str().unwrap().to_owned();

    // It answers its metadata with the derived key, and the server scans with it.
    let path = format!("/api/v2.0/scanners/{uuid}/metadata");
    let metadata: Value = get_json(&client(), &s, &path).await;
    assert_eq!(metadata["scanner"]["name"], "Harbor-rs");
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
    assert_eq!(overview["summary"]["total"], 15);

    // It cannot be changed or deleted, only replaced as the default.
    let body = json!({"name": "x", "url": "http://example.com"});
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/scanners/{uuid}"),
        Some(body),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/scanners/{uuid}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The adapter does not take a made-up key, and the address policy still holds for
    // other loopback addresses (a registration elsewhere on loopback cannot be pinged).
    let resp = anon_client()
        .get(s.url("/api/v1/metadata"))
        .header("X-ScannerAdapter-API-Key", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/scanners/ping",
        Some(json!({"name": "other", "url": "http://127.0.0.1:1"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("not allowed") || text.contains("loopback"),
        "{text}"
    );

    // An adapter that cannot be reached is unhealthy, without scanner details.
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/scanners",
        Some(json!({"name": "gone", "url": "http://127.0.0.1:1"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let gone = header(resp.headers(), "location").unwrap().to_owned();
    let gone: Value = get_json(&client(), &s, gone.trim_start_matches(&s.base)).await;
    assert_eq!(gone["health"], "unhealthy", "{gone}");
    assert!(gone.get("adapter").is_none(), "{gone}");
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/scanners/{}", gone["uuid"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // A restart keeps one registration, still the default.
    let s = s.restart().await;
    let list: Vec<Value> = get_json(&client(), &s, "/api/v2.0/scanners").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["uuid"], uuid.as_str());
    assert_eq!(list[0]["url"], s.base.as_str());
}

#[tokio::test]
async fn pushes_are_scanned_and_get_an_sbom_when_the_project_says_so() {
    let s = set_up().await;
    create_project(
        &s,
        "auto",
        json!({"auto_scan": "true", "auto_sbom_generation": "true"}),
    )
    .await;
    create_project(&s, "manual", json!({})).await;
    // Reports belong to digests (as in Harbor): the other project gets another image,
    // pushed first, so its event was handled once the first scan is done.
    let alpine: Vec<(Vec<u8>, &str)> = fixtures::alpine_image()
        .into_iter()
        .map(|l| (l, "application/vnd.oci.image.layer.v1.tar"))
        .collect();
    push_layers(&s, "manual/app", "1", OCI_CONFIG, &alpine).await;
    let digest = push_debian(&s, "auto/app").await;

    let (_, vulns) = finished(
        &s,
        "auto/app",
        "1",
        "with_scan_overview=true",
        vuln_overview,
    )
    .await;
    assert_eq!(vulns["scan_status"], "Success", "{vulns}");
    assert_eq!(vulns["summary"]["total"], 15);
    let (artifact, sbom) = finished(
        &s,
        "auto/app",
        "1",
        "with_sbom_overview=true&with_accessory=true",
        sbom_overview,
    )
    .await;
    assert_eq!(sbom["scan_status"], "Success", "{sbom}");
    let sbom_digest = sbom["sbom_digest"].as_str().unwrap().to_owned();
    assert!(sbom_digest.starts_with("sha256:"), "{sbom}");

    // The SBOM is an accessory of the image, stored as Harbor stores its own.
    let accessories: Vec<Value> = get_json(
        &client(),
        &s,
        &format!("{}/accessories", artifact_path("auto/app", &digest)),
    )
    .await;
    let acc: Vec<&Value> = accessories
        .iter()
        .filter(|a| a["type"] == "harbor.sbom")
        .collect();
    assert_eq!(acc.len(), 1, "{accessories:?} {artifact}");
    assert_eq!(acc[0]["digest"], sbom_digest.as_str());
    let resp = client()
        .get(s.url(&format!("/v2/auto/app/manifests/{sbom_digest}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    let manifest: Value = resp.json().await.unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.goharbor.harbor.sbom.v1"
    );
    assert_eq!(manifest["subject"]["digest"], digest.as_str());
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["annotations"]["created-by"], "Harbor");
    assert_eq!(
        manifest["annotations"]["org.opencontainers.artifact.description"],
        "SPDX JSON SBOM"
    );

    // Its document through the `sbom` addition of the accessory: SPDX with the packages.
    let sbom_artifact: Value =
        get_json(&client(), &s, &artifact_path("auto/app", &sbom_digest)).await;
    assert_eq!(sbom_artifact["type"], "SBOM");
    let href = sbom_artifact["addition_links"]["sbom"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = get(&client(), &s, &href).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some("application/json")
    );
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let names: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"openssl") || names.contains(&"libssl3"),
        "{names:?}"
    );
    // The image itself has no sbom addition.
    let resp = get(
        &client(),
        &s,
        &format!("{}/additions/sbom", artifact_path("auto/app", "1")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // The SBOM accessory itself is not scanned; the other project's push is not either.
    let a: Value = get_json(
        &client(),
        &s,
        &format!(
            "{}?with_scan_overview=true",
            artifact_path("auto/app", &sbom_digest)
        ),
    )
    .await;
    assert_eq!(a["scan_overview"], json!({}));
    let m: Value = get_json(
        &client(),
        &s,
        &format!(
            "{}?with_scan_overview=true&with_sbom_overview=true",
            artifact_path("manual/app", "1")
        ),
    )
    .await;
    assert_eq!(m["scan_overview"], json!({}), "{m}");
    assert!(sbom_overview(&m).is_none(), "{m}");

    // A new SBOM replaces the old accessory.
    let resp = start_scan(&s, "auto/app", "1", Some(json!({"scan_type": "sbom"}))).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let (_, again) = finished(&s, "auto/app", "1", "with_sbom_overview=true", |a| {
        sbom_overview(a).filter(|o| o["report_id"] != sbom["report_id"])
    })
    .await;
    assert_eq!(again["scan_status"], "Success", "{again}");
    let accessories: Vec<Value> = get_json(
        &client(),
        &s,
        &format!("{}/accessories", artifact_path("auto/app", &digest)),
    )
    .await;
    let acc: Vec<&Value> = accessories
        .iter()
        .filter(|a| a["type"] == "harbor.sbom")
        .collect();
    assert_eq!(acc.len(), 1, "{accessories:?}");
    assert_eq!(acc[0]["digest"], again["sbom_digest"]);
}

#[tokio::test]
async fn an_index_is_scanned_platform_by_platform() {
    let s = set_up().await;
    let debian = push_debian(&s, "library/multi").await;
    let alpine_layers: Vec<(Vec<u8>, &str)> = fixtures::alpine_image()
        .into_iter()
        .map(|l| (l, "application/vnd.oci.image.layer.v1.tar"))
        .collect();
    let alpine = push_layers(&s, "library/multi", "alpine", OCI_CONFIG, &alpine_layers).await;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": debian, "size": manifest_size(&s, &debian).await,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": alpine, "size": manifest_size(&s, &alpine).await,
             "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    }))
    .unwrap();
    let resp = put_manifest(&s, "library/multi", "both", OCI_INDEX, &index).await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    assert_eq!(
        start_scan(&s, "library/multi", "both", None).await.status(),
        StatusCode::ACCEPTED
    );
    let (_, d) = finished(
        &s,
        "library/multi",
        &debian,
        "with_scan_overview=true",
        vuln_overview,
    )
    .await;
    let (_, a) = finished(
        &s,
        "library/multi",
        &alpine,
        "with_scan_overview=true",
        vuln_overview,
    )
    .await;
    assert_eq!(d["scan_status"], "Success");
    assert_eq!(d["summary"]["total"], 15);
    assert_eq!(a["scan_status"], "Success");
    assert_ne!(d["report_id"], a["report_id"]);

    // The index shows its platforms' reports merged: counts summed, the worst severity.
    let index: Value = get_json(
        &client(),
        &s,
        &format!(
            "{}?with_scan_overview=true",
            artifact_path("library/multi", "both")
        ),
    )
    .await;
    let merged = vuln_overview(&index).expect("a merged overview");
    assert_eq!(merged["scan_status"], "Success", "{merged}");
    assert_eq!(merged["severity"], "Critical");
    assert_eq!(merged["complete_percent"], 100);
    let total = |o: &Value| o["summary"]["total"].as_u64().unwrap();
    assert_eq!(total(&merged), total(&d) + total(&a));
    assert_eq!(
        merged["summary"]["fixable"].as_u64().unwrap(),
        d["summary"]["fixable"].as_u64().unwrap() + a["summary"]["fixable"].as_u64().unwrap()
    );
    let critical = |o: &Value| o["summary"]["summary"]["Critical"].as_u64().unwrap_or(0);
    assert_eq!(critical(&merged), critical(&d) + critical(&a));
    // The listing merges the same way.
    let list: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/library/repositories/multi/artifacts?with_scan_overview=true",
    )
    .await;
    let listed = list
        .iter()
        .find(|x| x["references"].is_array())
        .expect("the index is listed");
    assert_eq!(vuln_overview(listed).unwrap()["summary"], merged["summary"]);
}

async fn manifest_size(s: &TestServer, digest: &str) -> u64 {
    let resp = client()
        .head(s.url(&format!("/v2/library/multi/manifests/{digest}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    header(resp.headers(), "content-length")
        .unwrap()
        .parse()
        .unwrap()
}
