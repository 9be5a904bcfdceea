//! Registries and replication in the portal over plain HTTP: registries added, tested
//! (healthy, and unreachable with the API's reason), edited keeping their secret and
//! deleted, the secret never in a page; a push policy created through the form,
//! replicated now to this very server and followed to `Succeed`, its task and log; the
//! API's refusals (a registry in use, a disabled policy) shown; other users refused.
//! One test in Chromium fills both forms by clicking and checks the pages at 390 px.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::browser::Browser;
use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, method: Method, path: &str) -> Value {
    let r = common::send(&common::client(), s, method, path, None).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// Posts a form and returns the flash message of its redirect (`ok:` or `err:` first).
async fn flash(s: &TestServer, cookie: &str, path: &str, form: &[(&str, &str)]) -> String {
    let r = post(s, cookie, path, form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
    flash_of(&r)
}

/// The id of the registry named `name`, through the API.
async fn registry_id(s: &TestServer, name: &str) -> i64 {
    let found = api(
        s,
        Method::GET,
        &format!("/api/v2.0/registries?q=name%3D{name}"),
    )
    .await;
    found[0]["id"].as_i64().expect("the registry exists")
}

/// A loopback address nothing listens on.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// The `<tr>` of a table whose `data-<attr>` is `value`.
fn row<'a>(page: &'a str, attr: &str, value: &str) -> &'a str {
    let start = page
        .find(&format!("<tr data-{attr}=\"{value}\""))
        .unwrap_or_else(|| panic!("no row {attr}={value}: {page}"));
    let len = page[start..].find("</tr>").unwrap_or(page.len() - start);
    &page[start..start + len]
}

