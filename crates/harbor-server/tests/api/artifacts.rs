//! Artifacts and tags over HTTP: listing (filters, sort, paging, headers), reading by tag
//! and digest (`extra_attrs`, `build_history` from real pushed configs), indexes and
//! their children, accessories (cosign signature tags and OCI referrers), deletes that
//! cascade, copies between projects (pulled back through `/v2/`), tag management, pull
//! times, and access control.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

const COSIGN_SIG: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";

fn arts(project: &str, repo: &str) -> String {
    format!("/api/v2.0/projects/{project}/repositories/{repo}/artifacts")
}

/// The JSON array and `X-Total-Count` of a listing that must answer 200.
async fn listing(c: &Client, s: &TestServer, path: &str) -> (Vec<Value>, u64, Option<String>) {
    let resp = get(c, s, path).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    let total = header(resp.headers(), "x-total-count")
        .expect("X-Total-Count")
        .parse()
        .unwrap();
    let link = header(resp.headers(), "link").map(str::to_owned);
    (resp.json().await.unwrap(), total, link)
}

async fn digests(s: &TestServer, path: &str) -> Vec<String> {
    let (v, total, _) = listing(&client(), s, path).await;
    assert_eq!(total as usize, v.len(), "{path}");
    v.iter()
        .map(|a| a["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// A pushed image: digest, manifest size, config size, layer size.
struct Image {
    digest: String,
    size: u64,
}

/// Pushes an image with this config (JSON) and a layer of `layer_len` bytes, tagged
/// `reference` (or untagged if it is empty).
async fn push_with_config(
    s: &TestServer,
    repo: &str,
    reference: &str,
    config: &Value,
    layer_len: usize,
    seed: u8,
) -> Image {
    let config = serde_json::to_vec(config).unwrap();
    let layer = data(layer_len, seed);
    let cd = push_blob(s, repo, &config).await;
    let ld = push_blob(s, repo, &layer).await;
    let m = image_manifest((&cd, config.len()), &[(&ld, layer.len())]);
    // An empty reference pushes by digest (untagged).
    let reference = if reference.is_empty() {
        sha256(&m)
    } else {
        reference.to_owned()
    };
    let resp = put_manifest(s, repo, &reference, OCI_MANIFEST, &m).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "push {repo}:{reference}"
    );
    Image {
        digest: sha256(&m),
        size: (m.len() + config.len() + layer.len()) as u64,
    }
}

/// Pushes a plain image (config `{"seed":n}`).
async fn push_plain(s: &TestServer, repo: &str, reference: &str, seed: u8) -> Image {
    push_with_config(
        s,
        repo,
        reference,
        &json!({"seed": seed}),
        100 + seed as usize,
        seed,
    )
    .await
}

/// A realistic image config with attributes and a build history.
fn rich_config() -> Value {
    json!({
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8",
        "created": "2024-05-01T10:00:00Z",
        "author": "ci@example.com",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/app"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [
            {"created": "2024-05-01T09:00:00Z", "created_by": "ADD rootfs.tar /"},
            {"created": "2024-05-01T10:00:00Z", "created_by": "CMD [\"/app\"]", "empty_layer": true}
        ]
    })
}

/// Pushes an OCI index of `children` (digest, size, arch) under `reference`.
async fn push_index(
    s: &TestServer,
    repo: &str,
    reference: &str,
    children: &[(&Image, &str)],
) -> (String, u64) {
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": children.iter().map(|(c, arch)| json!({
            "mediaType": OCI_MANIFEST,
            "digest": c.digest,
            "size": 1,
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": {"arch": arch},
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let resp = put_manifest(s, repo, reference, OCI_INDEX, &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let size = body.len() as u64 + children.iter().map(|(c, _)| c.size).sum::<u64>();
    (sha256(&body), size)
}

/// Pushes an OCI 1.1 referrer of `subject` with `artifact_type`.
async fn push_referrer(s: &TestServer, repo: &str, subject: &Image, artifact_type: &str) -> String {
    let empty = push_blob(s, repo, b"{}").await;
    let payload = push_blob(s, repo, format!("sig of {}", subject.digest).as_bytes()).await;
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": payload,
                    "size": format!("sig of {}", subject.digest).len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.digest, "size": 1},
    }))
    .unwrap();
    let d = sha256(&body);
    let resp = put_manifest(s, repo, &d, OCI_MANIFEST, &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    d
}

