//! Replication between real registries on loopback: this server and a second Harbor-rs
//! server (push-based), CNCF Distribution with Basic authentication (pull-based and
//! event-based), policies' validation, executions, tasks, logs and stop.

use std::time::Duration;

use harbor_core::{Digest, Reference};
use harbor_remote::{Client, Credential};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::remote_common::{self as rc, Distribution};
use crate::support::*;

/// A client of a Harbor-rs test server as its administrator.
fn harbor_client(s: &TestServer) -> Client {
    rc::client_for(&s.base, Some(Credential::basic("admin", ADMIN_PASSWORD)))
}

async fn add_registry(
    s: &TestServer,
    name: &str,
    kind: &str,
    url: &str,
    creds: Option<(&str, &str)>,
) -> i64 {
    let mut body = json!({"name": name, "type": kind, "url": url});
    if let Some((u, p)) = creds {
        body["credential"] = json!({"type": "basic", "access_key": u, "access_secret": p});
    }
    let resp = admin(s, Method::POST, "/api/v2.0/registries", Some(body)).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "add registry {name}");
    location_id(&resp)
}

async fn add_policy(s: &TestServer, body: Value) -> i64 {
    let resp = admin(
        s,
        Method::POST,
        "/api/v2.0/replication/policies",
        Some(body.clone()),
    )
    .await;
    let status = resp.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{body}: {}",
        resp.text().await.unwrap()
    );
    location_id(&resp)
}

