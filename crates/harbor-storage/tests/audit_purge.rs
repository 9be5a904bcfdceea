//! The audit log purge on SQLite and PostgreSQL: what is deleted (old entries of the
//! chosen operations), what is kept, dry runs, and purges larger than one batch.

use harbor_core::identity::{AuditQuery, NewAuditEntry, Page};
use harbor_core::ports::IdentityStore;
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    purges_old_entries_of_the_chosen_operations,
    purges_more_than_one_batch,
);

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_800_000_000_000;

fn entry(operation: &str, op_time_ms: i64) -> NewAuditEntry {
    NewAuditEntry {
        project_id: None,
        username: "admin".into(),
        operation: operation.into(),
        resource_type: "artifact".into(),
        resource: format!("library/app:{op_time_ms}"),
        op_time_ms,
    }
}

async fn count(m: &SqlMetadataStore, operation: Option<&str>) -> u64 {
    let q = AuditQuery {
        operation: operation.map(str::to_owned),
        ..AuditQuery::default()
    };
    m.audit_log(
        &q,
        Page {
            page: 1,
            page_size: 1,
        },
    )
    .await
    .unwrap()
    .1
}

fn ops(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn purges_old_entries_of_the_chosen_operations(t: &Target) {
    let m = t.open().await;
    let mut entries = Vec::new();
    for op in ["create", "delete", "pull", "update"] {
        entries.push(entry(op, NOW - 40 * DAY));
        entries.push(entry(op, NOW - 10 * DAY));
        entries.push(entry(op, NOW - DAY));
    }
    m.record_audit(&entries).await.unwrap();
    assert_eq!(count(&m, None).await, 12);

    let cutoff = NOW - 30 * DAY;
    let dry = m
        .purge_audit(cutoff, &ops(&["create", "pull"]), true)
        .await
        .unwrap();
    assert_eq!(dry, 2);
    assert_eq!(count(&m, None).await, 12, "a dry run deletes nothing");
    let done = m
        .purge_audit(cutoff, &ops(&["create", "pull"]), false)
        .await
        .unwrap();
    assert_eq!(done, dry);
    assert_eq!(count(&m, Some("create")).await, 2);
    assert_eq!(count(&m, Some("pull")).await, 2);
    assert_eq!(
        count(&m, Some("delete")).await,
        3,
        "other operations are kept"
    );
    assert_eq!(count(&m, Some("update")).await, 3);

    // Everything older than 5 days, every operation: the 40- and 10-day-old entries.
    let done = m
        .purge_audit(
            NOW - 5 * DAY,
            &ops(&["create", "delete", "pull", "update"]),
            false,
        )
        .await
        .unwrap();
    assert_eq!(done, 6);
    assert_eq!(count(&m, None).await, 4);
    // No operations named: nothing is purged.
    assert_eq!(m.purge_audit(NOW, &[], false).await.unwrap(), 0);
    assert_eq!(count(&m, None).await, 4);
}

async fn purges_more_than_one_batch(t: &Target) {
    let m = t.open().await;
    let old: Vec<NewAuditEntry> = (0..12_000).map(|i| entry("pull", NOW - DAY - i)).collect();
    for chunk in old.chunks(2000) {
        m.record_audit(chunk).await.unwrap();
    }
    m.record_audit(&[entry("pull", NOW)]).await.unwrap();
    let done = m
        .purge_audit(NOW - 1, &ops(&["pull"]), false)
        .await
        .unwrap();
    assert_eq!(done, 12_000);
    assert_eq!(count(&m, None).await, 1, "the newer entry is kept");
}
