//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `harbor_http_requests_total` | counter | `route`, `method`, `status` |
//! | `harbor_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `harbor_blob_bytes_pushed_total` | counter | |
//! | `harbor_blob_bytes_pulled_total` | counter | |
//! | `harbor_uploads_in_flight` | gauge | |
//! | `harbor_db_connections` | gauge | `pool`, `state` (`idle`, `used`) |
//!
//! `route` is the API endpoint (`manifest`, `blob`, `upload`, ...), never a repository
//! name, so the number of series stays small.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The API endpoint a request was routed to, attached to responses by the router.
#[derive(Clone, Copy, Debug)]
pub struct RouteLabel(pub &'static str);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

/// A connection pool's size and idle connections, sampled at scrape time.
#[derive(Clone, Debug)]
pub struct PoolSample {
    /// Pool name.
    pub pool: &'static str,
    /// Open connections.
    pub size: u32,
    /// Idle connections among them.
    pub idle: u32,
}

/// Something that reports connection pools at scrape time.
pub type PoolProbe = Arc<dyn Fn() -> Vec<PoolSample> + Send + Sync>;

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
    pushed: Counter<u64, AtomicU64>,
    pulled: Counter<u64, AtomicU64>,
    uploads: Gauge,
    db: Family<PoolLabels, Gauge>,
    pools: Option<PoolProbe>,
}

/// The process's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Metrics {
    /// Fresh metrics; `pools` reports database pools when scraped.
    pub fn new(pools: Option<PoolProbe>) -> Self {
        let mut registry = Registry::with_prefix("harbor");
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.5, 14))
        });
        let pushed = Counter::<u64, AtomicU64>::default();
        let pulled = Counter::<u64, AtomicU64>::default();
        let uploads = Gauge::default();
        let db = Family::<PoolLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head (blob bodies stream on afterwards)",
            duration.clone(),
        );
        registry.register(
            "blob_bytes_pushed",
            "Blob bytes received in uploads",
            pushed.clone(),
        );
        registry.register(
            "blob_bytes_pulled",
            "Blob bytes sent in downloads",
            pulled.clone(),
        );
        registry.register(
            "uploads_in_flight",
            "Upload requests streaming data now",
            uploads.clone(),
        );
        registry.register(
            "db_connections",
            "Database connections by pool and state",
            db.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            duration,
            pushed,
            pulled,
            uploads,
            db,
            pools,
        }))
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        if let Some(probe) = &self.0.pools {
            for p in probe() {
                let used = i64::from(p.size.saturating_sub(p.idle));
                self.0
                    .db
                    .get_or_create(&PoolLabels {
                        pool: p.pool,
                        state: "idle",
                    })
                    .set(i64::from(p.idle));
                self.0
                    .db
                    .get_or_create(&PoolLabels {
                        pool: p.pool,
                        state: "used",
                    })
                    .set(used);
            }
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.registry);
        out
    }

    /// Counts the bytes of an upload body as they arrive, and the upload as in flight
    /// until the stream is dropped.
    pub fn count_pushed<S, E>(
        &self,
        body: S,
    ) -> impl Stream<Item = Result<bytes::Bytes, E>> + Send + 'static
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
    {
        let inner = self.0.clone();
        inner.uploads.inc();
        let guard = InFlight(inner.clone());
        body.map(move |chunk| {
            let _ = &guard;
            if let Ok(c) = &chunk {
                inner.pushed.inc_by(c.len() as u64);
            }
            chunk
        })
    }

    /// Counts the bytes of a download body as they leave.
    pub fn count_pulled<S, E>(
        &self,
        body: S,
    ) -> impl Stream<Item = Result<bytes::Bytes, E>> + Send + 'static
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
    {
        let inner = self.0.clone();
        body.map(move |chunk| {
            if let Ok(c) = &chunk {
                inner.pulled.inc_by(c.len() as u64);
            }
            chunk
        })
    }

    fn observe(&self, route: &'static str, method: &Method, status: u16, secs: f64) {
        let method = method_label(method);
        self.0
            .requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.0
            .duration
            .get_or_create(&RouteLabels { route, method })
            .observe(secs);
    }
}

/// Decrements the in-flight gauge when an upload body is dropped.
struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.uploads.dec();
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware recording every request's route, method, status and time to response.
pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let start = Instant::now();
    let resp = next.run(req).await;
    let route = resp
        .extensions()
        .get::<RouteLabel>()
        .map_or("other", |r| r.0);
    metrics.observe(
        route,
        &method,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// `GET /metrics`.
pub async fn serve(State(metrics): State<Metrics>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}
