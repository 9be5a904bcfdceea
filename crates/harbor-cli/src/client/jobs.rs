//! System jobs (garbage collection, the audit log purge, the storage check), tag
//! retention policies and their runs, and the job service views.

pub use harbor_api_model::{
    FsckParameters, GcParameters, GcProgress, JobQueue, PurgeAuditParameters, RetentionExecution,
    RetentionExecutionTask as RetentionTask, RetentionPolicy, ScheduleTask,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Client, Error, Result};

/// A kind of system job, each under `/system/<path>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemJob {
    /// Garbage collection (`/system/gc`).
    Gc,
    /// The audit log purge (`/system/purgeaudit`).
    PurgeAudit,
    /// The storage consistency check (`/system/fsck`).
    Fsck,
    /// Scan all (`/system/scanAll`).
    ScanAll,
}

impl SystemJob {
    /// The path segment after `/system/`.
    pub fn path(self) -> &'static str {
        match self {
            SystemJob::Gc => "gc",
            SystemJob::PurgeAudit => "purgeaudit",
            SystemJob::Fsck => "fsck",
            SystemJob::ScanAll => "scanAll",
        }
    }

    /// What people call it.
    pub fn title(self) -> &'static str {
        match self {
            SystemJob::Gc => "garbage collection",
            SystemJob::PurgeAudit => "audit log purge",
            SystemJob::Fsck => "storage check",
            SystemJob::ScanAll => "scan all",
        }
    }
}

/// One run of a system job (Harbor's `GCHistory`/`ExecHistory`, shared with the server).
pub use harbor_api_model::ExecHistory as Execution;

/// Whether a run status is final.
pub fn status_is_final(status: &str) -> bool {
    matches!(status, "Success" | "Error" | "Stopped")
}

fn to_value<T: Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Setup(e.to_string()))
}

impl Client {
    /// The body of a text answer (logs).
    async fn text(&self, path: &str) -> Result<String> {
        let r = self.request(Method::GET, path, None).await?;
        let url = r.url().to_string();
        r.text().await.map_err(|e| Error::Protocol {
            url,
            detail: e.to_string(),
        })
    }

    // --- system jobs

    /// Starts a run now (`POST /system/<kind>/schedule`, type `Manual`); returns its id.
    /// Refused (409) while another run of the kind is queued or running.
    pub async fn start_system_job<P: Serialize>(&self, kind: SystemJob, params: &P) -> Result<i64> {
        let body = json!({ "schedule": { "type": "Manual" }, "parameters": to_value(params)? });
        let path = format!("/system/{}/schedule", kind.path());
        let r = self.send(Method::POST, &path, Some(body)).await?;
        self.created_id(&r)
    }

    /// The runs of a kind, newest first, at most `limit`.
    pub async fn system_job_runs(&self, kind: SystemJob, limit: usize) -> Result<Vec<Execution>> {
        self.list(&format!("/system/{}", kind.path()), limit).await
    }

    /// One run.
    pub async fn system_job_run(&self, kind: SystemJob, id: i64) -> Result<Execution> {
        self.get(&format!("/system/{}/{id}", kind.path())).await
    }

    /// Stops a run (a queued one at once, a running one between its steps).
    pub async fn stop_system_job(&self, kind: SystemJob, id: i64) -> Result<()> {
        self.send(Method::PUT, &format!("/system/{}/{id}", kind.path()), None)
            .await
            .map(drop)
    }

    /// A run's log, as text.
    pub async fn system_job_log(&self, kind: SystemJob, id: i64) -> Result<String> {
        self.text(&format!("/system/{}/{id}/log", kind.path()))
            .await
    }

    /// The kind's schedule: `{"schedule": {"type", "cron", "next_scheduled_time"},
    /// "job_parameters", ...}`, or `{"schedule": {"type": "None"}}`.
    pub async fn system_job_schedule(&self, kind: SystemJob) -> Result<Value> {
        self.get(&format!("/system/{}/schedule", kind.path())).await
    }

    /// Sets the kind's schedule: `kind_of` is `Hourly`, `Daily`, `Weekly`, `Custom` (with
    /// a six-field `cron`) or `None` (removes it).
    pub async fn set_system_job_schedule<P: Serialize>(
        &self,
        kind: SystemJob,
        kind_of: &str,
        cron: Option<&str>,
        params: &P,
    ) -> Result<()> {
        let mut schedule = json!({ "type": kind_of });
        if let Some(c) = cron {
            schedule["cron"] = json!(c);
        }
        let body = json!({ "schedule": schedule, "parameters": to_value(params)? });
        let path = format!("/system/{}/schedule", kind.path());
        self.send(Method::PUT, &path, Some(body)).await.map(drop)
    }

