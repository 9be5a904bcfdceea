//! Storage quotas as the REST API manages them: listing, reading, setting limits, and
//! the from-scratch recount that reports (and repairs) drift.

use super::Registry;
use crate::error::{Error, Result};
use crate::identity::Page;
use crate::quota::{Quota, QuotaQuery, QuotaRecount, validate_limit};

impl Registry {
    /// One page of quotas matching `query`, and the number of matches.
    pub async fn list_quotas(&self, query: &QuotaQuery, page: Page) -> Result<(Vec<Quota>, u64)> {
        self.meta.quotas(query, page).await
    }

    /// The storage all projects use, summed.
    pub async fn total_quota_usage(&self) -> Result<u64> {
        self.meta.total_quota_usage().await
    }

    /// One quota; [`Error::NotFound`] if there is none with this id.
    pub async fn quota(&self, id: i64) -> Result<Quota> {
        self.meta
            .quota(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("quota {id} not found")))
    }

    /// The quota of a project; [`Error::NotFound`] if it has none.
    pub async fn project_quota(&self, project_id: i64) -> Result<Quota> {
        self.meta
            .project_quota(project_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("quota of project {project_id} not found")))
    }

    /// The quota of a project, if it has one.
    pub async fn find_project_quota(&self, project_id: i64) -> Result<Option<Quota>> {
        self.meta.project_quota(project_id).await
    }

    /// Sets a quota's hard limit: -1 (unlimited) or a positive number of bytes. A limit
    /// below the current usage is accepted (further pushes are refused), as in Harbor.
    pub async fn set_quota_limit(&self, by: &str, id: i64, hard: i64) -> Result<Quota> {
        validate_limit(hard)?;
        let current = self.quota(id).await?;
        let event = [crate::events::NewEvent::now(
            by,
            crate::events::DomainEvent::QuotaChanged {
                project: current.project_name,
                project_id: current.project_id,
                hard,
            },
        )];
        let q = self.meta.set_quota_limit_emitting(id, hard, &event).await?;
        self.signal.written();
        Ok(q)
    }

    /// Counts a project's usage from scratch and compares it with the stored usage.
    pub async fn recount_quota(&self, project_id: i64) -> Result<QuotaRecount> {
        self.meta.recount_quota(project_id).await
    }

    /// Recounts a project's usage and stores the recount; returns what was found before.
    /// A repair that changed something is recorded (`QuotaRepaired`) as done by `by`.
    pub async fn repair_quota(&self, by: &str, project_id: i64) -> Result<QuotaRecount> {
        let found = self.meta.repair_quota(project_id).await?;
        if !found.consistent() {
            let q = self.project_quota(project_id).await?;
            let event = crate::events::DomainEvent::QuotaRepaired {
                project: q.project_name,
                project_id,
            };
            self.record_event(by, event).await;
        }
        Ok(found)
    }
}
