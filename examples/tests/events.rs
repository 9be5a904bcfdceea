//! The registry-events example: a subscriber of the library receives the events of the
//! changes made through it, with who made them, in order.

use std::time::Duration;

use harbor_core::events::DomainEvent;

#[tokio::test]
async fn a_subscriber_receives_the_events_of_library_calls() {
    let dir = tempfile::tempdir().unwrap();
    let events = harbor_examples::events::push_and_watch(dir.path(), Duration::from_secs(20))
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.actor.as_str(), e.event.kind()))
        .collect();
    assert_eq!(
        got,
        [
            ("alice", "artifact_pushed"),
            ("bob", "tag_created"),
            ("carol", "tag_deleted"),
            ("carol", "artifact_deleted"),
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    match &events[0].event {
        DomainEvent::ArtifactPushed {
            repository, tags, ..
        } => {
            assert_eq!(repository, "demo/app");
            assert_eq!(tags, &["v1"]);
        }
        other => panic!("{other:?}"),
    }
}
