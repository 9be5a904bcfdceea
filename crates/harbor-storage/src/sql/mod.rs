//! The metadata store on SQL through `sqlx`'s `Any` driver: one set of portable queries
//! (`$n` placeholders, `RETURNING`, `ON CONFLICT`) serves SQLite and PostgreSQL, with a
//! [`Dialect`] switch where they differ.
//!
//! - SQLite is the embedded default: WAL journal, one writer connection (writes are
//!   serialised in-process instead of failing with `SQLITE_BUSY`) and a pool of readers.
//! - PostgreSQL is for production and scale-out: one bounded pool shared by reads and
//!   writes; connections are checked before use, so a database restart costs only the
//!   requests in flight.

mod allowlists;
mod artifacts;
mod blobs;
mod copy;
mod endpoints;
mod events;
mod gc;
mod identity;
mod immutable;
mod jobs;
pub mod labels;
mod login_failures;
mod logs;
mod manifests;
mod quotas;
mod replication;
mod repositories;
mod retention;
mod scan;
mod scanners;
mod security;
mod signatures;
mod uploads;
mod webhooks;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::identity::Page;
use harbor_core::model::{
    Claim, Lease, NewManifest, Referrer, RepositoryQuery, RepositoryRecord, StoredManifest,
    UploadId, UploadSession,
};
use harbor_core::ports::MetadataStore;
use harbor_core::{Digest, Reference, RepositoryName, Result, Tag};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Executor, SqlSafeStr};

use crate::error::{StorageError, internal};

pub use copy::CopyReport;

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Most connections to the database (SQLite: readers; its one writer comes on top).
    pub max_connections: u32,
    /// How long a query waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// SQLite: flush the journal on every commit (`synchronous = FULL`), so an acknowledged
    /// write survives a power loss; otherwise (`NORMAL`) the last commits may be lost, but
    /// the database stays consistent. PostgreSQL follows its own server settings.
    pub durable: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
            durable: true,
        }
    }
}

/// The SQL engine behind a store, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (single writer).
    Sqlite,
    /// PostgreSQL (concurrent writers).
    Postgres,
}

/// The [`MetadataStore`] on SQL.
#[derive(Clone)]
pub struct SqlMetadataStore {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// Hard limit of new projects' storage quotas (`quotas.rs`), -1 = unlimited.
    default_storage_limit: i64,
}

