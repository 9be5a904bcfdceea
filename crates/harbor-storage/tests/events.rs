//! The outbox of domain events on real stores (SQLite or PostgreSQL): events are written
//! with the change that causes them and only then, cursors and their leases, exactly-once
//! delivery to the audit log, ordering under concurrent pushes, and pruning.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use harbor_core::events::{
    AuditSubscriber, Dispatcher, DispatcherConfig, DomainEvent, EventStore, NewEvent, StartAt,
    StoredEvent,
};
use harbor_core::identity::{AuditQuery, NewAuditEntry, Page};
use harbor_core::model::{Lease, now_ms};
use harbor_core::ports::{ByteStream, IdentityStore};
use harbor_core::{Digest, Error, Registry, RegistryConfig, RepositoryName};
use harbor_storage::testing::TestTarget as Target;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};

harbor_storage::contract_tests!(
    changes_write_their_events_and_failures_none,
    pulls_are_batched_with_their_counts,
    cursors_are_leased_and_moved_only_by_their_holder,
    the_audit_log_gets_each_event_once,
    concurrent_pushes_are_read_in_commit_order,
    delivered_events_are_pruned,
    a_push_over_the_quota_is_an_event,
    a_push_near_the_quota_warns,
    edits_of_labels_rules_quotas_and_schedules_write_their_events,
    signature_key_changes_write_their_events_and_failures_none,
);

struct Setup {
    reg: Registry,
    meta: Arc<SqlMetadataStore>,
    _dir: tempfile::TempDir,
}

async fn setup(t: &Target) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(t.open().await);
    let blobs = ObjectBlobStore::filesystem(dir.path(), false).unwrap();
    let config = RegistryConfig {
        pull_flush_interval: Duration::from_millis(50),
        ..RegistryConfig::default()
    };
    let reg = Registry::new(Arc::new(blobs), meta.clone(), config);
    let owner = harbor_storage::testing::owner_id(&meta).await;
    meta.create_project("team", owner, false).await.unwrap();
    Setup {
        reg,
        meta,
        _dir: dir,
    }
}

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn body(data: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(Bytes::from(data)) }))
}

/// Pushes a one-layer image (`seed` makes it unique) under `reference`; its digest.
async fn push(reg: &Registry, by: &str, r: &RepositoryName, reference: &str, seed: u32) -> Digest {
    let config = format!("{{\"seed\":{seed}}}").into_bytes();
    let cd = Digest::sha256(&config);
    if reg.probe_blob(r, &cd).await.is_err() {
        reg.upload_blob(r, &cd, Some(config.len() as u64), body(config.clone()))
            .await
            .unwrap();
    }
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[]}}"#,
        config.len()
    );
    reg.put_manifest(
        by,
        r,
        reference,
        Some("application/vnd.oci.image.manifest.v1+json"),
        Bytes::from(manifest),
        &[],
    )
    .await
    .unwrap()
    .digest
}

async fn all_events(m: &SqlMetadataStore) -> Vec<StoredEvent> {
    m.events_after(0, 10_000).await.unwrap()
}

fn lease(token: &str, ms: i64) -> Lease {
    let now = now_ms();
    Lease {
        token: token.into(),
        now,
        until: now + ms,
    }
}

