//! The platform services as a library, without HTTP: create a project, a robot account
//! and a garbage-collection run through [`harbor_platform::Platform`] with the same rules,
//! permission checks and audit trail as the REST API, and receive the domain events those
//! changes wrote.
//!
//! Every service method takes the acting principal: here the bootstrap administrator.
//! The events reach subscribers at least once, in commit order (docs/architecture.md,
//! "Domain events"); the audit log is one such subscriber.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use harbor_auth::robot::Level;
use harbor_auth::{Accounts, Principal};
use harbor_core::events::{Dispatcher, DispatcherConfig, StoredEvent};
use harbor_core::gc::{GcParams, JOB_KIND as GC};
use harbor_core::identity::{RobotAccess, RobotPermission};
use harbor_core::jobs::kinds::register_all;
use harbor_core::jobs::{Job, JobRunner, RunnerConfig};
use harbor_core::ports::IdentityStore;
use harbor_core::{Registry, RegistryConfig};
use harbor_platform::projects::CreateProject;
use harbor_platform::robots::CreateRobot;
use harbor_platform::{Platform, SystemSettings};
use harbor_storage::sql::PoolConfig;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};
use tokio::sync::mpsc;

use crate::events::Forward;

/// What [`provision`] did.
#[derive(Debug)]
pub struct Provisioned {
    /// The robot's login name (`robot$team-a+ci`).
    pub robot_login: String,
    /// The garbage-collection run, once it ended.
    pub gc_run: Job,
    /// What starting a second run while the first was queued answered.
    pub second_start: harbor_core::Error,
    /// The events received, in order.
    pub events: Vec<StoredEvent>,
}

/// Opens the stores on SQLite and files under `dir`, then as the administrator creates
/// the project `team-a`, a robot `ci` allowed to push and pull there, and a GC run (run by
/// a job runner of this process), and returns what happened with the events received
/// (within `wait`).
pub async fn provision(
    dir: &Path,
    wait: Duration,
) -> Result<Provisioned, Box<dyn std::error::Error>> {
    let store = Arc::new(
        SqlMetadataStore::open_sqlite(&dir.join("registry.db"), &PoolConfig::default()).await?,
    );
    let blobs = Arc::new(ObjectBlobStore::filesystem(dir.join("blobs"), true)?);
    let registry = Registry::new(blobs, store.clone(), RegistryConfig::default());
    let accounts = Arc::new(Accounts::new(store.clone(), "robot$"));
    accounts.bootstrap(Some("Example-Passw0rd")).await?;
    let admin = store
        .user_by_name(harbor_auth::accounts::ADMIN)
        .await?
        .map(Principal::User)
        .ok_or("no admin after bootstrap")?;

    // A job runner in this process, so that the GC run actually runs.
    let mut runner = JobRunner::new(store.clone(), RunnerConfig::default());
    register_all(&mut runner, registry.clone(), store.clone());
    let runner = Arc::new(runner.start());
    let settings = SystemSettings::new(store.clone(), Duration::from_secs(5));
    let waker = runner.clone();
    let platform = Platform::new(registry.clone(), accounts, store.clone(), settings)
        .with_waker(Arc::new(move || waker.wake()));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let dispatcher = Dispatcher::new(
        store.clone(),
        registry.event_signal().clone(),
        DispatcherConfig::default(),
    );
    dispatcher.start(Arc::new(Forward("platform-example", tx)));

    let project = platform
        .projects
        .create(
            &admin,
            CreateProject {
                name: "team-a".into(),
                ..CreateProject::default()
            },
        )
        .await?;
    let robot = platform
        .robots
        .create(
            &admin,
            CreateRobot {
                name: "ci".into(),
                description: "pushes from CI".into(),
                level: Level::Project,
                duration: 30,
                disable: false,
                permissions: vec![RobotPermission {
                    kind: "project".into(),
                    namespace: project.name.clone(),
                    access: ["push", "pull"]
                        .iter()
                        .map(|a| RobotAccess {
                            resource: "repository".into(),
                            action: (*a).into(),
                            effect: "allow".into(),
                        })
                        .collect(),
                }],
                secret: None,
            },
        )
        .await?;
    let params = serde_json::to_string(&GcParams::default())?;
    let run = platform.jobs.start(&admin, GC, params.clone()).await?;
    // One active run per kind: a second start is refused while the first is queued or
    // running (or, had it finished already, starts a new run).
    let second_start = match platform.jobs.start(&admin, GC, params).await {
        Err(e) => e,
        Ok(j) => harbor_core::Error::Conflict(format!("started a second run {}", j.id)),
    };

    let deadline = tokio::time::Instant::now() + wait;
    let mut gc_run = platform.jobs.run(&admin, GC, run.id).await?;
    while !gc_run.status.is_final() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        gc_run = platform.jobs.run(&admin, GC, run.id).await?;
    }
    let mut events = Vec::new();
    // Project created, robot created, GC started, GC finished.
    while events.len() < 4 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) => events.push(e),
            _ => break,
        }
    }
    dispatcher.shutdown(Duration::from_secs(1)).await;
    runner.shutdown().await;
    Ok(Provisioned {
        robot_login: robot.login,
        gc_run,
        second_start,
        events,
    })
}
