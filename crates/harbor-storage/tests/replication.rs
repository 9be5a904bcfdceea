//! The contract of replication policies, executions, tasks and task logs, on SQLite and
//! PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use harbor_core::Error;
use harbor_core::endpoints::{EndpointKind, EndpointSettings, EndpointStore};
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::identity::{Match, Page};
use harbor_core::replication::{
    ExecutionQuery, ExecutionStatus, FilterInput, NewTask, PolicyQuery, PolicySettings,
    ReplicationStore, TaskStatus, Trigger, parse_filters,
};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    policies_round_trip_and_hold_their_registry,
    one_execution_in_progress_per_policy,
    plans_are_stored_once_and_tasks_keep_their_progress,
    finishing_ends_leftover_tasks_and_writes_the_event_once,
);

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

async fn endpoint(m: &SqlMetadataStore, name: &str) -> i64 {
    m.create_endpoint_emitting(
        &EndpointSettings {
            name: name.into(),
            description: String::new(),
            kind: EndpointKind::DockerRegistry,
            url: format!("https://{name}.example.com"),
            credential: None,
            insecure: false,
            ca_certificate: None,
        },
        &[],
    )
    .await
    .unwrap()
    .id
}

fn settings(name: &str, dest: i64) -> PolicySettings {
    PolicySettings {
        name: name.into(),
        description: "d".into(),
        src_registry: None,
        dest_registry: Some(dest),
        dest_namespace: "mirror".into(),
        dest_namespace_replace_count: 1,
        filters: parse_filters(&[
            FilterInput {
                kind: "name".into(),
                value: "library/**".into(),
                decoration: String::new(),
            },
            FilterInput {
                kind: "tag".into(),
                value: "v*".into(),
                decoration: "excludes".into(),
            },
            FilterInput {
                kind: "label".into(),
                value: serde_json::json!(["prod"]),
                decoration: String::new(),
            },
        ])
        .unwrap(),
        trigger: Trigger::Scheduled("0 0 2 * * *".into()),
        deletion: true,
        override_: false,
        enabled: true,
        speed_kbps: 1024,
        copy_by_chunk: true,
        single_active: true,
    }
}

