//! The Harbor-rs HTTP server.
//!
//! - [`router`]: the OCI `/v2/` API, the token service (`/service/token`), the REST API
//!   (`/api/v2.0/`) and the portal's session endpoints (`/c/`) as an `axum::Router`, to
//!   merge into another application.
//! - [`app`]: the router with the production middleware (request ids, request logs).
//! - [`serve`]: the accept loop with graceful shutdown, used by the `harbor-server` binary.

#![warn(missing_docs)]

mod adapter;
mod api;
mod auth;
pub mod client;
pub mod config;
mod conn;
mod files;
mod instance;
pub mod jobs;
pub mod maintenance;
pub mod metrics;
mod oci;
mod portal;
mod scanner_db;
pub mod serve;
pub mod settings;
pub mod telemetry;
pub mod tls;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, header};
use harbor_auth::sealing::SealingKey;
use harbor_auth::throttle::LoginThrottle;
use harbor_auth::token::TokenService;
use harbor_auth::{Accounts, CachedIdentity};
use harbor_core::events::{AuditSubscriber, Dispatcher, DispatcherConfig};
use harbor_core::ports::{IdentityStore, LoginFailureStore};
use harbor_core::{Registry, RegistryConfig};
use harbor_platform::webhook::sender::Sender;
use harbor_platform::webhook::subscriber::WebhookQueue;
use harbor_storage::blob::StorageOptions;
use harbor_storage::sql::PoolConfig;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore, StorageError};
use settings::SystemSettings;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use config::Config;
use metrics::{Metrics, PoolProbe, PoolSample};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The registry service.
    pub registry: Registry,
    /// Users, projects, robots and credential checks.
    pub accounts: Arc<Accounts>,
    /// Registry token issuer and verifier.
    pub tokens: Arc<TokenService>,
    /// Delivery of domain events to subscribers (the audit log first).
    pub events: Dispatcher,
    /// The platform services (projects, members, robots, system jobs) the REST handlers
    /// call.
    pub platform: harbor_platform::Platform,
    /// Authentication settings.
    pub auth: Arc<AuthSettings>,
    /// Time limit of requests that do not stream blob data.
    pub request_timeout: Duration,
    /// A request body (other than a blob upload's) silent this long is cut.
    pub body_idle_timeout: Duration,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Settings changed at run time (read-only mode), shared through the database.
    pub settings: SystemSettings,
    /// Background jobs: the shared queue and this process's workers.
    pub jobs: jobs::Jobs,
    /// Reverse proxies whose forwarding headers name the client.
    pub proxies: Arc<client::TrustedProxies>,
    /// Storage limit (bytes, -1 unlimited) of new projects, unless the stored setting
    /// `storage_per_project` says otherwise.
    pub default_storage_limit: i64,
    /// The key of scanner adapter clients other than administrators (`/api/v1`).
    pub scanner_adapter_key: Option<Arc<str>>,
    /// The key this server's own calls to the built-in adapter carry (derived from the
    /// secret key; see `harbor_platform::scanner::builtin`).
    pub builtin_adapter_key: Option<Arc<str>>,
    /// Register the built-in scanner once serving (`scanner.builtin`).
    pub register_builtin_scanner: bool,
    /// Set to stop this process's webhook sender (at shutdown).
    pub webhook_stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// This process's name in upload leases (and the data directory's lock).
    instance: Option<Arc<instance::Instance>>,
}

/// Authentication settings the handlers read.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The URL clients reach the server at; derived from each request when `None`.
    pub external_url: Option<String>,
    /// A push into a missing project creates it.
    pub auto_create_projects: bool,
    /// Lifetime of web sessions.
    pub session_ttl: Duration,
    /// `auth_mode` may change although users other than admin exist.
    pub allow_auth_mode_change: bool,
}

impl AuthSettings {
    /// Whether cookies set for `client` must be `Secure`: it came over HTTPS (through a
    /// trusted proxy), or the configured external URL is HTTPS.
    pub fn secure_cookies(&self, client: &client::ClientInfo) -> bool {
        client.https
            || self
                .external_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }
}

/// Why the server state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Storage could not be opened.
    #[error("cannot open storage: {0}")]
    Storage(#[from] StorageError),
    /// The accounts could not be bootstrapped or the signing key loaded.
    #[error("cannot initialise accounts: {0}")]
    Accounts(#[from] harbor_core::Error),
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),
}

