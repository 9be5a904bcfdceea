//! User groups (Harbor's `/usergroups`): system administrators list, create, rename and
//! delete them; any signed-in user may search them by name (to add one to a project).
//! The sign-in modes (LDAP, OIDC, an HTTP authentication proxy) call
//! [`UserGroups::ensure`] and [`UserGroups::set_user_groups`] to record which groups a user
//! belongs to; the store keeps the memberships, so every replica and the token service
//! see the same, and a user's roles in a project become their own and their groups'.

use std::sync::Arc;

use harbor_auth::{Accounts, Principal};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::groups::{
    GroupQuery, GroupType, NewUserGroup, UserGroup, check_group_name, check_group_update,
};
use harbor_core::identity::{Match, Page};
use harbor_core::ports::IdentityStore;
use harbor_core::{Error, Result};

use crate::access;

/// A group to create, as the API gives it.
#[derive(Clone, Debug, Default)]
pub struct CreateGroup {
    /// Its name.
    pub name: String,
    /// Harbor's `group_type` (1 LDAP, 2 HTTP, 3 OIDC).
    pub group_type: i64,
    /// The DN of an LDAP group.
    pub ldap_group_dn: String,
}

/// Changes to a group: only the name may change; the type and DN, when given, must be the
/// stored ones (Harbor's rule).
#[derive(Clone, Debug, Default)]
pub struct UpdateGroup {
    /// The new name.
    pub name: Option<String>,
    /// The stored type, if given.
    pub group_type: Option<i64>,
    /// The stored DN, if given.
    pub ldap_group_dn: Option<String>,
}

/// How a caller names a group (a project member's `member_group`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRef {
    /// The group's id.
    Id(i64),
    /// The DN of an LDAP group.
    LdapDn(String),
    /// A name within a type.
    Name(String, GroupType),
}

/// The user group service.
#[derive(Clone)]
pub struct UserGroups {
    store: Arc<dyn IdentityStore>,
}

fn group_type(id: i64) -> Result<GroupType> {
    GroupType::from_id(id).ok_or_else(|| {
        Error::Invalid(format!(
            "invalid group_type {id}: use 1 (LDAP), 2 (HTTP) or 3 (OIDC)"
        ))
    })
}

impl UserGroups {
    /// Groups kept by `accounts`' store.
    pub fn new(accounts: Arc<Accounts>) -> Self {
        UserGroups::over(accounts.store().clone())
    }

    /// Groups kept in `store` (the sign-in modes, built before the accounts).
    pub fn over(store: Arc<dyn IdentityStore>) -> Self {
        UserGroups { store }
    }

    /// One page of groups (system administrators).
    pub async fn list(
        &self,
        by: &Principal,
        query: &GroupQuery,
        page: Page,
    ) -> Result<(Vec<UserGroup>, u64)> {
        access::require_sysadmin(by)?;
        self.store.groups(query, page).await
    }

    /// Groups whose name contains `name` (any signed-in user).
    pub async fn search(
        &self,
        by: &Principal,
        name: &str,
        page: Page,
    ) -> Result<(Vec<UserGroup>, u64)> {
        access::require_authenticated(by)?;
        let query = GroupQuery {
            name: Some(Match::Fuzzy(name.to_owned())),
            ..GroupQuery::default()
        };
        self.store.groups(&query, page).await
    }

    /// One group (system administrators).
    pub async fn get(&self, by: &Principal, id: i64) -> Result<UserGroup> {
        access::require_sysadmin(by)?;
        self.load(id).await
    }

