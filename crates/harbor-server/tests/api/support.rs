//! Helpers to set up users, projects, members and robots through the API, and to send the
//! requests the tests make in one line each.

use reqwest::{Client, Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::common::*;

/// `GET path` with `c`.
pub async fn get(c: &Client, s: &TestServer, path: &str) -> Response {
    send(c, s, Method::GET, path, None).await
}

/// `GET path` with `c` and one more header.
pub async fn get_with(c: &Client, s: &TestServer, path: &str, h: (&str, &str)) -> Response {
    c.get(s.url(path)).header(h.0, h.1).send().await.unwrap()
}

/// `POST path` without a body, with `c`.
pub async fn post(c: &Client, s: &TestServer, path: &str) -> Response {
    send(c, s, Method::POST, path, None).await
}

/// The status of `GET path` with `c`.
pub async fn status_of(c: &Client, s: &TestServer, path: &str) -> StatusCode {
    get(c, s, path).await.status()
}

/// The JSON body of `GET path` with `c`, which must answer 200.
pub async fn get_json<T: DeserializeOwned>(c: &Client, s: &TestServer, path: &str) -> T {
    let resp = get(c, s, path).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    resp.json().await.expect("JSON body")
}

/// A request as the system administrator (`send` with `client()`).
pub async fn admin(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Response {
    send(&client(), s, method, path, body).await
}

/// `PUT /v2/<repo>/manifests/<reference>` of an OCI image manifest with `c`.
pub async fn put_manifest_as(
    c: &Client,
    s: &TestServer,
    repo: &str,
    reference: &str,
    manifest: &[u8],
) -> Response {
    c.put(s.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.to_vec())
        .send()
        .await
        .unwrap()
}

/// Fetches a registry token for `scope` with optional Basic credentials.
pub async fn token(s: &TestServer, creds: Option<(&str, &str)>, scope: &str) -> Value {
    let c = match creds {
        Some((u, p)) => as_user(u, p),
        None => anon_client(),
    };
    let scope_q = scope.replace('*', "%2A").replace(' ', "%20");
    let path = format!("/service/token?service=harbor-registry&scope={scope_q}");
    let resp = get(&c, s, &path).await;
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
        let path = format!("/api/v2.0/audit-logs?page_size=100&{query}");
        let v: Vec<Value> = get_json(&client(), s, &path).await;
        if v.iter().any(&pred) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no audit entry matched for {query}");
}
