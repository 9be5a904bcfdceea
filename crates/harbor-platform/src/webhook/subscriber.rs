//! The webhook subscriber (`webhooks`): turns each domain event a policy wants into one
//! delivery per target, rendered now (so a later change of the repository does not change
//! what was sent), and queues them in the transaction that moves its cursor: an event is
//! queued once, even when the batch comes again after a crash. Sending is
//! [`super::sender::Sender`]'s.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use harbor_core::events::{Batch, Delivered, DomainEvent, StartAt, StoredEvent, Subscriber};
use harbor_core::identity::Project;
use harbor_core::ports::IdentityStore;
use harbor_core::webhook::{EventType, NewDelivery};
use harbor_core::{Registry, RepositoryName, Result};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::payload::{self, EventData};
use crate::scanner::builtin::LocalRegistry;

/// The subscriber.
pub struct WebhookQueue {
    registry: Registry,
    identity: Arc<dyn IdentityStore>,
    local: LocalRegistry,
    external_url: Option<String>,
    queued: Arc<Notify>,
}

impl WebhookQueue {
    /// Its cursor's name.
    pub const NAME: &'static str = "webhooks";

    /// Queues events of `registry`'s outbox for the policies of projects in `identity`;
    /// resource URLs name `external_url` (else the server's own address); `queued` is told
    /// when deliveries were queued.
    pub fn new(
        registry: Registry,
        identity: Arc<dyn IdentityStore>,
        local: LocalRegistry,
        external_url: Option<String>,
        queued: Arc<Notify>,
    ) -> Self {
        WebhookQueue {
            registry,
            identity,
            local,
            external_url,
            queued,
        }
    }

