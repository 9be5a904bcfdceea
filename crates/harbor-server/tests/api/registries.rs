//! Registry endpoints (`/registries`, `/registries/ping`, `/registries/{id}/info`,
//! `/replication/adapters`, `/replication/adapterinfos`): Harbor's models, validation,
//! system-level access, secrets sealed at rest and never answered, pings over real HTTP
//! under the address policy.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

const SECRET: &str = "Remote-Secret-4711";

async fn create(s: &TestServer, body: Value) -> reqwest::Response {
    admin(s, Method::POST, "/api/v2.0/registries", Some(body)).await
}

fn registry_body(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "type": "docker-registry",
        "url": url,
        "description": "a mirror",
        "insecure": false,
        "credential": {"type": "basic", "access_key": "puller", "access_secret": SECRET},
    })
}

#[tokio::test]
async fn registries_round_trip_with_secrets_redacted_and_sealed_at_rest() {
    let s = TestServer::start().await;
    let resp = create(&s, registry_body("mirror", "https://mirror.example.com/")).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = location_id(&resp);
    let r: Value = get_json(&client(), &s, &format!("/api/v2.0/registries/{id}")).await;
    assert_eq!(r["id"], id);
    assert_eq!(r["name"], "mirror");
    assert_eq!(r["type"], "docker-registry");
    assert_eq!(r["url"], "https://mirror.example.com", "normalised");
    assert_eq!(r["description"], "a mirror");
    assert_eq!(r["status"], "unknown");
    assert_eq!(r["credential"]["type"], "basic");
    assert_eq!(r["credential"]["access_key"], "puller");
    assert_eq!(r["credential"]["access_secret"], "*****");
    assert!(r["creation_time"].as_str().unwrap().ends_with('Z'));
    let typed: harbor_api_model::Registry = serde_json::from_value(r.clone()).unwrap();
    assert_eq!(typed.id, id);

    // Listing, with Harbor's filters.
    create(&s, json!({"name": "hub", "type": "docker-hub"})).await;
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/registries").await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["url"], "https://hub.docker.com");
    assert_eq!(all[1]["credential"]["access_key"], "");
    let resp = get(&client(), &s, "/api/v2.0/registries?q=name%3D~irr").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("1"));
    let found: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(found[0]["name"], "mirror");
    let found: Vec<Value> =
        get_json(&client(), &s, "/api/v2.0/registries?q=type%3Ddocker-hub").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], "hub");
    let found: Vec<Value> = get_json(&client(), &s, "/api/v2.0/registries?name=hu").await;
    assert_eq!(found.len(), 1);

    // Updates: absent fields stay, "*****" keeps the secret, an empty key drops it.
    let path = format!("/api/v2.0/registries/{id}");
    let resp = admin(
        &s,
        Method::PUT,
        &path,
        Some(json!({"name": "mirror-2", "insecure": true, "access_secret": "*****"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = get_json(&client(), &s, &path).await;
    assert_eq!(r["name"], "mirror-2");
    assert_eq!(r["insecure"], true);
    assert_eq!(r["url"], "https://mirror.example.com");
    assert_eq!(r["credential"]["access_key"], "puller");
    let resp = admin(&s, Method::PUT, &path, Some(json!({"access_key": ""}))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = get_json(&client(), &s, &path).await;
    assert_eq!(r["credential"]["access_key"], "");

    // The secret never reaches the database in clear.
    let other = create(&s, registry_body("sealed", "https://sealed.example.com")).await;
    assert_eq!(other.status(), StatusCode::CREATED);
    if s.database_url().starts_with("sqlite:") {
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(&s.data_dir).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("registry.db") {
                seen.push(name);
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "the secret is in {} in clear",
                    p.display()
                );
            }
        }
        assert!(!seen.is_empty(), "no database file found");
    }

    // Delete.
    let resp = admin(&s, Method::DELETE, &path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = admin(&s, Method::GET, &path, None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = admin(&s, Method::DELETE, &path, None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn bad_registries_are_refused_with_clear_errors() {
    let s = TestServer::start().await;
    for (body, why) in [
        (
            json!({"name": "a", "type": "docker-registry", "url": "ftp://x"}),
            "http",
        ),
        (
            json!({"name": "a", "type": "docker-registry", "url": "https://u:p@x.example.com"}),
            "credential",
        ),
        (
            json!({"name": "a", "type": "docker-registry", "url": "https://x.example.com/v2/"}),
            "path",
        ),
        (
            json!({"name": "a", "type": "docker-registry", "url": ""}),
            "required",
        ),
        (
            json!({"name": "a", "type": "quay", "url": "https://quay.io"}),
            "unsupported registry type",
        ),
        (
            json!({"name": "", "type": "harbor", "url": "https://h.example.com"}),
            "name",
        ),
        (
            json!({"name": "a", "type": "docker-hub", "url": "https://evil.example.com"}),
            "hub.docker.com",
        ),
        (
            json!({"name": "a", "type": "harbor", "url": "https://h.example.com",
                "credential": {"access_key": "u", "access_secret": "*****"}}),
            "secret",
        ),
        (
            json!({"name": "a", "type": "harbor", "url": "https://h.example.com",
                "credential": {"type": "secret", "access_key": "u", "access_secret": "x"}}),
            "credential type",
        ),
        (
            json!({"name": "a", "type": "harbor", "url": "https://h.example.com",
                "ca_certificate": "not a certificate"}),
            "PEM",
        ),
    ] {
        let resp = create(&s, body.clone()).await;
        let err = harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        let message = err["errors"][0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(why), "{body}: {message}");
    }
    let resp = create(&s, registry_body("dup", "https://dup.example.com")).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = create(&s, registry_body("dup", "https://dup2.example.com")).await;
    harbor_error(resp, StatusCode::CONFLICT, "CONFLICT").await;
    let resp = admin(&s, Method::GET, "/api/v2.0/registries/abc", None).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let resp = admin(&s, Method::GET, "/api/v2.0/registries/999", None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = admin(&s, Method::GET, "/api/v2.0/registries?q=color%3Dred", None).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/registries",
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn registries_are_for_system_administrators() {
    let s = TestServer::start().await;
    let resp = create(&s, registry_body("r", "https://r.example.com")).await;
    let id = location_id(&resp);
    create_user(&s, "dev").await;
    let dev = as_user("dev", PASSWORD);
    let anon = anon_client();
    for (method, path, body) in [
        (Method::GET, "/api/v2.0/registries".to_owned(), None),
        (
            Method::POST,
            "/api/v2.0/registries".to_owned(),
            Some(registry_body("x", "https://x.example.com")),
        ),
        (Method::GET, format!("/api/v2.0/registries/{id}"), None),
        (
            Method::PUT,
            format!("/api/v2.0/registries/{id}"),
            Some(json!({"name": "y"})),
        ),
        (Method::DELETE, format!("/api/v2.0/registries/{id}"), None),
        (Method::GET, format!("/api/v2.0/registries/{id}/info"), None),
        (
            Method::POST,
            "/api/v2.0/registries/ping".to_owned(),
            Some(json!({"id": id})),
        ),
        (
            Method::GET,
            "/api/v2.0/replication/adapters".to_owned(),
            None,
        ),
        (
            Method::GET,
            "/api/v2.0/replication/adapterinfos".to_owned(),
            None,
        ),
    ] {
        let resp = send(&dev, &s, method.clone(), &path, body.clone()).await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "user: {method} {path}"
        );
        let resp = send(&anon, &s, method.clone(), &path, body).await;
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "anonymous: {method} {path}"
        );
    }
    // Nothing changed.
    let r: Value = get_json(&client(), &s, &format!("/api/v2.0/registries/{id}")).await;
    assert_eq!(r["name"], "r");
    // The changes are in the audit log.
    admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/registries/{id}"),
        None,
    )
    .await;
    let mut ops = Vec::new();
    for _ in 0..100 {
        let logs: Vec<Value> = get_json(
            &client(),
            &s,
            "/api/v2.0/audit-logs?q=resource_type%3Dregistry",
        )
        .await;
        ops = logs
            .iter()
            .map(|l| {
                format!(
                    "{} {}",
                    l["operation"].as_str().unwrap(),
                    l["resource"].as_str().unwrap()
                )
            })
            .collect();
        if ops.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ops, ["delete r", "create r"]);
}

#[tokio::test]
async fn info_and_adapters_describe_what_replication_supports() {
    let s = TestServer::start().await;
    let adapters: Vec<String> = get_json(&client(), &s, "/api/v2.0/replication/adapters").await;
    assert_eq!(adapters, ["docker-hub", "docker-registry", "harbor"]);
    let infos: Value = get_json(&client(), &s, "/api/v2.0/replication/adapterinfos").await;
    assert_eq!(
        infos["docker-hub"]["endpoint_pattern"]["endpoints"][0]["value"],
        "https://hub.docker.com"
    );
    let id = location_id(
        &create(
            &s,
            json!({"name": "h", "type": "harbor", "url": "https://h.example.com"}),
        )
        .await,
    );
    let info: Value = get_json(&client(), &s, &format!("/api/v2.0/registries/{id}/info")).await;
    assert_eq!(info["type"], "harbor");
    let filters: Vec<&str> = info["supported_resource_filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(filters, ["name", "tag", "label", "resource"]);
    assert_eq!(
        info["supported_triggers"],
        json!(["manual", "scheduled", "event_based"])
    );
    assert_eq!(info["supported_copy_by_chunk"], true);
    let typed: harbor_api_model::RegistryInfo = serde_json::from_value(info).unwrap();
    assert_eq!(
        typed.supported_resource_filters[3].values,
        ["image", "artifact"]
    );
    let id = location_id(
        &create(
            &s,
            json!({"name": "d", "type": "docker-registry", "url": "https://d.example.com"}),
        )
        .await,
    );
    let info: Value = get_json(&client(), &s, &format!("/api/v2.0/registries/{id}/info")).await;
    assert_eq!(
        info["supported_resource_filters"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn pings_reach_registries_only_where_the_operator_allows() {
    // The default policy: public addresses only. A registry on loopback is refused,
    // and the message names the setting that allows it.
    let strict = TestServer::start().await;
    let resp = admin(
        &strict,
        Method::POST,
        "/api/v2.0/registries/ping",
        Some(json!({"type": "docker-registry", "url": strict.base})),
    )
    .await;
    let err = harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let message = err["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("unhealthy") && message.contains("loopback"),
        "{message}"
    );

    // Allowed: a ping of this very server (a real registry on loopback) with the right,
    // the wrong and no credential.
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let ping = |body: Value| {
        let s = &s;
        async move { admin(s, Method::POST, "/api/v2.0/registries/ping", Some(body)).await }
    };
    let resp = ping(json!({"type": "harbor", "url": s.base, "access_key": "admin", "access_secret": ADMIN_PASSWORD})).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let resp = ping(
        json!({"type": "harbor", "url": s.base, "access_key": "admin", "access_secret": "wrong"}),
    )
    .await;
    let err = harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(err.to_string().contains("unhealthy"), "{err}");
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let resp = ping(json!({"type": "harbor", "url": format!("http://{closed}")})).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // A stored registry: its status follows the pings.
    let resp = create(
        &s,
        json!({"name": "self", "type": "harbor", "url": s.base,
               "credential": {"access_key": "admin", "access_secret": "wrong"}}),
    )
    .await;
    let id = location_id(&resp);
    let status = |s: &TestServer| {
        let path = format!("/api/v2.0/registries/{id}");
        let s = s.base.clone();
        async move {
            let r: Value = client()
                .get(format!("{s}{path}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["status"].as_str().unwrap().to_owned()
        }
    };
    let resp = ping(json!({"id": id})).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert_eq!(status(&s).await, "unhealthy");
    // Trying other settings for a stored registry does not change it.
    let resp = ping(json!({"id": id, "access_secret": ADMIN_PASSWORD})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = get_json(&client(), &s, &format!("/api/v2.0/registries/{id}")).await;
    assert_eq!(r["credential"]["access_key"], "admin");
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/registries/{id}"),
        Some(json!({"access_secret": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(status(&s).await, "unknown", "a change resets the status");
    let resp = ping(json!({"id": id})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(status(&s).await, "healthy");
}

#[tokio::test]
async fn registry_health_is_checked_in_the_background() {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.remote.health_check_secs = 1;
    })
    .await;
    let good = location_id(
        &create(
            &s,
            json!({"name": "self", "type": "harbor", "url": s.base,
                   "credential": {"access_key": "admin", "access_secret": ADMIN_PASSWORD}}),
        )
        .await,
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let bad = location_id(
        &create(
            &s,
            json!({"name": "down", "type": "docker-registry", "url": format!("http://{closed}")}),
        )
        .await,
    );
    let status = |id: i64| {
        let s = &s;
        async move {
            let r: Value = get_json(&client(), s, &format!("/api/v2.0/registries/{id}")).await;
            r["status"].as_str().unwrap().to_owned()
        }
    };
    let mut seen = (String::new(), String::new());
    for _ in 0..100 {
        seen = (status(good).await, status(bad).await);
        if seen.0 != "unknown" && seen.1 != "unknown" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, ("healthy".to_owned(), "unhealthy".to_owned()));
}
