//! User groups: named sets of users that may be members of projects, as Harbor has them
//! (`/usergroups`). A group comes from a sign-in mode: LDAP (1, identified by its DN), an
//! HTTP authentication proxy (2) or OIDC (3). Sign-in fills a user's memberships
//! ([`crate::ports::IdentityStore::ensure_groups`] and
//! [`crate::ports::IdentityStore::set_user_groups_emitting`]); a system administrator
//! may create, rename and delete groups. A user's roles in a project are their own role
//! and the roles of all their groups there, OR-ed ([`crate::rbac::ProjectAccess`]).

use crate::error::Error;
use crate::identity::Match;

/// Longest group name and LDAP DN, in characters.
pub const MAX_GROUP_TEXT: usize = 255;

/// Where a group comes from (Harbor's `group_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupType {
    /// An LDAP group (1), identified by its DN.
    Ldap,
    /// A group an HTTP authentication proxy names (2).
    Http,
    /// A group of an OIDC claim (3).
    Oidc,
}

impl GroupType {
    /// Every type.
    pub const ALL: [GroupType; 3] = [GroupType::Ldap, GroupType::Http, GroupType::Oidc];

    /// Harbor's number.
    pub fn id(self) -> i64 {
        match self {
            GroupType::Ldap => 1,
            GroupType::Http => 2,
            GroupType::Oidc => 3,
        }
    }

    /// The type with Harbor's number.
    pub fn from_id(id: i64) -> Option<GroupType> {
        GroupType::ALL.into_iter().find(|t| t.id() == id)
    }

    /// A name for people (`ldap`, `http`, `oidc`).
    pub fn name(self) -> &'static str {
        match self {
            GroupType::Ldap => "ldap",
            GroupType::Http => "http",
            GroupType::Oidc => "oidc",
        }
    }
}

/// A user group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserGroup {
    /// Database id (Harbor's `id`).
    pub id: i64,
    /// Name, unique per type.
    pub name: String,
    /// Where it comes from.
    pub group_type: GroupType,
    /// The DN of an LDAP group (unique among LDAP groups); empty for other types.
    pub ldap_group_dn: String,
    /// Created at (ms since the epoch).
    pub created_ms: i64,
    /// Last updated at.
    pub updated_ms: i64,
}

/// A group to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUserGroup {
    /// Its name ([`check_group_name`]).
    pub name: String,
    /// Its type.
    pub group_type: GroupType,
    /// The DN (required for LDAP groups, empty otherwise).
    pub ldap_group_dn: String,
}

impl NewUserGroup {
    /// A group with its text trimmed and checked: a name of 1 to 255 characters without
    /// control characters; an LDAP group needs a DN, other types take none.
    pub fn new(name: &str, group_type: GroupType, ldap_group_dn: &str) -> Result<Self, Error> {
        let name = name.trim();
        let dn = ldap_group_dn.trim();
        check_group_name(name)?;
        match group_type {
            GroupType::Ldap => check_dn(dn)?,
            _ if !dn.is_empty() => {
                return Err(Error::Invalid(
                    "ldap_group_dn is only for LDAP groups (group_type 1)".into(),
                ));
            }
            _ => {}
        }
        Ok(NewUserGroup {
            name: name.to_owned(),
            group_type,
            ldap_group_dn: dn.to_owned(),
        })
    }
}

/// Filters of the group listing.
#[derive(Clone, Debug, Default)]
pub struct GroupQuery {
    /// Filter on the name.
    pub name: Option<Match>,
    /// Only the LDAP group with this DN (compared exactly).
    pub ldap_group_dn: Option<String>,
    /// Only groups of this type.
    pub group_type: Option<GroupType>,
}

fn text_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= MAX_GROUP_TEXT && !s.chars().any(char::is_control)
}

