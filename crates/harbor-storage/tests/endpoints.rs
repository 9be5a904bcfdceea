//! The contract of registry endpoints (`/registries`), on SQLite and PostgreSQL
//! (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use harbor_core::Error;
use harbor_core::endpoints::{
    CredentialKind, EndpointKind, EndpointQuery, EndpointSettings, EndpointStatus, EndpointStore,
    SealedCredential,
};
use harbor_core::events::{DomainEvent, EventStore, NewEvent};
use harbor_core::identity::{Match, Page};
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    endpoints_round_trip_and_names_are_unique,
    listing_filters_and_pages,
    status_is_kept_only_for_the_settings_checked,
    secrets_can_be_resealed_by_compare_and_set,
    changes_write_their_events,
    proxy_cache_projects_keep_their_endpoint,
);

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

fn settings(name: &str, kind: EndpointKind, secret: Option<&[u8]>) -> EndpointSettings {
    EndpointSettings {
        name: name.into(),
        description: format!("about {name}"),
        kind,
        url: format!("https://{name}.example.com"),
        credential: secret.map(|s| SealedCredential {
            kind: CredentialKind::Basic,
            access_key: "puller".into(),
            sealed_secret: s.to_vec(),
        }),
        insecure: true,
        ca_certificate: Some("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n".into()),
    }
}

async fn endpoints_round_trip_and_names_are_unique(t: &Target) {
    let m = t.open().await;
    let s = settings("a", EndpointKind::Harbor, Some(b"\x00sealed\xff"));
    let e = m.create_endpoint_emitting(&s, &[]).await.unwrap();
    assert!(e.id > 0);
    assert_eq!(e.settings, s);
    assert_eq!(e.status, EndpointStatus::Unknown);
    assert_eq!(m.endpoint(e.id).await.unwrap().unwrap(), e);
    // Anonymous, no CA.
    let mut anon = settings("b", EndpointKind::DockerRegistry, None);
    anon.ca_certificate = None;
    anon.insecure = false;
    let b = m.create_endpoint_emitting(&anon, &[]).await.unwrap();
    assert_eq!(m.endpoint(b.id).await.unwrap().unwrap().settings, anon);
    // Unique names, on create and on update.
    let dup = m.create_endpoint_emitting(&s, &[]).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    let mut renamed = anon.clone();
    renamed.name = "a".into();
    let dup = m.update_endpoint_emitting(b.id, &renamed, &[]).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    // Update replaces everything, delete removes.
    let mut changed = s.clone();
    changed.credential = None;
    changed.url = "http://other:5000".into();
    let u = m
        .update_endpoint_emitting(e.id, &changed, &[])
        .await
        .unwrap();
    assert_eq!(u.settings, changed);
    assert!(u.updated_ms >= e.updated_ms);
    m.delete_endpoint_emitting(e.id, &[]).await.unwrap();
    assert!(m.endpoint(e.id).await.unwrap().is_none());
    assert!(matches!(
        m.delete_endpoint_emitting(e.id, &[]).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        m.update_endpoint_emitting(e.id, &changed, &[]).await,
        Err(Error::NotFound(_))
    ));
}

async fn listing_filters_and_pages(t: &Target) {
    let m = t.open().await;
    for (n, k) in [
        ("hub", EndpointKind::DockerHub),
        ("prod-harbor", EndpointKind::Harbor),
        ("dr-harbor", EndpointKind::Harbor),
        ("mirror", EndpointKind::DockerRegistry),
    ] {
        m.create_endpoint_emitting(&settings(n, k, None), &[])
            .await
            .unwrap();
    }
    let names = |v: Vec<harbor_core::endpoints::Endpoint>| {
        v.into_iter().map(|e| e.settings.name).collect::<Vec<_>>()
    };
    let (items, total) = m.endpoints(&EndpointQuery::default(), all()).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(names(items), ["hub", "prod-harbor", "dr-harbor", "mirror"]);
    let q = EndpointQuery {
        name: Some(Match::Fuzzy("HARBOR".into())),
        kind: None,
    };
    let (items, total) = m.endpoints(&q, all()).await.unwrap();
    assert_eq!(
        (names(items), total),
        (vec!["prod-harbor".to_owned(), "dr-harbor".to_owned()], 2)
    );
    let q = EndpointQuery {
        name: None,
        kind: Some(EndpointKind::DockerRegistry),
    };
    let (items, _) = m.endpoints(&q, all()).await.unwrap();
    assert_eq!(names(items), ["mirror"]);
    let q = EndpointQuery {
        name: Some(Match::Exact("hub".into())),
        kind: None,
    };
    assert_eq!(m.endpoints(&q, all()).await.unwrap().1, 1);
    let page2 = Page {
        page: 2,
        page_size: 3,
    };
    let (items, total) = m.endpoints(&EndpointQuery::default(), page2).await.unwrap();
    assert_eq!((names(items), total), (vec!["mirror".to_owned()], 4));
}

