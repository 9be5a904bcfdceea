//! Server configuration: defaults, then a TOML file, then `HARBOR_*` environment
//! variables, then command-line flags (each overriding the one before).
//! `docs/configuration.md` lists every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use harbor_storage::blob::Secret;
use harbor_storage::blob::{AzureOptions, GcsOptions, S3Options};
use serde::{Deserialize, Serialize};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: Box<toml::de::Error>,
    },
    /// An environment variable or value is invalid.
    #[error("invalid value for {key}: {message}")]
    Invalid {
        /// The variable or key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`HARBOR_LISTEN`).
    pub listen: SocketAddr,
    /// Directory for the database and blobs (`HARBOR_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Built-in HTTPS.
    pub tls: TlsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Blob storage.
    pub storage: StorageConfig,
    /// Metadata database.
    pub database: DatabaseConfig,
    /// Limits and timeouts.
    pub limits: LimitsConfig,
    /// Authentication and access.
    pub auth: AuthConfig,
    /// Storage quotas.
    pub quota: QuotaConfig,
    /// Background jobs (garbage collection, retention, purges).
    pub jobs: JobsConfig,
    /// Delivery of domain events to subscribers (the audit log).
    pub events: EventsConfig,
    /// Outbound connections to remote registries (replication, proxy cache).
    pub remote: RemoteConfig,
    /// The built-in vulnerability scanner (docs/scanning.md).
    pub scanner: ScannerConfig,
    /// Sending webhook deliveries (docs/webhooks.md).
    pub webhook: WebhookConfig,
}

/// Sending webhook deliveries (docs/webhooks.md). Receivers' addresses obey the outbound
/// address policy of `[remote]` (`allow_loopback`, `allow_private`, `allowed_hosts`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Send deliveries from this process (`HARBOR_WEBHOOK_SEND`, default true). Every
    /// replica that sends claims deliveries under a lease, so each is sent by one.
    pub send: bool,
    /// Each attempt's time limit in ms (`HARBOR_WEBHOOK_TIMEOUT_MS`, default 3000, Harbor's).
    pub timeout_ms: u64,
    /// Attempts before a delivery fails for good (`HARBOR_WEBHOOK_MAX_ATTEMPTS`, default 8).
    pub max_attempts: u32,
    /// Wait after the first failed attempt in ms, doubling after each further one up to
    /// ten minutes (`HARBOR_WEBHOOK_BACKOFF_MS`, default 1000).
    pub backoff_ms: u64,
    /// Failed attempts in a row that pause a policy's deliveries (its circuit breaker;
    /// default 10; 0 never pauses).
    pub breaker_failures: u32,
    /// How long a paused policy waits before one delivery is tried again, in ms (default
    /// 30000; doubling while it keeps failing).
    pub breaker_pause_ms: u64,
    /// Receivers sent to at once (default 32).
    pub concurrency: usize,
    /// Finished deliveries are kept this many hours (default 720, 30 days).
    pub retention_hours: u64,
}

impl WebhookConfig {
    /// The sender's rules.
    pub fn rules(&self) -> harbor_platform::webhook::sender::SendRules {
        use harbor_platform::webhook::sender::SendRules;
        let d = SendRules::default();
        SendRules {
            retry: harbor_core::webhook::RetryRules {
                max_attempts: self.max_attempts.max(1),
                backoff_ms: i64::try_from(self.backoff_ms).unwrap_or(i64::MAX),
                breaker_failures: self.breaker_failures,
                breaker_open_ms: i64::try_from(self.breaker_pause_ms).unwrap_or(i64::MAX),
                ..d.retry
            },
            timeout: Duration::from_millis(self.timeout_ms),
            concurrency: self.concurrency.max(1),
            retention: Duration::from_secs(self.retention_hours.saturating_mul(3600)),
            ..d
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            send: true,
            timeout_ms: 3000,
            max_attempts: 8,
            backoff_ms: 1000,
            breaker_failures: 10,
            breaker_pause_ms: 30_000,
            concurrency: 32,
            retention_hours: 720,
        }
    }
}

/// The built-in vulnerability scanner. The server never downloads vulnerability data: the
/// operator imports it (`harbor scanner db import`) or names it here.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// Register the built-in scanner under `/scanners` at this server's own address when
    /// it starts (the default scanner unless another is), so scans, scan on push and
    /// the vulnerability policy work with no set-up (`HARBOR_SCANNER_BUILTIN`, default
    /// true). It authenticates with a key derived from `auth.secret_key`.
    pub builtin: bool,
    /// OSV data (an `all.zip` or a directory of records) imported at start-up when it
    /// changed since the last import (`HARBOR_SCANNER_DB`).
    pub db: Option<PathBuf>,
    /// A key that authenticates clients of the scanner adapter API (`/api/v1`) other than
    /// system administrators, such as a Harbor that registered this scanner
    /// (`HARBOR_SCANNER_ADAPTER_API_KEY`; sent as `Authorization: Bearer <key>` or
    /// `X-ScannerAdapter-API-Key`). Unset: administrators only.
    pub adapter_api_key: Option<Secret>,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            builtin: true,
            db: None,
            adapter_api_key: None,
        }
    }
}

/// Outbound connections to remote registries (docs/replication.md, "Which addresses
/// may be reached"). By default only public addresses: a registry on loopback, a private
/// network or a link-local address (cloud metadata) is refused unless allowed here.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteConfig {
    /// Allow registries on loopback addresses (`HARBOR_REMOTE_ALLOW_LOOPBACK`, default
    /// false).
    pub allow_loopback: bool,
    /// Allow registries on private networks: RFC 1918, unique-local IPv6, CGNAT
    /// (`HARBOR_REMOTE_ALLOW_PRIVATE`, default false).
    pub allow_private: bool,
    /// Host names, IP addresses or CIDR blocks always allowed, whatever they resolve to
    /// (`HARBOR_REMOTE_ALLOWED_HOSTS`, comma-separated).
    pub allowed_hosts: Vec<String>,
    /// Time to connect, in seconds (default 10).
    pub connect_timeout_secs: u64,
    /// Time for a request that does not stream a blob, in seconds (default 60).
    pub request_timeout_secs: u64,
    /// How often every registry's health is checked, in seconds (default 300, Harbor's
    /// five minutes; 0 turns it off). Replicas running jobs check.
    pub health_check_secs: u64,
}

