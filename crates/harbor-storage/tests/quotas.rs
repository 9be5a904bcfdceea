//! The contract of storage quotas (docs/quotas.md), run against SQLite and PostgreSQL
//! (`HARBOR_TEST_DATABASE_URL`): exact per-project accounting through links, uploads,
//! mounts, manifest pushes, retags and deletes, the limit, the recount and its repair,
//! the migration of existing data, and many concurrent pushes against a small limit.
//! After every step the stored usage must equal a from-scratch recount.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use harbor_core::identity::{NewUser, Page};
use harbor_core::model::{NewManifest, UploadId, UploadSession, now_ms};
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::quota::{QuotaQuery, QuotaSortKey, QuotaStore, UNLIMITED};
use harbor_core::{Digest, Error, Reference, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;
use sqlx::Executor;

harbor_storage::contract_tests!(
    shared_layers_mounts_retags_and_deletes,
    a_layer_in_two_projects_is_charged_to_each,
    the_limit_refuses_without_leaving_anything,
    uploads_refused_by_the_quota_release_their_session,
    default_limit_listing_and_limits,
    projects_created_later_adopt_their_repositories,
    recount_reports_and_repair_fixes_drift,
    migration_counts_existing_projects,
    concurrent_pushes_never_pass_the_limit,
    concurrent_pushes_and_deletes_keep_usage_exact,
    charges_and_releases_of_one_digest_do_not_race,
);

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn digest(s: &str) -> Digest {
    Digest::sha256(s.as_bytes())
}

fn image(content: &str, blobs: &[&Digest]) -> NewManifest {
    NewManifest {
        digest: digest(content),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: blobs.iter().map(|d| (*d).clone()).collect(),
        manifests: vec![],
        children_pending: false,
    }
}

fn len(m: &NewManifest) -> i64 {
    m.content.len() as i64
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

/// A project (owned by a new user) with the given limit; returns its id.
async fn project(m: &SqlMetadataStore, name: &str, hard: i64) -> i64 {
    let owner = user(m, &format!("{name}-owner")).await;
    let p = m.create_project(name, owner, false).await.unwrap();
    let q = m.project_quota(p.id).await.unwrap().unwrap();
    m.set_quota_limit(q.id, hard).await.unwrap();
    p.id
}

/// Asserts that the stored usage equals a from-scratch recount, and returns it.
async fn used(m: &SqlMetadataStore, project_id: i64) -> i64 {
    let r = m.recount_quota(project_id).await.unwrap();
    assert!(r.consistent(), "usage drifted from the recount: {r:?}");
    let q = m.project_quota(project_id).await.unwrap().unwrap();
    assert_eq!(q.used, r.recounted);
    q.used
}

async fn shared_layers_mounts_retags_and_deletes(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "team", UNLIMITED).await;
    let (app, other) = (repo("team/app"), repo("team/other"));
    let (layer, config, extra) = (digest("layer"), digest("config"), digest("extra"));
    assert_eq!(used(&m, p).await, 0);

    // Blobs are charged when linked, once.
    m.link_blob(&app, &layer, 1000).await.unwrap();
    m.link_blob(&app, &config, 10).await.unwrap();
    assert_eq!(used(&m, p).await, 1010);
    m.link_blob(&app, &layer, 1000).await.unwrap();
    assert_eq!(used(&m, p).await, 1010);

    // A manifest is charged its own bytes.
    let m1 = image("manifest one", &[&layer, &config]);
    m.put_manifest(&app, &m1, &[tag("v1")]).await.unwrap();
    assert_eq!(used(&m, p).await, 1010 + len(&m1));
    // Retags and re-pushes change nothing.
    m.put_manifest(&app, &m1, &[tag("v2"), tag("latest")])
        .await
        .unwrap();
    m.put_manifest(&app, &m1, &[]).await.unwrap();
    assert_eq!(used(&m, p).await, 1010 + len(&m1));

    // A mount into another repository of the project is free; new bytes there are not.
    m.link_blob(&other, &layer, 1000).await.unwrap();
    assert_eq!(used(&m, p).await, 1010 + len(&m1));
    m.link_blob(&other, &extra, 50).await.unwrap();
    let m2 = image("manifest two", &[&layer, &extra]);
    m.put_manifest(&other, &m2, &[tag("v1")]).await.unwrap();
    assert_eq!(used(&m, p).await, 1060 + len(&m1) + len(&m2));
    // The same manifest in a second repository is charged once.
    m.link_blob(&other, &config, 10).await.unwrap();
    m.put_manifest(&other, &m1, &[tag("copy")]).await.unwrap();
    assert_eq!(used(&m, p).await, 1060 + len(&m1) + len(&m2));

    // Deleting m1 from app: its bytes stay (other holds m1 too), config stays (other
    // links it), and app's links that only m1 used go.
    assert!(m.delete_manifest(&app, &m1.digest).await.unwrap());
    assert_eq!(used(&m, p).await, 1060 + len(&m1) + len(&m2));
    assert_eq!(m.repository_blob(&app, &layer).await.unwrap(), None);
    assert_eq!(m.repository_blob(&app, &config).await.unwrap(), None);
    assert!(!m.delete_manifest(&app, &m1.digest).await.unwrap());
    assert_eq!(used(&m, p).await, 1060 + len(&m1) + len(&m2));

    // Deleting m1 from other: layer and extra stay (m2), m1's bytes go, and config (linked
    // to other before m1 was pushed there, used by nothing else) goes.
    assert!(m.delete_manifest(&other, &m1.digest).await.unwrap());
    assert_eq!(used(&m, p).await, 1050 + len(&m2));
    assert_eq!(m.repository_blob(&other, &config).await.unwrap(), None);
    assert_eq!(m.repository_blob(&other, &layer).await.unwrap(), Some(1000));

    // A blob link alone (an upload no manifest uses yet) is charged, and unlinking it
    // releases it.
    m.link_blob(&app, &digest("orphan"), 7).await.unwrap();
    assert_eq!(used(&m, p).await, 1057 + len(&m2));
    assert!(m.unlink_blob(&app, &digest("orphan")).await.unwrap());
    assert_eq!(used(&m, p).await, 1050 + len(&m2));
    // Unlinking a blob a manifest still references keeps it charged.
    assert!(m.unlink_blob(&other, &extra).await.unwrap());
    assert_eq!(used(&m, p).await, 1050 + len(&m2));

    // Deleting a repository releases everything only it held.
    m.link_blob(&app, &layer, 1000).await.unwrap();
    assert!(m.delete_repository(&other).await.unwrap());
    assert_eq!(used(&m, p).await, 1000);
    assert!(m.delete_repository(&app).await.unwrap());
    assert_eq!(used(&m, p).await, 0);
}

async fn a_layer_in_two_projects_is_charged_to_each(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "alpha", UNLIMITED).await;
    let b = project(&m, "beta", UNLIMITED).await;
    let layer = digest("common layer");
    let man = image("common manifest", &[&layer]);
    for r in [repo("alpha/x"), repo("beta/y")] {
        m.link_blob(&r, &layer, 300).await.unwrap();
        m.put_manifest(&r, &man, &[tag("v1")]).await.unwrap();
    }
    assert_eq!(used(&m, a).await, 300 + len(&man));
    assert_eq!(used(&m, b).await, 300 + len(&man));
    // Deleting it from one project leaves the other's charge alone.
    assert!(
        m.delete_manifest(&repo("alpha/x"), &man.digest)
            .await
            .unwrap()
    );
    assert_eq!(used(&m, a).await, 0);
    assert_eq!(used(&m, b).await, 300 + len(&man));
    // A repository outside any project is not accounted anywhere.
    m.link_blob(&repo("nowhere/z"), &layer, 300).await.unwrap();
    assert_eq!(used(&m, a).await, 0);
    assert_eq!(used(&m, b).await, 300 + len(&man));
}

