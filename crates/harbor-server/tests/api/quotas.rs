//! Storage quotas over HTTP: `storage_limit` at project creation, `/api/v2.0/quotas`
//! (list, get, update, recount) with its access rules and audit, the project summary,
//! and pushes refused with 403 `DENIED` and Harbor's message until deletes free space.

use harbor_core::quota::format_bytes;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

async fn create_with_limit(c: &Client, s: &TestServer, name: &str, limit: Option<i64>) -> Response {
    let mut body = json!({"project_name": name, "metadata": {"public": "false"}});
    if let Some(l) = limit {
        body["storage_limit"] = json!(l);
    }
    send(c, s, Method::POST, "/api/v2.0/projects", Some(body)).await
}

/// The quota of a project, found through the listing's `reference_id` filter.
async fn quota_of(s: &TestServer, project_id: i64) -> Value {
    let path = format!("/api/v2.0/quotas?reference=project&reference_id={project_id}");
    let resp = get(&client(), s, &path).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "x-total-count"), Some("1"));
    let v: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].clone()
}

fn used(q: &Value) -> i64 {
    q["used"]["storage"].as_i64().unwrap()
}

/// Asks the server to recount (dry run) and asserts usage equals the recount.
async fn assert_exact(s: &TestServer, quota_id: i64) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        &format!("/api/v2.0/quotas/{quota_id}/recount?dry_run=true"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["consistent"], true, "{r}");
    assert_eq!(r["stored"], r["recounted"], "{r}");
    r["recounted"].as_i64().unwrap()
}