async fn policies_round_trip_and_hold_their_registry(t: &Target) {
    let m = t.open().await;
    let reg = endpoint(&m, "r").await;
    let s = settings("p", reg);
    let p = m
        .create_replication_policy_emitting(&s, "admin", &[])
        .await
        .unwrap();
    assert_eq!(p.settings, s);
    assert_eq!(p.creator, "admin");
    assert_eq!(m.replication_policy(p.id).await.unwrap().unwrap(), p);
    let dup = m.create_replication_policy_emitting(&s, "admin", &[]).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    let mut missing = settings("q", reg + 100);
    missing.name = "q".into();
    let bad = m
        .create_replication_policy_emitting(&missing, "admin", &[])
        .await;
    assert!(matches!(bad, Err(Error::NotFound(_))), "{bad:?}");
    // The registry cannot go while the policy uses it.
    let used = m.delete_endpoint_emitting(reg, &[]).await;
    assert!(matches!(used, Err(Error::Precondition(_))), "{used:?}");
    // Update, listing, push policies.
    let mut changed = s.clone();
    changed.trigger = Trigger::EventBased;
    changed.enabled = true;
    let u = m
        .update_replication_policy_emitting(p.id, &changed, &[])
        .await
        .unwrap();
    assert_eq!(u.settings, changed);
    let mut pull = settings("pull", reg);
    pull.src_registry = Some(reg);
    pull.dest_registry = None;
    m.create_replication_policy_emitting(&pull, "admin", &[])
        .await
        .unwrap();
    let pushes = m.push_replication_policies().await.unwrap();
    assert_eq!(
        pushes
            .iter()
            .map(|p| p.settings.name.as_str())
            .collect::<Vec<_>>(),
        ["p"]
    );
    let (found, total) = m
        .replication_policies(
            &PolicyQuery {
                name: Some(Match::Fuzzy("PUL".into())),
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((found.len(), total), (1, 1));
    m.delete_replication_policy_emitting(p.id, &[])
        .await
        .unwrap();
    assert!(m.replication_policy(p.id).await.unwrap().is_none());
    assert!(matches!(
        m.delete_replication_policy_emitting(p.id, &[]).await,
        Err(Error::NotFound(_))
    ));
}

async fn one_execution_in_progress_per_policy(t: &Target) {
    let m = t.open().await;
    let reg = endpoint(&m, "r").await;
    let p = m
        .create_replication_policy_emitting(&settings("p", reg), "admin", &[])
        .await
        .unwrap();
    let e = m
        .start_replication(p.id, "manual", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.status, ExecutionStatus::InProgress);
    assert!(!e.planned);
    assert!(
        m.start_replication(p.id, "manual", &[])
            .await
            .unwrap()
            .is_none()
    );
    // Two at once: exactly one wins.
    m.finish_replication_emitting(e.id, ExecutionStatus::Succeed, "", &[])
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        m.start_replication(p.id, "manual", &[]),
        m.start_replication(p.id, "scheduled", &[])
    );
    assert_eq!(
        [a.unwrap().is_some(), b.unwrap().is_some()]
            .iter()
            .filter(|x| **x)
            .count(),
        1
    );
    let delete = m.delete_replication_policy_emitting(p.id, &[]).await;
    assert!(matches!(delete, Err(Error::Precondition(_))), "{delete:?}");
    assert!(matches!(
        m.start_replication(p.id + 100, "manual", &[]).await,
        Err(Error::NotFound(_))
    ));
    let (list, total) = m
        .replication_executions(
            &ExecutionQuery {
                policy_id: Some(p.id),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert!(list[0].id > list[1].id, "newest first");
    let (active, _) = m
        .replication_executions(
            &ExecutionQuery {
                status: Some(ExecutionStatus::InProgress),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    let (manual, _) = m
        .replication_executions(
            &ExecutionQuery {
                trigger: Some("manual".into()),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert!(!manual.is_empty() && manual.iter().all(|e| e.trigger == "manual"));
    assert_eq!(
        manual.iter().filter(|e| e.id == list[1].id).count(),
        1,
        "the first was manual"
    );
    m.set_replication_job(active[0].id, 42).await.unwrap();
    assert_eq!(
        m.replication_execution(active[0].id)
            .await
            .unwrap()
            .unwrap()
            .job_id,
        Some(42)
    );
}

fn task(repo: &str, refs: &[&str]) -> NewTask {
    NewTask {
        operation: "copy".into(),
        resource_type: "image".into(),
        src_repository: repo.into(),
        dst_repository: format!("mirror/{repo}"),
        references: refs.iter().map(|r| (*r).to_owned()).collect(),
    }
}

async fn plans_are_stored_once_and_tasks_keep_their_progress(t: &Target) {
    let m = t.open().await;
    let reg = endpoint(&m, "r").await;
    let p = m
        .create_replication_policy_emitting(&settings("p", reg), "admin", &[])
        .await
        .unwrap();
    let e = m
        .start_replication(p.id, "manual", &[])
        .await
        .unwrap()
        .unwrap();
    m.plan_replication(e.id, &[task("a", &["v1", "v2"]), task("b", &["latest"])])
        .await
        .unwrap();
    // A resumed run does not plan again.
    m.plan_replication(e.id, &[task("c", &["x"])])
        .await
        .unwrap();
    let tasks = m.replication_tasks(e.id).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].plan, task("a", &["v1", "v2"]));
    assert_eq!(tasks[0].status, TaskStatus::Pending);
    assert!(
        m.replication_execution(e.id)
            .await
            .unwrap()
            .unwrap()
            .planned
    );
    let id = tasks[0].id;
    m.update_replication_task(id, TaskStatus::InProgress, &["v1".into()])
        .await
        .unwrap();
    let got = m.replication_task(id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.done.clone()),
        (TaskStatus::InProgress, vec!["v1".to_owned()])
    );
    assert!(got.started_ms.is_some() && got.ended_ms.is_none());
    m.update_replication_task(id, TaskStatus::Succeed, &["v1".into(), "v2".into()])
        .await
        .unwrap();
    let got = m.replication_task(id).await.unwrap().unwrap();
    assert!(got.ended_ms.is_some());
    let counts = m.replication_execution(e.id).await.unwrap().unwrap().counts;
    assert_eq!(
        (counts.total, counts.succeed, counts.in_progress),
        (2, 1, 1)
    );
    m.append_replication_log(id, &[(1, "one".into()), (2, "two".into())])
        .await
        .unwrap();
    assert_eq!(
        m.replication_log(id).await.unwrap(),
        vec![(1, "one".to_owned()), (2, "two".to_owned())]
    );
    assert!(matches!(
        m.append_replication_log(id + 100, &[(1, "x".into())]).await,
        Err(Error::NotFound(_))
    ));
    // Deleting the policy takes its history with it.
    m.finish_replication_emitting(e.id, ExecutionStatus::Succeed, "", &[])
        .await
        .unwrap();
    m.delete_replication_policy_emitting(p.id, &[])
        .await
        .unwrap();
    assert!(m.replication_task(id).await.unwrap().is_none());
    assert!(m.replication_log(id).await.unwrap().is_empty());
}

async fn finishing_ends_leftover_tasks_and_writes_the_event_once(t: &Target) {
    let m = t.open().await;
    let reg = endpoint(&m, "r").await;
    let p = m
        .create_replication_policy_emitting(&settings("p", reg), "admin", &[])
        .await
        .unwrap();
    let e = m
        .start_replication(p.id, "manual", &[])
        .await
        .unwrap()
        .unwrap();
    m.plan_replication(e.id, &[task("a", &["v1"]), task("b", &["v1"])])
        .await
        .unwrap();
    let before = m.last_event_id().await.unwrap();
    let event = |status: &str| {
        vec![NewEvent::now(
            "system",
            DomainEvent::ReplicationFinished {
                policy_id: p.id,
                execution_id: e.id,
                status: status.into(),
            },
        )]
    };
    m.finish_replication_emitting(
        e.id,
        ExecutionStatus::Stopped,
        "stopped on request",
        &event("Stopped"),
    )
    .await
    .unwrap();
    // Ending it again changes nothing and writes no second event.
    m.finish_replication_emitting(e.id, ExecutionStatus::Failed, "late", &event("Failed"))
        .await
        .unwrap();
    let got = m.replication_execution(e.id).await.unwrap().unwrap();
    assert_eq!(got.status, ExecutionStatus::Stopped);
    assert_eq!(got.status_text, "stopped on request");
    assert!(got.ended_ms.is_some());
    assert_eq!(got.counts.stopped, 2);
    assert!(
        m.replication_tasks(e.id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.status == TaskStatus::Stopped)
    );
    let events = m.events_after(before, 10).await.unwrap();
    assert_eq!(events.len(), 1);
}