async fn the_limit_refuses_without_leaving_anything(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "small", 150).await;
    let app = repo("small/app");
    m.link_blob(&app, &digest("a"), 100).await.unwrap();
    let err = m.link_blob(&app, &digest("b"), 60).await.unwrap_err();
    match &err {
        Error::QuotaExceeded(msg) => assert_eq!(
            msg,
            "adding 60 B of storage resource, which when updated to current usage of 100 B \
             will exceed the configured upper limit of 150 B."
        ),
        other => panic!("expected QuotaExceeded, got {other:?}"),
    }
    assert_eq!(err.code().as_str(), "DENIED");
    assert_eq!(m.repository_blob(&app, &digest("b")).await.unwrap(), None);
    assert_eq!(used(&m, p).await, 100);

    // Exactly up to the limit is fine.
    m.link_blob(&app, &digest("c"), 40).await.unwrap();
    assert_eq!(used(&m, p).await, 140);
    // A manifest whose own bytes pass the limit is refused and not recorded.
    let man = image(
        "a manifest longer than ten bytes",
        &[&digest("a"), &digest("c")],
    );
    let err = m.put_manifest(&app, &man, &[tag("v1")]).await.unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded(_)), "{err:?}");
    assert!(
        m.manifest(&app, &Reference::Tag(tag("v1")))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(used(&m, p).await, 140);

    // Raising the limit lets it through; lowering it below the usage is accepted, and
    // then only frees make room.
    let q = m.project_quota(p).await.unwrap().unwrap();
    m.set_quota_limit(q.id, 1000).await.unwrap();
    m.put_manifest(&app, &man, &[tag("v1")]).await.unwrap();
    assert_eq!(used(&m, p).await, 140 + len(&man));
    let lowered = m.set_quota_limit(q.id, 1).await.unwrap();
    assert_eq!((lowered.hard, lowered.used), (1, 140 + len(&man)));
    assert!(matches!(
        m.link_blob(&app, &digest("d"), 1).await,
        Err(Error::QuotaExceeded(_))
    ));
    // Re-linking what is already charged still works (it adds nothing); made after the
    // push, that link survives the manifest's deletion.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    m.link_blob(&app, &digest("a"), 100).await.unwrap();
    assert!(m.delete_manifest(&app, &man.digest).await.unwrap());
    assert_eq!(used(&m, p).await, 100, "a was linked again after the push");
    m.set_quota_limit(q.id, 101).await.unwrap();
    m.link_blob(&app, &digest("d"), 1).await.unwrap();
    assert_eq!(used(&m, p).await, 101);
}

