//! Users: bootstrap, CRUD, policy, the current user, passwords, sysadmin rights.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

#[tokio::test]
async fn bootstrap_creates_admin_and_public_library() {
    let s = TestServer::start_strict().await;
    let current = "/api/v2.0/users/current";
    let me: Value = get_json(&client(), &s, current).await;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["sysadmin_flag"], true);
    let library = "/api/v2.0/projects/library";
    let r = get_with(&anon_client(), &s, library, ("X-Is-Resource-Name", "true")).await;
    let lib: Value = r.json().await.unwrap();
    assert_eq!(lib["name"], "library");
    assert_eq!(lib["metadata"]["public"], "true");
    // A restart does not bootstrap again (and keeps the password).
    let s = s.restart().await;
    let resp = get(&client(), &s, "/api/v2.0/users?page_size=100").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("1"));
    // Wrong password, unknown user, malformed header: 401.
    for c in [
        as_user("admin", "Wrong-passw0rd"),
        as_user("ghost", PASSWORD),
    ] {
        let r = get(&c, &s, current).await;
        harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    let r = get_with(&anon_client(), &s, current, ("authorization", "Basic !!!")).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn user_lifecycle_and_rules() {
    let s = TestServer::start_strict().await;
    let alice = create_user(&s, "alice").await;
    // Harbor leaves out what it has no value for (`oidc_user_meta`), never `null`.
    let u: Value = get_json(&client(), &s, &format!("/api/v2.0/users/{alice}")).await;
    assert!(u.as_object().unwrap().values().all(|v| !v.is_null()), "{u}");
    // Duplicate username and e-mail, bad names, weak passwords.
    for (body, status, code) in [
        (
            json!({"username": "alice", "email": "other@example.com", "password": PASSWORD}),
            StatusCode::CONFLICT,
            "CONFLICT",
        ),
        (
            json!({"username": "alice2", "email": "alice@example.com", "password": PASSWORD}),
            StatusCode::CONFLICT,
            "CONFLICT",
        ),
        (
            json!({"username": "robot$x", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"username": "bob", "password": "short"}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"username": "bob", "password": "alllowercase1"}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"username": "bob", "email": "not-an-email", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"username": "bob"}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
    ] {
        let r = admin(&s, Method::POST, "/api/v2.0/users", Some(body)).await;
        harbor_error(r, status, code).await;
    }
    // Malformed JSON gets Harbor's error body too.
    let r = client()
        .post(s.url("/api/v2.0/users"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    let a = as_user("alice", PASSWORD);
    let current = "/api/v2.0/users/current";
    let alice_path = format!("/api/v2.0/users/{alice}");
    // Non-admins cannot list, create or delete users, nor read others.
    let r = get(&a, &s, "/api/v2.0/users").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let body = json!({"username": "eve", "password": PASSWORD});
    let r = send(&a, &s, Method::POST, "/api/v2.0/users", Some(body)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = get(&a, &s, "/api/v2.0/users/1").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    // ... but may read and update themselves, and search names.
    let me: Value = get_json(&a, &s, &alice_path).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert!(me.get("password").is_none() && !me.to_string().contains("argon2"));
    let body = json!({"realname": "Alice A."});
    let r = send(&a, &s, Method::PUT, &alice_path, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = get_json(&a, &s, current).await;
    assert_eq!(me["realname"], "Alice A.");
    let found: Vec<Value> = get_json(&a, &s, "/api/v2.0/users/search?username=ali").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["user_id"], alice);

    // Password change: needs the old password; then only the new one works.
    let password = format!("{alice_path}/password");
    let change = |old: &str, new: &str| {
        let body = json!({"old_password": old, "new_password": new});
        send(&a, &s, Method::PUT, &password, Some(body))
    };
    let r = change("Wrong-passw0rd", "NewPassw0rd").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = change(PASSWORD, "weak").await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let r = change(PASSWORD, "NewPassw0rd").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        status_of(&a, &s, current).await,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let a = as_user("alice", "NewPassw0rd");
    assert_eq!(status_of(&a, &s, current).await, StatusCode::OK);
    // An administrator resets it without the old one.
    let body = json!({"new_password": "Reset-Passw0rd"});
    let r = admin(&s, Method::PUT, &password, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let a = as_user("alice", "Reset-Passw0rd");

    // Sysadmin rights.
    let sysadmin = format!("{alice_path}/sysadmin");
    let flag = |on: bool| Some(json!({"sysadmin_flag": on}));
    let r = admin(&s, Method::PUT, &sysadmin, flag(true)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status_of(&a, &s, "/api/v2.0/users").await, StatusCode::OK);
    let r = admin(&s, Method::PUT, "/api/v2.0/users/1/sysadmin", flag(false)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = admin(&s, Method::PUT, &sysadmin, flag(false)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&a, &s, "/api/v2.0/users").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // Listing: filters and paging headers.
    for n in ["bob", "carol", "dave"] {
        create_user(&s, n).await;
    }
    let r = get(&client(), &s, "/api/v2.0/users?page=1&page_size=2").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("5"));
    let link = header(r.headers(), "link").unwrap().to_owned();
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let page: Vec<Value> = r.json().await.unwrap();
    assert_eq!(page.len(), 2);
    let v: Vec<Value> = get_json(&client(), &s, "/api/v2.0/users?q=username%3D~aro").await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["username"], "carol");
    let r = get(&client(), &s, "/api/v2.0/users?q=bogus%3D1").await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    for bad in ["page=x", "page_size=1000"] {
        let r = get(&client(), &s, &format!("/api/v2.0/users?{bad}")).await;
        harbor_error(r, StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY").await;
    }

    // Deletion: not oneself; a deleted user can no longer sign in.
    let r = admin(&s, Method::DELETE, "/api/v2.0/users/1", None).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = admin(&s, Method::DELETE, &alice_path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status_of(&a, &s, current).await, StatusCode::UNAUTHORIZED);
    let r = admin(&s, Method::DELETE, &alice_path, None).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = get(&client(), &s, "/api/v2.0/users/abc").await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
}

#[tokio::test]
async fn ping_health_systeminfo() {
    let s = TestServer::start_strict().await;
    let r = get(&anon_client(), &s, "/api/v2.0/ping").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "Pong");
    let h: Value = get_json(&anon_client(), &s, "/api/v2.0/health").await;
    assert_eq!(h["status"], "healthy");
    assert!(
        h["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "database" && c["status"] == "healthy")
    );
    let anon: Value = get_json(&anon_client(), &s, "/api/v2.0/systeminfo").await;
    assert_eq!(anon["auth_mode"], "db_auth");
    assert!(
        anon.get("registry_url").is_none(),
        "anonymous callers see the public subset"
    );
    assert!(
        anon["current_time"].as_str().unwrap().ends_with('Z'),
        "{anon}"
    );
    let full: Value = get_json(&client(), &s, "/api/v2.0/systeminfo").await;
    assert_eq!(full["registry_url"], s.addr.to_string());
    let provider = if std::env::var("HARBOR_TEST_BACKEND").as_deref() == Ok("scaled") {
        "s3"
    } else {
        "filesystem"
    };
    assert_eq!(full["registry_storage_provider_name"], provider);
    assert_eq!(full["robot_token_duration"], 30);
    // The job service's worker pool: Harbor's types.
    let pools: Vec<Value> = get_json(&client(), &s, "/api/v2.0/jobservice/pools").await;
    assert_eq!(pools.len(), 1, "this process runs workers: {pools:?}");
    for p in &pools {
        assert!(p["concurrency"].is_u64(), "{p}");
        assert!(
            p["start_at"].is_string() && p["heartbeat_at"].is_string(),
            "{p}"
        );
        assert!(p["host"].as_str().is_some_and(|h| !h.is_empty()), "{p}");
    }
    let r = get(&anon_client(), &s, "/api/v2.0/no-such-thing").await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = send(&anon_client(), &s, Method::DELETE, "/api/v2.0/ping", None).await;
    harbor_error(r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
}

/// `GET /users/current/permissions`: a project's permissions by role, relative or not;
/// the system level for administrators; an empty list without a scope, as in Harbor.
#[tokio::test]
async fn current_permissions_by_scope() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "team", false).await;
    create_user(&s, "gus").await;
    add_member(&s, "team", "gus", 3).await;
    let gus = as_user("gus", PASSWORD);
    let path = "/api/v2.0/users/current/permissions";
    let has =
        |v: &[Value], r: &str, a: &str| v.iter().any(|p| p["resource"] == r && p["action"] == a);

    let v: Vec<Value> = get_json(
        &gus,
        &s,
        &format!("{path}?scope=/project/{pid}&relative=true"),
    )
    .await;
    assert!(has(&v, "repository", "pull"), "{v:?}");
    assert!(
        !has(&v, "repository", "push"),
        "a guest may not push: {v:?}"
    );
    let v: Vec<Value> = get_json(&gus, &s, &format!("{path}?scope=/project/{pid}")).await;
    assert!(
        has(&v, &format!("/project/{pid}/repository"), "pull"),
        "{v:?}"
    );
    // System level: administrators hold it, others nothing.
    let v: Vec<Value> = get_json(
        &client(),
        &s,
        &format!("{path}?scope=/system&relative=true"),
    )
    .await;
    assert!(
        has(&v, "project", "create") && has(&v, "audit-log", "list"),
        "{v:?}"
    );
    let v: Vec<Value> = get_json(&client(), &s, &format!("{path}?scope=/system")).await;
    assert!(has(&v, "/system/project", "create"), "{v:?}");
    let v: Vec<Value> = get_json(&gus, &s, &format!("{path}?scope=/system")).await;
    assert!(v.is_empty(), "{v:?}");
    // No scope: an empty list. A project the caller cannot see: 404. Nonsense: 400.
    let v: Vec<Value> = get_json(&gus, &s, path).await;
    assert!(v.is_empty(), "{v:?}");
    create_project(&s, "hidden", false).await;
    let r = get(&gus, &s, &format!("{path}?scope=/project/hidden")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(&gus, &s, &format!("{path}?scope=/galaxy")).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let r = get(&gus, &s, &format!("{path}?scope=/system&relative=maybe")).await;
    harbor_error(r, StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY").await;
}

/// `GET /users/current/permissions?scope=/project/<id>&relative=true` for every role: the
/// exact set the RBAC matrix grants (the project itself as `.`, as in Harbor), checked
/// against a few documented cells; administrators everything but `scanner-pull`; a user
/// without a role in a public project the public grants; anonymous callers 401.
#[tokio::test]
async fn current_permissions_for_every_role() {
    use harbor_core::rbac::{Action, ProjectAccess, Resource, Role};
    use std::collections::BTreeSet;

    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "team", false).await;
    let public = create_project(&s, "open", true).await;
    let path = "/api/v2.0/users/current/permissions";
    let name = |r: Resource| match r {
        Resource::Project => ".".to_owned(),
        other => other.as_str().to_owned(),
    };
    let expected = |access: &ProjectAccess| -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for &r in Resource::ALL {
            for &a in Action::ALL {
                if access.allows(r, a) {
                    out.insert((name(r), a.as_str().to_owned()));
                }
            }
        }
        out
    };
    let answer = |v: Vec<Value>| -> BTreeSet<(String, String)> {
        v.iter()
            .map(|p| {
                (
                    p["resource"].as_str().unwrap_or_default().to_owned(),
                    p["action"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let pair = |r: &str, a: &str| (r.to_owned(), a.to_owned());
    // (role, documented cells it holds, documented cells it lacks)
    let roles = [
        (
            Role::ProjectAdmin,
            vec![
                pair(".", "delete"),
                pair("member", "create"),
                pair("log", "list"),
            ],
            vec![pair("repository", "scanner-pull")],
        ),
        (
            Role::Maintainer,
            vec![
                pair("repository", "delete"),
                pair("immutable-tag", "create"),
            ],
            vec![
                pair("robot", "create"),
                pair("log", "list"),
                pair(".", "update"),
            ],
        ),
        (
            Role::Developer,
            vec![pair("repository", "push"), pair("tag-retention", "operate")],
            vec![pair("artifact", "delete"), pair("immutable-tag", "list")],
        ),
        (
            Role::Guest,
            vec![pair("member", "list"), pair("robot", "list")],
            vec![
                pair("artifact-label", "create"),
                pair("tag-retention", "read"),
            ],
        ),
        (
            Role::LimitedGuest,
            vec![pair("repository", "pull"), pair(".", "read")],
            vec![pair("member", "list"), pair("log", "list")],
        ),
    ];
    for (role, has, lacks) in roles {
        let user = format!("u{}", role.id());
        create_user(&s, &user).await;
        add_member(&s, "team", &user, role.id()).await;
        let c = as_user(&user, PASSWORD);
        let got = answer(
            get_json(
                &c,
                &s,
                &format!("{path}?scope=/project/{pid}&relative=true"),
            )
            .await,
        );
        let access = ProjectAccess {
            roles: vec![role],
            ..ProjectAccess::default()
        };
        assert_eq!(got, expected(&access), "{}", role.name());
        for p in &has {
            assert!(got.contains(p), "{} holds {p:?}", role.name());
        }
        for p in &lacks {
            assert!(!got.contains(p), "{} lacks {p:?}", role.name());
        }
        // Absolute resources: the project itself, then its sub-resources.
        let abs = answer(get_json(&c, &s, &format!("{path}?scope=/project/{pid}")).await);
        assert_eq!(abs.len(), got.len(), "{}", role.name());
        assert!(abs.contains(&pair(&format!("/project/{pid}"), "read")));
        assert!(abs.contains(&pair(&format!("/project/{pid}/repository"), "pull")));
    }

    // A system administrator without a role: everything but scanner-pull.
    let got = answer(
        get_json(
            &client(),
            &s,
            &format!("{path}?scope=/project/{pid}&relative=true"),
        )
        .await,
    );
    let admin = ProjectAccess {
        sysadmin: true,
        ..ProjectAccess::default()
    };
    assert_eq!(got, expected(&admin));
    assert_eq!(got.len(), Resource::ALL.len() * (Action::ALL.len() - 1));
    assert!(!got.iter().any(|(_, a)| a == "scanner-pull"));

    // A signed-in user without a role: the public grants in a public project, and the
    // private one is hidden like a missing one.
    create_user(&s, "stranger").await;
    let stranger = as_user("stranger", PASSWORD);
    let got = answer(
        get_json(
            &stranger,
            &s,
            &format!("{path}?scope=/project/{public}&relative=true"),
        )
        .await,
    );
    let anyone = ProjectAccess {
        public: true,
        ..ProjectAccess::default()
    };
    assert_eq!(got, expected(&anyone));
    assert!(
        got.contains(&pair("repository", "pull")) && !got.contains(&pair("repository", "push"))
    );
    let r = get(&stranger, &s, &format!("{path}?scope=/project/{pid}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Anonymous callers: 401, as Harbor (the endpoint requires a signed-in caller), even
    // for a public project.
    let r = get(
        &anon_client(),
        &s,
        &format!("{path}?scope=/project/{public}&relative=true"),
    )
    .await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}