async fn changes_write_their_events_and_failures_none(t: &Target) {
    let s = setup(t).await;
    let r = repo("team/app");
    let d = push(&s.reg, "alice", &r, "v1", 1).await;
    s.reg
        .create_artifact_tag("bob", &r, d.as_str(), "stable")
        .await
        .unwrap();
    s.reg.delete_manifest("bob", &r, "stable").await.unwrap();
    // Failures write nothing: a manifest naming a blob the repository lacks, a delete
    // of a missing tag, a duplicate tag.
    let missing = Digest::sha256(b"not uploaded");
    let bad = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{missing}","size":12}},"layers":[]}}"#
    );
    let err = s
        .reg
        .put_manifest("eve", &r, "bad", None, Bytes::from(bad), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ManifestBlobUnknown(_)), "{err:?}");
    let err = s.reg.delete_manifest("eve", &r, "nope").await.unwrap_err();
    assert!(matches!(err, Error::ManifestUnknown(_)), "{err:?}");
    let err = s
        .reg
        .create_artifact_tag("eve", &r, d.as_str(), "v1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    s.reg
        .delete_manifest("carol", &r, d.as_str())
        .await
        .unwrap();
    push(&s.reg, "alice", &r, "v2", 2).await;
    s.reg.delete_repository("dave", &r).await.unwrap();

    let events = all_events(&s.meta).await;
    let seen: Vec<(&str, DomainEvent)> = events
        .iter()
        .map(|e| (e.actor.as_str(), e.event.clone()))
        .collect();
    let repository = "team/app".to_owned();
    let pushed = |digest: &Digest, tag: &str| DomainEvent::ArtifactPushed {
        repository: repository.clone(),
        digest: digest.to_string(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: match &seen[0].1 {
            DomainEvent::ArtifactPushed { size, .. } => *size,
            other => panic!("{other:?}"),
        },
        tags: vec![tag.into()],
    };
    assert_eq!(seen.len(), 6, "{seen:#?}");
    assert_eq!(seen[0], ("alice", pushed(&d, "v1")));
    assert_eq!(
        seen[1],
        (
            "bob",
            DomainEvent::TagCreated {
                repository: repository.clone(),
                tag: "stable".into(),
                digest: d.to_string()
            }
        )
    );
    assert_eq!(
        seen[2],
        (
            "bob",
            DomainEvent::TagDeleted {
                repository: repository.clone(),
                tag: "stable".into()
            }
        )
    );
    assert_eq!(
        seen[3],
        (
            "carol",
            DomainEvent::ArtifactDeleted {
                repository: repository.clone(),
                digest: d.to_string()
            }
        )
    );
    assert!(
        matches!(&seen[4], ("alice", DomainEvent::ArtifactPushed { tags, .. }) if tags == &["v2"])
    );
    assert_eq!(
        seen[5],
        ("dave", DomainEvent::RepositoryDeleted { repository })
    );
    // Ids increase; times are real.
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert!(events.iter().all(|e| e.occurred_ms > now_ms() - 60_000));
    assert_eq!(s.meta.last_event_id().await.unwrap(), events[5].id);
}

async fn pulls_are_batched_with_their_counts(t: &Target) {
    let s = setup(t).await;
    let r = repo("team/app");
    let d = push(&s.reg, "alice", &r, "v1", 1).await;
    for _ in 0..3 {
        s.reg.record_manifest_pull("bob", &r, "v1", d.as_str());
    }
    s.reg
        .record_manifest_pull("carol", &r, d.as_str(), d.as_str());
    s.reg.flush_pulls().await;
    let pulls: Vec<(String, Option<String>)> = all_events(&s.meta)
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::ArtifactPulled { digest, tag, .. } => {
                assert_eq!(digest, d.to_string());
                Some((e.actor, tag))
            }
            _ => None,
        })
        .collect();
    let bob = ("bob".to_owned(), Some("v1".to_owned()));
    assert_eq!(
        pulls,
        vec![bob.clone(), bob.clone(), bob, ("carol".into(), None)]
    );
    let rec = s.reg.repository(&r).await.unwrap();
    assert_eq!(rec.pull_count, 4, "counts and events are written together");
}

async fn cursors_are_leased_and_moved_only_by_their_holder(t: &Target) {
    let s = setup(t).await;
    let r = repo("team/app");
    push(&s.reg, "alice", &r, "v1", 1).await;
    let first = s.meta.last_event_id().await.unwrap();
    // A new cursor starts at the beginning or at the newest event.
    let a = lease("a.1", 60_000);
    assert_eq!(
        s.meta
            .claim_cursor("from-start", StartAt::Beginning, &a)
            .await
            .unwrap(),
        Some(0)
    );
    assert_eq!(
        s.meta
            .claim_cursor("from-now", StartAt::Latest, &a)
            .await
            .unwrap(),
        Some(first)
    );
    // Another holder is refused while the lease runs; the holder renews.
    let b = lease("b.1", 60_000);
    assert_eq!(
        s.meta
            .claim_cursor("from-start", StartAt::Beginning, &b)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.meta
            .claim_cursor("from-start", StartAt::Beginning, &a)
            .await
            .unwrap(),
        Some(0)
    );
    // Only the holder moves it, and only from where it is.
    assert!(
        !s.meta
            .advance_cursor("from-start", "b.1", 0, first)
            .await
            .unwrap()
    );
    assert!(
        !s.meta
            .advance_cursor("from-start", "a.1", 5, first)
            .await
            .unwrap()
    );
    assert!(
        s.meta
            .advance_cursor("from-start", "a.1", 0, first)
            .await
            .unwrap()
    );
    // An expired lease is taken over, at the position its holder reached.
    let expired = lease("a.2", -1);
    assert_eq!(
        s.meta
            .claim_cursor("short", StartAt::Beginning, &expired)
            .await
            .unwrap(),
        Some(0)
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        s.meta
            .claim_cursor("short", StartAt::Beginning, &lease("b.1", 60_000))
            .await
            .unwrap(),
        Some(0)
    );
    assert!(
        !s.meta
            .advance_cursor("short", "a.2", 0, first)
            .await
            .unwrap()
    );
    // A restarted owner releases its dead run's leases (and only those) at once.
    assert_eq!(s.meta.release_cursors_of("a").await.unwrap(), 2);
    assert_eq!(
        s.meta
            .claim_cursor("from-start", StartAt::Beginning, &lease("c.1", 60_000))
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        s.meta
            .claim_cursor("short", StartAt::Beginning, &lease("c.1", 60_000))
            .await
            .unwrap(),
        None,
        "b.1 holds it"
    );
    assert!(s.meta.release_cursors_of("a%").await.is_err());
}

