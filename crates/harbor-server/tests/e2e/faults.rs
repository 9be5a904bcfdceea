//! Faults the server must live through: a disk filled to the last byte (writes refused
//! with a clear `507`, nothing acknowledged that is not stored, writes back on their own
//! once space is freed), and SIGTERM or SIGKILL in the middle of streaming uploads.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

/// A small tmpfs mounted on a temporary directory (Linux, as root), unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (e.g. `24m`); `None` (skipped) without the right to mount,
    /// except under `CI=true`, where CI runs as root and a failure fails the test.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            other => {
                let why = format!("cannot mount a tmpfs (needs root): {other:?}");
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("{why}");
                }
                eprintln!("SKIPPED: {why}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the filesystem of `dir` to the last byte with a file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    for chunk in [1 << 20, 4096, 1] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    let _ = f.sync_all();
    path
}

async fn create(s: &TestServer, name: &str) -> StatusCode {
    let r = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": name})),
    )
    .await;
    let status = r.status();
    if status == StatusCode::INSUFFICIENT_STORAGE {
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "STORAGE_FULL", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("storage is full"), "{message}");
    }
    status
}

/// Starts a manual GC run; its status and, when accepted, its id.
async fn gc_run(s: &TestServer) -> (StatusCode, Option<i64>) {
    let r = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/system/gc/schedule",
        Some(json!({"schedule": {"type": "Manual"}, "parameters": {"dry_run": true}})),
    )
    .await;
    let status = r.status();
    let id = r.json::<Value>().await.ok().and_then(|v| v["id"].as_i64());
    (status, id)
}

#[tokio::test]
async fn a_full_disk_refuses_writes_clearly_and_they_resume_when_space_is_freed() {
    // The server's warnings and errors, shown when the test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let Some(fs) = Tmpfs::mount("24m") else {
        return;
    };
    let s = TestServer::start_with(fs.path(), |c| {
        c.storage.fsync = true;
        c.jobs.enabled = false;
    })
    .await;
    push_image(&s, "before/app", "v1", 1).await;
    let filler = fill(fs.path());

    // Writes until the database has no room left: each is stored (2xx) or refused with
    // 507 STORAGE_FULL, never a 500.
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for i in 0..3000 {
        let name = format!("full{i}");
        match create(&s, &name).await {
            StatusCode::CREATED => accepted.push(name),
            StatusCode::INSUFFICIENT_STORAGE => {
                refused.push(name);
                if refused.len() >= 5 {
                    break;
                }
            }
            other => panic!("{name}: {other}"),
        }
    }
    assert!(!refused.is_empty(), "the disk never filled up");
    eprintln!(
        "with the disk full: {} writes stored, {} refused",
        accepted.len(),
        refused.len()
    );
    let (status, gc_refused) = gc_run(&s).await;
    assert!(
        status == StatusCode::INSUFFICIENT_STORAGE || status == StatusCode::CREATED,
        "GC run: {status}"
    );
    let mut acknowledged_runs: Vec<i64> = gc_refused.into_iter().collect();
    // A blob does not fit either.
    let blob = vec![7u8; 2 << 20];
    let r = client()
        .post(s.url(&format!(
            "/v2/before/app/blobs/uploads/?digest={}",
            sha256(&blob)
        )))
        .body(blob.clone())
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::INSUFFICIENT_STORAGE, "STORAGE_FULL").await;
    // Reads go on.
    let r = client()
        .get(s.url("/v2/before/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Space comes back: writes resume without a restart.
    std::fs::remove_file(&filler).unwrap();
    for i in 0..5 {
        let name = format!("after{i}");
        assert_eq!(create(&s, &name).await, StatusCode::CREATED, "{name}");
        accepted.push(name);
    }
    let (status, id) = gc_run(&s).await;
    assert_eq!(status, StatusCode::CREATED);
    acknowledged_runs.extend(id);
    let digest = push_blob(&s, "before/app", &blob).await;
    assert_eq!(digest, sha256(&blob));

    // Everything acknowledged is stored, nothing refused is: after a restart too.
    let s = s.restart().await;
    for name in &accepted {
        let r = get_project(&s, name).await;
        assert_eq!(r, StatusCode::OK, "acknowledged project {name} was lost");
    }
    for name in &refused {
        assert_eq!(get_project(&s, name).await, StatusCode::NOT_FOUND, "{name}");
    }
    for id in acknowledged_runs {
        let r = send(
            &client(),
            &s,
            Method::GET,
            &format!("/api/v2.0/system/gc/{id}"),
            None,
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "acknowledged GC run {id} was lost"
        );
    }
    s.stop().await;
    drop(fs);
}

async fn get_project(s: &TestServer, name: &str) -> StatusCode {
    client()
        .get(s.url(&format!("/api/v2.0/projects/{name}")))
        .header("X-Is-Resource-Name", "true")
        .send()
        .await
        .unwrap()
        .status()
}