#[tokio::test]
async fn registries_are_added_tested_edited_and_deleted_without_showing_secrets() {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/registries").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/admin/registries\""), "nav link");
    assert!(page.contains("href=\"/admin/replication\""), "nav link");
    assert!(page.contains("id=\"new-registry\""), "{page}");
    for kind in ["harbor", "docker-registry"] {
        assert!(
            page.contains(&format!("<option value=\"{kind}\"")),
            "{kind}"
        );
    }
    assert!(
        page.contains("<option value=\"docker-hub\" data-url=\"https://hub.docker.com\""),
        "Docker Hub's URL is fixed: {page}"
    );
    let t = token(&page);

    // This server as its own registry, with the administrator's password as the secret.
    let base = s.base.clone();
    let form = [
        ("_csrf", t.as_str()),
        ("name", "self"),
        ("type", "harbor"),
        ("url", base.as_str()),
        ("access_key", "admin"),
        ("access_secret", ADMIN_PASSWORD),
        ("ca_certificate", ""),
        ("description", "<b>our own</b>"),
    ];
    let f = flash(&s, &admin, "/admin/registries", &form).await;
    assert!(f.starts_with("ok:Registry self added"), "{f}");
    let again = flash(&s, &admin, "/admin/registries", &form).await;
    assert!(again.starts_with("err:"), "a second registry self: {again}");
    let id = registry_id(&s, "self").await;
    let stored = api(&s, Method::GET, &format!("/api/v2.0/registries/{id}")).await;
    assert_eq!(stored["credential"]["access_key"], "admin");
    assert_eq!(stored["credential"]["access_secret"], "*****");
    assert_eq!(stored["insecure"], false);

    let (_, list) = get(&s, &admin, "/admin/registries").await;
    let self_row = row(&list, "registry", "self");
    assert!(
        self_row.contains(&format!("<code>{base}</code>")),
        "{self_row}"
    );
    assert!(
        self_row.contains("<td class=\"who\">admin</td>"),
        "{self_row}"
    );
    assert!(self_row.contains("status-unknown"), "{self_row}");
    assert!(self_row.contains("&lt;b&gt;our own&lt;/b&gt;"), "escaped");
    let (_, edit) = get(&s, &admin, &format!("/admin/registries/{id}")).await;
    assert!(edit.contains("id=\"secret-kept\""), "{edit}");
    assert!(edit.contains("stored (never shown)"), "{edit}");
    for html in [&list, &edit] {
        assert!(!html.contains(ADMIN_PASSWORD), "the secret is never shown");
        assert!(!html.contains("*****"), "nor its mask");
    }

    // Test connection: healthy, and the list shows it.
    let ping = format!("/admin/registries/{id}/ping");
    let f = flash(&s, &admin, &ping, &[("_csrf", &t)]).await;
    assert!(f.starts_with("ok:Registry self is healthy"), "{f}");
    let (_, list) = get(&s, &admin, "/admin/registries").await;
    assert!(row(&list, "registry", "self").contains("status-healthy"));

    // An edit with the secret left empty keeps it: still healthy after the change.
    let edit_form = [
        ("_csrf", t.as_str()),
        ("name", "self"),
        ("url", base.as_str()),
        ("access_key", "admin"),
        ("access_secret", ""),
        ("ca_certificate", ""),
        ("description", "mine"),
    ];
    let f = flash(&s, &admin, &format!("/admin/registries/{id}"), &edit_form).await;
    assert_eq!(f, "ok:Registry saved.");
    let stored = api(&s, Method::GET, &format!("/api/v2.0/registries/{id}")).await;
    assert_eq!(stored["description"], "mine");
    assert_eq!(stored["status"], "unknown", "a change resets the status");
    assert_eq!(stored["credential"]["access_secret"], "*****");
    let f = flash(&s, &admin, &ping, &[("_csrf", &t)]).await;
    assert!(f.starts_with("ok:"), "the stored secret was kept: {f}");
    // A new secret typed replaces it (here a wrong one: the test says why it fails).
    let mut wrong = edit_form;
    wrong[4] = ("access_secret", "not-the-password");
    flash(&s, &admin, &format!("/admin/registries/{id}"), &wrong).await;
    let f = flash(&s, &admin, &ping, &[("_csrf", &t)]).await;
    assert!(f.starts_with("err:") && f.contains("unhealthy"), "{f}");
    let mut right = edit_form;
    right[4] = ("access_secret", ADMIN_PASSWORD);
    flash(&s, &admin, &format!("/admin/registries/{id}"), &right).await;
    assert!(
        flash(&s, &admin, &ping, &[("_csrf", &t)])
            .await
            .starts_with("ok:")
    );

    // Unreachable, anonymous: the flash carries the API's reason.
    let closed = closed_port();
    let form = [
        ("_csrf", t.as_str()),
        ("name", "gone"),
        ("type", "docker-registry"),
        ("url", closed.as_str()),
        ("access_key", ""),
        ("access_secret", ""),
        ("insecure", "true"),
        ("description", ""),
    ];
    assert!(
        flash(&s, &admin, "/admin/registries", &form)
            .await
            .starts_with("ok:")
    );
    let gone = registry_id(&s, "gone").await;
    let f = flash(
        &s,
        &admin,
        &format!("/admin/registries/{gone}/ping"),
        &[("_csrf", &t)],
    )
    .await;
    assert!(
        f.starts_with("err:") && f.contains("unhealthy"),
        "the API's reason: {f}"
    );
    let (_, list) = get(&s, &admin, "/admin/registries").await;
    let gone_row = row(&list, "registry", "gone");
    assert!(
        gone_row.contains("<td class=\"who\">anonymous</td>"),
        "{gone_row}"
    );
    assert!(gone_row.contains("status-unhealthy"), "{gone_row}");
    assert!(
        gone_row.contains("<td class=\"hide-sm\">yes</td>"),
        "insecure: {gone_row}"
    );

    // Docker Hub gets its fixed URL whatever the form says.
    let hub = [
        ("_csrf", t.as_str()),
        ("name", "hub"),
        ("type", "docker-hub"),
        ("url", "https://elsewhere.example"),
    ];
    assert!(
        flash(&s, &admin, "/admin/registries", &hub)
            .await
            .starts_with("ok:")
    );
    let hub_id = registry_id(&s, "hub").await;
    let stored = api(&s, Method::GET, &format!("/api/v2.0/registries/{hub_id}")).await;
    assert_eq!(stored["url"], "https://hub.docker.com");

    // A post without the session's token changes nothing.
    let r = post(
        &s,
        &admin,
        &format!("/admin/registries/{hub_id}/delete"),
        &[("_csrf", "forged")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Deleting goes through the confirmation gate without JavaScript.
    let question = "Delete the registry hub?";
    let r = post(
        &s,
        &admin,
        &format!("/admin/registries/{hub_id}/delete"),
        &[("_csrf", &t), ("_confirm", question)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"confirm-question\""), "{page}");
    registry_id(&s, "hub").await;
    let f = flash(
        &s,
        &admin,
        &format!("/admin/registries/{hub_id}/delete"),
        &[("_csrf", &t)],
    )
    .await;
    assert_eq!(f, "ok:Registry deleted.");
    let left = api(&s, Method::GET, "/api/v2.0/registries?q=name%3Dhub").await;
    assert_eq!(left.as_array().map(Vec::len), Some(0));
    // Every delete form asks first.
    let (_, list) = get(&s, &admin, "/admin/registries").await;
    assert_eq!(
        list.matches(" data-confirm=\"").count(),
        list.matches("name=\"_confirm\"").count()
    );
    assert_eq!(
        list.matches(" data-confirm=\"Delete the registry").count(),
        2
    );
}

/// Polls the executions page of `policy` until its newest execution has ended; returns
/// the page.
async fn ended(s: &TestServer, cookie: &str, policy: i64) -> String {
    for _ in 0..300 {
        let (status, page) = get(
            s,
            cookie,
            &format!("/admin/replication/executions?policy_id={policy}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        if page.contains("id=\"executions\"") && !page.contains("status-InProgress") {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the execution of policy {policy} did not end");
}

#[tokio::test]
async fn a_push_policy_is_created_run_and_followed_from_the_portal() {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    common::create_project(&s, "team", false).await;
    common::create_project(&s, "mirror", false).await;
    let (digest, _) = common::push_image(&s, "team/app", "v1", 3).await;
    common::push_image(&s, "team/app", "tmp-1", 4).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;

    // No registry yet: the policy form says to add one.
    let (status, page) = get(&s, &admin, "/admin/replication/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Add a registry first"), "{page}");
    let t = token(&page);
    let base = s.base.clone();
    let reg = [
        ("_csrf", t.as_str()),
        ("name", "self"),
        ("type", "harbor"),
        ("url", base.as_str()),
        ("access_key", "admin"),
        ("access_secret", ADMIN_PASSWORD),
    ];
    assert!(
        flash(&s, &admin, "/admin/registries", &reg)
            .await
            .starts_with("ok:")
    );
    let reg_id = registry_id(&s, "self").await.to_string();

    let (_, page) = get(&s, &admin, "/admin/replication/new").await;
    assert!(page.contains("id=\"policy-form\""), "{page}");
    assert!(
        page.contains(&format!("<option value=\"{reg_id}\">self (")),
        "{page}"
    );
    let mut policy = vec![
        ("_csrf", t.as_str()),
        ("name", "to-mirror"),
        ("description", "copies <team>"),
        ("direction", "push"),
        ("registry", reg_id.as_str()),
        ("name_filter", "team/**"),
        ("tag_filter", "tmp-*"),
        ("tag_decoration", "excludes"),
        ("dest_namespace", "mirror"),
        ("replace_count", "-1"),
        ("trigger", "scheduled"),
        ("cron", "* * * * * *"),
        ("override", "true"),
        ("speed", ""),
        ("enabled", "true"),
    ];
    // A cron the API refuses: the form again, its values kept, with the API's message.
    let r = post(&s, &admin, "/admin/replication", &policy).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"form-error\""), "{page}");
    assert!(page.contains("seconds field must be 0"), "{page}");
    assert!(page.contains("value=\"to-mirror\""), "{page}");
    assert!(page.contains("value=\"* * * * * *\""), "{page}");
    policy[10] = ("trigger", "manual");
    let f = flash(&s, &admin, "/admin/replication", &policy).await;
    assert_eq!(f, "ok:Replication policy to-mirror created.");
    let all = api(&s, Method::GET, "/api/v2.0/replication/policies").await;
    let p = &all[0];
    let pid = p["id"].as_i64().expect("a policy");
    assert_eq!(p["src_registry"]["id"], 0);
    assert_eq!(p["dest_registry"]["name"], "self");
    assert_eq!(p["dest_namespace"], "mirror");
    assert_eq!(p["trigger"]["type"], "manual");
    assert_eq!(p["override"], true);
    assert_eq!(p["enabled"], true);
    assert_eq!(p["filters"][1]["decoration"], "excludes");

    let (_, list) = get(&s, &admin, "/admin/replication").await;
    let prow = row(&list, "policy", "to-mirror");
    assert!(prow.contains("this registry → self"), "{prow}");
    assert!(
        prow.contains("name: team/**") && prow.contains("tag excludes: tmp-*"),
        "{prow}"
    );
    assert!(prow.contains("copies &lt;team&gt;"), "{prow}");
    assert!(prow.contains("never run"), "{prow}");
    assert!(!list.contains(ADMIN_PASSWORD));

    // The edit form shows the stored values; saving it unchanged keeps the policy.
    let (_, edit) = get(&s, &admin, &format!("/admin/replication/{pid}")).await;
    assert!(edit.contains("value=\"team/**\""), "{edit}");
    assert!(
        edit.contains("<option value=\"excludes\" selected"),
        "{edit}"
    );
    assert!(
        edit.contains(&format!("<option value=\"{reg_id}\" selected")),
        "{edit}"
    );
    let f = flash(&s, &admin, &format!("/admin/replication/{pid}"), &policy).await;
    assert_eq!(f, "ok:Replication policy to-mirror saved.");
    let after = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/replication/policies/{pid}"),
    )
    .await;
    assert_eq!(after["filters"], p["filters"]);
    assert_eq!(after["dest_registry"]["id"], p["dest_registry"]["id"]);

    // Replicate now: the answer opens the execution, which ends in Succeed.
    let r = post(
        &s,
        &admin,
        &format!("/admin/replication/{pid}/run"),
        &[("_csrf", &t)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(flash_of(&r), "ok:Replication started.");
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/admin/replication/executions/"), "{to}");
    let page = ended(&s, &admin, pid).await;
    assert!(page.contains("status-Succeed"), "{page}");
    assert!(page.contains(">to-mirror</a>"), "{page}");
    let (status, exec) = get(&s, &admin, &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(exec.contains("1 in total: 1 succeeded, 0 failed"), "{exec}");
    assert!(
        !exec.contains("http-equiv=\"refresh\""),
        "an ended run stops reloading"
    );
    assert!(
        exec.contains("<code>team/app [1 item(s) in total]</code>"),
        "{exec}"
    );
    assert!(exec.contains("<code>mirror/app</code>"), "{exec}");
    let log_at = exec.find("/tasks/").expect("a task log link");
    let start = exec[..log_at].rfind('"').unwrap() + 1;
    let end = log_at + exec[log_at..].find('"').unwrap();
    let (status, log) = get(&s, &admin, &exec[start..end]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains("<pre id=\"task-log\">"), "{log}");
    assert!(log.contains("v1: copied"), "{log}");
    let copied = api(
        &s,
        Method::GET,
        "/api/v2.0/projects/mirror/repositories/app/artifacts",
    )
    .await;
    assert_eq!(copied[0]["digest"], digest.as_str(), "the image was copied");
    assert_eq!(copied.as_array().map(Vec::len), Some(1), "tmp-1 left out");
    let (_, list) = get(&s, &admin, "/admin/replication").await;
    assert!(row(&list, "policy", "to-mirror").contains("status-Succeed"));

    // The registry cannot go while the policy uses it: the API's message says why.
    let r_id = reg_id.parse::<i64>().unwrap();
    let f = flash(
        &s,
        &admin,
        &format!("/admin/registries/{r_id}/delete"),
        &[("_csrf", &t)],
    )
    .await;
    assert!(
        f.starts_with("err:") && f.contains("used by a replication policy"),
        "{f}"
    );
    registry_id(&s, "self").await;

    // Disabled, it does not run: the API's 412 message.
    let f = flash(
        &s,
        &admin,
        &format!("/admin/replication/{pid}/enabled"),
        &[("_csrf", &t), ("on", "false")],
    )
    .await;
    assert!(f.starts_with("ok:Replication policy disabled"), "{f}");
    let pol = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/replication/policies/{pid}"),
    )
    .await;
    assert_eq!(pol["enabled"], false);
    assert_eq!(pol["filters"], p["filters"], "the rest is kept");
    let f = flash(
        &s,
        &admin,
        &format!("/admin/replication/{pid}/run"),
        &[("_csrf", &t)],
    )
    .await;
    assert!(f.starts_with("err:") && f.contains("disabled"), "{f}");
    let (_, list) = get(&s, &admin, "/admin/replication").await;
    assert!(row(&list, "policy", "to-mirror").contains("<td class=\"enabled\">no</td>"));

    // Deleted through the confirmation gate, then the registry may go.
    let del = format!("/admin/replication/{pid}/delete");
    let r = post(&s, &admin, &del, &[("_csrf", &t), ("_confirm", "Delete?")]).await;
    assert_eq!(r.status(), StatusCode::OK, "the question first");
    assert_eq!(
        api(&s, Method::GET, "/api/v2.0/replication/policies")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let f = flash(&s, &admin, &del, &[("_csrf", &t)]).await;
    assert_eq!(f, "ok:Replication policy deleted.");
    let f = flash(
        &s,
        &admin,
        &format!("/admin/registries/{r_id}/delete"),
        &[("_csrf", &t)],
    )
    .await;
    assert_eq!(f, "ok:Registry deleted.");
}

#[tokio::test]
async fn a_running_execution_refuses_a_second_start_and_stops_from_its_page() {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    common::push_image(&s, "library/app", "v1", 1).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/admin/registries").await;
    let t = token(&page);
    let closed = closed_port();
    let reg = [
        ("_csrf", t.as_str()),
        ("name", "down"),
        ("type", "docker-registry"),
        ("url", closed.as_str()),
    ];
    assert!(
        flash(&s, &admin, "/admin/registries", &reg)
            .await
            .starts_with("ok:")
    );
    let reg_id = registry_id(&s, "down").await.to_string();
    let policy = [
        ("_csrf", t.as_str()),
        ("name", "to-nowhere"),
        ("direction", "push"),
        ("registry", reg_id.as_str()),
        ("trigger", "manual"),
        ("enabled", "true"),
    ];
    assert!(
        flash(&s, &admin, "/admin/replication", &policy)
            .await
            .starts_with("ok:")
    );
    let pid = api(&s, Method::GET, "/api/v2.0/replication/policies").await[0]["id"]
        .as_i64()
        .expect("a policy");

    // The first attempt fails with a network error and waits for a retry: in progress.
    let run = format!("/admin/replication/{pid}/run");
    let r = post(&s, &admin, &run, &[("_csrf", &t)]).await;
    let at = r.headers()["location"].to_str().unwrap().to_owned();
    let eid: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
    let mut log = String::new();
    for _ in 0..300 {
        let tasks = api(
            &s,
            Method::GET,
            &format!("/api/v2.0/replication/executions/{eid}/tasks"),
        )
        .await;
        if let Some(task) = tasks[0]["id"].as_i64() {
            log = get(
                &s,
                &admin,
                &format!("/admin/replication/executions/{eid}/tasks/{task}/log"),
            )
            .await
            .1;
            if log.contains("retried later") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(log.contains("network error"), "{log}");
    let (_, page) = get(&s, &admin, &at).await;
    assert!(page.contains("status-InProgress"), "{page}");
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "it reloads while it runs"
    );
    let stop = format!("/admin/replication/executions/{eid}/stop");
    assert!(
        page.contains(&format!("action=\"{stop}\" data-confirm=")),
        "{page}"
    );
    let (_, list) = get(
        &s,
        &admin,
        &format!("/admin/replication/executions?policy_id={pid}"),
    )
    .await;
    assert!(
        list.contains(&format!("action=\"{stop}\"")),
        "a Stop button in the list"
    );

    // A second start (409) and deleting the policy (412): the API's messages.
    let f = flash(&s, &admin, &run, &[("_csrf", &t)]).await;
    assert!(f.starts_with("err:") && f.contains("in progress"), "{f}");
    let f = flash(
        &s,
        &admin,
        &format!("/admin/replication/{pid}/delete"),
        &[("_csrf", &t)],
    )
    .await;
    assert!(f.starts_with("err:"), "{f}");
    assert_eq!(
        api(&s, Method::GET, "/api/v2.0/replication/policies")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Stop: forged first, then through the form; the execution ends Stopped.
    let r = post(&s, &admin, &stop, &[("_csrf", "forged")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let f = flash(&s, &admin, &stop, &[("_csrf", &t)]).await;
    assert!(f.starts_with("ok:Stop requested"), "{f}");
    let page = ended(&s, &admin, pid).await;
    assert!(page.contains("status-Stopped"), "{page}");
    let (_, page) = get(&s, &admin, &at).await;
    assert!(
        !page.contains(&format!("action=\"{stop}\"")),
        "no Stop once it ended"
    );
}

#[tokio::test]
async fn other_users_get_no_replication_pages() {
    let s = TestServer::start().await;
    common::create_user(&s, "dev").await;
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let (status, projects) = get(&s, &dev, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!projects.contains("/admin/registries"), "no admin links");
    assert!(!projects.contains("/admin/replication"), "no admin links");
    for path in [
        "/admin/registries",
        "/admin/replication",
        "/admin/replication/new",
        "/admin/replication/executions",
    ] {
        let (status, page) = get(&s, &dev, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("id=\"error\""), "{path}: {page}");
    }
    // Forged posts with the user's own token: the API refuses, nothing is created.
    let t = token(&projects);
    let f = flash(
        &s,
        &dev,
        "/admin/registries",
        &[
            ("_csrf", &t),
            ("name", "x"),
            ("type", "harbor"),
            ("url", "https://example.com"),
        ],
    )
    .await;
    assert!(f.starts_with("err:"), "{f}");
    let r = post(
        &s,
        &dev,
        "/admin/replication",
        &[
            ("_csrf", &t),
            ("name", "x"),
            ("direction", "push"),
            ("registry", "1"),
            ("trigger", "manual"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let f = flash(&s, &dev, "/admin/replication/1/run", &[("_csrf", &t)]).await;
    assert!(f.starts_with("err:"), "{f}");
    let regs = api(&s, Method::GET, "/api/v2.0/registries").await;
    assert_eq!(regs.as_array().map(Vec::len), Some(0));
    let pols = api(&s, Method::GET, "/api/v2.0/replication/policies").await;
    assert_eq!(pols.as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forms_work_by_clicking_and_the_pages_fit_a_phone() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    common::create_project(&s, "team", false).await;
    common::create_project(&s, "mirror", false).await;
    common::push_image(&s, "team/app", "v1", 5).await;
    let base = s.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#whoami", "admin").await;

    // The registry form: Docker Hub fills and locks the URL, Harbor frees it again.
    b.click("header nav a[href='/admin/registries']").await;
    b.wait_for("#new-registry").await;
    b.click("#registry-type option[value='docker-hub']").await;
    let url = b
        .client()
        .execute(
            "const u = document.getElementById('registry-url'); return [u.value, u.readOnly];",
            vec![],
        )
        .await
        .expect("read the URL field");
    assert_eq!(url, serde_json::json!(["https://hub.docker.com", true]));
    b.click("#registry-type option[value='harbor']").await;
    let name = "this-very-registry-under-a-rather-long-name";
    b.fill("#registry-name", name).await;
    b.fill("#registry-url", &base).await;
    b.fill("#registry-access-key", "admin").await;
    b.fill("#registry-secret", ADMIN_PASSWORD).await;
    b.fill(
        "#registry-description",
        "the server itself, as its own remote",
    )
    .await;
    b.click("#create-registry").await;
    b.wait_for_text("#flash", "added").await;
    b.click("#registries button[data-ping]").await;
    b.wait_for_text("#flash", "is healthy").await;
    assert!(!b.source().await.contains(ADMIN_PASSWORD));

    // The policy form, then Replicate now until the execution succeeds.
    b.click("header nav a[href='/admin/replication']").await;
    b.click("#new-policy").await;
    b.wait_for("#policy-form").await;
    b.fill("#policy-name", "browser-push").await;
    b.click("#policy-push").await;
    b.click("#policy-registry option:nth-child(2)").await;
    b.fill("#policy-name-filter", "team/**").await;
    b.fill("#policy-namespace", "mirror").await;
    b.click("#policy-trigger option[value='manual']").await;
    b.click("#save-policy").await;
    b.wait_for_text("#flash", "created").await;
    assert!(
        b.text("#policies")
            .await
            .contains("this registry → this-very-registry")
    );
    b.click("#policies button[data-run]").await;
    b.wait_for_text("#execution-status", "Succeed").await;
    assert!(b.text("#tasks").await.contains("mirror/app"));

    // Every new page, at 390 px: nothing pushes the page sideways.
    let id = |v: &Value| v[0]["id"].as_i64().expect("an id");
    let reg = id(&api(&s, Method::GET, "/api/v2.0/registries").await);
    let pol = id(&api(&s, Method::GET, "/api/v2.0/replication/policies").await);
    let exe = id(&api(&s, Method::GET, "/api/v2.0/replication/executions").await);
    let tasks = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/replication/executions/{exe}/tasks"),
    )
    .await;
    let task = id(&tasks);
    let pages = [
        "/admin/registries".to_owned(),
        format!("/admin/registries/{reg}"),
        "/admin/replication".to_owned(),
        "/admin/replication/new".to_owned(),
        format!("/admin/replication/{pol}"),
        "/admin/replication/executions".to_owned(),
        format!("/admin/replication/executions/{exe}"),
        format!("/admin/replication/executions/{exe}/tasks/{task}/log"),
    ];
    b.set_window(390, 844).await;
    for page in &pages {
        b.goto(&format!("{base}{page}")).await;
        b.wait_for("main").await;
        let m = b
            .client()
            .execute(crate::narrow::MEASURE, vec![])
            .await
            .expect("measure the page");
        let px = |i: usize| m[i].as_f64().unwrap_or(f64::MAX);
        let (scroll, inner, client) = (px(0), px(1), px(2));
        assert!(inner <= 400.0, "the window is phone-sized: {inner}");
        assert!(
            scroll <= client && client <= inner,
            "{page} scrolls sideways at {inner} px (visible {client}): scrollWidth {scroll}; \
             sticking out: {}",
            m[3]
        );
    }
    b.close().await;
}

#[tokio::test]
async fn proxy_cache_projects_are_created_from_the_projects_page() {
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let body =
        serde_json::json!({"name": "upstream", "type": "docker-registry", "url": closed_port()});
    let r = common::send(
        &common::client(),
        &s,
        Method::POST,
        "/api/v2.0/registries",
        Some(body),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = registry_id(&s, "upstream").await.to_string();

    // The form offers the registry to administrators only.
    let (_, page) = get(&s, &admin, "/projects").await;
    assert!(page.contains("id=\"proxy-registry\""), "{page}");
    assert!(
        page.contains(&format!("<option value=\"{id}\">upstream (")),
        "{page}"
    );
    let t = token(&page);
    let said = flash(
        &s,
        &admin,
        "/projects",
        &[("_csrf", &t), ("name", "hub"), ("registry_id", &id)],
    )
    .await;
    assert!(said.starts_with("ok:"), "{said}");
    let p = api(&s, Method::GET, "/api/v2.0/projects/hub").await;
    assert_eq!(p["registry_id"].to_string(), id);
    let (_, page) = get(&s, &admin, "/projects").await;
    assert!(page.contains("proxy cache"), "{page}");
    let (_, page) = get(&s, &admin, "/projects/hub/repositories").await;
    assert!(page.contains("Pull through this proxy cache"), "{page}");
    // Empty is a regular project.
    let said = flash(
        &s,
        &admin,
        "/projects",
        &[("_csrf", &t), ("name", "plain"), ("registry_id", "")],
    )
    .await;
    assert!(said.starts_with("ok:"), "{said}");
    let p = api(&s, Method::GET, "/api/v2.0/projects/plain").await;
    assert!(p.get("registry_id").is_none());

    // Other users see no such field, and the API refuses them anyway.
    common::create_user(&s, "dev").await;
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let (_, page) = get(&s, &dev, "/projects").await;
    assert!(!page.contains("proxy-registry"), "{page}");
    let t = token(&page);
    let said = flash(
        &s,
        &dev,
        "/projects",
        &[("_csrf", &t), ("name", "sneaky"), ("registry_id", &id)],
    )
    .await;
    assert!(said.starts_with("err:"), "{said}");
    assert!(said.contains("system administrators"), "{said}");
}
