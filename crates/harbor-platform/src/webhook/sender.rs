//! Sending queued deliveries: claims under a lease (so one replica sends each), the
//! deliveries of one policy, target and order key one after another in event order, many
//! such groups at once; 2xx is success, a time-out, no connection, 408, 429 or 5xx is
//! retried with backoff, anything else (or running out of attempts) fails for good. A
//! policy whose receiver keeps failing has its breaker opened: nothing of it is attempted
//! until the breaker's time passes. Pushes and pulls never wait for any of it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use harbor_core::model::now_ms;
use harbor_core::webhook::{AttemptResult, Claimed, DeliveryStatus, RetryRules, Target};
use harbor_core::{Error, Result};
use harbor_remote::http::{HttpClient, Method, Request};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::Webhooks;
use super::payload::content_type;

/// How deliveries are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRules {
    /// Retries and the breaker.
    pub retry: RetryRules,
    /// Each attempt's time limit (Harbor's is 3 s).
    pub timeout: Duration,
    /// Groups (policy, target, order key) sent at once.
    pub concurrency: usize,
    /// Deliveries of one group sent per claim.
    pub per_group: usize,
    /// How often the queue is read when nothing local wakes the sender.
    pub poll: Duration,
    /// After a local wake-up, how long deliveries gather before they are claimed (one
    /// claim and one record for many, instead of one each: pushes share the database's
    /// writer with them).
    pub gather: Duration,
    /// How long finished deliveries are kept.
    pub retention: Duration,
}

