//! The garbage collection run page (plain HTTP): a finished run shows a full bar and
//! "Done", a dry run too, and a stopped run no bar but where it stopped.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ADMIN_PASSWORD, TestServer};
use crate::http::{get, sign_in};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// Starts a manual run and returns its id (the newest run).
async fn start(s: &TestServer, dry_run: bool) -> i64 {
    let body = json!({"schedule": {"type": "Manual"},
        "parameters": {"dry_run": dry_run, "time_window": 0, "workers": 1}});
    api(s, Method::POST, "/api/v2.0/system/gc/schedule", Some(body)).await;
    let runs = api(s, Method::GET, "/api/v2.0/system/gc", None).await;
    runs[0]["id"].as_i64().expect("a run id")
}

/// Waits for run `id` to end; returns its status.
async fn ended(s: &TestServer, id: i64) -> String {
    for _ in 0..300 {
        let run = api(s, Method::GET, &format!("/api/v2.0/system/gc/{id}"), None).await;
        let status = run["job_status"].as_str().unwrap_or_default().to_owned();
        if matches!(status.as_str(), "Success" | "Error" | "Stopped") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("garbage collection run {id} did not end");
}

#[tokio::test]
async fn ended_runs_show_a_full_bar_or_where_they_stopped() {
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    common::push_image(&s, "team/app", "v1", 1).await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;

    for dry in [false, true] {
        let id = start(&s, dry).await;
        assert_eq!(ended(&s, id).await, "Success");
        let run = api(&s, Method::GET, &format!("/api/v2.0/system/gc/{id}"), None).await;
        assert_eq!(run["progress"]["ranges_done"], 512, "{run}");
        assert_eq!(run["progress"]["ranges_total"], 512, "{run}");
        let (status, page) = get(&s, &admin, &format!("/admin/gc/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Done: all 512 digest ranges examined"),
            "{page}"
        );
        assert!(
            page.contains(r#"<progress id="gc-progress" max="1" value="1""#),
            "a full bar: {page}"
        );
        assert_eq!(page.contains("dry run: nothing was deleted"), dry, "{page}");
        assert!(
            !page.contains("http-equiv=\"refresh\""),
            "an ended run stops reloading"
        );
    }

    // A run stopped as soon as it starts: whichever way it ends, an ended run never
    // shows a part-filled bar.
    let id = start(&s, false).await;
    let r = common::send(
        &common::client(),
        &s,
        Method::PUT,
        &format!("/api/v2.0/system/gc/{id}"),
        None,
    )
    .await;
    assert!(r.status().is_success() || r.status() == StatusCode::CONFLICT);
    let status = ended(&s, id).await;
    let (_, page) = get(&s, &admin, &format!("/admin/gc/{id}")).await;
    match status.as_str() {
        "Success" => assert!(page.contains(r#"max="1" value="1""#), "{page}"),
        _ => {
            assert!(!page.contains("<progress"), "{status}: {page}");
            assert!(
                page.contains("Stopped") || page.contains("reported no progress"),
                "{page}"
            );
        }
    }
}
