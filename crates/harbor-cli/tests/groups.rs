//! `harbor group ...` and `harbor member add --group` with the real binary against the
//! real server: create, list, filter, get, rename, search (any signed-in user), delete;
//! a group added to a project by name or id, listed as a group, its role changed and
//! removed; refusals with their exit codes.

#[path = "../../harbor-server/tests/common/mod.rs"]
mod common;
mod support;

use common::{ADMIN_PASSWORD, PASSWORD, TestServer, create_project, create_user};
use support::{fails, json, login, ok};

#[tokio::test]
async fn groups_from_the_command_line() {
    let s = TestServer::start().await;
    let admin = tempfile::tempdir().unwrap();
    let h = admin.path();
    login(h, &s.base, "admin", ADMIN_PASSWORD).await;
    create_project(&s, "team", false).await;

    let id = ok(h, &["group", "create", "devs", "--type", "http", "-q"]).await;
    let devs: i64 = id.trim().parse().expect("the id alone with -q");
    let created = json(
        h,
        &[
            "group",
            "create",
            "ops",
            "--type",
            "ldap",
            "--ldap-dn",
            "cn=ops,dc=example,dc=com",
        ],
    )
    .await;
    let ops = created["id"].as_i64().unwrap();
    ok(h, &["group", "create", "devs", "--type", "oidc"]).await;
    // Refusals: an LDAP group without DN (400: exit 1), a duplicate (409: exit 1), a bad
    // type (usage: 2), a missing group (4).
    fails(h, &["group", "create", "x", "--type", "ldap"], 1).await;
    let err = fails(h, &["group", "create", "devs", "--type", "http"], 1).await;
    assert!(err.contains("already exists"), "{err}");
    fails(h, &["group", "create", "x", "--type", "nis"], 2).await;
    fails(h, &["group", "get", "999999"], 4).await;

    let all = json(h, &["group", "list"]).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let table = ok(h, &["group", "list", "--name", "ev"]).await;
    assert!(
        table.lines().filter(|l| l.contains("devs")).count() == 2,
        "{table}"
    );
    assert!(table.contains("http") && table.contains("oidc"), "{table}");
    let by_dn = json(
        h,
        &["group", "list", "--ldap-dn", "cn=ops,dc=example,dc=com"],
    )
    .await;
    assert_eq!(by_dn[0]["id"], ops);
    let g = json(h, &["group", "get", &ops.to_string()]).await;
    assert_eq!(g["ldap_group_dn"], "cn=ops,dc=example,dc=com");
    assert_eq!(g["group_type"], 1);
    ok(h, &["group", "rename", &ops.to_string(), "operators"]).await;
    let g = json(h, &["group", "get", &ops.to_string()]).await;
    assert_eq!(g["group_name"], "operators");

    // A plain user searches but manages nothing.
    create_user(&s, "carol").await;
    let carol = tempfile::tempdir().unwrap();
    login(carol.path(), &s.base, "carol", PASSWORD).await;
    let found = json(carol.path(), &["group", "search", "oper"]).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["group_name"], "operators");
    fails(carol.path(), &["group", "list"], 3).await;
    fails(carol.path(), &["group", "delete", &ops.to_string()], 3).await;

    // Members: by id, and by name when the name is unique; "devs" is not (two types).
    ok(
        h,
        &[
            "member",
            "add",
            "team",
            "--group",
            &ops.to_string(),
            "--role",
            "guest",
        ],
    )
    .await;
    let err = fails(h, &["member", "add", "team", "--group", "devs"], 1).await;
    assert!(err.contains("several groups"), "{err}");
    ok(
        h,
        &[
            "member",
            "add",
            "team",
            "--group",
            &devs.to_string(),
            "--role",
            "developer",
        ],
    )
    .await;
    fails(h, &["member", "add", "team", "--group", "nobody"], 4).await;
    fails(h, &["member", "add", "team"], 2).await;
    let members = json(h, &["member", "list", "team"]).await;
    let group_members: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["entity_type"] == "g")
        .map(|m| {
            (
                m["entity_name"].as_str().unwrap(),
                m["role_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        group_members,
        [("operators", "guest"), ("devs", "developer")]
    );
    let table = ok(h, &["member", "list", "team"]).await;
    assert!(
        table
            .lines()
            .any(|l| l.contains("operators") && l.contains("group")),
        "{table}"
    );
    ok(
        h,
        &["member", "set-role", "team", "operators", "maintainer"],
    )
    .await;
    let members = json(h, &["member", "list", "team"]).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["entity_name"] == "operators" && m["role_name"] == "maintainer"),
        "{members}"
    );
    ok(h, &["member", "remove", "team", "operators"]).await;

    // Deleting a group removes its memberships.
    ok(h, &["group", "delete", &devs.to_string()]).await;
    fails(h, &["group", "get", &devs.to_string()], 4).await;
    let members = json(h, &["member", "list", "team"]).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["entity_type"] == "u"),
        "{members}"
    );
}
