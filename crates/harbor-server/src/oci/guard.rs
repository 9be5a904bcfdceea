//! Who may call which `/v2/` endpoint.
//!
//! Every request is authenticated (Basic, a registry token, or anonymous) and then
//! authorised: the base endpoint needs any valid identity, the catalog a system
//! administrator (or a robot with `catalog:read`), and repository endpoints the
//! `repository` pull, push or delete permission in the project named by the repository's
//! first path segment. Anonymous callers are challenged to fetch a token; a private or
//! missing project answers non-members exactly as one they may not see.

// Denials are complete responses (status, challenge, body), returned as the error value.
#![allow(clippy::result_large_err)]

use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use harbor_auth::principal::robot_system_allows;
use harbor_auth::{Grants, Principal};
use harbor_core::identity::Project;
use harbor_core::rbac::{Action, Resource};
use harbor_core::{Error, OciCode, RepositoryName};

use super::error;
use super::headers::{param, query};
use super::route::Route;
use crate::AppState;
use crate::auth::{AuthFailure, Caller, authenticate, basic_challenge, bearer_challenge};

/// A request that may proceed.
pub(crate) struct Allowed {
    /// Who is calling.
    pub caller: Caller,
    /// For `POST .../blobs/uploads/?mount=`: whether the caller may mount from the source.
    pub mount_allowed: bool,
    /// The project of the repository, when it exists.
    pub project: Option<Project>,
}

/// The permission a method needs on a repository.
fn action_for(method: &Method, route: &Route<'_>) -> Action {
    match *method {
        Method::GET | Method::HEAD if !matches!(route, Route::Upload { .. }) => Action::Pull,
        Method::DELETE if matches!(route, Route::Manifest { .. } | Route::Blob { .. }) => {
            Action::Delete
        }
        _ => Action::Push,
    }
}

/// The scope a challenge asks for, as Harbor words it.
fn challenge_actions(method: &Method) -> &'static str {
    match *method {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "pull,push",
    }
}

fn unauthorized(challenge: axum::http::HeaderValue, message: &str) -> Response {
    let mut resp = error::body(
        StatusCode::UNAUTHORIZED,
        OciCode::Unauthorized,
        message,
        None,
    );
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge);
    resp
}

fn denied(message: &str) -> Response {
    error::body(StatusCode::FORBIDDEN, OciCode::Denied, message, None)
}

/// A failure of the identity store or the throttle: a refusal the client can act on
/// (429, 503) as such, anything else as an internal error.
fn internal(e: Error) -> Response {
    use axum::response::IntoResponse as _;
    if matches!(e, Error::Internal(_)) {
        tracing::error!(error = %e, "authorization failed");
    }
    error::OciError(e).into_response()
}

