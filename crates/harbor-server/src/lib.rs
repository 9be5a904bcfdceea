//! The Harbor-rs HTTP server.
//!
//! - [`router`]: the OCI `/v2/` API as an `axum::Router`, to nest in another application.
//! - [`app`]: the router with the production middleware (request ids, request logs).
//! - [`serve`]: the accept loop with graceful shutdown, used by the `harbor-server` binary.

#![warn(missing_docs)]

pub mod config;
pub mod metrics;
mod oci;
pub mod serve;
pub mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use harbor_core::{Registry, RegistryConfig};
use harbor_storage::blob::StorageOptions;
use harbor_storage::sql::PoolConfig;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore, StorageError};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use config::Config;
use metrics::{Metrics, PoolProbe, PoolSample};

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The registry service.
    pub registry: Registry,
    /// Time limit of requests that do not stream blob data.
    pub request_timeout: Duration,
    /// Prometheus metrics.
    pub metrics: Metrics,
}

impl AppState {
    /// State around a registry with the default request timeout.
    pub fn new(registry: Registry) -> Self {
        AppState {
            registry,
            request_timeout: Duration::from_secs(60),
            metrics: Metrics::new(None),
        }
    }

    /// Opens the storage the configuration names: by default SQLite metadata in
    /// `<data_dir>/registry.db` and blobs in `<data_dir>/storage`.
    pub async fn open(config: &Config) -> Result<Self, StorageError> {
        let storage = StorageOptions {
            fsync: config.storage.fsync,
            part_size: config.storage.part_size,
            s3: config.storage.s3.clone(),
        };
        let blobs = ObjectBlobStore::open(&config.storage_url(), &storage)?;
        let pool = PoolConfig {
            max_connections: config.database.max_connections,
            acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
            durable: config.storage.fsync,
        };
        let meta = Arc::new(SqlMetadataStore::connect(&config.database_url(), &pool).await?);
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
            meta,
            RegistryConfig {
                max_manifest_bytes: config.limits.max_manifest_bytes,
                upload_idle_timeout: Duration::from_secs(config.limits.upload_idle_timeout_secs),
                ..RegistryConfig::default()
            },
        );
        Ok(AppState {
            registry,
            request_timeout: config.request_timeout(),
            metrics: Metrics::new(Some(probe)),
        })
    }
}

/// The registry API (`/v2/...`) as a router, ready to be merged into another axum app.
pub fn router(state: AppState) -> Router {
    oci::router().with_state(state)
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
