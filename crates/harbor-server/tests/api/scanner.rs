//! The built-in scanner through Harbor's scanner adapter API (`/api/v1`), as a Harbor or
//! our own server would use it: the vulnerability database imported over the REST API,
//! fixture images pushed to the real server, scanned by pulling them back over HTTP with
//! the request's credentials, reports in each MIME type checked against the spec's
//! fields, and bad requests, refused callers and failing scans.

use std::time::Duration;

use harbor_api_model::scanner_adapter::{
    self as spec, SbomReport, ScannerAdapterMetadata, VulnerabilityReport,
};
use harbor_scanner::fixtures;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::bearer;

/// A server that may pull from itself on loopback, with the fixture database imported.
async fn set_up() -> TestServer {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let resp = client()
        .put(s.url("/api/v2.0/system/vulnerability-db?source=fixture"))
        .header("content-type", "application/zip")
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    s
}

/// Pushes layer blobs with their media types, a config and a manifest; its digest.
pub(crate) async fn push_layers(
    s: &TestServer,
    repo: &str,
    tag: &str,
    config_type: &str,
    layers: &[(Vec<u8>, &str)],
) -> String {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = push_blob(s, repo, config).await;
    let mut descriptors = Vec::new();
    for (blob, media_type) in layers {
        let digest = push_blob(s, repo, blob).await;
        descriptors.push(json!({"mediaType": media_type, "digest": digest, "size": blob.len()}));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let resp = put_manifest(s, repo, tag, OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    sha256(&manifest)
}

/// The Debian fixture image (gzip, plain and zstd layers).
pub(crate) async fn push_debian(s: &TestServer, repo: &str) -> String {
    let types = [
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    ];
    let layers: Vec<(Vec<u8>, &str)> = fixtures::debian_image().into_iter().zip(types).collect();
    push_layers(s, repo, "1", OCI_CONFIG, &layers).await
}

fn scan_body(s: &TestServer, repo: &str, digest: &str, authorization: Option<String>) -> Value {
    json!({
        "registry": {"url": s.base, "authorization": authorization},
        "artifact": {"repository": repo, "digest": digest, "tag": "1", "mime_type": OCI_MANIFEST},
    })
}

/// `POST /api/v1/scan` as the administrator; the request id.
async fn accept(s: &TestServer, body: Value) -> String {
    let resp = client()
        .post(s.url("/api/v1/scan"))
        .header("content-type", spec::SCAN_REQUEST_MIME)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "{}",
        resp.text().await.unwrap()
    );
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some(spec::SCAN_RESPONSE_MIME)
    );
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

async fn report_once(s: &TestServer, id: &str, accept: &str, query: &str) -> Response {
    client()
        .get(s.url(&format!("/api/v1/scan/{id}/report{query}")))
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

/// Polls a report as Harbor does (302 with `Refresh-After` while pending) until it is
/// final; at most 60 s.
async fn report(s: &TestServer, id: &str, accept: &str, query: &str) -> Response {
    for _ in 0..600 {
        let resp = report_once(s, id, accept, query).await;
        if resp.status() != StatusCode::FOUND {
            return resp;
        }
        let refresh: u64 = header(resp.headers(), "refresh-after")
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=5).contains(&refresh));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scan {id} did not finish");
}

fn admin_basic() -> Option<String> {
    Some(basic("admin", ADMIN_PASSWORD))
}

#[tokio::test]
async fn the_vulnerability_db_is_imported_by_administrators_only() {
    let s = TestServer::start().await;
    let status: Value = client()
        .get(s.url("/api/v2.0/system/vulnerability-db"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["imported"], false);
    create_user(&s, "dev").await;
    let put = |c: reqwest::Client, body: Vec<u8>| {
        let url = s.url("/api/v2.0/system/vulnerability-db");
        async move { c.put(url).body(body).send().await.unwrap() }
    };
    assert_eq!(
        put(as_user("dev", PASSWORD), fixtures::osv_zip())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(anon_client(), fixtures::osv_zip()).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A broken archive is refused with a reason; the server keeps serving, nothing changes.
    let resp = put(client(), b"PK\x03\x04 this is no zip".to_vec()).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await.unwrap();
    assert!(body.contains("not a zip archive"), "{body}");
    // A zip with a malformed record is refused naming the record.
    let mut zip = zip_with(&[(
        "GHSA-bad.json",
        br#"{"id": "GHSA-bad", "modified": 1}"#.as_slice(),
    )]);
    let resp = put(client(), std::mem::take(&mut zip)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("GHSA-bad.json"));
    let status: Value = client()
        .get(s.url("/api/v2.0/system/vulnerability-db"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["imported"], false,
        "failed imports leave no database"
    );
    let resp = client()
        .put(s.url("/api/v2.0/system/vulnerability-db?source=osv-fixture"))
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let imported: Value = resp.json().await.unwrap();
    let records = fixtures::osv_records().len() as u64;
    assert_eq!(imported["imported"], true);
    assert_eq!(imported["records"], records);
    assert_eq!(
        imported["advisories"],
        records - 1,
        "the withdrawn record is skipped"
    );
    assert_eq!(imported["version"], "2026-11-01T00:00:00Z");
    assert!(
        imported["source"]
            .as_str()
            .unwrap()
            .starts_with("osv-fixture (")
    );
    let status: Value = get_as(
        &as_user("dev", PASSWORD),
        &s,
        "/api/v2.0/system/vulnerability-db",
    )
    .await;
    assert_eq!(status, imported, "any signed-in user reads the status");
}

async fn get_as(c: &reqwest::Client, s: &TestServer, path: &str) -> Value {
    let resp = c.get(s.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn the_builtin_adapter_scans_an_image_pulled_over_http() {
    let s = set_up().await;
    let digest = push_debian(&s, "library/app").await;

    assert_eq!(
        anon_client()
            .get(s.url("/api/v1/metadata"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = client()
        .get(s.url("/api/v1/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some(spec::METADATA_MIME)
    );
    let meta: ScannerAdapterMetadata = resp.json().await.unwrap();
    assert_eq!(
        (meta.scanner.name.as_str(), meta.scanner.vendor.as_str()),
        ("Harbor-rs", "Harbor-rs")
    );
    assert_eq!(meta.capabilities.len(), 2);
    let vuln = &meta.capabilities[0];
    assert_eq!(vuln.kind.as_deref(), Some("vulnerability"));
    assert_eq!(vuln.consumes_mime_types, [OCI_MANIFEST, DOCKER_MANIFEST]);
    assert!(
        vuln.produces_mime_types
            .contains(&spec::VULN_REPORT_HARBOR.to_string())
    );
    assert!(
        vuln.produces_mime_types
            .contains(&spec::VULN_REPORT_V11.to_string())
    );
    let sbom = &meta.capabilities[1];
    assert_eq!(sbom.kind.as_deref(), Some("sbom"));
    assert_eq!(sbom.produces_mime_types, [spec::SBOM_REPORT]);
    assert_eq!(
        sbom.additional_attributes.as_ref().unwrap()["sbom_media_types"],
        json!(["application/spdx+json", "application/vnd.cyclonedx+json"])
    );
    assert!(meta.properties.contains_key(spec::DB_UPDATED_AT_PROPERTY));
    assert_eq!(
        meta.properties["harbor.scanner-adapter/vulnerability-database-version"],
        "2026-11-01T00:00:00Z"
    );

    let id = accept(&s, scan_body(&s, "library/app", &digest, admin_basic())).await;
    let resp = report(&s, &id, spec::VULN_REPORT_HARBOR, "").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some(spec::VULN_REPORT_HARBOR)
    );
    let v10: VulnerabilityReport = resp.json().await.unwrap();
    assert_eq!(v10.artifact.repository, "library/app");
    assert_eq!(v10.artifact.digest, digest);
    assert_eq!(v10.scanner.name, "Harbor-rs");
    assert_eq!(v10.severity, "Critical");
    let mut rows: Vec<(String, String, String, String, String)> = v10
        .vulnerabilities
        .iter()
        .map(|v| {
            (
                v.package.clone(),
                v.version.clone(),
                v.id.clone(),
                v.fix_version.clone(),
                v.severity.clone(),
            )
        })
        .collect();
    rows.sort();
    let row = |p: &str, v: &str, id: &str, fix: &str, sev: &str| {
        (
            p.to_string(),
            v.to_string(),
            id.to_string(),
            fix.to_string(),
            sev.to_string(),
        )
    };
    assert_eq!(
        rows,
        [
            row(
                "bsdutils",
                "1:2.38.1-5+b1",
                "CVE-2024-0003",
                "2.38.1-5+deb12u1",
                "Unknown"
            ),
            row("django", "4.2rc1", "PYSEC-2026-1", "4.2", "Unknown"),
            row(
                "golang.org/x/net",
                "v0.7.0",
                "CVE-2023-44487",
                "0.17.0",
                "Unknown"
            ),
            row(
                "hyper",
                "1.0.0-rc.1",
                "RUSTSEC-2026-0001",
                "1.0.0",
                "Unknown"
            ),
            row(
                "libssl3",
                "3.0.11-1~deb12u2",
                "CVE-2024-0001",
                "3.0.11-1~deb12u3",
                "Critical"
            ),
            row(
                "libssl3",
                "3.0.11-1~deb12u2",
                "CVE-2024-0002",
                "3.0.11-1",
                "Unknown"
            ),
            row("lodash", "4.17.20", "CVE-2021-23337", "4.17.21", "High"),
            row(
                "openssl",
                "3.0.11-1~deb12u2",
                "CVE-2024-0001",
                "3.0.11-1~deb12u3",
                "Critical"
            ),
            row(
                "openssl",
                "3.0.11-1~deb12u2",
                "CVE-2024-0002",
                "3.0.11-1",
                "Unknown"
            ),
            row(
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                "CVE-2021-44228",
                "2.15.0",
                "Critical"
            ),
            row(
                "perl-base",
                "5.36.0-7+deb12u1",
                "CVE-2024-0005",
                "1:5.0-1",
                "Unknown"
            ),
            row("requests", "2.25.0", "CVE-2023-32681", "2.31.0", "Medium"),
            row("smallvec", "1.6.0", "CVE-2021-25900", "1.6.1", "Critical"),
            row("stdlib", "v1.20.1", "CVE-2023-29409", "1.20.7", "Unknown"),
            row("tar", "1.34+dfsg-1.2", "CVE-2024-0006", "", "Unknown"),
        ]
    );
    assert!(
        v10.vulnerabilities
            .iter()
            .all(|v| v.preferred_cvss.is_none() && v.vendor_attributes.is_none()),
        "v1.0 has no v1.1 fields"
    );

    let resp = report(&s, &id, spec::VULN_REPORT_V11, "").await;
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some(spec::VULN_REPORT_V11)
    );
    let v11: Value = resp.json().await.unwrap();
    let log4j = v11["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2021-44228")
        .unwrap();
    assert_eq!(log4j["preferred_cvss"]["score_v3"], 10.0);
    assert_eq!(
        log4j["preferred_cvss"]["vector_v3"],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    );
    assert_eq!(log4j["vendor_attributes"]["package_type"], "maven");
    assert_eq!(
        log4j["vendor_attributes"]["package_path"],
        "/opt/app/app.jar"
    );
    assert_eq!(
        log4j["links"],
        json!(["https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"])
    );
    let lodash = v11["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["package"] == "lodash")
        .unwrap();
    assert_eq!(lodash["cwe_ids"], json!(["CWE-77", "CWE-94"]));

    // SBOMs: the format is required, and both are served.
    let resp = report(&s, &id, spec::SBOM_REPORT, "").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some(spec::ERROR_MIME)
    );
    assert!(
        resp.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sbom_media_type")
    );
    let resp = report(
        &s,
        &id,
        spec::SBOM_REPORT,
        "?sbom_media_type=application/spdx%2Bjson",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let spdx: SbomReport = resp.json().await.unwrap();
    assert_eq!(spdx.media_type, "application/spdx+json");
    assert_eq!(spdx.sbom["spdxVersion"], "SPDX-2.3");
    assert_eq!(
        spdx.sbom["packages"].as_array().unwrap().len(),
        20,
        "the image, the OS and 18 packages"
    );
    let resp = report(
        &s,
        &id,
        spec::SBOM_REPORT,
        "?sbom_media_type=application/vnd.cyclonedx%2Bjson",
    )
    .await;
    let cdx: SbomReport = resp.json().await.unwrap();
    assert_eq!(
        (cdx.media_type.as_str(), cdx.sbom["specVersion"].as_str()),
        ("application/vnd.cyclonedx+json", Some("1.5"))
    );

    // A second scan reads no layer again: their inventories are cached by digest.
    let raw = report(
        &s,
        &id,
        "application/vnd.scanner.adapter.vuln.report.raw",
        "",
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(
        (raw["layers_read"].as_u64(), raw["layers"].as_u64()),
        (Some(3), Some(3))
    );
    let again = accept(&s, scan_body(&s, "library/app", &digest, admin_basic())).await;
    let raw = report(
        &s,
        &again,
        "application/vnd.scanner.adapter.vuln.report.raw",
        "",
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(raw["layers_read"], 0);
    assert_eq!(raw["findings"].as_array().unwrap().len(), 15);

    let resp = report_once(&s, "no-such-request", spec::VULN_REPORT_HARBOR, "").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.json::<Value>().await.unwrap()["error"]["message"].is_string());
    assert_eq!(
        report_once(&s, &id, "text/plain", "").await.status(),
        StatusCode::NOT_IMPLEMENTED
    );
}

#[tokio::test]
async fn bad_requests_refused_callers_and_failed_scans() {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.scanner.adapter_api_key = Some(harbor_server::config::Secret("adapter-k3y".into()));
    })
    .await;
    // A private project: a pull with wrong credentials fails.
    create_project(&s, "private", false).await;
    let digest = push_debian(&s, "private/app").await;
    let post = |c: reqwest::Client, body: Value| {
        let url = s.url("/api/v1/scan");
        async move { c.post(url).json(&body).send().await.unwrap() }
    };
    let good = scan_body(&s, "private/app", &digest, admin_basic());
    let mut cases = Vec::new();
    let mut with = |path: &[&str], value: Value, status: StatusCode| {
        let mut body = good.clone();
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        cases.push((body, status));
    };
    with(
        &["artifact", "digest"],
        json!("sha256:nothex"),
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    with(
        &["artifact", "repository"],
        json!("Bad Name"),
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    with(
        &["registry", "url"],
        json!("ftp://example.com"),
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    with(
        &["registry", "url"],
        json!(""),
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    with(
        &["registry", "authorization"],
        json!("Bearer abc"),
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    with(
        &["artifact", "mime_type"],
        json!(OCI_INDEX),
        StatusCode::NOT_IMPLEMENTED,
    );
    with(
        &["enabled_capabilities"],
        json!([{"type": "malware"}]),
        StatusCode::NOT_IMPLEMENTED,
    );
    for (body, status) in cases {
        let resp = post(client(), body.clone()).await;
        assert_eq!(resp.status(), status, "{body}");
        assert_eq!(
            header(resp.headers(), "content-type"),
            Some(spec::ERROR_MIME)
        );
        assert!(resp.json::<Value>().await.unwrap()["error"]["message"].is_string());
    }
    let resp = client()
        .post(s.url("/api/v1/scan"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Callers: administrators and holders of the key only.
    create_user(&s, "dev").await;
    assert_eq!(
        post(as_user("dev", PASSWORD), good.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    let keyed = |key: &str| {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-scanneradapter-api-key", key.parse().unwrap());
        reqwest::Client::builder()
            .default_headers(h)
            .build()
            .unwrap()
    };
    assert_eq!(
        keyed("adapter-k3y")
            .get(s.url("/api/v1/metadata"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        keyed("wrong")
            .get(s.url("/api/v1/metadata"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bearer("adapter-k3y")
            .get(s.url("/api/v1/metadata"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // Failures are reported as 500 with the reason; the server keeps serving.
    let wrong_password = accept(
        &s,
        scan_body(&s, "private/app", &digest, Some(basic("admin", "wrong"))),
    )
    .await;
    let resp = report(&s, &wrong_password, spec::VULN_REPORT_HARBOR, "").await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let message = resp.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("manifest"), "{message}");
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
    let id = accept(&s, scan_body(&s, "library/chart", &chart, admin_basic())).await;
    let message = report(&s, &id, spec::VULN_REPORT_HARBOR, "")
        .await
        .json::<Value>()
        .await
        .unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("not an image"), "{message}");
    let corrupt = push_layers(
        &s,
        "library/corrupt",
        "1",
        OCI_CONFIG,
        &[(data(4096, 7), "application/vnd.oci.image.layer.v1.tar+gzip")],
    )
    .await;
    let id = accept(
        &s,
        scan_body(&s, "library/corrupt", &corrupt, admin_basic()),
    )
    .await;
    let resp = report(&s, &id, spec::VULN_REPORT_HARBOR, "").await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let message = resp.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("layer sha256:"), "{message}");
    assert_eq!(
        client()
            .get(s.url("/api/v2.0/ping"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_adapter_pulls_only_from_addresses_the_operator_allows() {
    let s = TestServer::start().await;
    let digest = push_debian(&s, "library/app").await;
    // The server's own address is always allowed; the same server named otherwise is
    // another loopback address.
    let mut body = scan_body(&s, "library/app", &digest, admin_basic());
    body["registry"]["url"] = json!(format!("http://localhost:{}", s.addr.port()));
    let id = accept(&s, body).await;
    let resp = report(&s, &id, spec::VULN_REPORT_HARBOR, "").await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let message = resp.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("loopback"), "{message}");
}

/// The status once `pred` holds (30 s at most).
async fn db_status_when(s: &TestServer, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let status: Value = client()
            .get(s.url("/api/v2.0/system/vulnerability-db"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if pred(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the vulnerability database never reached the expected state");
}

#[tokio::test]
async fn harbor_scanner_db_is_imported_at_start_when_it_changed() {
    let data = tempfile::tempdir().unwrap();
    let zip = data.path().join("all.zip");
    std::fs::write(&zip, fixtures::osv_zip()).unwrap();
    let path = zip.clone();
    let s = TestServer::start_configured(move |c| c.scanner.db = Some(path)).await;
    let first = db_status_when(&s, |v| v["imported"] == true).await;
    assert!(first["source"].as_str().unwrap().contains("all.zip"));
    assert_eq!(first["records"], fixtures::osv_records().len() as u64);
    // Unchanged file: a restart keeps the database as it is.
    let s = s.restart().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = db_status_when(&s, |v| v["imported"] == true).await;
    assert_eq!(
        again["imported_at"], first["imported_at"],
        "not imported twice"
    );
    // A changed file is imported at the next start; a broken one leaves the last import.
    std::fs::write(&zip, &fixtures::osv_zip()[..100]).unwrap();
    let s = s.restart().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kept = db_status_when(&s, |v| v["imported"] == true).await;
    assert_eq!(kept["imported_at"], first["imported_at"]);
    let newer = zip_with(&[(
        "X-1.json",
        br#"{"id": "X-1", "modified": "2026-12-01T00:00:00Z"}"#.as_slice(),
    )]);
    std::fs::write(&zip, newer).unwrap();
    let s = s.restart().await;
    let replaced = db_status_when(&s, |v| v["imported_at"] != first["imported_at"]).await;
    assert_eq!(
        (replaced["records"].as_u64(), replaced["version"].as_str()),
        (Some(1), Some("2026-12-01T00:00:00Z"))
    );
}
