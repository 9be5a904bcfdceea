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

/// The audit entry for one event: Harbor's operation, resource type and resource.
pub fn audit_entry(e: &StoredEvent, project_id: Option<i64>) -> NewAuditEntry {
    let (operation, resource_type, resource) = match &e.event {
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
    };
    NewAuditEntry {
        project_id,
        username: e.actor.clone(),
        operation: operation.to_owned(),
        resource_type: resource_type.to_owned(),
        resource,
        op_time_ms: e.occurred_ms,
    }
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
            if let Some(p) = e.event.project()
                && !ids.contains_key(p)
            {
                let id = self.identity.project_by_name(p).await?.map(|p| p.id);
                ids.insert(p, id);
            }
        }
        let entries: Vec<NewAuditEntry> = batch
            .events
            .iter()
            .map(|e| {
                let project = e
                    .event
                    .project()
                    .and_then(|p| ids.get(p).copied().flatten());
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
