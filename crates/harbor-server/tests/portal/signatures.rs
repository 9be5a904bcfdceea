//! The signature settings over HTTP, as a browser posts them: the two policies and the
//! trusted keys on a project's Configuration tab (checked against the REST API), and the
//! signature status on the artifact page (unsigned, signed, verified by a trusted key).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};
use crate::signing::{CosignKey, cosign_payload, push_cosign_signature};

async fn api(s: &TestServer, path: &str) -> Value {
    let r = common::send(&common::client(), s, Method::GET, path, None).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn expect(s: &TestServer, cookie: &str, path: &str, form: &[(&str, &str)], flash: &str) {
    let r = post(s, cookie, path, form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
    let got = flash_of(&r);
    assert!(
        got.starts_with(flash),
        "{path}: expected {flash}..., got {got}"
    );
}

#[tokio::test]
async fn signature_policies_keys_and_status_in_the_portal() {
    let s = TestServer::start().await;
    common::create_project(&s, "ps", false).await;
    common::create_user(&s, "dev").await;
    common::add_member(&s, "ps", "dev", 2).await;
    let (digest, _) = common::push_image(&s, "ps/app", "v1", 1).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/projects/ps/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"signatures-form\""), "{page}");
    assert!(page.contains("id=\"no-signature-keys\""), "{page}");
    let t = token(&page);

    // Both policies on, then cosign only.
    let both = [
        ("_csrf", t.as_str()),
        ("enable_content_trust_cosign", "true"),
        ("enable_content_trust", "true"),
    ];
    expect(&s, &admin, "/projects/ps/signatures", &both, "ok:").await;
    let meta = &api(&s, "/api/v2.0/projects/ps").await["metadata"];
    assert_eq!(meta["enable_content_trust_cosign"], "true");
    assert_eq!(meta["enable_content_trust"], "true");
    let cosign = [
        ("_csrf", t.as_str()),
        ("enable_content_trust_cosign", "true"),
    ];
    expect(&s, &admin, "/projects/ps/signatures", &cosign, "ok:").await;
    let meta = &api(&s, "/api/v2.0/projects/ps").await["metadata"];
    assert_eq!(meta["enable_content_trust"], "false");

    // A bad key is refused with the API's reason; a good one is listed.
    let bad = [
        ("_csrf", t.as_str()),
        ("name", "ci"),
        ("kind", "cosign"),
        ("pem", "nope"),
    ];
    expect(&s, &admin, "/projects/ps/signature-keys", &bad, "err:").await;
    let key = CosignKey::generate();
    let pem = key.public_pem();
    let good = [
        ("_csrf", t.as_str()),
        ("name", "ci"),
        ("kind", "cosign"),
        ("pem", pem.as_str()),
    ];
    expect(&s, &admin, "/projects/ps/signature-keys", &good, "ok:").await;
    let keys = api(&s, "/api/v2.0/projects/ps/signature/keys").await;
    let id = keys[0]["id"].as_i64().unwrap();
    let (_, page) = get(&s, &admin, "/projects/ps/settings").await;
    assert!(
        page.contains("id=\"signature-keys\"") && page.contains("data-key=\"ci\""),
        "{page}"
    );
    assert!(page.contains(keys[0]["fingerprint"].as_str().unwrap()));

    // The artifact page: not signed, then verified with the trusted key.
    let artifact = format!("/artifact?repo=ps/app&ref={digest}");
    let (_, page) = get(&s, &admin, &artifact).await;
    assert!(
        page.contains("id=\"signature-status\">not signed<"),
        "{page}"
    );
    let reference = format!("{}/ps/app", s.addr);
    push_cosign_signature(
        &s,
        "ps/app",
        &digest,
        &cosign_payload(&reference, &digest),
        &key,
    )
    .await;
    let (_, page) = get(&s, &admin, &artifact).await;
    assert!(
        page.contains("signed (cosign), verified with trusted key ci"),
        "{page}"
    );
    // The repository's listing marks it verified.
    let (_, page) = get(&s, &admin, "/repo?name=ps/app").await;
    assert!(
        page.contains(
            "class=\"badge verified\" title=\"signed (cosign), verified with trusted key ci\""
        ),
        "{page}"
    );

    // A developer sees the settings, not the forms; the API refuses their posts.
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let (_, page) = get(&s, &dev, "/projects/ps/settings").await;
    assert!(page.contains("id=\"signatures-view\""), "{page}");
    assert!(!page.contains("id=\"signatures-form\"") && !page.contains("id=\"add-signature-key\""));
    let td = token(&page);
    let off = [("_csrf", td.as_str())];
    expect(&s, &dev, "/projects/ps/signatures", &off, "err:").await;
    let del = [("_csrf", td.as_str())];
    expect(
        &s,
        &dev,
        &format!("/projects/ps/signature-keys/{id}/delete"),
        &del,
        "err:",
    )
    .await;

    // The administrator deletes the key; the artifact is signed, no longer verified.
    let del = [("_csrf", t.as_str())];
    expect(
        &s,
        &admin,
        &format!("/projects/ps/signature-keys/{id}/delete"),
        &del,
        "ok:",
    )
    .await;
    assert_eq!(
        api(&s, "/api/v2.0/projects/ps/signature/keys").await,
        serde_json::json!([])
    );
    let (_, page) = get(&s, &admin, &artifact).await;
    assert!(
        page.contains("signed (cosign), not verified by a trusted key"),
        "{page}"
    );
    let (_, page) = get(&s, &admin, "/repo?name=ps/app").await;
    assert!(!page.contains("badge verified"), "{page}");
}
