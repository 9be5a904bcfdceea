//! Who may do what: the services' one path to a decision, over the grants `Accounts`
//! resolves and the RBAC matrix of `harbor_core::rbac`.
//!
//! Project-scoped decisions go through [`Grants::allows`]; system-scoped ones through
//! [`system_allows`] (users: system administrators; robots: their `system` permissions).
//! A project the caller may not read is reported exactly like a missing one, so its
//! existence is not revealed.

use std::fmt;

use harbor_auth::principal::robot_system_allows;
use harbor_auth::{Accounts, Grants, Principal};
use harbor_core::identity::Project;
use harbor_core::rbac::{Action, Resource};
use harbor_core::{Error, Result};

/// How a caller names a project: by id, or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    /// The project's id.
    Id(i64),
    /// The project's name.
    Name(String),
}

impl ProjectRef {
    /// Harbor's `project_name_or_id`: a number is an id unless `by_name` (the
    /// `X-Is-Resource-Name: true` header) says it is a name.
    pub fn parse(reference: &str, by_name: bool) -> Self {
        match reference.parse::<i64>() {
            Ok(id) if !by_name => ProjectRef::Id(id),
            _ => ProjectRef::Name(reference.to_owned()),
        }
    }
}

impl From<&Project> for ProjectRef {
    fn from(p: &Project) -> Self {
        ProjectRef::Id(p.id)
    }
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectRef::Id(id) => write!(f, "{id}"),
            ProjectRef::Name(n) => f.write_str(n),
        }
    }
}

/// Fails with [`Error::Unauthorized`] for anonymous callers.
pub fn require_authenticated(by: &Principal) -> Result<()> {
    if by.is_authenticated() {
        Ok(())
    } else {
        Err(Error::Unauthorized("authentication required".into()))
    }
}

/// Whether `by` may `action` the system-level `resource` (such as `robot`, `project`):
/// system administrators may do everything, robots what their system permissions list.
pub fn system_allows(by: &Principal, resource: &str, action: Action) -> bool {
    match by {
        Principal::Robot { robot, .. } => {
            robot_system_allows(&robot.permissions, resource, action.as_str())
        }
        other => other.is_sysadmin(),
    }
}

/// The system-level (resource, action) pairs `by` holds (all for system
/// administrators, a robot's system permissions, none for anyone else).
pub fn system_permissions(by: &Principal) -> Vec<(&'static str, &'static str)> {
    harbor_auth::robot::SYSTEM_ACCESS
        .iter()
        .copied()
        .filter(|(r, a)| match by {
            p if p.is_sysadmin() => true,
            Principal::Robot { robot, .. } => robot_system_allows(&robot.permissions, r, a),
            _ => false,
        })
        .collect()
}

/// Fails unless [`system_allows`]: 401 for anonymous callers, 403 with `why` otherwise.
pub fn require_system(by: &Principal, resource: &str, action: Action, why: &str) -> Result<()> {
    require_authenticated(by)?;
    if system_allows(by, resource, action) {
        Ok(())
    } else {
        Err(Error::Forbidden(why.to_owned()))
    }
}

/// Fails unless `by` is a system administrator.
pub fn require_sysadmin(by: &Principal) -> Result<()> {
    require_authenticated(by)?;
    if by.is_sysadmin() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only system administrators may do this".into(),
        ))
    }
}

/// Fails unless `grants` allow `action` on `resource`: 401 for anonymous callers (signing
/// in may help), 403 for everyone else.
pub fn check(by: &Principal, grants: &Grants, resource: Resource, action: Action) -> Result<()> {
    if grants.allows(resource, action) {
        Ok(())
    } else if !by.is_authenticated() {
        Err(Error::Unauthorized("authentication required".into()))
    } else {
        Err(Error::Forbidden(format!(
            "not allowed to {action} {resource} in this project"
        )))
    }
}

/// The project `r` names and `by`'s grants in it. A project `by` may not read is
/// [`Error::NotFound`] (or [`Error::Unauthorized`] for anonymous callers), like a missing
/// one.
pub async fn open_project(
    accounts: &Accounts,
    by: &Principal,
    r: &ProjectRef,
) -> Result<(Project, Grants)> {
    let store = accounts.store();
    let found = match r {
        ProjectRef::Id(id) => store.project(*id).await?,
        ProjectRef::Name(name) => store.project_by_name(name).await?,
    };
    let hidden = || {
        if by.is_authenticated() {
            Error::NotFound(format!("project {r} not found"))
        } else {
            Error::Unauthorized("authentication required".into())
        }
    };
    let Some(project) = found else {
        return Err(hidden());
    };
    let grants = accounts.grants(by, &project).await?;
    if !grants.allows(Resource::Project, Action::Read) {
        return Err(hidden());
    }
    Ok((project, grants))
}

/// [`open_project`], then [`check`] for `action` on `resource`.
pub async fn project_for(
    accounts: &Accounts,
    by: &Principal,
    r: &ProjectRef,
    resource: Resource,
    action: Action,
) -> Result<(Project, Grants)> {
    let (project, grants) = open_project(accounts, by, r).await?;
    check(by, &grants, resource, action)?;
    Ok((project, grants))
}
