//! How values are rendered (plain HTTP): robot expiry as a date, quotas as the GiB typed,
//! label colours, and the portal's own page for an address that does not exist.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ADMIN_PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn robot_expiry_reads_as_a_date() {
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    let access = json!([{"resource": "repository", "action": "pull"}]);
    for (name, duration) in [("month", 30), ("forever", -1)] {
        api(
            &s,
            Method::POST,
            "/api/v2.0/robots",
            Some(
                json!({"name": name, "level": "project", "duration": duration,
                "permissions": [{"kind": "project", "namespace": "team", "access": access}]}),
            ),
        )
        .await;
    }
    let robots = api(&s, Method::GET, "/api/v2.0/robots?q=Level%3Dproject", None).await;
    let month = robots
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "robot$team+month"))
        .expect("the robot");
    let at = month["expires_at"].as_i64().expect("expires_at");
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let date = time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap()
        .format(&fmt)
        .unwrap();
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/projects/team/robots").await;
    assert!(page.contains(&date), "{date} in {page}");
    assert!(!page.contains(&at.to_string()), "no raw Unix time");
    assert!(page.contains(">never<"), "{page}");
}

#[tokio::test]
async fn quotas_show_as_typed_and_labels_in_colour() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let t = token(&get(&s, &admin, "/projects").await.1);
    let r = post(
        &s,
        &admin,
        "/projects",
        &[("_csrf", &t), ("name", "small"), ("quota_gib", "0.05")],
    )
    .await;
    assert!(flash_of(&r).starts_with("ok:"), "{}", flash_of(&r));
    let (_, page) = get(&s, &admin, "/projects/small/settings").await;
    assert!(page.contains("value=\"0.05\""), "{page}");
    assert!(!page.contains("0.0499999"), "{page}");
    // Saving the form unchanged keeps the byte count.
    let hard = |q: Value| -> Vec<Value> {
        q.as_array()
            .map(|l| l.iter().map(|q| q["hard"]["storage"].clone()).collect())
            .unwrap_or_default()
    };
    let before = hard(api(&s, Method::GET, "/api/v2.0/quotas?reference=project", None).await);
    assert!(before.contains(&json!(53_687_091)), "{before:?}");
    let r = post(
        &s,
        &admin,
        "/projects/small/settings",
        &[("_csrf", &t), ("quota_gib", "0.05")],
    )
    .await;
    assert!(flash_of(&r).starts_with("ok:"), "{}", flash_of(&r));
    let after = hard(api(&s, Method::GET, "/api/v2.0/quotas?reference=project", None).await);
    assert_eq!(before, after);

    // Label colours travel to the badges as data-color; a malformed one is left out.
    let (digest, _) = common::push_image(&s, "small/app", "v1", 2).await;
    for (name, color) in [("qa", "#61717D"), ("odd", "red;x")] {
        api(
            &s,
            Method::POST,
            "/api/v2.0/labels",
            Some(json!({"name": name, "scope": "g", "color": color})),
        )
        .await;
    }
    let labels = api(&s, Method::GET, "/api/v2.0/labels?scope=g", None).await;
    for l in labels.as_array().unwrap() {
        api(
            &s,
            Method::POST,
            &format!("/api/v2.0/projects/small/repositories/app/artifacts/{digest}/labels"),
            Some(json!({"id": l["id"]})),
        )
        .await;
    }
    for path in [
        "/repo?name=small/app".to_owned(),
        format!("/artifact?repo=small/app&ref={digest}"),
        "/admin/labels".to_owned(),
    ] {
        let (_, page) = get(&s, &admin, &path).await;
        assert!(
            page.contains("class=\"badge label\" data-color=\"#61717D\""),
            "{path}: {page}"
        );
        assert!(!page.contains("data-color=\"red;x\""), "{path}");
    }
}

#[tokio::test]
async fn unknown_addresses_get_the_portal_page() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/projets/typo").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains("id=\"error\"") && page.contains("no such page"),
        "{page}"
    );
    assert!(
        page.contains("id=\"whoami\""),
        "navigation for a signed-in user"
    );
    // Signed out: the same page, without the user's navigation.
    let (status, page) = get(&s, "x=y", "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("id=\"error\"") && !page.contains("id=\"whoami\""));
    // The API and the registry keep their own answers.
    let r = common::send(
        &common::anon_client(),
        &s,
        Method::GET,
        "/api/v2.0/nope",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let r = common::send(
        &common::client(),
        &s,
        Method::GET,
        "/v2/small/app/manifests/none",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("\"errors\""));
}
