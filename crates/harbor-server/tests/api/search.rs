//! `/api/v2.0/search` and `/api/v2.0/statistics`: only what the caller may see.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::support::*;

/// Public `library` (bootstrap) and `open`; private `team` (with member `dev`) and
/// `secret`; one repository in each.
async fn populate() -> TestServer {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_project(&s, "secret", false).await;
    create_project(&s, "open", true).await;
    for repo in [
        "library/hello-app",
        "team/app-one",
        "secret/app-hidden",
        "open/app-pub",
    ] {
        seed_image(&s, repo, "v1").await;
    }
    create_user(&s, "dev").await;
    add_member(&s, "team", "dev", 3).await;
    s
}

fn names(v: &Value, kind: &str, field: &str) -> Vec<String> {
    let mut n: Vec<String> = v[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn search_finds_only_what_the_caller_may_see() {
    let s = populate().await;
    let dev = as_user("dev", PASSWORD);
    let v: Value = get_json(&dev, &s, "/api/v2.0/search?q=APP").await;
    assert_eq!(
        names(&v, "repository", "repository_name"),
        ["library/hello-app", "open/app-pub", "team/app-one"]
    );
    let one = v["repository"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["repository_name"] == "team/app-one")
        .unwrap();
    assert_eq!(one["project_name"], "team");
    assert_eq!(one["project_public"], false);
    assert_eq!(one["artifact_count"], 1);
    let v: Value = get_json(&dev, &s, "/api/v2.0/search?q=e").await;
    // "secret" matches too, but dev may not see it.
    assert_eq!(names(&v, "project", "name"), ["open", "team"]);
    // Projects carry their repository count and the caller's role (dev: guest of team).
    let team = v["project"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "team")
        .unwrap();
    assert_eq!(team["repo_count"], 1);
    assert_eq!(team["current_user_role_id"], 3);
    // The listing too.
    let list: Vec<Value> = get_json(&dev, &s, "/api/v2.0/projects?name=team").await;
    assert_eq!(list[0]["repo_count"], 1);
    assert_eq!(list[0]["current_user_role_id"], 3);
    let v: Value = get_json(&dev, &s, "/api/v2.0/search?q=secret").await;
    assert!(v["project"].as_array().unwrap().is_empty());
    assert!(v["repository"].as_array().unwrap().is_empty());

    // Administrators see everything; anonymous callers public projects only.
    let v: Value = get_json(&client(), &s, "/api/v2.0/search?q=secret").await;
    assert_eq!(names(&v, "project", "name"), ["secret"]);
    assert_eq!(
        names(&v, "repository", "repository_name"),
        ["secret/app-hidden"]
    );
    let v: Value = get_json(&anon_client(), &s, "/api/v2.0/search?q=app").await;
    assert_eq!(
        names(&v, "repository", "repository_name"),
        ["library/hello-app", "open/app-pub"]
    );
    assert!(
        v["repository"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["project_public"] == true)
    );
    let r = get(&anon_client(), &s, "/api/v2.0/search").await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
}

#[tokio::test]
async fn statistics_count_what_the_caller_may_see() {
    let s = populate().await;
    let dev: Value = get_json(&as_user("dev", PASSWORD), &s, "/api/v2.0/statistics").await;
    assert_eq!(dev["public_project_count"], 2);
    assert_eq!(dev["public_repo_count"], 2);
    assert_eq!(dev["private_project_count"], 1);
    assert_eq!(dev["private_repo_count"], 1);
    assert!(dev.get("total_project_count").is_none());
    let admin: Value = get_json(&client(), &s, "/api/v2.0/statistics").await;
    assert_eq!(admin["public_project_count"], 2);
    assert_eq!(admin["private_project_count"], 2);
    assert_eq!(admin["private_repo_count"], 2);
    assert_eq!(admin["total_project_count"], 4);
    assert_eq!(admin["total_repo_count"], 4);
    // Storage: the sum of every project's quota usage.
    let quotas: Vec<Value> = get_json(&client(), &s, "/api/v2.0/quotas?page_size=100").await;
    let used: u64 = quotas
        .iter()
        .map(|q| q["used"]["storage"].as_u64().unwrap())
        .sum();
    assert!(used > 0);
    assert_eq!(admin["total_storage_consumption"], used);
    assert!(dev.get("total_storage_consumption").is_none());
    let r = get(&anon_client(), &s, "/api/v2.0/statistics").await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}