/// The migrations of each engine, in order (version = position + 1). Add a migration by
/// appending one line to each list.
const SQLITE_MIGRATIONS: &[(&str, &str)] = &[
    (
        "registry",
        include_str!("../../migrations/sqlite/0001_registry.sql"),
    ),
    (
        "identity",
        include_str!("../../migrations/sqlite/0002_identity.sql"),
    ),
    (
        "repositories",
        include_str!("../../migrations/sqlite/0003_repositories.sql"),
    ),
    (
        "settings",
        include_str!("../../migrations/sqlite/0004_settings.sql"),
    ),
    (
        "artifacts",
        include_str!("../../migrations/sqlite/0005_artifacts.sql"),
    ),
    (
        "labels_immutability",
        include_str!("../../migrations/sqlite/0006_labels_immutability.sql"),
    ),
    (
        "quotas",
        include_str!("../../migrations/sqlite/0007_quotas.sql"),
    ),
    (
        "jobs",
        include_str!("../../migrations/sqlite/0008_jobs.sql"),
    ),
    ("gc", include_str!("../../migrations/sqlite/0009_gc.sql")),
    (
        "retention",
        include_str!("../../migrations/sqlite/0010_retention.sql"),
    ),
    (
        "login_failures",
        include_str!("../../migrations/sqlite/0011_login_failures.sql"),
    ),
    (
        "events",
        include_str!("../../migrations/sqlite/0012_events.sql"),
    ),
    (
        "project_metadata",
        include_str!("../../migrations/sqlite/0013_project_metadata.sql"),
    ),
    (
        "robot_creator",
        include_str!("../../migrations/sqlite/0014_robot_creator.sql"),
    ),
    (
        "registries",
        include_str!("../../migrations/sqlite/0015_registries.sql"),
    ),
    (
        "replication",
        include_str!("../../migrations/sqlite/0016_replication.sql"),
    ),
    (
        "proxy_cache",
        include_str!("../../migrations/sqlite/0017_proxy_cache.sql"),
    ),
    (
        "scanner",
        include_str!("../../migrations/sqlite/0018_scanner.sql"),
    ),
    (
        "scanner_registrations",
        include_str!("../../migrations/sqlite/0019_scanner_registrations.sql"),
    ),
    (
        "scan_reports",
        include_str!("../../migrations/sqlite/0020_scan_reports.sql"),
    ),
    (
        "cve_allowlists",
        include_str!("../../migrations/sqlite/0021_cve_allowlists.sql"),
    ),
    (
        "scan_findings",
        include_str!("../../migrations/sqlite/0022_scan_findings.sql"),
    ),
    (
        "scan_reports_started",
        include_str!("../../migrations/sqlite/0023_scan_reports_started.sql"),
    ),
    (
        "webhooks",
        include_str!("../../migrations/sqlite/0024_webhooks.sql"),
    ),
    (
        "signature_keys",
        include_str!("../../migrations/sqlite/0025_signature_keys.sql"),
    ),
    (
        "user_groups",
        include_str!("../../migrations/sqlite/0026_user_groups.sql"),
    ),
    (
        "oidc_users",
        include_str!("../../migrations/sqlite/0027_oidc_users.sql"),
    ),
    (
        "webhook_claim_index",
        include_str!("../../migrations/sqlite/0028_webhook_claim_index.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(&str, &str)] = &[
    (
        "registry",
        include_str!("../../migrations/postgres/0001_registry.sql"),
    ),
    (
        "identity",
        include_str!("../../migrations/postgres/0002_identity.sql"),
    ),
    (
        "repositories",
        include_str!("../../migrations/postgres/0003_repositories.sql"),
    ),
    (
        "settings",
        include_str!("../../migrations/postgres/0004_settings.sql"),
    ),
    (
        "artifacts",
        include_str!("../../migrations/postgres/0005_artifacts.sql"),
    ),
    (
        "labels_immutability",
        include_str!("../../migrations/postgres/0006_labels_immutability.sql"),
    ),
    (
        "quotas",
        include_str!("../../migrations/postgres/0007_quotas.sql"),
    ),
    (
        "jobs",
        include_str!("../../migrations/postgres/0008_jobs.sql"),
    ),
    ("gc", include_str!("../../migrations/postgres/0009_gc.sql")),
    (
        "retention",
        include_str!("../../migrations/postgres/0010_retention.sql"),
    ),
    (
        "login_failures",
        include_str!("../../migrations/postgres/0011_login_failures.sql"),
    ),
    (
        "events",
        include_str!("../../migrations/postgres/0012_events.sql"),
    ),
    (
        "project_metadata",
        include_str!("../../migrations/postgres/0013_project_metadata.sql"),
    ),
    (
        "robot_creator",
        include_str!("../../migrations/postgres/0014_robot_creator.sql"),
    ),
    (
        "registries",
        include_str!("../../migrations/postgres/0015_registries.sql"),
    ),
    (
        "replication",
        include_str!("../../migrations/postgres/0016_replication.sql"),
    ),
    (
        "proxy_cache",
        include_str!("../../migrations/postgres/0017_proxy_cache.sql"),
    ),
    (
        "scanner",
        include_str!("../../migrations/postgres/0018_scanner.sql"),
    ),
    (
        "scanner_registrations",
        include_str!("../../migrations/postgres/0019_scanner_registrations.sql"),
    ),
    (
        "scan_reports",
        include_str!("../../migrations/postgres/0020_scan_reports.sql"),
    ),
    (
        "cve_allowlists",
        include_str!("../../migrations/postgres/0021_cve_allowlists.sql"),
    ),
    (
        "scan_findings",
        include_str!("../../migrations/postgres/0022_scan_findings.sql"),
    ),
    (
        "scan_reports_started",
        include_str!("../../migrations/postgres/0023_scan_reports_started.sql"),
    ),
    (
        "webhooks",
        include_str!("../../migrations/postgres/0024_webhooks.sql"),
    ),
    (
        "signature_keys",
        include_str!("../../migrations/postgres/0025_signature_keys.sql"),
    ),
    (
        "user_groups",
        include_str!("../../migrations/postgres/0026_user_groups.sql"),
    ),
    (
        "oidc_users",
        include_str!("../../migrations/postgres/0027_oidc_users.sql"),
    ),
    (
        "webhook_claim_index",
        include_str!("../../migrations/postgres/0028_webhook_claim_index.sql"),
    ),
];

fn migrator(dialect: Dialect) -> Migrator {
    let scripts = match dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS,
        Dialect::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator::with_migrations(
        scripts
            .iter()
            .zip(1..)
            .map(|(&(name, sql), version)| {
                Migration::new(
                    version,
                    name.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Runs only the first `version` migrations on the database at `url` (tests of later
/// migrations start from an older schema this way).
#[cfg(feature = "test-util")]
pub(crate) async fn migrate_to(url: &str, version: usize) -> Result<(), StorageError> {
    sqlx::any::install_default_drivers();
    let (dialect, url) = match url.strip_prefix("sqlite://") {
        Some(path) => (Dialect::Sqlite, format!("sqlite://{path}?mode=rwc")),
        None => (Dialect::Postgres, url.to_owned()),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let mut m = migrator(dialect);
    m.migrations = m.migrations.iter().take(version).cloned().collect();
    m.run(&pool).await?;
    pool.close().await;
    Ok(())
}

/// Creates an empty database file readable by its owner only, unless it exists: SQLite
/// gives its `-wal` and `-shm` files the database file's permissions.
fn private_file(path: &Path) -> std::io::Result<()> {
    match crate::private_fs::create(path, b"") {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Whether a SQLite connection handed back to its pool may serve again: it must not be
/// inside a transaction. A `COMMIT` that fails (the disk is full, say) can leave sqlx
/// believing a transaction is open that SQLite already rolled back, or leave one open:
/// the first wedges every later `BEGIN` ("begin_with at non-zero transaction depth"),
/// the second would run later single statements inside a transaction that is never
/// committed, acknowledging writes that are lost. Such a connection is closed instead,
/// and the pool opens a fresh one. The ping first runs whatever rollback a dropped
/// transaction queued, so that the check sees the settled state.
async fn still_clean(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("closing a database connection left inside a transaction");
        return Ok(false);
    }
    Ok(true)
}

impl SqlMetadataStore {
    /// Opens the database at `url` (`sqlite://<path>` or `postgres://...`) and runs
    /// pending migrations.
    pub async fn connect(url: &str, pool: &PoolConfig) -> Result<Self, StorageError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            return Self::open_sqlite(Path::new(path), pool).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::open_postgres(url, pool).await;
        }
        Err(StorageError::Config(format!(
            "unsupported database URL {:?}: use sqlite://<path> or postgres://<user>@<host>/<db>",
            redact_url(url)
        )))
    }

    /// Like [`SqlMetadataStore::connect`], for maintenance commands on a registry that
    /// must exist already: fails with [`StorageError::NoDatabase`] instead of creating an
    /// empty one when the SQLite file is missing or the PostgreSQL database holds no
    /// registry schema (then applies pending migrations, as `connect` does).
    pub async fn connect_existing(url: &str, pool: &PoolConfig) -> Result<Self, StorageError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if !Path::new(path).is_file() {
                return Err(StorageError::NoDatabase(format!(
                    "no registry database at {path} (a server keeps it in \
                     <data_dir>/registry.db)"
                )));
            }
            return Self::open_sqlite(Path::new(path), pool).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = Self::postgres_pool(url, pool).await?;
            let found = sqlx::query(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            )
            .fetch_one(&pg)
            .await
            .and_then(|row| sqlx::Row::try_get::<i64, _>(&row, 0));
            let found = match found {
                Ok(n) => n > 0,
                Err(e) => {
                    pg.close().await;
                    return Err(e.into());
                }
            };
            if !found {
                pg.close().await;
                return Err(StorageError::NoDatabase(format!(
                    "{} holds no registry database (create one with `harbor admin migrate`, \
                     or start a server on it)",
                    redact_url(url)
                )));
            }
            return Self::migrated_postgres(pg).await;
        }
        Self::connect(url, pool).await
    }

    /// Connects to PostgreSQL and runs pending migrations (serialised across replicas by
    /// an advisory lock).
    pub async fn open_postgres(url: &str, pool: &PoolConfig) -> Result<Self, StorageError> {
        let pg = Self::postgres_pool(url, pool).await?;
        Self::migrated_postgres(pg).await
    }

    async fn postgres_pool(url: &str, pool: &PoolConfig) -> Result<AnyPool, StorageError> {
        sqlx::any::install_default_drivers();
        Ok(AnyPoolOptions::new()
            .max_connections(pool.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(pool.acquire_timeout)
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect(url)
            .await?)
    }

    async fn migrated_postgres(pg: AnyPool) -> Result<Self, StorageError> {
        migrator(Dialect::Postgres).run(&pg).await?;
        Ok(SqlMetadataStore {
            read: pg.clone(),
            write: pg,
            dialect: Dialect::Postgres,
            default_storage_limit: harbor_core::quota::UNLIMITED,
        })
    }

    /// Opens (creating if needed) a SQLite database file and runs pending migrations.
    pub async fn open_sqlite(path: &Path, pool: &PoolConfig) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let path = path
            .to_str()
            .ok_or_else(|| StorageError::Config("database path is not UTF-8".into()))?;
        if path.contains(['?', '#']) {
            return Err(StorageError::Config(
                "database path must not contain '?' or '#'".into(),
            ));
        }
        private_file(Path::new(path))?;
        let url = format!("sqlite://{path}?mode=rwc");
        let pragmas = if pool.durable {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;"
        } else {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;"
        };
        let options = || {
            AnyPoolOptions::new()
                .acquire_timeout(pool.acquire_timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute(pragmas).await?;
                        Ok(())
                    })
                })
                .after_release(|conn, _| Box::pin(still_clean(conn)))
        };
        let write = options().max_connections(1).connect(&url).await?;
        migrator(Dialect::Sqlite).run(&write).await?;
        let read = options()
            .max_connections(pool.max_connections.max(1))
            .connect(&url)
            .await?;
        Ok(SqlMetadataStore {
            read,
            write,
            dialect: Dialect::Sqlite,
            default_storage_limit: harbor_core::quota::UNLIMITED,
        })
    }

    /// The engine behind this store.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `(pool, open connections, idle connections)` of each connection pool.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, u32)> {
        let stat = |name, p: &AnyPool| (name, p.size(), p.num_idle() as u32);
        match self.dialect {
            Dialect::Sqlite => vec![
                stat("sqlite_read", &self.read),
                stat("sqlite_write", &self.write),
            ],
            Dialect::Postgres => vec![stat("postgres", &self.write)],
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a transaction that reads first and upgrades later would fail at
    /// once with `SQLITE_BUSY` when another process holds the lock, instead of waiting.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.write.begin().await,
        }
        .map_err(internal)
    }

    /// The schema version: how many migrations have been applied (`connect` applies all
    /// it knows, so this is the newest version this build knows unless the database was
    /// migrated by a newer one).
    pub async fn schema_version(&self) -> Result<i64, StorageError> {
        let row = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.read)
            .await?;
        Ok(sqlx::Row::try_get::<i64, _>(&row, 0)?)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// A database URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| harbor_core::Error::SizeInvalid(format!("{v} is too large")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| internal(StorageError::Inconsistent(format!("negative size {v}"))))
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `$first, $first+1, ...` for `count` placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl MetadataStore for SqlMetadataStore {
    async fn linked_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<(u64, i64)>> {
        blobs::linked_blob(self, repo, digest).await
    }

    async fn blob_version(&self, digest: &Digest) -> Result<harbor_core::model::BlobVersion> {
        blobs::blob_version(self, digest).await
    }

    async fn touch_blob(&self, digest: &Digest, now_ms: i64, older_than_ms: i64) -> Result<()> {
        blobs::touch_blob(self, digest, now_ms, older_than_ms).await
    }

    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        blobs::blob_size(self, digest).await
    }

    async fn link_blob(&self, repo: &RepositoryName, digest: &Digest, size: u64) -> Result<()> {
        blobs::link_blob(self, repo, digest, size).await
    }

    async fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool> {
        blobs::unlink_blob(self, repo, digest).await
    }

    async fn create_upload(&self, session: &UploadSession) -> Result<()> {
        uploads::create(self, session).await
    }

    async fn upload(&self, repo: &RepositoryName, id: &UploadId) -> Result<Option<UploadSession>> {
        uploads::get(self, repo, id).await
    }

    async fn claim_upload(
        &self,
        repo: &RepositoryName,
        id: &UploadId,
        lease: &Lease,
        expected_offset: Option<u64>,
    ) -> Result<Claim> {
        uploads::claim(self, repo, id, lease, expected_offset).await
    }

    async fn renew_upload(&self, id: &UploadId, lease: &Lease) -> Result<bool> {
        uploads::renew(self, id, lease).await
    }

    async fn save_upload(
        &self,
        id: &UploadId,
        token: &str,
        offset: u64,
        hash_state: &[u8],
        store_state: &str,
    ) -> Result<bool> {
        uploads::save(self, id, token, offset, hash_state, store_state).await
    }

    async fn release_upload(&self, id: &UploadId, token: &str) -> Result<()> {
        uploads::release(self, id, token).await
    }

    async fn release_uploads_of(&self, owner: &str) -> Result<u64> {
        uploads::release_owner(self, owner).await
    }

    async fn delete_upload(&self, id: &UploadId) -> Result<bool> {
        uploads::delete(self, id).await
    }

    async fn finish_upload(
        &self,
        id: Option<&UploadId>,
        repo: &RepositoryName,
        digest: &Digest,
        size: u64,
        seen_version: i64,
    ) -> Result<()> {
        blobs::finish_upload(self, id, repo, digest, size, seen_version).await
    }

    async fn put_manifest_emitting(
        &self,
        repo: &RepositoryName,
        manifest: &NewManifest,
        tags: &[Tag],
        events: &[NewEvent],
    ) -> Result<()> {
        manifests::put(self, repo, manifest, tags, events).await
    }

    async fn manifest(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<StoredManifest>> {
        manifests::get(self, repo, reference).await
    }

    async fn delete_manifest_emitting(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        events: &[NewEvent],
    ) -> Result<bool> {
        manifests::delete(self, repo, digest, events).await
    }

    async fn delete_tag_emitting(
        &self,
        repo: &RepositoryName,
        tag: &Tag,
        events: &[NewEvent],
    ) -> Result<bool> {
        manifests::delete_tag(self, repo, tag, events).await
    }

    async fn tags(
        &self,
        repo: &RepositoryName,
        last: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>> {
        manifests::tags(self, repo, last, limit).await
    }

    async fn referrers(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Referrer>> {
        manifests::referrers(self, repo, subject, artifact_type).await
    }

    async fn repositories(&self, last: Option<&str>, limit: usize) -> Result<Vec<String>> {
        manifests::repositories(self, last, limit).await
    }

    async fn repository_records(
        &self,
        query: &RepositoryQuery,
        page: Page,
    ) -> Result<(Vec<RepositoryRecord>, u64)> {
        repositories::list(self, query, page).await
    }

    async fn repository_record(&self, repo: &RepositoryName) -> Result<Option<RepositoryRecord>> {
        repositories::get(self, repo).await
    }

    async fn repository_created_ms(&self, repo: &RepositoryName) -> Result<Option<i64>> {
        repositories::created(self, repo).await
    }

    async fn set_repository_description_emitting(
        &self,
        repo: &RepositoryName,
        description: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        repositories::set_description(self, repo, description, events).await
    }

    async fn delete_repository_emitting(
        &self,
        repo: &RepositoryName,
        events: &[NewEvent],
    ) -> Result<bool> {
        repositories::delete(self, repo, events).await
    }

    async fn add_pulls(&self, pulls: &[(RepositoryName, u64)]) -> Result<()> {
        repositories::add_pulls(self, pulls).await
    }

    async fn artifacts(
        &self,
        repo: &RepositoryName,
        query: &harbor_core::artifact::ArtifactQuery,
        page: Page,
    ) -> Result<(Vec<harbor_core::artifact::ArtifactRecord>, u64)> {
        artifacts::list(self, repo, query, page).await
    }

    async fn artifact(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<harbor_core::artifact::ArtifactRecord>> {
        artifacts::get(self, repo, reference).await
    }

    async fn artifact_tags(&self, ids: &[i64]) -> Result<Vec<harbor_core::artifact::TagRecord>> {
        artifacts::tags_of(self, ids).await
    }

    async fn artifact_tag_page(
        &self,
        artifact_id: i64,
        name: Option<&harbor_core::identity::Match>,
        page: Page,
    ) -> Result<(Vec<harbor_core::artifact::TagRecord>, u64)> {
        artifacts::tag_page(self, artifact_id, name, page).await
    }

    async fn accessories(
        &self,
        repository_id: i64,
        subjects: &[(i64, Digest)],
    ) -> Result<Vec<harbor_core::artifact::AccessoryRecord>> {
        artifacts::accessories(self, repository_id, subjects).await
    }

    async fn manifest_parents(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Vec<Digest>> {
        artifacts::parents(self, repo, digest).await
    }

    async fn manifest_ids(
        &self,
        repository_id: i64,
        digests: &[Digest],
    ) -> Result<Vec<(Digest, i64)>> {
        artifacts::manifest_ids(self, repository_id, digests).await
    }

    async fn create_tag_emitting(
        &self,
        repo: &RepositoryName,
        artifact_id: i64,
        tag: &Tag,
        events: &[NewEvent],
    ) -> Result<()> {
        artifacts::create_tag(self, repo, artifact_id, tag, events).await
    }

    async fn record_pulls_emitting(
        &self,
        pulls: &[harbor_core::artifact::RepositoryPulls],
        events: &[NewEvent],
    ) -> Result<()> {
        artifacts::record_pulls(self, pulls, events).await
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://harbor:s3cret@db:5432/harbor?sslmode=require"),
            "postgres://harbor:***@db:5432/harbor?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://harbor@db/harbor"),
            "postgres://harbor@db/harbor"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/harbor/registry.db"),
            "sqlite:///var/lib/harbor/registry.db"
        );
        assert_eq!(redact_url("nonsense"), "nonsense");
    }
}
