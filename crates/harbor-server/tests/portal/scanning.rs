//! Scanning in the portal (plain HTTP): the "Interrogation services" page with the
//! built-in scanner the server registered, the database and scan all; an artifact's scan
//! and SBOM buttons, its vulnerabilities and SBOM sections, the SBOM accessory's
//! packages, and the severity column of the artifact list.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, ADMIN_PASSWORD, OCI_CONFIG, OCI_MANIFEST, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

/// Pushes the Debian fixture image (15 known findings) as `library/app:1`.
async fn push_debian(s: &TestServer) {
    let types = [
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    ];
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = common::push_blob(s, "library/app", config).await;
    let mut layers = Vec::new();
    for (blob, media_type) in harbor_scanner::fixtures::debian_image()
        .into_iter()
        .zip(types)
    {
        let digest = common::push_blob(s, "library/app", &blob).await;
        layers.push(json!({"mediaType": media_type, "digest": digest, "size": blob.len()}));
    }
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()}, "layers": layers}))
    .unwrap();
    let resp = common::put_manifest(s, "library/app", "1", OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

/// The artifact once `field`'s status is final (60 s at most).
async fn settled(s: &TestServer, pick: impl Fn(&Value) -> Value) -> Value {
    for _ in 0..600 {
        let a: Value = common::client()
            .get(s.url("/api/v2.0/projects/library/repositories/app/artifacts/1?with_scan_overview=true&with_sbom_overview=true"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = pick(&a);
        if status.is_string() && status != "Pending" && status != "Running" {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scan did not end");
}

#[tokio::test]
async fn scanners_scans_and_sboms_in_the_portal() {
    let s = TestServer::start_configured(|c| c.scanner.builtin = true).await;
    let resp = common::client()
        .put(s.url("/api/v2.0/system/vulnerability-db?source=fixture"))
        .body(harbor_scanner::fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    push_debian(&s).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;

    let (status, page) = get(&s, &admin, "/admin/interrogation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Harbor-rs") && page.contains("Default"),
        "{page}"
    );
    assert!(page.contains("fixture"), "the database's source: {page}");
    assert!(page.contains("Scan all has not run yet."), "{page}");
    assert!(
        page.contains(r#"id="security-hub-link" href="/admin/security""#),
        "{page}"
    );

    // The artifact page: not scanned; scan it from there.
    let (_, art) = get(&s, &admin, "/artifact?repo=library/app&ref=1").await;
    assert!(art.contains("Not scanned yet."), "{art}");
    assert!(art.contains(r#"id="scan-vulnerability""#) && art.contains(r#"id="scan-sbom""#));
    let csrf = token(&art);
    let form = [
        ("_csrf", csrf.as_str()),
        ("repo", "library/app"),
        ("ref", "1"),
        ("scan_type", "vulnerability"),
    ];
    let r = post(&s, &admin, "/artifact/scan", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(flash_of(&r), "ok:Scan started.");
    let vuln = "application/vnd.security.vulnerability.report; version=1.1";
    settled(&s, |a| a["scan_overview"][vuln]["scan_status"].clone()).await;
    let (_, art) = get(&s, &admin, "/artifact?repo=library/app&ref=1").await;
    assert!(art.contains("15 vulnerabilities, 14 fixable"), "{art}");
    assert!(
        art.contains(r#"id="vulnerability-list""#) && art.contains("CVE-2021-23337"),
        "{art}"
    );

    // An SBOM, then its accessory's page lists the packages.
    let form = [
        ("_csrf", csrf.as_str()),
        ("repo", "library/app"),
        ("ref", "1"),
        ("scan_type", "sbom"),
    ];
    let r = post(&s, &admin, "/artifact/scan", &form).await;
    assert_eq!(flash_of(&r), "ok:SBOM generation started.");
    let a = settled(&s, |a| a["sbom_overview"]["scan_status"].clone()).await;
    let sbom_digest = a["sbom_overview"]["sbom_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, art) = get(&s, &admin, "/artifact?repo=library/app&ref=1").await;
    assert!(
        art.contains(r#"id="sbom-link""#) && art.contains(&sbom_digest),
        "{art}"
    );
    let (status, doc) = get(
        &s,
        &admin,
        &format!("/artifact?repo=library/app&ref={sbom_digest}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc.contains("SBOM document") && doc.contains(r#"id="sbom-packages""#),
        "{doc}"
    );
    assert!(doc.contains("pkg:deb/debian/"), "{doc}");

    // The list's severity column.
    let (_, list) = get(&s, &admin, "/repo?name=library/app").await;
    assert!(
        list.contains(r#"data-severity="Critical""#) && list.contains("15 (14 fixable)"),
        "{list}"
    );

    // Scan all from the page.
    let (_, page) = get(&s, &admin, "/admin/interrogation").await;
    let r = post(
        &s,
        &admin,
        "/admin/interrogation/scan-all",
        &[("_csrf", &token(&page))],
    )
    .await;
    assert_eq!(flash_of(&r), "ok:Scan all started.");
    let mut page = String::new();
    for _ in 0..600 {
        page = get(&s, &admin, "/admin/interrogation").await.1;
        if page.contains("1 of 1 scans ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        page.contains("1 of 1 scans ended") && page.contains("Success 1"),
        "{page}"
    );

    // A signed-in user who is no member of the public project gets no scan buttons.
    common::create_user(&s, "viewer").await;
    let viewer = sign_in(&s, "viewer", PASSWORD).await;
    let (status, art) = get(&s, &viewer, "/artifact?repo=library/app&ref=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(art.contains(r#"id="scan-status""#), "{art}");
    assert!(!art.contains(r#"id="scan-vulnerability""#) && !art.contains(r#"id="scan-sbom""#));
    let (status, _) = get(&s, &viewer, "/admin/interrogation").await;
    assert_ne!(status, StatusCode::OK);
}
