//! Who a request acts as, and what it may do in a project.

use harbor_core::identity::{Project, Robot, RobotPermission, User};
use harbor_core::rbac::{Action, ProjectAccess, Resource, public_allows};

/// The identity behind a request.
#[derive(Clone, Debug)]
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// A user account.
    User(User),
    /// A robot account; `login` is its full login name (`robot$...`).
    Robot {
        /// The account.
        robot: Robot,
        /// The name it logs in with.
        login: String,
    },
}

impl Principal {
    /// The name recorded in audit logs and tokens (`anonymous` for no one).
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::User(u) => &u.username,
            Principal::Robot { login, .. } => login,
        }
    }

    /// Whether credentials were given and accepted.
    pub fn is_authenticated(&self) -> bool {
        !matches!(self, Principal::Anonymous)
    }

    /// Whether the principal is a system administrator (robots never are).
    pub fn is_sysadmin(&self) -> bool {
        matches!(self, Principal::User(u) if u.sysadmin)
    }

    /// The id of the account (user or robot); `None` for anonymous callers.
    pub fn account_id(&self) -> Option<i64> {
        match self {
            Principal::Anonymous => None,
            Principal::User(u) => Some(u.id),
            Principal::Robot { robot, .. } => Some(robot.id),
        }
    }

    /// The user id, for users.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Principal::User(u) => Some(u.id),
            _ => None,
        }
    }
}

/// What a principal may do in one project, resolved once per request.
#[derive(Clone, Debug)]
pub enum Grants {
    /// A user or anonymous: roles, sysadmin and public access through the RBAC matrix.
    Rbac(ProjectAccess),
    /// A robot: its explicit permissions for the project, plus public access.
    Robot {
        /// The (resource, action) pairs granted for this project.
        allowed: Vec<(Resource, Action)>,
        /// The project is public.
        public: bool,
    },
}

impl Grants {
    /// Whether `action` on `resource` is allowed.
    pub fn allows(&self, resource: Resource, action: Action) -> bool {
        match self {
            Grants::Rbac(access) => access.allows(resource, action),
            Grants::Robot { allowed, public } => {
                allowed.contains(&(resource, action))
                    || (*public && public_allows(resource, action))
            }
        }
    }

    /// No grants at all (a missing project, for anyone but a sysadmin).
    pub fn none() -> Self {
        Grants::Rbac(ProjectAccess::default())
    }
}

/// The project-level (resource, action) pairs a robot's permissions grant in `project`.
/// `repository:push` implies `repository:pull`, as in Harbor.
pub fn robot_grants(permissions: &[RobotPermission], project: &Project) -> Vec<(Resource, Action)> {
    let mut out = Vec::new();
    for p in permissions {
        if p.kind != "project" || (p.namespace != project.name && p.namespace != "*") {
            continue;
        }
        for a in &p.access {
            if !(a.effect.is_empty() || a.effect == "allow") {
                continue;
            }
            if let (Ok(r), Ok(act)) = (a.resource.parse::<Resource>(), a.action.parse::<Action>()) {
                out.push((r, act));
                if r == Resource::Repository && act == Action::Push {
                    out.push((Resource::Repository, Action::Pull));
                }
            }
        }
    }
    out
}

/// Whether a robot's permissions grant a system-level (resource, action), such as
/// `catalog:read` or `project:create`.
pub fn robot_system_allows(permissions: &[RobotPermission], resource: &str, action: &str) -> bool {
    permissions.iter().any(|p| {
        p.kind == "system"
            && p.access.iter().any(|a| {
                a.resource == resource
                    && a.action == action
                    && (a.effect.is_empty() || a.effect == "allow")
            })
    })
}
