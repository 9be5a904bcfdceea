//! Over plain HTTP: the confirmation step of destructive forms without JavaScript, the
//! read-only banner, the quota confirmation, retention counts, the summary tab, the quota table, project labels and the global search.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ADMIN_PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn status_of(s: &TestServer, path: &str) -> StatusCode {
    common::send(&common::client(), s, Method::GET, path, None)
        .await
        .status()
}

/// Every form that asks with `data-confirm` also carries the no-script field.
fn every_question_has_its_field(page: &str) {
    let asks = page.matches(" data-confirm=\"").count();
    let fields = page
        .matches("<noscript><input type=\"hidden\" name=\"_confirm\"")
        .count();
    assert_eq!(asks, fields, "{page}");
}

#[tokio::test]
async fn without_javascript_destructive_forms_ask_on_a_page_first() {
    let s = TestServer::start().await;
    common::create_project(&s, "gone", false).await;
    common::create_user(&s, "frank").await;
    common::push_image(&s, "gone/app", "v1", 1).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, settings) = get(&s, &admin, "/projects/gone/settings").await;
    let t = token(&settings);
    assert!(
        settings.contains(
            "<noscript><input type=\"hidden\" name=\"_confirm\" \
             value=\"Delete this project? This cannot be undone.\"></noscript>"
        ),
        "{settings}"
    );
    // Every page with destructive forms, built by any page module.
    for page in [
        "/projects/gone/settings",
        "/admin/users",
        "/repo?name=gone%2Fapp",
        "/projects/gone/members",
    ] {
        let (status, html) = get(&s, &admin, page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(html.contains(" data-confirm=\""), "{page} asks nothing");
        every_question_has_its_field(&html);
    }

    // A post with the field (what a browser without scripts sends) changes nothing and
    // answers the question's page, whose form repeats the fields without it.
    let ask = [
        ("_csrf", t.as_str()),
        ("_confirm", "Delete this repository and all its artifacts?"),
        ("repo", "gone/app"),
    ];
    let r = post(&s, &admin, "/repo/delete", &ask).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"confirm-question\">Delete this repository and all its artifacts?"),
        "{page}"
    );
    assert!(page.contains("action=\"/repo/delete\""), "{page}");
    assert!(page.contains("name=\"repo\" value=\"gone/app\""), "{page}");
    assert!(page.contains(&format!("name=\"_csrf\" value=\"{t}\"")));
    assert!(!page.contains("name=\"_confirm\""), "{page}");
    assert_eq!(
        status_of(&s, "/api/v2.0/projects/gone/repositories/app").await,
        StatusCode::OK
    );
    // "Yes": the same fields without the marker.
    let yes = [("_csrf", t.as_str()), ("repo", "gone/app")];
    let r = post(&s, &admin, "/repo/delete", &yes).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(flash_of(&r).starts_with("ok:"), "{}", flash_of(&r));
    assert_eq!(
        status_of(&s, "/api/v2.0/projects/gone/repositories/app").await,
        StatusCode::NOT_FOUND
    );

    // Repeated fields survive the round trip; the cancel link goes back.
    let purge = [
        ("_csrf", t.as_str()),
        ("_confirm", "Purge?"),
        ("keep_hours", "1"),
        ("operation", "create"),
        ("operation", "delete"),
    ];
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(s.url("/admin/audit/purge"))
        .header("cookie", &admin)
        .header("referer", s.url("/admin/audit?q=x"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(purge)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert_eq!(page.matches("name=\"operation\"").count(), 2, "{page}");
    assert!(
        page.contains("id=\"confirm-cancel\" href=\"/admin/audit?q=x\""),
        "{page}"
    );

    // Without the session's token there is no question page: the handler refuses.
    let forged = [("_csrf", "nope"), ("_confirm", "Delete?")];
    let r = post(&s, &admin, "/projects/gone/delete", &forged).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        status_of(&s, "/api/v2.0/projects/gone").await,
        StatusCode::OK
    );
    // The project itself: asked, then deleted.
    let ask = [("_csrf", t.as_str()), ("_confirm", "Delete this project?")];
    let r = post(&s, &admin, "/projects/gone/delete", &ask).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        status_of(&s, "/api/v2.0/projects/gone").await,
        StatusCode::OK
    );
    let r = post(
        &s,
        &admin,
        "/projects/gone/delete",
        &[("_csrf", t.as_str())],
    )
    .await;
    assert!(flash_of(&r).starts_with("ok:Project gone deleted"));
    assert_eq!(
        status_of(&s, "/api/v2.0/projects/gone").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_page_says_when_the_system_is_read_only() {
    let s = TestServer::start().await;
    common::create_user(&s, "grace").await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let grace = sign_in(&s, "grace", common::PASSWORD).await;
    let pages = [
        (&admin, "/projects"),
        (&admin, "/projects/library/repositories"),
        (&admin, "/admin/users"),
        (&admin, "/system"),
        (&grace, "/projects"),
        (&grace, "/account"),
        (&grace, "/no/such/page"),
    ];
    for (who, page) in pages {
        let (_, html) = get(&s, who, page).await;
        assert!(!html.contains("id=\"read-only-banner\""), "{page}");
    }
    api(
        &s,
        Method::PUT,
        "/api/v2.0/configurations",
        Some(json!({"read_only": true})),
    )
    .await;
    for (who, page) in pages {
        let (_, html) = get(&s, who, page).await;
        assert!(html.contains("id=\"read-only-banner\""), "{page}: {html}");
        assert!(html.contains("Read-only mode."), "{page}");
    }
    api(
        &s,
        Method::PUT,
        "/api/v2.0/configurations",
        Some(json!({"read_only": false})),
    )
    .await;
    let (_, html) = get(&s, &admin, "/projects").await;
    assert!(!html.contains("id=\"read-only-banner\""));
}

#[tokio::test]
async fn a_quota_below_the_usage_is_confirmed_first() {
    let s = TestServer::start().await;
    common::create_project(&s, "tight", false).await;
    common::push_image(&s, "tight/app", "v1", 3).await;
    let summary = api(&s, Method::GET, "/api/v2.0/projects/tight/summary", None).await;
    let used = summary["quota"]["used"]["storage"].as_i64().unwrap();
    assert!(used > 1, "{summary}");
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/projects/tight/settings").await;
    assert!(page.contains("id=\"quota-used\""), "{page}");
    let t = token(&page);

    // One byte (0.000000001 GiB): below the usage, so a confirmation page, nothing saved.
    let form = [
        ("_csrf", t.as_str()),
        ("public", "true"),
        ("quota_gib", "0.000000001"),
    ];
    let r = post(&s, &admin, "/projects/tight/settings", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"quota-confirm\""), "{page}");
    assert!(
        page.contains("every push to the project is refused"),
        "{page}"
    );
    assert!(
        page.contains("name=\"confirm_below\" value=\"yes\""),
        "{page}"
    );
    assert!(
        page.contains("name=\"quota_gib\" value=\"0.000000001\""),
        "{page}"
    );
    assert!(page.contains("name=\"public\" value=\"true\""), "{page}");
    let summary = api(&s, Method::GET, "/api/v2.0/projects/tight/summary", None).await;
    assert_eq!(summary["quota"]["hard"]["storage"], -1, "nothing saved yet");
    let project = api(&s, Method::GET, "/api/v2.0/projects/tight", None).await;
    assert_eq!(project["metadata"]["public"], "false", "nothing saved yet");

    // Confirmed: saved.
    let mut yes = form.to_vec();
    yes.push(("confirm_below", "yes"));
    let r = post(&s, &admin, "/projects/tight/settings", &yes).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(flash_of(&r), "ok:Saved.");
    let summary = api(&s, Method::GET, "/api/v2.0/projects/tight/summary", None).await;
    assert_eq!(summary["quota"]["hard"]["storage"], 1);
    let project = api(&s, Method::GET, "/api/v2.0/projects/tight", None).await;
    assert_eq!(project["metadata"]["public"], "true");

    // A limit above the usage needs no confirmation.
    let ample = [("_csrf", t.as_str()), ("quota_gib", "1")];
    let r = post(&s, &admin, "/projects/tight/settings", &ample).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let summary = api(&s, Method::GET, "/api/v2.0/projects/tight/summary", None).await;
    assert_eq!(summary["quota"]["hard"]["storage"], 1_i64 << 30);
}