async fn uploads_refused_by_the_quota_release_their_session(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "up", 10).await;
    let app = repo("up/app");
    let session = |id: &UploadId| UploadSession {
        id: id.clone(),
        repository: app.clone(),
        offset: 0,
        hash_state: vec![],
        store_state: String::new(),
        created_at: now_ms(),
        updated_at: now_ms(),
    };
    let big = UploadId::generate();
    m.create_upload(&session(&big)).await.unwrap();
    let err = m
        .finish_upload(Some(&big), &app, &digest("big"), 11, 0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded(_)), "{err:?}");
    assert!(m.upload(&app, &big).await.unwrap().is_none());
    assert_eq!(m.repository_blob(&app, &digest("big")).await.unwrap(), None);
    assert_eq!(used(&m, p).await, 0);

    let fits = UploadId::generate();
    m.create_upload(&session(&fits)).await.unwrap();
    m.finish_upload(Some(&fits), &app, &digest("fits"), 10, 0)
        .await
        .unwrap();
    assert!(m.upload(&app, &fits).await.unwrap().is_none());
    assert_eq!(
        m.repository_blob(&app, &digest("fits")).await.unwrap(),
        Some(10)
    );
    assert_eq!(used(&m, p).await, 10);
}

async fn default_limit_listing_and_limits(t: &Target) {
    let m = t.open().await.with_default_storage_limit(1 << 30);
    let owner = user(&m, "owner").await;
    let a = m.create_project("aaa", owner, false).await.unwrap();
    let b = m.create_project("bbb", owner, true).await.unwrap();
    let qa = m.project_quota(a.id).await.unwrap().unwrap();
    assert_eq!((qa.hard, qa.used), (1 << 30, 0));
    assert_eq!(qa.project_name, "aaa");
    assert_eq!(qa.owner_name, "owner");
    assert_eq!(m.quota(qa.id).await.unwrap(), Some(qa.clone()));
    let qb = m.project_quota(b.id).await.unwrap().unwrap();
    m.set_quota_limit(qb.id, UNLIMITED).await.unwrap();
    m.link_blob(&repo("aaa/x"), &digest("x"), 5).await.unwrap();

    let page = Page {
        page: 1,
        page_size: 10,
    };
    let (all, total) = m.quotas(&QuotaQuery::default(), page).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        all.iter().map(|q| q.project_id).collect::<Vec<_>>(),
        [a.id, b.id]
    );
    // Unlimited sorts as the largest limit.
    let by_hard = QuotaQuery {
        sort: vec![(QuotaSortKey::Hard, true)],
        ..Default::default()
    };
    let (sorted, _) = m.quotas(&by_hard, page).await.unwrap();
    assert_eq!(sorted[0].project_id, b.id);
    let by_used = QuotaQuery {
        sort: vec![(QuotaSortKey::Used, true)],
        ..Default::default()
    };
    assert_eq!(m.quotas(&by_used, page).await.unwrap().0[0].used, 5);
    let one = QuotaQuery {
        project_id: Some(b.id),
        ..Default::default()
    };
    let (only, n) = m.quotas(&one, page).await.unwrap();
    assert_eq!((only.len(), n), (1, 1));
    assert_eq!(only[0].hard, UNLIMITED);

    assert!(matches!(
        m.set_quota_limit(9999, 1).await,
        Err(Error::NotFound(_))
    ));
    assert!(m.quota(9999).await.unwrap().is_none());
    assert!(matches!(
        m.recount_quota(9999).await,
        Err(Error::NotFound(_))
    ));

    // Deleting a project deletes its quota.
    m.delete_repository(&repo("aaa/x")).await.unwrap();
    m.delete_project(a.id).await.unwrap();
    assert!(m.quota(qa.id).await.unwrap().is_none());
}