    // --- job service

    /// `GET /jobservice/queues`: each job kind with its queued and running jobs.
    pub async fn job_queues(&self) -> Result<Vec<JobQueue>> {
        self.get("/jobservice/queues").await
    }

    /// `GET /schedules`: every schedule.
    pub async fn schedules(&self) -> Result<Vec<ScheduleTask>> {
        self.get("/schedules").await
    }

    // --- retention

    /// `GET /retentions/metadatas`: the rule templates and selectors a policy may use.
    pub async fn retention_metadatas(&self) -> Result<Value> {
        self.get("/retentions/metadatas").await
    }

    /// The id of a project's retention policy (its `metadata.retention_id`), if it has one.
    pub async fn retention_id(&self, project: &str) -> Result<Option<i64>> {
        Ok(self.project(project).await?.retention_id())
    }

    /// A retention policy.
    pub async fn retention_policy(&self, id: i64) -> Result<RetentionPolicy> {
        self.get(&format!("/retentions/{id}")).await
    }

    /// Creates a retention policy for the project of its `scope.ref`; returns its id.
    pub async fn create_retention_policy(&self, policy: &RetentionPolicy) -> Result<i64> {
        let r = self
            .send(Method::POST, "/retentions", Some(to_value(policy)?))
            .await?;
        self.created_id(&r)
    }

    /// Replaces a retention policy.
    pub async fn update_retention_policy(&self, id: i64, policy: &RetentionPolicy) -> Result<()> {
        self.send(
            Method::PUT,
            &format!("/retentions/{id}"),
            Some(to_value(policy)?),
        )
        .await
        .map(drop)
    }

    /// Deletes a retention policy (and its schedule).
    pub async fn delete_retention_policy(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/retentions/{id}"), None)
            .await
            .map(drop)
    }

    /// Starts a run of a policy; returns the run's id.
    pub async fn start_retention_run(&self, id: i64, dry_run: bool) -> Result<i64> {
        let r = self
            .send(
                Method::POST,
                &format!("/retentions/{id}/executions"),
                Some(json!({ "dry_run": dry_run })),
            )
            .await?;
        self.created_id(&r)
    }

    /// A policy's runs, newest first, at most `limit`.
    pub async fn retention_runs(&self, id: i64, limit: usize) -> Result<Vec<RetentionExecution>> {
        self.list(&format!("/retentions/{id}/executions"), limit)
            .await
    }

    /// One run of a policy (looked up in its runs).
    pub async fn retention_run(&self, id: i64, eid: i64) -> Result<RetentionExecution> {
        self.retention_runs(id, usize::MAX)
            .await?
            .into_iter()
            .find(|e| e.id == eid)
            .ok_or_else(|| Error::Api {
                status: StatusCode::NOT_FOUND,
                code: "NOT_FOUND".into(),
                message: format!("retention execution {eid} not found"),
            })
    }

    /// Stops a run.
    pub async fn stop_retention_run(&self, id: i64, eid: i64) -> Result<()> {
        self.send(
            Method::PATCH,
            &format!("/retentions/{id}/executions/{eid}"),
            Some(json!({ "action": "stop" })),
        )
        .await
        .map(drop)
    }

    /// A run's tasks, one per repository.
    pub async fn retention_tasks(&self, id: i64, eid: i64) -> Result<Vec<RetentionTask>> {
        self.list(
            &format!("/retentions/{id}/executions/{eid}/tasks"),
            usize::MAX,
        )
        .await
    }

    /// A task's log, as text.
    pub async fn retention_task_log(&self, id: i64, eid: i64, tid: i64) -> Result<String> {
        self.text(&format!("/retentions/{id}/executions/{eid}/tasks/{tid}"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_decode_with_their_progress() {
        let e: Execution = serde_json::from_value(json!({
            "id": 7, "job_name": "GARBAGE_COLLECTION", "job_kind": "MANUAL",
            "job_parameters": "{\"dry_run\":false}", "job_status": "Running",
            "creation_time": "t", "update_time": "t", "start_time": "t", "end_time": null,
            "progress": {"phase": "sweep", "blobs_candidates": 4, "blobs_deleted": 1,
                         "bytes_freed": 10, "ranges_done": 3},
            "error": null, "attempts": 1,
        }))
        .unwrap();
        assert!(!e.ended());
        let p: GcProgress = e.progress_as();
        assert_eq!(
            (p.phase.as_str(), p.blobs_candidates, p.blobs_deleted),
            ("sweep", 4, 1)
        );
        assert_eq!(e.attempts, Some(1));
        for (s, done) in [("Pending", false), ("Success", true), ("Error", true)] {
            assert_eq!(status_is_final(s), done, "{s}");
        }
    }
}
