//! Copying metadata between databases (the SQLite → PostgreSQL migration path): the
//! registry tables and the identity tables (users, projects, members, robots, sessions,
//! the audit log and the signing key).
//!
//! PostgreSQL comes from `HARBOR_TEST_DATABASE_URL` (see `harbor_storage::testing`).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::events::{DomainEvent, EventStore, NewEvent, StartAt, StoredEvent};
use harbor_core::groups::{GroupQuery, GroupType, NewUserGroup, UserGroup};
use harbor_core::identity::{
    AuditEntry, AuditQuery, Member, NewAuditEntry, NewRobot, NewUser, Page, Project, ProjectQuery,
    Robot, RobotAccess, RobotPermission, RobotQuery, Session, User, UserQuery,
};
use harbor_core::model::{NewManifest, UploadId, UploadSession, now_ms};
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::quota::{Quota, QuotaQuery, QuotaStore};
use harbor_core::rbac::Role;
use harbor_core::scan::ScanStore;
use harbor_core::{Digest, Reference, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::sql::PoolConfig;
use harbor_storage::testing::TestDatabase;

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn manifest(content: &str, blobs: &[&Digest], subject: Option<&Digest>) -> NewManifest {
    NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: Some("application/vnd.example".into()),
        subject: subject.cloned(),
        annotations: BTreeMap::from([("k".to_string(), content.to_string())]),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: blobs.iter().map(|d| (*d).clone()).collect(),
        manifests: vec![],
        children_pending: false,
    }
}

async fn open(url: &str) -> SqlMetadataStore {
    SqlMetadataStore::connect(url, &PoolConfig::default())
        .await
        .unwrap()
}

