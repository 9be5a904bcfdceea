//! Role-based access control: Harbor's permission matrix as data, and its evaluator.
//!
//! A project grants each member one or more [`Role`]s; a role allows a set of
//! ([`Resource`], [`Action`]) pairs. A system administrator may do everything except
//! `scanner-pull`. Anyone, anonymous included, may read a *public* project's content.
//! The matrix follows Harbor (`src/common/rbac/project/rbac_role.go`, as summarised in
//! the project's Harbor reference).

use std::fmt;
use std::str::FromStr;

/// A project role. The numbers are Harbor's role ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// `projectAdmin` (1).
    ProjectAdmin,
    /// `developer` (2).
    Developer,
    /// `guest` (3).
    Guest,
    /// `maintainer` (4).
    Maintainer,
    /// `limitedGuest` (5).
    LimitedGuest,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::ProjectAdmin,
        Role::Developer,
        Role::Guest,
        Role::Maintainer,
        Role::LimitedGuest,
    ];

    /// Harbor's role id.
    pub fn id(self) -> i64 {
        match self {
            Role::ProjectAdmin => 1,
            Role::Developer => 2,
            Role::Guest => 3,
            Role::Maintainer => 4,
            Role::LimitedGuest => 5,
        }
    }

    /// The role with a Harbor role id.
    pub fn from_id(id: i64) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id)
    }

    /// How much the role may do: projectAdmin 5, maintainer 4, developer 3, guest 2,
    /// limitedGuest 1 (each allows at least what the lower ones do, except that a
    /// limited guest's few rights are also a guest's).
    pub fn rank(self) -> u8 {
        match self {
            Role::ProjectAdmin => 5,
            Role::Maintainer => 4,
            Role::Developer => 3,
            Role::Guest => 2,
            Role::LimitedGuest => 1,
        }
    }

    /// `roles` without repeats, the highest first (a user's own role and those of their
    /// groups: the first is the effective role Harbor shows as `current_user_role_id`).
    pub fn strongest_first(mut roles: Vec<Role>) -> Vec<Role> {
        roles.sort_by_key(|r| std::cmp::Reverse(r.rank()));
        roles.dedup();
        roles
    }

    /// Harbor's role name.
    pub fn name(self) -> &'static str {
        match self {
            Role::ProjectAdmin => "projectAdmin",
            Role::Developer => "developer",
            Role::Guest => "guest",
            Role::Maintainer => "maintainer",
            Role::LimitedGuest => "limitedGuest",
        }
    }
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name Harbor uses (in robot permissions and the permissions API).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(format!("unknown {} {other:?}", stringify!($name).to_lowercase())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// What a permission is about, inside a project.
    Resource {
        /// The project itself.
        Project => "project",
        /// Project members.
        Member => "member",
        /// Project metadata (public, auto-scan, ...).
        Metadata => "metadata",
        /// Labels.
        Label => "label",
        /// Repositories; `pull`/`push` are the registry operations.
        Repository => "repository",
        /// Artifacts.
        Artifact => "artifact",
        /// Tags.
        Tag => "tag",
        /// Labels on artifacts.
        ArtifactLabel => "artifact-label",
        /// Tag retention policies.
        TagRetention => "tag-retention",
        /// Tag immutability rules.
        ImmutableTag => "immutable-tag",
        /// Robot accounts.
        Robot => "robot",
        /// Webhook policies.
        NotificationPolicy => "notification-policy",
        /// Vulnerability scans.
        Scan => "scan",
        /// SBOM generation.
        Sbom => "sbom",
        /// The project's scanner.
        Scanner => "scanner",
        /// Project configuration.
        Configuration => "configuration",
        /// The storage quota.
        Quota => "quota",
        /// Artifact additions (build history, vulnerabilities, ...).
        ArtifactAddition => "artifact-addition",
        /// Accessories (signatures, SBOMs attached to an artifact).
        Accessory => "accessory",
        /// Audit logs.
        Log => "log",
        /// P2P preheat policies.
        PreheatPolicy => "preheat-policy",
        /// CVE exports.
        ExportCve => "export-cve",
    }
);

