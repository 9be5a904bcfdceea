//! Recording audit log entries for registry and API operations.

use harbor_core::identity::NewAuditEntry;
use harbor_core::model::now_ms;

use crate::AppState;

fn entry(
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource_type: &str,
    resource: &str,
) -> NewAuditEntry {
    NewAuditEntry {
        project_id,
        username: username.to_owned(),
        operation: operation.to_owned(),
        resource_type: resource_type.to_owned(),
        resource: resource.to_owned(),
        op_time_ms: now_ms(),
    }
}

/// Records an entry in the background (registry pushes, pulls and deletes: the client
/// does not wait for the audit write). A failure is logged.
pub(crate) fn record(
    state: &AppState,
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource_type: &str,
    resource: &str,
) {
    let e = entry(project_id, username, operation, resource_type, resource);
    let store = state.accounts.store().clone();
    tokio::spawn(async move {
        if let Err(err) = store.record_audit(std::slice::from_ref(&e)).await {
            tracing::warn!(error = %err, operation = %e.operation, resource = %e.resource, "cannot record audit entry");
        }
    });
}

/// Records a registry operation on `repo` (`<project>/...`), resolving the project id
/// in the background when the caller did not have it at hand.
pub(crate) fn record_repository(
    state: &AppState,
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource: String,
) {
    let store = state.accounts.store().clone();
    let username = username.to_owned();
    let operation = operation.to_owned();
    tokio::spawn(async move {
        let project_id = match project_id {
            Some(id) => Some(id),
            None => {
                let name = resource.split('/').next().unwrap_or_default();
                store
                    .project_by_name(name)
                    .await
                    .ok()
                    .flatten()
                    .map(|p| p.id)
            }
        };
        let e = entry(project_id, &username, &operation, "artifact", &resource);
        if let Err(err) = store.record_audit(std::slice::from_ref(&e)).await {
            tracing::warn!(error = %err, operation = %e.operation, resource = %e.resource, "cannot record audit entry");
        }
    });
}

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
    let e = entry(project_id, username, operation, resource_type, resource);
    if let Err(err) = state
        .accounts
        .store()
        .record_audit(std::slice::from_ref(&e))
        .await
    {
        tracing::warn!(error = %err, operation, resource, "cannot record audit entry");
    }
}
