//! The Webhooks tab over plain HTTP, with a real receiver on loopback: a policy created
//! through the form (its auth header never shown), a refused form shown again, the test
//! button's results, an execution after a push with its attempts and log, the last
//! triggers, an edit keeping the header, disable and delete (through the confirmation
//! step); a maintainer sees the tab without buttons, a developer not at all. In
//! Chromium: the form filled by clicking, the test button, and the pages at 390 px.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::Browser;
use crate::common::receiver::Receiver;
use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, path: &str) -> Value {
    common::client()
        .get(s.url(&format!("/api/v2.0/projects/hooks/webhook{path}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The HTML of the `<tr>` whose attributes contain `marker`.
fn row<'a>(page: &'a str, marker: &str) -> &'a str {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {page}"));
    let end = page[at..].find("</tr>").unwrap() + at;
    &page[at..end]
}

#[tokio::test]
async fn webhooks_in_the_portal() {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.webhook.backoff_ms = 20;
    })
    .await;
    let rx = Receiver::start().await;
    common::create_project(&s, "hooks", false).await;
    common::create_user(&s, "maint").await;
    common::create_user(&s, "dev").await;
    common::add_member(&s, "hooks", "maint", 4).await;
    common::add_member(&s, "hooks", "dev", 2).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;

    let (status, page) = get(&s, &admin, "/projects/hooks/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("aria-current=\"page\">Webhooks"), "{page}");
    assert!(page.contains("No webhooks yet."), "{page}");
    assert!(page.contains("id=\"new-webhook\""), "{page}");
    let (status, form) = get(&s, &admin, "/projects/hooks/webhooks/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("name=\"event_types\" value=\"TAG_RETENTION\""),
        "every supported type: {form}"
    );
    let t = token(&form);

    // A refused form comes back with the API's message and what was typed.
    let bad = [
        ("_csrf", t.as_str()),
        ("name", "ci"),
        ("address", "ftp://example.com/"),
        ("type", "http"),
        ("payload_format", "Default"),
        ("event_types", "PUSH_ARTIFACT"),
        ("enabled", "true"),
    ];
    let r = post(&s, &admin, "/projects/hooks/webhooks", &bad).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"form-error\""), "{page}");
    assert!(page.contains("value=\"ftp://example.com/\""), "{page}");

    // Created through the form.
    let address = rx.url("/hook");
    let create = [
        ("_csrf", t.as_str()),
        ("name", "ci"),
        ("description", "to CI"),
        ("address", address.as_str()),
        ("type", "http"),
        ("payload_format", "Default"),
        ("auth_header", "Bearer s3cret"),
        ("event_types", "PUSH_ARTIFACT"),
        ("event_types", "DELETE_ARTIFACT"),
        ("enabled", "true"),
    ];
    let r = post(&s, &admin, "/projects/hooks/webhooks", &create).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(flash_of(&r), "ok:Webhook ci created.");
    let policies = api(&s, "/policies").await;
    let id = policies[0]["id"].as_i64().unwrap();
    assert_eq!(policies[0]["targets"][0]["auth_header"], "*****");
    assert_eq!(
        policies[0]["event_types"],
        serde_json::json!(["PUSH_ARTIFACT", "DELETE_ARTIFACT"])
    );
    let (_, page) = get(&s, &admin, "/projects/hooks/webhooks").await;
    let ci = row(&page, "data-policy=\"ci\"");
    assert!(
        ci.contains(&address) && ci.contains("(auth header stored)"),
        "{ci}"
    );
    assert!(
        ci.contains("DELETE_ARTIFACT") && ci.contains("Disable"),
        "{ci}"
    );
    assert!(ci.contains(&format!("data-test=\"{id}\"")), "{ci}");
    assert!(
        !page.contains("s3cret") && !page.contains("*****"),
        "{page}"
    );
    let never = row(&page, "data-event=\"PUSH_ARTIFACT\"");
    assert!(never.contains("never"), "{never}");

    // The test button: the results as the flash message.
    let r = post(
        &s,
        &admin,
        &format!("/projects/hooks/webhooks/{id}/test"),
        &[("_csrf", t.as_str())],
    )
    .await;
    assert_eq!(
        flash_of(&r),
        format!("ok:Test event sent. {address}: OK (HTTP 200)")
    );
    assert_eq!(
        common::header(&rx.got()[0].headers, "authorization"),
        Some("Bearer s3cret")
    );

    // A push: an execution with its attempts and log, and the last trigger.
    common::push_image(&s, "hooks/app", "v1", 1).await;
    let mut page = String::new();
    for _ in 0..200 {
        page = get(&s, &admin, &format!("/projects/hooks/webhooks/{id}"))
            .await
            .1;
        if page.contains("class=\"status-Success\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rx.got().len(), 2);
    let execution = row(&page, "data-execution=\"");
    assert!(
        execution.contains("status-Success") && execution.contains("PUSH_ARTIFACT"),
        "{execution}"
    );
    assert!(
        execution.contains("<td class=\"attempts\">1</td>"),
        "{execution}"
    );
    let eid = api(&s, &format!("/policies/{id}/executions")).await[0]["id"]
        .as_i64()
        .unwrap();
    let (status, log) = get(
        &s,
        &admin,
        &format!("/projects/hooks/webhooks/{id}/executions/{eid}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains("attempt 1: HTTP 200"), "{log}");
    assert!(log.contains(&address), "{log}");
    let (_, errors) = get(
        &s,
        &admin,
        &format!("/projects/hooks/webhooks/{id}?status=Error"),
    )
    .await;
    assert!(errors.contains("No execution has this status."), "{errors}");
    let (_, page) = get(&s, &admin, "/projects/hooks/webhooks").await;
    let last = row(&page, "data-event=\"PUSH_ARTIFACT\"");
    assert!(!last.contains("never"), "{last}");

    // An edit with the header field empty keeps the stored header.
    let (status, edit) = get(&s, &admin, &format!("/projects/hooks/webhooks/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(edit.contains("one is stored"), "{edit}");
    assert!(!edit.contains("s3cret"), "{edit}");
    let update = [
        ("_csrf", t.as_str()),
        ("name", "ci"),
        ("description", "changed"),
        ("address", address.as_str()),
        ("type", "http"),
        ("payload_format", "CloudEvents"),
        ("auth_header", ""),
        ("event_types", "PUSH_ARTIFACT"),
        ("enabled", "true"),
    ];
    let r = post(
        &s,
        &admin,
        &format!("/projects/hooks/webhooks/{id}"),
        &update,
    )
    .await;
    assert_eq!(flash_of(&r), "ok:Webhook ci saved.");
    let p = api(&s, &format!("/policies/{id}")).await;
    assert_eq!(p["description"], "changed");
    assert_eq!(p["event_types"], serde_json::json!(["PUSH_ARTIFACT"]));
    assert_eq!(p["targets"][0]["payload_format"], "CloudEvents");
    assert_eq!(p["targets"][0]["auth_header"], "*****");

    // Disabled, header still kept.
    let r = post(
        &s,
        &admin,
        &format!("/projects/hooks/webhooks/{id}/enabled"),
        &[("_csrf", t.as_str()), ("on", "false")],
    )
    .await;
    assert_eq!(flash_of(&r), "ok:Webhook ci disabled.");
    let p = api(&s, &format!("/policies/{id}")).await;
    assert_eq!(p["enabled"], false);
    assert_eq!(p["targets"][0]["auth_header"], "*****");
    let (_, page) = get(&s, &admin, "/projects/hooks/webhooks").await;
    assert!(row(&page, "data-policy=\"ci\"").contains("Enable"));

    // A maintainer sees the tab, the policy and its executions, and no button.
    let maint = sign_in(&s, "maint", PASSWORD).await;
    let (status, page) = get(&s, &maint, "/projects/hooks/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-policy=\"ci\""), "{page}");
    for button in [
        "new-webhook",
        "data-test=",
        "data-toggle=",
        "/delete\"",
        "/edit\"",
    ] {
        assert!(!page.contains(button), "{button}: {page}");
    }
    let (status, page) = get(&s, &maint, &format!("/projects/hooks/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("status-Success") && !page.contains("id=\"edit-webhook\""));
    let (status, _) = get(&s, &maint, &format!("/projects/hooks/webhooks/{id}/edit")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mt = token(&page);
    let r = post(
        &s,
        &maint,
        &format!("/projects/hooks/webhooks/{id}/delete"),
        &[("_csrf", mt.as_str())],
    )
    .await;
    assert!(flash_of(&r).starts_with("err:"), "{}", flash_of(&r));
    assert_eq!(api(&s, "/policies").await.as_array().unwrap().len(), 1);

    // A developer: no tab, and the page by its address is refused inside the project.
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let (_, page) = get(&s, &dev, "/projects/hooks/repositories").await;
    assert!(!page.contains("/projects/hooks/webhooks\""), "{page}");
    let (status, page) = get(&s, &dev, "/projects/hooks/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("id=\"not-allowed\""), "{page}");

    // Delete asks first without JavaScript, then deletes.
    let (_, page) = get(&s, &admin, "/projects/hooks/webhooks").await;
    let question = "Delete the webhook ci? Its executions are deleted with it.";
    assert!(page.contains(question), "{page}");
    let delete = format!("/projects/hooks/webhooks/{id}/delete");
    let r = post(
        &s,
        &admin,
        &delete,
        &[("_csrf", t.as_str()), ("_confirm", question)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("confirm-question"));
    assert_eq!(api(&s, "/policies").await.as_array().unwrap().len(), 1);
    let r = post(&s, &admin, &delete, &[("_csrf", t.as_str())]).await;
    assert_eq!(flash_of(&r), "ok:Webhook deleted.");
    assert_eq!(api(&s, "/policies").await, serde_json::json!([]));
    let (_, page) = get(&s, &admin, "/projects/hooks/webhooks").await;
    assert!(page.contains("No webhooks yet."), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_form_works_by_clicking_and_the_pages_fit_a_phone() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let rx = Receiver::start().await;
    common::create_project(&s, "hooks", false).await;
    let base = s.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#whoami", "admin").await;

    b.goto(&format!("{base}/projects/hooks/repositories")).await;
    b.click("nav.tabs a[href='/projects/hooks/webhooks']").await;
    b.click("#new-webhook").await;
    b.wait_for("#webhook-form").await;
    b.fill(
        "#webhook-name",
        "a-webhook-with-a-rather-long-name-for-a-phone",
    )
    .await;
    let address = rx.url("/a/rather/long/path/for/the/receiver/of/this/project");
    b.fill("#webhook-address", &address).await;
    b.fill("#webhook-auth", "Bearer s3cret").await;
    b.click("#webhook-format option[value='CloudEvents']").await;
    b.click("#webhook-events input[value='DELETE_ARTIFACT']")
        .await;
    b.click("#save-webhook").await;
    b.wait_for_text("#flash", "created").await;
    assert!(b.text("#webhooks").await.contains("CloudEvents"));
    assert!(!b.source().await.contains("s3cret"));
    b.screenshot("webhooks").await;
    b.click("#webhooks button[data-test]").await;
    b.wait_for_text("#flash", "Test event sent.").await;
    assert_eq!(rx.got().len(), 1);

    common::push_image(&s, "hooks/app", "v1", 1).await;
    let id = api(&s, "/policies").await[0]["id"].as_i64().unwrap();
    let mut eid = None;
    for _ in 0..200 {
        let list = api(&s, &format!("/policies/{id}/executions")).await;
        if list[0]["status"] == "Success" {
            eid = list[0]["id"].as_i64();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let eid = eid.expect("a successful execution");
    b.goto(&format!("{base}/projects/hooks/webhooks")).await;
    b.click(&format!(
        "#webhooks a[href='/projects/hooks/webhooks/{id}']"
    ))
    .await;
    b.wait_for_text("#executions", "Success").await;
    b.screenshot("webhook-executions").await;

    let pages = [
        "/projects/hooks/webhooks".to_owned(),
        "/projects/hooks/webhooks/new".to_owned(),
        format!("/projects/hooks/webhooks/{id}"),
        format!("/projects/hooks/webhooks/{id}/edit"),
        format!("/projects/hooks/webhooks/{id}/executions/{eid}"),
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