/// A group name: 1 to 255 characters, no control characters.
pub fn check_group_name(name: &str) -> Result<(), Error> {
    if text_ok(name) {
        Ok(())
    } else {
        let shown: String = name.chars().take(64).collect();
        Err(Error::Invalid(format!(
            "invalid group name {shown:?}: use 1 to {MAX_GROUP_TEXT} characters without control characters"
        )))
    }
}

/// An LDAP DN: 1 to 255 characters without control characters, with at least one `=`.
pub fn check_dn(dn: &str) -> Result<(), Error> {
    if text_ok(dn) && dn.contains('=') {
        Ok(())
    } else if dn.is_empty() {
        Err(Error::Invalid(
            "an LDAP group (group_type 1) needs ldap_group_dn".into(),
        ))
    } else {
        let shown: String = dn.chars().take(64).collect();
        Err(Error::Invalid(format!(
            "invalid ldap_group_dn {shown:?}: use a DN such as cn=devs,ou=groups,dc=example,dc=com"
        )))
    }
}

/// Harbor's rule for `PUT /usergroups/{id}`: only the name may change. `group_type` and
/// `ldap_group_dn`, when given, must be the stored ones.
pub fn check_group_update(
    stored: &UserGroup,
    group_type: Option<i64>,
    ldap_group_dn: Option<&str>,
) -> Result<(), Error> {
    if group_type.is_some_and(|t| t != 0 && t != stored.group_type.id()) {
        return Err(Error::Invalid("the group type cannot be changed".into()));
    }
    if ldap_group_dn.is_some_and(|dn| !dn.trim().is_empty() && dn.trim() != stored.ldap_group_dn) {
        return Err(Error::Invalid("the group's DN cannot be changed".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for t in GroupType::ALL {
            assert_eq!(GroupType::from_id(t.id()), Some(t));
        }
        assert_eq!(GroupType::Ldap.id(), 1);
        assert_eq!(GroupType::Http.id(), 2);
        assert_eq!(GroupType::Oidc.id(), 3);
        assert_eq!(GroupType::from_id(0), None);
        assert_eq!(GroupType::from_id(4), None);
    }

    #[test]
    fn new_groups_are_checked() {
        let g = NewUserGroup::new("  devs ", GroupType::Http, "").unwrap();
        assert_eq!(g.name, "devs");
        let g = NewUserGroup::new("Dev Ops", GroupType::Ldap, " cn=devops,dc=x ").unwrap();
        assert_eq!(g.ldap_group_dn, "cn=devops,dc=x");
        NewUserGroup::new(&"é".repeat(255), GroupType::Oidc, "").unwrap();
        for (name, t, dn) in [
            ("", GroupType::Http, ""),
            ("   ", GroupType::Http, ""),
            ("a\nb", GroupType::Http, ""),
            ("a\u{7}", GroupType::Oidc, ""),
            (&"x".repeat(256), GroupType::Oidc, ""),
            ("devs", GroupType::Ldap, ""),
            ("devs", GroupType::Ldap, "no-equals"),
            ("devs", GroupType::Ldap, "cn=a\u{0}"),
            ("devs", GroupType::Http, "cn=devs"),
        ] {
            assert!(
                matches!(NewUserGroup::new(name, t, dn), Err(Error::Invalid(_))),
                "{name:?} {t:?} {dn:?}"
            );
        }
    }

    #[test]
    fn only_the_name_may_change() {
        let g = UserGroup {
            id: 1,
            name: "devs".into(),
            group_type: GroupType::Ldap,
            ldap_group_dn: "cn=devs,dc=x".into(),
            created_ms: 0,
            updated_ms: 0,
        };
        check_group_update(&g, None, None).unwrap();
        check_group_update(&g, Some(1), Some("cn=devs,dc=x")).unwrap();
        check_group_update(&g, Some(0), Some("")).unwrap();
        assert!(check_group_update(&g, Some(2), None).is_err());
        assert!(check_group_update(&g, None, Some("cn=other,dc=x")).is_err());
    }
}
