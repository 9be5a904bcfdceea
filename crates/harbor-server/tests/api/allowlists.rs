//! CVE allowlists (`/system/CVEAllowlist`, a project's `cve_allowlist`) and Harbor's
//! "prevent vulnerable images from running" on `/v2/` manifest pulls, on one real server:
//! who may read and write the lists, what ids are accepted, and pulls of the fixture
//! Debian image (15 findings: 4 Critical, 1 High, 1 Medium, 9 Unknown) scanned by the
//! built-in scanner registered as the default, refused with `412 PROJECTPOLICYVIOLATION`
//! and Harbor's message until the allowlist covers what reaches the severity.

use std::time::Duration;

use harbor_api_model::scanner_adapter as spec;
use harbor_scanner::fixtures;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::scanner::{push_debian, push_layers};
use crate::common::*;
use crate::support::*;

const KEY: &str = "adapter-k3y";
const SYSTEM: &str = "/api/v2.0/system/CVEAllowlist";

/// A server that may reach itself on loopback, with the fixture database imported and the
/// built-in scanner registered as the default.
pub(crate) async fn with_scanner() -> TestServer {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.scanner.adapter_api_key = Some(harbor_server::config::Secret(KEY.into()));
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
    assert_eq!(resp.status(), StatusCode::CREATED);
    s
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["cve_id"].as_str().unwrap().to_owned())
        .collect()
}

fn items(ids: &[&str]) -> Value {
    ids.iter().map(|id| json!({"cve_id": id})).collect()
}