/// Authenticates and authorises a request to `route` (`None`: the base endpoint).
pub(crate) async fn check(
    state: &AppState,
    parts: &Parts,
    route: Option<&Route<'_>>,
) -> Result<Allowed, Response> {
    let sent_credentials = parts.headers.contains_key(header::AUTHORIZATION);
    let caller = match authenticate(state, parts, true).await {
        Ok(c) => c,
        Err(AuthFailure::BadCredentials(why)) => {
            let challenge = if sent_credentials {
                basic_challenge()
            } else {
                bearer_challenge(state, &parts.headers, None, None)
            };
            return Err(unauthorized(challenge, why));
        }
        Err(AuthFailure::Internal(e)) => return Err(internal(e)),
    };
    let allowed = |caller| Allowed {
        caller,
        mount_allowed: false,
        project: None,
    };
    let Some(route) = route else {
        // The base endpoint: any valid identity; anonymous callers learn where to log in.
        if !caller.principal.is_authenticated() && caller.token.is_none() {
            return Err(unauthorized(
                bearer_challenge(state, &parts.headers, None, None),
                "authentication required",
            ));
        }
        return Ok(allowed(caller));
    };
    let name = match route_name(route) {
        Some(raw) => match RepositoryName::parse(raw) {
            Ok(n) => n,
            // The handler answers NAME_INVALID; no access decision depends on it.
            Err(_) => return Ok(allowed(caller)),
        },
        None => return catalog(caller),
    };
    let action = action_for(&parts.method, route);
    let scope = challenge_scope(parts, route, &name);
    let project_name = name.as_str().split('/').next().unwrap_or_default();
    let (project, ok) = match &caller.token {
        Some(claims) => {
            let mut ok = token_allows(claims, name.as_str(), action.as_str());
            let project = if ok {
                lookup(state, project_name).await?
            } else {
                None
            };
            // A token issued before its project was created was granted for a project
            // that has since been deleted: it says nothing about the new one (Harbor's
            // rule). The new project's owner is exempt: it holds every right in it, and a
            // push that auto-created the project goes on with the token it started with.
            if let Some(p) = &project
                && p.owner_name != claims.sub
                && i64::try_from(claims.iat)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000)
                    < p.created_ms - 1000
            {
                ok = false;
            }
            (project, ok)
        }
        None => {
            let (project, grants) = state
                .accounts
                .project_grants(&caller.principal, project_name)
                .await
                .map_err(internal)?;
            let ok = grants.allows(Resource::Repository, action)
                || (project.is_none() && can_auto_create(state, &caller.principal, action));
            (project, ok)
        }
    };
    if !ok {
        return Err(if caller.token.is_some() {
            unauthorized(
                bearer_challenge(
                    state,
                    &parts.headers,
                    Some(&scope),
                    Some("insufficient_scope"),
                ),
                &format!("unauthorized to access repository: {name}, action: {action}"),
            )
        } else if caller.principal.is_authenticated() {
            denied(&format!(
                "not allowed to {action} repository {name}, or it does not exist"
            ))
        } else {
            unauthorized(
                bearer_challenge(state, &parts.headers, Some(&scope), None),
                "authentication required",
            )
        });
    }
    let project = match project {
        None if action == Action::Push => {
            Some(auto_create(state, &caller.principal, project_name).await?)
        }
        // A proxy-cache project holds what its upstream has, nothing else (Harbor's words).
        Some(p) if action == Action::Push && p.registry_id.is_some() => {
            return Err(denied(&format!(
                "can not push artifact to a proxy project: {}",
                p.name
            )));
        }
        p => p,
    };
    let mount_allowed = mount_allowed(state, parts, &caller, &name).await?;
    Ok(Allowed {
        caller,
        mount_allowed,
        project,
    })
}

/// The scope a challenge for this request asks for. A cross-repository mount
/// (`POST …/blobs/uploads/?mount=D&from=F`) asks for the pull scope of `F` too, as CNCF
/// Distribution does, so that a client following the challenge gets a token that allows
/// the mount (otherwise the mount silently becomes a full upload).
fn challenge_scope(parts: &Parts, route: &Route<'_>, name: &RepositoryName) -> String {
    let mut scope = format!(
        "repository:{}:{}",
        name.as_str(),
        challenge_actions(&parts.method)
    );
    if parts.method == Method::POST && matches!(route, Route::Uploads { .. }) {
        let q = query(&parts.uri);
        if param(&q, "mount").is_some()
            && let Some(from) = param(&q, "from").and_then(|f| RepositoryName::parse(f).ok())
            && from.as_str() != name.as_str()
        {
            scope.push_str(&format!(" repository:{}:pull", from.as_str()));
        }
    }
    scope
}

fn route_name<'a>(route: &Route<'a>) -> Option<&'a str> {
    match *route {
        Route::Catalog => None,
        Route::Tags { name }
        | Route::Manifest { name, .. }
        | Route::Blob { name, .. }
        | Route::Uploads { name }
        | Route::Upload { name, .. }
        | Route::Referrers { name, .. } => Some(name),
    }
}

