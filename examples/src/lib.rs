//! Embedding the Harbor-rs registry in your own axum service.
//!
//! OCI clients always talk to `/v2/` at the root of a host, so the registry router is
//! *merged* next to the application's own routes rather than nested under a prefix. Your
//! middleware can wrap the registry alone (here: a header telling which part answered).

pub mod events;
pub mod platform;

use axum::Router;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use harbor_server::AppState;

/// The host application's own routes.
fn own_routes() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/hello",
            get(|| async { "hello from the host application" }),
        )
}

/// Marks responses served by the embedded registry.
async fn tag_registry(req: axum::extract::Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert("x-served-by", HeaderValue::from_static("embedded-registry"));
    resp
}

/// The combined application: your routes plus the registry's `/v2/` API.
pub fn app(registry: AppState) -> Router {
    let registry = harbor_server::router(registry).layer(middleware::from_fn(tag_registry));
    own_routes().merge(registry)
}
