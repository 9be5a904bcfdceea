//! Webhook deliveries on real stores (SQLite or PostgreSQL): what a claim takes (in order,
//! a bounded number per policy, target and order key, nothing behind a delivery that waits
//! or is leased), and how attempts are recorded (all in one go, only under their lease,
//! with the policy's breaker).

use harbor_core::events::{EventStore, StartAt};
use harbor_core::model::{Lease, now_ms};
use harbor_core::ports::IdentityStore;
use harbor_core::webhook::{
    AttemptResult, DeliveryStatus, EventType, NewDelivery, NotifyType, PayloadFormat,
    PolicySettings, RetryRules, Target, WebhookStore,
};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget;

harbor_storage::contract_tests!(
    claims_take_a_bounded_run_of_each_key_in_order,
    attempts_are_recorded_under_their_lease_with_the_breaker,
);

const LEASE_MS: i64 = 60_000;

/// A store with one project and a policy with two targets; the policy's id.
async fn setup(t: &TestTarget) -> (SqlMetadataStore, i64) {
    let meta = t.open().await;
    let owner = harbor_storage::testing::owner_id(&meta).await;
    let project = meta.create_project("team", owner, false).await.unwrap();
    let target = |n: u32| Target {
        kind: NotifyType::Http,
        address: format!("http://127.0.0.1:9/hook{n}"),
        auth_header: None,
        skip_cert_verify: false,
        payload_format: PayloadFormat::Default,
    };
    let settings = PolicySettings {
        name: "hooks".into(),
        description: String::new(),
        targets: vec![target(0), target(1)],
        event_types: vec![EventType::PushArtifact],
        enabled: true,
    };
    let policy = meta
        .create_webhook_policy_emitting(project.id, &settings, "owner", &[])
        .await
        .unwrap();
    (meta, policy.id)
}

/// Queues `(target, order key)` deliveries, one event each, as the webhook subscriber
/// does (with its cursor); their event ids start after `first`.
async fn queue(meta: &SqlMetadataStore, policy: i64, first: i64, list: &[(u32, &str)]) {
    let now = now_ms();
    let lease = Lease {
        token: "queue".into(),
        now,
        until: now + LEASE_MS,
    };
    let from = meta
        .claim_cursor("webhooks", StartAt::Beginning, &lease)
        .await
        .unwrap()
        .unwrap();
    let deliveries: Vec<NewDelivery> = list
        .iter()
        .enumerate()
        .map(|(i, (target, key))| {
            let event_id = first + i as i64 + 1;
            NewDelivery {
                policy_id: policy,
                target: *target,
                event_id,
                event_type: EventType::PushArtifact,
                order_key: (*key).to_owned(),
                uuid: format!("uuid-{event_id}"),
                payload: format!("{{\"event\":{event_id}}}"),
                occurred_ms: now,
            }
        })
        .collect();
    let to = from + list.len() as i64;
    assert!(
        meta.queue_webhook_deliveries("webhooks", "queue", from, to, &deliveries)
            .await
            .unwrap()
    );
}

/// `(target, order key, event id)` of each claimed delivery, in claim order.
async fn claim(
    meta: &SqlMetadataStore,
    token: &str,
    now: i64,
    limit: usize,
    per_group: usize,
) -> Vec<(u32, String, i64)> {
    meta.claim_webhook_deliveries(token, now, LEASE_MS, limit, per_group)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                c.delivery.spec.target,
                c.delivery.spec.order_key,
                c.delivery.spec.event_id,
            )
        })
        .collect()
}

fn keyed(list: &[(u32, &str, i64)]) -> Vec<(u32, String, i64)> {
    list.iter()
        .map(|(t, k, e)| (*t, (*k).to_owned(), *e))
        .collect()
}

async fn claims_take_a_bounded_run_of_each_key_in_order(t: &TestTarget) {
    let (meta, policy) = setup(t).await;
    // Five of one repository to target 0, two of another, one to target 1.
    queue(
        &meta,
        policy,
        0,
        &[
            (0, "team/a"),
            (0, "team/a"),
            (0, "team/b"),
            (0, "team/a"),
            (1, "team/a"),
            (0, "team/a"),
            (0, "team/b"),
            (0, "team/a"),
        ],
    )
    .await;
    let now = now_ms();
    // At most two of each (policy, target, key), in id order.
    let first = claim(&meta, "t1", now, 100, 2).await;
    assert_eq!(
        first,
        keyed(&[
            (0, "team/a", 1),
            (0, "team/a", 2),
            (0, "team/b", 3),
            (1, "team/a", 5),
            (0, "team/b", 7),
        ])
    );
    // The rest of team/a waits behind its leased deliveries; nothing else is due.
    assert!(claim(&meta, "t2", now, 100, 2).await.is_empty());
    // Event 1 succeeds, event 2 must be retried later: event 4 and on stay behind it.
    let all = meta
        .webhook_deliveries(policy, None, harbor_core::identity::Page::default())
        .await
        .unwrap()
        .0;
    let id_of = |event: i64| all.iter().find(|d| d.spec.event_id == event).unwrap().id;
    let rules = RetryRules::default();
    let result = |id: i64, status: DeliveryStatus, next_ms: i64| AttemptResult {
        token: "t1".into(),
        id,
        policy_id: policy,
        status,
        next_ms,
        text: "HTTP 200".into(),
        at_ms: now,
        receiver_failed: status == DeliveryStatus::Pending,
    };
    meta.record_webhook_attempts(
        &[
            result(id_of(1), DeliveryStatus::Success, now),
            result(id_of(2), DeliveryStatus::Pending, now + 60_000),
        ],
        &[],
        &rules,
    )
    .await
    .unwrap();
    assert!(claim(&meta, "t3", now + 1, 100, 2).await.is_empty());
    // Once the retry is due it comes first, with the next of its key.
    let later = claim(&meta, "t4", now + 60_000, 100, 2).await;
    assert_eq!(later, keyed(&[(0, "team/a", 2), (0, "team/a", 4)]));
}

