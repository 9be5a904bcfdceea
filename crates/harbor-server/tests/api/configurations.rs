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
