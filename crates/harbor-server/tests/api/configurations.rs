//! `/api/v2.0/configurations` and read-only mode: every write on `/v2/` and the REST API
//! is refused with Harbor's `403 DENIED` while pulls, tokens and sign-in keep working; the
//! switch is stored in the database (it survives a restart) and is for administrators.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

const CONFIG: &str = "/api/v2.0/configurations";

async fn set_read_only(s: &TestServer, on: bool) {
    let r = admin(s, Method::PUT, CONFIG, Some(json!({ "read_only": on }))).await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn read_only(s: &TestServer) -> Value {
    let cfg: Value = get_json(&client(), s, CONFIG).await;
    cfg["read_only"].clone()
}

/// A write refused in read-only mode, with Harbor's code and message.
async fn denied(r: Response) {
    let url = r.url().clone();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{url}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED", "{url}: {body}");
    assert_eq!(
        body["errors"][0]["message"],
        "The system is in read only mode. Any modification is prohibited.",
    );
}

#[tokio::test]
async fn read_only_mode_refuses_writes_and_keeps_pulls() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let digest = seed_image(&s, "team/app", "v1").await;
    create_user(&s, "dev").await;
    add_member(&s, "team", "dev", 2).await;
    assert_eq!(
        read_only(&s).await,
        json!({"value": false, "editable": true})
    );

    set_read_only(&s, true).await;
    assert_eq!(read_only(&s).await["value"], true);
    let info: Value = get_json(&client(), &s, "/api/v2.0/systeminfo").await;
    assert_eq!(info["read_only"], true);

    // /v2/ writes, even an administrator's: uploads, manifests, deletes.
    let admin_c = client();
    let dev = as_user("dev", PASSWORD);
    let blob = data(100, 9);
    let r = admin_c
        .post(s.url(&format!(
            "/v2/team/app/blobs/uploads/?digest={}",
            sha256(&blob)
        )))
        .body(blob)
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
    denied(post(&dev, &s, "/v2/team/app/blobs/uploads/").await).await;
    let m = get(&admin_c, &s, "/v2/team/app/manifests/v1").await;
    assert_eq!(m.status(), StatusCode::OK);
    let manifest = m.bytes().await.unwrap();
    denied(put_manifest_as(&dev, &s, "team/app", "v2", &manifest).await).await;
    let del = format!("/v2/team/app/manifests/{digest}");
    denied(admin(&s, Method::DELETE, &del, None).await).await;
    denied(admin(&s, Method::DELETE, "/v2/team/app/manifests/v1", None).await).await;

    // REST API writes.
    let project = json!({"project_name": "other", "metadata": {"public": "false"}});
    denied(admin(&s, Method::POST, "/api/v2.0/projects", Some(project)).await).await;
    let repo = "/api/v2.0/projects/team/repositories/app";
    denied(admin(&s, Method::DELETE, repo, None).await).await;
    let user = json!({"username": "late", "password": PASSWORD, "email": "late@example.com", "realname": "Late"});
    denied(admin(&s, Method::POST, "/api/v2.0/users", Some(user)).await).await;

    // Pulls, listings, tokens and signing in go on.
    let tags: Value = get_json(&dev, &s, "/v2/team/app/tags/list").await;
    assert_eq!(tags["tags"], json!(["v1"]));
    assert_eq!(
        status_of(
            &dev,
            &s,
            &format!("/v2/team/app/blobs/{}", json_digest(&manifest))
        )
        .await,
        StatusCode::OK
    );
    let t = token(&s, Some(("dev", PASSWORD)), "repository:team/app:pull").await;
    assert_eq!(granted(&t, "team/app"), ["pull", "push"]);
    let r = anon_client()
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal=dev&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let repos: Vec<Value> = get_json(&client(), &s, "/api/v2.0/projects/team/repositories").await;
    assert_eq!(repos.len(), 1);

    // Stored, not held in memory: a restarted server is still read-only.
    let s = s.restart().await;
    denied(post(&client(), &s, "/v2/team/app/blobs/uploads/").await).await;

    // Turned off, writes work again, and nothing was lost meanwhile.
    set_read_only(&s, false).await;
    let r = put_manifest_as(&dev, &s, "team/app", "v2", &manifest).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let tags: Value = get_json(&dev, &s, "/v2/team/app/tags/list").await;
    assert_eq!(tags["tags"], json!(["v1", "v2"]));
}

