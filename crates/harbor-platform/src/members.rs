//! Project members: users and user groups with a role in a project.

use std::sync::Arc;

use harbor_auth::{Accounts, Principal};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::{Match, Member, Page, Project};
use harbor_core::rbac::{Action, Resource, Role};
use harbor_core::{Error, Result};

use crate::access::{self, ProjectRef};
use crate::groups::{GroupRef, UserGroups};

/// How a caller names a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// The user's id.
    Id(i64),
    /// The username.
    Name(String),
}

/// The member service.
#[derive(Clone)]
pub struct Members {
    accounts: Arc<Accounts>,
}

impl Members {
    /// Members kept by `accounts`' store.
    pub fn new(accounts: Arc<Accounts>) -> Self {
        Members { accounts }
    }

    async fn project(&self, by: &Principal, r: &ProjectRef, action: Action) -> Result<Project> {
        let (p, _) = access::project_for(&self.accounts, by, r, Resource::Member, action).await?;
        Ok(p)
    }

    /// One page of a project's members, filtered by username (`member:list`).
    pub async fn list(
        &self,
        by: &Principal,
        r: &ProjectRef,
        username: Option<&Match>,
        page: Page,
    ) -> Result<(Vec<Member>, u64)> {
        let p = self.project(by, r, Action::List).await?;
        self.accounts.store().members(p.id, username, page).await
    }

    /// One member (`member:read`).
    pub async fn get(&self, by: &Principal, r: &ProjectRef, member_id: i64) -> Result<Member> {
        let p = self.project(by, r, Action::Read).await?;
        self.load(&p, member_id).await
    }

    async fn load(&self, p: &Project, member_id: i64) -> Result<Member> {
        self.accounts
            .store()
            .member(p.id, member_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("member {member_id} not found")))
    }

    /// Makes `user` a member with `role` (`member:create`).
    pub async fn add(
        &self,
        by: &Principal,
        r: &ProjectRef,
        user: &UserRef,
        role: Role,
    ) -> Result<Member> {
        let p = self.project(by, r, Action::Create).await?;
        let store = self.accounts.store();
        let found = match user {
            UserRef::Id(id) => store.user(*id).await?,
            UserRef::Name(name) => store.user_by_name(name).await?,
        };
        let user = found.ok_or_else(|| Error::NotFound("user not found".into()))?;
        let event = DomainEvent::MemberAdded {
            project: p.name.clone(),
            project_id: p.id,
            member: user.username.clone(),
            role: role.name().to_owned(),
        };
        store
            .add_member_emitting(p.id, user.id, role, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// Makes the group `group` a member with `role` (`member:create`); the group must
    /// exist (by id, by an LDAP group's DN, or by name and type).
    pub async fn add_group(
        &self,
        by: &Principal,
        r: &ProjectRef,
        group: &GroupRef,
        role: Role,
    ) -> Result<Member> {
        let p = self.project(by, r, Action::Create).await?;
        let g = UserGroups::new(self.accounts.clone())
            .resolve(group)
            .await?;
        let event = DomainEvent::MemberAdded {
            project: p.name.clone(),
            project_id: p.id,
            member: g.name.clone(),
            role: role.name().to_owned(),
        };
        self.accounts
            .store()
            .add_group_member_emitting(p.id, g.id, role, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// Changes a member's role (`member:update`); nobody changes their own.
    pub async fn set_role(
        &self,
        by: &Principal,
        r: &ProjectRef,
        member_id: i64,
        role: Role,
    ) -> Result<()> {
        let p = self.project(by, r, Action::Update).await?;
        let m = self.load(&p, member_id).await?;
        if by.user_id() == Some(m.user_id) {
            return Err(Error::Forbidden("you cannot change your own role".into()));
        }
        let event = DomainEvent::MemberUpdated {
            project: p.name.clone(),
            project_id: p.id,
            member: m.username,
            role: role.name().to_owned(),
        };
        self.accounts
            .store()
            .set_member_role_emitting(p.id, member_id, role, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// Removes a member (`member:delete`); nobody removes themselves.
    pub async fn remove(&self, by: &Principal, r: &ProjectRef, member_id: i64) -> Result<()> {
        let p = self.project(by, r, Action::Delete).await?;
        let m = self.load(&p, member_id).await?;
        if by.user_id() == Some(m.user_id) {
            return Err(Error::Forbidden(
                "you cannot remove yourself from the project".into(),
            ));
        }
        let event = DomainEvent::MemberRemoved {
            project: p.name.clone(),
            project_id: p.id,
            member: m.username,
        };
        self.accounts
            .store()
            .delete_member_emitting(p.id, member_id, &[NewEvent::now(by.name(), event)])
            .await
    }
}