impl RemoteConfig {
    /// The client options of outbound connections to registries.
    pub fn probe(&self) -> harbor_platform::remote::Probe {
        harbor_platform::remote::Probe::new(harbor_platform::remote::ClientOptions {
            connect_timeout: Duration::from_secs(self.connect_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            address_policy: harbor_platform::remote::AddressPolicy {
                allow_loopback: self.allow_loopback,
                allow_private: self.allow_private,
                allowed_hosts: self.allowed_hosts.clone(),
            },
            ..Default::default()
        })
    }
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            allow_loopback: false,
            allow_private: false,
            allowed_hosts: Vec::new(),
            connect_timeout_secs: 10,
            request_timeout_secs: 60,
            health_check_secs: 300,
        }
    }
}

/// Built-in HTTPS (docs/deployment.md, "TLS"). Both files or neither.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's own certificate first (`HARBOR_TLS_CERT`).
    /// When set with `key`, `listen` serves HTTPS (HTTP/2 and HTTP/1.1 by ALPN); both
    /// files are read again on SIGHUP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM private key of that certificate, PKCS#8, PKCS#1 or SEC1 (`HARBOR_TLS_KEY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl TlsConfig {
    /// The certificate and key files, when TLS is on.
    pub fn files(&self) -> Option<(&Path, &Path)> {
        Some((self.cert.as_deref()?, self.key.as_deref()?))
    }
}

/// Domain event delivery (docs/architecture.md, "Domain events").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Deliver events to subscribers from this process (`HARBOR_EVENTS_DELIVER`, default
    /// true). Events are recorded either way; with several replicas, one delivering at a
    /// time is chosen by a lease, so turning it off only keeps a replica out of the
    /// choice.
    pub deliver: bool,
    /// How often the outbox is read for other replicas' events, in ms (default 1000;
    /// this process's own events are delivered at once).
    pub poll_interval_ms: u64,
    /// Delivered events stay in the outbox this long (`HARBOR_EVENTS_RETENTION_HOURS`,
    /// default 24).
    pub retention_hours: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            deliver: true,
            poll_interval_ms: 1000,
            retention_hours: 24,
        }
    }
}

/// Background job settings (see docs/gc.md).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Run job workers and schedules in this process (`HARBOR_JOBS_ENABLED`, default
    /// true; `--no-jobs` turns it off for an API-only replica). Jobs can be started from
    /// any replica; they run on replicas with workers.
    pub enabled: bool,
    /// Jobs run at the same time by this process (`HARBOR_JOBS_WORKERS`, default 2).
    pub workers: usize,
    /// How often an idle worker looks for queued jobs, in ms (default 2000; a job
    /// started through this process's API starts at once).
    pub poll_interval_ms: u64,
    /// A worker that has not renewed its claim for this long is taken for dead and its
    /// job is run again (seconds, default 60).
    pub lease_secs: u64,
    /// Upload sessions idle for longer than this are removed by the hourly upload
    /// cleanup (`HARBOR_UPLOAD_MAX_AGE_HOURS`, default 24).
    pub upload_max_age_hours: u64,
    /// Finished jobs (and their logs) older than this many days are deleted (default 90).
    pub history_days: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            enabled: true,
            workers: 2,
            poll_interval_ms: 2000,
            lease_secs: 60,
            upload_max_age_hours: 24,
            history_days: 90,
        }
    }
}

/// Storage quota settings (see docs/quotas.md).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Storage limit in bytes of projects created without one (`storage_limit`), the
    /// bootstrap `library` project and projects created by a push included; -1 is
    /// unlimited (`HARBOR_QUOTA_DEFAULT_STORAGE_LIMIT`, default -1, Harbor's
    /// `storage_per_project`).
    pub default_storage_limit: i64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            default_storage_limit: harbor_core::quota::UNLIMITED,
        }
    }
}

/// Authentication and access settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The URL clients reach the server at, e.g. `https://registry.example.com`
    /// (`HARBOR_EXTERNAL_URL`). The token realm is `<external_url>/service/token`; when
    /// unset it is derived from each request's `Host` header (and `X-Forwarded-Proto`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// Lifetime of registry tokens in seconds (`HARBOR_TOKEN_TTL_SECS`, default 1800).
    pub token_ttl_secs: u64,
    /// Lifetime of web sessions from `POST /c/login` in seconds
    /// (`HARBOR_SESSION_TTL_SECS`, default 1800).
    pub session_ttl_secs: u64,
    /// Password of the `admin` account created on first start (`HARBOR_ADMIN_PASSWORD`);
    /// when unset a random one is generated and printed once. Ignored afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Secret>,
    /// Let an authenticated user's push create a missing project (private, owned by the
    /// pusher) instead of failing with `NAME_UNKNOWN` (`HARBOR_AUTO_CREATE_PROJECTS`).
    pub auto_create_projects: bool,
    /// Prefix of robot login names (`HARBOR_ROBOT_PREFIX`, default `robot$`).
    pub robot_prefix: String,
    /// Let `auth_mode` change through `/configurations` although users other than admin
    /// exist (`HARBOR_ALLOW_AUTH_MODE_CHANGE`, default false, as Harbor). Existing users
    /// keep their accounts; whether they can still sign in depends on the new mode.
    pub allow_auth_mode_change: bool,
    /// How long users, robots, projects and memberships looked up to authorise a request
    /// are cached, in milliseconds (`HARBOR_IDENTITY_CACHE_MS`, default 2000; 0 turns the
    /// cache off). Changes made through this replica apply at once; other replicas see
    /// them within this time.
    pub identity_cache_ms: u64,
    /// Reverse proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` headers name the client and its scheme
    /// (`HARBOR_TRUSTED_PROXIES`, comma-separated; default none: the connection's address
    /// is the client's).
    pub trusted_proxies: Vec<String>,
    /// Counting and locking out failed sign-ins (see docs/security.md).
    pub login_throttle: LoginThrottleConfig,
    /// The key secrets are sealed with at rest (the token-signing key in the database),
    /// 64 hex characters (`HARBOR_SECRET_KEY`; e.g. `openssl rand -hex 32`). Every replica
    /// needs the same one. When unset, `<data_dir>/secret.key` is used, created (mode
    /// 0600) on first start: fine for one server, not for replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<Secret>,
    /// Earlier secret keys, while rotating: secrets sealed with one of them are re-sealed
    /// with `secret_key` at start-up (`HARBOR_PREVIOUS_SECRET_KEYS`, comma-separated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previous_secret_keys: Vec<Secret>,
}

