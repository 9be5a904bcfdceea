//! The contract of scanner registrations (`/scanners`) and project scanners, on SQLite
//! and PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use harbor_core::Error;
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::identity::{NewProject, NewUser};
use harbor_core::ports::IdentityStore;
use harbor_core::scan::registrations::{
    AdapterAuth, RegistrationSettings, ScannerRegistration, ScannerStore,
};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    registrations_round_trip_and_names_and_urls_are_unique,
    one_default_at_a_time,
    projects_choose_a_registration,
    credentials_can_be_resealed_by_compare_and_set,
    changes_write_their_events,
);

fn settings(name: &str, auth: AdapterAuth, credential: &[u8]) -> RegistrationSettings {
    RegistrationSettings {
        name: name.into(),
        description: format!("about {name}"),
        url: format!("http://{name}.example.com:8080"),
        disabled: false,
        auth,
        sealed_credential: credential.to_vec(),
        skip_cert_verify: true,
        use_internal_addr: false,
    }
}

fn defaults(all: &[ScannerRegistration]) -> Vec<&str> {
    all.iter()
        .filter(|r| r.is_default)
        .map(|r| r.settings.name.as_str())
        .collect()
}

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

async fn registrations_round_trip_and_names_and_urls_are_unique(t: &Target) {
    let m = t.open().await;
    let s = settings("trivy", AdapterAuth::ApiKey, b"\x00sealed\xff");
    let a = m.create_registration("uuid-a", &s, &[]).await.unwrap();
    assert_eq!(a.uuid, "uuid-a");
    assert_eq!(a.settings, s);
    assert!(a.is_default, "the first registration is the default");
    assert!(a.created_ms > 0);
    assert_eq!(a.created_ms, a.updated_ms);
    assert_eq!(m.registration("uuid-a").await.unwrap().unwrap(), a);
    assert!(m.registration("missing").await.unwrap().is_none());

    let mut other = settings("clair", AdapterAuth::None, &[]);
    other.disabled = true;
    other.skip_cert_verify = false;
    other.use_internal_addr = true;
    let b = m.create_registration("uuid-b", &other, &[]).await.unwrap();
    assert_eq!(b.settings, other);
    assert!(!b.is_default);
    let all = m.registrations().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&a) && all.contains(&b));

    // Names and URLs are unique, on create and on update; the conflict names the field.
    let mut dup = settings("trivy", AdapterAuth::None, &[]);
    dup.url = "http://elsewhere:8080".into();
    let err = m.create_registration("uuid-c", &dup, &[]).await;
    assert!(
        matches!(&err, Err(Error::Conflict(m)) if m.contains("named \"trivy\"")),
        "{err:?}"
    );
    let mut dup = settings("other", AdapterAuth::None, &[]);
    dup.url = s.url.clone();
    let err = m.create_registration("uuid-c", &dup, &[]).await;
    assert!(
        matches!(&err, Err(Error::Conflict(m)) if m.contains("URL")),
        "{err:?}"
    );
    let same_uuid = settings("x", AdapterAuth::None, &[]);
    let err = m.create_registration("uuid-a", &same_uuid, &[]).await;
    assert!(matches!(err, Err(Error::Conflict(_))), "{err:?}");
    let mut renamed = other.clone();
    renamed.name = "trivy".into();
    let err = m.update_registration("uuid-b", &renamed, &[]).await;
    assert!(
        matches!(&err, Err(Error::Conflict(m)) if m.contains("named")),
        "{err:?}"
    );
    let mut moved = other.clone();
    moved.url = s.url.clone();
    let err = m.update_registration("uuid-b", &moved, &[]).await;
    assert!(
        matches!(&err, Err(Error::Conflict(m)) if m.contains("URL")),
        "{err:?}"
    );

    // An update replaces every setting and keeps the default flag and creation time.
    let mut changed = settings("trivy-2", AdapterAuth::Bearer, b"token");
    changed.description = String::new();
    changed.disabled = false;
    changed.skip_cert_verify = false;
    changed.use_internal_addr = true;
    let u = m
        .update_registration("uuid-a", &changed, &[])
        .await
        .unwrap();
    assert_eq!(u.settings, changed);
    assert!(u.is_default);
    assert_eq!(u.created_ms, a.created_ms);
    assert!(u.updated_ms >= a.updated_ms);
    assert_eq!(m.registration("uuid-a").await.unwrap().unwrap(), u);

    m.delete_registration("uuid-b", &[]).await.unwrap();
    assert!(m.registration("uuid-b").await.unwrap().is_none());
    for gone in [
        m.delete_registration("uuid-b", &[]).await,
        m.update_registration("uuid-b", &other, &[])
            .await
            .map(|_| ()),
        m.set_default_registration("uuid-b", &[]).await,
    ] {
        assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");
    }
    assert_eq!(m.registrations().await.unwrap(), [u]);
}