async fn attempts_are_recorded_under_their_lease_with_the_breaker(t: &TestTarget) {
    let (meta, policy) = setup(t).await;
    let keys: Vec<(u32, &str)> = (0..450).map(|_| (0, "team/a")).collect();
    queue(&meta, policy, 0, &keys).await;
    let now = now_ms();
    let claimed = meta
        .claim_webhook_deliveries("mine", now, LEASE_MS, 1000, 1000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 450);
    // More than one statement's worth: every one is recorded, with its log line.
    let results: Vec<AttemptResult> = claimed
        .iter()
        .map(|c| AttemptResult {
            token: "mine".into(),
            id: c.delivery.id,
            policy_id: policy,
            status: DeliveryStatus::Success,
            next_ms: now,
            text: format!("attempt 1: HTTP 200 for {}", c.delivery.spec.event_id),
            at_ms: now,
            receiver_failed: false,
        })
        .collect();
    // The last one is recorded under a token that does not hold it: left alone.
    let mut forged = results.clone();
    forged[449].token = "theirs".into();
    meta.record_webhook_attempts(&forged, &[], &RetryRules::default())
        .await
        .unwrap();
    for (i, c) in claimed.iter().enumerate() {
        let d = meta.webhook_delivery(c.delivery.id).await.unwrap().unwrap();
        if i == 449 {
            assert_eq!(d.status, DeliveryStatus::Running);
            assert_eq!(d.attempts, 0);
            continue;
        }
        assert_eq!(d.status, DeliveryStatus::Success, "{i}");
        assert_eq!(d.attempts, 1);
        assert!(d.ended_ms.is_some());
        let log = meta.webhook_delivery_log(c.delivery.id).await.unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(
            log[0].1,
            format!("attempt 1: HTTP 200 for {}", c.delivery.spec.event_id)
        );
    }
    // The last one fails three times in a row (claimed again by its holder after each):
    // the breaker opens at the rules' threshold and nothing of the policy is claimed.
    let rules = RetryRules {
        breaker_failures: 3,
        breaker_open_ms: 10_000,
        ..RetryRules::default()
    };
    let last = claimed[449].delivery.id;
    let attempt = |token: &str, status: DeliveryStatus, at: i64| AttemptResult {
        token: token.into(),
        id: last,
        policy_id: policy,
        status,
        next_ms: at,
        text: format!("attempt: {status:?}"),
        at_ms: at,
        receiver_failed: status == DeliveryStatus::Pending,
    };
    let mut at = now;
    for i in 0..3 {
        if i > 0 {
            let again = claim(&meta, "mine", at, 10, 10).await;
            assert_eq!(again.len(), 1, "claim {i}");
        }
        meta.record_webhook_attempts(&[attempt("mine", DeliveryStatus::Pending, at)], &[], &rules)
            .await
            .unwrap();
        at += 1;
    }
    assert!(claim(&meta, "other", at, 10, 10).await.is_empty());
    let d = meta.webhook_delivery(last).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Pending, 3));
    // After the breaker's time: a released claim goes back without an attempt, then a
    // success closes the breaker (one failure after it does not open it again).
    let after = at + 10_000;
    assert_eq!(claim(&meta, "again", after, 10, 10).await.len(), 1);
    meta.record_webhook_attempts(&[], &[("again".into(), last)], &rules)
        .await
        .unwrap();
    let d = meta.webhook_delivery(last).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Pending, 3));
    assert_eq!(claim(&meta, "final", after, 10, 10).await.len(), 1);
    meta.record_webhook_attempts(
        &[attempt("final", DeliveryStatus::Success, after)],
        &[],
        &rules,
    )
    .await
    .unwrap();
    let d = meta.webhook_delivery(last).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Success, 4));
    queue(&meta, policy, 450, &[(0, "team/a")]).await;
    let next = meta
        .claim_webhook_deliveries("t", after, LEASE_MS, 10, 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    let mut failed = attempt("t", DeliveryStatus::Pending, after);
    failed.id = next[0].delivery.id;
    meta.record_webhook_attempts(&[failed], &[], &rules)
        .await
        .unwrap();
    assert_eq!(
        claim(&meta, "t2", after, 10, 10).await.len(),
        1,
        "breaker closed"
    );
}
