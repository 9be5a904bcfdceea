//! The Docker registry token service: `GET /service/token?service=harbor-registry&scope=...`.
//!
//! The caller authenticates with Basic credentials (user password or robot secret) or
//! not at all. Each requested `repository:<name>:<actions>` scope is granted, as Harbor
//! does, every action among `pull`, `push` and `delete` that the caller's permissions allow
//! in the repository's project, whatever was asked: clients such as oras-py fetch one
//! token on their first (pull) challenge and reuse it to push. An unknown project grants
//! nothing, except to a system administrator. `registry:catalog:*` is granted to system
//! administrators and to robots holding `catalog:read`.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use harbor_auth::principal::robot_system_allows;
use harbor_auth::scope::{Scope, parse_all};
use harbor_auth::token::{Access, SERVICE};
use harbor_auth::{Grants, Principal};
use harbor_core::RepositoryName;
use harbor_core::rbac::{Action, Resource};

use crate::AppState;
use crate::api::error::ApiError;
use crate::auth::{AuthFailure, authenticate, basic_challenge};

fn query(parts: &Parts) -> Vec<(String, String)> {
    crate::oci::headers::query(&parts.uri)
}

/// `GET /service/token`.
pub(crate) async fn get(State(state): State<AppState>, parts: Parts) -> Response {
    match issue(&state, &parts).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn issue(state: &AppState, parts: &Parts) -> Result<Response, ApiError> {
    let q = query(parts);
    if let Some(service) = q.iter().find(|(k, _)| k == "service").map(|(_, v)| v)
        && service != SERVICE
    {
        return Err(ApiError::bad_request(format!(
            "unknown service {:?}: this registry is {SERVICE:?}",
            service.chars().take(100).collect::<String>()
        )));
    }
    let scopes = parse_all(
        q.iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.as_str()),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let caller = match authenticate(state, parts, false).await {
        Ok(c) => c,
        Err(AuthFailure::BadCredentials(why)) => {
            let mut resp = ApiError::unauthorized(why).into_response();
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, basic_challenge());
            return Ok(resp);
        }
        Err(AuthFailure::Internal(e)) => return Err(e.into()),
    };
    let principal = caller.principal;
    if !principal.is_authenticated() && scopes.is_empty() {
        let mut resp = ApiError::unauthorized("authentication required").into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, basic_challenge());
        return Ok(resp);
    }
    let mut access = Vec::with_capacity(scopes.len());
    for scope in &scopes {
        access.push(grant(state, &principal, scope).await?);
    }
    let subject = match &principal {
        Principal::Anonymous => "",
        p => p.name(),
    };
    let now = harbor_core::model::now_ms().max(0) as u64 / 1000;
    let ttl = state.settings.get().await.token_ttl(state.tokens.ttl());
    let token = state
        .tokens
        .issue_for(subject, principal.account_id(), access, now, ttl)
        .map_err(harbor_core::Error::internal)?;
    let mut resp = Json(token).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    *resp.status_mut() = StatusCode::OK;
    Ok(resp)
}

async fn grant(state: &AppState, principal: &Principal, scope: &Scope) -> Result<Access, ApiError> {
    let mut granted = Vec::new();
    match scope.kind.as_str() {
        "repository" => {
            if let Ok(name) = RepositoryName::parse(&scope.name) {
                let project = name.as_str().split('/').next().unwrap_or_default();
                let (found, grants) = state.accounts.project_grants(principal, project).await?;
                let auto = found.is_none()
                    && state.auth.auto_create_projects
                    && matches!(principal, Principal::User(_));
                for (action, name) in [
                    (Action::Pull, "pull"),
                    (Action::Push, "push"),
                    (Action::Delete, "delete"),
                ] {
                    let ok = allows(&grants, action) || (auto && action != Action::Delete);
                    if ok {
                        granted.push(name.to_owned());
                    }
                }
            }
        }
        "registry" if scope.name == "catalog" && scope.actions.iter().any(|a| a == "*") => {
            let ok = match principal {
                Principal::Robot { robot, .. } => {
                    robot_system_allows(&robot.permissions, "catalog", "read")
                }
                p => p.is_sysadmin(),
            };
            if ok {
                granted.push("*".to_owned());
            }
        }
        _ => {}
    }
    Ok(Access {
        kind: scope.kind.clone(),
        name: scope.name.clone(),
        actions: granted,
    })
}

fn allows(grants: &Grants, action: Action) -> bool {
    grants.allows(Resource::Repository, action)
}
