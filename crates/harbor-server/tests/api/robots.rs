//! Robot accounts: creation rules, secrets (shown once, rotated by PATCH), registry access
//! with their credentials, disabling and expiry, the subset rule.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

#[tokio::test]
async fn project_robot_pushes_and_pulls_within_its_project() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_project(&s, "other", false).await;
    let (id, login, secret) = create_robot(
        &s,
        "team",
        "ci",
        &[("repository", "push"), ("repository", "pull")],
    )
    .await;
    assert_eq!(login, "robot$team+ci");
    assert!(secret.len() >= 24);
    // The secret is never shown again.
    let r: Value = client()
        .get(s.url(&format!("/api/v2.0/robots/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["name"], "robot$team+ci");
    assert_eq!(r["level"], "project");
    assert_eq!(r["expires_at"], -1);
    assert!(r.get("secret").is_none() && !r.to_string().contains(&secret));
    // Basic auth with the robot on /v2/: push and pull in its project only.
    let robot = as_user(&login, &secret);
    let (m, _, _) = push_image_blobs(&s, "team/app", 1).await;
    let r = robot
        .put(s.url("/v2/team/app/manifests/v1"))
        .header("content-type", OCI_MANIFEST)
        .body(m.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        robot
            .get(s.url("/v2/team/app/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = robot
        .get(s.url("/v2/other/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
    // It cannot delete (not granted).
    let r = robot
        .delete(s.url(&format!("/v2/team/app/manifests/{}", sha256(&m))))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
    // Wrong secret.
    let r = as_user(&login, "Wrong-secret1")
        .get(s.url("/v2/team/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Rotation: the old secret stops working at once.
    let r = send(
        &client(),
        &s,
        Method::PATCH,
        &format!("/api/v2.0/robots/{id}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let fresh: Value = r.json().await.unwrap();
    let fresh = fresh["secret"].as_str().unwrap().to_owned();
    assert_ne!(fresh, secret);
    assert_eq!(
        robot
            .get(s.url("/v2/team/app/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let robot = as_user(&login, &fresh);
    assert_eq!(
        robot
            .get(s.url("/v2/team/app/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // A chosen secret must meet the policy.
    let r = send(
        &client(),
        &s,
        Method::PATCH,
        &format!("/api/v2.0/robots/{id}"),
        Some(json!({"secret": "weak"})),
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // Disabled: refused; enabled again: accepted.
    let r = send(
        &client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/robots/{id}"),
        Some(json!({"disable": true})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        robot
            .get(s.url("/v2/team/app/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        &client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/robots/{id}"),
        Some(json!({"disable": false})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        robot
            .get(s.url("/v2/team/app/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Deleted: refused.
    assert_eq!(
        send(
            &client(),
            &s,
            Method::DELETE,
            &format!("/api/v2.0/robots/{id}"),
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        robot
            .get(s.url("/v2/team/app/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn robot_rules() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let admin = client();
    let post = |body: Value| send(&admin, &s, Method::POST, "/api/v2.0/robots", Some(body));
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
            json!({"name": "x", "level": "project", "duration": 0, "permissions": perm("team", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            json!({"name": "x", "level": "project", "secret": "weak", "permissions": perm("team", "repository", "pull")}),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
    ] {
        harbor_error(post(body).await, status, code).await;
    }
    let ok = json!({"name": "ci", "level": "project", "duration": 30, "permissions": perm("team", "repository", "pull")});
    let r = post(ok.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let expires = v["expires_at"].as_i64().unwrap();
    let now = (harbor_core::model::now_ms() / 1000) as i64;
    assert!(
        (expires - now - 30 * 86_400).abs() < 120,
        "expires in 30 days: {expires}"
    );
    harbor_error(post(ok).await, StatusCode::CONFLICT, "CONFLICT").await;

    // A project admin manages the project's robots; a developer only lists them.
    create_user(&s, "pa").await;
    create_user(&s, "dev").await;
    add_member(&s, "team", "pa", 1).await;
    add_member(&s, "team", "dev", 2).await;
    let body = json!({"name": "pa-bot", "level": "project", "permissions": perm("team", "artifact", "read")});
    let r = send(
        &as_user("pa", PASSWORD),
        &s,
        Method::POST,
        "/api/v2.0/robots",
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = send(&as_user("dev", PASSWORD), &s, Method::POST, "/api/v2.0/robots", Some(json!({"name": "dev-bot", "level": "project", "permissions": perm("team", "artifact", "read")}))).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = as_user("dev", PASSWORD)
        .get(s.url("/api/v2.0/robots?q=Level%3Dproject,ProjectID%3D2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(r.headers(), "x-total-count"), Some("2"));
    // Only system administrators list every robot or create system robots.
    let r = as_user("pa", PASSWORD)
        .get(s.url("/api/v2.0/robots"))
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let sys = json!({"name": "sys", "level": "system", "permissions": [
        {"kind": "system", "namespace": "/", "access": [{"resource": "robot", "action": "create"}, {"resource": "catalog", "action": "read"}]},
        {"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "pull"}]},
    ]});
    let r = send(
        &as_user("pa", PASSWORD),
        &s,
        Method::POST,
        "/api/v2.0/robots",
        Some(sys.clone()),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = post(sys).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let sys_bot = as_user(v["name"].as_str().unwrap(), v["secret"].as_str().unwrap());
    assert_eq!(v["name"], "robot$sys");
    // The system robot reads the catalog, and creates robots only within its own rights.
    assert_eq!(
        sys_bot
            .get(s.url("/v2/_catalog"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let within = json!({"name": "child", "level": "system", "permissions": [
        {"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "pull"}]}]});
    let r = send(&sys_bot, &s, Method::POST, "/api/v2.0/robots", Some(within)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let beyond = json!({"name": "greedy", "level": "system", "permissions": [
        {"kind": "project", "namespace": "team", "access": [{"resource": "repository", "action": "push"}]}]});
    let r = send(&sys_bot, &s, Method::POST, "/api/v2.0/robots", Some(beyond)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let other_project = json!({"name": "sideways", "level": "system", "permissions": [
        {"kind": "project", "namespace": "library", "access": [{"resource": "repository", "action": "pull"}]}]});
    let r = send(
        &sys_bot,
        &s,
        Method::POST,
        "/api/v2.0/robots",
        Some(other_project),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    // Robots cannot use user-only endpoints nor log in to the portal.
    let r = sys_bot
        .get(s.url("/api/v2.0/users/current"))
        .send()
        .await
        .unwrap();
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
    assert_eq!(
        robot.get(s.url("/v2/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Expire it in the database, as time would.
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
    assert_eq!(
        robot.get(s.url("/v2/")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Its earlier token is refused too, and no new token is issued.
    let r = bearer(tok["token"].as_str().unwrap())
        .get(s.url("/v2/team/app/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = robot
        .get(s.url("/service/token?service=harbor-registry&scope=repository:team/app:pull"))
        .send()
        .await
        .unwrap();
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
