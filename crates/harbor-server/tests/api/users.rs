//! Users: bootstrap, CRUD, policy, the current user, passwords, sysadmin rights.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn bootstrap_creates_admin_and_public_library() {
    let s = TestServer::start_strict().await;
    let me: Value = client()
        .get(s.url("/api/v2.0/users/current"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["sysadmin_flag"], true);
    let lib: Value = anon_client()
        .get(s.url("/api/v2.0/projects/library"))
        .header("X-Is-Resource-Name", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lib["name"], "library");
    assert_eq!(lib["metadata"]["public"], "true");
    // A restart does not bootstrap again (and keeps the password).
    let s = s.restart().await;
    let resp = client()
        .get(s.url("/api/v2.0/users?page_size=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(resp.headers(), "x-total-count"), Some("1"));
    // Wrong password, unknown user, malformed header: 401.
    for c in [
        as_user("admin", "Wrong-passw0rd"),
        as_user("ghost", PASSWORD),
    ] {
        let r = c
            .get(s.url("/api/v2.0/users/current"))
            .send()
            .await
            .unwrap();
        harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    let r = anon_client()
        .get(s.url("/api/v2.0/users/current"))
        .header("authorization", "Basic !!!")
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn user_lifecycle_and_rules() {
    let s = TestServer::start_strict().await;
    let alice = create_user(&s, "alice").await;
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
        let r = send(
            &client(),
            &s,
            Method::POST,
            "/api/v2.0/users",
            Some(body.clone()),
        )
        .await;
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
    // Non-admins cannot list, create or delete users, nor read others.
    let r = a.get(s.url("/api/v2.0/users")).send().await.unwrap();
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/users",
        Some(json!({"username": "eve", "password": PASSWORD})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = a.get(s.url("/api/v2.0/users/1")).send().await.unwrap();
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    // ... but may read and update themselves, and search names.
    let me: Value = a
        .get(s.url(&format!("/api/v2.0/users/{alice}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert!(me.get("password").is_none() && !me.to_string().contains("argon2"));
    let r = send(
        &a,
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}"),
        Some(json!({"realname": "Alice A."})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = a
        .get(s.url("/api/v2.0/users/current"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["realname"], "Alice A.");
    let found: Vec<Value> = a
        .get(s.url("/api/v2.0/users/search?username=ali"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["user_id"], alice);

    // Password change: needs the old password; then only the new one works.
    let r = send(
        &a,
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}/password"),
        Some(json!({"old_password": "Wrong-passw0rd", "new_password": "NewPassw0rd"})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(
        &a,
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}/password"),
        Some(json!({"old_password": PASSWORD, "new_password": "weak"})),
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let r = send(
        &a,
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}/password"),
        Some(json!({"old_password": PASSWORD, "new_password": "NewPassw0rd"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = a
        .get(s.url("/api/v2.0/users/current"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let a = as_user("alice", "NewPassw0rd");
    assert_eq!(
        a.get(s.url("/api/v2.0/users/current"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // An administrator resets it without the old one.
    let r = send(
        &client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}/password"),
        Some(json!({"new_password": "Reset-Passw0rd"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let a = as_user("alice", "Reset-Passw0rd");

    // Sysadmin rights.
    let r = send(
        &client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}/sysadmin"),
        Some(json!({"sysadmin_flag": true})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        a.get(s.url("/api/v2.0/users"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = send(
        &client(),
        &s,
        Method::PUT,
        "/api/v2.0/users/1/sysadmin",
        Some(json!({"sysadmin_flag": false})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(
        &client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice}/sysadmin"),
        Some(json!({"sysadmin_flag": false})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = a.get(s.url("/api/v2.0/users")).send().await.unwrap();
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // Listing: filters and paging headers.
    for n in ["bob", "carol", "dave"] {
        create_user(&s, n).await;
    }
    let r = client()
        .get(s.url("/api/v2.0/users?page=1&page_size=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(r.headers(), "x-total-count"), Some("5"));
    let link = header(r.headers(), "link").unwrap().to_owned();
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let page: Vec<Value> = r.json().await.unwrap();
    assert_eq!(page.len(), 2);
    let r = client()
        .get(s.url("/api/v2.0/users?q=username%3D~aro"))
        .send()
        .await
        .unwrap();
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["username"], "carol");
    for bad in ["page=0", "page_size=1000", "q=bogus%3D1"] {
        let r = client()
            .get(s.url(&format!("/api/v2.0/users?{bad}")))
            .send()
            .await
            .unwrap();
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }

    // Deletion: not oneself; a deleted user can no longer sign in.
    let r = send(&client(), &s, Method::DELETE, "/api/v2.0/users/1", None).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(
        &client(),
        &s,
        Method::DELETE,
        &format!("/api/v2.0/users/{alice}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        a.get(s.url("/api/v2.0/users/current"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        &client(),
        &s,
        Method::DELETE,
        &format!("/api/v2.0/users/{alice}"),
        None,
    )
    .await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = client()
        .get(s.url("/api/v2.0/users/abc"))
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
}

#[tokio::test]
async fn ping_health_systeminfo() {
    let s = TestServer::start_strict().await;
    let r = anon_client()
        .get(s.url("/api/v2.0/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "Pong");
    let h: Value = anon_client()
        .get(s.url("/api/v2.0/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "healthy");
    assert!(
        h["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "database" && c["status"] == "healthy")
    );
    let anon: Value = anon_client()
        .get(s.url("/api/v2.0/systeminfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anon["auth_mode"], "db_auth");
    assert!(
        anon.get("registry_url").is_none(),
        "anonymous callers see the public subset"
    );
    let full: Value = client()
        .get(s.url("/api/v2.0/systeminfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(full["registry_url"], s.addr.to_string());
    let r = anon_client()
        .get(s.url("/api/v2.0/no-such-thing"))
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = anon_client()
        .delete(s.url("/api/v2.0/ping"))
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
}
