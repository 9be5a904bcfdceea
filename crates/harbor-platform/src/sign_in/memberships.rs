//! What a sign-in through LDAP or OIDC records about the user's groups: their user groups
//! (created when missing) as their memberships, and whether the mode's administrators'
//! group makes them a system administrator (kept apart from an administrator's grant).

use std::sync::Arc;

use harbor_core::Result;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::groups::{GroupType, NewUserGroup};
use harbor_core::identity::User;
use harbor_core::ports::IdentityStore;

use crate::groups::UserGroups;
use crate::sign_in::oidc::{IdentitySync, OidcIdentity};

/// Records sign-ins' groups in the store.
#[derive(Clone)]
pub struct Memberships {
    store: Arc<dyn IdentityStore>,
    groups: UserGroups,
}

impl Memberships {
    /// Memberships kept in `store`.
    pub fn new(store: Arc<dyn IdentityStore>) -> Self {
        Memberships {
            groups: UserGroups::over(store.clone()),
            store,
        }
    }

    /// Makes `groups` (`(name, dn)` pairs of `group_type`; invalid ones are skipped with
    /// a warning) the user's memberships and records whether they are an administrator
    /// through their groups; the user as stored afterwards.
    pub async fn apply(
        &self,
        user: User,
        group_type: GroupType,
        groups: &[(String, String)],
        admin: bool,
    ) -> Result<User> {
        let valid: Vec<(String, String)> = groups
            .iter()
            .filter(|(name, dn)| match NewUserGroup::new(name, group_type, dn) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(group = %name, error = %e, "a sign-in's group is skipped");
                    false
                }
            })
            .cloned()
            .collect();
        let ids = self.groups.ensure(group_type, &valid).await?;
        self.groups.set_user_groups(user.id, &ids).await?;
        let event = NewEvent::now(
            &user.username,
            DomainEvent::UserUpdated {
                user: user.username.clone(),
                change: "sysadmin".into(),
            },
        );
        if self
            .store
            .set_group_admin_emitting(user.id, admin, &[event])
            .await?
        {
            return Ok(self.store.user(user.id).await?.unwrap_or(user));
        }
        Ok(user)
    }
}

#[async_trait::async_trait]
impl IdentitySync for Memberships {
    /// The groups claim's groups (when the claim is there: an absent claim says nothing
    /// about groups, so the memberships stay) and the administrators' group.
    async fn synced(&self, user: &User, identity: &OidcIdentity) -> Result<()> {
        if identity.has_groups_claim {
            let pairs: Vec<(String, String)> = identity
                .groups
                .iter()
                .map(|g| (g.clone(), String::new()))
                .collect();
            self.apply(user.clone(), GroupType::Oidc, &pairs, identity.admin)
                .await?;
        } else {
            let event = NewEvent::now(
                &user.username,
                DomainEvent::UserUpdated {
                    user: user.username.clone(),
                    change: "sysadmin".into(),
                },
            );
            self.store
                .set_group_admin_emitting(user.id, identity.admin, &[event])
                .await?;
        }
        Ok(())
    }
}
