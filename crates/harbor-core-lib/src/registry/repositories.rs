//! Repositories as the REST API manages them: listing, reading, describing, deleting,
//! and their pull counts.

use super::Registry;
use crate::error::{Error, Result};
use crate::events::{DomainEvent, NewEvent};
use crate::identity::Page;
use crate::model::{RepositoryQuery, RepositoryRecord};
use crate::names::RepositoryName;

impl Registry {
    /// One page of repositories matching `query`, and the number of matches.
    pub async fn list_repositories(
        &self,
        query: &RepositoryQuery,
        page: Page,
    ) -> Result<(Vec<RepositoryRecord>, u64)> {
        self.meta.repository_records(query, page).await
    }

    /// One repository; [`Error::NotFound`] if it holds no manifest.
    pub async fn repository(&self, repo: &RepositoryName) -> Result<RepositoryRecord> {
        self.meta
            .repository_record(repo)
            .await?
            .ok_or_else(|| Error::NotFound(format!("repository {repo} not found")))
    }

    /// When a repository was created (ms), if it exists (it may hold no manifest).
    pub async fn repository_created_ms(&self, repo: &RepositoryName) -> Result<Option<i64>> {
        self.meta.repository_created_ms(repo).await
    }

    /// Sets a repository's description.
    pub async fn describe_repository(
        &self,
        by: &str,
        repo: &RepositoryName,
        description: &str,
    ) -> Result<()> {
        self.repository(repo).await?;
        let event = [NewEvent::now(
            by,
            DomainEvent::RepositoryUpdated {
                repository: repo.to_string(),
            },
        )];
        self.meta
            .set_repository_description_emitting(repo, description, &event)
            .await?;
        self.signal.written();
        Ok(())
    }

    /// Deletes a repository: its manifests and tags go at once (so `/v2/` answers
    /// `NAME_UNKNOWN` for it), its blobs stay for garbage collection.
    pub async fn delete_repository(&self, by: &str, repo: &RepositoryName) -> Result<()> {
        self.repository(repo).await?;
        self.pulls.flush().await;
        let repository = repo.to_string();
        let e = NewEvent::now(by, DomainEvent::RepositoryDeleted { repository });
        if self.meta.delete_repository_emitting(repo, &[e]).await? {
            self.signal.written();
            Ok(())
        } else {
            Err(Error::NotFound(format!("repository {repo} not found")))
        }
    }

    /// Counts a manifest pull of `repo`. Never waits for the database: counts are written
    /// in batches in the background (see [`Registry::flush_pulls`]).
    pub fn record_pull(&self, repo: &RepositoryName) {
        self.pulls.record(repo);
    }

    /// Writes the pull counts recorded so far and waits until they are stored (on
    /// shutdown, or to observe counts at once).
    pub async fn flush_pulls(&self) {
        self.pulls.flush().await;
    }
}
