use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

async fn json_at(s: &TestServer, path: &str) -> (reqwest::header::HeaderMap, serde_json::Value) {
    let resp = client().get(s.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let h = resp.headers().clone();
    (h, resp.json().await.unwrap())
}

#[tokio::test]
async fn tags_are_sorted_and_paginated() {
    let s = TestServer::start().await;
    let (m, _, _) = push_image_blobs(&s, "r", 1).await;
    for tag in ["v2", "latest", "v10", "alpha", "V1", "_x", "v1.0"] {
        assert_eq!(
            put_manifest(&s, "r", tag, OCI_MANIFEST, &m).await.status(),
            StatusCode::CREATED
        );
    }
    let all = ["V1", "_x", "alpha", "latest", "v1.0", "v10", "v2"];
    let (h, body) = json_at(&s, "/v2/r/tags/list").await;
    assert_eq!(body, json!({"name": "r", "tags": all}));
    assert!(h.get("link").is_none());

    let (h, body) = json_at(&s, "/v2/r/tags/list?n=3").await;
    assert_eq!(body["tags"], json!(["V1", "_x", "alpha"]));
    assert_eq!(
        header(&h, "link"),
        Some("</v2/r/tags/list?n=3&last=alpha>; rel=\"next\"")
    );
    // Follow the links to the end.
    let mut seen = Vec::new();
    let mut next = Some("/v2/r/tags/list?n=2".to_string());
    while let Some(path) = next {
        let (h, body) = json_at(&s, &path).await;
        seen.extend(
            body["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        );
        next = header(&h, "link").map(|l| l[1..l.find('>').unwrap()].to_owned());
    }
    assert_eq!(seen, all);

    let (_, body) = json_at(&s, "/v2/r/tags/list?last=latest").await;
    assert_eq!(body["tags"], json!(["v1.0", "v10", "v2"]));
    let (_, body) = json_at(&s, "/v2/r/tags/list?n=2&last=v10").await;
    assert_eq!(body["tags"], json!(["v2"]));
    let (h, body) = json_at(&s, "/v2/r/tags/list?n=0").await;
    assert_eq!(body["tags"], json!([]));
    assert!(h.get("link").is_none());
    let (_, body) = json_at(&s, "/v2/r/tags/list?last=zzz").await;
    assert_eq!(body["tags"], json!([]));

    for bad in ["n=-1", "n=abc", "n=1.5"] {
        let resp = client()
            .get(s.url(&format!("/v2/r/tags/list?{bad}")))
            .send()
            .await
            .unwrap();
        expect_error(resp, StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID").await;
    }
    let resp = client()
        .get(s.url("/v2/unknown/tags/list"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
}

#[tokio::test]
async fn catalog_lists_repositories_with_content() {
    let s = TestServer::start().await;
    for repo in ["zeta", "alpha/one", "alpha", "mid/x/y"] {
        push_image(&s, repo, "t", 2).await;
    }
    push_blob(&s, "blobs/only", b"no manifest here").await;
    let (h, body) = json_at(&s, "/v2/_catalog").await;
    assert_eq!(
        body,
        json!({"repositories": ["alpha", "alpha/one", "mid/x/y", "zeta"]})
    );
    assert!(h.get("link").is_none());
    let (h, body) = json_at(&s, "/v2/_catalog?n=2").await;
    assert_eq!(body["repositories"], json!(["alpha", "alpha/one"]));
    assert_eq!(
        header(&h, "link"),
        Some("</v2/_catalog?n=2&last=alpha%2Fone>; rel=\"next\"")
    );
    let (h, body) = json_at(&s, "/v2/_catalog?n=2&last=alpha%2Fone").await;
    assert_eq!(body["repositories"], json!(["mid/x/y", "zeta"]));
    assert!(h.get("link").is_none());
    let (_, body) = json_at(&s, "/v2/_catalog?n=0").await;
    assert_eq!(body["repositories"], json!([]));
    let resp = client()
        .get(s.url("/v2/_catalog?n=x"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID").await;
}

#[tokio::test]
async fn referrers_list_manifests_with_a_subject() {
    let s = TestServer::start().await;
    let (subject, subject_bytes) = push_image(&s, "app", "v1", 3).await;
    let empty = push_blob(&s, "app", b"{}").await;
    let referrer = |artifact_type: &str, payload: &[u8], seed: u8| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/octet-stream", "digest": sha256(payload), "size": payload.len()}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_bytes.len()},
            "annotations": {"org.example.seed": seed.to_string()}
        }))
        .unwrap()
    };
    let sig_payload = b"signature";
    push_blob(&s, "app", sig_payload).await;
    let sbom_payload = b"sbom";
    push_blob(&s, "app", sbom_payload).await;
    let sig = referrer("application/vnd.example.sig", sig_payload, 1);
    let sbom = referrer("application/vnd.example.sbom", sbom_payload, 2);
    for m in [&sig, &sbom] {
        let resp = put_manifest(&s, "app", &sha256(m), OCI_MANIFEST, m).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(
            header(resp.headers(), "oci-subject"),
            Some(subject.as_str())
        );
    }
    let resp = client()
        .get(s.url(&format!("/v2/app/referrers/{subject}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "content-type"), Some(OCI_INDEX));
    assert!(resp.headers().get("oci-filters-applied").is_none());
    let index: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let list = index["manifests"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["digest"], sha256(&sig).as_str());
    assert_eq!(list[0]["mediaType"], OCI_MANIFEST);
    assert_eq!(list[0]["size"], sig.len());
    assert_eq!(list[0]["artifactType"], "application/vnd.example.sig");
    assert_eq!(list[0]["annotations"]["org.example.seed"], "1");
    assert_eq!(list[1]["digest"], sha256(&sbom).as_str());

    let resp = client()
        .get(s.url(&format!(
            "/v2/app/referrers/{subject}?artifactType=application/vnd.example.sbom"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(resp.headers(), "oci-filters-applied"),
        Some("artifactType")
    );
    let index: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(index["manifests"][0]["digest"], sha256(&sbom).as_str());

    // No referrers, and an unknown repository: an empty index, never 404.
    for path in [
        format!("/v2/app/referrers/{}", sha256(b"none")),
        format!("/v2/ghost/referrers/{subject}"),
    ] {
        let (h, index) = json_at(&s, &path).await;
        assert_eq!(header(&h, "content-type"), Some(OCI_INDEX));
        assert_eq!(index["manifests"], json!([]));
    }
    let resp = client()
        .get(s.url("/v2/app/referrers/sha256:bad"))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
}

#[tokio::test]
async fn referrers_pushed_before_their_subject_are_listed() {
    let s = TestServer::start().await;
    let (_, cd, ld) = push_image_blobs(&s, "app", 4).await;
    let future = image_manifest((&cd, 10), &[(&ld, 1004)]);
    let subject = sha256(&future);
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.example.config", "digest": cd, "size": 10},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": future.len()}
    }))
    .unwrap();
    assert_eq!(
        put_manifest(&s, "app", "early", OCI_MANIFEST, &m)
            .await
            .status(),
        StatusCode::CREATED
    );
    let (_, index) = json_at(&s, &format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(index["manifests"][0]["digest"], sha256(&m).as_str());
    // artifactType falls back to the config media type.
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/vnd.example.config"
    );
    // The subject arrives later; the referrer is still there.
    assert_eq!(
        put_manifest(&s, "app", "v1", OCI_MANIFEST, &future)
            .await
            .status(),
        StatusCode::CREATED
    );
    let (_, index) = json_at(&s, &format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
}
