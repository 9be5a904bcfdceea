//! The contract of repository records (REST API listing, description, deletion, pull
//! counts), run against SQLite (a real database file) and PostgreSQL (a fresh database
//! per test; `HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::identity::{Match, NewUser, Page};
use harbor_core::model::{
    NewManifest, RepositoryQuery, RepositoryRecord, RepositorySortKey, RepositoryVisibility, now_ms,
};
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::rbac::Role;
use harbor_core::{Digest, Error, Reference, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;
use sqlx::Executor;

harbor_storage::contract_tests!(
    records_follow_pushes_and_projects,
    listing_visibility_filters_sorts_and_pages,
    artifact_count_leaves_out_index_children,
    description_pulls_and_deletion,
    migration_backfills_existing_repositories,
    registry_batches_pull_counts,
);

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn image(content: &str, layer: &Digest) -> NewManifest {
    NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: vec![layer.clone()],
        manifests: vec![],
        children_pending: false,
    }
}

fn index(content: &str, children: &[&Digest]) -> NewManifest {
    NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_INDEX.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: vec![],
        manifests: children.iter().map(|d| (*d).clone()).collect(),
        children_pending: false,
    }
}

/// Pushes one image manifest tagged `latest` into `name`.
async fn push(m: &SqlMetadataStore, name: &str) -> Digest {
    let r = repo(name);
    let layer = Digest::sha256(format!("layer of {name}").as_bytes());
    m.link_blob(&r, &layer, 10).await.unwrap();
    let man = image(&format!("manifest of {name}"), &layer);
    m.put_manifest(&r, &man, &[tag("latest")]).await.unwrap();
    man.digest
}

async fn user(m: &SqlMetadataStore, name: &str) -> i64 {
    m.create_user(&NewUser {
        username: name.into(),
        email: None,
        realname: name.into(),
        comment: String::new(),
        password_hash: "x".into(),
        sysadmin: false,
    })
    .await
    .unwrap()
    .id
}

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

async fn names(m: &SqlMetadataStore, q: &RepositoryQuery, page: Page) -> (Vec<String>, u64) {
    let (records, total) = m.repository_records(q, page).await.unwrap();
    (records.into_iter().map(|r| r.name).collect(), total)
}

async fn record(m: &SqlMetadataStore, name: &str) -> Option<RepositoryRecord> {
    m.repository_record(&repo(name)).await.unwrap()
}

async fn records_follow_pushes_and_projects(t: &Target) {
    let m = t.open().await;
    let owner = user(&m, "owner").await;
    let a = m.create_project("a", owner, false).await.unwrap();
    let before = now_ms();
    push(&m, "a/x").await;
    push(&m, "a/y/z").await;
    push(&m, "orphan/q").await;
    // Blobs alone do not make a repository visible, nor do names outside the project.
    m.link_blob(&repo("a/blobs-only"), &Digest::sha256(b"b"), 1)
        .await
        .unwrap();
    push(&m, "a-b/x").await;

    let r = record(&m, "a/x").await.expect("a/x");
    assert_eq!(r.project_id, a.id);
    assert_eq!(r.name, "a/x");
    assert_eq!(r.description, "");
    assert_eq!(r.artifact_count, 1);
    assert_eq!(r.pull_count, 0);
    assert!(r.created_ms >= before && r.updated_ms >= r.created_ms);
    assert!(record(&m, "a/blobs-only").await.is_none());
    assert!(record(&m, "orphan/q").await.is_none(), "no project yet");
    assert!(record(&m, "a/missing").await.is_none());

    let q = RepositoryQuery {
        sort: vec![(RepositorySortKey::Name, false)],
        ..RepositoryQuery::default()
    };
    assert_eq!(
        names(&m, &q, all()).await,
        (vec!["a/x".into(), "a/y/z".into()], 2)
    );

    // A project created later takes the repositories pushed under its name.
    let orphan = m.create_project("orphan", owner, true).await.unwrap();
    assert_eq!(record(&m, "orphan/q").await.unwrap().project_id, orphan.id);
    let ab = m.create_project("a-b", owner, true).await.unwrap();
    assert_eq!(record(&m, "a-b/x").await.unwrap().project_id, ab.id);
    assert_eq!(record(&m, "a/x").await.unwrap().project_id, a.id);
    // A push into an existing project joins it at once.
    push(&m, "orphan/new").await;
    assert_eq!(
        record(&m, "orphan/new").await.unwrap().project_id,
        orphan.id
    );

    // Pushes move the update time; the creation time stays.
    let first = record(&m, "a/x").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let layer = Digest::sha256(b"layer of a/x");
    m.put_manifest(&repo("a/x"), &image("second", &layer), &[tag("v2")])
        .await
        .unwrap();
    let second = record(&m, "a/x").await.unwrap();
    assert_eq!(second.created_ms, first.created_ms);
    assert!(second.updated_ms > first.updated_ms);
    assert_eq!(second.artifact_count, 2);
}

