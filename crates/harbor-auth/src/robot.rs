//! Robot-account permission rules: what a permission list may contain, and the subset
//! rule that keeps a robot from creating a more powerful robot.

use harbor_core::Error;
use harbor_core::identity::RobotPermission;
use harbor_core::rbac::{Action, Resource, Role};

/// System-level (resource, action) pairs a system robot may hold.
pub const SYSTEM_ACCESS: &[(&str, &str)] = &[
    ("catalog", "read"),
    ("project", "create"),
    ("project", "list"),
    ("audit-log", "list"),
    ("quota", "list"),
    ("quota", "read"),
    ("quota", "update"),
    ("robot", "create"),
    ("robot", "read"),
    ("robot", "list"),
    ("robot", "update"),
    ("robot", "delete"),
    ("registry", "create"),
    ("registry", "read"),
    ("registry", "list"),
    ("registry", "update"),
    ("registry", "delete"),
    ("replication-adapter", "list"),
    ("replication-policy", "create"),
    ("replication-policy", "read"),
    ("replication-policy", "list"),
    ("replication-policy", "update"),
    ("replication-policy", "delete"),
    ("replication", "create"),
    ("replication", "read"),
    ("replication", "list"),
    ("replication", "update"),
];

/// Project-level (resource, action) pairs a robot may hold: what a project admin may do.
pub fn project_access() -> Vec<(&'static str, &'static str)> {
    Resource::ALL
        .iter()
        .flat_map(|r| Action::ALL.iter().map(move |a| (*r, *a)))
        .filter(|(r, a)| Role::ProjectAdmin.allows(*r, *a))
        .map(|(r, a)| (r.as_str(), a.as_str()))
        .collect()
}

/// Robot level: `system` (may span projects) or `project` (one project).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// A system robot.
    System,
    /// A project robot.
    Project,
}

impl Level {
    /// Parses Harbor's `level` field.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "system" => Ok(Level::System),
            "project" => Ok(Level::Project),
            other => Err(Error::Invalid(format!(
                "invalid robot level {other:?}: use \"system\" or \"project\""
            ))),
        }
    }

    /// Harbor's name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::System => "system",
            Level::Project => "project",
        }
    }
}

/// Checks a permission list for a robot of `level`: a project robot holds exactly one
/// `project` permission (for its own project); every access names a known
/// (resource, action) pair; effects are `allow`.
pub fn validate(level: Level, permissions: &[RobotPermission]) -> Result<(), Error> {
    let bad = |m: String| Err(Error::Invalid(m));
    if permissions.is_empty() {
        return bad("a robot needs at least one permission".into());
    }
    if level == Level::Project && (permissions.len() != 1 || permissions[0].kind != "project") {
        return bad("a project robot holds exactly one permission of kind \"project\"".into());
    }
    for p in permissions {
        if p.access.is_empty() {
            return bad(format!("permission for {:?} grants nothing", p.namespace));
        }
        match p.kind.as_str() {
            "project" => {
                if p.namespace != "*" {
                    harbor_core::identity::check_project_name(&p.namespace)?;
                }
                if level == Level::Project && p.namespace == "*" {
                    return bad("a project robot cannot hold permissions on every project".into());
                }
            }
            "system" if level == Level::System => {}
            other => return bad(format!("invalid permission kind {other:?}")),
        }
        for a in &p.access {
            if !(a.effect.is_empty() || a.effect == "allow") {
                return bad(format!("unsupported effect {:?}: only \"allow\"", a.effect));
            }
            let known = match p.kind.as_str() {
                "system" => SYSTEM_ACCESS.contains(&(a.resource.as_str(), a.action.as_str())),
                _ => match (a.resource.parse::<Resource>(), a.action.parse::<Action>()) {
                    (Ok(r), Ok(act)) => Role::ProjectAdmin.allows(r, act),
                    _ => false,
                },
            };
            if !known {
                return bad(format!(
                    "unknown {} permission {}:{}",
                    p.kind, a.resource, a.action
                ));
            }
        }
    }
    Ok(())
}

/// Whether every access in `requested` is also held by `holder` (a `*` namespace covers
/// every project). Robots may only create robots within their own permissions.
pub fn is_subset(requested: &[RobotPermission], holder: &[RobotPermission]) -> bool {
    requested.iter().all(|p| {
        p.access.iter().all(|a| {
            holder.iter().any(|h| {
                h.kind == p.kind
                    && (h.namespace == p.namespace || (h.kind == "project" && h.namespace == "*"))
                    && h.access.iter().any(|ha| {
                        ha.resource == a.resource
                            && (ha.action == a.action
                                || (a.resource == "repository"
                                    && a.action == "pull"
                                    && ha.action == "push"))
                    })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbor_core::identity::RobotAccess;

    fn perm(kind: &str, ns: &str, access: &[(&str, &str)]) -> RobotPermission {
        RobotPermission {
            kind: kind.into(),
            namespace: ns.into(),
            access: access
                .iter()
                .map(|(r, a)| RobotAccess {
                    resource: (*r).into(),
                    action: (*a).into(),
                    effect: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn validates_levels_and_pairs() {
        let pull = perm("project", "library", &[("repository", "pull")]);
        validate(Level::Project, std::slice::from_ref(&pull)).unwrap();
        validate(
            Level::System,
            &[pull.clone(), perm("system", "/", &[("catalog", "read")])],
        )
        .unwrap();
        assert!(validate(Level::Project, &[]).is_err());
        assert!(validate(Level::Project, &[pull.clone(), pull.clone()]).is_err());
        assert!(
            validate(
                Level::Project,
                &[perm("project", "*", &[("repository", "pull")])]
            )
            .is_err()
        );
        assert!(
            validate(
                Level::Project,
                &[perm("system", "/", &[("catalog", "read")])]
            )
            .is_err()
        );
        assert!(
            validate(
                Level::Project,
                &[perm("project", "p", &[("repository", "fly")])]
            )
            .is_err()
        );
        assert!(
            validate(
                Level::Project,
                &[perm("project", "p", &[("bogus", "read")])]
            )
            .is_err()
        );
        assert!(
            validate(
                Level::Project,
                &[perm("project", "P!", &[("repository", "pull")])]
            )
            .is_err()
        );
        assert!(validate(Level::System, &[perm("system", "/", &[("user", "delete")])]).is_err());
        let mut denied = pull;
        denied.access[0].effect = "deny".into();
        assert!(validate(Level::Project, &[denied]).is_err());
    }

    #[test]
    fn subset_rule() {
        let holder = vec![
            perm(
                "project",
                "a",
                &[("repository", "push"), ("artifact", "read")],
            ),
            perm("system", "/", &[("robot", "create")]),
        ];
        assert!(is_subset(
            &[perm("project", "a", &[("repository", "pull")])],
            &holder
        ));
        assert!(is_subset(
            &[perm("project", "a", &[("repository", "push")])],
            &holder
        ));
        assert!(!is_subset(
            &[perm("project", "b", &[("repository", "pull")])],
            &holder
        ));
        assert!(!is_subset(
            &[perm("project", "a", &[("repository", "delete")])],
            &holder
        ));
        assert!(!is_subset(
            &[perm("system", "/", &[("catalog", "read")])],
            &holder
        ));
        assert!(is_subset(
            &[perm("system", "/", &[("robot", "create")])],
            &holder
        ));
        let star = vec![perm("project", "*", &[("repository", "pull")])];
        assert!(is_subset(
            &[perm("project", "zzz", &[("repository", "pull")])],
            &star
        ));
        assert!(!is_subset(
            &[perm("project", "zzz", &[("repository", "push")])],
            &star
        ));
    }
}