    async fn load(&self, id: i64) -> Result<UserGroup> {
        self.store
            .group(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user group {id} not found")))
    }

    /// Creates a group (system administrators); a name taken in its type, or a DN taken
    /// among LDAP groups, is a conflict.
    pub async fn create(&self, by: &Principal, req: CreateGroup) -> Result<UserGroup> {
        access::require_sysadmin(by)?;
        let new = NewUserGroup::new(&req.name, group_type(req.group_type)?, &req.ldap_group_dn)?;
        let event = DomainEvent::UserGroupChanged {
            group: new.name.clone(),
            group_type: new.group_type.id(),
            change: "create".into(),
        };
        self.store
            .create_group_emitting(&new, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// Renames a group (system administrators); its type and DN cannot change.
    pub async fn update(&self, by: &Principal, id: i64, req: UpdateGroup) -> Result<UserGroup> {
        access::require_sysadmin(by)?;
        let stored = self.load(id).await?;
        check_group_update(&stored, req.group_type, req.ldap_group_dn.as_deref())?;
        let Some(name) = req.name.map(|n| n.trim().to_owned()) else {
            return Ok(stored);
        };
        check_group_name(&name)?;
        if name == stored.name {
            return Ok(stored);
        }
        let event = DomainEvent::UserGroupChanged {
            group: name.clone(),
            group_type: stored.group_type.id(),
            change: "update".into(),
        };
        self.store
            .rename_group_emitting(id, &name, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// Deletes a group with its project and user memberships (system administrators).
    pub async fn delete(&self, by: &Principal, id: i64) -> Result<()> {
        access::require_sysadmin(by)?;
        let stored = self.load(id).await?;
        let event = DomainEvent::UserGroupChanged {
            group: stored.name,
            group_type: stored.group_type.id(),
            change: "delete".into(),
        };
        self.store
            .delete_group_emitting(id, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// The group a project member names.
    pub async fn resolve(&self, r: &GroupRef) -> Result<UserGroup> {
        let store = &self.store;
        let query = match r {
            GroupRef::Id(id) => return self.load(*id).await,
            GroupRef::LdapDn(dn) => GroupQuery {
                ldap_group_dn: Some(dn.trim().to_owned()),
                group_type: Some(GroupType::Ldap),
                ..GroupQuery::default()
            },
            GroupRef::Name(name, t) => GroupQuery {
                name: Some(Match::Exact(name.trim().to_owned())),
                group_type: Some(*t),
                ..GroupQuery::default()
            },
        };
        let (mut found, total) = store.groups(&query, Page::default()).await?;
        match (found.pop(), total) {
            (Some(g), 1) => Ok(g),
            (_, 0) => Err(Error::NotFound("user group not found".into())),
            _ => Err(Error::Invalid(
                "several groups match: name the group by id".into(),
            )),
        }
    }

    /// For the sign-in modes: the groups of `group_type` named by `(name, dn)` pairs (the
    /// DN keys LDAP groups, the name the others), created when missing; their ids in the
    /// order given. Names and DNs are checked like an administrator's.
    pub async fn ensure(
        &self,
        group_type: GroupType,
        groups: &[(String, String)],
    ) -> Result<Vec<i64>> {
        let checked = groups
            .iter()
            .map(|(name, dn)| {
                NewUserGroup::new(name, group_type, dn).map(|g| (g.name, g.ldap_group_dn))
            })
            .collect::<Result<Vec<_>>>()?;
        self.store.ensure_groups(group_type, &checked).await
    }

    /// The groups a user belongs to.
    pub async fn of_user(&self, user_id: i64) -> Result<Vec<UserGroup>> {
        self.store.user_groups(user_id).await
    }

    /// For the sign-in modes (and administrators' tools): replaces the groups user
    /// `user_id` belongs to with `group_ids`. Nothing is written when they are already
    /// those (a sign-in with unchanged groups reads only the user's groups and keeps the
    /// caches); otherwise the wanted groups are read in one query, the user only then,
    /// and the change and a [`DomainEvent::UserGroupsSet`] are stored together and this
    /// replica's identity cache is emptied.
    pub async fn set_user_groups(&self, user_id: i64, group_ids: &[i64]) -> Result<()> {
        let store = &self.store;
        let mut wanted = group_ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let current = store.user_groups(user_id).await?;
        if current.iter().map(|g| g.id).eq(wanted.iter().copied()) {
            return Ok(());
        }
        // Both ordered by id.
        let groups = store.groups_by_ids(&wanted).await?;
        if let Some(missing) = wanted
            .iter()
            .find(|id| groups.binary_search_by_key(*id, |g| g.id).is_err())
        {
            return Err(Error::NotFound(format!("user group {missing} not found")));
        }
        let names = groups.into_iter().map(|g| g.name).collect();
        let user = store
            .user(user_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {user_id} not found")))?;
        let event = DomainEvent::UserGroupsSet {
            user: user.username.clone(),
            groups: names,
        };
        store
            .set_user_groups_emitting(user_id, &wanted, &[NewEvent::now(&user.username, event)])
            .await
    }
}
