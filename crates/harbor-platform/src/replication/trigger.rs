//! Event-based replication: a subscriber of the domain events that queues an execution
//! of every enabled, event-based, push-based policy whose filters select a pushed or
//! deleted artifact. Delivery is at least once; a job queued twice copies nothing twice
//! (what the destination has is skipped).

use std::sync::Arc;

use async_trait::async_trait;
use harbor_core::Result;
use harbor_core::events::{Batch, Delivered, DomainEvent, StartAt, Subscriber};
use harbor_core::jobs::JobStore;
use harbor_core::ports::MetadataStore;
use harbor_core::replication::Trigger;

use super::run::{EventScope, ReplicationParams};
use crate::system_jobs::Waker;

/// The subscriber (`replication`).
pub struct EventTrigger {
    store: Arc<dyn MetadataStore>,
    jobs: Arc<dyn JobStore>,
    wake: Option<Waker>,
}

impl EventTrigger {
    /// Its cursor's name.
    pub const NAME: &'static str = "replication";

    /// Queues jobs in `jobs` for policies in `store`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        jobs: Arc<dyn JobStore>,
        wake: Option<Waker>,
    ) -> Self {
        EventTrigger { store, jobs, wake }
    }
}

/// What an event changed, for replication: repository, references, delete or not.
fn scope(e: &DomainEvent) -> Option<EventScope> {
    let (repository, references, deletion) = match e {
        DomainEvent::ArtifactPushed {
            repository,
            digest,
            tags,
            ..
        } => (
            repository,
            if tags.is_empty() {
                vec![digest.clone()]
            } else {
                tags.clone()
            },
            false,
        ),
        DomainEvent::TagCreated {
            repository, tag, ..
        } => (repository, vec![tag.clone()], false),
        DomainEvent::ArtifactDeleted { repository, digest } => {
            (repository, vec![digest.clone()], true)
        }
        DomainEvent::TagDeleted { repository, tag } => (repository, vec![tag.clone()], true),
        _ => return None,
    };
    Some(EventScope {
        repository: repository.clone(),
        references,
        deletion,
    })
}

#[async_trait]
impl Subscriber for EventTrigger {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn start_at(&self) -> StartAt {
        StartAt::Latest
    }

    async fn deliver(&self, batch: &Batch<'_>) -> Result<Delivered> {
        let changes: Vec<(EventScope, &str)> = batch
            .events
            .iter()
            .filter_map(|e| scope(&e.event).map(|s| (s, e.actor.as_str())))
            .collect();
        if changes.is_empty() {
            return Ok(Delivered::Handled);
        }
        let policies: Vec<_> = self
            .store
            .push_replication_policies()
            .await?
            .into_iter()
            .filter(|p| p.settings.trigger == Trigger::EventBased)
            .collect();
        let mut queued = 0;
        for (change, actor) in &changes {
            // What a replication itself wrote is not replicated again.
            if actor.starts_with("replication:") {
                continue;
            }
            for p in &policies {
                let f = &p.settings.filters;
                if !f.name_matches(&change.repository) || (change.deletion && !p.settings.deletion)
                {
                    continue;
                }
                let params = ReplicationParams {
                    policy_id: p.id,
                    execution_id: None,
                    trigger: "event_based".into(),
                    event: Some(change.clone()),
                };
                self.jobs
                    .enqueue(&super::job(&params, harbor_core::jobs::Trigger::Event)?)
                    .await?;
                queued += 1;
            }
        }
        if queued > 0
            && let Some(w) = &self.wake
        {
            w();
        }
        Ok(Delivered::Handled)
    }
}
