//! The audit log as the first subscriber of the outbox.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::dispatch::{Batch, Delivered, Subscriber};
use super::{DomainEvent, EventStore, StartAt, StoredEvent};
use crate::error::Result;
use crate::identity::NewAuditEntry;
use crate::ports::IdentityStore;

/// Writes an audit entry per event, recording the entries and moving its cursor in one
/// transaction, so each event is logged exactly once, across crashes and replicas.
pub struct AuditSubscriber {
    events: Arc<dyn EventStore>,
    identity: Arc<dyn IdentityStore>,
}

impl AuditSubscriber {
    /// The cursor's name.
    pub const NAME: &'static str = "audit-log";

    /// An audit subscriber writing through `events` and resolving project names with
    /// `identity`.
    pub fn new(events: Arc<dyn EventStore>, identity: Arc<dyn IdentityStore>) -> Self {
        AuditSubscriber { events, identity }
    }
}

/// What the audit log calls a job kind (Harbor's resource names where it has one).
fn job_resource(kind: &str) -> &'static str {
    match kind {
        crate::gc::JOB_KIND => "garbage_collection",
        crate::identity::PURGE_AUDIT_JOB_KIND => "purge_audit",
        crate::gc::FSCK_JOB_KIND => "fsck",
        crate::gc::UPLOAD_CLEANUP_JOB_KIND => "upload_cleanup",
        crate::jobs::kinds::RETENTION_JOB_KIND => "retention",
        _ => "job",
    }
}

