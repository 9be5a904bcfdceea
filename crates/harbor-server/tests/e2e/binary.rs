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
