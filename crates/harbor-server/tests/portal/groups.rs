//! Administration > Groups and group members on a project's Members tab: the forms posted
//! over HTTP as a browser would (checked against the REST API), and the same walk in
//! Chromium.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
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

async fn group_named(s: &TestServer, name: &str) -> Option<Value> {
    let all = api(s, Method::GET, "/api/v2.0/usergroups?page_size=100", None).await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|g| g["group_name"] == name)
        .cloned()
}

#[tokio::test]
async fn administrators_manage_groups_and_project_admins_add_them() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/groups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No groups."), "{page}");
    assert!(
        page.contains("href=\"/admin/groups\""),
        "the menu links the page"
    );
    let t = token(&page);

    // Create: an HTTP group, an LDAP group with its DN; refusals flash the API's reason.
    let devs = [
        ("_csrf", t.as_str()),
        ("name", "devs"),
        ("group_type", "2"),
        ("ldap_group_dn", ""),
    ];
    expect(&s, &admin, "/admin/groups", &devs, "ok:Group devs created").await;
    expect(&s, &admin, "/admin/groups", &devs, "err:").await;
    let ops = [
        ("_csrf", t.as_str()),
        ("name", "ops"),
        ("group_type", "1"),
        ("ldap_group_dn", "cn=ops,dc=example,dc=com"),
    ];
    expect(&s, &admin, "/admin/groups", &ops, "ok:").await;
    let no_dn = [("_csrf", t.as_str()), ("name", "x"), ("group_type", "1")];
    expect(&s, &admin, "/admin/groups", &no_dn, "err:").await;
    let (_, listed) = get(&s, &admin, "/admin/groups").await;
    assert!(listed.contains("data-group=\"devs\""), "{listed}");
    assert!(listed.contains("cn=ops,dc=example,dc=com"), "{listed}");
    assert!(
        listed.contains("LDAP") && listed.contains("HTTP"),
        "{listed}"
    );
    let (_, filtered) = get(&s, &admin, "/admin/groups?q=op").await;
    assert!(filtered.contains("data-group=\"ops\"") && !filtered.contains("data-group=\"devs\""));

    // Rename.
    let id = group_named(&s, "devs").await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let rename = [("_csrf", t.as_str()), ("name", "builders")];
    expect(
        &s,
        &admin,
        &format!("/admin/groups/{id}/rename"),
        &rename,
        "ok:Group renamed to builders",
    )
    .await;
    assert!(group_named(&s, "builders").await.is_some());

    // A plain user sees the refusal, not the groups.
    common::create_user(&s, "pat").await;
    let pat = sign_in(&s, "pat", PASSWORD).await;
    let (status, page) = get(&s, &pat, "/admin/groups").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("cn=ops"), "{page}");

    // The Members tab: pat, project admin of "team", adds a group by name, changes its
    // role, removes it.
    api(
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "team", "metadata": {"public": "false"}})),
    )
    .await;
    common::add_member(&s, "team", "pat", 1).await;
    let (status, tab) = get(&s, &pat, "/projects/team/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(tab.contains("id=\"add-group\""), "{tab}");
    let pt = token(&tab);
    let add = [
        ("_csrf", pt.as_str()),
        ("group", "builders"),
        ("role_id", "2"),
    ];
    expect(
        &s,
        &pat,
        "/projects/team/members/group",
        &add,
        "ok:The group builders is now a developer",
    )
    .await;
    expect(&s, &pat, "/projects/team/members/group", &add, "err:").await;
    let unknown = [
        ("_csrf", pt.as_str()),
        ("group", "nobody"),
        ("role_id", "2"),
    ];
    expect(
        &s,
        &pat,
        "/projects/team/members/group",
        &unknown,
        "err:No group is named nobody",
    )
    .await;
    let by_id = format!(
        "{}",
        group_named(&s, "ops").await.unwrap()["id"]
            .as_i64()
            .unwrap()
    );
    let add_ops = [
        ("_csrf", pt.as_str()),
        ("group", by_id.as_str()),
        ("role_id", "3"),
    ];
    expect(&s, &pat, "/projects/team/members/group", &add_ops, "ok:").await;
    let (_, tab) = get(&s, &pat, "/projects/team/members").await;
    assert_eq!(
        tab.matches("<td class=\"member-type\">Group</td>").count(),
        2,
        "{tab}"
    );
    let members = api(&s, Method::GET, "/api/v2.0/projects/team/members", None).await;
    let builders = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["entity_name"] == "builders")
        .unwrap();
    assert_eq!(builders["entity_type"], "g");
    assert_eq!(builders["role_id"], 2);
    let mid = builders["id"].as_i64().unwrap();
    let role = [("_csrf", pt.as_str()), ("role_id", "4")];
    expect(
        &s,
        &pat,
        &format!("/projects/team/members/{mid}/role"),
        &role,
        "ok:",
    )
    .await;
    let m = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/projects/team/members/{mid}"),
        None,
    )
    .await;
    assert_eq!(m["role_name"], "maintainer");
    let remove = [("_csrf", pt.as_str())];
    expect(
        &s,
        &pat,
        &format!("/projects/team/members/{mid}/remove"),
        &remove,
        "ok:",
    )
    .await;

    // Deleting a group: the no-script confirmation step first, then the group and its
    // memberships are gone.
    let ops_id: i64 = by_id.parse().unwrap();
    let ask = [("_csrf", t.as_str()), ("_confirm", "Delete the group ops?")];
    let r = post(&s, &admin, &format!("/admin/groups/{ops_id}/delete"), &ask).await;
    assert_eq!(r.status(), StatusCode::OK);
    let question = r.text().await.unwrap();
    assert!(
        question.contains("id=\"confirm-question\">Delete the group ops?"),
        "{question}"
    );
    assert!(group_named(&s, "ops").await.is_some(), "asked, not deleted");
    let yes = [("_csrf", t.as_str())];
    expect(
        &s,
        &admin,
        &format!("/admin/groups/{ops_id}/delete"),
        &yes,
        "ok:Group deleted",
    )
    .await;
    assert!(group_named(&s, "ops").await.is_none());
    let members = api(&s, Method::GET, "/api/v2.0/projects/team/members", None).await;
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["entity_type"] == "u"),
        "{members}"
    );
}