/// The audit entry for one event (`None` for events the audit log does not record: a job
/// ending): Harbor's operation, resource type and resource.
pub fn audit_entry(e: &StoredEvent, project_id: Option<i64>) -> Option<NewAuditEntry> {
    let (operation, resource_type, resource) = match &e.event {
        DomainEvent::JobFinished { .. }
        | DomainEvent::ScanFinished { .. }
        | DomainEvent::RetentionRunFinished { .. }
        | DomainEvent::ReplicationFinished { .. }
        | DomainEvent::QuotaExceeded { .. }
        | DomainEvent::QuotaWarning { .. } => return None,
        DomainEvent::ArtifactPushed {
            repository,
            digest,
            tags,
            ..
        } => (
            "create",
            "artifact",
            match tags.first() {
                Some(t) => format!("{repository}:{t}"),
                None => format!("{repository}@{digest}"),
            },
        ),
        DomainEvent::ArtifactPulled {
            repository,
            digest,
            tag,
        } => (
            "pull",
            "artifact",
            match tag {
                Some(t) => format!("{repository}:{t}"),
                None => format!("{repository}@{digest}"),
            },
        ),
        DomainEvent::ArtifactDeleted { repository, digest } => {
            ("delete", "artifact", format!("{repository}@{digest}"))
        }
        DomainEvent::TagCreated {
            repository, tag, ..
        } => ("create", "tag", format!("{repository}:{tag}")),
        DomainEvent::TagDeleted { repository, tag } => {
            ("delete", "tag", format!("{repository}:{tag}"))
        }
        DomainEvent::RepositoryDeleted { repository } => {
            ("delete", "repository", repository.clone())
        }
        DomainEvent::ProjectCreated { project, .. } => ("create", "project", project.clone()),
        DomainEvent::ProjectMetadataSet { project, keys, .. } => (
            "update",
            "project_metadata",
            format!("{project}:{}", keys.join(",")),
        ),
        DomainEvent::ProjectMetadataRemoved { project, key, .. } => {
            ("delete", "project_metadata", format!("{project}:{key}"))
        }
        DomainEvent::ProjectDeleted { project, .. } => ("delete", "project", project.clone()),
        DomainEvent::MemberAdded { member, .. } => ("create", "member", member.clone()),
        DomainEvent::MemberUpdated { member, .. } => ("update", "member", member.clone()),
        DomainEvent::MemberRemoved { member, .. } => ("delete", "member", member.clone()),
        DomainEvent::UserCreated { user } => ("create", "user", user.clone()),
        DomainEvent::UserUpdated { user, .. } => ("update", "user", user.clone()),
        DomainEvent::UserDeleted { user } => ("delete", "user", user.clone()),
        DomainEvent::UserSignedIn { user } => ("login", "user", user.clone()),
        DomainEvent::UserGroupChanged { group, change, .. } => {
            (change.as_str(), "user_group", group.clone())
        }
        DomainEvent::UserGroupsSet { user, groups } => (
            "update",
            "user_group_membership",
            format!("{user}:{}", groups.join(",")),
        ),
        DomainEvent::RobotCreated { robot, .. } => ("create", "robot", robot.clone()),
        DomainEvent::RobotUpdated { robot, .. } => ("update", "robot", robot.clone()),
        DomainEvent::RobotDeleted { robot, .. } => ("delete", "robot", robot.clone()),
        DomainEvent::RetentionPolicyChanged {
            project,
            policy_id,
            change,
            ..
        } => (
            change.as_str(),
            "retention_policy",
            format!("{project}/retention/{policy_id}"),
        ),
        DomainEvent::RetentionRunStarted {
            project,
            policy_id,
            job_id,
            ..
        } => (
            "create",
            "retention_execution",
            format!("{project}/retention/{policy_id}/executions/{job_id}"),
        ),
        DomainEvent::LabelChanged { label, change, .. } => {
            (change.as_str(), "label", label.clone())
        }
        DomainEvent::ArtifactLabelChanged {
            repository,
            reference,
            label,
            change,
        } => (
            change.as_str(),
            "artifact-label",
            format!("{repository}:{reference} {label}"),
        ),
        DomainEvent::RegistryEndpointChanged { name, change, .. } => {
            (change.as_str(), "registry", name.clone())
        }
        DomainEvent::ScannerRegistrationChanged { name, change } => match change.as_str() {
            "default" => ("update", "scanner", format!("{name} (default)")),
            other => (other, "scanner", name.clone()),
        },
        DomainEvent::ProjectScannerSet {
            project, scanner, ..
        } => ("update", "project_scanner", format!("{project}:{scanner}")),
        DomainEvent::CveAllowlistSet { project, .. } => (
            "update",
            "cve_allowlist",
            project.clone().unwrap_or_else(|| "system".to_owned()),
        ),
        DomainEvent::WebhookPolicyChanged {
            project,
            name,
            change,
            ..
        } => (
            change.as_str(),
            "webhook_policy",
            format!("{project}:{name}"),
        ),
        DomainEvent::ReplicationPolicyChanged { name, change } => {
            (change.as_str(), "replication_policy", name.clone())
        }
        DomainEvent::ReplicationStarted { policy_id, trigger } => (
            "create",
            "replication_execution",
            format!("policy {policy_id} ({trigger})"),
        ),
        DomainEvent::ImmutableRuleChanged { rule, change, .. } => {
            (change.as_str(), "immutable_rule", rule.clone())
        }
        DomainEvent::QuotaChanged { project, .. } | DomainEvent::QuotaRepaired { project, .. } => {
            ("update", "quota", project.clone())
        }
        DomainEvent::RepositoryUpdated { repository } => {
            ("update", "repository", repository.clone())
        }
        DomainEvent::SettingsChanged { settings } => {
            ("update", "configuration", settings.join(","))
        }
        DomainEvent::JobStarted { kind, job_id } => {
            ("create", job_resource(kind), format!("run {job_id}"))
        }
        DomainEvent::JobStopRequested { kind, job_id } => {
            ("update", job_resource(kind), format!("stop {job_id}"))
        }
        DomainEvent::ScheduleChanged { kind, schedule } => match schedule {
            Some(s) => ("update", job_resource(kind), format!("schedule {s}")),
            None => ("delete", job_resource(kind), "schedule".to_owned()),
        },
        DomainEvent::SignatureKeyChanged {
            project,
            name,
            kind,
            fingerprint,
            change,
            ..
        } => (
            change.as_str(),
            "signature_key",
            format!("{project}:{name} ({kind} {fingerprint})"),
        ),
    };
    Some(NewAuditEntry {
        project_id,
        username: e.actor.clone(),
        operation: operation.to_owned(),
        resource_type: resource_type.to_owned(),
        resource,
        op_time_ms: e.occurred_ms,
    })
}

#[async_trait]
impl Subscriber for AuditSubscriber {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn start_at(&self) -> StartAt {
        StartAt::Beginning
    }

    async fn deliver(&self, batch: &Batch<'_>) -> Result<Delivered> {
        // One lookup per project in the batch (projects deleted since have none).
        let mut ids: HashMap<&str, Option<i64>> = HashMap::new();
        for e in batch.events {
            if e.event.project_id().is_none()
                && let Some(p) = e.event.project()
                && !ids.contains_key(p)
            {
                let id = self.identity.project_by_name(p).await?.map(|p| p.id);
                ids.insert(p, id);
            }
        }
        let entries: Vec<NewAuditEntry> = batch
            .events
            .iter()
            .filter_map(|e| {
                let project = e.event.project_id().or_else(|| {
                    e.event
                        .project()
                        .and_then(|p| ids.get(p).copied().flatten())
                });
                audit_entry(e, project)
            })
            .collect();
        let moved = self
            .events
            .advance_cursor_with_audit(
                batch.subscriber,
                batch.token,
                batch.from,
                batch.to,
                &entries,
            )
            .await?;
        Ok(Delivered::Committed(moved))
    }
}
