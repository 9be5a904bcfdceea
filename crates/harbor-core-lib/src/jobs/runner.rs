//! The job runner: worker loops that claim, run and finish jobs, and a scheduler loop that
//! fires due schedules. Every replica runs one; the store keeps them from doing the same
//! work twice.
//!
//! A claimed job runs in a task of its own while its worker heartbeats (extending the
//! lease, storing logs and progress, picking up stop requests). The handler's result
//! decides the outcome: `Ok` is `Success`; a retryable [`JobError`] is retried after an
//! exponential backoff while attempts are left, then `Error`; a fatal one is `Error` at
//! once; a panic is `Error` ("job panicked"). A handler told to stop (see
//! [`JobContext::is_stopped`]) has [`RunnerConfig::stop_grace`] to return before its task
//! is aborted; whatever it returns then, the job ends `Stopped` if a user asked, or is
//! released back to `Pending` (without using an attempt) if this replica is shutting
//! down, so that another replica picks it up. Handlers must therefore tolerate running
//! again after a partial run (as after a crash).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::{Either, select};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use super::context::StopReason;
use super::{Cron, Job, JobContext, JobError, JobStore, NewJob, Outcome, Trigger};
use crate::events::{DomainEvent, NewEvent, SYSTEM};
use crate::model::now_ms;

/// The work of one kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Runs the job. Long runs should check [`JobContext::is_stopped`] (or await
    /// [`JobContext::stopped`]) between steps and return early when it is true.
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError>;
}

/// Settings of a [`JobRunner`].
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// This replica's name; worker loop `n` claims as `"{worker_id}-{n}"`.
    pub worker_id: String,
    /// Jobs run at the same time on this replica.
    pub workers: usize,
    /// How often an idle worker looks for work ([`RunnerHandle::wake`] cuts it short).
    pub poll_interval: Duration,
    /// How long a claim lasts without a heartbeat; a worker silent for longer is taken
    /// for dead and its job is claimed again.
    pub lease: Duration,
    /// How often a running job's lease is extended (well below `lease`).
    pub heartbeat_interval: Duration,
    /// How often due schedules are looked for.
    pub schedule_interval: Duration,
    /// The delay before the first retry; it doubles with each attempt.
    pub backoff_base: Duration,
    /// The longest delay between retries.
    pub backoff_max: Duration,
    /// How long a handler told to stop may take to return before its task is aborted.
    pub stop_grace: Duration,
    /// `max_attempts` of the jobs schedules enqueue.
    pub scheduled_max_attempts: u32,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            worker_id: format!("harbor-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            workers: 2,
            poll_interval: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(15),
            schedule_interval: Duration::from_secs(10),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(600),
            stop_grace: Duration::from_secs(30),
            scheduled_max_attempts: 1,
        }
    }
}

impl RunnerConfig {
    /// The delay before retrying after run number `attempt` (from 1) failed:
    /// `backoff_base * 2^(attempt-1)`, at most `backoff_max`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

struct Registered {
    handler: Arc<dyn JobHandler>,
    exclusive: bool,
}

/// Runs registered kinds of jobs from a [`JobStore`]; see the module documentation.
pub struct JobRunner {
    store: Arc<dyn JobStore>,
    config: RunnerConfig,
    handlers: HashMap<String, Registered>,
}

impl JobRunner {
    /// A runner on `store`; register handlers, then [`JobRunner::start`] it.
    pub fn new(store: Arc<dyn JobStore>, config: RunnerConfig) -> Self {
        JobRunner {
            store,
            config,
            handlers: HashMap::new(),
        }
    }

    /// Runs jobs of `kind` with `handler`. An `exclusive` kind runs at most once at a
    /// time across all replicas (every replica must register it so).
    pub fn register(
        &mut self,
        kind: impl Into<String>,
        handler: Arc<dyn JobHandler>,
        exclusive: bool,
    ) -> &mut Self {
        self.handlers
            .insert(kind.into(), Registered { handler, exclusive });
        self
    }