impl AppState {
    /// State around a registry and an identity store: bootstraps the `admin` account and
    /// the `library` project on an empty store (what it did is returned: a generated
    /// admin password is to be shown once) and loads the shared token-signing key.
    pub async fn build(
        registry: Registry,
        identity: Arc<dyn IdentityStore>,
        login_failures: Arc<dyn LoginFailureStore>,
        jobs: Arc<dyn harbor_core::jobs::JobStore>,
        auth: &config::AuthConfig,
        sealing: &(SealingKey, Vec<SealingKey>),
    ) -> Result<(Self, harbor_auth::accounts::Bootstrap), OpenError> {
        let proxies = client::TrustedProxies::parse(&auth.trusted_proxies)
            .map_err(|e| OpenError::Config(e.to_string()))?;
        let events = Dispatcher::new(
            registry.metadata().clone(),
            registry.event_signal().clone(),
            DispatcherConfig::default(),
        );
        let keys = Arc::new(harbor_auth::sealing::SealingKeys::new(
            sealing
                .0
                .duplicate()
                .map_err(|e| OpenError::Config(e.to_string()))?,
            sealing
                .1
                .iter()
                .map(SealingKey::duplicate)
                .collect::<Result<_, _>>()
                .map_err(|e| OpenError::Config(e.to_string()))?,
        ));
        let settings = SystemSettings::new(
            identity.clone(),
            Duration::from_millis(auth.identity_cache_ms),
        )
        .with_keys(keys.clone());
        let identity =
            CachedIdentity::wrap(identity, Duration::from_millis(auth.identity_cache_ms));
        let oidc_links: Arc<dyn harbor_core::oidc::OidcUserStore> = registry.metadata().clone();
        let sign_in = harbor_platform::sign_in::SignIn::new(settings.clone(), identity.clone())
            .with_oidc_store(oidc_links);
        let mut accounts = Accounts::new(identity, auth.robot_prefix.clone())
            .with_external(Arc::new(sign_in.clone()));
        if auth.login_throttle.enabled {
            accounts = accounts.with_throttle(LoginThrottle::new(
                login_failures,
                auth.login_throttle.policy(),
            ));
        }
        let boot = accounts
            .bootstrap(auth.admin_password.as_ref().map(|s| s.0.as_str()))
            .await?;
        let key = accounts.signing_key(&sealing.0, &sealing.1).await?;
        let tokens = TokenService::new(key, Duration::from_secs(auth.token_ttl_secs));
        let accounts = Arc::new(accounts);
        let jobs = jobs::Jobs::new(jobs);
        let waker = jobs.clone();
        let platform = harbor_platform::Platform::new(
            registry.clone(),
            accounts.clone(),
            jobs.store().clone(),
            settings.clone(),
        )
        .with_waker(Arc::new(move || waker.wake()))
        .with_secret_keys(keys)
        .with_sign_in(sign_in);
        let builtin_adapter_key = platform.scanners.builtin_key().map(Arc::from);
        let state = AppState {
            builtin_adapter_key,
            registry,
            accounts,
            platform,
            tokens: Arc::new(tokens),
            events,
            auth: Arc::new(AuthSettings {
                external_url: auth.external_url.clone(),
                auto_create_projects: auth.auto_create_projects,
                session_ttl: Duration::from_secs(auth.session_ttl_secs),
                allow_auth_mode_change: auth.allow_auth_mode_change,
            }),
            request_timeout: Duration::from_secs(60),
            body_idle_timeout: Duration::from_secs(10),
            metrics: Metrics::new(None),
            settings,
            jobs,
            proxies: Arc::new(proxies),
            default_storage_limit: -1,
            scanner_adapter_key: None,
            register_builtin_scanner: false,
            webhook_stop: Arc::new(tokio::sync::watch::channel(false).0),
            instance: None,
        };
        Ok((state, boot))
    }