async fn projects_created_later_adopt_their_repositories(t: &Target) {
    let m = t.open().await;
    let r = repo("late/app");
    let layer = digest("late layer");
    m.link_blob(&r, &layer, 70).await.unwrap();
    let man = image("late manifest", &[&layer]);
    m.put_manifest(&r, &man, &[tag("v1")]).await.unwrap();
    let p = project(&m, "late", UNLIMITED).await;
    assert_eq!(used(&m, p).await, 70 + len(&man));
    assert!(m.delete_manifest(&r, &man.digest).await.unwrap());
    assert_eq!(used(&m, p).await, 0);
}

async fn recount_reports_and_repair_fixes_drift(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "drift", UNLIMITED).await;
    let r = repo("drift/app");
    m.link_blob(&r, &digest("one"), 100).await.unwrap();
    m.link_blob(&r, &digest("two"), 20).await.unwrap();
    assert_eq!(used(&m, p).await, 120);
    let consistent = m.repair_quota(p).await.unwrap();
    assert!(consistent.consistent());

    // Break both the usage and the charged set behind the store's back.
    let pool = raw_pool(t).await;
    pool.execute(sqlx::AssertSqlSafe(format!(
        "UPDATE project_quotas SET used = 5 WHERE project_id = {p}"
    )))
    .await
    .unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!(
        "DELETE FROM project_blobs WHERE project_id = {p} AND size = 20"
    )))
    .await
    .unwrap();
    pool.close().await;
    let found = m.recount_quota(p).await.unwrap();
    assert_eq!(
        (
            found.stored,
            found.charged,
            found.recounted,
            found.drifted_digests
        ),
        (5, 100, 120, 1)
    );
    assert!(!found.consistent());
    // A recount changes nothing; a repair reports what it found and fixes it.
    assert_eq!(m.recount_quota(p).await.unwrap(), found);
    assert_eq!(m.repair_quota(p).await.unwrap(), found);
    assert_eq!(used(&m, p).await, 120);
    // And the accounting goes on exactly from there.
    assert!(m.unlink_blob(&r, &digest("two")).await.unwrap());
    assert_eq!(used(&m, p).await, 100);
}

async fn raw_pool(t: &Target) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = match t.url.strip_prefix("sqlite://") {
        Some(path) => format!("sqlite://{path}?mode=rwc"),
        None => t.url.clone(),
    };
    sqlx::AnyPool::connect(&url).await.unwrap()
}