/// The login throttle's limits (`harbor_auth::throttle`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginThrottleConfig {
    /// Count failed sign-ins and refuse attempts over the limits with `429`
    /// (`HARBOR_LOGIN_THROTTLE`, default true).
    pub enabled: bool,
    /// Failures of one account from one client address before it is locked there
    /// (default 5).
    pub max_failures: u32,
    /// Failures from one client address, on any accounts, before the address is locked
    /// (default 20).
    pub max_failures_per_address: u32,
    /// Failures of one account from anywhere before the addresses that failed on it are
    /// locked out of it; addresses that did not fail stay admitted (default 50).
    pub max_failures_per_account: u32,
    /// The first lockout in seconds; each further failure doubles it (default 30).
    pub lockout_secs: u64,
    /// The longest lockout in seconds (default 900).
    pub max_lockout_secs: u64,
    /// Failures are forgotten this long after the last one, in seconds (default 900).
    pub window_secs: u64,
    /// A refused attempt is answered after this many milliseconds, so that refused
    /// clients cannot retry in a tight loop (default 1000).
    pub refusal_delay_ms: u64,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        let p = harbor_auth::throttle::ThrottlePolicy::default();
        LoginThrottleConfig {
            enabled: true,
            max_failures: p.max_failures,
            max_failures_per_address: p.max_failures_per_address,
            max_failures_per_account: p.max_failures_per_account,
            lockout_secs: p.lockout.as_secs(),
            max_lockout_secs: p.max_lockout.as_secs(),
            window_secs: p.window.as_secs(),
            refusal_delay_ms: u64::try_from(p.refusal_delay.as_millis()).unwrap_or(1000),
        }
    }
}

impl LoginThrottleConfig {
    /// The policy these settings describe.
    pub fn policy(&self) -> harbor_auth::throttle::ThrottlePolicy {
        harbor_auth::throttle::ThrottlePolicy {
            max_failures: self.max_failures,
            max_failures_per_address: self.max_failures_per_address,
            max_failures_per_account: self.max_failures_per_account,
            lockout: Duration::from_secs(self.lockout_secs),
            max_lockout: Duration::from_secs(self.max_lockout_secs),
            window: Duration::from_secs(self.window_secs),
            refusal_delay: Duration::from_millis(self.refusal_delay_ms),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            external_url: None,
            token_ttl_secs: 1800,
            session_ttl_secs: 1800,
            admin_password: None,
            auto_create_projects: false,
            robot_prefix: "robot$".into(),
            allow_auth_mode_change: false,
            identity_cache_ms: 2000,
            trusted_proxies: Vec::new(),
            login_throttle: LoginThrottleConfig::default(),
            secret_key: None,
            previous_secret_keys: Vec::new(),
        }
    }
}

/// Logging settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `harbor_server=debug,info` (`HARBOR_LOG`;
    /// `RUST_LOG` wins when set).
    pub level: String,
    /// `text` or `json` (`HARBOR_LOG_FORMAT`).
    pub format: LogFormat,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Blob storage settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Where blobs live: `file:///path`, `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` (`HARBOR_STORAGE_URL`); `<data_dir>/storage` when unset.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_redacted_url"
    )]
    pub url: Option<String>,
    /// Flush every committed blob, and every SQLite metadata commit, to disk before
    /// acknowledging it, so an acknowledged push survives a power loss
    /// (`HARBOR_STORAGE_FSYNC`).
    pub fsync: bool,
    /// Object stores: multipart part size in bytes, at least 5 MiB
    /// (`HARBOR_STORAGE_PART_SIZE`).
    pub part_size: usize,
    /// Object stores: largest committed upload moved by one server-side copy, in bytes;
    /// larger ones are streamed through the replica (`HARBOR_STORAGE_COPY_LIMIT`).
    pub copy_limit: u64,
    /// S3 and S3-compatible stores (`HARBOR_S3_*`, else the `AWS_*` variables).
    pub s3: S3Options,
    /// Google Cloud Storage (`HARBOR_GCS_*`, else the `GOOGLE_*` variables).
    pub gcs: GcsOptions,
    /// Azure Blob Storage (`HARBOR_AZURE_*`, else the `AZURE_*` variables).
    pub azure: AzureOptions,
}

/// Metadata database settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://<path>` or `postgres://user:password@host:port/database`
    /// (`HARBOR_DATABASE_URL`); `sqlite://<data_dir>/registry.db` when unset.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_redacted_url"
    )]
    pub url: Option<String>,
    /// Most connections this process opens (`HARBOR_DATABASE_MAX_CONNECTIONS`). With
    /// PostgreSQL, keep replicas × this below the server's `max_connections`.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing
    /// (`HARBOR_DATABASE_ACQUIRE_TIMEOUT_SECS`).
    pub acquire_timeout_secs: u64,
}