#[tokio::test]
async fn retention_runs_show_what_they_kept_and_deleted() {
    let s = TestServer::start().await;
    common::create_project(&s, "ret", false).await;
    for (tag, seed) in [("v1", 11), ("v2", 12), ("v3", 13)] {
        common::push_image(&s, "ret/app", tag, seed).await;
    }
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/projects/ret/policies").await;
    let t = token(&page);
    let policy = [
        ("_csrf", t.as_str()),
        ("keep", "1"),
        ("tags", "**"),
        ("repositories", "**"),
        ("cron", ""),
    ];
    let r = post(&s, &admin, "/projects/ret/retention", &policy).await;
    assert!(flash_of(&r).starts_with("ok:"), "{}", flash_of(&r));
    let dry = [("_csrf", t.as_str()), ("dry_run", "true")];
    let r = post(&s, &admin, "/projects/ret/retention/run", &dry).await;
    assert!(flash_of(&r).starts_with("ok:"), "{}", flash_of(&r));
    let project = api(&s, Method::GET, "/api/v2.0/projects/ret", None).await;
    let id = project["metadata"]["retention_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let runs_path = format!("/api/v2.0/retentions/{id}/executions");
    let mut status = String::new();
    for _ in 0..100 {
        let runs = api(&s, Method::GET, &runs_path, None).await;
        status = runs[0]["status"].as_str().unwrap_or_default().to_owned();
        if status == "Success" || status == "Error" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "Success");
    let (_, page) = get(&s, &admin, "/projects/ret/policies").await;
    assert!(page.contains("<th>Retained</th>"), "{page}");
    assert!(page.contains("<td class=\"examined\">3</td>"), "{page}");
    assert!(page.contains("<td class=\"retained\">1</td>"), "{page}");
    assert!(
        page.contains("<td class=\"deleted\">2 <span class=\"small\">(would be)</span></td>"),
        "{page}"
    );
    // A dry run deleted nothing.
    let arts = api(
        &s,
        Method::GET,
        "/api/v2.0/projects/ret/repositories/app/artifacts",
        None,
    )
    .await;
    assert_eq!(arts.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn the_summary_tab_counts_repositories_artifacts_storage_and_members() {
    let s = TestServer::start().await;
    common::create_project(&s, "sum", false).await;
    common::push_image(&s, "sum/app", "v1", 21).await;
    common::push_image(&s, "sum/app", "v2", 22).await;
    common::push_image(&s, "sum/web", "v1", 23).await;
    for (user, role) in [("gu", 3), ("lg", 5)] {
        common::create_user(&s, user).await;
        common::add_member(&s, "sum", user, role).await;
    }
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/projects/sum/summary").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("href=\"/projects/sum/summary\" aria-current=\"page\""),
        "{page}"
    );
    assert!(
        page.contains("id=\"summary-repositories\">Repositories<b>2</b>"),
        "{page}"
    );
    assert!(
        page.contains("id=\"summary-artifacts\">Artifacts<b>3</b>"),
        "{page}"
    );
    assert!(page.contains("id=\"summary-quota\""), "{page}");
    assert!(page.contains("<td>Guests</td><td>1</td>"), "{page}");
    assert!(page.contains("<td>Limited guests</td><td>1</td>"), "{page}");
    // A limited guest sees the counts, not the members (as the summary API says).
    let lg = sign_in(&s, "lg", common::PASSWORD).await;
    let (status, page) = get(&s, &lg, "/projects/sum/summary").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Artifacts<b>3</b>"), "{page}");
    assert!(!page.contains("id=\"summary-members\""), "{page}");
    let gu = sign_in(&s, "gu", common::PASSWORD).await;
    let (_, page) = get(&s, &gu, "/projects/sum/summary").await;
    assert!(page.contains("id=\"summary-members\""), "{page}");
}

/// The projects of the quota table's rows, in order.
fn quota_rows(page: &str) -> Vec<String> {
    page.split("<tr data-project=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn administrators_sort_project_quotas_by_usage() {
    let s = TestServer::start().await;
    for name in ["small", "big"] {
        common::create_project(&s, name, false).await;
    }
    common::push_image(&s, "small/app", "v1", 31).await;
    common::push_image(&s, "big/app", "v1", 32).await;
    common::push_image(&s, "big/app", "v2", 33).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/quotas").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("href=\"/admin/quotas\""),
        "the navigation links it"
    );
    assert_eq!(quota_rows(&page), ["big", "small", "library"], "{page}");
    // The Used heading sorts the other way when the table is sorted by it.
    assert!(
        page.contains("href=\"/admin/quotas?sort=used.storage\""),
        "{page}"
    );
    let (_, page) = get(&s, &admin, "/admin/quotas?sort=used.storage").await;
    assert_eq!(quota_rows(&page), ["library", "small", "big"], "{page}");
    assert!(
        page.contains("href=\"/admin/quotas?sort=-used.storage\""),
        "{page}"
    );
    // An unknown order falls back to the default.
    let (status, page) = get(&s, &admin, "/admin/quotas?sort=name").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(quota_rows(&page)[0], "big");
    // Others are refused by the API.
    common::create_user(&s, "henry").await;
    let henry = sign_in(&s, "henry", common::PASSWORD).await;
    let (status, page) = get(&s, &henry, "/admin/quotas").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        !page.contains("href=\"/admin/quotas\""),
        "not in their navigation"
    );
}