/// Fills a store with a little of everything.
async fn populate(m: &SqlMetadataStore) -> (Vec<Digest>, UploadId) {
    let mut digests = Vec::new();
    for r in 0..5 {
        let r = repo(&format!("team/app{r}"));
        let layer = Digest::sha256(format!("layer-{r}").as_bytes());
        m.link_blob(&r, &layer, 10).await.unwrap();
        let base = manifest(&format!("base-{r}"), &[&layer], None);
        m.put_manifest(
            &r,
            &base,
            &[Tag::parse("v1").unwrap(), Tag::parse("latest").unwrap()],
        )
        .await
        .unwrap();
        let sig = manifest(&format!("sig-{r}"), &[&layer], Some(&base.digest));
        m.put_manifest(&r, &sig, &[]).await.unwrap();
        digests.push(base.digest);
    }
    let id = UploadId::generate();
    let now = now_ms();
    m.create_upload(&UploadSession {
        id: id.clone(),
        repository: repo("team/app0"),
        offset: 0,
        hash_state: vec![1, 2, 3],
        store_state: "{}".into(),
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    (digests, id)
}

async fn check(m: &SqlMetadataStore, digests: &[Digest], upload: &UploadId) {
    let repos = m.repositories(None, 100).await.unwrap();
    assert_eq!(repos.len(), 5);
    for (i, d) in digests.iter().enumerate() {
        let r = repo(&format!("team/app{i}"));
        let got = m
            .manifest(&r, &Reference::Tag(Tag::parse("latest").unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&got.digest, d);
        assert_eq!(got.content, format!("base-{r}").as_bytes());
        assert_eq!(
            m.tags(&r, None, 10).await.unwrap().unwrap(),
            ["latest", "v1"]
        );
        let refs = m.referrers(&r, d, None).await.unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].annotations["k"], format!("sig-{r}"));
        let layer = Digest::sha256(format!("layer-{r}").as_bytes());
        assert_eq!(m.repository_blob(&r, &layer).await.unwrap(), Some(10));
    }
    let u = m.upload(&repo("team/app0"), upload).await.unwrap().unwrap();
    assert_eq!(u.hash_state, [1, 2, 3]);
    // New rows get fresh ids after the copy.
    let r = repo("after/copy");
    let l = Digest::sha256(b"after");
    m.link_blob(&r, &l, 5).await.unwrap();
    m.put_manifest(
        &r,
        &manifest("after", &[&l], None),
        &[Tag::parse("t").unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(m.tags(&r, None, 10).await.unwrap().unwrap(), ["t"]);
}

/// Every table of the copy, in copy order.
const COPY_ORDER: [&str; 38] = [
    "repositories",
    "blobs",
    "repository_blobs",
    "manifests",
    "manifest_references",
    "tags",
    "upload_sessions",
    "users",
    "registries",
    "projects",
    "user_groups",
    "user_group_members",
    "project_members",
    "robots",
    "sessions",
    "audit_log",
    "signing_keys",
    "system_settings",
    "labels",
    "artifact_labels",
    "immutable_rules",
    "project_quotas",
    "project_blobs",
    "job_schedules",
    "retention_policies",
    "replication_policies",
    "scanner_registrations",
    "project_scanners",
    "events",
    "event_cursors",
    "scan_reports",
    "scan_findings",
    "scan_finding_counts",
    "cve_allowlists",
    "webhook_policies",
    "webhook_deliveries",
    "signature_keys",
    "oidc_users",
];

fn all() -> Page {
    Page {
        page: 1,
        page_size: 10_000,
    }
}

fn new_user(name: &str, email: Option<&str>, sysadmin: bool) -> NewUser {
    NewUser {
        username: name.into(),
        email: email.map(str::to_owned),
        realname: format!("{name} real"),
        comment: format!("{name} comment"),
        password_hash: format!("$argon2id$hash-of-{name}"),
        sysadmin,
    }
}

fn new_robot(name: &str, project_id: i64) -> NewRobot {
    NewRobot {
        name: name.into(),
        description: format!("{name} description"),
        project_id,
        secret_hash: format!("$argon2id$secret-of-{name}"),
        disabled: false,
        duration_days: 30,
        expires_ms: Some(1_700_000_000_000),
        permissions: vec![RobotPermission {
            kind: "project".into(),
            namespace: "library".into(),
            access: vec![
                RobotAccess {
                    resource: "repository".into(),
                    action: "pull".into(),
                    effect: String::new(),
                },
                RobotAccess {
                    resource: "repository".into(),
                    action: "push".into(),
                    effect: "allow".into(),
                },
            ],
        }],
        creator: "admin".into(),
        creator_type: "local".into(),
        creator_ref: 1,
    }
}

fn audit(
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource: &str,
) -> NewAuditEntry {
    NewAuditEntry {
        project_id,
        username: username.into(),
        operation: operation.into(),
        resource_type: "artifact".into(),
        resource: resource.into(),
        op_time_ms: 1_700_000_000_000,
    }
}

/// The session cookies' hashes `populate_identity` stores.
const SESSIONS: [&str; 2] = ["alice-session", "bob-session"];

/// Everything the identity port shows of a store.
#[derive(Debug, PartialEq)]
struct Identity {
    users: Vec<User>,
    projects: Vec<Project>,
    members: Vec<Member>,
    robots: Vec<Robot>,
    sessions: Vec<Option<Session>>,
    audit: Vec<AuditEntry>,
    key: Vec<u8>,
    settings: Vec<(String, String)>,
    groups: Vec<UserGroup>,
    user_groups: Vec<Vec<UserGroup>>,
}

async fn identity(s: &SqlMetadataStore) -> Identity {
    let (users, n) = s.users(&UserQuery::default(), all()).await.unwrap();
    assert_eq!(n as usize, users.len());
    let (projects, n) = s.projects(&ProjectQuery::default(), all()).await.unwrap();
    assert_eq!(n as usize, projects.len());
    let mut members = Vec::new();
    for p in &projects {
        members.extend(s.members(p.id, None, all()).await.unwrap().0);
    }
    let (robots, n) = s.robots(&RobotQuery::default(), all()).await.unwrap();
    assert_eq!(n as usize, robots.len());
    let mut sessions = Vec::new();
    for id in SESSIONS {
        sessions.push(s.session(id, now_ms()).await.unwrap());
    }
    let (audit, n) = s.audit_log(&AuditQuery::default(), all()).await.unwrap();
    assert_eq!(n as usize, audit.len());
    // Offering another key returns the stored one, if there is one.
    let mut user_groups = Vec::new();
    for u in &users {
        user_groups.push(s.user_groups(u.id).await.unwrap());
    }
    let key = s
        .signing_key(b"a key the store must not take")
        .await
        .unwrap();
    Identity {
        users,
        projects,
        members,
        robots,
        sessions,
        audit,
        key,
        settings: s.settings().await.unwrap(),
        groups: s.groups(&GroupQuery::default(), all()).await.unwrap().0,
        user_groups,
    }
}

/// The largest ids handed out so far, deleted records included.
#[derive(Clone, Copy, Debug)]
struct Issued {
    user: i64,
    project: i64,
    member: i64,
    robot: i64,
    audit: i64,
}

/// Fills the identity tables through the port, leaving deleted records behind the largest
/// ids: a deleted owner (whose project stays), a deleted project and a deleted robot.
async fn populate_identity(s: &SqlMetadataStore) -> Issued {
    s.put_settings(&[("read_only".into(), "true".into())])
        .await
        .unwrap();
    let admin = s
        .create_user(&new_user("admin", Some("admin@example.com"), true))
        .await
        .unwrap();
    let alice = s
        .create_user(&new_user("alice", None, false))
        .await
        .unwrap();
    let bob = s
        .create_user(&new_user("bob", Some("bob@example.com"), false))
        .await
        .unwrap();
    let gone = s.create_user(&new_user("gone", None, false)).await.unwrap();

    let library = s.create_project("library", alice.id, true).await.unwrap();
    s.add_member(library.id, bob.id, Role::Developer)
        .await
        .unwrap();
    s.add_member(library.id, admin.id, Role::Guest)
        .await
        .unwrap();
    // 0026_user_groups.sql: a group, bob in it, and its membership of library.
    let devs = s
        .create_group_emitting(
            &NewUserGroup::new("devs", GroupType::Ldap, "cn=devs,dc=example,dc=com").unwrap(),
            &[],
        )
        .await
        .unwrap();
    s.set_user_groups_emitting(bob.id, &[devs.id], &[])
        .await
        .unwrap();
    s.add_group_member_emitting(library.id, devs.id, Role::Maintainer, &[])
        .await
        .unwrap();
    let orphan = s.create_project("orphan", gone.id, false).await.unwrap();
    let temp = s.create_project("temp", bob.id, false).await.unwrap();
    let temp_member = s.members(temp.id, None, all()).await.unwrap().0[0].id;

    let ci = s
        .create_robot(&new_robot("library+ci", library.id))
        .await
        .unwrap();
    s.create_robot(&NewRobot {
        disabled: true,
        duration_days: -1,
        expires_ms: None,
        permissions: vec![],
        ..new_robot("sys", 0)
    })
    .await
    .unwrap();
    let doomed = s.create_robot(&new_robot("doomed", 0)).await.unwrap();

    for (id, user) in SESSIONS.iter().zip([&alice, &bob]) {
        s.create_session(&Session {
            id_hash: (*id).into(),
            user_id: user.id,
            csrf_token: format!("csrf-{id}"),
            expires_ms: now_ms() + 3_600_000,
        })
        .await
        .unwrap();
    }
    s.record_audit(&[
        audit(Some(library.id), "alice", "push", "library/app:v1"),
        audit(
            Some(library.id),
            "robot$library+ci",
            "pull",
            "library/app:v1",
        ),
        audit(None, "admin", "create", "bob"),
    ])
    .await
    .unwrap();
    let key = s.signing_key(b"the signing key").await.unwrap();
    assert_eq!(key, b"the signing key");

    // Deleted records must not pass their ids on after a copy.
    s.delete_user(gone.id).await.unwrap();
    s.delete_project(temp.id).await.unwrap();
    s.delete_robot(doomed.id).await.unwrap();
    let orphan = s.project(orphan.id).await.unwrap().unwrap();
    assert_eq!(orphan.owner_name, "");
    assert_eq!(
        s.robot(ci.id).await.unwrap().unwrap().project_id,
        library.id
    );

    let (entries, _) = s.audit_log(&AuditQuery::default(), all()).await.unwrap();
    Issued {
        user: gone.id,
        project: temp.id,
        member: temp_member,
        robot: doomed.id,
        audit: entries.iter().map(|e| e.id).max().unwrap(),
    }
}

/// Asserts that `s` shows exactly `expected`, then that new records get ids past every id
/// issued before; returns the ids now issued.
async fn check_identity(
    s: &SqlMetadataStore,
    expected: &Identity,
    before: Issued,
    tag: &str,
) -> Issued {
    let got = identity(s).await;
    assert_eq!(got.users, expected.users);
    assert_eq!(got.projects, expected.projects);
    assert_eq!(got.members, expected.members);
    assert_eq!(got.robots, expected.robots);
    assert_eq!(got.sessions, expected.sessions);
    assert!(got.sessions.iter().all(Option::is_some));
    assert_eq!(got.audit, expected.audit);
    assert_eq!(got.key, expected.key);
    assert_eq!(got, *expected);

    // Lookups by id and name agree with the listings.
    for u in &expected.users {
        assert_eq!(s.user(u.id).await.unwrap().as_ref(), Some(u));
        assert_eq!(s.user_by_name(&u.username).await.unwrap().as_ref(), Some(u));
    }
    for r in &expected.robots {
        assert_eq!(s.robot_by_name(&r.name).await.unwrap().as_ref(), Some(r));
    }
    let orphan = s.project_by_name("orphan").await.unwrap().unwrap();
    assert_eq!(orphan.owner_name, "");
    let library = s.project_by_name("library").await.unwrap().unwrap();
    let alice = s.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(
        s.roles(library.id, alice.id).await.unwrap(),
        [Role::ProjectAdmin]
    );

    // New records after the copy: no id collides, and no id of a deleted record returns.
    let user = s
        .create_user(&new_user(
            &format!("new-{tag}"),
            Some(&format!("{tag}@example.com")),
            false,
        ))
        .await
        .unwrap();
    assert!(user.id > before.user, "user id {} reused", user.id);
    let project = s
        .create_project(&format!("new-{tag}"), user.id, false)
        .await
        .unwrap();
    assert!(
        project.id > before.project,
        "project id {} reused",
        project.id
    );
    let (members, _) = s.members(project.id, None, all()).await.unwrap();
    assert_eq!(members.len(), 1);
    assert!(
        members[0].id > before.member,
        "member id {} reused",
        members[0].id
    );
    let extra = s
        .add_member(library.id, user.id, Role::Maintainer)
        .await
        .unwrap();
    assert!(extra.id > members[0].id);
    let robot = s
        .create_robot(&new_robot(&format!("new-{tag}+ci"), project.id))
        .await
        .unwrap();
    assert!(robot.id > before.robot, "robot id {} reused", robot.id);
    s.record_audit(&[audit(Some(project.id), "admin", "create", tag)])
        .await
        .unwrap();
    let (entries, total) = s.audit_log(&AuditQuery::default(), all()).await.unwrap();
    assert_eq!(total as usize, expected.audit.len() + 1);
    let newest = entries.iter().map(|e| e.id).max().unwrap();
    assert!(newest > before.audit);
    // The orphaned project did not pass to the new user.
    assert_eq!(
        s.project_by_name("orphan")
            .await
            .unwrap()
            .unwrap()
            .owner_name,
        ""
    );
    Issued {
        user: user.id,
        project: project.id,
        member: extra.id,
        robot: robot.id,
        audit: newest,
    }
}

/// One undelivered event and a subscriber's cursor before it.
async fn populate_events(s: &SqlMetadataStore) -> StoredEvent {
    let e = NewEvent {
        actor: "alice".into(),
        occurred_ms: 1_000,
        event: DomainEvent::RepositoryDeleted {
            repository: "team/app".into(),
        },
    };
    s.append_events(&[e]).await.unwrap();
    let lease = harbor_core::model::Lease {
        token: "t".into(),
        now: 1,
        until: 2,
    };
    s.claim_cursor("audit-log", StartAt::Beginning, &lease)
        .await
        .unwrap();
    s.events_after(0, 10).await.unwrap().remove(0)
}

fn rows(report: &harbor_storage::sql::CopyReport, table: &str) -> u64 {
    report.tables.iter().find(|t| t.0 == table).unwrap().1
}

#[tokio::test]
async fn copies_sqlite_into_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let (digests, upload) = populate(&source).await;
    let issued = populate_identity(&source).await;
    let endpoint = populate_endpoints(&source).await;
    let scanners = populate_scanners(&source).await;
    let oidc = populate_oidc_users(&source).await;
    let expected = identity(&source).await;
    let labelled = populate_labels(&source).await;
    let quotas = populate_quotas(&source).await;
    let event = populate_events(&source).await;
    let scan = populate_scan_report(&source).await;
    let allowlists = populate_allowlists(&source).await;
    let keys = populate_signature_keys(&source).await;

    let sqlite_target = open(&format!("sqlite://{}", dir.path().join("b.db").display())).await;
    let report = source.copy_into(&sqlite_target).await.unwrap();
    assert_eq!(rows(&report, "events"), 1);
    assert_eq!(rows(&report, "event_cursors"), 1);
    assert_eq!(
        sqlite_target.events_after(0, 10).await.unwrap(),
        vec![event]
    );
    assert_eq!(
        report.tables.iter().map(|t| t.0).collect::<Vec<_>>(),
        COPY_ORDER
    );
    assert_eq!(report.tables[0], ("repositories", 6)); // 5 + library/quota (quotas)
    assert_eq!(rows(&report, "manifests"), 10);
    assert_eq!(rows(&report, "users"), 4); // 3 + oidc-user
    assert_eq!(rows(&report, "projects"), 3); // library, team, hub (a proxy cache)
    assert_eq!(rows(&report, "project_members"), 5); // 4 users' and a group's
    assert_eq!(rows(&report, "user_groups"), 1);
    assert_eq!(rows(&report, "user_group_members"), 1);
    assert_eq!(rows(&report, "robots"), 2);
    assert_eq!(rows(&report, "sessions"), 2);
    assert_eq!(rows(&report, "audit_log"), 3);
    assert_eq!(rows(&report, "signing_keys"), 1);
    assert_eq!(rows(&report, "system_settings"), 1);
    assert_eq!(rows(&report, "labels"), 2);
    assert_eq!(rows(&report, "artifact_labels"), 2);
    assert_eq!(rows(&report, "immutable_rules"), 1);
    assert_eq!(rows(&report, "project_quotas"), 3);
    assert_eq!(rows(&report, "project_blobs"), 1);
    assert_eq!(rows(&report, "registries"), 1);
    assert_eq!(rows(&report, "scan_reports"), 1);
    assert_eq!(rows(&report, "scan_findings"), 2);
    assert_eq!(rows(&report, "scan_finding_counts"), 1);
    assert_eq!(
        sqlite_target.scan_report(&scan.id).await.unwrap(),
        Some(scan.clone())
    );
    assert_eq!(rows(&report, "scanner_registrations"), 2);
    assert_eq!(rows(&report, "project_scanners"), 1);
    assert_eq!(rows(&report, "cve_allowlists"), 2);
    check_allowlists(&sqlite_target, &allowlists).await;
    assert_eq!(rows(&report, "signature_keys"), 2);
    check_signature_keys(&sqlite_target, &keys).await;
    assert_eq!(rows(&report, "oidc_users"), 1);
    check_oidc_users(&sqlite_target, &oidc).await;
    check_endpoints(&sqlite_target, &endpoint).await;
    check_scanners(&sqlite_target, &scanners).await;
    check_quotas(&sqlite_target, &quotas).await;
    check_labels(&sqlite_target, &labelled).await;
    check(&sqlite_target, &digests, &upload).await;
    check_identity(&sqlite_target, &expected, issued, "sqlite").await;
    // A second copy into a non-empty target is refused.
    assert!(source.copy_into(&sqlite_target).await.is_err());

    if let Some(db) = TestDatabase::create().await {
        let pg = open(&db.url).await;
        let report = source.copy_into(&pg).await.unwrap();
        assert_eq!(
            report.tables.iter().map(|t| t.0).collect::<Vec<_>>(),
            COPY_ORDER
        );
        assert_eq!(rows(&report, "users"), 4); // 3 + oidc-user
        assert_eq!(rows(&report, "audit_log"), 3);
        check_labels(&pg, &labelled).await;
        check_endpoints(&pg, &endpoint).await;
        assert_eq!(pg.scan_report(&scan.id).await.unwrap(), Some(scan.clone()));
        check_allowlists(&pg, &allowlists).await;
        check_signature_keys(&pg, &keys).await;
        check_oidc_users(&pg, &oidc).await;
        check_scanners(&pg, &scanners).await;
        check_quotas(&pg, &quotas).await;
        check(&pg, &digests, &upload).await;
        let issued = check_identity(&pg, &expected, issued, "pg").await;
        assert!(source.copy_into(&pg).await.is_err());

        // And back again, PostgreSQL → SQLite, after deleting the newest user, project
        // and robot on PostgreSQL: their ids stay used on SQLite too.
        let newest_project = pg.project(issued.project).await.unwrap().unwrap();
        pg.delete_project(newest_project.id).await.unwrap();
        pg.delete_user(issued.user).await.unwrap();
        let expected = identity(&pg).await;
        assert!(expected.users.iter().all(|u| u.id < issued.user));
        let back = open(&format!("sqlite://{}", dir.path().join("c.db").display())).await;
        let report = pg.copy_into(&back).await.unwrap();
        assert_eq!(rows(&report, "users"), 4); // 3 + oidc-user
        assert_eq!(back.repositories(None, 100).await.unwrap().len(), 6);
        check_identity(&back, &expected, issued, "back").await;
    }
}

/// Storage quotas (0007_quotas.sql): a limit and a charged blob in `library`.
async fn populate_quotas(s: &SqlMetadataStore) -> Vec<Quota> {
    let library = s.project_by_name("library").await.unwrap().unwrap();
    let q = s.project_quota(library.id).await.unwrap().unwrap();
    s.set_quota_limit(q.id, 1 << 20).await.unwrap();
    s.link_blob(&repo("library/quota"), &Digest::sha256(b"charged"), 7)
        .await
        .unwrap();
    let (quotas, _) = s.quotas(&QuotaQuery::default(), all()).await.unwrap();
    assert_eq!(quotas.len(), 3); // library, team, hub (populate_endpoints)
    quotas
}

async fn check_quotas(s: &SqlMetadataStore, expected: &[Quota]) {
    let (got, _) = s.quotas(&QuotaQuery::default(), all()).await.unwrap();
    assert_eq!(got, expected);
    let library = got.iter().find(|q| q.project_name == "library").unwrap();
    assert_eq!((library.hard, library.used), (1 << 20, 7));
    for q in &got {
        assert!(s.recount_quota(q.project_id).await.unwrap().consistent());
    }
}

/// A target that holds anything, identity records included, is refused untouched.
#[tokio::test]
async fn refuses_a_target_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    populate(&source).await;
    populate_identity(&source).await;

    let with_user = open(&format!("sqlite://{}", dir.path().join("b.db").display())).await;
    let admin = with_user
        .create_user(&new_user("admin", None, true))
        .await
        .unwrap();
    let err = source.copy_into(&with_user).await.unwrap_err();
    assert!(err.to_string().contains("users"), "{err}");
    assert_eq!(
        with_user
            .users(&UserQuery::default(), all())
            .await
            .unwrap()
            .0,
        [admin]
    );
    assert!(with_user.repositories(None, 10).await.unwrap().is_empty());

    let with_key = open(&format!("sqlite://{}", dir.path().join("c.db").display())).await;
    with_key.signing_key(b"another key").await.unwrap();
    let err = source.copy_into(&with_key).await.unwrap_err();
    assert!(err.to_string().contains("signing_keys"), "{err}");
    assert_eq!(with_key.signing_key(b"x").await.unwrap(), b"another key");
    assert_eq!(with_key.user_count().await.unwrap(), 0);
}

/// Tables longer than a page are copied whole: the audit log (paged by id) and tags (paged
/// by repository and name, with a page boundary inside a repository).
#[tokio::test]
async fn copies_tables_longer_than_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let mut tagged = Vec::new();
    for r in 0..2 {
        let r = repo(&format!("bulk/r{r}"));
        let layer = Digest::sha256(b"bulk layer");
        source.link_blob(&r, &layer, 10).await.unwrap();
        let tags = (0..700)
            .map(|i| Tag::parse(&format!("t{i:04}")).unwrap())
            .collect::<Vec<_>>();
        source
            .put_manifest(&r, &manifest(&format!("bulk-{r}"), &[&layer], None), &tags)
            .await
            .unwrap();
        tagged.push(r);
    }
    let entries = (0..2500)
        .map(|i| audit(None, "puller", "pull", &format!("bulk/r0:t{i:04}")))
        .collect::<Vec<_>>();
    source.record_audit(&entries).await.unwrap();
    let expected = source
        .audit_log(&AuditQuery::default(), all())
        .await
        .unwrap();
    assert_eq!(expected.1, 2500);

    let mut targets = vec![open(&format!("sqlite://{}", dir.path().join("b.db").display())).await];
    let db = TestDatabase::create().await;
    if let Some(db) = &db {
        targets.push(open(&db.url).await);
    }
    for target in &targets {
        let report = source.copy_into(target).await.unwrap();
        assert_eq!(rows(&report, "tags"), 1400);
        assert_eq!(rows(&report, "audit_log"), 2500);
        for r in &tagged {
            let tags = target.tags(r, None, 10_000).await.unwrap().unwrap();
            assert_eq!(tags.len(), 700);
            assert_eq!(tags[0], "t0000");
            assert_eq!(tags[699], "t0699");
        }
        assert_eq!(
            target
                .audit_log(&AuditQuery::default(), all())
                .await
                .unwrap(),
            expected
        );
    }
}