#[tokio::test]
async fn the_system_list_is_read_by_anyone_signed_in_and_written_by_administrators() {
    let s = TestServer::start().await;
    create_user(&s, "alice").await;
    let alice = as_user("alice", PASSWORD);

    let r = get(&anon_client(), &s, SYSTEM).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // Never written: an empty list of project 0.
    let empty: Value = get_json(&alice, &s, SYSTEM).await;
    assert_eq!(empty, json!({"project_id": 0, "items": []}));

    let body = json!({"items": items(&[" cve-2021-44228 ", "GHSA-jfh8-c2jp-5v3q"]), "expires_at": 4_102_444_800i64});
    let r = send(&alice, &s, Method::PUT, SYSTEM, Some(body.clone())).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = admin(&s, Method::PUT, SYSTEM, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    let list: Value = get_json(&alice, &s, SYSTEM).await;
    assert_eq!(ids(&list), ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"]);
    assert_eq!(list["project_id"], 0);
    assert_eq!(list["expires_at"], 4_102_444_800i64);
    assert!(list["id"].as_i64().unwrap() > 0);
    assert!(list["creation_time"].as_str().unwrap().ends_with('Z'));
    assert!(list["update_time"].is_string());

    // Bad lists are refused whole; the stored one stays.
    let many: Vec<String> = (0..10_001).map(|i| format!("CVE-2020-{i:05}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (bad, why) in [
        (
            json!({"items": items(&["CVE-2021"])}),
            "CVE-<year>-<number>",
        ),
        (json!({"items": items(&["<script>"])}), "invalid CVE ID"),
        (json!({"items": items(&["  "])}), "empty"),
        (
            json!({"items": items(&["CVE-2021-44228", "cve-2021-44228"])}),
            "duplicate CVE ID in allowlist: CVE-2021-44228",
        ),
        (json!({"items": items(&many)}), "at most 10000"),
        (json!({"items": [], "expires_at": -5}), "expires_at"),
    ] {
        let r = admin(&s, Method::PUT, SYSTEM, Some(bad)).await;
        let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
    let r = admin(&s, Method::PUT, SYSTEM, Some(json!({"items": "nope"}))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let kept: Value = get_json(&alice, &s, SYSTEM).await;
    assert_eq!(kept, list);

    // A PUT replaces the whole list: no expiry now, one item.
    let r = admin(
        &s,
        Method::PUT,
        SYSTEM,
        Some(json!({"id": 99, "project_id": 5, "items": items(&["CVE-2014-0160"])})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = get_json(&alice, &s, SYSTEM).await;
    assert_eq!(ids(&list), ["CVE-2014-0160"]);
    assert_eq!(list["project_id"], 0, "the body's ids are ignored");
    assert!(list.get("expires_at").is_none());

    // The change is audited.
    wait_audit(&s, "resource_type=cve_allowlist", |e| {
        e["resource"] == "system"
    })
    .await;
}

#[tokio::test]
async fn a_projects_list_is_written_by_project_administrators_through_the_project() {
    let s = TestServer::start().await;
    for u in ["pa", "dev"] {
        create_user(&s, u).await;
    }
    let body = json!({
        "project_name": "team",
        "metadata": {"reuse_sys_cve_allowlist": "false"},
        "cve_allowlist": {"items": items(&["CVE-2021-44228"]), "expires_at": 4_102_444_800i64},
    });
    let r = admin(&s, Method::POST, "/api/v2.0/projects", Some(body)).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    add_member(&s, "team", "pa", 1).await;
    add_member(&s, "team", "dev", 2).await;
    let p: Value = get_json(&client(), &s, "/api/v2.0/projects/team").await;
    let list = &p["cve_allowlist"];
    assert_eq!(ids(list), ["CVE-2021-44228"]);
    assert_eq!(list["project_id"], p["project_id"]);
    assert_eq!(list["expires_at"], 4_102_444_800i64);
    assert!(list["id"].as_i64().unwrap() > 0);
    assert_eq!(p["metadata"]["reuse_sys_cve_allowlist"], "false");
    // Listings carry no items (as Harbor's).
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/projects?name=team").await;
    assert_eq!(all[0]["cve_allowlist"]["items"], json!([]));

    // A developer may not change it; the project administrator may.
    let change = json!({"cve_allowlist": {"items": items(&["CVE-2022-22965", "CVE-2014-0160"])}});
    let dev = as_user("dev", PASSWORD);
    let r = send(
        &dev,
        &s,
        Method::PUT,
        "/api/v2.0/projects/team",
        Some(change.clone()),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let pa = as_user("pa", PASSWORD);
    let r = send(
        &pa,
        &s,
        Method::PUT,
        "/api/v2.0/projects/team",
        Some(change),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let p: Value = get_json(&dev, &s, "/api/v2.0/projects/team").await;
    assert_eq!(
        ids(&p["cve_allowlist"]),
        ["CVE-2022-22965", "CVE-2014-0160"]
    );
    assert!(p["cve_allowlist"].get("expires_at").is_none());

    // Invalid ids are refused before anything is written (metadata included).
    let bad = json!({
        "metadata": {"severity": "low"},
        "cve_allowlist": {"items": items(&["CVE-2022-22965", "CVE-2022-22965"])},
    });
    let r = send(&pa, &s, Method::PUT, "/api/v2.0/projects/team", Some(bad)).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let after: Value = get_json(&dev, &s, "/api/v2.0/projects/team").await;
    assert_eq!(after["cve_allowlist"], p["cve_allowlist"]);
    assert!(after["metadata"].get("severity").is_none());
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "bad", "cve_allowlist": {"items": items(&["x y"])}})),
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert_eq!(
        get(&client(), &s, "/api/v2.0/projects/bad").await.status(),
        StatusCode::NOT_FOUND
    );

    // An update without `cve_allowlist` leaves it alone.
    let r = send(
        &pa,
        &s,
        Method::PUT,
        "/api/v2.0/projects/team",
        Some(json!({"metadata": {"severity": "high"}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = get_json(&dev, &s, "/api/v2.0/projects/team").await;
    assert_eq!(
        ids(&p["cve_allowlist"]),
        ["CVE-2022-22965", "CVE-2014-0160"]
    );

    wait_audit(&s, "resource_type=cve_allowlist", |e| {
        e["resource"] == "team"
    })
    .await;
}

fn manifest_url(s: &TestServer, repo: &str, reference: &str) -> String {
    s.url(&format!("/v2/{repo}/manifests/{reference}"))
}

/// A manifest `GET` by `c`: the status and, for a refusal, the OCI error's code and
/// message.
async fn pull(c: &Client, s: &TestServer, repo: &str, reference: &str) -> (StatusCode, Value) {
    let r = c
        .get(manifest_url(s, repo, reference))
        .header("accept", OCI_MANIFEST)
        .header("accept", OCI_INDEX)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = if status.is_success() {
        Value::Null
    } else {
        r.json().await.unwrap()
    };
    (status, body)
}

async fn refused(c: &Client, s: &TestServer, repo: &str, reference: &str) -> String {
    let (status, body) = pull(c, s, repo, reference).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(
        body["errors"][0]["code"], "PROJECTPOLICYVIOLATION",
        "{body}"
    );
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

async fn passes(c: &Client, s: &TestServer, repo: &str, reference: &str) {
    let (status, body) = pull(c, s, repo, reference).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn put_project(s: &TestServer, project: &str, body: Value) {
    let r = admin(
        s,
        Method::PUT,
        &format!("/api/v2.0/projects/{project}"),
        Some(body),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

async fn put_system(s: &TestServer, body: Value) {
    let r = admin(s, Method::PUT, SYSTEM, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// Scans `repo:1` and waits for its report.
pub(crate) async fn scan(s: &TestServer, repo: &str) -> Value {
    let (project, rest) = repo.split_once('/').unwrap();
    let path = format!("/api/v2.0/projects/{project}/repositories/{rest}/artifacts/1");
    let r = admin(s, Method::POST, &format!("{path}/scan"), None).await;
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "{}",
        r.text().await.unwrap()
    );
    for _ in 0..600 {
        let a: Value = get_json(&client(), s, &format!("{path}?with_scan_overview=true")).await;
        let o = &a["scan_overview"][spec::VULN_REPORT_V11];
        if o.is_object() && !matches!(o["scan_status"].as_str(), Some("Pending" | "Running")) {
            assert_eq!(o["scan_status"], "Success", "{o}");
            let reports: Value =
                get_json(&client(), s, &format!("{path}/additions/vulnerabilities")).await;
            return reports[spec::VULN_REPORT_V11]["vulnerabilities"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scan of {repo} did not finish");
}

/// The ids of findings at `severities`, each once (an id found in two packages is two
/// findings).
fn at(findings: &Value, severities: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| severities.contains(&v["severity"].as_str().unwrap()))
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// How many findings these ids cover.
fn covered(findings: &Value, ids: &[String]) -> usize {
    findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| ids.iter().any(|id| v["id"] == id.as_str()))
        .count()
}

fn list_of(ids: &[String], expires_at: Option<i64>) -> Value {
    json!({
        "items": ids.iter().map(|id| json!({"cve_id": id})).collect::<Vec<_>>(),
        "expires_at": expires_at,
    })
}

const POLICY_HIGH: &str = "cannot be pulled due to configured policy in 'Prevent images with \
                           vulnerability severity of \"High\" or higher from running.'";

#[tokio::test]
async fn prevent_vul_refuses_pulls_until_the_allowlist_covers_the_findings() {
    let s = with_scanner().await;
    create_project(&s, "vul", false).await;
    create_user(&s, "dev").await;
    add_member(&s, "vul", "dev", 2).await;
    let dev = as_user("dev", PASSWORD);
    let digest = push_debian(&s, "vul/app").await;

    // Off: pulls as usual.
    passes(&dev, &s, "vul/app", "1").await;

    // On, not scanned yet: refused, by tag and by digest, GET and HEAD.
    put_project(
        &s,
        "vul",
        json!({"metadata": {"prevent_vul": "true", "severity": "high"}}),
    )
    .await;
    let m = refused(&dev, &s, "vul/app", "1").await;
    assert_eq!(
        m,
        format!(
            "current image without vulnerability scanning {POLICY_HIGH} To continue with pull, \
             please contact your project administrator for help."
        )
    );
    refused(&dev, &s, "vul/app", &digest).await;
    let head = dev
        .head(manifest_url(&s, "vul/app", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::PRECONDITION_FAILED);
    // Layers are not judged (as in Harbor): only manifests.
    let blob = dev
        .get(s.url(&format!(
            "/v2/vul/app/blobs/{}",
            sha256(&fixtures::debian_image()[1])
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::OK);
    // System administrators pull anyway.
    passes(&client(), &s, "vul/app", "1").await;

    // Scanned while the policy is on: the scan robot (`scanner-pull`) is not held by it.
    let findings = scan(&s, "vul/app").await;
    assert_eq!(findings.as_array().unwrap().len(), 15);
    let m = refused(&dev, &s, "vul/app", "1").await;
    assert_eq!(
        m,
        format!(
            "current image with 15 vulnerabilities {POLICY_HIGH} To continue with pull, please \
             contact your project administrator to exempt matched vulnerabilities through \
             configuring the CVE allowlist."
        )
    );
    let critical = at(&findings, &["Critical"]);
    let high = at(&findings, &["Critical", "High"]);
    let left_by_critical = 15 - covered(&findings, &critical);
    let left_by_high = 15 - covered(&findings, &high);
    assert!(left_by_critical < 15 && left_by_high < left_by_critical);

    // The system list (reused by default) covering only the Critical ones: the High one
    // still refuses, and Harbor counts every finding left, whatever its severity.
    put_system(&s, list_of(&critical, None)).await;
    let m = refused(&dev, &s, "vul/app", "1").await;
    assert!(
        m.starts_with(&format!(
            "current image with {left_by_critical} vulnerabilities"
        )),
        "{m}"
    );
    // Covering everything at High or above lets it through (Medium and Unknown remain).
    put_system(&s, list_of(&high, None)).await;
    passes(&dev, &s, "vul/app", "1").await;
    passes(&dev, &s, "vul/app", &digest).await;
    // An expired list counts for nothing.
    put_system(&s, list_of(&high, Some(1_000_000_000))).await;
    refused(&dev, &s, "vul/app", "1").await;
    put_system(&s, list_of(&high, Some(4_102_444_800))).await;
    passes(&dev, &s, "vul/app", "1").await;

    // The project's own list once it stops reusing the system one.
    put_project(
        &s,
        "vul",
        json!({"metadata": {"reuse_sys_cve_allowlist": "false"}}),
    )
    .await;
    let m = refused(&dev, &s, "vul/app", "1").await;
    assert!(
        m.starts_with("current image with 15 vulnerabilities"),
        "{m}"
    );
    put_project(&s, "vul", json!({"cve_allowlist": list_of(&high, None)})).await;
    passes(&dev, &s, "vul/app", "1").await;
    put_project(
        &s,
        "vul",
        json!({"cve_allowlist": list_of(&high, Some(1_000_000_000))}),
    )
    .await;
    refused(&dev, &s, "vul/app", "1").await;

    // The threshold: Critical is refused with the Critical ones left, passes without.
    put_project(
        &s,
        "vul",
        json!({"metadata": {"severity": "critical"}, "cve_allowlist": list_of(&critical, None)}),
    )
    .await;
    passes(&dev, &s, "vul/app", "1").await;
    put_project(&s, "vul", json!({"cve_allowlist": list_of(&[], None)})).await;
    let m = refused(&dev, &s, "vul/app", "1").await;
    assert!(m.contains("severity of \"Critical\" or higher"), "{m}");
    // `none`: any finding at all refuses, whatever its severity.
    put_project(
        &s,
        "vul",
        json!({"metadata": {"severity": "none"}, "cve_allowlist": list_of(&high, None)}),
    )
    .await;
    let m = refused(&dev, &s, "vul/app", "1").await;
    assert!(
        m.starts_with(&format!(
            "current image with {left_by_high} vulnerabilities"
        )) && m.contains("\"None\""),
        "{m}"
    );

    // Off again: pulls as usual.
    put_project(&s, "vul", json!({"metadata": {"prevent_vul": "false"}})).await;
    passes(&dev, &s, "vul/app", "1").await;
}

#[tokio::test]
async fn indexes_failed_scans_and_other_artifacts_under_the_policy() {
    let s = with_scanner().await;
    create_project(&s, "vul", true).await;
    let digest = push_debian(&s, "vul/app").await;
    // An index of the image (exempt, as Harbor exempts image indexes).
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": digest,
            "size": 1,
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    }))
    .unwrap();
    let r = put_manifest(&s, "vul/app", "multi", OCI_INDEX, &index).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // A non-image artifact (a Helm chart's config type).
    let config = br#"{"name":"chart","version":"1.0.0"}"#;
    let config_digest = push_blob(&s, "vul/chart", config).await;
    let chart = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.cncf.helm.config.v1+json",
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": [],
    }))
    .unwrap();
    let r = put_manifest(&s, "vul/chart", "1.0.0", OCI_MANIFEST, &chart).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    put_project(
        &s,
        "vul",
        json!({"metadata": {"prevent_vul": "true", "severity": "low"}}),
    )
    .await;

    // Anonymous pulls of the public project are judged like anyone's.
    let anon = anon_client();
    let m = refused(&anon, &s, "vul/app", "1").await;
    assert!(m.contains("without vulnerability scanning"), "{m}");
    assert!(m.contains("severity of \"Low\" or higher"), "{m}");
    passes(&anon, &s, "vul/app", "multi").await;
    passes(&anon, &s, "vul/chart", "1.0.0").await;

    // A scan that did not succeed (a corrupt layer): its status is named.
    push_layers(
        &s,
        "vul/broken",
        "1",
        OCI_CONFIG,
        &[(
            b"not gzip".to_vec(),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )],
    )
    .await;
    let path = "/api/v2.0/projects/vul/repositories/broken/artifacts/1";
    let r = admin(&s, Method::POST, &format!("{path}/scan"), None).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mut last = String::new();
    for _ in 0..600 {
        last = refused(&anon, &s, "vul/broken", "1").await;
        if last.contains("\"Error\" status") {
            break;
        }
        assert!(
            last.contains("\"Pending\" status") || last.contains("\"Running\" status"),
            "{last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        last.starts_with(
            "current image with \"Error\" status of vulnerability scanning cannot be pulled"
        ),
        "{last}"
    );
    assert!(last.ends_with("please contact your project administrator for help."));
}
