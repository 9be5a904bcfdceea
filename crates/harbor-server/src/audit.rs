//! Recording audit log entries for registry and API operations.
//!
//! API changes are written before the call returns. Registry operations (every push, pull
//! and delete) go through [`AuditLog`]: a bounded queue drained by one background task that
//! writes entries in batches, so a pull never waits for a database write and a burst of
//! pulls costs a few transactions, not one each. When the queue is full, callers wait for
//! room (back-pressure) rather than dropping entries.

use std::collections::HashMap;
use std::sync::Arc;

use harbor_core::identity::NewAuditEntry;
use harbor_core::model::now_ms;
use harbor_core::ports::IdentityStore;
use tokio::sync::{mpsc, oneshot};

use crate::AppState;

/// Entries waiting to be written, at most.
const QUEUE: usize = 8192;
/// Entries written in one transaction, at most.
const BATCH: usize = 512;

enum Msg {
    /// An entry; the project is resolved by name when its id is not known.
    Entry(NewAuditEntry, Option<String>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The background writer of registry audit entries.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Arc<dyn IdentityStore>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(store, rx));
        AuditLog { tx }
    }

    async fn push(&self, entry: NewAuditEntry, project: Option<String>) {
        if self.tx.send(Msg::Entry(entry, project)).await.is_err() {
            tracing::warn!("audit writer stopped; entry not recorded");
        }
    }

    /// Waits until every entry queued so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn writer(store: Arc<dyn IdentityStore>, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<Msg> = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let mut ids: HashMap<String, Option<i64>> = HashMap::new();
        let mut entries = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for msg in batch.drain(..) {
            match msg {
                Msg::Entry(mut e, project) => {
                    if let (None, Some(name)) = (e.project_id, project) {
                        if !ids.contains_key(&name) {
                            let id = store
                                .project_by_name(&name)
                                .await
                                .ok()
                                .flatten()
                                .map(|p| p.id);
                            ids.insert(name.clone(), id);
                        }
                        e.project_id = ids.get(&name).copied().flatten();
                    }
                    entries.push(e);
                }
                Msg::Flush(done) => flushes.push(done),
            }
        }
        if !entries.is_empty()
            && let Err(err) = store.record_audit(&entries).await
        {
            tracing::warn!(error = %err, entries = entries.len(), "cannot record audit entries");
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

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

/// Queues a registry operation on `resource` (`<project>/<repo>:<tag>` or `@<digest>`),
/// resolving the project id in the background when the caller did not have it at hand.
pub(crate) async fn record_repository(
    state: &AppState,
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource_type: &str,
    resource: String,
) {
    let project = resource.split('/').next().unwrap_or_default().to_owned();
    let e = entry(project_id, username, operation, resource_type, &resource);
    state.audit.push(e, Some(project)).await;
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
