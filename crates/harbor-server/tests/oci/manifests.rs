use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

async fn get(s: &TestServer, repo: &str, reference: &str) -> reqwest::Response {
    client()
        .get(s.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header(
            "accept",
            format!("{OCI_MANIFEST}, {OCI_INDEX}, {DOCKER_MANIFEST}, {DOCKER_LIST}"),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn push_by_tag_then_get_and_head() {
    let s = TestServer::start().await;
    let (m, _, _) = push_image_blobs(&s, "r", 1).await;
    let digest = sha256(&m);
    let resp = put_manifest(&s, "r", "v1", OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("/v2/r/manifests/{digest}").as_str())
    );
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    assert!(header(resp.headers(), "oci-subject").is_none());

    for reference in ["v1", digest.as_str()] {
        let resp = get(&s, "r", reference).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(header(h, "content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            header(h, "content-length"),
            Some(m.len().to_string().as_str())
        );
        assert_eq!(header(h, "docker-content-digest"), Some(digest.as_str()));
        assert_eq!(header(h, "etag"), Some(format!("\"{digest}\"").as_str()));
        assert_eq!(resp.bytes().await.unwrap(), m);

        let resp = client()
            .head(s.url(&format!("/v2/r/manifests/{reference}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header(resp.headers(), "content-length"),
            Some(m.len().to_string().as_str())
        );
        assert_eq!(header(resp.headers(), "content-type"), Some(OCI_MANIFEST));
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    let resp = client()
        .get(s.url("/v2/r/manifests/v1"))
        .header("if-none-match", format!("\"{digest}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert!(resp.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn manifest_bytes_are_stored_verbatim() {
    let s = TestServer::start().await;
    let (_, cd, ld) = push_image_blobs(&s, "r", 2).await;
    // Odd spacing, key order, a descriptor `data` field and custom fields.
    let body = format!(
        "{{\n  \"mediaType\" : \"{OCI_MANIFEST}\",\"schemaVersion\":2,\n\t\"config\":{{\"mediaType\":\"{OCI_CONFIG}\",\"digest\":\"{cd}\",\"size\":10,\"data\":\"eyJzZWVkIjoyfQ==\"}},\
         \"layers\":[{{\"mediaType\":\"{OCI_LAYER}\",\"digest\":\"{ld}\",\"size\":1002,\"x-custom\":[1,2,3]}}],\
         \"vendor.field\":{{\"nested\":true}}}}   \n"
    );
    let resp = put_manifest(&s, "r", "odd", OCI_MANIFEST, body.as_bytes()).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = get(&s, "r", "odd").await;
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(sha256(body.as_bytes()).as_str())
    );
    assert_eq!(resp.bytes().await.unwrap(), body.as_bytes());
}

#[tokio::test]
async fn push_by_digest_and_extra_tags() {
    let s = TestServer::start().await;
    let (m, _, _) = push_image_blobs(&s, "r", 3).await;
    let digest = sha256(&m);
    let resp = put_manifest(&s, "r", &sha256(b"not it"), OCI_MANIFEST, &m).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    let resp = put_manifest(&s, "r", &format!("{digest}?tag=a&tag=b"), OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let tags: Vec<&str> = resp
        .headers()
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(tags, ["a", "b"]);
    for t in ["a", "b", digest.as_str()] {
        assert_eq!(get(&s, "r", t).await.status(), StatusCode::OK, "{t}");
    }
    let resp = put_manifest(&s, "r", &format!("{digest}?tag=bad:tag"), OCI_MANIFEST, &m).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "TAG_INVALID").await;
}

#[tokio::test]
async fn sha512_manifest_reference() {
    let s = TestServer::start().await;
    let (m, _, _) = push_image_blobs(&s, "r", 4).await;
    let digest = sha512(&m);
    let resp = put_manifest(&s, "r", &digest, OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    let resp = get(&s, "r", &digest).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap(), m);
}

#[tokio::test]
async fn invalid_manifests_are_rejected_and_leave_nothing() {
    let s = TestServer::start().await;
    let (m, cd, ld) = push_image_blobs(&s, "r", 5).await;
    let schema1 = br#"{"schemaVersion":1,"name":"r","tag":"t","architecture":"amd64","fsLayers":[],"history":[]}"#;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (OCI_MANIFEST, b"this is not json".to_vec()),
        (OCI_MANIFEST, b"{\"schemaVersion\":2".to_vec()),
        (OCI_INDEX, m.clone()),
        (
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            schema1.to_vec(),
        ),
        (
            "application/vnd.docker.distribution.manifest.v1+json",
            schema1.to_vec(),
        ),
        (
            OCI_MANIFEST,
            String::from_utf8(m.clone())
                .unwrap()
                .replace("\"schemaVersion\":2", "\"schemaVersion\":3")
                .into_bytes(),
        ),
        (
            OCI_MANIFEST,
            String::from_utf8(m.clone())
                .unwrap()
                .replace(&ld, "sha256:1234")
                .into_bytes(),
        ),
        ("text/plain", m.clone()),
        (
            OCI_MANIFEST,
            serde_json::to_vec(&json!({"schemaVersion":2,"mediaType":OCI_MANIFEST,"layers":[]}))
                .unwrap(),
        ),
    ];
    for (ct, body) in cases {
        let resp = put_manifest(&s, "r", "bad", ct, &body).await;
        expect_error(resp, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    }
    assert_eq!(get(&s, "r", "bad").await.status(), StatusCode::NOT_FOUND);
    // The blobs it would have used are untouched.
    for d in [&cd, &ld] {
        let resp = client()
            .head(s.url(&format!("/v2/r/blobs/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    // Invalid tags.
    for tag in [".hidden", "-dash", &"t".repeat(129)] {
        let resp = put_manifest(&s, "r", tag, OCI_MANIFEST, &m).await;
        expect_error(resp, StatusCode::BAD_REQUEST, "TAG_INVALID").await;
    }
}

#[tokio::test]
async fn content_type_may_be_omitted_when_the_body_says_it() {
    let s = TestServer::start().await;
    let (m, _, _) = push_image_blobs(&s, "r", 6).await;
    let resp = client()
        .put(s.url("/v2/r/manifests/noct"))
        .body(m.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = get(&s, "r", "noct").await;
    assert_eq!(header(resp.headers(), "content-type"), Some(OCI_MANIFEST));
}

#[tokio::test]
async fn referenced_content_must_exist() {
    let s = TestServer::start().await;
    let (_, cd, ld) = push_image_blobs(&s, "r", 7).await;
    let missing = sha256(b"missing layer");
    // Missing layer, missing config.
    for m in [
        image_manifest((&cd, 10), &[(&ld, 1007), (&missing, 13)]),
        image_manifest((&missing, 13), &[(&ld, 1007)]),
    ] {
        let resp = put_manifest(&s, "r", "t", OCI_MANIFEST, &m).await;
        let body = expect_error(resp, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
        assert_eq!(body["errors"][0]["detail"]["digest"], missing.as_str());
    }
    // A blob linked only to another repository does not count.
    let elsewhere = push_blob(&s, "other", b"elsewhere").await;
    let m = image_manifest((&cd, 10), &[(&elsewhere, 9)]);
    let resp = put_manifest(&s, "r", "t", OCI_MANIFEST, &m).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
    assert_eq!(get(&s, "r", "t").await.status(), StatusCode::NOT_FOUND);
    // Index children must be manifests of this repository.
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": missing, "size": 13}]
    }))
    .unwrap();
    let resp = put_manifest(&s, "r", "idx", OCI_INDEX, &index).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
    // Non-distributable layers and a missing subject are fine.
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": 10},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             "digest": missing, "size": 13, "urls": ["https://example.com/layer"]}
        ],
        "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(b"future subject"), "size": 20}
    }))
    .unwrap();
    let resp = put_manifest(&s, "r", "foreign", OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "oci-subject"),
        Some(sha256(b"future subject").as_str())
    );
}

#[tokio::test]
async fn image_index_and_docker_formats() {
    let s = TestServer::start().await;
    let (amd, _) = push_image(&s, "multi", "amd64", 8).await;
    let (arm, _) = push_image(&s, "multi", "arm64", 9).await;
    let amd_len = get(&s, "multi", &amd).await.bytes().await.unwrap().len();
    let arm_len = get(&s, "multi", &arm).await.bytes().await.unwrap().len();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_len, "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm, "size": arm_len, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}
        ]
    }))
    .unwrap();
    assert_eq!(
        put_manifest(&s, "multi", "latest", OCI_INDEX, &index)
            .await
            .status(),
        StatusCode::CREATED
    );
    let resp = get(&s, "multi", "latest").await;
    assert_eq!(header(resp.headers(), "content-type"), Some(OCI_INDEX));
    assert_eq!(resp.bytes().await.unwrap(), index);

    // Docker schema 2 and a Docker manifest list.
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let layer = data(2048, 10);
    let cd = push_blob(&s, "docker", config).await;
    let ld = push_blob(&s, "docker", &layer).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "digest": cd, "size": config.len()},
        "layers": [{"mediaType": DOCKER_LAYER, "digest": ld, "size": layer.len()}]
    }))
    .unwrap();
    assert_eq!(
        put_manifest(&s, "docker", "v2", DOCKER_MANIFEST, &m)
            .await
            .status(),
        StatusCode::CREATED
    );
    let list = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": DOCKER_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": sha256(&m), "size": m.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    }))
    .unwrap();
    assert_eq!(
        put_manifest(&s, "docker", "list", DOCKER_LIST, &list)
            .await
            .status(),
        StatusCode::CREATED
    );
    let resp = get(&s, "docker", "list").await;
    assert_eq!(header(resp.headers(), "content-type"), Some(DOCKER_LIST));
    assert_eq!(resp.bytes().await.unwrap(), list);
    let resp = get(&s, "docker", "v2").await;
    assert_eq!(
        header(resp.headers(), "content-type"),
        Some(DOCKER_MANIFEST)
    );
}

