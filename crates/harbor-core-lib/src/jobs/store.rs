//! The job queue port.

use async_trait::async_trait;

use super::{Heartbeat, Job, JobQuery, NewJob, NewSchedule, Outcome, Schedule};
use crate::Result;
use crate::events::NewEvent;
use crate::identity::Page;

/// Durable jobs, their logs and schedules, shared by every replica.
///
/// Times are milliseconds since the Unix epoch and are passed in by the caller where they
/// decide what happens (claims, leases, finishing), so that the rules can be tested
/// without waiting.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new `Pending` job.
    async fn enqueue(&self, job: &NewJob) -> Result<Job>;

    /// Stores a new `Pending` job and appends the events `events(&job)` makes for it to
    /// the outbox, in one transaction.
    async fn enqueue_emitting(
        &self,
        job: &NewJob,
        events: &(dyn for<'j> Fn(&'j Job) -> Vec<NewEvent> + Send + Sync),
    ) -> Result<Job>;

    /// Stores a new `Pending` job unless a job of the same kind is `Pending` or
    /// `Running`: atomically, so of two concurrent callers at most one gets `Ok(Ok(job))`
    /// and the other the active job (`Ok(Err(active))`). The events `events(&job)` makes
    /// for the new job are appended to the outbox in the same transaction.
    async fn enqueue_exclusive(
        &self,
        job: &NewJob,
        events: &(dyn for<'j> Fn(&'j Job) -> Vec<NewEvent> + Send + Sync),
    ) -> Result<std::result::Result<Job, Job>>;

    /// The job with this id.
    async fn job(&self, id: i64) -> Result<Option<Job>>;

    /// One page of jobs, newest first, and how many match.
    async fn jobs(&self, query: &JobQuery, page: Page) -> Result<(Vec<Job>, u64)>;

    /// Claims one job of one of `kinds` for `worker`, oldest first (`run_after`, then id):
    /// a `Pending` job whose `run_after` has come, or a `Running` job whose lease expired
    /// before `now_ms` (its worker died). A lost job with no attempts left ends as `Error`
    /// ("worker lost"), and one whose stop was requested ends as `Stopped`; neither is
    /// returned. The claimed job is `Running` with `lease_until = now_ms + lease_ms`, its
    /// attempts counted up and `started_at` set on the first claim.
    ///
    /// Kinds listed in `exclusive` run at most one at a time across all workers: a job of
    /// such a kind is not claimed while another of the same kind is `Running` (a running
    /// job with an expired lease still counts until it is claimed again or ended).
    /// Concurrent claimers never take the same job.
    async fn claim(
        &self,
        worker: &str,
        kinds: &[String],
        exclusive: &[String],
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Job>>;

    /// Extends the lease of a running job to `lease_until_ms` and stores `progress` (JSON),
    /// but only while `worker` owns it. Says whether it does and whether a stop was
    /// requested.
    async fn heartbeat(
        &self,
        id: i64,
        worker: &str,
        lease_until_ms: i64,
        progress: Option<&str>,
    ) -> Result<Heartbeat>;

    /// Ends `worker`'s run of a job: `Success`, `Stopped`, or for `Failed` back to `Pending`
    /// at `retry_at_ms` when attempts are left and no stop was requested, else `Error`.
    /// False (and nothing changes) if `worker` does not own the running job.
    async fn finish(&self, id: i64, worker: &str, outcome: &Outcome, now_ms: i64) -> Result<bool> {
        self.finish_emitting(id, worker, outcome, now_ms, &|_| Vec::new())
            .await
    }

    /// [`JobStore::finish`], appending the events `events(&job)` makes for the job as it
    /// now is (final, or back to `Pending` for a retry) in the same transaction.
    async fn finish_emitting(
        &self,
        id: i64,
        worker: &str,
        outcome: &Outcome,
        now_ms: i64,
        events: &(dyn for<'j> Fn(&'j Job) -> Vec<NewEvent> + Send + Sync),
    ) -> Result<bool>;

    /// Gives a running job back without counting the run as an attempt (a replica shutting
    /// down): `Pending` again, claimable at once by any worker; `Stopped` if a stop was
    /// requested. False if `worker` does not own it.
    async fn release(&self, id: i64, worker: &str, now_ms: i64) -> Result<bool>;

    /// Stops a job: a `Pending` one at once (`Stopped`), a `Running` one by setting
    /// `stop_requested` for its worker to act on. Final jobs are left as they are. The job
    /// after the change, or `None` if there is no such job.
    async fn request_stop(&self, id: i64, now_ms: i64) -> Result<Option<Job>> {
        self.request_stop_emitting(id, now_ms, &[]).await
    }

    /// [`request_stop`](Self::request_stop), appending `events` in its transaction when
    /// the job exists.
    async fn request_stop_emitting(
        &self,
        id: i64,
        now_ms: i64,
        events: &[NewEvent],
    ) -> Result<Option<Job>>;

    /// Appends `(time ms, line)` entries to a job's log.
    async fn append_log(&self, id: i64, lines: &[(i64, String)]) -> Result<()>;

    /// A job's log, in the order written.
    async fn job_log(&self, id: i64) -> Result<Vec<(i64, String)>>;

    /// Creates the schedule, or replaces the one with the same name (keeping its id).
    async fn put_schedule(&self, schedule: &NewSchedule) -> Result<Schedule> {
        self.put_schedule_emitting(schedule, &[]).await
    }

    /// [`put_schedule`](Self::put_schedule), appending `events` in its transaction.
    async fn put_schedule_emitting(
        &self,
        schedule: &NewSchedule,
        events: &[NewEvent],
    ) -> Result<Schedule>;

    /// The schedule with this name.
    async fn schedule(&self, name: &str) -> Result<Option<Schedule>>;

    /// Every schedule, by name.
    async fn schedules(&self) -> Result<Vec<Schedule>>;

    /// Deletes a schedule (its jobs stay); false if there was none.
    async fn delete_schedule(&self, name: &str) -> Result<bool> {
        self.delete_schedule_emitting(name, &[]).await
    }

    /// [`delete_schedule`](Self::delete_schedule), appending `events` in its transaction
    /// when there was a schedule to delete.
    async fn delete_schedule_emitting(&self, name: &str, events: &[NewEvent]) -> Result<bool>;

    /// Pauses or resumes a schedule; false if there is none.
    async fn set_schedule_paused(&self, name: &str, paused: bool) -> Result<bool>;

    /// Schedules that are not paused and whose next run is at or before `now_ms`.
    async fn due_schedules(&self, now_ms: i64) -> Result<Vec<Schedule>>;

    /// Fires a schedule: in one transaction, moves its next run from
    /// `expected_next_run_ms` to `new_next_run_ms` and enqueues `job` (linked to the
    /// schedule). `None` if the next run was not the expected one (another replica fired
    /// it first) or the schedule is paused or gone.
    async fn fire_schedule(
        &self,
        id: i64,
        expected_next_run_ms: i64,
        new_next_run_ms: Option<i64>,
        job: &NewJob,
    ) -> Result<Option<Job>>;

    /// Deletes finished jobs (of `kind`, or all kinds) that finished before `before_ms`,
    /// with their logs; returns how many jobs went.
    async fn delete_jobs_before(&self, kind: Option<&str>, before_ms: i64) -> Result<u64>;
}
