//! `skopeo` against a storage quota: a push that does not fit fails with Harbor's
//! "exceed the configured upper limit" message and leaves the usage as it was; after
//! the limit is raised the same push succeeds and is charged exactly.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, client};
use crate::{admin_creds, find_tool, layout, run};

async fn quota(srv: &TestServer, project_id: i64) -> Value {
    let v: Vec<Value> = client()
        .get(srv.url(&format!(
            "/api/v2.0/quotas?reference=project&reference_id={project_id}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v[0].clone()
}

async fn recount(srv: &TestServer, quota_id: i64) -> Value {
    client()
        .post(srv.url(&format!("/api/v2.0/quotas/{quota_id}/recount?dry_run=true")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn skopeo_push_beyond_the_quota_fails_with_harbors_message() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    let srv = TestServer::start().await;
    let resp = client()
        .post(srv.url("/api/v2.0/projects"))
        .json(
            &json!({"project_name": "capped", "metadata": {"public": "false"},
                      "storage_limit": 50_000}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let project_id: i64 = resp.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let quota_id = quota(&srv, project_id).await["id"].as_i64().unwrap();

    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    layout::write(&src, 100_000);
    let copy = vec![
        "copy".to_owned(),
        "--dest-tls-verify=false".to_owned(),
        "--dest-creds".to_owned(),
        admin_creds(),
        format!("oci:{}:v1", src.display()),
        format!("docker://{}/capped/app:v1", srv.addr),
    ];
    let out = run(&skopeo, copy.clone()).await;
    assert!(!out.status.success(), "a push beyond the quota succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("will exceed the configured upper limit of 48.8 KiB"),
        "unclear error: {stderr}"
    );
    let r = recount(&srv, quota_id).await;
    assert_eq!(r["consistent"], true, "{r}");
    assert!(r["recounted"].as_i64().unwrap() <= 50_000, "{r}");

    // Unlimited: the same push goes through, and the usage covers the whole image.
    let resp = client()
        .put(srv.url(&format!("/api/v2.0/quotas/{quota_id}")))
        .json(&json!({"hard": {"storage": -1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let out = run(&skopeo, copy).await;
    assert!(
        out.status.success(),
        "the push failed once the limit was lifted"
    );
    let r = recount(&srv, quota_id).await;
    assert_eq!(r["consistent"], true, "{r}");
    assert!(r["recounted"].as_i64().unwrap() > 100_000, "{r}");
    assert_eq!(
        quota(&srv, project_id).await["used"]["storage"],
        r["recounted"]
    );
}