    /// Records that the server serves on `addr` (over TLS when `tls`): the address it
    /// calls itself at is the external URL, else this one (an unspecified IP becomes
    /// loopback); registers the built-in scanner there (`scanner.builtin`). A failure is
    /// logged: the registry serves without it.
    pub async fn serving_at(&self, addr: std::net::SocketAddr, tls: bool) {
        let address = match &self.auth.external_url {
            Some(url) => harbor_platform::scanner::builtin::LocalAddress {
                url: url.trim_end_matches('/').to_owned(),
                insecure: false,
            },
            None => {
                let ip = match addr.ip() {
                    std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
                        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
                    }
                    std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                        std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
                    }
                    ip => ip,
                };
                let scheme = if tls { "https" } else { "http" };
                harbor_platform::scanner::builtin::LocalAddress {
                    url: format!("{scheme}://{}", std::net::SocketAddr::new(ip, addr.port())),
                    insecure: tls,
                }
            }
        };
        if let Err(e) = self
            .platform
            .serving_at(address, self.register_builtin_scanner)
            .await
        {
            tracing::warn!(error = %e, "cannot register the built-in scanner");
        }
    }

    /// Opens the storage the configuration names (by default SQLite metadata in
    /// `<data_dir>/registry.db` and blobs in `<data_dir>/storage`) and bootstraps the
    /// accounts. A generated admin password is printed once on standard output.
    pub async fn open(config: &Config) -> Result<Self, OpenError> {
        let instance = instance::Instance::claim(&config.data_dir).map_err(|e| {
            OpenError::Config(format!(
                "cannot use the data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let sealing = config
            .sealing_keys()
            .map_err(|e| OpenError::Config(e.to_string()))?;
        files::warn_if_open(&config.data_dir);
        let (workers, queue) = config.password_bounds();
        if !harbor_auth::passwords::configure(workers, queue) {
            tracing::debug!("password check bounds were set already in this process");
        }
        let storage = StorageOptions {
            fsync: config.storage.fsync,
            part_size: config.storage.part_size,
            copy_limit: config.storage.copy_limit,
            s3: config.storage.s3.clone(),
            gcs: config.storage.gcs.clone(),
            azure: config.storage.azure.clone(),
        };
        let blobs = ObjectBlobStore::open(&config.storage_url(), &storage)?;
        let pool = PoolConfig {
            max_connections: config.database.max_connections,
            acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
            durable: config.storage.fsync,
        };
        let meta = Arc::new(
            SqlMetadataStore::connect(&config.database_url(), &pool)
                .await?
                .with_default_storage_limit(config.quota.default_storage_limit),
        );
        let probe_meta = meta.clone();
        let probe: PoolProbe = Arc::new(move || {
            probe_meta
                .pool_stats()
                .into_iter()
                .map(|(pool, size, idle)| PoolSample { pool, size, idle })
                .collect()
        });
        let registry = Registry::new(
            Arc::new(blobs),
            meta.clone(),
            RegistryConfig {
                max_manifest_bytes: config.limits.max_manifest_bytes,
                upload_idle_timeout: Duration::from_secs(config.limits.upload_idle_timeout_secs),
                upload_lease: Duration::from_secs(config.limits.upload_lease_secs),
                lease_owner: instance.owner.clone(),
                ..RegistryConfig::default()
            },
        );
        if instance.exclusive {
            // Leases a previous run on this data directory left when it died.
            let released = registry.release_leases().await?;
            if released > 0 {
                tracing::info!(released, "released the upload leases of the previous run");
            }
        }
        let (mut state, boot) = Self::build(
            registry.clone(),
            meta.clone(),
            meta.clone(),
            meta.clone(),
            &config.auth,
            &sealing,
        )
        .await?;
        state.platform = state.platform.clone().with_remote(config.remote.probe());
        state.platform.webhooks = state
            .platform
            .webhooks
            .clone()
            .with_rules(config.webhook.rules());
        state.scanner_adapter_key = config
            .scanner
            .adapter_api_key
            .as_ref()
            .map(|k| Arc::from(k.0.as_str()));
        state.register_builtin_scanner = config.scanner.builtin;
        if let Some(path) = config.scanner.db.clone() {
            scanner_db::import_at_start(state.platform.scanner.db.clone(), path);
        }
        match state.platform.registries.reseal().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "re-sealed registry secrets with the current secret key"),
            Err(e) => tracing::warn!(error = %e, "re-sealing registry secrets failed"),
        }
        match state.platform.scanners.reseal().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                n,
                "re-sealed scanner credentials with the current secret key"
            ),
            Err(e) => tracing::warn!(error = %e, "re-sealing scanner credentials failed"),
        }
        if config.jobs.enabled {
            state
                .jobs
                .start(
                    registry.clone(),
                    meta.clone(),
                    &state.platform,
                    &config.jobs,
                )
                .await?;
            if config.remote.health_check_secs > 0 {
                state.jobs.check_registries(
                    state.platform.registries.clone(),
                    Duration::from_secs(config.remote.health_check_secs),
                );
            }
        }
        state.events = Dispatcher::new(
            meta.clone(),
            registry.event_signal().clone(),
            DispatcherConfig {
                owner: instance.owner.clone(),
                poll_interval: Duration::from_millis(config.events.poll_interval_ms.max(10)),
                retention: Duration::from_secs(config.events.retention_hours.saturating_mul(3600)),
                ..DispatcherConfig::default()
            },
        );
        if instance.exclusive {
            // Cursor leases the previous run on this data directory left when it died.
            let released = state.events.release_leases().await?;
            if released > 0 {
                tracing::info!(
                    released,
                    "released the event cursor leases of the previous run"
                );
            }
        }
        // Told when the subscriber queued webhook deliveries: the sender wakes at once.
        let webhooks_queued = Arc::new(tokio::sync::Notify::new());
        if config.events.deliver {
            state
                .events
                .start(Arc::new(AuditSubscriber::new(meta.clone(), meta.clone())));
            state
                .events
                .start(state.platform.replication.event_trigger());
            state.events.start(state.platform.scans.on_push());
            state.events.start(Arc::new(WebhookQueue::new(
                registry.clone(),
                meta.clone(),
                state.platform.local.clone(),
                config.auth.external_url.clone(),
                webhooks_queued.clone(),
            )));
        }
        if config.webhook.send {
            let sender = Sender::new(
                state.platform.webhooks.clone(),
                instance.owner.clone(),
                webhooks_queued,
            )
            .map_err(|e| OpenError::Config(format!("webhook sender: {e}")))?;
            if instance.exclusive {
                match sender.release_previous().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(n, "released the webhook deliveries of the previous run")
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot release webhook deliveries"),
                }
            }
            tokio::spawn(sender.run(state.webhook_stop.subscribe()));
        }
        if let Some(password) = boot.generated_password {
            // Shown once, on standard output only: never logged.
            println!(
                "harbor-server: created the system administrator \"admin\" with password: {password}\n\
                 harbor-server: this password is shown only once; change it with \
                 `harbor user passwd admin` or PUT /api/v2.0/users/<id>/password, or set a \
                 lost one with `harbor-server reset-admin-password`"
            );
        }
        if boot.admin_password_ignored {
            tracing::warn!(
                "HARBOR_ADMIN_PASSWORD (auth.admin_password) is ignored: the admin account \
                 exists already with another password"
            );
            eprintln!(
                "{}",
                admin_password_ignored(&harbor_storage::sql::redact_url(&config.database_url()))
            );
        }
        state.instance = Some(Arc::new(instance));
        state.request_timeout = config.request_timeout();
        state.default_storage_limit = config.quota.default_storage_limit;
        state.body_idle_timeout = Duration::from_secs(config.limits.body_idle_timeout_secs);
        state.metrics = Metrics::new(Some(probe));
        Ok(state)
    }
}

