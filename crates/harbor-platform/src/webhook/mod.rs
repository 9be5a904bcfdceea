//! Webhooks: a project's policies (`notification-policy` permissions: project admins
//! manage them, maintainers read them), their deliveries as Harbor's executions and tasks,
//! and the last trigger per event type. Events reach the policies through
//! [`subscriber::WebhookQueue`] (a subscriber of the domain events that queues deliveries
//! with its cursor), and receivers through [`sender::Sender`] (claims, sends, retries).
//!
//! Auth headers are sealed with the server's secret key before they are stored and shown as
//! `*****`; an update that sends `*****` (or nothing) for a target keeps its header.

pub mod payload;
pub mod sender;
pub mod subscriber;

use std::sync::Arc;

use harbor_auth::Principal;
use harbor_auth::sealing::SealingKeys;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::{Page, Project};
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::{Action, Resource};
use harbor_core::webhook::{
    Delivery, DeliveryStatus, EventType, LastTrigger, NotifyType, PayloadFormat, Policy,
    PolicySettings, SealedHeader, Target, check_auth_header,
};
use harbor_core::{Error, Result};

use crate::access::{self, ProjectRef};
use crate::remote::Probe;
use harbor_auth::Accounts;

/// How an auth header is shown once stored.
pub const MASK: &str = "*****";
/// What sealed auth headers are sealed as.
const SEALED_AS: &str = "webhook auth header";

/// A target as a caller writes it: the auth header in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInput {
    /// `http` or `slack`.
    pub kind: NotifyType,
    /// The address.
    pub address: String,
    /// The `Authorization` value; [`MASK`] or `None` keeps the stored one of the same
    /// address.
    pub auth_header: Option<String>,
    /// Do not verify the receiver's certificate.
    pub skip_cert_verify: bool,
    /// The body's shape.
    pub payload_format: PayloadFormat,
}

/// A policy as a caller writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInput {
    /// Unique in its project.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Where it sends.
    pub targets: Vec<TargetInput>,
    /// What it sends.
    pub event_types: Vec<EventType>,
    /// Whether it sends.
    pub enabled: bool,
}

/// The webhook service.
#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn MetadataStore>,
    accounts: Arc<Accounts>,
    keys: Option<Arc<SealingKeys>>,
    probe: Probe,
    rules: sender::SendRules,
}

impl Webhooks {
    /// Policies kept in `store`, permissions from `accounts`.
    pub fn new(store: Arc<dyn MetadataStore>, accounts: Arc<Accounts>) -> Self {
        Webhooks {
            store,
            accounts,
            keys: None,
            probe: Probe::default(),
            rules: sender::SendRules::default(),
        }
    }

    /// Sends under `rules` (time-out, retries, breaker).
    pub fn with_rules(mut self, rules: sender::SendRules) -> Self {
        self.rules = rules;
        self
    }

    /// The rules deliveries are sent under.
    pub fn rules(&self) -> sender::SendRules {
        self.rules
    }

