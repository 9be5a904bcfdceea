//! Recording audit log entries for API changes.
//!
//! Registry operations (pushes, pulls, deletes of artifacts, tags and repositories) reach
//! the audit log as domain events, through the outbox and its audit subscriber
//! (`harbor_core::events`). The API changes not yet emitted as events are recorded here,
//! before the call returns.

use harbor_core::identity::NewAuditEntry;
use harbor_core::model::now_ms;

use crate::AppState;

/// Records an API change and waits for it: the change is visible in the log as soon as
/// the API call returns. A failure is logged, not returned (the change itself is done).
pub(crate) async fn record_now(
    state: &AppState,
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource_type: &str,
    resource: &str,
) {
    let e = NewAuditEntry {
        project_id,
        username: username.to_owned(),
        operation: operation.to_owned(),
        resource_type: resource_type.to_owned(),
        resource: resource.to_owned(),
        op_time_ms: now_ms(),
    };
    if let Err(err) = state
        .accounts
        .store()
        .record_audit(std::slice::from_ref(&e))
        .await
    {
        tracing::warn!(error = %err, operation, resource, "cannot record audit entry");
    }
}
