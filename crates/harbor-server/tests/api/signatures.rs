//! Signature policies on `/v2/` manifest pulls (`enable_content_trust_cosign`,
//! `enable_content_trust`) and the trusted keys of a project
//! (`/projects/{p}/signature/keys`), on one real server: images signed in the test as
//! cosign and Notation sign them; unsigned, wrongly signed and tampered artifacts refused
//! with `412 PROJECTPOLICYVIOLATION` and Harbor's message; signatures themselves, signing
//! clients and scan robots let through; the artifact's `signature_status`.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::signing::*;
use crate::support::*;

const NOT_COSIGN: &str = "The image is not signed by cosign.";
const NOT_NOTATION: &str = "The image is not signed by notation.";

/// A manifest `GET` (or `HEAD`) by `c`: the status and, for an error, code and message.
async fn pull(
    c: &Client,
    s: &TestServer,
    repo: &str,
    reference: &str,
    head: bool,
) -> (StatusCode, String) {
    let method = if head { Method::HEAD } else { Method::GET };
    let r = c
        .request(method, s.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status.is_success() || head {
        return (status, String::new());
    }
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["code"], "PROJECTPOLICYVIOLATION",
        "{body}"
    );
    (
        status,
        body["errors"][0]["message"].as_str().unwrap().to_owned(),
    )
}

async fn allowed(c: &Client, s: &TestServer, repo: &str, reference: &str) {
    assert_eq!(
        pull(c, s, repo, reference, false).await.0,
        StatusCode::OK,
        "GET {repo}:{reference}"
    );
    assert_eq!(
        pull(c, s, repo, reference, true).await.0,
        StatusCode::OK,
        "HEAD {repo}:{reference}"
    );
}

async fn refused(c: &Client, s: &TestServer, repo: &str, reference: &str, message: &str) {
    let (status, m) = pull(c, s, repo, reference, false).await;
    assert_eq!(
        (status, m.as_str()),
        (StatusCode::PRECONDITION_FAILED, message),
        "GET {repo}:{reference}"
    );
    let (status, _) = pull(c, s, repo, reference, true).await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "HEAD {repo}:{reference}"
    );
}

