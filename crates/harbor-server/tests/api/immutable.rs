//! Tag immutability rules: CRUD, validation, limits and access control of
//! `/projects/{p}/immutabletagrules`, and enforcement on `/v2/` (overwriting and deleting
//! immutable tags answers 412 `PRECONDITION`).

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

fn rules_path(project: &str) -> String {
    format!("/api/v2.0/projects/{project}/immutabletagrules")
}

/// A rule body as Harbor's portal sends it.
fn rule(repo_decoration: &str, repos: &str, tag_decoration: &str, tags: &str) -> Value {
    json!({
        "action": "immutable",
        "template": "immutable_template",
        "priority": 0,
        "disabled": false,
        "tag_selectors": [{"kind": "doublestar", "decoration": tag_decoration, "pattern": tags}],
        "scope_selectors": {"repository": [
            {"kind": "doublestar", "decoration": repo_decoration, "pattern": repos}
        ]},
    })
}

async fn create_rule(s: &TestServer, project: &str, body: Value) -> i64 {
    let resp = admin(s, Method::POST, &rules_path(project), Some(body)).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "create rule in {project}"
    );
    location_id(&resp)
}

async fn rules(s: &TestServer, project: &str) -> Vec<Value> {
    get_json(
        &client(),
        s,
        &format!("{}?page_size=100", rules_path(project)),
    )
    .await
}

