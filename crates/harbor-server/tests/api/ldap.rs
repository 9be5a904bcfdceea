//! LDAP sign-in against a real OpenLDAP (`slapd`, `HARBOR_TEST_SLAPD`) on loopback: users
//! of nested organisational units sign in on every endpoint and are onboarded; wrong,
//! empty, ambiguous and injected credentials are refused; the admin account keeps its
//! database password; `/ldap/ping`, user search and import; LDAPS and StartTLS with the
//! certificate verified by default; an unreachable directory is a clear `503`.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::ldap_server::{self, GROUPS, PEOPLE, READER, Slapd};
use crate::support::*;

const CONFIG: &str = "/api/v2.0/configurations";

/// The settings for `url`, users found by `uid` under `ou=people` and below.
fn settings(url: &str) -> Value {
    json!({
        "ldap_url": url,
        "ldap_search_dn": READER.0,
        "ldap_search_password": READER.1,
        "ldap_base_dn": PEOPLE,
        "ldap_filter": "(objectClass=inetOrgPerson)",
        "ldap_uid": "uid",
        "ldap_scope": 2,
        "ldap_group_base_dn": GROUPS,
        "ldap_group_search_filter": "(objectClass=groupOfNames)",
        "ldap_group_admin_dn": format!("cn=admins,{GROUPS}"),
    })
}

