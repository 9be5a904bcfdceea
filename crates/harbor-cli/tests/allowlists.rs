//! `harbor allowlist get|set` with the real binary against the real server: the system
//! list (administrators write it), a project's own and which list applies to it, ids
//! normalised, bad ids and expiries refused with their exit codes.

#[path = "../../harbor-server/tests/common/mod.rs"]
mod common;
mod support;

use serde_json::Value;

use common::{ADMIN_PASSWORD, PASSWORD, TestServer, add_member, create_user};
use support::{fails, json, login, ok};

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["cve_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn allowlists_from_the_command_line() {
    let s = TestServer::start().await;
    let admin = tempfile::tempdir().unwrap();
    let h = admin.path();
    login(h, &s.base, "admin", ADMIN_PASSWORD).await;

    let shown = ok(h, &["allowlist", "get"]).await;
    assert!(
        shown.contains("scope:") && shown.contains("system") && shown.contains("none"),
        "{shown}"
    );
    let out = ok(
        h,
        &[
            "allowlist",
            "set",
            "--cve",
            "CVE-2021-44228",
            "--cve",
            "GHSA-jfh8-c2jp-5v3q, cve-2023-1234",
            "--expires",
            "2030-01-01T00:00:00Z",
        ],
    )
    .await;
    assert!(out.contains("3 ids") && out.contains("2030-01-01"), "{out}");
    let list = json(h, &["allowlist", "get"]).await;
    assert_eq!(
        ids(&list),
        ["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", "CVE-2023-1234"]
    );
    assert_eq!(list["expires_at"], 1_893_456_000);
    assert_eq!(list["project_id"], 0);
    let quiet = ok(h, &["allowlist", "get", "-q"]).await;
    assert_eq!(
        quiet.trim(),
        "CVE-2021-44228,GHSA-jfh8-c2jp-5v3q,CVE-2023-1234"
    );
    // An expired list says so.
    ok(
        h,
        &[
            "allowlist",
            "set",
            "--cve",
            "CVE-2021-44228",
            "--expires",
            "1000",
        ],
    )
    .await;
    let shown = ok(h, &["allowlist", "get"]).await;
    assert!(shown.contains("expired"), "{shown}");

    // Refused: a malformed id (the server says why), an expiry the CLI cannot read.
    let err = fails(h, &["allowlist", "set", "--cve", "CVE-21-1"], 1).await;
    assert!(err.contains("CVE-<year>-<number>"), "{err}");
    let err = fails(h, &["allowlist", "set", "--expires", "soon"], 2).await;
    assert!(err.contains("RFC 3339"), "{err}");

    // A project's own list, and which one applies.
    ok(h, &["project", "create", "team"]).await;
    ok(
        h,
        &["allowlist", "set", "-p", "team", "--cve", "CVE-2014-0160"],
    )
    .await;
    let shown = ok(h, &["allowlist", "get", "--project", "team"]).await;
    assert!(
        shown.contains("CVE-2014-0160") && shown.contains("the system list"),
        "{shown}"
    );
    ok(
        h,
        &[
            "project",
            "meta-set",
            "team",
            "reuse_sys_cve_allowlist=false",
        ],
    )
    .await;
    let shown = ok(h, &["allowlist", "get", "--project", "team"]).await;
    assert!(shown.contains("this list"), "{shown}");
    let list = json(h, &["allowlist", "get", "--project", "team"]).await;
    assert_eq!(ids(&list), ["CVE-2014-0160"]);
    assert!(list.get("expires_at").is_none());

    // Others: a developer reads but may not write; nobody but administrators sets the
    // system list.
    create_user(&s, "dev").await;
    add_member(&s, "team", "dev", 2).await;
    let dev = tempfile::tempdir().unwrap();
    login(dev.path(), &s.base, "dev", PASSWORD).await;
    let list = json(dev.path(), &["allowlist", "get", "-p", "team"]).await;
    assert_eq!(ids(&list), ["CVE-2014-0160"]);
    fails(
        dev.path(),
        &["allowlist", "set", "-p", "team", "--cve", "CVE-2014-0160"],
        3,
    )
    .await;
    fails(
        dev.path(),
        &["allowlist", "set", "--cve", "CVE-2014-0160"],
        3,
    )
    .await;
    // Emptied.
    ok(h, &["allowlist", "set", "-p", "team"]).await;
    let list = json(h, &["allowlist", "get", "-p", "team"]).await;
    assert!(ids(&list).is_empty());
}
