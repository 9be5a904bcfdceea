//! The `harbor-server` binary itself: configuration layering, start-up and graceful
//! shutdown on SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;

use crate::common::{anon_client, client, sha256};

const BIN: &str = crate::SERVER;

#[test]
fn print_config_layers_file_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("harbor.toml");
    std::fs::write(
        &file,
        "listen = \"0.0.0.0:6000\"\n[limits]\nrequest_timeout_secs = 7\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            "/srv/harbor",
            "--print-config",
        ])
        .env("HARBOR_LISTEN", "127.0.0.1:6001")
        .env("HARBOR_UPLOAD_IDLE_TIMEOUT_SECS", "99")
        .output()
        .unwrap();
    assert!(out.status.success());
    let cfg: toml::Value = toml::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(
        cfg["listen"].as_str(),
        Some("127.0.0.1:6001"),
        "env beats the file"
    );
    assert_eq!(
        cfg["data_dir"].as_str(),
        Some("/srv/harbor"),
        "flags beat everything"
    );
    assert_eq!(cfg["limits"]["request_timeout_secs"].as_integer(), Some(7));
    assert_eq!(
        cfg["limits"]["upload_idle_timeout_secs"].as_integer(),
        Some(99)
    );
    assert_eq!(
        cfg["storage"]["fsync"].as_bool(),
        Some(true),
        "defaults fill the rest"
    );
}

#[test]
fn bad_configuration_is_reported_clearly() {
    let out = Command::new(BIN)
        .args(["--print-config"])
        .env("HARBOR_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HARBOR_LISTEN"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "lisen = \"typo\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"));
}

/// Starts the binary on an ephemeral port; returns it and its base URL.
fn spawn(dir: &std::path::Path) -> (Child, String) {
    crate::start_server(dir, &[], Stdio::null())
}

