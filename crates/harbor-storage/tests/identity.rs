//! One contract for the identity port, run against SQLite (a real database file) and
//! PostgreSQL (a fresh database per test; `HARBOR_TEST_DATABASE_URL`, see
//! `harbor_storage::testing`).

use harbor_core::identity::{
    AuditQuery, Match, NewAuditEntry, NewRobot, NewUser, Page, ProjectQuery, RobotAccess,
    RobotPermission, RobotQuery, RobotUpdate, Session, UserQuery, UserUpdate,
};
use harbor_core::model::now_ms;
use harbor_core::ports::{IdentityStore, LoginFailureStore, MetadataStore};
use harbor_core::rbac::Role;
use harbor_core::{Digest, Error, RepositoryName};

use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    user_crud_and_conflicts,
    user_pages_and_filters,
    concurrent_creations_conflict,
    project_creation_makes_owner_admin,
    project_visibility_and_listing,
    project_repository_counts_and_summary,
    member_lifecycle,
    deleting_users_and_projects,
    robot_crud,
    sessions_expire_and_end_with_password_change,
    audit_log_filters_and_order,
    signing_key_is_shared,
    settings_are_shared_and_replaced,
    login_failures_count_reset_and_purge,
    concurrent_login_failures_all_count,
    oidc_links,
);

fn new_user(name: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: name.into(),
        email: email.map(str::to_owned),
        realname: format!("{name} real"),
        comment: format!("{name} comment"),
        password_hash: format!("$argon2id$hash-of-{name}"),
        sysadmin: false,
    }
}

fn page(page: u64, page_size: u64) -> Page {
    Page { page, page_size }
}

fn all() -> Page {
    page(1, 1000)
}

fn fuzzy(s: &str) -> Option<Match> {
    Some(Match::Fuzzy(s.into()))
}

fn exact(s: &str) -> Option<Match> {
    Some(Match::Exact(s.into()))
}

