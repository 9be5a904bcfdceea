//! The `oras` Python SDK against the real server, logged in as the administrator (through
//! the token flow): push/pull a file artifact, a chunked push, and a referrer discovered
//! through the referrers API.

use crate::common::{ADMIN_PASSWORD, OCI_INDEX, TestServer, client};
use crate::{find_tool, run};

pub(crate) fn python() -> Option<String> {
    find_tool(
        "HARBOR_TEST_PYTHON",
        "python3",
        &["-c", "import oras.client"],
    )
}

#[tokio::test]
async fn oras_push_pull_and_referrers() {
    if let Some(python) = python() {
        push_pull_and_referrers(&python, &TestServer::start().await).await;
    }
}

#[tokio::test]
async fn oras_on_postgres_and_s3() {
    let Some(python) = python() else { return };
    if let Some(srv) = TestServer::start_scaled().await {
        push_pull_and_referrers(&python, &srv).await;
    }
}

async fn push_pull_and_referrers(python: &str, srv: &TestServer) {
    let work = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/oras_roundtrip.py");
    let out = run(
        python,
        vec![
            script.to_owned(),
            srv.addr.to_string(),
            work.path().display().to_string(),
            "admin".to_owned(),
            ADMIN_PASSWORD.to_owned(),
        ],
    )
    .await;
    assert!(out.status.success(), "oras script failed");
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let r: serde_json::Value = serde_json::from_str(&last).expect("script prints JSON last");
    assert_eq!(r["login"]["Status"], "Login Succeeded");
    assert_eq!(r["push_status"], 201);
    assert_eq!(r["pulled_files"], serde_json::json!(["artifact.txt"]));
    assert_eq!(r["pulled_matches"], true);
    assert_eq!(r["tags"], serde_json::json!(["v1"]));
    assert_eq!(r["chunked_push_status"], 201);
    assert_eq!(r["chunked_pulled_matches"], true);
    assert_eq!(r["subject_status"], 200);
    assert_eq!(r["referrer_push_status"], 201);
    assert_eq!(r["referrer_oci_subject"], r["subject_digest"]);
    assert_eq!(r["discover_status"], 200);
    assert_eq!(r["discover_content_type"], OCI_INDEX);
    assert_eq!(r["discovered"], serde_json::json!([r["referrer_digest"]]));
    assert_eq!(
        r["discovered_annotations"][0]["org.example.kind"],
        "signature"
    );
    assert_eq!(
        r["anonymous_status"], 401,
        "the registry is closed by default"
    );
    assert_eq!(
        r["anonymous_challenge"],
        format!(
            "Bearer realm=\"http://{}/service/token\",service=\"harbor-registry\",\
             scope=\"repository:e2e/oras:pull\"",
            srv.addr
        )
    );

    // The registry's own view agrees: the chunked blob is there, byte for byte.
    let big = r["big_digest"].as_str().unwrap();
    let resp = client()
        .head(srv.url(&format!("/v2/e2e/oras/blobs/{big}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tags: serde_json::Value = client()
        .get(srv.url("/v2/e2e/oras/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["big", "sig", "v1"]));
}
