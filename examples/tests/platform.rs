//! The platform-services example: a project, a robot and a GC run made through the
//! services, with the rules applied and the events they caused received in order.

use std::time::Duration;

use harbor_core::Error;
use harbor_core::events::DomainEvent;
use harbor_core::jobs::JobStatus;

#[tokio::test]
async fn services_create_a_project_a_robot_and_a_gc_run_and_emit_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let done = harbor_examples::platform::provision(dir.path(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.robot_login, "robot$team-a+ci");
    assert_eq!(done.gc_run.status, JobStatus::Success, "{:?}", done.gc_run);
    assert!(
        matches!(&done.second_start, Error::Conflict(m) if m.contains(&done.gc_run.id.to_string())),
        "{:?}",
        done.second_start
    );
    let got: Vec<(&str, &str)> = done
        .events
        .iter()
        .map(|e| (e.actor.as_str(), e.event.kind()))
        .collect();
    assert_eq!(
        got,
        [
            ("admin", "project_created"),
            ("admin", "robot_created"),
            ("admin", "job_started"),
            ("system", "job_finished"),
        ]
    );
    assert_eq!(
        done.events[3].event,
        DomainEvent::JobFinished {
            kind: "GARBAGE_COLLECTION".into(),
            job_id: done.gc_run.id,
            status: "Success".into(),
        }
    );
    match &done.events[2].event {
        DomainEvent::JobStarted { kind, job_id } => {
            assert_eq!(kind, "GARBAGE_COLLECTION");
            assert_eq!(*job_id, done.gc_run.id);
        }
        other => panic!("{other:?}"),
    }
}
