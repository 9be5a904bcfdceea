//! The contract of the durable job queue, job logs and schedules, and the job runner on
//! the real store, run against SQLite and PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see
//! `harbor_storage::testing`). "Replicas" are two stores opened on the same database.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use harbor_core::Error;
use harbor_core::events::{DomainEvent, EventStore};
use harbor_core::identity::Page;
use harbor_core::jobs::{
    Cron, Job, JobContext, JobError, JobHandler, JobQuery, JobRunner, JobStatus, JobStore, NewJob,
    NewSchedule, Outcome, RunnerConfig, Trigger,
};
use harbor_core::model::now_ms;
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;
use tokio::sync::mpsc;

harbor_storage::contract_tests!(
    claim_heartbeat_and_finish,
    failures_retry_with_backoff_until_attempts_run_out,
    stop_pending_and_running_jobs,
    logs_and_history_retention,
    listing_filters_and_pages,
    a_dead_worker_is_replaced_until_attempts_run_out,
    release_gives_a_job_back,
    exclusive_kinds_run_one_at_a_time,
    replicas_claim_every_job_exactly_once,
    concurrent_exclusive_claims_take_one_job,
    schedules_are_stored_and_fire_once,
    runner_runs_logs_and_reports_progress,
    runner_retries_then_fails,
    runner_stops_a_running_job_on_request,
    runner_survives_a_panicking_handler,
    runner_fires_a_due_schedule_once,
    runner_shutdown_releases_running_jobs,
);

const T: i64 = 1_700_000_000_000;

fn all() -> Page {
    Page {
        page: 1,
        page_size: 1000,
    }
}

fn kinds(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| s.to_string()).collect()
}