fn catalog(caller: Caller) -> Result<Allowed, Response> {
    let ok = match (&caller.token, &caller.principal) {
        (Some(claims), _) => claims.access.iter().any(|a| {
            a.kind == "registry" && a.name == "catalog" && a.actions.iter().any(|x| x == "*")
        }),
        (None, Principal::Robot { robot, .. }) => {
            robot_system_allows(&robot.permissions, "catalog", "read")
        }
        (None, p) => p.is_sysadmin(),
    };
    if ok {
        return Ok(Allowed {
            caller,
            mount_allowed: false,
            project: None,
        });
    }
    Err(
        if caller.principal.is_authenticated() && caller.token.is_none() {
            denied("the catalog is only available to system administrators")
        } else {
            unauthorized(basic_challenge(), "authentication required")
        },
    )
}

fn token_allows(claims: &harbor_auth::token::Claims, name: &str, action: &str) -> bool {
    claims
        .access
        .iter()
        .any(|a| a.kind == "repository" && a.name == name && a.actions.iter().any(|x| x == action))
}

async fn lookup(state: &AppState, project: &str) -> Result<Option<Project>, Response> {
    state
        .accounts
        .store()
        .project_by_name(project)
        .await
        .map_err(internal)
}

fn can_auto_create(state: &AppState, principal: &Principal, action: Action) -> bool {
    state.auth.auto_create_projects
        && action == Action::Push
        && matches!(principal, Principal::User(_))
}

/// A push into a missing project: creates it when configured to, else `NAME_UNKNOWN`.
async fn auto_create(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<Project, Response> {
    let not_found = || {
        error::body(
            StatusCode::NOT_FOUND,
            OciCode::NameUnknown,
            &format!("project {name} not found: create it before pushing"),
            None,
        )
    };
    if !matches!(principal, Principal::User(_))
        || !state.auth.auto_create_projects
        || harbor_core::identity::check_project_name(name).is_err()
        || !state.platform.projects.may_create(principal).await
    {
        return Err(not_found());
    }
    let new = harbor_platform::projects::CreateProject {
        name: name.to_owned(),
        ..Default::default()
    };
    match state.platform.projects.create(principal, new).await {
        Ok(p) => Ok(p),
        // Created concurrently by another push.
        Err(Error::Conflict(_)) => match state.accounts.store().project_by_name(name).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(not_found()),
            Err(e) => Err(internal(e)),
        },
        Err(e) => Err(internal(e)),
    }
}

/// A cross-repository mount needs pull access to the source (`from`). Without `from` the
/// registry would look the digest up anywhere, which could reveal blobs of projects the
/// caller cannot see: only system administrators may do that.
async fn mount_allowed(
    state: &AppState,
    parts: &Parts,
    caller: &Caller,
    target: &RepositoryName,
) -> Result<bool, Response> {
    if parts.method != Method::POST {
        return Ok(false);
    }
    let q = query(&parts.uri);
    if param(&q, "mount").is_none() {
        return Ok(false);
    }
    let Some(from) = param(&q, "from").filter(|f| !f.is_empty()) else {
        return Ok(caller.principal.is_sysadmin());
    };
    let Ok(from) = RepositoryName::parse(from) else {
        // The handler rejects the malformed name (NAME_INVALID); nothing is mounted.
        return Ok(true);
    };
    if from.as_str() == target.as_str() {
        return Ok(true);
    }
    if let Some(claims) = &caller.token {
        return Ok(token_allows(claims, from.as_str(), "pull"));
    }
    let project = from.as_str().split('/').next().unwrap_or_default();
    let (_, grants): (_, Grants) = state
        .accounts
        .project_grants(&caller.principal, project)
        .await
        .map_err(internal)?;
    Ok(grants.allows(Resource::Repository, Action::Pull))
}

/// Whether `caller` may push to `name` (through its token's scope, else its grants): a
/// signing client (`cosign`, `notation`) that may push reads unsigned artifacts despite a
/// project's signature policy. Asked only of such clients.
pub(crate) async fn may_push(state: &AppState, caller: &Caller, name: &RepositoryName) -> bool {
    if let Some(claims) = &caller.token {
        return token_allows(claims, name.as_str(), "push");
    }
    let project = name.as_str().split('/').next().unwrap_or_default();
    match state
        .accounts
        .project_grants(&caller.principal, project)
        .await
    {
        Ok((_, grants)) => grants.allows(Resource::Repository, Action::Push),
        Err(_) => false,
    }
}
