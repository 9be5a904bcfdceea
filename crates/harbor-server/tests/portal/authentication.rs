//! Administration > Authentication: the sign-in settings' form over HTTP as a browser
//! posts it (checked against the REST API), the LDAP test against a real slapd, and a
//! directory user signing in to the portal afterwards.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::{self, ADMIN_PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};
use crate::ldap_server::{self, PEOPLE, READER, Slapd};

async fn config(s: &TestServer) -> Value {
    let r = common::send(
        &common::client(),
        s,
        Method::GET,
        "/api/v2.0/configurations",
        None,
    )
    .await;
    r.json().await.unwrap()
}

#[tokio::test]
async fn administrators_set_up_ldap_sign_in_from_the_portal() {
    let Some(slapd) = Slapd::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/authentication").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/admin/authentication\""), "menu link");
    assert!(page.contains("name=\"ldap_url\""), "{page}");
    let t = token(&page);
    let mut form = vec![
        ("_csrf", t.clone()),
        ("auth_mode", "db_auth".to_owned()),
        ("ldap_url", slapd.url.clone()),
        ("ldap_search_dn", READER.0.to_owned()),
        ("ldap_search_password", READER.1.to_owned()),
        ("ldap_base_dn", PEOPLE.to_owned()),
        ("ldap_filter", "(objectClass=inetOrgPerson)".to_owned()),
        ("ldap_uid", "uid".to_owned()),
        ("ldap_scope", "2".to_owned()),
        ("ldap_group_search_scope", "2".to_owned()),
        ("ldap_timeout", "5".to_owned()),
        ("ldap_verify_cert", "true".to_owned()),
        ("oidc_scope", "openid,offline_access".to_owned()),
    ];
    let post_form = |path: &'static str, f: Vec<(&'static str, String)>| {
        let (s, admin) = (&s, admin.clone());
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = post(s, &admin, path, &pairs).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
            flash_of(&r)
        }
    };

    // The LDAP test tries the form's fields (not saved), with the typed password.
    let flash = post_form("/admin/authentication/ldap-ping", form.clone()).await;
    assert!(flash.starts_with("ok:LDAP works"), "{flash}");
    let mut wrong = form.clone();
    wrong[4].1 = "wrong".into();
    let flash = post_form("/admin/authentication/ldap-ping", wrong).await;
    assert!(flash.starts_with("ok:LDAP failed"), "{flash}");

    // Saved: the API shows the fields, never the password; a bad field is refused by name
    // and changes nothing.
    let flash = post_form("/admin/authentication", form.clone()).await;
    assert!(
        flash.starts_with("ok:Authentication settings saved"),
        "{flash}"
    );
    let c = config(&s).await;
    assert_eq!(c["ldap_url"]["value"], slapd.url.as_str());
    assert_eq!(c["ldap_uid"]["value"], "uid");
    assert_eq!(c["ldap_starttls"]["value"], false, "unticked is off");
    assert!(c.get("ldap_search_password").is_none());
    let mut bad = form.clone();
    bad[2].1 = "http://nowhere".into();
    let flash = post_form("/admin/authentication", bad).await;
    assert!(
        flash.starts_with("err:") && flash.contains("ldap_url"),
        "{flash}"
    );
    assert_eq!(config(&s).await["ldap_url"]["value"], slapd.url.as_str());

    // The mode: LDAP; an empty password field keeps the stored one; a directory user
    // signs in to the portal.
    form[1].1 = "ldap_auth".into();
    form[4].1 = String::new();
    let flash = post_form("/admin/authentication", form.clone()).await;
    assert!(flash.starts_with("ok:"), "{flash}");
    assert_eq!(config(&s).await["auth_mode"]["value"], "ldap_auth");
    let alice = sign_in(&s, "alice", &ldap_server::password("alice")).await;
    let (status, page) = get(&s, &alice, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("alice"), "signed in as alice");
    // A non-administrator is refused the page's data.
    let (status, _) = get(&s, &alice, "/admin/authentication").await;
    assert_ne!(status, StatusCode::OK);
}