async fn set_meta(s: &TestServer, project: &str, key: &str, value: &str) {
    let r = admin(
        s,
        Method::PUT,
        &format!("/api/v2.0/projects/{project}"),
        Some(json!({"metadata": {key: value}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{key}={value}");
}

/// Adds a trusted key as the administrator; returns its id.
async fn trust(s: &TestServer, project: &str, kind: &str, name: &str, pem: &str) -> i64 {
    let r = admin(
        s,
        Method::POST,
        &format!("/api/v2.0/projects/{project}/signature/keys"),
        Some(json!({"kind": kind, "name": name, "pem": pem})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "trust {name}");
    let id = location_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["kind"], kind);
    assert!(body["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    id
}

async fn status(s: &TestServer, project: &str, repo: &str, reference: &str) -> Value {
    let v: Value = get_json(
        &client(),
        s,
        &format!("/api/v2.0/projects/{project}/repositories/{repo}/artifacts/{reference}?with_signature=true"),
    )
    .await;
    v["signature_status"].clone()
}

#[tokio::test]
async fn cosign_signatures_are_required_and_verified() {
    let s = TestServer::start().await;
    create_project(&s, "signed", false).await;
    let repo = "signed/app";
    let (a, _) = push_image(&s, repo, "a", 1).await;
    let (b, _) = push_image(&s, repo, "b", 2).await;
    let (c, _) = push_image(&s, repo, "c", 3).await;
    let admin_c = client();
    // Off: everything is pulled, nothing is read.
    allowed(&admin_c, &s, repo, "a").await;
    set_meta(&s, "signed", "enable_content_trust_cosign", "true").await;

    // Unsigned: refused to everyone, administrators included (as Harbor), by tag and
    // by digest.
    refused(&admin_c, &s, repo, "a", NOT_COSIGN).await;
    refused(&admin_c, &s, repo, &a, NOT_COSIGN).await;
    assert_eq!(
        status(&s, "signed", "app", "a").await,
        json!({"signed": false, "verified": false, "kinds": []})
    );

    // Signed as cosign signs: pulled (no keys configured: existence, as Harbor).
    let key1 = CosignKey::generate();
    let reference = format!("{}/{repo}", s.addr);
    let sig_a = push_cosign_signature(&s, repo, &a, &cosign_payload(&reference, &a), &key1).await;
    allowed(&admin_c, &s, repo, "a").await;
    allowed(&admin_c, &s, repo, &a).await;
    assert_eq!(
        status(&s, "signed", "app", "a").await,
        json!({"signed": true, "verified": false, "kinds": ["cosign"]})
    );
    // The signature artifact itself, by its tag and its digest.
    allowed(&admin_c, &s, repo, &cosign_tag(&a)).await;
    allowed(&admin_c, &s, repo, &sig_a).await;

    // A tampered payload: b's signature names a's digest.
    push_cosign_signature(&s, repo, &b, &cosign_payload(&reference, &a), &key1).await;
    // Without keys, existence is all Harbor checks.
    allowed(&admin_c, &s, repo, "b").await;

    // Trusting another key: a's signature no longer counts.
    let key2 = CosignKey::generate();
    let k2 = trust(&s, "signed", "cosign", "other", &key2.public_pem()).await;
    refused(&admin_c, &s, repo, "a", NOT_COSIGN).await;
    assert_eq!(
        status(&s, "signed", "app", "a").await,
        json!({"signed": true, "verified": false, "kinds": ["cosign"]})
    );
    // Trusting the signing key: verified, by that key; the tampered one is still refused.
    trust(&s, "signed", "cosign", "release", &key1.public_pem()).await;
    allowed(&admin_c, &s, repo, "a").await;
    assert_eq!(
        status(&s, "signed", "app", "a").await,
        json!({"signed": true, "verified": true, "kinds": ["cosign"], "key": "release"})
    );
    refused(&admin_c, &s, repo, "b", NOT_COSIGN).await;
    assert_eq!(status(&s, "signed", "app", "b").await["verified"], false);
    // Signed by the other key only: c verifies with "other".
    push_cosign_signature(&s, repo, &c, &cosign_payload(&reference, &c), &key2).await;
    allowed(&admin_c, &s, repo, "c").await;
    assert_eq!(status(&s, "signed", "app", "c").await["key"], "other");
    // A listing shows each artifact's status (a and c verified, b tampered).
    let list: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/signed/repositories/app/artifacts?with_signature=true&page_size=50",
    )
    .await;
    let by_tag: std::collections::BTreeMap<String, Value> = list
        .iter()
        .filter_map(|a| {
            let tag = a["tags"][0]["name"].as_str()?;
            (tag.len() == 1).then(|| (tag.to_owned(), a["signature_status"].clone()))
        })
        .collect();
    assert_eq!(by_tag["a"]["key"], "release");
    assert_eq!(
        by_tag["b"],
        json!({"signed": true, "verified": false, "kinds": ["cosign"]})
    );
    assert_eq!(by_tag["c"]["key"], "other");
    assert!(
        list.iter().all(|a| a.get("accessories").is_none()),
        "accessories only when asked"
    );
    // Removing a key takes effect at once.
    let r = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/projects/signed/signature/keys/{k2}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    refused(&admin_c, &s, repo, "c", NOT_COSIGN).await;

    // A developer pulling with a signing tool (it may push) reads the unsigned image, to
    // sign it; with another client, or as a guest (no push), it is refused.
    create_user(&s, "dev").await;
    add_member(&s, "signed", "dev", 2).await;
    create_user(&s, "guest").await;
    add_member(&s, "signed", "guest", 3).await;
    let cosign_ua = |user: &str| {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            basic(user, PASSWORD).parse().unwrap(),
        );
        h.insert(
            reqwest::header::USER_AGENT,
            "cosign/v2.4.1 (linux; amd64)".parse().unwrap(),
        );
        Client::builder()
            .pool_max_idle_per_host(0)
            .default_headers(h)
            .build()
            .unwrap()
    };
    allowed(&cosign_ua("dev"), &s, repo, "c").await;
    refused(&as_user("dev", PASSWORD), &s, repo, "c", NOT_COSIGN).await;
    refused(&cosign_ua("guest"), &s, repo, "c", NOT_COSIGN).await;
    // A robot that may push but is not a signing client: refused.
    let (_, robot, secret) = create_robot(
        &s,
        "signed",
        "ci",
        &[("repository", "push"), ("repository", "pull")],
    )
    .await;
    refused(&as_user(&robot, &secret), &s, repo, "c", NOT_COSIGN).await;

    // Off again: everything is pulled.
    set_meta(&s, "signed", "enable_content_trust_cosign", "false").await;
    allowed(&admin_c, &s, repo, "b").await;
}

#[tokio::test]
async fn notation_signatures_are_required_and_verified() {
    let s = TestServer::start().await;
    create_project(&s, "notary", false).await;
    let repo = "notary/app";
    let (a, ma) = push_image(&s, repo, "a", 4).await;
    let (b, mb) = push_image(&s, repo, "b", 5).await;
    set_meta(&s, "notary", "enable_content_trust", "true").await;
    let c = client();
    refused(&c, &s, repo, "a", NOT_NOTATION).await;
    // A cosign signature does not count for Notation.
    let key = CosignKey::generate();
    push_cosign_signature(&s, repo, &a, &cosign_payload("x/notary/app", &a), &key).await;
    refused(&c, &s, repo, "a", NOT_NOTATION).await;

    let chain = NotationChain::generate();
    let sig = push_notation_signature(&s, repo, &a, ma.len(), &a, &chain).await;
    allowed(&c, &s, repo, "a").await;
    allowed(&c, &s, repo, &sig).await;
    // b's signature claims a's digest.
    push_notation_signature(&s, repo, &b, mb.len(), &a, &chain).await;
    allowed(&c, &s, repo, "b").await;
    assert_eq!(
        status(&s, "notary", "app", "a").await,
        json!({"signed": true, "verified": false, "kinds": ["cosign", "notation"]})
    );

    // Another root: nothing verifies. The signing root: a verifies, b (tampered) not.
    let other = NotationChain::generate();
    trust(&s, "notary", "notation", "other-ca", &other.root_pem).await;
    refused(&c, &s, repo, "a", NOT_NOTATION).await;
    trust(&s, "notary", "notation", "ca", &chain.root_pem).await;
    allowed(&c, &s, repo, "a").await;
    refused(&c, &s, repo, "b", NOT_NOTATION).await;
    assert_eq!(status(&s, "notary", "app", "a").await["key"], "ca");

    // Both policies: a needs a cosign signature too (it has one; no cosign keys).
    set_meta(&s, "notary", "enable_content_trust_cosign", "true").await;
    allowed(&c, &s, repo, "a").await;
    let _ = b;
}

#[tokio::test]
async fn keys_are_checked_and_only_project_admins_change_them() {
    let s = TestServer::start().await;
    create_project(&s, "keys", false).await;
    let path = "/api/v2.0/projects/keys/signature/keys";
    let bad = |kind: &str, name: &str, pem: &str| json!({"kind": kind, "name": name, "pem": pem});
    let key = CosignKey::generate();
    for (body, says) in [
        (
            bad("cosign", "k", "not a key"),
            "no PEM \"PUBLIC KEY\" block",
        ),
        (
            bad("cosign", "k", &key.private_pem()),
            "no PEM \"PUBLIC KEY\" block",
        ),
        (
            bad(
                "cosign",
                "k",
                "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
            ),
            "not an ECDSA P-256 public key",
        ),
        (
            bad("cosign", "k", &KeyPairPem::p384()),
            "not an ECDSA P-256 public key",
        ),
        (
            bad("notation", "k", &key.public_pem()),
            "no PEM \"CERTIFICATE\" block",
        ),
        (bad("gpg", "k", &key.public_pem()), "unknown signature kind"),
        (
            bad("cosign", "has space", &key.public_pem()),
            "invalid key name",
        ),
    ] {
        let r = admin(&s, Method::POST, path, Some(body.clone())).await;
        let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
        let message = e["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    let r = admin(&s, Method::POST, path, Some(json!({"kind": "cosign"}))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let id = trust(&s, "keys", "cosign", "ci", &key.public_pem()).await;
    // The same key, or the same name, again: 409.
    let r = admin(
        &s,
        Method::POST,
        path,
        Some(bad("cosign", "ci2", &key.public_pem())),
    )
    .await;
    harbor_error(r, StatusCode::CONFLICT, "CONFLICT").await;
    let other = CosignKey::generate();
    let r = admin(
        &s,
        Method::POST,
        path,
        Some(bad("cosign", "ci", &other.public_pem())),
    )
    .await;
    harbor_error(r, StatusCode::CONFLICT, "CONFLICT").await;

    // Members read; only project administrators change.
    create_user(&s, "maint").await;
    add_member(&s, "keys", "maint", 4).await;
    create_user(&s, "stranger").await;
    let m = as_user("maint", PASSWORD);
    let list: Vec<Value> = get_json(&m, &s, path).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "ci");
    let fingerprint = list[0]["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["pem"], key.public_pem().trim().to_owned() + "\n");
    let r = send(
        &m,
        &s,
        Method::POST,
        path,
        Some(bad("cosign", "m", &other.public_pem())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&m, &s, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A private project is not found for strangers.
    let r = get(&as_user("stranger", PASSWORD), &s, path).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = admin(&s, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = admin(&s, Method::DELETE, &format!("{path}/{id}"), None).await;
    harbor_error(r, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let r = admin(&s, Method::DELETE, &format!("{path}/x"), None).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let list: Vec<Value> = get_json(&client(), &s, path).await;
    assert!(list.is_empty());

    // The addition and the removal are audited, in the project's log too, by who did
    // them; refused changes are not.
    let query = "q=resource_type%3Dsignature_key";
    wait_audit(&s, query, |e| e["operation"] == "delete").await;
    for logs in [
        format!("/api/v2.0/audit-logs?{query}"),
        format!("/api/v2.0/projects/keys/logs?{query}"),
    ] {
        let entries: Vec<Value> = get_json(&client(), &s, &logs).await;
        let mut seen: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e["operation"].as_str().unwrap(),
                    e["resource"].as_str().unwrap(),
                    e["username"].as_str().unwrap(),
                )
            })
            .collect();
        seen.sort();
        let resource = format!("keys:ci (cosign {fingerprint})");
        assert_eq!(
            seen,
            [
                ("create", resource.as_str(), "admin"),
                ("delete", resource.as_str(), "admin")
            ],
            "{logs}"
        );
    }
}

/// Keys of other curves, as PEM.
struct KeyPairPem;

impl KeyPairPem {
    fn p384() -> String {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)
            .unwrap()
            .public_key_pem()
    }
}

/// The scan robot (`scanner-pull`) reads unsigned images: a scan of the fixture Debian
/// image by the built-in scanner succeeds under the cosign policy that refuses everyone
/// else.
#[tokio::test]
async fn the_scan_robot_pulls_despite_the_policy() {
    let s = super::allowlists::with_scanner().await;
    create_project(&s, "scanned", false).await;
    super::scanner::push_debian(&s, "scanned/app").await;
    set_meta(&s, "scanned", "enable_content_trust_cosign", "true").await;
    refused(&client(), &s, "scanned/app", "1", NOT_COSIGN).await;
    let findings = super::allowlists::scan(&s, "scanned/app").await;
    assert_eq!(findings.as_array().unwrap().len(), 15);
}
