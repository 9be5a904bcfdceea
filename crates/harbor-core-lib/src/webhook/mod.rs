//! Webhooks: a project's policies (Harbor's `/projects/{p}/webhook/policies`), which
//! events they want and where they send them, the deliveries queued for each event and
//! target, the retry and circuit-breaker rules, and the [`WebhookStore`] port. Rendering
//! payloads and sending them needs the network and lives in `harbor-platform`.
//!
//! A delivery is Harbor's execution with its one task: it is queued in the transaction
//! that moves the webhook subscriber's event cursor (each event is queued once), then
//! claimed under a lease, sent, and retried with exponential backoff until it succeeds
//! or its attempts run out.

mod policy;

use async_trait::async_trait;

use crate::error::Result;
use crate::events::NewEvent;
use crate::identity::Page;

pub use policy::{
    EventType, MAX_AUTH_HEADER, MAX_TARGETS, NotifyType, PayloadFormat, Policy, PolicySettings,
    SealedHeader, Target, check_auth_header, normalise_address,
};

/// A delivery's state, with the names of Harbor's executions and tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Queued, or waiting for its next attempt.
    Pending,
    /// Being sent.
    Running,
    /// The receiver answered 2xx.
    Success,
    /// Every attempt failed, or the receiver refused it for good.
    Error,
    /// Its policy was disabled or deleted before it was sent.
    Stopped,
}

impl DeliveryStatus {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Running => "Running",
            DeliveryStatus::Success => "Success",
            DeliveryStatus::Error => "Error",
            DeliveryStatus::Stopped => "Stopped",
        }
    }

    /// Parses Harbor's name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Running,
            DeliveryStatus::Success,
            DeliveryStatus::Error,
            DeliveryStatus::Stopped,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether it has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Success | DeliveryStatus::Error | DeliveryStatus::Stopped
        )
    }
}

/// A delivery to queue: one event for one target of one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// The policy.
    pub policy_id: i64,
    /// The target's position in the policy's list.
    pub target: u32,
    /// The outbox event it comes from (with `policy_id` and `target`, its unique key).
    pub event_id: i64,
    /// Harbor's event type.
    pub event_type: EventType,
    /// Deliveries with the same key (the repository, else the project) reach a target in
    /// event order.
    pub order_key: String,
    /// The idempotency key receivers see (the payload's `id`).
    pub uuid: String,
    /// The rendered body.
    pub payload: String,
    /// When the event happened (ms).
    pub occurred_ms: i64,
}

/// A stored delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Id (the execution's and its task's).
    pub id: i64,
    /// What was queued.
    pub spec: NewDelivery,
    /// State.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (ms).
    pub next_attempt_ms: i64,
    /// Why it failed last, or how it ended.
    pub status_text: String,
    /// Queued at (ms).
    pub created_ms: i64,
    /// First attempt at (ms).
    pub started_ms: Option<i64>,
    /// Ended at (ms).
    pub ended_ms: Option<i64>,
    /// Changed at (ms).
    pub updated_ms: i64,
}

/// A claimed delivery with where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The delivery.
    pub delivery: Delivery,
    /// Its target, as the policy holds it now.
    pub target: Target,
}

/// What one attempt of a claimed delivery came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptResult {
    /// The lease token it was claimed with.
    pub token: String,
    /// The delivery.
    pub id: i64,
    /// Its policy (for the circuit breaker).
    pub policy_id: i64,
    /// The new state: `Success`, `Error` (for good) or `Pending` (retried at `next_ms`).
    pub status: DeliveryStatus,
    /// When a retry is due (ms).
    pub next_ms: i64,
    /// What happened, for the task log and `status_message`.
    pub text: String,
    /// When the attempt started (ms).
    pub at_ms: i64,
    /// Whether the attempt counts as a failure of the receiver (5xx, time-out, no
    /// connection): it feeds the policy's circuit breaker.
    pub receiver_failed: bool,
}

/// A policy's circuit breaker, shared by every replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breaker {
    /// Failed attempts in a row.
    pub failures: u32,
    /// Until when no delivery of the policy is attempted (ms; 0: closed).
    pub open_until_ms: i64,
}

