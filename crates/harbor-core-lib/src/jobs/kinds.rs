//! The registry's own job kinds: handlers that run a [`Registry`] operation as a job,
//! reporting its log and progress through the [`JobContext`]. Register them with
//! [`register_all`] on any [`JobRunner`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{JobContext, JobError, JobHandler, JobRunner};
use crate::events::{DomainEvent, SYSTEM};
use crate::gc::{
    FSCK_JOB_KIND, GcParams, GcProgress, JOB_KIND as GC_JOB_KIND, UPLOAD_CLEANUP_JOB_KIND,
};
use crate::identity::PurgeAuditParams;
use crate::model::now_ms;
use crate::ports::IdentityStore;
use crate::registry::{GcObserver, Registry};

/// The job kind of a retention run (Harbor's job name).
pub const RETENTION_JOB_KIND: &str = "RETENTION";

/// Registers every kind on `runner`: garbage collection, the consistency check, the
/// upload cleanup and the audit purge run one at a time across the cluster (exclusive);
/// retention runs of different projects may overlap.
pub fn register_all(runner: &mut JobRunner, registry: Registry, identity: Arc<dyn IdentityStore>) {
    runner
        .register(GC_JOB_KIND, Arc::new(GcJob(registry.clone())), true)
        .register(FSCK_JOB_KIND, Arc::new(FsckJob(registry.clone())), true)
        .register(
            UPLOAD_CLEANUP_JOB_KIND,
            Arc::new(UploadCleanupJob(registry.clone())),
            true,
        )
        .register(
            crate::identity::PURGE_AUDIT_JOB_KIND,
            Arc::new(PurgeAuditJob(identity)),
            true,
        )
        .register(RETENTION_JOB_KIND, Arc::new(RetentionJob(registry)), false);
}

/// Garbage collection ([`Registry::collect_garbage`]) with [`GcParams`].
pub struct GcJob(pub Registry);

struct ContextObserver<'a>(&'a JobContext);

impl GcObserver for ContextObserver<'_> {
    fn log(&self, line: String) {
        self.0.log(line);
    }
    fn progress(&self, progress: &GcProgress) {
        self.0.progress(json!(progress));
    }
    fn stopped(&self) -> bool {
        self.0.is_stopped()
    }
}

#[async_trait]
impl JobHandler for GcJob {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let params: GcParams = ctx.params()?;
        params.validate()?;
        self.0
            .collect_garbage(&params, &ContextObserver(ctx))
            .await?;
        Ok(())
    }
}

/// Parameters of a consistency check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FsckParams {
    /// Delete orphaned objects (older than `grace_minutes`).
    pub repair: bool,
    /// Orphans younger than this many minutes are left alone (default 60).
    pub grace_minutes: Option<u64>,
}

/// The storage consistency check ([`Registry::fsck`]); the report is the progress.
pub struct FsckJob(pub Registry);

#[async_trait]
impl JobHandler for FsckJob {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let params: FsckParams = ctx.params()?;
        let grace = Duration::from_secs(params.grace_minutes.unwrap_or(60).saturating_mul(60));
        ctx.log(format!(
            "checking storage against the blob records (repair: {})",
            params.repair
        ));
        let report = self.0.fsck(params.repair, grace).await?;
        for d in &report.missing {
            ctx.log(format!("missing from storage: {d}"));
        }
        for line in &report.size_mismatches {
            ctx.log(format!("size mismatch: {line}"));
        }
        for d in &report.orphans {
            ctx.log(format!("orphan (no record): {d}"));
        }
        ctx.log(format!(
            "{} records, {} objects: {} missing, {} size mismatches, {} orphans ({} bytes), {} orphans removed",
            report.records,
            report.objects,
            report.missing_count,
            report.size_mismatch_count,
            report.orphan_count,
            report.orphan_bytes,
            report.orphans_removed
        ));
        ctx.progress(json!(report));
        Ok(())
    }
}

/// Parameters of the abandoned-upload cleanup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadCleanupParams {
    /// Uploads idle for longer than this many hours go.
    pub max_age_hours: u64,
}

impl Default for UploadCleanupParams {
    fn default() -> Self {
        UploadCleanupParams { max_age_hours: 24 }
    }
}

/// Removes abandoned uploads ([`Registry::purge_uploads`]).
pub struct UploadCleanupJob(pub Registry);

#[async_trait]
impl JobHandler for UploadCleanupJob {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let params: UploadCleanupParams = ctx.params()?;
        let age = Duration::from_secs(params.max_age_hours.saturating_mul(3600));
        let done = self.0.purge_uploads(age).await?;
        ctx.log(format!(
            "removed {} upload sessions idle for over {}h and {} staging areas without a session",
            done.sessions, params.max_age_hours, done.orphan_staging
        ));
        ctx.progress(json!(done));
        Ok(())
    }
}

/// The audit log purge with Harbor's [`PurgeAuditParams`].
pub struct PurgeAuditJob(pub Arc<dyn IdentityStore>);