/// Repository records (`0003_repositories.sql`) arrive whole: project, description, pull
/// count and times; a repository without a project keeps none.
#[tokio::test]
async fn copies_repository_records() {
    use harbor_core::model::{RepositoryQuery, RepositorySortKey};
    let dir = tempfile::tempdir().unwrap();
    let source = open(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let owner = source
        .create_user(&new_user("owner", None, false))
        .await
        .unwrap();
    source.create_project("team", owner.id, true).await.unwrap();
    populate(&source).await;
    source
        .set_repository_description(&repo("team/app1"), "first app")
        .await
        .unwrap();
    source
        .add_pulls(&[(repo("team/app1"), 4), (repo("team/app3"), 1)])
        .await
        .unwrap();
    let orphan = repo("nobody/app");
    let layer = Digest::sha256(b"orphan layer");
    source.link_blob(&orphan, &layer, 3).await.unwrap();
    source
        .put_manifest(&orphan, &manifest("orphan", &[&layer], None), &[])
        .await
        .unwrap();
    let query = RepositoryQuery {
        sort: vec![(RepositorySortKey::Name, false)],
        ..RepositoryQuery::default()
    };
    let expected = source.repository_records(&query, all()).await.unwrap();
    assert_eq!(expected.1, 5);
    assert_eq!(expected.0[1].description, "first app");
    assert_eq!(expected.0[1].pull_count, 4);

    let mut targets = vec![open(&format!("sqlite://{}", dir.path().join("b.db").display())).await];
    let db = TestDatabase::create().await;
    if let Some(db) = &db {
        targets.push(open(&db.url).await);
    }
    for target in &targets {
        source.copy_into(target).await.unwrap();
        assert_eq!(
            target.repository_records(&query, all()).await.unwrap(),
            expected
        );
        assert!(target.repository_record(&orphan).await.unwrap().is_none());
        // The project-less repository joins a project of its name created later.
        let p = target
            .create_project("nobody", owner.id, false)
            .await
            .unwrap();
        let adopted = target.repository_record(&orphan).await.unwrap().unwrap();
        assert_eq!(adopted.project_id, p.id);
    }
}

#[tokio::test]
async fn copies_tag_ids_and_pull_times() {
    use harbor_core::artifact::RepositoryPulls;
    let dir = tempfile::tempdir().unwrap();
    let source = open(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let digests = populate(&source).await.0;
    let r = repo("team/app2");
    // A pull after the push (pull times are never earlier than their push).
    let at = harbor_core::model::now_ms() + 7_000;
    source
        .record_pulls(&[RepositoryPulls {
            repository: r.clone(),
            count: 1,
            manifests: vec![(digests[2].clone(), at)],
            tags: vec![(Tag::parse("v1").unwrap(), at)],
        }])
        .await
        .unwrap();
    let base = Reference::Digest(digests[2].clone());
    let before = source.artifact(&r, &base).await.unwrap().unwrap();
    let tags_before = source.artifact_tags(&[before.id]).await.unwrap();
    assert_eq!(before.pulled_ms, Some(at));

    let mut targets = vec![open(&format!("sqlite://{}", dir.path().join("b.db").display())).await];
    let db = TestDatabase::create().await;
    if let Some(db) = &db {
        targets.push(open(&db.url).await);
    }
    for target in &targets {
        source.copy_into(target).await.unwrap();
        let after = target.artifact(&r, &base).await.unwrap().unwrap();
        assert_eq!((after.id, after.pulled_ms), (before.id, Some(at)));
        assert_eq!(
            target.artifact_tags(&[after.id]).await.unwrap(),
            tags_before
        );
        // A tag created after the copy gets an id of its own.
        target
            .create_tag(&r, after.id, &Tag::parse("later").unwrap())
            .await
            .unwrap();
        let ids: Vec<i64> = target
            .artifact_tags(&[after.id])
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((ids.len(), unique.len()), (3, 3));
    }
}

/// Labels (global and project), their links and an immutability rule, for the copy.
/// One registry endpoint with a (sealed) secret.
async fn populate_endpoints(m: &SqlMetadataStore) -> harbor_core::endpoints::Endpoint {
    use harbor_core::endpoints::*;
    let e = m
        .create_endpoint_emitting(
            &EndpointSettings {
                name: "remote".into(),
                description: "d".into(),
                kind: EndpointKind::Harbor,
                url: "https://remote.example.com".into(),
                credential: Some(SealedCredential {
                    kind: CredentialKind::Basic,
                    access_key: "u".into(),
                    sealed_secret: vec![0, 1, 2, 255],
                }),
                insecure: true,
                ca_certificate: None,
            },
            &[],
        )
        .await
        .unwrap();
    m.set_endpoint_status(e.id, EndpointStatus::Healthy, now_ms())
        .await
        .unwrap();
    // A proxy-cache project of it (compared with the other projects).
    let owner = m.user_by_name("admin").await.unwrap().unwrap();
    let project = harbor_core::identity::NewProject {
        name: "hub".into(),
        owner_id: owner.id,
        registry_id: Some(e.id),
        ..Default::default()
    };
    let created = m.create_project_emitting(&project, &[]).await.unwrap();
    assert_eq!(created.registry_id, Some(e.id));
    m.endpoint(e.id).await.unwrap().unwrap()
}

async fn check_endpoints(m: &SqlMetadataStore, expected: &harbor_core::endpoints::Endpoint) {
    use harbor_core::endpoints::EndpointStore;
    assert_eq!(
        m.endpoint(expected.id).await.unwrap().as_ref(),
        Some(expected)
    );
}

/// Scanner registrations (0019): the default and another, chosen by `library`.
async fn populate_scanners(
    m: &SqlMetadataStore,
) -> (
    Vec<harbor_core::scan::registrations::ScannerRegistration>,
    i64,
) {
    use harbor_core::scan::registrations::*;
    let settings = |name: &str, auth: AdapterAuth, credential: &[u8]| RegistrationSettings {
        name: name.into(),
        description: format!("{name} adapter"),
        url: format!("http://{name}.example.com:8080"),
        disabled: false,
        auth,
        sealed_credential: credential.to_vec(),
        skip_cert_verify: true,
        use_internal_addr: true,
    };
    m.create_registration("u-1", &settings("trivy", AdapterAuth::None, &[]), &[])
        .await
        .unwrap();
    m.create_registration(
        "u-2",
        &settings("clair", AdapterAuth::ApiKey, &[0, 1, 2, 255]),
        &[],
    )
    .await
    .unwrap();
    let library = m.project_by_name("library").await.unwrap().unwrap();
    m.set_project_registration(library.id, "u-2", &[])
        .await
        .unwrap();
    (m.registrations().await.unwrap(), library.id)
}

async fn check_scanners(
    m: &SqlMetadataStore,
    expected: &(
        Vec<harbor_core::scan::registrations::ScannerRegistration>,
        i64,
    ),
) {
    use harbor_core::scan::registrations::ScannerStore;
    let got = m.registrations().await.unwrap();
    assert_eq!(got, expected.0);
    let default: Vec<&str> = got
        .iter()
        .filter(|r| r.is_default)
        .map(|r| r.settings.name.as_str())
        .collect();
    assert_eq!(default, ["trivy"]);
    assert_eq!(
        m.project_registration(expected.1).await.unwrap().as_deref(),
        Some("u-2")
    );
}

async fn populate_labels(
    s: &SqlMetadataStore,
) -> (
    Vec<harbor_core::labels::Label>,
    Vec<harbor_core::immutable::ImmutableRule>,
) {
    use harbor_core::immutable::{ImmutableRuleStore, RuleSpec, Selector};
    use harbor_core::labels::{LabelScope, LabelStore, NewLabel};
    let library = s.project_by_name("library").await.unwrap().unwrap();
    let global = s
        .create_label(&NewLabel {
            name: "prod".into(),
            description: "production".into(),
            color: "#00FF00".into(),
            scope: LabelScope::Global,
            project_id: None,
        })
        .await
        .unwrap();
    let local = s
        .create_label(&NewLabel {
            name: "qa".into(),
            description: String::new(),
            color: String::new(),
            scope: LabelScope::Project,
            project_id: Some(library.id),
        })
        .await
        .unwrap();
    let artifact = s
        .artifact_row_id(&repo("team/app0"), &Reference::parse("v1").unwrap())
        .await
        .unwrap()
        .unwrap();
    s.attach_label(artifact, global.id).await.unwrap();
    s.attach_label(artifact, local.id).await.unwrap();
    let rule = s
        .create_immutable_rule(
            library.id,
            &RuleSpec {
                priority: 0,
                disabled: false,
                repositories: Selector {
                    exclude: false,
                    pattern: "**".into(),
                },
                tags: Selector {
                    exclude: true,
                    pattern: "dev-*".into(),
                },
            },
            15,
        )
        .await
        .unwrap();
    (vec![global, local], vec![rule])
}

async fn check_labels(
    s: &SqlMetadataStore,
    (labels, rules): &(
        Vec<harbor_core::labels::Label>,
        Vec<harbor_core::immutable::ImmutableRule>,
    ),
) {
    use harbor_core::immutable::ImmutableRuleStore;
    use harbor_core::labels::LabelStore;
    let artifact = s
        .artifact_row_id(&repo("team/app0"), &Reference::parse("v1").unwrap())
        .await
        .unwrap()
        .unwrap();
    let attached = s.labels_of(&[artifact]).await.unwrap();
    assert_eq!(attached.get(&artifact), Some(labels));
    assert_eq!(
        &s.immutable_rules_of_project("library").await.unwrap(),
        rules
    );
}

/// A finished scan report (its bytes included).
async fn populate_scan_report(m: &SqlMetadataStore) -> harbor_core::scan::ScanReportRecord {
    use harbor_core::scan::ScanReportRecord;
    let mut r = ScanReportRecord {
        id: "5f62c830-f996-11e9-957f-0242c0a89008".into(),
        digest: format!("sha256:{}", "ab".repeat(32)),
        registration_uuid: "builtin".into(),
        mime_type: "application/vnd.security.vulnerability.report; version=1.1".into(),
        status: "Pending".into(),
        severity: String::new(),
        total: 0,
        fixable: 0,
        summary: "{}".into(),
        report: Vec::new(),
        log: String::new(),
        job_id: None,
        start_ms: 1_000,
        end_ms: 0,
    };
    m.start_scan_report(&r, 0).await.unwrap();
    r.status = "Success".into();
    r.severity = "High".into();
    r.total = 2;
    r.summary = r#"{"High":2}"#.into();
    r.report = b"\x00\xffreport".to_vec();
    r.end_ms = 2_000;
    let finding = |cve: &str, score: Option<f64>| harbor_core::scan::security::Finding {
        cve_id: cve.into(),
        package: "openssl".into(),
        version: "1.0".into(),
        severity: "High".into(),
        cvss_v3: score,
        links: vec!["https://a".into(), "https://b".into()],
        ..Default::default()
    };
    m.finish_scan_report(&r, &[finding("CVE-1", Some(7.5)), finding("CVE-2", None)])
        .await
        .unwrap();
    r
}

/// CVE allowlists (0021_cve_allowlists.sql): the system list and `library`'s.
async fn populate_allowlists(
    m: &SqlMetadataStore,
) -> Vec<harbor_core::scan::allowlist::CveAllowlist> {
    use harbor_core::scan::allowlist::{AllowlistInput, AllowlistStore};
    let library = m.project_by_name("library").await.unwrap().unwrap();
    let list = |expires_at, item: &str| AllowlistInput {
        expires_at,
        items: vec![item.to_owned()],
    };
    m.put_allowlist(0, &list(None, "CVE-2021-44228"), &[])
        .await
        .unwrap();
    m.put_allowlist(library.id, &list(Some(1_900_000_000), "GHSA-x"), &[])
        .await
        .unwrap();
    m.allowlists(&[0, library.id]).await.unwrap()
}

async fn check_allowlists(
    m: &SqlMetadataStore,
    expected: &[harbor_core::scan::allowlist::CveAllowlist],
) {
    use harbor_core::scan::allowlist::AllowlistStore;
    let ids: Vec<i64> = expected.iter().map(|l| l.project_id).collect();
    assert_eq!(m.allowlists(&ids).await.unwrap(), expected);
}

/// Trusted signature keys (0025_signature_keys.sql): two of `library`'s; a name or a
/// fingerprint twice is a conflict.
async fn populate_signature_keys(m: &SqlMetadataStore) -> Vec<harbor_core::signature::TrustedKey> {
    use harbor_core::signature::{NewTrustedKey, SignatureKeyStore, SignatureKind};
    let library = m.project_by_name("library").await.unwrap().unwrap();
    let key = |kind, name: &str, fingerprint: &str| NewTrustedKey {
        kind,
        name: name.to_owned(),
        pem: format!("-----BEGIN PUBLIC KEY-----\n{name}\n-----END PUBLIC KEY-----\n"),
        fingerprint: fingerprint.to_owned(),
    };
    m.add_signature_key_emitting(
        library.id,
        &key(SignatureKind::Cosign, "ci", "sha256:1"),
        "admin",
        &[],
    )
    .await
    .unwrap();
    m.add_signature_key_emitting(
        library.id,
        &key(SignatureKind::Notation, "ca", "sha256:2"),
        "admin",
        &[],
    )
    .await
    .unwrap();
    for dup in [
        key(SignatureKind::Cosign, "ci", "sha256:3"),
        key(SignatureKind::Cosign, "other", "sha256:1"),
    ] {
        let e = m
            .add_signature_key_emitting(library.id, &dup, "admin", &[])
            .await;
        assert!(matches!(e, Err(harbor_core::Error::Conflict(_))), "{e:?}");
    }
    let gone = m
        .add_signature_key_emitting(
            999_999,
            &key(SignatureKind::Cosign, "x", "sha256:4"),
            "admin",
            &[],
        )
        .await;
    assert!(
        matches!(gone, Err(harbor_core::Error::NotFound(_))),
        "{gone:?}"
    );
    let keys = m.signature_keys(library.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].kind, SignatureKind::Notation);
    keys
}

async fn check_signature_keys(
    m: &SqlMetadataStore,
    expected: &[harbor_core::signature::TrustedKey],
) {
    use harbor_core::signature::SignatureKeyStore;
    assert_eq!(
        m.signature_keys(expected[0].project_id).await.unwrap(),
        expected
    );
}

/// OIDC links (0027_oidc_users.sql): one user signing in through OIDC, with sealed bytes.
async fn populate_oidc_users(m: &SqlMetadataStore) -> harbor_core::oidc::OidcLink {
    use harbor_core::oidc::OidcUserStore;
    let user = harbor_core::identity::NewUser {
        username: "oidc-user".into(),
        email: None,
        realname: "OIDC user".into(),
        comment: String::new(),
        password_hash: String::new(),
        sysadmin: false,
    };
    let (_, link) = m
        .onboard_oidc_user_emitting(&user, "subhttps://id.example", &[0, 1, 255], &[7; 40], &[])
        .await
        .unwrap();
    link
}

async fn check_oidc_users(m: &SqlMetadataStore, expected: &harbor_core::oidc::OidcLink) {
    use harbor_core::oidc::OidcUserStore;
    assert_eq!(
        m.oidc_link(expected.user_id).await.unwrap().as_ref(),
        Some(expected)
    );
}
