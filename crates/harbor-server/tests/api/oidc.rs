//! OpenID Connect against a real provider (node-oidc-provider on loopback, see
//! `common/oidc.rs`): sign-in with auto-onboarding and with the onboarding form, CLI
//! secrets (refreshed with the refresh token, refused once the provider refuses the
//! refresh), key rotation, bad callbacks, RBAC on `cli_secret`, `/system/oidc/ping`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::oidc::{
    Jar, OidcProvider, ProviderOptions, configure, get_with_jar, raw_client, sign_in, walk,
};
use crate::common::{TestServer, anon_client, basic, client};
use crate::support::admin;

async fn current(jar: &Jar, s: &TestServer) -> Value {
    let resp = get_with_jar(jar, s, "/api/v2.0/users/current").await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// `GET /api/v2.0/users/current` with Basic `user:secret`.
async fn basic_status(s: &TestServer, user: &str, secret: &str) -> StatusCode {
    anon_client()
        .get(s.url("/api/v2.0/users/current"))
        .header("authorization", basic(user, secret))
        .send()
        .await
        .unwrap()
        .status()
}

async fn token_status(s: &TestServer, user: &str, secret: &str) -> StatusCode {
    anon_client()
        .get(s.url("/service/token?service=harbor-registry&scope=repository:library/x:pull"))
        .header("authorization", basic(user, secret))
        .send()
        .await
        .unwrap()
        .status()
}

async fn put_secret(s: &TestServer, auth: &str, id: i64, secret: &str) -> reqwest::Response {
    anon_client()
        .put(s.url(&format!("/api/v2.0/users/{id}/cli_secret")))
        .header("authorization", auth)
        .json(&json!({ "secret": secret }))
        .send()
        .await
        .unwrap()
}

async fn set_up(options: ProviderOptions, extra: Value) -> Option<(TestServer, OidcProvider)> {
    let s = TestServer::start().await;
    let p = OidcProvider::start(&s, options).await?;
    configure(&s, &p, extra).await;
    Some((s, p))
}

#[tokio::test]
async fn auto_onboarding_and_cli_secrets_refreshed_until_the_provider_refuses() {
    let options = ProviderOptions {
        access_ttl: 2,
        ..ProviderOptions::default()
    };
    let Some((s, mut p)) = set_up(
        options,
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username"}),
    )
    .await
    else {
        return;
    };
    // Clients learn the mode and the provider's name; the login page offers it.
    let info: Value = anon_client()
        .get(s.url("/api/v2.0/systeminfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["auth_mode"], "oidc_auth");
    assert_eq!(info["oidc_provider_name"], "Test provider");
    let page = anon_client().get(s.url("/login")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Login via OIDC provider") && page.contains("Test provider"));

    let mut jar = Jar::default();
    let landed = sign_in(&mut jar, &s, "alice").await;
    assert_eq!(landed.url, s.url("/projects"), "{landed:?}");
    let me = current(&jar, &s).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["realname"], "Alice Smith");
    let meta = &me["oidc_user_meta"];
    assert_eq!(meta["subiss"], format!("alice{}", p.issuer));
    assert_eq!(meta["user_id"], me["user_id"]);
    let secret = meta["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{secret}");
    let alice = me["user_id"].as_i64().unwrap();

    // The CLI secret works on the API and the token service; anything else does not.
    assert_eq!(basic_status(&s, "alice", &secret).await, StatusCode::OK);
    assert_eq!(token_status(&s, "alice", &secret).await, StatusCode::OK);
    assert_eq!(
        basic_status(&s, "alice", "Wrong-secret-1").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        basic_status(&s, "nobody", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    // The session's cookie is a real portal session.
    let page = get_with_jar(&jar, &s, "/projects").await;
    assert_eq!(page.status(), StatusCode::OK);

    // The access token expires after 2 s: the refresh token renews it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(basic_status(&s, "alice", &secret).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(token_status(&s, "alice", &secret).await, StatusCode::OK);

    // A second sign-in finds the same user (by sub and issuer).
    let mut jar2 = Jar::default();
    sign_in(&mut jar2, &s, "alice").await;
    assert_eq!(current(&jar2, &s).await["user_id"], alice);

    // The provider forgets its grants (a restart of an in-memory provider): once the
    // access token expires the refresh is refused, and so is the CLI secret.
    p.restart(false).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        basic_status(&s, "alice", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token_status(&s, "alice", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    // Until the user signs in to the portal again.
    let mut jar3 = Jar::default();
    sign_in(&mut jar3, &s, "alice").await;
    assert_eq!(basic_status(&s, "alice", &secret).await, StatusCode::OK);
}

#[tokio::test]
async fn cli_secret_rules_and_who_may_change_it() {
    let Some((s, _p)) = set_up(
        ProviderOptions::default(),
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username"}),
    )
    .await
    else {
        return;
    };
    let mut alice_jar = Jar::default();
    sign_in(&mut alice_jar, &s, "alice").await;
    let alice = current(&alice_jar, &s).await;
    let alice_id = alice["user_id"].as_i64().unwrap();
    let secret = alice["oidc_user_meta"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut carol_jar = Jar::default();
    sign_in(&mut carol_jar, &s, "carol").await;
    let carol = current(&carol_jar, &s).await;
    let carol_secret = carol["oidc_user_meta"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_alice = basic("alice", &secret);
    let as_carol = basic("carol", &carol_secret);

    // Harbor's rules for a secret.
    for bad in ["short1A", "nouppercase1", "NOLOWERCASE1", "NoDigitsHere"] {
        let resp = put_secret(&s, &as_alice, alice_id, bad).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // The user changes their own; the old one stops working.
    let resp = put_secret(&s, &as_alice, alice_id, "New-Secret-1").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        basic_status(&s, "alice", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        basic_status(&s, "alice", "New-Secret-1").await,
        StatusCode::OK
    );
    let as_alice = basic("alice", "New-Secret-1");
    // Another user may neither change it nor read it.
    let resp = put_secret(&s, &as_carol, alice_id, "Carols-Choice-1").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = anon_client()
        .get(s.url(&format!("/api/v2.0/users/{alice_id}")))
        .header("authorization", &as_carol)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = put_secret(&s, "", alice_id, "Anonymous-1").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The administrator may, and sees the secret.
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{alice_id}/cli_secret"),
        Some(json!({"secret": "Admin-Set-1"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let shown: Value = admin(
        &s,
        Method::GET,
        &format!("/api/v2.0/users/{alice_id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(shown["oidc_user_meta"]["secret"], "Admin-Set-1");
    assert_eq!(
        basic_status(&s, "alice", "Admin-Set-1").await,
        StatusCode::OK
    );
    assert_eq!(
        put_secret(&s, &as_alice, alice_id, "X-1aaaaaaa")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // The administrator is not an OIDC user: no secret to set; an unknown user: 404.
    let resp = admin(
        &s,
        Method::PUT,
        "/api/v2.0/users/1/cli_secret",
        Some(json!({"secret": "Admin-Set-1"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = admin(
        &s,
        Method::PUT,
        "/api/v2.0/users/9999/cli_secret",
        Some(json!({"secret": "Admin-Set-1"})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // The admin's own record has no OIDC meta.
    let me: Value = client()
        .get(s.url("/api/v2.0/users/current"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me.get("oidc_user_meta").is_none(), "{me}");
}

#[tokio::test]
async fn onboarding_asks_for_a_username() {
    let Some((s, _p)) = set_up(
        ProviderOptions::default(),
        json!({"oidc_auto_onboard": false}),
    )
    .await
    else {
        return;
    };
    let mut jar = Jar::default();
    let landed = sign_in(&mut jar, &s, "alice").await;
    // The `name` claim, with its space made an underscore, is suggested.
    assert_eq!(
        landed.url,
        s.url("/oidc-onboard?username=Alice_Smith"),
        "{landed:?}"
    );
    assert!(jar.get(&s.base, "sid").is_none());
    let page = get_with_jar(&jar, &s, "/oidc-onboard?username=Alice_Smith").await;
    let page = page.text().await.unwrap();
    assert!(page.contains("value=\"Alice_Smith\""), "{page}");

    let onboard = |jar: &Jar, body: &'static str, json: bool| {
        let url = reqwest::Url::parse(&s.url("/c/oidc/onboard")).unwrap();
        let mut req = raw_client().post(url.clone()).body(body);
        req = req.header(
            "content-type",
            if json {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            },
        );
        if let Some(h) = jar.header(&url) {
            req = req.header("cookie", h);
        }
        req.send()
    };
    // A taken or invalid username is refused on the page, which stays.
    let resp = onboard(&jar, "username=admin", false).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let page = resp.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains("already exists") && page.contains("id=\"onboard\""),
        "{page}"
    );
    let resp = onboard(&jar, "username=a%20b", false).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Without the cookie of a verified sign-in: refused.
    let resp = onboard(&Jar::default(), r#"{"username":"mallory"}"#, true)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let e: Value = resp.json().await.unwrap();
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("waiting"),
        "{e}"
    );
    // A good one: signed in, sent on.
    let resp = onboard(&jar, "username=alice.smith", false).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/projects");
    let mut signed = jar.clone();
    for v in resp.headers().get_all("set-cookie") {
        let v = v.to_str().unwrap();
        if let Some(sid) = v.strip_prefix("sid=") {
            signed.set(&s.base, "sid", sid.split(';').next().unwrap());
        }
    }
    let me = current(&signed, &s).await;
    assert_eq!(me["username"], "alice.smith");
    assert_eq!(me["comment"], "Onboarded via OIDC provider");
    // The next sign-in goes straight in.
    let mut again = Jar::default();
    let landed = sign_in(&mut again, &s, "alice").await;
    assert_eq!(landed.url, s.url("/projects"));
    assert_eq!(current(&again, &s).await["username"], "alice.smith");
}

#[tokio::test]
async fn bad_callbacks_are_refused_with_a_page() {
    let Some((s, _p)) = set_up(
        ProviderOptions::default(),
        json!({"oidc_auto_onboard": true}),
    )
    .await
    else {
        return;
    };
    let get = |jar: &Jar, path: &str| {
        let jar = jar.clone();
        let url = s.url(path);
        async move {
            let url = reqwest::Url::parse(&url).unwrap();
            let mut req = raw_client().get(url.clone());
            if let Some(h) = jar.header(&url) {
                req = req.header("cookie", h);
            }
            req.send().await.unwrap()
        }
    };
    // No sign-in started from this browser.
    let resp = get(&Jar::default(), "/c/oidc/callback?code=x&state=y").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("no sign-in was started"), "{page}");
    // Started, but the state is not this sign-in's.
    let mut jar = Jar::default();
    let resp = get(&jar, "/c/oidc/login?redirect_url=https://evil.example/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().unwrap().strip_prefix("oidc_login="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    jar.set(&s.base, "oidc_login", &cookie);
    let resp = get(&jar, "/c/oidc/callback?code=x&state=not-the-state").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("state does not match"));
    // A tampered cookie opens to nothing.
    let mut tampered = cookie.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    jar.set(
        &s.base,
        "oidc_login",
        std::str::from_utf8(&tampered).unwrap(),
    );
    let resp = get(&jar, "/c/oidc/callback?code=x&state=y").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The provider's refusal (the user denied) is shown, with the right state.
    let state = {
        let mut walk_jar = Jar::default();
        let resp = get(&walk_jar, "/c/oidc/login").await;
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        for v in resp.headers().get_all("set-cookie") {
            if let Some(c) = v.to_str().unwrap().strip_prefix("oidc_login=") {
                walk_jar.set(&s.base, "oidc_login", c.split(';').next().unwrap());
            }
        }
        jar = walk_jar;
        reqwest::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned()
    };
    let resp = get(
        &jar,
        &format!("/c/oidc/callback?error=access_denied&state={state}"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.unwrap().contains("access_denied"));
    // A made-up code with the right state: the provider refuses the exchange.
    let resp = get(
        &jar,
        &format!("/c/oidc/callback?code=made-up&state={state}"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.unwrap().contains("invalid_grant"));
    // An open redirect is not followed: the sign-in lands on a local page.
    let mut jar = Jar::default();
    let landed = walk(
        &mut jar,
        &s,
        &s.url("/c/oidc/login?redirect_url=//evil.example/x"),
        Some("carol"),
    )
    .await;
    assert_eq!(landed.url, s.url("/projects"));
    // Auto-onboarding with a name claim that is no username ("Alice Smith"): a clear
    // refusal, no account.
    let mut jar = Jar::default();
    let landed = sign_in(&mut jar, &s, "alice").await;
    assert_eq!(landed.status, StatusCode::BAD_REQUEST, "{landed:?}");
    assert!(landed.body.contains("username"), "{}", landed.body);
    let users: Value = admin(&s, Method::GET, "/api/v2.0/users?q=username%3DAlice", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users, json!([]));
}

#[tokio::test]
async fn key_rotation_a_new_key_is_fetched() {
    let options = ProviderOptions {
        alg: "ES256",
        ..ProviderOptions::default()
    };
    let Some((s, mut p)) = set_up(
        options,
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username"}),
    )
    .await
    else {
        return;
    };
    let mut jar = Jar::default();
    assert_eq!(sign_in(&mut jar, &s, "alice").await.url, s.url("/projects"));
    let before = p.key_ids().await;
    p.restart(true).await;
    let after = p.key_ids().await;
    assert!(
        before.iter().all(|k| !after.contains(k)),
        "{before:?} {after:?}"
    );
    // Keys are fetched again at most every 2 s for an unknown key id.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut jar = Jar::default();
    let landed = sign_in(&mut jar, &s, "alice").await;
    assert_eq!(landed.url, s.url("/projects"), "{landed:?}");
    assert_eq!(current(&jar, &s).await["username"], "alice");
}

#[tokio::test]
async fn ping_checks_the_discovery_document() {
    let s = TestServer::start().await;
    let Some(p) = OidcProvider::start(&s, ProviderOptions::default()).await else {
        return;
    };
    let ping = |auth: Option<String>, body: Value| {
        let mut req = anon_client()
            .post(s.url("/api/v2.0/system/oidc/ping"))
            .json(&body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    let admin_auth = Some(basic("admin", crate::common::ADMIN_PASSWORD));
    let ok = ping(
        admin_auth.clone(),
        json!({"url": p.issuer, "verify_cert": true}),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let ok = ping(admin_auth.clone(), json!({"url": format!("{}/", p.issuer)}))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // Nothing there, or not the issuer it claims.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let bad = ping(
        admin_auth.clone(),
        json!({"url": format!("http://{closed}")}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad = ping(
        admin_auth.clone(),
        json!({"url": format!("{}/jwks", p.issuer)}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad = ping(admin_auth.clone(), json!({"url": ""})).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // Administrators only.
    crate::common::create_user(&s, "dev").await;
    let denied = ping(
        Some(basic("dev", crate::common::PASSWORD)),
        json!({"url": p.issuer}),
    )
    .await
    .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let denied = ping(None, json!({"url": p.issuer})).await.unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    // Not in oidc_auth mode: no CLI secrets, no OIDC sign-in.
    let resp = anon_client()
        .get(s.url("/c/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
}

async fn skopeo(skopeo: &str, args: &[&str]) -> std::process::Output {
    // Not a blocking wait: the server runs on this test's runtime.
    tokio::process::Command::new(skopeo)
        .args(args)
        .output()
        .await
        .expect("run skopeo")
}

/// `docker login -u <user> -p <CLI secret>`: skopeo pushes and pulls with the CLI secret
/// of an OIDC user who is a member of the project; a user who is not is refused.
#[tokio::test]
async fn skopeo_pushes_and_pulls_with_a_cli_secret() {
    let Some(skopeo_bin) = harbor_storage::testing::service("HARBOR_TEST_SKOPEO", "skopeo") else {
        return;
    };
    let Some((s, _p)) = set_up(
        ProviderOptions::default(),
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username"}),
    )
    .await
    else {
        return;
    };
    let mut jar = Jar::default();
    sign_in(&mut jar, &s, "alice").await;
    let secret = current(&jar, &s).await["oidc_user_meta"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut carol_jar = Jar::default();
    sign_in(&mut carol_jar, &s, "carol").await;
    let carol_secret = current(&carol_jar, &s).await["oidc_user_meta"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::common::create_project(&s, "team", false).await;
    crate::common::add_member(&s, "team", "alice", 2).await;

    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = crate::layout::write(&src, 50_000);
    let creds = format!("alice:{secret}");
    let dest = format!("docker://{}/team/app:v1", s.addr);
    let out = skopeo(
        &skopeo_bin,
        &[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:v1", src.display()),
            &dest,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = work.path().join("back");
    let out = skopeo(
        &skopeo_bin,
        &[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &creds,
            &dest,
            &format!("dir:{}", back.display()),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read(back.join("manifest.json")).unwrap();
    assert_eq!(crate::common::sha256(&manifest), made.image);

    // Carol is not a member of the private project; a wrong secret is no login at all.
    for creds in [
        format!("carol:{carol_secret}"),
        "alice:Wrong-Secret-1".to_owned(),
    ] {
        let out = skopeo(
            &skopeo_bin,
            &[
                "copy",
                "--src-tls-verify=false",
                "--src-creds",
                &creds,
                &dest,
                &format!("dir:{}", work.path().join("denied").display()),
            ],
        )
        .await;
        assert!(
            !out.status.success(),
            "{creds} pulled from a private project"
        );
    }
}

/// `GET /c/oidc/logout` ends the session, and with `oidc_logout` sends the browser to the
/// provider's end-session endpoint with the ID token as a hint.
#[tokio::test]
async fn logout_ends_the_session_and_optionally_the_providers() {
    let Some((s, p)) = set_up(
        ProviderOptions::default(),
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username", "oidc_logout": true}),
    )
    .await
    else {
        return;
    };
    let mut jar = Jar::default();
    sign_in(&mut jar, &s, "alice").await;
    current(&jar, &s).await;
    let resp = get_with_jar(&jar, &s, "/c/oidc/logout").await;
    // A page that goes on to the provider (a redirect would be blocked after the
    // portal's logout form by its `form-action 'self'`).
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let refresh = resp.headers()["refresh"].to_str().unwrap().to_owned();
    let to = reqwest::Url::parse(refresh.strip_prefix("0; url=").unwrap()).unwrap();
    assert!(
        to.as_str()
            .starts_with(&format!("{}/session/end", p.issuer)),
        "{to}"
    );
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["post_logout_redirect_uri"], s.url("/login"));
    assert_eq!(q["client_id"], crate::common::oidc::CLIENT_ID);
    assert_eq!(q["id_token_hint"].split('.').count(), 3);
    let cleared = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("sid=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    // The session is gone on the server, whatever the browser keeps.
    let resp = get_with_jar(&jar, &s, "/api/v2.0/users/current").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Without oidc_logout: back to the sign-in page only.
    configure(&s, &p, json!({"oidc_logout": false})).await;
    let mut jar = Jar::default();
    sign_in(&mut jar, &s, "alice").await;
    let resp = get_with_jar(&jar, &s, "/c/oidc/logout").await;
    assert_eq!(resp.headers()["location"], "/login");
    let resp = get_with_jar(&jar, &s, "/api/v2.0/users/current").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// `oidc_verify_cert`: a provider with a self-signed certificate is refused while it is
/// on (ping and sign-in), and used once it is off.
#[tokio::test]
async fn the_providers_certificate_is_verified_unless_told_not_to() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let options = ProviderOptions {
        tls: Some((cert_file, key_file)),
        ..ProviderOptions::default()
    };
    let Some(p) = OidcProvider::start(&s, options).await else {
        return;
    };
    assert!(p.issuer.starts_with("https://"));
    let ping = |verify: bool| {
        admin(
            &s,
            Method::POST,
            "/api/v2.0/system/oidc/ping",
            Some(json!({"url": p.issuer, "verify_cert": verify})),
        )
    };
    let refused = ping(true).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ping(false).await.status(), StatusCode::OK);

    let signed_in = json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username"});
    let mut extra = signed_in.clone();
    extra["oidc_verify_cert"] = json!(true);
    configure(&s, &p, extra).await;
    let mut jar = Jar::default();
    let landed = sign_in(&mut jar, &s, "alice").await;
    assert_eq!(landed.status, StatusCode::BAD_GATEWAY, "{landed:?}");
    let mut extra = signed_in;
    extra["oidc_verify_cert"] = json!(false);
    configure(&s, &p, extra).await;
    let mut jar = Jar::default();
    let landed = sign_in(&mut jar, &s, "alice").await;
    assert_eq!(landed.url, s.url("/projects"), "{landed:?}");
    assert_eq!(current(&jar, &s).await["username"], "alice");
}

/// Groups: the groups claim (filtered by `oidc_group_filter`) becomes the user's OIDC user
/// groups at each sign-in, so a group's project role reaches the registry through the CLI
/// secret; `oidc_admin_group` makes a system administrator.
#[tokio::test]
async fn the_groups_claim_grants_project_roles_and_administration() {
    let Some((s, _p)) = set_up(
        ProviderOptions::default(),
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username",
               "oidc_groups_claim": "groups", "oidc_group_filter": "^(dev|ops)",
               "oidc_admin_group": "harbor-admins"}),
    )
    .await
    else {
        return;
    };
    // A private project, and the OIDC group ops as its developer, made before anyone
    // signed in.
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "team", "metadata": {"public": "false"}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/usergroups",
        Some(json!({"group_name": "ops", "group_type": 3})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects/team/members",
        Some(json!({"role_id": 2, "member_group": {"group_name": "ops", "group_type": 3}})),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );

    // alice (dev-team, harbor-admins, ops) and carol (ops) sign in.
    let mut jar = Jar::default();
    sign_in(&mut jar, &s, "alice").await;
    let alice = current(&jar, &s).await;
    assert_eq!(alice["sysadmin_flag"], true, "the admin group: {alice}");
    let secret = alice["oidc_user_meta"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut jar = Jar::default();
    sign_in(&mut jar, &s, "carol").await;
    let carol = current(&jar, &s).await;
    assert_eq!(carol["sysadmin_flag"], false);
    let carol_secret = carol["oidc_user_meta"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // The groups the filter keeps exist as OIDC groups; harbor-admins is filtered out.
    let groups: Vec<Value> = client()
        .get(s.url("/api/v2.0/usergroups?page_size=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<&str> = groups
        .iter()
        .filter(|g| g["group_type"] == 3)
        .filter_map(|g| g["group_name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["dev-team", "ops"], "{groups:?}");

    // ops's role reaches the registry with carol's CLI secret (she is nothing else there);
    // alice is an administrator.
    let scope = "/service/token?service=harbor-registry&scope=repository:team/app:pull,push";
    let token = |user: &str, secret: &str| {
        let (s, auth) = (&s, basic(user, secret));
        async move {
            let v: Value = anon_client()
                .get(s.url(scope))
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let t = token("alice", &secret).await;
    assert!(t["token"].is_string(), "{t}");
    let claims = decode_claims(t["token"].as_str().unwrap());
    let mut actions: Vec<String> =
        serde_json::from_value(claims["access"][0]["actions"].clone()).unwrap();
    actions.sort();
    assert_eq!(
        actions,
        ["delete", "pull", "push"],
        "alice is an administrator: {claims}"
    );
    let t = token("carol", &carol_secret).await;
    let claims = decode_claims(t["token"].as_str().unwrap());
    let mut actions: Vec<String> =
        serde_json::from_value(claims["access"][0]["actions"].clone()).unwrap();
    actions.sort();
    assert_eq!(actions, ["pull", "push"], "through ops: {claims}");
    // Out of the group (the project membership removed): nothing.
    let members: Vec<Value> = client()
        .get(s.url("/api/v2.0/projects/team/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mid = members
        .iter()
        .find(|m| m["entity_name"] == "ops")
        .and_then(|m| m["id"].as_i64())
        .unwrap();
    let r = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/projects/team/members/{mid}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = token("carol", &carol_secret).await;
    let claims = decode_claims(t["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], json!([]), "{claims}");
}

/// The claims of a JWT, unverified.
fn decode_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
