//! Tag immutability: rule management and enforcement.
//!
//! Enforcement reads the project's rules with one indexed query per manifest push or
//! delete (and nothing more when no enabled rule covers the repository), then looks up
//! only the tags that rules select. The check runs just before the write, not in the
//! same transaction: a rule created, or a tag pushed, between the check and the write
//! (a window of one query) is not seen by that request, as in Harbor, whose middleware
//! checks before the handler runs.

use super::Registry;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::events::{DomainEvent, NewEvent};
use crate::identity::Page;
use crate::immutable::{
    ImmutabilityPolicy, ImmutableRule, MAX_RULES_PER_PROJECT, RuleSpec, project_name,
    repository_path,
};
use crate::names::{Reference, RepositoryName, Tag};

/// The error for an immutable tag, worded as Harbor's.
fn refused(repo: &RepositoryName, tag: &str) -> Error {
    Error::Precondition(format!(
        "Failed to process request due to '{}:{tag}' configured as immutable.",
        repository_path(repo)
    ))
}

impl Registry {
    /// The immutability policy of `repo`'s project: its enabled rules, compiled, loaded
    /// with one indexed query. Use it to mark many tags (`tags[].immutable`) without
    /// further I/O.
    pub async fn immutability(&self, repo: &RepositoryName) -> Result<ImmutabilityPolicy> {
        let rules = self
            .meta
            .immutable_rules_of_project(project_name(repo))
            .await?;
        Ok(ImmutabilityPolicy::new(&rules))
    }

    /// Which of `tags` of `repo` are immutable (in the order given).
    pub async fn immutable_tags(&self, repo: &RepositoryName, tags: &[Tag]) -> Result<Vec<Tag>> {
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        let policy = self.immutability(repo).await?;
        Ok(tags
            .iter()
            .filter(|t| policy.is_immutable(repo, t.as_str()))
            .cloned()
            .collect())
    }

    /// Fails with [`Error::Precondition`] if pointing `tags` of `repo` at `digest` would
    /// move an existing immutable tag to another manifest. Re-pushing the manifest a tag
    /// already points at, and creating a new tag, are allowed.
    pub async fn check_tag_moves(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
        tags: &[Tag],
    ) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let policy = self.immutability(repo).await?;
        let protected: Vec<Tag> = tags
            .iter()
            .filter(|t| policy.is_immutable(repo, t.as_str()))
            .cloned()
            .collect();
        if protected.is_empty() {
            return Ok(());
        }
        let current = self.meta.tag_digests(repo, &protected).await?;
        match current.iter().find(|(_, d)| d != digest) {
            Some((tag, _)) => Err(refused(repo, tag.as_str())),
            None => Ok(()),
        }
    }

    /// Fails with [`Error::Precondition`] if deleting `reference` (a tag, or a manifest by
    /// digest with all its tags) would remove an immutable tag.
    pub async fn check_delete(&self, repo: &RepositoryName, reference: &Reference) -> Result<()> {
        let policy = self.immutability(repo).await?;
        if !policy.covers(repo) {
            return Ok(());
        }
        match reference {
            Reference::Tag(tag) => {
                if policy.is_immutable(repo, tag.as_str()) {
                    return Err(refused(repo, tag.as_str()));
                }
            }
            Reference::Digest(digest) => {
                let tags = self.meta.tags_of_manifest(repo, digest).await?;
                if let Some(tag) = tags.iter().find(|t| policy.is_immutable(repo, t.as_str())) {
                    return Err(refused(repo, tag.as_str()));
                }
            }
        }
        Ok(())
    }

    /// One page of a project's rules, and their number.
    pub async fn immutable_rules(
        &self,
        project_id: i64,
        page: Page,
    ) -> Result<(Vec<ImmutableRule>, u64)> {
        self.meta.immutable_rules(project_id, page).await
    }

    /// Creates a rule after checking its patterns; a project holds at most
    /// [`MAX_RULES_PER_PROJECT`] rules.
    pub async fn create_immutable_rule(
        &self,
        by: &str,
        project_id: i64,
        spec: &RuleSpec,
    ) -> Result<ImmutableRule> {
        spec.validate()?;
        let event = rule_event(by, project_id, spec, "create");
        let rule = self
            .meta
            .create_immutable_rule_emitting(project_id, spec, MAX_RULES_PER_PROJECT, &event)
            .await?;
        self.signal.written();
        Ok(rule)
    }

    /// The rule `id` of a project ([`Error::NotFound`] if it belongs to another one).
    pub async fn immutable_rule(&self, project_id: i64, id: i64) -> Result<ImmutableRule> {
        self.meta
            .immutable_rule(id)
            .await?
            .filter(|r| r.project_id == project_id)
            .ok_or_else(|| Error::NotFound(format!("immutable rule {id} not found")))
    }

    /// Replaces a project's rule.
    pub async fn update_immutable_rule(
        &self,
        by: &str,
        project_id: i64,
        id: i64,
        spec: &RuleSpec,
    ) -> Result<ImmutableRule> {
        spec.validate()?;
        self.immutable_rule(project_id, id).await?;
        let event = rule_event(by, project_id, spec, "update");
        let rule = self
            .meta
            .update_immutable_rule_emitting(id, spec, &event)
            .await?;
        self.signal.written();
        Ok(rule)
    }

    /// Deletes a project's rule.
    pub async fn delete_immutable_rule(&self, by: &str, project_id: i64, id: i64) -> Result<()> {
        let rule = self.immutable_rule(project_id, id).await?;
        let event = rule_event(by, project_id, &rule.spec, "delete");
        self.meta.delete_immutable_rule_emitting(id, &event).await?;
        self.signal.written();
        Ok(())
    }
}

/// The event of a rule change, written with it.
fn rule_event(by: &str, project_id: i64, spec: &RuleSpec, change: &str) -> [NewEvent; 1] {
    [NewEvent::now(
        by,
        DomainEvent::ImmutableRuleChanged {
            project_id,
            rule: spec.describe(),
            change: change.to_owned(),
        },
    )]
}
