//! Domain events and the transactional outbox.
//!
//! A change that others may react to (an artifact pushed, pulled or deleted, a tag
//! created or deleted, a repository deleted) is described by a [`DomainEvent`] and written
//! to the **outbox** by the store method that makes the change, in the same database
//! transaction: the change and its event are both stored or neither is. Subscribers
//! ([`Subscriber`]: the audit log first; webhooks, replication triggers and scan-on-push
//! later) read the outbox through the [`Dispatcher`], each with its own cursor, at least
//! once and in outbox order (docs/architecture.md, "Domain events").

mod audit;
mod dispatch;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::identity::NewAuditEntry;
use crate::model::Lease;

pub use audit::{AuditSubscriber, audit_entry};
pub use dispatch::{Batch, Delivered, Dispatcher, DispatcherConfig, EventSignal, Subscriber};

/// Something that happened, as subscribers see it. Serialised (tagged by `type`) into the
/// outbox, so variants and fields are only ever added, never renamed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// A manifest was pushed (or copied in), with the tags that now point at it.
    ArtifactPushed {
        /// `<project>/<repository path>`.
        repository: String,
        /// The manifest's digest.
        digest: String,
        /// The manifest's media type.
        media_type: String,
        /// Size of the manifest in bytes.
        size: u64,
        /// Tags the push set (empty for a push by digest).
        tags: Vec<String>,
    },
    /// A manifest was pulled (GET, not HEAD), by `tag` when it was pulled by tag.
    ArtifactPulled {
        /// `<project>/<repository path>`.
        repository: String,
        /// The manifest's digest.
        digest: String,
        /// The tag it was pulled by, if any.
        tag: Option<String>,
    },
    /// A manifest was deleted with every tag that pointed at it.
    ArtifactDeleted {
        /// `<project>/<repository path>`.
        repository: String,
        /// The manifest's digest.
        digest: String,
    },
    /// A tag was put on an existing artifact through the API.
    TagCreated {
        /// `<project>/<repository path>`.
        repository: String,
        /// The tag.
        tag: String,
        /// The artifact it points at.
        digest: String,
    },
    /// A tag was deleted; its manifest stays.
    TagDeleted {
        /// `<project>/<repository path>`.
        repository: String,
        /// The tag.
        tag: String,
    },
    /// A repository was deleted with all its artifacts.
    RepositoryDeleted {
        /// `<project>/<repository path>`.
        repository: String,
    },
    /// A project was created (with its owner as project admin and its quota).
    ProjectCreated {
        /// Its name.
        project: String,
        /// Its owner's username.
        owner: String,
    },
    /// Metadata keys of a project were set (`public` included).
    ProjectMetadataSet {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The keys set.
        keys: Vec<String>,
    },
    /// A metadata key of a project was removed.
    ProjectMetadataRemoved {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The key removed.
        key: String,
    },
    /// A project was deleted (with its members and robots).
    ProjectDeleted {
        /// Its name.
        project: String,
        /// Its id.
        project_id: i64,
    },
    /// A user became a member of a project.
    MemberAdded {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The member's username.
        member: String,
        /// Harbor's role name.
        role: String,
    },
    /// A member's role changed.
    MemberUpdated {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The member's username.
        member: String,
        /// The new role (Harbor's name).
        role: String,
    },
    /// A member left a project.
    MemberRemoved {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The member's username.
        member: String,
    },
    /// A user account was created (by an administrator, or by signing up).
    UserCreated {
        /// The username.
        user: String,
    },
    /// A user account changed: its profile, password or administrator right.
    UserUpdated {
        /// The username.
        user: String,
        /// What changed: `profile`, `password` or `sysadmin`.
        change: String,
    },
    /// A user signed in to the portal.
    UserSignedIn {
        /// The username.
        user: String,
    },
    /// A user account was deleted with its memberships and sessions.
    UserDeleted {
        /// The username.
        user: String,
    },
    /// A user group (`/usergroups`) was created, renamed or deleted (its memberships
    /// with it).
    UserGroupChanged {
        /// Its name (the new one for a rename).
        group: String,
        /// Harbor's group type (1 LDAP, 2 HTTP, 3 OIDC).
        group_type: i64,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A user's group memberships were replaced (by a sign-in mode or an administrator).
    UserGroupsSet {
        /// The username.
        user: String,
        /// The names of the groups the user now belongs to.
        groups: Vec<String>,
    },
    /// A robot account was created.
    RobotCreated {
        /// Its login name (`robot$...`).
        robot: String,
        /// Its project, for a project robot.
        project_id: Option<i64>,
    },
    /// A robot account changed: description, permissions, lifetime, enabled, or secret.
    RobotUpdated {
        /// Its login name.
        robot: String,
        /// Its project, for a project robot.
        project_id: Option<i64>,
        /// Its secret was replaced.
        secret_refreshed: bool,
    },
    /// A robot account was deleted.
    RobotDeleted {
        /// Its login name.
        robot: String,
        /// Its project, for a project robot.
        project_id: Option<i64>,
    },
    /// A project's tag retention policy was created, replaced or deleted.
    RetentionPolicyChanged {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The policy's id.
        policy_id: i64,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A tag retention run was started by hand.
    RetentionRunStarted {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The policy's id.
        policy_id: i64,
        /// The run's (job's) id.
        job_id: i64,
        /// Only report what would be deleted.
        dry_run: bool,
    },
    /// A label was created, changed or deleted.
    LabelChanged {
        /// Its name.
        label: String,
        /// Its project, for a project label.
        project_id: Option<i64>,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A label was put on or taken off an artifact.
    ArtifactLabelChanged {
        /// `<project>/<repository path>`.
        repository: String,
        /// The artifact's tag or digest, as the caller named it.
        reference: String,
        /// The label (its name, or its id when it is gone).
        label: String,
        /// `create` (attached) or `delete` (detached).
        change: String,
    },
    /// A registry endpoint (`/registries`) was created, changed or deleted.
    RegistryEndpointChanged {
        /// Its name.
        name: String,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A scanner registration (`/scanners`) was created, changed, deleted or made the
    /// system default.
    ScannerRegistrationChanged {
        /// Its name.
        name: String,
        /// `create`, `update`, `delete` or `default`.
        change: String,
    },
    /// A project's scanner was chosen (`PUT /projects/{p}/scanner`).
    ProjectScannerSet {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The registration's name.
        scanner: String,
    },
    /// A CVE allowlist was written: the system list (`project` `None`) or a project's.
    CveAllowlistSet {
        /// The project's name; `None` for the system list.
        project: Option<String>,
        /// Its id; `None` for the system list.
        project_id: Option<i64>,
        /// How many ids the list holds.
        items: u64,
        /// Its expiry (seconds since the Unix epoch), `None` for never.
        expires_at: Option<i64>,
    },
    /// A replication policy was created, changed or deleted.
    ReplicationPolicyChanged {
        /// Its name.
        name: String,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A replication execution started.
    ReplicationStarted {
        /// The policy's id.
        policy_id: i64,
        /// `manual`, `scheduled` or `event_based`.
        trigger: String,
    },
    /// A replication execution ended (webhooks' `REPLICATION` event).
    ReplicationFinished {
        /// The policy's id.
        policy_id: i64,
        /// The execution's id.
        execution_id: i64,
        /// `Succeed`, `Failed` or `Stopped`.
        status: String,
    },
    /// A tag immutability rule was created, changed or deleted.
    ImmutableRuleChanged {
        /// Its project.
        project_id: i64,
        /// What it selects (`repositories matching ** tags matching v*`).
        rule: String,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A project's storage limit was set.
    QuotaChanged {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The new limit in bytes, -1 unlimited.
        hard: i64,
    },
    /// A manifest push left its project's storage usage at or over 85 % of a finite limit
    /// (Harbor's quota warning).
    QuotaWarning {
        /// `<project>/<repository path>`.
        repository: String,
        /// Bytes used after the push.
        used: i64,
        /// The limit in bytes.
        hard: i64,
    },
    /// A push was refused because it would exceed its project's storage quota.
    QuotaExceeded {
        /// `<project>/<repository path>`.
        repository: String,
        /// Harbor's message (`adding 1.0 MiB of storage resource, which when updated ...`).
        message: String,
    },
    /// A project's storage usage was recounted and the stored usage repaired.
    QuotaRepaired {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
    },
    /// A repository's description changed.
    RepositoryUpdated {
        /// `<project>/<repository path>`.
        repository: String,
    },
    /// Run-time settings (`/configurations`) changed.
    SettingsChanged {
        /// What changed, `name=value` (the banner by name only).
        settings: Vec<String>,
    },
    /// A system job (garbage collection, audit purge, storage check, upload cleanup) was
    /// started by hand.
    JobStarted {
        /// The job's kind (e.g. `GARBAGE_COLLECTION`).
        kind: String,
        /// The run's id.
        job_id: i64,
    },
    /// A job ended for good: `Success`, `Error` (no attempts left) or `Stopped`. Not an
    /// audit entry (the start and the stop request are); for webhooks and dashboards.
    JobFinished {
        /// The job's kind.
        kind: String,
        /// The run's id.
        job_id: i64,
        /// `Success`, `Error` or `Stopped`.
        status: String,
    },
    /// Stopping a running or queued job was asked for.
    JobStopRequested {
        /// The job's kind.
        kind: String,
        /// The run's id.
        job_id: i64,
    },
    /// A webhook policy was created, changed or deleted.
    WebhookPolicyChanged {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The policy's name.
        name: String,
        /// `create`, `update` or `delete`.
        change: String,
    },
    /// A scan of an artifact ended (webhooks' `SCANNING_COMPLETED`, `SCANNING_FAILED`,
    /// `SCANNING_STOPPED`).
    ScanFinished {
        /// `<project>/<repository path>`.
        repository: String,
        /// The artifact's digest.
        digest: String,
        /// `vulnerability` or `sbom`.
        scan_type: String,
        /// `Success`, `Error` or `Stopped`.
        status: String,
        /// The highest severity found (Harbor's names), empty if none or not done.
        severity: String,
        /// Vulnerabilities found.
        total: u64,
        /// Of which have a fix.
        fixable: u64,
    },
    /// A tag retention run ended (webhooks' `TAG_RETENTION`).
    RetentionRunFinished {
        /// The policy's project.
        project_id: i64,
        /// The policy.
        policy_id: i64,
        /// The run's (job's) id.
        job_id: i64,
        /// Only reported what it would delete.
        dry_run: bool,
        /// `Success`, `Error` or `Stopped`.
        status: String,
        /// Artifacts looked at.
        total: u64,
        /// Artifacts kept.
        retained: u64,
        /// What was deleted (or would be): `<repository>:<tag>`, or `@<digest>` untagged.
        deleted: Vec<String>,
    },
    /// A job kind's schedule was set (`cron`) or removed (`None`).
    ScheduleChanged {
        /// The job's kind.
        kind: String,
        /// The schedule's type and cron (`Daily 0 0 0 * * *`), `None` once removed.
        schedule: Option<String>,
    },
    /// A project began or stopped trusting a signature verification key.
    SignatureKeyChanged {
        /// The project's name.
        project: String,
        /// Its id.
        project_id: i64,
        /// The key's name in the project.
        name: String,
        /// `cosign` or `notation`.
        kind: String,
        /// `sha256:<hex>` of the key's DER.
        fingerprint: String,
        /// `create` or `delete`.
        change: String,
    },
}

impl DomainEvent {
    /// The event's type name, as stored in the outbox's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainEvent::ArtifactPushed { .. } => "artifact_pushed",
            DomainEvent::ArtifactPulled { .. } => "artifact_pulled",
            DomainEvent::ArtifactDeleted { .. } => "artifact_deleted",
            DomainEvent::TagCreated { .. } => "tag_created",
            DomainEvent::TagDeleted { .. } => "tag_deleted",
            DomainEvent::RepositoryDeleted { .. } => "repository_deleted",
            DomainEvent::ProjectCreated { .. } => "project_created",
            DomainEvent::ProjectMetadataSet { .. } => "project_metadata_set",
            DomainEvent::ProjectMetadataRemoved { .. } => "project_metadata_removed",
            DomainEvent::ProjectDeleted { .. } => "project_deleted",
            DomainEvent::MemberAdded { .. } => "member_added",
            DomainEvent::MemberUpdated { .. } => "member_updated",
            DomainEvent::MemberRemoved { .. } => "member_removed",
            DomainEvent::UserCreated { .. } => "user_created",
            DomainEvent::UserUpdated { .. } => "user_updated",
            DomainEvent::UserDeleted { .. } => "user_deleted",
            DomainEvent::UserSignedIn { .. } => "user_signed_in",
            DomainEvent::UserGroupChanged { .. } => "user_group_changed",
            DomainEvent::UserGroupsSet { .. } => "user_groups_set",
            DomainEvent::RobotCreated { .. } => "robot_created",
            DomainEvent::RobotUpdated { .. } => "robot_updated",
            DomainEvent::RobotDeleted { .. } => "robot_deleted",
            DomainEvent::RetentionPolicyChanged { .. } => "retention_policy_changed",
            DomainEvent::RetentionRunStarted { .. } => "retention_run_started",
            DomainEvent::LabelChanged { .. } => "label_changed",
            DomainEvent::RegistryEndpointChanged { .. } => "registry_endpoint_changed",
            DomainEvent::ScannerRegistrationChanged { .. } => "scanner_registration_changed",
            DomainEvent::ProjectScannerSet { .. } => "project_scanner_set",
            DomainEvent::CveAllowlistSet { .. } => "cve_allowlist_set",
            DomainEvent::ReplicationPolicyChanged { .. } => "replication_policy_changed",
            DomainEvent::ReplicationStarted { .. } => "replication_started",
            DomainEvent::ReplicationFinished { .. } => "replication_finished",
            DomainEvent::ArtifactLabelChanged { .. } => "artifact_label_changed",
            DomainEvent::ImmutableRuleChanged { .. } => "immutable_rule_changed",
            DomainEvent::QuotaChanged { .. } => "quota_changed",
            DomainEvent::QuotaRepaired { .. } => "quota_repaired",
            DomainEvent::QuotaExceeded { .. } => "quota_exceeded",
            DomainEvent::QuotaWarning { .. } => "quota_warning",
            DomainEvent::RepositoryUpdated { .. } => "repository_updated",
            DomainEvent::SettingsChanged { .. } => "settings_changed",
            DomainEvent::JobStarted { .. } => "job_started",
            DomainEvent::JobStopRequested { .. } => "job_stop_requested",
            DomainEvent::JobFinished { .. } => "job_finished",
            DomainEvent::ScheduleChanged { .. } => "schedule_changed",
            DomainEvent::SignatureKeyChanged { .. } => "signature_key_changed",
            DomainEvent::WebhookPolicyChanged { .. } => "webhook_policy_changed",
            DomainEvent::ScanFinished { .. } => "scan_finished",
            DomainEvent::RetentionRunFinished { .. } => "retention_run_finished",
        }
    }

    /// The repository the event is about: events of one repository are delivered in the
    /// order they were committed.
    pub fn repository(&self) -> Option<&str> {
        match self {
            DomainEvent::ArtifactPushed { repository, .. }
            | DomainEvent::ArtifactPulled { repository, .. }
            | DomainEvent::ArtifactDeleted { repository, .. }
            | DomainEvent::TagCreated { repository, .. }
            | DomainEvent::TagDeleted { repository, .. }
            | DomainEvent::RepositoryDeleted { repository }
            | DomainEvent::ArtifactLabelChanged { repository, .. }
            | DomainEvent::QuotaExceeded { repository, .. }
            | DomainEvent::QuotaWarning { repository, .. }
            | DomainEvent::ScanFinished { repository, .. }
            | DomainEvent::RepositoryUpdated { repository } => Some(repository),
            _ => None,
        }
    }

    /// The name of the project the event is about: the first segment of its repository,
    /// or the project a project-level event names.
    pub fn project(&self) -> Option<&str> {
        match self {
            DomainEvent::ProjectCreated { project, .. }
            | DomainEvent::ProjectMetadataSet { project, .. }
            | DomainEvent::ProjectMetadataRemoved { project, .. }
            | DomainEvent::ProjectDeleted { project, .. }
            | DomainEvent::MemberAdded { project, .. }
            | DomainEvent::MemberUpdated { project, .. }
            | DomainEvent::MemberRemoved { project, .. }
            | DomainEvent::RetentionPolicyChanged { project, .. }
            | DomainEvent::RetentionRunStarted { project, .. }
            | DomainEvent::QuotaChanged { project, .. }
            | DomainEvent::QuotaRepaired { project, .. }
            | DomainEvent::ProjectScannerSet { project, .. }
            | DomainEvent::WebhookPolicyChanged { project, .. }
            | DomainEvent::SignatureKeyChanged { project, .. } => Some(project),
            DomainEvent::CveAllowlistSet { project, .. } => project.as_deref(),
            _ => self
                .repository()
                .map(|r| r.split_once('/').map_or(r, |(p, _)| p)),
        }
    }

    /// The id of the project, for events that carry it (those written when the id was
    /// known, and those about a project that no longer exists by name).
    pub fn project_id(&self) -> Option<i64> {
        match self {
            DomainEvent::ProjectMetadataSet { project_id, .. }
            | DomainEvent::ProjectMetadataRemoved { project_id, .. }
            | DomainEvent::ProjectDeleted { project_id, .. }
            | DomainEvent::MemberAdded { project_id, .. }
            | DomainEvent::MemberUpdated { project_id, .. }
            | DomainEvent::MemberRemoved { project_id, .. }
            | DomainEvent::RetentionPolicyChanged { project_id, .. }
            | DomainEvent::RetentionRunStarted { project_id, .. }
            | DomainEvent::ImmutableRuleChanged { project_id, .. }
            | DomainEvent::QuotaChanged { project_id, .. }
            | DomainEvent::QuotaRepaired { project_id, .. }
            | DomainEvent::ProjectScannerSet { project_id, .. }
            | DomainEvent::WebhookPolicyChanged { project_id, .. }
            | DomainEvent::SignatureKeyChanged { project_id, .. }
            | DomainEvent::RetentionRunFinished { project_id, .. } => Some(*project_id),
            DomainEvent::LabelChanged { project_id, .. }
            | DomainEvent::CveAllowlistSet { project_id, .. } => *project_id,
            DomainEvent::RobotCreated { project_id, .. }
            | DomainEvent::RobotUpdated { project_id, .. }
            | DomainEvent::RobotDeleted { project_id, .. } => *project_id,
            _ => None,
        }
    }
}

/// The actor of events the server causes on its own (retention, garbage collection).
pub const SYSTEM: &str = "system";

/// An event to write, with who caused it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The principal's name (a username, a robot's full name, or `system` for work the
    /// server did on its own, such as retention).
    pub actor: String,
    /// When it happened (ms since the Unix epoch).
    pub occurred_ms: i64,
    /// What happened.
    pub event: DomainEvent,
}

impl NewEvent {
    /// `event` caused by `actor`, now.
    pub fn now(actor: &str, event: DomainEvent) -> Self {
        NewEvent {
            actor: actor.to_owned(),
            occurred_ms: crate::model::now_ms(),
            event,
        }
    }
}

/// An event read back from the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the outbox: unique, increasing in commit order. Subscribers may use
    /// it as an idempotency key.
    pub id: i64,
    /// Who caused it.
    pub actor: String,
    /// When it happened (ms since the Unix epoch).
    pub occurred_ms: i64,
    /// What happened.
    pub event: DomainEvent,
}

/// Where a subscriber seen for the first time starts reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// Every event still in the outbox (the audit log: nothing may be missed).
    Beginning,
    /// Only events written from now on (a webhook registered today does not want last
    /// week's pushes).
    Latest,
}

