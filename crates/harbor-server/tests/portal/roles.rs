//! What each project role sees in the portal (plain HTTP, rendered HTML): tabs, buttons
//! and forms follow the caller's permissions, a tab opened by its address says what the
//! role lacks inside the page, and forged posts are still refused by the API.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

/// The project's tabs a role sees, as their last path segment.
const TABS: [&str; 7] = [
    "repositories",
    "members",
    "robots",
    "policies",
    "webhooks",
    "logs",
    "settings",
];

fn tabs_of(page: &str, project: &str) -> Vec<&'static str> {
    let nav = page
        .split("<nav class=\"tabs\"")
        .nth(1)
        .and_then(|rest| rest.split("</nav>").next())
        .expect("the project's tabs");
    TABS.into_iter()
        .filter(|t| nav.contains(&format!("href=\"/projects/{project}/{t}\"")))
        .collect()
}

/// The number in the Repositories column of `project`'s row on the projects list.
fn listed_repos(page: &str, project: &str) -> String {
    let row = page
        .split(&format!("href=\"/projects/{project}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("{project} is listed: {page}"));
    let cell = row
        .split("<td class=\"repos\">")
        .nth(1)
        .expect("a repositories cell");
    cell.split('<').next().unwrap_or_default().to_owned()
}

/// A project with an image and a label, and one user per role.
async fn populate() -> (TestServer, String) {
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    let (digest, _) = common::push_image(&s, "team/app", "v1", 5).await;
    let r = common::send(
        &common::client(),
        &s,
        reqwest::Method::POST,
        "/api/v2.0/labels",
        Some(serde_json::json!({"name": "qa", "scope": "g", "color": "#61717D"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for (user, role) in [
        ("padmin", 1),
        ("maint", 4),
        ("dev", 2),
        ("guest", 3),
        ("lguest", 5),
    ] {
        common::create_user(&s, user).await;
        common::add_member(&s, "team", user, role).await;
    }
    (s, digest)
}

#[tokio::test]
async fn project_tabs_follow_the_role() {
    let (s, _) = populate().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let all = TABS.to_vec();
    for (who, expected) in [
        ("admin", all.clone()),
        ("padmin", all.clone()),
        (
            "maint",
            vec!["repositories", "members", "robots", "policies", "webhooks"],
        ),
        ("dev", vec!["repositories", "members", "robots", "policies"]),
        ("guest", vec!["repositories", "members", "robots"]),
        ("lguest", vec!["repositories"]),
    ] {
        let cookie = if who == "admin" {
            admin.clone()
        } else {
            sign_in(&s, who, PASSWORD).await
        };
        let (status, page) = get(&s, &cookie, "/projects/team/repositories").await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert_eq!(tabs_of(&page, "team"), expected, "{who}'s tabs");
        // The projects list counts the repository for everyone who sees the project.
        let (_, list) = get(&s, &cookie, "/projects").await;
        assert_eq!(listed_repos(&list, "team"), "1", "{who}'s projects list");
    }

    // Tabs a role lacks, opened by address: a 403 inside the layout, with navigation,
    // the project's tabs and what is missing, and none of the tab's content.
    let lguest = sign_in(&s, "lguest", PASSWORD).await;
    let guest = sign_in(&s, "guest", PASSWORD).await;
    for (cookie, path) in [
        (&lguest, "/projects/team/members"),
        (&lguest, "/projects/team/robots"),
        (&lguest, "/projects/team/policies"),
        (&lguest, "/projects/team/logs"),
        (&guest, "/projects/team/logs"),
        (&guest, "/projects/team/policies"),
    ] {
        let (status, page) = get(&s, cookie, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("id=\"not-allowed\""), "{path}: {page}");
        assert!(
            page.contains("id=\"whoami\""),
            "{path}: the layout's navigation"
        );
        assert!(
            page.contains("<nav class=\"tabs\""),
            "{path}: the project's tabs"
        );
        assert!(
            !page.contains("id=\"members\"") && !page.contains("id=\"audit\""),
            "{path}: nothing of the tab"
        );
    }
    let (_, page) = get(&s, &lguest, "/projects/team/members").await;
    assert!(page.contains("Limited guest"), "names the role: {page}");
}

/// (cookie, who, page, markup it shows, markup it must not show)
type Case<'a> = (&'a String, &'a str, &'a str, Vec<&'a str>, Vec<&'a str>);

#[tokio::test]
async fn forms_and_buttons_follow_the_role() {
    let (s, digest) = populate().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let padmin = sign_in(&s, "padmin", PASSWORD).await;
    let maint = sign_in(&s, "maint", PASSWORD).await;
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let guest = sign_in(&s, "guest", PASSWORD).await;
    let lguest = sign_in(&s, "lguest", PASSWORD).await;
    let artifact = format!("/artifact?repo=team/app&ref={digest}");

    let cases: Vec<Case> = vec![
        // Members: project admins manage them; others read.
        (
            &padmin,
            "padmin",
            "/projects/team/members",
            vec!["id=\"add-member\"", "/remove\"", "name=\"role_id\""],
            vec![],
        ),
        (
            &maint,
            "maint",
            "/projects/team/members",
            vec!["id=\"members\""],
            vec!["id=\"add-member\"", "/remove\"", "Change role"],
        ),
        (
            &guest,
            "guest",
            "/projects/team/members",
            vec!["id=\"members\""],
            vec!["id=\"add-member\"", "/remove\"", "Change role"],
        ),
        // Robots: only project admins may create or delete them.
        (
            &admin,
            "admin",
            "/projects/team/robots",
            vec!["id=\"new-robot\""],
            vec![],
        ),
        (
            &padmin,
            "padmin",
            "/projects/team/robots",
            vec!["id=\"new-robot\""],
            vec![],
        ),
        (
            &maint,
            "maint",
            "/projects/team/robots",
            vec!["No robot accounts"],
            vec!["id=\"new-robot\""],
        ),
        (
            &dev,
            "dev",
            "/projects/team/robots",
            vec!["No robot accounts"],
            vec!["id=\"new-robot\""],
        ),
        // Policies: maintainers manage both; developers retention only.
        (
            &maint,
            "maint",
            "/projects/team/policies",
            vec!["id=\"add-immutable\"", "id=\"set-retention\""],
            vec![],
        ),
        (
            &dev,
            "dev",
            "/projects/team/policies",
            vec!["id=\"set-retention\""],
            vec!["id=\"add-immutable\"", "Tag immutability"],
        ),
        // Configuration: a form for project admins, a read-only view for the rest.
        (
            &padmin,
            "padmin",
            "/projects/team/settings",
            vec![
                "id=\"project-settings\"",
                "action=\"/projects/team/delete\"",
            ],
            vec!["id=\"read-only-settings\""],
        ),
        (
            &dev,
            "dev",
            "/projects/team/settings",
            vec!["id=\"read-only-settings\"", "Private: members only"],
            vec![
                "id=\"project-settings\"",
                "name=\"public\"",
                "action=\"/projects/team/delete\"",
            ],
        ),
        (
            &lguest,
            "lguest",
            "/projects/team/settings",
            vec!["id=\"read-only-settings\""],
            vec![
                "id=\"project-settings\"",
                "action=\"/projects/team/delete\"",
            ],
        ),
        // A repository: deleting needs maintainer or project admin.
        (
            &maint,
            "maint",
            "/repo?name=team/app",
            vec!["action=\"/artifact/delete\"", "action=\"/repo/delete\""],
            vec![],
        ),
        (
            &dev,
            "dev",
            "/repo?name=team/app",
            vec!["id=\"artifacts\""],
            vec!["action=\"/artifact/delete\"", "action=\"/repo/delete\""],
        ),
        (
            &guest,
            "guest",
            "/repo?name=team/app",
            vec!["id=\"artifacts\""],
            vec!["action=\"/artifact/delete\"", "action=\"/repo/delete\""],
        ),
        // An artifact: tags, labels and deletion by role.
        (
            &admin,
            "admin",
            &artifact,
            vec![
                "id=\"add-tag\"",
                "action=\"/artifact/untag\"",
                "action=\"/artifact/label\"",
                "action=\"/artifact/delete\"",
            ],
            vec![],
        ),
        (
            &maint,
            "maint",
            &artifact,
            vec![
                "id=\"add-tag\"",
                "action=\"/artifact/untag\"",
                "action=\"/artifact/label\"",
                "action=\"/artifact/delete\"",
            ],
            vec![],
        ),
        (
            &dev,
            "dev",
            &artifact,
            vec!["id=\"add-tag\"", "action=\"/artifact/label\""],
            vec!["action=\"/artifact/untag\"", "action=\"/artifact/delete\""],
        ),
        (
            &guest,
            "guest",
            &artifact,
            vec!["id=\"tags\""],
            vec![
                "id=\"add-tag\"",
                "action=\"/artifact/untag\"",
                "action=\"/artifact/label\"",
                "action=\"/artifact/delete\"",
            ],
        ),
        (
            &lguest,
            "lguest",
            &artifact,
            vec!["id=\"tags\""],
            vec![
                "id=\"add-tag\"",
                "action=\"/artifact/untag\"",
                "action=\"/artifact/label\"",
                "action=\"/artifact/delete\"",
            ],
        ),
    ];
    for (cookie, who, path, present, absent) in &cases {
        let (status, page) = get(&s, cookie, path).await;
        assert_eq!(status, StatusCode::OK, "{who} {path}: {page}");
        for p in present {
            assert!(page.contains(p), "{who} {path} shows {p}");
        }
        for a in absent {
            assert!(!page.contains(a), "{who} {path} hides {a}");
        }
    }
}

/// Hidden controls are a courtesy: the same posts, forged with a valid CSRF token, are
/// refused by the API and change nothing.
#[tokio::test]
async fn forged_posts_are_still_refused() {
    let (s, digest) = populate().await;
    let guest = sign_in(&s, "guest", PASSWORD).await;
    let lguest = sign_in(&s, "lguest", PASSWORD).await;
    let maint = sign_in(&s, "maint", PASSWORD).await;
    let dev = sign_in(&s, "dev", PASSWORD).await;
    let refused = |r: &reqwest::Response, what: &str| {
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{what}");
        let f = flash_of(r);
        assert!(f.starts_with("err:"), "{what}: {f}");
    };
    let csrf_of = |cookie: &String| {
        let s = &s;
        let cookie = cookie.clone();
        async move { token(&get(s, &cookie, "/projects").await.1) }
    };

    let t = csrf_of(&guest).await;
    let tag = [
        ("_csrf", t.as_str()),
        ("repo", "team/app"),
        ("ref", digest.as_str()),
        ("tag", "forged"),
    ];
    refused(&post(&s, &guest, "/artifact/tag", &tag).await, "guest tags");
    let untag = [
        ("_csrf", t.as_str()),
        ("repo", "team/app"),
        ("ref", digest.as_str()),
        ("tag", "v1"),
    ];
    refused(
        &post(&s, &guest, "/artifact/untag", &untag).await,
        "guest untags",
    );
    let label = [
        ("_csrf", t.as_str()),
        ("repo", "team/app"),
        ("ref", digest.as_str()),
        ("label_id", "1"),
    ];
    refused(
        &post(&s, &guest, "/artifact/label", &label).await,
        "guest labels",
    );
    let del = [
        ("_csrf", t.as_str()),
        ("repo", "team/app"),
        ("ref", digest.as_str()),
    ];
    refused(
        &post(&s, &guest, "/artifact/delete", &del).await,
        "guest deletes",
    );

    let t = csrf_of(&lguest).await;
    let add = [
        ("_csrf", t.as_str()),
        ("username", "lguest"),
        ("role_id", "1"),
    ];
    refused(
        &post(&s, &lguest, "/projects/team/members", &add).await,
        "limited guest adds a member",
    );

    let t = csrf_of(&maint).await;
    let robot = [
        ("_csrf", t.as_str()),
        ("name", "forged"),
        ("duration", "-1"),
        ("access", "repository:pull"),
    ];
    refused(
        &post(&s, &maint, "/projects/team/robots", &robot).await,
        "maintainer creates a robot",
    );

    let t = csrf_of(&dev).await;
    let public = [("_csrf", t.as_str()), ("public", "true")];
    refused(
        &post(&s, &dev, "/projects/team/settings", &public).await,
        "developer makes the project public",
    );
    refused(
        &post(&s, &dev, "/projects/team/delete", &[("_csrf", t.as_str())]).await,
        "developer deletes the project",
    );

    // Nothing changed.
    let c = common::client();
    let p: Value = common::send(
        &c,
        &s,
        reqwest::Method::GET,
        "/api/v2.0/projects/team",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(p["metadata"]["public"], "false");
    let art: Value = common::send(
        &c,
        &s,
        reqwest::Method::GET,
        &format!(
            "/api/v2.0/projects/team/repositories/app/artifacts/{digest}?with_tag=true&with_label=true"
        ),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let tags: Vec<&str> = art["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(tags, ["v1"], "{art}");
    assert!(
        art["labels"].as_array().is_none_or(|l| l.is_empty()),
        "{art}"
    );
    let robots: Vec<Value> = common::send(
        &c,
        &s,
        reqwest::Method::GET,
        "/api/v2.0/robots?q=Level%3Dproject",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(robots.is_empty(), "{robots:?}");
    let members: Vec<Value> = common::send(
        &c,
        &s,
        reqwest::Method::GET,
        "/api/v2.0/projects/team/members?page_size=100",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let lg = members
        .iter()
        .find(|m| m["entity_name"] == "lguest")
        .expect("lguest is a member");
    assert_eq!(lg["role_id"], 5, "{lg}");
}
