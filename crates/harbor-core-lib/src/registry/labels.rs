//! Labels and their attachment to artifacts.

use std::collections::HashMap;

use super::Registry;
use crate::error::{Error, Result};
use crate::events::{DomainEvent, NewEvent};
use crate::identity::Page;
use crate::labels::{Label, LabelQuery, LabelScope, LabelUpdate, NewLabel};
use crate::names::{Reference, RepositoryName};

impl Registry {
    /// Creates a label after checking its fields.
    pub async fn create_label(&self, by: &str, label: &NewLabel) -> Result<Label> {
        label.validate()?;
        let event = label_event(by, &label.name, label.project_id, "create");
        let created = self.meta.create_label_emitting(label, &event).await?;
        self.signal.written();
        Ok(created)
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
        let current = self.label(id).await?;
        let event = label_event(by, &update.name, current.project_id, "update");
        let changed = self.meta.update_label_emitting(id, update, &event).await?;
        self.signal.written();
        Ok(changed)
    }

    /// Deletes a label, detaching it from every artifact.
    pub async fn delete_label(&self, by: &str, id: i64) -> Result<()> {
        let label = self.label(id).await?;
        let event = label_event(by, &label.name, label.project_id, "delete");
        self.meta.delete_label_emitting(id, &event).await?;
        self.signal.written();
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
                label.name
            )));
        }
        let artifact = self.artifact_row_id(repo, reference).await?;
        let event = [NewEvent::now(
            by,
            DomainEvent::ArtifactLabelChanged {
                repository: repo.to_string(),
                reference: reference.to_owned(),
                label: label.name.clone(),
                change: "create".into(),
            },
        )];
        // The store knows ids only; people know the label by its name.
        self.meta
            .attach_label_emitting(artifact, label.id, &event)
            .await
            .map_err(|e| match e {
                Error::Conflict(_) => Error::Conflict(format!(
                    "label {} is already added to {repo}:{reference}",
                    label.name
                )),
                e => e,
            })?;
        self.signal.written();
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
            None => return Err(Error::NotFound(format!("label {label_id} not found"))),
        };
        let event = [NewEvent::now(
            by,
            DomainEvent::ArtifactLabelChanged {
                repository: repo.to_string(),
                reference: reference.to_owned(),
                label: name.clone(),
                change: "delete".into(),
            },
        )];
        self.meta
            .detach_label_emitting(artifact, label_id, &event)
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => {
                    Error::NotFound(format!("label {name} is not on {repo}:{reference}"))
                }
                e => e,
            })?;
        self.signal.written();
        Ok(())
    }

    /// The labels of each artifact (`manifests.id`), in one query per 300 ids.
    pub async fn labels_of(&self, artifact_ids: &[i64]) -> Result<HashMap<i64, Vec<Label>>> {
        self.meta.labels_of(artifact_ids).await
    }
}

/// The event of a label change, written with it.
fn label_event(by: &str, name: &str, project_id: Option<i64>, change: &str) -> [NewEvent; 1] {
    [NewEvent::now(
        by,
        DomainEvent::LabelChanged {
            label: name.to_owned(),
            project_id,
            change: change.to_owned(),
        },
    )]
}
