//! Tag retention: policy management, the candidates of a repository, and runs (dry or
//! real) that delete what a policy does not keep through the same artifact delete as the
//! REST API, so accessories and unshared index children go with an artifact and the
//! project's quota is released.
//!
//! A job runner runs a policy by calling [`Registry::retention_repositories`] for the
//! policy's project, then [`Registry::apply_retention`] for each repository.

use std::collections::{HashMap, HashSet};

use super::Registry;
use super::artifacts::ArtifactDeletion;
use crate::artifact::ArtifactQuery;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::identity::Page;
use crate::immutable::repository_path;
use crate::model::RepositoryQuery;
use crate::names::RepositoryName;
use crate::retention::{Candidate, RetainReason, RetentionPolicy, evaluate};

/// Rows read per page when listing every artifact or repository.
const PAGE_SIZE: u64 = 500;

/// What a retention run on one repository did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// The artifacts kept, and why.
    pub retained: Vec<(Candidate, RetainReason)>,
    /// The artifacts deleted: digest and the tags they had.
    pub deleted: Vec<(Digest, Vec<String>)>,
    /// The sum of the deleted artifacts' sizes (as Harbor counts them: blobs shared with
    /// kept artifacts are counted too, and only garbage collection frees storage).
    pub deleted_bytes: u64,
}

fn describe(repo: &RepositoryName, c: &Candidate) -> String {
    if c.tags.is_empty() {
        format!("{repo}@{} (untagged)", c.digest)
    } else {
        format!("{repo}@{} ({})", c.digest, c.tags.join(", "))
    }
}

fn reason_text(r: &RetainReason) -> String {
    match r {
        RetainReason::Rule {
            index, template, ..
        } => format!("kept by rule {} ({})", index + 1, template.as_str()),
        RetainReason::Immutable => "kept: immutable".into(),
        RetainReason::NoRuleApplies => "kept: no rule applies to the repository".into(),
        RetainReason::ReferencedByIndex => "kept: listed by an index".into(),
    }
}