async fn migration_counts_existing_projects(t: &Target) {
    t.migrate_to(6).await;
    let pool = raw_pool(t).await;
    let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let (l, c, u, m1, m2) = (d('1'), d('2'), d('3'), d('a'), d('b'));
    // Two projects; `old` holds a layer linked twice and referenced by two manifests, a
    // config, and a blob uploaded but unused (also linked outside any project); `empty`
    // holds nothing.
    for sql in [
        "INSERT INTO projects (id, name, owner_id, public, created_at, updated_at)
         VALUES (1, 'old', 1, 0, 1, 1), (2, 'empty', 1, 0, 1, 1)"
            .to_owned(),
        "INSERT INTO repositories (id, name, created_at, updated_at, project_id)
         VALUES (1, 'old/a', 1, 1, 1), (2, 'old/b', 1, 1, 1), (3, 'stray', 1, 1, NULL)"
            .to_owned(),
        format!(
            "INSERT INTO blobs (digest, size, created_at)
             VALUES ('{l}', 1000, 1), ('{c}', 10, 1), ('{u}', 3, 1)"
        ),
        format!(
            "INSERT INTO repository_blobs (repository_id, digest, created_at)
             VALUES (1, '{l}', 1), (2, '{l}', 1), (1, '{c}', 1), (2, '{u}', 1), (3, '{u}', 1)"
        ),
        format!(
            "INSERT INTO manifests (id, repository_id, digest, media_type, size, content, created_at)
             VALUES (1, 1, '{m1}', 'x', 7, 'abcdefg', 1), (2, 2, '{m2}', 'x', 5, 'abcde', 1)"
        ),
        format!(
            "INSERT INTO manifest_references (manifest_id, digest, kind)
             VALUES (1, '{l}', 0), (1, '{c}', 0), (2, '{l}', 0)"
        ),
    ] {
        pool.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    pool.close().await;
    let m = t.open().await;
    assert_eq!(used(&m, 1).await, 1000 + 10 + 3 + 7 + 5);
    assert_eq!(used(&m, 2).await, 0);
    assert_eq!(m.project_quota(1).await.unwrap().unwrap().hard, UNLIMITED);
    // The migrated set goes on like one built by pushes.
    let m1 = Digest::parse(&m1).unwrap();
    assert!(m.delete_manifest(&repo("old/a"), &m1).await.unwrap());
    assert_eq!(used(&m, 1).await, 1000 + 3 + 5);
    assert!(m.delete_repository(&repo("old/b")).await.unwrap());
    assert_eq!(used(&m, 1).await, 0);
}

/// Pushes (shared layer, own layer, manifest) from `tasks` concurrent tasks into a
/// project whose limit lets only some through; optionally deletes some pushed images
/// concurrently. Checks the invariants throughout and at the end.
async fn concurrent_run(t: &Target, name: &str, tasks: usize, delete_some: bool) {
    let m = Arc::new(t.open().await);
    const LAYER: i64 = 1000;
    let shared = digest(&format!("{name} shared layer"));
    // Room for the shared layer and about half of the images.
    let hard = LAYER + (tasks as i64 / 2) * (LAYER + 200);
    let p = project(&m, name, hard).await;

    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (m, done) = (m.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = 0;
            while !done.load(Ordering::Relaxed) {
                let q = m.project_quota(p).await.unwrap().unwrap();
                assert!(
                    q.used <= q.hard,
                    "usage {} above the limit {}",
                    q.used,
                    q.hard
                );
                seen += 1;
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            seen
        })
    };

    let mut handles = Vec::new();
    for i in 0..tasks {
        let (m, shared) = (m.clone(), shared.clone());
        let name = name.to_owned();
        handles.push(tokio::spawn(async move {
            let r = repo(&format!("{name}/app{}", i % 4));
            let own = digest(&format!("{name} own layer {i}"));
            let man = image(
                &format!("{name} manifest {i} {}", "x".repeat(100)),
                &[&shared, &own],
            );
            let refused = |e: &Error| matches!(e, Error::QuotaExceeded(_));
            for (d, size) in [(&shared, LAYER), (&own, LAYER)] {
                if let Err(e) = m.link_blob(&r, d, size as u64).await {
                    assert!(refused(&e), "link failed with {e:?}");
                    return (i, None);
                }
            }
            match m.put_manifest(&r, &man, &[tag(&format!("v{i}"))]).await {
                Ok(()) => {}
                Err(e) if refused(&e) => return (i, None),
                // Only with concurrent deletes: another task's delete may take back a
                // link this push relied on, and the push fails loudly (docs/quotas.md).
                Err(e @ Error::ManifestBlobUnknown(_)) if delete_some => {
                    let _ = e;
                    return (i, None);
                }
                Err(e) => panic!("push {i} failed with {e:?}"),
            }
            if delete_some && i % 3 == 0 {
                assert!(m.delete_manifest(&r, &man.digest).await.unwrap());
                return (i, None);
            }
            (i, Some((r, man)))
        }));
    }
    let mut pushed = Vec::new();
    for h in handles {
        let (_, ok) = h.await.unwrap();
        pushed.extend(ok);
    }
    done.store(true, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);

    assert!(!pushed.is_empty(), "no push went through");
    if !delete_some {
        assert!(pushed.len() < tasks, "the limit refused nothing");
    }
    let q = m.project_quota(p).await.unwrap().unwrap();
    assert!(
        q.used <= q.hard,
        "usage {} above the limit {}",
        q.used,
        q.hard
    );
    let total = used(&m, p).await;
    // Every successful push is complete and pullable.
    for (r, man) in &pushed {
        let got = m
            .manifest(r, &Reference::Digest(man.digest.clone()))
            .await
            .unwrap()
            .expect("a pushed manifest is there");
        assert_eq!(got.content, man.content);
        for b in &man.blobs {
            assert_eq!(
                m.repository_blob(r, b).await.unwrap(),
                Some(LAYER as u64),
                "{b} of {r} is pullable"
            );
        }
    }
    // No digest charged twice: the shared layer once, each image's own layer and bytes
    // at most once.
    let lower: i64 = LAYER + pushed.iter().map(|(_, man)| LAYER + len(man)).sum::<i64>();
    assert!(
        total >= lower,
        "usage {total} below what is pushed ({lower})"
    );
    assert!(
        total <= LAYER + tasks as i64 * (LAYER + 200),
        "usage {total} counts something twice"
    );
    // Deleting everything brings usage back to zero exactly.
    for i in 0..4 {
        m.delete_repository(&repo(&format!("{name}/app{i}")))
            .await
            .unwrap();
    }
    assert_eq!(used(&m, p).await, 0);
}