async fn set_limit(s: &TestServer, quota_id: i64, hard: i64) {
    let resp = send(
        &client(),
        s,
        Method::PUT,
        &format!("/api/v2.0/quotas/{quota_id}"),
        Some(json!({"hard": {"storage": hard}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn projects_get_quotas_listed_and_summarised() {
    let s = TestServer::start_strict().await;
    let admin = client();
    let resp = create_with_limit(&admin, &s, "limited", Some(4096)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let limited = location_id(&resp);
    let unlimited = create_project(&s, "unlimited", false).await;

    let q = quota_of(&s, limited).await;
    assert_eq!(q["hard"]["storage"], 4096);
    assert_eq!(q["used"]["storage"], 0);
    assert_eq!(q["ref"]["id"], limited);
    assert_eq!(q["ref"]["name"], "limited");
    assert_eq!(q["ref"]["owner_name"], "admin");
    for key in ["creation_time", "update_time"] {
        assert!(q[key].as_str().unwrap().ends_with('Z'), "{q}");
    }
    let id = q["id"].as_i64().unwrap();
    let one: Value = get_json(&admin, &s, &format!("/api/v2.0/quotas/{id}")).await;
    assert_eq!(one, q);
    assert_eq!(quota_of(&s, unlimited).await["hard"]["storage"], -1);

    // The listing: the bootstrap library project and ours, all unlimited by default.
    let resp = get(
        &admin,
        &s,
        "/api/v2.0/quotas?sort=-hard.storage&page_size=2",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(resp.headers(), "x-total-count"), Some("3"));
    assert!(
        header(resp.headers(), "link")
            .unwrap()
            .contains("rel=\"next\"")
    );
    let page: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["hard"]["storage"], -1);
    let by_hard: Vec<Value> = get_json(&admin, &s, "/api/v2.0/quotas?sort=hard.storage").await;
    assert_eq!(by_hard[0]["ref"]["name"], "limited");
    let other: Vec<Value> = get_json(&admin, &s, "/api/v2.0/quotas?reference=user").await;
    assert!(other.is_empty());
    for bad in ["sort=size", "reference_id=x"] {
        harbor_error(
            get(&admin, &s, &format!("/api/v2.0/quotas?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        )
        .await;
    }
    harbor_error(
        get(&admin, &s, "/api/v2.0/quotas?page_size=101").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
    )
    .await;

    // The summary shows the quota to members.
    let summary: Value = get_json(&admin, &s, "/api/v2.0/projects/limited/summary").await;
    assert_eq!(
        summary["quota"],
        json!({"hard": {"storage": 4096}, "used": {"storage": 0}})
    );
    create_user(&s, "guesty").await;
    add_member(&s, "limited", "guesty", 3).await;
    let guest = as_user("guesty", PASSWORD);
    let summary: Value = get_json(&guest, &s, "/api/v2.0/projects/limited/summary").await;
    assert_eq!(summary["quota"]["hard"]["storage"], 4096);

    // An invalid limit is refused before anything is created.
    for bad in [0, -2] {
        let resp = create_with_limit(&admin, &s, "broken", Some(bad)).await;
        harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    assert_eq!(
        status_of(&admin, &s, "/api/v2.0/projects/broken").await,
        StatusCode::NOT_FOUND
    );
    // Only system administrators choose a limit; others get the default.
    let resp = create_with_limit(&guest, &s, "mine", Some(10)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        quota_of(&s, location_id(&resp)).await["hard"]["storage"],
        -1
    );
}

#[tokio::test]
async fn only_system_administrators_manage_quotas() {
    let s = TestServer::start_strict().await;
    let project = create_project(&s, "guarded", false).await;
    let id = quota_of(&s, project).await["id"].as_i64().unwrap();
    create_user(&s, "boss").await;
    add_member(&s, "guarded", "boss", 1).await;
    let boss = as_user("boss", PASSWORD);
    let anon = anon_client();
    let list = "/api/v2.0/quotas".to_owned();
    let one = format!("/api/v2.0/quotas/{id}");
    let recount = format!("/api/v2.0/quotas/{id}/recount");
    let body = json!({"hard": {"storage": 1}});
    for (c, status, code) in [
        (&boss, StatusCode::FORBIDDEN, "FORBIDDEN"),
        (&anon, StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
    ] {
        for (method, path, b) in [
            (Method::GET, &list, None),
            (Method::GET, &one, None),
            (Method::PUT, &one, Some(body.clone())),
            (Method::POST, &recount, None),
        ] {
            let resp = send(c, &s, method.clone(), path, b).await;
            harbor_error(resp, status, code).await;
        }
    }
    // A project admin still sees the quota in the summary.
    let summary: Value = get_json(&boss, &s, "/api/v2.0/projects/guarded/summary").await;
    assert_eq!(summary["quota"]["hard"]["storage"], -1);

    // Updates: validated, audited; a limit below the usage is accepted.
    let admin = client();
    for bad in [
        json!({}),
        json!({"hard": {}}),
        json!({"hard": {"count": 10}}),
        json!({"hard": {"storage": 0}}),
        json!({"hard": {"storage": "10"}}),
    ] {
        let resp = send(&admin, &s, Method::PUT, &one, Some(bad)).await;
        harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    let resp = send(
        &admin,
        &s,
        Method::PUT,
        "/api/v2.0/quotas/999999",
        Some(body.clone()),
    )
    .await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = send(&admin, &s, Method::GET, "/api/v2.0/quotas/abc", None).await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    set_limit(&s, id, 1).await;
    let q: Value = get_json(&admin, &s, &one).await;
    assert_eq!(q["hard"]["storage"], 1);
    set_limit(&s, id, -1).await;
    wait_audit(&s, "q=resource_type=quota", |e| {
        e["operation"] == "update" && e["resource"] == "guarded"
    })
    .await;

    // The recount: a report; dry_run must be a boolean.
    let resp = send(&admin, &s, Method::POST, &recount, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["consistent"], true);
    assert_eq!(r["repaired"], false);
    assert_eq!(r["ref"]["name"], "guarded");
    let resp = send(
        &admin,
        &s,
        Method::POST,
        &format!("{recount}?dry_run=maybe"),
        None,
    )
    .await;
    harbor_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
    )
    .await;
}

#[tokio::test]
async fn pushes_beyond_the_limit_are_denied_until_space_is_freed() {
    let s = TestServer::start_strict().await;
    let project = create_project(&s, "tight", false).await;
    create_project(&s, "source", false).await;
    let qid = quota_of(&s, project).await["id"].as_i64().unwrap();

    // One image: config, layer and manifest bytes, exactly.
    let (manifest, config_len) = {
        let (m, _, _) = push_image_blobs(&s, "tight/app", 1).await;
        let resp = put_manifest(&s, "tight/app", "v1", OCI_MANIFEST, &m).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        (m, "{\"seed\":1}".len())
    };
    let first = (config_len + 1001 + manifest.len()) as i64;
    assert_eq!(used(&quota_of(&s, project).await), first);
    assert_eq!(assert_exact(&s, qid).await, first);
    // A retag and the same layer in a second repository add nothing.
    let resp = put_manifest(&s, "tight/app", "latest", OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    push_image_blobs(&s, "tight/other", 1).await;
    assert_eq!(used(&quota_of(&s, project).await), first);

    // Room for 500 more bytes: a 1000-byte blob is refused, monolithic or chunked.
    let limit = first + 500;
    set_limit(&s, qid, limit).await;
    let blob = data(1000, 9);
    let digest = sha256(&blob);
    let resp = client()
        .post(s.url(&format!("/v2/tight/app/blobs/uploads/?digest={digest}")))
        .header("content-type", "application/octet-stream")
        .body(blob.clone())
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, StatusCode::FORBIDDEN, "DENIED").await;
    let expected = format!(
        "adding 1000 B of storage resource, which when updated to current usage of {} will \
         exceed the configured upper limit of {}.",
        format_bytes(first),
        format_bytes(limit)
    );
    assert_eq!(body["errors"][0]["message"], expected.as_str());

    let start = client()
        .post(s.url("/v2/tight/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::ACCEPTED);
    let location = s.url(header(start.headers(), "location").unwrap());
    let patched = client()
        .patch(&location)
        .header("content-type", "application/octet-stream")
        .body(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::ACCEPTED);
    let location = s.url(header(patched.headers(), "location").unwrap());
    let sep = if location.contains('?') { '&' } else { '?' };
    let resp = client()
        .put(format!("{location}{sep}digest={digest}"))
        .send()
        .await
        .unwrap();
    let body = expect_error(resp, StatusCode::FORBIDDEN, "DENIED").await;
    assert_eq!(body["errors"][0]["message"], expected.as_str());
    // Nothing linked or charged; the session is gone.
    let head = client()
        .head(s.url(&format!("/v2/tight/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let gone = client().get(&location).send().await.unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN").await;
    assert_eq!(assert_exact(&s, qid).await, first);

    // A mount of a blob from another project is charged too.
    push_blob(&s, "source/lib", &blob).await;
    let resp = client()
        .post(s.url(&format!(
            "/v2/tight/app/blobs/uploads/?mount={digest}&from=source/lib"
        )))
        .send()
        .await
        .unwrap();
    expect_error(resp, StatusCode::FORBIDDEN, "DENIED").await;
    // So is a manifest whose bytes do not fit.
    set_limit(&s, qid, first + 10).await;
    let (m2, _, _) = {
        let config = b"{\"seed\":1}".to_vec();
        let cd = sha256(&config);
        let ld = sha256(&data(1001, 1));
        (
            image_manifest((&cd, config.len()), &[(&ld, 1001), (&ld, 1001)]),
            cd,
            ld,
        )
    };
    let resp = put_manifest(&s, "tight/app", "v2", OCI_MANIFEST, &m2).await;
    expect_error(resp, StatusCode::FORBIDDEN, "DENIED").await;
    assert_eq!(assert_exact(&s, qid).await, first);

    // Deleting the image (both repositories) frees the space; the push then succeeds.
    let resp = client()
        .delete(s.url(&format!("/v2/tight/app/manifests/{}", sha256(&manifest))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // tight/other still links the config and layer.
    assert_eq!(assert_exact(&s, qid).await, (config_len + 1001) as i64);
    // Blobs linked without a manifest (tight/other) leave when unlinked.
    for d in [sha256(b"{\"seed\":1}"), sha256(&data(1001, 1))] {
        let resp = client()
            .delete(s.url(&format!("/v2/tight/other/blobs/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "delete blob {d}");
    }
    assert_eq!(assert_exact(&s, qid).await, 0);
    assert_eq!(push_blob(&s, "tight/app", &blob).await, digest);
    assert_eq!(assert_exact(&s, qid).await, 1000);
}

#[tokio::test]
async fn the_configured_default_applies_to_every_new_project() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(dir.path(), |c| c.quota.default_storage_limit = 5000).await;
    let library: Value = get_json(&client(), &s, "/api/v2.0/projects/library").await;
    let library = quota_of(&s, library["project_id"].as_i64().unwrap()).await;
    assert_eq!(library["hard"]["storage"], 5000);
    let made = create_project(&s, "made", false).await;
    assert_eq!(quota_of(&s, made).await["hard"]["storage"], 5000);
    // A push into a missing project creates it (auto_create_projects) with the default,
    // and is charged.
    push_blob(&s, "pushed/app", b"twelve bytes").await;
    let pushed: Value = get_json(&client(), &s, "/api/v2.0/projects/pushed").await;
    let q = quota_of(&s, pushed["project_id"].as_i64().unwrap()).await;
    assert_eq!(q["hard"]["storage"], 5000);
    assert_eq!(used(&q), 12);
    // An explicit limit from an administrator wins.
    let resp = create_with_limit(&client(), &s, "explicit", Some(-1)).await;
    assert_eq!(
        quota_of(&s, location_id(&resp)).await["hard"]["storage"],
        -1
    );
    s.stop().await;
}

#[tokio::test]
async fn artifact_copies_and_deletes_are_accounted_per_project() {
    let s = TestServer::start_strict().await;
    let src = create_project(&s, "from", false).await;
    let dst = create_project(&s, "into", false).await;
    let (src_q, dst_q) = (
        quota_of(&s, src).await["id"].as_i64().unwrap(),
        quota_of(&s, dst).await["id"].as_i64().unwrap(),
    );
    push_image(&s, "from/app", "v1", 5).await;
    let image = assert_exact(&s, src_q).await;
    assert!(image > 1000);

    // A copy inside the project costs nothing; into another project, the whole image.
    let copy = |to: &str| format!("/api/v2.0/projects/{to}?from=from/app:v1");
    let resp = send(
        &client(),
        &s,
        Method::POST,
        &copy("from/repositories/twin/artifacts"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(assert_exact(&s, src_q).await, image);
    // Not enough room in the target: refused, nothing charged.
    set_limit(&s, dst_q, image - 1).await;
    let resp = send(
        &client(),
        &s,
        Method::POST,
        &copy("into/repositories/app/artifacts"),
        None,
    )
    .await;
    let err = harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert!(
        err["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("will exceed the configured upper limit"),
        "{err}"
    );
    // All or nothing: the blob links the failed copy made are undone, so nothing stays
    // charged, and the usage is still exact.
    let left = assert_exact(&s, dst_q).await;
    assert_eq!(left, 0);
    assert_eq!(
        status_of(
            &client(),
            &s,
            "/api/v2.0/projects/into/repositories/app/artifacts/v1"
        )
        .await,
        StatusCode::NOT_FOUND
    );
    set_limit(&s, dst_q, image).await;
    let resp = send(
        &client(),
        &s,
        Method::POST,
        &copy("into/repositories/app/artifacts"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(assert_exact(&s, dst_q).await, image);

    // Deleting the artifact in one repository keeps it charged while the twin holds it;
    // deleting the twin too frees the source project; the copy stays charged to its own.
    for repo in ["app", "twin"] {
        let resp = send(
            &client(),
            &s,
            Method::DELETE,
            &format!("/api/v2.0/projects/from/repositories/{repo}/artifacts/v1"),
            None,
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "delete from/{repo}:v1");
        let left = assert_exact(&s, src_q).await;
        assert_eq!(left, if repo == "app" { image } else { 0 });
    }
    assert_eq!(assert_exact(&s, dst_q).await, image);
}

#[tokio::test]
async fn system_robots_hold_quota_permissions() {
    let s = TestServer::start_strict().await;
    let project = create_project(&s, "watched", false).await;
    let id = quota_of(&s, project).await["id"].as_i64().unwrap();
    let resp = send(
        &client(),
        &s,
        Method::POST,
        "/api/v2.0/robots",
        Some(json!({
            "name": "quotas", "level": "system", "duration": -1,
            "permissions": [{"kind": "system", "namespace": "/", "access": [
                {"resource": "quota", "action": "list"},
                {"resource": "quota", "action": "read"}
            ]}]
        })),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    let robot = as_user(v["name"].as_str().unwrap(), v["secret"].as_str().unwrap());
    let listed: Vec<Value> = get_json(&robot, &s, "/api/v2.0/quotas").await;
    assert!(listed.iter().any(|q| q["id"] == id));
    let one: Value = get_json(&robot, &s, &format!("/api/v2.0/quotas/{id}")).await;
    assert_eq!(one["ref"]["name"], "watched");
    let resp = send(
        &robot,
        &s,
        Method::PUT,
        &format!("/api/v2.0/quotas/{id}"),
        Some(json!({"hard": {"storage": 1}})),
    )
    .await;
    harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
}

#[tokio::test]
async fn quotas_sort_by_usage_both_ways() {
    let s = TestServer::start().await;
    let admin = client();
    for name in ["small", "big", "empty"] {
        create_project(&s, name, false).await;
    }
    push_image(&s, "small/app", "v1", 1).await;
    push_image(&s, "big/app", "v1", 2).await;
    push_image(&s, "big/app", "v2", 3).await;
    let names = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(|q| q["ref"]["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let used = |list: &[Value]| -> Vec<i64> {
        list.iter()
            .map(|q| q["used"]["storage"].as_i64().unwrap_or(-1))
            .collect()
    };
    let up: Vec<Value> = get_json(&admin, &s, "/api/v2.0/quotas?sort=used.storage").await;
    let down: Vec<Value> = get_json(&admin, &s, "/api/v2.0/quotas?sort=-used.storage").await;
    let (u, d) = (used(&up), used(&down));
    assert!(u.windows(2).all(|w| w[0] <= w[1]), "{u:?}");
    assert!(d.windows(2).all(|w| w[0] >= w[1]), "{d:?}");
    assert_eq!(names(&down)[..2], ["big", "small"], "{down:?}");
    assert_eq!(names(&up).last().map(String::as_str), Some("big"));
    assert!(u[0] == 0 && d[0] > d[1] && d[1] > 0, "{d:?}");
    // Paged, the order holds across pages.
    let first: Vec<Value> = get_json(
        &admin,
        &s,
        "/api/v2.0/quotas?sort=-used.storage&page_size=1",
    )
    .await;
    let second: Vec<Value> = get_json(
        &admin,
        &s,
        "/api/v2.0/quotas?sort=-used.storage&page_size=1&page=2",
    )
    .await;
    assert_eq!(names(&first), ["big"]);
    assert_eq!(names(&second), ["small"]);
}