#[tokio::test]
async fn oversized_manifests_get_413() {
    let s = TestServer::start().await;
    let (m, _, _) = push_image_blobs(&s, "r", 11).await;
    let mut v: serde_json::Value = serde_json::from_slice(&m).unwrap();
    v["annotations"] = json!({ "padding": "x".repeat(4 * 1024 * 1024) });
    let big = serde_json::to_vec(&v).unwrap();
    let resp = put_manifest(&s, "r", "big", OCI_MANIFEST, &big).await;
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID").await;
    // Without Content-Length (chunked transfer encoding) too.
    let stream = futures::stream::iter(
        big.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let resp = client()
        .put(s.url("/v2/r/manifests/big"))
        .header("content-type", OCI_MANIFEST)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID").await;
    assert_eq!(get(&s, "r", "big").await.status(), StatusCode::NOT_FOUND);
    // Just under the limit is fine.
    v["annotations"] = json!({ "padding": "x".repeat(4 * 1024 * 1024 - m.len() - 64) });
    let ok = serde_json::to_vec(&v).unwrap();
    assert!(ok.len() <= 4 * 1024 * 1024);
    assert_eq!(
        put_manifest(&s, "r", "fits", OCI_MANIFEST, &ok)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn delete_by_tag_and_by_digest() {
    let s = TestServer::start().await;
    let c = client();
    let (digest, m) = push_image(&s, "r", "one", 12).await;
    assert_eq!(
        put_manifest(&s, "r", "two", OCI_MANIFEST, &m)
            .await
            .status(),
        StatusCode::CREATED
    );
    // By tag: only the tag goes.
    let resp = c.delete(s.url("/v2/r/manifests/one")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = get(&s, "r", "one").await;
    expect_error(resp, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    assert_eq!(get(&s, "r", "two").await.status(), StatusCode::OK);
    assert_eq!(get(&s, "r", &digest).await.status(), StatusCode::OK);
    // By digest: the manifest and its remaining tags go.
    let resp = c
        .delete(s.url(&format!("/v2/r/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    for r in ["two", digest.as_str()] {
        expect_error(
            get(&s, "r", r).await,
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
        )
        .await;
    }
    let tags: serde_json::Value = c
        .get(s.url("/v2/r/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!([]));
    for r in ["nope", digest.as_str()] {
        let resp = c
            .delete(s.url(&format!("/v2/r/manifests/{r}")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
    let resp = c
        .delete(s.url("/v2/r/manifests/sha256:zz"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
}

#[tokio::test]
async fn unknown_manifests() {
    let s = TestServer::start().await;
    for (repo, reference) in [("nothing/here", "latest"), ("nothing", &*sha256(b"x"))] {
        let resp = get(&s, repo, reference).await;
        expect_error(resp, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
        let resp = client()
            .head(s.url(&format!("/v2/{repo}/manifests/{reference}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
    let resp = get(&s, "r", "sha256:short").await;
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
}

#[tokio::test]
async fn concurrent_pushes_of_one_tag_stay_consistent() {
    let s = TestServer::start().await;
    let mut manifests = Vec::new();
    for seed in 0..8u8 {
        manifests.push(push_image_blobs(&s, "race", 20 + seed).await.0);
    }
    let mut tasks = Vec::new();
    for m in manifests.clone() {
        let url = s.url("/v2/race/manifests/latest");
        tasks.push(tokio::spawn(async move {
            client()
                .put(url)
                .header("content-type", OCI_MANIFEST)
                .body(m)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let resp = get(&s, "race", "latest").await;
    let digest = header(resp.headers(), "docker-content-digest")
        .unwrap()
        .to_owned();
    let body = resp.bytes().await.unwrap();
    assert_eq!(sha256(&body), digest, "tag points at a whole manifest");
    assert!(manifests.iter().any(|m| m[..] == body[..]));
    for m in &manifests {
        assert_eq!(get(&s, "race", &sha256(m)).await.status(), StatusCode::OK);
    }
}
