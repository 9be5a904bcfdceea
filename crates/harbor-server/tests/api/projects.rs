//! Projects and members: creation rules, visibility, paging, update, summary, deletion;
//! pushes need an existing project.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

#[tokio::test]
async fn project_lifecycle() {
    let s = TestServer::start_strict().await;
    create_user(&s, "alice").await;
    let a = as_user("alice", PASSWORD);
    // Any signed-in user may create a project and becomes its admin.
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "team", "metadata": {"public": "false"}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = location_id(&r);
    let p: Value = a
        .get(s.url(&format!("/api/v2.0/projects/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["name"], "team");
    assert_eq!(p["owner_name"], "alice");
    assert_eq!(p["metadata"]["public"], "false");
    assert_eq!(p["current_user_role_id"], 1);
    assert_eq!(p["repo_count"], 0);
    // By name; a numeric name needs X-Is-Resource-Name.
    let r = a
        .get(s.url("/api/v2.0/projects/team"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Rules: duplicates, bad names, anonymous creation.
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "team"})),
    )
    .await;
    harbor_error(r, StatusCode::CONFLICT, "CONFLICT").await;
    for bad in ["Team", "a/b", "", "-x", "x..y"] {
        let r = send(
            &a,
            &s,
            Method::POST,
            "/api/v2.0/projects",
            Some(json!({"project_name": bad})),
        )
        .await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "p", "metadata": {"public": "maybe"}})),
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let r = send(
        &anon_client(),
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "anon"})),
    )
    .await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    // HEAD ?project_name=
    let head = |n: &str| {
        a.head(s.url(&format!("/api/v2.0/projects?project_name={n}")))
            .send()
    };
    assert_eq!(head("team").await.unwrap().status(), StatusCode::OK);
    assert_eq!(head("nope").await.unwrap().status(), StatusCode::NOT_FOUND);

    // A private project is invisible to others: 404 for users, 401 for anonymous, the
    // same as a project that does not exist.
    create_user(&s, "bob").await;
    let b = as_user("bob", PASSWORD);
    for path in ["/api/v2.0/projects/team", "/api/v2.0/projects/nope"] {
        harbor_error(
            b.get(s.url(path)).send().await.unwrap(),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        )
        .await;
        harbor_error(
            anon_client().get(s.url(path)).send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
        )
        .await;
    }
    // Make it public: now everyone may read it, nobody else may change it.
    let r = send(
        &a,
        &s,
        Method::PUT,
        "/api/v2.0/projects/team",
        Some(json!({"metadata": {"public": "true"}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = anon_client()
        .get(s.url("/api/v2.0/projects/team"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["metadata"]["public"], "true");
    let r = send(
        &b,
        &s,
        Method::PUT,
        "/api/v2.0/projects/team",
        Some(json!({"metadata": {"public": "false"}})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(&b, &s, Method::DELETE, "/api/v2.0/projects/team", None).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // Summary and deletability follow the repositories.
    seed_image(&s, "team/app", "v1").await;
    let sum: Value = a
        .get(s.url("/api/v2.0/projects/team/summary"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sum["repo_count"], 1);
    assert_eq!(sum["project_admin_count"], 1);
    let d: Value = a
        .get(s.url("/api/v2.0/projects/team/_deletable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["deletable"], false);
    let r = send(&a, &s, Method::DELETE, "/api/v2.0/projects/team", None).await;
    harbor_error(r, StatusCode::PRECONDITION_FAILED, "PRECONDITION").await;
    // An empty project can be deleted.
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "empty"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let d: Value = a
        .get(s.url("/api/v2.0/projects/empty/_deletable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["deletable"], true);
    assert_eq!(
        send(&a, &s, Method::DELETE, "/api/v2.0/projects/empty", None)
            .await
            .status(),
        StatusCode::OK
    );
    harbor_error(
        a.get(s.url("/api/v2.0/projects/empty"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn project_listing_visibility_and_paging() {
    let s = TestServer::start_strict().await;
    create_user(&s, "alice").await;
    for (name, public) in [
        ("pub-a", true),
        ("pub-b", true),
        ("priv-a", false),
        ("priv-b", false),
        ("priv-c", false),
    ] {
        create_project(&s, name, public).await;
    }
    add_member(&s, "priv-b", "alice", 3).await;
    let names = |v: Vec<Value>| {
        v.iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let get = |c: reqwest::Client, q: &str| {
        let url = s.url(&format!("/api/v2.0/projects?{q}"));
        async move { c.get(url).send().await.unwrap() }
    };
    // Admin sees everything (library included), sorted by name.
    let r = get(client(), "page_size=100").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("6"));
    assert_eq!(
        names(r.json().await.unwrap()),
        ["library", "priv-a", "priv-b", "priv-c", "pub-a", "pub-b"]
    );
    // Alice: public ones and hers; her role is reported.
    let r = get(as_user("alice", PASSWORD), "page_size=100").await;
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(names(v.clone()), ["library", "priv-b", "pub-a", "pub-b"]);
    assert_eq!(v[1]["current_user_role_id"], 3);
    // Anonymous: public only, even when asking for private ones.
    let r = get(anon_client(), "page_size=100").await;
    assert_eq!(
        names(r.json().await.unwrap()),
        ["library", "pub-a", "pub-b"]
    );
    let r = get(anon_client(), "public=false").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("0"));
    // Filters and paging.
    let r = get(client(), "q=name%3D~priv&page=2&page_size=2").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("3"));
    let link = header(r.headers(), "link").unwrap().to_owned();
    assert!(
        link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""),
        "{link}"
    );
    assert!(link.contains("q=name"), "filters are kept in links: {link}");
    assert_eq!(names(r.json().await.unwrap()), ["priv-c"]);
    let r = get(client(), "public=true").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("3"));
    let r = get(client(), "name=pub").await;
    assert_eq!(names(r.json().await.unwrap()), ["pub-a", "pub-b"]);
}

#[tokio::test]
async fn pushes_need_an_existing_project() {
    let s = TestServer::start_strict().await;
    let bytes = b"layer".to_vec();
    let digest = sha256(&bytes);
    // The admin may push anywhere that exists; a missing project is NAME_UNKNOWN.
    let r = client()
        .post(s.url(&format!("/v2/nowhere/app/blobs/uploads/?digest={digest}")))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    let body = expect_error(r, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
    assert!(
        body.to_string().contains("project nowhere not found"),
        "{body}"
    );
    // Pushing into library works.
    seed_image(&s, "library/app", "v1").await;
    // A regular user may not create projects by pushing: it is just denied.
    create_user(&s, "alice").await;
    let r = as_user("alice", PASSWORD)
        .post(s.url("/v2/alice-stuff/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
}

#[tokio::test]
async fn auto_created_projects_belong_to_the_pusher() {
    let tmp = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(tmp.path(), |c| c.auth.auto_create_projects = true).await;
    create_user(&s, "alice").await;
    let a = as_user("alice", PASSWORD);
    let r = a
        .post(s.url("/v2/alice-stuff/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let p: Value = a
        .get(s.url("/api/v2.0/projects/alice-stuff"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["owner_name"], "alice");
    assert_eq!(p["metadata"]["public"], "false");
    assert_eq!(p["current_user_role_id"], 1);
    // Anonymous pushes never create anything.
    let r = anon_client()
        .post(s.url("/v2/anon-stuff/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .head(s.url("/api/v2.0/projects?project_name=anon-stuff"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn member_lifecycle() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let alice = create_user(&s, "alice").await;
    create_user(&s, "bob").await;
    let mid = add_member(&s, "team", "alice", 2).await;
    let list: Vec<Value> = client()
        .get(s.url("/api/v2.0/projects/team/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The creator (admin) is a project admin; alice is a developer.
    assert_eq!(list.len(), 2);
    let m = list.iter().find(|m| m["entity_name"] == "alice").unwrap();
    assert_eq!(m["role_id"], 2);
    assert_eq!(m["role_name"], "developer");
    assert_eq!(m["entity_id"], alice);
    assert_eq!(m["entity_type"], "u");
    // Duplicates, unknown users and roles.
    let admin = client();
    let post = |body: Value| {
        send(
            &admin,
            &s,
            Method::POST,
            "/api/v2.0/projects/team/members",
            Some(body),
        )
    };
    harbor_error(
        post(json!({"role_id": 3, "member_user": {"username": "alice"}})).await,
        StatusCode::CONFLICT,
        "CONFLICT",
    )
    .await;
    harbor_error(
        post(json!({"role_id": 3, "member_user": {"username": "ghost"}})).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    harbor_error(
        post(json!({"role_id": 9, "member_user": {"username": "bob"}})).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    // A developer may list members but not add them.
    let a = as_user("alice", PASSWORD);
    assert_eq!(
        a.get(s.url("/api/v2.0/projects/team/members"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/projects/team/members",
        Some(json!({"role_id": 3, "member_user": {"username": "bob"}})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    // Promote alice to project admin: now she may.
    let r = send(
        &client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/projects/team/members/{mid}"),
        Some(json!({"role_id": 1})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = a
        .get(s.url(&format!("/api/v2.0/projects/team/members/{mid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["role_name"], "projectAdmin");
    let r = send(
        &a,
        &s,
        Method::POST,
        "/api/v2.0/projects/team/members",
        Some(json!({"role_id": 3, "member_user": {"username": "bob"}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bob_mid = location_id(&r);
    // She cannot change her own role; she may remove bob.
    let r = send(
        &a,
        &s,
        Method::PUT,
        &format!("/api/v2.0/projects/team/members/{mid}"),
        Some(json!({"role_id": 3})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(
        send(
            &a,
            &s,
            Method::DELETE,
            &format!("/api/v2.0/projects/team/members/{bob_mid}"),
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    let r = a
        .get(s.url(&format!("/api/v2.0/projects/team/members/{bob_mid}")))
        .send()
        .await
        .unwrap();
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    // Filter by name.
    let v: Vec<Value> = client()
        .get(s.url("/api/v2.0/projects/team/members?entityname=ali"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v.len(), 1);
}