async fn start(s: &TestServer, policy: i64) -> i64 {
    let resp = admin(
        s,
        Method::POST,
        "/api/v2.0/replication/executions",
        Some(json!({"policy_id": policy})),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    location_id(&resp)
}

/// The execution once it has ended (60 s at most).
async fn finished(s: &TestServer, id: i64) -> Value {
    for _ in 0..600 {
        let e: Value = get_json(
            &client(),
            s,
            &format!("/api/v2.0/replication/executions/{id}"),
        )
        .await;
        if e["status"] != "InProgress" {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("execution {id} did not end");
}

async fn tasks(s: &TestServer, execution: i64) -> Vec<Value> {
    get_json(
        &client(),
        s,
        &format!("/api/v2.0/replication/executions/{execution}/tasks"),
    )
    .await
}

async fn log(s: &TestServer, execution: i64, task: i64) -> String {
    let resp = get(
        &client(),
        s,
        &format!("/api/v2.0/replication/executions/{execution}/tasks/{task}/log"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

async fn digest_at(c: &Client, repo: &str, reference: &str) -> Option<Digest> {
    c.head_manifest(&rc::repo(repo), &Reference::parse(reference).unwrap())
        .await
        .unwrap()
        .map(|d| d.digest)
}

#[tokio::test]
async fn push_based_replication_copies_images_indexes_and_referrers_to_another_harbor() {
    let src = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    // Pushes do not create projects there: replication creates them through the API.
    let dst = TestServer::start_configured(|c| c.auth.auto_create_projects = false).await;
    let (sc, dc) = (harbor_client(&src), harbor_client(&dst));
    let repo = rc::repo("library/app");
    let shared = rc::random_bytes(50_000);
    let v1 = rc::push_image(&sc, &repo, "v1", &[shared.clone(), rc::random_bytes(3000)]).await;
    let v2 = rc::push_image(&sc, &repo, "v2", &[shared, rc::random_bytes(3000)]).await;
    let (index, _) = rc::push_index(&sc, &repo, "multi").await;
    let signature = rc::push_referrer(&sc, &repo, &v1.digest, v1.manifest.len() as u64).await;
    // Not selected by the name filter.
    rc::push_image(
        &sc,
        &rc::repo("library/other"),
        "v1",
        &[rc::random_bytes(100)],
    )
    .await;

    let reg = add_registry(
        &src,
        "dr",
        "harbor",
        &dst.base,
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    let policy = add_policy(
        &src,
        json!({
            "name": "to-dr", "dest_registry": {"id": reg}, "enabled": true, "override": true,
            "dest_namespace": "drteam", "dest_namespace_replace_count": 1,
            "filters": [{"type": "name", "value": "library/app"},
                        {"type": "tag", "value": "tmp-*", "decoration": "excludes"}],
            "trigger": {"type": "manual"},
        }),
    )
    .await;
    let p: Value = get_json(
        &client(),
        &src,
        &format!("/api/v2.0/replication/policies/{policy}"),
    )
    .await;
    assert_eq!(p["src_registry"]["name"], "Local");
    assert_eq!(p["dest_registry"]["id"], reg);
    assert_eq!(p["dest_registry"]["credential"]["access_secret"], "*****");
    let typed: harbor_api_model::ReplicationPolicy = serde_json::from_value(p).unwrap();
    assert_eq!(typed.filters.len(), 2);

    let e = start(&src, policy).await;
    let done = finished(&src, e).await;
    assert_eq!(done["status"], "Succeed", "{done}");
    assert_eq!(
        (done["total"].as_i64(), done["succeed"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(done["trigger"], "manual");
    assert!(done["end_time"].is_string());
    for (tag, digest) in [("v1", &v1.digest), ("v2", &v2.digest), ("multi", &index)] {
        assert_eq!(
            digest_at(&dc, "drteam/app", tag).await.as_ref(),
            Some(digest),
            "{tag}"
        );
    }
    assert_eq!(
        digest_at(&dc, "drteam/app", "tmp-amd64").await,
        None,
        "excluded tag"
    );
    assert_eq!(
        digest_at(&dc, "drteam/app", signature.as_str())
            .await
            .as_ref(),
        Some(&signature),
        "the signature follows its subject"
    );
    let referrers = dc
        .referrers(&rc::repo("drteam/app"), &v1.digest)
        .await
        .unwrap();
    assert_eq!(referrers.len(), 1);
    assert_eq!(
        digest_at(&dc, "library/other", "v1").await,
        None,
        "not selected"
    );
    let t = tasks(&src, e).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["status"], "Succeed");
    assert_eq!(t[0]["operation"], "copy");
    assert_eq!(t[0]["src_resource"], "library/app [3 item(s) in total]");
    assert_eq!(t[0]["dst_resource"], "drteam/app");
    let text = log(&src, e, t[0]["id"].as_i64().unwrap()).await;
    assert!(text.contains("v1: copied"), "{text}");
    assert!(text.contains("Succeed: 3 of 3 done"), "{text}");

    // Again: everything is there already.
    let e2 = start(&src, policy).await;
    assert_eq!(finished(&src, e2).await["status"], "Succeed");
    let t = tasks(&src, e2).await;
    let text = log(&src, e2, t[0]["id"].as_i64().unwrap()).await;
    assert!(text.contains("v1: up to date"), "{text}");
    let list: Vec<Value> = get_json(
        &client(),
        &src,
        &format!("/api/v2.0/replication/executions?policy_id={policy}"),
    )
    .await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], e2, "newest first");

    // The registry cannot go while the policy uses it.
    let resp = admin(
        &src,
        Method::DELETE,
        &format!("/api/v2.0/registries/{reg}"),
        None,
    )
    .await;
    harbor_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION").await;
}

#[tokio::test]
async fn pull_based_replication_from_distribution_with_auth_filters_and_namespace() {
    let Some(dist) = Distribution::start(Some(("puller", "pull-pw"))).await else {
        return;
    };
    let remote = dist.client_as("puller", "pull-pw");
    let app = rc::repo("team/a/app");
    let v1 = rc::push_image(&remote, &app, "v1", &[rc::random_bytes(20_000)]).await;
    let v2 = rc::push_image(&remote, &app, "v2", &[rc::random_bytes(20_000)]).await;
    rc::push_image(&remote, &app, "latest", &[rc::random_bytes(100)]).await;
    rc::push_image(
        &remote,
        &rc::repo("other/x"),
        "v1",
        &[rc::random_bytes(100)],
    )
    .await;

    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    // Wrong credentials: the failure says so.
    let bad = add_registry(
        &s,
        "dist-bad",
        "docker-registry",
        &dist.url,
        Some(("puller", "nope")),
    )
    .await;
    let policy = add_policy(
        &s,
        json!({"name": "bad", "src_registry": {"id": bad}, "enabled": true,
               "filters": [{"type": "name", "value": "team/**"}]}),
    )
    .await;
    let e = start(&s, policy).await;
    let done = finished(&s, e).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(
        done["status_text"]
            .as_str()
            .unwrap()
            .contains("unauthorized"),
        "{done}"
    );

    let reg = add_registry(
        &s,
        "dist",
        "docker-registry",
        &dist.url,
        Some(("puller", "pull-pw")),
    )
    .await;
    let policy = add_policy(
        &s,
        json!({
            "name": "mirror", "src_registry": {"id": reg}, "enabled": true,
            "dest_namespace": "mirror", "dest_namespace_replace_count": -1,
            "filters": [{"type": "name", "value": "team/**"}, {"type": "tag", "value": "v*"}],
            "trigger": {"type": "manual"}, "speed": -1,
        }),
    )
    .await;
    let e = start(&s, policy).await;
    let done = finished(&s, e).await;
    assert_eq!(done["status"], "Succeed", "{done}");
    let local = harbor_client(&s);
    assert_eq!(digest_at(&local, "mirror/app", "v1").await, Some(v1.digest));
    assert_eq!(digest_at(&local, "mirror/app", "v2").await, Some(v2.digest));
    assert_eq!(
        digest_at(&local, "mirror/app", "latest").await,
        None,
        "tag filter"
    );
    // The destination project was created, private, and its quota counts the copy.
    let project: Value = get_json(&client(), &s, "/api/v2.0/projects/mirror").await;
    assert_eq!(project["metadata"]["public"], "false");
    let summary: Value = get_json(&client(), &s, "/api/v2.0/projects/mirror/summary").await;
    assert!(
        summary["quota"]["used"]["storage"].as_i64().unwrap() > 40_000,
        "{summary}"
    );
    // Only team/**: other/x is not copied anywhere.
    let repos: Vec<Value> = get_json(&client(), &s, "/api/v2.0/repositories?q=name%3D~x").await;
    assert!(repos.iter().all(|r| r["name"] != "mirror/x"), "{repos:?}");
    // The pushes into this registry are attributed to the replication.
    let mut logs: Vec<Value> = Vec::new();
    for _ in 0..100 {
        logs = get_json(
            &client(),
            &s,
            "/api/v2.0/audit-logs?q=resource%3D~mirror/app",
        )
        .await;
        if !logs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        logs.iter().any(|l| l["username"] == "replication:mirror"),
        "{logs:?}"
    );
}

#[tokio::test]
async fn event_based_replication_follows_pushes_and_deletes() {
    let Some(dist) = Distribution::start(None).await else {
        return;
    };
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let reg = add_registry(&s, "dist", "docker-registry", &dist.url, None).await;
    add_policy(
        &s,
        json!({"name": "follow", "dest_registry": {"id": reg}, "enabled": true,
               "deletion": true, "override": true,
               "filters": [{"type": "name", "value": "library/ev*"}],
               "trigger": {"type": "event_based"}}),
    )
    .await;
    let remote = dist.client();
    let (digest, _) = push_image(&s, "library/events", "v1", 7).await;
    let digest: Digest = Digest::parse(&digest).unwrap();
    let mut seen = None;
    for _ in 0..300 {
        seen = digest_at(&remote, "library/events", "v1").await;
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(digest.clone()), "the push was replicated");
    // A repository the filter does not select is not replicated.
    push_image(&s, "library/quiet", "v1", 8).await;

    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/projects/library/repositories/events/artifacts/{digest}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut gone = false;
    for _ in 0..300 {
        if digest_at(&remote, "library/events", digest.as_str())
            .await
            .is_none()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the delete was replicated");
    assert_eq!(digest_at(&remote, "library/quiet", "v1").await, None);
    let list: Vec<Value> = get_json(&client(), &s, "/api/v2.0/replication/executions").await;
    assert!(
        list.iter().all(|e| e["trigger"] == "event_based"),
        "{list:?}"
    );
    assert!(list.len() >= 2, "{list:?}");
}

#[tokio::test]
async fn an_unreachable_destination_fails_its_task_clearly_and_stops_on_request() {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    push_image(&s, "library/app", "v1", 1).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let reg = add_registry(
        &s,
        "down",
        "docker-registry",
        &format!("http://{closed}"),
        None,
    )
    .await;
    let policy = add_policy(
        &s,
        json!({"name": "down", "dest_registry": {"id": reg}, "enabled": true}),
    )
    .await;
    let e = start(&s, policy).await;
    // The first attempt fails with a network error and waits for a retry.
    let mut text = String::new();
    for _ in 0..300 {
        if let Some(t) = tasks(&s, e).await.first() {
            text = log(&s, e, t["id"].as_i64().unwrap()).await;
            if text.contains("failed") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("network error") && text.contains("retried later"),
        "{text}"
    );
    let now: Value = get_json(
        &client(),
        &s,
        &format!("/api/v2.0/replication/executions/{e}"),
    )
    .await;
    assert_eq!(now["status"], "InProgress", "retried later: {now}");
    // A second start while it is in progress is refused.
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/replication/executions",
        Some(json!({"policy_id": policy})),
    )
    .await;
    harbor_error(resp, StatusCode::CONFLICT, "CONFLICT").await;
    // So is deleting its policy.
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/replication/policies/{policy}"),
        None,
    )
    .await;
    harbor_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION").await;
    // Stop.
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/replication/executions/{e}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let done = finished(&s, e).await;
    assert_eq!(done["status"], "Stopped", "{done}");
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/replication/policies/{policy}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_policies_are_refused_and_policies_are_for_administrators() {
    let s = TestServer::start().await;
    let reg = add_registry(&s, "r", "docker-registry", "https://r.example.com", None).await;
    for (body, status) in [
        (json!({"name": "a"}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "a", "src_registry": {"id": reg}, "dest_registry": {"id": reg}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": 999}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": reg}, "filters": [{"type": "name", "value": "[x"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": reg}, "filters": [{"type": "color", "value": "x"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": reg}, "trigger": {"type": "scheduled", "trigger_settings": {"cron": "* * * * * *"}}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": reg}, "trigger": {"type": "scheduled", "trigger_settings": {"cron": "nonsense"}}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "src_registry": {"id": reg}, "trigger": {"type": "event_based"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": reg}, "dest_namespace": "Not Valid"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "a", "dest_registry": {"id": reg}, "speed": -5}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let resp = admin(
            &s,
            Method::POST,
            "/api/v2.0/replication/policies",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            resp.status(),
            status,
            "{body}: {}",
            resp.text().await.unwrap()
        );
    }
    let id = add_policy(
        &s,
        json!({"name": "nightly", "dest_registry": {"id": reg}, "enabled": false,
               "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *"}}}),
    )
    .await;
    let dup = admin(
        &s,
        Method::POST,
        "/api/v2.0/replication/policies",
        Some(json!({"name": "nightly", "dest_registry": {"id": reg}})),
    )
    .await;
    harbor_error(dup, StatusCode::CONFLICT, "CONFLICT").await;
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/replication/executions",
        Some(json!({"policy_id": id})),
    )
    .await;
    let err = harbor_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION").await;
    assert!(err.to_string().contains("disabled"), "{err}");
    // Enabled, its schedule exists.
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/replication/policies/{id}"),
        Some(
            json!({"name": "nightly", "dest_registry": {"id": reg}, "enabled": true,
                    "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *"}}}),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let schedules: Vec<Value> = get_json(&client(), &s, "/api/v2.0/schedules").await;
    assert!(
        schedules.iter().any(|x| x["vendor_type"] == "REPLICATION"),
        "{schedules:?}"
    );
    let p: Value = get_json(
        &client(),
        &s,
        &format!("/api/v2.0/replication/policies/{id}"),
    )
    .await;
    assert_eq!(p["trigger"]["trigger_settings"]["cron"], "0 0 2 * * *");
    assert_eq!(p["enabled"], true);

    create_user(&s, "dev").await;
    let dev = as_user("dev", PASSWORD);
    for (method, path) in [
        (Method::GET, "/api/v2.0/replication/policies".to_owned()),
        (Method::GET, format!("/api/v2.0/replication/policies/{id}")),
        (
            Method::DELETE,
            format!("/api/v2.0/replication/policies/{id}"),
        ),
        (Method::GET, "/api/v2.0/replication/executions".to_owned()),
    ] {
        let resp = send(&dev, &s, method.clone(), &path, None).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let resp = send(&anon_client(), &s, method.clone(), &path, None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let resp = admin(
        &s,
        Method::GET,
        "/api/v2.0/replication/executions/999",
        None,
    )
    .await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/replication/policies/{id}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/registries/{reg}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "no policy uses it any more");
}

#[tokio::test]
async fn an_execution_interrupted_by_a_restart_resumes_without_copying_twice() {
    let Some(dist) = Distribution::start(None).await else {
        return;
    };
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let local = harbor_client(&s);
    let repo = rc::repo("library/big");
    let mut digests = Vec::new();
    for i in 0..8 {
        let img = rc::push_image(
            &local,
            &repo,
            &format!("t{i}"),
            &[rc::random_bytes(300_000)],
        )
        .await;
        digests.push(img.digest);
    }
    let reg = add_registry(&s, "dist", "docker-registry", &dist.url, None).await;
    // 1600 kbit/s = 200 KB/s after a 1000 KiB burst: about 7 s for the 2.4 MB.
    let policy = add_policy(
        &s,
        json!({"name": "slow", "dest_registry": {"id": reg}, "enabled": true, "speed": 1600,
               "filters": [{"type": "name", "value": "library/big"}]}),
    )
    .await;
    let e = start(&s, policy).await;
    let mut copied_before = 0;
    for _ in 0..300 {
        if let Some(t) = tasks(&s, e).await.first() {
            let text = log(&s, e, t["id"].as_i64().unwrap()).await;
            copied_before = text.matches(": copied").count();
            if copied_before >= 2 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        (2..8).contains(&copied_before),
        "{copied_before} copied before the restart"
    );

    let s = s.restart().await;
    let done = finished(&s, e).await;
    assert_eq!(done["status"], "Succeed", "{done}");
    let t = tasks(&s, e).await;
    let text = log(&s, e, t[0]["id"].as_i64().unwrap()).await;
    assert!(text.contains("resuming:"), "{text}");
    assert_eq!(text.matches(": copied").count(), 8, "each once: {text}");
    let remote = dist.client();
    for (i, d) in digests.iter().enumerate() {
        assert_eq!(
            digest_at(&remote, "library/big", &format!("t{i}"))
                .await
                .as_ref(),
            Some(d)
        );
    }
}

/// The PATCH requests a server answered on its upload route, from its metrics.
async fn upload_patches(s: &TestServer) -> u64 {
    let text = get(&client(), s, "/metrics").await.text().await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("harbor_http_requests_total")
                && l.contains("method=\"PATCH\"")
                && l.contains("route=\"upload\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn copy_by_chunk_pushes_large_blobs_in_pieces() {
    let src = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let dst = TestServer::start().await;
    let big = rc::random_bytes(12 * 1024 * 1024);
    let img = rc::push_image(&harbor_client(&src), &rc::repo("library/big"), "v1", &[big]).await;
    let reg = add_registry(
        &src,
        "dr",
        "harbor",
        &dst.base,
        Some(("admin", ADMIN_PASSWORD)),
    )
    .await;
    let policy = add_policy(
        &src,
        json!({"name": "chunks", "dest_registry": {"id": reg}, "enabled": true,
               "copy_by_chunk": true, "filters": [{"type": "name", "value": "library/big"}]}),
    )
    .await;
    let before = upload_patches(&dst).await;
    let e = start(&src, policy).await;
    assert_eq!(finished(&src, e).await["status"], "Succeed");
    assert_eq!(
        digest_at(&harbor_client(&dst), "library/big", "v1").await,
        Some(img.digest)
    );
    // A 12 MiB layer in 10 MiB pieces: two PATCHes (the small config goes in one).
    assert!(
        upload_patches(&dst).await - before >= 2,
        "no chunked upload seen"
    );
}
