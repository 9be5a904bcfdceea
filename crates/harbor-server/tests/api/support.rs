//! Helpers to set up users, projects, members and robots through the API.

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

/// The password every test user gets.
pub const PASSWORD: &str = "Passw0rd-test";

/// A client signed in with Basic credentials.
pub fn as_user(user: &str, password: &str) -> Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        basic(user, password).parse().unwrap(),
    );
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .default_headers(h)
        .build()
        .unwrap()
}

/// Sends a JSON request and returns the response.
pub async fn send(
    c: &Client,
    s: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = c.request(method, s.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Asserts a Harbor error body with `code` and returns it.
pub async fn harbor_error(resp: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(
        resp.status(),
        status,
        "unexpected status for {}",
        resp.url()
    );
    let body: Value = resp.json().await.expect("error body is JSON");
    assert_eq!(body["errors"][0]["code"], code, "body: {body}");
    assert!(body["errors"][0]["message"].is_string());
    body
}

/// The id at the end of a `Location` header.
pub fn location_id(resp: &Response) -> i64 {
    let loc = header(resp.headers(), "location").expect("location");
    loc.rsplit('/').next().unwrap().parse().unwrap()
}

/// Creates a user (as admin) and returns its id.
pub async fn create_user(s: &TestServer, name: &str) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/users",
        Some(json!({"username": name, "email": format!("{name}@example.com"), "realname": name, "password": PASSWORD})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create user {name}");
    location_id(&resp)
}

/// Creates a project (as admin) and returns its id.
pub async fn create_project(s: &TestServer, name: &str, public: bool) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": name, "metadata": {"public": public.to_string()}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create project {name}");
    location_id(&resp)
}

/// Adds a member (as admin) and returns the membership id.
pub async fn add_member(s: &TestServer, project: &str, user: &str, role_id: i64) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        &format!("/api/v2.0/projects/{project}/members"),
        Some(json!({"role_id": role_id, "member_user": {"username": user}})),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "add {user} to {project}"
    );
    location_id(&resp)
}

/// Creates a project robot (as admin) with the given (resource, action) pairs; returns
/// (id, login name, secret).
pub async fn create_robot(
    s: &TestServer,
    project: &str,
    name: &str,
    access: &[(&str, &str)],
) -> (i64, String, String) {
    let resp = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/robots",
        Some(json!({
            "name": name,
            "level": "project",
            "duration": -1,
            "permissions": [{
                "kind": "project",
                "namespace": project,
                "access": access.iter().map(|(r, a)| json!({"resource": r, "action": a})).collect::<Vec<_>>(),
            }],
        })),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create robot {name}");
    let v: Value = resp.json().await.unwrap();
    (
        v["id"].as_i64().unwrap(),
        v["name"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

/// Fetches a registry token for `scope` with optional Basic credentials.
pub async fn token(s: &TestServer, creds: Option<(&str, &str)>, scope: &str) -> Value {
    let c = match creds {
        Some((u, p)) => as_user(u, p),
        None => anon_client(),
    };
    let resp = c
        .get(s.url(&format!(
            "/service/token?service=harbor-registry&scope={}",
            scope.replace('*', "%2A").replace(' ', "%20")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "token for {scope}");
    resp.json().await.unwrap()
}

/// The actions a token grants on `name`.
pub fn granted(token: &Value, name: &str) -> Vec<String> {
    let jwt = token["token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&raw).unwrap();
    claims["access"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == name)
        .flat_map(|a| {
            a["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
        })
        .collect()
}

/// A client sending `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    Client::builder()
        .pool_max_idle_per_host(0)
        .default_headers(h)
        .build()
        .unwrap()
}

/// Pushes one small image with the admin client (the project must exist).
pub async fn seed_image(s: &TestServer, repo: &str, tag: &str) -> String {
    push_image(s, repo, tag, 7).await.0
}

/// Polls the audit log until `pred` holds for some entry (registry entries are written in
/// the background).
pub async fn wait_audit(s: &TestServer, query: &str, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let resp = client()
            .get(s.url(&format!("/api/v2.0/audit-logs?page_size=100&{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let v: Vec<Value> = resp.json().await.unwrap();
        if v.iter().any(&pred) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no audit entry matched for {query}");
}
