//! Every administration and project form, posted over HTTP as a browser would, checked
//! against what the REST API says afterwards.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// Posts a form and asserts the flash message it leaves (`ok:` or `err:` prefix).
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
async fn administrators_manage_users_labels_settings_and_gc() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    let t = token(&page);

    // Users: create, promote, reset the password (the policy applies), delete.
    let user = [
        ("_csrf", t.as_str()),
        ("username", "erin"),
        ("email", "erin@example.com"),
        ("realname", "Erin"),
        ("password", PASSWORD),
        ("comment", ""),
    ];
    expect(&s, &admin, "/admin/users", &user, "ok:User erin created").await;
    expect(&s, &admin, "/admin/users", &user, "err:").await;
    let found = api(&s, Method::GET, "/api/v2.0/users?q=username%3Derin", None).await;
    let id = found[0]["user_id"].as_i64().expect("erin exists");
    let (_, listed) = get(&s, &admin, "/admin/users?q=eri").await;
    assert!(listed.contains("erin@example.com"));
    let (_, none) = get(&s, &admin, "/admin/users?q=nobody,x").await;
    assert!(!none.contains("erin@example.com"));
    let on = [("_csrf", t.as_str()), ("on", "true")];
    expect(&s, &admin, &format!("/admin/users/{id}/admin"), &on, "ok:").await;
    let u = api(&s, Method::GET, &format!("/api/v2.0/users/{id}"), None).await;
    assert_eq!(u["sysadmin_flag"], true);
    let weak = [("_csrf", t.as_str()), ("password", "short")];
    expect(
        &s,
        &admin,
        &format!("/admin/users/{id}/password"),
        &weak,
        "err:",
    )
    .await;
    let good = [("_csrf", t.as_str()), ("password", "Another-Passw0rd")];
    expect(
        &s,
        &admin,
        &format!("/admin/users/{id}/password"),
        &good,
        "ok:",
    )
    .await;
    let erin = sign_in(&s, "erin", "Another-Passw0rd").await;
    let (status, _) = get(&s, &erin, "/admin/users").await;
    assert_eq!(status, StatusCode::OK, "erin is an administrator now");
    let del = [("_csrf", t.as_str())];
    expect(
        &s,
        &admin,
        &format!("/admin/users/{id}/delete"),
        &del,
        "ok:",
    )
    .await;
    let gone = api(&s, Method::GET, "/api/v2.0/users?q=username%3Derin", None).await;
    assert_eq!(gone.as_array().map(Vec::len), Some(0));

    // Global labels.
    let label = [
        ("_csrf", t.as_str()),
        ("name", "release"),
        ("color", "#00aa00"),
        ("description", "<b>ready</b>"),
    ];
    expect(
        &s,
        &admin,
        "/admin/labels",
        &label,
        "ok:Label release created",
    )
    .await;
    let (_, labels) = get(&s, &admin, "/admin/labels").await;
    assert!(labels.contains("release"));
    assert!(
        labels.contains("&lt;b&gt;ready&lt;/b&gt;"),
        "descriptions are escaped"
    );
    let all = api(&s, Method::GET, "/api/v2.0/labels?scope=g", None).await;
    let lid = all[0]["id"].as_i64().unwrap();
    expect(
        &s,
        &admin,
        &format!("/admin/labels/{lid}/delete"),
        &del,
        "ok:",
    )
    .await;
    let all = api(&s, Method::GET, "/api/v2.0/labels?scope=g", None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(0));

    // Read-only mode, on and off.
    let ro = [("_csrf", t.as_str()), ("read_only", "true")];
    expect(&s, &admin, "/admin/settings", &ro, "ok:").await;
    let conf = api(&s, Method::GET, "/api/v2.0/configurations", None).await;
    assert_eq!(conf["read_only"]["value"], true, "{conf}");
    let (_, settings) = get(&s, &admin, "/admin/settings").await;
    assert!(settings.contains("id=\"read-only-state\""));
    // The administrators' banner shows on every page, escaped.
    api(
        &s,
        Method::PUT,
        "/api/v2.0/configurations",
        Some(json!({"banner_message": "Upgrade <b>tonight</b>"})),
    )
    .await;
    let (_, page) = get(&s, &admin, "/projects").await;
    assert!(
        page.contains("id=\"banner\" role=\"note\">Upgrade &lt;b&gt;tonight&lt;/b&gt;</div>"),
        "{page}"
    );
    expect(&s, &admin, "/admin/settings", &del, "ok:").await;
    let conf = api(&s, Method::GET, "/api/v2.0/configurations", None).await;
    assert_eq!(conf["read_only"]["value"], false, "{conf}");

    // The audit log shows what happened, filtered by user and operation.
    // (Entries arrive through the event stream, normally within a second.)
    let mut logged = false;
    for _ in 0..100 {
        let (status, audit) = get(&s, &admin, "/admin/audit?q=admin&operation=delete").await;
        assert_eq!(status, StatusCode::OK);
        if audit.contains("erin") {
            logged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(logged, "the user deletion is logged");
    let (_, system) = get(&s, &admin, "/system").await;
    assert!(system.contains("harbor-rs"), "{system}");

    // The GC schedule.
    let daily = [
        ("_csrf", t.as_str()),
        ("type", "Daily"),
        ("cron", ""),
        ("workers", "1"),
    ];
    expect(&s, &admin, "/admin/gc/schedule", &daily, "ok:").await;
    let sched = api(&s, Method::GET, "/api/v2.0/system/gc/schedule", None).await;
    assert_eq!(sched["schedule"]["type"], "Daily", "{sched}");
}

#[tokio::test]
async fn project_policies_settings_and_artifact_actions() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/projects").await;
    let t = token(&page);
    let csrf = [("_csrf", t.as_str())];
    expect(
        &s,
        &admin,
        "/projects",
        &[("_csrf", t.as_str()), ("name", "pol")],
        "ok:",
    )
    .await;
    let (digest, _) = common::push_image(&s, "pol/app", "v1", 3).await;

    // Tag immutability: a protected tag cannot be removed until the rule goes.
    let rule = [
        ("_csrf", t.as_str()),
        ("repositories", "**"),
        ("tags", "v*"),
    ];
    expect(&s, &admin, "/projects/pol/immutable", &rule, "ok:").await;
    let rules = api(
        &s,
        Method::GET,
        "/api/v2.0/projects/pol/immutabletagrules",
        None,
    )
    .await;
    let rid = rules[0]["id"].as_i64().expect("a rule");
    let untag = [
        ("_csrf", t.as_str()),
        ("repo", "pol/app"),
        ("ref", &digest),
        ("tag", "v1"),
    ];
    expect(&s, &admin, "/artifact/untag", &untag, "err:").await;
    expect(
        &s,
        &admin,
        &format!("/projects/pol/immutable/{rid}/delete"),
        &csrf,
        "ok:",
    )
    .await;

    // Tags and labels on the artifact page.
    let tag = [
        ("_csrf", t.as_str()),
        ("repo", "pol/app"),
        ("ref", &digest),
        ("tag", "stable"),
    ];
    expect(&s, &admin, "/artifact/tag", &tag, "ok:Tag stable added").await;
    expect(&s, &admin, "/artifact/tag", &tag, "err:").await;
    let bad = [
        ("_csrf", t.as_str()),
        ("repo", "pol/app"),
        ("ref", &digest),
        ("tag", "no tags"),
    ];
    expect(&s, &admin, "/artifact/tag", &bad, "err:").await;
    api(
        &s,
        Method::POST,
        "/api/v2.0/labels",
        Some(json!({"name": "qa", "scope": "g"})),
    )
    .await;
    let lid = api(&s, Method::GET, "/api/v2.0/labels?scope=g", None).await[0]["id"].to_string();
    let attach = [
        ("_csrf", t.as_str()),
        ("repo", "pol/app"),
        ("ref", &digest),
        ("label_id", &lid),
    ];
    expect(&s, &admin, "/artifact/label", &attach, "ok:Label added").await;
    let art = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/projects/pol/repositories/app/artifacts/{digest}?with_label=true"),
        None,
    )
    .await;
    assert_eq!(art["labels"][0]["name"], "qa");
    let (_, detail) = get(&s, &admin, &format!("/artifact?repo=pol/app&ref={digest}")).await;
    assert!(detail.contains("stable") && detail.contains("qa") && detail.contains("id=\"layers\""));
    let mut detach = attach.to_vec();
    detach.push(("detach", "true"));
    expect(&s, &admin, "/artifact/label", &detach, "ok:Label removed").await;
    expect(
        &s,
        &admin,
        "/artifact/untag",
        &[
            ("_csrf", t.as_str()),
            ("repo", "pol/app"),
            ("ref", &digest),
            ("tag", "stable"),
        ],
        "ok:",
    )
    .await;

    // Retention: a policy saved from the form, then a dry run.
    expect(&s, &admin, "/projects/pol/retention/run", &csrf, "err:").await;
    let policy = [
        ("_csrf", t.as_str()),
        ("keep", "1"),
        ("tags", "**"),
        ("repositories", "**"),
        ("cron", ""),
    ];
    expect(&s, &admin, "/projects/pol/retention", &policy, "ok:").await;
    let project = api(&s, Method::GET, "/api/v2.0/projects/pol", None).await;
    let retention = project["metadata"]["retention_id"]
        .as_str()
        .expect("a retention policy")
        .to_owned();
    let p = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/retentions/{retention}"),
        None,
    )
    .await;
    assert_eq!(p["rules"][0]["params"]["latestPushedK"], 1, "{p}");
    let dry = [("_csrf", t.as_str()), ("dry_run", "true")];
    expect(
        &s,
        &admin,
        "/projects/pol/retention/run",
        &dry,
        "ok:Retention dry run",
    )
    .await;
    let runs = api(
        &s,
        Method::GET,
        &format!("/api/v2.0/retentions/{retention}/executions"),
        None,
    )
    .await;
    assert_eq!(runs[0]["dry_run"], true, "{runs}");
    let (_, policies) = get(&s, &admin, "/projects/pol/policies").await;
    assert!(policies.contains("id=\"retention-rule\""));

    // Project configuration: public, a quota in GiB; errors are reported.
    let conf = [
        ("_csrf", t.as_str()),
        ("public", "true"),
        ("quota_gib", "2"),
    ];
    expect(&s, &admin, "/projects/pol/settings", &conf, "ok:").await;
    let project = api(&s, Method::GET, "/api/v2.0/projects/pol", None).await;
    assert_eq!(project["metadata"]["public"], "true");
    let summary = api(&s, Method::GET, "/api/v2.0/projects/pol/summary", None).await;
    assert_eq!(summary["quota"]["hard"]["storage"], 2_i64 << 30);
    let bad = [("_csrf", t.as_str()), ("quota_gib", "plenty")];
    expect(&s, &admin, "/projects/pol/settings", &bad, "err:").await;
    // Metadata set through the API is shown.
    api(
        &s,
        Method::PUT,
        "/api/v2.0/projects/pol/metadatas/severity",
        Some(json!({"severity": "high"})),
    )
    .await;
    let (_, page) = get(&s, &admin, "/projects/pol/settings").await;
    let card = page
        .split("id=\"project-metadata\"")
        .nth(1)
        .unwrap_or_default();
    assert!(
        card.contains("<code>severity</code>") && card.contains("high"),
        "{card}"
    );

    // A project with repositories cannot be deleted; without, it can.
    expect(&s, &admin, "/projects/pol/delete", &csrf, "err:").await;
    let repo = [("_csrf", t.as_str()), ("repo", "pol/app")];
    expect(
        &s,
        &admin,
        "/repo/delete",
        &repo,
        "ok:Repository pol/app deleted",
    )
    .await;
    expect(
        &s,
        &admin,
        "/projects/pol/delete",
        &csrf,
        "ok:Project pol deleted",
    )
    .await;
    let (status, _) = get(&s, &admin, "/projects/pol/repositories").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn users_change_their_own_password() {
    let s = TestServer::start().await;
    common::create_user(&s, "kim").await;
    let kim = sign_in(&s, "kim", PASSWORD).await;
    let (status, page) = get(&s, &kim, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("kim@example.com"));
    let t = token(&page);
    let form = |old: &'static str, new: &'static str, again: &'static str| {
        [
            ("_csrf", t.clone()),
            ("old", old.into()),
            ("new", new.into()),
            ("again", again.into()),
        ]
    };
    for (f, flash) in [
        (
            form(PASSWORD, "New-Passw0rd", "Other-Passw0rd"),
            "err:The new passwords do not match",
        ),
        (
            form("wrong-one", "New-Passw0rd", "New-Passw0rd"),
            "err:the old password is wrong",
        ),
        (form(PASSWORD, "weak", "weak"), "err:password"),
    ] {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        expect(&s, &kim, "/account", &pairs, flash).await;
    }

    // The change ends every session of the user, this one too: the answer goes to the
    // sign-in page with a fixed notice, and clears the dead cookie.
    let good = form(PASSWORD, "New-Passw0rd", "New-Passw0rd");
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post(&s, &kim, "/account", &pairs).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/login?notice=password-changed&next=%2Faccount");
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("sid=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let (status, _) = get(&s, &kim, "/account").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the old session has ended");
    let (status, page) = get(&s, "", &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Password changed: sign in with the new one."),
        "{page}"
    );
    assert!(page.contains("name=\"next\" value=\"/account\""), "{page}");
    // Only named notices render: nothing typed into the address reaches the page.
    let (_, page) = get(&s, "", "/login?notice=%3Cb%3Ehacked%3C%2Fb%3E").await;
    assert!(
        !page.contains("hacked") && !page.contains("id=\"notice\""),
        "{page}"
    );
    let (_, page) = get(&s, "", "/login").await;
    assert!(!page.contains("Password changed"), "{page}");

    sign_in(&s, "kim", "New-Passw0rd").await;
}

