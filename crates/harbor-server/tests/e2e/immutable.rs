//! `skopeo` against tag immutability rules: overwriting or deleting an immutable tag
//! fails with the registry's `PRECONDITION` message; re-pushing the same image works.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestServer, client};
use crate::{admin_creds, find_tool, layout, run};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn skopeo_cannot_overwrite_an_immutable_tag() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    let srv = TestServer::start().await;
    let admin = admin_creds();
    let resp = client()
        .post(srv.url("/api/v2.0/projects"))
        .json(&json!({"project_name": "locked", "metadata": {"public": "false"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);

    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = layout::write(&src, 100_000);
    let reg = format!("docker://{}", srv.addr);
    let copy = |from: &str| {
        s(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &admin,
            &format!("oci:{}:{from}", src.display()),
            &format!("{reg}/locked/app:v1"),
        ])
    };
    let out = run(&skopeo, copy("v1")).await;
    assert!(out.status.success(), "first push failed");

    let resp = client()
        .post(srv.url("/api/v2.0/projects/locked/immutabletagrules"))
        .json(&json!({
            "action": "immutable", "template": "immutable_template",
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [
                {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
            ]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Another image over v1: refused, with the registry's message.
    let out = run(&skopeo, copy("multi")).await;
    assert!(
        !out.status.success(),
        "overwriting an immutable tag succeeded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'app:v1' configured as immutable"),
        "unclear error: {stderr}"
    );
    // The same image again: allowed.
    let out = run(&skopeo, copy("v1")).await;
    assert!(out.status.success(), "re-pushing the same image failed");
    // Deleting it: refused.
    let out = run(
        &skopeo,
        s(&[
            "delete",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/locked/app:v1"),
        ]),
    )
    .await;
    assert!(!out.status.success(), "deleting an immutable tag succeeded");
    assert!(String::from_utf8_lossy(&out.stderr).contains("configured as immutable"));
    // v1 still names the first image.
    let out = run(
        &skopeo,
        s(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/locked/app:v1"),
        ]),
    )
    .await;
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["Digest"], made.image.as_str());
}
