//! Browser tests of the web portal: a headless Chromium driven through chromedriver (see
//! `browser`). Without `HARBOR_TEST_CHROMEDRIVER` they are skipped with a printed reason,
//! except under `CI=true`, where they fail.

mod allowlists;
mod authentication;
mod browser;
#[path = "../common/mod.rs"]
mod common;
mod display;
mod features;
mod forms;
mod gc;
mod groups;
mod http;
#[path = "../e2e/layout.rs"]
#[allow(dead_code)]
mod layout;
#[path = "../common/ldap.rs"]
#[allow(dead_code)]
mod ldap_server;
mod narrow;
mod oidc;
mod pages;
mod replication;
mod repository;
mod roles;
mod scanning;
mod security;
mod signatures;
#[path = "../common/signing.rs"]
mod signing;
mod webhooks;

use axum::{
    Form, Router,
    response::Html,
    routing::{get, post},
};
use browser::Browser;
use std::collections::HashMap;

/// The harness itself, against a two-route page: load a form, type, submit, read the
/// server's answer.
#[tokio::test]
async fn harness_drives_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };

    let app = Router::new()
        .route(
            "/",
            get(|| async {
                Html(
                    r#"<!doctype html><title>form</title>
                    <form id="f" method="post" action="/echo">
                      <input name="q" id="q"> <button type="submit" id="go">Go</button>
                    </form>"#,
                )
            }),
        )
        .route(
            "/echo",
            post(|Form(form): Form<HashMap<String, String>>| async move {
                let q = form.get("q").cloned().unwrap_or_default();
                let escaped = q
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                Html(format!(
                    "<!doctype html><title>echo</title><p id=\"out\">you said: {escaped}</p>"
                ))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    browser.goto(&format!("{base}/")).await;
    browser.wait_for("form#f").await;
    assert!(browser.exists("#q").await);
    assert!(!browser.exists("#out").await);

    let value = "harbor <ü> & co";
    browser.fill("#q", "to be replaced").await;
    browser.fill("#q", value).await;
    browser.submit_form("#go").await;
    browser.wait_for_text("#out", value).await;
    browser.screenshot("harness").await;

    assert_eq!(browser.current_url().await, format!("{base}/echo"));
    assert_eq!(browser.text("#out").await, format!("you said: {value}"));
    assert_eq!(browser.texts("p").await, vec![format!("you said: {value}")]);
    assert!(
        browser
            .source()
            .await
            .contains("you said: harbor &lt;ü&gt; &amp; co")
    );

    // The same through the form itself, in a narrow window, with confirm() answered.
    browser.set_window(420, 800).await;
    browser.goto(&format!("{base}/")).await;
    browser.accept_confirms().await;
    browser.fill("#q", "second").await;
    browser.submit_form("form#f").await;
    browser.wait_for_text("#out", "second").await;

    browser.close().await;
    server.abort();
}
