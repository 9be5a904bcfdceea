//! The REST API under `/api/v2.0/` (Harbor-compatible paths, fields and errors) and the
//! portal's session endpoints under `/c/`.

mod allowlists;
mod artifacts;
mod configurations;
pub(crate) mod context;
pub(crate) mod error;
mod executions;
mod immutable;
mod jobservice;
mod labels;
mod ldap;
mod logs;
mod members;
mod metadatas;
mod oidc;
pub(crate) mod paging;
mod projects;
mod quotas;
mod registries;
mod replication;
mod repositories;
mod retention;
mod retention_runs;
mod robots;
mod scan_all;
mod scanner;
mod scanners;
mod scans;
mod search;
mod security;
mod session;
mod signatures;
mod system;
mod usergroups;
mod users;
mod webhooks;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;
use error::ApiError;

/// Harbor's execution routes of one system job kind under `/system/<path>`.
fn system_jobs<K: executions::SystemJob>(path: &str) -> Router<AppState> {
    Router::new()
        .route(&format!("/system/{path}"), get(executions::list_runs::<K>))
        .route(
            &format!("/system/{path}/schedule"),
            get(executions::get_schedule::<K>)
                .post(executions::post_schedule::<K>)
                .put(executions::put_schedule::<K>),
        )
        .route(
            &format!("/system/{path}/{{id}}"),
            get(executions::get_run::<K>).put(executions::stop_run::<K>),
        )
        .route(
            &format!("/system/{path}/{{id}}/log"),
            get(executions::run_log::<K>),
        )
}

