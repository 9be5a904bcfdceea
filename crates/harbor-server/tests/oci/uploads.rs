use reqwest::StatusCode;

use crate::common::*;

/// Starts an upload; returns its Location.
async fn start(s: &TestServer, repo: &str) -> String {
    let resp = client()
        .post(s.url(&format!("/v2/{repo}/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let h = resp.headers();
    assert_eq!(header(h, "range"), Some("0-0"));
    assert_eq!(header(h, "content-length"), Some("0"));
    assert!(header(h, "oci-chunk-min-length").is_some());
    let loc = header(h, "location").unwrap().to_owned();
    let id = header(h, "docker-upload-uuid").unwrap();
    assert_eq!(loc, format!("/v2/{repo}/blobs/uploads/{id}"));
    loc
}

async fn patch(s: &TestServer, loc: &str, range: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut req = client()
        .patch(s.url(loc))
        .header("content-type", "application/octet-stream");
    if let Some(r) = range {
        req = req.header("content-range", r);
    }
    req.body(body).send().await.unwrap()
}

async fn get_blob(s: &TestServer, repo: &str, digest: &str) -> Vec<u8> {
    let resp = client()
        .get(s.url(&format!("/v2/{repo}/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

/// Completes an upload with an empty PUT and checks the blob is the expected bytes.
async fn complete_and_verify(s: &TestServer, loc: &str, repo: &str, bytes: &[u8]) {
    let digest = sha256(bytes);
    let resp = client()
        .put(s.url(&format!("{loc}?digest={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(get_blob(s, repo, &digest).await, bytes);
}

#[tokio::test]
async fn post_then_put_with_whole_body() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let bytes = data(40_000, 1);
    let digest = sha256(&bytes);
    let resp = client()
        .put(s.url(&format!("{loc}?digest={digest}")))
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
    assert_eq!(get_blob(&s, "r", &digest).await, bytes);
    // The session is gone.
    let resp = client().get(s.url(&loc)).send().await.unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    assert_eq!(s.staged_uploads().await, 0);
}

#[tokio::test]
async fn streamed_patch_then_empty_put() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let bytes = data(3 * 1024 * 1024 + 11, 2);
    let resp = patch(&s, &loc, None, bytes.clone()).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        header(resp.headers(), "range"),
        Some(format!("0-{}", bytes.len() - 1).as_str())
    );
    assert_eq!(header(resp.headers(), "location"), Some(loc.as_str()));
    let digest = sha256(&bytes);
    let resp = client()
        .put(s.url(&format!("{loc}?digest={digest}")))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(get_blob(&s, "r", &digest).await, bytes);
}

#[tokio::test]
async fn chunked_upload_with_content_range_and_last_chunk_in_put() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let bytes = data(1_000_000, 3);
    let chunks = [
        (0usize, 300_000usize),
        (300_000, 650_000),
        (650_000, 900_000),
    ];
    for (a, b) in chunks {
        let resp = patch(
            &s,
            &loc,
            Some(&format!("{a}-{}", b - 1)),
            bytes[a..b].to_vec(),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        assert_eq!(
            header(resp.headers(), "range"),
            Some(format!("0-{}", b - 1).as_str())
        );
        // Status agrees.
        let st = client().get(s.url(&loc)).send().await.unwrap();
        assert_eq!(st.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            header(st.headers(), "range"),
            Some(format!("0-{}", b - 1).as_str())
        );
        assert_eq!(header(st.headers(), "location"), Some(loc.as_str()));
    }
    let digest = sha256(&bytes);
    let resp = client()
        .put(s.url(&format!("{loc}?digest={digest}")))
        .header("content-range", "900000-999999")
        .body(bytes[900_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(get_blob(&s, "r", &digest).await, bytes);
}

#[tokio::test]
async fn out_of_order_and_repeated_chunks_get_416() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let bytes = data(2000, 4);
    assert_eq!(
        patch(&s, &loc, Some("0-999"), bytes[..1000].to_vec())
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    for (range, body) in [
        ("0-999", bytes[..1000].to_vec()),       // repeated
        ("1500-1999", bytes[1500..].to_vec()),   // gap
        ("500-1499", bytes[500..1500].to_vec()), // overlap
    ] {
        let resp = patch(&s, &loc, Some(range), body).await;
        assert_eq!(header(resp.headers(), "range"), Some("0-999"), "{range}");
        expect_error(
            resp,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
        )
        .await;
    }
    // The right chunk still fits.
    let resp = patch(&s, &loc, Some("1000-1999"), bytes[1000..].to_vec()).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    complete_and_verify(&s, &loc, "r", &bytes).await;
}

#[tokio::test]
async fn content_range_must_match_content_length() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let resp = patch(&s, &loc, Some("0-9"), vec![1u8; 5]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "SIZE_INVALID").await;
    let resp = patch(&s, &loc, Some("garbage"), vec![1u8; 5]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID").await;
    let resp = patch(&s, &loc, Some("9-0"), vec![1u8; 5]).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID").await;
    // Nothing was accepted.
    let st = client().get(s.url(&loc)).send().await.unwrap();
    assert_eq!(header(st.headers(), "range"), Some("0-0"));
}

#[tokio::test]
async fn truncated_chunk_leaves_the_upload_resumable() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let bytes = data(300_000, 5);
    assert_eq!(
        patch(&s, &loc, Some("0-99999"), bytes[..100_000].to_vec())
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    // Promise 100000 bytes, send 40000, hang up.
    let mut req = format!(
        "PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Range: 100000-199999\r\nContent-Length: 100000\r\n\r\n"
    )
    .into_bytes();
    req.extend_from_slice(&bytes[100_000..140_000]);
    let (code, text) = raw_request(s.addr, &req, true).await;
    assert!(code == 400 || code == 0, "{text}");
    // The session still holds exactly the first chunk (possibly after the lease is freed).
    let mut ok = false;
    for _ in 0..100 {
        let resp = patch(&s, &loc, Some("100000-299999"), bytes[100_000..].to_vec()).await;
        if resp.status() == StatusCode::ACCEPTED {
            ok = true;
            break;
        }
        assert_eq!(
            resp.status(),
            StatusCode::CONFLICT,
            "only a held lease may delay us"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ok);
    complete_and_verify(&s, &loc, "r", &bytes).await;
}

#[tokio::test]
async fn cancel_upload() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    patch(&s, &loc, None, data(1000, 6)).await;
    let resp = client().delete(s.url(&loc)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = client().get(s.url(&loc)).send().await.unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    let resp = client().delete(s.url(&loc)).send().await.unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    assert_eq!(s.staged_uploads().await, 0);
}

#[tokio::test]
async fn unknown_and_foreign_upload_ids() {
    let s = TestServer::start().await;
    let loc = start(&s, "mine").await;
    let id = loc.rsplit('/').next().unwrap();
    let c = client();
    for path in [
        "/v2/mine/blobs/uploads/00000000000000000000000000000000".to_string(),
        "/v2/mine/blobs/uploads/not..valid".to_string(),
        format!("/v2/other/blobs/uploads/{id}"),
    ] {
        let resp = c.get(s.url(&path)).send().await.unwrap();
        expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
        let resp = c.patch(s.url(&path)).body("x").send().await.unwrap();
        expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
        let resp = c
            .put(s.url(&format!("{path}?digest={}", sha256(b"x"))))
            .body("x")
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    }
    // The real session is unaffected.
    let resp = c.get(s.url(&loc)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn completing_with_a_wrong_or_missing_digest() {
    let s = TestServer::start().await;
    let c = client();
    let loc = start(&s, "r").await;
    patch(&s, &loc, None, data(5000, 7)).await;
    let resp = c.put(s.url(&loc)).send().await.unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let resp = c
        .put(s.url(&format!("{loc}?digest=sha256:nope")))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    // Still there after malformed attempts; a wrong digest discards it.
    assert_eq!(
        c.get(s.url(&loc)).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let wrong = sha256(b"something else");
    let resp = c
        .put(s.url(&format!("{loc}?digest={wrong}")))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let resp = c
        .head(s.url(&format!("/v2/r/blobs/{wrong}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = c.get(s.url(&loc)).send().await.unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    assert_eq!(s.staged_uploads().await, 0);
}

#[tokio::test]
async fn chunked_upload_with_sha512_digest() {
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let bytes = data(600_000, 8);
    patch(&s, &loc, Some("0-299999"), bytes[..300_000].to_vec()).await;
    patch(&s, &loc, Some("300000-599999"), bytes[300_000..].to_vec()).await;
    let digest = sha512(&bytes);
    let resp = client()
        .put(s.url(&format!("{loc}?digest={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(get_blob(&s, "r", &digest).await, bytes);
}

#[tokio::test]
async fn cross_repository_mount() {
    let s = TestServer::start().await;
    let c = client();
    let digest = push_blob(&s, "source/repo", b"a shared layer").await;
    // From a repository holding it: mounted.
    let resp = c
        .post(s.url(&format!(
            "/v2/dest/blobs/uploads/?mount={digest}&from=source/repo"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("/v2/dest/blobs/{digest}").as_str())
    );
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    assert_eq!(get_blob(&s, "dest", &digest).await, b"a shared layer");
    // From a repository without it: an ordinary upload session instead.
    let resp = c
        .post(s.url(&format!(
            "/v2/dest2/blobs/uploads/?mount={digest}&from=empty/repo"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(
        header(resp.headers(), "location")
            .unwrap()
            .starts_with("/v2/dest2/blobs/uploads/")
    );
    let resp = c
        .head(s.url(&format!("/v2/dest2/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Without `from`: mounted when the registry holds the blob.
    let resp = c
        .post(s.url(&format!("/v2/dest3/blobs/uploads/?mount={digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    // An unknown blob: a session.
    let unknown = sha256(b"never pushed");
    let resp = c
        .post(s.url(&format!(
            "/v2/dest3/blobs/uploads/?mount={unknown}&from=source/repo"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // Malformed mount parameters.
    let resp = c
        .post(s.url("/v2/dest/blobs/uploads/?mount=sha256:xyz&from=source/repo"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let resp = c
        .post(s.url(&format!(
            "/v2/dest/blobs/uploads/?mount={digest}&from=Bad/Name"
        )))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
}

#[tokio::test]
async fn upload_resumes_after_a_restart() {
    let bytes = data(2_000_000, 9);
    let s = TestServer::start().await;
    let loc = start(&s, "r").await;
    let resp = patch(&s, &loc, Some("0-1199999"), bytes[..1_200_000].to_vec()).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let s = s.restart().await;

    // The old URL keeps working and reports the progress made before the restart.
    let st = client().get(s.url(&loc)).send().await.unwrap();
    assert_eq!(st.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(st.headers(), "range"), Some("0-1199999"));
    let resp = patch(
        &s,
        &loc,
        Some("1200000-1999999"),
        bytes[1_200_000..].to_vec(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    complete_and_verify(&s, &loc, "r", &bytes).await;
}

#[tokio::test]
async fn concurrent_pushes_of_one_blob_agree() {
    let s = TestServer::start().await;
    let bytes = data(2_000_000, 10);
    let digest = sha256(&bytes);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (url, bytes, digest) = (s.base.clone(), bytes.clone(), digest.clone());
        tasks.push(tokio::spawn(async move {
            let c = client();
            if i % 2 == 0 {
                c.post(format!("{url}/v2/r/blobs/uploads/?digest={digest}"))
                    .body(bytes)
                    .send()
                    .await
                    .unwrap()
                    .status()
            } else {
                let resp = c
                    .post(format!("{url}/v2/r/blobs/uploads/"))
                    .send()
                    .await
                    .unwrap();
                let loc = header(resp.headers(), "location").unwrap().to_owned();
                let half = bytes.len() / 2;
                c.patch(format!("{url}{loc}"))
                    .body(bytes[..half].to_vec())
                    .send()
                    .await
                    .unwrap();
                c.put(format!("{url}{loc}?digest={digest}"))
                    .body(bytes[half..].to_vec())
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(get_blob(&s, "r", &digest).await, bytes);
    assert_eq!(s.staged_uploads().await, 0);
}

/// Sends `method path` with `headers` and a `body` over a plain socket, writing all of it
/// before reading the answer, as Go's HTTP client does; returns the status line, or the
/// error that cut the exchange (a server that answers early and closes resets it).
async fn send_whole(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<String, std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(s.addr).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        s.addr,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).await?;
    c.write_all(body).await?;
    let mut buf = vec![0u8; 4096];
    let n = c.read(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// Early errors on large bodies (an out-of-order PATCH or final PUT chunk, with sha256
/// and sha512 digests; a push by a caller who may not push) are answered after the body
/// has been read, so a client that writes its whole body before reading gets the error
/// and not a reset connection (the OCI conformance suite's out-of-order tests failed
/// with `broken pipe` on S3).
#[tokio::test]
async fn early_errors_are_answered_after_large_bodies() {
    let s = TestServer::start().await;
    let big = data(16 << 20, 9);
    let auth = basic("admin", ADMIN_PASSWORD);
    for algorithm in ["sha256", "sha512"] {
        let loc = start(&s, "r").await;
        let resp = patch(&s, &loc, Some("0-999"), big[..1000].to_vec()).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let digest = if algorithm == "sha256" {
            sha256(&big)
        } else {
            sha512(&big)
        };
        for _ in 0..3 {
            // A PATCH that starts past the end.
            let range = format!("5000-{}", 5000 + big.len() - 1);
            let line = send_whole(
                &s,
                "PATCH",
                &loc,
                &[("Authorization", &auth), ("Content-Range", &range)],
                &big,
            )
            .await
            .expect("an answer, not a reset connection");
            assert!(line.contains(" 416 "), "{line}");
            // A final PUT chunk that starts past the end.
            let range = format!("7000-{}", 7000 + big.len() - 1);
            let line = send_whole(
                &s,
                "PUT",
                &format!("{loc}?digest={digest}"),
                &[("Authorization", &auth), ("Content-Range", &range)],
                &big,
            )
            .await
            .expect("an answer, not a reset connection");
            assert!(line.contains(" 416 "), "{line}");
        }
        // The upload is intact and continues where it was.
        let st = client().get(s.url(&loc)).send().await.unwrap();
        assert_eq!(header(st.headers(), "range"), Some("0-999"));
    }
    // A push without the right to push, with a large body.
    let zero = format!("sha256:{}", "0".repeat(64));
    let line = send_whole(
        &s,
        "POST",
        &format!("/v2/r/blobs/uploads/?digest={zero}"),
        &[],
        &big,
    )
    .await
    .expect("an answer, not a reset connection");
    assert!(line.contains(" 401 "), "{line}");
}