async fn status_is_kept_only_for_the_settings_checked(t: &Target) {
    let m = t.open().await;
    let e = m
        .create_endpoint_emitting(&settings("a", EndpointKind::Harbor, None), &[])
        .await
        .unwrap();
    let now = harbor_core::model::now_ms();
    m.set_endpoint_status(e.id, EndpointStatus::Healthy, now)
        .await
        .unwrap();
    assert_eq!(
        m.endpoint(e.id).await.unwrap().unwrap().status,
        EndpointStatus::Healthy
    );
    // A check that started before the last change says nothing about the new settings.
    m.set_endpoint_status(e.id, EndpointStatus::Unhealthy, e.updated_ms - 1)
        .await
        .unwrap();
    assert_eq!(
        m.endpoint(e.id).await.unwrap().unwrap().status,
        EndpointStatus::Healthy
    );
    // A change resets it.
    let u = m
        .update_endpoint_emitting(e.id, &settings("a2", EndpointKind::Harbor, None), &[])
        .await
        .unwrap();
    assert_eq!(u.status, EndpointStatus::Unknown);
}

async fn secrets_can_be_resealed_by_compare_and_set(t: &Target) {
    let m = t.open().await;
    let a = m
        .create_endpoint_emitting(&settings("a", EndpointKind::Harbor, Some(b"old")), &[])
        .await
        .unwrap();
    m.create_endpoint_emitting(&settings("b", EndpointKind::Harbor, None), &[])
        .await
        .unwrap();
    assert_eq!(
        m.sealed_endpoint_secrets().await.unwrap(),
        vec![(a.id, b"old".to_vec())]
    );
    assert!(
        !m.reseal_endpoint_secret(a.id, b"other", b"new")
            .await
            .unwrap()
    );
    assert!(
        m.reseal_endpoint_secret(a.id, b"old", b"new")
            .await
            .unwrap()
    );
    let got = m.endpoint(a.id).await.unwrap().unwrap();
    assert_eq!(got.settings.credential.unwrap().sealed_secret, b"new");
}

async fn changes_write_their_events(t: &Target) {
    let m = t.open().await;
    let ev = |change: &str| {
        vec![NewEvent::now(
            "admin",
            DomainEvent::RegistryEndpointChanged {
                name: "a".into(),
                change: change.into(),
            },
        )]
    };
    let before = m.last_event_id().await.unwrap();
    let e = m
        .create_endpoint_emitting(&settings("a", EndpointKind::Harbor, None), &ev("create"))
        .await
        .unwrap();
    m.update_endpoint_emitting(
        e.id,
        &settings("a", EndpointKind::Harbor, None),
        &ev("update"),
    )
    .await
    .unwrap();
    m.delete_endpoint_emitting(e.id, &ev("delete"))
        .await
        .unwrap();
    // A failed write writes no event.
    assert!(
        m.delete_endpoint_emitting(e.id, &ev("delete"))
            .await
            .is_err()
    );
    let events = m.events_after(before, 100).await.unwrap();
    let changes: Vec<String> = events
        .iter()
        .map(|e| match &e.event {
            DomainEvent::RegistryEndpointChanged { change, .. } => change.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(changes, ["create", "update", "delete"]);
}

async fn proxy_cache_projects_keep_their_endpoint(t: &Target) {
    use harbor_core::identity::{NewProject, NewUser};
    use harbor_core::ports::IdentityStore;
    let m = t.open().await;
    let e = m
        .create_endpoint_emitting(&settings("up", EndpointKind::DockerHub, None), &[])
        .await
        .unwrap();
    let owner = m
        .create_user(&NewUser {
            username: "owner".into(),
            email: None,
            realname: "Owner".into(),
            comment: String::new(),
            password_hash: "x".into(),
            sysadmin: false,
        })
        .await
        .unwrap();
    let new = |name: &str, registry_id| NewProject {
        name: name.into(),
        owner_id: owner.id,
        registry_id,
        ..Default::default()
    };
    let p = m
        .create_project_emitting(&new("hub", Some(e.id)), &[])
        .await
        .unwrap();
    assert_eq!(p.registry_id, Some(e.id));
    assert_eq!(
        m.project_by_name("hub").await.unwrap().unwrap().registry_id,
        Some(e.id)
    );
    let plain = m.create_project_emitting(&new("plain", None), &[]).await;
    assert_eq!(plain.unwrap().registry_id, None);
    // An unknown endpoint is refused, and one in use cannot be deleted.
    let missing = m
        .create_project_emitting(&new("nowhere", Some(e.id + 100)), &[])
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    let refused = m.delete_endpoint_emitting(e.id, &[]).await;
    assert!(
        matches!(refused, Err(Error::Precondition(_))),
        "{refused:?}"
    );
    m.delete_project_emitting(p.id, &[]).await.unwrap();
    m.delete_endpoint_emitting(e.id, &[]).await.unwrap();
}
