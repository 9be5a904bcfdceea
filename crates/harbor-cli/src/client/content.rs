//! Artifacts, tags, labels, tag immutability rules and quotas.

pub use harbor_api_model::{Artifact, Tag as ArtifactTag};
use harbor_api_model::{ImmutableRule, Label, Quota};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Client, Error, Result, encode, repo_path};

/// An artifact reference: `project/repo:tag` or `project/repo@sha256:...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactRef {
    /// `project/repo`.
    pub repository: String,
    /// A tag or a digest.
    pub reference: String,
}

impl ArtifactRef {
    /// Parses `project/repo:tag` or `project/repo@digest`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::Setup(format!(
                "invalid artifact {s:?}: use <project>/<repository>:<tag> or \
                 <project>/<repository>@<digest>"
            ))
        };
        let (repository, reference) = match s.split_once('@') {
            Some((r, d)) => (r, d),
            None => s.rsplit_once(':').ok_or_else(bad)?,
        };
        if repository.is_empty() || reference.is_empty() || !repository.contains('/') {
            return Err(bad());
        }
        Ok(ArtifactRef {
            repository: repository.to_owned(),
            reference: reference.to_owned(),
        })
    }

    /// The form `?from=` takes: the same text.
    pub fn as_from(&self) -> String {
        if self.reference.contains(':') {
            format!("{}@{}", self.repository, self.reference)
        } else {
            format!("{}:{}", self.repository, self.reference)
        }
    }

    pub(crate) fn path(&self) -> Result<String> {
        let (p, r) = repo_path(&self.repository)?;
        Ok(format!(
            "/projects/{p}/repositories/{r}/artifacts/{}",
            encode(&self.reference)
        ))
    }
}

fn not_found(message: String) -> Error {
    Error::Api {
        status: StatusCode::NOT_FOUND,
        code: "NOT_FOUND".into(),
        message,
    }
}

