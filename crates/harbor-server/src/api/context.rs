//! The caller of an API request: Basic credentials or a session cookie (with CSRF
//! protection on unsafe methods), and access checks on projects.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use harbor_auth::secret::constant_time_eq;
use harbor_auth::{Grants, Principal};
use harbor_core::identity::{Project, Session, User};
use harbor_core::rbac::{Action, Resource};
use harbor_platform::ProjectRef;

use super::error::{ApiError, ApiResult};
use crate::AppState;
use crate::auth::{AuthFailure, authenticate};

/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "sid";
/// Header carrying the CSRF token of a cookie-authenticated request.
pub(crate) const CSRF_HEADER: &str = "x-harbor-csrf-token";

/// Who is calling the API.
pub(crate) struct Ctx {
    pub principal: Principal,
    /// The session, when authenticated by cookie.
    pub session: Option<Session>,
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return match authenticate(state, parts, false).await {
                Ok(c) => Ok(Ctx {
                    principal: c.principal,
                    session: None,
                }),
                Err(AuthFailure::BadCredentials(why)) => Err(ApiError::unauthorized(why)),
                Err(AuthFailure::Internal(e)) => Err(e.into()),
            };
        }
        let Some(sid) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| !s.is_empty()) else {
            return Ok(Ctx {
                principal: Principal::Anonymous,
                session: None,
            });
        };
        let Some((session, user)) = state.platform.sessions.resolve(sid).await? else {
            return Err(ApiError::unauthorized(
                "the session has expired (or its user no longer exists): log in again",
            ));
        };
        if !is_safe(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !constant_time_eq(sent, session.csrf_token.as_bytes()) {
                return Err(ApiError::forbidden(
                    "CSRF token missing or invalid: send the X-Harbor-CSRF-Token header",
                ));
            }
        }
        Ok(Ctx {
            principal: Principal::User(user),
            session: Some(session),
        })
    }
}

impl Ctx {
    /// Any authenticated caller.
    pub fn require_authenticated(&self) -> ApiResult<()> {
        if self.principal.is_authenticated() {
            Ok(())
        } else {
            Err(ApiError::unauthorized("authentication required"))
        }
    }

    /// An authenticated user (not a robot).
    pub fn require_user(&self) -> ApiResult<&User> {
        match &self.principal {
            Principal::User(u) => Ok(u),
            Principal::Anonymous => Err(ApiError::unauthorized("authentication required")),
            Principal::Robot { .. } => Err(ApiError::forbidden(
                "robot accounts cannot use this endpoint",
            )),
        }
    }

    /// A system administrator.
    pub fn require_sysadmin(&self) -> ApiResult<()> {
        self.require_authenticated()?;
        if self.principal.is_sysadmin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only system administrators may do this",
            ))
        }
    }

    /// The project `reference` names (a name, or an id when numeric unless
    /// `X-Is-Resource-Name: true`), with the caller's grants in it. A project the caller
    /// may not read is answered as missing (401 for anonymous callers), so its existence
    /// is not revealed.
    pub async fn project(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        reference: &str,
    ) -> ApiResult<(Project, Grants)> {
        let r = project_ref(headers, reference)?;
        Ok(state.platform.projects.open(&self.principal, &r).await?)
    }
}

/// The project a path's `{project_name_or_id}` and the `X-Is-Resource-Name` header name; a
/// header that is not `true` or `false` is Harbor's 422.
pub(crate) fn project_ref(headers: &HeaderMap, reference: &str) -> ApiResult<ProjectRef> {
    let by_name = match headers.get("x-is-resource-name") {
        None => false,
        Some(v) => super::paging::boolean("X-Is-Resource-Name", v.to_str().unwrap_or_default())?,
    };
    Ok(ProjectRef::parse(reference, by_name))
}

impl Ctx {
    /// Fails unless `grants` allow `action` on `resource`: 401 for anonymous callers
    /// (signing in may help), 403 for everyone else.
    pub fn check(&self, grants: &Grants, resource: Resource, action: Action) -> ApiResult<()> {
        Ok(harbor_platform::access::check(
            &self.principal,
            grants,
            resource,
            action,
        )?)
    }
}