/// A cosign signature tag for `subject`.
fn cosign_tag(subject: &Image) -> String {
    format!("{}.sig", subject.digest.replace(':', "-"))
}

#[tokio::test]
async fn lists_filters_sorts_and_pages_artifacts() {
    let s = TestServer::start_strict().await;
    create_project(&s, "lib", true).await;
    let a = push_plain(&s, "lib/app", "v1", 1).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = push_with_config(&s, "lib/app", "v2", &json!({"seed": 2}), 5000, 2).await;
    let b2 = push_with_config(&s, "lib/app", "latest", &json!({"seed": 2}), 5000, 2).await;
    assert_eq!(b.digest, b2.digest);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let untagged = push_with_config(&s, "lib/app", "", &json!({"seed": 9}), 10, 9).await;
    push_plain(&s, "lib/other", "v1", 4).await;
    let base = arts("lib", "app");

    // Newest first, Harbor's fields.
    let (all, total, _) = listing(&client(), &s, &base).await;
    assert_eq!(total, 3);
    let order: Vec<&str> = all.iter().map(|x| x["digest"].as_str().unwrap()).collect();
    assert_eq!(order, [untagged.digest.as_str(), &b.digest, &a.digest]);
    let first = &all[2];
    let repo: Value = get_json(&client(), &s, "/api/v2.0/projects/lib/repositories/app").await;
    assert_eq!(first["id"].as_i64().map(|i| i > 0), Some(true));
    assert_eq!(first["type"], "IMAGE");
    assert_eq!(first["media_type"], OCI_CONFIG);
    assert_eq!(first["manifest_media_type"], OCI_MANIFEST);
    assert_eq!(first["repository_id"], repo["id"]);
    assert_eq!(first["project_id"], repo["project_id"]);
    assert_eq!(first["repository_name"], "lib/app");
    assert_eq!(first["size"], a.size);
    assert_eq!(first["pull_time"], "0001-01-01T00:00:00.000Z");
    assert!(first["push_time"].as_str().unwrap().starts_with("20"));
    assert_eq!(first["labels"], json!([]));
    assert!(
        first.get("accessories").is_none(),
        "omitted, not null: {first}"
    );
    let tags = first["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0]["name"], "v1");
    assert_eq!(tags[0]["artifact_id"], first["id"]);
    assert_eq!(tags[0]["repository_id"], repo["id"]);
    assert_eq!(tags[0]["immutable"], false);
    assert!(tags[0]["id"].as_i64().unwrap() > 0);
    let b_tags: Vec<&str> = all[1]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(b_tags, ["latest", "v2"]);
    assert!(all[0]["tags"].as_array().unwrap().is_empty());
    assert_eq!(all[0]["size"], untagged.size);

    // with_tag=false leaves tags out.
    let (v, _, _) = listing(&client(), &s, &format!("{base}?with_tag=false")).await;
    assert!(v[0].get("tags").is_none(), "omitted, not null: {}", v[0]);

    // Filters.
    let q = |q: &str| format!("{base}?q={q}");
    assert_eq!(
        digests(&s, &q("tags%3Dv1")).await,
        std::slice::from_ref(&a.digest)
    );
    assert_eq!(
        digests(&s, &q("tags%3D~V")).await,
        [b.digest.clone(), a.digest.clone()]
    );
    assert_eq!(
        digests(&s, &q("tags%3Dnil")).await,
        std::slice::from_ref(&untagged.digest)
    );
    assert_eq!(digests(&s, &q("tags%3D*")).await.len(), 2);
    assert_eq!(
        digests(&s, &q(&format!("digest%3D{}", b.digest))).await,
        std::slice::from_ref(&b.digest)
    );
    assert_eq!(digests(&s, &q("type%3DIMAGE")).await.len(), 3);
    assert!(digests(&s, &q("type%3DCHART")).await.is_empty());
    assert_eq!(
        digests(
            &s,
            &q(&format!("media_type%3D{}", OCI_CONFIG.replace('+', "%2B")))
        )
        .await
        .len(),
        3
    );
    assert_eq!(
        digests(&s, &q("push_time%3D%5B2000-01-01%2000:00:00~%5D"))
            .await
            .len(),
        3
    );
    assert!(
        digests(&s, &q("push_time%3D%5B~2000-01-01%2000:00:00%5D"))
            .await
            .is_empty()
    );
    assert!(
        digests(&s, &q("pull_time%3D%5B2000-01-01%2000:00:00~%5D"))
            .await
            .is_empty()
    );

    // Sorts.
    let mut by_size = [&a, &b, &untagged];
    by_size.sort_by_key(|x| x.size);
    assert_eq!(
        digests(&s, &format!("{base}?sort=size")).await,
        by_size.iter().map(|x| x.digest.clone()).collect::<Vec<_>>()
    );
    by_size.reverse();
    assert_eq!(
        digests(&s, &format!("{base}?sort=-size")).await,
        by_size.iter().map(|x| x.digest.clone()).collect::<Vec<_>>()
    );
    let mut by_digest = vec![a.digest.clone(), b.digest.clone(), untagged.digest.clone()];
    by_digest.sort();
    assert_eq!(digests(&s, &format!("{base}?sort=digest")).await, by_digest);
    assert_eq!(
        digests(&s, &format!("{base}?sort=push_time")).await,
        [a.digest.clone(), b.digest.clone(), untagged.digest.clone()]
    );

    // Pages and links.
    let (p1, total, link) = listing(&client(), &s, &format!("{base}?page=1&page_size=2")).await;
    assert_eq!((p1.len(), total), (2, 3));
    let link = link.expect("Link");
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    assert!(
        link.starts_with("</api/v2.0/projects/lib/repositories/app/artifacts?"),
        "{link}"
    );
    let (p2, total, link) = listing(&client(), &s, &format!("{base}?page=2&page_size=2")).await;
    assert_eq!((p2.len(), total), (1, 3));
    assert!(link.unwrap().contains("rel=\"prev\""));
    let (p9, total, _) = listing(&client(), &s, &format!("{base}?page=9&page_size=2")).await;
    assert_eq!((p9.len(), total), (0, 3));

    // Bad input is a 400; a parameter of the wrong type or out of its range Harbor's 422.
    for bad in [
        "?page_size=1000",
        "?with_tag=maybe",
        "?page=99999999999999999999",
    ] {
        harbor_error(
            get(&client(), &s, &format!("{base}{bad}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
        )
        .await;
    }
    for bad in ["?sort=name", "?q=color%3Dred", "?q=push_time%3D~x"] {
        harbor_error(
            get(&client(), &s, &format!("{base}{bad}")).await,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        )
        .await;
    }
    // A repository without artifacts lists nothing.
    let (v, total, _) = listing(&client(), &s, &arts("lib", "nothing")).await;
    assert_eq!((v.len(), total), (0, 0));
}

#[tokio::test]
async fn reads_by_tag_and_digest_with_extra_attrs_and_build_history() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let img = push_with_config(&s, "team/a/b", "1.0", &rich_config(), 300, 5).await;
    let plain = push_plain(&s, "team/a/b", "plain", 6).await;
    // `a/b` is encoded twice in the path, as Harbor's clients do.
    let base = arts("team", "a%252Fb");
    for reference in ["1.0", img.digest.as_str()] {
        let v: Value = get_json(&client(), &s, &format!("{base}/{reference}")).await;
        assert_eq!(v["digest"], img.digest);
        assert_eq!(v["repository_name"], "team/a/b");
        assert_eq!(v["size"], img.size);
        let x = &v["extra_attrs"];
        assert_eq!(x["architecture"], "arm64");
        assert_eq!(x["os"], "linux");
        assert_eq!(x["variant"], "v8");
        assert_eq!(x["created"], "2024-05-01T10:00:00Z");
        assert_eq!(x["author"], "ci@example.com");
        assert_eq!(x["config"]["Cmd"][0], "/app");
        assert!(x.get("rootfs").is_none() && x.get("history").is_none());
        assert_eq!(v["tags"][0]["name"], "1.0");
        let link = v["addition_links"]["build_history"]["href"]
            .as_str()
            .unwrap();
        assert!(link.ends_with("/additions/build_history"), "{link}");
        // The link works as given.
        let h: Value = get_json(&client(), &s, link).await;
        assert_eq!(h.as_array().unwrap().len(), 2);
    }
    let history: Value = get_json(
        &client(),
        &s,
        &format!("{base}/1.0/additions/build_history"),
    )
    .await;
    assert_eq!(history, rich_config()["history"]);
    // An image without history.
    harbor_error(
        get(
            &client(),
            &s,
            &format!("{base}/plain/additions/build_history"),
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let v: Value = get_json(&client(), &s, &format!("{base}/{}", plain.digest)).await;
    assert_eq!(v["extra_attrs"], json!({}));
    // Missing and malformed references.
    for (path, status, code) in [
        (format!("{base}/nope"), StatusCode::NOT_FOUND, "NOT_FOUND"),
        (
            format!("{base}/sha256:{}", "0".repeat(64)),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            format!("{base}/sha256:xyz"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            format!("{base}/bad%20tag"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            arts("team", "missing") + "/1.0",
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            format!("{base}/1.0/additions/unknown"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            format!("{base}/1.0/additions/values.yaml"),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
    ] {
        harbor_error(get(&client(), &s, &path).await, status, code).await;
    }
}

#[tokio::test]
async fn indexes_show_children_as_references_and_delete_them() {
    let s = TestServer::start_strict().await;
    create_project(&s, "multi", false).await;
    let amd = push_plain(&s, "multi/app", "", 11).await;
    let arm = push_plain(&s, "multi/app", "", 12).await;
    for c in [&amd, &arm] {
        // Children pushed by digest.
        assert!(!c.digest.is_empty());
    }
    let (index, index_size) =
        push_index(&s, "multi/app", "v1", &[(&amd, "amd64"), (&arm, "arm64")]).await;
    let base = arts("multi", "app");
    let (v, total, _) = listing(&client(), &s, &base).await;
    assert_eq!(total, 1, "children are not listed: {v:?}");
    let a = &v[0];
    assert_eq!(a["digest"], index);
    assert_eq!(a["type"], "IMAGE");
    assert_eq!(a["media_type"], OCI_INDEX);
    assert_eq!(a["manifest_media_type"], OCI_INDEX);
    assert_eq!(a["size"], index_size);
    let refs = a["references"].as_array().unwrap();
    assert_eq!(refs.len(), 2);
    assert_eq!(refs[0]["child_digest"], amd.digest);
    assert_eq!(refs[0]["parent_id"], a["id"]);
    assert_eq!(refs[0]["platform"]["architecture"], "amd64");
    assert_eq!(refs[1]["annotations"]["arch"], "arm64");
    // Children are readable by digest, but cannot be deleted alone.
    let child: Value = get_json(&client(), &s, &format!("{base}/{}", arm.digest)).await;
    assert_eq!(child["size"], arm.size);
    // Each reference names its child's artifact id.
    assert_eq!(refs[1]["child_id"], child["id"], "{refs:?}");
    assert!(
        refs[0]["child_id"]
            .as_i64()
            .is_some_and(|id| id != child["id"])
    );
    assert!(
        child.get("references").is_none(),
        "omitted, not null: {child}"
    );
    harbor_error(
        admin(&s, Method::DELETE, &format!("{base}/{}", arm.digest), None).await,
        StatusCode::PRECONDITION_FAILED,
        "PRECONDITION",
    )
    .await;
    // Deleting the index takes its untagged children along.
    let resp = admin(&s, Method::DELETE, &format!("{base}/v1"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    for d in [&index, &amd.digest, &arm.digest] {
        let resp = client()
            .get(s.url(&format!("/v2/multi/app/manifests/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{d}");
    }
    wait_audit(&s, "q=operation%3Ddelete", |e| {
        e["resource"] == format!("multi/app@{index}") && e["resource_type"] == "artifact"
    })
    .await;
}

#[tokio::test]
async fn a_tagged_child_survives_its_index() {
    let s = TestServer::start_strict().await;
    create_project(&s, "multi", false).await;
    let kept = push_plain(&s, "multi/app", "keep", 13).await;
    let gone = push_plain(&s, "multi/app", "", 14).await;
    let (index, _) = push_index(&s, "multi/app", "v1", &[(&kept, "amd64"), (&gone, "arm64")]).await;
    let base = arts("multi", "app");
    assert_eq!(
        digests(&s, &base).await,
        [index.clone(), kept.digest.clone()]
    );
    let resp = admin(&s, Method::DELETE, &format!("{base}/{index}"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(digests(&s, &base).await, std::slice::from_ref(&kept.digest));
    assert_eq!(
        get(&client(), &s, &format!("{base}/{}", gone.digest))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn signatures_and_referrers_are_accessories() {
    let s = TestServer::start_strict().await;
    create_project(&s, "sig", false).await;
    let img = push_plain(&s, "sig/app", "v1", 21).await;
    let sig = push_plain(&s, "sig/app", &cosign_tag(&img), 22).await;
    let referrer = push_referrer(&s, "sig/app", &img, COSIGN_SIG).await;
    let sbom = push_referrer(&s, "sig/app", &img, "application/vnd.example.sbom+json").await;
    // A signature of the SBOM: an accessory of an accessory.
    let sbom_image = Image {
        digest: sbom.clone(),
        size: 0,
    };
    let sbom_sig = push_referrer(&s, "sig/app", &sbom_image, COSIGN_SIG).await;
    let base = arts("sig", "app");

    // Only the image is an artifact, and the repository counts it alone.
    assert_eq!(digests(&s, &base).await, std::slice::from_ref(&img.digest));
    let repo: Value = get_json(&client(), &s, "/api/v2.0/projects/sig/repositories/app").await;
    assert_eq!(repo["artifact_count"], 1);
    let (v, _, _) = listing(&client(), &s, &format!("{base}?with_accessory=true")).await;
    let acc = v[0]["accessories"].as_array().unwrap();
    let mut got: Vec<(String, String)> = acc
        .iter()
        .map(|a| {
            (
                a["digest"].as_str().unwrap().to_owned(),
                a["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (sig.digest.clone(), "signature.cosign".to_owned()),
        (referrer.clone(), "signature.cosign".to_owned()),
        (sbom.clone(), "subject.accessory".to_owned()),
    ];
    want.sort();
    assert_eq!(got, want);
    let one = acc.iter().find(|a| a["digest"] == sig.digest).unwrap();
    assert_eq!(one["subject_artifact_id"], v[0]["id"]);
    assert_eq!(one["subject_artifact_digest"], img.digest);
    assert_eq!(one["subject_artifact_repo"], "sig/app");
    assert_eq!(one["size"], sig.size);
    assert_eq!(one["id"], one["artifact_id"]);
    assert!(one["creation_time"].as_str().unwrap().starts_with("20"));

    // The accessories endpoint, with paging.
    let (list, total, _) =
        listing(&client(), &s, &format!("{base}/v1/accessories?page_size=2")).await;
    assert_eq!((list.len(), total), (2, 3));
    // The accessory itself is readable by digest.
    let a: Value = get_json(&client(), &s, &format!("{base}/{referrer}")).await;
    assert_eq!(a["type"], "SIGNATURE");
    assert_eq!(a["artifact_type"], COSIGN_SIG);

    // Deleting the subject deletes its accessories.
    let resp = admin(&s, Method::DELETE, &format!("{base}/v1"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    for d in [&img.digest, &sig.digest, &referrer, &sbom, &sbom_sig] {
        let resp = client()
            .get(s.url(&format!("/v2/sig/app/manifests/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{d}");
    }
    let (v, total, _) = listing(&client(), &s, &base).await;
    assert_eq!((v.len(), total), (0, 0));
}

#[tokio::test]
async fn copies_artifacts_between_projects_without_moving_bytes() {
    let s = TestServer::start_strict().await;
    create_project(&s, "src", false).await;
    create_project(&s, "dst", false).await;
    let img = push_with_config(&s, "src/app", "v1", &rich_config(), 2000, 31).await;
    let sig = push_plain(&s, "src/app", &cosign_tag(&img), 32).await;
    let amd = push_plain(&s, "src/app", "", 33).await;
    let (index, _) = push_index(&s, "src/app", "multi", &[(&amd, "amd64")]).await;

    // By tag: the tag and the accessory come along.
    let path = format!("{}?from=src/app:v1", arts("dst", "copy"));
    let resp = admin(&s, Method::POST, &path, None).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "location"),
        Some("/api/v2.0/projects/dst/repositories/copy/artifacts/v1")
    );
    let v: Value = get_json(
        &client(),
        &s,
        &format!("{}/v1?with_accessory=true", arts("dst", "copy")),
    )
    .await;
    assert_eq!(v["digest"], img.digest);
    assert_eq!(v["tags"][0]["name"], "v1");
    assert_eq!(v["accessories"][0]["digest"], sig.digest);
    assert_eq!(v["extra_attrs"]["architecture"], "arm64");
    // Pull the copy back through /v2/: same manifest, same blob bytes.
    let src_m = client()
        .get(s.url("/v2/src/app/manifests/v1"))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dst_m = client()
        .get(s.url("/v2/dst/copy/manifests/v1"))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(dst_m.status(), StatusCode::OK);
    let dst_m = dst_m.bytes().await.unwrap();
    assert_eq!(src_m, dst_m);
    let m: Value = serde_json::from_slice(&dst_m).unwrap();
    for d in std::iter::once(&m["config"]).chain(m["layers"].as_array().unwrap()) {
        let d = d["digest"].as_str().unwrap();
        let a = client()
            .get(s.url(&format!("/v2/src/app/blobs/{d}")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let b = client()
            .get(s.url(&format!("/v2/dst/copy/blobs/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(b.status(), StatusCode::OK);
        assert_eq!(b.bytes().await.unwrap(), a);
        assert_eq!(sha256(&a), d);
    }

    // By digest: an index with its child.
    let path = format!("{}?from=src/app@{index}", arts("dst", "multi"));
    let resp = admin(&s, Method::POST, &path, None).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("/api/v2.0/projects/dst/repositories/multi/artifacts/{index}").as_str())
    );
    assert_eq!(
        digests(&s, &arts("dst", "multi")).await,
        std::slice::from_ref(&index)
    );
    let child = client()
        .get(s.url(&format!("/v2/dst/multi/manifests/{}", amd.digest)))
        .send()
        .await
        .unwrap();
    assert_eq!(child.status(), StatusCode::OK);
    // Each manifest copied is a push into the target: the index under its tag, the
    // child by digest.
    let entries = wait_audit(&s, "q=operation%3Dcreate", |e| {
        e["resource"] == "dst/multi:multi"
    })
    .await;
    let child = format!("dst/multi@{}", amd.digest);
    assert!(
        entries.iter().any(|e| e["resource"] == child.as_str()),
        "{entries:?}"
    );

    // Failures.
    let path = format!("{}?from=src/app:{}", arts("dst", "x"), cosign_tag(&img));
    harbor_error(
        admin(&s, Method::POST, &path, None).await,
        StatusCode::FORBIDDEN,
        "DENIED",
    )
    .await;
    for (from, status, code) in [
        ("src/app:nope", StatusCode::NOT_FOUND, "NOT_FOUND"),
        ("nowhere/app:v1", StatusCode::NOT_FOUND, "NOT_FOUND"),
        ("src/app", StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        ("src/app@sha256:zz", StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        ("app:v1", StatusCode::BAD_REQUEST, "BAD_REQUEST"),
    ] {
        let path = format!("{}?from={from}", arts("dst", "x"));
        harbor_error(admin(&s, Method::POST, &path, None).await, status, code).await;
    }
    harbor_error(
        admin(&s, Method::POST, &arts("dst", "x"), None).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    harbor_error(
        admin(
            &s,
            Method::POST,
            &format!("{}?from=src/app:v1", arts("nope", "x")),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;

    // Access: a developer of dst who is not a member of src sees src as missing; a
    // guest of dst may not create artifacts.
    create_user(&s, "dev").await;
    add_member(&s, "dst", "dev", 2).await;
    let dev = as_user("dev", PASSWORD);
    for from in ["src/app:v1", "src/app:nope", "secret/app:v1"] {
        let path = format!("{}?from={from}", arts("dst", "y"));
        harbor_error(
            send(&dev, &s, Method::POST, &path, None).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        )
        .await;
    }
    add_member(&s, "src", "dev", 3).await;
    let path = format!("{}?from=src/app:v1", arts("dst", "y"));
    let resp = send(&dev, &s, Method::POST, &path, None).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    create_user(&s, "guest").await;
    add_member(&s, "dst", "guest", 3).await;
    add_member(&s, "src", "guest", 3).await;
    harbor_error(
        send(&as_user("guest", PASSWORD), &s, Method::POST, &path, None).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
}

#[tokio::test]
async fn tags_are_listed_created_and_deleted() {
    let s = TestServer::start_strict().await;
    create_project(&s, "t", false).await;
    let a = push_plain(&s, "t/app", "v1", 41).await;
    push_plain(&s, "t/app", "other", 42).await;
    let base = arts("t", "app");
    let tags = format!("{base}/v1/tags");
    let create = |name: &str| {
        let path = tags.clone();
        let body = json!({ "name": name });
        let s = &s;
        async move { admin(s, Method::POST, &path, Some(body)).await }
    };
    assert_eq!(create("v2").await.status(), StatusCode::CREATED);
    assert_eq!(create("latest").await.status(), StatusCode::CREATED);
    // A tag the repository has already, here or on another artifact: 409, as Harbor.
    for taken in ["v2", "other"] {
        harbor_error(create(taken).await, StatusCode::CONFLICT, "CONFLICT").await;
    }
    harbor_error(
        create("bad tag").await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    harbor_error(
        admin(&s, Method::POST, &tags, Some(json!({"nom": "x"}))).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    // The new tag resolves through /v2/ too.
    let resp = client()
        .get(s.url("/v2/t/app/manifests/v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(a.digest.as_str())
    );

    let (v, total, _) = listing(&client(), &s, &tags).await;
    let names: Vec<&str> = v.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!((names, total), (vec!["latest", "v1", "v2"], 3));
    let (v, total, _) = listing(
        &client(),
        &s,
        &format!("{tags}?q=name%3D~v&page_size=1&page=2"),
    )
    .await;
    assert_eq!((v[0]["name"].as_str(), total), (Some("v2"), 2));
    let (v, _, _) = listing(&client(), &s, &format!("{base}/v2/tags?q=name%3Dlatest")).await;
    assert_eq!(v.len(), 1);

    // Deleting: only a tag of that artifact.
    harbor_error(
        admin(&s, Method::DELETE, &format!("{tags}/other"), None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    harbor_error(
        admin(&s, Method::DELETE, &format!("{tags}/nope"), None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let resp = admin(&s, Method::DELETE, &format!("{tags}/v2"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client()
        .get(s.url("/v2/t/app/manifests/v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (_, total, _) = listing(&client(), &s, &tags).await;
    assert_eq!(total, 2);
    wait_audit(&s, "q=resource_type%3Dtag", |e| {
        e["operation"] == "delete" && e["resource"] == "t/app:v2"
    })
    .await;
}

#[tokio::test]
async fn pull_time_follows_pulls() {
    let s = TestServer::start_strict().await;
    create_project(&s, "pulls", true).await;
    let a = push_plain(&s, "pulls/app", "v1", 51).await;
    let path = format!("{}/v1", arts("pulls", "app"));
    let before: Value = get_json(&client(), &s, &path).await;
    assert_eq!(before["pull_time"], "0001-01-01T00:00:00.000Z");
    let resp = client()
        .get(s.url("/v2/pulls/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut after = Value::Null;
    for _ in 0..100 {
        after = get_json(&client(), &s, &path).await;
        if after["pull_time"] != before["pull_time"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pulled = after["pull_time"].as_str().unwrap();
    assert!(
        pulled.starts_with("20"),
        "pull time never recorded: {after}"
    );
    assert_eq!(after["tags"][0]["pull_time"], pulled);
    assert!(pulled >= after["push_time"].as_str().unwrap());
    // The pull-time filter and sort see it.
    let base = arts("pulls", "app");
    assert_eq!(
        digests(
            &s,
            &format!("{base}?q=pull_time%3D%5B2000-01-01%2000:00:00~%5D")
        )
        .await,
        std::slice::from_ref(&a.digest)
    );
    let b = push_plain(&s, "pulls/app", "v2", 52).await;
    assert_eq!(
        digests(&s, &format!("{base}?sort=-pull_time")).await,
        [a.digest.clone(), b.digest.clone()]
    );
}

#[tokio::test]
async fn access_follows_the_project() {
    let s = TestServer::start_strict().await;
    create_project(&s, "open", true).await;
    create_project(&s, "closed", false).await;
    push_plain(&s, "open/app", "v1", 61).await;
    push_plain(&s, "closed/app", "v1", 62).await;
    let anon = anon_client();
    // Anyone reads a public project's artifacts and tags.
    assert_eq!(
        status_of(&anon, &s, &arts("open", "app")).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&anon, &s, &format!("{}/v1/tags", arts("open", "app"))).await,
        StatusCode::OK
    );
    harbor_error(
        send(
            &anon,
            &s,
            Method::DELETE,
            &format!("{}/v1", arts("open", "app")),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    // A private project is hidden: 401 anonymous, 404 for non-members, existing or not.
    harbor_error(
        get(&anon, &s, &arts("closed", "app")).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    create_user(&s, "stranger").await;
    let stranger = as_user("stranger", PASSWORD);
    for path in [
        arts("closed", "app"),
        format!("{}/v1", arts("closed", "app")),
        format!("{}/v1", arts("closed", "missing")),
        format!("{}/v1", arts("nonexistent", "app")),
        format!("{}/v1/tags", arts("closed", "app")),
        format!("{}/v1/accessories", arts("closed", "app")),
        format!("{}/v1/additions/build_history", arts("closed", "app")),
    ] {
        harbor_error(
            get(&stranger, &s, &path).await,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        )
        .await;
    }
    harbor_error(
        send(
            &stranger,
            &s,
            Method::DELETE,
            &format!("{}/v1", arts("closed", "app")),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    // A guest reads but may not delete or tag.
    add_member(&s, "closed", "stranger", 3).await;
    assert_eq!(
        status_of(&stranger, &s, &format!("{}/v1", arts("closed", "app"))).await,
        StatusCode::OK
    );
    harbor_error(
        send(
            &stranger,
            &s,
            Method::DELETE,
            &format!("{}/v1", arts("closed", "app")),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    harbor_error(
        send(
            &stranger,
            &s,
            Method::POST,
            &format!("{}/v1/tags", arts("closed", "app")),
            Some(json!({"name": "x"})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
}

#[tokio::test]
async fn immutable_tags_protect_artifacts_and_tags() {
    let s = TestServer::start_strict().await;
    create_project(&s, "imm", false).await;
    let img = push_plain(&s, "imm/app", "v1", 71).await;
    let sig = push_plain(&s, "imm/app", &cosign_tag(&img), 72).await;
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects/imm/immutabletagrules",
        Some(json!({
            "action": "immutable",
            "template": "immutable_template",
            "priority": 0,
            "disabled": false,
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [
                {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
            ]},
        })),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let base = arts("imm", "app");
    // A new tag may be added (it is immutable from then on), but not removed.
    let resp = admin(
        &s,
        Method::POST,
        &format!("{base}/v1/tags"),
        Some(json!({"name": "v2"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    harbor_error(
        admin(&s, Method::DELETE, &format!("{base}/v1/tags/v2"), None).await,
        StatusCode::PRECONDITION_FAILED,
        "PRECONDITION",
    )
    .await;
    // Deleting the artifact is refused, and nothing goes, its accessories included.
    harbor_error(
        admin(&s, Method::DELETE, &format!("{base}/v1"), None).await,
        StatusCode::PRECONDITION_FAILED,
        "PRECONDITION",
    )
    .await;
    let (v, _, _) = listing(&client(), &s, &format!("{base}?with_accessory=true")).await;
    assert_eq!(v[0]["digest"], img.digest);
    assert_eq!(v[0]["accessories"][0]["digest"], sig.digest);
    let (tags, total, _) = listing(&client(), &s, &format!("{base}/v1/tags")).await;
    assert_eq!((tags.len(), total), (2, 2));
}

#[tokio::test]
async fn helm_charts_are_charts() {
    let s = TestServer::start_strict().await;
    create_project(&s, "charts", false).await;
    let helm = "application/vnd.cncf.helm.config.v1+json";
    let config =
        serde_json::to_vec(&json!({"apiVersion": "v2", "name": "web", "version": "1.2.3"}))
            .unwrap();
    let chart = data(300, 81);
    let cd = push_blob(&s, "charts/web", &config).await;
    let ld = push_blob(&s, "charts/web", &chart).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": helm, "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    "digest": ld, "size": chart.len()}],
    }))
    .unwrap();
    let resp = put_manifest(&s, "charts/web", "1.2.3", OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    push_plain(&s, "charts/web", "image", 82).await;
    let base = arts("charts", "web");
    let v: Value = get_json(&client(), &s, &format!("{base}/1.2.3")).await;
    assert_eq!(v["type"], "CHART");
    assert_eq!(v["media_type"], helm);
    assert_eq!(v["extra_attrs"]["name"], "web");
    assert_eq!(v["extra_attrs"]["version"], "1.2.3");
    assert_eq!(v["size"], (m.len() + config.len() + chart.len()) as u64);
    assert_eq!(v["addition_links"], json!({}));
    assert_eq!(
        digests(&s, &format!("{base}?q=type%3DCHART")).await,
        [sha256(&m)]
    );
}
