//! The replication job: one execution of a policy, on the durable job queue.
//!
//! It plans once (tasks stored with the execution: one per source repository with the
//! references to copy), then runs the tasks four at a time, each copying its artifacts
//! with `harbor_remote::copy_artifact` and recording after each one what it has done. A
//! run that dies (a restart, a lost worker) is claimed again by the queue and resumes:
//! the plan and each task's progress are in the database, and what was copied already is
//! found at the destination and not sent again. Transient failures (network, time-outs,
//! rate limits, 5xx) put the failed tasks back and retry the job later while attempts
//! are left.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use harbor_core::artifact::ArtifactQuery;
use harbor_core::endpoints::{Endpoint, EndpointKind};
use harbor_core::events::{DomainEvent, NewEvent, SYSTEM};
use harbor_core::identity::Page;
use harbor_core::jobs::{JobContext, JobError, JobHandler};
use harbor_core::labels::{LabelQuery, LabelScope};
use harbor_core::model::{RepositoryQuery, now_ms};
use harbor_core::ports::MetadataStore;
use harbor_core::registry::ArtifactOptions;
use harbor_core::replication::{
    ExecutionQuery, ExecutionStatus, NewTask, Policy, ResourceKind, Task, TaskStatus,
};
use harbor_core::{Reference, Registry, RepositoryName};
use harbor_remote::{
    CancellationToken, Client, CopyError, CopyOptions, Location, RateLimiter, RegistryEnd, Seen,
    copy_artifact,
};
use serde::{Deserialize, Serialize};

use super::local::LocalEnd;
use crate::registries::Registries;

/// Why planning failed, and whether trying later may help.
type PlanError = (String, bool);

/// How long an event's execution waits inline for the policy's active one to end.
const EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How often it looks.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Piece size of chunked uploads (`copy_by_chunk`), Harbor's default.
const CHUNK_SIZE: u64 = 10 * 1024 * 1024;

/// Tasks of one execution run at once.
const TASK_CONCURRENCY: usize = 4;
/// Repositories of a remote catalog whose tags are listed at once.
const LISTING_CONCURRENCY: usize = 8;
/// Local listing page size.
const PAGE: u64 = 100;

/// What a replication job is asked to do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationParams {
    /// The policy.
    pub policy_id: i64,
    /// The execution it runs; `None` for a scheduled or event-based start, which
    /// creates its execution when it runs.
    #[serde(default)]
    pub execution_id: Option<i64>,
    /// `manual`, `scheduled` or `event_based`.
    #[serde(default)]
    pub trigger: String,
    /// For an event-based start: what changed.
    #[serde(default)]
    pub event: Option<EventScope>,
}

/// The change an event-based execution replicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventScope {
    /// The local repository.
    pub repository: String,
    /// Tags (or a digest) pushed or deleted.
    pub references: Vec<String>,
    /// A delete (replicated only by policies with `deletion`).
    #[serde(default)]
    pub deletion: bool,
}

/// The job handler (kind [`harbor_core::replication::JOB_KIND`]).
pub struct ReplicationJob {
    pub(crate) store: Arc<dyn MetadataStore>,
    pub(crate) projects: crate::Projects,
    pub(crate) accounts: Arc<harbor_auth::Accounts>,
    pub(crate) registry: Registry,
    pub(crate) registries: Registries,
}

/// One side of a copy.
enum End {
    Local(LocalEnd),
    /// A remote registry, and whether it is a Harbor (whose projects replication creates).
    Remote(Client, bool),
}

impl End {
    fn as_end(&self) -> &dyn RegistryEnd {
        match self {
            End::Local(l) => l,
            End::Remote(c, _) => c,
        }
    }
}