/// A server signing users in against `slapd`.
async fn ldap_server(slapd: &Slapd) -> TestServer {
    let s = TestServer::start_strict().await;
    let mut body = settings(&slapd.url);
    body["auth_mode"] = json!("ldap_auth");
    let r = admin(&s, Method::PUT, CONFIG, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    s
}

/// `POST /c/login` with the portal's form.
async fn login(s: &TestServer, user: &str, password: &str) -> Response {
    anon_client()
        .post(s.url("/c/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("principal={user}&password={password}"))
        .send()
        .await
        .unwrap()
}

/// `GET /service/token` with Basic credentials.
async fn token(s: &TestServer, user: &str, password: &str) -> Response {
    as_user(user, password)
        .get(s.url("/service/token?service=harbor-registry"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn directory_users_sign_in_everywhere_and_are_onboarded() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let s = ldap_server(&slapd).await;
    let alice_pw = ldap_server::password("alice");

    // The portal, Basic on the API and the token service all ask the directory.
    assert_eq!(login(&s, "alice", &alice_pw).await.status(), StatusCode::OK);
    let me: Value = get_json(&as_user("alice", &alice_pw), &s, "/api/v2.0/users/current").await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["realname"], "Alice Liddell");
    assert_eq!(me["sysadmin_flag"], false);
    let bob = ldap_server::password("bob");
    assert_eq!(
        token(&s, "bob", &bob).await.status(),
        StatusCode::OK,
        "nested OU"
    );
    let users: Vec<Value> = get_json(&client(), &s, "/api/v2.0/users?page_size=100").await;
    let names: Vec<&str> = users
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{names:?}"
    );
    // A second sign-in reuses the account.
    assert_eq!(token(&s, "alice", &alice_pw).await.status(), StatusCode::OK);
    let again: Vec<Value> = get_json(&client(), &s, "/api/v2.0/users?page_size=100").await;
    assert_eq!(again.len(), users.len());

    // Refused: a wrong password, an unknown user, an empty password (an LDAP bind with
    // one is anonymous), an ambiguous name, filter injection; every answer the same.
    for (user, pw) in [
        ("alice", "wrong-Pw1"),
        ("nobody", "nobody-Pw1"),
        ("alice", ""),
        ("twin", &ldap_server::password("twin")),
        ("*", &alice_pw),
        ("alice)(uid=*", &alice_pw),
    ] {
        let r = token(&s, user, pw).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{user}:{pw}");
        let r = login(&s, user, pw).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{user}:{pw}");
    }

    // admin keeps its database password; directory users get no local password, and
    // none is created here.
    assert_eq!(
        login(&s, "admin", ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
    let r = send(
        &client(),
        &s,
        Method::POST,
        "/api/v2.0/users",
        Some(
            json!({"username": "eve", "email": "eve@example.com", "realname": "Eve",
                    "password": PASSWORD}),
        ),
    )
    .await;
    let e = harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert!(e.to_string().contains("ldap_auth"), "{e}");
    let id = me["user_id"].as_i64().unwrap();
    let r = send(
        &as_user("alice", &alice_pw),
        &s,
        Method::PUT,
        &format!("/api/v2.0/users/{id}/password"),
        Some(json!({"old_password": alice_pw, "new_password": "Another-Pw1"})),
    )
    .await;
    harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // A directory user with project access pushes through the token flow.
    create_project(&s, "team", false).await;
    add_member(&s, "team", "alice", 2).await;
    let r = as_user("alice", &alice_pw)
        .get(s.url("/service/token?service=harbor-registry&scope=repository:team/app:push,pull"))
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    let claims = decode_claims(t["token"].as_str().unwrap());
    assert_eq!(
        claims["access"][0]["actions"],
        json!(["pull", "push"]),
        "{claims}"
    );
}

/// The claims of a JWT, unverified.
fn decode_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    if let Some(a) = v["access"][0]["actions"].as_array_mut() {
        a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    }
    v
}

#[tokio::test]
async fn ping_search_and_import() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let s = TestServer::start_strict().await;
    // Nothing configured: a clear 400.
    let r = admin(&s, Method::GET, "/api/v2.0/ldap/users/search", None).await;
    let e = harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert!(e.to_string().contains("ldap_url"), "{e}");
    let r = admin(&s, Method::PUT, CONFIG, Some(settings(&slapd.url))).await;
    assert_eq!(r.status(), StatusCode::OK);

    // Ping: the stored settings, or fields given over them.
    let ping = |body: Option<Value>| {
        let s = &s;
        async move {
            let r = admin(s, Method::POST, "/api/v2.0/ldap/ping", body).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(ping(None).await["success"], true);
    let bad = ping(Some(json!({"ldap_search_password": "wrong"}))).await;
    assert_eq!(bad["success"], false);
    assert!(
        bad["message"].as_str().unwrap().contains("refused"),
        "{bad}"
    );
    let away = ping(Some(
        json!({"ldap_url": "ldap://127.0.0.1:1", "ldap_connection_timeout": 2}),
    ))
    .await;
    assert_eq!(away["success"], false);
    assert!(
        away["message"].as_str().unwrap().contains("127.0.0.1:1"),
        "{away}"
    );
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/ldap/ping",
        Some(json!({"ldap_url": "http://x"})),
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // Search: a substring of the login name; all without one.
    let found: Vec<Value> =
        get_json(&client(), &s, "/api/v2.0/ldap/users/search?username=ali").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["username"], "alice");
    assert_eq!(found[0]["email"], "alice@example.com");
    assert_eq!(found[0]["realname"], "Alice Liddell");
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/ldap/users/search").await;
    assert_eq!(all.len(), 5, "{all:?}");
    let none: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/ldap/users/search?username=*)(uid=*",
    )
    .await;
    assert!(none.is_empty(), "the pattern is escaped: {none:?}");

    // Import: carol is created; what cannot be imported is a 404 listing why.
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/ldap/users/import",
        Some(json!({"ldap_uid_list": ["carol", "nobody", "twin"]})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let failed: Vec<Value> = r.json().await.unwrap();
    let uids: Vec<&str> = failed.iter().filter_map(|f| f["uid"].as_str()).collect();
    assert_eq!(uids, ["nobody", "twin"]);
    assert!(
        failed
            .iter()
            .all(|f| f["error"].as_str().is_some_and(|e| !e.is_empty()))
    );
    let users: Vec<Value> = get_json(&client(), &s, "/api/v2.0/users?page_size=100").await;
    let carol: Vec<&Value> = users.iter().filter(|u| u["username"] == "carol").collect();
    assert_eq!(carol.len(), 1, "{users:?}");
    assert_eq!(carol[0]["email"], "carol@example.com");
    assert!(
        users
            .iter()
            .all(|u| u["username"] != "nobody" && u["username"] != "twin")
    );
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/ldap/users/import",
        Some(json!({"ldap_uid_list": ["carol"]})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let failed: Vec<Value> = r.json().await.unwrap();
    assert!(
        failed[0]["error"].as_str().unwrap().contains("exists"),
        "{failed:?}"
    );
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/ldap/users/import",
        Some(json!({"ldap_uid_list": []})),
    )
    .await;
    harbor_error(r, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // Groups: by a substring of the name, or by DN; an unknown DN finds none.
    let found: Vec<Value> =
        get_json(&client(), &s, "/api/v2.0/ldap/groups/search?groupname=dev").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["group_name"], "developers");
    assert_eq!(found[0]["group_type"], 1);
    assert_eq!(found[0]["ldap_group_dn"], format!("cn=developers,{GROUPS}"));
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/ldap/groups/search").await;
    assert_eq!(all.len(), 2, "{all:?}");
    let path = format!("/api/v2.0/ldap/groups/search?groupdn=cn%3Dadmins%2C{GROUPS}");
    let by_dn: Vec<Value> = get_json(&client(), &s, &path).await;
    assert_eq!(by_dn.len(), 1);
    assert_eq!(by_dn[0]["group_name"], "admins");
    let path = format!("/api/v2.0/ldap/groups/search?groupdn=cn%3Dnone%2C{GROUPS}");
    let none: Vec<Value> = get_json(&client(), &s, &path).await;
    assert!(none.is_empty(), "{none:?}");

    // System administrators only.
    create_user(&s, "plain").await;
    let c = as_user("plain", PASSWORD);
    for (method, path, body) in [
        (Method::POST, "/api/v2.0/ldap/ping", None),
        (Method::GET, "/api/v2.0/ldap/users/search", None),
        (Method::GET, "/api/v2.0/ldap/groups/search", None),
        (
            Method::POST,
            "/api/v2.0/ldap/users/import",
            Some(json!({"ldap_uid_list": ["alice"]})),
        ),
    ] {
        let r = send(&c, &s, method.clone(), path, body.clone()).await;
        harbor_error(r, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        let r = send(&anon_client(), &s, method, path, body).await;
        harbor_error(r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
}

#[tokio::test]
async fn tls_verifies_the_directory_certificate_by_default() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let s = TestServer::start_strict().await;
    let mut body = settings(&slapd.ldaps_url);
    body["auth_mode"] = json!("ldap_auth");
    let r = admin(&s, Method::PUT, CONFIG, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let pw = ldap_server::password("alice");
    // The self-signed certificate is refused: the sign-in fails with a clear 503, the
    // ping says why.
    let r = login(&s, "alice", &pw).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = r.text().await.unwrap();
    assert!(text.contains("LDAP directory cannot be reached"), "{text}");
    let p: Value = admin(&s, Method::POST, "/api/v2.0/ldap/ping", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["success"], false);
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{p}"
    );
    // Verification off: LDAPS works.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"ldap_verify_cert": false})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(token(&s, "alice", &pw).await.status(), StatusCode::OK);
    // StartTLS on the plain port, verified: refused; unverified: works.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"ldap_url": slapd.url, "ldap_starttls": true, "ldap_verify_cert": true})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = admin(&s, Method::POST, "/api/v2.0/ldap/ping", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["success"], false, "{p}");
    let p: Value = admin(
        &s,
        Method::POST,
        "/api/v2.0/ldap/ping",
        Some(json!({"ldap_verify_cert": false})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(p["success"], true, "{p}");
}

#[tokio::test]
async fn an_unreachable_directory_is_a_clear_error_and_admin_still_signs_in() {
    let s = TestServer::start_strict().await;
    let mut body = settings("ldap://127.0.0.1:1");
    body["auth_mode"] = json!("ldap_auth");
    body["ldap_timeout"] = json!(2);
    let r = admin(&s, Method::PUT, CONFIG, Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = login(&s, "alice", "alice-Pw1").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let r = token(&s, "alice", "alice-Pw1").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = r.text().await.unwrap();
    assert!(text.contains("LDAP directory cannot be reached"), "{text}");
    assert_eq!(
        login(&s, "admin", ADMIN_PASSWORD).await.status(),
        StatusCode::OK
    );
}

/// Groups: a sign-in records the user's directory groups (from `memberOf`, or from a
/// group search when the entry has none) as LDAP user groups; a group's project role
/// reaches the registry through the real token flow (skopeo); `ldap_group_admin_dn`
/// makes a system administrator, until a sign-in without it.
#[tokio::test]
async fn directory_groups_grant_project_access_and_administration() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let skopeo = harbor_storage::testing::service("HARBOR_TEST_SKOPEO", "skopeo");
    let s = ldap_server(&slapd).await;
    let (bob, carol) = (ldap_server::password("bob"), ldap_server::password("carol"));

    // bob's groups come from memberOf; the group is created at his sign-in.
    assert_eq!(token(&s, "bob", &bob).await.status(), StatusCode::OK);
    let groups: Vec<Value> = get_json(&client(), &s, "/api/v2.0/usergroups").await;
    let devs = groups
        .iter()
        .find(|g| g["group_name"] == "developers")
        .unwrap_or_else(|| panic!("{groups:?}"));
    assert_eq!(devs["group_type"], 1);
    assert_eq!(devs["ldap_group_dn"], format!("cn=developers,{GROUPS}"));
    assert!(
        groups.iter().all(|g| g["group_name"] != "admins"),
        "only the groups bob is in: {groups:?}"
    );

    // The group's role in a private project is bob's, on the registry.
    create_project(&s, "team", false).await;
    let body =
        json!({"role_id": 2, "member_group": {"ldap_group_dn": format!("cn=developers,{GROUPS}")}});
    let r = admin(
        &s,
        Method::POST,
        "/api/v2.0/projects/team/members",
        Some(body),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = as_user("bob", &bob)
        .get(s.url("/service/token?service=harbor-registry&scope=repository:team/app:push,pull"))
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    let claims = decode_claims(t["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], json!(["pull", "push"]));
    if let Some(skopeo) = skopeo {
        seed_image(&s, "team/base", "v1").await;
        let dir = tempfile::tempdir().unwrap();
        let local = format!("dir:{}", dir.path().join("img").display());
        let host = format!("127.0.0.1:{}", s.addr.port());
        let creds = format!("bob:{bob}");
        for (from, to) in [
            (format!("docker://{host}/team/base:v1"), local.clone()),
            (local.clone(), format!("docker://{host}/team/app:v1")),
        ] {
            let out = tokio::process::Command::new(&skopeo)
                .args([
                    "copy",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    "--src-creds",
                    &creds,
                    "--dest-creds",
                    &creds,
                    &from,
                    &to,
                ])
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{from} -> {to} through the group: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let tags: Vec<Value> = get_json(
            &client(),
            &s,
            "/api/v2.0/projects/team/repositories/app/artifacts?with_tag=true",
        )
        .await;
        assert_eq!(tags.len(), 1, "bob pushed: {tags:?}");
    }

    // carol is in the administrators' group: a system administrator.
    assert_eq!(login(&s, "carol", &carol).await.status(), StatusCode::OK);
    let me: Value = get_json(&as_user("carol", &carol), &s, "/api/v2.0/users/current").await;
    assert_eq!(me["sysadmin_flag"], true, "{me}");
    let r = send(&as_user("carol", &carol), &s, Method::GET, CONFIG, None).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "an administrator reads the settings"
    );

    // Without the memberOf overlay's attribute, the group search finds the groups.
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"ldap_group_membership_attribute": "businessCategory"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let alice = ldap_server::password("alice");
    assert_eq!(token(&s, "alice", &alice).await.status(), StatusCode::OK);
    let r = as_user("alice", &alice)
        .get(s.url("/service/token?service=harbor-registry&scope=repository:team/app:pull"))
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    let claims = decode_claims(t["token"].as_str().unwrap());
    // The developers' role (granted whatever was asked, as Harbor).
    assert_eq!(
        claims["access"][0]["actions"],
        json!(["pull", "push"]),
        "{claims}"
    );

    // Out of the administrators' group (the admin DN changed): no longer one at the next
    // sign-in (a remembered check is keyed by the settings too).
    let r = admin(
        &s,
        Method::PUT,
        CONFIG,
        Some(json!({"ldap_group_admin_dn": format!("cn=developers,{GROUPS}")})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(login(&s, "carol", &carol).await.status(), StatusCode::OK);
    let me: Value = get_json(&client(), &s, &format!("/api/v2.0/users/{}", me["user_id"])).await;
    assert_eq!(me["sysadmin_flag"], false, "{me}");
}