async fn the_audit_log_gets_each_event_once(t: &Target) {
    let s = setup(t).await;
    let r = repo("team/app");
    let d = push(&s.reg, "alice", &r, "v1", 1).await;
    s.reg.record_manifest_pull("bob", &r, "v1", d.as_str());
    s.reg.flush_pulls().await;
    s.reg
        .delete_manifest("carol", &r, d.as_str())
        .await
        .unwrap();
    let entries = |m: Arc<SqlMetadataStore>| async move {
        let (v, _) = m
            .audit_log(
                &AuditQuery::default(),
                Page {
                    page: 1,
                    page_size: 100,
                },
            )
            .await
            .unwrap();
        let mut v: Vec<(String, String, String, String)> = v
            .into_iter()
            .map(|e| (e.username, e.operation, e.resource_type, e.resource))
            .collect();
        v.sort();
        v
    };
    // Two dispatchers (two replicas) deliver to the same subscriber.
    let mut dispatchers = Vec::new();
    for owner in ["one", "two"] {
        let d = Dispatcher::new(
            s.meta.clone(),
            s.reg.event_signal().clone(),
            DispatcherConfig {
                owner: owner.into(),
                batch: 1,
                ..DispatcherConfig::default()
            },
        );
        d.start(Arc::new(AuditSubscriber::new(
            s.meta.clone(),
            s.meta.clone(),
        )));
        dispatchers.push(d);
    }
    let drained = dispatchers[0].drain(Duration::from_secs(20)).await
        || dispatchers[1].drain(Duration::from_secs(20)).await;
    assert!(drained, "events were not delivered");
    // Give the other dispatcher time to (wrongly) deliver again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let project_entries = entries(s.meta.clone()).await;
    assert_eq!(
        project_entries,
        vec![
            (
                "alice".into(),
                "create".into(),
                "artifact".into(),
                "team/app:v1".into()
            ),
            (
                "bob".into(),
                "pull".into(),
                "artifact".into(),
                "team/app:v1".into()
            ),
            (
                "carol".into(),
                "delete".into(),
                "artifact".into(),
                format!("team/app@{d}")
            ),
        ]
    );
    let (logged, _) = s
        .meta
        .audit_log(
            &AuditQuery::default(),
            Page {
                page: 1,
                page_size: 100,
            },
        )
        .await
        .unwrap();
    let team = s.meta.project_by_name("team").await.unwrap().unwrap();
    assert!(logged.iter().all(|e| e.project_id == Some(team.id)));
    // A stale delivery (the cursor moved since) records nothing.
    let entry = NewAuditEntry {
        project_id: None,
        username: "ghost".into(),
        operation: "create".into(),
        resource_type: "artifact".into(),
        resource: "x".into(),
        op_time_ms: now_ms(),
    };
    let moved = s
        .meta
        .advance_cursor_with_audit(AuditSubscriber::NAME, "stale.token", 0, 1, &[entry])
        .await
        .unwrap();
    assert!(!moved);
    assert_eq!(entries(s.meta.clone()).await.len(), 3);
}