fn serialize_redacted_url<S: serde::Serializer>(
    url: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_str(&harbor_storage::sql::redact_url(u)),
        None => s.serialize_none(),
    }
}

/// Limits and timeouts.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest manifest accepted, in bytes; at least 4 MiB (`HARBOR_MAX_MANIFEST_BYTES`).
    pub max_manifest_bytes: usize,
    /// Abort an upload whose client sends nothing for this long
    /// (`HARBOR_UPLOAD_IDLE_TIMEOUT_SECS`).
    pub upload_idle_timeout_secs: u64,
    /// How long a request's claim on an upload session lasts unless renewed; it is
    /// renewed every third of it while the request lives, so an upload cut by a crashed
    /// replica can be resumed elsewhere after at most this long (a restart on the same
    /// data directory releases its old claims at once) (`HARBOR_UPLOAD_LEASE_SECS`).
    pub upload_lease_secs: u64,
    /// Time limit of requests that do not stream blob data
    /// (`HARBOR_REQUEST_TIMEOUT_SECS`).
    pub request_timeout_secs: u64,
    /// Time a client has to send its request headers once it started
    /// (`HARBOR_HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout_secs: u64,
    /// A connection without a request in flight is closed after this long without a byte
    /// from the client (a new connection that sends nothing, or only the HTTP/2 preface,
    /// included), and a connection whose client reads nothing of a response for this long
    /// (`HARBOR_IDLE_TIMEOUT_SECS`).
    pub idle_timeout_secs: u64,
    /// A request body (other than a blob upload's, which has
    /// `upload_idle_timeout_secs`) that sends nothing for this long is cut, and the
    /// request answered `400` (`HARBOR_BODY_IDLE_TIMEOUT_SECS`).
    pub body_idle_timeout_secs: u64,
    /// Most client connections served at once; more wait in the listen backlog
    /// (`HARBOR_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may run on (`HARBOR_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// Password and robot-secret checks (Argon2id, 19 MiB of memory each) run at once;
    /// 0 means one per CPU core (`HARBOR_PASSWORD_CHECKS`).
    pub password_checks: usize,
    /// Checks that may wait for a free one; beyond, a sign-in is answered `503` with
    /// `Retry-After: 1` after half a second; 0 means 1024 (`HARBOR_PASSWORD_QUEUE`).
    pub password_queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("./harbor-data"),
            tls: TlsConfig::default(),
            log: LogConfig::default(),
            storage: StorageConfig::default(),
            database: DatabaseConfig::default(),
            limits: LimitsConfig::default(),
            auth: AuthConfig::default(),
            quota: QuotaConfig::default(),
            jobs: JobsConfig::default(),
            events: EventsConfig::default(),
            remote: RemoteConfig::default(),
            scanner: ScannerConfig::default(),
            webhook: WebhookConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            url: None,
            fsync: true,
            part_size: harbor_storage::blob::DEFAULT_PART_SIZE,
            copy_limit: harbor_storage::blob::COPY_LIMIT,
            s3: S3Options::default(),
            gcs: GcsOptions::default(),
            azure: AzureOptions::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 16,
            acquire_timeout_secs: 10,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_manifest_bytes: 4 * 1024 * 1024,
            upload_idle_timeout_secs: 60,
            upload_lease_secs: 30,
            request_timeout_secs: 60,
            header_read_timeout_secs: 30,
            idle_timeout_secs: 30,
            body_idle_timeout_secs: 10,
            max_connections: 4096,
            shutdown_grace_secs: 30,
            password_checks: 0,
            password_queue: 0,
        }
    }
}

/// Overrides from the command line; `None` leaves the value alone.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<SocketAddr>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--log`
    pub log: Option<String>,
    /// `--no-jobs`
    pub no_jobs: bool,
}