/// Retry and breaker settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryRules {
    /// Attempts before a delivery fails for good.
    pub max_attempts: u32,
    /// Wait after the first failure (ms); it doubles with each further one.
    pub backoff_ms: i64,
    /// Longest wait between attempts (ms).
    pub max_backoff_ms: i64,
    /// Failed attempts in a row that open a policy's breaker.
    pub breaker_failures: u32,
    /// How long an opened breaker stays open (ms); it doubles while attempts keep failing,
    /// up to `max_backoff_ms`.
    pub breaker_open_ms: i64,
}

impl Default for RetryRules {
    fn default() -> Self {
        RetryRules {
            max_attempts: 8,
            backoff_ms: 1_000,
            max_backoff_ms: 10 * 60_000,
            breaker_failures: 10,
            breaker_open_ms: 30_000,
        }
    }
}

impl RetryRules {
    /// The wait before attempt `attempts + 1` after `attempts` failed ones (at least 1):
    /// `backoff_ms × 2^(attempts-1)`, capped, with up to a quarter of jitter from `seed`.
    pub fn backoff(&self, attempts: u32, seed: u64) -> i64 {
        let exp = attempts.saturating_sub(1).min(30);
        let base = self
            .backoff_ms
            .max(1)
            .saturating_mul(1_i64 << exp)
            .min(self.max_backoff_ms.max(1));
        let jitter = if base >= 4 {
            (seed % (base as u64 / 4)) as i64
        } else {
            0
        };
        base.saturating_add(jitter).min(self.max_backoff_ms.max(1))
    }

    /// The breaker after an attempt at `now_ms`: a success closes it; the
    /// `breaker_failures`-th failure in a row opens it, and every failure after that
    /// (a probe once it reopened) opens it again for twice as long.
    pub fn breaker_after(&self, before: Breaker, failed: bool, now_ms: i64) -> Breaker {
        if !failed {
            return Breaker::default();
        }
        let failures = before.failures.saturating_add(1);
        if self.breaker_failures == 0 || failures < self.breaker_failures {
            return Breaker {
                failures,
                open_until_ms: before.open_until_ms,
            };
        }
        let over = failures - self.breaker_failures;
        let open = self
            .breaker_open_ms
            .max(1)
            .saturating_mul(1_i64 << over.min(30))
            .min(self.max_backoff_ms.max(self.breaker_open_ms));
        Breaker {
            failures,
            open_until_ms: now_ms.saturating_add(open),
        }
    }
}

/// The last time each event type of a policy was sent (Harbor's `WebhookLastTrigger`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastTrigger {
    /// The policy.
    pub policy: Policy,
    /// The event type.
    pub event_type: EventType,
    /// The last queued delivery of that type (ms), if any.
    pub last_ms: Option<i64>,
}