/// The same in Chromium: the Groups page's forms and the Members tab's group form.
#[tokio::test]
async fn groups_in_the_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let base = s.base.clone();
    common::create_project(&s, "web", false).await;
    b.goto(&format!("{base}/login")).await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#whoami", "admin").await;

    b.goto(&format!("{base}/admin/groups")).await;
    b.wait_for("#new-group").await;
    b.fill("#group-name", "designers").await;
    b.submit_form("#new-group").await;
    b.wait_for_text("#flash", "Group designers created").await;
    b.wait_for_text("#groups", "designers").await;
    b.screenshot("groups").await;

    b.goto(&format!("{base}/projects/web/members")).await;
    b.wait_for("#add-group").await;
    b.fill("#group-ref", "designers").await;
    b.submit_form("#add-group").await;
    b.wait_for_text("#flash", "The group designers is now a developer")
        .await;
    b.wait_for_text("#members", "designers").await;
    let types = b.texts("#members .member-type").await;
    assert!(types.iter().any(|t| t == "Group"), "{types:?}");

    // Delete from the Groups page, accepting the question.
    b.goto(&format!("{base}/admin/groups")).await;
    b.wait_for("#groups").await;
    b.accept_confirms().await;
    b.submit_form("#groups form[action$='/delete']").await;
    b.wait_for_text("#flash", "Group deleted").await;
    assert!(!b.source().await.contains("data-group=\"designers\""));
    b.close().await;
    assert!(group_named(&s, "designers").await.is_none());
}
