//! The audit log: registry pushes, pulls and deletes, API changes; filters and paging.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::common::*;
use crate::support::*;

/// The administrator's `GET /api/v2.0/audit-logs?<query>`.
async fn logs(s: &TestServer, query: &str) -> Response {
    get(&client(), s, &format!("/api/v2.0/audit-logs?{query}")).await
}

/// The entries of the administrator's `GET /api/v2.0/audit-logs?<query>`.
async fn log_entries(s: &TestServer, query: &str) -> Vec<Value> {
    get_json(&client(), s, &format!("/api/v2.0/audit-logs?{query}")).await
}

#[tokio::test]
async fn registry_and_api_operations_are_recorded() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_user(&s, "alice").await;
    add_member(&s, "team", "alice", 1).await;
    let a = as_user("alice", PASSWORD);
    // Alice pushes, pulls and deletes.
    let (m, _, _) = push_image_blobs(&s, "team/app", 3).await;
    let r = put_manifest_as(&a, &s, "team/app", "v1", &m).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v1 = "/v2/team/app/manifests/v1";
    assert_eq!(status_of(&a, &s, v1).await, StatusCode::OK);
    let d = sha256(&m);
    let by_digest = format!("/v2/team/app/manifests/{d}");
    let r = send(&a, &s, Method::DELETE, &by_digest, None).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let entries = wait_audit(&s, "q=username%3Dalice", |e| e["operation"] == "delete").await;
    let ops: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap(),
                e["resource"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(ops.contains(&("create", "team/app:v1")), "{ops:?}");
    assert!(ops.contains(&("pull", "team/app:v1")), "{ops:?}");
    assert!(
        ops.contains(&("delete", &*format!("team/app@{d}"))),
        "{ops:?}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["resource_type"] == "artifact" && e["op_time"].is_string())
    );
    // Newest first.
    assert_eq!(entries[0]["operation"], "delete");

    // API changes by the admin: project, user and member creation.
    let all = wait_audit(&s, "q=username%3Dadmin", |e| e["resource_type"] == "member").await;
    for (op, ty, res) in [
        ("create", "project", "team"),
        ("create", "user", "alice"),
        ("create", "member", "alice"),
    ] {
        assert!(
            all.iter()
                .any(|e| e["operation"] == op && e["resource_type"] == ty && e["resource"] == res),
            "{op} {ty} {res} missing: {all:?}"
        );
    }
    // Filters: operation, resource type, fuzzy resource, time range.
    let v = log_entries(&s, "q=operation%3Dpull").await;
    assert_eq!(v.len(), 1);
    let v = log_entries(&s, "q=resource_type%3Dproject").await;
    assert!(v.iter().all(|e| e["resource_type"] == "project") && !v.is_empty());
    let v = log_entries(&s, "q=resource%3D~team/app").await;
    assert_eq!(v.len(), 3);
    let range = "q=op_time%3D%5B2000-01-01%2000:00:00~2000-01-02%2000:00:00%5D";
    let r = logs(&s, range).await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("0"));
    let r = logs(&s, "page_size=2").await;
    let total: u64 = header(r.headers(), "x-total-count")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(total, 6, "3 API changes and 3 registry operations");
    assert!(
        header(r.headers(), "link")
            .unwrap()
            .contains("rel=\"next\"")
    );
    let r = logs(&s, "q=op_time%3Dyesterday").await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // The project's log: project admins only; only its entries.
    let v: Vec<Value> = get_json(&a, &s, "/api/v2.0/projects/team/logs?page_size=100").await;
    assert!(v.iter().any(|e| e["resource"] == "team/app:v1"));
    assert!(!v.iter().any(|e| e["resource_type"] == "user"));
    let r = get(&a, &s, "/api/v2.0/audit-logs").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    create_user(&s, "bob").await;
    add_member(&s, "team", "bob", 2).await;
    let bob = as_user("bob", PASSWORD);
    let r = get(&bob, &s, "/api/v2.0/projects/team/logs").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
}