async fn concurrent_pushes_never_pass_the_limit(t: &Target) {
    concurrent_run(t, "race", 24, false).await;
}

async fn concurrent_pushes_and_deletes_keep_usage_exact(t: &Target) {
    concurrent_run(t, "churn", 24, true).await;
}

/// The same digest released by one transaction (a repository delete) while another links
/// it into a second repository of the project: whichever order the database picks, the
/// digest ends up charged exactly when it is still referenced.
async fn charges_and_releases_of_one_digest_do_not_race(t: &Target) {
    let m = Arc::new(t.open().await);
    let p = project(&m, "duel", UNLIMITED).await;
    for round in 0..40 {
        let x = digest(&format!("contested {round}"));
        let (a, b) = (repo("duel/a"), repo(&format!("duel/b{round}")));
        m.link_blob(&a, &x, 500).await.unwrap();
        m.put_manifest(&a, &image(&format!("holder {round}"), &[&x]), &[tag("v")])
            .await
            .unwrap();
        let deleting = {
            let (m, a) = (m.clone(), a.clone());
            tokio::spawn(async move { m.delete_repository(&a).await.unwrap() })
        };
        let linking = {
            let (m, x) = (m.clone(), x.clone());
            tokio::spawn(async move { m.link_blob(&b, &x, 500).await.unwrap() })
        };
        assert!(deleting.await.unwrap());
        linking.await.unwrap();
        let total = used(&m, p).await;
        assert_eq!(total, 500 * (round + 1), "round {round}");
    }
}