/// Storage of webhook policies and deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new policy of `project_id` with `events` ([`crate::Error::Conflict`] for a
    /// name the project uses already).
    async fn create_webhook_policy_emitting(
        &self,
        project_id: i64,
        settings: &PolicySettings,
        creator: &str,
        events: &[NewEvent],
    ) -> Result<Policy>;
    /// One policy.
    async fn webhook_policy(&self, id: i64) -> Result<Option<Policy>>;
    /// A page of a project's policies by id, and the total.
    async fn webhook_policies(&self, project_id: i64, page: Page) -> Result<(Vec<Policy>, u64)>;
    /// The enabled policies of these projects (one query).
    async fn enabled_webhook_policies(&self, project_ids: &[i64]) -> Result<Vec<Policy>>;
    /// Replaces a policy's settings; its unfinished deliveries stop when it is disabled or
    /// `stop_queued` (its targets changed: what was rendered for them no longer fits).
    async fn update_webhook_policy_emitting(
        &self,
        id: i64,
        settings: &PolicySettings,
        stop_queued: bool,
        events: &[NewEvent],
    ) -> Result<Policy>;
    /// Deletes a policy with its deliveries.
    async fn delete_webhook_policy_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;

    /// Queues `deliveries` (each (policy, target, event) once: a repeat is ignored) and
    /// moves the subscriber's cursor from `from` to `to` under the lease `token`, in one
    /// transaction; false (nothing queued) if the lease was lost.
    async fn queue_webhook_deliveries(
        &self,
        subscriber: &str,
        token: &str,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool>;
    /// Claims up to `limit` deliveries due at `now_ms` for `lease_ms` under `token`, at
    /// most `per_group` of each policy, target and order key: in id order, skipping
    /// policies whose breaker is open, and only deliveries with no earlier unfinished
    /// delivery of the same policy, target and order key that is not also claimed here
    /// (so each key's deliveries are sent in order).
    async fn claim_webhook_deliveries(
        &self,
        token: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
        per_group: usize,
    ) -> Result<Vec<Claimed>>;
    /// Records attempts (status, log line, attempt count), updates the policies' breakers
    /// by `rules` and releases the claims on `released` ((token, id): claimed, not
    /// attempted), in one transaction. Deliveries whose lease token no longer holds are
    /// left alone.
    async fn record_webhook_attempts(
        &self,
        results: &[AttemptResult],
        released: &[(String, i64)],
        rules: &RetryRules,
    ) -> Result<()>;
    /// Releases the claims of `token` on `ids` (not attempted), as they were.
    async fn release_webhook_deliveries(&self, token: &str, ids: &[i64]) -> Result<()>;
    /// Releases every claim whose token is `<owner>.<random>` (those of a process that is
    /// gone); returns how many.
    async fn release_webhook_claims_of(&self, owner: &str) -> Result<u64>;
    /// One delivery.
    async fn webhook_delivery(&self, id: i64) -> Result<Option<Delivery>>;
    /// A page of a policy's deliveries, newest first, and the total; `status` filters.
    async fn webhook_deliveries(
        &self,
        policy_id: i64,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<(Vec<Delivery>, u64)>;
    /// A delivery's log: one line per attempt (ms, text).
    async fn webhook_delivery_log(&self, id: i64) -> Result<Vec<(i64, String)>>;
    /// The last queued delivery per event type of each of a project's policies.
    async fn webhook_last_triggers(&self, project_id: i64) -> Result<Vec<LastTrigger>>;
    /// Deletes finished deliveries that ended before `before_ms`; returns how many.
    async fn prune_webhook_deliveries(&self, before_ms: i64) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let r = RetryRules {
            backoff_ms: 100,
            max_backoff_ms: 1_000,
            ..RetryRules::default()
        };
        assert_eq!(r.backoff(1, 0), 100);
        assert_eq!(r.backoff(2, 0), 200);
        assert_eq!(r.backoff(3, 0), 400);
        assert_eq!(r.backoff(5, 0), 1_000);
        assert_eq!(r.backoff(40, 0), 1_000);
        // Jitter adds at most a quarter and never passes the cap.
        let j = r.backoff(2, 1_234_567);
        assert!((200..250).contains(&j), "{j}");
        assert!(r.backoff(5, u64::MAX) <= 1_000);
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_a_success_closes_it() {
        let r = RetryRules {
            breaker_failures: 3,
            breaker_open_ms: 1_000,
            max_backoff_ms: 10_000,
            ..RetryRules::default()
        };
        let mut b = Breaker::default();
        b = r.breaker_after(b, true, 0);
        b = r.breaker_after(b, true, 0);
        assert_eq!(b.open_until_ms, 0, "two failures keep it closed");
        b = r.breaker_after(b, true, 50);
        assert_eq!(b.open_until_ms, 1_050);
        // A failed probe doubles the pause.
        b = r.breaker_after(b, true, 2_000);
        assert_eq!(b.open_until_ms, 4_000);
        assert_eq!(r.breaker_after(b, false, 5_000), Breaker::default());
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["Pending", "Running", "Success", "Error", "Stopped"] {
            assert_eq!(DeliveryStatus::parse(s).unwrap().as_str(), s);
        }
        assert!(DeliveryStatus::parse("Succeed").is_none());
        assert!(DeliveryStatus::Success.is_final() && !DeliveryStatus::Pending.is_final());
    }
}
