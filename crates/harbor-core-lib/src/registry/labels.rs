//! Labels and their attachment to artifacts.

use std::collections::HashMap;

use super::Registry;
use crate::error::{Error, Result};
use crate::events::DomainEvent;
use crate::identity::Page;
use crate::labels::{Label, LabelQuery, LabelScope, LabelUpdate, NewLabel};
use crate::names::{Reference, RepositoryName};

impl Registry {
    /// Creates a label after checking its fields.
    pub async fn create_label(&self, by: &str, label: &NewLabel) -> Result<Label> {
        label.validate()?;
        let created = self.meta.create_label(label).await?;
        self.label_event(by, &created, "create").await;
        Ok(created)
    }

    async fn label_event(&self, by: &str, label: &Label, change: &str) {
        let event = DomainEvent::LabelChanged {
            label: label.name.clone(),
            project_id: label.project_id,
            change: change.to_owned(),
        };
        self.record_event(by, event).await;
    }

    /// One label ([`Error::NotFound`] if missing).
    pub async fn label(&self, id: i64) -> Result<Label> {
        self.meta
            .label(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("label {id} not found")))
    }

    /// One page of labels, and the number of matches.
    pub async fn labels(&self, query: &LabelQuery, page: Page) -> Result<(Vec<Label>, u64)> {
        self.meta.labels(query, page).await
    }

    /// Replaces a label's name, description and color.
    pub async fn update_label(&self, by: &str, id: i64, update: &LabelUpdate) -> Result<Label> {
        update.validate()?;
        let changed = self.meta.update_label(id, update).await?;
        self.label_event(by, &changed, "update").await;
        Ok(changed)
    }

    /// Deletes a label, detaching it from every artifact.
    pub async fn delete_label(&self, by: &str, id: i64) -> Result<()> {
        let label = self.label(id).await?;
        self.meta.delete_label(id).await?;
        self.label_event(by, &label, "delete").await;
        Ok(())
    }

    /// The row id of the artifact `reference` (tag or digest) names in `repo`.
    pub async fn artifact_row_id(&self, repo: &RepositoryName, reference: &str) -> Result<i64> {
        let parsed = Reference::parse(reference)
            .map_err(|_| Error::Invalid(format!("invalid artifact reference {reference:?}")))?;
        self.meta
            .artifact_row_id(repo, &parsed)
            .await?
            .ok_or_else(|| Error::NotFound(format!("artifact {repo}:{reference} not found")))
    }

    /// Attaches `label` to the artifact `reference` of `repo`, which lives in project
    /// `project_id`: a project label only within its own project.
    pub async fn attach_label(
        &self,
        by: &str,
        repo: &RepositoryName,
        project_id: i64,
        reference: &str,
        label: &Label,
    ) -> Result<()> {
        if label.scope == LabelScope::Project && label.project_id != Some(project_id) {
            return Err(Error::Invalid(format!(
                "label {} belongs to another project and cannot be added to this artifact",
                label.id
            )));
        }
        let artifact = self.artifact_row_id(repo, reference).await?;
        self.meta.attach_label(artifact, label.id).await?;
        let event = DomainEvent::ArtifactLabelChanged {
            repository: repo.to_string(),
            reference: reference.to_owned(),
            label: label.name.clone(),
            change: "create".into(),
        };
        self.record_event(by, event).await;
        Ok(())
    }

    /// Detaches label `label_id` from the artifact `reference` of `repo`.
    pub async fn detach_label(
        &self,
        by: &str,
        repo: &RepositoryName,
        reference: &str,
        label_id: i64,
    ) -> Result<()> {
        let artifact = self.artifact_row_id(repo, reference).await?;
        let name = match self.meta.label(label_id).await? {
            Some(l) => l.name,
            None => label_id.to_string(),
        };
        self.meta.detach_label(artifact, label_id).await?;
        let event = DomainEvent::ArtifactLabelChanged {
            repository: repo.to_string(),
            reference: reference.to_owned(),
            label: name,
            change: "delete".into(),
        };
        self.record_event(by, event).await;
        Ok(())
    }

    /// The labels of each artifact (`manifests.id`), in one query per 300 ids.
    pub async fn labels_of(&self, artifact_ids: &[i64]) -> Result<HashMap<i64, Vec<Label>>> {
        self.meta.labels_of(artifact_ids).await
    }
}
