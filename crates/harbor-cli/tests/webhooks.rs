//! `harbor webhook ...` with the real binary against the real server and a real receiver
//! on loopback (`common::receiver`): a policy created, listed, changed
//! (its auth header kept unseen), tested, enabled and disabled; a push delivered to the
//! receiver and shown by `executions`, `log` and `triggers`; roles and bad input refused
//! with their exit codes.

#[path = "../../harbor-server/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use common::receiver::Receiver;
use common::{ADMIN_PASSWORD, PASSWORD, TestServer, add_member, create_user, push_image};

fn authorization(r: &common::receiver::Received) -> Option<&str> {
    common::header(&r.headers, "authorization")
}

/// Runs `harbor args...` with its config in `home`, `stdin` on standard input, on the
/// blocking pool (the server and the receiver run on the test's runtime).
async fn harbor(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("harbor").expect("the harbor binary");
    cmd.env_clear()
        .env("HARBOR_CLI_CONFIG", home.join("config.json"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args)
        .write_stdin(stdin.to_owned());
    tokio::task::spawn_blocking(move || cmd.output().expect("run harbor"))
        .await
        .expect("join")
}

async fn ok(home: &Path, args: &[&str]) -> String {
    ok_in(home, args, "").await
}

async fn ok_in(home: &Path, args: &[&str], stdin: &str) -> String {
    let o = harbor(home, args, stdin).await;
    assert!(
        o.status.success(),
        "harbor {args:?} failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

/// Asserts failure with `code`; returns standard output and standard error.
async fn fails(home: &Path, args: &[&str], code: i32) -> (String, String) {
    let o = harbor(home, args, "").await;
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "harbor {args:?}: {err}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

async fn json(home: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&ok(home, &a).await).expect("JSON output")
}

async fn login(home: &Path, url: &str, user: &str, password: &str) {
    let o = harbor(
        home,
        &["login", url, "-u", user, "--password-stdin"],
        &format!("{password}\n"),
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[tokio::test]
async fn webhooks_from_the_command_line() {
    let s = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.webhook.backoff_ms = 20;
    })
    .await;
    let rx = Receiver::start().await;
    let admin = tempfile::tempdir().unwrap();
    let h = admin.path();
    login(h, &s.base, "admin", ADMIN_PASSWORD).await;
    ok(h, &["project", "create", "hooks"]).await;

    // What may be chosen.
    let events = ok(h, &["webhook", "events", "hooks"]).await;
    assert!(
        events.contains("PUSH_ARTIFACT") && events.contains("CloudEvents"),
        "{events}"
    );

    // Created with an auth header read from standard input; never shown again.
    let address = rx.url("/hook");
    let id = ok_in(
        h,
        &[
            "webhook",
            "create",
            "hooks",
            "--name",
            "ci",
            "--address",
            &address,
            "--auth-header-stdin",
            "--event",
            "PUSH_ARTIFACT",
            "--event",
            "DELETE_ARTIFACT",
            "--description",
            "to CI",
            "-q",
        ],
        "Bearer s3cret\n",
    )
    .await;
    let id = id.trim().to_owned();
    assert!(id.parse::<i64>().is_ok(), "{id}");
    let listed = ok(h, &["webhook", "list", "hooks"]).await;
    assert!(listed.starts_with("ID"), "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.contains("ci") && l.contains(&address) && l.contains("yes")),
        "{listed}"
    );
    let shown = ok(h, &["webhook", "get", "hooks", &id]).await;
    assert!(
        shown.contains("auth header:") && shown.contains("stored"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    let p = json(h, &["webhook", "get", "hooks", &id]).await;
    assert_eq!(p["targets"][0]["auth_header"], "*****");
    assert_eq!(p["targets"][0]["payload_format"], "Default");
    assert_eq!(p["event_types"][1], "DELETE_ARTIFACT");
    assert_eq!(p["description"], "to CI");

    // An update changes only what it names; the stored header stays.
    ok(
        h,
        &[
            "webhook",
            "update",
            "hooks",
            &id,
            "--format",
            "CloudEvents",
            "--event",
            "PUSH_ARTIFACT",
        ],
    )
    .await;
    let p = json(h, &["webhook", "get", "hooks", &id]).await;
    assert_eq!(p["targets"][0]["payload_format"], "CloudEvents");
    assert_eq!(p["targets"][0]["address"], address.as_str());
    assert_eq!(p["targets"][0]["auth_header"], "*****");
    assert_eq!(p["event_types"], serde_json::json!(["PUSH_ARTIFACT"]));
    assert_eq!(p["name"], "ci");
    assert_eq!(p["description"], "to CI");

    // A test event reaches the receiver with the header; a closed port fails the test.
    let out = ok(h, &["webhook", "test", "hooks", &id]).await;
    assert!(out.contains(&address) && out.contains("ok"), "{out}");
    let g = rx.wait_for(1).await;
    assert_eq!(authorization(&g[0]), Some("Bearer s3cret"));
    assert_eq!(g[0].body["type"], "harbor.artifact.pushed", "CloudEvents");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", l.local_addr().unwrap())
    };
    let dead = ok(
        h,
        &[
            "webhook",
            "create",
            "hooks",
            "--name",
            "dead",
            "--address",
            &closed,
            "--event",
            "PUSH_ARTIFACT",
            "--disabled",
            "-q",
        ],
    )
    .await;
    let dead = dead.trim().to_owned();
    let (out, err) = fails(h, &["webhook", "test", "hooks", &dead], 1).await;
    assert!(out.contains(&closed) && out.contains("failed"), "{out}");
    assert!(err.contains("1 of 1 targets failed"), "{err}");
    let d = json(h, &["webhook", "get", "hooks", &dead]).await;
    assert_eq!(d["enabled"], false);
    ok(h, &["webhook", "delete", "hooks", &dead]).await;
    fails(h, &["webhook", "get", "hooks", &dead], 4).await;

    // A push is delivered; its execution succeeds and its log says so.
    let (digest, _) = push_image(&s, "hooks/app", "v1", 1).await;
    let g = rx.wait_for(2).await;
    let pushed = &g[1];
    assert_eq!(pushed.path, "/hook");
    assert_eq!(authorization(pushed), Some("Bearer s3cret"));
    assert_eq!(pushed.body["data"]["resources"][0]["digest"], digest);
    let mut list = Value::Null;
    for _ in 0..200 {
        list = json(h, &["webhook", "executions", "hooks", &id]).await;
        if list[0]["status"] == "Success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["status"], "Success", "{list}");
    let eid = list[0]["id"].as_i64().unwrap().to_string();
    let table = ok(h, &["webhook", "executions", "hooks", &id]).await;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&eid) && l.contains("Success") && l.contains("PUSH_ARTIFACT")),
        "{table}"
    );
    let only_errors = json(
        h,
        &["webhook", "executions", "hooks", &id, "--status", "Error"],
    )
    .await;
    assert_eq!(only_errors, serde_json::json!([]));
    let log = ok(h, &["webhook", "log", "hooks", &id, &eid]).await;
    assert!(
        log.contains("attempt 1: HTTP 200") && log.contains("Success after 1 attempt"),
        "{log}"
    );
    let triggers = ok(h, &["webhook", "triggers", "hooks"]).await;
    let line = triggers
        .lines()
        .find(|l| l.starts_with("ci ") && l.contains("PUSH_ARTIFACT"))
        .unwrap_or_else(|| panic!("{triggers}"));
    assert!(!line.ends_with("never"), "{line}");

    // Disabled: nothing is sent for the next push; enabled again.
    ok(h, &["webhook", "disable", "hooks", &id]).await;
    assert_eq!(
        json(h, &["webhook", "get", "hooks", &id]).await["enabled"],
        false
    );
    push_image(&s, "hooks/app", "v2", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.got().len(), 2, "a disabled policy sends nothing");
    ok(h, &["webhook", "enable", "hooks", &id]).await;
    let p = json(h, &["webhook", "get", "hooks", &id]).await;
    assert_eq!(p["enabled"], true);
    assert_eq!(p["targets"][0]["auth_header"], "*****", "kept through both");
    // An empty header removes the stored one.
    ok(h, &["webhook", "update", "hooks", &id, "--auth-header", ""]).await;
    let p = json(h, &["webhook", "get", "hooks", &id]).await;
    assert!(p["targets"][0].get("auth_header").is_none(), "{p}");

    // Bad input: the API's 400 (exit 1), clap's usage error (exit 2), a missing id (4).
    let (_, err) = fails(
        h,
        &[
            "webhook",
            "create",
            "hooks",
            "--name",
            "x",
            "--address",
            "ftp://e.com/",
            "--event",
            "PUSH_ARTIFACT",
        ],
        1,
    )
    .await;
    assert!(err.contains("http"), "{err}");
    let (_, err) = fails(
        h,
        &[
            "webhook",
            "create",
            "hooks",
            "--name",
            "x",
            "--address",
            "https://e.com/",
            "--event",
            "PUSH",
        ],
        1,
    )
    .await;
    assert!(err.contains("PUSH"), "{err}");
    fails(
        h,
        &[
            "webhook",
            "create",
            "hooks",
            "--name",
            "x",
            "--address",
            "https://e.com/",
            "--type",
            "slack",
            "--format",
            "CloudEvents",
            "--event",
            "PUSH_ARTIFACT",
        ],
        2,
    )
    .await;
    fails(
        h,
        &[
            "webhook",
            "create",
            "hooks",
            "--name",
            "x",
            "--address",
            "https://e.com/",
        ],
        2,
    )
    .await;
    fails(h, &["webhook", "get", "hooks", "999"], 4).await;

    // A maintainer reads but may not change; a developer may not read.
    create_user(&s, "maint").await;
    create_user(&s, "dev").await;
    add_member(&s, "hooks", "maint", 4).await;
    add_member(&s, "hooks", "dev", 2).await;
    let maint = tempfile::tempdir().unwrap();
    login(maint.path(), &s.base, "maint", PASSWORD).await;
    let list = json(maint.path(), &["webhook", "list", "hooks"]).await;
    assert_eq!(list[0]["name"], "ci");
    fails(maint.path(), &["webhook", "disable", "hooks", &id], 3).await;
    fails(maint.path(), &["webhook", "delete", "hooks", &id], 3).await;
    let dev = tempfile::tempdir().unwrap();
    login(dev.path(), &s.base, "dev", PASSWORD).await;
    fails(dev.path(), &["webhook", "list", "hooks"], 3).await;

    ok(h, &["webhook", "delete", "hooks", &id]).await;
    assert_eq!(
        json(h, &["webhook", "list", "hooks"]).await,
        serde_json::json!([])
    );
}
