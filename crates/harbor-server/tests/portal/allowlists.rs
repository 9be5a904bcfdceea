//! The CVE allowlist forms over HTTP, as a browser posts them: the system list on the
//! administrators' settings page, a project's vulnerability settings (prevent_vul,
//! severity, which list applies, its own list) on the Configuration tab, checked against
//! what the REST API says afterwards.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, path: &str) -> Value {
    let r = common::send(&common::client(), s, Method::GET, path, None).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn expect(s: &TestServer, cookie: &str, path: &str, form: &[(&str, &str)], flash: &str) {
    let r = post(s, cookie, path, form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
    let got = flash_of(&r);
    assert!(
        got.starts_with(flash),
        "{path}: expected {flash}..., got {got}"
    );
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["cve_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_system_list_on_the_settings_page() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"system-allowlist-form\""), "{page}");
    let t = token(&page);

    let form = [
        ("_csrf", t.as_str()),
        (
            "cves",
            "CVE-2021-44228\r\nGHSA-jfh8-c2jp-5v3q, cve-2014-0160",
        ),
        ("expires", "2030-01-01"),
    ];
    expect(&s, &admin, "/admin/allowlist", &form, "ok:").await;
    let list = api(&s, "/api/v2.0/system/CVEAllowlist").await;
    assert_eq!(
        ids(&list),
        ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", "CVE-2014-0160"]
    );
    assert_eq!(list["expires_at"], 1_893_456_000);
    let (_, page) = get(&s, &admin, "/admin/settings").await;
    assert!(page.contains("GHSA-jfh8-c2jp-5v3q") && page.contains("value=\"2030-01-01\""));

    // Refused: a malformed id (the API's reason), a date that is not one; nothing changes.
    let bad = [("_csrf", t.as_str()), ("cves", "CVE-1"), ("expires", "")];
    expect(&s, &admin, "/admin/allowlist", &bad, "err:").await;
    let bad = [("_csrf", t.as_str()), ("cves", ""), ("expires", "soon")];
    expect(&s, &admin, "/admin/allowlist", &bad, "err:").await;
    assert_eq!(api(&s, "/api/v2.0/system/CVEAllowlist").await, list);
    // Without the form's token nothing is saved.
    let r = post(&s, &admin, "/admin/allowlist", &[("cves", "")]).await;
    assert_ne!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(api(&s, "/api/v2.0/system/CVEAllowlist").await, list);
    // Emptied.
    let empty = [("_csrf", t.as_str()), ("cves", ""), ("expires", "")];
    expect(&s, &admin, "/admin/allowlist", &empty, "ok:").await;
    let list = api(&s, "/api/v2.0/system/CVEAllowlist").await;
    assert!(ids(&list).is_empty() && list.get("expires_at").is_none());

    // Others may not change it.
    common::create_user(&s, "eve").await;
    let eve = sign_in(&s, "eve", PASSWORD).await;
    let (_, page) = get(&s, &eve, "/projects").await;
    let te = token(&page);
    let form = [
        ("_csrf", te.as_str()),
        ("cves", "CVE-2021-44228"),
        ("expires", ""),
    ];
    expect(&s, &eve, "/admin/allowlist", &form, "err:").await;
    assert!(ids(&api(&s, "/api/v2.0/system/CVEAllowlist").await).is_empty());
}

#[tokio::test]
async fn a_projects_vulnerability_settings_on_its_configuration_tab() {
    let s = TestServer::start().await;
    common::create_project(&s, "pv", false).await;
    common::create_user(&s, "dev").await;
    common::add_member(&s, "pv", "dev", 2).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/projects/pv/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"vulnerability-form\""), "{page}");
    let t = token(&page);

    let form = [
        ("_csrf", t.as_str()),
        ("prevent_vul", "true"),
        ("severity", "high"),
        ("allowlist", "project"),
        ("cves", "CVE-2014-0160\nCVE-2021-44228"),
        ("expires", ""),
    ];
    expect(&s, &admin, "/projects/pv/vulnerability", &form, "ok:").await;
    let p = api(&s, "/api/v2.0/projects/pv").await;
    assert_eq!(p["metadata"]["prevent_vul"], "true");
    assert_eq!(p["metadata"]["severity"], "high");
    assert_eq!(p["metadata"]["reuse_sys_cve_allowlist"], "false");
    assert_eq!(
        ids(&p["cve_allowlist"]),
        ["CVE-2014-0160", "CVE-2021-44228"]
    );
    let (_, page) = get(&s, &admin, "/projects/pv/settings").await;
    assert!(page.contains("<option value=\"high\" selected>"), "{page}");
    assert!(page.contains("CVE-2021-44228"));

    // Off again, the system list in effect; a bad id saves nothing.
    let bad = [
        ("_csrf", t.as_str()),
        ("severity", "low"),
        ("allowlist", "system"),
        ("cves", "not-a-cve!"),
        ("expires", ""),
    ];
    expect(&s, &admin, "/projects/pv/vulnerability", &bad, "err:").await;
    assert_eq!(
        api(&s, "/api/v2.0/projects/pv").await["metadata"],
        p["metadata"]
    );
    let off = [
        ("_csrf", t.as_str()),
        ("severity", "low"),
        ("allowlist", "system"),
        ("cves", ""),
        ("expires", "2020-01-01"),
    ];
    expect(&s, &admin, "/projects/pv/vulnerability", &off, "ok:").await;
    let p = api(&s, "/api/v2.0/projects/pv").await;
    assert_eq!(p["metadata"]["prevent_vul"], "false");
    assert_eq!(p["metadata"]["reuse_sys_cve_allowlist"], "true");
    assert_eq!(p["cve_allowlist"]["expires_at"], 1_577_836_800);

    // A developer sees the values, has no form, and is refused by the API.
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let (_, page) = get(&s, &dev, "/projects/pv/settings").await;
    assert!(page.contains("id=\"vulnerability-view\""), "{page}");
    assert!(!page.contains("id=\"vulnerability-form\""));
    let td = token(&page);
    let form = [
        ("_csrf", td.as_str()),
        ("prevent_vul", "true"),
        ("severity", "critical"),
        ("allowlist", "system"),
        ("cves", ""),
        ("expires", ""),
    ];
    expect(&s, &dev, "/projects/pv/vulnerability", &form, "err:").await;
    assert_eq!(
        api(&s, "/api/v2.0/projects/pv").await["metadata"]["prevent_vul"],
        "false"
    );
}