#[tokio::test]
async fn rules_crud_validation_and_limits() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "imm", false).await;
    create_project(&s, "other", false).await;

    let resp = admin(
        &s,
        Method::POST,
        &rules_path("imm"),
        Some(rule("repoMatches", "**", "matches", "v*")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = header(resp.headers(), "location").unwrap().to_owned();
    let id = location_id(&resp);
    assert_eq!(
        location,
        format!("/api/v2.0/projects/imm/immutabletagrules/{id}")
    );

    let resp = get(&client(), &s, &rules_path("imm")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "x-total-count"), Some("1"));
    let listed: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(
        listed,
        [json!({
            "id": id,
            "priority": 0,
            "disabled": false,
            "action": "immutable",
            "template": "immutable_template",
            "params": {},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [
                {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
            ]},
        })]
    );
    // By project id too.
    let by_id: Vec<Value> = get_json(&client(), &s, &rules_path(&pid.to_string())).await;
    assert_eq!(by_id, listed);

    // The same selectors twice: 409.
    let dup = admin(
        &s,
        Method::POST,
        &rules_path("imm"),
        Some(rule("repoMatches", "**", "matches", "v*")),
    )
    .await;
    harbor_error(dup, StatusCode::CONFLICT, "CONFLICT").await;

    // Malformed rules: 400.
    let mut two_tags = rule("repoMatches", "**", "matches", "a");
    two_tags["tag_selectors"] = json!([
        {"kind": "doublestar", "decoration": "matches", "pattern": "a"},
        {"kind": "doublestar", "decoration": "matches", "pattern": "b"}
    ]);
    let mut no_scope = rule("repoMatches", "**", "matches", "a");
    no_scope.as_object_mut().unwrap().remove("scope_selectors");
    let mut namespace = rule("repoMatches", "**", "matches", "a");
    namespace["scope_selectors"] = json!({"namespace": [
        {"kind": "doublestar", "decoration": "nsMatches", "pattern": "**"}
    ]});
    let mut label_kind = rule("repoMatches", "**", "matches", "a");
    label_kind["tag_selectors"][0]["kind"] = json!("label");
    let mut action = rule("repoMatches", "**", "matches", "a");
    action["action"] = json!("retain");
    for bad in [
        rule("repoMatches", "**", "matching", "a"),
        rule("matches", "**", "matches", "a"),
        rule("repoMatches", "**", "matches", "{a,b"),
        rule("repoMatches", "[x", "matches", "a"),
        rule("repoMatches", "**", "matches", ""),
        two_tags,
        no_scope,
        namespace,
        label_kind,
        action,
        json!("not an object"),
    ] {
        let resp = admin(&s, Method::POST, &rules_path("imm"), Some(bad.clone())).await;
        harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    assert_eq!(rules(&s, "imm").await.len(), 1);

    // Update: new selectors; then a body carrying only `disabled` toggles it.
    let one = format!("{}/{id}", rules_path("imm"));
    let mut changed = rule("repoExcludes", "tmp/**", "excludes", "dev-*");
    changed["id"] = json!(id);
    changed["priority"] = json!(2);
    let resp = admin(&s, Method::PUT, &one, Some(changed)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r = &rules(&s, "imm").await[0];
    assert_eq!(r["priority"], 2);
    assert_eq!(r["tag_selectors"][0]["decoration"], "excludes");
    assert_eq!(r["tag_selectors"][0]["pattern"], "dev-*");
    assert_eq!(
        r["scope_selectors"]["repository"][0]["decoration"],
        "repoExcludes"
    );
    assert_eq!(r["scope_selectors"]["repository"][0]["pattern"], "tmp/**");
    let resp = admin(
        &s,
        Method::PUT,
        &one,
        Some(json!({"id": id, "disabled": true})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r = &rules(&s, "imm").await[0];
    assert_eq!(r["disabled"], true);
    assert_eq!(r["tag_selectors"][0]["pattern"], "dev-*");
    // The body's id must be the path's.
    let resp = admin(
        &s,
        Method::PUT,
        &one,
        Some(json!({"id": id + 1, "disabled": false})),
    )
    .await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let resp = admin(
        &s,
        Method::PUT,
        &one,
        Some(rule("repoMatches", "**", "matches", "{")),
    )
    .await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // A rule of another project is not found through this one.
    let theirs = create_rule(&s, "other", rule("repoMatches", "**", "matches", "**")).await;
    for (method, body) in [
        (Method::PUT, Some(json!({"disabled": true}))),
        (Method::DELETE, None),
    ] {
        let resp = admin(&s, method, &format!("{}/{theirs}", rules_path("imm")), body).await;
        harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    assert_eq!(rules(&s, "other").await.len(), 1);
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("{}/abc", rules_path("imm")),
        None,
    )
    .await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let resp = get(&client(), &s, &rules_path("missing")).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // At most 15 rules per project.
    for i in 1..15 {
        create_rule(
            &s,
            "imm",
            rule("repoMatches", "**", "matches", &format!("t{i}")),
        )
        .await;
    }
    let resp = get(
        &client(),
        &s,
        &format!("{}?page=2&page_size=10", rules_path("imm")),
    )
    .await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("15"));
    assert_eq!(resp.json::<Vec<Value>>().await.unwrap().len(), 5);
    let resp = admin(
        &s,
        Method::POST,
        &rules_path("imm"),
        Some(rule("repoMatches", "**", "matches", "t99")),
    )
    .await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // Delete.
    let resp = admin(&s, Method::DELETE, &one, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = admin(&s, Method::DELETE, &one, None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(rules(&s, "imm").await.len(), 14);

    // Writes are audited.
    wait_audit(&s, "q=resource_type%3Dimmutable_rule", |e| {
        e["operation"] == "delete"
    })
    .await;
}

#[tokio::test]
async fn rules_need_immutable_tag_permissions() {
    let s = TestServer::start_strict().await;
    create_project(&s, "imm", false).await;
    create_project(&s, "open", true).await;
    let existing = create_rule(&s, "imm", rule("repoMatches", "**", "matches", "base")).await;
    // Roles: 1 projectAdmin, 4 maintainer may; 2 developer, 3 guest, 5 limitedGuest may not.
    for (user, role, allowed) in [
        ("padmin", 1, true),
        ("maint", 4, true),
        ("dev", 2, false),
        ("guest", 3, false),
        ("limited", 5, false),
    ] {
        create_user(&s, user).await;
        add_member(&s, "imm", user, role).await;
        let c = as_user(user, PASSWORD);
        let list = get(&c, &s, &rules_path("imm")).await;
        let create = send(
            &c,
            &s,
            Method::POST,
            &rules_path("imm"),
            Some(rule("repoMatches", "**", "matches", user)),
        )
        .await;
        let update = send(
            &c,
            &s,
            Method::PUT,
            &format!("{}/{existing}", rules_path("imm")),
            Some(json!({"disabled": false})),
        )
        .await;
        if allowed {
            assert_eq!(list.status(), StatusCode::OK, "{user} lists");
            assert_eq!(create.status(), StatusCode::CREATED, "{user} creates");
            assert_eq!(update.status(), StatusCode::OK, "{user} updates");
            let own = location_id(&create);
            let del = send(
                &c,
                &s,
                Method::DELETE,
                &format!("{}/{own}", rules_path("imm")),
                None,
            )
            .await;
            assert_eq!(del.status(), StatusCode::OK, "{user} deletes");
        } else {
            harbor_error(list, StatusCode::FORBIDDEN, "FORBIDDEN").await;
            harbor_error(create, StatusCode::FORBIDDEN, "FORBIDDEN").await;
            harbor_error(update, StatusCode::FORBIDDEN, "FORBIDDEN").await;
            let del = send(
                &c,
                &s,
                Method::DELETE,
                &format!("{}/{existing}", rules_path("imm")),
                None,
            )
            .await;
            harbor_error(del, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        }
    }
    // A non-member does not see the private project; anonymous callers must sign in, even
    // for a public project's rules.
    create_user(&s, "stranger").await;
    let resp = get(&as_user("stranger", PASSWORD), &s, &rules_path("imm")).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = get(&as_user("stranger", PASSWORD), &s, &rules_path("open")).await;
    harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let resp = get(&anon_client(), &s, &rules_path("open")).await;
    harbor_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(rules(&s, "imm").await.len(), 1);
}

/// A manifest for `repo` distinct per `seed`, with its blobs pushed.
async fn image(s: &TestServer, repo: &str, seed: u8) -> (Vec<u8>, String) {
    let (m, _, _) = push_image_blobs(s, repo, seed).await;
    let digest = sha256(&m);
    (m, digest)
}

async fn put(s: &TestServer, repo: &str, reference: &str, m: &[u8]) -> Response {
    put_manifest(s, repo, reference, OCI_MANIFEST, m).await
}

async fn delete(s: &TestServer, repo: &str, reference: &str) -> Response {
    client()
        .delete(s.url(&format!("/v2/{repo}/manifests/{reference}")))
        .send()
        .await
        .unwrap()
}

async fn refused(resp: Response, repo_path: &str, tag: &str) {
    let body = expect_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION").await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("'{repo_path}:{tag}'")) && message.contains("immutable"),
        "{message}"
    );
}

async fn tag_digest(s: &TestServer, repo: &str, tag: &str) -> String {
    let resp = client()
        .head(s.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{repo}:{tag}");
    header(resp.headers(), "docker-content-digest")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn v2_refuses_to_move_or_delete_immutable_tags() {
    let s = TestServer::start_strict().await;
    create_project(&s, "imm", false).await;
    let repo = "imm/app";
    let (a, da) = image(&s, repo, 1).await;
    let (b, db) = image(&s, repo, 2).await;
    let (c, dc) = image(&s, repo, 3).await;
    assert_eq!(put(&s, repo, "v1", &a).await.status(), StatusCode::CREATED);
    assert_eq!(put(&s, repo, "dev", &a).await.status(), StatusCode::CREATED);
    // Before any rule, tags move freely.
    assert_eq!(put(&s, repo, "v9", &a).await.status(), StatusCode::CREATED);
    assert_eq!(put(&s, repo, "v9", &b).await.status(), StatusCode::CREATED);

    let id = create_rule(&s, "imm", rule("repoMatches", "**", "matches", "v*")).await;

    // Moving an immutable tag to another manifest: refused, the tag stays.
    refused(put(&s, repo, "v1", &b).await, "app", "v1").await;
    assert_eq!(tag_digest(&s, repo, "v1").await, da);
    // Also through `?tag=` on a push by digest.
    let resp = client()
        .put(s.url(&format!("/v2/{repo}/manifests/{db}?tag=v1")))
        .header("content-type", OCI_MANIFEST)
        .body(b.clone())
        .send()
        .await
        .unwrap();
    refused(resp, "app", "v1").await;
    // Re-pushing the same manifest is allowed; so is a new immutable tag, once.
    assert_eq!(put(&s, repo, "v1", &a).await.status(), StatusCode::CREATED);
    assert_eq!(put(&s, repo, "v2", &b).await.status(), StatusCode::CREATED);
    refused(put(&s, repo, "v2", &a).await, "app", "v2").await;
    assert_eq!(tag_digest(&s, repo, "v2").await, db);
    // Tags the rule does not select still move.
    assert_eq!(put(&s, repo, "dev", &b).await.status(), StatusCode::CREATED);
    assert_eq!(tag_digest(&s, repo, "dev").await, db);

    // Deleting an immutable tag, or a manifest carrying one: refused.
    refused(delete(&s, repo, "v1").await, "app", "v1").await;
    refused(delete(&s, repo, &da).await, "app", "v1").await;
    assert_eq!(tag_digest(&s, repo, "v1").await, da);
    // A manifest with only mutable tags, and a mutable tag, can go.
    assert_eq!(
        put(&s, repo, "scratch", &c).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        delete(&s, repo, "scratch").await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        put(&s, repo, "scratch", &c).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(delete(&s, repo, &dc).await.status(), StatusCode::ACCEPTED);
    // An untagged manifest too.
    let (d, dd) = image(&s, repo, 4).await;
    assert_eq!(put(&s, repo, &dd, &d).await.status(), StatusCode::CREATED);
    assert_eq!(delete(&s, repo, &dd).await.status(), StatusCode::ACCEPTED);

    // A disabled rule is not enforced; enabled again, it is.
    let one = format!("{}/{id}", rules_path("imm"));
    let resp = admin(
        &s,
        Method::PUT,
        &one,
        Some(json!({"id": id, "disabled": true})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(put(&s, repo, "v1", &b).await.status(), StatusCode::CREATED);
    let resp = admin(
        &s,
        Method::PUT,
        &one,
        Some(json!({"id": id, "disabled": false})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    refused(put(&s, repo, "v1", &a).await, "app", "v1").await;
    // Without the rule, everything goes again.
    assert_eq!(
        admin(&s, Method::DELETE, &one, None).await.status(),
        StatusCode::OK
    );
    assert_eq!(put(&s, repo, "v1", &a).await.status(), StatusCode::CREATED);
    assert_eq!(delete(&s, repo, "v2").await.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn selectors_scope_enforcement() {
    let s = TestServer::start_strict().await;
    create_project(&s, "imm", false).await;
    create_project(&s, "free", false).await;
    // Tags: everything but `dev-*`; repositories: under `team/`, except `team/tmp`.
    create_rule(
        &s,
        "imm",
        rule("repoMatches", "team/**", "excludes", "dev-*"),
    )
    .await;
    create_rule(
        &s,
        "imm",
        rule("repoExcludes", "{team/**,scratch}", "matches", "stable"),
    )
    .await;

    let overwrite = |repo: &'static str, tag: &'static str| {
        let s = &s;
        async move {
            let (a, _) = image(s, repo, 1).await;
            let (b, _) = image(s, repo, 2).await;
            assert_eq!(put(s, repo, tag, &a).await.status(), StatusCode::CREATED);
            put(s, repo, tag, &b).await
        }
    };
    // First rule: repositories under team/, any tag but dev-*.
    refused(overwrite("imm/team/web", "v1").await, "team/web", "v1").await;
    refused(
        overwrite("imm/team/a/b", "latest").await,
        "team/a/b",
        "latest",
    )
    .await;
    assert_eq!(
        overwrite("imm/team/web", "dev-1").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        overwrite("imm/web", "v1").await.status(),
        StatusCode::CREATED
    );
    // The repository selector sees the name without the project.
    assert_eq!(
        overwrite("imm/imm/x", "v1").await.status(),
        StatusCode::CREATED
    );
    // Second rule: `stable` outside team/ and scratch.
    refused(overwrite("imm/web", "stable").await, "web", "stable").await;
    assert_eq!(
        overwrite("imm/scratch", "stable").await.status(),
        StatusCode::CREATED
    );
    // Other projects are unaffected.
    assert_eq!(
        overwrite("free/team/web", "v1").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        overwrite("free/web", "stable").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn artifact_tags_say_whether_they_are_immutable() {
    let s = TestServer::start_strict().await;
    create_project(&s, "imm", false).await;
    seed_image(&s, "imm/app", "release-1").await;
    push_image(&s, "imm/app", "dev", 8).await;
    create_rule(
        &s,
        "imm",
        rule("repoMatches", "app", "matches", "release-*"),
    )
    .await;
    let base = "/api/v2.0/projects/imm/repositories/app/artifacts";
    let arts: Vec<Value> = get_json(&client(), &s, base).await;
    let mut flags: Vec<(String, bool)> = arts
        .iter()
        .flat_map(|a| a["tags"].as_array().unwrap().clone())
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["immutable"] == true,
            )
        })
        .collect();
    flags.sort();
    assert_eq!(
        flags,
        [("dev".to_owned(), false), ("release-1".to_owned(), true)]
    );
    let tags: Vec<Value> = get_json(&client(), &s, &format!("{base}/release-1/tags")).await;
    assert_eq!(tags[0]["immutable"], true);
    let one: Value = get_json(&client(), &s, &format!("{base}/dev")).await;
    assert_eq!(one["tags"][0]["immutable"], false);
}
