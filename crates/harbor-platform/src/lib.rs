//! Harbor-rs platform services: projects, members, robots and system jobs.
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
pub mod members;
pub mod projects;
pub mod robots;
pub mod settings;
pub mod system_jobs;

use std::sync::Arc;

pub use access::ProjectRef;
use harbor_auth::Accounts;
pub use harbor_auth::Principal;
use harbor_core::events::EventStore;
use harbor_core::jobs::JobStore;
pub use members::{Members, UserRef};
pub use projects::Projects;
pub use robots::Robots;
pub use settings::{Settings, SystemSettings};
pub use system_jobs::SystemJobs;

/// The platform services over one set of stores. Cheap to clone.
#[derive(Clone)]
pub struct Platform {
    /// Projects and their metadata.
    pub projects: Projects,
    /// Project members.
    pub members: Members,
    /// Robot accounts.
    pub robots: Robots,
    /// System jobs and their schedules.
    pub jobs: SystemJobs,
    /// Run-time settings.
    pub settings: SystemSettings,
}

impl Platform {
    /// The services over `accounts` (users, projects, robots, credential checks), the job
    /// queue `jobs` and the outbox `events`, under the run-time `settings`.
    pub fn new(
        accounts: Arc<Accounts>,
        jobs: Arc<dyn JobStore>,
        events: Arc<dyn EventStore>,
        settings: SystemSettings,
    ) -> Self {
        Platform {
            projects: Projects::new(accounts.clone(), settings.clone()),
            members: Members::new(accounts.clone()),
            robots: Robots::new(accounts, settings.clone()),
            jobs: SystemJobs::new(jobs, events),
            settings,
        }
    }
}
