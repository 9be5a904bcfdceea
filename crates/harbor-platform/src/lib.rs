//! Harbor-rs platform services: projects, members, users, robots and system jobs.
//!
//! Each service method takes the acting [`Principal`], decides with the one RBAC
//! evaluator ([`access`]), applies Harbor's rules and writes the change together with the
//! domain events it causes (`harbor_core::events`), in one transaction where the store
//! offers it. The REST API's handlers decode a request, call one method here and encode
//! the answer; the CLI's offline commands and embedding services call the same methods.
//!
//! ```no_run
//! # async fn demo(platform: harbor_platform::Platform, admin: harbor_auth::Principal)
//! # -> harbor_core::Result<()> {
//! use harbor_platform::projects::CreateProject;
//! let project = platform
//!     .projects
//!     .create(&admin, CreateProject { name: "team-a".into(), ..Default::default() })
//!     .await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod access;
pub mod audit;
pub mod configuration;
pub mod groups;
pub mod members;
pub mod projects;
pub mod proxy;
pub mod registries;
pub mod remote;
pub mod replication;
pub mod retention;
pub mod robots;
pub mod scanner;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod signatures;
pub mod system_jobs;
pub mod users;
pub mod webhook;

use std::sync::Arc;

pub use access::ProjectRef;
pub use audit::AuditLog;
pub use groups::{GroupRef, UserGroups};
use harbor_auth::Accounts;
pub use harbor_auth::Principal;
use harbor_core::Registry;
use harbor_core::events::EventStore;
use harbor_core::jobs::JobStore;
pub use members::{Members, UserRef};
pub use projects::Projects;
pub use proxy::ProxyCache;
pub use registries::Registries;
pub use replication::Replication;
pub use retention::Retention;
pub use robots::Robots;
pub use scanner::BuiltinScanner;
pub use scanner::registrations::Scanners;
pub use sessions::Sessions;
pub use settings::{Settings, SystemSettings};
pub use system_jobs::SystemJobs;
pub use users::Users;
pub use webhook::Webhooks;

/// The platform services over one set of stores. Cheap to clone.
#[derive(Clone)]
pub struct Platform {
    /// Signing in through LDAP or OIDC (set with [`Platform::with_sign_in`]).
    pub sign_in: Option<sign_in::SignIn>,
    /// Projects and their metadata.
    pub projects: Projects,
    /// Project members.
    pub members: Members,
    /// Robot accounts.
    pub robots: Robots,
    /// System jobs and their schedules.
    pub jobs: SystemJobs,
    /// User accounts.
    pub users: Users,
    /// User groups, and the memberships the sign-in modes record.
    pub groups: UserGroups,
    /// Tag retention policies and their runs.
    pub retention: Retention,
    /// Portal sessions.
    pub sessions: Sessions,
    /// The audit log, read.
    pub audit: AuditLog,
    /// Run-time settings.
    pub settings: SystemSettings,
    /// Registry endpoints (remote registries).
    pub registries: Registries,
    /// Replication policies and executions.
    pub replication: Replication,
    /// Pulls through proxy-cache projects.
    pub proxy: ProxyCache,
    /// The built-in vulnerability scanner and its adapter protocol.
    pub scanner: BuiltinScanner,
    /// Scanner registrations (the adapters this server calls) and project scanners.
    pub scanners: Scanners,
    /// Scans of artifacts by registered scanners.
    pub scans: scanner::scans::Scans,
    /// This server's own address, once it serves (set with
    /// [`serving_at`](Self::serving_at)).
    pub local: scanner::builtin::LocalRegistry,
    /// The security hub (vulnerabilities across artifacts).
    pub security_hub: scanner::security_hub::SecurityHub,
    /// CVE exports to CSV.
    pub cve_exports: scanner::cve_export::CveExports,
    /// The system and project CVE allowlists.
    pub allowlists: scanner::allowlists::CveAllowlists,
    /// "Prevent vulnerable images from running" on manifest pulls.
    pub pull_policy: scanner::pull_policy::PullPolicy,
    /// Webhook policies and their deliveries.
    pub webhooks: Webhooks,
    /// Signature policies on pulls and the keys projects trust.
    pub signatures: signatures::Signatures,
}