fn new_job(kind: &str, max_attempts: u32, run_after_ms: i64) -> NewJob {
    NewJob {
        kind: kind.into(),
        params: format!(r#"{{"kind":"{kind}"}}"#),
        trigger: Trigger::Manual,
        max_attempts,
        run_after_ms,
        schedule_id: None,
    }
}

async fn get(s: &SqlMetadataStore, id: i64) -> Job {
    s.job(id).await.unwrap().expect("the job exists")
}

async fn claim(s: &SqlMetadataStore, worker: &str, k: &[&str], now: i64) -> Option<Job> {
    s.claim(worker, &kinds(k), &[], 1000, now).await.unwrap()
}

async fn claim_gc(s: &SqlMetadataStore, worker: &str, now: i64) -> Option<Job> {
    s.claim(worker, &kinds(&["gc", "other"]), &kinds(&["gc"]), 1000, now)
        .await
        .unwrap()
}

async fn claim_heartbeat_and_finish(t: &Target) {
    let s = t.open().await;
    let a1 = s.enqueue(&new_job("a", 1, T)).await.unwrap();
    assert_eq!(a1.status, JobStatus::Pending);
    assert_eq!((a1.attempts, a1.max_attempts), (0, 1));
    assert_eq!(a1.progress, "{}");
    assert_eq!(a1.params, r#"{"kind":"a"}"#);
    assert!(a1.worker.is_none() && a1.started_at.is_none() && a1.finished_at.is_none());
    let b = s.enqueue(&new_job("b", 1, T)).await.unwrap();
    let a2 = s.enqueue(&new_job("a", 1, T)).await.unwrap();
    let later = s.enqueue(&new_job("a", 1, T + 5000)).await.unwrap();

    // Only the asked kinds, oldest first; nothing before its time.
    assert!(claim(&s, "w1", &["a"], T - 1).await.is_none());
    let c = claim(&s, "w1", &["a"], T).await.unwrap();
    assert_eq!(c.id, a1.id);
    assert_eq!(c.status, JobStatus::Running);
    assert_eq!(c.attempts, 1);
    assert_eq!(c.worker.as_deref(), Some("w1"));
    assert_eq!(c.lease_until_ms, Some(T + 1000));
    assert_eq!(c.started_at, Some(T));
    assert_eq!(claim(&s, "w2", &["a"], T).await.unwrap().id, a2.id);
    assert!(claim(&s, "w2", &["a"], T + 10).await.is_none());
    assert_eq!(claim(&s, "w3", &["a", "b"], T).await.unwrap().id, b.id);
    assert!(s.claim("w", &[], &[], 1000, T).await.unwrap().is_none());

    // Heartbeats extend the lease of the owner only, with progress.
    let hb = s.heartbeat(a1.id, "w2", T + 9000, None).await.unwrap();
    assert!(!hb.owned);
    let hb = s
        .heartbeat(a1.id, "w1", T + 2000, Some(r#"{"done":3}"#))
        .await
        .unwrap();
    assert!(hb.owned && !hb.stop_requested);
    let j = get(&s, a1.id).await;
    assert_eq!(j.lease_until_ms, Some(T + 2000));
    assert_eq!(j.progress, r#"{"done":3}"#);
    s.heartbeat(a1.id, "w1", T + 3000, None).await.unwrap();
    assert_eq!(get(&s, a1.id).await.progress, r#"{"done":3}"#);

    // Only the owner finishes, once.
    assert!(
        !s.finish(a1.id, "w2", &Outcome::Success, T + 100)
            .await
            .unwrap()
    );
    assert!(
        s.finish(a1.id, "w1", &Outcome::Success, T + 100)
            .await
            .unwrap()
    );
    let j = get(&s, a1.id).await;
    assert_eq!(j.status, JobStatus::Success);
    assert_eq!(j.finished_at, Some(T + 100));
    assert!(
        !s.finish(a1.id, "w1", &Outcome::Success, T + 200)
            .await
            .unwrap()
    );
    assert!(
        !s.heartbeat(a1.id, "w1", T + 5000, None)
            .await
            .unwrap()
            .owned
    );
    // A finished job is never claimed again; the later one comes when it is due (a2's
    // lease has expired by then, and without attempts left it ends, unclaimed).
    assert_eq!(
        claim(&s, "w4", &["a"], T + 5000).await.unwrap().id,
        later.id
    );
    assert_eq!(get(&s, a2.id).await.status, JobStatus::Error);
    assert!(claim(&s, "w5", &["a"], T + 100_000).await.is_none());
    assert!(s.job(999_999).await.unwrap().is_none());
}

async fn failures_retry_with_backoff_until_attempts_run_out(t: &Target) {
    let s = t.open().await;
    let j = s.enqueue(&new_job("a", 2, T)).await.unwrap();
    claim(&s, "w1", &["a"], T).await.unwrap();
    let failed = Outcome::Failed {
        error: "boom".into(),
        retry_at_ms: Some(T + 1000),
    };
    assert!(s.finish(j.id, "w1", &failed, T + 10).await.unwrap());
    let p = get(&s, j.id).await;
    assert_eq!(p.status, JobStatus::Pending);
    assert_eq!(p.run_after_ms, T + 1000);
    assert_eq!(p.error.as_deref(), Some("boom"));
    assert_eq!(p.attempts, 1);
    assert!(p.finished_at.is_none() && p.lease_until_ms.is_none());

    assert!(claim(&s, "w2", &["a"], T + 999).await.is_none());
    let again = claim(&s, "w2", &["a"], T + 1000).await.unwrap();
    assert_eq!((again.id, again.attempts), (j.id, 2));
    assert_eq!(again.started_at, Some(T), "started_at is the first claim");
    let failed = Outcome::Failed {
        error: "boom again".into(),
        retry_at_ms: Some(T + 5000),
    };
    assert!(s.finish(j.id, "w2", &failed, T + 1100).await.unwrap());
    let e = get(&s, j.id).await;
    assert_eq!(e.status, JobStatus::Error, "no attempts left");
    assert_eq!(e.error.as_deref(), Some("boom again"));
    assert_eq!(e.finished_at, Some(T + 1100));
    assert!(claim(&s, "w3", &["a"], T + 10_000).await.is_none());

    // Not retryable: Error at once, attempts or not.
    let n = s.enqueue(&new_job("a", 5, T)).await.unwrap();
    claim(&s, "w1", &["a"], T).await.unwrap();
    let fatal = Outcome::Failed {
        error: "bad params".into(),
        retry_at_ms: None,
    };
    assert!(s.finish(n.id, "w1", &fatal, T + 1).await.unwrap());
    assert_eq!(get(&s, n.id).await.status, JobStatus::Error);
}

async fn stop_pending_and_running_jobs(t: &Target) {
    let s = t.open().await;
    let pending = s.enqueue(&new_job("a", 3, T)).await.unwrap();
    let stopped = s.request_stop(pending.id, T + 5).await.unwrap().unwrap();
    assert_eq!(stopped.status, JobStatus::Stopped);
    assert_eq!(stopped.finished_at, Some(T + 5));
    assert!(claim(&s, "w", &["a"], T + 10).await.is_none());

    let running = s.enqueue(&new_job("a", 3, T)).await.unwrap();
    claim(&s, "w", &["a"], T).await.unwrap();
    let r = s.request_stop(running.id, T + 5).await.unwrap().unwrap();
    assert_eq!(r.status, JobStatus::Running);
    assert!(r.stop_requested);
    let hb = s.heartbeat(running.id, "w", T + 900, None).await.unwrap();
    assert!(hb.owned && hb.stop_requested);
    assert!(
        s.finish(running.id, "w", &Outcome::Stopped, T + 20)
            .await
            .unwrap()
    );
    let j = get(&s, running.id).await;
    assert_eq!(j.status, JobStatus::Stopped);
    assert_eq!(j.finished_at, Some(T + 20));

    // Final jobs stay as they are; unknown jobs are None.
    let again = s.request_stop(running.id, T + 30).await.unwrap().unwrap();
    assert_eq!(again.status, JobStatus::Stopped);
    assert_eq!(again.updated_at, j.updated_at);
    assert!(s.request_stop(999_999, T).await.unwrap().is_none());

    // A failure after a stop request is not retried.
    let f = s.enqueue(&new_job("a", 3, T)).await.unwrap();
    claim(&s, "w", &["a"], T).await.unwrap();
    s.request_stop(f.id, T + 1).await.unwrap();
    let failed = Outcome::Failed {
        error: "interrupted".into(),
        retry_at_ms: Some(T + 100),
    };
    assert!(s.finish(f.id, "w", &failed, T + 2).await.unwrap());
    assert_eq!(get(&s, f.id).await.status, JobStatus::Error);
}

async fn logs_and_history_retention(t: &Target) {
    let s = t.open().await;
    let a = s.enqueue(&new_job("gc", 1, T)).await.unwrap();
    let lines: Vec<(i64, String)> = (0..450).map(|i| (T + i, format!("line {i}"))).collect();
    s.append_log(a.id, &lines[..10]).await.unwrap();
    s.append_log(a.id, &lines[10..]).await.unwrap();
    s.append_log(a.id, &[]).await.unwrap();
    assert_eq!(s.job_log(a.id).await.unwrap(), lines);
    assert!(matches!(
        s.append_log(999_999, &lines[..1]).await,
        Err(Error::NotFound(_))
    ));

    // Jobs finished at T+100 (gc), T+200 (other), one still running, one pending.
    claim(&s, "w", &["gc"], T).await.unwrap();
    s.finish(a.id, "w", &Outcome::Success, T + 100)
        .await
        .unwrap();
    let b = s.enqueue(&new_job("other", 1, T)).await.unwrap();
    claim(&s, "w", &["other"], T).await.unwrap();
    s.finish(b.id, "w", &Outcome::Success, T + 200)
        .await
        .unwrap();
    s.append_log(b.id, &lines[..3]).await.unwrap();
    let running = s.enqueue(&new_job("gc", 1, T)).await.unwrap();
    claim(&s, "w", &["gc"], T).await.unwrap();
    let pending = s.enqueue(&new_job("gc", 1, T + 1_000_000)).await.unwrap();

    assert_eq!(s.delete_jobs_before(Some("gc"), T + 100).await.unwrap(), 0);
    assert_eq!(s.delete_jobs_before(Some("gc"), i64::MAX).await.unwrap(), 1);
    assert!(s.job(a.id).await.unwrap().is_none());
    assert!(
        s.job_log(a.id).await.unwrap().is_empty(),
        "logs go with the job"
    );
    assert_eq!(s.job_log(b.id).await.unwrap().len(), 3);
    assert_eq!(s.delete_jobs_before(None, T + 201).await.unwrap(), 1);
    assert!(s.job_log(b.id).await.unwrap().is_empty());
    assert!(s.job(running.id).await.unwrap().is_some());
    assert!(s.job(pending.id).await.unwrap().is_some());
}

async fn listing_filters_and_pages(t: &Target) {
    let s = t.open().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 { "gc" } else { "purge" };
        ids.push(s.enqueue(&new_job(kind, 1, T)).await.unwrap().id);
    }
    // The oldest gc job runs.
    claim(&s, "w", &["gc"], T).await.unwrap();

    let (page, total) = s.jobs(&JobQuery::default(), all()).await.unwrap();
    assert_eq!(total, 7);
    let listed: Vec<i64> = page.iter().map(|j| j.id).collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);

    let gc = JobQuery {
        kind: Some("gc".into()),
        status: None,
    };
    let (page, total) = s.jobs(&gc, all()).await.unwrap();
    assert_eq!(total, 4);
    assert!(page.iter().all(|j| j.kind == "gc"));

    let gc_pending = JobQuery {
        kind: Some("gc".into()),
        status: Some(JobStatus::Pending),
    };
    assert_eq!(s.jobs(&gc_pending, all()).await.unwrap().1, 3);
    let running = JobQuery {
        kind: None,
        status: Some(JobStatus::Running),
    };
    let (page, total) = s.jobs(&running, all()).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(page[0].id, ids[0]);

    let second = Page {
        page: 2,
        page_size: 3,
    };
    let (page, total) = s.jobs(&JobQuery::default(), second).await.unwrap();
    assert_eq!(total, 7);
    assert_eq!(
        page.iter().map(|j| j.id).collect::<Vec<_>>(),
        newest_first[3..6]
    );
    let past = Page {
        page: 10,
        page_size: 3,
    };
    let (page, total) = s.jobs(&JobQuery::default(), past).await.unwrap();
    assert!(page.is_empty());
    assert_eq!(total, 7);
}

async fn a_dead_worker_is_replaced_until_attempts_run_out(t: &Target) {
    let s = t.open().await;
    let j = s.enqueue(&new_job("a", 2, T)).await.unwrap();
    // w1 claims (lease until T+1000) and is never heard of again.
    claim(&s, "w1", &["a"], T).await.unwrap();
    assert!(
        claim(&s, "w2", &["a"], T + 999).await.is_none(),
        "lease still live"
    );
    let again = claim(&s, "w2", &["a"], T + 1001).await.unwrap();
    assert_eq!(again.id, j.id);
    assert_eq!(again.attempts, 2);
    assert_eq!(again.worker.as_deref(), Some("w2"));
    assert_eq!(again.lease_until_ms, Some(T + 2001));
    // The old worker has lost it.
    assert!(!s.heartbeat(j.id, "w1", T + 5000, None).await.unwrap().owned);
    assert!(
        !s.finish(j.id, "w1", &Outcome::Success, T + 1002)
            .await
            .unwrap()
    );

    // w2 dies too: no attempts left, so the job ends as Error, unclaimed.
    assert!(claim(&s, "w3", &["a"], T + 2002).await.is_none());
    let e = get(&s, j.id).await;
    assert_eq!(e.status, JobStatus::Error);
    assert_eq!(e.error.as_deref(), Some("worker lost"));
    assert_eq!(e.finished_at, Some(T + 2002));

    // A dead worker's job with a stop requested ends as Stopped; claiming moves on to
    // the next job in the same call.
    let stop = s.enqueue(&new_job("a", 5, T)).await.unwrap();
    let next = s.enqueue(&new_job("a", 5, T + 1)).await.unwrap();
    claim(&s, "w4", &["a"], T).await.unwrap();
    s.request_stop(stop.id, T + 10).await.unwrap();
    let c = claim(&s, "w5", &["a"], T + 1001).await.unwrap();
    assert_eq!(c.id, next.id);
    assert_eq!(get(&s, stop.id).await.status, JobStatus::Stopped);
}

async fn release_gives_a_job_back(t: &Target) {
    let s = t.open().await;
    let j = s.enqueue(&new_job("a", 1, T)).await.unwrap();
    claim(&s, "w1", &["a"], T).await.unwrap();
    assert!(!s.release(j.id, "w2", T + 5).await.unwrap());
    assert!(s.release(j.id, "w1", T + 5).await.unwrap());
    let p = get(&s, j.id).await;
    assert_eq!(p.status, JobStatus::Pending);
    assert_eq!(p.attempts, 0, "a released run is not an attempt");
    assert!(p.worker.is_none() && p.lease_until_ms.is_none());
    let c = claim(&s, "w2", &["a"], T + 5).await.unwrap();
    assert_eq!((c.id, c.attempts), (j.id, 1));

    // Released with a stop requested: Stopped.
    s.request_stop(j.id, T + 6).await.unwrap();
    assert!(s.release(j.id, "w2", T + 7).await.unwrap());
    assert_eq!(get(&s, j.id).await.status, JobStatus::Stopped);
}

async fn exclusive_kinds_run_one_at_a_time(t: &Target) {
    let s = t.open().await;
    let gc1 = s.enqueue(&new_job("gc", 1, T)).await.unwrap();
    let gc2 = s.enqueue(&new_job("gc", 1, T)).await.unwrap();
    let other = s.enqueue(&new_job("other", 1, T)).await.unwrap();
    assert_eq!(claim_gc(&s, "w1", T).await.unwrap().id, gc1.id);
    // The second gc waits; other kinds do not.
    assert_eq!(claim_gc(&s, "w2", T).await.unwrap().id, other.id);
    assert!(claim_gc(&s, "w3", T).await.is_none());
    // Without the exclusive list the same store would hand it out: the rule is the
    // caller's.
    s.finish(gc1.id, "w1", &Outcome::Success, T + 1)
        .await
        .unwrap();
    assert_eq!(claim_gc(&s, "w3", T + 1).await.unwrap().id, gc2.id);

    // A gc whose worker died still holds the kind until it is claimed again or ended.
    let gc3 = s.enqueue(&new_job("gc", 1, T)).await.unwrap();
    assert!(claim_gc(&s, "w4", T + 500).await.is_none());
    // gc2's lease (T+1+1000) expires; it has no attempts left: Error, then gc3 runs.
    let c = claim_gc(&s, "w4", T + 1002).await.unwrap();
    assert_eq!(c.id, gc3.id);
    assert_eq!(get(&s, gc2.id).await.status, JobStatus::Error);
    // A retry back to Pending frees the kind too.
    let failed = Outcome::Failed {
        error: "x".into(),
        retry_at_ms: Some(T + 2000),
    };
    let gc4 = s.enqueue(&new_job("gc", 3, T)).await.unwrap();
    assert!(claim_gc(&s, "w5", T + 1003).await.is_none());
    s.finish(gc3.id, "w4", &failed, T + 1003).await.unwrap();
    assert_eq!(claim_gc(&s, "w5", T + 1003).await.unwrap().id, gc4.id);
}

/// A second store on the same database: another replica.
async fn replica(t: &Target) -> SqlMetadataStore {
    t.open().await
}

async fn replicas_claim_every_job_exactly_once(t: &Target) {
    let (a, b) = (Arc::new(t.open().await), Arc::new(replica(t).await));
    const JOBS: usize = 200;
    let mut expected = BTreeSet::new();
    for _ in 0..JOBS {
        expected.insert(a.enqueue(&new_job("q", 1, T)).await.unwrap().id);
    }
    let mut tasks = Vec::new();
    for n in 0..8 {
        let s = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{n}");
            let mut mine = Vec::new();
            while let Some(j) = s
                .claim(&worker, &kinds(&["q"]), &[], 60_000, T)
                .await
                .unwrap()
            {
                assert_eq!(j.worker.as_deref(), Some(worker.as_str()));
                assert!(s.finish(j.id, &worker, &Outcome::Success, T).await.unwrap());
                mine.push(j.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    assert_eq!(claimed.len(), JOBS, "every job claimed once, none twice");
    let unique: BTreeSet<i64> = claimed.into_iter().collect();
    assert_eq!(unique, expected);
    let done = JobQuery {
        kind: None,
        status: Some(JobStatus::Success),
    };
    assert_eq!(a.jobs(&done, all()).await.unwrap().1, JOBS as u64);
    assert!(
        b.jobs(&done, all())
            .await
            .unwrap()
            .0
            .iter()
            .all(|j| j.attempts == 1)
    );
}

async fn concurrent_exclusive_claims_take_one_job(t: &Target) {
    let (a, b) = (Arc::new(t.open().await), Arc::new(replica(t).await));
    for _ in 0..6 {
        a.enqueue(&new_job("gc", 1, T)).await.unwrap();
    }
    for round in 0..3 {
        let mut tasks = Vec::new();
        for n in 0..10 {
            let s = if n % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                s.claim(
                    &format!("w{n}"),
                    &kinds(&["gc"]),
                    &kinds(&["gc"]),
                    60_000,
                    T,
                )
                .await
                .unwrap()
            }));
        }
        let mut got = Vec::new();
        for task in tasks {
            got.extend(task.await.unwrap());
        }
        assert_eq!(got.len(), 1, "round {round}: one gc at a time, got {got:?}");
        let running = JobQuery {
            kind: Some("gc".into()),
            status: Some(JobStatus::Running),
        };
        assert_eq!(a.jobs(&running, all()).await.unwrap().1, 1);
        let j = &got[0];
        let worker = j.worker.clone().unwrap();
        assert!(a.finish(j.id, &worker, &Outcome::Success, T).await.unwrap());
    }
}

async fn schedules_are_stored_and_fire_once(t: &Target) {
    let (a, b) = (Arc::new(t.open().await), Arc::new(replica(t).await));
    let cron = Cron::for_type("Daily").unwrap();
    let first = cron.next_after(T).unwrap();
    let new = NewSchedule {
        name: "gc".into(),
        kind: "GARBAGE_COLLECTION".into(),
        cron: cron.as_str().into(),
        schedule_type: "Daily".into(),
        params: r#"{"delete_untagged":true}"#.into(),
        next_run_ms: Some(first),
        paused: false,
    };
    let s1 = a.put_schedule(&new).await.unwrap();
    assert_eq!(s1.name, "gc");
    assert_eq!(s1.next_run_ms, Some(first));
    assert!(!s1.paused);
    // Replacing by name keeps the id.
    let weekly = NewSchedule {
        cron: "0 0 0 * * 0".into(),
        schedule_type: "Weekly".into(),
        ..new.clone()
    };
    let s2 = b.put_schedule(&weekly).await.unwrap();
    assert_eq!(s2.id, s1.id);
    assert_eq!(s2.schedule_type, "Weekly");
    assert_eq!(a.schedule("gc").await.unwrap().unwrap(), s2);
    let other = NewSchedule {
        name: "purge_audit".into(),
        kind: "PURGE_AUDIT_LOG".into(),
        next_run_ms: None,
        ..new.clone()
    };
    a.put_schedule(&other).await.unwrap();
    let names: Vec<String> = a
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["gc", "purge_audit"]);
    assert!(a.schedule("nope").await.unwrap().is_none());

    // Due: only unpaused schedules with a next run that has come.
    assert!(a.due_schedules(first - 1).await.unwrap().is_empty());
    assert!(a.set_schedule_paused("gc", true).await.unwrap());
    assert!(a.schedule("gc").await.unwrap().unwrap().paused);
    assert!(a.due_schedules(first).await.unwrap().is_empty());
    let job = NewJob {
        trigger: Trigger::Schedule,
        ..new_job("GARBAGE_COLLECTION", 1, first)
    };
    assert!(
        a.fire_schedule(s1.id, first, Some(first + 1), &job)
            .await
            .unwrap()
            .is_none()
    );
    assert!(a.set_schedule_paused("gc", false).await.unwrap());
    assert!(!a.set_schedule_paused("nope", false).await.unwrap());
    let due = a.due_schedules(first).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, s1.id);

    // Many replicas fire the same period at once: one job.
    let next = cron.next_after(first).unwrap();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let s = if n % 2 == 0 { a.clone() } else { b.clone() };
        let job = job.clone();
        let id = s1.id;
        tasks.push(tokio::spawn(async move {
            s.fire_schedule(id, first, Some(next), &job).await.unwrap()
        }));
    }
    let mut fired = Vec::new();
    for task in tasks {
        fired.extend(task.await.unwrap());
    }
    assert_eq!(fired.len(), 1, "fired once: {fired:?}");
    let j = &fired[0];
    assert_eq!(j.schedule_id, Some(s1.id));
    assert_eq!(j.trigger, Trigger::Schedule);
    assert_eq!(j.status, JobStatus::Pending);
    let (all_jobs, total) = a.jobs(&JobQuery::default(), all()).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(all_jobs[0].id, j.id);
    assert_eq!(
        a.schedule("gc").await.unwrap().unwrap().next_run_ms,
        Some(next)
    );
    assert!(a.due_schedules(first).await.unwrap().is_empty());

    // A schedule without a next run never fires; deleting keeps its jobs.
    assert!(
        a.fire_schedule(s1.id, next, None, &job)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(a.schedule("gc").await.unwrap().unwrap().next_run_ms, None);
    assert!(a.due_schedules(i64::MAX).await.unwrap().is_empty());
    assert!(a.delete_schedule("gc").await.unwrap());
    assert!(!a.delete_schedule("gc").await.unwrap());
    let (kept, total) = a.jobs(&JobQuery::default(), all()).await.unwrap();
    assert_eq!(total, 2);
    assert!(kept.iter().all(|j| j.schedule_id.is_none()), "unlinked");
}

// ---- the runner, end to end on the real store ----

fn config() -> RunnerConfig {
    RunnerConfig {
        worker_id: "test".into(),
        workers: 2,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(30),
        heartbeat_interval: Duration::from_millis(30),
        schedule_interval: Duration::from_millis(50),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        stop_grace: Duration::from_secs(20),
        scheduled_max_attempts: 1,
    }
}

/// Waits until the job reaches a final state (the handlers signal progress; this only
/// bounds a hang).
async fn until_final(s: &SqlMetadataStore, id: i64) -> Job {
    for _ in 0..3000 {
        let j = get(s, id).await;
        if j.status.is_final() {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} did not finish: {:?}", get(s, id).await);
}

struct Reporter;

#[async_trait]
impl JobHandler for Reporter {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let p: serde_json::Value = ctx.params()?;
        ctx.log(format!("collecting for {}", p["kind"]));
        ctx.progress(serde_json::json!({"deleted": 3}));
        ctx.log(format!("attempt {}", ctx.job().attempts));
        Ok(())
    }
}

async fn runner_runs_logs_and_reports_progress(t: &Target) {
    let s = Arc::new(t.open().await);
    let mut runner = JobRunner::new(s.clone(), config());
    runner.register("report", Arc::new(Reporter), false);
    let handle = runner.start();
    let j = s.enqueue(&new_job("report", 1, 0)).await.unwrap();
    handle.wake();
    let done = until_final(&s, j.id).await;
    assert_eq!(done.status, JobStatus::Success, "{done:?}");
    assert_eq!(done.attempts, 1);
    assert!(done.worker.unwrap().starts_with("test-"));
    let log: Vec<String> = s
        .job_log(j.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(log, [r#"collecting for "report""#, "attempt 1"]);
    // The last progress report is stored even when no heartbeat came in between.
    assert_eq!(done.progress, r#"{"deleted":3}"#);
    handle.shutdown().await;
}

struct Flaky {
    calls: AtomicU32,
}

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        ctx.log(format!("call {n}"));
        Err(JobError::retryable(format!("backend down ({n})")))
    }
}

struct Fatal;

#[async_trait]
impl JobHandler for Fatal {
    async fn run(&self, _: &JobContext) -> Result<(), JobError> {
        Err(JobError::fatal("bad input"))
    }
}

async fn runner_retries_then_fails(t: &Target) {
    let s = Arc::new(t.open().await);
    let flaky = Arc::new(Flaky {
        calls: AtomicU32::new(0),
    });
    let mut runner = JobRunner::new(s.clone(), config());
    runner.register("flaky", flaky.clone(), false);
    runner.register("fatal", Arc::new(Fatal), false);
    let handle = runner.start();
    let j = s.enqueue(&new_job("flaky", 3, 0)).await.unwrap();
    let f = s.enqueue(&new_job("fatal", 3, 0)).await.unwrap();
    handle.wake();
    let done = until_final(&s, j.id).await;
    assert_eq!(done.status, JobStatus::Error);
    assert_eq!(done.attempts, 3);
    assert_eq!(done.error.as_deref(), Some("backend down (3)"));
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    let log: Vec<String> = s
        .job_log(j.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(log, ["call 1", "call 2", "call 3"]);
    let fatal = until_final(&s, f.id).await;
    assert_eq!(fatal.status, JobStatus::Error);
    assert_eq!(fatal.attempts, 1, "not retried");
    assert_eq!(fatal.error.as_deref(), Some("bad input"));
    handle.shutdown().await;
    // One JobFinished event per job, written when it ended for good (the retries wrote
    // none), by the system.
    let finished: Vec<(String, DomainEvent)> = s
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.event))
        .collect();
    let ended = |job: &Job| {
        (
            "system".to_owned(),
            DomainEvent::JobFinished {
                kind: job.kind.clone(),
                job_id: job.id,
                status: "Error".into(),
            },
        )
    };
    assert_eq!(finished.len(), 2, "{finished:?}");
    assert!(finished.contains(&ended(&done)), "{finished:?}");
    assert!(finished.contains(&ended(&fatal)), "{finished:?}");
}

/// Runs until stopped, reporting progress; tells the test when it has started.
struct Patient {
    started: mpsc::UnboundedSender<i64>,
}

#[async_trait]
impl JobHandler for Patient {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        ctx.progress(serde_json::json!({"phase": "waiting"}));
        let _ = self.started.send(ctx.job().id);
        ctx.stopped().await;
        assert!(ctx.is_stopped());
        ctx.log("stopping");
        Ok(())
    }
}

async fn runner_stops_a_running_job_on_request(t: &Target) {
    let s = Arc::new(t.open().await);
    let (tx, mut started) = mpsc::unbounded_channel();
    let mut runner = JobRunner::new(s.clone(), config());
    runner.register("patient", Arc::new(Patient { started: tx }), false);
    let handle = runner.start();
    let j = s.enqueue(&new_job("patient", 3, 0)).await.unwrap();
    handle.wake();
    assert_eq!(started.recv().await, Some(j.id));
    // The progress arrives with a heartbeat.
    for _ in 0..3000 {
        if get(&s, j.id).await.progress.contains("waiting") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(get(&s, j.id).await.progress, r#"{"phase":"waiting"}"#);
    let r = s.request_stop(j.id, now_ms()).await.unwrap().unwrap();
    assert_eq!(r.status, JobStatus::Running);
    let done = until_final(&s, j.id).await;
    assert_eq!(done.status, JobStatus::Stopped);
    assert_eq!(done.attempts, 1);
    let log: Vec<String> = s
        .job_log(j.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.1)
        .collect();
    assert_eq!(log, ["stopping"]);
    handle.shutdown().await;
}

struct Panics;

#[async_trait]
impl JobHandler for Panics {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        ctx.log("about to fail");
        panic!("handler bug");
    }
}

async fn runner_survives_a_panicking_handler(t: &Target) {
    let s = Arc::new(t.open().await);
    let mut cfg = config();
    cfg.workers = 1;
    let mut runner = JobRunner::new(s.clone(), cfg);
    runner.register("panics", Arc::new(Panics), false);
    runner.register("report", Arc::new(Reporter), false);
    let handle = runner.start();
    let p = s.enqueue(&new_job("panics", 3, 0)).await.unwrap();
    let done = until_final(&s, p.id).await;
    assert_eq!(done.status, JobStatus::Error);
    assert_eq!(done.error.as_deref(), Some("job panicked"));
    assert_eq!(done.attempts, 1);
    assert_eq!(s.job_log(p.id).await.unwrap().len(), 1);
    // The only worker still runs jobs.
    let ok = s.enqueue(&new_job("report", 1, 0)).await.unwrap();
    handle.wake();
    assert_eq!(until_final(&s, ok.id).await.status, JobStatus::Success);
    handle.shutdown().await;
}

async fn runner_fires_a_due_schedule_once(t: &Target) {
    let s = Arc::new(t.open().await);
    let now = now_ms();
    let schedule = s
        .put_schedule(&NewSchedule {
            name: "report".into(),
            kind: "report".into(),
            cron: "0 0 0 * * *".into(),
            schedule_type: "Daily".into(),
            params: r#"{"kind":"scheduled"}"#.into(),
            next_run_ms: Some(now - 60_000),
            paused: false,
        })
        .await
        .unwrap();
    // Two replicas' runners.
    let mut handles = Vec::new();
    for r in 0..2 {
        let store: Arc<SqlMetadataStore> = if r == 0 {
            s.clone()
        } else {
            Arc::new(replica(t).await)
        };
        let mut cfg = config();
        cfg.worker_id = format!("replica{r}");
        let mut runner = JobRunner::new(store, cfg);
        runner.register("report", Arc::new(Reporter), false);
        handles.push(runner.start());
    }
    let mut fired = None;
    for _ in 0..3000 {
        let (jobs, _) = s.jobs(&JobQuery::default(), all()).await.unwrap();
        if let Some(j) = jobs.first() {
            fired = Some(j.id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id = fired.expect("the schedule fired");
    let done = until_final(&s, id).await;
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.trigger, Trigger::Schedule);
    assert_eq!(done.schedule_id, Some(schedule.id));
    assert_eq!(done.params, r#"{"kind":"scheduled"}"#);
    let next = s
        .schedule("report")
        .await
        .unwrap()
        .unwrap()
        .next_run_ms
        .unwrap();
    assert!(next > now, "the next run moved to the future");
    assert_eq!(
        Some(next),
        Cron::parse("0 0 0 * * *").unwrap().next_after(next - 1)
    );
    // Let both schedulers look again, then check nothing else fired.
    for h in &handles {
        h.shutdown().await;
    }
    let (jobs, total) = s.jobs(&JobQuery::default(), all()).await.unwrap();
    assert_eq!(total, 1, "{jobs:?}");
}

async fn runner_shutdown_releases_running_jobs(t: &Target) {
    let s = Arc::new(t.open().await);
    let (tx, mut started) = mpsc::unbounded_channel();
    let mut runner = JobRunner::new(s.clone(), config());
    runner.register("patient", Arc::new(Patient { started: tx }), false);
    let handle = runner.start();
    let a = s.enqueue(&new_job("patient", 1, 0)).await.unwrap();
    let b = s.enqueue(&new_job("patient", 1, 0)).await.unwrap();
    handle.wake();
    let mut ids = vec![started.recv().await.unwrap(), started.recv().await.unwrap()];
    ids.sort();
    assert_eq!(ids, [a.id, b.id]);
    handle.shutdown().await;
    let mut statuses = HashMap::new();
    for id in [a.id, b.id] {
        let j = get(&s, id).await;
        assert_eq!(j.attempts, 0, "a run cut by shutdown is not an attempt");
        assert!(j.worker.is_none());
        statuses.insert(id, j.status);
        // Their logs were kept.
        assert_eq!(s.job_log(id).await.unwrap().len(), 1);
    }
    assert!(
        statuses.values().all(|s| *s == JobStatus::Pending),
        "{statuses:?}"
    );
    // Another replica continues them.
    let c = claim(&s, "other", &["patient"], now_ms()).await.unwrap();
    assert!([a.id, b.id].contains(&c.id));
    assert_eq!(c.attempts, 1);
}