impl Client {
    /// Artifacts of a repository (`project/repo`), newest push first, at most `limit`;
    /// `q` is Harbor's filter (e.g. `tags=~v1`).
    pub async fn artifacts(
        &self,
        repository: &str,
        q: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Artifact>> {
        let (p, r) = repo_path(repository)?;
        let mut path = format!("/projects/{p}/repositories/{r}/artifacts?with_label=true");
        if let Some(q) = q {
            path.push_str(&format!("&q={}", encode(q)));
        }
        self.list(&path, limit).await
    }

    /// One artifact, with its tags and labels.
    pub async fn artifact(&self, a: &ArtifactRef) -> Result<Value> {
        self.get(&format!("{}?with_label=true", a.path()?)).await
    }

    /// Deletes an artifact with its tags and accessories.
    pub async fn delete_artifact(&self, a: &ArtifactRef) -> Result<()> {
        self.send(Method::DELETE, &a.path()?, None).await.map(drop)
    }

    /// Copies `from` into repository `to` (`project/repo`) without moving bytes.
    pub async fn copy_artifact(&self, from: &ArtifactRef, to: &str) -> Result<()> {
        let (p, r) = repo_path(to)?;
        let path = format!(
            "/projects/{p}/repositories/{r}/artifacts?from={}",
            encode(&from.as_from())
        );
        self.send(Method::POST, &path, None).await.map(drop)
    }

    /// Adds a tag to an artifact.
    pub async fn add_tag(&self, a: &ArtifactRef, tag: &str) -> Result<()> {
        let path = format!("{}/tags", a.path()?);
        self.send(Method::POST, &path, Some(json!({ "name": tag })))
            .await
            .map(drop)
    }

    /// Removes a tag from an artifact.
    pub async fn remove_tag(&self, a: &ArtifactRef, tag: &str) -> Result<()> {
        let path = format!("{}/tags/{}", a.path()?, encode(tag));
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    /// Attaches a label to an artifact.
    pub async fn attach_label(&self, a: &ArtifactRef, label_id: i64) -> Result<()> {
        let path = format!("{}/labels", a.path()?);
        self.send(Method::POST, &path, Some(json!({ "id": label_id })))
            .await
            .map(drop)
    }

    /// Detaches a label from an artifact.
    pub async fn detach_label(&self, a: &ArtifactRef, label_id: i64) -> Result<()> {
        let path = format!("{}/labels/{label_id}", a.path()?);
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    // --- labels

    /// Global labels, or a project's (by id).
    pub async fn labels(&self, project_id: Option<i64>) -> Result<Vec<Label>> {
        let path = match project_id {
            Some(id) => format!("/labels?scope=p&project_id={id}"),
            None => "/labels?scope=g".into(),
        };
        self.list(&path, usize::MAX).await
    }

    /// Creates a global label, or a project label; returns its id.
    pub async fn create_label(
        &self,
        name: &str,
        project_id: Option<i64>,
        color: &str,
        description: &str,
    ) -> Result<i64> {
        let mut body = json!({
            "name": name, "color": color, "description": description,
            "scope": if project_id.is_some() { "p" } else { "g" },
        });
        if let Some(id) = project_id {
            body["project_id"] = json!(id);
        }
        let r = self.send(Method::POST, "/labels", Some(body)).await?;
        self.created_id(&r)
    }

    /// The label named `name`, global or of the project.
    pub async fn label_by_name(&self, name: &str, project_id: Option<i64>) -> Result<Label> {
        let mut all = self.labels(None).await?;
        if let Some(id) = project_id {
            all.extend(self.labels(Some(id)).await?);
        }
        // A project label wins over a global one of the same name.
        all.into_iter()
            .rev()
            .find(|l| l.name == name)
            .ok_or_else(|| not_found(format!("label {name} not found")))
    }

    /// Changes a label: the fields of `changes` (`name`, `color`, `description`) replace
    /// the label's.
    pub async fn update_label(&self, id: i64, changes: &Value) -> Result<()> {
        self.send(Method::PUT, &format!("/labels/{id}"), Some(changes.clone()))
            .await
            .map(drop)
    }

    /// Enables or disables an immutability rule.
    pub async fn set_immutable_rule_disabled(
        &self,
        project: &str,
        id: i64,
        disabled: bool,
    ) -> Result<()> {
        self.send(
            Method::PUT,
            &format!("/projects/{}/immutabletagrules/{id}", encode(project)),
            Some(json!({ "disabled": disabled })),
        )
        .await
        .map(drop)
    }

    /// Deletes a label (detaching it everywhere).
    pub async fn delete_label(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/labels/{id}"), None)
            .await
            .map(drop)
    }

    // --- immutability rules

    /// A project's rules.
    pub async fn immutable_rules(&self, project: &str) -> Result<Vec<ImmutableRule>> {
        self.list(
            &format!("/projects/{}/immutabletagrules", encode(project)),
            usize::MAX,
        )
        .await
    }

    /// Adds a rule: tags matching `tags` in repositories matching `repositories`; with
    /// `exclude_*` the patterns exclude instead. Returns the rule id.
    pub async fn add_immutable_rule(
        &self,
        project: &str,
        repositories: &str,
        exclude_repositories: bool,
        tags: &str,
        exclude_tags: bool,
    ) -> Result<i64> {
        let body = json!({
            "action": "immutable", "template": "immutable_template", "disabled": false,
            "tag_selectors": [{
                "kind": "doublestar",
                "decoration": if exclude_tags { "excludes" } else { "matches" },
                "pattern": tags,
            }],
            "scope_selectors": {"repository": [{
                "kind": "doublestar",
                "decoration": if exclude_repositories { "repoExcludes" } else { "repoMatches" },
                "pattern": repositories,
            }]},
        });
        let path = format!("/projects/{}/immutabletagrules", encode(project));
        let r = self.send(Method::POST, &path, Some(body)).await?;
        self.created_id(&r)
    }

    /// Deletes a rule.
    pub async fn delete_immutable_rule(&self, project: &str, id: i64) -> Result<()> {
        let path = format!("/projects/{}/immutabletagrules/{id}", encode(project));
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    // --- quotas

    /// Every project's quota (administrators).
    pub async fn quotas(&self) -> Result<Vec<Quota>> {
        self.list("/quotas?reference=project", usize::MAX).await
    }

    /// A project's quota.
    pub async fn project_quota(&self, project: &str) -> Result<Quota> {
        let id = self.project(project).await?.project_id;
        let found: Vec<Quota> = self
            .list(&format!("/quotas?reference=project&reference_id={id}"), 1)
            .await?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| not_found(format!("no quota for project {project}")))
    }

    /// Sets a project's storage limit (bytes, -1 unlimited).
    pub async fn set_quota(&self, project: &str, limit: i64) -> Result<()> {
        let q = self.project_quota(project).await?;
        let body = json!({ "hard": { "storage": limit } });
        self.send(Method::PUT, &format!("/quotas/{}", q.id), Some(body))
            .await
            .map(drop)
    }

    /// Recounts a project's usage from scratch; repairs drift unless `dry_run`.
    pub async fn recount_quota(&self, project: &str, dry_run: bool) -> Result<Value> {
        let q = self.project_quota(project).await?;
        let r = self
            .send(
                Method::POST,
                &format!("/quotas/{}/recount?dry_run={dry_run}", q.id),
                None,
            )
            .await?;
        self.json(r).await
    }
}

/// Parses a size like `10GiB`, `500MB`, `1024` or `-1` (unlimited) into bytes.
pub fn parse_size(s: &str) -> Option<i64> {
    let s = s.trim();
    if s == "-1" {
        return Some(-1);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1 << 10,
        "mb" => 1000 * 1000,
        "mib" | "m" => 1 << 20,
        "gb" => 1000 * 1000 * 1000,
        "gib" | "g" => 1 << 30,
        "tb" => 1000 * 1000 * 1000 * 1000,
        "tib" | "t" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_references_and_sizes() {
        let a = ArtifactRef::parse("team/a/b:v1").unwrap();
        assert_eq!(
            (a.repository.as_str(), a.reference.as_str()),
            ("team/a/b", "v1")
        );
        assert_eq!(a.as_from(), "team/a/b:v1");
        let d = ArtifactRef::parse("team/app@sha256:abc").unwrap();
        assert_eq!(d.reference, "sha256:abc");
        assert_eq!(d.as_from(), "team/app@sha256:abc");
        assert_eq!(
            d.path().unwrap(),
            "/projects/team/repositories/app/artifacts/sha256%3Aabc"
        );
        for bad in ["team", "app:v1", "team/app", ":v1", "team/app@"] {
            assert!(ArtifactRef::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("10GiB"), Some(10 << 30));
        assert_eq!(parse_size("500MB"), Some(500_000_000));
        assert_eq!(parse_size("-1"), Some(-1));
        assert_eq!(parse_size("12XB"), None);
    }
}
