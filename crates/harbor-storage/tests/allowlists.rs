//! The contract of CVE allowlists (the system list and each project's), on SQLite and
//! PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use harbor_core::Error;
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::identity::{NewProject, NewUser};
use harbor_core::ports::IdentityStore;
use harbor_core::scan::allowlist::{AllowlistInput, AllowlistStore, SYSTEM};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    lists_round_trip_and_are_replaced_whole,
    a_projects_list_goes_with_the_project,
    writes_carry_their_events,
);

async fn project(m: &SqlMetadataStore, name: &str) -> i64 {
    let owner = match m.user_by_name("owner").await.unwrap() {
        Some(u) => u,
        None => m
            .create_user(&NewUser {
                username: "owner".into(),
                email: None,
                realname: "Owner".into(),
                comment: String::new(),
                password_hash: "x".into(),
                sysadmin: false,
            })
            .await
            .unwrap(),
    };
    let p = NewProject {
        name: name.into(),
        owner_id: owner.id,
        ..Default::default()
    };
    m.create_project_emitting(&p, &[]).await.unwrap().id
}

fn input(expires_at: Option<i64>, items: &[&str]) -> AllowlistInput {
    AllowlistInput {
        expires_at,
        items: items.iter().map(|s| s.to_string()).collect(),
    }
}

async fn lists_round_trip_and_are_replaced_whole(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "team").await;
    assert!(m.allowlists(&[SYSTEM, p]).await.unwrap().is_empty());
    assert!(m.allowlists(&[]).await.unwrap().is_empty());

    let sys = m
        .put_allowlist(SYSTEM, &input(None, &["CVE-2021-44228", "GHSA-x"]), &[])
        .await
        .unwrap();
    assert_eq!(sys.project_id, SYSTEM);
    assert!(sys.id > 0);
    assert_eq!(sys.expires_at, None);
    assert_eq!(sys.items, ["CVE-2021-44228", "GHSA-x"]);
    assert!(sys.created_ms > 0 && sys.created_ms == sys.updated_ms);

    let own = m
        .put_allowlist(p, &input(Some(1_700_000_000), &["CVE-2023-0001"]), &[])
        .await
        .unwrap();
    assert_eq!(own.project_id, p);
    assert_eq!(own.expires_at, Some(1_700_000_000));
    assert_eq!(
        m.allowlists(&[SYSTEM, p]).await.unwrap(),
        vec![sys.clone(), own.clone()]
    );
    assert_eq!(m.allowlists(&[p]).await.unwrap(), vec![own.clone()]);

    // A write replaces the whole list and keeps its id and creation time.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let replaced = m
        .put_allowlist(SYSTEM, &input(None, &[]), &[])
        .await
        .unwrap();
    assert_eq!(replaced.id, sys.id);
    assert_eq!(replaced.created_ms, sys.created_ms);
    assert!(replaced.updated_ms > sys.updated_ms);
    assert!(replaced.items.is_empty());
    let many: Vec<String> = (0..10_000).map(|i| format!("CVE-2020-{i:05}")).collect();
    let big = m
        .put_allowlist(
            p,
            &AllowlistInput {
                expires_at: None,
                items: many.clone(),
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(big.items, many);
    assert_eq!(big.expires_at, None, "expiry removed");
    assert_eq!(m.allowlists(&[p]).await.unwrap()[0].items.len(), 10_000);

    // A missing project has no list to write.
    let e = m
        .put_allowlist(p + 1000, &input(None, &[]), &[])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e}");
}

async fn a_projects_list_goes_with_the_project(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "gone").await;
    let q = project(&m, "kept").await;
    m.put_allowlist(SYSTEM, &input(None, &["CVE-2021-0001"]), &[])
        .await
        .unwrap();
    m.put_allowlist(p, &input(None, &["CVE-2021-0002"]), &[])
        .await
        .unwrap();
    m.put_allowlist(q, &input(None, &["CVE-2021-0003"]), &[])
        .await
        .unwrap();
    m.delete_project_emitting(p, &[]).await.unwrap();
    let left: Vec<i64> = m
        .allowlists(&[SYSTEM, p, q])
        .await
        .unwrap()
        .iter()
        .map(|l| l.project_id)
        .collect();
    assert_eq!(left, [SYSTEM, q]);
}

async fn writes_carry_their_events(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "team").await;
    let before = m.last_event_id().await.unwrap();
    let ev = |project_id: Option<i64>| {
        vec![NewEvent::now(
            "admin",
            DomainEvent::CveAllowlistSet {
                project: project_id.map(|_| "team".to_string()),
                project_id,
                items: 1,
                expires_at: None,
            },
        )]
    };
    m.put_allowlist(SYSTEM, &input(None, &["CVE-2021-0001"]), &ev(None))
        .await
        .unwrap();
    m.put_allowlist(p, &input(None, &["CVE-2021-0001"]), &ev(Some(p)))
        .await
        .unwrap();
    // A failed write writes no event.
    assert!(
        m.put_allowlist(p + 1000, &input(None, &[]), &ev(Some(p + 1000)))
            .await
            .is_err()
    );
    let got: Vec<Option<i64>> = m
        .events_after(before, 100)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::CveAllowlistSet { project_id, .. } => Some(*project_id),
            _ => None,
        })
        .collect();
    assert_eq!(got, [None, Some(p)]);
}