impl Registry {
    /// The policy `id`; [`Error::NotFound`] if there is none.
    pub async fn retention_policy(&self, id: i64) -> Result<RetentionPolicy> {
        self.meta
            .policy(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("retention policy {id} not found")))
    }

    /// The policy of a project, if it has one.
    pub async fn retention_policy_of_project(
        &self,
        project_id: i64,
    ) -> Result<Option<RetentionPolicy>> {
        self.meta.policy_of_project(project_id).await
    }

    /// Validates and stores a policy for the project of its `scope.ref`; returns its id.
    /// A project holds one policy ([`Error::Invalid`] if it has one already).
    pub async fn create_retention_policy(&self, policy: &RetentionPolicy) -> Result<i64> {
        policy.validate()?;
        let project_id = policy.project_id().unwrap_or_default();
        if let Some(old) = self.meta.policy_of_project(project_id).await? {
            return Err(Error::Invalid(format!(
                "project {project_id} already has retention policy {}",
                old.id
            )));
        }
        self.meta.create_policy(project_id, policy).await
    }

    /// Validates and replaces the policy `id`; its `scope.ref` must stay the same project
    /// ([`Error::NotFound`] otherwise, as Harbor).
    pub async fn update_retention_policy(&self, id: i64, policy: &RetentionPolicy) -> Result<()> {
        policy.validate()?;
        let old = self.retention_policy(id).await?;
        if old.project_id() != policy.project_id() {
            return Err(Error::NotFound(format!(
                "the retention policy id {id} does not match"
            )));
        }
        let policy = RetentionPolicy {
            id,
            ..policy.clone()
        };
        self.meta.update_policy(id, &policy).await
    }

    /// Deletes the policy `id`.
    pub async fn delete_retention_policy(&self, id: i64) -> Result<()> {
        self.meta.delete_policy(id).await
    }

    /// The repositories of the project that some enabled rule of `policy` selects (by
    /// their name without the project), read page by page.
    pub async fn retention_repositories(
        &self,
        project_id: i64,
        policy: &RetentionPolicy,
    ) -> Result<Vec<RepositoryName>> {
        let rules = policy.enabled_rules()?;
        let query = RepositoryQuery {
            project_id: Some(project_id),
            ..RepositoryQuery::default()
        };
        let mut out = Vec::new();
        let mut seen = 0u64;
        for page in 1.. {
            let page = Page {
                page,
                page_size: PAGE_SIZE,
            };
            let (records, total) = self.meta.repository_records(&query, page).await?;
            if records.is_empty() {
                break;
            }
            seen += records.len() as u64;
            for r in records {
                let name = RepositoryName::parse(&r.name).map_err(Error::internal)?;
                let path = repository_path(&name);
                if rules.iter().any(|rule| rule.selects_repository(path)) {
                    out.push(name);
                }
            }
            if seen >= total {
                break;
            }
        }
        Ok(out)
    }

    /// Every top-level artifact of `repo` (accessories and untagged index children are not
    /// candidates: they go with their subject or index), with its tags, labels, push and
    /// pull times (the latest of the artifact's and its tags', as Harbor) and whether a
    /// tag of it is immutable. Reads the listing page by page, one query each for the
    /// tags and labels of a page.
    pub async fn retention_candidates(&self, repo: &RepositoryName) -> Result<Vec<Candidate>> {
        let immutability = self.immutability(repo).await?;
        let query = ArtifactQuery::default();
        let mut out: Vec<Candidate> = Vec::new();
        let mut ids = HashSet::new();
        let mut seen = 0u64;
        for page in 1.. {
            let page = Page {
                page,
                page_size: PAGE_SIZE,
            };
            let (records, total) = self.meta.artifacts(repo, &query, page).await?;
            if records.is_empty() {
                break;
            }
            seen += records.len() as u64;
            let page_ids: Vec<i64> = records.iter().map(|r| r.id).collect();
            let mut tags: HashMap<i64, Vec<_>> = HashMap::new();
            for t in self.meta.artifact_tags(&page_ids).await? {
                tags.entry(t.artifact_id).or_default().push(t);
            }
            let mut labels = self.meta.labels_of(&page_ids).await?;
            for r in records {
                // A push between two pages may shift the listing: list each artifact once.
                if !ids.insert(r.id) {
                    continue;
                }
                let tags = tags.remove(&r.id).unwrap_or_default();
                let pushed_ms = tags.iter().map(|t| t.pushed_ms).fold(r.pushed_ms, i64::max);
                let pulled_ms = tags
                    .iter()
                    .filter_map(|t| t.pulled_ms)
                    .chain(r.pulled_ms)
                    .max();
                let names: Vec<String> = tags.into_iter().map(|t| t.name).collect();
                out.push(Candidate {
                    artifact_id: r.id,
                    immutable: names.iter().any(|t| immutability.is_immutable(repo, t)),
                    digest: r.digest,
                    tags: names,
                    pushed_ms,
                    pulled_ms,
                    labels: labels
                        .remove(&r.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|l| l.name)
                        .collect(),
                    size: r.size,
                });
            }
            if seen >= total {
                break;
            }
        }
        Ok(out)
    }

    /// Runs `policy` on `repo` at time `now_ms`: evaluates its candidates and, unless
    /// `dry_run`, deletes each artifact the policy does not keep with
    /// [`Registry::delete_artifact`]. A delete refused by tag immutability, an artifact
    /// listed by an index, or one already gone is logged and skipped; other errors stop
    /// the run. A dry run reports what a real run on the same state deletes.
    ///
    /// `log` receives one line per step and per artifact (the task log).
    pub async fn apply_retention(
        &self,
        repo: &RepositoryName,
        policy: &RetentionPolicy,
        dry_run: bool,
        now_ms: i64,
        log: &mut (dyn FnMut(String) + Send),
    ) -> Result<RetentionOutcome> {
        log(format!(
            "Run retention process. Repository: {repo}, rule algorithm: {}, dry run: {dry_run}",
            policy.algorithm
        ));
        let candidates = self.retention_candidates(repo).await?;
        log(format!(
            "Load {} candidates from repository {repo}",
            candidates.len()
        ));
        let evaluation = evaluate(policy, repository_path(repo), &candidates, now_ms)?;
        let mut out = RetentionOutcome {
            retained: evaluation.retained,
            ..RetentionOutcome::default()
        };
        for (c, why) in &out.retained {
            log(format!(
                "RETAIN {}: {}",
                describe(repo, c),
                reason_text(why)
            ));
        }
        for c in evaluation.deleted {
            let what = describe(repo, &c);
            if dry_run {
                if !self
                    .meta
                    .manifest_parents(repo, &c.digest)
                    .await?
                    .is_empty()
                {
                    log(format!(
                        "RETAIN {what}: {}",
                        reason_text(&RetainReason::ReferencedByIndex)
                    ));
                    out.retained.push((c, RetainReason::ReferencedByIndex));
                    continue;
                }
                log(format!("DEL {what} (dry run)"));
            } else {
                match self
                    .delete_artifact(crate::events::SYSTEM, repo, c.digest.as_str())
                    .await
                {
                    Ok(ArtifactDeletion::Deleted) => log(format!("DEL {what}")),
                    Ok(ArtifactDeletion::ReferencedByIndex) => {
                        log(format!(
                            "RETAIN {what}: {}",
                            reason_text(&RetainReason::ReferencedByIndex)
                        ));
                        out.retained.push((c, RetainReason::ReferencedByIndex));
                        continue;
                    }
                    Err(Error::Precondition(why)) => {
                        log(format!("RETAIN {what}: deletion refused: {why}"));
                        out.retained.push((c, RetainReason::Immutable));
                        continue;
                    }
                    Err(Error::NotFound(_) | Error::ManifestUnknown(_)) => {
                        log(format!("SKIP {what}: already deleted"));
                        continue;
                    }
                    Err(e) => {
                        log(format!("ERR {what}: {}", e.public_message()));
                        return Err(e);
                    }
                }
            }
            out.deleted_bytes += c.size;
            out.deleted.push((c.digest, c.tags));
        }
        log(format!(
            "Retention of {repo} done: {} retained, {} deleted{}",
            out.retained.len(),
            out.deleted.len(),
            if dry_run { " (dry run)" } else { "" }
        ));
        Ok(out)
    }
}
