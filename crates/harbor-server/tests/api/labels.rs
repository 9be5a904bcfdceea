//! Labels: global and project labels (`/labels`), their access control, and attaching
//! them to artifacts (`.../artifacts/{reference}/labels`).

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

async fn create_label(c: &Client, s: &TestServer, body: Value) -> reqwest::Response {
    send(c, s, Method::POST, "/api/v2.0/labels", Some(body)).await
}

/// Creates a label as the administrator; returns its id.
async fn label(s: &TestServer, name: &str, project_id: Option<i64>) -> i64 {
    let body = match project_id {
        Some(p) => json!({"name": name, "scope": "p", "project_id": p, "color": "#48960C"}),
        None => json!({"name": name, "scope": "g", "description": "global", "color": "#0065AB"}),
    };
    let resp = create_label(&client(), s, body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create label {name}");
    location_id(&resp)
}

fn names(v: &[Value]) -> Vec<&str> {
    v.iter().map(|l| l["name"].as_str().unwrap()).collect()
}

fn labels_path(project: &str, repo: &str, reference: &str) -> String {
    format!("/api/v2.0/projects/{project}/repositories/{repo}/artifacts/{reference}/labels")
}

/// True if label `id` is attached to the artifact: attaching it again answers 409 exactly
/// then (a probe that succeeds is undone).
async fn attached(s: &TestServer, project: &str, repo: &str, reference: &str, id: i64) -> bool {
    let resp = send(
        &client(),
        s,
        Method::POST,
        &labels_path(project, repo, reference),
        Some(json!({"id": id})),
    )
    .await;
    match resp.status() {
        StatusCode::CONFLICT => true,
        StatusCode::OK => {
            let undo = send(
                &client(),
                s,
                Method::DELETE,
                &format!("{}/{id}", labels_path(project, repo, reference)),
                None,
            )
            .await;
            assert_eq!(undo.status(), StatusCode::OK);
            false
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn label_crud_scopes_and_conflicts() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "lab", false).await;
    let other = create_project(&s, "other", false).await;

    let resp = create_label(
        &client(),
        &s,
        json!({"name": "prod", "description": "production", "color": "#0065AB", "scope": "g"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let g = location_id(&resp);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("/api/v2.0/labels/{g}").as_str())
    );
    let got: Value = get_json(&client(), &s, &format!("/api/v2.0/labels/{g}")).await;
    assert_eq!(got["id"], g);
    assert_eq!(got["name"], "prod");
    assert_eq!(got["description"], "production");
    assert_eq!(got["color"], "#0065AB");
    assert_eq!(got["scope"], "g");
    assert_eq!(got["project_id"], 0);
    assert_eq!(got["deleted"], false);
    assert!(got["creation_time"].as_str().unwrap().ends_with('Z'));
    assert!(got["update_time"].is_string());

    // Unique per scope and project.
    let dup = create_label(&client(), &s, json!({"name": "prod", "scope": "g"})).await;
    harbor_error(dup, StatusCode::CONFLICT, "CONFLICT").await;
    let p = label(&s, "prod", Some(pid)).await;
    label(&s, "prod", Some(other)).await;
    let dup = create_label(
        &client(),
        &s,
        json!({"name": "prod", "scope": "p", "project_id": pid}),
    )
    .await;
    harbor_error(dup, StatusCode::CONFLICT, "CONFLICT").await;
    let project_label: Value = get_json(&client(), &s, &format!("/api/v2.0/labels/{p}")).await;
    assert_eq!(project_label["scope"], "p");
    assert_eq!(project_label["project_id"], pid);

    // Bad input: 400.
    for bad in [
        json!({"name": "", "scope": "g"}),
        json!({"name": "x", "scope": "z"}),
        json!({"name": "x", "scope": "p"}),
        json!({"name": "x", "scope": "g", "project_id": pid}),
        json!({"name": "x".repeat(200), "scope": "g"}),
    ] {
        let resp = create_label(&client(), &s, bad).await;
        harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }
    let resp = create_label(
        &client(),
        &s,
        json!({"name": "x", "scope": "p", "project_id": 9999}),
    )
    .await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Listing: global by default, project labels with project_id, name as a substring.
    label(&s, "staging", None).await;
    let resp = get(&client(), &s, "/api/v2.0/labels").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("2"));
    let v: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(names(&v), ["prod", "staging"]);
    let v: Vec<Value> = get_json(&client(), &s, "/api/v2.0/labels?scope=g&name=stag").await;
    assert_eq!(names(&v), ["staging"]);
    let v: Vec<Value> = get_json(
        &client(),
        &s,
        &format!("/api/v2.0/labels?scope=p&project_id={pid}"),
    )
    .await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["id"], p);
    let v: Vec<Value> =
        get_json(&client(), &s, "/api/v2.0/labels?scope=g&page=2&page_size=1").await;
    assert_eq!(names(&v), ["staging"]);
    for bad in ["scope=p", "scope=x", "scope=p&project_id=abc"] {
        let resp = get(&client(), &s, &format!("/api/v2.0/labels?{bad}")).await;
        harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    }

    // Update: fields left out keep their values; a taken name conflicts.
    let one = format!("/api/v2.0/labels/{g}");
    let resp = send(
        &client(),
        &s,
        Method::PUT,
        &one,
        Some(json!({"name": "production", "color": "#FF0000"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let got: Value = get_json(&client(), &s, &one).await;
    assert_eq!(got["name"], "production");
    assert_eq!(got["color"], "#FF0000");
    assert_eq!(got["description"], "production");
    let resp = send(
        &client(),
        &s,
        Method::PUT,
        &one,
        Some(json!({"name": "staging"})),
    )
    .await;
    harbor_error(resp, StatusCode::CONFLICT, "CONFLICT").await;

    // Delete.
    let resp = send(&client(), &s, Method::DELETE, &one, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    harbor_error(
        get(&client(), &s, &one).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    )
    .await;
    let resp = send(&client(), &s, Method::DELETE, &one, None).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = get(&client(), &s, "/api/v2.0/labels/abc").await;
    harbor_error(resp, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    wait_audit(&s, "q=resource_type%3Dlabel", |e| {
        e["operation"] == "delete"
    })
    .await;
}

#[tokio::test]
async fn label_permissions() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "lab", false).await;
    let g = label(&s, "global", None).await;
    let p = label(&s, "local", Some(pid)).await;
    // Roles: 1 projectAdmin, 4 maintainer manage project labels; 2 developer, 3 guest
    // read them only; nobody but a system administrator writes global labels.
    for (user, role, manages) in [
        ("padmin", 1, true),
        ("maint", 4, true),
        ("dev", 2, false),
        ("guest", 3, false),
    ] {
        create_user(&s, user).await;
        add_member(&s, "lab", user, role).await;
        let c = as_user(user, PASSWORD);
        assert_eq!(
            status_of(&c, &s, &format!("/api/v2.0/labels/{p}")).await,
            StatusCode::OK
        );
        let v: Vec<Value> = get_json(
            &c,
            &s,
            &format!("/api/v2.0/labels?scope=p&project_id={pid}"),
        )
        .await;
        assert_eq!(v.len(), 1, "{user} lists");
        let created = create_label(
            &c,
            &s,
            json!({"name": format!("by-{user}"), "scope": "p", "project_id": pid}),
        )
        .await;
        let updated = send(
            &c,
            &s,
            Method::PUT,
            &format!("/api/v2.0/labels/{p}"),
            Some(json!({"description": user})),
        )
        .await;
        if manages {
            assert_eq!(created.status(), StatusCode::CREATED, "{user} creates");
            assert_eq!(updated.status(), StatusCode::OK, "{user} updates");
            let own = location_id(&created);
            let del = send(
                &c,
                &s,
                Method::DELETE,
                &format!("/api/v2.0/labels/{own}"),
                None,
            )
            .await;
            assert_eq!(del.status(), StatusCode::OK, "{user} deletes");
        } else {
            harbor_error(created, StatusCode::FORBIDDEN, "FORBIDDEN").await;
            harbor_error(updated, StatusCode::FORBIDDEN, "FORBIDDEN").await;
            let del = send(
                &c,
                &s,
                Method::DELETE,
                &format!("/api/v2.0/labels/{p}"),
                None,
            )
            .await;
            harbor_error(del, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        }
        // Global labels: readable, not writable.
        assert_eq!(
            status_of(&c, &s, &format!("/api/v2.0/labels/{g}")).await,
            StatusCode::OK
        );
        let resp = create_label(&c, &s, json!({"name": format!("g-{user}"), "scope": "g"})).await;
        harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        let resp = send(
            &c,
            &s,
            Method::PUT,
            &format!("/api/v2.0/labels/{g}"),
            Some(json!({"name": "renamed"})),
        )
        .await;
        harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        let resp = send(
            &c,
            &s,
            Method::DELETE,
            &format!("/api/v2.0/labels/{g}"),
            None,
        )
        .await;
        harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    }
    // A non-member sees neither the project's labels nor that the project exists.
    create_user(&s, "stranger").await;
    let c = as_user("stranger", PASSWORD);
    let resp = get(&c, &s, &format!("/api/v2.0/labels/{p}")).await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let resp = get(
        &c,
        &s,
        &format!("/api/v2.0/labels?scope=p&project_id={pid}"),
    )
    .await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    // Anonymous callers read global labels (as in Harbor) but write nothing.
    assert_eq!(
        status_of(&anon_client(), &s, "/api/v2.0/labels").await,
        StatusCode::OK
    );
    let resp = create_label(&anon_client(), &s, json!({"name": "anon", "scope": "g"})).await;
    harbor_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let resp = get(&anon_client(), &s, &format!("/api/v2.0/labels/{p}")).await;
    harbor_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn attach_and_detach_labels() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "lab", false).await;
    let other = create_project(&s, "other", false).await;
    let digest = seed_image(&s, "lab/team/app", "v1").await;
    let g = label(&s, "global", None).await;
    let p = label(&s, "local", Some(pid)).await;
    let foreign = label(&s, "foreign", Some(other)).await;
    // The repository name arrives URL-encoded twice.
    let repo = "team%252Fapp";

    let attach = |reference: &'static str, id: i64| {
        let s = &s;
        async move {
            send(
                &client(),
                s,
                Method::POST,
                &labels_path("lab", repo, reference),
                Some(json!({"id": id})),
            )
            .await
        }
    };
    assert_eq!(attach("v1", g).await.status(), StatusCode::OK);
    let by_digest = send(
        &client(),
        &s,
        Method::POST,
        &labels_path("lab", repo, &digest),
        Some(json!({"id": p})),
    )
    .await;
    assert_eq!(by_digest.status(), StatusCode::OK);
    // Twice: 409. A label of another project: 400. Missing label or artifact: 404. The
    // messages name labels and artifacts as people know them, not by row id.
    let twice = harbor_error(attach("v1", g).await, StatusCode::CONFLICT, "CONFLICT").await;
    assert_eq!(
        twice["errors"][0]["message"],
        "label global is already added to lab/team/app:v1"
    );
    let elsewhere = harbor_error(
        attach("v1", foreign).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    assert!(
        elsewhere["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("label foreign belongs to another project"),
        "{elsewhere}"
    );
    harbor_error(attach("v1", 9999).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    harbor_error(attach("v2", g).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    harbor_error(
        attach("v1", 0).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    )
    .await;
    assert!(attached(&s, "lab", repo, "v1", g).await);
    assert!(attached(&s, "lab", repo, "v1", p).await);

    // Detach.
    let detach = format!("{}/{p}", labels_path("lab", repo, "v1"));
    let resp = send(&client(), &s, Method::DELETE, &detach, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = send(&client(), &s, Method::DELETE, &detach, None).await;
    let gone = harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(
        gone["errors"][0]["message"],
        "label local is not on lab/team/app:v1"
    );
    assert!(!attached(&s, "lab", repo, "v1", p).await);

    // Deleting a label detaches it: a new label never inherits its links.
    let resp = send(
        &client(),
        &s,
        Method::DELETE,
        &format!("/api/v2.0/labels/{g}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let again = label(&s, "global", None).await;
    assert!(!attached(&s, "lab", repo, "v1", again).await);
    harbor_error(attach("v1", g).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Permissions: artifact-label create/delete for admins, maintainers and developers.
    for (user, role, allowed) in [("dev", 2, true), ("guest", 3, false)] {
        create_user(&s, user).await;
        add_member(&s, "lab", user, role).await;
        let c = as_user(user, PASSWORD);
        let resp = send(
            &c,
            &s,
            Method::POST,
            &labels_path("lab", repo, "v1"),
            Some(json!({"id": p})),
        )
        .await;
        let del = send(&c, &s, Method::DELETE, &detach, None).await;
        if allowed {
            assert_eq!(resp.status(), StatusCode::OK, "{user} attaches");
            assert_eq!(del.status(), StatusCode::OK, "{user} detaches");
        } else {
            harbor_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
            harbor_error(del, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        }
    }
    create_user(&s, "stranger").await;
    let resp = send(
        &as_user("stranger", PASSWORD),
        &s,
        Method::POST,
        &labels_path("lab", repo, "v1"),
        Some(json!({"id": p})),
    )
    .await;
    harbor_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Deleting the artifact drops its links; the label stays.
    assert!(!attached(&s, "lab", repo, "v1", p).await);
    assert_eq!(attach("v1", p).await.status(), StatusCode::OK);
    let resp = client()
        .delete(s.url(&format!("/v2/lab/team/app/manifests/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        status_of(&client(), &s, &format!("/api/v2.0/labels/{p}")).await,
        StatusCode::OK
    );
    let again = seed_image(&s, "lab/team/app", "v1").await;
    assert_eq!(again, digest);
    assert!(!attached(&s, "lab", repo, "v1", p).await);
    wait_audit(&s, "q=resource_type%3Dartifact-label", |e| {
        e["operation"] == "create"
    })
    .await;
}

#[tokio::test]
async fn artifacts_show_and_are_filtered_by_their_labels() {
    let s = TestServer::start_strict().await;
    let pid = create_project(&s, "lab", false).await;
    seed_image(&s, "lab/app", "v1").await;
    push_image(&s, "lab/app", "v2", 8).await;
    let red = label(&s, "red", Some(pid)).await;
    let blue = label(&s, "blue", None).await;
    for (reference, id) in [("v1", red), ("v1", blue), ("v2", red)] {
        let r = send(
            &client(),
            &s,
            Method::POST,
            &labels_path("lab", "app", reference),
            Some(json!({ "id": id })),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let base = "/api/v2.0/projects/lab/repositories/app/artifacts";
    let names = |a: &Value| {
        let mut n: Vec<String> = a["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let tag = |a: &Value| a["tags"][0]["name"].as_str().unwrap().to_owned();
    let listed: Vec<Value> = get_json(&client(), &s, &format!("{base}?with_label=true")).await;
    assert_eq!(listed.len(), 2);
    for a in &listed {
        let want: &[&str] = if tag(a) == "v1" {
            &["blue", "red"]
        } else {
            &["red"]
        };
        assert_eq!(names(a), want, "{a}");
    }
    // Without with_label, labels are not looked up.
    let plain: Vec<Value> = get_json(&client(), &s, base).await;
    assert!(plain.iter().all(|a| names(a).is_empty()));
    let one: Value = get_json(&client(), &s, &format!("{base}/v2?with_label=true")).await;
    assert_eq!(names(&one), ["red"]);

    // Filtering: artifacts carrying every listed label.
    let both: Vec<Value> = get_json(
        &client(),
        &s,
        &format!("{base}?q=labels%3D({red}%20{blue})"),
    )
    .await;
    assert_eq!(both.iter().map(tag).collect::<Vec<_>>(), ["v1"]);
    let red_only: Vec<Value> = get_json(&client(), &s, &format!("{base}?q=labels%3D{red}")).await;
    assert_eq!(red_only.len(), 2);
    let r = get(&client(), &s, &format!("{base}?q=labels%3D(x)")).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
}
