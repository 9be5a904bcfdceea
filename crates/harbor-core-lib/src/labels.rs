//! Labels (Harbor's `/api/v2.0/labels`): global labels (scope `g`, managed by system
//! administrators) and project labels (scope `p`), attached to artifacts (manifest rows).
//! The store port is [`LabelStore`].

use std::collections::HashMap;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::{Match, Page};
use crate::names::{Reference, RepositoryName};

/// Longest label name, description and color accepted.
const MAX_NAME: usize = 128;
const MAX_DESCRIPTION: usize = 1024;
const MAX_COLOR: usize = 32;

/// Where a label lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelScope {
    /// `g`: every project may use it.
    Global,
    /// `p`: one project's.
    Project,
}

impl LabelScope {
    /// Harbor's code: `g` or `p`.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelScope::Global => "g",
            LabelScope::Project => "p",
        }
    }

    /// Parses `g` or `p`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "g" => Ok(LabelScope::Global),
            "p" => Ok(LabelScope::Project),
            other => Err(Error::Invalid(format!(
                "invalid label scope {other:?}: use g (global) or p (project)"
            ))),
        }
    }
}

/// A label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Label id.
    pub id: i64,
    /// Name, unique within its scope (and project).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Display color, such as `#0065AB`.
    pub color: String,
    /// Global or project.
    pub scope: LabelScope,
    /// The project of a project label.
    pub project_id: Option<i64>,
    /// Creation time (ms since the epoch).
    pub created_ms: i64,
    /// Last update (ms since the epoch).
    pub updated_ms: i64,
}

/// The fields of a new label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLabel {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Color.
    pub color: String,
    /// Scope.
    pub scope: LabelScope,
    /// The project of a project label (`None` for global labels).
    pub project_id: Option<i64>,
}

impl NewLabel {
    /// Checks the fields: a name without surrounding whitespace, bounded lengths, and a
    /// project exactly for project labels.
    pub fn validate(&self) -> Result<()> {
        validate_fields(&self.name, &self.description, &self.color)?;
        match (self.scope, self.project_id) {
            (LabelScope::Global, None) => Ok(()),
            (LabelScope::Project, Some(id)) if id > 0 => Ok(()),
            (LabelScope::Global, Some(_)) => Err(Error::Invalid(
                "a global label belongs to no project: leave project_id out".into(),
            )),
            (LabelScope::Project, _) => Err(Error::Invalid(
                "a project label needs the project_id of its project".into(),
            )),
        }
    }
}

/// The fields an update replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelUpdate {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Color.
    pub color: String,
}

impl LabelUpdate {
    /// Checks the fields as [`NewLabel::validate`] does.
    pub fn validate(&self) -> Result<()> {
        validate_fields(&self.name, &self.description, &self.color)
    }
}

fn validate_fields(name: &str, description: &str, color: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::Invalid("the label name must not be empty".into()));
    }
    if name.trim() != name || name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "the label name must not start or end with spaces or hold control characters".into(),
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "the label name is longer than {MAX_NAME} characters"
        )));
    }
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(Error::Invalid(format!(
            "the label description is longer than {MAX_DESCRIPTION} characters"
        )));
    }
    if color.chars().count() > MAX_COLOR {
        return Err(Error::Invalid(format!(
            "the label color is longer than {MAX_COLOR} characters"
        )));
    }
    Ok(())
}

/// Filters of a label listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelQuery {
    /// Only labels of this scope.
    pub scope: LabelScope,
    /// With [`LabelScope::Project`]: the project.
    pub project_id: Option<i64>,
    /// Name filter.
    pub name: Option<Match>,
}