#[tokio::test]
async fn serves_and_shuts_down_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn(dir.path());
    let c = client();
    assert_eq!(
        c.get(format!("{base}/v2/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    // The binary is closed by default: without credentials the base endpoint challenges.
    let resp = anon_client()
        .get(format!("{base}/v2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()["www-authenticate"],
        format!("Bearer realm=\"{base}/service/token\",service=\"harbor-registry\"").as_str()
    );
    assert!(dir.path().join("registry.db").exists());

    // An upload is in flight when SIGTERM arrives: it still completes.
    let resp = c
        .post(format!("{base}/v2/r/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let body = futures::stream::unfold(0u8, |i| async move {
        if i == 10 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(Bytes::from(vec![i; 1000])), i + 1))
    });
    let patch = tokio::spawn(
        c.patch(format!("{base}{loc}"))
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let resp = patch.await.unwrap().unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.headers()["range"], "0-9999");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "clean exit, got {status:?}");

    // After a restart the upload continues where it was.
    let (mut child, base) = spawn(dir.path());
    let resp = c.get(format!("{base}{loc}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(resp.headers()["range"], "0-9999");
    let all: Vec<u8> = (0..10u8).flat_map(|i| vec![i; 1000]).collect();
    let resp = c
        .put(format!("{base}{loc}?digest={}", sha256(&all)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn copy_metadata_moves_a_registry_to_another_database() {
    use crate::common::{TestServer, push_image};
    use harbor_storage::testing::TestDatabase;

    let dir = tempfile::tempdir().unwrap();
    let srv = TestServer::start_in(dir.path()).await;
    let (digest, manifest) = push_image(&srv, "moving/app", "v1", 7).await;
    srv.stop().await;

    // PostgreSQL when configured, else another SQLite file: the procedure is the same.
    let pg = TestDatabase::create().await;
    let target = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.path().join("copy.db").display()),
    };
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "copy-metadata",
            "--to",
            &target,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("repositories: 1 rows"), "{report}");
    assert!(report.contains("manifests: 1 rows"), "{report}");

    // The same blobs, the new database: everything is there.
    let srv = TestServer::start_with(dir.path(), |c| c.database.url = Some(target.clone())).await;
    let resp = client()
        .get(srv.url("/v2/moving/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(resp.bytes().await.unwrap(), manifest);
    // Copying again into the now non-empty target is refused.
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "copy-metadata",
            "--to",
            &target,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

/// Starts the binary with `env`, waits until it serves, stops it with SIGTERM and returns
/// everything it wrote on standard error.
async fn serve_once(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    check: impl AsyncFnOnce(&str),
) -> String {
    let (child, base) = crate::start_server(dir, env, Stdio::piped());
    check(&base).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "clean exit, got {:?}", out.status);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `password` signs `admin` in.
async fn admin_signs_in(base: &str, password: &str) -> bool {
    let resp = anon_client()
        .get(format!("{base}/api/v2.0/users/current"))
        .basic_auth("admin", Some(password))
        .send()
        .await
        .unwrap();
    resp.status() == StatusCode::OK
}

#[tokio::test]
async fn an_ignored_admin_password_is_reported_and_a_lost_one_reset() {
    use crate::common::ADMIN_PASSWORD;
    const NEW: &str = "Another-Passw0rd";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    // On a data directory holding no registry the reset is refused and creates nothing.
    let empty = data.join("empty");
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(&empty)
        .arg("reset-admin-password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no registry database at"), "{err}");
    assert!(!empty.join("registry.db").exists());

    // First start: the password is applied. A restart with the same one says nothing.
    let log = serve_once(data, &[], async |base| {
        assert!(admin_signs_in(base, ADMIN_PASSWORD).await);
    })
    .await;
    assert!(!log.contains("IGNORED"), "{log}");
    let log = serve_once(data, &[], async |_| {}).await;
    assert!(!log.contains("IGNORED"), "{log}");

    // A restart with another one: the old one still works, and the server says so loudly.
    let log = serve_once(data, &[("HARBOR_ADMIN_PASSWORD", NEW)], async |base| {
        assert!(admin_signs_in(base, ADMIN_PASSWORD).await);
        assert!(!admin_signs_in(base, NEW).await);
    })
    .await;
    assert!(
        log.contains("WARNING: HARBOR_ADMIN_PASSWORD is set but IGNORED")
            && log.contains("reset-admin-password"),
        "{log}"
    );

    // The reset, with the same variable and configuration: now the new one works.
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("reset-admin-password")
        .env("HARBOR_ADMIN_PASSWORD", NEW)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("is set"));
    let log = serve_once(data, &[("HARBOR_ADMIN_PASSWORD", NEW)], async |base| {
        assert!(admin_signs_in(base, NEW).await);
        assert!(!admin_signs_in(base, ADMIN_PASSWORD).await);
    })
    .await;
    assert!(!log.contains("IGNORED"), "{log}");

    // Without a password given, one is generated and printed once.
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("reset-admin-password")
        .env_remove("HARBOR_ADMIN_PASSWORD")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let generated = stdout
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(generated.len() >= 16, "{stdout}");
    serve_once(data, &[("HARBOR_ADMIN_PASSWORD", NEW)], async |base| {
        assert!(admin_signs_in(base, &generated).await);
        assert!(!admin_signs_in(base, NEW).await);
    })
    .await;
}

#[test]
fn print_config_shows_the_effective_urls_without_credentials() {
    let out = Command::new(BIN)
        .args(["--data-dir", "/srv/harbor", "--print-config"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let cfg: toml::Value = toml::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(
        cfg["database"]["url"].as_str(),
        Some("sqlite:///srv/harbor/registry.db")
    );
    assert_eq!(
        cfg["storage"]["url"].as_str(),
        Some("file:///srv/harbor/storage")
    );
    let out = Command::new(BIN)
        .args(["--print-config"])
        .env(
            "HARBOR_DATABASE_URL",
            "postgres://harbor:s3cr3t@db:5432/harbor",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(
        shown.contains("postgres://harbor:***@db:5432/harbor"),
        "{shown}"
    );
}

#[test]
fn help_describes_the_program_and_the_admin_password() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    let first = help.lines().next().unwrap_or_default();
    assert!(first.starts_with("Harbor-rs registry server"), "{help}");
    assert!(
        help.contains("HARBOR_ADMIN_PASSWORD") && help.contains("reset-admin-password"),
        "{help}"
    );
}

/// `--print-config` with `args`, and nothing from the environment.
fn print_config(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(BIN)
        .env_clear()
        .args(args)
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts every value in `part` is the same in `whole`.
fn contains_values(whole: &toml::Value, part: &toml::Value, at: &str) {
    match part {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let w = whole
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} missing from the printed configuration"));
                contains_values(w, v, &format!("{at}.{k}"));
            }
        }
        v => assert_eq!(whole, v, "{at}"),
    }
}

#[test]
fn the_example_config_round_trips_through_print_config() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/harbor.toml");
    let first = print_config(&["--config".as_ref(), example.as_os_str()]);
    let dir = tempfile::tempdir().unwrap();
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, &first).unwrap();
    let second = print_config(&["--config".as_ref(), printed.as_os_str()]);
    assert_eq!(
        first, second,
        "the printed configuration reads back the same"
    );
    let example: toml::Value = toml::from_str(&std::fs::read_to_string(&example).unwrap()).unwrap();
    let first: toml::Value = toml::from_str(&first).unwrap();
    contains_values(&first, &example, "");
}
