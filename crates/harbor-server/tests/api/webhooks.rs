//! Webhooks against a real HTTP receiver on loopback (an axum server of the test's own):
//! Harbor's policy API and its checks, every payload format field by field, retries until
//! a receiver succeeds (and never after), time-outs that do not slow pushes, refusals that
//! end a delivery at once, and the circuit breaker.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use crate::support::*;

/// A server that may send to loopback receivers, retrying fast.
async fn server(tweak: impl FnOnce(&mut harbor_server::config::Config)) -> TestServer {
    TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.webhook.backoff_ms = 20;
        tweak(c);
    })
    .await
}

async fn create_policy(s: &TestServer, project: &str, body: Value) -> i64 {
    let resp = admin(
        s,
        Method::POST,
        &format!("/api/v2.0/projects/{project}/webhook/policies"),
        Some(body),
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

fn policy(name: &str, targets: Value, events: &[&str]) -> Value {
    json!({"name": name, "targets": targets, "event_types": events, "enabled": true})
}

async fn executions(s: &TestServer, project: &str, id: i64) -> Vec<Value> {
    get_json(
        &client(),
        s,
        &format!("/api/v2.0/projects/{project}/webhook/policies/{id}/executions"),
    )
    .await
}

/// Waits until every execution of the policy has ended; returns them.
async fn settled(s: &TestServer, project: &str, id: i64, n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let list = executions(s, project, id).await;
        if list.len() >= n
            && list
                .iter()
                .all(|e| matches!(e["status"].as_str(), Some("Success" | "Error" | "Stopped")))
        {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "executions did not end: {:?}",
        executions(s, project, id).await
    );
}

#[tokio::test]
async fn policies_follow_harbors_api_and_checks() {
    let s = server(|_| {}).await;
    create_project(&s, "hooks", false).await;
    let base = "/api/v2.0/projects/hooks/webhook/policies";
    let id = create_policy(
        &s,
        "hooks",
        json!({
            "name": "ci",
            "description": "to CI",
            "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook?token=secret#x",
                         "auth_header": "Bearer s3cret", "payload_format": "CloudEvents"},
                        {"type": "slack", "address": "https://hooks.slack.example/services/T/B"}],
            "event_types": ["PUSH_ARTIFACT", "PULL_ARTIFACT", "PUSH_ARTIFACT"],
        }),
    )
    .await;
    let p: Value = get_json(&client(), &s, &format!("{base}/{id}")).await;
    assert_eq!(p["name"], "ci");
    assert_eq!(p["description"], "to CI");
    assert_eq!(p["enabled"], true, "enabled unless said otherwise");
    assert_eq!(p["creator"], "admin");
    assert!(p["project_id"].as_i64().unwrap() > 0);
    assert!(p["creation_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(p["event_types"], json!(["PUSH_ARTIFACT", "PULL_ARTIFACT"]));
    // Harbor's guard: the query and fragment are dropped. The header is never shown.
    assert_eq!(p["targets"][0]["address"], "http://127.0.0.1:9/hook");
    assert_eq!(p["targets"][0]["auth_header"], "*****");
    assert_eq!(p["targets"][0]["payload_format"], "CloudEvents");
    assert_eq!(p["targets"][1]["type"], "slack");
    assert!(p["targets"][1].get("payload_format").is_none());
    assert!(p["targets"][1].get("auth_header").is_none());

    // Listing, with Harbor's total header.
    let resp = admin(&s, Method::GET, base, None).await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("1"));
    let list: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(list[0]["id"], id);

    // An update sending the mask keeps the header; the name must stay unique.
    let mut changed = p.clone();
    changed["enabled"] = json!(false);
    changed["event_types"] = json!(["DELETE_ARTIFACT"]);
    let resp = admin(&s, Method::PUT, &format!("{base}/{id}"), Some(changed)).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let p: Value = get_json(&client(), &s, &format!("{base}/{id}")).await;
    assert_eq!(p["enabled"], false);
    assert_eq!(p["event_types"], json!(["DELETE_ARTIFACT"]));
    assert_eq!(p["targets"][0]["auth_header"], "*****");
    // The mask cannot carry a header over to another address.
    let mut moved = p.clone();
    moved["targets"][0]["address"] = json!("https://ci.example.com/other");
    let resp = admin(&s, Method::PUT, &format!("{base}/{id}"), Some(moved)).await;
    let body = harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(body.to_string().contains("give the header again"), "{body}");
    let dup = admin(
        &s,
        Method::POST,
        base,
        Some(policy(
            "ci",
            json!([{"address": "https://ci.example.com/"}]),
            &["PUSH_ARTIFACT"],
        )),
    )
    .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);

    // What can be chosen, and the last triggers (none yet).
    let events: Value = get_json(&client(), &s, "/api/v2.0/projects/hooks/webhook/events").await;
    assert_eq!(events["event_type"].as_array().unwrap().len(), 10);
    assert!(
        events["event_type"]
            .as_array()
            .unwrap()
            .contains(&json!("TAG_RETENTION"))
    );
    assert_eq!(events["notify_type"], json!(["http", "slack"]));
    assert_eq!(
        events["payload_formats"][0],
        json!({"notify_type": "http", "formats": ["Default", "CloudEvents"]})
    );
    let last: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/hooks/webhook/lasttrigger",
    )
    .await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["policy_name"], "ci");
    assert_eq!(last[0]["event_type"], "DELETE_ARTIFACT");
    assert!(last[0].get("last_trigger_time").is_none());

    // Bad input: a clear 400 each.
    let long = "x".repeat(5000);
    for (target, events, why) in [
        (
            json!({"address": "ftp://example.com/"}),
            vec!["PUSH_ARTIFACT"],
            "http",
        ),
        (
            json!({"address": "file:///etc/passwd"}),
            vec!["PUSH_ARTIFACT"],
            "http",
        ),
        (
            json!({"address": "http://u:p@example.com/"}),
            vec!["PUSH_ARTIFACT"],
            "credentials",
        ),
        (
            json!({"address": "http://169.254.169.254/latest"}),
            vec!["PUSH_ARTIFACT"],
            "allowed_hosts",
        ),
        (
            json!({"address": "http://10.1.2.3/"}),
            vec!["PUSH_ARTIFACT"],
            "allowed_hosts",
        ),
        (
            json!({"address": "https://e.com/", "auth_header": long}),
            vec!["PUSH_ARTIFACT"],
            "4096",
        ),
        (
            json!({"address": "https://e.com/", "auth_header": "a\r\nX-Evil: 1"}),
            vec!["PUSH_ARTIFACT"],
            "ASCII",
        ),
        (
            json!({"address": "https://e.com/", "type": "teams"}),
            vec!["PUSH_ARTIFACT"],
            "teams",
        ),
        (
            json!({"address": "https://e.com/", "payload_format": "Xml"}),
            vec!["PUSH_ARTIFACT"],
            "Xml",
        ),
        (
            json!({"address": "https://e.com/", "type": "slack", "payload_format": "CloudEvents"}),
            vec!["PUSH_ARTIFACT"],
            "slack",
        ),
        (json!({"address": "https://e.com/"}), vec!["PUSH"], "PUSH"),
        (json!({"address": "https://e.com/"}), vec![], "event type"),
    ] {
        let resp = admin(
            &s,
            Method::POST,
            base,
            Some(policy("bad", json!([target]), &events)),
        )
        .await;
        let body = harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(body.to_string().contains(why), "{target}: {body}");
    }
    let no_target = admin(
        &s,
        Method::POST,
        base,
        Some(policy("bad", json!([]), &["PUSH_ARTIFACT"])),
    )
    .await;
    assert_eq!(no_target.status(), StatusCode::BAD_REQUEST);

    // Permissions: maintainers read, developers see nothing, strangers not the project.
    create_user(&s, "maint").await;
    create_user(&s, "dev").await;
    create_user(&s, "stranger").await;
    add_member(&s, "hooks", "maint", 4).await;
    add_member(&s, "hooks", "dev", 2).await;
    let maint = as_user("maint", PASSWORD);
    assert_eq!(
        status_of(&maint, &s, &format!("{base}/{id}")).await,
        StatusCode::OK
    );
    let body = policy(
        "m",
        json!([{"address": "https://e.com/"}]),
        &["PUSH_ARTIFACT"],
    );
    let resp = send(&maint, &s, Method::POST, base, Some(body.clone())).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = send(&maint, &s, Method::DELETE, &format!("{base}/{id}"), None).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let dev = as_user("dev", PASSWORD);
    assert_eq!(status_of(&dev, &s, base).await, StatusCode::FORBIDDEN);
    let stranger = as_user("stranger", PASSWORD);
    assert_eq!(status_of(&stranger, &s, base).await, StatusCode::NOT_FOUND);
    assert_eq!(
        status_of(&anon_client(), &s, base).await,
        StatusCode::UNAUTHORIZED
    );

    // Deleted: gone, and the change is in the audit log.
    let resp = admin(&s, Method::DELETE, &format!("{base}/{id}"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        status_of(&client(), &s, &format!("{base}/{id}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(&client(), &s, &format!("{base}/999")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(&client(), &s, &format!("{base}/x")).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn events_reach_receivers_in_harbors_formats() {
    let s = server(|_| {}).await;
    let rx = Receiver::start().await;
    create_project(&s, "hooks", false).await;
    let id = create_policy(
        &s,
        "hooks",
        policy(
            "all",
            json!([
                {"type": "http", "address": rx.url("/default"), "auth_header": "Bearer abc"},
                {"type": "http", "address": rx.url("/cloud"), "payload_format": "CloudEvents"},
                {"type": "slack", "address": rx.url("/slack")},
            ]),
            &["PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"],
        ),
    )
    .await;
    let before = harbor_core::model::now_ms() / 1000;
    let (digest, _) = push_image(&s, "hooks/app", "v1", 1).await;
    let got = rx.wait_for(3).await;
    let by_path = |p: &str| got.iter().find(|r| r.path == p).unwrap().clone();

    // Harbor's Default payload.
    let d = by_path("/default");
    assert_eq!(header(&d.headers, "content-type"), Some("application/json"));
    assert_eq!(header(&d.headers, "authorization"), Some("Bearer abc"));
    let key = header(&d.headers, "webhook-id").unwrap().to_owned();
    assert_eq!(key.len(), 36, "a UUID: {key}");
    let b = &d.body;
    assert_eq!(b["type"], "PUSH_ARTIFACT");
    assert!(b["occur_at"].as_i64().unwrap() >= before);
    assert_eq!(b["operator"], "admin");
    let host = s.addr.to_string();
    assert_eq!(
        b["event_data"]["resources"],
        json!([{"digest": digest, "tag": "v1", "resource_url": format!("{host}/hooks/app:v1")}])
    );
    let repo = &b["event_data"]["repository"];
    assert_eq!(repo["name"], "app");
    assert_eq!(repo["namespace"], "hooks");
    assert_eq!(repo["repo_full_name"], "hooks/app");
    assert_eq!(repo["repo_type"], "private");
    assert!(repo["date_created"].as_i64().unwrap() >= before - 1);

    // CloudEvents 1.0, structured: the same data.
    let c = by_path("/cloud");
    assert_eq!(
        header(&c.headers, "content-type"),
        Some("application/cloudevents+json")
    );
    assert!(header(&c.headers, "authorization").is_none());
    let ce = &c.body;
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["id"].as_str(), header(&c.headers, "webhook-id"));
    assert_ne!(
        ce["id"].as_str(),
        Some(key.as_str()),
        "one key per delivery"
    );
    assert_eq!(ce["type"], "harbor.artifact.pushed");
    let project_id =
        get_json::<Value>(&client(), &s, "/api/v2.0/projects/hooks").await["project_id"]
            .as_i64()
            .unwrap();
    assert_eq!(
        ce["source"],
        format!("/projects/{project_id}/webhook/policies/{id}")
    );
    assert_eq!(ce["datacontenttype"], "application/json");
    assert_eq!(ce["operator"], "admin");
    assert!(ce["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ce["data"], b["event_data"]);

    // Slack's Block Kit message.
    let sl = by_path("/slack");
    let blocks = sl.body["blocks"].as_array().unwrap();
    assert!(
        blocks[1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("PUSH_ARTIFACT")
    );
    assert!(
        blocks[2]["text"]["text"]
            .as_str()
            .unwrap()
            .contains(&digest)
    );

    // A pull by tag and a delete, in order, to each target.
    let resp = client()
        .get(s.url("/v2/hooks/app/manifests/v1"))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let got = rx.wait_for(6).await;
    let pull = got[3..].iter().find(|r| r.path == "/default").unwrap();
    assert_eq!(pull.body["type"], "PULL_ARTIFACT");
    assert_eq!(pull.body["event_data"]["resources"][0]["tag"], "v1");
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/projects/hooks/repositories/app/artifacts/{digest}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let got = rx.wait_for(9).await;
    let types: Vec<&str> = got
        .iter()
        .filter(|r| r.path == "/default")
        .map(|r| r.body["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"]);
    let deleted = got.iter().rev().find(|r| r.path == "/default").unwrap();
    assert_eq!(
        deleted.body["event_data"]["resources"][0]["resource_url"],
        format!("{host}/hooks/app@{digest}")
    );

    // Executions, tasks and logs say what happened; the last trigger is recorded.
    let list = settled(&s, "hooks", id, 9).await;
    assert_eq!(list.len(), 9);
    let e = &list[0];
    assert_eq!(e["status"], "Success");
    assert_eq!(e["trigger"], "EVENT");
    assert_eq!(e["vendor_id"], id);
    assert!(matches!(
        e["vendor_type"].as_str(),
        Some("WEBHOOK" | "SLACK")
    ));
    assert_eq!(e["metrics"]["success_task_count"], 1);
    assert!(
        e["extra_attrs"]["payload"]
            .as_str()
            .unwrap()
            .contains("DELETE_ARTIFACT")
    );
    let eid = e["id"].as_i64().unwrap();
    let base = format!("/api/v2.0/projects/hooks/webhook/policies/{id}/executions/{eid}");
    let tasks: Vec<Value> = get_json(&client(), &s, &format!("{base}/tasks")).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["run_count"], 1);
    assert_eq!(tasks[0]["status"], "Success");
    let log = client()
        .get(s.url(&format!("{base}/tasks/{eid}/log")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("attempt 1: HTTP 200"), "{log}");
    let last: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/hooks/webhook/lasttrigger",
    )
    .await;
    assert_eq!(last.len(), 3);
    assert!(
        last.iter().all(|t| t["last_trigger_time"].is_string()),
        "{last:?}"
    );
    // Another project's policy is not reachable through this one.
    create_project(&s, "other", false).await;
    let wrong = format!("/api/v2.0/projects/other/webhook/policies/{id}/executions");
    assert_eq!(
        status_of(&client(), &s, &wrong).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_again_until_it_succeeds_then_never() {
    let s = server(|_| {}).await;
    let rx = Receiver::start().await;
    rx.script(
        &[Reply::Status(500), Reply::Status(503), Reply::Status(500)],
        None,
    );
    create_project(&s, "hooks", false).await;
    let id = create_policy(
        &s,
        "hooks",
        policy("r", json!([{"address": rx.url("/")}]), &["PUSH_ARTIFACT"]),
    )
    .await;
    push_image(&s, "hooks/app", "v1", 1).await;
    let got = rx.wait_for(4).await;
    let list = settled(&s, "hooks", id, 1).await;
    assert_eq!(list[0]["status"], "Success", "{list:?}");
    // The same delivery each time: same key, same body.
    let key = header(&got[0].headers, "webhook-id").unwrap();
    assert!(
        got.iter()
            .all(|r| header(&r.headers, "webhook-id") == Some(key))
    );
    assert!(got.iter().all(|r| r.body == got[0].body));
    // Nothing after the success.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.got().len(), 4);
    let eid = list[0]["id"].as_i64().unwrap();
    let base = format!("/api/v2.0/projects/hooks/webhook/policies/{id}/executions/{eid}");
    let tasks: Vec<Value> = get_json(&client(), &s, &format!("{base}/tasks")).await;
    assert_eq!(tasks[0]["run_count"], 4);
    let log = client()
        .get(s.url(&format!("{base}/tasks/{eid}/log")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(log.lines().count(), 4, "{log}");
    assert!(
        log.contains("HTTP 503, will retry") && log.contains("attempt 4: HTTP 200"),
        "{log}"
    );
}

#[tokio::test]
async fn refusals_and_exhausted_attempts_end_a_delivery_with_a_clear_error() {
    let s = server(|c| c.webhook.max_attempts = 3).await;
    let refusing = Receiver::start().await;
    refusing.script(&[], Some(Reply::Status(404)));
    let broken = Receiver::start().await;
    broken.script(&[], Some(Reply::Status(502)));
    create_project(&s, "hooks", false).await;
    let id = create_policy(
        &s,
        "hooks",
        policy(
            "r",
            json!([{"address": refusing.url("/")}, {"address": broken.url("/")}]),
            &["PUSH_ARTIFACT"],
        ),
    )
    .await;
    push_image(&s, "hooks/app", "v1", 1).await;
    let list = settled(&s, "hooks", id, 2).await;
    let messages: Vec<&str> = list
        .iter()
        .map(|e| e["status_message"].as_str().unwrap())
        .collect();
    assert!(list.iter().all(|e| e["status"] == "Error"), "{list:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("HTTP 404: the receiver refused")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("gave up after 3 attempts")),
        "{messages:?}"
    );
    assert_eq!(refusing.got().len(), 1, "a refusal is not retried");
    assert_eq!(broken.got().len(), 3);
}

#[tokio::test]
async fn a_hanging_receiver_times_out_and_pushes_do_not_wait_for_it() {
    let s = server(|c| {
        c.webhook.timeout_ms = 300;
        c.webhook.max_attempts = 2;
    })
    .await;
    let rx = Receiver::start().await;
    rx.script(&[], Some(Reply::Hang(Duration::from_secs(30))));
    create_project(&s, "hooks", false).await;
    let id = create_policy(
        &s,
        "hooks",
        policy("h", json!([{"address": rx.url("/")}]), &["PUSH_ARTIFACT"]),
    )
    .await;
    push_image(&s, "hooks/app", "v1", 1).await;
    rx.wait_for(1).await;
    // While the receiver holds a delivery, pushes go on.
    for (i, tag) in ["v2", "v3", "v4"].into_iter().enumerate() {
        push_image(&s, "hooks/app", tag, 2 + i as u8).await;
    }
    assert!(rx.in_flight() > 0, "the pushes ended while a delivery hung");
    let list = settled(&s, "hooks", id, 4).await;
    for e in &list {
        assert_eq!(e["status"], "Error", "{e}");
        let m = e["status_message"].as_str().unwrap();
        assert!(
            m.contains("timed out") && m.ends_with("gave up after 2 attempts"),
            "{m}"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_opens_its_policys_breaker() {
    let s = server(|c| {
        c.webhook.max_attempts = 100;
        c.webhook.breaker_failures = 3;
        c.webhook.breaker_pause_ms = 60_000;
    })
    .await;
    let rx = Receiver::start().await;
    rx.script(&[], Some(Reply::Status(500)));
    create_project(&s, "hooks", false).await;
    let id = create_policy(
        &s,
        "hooks",
        policy("b", json!([{"address": rx.url("/")}]), &["PUSH_ARTIFACT"]),
    )
    .await;
    push_image(&s, "hooks/app", "v1", 1).await;
    rx.wait_for(3).await;
    // Open: no attempt for the pause, though the retry delay (20 ms) has long passed.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.got().len(), 3);
    let list = executions(&s, "hooks", id).await;
    assert_eq!(list[0]["status"], "Pending");
    assert!(
        list[0]["status_message"]
            .as_str()
            .unwrap()
            .contains("HTTP 500, will retry")
    );
    // Disabling the policy stops what it had queued.
    let mut p: Value = get_json(
        &client(),
        &s,
        &format!("/api/v2.0/projects/hooks/webhook/policies/{id}"),
    )
    .await;
    p["enabled"] = json!(false);
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/projects/hooks/webhook/policies/{id}"),
        Some(p),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let list = executions(&s, "hooks", id).await;
    assert_eq!(list[0]["status"], "Stopped");
}

#[tokio::test]
async fn the_test_call_reports_each_target() {
    let s = server(|_| {}).await;
    let ok = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.script(&[], Some(Reply::Status(500)));
    create_project(&s, "hooks", true).await;
    let id = create_policy(
        &s,
        "hooks",
        policy(
            "t",
            json!([{"address": ok.url("/ok")}, {"address": failing.url("/no"), "payload_format": "CloudEvents"}]),
            &["PUSH_ARTIFACT"],
        ),
    )
    .await;
    let resp = admin(
        &s,
        Method::POST,
        &format!("/api/v2.0/projects/hooks/webhook/policies/{id}/test"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let results: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(results[0]["success"], true, "{results:?}");
    assert_eq!(results[1]["success"], false);
    assert!(results[1]["message"].as_str().unwrap().contains("HTTP 500"));
    let got = ok.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["type"], "PUSH_ARTIFACT");
    assert_eq!(
        got[0].body["event_data"]["repository"]["repo_type"],
        "public"
    );
    // A test is not a delivery.
    assert!(executions(&s, "hooks", id).await.is_empty());
}

/// Serves `app` over HTTPS with a self-signed certificate (no client trusts it).
fn serve_tls(listener: tokio::net::TcpListener, app: axum::Router) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client refusing the certificate ends the handshake: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
}

/// `skip_cert_verify`: a receiver with a certificate no authority vouches for is refused
/// (the log says why), unless its target skips verification; then both the test call and
/// real deliveries reach it.
#[tokio::test]
async fn certificates_are_verified_unless_the_target_skips_it() {
    let s = server(|c| c.webhook.max_attempts = 1).await;
    let rx = Receiver::start_with("https", serve_tls).await;
    create_project(&s, "hooks", false).await;
    let targets = json!([
        {"address": rx.url("/verified")},
        {"address": rx.url("/skipped"), "skip_cert_verify": true},
    ]);
    let id = create_policy(&s, "hooks", policy("tls", targets, &["PUSH_ARTIFACT"])).await;
    let resp = admin(
        &s,
        Method::POST,
        &format!("/api/v2.0/projects/hooks/webhook/policies/{id}/test"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let results: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(results[0]["success"], false, "{results:?}");
    assert_eq!(results[1]["success"], true, "{results:?}");
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/skipped");

    push_image(&s, "hooks/app", "v1", 1).await;
    let got = rx.wait_for(2).await;
    let list = settled(&s, "hooks", id, 2).await;
    let base = format!("/api/v2.0/projects/hooks/webhook/policies/{id}/executions");
    let mut by_target = std::collections::HashMap::new();
    for e in &list {
        let eid = e["id"].as_i64().unwrap();
        let tasks: Vec<Value> = get_json(&client(), &s, &format!("{base}/{eid}/tasks")).await;
        let address = tasks[0]["extra_attrs"]["address"]
            .as_str()
            .unwrap()
            .to_owned();
        by_target.insert(address, (eid, e["status"].clone()));
    }
    let (_, skipped) = &by_target[&rx.url("/skipped")];
    assert_eq!(skipped, "Success", "{list:?}");
    let (eid, refused) = &by_target[&rx.url("/verified")];
    assert_eq!(refused, "Error", "{list:?}");
    assert_eq!(got.len(), 2, "nothing reached the verified target");
    assert_eq!(got[1].path, "/skipped");
    assert_eq!(got[1].body["type"], "PUSH_ARTIFACT");
    let log = client()
        .get(s.url(&format!("{base}/{eid}/tasks/{eid}/log")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.to_lowercase().contains("certificate"), "{log}");
}

#[tokio::test]
async fn quota_warnings_and_refusals_are_sent() {
    let s = server(|_| {}).await;
    let rx = Receiver::start().await;
    let pid = create_project(&s, "hooks", false).await;
    create_policy(
        &s,
        "hooks",
        policy(
            "q",
            json!([{"address": rx.url("/")}]),
            &["QUOTA_WARNING", "QUOTA_EXCEED"],
        ),
    )
    .await;
    // The size of the image, measured in another project.
    let probe = create_project(&s, "probe", false).await;
    push_image(&s, "probe/app", "v1", 1).await;
    let quota_of = |pid: i64| {
        let s = &s;
        async move {
            let q: Vec<Value> = get_json(
                &client(),
                s,
                &format!("/api/v2.0/quotas?reference=project&reference_id={pid}"),
            )
            .await;
            (
                q[0]["id"].as_i64().unwrap(),
                q[0]["used"]["storage"].as_i64().unwrap(),
            )
        }
    };
    let (_, used) = quota_of(probe).await;
    let (quota, _) = quota_of(pid).await;
    // The push fills 90 %: it warns; another image is refused.
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/quotas/{quota}"),
        Some(json!({"hard": {"storage": used * 10 / 9}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, manifest) = push_image(&s, "hooks/app", "v1", 1).await;
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].body["type"], "QUOTA_WARNING");
    let data = &got[0].body["event_data"];
    assert_eq!(data["repository"]["repo_full_name"], "hooks/app");
    assert!(
        data["custom_attributes"]["Details"]
            .as_str()
            .unwrap()
            .contains("warning threshold"),
        "{data}"
    );
    // Full: even a new manifest of the same blobs is refused.
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/quotas/{quota}"),
        Some(json!({"hard": {"storage": quota_of(pid).await.1}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut m: Value = serde_json::from_slice(&manifest).unwrap();
    m["annotations"] = json!({"org.example.note": "another manifest"});
    let m = serde_json::to_vec(&m).unwrap();
    let resp = put_manifest(&s, "hooks/app", "v3", OCI_MANIFEST, &m).await;
    assert!(!resp.status().is_success(), "{}", resp.status());
    let got = rx.wait_for(2).await;
    assert_eq!(got[1].body["type"], "QUOTA_EXCEED");
    let details = got[1].body["event_data"]["custom_attributes"]["Details"]
        .as_str()
        .unwrap();
    assert!(details.contains("exceed"), "{details}");
}

#[tokio::test]
async fn scans_send_their_end() {
    use harbor_scanner::fixtures;
    let s = server(|c| c.scanner.builtin = true).await;
    let resp = client()
        .put(s.url("/api/v2.0/system/vulnerability-db"))
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let rx = Receiver::start().await;
    let id = create_policy(
        &s,
        "library",
        policy(
            "scans",
            json!([{"address": rx.url("/"), "payload_format": "CloudEvents"}]),
            &["SCANNING_COMPLETED", "SCANNING_FAILED"],
        ),
    )
    .await;
    let digest = super::scanner::push_debian(&s, "library/app").await;
    let resp = super::scans::start_scan(&s, "library/app", &digest, None).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let got = rx.wait_for(1).await;
    let e = &got[0].body;
    assert_eq!(e["type"], "harbor.scan.completed");
    assert_eq!(e["operator"], "system");
    let r = &e["data"]["resources"][0];
    assert_eq!(r["digest"], digest);
    assert_eq!(r["scan_overview"]["scan_status"], "Success");
    assert!(
        r["scan_overview"]["summary"]["total"].as_u64().unwrap() > 0,
        "{r}"
    );
    assert_eq!(e["data"]["scan"]["scan_type"], "vulnerability");
    assert_eq!(e["data"]["repository"]["repo_type"], "public");
    assert_eq!(settled(&s, "library", id, 1).await[0]["status"], "Success");
}

#[tokio::test]
async fn retention_runs_send_what_they_deleted() {
    let s = server(|_| {}).await;
    let rx = Receiver::start().await;
    let pid = create_project(&s, "keep", false).await;
    for (i, tag) in ["v1", "v2"].iter().enumerate() {
        push_image(&s, "keep/app", tag, 10 + i as u8).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    create_policy(
        &s,
        "keep",
        policy("r", json!([{"address": rx.url("/")}]), &["TAG_RETENTION"]),
    )
    .await;
    let retention = json!({
        "algorithm": "or",
        "rules": [{
            "disabled": false, "action": "retain", "template": "latestPushedK",
            "params": {"latestPushedK": 1},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}
        }],
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 3 * * *"}},
        "scope": {"level": "project", "ref": pid}
    });
    let resp = admin(&s, Method::POST, "/api/v2.0/retentions", Some(retention)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = location_id(&resp);
    let resp = admin(
        &s,
        Method::POST,
        &format!("/api/v2.0/retentions/{id}/executions"),
        Some(json!({"dry_run": false})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let got = rx.wait_for(1).await;
    let b = &got[0].body;
    assert_eq!(b["type"], "TAG_RETENTION");
    assert_eq!(b["operator"], "system");
    let r = &b["event_data"]["retention"];
    assert_eq!(r["project_name"], "keep");
    assert_eq!(r["retention_policy_id"], id);
    assert_eq!(r["result"], "SUCCESS");
    assert_eq!(r["total"], 2);
    assert_eq!(r["retained"], 1);
    assert_eq!(
        r["deleted_artifact"],
        json!([{"type": "image", "status": "SUCCESS", "name_tag": "keep/app:v1"}])
    );
}

#[tokio::test]
async fn replication_executions_send_their_end_to_the_source_project() {
    let src = server(|_| {}).await;
    let dst = TestServer::start().await;
    let rx = Receiver::start().await;
    push_image(&src, "library/app", "v1", 3).await;
    let hook = create_policy(
        &src,
        "library",
        policy("repl", json!([{"address": rx.url("/")}]), &["REPLICATION"]),
    )
    .await;
    let resp = admin(
        &src,
        Method::POST,
        "/api/v2.0/registries",
        Some(json!({"name": "dr", "type": "harbor", "url": dst.base,
                    "credential": {"type": "basic", "access_key": "admin", "access_secret": ADMIN_PASSWORD}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reg = location_id(&resp);
    let resp = admin(
        &src,
        Method::POST,
        "/api/v2.0/replication/policies",
        Some(
            json!({"name": "to-dr", "dest_registry": {"id": reg}, "enabled": true,
                    "override": true, "filters": [{"type": "name", "value": "library/app"}],
                    "trigger": {"type": "manual"}}),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let policy_id = location_id(&resp);
    let resp = admin(
        &src,
        Method::POST,
        "/api/v2.0/replication/executions",
        Some(json!({"policy_id": policy_id})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let execution = location_id(&resp);
    let got = rx.wait_for(1).await;
    let b = &got[0].body;
    assert_eq!(b["type"], "REPLICATION");
    let r = &b["event_data"]["replication"];
    assert_eq!(r["job_status"], "Succeed", "{r}");
    assert_eq!(r["execution_id"], execution);
    assert_eq!(r["policy_id"], policy_id);
    assert_eq!(r["trigger_type"], "MANUAL");
    assert_eq!(r["policy_creator"], "admin");
    assert_eq!(r["override_mode"], true);
    assert_eq!(r["src_resource"]["registry_type"], "harbor");
    assert_eq!(r["dest_resource"]["registry_id"], reg);
    assert_eq!(r["successful_artifact"].as_array().unwrap().len(), 1, "{r}");
    assert!(
        r["successful_artifact"][0]["name_tag"]
            .as_str()
            .unwrap()
            .starts_with("library/app")
    );
    assert_eq!(r["failed_artifact"], json!([]));
    assert_eq!(
        settled(&src, "library", hook, 1).await[0]["status"],
        "Success"
    );
}