#[async_trait]
impl JobHandler for PurgeAuditJob {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let params: PurgeAuditParams = ctx.params()?;
        params.validate()?;
        let before = now_ms().saturating_sub(params.audit_retention_hour.saturating_mul(3_600_000));
        let operations = params.operations();
        let n = self
            .0
            .purge_audit(before, &operations, params.dry_run)
            .await?;
        ctx.log(format!(
            "{} {n} audit log entries older than {}h (operations: {})",
            if params.dry_run {
                "would purge"
            } else {
                "purged"
            },
            params.audit_retention_hour,
            if operations.is_empty() {
                "all".to_owned()
            } else {
                operations.join(",")
            }
        ));
        ctx.progress(json!({ "purged": n, "dry_run": params.dry_run }));
        Ok(())
    }
}

/// Parameters of a retention run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionParams {
    /// The policy to run.
    pub policy_id: i64,
    /// Only report what would be deleted.
    pub dry_run: bool,
}

/// One repository's part of a retention run (Harbor's retention task).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionTask {
    /// Task id within the execution (from 1).
    pub id: i64,
    /// The repository.
    pub repository: String,
    /// `Pending`, `Running`, `Success`, `Error` or `Stopped`.
    pub status: String,
    /// Artifacts kept.
    pub retained: u64,
    /// Artifacts deleted (or that a dry run would delete).
    pub deleted: u64,
    /// Artifacts in the repository.
    pub total: u64,
    /// Start and end, ms since the epoch.
    pub start_ms: Option<i64>,
    /// End.
    pub end_ms: Option<i64>,
}

/// The progress of a retention run: its tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionProgress {
    /// The policy's project.
    pub project_id: i64,
    /// One per selected repository.
    pub tasks: Vec<RetentionTask>,
}

/// Runs a retention policy on every repository it selects, one task per repository;
/// log lines are prefixed with the repository (the task's log).
pub struct RetentionJob(pub Registry);

#[async_trait]
impl JobHandler for RetentionJob {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let params: RetentionParams = ctx.params()?;
        let policy = self.0.retention_policy(params.policy_id).await?;
        let project_id = policy
            .project_id()
            .ok_or_else(|| JobError::fatal("the retention policy names no project"))?;
        let repos = self.0.retention_repositories(project_id, &policy).await?;
        let mut progress = RetentionProgress {
            project_id,
            tasks: repos
                .iter()
                .zip(1..)
                .map(|(r, id)| RetentionTask {
                    id,
                    repository: r.to_string(),
                    status: "Pending".into(),
                    ..RetentionTask::default()
                })
                .collect(),
        };
        ctx.progress(json!(progress));
        let now = now_ms();
        let mut deleted = Vec::new();
        let finished = |status: &str, progress: &RetentionProgress, deleted: Vec<String>| {
            let retained = progress.tasks.iter().map(|t| t.retained).sum();
            DomainEvent::RetentionRunFinished {
                project_id,
                policy_id: params.policy_id,
                job_id: ctx.job().id,
                dry_run: params.dry_run,
                status: status.to_owned(),
                total: progress.tasks.iter().map(|t| t.total).sum(),
                retained,
                deleted,
            }
        };
        for (i, repo) in repos.iter().enumerate() {
            if ctx.is_stopped() {
                for t in &mut progress.tasks[i..] {
                    t.status = "Stopped".into();
                }
                ctx.progress(json!(progress));
                let event = finished("Stopped", &progress, deleted);
                self.0.record_event(SYSTEM, event).await;
                return Ok(());
            }
            progress.tasks[i].status = "Running".into();
            progress.tasks[i].start_ms = Some(now_ms());
            ctx.progress(json!(progress));
            let prefix = format!("[{repo}] ");
            let mut log = |line: String| ctx.log(format!("{prefix}{line}"));
            let outcome = self
                .0
                .apply_retention(repo, &policy, params.dry_run, now, &mut log)
                .await;
            let task = &mut progress.tasks[i];
            task.end_ms = Some(now_ms());
            match outcome {
                Ok(o) => {
                    task.status = "Success".into();
                    task.retained = o.retained.len() as u64;
                    task.deleted = o.deleted.len() as u64;
                    task.total = task.retained + task.deleted;
                    for (digest, tags) in &o.deleted {
                        if tags.is_empty() {
                            deleted.push(format!("{repo}@{digest}"));
                        }
                        deleted.extend(tags.iter().map(|t| format!("{repo}:{t}")));
                    }
                }
                Err(e) => {
                    task.status = "Error".into();
                    ctx.log(format!("{prefix}failed: {e}"));
                    ctx.progress(json!(progress));
                    let event = finished("Error", &progress, deleted);
                    self.0.record_event(SYSTEM, event).await;
                    return Err(e.into());
                }
            }
            ctx.progress(json!(progress));
        }
        let event = finished("Success", &progress, deleted);
        self.0.record_event(SYSTEM, event).await;
        Ok(())
    }
}