named_enum!(
    /// What is done to a resource.
    Action {
        /// Create.
        Create => "create",
        /// Read one.
        Read => "read",
        /// Update.
        Update => "update",
        /// Delete.
        Delete => "delete",
        /// List.
        List => "list",
        /// Pull from the registry.
        Pull => "pull",
        /// Push to the registry.
        Push => "push",
        /// Run (tag retention).
        Operate => "operate",
        /// Stop (scans).
        Stop => "stop",
        /// Pull as the scanner does.
        ScannerPull => "scanner-pull",
    }
);

use Action::*;
use Resource::*;

const CRUDL: &[Action] = &[Create, Read, Update, Delete, List];
const RL: &[Action] = &[Read, List];
const R: &[Action] = &[Read];

/// What every role may do, in addition to its own grants.
const EVERY_ROLE: &[(Resource, &[Action])] = &[
    (Project, R),
    (Quota, R),
    (ArtifactAddition, R),
    (Accessory, &[List]),
    (Configuration, R),
    (Scanner, R),
    (Scan, R),
];

const PROJECT_ADMIN: &[(Resource, &[Action])] = &[
    (Project, &[Read, Update, Delete]),
    (Member, CRUDL),
    (Metadata, &[Create, Read, Update, Delete]),
    (Label, CRUDL),
    (
        Repository,
        &[Create, Read, Update, Delete, List, Pull, Push],
    ),
    (Artifact, &[Create, Read, Delete, List]),
    (Tag, &[Create, Delete, List]),
    (ArtifactLabel, &[Create, Delete]),
    (TagRetention, &[Create, Read, Update, Delete, List, Operate]),
    (ImmutableTag, &[Create, Update, Delete, List]),
    (Robot, CRUDL),
    (NotificationPolicy, CRUDL),
    (Scan, &[Create, Read, Stop]),
    (Sbom, &[Create, Read, Stop]),
    (Scanner, &[Create, Read]),
    (Configuration, &[Read, Update]),
    (Log, &[List]),
    (PreheatPolicy, CRUDL),
    (ExportCve, &[Create, Read, List]),
];

const MAINTAINER: &[(Resource, &[Action])] = &[
    (Member, RL),
    (Metadata, R),
    (Label, CRUDL),
    (
        Repository,
        &[Create, Read, Update, Delete, List, Pull, Push],
    ),
    (Artifact, &[Create, Read, Delete, List]),
    (Tag, &[Create, Delete, List]),
    (ArtifactLabel, &[Create, Delete]),
    (TagRetention, &[Create, Read, Update, Delete, List, Operate]),
    (ImmutableTag, &[Create, Update, Delete, List]),
    (Robot, RL),
    (NotificationPolicy, RL),
    (Scan, &[Create, Read, Stop]),
    (Sbom, &[Create, Read, Stop]),
    (ExportCve, &[Create, Read, List]),
];

const DEVELOPER: &[(Resource, &[Action])] = &[
    (Member, RL),
    (Label, RL),
    (Repository, &[Create, Read, Update, List, Pull, Push]),
    (Artifact, &[Create, Read, List]),
    (Tag, &[Create, List]),
    (ArtifactLabel, &[Create, Delete]),
    (TagRetention, &[Create, Read, Update, Delete, List, Operate]),
    (Robot, RL),
    (Sbom, R),
    (ExportCve, &[Create, Read, List]),
];

const GUEST: &[(Resource, &[Action])] = &[
    (Member, RL),
    (Label, RL),
    (Repository, &[Read, List, Pull]),
    (Artifact, RL),
    (Tag, &[List]),
    (Robot, RL),
    (Sbom, R),
];

const LIMITED_GUEST: &[(Resource, &[Action])] = &[
    (Repository, &[Read, List, Pull]),
    (Artifact, RL),
    (Tag, &[List]),
    (Sbom, R),
];