async fn listing_visibility_filters_sorts_and_pages(t: &Target) {
    let m = t.open().await;
    let owner = user(&m, "owner").await;
    let member = user(&m, "member").await;
    let outsider = user(&m, "outsider").await;
    let private = m.create_project("private", owner, false).await.unwrap();
    let public = m.create_project("public", owner, true).await.unwrap();
    m.add_member(private.id, member, Role::LimitedGuest)
        .await
        .unwrap();
    for name in ["private/one", "public/two", "private/three", "public/four"] {
        push(&m, name).await;
        // Distinct creation times for the default order.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let by_name = |visibility| RepositoryQuery {
        visibility,
        sort: vec![(RepositorySortKey::Name, false)],
        ..RepositoryQuery::default()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // Default order: newest first.
    assert_eq!(
        names(&m, &RepositoryQuery::default(), all()).await,
        (
            s(&["public/four", "private/three", "public/two", "private/one"]),
            4
        )
    );
    assert_eq!(
        names(&m, &by_name(RepositoryVisibility::Public), all()).await,
        (s(&["public/four", "public/two"]), 2)
    );
    assert_eq!(
        names(
            &m,
            &by_name(RepositoryVisibility::PublicOrMember(member)),
            all()
        )
        .await,
        (
            s(&["private/one", "private/three", "public/four", "public/two"]),
            4
        )
    );
    assert_eq!(
        names(
            &m,
            &by_name(RepositoryVisibility::PublicOrMember(outsider)),
            all()
        )
        .await,
        (s(&["public/four", "public/two"]), 2)
    );

    // Filters.
    let mut q = by_name(RepositoryVisibility::All);
    q.project_id = Some(private.id);
    assert_eq!(
        names(&m, &q, all()).await,
        (s(&["private/one", "private/three"]), 2)
    );
    q.project_id = Some(public.id);
    assert_eq!(
        names(&m, &q, all()).await,
        (s(&["public/four", "public/two"]), 2)
    );
    q.project_id = None;
    q.name = Some(Match::Fuzzy("O".into()));
    assert_eq!(
        names(&m, &q, all()).await,
        (s(&["private/one", "public/four", "public/two"]), 3)
    );
    q.name = Some(Match::Exact("public/two".into()));
    assert_eq!(names(&m, &q, all()).await, (s(&["public/two"]), 1));
    q.name = Some(Match::Fuzzy("%".into()));
    assert_eq!(names(&m, &q, all()).await, (vec![], 0));
    q.name = None;
    let three = record(&m, "private/three").await.unwrap();
    q.created_from_ms = Some(three.created_ms);
    assert_eq!(
        names(&m, &q, all()).await,
        (s(&["private/three", "public/four"]), 2)
    );
    q.created_from_ms = None;
    q.updated_to_ms = Some(three.updated_ms);
    assert_eq!(
        names(&m, &q, all()).await,
        (s(&["private/one", "private/three", "public/two"]), 3)
    );

    // Sorts and pages: pages never overlap and the total counts every match.
    let q = RepositoryQuery {
        sort: vec![(RepositorySortKey::Name, true)],
        ..RepositoryQuery::default()
    };
    let page = |page| Page { page, page_size: 3 };
    assert_eq!(
        names(&m, &q, page(1)).await,
        (s(&["public/two", "public/four", "private/three"]), 4)
    );
    assert_eq!(names(&m, &q, page(2)).await, (s(&["private/one"]), 4));
    assert_eq!(names(&m, &q, page(3)).await, (vec![], 4));
    let layer = Digest::sha256(b"layer of private/one");
    m.put_manifest(&repo("private/one"), &image("second", &layer), &[tag("v2")])
        .await
        .unwrap();
    let q = RepositoryQuery {
        sort: vec![(RepositorySortKey::Name, false)],
        ..RepositoryQuery::default()
    };
    // Every page holds one repository, even one with several manifests.
    let expected = s(&["private/one", "private/three", "public/four", "public/two"]);
    for (n, name) in expected.iter().enumerate() {
        let one = Page {
            page: n as u64 + 1,
            page_size: 1,
        };
        assert_eq!(names(&m, &q, one).await, (vec![name.clone()], 4));
    }
    assert_eq!(
        names(&m, &q, page(1)).await,
        (s(&["private/one", "private/three", "public/four"]), 4)
    );
    assert_eq!(names(&m, &q, page(2)).await, (s(&["public/two"]), 4));
    let q = RepositoryQuery {
        sort: vec![(RepositorySortKey::CreationTime, false)],
        ..RepositoryQuery::default()
    };
    assert_eq!(
        names(&m, &q, all()).await.0,
        s(&["private/one", "public/two", "private/three", "public/four"])
    );
    m.add_pulls(&[(repo("public/two"), 3), (repo("private/one"), 1)])
        .await
        .unwrap();
    let q = RepositoryQuery {
        sort: vec![
            (RepositorySortKey::PullCount, true),
            (RepositorySortKey::Name, false),
        ],
        ..RepositoryQuery::default()
    };
    assert_eq!(
        names(&m, &q, all()).await.0,
        s(&["public/two", "private/one", "private/three", "public/four"])
    );
    let q = RepositoryQuery {
        sort: vec![(RepositorySortKey::UpdateTime, true)],
        ..RepositoryQuery::default()
    };
    let (recent, _) = names(&m, &q, all()).await;
    assert_eq!(recent.len(), 4);
    assert!(recent[..2].contains(&"public/two".to_string()));
    assert!(recent[..2].contains(&"private/one".to_string()));
}

async fn artifact_count_leaves_out_index_children(t: &Target) {
    let m = t.open().await;
    let owner = user(&m, "owner").await;
    m.create_project("p", owner, false).await.unwrap();
    let r = repo("p/multi");
    let layer = Digest::sha256(b"layer");
    m.link_blob(&r, &layer, 5).await.unwrap();
    let (amd, arm, extra) = (
        image("amd64", &layer),
        image("arm64", &layer),
        image("s390x", &layer),
    );
    for child in [&amd, &arm, &extra] {
        m.put_manifest(&r, child, &[]).await.unwrap();
    }
    assert_eq!(record(&m, "p/multi").await.unwrap().artifact_count, 3);
    let list = index("index", &[&amd.digest, &arm.digest, &extra.digest]);
    m.put_manifest(&r, &list, &[tag("latest")]).await.unwrap();
    // The index alone: its children are not top-level artifacts...
    assert_eq!(record(&m, "p/multi").await.unwrap().artifact_count, 1);
    // ...unless tagged themselves.
    m.put_manifest(&r, &arm, &[tag("arm"), tag("arm64")])
        .await
        .unwrap();
    assert_eq!(record(&m, "p/multi").await.unwrap().artifact_count, 2);
    // A child of an index in another repository counts here.
    let other = repo("p/other");
    m.link_blob(&other, &layer, 5).await.unwrap();
    m.put_manifest(&other, &amd, &[]).await.unwrap();
    assert_eq!(record(&m, "p/other").await.unwrap().artifact_count, 1);
    // The listing computes the same counts.
    let q = RepositoryQuery {
        sort: vec![(RepositorySortKey::Name, false)],
        ..RepositoryQuery::default()
    };
    let (records, _) = m.repository_records(&q, all()).await.unwrap();
    let counts: Vec<u64> = records.iter().map(|r| r.artifact_count).collect();
    assert_eq!(counts, vec![2, 1]);
}

async fn description_pulls_and_deletion(t: &Target) {
    let m = t.open().await;
    let owner = user(&m, "owner").await;
    m.create_project("p", owner, false).await.unwrap();
    let d = push(&m, "p/app").await;
    push(&m, "p/keep").await;
    let r = repo("p/app");

    m.set_repository_description(&r, "the app").await.unwrap();
    assert_eq!(record(&m, "p/app").await.unwrap().description, "the app");
    assert!(matches!(
        m.set_repository_description(&repo("p/none"), "x").await,
        Err(Error::NotFound(_))
    ));

    let before = record(&m, "p/app").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    m.add_pulls(&[(r.clone(), 2), (repo("p/none"), 7)])
        .await
        .unwrap();
    m.add_pulls(&[(r.clone(), 1)]).await.unwrap();
    m.add_pulls(&[]).await.unwrap();
    let after = record(&m, "p/app").await.unwrap();
    assert_eq!(after.pull_count, 3);
    assert!(
        after.updated_ms > before.updated_ms,
        "pulls move the update time"
    );
    assert_eq!(record(&m, "p/keep").await.unwrap().pull_count, 0);

    assert!(m.delete_repository(&r).await.unwrap());
    assert!(!m.delete_repository(&r).await.unwrap());
    assert!(record(&m, "p/app").await.is_none());
    assert_eq!(m.tags(&r, None, 10).await.unwrap(), None);
    assert!(
        m.manifest(&r, &Reference::Digest(d.clone()))
            .await
            .unwrap()
            .is_none()
    );
    let layer = Digest::sha256(b"layer of p/app");
    assert_eq!(m.repository_blob(&r, &layer).await.unwrap(), None);
    assert!(record(&m, "p/keep").await.is_some());
    assert_eq!(
        m.project_repository_count("p").await.unwrap(),
        1,
        "the project may be deleted once its repositories are"
    );
    // Pushing again starts a fresh repository.
    push(&m, "p/app").await;
    let again = record(&m, "p/app").await.unwrap();
    assert_eq!((again.pull_count, again.description.as_str()), (0, ""));
    assert_ne!(again.id, after.id);
}

/// Repositories written before migration 3 get their project, an empty description and
/// no pulls.
async fn migration_backfills_existing_repositories(t: &Target) {
    t.migrate_to(2).await;
    sqlx::any::install_default_drivers();
    let url = match t.url.strip_prefix("sqlite://") {
        Some(path) => format!("sqlite://{path}?mode=rwc"),
        None => t.url.clone(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    pool.execute(
        "INSERT INTO projects (id, name, owner_id, public, created_at, updated_at)
         VALUES (7, 'lib', 1, 1, 1, 1), (8, 'li', 1, 0, 1, 1);
         INSERT INTO repositories (id, name, created_at, updated_at)
         VALUES (1, 'lib/app', 100, 200), (2, 'li/x', 100, 200), (3, 'gone/y', 100, 200),
                (4, 'lib', 100, 200);
         INSERT INTO manifests (id, repository_id, digest, media_type, size, content, created_at)
         VALUES (1, 1, 'sha256:aa', 'x', 1, 'x', 100), (2, 2, 'sha256:aa', 'x', 1, 'x', 100),
                (3, 3, 'sha256:aa', 'x', 1, 'x', 100), (4, 4, 'sha256:aa', 'x', 1, 'x', 100);",
    )
    .await
    .unwrap();
    pool.close().await;

    let m = t.open().await;
    let r = record(&m, "lib/app").await.expect("backfilled");
    assert_eq!(
        (r.project_id, r.description.as_str(), r.pull_count),
        (7, "", 0)
    );
    assert_eq!((r.created_ms, r.updated_ms), (100, 200));
    assert_eq!(record(&m, "li/x").await.unwrap().project_id, 8);
    assert!(record(&m, "gone/y").await.is_none());
    assert!(record(&m, "lib").await.is_none());
    let (all_names, total) = names(&m, &RepositoryQuery::default(), all()).await;
    assert_eq!(total, 2, "{all_names:?}");
}

async fn pulls(m: &SqlMetadataStore, name: &str) -> u64 {
    record(m, name).await.unwrap().pull_count
}

/// The registry counts pulls in memory and writes them in batches: in the background
/// after its interval, or at once on `flush_pulls`.
async fn registry_batches_pull_counts(t: &Target) {
    use std::sync::Arc;
    use std::time::Duration;

    use harbor_core::{Registry, RegistryConfig};
    use harbor_storage::ObjectBlobStore;
    use harbor_storage::blob::StorageOptions;

    let m = t.open().await;
    let owner = user(&m, "owner").await;
    m.create_project("p", owner, true).await.unwrap();
    push(&m, "p/a").await;
    push(&m, "p/b").await;
    let blobs = ObjectBlobStore::open("memory://", &StorageOptions::default()).unwrap();
    let reg = Registry::new(
        Arc::new(blobs),
        Arc::new(m.clone()),
        RegistryConfig {
            pull_flush_interval: Duration::from_millis(200),
            ..RegistryConfig::default()
        },
    );

    // Written in the background once the interval has passed.
    for _ in 0..5 {
        reg.record_pull(&repo("p/a"));
    }
    reg.clone().record_pull(&repo("p/b"));
    assert_eq!(pulls(&m, "p/a").await, 0, "nothing is written at once");
    let mut waited = 0;
    while pulls(&m, "p/a").await < 5 {
        assert!(waited < 100, "pull counts never written");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!((pulls(&m, "p/a").await, pulls(&m, "p/b").await), (5, 1));

    // A flush writes everything counted so far before it returns; counts of a repository
    // that is gone are dropped.
    reg.record_pull(&repo("p/b"));
    reg.record_pull(&repo("p/gone"));
    reg.flush_pulls().await;
    assert_eq!((pulls(&m, "p/a").await, pulls(&m, "p/b").await), (5, 2));
    reg.flush_pulls().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!((pulls(&m, "p/a").await, pulls(&m, "p/b").await), (5, 2));
}