/// The `/api/v2.0` and `/c` routes.
pub(crate) fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/ping", get(system::ping))
        .route("/health", get(system::health))
        .route("/systeminfo", get(system::systeminfo))
        .route("/search", get(search::search))
        .route("/statistics", get(search::statistics))
        .route("/security/summary", get(security::summary))
        .route("/security/vul", get(security::vulnerabilities))
        .route("/export/cve", post(security::export))
        .route("/export/cve/executions", get(security::executions))
        .route("/export/cve/execution/{id}", get(security::get_execution))
        .route("/export/cve/download/{id}", get(security::download))
        .route(
            "/configurations",
            get(configurations::get).put(configurations::put),
        )
        .route(
            "/usergroups",
            get(usergroups::list_groups).post(usergroups::create),
        )
        .route("/usergroups/search", get(usergroups::search))
        .route(
            "/usergroups/{id}",
            get(usergroups::get)
                .put(usergroups::update)
                .delete(usergroups::delete),
        )
        .route("/users", get(users::list_users).post(users::create))
        .route("/users/search", get(users::search))
        .route("/users/current", get(users::current))
        .route(
            "/users/current/permissions",
            get(users::current_permissions),
        )
        .route(
            "/users/{id}",
            get(users::get).put(users::update).delete(users::delete),
        )
        .route("/users/{id}/password", axum::routing::put(users::password))
        .route("/users/{id}/sysadmin", axum::routing::put(users::sysadmin))
        .route(
            "/users/{id}/cli_secret",
            axum::routing::put(oidc::put_cli_secret),
        )
        .route("/system/oidc/ping", post(oidc::ping))
        .route(
            "/projects",
            get(projects::list_projects)
                .post(projects::create)
                .head(projects::head),
        )
        .route(
            "/projects/{p}",
            get(projects::get)
                .put(projects::update)
                .delete(projects::delete),
        )
        .route("/projects/{p}/_deletable", get(projects::is_deletable))
        .route(
            "/projects/{p}/metadatas",
            get(metadatas::list).post(metadatas::add),
        )
        .route(
            "/projects/{p}/metadatas/",
            get(metadatas::list).post(metadatas::add),
        )
        .route(
            "/projects/{p}/metadatas/{name}",
            get(metadatas::get)
                .put(metadatas::put)
                .delete(metadatas::delete),
        )
        .route("/projects/{p}/summary", get(projects::summary))
        .route(
            "/projects/{p}/signature/keys",
            get(signatures::list).post(signatures::add),
        )
        .route(
            "/projects/{p}/signature/keys/{id}",
            axum::routing::delete(signatures::delete),
        )
        .route(
            "/projects/{p}/members",
            get(members::list_members).post(members::create),
        )
        .route(
            "/projects/{p}/members/{mid}",
            get(members::get)
                .put(members::update)
                .delete(members::delete),
        )
        .route("/projects/{p}/logs", get(logs::project))
        .route("/repositories", get(repositories::list_all))
        .route(
            "/projects/{p}/repositories",
            get(repositories::list_project),
        )
        .route(
            "/projects/{p}/repositories/{r}",
            get(repositories::get)
                .put(repositories::update)
                .delete(repositories::delete),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts",
            get(artifacts::list_artifacts).post(artifacts::copy),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}",
            get(artifacts::get).delete(artifacts::delete),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/tags",
            get(artifacts::list_tags).post(artifacts::create_tag),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/tags/{tag}",
            axum::routing::delete(artifacts::delete_tag),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/accessories",
            get(artifacts::accessories),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/scan",
            post(scans::scan),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/scan/stop",
            post(scans::stop),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/scan/{report_id}/log",
            get(scans::log),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/additions/{addition}",
            get(artifacts::addition),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/labels",
            post(labels::attach),
        )
        .route(
            "/projects/{p}/repositories/{r}/artifacts/{reference}/labels/{label_id}",
            axum::routing::delete(labels::detach),
        )
        .route(
            "/projects/{p}/immutabletagrules",
            get(immutable::list_rules).post(immutable::create),
        )
        .route(
            "/projects/{p}/immutabletagrules/{id}",
            axum::routing::put(immutable::update).delete(immutable::delete),
        )
        .route("/labels", get(labels::list_labels).post(labels::create))
        .route(
            "/labels/{id}",
            get(labels::get).put(labels::update).delete(labels::delete),
        )
        .route(
            "/registries",
            get(registries::list_registries).post(registries::create),
        )
        .route("/registries/ping", post(registries::ping))
        .route(
            "/registries/{id}",
            get(registries::get)
                .put(registries::update)
                .delete(registries::delete),
        )
        .route("/registries/{id}/info", get(registries::info))
        .route(
            "/replication/policies",
            get(replication::list_policies).post(replication::create_policy),
        )
        .route(
            "/replication/policies/{id}",
            get(replication::get_policy)
                .put(replication::update_policy)
                .delete(replication::delete_policy),
        )
        .route(
            "/replication/executions",
            get(replication::list_executions).post(replication::start),
        )
        .route(
            "/replication/executions/{id}",
            get(replication::get_execution).put(replication::stop),
        )
        .route(
            "/replication/executions/{id}/tasks",
            get(replication::tasks),
        )
        .route(
            "/replication/executions/{id}/tasks/{task_id}/log",
            get(replication::task_log),
        )
        .route(
            "/scanners",
            get(scanners::list_scanners).post(scanners::create),
        )
        .route("/scanners/ping", post(scanners::ping))
        .route(
            "/scanners/{id}",
            get(scanners::get)
                .put(scanners::update)
                .delete(scanners::delete)
                .patch(scanners::set_default),
        )
        .route("/scanners/{id}/metadata", get(scanners::metadata))
        .route(
            "/projects/{p}/scanner",
            get(scanners::project_scanner).put(scanners::set_project_scanner),
        )
        .route(
            "/projects/{p}/scanner/candidates",
            get(scanners::candidates),
        )
        .route("/replication/adapters", get(registries::adapters))
        .route("/replication/adapterinfos", get(registries::adapter_infos))
        .route("/audit-logs", get(logs::all))
        .route("/quotas", get(quotas::list_quotas))
        .route("/quotas/{id}", get(quotas::get).put(quotas::update))
        .route("/quotas/{id}/recount", post(quotas::recount))
        .route("/robots", get(robots::list_robots).post(robots::create))
        .route("/permissions", get(robots::permissions))
        .route(
            "/robots/{id}",
            get(robots::get)
                .put(robots::update)
                .patch(robots::refresh)
                .delete(robots::delete),
        )
        .merge(retention::routes())
        .merge(webhooks::routes())
        .merge(ldap::routes())
        .merge(system_jobs::<executions::Gc>("gc"))
        .merge(system_jobs::<executions::PurgeAudit>("purgeaudit"))
        .merge(system_jobs::<executions::ScanAll>("scanAll"))
        .route("/system/scanAll/stop", post(scan_all::stop))
        .route("/scans/all/metrics", get(scan_all::metrics))
        .route("/scans/schedule/metrics", get(scan_all::schedule_metrics))
        .merge(system_jobs::<executions::Fsck>("fsck"))
        .merge(system_jobs::<executions::UploadCleanup>("uploadcleanup"))
        .route("/jobservice/queues", get(jobservice::queues))
        .route("/jobservice/pools", get(jobservice::pools))
        .route(
            "/jobservice/jobs/{id}",
            axum::routing::put(jobservice::act_on_job),
        )
        .route("/jobservice/jobs/{id}/log", get(jobservice::job_log))
        .route("/schedules", get(jobservice::schedules))
        .route(
            "/system/vulnerability-db",
            get(scanner::get_db).put(scanner::put_db),
        )
        .route(
            "/system/CVEAllowlist",
            get(allowlists::get_system).put(allowlists::put_system),
        )
        .route("/schedules/{kind}/paused", get(jobservice::paused))
        .fallback(not_found);
    Router::new()
        .nest("/api/v2.0", api)
        .route("/c/login", post(session::login))
        .route("/c/log_out", get(session::log_out))
        .route("/c/csrf", get(session::csrf))
        .layer(axum::middleware::map_response(harbor_errors))
        // Pages for the browser: their errors are pages too, not Harbor's error JSON,
        // with the portal's security headers.
        .merge(
            Router::new()
                .route("/c/oidc/login", get(oidc::login))
                .route("/c/oidc/callback", get(oidc::callback))
                .route("/c/oidc/onboard", post(oidc::onboard))
                .route("/c/oidc/logout", get(oidc::logout))
                .layer(axum::middleware::map_response(oidc::page_headers)),
        )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such API endpoint")
}

/// Gives axum's own rejections (malformed JSON or path parameters, wrong method) Harbor's
/// error body.
async fn harbor_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match parts.status {
        StatusCode::BAD_REQUEST
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::UNSUPPORTED_MEDIA_TYPE => "BAD_REQUEST",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::PAYLOAD_TOO_LARGE => "REQUEST_ENTITY_TOO_LARGE",
        s if s.is_server_error() => "UNKNOWN",
        _ => "BAD_REQUEST",
    };
    // Bad JSON or paths are client errors: a 422 from axum becomes Harbor's 400.
    let status = if parts.status == StatusCode::UNPROCESSABLE_ENTITY
        || parts.status == StatusCode::UNSUPPORTED_MEDIA_TYPE
    {
        StatusCode::BAD_REQUEST
    } else {
        parts.status
    };
    let message = if status.is_server_error() {
        "internal server error".to_owned()
    } else if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    let _: Option<Body> = None;
    out
}