/// What anyone, anonymous included, may do in a public project.
const PUBLIC: &[(Resource, &[Action])] = &[
    (Project, R),
    (Label, RL),
    (Repository, &[List, Pull]),
    (Artifact, RL),
    (Tag, &[List]),
    (Accessory, &[List]),
    (Scan, R),
    (Scanner, R),
];

fn listed(table: &[(Resource, &[Action])], resource: Resource, action: Action) -> bool {
    table
        .iter()
        .any(|(r, actions)| *r == resource && actions.contains(&action))
}

impl Role {
    /// Whether this role allows `action` on `resource`.
    pub fn allows(self, resource: Resource, action: Action) -> bool {
        let own = match self {
            Role::ProjectAdmin => PROJECT_ADMIN,
            Role::Maintainer => MAINTAINER,
            Role::Developer => DEVELOPER,
            Role::Guest => GUEST,
            Role::LimitedGuest => LIMITED_GUEST,
        };
        listed(own, resource, action) || listed(EVERY_ROLE, resource, action)
    }
}

/// Whether anyone may do `action` on `resource` in a public project.
pub fn public_allows(resource: Resource, action: Action) -> bool {
    listed(PUBLIC, resource, action)
}

/// Whether a system administrator may do `action` (everything but `scanner-pull`).
pub fn sysadmin_allows(action: Action) -> bool {
    action != ScannerPull
}

/// Who is asking, as far as one project is concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectAccess {
    /// The caller is a system administrator.
    pub sysadmin: bool,
    /// The caller's roles in the project (directly or through groups); OR-ed.
    pub roles: Vec<Role>,
    /// The project is public.
    pub public: bool,
}

