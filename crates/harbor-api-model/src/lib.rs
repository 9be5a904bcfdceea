//! The `/api/v2.0` REST API as types: Harbor's request and response models with its
//! field names, JSON types and optionality (`swagger/harbor-swagger.yaml`). The server
//! answers with them, the CLI's client reads and sends them, the portal reads them; one
//! definition, checked against Harbor's by `tests/swagger.rs`.
//!
//! Conventions: times are RFC 3339 strings (`2026-01-02T03:04:05.678Z`); fields Harbor
//! may leave out are `Option`s skipped when `None`; fields a client may leave out of a
//! response default when absent, so the types read Harbor's own answers too. Fields we
//! add beyond Harbor's are named in [`EXTENSIONS`].

#![warn(missing_docs)]

pub mod artifacts;
pub mod audit;
pub mod errors;
pub mod jobs;
pub mod labels;
pub mod ldap;
pub mod members;
pub mod projects;
pub mod replication;
pub mod repositories;
pub mod retention;
pub mod robots;
pub mod scanner_adapter;
pub mod scanners;
pub mod scans;
pub mod search;
pub mod security;
pub mod signatures;
pub mod system;
pub mod usergroups;
pub mod users;
pub mod webhooks;

pub use artifacts::{Accessory, AdditionLink, Artifact, Platform, Reference, Tag};
pub use audit::AuditLog;
pub use errors::{ErrorItem, Errors};
pub use jobs::{
    ExecHistory, ExecStarted, FsckParameters, GcParameters, GcProgress, JobQueue,
    PurgeAuditParameters, PurgeAuditProgress, ScheduleBody, ScheduleObj, ScheduleTask,
    SchedulerStatus, WorkerPool,
};
pub use labels::{ImmutableRule, ImmutableSelector, Label};
pub use ldap::{LdapConf, LdapFailedImportUser, LdapImportUsers, LdapPingResult, LdapUser};
pub use members::{ProjectMember, ProjectMemberEntity, RoleRequest, UserEntity};
pub use projects::{
    CveAllowlist, CveAllowlistItem, Project, ProjectDeletable, ProjectMetadata, ProjectReq,
    ProjectSummary, ProjectSummaryQuota, ResourceList,
};
pub use replication::{
    FilterStyle, Registry, RegistryCredential, RegistryEndpoint, RegistryInfo, RegistryPing,
    RegistryProviderCredentialPattern, RegistryProviderEndpointPattern, RegistryProviderInfo,
    RegistryUpdate, ReplicationExecution, ReplicationFilter, ReplicationPolicy, ReplicationTask,
    ReplicationTrigger, ReplicationTriggerSettings, StartReplicationExecution,
};
pub use repositories::{Quota, QuotaRef, Repository};
pub use retention::{
    RetentionExecution, RetentionExecutionTask, RetentionPolicy, RetentionPolicyScope,
    RetentionRule, RetentionRuleTrigger, RetentionSelector,
};
pub use robots::{
    Access, Permission, Permissions, Robot, RobotCreate, RobotCreated, RobotPermission, RobotSec,
};
pub use scanners::{
    IsDefault, NoScanner, ProjectScanner, ScannerRegistration, ScannerRegistrationReq,
    ScannerRegistrationSettings,
};
pub use scans::{NativeReportSummary, SbomOverview, ScanAllStats, ScanType, VulnerabilitySummary};
pub use search::{Search, SearchRepository, Statistic};
pub use security::{
    DangerousArtifact, DangerousCve, ScanDataExportExecution, ScanDataExportExecutionList,
    ScanDataExportJob, ScanDataExportRequest, SecuritySummary,
};
pub use signatures::{SignatureKey, SignatureKeyReq, SignatureStatus};
pub use system::{
    ComponentHealthStatus, ConfigItem, ConfigurationsResponse, GeneralInfo, OverallHealthStatus,
    QuotaRecount, VulnerabilityDbStatus,
};
pub use usergroups::{UserGroup, UserGroupSearchItem};
pub use users::{
    OIDCCliSecretReq, OIDCUserInfo, OidcPingReq, PasswordReq, UserCreationReq, UserProfile,
    UserResp, UserSearchRespItem, UserSysAdminFlag,
};
pub use webhooks::{
    Execution, Metrics, PayloadFormat, SupportedWebhookEventTypes, Task, WebhookLastTrigger,
    WebhookPolicy, WebhookTargetObject, WebhookTestResult,
};

/// Fields of our models that Harbor's definitions lack, per definition: what this server
/// tells beyond Harbor (documented in docs/api.md). Everything else must match Harbor.
pub const EXTENSIONS: &[(&str, &[&str])] = &[
    (
        "GCHistory",
        &[
            "start_time",
            "end_time",
            "attempts",
            "stop_requested",
            "progress",
            "error",
        ],
    ),
    (
        "ExecHistory",
        &[
            "start_time",
            "end_time",
            "attempts",
            "stop_requested",
            "progress",
            "error",
        ],
    ),
    ("Robot", &["creator"]),
    ("JobQueue", &["running"]),
    (
        "ScheduleTask",
        &[
            "name",
            "schedule_type",
            "next_scheduled_time",
            "paused",
            "extra_attrs",
        ],
    ),
    ("RetentionExecutionTask", &["deleted"]),
    (
        "GeneralInfo",
        &[
            "with_chartmuseum",
            "robot_name_prefix",
            "robot_token_duration",
        ],
    ),
    ("Label", &["deleted"]),
    // Signature status with `with_signature` (docs/signatures.md).
    ("Artifact", &["signature_status"]),
    // The pluggable scanner spec's field, passed on from the adapter (SBOM media types).
    ("ScannerCapability", &["additional_attributes"]),
];
