//! Background jobs in the server: the queue every replica shares, this process's
//! runner (unless `--no-jobs`), the built-in schedules and the history cleanup.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use harbor_core::Registry;
use harbor_core::gc::UPLOAD_CLEANUP_JOB_KIND;
use harbor_core::jobs::kinds::{UploadCleanupParams, register_all};
use harbor_core::jobs::{Cron, JobRunner, JobStore, NewSchedule, RunnerConfig, RunnerHandle};
use harbor_core::model::now_ms;
use harbor_core::ports::IdentityStore;

use crate::config::JobsConfig;

/// Name of the built-in upload cleanup schedule.
pub const UPLOAD_CLEANUP_SCHEDULE: &str = "upload_cleanup";
/// How often finished jobs past their history are deleted.
const HISTORY_SWEEP: Duration = Duration::from_secs(3600);

/// The job queue and, when this process runs workers, its runner. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    store: Arc<dyn JobStore>,
    runner: Arc<Mutex<Option<RunnerHandle>>>,
    /// This process's worker pool once started: workers and start time (ms).
    pool: Arc<std::sync::OnceLock<(usize, i64)>>,
    /// Set at shutdown: background loops (registry health) end.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Jobs {
    /// The queue in `store`, with no runner yet.
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        Jobs {
            store,
            runner: Arc::new(Mutex::new(None)),
            pool: Arc::default(),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// The queue.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    /// Whether this process runs workers.
    pub fn running(&self) -> bool {
        self.runner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// This process's worker pool, if it runs one: `(workers, started at ms)`.
    pub fn pool(&self) -> Option<(usize, i64)> {
        self.pool.get().copied().filter(|_| self.running())
    }

    /// Makes idle workers look for work now.
    pub fn wake(&self) {
        if let Some(r) = self
            .runner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            r.wake();
        }
    }

    /// Starts this process's workers and scheduler with every registry job kind and
    /// replication (`platform`'s), and makes sure the built-in schedules exist.
    pub async fn start(
        &self,
        registry: Registry,
        identity: Arc<dyn IdentityStore>,
        platform: &harbor_platform::Platform,
        config: &JobsConfig,
    ) -> harbor_core::Result<()> {
        self.ensure_schedules(config).await?;
        let _ = self
            .pool
            .set((config.workers, harbor_core::model::now_ms()));
        let mut runner = JobRunner::new(
            self.store.clone(),
            RunnerConfig {
                workers: config.workers,
                poll_interval: Duration::from_millis(config.poll_interval_ms),
                lease: Duration::from_secs(config.lease_secs),
                heartbeat_interval: Duration::from_secs((config.lease_secs / 4).max(1)),
                schedule_interval: Duration::from_secs(5),
                scheduled_max_attempts: harbor_platform::system_jobs::MAX_ATTEMPTS,
                ..RunnerConfig::default()
            },
        );
        register_all(&mut runner, registry, identity);
        // Executions of different policies run side by side; one policy never has two.
        runner.register(
            harbor_core::replication::JOB_KIND,
            platform.replication.job_handler(),
            false,
        );
        // Scans of artifacts by registered scanners, many at a time.
        runner.register(
            harbor_platform::scanner::scans::JOB_KIND,
            platform.scans.job_handler(),
            false,
        );
        // Scan all queues scans; one run at a time.
        runner.register(
            harbor_platform::scanner::scan_all::JOB_KIND,
            platform.scans.scan_all_handler(),
            true,
        );
        // CVE exports, one at a time (Harbor's MaxCurrency 1).
        runner.register(
            harbor_platform::scanner::cve_export::JOB_KIND,
            platform.cve_exports.job_handler(),
            true,
        );
        let handle = runner.start();
        *self.runner.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        let (store, days) = (self.store.clone(), config.history_days);
        let exports = platform.cve_exports.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HISTORY_SWEEP);
            loop {
                tick.tick().await;
                if let Err(e) = exports.purge_expired().await {
                    tracing::warn!(error = %e, "could not delete expired CVE exports");
                }
                let before = now_ms().saturating_sub(
                    i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX),
                );
                if let Err(e) = store.delete_jobs_before(None, before).await {
                    tracing::warn!(error = %e, "could not delete old job history");
                }
            }
        });
        Ok(())
    }

    /// The hourly upload cleanup, created once and updated when its settings change.
    async fn ensure_schedules(&self, config: &JobsConfig) -> harbor_core::Result<()> {
        let params = serde_json::to_string(&UploadCleanupParams {
            max_age_hours: config.upload_max_age_hours,
        })
        .map_err(harbor_core::Error::internal)?;
        let existing = self.store.schedule(UPLOAD_CLEANUP_SCHEDULE).await?;
        if existing.as_ref().is_some_and(|s| s.params == params) {
            return Ok(());
        }
        let cron = Cron::for_type("Hourly")
            .ok_or_else(|| harbor_core::Error::internal("no hourly cron"))?;
        self.store
            .put_schedule(&NewSchedule {
                name: UPLOAD_CLEANUP_SCHEDULE.into(),
                kind: UPLOAD_CLEANUP_JOB_KIND.into(),
                cron: cron.to_string(),
                schedule_type: "Hourly".into(),
                params,
                next_run_ms: existing
                    .and_then(|s| s.next_run_ms)
                    .or_else(|| cron.next_after(now_ms())),
                paused: false,
            })
            .await?;
        Ok(())
    }

    /// Checks every registry's health every `interval` (the first check at once), until
    /// [`Jobs::shutdown`].
    pub fn check_registries(&self, registries: harbor_platform::Registries, interval: Duration) {
        let mut closing = self.closing.subscribe();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = closing.changed() => return,
                }
                match registries.check_all().await {
                    Ok((healthy, checked)) if checked > 0 => {
                        tracing::debug!(healthy, checked, "registry health checked");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "checking registry health failed"),
                }
            }
        });
    }

    /// Stops the workers (jobs they were running go back to the queue for another
    /// replica) and the scheduler.
    pub async fn shutdown(&self) {
        self.closing.send_replace(true);
        let handle = self
            .runner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle {
            h.shutdown().await;
        }
    }
}