    /// Seals auth headers with `keys`; without them, targets cannot have one.
    pub fn with_keys(mut self, keys: Arc<SealingKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Sends with `probe`'s outbound rules (address policy, time-outs).
    pub fn with_probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    /// The outbound rules deliveries follow.
    pub fn probe(&self) -> &Probe {
        &self.probe
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn MetadataStore> {
        &self.store
    }

    /// Opens a sealed auth header.
    pub fn open_header(&self, h: &SealedHeader) -> Result<String> {
        let keys = self.keys.as_ref().ok_or_else(|| {
            Error::Precondition("no secret key is configured to open the auth header".into())
        })?;
        let (plain, _) = keys.open(&h.0, SEALED_AS).map_err(Error::internal)?;
        String::from_utf8(plain).map_err(Error::internal)
    }

    async fn project(&self, by: &Principal, r: &ProjectRef, action: Action) -> Result<Project> {
        access::require_authenticated(by)?;
        let (project, _) =
            access::project_for(&self.accounts, by, r, Resource::NotificationPolicy, action)
                .await?;
        Ok(project)
    }

    /// `by`'s project and the policy `id` in it.
    async fn policy_in(
        &self,
        by: &Principal,
        r: &ProjectRef,
        id: i64,
        action: Action,
    ) -> Result<(Project, Policy)> {
        let project = self.project(by, r, action).await?;
        let policy = self
            .store
            .webhook_policy(id)
            .await?
            .filter(|p| p.project_id == project.id)
            .ok_or_else(|| Error::NotFound(format!("webhook policy {id} not found")))?;
        Ok((project, policy))
    }

    /// A page of the project's policies and the total.
    pub async fn policies(
        &self,
        by: &Principal,
        r: &ProjectRef,
        page: Page,
    ) -> Result<(Vec<Policy>, u64)> {
        let project = self.project(by, r, Action::List).await?;
        self.store.webhook_policies(project.id, page).await
    }

    /// One policy of the project.
    pub async fn policy(&self, by: &Principal, r: &ProjectRef, id: i64) -> Result<Policy> {
        Ok(self.policy_in(by, r, id, Action::Read).await?.1)
    }

    /// Creates a policy in the project.
    pub async fn create(
        &self,
        by: &Principal,
        r: &ProjectRef,
        input: PolicyInput,
    ) -> Result<Policy> {
        let project = self.project(by, r, Action::Create).await?;
        let settings = self.settings(input, None)?;
        let event = changed(by, &project, &settings.name, "create");
        self.store
            .create_webhook_policy_emitting(project.id, &settings, by.name(), &[event])
            .await
    }

    /// Replaces a policy's settings; auth headers sent as [`MASK`] or left out are kept.
    pub async fn update(
        &self,
        by: &Principal,
        r: &ProjectRef,
        id: i64,
        input: PolicyInput,
    ) -> Result<Policy> {
        let (project, current) = self.policy_in(by, r, id, Action::Update).await?;
        let settings = self.settings(input, Some(&current))?;
        // Queued bodies were rendered for the old targets (address, type, format).
        let shape = |t: &Target| (t.kind, t.address.clone(), t.payload_format);
        let stop_queued = !current
            .settings
            .targets
            .iter()
            .map(shape)
            .eq(settings.targets.iter().map(shape));
        let event = changed(by, &project, &settings.name, "update");
        self.store
            .update_webhook_policy_emitting(id, &settings, stop_queued, &[event])
            .await
    }

    /// Deletes a policy with its deliveries.
    pub async fn delete(&self, by: &Principal, r: &ProjectRef, id: i64) -> Result<()> {
        let (project, policy) = self.policy_in(by, r, id, Action::Delete).await?;
        let event = changed(by, &project, &policy.settings.name, "delete");
        self.store
            .delete_webhook_policy_emitting(id, &[event])
            .await
    }

    /// A page of a policy's deliveries (Harbor's executions), newest first.
    pub async fn executions(
        &self,
        by: &Principal,
        r: &ProjectRef,
        policy_id: i64,
        status: Option<DeliveryStatus>,
        page: Page,
    ) -> Result<(Policy, Vec<Delivery>, u64)> {
        let (_, policy) = self.policy_in(by, r, policy_id, Action::Read).await?;
        let (list, total) = self
            .store
            .webhook_deliveries(policy_id, status, page)
            .await?;
        Ok((policy, list, total))
    }

    /// One delivery of a policy (an execution, and its one task with the same id), with
    /// the policy.
    pub async fn execution(
        &self,
        by: &Principal,
        r: &ProjectRef,
        policy_id: i64,
        id: i64,
    ) -> Result<(Policy, Delivery)> {
        let (_, policy) = self.policy_in(by, r, policy_id, Action::Read).await?;
        let delivery = self
            .store
            .webhook_delivery(id)
            .await?
            .filter(|d| d.spec.policy_id == policy_id)
            .ok_or_else(|| Error::NotFound(format!("webhook execution {id} not found")))?;
        Ok((policy, delivery))
    }

    /// A delivery's log: one line per attempt.
    pub async fn log(
        &self,
        by: &Principal,
        r: &ProjectRef,
        policy_id: i64,
        id: i64,
    ) -> Result<Vec<(i64, String)>> {
        self.execution(by, r, policy_id, id).await?;
        self.store.webhook_delivery_log(id).await
    }

    /// The last trigger per event type of the project's policies.
    pub async fn last_triggers(&self, by: &Principal, r: &ProjectRef) -> Result<Vec<LastTrigger>> {
        let project = self.project(by, r, Action::Read).await?;
        self.store.webhook_last_triggers(project.id).await
    }

    /// The event types, notify types and formats policies may use (any reader of the
    /// project's policies).
    pub async fn supported(&self, by: &Principal, r: &ProjectRef) -> Result<()> {
        self.project(by, r, Action::Read).await.map(|_| ())
    }

    /// Sends a test event (`PUSH_ARTIFACT` of `<project>/webhook-test:latest`, operator
    /// the caller) to each of the policy's targets at once, outside the queue: per target,
    /// whether it answered 2xx and what happened.
    pub async fn test(
        &self,
        by: &Principal,
        r: &ProjectRef,
        id: i64,
    ) -> Result<Vec<(String, bool, String)>> {
        let (project, policy) = self.policy_in(by, r, id, Action::Create).await?;
        let repository = format!("{}/webhook-test", project.name);
        let event = payload::EventData {
            event_type: EventType::PushArtifact,
            occurred_ms: harbor_core::model::now_ms(),
            operator: by.name().to_owned(),
            data: serde_json::json!({
                "resources": [{
                    "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                    "tag": "latest",
                    "resource_url": format!("{repository}:latest"),
                }],
                "repository": {
                    "date_created": harbor_core::model::now_ms() / 1000,
                    "name": "webhook-test",
                    "namespace": project.name,
                    "repo_full_name": repository,
                    "repo_type": if project.public { "public" } else { "private" },
                },
            }),
        };
        let source = format!("/projects/{}/webhook/policies/{}", project.id, policy.id);
        let sender = sender::Sender::new(self.clone(), String::new(), Default::default())?;
        let mut out = Vec::new();
        for target in &policy.settings.targets {
            let id = uuid::Uuid::new_v4().to_string();
            let (_, body) = payload::render(&event, target, &id, &source);
            let (ok, message) = sender.send_once(target, &id, body).await;
            out.push((target.address.clone(), ok, message));
        }
        Ok(out)
    }

    /// The settings to store: validated, headers checked and sealed (or kept).
    fn settings(&self, input: PolicyInput, current: Option<&Policy>) -> Result<PolicySettings> {
        let mut targets = Vec::with_capacity(input.targets.len());
        for t in input.targets {
            let address = harbor_core::webhook::normalise_address(&t.address)?;
            // An address the outbound policy refuses outright (an IP literal such as
            // 127.0.0.1 or 169.254.169.254) is refused now; names are checked when sent.
            if let Ok(url) = url::Url::parse(&address) {
                self.probe
                    .options()
                    .address_policy
                    .check_url(&url)
                    .map_err(|e| {
                        Error::Invalid(format!(
                            "webhook address {address:?}: {e}; see remote.allowed_hosts"
                        ))
                    })?;
            }
            let auth_header = match t.auth_header.as_deref().map(str::trim) {
                None | Some("") if current.is_none() => None,
                None | Some(MASK) => {
                    let kept = current.and_then(|c| {
                        c.settings
                            .targets
                            .iter()
                            .find(|old| old.address == address)
                            .and_then(|old| old.auth_header.clone())
                    });
                    if kept.is_none() && t.auth_header.as_deref().map(str::trim) == Some(MASK) {
                        return Err(Error::Invalid(format!(
                            "auth_header {MASK} keeps a stored header, but no target at \
                             {address} has one: give the header again"
                        )));
                    }
                    kept
                }
                Some("") => None,
                Some(value) => {
                    check_auth_header(value)?;
                    let keys = self.keys.as_ref().ok_or_else(|| {
                        Error::Precondition(
                            "auth headers need the server's secret key (secret_key) to be stored"
                                .into(),
                        )
                    })?;
                    Some(SealedHeader(
                        keys.seal(value.as_bytes(), SEALED_AS)
                            .map_err(Error::internal)?,
                    ))
                }
            };
            targets.push(Target {
                kind: t.kind,
                address,
                auth_header,
                skip_cert_verify: t.skip_cert_verify,
                payload_format: t.payload_format,
            });
        }
        let mut settings = PolicySettings {
            name: input.name,
            description: input.description,
            targets,
            event_types: input.event_types,
            enabled: input.enabled,
        };
        settings.validate()?;
        Ok(settings)
    }
}

fn changed(by: &Principal, project: &Project, name: &str, change: &str) -> NewEvent {
    NewEvent::now(
        by.name(),
        DomainEvent::WebhookPolicyChanged {
            project: project.name.clone(),
            project_id: project.id,
            name: name.to_owned(),
            change: change.to_owned(),
        },
    )
}