/// The warning printed when the initial admin password is set but not used.
fn admin_password_ignored(database: &str) -> String {
    format!(
        "harbor-server: WARNING: HARBOR_ADMIN_PASSWORD is set but IGNORED: it only sets the \
         password of the admin account created on the first start, and the admin account \
         of this registry ({database}) exists already with another password.\n\
         harbor-server: to set it: stop the server and run \
         `HARBOR_ADMIN_PASSWORD=... harbor-server reset-admin-password` with the same \
         configuration, or sign in and run `harbor user passwd admin`."
    )
}

/// The registry (`/v2/...`), token service, REST API, session endpoints and web portal as
/// one router, ready to be merged into another axum app. Unknown paths get the portal's
/// "no such page" (a plain `404` under `/v2/`, `/api/`, `/service/` and `/c/`): it is
/// the router's fallback, so an app with a fallback of its own sets it after the merge
/// (`app.merge(harbor_server::router(state)).fallback(mine)`), as axum refuses to merge
/// two routers that both have one.
pub fn router(state: AppState) -> Router {
    let guarded = oci::router()
        .route("/service/token", axum::routing::get(token::get))
        .merge(api::router())
        .merge(adapter::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            settings::read_only_guard,
        ))
        // No browser may guess another type for an API or token answer than declared.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state.clone());
    // The portal calls the same guarded router in process for everything it shows or does.
    // What comes from the network, portal forms included, has its body's silence bounded
    // and its client resolved.
    let proxies = state.proxies.clone();
    guarded
        .clone()
        .merge(portal::router(state.clone(), guarded))
        .layer(axum::middleware::from_fn_with_state(
            state,
            conn::limit_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            proxies,
            client::resolve,
        ))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// [`router`] plus `/metrics`, request metrics, request ids (`X-Request-Id`, generated
/// unless the client sent one) and one log line per request.
pub fn app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    router(state)
        .route(
            "/metrics",
            axum::routing::get(metrics::serve).with_state(metrics.clone()),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