/// The config blob's digest of an image manifest.
fn json_digest(manifest: &[u8]) -> String {
    let v: Value = serde_json::from_slice(manifest).unwrap();
    v["config"]["digest"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn only_administrators_read_and_change_configurations() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_user(&s, "owner").await;
    add_member(&s, "team", "owner", 1).await;
    let (_, login, secret) = create_robot(&s, "team", "bot", &[("repository", "push")]).await;
    let on = Some(json!({"read_only": true}));
    for c in [as_user("owner", PASSWORD), as_user(&login, &secret)] {
        harbor_error(
            get(&c, &s, CONFIG).await,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        )
        .await;
        let r = send(&c, &s, Method::PUT, CONFIG, on.clone()).await;
        harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    let anon = anon_client();
    harbor_error(
        get(&anon, &s, CONFIG).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    let r = send(&anon, &s, Method::PUT, CONFIG, on.clone()).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // Bad values and settings this server does not change at run time: 400, no change.
    for body in [
        json!({"read_only": "yes"}),
        json!({"read_only": true, "auth_mode": "ldap_auth"}),
    ] {
        let r = admin(&s, Method::PUT, CONFIG, Some(body)).await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    assert_eq!(read_only(&s).await["value"], false);

    // A change is audited.
    set_read_only(&s, true).await;
    wait_audit(&s, "q=resource_type%3Dconfiguration", |e| {
        e["resource"] == "read_only=true" && e["username"] == "admin" && e["operation"] == "update"
    })
    .await;
}

/// Every field of Harbor's `Configurations`: the ones this server applies are stored and
/// take effect; fixed ones accept only their value; those of missing features only empty
/// values; unknown ones are refused; one bad field changes nothing.
#[tokio::test]
async fn every_configuration_field_is_applied_or_refused_by_name() {
    let s = TestServer::start_strict().await;
    let cfg: Value = get_json(&client(), &s, CONFIG).await;
    for (name, value, editable) in [
        ("read_only", json!(false), true),
        ("project_creation_restriction", json!("everyone"), true),
        ("self_registration", json!(false), true),
        ("token_expiration", json!(30), true),
        ("session_timeout", json!(30), true),
        ("robot_token_duration", json!(30), true),
        ("storage_per_project", json!(-1), true),
        ("banner_message", json!(""), true),
        ("auth_mode", json!("db_auth"), true),
        ("primary_auth_mode", json!(false), true),
        ("ldap_url", json!(""), true),
        ("ldap_uid", json!("cn"), true),
        ("ldap_scope", json!(2), true),
        ("ldap_timeout", json!(5), true),
        ("ldap_verify_cert", json!(true), true),
        ("ldap_group_membership_attribute", json!("memberof"), true),
        ("oidc_verify_cert", json!(true), true),
        ("oidc_auto_onboard", json!(false), true),
        ("http_authproxy_verify_cert", json!(true), true),
        ("robot_name_prefix", json!("robot$"), false),
        ("quota_per_project_enable", json!(true), false),
        ("notification_enable", json!(true), false),
        ("audit_log_forward_endpoint", json!(""), false),
        ("skip_audit_log_database", json!(false), false),
        ("disabled_audit_log_event_types", json!(""), false),
        ("scanner_skip_update_pulltime", json!(false), false),
    ] {
        assert_eq!(
            cfg[name],
            json!({"value": value, "editable": editable}),
            "{name}"
        );
    }

    // Refusals name the field, and the whole request changes nothing.
    for (body, names) in [
        (json!({"token_expiration": 0}), "token_expiration"),
        (json!({"session_timeout": "long"}), "session_timeout"),
        (json!({"robot_token_duration": -1}), "robot_token_duration"),
        (json!({"storage_per_project": 0}), "storage_per_project"),
        (
            json!({"project_creation_restriction": "nobody"}),
            "project_creation_restriction",
        ),
        (json!({"auth_mode": "ldap_auth"}), "ldap_url, ldap_base_dn"),
        (json!({"auth_mode": "uaa_auth"}), "auth_mode"),
        (json!({"robot_name_prefix": "bot_"}), "robot_name_prefix"),
        (
            json!({"quota_per_project_enable": false}),
            "quota_per_project_enable",
        ),
        (json!({"notification_enable": false}), "notification_enable"),
        (
            json!({"audit_log_forward_endpoint": "syslog:514"}),
            "audit_log_forward_endpoint",
        ),
        (json!({"ldap_url": "https://ldap.example.com"}), "ldap_url"),
        (json!({"ldap_base_dn": "people"}), "ldap_base_dn"),
        (json!({"ldap_filter": "uid=*"}), "ldap_filter"),
        (json!({"ldap_scope": 7}), "ldap_scope"),
        (
            json!({"oidc_endpoint": "http://id.example.com"}),
            "oidc_endpoint",
        ),
        (json!({"oidc_group_filter": "(["}), "oidc_group_filter"),
        (
            json!({"http_authproxy_endpoint": "ftp://a"}),
            "http_authproxy_endpoint",
        ),
        (json!({"uaa_endpoint": "https://uaa"}), "uaa_endpoint"),
        (json!({"colour": "blue"}), "colour"),
        (
            json!({"token_expiration": 5, "ldap_url": "ldap://x/dc=y"}),
            "ldap_url",
        ),
    ] {
        let r = admin(&s, Method::PUT, CONFIG, Some(body)).await;
        let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(e.to_string().contains(names), "{names}: {e}");
    }
    let again: Value = get_json(&client(), &s, CONFIG).await;
    assert_eq!(again, cfg, "refused requests changed nothing");
    // Off values of fixed and missing features are accepted (a client sends them all).
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(
            json!({"auth_mode": "db_auth", "ldap_url": "", "oidc_verify_cert": false,
                    "notification_enable": true, "quota_per_project_enable": true}),
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Applied: token and session lifetimes, the project quota default, robot lifetime,
    // the banner, creation restriction and self-registration.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({
            "token_expiration": 5,
            "session_timeout": 7,
            "storage_per_project": 1_048_576,
            "robot_token_duration": 3,
            "banner_message": "Maintenance on Sunday",
            "project_creation_restriction": "adminonly",
            "self_registration": true,
        })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cfg: Value = get_json(&client(), &s, CONFIG).await;
    assert_eq!(cfg["token_expiration"]["value"], 5);
    assert_eq!(cfg["banner_message"]["value"], "Maintenance on Sunday");
    let t: Value = client()
        .get(s.url("/service/token?service=harbor-registry"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["expires_in"], 300);
    create_user(&s, "alice").await;
    let r = anon_client()
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal=alice&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = header(r.headers(), "set-cookie").unwrap().to_owned();
    assert!(cookie.contains("Max-Age=420"), "{cookie}");
    // Only administrators create projects now; theirs get the stored default quota.
    let r = send(
        &as_user("alice", PASSWORD),
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "mine"})),
    )
    .await;
    let e = harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert!(
        e.to_string().contains("project_creation_restriction"),
        "{e}"
    );
    create_project(&s, "small", false).await;
    let q: Value = get_json(&client(), &s, "/api/v2.0/projects/small/summary").await;
    assert_eq!(q["quota"]["hard"]["storage"], 1_048_576);
    // A robot created with duration 0 lives robot_token_duration days.
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/robots",
        Some(
            json!({"name": "ci", "level": "project", "duration": 0, "permissions": [
            {"kind": "project", "namespace": "small",
             "access": [{"resource": "repository", "action": "pull"}]}]}),
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let robot: Value = r.json().await.unwrap();
    let shown: Value = get_json(&client(), &s, &format!("/api/v2.0/robots/{}", robot["id"])).await;
    assert_eq!(shown["duration"], 3);
    let now_secs = harbor_core::model::now_ms() / 1000;
    let days = (shown["expires_at"].as_i64().unwrap() - now_secs) as f64 / 86_400.0;
    assert!((2.9..3.1).contains(&days), "{days}");
    // Self-registration: an anonymous visitor signs up (never as an administrator).
    let r = send(
        &anon_client(),
        &s,
        Method::POST,
        "/api/v2.0/users",
        Some(
            json!({"username": "newbie", "email": "n@example.com", "realname": "N",
                    "password": PASSWORD, "sysadmin_flag": true}),
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let me: Value = get_json(&as_user("newbie", PASSWORD), &s, "/api/v2.0/users/current").await;
    assert_eq!(me["sysadmin_flag"], false);
    // Off again: sign-ups are refused.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"self_registration": false})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(
        &anon_client(),
        &s,
        Method::POST,
        "/api/v2.0/users",
        Some(
            json!({"username": "late", "email": "l@example.com", "realname": "L",
                    "password": PASSWORD}),
        ),
    )
    .await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

/// The stored value of one system setting, read from the database directly.
async fn stored_setting(s: &TestServer, name: &str) -> Option<String> {
    use harbor_core::ports::IdentityStore as _;
    let store = harbor_storage::SqlMetadataStore::connect(
        &s.database_url(),
        &harbor_storage::sql::PoolConfig::default(),
    )
    .await
    .unwrap();
    let rows = store.settings().await.unwrap();
    store.close().await;
    rows.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The sign-in settings: stored and shown (secrets sealed at rest and never shown, nor
/// audited), the mode switched only with what it needs and only while admin is the only
/// user, as Harbor; the operator's override allows it anyway.
#[tokio::test]
async fn sign_in_settings_are_stored_sealed_and_guarded() {
    let s = TestServer::start_strict().await;
    let secret = "s3cret-bind-password";
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({
            "ldap_url": "ldaps://dir.example.com:636",
            "ldap_search_dn": "cn=reader,dc=example,dc=com",
            "ldap_search_password": secret,
            "ldap_base_dn": "ou=people,dc=example,dc=com",
            "ldap_filter": "(objectClass=person)",
            "ldap_uid": "uid",
            "ldap_scope": 1,
            "ldap_group_admin_dn": "cn=admins,ou=groups,dc=example,dc=com",
            "oidc_client_secret": "oidc-secret",
        })),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cfg: Value = get_json(&client(), &s, CONFIG).await;
    assert_eq!(cfg["ldap_url"]["value"], "ldaps://dir.example.com:636");
    assert_eq!(cfg["ldap_uid"]["value"], "uid");
    assert_eq!(cfg["ldap_scope"]["value"], 1);
    assert_eq!(
        cfg["ldap_verify_cert"]["value"], true,
        "verification is on by default"
    );
    let text = cfg.to_string();
    assert!(cfg.get("ldap_search_password").is_none() && !text.contains(secret));
    assert!(cfg.get("oidc_client_secret").is_none() && !text.contains("oidc-secret"));
    let stored = stored_setting(&s, "ldap_search_password").await.unwrap();
    assert!(!stored.contains(secret), "stored in clear: {stored}");
    assert!(stored.len() > 2 * secret.len(), "not sealed: {stored}");
    let audit = wait_audit(&s, "q=resource_type%3Dconfiguration", |e| {
        e["resource"]
            .as_str()
            .is_some_and(|r| r.contains("ldap_url"))
    })
    .await;
    let audit = serde_json::to_string(&audit).unwrap();
    assert!(audit.contains("ldap_search_password") && !audit.contains(secret));

    // The mode needs its settings: OIDC without an endpoint is refused, LDAP is complete.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"auth_mode": "oidc_auth"})),
    )
    .await;
    let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(e.to_string().contains("oidc_endpoint"), "{e}");
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"auth_mode": "ldap_auth"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // An empty secret clears it.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"ldap_search_password": ""})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        stored_setting(&s, "ldap_search_password").await.as_deref(),
        Some("\"\"")
    );
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"auth_mode": "db_auth"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Once another user exists, the mode stays (Harbor's message), and nothing changes.
    create_user(&s, "alice").await;
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"auth_mode": "ldap_auth", "ldap_uid": "cn"})),
    )
    .await;
    let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(
        e.to_string()
            .contains("the auth mode cannot be modified as new users have been inserted"),
        "{e}"
    );
    let cfg: Value = get_json(&client(), &s, CONFIG).await;
    assert_eq!(cfg["auth_mode"]["value"], "db_auth");
    assert_eq!(cfg["ldap_uid"]["value"], "uid");
    // The same value is no change.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"auth_mode": "db_auth"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The operator's override.
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(dir.path(), |c| c.auth.allow_auth_mode_change = true).await;
    create_user(&s, "alice").await;
    let body = json!({"auth_mode": "ldap_auth", "ldap_url": "ldap://127.0.0.1:1",
                      "ldap_base_dn": "dc=example,dc=com"});
    let r = admin(&s, Method::PUT, CONFIG, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cfg: Value = get_json(&client(), &s, CONFIG).await;
    assert_eq!(cfg["auth_mode"]["value"], "ldap_auth");
}