/// The outbox and the subscribers' cursors.
///
/// Events are appended by the store methods that take `events` (in the transaction of
/// the change) or by [`EventStore::append_events`]. Each subscriber has one cursor row:
/// the id of the last event it has handled, and a lease so that among several replicas
/// only one delivers to it at a time.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends events in a transaction of their own, for changes not written through a
    /// store method that takes events.
    async fn append_events(&self, events: &[NewEvent]) -> Result<()>;

    /// Up to `limit` events with an id above `after`, in id order.
    async fn events_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The id of the newest event (0 when the outbox is empty).
    async fn last_event_id(&self) -> Result<i64>;

    /// Takes (or renews) the lease on `subscriber`'s cursor, creating the cursor at
    /// `start` if it is new, and returns its position; `None` while another holder's
    /// lease is unexpired.
    async fn claim_cursor(
        &self,
        subscriber: &str,
        start: StartAt,
        lease: &Lease,
    ) -> Result<Option<i64>>;

    /// Moves `subscriber`'s cursor from `from` to `to` if the lease `token` still holds
    /// it there; false otherwise (the lease was lost and another holder may deliver).
    async fn advance_cursor(
        &self,
        subscriber: &str,
        token: &str,
        from: i64,
        to: i64,
    ) -> Result<bool>;

    /// [`EventStore::advance_cursor`] and the recording of `entries` in the audit log, in
    /// one transaction: each event reaches the audit log exactly once.
    async fn advance_cursor_with_audit(
        &self,
        subscriber: &str,
        token: &str,
        from: i64,
        to: i64,
        entries: &[NewAuditEntry],
    ) -> Result<bool>;

    /// Releases every cursor lease whose token is `<owner>.<random>` (those of a process
    /// that is gone, or of this one as it stops); returns how many.
    async fn release_cursors_of(&self, owner: &str) -> Result<u64>;

    /// Deletes events that happened before `before_ms` and that every cursor has passed
    /// (cursors not claimed since `before_ms` are abandoned and do not hold events back);
    /// returns how many.
    async fn prune_events(&self, before_ms: i64) -> Result<u64>;
}