/// Why a task failed, with a hint for the operator, and whether trying later may help.
fn explain(e: &CopyError) -> (String, bool) {
    use harbor_remote::Error as E;
    let (side, subject, err) = match e {
        CopyError::Cancelled => return ("stopped".into(), false),
        CopyError::Source { subject, error } => ("source", subject, error),
        CopyError::Destination { subject, error } => ("destination", subject, error),
    };
    let hint = match err {
        E::Unauthorized(_) => "check the registry's credential (harbor registry ping)",
        E::Denied(_) => "the credential lacks the permission (push/pull) for this repository",
        E::QuotaExceeded(_) => "raise the destination project's quota or free space there",
        E::AddressRefused { .. } => "the [remote] settings do not allow this address",
        E::NotFound(_) => "it is gone from the source, or the destination project is missing",
        E::Network(_) | E::Timeout(_) => "the registry is unreachable; retried later",
        E::TooManyRequests(_) => "the registry rate-limits us; retried later",
        E::UnsupportedManifest(_) => "this kind of manifest cannot be replicated",
        E::Registry { status, .. } if status >= &500 => "the registry failed; retried later",
        _ => "",
    };
    let text = if hint.is_empty() {
        format!("{side} {subject}: {err}")
    } else {
        format!("{side} {subject}: {err} ({hint})")
    };
    (text, err.is_transient())
}

impl ReplicationJob {
    /// One end of the policy's copies; `chunk` uploads blobs to it in pieces of that size.
    fn end(
        &self,
        endpoint: Option<&Endpoint>,
        actor: &str,
        chunk: Option<u64>,
    ) -> Result<End, String> {
        match endpoint {
            None => Ok(End::Local(LocalEnd::new(self.registry.clone(), actor))),
            Some(e) => {
                let credential = self
                    .registries
                    .credential(e)
                    .map_err(|err| format!("registry {}: {err}", e.settings.name))?;
                self.registries
                    .probe()
                    .client_with(&e.settings, credential, |o| o.chunk_size = chunk)
                    .map(|c| End::Remote(c, e.settings.kind == EndpointKind::Harbor))
                    .map_err(|err| format!("registry {}: {err}", e.settings.name))
            }
        }
    }

