//! Scanner registrations (`/scanners`, `/scanners/ping`, `/scanners/{id}[/metadata]`) and
//! project scanners (`/projects/{p}/scanner[/candidates]`): Harbor's models, validation,
//! system-level access, the default, project RBAC, credentials sealed at rest and never
//! answered, and pings of the real built-in adapter of the same server (`/api/v1`) under
//! the address policy.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

const SECRET: &str = "Scanner-Secret-4711";
const API_KEY_AUTH: &str = "X-ScannerAdapter-API-Key";

async fn create(s: &TestServer, body: Value) -> Response {
    admin(s, Method::POST, "/api/v2.0/scanners", Some(body)).await
}

fn scanner_body(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} adapter"),
        "url": url,
        "auth": "Bearer",
        "access_credential": SECRET,
        "skip_certVerify": true,
        "use_internal_addr": true,
        "disabled": false,
    })
}

/// The uuid at the end of a `Location` header, which must be Harbor's path.
fn location_uuid(resp: &Response) -> String {
    let loc = header(resp.headers(), "location").expect("location");
    let uuid = loc
        .strip_prefix("/api/v2.0/scanners/")
        .unwrap_or_else(|| panic!("location {loc}"));
    assert_eq!(uuid.len(), 36, "{uuid}");
    uuid.to_owned()
}

/// Creates a registration as the administrator; its uuid.
async fn created_uuid(s: &TestServer, body: Value) -> String {
    let resp = create(s, body.clone()).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create {body}");
    location_uuid(&resp)
}

async fn scanner(s: &TestServer, uuid: &str) -> Value {
    get_json(&client(), s, &format!("/api/v2.0/scanners/{uuid}")).await
}

