//! The token service and Bearer authentication on `/v2/`: challenges, grants, and tokens
//! that must be refused (forged, stale, escalated, or of accounts that are gone).

use harbor_auth::token::{Access, Claims, SigningKey, TokenService};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

fn challenge(r: &reqwest::Response) -> String {
    header(r.headers(), "www-authenticate")
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn challenges_name_the_realm_service_and_scope() {
    let s = TestServer::start_strict().await;
    let realm = format!(
        "Bearer realm=\"http://{}/service/token\",service=\"harbor-registry\"",
        s.addr
    );
    let r = get(&anon_client(), &s, "/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&r), realm);
    for (method, path, actions) in [
        (Method::GET, "/v2/library/app/manifests/v1", "pull"),
        (
            Method::HEAD,
            "/v2/library/app/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "pull",
        ),
        (Method::POST, "/v2/library/app/blobs/uploads/", "pull,push"),
        (Method::PUT, "/v2/library/app/manifests/v1", "pull,push"),
        (Method::DELETE, "/v2/library/app/manifests/v1", "delete"),
    ] {
        let r = send(&anon_client(), &s, method.clone(), path, None).await;
        // library is public, so an anonymous HEAD/GET passes authorisation (and 404s);
        // writes are challenged with the scope to ask for.
        if method == Method::GET || method == Method::HEAD {
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
            continue;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(
            challenge(&r),
            format!("{realm},scope=\"repository:library/app:{actions}\"")
        );
    }
    // Catalog and wrong credentials: Basic challenge.
    let r = get(&anon_client(), &s, "/v2/_catalog").await;
    assert_eq!(challenge(&r), "Basic realm=\"harbor\"");
    let r = get(&as_user("admin", "Wrong-passw0rd"), &s, "/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&r), "Basic realm=\"harbor\"");
    // A hostile Host header does not leak into the challenge.
    let r = get_with(&anon_client(), &s, "/v2/", ("host", "a\",b=\"c")).await;
    assert!(
        challenge(&r).contains("realm=\"http://localhost/service/token\""),
        "{}",
        challenge(&r)
    );

    // The configured external URL wins.
    let tmp = tempfile::tempdir().unwrap();
    let s2 = TestServer::start_with(tmp.path(), |c| {
        c.auth.external_url = Some("https://registry.example.com".into())
    })
    .await;
    let r = get(&anon_client(), &s2, "/v2/").await;
    assert_eq!(
        challenge(&r),
        "Bearer realm=\"https://registry.example.com/service/token\",service=\"harbor-registry\""
    );
}

#[tokio::test]
async fn tokens_grant_what_rbac_allows() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_user(&s, "dev").await;
    create_user(&s, "outsider").await;
    add_member(&s, "team", "dev", 2).await;
    let dev = Some(("dev", PASSWORD));
    let t = token(&s, dev, "repository:team/app:pull,push,delete").await;
    assert_eq!(
        granted(&t, "team/app"),
        ["pull", "push"],
        "developers may not delete"
    );
    assert_eq!(t["token"], t["access_token"]);
    assert_eq!(t["expires_in"], 1800);
    assert!(t["issued_at"].as_str().unwrap().ends_with('Z'));
    // As in Harbor, every allowed action, whatever was asked (clients reuse the token of
    // their first, pull, challenge to push).
    let t = token(&s, dev, "repository:team/app:pull").await;
    assert_eq!(granted(&t, "team/app"), ["pull", "push"]);
    // A private project and a missing one look the same to outsiders: nothing granted.
    let out = Some(("outsider", PASSWORD));
    for repo in ["team/app", "ghost/app"] {
        let t = token(&s, out, &format!("repository:{repo}:pull,push")).await;
        assert!(granted(&t, repo).is_empty(), "{repo}");
    }
    // Anonymous: pull on public projects only.
    let t = token(&s, None, "repository:library/app:pull,push").await;
    assert_eq!(granted(&t, "library/app"), ["pull"]);
    let t = token(&s, None, "repository:team/app:pull").await;
    assert!(granted(&t, "team/app").is_empty());
    // Several scopes at once; the catalog for administrators only.
    let t = token(
        &s,
        Some(("admin", ADMIN_PASSWORD)),
        "repository:team/app:delete registry:catalog:*",
    )
    .await;
    assert_eq!(granted(&t, "team/app"), ["pull", "push", "delete"]);
    assert_eq!(granted(&t, "catalog"), ["*"]);
    let t = token(&s, dev, "registry:catalog:*").await;
    assert!(granted(&t, "catalog").is_empty());
    // Errors: anonymous without scope, bad credentials, unknown service, malformed scope.
    let svc = "/service/token?service=harbor-registry";
    let r = get(&anon_client(), &s, svc).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let wrong = as_user("dev", "Wrong-passw0rd");
    let r = get(&wrong, &s, &format!("{svc}&scope=repository:team/app:pull")).await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let dev_client = as_user("dev", PASSWORD);
    let other_svc = "/service/token?service=other&scope=repository:team/app:pull";
    let r = get(&dev_client, &s, other_svc).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    let r = get(&dev_client, &s, &format!("{svc}&scope=nonsense")).await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    // A signed-in user without scope gets a token (docker login does this).
    assert_eq!(status_of(&dev_client, &s, svc).await, StatusCode::OK);

    // The token works for what it grants.
    let t = token(&s, dev, "repository:team/app:pull,push").await;
    let b = bearer(t["token"].as_str().unwrap());
    let (m, _, _) = push_image_blobs(&s, "team/app", 9).await;
    let r = put_manifest_as(&b, &s, "team/app", "v1", &m).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v1 = "/v2/team/app/manifests/v1";
    assert_eq!(status_of(&b, &s, v1).await, StatusCode::OK);
    assert_eq!(status_of(&b, &s, "/v2/").await, StatusCode::OK);
}

#[tokio::test]
async fn forged_stale_and_escalated_tokens_are_refused() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_project(&s, "other", false).await;
    seed_image(&s, "team/app", "v1").await;
    seed_image(&s, "other/app", "v1").await;
    let guest_id = create_user(&s, "guest").await;
    add_member(&s, "team", "guest", 3).await;
    add_member(&s, "other", "guest", 3).await;
    let key = SigningKey::from_pkcs8(&s.token_signing_key().await).unwrap();
    let now = (harbor_core::model::now_ms() / 1000) as u64;
    let pull = |repo: &str| {
        vec![Access {
            kind: "repository".into(),
            name: repo.into(),
            actions: vec!["pull".into()],
        }]
    };
    let refused = |t: String, path: &'static str| {
        let url = s.url(path);
        async move {
            let r = bearer(&t).get(url).send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "token accepted on {path}"
            );
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
        }
    };
    let issue = |ts: &TokenService, at: u64| {
        ts.issue("guest", Some(guest_id), pull("team/app"), at)
            .unwrap()
            .token
    };
    let v1 = "/v2/team/app/manifests/v1";
    // Sanity: a genuine token from the same key works.
    let svc = TokenService::new(key.clone(), std::time::Duration::from_secs(1800));
    let good = issue(&svc, now);
    assert_eq!(status_of(&bearer(&good), &s, v1).await, StatusCode::OK);
    // Expired (beyond the 60 s leeway) and not yet valid.
    let short = TokenService::new(key.clone(), std::time::Duration::from_secs(60));
    refused(issue(&short, now - 600), v1).await;
    refused(issue(&svc, now + 3600), v1).await;
    // Signed with another key.
    let other_key = SigningKey::generate().unwrap();
    let other = TokenService::new(other_key, std::time::Duration::from_secs(1800));
    refused(issue(&other, now), v1).await;
    // Wrong audience or issuer, signed with the right key.
    let enc = jsonwebtoken::EncodingKey::from_ec_der(key.pkcs8());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid().to_owned());
    let claims = |iss: &str, aud: &str| Claims {
        iss: iss.into(),
        sub: "guest".into(),
        aud: aud.into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: "x".into(),
        access: pull("team/app"),
        account_id: Some(guest_id),
    };
    let forged = |c: Claims| jsonwebtoken::encode(&header, &c, &enc).unwrap();
    refused(forged(claims("harbor-token-issuer", "someone-else")), v1).await;
    refused(forged(claims("evil-issuer", "harbor-registry")), v1).await;
    // alg: none.
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&serde_json::to_value(claims("harbor-token-issuer", "harbor-registry")).unwrap())
    );
    refused(none, v1).await;
    // Garbage.
    refused("not.a.jwt".into(), v1).await;

    // Scope escalation: a token for team/app used on other/app (where the guest may pull
    // too); a pull-only token used to push.
    let guest = Some(("guest", PASSWORD));
    let t = token(&s, guest, "repository:team/app:pull").await;
    let t = t["token"].as_str().unwrap().to_owned();
    let r = get(&bearer(&t), &s, "/v2/other/app/manifests/v1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).contains("error=\"insufficient_scope\""));
    assert!(challenge(&r).contains("scope=\"repository:other/app:pull\""));
    let r = post(&bearer(&t), &s, "/v2/team/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = get(&bearer(&t), &s, "/v2/_catalog").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A guest asking for push gets pull only, so the push still fails.
    let t2 = token(&s, guest, "repository:team/app:pull,push").await;
    assert_eq!(granted(&t2, "team/app"), ["pull"]);

    // The token of a deleted user dies with the user.
    assert_eq!(status_of(&bearer(&t), &s, v1).await, StatusCode::OK);
    let users: Vec<Value> = get_json(&client(), &s, "/api/v2.0/users?q=username%3Dguest").await;
    let id = users[0]["user_id"].as_i64().unwrap();
    let r = admin(&s, Method::DELETE, &format!("/api/v2.0/users/{id}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    refused(t, v1).await;

    // The token of a disabled robot dies with it.
    let (rid, login, secret) = create_robot(&s, "team", "bot", &[("repository", "pull")]).await;
    let rt = token(&s, Some((&login, &secret)), "repository:team/app:pull").await;
    let rt = rt["token"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&bearer(&rt), &s, v1).await, StatusCode::OK);
    let path = format!("/api/v2.0/robots/{rid}");
    let r = admin(&s, Method::PUT, &path, Some(json!({"disable": true}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    refused(rt, v1).await;
    // Registry tokens are not API credentials.
    let r = get(&bearer(&good), &s, "/api/v2.0/users/current").await;
    harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn private_projects_reveal_nothing() {
    let s = TestServer::start_strict().await;
    create_project(&s, "secret", false).await;
    seed_image(&s, "secret/app", "v1").await;
    create_user(&s, "outsider").await;
    let out = as_user("outsider", PASSWORD);
    // Existing and missing repositories and projects answer alike.
    let mut anon = Vec::new();
    let mut user = Vec::new();
    for path in [
        "/v2/secret/app/manifests/v1",
        "/v2/secret/nope/manifests/v1",
        "/v2/ghost/app/manifests/v1",
        "/v2/secret/app/tags/list",
    ] {
        let r = get(&anon_client(), &s, path).await;
        anon.push((r.status(), r.text().await.unwrap()));
        let r = get(&out, &s, path).await;
        user.push((r.status(), r.text().await.unwrap().replace(path, "")));
    }
    assert!(
        anon.iter().all(|(st, _)| *st == StatusCode::UNAUTHORIZED),
        "{anon:?}"
    );
    assert!(
        user.iter().all(|(st, _)| *st == StatusCode::FORBIDDEN),
        "{user:?}"
    );
    let bodies: std::collections::BTreeSet<String> = anon.into_iter().map(|(_, b)| b).collect();
    assert_eq!(bodies.len(), 1, "identical bodies: {bodies:?}");
    // A public project allows anonymous pulls.
    create_project(&s, "open", true).await;
    seed_image(&s, "open/app", "v1").await;
    for path in ["/v2/open/app/manifests/v1", "/v2/open/app/tags/list"] {
        assert_eq!(status_of(&anon_client(), &s, path).await, StatusCode::OK);
    }
    // ... but no anonymous push or delete there.
    let r = post(&anon_client(), &s, "/v2/open/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_die_with_their_project() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    create_user(&s, "dev").await;
    add_member(&s, "team", "dev", 2).await;
    let t = token(&s, Some(("dev", PASSWORD)), "repository:team/app:pull,push").await;
    assert_eq!(granted(&t, "team/app"), ["pull", "push"]);
    let t = t["token"].as_str().unwrap().to_owned();
    let tags = "/v2/team/app/tags/list";
    // Valid for the project it was issued for: the repository is just empty.
    let r = get(&bearer(&t), &s, tags).await;
    expect_error(r, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
    // Token times are whole seconds: let the recreated project be clearly younger.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = admin(&s, Method::DELETE, "/api/v2.0/projects/team", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    create_project(&s, "team", false).await;
    // The new "team" has no member "dev": the old token grants nothing in it.
    let r = get(&bearer(&t), &s, tags).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).contains("error=\"insufficient_scope\""));
    let r = post(&bearer(&t), &s, "/v2/team/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_push_that_auto_creates_its_project_keeps_its_token() {
    let s = TestServer::start().await;
    create_user(&s, "dev").await;
    let t = token(
        &s,
        Some(("dev", PASSWORD)),
        "repository:fresh/app:pull,push",
    )
    .await;
    assert_eq!(granted(&t, "fresh/app"), ["pull", "push"]);
    let t = t["token"].as_str().unwrap().to_owned();
    // The client pauses between its token and its first push (slow layers, say).
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let blob = data(1000, 3);
    let digest = sha256(&blob);
    let r = bearer(&t)
        .post(s.url(&format!("/v2/fresh/app/blobs/uploads/?digest={digest}")))
        .body(blob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The project now exists, created after the token was issued, and owned by "dev".
    let p: Value = get_json(&client(), &s, "/api/v2.0/projects/fresh").await;
    assert_eq!(p["owner_name"], "dev");
    let r = bearer(&t)
        .head(s.url(&format!("/v2/fresh/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// A deleted account's registry tokens and sessions stay dead when an account of the same
/// name is created again (with fewer rights): tokens name the account's id, not only its
/// name, so delete-and-recreate is a safe rotation.
#[tokio::test]
async fn tokens_of_deleted_accounts_do_not_revive() {
    let s = TestServer::start_strict().await;
    create_project(&s, "team", false).await;
    seed_image(&s, "team/app", "v1").await;
    let v1 = "/v2/team/app/manifests/v1";
    let scope = "repository:team/app:pull,push";

    // A robot: deleted, then a robot of the same name that may only pull.
    let push_pull = [("repository", "push"), ("repository", "pull")];
    let (rid, login, secret) = create_robot(&s, "team", "ci", &push_pull).await;
    let old = token(&s, Some((&login, &secret)), scope).await;
    assert_eq!(granted(&old, "team/app"), ["pull", "push"]);
    let old = old["token"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&bearer(&old), &s, v1).await, StatusCode::OK);
    let r = admin(&s, Method::DELETE, &format!("/api/v2.0/robots/{rid}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        status_of(&bearer(&old), &s, v1).await,
        StatusCode::UNAUTHORIZED
    );
    let (_, login2, secret2) = create_robot(&s, "team", "ci", &[("repository", "pull")]).await;
    assert_eq!(login2, login);
    assert_eq!(
        status_of(&bearer(&old), &s, v1).await,
        StatusCode::UNAUTHORIZED
    );
    let r = post(&bearer(&old), &s, "/v2/team/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The new robot's own token works, with its own rights.
    let new = token(&s, Some((&login2, &secret2)), scope).await;
    assert_eq!(granted(&new, "team/app"), ["pull"]);
    let new = new["token"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&bearer(&new), &s, v1).await, StatusCode::OK);

    // A user: a token and a portal session, deleted, then a guest of the same name.
    let uid = create_user(&s, "dev").await;
    add_member(&s, "team", "dev", 2).await;
    let old = token(&s, Some(("dev", PASSWORD)), scope).await;
    let old = old["token"].as_str().unwrap().to_owned();
    let login = anon_client()
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal=dev&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let sid = header(login.headers(), "set-cookie").unwrap();
    let sid = sid.split(';').next().unwrap().to_owned();
    let me = |sid: String| {
        let url = s.url("/api/v2.0/users/current");
        async move {
            anon_client()
                .get(url)
                .header("cookie", sid)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(sid.clone()).await, StatusCode::OK);
    let r = admin(&s, Method::DELETE, &format!("/api/v2.0/users/{uid}"), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    create_user(&s, "dev").await;
    add_member(&s, "team", "dev", 3).await;
    assert_eq!(
        status_of(&bearer(&old), &s, v1).await,
        StatusCode::UNAUTHORIZED
    );
    let r = post(&bearer(&old), &s, "/v2/team/app/blobs/uploads/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me(sid).await, StatusCode::UNAUTHORIZED);
    // A token without an account id (as issued before this rule) names no account.
    let key = SigningKey::from_pkcs8(&s.token_signing_key().await).unwrap();
    let svc = TokenService::new(key, std::time::Duration::from_secs(600));
    let now = (harbor_core::model::now_ms() / 1000) as u64;
    let access = vec![Access {
        kind: "repository".into(),
        name: "team/app".into(),
        actions: vec!["pull".into()],
    }];
    let unbound = svc.issue("admin", None, access, now).unwrap().token;
    assert_eq!(
        status_of(&bearer(&unbound), &s, v1).await,
        StatusCode::UNAUTHORIZED
    );
}

/// A cross-repository mount's challenge asks for the source's pull scope too, so a client
/// that follows it (as Docker's does: one token for every scope of the challenge) mounts
/// instead of uploading again.
#[tokio::test]
async fn a_mount_challenge_names_the_source_and_following_it_mounts() {
    let s = TestServer::start_strict().await;
    create_project(&s, "src", false).await;
    create_project(&s, "dst", false).await;
    let layer = b"a layer worth mounting".to_vec();
    let digest = push_blob(&s, "src/app", &layer).await;
    create_user(&s, "dev").await;
    add_member(&s, "src", "dev", 3).await; // guest: pull only
    add_member(&s, "dst", "dev", 2).await; // developer: push
    let path = format!("/v2/dst/app/blobs/uploads/?mount={digest}&from=src/app");
    let r = post(&anon_client(), &s, &path).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge(&r);
    assert!(
        c.ends_with(",scope=\"repository:dst/app:pull,push repository:src/app:pull\""),
        "{c}"
    );
    // Follow it: one token for both scopes, as the challenge asks.
    let scope = c.split("scope=\"").nth(1).unwrap().trim_end_matches('"');
    let t = token(&s, Some(("dev", PASSWORD)), scope).await;
    assert_eq!(granted(&t, "dst/app"), ["pull", "push"]);
    assert_eq!(granted(&t, "src/app"), ["pull"]);
    let r = post(&bearer(t["token"].as_str().unwrap()), &s, &path).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "mounted, not uploaded again"
    );
    assert_eq!(
        header(r.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    // A mount without `from`, or from the target itself, asks for nothing more.
    let own = format!("/v2/dst/app/blobs/uploads/?mount={digest}&from=dst/app");
    let c = challenge(&post(&anon_client(), &s, &own).await);
    assert!(
        c.ends_with(",scope=\"repository:dst/app:pull,push\""),
        "{c}"
    );
}