/// Labels and their links to artifacts (manifest rows, `manifests.id`).
///
/// A duplicate name within a scope (and project) fails with [`Error::Conflict`]; updates
/// and deletes of missing labels with [`Error::NotFound`]. Deleting a label detaches it
/// from every artifact; deleting an artifact drops its links.
#[async_trait]
pub trait LabelStore: Send + Sync {
    /// Creates a label.
    async fn create_label(&self, label: &NewLabel) -> Result<Label> {
        self.create_label_emitting(label, &[]).await
    }
    /// [`create_label`](Self::create_label), appending `events` in its transaction.
    async fn create_label_emitting(&self, label: &NewLabel, events: &[NewEvent]) -> Result<Label>;
    /// One label.
    async fn label(&self, id: i64) -> Result<Option<Label>>;
    /// One page of labels ordered by id, and the number of matches.
    async fn labels(&self, query: &LabelQuery, page: Page) -> Result<(Vec<Label>, u64)>;
    /// Replaces a label's name, description and color.
    async fn update_label(&self, id: i64, update: &LabelUpdate) -> Result<Label> {
        self.update_label_emitting(id, update, &[]).await
    }
    /// [`update_label`](Self::update_label), appending `events` in its transaction.
    async fn update_label_emitting(
        &self,
        id: i64,
        update: &LabelUpdate,
        events: &[NewEvent],
    ) -> Result<Label>;
    /// Deletes a label and all its links.
    async fn delete_label(&self, id: i64) -> Result<()> {
        self.delete_label_emitting(id, &[]).await
    }
    /// [`delete_label`](Self::delete_label), appending `events` in its transaction.
    async fn delete_label_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;
    /// The row id (`manifests.id`) of the artifact `reference` (tag or digest) names in
    /// `repo`, if there is one.
    async fn artifact_row_id(
        &self,
        repo: &RepositoryName,
        reference: &Reference,
    ) -> Result<Option<i64>>;
    /// Attaches a label to an artifact; [`Error::Conflict`] if it is attached already,
    /// [`Error::NotFound`] if either is missing.
    async fn attach_label(&self, artifact_id: i64, label_id: i64) -> Result<()> {
        self.attach_label_emitting(artifact_id, label_id, &[]).await
    }
    /// [`attach_label`](Self::attach_label), appending `events` in its transaction.
    async fn attach_label_emitting(
        &self,
        artifact_id: i64,
        label_id: i64,
        events: &[NewEvent],
    ) -> Result<()>;
    /// Detaches a label; [`Error::NotFound`] if it was not attached.
    async fn detach_label(&self, artifact_id: i64, label_id: i64) -> Result<()> {
        self.detach_label_emitting(artifact_id, label_id, &[]).await
    }
    /// [`detach_label`](Self::detach_label), appending `events` in its transaction.
    async fn detach_label_emitting(
        &self,
        artifact_id: i64,
        label_id: i64,
        events: &[NewEvent],
    ) -> Result<()>;
    /// The labels of each artifact (by `manifests.id`), ordered by label id, in one query
    /// per 300 ids. Artifacts without labels are absent from the map.
    async fn labels_of(&self, artifact_ids: &[i64]) -> Result<HashMap<i64, Vec<Label>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, scope: LabelScope, project_id: Option<i64>) -> NewLabel {
        NewLabel {
            name: name.into(),
            description: String::new(),
            color: "#FFFFFF".into(),
            scope,
            project_id,
        }
    }

    #[test]
    fn validation() {
        assert!(new("prod", LabelScope::Global, None).validate().is_ok());
        assert!(new("prod", LabelScope::Project, Some(3)).validate().is_ok());
        assert!(new("", LabelScope::Global, None).validate().is_err());
        assert!(new(" x", LabelScope::Global, None).validate().is_err());
        assert!(new("prod", LabelScope::Global, Some(3)).validate().is_err());
        assert!(new("prod", LabelScope::Project, None).validate().is_err());
        assert!(
            new(&"x".repeat(129), LabelScope::Global, None)
                .validate()
                .is_err()
        );
        assert_eq!(LabelScope::parse("p").unwrap(), LabelScope::Project);
        assert!(LabelScope::parse("x").is_err());
    }
}
