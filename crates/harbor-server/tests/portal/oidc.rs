//! Signing in through a real OIDC provider (node-oidc-provider, see `common/oidc.rs`) in
//! the browser: the login page's "Login via OIDC provider", the provider's form, the
//! onboarding page, the account page's CLI secret; then auto-onboarding with the
//! provider asked to show its login again (`oidc_extra_redirect_parms`).

use serde_json::json;

use crate::browser::Browser;
use crate::common::TestServer;
use crate::common::oidc::{OidcProvider, ProviderOptions, configure};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_the_provider() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let Some(p) = OidcProvider::start(&s, ProviderOptions::default()).await else {
        return;
    };
    configure(&s, &p, json!({"oidc_auto_onboard": false})).await;
    let base = s.base.clone();

    // The login page offers the provider; the provider asks who we are.
    b.goto(&format!("{base}/projects")).await;
    b.wait_for("#oidc-login").await;
    b.wait_for_text("#oidc-name", "Test provider").await;
    b.click("#oidc-login").await;
    b.wait_for("#signin").await;
    assert!(b.current_url().await.starts_with(&p.issuer));
    b.fill("#username", "alice").await;
    b.click("#signin").await;

    // A new user: the onboarding page suggests the name claim, made a username.
    b.wait_for("#onboard").await;
    assert!(
        b.current_url()
            .await
            .contains("/oidc-onboard?username=Alice_Smith")
    );
    b.screenshot("oidc-onboard").await;
    b.fill("#username", "admin").await;
    b.click("#onboard").await;
    b.wait_for_text("#error", "already exists").await;
    b.fill("#username", "alice").await;
    b.click("#onboard").await;
    b.wait_for_text("#whoami", "alice").await;
    assert!(b.current_url().await.ends_with("/projects"));

    // The account page shows the CLI secret.
    b.goto(&format!("{base}/account")).await;
    b.wait_for("#cli-secret").await;
    let secret: String = b
        .client()
        .execute("return document.querySelector('#cli-secret').value", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.len() >= 32, "{secret}");
    assert!(
        !b.exists("#change-password").await,
        "no password for OIDC users"
    );
    let ok = reqwest::Client::new()
        .get(format!("{base}/api/v2.0/users/current"))
        .basic_auth("alice", Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), reqwest::StatusCode::OK);

    // Log out; with auto-onboarding and the provider asked to show its login again, a
    // new user goes straight in.
    b.click("#logout").await;
    b.wait_for("#oidc-login").await;
    configure(
        &s,
        &p,
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username",
               "oidc_extra_redirect_parms": "{\"prompt\":\"login\"}"}),
    )
    .await;
    b.click("#oidc-login").await;
    b.wait_for("#signin").await;
    b.fill("#username", "carol").await;
    b.click("#signin").await;
    b.wait_for_text("#whoami", "carol").await;
    b.screenshot("oidc-signed-in").await;

    // With oidc_logout, logging out also goes to the provider's end-session page.
    configure(&s, &p, json!({"oidc_logout": true})).await;
    b.click("#logout").await;
    for _ in 0..100 {
        if b.current_url().await.starts_with(&p.issuer) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        b.current_url()
            .await
            .starts_with(&format!("{}/session/end", p.issuer)),
        "{} {}",
        b.current_url().await,
        b.source().await
    );
    let me = reqwest::Client::new()
        .get(format!("{base}/api/v2.0/users/current"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), reqwest::StatusCode::UNAUTHORIZED);
    b.close().await;
}
