//! Two `harbor-server` processes sharing one PostgreSQL database and one S3-compatible
//! bucket: what is pushed through one is pulled through the other, uploads move between
//! them, concurrent writers stay consistent, and both survive their database connections
//! being killed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{
    OCI_MANIFEST, Scaled, anon_client, client, data, header, image_manifest, sha256,
};
use crate::{admin_creds, find_tool, layout, run};

const BIN: &str = env!("CARGO_BIN_EXE_harbor-server");

/// A `harbor-server` process, killed on drop.
struct Replica {
    child: Child,
    base: String,
    addr: String,
}

impl Replica {
    fn start(scaled: &Scaled) -> Self {
        Self::start_with(scaled, &[])
    }

    fn start_with(scaled: &Scaled, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                dir.path().to_str().unwrap(),
            ])
            .envs(scaled.env())
            // The tests push to arbitrary projects, as the administrator.
            .env("HARBOR_AUTO_CREATE_PROJECTS", "true")
            .env("HARBOR_DATABASE_MAX_CONNECTIONS", "4")
            .env("HARBOR_DATABASE_ACQUIRE_TIMEOUT_SECS", "3")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("harbor-server listening on ")
            .unwrap_or_else(|| panic!("replica did not start: {line:?}"))
            .to_owned();
        let addr = base.trim_start_matches("http://").to_owned();
        Replica { child, base, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn push_blob(r: &Replica, repo: &str, bytes: &[u8]) -> reqwest::Result<StatusCode> {
    let resp = client()
        .post(r.url(&format!(
            "/v2/{repo}/blobs/uploads/?digest={}",
            sha256(bytes)
        )))
        .body(bytes.to_vec())
        .send()
        .await?;
    Ok(resp.status())
}

async fn put_manifest(r: &Replica, repo: &str, tag: &str, m: &[u8]) -> reqwest::Result<StatusCode> {
    let resp = client()
        .put(r.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("content-type", OCI_MANIFEST)
        .body(m.to_vec())
        .send()
        .await?;
    Ok(resp.status())
}

/// Pushes config, layer and manifest; `Some(manifest)` if every step succeeded.
async fn try_push_image(r: &Replica, repo: &str, tag: &str, seed: u8) -> Option<Vec<u8>> {
    let config = format!("{{\"seed\":{seed}}}").into_bytes();
    let layer = data(200_000 + usize::from(seed), seed);
    for b in [&config, &layer] {
        if push_blob(r, repo, b).await.ok()? != StatusCode::CREATED {
            return None;
        }
    }
    let m = image_manifest(
        (&sha256(&config), config.len()),
        &[(&sha256(&layer), layer.len())],
    );
    (put_manifest(r, repo, tag, &m).await.ok()? == StatusCode::CREATED).then_some(m)
}

/// Pulls a manifest by digest and every blob it references; checks all digests.
async fn pull_verified(r: &Replica, repo: &str, manifest: &[u8]) {
    let digest = sha256(manifest);
    let resp = client()
        .get(r.url(&format!("/v2/{repo}/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{repo}@{digest} via {}",
        r.base
    );
    assert_eq!(resp.bytes().await.unwrap(), manifest);
    let m: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    let blobs = std::iter::once(&m["config"]).chain(m["layers"].as_array().unwrap());
    for b in blobs {
        let d = b["digest"].as_str().unwrap();
        let got = client()
            .get(r.url(&format!("/v2/{repo}/blobs/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK, "blob {d} via {}", r.base);
        assert_eq!(sha256(&got.bytes().await.unwrap()), d);
    }
}

#[tokio::test]
async fn two_replicas_share_one_registry() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    let Some(scaled) = Scaled::create().await else {
        return;
    };
    let (a, b) = (Replica::start(&scaled), Replica::start(&scaled));

    // skopeo pushes through A and pulls through B: identical digests.
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = layout::write(&src, 3 * 1024 * 1024);
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let admin = admin_creds();
    let out = run(
        &skopeo,
        args(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &admin,
            &format!("oci:{}:v1", src.display()),
            &format!("docker://{}/shared/app:v1", a.addr),
        ]),
    )
    .await;
    assert!(out.status.success());
    let back = work.path().join("back");
    let out = run(
        &skopeo,
        args(&[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &admin,
            &format!("docker://{}/shared/app:v1", b.addr),
            &format!("oci:{}:v1", back.display()),
        ]),
    )
    .await;
    assert!(out.status.success());
    assert_eq!(layout::tagged(&back, "v1"), made.image);
    assert_eq!(
        layout::blob(&back, &made.layer),
        layout::blob(&src, &made.layer)
    );

    // A registry token issued by A is honoured by B: they share the signing key.
    let token: serde_json::Value = client()
        .get(a.url("/service/token?service=harbor-registry&scope=repository:shared/app:pull"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().expect("a token");
    let resp = anon_client()
        .head(b.url("/v2/shared/app/manifests/v1"))
        .bearer_auth(token)
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "docker-content-digest"),
        Some(made.image.as_str())
    );

    // A chunked upload started on A, continued on B, committed on A.
    let bytes = data(7 * 1024 * 1024, 42);
    let resp = client()
        .post(a.url("/v2/shared/chunked/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let loc = header(resp.headers(), "location").unwrap().to_owned();
    let cut = 2 * 1024 * 1024;
    let resp = client()
        .patch(a.url(&loc))
        .header("content-range", format!("0-{}", cut - 1))
        .body(bytes[..cut].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = client()
        .patch(b.url(&loc))
        .header("content-range", format!("{cut}-{}", bytes.len() - 1))
        .body(bytes[cut..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        header(resp.headers(), "range"),
        Some(format!("0-{}", bytes.len() - 1).as_str())
    );
    let resp = client()
        .put(a.url(&format!("{loc}?digest={}", sha256(&bytes))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let got = client()
        .get(b.url(&format!("/v2/shared/chunked/blobs/{}", sha256(&bytes))))
        .send()
        .await
        .unwrap();
    assert_eq!(sha256(&got.bytes().await.unwrap()), sha256(&bytes));

    // Concurrent pushes of one tag through both replicas end consistent.
    let mut manifests = Vec::new();
    for seed in 0..8u8 {
        let config = format!("{{\"c\":{seed}}}").into_bytes();
        push_blob(&a, "shared/race", &config).await.unwrap();
        manifests.push(image_manifest((&sha256(&config), config.len()), &[]));
    }
    let results = futures::future::join_all(manifests.iter().enumerate().map(|(i, m)| {
        let r = if i % 2 == 0 { &a } else { &b };
        put_manifest(r, "shared/race", "latest", m)
    }))
    .await;
    assert!(
        results
            .iter()
            .all(|r| *r.as_ref().unwrap() == StatusCode::CREATED)
    );
    let mut seen = Vec::new();
    for r in [&a, &b] {
        let resp = client()
            .get(r.url("/v2/shared/race/manifests/latest"))
            .send()
            .await
            .unwrap();
        let body = resp.bytes().await.unwrap();
        assert!(manifests.iter().any(|m| m[..] == body[..]));
        seen.push(sha256(&body));
    }
    assert_eq!(seen[0], seen[1], "both replicas agree on the tag");
    let tags: serde_json::Value = client()
        .get(b.url("/v2/shared/race/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["latest"]));
}

#[tokio::test]
async fn replicas_recover_when_database_connections_die() {
    let Some(scaled) = Scaled::create().await else {
        return;
    };
    let (a, b) = (Replica::start(&scaled), Replica::start(&scaled));
    let pushes = async {
        let mut ok = Vec::new();
        for i in 0..40u8 {
            let r = if i % 2 == 0 { &a } else { &b };
            if let Some(m) = try_push_image(r, "loop/app", &format!("t{i}"), i).await {
                ok.push((format!("t{i}"), m));
            }
        }
        ok
    };
    let killer = async {
        let mut killed = 0;
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            killed += scaled.db.terminate_connections().await;
        }
        killed
    };
    let (ok, killed) = tokio::join!(pushes, killer);
    assert!(killed > 0, "the test must actually kill connections");
    assert!(!ok.is_empty(), "some pushes succeed between the kills");
    eprintln!(
        "{} of 40 pushes succeeded while {killed} connections were killed",
        ok.len()
    );

    // Everything acknowledged is whole, through both replicas.
    for (tag, m) in &ok {
        for r in [&a, &b] {
            pull_verified(r, "loop/app", m).await;
            let resp = client()
                .head(r.url(&format!("/v2/loop/app/manifests/{tag}")))
                .send()
                .await
                .unwrap();
            assert_eq!(
                header(resp.headers(), "docker-content-digest"),
                Some(sha256(m).as_str())
            );
        }
    }
    // And both replicas work again without a restart.
    for (i, r) in [&a, &b].into_iter().enumerate() {
        let m = try_push_image(r, "loop/after", "ok", 100 + i as u8)
            .await
            .expect("push after recovery");
        pull_verified(r, "loop/after", &m).await;
    }
}

/// Scan on push and SBOM on push across two replicas: each replica delivers events and
/// runs jobs, yet one push gives one scan job and one SBOM job, one report of each and
/// one SBOM accessory. The replicas call each other's built-in adapter on loopback (each
/// registered it at its own address), hence `HARBOR_REMOTE_ALLOW_LOOPBACK`.
#[tokio::test]
async fn a_push_is_scanned_once_across_replicas() {
    use harbor_core::jobs::{JobQuery, JobStore};

    let Some(scaled) = Scaled::create().await else {
        return;
    };
    let env = [("HARBOR_REMOTE_ALLOW_LOOPBACK", "true")];
    let (a, b) = (
        Replica::start_with(&scaled, &env),
        Replica::start_with(&scaled, &env),
    );
    let resp = client()
        .put(a.url("/api/v2.0/system/vulnerability-db"))
        .body(harbor_scanner::fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client()
        .post(a.url("/api/v2.0/projects"))
        .json(&json!({"project_name": "scanned", "metadata": {"auto_scan": "true", "auto_sbom_generation": "true"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);

    // The Debian fixture image, pushed through B.
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    assert_eq!(
        push_blob(&b, "scanned/app", config).await.unwrap(),
        StatusCode::CREATED
    );
    let mut layers = Vec::new();
    for layer in harbor_scanner::fixtures::debian_image() {
        assert_eq!(
            push_blob(&b, "scanned/app", &layer).await.unwrap(),
            StatusCode::CREATED
        );
        layers.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&layer), "size": layer.len()}));
    }
    // Each fixture layer is written as the media type says.
    layers[1]["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar");
    layers[2]["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+zstd");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": config.len()},
        "layers": layers,
    }))
    .unwrap();
    assert_eq!(
        put_manifest(&b, "scanned/app", "1", &manifest)
            .await
            .unwrap(),
        StatusCode::CREATED
    );

    // Both finish (read through A).
    let path = a.url("/api/v2.0/projects/scanned/repositories/app/artifacts/1?with_scan_overview=true&with_sbom_overview=true");
    let mut done = None;
    for _ in 0..600 {
        let v: serde_json::Value = client()
            .get(&path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let vuln = v["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"]
            ["scan_status"]
            .clone();
        let sbom = v["sbom_overview"]["scan_status"].clone();
        if vuln == "Success" && sbom == "Success" {
            done = Some(v);
            break;
        }
        assert!(vuln != "Error" && sbom != "Error", "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = done.expect("the scans on push did not finish");
    assert_eq!(
        v["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"]["summary"]
            ["total"],
        15
    );

    // Time for a duplicate to show, then count: one job of each kind, one SBOM accessory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let store = harbor_storage::SqlMetadataStore::connect(
        &scaled.db.url,
        &harbor_storage::sql::PoolConfig::default(),
    )
    .await
    .unwrap();
    let (jobs, total) = store
        .jobs(
            &JobQuery {
                kind: Some("IMAGE_SCAN".into()),
                status: None,
            },
            harbor_core::identity::Page {
                page: 1,
                page_size: 100,
            },
        )
        .await
        .unwrap();
    store.close().await;
    assert_eq!(total, 2, "{jobs:?}");
    let accessories: Vec<serde_json::Value> = client()
        .get(b.url(&format!(
            "/api/v2.0/projects/scanned/repositories/app/artifacts/{}/accessories",
            sha256(&manifest)
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(accessories.len(), 1, "{accessories:?}");
    assert_eq!(accessories[0]["type"], "harbor.sbom");
}
