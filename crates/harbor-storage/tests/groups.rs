//! User groups (`0026_user_groups.sql`) on SQLite and PostgreSQL: CRUD and uniqueness,
//! sign-in upserts, users' memberships, group members of projects and the effective
//! roles they give, and the migration of existing memberships.

use harbor_core::Error;
use harbor_core::groups::{GroupQuery, GroupType, NewUserGroup};
use harbor_core::identity::{Match, NewUser, Page, ProjectQuery};
use harbor_core::ports::IdentityStore;
use harbor_core::rbac::Role;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    group_crud_and_uniqueness,
    ensure_and_set_user_groups,
    groups_are_read_by_ids_at_once,
    group_members_give_effective_roles,
    migration_keeps_memberships,
);

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        email: None,
        realname: name.into(),
        comment: String::new(),
        password_hash: format!("$argon2id$hash-of-{name}"),
        sysadmin: false,
    }
}

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

fn group(name: &str, t: GroupType, dn: &str) -> NewUserGroup {
    NewUserGroup::new(name, t, dn).unwrap()
}

async fn group_crud_and_uniqueness(t: &Target) {
    let s = t.open().await;
    let devs = s
        .create_group_emitting(&group("devs", GroupType::Http, ""), &[])
        .await
        .unwrap();
    assert_eq!(devs.name, "devs");
    assert_eq!(devs.group_type, GroupType::Http);
    assert_eq!(devs.ldap_group_dn, "");
    assert!(devs.created_ms > 0);
    assert_eq!(s.group(devs.id).await.unwrap().as_ref(), Some(&devs));
    assert_eq!(s.group(devs.id + 100).await.unwrap(), None);

    // The same name in another type is another group; in the same type a conflict.
    let oidc = s
        .create_group_emitting(&group("devs", GroupType::Oidc, ""), &[])
        .await
        .unwrap();
    assert!(matches!(
        s.create_group_emitting(&group("devs", GroupType::Http, ""), &[]).await,
        Err(Error::Conflict(m)) if m.contains("devs")
    ));
    // LDAP groups are keyed by DN: two "ops" with other DNs are fine, the same DN not.
    let ops1 = s
        .create_group_emitting(&group("ops", GroupType::Ldap, "cn=ops,ou=a,dc=x"), &[])
        .await
        .unwrap();
    s.create_group_emitting(&group("ops", GroupType::Ldap, "cn=ops,ou=b,dc=x"), &[])
        .await
        .unwrap();
    assert!(matches!(
        s.create_group_emitting(&group("other", GroupType::Ldap, "cn=ops,ou=a,dc=x"), &[])
            .await,
        Err(Error::Conflict(m)) if m.contains("cn=ops,ou=a,dc=x")
    ));

    // Listing: filters and pages.
    let (gs, total) = s.groups(&GroupQuery::default(), all()).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(gs[0].id, devs.id);
    let q = GroupQuery {
        name: Some(Match::Fuzzy("DEV".into())),
        ..GroupQuery::default()
    };
    let (gs, total) = s.groups(&q, all()).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        gs.iter().map(|g| g.id).collect::<Vec<_>>(),
        [devs.id, oidc.id]
    );
    let q = GroupQuery {
        ldap_group_dn: Some("cn=ops,ou=a,dc=x".into()),
        ..GroupQuery::default()
    };
    assert_eq!(s.groups(&q, all()).await.unwrap().0, vec![ops1.clone()]);
    let q = GroupQuery {
        group_type: Some(GroupType::Ldap),
        ..GroupQuery::default()
    };
    assert_eq!(s.groups(&q, all()).await.unwrap().1, 2);
    let (gs, total) = s
        .groups(
            &GroupQuery::default(),
            Page {
                page: 2,
                page_size: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!((gs.len(), total), (1, 4));

    // Rename: into a taken name of its type is a conflict; a missing group not found.
    let renamed = s
        .rename_group_emitting(devs.id, "builders", &[])
        .await
        .unwrap();
    assert_eq!(renamed.name, "builders");
    assert_eq!(renamed.ldap_group_dn, "");
    assert!(matches!(
        s.rename_group_emitting(oidc.id, "devs-x", &[]).await,
        Ok(g) if g.name == "devs-x"
    ));
    s.create_group_emitting(&group("qa", GroupType::Http, ""), &[])
        .await
        .unwrap();
    assert!(matches!(
        s.rename_group_emitting(devs.id, "qa", &[]).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        s.rename_group_emitting(devs.id + 100, "x", &[]).await,
        Err(Error::NotFound(_))
    ));
    s.delete_group_emitting(devs.id, &[]).await.unwrap();
    assert_eq!(s.group(devs.id).await.unwrap(), None);
    assert!(matches!(
        s.delete_group_emitting(devs.id, &[]).await,
        Err(Error::NotFound(_))
    ));
}

async fn ensure_and_set_user_groups(t: &Target) {
    let s = t.open().await;
    let alice = s.create_user(&new_user("alice")).await.unwrap();
    let existing = s
        .create_group_emitting(&group("Renamed", GroupType::Ldap, "cn=a,dc=x"), &[])
        .await
        .unwrap();
    let ids = s
        .ensure_groups(
            GroupType::Ldap,
            &[
                ("a".into(), "cn=a,dc=x".into()),
                ("b".into(), "cn=b,dc=x".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(ids[0], existing.id, "an LDAP group is found by its DN");
    let b = s.group(ids[1]).await.unwrap().unwrap();
    assert_eq!(
        (b.name.as_str(), b.ldap_group_dn.as_str()),
        ("b", "cn=b,dc=x")
    );
    assert_eq!(
        s.group(existing.id).await.unwrap().unwrap().name,
        "Renamed",
        "an administrator's name is kept"
    );
    // Again: the same ids, nothing new.
    let again = s
        .ensure_groups(
            GroupType::Ldap,
            &[
                ("b".into(), "cn=b,dc=x".into()),
                ("a".into(), "cn=a,dc=x".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(again, vec![ids[1], ids[0]]);
    let oidc = s
        .ensure_groups(GroupType::Oidc, &[("a".into(), String::new())])
        .await
        .unwrap();
    assert_ne!(oidc[0], ids[0]);
    assert!(
        s.ensure_groups(GroupType::Http, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.groups(&GroupQuery::default(), all()).await.unwrap().1, 3);

    s.set_user_groups_emitting(alice.id, &[ids[1], ids[0], ids[0]], &[])
        .await
        .unwrap();
    let mine: Vec<i64> = s
        .user_groups(alice.id)
        .await
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    let mut want = vec![ids[0], ids[1]];
    want.sort();
    assert_eq!(mine, want);
    s.set_user_groups_emitting(alice.id, &[oidc[0]], &[])
        .await
        .unwrap();
    assert_eq!(s.user_groups(alice.id).await.unwrap()[0].id, oidc[0]);
    assert!(matches!(
        s.set_user_groups_emitting(alice.id, &[oidc[0] + 100], &[])
            .await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        s.user_groups(alice.id).await.unwrap().len(),
        1,
        "a failed replacement changes nothing"
    );
    s.set_user_groups_emitting(alice.id, &[], &[])
        .await
        .unwrap();
    assert!(s.user_groups(alice.id).await.unwrap().is_empty());
}

/// `groups_by_ids`: the groups that exist, each once, ordered by id, whatever the order,
/// the repeats and the number of ids asked for (more than one `IN` list's worth too).
async fn groups_are_read_by_ids_at_once(t: &Target) {
    let s = t.open().await;
    assert!(s.groups_by_ids(&[]).await.unwrap().is_empty());
    let mut made = Vec::new();
    for (name, t, dn) in [
        ("a", GroupType::Http, ""),
        ("b", GroupType::Oidc, ""),
        ("c", GroupType::Ldap, "cn=c,dc=x"),
    ] {
        made.push(
            s.create_group_emitting(&group(name, t, dn), &[])
                .await
                .unwrap(),
        );
    }
    let (a, b, c) = (&made[0], &made[1], &made[2]);
    let found = s.groups_by_ids(&[c.id, a.id, c.id, 0]).await.unwrap();
    assert_eq!(found, vec![a.clone(), c.clone()], "whole rows, by id, once");
    assert!(s.groups_by_ids(&[c.id + 1, -1]).await.unwrap().is_empty());

    // 1,000 ids, most of them of no group, the real ones at both ends.
    let mut many: Vec<i64> = (1..=1000).map(|i| c.id + i).collect();
    many.push(b.id);
    many.insert(0, c.id);
    many.insert(500, a.id);
    let ids: Vec<i64> = s
        .groups_by_ids(&many)
        .await
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(ids, [a.id, b.id, c.id]);
}

async fn group_members_give_effective_roles(t: &Target) {
    let s = t.open().await;
    let owner = s.create_user(&new_user("owner")).await.unwrap();
    let bob = s.create_user(&new_user("bob")).await.unwrap();
    let p = s.create_project("private", owner.id, false).await.unwrap();
    let other = s.create_project("other", owner.id, false).await.unwrap();
    let devs = s
        .create_group_emitting(&group("devs", GroupType::Http, ""), &[])
        .await
        .unwrap();
    let leads = s
        .create_group_emitting(&group("leads", GroupType::Oidc, ""), &[])
        .await
        .unwrap();

    let m = s
        .add_group_member_emitting(p.id, devs.id, Role::Developer, &[])
        .await
        .unwrap();
    assert_eq!(
        (m.project_id, m.user_id, m.group_id, m.username.as_str()),
        (p.id, 0, Some(devs.id), "devs")
    );
    assert_eq!((m.entity_id(), m.entity_type()), (devs.id, "g"));
    assert_eq!(s.member(p.id, m.id).await.unwrap().as_ref(), Some(&m));
    assert!(matches!(
        s.add_group_member_emitting(p.id, devs.id, Role::Guest, &[])
            .await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        s.add_group_member_emitting(p.id, leads.id + 100, Role::Guest, &[])
            .await,
        Err(Error::NotFound(_))
    ));
    let lm = s
        .add_group_member_emitting(p.id, leads.id, Role::Maintainer, &[])
        .await
        .unwrap();
    // The listing shows users and groups, filtered by either name.
    let (ms, total) = s.members(p.id, None, all()).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        ms.iter()
            .map(|m| (m.username.as_str(), m.entity_type()))
            .collect::<Vec<_>>(),
        [("owner", "u"), ("devs", "g"), ("leads", "g")]
    );
    let (ms, _) = s
        .members(p.id, Some(&Match::Fuzzy("EAD".into())), all())
        .await
        .unwrap();
    assert_eq!(ms, vec![lm.clone()]);

    // Bob is in no group: no role, no private project listed.
    let visible = ProjectQuery {
        visible_to: Some(bob.id),
        ..ProjectQuery::default()
    };
    assert!(s.roles(p.id, bob.id).await.unwrap().is_empty());
    assert_eq!(s.projects(&visible, all()).await.unwrap().1, 0);
    // In devs: developer, and the project is his.
    s.set_user_groups_emitting(bob.id, &[devs.id], &[])
        .await
        .unwrap();
    assert_eq!(s.roles(p.id, bob.id).await.unwrap(), vec![Role::Developer]);
    assert!(s.roles(other.id, bob.id).await.unwrap().is_empty());
    let (ps, _) = s.projects(&visible, all()).await.unwrap();
    assert_eq!(
        ps.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["private"]
    );
    // His own guest membership and both groups: all three, the highest first.
    s.add_member(p.id, bob.id, Role::Guest).await.unwrap();
    s.set_user_groups_emitting(bob.id, &[devs.id, leads.id], &[])
        .await
        .unwrap();
    assert_eq!(
        s.roles(p.id, bob.id).await.unwrap(),
        vec![Role::Maintainer, Role::Developer, Role::Guest]
    );
    assert_eq!(
        s.roles_in_projects(bob.id, &[other.id, p.id])
            .await
            .unwrap(),
        vec![
            (p.id, Role::Maintainer),
            (p.id, Role::Developer),
            (p.id, Role::Guest)
        ]
    );
    // A role change of the group member counts at once.
    s.set_member_role_emitting(p.id, lm.id, Role::ProjectAdmin, &[])
        .await
        .unwrap();
    assert_eq!(s.roles(p.id, bob.id).await.unwrap()[0], Role::ProjectAdmin);

    // Deleting a group removes its memberships; the other group and his own remain.
    s.delete_group_emitting(leads.id, &[]).await.unwrap();
    assert_eq!(s.member(p.id, lm.id).await.unwrap(), None);
    assert_eq!(
        s.user_groups(bob.id)
            .await
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        [devs.id]
    );
    assert_eq!(
        s.roles(p.id, bob.id).await.unwrap(),
        vec![Role::Developer, Role::Guest]
    );
    // Deleting the user removes his group memberships; the group stays.
    s.delete_user(bob.id).await.unwrap();
    assert!(s.user_groups(bob.id).await.unwrap().is_empty());
    assert!(s.group(devs.id).await.unwrap().is_some());
    // Deleting the project removes its group members.
    s.delete_project(p.id).await.unwrap();
    assert_eq!(s.member(p.id, m.id).await.unwrap(), None);
}

/// Memberships written before 0026 keep their ids, and a new one never reuses an id.
async fn migration_keeps_memberships(t: &Target) {
    t.migrate_to(25).await;
    sqlx::any::install_default_drivers();
    let url = match t.url.strip_prefix("sqlite://") {
        Some(path) => format!("sqlite://{path}?mode=rwc"),
        None => t.url.clone(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for sql in [
        "INSERT INTO users (id, username, realname, comment, password_hash, created_at, updated_at)
         VALUES (1, 'owner', '', '', 'h', 1, 1), (2, 'dev', '', '', 'h', 1, 1)",
        "INSERT INTO projects (id, name, owner_id, public, created_at, updated_at, metadata)
         VALUES (1, 'old', 1, 0, 1, 1, '{}')",
        "INSERT INTO project_members (id, project_id, user_id, role)
         VALUES (7, 1, 1, 1), (9, 1, 2, 2)",
        "DELETE FROM project_members WHERE id = 9",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let s = t.open().await;
    let (ms, total) = s.members(1, None, all()).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(
        (ms[0].id, ms[0].user_id, ms[0].group_id, ms[0].role),
        (7, 1, None, Role::ProjectAdmin)
    );
    let m = s.add_member(1, 2, Role::Developer).await.unwrap();
    if t.url.starts_with("sqlite://") {
        // AUTOINCREMENT's high-water mark survived the table's rebuild.
        assert!(m.id > 9, "id {} reused", m.id);
    }
    assert_eq!(s.roles(1, 2).await.unwrap(), vec![Role::Developer]);
}