impl ProjectAccess {
    /// Whether this access allows `action` on `resource`.
    pub fn allows(&self, resource: Resource, action: Action) -> bool {
        (self.sysadmin && sysadmin_allows(action))
            || self.roles.iter().any(|r| r.allows(resource, action))
            || (self.public && public_allows(resource, action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Harbor's matrix as documented (roles in the order projectAdmin, maintainer,
    /// developer, guest, limitedGuest; C R U D L = create read update delete list), kept
    /// as text so that it is an encoding independent of the tables above.
    const DOCUMENTED: &[(&str, [&str; 5])] = &[
        ("project", ["RUD", "R", "R", "R", "R"]),
        ("member", ["CRUDL", "RL", "RL", "RL", ""]),
        ("metadata", ["CRUD", "R", "", "", ""]),
        ("label", ["CRUDL", "CRUDL", "RL", "RL", ""]),
        (
            "repository",
            [
                "CRUDL pull push",
                "CRUDL pull push",
                "CRUL pull push",
                "RL pull",
                "RL pull",
            ],
        ),
        ("artifact", ["CRDL", "CRDL", "CRL", "RL", "RL"]),
        ("tag", ["CDL", "CDL", "CL", "L", "L"]),
        ("artifact-label", ["CD", "CD", "CD", "", ""]),
        (
            "tag-retention",
            ["CRUDL operate", "CRUDL operate", "CRUDL operate", "", ""],
        ),
        ("immutable-tag", ["CUDL", "CUDL", "", "", ""]),
        ("robot", ["CRUDL", "RL", "RL", "RL", ""]),
        ("notification-policy", ["CRUDL", "RL", "", "", ""]),
        ("scan", ["CR stop", "CR stop", "R", "R", "R"]),
        ("sbom", ["CR stop", "CR stop", "R", "R", "R"]),
        ("scanner", ["CR", "R", "R", "R", "R"]),
        ("configuration", ["RU", "R", "R", "R", "R"]),
        ("quota", ["R", "R", "R", "R", "R"]),
        ("artifact-addition", ["R", "R", "R", "R", "R"]),
        ("accessory", ["L", "L", "L", "L", "L"]),
        ("log", ["L", "", "", "", ""]),
        ("preheat-policy", ["CRUDL", "", "", "", ""]),
        ("export-cve", ["CRL", "CRL", "CRL", "", ""]),
    ];

    /// The documented public-project grants.
    const DOCUMENTED_PUBLIC: &[(&str, &str)] = &[
        ("project", "R"),
        ("label", "RL"),
        ("repository", "L pull"),
        ("artifact", "RL"),
        ("tag", "L"),
        ("accessory", "L"),
        ("scan", "R"),
        ("scanner", "R"),
    ];

    const ORDER: [Role; 5] = [
        Role::ProjectAdmin,
        Role::Maintainer,
        Role::Developer,
        Role::Guest,
        Role::LimitedGuest,
    ];

    /// Does a documented cell ("CRUDL pull push") grant `action`?
    fn cell_grants(cell: &str, action: Action) -> bool {
        let mut words = cell.split_whitespace();
        let letters = words
            .next()
            .filter(|w| w.chars().all(|c| c.is_ascii_uppercase()));
        let letter = match action {
            Create => Some('C'),
            Read => Some('R'),
            Update => Some('U'),
            Delete => Some('D'),
            List => Some('L'),
            _ => None,
        };
        match letter {
            Some(l) => letters.is_some_and(|w| w.contains(l)),
            None => cell.split_whitespace().any(|w| w == action.as_str()),
        }
    }

    #[test]
    fn every_cell_of_the_matrix() {
        assert_eq!(
            DOCUMENTED.len(),
            Resource::ALL.len(),
            "every resource documented"
        );
        let mut checked = 0;
        for (name, cells) in DOCUMENTED {
            let resource: Resource = name.parse().unwrap();
            for (role, cell) in ORDER.iter().zip(cells) {
                for &action in Action::ALL {
                    assert_eq!(
                        role.allows(resource, action),
                        cell_grants(cell, action),
                        "{} {action} {resource}",
                        role.name()
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 22 * 5 * 10);
    }

    #[test]
    fn every_cell_for_public_projects() {
        for &resource in Resource::ALL {
            let cell = DOCUMENTED_PUBLIC
                .iter()
                .find(|(n, _)| *n == resource.as_str())
                .map_or("", |(_, c)| *c);
            for &action in Action::ALL {
                assert_eq!(
                    public_allows(resource, action),
                    cell_grants(cell, action),
                    "public {action} {resource}"
                );
                let anonymous = ProjectAccess {
                    public: true,
                    ..Default::default()
                };
                assert_eq!(
                    anonymous.allows(resource, action),
                    cell_grants(cell, action)
                );
                let private = ProjectAccess::default();
                assert!(
                    !private.allows(resource, action),
                    "nothing in a private project without a role"
                );
            }
        }
    }

    #[test]
    fn strongest_role_first() {
        assert_eq!(
            Role::strongest_first(vec![
                Role::Guest,
                Role::Maintainer,
                Role::Guest,
                Role::LimitedGuest,
                Role::Developer,
            ]),
            [
                Role::Maintainer,
                Role::Developer,
                Role::Guest,
                Role::LimitedGuest
            ]
        );
        assert!(Role::strongest_first(vec![]).is_empty());
        assert_eq!(
            Role::strongest_first(vec![Role::Developer, Role::ProjectAdmin]),
            [Role::ProjectAdmin, Role::Developer]
        );
    }

    #[test]
    fn sysadmins_roles_and_combinations() {
        let admin = ProjectAccess {
            sysadmin: true,
            ..Default::default()
        };
        for &resource in Resource::ALL {
            for &action in Action::ALL {
                assert_eq!(admin.allows(resource, action), action != ScannerPull);
            }
        }
        // Roles are OR-ed.
        let both = ProjectAccess {
            roles: vec![Role::LimitedGuest, Role::Developer],
            ..Default::default()
        };
        assert!(both.allows(Repository, Push));
        assert!(both.allows(Member, List));
        assert!(!both.allows(Repository, Delete));
        // Ids and names round-trip.
        for role in Role::ALL {
            assert_eq!(Role::from_id(role.id()), Some(role));
        }
        assert_eq!(Role::from_id(9), None);
        assert_eq!("tag-retention".parse::<Resource>().unwrap(), TagRetention);
        assert_eq!("scanner-pull".parse::<Action>().unwrap(), ScannerPull);
        assert!("nope".parse::<Action>().is_err());
    }
}
