//! The data directory is private: created `0700`, files `0600` (database, journals,
//! instance id, staged and committed blobs), and a start-up warning names anything in it
//! that others may read.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::common::{client, sha256};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file and directory under `dir`, with its mode.
fn walk(dir: &Path, out: &mut Vec<(std::path::PathBuf, u32)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push((p.clone(), mode(&p)));
        if p.is_dir() {
            walk(&p, out);
        }
    }
}

/// Runs the server on `dir` until it answers, pushes one blob, stops it; returns stderr.
async fn run_once(dir: &Path) -> String {
    let log = dir.parent().unwrap().join("stderr.log");
    let stderr = std::fs::File::create(&log).unwrap();
    let (mut child, base) =
        crate::start_server(dir, &[("HARBOR_LOG_FORMAT", "json")], stderr.into());
    let blob = b"private layer".to_vec();
    let r = client()
        .post(format!(
            "{base}/v2/files/app/blobs/uploads/?digest={}",
            sha256(&blob)
        ))
        .body(blob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    std::fs::read_to_string(&log).unwrap()
}

#[tokio::test]
async fn the_data_directory_is_private_and_open_modes_are_reported() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let log = run_once(&dir).await;
    assert_eq!(mode(&dir), 0o700);
    let mut all = Vec::new();
    walk(&dir, &mut all);
    assert!(all.iter().any(|(p, _)| p.ends_with("registry.db")));
    assert!(
        all.iter()
            .any(|(p, _)| p.to_string_lossy().contains("blobs/sha256/")),
        "{all:?}"
    );
    for (p, m) in &all {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*m & 0o077, 0, "{} is {m:o}, want {want:o}", p.display());
    }
    assert!(!log.contains("others may read"), "{log}");

    // Opened up by someone: the next start says so, naming each path.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = dir.join("registry.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let log = run_once(&dir).await;
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("others may read"))
        .collect();
    assert!(warned.iter().any(|l| l.contains("registry.db")), "{log}");
    assert!(
        warned.iter().any(|l| l.contains("\"mode\":\"755\"")),
        "{log}"
    );
    assert!(
        warned.iter().all(|l| l.contains("chmod -R go-rwx")),
        "{log}"
    );
}
