//! Tag retention (Harbor's `retentions`): one policy per project, whose rules say which
//! artifacts to keep; a run deletes the rest (never an artifact with an immutable tag).
//!
//! - [`policy`]: the policy, rule and selector records (Harbor's JSON) and validation.
//! - [`metadata`]: what `GET /retentions/metadatas` answers.
//! - [`evaluate`]: which artifacts of a repository a policy keeps, without I/O.
//!
//! The store port is [`RetentionStore`]; runs (candidates, dry runs, deletes) are in
//! [`crate::Registry`] (`registry/retention.rs`).

pub mod evaluate;
pub mod metadata;
pub mod policy;

use async_trait::async_trait;

use crate::error::Result;

pub use evaluate::{Candidate, Evaluation, RetainReason, evaluate};
pub use metadata::{RetentionMetadata, metadata};
pub use policy::{
    RetentionPolicy, RetentionRule, RetentionScope, RetentionSelector, RetentionTrigger, Template,
};

/// Storage of retention policies: at most one per project, deleted with the project.
///
/// Stored policies are returned with `id` set to their id.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Stores the policy of a project and returns its id; [`crate::Error::Conflict`] if
    /// the project has one already, [`crate::Error::NotFound`] if the project does not
    /// exist.
    async fn create_policy(&self, project_id: i64, policy: &RetentionPolicy) -> Result<i64>;
    /// One policy.
    async fn policy(&self, id: i64) -> Result<Option<RetentionPolicy>>;
    /// The policy of a project.
    async fn policy_of_project(&self, project_id: i64) -> Result<Option<RetentionPolicy>>;
    /// Replaces a policy; [`crate::Error::NotFound`] if there is none with that id.
    async fn update_policy(&self, id: i64, policy: &RetentionPolicy) -> Result<()>;
    /// Deletes a policy; [`crate::Error::NotFound`] if there is none with that id.
    async fn delete_policy(&self, id: i64) -> Result<()>;
}
