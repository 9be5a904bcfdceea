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
        DomainEvent::ReplicationFinished { .. } => EventType::Replication,
        DomainEvent::RetentionRunFinished { .. } => EventType::TagRetention,
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
        // The projects each event concerns (looked up once per batch), then their
        // enabled policies in one query.
        let mut found = Projects::default();
        let mut concerned = Vec::with_capacity(wanted.len());
        for (stored, t) in wanted {
            let (names, ids, replication) = match &stored.event {
                DomainEvent::ReplicationFinished {
                    policy_id,
                    execution_id,
                    status,
                } => match self.replication(*policy_id, *execution_id, status).await? {
                    Some((names, data)) => (names, Vec::new(), Some(data)),
                    None => continue,
                },
                e => (
                    e.project().map(str::to_owned).into_iter().collect(),
                    e.project_id().into_iter().collect::<Vec<_>>(),
                    None,
                ),
            };
            let mut projects = Vec::new();
            for name in &names {
                projects.extend(found.by_name(self.identity.as_ref(), name).await?);
            }
            if names.is_empty() {
                for id in ids {
                    projects.extend(found.by_id(self.identity.as_ref(), id).await?);
                }
            }
            concerned.push((stored, t, projects, replication));
        }
        let policies = self
            .registry
            .metadata()
            .enabled_webhook_policies(&found.ids())
            .await?;
        if policies.is_empty() {
            return Ok(Delivered::Handled);
        }
        let host = self.registry_host();
        let mut created: HashMap<String, i64> = HashMap::new();
        let mut deliveries = Vec::new();
        for (stored, event_type, projects, replication) in concerned {
            for project in &projects {
                let mine: Vec<_> = policies
                    .iter()
                    .filter(|p| p.project_id == project.id && p.wants(event_type))
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let data = match &replication {
                    Some(r) => json!({ "replication": r }),
                    None => {
                        self.event_data(stored, project, &host, &mut created)
                            .await?
                    }
                };
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

/// Projects looked up once per batch, by name or id.
#[derive(Default)]
struct Projects {
    by_name: HashMap<String, Option<Project>>,
    by_id: HashMap<i64, Option<Project>>,
}

impl Projects {
    async fn by_name(&mut self, store: &dyn IdentityStore, name: &str) -> Result<Option<Project>> {
        if !self.by_name.contains_key(name) {
            let p = store.project_by_name(name).await?;
            if let Some(p) = &p {
                self.by_id.insert(p.id, Some(p.clone()));
            }
            self.by_name.insert(name.to_owned(), p);
        }
        Ok(self.by_name.get(name).cloned().flatten())
    }

    async fn by_id(&mut self, store: &dyn IdentityStore, id: i64) -> Result<Option<Project>> {
        if let Some(p) = self.by_id.get(&id) {
            return Ok(p.clone());
        }
        let p = store.project(id).await?;
        self.by_id.insert(id, p.clone());
        Ok(p)
    }

    fn ids(&self) -> Vec<i64> {
        let ids: BTreeSet<i64> = self.by_id.values().flatten().map(|p| p.id).collect();
        ids.into_iter().collect()
    }
}

impl WebhookQueue {
    /// The projects of this registry a replication execution touched (the sources of a
    /// push, the destinations of a pull) and Harbor's `replication` object; `None` when
    /// the execution or its policy is gone.
    async fn replication(
        &self,
        policy_id: i64,
        execution_id: i64,
        status: &str,
    ) -> Result<Option<(Vec<String>, Value)>> {
        let store = self.registry.metadata();
        let (Some(policy), Some(execution)) = (
            store.replication_policy(policy_id).await?,
            store.replication_execution(execution_id).await?,
        ) else {
            return Ok(None);
        };
        let tasks = store.replication_tasks(execution_id).await?;
        let s = &policy.settings;
        let push = s.src_registry.is_none();
        let mut names = BTreeSet::new();
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for t in &tasks {
            let local = if push {
                &t.plan.src_repository
            } else {
                &t.plan.dst_repository
            };
            if let Some((project, _)) = local.split_once('/') {
                names.insert(project.to_owned());
            }
            let item = json!({
                "type": t.plan.resource_type,
                "status": t.status.as_str(),
                "name_tag": t.src_resource(),
            });
            if t.status == harbor_core::replication::TaskStatus::Succeed {
                ok.push(item);
            } else {
                failed.push(item);
            }
        }
        let side = |registry: Option<i64>, namespace: &str| {
            json!({
                "registry_id": registry.unwrap_or(0),
                "registry_type": if registry.is_none() { "harbor" } else { "remote" },
                "namespace": namespace,
            })
        };
        let data = json!({
            "harbor_hostname": self.registry_host(),
            "job_status": status,
            "override_mode": s.override_,
            "trigger_type": execution.trigger.to_uppercase(),
            "policy_creator": policy.creator,
            "execution_timestamp": execution.started_ms.div_euclid(1000),
            "execution_id": execution_id,
            "policy_id": policy_id,
            "src_resource": side(s.src_registry, ""),
            "dest_resource": side(s.dest_registry, &s.dest_namespace),
            "successful_artifact": ok,
            "failed_artifact": failed,
        });
        Ok(Some((names.into_iter().collect(), data)))
    }

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
            DomainEvent::RetentionRunFinished {
                policy_id,
                job_id,
                dry_run,
                status,
                total,
                retained,
                deleted,
                ..
            } => {
                return Ok(json!({
                    "retention": {
                        "total": total,
                        "retained": retained,
                        "project_name": project.name,
                        "retention_policy_id": policy_id,
                        "execution_id": job_id,
                        "dry_run": dry_run,
                        "result": status.to_uppercase(),
                        "deleted_artifact": deleted.iter().map(|d| json!({
                            "type": "image", "status": "SUCCESS", "name_tag": d,
                        })).collect::<Vec<_>>(),
                    }
                }));
            }
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
                // Gone since (or never valid): the event's own time.
                let t = match RepositoryName::parse(repository) {
                    Ok(r) => self
                        .registry
                        .repository_created_ms(&r)
                        .await?
                        .unwrap_or(stored.occurred_ms),
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
