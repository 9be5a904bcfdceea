//! Proxy-cache projects against CNCF Distribution on loopback as the upstream: creation
//! rules and the default retention policy, first pulls streamed through (skopeo),
//! revalidation of a moved tag, pulls served from the cache once the upstream is down,
//! concurrent first pulls fetching each blob from the upstream once (counted in the
//! upstream's access log), single-platform pulls of an index, refused pushes.

use std::time::Duration;

use bytes::Bytes;
use harbor_core::{Digest, Reference};
use harbor_remote::{Client, Credential};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::remote_common::{self as rc, Distribution};
use crate::support::*;

fn harbor_client(s: &TestServer) -> Client {
    rc::client_for(&s.base, Some(Credential::basic("admin", ADMIN_PASSWORD)))
}

/// A server allowed to reach loopback, a Distribution upstream and a proxy-cache
/// project `hub` of it.
async fn set_up() -> Option<(Distribution, TestServer)> {
    let dist = Distribution::start(None).await?;
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let body = json!({"name": "upstream", "type": "docker-registry", "url": dist.url});
    let resp = admin(&s, Method::POST, "/api/v2.0/registries", Some(body)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let registry = location_id(&resp);
    let body =
        json!({"project_name": "hub", "registry_id": registry, "metadata": {"public": "false"}});
    let resp = admin(&s, Method::POST, "/api/v2.0/projects", Some(body)).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    Some((dist, s))
}

/// The artifact `reference` of `hub/<repo>` once the cache recorded it (30 s at most).
async fn cached(s: &TestServer, repo: &str, reference: &str) -> Value {
    let path = format!(
        "/api/v2.0/projects/hub/repositories/{}/artifacts/{reference}",
        repo.replace('/', "%252F")
    );
    for _ in 0..300 {
        let resp = admin(s, Method::GET, &path, None).await;
        if resp.status() == StatusCode::OK {
            return resp.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{repo}:{reference} was not cached");
}

async fn project_id(s: &TestServer) -> i64 {
    let p: Value = get_json(&client(), s, "/api/v2.0/projects/hub").await;
    p["project_id"].as_i64().unwrap()
}

fn skopeo() -> Option<String> {
    harbor_storage::testing::service("HARBOR_TEST_SKOPEO", "skopeo")
}

/// `skopeo copy` of `hub/<image>` into a directory (which keeps the manifest's bytes);
/// the digest of the manifest it copied.
async fn skopeo_pull(skopeo: &str, s: &TestServer, image: &str, dir: &std::path::Path) -> String {
    // Not a blocking wait: the server runs on this test's runtime.
    let out = tokio::process::Command::new(skopeo)
        .args([
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &format!("admin:{ADMIN_PASSWORD}"),
            &format!("docker://{}/hub/{image}", s.addr),
            &format!("dir:{}", dir.display()),
        ])
        .output()
        .await
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Digest::sha256(&std::fs::read(dir.join("manifest.json")).unwrap()).to_string()
}

#[tokio::test]
async fn creating_a_proxy_cache_project() {
    let Some((_dist, s)) = set_up().await else {
        return;
    };
    let p: Value = get_json(&client(), &s, "/api/v2.0/projects/hub").await;
    let registry = p["registry_id"].as_i64().expect("registry_id shown");
    // Harbor's default policy: keep what was pulled in the last 7 days, daily.
    let retention = p["metadata"]["retention_id"]
        .as_str()
        .expect("a retention policy");
    let policy: Value = get_json(&client(), &s, &format!("/api/v2.0/retentions/{retention}")).await;
    assert_eq!(policy["rules"][0]["template"], "nDaysSinceLastPull");
    assert_eq!(policy["rules"][0]["params"]["nDaysSinceLastPull"], 7);
    assert_eq!(policy["trigger"]["settings"]["cron"], "0 0 0 * * *");

    // Only system administrators create them, of an existing registry.
    create_user(&s, "dev").await;
    let dev = as_user("dev", PASSWORD);
    let resp = send(
        &dev,
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "mine", "registry_id": registry})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "nowhere", "registry_id": 999})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("registry 999 not found")
    );
    // 0 is Harbor's "not a proxy cache".
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "plain", "registry_id": 0})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let plain: Value = get_json(&client(), &s, "/api/v2.0/projects/plain").await;
    assert!(plain.get("registry_id").is_none());

    // The registry cannot be deleted while the project caches it.
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/registries/{registry}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);

    // Pushes are refused with Harbor's message.
    let resp = client()
        .post(s.url("/v2/hub/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body = resp.text().await.unwrap();
    assert!(body.contains("DENIED"), "{body}");
    assert!(
        body.contains("can not push artifact to a proxy project: hub"),
        "{body}"
    );
    let resp = put_manifest_as(&client(), &s, "hub/app", "v1", b"{}").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pulls_through_revalidates_and_serves_the_cache_when_the_upstream_is_down() {
    let Some(skopeo) = skopeo() else { return };
    let Some((mut dist, s)) = set_up().await else {
        return;
    };
    let up = dist.client();
    let repo = rc::repo("library/app");
    let layers = [rc::random_bytes(300_000), rc::random_bytes(200_000)];
    let first = rc::push_image(&up, &repo, "1", &layers).await;

    // First pull: streamed through, each blob fetched from the upstream once.
    let work = tempfile::tempdir().unwrap();
    let got = skopeo_pull(&skopeo, &s, "library/app:1", &work.path().join("a")).await;
    assert_eq!(got, first.digest.as_str());
    let art = cached(&s, "library/app", "1").await;
    assert_eq!(art["digest"], first.digest.as_str());
    for b in &first.blobs {
        let d = Digest::sha256(b);
        assert_eq!(
            dist.requests(&["\"GET /v2/library/app/blobs/", d.as_str()]),
            1,
            "blob {d} fetched from the upstream once"
        );
    }
    // The project's quota counts what was cached.
    let q: Value = get_json(
        &client(),
        &s,
        &format!(
            "/api/v2.0/quotas?reference=project&reference_id={}",
            project_id(&s).await
        ),
    )
    .await;
    let used = q[0]["used"]["storage"].as_i64().unwrap_or(0);
    assert!(used >= 500_000, "quota used {used}: {q}");

    // A second pull is served from the cache: no blob is fetched again.
    let again = skopeo_pull(&skopeo, &s, "library/app:1", &work.path().join("b")).await;
    assert_eq!(again, first.digest.as_str());
    for b in &first.blobs {
        let d = Digest::sha256(b);
        assert_eq!(dist.requests(&["\"GET ", d.as_str()]), 1);
    }

    // The tag moves upstream: the next pull sees the new image and caches it.
    let second = rc::push_image(&up, &repo, "1", &[rc::random_bytes(100_000)]).await;
    let got = skopeo_pull(&skopeo, &s, "library/app:1", &work.path().join("c")).await;
    assert_eq!(got, second.digest.as_str());
    for _ in 0..300 {
        let art = cached(&s, "library/app", "1").await;
        if art["digest"] == second.digest.as_str() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        cached(&s, "library/app", "1").await["digest"],
        second.digest.as_str()
    );

    // An image never pulled, then the upstream goes away.
    rc::push_image(&up, &repo, "never", &[rc::random_bytes(1000)]).await;
    dist.stop().await;
    let got = skopeo_pull(&skopeo, &s, "library/app:1", &work.path().join("d")).await;
    assert_eq!(got, second.digest.as_str(), "served from the cache");
    let got = skopeo_pull(
        &skopeo,
        &s,
        &format!("library/app@{}", first.digest),
        &work.path().join("e"),
    )
    .await;
    assert_eq!(got, first.digest.as_str(), "the old image by digest");
    // What was never cached fails clearly.
    let resp = client()
        .get(s.url("/v2/hub/library/app/manifests/never"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = resp.text().await.unwrap();
    assert!(body.contains("upstream registry"), "{body}");
}

#[tokio::test]
async fn concurrent_first_pulls_fetch_each_blob_once() {
    let Some((dist, s)) = set_up().await else {
        return;
    };
    let repo = rc::repo("team/big");
    let layers: Vec<Bytes> = (0..3).map(|_| rc::random_bytes(1 << 20)).collect();
    let img = rc::push_image(&dist.client(), &repo, "v1", &layers).await;

    let local = rc::repo("hub/team/big");
    let pulls = (0..8).map(|_| {
        let c = harbor_client(&s);
        let local = local.clone();
        async move {
            let m = c
                .get_manifest(&local, &Reference::parse("v1").unwrap())
                .await
                .expect("manifest");
            let parsed = harbor_core::manifest::parse(Some(&m.media_type), &m.bytes).unwrap();
            let mut blobs = Vec::new();
            for b in &parsed.blobs {
                let stream = c
                    .get_blob(&local, &b.descriptor.digest)
                    .await
                    .expect("blob");
                blobs.push(rc::collect(stream).await.expect("blob bytes"));
            }
            (m.digest, blobs)
        }
    });
    for (digest, blobs) in futures::future::join_all(pulls).await {
        assert_eq!(digest, img.digest);
        assert_eq!(blobs, img.blobs, "every pull got the image's bytes");
    }
    for b in &img.blobs {
        let d = Digest::sha256(b);
        assert_eq!(
            dist.requests(&["\"GET /v2/team/big/blobs/", d.as_str()]),
            1,
            "blob {d} fetched from the upstream once for 8 pulls"
        );
    }
    assert_eq!(
        cached(&s, "team/big", "v1").await["digest"],
        img.digest.as_str()
    );

    // The default retention policy keeps it: its pull was recorded when it was cached.
    let p: Value = get_json(&client(), &s, "/api/v2.0/projects/hub").await;
    let policy = p["metadata"]["retention_id"].as_str().unwrap().to_owned();
    let mut retained = Value::Null;
    for _ in 0..20 {
        retained = retention_dry_run(&s, &policy).await;
        if retained["retained"] == 1 {
            break;
        }
        // Pull times are written in batches, every second.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(retained["repository"], "hub/team/big", "{retained}");
    assert_eq!(
        (&retained["retained"], &retained["deleted"]),
        (&json!(1), &json!(0)),
        "{retained}"
    );
}

/// A dry run of the retention policy `id`: its one task.
async fn retention_dry_run(s: &TestServer, id: &str) -> Value {
    let path = format!("/api/v2.0/retentions/{id}/executions");
    let resp = admin(s, Method::POST, &path, Some(json!({"dry_run": true}))).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let eid = location_id(&resp);
    for _ in 0..300 {
        let list: Vec<Value> = get_json(&client(), s, &path).await;
        let e = list
            .iter()
            .find(|e| e["id"] == eid)
            .cloned()
            .unwrap_or_default();
        if e["status"] == "Success" {
            let tasks: Vec<Value> = get_json(&client(), s, &format!("{path}/{eid}/tasks")).await;
            assert_eq!(tasks.len(), 1, "{tasks:?}");
            return tasks[0].clone();
        }
        assert!(
            !["Error", "Stopped"].contains(&e["status"].as_str().unwrap_or("")),
            "{e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the retention run did not finish");
}

#[tokio::test]
async fn an_index_is_cached_with_the_platforms_pulled() {
    let Some((mut dist, s)) = set_up().await else {
        return;
    };
    let repo = rc::repo("multi");
    let (index, children) = rc::push_index(&dist.client(), &repo, "v1").await;
    let c = harbor_client(&s);
    let local = rc::repo("hub/multi");
    let m = c
        .get_manifest(&local, &Reference::parse("v1").unwrap())
        .await
        .unwrap();
    assert_eq!(m.digest, index);
    // One platform only, as a client on amd64 pulls it.
    let amd64 = &children[0];
    let child = c
        .get_manifest(&local, &rc::by_digest(&amd64.digest))
        .await
        .unwrap();
    assert_eq!(child.bytes, amd64.manifest);
    for b in &amd64.blobs {
        let stream = c.get_blob(&local, &Digest::sha256(b)).await.unwrap();
        assert_eq!(&rc::collect(stream).await.unwrap(), b);
    }
    cached(&s, "multi", &amd64.digest.to_string()).await;
    cached(&s, "multi", "v1").await;

    dist.stop().await;
    // The index and the platform pulled are served; the other platform is not cached.
    let m = c
        .get_manifest(&local, &Reference::parse("v1").unwrap())
        .await
        .unwrap();
    assert_eq!(m.digest, index);
    let child = c
        .get_manifest(&local, &rc::by_digest(&amd64.digest))
        .await
        .unwrap();
    assert_eq!(child.digest, amd64.digest);
    let resp = client()
        .get(s.url(&format!("/v2/hub/multi/manifests/{}", children[1].digest)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The artifact listing copes with the platform that is not cached.
    let arts: Value = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/hub/repositories/multi/artifacts",
    )
    .await;
    assert!(
        arts.as_array()
            .unwrap()
            .iter()
            .any(|a| a["digest"] == index.as_str())
    );
}

#[tokio::test]
async fn a_lying_upstream_blob_is_neither_served_whole_nor_cached() {
    let Some((dist, s)) = set_up().await else {
        return;
    };
    let repo = rc::repo("app");
    let layer = rc::random_bytes(100_000);
    rc::push_image(&dist.client(), &repo, "v1", std::slice::from_ref(&layer)).await;
    // The upstream's copy rots on disk: same size, other bytes.
    let digest = Digest::sha256(&layer);
    let hex = digest.hex();
    let file = dist.data_path().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    std::fs::write(&file, rc::random_bytes(layer.len())).unwrap();

    let path = format!("/v2/hub/app/blobs/{digest}");
    for attempt in 1..=2 {
        let resp = client().get(s.url(&path)).send().await.unwrap();
        let body = resp.bytes().await;
        // The bytes stop before the end: never the whole wrong blob.
        assert!(
            body.as_ref().map_or(true, |b| b.len() < layer.len()),
            "attempt {attempt}: {} bytes",
            body.map(|b| b.len()).unwrap_or(0)
        );
        // Nothing was cached: the next pull asks the upstream again.
        for _ in 0..50 {
            if dist.requests(&["\"GET /v2/app/blobs/", digest.as_str()]) == attempt {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            dist.requests(&["\"GET /v2/app/blobs/", digest.as_str()]),
            attempt
        );
    }
}

#[tokio::test]
async fn a_blob_cached_for_one_repository_is_linked_into_another() {
    let Some((dist, s)) = set_up().await else {
        return;
    };
    let base = rc::random_bytes(500_000);
    let up = dist.client();
    let one = rc::push_image(&up, &rc::repo("one"), "v1", std::slice::from_ref(&base)).await;
    let two = rc::push_image(&up, &rc::repo("two"), "v1", std::slice::from_ref(&base)).await;
    let c = harbor_client(&s);
    for (name, img) in [("hub/one", &one), ("hub/two", &two)] {
        let local = rc::repo(name);
        let m = c
            .get_manifest(&local, &Reference::parse("v1").unwrap())
            .await
            .unwrap();
        assert_eq!(m.digest, img.digest);
        for b in &img.blobs {
            let stream = c.get_blob(&local, &Digest::sha256(b)).await.unwrap();
            assert_eq!(&rc::collect(stream).await.unwrap(), b);
        }
    }
    // The shared layer crossed once; the second repository asked only whether it has it.
    let d = Digest::sha256(&base);
    assert_eq!(dist.requests(&["\"GET /v2/", d.as_str()]), 1);
    // (Seeding asked too, answered 404.)
    assert_eq!(
        dist.requests(&["\"HEAD /v2/two/blobs/", d.as_str(), "\" 200 "]),
        1
    );
    assert_eq!(cached(&s, "two", "v1").await["digest"], two.digest.as_str());

    // Two repositories pulled at once: one fetch, the other waits and links.
    let base = rc::random_bytes(500_000);
    let three = rc::push_image(&up, &rc::repo("three"), "v1", std::slice::from_ref(&base)).await;
    let four = rc::push_image(&up, &rc::repo("four"), "v1", std::slice::from_ref(&base)).await;
    let d = Digest::sha256(&base);
    let pulls = [("hub/three", &three), ("hub/four", &four)].map(|(name, img)| {
        let c = harbor_client(&s);
        let local = rc::repo(name);
        let want = Bytes::clone(&base);
        let d = d.clone();
        async move {
            let stream = c.get_blob(&local, &d).await.unwrap();
            assert_eq!(rc::collect(stream).await.unwrap(), want);
            img.digest.clone()
        }
    });
    futures::future::join_all(pulls).await;
    assert_eq!(dist.requests(&["\"GET /v2/", d.as_str()]), 1);
}
