//! The portal on a phone (headless Chromium, 390 px wide): the users, repository and
//! artifact pages fit the screen (tables and code scroll or wrap in their own box, the
//! page itself never sideways), and the garbage collection bar spans its card.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{self, ADMIN_PASSWORD, TestServer};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// `[page scrollWidth, innerWidth, clientWidth (innerWidth less the scroll bar), what
/// sticks out]` of the current page. What sticks out: the elements of `main` whose right
/// edge passes the visible width, and the widths of its direct children.
pub(crate) const MEASURE: &str = "
    const w = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
        if (el.getBoundingClientRect().right > w + 0.5) {
            out.push(el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className);
        }
    }
    const kids = [...document.querySelectorAll('main > *')]
        .map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth).join(', ');
    return [document.scrollingElement.scrollWidth, window.innerWidth, w,
            out.slice(0, 12).join(', ') + ' / children of main: ' + kids];";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone_screen() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let base = s.base.clone();

    // Long names, e-mails, tags and labels, several artifacts and accessories: the
    // content that used to push the pages sideways.
    for i in 0..4 {
        let name = format!("a-rather-long-username-number-{i}");
        let r = common::send(
            &common::client(),
            &s,
            Method::POST,
            "/api/v2.0/users",
            Some(json!({"username": name, "email": format!("{name}@a-long-company-domain.example.com"),
                "realname": format!("Someone With A Long Full Name {i}"), "password": "Passw0rd-test"})),
        )
        .await;
        assert!(r.status().is_success(), "create user {i}");
    }
    let repo = "team/a-repository-with-a-long-name/and-a-nested-path";
    common::create_project(&s, "team", false).await;
    let mut digests = Vec::new();
    for (i, tag) in [
        "v1.2.3-a-very-long-release-candidate-tag-name",
        "latest",
        "dev",
    ]
    .into_iter()
    .enumerate()
    {
        digests.push(common::push_image(&s, repo, tag, 20 + i as u8).await.0);
    }
    let label = common::send(
        &common::client(),
        &s,
        Method::POST,
        "/api/v2.0/labels",
        Some(json!({"name": "a-long-label-name-for-release", "scope": "g", "color": "#61717D"})),
    )
    .await;
    let label_id = common::location_id(&label);
    let path =
        "/api/v2.0/projects/team/repositories/a-repository-with-a-long-name%252Fand-a-nested-path";
    api(
        &s,
        Method::POST,
        &format!("{path}/artifacts/{}/labels", digests[0]),
        Some(json!({"id": label_id})),
    )
    .await;

    b.goto(&format!("{base}/login")).await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#whoami", "admin").await;

    // A finished garbage collection run, for its page.
    api(
        &s,
        Method::POST,
        "/api/v2.0/system/gc/schedule",
        Some(
            json!({"schedule": {"type": "Manual"}, "parameters": {"time_window": 0, "workers": 1}}),
        ),
    )
    .await;
    b.goto(&format!("{base}/admin/gc")).await;
    b.wait_for_text("#gc-history", "Success").await;
    let run = api(&s, Method::GET, "/api/v2.0/system/gc", None).await;
    let run_id = run[0]["id"].as_i64().expect("a run");

    let enc = |s: &str| s.replace('/', "%2F").replace(':', "%3A");
    let pages = [
        "/admin/users".to_owned(),
        format!("/repo?name={}", enc(repo)),
        format!("/artifact?repo={}&ref={}", enc(repo), enc(&digests[0])),
        format!(
            "/repo/artifacts/delete?name={}&ref={}&ref={}",
            enc(repo),
            enc(&digests[0]),
            enc(&digests[1])
        ),
        "/projects/team/repositories".to_owned(),
        format!("/admin/gc/{run_id}"),
        "/account".to_owned(),
    ];
    b.set_window(390, 844).await;
    for page in &pages {
        b.goto(&format!("{base}{page}")).await;
        b.wait_for("main").await;
        let m = b
            .client()
            .execute(MEASURE, vec![])
            .await
            .expect("measure the page");
        let px = |i: usize| m[i].as_f64().unwrap_or(f64::MAX);
        let (scroll, inner, client) = (px(0), px(1), px(2));
        assert!(inner <= 400.0, "the window is phone-sized: {inner}");
        assert!(
            scroll <= client && client <= inner,
            "{page} scrolls sideways at {inner} px (visible {client}): scrollWidth {scroll}; \
             sticking out: {}",
            m[3]
        );
    }

    // On a wide screen the garbage collection bar spans its card: a finished run's full
    // bar no longer reads as a quarter-full one.
    b.set_window(1280, 900).await;
    b.goto(&format!("{base}/admin/gc/{run_id}")).await;
    b.wait_for("#gc-progress").await;
    let widths = b
        .client()
        .execute(
            "const bar = document.getElementById('gc-progress');
             const card = bar.closest('.card');
             return [bar.getBoundingClientRect().width, card.clientWidth, bar.value, bar.max];",
            vec![],
        )
        .await
        .expect("measure the bar");
    let (bar, card) = (
        widths[0].as_f64().unwrap_or(0.0),
        widths[1].as_f64().unwrap_or(1.0),
    );
    assert!(
        bar >= 0.9 * (card - 40.0),
        "the bar is {bar} px in a {card} px card"
    );
    assert_eq!(
        widths[2], widths[3],
        "a finished run's bar is full: {widths}"
    );
    b.close().await;
}
