//! End-to-end tests with real third-party clients: `skopeo`, `podman` and the `oras`
//! Python SDK.
//! The registry is closed by default, so every client signs in (as the administrator,
//! unless a test is about who may do what: see `auth`) and goes through the real token
//! flow: ping, `401` with a Bearer challenge, `GET /service/token` with Basic credentials.
//!
//! Each client is found through an environment variable (`HARBOR_TEST_SKOPEO`, the skopeo
//! binary; `HARBOR_TEST_PYTHON`, a Python with `oras` installed), falling back to `skopeo`
//! and `python3` on `PATH`. A missing client skips its test with a printed reason, except
//! under `CI=true`, where it fails. Podman (`HARBOR_TEST_PODMAN`, else `podman` on `PATH`)
//! is required under `CI=true` only when `HARBOR_TEST_PODMAN` is set.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/signing.rs"]
mod signing;

mod auth;
mod binary;
mod faults;
mod files;
mod immutable;
mod layout;
mod oras;
mod prevent_vul;
mod quota;
mod replicas;
mod signatures;
mod skopeo;
mod tls;
mod webhooks;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The server binary under test.
pub const SERVER: &str = env!("CARGO_BIN_EXE_harbor-server");

/// Starts the server binary on an ephemeral loopback port with `dir` as its data
/// directory, the tests' administrator password, pushes that create their project, `env`
/// on top and its stderr to `stderr`; returns it and its base URL (read from its first
/// line on stdout).
pub fn start_server(dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> (Child, String) {
    use std::io::BufRead as _;
    let mut child = Command::new(SERVER)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("HARBOR_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .env("HARBOR_AUTO_CREATE_PROJECTS", "true")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start harbor-server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("harbor-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

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
    harbor_storage::testing::skipped(reason);
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
