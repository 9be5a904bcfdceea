//! What the CLI tests share: running the real `harbor` binary with its own config, and
//! checking its exit status and output. (Each test binary uses some of them.)
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// Runs `harbor args...` with its config in `home`, on the blocking pool.
pub async fn harbor(home: &Path, args: &[&str], stdin: &str) -> Output {
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

pub async fn ok(home: &Path, args: &[&str]) -> String {
    let o = harbor(home, args, "").await;
    assert!(
        o.status.success(),
        "harbor {args:?} failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

pub async fn fails(home: &Path, args: &[&str], code: i32) -> String {
    let o = harbor(home, args, "").await;
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "harbor {args:?}: {err}");
    err
}

pub async fn json(home: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&ok(home, &a).await).expect("JSON output")
}

pub async fn login(home: &Path, url: &str, user: &str, password: &str) {
    let o = harbor(
        home,
        &["login", url, "-u", user, "--password-stdin"],
        &format!("{password}\n"),
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
