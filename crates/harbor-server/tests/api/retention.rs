//! Tag retention policies over HTTP: `/retentions/metadatas`, CRUD of `/retentions[/{id}]`
//! with Harbor's validation and errors, one policy per project, and access control by the
//! `tag-retention` permissions of the policy's project.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

/// A policy body as Harbor's portal sends it.
fn policy(project_id: i64, rules: Vec<Value>) -> Value {
    json!({
        "algorithm": "or",
        "rules": rules,
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}},
        "scope": {"level": "project", "ref": project_id},
    })
}

fn rule(template: &str, n: i64, tags: &str) -> Value {
    json!({
        "disabled": false, "action": "retain", "template": template,
        "params": {template: n},
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": tags,
                           "extras": "{\"untagged\":true}"}],
        "scope_selectors": {"repository": [
            {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
        ]},
    })
}

async fn bad_request(s: &TestServer, body: Value) -> String {
    let resp = admin(s, Method::POST, "/api/v2.0/retentions", Some(body)).await;
    let err = harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    err["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn metadata_needs_a_signed_in_caller() {
    let s = TestServer::start_strict().await;
    let resp = get(&anon_client(), &s, "/api/v2.0/retentions/metadatas").await;
    harbor_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let meta: Value = get_json(&client(), &s, "/api/v2.0/retentions/metadatas").await;
    let templates: Vec<&str> = meta["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rule_template"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "latestPushedK",
            "latestPulledN",
            "nDaysSinceLastPush",
            "nDaysSinceLastPull",
            "always"
        ]
    );
    assert_eq!(
        meta["tag_selectors"][0]["decorations"],
        json!(["matches", "excludes"])
    );
    assert_eq!(
        meta["scope_selectors"][0]["decorations"],
        json!(["repoMatches", "repoExcludes"])
    );
}

#[tokio::test]
async fn policies_crud_and_validation() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "ret", false).await;
    let other = create_project(&s, "other", false).await;

    let body = policy(pid, vec![rule("latestPushedK", 10, "**")]);
    let resp = admin(&s, Method::POST, "/api/v2.0/retentions", Some(body.clone())).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = location_id(&resp);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("/api/v2.0/retentions/{id}").as_str())
    );
    let path = format!("/api/v2.0/retentions/{id}");
    let got: Value = get_json(&client(), &s, &path).await;
    assert_eq!(got["id"], id);
    assert_eq!(got["scope"], json!({"level": "project", "ref": pid}));
    assert_eq!(got["rules"][0]["params"], json!({"latestPushedK": 10}));
    assert_eq!(
        got["rules"][0]["tag_selectors"][0]["extras"],
        "{\"untagged\":true}"
    );
    assert_eq!(got["trigger"]["settings"]["cron"], "0 0 0 * * *");

    // One policy per project.
    let msg = bad_request(&s, body.clone()).await;
    assert_eq!(
        msg,
        format!("project {pid} already has retention policy {id}")
    );

    // Validation.
    let msg = bad_request(&s, policy(other, vec![rule("newest", 1, "**")])).await;
    assert!(msg.contains("unknown template \"newest\""), "{msg}");
    let msg = bad_request(&s, policy(other, vec![rule("latestPushedK", 40000, "**")])).await;
    assert!(msg.contains("between 0 and 32766"), "{msg}");
    let many: Vec<Value> = (0..16).map(|i| rule("latestPushedK", i, "**")).collect();
    let msg = bad_request(&s, policy(other, many)).await;
    assert_eq!(msg, "only 15 rules are allowed at most");
    let msg = bad_request(&s, policy(99_999, vec![rule("always", 0, "**")])).await;
    assert_eq!(msg, "invalid Project id 99999");
    let mut system = policy(other, vec![]);
    system["scope"]["level"] = json!("system");
    assert!(bad_request(&s, system).await.contains("not supported"));
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/retentions",
        Some(policy(
            other,
            vec![rule("always", 0, "v*"), rule("always", 0, "v*")],
        )),
    )
    .await;
    harbor_error(resp, StatusCode::CONFLICT, "CONFLICT").await;

    // Update; the policy stays in its project.
    let changed = policy(pid, vec![rule("nDaysSinceLastPull", 7, "v*")]);
    let resp = admin(&s, Method::PUT, &path, Some(changed)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let got: Value = get_json(&client(), &s, &path).await;
    assert_eq!(got["rules"][0]["template"], "nDaysSinceLastPull");
    let resp = admin(&s, Method::PUT, &path, Some(policy(other, vec![]))).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    let resp = admin(&s, Method::DELETE, &path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = get(&client(), &s, &path).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = get(&client(), &s, "/api/v2.0/retentions/abc").await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // The project may have a policy again.
    let resp = admin(&s, Method::POST, "/api/v2.0/retentions", Some(body)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn policies_need_tag_retention_permissions() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "ret", false).await;
    // Roles: 1 projectAdmin, 4 maintainer, 2 developer may; 3 guest, 5 limitedGuest may not.
    for (user, role, allowed) in [
        ("padmin", 1, true),
        ("maint", 4, true),
        ("dev", 2, true),
        ("guest", 3, false),
        ("limited", 5, false),
    ] {
        create_user(&s, user).await;
        add_member(&s, "ret", user, role).await;
        let c = as_user(user, PASSWORD);
        let body = policy(pid, vec![rule("latestPushedK", 3, user)]);
        let create = send(
            &c,
            &s,
            Method::POST,
            "/api/v2.0/retentions",
            Some(body.clone()),
        )
        .await;
        if allowed {
            assert_eq!(create.status(), StatusCode::CREATED, "{user} creates");
            let path = format!("/api/v2.0/retentions/{}", location_id(&create));
            assert_eq!(
                get(&c, &s, &path).await.status(),
                StatusCode::OK,
                "{user} reads"
            );
            let update = send(&c, &s, Method::PUT, &path, Some(body)).await;
            assert_eq!(update.status(), StatusCode::OK, "{user} updates");
            let del = send(&c, &s, Method::DELETE, &path, None).await;
            assert_eq!(del.status(), StatusCode::OK, "{user} deletes");
        } else {
            harbor_error(create, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        }
    }
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/retentions",
        Some(policy(pid, vec![rule("always", 0, "**")])),
    )
    .await;
    let path = format!("/api/v2.0/retentions/{}", location_id(&resp));
    for user in ["guest", "limited"] {
        let c = as_user(user, PASSWORD);
        harbor_error(get(&c, &s, &path).await, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        let del = send(&c, &s, Method::DELETE, &path, None).await;
        harbor_error(del, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    // A non-member does not see the private project's policy; anonymous callers sign in.
    create_user(&s, "stranger").await;
    let resp = get(&as_user("stranger", PASSWORD), &s, &path).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = get(&anon_client(), &s, &path).await;
    harbor_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(status_of(&client(), &s, &path).await, StatusCode::OK);
}