async fn concurrent_pushes_are_read_in_commit_order(t: &Target) {
    let s = Arc::new(setup(t).await);
    // A reader follows the outbox while 8 writers push (into repositories outside any
    // project, so no quota lock orders them); whatever it has read, no event with a
    // lower id may show up later (it would be skipped by a cursor).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            let mut cursor = 0;
            let mut seen = 0;
            loop {
                let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                for e in s.meta.events_after(cursor, 1000).await.unwrap() {
                    assert!(e.id > cursor);
                    cursor = e.id;
                    seen += 1;
                }
                if done {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..8u32 {
        let s = s.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..25u32 {
                let r = repo(&format!("w{w}/app"));
                push(&s.reg, "alice", &r, &format!("t{i}"), w * 100 + i).await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all = all_events(&s.meta).await;
    assert_eq!(all.len(), 200);
    assert_eq!(
        seen, 200,
        "the reader skipped events committed out of id order"
    );
}

async fn delivered_events_are_pruned(t: &Target) {
    let s = setup(t).await;
    let old = now_ms() - 3_600_000;
    let event = |n: u32| NewEvent {
        actor: "alice".into(),
        occurred_ms: old,
        event: DomainEvent::TagDeleted {
            repository: "team/app".into(),
            tag: format!("t{n}"),
        },
    };
    s.meta
        .append_events(&[event(1), event(2), event(3)])
        .await
        .unwrap();
    let ids: Vec<i64> = all_events(&s.meta).await.iter().map(|e| e.id).collect();
    // A live cursor that has handled the first one holds the others back.
    let a = lease("a.1", 60_000);
    s.meta
        .claim_cursor("slow", StartAt::Beginning, &a)
        .await
        .unwrap();
    assert!(
        s.meta
            .advance_cursor("slow", "a.1", 0, ids[0])
            .await
            .unwrap()
    );
    assert_eq!(s.meta.prune_events(now_ms() - 60_000).await.unwrap(), 1);
    // Recent events stay, even once delivered.
    assert!(
        s.meta
            .advance_cursor("slow", "a.1", ids[0], ids[2])
            .await
            .unwrap()
    );
    assert_eq!(s.meta.prune_events(old - 1).await.unwrap(), 0);
    assert_eq!(s.meta.prune_events(now_ms() - 60_000).await.unwrap(), 2);
    assert!(all_events(&s.meta).await.is_empty());
    // Ids are never reused after pruning.
    s.meta.append_events(&[event(4)]).await.unwrap();
    assert!(all_events(&s.meta).await[0].id > ids[2]);
}

async fn a_push_over_the_quota_is_an_event(t: &Target) {
    use harbor_core::quota::QuotaStore;
    let s = setup(t).await;
    let r = repo("team/app");
    push(&s.reg, "alice", &r, "v1", 1).await;
    let team = s.meta.project_by_name("team").await.unwrap().unwrap();
    let q = s.meta.project_quota(team.id).await.unwrap().unwrap();
    // Room for nothing more: another manifest over the same config is refused for its
    // own bytes, and the refusal recorded.
    s.meta.set_quota_limit(q.id, q.used).await.unwrap();
    let config = br#"{"seed":1}"#;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[],"annotations":{{"v":"2"}}}}"#,
        Digest::sha256(config),
        config.len()
    );
    let refused = s
        .reg
        .put_manifest(
            "carol",
            &r,
            "v2",
            Some("application/vnd.oci.image.manifest.v1+json"),
            Bytes::from(manifest),
            &[],
        )
        .await;
    assert!(
        matches!(refused, Err(Error::QuotaExceeded(_))),
        "{refused:?}"
    );
    let events = all_events(&s.meta).await;
    let e = events.last().unwrap();
    assert_eq!(e.actor, "carol");
    assert!(
        matches!(&e.event, DomainEvent::QuotaExceeded { repository, message }
            if repository == "team/app" && message.contains("exceed")),
        "{e:?}"
    );
    // Nothing was pushed: the only artifact event is the first push.
    let pushed = events
        .iter()
        .filter(|e| e.event.kind() == "artifact_pushed")
        .count();
    assert_eq!(pushed, 1);
}

async fn a_push_near_the_quota_warns(t: &Target) {
    use harbor_core::quota::QuotaStore;
    let s = setup(t).await;
    let r = repo("team/app");
    push(&s.reg, "alice", &r, "v1", 1).await;
    let team = s.meta.project_by_name("team").await.unwrap().unwrap();
    let quota = || async { s.meta.project_quota(team.id).await.unwrap().unwrap() };
    let config = br#"{"seed":1}"#;
    let manifest = |v: u32| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[],"annotations":{{"v":"{v}"}}}}"#,
            Digest::sha256(config),
            config.len()
        )
    };
    let put = |v: u32| {
        let body = Bytes::from(manifest(v));
        let reg = &s.reg;
        let r = &r;
        async move {
            reg.put_manifest(
                "bob",
                r,
                &format!("v{v}"),
                Some("application/vnd.oci.image.manifest.v1+json"),
                body,
                &[],
            )
            .await
            .unwrap();
        }
    };
    let warnings = || async {
        all_events(&s.meta)
            .await
            .into_iter()
            .filter(|e| e.event.kind() == "quota_warning")
            .collect::<Vec<_>>()
    };
    // Far from a limit ten times the usage: no warning.
    let q = quota().await;
    s.meta.set_quota_limit(q.id, q.used * 10).await.unwrap();
    put(2).await;
    assert!(warnings().await.is_empty());
    // A limit the next push brings to one byte short of: it warns, with the push.
    let q = quota().await;
    let hard = q.used + manifest(3).len() as i64 + 1;
    s.meta.set_quota_limit(q.id, hard).await.unwrap();
    put(3).await;
    let w = warnings().await;
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].actor, "bob");
    assert_eq!(
        w[0].event,
        DomainEvent::QuotaWarning {
            repository: "team/app".into(),
            used: hard - 1,
            hard,
        }
    );
    // An unlimited quota never warns.
    s.meta.set_quota_limit(q.id, -1).await.unwrap();
    put(4).await;
    assert_eq!(warnings().await.len(), 1);
}