    async fn endpoint(&self, id: Option<i64>) -> Result<Option<Endpoint>, String> {
        match id {
            None => Ok(None),
            Some(id) => match self.store.endpoint(id).await {
                Ok(Some(e)) => Ok(Some(e)),
                Ok(None) => Err(format!("registry {id} no longer exists")),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    /// The tasks of a push-based policy: this registry's repositories, artifacts and tags
    /// its filters select.
    async fn plan_local(&self, policy: &Policy) -> harbor_core::Result<Vec<NewTask>> {
        let f = &policy.settings.filters;
        let mut repos = Vec::new();
        for page in 1.. {
            let (items, _) = self
                .registry
                .list_repositories(
                    &RepositoryQuery::default(),
                    Page {
                        page,
                        page_size: PAGE,
                    },
                )
                .await?;
            let n = items.len();
            repos.extend(
                items
                    .into_iter()
                    .map(|r| (r.name, r.project_id))
                    .filter(|(name, _)| f.name_matches(name)),
            );
            if (n as u64) < PAGE {
                break;
            }
        }
        repos.sort();
        let mut tasks = Vec::new();
        for (name, project_id) in repos {
            let repo = RepositoryName::parse(&name)?;
            let mut query = ArtifactQuery::default();
            if !f.labels.is_empty() {
                match self.label_ids(&f.labels, project_id).await? {
                    Some(ids) => query.label_ids = ids,
                    None => continue,
                }
            }
            if f.resource == Some(ResourceKind::Image) {
                query.kind = Some("IMAGE".into());
            }
            let mut refs = Vec::new();
            for page in 1.. {
                let (items, _) = self
                    .registry
                    .list_artifacts(
                        &repo,
                        &query,
                        Page {
                            page,
                            page_size: PAGE,
                        },
                        ArtifactOptions {
                            with_tags: true,
                            ..ArtifactOptions::default()
                        },
                    )
                    .await?;
                let n = items.len();
                for a in items {
                    if a.tags.is_empty() {
                        if f.tag_matches("") {
                            refs.push(a.record.digest.to_string());
                        }
                    } else {
                        refs.extend(
                            a.tags
                                .iter()
                                .filter(|t| f.tag_matches(&t.name))
                                .map(|t| t.name.clone()),
                        );
                    }
                }
                if (n as u64) < PAGE {
                    break;
                }
            }
            if refs.is_empty() {
                continue;
            }
            refs.sort();
            tasks.push(NewTask {
                operation: "copy".into(),
                resource_type: f.resource.unwrap_or(ResourceKind::Image).as_str().into(),
                dst_repository: policy.settings.destination(&name)?,
                src_repository: name,
                references: refs,
            });
        }
        Ok(tasks)
    }

    /// The ids of labels named `names` usable in `project_id` (global or its own), or
    /// `None` when one does not exist (no artifact can carry it).
    async fn label_ids(
        &self,
        names: &[String],
        project_id: i64,
    ) -> harbor_core::Result<Option<Vec<i64>>> {
        let mut ids = Vec::new();
        for name in names {
            let mut found = None;
            for (scope, project) in [
                (LabelScope::Global, None),
                (LabelScope::Project, Some(project_id)),
            ] {
                let (labels, _) = self
                    .registry
                    .labels(
                        &LabelQuery {
                            scope,
                            project_id: project,
                            name: Some(harbor_core::identity::Match::Exact(name.clone())),
                        },
                        Page::default(),
                    )
                    .await?;
                if let Some(l) = labels.first() {
                    found = Some(l.id);
                    break;
                }
            }
            match found {
                Some(id) => ids.push(id),
                None => return Ok(None),
            }
        }
        Ok(Some(ids))
    }

    /// The tasks of a pull-based policy: the remote repositories and tags its filters
    /// select.
    async fn plan_remote(&self, policy: &Policy, src: &Client) -> Result<Vec<NewTask>, PlanError> {
        let f = &policy.settings.filters;
        let repos: Vec<String> = match f.literal_name() {
            Some(name) => vec![name.to_owned()],
            None => src
                .catalog_all(Some(100))
                .await
                .map_err(|e| {
                    (
                        format!("listing the source's repositories: {e}"),
                        e.is_transient(),
                    )
                })?
                .into_iter()
                .filter(|r| f.name_matches(r))
                .collect(),
        };
        let listed: Vec<(String, Result<Vec<String>, PlanError>)> =
            futures::stream::iter(repos.into_iter().map(|name| async move {
                let tags = match RepositoryName::parse(&name) {
                    Ok(repo) => src
                        .tags(&repo)
                        .await
                        .map_err(|e| (e.to_string(), e.is_transient())),
                    Err(e) => Err((e.to_string(), false)),
                };
                (name, tags)
            }))
            .buffer_unordered(LISTING_CONCURRENCY)
            .collect()
            .await;
        let mut tasks = Vec::new();
        for (name, tags) in listed {
            let tags = match tags {
                Ok(t) => t,
                // A literal name that does not exist: nothing to copy.
                Err(_) if f.literal_name().is_some() => continue,
                Err((e, transient)) => {
                    return Err((format!("listing the tags of {name}: {e}"), transient));
                }
            };
            let mut refs: Vec<String> = tags.into_iter().filter(|t| f.tag_matches(t)).collect();
            if refs.is_empty() {
                continue;
            }
            refs.sort();
            tasks.push(NewTask {
                operation: "copy".into(),
                resource_type: f.resource.unwrap_or(ResourceKind::Image).as_str().into(),
                dst_repository: policy
                    .settings
                    .destination(&name)
                    .map_err(|e| (e.to_string(), false))?,
                src_repository: name,
                references: refs,
            });
        }
        tasks.sort_by(|a, b| a.src_repository.cmp(&b.src_repository));
        Ok(tasks)
    }

    /// The task of an event: the pushed or deleted references, if the filters select
    /// them.
    fn plan_event(&self, policy: &Policy, scope: &EventScope) -> harbor_core::Result<Vec<NewTask>> {
        let f = &policy.settings.filters;
        if !f.name_matches(&scope.repository) || (scope.deletion && !policy.settings.deletion) {
            return Ok(Vec::new());
        }
        let refs: Vec<String> = scope
            .references
            .iter()
            .filter(|r| {
                let is_digest = r.contains(':');
                f.tag_matches(if is_digest { "" } else { r.as_str() })
            })
            .cloned()
            .collect();
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![NewTask {
            operation: if scope.deletion { "deletion" } else { "copy" }.into(),
            resource_type: f.resource.unwrap_or(ResourceKind::Image).as_str().into(),
            dst_repository: policy.settings.destination(&scope.repository)?,
            src_repository: scope.repository.clone(),
            references: refs,
        }])
    }

    /// Creates the local project `repo` belongs to if it is missing (a pull-based
    /// policy into a new namespace), as the policy's creator, private.
    async fn ensure_project(&self, repo: &RepositoryName, creator: &str) -> Result<(), String> {
        let name = repo.to_string();
        let project = name.split('/').next().unwrap_or_default().to_owned();
        let identity = self.accounts.store();
        if identity
            .project_by_name(&project)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Ok(());
        }
        let user = identity
            .user_by_name(creator)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "the destination project {project} does not exist and the policy's creator \
                     {creator} (who would create it) is gone"
                )
            })?;
        match self
            .projects
            .create(
                &harbor_auth::Principal::User(user),
                crate::projects::CreateProject {
                    name: project.clone(),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(_) | Err(harbor_core::Error::Conflict(_)) => Ok(()),
            Err(e) => Err(format!("creating the destination project {project}: {e}")),
        }
    }

    /// Creates the destination project on a Harbor destination when it is missing,
    /// public if the source project is, as Harbor's adapter does.
    async fn ensure_remote_project(
        &self,
        client: &Client,
        src: &RepositoryName,
        dst: &RepositoryName,
    ) -> Result<(), String> {
        let first =
            |r: &RepositoryName| r.as_str().split('/').next().unwrap_or_default().to_owned();
        let public = match self.accounts.store().project_by_name(&first(src)).await {
            Ok(Some(p)) => p.public,
            _ => false,
        };
        client
            .ensure_harbor_project(&first(dst), public)
            .await
            .map(drop)
            .map_err(|e| format!("creating the destination project {}: {e}", first(dst)))
    }

    async fn log(&self, task: i64, line: String) {
        if let Err(e) = self
            .store
            .append_replication_log(task, &[(now_ms(), line)])
            .await
        {
            tracing::warn!(task, error = %e, "writing a replication task log failed");
        }
    }

    /// Runs one task; `Ok(true)` if it failed for a reason that may pass.
    #[allow(clippy::too_many_arguments)]
    async fn run_task(
        &self,
        task: Task,
        policy: &Policy,
        src: &End,
        dst: &End,
        options: &CopyOptions,
        seen: &Seen,
        cancel: &CancellationToken,
    ) -> harbor_core::Result<bool> {
        let store = &self.store;
        // Harbor's `speed` holds per task.
        let options = &CopyOptions {
            rate_limiter: RateLimiter::from_harbor_speed(
                u64::try_from(policy.settings.speed_kbps).unwrap_or(0),
            ),
            ..options.clone()
        };
        let mut done = task.done.clone();
        store
            .update_replication_task(task.id, TaskStatus::InProgress, &done)
            .await?;
        let (src_repo, dst_repo) = match (
            RepositoryName::parse(&task.plan.src_repository),
            RepositoryName::parse(&task.plan.dst_repository),
        ) {
            (Ok(s), Ok(d)) => (s, d),
            (Err(e), _) | (_, Err(e)) => {
                self.log(task.id, format!("invalid repository name: {e}"))
                    .await;
                store
                    .update_replication_task(task.id, TaskStatus::Failed, &done)
                    .await?;
                return Ok(false);
            }
        };
        let prepared = match dst {
            End::Local(_) => self.ensure_project(&dst_repo, &policy.creator).await,
            End::Remote(client, true) => {
                self.ensure_remote_project(client, &src_repo, &dst_repo)
                    .await
            }
            End::Remote(_, false) => Ok(()),
        };
        if let Err(why) = prepared {
            self.log(task.id, why).await;
            store
                .update_replication_task(task.id, TaskStatus::Failed, &done)
                .await?;
            return Ok(false);
        }
        if done.is_empty() {
            self.log(
                task.id,
                format!(
                    "{} {} → {}: {} reference(s)",
                    task.plan.operation,
                    task.plan.src_repository,
                    task.plan.dst_repository,
                    task.plan.references.len()
                ),
            )
            .await;
        } else {
            self.log(
                task.id,
                format!(
                    "resuming: {} of {} done",
                    done.len(),
                    task.plan.references.len()
                ),
            )
            .await;
        }
        let mut failed = 0usize;
        let mut transient = false;
        for reference in &task.plan.references {
            if done.contains(reference) {
                continue;
            }
            if cancel.is_cancelled() {
                break;
            }
            let parsed = match Reference::parse(reference) {
                Ok(r) => r,
                Err(e) => {
                    self.log(task.id, format!("{reference}: invalid reference: {e}"))
                        .await;
                    failed += 1;
                    continue;
                }
            };
            let result = if task.plan.operation == "deletion" {
                self.delete_at(dst, &dst_repo, &parsed).await
            } else {
                copy_artifact(
                    Location {
                        end: src.as_end(),
                        repo: &src_repo,
                        reference: &parsed,
                    },
                    Location {
                        end: dst.as_end(),
                        repo: &dst_repo,
                        reference: &parsed,
                    },
                    options,
                    seen,
                    cancel,
                )
                .await
                .map(|r| {
                    format!(
                        "{}; {} manifest(s) and {} blob(s) ({} bytes) copied, {} blob(s) \
                         already there, {} mounted",
                        r.outcome.describe(),
                        r.manifests_copied,
                        r.blobs_copied,
                        r.bytes_copied,
                        r.blobs_skipped,
                        r.blobs_mounted
                    )
                })
            };
            match result {
                Ok(line) => {
                    self.log(task.id, format!("{reference}: {line}")).await;
                    done.push(reference.clone());
                    store
                        .update_replication_task(task.id, TaskStatus::InProgress, &done)
                        .await?;
                }
                Err(CopyError::Cancelled) => break,
                Err(e) => {
                    let (why, retry) = explain(&e);
                    self.log(task.id, format!("{reference}: failed: {why}"))
                        .await;
                    failed += 1;
                    transient |= retry;
                }
            }
        }
        let status = if cancel.is_cancelled() && done.len() + failed < task.plan.references.len() {
            TaskStatus::Stopped
        } else if failed > 0 {
            TaskStatus::Failed
        } else {
            TaskStatus::Succeed
        };
        self.log(
            task.id,
            format!(
                "{}: {} of {} done, {failed} failed",
                status.as_str(),
                done.len(),
                task.plan.references.len()
            ),
        )
        .await;
        store
            .update_replication_task(task.id, status, &done)
            .await?;
        Ok(status == TaskStatus::Failed && transient)
    }

    /// Deletes `reference` at the destination: a digest, or the digest a tag points at
    /// (all its tags go, as in Harbor).
    async fn delete_at(
        &self,
        dst: &End,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<String, CopyError> {
        let End::Remote(client, _) = dst else {
            return Err(CopyError::Destination {
                subject: repo.to_string(),
                error: harbor_remote::Error::InvalidInput(
                    "deletes are replicated to remote registries only".into(),
                ),
            });
        };
        let digest = match reference {
            Reference::Digest(d) => d.clone(),
            Reference::Tag(_) => {
                match client
                    .head_manifest(repo, reference)
                    .await
                    .map_err(|error| CopyError::Destination {
                        subject: format!("{repo}:{reference}"),
                        error,
                    })? {
                    Some(d) => d.digest,
                    None => return Ok("already absent at the destination".into()),
                }
            }
        };
        match client.delete_manifest(repo, &digest).await {
            Ok(()) => Ok(format!("deleted {digest}")),
            Err(harbor_remote::Error::NotFound(_)) => {
                Ok("already absent at the destination".into())
            }
            Err(error) => Err(CopyError::Destination {
                subject: format!("{repo}@{digest}"),
                error,
            }),
        }
    }

    async fn finish(&self, execution_id: i64, policy_id: i64, status: ExecutionStatus, text: &str) {
        let event = NewEvent::now(
            SYSTEM,
            DomainEvent::ReplicationFinished {
                policy_id,
                execution_id,
                status: status.as_str().into(),
            },
        );
        if let Err(e) = self
            .store
            .finish_replication_emitting(execution_id, status, text, &[event])
            .await
        {
            tracing::warn!(execution_id, error = %e, "finishing a replication execution failed");
        }
    }

    async fn execute(&self, ctx: &JobContext, cancel: &CancellationToken) -> Result<(), JobError> {
        let params: ReplicationParams = ctx.params()?;
        let policy = self
            .store
            .replication_policy(params.policy_id)
            .await?
            .ok_or_else(|| JobError::fatal(format!("policy {} is gone", params.policy_id)))?;
        let execution = match params.execution_id {
            Some(id) => self
                .store
                .replication_execution(id)
                .await?
                .ok_or_else(|| JobError::fatal(format!("execution {id} is gone")))?,
            None => {
                // A retry of this job finds the execution its first run started.
                let (active, _) = self
                    .store
                    .replication_executions(
                        &ExecutionQuery {
                            policy_id: Some(policy.id),
                            status: Some(ExecutionStatus::InProgress),
                            trigger: None,
                        },
                        Page::default(),
                    )
                    .await?;
                if let Some(mine) = active.into_iter().find(|e| e.job_id == Some(ctx.job().id)) {
                    return self.resume(ctx, cancel, &params, policy, mine).await;
                }
                if !policy.settings.enabled {
                    ctx.log(format!("policy {} is disabled: nothing to do", policy.id));
                    return Ok(());
                }
                // One active execution per policy: an event's change waits for it
                // (up to a minute here, then the job retries later: nothing is lost);
                // a schedule's start is skipped, as in Harbor.
                let waiting_since = std::time::Instant::now();
                loop {
                    let event = NewEvent::now(
                        SYSTEM,
                        DomainEvent::ReplicationStarted {
                            policy_id: policy.id,
                            trigger: params.trigger.clone(),
                        },
                    );
                    match self
                        .store
                        .start_replication(policy.id, &params.trigger, &[event])
                        .await?
                    {
                        Some(e) => {
                            self.store.set_replication_job(e.id, ctx.job().id).await?;
                            break e;
                        }
                        None if params.event.is_none() => {
                            ctx.log("skipped: an execution of this policy is in progress");
                            return Ok(());
                        }
                        None if ctx.is_stopped() || waiting_since.elapsed() > EVENT_WAIT => {
                            return Err(JobError::retryable(
                                "an execution of this policy is in progress; the change is \
                                 replicated after it",
                            ));
                        }
                        None => tokio::time::sleep(EVENT_POLL).await,
                    }
                }
            }
        };
        self.resume(ctx, cancel, &params, policy, execution).await
    }

    async fn resume(
        &self,
        ctx: &JobContext,
        cancel: &CancellationToken,
        params: &ReplicationParams,
        policy: Policy,
        execution: harbor_core::replication::Execution,
    ) -> Result<(), JobError> {
        if execution.status != ExecutionStatus::InProgress {
            ctx.log(format!(
                "execution {} ended already ({})",
                execution.id,
                execution.status.as_str()
            ));
            return Ok(());
        }
        let (eid, pid) = (execution.id, policy.id);
        ctx.log(format!(
            "execution {eid} of policy {} ({})",
            policy.settings.name, policy.id
        ));

        let actor = format!("replication:{}", policy.settings.name);
        let ends = async {
            let src = self.end(
                self.endpoint(policy.settings.src_registry).await?.as_ref(),
                &actor,
                None,
            )?;
            // Harbor's `copy_by_chunk`: 10 MiB pieces (REPLICATION_CHUNK_SIZE).
            let chunk = policy.settings.copy_by_chunk.then_some(CHUNK_SIZE);
            let dst = self.end(
                self.endpoint(policy.settings.dest_registry).await?.as_ref(),
                &actor,
                chunk,
            )?;
            Ok::<_, String>((src, dst))
        };
        let (src, dst) = match ends.await {
            Ok(e) => e,
            Err(why) => {
                self.finish(eid, pid, ExecutionStatus::Failed, &why).await;
                return Ok(());
            }
        };

        if !execution.planned {
            let planned = match (&params.event, &src) {
                (Some(scope), _) => self
                    .plan_event(&policy, scope)
                    .map_err(|e| (e.to_string(), false)),
                (None, End::Local(_)) => self.plan_local(&policy).await.map_err(|e| {
                    let transient = matches!(e, harbor_core::Error::Internal(_));
                    (e.to_string(), transient)
                }),
                (None, End::Remote(client, _)) => self.plan_remote(&policy, client).await,
            };
            let tasks = match planned {
                Ok(t) => t,
                Err((why, transient)) => {
                    let attempts_left =
                        ctx.job().attempts < ctx.job().max_attempts.min(super::MAX_ATTEMPTS);
                    if transient && attempts_left {
                        return Err(JobError::retryable(format!("planning failed: {why}")));
                    }
                    self.finish(
                        eid,
                        pid,
                        ExecutionStatus::Failed,
                        &format!("planning failed: {why}"),
                    )
                    .await;
                    return Ok(());
                }
            };
            self.store.plan_replication(eid, &tasks).await?;
            ctx.log(format!("planned {} task(s)", tasks.len()));
        }
        let tasks = self.store.replication_tasks(eid).await?;
        if tasks.is_empty() {
            self.finish(
                eid,
                pid,
                ExecutionStatus::Succeed,
                "no resources need to be replicated",
            )
            .await;
            return Ok(());
        }

        let options = CopyOptions {
            override_existing: policy.settings.override_,
            ..CopyOptions::default()
        };
        let seen = Seen::default();
        // A task left stopped by an interrupted run (not a user's stop: that ends the
        // execution) is resumed too.
        let pending: Vec<Task> = tasks
            .into_iter()
            .filter(|t| !matches!(t.status, TaskStatus::Succeed | TaskStatus::Failed))
            .collect();
        let results: Vec<harbor_core::Result<bool>> = futures::stream::iter(
            pending
                .into_iter()
                .map(|t| self.run_task(t, &policy, &src, &dst, &options, &seen, cancel)),
        )
        .buffer_unordered(TASK_CONCURRENCY)
        .collect()
        .await;
        let mut retry = false;
        for r in results {
            retry |= r?;
        }
        if cancel.is_cancelled() {
            if ctx.stop_requested() {
                self.finish(eid, pid, ExecutionStatus::Stopped, "stopped on request")
                    .await;
                return Ok(());
            }
            // This replica is shutting down (or lost the job): the execution goes on
            // where it stopped when the job runs again.
            for t in self.store.replication_tasks(eid).await? {
                if t.status == TaskStatus::Stopped || t.status == TaskStatus::InProgress {
                    self.store
                        .update_replication_task(t.id, TaskStatus::Pending, &t.done)
                        .await?;
                }
            }
            return Err(JobError::retryable(
                "interrupted; resumes when the job runs again",
            ));
        }
        let attempts_left = ctx.job().attempts < ctx.job().max_attempts.min(super::MAX_ATTEMPTS);
        if retry && attempts_left {
            // Failed tasks run again on the next attempt; finished ones stay.
            for t in self.store.replication_tasks(eid).await? {
                if t.status == TaskStatus::Failed {
                    self.store
                        .update_replication_task(t.id, TaskStatus::Pending, &t.done)
                        .await?;
                }
            }
            return Err(JobError::retryable(
                "some tasks failed for a reason that may pass; they are retried later",
            ));
        }
        let execution = self
            .store
            .replication_execution(eid)
            .await?
            .ok_or_else(|| JobError::fatal(format!("execution {eid} is gone")))?;
        let mut counts = execution.counts;
        counts.in_progress = 0;
        let status = ExecutionStatus::of_tasks(&counts);
        let text = format!(
            "{} of {} task(s) succeeded, {} failed",
            counts.succeed, counts.total, counts.failed
        );
        self.finish(eid, pid, status, &text).await;
        Ok(())
    }
}

#[async_trait]
impl JobHandler for ReplicationJob {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let cancel = CancellationToken::new();
        let work = self.execute(ctx, &cancel);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => r,
            _ = ctx.stopped() => {
                cancel.cancel();
                work.await
            }
        }
    }
}
