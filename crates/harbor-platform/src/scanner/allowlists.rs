//! CVE allowlists, as Harbor keeps them: the system list (`/system/CVEAllowlist`: any
//! signed-in caller reads it, system administrators write it) and each project's own list
//! (read and written through the project, by [`crate::Projects`]). A project uses the
//! system list while `reuse_sys_cve_allowlist` is `true` (the default); an expired list
//! allows nothing.

use std::sync::Arc;

use harbor_auth::Principal;
use harbor_core::Result;
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::Project;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::Action;
use harbor_core::scan::allowlist::{self, AllowlistInput, CveAllowlist, SYSTEM};

use crate::access;

/// The allowlist service.
#[derive(Clone)]
pub struct CveAllowlists {
    store: Arc<dyn MetadataStore>,
}

impl CveAllowlists {
    /// Allowlists kept in `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        Self { store }
    }

    /// The system list (any signed-in caller, as in Harbor); empty until written.
    pub async fn system(&self, by: &Principal) -> Result<CveAllowlist> {
        access::require_authenticated(by)?;
        self.stored(SYSTEM).await
    }

    /// Replaces the system list (system administrators).
    pub async fn set_system(&self, by: &Principal, list: AllowlistInput) -> Result<CveAllowlist> {
        access::require_system(
            by,
            "system-cve-allowlist",
            Action::Update,
            "only system administrators may change the system CVE allowlist",
        )?;
        let list = list.validate()?;
        let event = DomainEvent::CveAllowlistSet {
            project: None,
            project_id: None,
            items: list.items.len() as u64,
            expires_at: list.expires_at,
        };
        self.store
            .put_allowlist(SYSTEM, &list, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// A project's own list; empty until written. No permission check: callers
    /// ([`crate::Projects`]) have made theirs.
    pub async fn of_project(&self, project: &Project) -> Result<CveAllowlist> {
        self.stored(project.id).await
    }

    /// Replaces a project's own list, with `list` validated already. No permission check:
    /// callers ([`crate::Projects`]) have made theirs.
    pub(crate) async fn write_project(
        &self,
        by: &Principal,
        project: &Project,
        list: &AllowlistInput,
    ) -> Result<CveAllowlist> {
        let event = DomainEvent::CveAllowlistSet {
            project: Some(project.name.clone()),
            project_id: Some(project.id),
            items: list.items.len() as u64,
            expires_at: list.expires_at,
        };
        self.store
            .put_allowlist(project.id, list, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// The list that applies to `project` (the system list while it reuses that, else
    /// its own), in one query; callers check [`CveAllowlist::expired`].
    pub async fn effective(&self, project: &Project) -> Result<CveAllowlist> {
        let id = if allowlist::reuses_system(project) {
            SYSTEM
        } else {
            project.id
        };
        Ok(allowlist::effective(
            project,
            self.store.allowlists(&[id]).await?,
        ))
    }

    async fn stored(&self, project_id: i64) -> Result<CveAllowlist> {
        Ok(self
            .store
            .allowlists(&[project_id])
            .await?
            .pop()
            .unwrap_or_else(|| CveAllowlist::empty(project_id)))
    }
}
