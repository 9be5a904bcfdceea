//! End-to-end tests with real third-party clients: `skopeo` and the `oras` Python SDK.
//! The registry is closed by default, so every client signs in (as the administrator,
//! unless a test is about who may do what: see `auth`) and goes through the real token
//! flow: ping, `401` with a Bearer challenge, `GET /service/token` with Basic credentials.
//!
//! Each client is found through an environment variable (`HARBOR_TEST_SKOPEO`, the skopeo
//! binary; `HARBOR_TEST_PYTHON`, a Python with `oras` installed), falling back to `skopeo`
//! and `python3` on `PATH`. A missing client skips its test with a printed reason, except
//! under `CI=true`, where it fails.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod binary;
mod faults;
mod files;
mod immutable;
mod layout;
mod oras;
mod quota;
mod replicas;
mod skopeo;

use std::process::{Command, Output};

/// The administrator's `user:password`, as skopeo's `--creds` takes it.
pub fn admin_creds() -> String {
    format!("admin:{}", common::ADMIN_PASSWORD)
}

/// Finds a working client, or explains why not.
pub fn find_tool(env: &str, default: &str, probe: &[&str]) -> Option<String> {
    let program = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    match Command::new(&program).args(probe).output() {
        Ok(o) if o.status.success() => Some(program),
        Ok(o) => skip(&format!(
            "{program} {probe:?} failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => skip(&format!("{program} not runnable ({e}); set {env}")),
    }
}

fn skip(reason: &str) -> Option<String> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("required end-to-end client missing under CI=true: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

/// Runs a command on the blocking pool and returns its output.
pub async fn run(program: &str, args: Vec<String>) -> Output {
    let program = program.to_owned();
    let shown = format!("{program} {}", args.join(" "));
    let out = tokio::task::spawn_blocking(move || Command::new(&program).args(&args).output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    eprintln!(
        "$ {shown}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
