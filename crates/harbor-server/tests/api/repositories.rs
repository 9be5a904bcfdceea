//! Repositories: listing (visibility, `q`, `sort`, paging, headers), reading, updating the
//! description, deleting, pull counts, double-encoded names and access control.

use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

/// Names of the repositories in a listing, in order.
fn names(v: &[Value]) -> Vec<&str> {
    v.iter().map(|r| r["name"].as_str().unwrap()).collect()
}

/// The JSON array and `X-Total-Count` of a listing that must answer 200.
async fn listing(c: &Client, s: &TestServer, path: &str) -> (Vec<Value>, u64) {
    let resp = get(c, s, path).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    let total = header(resp.headers(), "x-total-count")
        .expect("X-Total-Count")
        .parse()
        .unwrap();
    (resp.json().await.unwrap(), total)
}

async fn listed_names(c: &Client, s: &TestServer, path: &str) -> Vec<String> {
    let (v, _) = listing(c, s, path).await;
    names(&v).into_iter().map(str::to_owned).collect()
}

fn repo_path(project: &str, repo: &str) -> String {
    format!("/api/v2.0/projects/{project}/repositories/{repo}")
}

async fn put_description(c: &Client, s: &TestServer, path: &str, text: &str) -> Response {
    send(c, s, Method::PUT, path, Some(json!({"description": text}))).await
}

