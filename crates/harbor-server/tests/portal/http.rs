//! The portal over plain HTTP (no browser): sign-in redirects, CSRF, open redirects,
//! permissions, read-only mode and security headers.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode, redirect};

use crate::common::{self, ADMIN_PASSWORD, TestServer};

const FORM: &str = "application/x-www-form-urlencoded";

/// A form body, URL-encoded as browsers send it.
fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the portal's form; returns the `sid=...` cookie pair.
pub(crate) async fn sign_in(s: &TestServer, user: &str, password: &str) -> String {
    let resp = no_redirects()
        .post(s.url("/login"))
        .header(CONTENT_TYPE, FORM)
        .body(encode(&[
            ("username", user),
            ("password", password),
            ("next", "/projects"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign in as {user}");
    let cookie = resp.headers()[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn get(s: &TestServer, cookie: &str, path: &str) -> (StatusCode, String) {
    let resp = no_redirects()
        .get(s.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// The flash message a redirect sets (`ok:...` or `err:...`), decoded.
pub(crate) fn flash_of(r: &reqwest::Response) -> String {
    let c = r.headers()[SET_COOKIE].to_str().unwrap();
    let v = c
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("harbor_flash=");
    form_urlencoded::parse(format!("f={v}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The CSRF token in a page's forms.
pub(crate) fn token(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 20;
    html[at..at + 64].to_owned()
}

pub(crate) async fn post(
    s: &TestServer,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    no_redirects()
        .post(s.url(path))
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, FORM)
        .body(encode(form))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_need_a_session_and_forms_need_its_token() {
    let s = TestServer::start().await;
    let anon = no_redirects()
        .get(s.url("/projects/library/members"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        anon.headers()[LOCATION],
        "/login?next=%2Fprojects%2Flibrary%2Fmembers"
    );
    let headers = anon.headers();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");

    // Wrong password: the form again, with the reason, and no cookie.
    let bad = no_redirects()
        .post(s.url("/login"))
        .header(CONTENT_TYPE, FORM)
        .body(encode(&[("username", "admin"), ("password", "nope")]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers().get(SET_COOKIE).is_none());
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("invalid username or password")
    );

    // `next` is followed only within the site.
    for (next, to) in [
        ("//evil.example/x", "/projects"),
        ("https://evil.example", "/projects"),
        ("/admin/gc", "/admin/gc"),
    ] {
        let r = no_redirects()
            .post(s.url("/login"))
            .header(CONTENT_TYPE, FORM)
            .body(encode(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", next),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()[LOCATION], to, "next={next}");
    }

    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, html) = get(&s, &admin, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("library"));
    let csrf = token(&html);

    // Without the token, or with another, nothing is created.
    for sent in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let r = post(
            &s,
            &admin,
            "/projects",
            &[("name", "forged"), ("_csrf", sent)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("CSRF"));
    }
    let (status, _) = get(&s, &admin, "/projects/forged/repositories").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // With it, the project is created and the next page says so once.
    let r = post(
        &s,
        &admin,
        "/projects",
        &[("name", "real"), ("_csrf", &csrf), ("public", "true")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/projects/real");
    let flash = r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, page) = get(
        &s,
        &format!("{admin}; {flash}"),
        "/projects/real/repositories",
    )
    .await;
    assert!(page.contains("Project real created."), "{page}");
    let (_, again) = get(&s, &admin, "/projects/real/repositories").await;
    assert!(!again.contains("Project real created."));

    // API errors come back as messages: a bad name, a duplicate.
    let r = post(
        &s,
        &admin,
        "/projects",
        &[("name", "Bad Name"), ("_csrf", &csrf)],
    )
    .await;
    let flash = r.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, page) = get(&s, &format!("{admin}; {flash}"), "/projects").await;
    assert!(page.contains("class=\"flash err\""), "{page}");

    // Read-only mode refuses changes made from the portal too.
    let ro = common::send(
        &common::client(),
        &s,
        reqwest::Method::PUT,
        "/api/v2.0/configurations",
        Some(serde_json::json!({"read_only": true})),
    )
    .await;
    assert_eq!(ro.status(), StatusCode::OK);
    let r = post(
        &s,
        &admin,
        "/projects",
        &[("name", "during-ro"), ("_csrf", &csrf)],
    )
    .await;
    let flash = flash_of(&r);
    assert!(
        flash.starts_with("err:") && flash.contains("read only"),
        "{flash}"
    );
    let ro = common::send(
        &common::client(),
        &s,
        reqwest::Method::PUT,
        "/api/v2.0/configurations",
        Some(serde_json::json!({"read_only": false})),
    )
    .await;
    assert_eq!(ro.status(), StatusCode::OK);
    let (status, _) = get(&s, &admin, "/projects/during-ro/repositories").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Signing out ends the session for the API as well.
    let r = post(&s, &admin, "/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(r.headers()[LOCATION], "/login");
    let (status, _) = get(&s, &admin, "/projects").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn members_see_what_their_role_allows() {
    let s = TestServer::start().await;
    common::create_project(&s, "secret", false).await;
    common::create_project(&s, "shared", false).await;
    common::create_user(&s, "guest1").await;
    common::add_member(&s, "shared", "guest1", 3).await;
    let guest = sign_in(&s, "guest1", common::PASSWORD).await;

    let (_, list) = get(&s, &guest, "/projects").await;
    assert!(list.contains("/projects/shared"));
    assert!(
        !list.contains("/projects/secret"),
        "a private project of others stays hidden"
    );
    assert!(
        !list.contains("/admin/users"),
        "no administration links for users"
    );
    let (status, _) = get(&s, &guest, "/projects/secret/repositories").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&s, &guest, "/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A guest sees members but no forms to change them, and the API refuses if forced.
    let (status, members) = get(&s, &guest, "/projects/shared/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(members.contains("guest1"));
    assert!(!members.contains("id=\"add-member\""));
    let csrf = token(&members);
    let r = post(
        &s,
        &guest,
        "/projects/shared/members",
        &[("username", "admin"), ("role_id", "1"), ("_csrf", &csrf)],
    )
    .await;
    let flash = flash_of(&r);
    assert!(flash.starts_with("err:"), "{flash}");
    let r = post(&s, &guest, "/projects/shared/delete", &[("_csrf", &csrf)]).await;
    assert!(flash_of(&r).starts_with("err:"), "{}", flash_of(&r));
    let (status, _) = get(&s, &guest, "/projects/shared/repositories").await;
    assert_eq!(status, StatusCode::OK, "the project is still there");
}

#[tokio::test]
async fn malformed_requests_get_an_error_page() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/gc/not-a-number").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("<!DOCTYPE html>") && page.contains("malformed"),
        "{page}"
    );
    let (status, page) = get(&s, &admin, "/projects?page=minus-one").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("id=\"error\""), "{page}");
    // The API keeps its own JSON errors.
    let api = no_redirects()
        .get(s.url("/api/v2.0/projects/x/members/abc"))
        .send()
        .await
        .unwrap();
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

/// `next` with tabs, newlines and other characters browsers drop or choke on never leads
/// off the site (nor to a 500), and a sign-in form posted from another site (login CSRF)
/// signs no one in, on the portal's `/login` and on `/c/login`.
#[tokio::test]
async fn sign_in_stays_on_site_and_refuses_cross_site_forms() {
    let s = TestServer::start().await;
    for next in [
        "/%09/evil.example",
        "/\t/evil.example",
        "/%0a/evil.example",
        "/%0d%0aSet-Cookie:%20x=y",
        "/%7f/evil.example",
        "/\\evil.example",
        "/ /evil.example",
    ] {
        // As a browser would send the field: the form encoding of the raw value, whose
        // percent signs the server decodes once.
        let raw = form_urlencoded::parse(format!("n={next}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let r = no_redirects()
            .post(s.url("/login"))
            .header(CONTENT_TYPE, FORM)
            .body(encode(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", &raw),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "next={next:?}");
        assert_eq!(r.headers()[LOCATION], "/projects", "next={next:?}");
        let r = no_redirects()
            .get(s.url(&format!("/login?next={next}")))
            .send()
            .await;
        if let Ok(r) = r {
            assert!(r.status().is_success(), "GET next={next:?}: {}", r.status());
            let html = r.text().await.unwrap();
            assert!(!html.contains("evil.example\""), "{html}");
        }
    }

    let host = s.addr.to_string();
    let form = encode(&[("username", "admin"), ("password", ADMIN_PASSWORD)]);
    let session_form = encode(&[("principal", "admin"), ("password", ADMIN_PASSWORD)]);
    for (path, body) in [("/login", &form), ("/c/login", &session_form)] {
        for (name, value) in [
            ("origin", "http://evil.example"),
            ("origin", "null"),
            ("origin", &format!("http://{host}.evil.example")),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ] {
            let r = no_redirects()
                .post(s.url(path))
                .header(CONTENT_TYPE, FORM)
                .header(name, value)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{path} with {name}: {value}"
            );
            assert!(
                r.headers().get(SET_COOKIE).is_none(),
                "{path}: a session was set"
            );
        }
        // The site's own pages, and programs that send neither header, sign in.
        for headers in [
            vec![("origin", format!("http://{host}"))],
            vec![
                ("origin", format!("http://{host}")),
                ("sec-fetch-site", "same-origin".to_owned()),
            ],
            vec![],
        ] {
            let mut req = no_redirects()
                .post(s.url(path))
                .header(CONTENT_TYPE, FORM)
                .body(body.clone());
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            let r = req.send().await.unwrap();
            assert!(r.headers().get(SET_COOKIE).is_some(), "{path} {headers:?}");
        }
    }
}

/// The session cookie of the portal's sign-in is `Secure` when the browser reached the
/// site over HTTPS through a trusted proxy (`X-Forwarded-Proto: https`), not over plain
/// HTTP; a client that is not a trusted proxy cannot claim HTTPS for itself.
#[tokio::test]
async fn the_portal_session_cookie_is_secure_behind_a_trusted_https_proxy() {
    let server = TestServer::start_configured(|c| {
        c.auth.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let s = &server;
    let host = s.addr.to_string();
    // Signs in from `from` as a browser that reached the site with `proto`; returns the
    // session cookie's `Set-Cookie`.
    let sign_in = |from: &'static str, proto: Option<&'static str>| {
        let c = Client::builder()
            .redirect(redirect::Policy::none())
            .local_address(from.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let origin = format!("{}://{host}", proto.unwrap_or("http"));
        let mut req = c
            .post(s.url("/login"))
            .header(CONTENT_TYPE, FORM)
            .header("origin", origin)
            .header("sec-fetch-site", "same-origin")
            .body(encode(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "/projects"),
            ]));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{from} {proto:?}");
            assert_eq!(r.headers()[LOCATION], "/projects");
            let cookie = r
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .find(|v| v.starts_with("sid="))
                .unwrap_or_else(|| panic!("{from} {proto:?}: no session cookie"));
            // The cookie is the session: it opens the portal.
            let (status, _) = get(s, cookie.split(';').next().unwrap(), "/projects").await;
            assert_eq!(status, StatusCode::OK, "{cookie}");
            cookie
        }
    };
    let secure = |cookie: &str| {
        cookie
            .split(';')
            .skip(1)
            .any(|a| a.trim().eq_ignore_ascii_case("secure"))
    };
    let cookie = sign_in("127.0.0.1", Some("https")).await;
    assert!(secure(&cookie), "{cookie}");
    for proto in [None, Some("http")] {
        let cookie = sign_in("127.0.0.1", proto).await;
        assert!(!secure(&cookie), "{proto:?}: {cookie}");
    }
    // 127.0.0.2 is not a trusted proxy: its `X-Forwarded-Proto` is ignored.
    let cookie = sign_in("127.0.0.2", Some("https")).await;
    assert!(!secure(&cookie), "{cookie}");
}
