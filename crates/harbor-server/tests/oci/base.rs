use reqwest::StatusCode;

use crate::common::*;

#[tokio::test]
async fn version_check_answers_with_api_version() {
    let s = TestServer::start().await;
    for path in ["/v2/", "/v2"] {
        let resp = client().get(s.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header(resp.headers(), "docker-distribution-api-version"),
            Some("registry/2.0")
        );
        assert!(header(resp.headers(), "x-request-id").is_some());
        assert_eq!(resp.text().await.unwrap(), "{}");
    }
    let resp = client().head(s.url("/v2/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn request_ids_are_propagated() {
    let s = TestServer::start().await;
    let resp = client()
        .get(s.url("/v2/"))
        .header("x-request-id", "my-trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(header(resp.headers(), "x-request-id"), Some("my-trace-123"));
}

#[tokio::test]
async fn unknown_endpoints_and_methods_get_oci_errors() {
    let s = TestServer::start().await;
    let c = client();
    let resp = c.get(s.url("/v2/foo/bar/baz")).send().await.unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "UNSUPPORTED").await;
    let resp = c.post(s.url("/v2/")).send().await.unwrap();
    expect_error(resp, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let resp = c
        .post(s.url("/v2/a/manifests/latest"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let resp = c.put(s.url("/v2/a/blobs/sha256:00")).send().await.unwrap();
    expect_error(resp, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
    let resp = c.delete(s.url("/v2/_catalog")).send().await.unwrap();
    expect_error(resp, StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED").await;
}

#[tokio::test]
async fn invalid_repository_names_are_rejected() {
    let s = TestServer::start().await;
    let long = "a".repeat(300);
    for bad in [
        "UPPER/case",
        "a//b",
        "a/-b",
        "a__-b",
        long.as_str(),
        "a..b",
        "a%2Fb",
    ] {
        let resp = client()
            .get(s.url(&format!("/v2/{bad}/tags/list")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
        let resp = client()
            .post(s.url(&format!("/v2/{bad}/blobs/uploads/")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
    }
    // Path tricks that HTTP clients would normalise away, sent raw.
    for path in [
        "/v2/../x/tags/list",
        "/v2/x/../../etc/manifests/latest",
        "/v2/./x/tags/list",
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (code, text) = raw_request(s.addr, req.as_bytes(), false).await;
        assert_eq!(code, 400, "{path}: {text}");
        assert!(text.contains("NAME_INVALID"), "{path}: {text}");
    }
    assert_eq!(s.staged_uploads().await, 0);
}

#[tokio::test]
async fn multi_segment_names_work() {
    let s = TestServer::start().await;
    let repo = "a/b/c/d";
    let (digest, body) = push_image(&s, repo, "latest", 1).await;
    let resp = client()
        .get(s.url(&format!("/v2/{repo}/manifests/latest")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(resp.bytes().await.unwrap(), body);
    // A name whose segments look like endpoint keywords.
    let tricky = "x/manifests/blobs/uploads";
    push_image(&s, tricky, "v1", 2).await;
    let resp = client()
        .get(s.url(&format!("/v2/{tricky}/tags/list")))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["name"], tricky);
    assert_eq!(body["tags"], serde_json::json!(["v1"]));
}

/// The value of one sample line in an OpenMetrics exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_bytes_and_connections() {
    let s = TestServer::start().await;
    let bytes = data(300_000, 3);
    let digest = push_blob(&s, "m", &bytes).await;
    for _ in 0..2 {
        let got = client()
            .get(s.url(&format!("/v2/m/blobs/{digest}")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.len(), bytes.len());
    }
    client()
        .get(s.url("/v2/m/manifests/nope"))
        .send()
        .await
        .unwrap();
    let resp = client().get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        header(resp.headers(), "content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    let get =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(
        get(r#"harbor_http_requests_total{route="blob",method="GET",status="200"}"#),
        2.0
    );
    assert_eq!(
        get(r#"harbor_http_requests_total{route="upload_start",method="POST",status="201"}"#),
        1.0
    );
    assert_eq!(
        get(r#"harbor_http_requests_total{route="manifest",method="GET",status="404"}"#),
        1.0
    );
    assert_eq!(get("harbor_blob_bytes_pushed_total"), bytes.len() as f64);
    assert_eq!(
        get("harbor_blob_bytes_pulled_total"),
        2.0 * bytes.len() as f64
    );
    assert_eq!(get("harbor_uploads_in_flight"), 0.0);
    assert!(get(r#"harbor_http_request_duration_seconds_count{route="blob",method="GET"}"#) >= 2.0);
    assert!(text.contains("harbor_db_connections{"), "{text}");
    // Repository names never become labels.
    assert!(!text.contains("\"m\""));
}
