//! Webhook deliveries survive `kill -9`: events queued with the subscriber's cursor are in
//! the database, and a restarted server sends every one of them; a kill in the middle of
//! sending loses nothing either (a receiver that honours the idempotency key sees each
//! event once).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::receiver::{Received, Receiver, Reply};
use crate::common::*;
use crate::faults::{Proc, push_at};

const EVENTS: usize = 100;

fn env(send: bool) -> Vec<(&'static str, &'static str)> {
    vec![
        ("HARBOR_REMOTE_ALLOW_LOOPBACK", "true"),
        ("HARBOR_WEBHOOK_BACKOFF_MS", "50"),
        ("HARBOR_WEBHOOK_SEND", if send { "true" } else { "false" }),
    ]
}

async fn executions(base: &str, id: i64) -> Vec<Value> {
    client()
        .get(format!(
            "{base}/api/v2.0/projects/hooks/webhook/policies/{id}/executions?page_size=100"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The tags of the distinct events received (by idempotency key).
fn distinct(got: &[Received]) -> (usize, BTreeSet<String>) {
    let keys: BTreeSet<&str> = got
        .iter()
        .map(|r| header(&r.headers, "webhook-id").expect("webhook-id"))
        .collect();
    let tags = got
        .iter()
        .map(|r| {
            r.body["data"]["resources"][0]["tag"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (keys.len(), tags)
}

#[tokio::test]
async fn queued_deliveries_survive_kill_9_and_are_all_sent_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // Each request is held a moment, so the second kill lands in the middle of sending.
    rx.script(&[], Some(Reply::Hang(Duration::from_millis(30))));

    // 1. Queued, not sent: this run does not send.
    let p = Proc::start(dir.path(), &env(false));
    let r = client()
        .post(format!("{}/api/v2.0/projects", p.base))
        .json(&json!({"project_name": "hooks"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = client()
        .post(format!(
            "{}/api/v2.0/projects/hooks/webhook/policies",
            p.base
        ))
        .json(&json!({"name": "k", "event_types": ["PUSH_ARTIFACT"],
                      "targets": [{"address": rx.url("/"), "payload_format": "CloudEvents"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = location_id(&r);
    for i in 0..EVENTS {
        push_at(&p.base, "hooks/app", &format!("t{i}"), i as u32).await;
    }
    for _ in 0..200 {
        if executions(&p.base, id).await.len() == EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let queued = executions(&p.base, id).await;
    assert_eq!(queued.len(), EVENTS);
    assert!(queued.iter().all(|e| e["status"] == "Pending"));
    p.signal("-KILL");
    let _ = p.exit_within(Duration::from_secs(10)).await;
    assert!(rx.got().is_empty());

    // 2. Sending, killed part of the way through.
    let p = Proc::start(dir.path(), &env(true));
    rx.wait_for(10).await;
    p.signal("-KILL");
    let _ = p.exit_within(Duration::from_secs(10)).await;
    let before = rx.got().len();
    assert!(
        before < EVENTS,
        "the kill came before the end ({before} sent)"
    );

    // 3. After the restart, every event arrives; what was in flight may come twice, with
    // the same key.
    let p = Proc::start(dir.path(), &env(true));
    let mut done = Vec::new();
    for _ in 0..400 {
        done = executions(&p.base, id).await;
        if done.iter().all(|e| e["status"] == "Success") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done.iter().all(|e| e["status"] == "Success"), "{done:?}");
    let got = rx.got();
    let (keys, tags) = distinct(&got);
    assert_eq!(keys, EVENTS, "one key per event ({} requests)", got.len());
    let want: BTreeSet<String> = (0..EVENTS).map(|i| format!("t{i}")).collect();
    assert_eq!(tags, want);
    // In push order, per repository: the first arrival of each tag follows its push.
    let mut first: Vec<usize> = Vec::new();
    for r in &got {
        let tag = r.body["data"]["resources"][0]["tag"].as_str().unwrap();
        let n: usize = tag[1..].parse().unwrap();
        if !first.contains(&n) {
            first.push(n);
        }
    }
    assert!(first.windows(2).all(|w| w[0] < w[1]), "{first:?}");
    drop(p);
}
