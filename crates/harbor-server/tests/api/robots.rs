//! Robot accounts: creation rules, secrets (shown once, rotated by PATCH), registry access
//! with their credentials, disabling and expiry, the subset rule.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

#[tokio::test]
async fn project_robot_pushes_and_pulls_within_its_project() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_project(&s, "other", false).await;
    let access = [("repository", "push"), ("repository", "pull")];
    let (id, login, secret) = create_robot(&s, "team", "ci", &access).await;
    assert_eq!(login, "robot$team+ci");
    assert!(secret.len() >= 24);
    // The secret is never shown again.
    let path = format!("/api/v2.0/robots/{id}");
    let r: Value = get_json(&client(), &s, &path).await;
    assert_eq!(r["name"], "robot$team+ci");
    assert_eq!(r["level"], "project");
    assert_eq!(r["expires_at"], -1);
    assert!(r.get("secret").is_none() && !r.to_string().contains(&secret));
    // Basic auth with the robot on /v2/: push and pull in its project only.
    let robot = as_user(&login, &secret);
    let (m, _, _) = push_image_blobs(&s, "team/app", 1).await;
    let r = put_manifest_as(&robot, &s, "team/app", "v1", &m).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v1 = "/v2/team/app/manifests/v1";
    assert_eq!(status_of(&robot, &s, v1).await, StatusCode::OK);
    let r = get(&robot, &s, "/v2/other/app/manifests/v1").await;
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
    // It cannot delete (not granted).
    let by_digest = format!("/v2/team/app/manifests/{}", sha256(&m));
    let r = send(&robot, &s, Method::DELETE, &by_digest, None).await;
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
    // Wrong secret.
    let r = get(&as_user(&login, "Wrong-secret1"), &s, v1).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Rotation: the old secret stops working at once.
    let r = admin(&s, Method::PATCH, &path, Some(json!({}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let fresh: Value = r.json().await.unwrap();
    let fresh = fresh["secret"].as_str().unwrap().to_owned();
    assert_ne!(fresh, secret);
    assert_eq!(status_of(&robot, &s, v1).await, StatusCode::UNAUTHORIZED);
    let robot = as_user(&login, &fresh);
    assert_eq!(status_of(&robot, &s, v1).await, StatusCode::OK);
    // A chosen secret must meet the policy.
    let r = admin(&s, Method::PATCH, &path, Some(json!({"secret": "weak"}))).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // Disabled: refused; enabled again: accepted.
    let r = admin(&s, Method::PUT, &path, Some(json!({"disable": true}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status_of(&robot, &s, v1).await, StatusCode::UNAUTHORIZED);
    let r = admin(&s, Method::PUT, &path, Some(json!({"disable": false}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status_of(&robot, &s, v1).await, StatusCode::OK);
    // Deleted: refused.
    let r = admin(&s, Method::DELETE, &path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(status_of(&robot, &s, v1).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn robot_rules() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let robots = "/api/v2.0/robots";
    let create = |body: Value| admin(&s, Method::POST, robots, Some(body));
    let perm = |ns: &str, res: &str, act: &str| json!([{"kind": "project", "namespace": ns, "access": [{"resource": res, "action": act}]}]);
    for (body, status, code) in [
        (
            json!({"name": "Bad Name", "level": "project", "permissions": perm("team", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"name": "x", "level": "galaxy", "permissions": perm("team", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"name": "x", "level": "project", "permissions": perm("team", "repository", "fly")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"name": "x", "level": "project", "permissions": perm("*", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"name": "x", "level": "project", "permissions": perm("ghost", "repository", "pull")}),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            // 0 takes the system default (robot_token_duration); below -1 is invalid.
            json!({"name": "x", "level": "project", "duration": -2, "permissions": perm("team", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"name": "x", "level": "project", "secret": "weak", "permissions": perm("team", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
    ] {
        harbor_error(create(body).await, status, code).await;
    }
    let ok = json!({"name": "ci", "level": "project", "duration": 30, "permissions": perm("team", "repository", "pull")});
    let r = create(ok.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let expires = v["expires_at"].as_i64().unwrap();
    let now = (harbor_core::model::now_ms() / 1000) as i64;
    assert!(
        (expires - now - 30 * 86_400).abs() < 120,
        "expires in 30 days: {expires}"
    );
    harbor_error(create(ok).await, StatusCode::CONFLICT, "CONFLICT").await;

    // A project admin manages the project's robots; a developer only lists them.
    create_user(&s, "pa").await;
    create_user(&s, "dev").await;
    add_member(&s, "team", "pa", 1).await;
    add_member(&s, "team", "dev", 2).await;
    let (pa, dev) = (as_user("pa", PASSWORD), as_user("dev", PASSWORD));
    let reader = |name: &str| json!({"name": name, "level": "project", "permissions": perm("team", "artifact", "read")});
    let r = send(&pa, &s, Method::POST, robots, Some(reader("pa-bot"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = send(&dev, &s, Method::POST, robots, Some(reader("dev-bot"))).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = get(&dev, &s, "/api/v2.0/robots?q=Level%3Dproject,ProjectID%3D2").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(r.headers(), "x-total-count"), Some("2"));
    // Only system administrators list every robot or create system robots.
    let r = get(&pa, &s, robots).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let sys = json!({"name": "sys", "level": "system", "permissions": [
        {"kind": "system", "namespace": "/", "access": [{"resource": "robot", "action": "create"}, {"resource": "catalog", "action": "read"}]},
        {"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "pull"}]},
    ]});
    let r = send(&pa, &s, Method::POST, robots, Some(sys.clone())).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = create(sys).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let sys_bot = as_user(v["name"].as_str().unwrap(), v["secret"].as_str().unwrap());
    assert_eq!(v["name"], "robot$sys");
    let sys_id = v["id"].as_i64().unwrap();
    // Who made it, as Harbor reports it: the admin user (id 1).
    let shown: Value = get_json(&client(), &s, &format!("{robots}/{sys_id}")).await;
    assert_eq!(
        (&shown["creator_type"], &shown["creator_ref"]),
        (&json!("local"), &json!(1))
    );
    // The system robot reads the catalog, and creates robots only within its own rights.
    assert_eq!(
        status_of(&sys_bot, &s, "/v2/_catalog").await,
        StatusCode::OK
    );
    let within = json!({"name": "child", "level": "system", "permissions": [
        {"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "pull"}]}]});
    let r = send(&sys_bot, &s, Method::POST, robots, Some(within)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let child: Value = r.json().await.unwrap();
    let shown: Value = get_json(&client(), &s, &format!("{robots}/{}", child["id"])).await;
    assert_eq!(shown["creator_type"], "robot");
    assert_eq!(shown["creator_ref"], sys_id);
    let beyond = json!({"name": "greedy", "level": "system", "permissions": [
        {"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "push"}]}]});
    let r = send(&sys_bot, &s, Method::POST, robots, Some(beyond)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let other_project = json!({"name": "sideways", "level": "system", "permissions": [
        {"kind": "project", "namespace": "library", "access": [{"resource": "repository", "action": "pull"}]}]});
    let r = send(&sys_bot, &s, Method::POST, robots, Some(other_project)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    // Robots cannot use user-only endpoints nor log in to the portal.
    let r = get(&sys_bot, &s, "/api/v2.0/users/current").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
}

#[tokio::test]
async fn expired_robots_are_refused() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let (id, login, secret) = create_robot(&s, "team", "old", &[("repository", "pull")]).await;
    let robot = as_user(&login, &secret);
    let tok = token(&s, Some((&login, &secret)), "repository:team/app:pull").await;
    assert_eq!(granted(&tok, "team/app"), ["pull"]);
    assert_eq!(status_of(&robot, &s, "/v2/").await, StatusCode::OK);
    // Expire it in the database, as time would (or another replica would: this server
    // sees such a change once its identity cache entry is older than its TTL, 2 s).
    let store = open_store(&s).await;
    use harbor_core::ports::IdentityStore as _;
    store
        .update_robot(
            id,
            &harbor_core::identity::RobotUpdate {
                duration: Some((1, Some(harbor_core::model::now_ms() - 1000))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        status_of(&robot, &s, "/v2/").await,
        StatusCode::UNAUTHORIZED
    );
    // Its earlier token is refused too, and no new token is issued.
    let b = bearer(tok["token"].as_str().unwrap());
    let r = get(&b, &s, "/v2/team/app/tags/list").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let path = "/service/token?service=harbor-registry&scope=repository:team/app:pull";
    let r = get(&robot, &s, path).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The server's identity store, opened a second time (SQLite in WAL mode allows it).
pub async fn open_store(s: &TestServer) -> harbor_storage::SqlMetadataStore {
    let url = match std::env::var("HARBOR_TEST_BACKEND").as_deref() {
        Ok("scaled") => s.database_url(),
        _ => format!("sqlite://{}", s.data_dir.join("registry.db").display()),
    };
    harbor_storage::SqlMetadataStore::connect(&url, &harbor_storage::sql::PoolConfig::default())
        .await
        .unwrap()
}

/// A robot allowed to manage robots changes only robots whose permissions it holds
/// itself: no secret refresh, enabling, extension, edit or delete of a stronger one, at
/// system and at project level (it could otherwise set a stronger robot's secret and log
/// in as it).
#[tokio::test]
async fn robots_cannot_take_over_stronger_robots() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let robots = "/api/v2.0/robots";
    let manage = ["create", "read", "list", "update", "delete"]
        .map(|a| json!({"resource": "robot", "action": a}));
    let pull = json!({"resource": "repository", "action": "pull"});
    let push = json!({"resource": "repository", "action": "push"});
    let created = |r: Value| {
        (
            r["id"].as_i64().unwrap(),
            r["name"].as_str().unwrap().to_owned(),
            r["secret"].as_str().unwrap().to_owned(),
        )
    };
    let s = &s;
    let create = |body: Value| async move {
        let r = admin(s, Method::POST, robots, Some(body)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()
    };

    // System level: the manager may manage robots and pull from team; the victim may push.
    let system = |name: &str, access: Vec<Value>| {
        json!({"name": name, "level": "system", "duration": 1,
        "permissions": [{"kind": "system", "namespace": "/", "access": manage},
                        {"kind": "project", "namespace": "team", "access": access}]})
    };
    let (_, mgr_login, mgr_secret) = created(create(system("mgr", vec![pull.clone()])).await);
    let (strong, strong_login, _) = created(create(system("strong", vec![push.clone()])).await);
    let (weak, _, _) = created(create(system("weak", vec![pull.clone()])).await);
    let mgr = as_user(&mgr_login, &mgr_secret);
    takeover_refused(s, &mgr, strong, &strong_login, "team").await;
    edits_allowed(s, &mgr, weak).await;

    // Project level: the same with project robots holding robot permissions in team.
    let project = |name: &str, mut access: Vec<Value>| {
        access.extend(manage.iter().cloned());
        json!({"name": name, "level": "project", "duration": 1,
            "permissions": [{"kind": "project", "namespace": "team", "access": access}]})
    };
    let read = json!({"resource": "project", "action": "read"});
    let (_, mgr_login, mgr_secret) =
        created(create(project("pmgr", vec![pull.clone(), read])).await);
    let (strong, strong_login, _) = created(create(project("pstrong", vec![push.clone()])).await);
    let (weak, _, _) = created(create(project("pweak", vec![pull.clone()])).await);
    let mgr = as_user(&mgr_login, &mgr_secret);
    takeover_refused(s, &mgr, strong, &strong_login, "team").await;
    edits_allowed(s, &mgr, weak).await;

    // A project admin still manages every robot of the project, as in Harbor.
    create_user(s, "pa").await;
    add_member(s, "team", "pa", 1).await;
    let pa = as_user("pa", PASSWORD);
    let path = format!("{robots}/{strong}");
    let r = send(&pa, s, Method::PATCH, &path, Some(json!({}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(&pa, s, Method::DELETE, &path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Every change `mgr` tries on the stronger robot `id` is refused and leaves it as it was.
async fn takeover_refused(s: &TestServer, mgr: &Client, id: i64, login: &str, project: &str) {
    let path = format!("/api/v2.0/robots/{id}");
    // Disabled by the administrator first, so that enabling is a change too.
    let r = admin(s, Method::PUT, &path, Some(json!({"disable": true}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let before: Value = get_json(&client(), s, &path).await;
    let chosen = "Chosen-secret-1";
    let pull = json!({"resource": "repository", "action": "pull"});
    for (method, body) in [
        (Method::PATCH, Some(json!({"secret": chosen}))),
        (Method::PATCH, Some(json!({}))),
        (Method::PUT, Some(json!({"disable": false}))),
        (Method::PUT, Some(json!({"duration": 365}))),
        (Method::PUT, Some(json!({"description": "mine now"}))),
        (
            Method::PUT,
            Some(
                json!({"permissions": [{"kind": "project", "namespace": project, "access": [pull]}]}),
            ),
        ),
        (Method::DELETE, None),
    ] {
        let r = send(mgr, s, method, &path, body).await;
        harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    let after: Value = get_json(&client(), s, &path).await;
    assert_eq!(before, after, "the stronger robot is unchanged");
    // The chosen secret does not log in, even once enabled again by the administrator.
    let r = admin(s, Method::PUT, &path, Some(json!({"disable": false}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&as_user(login, chosen), s, "/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// `mgr` may refresh, edit and delete the robot `id`, which holds nothing `mgr` lacks.
async fn edits_allowed(s: &TestServer, mgr: &Client, id: i64) {
    let path = format!("/api/v2.0/robots/{id}");
    let r = send(mgr, s, Method::PATCH, &path, Some(json!({}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(
        mgr,
        s,
        Method::PUT,
        &path,
        Some(json!({"description": "rotated"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(mgr, s, Method::DELETE, &path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// `GET /permissions`: what robots may be given. Every pair listed is accepted when
/// creating a robot, administrators see the system level too, anonymous callers nothing.
#[tokio::test]
async fn permissions_lists_what_robots_may_hold() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let all: Value = get_json(&client(), &s, "/api/v2.0/permissions").await;
    let project = all["project"].as_array().unwrap();
    let system = all["system"].as_array().unwrap();
    for (r, a) in [
        ("repository", "push"),
        ("repository", "pull"),
        ("artifact", "delete"),
    ] {
        assert!(
            project
                .iter()
                .any(|p| p["resource"] == r && p["action"] == a),
            "{r}:{a} in {project:?}"
        );
    }
    assert!(
        system
            .iter()
            .any(|p| p["resource"] == "project" && p["action"] == "create")
    );
    // Every project pair listed is one a robot may be created with.
    let access: Vec<Value> = project
        .iter()
        .map(|p| json!({"resource": p["resource"], "action": p["action"]}))
        .collect();
    let body = json!({"name": "all", "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "team", "access": access}]});
    let r = admin(&s, Method::POST, "/api/v2.0/robots", Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let access: Vec<Value> = system
        .iter()
        .map(|p| json!({"resource": p["resource"], "action": p["action"]}))
        .collect();
    let body = json!({"name": "sys", "level": "system", "duration": -1, "permissions": [
        {"kind": "system", "namespace": "/", "access": access}]});
    let r = admin(&s, Method::POST, "/api/v2.0/robots", Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Other users see the project level only; anonymous callers are refused.
    create_user(&s, "alice").await;
    let mine: Value = get_json(&as_user("alice", PASSWORD), &s, "/api/v2.0/permissions").await;
    assert_eq!(mine["project"], all["project"]);
    assert!(mine.get("system").is_none(), "{mine}");
    let r = get(&anon_client(), &s, "/api/v2.0/permissions").await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}