fn parse<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
        key: key.into(),
        message: format!("{v:?}: {e}"),
    })
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source: Box::new(source),
        })
    }

    /// Applies `HARBOR_*` variables read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("HARBOR_LISTEN") {
            self.listen = parse("HARBOR_LISTEN", &v)?;
        }
        if let Some(v) = get("HARBOR_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("HARBOR_TLS_CERT") {
            self.tls.cert = Some(PathBuf::from(v.trim()));
        }
        if let Some(v) = get("HARBOR_TLS_KEY") {
            self.tls.key = Some(PathBuf::from(v.trim()));
        }
        if let Some(v) = get("HARBOR_LOG") {
            self.log.level = v;
        }
        if let Some(v) = get("HARBOR_LOG_FORMAT") {
            self.log.format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Invalid {
                        key: "HARBOR_LOG_FORMAT".into(),
                        message: format!("{other:?}: expected text or json"),
                    });
                }
            };
        }
        if let Some(v) = get("HARBOR_STORAGE_URL") {
            self.storage.url = Some(v);
        }
        if let Some(v) = get("HARBOR_STORAGE_FSYNC") {
            self.storage.fsync = parse("HARBOR_STORAGE_FSYNC", &v)?;
        }
        if let Some(v) = get("HARBOR_STORAGE_PART_SIZE") {
            self.storage.part_size = parse("HARBOR_STORAGE_PART_SIZE", &v)?;
        }
        if let Some(v) = get("HARBOR_STORAGE_COPY_LIMIT") {
            self.storage.copy_limit = parse("HARBOR_STORAGE_COPY_LIMIT", &v)?;
        }
        let s3 = &mut self.storage.s3;
        for (key, slot) in [
            ("HARBOR_S3_ENDPOINT", &mut s3.endpoint),
            ("HARBOR_S3_REGION", &mut s3.region),
            ("HARBOR_S3_ACCESS_KEY_ID", &mut s3.access_key_id),
        ] {
            if let Some(v) = get(key) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("HARBOR_S3_SECRET_ACCESS_KEY") {
            s3.secret_access_key = Some(Secret(v));
        }
        if let Some(v) = get("HARBOR_S3_SESSION_TOKEN") {
            s3.session_token = Some(Secret(v));
        }
        if let Some(v) = get("HARBOR_S3_VIRTUAL_HOSTED_STYLE") {
            s3.virtual_hosted_style = parse("HARBOR_S3_VIRTUAL_HOSTED_STYLE", &v)?;
        }
        let gcs = &mut self.storage.gcs;
        for (key, slot) in [
            ("HARBOR_GCS_BASE_URL", &mut gcs.base_url),
            (
                "HARBOR_GCS_SERVICE_ACCOUNT_PATH",
                &mut gcs.service_account_path,
            ),
        ] {
            if let Some(v) = get(key) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("HARBOR_GCS_SERVICE_ACCOUNT_KEY") {
            gcs.service_account_key = Some(Secret(v));
        }
        let azure = &mut self.storage.azure;
        for (key, slot) in [
            ("HARBOR_AZURE_ENDPOINT", &mut azure.endpoint),
            ("HARBOR_AZURE_ACCOUNT", &mut azure.account),
        ] {
            if let Some(v) = get(key) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("HARBOR_AZURE_ACCESS_KEY") {
            azure.access_key = Some(Secret(v));
        }
        if let Some(v) = get("HARBOR_DATABASE_URL") {
            self.database.url = Some(v);
        }
        if let Some(v) = get("HARBOR_DATABASE_MAX_CONNECTIONS") {
            self.database.max_connections = parse("HARBOR_DATABASE_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("HARBOR_DATABASE_ACQUIRE_TIMEOUT_SECS") {
            self.database.acquire_timeout_secs = parse("HARBOR_DATABASE_ACQUIRE_TIMEOUT_SECS", &v)?;
        }
        let limits = &mut self.limits;
        for (key, slot) in [
            (
                "HARBOR_UPLOAD_IDLE_TIMEOUT_SECS",
                &mut limits.upload_idle_timeout_secs,
            ),
            (
                "HARBOR_REQUEST_TIMEOUT_SECS",
                &mut limits.request_timeout_secs,
            ),
            (
                "HARBOR_HEADER_READ_TIMEOUT_SECS",
                &mut limits.header_read_timeout_secs,
            ),
            (
                "HARBOR_SHUTDOWN_GRACE_SECS",
                &mut limits.shutdown_grace_secs,
            ),
            ("HARBOR_IDLE_TIMEOUT_SECS", &mut limits.idle_timeout_secs),
            ("HARBOR_UPLOAD_LEASE_SECS", &mut limits.upload_lease_secs),
            (
                "HARBOR_BODY_IDLE_TIMEOUT_SECS",
                &mut limits.body_idle_timeout_secs,
            ),
        ] {
            if let Some(v) = get(key) {
                *slot = parse(key, &v)?;
            }
        }
        for (key, slot) in [
            ("HARBOR_MAX_CONNECTIONS", &mut limits.max_connections),
            ("HARBOR_PASSWORD_CHECKS", &mut limits.password_checks),
            ("HARBOR_PASSWORD_QUEUE", &mut limits.password_queue),
        ] {
            if let Some(v) = get(key) {
                *slot = parse(key, &v)?;
            }
        }
        if let Some(v) = get("HARBOR_MAX_MANIFEST_BYTES") {
            limits.max_manifest_bytes = parse("HARBOR_MAX_MANIFEST_BYTES", &v)?;
        }
        let auth = &mut self.auth;
        if let Some(v) = get("HARBOR_EXTERNAL_URL") {
            auth.external_url = Some(v.trim().to_owned());
        }
        if let Some(v) = get("HARBOR_TOKEN_TTL_SECS") {
            auth.token_ttl_secs = parse("HARBOR_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("HARBOR_SESSION_TTL_SECS") {
            auth.session_ttl_secs = parse("HARBOR_SESSION_TTL_SECS", &v)?;
        }
        if let Some(v) = get("HARBOR_ADMIN_PASSWORD") {
            auth.admin_password = Some(Secret(v));
        }
        if let Some(v) = get("HARBOR_AUTO_CREATE_PROJECTS") {
            auth.auto_create_projects = parse("HARBOR_AUTO_CREATE_PROJECTS", &v)?;
        }
        if let Some(v) = get("HARBOR_ALLOW_AUTH_MODE_CHANGE") {
            auth.allow_auth_mode_change = parse("HARBOR_ALLOW_AUTH_MODE_CHANGE", &v)?;
        }
        if let Some(v) = get("HARBOR_IDENTITY_CACHE_MS") {
            auth.identity_cache_ms = parse("HARBOR_IDENTITY_CACHE_MS", &v)?;
        }
        if let Some(v) = get("HARBOR_ROBOT_PREFIX") {
            auth.robot_prefix = v.trim().to_owned();
        }
        if let Some(v) = get("HARBOR_TRUSTED_PROXIES") {
            auth.trusted_proxies = v
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
        }
        if let Some(v) = get("HARBOR_SECRET_KEY") {
            auth.secret_key = Some(Secret(v.trim().to_owned()));
        }
        if let Some(v) = get("HARBOR_PREVIOUS_SECRET_KEYS") {
            auth.previous_secret_keys = v
                .split(',')
                .map(|k| Secret(k.trim().to_owned()))
                .filter(|k| !k.0.is_empty())
                .collect();
        }
        if let Some(v) = get("HARBOR_LOGIN_THROTTLE") {
            auth.login_throttle.enabled = parse("HARBOR_LOGIN_THROTTLE", &v)?;
        }
        if let Some(v) = get("HARBOR_QUOTA_DEFAULT_STORAGE_LIMIT") {
            self.quota.default_storage_limit = parse("HARBOR_QUOTA_DEFAULT_STORAGE_LIMIT", &v)?;
        }
        if let Some(v) = get("HARBOR_EVENTS_DELIVER") {
            self.events.deliver = parse("HARBOR_EVENTS_DELIVER", &v)?;
        }
        if let Some(v) = get("HARBOR_WEBHOOK_SEND") {
            self.webhook.send = parse("HARBOR_WEBHOOK_SEND", &v)?;
        }
        if let Some(v) = get("HARBOR_WEBHOOK_TIMEOUT_MS") {
            self.webhook.timeout_ms = parse("HARBOR_WEBHOOK_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = get("HARBOR_WEBHOOK_MAX_ATTEMPTS") {
            self.webhook.max_attempts = parse("HARBOR_WEBHOOK_MAX_ATTEMPTS", &v)?;
        }
        if let Some(v) = get("HARBOR_WEBHOOK_BACKOFF_MS") {
            self.webhook.backoff_ms = parse("HARBOR_WEBHOOK_BACKOFF_MS", &v)?;
        }
        if let Some(v) = get("HARBOR_EVENTS_RETENTION_HOURS") {
            self.events.retention_hours = parse("HARBOR_EVENTS_RETENTION_HOURS", &v)?;
        }
        if let Some(v) = get("HARBOR_JOBS_ENABLED") {
            self.jobs.enabled = parse("HARBOR_JOBS_ENABLED", &v)?;
        }
        if let Some(v) = get("HARBOR_JOBS_WORKERS") {
            self.jobs.workers = parse("HARBOR_JOBS_WORKERS", &v)?;
        }
        if let Some(v) = get("HARBOR_UPLOAD_MAX_AGE_HOURS") {
            self.jobs.upload_max_age_hours = parse("HARBOR_UPLOAD_MAX_AGE_HOURS", &v)?;
        }
        if let Some(v) = get("HARBOR_REMOTE_ALLOW_LOOPBACK") {
            self.remote.allow_loopback = parse("HARBOR_REMOTE_ALLOW_LOOPBACK", &v)?;
        }
        if let Some(v) = get("HARBOR_REMOTE_ALLOW_PRIVATE") {
            self.remote.allow_private = parse("HARBOR_REMOTE_ALLOW_PRIVATE", &v)?;
        }
        if let Some(v) = get("HARBOR_SCANNER_BUILTIN") {
            self.scanner.builtin = parse("HARBOR_SCANNER_BUILTIN", &v)?;
        }
        if let Some(v) = get("HARBOR_SCANNER_DB").filter(|v| !v.is_empty()) {
            self.scanner.db = Some(PathBuf::from(v));
        }
        if let Some(v) = get("HARBOR_SCANNER_ADAPTER_API_KEY").filter(|v| !v.is_empty()) {
            self.scanner.adapter_api_key = Some(Secret(v));
        }
        if let Some(v) = get("HARBOR_REMOTE_ALLOWED_HOSTS") {
            self.remote.allowed_hosts = v
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok(())
    }

    /// Applies command-line overrides.
    pub fn apply_overrides(&mut self, o: &Overrides) {
        if let Some(l) = o.listen {
            self.listen = l;
        }
        if let Some(d) = &o.data_dir {
            self.data_dir = d.clone();
        }
        if let Some(l) = &o.log {
            self.log.level = l.clone();
        }
        if o.no_jobs {
            self.jobs.enabled = false;
        }
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message: message.into(),
            })
        };
        match (&self.tls.cert, &self.tls.key) {
            (Some(_), None) => {
                return invalid(
                    "tls.key",
                    "tls.cert (HARBOR_TLS_CERT) is set but tls.key (HARBOR_TLS_KEY) is not: \
                     set both for HTTPS, or neither",
                );
            }
            (None, Some(_)) => {
                return invalid(
                    "tls.cert",
                    "tls.key (HARBOR_TLS_KEY) is set but tls.cert (HARBOR_TLS_CERT) is not: \
                     set both for HTTPS, or neither",
                );
            }
            _ => {}
        }
        if self.limits.max_manifest_bytes < 4 * 1024 * 1024 {
            return invalid(
                "limits.max_manifest_bytes",
                "must be at least 4194304 (4 MiB), as the OCI spec requires",
            );
        }
        for (key, v) in [
            (
                "limits.upload_idle_timeout_secs",
                self.limits.upload_idle_timeout_secs,
            ),
            (
                "limits.request_timeout_secs",
                self.limits.request_timeout_secs,
            ),
            (
                "limits.header_read_timeout_secs",
                self.limits.header_read_timeout_secs,
            ),
            ("limits.idle_timeout_secs", self.limits.idle_timeout_secs),
            (
                "limits.body_idle_timeout_secs",
                self.limits.body_idle_timeout_secs,
            ),
            ("limits.max_connections", self.limits.max_connections as u64),
        ] {
            if v == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.limits.upload_lease_secs < 3 {
            return invalid("limits.upload_lease_secs", "must be at least 3");
        }
        if harbor_core::quota::validate_limit(self.quota.default_storage_limit).is_err() {
            return invalid(
                "quota.default_storage_limit",
                "must be -1 (unlimited) or a positive number of bytes",
            );
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.jobs.workers == 0 || self.jobs.workers > 64 {
            return invalid("jobs.workers", "must be between 1 and 64");
        }
        if self.jobs.lease_secs < 5 || self.jobs.poll_interval_ms == 0 {
            return invalid(
                "jobs.lease_secs",
                "the lease must be at least 5 seconds and the poll interval at least 1 ms",
            );
        }
        if self.database.acquire_timeout_secs == 0 {
            return invalid("database.acquire_timeout_secs", "must be at least 1");
        }
        if self.auth.token_ttl_secs == 0 || self.auth.session_ttl_secs == 0 {
            return invalid(
                "auth.token_ttl_secs",
                "token and session lifetimes must be at least 1 second",
            );
        }
        if self.auth.robot_prefix.is_empty() || self.auth.robot_prefix.contains([':', '/', ' ']) {
            return invalid(
                "auth.robot_prefix",
                "must be non-empty without ':', '/' or spaces",
            );
        }
        if let Some(u) = &self.auth.external_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return invalid("auth.external_url", "must start with http:// or https://");
        }
        for k in self
            .auth
            .secret_key
            .iter()
            .chain(&self.auth.previous_secret_keys)
        {
            if let Err(e) = harbor_auth::sealing::SealingKey::parse(&k.0) {
                return invalid("auth.secret_key", &e.to_string());
            }
        }
        if let Err(e) = crate::client::TrustedProxies::parse(&self.auth.trusted_proxies) {
            return invalid("auth.trusted_proxies", &e.to_string());
        }
        let t = &self.auth.login_throttle;
        if t.enabled
            && (t.max_failures == 0
                || t.max_failures_per_address == 0
                || t.max_failures_per_account == 0
                || t.lockout_secs == 0
                || t.max_lockout_secs < t.lockout_secs
                || t.window_secs == 0)
        {
            return invalid(
                "auth.login_throttle",
                "limits and times must be at least 1, and max_lockout_secs at least lockout_secs",
            );
        }
        if self.storage.part_size < 5 * 1024 * 1024 {
            return invalid(
                "storage.part_size",
                "must be at least 5242880 (5 MiB), S3's smallest part",
            );
        }
        let w = &self.webhook;
        if !(100..=60_000).contains(&w.timeout_ms) {
            return invalid("webhook.timeout_ms", "must be between 100 and 60000");
        }
        if !(1..=100).contains(&w.max_attempts) {
            return invalid("webhook.max_attempts", "must be between 1 and 100");
        }
        if w.backoff_ms == 0 || w.breaker_pause_ms == 0 || !(1..=1024).contains(&w.concurrency) {
            return invalid(
                "webhook",
                "backoff_ms and breaker_pause_ms must be at least 1, concurrency 1 to 1024",
            );
        }
        Ok(())
    }

    /// The metadata database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("registry.db").display()))
    }

    /// This configuration with the defaults that derive from others filled in (the
    /// database and storage URLs in the data directory), as `--print-config` shows it.
    pub fn effective(&self) -> Config {
        let mut c = self.clone();
        c.database.url = Some(self.database_url());
        c.storage.url = Some(self.storage_url());
        c
    }

    /// The blob storage URL, defaulting to the filesystem in the data directory.
    pub fn storage_url(&self) -> String {
        self.storage
            .url
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("storage").display()))
    }

    /// The key secrets are sealed with, and earlier ones: the configured key, else the
    /// one in `<data_dir>/secret.key` (created with mode 0600 if missing).
    pub fn sealing_keys(
        &self,
    ) -> Result<
        (
            harbor_auth::sealing::SealingKey,
            Vec<harbor_auth::sealing::SealingKey>,
        ),
        ConfigError,
    > {
        use harbor_auth::sealing::SealingKey;
        let invalid = |key: &str, e: &dyn std::fmt::Display| ConfigError::Invalid {
            key: key.into(),
            message: e.to_string(),
        };
        let previous = self
            .auth
            .previous_secret_keys
            .iter()
            .map(|k| SealingKey::parse(&k.0).map_err(|e| invalid("auth.previous_secret_keys", &e)))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(k) = &self.auth.secret_key {
            let key = SealingKey::parse(&k.0).map_err(|e| invalid("auth.secret_key", &e))?;
            return Ok((key, previous));
        }
        let path = self.data_dir.join("secret.key");
        let file_err = |e: &dyn std::fmt::Display| {
            invalid("auth.secret_key", &format!("{}: {e}", path.display()))
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((
                SealingKey::parse(&text).map_err(|e| file_err(&e))?,
                previous,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SealingKey::generate().map_err(|e| file_err(&e))?;
                let text = format!("{}\n", key.to_hex());
                harbor_storage::private_fs::dir(&self.data_dir)
                    .and_then(|()| harbor_storage::private_fs::create(&path, text.as_bytes()))
                    .map_err(|e| file_err(&e))?;
                Ok((key, previous))
            }
            Err(e) => Err(file_err(&e)),
        }
    }

    /// Concurrent password checks and waiting checks, defaults resolved.
    pub fn password_bounds(&self) -> (usize, usize) {
        let workers = match self.limits.password_checks {
            0 => harbor_auth::passwords::PasswordWork::default_workers(),
            n => n,
        };
        let queue = match self.limits.password_queue {
            0 => harbor_auth::passwords::PasswordWork::default_max_waiting(),
            n => n,
        };
        (workers, queue)
    }

    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn layers_file_env_and_flags() {
        let mut c: Config = toml::from_str(
            r#"
            listen = "0.0.0.0:6000"
            data_dir = "/var/lib/harbor"
            [limits]
            request_timeout_secs = 5
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert_eq!(c.limits.request_timeout_secs, 5);
        assert_eq!(c.limits.upload_idle_timeout_secs, 60);
        assert_eq!(c.database_url(), "sqlite:///var/lib/harbor/registry.db");
        assert_eq!(c.storage_url(), "file:///var/lib/harbor/storage");
        let env: HashMap<&str, &str> = [
            ("HARBOR_LISTEN", "127.0.0.1:7000"),
            ("HARBOR_STORAGE_FSYNC", "false"),
            ("HARBOR_REQUEST_TIMEOUT_SECS", "9"),
            ("HARBOR_DATABASE_URL", "postgres://harbor:pw@db/harbor"),
            ("HARBOR_STORAGE_URL", "s3://bucket/registry"),
            ("HARBOR_S3_ENDPOINT", "http://minio:9000"),
            ("HARBOR_S3_SECRET_ACCESS_KEY", "topsecret"),
        ]
        .into();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert!(!c.storage.fsync);
        assert_eq!(c.limits.request_timeout_secs, 9);
        assert_eq!(c.database_url(), "postgres://harbor:pw@db/harbor");
        assert_eq!(c.storage_url(), "s3://bucket/registry");
        assert_eq!(c.storage.s3.endpoint.as_deref(), Some("http://minio:9000"));
        // Printing the configuration never reveals secrets.
        let printed = toml::to_string(&c).unwrap();
        assert!(
            !printed.contains("topsecret") && !printed.contains(":pw@"),
            "{printed}"
        );
        assert!(
            printed.contains("postgres://harbor:***@db/harbor"),
            "{printed}"
        );
        c.apply_overrides(&Overrides {
            listen: Some("127.0.0.1:8000".parse().unwrap()),
            ..Default::default()
        });
        assert_eq!(c.listen.port(), 8000);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/harbor"));
        c.validate().unwrap();
    }

    #[test]
    fn gcs_and_azure_settings() {
        let mut c: Config = toml::from_str(
            r#"
            [storage]
            url = "az://registry/prod"
            [storage.azure]
            endpoint = "http://127.0.0.1:10000/devstoreaccount1"
            account = "devstoreaccount1"
            [storage.gcs]
            base_url = "http://127.0.0.1:4443"
            "#,
        )
        .unwrap();
        assert_eq!(c.storage.azure.account.as_deref(), Some("devstoreaccount1"));
        assert_eq!(
            c.storage.gcs.base_url.as_deref(),
            Some("http://127.0.0.1:4443")
        );
        let env: HashMap<&str, &str> = [
            (
                "HARBOR_AZURE_ENDPOINT",
                "https://acme.blob.core.windows.net",
            ),
            ("HARBOR_AZURE_ACCESS_KEY", "azuresecret"),
            ("HARBOR_GCS_BASE_URL", "https://storage.googleapis.com"),
            (
                "HARBOR_GCS_SERVICE_ACCOUNT_KEY",
                "{\"private_key\": \"gcssecret\"}",
            ),
            ("HARBOR_GCS_SERVICE_ACCOUNT_PATH", "/etc/harbor/gcs.json"),
            ("HARBOR_STORAGE_COPY_LIMIT", "1073741824"),
        ]
        .into();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        let (gcs, azure) = (&c.storage.gcs, &c.storage.azure);
        assert_eq!(
            azure.endpoint.as_deref(),
            Some("https://acme.blob.core.windows.net")
        );
        assert_eq!(
            azure.access_key.as_ref().map(|k| k.0.as_str()),
            Some("azuresecret")
        );
        assert_eq!(
            gcs.base_url.as_deref(),
            Some("https://storage.googleapis.com")
        );
        assert_eq!(
            gcs.service_account_path.as_deref(),
            Some("/etc/harbor/gcs.json")
        );
        assert_eq!(c.storage.copy_limit, 1 << 30);
        let printed = toml::to_string(&c).unwrap();
        assert!(
            !printed.contains("azuresecret") && !printed.contains("gcssecret"),
            "{printed}"
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
        let mut c = Config::default();
        assert!(
            c.apply_env(|k| (k == "HARBOR_LISTEN").then(|| "nowhere".into()))
                .is_err()
        );
        let mut c2 = Config::default();
        c2.limits.max_manifest_bytes = 1000;
        assert!(c2.validate().is_err());
        c.limits.request_timeout_secs = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn tls_files_come_together() {
        let c: Config =
            toml::from_str("[tls]\ncert = \"/etc/harbor/tls.crt\"\nkey = \"/etc/harbor/tls.key\"")
                .unwrap();
        c.validate().unwrap();
        assert!(c.tls.files().is_some());
        let printed = toml::to_string(&c).unwrap();
        assert!(printed.contains("/etc/harbor/tls.key"), "{printed}");
        let mut c = Config::default();
        assert!(c.tls.files().is_none());
        c.apply_env(|k| (k == "HARBOR_TLS_CERT").then(|| "/x/cert.pem".into()))
            .unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("HARBOR_TLS_KEY"), "{err}");
        c.apply_env(|k| (k == "HARBOR_TLS_KEY").then(|| " /x/key.pem ".into()))
            .unwrap();
        c.validate().unwrap();
        assert_eq!(c.tls.key.as_deref(), Some(Path::new("/x/key.pem")));
        let c: Config = toml::from_str("[tls]\nkey = \"/k.pem\"").unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("HARBOR_TLS_CERT")
        );
        assert!(toml::from_str::<Config>("[tls]\ncertificate = \"/c.pem\"").is_err());
    }

    #[test]
    fn quota_default_from_file_and_env() {
        assert_eq!(Config::default().quota.default_storage_limit, -1);
        let mut c: Config = toml::from_str("[quota]\ndefault_storage_limit = 1024").unwrap();
        assert_eq!(c.quota.default_storage_limit, 1024);
        c.validate().unwrap();
        c.apply_env(|k| (k == "HARBOR_QUOTA_DEFAULT_STORAGE_LIMIT").then(|| "2048".into()))
            .unwrap();
        assert_eq!(c.quota.default_storage_limit, 2048);
        c.quota.default_storage_limit = 0;
        assert!(c.validate().is_err());
        assert!(
            c.apply_env(|k| (k == "HARBOR_QUOTA_DEFAULT_STORAGE_LIMIT").then(|| "lots".into()))
                .is_err()
        );
    }
}
