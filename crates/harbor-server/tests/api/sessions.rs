//! Portal sessions: `POST /c/login` cookie, CSRF protection, log out.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn login_cookie_and_csrf() {
    let s = TestServer::start_strict().await;
    create_user(&s, "alice").await;
    let c = anon_client();
    // Bad credentials.
    let r = c
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal=alice&password={}", "Wrong-passw0rd"))
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let r = c
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal=alice&password={}", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = header(r.headers(), "set-cookie").unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let sid = cookie.split(';').next().unwrap().to_owned();
    let csrf = header(r.headers(), "x-harbor-csrf-token")
        .unwrap()
        .to_owned();
    // Safe requests with the cookie work.
    let me: Value = c
        .get(s.url("/api/v2.0/users/current"))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    harbor_error(
        create(None, "p1").await.unwrap(),
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    harbor_error(
        create(Some("0000"), "p1").await.unwrap(),
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        create(Some(&csrf), "p1").await.unwrap().status(),
        StatusCode::CREATED
    );
    // The token can be fetched again.
    let r = c
        .get(s.url("/c/csrf"))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(r.headers(), "x-harbor-csrf-token"),
        Some(csrf.as_str())
    );
    // A forged cookie is refused.
    let r = c
        .get(s.url("/api/v2.0/users/current"))
        .header("cookie", "sid=forged")
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // Log out ends the session.
    let r = c
        .get(s.url("/c/log_out"))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(s.url("/api/v2.0/users/current"))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn sessions_end_with_a_password_change() {
    let s = TestServer::start_strict().await;
    let id = create_user(&s, "alice").await;
    let c = anon_client();
    let r = c
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal=alice&password={}", PASSWORD))
        .send()
        .await
        .unwrap();
    let sid = header(r.headers(), "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        c.get(s.url("/api/v2.0/users/current"))
            .header("cookie", &sid)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = client()
        .put(s.url(&format!("/api/v2.0/users/{id}/password")))
        .json(&json!({"new_password": "Another-passw0rd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(s.url("/api/v2.0/users/current"))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