async fn one_default_at_a_time(t: &Target) {
    let m = t.open().await;
    for (uuid, name) in [("u1", "one"), ("u2", "two"), ("u3", "three")] {
        m.create_registration(uuid, &settings(name, AdapterAuth::None, &[]), &[])
            .await
            .unwrap();
    }
    assert_eq!(defaults(&m.registrations().await.unwrap()), ["one"]);
    m.set_default_registration("u2", &[]).await.unwrap();
    assert_eq!(defaults(&m.registrations().await.unwrap()), ["two"]);
    // Idempotent, and an unknown one changes nothing.
    m.set_default_registration("u2", &[]).await.unwrap();
    assert!(matches!(
        m.set_default_registration("nope", &[]).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(defaults(&m.registrations().await.unwrap()), ["two"]);
    // Concurrent switches leave exactly one default.
    let (a, b, c) = tokio::join!(
        m.set_default_registration("u1", &[]),
        m.set_default_registration("u3", &[]),
        m.set_default_registration("u2", &[]),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(defaults(&m.registrations().await.unwrap()).len(), 1);

    // Deleting the default leaves none; the next enabled registration created takes it,
    // a disabled one does not.
    m.set_default_registration("u1", &[]).await.unwrap();
    m.delete_registration("u1", &[]).await.unwrap();
    assert!(defaults(&m.registrations().await.unwrap()).is_empty());
    let mut disabled = settings("off", AdapterAuth::None, &[]);
    disabled.disabled = true;
    let off = m.create_registration("u4", &disabled, &[]).await.unwrap();
    assert!(!off.is_default);
    let on = m
        .create_registration("u5", &settings("on", AdapterAuth::None, &[]), &[])
        .await
        .unwrap();
    assert!(on.is_default);
    assert_eq!(defaults(&m.registrations().await.unwrap()), ["on"]);
}

async fn projects_choose_a_registration(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "team").await;
    let q = project(&m, "other").await;
    for (uuid, name) in [("u1", "one"), ("u2", "two")] {
        m.create_registration(uuid, &settings(name, AdapterAuth::None, &[]), &[])
            .await
            .unwrap();
    }
    assert_eq!(m.project_registration(p).await.unwrap(), None);
    m.set_project_registration(p, "u2", &[]).await.unwrap();
    assert_eq!(
        m.project_registration(p).await.unwrap().as_deref(),
        Some("u2")
    );
    m.set_project_registration(p, "u1", &[]).await.unwrap();
    assert_eq!(
        m.project_registration(p).await.unwrap().as_deref(),
        Some("u1")
    );
    m.set_project_registration(q, "u1", &[]).await.unwrap();
    // Unknown registrations and projects are refused.
    for (project, uuid) in [(p, "nope"), (p + q + 100, "u1")] {
        let err = m.set_project_registration(project, uuid, &[]).await;
        assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    }
    assert_eq!(
        m.project_registration(p).await.unwrap().as_deref(),
        Some("u1")
    );
    // Deleting the registration drops the choices of it; deleting a project drops its own.
    m.set_project_registration(q, "u2", &[]).await.unwrap();
    m.delete_registration("u1", &[]).await.unwrap();
    assert_eq!(m.project_registration(p).await.unwrap(), None);
    assert_eq!(
        m.project_registration(q).await.unwrap().as_deref(),
        Some("u2")
    );
    m.delete_project_emitting(q, &[]).await.unwrap();
    assert_eq!(m.project_registration(q).await.unwrap(), None);
    m.delete_registration("u2", &[]).await.unwrap();
}

async fn credentials_can_be_resealed_by_compare_and_set(t: &Target) {
    let m = t.open().await;
    m.create_registration("a", &settings("a", AdapterAuth::Basic, b"old"), &[])
        .await
        .unwrap();
    m.create_registration("b", &settings("b", AdapterAuth::None, &[]), &[])
        .await
        .unwrap();
    assert_eq!(
        m.sealed_registration_credentials().await.unwrap(),
        vec![("a".to_owned(), b"old".to_vec())]
    );
    assert!(
        !m.reseal_registration_credential("a", b"other", b"new")
            .await
            .unwrap()
    );
    assert!(
        m.reseal_registration_credential("a", b"old", b"new")
            .await
            .unwrap()
    );
    let got = m.registration("a").await.unwrap().unwrap();
    assert_eq!(got.settings.sealed_credential, b"new");
}

async fn changes_write_their_events(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "team").await;
    let ev = |change: &str| {
        vec![NewEvent::now(
            "admin",
            DomainEvent::ScannerRegistrationChanged {
                name: "a".into(),
                change: change.into(),
            },
        )]
    };
    let before = m.last_event_id().await.unwrap();
    let s = settings("a", AdapterAuth::None, &[]);
    m.create_registration("a", &s, &ev("create")).await.unwrap();
    m.update_registration("a", &s, &ev("update")).await.unwrap();
    m.set_default_registration("a", &ev("default"))
        .await
        .unwrap();
    m.set_project_registration(p, "a", &ev("project"))
        .await
        .unwrap();
    m.delete_registration("a", &ev("delete")).await.unwrap();
    // Failed writes write no event.
    assert!(m.delete_registration("a", &ev("delete")).await.is_err());
    assert!(
        m.set_project_registration(p, "a", &ev("project"))
            .await
            .is_err()
    );
    assert!(m.create_registration("b", &s, &ev("create")).await.is_ok());
    assert!(m.create_registration("c", &s, &ev("create")).await.is_err());
    let changes: Vec<String> = m
        .events_after(before, 100)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::ScannerRegistrationChanged { change, .. } => Some(change.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        ["create", "update", "default", "project", "delete", "create"]
    );
}