impl Default for SendRules {
    fn default() -> Self {
        SendRules {
            retry: RetryRules::default(),
            timeout: Duration::from_secs(3),
            concurrency: 32,
            per_group: 64,
            poll: Duration::from_secs(1),
            gather: Duration::from_millis(200),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The sending loop of one process.
pub struct Sender {
    hooks: Webhooks,
    rules: SendRules,
    owner: String,
    wake: Arc<Notify>,
    secure: HttpClient,
    insecure: HttpClient,
}

/// What a group of deliveries came to: attempts, and claims it gives back untouched.
type Outcome = (Vec<AttemptResult>, Vec<(String, i64)>);

impl Sender {
    /// Sends the deliveries `hooks` keeps under its rules, claiming with lease tokens
    /// `<owner>.<random>`; `wake` is told when deliveries were queued here.
    pub fn new(hooks: Webhooks, owner: String, wake: Arc<Notify>) -> Result<Self> {
        let rules = hooks.rules();
        let options = hooks.probe().options().clone();
        let client = |insecure| {
            HttpClient::new(&options, insecure).map_err(|e| Error::Invalid(e.to_string()))
        };
        Ok(Sender {
            secure: client(false)?,
            insecure: client(true)?,
            hooks,
            rules,
            owner,
            wake,
        })
    }

    /// Releases the claims a previous run of this owner left (a process restarted on the
    /// same data directory after a crash), so its deliveries go out at once.
    pub async fn release_previous(&self) -> Result<u64> {
        self.hooks
            .store()
            .release_webhook_claims_of(&self.owner)
            .await
    }

    /// Runs until `stop` turns true; then lets the sends in flight finish (each is bounded
    /// by the time-out).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        // One task records what the groups did, merging whatever is ready into one
        // transaction.
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
        let recorded = Arc::new(Notify::new());
        let recorder = tokio::spawn(record(
            this.hooks.clone(),
            this.rules.retry,
            done_rx,
            recorded.clone(),
        ));
        let mut groups: JoinSet<()> = JoinSet::new();
        let mut last_prune = 0_i64;
        loop {
            if *stop.borrow() {
                break;
            }
            // Finished groups free their places (their outcomes are with the recorder,
            // which wakes this loop once they are written).
            while groups.try_join_next().is_some() {}
            let free = this.rules.concurrency.saturating_sub(groups.len());
            let mut more = false;
            if free > 0 {
                match this.claim(free).await {
                    Ok((batches, full)) => {
                        more = full;
                        for (token, group) in batches {
                            let (me, done) = (this.clone(), done_tx.clone());
                            groups.spawn(async move {
                                let _ = done.send(me.send_group(token, group).await);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            let now = now_ms();
            if now - last_prune > 3_600_000 {
                last_prune = now;
                let before = now - this.rules.retention.as_millis() as i64;
                if let Err(e) = this.hooks.store().prune_webhook_deliveries(before).await {
                    tracing::warn!(error = %e, "pruning webhook deliveries failed");
                }
            }
            if more && groups.len() < this.rules.concurrency {
                // The claim was cut short: claim again at once.
                continue;
            }
            tokio::select! {
                _ = this.wake.notified() => tokio::time::sleep(this.rules.gather).await,
                // Recorded: the next deliveries of those groups may go.
                _ = recorded.notified() => {}
                _ = tokio::time::sleep(this.rules.poll) => {}
                _ = stop.changed() => {}
            }
        }
        while groups.join_next().await.is_some() {}
        drop(done_tx);
        let _ = recorder.await;
    }

    /// Claims deliveries for up to `groups` groups, each group under its own token; and
    /// whether more may be due (the claim hit its limit).
    async fn claim(&self, groups: usize) -> Result<(Vec<(String, Vec<Claimed>)>, bool)> {
        let token = format!("{}.{}", self.owner, uuid::Uuid::new_v4().simple());
        let lease = self.lease_ms();
        let limit = groups.saturating_mul(self.rules.per_group).clamp(1, 1024);
        let claimed = self
            .hooks
            .store()
            .claim_webhook_deliveries(&token, now_ms(), lease, limit, self.rules.per_group)
            .await?;
        let full = claimed.len() >= limit;
        // Group by (policy, target, order key), in id order within each group.
        let mut by_key: BTreeMap<(i64, u32, String), Vec<Claimed>> = BTreeMap::new();
        for c in claimed {
            let key = (
                c.delivery.spec.policy_id,
                c.delivery.spec.target,
                c.delivery.spec.order_key.clone(),
            );
            by_key.entry(key).or_default().push(c);
        }
        let mut out = Vec::new();
        let mut extra = Vec::new();
        for (_, mut list) in by_key {
            if out.len() >= groups {
                extra.extend(list.iter().map(|c| c.delivery.id));
                continue;
            }
            if list.len() > self.rules.per_group {
                extra.extend(
                    list.split_off(self.rules.per_group)
                        .iter()
                        .map(|c| c.delivery.id),
                );
            }
            out.push((token.clone(), list));
        }
        if !extra.is_empty() {
            self.hooks
                .store()
                .release_webhook_deliveries(&token, &extra)
                .await?;
        }
        Ok((out, full))
    }

    fn lease_ms(&self) -> i64 {
        let per = self.rules.timeout.as_millis() as i64 + 1_000;
        per.saturating_mul(self.rules.per_group as i64) + 30_000
    }

    /// Sends one group in order; stops at the first delivery that must wait for a retry
    /// (later ones keep their order and are given back).
    async fn send_group(&self, token: String, group: Vec<Claimed>) -> Outcome {
        let mut results = Vec::with_capacity(group.len());
        let mut untouched = Vec::new();
        let mut blocked = false;
        for c in group {
            if blocked {
                untouched.push((token.clone(), c.delivery.id));
                continue;
            }
            let r = self.attempt(&token, &c).await;
            blocked = r.status == DeliveryStatus::Pending;
            results.push(r);
        }
        (results, untouched)
    }

    /// Sends `body` to `target` once (a test): whether it answered 2xx, and what happened.
    pub async fn send_once(&self, target: &Target, id: &str, body: String) -> (bool, String) {
        let (status, text, _) = self.post(target, id, body).await;
        (status == DeliveryStatus::Success, text)
    }

    /// One POST: the state it leads to, a line for the log, whether the receiver failed.
    async fn post(
        &self,
        target: &Target,
        id: &str,
        body: String,
    ) -> (DeliveryStatus, String, bool) {
        let mut headers = vec![
            ("content-type", content_type(target).to_owned()),
            ("webhook-id", id.to_owned()),
        ];
        let outcome = match &target.auth_header {
            Some(h) => match self.hooks.open_header(h) {
                Ok(v) => {
                    headers.push(("authorization", v));
                    Ok(())
                }
                Err(e) => Err(format!("the auth header cannot be opened: {e}")),
            },
            None => Ok(()),
        };
        let client = if target.skip_cert_verify {
            &self.insecure
        } else {
            &self.secure
        };
        match outcome {
            Err(why) => (DeliveryStatus::Error, why, false),
            Ok(()) => {
                let sent = client
                    .send(Request {
                        method: Method::POST,
                        url: &target.address,
                        headers,
                        body: Some(Bytes::from(body)),
                        timeout: self.rules.timeout,
                        max_body: 64 << 10,
                    })
                    .await;
                classify(sent)
            }
        }
    }

    /// One attempt of a claimed delivery.
    async fn attempt(&self, token: &str, c: &Claimed) -> AttemptResult {
        let d = &c.delivery;
        let at = now_ms();
        let attempt = d.attempts + 1;
        let (status, text, receiver_failed) = self
            .post(&c.target, &d.spec.uuid, d.spec.payload.clone())
            .await;
        let (status, text) = match status {
            DeliveryStatus::Pending if attempt >= self.rules.retry.max_attempts => (
                DeliveryStatus::Error,
                format!("{text}; gave up after {attempt} attempts"),
            ),
            DeliveryStatus::Pending => (DeliveryStatus::Pending, format!("{text}, will retry")),
            other => (other, text),
        };
        let next_ms = if status == DeliveryStatus::Pending {
            at + self.rules.retry.backoff(attempt, d.id as u64 ^ at as u64)
        } else {
            at
        };
        AttemptResult {
            token: token.to_owned(),
            id: d.id,
            policy_id: d.spec.policy_id,
            status,
            next_ms,
            text: format!("attempt {attempt}: {text}"),
            at_ms: at,
            receiver_failed,
        }
    }
}

/// Records the groups' outcomes as they come, each round merging every outcome ready;
/// then wakes the sender (the next deliveries of those groups may go).
async fn record(
    hooks: Webhooks,
    rules: RetryRules,
    mut done: tokio::sync::mpsc::UnboundedReceiver<Outcome>,
    recorded: Arc<Notify>,
) {
    while let Some(first) = done.recv().await {
        let (mut results, mut released) = first;
        while let Ok((r, u)) = done.try_recv() {
            results.extend(r);
            released.extend(u);
        }
        if let Err(e) = hooks
            .store()
            .record_webhook_attempts(&results, &released, &rules)
            .await
        {
            tracing::warn!(error = %e, "recording webhook attempts failed; their leases will run out");
        } else {
            recorded.notify_one();
        }
    }
}

/// What an answer (or its absence) means: the state, a line for the log, and whether the
/// receiver failed (for the breaker).
fn classify(
    sent: std::result::Result<harbor_remote::http::Answer, harbor_remote::Error>,
) -> (DeliveryStatus, String, bool) {
    match sent {
        Ok(a) if (200..300).contains(&a.status) => {
            (DeliveryStatus::Success, format!("HTTP {}", a.status), false)
        }
        Ok(a) if a.status == 408 || a.status == 429 || a.status >= 500 => {
            (DeliveryStatus::Pending, format!("HTTP {}", a.status), true)
        }
        Ok(a) => (
            DeliveryStatus::Error,
            format!("HTTP {}: the receiver refused the event", a.status),
            false,
        ),
        Err(e @ harbor_remote::Error::AddressRefused { .. }) => (
            DeliveryStatus::Error,
            format!("{e} (see remote.allowed_hosts in docs/webhooks.md)"),
            false,
        ),
        Err(e @ harbor_remote::Error::InvalidInput(_)) => {
            (DeliveryStatus::Error, e.to_string(), false)
        }
        Err(e) => (DeliveryStatus::Pending, e.to_string(), true),
    }
}