async fn names(s: &TestServer, path: &str) -> Vec<String> {
    let items: Vec<Value> = get_json(&client(), s, path).await;
    items
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn message(resp: Response, status: StatusCode, code: &str) -> String {
    let err = harbor_error(resp, status, code).await;
    err["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn scanners_round_trip_without_their_credentials() {
    let s = TestServer::start().await;
    let resp = create(&s, scanner_body("trivy", "http://Trivy.Example.com:8080/")).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let uuid = location_uuid(&resp);
    let r = scanner(&s, &uuid).await;
    assert_eq!(r["uuid"], uuid.as_str());
    assert_eq!(r["name"], "trivy");
    assert_eq!(r["description"], "trivy adapter");
    assert_eq!(r["url"], "http://trivy.example.com:8080", "normalised");
    assert_eq!(r["disabled"], false);
    assert_eq!(
        r["is_default"], true,
        "the first registration is the default"
    );
    assert_eq!(r["auth"], "Bearer");
    assert_eq!(r["access_credential"], "", "never answered");
    assert_eq!(r["skip_certVerify"], true);
    assert_eq!(r["use_internal_addr"], true);
    assert!(r["create_time"].as_str().unwrap().ends_with('Z'));
    assert!(r["update_time"].as_str().unwrap().ends_with('Z'));
    let typed: harbor_api_model::ScannerRegistration = serde_json::from_value(r.clone()).unwrap();
    assert_eq!(typed.uuid, uuid);
    assert!(typed.skip_cert_verify);
    assert!(!r.to_string().contains(SECRET));

    // A second one, without authentication: not the default.
    let other = created_uuid(
        &s,
        json!({"name": "clair", "url": "https://clair.example.com/adapter"}),
    )
    .await;
    let c = scanner(&s, &other).await;
    assert_eq!(c["is_default"], false);
    assert_eq!(c["auth"], "");
    assert_eq!(c["description"], "");
    assert_eq!(c["url"], "https://clair.example.com/adapter");
    assert_eq!(c["skip_certVerify"], false);

    // Listing, with Harbor's filters and pages.
    let resp = get(&client(), &s, "/api/v2.0/scanners").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("2"));
    let all: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|r| r["access_credential"] == ""));
    assert_eq!(
        names(&s, "/api/v2.0/scanners?q=name%3D~CLA").await,
        ["clair"]
    );
    assert_eq!(
        names(&s, "/api/v2.0/scanners?q=name%3Dtrivy").await,
        ["trivy"]
    );
    assert!(
        names(&s, "/api/v2.0/scanners?q=name%3Dtriv")
            .await
            .is_empty()
    );
    assert_eq!(
        names(&s, "/api/v2.0/scanners?q=url%3D~8080").await,
        ["trivy"]
    );
    assert_eq!(
        names(&s, "/api/v2.0/scanners?q=description%3D~adapter").await,
        ["trivy"]
    );
    assert_eq!(names(&s, "/api/v2.0/scanners?name=lai").await, ["clair"]);
    assert_eq!(
        names(&s, "/api/v2.0/scanners?ex_name=clair").await,
        ["clair"]
    );
    assert!(
        names(&s, "/api/v2.0/scanners?ex_name=clai")
            .await
            .is_empty()
    );
    let resp = get(&client(), &s, "/api/v2.0/scanners?page=2&page_size=1").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("2"));
    assert!(header(resp.headers(), "link").unwrap().contains("prev"));
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(page.len(), 1);

    // PUT replaces every field; an empty credential keeps the stored one while the auth
    // needs one.
    let path = format!("/api/v2.0/scanners/{uuid}");
    let resp = admin(
        &s,
        Method::PUT,
        &path,
        Some(
            json!({"name": "trivy-2", "url": "http://trivy.example.com:9090",
                    "auth": "Bearer", "access_credential": ""}),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r = scanner(&s, &uuid).await;
    assert_eq!(r["name"], "trivy-2");
    assert_eq!(r["url"], "http://trivy.example.com:9090");
    assert_eq!(r["description"], "");
    assert_eq!(r["skip_certVerify"], false);
    assert_eq!(r["use_internal_addr"], false);
    assert_eq!(r["auth"], "Bearer");
    assert_eq!(r["is_default"], true);
    // Dropping the auth drops the credential: asking for it back without one fails.
    let resp = admin(
        &s,
        Method::PUT,
        &path,
        Some(json!({"name": "trivy-2", "url": "http://trivy.example.com:9090"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(scanner(&s, &uuid).await["auth"], "");
    let resp = admin(
        &s,
        Method::PUT,
        &path,
        Some(json!({"name": "trivy-2", "url": "http://trivy.example.com:9090", "auth": "Bearer"})),
    )
    .await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(m.contains("access_credential"), "{m}");

    // The credential never reaches the database in clear.
    created_uuid(&s, scanner_body("sealed", "http://sealed.example.com")).await;
    if s.database_url().starts_with("sqlite:") {
        let mut seen = 0;
        for entry in std::fs::read_dir(&s.data_dir).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("registry.db") {
                seen += 1;
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "the credential is in {} in clear",
                    p.display()
                );
            }
        }
        assert!(seen > 0, "no database file found");
    }

    // DELETE answers the deleted registration.
    let other_path = format!("/api/v2.0/scanners/{other}");
    let resp = admin(&s, Method::DELETE, &other_path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let deleted: Value = resp.json().await.unwrap();
    assert_eq!(deleted["uuid"], other.as_str());
    assert_eq!(deleted["name"], "clair");
    let resp = admin(&s, Method::GET, &other_path, None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = admin(&s, Method::DELETE, &other_path, None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn bad_scanners_are_refused_with_clear_errors() {
    let s = TestServer::start().await;
    let long_credential = "k".repeat(4097);
    for (body, why) in [
        (json!({"name": "", "url": "http://a.example.com"}), "name"),
        (
            json!({"name": "   ", "url": "http://a.example.com"}),
            "name",
        ),
        (
            json!({"name": "n".repeat(256), "url": "http://a.example.com"}),
            "255",
        ),
        (json!({"name": "a", "url": ""}), "required"),
        (json!({"name": "a", "url": "ftp://a.example.com"}), "http"),
        (json!({"name": "a", "url": "a.example.com:8080"}), "http"),
        (
            json!({"name": "a", "url": "http://u:p@a.example.com"}),
            "credentials",
        ),
        (
            json!({"name": "a", "url": "http://a.example.com/?x=1"}),
            "query",
        ),
        (
            json!({"name": "a", "url": "http://a.example.com", "description": "d".repeat(1025)}),
            "1024",
        ),
        (
            json!({"name": "a", "url": "http://a.example.com", "auth": "Digest", "access_credential": "x"}),
            "unsupported auth",
        ),
        (
            json!({"name": "a", "url": "http://a.example.com", "auth": "Bearer"}),
            "access_credential is required",
        ),
        (
            json!({"name": "a", "url": "http://a.example.com", "auth": "Basic", "access_credential": long_credential}),
            "4096",
        ),
    ] {
        let resp = create(&s, body.clone()).await;
        let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(m.contains(why), "{body}: {m}");
    }
    let resp = create(&s, json!({"name": 5})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(names(&s, "/api/v2.0/scanners").await.is_empty());

    // Names and URLs are unique (the URL as normalised); the conflict names the field.
    let a = created_uuid(&s, json!({"name": "a", "url": "http://a.example.com:8080"})).await;
    let b = created_uuid(&s, json!({"name": "b", "url": "http://b.example.com:8080"})).await;
    let resp = create(&s, json!({"name": "a", "url": "http://c.example.com"})).await;
    let m = message(resp, StatusCode::CONFLICT, "CONFLICT").await;
    assert!(m.contains("named \"a\""), "{m}");
    let resp = create(
        &s,
        json!({"name": "c", "url": "HTTP://A.example.com:8080/"}),
    )
    .await;
    let m = message(resp, StatusCode::CONFLICT, "CONFLICT").await;
    assert!(m.contains("URL"), "{m}");
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/scanners/{b}"),
        Some(json!({"name": "a", "url": "http://b.example.com:8080"})),
    )
    .await;
    harbor_error(resp, StatusCode::CONFLICT, "CONFLICT").await;

    // Unknown registrations, filters and bodies.
    for (method, path, body) in [
        (Method::GET, "/api/v2.0/scanners/nope", None),
        (
            Method::PUT,
            "/api/v2.0/scanners/nope",
            Some(json!({"name": "x", "url": "http://x.example.com"})),
        ),
        (Method::DELETE, "/api/v2.0/scanners/nope", None),
        (
            Method::PATCH,
            "/api/v2.0/scanners/nope",
            Some(json!({"is_default": true})),
        ),
        (Method::GET, "/api/v2.0/scanners/nope/metadata", None),
    ] {
        let resp = admin(&s, method.clone(), path, body).await;
        harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let resp = admin(&s, Method::GET, "/api/v2.0/scanners?q=color%3Dred", None).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let resp = admin(
        &s,
        Method::PATCH,
        &format!("/api/v2.0/scanners/{a}"),
        Some(json!({"is_default": "yes"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The default cannot be disabled, a disabled registration cannot be the default.
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/scanners/{a}"),
        Some(json!({"name": "a", "url": "http://a.example.com:8080", "disabled": true})),
    )
    .await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(m.contains("default"), "{m}");
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/scanners/{b}"),
        Some(json!({"name": "b", "url": "http://b.example.com:8080", "disabled": true})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(scanner(&s, &b).await["disabled"], true);
    let resp = admin(
        &s,
        Method::PATCH,
        &format!("/api/v2.0/scanners/{b}"),
        Some(json!({"is_default": true})),
    )
    .await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(m.contains("disabled"), "{m}");
    assert_eq!(scanner(&s, &a).await["is_default"], true);
}

#[tokio::test]
async fn scanners_are_for_system_administrators() {
    let s = TestServer::start().await;
    let uuid = created_uuid(&s, scanner_body("trivy", "http://trivy.example.com")).await;
    create_user(&s, "dev").await;
    let dev = as_user("dev", PASSWORD);
    let anon = anon_client();
    for (method, path, body) in [
        (Method::GET, "/api/v2.0/scanners".to_owned(), None),
        (
            Method::POST,
            "/api/v2.0/scanners".to_owned(),
            Some(scanner_body("x", "http://x.example.com")),
        ),
        (
            Method::POST,
            "/api/v2.0/scanners/ping".to_owned(),
            Some(json!({"name": "x", "url": "http://x.example.com"})),
        ),
        (Method::GET, format!("/api/v2.0/scanners/{uuid}"), None),
        (
            Method::PUT,
            format!("/api/v2.0/scanners/{uuid}"),
            Some(json!({"name": "y", "url": "http://y.example.com"})),
        ),
        (
            Method::PATCH,
            format!("/api/v2.0/scanners/{uuid}"),
            Some(json!({"is_default": true})),
        ),
        (Method::DELETE, format!("/api/v2.0/scanners/{uuid}"), None),
        (
            Method::GET,
            format!("/api/v2.0/scanners/{uuid}/metadata"),
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
    let r = scanner(&s, &uuid).await;
    assert_eq!(r["name"], "trivy");
    // The administrator's changes are in the audit log.
    admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/scanners/{uuid}"),
        None,
    )
    .await;
    let logs = wait_audit(&s, "q=resource_type%3Dscanner", |l| {
        l["operation"] == "delete"
    })
    .await;
    let ops: Vec<String> = logs
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["operation"].as_str().unwrap(),
                l["resource"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(ops, ["delete trivy", "create trivy"]);
}

#[tokio::test]
async fn the_default_is_one_registration_at_a_time() {
    let s = TestServer::start().await;
    let mut uuids = Vec::new();
    for name in ["one", "two", "three"] {
        uuids.push(
            created_uuid(
                &s,
                json!({"name": name, "url": format!("http://{name}.example.com")}),
            )
            .await,
        );
    }
    let defaults = |s: &TestServer| {
        let s = s.base.clone();
        async move {
            let all: Vec<Value> = client()
                .get(format!("{s}/api/v2.0/scanners"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            all.iter()
                .filter(|r| r["is_default"] == true)
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(defaults(&s).await, ["one"]);
    let patch = |uuid: &str, is_default: bool| {
        let path = format!("/api/v2.0/scanners/{uuid}");
        let s = &s;
        async move {
            admin(
                s,
                Method::PATCH,
                &path,
                Some(json!({"is_default": is_default})),
            )
            .await
            .status()
        }
    };
    assert_eq!(patch(&uuids[1], true).await, StatusCode::OK);
    assert_eq!(defaults(&s).await, ["two"]);
    // `false` changes nothing, as in Harbor; twice is fine.
    assert_eq!(patch(&uuids[1], false).await, StatusCode::OK);
    assert_eq!(patch(&uuids[2], false).await, StatusCode::OK);
    assert_eq!(patch(&uuids[1], true).await, StatusCode::OK);
    assert_eq!(defaults(&s).await, ["two"]);
    assert_eq!(patch(&uuids[2], true).await, StatusCode::OK);
    assert_eq!(defaults(&s).await, ["three"]);

    // Without a default, a project has no scanner ({} as in Harbor) until one is chosen;
    // the next registration created becomes the default.
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/scanners/{}", uuids[2]),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(defaults(&s).await.is_empty());
    // Anonymous callers may not read it, even in a public project (as in Harbor).
    assert_eq!(
        status_of(&anon_client(), &s, "/api/v2.0/projects/library/scanner").await,
        StatusCode::UNAUTHORIZED
    );
    let none: Value = get_json(&client(), &s, "/api/v2.0/projects/library/scanner").await;
    assert_eq!(none, json!({}));
    created_uuid(
        &s,
        json!({"name": "four", "url": "http://four.example.com"}),
    )
    .await;
    assert_eq!(defaults(&s).await, ["four"]);
    let p: Value = get_json(&client(), &s, "/api/v2.0/projects/library/scanner").await;
    assert_eq!(p["name"], "four");
    assert_eq!(p["is_default"], true);
}

#[tokio::test]
async fn projects_choose_among_enabled_scanners() {
    let s = TestServer::start().await;
    let project_id = create_project(&s, "team", false).await;
    for (user, role) in [("padmin", 1), ("guest", 3)] {
        create_user(&s, user).await;
        add_member(&s, "team", user, role).await;
    }
    create_user(&s, "outsider").await;
    let padmin = as_user("padmin", PASSWORD);
    let guest = as_user("guest", PASSWORD);
    let outsider = as_user("outsider", PASSWORD);
    let a = created_uuid(&s, json!({"name": "a", "url": "http://a.example.com"})).await;
    let b = created_uuid(&s, json!({"name": "b", "url": "http://b.example.com"})).await;
    let c = created_uuid(
        &s,
        json!({"name": "c", "url": "http://c.example.com", "disabled": true}),
    )
    .await;

    // Every member reads the project's scanner: the default until one is chosen.
    let path = "/api/v2.0/projects/team/scanner";
    let r: Value = get_json(&guest, &s, path).await;
    assert_eq!(
        (r["uuid"].as_str(), r["is_default"].as_bool()),
        (Some(a.as_str()), Some(true))
    );
    assert_eq!(r["access_credential"], "");

    // Candidates: the enabled registrations, for those who may choose (project admins).
    let resp = get(&padmin, &s, "/api/v2.0/projects/team/scanner/candidates").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "x-total-count"), Some("2"));
    let items: Vec<Value> = resp.json().await.unwrap();
    let candidates: Vec<&str> = items.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(candidates, ["a", "b"]);
    let only_b: Vec<Value> = get_json(
        &padmin,
        &s,
        "/api/v2.0/projects/team/scanner/candidates?q=name%3Db&page_size=1",
    )
    .await;
    assert_eq!(only_b.len(), 1);
    assert_eq!(
        status_of(&guest, &s, "/api/v2.0/projects/team/scanner/candidates").await,
        StatusCode::FORBIDDEN
    );

    // Choosing: project admins yes, guests no, outsiders do not see the project.
    let choose = |c: &reqwest::Client, uuid: &str| {
        let body = json!({"uuid": uuid});
        let c = c.clone();
        let s = &s;
        async move { send(&c, s, Method::PUT, path, Some(body)).await }
    };
    let resp = choose(&guest, &b).await;
    harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let resp = choose(&outsider, &b).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(status_of(&outsider, &s, path).await, StatusCode::NOT_FOUND);
    let resp = choose(&anon_client(), &b).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = choose(&padmin, &c).await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(m.contains("disabled"), "{m}");
    let resp = choose(&padmin, "nope").await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = send(&padmin, &s, Method::PUT, path, Some(json!({}))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = choose(&padmin, &b).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = get_json(&guest, &s, path).await;
    assert_eq!(
        (r["name"].as_str(), r["is_default"].as_bool()),
        (Some("b"), Some(false))
    );
    // By id, and by a numeric name with X-Is-Resource-Name.
    let r: Value = get_json(
        &guest,
        &s,
        &format!("/api/v2.0/projects/{project_id}/scanner"),
    )
    .await;
    assert_eq!(r["name"], "b");
    create_project(&s, "4711", false).await;
    let by_name = get_with(
        &client(),
        &s,
        "/api/v2.0/projects/4711/scanner",
        ("X-Is-Resource-Name", "true"),
    )
    .await;
    assert_eq!(by_name.status(), StatusCode::OK);
    let r: Value = by_name.json().await.unwrap();
    assert_eq!(r["name"], "a");
    assert_eq!(
        status_of(&client(), &s, "/api/v2.0/projects/4711/scanner").await,
        StatusCode::NOT_FOUND,
        "4711 as an id"
    );
    // Other projects keep the default; the choice is in the audit log.
    let r: Value = get_json(&client(), &s, "/api/v2.0/projects/library/scanner").await;
    assert_eq!(r["name"], "a");
    wait_audit(&s, "q=resource_type%3Dproject_scanner", |l| {
        l["resource"] == "team:b" && l["operation"] == "update" && l["username"] == "padmin"
    })
    .await;

    // Deleting the chosen registration falls back to the default.
    admin(&s, Method::DELETE, &format!("/api/v2.0/scanners/{b}"), None).await;
    let r: Value = get_json(&guest, &s, path).await;
    assert_eq!(r["name"], "a");
}

/// A server whose built-in adapter takes the key `k`.
async fn adapter_server(allow_loopback: bool) -> TestServer {
    TestServer::start_configured(|c| {
        c.remote.allow_loopback = allow_loopback;
        c.scanner.adapter_api_key = Some(harbor_server::config::Secret("k".into()));
    })
    .await
}

async fn ping(s: &TestServer, body: Value) -> Response {
    admin(s, Method::POST, "/api/v2.0/scanners/ping", Some(body)).await
}

#[tokio::test]
async fn pings_and_metadata_reach_the_built_in_adapter() {
    let s = adapter_server(true).await;
    let settings = |auth: &str, credential: &str| json!({"name": "self", "url": s.base, "auth": auth, "access_credential": credential});
    // The key, the key as a Bearer token and an administrator's Basic credentials work.
    for (auth, credential) in [
        (API_KEY_AUTH, "k"),
        ("Bearer", "k"),
        ("Basic", &format!("admin:{ADMIN_PASSWORD}") as &str),
    ] {
        let resp = ping(&s, settings(auth, credential)).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{auth}: {}",
            resp.text().await.unwrap()
        );
    }
    // A wrong or missing credential is refused by the adapter, and the answer says so.
    for (auth, credential) in [(API_KEY_AUTH, "wrong"), ("", ""), ("Basic", "admin:wrong")] {
        let m = message(
            ping(&s, settings(auth, credential)).await,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        )
        .await;
        assert!(m.contains("401"), "{auth}: {m}");
    }
    // Not an adapter there, nothing listening, invalid settings.
    let m = message(
        ping(
            &s,
            json!({"name": "x", "url": format!("{}/nothing", s.base), "auth": API_KEY_AUTH, "access_credential": "k"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    assert!(m.contains("404"), "{m}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let resp = ping(&s, json!({"name": "x", "url": format!("http://{closed}")})).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let resp = ping(&s, json!({"name": "x", "url": "ftp://x"})).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // A stored registration's metadata: the built-in scanner, as the adapter describes it.
    let uuid = created_uuid(
        &s,
        json!({"name": "built-in", "url": s.base, "auth": API_KEY_AUTH, "access_credential": "k"}),
    )
    .await;
    let path = format!("/api/v2.0/scanners/{uuid}/metadata");
    let m: Value = get_json(&client(), &s, &path).await;
    assert_eq!(m["scanner"]["name"], "Harbor-rs");
    assert_eq!(m["scanner"]["vendor"], "Harbor-rs");
    assert!(!m["scanner"]["version"].as_str().unwrap().is_empty());
    let typed: harbor_api_model::scanner_adapter::ScannerAdapterMetadata =
        serde_json::from_value(m).unwrap();
    assert!(typed.capabilities.iter().any(|c| {
        c.consumes_mime_types.iter().any(|t| t == OCI_MANIFEST)
            && c.produces_mime_types
                .iter()
                .any(|t| t == harbor_api_model::scanner_adapter::VULN_REPORT_HARBOR)
    }));

    // An update without a credential keeps the key; a wrong one shows in the metadata call.
    let put = |credential: &str| {
        let body = json!({"name": "built-in", "url": s.base, "auth": API_KEY_AUTH, "access_credential": credential});
        let p = format!("/api/v2.0/scanners/{uuid}");
        let s = &s;
        async move { admin(s, Method::PUT, &p, Some(body)).await.status() }
    };
    assert_eq!(put("").await, StatusCode::OK);
    let m: Value = get_json(&client(), &s, &path).await;
    assert_eq!(m["scanner"]["name"], "Harbor-rs");
    assert_eq!(put("wrong").await, StatusCode::OK);
    let m = message(
        admin(&s, Method::GET, &path, None).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    assert!(m.contains("401"), "{m}");
    assert_eq!(put("k").await, StatusCode::OK);
    let m: Value = get_json(&client(), &s, &path).await;
    assert_eq!(m["scanner"]["name"], "Harbor-rs");
}

#[tokio::test]
async fn adapters_are_reached_only_where_the_operator_allows() {
    // The default address policy: public addresses only. This server's own address is
    // always reachable (its built-in adapter); any other loopback address is refused,
    // and the refusal names the policy and the setting.
    let s = adapter_server(false).await;
    let resp = ping(
        &s,
        json!({"name": "self", "url": s.base, "auth": API_KEY_AUTH, "access_credential": "k"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let port = s.addr.port();
    let other = format!("http://127.0.0.2:{port}");
    let resp = ping(
        &s,
        json!({"name": "other", "url": other, "auth": API_KEY_AUTH, "access_credential": "k"}),
    )
    .await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(
        m.contains("address policy") && m.contains("loopback"),
        "{m}"
    );
    // Registering does not call the adapter; asking for its metadata does.
    let uuid = created_uuid(
        &s,
        json!({"name": "other", "url": other, "auth": API_KEY_AUTH, "access_credential": "k"}),
    )
    .await;
    let resp = admin(
        &s,
        Method::GET,
        &format!("/api/v2.0/scanners/{uuid}/metadata"),
        None,
    )
    .await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(m.contains("address policy"), "{m}");
    // A name resolving to loopback is refused too.
    let resp = ping(
        &s,
        json!({"name": "self", "url": format!("http://localhost:{port}"), "auth": API_KEY_AUTH, "access_credential": "k"}),
    )
    .await;
    let m = message(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(m.contains("address policy"), "{m}");
}

/// The sealed credential of registration `uuid`, read from the server's database.
async fn stored_credential(s: &TestServer, uuid: &str) -> Vec<u8> {
    use harbor_core::scan::registrations::ScannerStore as _;
    let store = harbor_storage::SqlMetadataStore::connect(
        &s.database_url(),
        &harbor_storage::sql::PoolConfig::default(),
    )
    .await
    .unwrap();
    let r = store.registration(uuid).await.unwrap().unwrap();
    store.close().await;
    r.settings.sealed_credential
}

/// Points registration `uuid` at `s` (restarted on another port), keeping the stored
/// credential, and asks the adapter for its metadata with it.
async fn follow(s: &TestServer, uuid: &str) {
    let body = json!({"name": "self", "url": s.base, "auth": API_KEY_AUTH});
    let path = format!("/api/v2.0/scanners/{uuid}");
    assert_eq!(
        admin(s, Method::PUT, &path, Some(body)).await.status(),
        StatusCode::OK
    );
    let m: Value = get_json(&client(), s, &format!("{path}/metadata")).await;
    assert_eq!(m["scanner"]["name"], "Harbor-rs");
}

#[tokio::test]
async fn credentials_are_resealed_when_the_secret_key_rotates() {
    use harbor_auth::sealing::SealingKey;
    let s = adapter_server(true).await;
    let uuid = created_uuid(
        &s,
        json!({"name": "self", "url": s.base, "auth": API_KEY_AUTH, "access_credential": "k"}),
    )
    .await;
    let sealed = stored_credential(&s, &uuid).await;
    assert!(SealingKey::is_sealed(&sealed));
    follow(&s, &uuid).await;

    let old = s.config().sealing_keys().unwrap().0.to_hex();
    let new = SealingKey::generate().unwrap().to_hex();
    let s = s
        .restart_with(|c| {
            c.auth.secret_key = Some(harbor_server::config::Secret(new.clone()));
            c.auth.previous_secret_keys = vec![harbor_server::config::Secret(old.clone())];
        })
        .await;
    let resealed = stored_credential(&s, &uuid).await;
    assert_ne!(resealed, sealed);
    assert_eq!(
        SealingKey::parse(&new)
            .unwrap()
            .open(&resealed, "scanner credential")
            .unwrap(),
        b"k"
    );
    follow(&s, &uuid).await;
    // The new key alone opens it.
    let s = s
        .restart_with(|c| c.auth.previous_secret_keys.clear())
        .await;
    follow(&s, &uuid).await;
}
