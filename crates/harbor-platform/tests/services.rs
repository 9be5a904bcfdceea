//! The platform services on real stores (SQLite, and PostgreSQL when
//! `HARBOR_TEST_DATABASE_URL` is set): permission decisions, Harbor's rules, the events
//! each change writes with it, and the one-active-run rule under concurrent starts.

use std::sync::Arc;
use std::time::Duration;

use harbor_auth::robot::Level;
use harbor_auth::{Accounts, Principal};
use harbor_core::Error;
use harbor_core::events::{DomainEvent, EventStore};
use harbor_core::identity::{NewUser, RobotAccess, RobotPermission, User};
use harbor_core::ports::IdentityStore;
use harbor_core::project_meta::RawValue;
use harbor_core::rbac::Role;
use harbor_core::{Registry, RegistryConfig};
use harbor_platform::projects::CreateProject;
use harbor_platform::robots::{CreateRobot, RobotChanges};
use harbor_platform::{Platform, ProjectRef, SystemSettings, UserRef};
use harbor_storage::testing::TestTarget as Target;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};

harbor_storage::contract_tests!(
    one_run_per_kind_wins_concurrent_starts,
    project_changes_are_written_with_their_events,
    roles_decide_what_members_may_do,
    robots_change_only_robots_they_cover,
    sign_in_modes_record_group_memberships,
    secret_settings_are_cached_until_they_change,
);

struct Setup {
    platform: Platform,
    store: Arc<SqlMetadataStore>,
    admin: Principal,
    _dir: tempfile::TempDir,
}

async fn setup(t: &Target) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(t.open().await);
    let accounts = Arc::new(Accounts::new(store.clone(), "robot$"));
    accounts.bootstrap(Some("Test-Passw0rd")).await.unwrap();
    let admin = store
        .user_by_name(harbor_auth::accounts::ADMIN)
        .await
        .unwrap()
        .unwrap();
    let settings = SystemSettings::new(store.clone(), Duration::from_millis(1));
    let blobs = Arc::new(ObjectBlobStore::filesystem(dir.path(), false).unwrap());
    let registry = Registry::new(blobs, store.clone(), RegistryConfig::default());
    let platform = Platform::new(registry, accounts, store.clone(), settings);
    Setup {
        platform,
        store,
        admin: Principal::User(admin),
        _dir: dir,
    }
}

async fn user(s: &Setup, name: &str) -> User {
    s.store
        .create_user(&NewUser {
            username: name.into(),
            email: None,
            realname: name.into(),
            comment: String::new(),
            password_hash: "x".into(),
            sysadmin: false,
        })
        .await
        .unwrap()
}

async fn kinds(s: &Setup) -> Vec<String> {
    s.store
        .events_after(0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e.actor, e.event.kind()))
        .collect()
}

fn named(name: &str) -> CreateProject {
    CreateProject {
        name: name.into(),
        ..CreateProject::default()
    }
}

