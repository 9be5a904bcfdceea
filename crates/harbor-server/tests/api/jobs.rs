//! Background jobs over HTTP: garbage collection (`/system/gc`), the audit purge
//! (`/system/purgeaudit`), the storage check (`/system/fsck`), retention runs and the job
//! service views, each with Harbor's request and response shapes, run by the server's
//! own workers against real storage.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::support::*;

/// Polls an execution until it ends; returns it.
async fn wait_done(s: &TestServer, path: &str) -> Value {
    for _ in 0..300 {
        let v: Value = get_json(&client(), s, path).await;
        let status = v["job_status"]
            .as_str()
            .or_else(|| v["status"].as_str())
            .unwrap_or_default()
            .to_owned();
        if ["Success", "Error", "Stopped"].contains(&status.as_str()) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} did not finish");
}

/// Starts a manual run of a system job; returns the path of the execution.
async fn run_now(s: &TestServer, kind: &str, parameters: Value) -> String {
    let resp = admin(
        s,
        Method::POST,
        &format!("/api/v2.0/system/{kind}/schedule"),
        Some(json!({"schedule": {"type": "Manual"}, "parameters": parameters})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = header(resp.headers(), "location").unwrap().to_owned();
    assert!(location.starts_with(&format!("/api/v2.0/system/{kind}/")));
    // The body names the run the `Location` points at, and nothing else.
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({ "id": id }));
    location
}

async fn text(s: &TestServer, path: &str) -> String {
    let resp = get(&client(), s, path).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.text().await.unwrap()
}

fn gc_params(dry_run: bool) -> Value {
    json!({"delete_untagged": true, "dry_run": dry_run, "workers": 2, "time_window": 0})
}

#[tokio::test]
async fn gc_reclaims_deleted_artifacts_and_keeps_live_ones() {
    let s = TestServer::start().await;
    let (kept, _) = push_image(&s, "library/app", "v1", 1).await;
    let (gone, gone_manifest) = push_image(&s, "library/app", "v2", 2).await;
    let parsed: Value = serde_json::from_slice(&gone_manifest).unwrap();
    let gone_layer = parsed["layers"][0]["digest"].as_str().unwrap().to_owned();
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/projects/library/repositories/app/artifacts/{gone}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // A dry run reports and deletes nothing.
    let dry = wait_done(&s, &run_now(&s, "gc", gc_params(true)).await).await;
    assert_eq!(dry["job_status"], "Success", "{dry}");
    assert_eq!(dry["job_kind"], "MANUAL");
    assert_eq!(dry["job_name"], "GARBAGE_COLLECTION");
    assert_eq!(dry["progress"]["blobs_deleted"], 2, "{dry}");
    assert_eq!(dry["progress"]["dry_run"], true);
    assert!(
        s.stored_blob_size(&gone_layer).await.is_some(),
        "a dry run deletes nothing"
    );

    let path = run_now(&s, "gc", gc_params(false)).await;
    let run = wait_done(&s, &path).await;
    assert_eq!(run["job_status"], "Success", "{run}");
    let p = &run["progress"];
    assert_eq!(p["blobs_deleted"], 2, "{run}");
    assert_eq!(p["blobs_failed"], 0);
    assert!(p["bytes_freed"].as_u64().unwrap() > 1000);
    assert!(run["start_time"].is_string() && run["end_time"].is_string());
    let params: Value = serde_json::from_str(run["job_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["workers"], 2);
    let log = text(&s, &format!("{path}/log")).await;
    assert!(log.contains("[INFO] start: delete_untagged=true"), "{log}");
    assert!(log.contains("done in"), "{log}");

    // The live image pulls completely; the deleted one's bytes are gone from disk.
    let manifest = get(&client(), &s, &format!("/v2/library/app/manifests/{kept}")).await;
    assert_eq!(manifest.status(), StatusCode::OK);
    let m: Value = manifest.json().await.unwrap();
    for d in [&m["config"]["digest"], &m["layers"][0]["digest"]] {
        let d = d.as_str().unwrap();
        let blob = get(&client(), &s, &format!("/v2/library/app/blobs/{d}")).await;
        assert_eq!(blob.status(), StatusCode::OK);
        assert_eq!(sha256(&blob.bytes().await.unwrap()), d);
    }
    assert_eq!(
        s.stored_blob_size(&gone_layer).await,
        None,
        "GC removed the layer from storage"
    );

    // History, newest first, with Harbor's paging headers.
    let resp = get(&client(), &s, "/api/v2.0/system/gc?page=1&page_size=1").await;
    assert_eq!(header(resp.headers(), "x-total-count"), Some("2"));
    let h: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(h[0]["id"], run["id"]);
    // Stopping a finished run changes nothing (200, as Harbor); a missing run is 404.
    let resp = admin(&s, Method::PUT, &path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let after: Value = get_json(&client(), &s, &path).await;
    assert_eq!(after["job_status"], "Success");
    assert_eq!(
        status_of(&client(), &s, "/api/v2.0/system/gc/999999").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn gc_schedules_and_access() {
    let s = TestServer::start().await;
    let resp = admin(
        &s,
        Method::PUT,
        "/api/v2.0/system/gc/schedule",
        Some(json!({"schedule": {"type": "Daily"}, "parameters": gc_params(false)})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sched: Value = get_json(&client(), &s, "/api/v2.0/system/gc/schedule").await;
    assert_eq!(sched["schedule"]["type"], "Daily");
    assert_eq!(sched["schedule"]["cron"], "0 0 0 * * *");
    assert!(sched["schedule"]["next_scheduled_time"].is_string());
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/schedules").await;
    let names: Vec<&str> = all.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(
        all.iter().all(|s| s["vendor_id"] == -1),
        "system jobs: {all:?}"
    );
    assert!(
        names.contains(&"gc") && names.contains(&"upload_cleanup"),
        "{all:?}"
    );
    // The built-in hourly upload cleanup, with its age from the configuration.
    let cleanup: Value = get_json(&client(), &s, "/api/v2.0/system/uploadcleanup/schedule").await;
    assert_eq!(cleanup["schedule"]["type"], "Hourly", "{cleanup}");
    let params: Value = serde_json::from_str(cleanup["job_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["max_age_hours"], 24);
    let run = wait_done(
        &s,
        &run_now(&s, "uploadcleanup", json!({"max_age_hours": 0})).await,
    )
    .await;
    assert_eq!(run["job_status"], "Success", "{run}");
    assert!(run["progress"]["sessions"].is_u64(), "{run}");

    for (body, why) in [
        (
            json!({"schedule": {"type": "Custom", "cron": "not a cron"}, "parameters": {}}),
            "bad cron",
        ),
        (
            json!({"schedule": {"type": "Custom", "cron": "0 0 0 31 2 *"}, "parameters": {}}),
            "never fires",
        ),
        (
            json!({"schedule": {"type": "Daily"}, "parameters": {"workers": 11}}),
            "too many workers",
        ),
        (
            json!({"schedule": {"type": "Sometimes"}, "parameters": {}}),
            "unknown type",
        ),
    ] {
        let resp = admin(&s, Method::PUT, "/api/v2.0/system/gc/schedule", Some(body)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{why}");
    }
    let resp = admin(
        &s,
        Method::PUT,
        "/api/v2.0/system/gc/schedule",
        Some(json!({"schedule": {"type": "None"}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sched: Value = get_json(&client(), &s, "/api/v2.0/system/gc/schedule").await;
    assert_eq!(sched, json!({"schedule": {"type": "None"}}));

    // System administrators only.
    create_user(&s, "dev").await;
    let dev = as_user("dev", PASSWORD);
    for path in [
        "/api/v2.0/system/gc",
        "/api/v2.0/system/gc/schedule",
        "/api/v2.0/system/purgeaudit",
        "/api/v2.0/system/fsck",
        "/api/v2.0/jobservice/queues",
        "/api/v2.0/schedules",
    ] {
        assert_eq!(
            status_of(&dev, &s, path).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            status_of(&anon_client(), &s, path).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let resp = dev
        .post(s.url("/api/v2.0/system/gc/schedule"))
        .json(&json!({"schedule": {"type": "Manual"}, "parameters": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn queued_jobs_can_be_stopped_and_run_one_at_a_time() {
    // An API-only replica: jobs queue up, nothing runs them.
    let tmp = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(tmp.path(), |c| c.jobs.enabled = false).await;
    let path = run_now(&s, "gc", gc_params(false)).await;
    let run: Value = get_json(&client(), &s, &path).await;
    assert_eq!(run["job_status"], "Pending");
    // A second manual run while one is queued: 409.
    let resp = admin(
        &s,
        Method::POST,
        "/api/v2.0/system/gc/schedule",
        Some(json!({"schedule": {"type": "Manual"}, "parameters": gc_params(false)})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let queues: Vec<Value> = get_json(&client(), &s, "/api/v2.0/jobservice/queues").await;
    let gc = queues
        .iter()
        .find(|q| q["job_type"] == "GARBAGE_COLLECTION")
        .unwrap();
    assert_eq!(gc["count"], 1);
    let resp = admin(&s, Method::PUT, &path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let run: Value = get_json(&client(), &s, &path).await;
    assert_eq!(run["job_status"], "Stopped");
    // The job service's stop, as Harbor calls it: a PUT without a body.
    let second = run_now(&s, "gc", gc_params(false)).await;
    let job_id = second.rsplit('/').next().unwrap().to_owned();
    let resp = admin(
        &s,
        Method::PUT,
        &format!("/api/v2.0/jobservice/jobs/{job_id}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let stopped: Value = get_json(&client(), &s, &second).await;
    assert_eq!(stopped["job_status"], "Stopped");
    // Started again with workers, the next run goes through.
    let s = s.restart_with(|c| c.jobs.enabled = true).await;
    let run = wait_done(&s, &run_now(&s, "gc", gc_params(false)).await).await;
    assert_eq!(run["job_status"], "Success");
    let id = run["id"].as_i64().unwrap();
    let log = text(&s, &format!("/api/v2.0/jobservice/jobs/{id}/log")).await;
    assert!(log.contains("done in"), "{log}");
    drop(tmp);
}

#[tokio::test]
async fn audit_purge_and_fsck_run_as_jobs() {
    let s = TestServer::start().await;
    seed_image(&s, "library/app", "v1").await;
    wait_audit(&s, "", |e| e["operation"] == "create").await;
    let params = json!({"audit_retention_hour": 0, "include_operations": "create,delete,pull", "dry_run": true});
    let dry = wait_done(&s, &run_now(&s, "purgeaudit", params.clone()).await).await;
    assert_eq!(dry["job_status"], "Success", "{dry}");
    assert_eq!(dry["job_name"], "PURGE_AUDIT_LOG");
    let would = dry["progress"]["purged"].as_u64().unwrap();
    assert!(would >= 1, "{dry}");
    let before: Vec<Value> = get_json(&client(), &s, "/api/v2.0/audit-logs?page_size=100").await;
    assert!(before.iter().any(|e| e["operation"] == "create"));

    let mut real = params.clone();
    real["dry_run"] = json!(false);
    let done = wait_done(&s, &run_now(&s, "purgeaudit", real).await).await;
    assert_eq!(done["job_status"], "Success", "{done}");
    assert!(done["progress"]["purged"].as_u64().unwrap() >= would);
    let after: Vec<Value> = get_json(&client(), &s, "/api/v2.0/audit-logs?page_size=100").await;
    assert!(
        !after
            .iter()
            .any(|e| e["operation"] == "create" && e["resource_type"] == "artifact"),
        "{after:?}"
    );
    let bad = admin(
        &s,
        Method::POST,
        "/api/v2.0/system/purgeaudit/schedule",
        Some(json!({"schedule": {"type": "Manual"}, "parameters": {"audit_retention_hour": -1}})),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let fsck = wait_done(&s, &run_now(&s, "fsck", json!({"repair": false})).await).await;
    assert_eq!(fsck["job_status"], "Success", "{fsck}");
    let p = &fsck["progress"];
    assert_eq!(p["records"], 2, "{fsck}");
    assert_eq!(p["objects"], 2);
    assert_eq!(
        (
            &p["missing_count"],
            &p["orphan_count"],
            &p["size_mismatch_count"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
}

#[tokio::test]
async fn retention_runs_delete_what_the_policy_does_not_keep() {
    let s = TestServer::start().await;
    let pid = create_project(&s, "keep", false).await;
    let mut digests = Vec::new();
    for (i, tag) in ["v1", "v2", "v3"].iter().enumerate() {
        let (d, _) = push_image(&s, "keep/app", tag, 10 + i as u8).await;
        digests.push(d);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let policy = json!({
        "algorithm": "or",
        "rules": [{
            "disabled": false, "action": "retain", "template": "latestPushedK",
            "params": {"latestPushedK": 1},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}
        }],
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 3 * * *"}},
        "scope": {"level": "project", "ref": pid}
    });
    let resp = admin(&s, Method::POST, "/api/v2.0/retentions", Some(policy)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let loc = header(resp.headers(), "location").unwrap().to_owned();
    let id = loc.rsplit('/').next().unwrap().to_owned();
    // The trigger became a schedule.
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/schedules").await;
    assert!(
        all.iter().any(|x| x["name"] == format!("retention:{id}")
            && x["vendor_id"].as_i64() == id.parse::<i64>().ok()
            && x["cron"] == "0 0 3 * * *"),
        "{all:?}"
    );

    // Without a body nothing starts (it used to be a real run).
    let resp = admin(
        &s,
        Method::POST,
        &format!("/api/v2.0/retentions/{id}/executions"),
        None,
    )
    .await;
    harbor_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
    )
    .await;
    let none: Vec<Value> = get_json(
        &client(),
        &s,
        &format!("/api/v2.0/retentions/{id}/executions"),
    )
    .await;
    assert!(none.is_empty(), "{none:?}");

    let mut runs = Vec::new();
    for dry_run in [true, false] {
        let resp = admin(
            &s,
            Method::POST,
            &format!("/api/v2.0/retentions/{id}/executions"),
            Some(json!({"dry_run": dry_run})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let exec = header(resp.headers(), "location").unwrap().to_owned();
        let eid = exec.rsplit('/').next().unwrap().to_owned();
        // Executions carry `status`, not `job_status`: poll the list.
        let mut done = Value::Null;
        for _ in 0..300 {
            let list: Vec<Value> = get_json(
                &client(),
                &s,
                &format!("/api/v2.0/retentions/{id}/executions"),
            )
            .await;
            let e = list
                .iter()
                .find(|e| e["id"].as_i64().map(|i| i.to_string()).as_deref() == Some(eid.as_str()))
                .unwrap()
                .clone();
            if ["Success", "Error", "Stopped"].contains(&e["status"].as_str().unwrap()) {
                done = e;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(done["status"], "Success", "{done}");
        assert_eq!(done["dry_run"], dry_run);
        let tasks: Vec<Value> = get_json(
            &client(),
            &s,
            &format!("/api/v2.0/retentions/{id}/executions/{eid}/tasks"),
        )
        .await;
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0]["repository"], "keep/app");
        assert_eq!(
            (&tasks[0]["retained"], &tasks[0]["deleted"]),
            (&json!(1), &json!(2))
        );
        let log = text(
            &s,
            &format!(
                "/api/v2.0/retentions/{id}/executions/{eid}/tasks/{}",
                tasks[0]["id"]
            ),
        )
        .await;
        assert!(
            log.contains("keep/app") || log.contains("Run retention"),
            "{log}"
        );
        runs.push(eid);
    }
    // The real run removed the two older images; the newest remains.
    let arts: Vec<Value> = get_json(
        &client(),
        &s,
        "/api/v2.0/projects/keep/repositories/app/artifacts",
    )
    .await;
    let left: Vec<&str> = arts.iter().filter_map(|a| a["digest"].as_str()).collect();
    assert_eq!(left, vec![digests[2].as_str()]);
    // Deleting the policy removes its schedule.
    let resp = admin(
        &s,
        Method::DELETE,
        &format!("/api/v2.0/retentions/{id}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let all: Vec<Value> = get_json(&client(), &s, "/api/v2.0/schedules").await;
    assert!(!all.iter().any(|x| x["name"] == format!("retention:{id}")));
}

/// Pushes one image over HTTP, tolerating what a race with garbage collection may
/// answer (`MANIFEST_BLOB_UNKNOWN`, `BLOB_UPLOAD_UNKNOWN`); returns the manifest digest
/// on success.
async fn try_push(s: &TestServer, repo: &str, tag: &str, layers: &[Vec<u8>]) -> Option<String> {
    let c = client();
    let config = format!("{{\"tag\":\"{tag}\"}}").into_bytes();
    let mut descs = Vec::new();
    for blob in std::iter::once(&config).chain(layers) {
        let d = sha256(blob);
        // What a client does: HEAD first, upload only if missing.
        let head = c
            .head(s.url(&format!("/v2/{repo}/blobs/{d}")))
            .send()
            .await
            .unwrap();
        if head.status() != StatusCode::OK {
            let resp = c
                .post(s.url(&format!("/v2/{repo}/blobs/uploads/?digest={d}")))
                .body(blob.clone())
                .send()
                .await
                .unwrap();
            match resp.status() {
                StatusCode::CREATED => {}
                StatusCode::NOT_FOUND => return None,
                other => panic!("blob upload answered {other}"),
            }
        }
        descs.push((d, blob.len()));
    }
    let m = image_manifest(
        (&descs[0].0, descs[0].1),
        &descs[1..]
            .iter()
            .map(|(d, n)| (d.as_str(), *n))
            .collect::<Vec<_>>(),
    );
    let resp = put_manifest(s, repo, tag, OCI_MANIFEST, &m).await;
    match resp.status() {
        StatusCode::CREATED => Some(sha256(&m)),
        StatusCode::BAD_REQUEST => {
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN", "{body}");
            None
        }
        other => panic!("manifest push answered {other}"),
    }
}

/// GC under fire over HTTP: clients push (reusing layers of images being deleted) and
/// pull while administrators start GC runs with a zero time window back to back; every
/// push that succeeded pulls completely afterwards. Bounded for CI.
#[tokio::test]
async fn gc_under_fire_over_http() {
    let s = std::sync::Arc::new(TestServer::start().await);
    let shared: Vec<Vec<u8>> = (0..6).map(|i| data(3000 + i, i as u8)).collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gc = {
        let (base, done) = (s.base.clone(), done.clone());
        tokio::spawn(async move {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let resp = client()
                    .post(format!("{base}/api/v2.0/system/gc/schedule"))
                    .json(&json!({"schedule": {"type": "Manual"}, "parameters": gc_params(false)}))
                    .send()
                    .await
                    .unwrap();
                if resp.status() == StatusCode::CREATED {
                    runs += 1;
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            runs
        })
    };
    let mut pushers = Vec::new();
    for w in 0..3usize {
        let (s, shared) = (s.clone(), shared.clone());
        pushers.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            for i in 0..15usize {
                let layers = vec![
                    shared[(w + i) % shared.len()].clone(),
                    data(1500, (w * 40 + i) as u8),
                ];
                let tag = format!("w{w}-{i}");
                if let Some(d) = try_push(&s, "library/fire", &tag, &layers).await {
                    if i % 2 == 1 {
                        let resp = client()
                            .delete(s.url(&format!("/v2/library/fire/manifests/{d}")))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(resp.status(), StatusCode::ACCEPTED);
                    } else {
                        kept.push(d);
                    }
                }
            }
            kept
        }));
    }
    let mut kept = Vec::new();
    for p in pushers {
        kept.extend(p.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = gc.await.unwrap();
    assert!(runs >= 1, "GC must have run during the pushes");
    // Let the last run finish, then run once more.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last = loop {
        let resp = admin(
            &s,
            Method::POST,
            "/api/v2.0/system/gc/schedule",
            Some(json!({"schedule": {"type": "Manual"}, "parameters": gc_params(false)})),
        )
        .await;
        if resp.status() == StatusCode::CREATED {
            break header(resp.headers(), "location").unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(wait_done(&s, &last).await["job_status"], "Success");
    assert!(!kept.is_empty(), "some pushes must have succeeded");
    for d in &kept {
        let resp = get(&client(), &s, &format!("/v2/library/fire/manifests/{d}")).await;
        assert_eq!(resp.status(), StatusCode::OK, "manifest {d}");
        let m: Value = resp.json().await.unwrap();
        let mut blobs = vec![m["config"]["digest"].as_str().unwrap().to_owned()];
        for l in m["layers"].as_array().unwrap() {
            blobs.push(l["digest"].as_str().unwrap().to_owned());
        }
        for b in blobs {
            let resp = get(&client(), &s, &format!("/v2/library/fire/blobs/{b}")).await;
            assert_eq!(resp.status(), StatusCode::OK, "blob {b} of {d}");
            assert_eq!(sha256(&resp.bytes().await.unwrap()), b);
        }
    }
}
