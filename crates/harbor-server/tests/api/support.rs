//! Helpers to set up users, projects, members and robots through the API.

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::common::*;

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
