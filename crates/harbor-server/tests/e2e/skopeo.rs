//! `skopeo` against the real server: copy in and out, inspect, list tags, delete.

use reqwest::StatusCode;

use crate::common::{TestServer, client, header, sha256};
use crate::{admin_creds, find_tool, layout, run};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn skopeo_round_trip() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    round_trip(&skopeo, &TestServer::start().await).await;
}

#[tokio::test]
async fn skopeo_round_trip_on_postgres_and_s3() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    if let Some(srv) = TestServer::start_scaled().await {
        round_trip(&skopeo, &srv).await;
    }
}

async fn round_trip(skopeo: &str, srv: &TestServer) {
    // Every command signs in as the administrator: skopeo pings /v2/, is challenged to
    // fetch a token, and fetches one from the token service with these credentials.
    let admin = admin_creds();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = layout::write(&src, 6 * 1024 * 1024 + 5);
    let reg = format!("docker://{}", srv.addr);
    let src_ref = |tag: &str| format!("oci:{}:{tag}", src.display());

    // Copy an image in.
    let out = run(
        skopeo,
        s(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &admin,
            &src_ref("v1"),
            &format!("{reg}/e2e/app:v1"),
        ]),
    )
    .await;
    assert!(out.status.success(), "copy in failed");

    // Inspect: the digest and layers are the layout's.
    let out = run(
        skopeo,
        s(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/e2e/app:v1"),
        ]),
    )
    .await;
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["Digest"], made.image.as_str());
    assert_eq!(info["Layers"], serde_json::json!([made.layer]));
    assert_eq!(info["Architecture"], "amd64");

    // Raw manifest bytes are identical to the layout's.
    let out = run(
        skopeo,
        s(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/e2e/app:v1"),
        ]),
    )
    .await;
    assert_eq!(sha256(&out.stdout), made.image);

    // List tags.
    let out = run(
        skopeo,
        s(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &admin,
            &src_ref("v1"),
            &format!("{reg}/e2e/app:v2"),
        ]),
    )
    .await;
    assert!(out.status.success());
    let out = run(
        skopeo,
        s(&[
            "list-tags",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/e2e/app"),
        ]),
    )
    .await;
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v1", "v2"]));

    // Copy back out: the same manifest digest and byte-identical blobs.
    let back = work.path().join("back");
    let out = run(
        skopeo,
        s(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &admin,
            &format!("{reg}/e2e/app:v1"),
            &format!("oci:{}:v1", back.display()),
        ]),
    )
    .await;
    assert!(out.status.success(), "copy out failed");
    assert_eq!(layout::tagged(&back, "v1"), made.image);
    assert_eq!(
        layout::blob(&back, &made.layer),
        layout::blob(&src, &made.layer)
    );

    // A multi-platform index, copied with --all, both ways.
    let out = run(
        skopeo,
        s(&[
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--dest-creds",
            &admin,
            &src_ref("multi"),
            &format!("{reg}/e2e/multi:latest"),
        ]),
    )
    .await;
    assert!(out.status.success());
    let out = run(
        skopeo,
        s(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/e2e/multi:latest"),
        ]),
    )
    .await;
    assert_eq!(sha256(&out.stdout), made.index);
    let out = run(
        skopeo,
        s(&[
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--src-creds",
            &admin,
            &format!("{reg}/e2e/multi:latest"),
            &format!("oci:{}:multi", back.display()),
        ]),
    )
    .await;
    assert!(out.status.success());
    assert_eq!(layout::tagged(&back, "multi"), made.index);

    // Registry to registry (cross-repository mount on the way).
    let out = run(
        skopeo,
        s(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &admin,
            "--dest-tls-verify=false",
            "--dest-creds",
            &admin,
            &format!("{reg}/e2e/app:v1"),
            &format!("{reg}/e2e/copy:v1"),
        ]),
    )
    .await;
    assert!(out.status.success());
    let resp = client()
        .head(srv.url("/v2/e2e/copy/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(made.image.as_str())
    );

    // Delete, then it is gone (by digest, so both tags go).
    let out = run(
        skopeo,
        s(&[
            "delete",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/e2e/app:v1"),
        ]),
    )
    .await;
    assert!(out.status.success(), "delete failed");
    let out = run(
        skopeo,
        s(&[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &admin,
            &format!("{reg}/e2e/app:v1"),
        ]),
    )
    .await;
    assert!(!out.status.success(), "inspect after delete must fail");
    let resp = client()
        .get(srv.url("/v2/e2e/app/manifests/v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(srv.staged_uploads().await, 0);
}
