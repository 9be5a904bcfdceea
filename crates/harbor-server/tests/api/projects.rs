//! Projects and members: creation rules, visibility, paging, update, summary, deletion;
//! pushes need an existing project.

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

/// `POST /api/v2.0/projects` with `c`.
async fn post_project(c: &Client, s: &TestServer, body: Value) -> Response {
    send(c, s, Method::POST, "/api/v2.0/projects", Some(body)).await
}

/// A member to add: a user with a role.
fn member(role_id: i64, user: &str) -> Value {
    json!({"role_id": role_id, "member_user": {"username": user}})
}

#[tokio::test]
async fn project_lifecycle() {
    let s = TestServer::start_strict().await;
    create_user(&s, "alice").await;
    let a = as_user("alice", PASSWORD);
    // Any signed-in user may create a project and becomes its admin.
    let body = json!({"project_name": "team", "metadata": {"public": "false"}});
    let r = post_project(&a, &s, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = location_id(&r);
    let p: Value = get_json(&a, &s, &format!("/api/v2.0/projects/{id}")).await;
    assert_eq!(p["name"], "team");
    assert_eq!(p["owner_name"], "alice");
    assert_eq!(p["metadata"]["public"], "false");
    assert_eq!(p["current_user_role_id"], 1);
    assert_eq!(p["repo_count"], 0);
    // By name; a numeric name needs X-Is-Resource-Name, which is a boolean (422 else).
    let r = get(&a, &s, "/api/v2.0/projects/team").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get_with(
        &a,
        &s,
        "/api/v2.0/projects/team",
        ("X-Is-Resource-Name", "true"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get_with(
        &a,
        &s,
        "/api/v2.0/projects/team",
        ("X-Is-Resource-Name", "yes"),
    )
    .await;
    harbor_error(r, StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY").await;
    // Rules: duplicates, bad names, anonymous creation.
    let r = post_project(&a, &s, json!({"project_name": "team"})).await;
    harbor_error(r, StatusCode::CONFLICT, "CONFLICT").await;
    for bad in ["Team", "a/b", "", "-x", "x..y"] {
        let r = post_project(&a, &s, json!({"project_name": bad})).await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    let body = json!({"project_name": "p", "metadata": {"public": "maybe"}});
    let r = post_project(&a, &s, body).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let r = post_project(&anon_client(), &s, json!({"project_name": "anon"})).await;
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
        harbor_error(get(&b, &s, path).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        let r = get(&anon_client(), &s, path).await;
        harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    // Make it public: now everyone may read it, nobody else may change it.
    let body = json!({"metadata": {"public": "true"}});
    let r = send(&a, &s, Method::PUT, "/api/v2.0/projects/team", Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = get_json(&anon_client(), &s, "/api/v2.0/projects/team").await;
    assert_eq!(p["metadata"]["public"], "true");
    let body = json!({"metadata": {"public": "false"}});
    let r = send(&b, &s, Method::PUT, "/api/v2.0/projects/team", Some(body)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(&b, &s, Method::DELETE, "/api/v2.0/projects/team", None).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // Summary and deletability follow the repositories.
    seed_image(&s, "team/app", "v1").await;
    let sum: Value = get_json(&a, &s, "/api/v2.0/projects/team/summary").await;
    assert_eq!(sum["repo_count"], 1);
    assert_eq!(sum["project_admin_count"], 1);
    let d: Value = get_json(&a, &s, "/api/v2.0/projects/team/_deletable").await;
    assert_eq!(d["deletable"], false);
    let r = send(&a, &s, Method::DELETE, "/api/v2.0/projects/team", None).await;
    harbor_error(r, StatusCode::PRECONDITION_FAILED, "PRECONDITION").await;
    // An empty project can be deleted.
    let r = post_project(&a, &s, json!({"project_name": "empty"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let d: Value = get_json(&a, &s, "/api/v2.0/projects/empty/_deletable").await;
    assert_eq!(d["deletable"], true);
    let r = send(&a, &s, Method::DELETE, "/api/v2.0/projects/empty", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&a, &s, "/api/v2.0/projects/empty").await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
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
    let list = |c: Client, q: &str| {
        let url = s.url(&format!("/api/v2.0/projects?{q}"));
        async move { c.get(url).send().await.unwrap() }
    };
    // Admin sees everything (library included), sorted by name.
    let r = list(client(), "page_size=100").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("6"));
    assert_eq!(
        names(r.json().await.unwrap()),
        ["library", "priv-a", "priv-b", "priv-c", "pub-a", "pub-b"]
    );
    // Alice: public ones and hers; her role is reported.
    let r = list(as_user("alice", PASSWORD), "page_size=100").await;
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(names(v.clone()), ["library", "priv-b", "pub-a", "pub-b"]);
    assert_eq!(v[1]["current_user_role_id"], 3);
    // Anonymous: public only, even when asking for private ones.
    let r = list(anon_client(), "page_size=100").await;
    assert_eq!(
        names(r.json().await.unwrap()),
        ["library", "pub-a", "pub-b"]
    );
    let r = list(anon_client(), "public=false").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("0"));
    // Filters and paging.
    let r = list(client(), "q=name%3D~priv&page=2&page_size=2").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("3"));
    let link = header(r.headers(), "link").unwrap().to_owned();
    assert!(
        link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""),
        "{link}"
    );
    assert!(link.contains("q=name"), "filters are kept in links: {link}");
    assert_eq!(names(r.json().await.unwrap()), ["priv-c"]);
    let r = list(client(), "public=true").await;
    assert_eq!(header(r.headers(), "x-total-count"), Some("3"));
    let r = list(client(), "name=pub").await;
    assert_eq!(names(r.json().await.unwrap()), ["pub-a", "pub-b"]);
    // Parameters of the wrong type or out of range: Harbor's 422.
    for bad in ["with_detail=maybe", "page=x", "page_size=101"] {
        let r = list(client(), bad).await;
        harbor_error(r, StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY").await;
    }
    let r = list(client(), "with_detail=false").await;
    assert_eq!(r.status(), StatusCode::OK);
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
    let alice = as_user("alice", PASSWORD);
    let r = post(&alice, &s, "/v2/alice-stuff/app/blobs/uploads/").await;
    expect_error(r, StatusCode::FORBIDDEN, "DENIED").await;
}

#[tokio::test]
async fn auto_created_projects_belong_to_the_pusher() {
    let tmp = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(tmp.path(), |c| c.auth.auto_create_projects = true).await;
    create_user(&s, "alice").await;
    let a = as_user("alice", PASSWORD);
    let r = post(&a, &s, "/v2/alice-stuff/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let p: Value = get_json(&a, &s, "/api/v2.0/projects/alice-stuff").await;
    assert_eq!(p["owner_name"], "alice");
    assert_eq!(p["metadata"]["public"], "false");
    assert_eq!(p["current_user_role_id"], 1);
    // Anonymous pushes never create anything.
    let r = post(&anon_client(), &s, "/v2/anon-stuff/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let head = "/api/v2.0/projects?project_name=anon-stuff";
    let r = admin(&s, Method::HEAD, head, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn member_lifecycle() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    let alice = create_user(&s, "alice").await;
    create_user(&s, "bob").await;
    let mid = add_member(&s, "team", "alice", 2).await;
    let members = "/api/v2.0/projects/team/members";
    let list: Vec<Value> = get_json(&client(), &s, members).await;
    // The creator (admin) is a project admin; alice is a developer.
    assert_eq!(list.len(), 2);
    let m = list.iter().find(|m| m["entity_name"] == "alice").unwrap();
    assert_eq!(m["role_id"], 2);
    assert_eq!(m["role_name"], "developer");
    assert_eq!(m["entity_id"], alice);
    assert_eq!(m["entity_type"], "u");
    // Duplicates, unknown users and roles.
    let post = |body: Value| admin(&s, Method::POST, members, Some(body));
    let r = post(member(3, "alice")).await;
    harbor_error(r, StatusCode::CONFLICT, "CONFLICT").await;
    let r = post(member(3, "ghost")).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = post(member(9, "bob")).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // A developer may list members but not add them.
    let a = as_user("alice", PASSWORD);
    assert_eq!(status_of(&a, &s, members).await, StatusCode::OK);
    let r = send(&a, &s, Method::POST, members, Some(member(3, "bob"))).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    // Promote alice to project admin: now she may.
    let alice_path = format!("{members}/{mid}");
    let r = admin(&s, Method::PUT, &alice_path, Some(json!({"role_id": 1}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = get_json(&a, &s, &alice_path).await;
    assert_eq!(m["role_name"], "projectAdmin");
    let r = send(&a, &s, Method::POST, members, Some(member(3, "bob"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bob_mid = location_id(&r);
    let bob_path = format!("{members}/{bob_mid}");
    // She cannot change her own role; she may remove bob.
    let body = json!({"role_id": 3});
    let r = send(&a, &s, Method::PUT, &alice_path, Some(body)).await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let r = send(&a, &s, Method::DELETE, &bob_path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&a, &s, &bob_path).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    // Filter by name.
    let v: Vec<Value> = get_json(&client(), &s, &format!("{members}?entityname=ali")).await;
    assert_eq!(v.len(), 1);
}

/// Every key of Harbor's `ProjectMetadata`: with its off value it is stored and returned;
/// a value this server cannot honour is refused with 400 naming the key; nothing sent
/// is dropped.
#[tokio::test]
async fn every_metadata_key_is_stored_or_refused_by_name() {
    let s = TestServer::start_strict().await;
    // The off (or any valid) value of every key, as Harbor's clients send them all.
    let all = json!({
        "public": "true",
        "enable_content_trust": "false",
        "enable_content_trust_cosign": "false",
        "prevent_vul": "false",
        "severity": "high",
        "auto_scan": "false",
        "auto_sbom_generation": "false",
        "reuse_sys_cve_allowlist": "true",
        "proxy_speed_kb": "-1",
        "max_upstream_conn": "-1",
        "proxy_cache_local_on_not_found": "false",
        "proxy_referrer_api": "false",
        "proxy_cache_filter_pattern": "",
        "proxy_cache_filter_kind": "doublestar",
    });
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "meta", "metadata": all, "cve_allowlist": {"items": []}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let p: Value = get_json(&client(), &s, "/api/v2.0/projects/meta").await;
    assert_eq!(p["metadata"], all, "every key comes back as sent");
    assert_eq!(p["cve_allowlist"]["items"], json!([]));
    let m: Value = get_json(&client(), &s, "/api/v2.0/projects/meta/metadatas/").await;
    assert_eq!(m, all);

    // Turning on what this server cannot do yet is refused, naming the key, on create,
    // update and the metadata API; nothing is changed.
    for (key, on) in [
        ("proxy_speed_kb", "1000"),
        ("max_upstream_conn", "10"),
        ("proxy_cache_local_on_not_found", "true"),
        ("proxy_referrer_api", "true"),
        ("proxy_cache_filter_pattern", "library/**"),
        ("proxy_cache_filter_kind", "regex"),
        ("retention_id", "7"),
        ("no_such_key", "true"),
    ] {
        let body =
            json!({"project_name": format!("p-{}", key.replace('_', "-")), "metadata": {key: on}});
        let r = admin(&s, Method::POST, "/api/v2.0/projects", Some(body)).await;
        let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(e.to_string().contains(key), "{key}: {e}");
        let r = admin(
            &s,
            Method::PUT,
            "/api/v2.0/projects/meta",
            Some(json!({"metadata": {key: on}})),
        )
        .await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        let path = format!("/api/v2.0/projects/meta/metadatas/{key}");
        let r = admin(&s, Method::PUT, &path, Some(json!({key: on}))).await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    let r = get(&client(), &s, "/api/v2.0/projects/p-auto-scan").await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a refused create creates nothing"
    );
    let m: Value = get_json(&client(), &s, "/api/v2.0/projects/meta/metadatas/").await;
    assert_eq!(m, all, "refused updates changed nothing");
    // Malformed values.
    for (key, bad) in [
        ("public", json!("yes")),
        ("severity", json!("urgent")),
        ("auto_scan", json!(1.5)),
    ] {
        let r = admin(
            &s,
            Method::PUT,
            "/api/v2.0/projects/meta",
            Some(json!({"metadata": {key: bad}})),
        )
        .await;
        let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        assert!(e.to_string().contains(key), "{e}");
    }
    // What needs features we lack, outside metadata; an unknown proxy-cache registry.
    for body in [
        json!({"project_name": "px", "registry_id": 1}),
        json!({"project_name": "px", "cve_allowlist": {"items": [{"cve_id": "not a CVE"}]}}),
    ] {
        let r = admin(&s, Method::POST, "/api/v2.0/projects", Some(body)).await;
        harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }

    // The metadata API: one key, change, delete, add.
    let one = "/api/v2.0/projects/meta/metadatas/severity";
    let v: Value = get_json(&client(), &s, one).await;
    assert_eq!(v, json!({"severity": "high"}));
    let r = admin(&s, Method::PUT, one, Some(json!({"severity": "Critical"}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = get_json(&client(), &s, one).await;
    assert_eq!(v, json!({"severity": "critical"}));
    let r = admin(&s, Method::PUT, one, Some(json!({"public": "true"}))).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert_eq!(
        admin(&s, Method::DELETE, one, None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&client(), &s, one).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = admin(&s, Method::DELETE, one, None).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = admin(
        &s,
        Method::DELETE,
        "/api/v2.0/projects/meta/metadatas/public",
        None,
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let list = "/api/v2.0/projects/meta/metadatas/";
    let r = admin(&s, Method::POST, list, Some(json!({"severity": "low"}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = admin(&s, Method::POST, list, Some(json!({"severity": "low"}))).await;
    harbor_error(r, StatusCode::CONFLICT, "CONFLICT").await;
    // `public` through the metadata API is enforced: anonymous pulls see the project.
    let r = admin(
        &s,
        Method::PUT,
        "/api/v2.0/projects/meta/metadatas/public",
        Some(json!({"public": false})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let anon = Client::new();
    let r = get(&anon, &s, "/api/v2.0/projects/meta").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Who may: maintainers read, developers do not; only project admins write.
    create_user(&s, "mia").await;
    create_user(&s, "dev").await;
    add_member(&s, "meta", "mia", 4).await;
    add_member(&s, "meta", "dev", 2).await;
    let mia = as_user("mia", PASSWORD);
    let dev = as_user("dev", PASSWORD);
    let r = get(&mia, &s, list).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&dev, &s, list).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&mia, &s, Method::PUT, one, Some(json!({"severity": "low"}))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// `repo_count` in the project listing and in search follows pushes and deletes: a
/// repository counts while it holds an artifact, on every page of a listing.
#[tokio::test]
async fn repo_count_follows_pushes_and_deletes() {
    let s = TestServer::start_strict().await;
    create_project(&s, "rc", false).await;
    create_project(&s, "rc-empty", false).await;
    let c = client();
    let counts = |list: &[Value]| -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = list
            .iter()
            .map(|p| {
                let n = p["name"].as_str().unwrap_or_default().to_owned();
                (n, p["repo_count"].as_u64().expect("repo_count is a number"))
            })
            .collect();
        out.sort();
        out
    };
    let listed = |c: Client| {
        let s = &s;
        async move {
            let list: Vec<Value> = get_json(&c, s, "/api/v2.0/projects?name=rc").await;
            let found: Value = get_json(&c, s, "/api/v2.0/search?q=rc").await;
            let found = found["project"].as_array().cloned().unwrap_or_default();
            assert_eq!(counts(&list), counts(&found), "listing and search agree");
            counts(&list)
        }
    };
    let expect = |a: u64, b: u64| vec![("rc".to_owned(), a), ("rc-empty".to_owned(), b)];
    assert_eq!(listed(c.clone()).await, expect(0, 0));

    let (one, _) = push_image(&s, "rc/one", "v1", 1).await;
    push_image(&s, "rc/one", "v2", 2).await;
    push_image(&s, "rc/two", "v1", 3).await;
    push_image(&s, "rc/nested/three", "v1", 4).await;
    assert_eq!(listed(c.clone()).await, expect(3, 0));

    // Deleting a repository, then the last artifact of another, counts them out.
    let r = send(
        &c,
        &s,
        Method::DELETE,
        "/api/v2.0/projects/rc/repositories/two",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(listed(c.clone()).await, expect(2, 0));
    let r = send(
        &c,
        &s,
        Method::DELETE,
        "/api/v2.0/projects/rc/repositories/nested%252Fthree/artifacts/v1",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(listed(c.clone()).await, expect(1, 0));
    // One of two artifacts gone: the repository still counts.
    let r = send(
        &c,
        &s,
        Method::DELETE,
        &format!("/api/v2.0/projects/rc/repositories/one/artifacts/{one}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(listed(c.clone()).await, expect(1, 0));

    // Every page carries the count, and members see it too.
    let page: Vec<Value> = get_json(&c, &s, "/api/v2.0/projects?name=rc&page=2&page_size=1").await;
    assert_eq!(counts(&page), vec![("rc-empty".to_owned(), 0)]);
    create_user(&s, "reader").await;
    add_member(&s, "rc", "reader", 5).await;
    let reader = as_user("reader", PASSWORD);
    let list: Vec<Value> = get_json(&reader, &s, "/api/v2.0/projects?name=rc").await;
    assert_eq!(counts(&list), vec![("rc".to_owned(), 1)]);
}