impl Platform {
    /// The services over `registry` (its metadata store holds the outbox), `accounts`
    /// (users, projects, robots, credential checks) and the job queue `jobs`, under the
    /// run-time `settings`.
    pub fn new(
        registry: Registry,
        accounts: Arc<Accounts>,
        jobs: Arc<dyn JobStore>,
        settings: SystemSettings,
    ) -> Self {
        let events: Arc<dyn EventStore> = registry.metadata().clone();
        let settings = settings.with_events(events.clone());
        let registries = Registries::new(registry.metadata().clone());
        let proxy = ProxyCache::new(registry.clone(), registries.clone());
        let retention = Retention::new(registry.clone(), accounts.clone(), jobs.clone());
        let allowlists = scanner::allowlists::CveAllowlists::new(registry.metadata().clone());
        let projects = Projects::new(accounts.clone(), settings.clone())
            .with_proxy_cache(registries.clone(), retention.clone())
            .with_allowlists(allowlists.clone());
        let replication = Replication::new(
            registry.clone(),
            jobs.clone(),
            registries.clone(),
            projects.clone(),
            accounts.clone(),
        );
        let local = scanner::builtin::LocalRegistry::default();
        let mut scanner = BuiltinScanner::new(registry.metadata().clone());
        scanner.adapter = scanner.adapter.with_local(local.clone());
        let scanners =
            Scanners::new(registry.metadata().clone(), accounts.clone()).with_local(local.clone());
        let pull_policy = scanner::pull_policy::PullPolicy::new(
            registry.metadata().clone(),
            scanners.clone(),
            allowlists.clone(),
        );
        let robots = Robots::new(accounts.clone(), settings.clone());
        let scans = scanner::scans::Scans::new(
            registry.clone(),
            accounts.clone(),
            jobs.clone(),
            robots.clone(),
            scanners.clone(),
        )
        .with_local(local.clone());
        let security_hub = scanner::security_hub::SecurityHub::new(registry.metadata().clone());
        let cve_exports = scanner::cve_export::CveExports::new(
            accounts.clone(),
            registry.metadata().clone(),
            jobs.clone(),
        );
        let webhooks = Webhooks::new(registry.metadata().clone(), accounts.clone());
        let signatures = signatures::Signatures::new(registry.clone(), projects.clone());
        Platform {
            sign_in: None,
            webhooks,
            signatures,
            local,
            scanner,
            scanners,
            scans,
            security_hub,
            cve_exports,
            allowlists,
            pull_policy,
            retention,
            proxy,
            sessions: Sessions::new(accounts.clone(), events.clone(), settings.clone()),
            audit: AuditLog::new(accounts.clone()),
            projects,
            members: Members::new(accounts.clone()),
            groups: UserGroups::new(accounts.clone()),
            robots,
            users: Users::new(accounts, settings.clone()),
            jobs: SystemJobs::new(jobs),
            settings,
            registries,
            replication,
        }
    }

    /// Seals and opens stored secrets (registry and scanner credentials) with `keys`;
    /// without them, registries and scanners can only be used anonymously.
    pub fn with_secret_keys(mut self, keys: Arc<harbor_auth::sealing::SealingKeys>) -> Self {
        self.registries = self.registries.with_keys(keys.clone());
        self.scanners = self.scanners.with_keys(keys.clone());
        self.replication = self.replication.with_registries(self.registries.clone());
        self.proxy = self.proxy.with_registries(self.registries.clone());
        self.scanner.adapter = self.scanner.adapter.with_keys(keys.clone());
        self.scans = self.scans.with_scanners(self.scanners.clone());
        self.webhooks = self.webhooks.with_keys(keys);
        self
    }

    /// Signs users in with `sign_in` (the one the accounts ask, see
    /// [`harbor_auth::Accounts::with_external`]).
    pub fn with_sign_in(mut self, sign_in: sign_in::SignIn) -> Self {
        self.sign_in = Some(sign_in);
        self
    }

    /// Talks to remote registries and scanner adapters with `probe`'s options (address
    /// policy, time-outs).
    pub fn with_remote(mut self, probe: remote::Probe) -> Self {
        self.scanners = self.scanners.with_probe(probe.clone());
        self.scanner.adapter = self.scanner.adapter.with_probe(probe.clone());
        self.scans = self
            .scans
            .with_probe(probe.clone())
            .with_scanners(self.scanners.clone());
        self.webhooks = self.webhooks.with_probe(probe.clone());
        self.registries = self.registries.with_probe(probe);
        self.replication = self.replication.with_registries(self.registries.clone());
        self.proxy = self.proxy.with_registries(self.registries.clone());
        self
    }

    /// Records where this server serves (its external URL, else its listen address) and
    /// registers the built-in scanner there when `register_builtin` (see
    /// [`Scanners::ensure_builtin`]).
    pub async fn serving_at(
        &self,
        address: scanner::builtin::LocalAddress,
        register_builtin: bool,
    ) -> harbor_core::Result<()> {
        self.local.set(address);
        if register_builtin {
            self.scanners.ensure_builtin().await?;
        }
        Ok(())
    }

    /// Calls `wake` whenever a job was queued (to wake this process's workers).
    pub fn with_waker(mut self, wake: system_jobs::Waker) -> Self {
        self.jobs = self.jobs.with_waker(wake.clone());
        self.retention = self.retention.with_waker(wake.clone());
        self.projects = self.projects.with_retention(self.retention.clone());
        self.scans = self.scans.with_waker(wake.clone());
        self.cve_exports = self.cve_exports.with_waker(wake.clone());
        self.replication = self.replication.with_waker(wake);
        self
    }
}
