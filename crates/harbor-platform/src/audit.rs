//! Reading the audit log: the whole log for system administrators (and robots holding the
//! system `audit-log:list`), a project's entries for those with `log:list` there.

use std::sync::Arc;

use harbor_auth::{Accounts, Principal};
use harbor_core::Result;
use harbor_core::identity::{AuditEntry, AuditQuery, Page};
use harbor_core::rbac::{Action, Resource};

use crate::access::{self, ProjectRef};

/// The audit log service.
#[derive(Clone)]
pub struct AuditLog {
    accounts: Arc<Accounts>,
}

impl AuditLog {
    /// The log kept by `accounts`' store.
    pub fn new(accounts: Arc<Accounts>) -> Self {
        AuditLog { accounts }
    }

    /// One page of every entry matching `query`.
    pub async fn list(
        &self,
        by: &Principal,
        query: &AuditQuery,
        page: Page,
    ) -> Result<(Vec<AuditEntry>, u64)> {
        access::require_system(
            by,
            "audit-log",
            Action::List,
            "only system administrators may read the whole audit log",
        )?;
        self.accounts.store().audit_log(query, page).await
    }

    /// One page of a project's entries matching `query`.
    pub async fn of_project(
        &self,
        by: &Principal,
        r: &ProjectRef,
        mut query: AuditQuery,
        page: Page,
    ) -> Result<(Vec<AuditEntry>, u64)> {
        let (p, _) =
            access::project_for(&self.accounts, by, r, Resource::Log, Action::List).await?;
        query.project_id = Some(p.id);
        self.accounts.store().audit_log(&query, page).await
    }
}
