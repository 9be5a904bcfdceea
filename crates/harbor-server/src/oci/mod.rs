//! The OCI distribution API under `/v2/`.

mod blobs;
pub(crate) mod error;
mod guard;
pub(crate) mod headers;
mod listing;
mod manifests;
mod route;
mod uploads;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use harbor_core::{Error, OciCode, RepositoryName};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::conn::Drainable;
use crate::metrics::RouteLabel;
use error::OciError;
use route::Route;

/// Result of an OCI handler.
pub(crate) type ApiResult = Result<Response, OciError>;

/// The `/v2/` router. Every response carries `Docker-Distribution-API-Version`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v2", any(base))
        .route("/v2/", any(base))
        .route("/v2/{*path}", any(dispatch))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("docker-distribution-api-version"),
            HeaderValue::from_static("registry/2.0"),
        ))
        // Blobs are arbitrary bytes: never let a browser sniff them into HTML.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

async fn base(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let mut resp = match guard::check(&state, &parts, None).await {
        Ok(_) => base_response(parts.method),
        Err(denied) => denied,
    };
    resp.extensions_mut().insert(RouteLabel("base"));
    resp
}

fn base_response(method: Method) -> Response {
    match method {
        Method::GET | Method::HEAD => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            "{}",
        )
            .into_response(),
        _ => method_not_allowed(),
    }
}

fn method_not_allowed() -> Response {
    error::body(
        StatusCode::METHOD_NOT_ALLOWED,
        OciCode::Unsupported,
        "the method is not supported on this endpoint",
        None,
    )
}

fn name(raw: &str) -> Result<RepositoryName, OciError> {
    Ok(RepositoryName::parse(raw)?)
}

async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // Pulls carry no body: nothing to drain, and their path stays as it was.
    if matches!(parts.method, Method::GET | Method::HEAD | Method::DELETE) {
        return answer(&state, parts, body).await;
    }
    let (body, rest) = Drainable::split(body);
    let resp = answer(&state, parts, body).await;
    // An early error (a denied push, a chunk out of order, a manifest too large) is
    // answered once the client has sent its body, not while it is still sending it.
    if resp.status().is_client_error() || resp.status().is_server_error() {
        rest.drain().await;
    }
    resp
}

async fn answer(state: &AppState, parts: Parts, body: Body) -> Response {
    let path = parts.uri.path().strip_prefix("/v2/").unwrap_or_default();
    let Some(route) = Route::parse(path) else {
        let mut resp = error::body(
            StatusCode::NOT_FOUND,
            OciCode::Unsupported,
            "unknown registry API endpoint",
            None,
        );
        resp.extensions_mut().insert(RouteLabel("unknown"));
        return resp;
    };
    let label = RouteLabel(route.label());
    let allowed = match guard::check(state, &parts, Some(&route)).await {
        Ok(a) => a,
        Err(mut resp) => {
            resp.extensions_mut().insert(label);
            return resp;
        }
    };
    let timeout = state.request_timeout;
    let streaming = matches!(route, Route::Upload { .. } | Route::Uploads { .. })
        || (matches!(route, Route::Blob { .. }) && parts.method == Method::GET);
    let fut = handle(state, &allowed, route, &parts, body);
    let result = if streaming {
        fut.await
    } else {
        bounded(timeout, fut).await
    };
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    resp.extensions_mut().insert(label);
    resp
}

async fn bounded(limit: Duration, fut: impl Future<Output = ApiResult>) -> ApiResult {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(OciError(Error::internal(format!(
            "request did not complete within {}s",
            limit.as_secs()
        )))),
    }
}

async fn handle(
    state: &AppState,
    allowed: &guard::Allowed,
    route: Route<'_>,
    parts: &Parts,
    body: Body,
) -> ApiResult {
    let reg = &state.registry;
    let m = &parts.method;
    let who = allowed.caller.principal.name();
    let proxy = allowed
        .project
        .as_ref()
        .filter(|p| p.registry_id.is_some())
        .map(|p| (&state.platform.proxy, p));
    match route {
        Route::Catalog if m == Method::GET => listing::catalog(reg, parts).await,
        Route::Tags { name: n } if m == Method::GET => listing::tags(reg, &name(n)?, parts).await,
        Route::Referrers { name: n, digest } if m == Method::GET => {
            listing::referrers(reg, &name(n)?, digest, parts).await
        }
        Route::Manifest { name: n, reference } => {
            let n = name(n)?;
            let signer = matches!(*m, Method::GET | Method::HEAD)
                && allowed.project.is_some()
                && headers::text(&parts.headers, axum::http::header::USER_AGENT)
                    .is_some_and(harbor_core::signature::signing_client)
                && guard::may_push(state, &allowed.caller, &n).await;
            let puller = manifests::Puller {
                policy: &state.platform.pull_policy,
                signatures: &state.platform.signatures,
                by: &allowed.caller.principal,
                project: allowed.project.as_ref(),
                signer,
            };
            match *m {
                Method::GET | Method::HEAD if proxy.is_some() => match proxy {
                    Some(proxy) => {
                        let with_body = *m == Method::GET;
                        manifests::get_proxied(reg, proxy, &puller, &n, reference, parts, with_body)
                            .await
                    }
                    None => Ok(method_not_allowed()),
                },
                Method::GET => {
                    let r = manifests::get(reg, &puller, &n, reference, parts, true).await;
                    if let Ok(resp) = &r {
                        let digest = resp
                            .headers()
                            .get(headers::DOCKER_CONTENT_DIGEST)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        reg.record_manifest_pull(who, &n, reference, digest);
                    }
                    r
                }
                Method::HEAD => manifests::get(reg, &puller, &n, reference, parts, false).await,
                Method::PUT => manifests::put(reg, who, &n, reference, parts, body).await,
                Method::DELETE => manifests::delete(reg, who, &n, reference).await,
                _ => Ok(method_not_allowed()),
            }
        }
        Route::Blob { name: n, digest } => {
            let n = name(n)?;
            match *m {
                Method::GET => {
                    blobs::get(reg, &state.metrics, &n, digest, parts, true, proxy).await
                }
                Method::HEAD => {
                    blobs::get(reg, &state.metrics, &n, digest, parts, false, proxy).await
                }
                Method::DELETE => blobs::delete(reg, &n, digest).await,
                _ => Ok(method_not_allowed()),
            }
        }
        Route::Uploads { name: n } if m == Method::POST => {
            uploads::post(
                reg,
                &state.metrics,
                &name(n)?,
                parts,
                body,
                allowed.mount_allowed,
            )
            .await
        }
        Route::Upload { name: n, id } => {
            let n = name(n)?;
            match *m {
                Method::GET => uploads::status(reg, &n, id).await,
                Method::PATCH => uploads::patch(reg, &state.metrics, &n, id, parts, body).await,
                Method::PUT => uploads::put(reg, &state.metrics, &n, id, parts, body).await,
                Method::DELETE => uploads::delete(reg, &n, id).await,
                _ => Ok(method_not_allowed()),
            }
        }
        _ => Ok(method_not_allowed()),
    }
}
