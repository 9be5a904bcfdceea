//! The security hub and CVE export end to end on one real server: the fixture Debian
//! image pushed into two projects (one digest, two artifacts) and an Alpine image, scanned
//! by the built-in scanner registered as the default, then Harbor's `/security/summary`
//! and `/security/vul` (every `q` filter, pages, totals, who may read them) and
//! `/export/cve` (a job writing the CSV, its download, the filters, who may export and
//! see what).

use std::time::Duration;

use harbor_api_model::scanner_adapter as spec;
use harbor_scanner::fixtures;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::scanner::{push_debian, push_layers};
use super::scans::{artifact_path, finished, set_up, start_scan, vuln_overview};
use crate::common::*;
use crate::support::*;

/// The scanner registration's name in `set_up`.
const SCANNER: &str = "Harbor-rs built-in";

struct World {
    s: TestServer,
    team: i64,
    debian: String,
    alpine: String,
}

/// Debian in `library/app` and `team/app` (one scan covers both: reports are by digest),
/// Alpine in `team/web`, an unscanned image in `library/plain`; `team/app` also tagged
/// `prod`.
async fn world() -> World {
    let (s, _) = set_up().await;
    let team = create_project(&s, "team", false).await;
    let debian = push_debian(&s, "library/app").await;
    assert_eq!(push_debian(&s, "team/app").await, debian);
    let layers: Vec<(Vec<u8>, &str)> = fixtures::alpine_image()
        .into_iter()
        .map(|l| (l, OCI_LAYER))
        .collect();
    let alpine = push_layers(&s, "team/web", "1", OCI_CONFIG, &layers).await;
    push_image(&s, "library/plain", "1", 7).await;
    let resp = admin(
        &s,
        Method::POST,
        &format!("{}/tags", artifact_path("team/app", "1")),
        Some(json!({"name": "prod"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    for repo in ["library/app", "team/web"] {
        assert_eq!(
            start_scan(&s, repo, "1", None).await.status(),
            StatusCode::ACCEPTED
        );
        let (_, o) = finished(&s, repo, "1", "with_scan_overview=true", vuln_overview).await;
        assert_eq!(o["scan_status"], "Success", "{o}");
    }
    World {
        s,
        team,
        debian,
        alpine,
    }
}

async fn vul(s: &TestServer, query: &str) -> (Vec<Value>, String, Option<String>) {
    let resp = get(&client(), s, &format!("/api/v2.0/security/vul?{query}")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{query}");
    let total = header(resp.headers(), "x-total-count")
        .unwrap_or_default()
        .to_string();
    let link = header(resp.headers(), "link").map(str::to_owned);
    (resp.json().await.unwrap(), total, link)
}

fn rows(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| {
            format!(
                "{} {} {}",
                v["repository_name"].as_str().unwrap(),
                v["cve_id"].as_str().unwrap(),
                v["package"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_security_hub_over_the_default_scanner() {
    let w = world().await;
    let s = &w.s;

    let sum: Value = get_json(
        &client(),
        s,
        "/api/v2.0/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true",
    )
    .await;
    // Debian's 15 findings (4 Critical, 1 High, 1 Medium, 9 Unknown; 14 fixable) in two
    // artifacts, and Alpine's one (Unknown, fixable).
    let counts: Vec<i64> = [
        "critical_cnt",
        "high_cnt",
        "medium_cnt",
        "low_cnt",
        "none_cnt",
        "unknown_cnt",
        "total_vuls",
        "fixable_cnt",
        "scanned_cnt",
        "total_artifact",
    ]
    .iter()
    .map(|k| sum[*k].as_i64().unwrap())
    .collect();
    assert_eq!(counts, [8, 2, 2, 0, 0, 19, 31, 29, 3, 4], "{sum}");
    let cves: Vec<(&str, &str, f64, &str)> = sum["dangerous_cves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cve_id"].as_str().unwrap(),
                c["package"].as_str().unwrap(),
                c["cvss_score_v3"].as_f64().unwrap(),
                c["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cves,
        [
            (
                "CVE-2021-44228",
                "org.apache.logging.log4j:log4j-core",
                10.0,
                "Critical"
            ),
            ("CVE-2021-25900", "smallvec", 9.8, "Critical"),
            ("CVE-2024-0001", "libssl3", 9.8, "Critical"),
            ("CVE-2024-0001", "openssl", 9.8, "Critical"),
            ("CVE-2023-32681", "requests", 4.2, "Medium"),
        ]
    );
    assert_eq!(sum["dangerous_cves"][0]["version"], "2.14.1");
    assert_eq!(
        sum["dangerous_artifacts"],
        json!([
            {"project_id": 1, "repository_name": "library/app", "digest": w.debian,
             "critical_cnt": 4, "high_cnt": 1, "medium_cnt": 1},
            {"project_id": w.team, "repository_name": "team/app", "digest": w.debian,
             "critical_cnt": 4, "high_cnt": 1, "medium_cnt": 1},
        ]),
        "Alpine's artifact has no critical, high, medium or low finding"
    );
    let plain: Value = get_json(&client(), s, "/api/v2.0/security/summary").await;
    assert!(plain.get("dangerous_cves").is_none() && plain.get("dangerous_artifacts").is_none());
    assert_eq!(plain["total_vuls"], 31);

    // The listing: highest score first, ties in artifact then report order.
    let (items, total, link) = vul(s, "").await;
    assert_eq!(total, "31");
    assert_eq!(items.len(), 10, "Harbor's default page");
    assert_eq!(
        rows(&items[..8]),
        [
            "library/app CVE-2021-44228 org.apache.logging.log4j:log4j-core",
            "team/app CVE-2021-44228 org.apache.logging.log4j:log4j-core",
            "library/app CVE-2024-0001 libssl3",
            "library/app CVE-2024-0001 openssl",
            "library/app CVE-2021-25900 smallvec",
            "team/app CVE-2024-0001 libssl3",
            "team/app CVE-2024-0001 openssl",
            "team/app CVE-2021-25900 smallvec",
        ]
    );
    let first = &items[0];
    assert_eq!(first["project_id"], 1);
    assert_eq!(first["digest"], w.debian.as_str());
    assert_eq!(first["severity"], "Critical");
    assert_eq!(first["cvss_v3_score"], 10.0);
    assert_eq!(first["version"], "2.14.1");
    assert_eq!(first["fixed_version"], "2.15.0");
    assert_eq!(
        first["desc"],
        "GHSA-jfh8-c2jp-5v3q in org.apache.logging.log4j:log4j-core"
    );
    assert_eq!(
        first["links"],
        json!(["https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"])
    );
    assert!(first.get("tags").is_none(), "only with with_tag");
    assert!(link.unwrap().contains("page=2"));

    // Every `q` filter.
    for (q, n) in [
        ("cve_id=CVE-2024-0001", 4),
        ("severity=Critical", 8),
        ("severity=Unknown", 19),
        ("cvss_score_v3=[9~10]", 8),
        ("cvss_score_v3=[4~5]", 2),
        ("cvss_score_v3=[9.9~]", 2),
        ("repository_name=team/web", 1),
        (&format!("project_id={}", w.team), 16),
        ("project_id=1", 15),
        ("package=openssl", 4),
        ("tag=prod", 15),
        ("tag=nope", 0),
        (&format!("digest={}", w.alpine), 1),
        ("repository_name=team/app,severity=Critical", 4),
    ] {
        let (items, total, _) = vul(s, &format!("page_size=100&q={}", urlencode(q))).await;
        assert_eq!(
            (items.len(), total.as_str()),
            (n, n.to_string().as_str()),
            "{q}"
        );
    }
    let (items, _, _) = vul(s, &format!("q={}", urlencode("repository_name=team/web"))).await;
    assert_eq!(rows(&items), ["team/web CVE-2024-0100 libcrypto3"]);
    assert_eq!(items[0]["fixed_version"], "3.1.4-r3");
    assert_eq!(items[0]["cvss_v3_score"], 0.0, "no score");

    // Pages, tags and tuned totals.
    let (page4, total, link) = vul(s, "page=4&page_size=10&with_tag=true&tune_count=true").await;
    assert_eq!(total, "31", "under 1,000 the tuned total is exact");
    assert_eq!(page4.len(), 1);
    let link = link.unwrap();
    assert!(
        link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""),
        "{link}"
    );
    let (tagged, _, _) = vul(s, "page_size=2&with_tag=true").await;
    assert_eq!(tagged[0]["tags"], json!(["1"]));
    let mut team_tags: Vec<String> = serde_json::from_value(tagged[1]["tags"].clone()).unwrap();
    team_tags.sort();
    assert_eq!(team_tags, ["1", "prod"]);

    // Bad filters.
    for bad in [
        "status=fixed",
        "name=x",
        "cve_id=~CVE",
        "cvss_score_v3=9",
        "cvss_score_v3=[a~b]",
        "project_id=team",
    ] {
        let resp = get(
            &client(),
            s,
            &format!("/api/v2.0/security/vul?q={}", urlencode(bad)),
        )
        .await;
        harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }

    // System administrators only.
    create_user(s, "dev").await;
    let dev = as_user("dev", PASSWORD);
    for path in ["/api/v2.0/security/summary", "/api/v2.0/security/vul"] {
        assert_eq!(
            status_of(&dev, s, path).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            status_of(&anon_client(), s, path).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
}

#[tokio::test]
async fn without_a_default_scanner_the_hub_is_empty() {
    let s = TestServer::start().await;
    push_image(&s, "library/plain", "1", 1).await;
    let sum: Value = get_json(&client(), &s, "/api/v2.0/security/summary").await;
    assert_eq!(sum["total_artifact"], 0, "as Harbor: an empty summary");
    assert_eq!(sum["total_vuls"], 0);
    let (items, total, _) = vul(&s, "").await;
    assert!(items.is_empty());
    assert_eq!(total, "0");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Parses CSV (RFC 4180, `\n` line ends) into records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "a CSV ends with a line end"
    );
    out
}

const HEADER: &str = "Repository,Artifact Digest,CVE,Package,Current Version,Fixed in version,Severity,CWE Ids,Additional Data,Scanner\n";

/// `POST /export/cve` as `c` with Harbor's data type.
async fn export(s: &TestServer, c: &Client, body: Value) -> reqwest::Response {
    c.post(s.url("/api/v2.0/export/cve"))
        .header("X-Scan-Data-Type", spec::VULN_REPORT_V11)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Starts an export as `c` and waits for it to end; the execution.
async fn exported(s: &TestServer, c: &Client, body: Value) -> Value {
    let resp = export(s, c, body).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let id = resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for _ in 0..300 {
        let e: Value = get_json(c, s, &format!("/api/v2.0/export/cve/execution/{id}")).await;
        if e["status"] != "Running" {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("export {id} did not finish");
}

async fn download(s: &TestServer, c: &Client, id: &Value) -> reqwest::Response {
    get(c, s, &format!("/api/v2.0/export/cve/download/{id}")).await
}

/// The expected CSV rows of an artifact: its stored report's items, in order.
async fn report_rows(s: &TestServer, repo: &str, digest: &str) -> Vec<Vec<String>> {
    let reports: Value = get_json(
        &client(),
        s,
        &format!("{}/additions/vulnerabilities", artifact_path(repo, digest)),
    )
    .await;
    reports[spec::VULN_REPORT_V11]["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let cwe: Vec<&str> = v["cwe_ids"]
                .as_array()
                .map(|a| a.iter().map(|c| c.as_str().unwrap()).collect())
                .unwrap_or_default();
            [
                repo,
                digest,
                v["id"].as_str().unwrap(),
                v["package"].as_str().unwrap(),
                v["version"].as_str().unwrap(),
                v["fix_version"].as_str().unwrap(),
                v["severity"].as_str().unwrap(),
                &cwe.join(","),
                &v["vendor_attributes"].to_string(),
                SCANNER,
            ]
            .iter()
            .map(|f| f.to_string())
            .collect()
        })
        .collect()
}

#[tokio::test]
async fn cve_exports_write_harbors_csv_for_their_owner() {
    let w = world().await;
    let s = &w.s;
    for user in ["alice", "bob", "guest"] {
        create_user(s, user).await;
    }
    add_member(s, "team", "alice", 1).await;
    add_member(s, "team", "bob", 1).await;
    add_member(s, "team", "guest", 3).await;
    let alice = as_user("alice", PASSWORD);
    let bob = as_user("bob", PASSWORD);
    let all = json!({"job_name": "all of team", "projects": [w.team]});

    // The whole project: Harbor's header, then every finding of each artifact.
    let e = exported(s, &alice, all.clone()).await;
    assert_eq!(e["status"], "Success", "{e}");
    assert_eq!(e["user_name"], "alice");
    assert_eq!(e["trigger"], "MANUAL");
    assert_eq!(e["file_present"], true);
    assert!(e["end_time"].as_str().unwrap() >= e["start_time"].as_str().unwrap());
    let resp = download(s, &alice, &e["id"]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "content-type"), Some("text/csv"));
    assert_eq!(
        header(resp.headers(), "content-disposition").unwrap(),
        format!("attachment; filename=\"scandata_export_{}.csv\"", e["id"])
    );
    let length: usize = header(resp.headers(), "content-length")
        .unwrap()
        .parse()
        .unwrap();
    let text = resp.text().await.unwrap();
    assert_eq!(text.len(), length);
    assert!(text.starts_with(HEADER), "{text}");
    let mut want = report_rows(s, "team/app", &w.debian).await;
    want.extend(report_rows(s, "team/web", &w.alpine).await);
    assert_eq!(want.len(), 16);
    assert_eq!(parse_csv(&text)[1..], want[..]);
    // Quoting, pinned: a list of CWE ids and the vendor attributes' JSON.
    assert!(text.contains(&format!(
        "team/app,{},CVE-2021-23337,lodash,4.17.20,4.17.21,High,\"CWE-77,CWE-94\",\"{{\"\"advisories\"\":[\"\"GHSA-35jh-r3h4-6jhm\"\"],\"\"cvss_v4\"\":null,\"\"package_path\"\":\"\"/web/package-lock.json\"\",\"\"package_type\"\":\"\"npm\"\"}}\",{SCANNER}\n",
        w.debian
    )), "{text}");
    assert!(text.ends_with(&format!(
        "team/web,{},CVE-2024-0100,libcrypto3,3.1.4-r1,3.1.4-r3,Unknown,,\"{{\"\"advisories\"\":[\"\"ALPINE-CVE-2024-0100\"\"],\"\"cvss_v4\"\":null,\"\"package_path\"\":\"\"/lib/apk/db/installed\"\",\"\"package_type\"\":\"\"apk\"\"}}\",{SCANNER}\n",
        w.alpine
    )), "{text}");

    // Harbor's filters: repositories and tags (doublestar), labels, CVE ids.
    let label = admin(
        s,
        Method::POST,
        "/api/v2.0/labels",
        Some(json!({"name": "edge", "scope": "p", "project_id": w.team})),
    )
    .await;
    assert_eq!(label.status(), StatusCode::CREATED);
    let label = location_id(&label);
    let resp = admin(
        s,
        Method::POST,
        &format!("{}/labels", artifact_path("team/web", "1")),
        Some(json!({"id": label})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    for (criteria, want) in [
        (
            json!({"repositories": "web"}),
            vec!["team/web CVE-2024-0100"],
        ),
        (
            json!({"repositories": "{nope,w*}"}),
            vec!["team/web CVE-2024-0100"],
        ),
        (json!({"labels": [label]}), vec!["team/web CVE-2024-0100"]),
        (
            json!({"cveIds": "{CVE-2024-0001,CVE-2024-0100}"}),
            vec![
                "team/app CVE-2024-0001",
                "team/app CVE-2024-0001",
                "team/web CVE-2024-0100",
            ],
        ),
        (
            json!({"tags": "pr*", "cveIds": "CVE-2021-*"}),
            vec![
                "team/app CVE-2021-23337",
                "team/app CVE-2021-44228",
                "team/app CVE-2021-25900",
            ],
        ),
    ] {
        let mut body = criteria.clone();
        body["projects"] = json!([w.team]);
        let e = exported(s, &alice, body).await;
        assert_eq!(e["status"], "Success", "{criteria}: {e}");
        let text = download(s, &alice, &e["id"]).await.text().await.unwrap();
        let got: Vec<String> = parse_csv(&text)[1..]
            .iter()
            .map(|r| format!("{} {}", r[0], r[2]))
            .collect();
        assert_eq!(got, want, "{criteria}");
    }
    // Nothing matched: no file, Harbor's note.
    let none = exported(
        s,
        &alice,
        json!({"projects": [w.team], "cveIds": "CVE-1999-*"}),
    )
    .await;
    assert_eq!(none["status"], "Success");
    assert_eq!(none["status_text"], "No vulnerabilities found or matched");
    assert_eq!(none["file_present"], false);
    assert_eq!(
        download(s, &alice, &none["id"]).await.status(),
        StatusCode::NOT_FOUND
    );

    // Only the owner lists, reads and downloads an export.
    let mine: Value = get_json(&alice, s, "/api/v2.0/export/cve/executions").await;
    let ids: Vec<i64> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 7);
    assert_eq!(ids[0], none["id"].as_i64().unwrap(), "newest first");
    let theirs: Value = get_json(&bob, s, "/api/v2.0/export/cve/executions").await;
    assert_eq!(theirs["items"], json!([]));
    for c in [&bob, &client()] {
        assert_eq!(
            status_of(c, s, &format!("/api/v2.0/export/cve/execution/{}", e["id"])).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            download(s, c, &e["id"]).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        status_of(&alice, s, "/api/v2.0/export/cve/execution/999999").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(&anon_client(), s, "/api/v2.0/export/cve/executions").await,
        StatusCode::UNAUTHORIZED
    );

    // Who may export what, and Harbor's rules for a request.
    let guest = as_user("guest", PASSWORD);
    harbor_error(
        export(s, &guest, all.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    harbor_error(
        export(s, &alice, json!({"projects": [1]})).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    harbor_error(
        export(s, &alice, json!({"projects": [424242]})).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    for bad in [
        json!({"projects": []}),
        json!({"projects": [1, w.team]}),
        json!({"projects": [w.team], "repositories": "a b"}),
        json!({"projects": [w.team], "tags": "{unbalanced"}),
    ] {
        harbor_error(
            export(s, &alice, bad).await,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        )
        .await;
    }
    let resp = alice
        .post(s.url("/api/v2.0/export/cve"))
        .header(
            "X-Scan-Data-Type",
            "application/vnd.scanner.adapter.vuln.report.raw",
        )
        .json(&all)
        .send()
        .await
        .unwrap();
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // A system administrator exports any project.
    let e = exported(s, &client(), json!({"projects": [1]})).await;
    assert_eq!(e["status"], "Success");
    let text = download(s, &client(), &e["id"]).await.text().await.unwrap();
    assert_eq!(
        parse_csv(&text).len(),
        16,
        "the header and library/app's 15 findings"
    );
}