    /// Spawns the worker loops (none without handlers) and the scheduler loop on the
    /// current tokio runtime.
    pub fn start(self) -> RunnerHandle {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        let exclusive = kinds
            .iter()
            .filter(|k| self.handlers.get(*k).is_some_and(|r| r.exclusive))
            .cloned()
            .collect();
        let workers = if kinds.is_empty() {
            0
        } else {
            self.config.workers
        };
        let shared = Arc::new(Shared {
            store: self.store,
            config: self.config,
            handlers: self.handlers,
            kinds,
            exclusive,
            wake: Notify::new(),
            closing: watch::Sender::new(false),
            running: Mutex::new(HashMap::new()),
        });
        let mut tasks = Vec::with_capacity(workers + 1);
        for n in 0..workers {
            let worker = format!("{}-{n}", shared.config.worker_id);
            tasks.push(tokio::spawn(worker_loop(shared.clone(), worker)));
        }
        tasks.push(tokio::spawn(scheduler_loop(shared.clone())));
        RunnerHandle {
            shared,
            tasks: Arc::new(Mutex::new(tasks)),
        }
    }
}

/// Controls a started [`JobRunner`]. Clones control the same runner. Dropping it does not
/// stop the runner: call [`RunnerHandle::shutdown`].
#[derive(Clone)]
pub struct RunnerHandle {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl RunnerHandle {
    /// Makes an idle worker look for work now (call it after enqueueing a job).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Stops claiming and firing schedules, tells running handlers to stop, and waits for
    /// them (each at most [`RunnerConfig::stop_grace`], then aborted). Their jobs go back to
    /// `Pending` for another replica (or this one after a restart).
    pub async fn shutdown(&self) {
        self.shared.closing.send_replace(true);
        for ctx in self.shared.running().values() {
            ctx.stop(StopReason::Shutdown);
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a job runner task failed");
            }
        }
    }
}

struct Shared {
    store: Arc<dyn JobStore>,
    config: RunnerConfig,
    handlers: HashMap<String, Registered>,
    kinds: Vec<String>,
    exclusive: Vec<String>,
    wake: Notify,
    closing: watch::Sender<bool>,
    /// Jobs running on this replica, by id.
    running: Mutex<HashMap<i64, JobContext>>,
}

impl Shared {
    fn closing(&self) -> bool {
        *self.closing.borrow()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, JobContext>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lease_ms(&self) -> i64 {
        millis(self.config.lease)
    }

    /// Waits for `d`, a wake-up (if `wakeable`) or shutdown, whichever comes first.
    async fn idle(&self, d: Duration, wakeable: bool) {
        let mut closing = self.closing.subscribe();
        let closed = std::pin::pin!(closing.wait_for(|c| *c));
        let sleep = std::pin::pin!(tokio::time::sleep(d));
        let either = std::pin::pin!(select(closed, sleep));
        if wakeable {
            let woken = std::pin::pin!(self.wake.notified());
            select(either, woken).await;
        } else {
            either.await;
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn worker_loop(shared: Arc<Shared>, worker: String) {
    while !shared.closing() {
        let claimed = shared
            .store
            .claim(
                &worker,
                &shared.kinds,
                &shared.exclusive,
                shared.lease_ms(),
                now_ms(),
            )
            .await;
        match claimed {
            Ok(Some(job)) => {
                // There may be more: let another idle worker look too.
                shared.wake.notify_one();
                run_job(&shared, &worker, job).await;
            }
            Ok(None) => shared.idle(shared.config.poll_interval, true).await,
            Err(e) => {
                tracing::warn!(worker, error = %e, "claiming a job failed");
                shared.idle(shared.config.poll_interval, true).await;
            }
        }
    }
}

type Joined = Result<Result<(), JobError>, JoinError>;

/// Runs one claimed job to its end and records the outcome.
async fn run_job(shared: &Arc<Shared>, worker: &str, job: Job) {
    let Some(registered) = shared.handlers.get(&job.kind) else {
        // Claims ask only for registered kinds.
        return;
    };
    let (id, attempt) = (job.id, job.attempts);
    tracing::info!(id, kind = job.kind, attempt, worker, "job started");
    let ctx = JobContext::new(job);
    shared.running().insert(id, ctx.clone());
    if shared.closing() {
        ctx.stop(StopReason::Shutdown);
    }
    let handler = registered.handler.clone();
    let task_ctx = ctx.clone();
    let mut task = tokio::spawn(async move { handler.run(&task_ctx).await });

    let heartbeat = shared.config.heartbeat_interval;
    let mut next_beat = Instant::now() + heartbeat;
    let mut deadline: Option<Instant> = None;
    let joined: Option<Joined> = loop {
        let until = deadline.map_or(next_beat, |d| d.min(next_beat));
        let stop = (deadline.is_none()).then_some(&ctx);
        if let Some(joined) = wait_for(&mut task, until, stop).await {
            break Some(joined);
        }
        let now = Instant::now();
        if deadline.is_none() && ctx.is_stopped() {
            deadline = Some(now + shared.config.stop_grace);
        }
        if deadline.is_some_and(|d| now >= d) {
            task.abort();
            break None;
        }
        if now >= next_beat {
            beat(shared, worker, &ctx).await;
            next_beat = Instant::now() + heartbeat;
        }
    };
    shared.running().remove(&id);
    flush_logs(shared, &ctx).await;

    let reason = ctx.stop_reason();
    if reason != StopReason::Lost
        && let Some(progress) = ctx.take_progress()
    {
        // The last report, which no heartbeat has carried yet.
        let lease_until = now_ms().saturating_add(shared.lease_ms());
        if let Err(e) = shared
            .store
            .heartbeat(id, worker, lease_until, Some(&progress))
            .await
        {
            tracing::warn!(id, worker, error = %e, "storing a job's progress failed");
        }
    }
    let now = now_ms();
    let outcome = match (joined, reason) {
        (_, StopReason::Lost) => {
            tracing::warn!(id, worker, "job lost: another worker claimed it");
            return;
        }
        (_, StopReason::Shutdown) => {
            match shared.store.release(id, worker, now).await {
                Ok(_) => tracing::info!(id, worker, "job released at shutdown"),
                Err(e) => tracing::warn!(id, worker, error = %e, "releasing a job failed"),
            }
            return;
        }
        (_, StopReason::Requested) => Outcome::Stopped,
        (None, StopReason::None) => Outcome::Stopped, // not reached: aborts follow a stop
        (Some(Err(e)), StopReason::None) => {
            if e.is_panic() {
                tracing::error!(id, worker, "job panicked");
            }
            Outcome::Failed {
                error: "job panicked".into(),
                retry_at_ms: None,
            }
        }
        (Some(Ok(Ok(()))), StopReason::None) => Outcome::Success,
        (Some(Ok(Err(e))), StopReason::None) => Outcome::Failed {
            retry_at_ms: e
                .retryable
                .then(|| now.saturating_add(millis(shared.config.backoff(attempt)))),
            error: e.message,
        },
    };
    tracing::info!(id, worker, outcome = ?outcome, "job ended");
    let finished = |job: &Job| {
        if job.status.is_final() {
            let event = DomainEvent::JobFinished {
                kind: job.kind.clone(),
                job_id: job.id,
                status: job.status.as_str().to_owned(),
            };
            vec![NewEvent::now(SYSTEM, event)]
        } else {
            Vec::new()
        }
    };
    match shared
        .store
        .finish_emitting(id, worker, &outcome, now, &finished)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(id, worker, "job was no longer ours to finish"),
        Err(e) => tracing::warn!(id, worker, error = %e, "recording a job's outcome failed"),
    }
}

/// Waits until the handler's task ends (its result), `until`, or (with `stop`) the job
/// is told to stop (`None` for both).
async fn wait_for(
    task: &mut JoinHandle<Result<(), JobError>>,
    until: Instant,
    stop: Option<&JobContext>,
) -> Option<Joined> {
    let timer = std::pin::pin!(tokio::time::sleep_until(until));
    let stopped = std::pin::pin!(async {
        match stop {
            Some(ctx) => ctx.stopped().await,
            None => futures::future::pending().await,
        }
    });
    match select(task, select(timer, stopped)).await {
        Either::Left((joined, _)) => Some(joined),
        Either::Right(_) => None,
    }
}

/// Stores buffered log lines; keeps them for the next try if that fails.
async fn flush_logs(shared: &Shared, ctx: &JobContext) {
    let lines = ctx.take_logs();
    if lines.is_empty() {
        return;
    }
    if let Err(e) = shared.store.append_log(ctx.job().id, &lines).await {
        tracing::warn!(id = ctx.job().id, error = %e, "storing a job's log failed");
        ctx.restore_logs(lines);
    }
}

/// Flushes the log, extends the lease with the latest progress, and passes on a stop.
async fn beat(shared: &Shared, worker: &str, ctx: &JobContext) {
    flush_logs(shared, ctx).await;
    let id = ctx.job().id;
    let progress = ctx.take_progress();
    let lease_until = now_ms().saturating_add(shared.lease_ms());
    match shared
        .store
        .heartbeat(id, worker, lease_until, progress.as_deref())
        .await
    {
        Ok(hb) if !hb.owned => ctx.stop(StopReason::Lost),
        Ok(hb) if hb.stop_requested => ctx.stop(StopReason::Requested),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(id, worker, error = %e, "job heartbeat failed");
            if let Some(p) = progress {
                ctx.restore_progress(p);
            }
        }
    }
}

async fn scheduler_loop(shared: Arc<Shared>) {
    while !shared.closing() {
        match fire_due(
            shared.store.as_ref(),
            shared.config.scheduled_max_attempts,
            now_ms(),
        )
        .await
        {
            Ok(0) => {}
            Ok(_) => shared.wake.notify_one(),
            Err(e) => tracing::warn!(error = %e, "firing schedules failed"),
        }
        shared.idle(shared.config.schedule_interval, false).await;
    }
}

/// Fires every due schedule once (the next run moves to the first cron time after
/// `now_ms`, so periods missed while no replica ran fire once); returns how many jobs
/// this call enqueued. Other replicas firing the same schedule lose the race harmlessly.
pub(super) async fn fire_due(
    store: &dyn JobStore,
    max_attempts: u32,
    now_ms: i64,
) -> crate::Result<usize> {
    let mut fired = 0;
    for s in store.due_schedules(now_ms).await? {
        let Some(expected) = s.next_run_ms else {
            continue;
        };
        let cron = match Cron::parse(&s.cron) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(schedule = s.name, error = %e, "schedule not fired");
                continue;
            }
        };
        let job = NewJob {
            kind: s.kind.clone(),
            params: s.params.clone(),
            trigger: Trigger::Schedule,
            max_attempts: max_attempts.max(1),
            run_after_ms: now_ms,
            schedule_id: Some(s.id),
        };
        let next = cron.next_after(now_ms.max(expected));
        if let Some(job) = store.fire_schedule(s.id, expected, next, &job).await? {
            tracing::info!(schedule = s.name, id = job.id, "schedule fired");
            fired += 1;
        }
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let c = RunnerConfig {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            ..RunnerConfig::default()
        };
        assert_eq!(c.backoff(1), Duration::from_secs(10));
        assert_eq!(c.backoff(2), Duration::from_secs(20));
        assert_eq!(c.backoff(3), Duration::from_secs(40));
        assert_eq!(c.backoff(6), Duration::from_secs(300));
        assert_eq!(c.backoff(100), Duration::from_secs(300));
        assert_eq!(c.backoff(0), Duration::from_secs(10));
    }
}
