//! Faults the server must live through: a disk filled to the last byte (writes refused
//! with a clear `507`, nothing acknowledged that is not stored, writes back on their own
//! once space is freed), and SIGTERM or SIGKILL in the middle of streaming uploads.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use futures::StreamExt as _;
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
                harbor_storage::testing::skipped(&why);
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

/// Starts a manual run of the system job at `/system/{kind}`; its status and, when
/// accepted, its id.
async fn manual_run(s: &TestServer, kind: &str, parameters: Value) -> (StatusCode, Option<i64>) {
    let r = send(
        &client(),
        s,
        Method::POST,
        &format!("/api/v2.0/system/{kind}/schedule"),
        Some(json!({"schedule": {"type": "Manual"}, "parameters": parameters})),
    )
    .await;
    let status = r.status();
    if status == StatusCode::INSUFFICIENT_STORAGE {
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "STORAGE_FULL", "{kind}: {body}");
        return (status, None);
    }
    let id = r.json::<Value>().await.ok().and_then(|v| v["id"].as_i64());
    (status, id)
}

async fn gc_run(s: &TestServer) -> (StatusCode, Option<i64>) {
    manual_run(s, "gc", json!({"dry_run": true})).await
}

async fn fsck_run(s: &TestServer) -> (StatusCode, Option<i64>) {
    manual_run(s, "fsck", json!({})).await
}

