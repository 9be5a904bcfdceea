//! The security hub page: the fixture Debian image in two repositories (one digest, two
//! artifacts), scanned by the built-in scanner registered as the default; the page's
//! counts, most dangerous CVEs and artifacts, its filters and pages over plain HTTP, the
//! filter form in headless Chromium (and on a phone-sized screen), and the refusal for
//! non-administrators.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{self, ADMIN_PASSWORD, TestServer};
use crate::http::{get, sign_in};

const KEY: &str = "adapter-k3y";

/// A server with the fixture database, the built-in scanner as the default, and the
/// Debian image in `library/app` and `library/copy`, scanned.
async fn scanned() -> TestServer {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.scanner.adapter_api_key = Some(harbor_server::config::Secret(KEY.into()));
    })
    .await;
    let resp = common::client()
        .put(s.url("/api/v2.0/system/vulnerability-db"))
        .body(harbor_scanner::fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json!({"name": "built-in", "url": s.base,
        "auth": "X-ScannerAdapter-API-Key", "access_credential": KEY});
    let resp = common::send(
        &common::client(),
        &s,
        Method::POST,
        "/api/v2.0/scanners",
        Some(body),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let types = [
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    ];
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    for repo in ["library/app", "library/copy"] {
        let config_digest = common::push_blob(&s, repo, config).await;
        let mut layers = Vec::new();
        for (blob, media_type) in harbor_scanner::fixtures::debian_image()
            .into_iter()
            .zip(types)
        {
            let digest = common::push_blob(&s, repo, &blob).await;
            layers.push(json!({"mediaType": media_type, "digest": digest, "size": blob.len()}));
        }
        let manifest = serde_json::to_vec(&json!({"schemaVersion": 2,
            "mediaType": common::OCI_MANIFEST,
            "config": {"mediaType": common::OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": layers}))
        .unwrap();
        let resp = common::put_manifest(&s, repo, "1", common::OCI_MANIFEST, &manifest).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let artifact = "/api/v2.0/projects/library/repositories/app/artifacts/1";
    let resp = common::send(
        &common::client(),
        &s,
        Method::POST,
        &format!("{artifact}/scan"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    for _ in 0..600 {
        let a: Value = common::client()
            .get(s.url(&format!("{artifact}?with_scan_overview=true")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = a["scan_overview"]
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|o| o["scan_status"].as_str())
            .unwrap_or("Pending")
            .to_owned();
        if status == "Success" {
            return s;
        }
        assert!(matches!(status.as_str(), "Pending" | "Running"), "{a}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scan did not finish");
}

/// The `data-count` cell of the summary.
fn count(page: &str, key: &str) -> String {
    let marker = format!("data-count=\"{key}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("{key}: {page}"))
        + marker.len();
    page[start..].split('<').next().unwrap().to_owned()
}

/// The rows of the vulnerability table: `data-cve` values in order.
fn listed(page: &str) -> Vec<String> {
    let Some(table) = page.split("id=\"vulnerabilities\"").nth(1) else {
        return Vec::new();
    };
    table
        .split("</table>")
        .next()
        .unwrap()
        .split("<tr data-cve=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_hub_page() {
    let s = scanned().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;

    let (status, page) = get(&s, &admin, "/admin/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("href=\"/admin/security\""),
        "the menu links it"
    );
    for (key, want) in [
        ("total", "30"),
        ("fixable", "28"),
        ("scanned", "2 of 2"),
        ("critical", "8"),
        ("high", "2"),
        ("medium", "2"),
        ("low", "0"),
        ("unknown", "18"),
    ] {
        assert_eq!(count(&page, key), want, "{key}");
    }
    let dangerous = page.split("id=\"dangerous-cves\"").nth(1).unwrap();
    let cves: Vec<&str> = dangerous
        .split("</table>")
        .next()
        .unwrap()
        .split("<tr data-cve=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert_eq!(
        cves,
        [
            "CVE-2021-44228",
            "CVE-2021-25900",
            "CVE-2024-0001",
            "CVE-2024-0001",
            "CVE-2023-32681"
        ]
    );
    let artifacts = page.split("id=\"dangerous-artifacts\"").nth(1).unwrap();
    assert!(
        artifacts.contains("data-repository=\"library/app\"")
            && artifacts.contains("data-repository=\"library/copy\""),
        "{artifacts}"
    );
    assert!(artifacts.contains("/artifact?repo=library%2Fapp&amp;ref=sha256%3A"));
    // The listing: 30 findings, 25 a page, highest score first.
    let rows = listed(&page);
    assert_eq!(rows.len(), 25);
    assert_eq!(rows[..2], ["CVE-2021-44228", "CVE-2021-44228"]);
    assert!(page.contains("30 total · page 1 of 2"), "{page}");
    let (_, second) = get(&s, &admin, "/admin/security?page=2").await;
    assert_eq!(listed(&second).len(), 5);

    // Filters, as the form sends them.
    for (query, want) in [
        ("severity=Critical", 8),
        ("cve=CVE-2024-0001", 4),
        ("repository=library%2Fcopy&severity=Critical", 4),
        ("package=openssl", 4),
        ("min=9&max=10", 8),
        ("min=4.2&max=4.2", 2),
        ("tag=1", 25),
        ("tag=nope", 0),
    ] {
        let (status, page) = get(&s, &admin, &format!("/admin/security?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(listed(&page).len(), want, "{query}");
        if want == 0 {
            assert!(page.contains("No vulnerability matches this filter."));
        }
    }
    let (_, filtered) = get(&s, &admin, "/admin/security?severity=High").await;
    assert!(
        filtered.contains("<option value=\"High\" selected>"),
        "the form keeps the filter"
    );

    // Not for other users.
    common::create_user(&s, "dev").await;
    let dev = sign_in(&s, "dev", common::PASSWORD).await;
    let (status, page) = get(&s, &dev, "/admin/security").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("id=\"vulnerabilities\""));
    let (_, projects) = get(&s, &dev, "/projects").await;
    assert!(!projects.contains("href=\"/admin/security\""));

    // The filter form in a browser.
    let Some(b) = Browser::start().await else {
        return;
    };
    let base = s.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#whoami", "admin").await;
    b.goto(&format!("{base}/admin/security")).await;
    b.wait_for("#vulnerabilities").await;
    b.fill("#f-cve", "CVE-2021-44228").await;
    b.submit_form("#apply-filter").await;
    b.wait_for_text("nav.pager", "2 total").await;
    assert_eq!(
        b.texts("#vulnerabilities tbody td:first-child").await,
        ["CVE-2021-44228", "CVE-2021-44228"]
    );
    b.screenshot("security-hub").await;

    // On a phone the page scrolls down, never sideways (tables scroll in their box).
    b.set_window(390, 844).await;
    b.goto(&format!("{base}/admin/security")).await;
    b.wait_for("#vulnerabilities").await;
    let m = b
        .client()
        .execute(crate::narrow::MEASURE, vec![])
        .await
        .expect("measure the page");
    let px = |i: usize| m[i].as_f64().unwrap_or(f64::MAX);
    assert!(
        px(0) <= px(2) && px(2) <= px(1),
        "the page scrolls sideways: {m:?}"
    );
    b.close().await;
}