    /// `host[:port]` clients pull from: Harbor's `resource_url` prefix.
    fn registry_host(&self) -> String {
        let url = self
            .external_url
            .clone()
            .or_else(|| self.local.get().map(|a| a.url))
            .unwrap_or_default();
        url.split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The webhook event type of a domain event, if any.
pub fn event_type(e: &DomainEvent) -> Option<EventType> {
    Some(match e {
        DomainEvent::ArtifactPushed { .. } => EventType::PushArtifact,
        DomainEvent::ArtifactPulled { .. } => EventType::PullArtifact,
        DomainEvent::ArtifactDeleted { .. } => EventType::DeleteArtifact,
        DomainEvent::QuotaExceeded { .. } => EventType::QuotaExceed,
        DomainEvent::QuotaWarning { .. } => EventType::QuotaWarning,
        DomainEvent::ScanFinished { status, .. } => match status.as_str() {
            "Success" => EventType::ScanningCompleted,
            "Stopped" => EventType::ScanningStopped,
            _ => EventType::ScanningFailed,
        },
        _ => return None,
    })
}

#[async_trait]
impl Subscriber for WebhookQueue {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn start_at(&self) -> StartAt {
        StartAt::Latest
    }

    async fn deliver(&self, batch: &Batch<'_>) -> Result<Delivered> {
        let wanted: Vec<(&StoredEvent, EventType)> = batch
            .events
            .iter()
            .filter_map(|e| event_type(&e.event).map(|t| (e, t)))
            .collect();
        if wanted.is_empty() {
            return Ok(Delivered::Handled);
        }
        // The projects concerned, then their enabled policies: one query each.
        let names: BTreeSet<&str> = wanted
            .iter()
            .filter_map(|(e, _)| e.event.project())
            .collect();
        let mut projects: HashMap<String, Project> = HashMap::new();
        for name in names {
            if let Some(p) = self.identity.project_by_name(name).await? {
                projects.insert(name.to_owned(), p);
            }
        }
        let ids: Vec<i64> = projects.values().map(|p| p.id).collect();
        let policies = self
            .registry
            .metadata()
            .enabled_webhook_policies(&ids)
            .await?;
        if policies.is_empty() {
            return Ok(Delivered::Handled);
        }
        let host = self.registry_host();
        let mut created: HashMap<String, i64> = HashMap::new();
        let mut deliveries = Vec::new();
        for (stored, event_type) in wanted {
            let Some(project) = stored.event.project().and_then(|n| projects.get(n)) else {
                continue;
            };
            let mine: Vec<_> = policies
                .iter()
                .filter(|p| p.project_id == project.id && p.wants(event_type))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let data = self
                .event_data(stored, project, &host, &mut created)
                .await?;
            let event = EventData {
                event_type,
                occurred_ms: stored.occurred_ms,
                operator: stored.actor.clone(),
                data,
            };
            let order_key = stored
                .event
                .repository()
                .unwrap_or(&project.name)
                .to_owned();
            for policy in mine {
                let source = format!("/projects/{}/webhook/policies/{}", project.id, policy.id);
                for (i, target) in policy.settings.targets.iter().enumerate() {
                    let uuid = uuid::Uuid::new_v4().to_string();
                    let (_, body) = payload::render(&event, target, &uuid, &source);
                    deliveries.push(NewDelivery {
                        policy_id: policy.id,
                        target: i as u32,
                        event_id: stored.id,
                        event_type,
                        order_key: order_key.clone(),
                        uuid,
                        payload: body,
                        occurred_ms: stored.occurred_ms,
                    });
                }
            }
        }
        if deliveries.is_empty() {
            return Ok(Delivered::Handled);
        }
        let moved = self
            .registry
            .metadata()
            .queue_webhook_deliveries(
                batch.subscriber,
                batch.token,
                batch.from,
                batch.to,
                &deliveries,
            )
            .await?;
        if moved {
            self.queued.notify_one();
        }
        Ok(Delivered::Committed(moved))
    }
}

impl WebhookQueue {
    /// Harbor's `event_data` of one event.
    async fn event_data(
        &self,
        stored: &StoredEvent,
        project: &Project,
        host: &str,
        created: &mut HashMap<String, i64>,
    ) -> Result<Value> {
        let resource = |repository: &str, digest: &str, tag: Option<&str>| {
            let url = match tag {
                Some(t) => format!("{host}/{repository}:{t}"),
                None => format!("{host}/{repository}@{digest}"),
            };
            json!({"digest": digest, "tag": tag.unwrap_or(digest), "resource_url": url})
        };
        let (repository, resources, extra) = match &stored.event {
            DomainEvent::ArtifactPushed {
                repository,
                digest,
                tags,
                ..
            } => {
                let list: Vec<Value> = if tags.is_empty() {
                    vec![resource(repository, digest, None)]
                } else {
                    tags.iter()
                        .map(|t| resource(repository, digest, Some(t)))
                        .collect()
                };
                (repository, list, None)
            }
            DomainEvent::ArtifactPulled {
                repository,
                digest,
                tag,
            } => (
                repository,
                vec![resource(repository, digest, tag.as_deref())],
                None,
            ),
            DomainEvent::ArtifactDeleted { repository, digest } => {
                (repository, vec![resource(repository, digest, None)], None)
            }
            DomainEvent::QuotaExceeded {
                repository,
                message,
            } => (
                repository,
                vec![json!({"resource_url": format!("{host}/{repository}")})],
                Some(("custom_attributes", json!({ "Details": message }))),
            ),
            DomainEvent::QuotaWarning {
                repository,
                used,
                hard,
            } => (
                repository,
                vec![json!({"resource_url": format!("{host}/{repository}")})],
                Some((
                    "custom_attributes",
                    json!({ "Details": format!(
                        "quota usage reaches the warning threshold: {used} of {hard} bytes used"
                    ) }),
                )),
            ),
            DomainEvent::ScanFinished {
                repository,
                digest,
                scan_type,
                status,
                severity,
                total,
                fixable,
            } => {
                let mut r = resource(repository, digest, None);
                r["scan_overview"] = json!({
                    "scan_status": status,
                    "severity": severity,
                    "summary": {"total": total, "fixable": fixable},
                });
                (
                    repository,
                    vec![r],
                    Some(("scan", json!({ "scan_type": scan_type }))),
                )
            }
            _ => return Ok(json!({})),
        };
        let name = repository
            .split_once('/')
            .map_or(repository.as_str(), |(_, n)| n);
        let date_created = match created.get(repository) {
            Some(t) => *t,
            None => {
                let t = match RepositoryName::parse(repository) {
                    Ok(r) => match self.registry.repository(&r).await {
                        Ok(rec) => rec.created_ms,
                        // Gone with its last artifact: the event's own time.
                        Err(_) => stored.occurred_ms,
                    },
                    Err(_) => stored.occurred_ms,
                };
                created.insert(repository.clone(), t);
                t
            }
        };
        let mut data = json!({
            "resources": resources,
            "repository": {
                "date_created": date_created.div_euclid(1000),
                "name": name,
                "namespace": project.name,
                "repo_full_name": repository,
                "repo_type": if project.public { "public" } else { "private" },
            },
        });
        if let Some((key, value)) = extra {
            data[key] = value;
        }
        Ok(data)
    }
}