fn assert_conflict<T: std::fmt::Debug>(r: harbor_core::Result<T>, needle: &str) {
    match r {
        Err(Error::Conflict(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
        other => panic!("expected a conflict mentioning {needle:?}, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(r: harbor_core::Result<T>, needle: &str) {
    match r {
        Err(Error::NotFound(msg)) => assert!(msg.contains(needle), "{msg:?} lacks {needle:?}"),
        other => panic!("expected not found mentioning {needle:?}, got {other:?}"),
    }
}

async fn user_crud_and_conflicts(t: &Target) {
    let s = t.open().await;
    assert_eq!(s.user_count().await.unwrap(), 0);
    let before = now_ms();
    let alice = s
        .create_user(&new_user("alice", Some("alice@example.com")))
        .await
        .unwrap();
    assert!(alice.id > 0);
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.realname, "alice real");
    assert_eq!(alice.comment, "alice comment");
    assert_eq!(alice.password_hash, "$argon2id$hash-of-alice");
    assert!(!alice.sysadmin);
    assert!(alice.created_ms >= before && alice.created_ms <= now_ms());
    assert_eq!(alice.created_ms, alice.updated_ms);
    assert_eq!(s.user(alice.id).await.unwrap().as_ref(), Some(&alice));
    assert_eq!(
        s.user_by_name("alice").await.unwrap().as_ref(),
        Some(&alice)
    );
    assert_eq!(
        s.user_by_name("Alice").await.unwrap(),
        None,
        "names are exact"
    );
    assert_eq!(s.user(alice.id + 1000).await.unwrap(), None);

    // Users without e-mail do not collide with each other.
    let bob = s.create_user(&new_user("bob", None)).await.unwrap();
    let carol = s.create_user(&new_user("carol", None)).await.unwrap();
    assert_eq!(bob.email, None);
    assert!(carol.id > bob.id && bob.id > alice.id);
    assert_eq!(s.user_count().await.unwrap(), 3);

    // Duplicate username, duplicate e-mail.
    assert_conflict(
        s.create_user(&new_user("alice", Some("other@example.com")))
            .await,
        "user \"alice\" already exists",
    );
    assert_conflict(
        s.create_user(&new_user("alice2", Some("alice@example.com")))
            .await,
        "alice@example.com",
    );
    assert_eq!(s.user_count().await.unwrap(), 3, "nothing inserted");

    // Profile updates: None keeps, Some(None) clears the e-mail.
    let updated = s
        .update_user(
            bob.id,
            &UserUpdate {
                email: Some(Some("bob@example.com".into())),
                realname: Some("Robert".into()),
                comment: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.email.as_deref(), Some("bob@example.com"));
    assert_eq!(updated.realname, "Robert");
    assert_eq!(updated.comment, "bob comment");
    assert_eq!(updated.username, "bob");
    assert!(updated.updated_ms >= bob.updated_ms);
    assert_eq!(s.user(bob.id).await.unwrap(), Some(updated.clone()));
    let kept = s.update_user(bob.id, &UserUpdate::default()).await.unwrap();
    assert_eq!(kept.email.as_deref(), Some("bob@example.com"));
    assert_eq!(kept.realname, "Robert");
    let cleared = s
        .update_user(
            bob.id,
            &UserUpdate {
                email: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.email, None);
    assert_eq!(cleared.realname, "Robert");
    assert_conflict(
        s.update_user(
            carol.id,
            &UserUpdate {
                email: Some(Some("alice@example.com".into())),
                ..Default::default()
            },
        )
        .await,
        "alice@example.com",
    );
    assert_eq!(s.user(carol.id).await.unwrap().unwrap().email, None);

    // Password and sysadmin.
    s.set_password(alice.id, "$argon2id$new").await.unwrap();
    s.set_sysadmin(alice.id, true).await.unwrap();
    let a = s.user(alice.id).await.unwrap().unwrap();
    assert_eq!(a.password_hash, "$argon2id$new");
    assert!(a.sysadmin);
    s.set_sysadmin(alice.id, false).await.unwrap();
    assert!(!s.user(alice.id).await.unwrap().unwrap().sysadmin);

    // Missing ids.
    let missing = carol.id + 1000;
    let msg = format!("user {missing} not found");
    assert_not_found(s.update_user(missing, &UserUpdate::default()).await, &msg);
    assert_not_found(s.set_password(missing, "x").await, &msg);
    assert_not_found(s.set_sysadmin(missing, true).await, &msg);
    assert_not_found(s.delete_user(missing).await, &msg);

    s.delete_user(carol.id).await.unwrap();
    assert_eq!(s.user(carol.id).await.unwrap(), None);
    assert_not_found(s.delete_user(carol.id).await, "not found");
    assert_eq!(s.user_count().await.unwrap(), 2);
    // A deleted user's id is not handed out again.
    let dave = s.create_user(&new_user("dave", None)).await.unwrap();
    assert!(dave.id > carol.id);
}

async fn user_pages_and_filters(t: &Target) {
    let s = t.open().await;
    let names = [
        "Admin",
        "bob",
        "ann_x",
        "annex",
        "ann%",
        "xx100%",
        "Zed",
        "mary",
        "marianne",
        "back\\slash",
    ];
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let email = format!("{}@corp{}.example", n.to_ascii_lowercase(), i % 2);
        ids.push(s.create_user(&new_user(n, Some(&email))).await.unwrap().id);
    }
    let names_of = |users: &[harbor_core::identity::User]| {
        users.iter().map(|u| u.username.clone()).collect::<Vec<_>>()
    };

    // Pages in id order, each with the total.
    let q = UserQuery::default();
    let (p1, total) = s.users(&q, page(1, 4)).await.unwrap();
    assert_eq!(total, 10);
    assert_eq!(names_of(&p1), ["Admin", "bob", "ann_x", "annex"]);
    let (p3, total) = s.users(&q, page(3, 4)).await.unwrap();
    assert_eq!(total, 10);
    assert_eq!(names_of(&p3), ["marianne", "back\\slash"]);
    let (p4, total) = s.users(&q, page(4, 4)).await.unwrap();
    assert!(p4.is_empty());
    assert_eq!(total, 10);
    let (every, _) = s.users(&q, all()).await.unwrap();
    assert_eq!(every.iter().map(|u| u.id).collect::<Vec<_>>(), ids);

    // Fuzzy: case-insensitive substring.
    let (found, total) = s
        .users(
            &UserQuery {
                username: fuzzy("ADM"),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((names_of(&found), total), (vec!["Admin".to_owned()], 1));
    let (found, total) = s
        .users(
            &UserQuery {
                username: fuzzy("ann"),
                ..Default::default()
            },
            page(1, 2),
        )
        .await
        .unwrap();
    assert_eq!(names_of(&found), ["ann_x", "annex"]);
    assert_eq!(total, 4, "ann_x annex ann% marianne");

    // `_`, `%` and `\` are literal.
    let by = |f: &str| UserQuery {
        username: fuzzy(f),
        ..Default::default()
    };
    let (found, _) = s.users(&by("n_"), all()).await.unwrap();
    assert_eq!(names_of(&found), ["ann_x"]);
    let (found, _) = s.users(&by("%"), all()).await.unwrap();
    assert_eq!(names_of(&found), ["ann%", "xx100%"]);
    let (found, _) = s.users(&by("0%"), all()).await.unwrap();
    assert_eq!(names_of(&found), ["xx100%"]);
    let (found, _) = s.users(&by("k\\s"), all()).await.unwrap();
    assert_eq!(names_of(&found), ["back\\slash"]);
    let (found, total) = s.users(&by("_"), all()).await.unwrap();
    assert_eq!((names_of(&found), total), (vec!["ann_x".to_owned()], 1));

    // Exact is exact (and case-sensitive).
    let (found, total) = s
        .users(
            &UserQuery {
                username: exact("admin"),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((found.len(), total), (0, 0));
    let (found, _) = s
        .users(
            &UserQuery {
                username: exact("Admin"),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(names_of(&found), ["Admin"]);

    // E-mail filters, combined with username filters by AND.
    let (found, total) = s
        .users(
            &UserQuery {
                email: fuzzy("@CORP1."),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(total, 5);
    assert_eq!(
        names_of(&found),
        ["bob", "annex", "xx100%", "mary", "back\\slash"]
    );
    let (found, total) = s
        .users(
            &UserQuery {
                username: fuzzy("a"),
                email: exact("mary@corp1.example"),
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((names_of(&found), total), (vec!["mary".to_owned()], 1));
}

async fn concurrent_creations_conflict(t: &Target) {
    // Several "replicas" race to create the same user and project: exactly one wins each.
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(t.open().await);
    }
    let mut tasks = Vec::new();
    for (i, s) in stores.iter().cycle().take(12).cloned().enumerate() {
        tasks.push(tokio::spawn(async move {
            s.create_user(&new_user("racer", Some(&format!("r{i}@example.com"))))
                .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(u) => {
                assert_eq!(u.username, "racer");
                won += 1;
            }
            Err(Error::Conflict(msg)) => assert!(msg.contains("racer"), "{msg}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    let owner = stores[0].user_by_name("racer").await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = stores[i % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            s.create_project("contested", owner.id, false).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(p) => {
                assert_eq!(p.name, "contested");
                won += 1;
            }
            Err(Error::Conflict(msg)) => {
                assert_eq!(msg, "project \"contested\" already exists")
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    let (projects, total) = stores[1]
        .projects(&ProjectQuery::default(), all())
        .await
        .unwrap();
    assert_eq!(total, 1);
    let (members, total) = stores[2]
        .members(projects[0].id, None, all())
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(members[0].user_id, owner.id);
}

async fn project_creation_makes_owner_admin(t: &Target) {
    let s = t.open().await;
    let alice = s.create_user(&new_user("alice", None)).await.unwrap();
    let before = now_ms();
    let p = s.create_project("library", alice.id, true).await.unwrap();
    assert!(p.id > 0);
    assert_eq!(p.name, "library");
    assert_eq!(p.owner_id, alice.id);
    assert_eq!(p.owner_name, "alice");
    assert!(p.public);
    assert!(p.created_ms >= before);
    assert_eq!(s.project(p.id).await.unwrap().as_ref(), Some(&p));
    assert_eq!(
        s.project_by_name("library").await.unwrap().as_ref(),
        Some(&p)
    );
    assert_eq!(s.project_by_name("Library").await.unwrap(), None);
    assert_eq!(s.project(p.id + 100).await.unwrap(), None);

    let (members, total) = s.members(p.id, None, all()).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(members[0].user_id, alice.id);
    assert_eq!(members[0].username, "alice");
    assert_eq!(members[0].project_id, p.id);
    assert_eq!(members[0].role, Role::ProjectAdmin);
    assert_eq!(
        s.roles(p.id, alice.id).await.unwrap(),
        vec![Role::ProjectAdmin]
    );

    assert_conflict(
        s.create_project("library", alice.id, false).await,
        "project \"library\" already exists",
    );
    // A missing owner: nothing is created.
    assert_not_found(
        s.create_project("orphan", alice.id + 100, false).await,
        "not found",
    );
    assert_eq!(s.project_by_name("orphan").await.unwrap(), None);

    // Public flag.
    let private = s.set_project_public(p.id, false).await.unwrap();
    assert!(!private.public);
    assert_eq!(private.name, "library");
    assert_eq!(private.owner_name, "alice");
    assert!(private.updated_ms >= p.updated_ms);
    assert!(!s.project(p.id).await.unwrap().unwrap().public);
    assert!(s.set_project_public(p.id, true).await.unwrap().public);
    assert_not_found(
        s.set_project_public(p.id + 100, true).await,
        &format!("project {} not found", p.id + 100),
    );
    assert_not_found(s.delete_project(p.id + 100).await, "not found");
}

async fn project_visibility_and_listing(t: &Target) {
    let s = t.open().await;
    let admin = s.create_user(&new_user("admin", None)).await.unwrap();
    let bob = s.create_user(&new_user("bob", None)).await.unwrap();
    let eve = s.create_user(&new_user("eve", None)).await.unwrap();
    // Created out of name order; listed by name.
    let zeta = s.create_project("zeta", admin.id, false).await.unwrap();
    let alpha = s.create_project("alpha", admin.id, true).await.unwrap();
    let mid = s.create_project("mid_1", admin.id, false).await.unwrap();
    let beta = s.create_project("beta", bob.id, false).await.unwrap();
    let gamma = s.create_project("gamma", admin.id, true).await.unwrap();
    s.add_member(zeta.id, bob.id, Role::Guest).await.unwrap();
    let names = |ps: &[harbor_core::identity::Project]| {
        ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>()
    };

    let (ps, total) = s.projects(&ProjectQuery::default(), all()).await.unwrap();
    assert_eq!(names(&ps), ["alpha", "beta", "gamma", "mid_1", "zeta"]);
    assert_eq!(total, 5);
    assert_eq!(ps[1].owner_name, "bob");
    let (ps, total) = s
        .projects(&ProjectQuery::default(), page(2, 2))
        .await
        .unwrap();
    assert_eq!(
        (names(&ps), total),
        (vec!["gamma".into(), "mid_1".into()], 5)
    );

    // Visible to bob: public ones, plus beta (owner) and zeta (guest).
    let (ps, total) = s
        .projects(
            &ProjectQuery {
                visible_to: Some(bob.id),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(names(&ps), ["alpha", "beta", "gamma", "zeta"]);
    assert_eq!(total, 4);
    // Visible to eve: only the public ones.
    let (ps, total) = s
        .projects(
            &ProjectQuery {
                visible_to: Some(eve.id),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(
        (names(&ps), total),
        (vec!["alpha".into(), "gamma".into()], 2)
    );
    // Combined with the other filters by AND.
    let (ps, total) = s
        .projects(
            &ProjectQuery {
                visible_to: Some(bob.id),
                public: Some(false),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((names(&ps), total), (vec!["beta".into(), "zeta".into()], 2));
    let (ps, total) = s
        .projects(
            &ProjectQuery {
                visible_to: Some(bob.id),
                name: fuzzy("ET"),
                ..Default::default()
            },
            page(1, 1),
        )
        .await
        .unwrap();
    assert_eq!((names(&ps), total), (vec!["beta".into()], 2), "beta, zeta");
    let (ps, _) = s
        .projects(
            &ProjectQuery {
                public: Some(true),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(names(&ps), ["alpha", "gamma"]);
    let (ps, _) = s
        .projects(
            &ProjectQuery {
                name: fuzzy("d_"),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(names(&ps), ["mid_1"]);
    let (ps, _) = s
        .projects(
            &ProjectQuery {
                name: exact("gamma"),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(ps, vec![gamma.clone()]);

    // The owner's deletion keeps the project, with an empty owner name.
    s.delete_user(bob.id).await.unwrap();
    let kept = s.project(beta.id).await.unwrap().unwrap();
    assert_eq!(kept.owner_id, bob.id);
    assert_eq!(kept.owner_name, "");
    assert_eq!(
        s.project(alpha.id).await.unwrap().unwrap().owner_name,
        "admin"
    );
    assert_eq!(s.project(mid.id).await.unwrap().unwrap().name, "mid_1");
}

async fn project_repository_counts_and_summary(t: &Target) {
    let s = t.open().await;
    let owner = s.create_user(&new_user("owner", None)).await.unwrap();
    let p = s.create_project("p", owner.id, false).await.unwrap();
    let d = Digest::sha256(b"layer");
    for name in ["p/x", "p/a/b", "pp/x", "p", "p-x/y", "p.q/z", "o/x", "q/p"] {
        s.link_blob(&RepositoryName::parse(name).unwrap(), &d, 5)
            .await
            .unwrap();
    }
    // Blobs alone (a push in progress, or what deleted artifacts left) do not make a
    // repository; a manifest does.
    assert_eq!(s.project_repository_count("p").await.unwrap(), 0);
    let manifest = |content: &str| harbor_core::model::NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: None,
        subject: None,
        annotations: Default::default(),
        content: bytes::Bytes::copy_from_slice(content.as_bytes()),
        blobs: vec![d.clone()],
        manifests: vec![],
        children_pending: false,
    };
    for name in ["p/x", "p/a/b", "pp/x", "p", "p-x/y", "p.q/z", "o/x", "q/p"] {
        s.put_manifest(&RepositoryName::parse(name).unwrap(), &manifest(name), &[])
            .await
            .unwrap();
    }
    assert_eq!(s.project_repository_count("p").await.unwrap(), 2);
    assert_eq!(s.project_repository_count("pp").await.unwrap(), 1);
    assert_eq!(s.project_repository_count("p-x").await.unwrap(), 1);
    assert_eq!(s.project_repository_count("nothing").await.unwrap(), 0);
    // The same for a page of projects at once (projects made now adopt their repositories).
    let pp = s.create_project("pp", owner.id, false).await.unwrap();
    let px = s.create_project("p-x", owner.id, false).await.unwrap();
    let empty = s.create_project("empty", owner.id, false).await.unwrap();
    let counts = s
        .project_repository_counts(&[p.id, pp.id, px.id, empty.id, 999_999])
        .await
        .unwrap();
    assert_eq!(
        counts,
        std::collections::HashMap::from([(p.id, 2), (pp.id, 1), (px.id, 1)])
    );

    let dev = s.create_user(&new_user("dev", None)).await.unwrap();
    let dev2 = s.create_user(&new_user("dev2", None)).await.unwrap();
    let guest = s.create_user(&new_user("guest", None)).await.unwrap();
    s.add_member(p.id, dev.id, Role::Developer).await.unwrap();
    s.add_member(p.id, dev2.id, Role::Developer).await.unwrap();
    s.add_member(p.id, guest.id, Role::Guest).await.unwrap();
    let summary = s.project_summary(&p).await.unwrap();
    assert_eq!(summary.repo_count, 2);
    assert_eq!(
        summary.members_by_role,
        vec![
            (Role::ProjectAdmin, 1),
            (Role::Developer, 2),
            (Role::Guest, 1),
            (Role::Maintainer, 0),
            (Role::LimitedGuest, 0),
        ]
    );
    let other = s.create_project("other", owner.id, false).await.unwrap();
    let summary = s.project_summary(&other).await.unwrap();
    assert_eq!(summary.repo_count, 0);
    assert_eq!(
        summary.members_by_role,
        Role::ALL
            .iter()
            .map(|r| (*r, u64::from(*r == Role::ProjectAdmin)))
            .collect::<Vec<_>>()
    );
}

async fn member_lifecycle(t: &Target) {
    let s = t.open().await;
    let owner = s.create_user(&new_user("owner", None)).await.unwrap();
    let dev = s.create_user(&new_user("Dev_1", None)).await.unwrap();
    let guest = s.create_user(&new_user("guest", None)).await.unwrap();
    let p = s.create_project("proj", owner.id, false).await.unwrap();
    let q = s.create_project("other", owner.id, false).await.unwrap();

    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![]);
    let m = s.add_member(p.id, dev.id, Role::Developer).await.unwrap();
    assert_eq!(m.project_id, p.id);
    assert_eq!(m.user_id, dev.id);
    assert_eq!(m.username, "Dev_1");
    assert_eq!(m.role, Role::Developer);
    assert_eq!(s.member(p.id, m.id).await.unwrap().as_ref(), Some(&m));
    assert_eq!(s.member(q.id, m.id).await.unwrap(), None, "other project");
    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![Role::Developer]);
    assert_eq!(s.roles(q.id, dev.id).await.unwrap(), vec![]);
    // The same for a page of projects at once; the owner is project admin of both.
    let ids = [q.id, p.id, q.id + 100];
    assert_eq!(
        s.roles_in_projects(dev.id, &ids).await.unwrap(),
        vec![(p.id, Role::Developer)]
    );
    let mut owner_roles = s.roles_in_projects(owner.id, &ids).await.unwrap();
    owner_roles.sort_by_key(|r| r.0);
    let mut want = vec![(p.id, Role::ProjectAdmin), (q.id, Role::ProjectAdmin)];
    want.sort_by_key(|r| r.0);
    assert_eq!(owner_roles, want);
    assert!(s.roles_in_projects(dev.id, &[]).await.unwrap().is_empty());

    assert_conflict(
        s.add_member(p.id, dev.id, Role::Guest).await,
        "user is already a member",
    );
    assert_not_found(
        s.add_member(p.id, guest.id + 100, Role::Guest).await,
        "not found",
    );
    assert_not_found(
        s.add_member(q.id + 100, guest.id, Role::Guest).await,
        "not found",
    );
    let g = s
        .add_member(p.id, guest.id, Role::LimitedGuest)
        .await
        .unwrap();

    let (ms, total) = s.members(p.id, None, all()).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        ms.iter().map(|m| m.username.as_str()).collect::<Vec<_>>(),
        ["owner", "Dev_1", "guest"]
    );
    let (ms, total) = s.members(p.id, None, page(2, 2)).await.unwrap();
    assert_eq!((ms, total), (vec![g.clone()], 3));
    let (ms, total) = s
        .members(p.id, fuzzy("dEv_").as_ref(), all())
        .await
        .unwrap();
    assert_eq!((ms, total), (vec![m.clone()], 1));
    let (ms, total) = s.members(p.id, fuzzy("v%").as_ref(), all()).await.unwrap();
    assert_eq!((ms.len(), total), (0, 0));
    let (ms, _) = s
        .members(p.id, exact("guest").as_ref(), all())
        .await
        .unwrap();
    assert_eq!(ms, vec![g.clone()]);
    let (ms, total) = s
        .members(q.id, exact("guest").as_ref(), all())
        .await
        .unwrap();
    assert_eq!((ms.len(), total), (0, 0));

    s.set_member_role(p.id, m.id, Role::Maintainer)
        .await
        .unwrap();
    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![Role::Maintainer]);
    assert_eq!(
        s.member(p.id, m.id).await.unwrap().unwrap().role,
        Role::Maintainer
    );
    assert_not_found(
        s.set_member_role(q.id, m.id, Role::Guest).await,
        &format!("member {} not found", m.id),
    );
    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![Role::Maintainer]);

    assert_not_found(s.delete_member(q.id, m.id).await, "not found");
    s.delete_member(p.id, m.id).await.unwrap();
    assert_eq!(s.member(p.id, m.id).await.unwrap(), None);
    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![]);
    assert_not_found(s.delete_member(p.id, m.id).await, "not found");
    assert_not_found(
        s.set_member_role(p.id, m.id, Role::Guest).await,
        "not found",
    );
    let (_, total) = s.members(p.id, None, all()).await.unwrap();
    assert_eq!(total, 2);
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

async fn deleting_users_and_projects(t: &Target) {
    let s = t.open().await;
    let owner = s.create_user(&new_user("owner", None)).await.unwrap();
    let dev = s.create_user(&new_user("dev", None)).await.unwrap();
    let p = s.create_project("p", owner.id, false).await.unwrap();
    let q = s.create_project("q", owner.id, false).await.unwrap();
    s.add_member(p.id, dev.id, Role::Developer).await.unwrap();
    let dev_in_q = s.add_member(q.id, dev.id, Role::Guest).await.unwrap();
    s.create_session(&Session {
        id_hash: "dev-session".into(),
        user_id: dev.id,
        csrf_token: "csrf".into(),
        expires_ms: now_ms() + 3_600_000,
    })
    .await
    .unwrap();

    // Deleting a user removes their memberships and sessions, nothing else.
    s.delete_user(dev.id).await.unwrap();
    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![]);
    assert_eq!(s.roles(q.id, dev.id).await.unwrap(), vec![]);
    assert_eq!(s.member(q.id, dev_in_q.id).await.unwrap(), None);
    assert_eq!(s.session("dev-session", now_ms()).await.unwrap(), None);
    let (ms, total) = s.members(p.id, None, all()).await.unwrap();
    assert_eq!((ms.len(), total), (1, 1));
    assert_eq!(ms[0].user_id, owner.id);

    // Deleting a project removes its members and robots, not other projects' or system
    // robots.
    let dev = s.create_user(&new_user("dev", None)).await.unwrap();
    s.add_member(p.id, dev.id, Role::Developer).await.unwrap();
    s.add_member(q.id, dev.id, Role::Developer).await.unwrap();
    let p_robot = s.create_robot(&new_robot("p+ci", p.id)).await.unwrap();
    let q_robot = s.create_robot(&new_robot("q+ci", q.id)).await.unwrap();
    let system = s.create_robot(&new_robot("sys", 0)).await.unwrap();
    s.delete_project(p.id).await.unwrap();
    assert_eq!(s.project(p.id).await.unwrap(), None);
    assert_eq!(s.project_by_name("p").await.unwrap(), None);
    assert_eq!(s.roles(p.id, dev.id).await.unwrap(), vec![]);
    assert_eq!(s.roles(p.id, owner.id).await.unwrap(), vec![]);
    let (ms, total) = s.members(p.id, None, all()).await.unwrap();
    assert_eq!((ms.len(), total), (0, 0));
    assert_eq!(s.robot(p_robot.id).await.unwrap(), None);
    assert_eq!(s.robot(q_robot.id).await.unwrap(), Some(q_robot));
    assert_eq!(s.robot(system.id).await.unwrap(), Some(system));
    assert_eq!(s.roles(q.id, dev.id).await.unwrap(), vec![Role::Developer]);
    assert_eq!(s.user(dev.id).await.unwrap().unwrap().username, "dev");
    assert_not_found(s.delete_project(p.id).await, "not found");
    // The name is free again.
    let p2 = s.create_project("p", dev.id, true).await.unwrap();
    assert!(p2.id > q.id);
    assert_eq!(
        s.roles(p2.id, dev.id).await.unwrap(),
        vec![Role::ProjectAdmin]
    );
}

async fn robot_crud(t: &Target) {
    let s = t.open().await;
    let before = now_ms();
    let r = s.create_robot(&new_robot("library+ci", 7)).await.unwrap();
    assert!(r.id > 0);
    assert_eq!(r.name, "library+ci");
    assert_eq!(r.description, "library+ci description");
    assert_eq!(r.project_id, 7);
    assert!(r.is_project_level());
    assert_eq!(r.secret_hash, "$argon2id$secret-of-library+ci");
    assert!(!r.disabled);
    assert_eq!(r.duration_days, 30);
    assert_eq!(r.expires_ms, Some(1_700_000_000_000));
    assert_eq!(r.permissions, new_robot("x", 0).permissions);
    assert_eq!(r.creator, "admin");
    assert_eq!((r.creator_type.as_str(), r.creator_ref), ("local", 1));
    assert!(r.created_ms >= before);
    assert_eq!(s.robot(r.id).await.unwrap().as_ref(), Some(&r));
    assert_eq!(
        s.robot_by_name("library+ci").await.unwrap().as_ref(),
        Some(&r)
    );
    assert_eq!(s.robot_by_name("ci").await.unwrap(), None);
    assert_eq!(s.robot(r.id + 100).await.unwrap(), None);

    // A system robot that never expires, with no permissions and disabled.
    let sys = s
        .create_robot(&NewRobot {
            disabled: true,
            duration_days: -1,
            expires_ms: None,
            permissions: vec![],
            ..new_robot("sys_bot", 0)
        })
        .await
        .unwrap();
    assert!(!sys.is_project_level());
    assert!(sys.disabled);
    assert_eq!(sys.expires_ms, None);
    assert!(sys.permissions.is_empty());
    assert_eq!(s.robot(sys.id).await.unwrap(), Some(sys.clone()));

    assert_conflict(
        s.create_robot(&new_robot("library+ci", 8)).await,
        "robot \"library+ci\" already exists",
    );

    // Listing and filters.
    let other = s.create_robot(&new_robot("library+cd", 7)).await.unwrap();
    let third = s.create_robot(&new_robot("dev+ci", 9)).await.unwrap();
    let ids = |rs: &[harbor_core::identity::Robot]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    let (rs, total) = s.robots(&RobotQuery::default(), all()).await.unwrap();
    assert_eq!(ids(&rs), [r.id, sys.id, other.id, third.id]);
    assert_eq!(total, 4);
    let (rs, total) = s.robots(&RobotQuery::default(), page(2, 3)).await.unwrap();
    assert_eq!((ids(&rs), total), (vec![third.id], 4));
    let (rs, total) = s
        .robots(
            &RobotQuery {
                project_id: Some(7),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((ids(&rs), total), (vec![r.id, other.id], 2));
    let (rs, _) = s
        .robots(
            &RobotQuery {
                project_id: Some(0),
                ..Default::default()
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&rs), [sys.id]);
    let (rs, total) = s
        .robots(
            &RobotQuery {
                project_id: None,
                name: fuzzy("+CI"),
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!((ids(&rs), total), (vec![r.id, third.id], 2));
    let (rs, _) = s
        .robots(
            &RobotQuery {
                project_id: Some(7),
                name: exact("library+cd"),
            },
            all(),
        )
        .await
        .unwrap();
    assert_eq!(ids(&rs), [other.id]);

    // Updates: None keeps.
    let kept = s.update_robot(r.id, &RobotUpdate::default()).await.unwrap();
    assert_eq!(kept.description, r.description);
    assert_eq!(kept.permissions, r.permissions);
    assert_eq!(kept.expires_ms, r.expires_ms);
    assert_eq!(kept.duration_days, 30);
    let new_perms = vec![
        RobotPermission {
            kind: "system".into(),
            namespace: "/".into(),
            access: vec![RobotAccess {
                resource: "project".into(),
                action: "list".into(),
                effect: String::new(),
            }],
        },
        RobotPermission {
            kind: "project".into(),
            namespace: "*".into(),
            access: vec![],
        },
    ];
    let updated = s
        .update_robot(
            r.id,
            &RobotUpdate {
                description: Some("new".into()),
                disabled: Some(true),
                duration: Some((-1, None)),
                permissions: Some(new_perms.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.description, "new");
    assert!(updated.disabled);
    assert_eq!(updated.duration_days, -1);
    assert_eq!(updated.expires_ms, None);
    assert_eq!(updated.permissions, new_perms);
    assert_eq!(updated.name, "library+ci");
    assert_eq!(updated.secret_hash, r.secret_hash);
    assert_eq!(updated.created_ms, r.created_ms);
    assert_eq!(s.robot(r.id).await.unwrap(), Some(updated.clone()));
    let again = s
        .update_robot(
            r.id,
            &RobotUpdate {
                disabled: Some(false),
                duration: Some((10, Some(42))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!again.disabled);
    assert_eq!((again.duration_days, again.expires_ms), (10, Some(42)));
    assert_eq!(again.description, "new");
    assert_eq!(again.permissions, new_perms);
    assert!(again.expired(42) && !again.expired(41));

    s.set_robot_secret(r.id, "$argon2id$rotated").await.unwrap();
    assert_eq!(
        s.robot(r.id).await.unwrap().unwrap().secret_hash,
        "$argon2id$rotated"
    );

    let missing = third.id + 100;
    let msg = format!("robot {missing} not found");
    assert_not_found(s.update_robot(missing, &RobotUpdate::default()).await, &msg);
    assert_not_found(s.set_robot_secret(missing, "x").await, &msg);
    assert_not_found(s.delete_robot(missing).await, &msg);

    s.delete_robot(r.id).await.unwrap();
    assert_eq!(s.robot(r.id).await.unwrap(), None);
    assert_eq!(s.robot_by_name("library+ci").await.unwrap(), None);
    assert_not_found(s.delete_robot(r.id).await, "not found");
    let (_, total) = s.robots(&RobotQuery::default(), all()).await.unwrap();
    assert_eq!(total, 3);
}

async fn sessions_expire_and_end_with_password_change(t: &Target) {
    let s = t.open().await;
    let alice = s.create_user(&new_user("alice", None)).await.unwrap();
    let bob = s.create_user(&new_user("bob", None)).await.unwrap();
    let now = now_ms();
    let session = |id: &str, user_id: i64, expires_ms: i64| Session {
        id_hash: id.into(),
        user_id,
        csrf_token: format!("csrf-{id}"),
        expires_ms,
    };
    let a1 = session("a1", alice.id, now + 60_000);
    let a2 = session("a2", alice.id, now + 120_000);
    let b1 = session("b1", bob.id, now + 60_000);
    for x in [&a1, &a2, &b1] {
        s.create_session(x).await.unwrap();
    }
    assert_eq!(s.session("a1", now).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.session("nope", now).await.unwrap(), None);
    // Expired at its expiry time.
    assert_eq!(
        s.session("a1", now + 59_999).await.unwrap(),
        Some(a1.clone())
    );
    assert_eq!(s.session("a1", now + 60_000).await.unwrap(), None);
    assert_eq!(
        s.session("a2", now + 60_000).await.unwrap(),
        Some(a2.clone())
    );

    // Sessions need a user.
    assert_not_found(
        s.create_session(&session("ghost", bob.id + 100, now + 60_000))
            .await,
        "not found",
    );

    // An expired session is cleaned up by a later creation; live ones stay.
    s.create_session(&session("old", bob.id, now - 1))
        .await
        .unwrap();
    assert_eq!(
        s.session("old", now - 10).await.unwrap().unwrap().user_id,
        bob.id
    );
    s.create_session(&session("b2", bob.id, now + 60_000))
        .await
        .unwrap();
    assert_eq!(s.session("old", now - 10).await.unwrap(), None);
    assert_eq!(s.session("b1", now).await.unwrap(), Some(b1.clone()));

    s.delete_session("a2").await.unwrap();
    assert_eq!(s.session("a2", now).await.unwrap(), None);
    s.delete_session("a2").await.unwrap();

    // A new password ends every session of that user, and only theirs.
    s.set_password(bob.id, "$argon2id$new").await.unwrap();
    assert_eq!(s.session("b1", now).await.unwrap(), None);
    assert_eq!(s.session("b2", now).await.unwrap(), None);
    assert_eq!(s.session("a1", now).await.unwrap(), Some(a1));
}

fn audit(
    project_id: Option<i64>,
    username: &str,
    operation: &str,
    resource_type: &str,
    resource: &str,
    op_time_ms: i64,
) -> NewAuditEntry {
    NewAuditEntry {
        project_id,
        username: username.into(),
        operation: operation.into(),
        resource_type: resource_type.into(),
        resource: resource.into(),
        op_time_ms,
    }
}

async fn audit_log_filters_and_order(t: &Target) {
    let s = t.open().await;
    s.record_audit(&[]).await.unwrap();
    let entries = vec![
        audit(Some(1), "alice", "push", "artifact", "lib/nginx:1", 1_000),
        audit(
            Some(1),
            "robot$lib+ci",
            "pull",
            "artifact",
            "lib/nginx:1",
            2_000,
        ),
        audit(None, "admin", "create", "user", "bob", 3_000),
        audit(Some(2), "Alice_X", "delete", "artifact", "dev/app:2", 3_000),
        audit(Some(2), "anonymous", "pull", "artifact", "dev/app:2", 4_000),
        audit(Some(1), "alice", "create", "project", "lib", 500),
    ];
    s.record_audit(&entries).await.unwrap();
    let rows = |es: &[harbor_core::identity::AuditEntry]| {
        es.iter()
            .map(|e| (e.username.clone(), e.op_time_ms))
            .collect::<Vec<_>>()
    };
    let r = |u: &str, t: i64| (u.to_owned(), t);

    // Newest first; equal times by id, newest first.
    let (es, total) = s.audit_log(&AuditQuery::default(), all()).await.unwrap();
    assert_eq!(total, 6);
    assert_eq!(
        rows(&es),
        [
            r("anonymous", 4_000),
            r("Alice_X", 3_000),
            r("admin", 3_000),
            r("robot$lib+ci", 2_000),
            r("alice", 1_000),
            r("alice", 500),
        ]
    );
    let first = &es[0];
    assert_eq!(first.project_id, Some(2));
    assert_eq!(first.operation, "pull");
    assert_eq!(first.resource_type, "artifact");
    assert_eq!(first.resource, "dev/app:2");
    assert!(es[1].id > es[2].id);
    assert_eq!(es[2].project_id, None);

    // Paging.
    let (es, total) = s
        .audit_log(&AuditQuery::default(), page(2, 4))
        .await
        .unwrap();
    assert_eq!(total, 6);
    assert_eq!(rows(&es), [r("alice", 1_000), r("alice", 500)]);

    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery::default();
        f(&mut q);
        q
    };
    let (es, total) = s
        .audit_log(&q(|q| q.project_id = Some(1)), all())
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        rows(&es),
        [r("robot$lib+ci", 2_000), r("alice", 1_000), r("alice", 500)]
    );
    let (es, total) = s
        .audit_log(&q(|q| q.username = fuzzy("ALICE")), all())
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        rows(&es),
        [r("Alice_X", 3_000), r("alice", 1_000), r("alice", 500)]
    );
    let (es, _) = s
        .audit_log(&q(|q| q.username = fuzzy("e_")), all())
        .await
        .unwrap();
    assert_eq!(rows(&es), [r("Alice_X", 3_000)]);
    let (es, _) = s
        .audit_log(&q(|q| q.username = exact("alice")), page(1, 1))
        .await
        .unwrap();
    assert_eq!(rows(&es), [r("alice", 1_000)]);
    let (es, total) = s
        .audit_log(&q(|q| q.operation = Some("pull".into())), all())
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(rows(&es), [r("anonymous", 4_000), r("robot$lib+ci", 2_000)]);
    let (es, _) = s
        .audit_log(&q(|q| q.resource_type = Some("user".into())), all())
        .await
        .unwrap();
    assert_eq!(rows(&es), [r("admin", 3_000)]);
    let (es, _) = s
        .audit_log(&q(|q| q.resource = fuzzy("NGINX")), all())
        .await
        .unwrap();
    assert_eq!(rows(&es), [r("robot$lib+ci", 2_000), r("alice", 1_000)]);
    // Time range, both ends included.
    let (es, total) = s
        .audit_log(
            &q(|q| {
                q.from_ms = Some(1_000);
                q.to_ms = Some(3_000);
            }),
            all(),
        )
        .await
        .unwrap();
    assert_eq!(total, 4);
    assert_eq!(
        rows(&es),
        [
            r("Alice_X", 3_000),
            r("admin", 3_000),
            r("robot$lib+ci", 2_000),
            r("alice", 1_000)
        ]
    );
    // Everything at once.
    let (es, total) = s
        .audit_log(
            &q(|q| {
                q.project_id = Some(1);
                q.username = fuzzy("li");
                q.operation = Some("push".into());
                q.resource_type = Some("artifact".into());
                q.from_ms = Some(600);
            }),
            all(),
        )
        .await
        .unwrap();
    assert_eq!((rows(&es), total), (vec![r("alice", 1_000)], 1));

    // Large batches go in whole.
    let many: Vec<_> = (0..250)
        .map(|i| {
            audit(
                Some(3),
                "bulk",
                "pull",
                "artifact",
                &format!("x/y:{i}"),
                10_000 + i,
            )
        })
        .collect();
    s.record_audit(&many).await.unwrap();
    let (es, total) = s
        .audit_log(&q(|q| q.project_id = Some(3)), page(1, 2))
        .await
        .unwrap();
    assert_eq!(total, 250);
    assert_eq!(es[0].resource, "x/y:249");
    assert_eq!(es[1].resource, "x/y:248");
}

async fn signing_key_is_shared(t: &Target) {
    let s = t.open().await;
    let first = s.signing_key(b"first-key").await.unwrap();
    assert_eq!(first, b"first-key");
    assert_eq!(s.signing_key(b"second-key").await.unwrap(), b"first-key");

    // A second replica and concurrent callers all get the stored key.
    let other = t.open().await;
    assert_eq!(other.signing_key(b"third").await.unwrap(), b"first-key");
    let (a, b, c, d) = tokio::join!(
        s.signing_key(b"a"),
        other.signing_key(b"b"),
        s.signing_key(b"c"),
        other.signing_key(b"d"),
    );
    for k in [a, b, c, d] {
        assert_eq!(k.unwrap(), b"first-key");
    }

    // On a fresh database, racing replicas agree on one of their candidates.
    let fresh = if t.url.starts_with("postgres") {
        Target::postgres().await.unwrap()
    } else {
        Target::sqlite()
    };
    let replicas = [fresh.open().await, fresh.open().await, fresh.open().await];
    let (a, b, c, d, e, f) = tokio::join!(
        replicas[0].signing_key(b"k0"),
        replicas[1].signing_key(b"k1"),
        replicas[2].signing_key(b"k2"),
        replicas[0].signing_key(b"k3"),
        replicas[1].signing_key(b"k4"),
        replicas[2].signing_key(b"k5"),
    );
    let keys: Vec<Vec<u8>> = [a, b, c, d, e, f].into_iter().map(|k| k.unwrap()).collect();
    let candidates: [&[u8]; 6] = [b"k0", b"k1", b"k2", b"k3", b"k4", b"k5"];
    assert!(candidates.contains(&keys[0].as_slice()), "{keys:?}");
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(replicas[0].signing_key(b"late").await.unwrap(), keys[0]);
}

async fn settings_are_shared_and_replaced(t: &Target) {
    let s = t.open().await;
    assert!(s.settings().await.unwrap().is_empty());
    let set = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    s.put_settings(&set(&[("read_only", "true"), ("banner", "\"hi\"")]))
        .await
        .unwrap();
    // Another replica reads them, in name order, and replaces one.
    let other = t.open().await;
    assert_eq!(
        other.settings().await.unwrap(),
        set(&[("banner", "\"hi\""), ("read_only", "true")])
    );
    other
        .put_settings(&set(&[("read_only", "false")]))
        .await
        .unwrap();
    assert_eq!(
        s.settings().await.unwrap(),
        set(&[("banner", "\"hi\""), ("read_only", "false")])
    );
}

async fn login_failures_count_reset_and_purge(t: &Target) {
    let s = t.open().await;
    let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    let counts = |v: Vec<harbor_core::identity::LoginFailures>| {
        let mut v: Vec<(String, u32, i64)> = v
            .into_iter()
            .map(|c| (c.key, c.failures, c.last_ms))
            .collect();
        v.sort();
        v
    };
    assert!(
        s.login_failures(&keys(&["a", "b"]))
            .await
            .unwrap()
            .is_empty()
    );
    s.record_login_failure(&keys(&["a", "b"]), 1_000, 0)
        .await
        .unwrap();
    s.record_login_failure(&keys(&["a"]), 2_000, 0)
        .await
        .unwrap();
    // Another replica sees them.
    let other = t.open().await;
    assert_eq!(
        counts(other.login_failures(&keys(&["a", "b", "c"])).await.unwrap()),
        [("a".into(), 2, 2_000), ("b".into(), 1, 1_000)]
    );
    // A counter whose last failure is older than the reset horizon starts again.
    s.record_login_failure(&keys(&["a", "b"]), 10_000, 1_500)
        .await
        .unwrap();
    assert_eq!(
        counts(s.login_failures(&keys(&["a", "b"])).await.unwrap()),
        [("a".into(), 3, 10_000), ("b".into(), 1, 10_000)]
    );
    s.clear_login_failures(&keys(&["a"])).await.unwrap();
    assert_eq!(
        counts(s.login_failures(&keys(&["a", "b"])).await.unwrap()),
        [("b".into(), 1, 10_000)]
    );
    s.record_login_failure(&keys(&["c"]), 20_000, 0)
        .await
        .unwrap();
    assert_eq!(s.purge_login_failures(15_000).await.unwrap(), 1);
    assert_eq!(
        counts(s.login_failures(&keys(&["a", "b", "c"])).await.unwrap()),
        [("c".into(), 1, 20_000)]
    );
}

async fn concurrent_login_failures_all_count(t: &Target) {
    let stores = [t.open().await, t.open().await];
    let key = vec!["k".to_string()];
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = stores[i % 2].clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            s.record_login_failure(&key, 5_000 + i as i64, 0).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let c = stores[0].login_failures(&key).await.unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].failures, 40, "no failure lost to a race");
}

/// OIDC links (0027_oidc_users.sql): created with their user in one transaction, unique by
/// user and by `subiss`, their sealed bytes replaced, gone with the user.
async fn oidc_links(t: &Target) {
    use harbor_core::oidc::OidcUserStore;
    let s = t.open().await;
    let (alice, link) = s
        .onboard_oidc_user_emitting(
            &new_user("alice", None),
            "a-subhttps://id",
            b"s1",
            b"t1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(link.user_id, alice.id);
    assert_eq!(link.subiss, "a-subhttps://id");
    assert_eq!(
        (link.secret.as_slice(), link.token.as_slice()),
        (&b"s1"[..], &b"t1"[..])
    );
    assert_eq!(s.oidc_link(alice.id).await.unwrap(), Some(link.clone()));
    assert_eq!(
        s.oidc_link_by_subiss("a-subhttps://id").await.unwrap(),
        Some(link.clone())
    );
    assert_eq!(s.oidc_link_by_subiss("nobody").await.unwrap(), None);
    // The same identity again: a conflict, and no user was left behind.
    let e = s
        .onboard_oidc_user_emitting(
            &new_user("alice2", None),
            "a-subhttps://id",
            b"s",
            b"t",
            &[],
        )
        .await;
    assert!(matches!(e, Err(Error::Conflict(_))), "{e:?}");
    assert!(s.user_by_name("alice2").await.unwrap().is_none());
    // A taken username: a conflict too.
    let e = s
        .onboard_oidc_user_emitting(&new_user("alice", None), "other", b"s", b"t", &[])
        .await;
    assert!(matches!(e, Err(Error::Conflict(_))), "{e:?}");

    s.set_oidc_secret(alice.id, b"s2").await.unwrap();
    s.set_oidc_token(alice.id, b"t2").await.unwrap();
    let now = s.oidc_link(alice.id).await.unwrap().unwrap();
    assert_eq!(
        (now.secret.as_slice(), now.token.as_slice()),
        (&b"s2"[..], &b"t2"[..])
    );
    assert_eq!(now.created_ms, link.created_ms);
    let bob = s.create_user(&new_user("bob", None)).await.unwrap();
    let e = s.set_oidc_secret(bob.id, b"x").await;
    assert!(matches!(e, Err(Error::NotFound(_))), "{e:?}");
    assert_eq!(s.oidc_link(bob.id).await.unwrap(), None);

    s.delete_user(alice.id).await.unwrap();
    assert_eq!(s.oidc_link(alice.id).await.unwrap(), None);
    assert_eq!(
        s.oidc_link_by_subiss("a-subhttps://id").await.unwrap(),
        None
    );
}