#[tokio::test]
async fn project_labels_are_managed_in_the_project() {
    let s = TestServer::start().await;
    let pid = common::create_project(&s, "lab", false).await;
    for (user, role) in [("maint", 4), ("dev", 2), ("lguest", 5)] {
        common::create_user(&s, user).await;
        common::add_member(&s, "lab", user, role).await;
    }
    let maint = sign_in(&s, "maint", common::PASSWORD).await;
    let (status, page) = get(&s, &maint, "/projects/lab/labels").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No project labels yet."), "{page}");
    assert!(page.contains("id=\"new-project-label\""), "{page}");
    let t = token(&page);
    let form = [
        ("_csrf", t.as_str()),
        ("name", "hotfix"),
        ("color", "#aa0000"),
        ("description", "<i>urgent</i>"),
    ];
    let r = post(&s, &maint, "/projects/lab/labels", &form).await;
    assert_eq!(flash_of(&r), "ok:Label hotfix created.");
    let listed = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/labels?scope=p&project_id={pid}"),
        None,
    )
    .await;
    assert_eq!(listed[0]["name"], "hotfix", "{listed}");
    assert_eq!(listed[0]["scope"], "p");
    let lid = listed[0]["id"].as_i64().unwrap();
    let (_, page) = get(&s, &maint, "/projects/lab/labels").await;
    assert!(page.contains("data-label=\"hotfix\""), "{page}");
    assert!(page.contains("data-color=\"#aa0000\""), "{page}");
    assert!(page.contains("&lt;i&gt;urgent&lt;/i&gt;"), "escaped");
    assert!(page.contains("href=\"/projects/lab/labels\" aria-current=\"page\""));

    // A developer reads them; no form, no delete button, and a forged post is refused.
    let dev = sign_in(&s, "dev", common::PASSWORD).await;
    let (status, page) = get(&s, &dev, "/projects/lab/labels").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-label=\"hotfix\""), "{page}");
    assert!(!page.contains("id=\"new-project-label\""), "{page}");
    assert!(!page.contains("/labels/{lid}/delete"), "{page}");
    let dt = token(&page);
    let r = post(
        &s,
        &dev,
        "/projects/lab/labels",
        &[("_csrf", dt.as_str()), ("name", "mine"), ("color", "#000")],
    )
    .await;
    assert!(flash_of(&r).starts_with("err:"), "{}", flash_of(&r));
    // A limited guest has no labels tab; opened by address it is a 403 in the project.
    let lguest = sign_in(&s, "lguest", common::PASSWORD).await;
    let (_, page) = get(&s, &lguest, "/projects/lab/summary").await;
    assert!(!page.contains("href=\"/projects/lab/labels\""), "{page}");
    let (status, page) = get(&s, &lguest, "/projects/lab/labels").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("id=\"not-allowed\""), "{page}");

    // Deleting asks first without JavaScript, then deletes.
    let path = format!("/projects/lab/labels/{lid}/delete");
    let ask = [
        ("_csrf", t.as_str()),
        ("_confirm", "Delete the label hotfix?"),
    ];
    let r = post(&s, &maint, &path, &ask).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        status_of(&s, &format!("/api/v2.0/labels/{lid}")).await,
        StatusCode::OK
    );
    let r = post(&s, &maint, &path, &[("_csrf", t.as_str())]).await;
    assert_eq!(flash_of(&r), "ok:Label deleted.");
    assert_eq!(
        status_of(&s, &format!("/api/v2.0/labels/{lid}")).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn global_search_lists_what_the_viewer_can_see() {
    let s = TestServer::start().await;
    common::create_project(&s, "alpha-pub", true).await;
    common::create_project(&s, "alpha-priv", false).await;
    common::create_project(&s, "beta", false).await;
    common::push_image(&s, "alpha-pub/web", "v1", 41).await;
    common::push_image(&s, "alpha-priv/secret", "v1", 42).await;
    common::push_image(&s, "beta/alpha-tool", "v1", 43).await;
    common::create_user(&s, "ivy").await;
    common::add_member(&s, "beta", "ivy", 3).await;

    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/projects").await;
    assert!(
        page.contains("<form class=\"global-search\" method=\"get\" action=\"/search\""),
        "{page}"
    );
    let (status, page) = get(&s, &admin, "/search?q=alpha").await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "href=\"/projects/alpha-pub\"",
        "href=\"/projects/alpha-priv\"",
        "href=\"/repo?name=beta%2Falpha-tool\"",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    // Repositories match by full name, so the projects' own repositories too.
    assert!(
        page.contains("href=\"/repo?name=alpha-priv%2Fsecret\""),
        "{page}"
    );

    // A guest of beta: the public project and beta's repository, not the private one.
    let ivy = sign_in(&s, "ivy", common::PASSWORD).await;
    let (_, page) = get(&s, &ivy, "/search?q=alpha").await;
    assert!(page.contains("href=\"/projects/alpha-pub\""), "{page}");
    assert!(
        page.contains("href=\"/repo?name=beta%2Falpha-tool\""),
        "{page}"
    );
    assert!(!page.contains("alpha-priv"), "{page}");
    let (_, page) = get(&s, &ivy, "/search?q=secret").await;
    assert!(page.contains("No repository matches."), "{page}");
    assert!(page.contains("No project matches."), "{page}");
    // An empty search asks for a term without calling the API; odd input is just text.
    let (status, page) = get(&s, &ivy, "/search?q=").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Type part of a project or repository name."));
    let (status, page) = get(&s, &ivy, "/search?q=%3Cb%3E,x%3D1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"&lt;b&gt;,x=1\""), "{page}");
}
