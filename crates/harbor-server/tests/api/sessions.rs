//! Portal sessions: `POST /c/login` cookie, CSRF protection, log out.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

/// `POST /c/login` with the portal's form, without other credentials.
async fn login(s: &TestServer, user: &str, password: &str) -> Response {
    anon_client()
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal={user}&password={password}"))
        .send()
        .await
        .unwrap()
}

/// `GET path` with only a `Cookie` header.
async fn get_with_cookie(s: &TestServer, path: &str, cookie: &str) -> Response {
    get_with(&anon_client(), s, path, ("cookie", cookie)).await
}

/// The `name=value` part of a `Set-Cookie` header.
fn session_id(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_cookie_and_csrf() {
    let s = TestServer::start_strict().await;
    create_user(&s, "alice").await;
    let c = anon_client();
    // Bad credentials.
    let r = login(&s, "alice", "Wrong-passw0rd").await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let r = login(&s, "alice", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = header(r.headers(), "set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let sid = session_id(cookie);
    let csrf = header(r.headers(), "x-harbor-csrf-token").unwrap();
    // Safe requests with the cookie work.
    let r = get_with_cookie(&s, "/api/v2.0/users/current", &sid).await;
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    // Unsafe requests need the CSRF token.
    let create = |token: Option<&str>, name: &str| {
        let mut req = c
            .post(s.url("/api/v2.0/projects"))
            .header("cookie", &sid)
            .json(&json!({"project_name": name}));
        if let Some(t) = token {
            req = req.header("x-harbor-csrf-token", t);
        }
        req.send()
    };
    let r = create(None, "p1").await.unwrap();
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = create(Some("0000"), "p1").await.unwrap();
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = create(Some(csrf), "p1").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The token can be fetched again.
    let r = get_with_cookie(&s, "/c/csrf", &sid).await;
    assert_eq!(header(r.headers(), "x-harbor-csrf-token"), Some(csrf));
    // A forged cookie is refused.
    let r = get_with_cookie(&s, "/api/v2.0/users/current", "sid=forged").await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // Log out ends the session.
    let r = get_with_cookie(&s, "/c/log_out", &sid).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get_with_cookie(&s, "/api/v2.0/users/current", &sid).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn sessions_end_with_a_password_change() {
    let s = TestServer::start_strict().await;
    let id = create_user(&s, "alice").await;
    let r = login(&s, "alice", PASSWORD).await;
    let sid = session_id(header(r.headers(), "set-cookie").unwrap());
    let r = get_with_cookie(&s, "/api/v2.0/users/current", &sid).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = json!({"new_password": "Another-passw0rd"});
    let path = format!("/api/v2.0/users/{id}/password");
    let r = admin(&s, Method::PUT, &path, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get_with_cookie(&s, "/api/v2.0/users/current", &sid).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