/// A project named after another project's id: the portal's actions on the page of the
/// project named `<id>` reach that project, never the private project whose id it is
/// (a developer could otherwise get an administrator to publish or delete it).
#[tokio::test]
async fn numeric_project_names_do_not_hijack_portal_actions() {
    let s = TestServer::start().await;
    let r = common::send(
        &common::client(),
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": "vault", "metadata": {"public": "false"}})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let hidden_id = r.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    // A developer creates a project whose name is the private project's id.
    api(
        &s,
        Method::POST,
        "/api/v2.0/users",
        Some(json!({"username": "dev", "email": "dev@example.com", "realname": "Dev", "password": PASSWORD})),
    )
    .await;
    let dev = common::as_user("dev", PASSWORD);
    let r = common::send(
        &dev,
        &s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": hidden_id, "metadata": {"public": "false"}})),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "all-digit names are allowed, as in Harbor"
    );

    // The administrator opens the page of the project named "<id>" and acts on it.
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let base = format!("/projects/{hidden_id}");
    let (status, page) = get(&s, &admin, &format!("{base}/settings")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("vault"),
        "the page shows the private project"
    );
    let t = token(&page);
    let form = [("_csrf", t.as_str()), ("public", "true")];
    expect(&s, &admin, &format!("{base}/settings"), &form, "ok:").await;
    let by_name = |name: &str| {
        let url = s.url(&format!("/api/v2.0/projects/{name}"));
        async move {
            let r = common::client()
                .get(url)
                .header("X-Is-Resource-Name", "true")
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, numeric) = by_name(&hidden_id).await;
    assert_eq!(
        numeric["metadata"]["public"], "true",
        "the named project changed"
    );
    let (_, hidden) = by_name("vault").await;
    assert_eq!(
        hidden["metadata"]["public"], "false",
        "the private project is untouched"
    );

    expect(
        &s,
        &admin,
        &format!("{base}/delete"),
        &[("_csrf", t.as_str())],
        "ok:",
    )
    .await;
    assert_eq!(by_name(&hidden_id).await.0, StatusCode::NOT_FOUND);
    let (status, hidden) = by_name("vault").await;
    assert_eq!(status, StatusCode::OK, "the private project still exists");
    assert_eq!(hidden["metadata"]["public"], "false");
}

#[tokio::test]
async fn administrators_manage_system_robots() {
    let s = TestServer::start().await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (status, page) = get(&s, &admin, "/admin/robots").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No system robot accounts."), "{page}");
    let t = token(&page);
    // The secret is on the answer page itself, once.
    let form = [
        ("_csrf", t.as_str()),
        ("name", "auditor"),
        ("description", "reads the audit log"),
        ("duration", "-1"),
        ("access", "audit-log:list"),
    ];
    let r = post(&s, &admin, "/admin/robots", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let created = r.text().await.unwrap();
    assert!(created.contains("robot$auditor"), "{created}");
    let secret = created
        .split("id=\"robot-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret is shown")
        .to_owned();
    // The robot holds exactly its system permission.
    let bot = common::as_user("robot$auditor", &secret);
    let r = common::send(&bot, &s, Method::GET, "/api/v2.0/audit-logs", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = common::send(&bot, &s, Method::GET, "/api/v2.0/users", None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let robots = api(&s, Method::GET, "/api/v2.0/robots?q=Level%3Dsystem", None).await;
    assert_eq!(robots[0]["level"], "system", "{robots}");
    let id = robots[0]["id"].as_i64().unwrap();
    // Listed, then deleted.
    let (_, listed) = get(&s, &admin, "/admin/robots").await;
    assert!(listed.contains("audit-log:list"), "{listed}");
    let confirm = [("_csrf", t.as_str()), ("confirm", "yes")];
    expect(
        &s,
        &admin,
        &format!("/admin/robots/{id}/delete"),
        &confirm,
        "ok:",
    )
    .await;
    let r = common::send(&bot, &s, Method::GET, "/api/v2.0/audit-logs", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