/// Sets the storage check's schedule to `cron` with `method` (`PUT` answers 200, `POST`
/// 201); whether it was stored (refusals must be a clear 507 STORAGE_FULL).
async fn set_fsck_schedule(s: &TestServer, method: Method, cron: &str) -> bool {
    let ok = if method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let r = send(
        &client(),
        s,
        method.clone(),
        "/api/v2.0/system/fsck/schedule",
        Some(json!({"schedule": {"type": "Custom", "cron": cron}, "parameters": {}})),
    )
    .await;
    let status = r.status();
    if status == ok {
        return true;
    }
    assert_eq!(
        status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{method} fsck schedule"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "STORAGE_FULL", "{body}");
    false
}

/// The storage check's scheduled cron, if it has a schedule.
async fn fsck_cron(s: &TestServer) -> Option<String> {
    let r = send(
        &client(),
        s,
        Method::GET,
        "/api/v2.0/system/fsck/schedule",
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    body["schedule"]["cron"].as_str().map(str::to_owned)
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
    let cron_before = fsck_cron(&s).await;
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
    // The storage check alike: a manual run (POST) and its schedule (PUT, POST).
    let (status, id) = fsck_run(&s).await;
    assert!(
        status == StatusCode::INSUFFICIENT_STORAGE || status == StatusCode::CREATED,
        "fsck run: {status}"
    );
    let mut acknowledged_checks: Vec<i64> = id.into_iter().collect();
    let mut stored_cron = cron_before;
    for (method, cron) in [(Method::PUT, "0 0 3 * * *"), (Method::POST, "0 0 5 * * *")] {
        let stored = set_fsck_schedule(&s, method.clone(), cron).await;
        eprintln!("with the disk full: fsck schedule {method} stored: {stored}");
        if stored {
            stored_cron = Some(cron.to_owned());
        }
    }
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
    // The fsck schedule is what was acknowledged while the disk was full, and nothing that
    // was refused; then it changes again.
    assert_eq!(fsck_cron(&s).await, stored_cron);
    let (status, id) = fsck_run(&s).await;
    if acknowledged_checks.is_empty() {
        assert_eq!(status, StatusCode::CREATED, "fsck run");
    } else {
        // The run acknowledged while the disk was full is queued (jobs are off here).
        assert_eq!(status, StatusCode::CONFLICT, "fsck run");
    }
    acknowledged_checks.extend(id);
    for (method, cron) in [
        (Method::POST, "0 30 4 * * *"),
        (Method::PUT, "0 45 4 * * *"),
    ] {
        assert!(set_fsck_schedule(&s, method, cron).await, "{cron}");
    }
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
    // Every acknowledged storage check run is there, and no other.
    for id in &acknowledged_checks {
        let r = send(
            &client(),
            &s,
            Method::GET,
            &format!("/api/v2.0/system/fsck/{id}"),
            None,
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "acknowledged fsck run {id} was lost"
        );
    }
    let r = send(&client(), &s, Method::GET, "/api/v2.0/system/fsck", None).await;
    let runs: Vec<Value> = r.json().await.unwrap();
    let mut stored: Vec<i64> = runs.iter().filter_map(|r| r["id"].as_i64()).collect();
    stored.sort_unstable();
    acknowledged_checks.sort_unstable();
    assert_eq!(stored, acknowledged_checks, "fsck runs");
    assert_eq!(fsck_cron(&s).await.as_deref(), Some("0 45 4 * * *"));
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

/// A `harbor-server` process on `dir` with `env`, killed when dropped.
pub(crate) struct Proc {
    child: std::process::Child,
    pub(crate) base: String,
}

impl Proc {
    pub(crate) fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let (child, base) = crate::start_server(dir, env, std::process::Stdio::null());
        Proc { child, base }
    }

    pub(crate) fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits for the process to exit (at most `limit`).
    pub(crate) async fn exit_within(
        mut self,
        limit: std::time::Duration,
    ) -> std::process::ExitStatus {
        let t = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(t.elapsed() < limit, "still running after {limit:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts an upload of `r` and a PATCH that sends 1000 bytes, then nothing (the request
/// stays in flight); returns the upload's location.
async fn stalled_patch(base: &str) -> String {
    stalled_upload(base, Method::PATCH).await
}

/// Starts an upload of `r` and a request on it that sends 1000 bytes, then nothing (the
/// request stays in flight): a `PATCH`, or with `PUT` a one-shot
/// `PUT ?digest=` of the whole 2000-byte blob (with its `Content-Length`); returns the
/// upload's location.
async fn stalled_upload(base: &str, method: Method) -> String {
    let c = client();
    let r = c
        .post(format!("{base}/v2/r/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let body = futures::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![1u8; 1000]))
    })
    .chain(futures::stream::pending());
    let mut req = if method == Method::PUT {
        let sep = if loc.contains('?') { '&' } else { '?' };
        let digest = sha256(&[1u8; 2000]);
        client()
            .put(format!("{base}{loc}{sep}digest={digest}"))
            .header("content-length", "2000")
    } else {
        client().request(method, format!("{base}{loc}"))
    };
    req = req.body(reqwest::Body::wrap_stream(body));
    tokio::spawn(async move {
        let _ = req.send().await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    loc
}

/// A chunk of 1000 bytes at offset 0 of the upload at `loc`.
async fn resume(base: &str, loc: &str) -> StatusCode {
    client()
        .patch(format!("{base}{loc}"))
        .header("content-range", "0-999")
        .body(vec![2u8; 1000])
        .send()
        .await
        .unwrap()
        .status()
}

/// Holds the data directory's instance lock, as another live process would: a server
/// started meanwhile cannot take over (and release) the leases of the previous one.
fn hold_instance_lock(dir: &Path) -> std::fs::File {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("instance-id"))
        .unwrap();
    f.try_lock().unwrap();
    f
}

/// SIGTERM while an upload streams, a PATCH or a one-shot PUT: the process exits 0 once
/// the grace period is over (it used to overflow its stack and abort), and the cut
/// upload's lease is released on the way out, so the client resumes at once even on a
/// process that cannot take over the old one's leases.
#[tokio::test]
async fn sigterm_during_an_upload_exits_cleanly_and_releases_its_lease() {
    for method in [Method::PATCH, Method::PUT] {
        let dir = tempfile::tempdir().unwrap();
        let p = Proc::start(dir.path(), &[("HARBOR_SHUTDOWN_GRACE_SECS", "1")]);
        let loc = stalled_upload(&p.base, method.clone()).await;
        p.signal("-TERM");
        let status = p.exit_within(std::time::Duration::from_secs(15)).await;
        assert_eq!(status.code(), Some(0), "{method}: exit status {status:?}");
        let _lock = hold_instance_lock(dir.path());
        let p = Proc::start(dir.path(), &[]);
        // Nothing of the cut request was kept: the upload goes on from offset 0.
        assert_eq!(
            resume(&p.base, &loc).await,
            StatusCode::ACCEPTED,
            "{method}"
        );
    }
}

/// kill -9 while an upload streams: a restart on the same data directory releases the
/// dead run's leases at once; a process that cannot take over waits one (short) lease.
#[tokio::test]
async fn after_kill_9_uploads_resume_at_once_after_a_restart_or_after_one_lease() {
    let dir = tempfile::tempdir().unwrap();
    let p = Proc::start(dir.path(), &[]);
    let loc = stalled_patch(&p.base).await;
    p.signal("-KILL");
    let _ = p.exit_within(std::time::Duration::from_secs(10)).await;
    let p = Proc::start(dir.path(), &[]);
    assert_eq!(resume(&p.base, &loc).await, StatusCode::ACCEPTED);

    // Again, now with another process holding the data directory (a replica elsewhere
    // sees the same): the lease expires by itself after at most HARBOR_UPLOAD_LEASE_SECS.
    let loc = stalled_patch(&p.base).await;
    p.signal("-KILL");
    let _ = p.exit_within(std::time::Duration::from_secs(10)).await;
    let _lock = hold_instance_lock(dir.path());
    let p = Proc::start(dir.path(), &[("HARBOR_UPLOAD_LEASE_SECS", "3")]);
    let t = std::time::Instant::now();
    let status = loop {
        let status = resume(&p.base, &loc).await;
        if status != StatusCode::CONFLICT || t.elapsed() > std::time::Duration::from_secs(60) {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(status, StatusCode::ACCEPTED, "after {:?}", t.elapsed());
    // The dead run's lease was taken with the default 30 s; it is gone well before 120 s.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(40),
        "{:?}",
        t.elapsed()
    );
}

/// A live request keeps its upload however slowly its body comes, beyond the lease time:
/// its lease is renewed on a clock, and another request meanwhile is refused.
#[tokio::test]
async fn a_slow_live_upload_keeps_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let p = Proc::start(dir.path(), &[("HARBOR_UPLOAD_LEASE_SECS", "3")]);
    let c = client();
    let r = c
        .post(format!("{}/v2/r/blobs/uploads/", p.base))
        .send()
        .await
        .unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let body = futures::stream::unfold(0u8, |i| async move {
        if i == 4 {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i; 1000])),
            i + 1,
        ))
    });
    let slow = tokio::spawn(
        c.patch(format!("{}{loc}", p.base))
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    // Past one lease, the session is still held by the live request.
    assert_eq!(resume(&p.base, &loc).await, StatusCode::CONFLICT);
    let r = slow.await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.headers()["range"], "0-3999");
}

/// Pushes a one-blob image to `repo:tag` through the server at `base`.
pub(crate) async fn push_at(base: &str, repo: &str, tag: &str, seed: u32) {
    let config = format!("{{\"seed\":{seed}}}").into_bytes();
    let digest = sha256(&config);
    let r = client()
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={digest}"))
        .body(config.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let m = image_manifest((&digest, config.len()), &[]);
    let r = client()
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("content-type", OCI_MANIFEST)
        .body(m)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The `create` entries of the audit log, as `repo:tag`.
async fn created(base: &str) -> Vec<String> {
    let v: Vec<Value> = client()
        .get(format!(
            "{base}/api/v2.0/audit-logs?page_size=100&q=operation%3Dcreate"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut v: Vec<String> = v
        .iter()
        .filter(|e| e["resource_type"] == "artifact")
        .filter_map(|e| e["resource"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

/// Polls the audit log until it holds `want` `create` entries; returns them.
async fn created_eventually(base: &str, want: usize) -> Vec<String> {
    let t = std::time::Instant::now();
    loop {
        let v = created(base).await;
        if v.len() >= want || t.elapsed() > std::time::Duration::from_secs(20) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// kill -9 between a push's commit and the delivery of its event: the event waits in the
/// outbox (written with the push) and reaches the audit log after the restart, once.
#[tokio::test]
async fn events_survive_kill_9_and_reach_the_audit_log_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // This run records events but does not deliver them: the kill comes "between".
    let p = Proc::start(dir.path(), &[("HARBOR_EVENTS_DELIVER", "false")]);
    push_at(&p.base, "library/app", "v1", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(created(&p.base).await, Vec::<String>::new());
    p.signal("-KILL");
    let _ = p.exit_within(std::time::Duration::from_secs(10)).await;

    let mut p = Proc::start(dir.path(), &[]);
    let v = created_eventually(&p.base, 1).await;
    assert_eq!(v, vec!["library/app:v1".to_owned()]);

    // Kills at whatever point delivery has reached: every push is logged once.
    for round in 0..3u32 {
        for i in 0..10u32 {
            push_at(
                &p.base,
                "library/app",
                &format!("r{round}-{i}"),
                100 * round + i,
            )
            .await;
        }
        p.signal("-KILL");
        let _ = p.exit_within(std::time::Duration::from_secs(10)).await;
        p = Proc::start(dir.path(), &[]);
    }
    let want = 1 + 30;
    let v = created_eventually(&p.base, want).await;
    // A moment more, for a duplicate to show if there were one.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let v2 = created(&p.base).await;
    assert_eq!(v, v2);
    let mut expected = vec!["library/app:v1".to_owned()];
    for round in 0..3u32 {
        for i in 0..10u32 {
            expected.push(format!("library/app:r{round}-{i}"));
        }
    }
    expected.sort();
    assert_eq!(v, expected);
}