/// Label, immutability rule, quota limit, description and schedule changes write their
/// event in their own transaction; a refused change writes none.
async fn edits_of_labels_rules_quotas_and_schedules_write_their_events(t: &Target) {
    use harbor_core::immutable::{RuleSpec, Selector};
    use harbor_core::jobs::{JobStore, NewSchedule};
    use harbor_core::labels::{LabelScope, LabelUpdate, NewLabel};
    let s = setup(t).await;
    let r = repo("team/app");
    push(&s.reg, "dev", &r, "v1", 1).await;
    let project = s.meta.project_by_name("team").await.unwrap().unwrap();
    let kinds = |evs: &[StoredEvent], after: i64| -> Vec<String> {
        evs.iter()
            .filter(|e| e.id > after)
            .map(|e| e.event.kind().to_owned())
            .collect()
    };
    let mark = all_events(&s.meta).await.last().map_or(0, |e| e.id);

    let label = NewLabel {
        name: "golden".into(),
        description: String::new(),
        color: String::new(),
        scope: LabelScope::Project,
        project_id: Some(project.id),
    };
    let created = s.reg.create_label("admin", &label).await.unwrap();
    assert!(
        s.reg.create_label("admin", &label).await.is_err(),
        "a duplicate"
    );
    let update = LabelUpdate {
        name: "gold".into(),
        description: "d".into(),
        color: String::new(),
    };
    s.reg
        .update_label("admin", created.id, &update)
        .await
        .unwrap();
    s.reg
        .attach_label(
            "admin",
            &r,
            project.id,
            "v1",
            &s.reg.label(created.id).await.unwrap(),
        )
        .await
        .unwrap();
    s.reg
        .detach_label("admin", &r, "v1", created.id)
        .await
        .unwrap();
    assert!(
        s.reg
            .detach_label("admin", &r, "v1", created.id)
            .await
            .is_err()
    );
    s.reg.delete_label("admin", created.id).await.unwrap();

    let spec = RuleSpec {
        priority: 0,
        disabled: false,
        repositories: Selector {
            exclude: false,
            pattern: "**".into(),
        },
        tags: Selector {
            exclude: false,
            pattern: "v*".into(),
        },
    };
    let rule = s
        .reg
        .create_immutable_rule("admin", project.id, &spec)
        .await
        .unwrap();
    assert!(
        s.reg
            .create_immutable_rule("admin", project.id, &spec)
            .await
            .is_err(),
        "the same selectors twice"
    );
    s.reg
        .update_immutable_rule("admin", project.id, rule.id, &spec)
        .await
        .unwrap();
    s.reg
        .delete_immutable_rule("admin", project.id, rule.id)
        .await
        .unwrap();

    let q = s.reg.project_quota(project.id).await.unwrap();
    s.reg.set_quota_limit("admin", q.id, 1 << 30).await.unwrap();
    assert!(
        s.reg
            .set_quota_limit("admin", q.id + 1000, 1)
            .await
            .is_err()
    );
    s.reg
        .describe_repository("admin", &r, "the app")
        .await
        .unwrap();
    assert!(
        s.reg
            .describe_repository("admin", &repo("team/none"), "x")
            .await
            .is_err()
    );

    let schedule = NewSchedule {
        name: "gc".into(),
        kind: "GARBAGE_COLLECTION".into(),
        cron: "0 0 0 * * *".into(),
        schedule_type: "Daily".into(),
        params: "{}".into(),
        next_run_ms: Some(now_ms() + 60_000),
        paused: false,
    };
    let changed = |schedule: Option<&str>| {
        [NewEvent::now(
            "admin",
            DomainEvent::ScheduleChanged {
                kind: "GARBAGE_COLLECTION".into(),
                schedule: schedule.map(str::to_owned),
            },
        )]
    };
    s.meta
        .put_schedule_emitting(&schedule, &changed(Some("Daily")))
        .await
        .unwrap();
    assert!(
        s.meta
            .delete_schedule_emitting("gc", &changed(None))
            .await
            .unwrap()
    );
    assert!(
        !s.meta
            .delete_schedule_emitting("gc", &changed(None))
            .await
            .unwrap()
    );

    let evs = all_events(&s.meta).await;
    assert_eq!(
        kinds(&evs, mark),
        [
            "label_changed",
            "label_changed",
            "artifact_label_changed",
            "artifact_label_changed",
            "label_changed",
            "immutable_rule_changed",
            "immutable_rule_changed",
            "immutable_rule_changed",
            "quota_changed",
            "repository_updated",
            "schedule_changed",
            "schedule_changed",
        ]
    );
    let update_event = evs
        .iter()
        .filter(|e| e.id > mark)
        .nth(1)
        .map(|e| e.event.clone());
    assert!(
        matches!(
            update_event,
            Some(DomainEvent::LabelChanged { ref label, project_id: Some(p), ref change })
                if label == "gold" && p == project.id && change == "update"
        ),
        "{update_event:?}"
    );
}