async fn one_run_per_kind_wins_concurrent_starts(t: &Target) {
    let s = setup(t).await;
    let starts = (0..8).map(|_| {
        let (jobs, admin) = (s.platform.jobs.clone(), s.admin.clone());
        tokio::spawn(async move { jobs.start(&admin, "GARBAGE_COLLECTION", "{}".into()).await })
    });
    let mut won = Vec::new();
    let mut refused = 0;
    for h in starts {
        match h.await.unwrap() {
            Ok(job) => won.push(job),
            Err(Error::Conflict(m)) => {
                assert!(m.contains("is already pending"), "{m}");
                refused += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((won.len(), refused), (1, 7));
    // Exactly one JobStarted event, for the run that was queued.
    let events = s.store.events_after(0, 100).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].event,
        DomainEvent::JobStarted {
            kind: "GARBAGE_COLLECTION".into(),
            job_id: won[0].id
        }
    );
    // Another kind is not blocked; anyone but a system administrator is refused.
    s.platform
        .jobs
        .start(&s.admin, "FSCK", "{}".into())
        .await
        .unwrap();
    let bob = Principal::User(user(&s, "bob").await);
    let err = s.platform.jobs.start(&bob, "FSCK", "{}".into()).await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    let err = s
        .platform
        .jobs
        .start(&Principal::Anonymous, "FSCK", "{}".into())
        .await;
    assert!(matches!(err, Err(Error::Unauthorized(_))), "{err:?}");
}

async fn project_changes_are_written_with_their_events(t: &Target) {
    let s = setup(t).await;
    let alice = Principal::User(user(&s, "alice").await);
    let p = s
        .platform
        .projects
        .create(
            &alice,
            CreateProject {
                name: "team".into(),
                metadata: [("public".to_owned(), RawValue::Bool(true))].into(),
                // Only system administrators choose a limit: ignored for alice.
                storage_limit: Some(1),
                registry_id: None,
                cve_allowlist: None,
            },
        )
        .await
        .unwrap();
    assert!(p.public);
    assert_eq!(p.owner_name, "alice");
    let roles = s.store.roles(p.id, alice.user_id().unwrap()).await.unwrap();
    assert_eq!(roles, [Role::ProjectAdmin]);
    // A duplicate is refused and writes no event.
    let dup = s.platform.projects.create(&alice, named("team")).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    // A key this server cannot enforce yet is refused by name, before anything is written.
    let r = ProjectRef::Name("team".into());
    let bad = [("proxy_referrer_api".to_owned(), RawValue::Bool(true))].into();
    let err = s.platform.projects.set_metadata(&alice, &r, &bad).await;
    assert!(
        matches!(&err, Err(Error::Invalid(m)) if m.contains("proxy_referrer_api")),
        "{err:?}"
    );
    let ok = [("auto_scan".to_owned(), RawValue::Bool(false))].into();
    s.platform
        .projects
        .set_metadata(&alice, &r, &ok)
        .await
        .unwrap();
    s.platform
        .projects
        .remove_metadata(&alice, &r, "auto_scan")
        .await
        .unwrap();
    s.platform.projects.delete(&alice, &r).await.unwrap();
    assert!(s.store.project(p.id).await.unwrap().is_none());
    assert_eq!(
        kinds(&s).await,
        [
            "alice project_created",
            "alice project_metadata_set",
            "alice project_metadata_removed",
            "alice project_deleted",
        ]
    );
    // Anonymous callers create nothing.
    let err = s
        .platform
        .projects
        .create(&Principal::Anonymous, named("x"))
        .await;
    assert!(matches!(err, Err(Error::Unauthorized(_))), "{err:?}");
}

async fn roles_decide_what_members_may_do(t: &Target) {
    let s = setup(t).await;
    let owner = Principal::User(user(&s, "owner").await);
    let guest = user(&s, "guest").await;
    let stranger = Principal::User(user(&s, "stranger").await);
    s.platform
        .projects
        .create(&owner, named("private"))
        .await
        .unwrap();
    let r = ProjectRef::Name("private".into());
    let m = s
        .platform
        .members
        .add(&owner, &r, &UserRef::Name("guest".into()), Role::Guest)
        .await
        .unwrap();
    let guest = Principal::User(guest);
    // A guest may read members but not add or change them, nor delete the project.
    assert_eq!(
        s.platform
            .members
            .list(&guest, &r, None, Default::default())
            .await
            .unwrap()
            .1,
        2
    );
    let err = s
        .platform
        .members
        .add(&guest, &r, &UserRef::Name("stranger".into()), Role::Guest)
        .await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    let err = s.platform.projects.delete(&guest, &r).await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    // A stranger cannot tell the private project from a missing one.
    let err = s.platform.members.get(&stranger, &r, m.id).await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    // Nobody changes their own role.
    let own = s
        .platform
        .members
        .list(&owner, &r, None, Default::default())
        .await
        .unwrap()
        .0
        .into_iter()
        .find(|m| m.username == "owner")
        .unwrap();
    let err = s
        .platform
        .members
        .set_role(&owner, &r, own.id, Role::Guest)
        .await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    s.platform
        .members
        .set_role(&owner, &r, m.id, Role::Developer)
        .await
        .unwrap();
    s.platform.members.remove(&owner, &r, m.id).await.unwrap();
    let got = kinds(&s).await;
    assert_eq!(
        got[1..],
        [
            "owner member_added",
            "owner member_updated",
            "owner member_removed"
        ]
    );
}

fn repo_access(project: &str, actions: &[(&str, &str)]) -> Vec<RobotPermission> {
    vec![RobotPermission {
        kind: "project".into(),
        namespace: project.into(),
        access: actions
            .iter()
            .map(|(resource, action)| RobotAccess {
                resource: (*resource).into(),
                action: (*action).into(),
                effect: String::new(),
            })
            .collect(),
    }]
}

fn robot(name: &str, permissions: Vec<RobotPermission>) -> CreateRobot {
    CreateRobot {
        name: name.into(),
        description: String::new(),
        level: Level::Project,
        duration: -1,
        disable: false,
        permissions,
        secret: None,
    }
}

async fn robots_change_only_robots_they_cover(t: &Target) {
    let s = setup(t).await;
    s.platform
        .projects
        .create(&s.admin, named("team"))
        .await
        .unwrap();
    let manager_perms = repo_access(
        "team",
        &[
            ("project", "read"),
            ("robot", "read"),
            ("robot", "update"),
            ("repository", "pull"),
        ],
    );
    let manager = s
        .platform
        .robots
        .create(&s.admin, robot("manager", manager_perms))
        .await
        .unwrap();
    let weak = s
        .platform
        .robots
        .create(
            &s.admin,
            robot("weak", repo_access("team", &[("repository", "pull")])),
        )
        .await
        .unwrap();
    let strong_perms = repo_access("team", &[("repository", "push"), ("repository", "pull")]);
    let strong = s
        .platform
        .robots
        .create(&s.admin, robot("strong", strong_perms))
        .await
        .unwrap();
    assert_eq!(strong.login, "robot$team+strong");
    let by = Principal::Robot {
        robot: manager.robot.clone(),
        login: manager.login.clone(),
    };
    // Taking over a more powerful robot by giving it a known secret is refused...
    let err = s
        .platform
        .robots
        .refresh_secret(&by, strong.robot.id, Some("Chosen-Secret-1".into()))
        .await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    let err = s
        .platform
        .robots
        .update(
            &by,
            strong.robot.id,
            RobotChanges {
                disable: Some(true),
                ..RobotChanges::default()
            },
        )
        .await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    // ...while a robot it covers may be refreshed.
    let secret = s
        .platform
        .robots
        .refresh_secret(&by, weak.robot.id, None)
        .await
        .unwrap();
    assert!(secret.len() >= 8);
    // A robot cannot extend its own rights.
    let err = s
        .platform
        .robots
        .update(
            &by,
            manager.robot.id,
            RobotChanges {
                duration: Some(10),
                ..RobotChanges::default()
            },
        )
        .await;
    assert!(matches!(err, Err(Error::Forbidden(_))), "{err:?}");
    s.platform
        .robots
        .delete(&s.admin, strong.robot.id)
        .await
        .unwrap();
    let got = kinds(&s).await;
    assert_eq!(
        got[1..],
        [
            "admin robot_created",
            "admin robot_created",
            "admin robot_created",
            "robot$team+manager robot_updated",
            "admin robot_deleted",
        ]
    );
    let refreshed = s.store.events_after(0, 100).await.unwrap();
    assert!(refreshed.iter().any(|e| matches!(
        &e.event,
        DomainEvent::RobotUpdated { robot, secret_refreshed: true, .. } if robot == "robot$team+weak"
    )));
}

/// What a sign-in mode does with the groups an identity provider names: `ensure` them
/// (checked, created once, found again by name or DN), then `set_user_groups`, which
/// writes (with its event) only when the memberships change; the user's roles follow.
async fn sign_in_modes_record_group_memberships(t: &Target) {
    use harbor_core::groups::GroupType;
    use harbor_platform::GroupRef;
    let s = setup(t).await;
    let bob = user(&s, "bob").await;
    let p = s
        .platform
        .projects
        .create(
            &s.admin,
            CreateProject {
                name: "team".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ldap = [
        ("devs".to_owned(), "cn=devs,ou=groups,dc=x".to_owned()),
        ("ops".to_owned(), "cn=ops,ou=groups,dc=x".to_owned()),
    ];
    let ids = s
        .platform
        .groups
        .ensure(GroupType::Ldap, &ldap)
        .await
        .unwrap();
    assert_eq!(
        s.platform
            .groups
            .ensure(GroupType::Ldap, &ldap)
            .await
            .unwrap(),
        ids,
        "found again, not created twice"
    );
    // Bad names or DNs from the provider are refused, not stored.
    for bad in [
        ("".to_owned(), "cn=x,dc=x".to_owned()),
        ("x".to_owned(), String::new()),
    ] {
        assert!(matches!(
            s.platform.groups.ensure(GroupType::Ldap, &[bad]).await,
            Err(Error::Invalid(_))
        ));
    }
    s.platform
        .members
        .add_group(
            &s.admin,
            &ProjectRef::Name("team".into()),
            &GroupRef::LdapDn("cn=devs,ou=groups,dc=x".into()),
            Role::Developer,
        )
        .await
        .unwrap();

    let before = kinds(&s).await.len();
    s.platform
        .groups
        .set_user_groups(bob.id, &ids)
        .await
        .unwrap();
    s.platform
        .groups
        .set_user_groups(bob.id, &[ids[1], ids[0], ids[0]])
        .await
        .unwrap();
    let after = kinds(&s).await;
    assert_eq!(
        after[before..],
        ["bob user_groups_set".to_owned()],
        "one change, one event"
    );
    let last = s.store.events_after(0, 1000).await.unwrap().pop().unwrap();
    assert_eq!(
        last.event,
        DomainEvent::UserGroupsSet {
            user: "bob".into(),
            groups: vec!["devs".into(), "ops".into()],
        },
        "the groups by name, in id order"
    );
    assert_eq!(
        s.store.roles(p.id, bob.id).await.unwrap(),
        [Role::Developer]
    );
    let names: Vec<String> = s
        .platform
        .groups
        .of_user(bob.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["devs", "ops"]);
    let missing = ids[1] + 100;
    assert!(matches!(
        s.platform
            .groups
            .set_user_groups(bob.id, &[ids[0], missing])
            .await,
        Err(Error::NotFound(m)) if m == format!("user group {missing} not found")
    ));
    // The user is read only for a change (its name goes in the event): with nothing to
    // change, not even a missing one is noticed.
    let nobody = bob.id + 1000;
    assert!(matches!(
        s.platform
            .groups
            .set_user_groups(nobody, &ids)
            .await,
        Err(Error::NotFound(m)) if m == format!("user {nobody} not found")
    ));
    s.platform
        .groups
        .set_user_groups(nobody, &[])
        .await
        .unwrap();
    assert_eq!(
        kinds(&s).await.len(),
        after.len(),
        "nothing written on failure"
    );
    s.platform
        .groups
        .set_user_groups(bob.id, &[])
        .await
        .unwrap();
    assert!(s.store.roles(p.id, bob.id).await.unwrap().is_empty());
    // Only administrators manage groups; a user may search them.
    let by_bob = Principal::User(bob.clone());
    let page = harbor_core::identity::Page::default();
    assert!(matches!(
        s.platform
            .groups
            .list(&by_bob, &Default::default(), page)
            .await,
        Err(Error::Forbidden(_))
    ));
    let (found, total) = s
        .platform
        .groups
        .search(&by_bob, "dev", page)
        .await
        .unwrap();
    assert_eq!((found.len(), total), (1, 1));
}

/// A secret setting is opened from the cached settings, not read each time: a value
/// stored by another replica shows once the cache is older than its TTL, one stored
/// through these settings at once, a cleared one at once; the clear text is never in
/// `Debug` output.
async fn secret_settings_are_cached_until_they_change(t: &Target) {
    use harbor_auth::sealing::{SealingKey, SealingKeys};
    let store = Arc::new(t.open().await);
    let keys = SealingKeys::new(SealingKey::generate().unwrap(), Vec::new());
    let ttl = Duration::from_secs(2);
    let settings = SystemSettings::new(store.clone(), ttl).with_keys(Arc::new(keys));
    let name = "ldap_search_password";
    let sealed = |plain: &str| serde_json::Value::from(settings.seal_secret(name, plain).unwrap());
    assert_eq!(settings.secret(name).await.unwrap(), None);

    settings
        .put(&[(name.into(), sealed("First-Passw0rd"))])
        .await
        .unwrap();
    let secret = || async { settings.secret(name).await.unwrap() };
    assert_eq!(secret().await.as_deref(), Some("First-Passw0rd"));
    // Another replica stores a new one: the cached value holds for the TTL...
    store
        .put_settings(&[(name.into(), sealed("Second-Passw0rd").to_string())])
        .await
        .unwrap();
    assert_eq!(secret().await.as_deref(), Some("First-Passw0rd"));
    // ...then the stored one is read and opened.
    tokio::time::sleep(ttl).await;
    assert_eq!(secret().await.as_deref(), Some("Second-Passw0rd"));

    // Changed or cleared here: at once.
    settings
        .put(&[(name.into(), sealed("Third-Passw0rd"))])
        .await
        .unwrap();
    assert_eq!(secret().await.as_deref(), Some("Third-Passw0rd"));
    assert!(!format!("{settings:?}").contains("Passw0rd"));
    settings
        .put(&[(name.into(), serde_json::Value::from(""))])
        .await
        .unwrap();
    assert_eq!(secret().await, None);
}
