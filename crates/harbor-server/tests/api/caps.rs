//! Caps on what one request may ask for, oracles that must not reveal hidden objects, and
//! response headers: scopes per token request, tags per manifest push, retention and
//! robot ids of projects the caller may not see, `nosniff`, `Secure` session cookies.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::*;
use crate::support::*;

#[tokio::test]
async fn token_requests_and_pushes_are_capped() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    // 32 scopes are fine, 33 are refused with a clear 400, even anonymously.
    let scopes = |n: usize| {
        (0..n)
            .map(|i| format!("scope=repository:team/app{i}:pull"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let path = |n| format!("/service/token?service=harbor-registry&{}", scopes(n));
    assert_eq!(status_of(&client(), &s, &path(32)).await, StatusCode::OK);
    for c in [client(), anon_client()] {
        let r = get(&c, &s, &path(33)).await;
        let body = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(body.to_string().contains("too many scopes"), "{body}");
    }
    // 64 extra tags in one push are fine, 65 are refused before anything is stored.
    let (manifest, _, _) = push_image_blobs(&s, "team/app", 1).await;
    let digest = sha256(&manifest);
    let push = |n: usize| {
        let tags: Vec<String> = (0..n).map(|i| format!("tag=t{i}")).collect();
        let url = s.url(&format!(
            "/v2/team/app/manifests/{digest}?{}",
            tags.join("&")
        ));
        client()
            .put(url)
            .header("content-type", OCI_MANIFEST)
            .body(manifest.clone())
            .send()
    };
    let r = push(65).await.unwrap();
    expect_error(r, StatusCode::BAD_REQUEST, "TAG_INVALID").await;
    let r = get(&client(), &s, "/v2/team/app/tags/list").await;
    if r.status() == StatusCode::OK {
        let tags: serde_json::Value = r.json().await.unwrap();
        assert!(
            tags["tags"].as_array().is_none_or(|t| t.is_empty()),
            "{tags}"
        );
    } else {
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing was stored");
    }
    let r = push(64).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers().get_all("oci-tag").iter().count(), 64);
}

#[tokio::test]
async fn ids_of_hidden_projects_are_not_revealed() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "secret", false).await;
    create_user(&s, "outsider").await;
    let out = as_user("outsider", PASSWORD);
    // A retention policy of the hidden project answers like a policy that does not exist.
    let body = json!({
        "algorithm": "or",
        "rules": [{"disabled": false, "action": "retain", "template": "always", "params": {},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}}],
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}},
        "scope": {"level": "project", "ref": pid},
    });
    let r = admin(&s, Method::POST, "/api/v2.0/retentions", Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rid = location_id(&r);
    let missing = rid + 1000;
    let hidden = get(&out, &s, &format!("/api/v2.0/retentions/{rid}")).await;
    let hidden = harbor_error(hidden, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let absent = get(&out, &s, &format!("/api/v2.0/retentions/{missing}")).await;
    let absent = harbor_error(absent, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(
        hidden.to_string().replace(&rid.to_string(), "N"),
        absent.to_string().replace(&missing.to_string(), "N")
    );
    assert!(!hidden.to_string().contains("project"), "{hidden}");

    // Robots: a system robot, a robot of the hidden project and a missing id look alike
    // to a caller who may read none of them.
    let sys = json!({"name": "sys", "level": "system", "permissions": [
        {"kind": "project", "namespace": "secret", "access": [{"resource": "repository", "action": "pull"}]}]});
    let r = admin(&s, Method::POST, "/api/v2.0/robots", Some(sys)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let sys_id = location_id(&r);
    let (proj_id, _, _) = create_robot(&s, "secret", "bot", &[("repository", "pull")]).await;
    let mut answers = Vec::new();
    for id in [sys_id, proj_id, proj_id + 1000] {
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let r = send(
                &out,
                &s,
                method.clone(),
                &format!("/api/v2.0/robots/{id}"),
                body,
            )
            .await;
            let err = harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
            answers.push(err.to_string().replace(&id.to_string(), "N"));
        }
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "{answers:?}");
}

#[tokio::test]
async fn api_answers_are_nosniff_and_session_cookies_follow_the_scheme() {
    let s = TestServer::start_configured(|c| {
        c.auth.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    for path in [
        "/api/v2.0/projects",
        "/api/v2.0/nowhere",
        "/service/token?service=harbor-registry&scope=repository:library/a:pull",
        "/v2/",
    ] {
        for c in [client(), anon_client()] {
            let r = get(&c, &s, path).await;
            assert_eq!(
                header(r.headers(), "x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
        }
    }
    // Behind a trusted proxy that says the client used HTTPS, the cookie is Secure.
    let login = |proto: Option<&'static str>, from: &'static str| {
        let c = reqwest::Client::builder()
            .local_address(from.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let mut req = c
            .post(s.url("/c/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("principal=admin&password={ADMIN_PASSWORD}"));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            header(r.headers(), "set-cookie").unwrap().to_owned()
        }
    };
    assert!(login(Some("https"), "127.0.0.1").await.contains("; Secure"));
    assert!(!login(None, "127.0.0.1").await.contains("Secure"));
    assert!(!login(Some("http"), "127.0.0.1").await.contains("Secure"));
    // A client that is not a trusted proxy cannot claim HTTPS for itself (it would not
    // matter for security, but the rule is one rule).
    assert!(!login(Some("https"), "127.0.0.2").await.contains("Secure"));
}