/// Sets up `alpha` (public) and `beta` (private) with four repositories, pushed in the
/// order `alpha/one`, `beta/three`, `alpha/two`, `alpha/nested/four`.
async fn two_projects(s: &TestServer) {
    create_project(s, "alpha", true).await;
    create_project(s, "beta", false).await;
    for (i, repo) in ["alpha/one", "beta/three", "alpha/two", "alpha/nested/four"]
        .iter()
        .enumerate()
    {
        push_image(s, repo, "latest", 40 + i as u8).await;
        // Distinct creation times.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn lists_filters_sorts_and_pages_repositories() {
    let s = TestServer::start_strict().await;
    two_projects(&s).await;
    let admin = client();

    // Harbor's default order: newest first.
    let (all, total) = listing(&admin, &s, "/api/v2.0/repositories").await;
    assert_eq!(total, 4);
    assert_eq!(
        names(&all),
        ["alpha/nested/four", "alpha/two", "beta/three", "alpha/one"]
    );
    let one = &all[3];
    let alpha: Value = get_json(&admin, &s, "/api/v2.0/projects/alpha").await;
    assert_eq!(one["project_id"], alpha["project_id"]);
    assert!(one["id"].as_i64().unwrap() > 0);
    assert_eq!(one["description"], "");
    assert_eq!(one["artifact_count"], 1);
    assert_eq!(one["pull_count"], 0);
    for key in ["creation_time", "update_time"] {
        let t = one[key].as_str().unwrap();
        assert!(
            t.ends_with('Z') && t.contains('T') && t.starts_with("20"),
            "{key}: {t}"
        );
    }

    // Filters.
    let q = |q: &str| format!("/api/v2.0/repositories?sort=name&q={q}");
    assert_eq!(
        listed_names(&admin, &s, &q("name%3D~o")).await,
        ["alpha/nested/four", "alpha/one", "alpha/two"]
    );
    assert_eq!(
        listed_names(&admin, &s, &q("name%3Dalpha%2Fone")).await,
        ["alpha/one"]
    );
    assert_eq!(
        listed_names(&admin, &s, &q("name%3D~E")).await,
        ["alpha/nested/four", "alpha/one", "beta/three"]
    );
    let project_id = alpha["project_id"].as_i64().unwrap();
    assert_eq!(
        listed_names(&admin, &s, &q(&format!("project_id%3D{project_id}"))).await,
        ["alpha/nested/four", "alpha/one", "alpha/two"]
    );
    assert_eq!(
        listed_names(
            &admin,
            &s,
            &q("creation_time%3D%5B2000-01-01%2000:00:00~%5D")
        )
        .await,
        ["alpha/nested/four", "alpha/one", "alpha/two", "beta/three"]
    );
    assert!(
        listed_names(&admin, &s, &q("update_time%3D%5B~2000-01-01%2000:00:00%5D"))
            .await
            .is_empty()
    );

    // Sorts.
    let sorted = |key: &str| format!("/api/v2.0/repositories?sort={key}");
    assert_eq!(
        listed_names(&admin, &s, &sorted("-name")).await,
        ["beta/three", "alpha/two", "alpha/one", "alpha/nested/four"]
    );
    assert_eq!(
        listed_names(&admin, &s, &sorted("creation_time")).await,
        ["alpha/one", "beta/three", "alpha/two", "alpha/nested/four"]
    );
    // A push moves the update time.
    tokio::time::sleep(Duration::from_millis(5)).await;
    push_image(&s, "alpha/one", "v2", 60).await;
    assert_eq!(
        listed_names(&admin, &s, &sorted("-update_time")).await,
        ["alpha/one", "alpha/nested/four", "alpha/two", "beta/three"]
    );
    assert_eq!(
        listed_names(&admin, &s, &sorted("-creation_time")).await,
        ["alpha/nested/four", "alpha/two", "beta/three", "alpha/one"]
    );
    let one: Value = get_json(&admin, &s, &repo_path("alpha", "one")).await;
    assert_eq!(one["artifact_count"], 2);
    for bad in [
        "/api/v2.0/repositories?sort=secret",
        "/api/v2.0/repositories?q=owner%3Dme",
        "/api/v2.0/repositories?q=project_id%3Dx",
        "/api/v2.0/projects/alpha/repositories?q=creation_time%3D~x",
    ] {
        let r = get(&admin, &s, bad).await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    let r = get(&admin, &s, "/api/v2.0/repositories?page_size=101").await;
    harbor_error(r, StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY").await;

    // Pages and their headers.
    let resp = get(&admin, &s, "/api/v2.0/repositories?sort=name&page_size=3").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("4"));
    let link = header(resp.headers(), "link").unwrap().to_owned();
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\"") && !link.contains("prev"),
        "{link}"
    );
    assert!(link.contains("sort=name"), "{link}");
    let first: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(
        names(&first),
        ["alpha/nested/four", "alpha/one", "alpha/two"]
    );
    let resp = get(
        &admin,
        &s,
        "/api/v2.0/repositories?sort=name&page_size=3&page=2",
    )
    .await;
    let link = header(resp.headers(), "link").unwrap().to_owned();
    assert!(
        link.contains("rel=\"prev\"") && !link.contains("next"),
        "{link}"
    );
    let second: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(names(&second), ["beta/three"]);

    // A project's repositories, with the same filters.
    let (alpha_repos, total) = listing(
        &admin,
        &s,
        "/api/v2.0/projects/alpha/repositories?sort=name&page_size=2",
    )
    .await;
    assert_eq!(total, 3);
    assert_eq!(names(&alpha_repos), ["alpha/nested/four", "alpha/one"]);
    assert_eq!(
        listed_names(
            &admin,
            &s,
            "/api/v2.0/projects/alpha/repositories?q=name%3D~two"
        )
        .await,
        ["alpha/two"]
    );
    assert!(
        listed_names(
            &admin,
            &s,
            "/api/v2.0/projects/beta/repositories?q=name%3D~two"
        )
        .await
        .is_empty()
    );
    let r = get(&admin, &s, "/api/v2.0/projects/nope/repositories").await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn reads_and_describes_repositories_with_double_encoded_names() {
    let s = TestServer::start_strict().await;
    two_projects(&s).await;
    let admin = client();

    let one: Value = get_json(&admin, &s, &repo_path("alpha", "one")).await;
    assert_eq!(one["name"], "alpha/one");
    // Names with `/` arrive encoded twice, as in Harbor (once works too).
    for encoded in ["nested%252Ffour", "nested%2Ffour", "nested%252ffour"] {
        let four: Value = get_json(&admin, &s, &repo_path("alpha", encoded)).await;
        assert_eq!(four["name"], "alpha/nested/four", "{encoded}");
    }
    for missing in ["nope", "nested", "nested%252Fnope", "one%252F..", "BAD"] {
        let r = get(&admin, &s, &repo_path("alpha", missing)).await;
        harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    let r = get(&admin, &s, &repo_path("alpha", "bad%25zz")).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // The project part is a name, even when it looks like an id.
    let id = one["project_id"].as_i64().unwrap();
    let r = get(&admin, &s, &repo_path(&id.to_string(), "one")).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // The description: only `description` of the body is used.
    let path = repo_path("alpha", "nested%252Ffour");
    let body = json!({"description": "the fourth", "name": "ignored", "pull_count": 99});
    let r = send(&admin, &s, Method::PUT, &path, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let four: Value = get_json(&admin, &s, &path).await;
    assert_eq!(four["description"], "the fourth");
    assert_eq!(four["name"], "alpha/nested/four");
    assert_eq!(four["pull_count"], 0);
    let listed = listed_names(&admin, &s, "/api/v2.0/repositories?q=name%3D~nested").await;
    assert_eq!(listed, ["alpha/nested/four"]);
    let (v, _) = listing(
        &admin,
        &s,
        "/api/v2.0/projects/alpha/repositories?q=name%3D~nested",
    )
    .await;
    assert_eq!(v[0]["description"], "the fourth");
    let r = put_description(&admin, &s, &path, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    let four: Value = get_json(&admin, &s, &path).await;
    assert_eq!(four["description"], "");
    let r = put_description(&admin, &s, &repo_path("alpha", "nope"), "x").await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = admin
        .put(s.url(&path))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // Updates are audited.
    wait_audit(&s, "q=resource_type%3Drepository", |e| {
        e["operation"] == "update" && e["resource"] == "alpha/nested/four"
    })
    .await;
}

#[tokio::test]
async fn deleting_a_repository_removes_its_artifacts_and_tags() {
    let s = TestServer::start_strict().await;
    two_projects(&s).await;
    let admin = client();
    let path = repo_path("alpha", "nested%252Ffour");

    let r = send(&admin, &s, Method::DELETE, &path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&admin, &s, "/v2/alpha/nested/four/tags/list").await;
    expect_error(r, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
    let r = get(&admin, &s, "/v2/alpha/nested/four/manifests/latest").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    harbor_error(
        get(&admin, &s, &path).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let r = send(&admin, &s, Method::DELETE, &path, None).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(
        listed_names(&admin, &s, "/api/v2.0/repositories?sort=name").await,
        ["alpha/one", "alpha/two", "beta/three"]
    );
    let catalog: Value = get_json(&admin, &s, "/v2/_catalog").await;
    assert_eq!(
        catalog["repositories"],
        json!(["alpha/one", "alpha/two", "beta/three"])
    );
    // Other repositories are untouched.
    let r = get(&admin, &s, "/v2/alpha/one/tags/list").await;
    assert_eq!(r.status(), StatusCode::OK);
    wait_audit(&s, "q=resource_type%3Drepository", |e| {
        e["operation"] == "delete" && e["resource"] == "alpha/nested/four"
    })
    .await;

    // Pushing again creates a fresh repository.
    push_image(&s, "alpha/nested/four", "again", 70).await;
    let four: Value = get_json(&admin, &s, &path).await;
    assert_eq!(four["artifact_count"], 1);
    let tags: Value = get_json(&admin, &s, "/v2/alpha/nested/four/tags/list").await;
    assert_eq!(tags["tags"], json!(["again"]));

    // Once its repositories are gone, a project can be deleted.
    for repo in ["one", "two", "nested%252Ffour"] {
        let r = send(&admin, &s, Method::DELETE, &repo_path("alpha", repo), None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = send(&admin, &s, Method::DELETE, "/api/v2.0/projects/alpha", None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Polls until the repository's `pull_count` is `want` (counts are written in batches).
async fn wait_pulls(s: &TestServer, path: &str, want: u64) -> Value {
    for _ in 0..100 {
        let v: Value = get_json(&client(), s, path).await;
        if v["pull_count"] == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v: Value = get_json(&client(), s, path).await;
    panic!("pull_count never reached {want}: {v}");
}

#[tokio::test]
async fn manifest_gets_count_as_pulls() {
    let s = TestServer::start_strict().await;
    two_projects(&s).await;
    let admin = client();
    let (digest, _) = push_image(&s, "alpha/one", "v2", 80).await;
    let before: Value = get_json(&admin, &s, &repo_path("alpha", "one")).await;

    for reference in ["latest", "v2", digest.as_str()] {
        let r = get(&admin, &s, &format!("/v2/alpha/one/manifests/{reference}")).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    // HEADs, failed GETs and other repositories' pulls do not count here.
    for _ in 0..2 {
        let r = admin
            .head(s.url("/v2/alpha/one/manifests/latest"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = get(&admin, &s, "/v2/alpha/one/manifests/missing").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get(&admin, &s, "/v2/alpha/two/manifests/latest").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Anonymous pulls of a public project count too.
    let r = get(&anon_client(), &s, "/v2/alpha/one/manifests/latest").await;
    assert_eq!(r.status(), StatusCode::OK);

    let after = wait_pulls(&s, &repo_path("alpha", "one"), 4).await;
    wait_pulls(&s, &repo_path("alpha", "two"), 1).await;
    // Nothing more arrives later, and a pull moves the update time as in Harbor.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later: Value = get_json(&admin, &s, &repo_path("alpha", "one")).await;
    assert_eq!(later["pull_count"], 4);
    assert!(after["update_time"].as_str().unwrap() >= before["update_time"].as_str().unwrap());
    let (v, _) = listing(&admin, &s, "/api/v2.0/repositories?sort=-pull_count").await;
    assert_eq!(names(&v)[..2], ["alpha/one", "alpha/two"]);
    assert_eq!(v[0]["pull_count"], 4);
}

#[tokio::test]
async fn repository_access_follows_the_permission_matrix() {
    let s = TestServer::start_strict().await;
    two_projects(&s).await;
    push_image(&s, "beta/spare", "latest", 90).await;
    push_image(&s, "beta/doomed", "latest", 91).await;
    for (user, role) in [("guest", 3), ("dev", 2), ("keeper", 4), ("limited", 5)] {
        create_user(&s, user).await;
        add_member(&s, "beta", user, role).await;
    }
    create_user(&s, "outsider").await;
    let [guest, dev, keeper, limited, outsider] =
        ["guest", "dev", "keeper", "limited", "outsider"].map(|u| as_user(u, PASSWORD));
    let anon = anon_client();
    let three = repo_path("beta", "three");
    let spare = repo_path("beta", "spare");

    // Every member may list and read, and the global listing adds their private project.
    for c in [&guest, &dev, &keeper, &limited] {
        let v: Value = get_json(c, &s, &three).await;
        assert_eq!(v["name"], "beta/three");
        let (_, total) = listing(c, &s, "/api/v2.0/projects/beta/repositories").await;
        assert_eq!(total, 3);
        let (_, total) = listing(c, &s, "/api/v2.0/repositories").await;
        assert_eq!(total, 6);
    }
    // Guests may neither describe nor delete; developers may describe but not delete;
    // maintainers may do both.
    for c in [&guest, &limited] {
        let r = put_description(c, &s, &three, "x").await;
        harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    for c in [&guest, &limited, &dev] {
        let r = send(c, &s, Method::DELETE, &three, None).await;
        harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    let r = put_description(&dev, &s, &three, "by dev").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = put_description(&keeper, &s, &spare, "by keeper").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(
        &keeper,
        &s,
        Method::DELETE,
        &repo_path("beta", "doomed"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    wait_audit(&s, "q=resource_type%3Drepository", |e| {
        e["operation"] == "delete" && e["resource"] == "beta/doomed" && e["username"] == "keeper"
    })
    .await;

    // Outsiders and anonymous callers get the same answer whether the repository exists
    // or not: the private project is hidden.
    for path in [
        three.clone(),
        repo_path("beta", "nope"),
        "/api/v2.0/projects/beta/repositories".into(),
    ] {
        let r = get(&outsider, &s, &path).await;
        harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let r = get(&anon, &s, &path).await;
        harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    for path in [three.clone(), repo_path("beta", "nope")] {
        let r = send(&outsider, &s, Method::DELETE, &path, None).await;
        harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let r = put_description(&outsider, &s, &path, "x").await;
        harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let r = send(&anon, &s, Method::DELETE, &path, None).await;
        harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    // Public projects: anyone may list and read, nobody else may change anything.
    for c in [&outsider, &anon] {
        let (v, total) = listing(c, &s, "/api/v2.0/repositories?sort=name").await;
        assert_eq!(total, 3);
        assert_eq!(names(&v), ["alpha/nested/four", "alpha/one", "alpha/two"]);
        let (_, total) = listing(c, &s, "/api/v2.0/projects/alpha/repositories").await;
        assert_eq!(total, 3);
        let v: Value = get_json(c, &s, &repo_path("alpha", "one")).await;
        assert_eq!(v["name"], "alpha/one");
    }
    let r = put_description(&outsider, &s, &repo_path("alpha", "one"), "x").await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(
        &outsider,
        &s,
        Method::DELETE,
        &repo_path("alpha", "one"),
        None,
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = put_description(&anon, &s, &repo_path("alpha", "one"), "x").await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let r = send(&anon, &s, Method::DELETE, &repo_path("alpha", "one"), None).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // Robots: the global listing shows public projects, as in Harbor; a project robot
    // with `repository:list` lists its project's repositories.
    let (_, login, secret) = create_robot(
        &s,
        "beta",
        "lister",
        &[("project", "read"), ("repository", "list")],
    )
    .await;
    let robot = as_user(&login, &secret);
    let (_, total) = listing(&robot, &s, "/api/v2.0/repositories").await;
    assert_eq!(total, 3);
    let (_, total) = listing(&robot, &s, "/api/v2.0/projects/beta/repositories").await;
    assert_eq!(total, 2);
    let r = send(&robot, &s, Method::DELETE, &spare, None).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let v: Value = get_json(&robot, &s, &spare).await;
    assert_eq!(v["description"], "by keeper");
}
