use reqwest::StatusCode;

use crate::common::*;

#[tokio::test]
async fn monolithic_push_then_head_and_get() {
    let s = TestServer::start().await;
    let c = client();
    let bytes = data(100_000, 1);
    let digest = sha256(&bytes);
    let resp = c
        .post(s.url(&format!("/v2/r/blobs/uploads/?digest={digest}")))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("/v2/r/blobs/{digest}").as_str())
    );
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );

    let resp = c
        .head(s.url(&format!("/v2/r/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "content-length"), Some("100000"));
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(header(resp.headers(), "accept-ranges"), Some("bytes"));
    assert!(resp.bytes().await.unwrap().is_empty());

    let resp = c
        .get(s.url(&format!("/v2/r/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        header(resp.headers(), "etag"),
        Some(format!("\"{digest}\"").as_str())
    );
    assert_eq!(
        header(resp.headers(), "x-content-type-options"),
        Some("nosniff")
    );
    assert_eq!(resp.bytes().await.unwrap(), bytes);
    assert_eq!(s.staged_uploads().await, 0);
}

#[tokio::test]
async fn large_blob_round_trips() {
    let s = TestServer::start().await;
    let bytes = data(12 * 1024 * 1024 + 7, 9);
    let digest = push_blob(&s, "big", &bytes).await;
    let got = client()
        .get(s.url(&format!("/v2/big/blobs/{digest}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.len(), bytes.len());
    assert_eq!(sha256(&got), digest);
}

#[tokio::test]
async fn ranged_reads() {
    let s = TestServer::start().await;
    let c = client();
    let bytes = data(1_000_000, 2);
    let digest = push_blob(&s, "r", &bytes).await;
    let url = s.url(&format!("/v2/r/blobs/{digest}"));
    for (range, start, end) in [
        ("bytes=0-9", 0usize, 9usize),
        ("bytes=999990-", 999_990, 999_999),
        ("bytes=-100", 999_900, 999_999),
        ("bytes=500000-2000000", 500_000, 999_999),
        ("bytes=300000-700000", 300_000, 700_000),
    ] {
        let resp = c.get(&url).header("range", range).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(resp.headers(), "content-range"),
            Some(format!("bytes {start}-{end}/1000000").as_str()),
            "{range}"
        );
        assert_eq!(
            header(resp.headers(), "content-length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert_eq!(resp.bytes().await.unwrap(), &bytes[start..=end], "{range}");
    }
    for bad in [
        "bytes=1000000-",
        "bytes=2000000-3000000",
        "bytes=10-5",
        "bytes=-0",
        "bytes=a-b",
        "items=0-1",
        "bytes=0-1,5-6",
    ] {
        let resp = c.get(&url).header("range", bad).send().await.unwrap();
        assert_eq!(
            header(resp.headers(), "content-range"),
            Some("bytes */1000000"),
            "{bad}"
        );
        expect_error(resp, StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID").await;
    }
}

#[tokio::test]
async fn empty_and_empty_json_blobs() {
    let s = TestServer::start().await;
    let c = client();
    for bytes in [&b""[..], &b"{}"[..]] {
        let digest = push_blob(&s, "e", bytes).await;
        let resp = c
            .get(s.url(&format!("/v2/e/blobs/{digest}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header(resp.headers(), "content-length"),
            Some(bytes.len().to_string().as_str())
        );
        assert_eq!(resp.bytes().await.unwrap(), bytes);
    }
    let empty = sha256(b"");
    let resp = c
        .get(s.url(&format!("/v2/e/blobs/{empty}")))
        .header("range", "bytes=0-0")
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID").await;
}

#[tokio::test]
async fn sha512_blobs() {
    let s = TestServer::start().await;
    let c = client();
    let bytes = data(70_000, 3);
    let digest = sha512(&bytes);
    let resp = c
        .post(s.url(&format!("/v2/r/blobs/uploads/?digest={digest}")))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = c
        .get(s.url(&format!("/v2/r/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(resp.bytes().await.unwrap(), bytes);
}

#[tokio::test]
async fn unknown_blobs_and_other_repositories() {
    let s = TestServer::start().await;
    let c = client();
    let digest = push_blob(&s, "mine", b"secret layer").await;
    let missing = sha256(b"nothing");
    for (repo, d) in [
        ("mine", &missing),
        ("other", &digest),
        ("nobody/home", &digest),
    ] {
        let resp = c
            .get(s.url(&format!("/v2/{repo}/blobs/{d}")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
        let resp = c
            .head(s.url(&format!("/v2/{repo}/blobs/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(resp.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn malformed_digests_are_rejected() {
    let s = TestServer::start().await;
    let c = client();
    for bad in [
        "sha256:abc",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "foo:bar",
        "nodigest",
    ] {
        let resp = c
            .get(s.url(&format!("/v2/r/blobs/{bad}")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
        let resp = c
            .post(s.url(&format!("/v2/r/blobs/uploads/?digest={bad}")))
            .body("x")
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
        let resp = c
            .delete(s.url(&format!("/v2/r/blobs/{bad}")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    }
}

#[tokio::test]
async fn digest_mismatch_stores_nothing() {
    let s = TestServer::start().await;
    let c = client();
    let claimed = sha256(b"what I say");
    let resp = c
        .post(s.url(&format!("/v2/r/blobs/uploads/?digest={claimed}")))
        .body(data(300_000, 4))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    assert_eq!(body["errors"][0]["detail"]["expected"], claimed.as_str());
    let resp = c
        .head(s.url(&format!("/v2/r/blobs/{claimed}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.staged_uploads().await, 0, "no staging left behind");
}

#[tokio::test]
async fn content_length_mismatch_and_truncated_bodies() {
    let s = TestServer::start().await;
    let bytes = data(5000, 5);
    let digest = sha256(&bytes);
    // The client promises 5000 bytes, sends 2000 and hangs up.
    let mut req = format!(
        "POST /v2/r/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    )
    .into_bytes();
    req.extend_from_slice(&bytes[..2000]);
    let (code, text) = raw_request(s.addr, &req, true).await;
    assert!(code == 400 || code == 0, "{text}");
    let resp = client()
        .head(s.url(&format!("/v2/r/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Give the aborted request's clean-up a moment, then check nothing was left.
    for _ in 0..50 {
        if s.staged_uploads().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(s.staged_uploads().await, 0);
    // A malformed Content-Length never reaches storage.
    let req = format!(
        "POST /v2/r/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\nConnection: close\r\n\r\n"
    );
    let (code, _) = raw_request(s.addr, req.as_bytes(), false).await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn delete_blob_unlinks_it() {
    let s = TestServer::start().await;
    let c = client();
    let digest = push_blob(&s, "a", b"shared").await;
    push_blob(&s, "b", b"shared").await;
    let resp = c
        .delete(s.url(&format!("/v2/a/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = c
        .head(s.url(&format!("/v2/a/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Still served where it is linked.
    let resp = c
        .get(s.url(&format!("/v2/b/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.bytes().await.unwrap(), &b"shared"[..]);
    let resp = c
        .delete(s.url(&format!("/v2/a/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UNKNOWN").await;
}