/// A trusted key's addition and removal append their events in their transaction; a
/// refused addition (a name taken) and the removal of a missing key append none.
async fn signature_key_changes_write_their_events_and_failures_none(t: &Target) {
    use harbor_core::signature::{NewTrustedKey, SignatureKeyStore, SignatureKind};
    let s = setup(t).await;
    push(&s.reg, "dev", &repo("team/app"), "v1", 1).await;
    let project = s.meta.project_by_name("team").await.unwrap().unwrap();
    let event = |name: &str, change: &str| {
        [NewEvent::now(
            "admin",
            DomainEvent::SignatureKeyChanged {
                project: "team".into(),
                project_id: project.id,
                name: name.into(),
                kind: "cosign".into(),
                fingerprint: format!("sha256:{name}"),
                change: change.into(),
            },
        )]
    };
    let key = |name: &str, fingerprint: &str| NewTrustedKey {
        kind: SignatureKind::Cosign,
        name: name.into(),
        pem: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n".into(),
        fingerprint: fingerprint.into(),
    };
    let mark = all_events(&s.meta).await.last().map_or(0, |e| e.id);
    let since = |evs: Vec<StoredEvent>| -> Vec<DomainEvent> {
        evs.into_iter()
            .filter(|e| e.id > mark)
            .map(|e| e.event)
            .collect()
    };

    let added = s
        .meta
        .add_signature_key_emitting(
            project.id,
            &key("ci", "sha256:1"),
            "admin",
            &event("ci", "create"),
        )
        .await
        .unwrap();
    let taken = s
        .meta
        .add_signature_key_emitting(
            project.id,
            &key("ci", "sha256:2"),
            "admin",
            &event("ci2", "create"),
        )
        .await;
    assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
    assert!(
        s.meta
            .delete_signature_key_emitting(project.id, added.id, &event("ci", "delete"))
            .await
            .unwrap()
    );
    assert!(
        !s.meta
            .delete_signature_key_emitting(project.id, added.id, &event("ci", "again"))
            .await
            .unwrap()
    );
    let want: Vec<DomainEvent> = [event("ci", "create"), event("ci", "delete")]
        .into_iter()
        .map(|[e]| e.event)
        .collect();
    assert_eq!(since(all_events(&s.meta).await), want);
}
