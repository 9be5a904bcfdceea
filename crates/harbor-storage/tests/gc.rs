//! Online garbage collection over real stores (SQLite or PostgreSQL, and a filesystem
//! blob store): what a run reclaims and keeps, the blob-state protocol that makes pushes
//! racing a run safe (docs/gc.md), and a bounded "GC under fire" stress run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use harbor_core::gc::{GcParams, GcStore};
use harbor_core::identity::NewUser;
use harbor_core::model::{BlobState, NewManifest};
use harbor_core::ports::{ByteStream, IdentityStore, MetadataStore};
use harbor_core::quota::QuotaStore;
use harbor_core::registry::QuietGc;
use harbor_core::{Digest, Error, Registry, RegistryConfig, RepositoryName};
use harbor_storage::testing::TestTarget as Target;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};

harbor_storage::contract_tests!(
    reclaims_garbage_and_keeps_live_content,
    marked_blobs_are_refused_until_stored_again,
    pushes_and_pulls_survive_gc_under_fire,
    fsck_reports_and_repairs,
    abandoned_uploads_are_cleaned_up,
);

struct Setup {
    reg: Registry,
    meta: Arc<SqlMetadataStore>,
    dir: tempfile::TempDir,
}

impl Setup {
    /// The file holding a committed blob.
    fn blob_file(&self, d: &Digest) -> std::path::PathBuf {
        self.dir
            .path()
            .join("blobs/sha256")
            .join(&d.hex()[..2])
            .join(d.hex())
    }
}

async fn setup(t: &Target) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let meta = Arc::new(t.open().await);
    let blobs = ObjectBlobStore::filesystem(dir.path(), false).unwrap();
    let reg = Registry::new(Arc::new(blobs), meta.clone(), RegistryConfig::default());
    Setup { reg, meta, dir }
}

async fn project(m: &SqlMetadataStore, name: &str) -> i64 {
    let owner = m
        .create_user(&NewUser {
            username: format!("{name}-owner"),
            email: None,
            realname: name.into(),
            comment: String::new(),
            password_hash: "x".into(),
            sysadmin: false,
        })
        .await
        .unwrap();
    m.create_project(name, owner.id, false).await.unwrap().id
}

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn body(data: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(Bytes::from(data)) }))
}

fn now_window(hours: u64, delete_untagged: bool, dry_run: bool) -> GcParams {
    GcParams {
        delete_untagged,
        dry_run,
        workers: 3,
        time_window: hours,
    }
}

/// Uploads a blob unless the repository already has it (what a client does after HEAD).
async fn ensure_blob(reg: &Registry, r: &RepositoryName, data: &[u8]) -> Result<Digest, Error> {
    let d = Digest::sha256(data);
    if reg.probe_blob(r, &d).await.is_ok() {
        return Ok(d);
    }
    reg.upload_blob(r, &d, Some(data.len() as u64), body(data.to_vec()))
        .await?;
    Ok(d)
}

/// Pushes an image of `layers` (and a config naming `name`), tagged `tag` or by digest.
async fn push(
    reg: &Registry,
    r: &RepositoryName,
    name: &str,
    layers: &[Vec<u8>],
    tag: Option<&str>,
) -> Result<Digest, Error> {
    let config = format!("{{\"name\":\"{name}\"}}").into_bytes();
    let config_digest = ensure_blob(reg, r, &config).await?;
    let mut descs = Vec::new();
    for l in layers {
        let d = ensure_blob(reg, r, l).await?;
        descs.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{d}","size":{}}}"#,
            l.len()
        ));
    }
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{}]}}"#,
        config.len(),
        descs.join(",")
    );
    let digest = Digest::sha256(manifest.as_bytes());
    let reference = tag.map(str::to_owned).unwrap_or_else(|| digest.to_string());
    reg.put_manifest(
        "admin",
        r,
        &reference,
        Some("application/vnd.oci.image.manifest.v1+json"),
        Bytes::from(manifest),
        &[],
    )
    .await?;
    Ok(digest)
}

/// Pulls a manifest and every blob it references, checking each digest.
async fn pull_all(reg: &Registry, r: &RepositoryName, digest: &Digest) -> Result<(), String> {
    let m = reg
        .get_manifest(r, digest.as_str())
        .await
        .map_err(|e| format!("manifest {digest}: {e}"))?;
    let parsed: serde_json::Value = serde_json::from_slice(&m.content).unwrap();
    let mut blobs = vec![parsed["config"]["digest"].as_str().unwrap().to_owned()];
    for l in parsed["layers"].as_array().unwrap() {
        blobs.push(l["digest"].as_str().unwrap().to_owned());
    }
    for b in blobs {
        let d = Digest::parse(&b).unwrap();
        let read = reg
            .read_blob(r, &d, None)
            .await
            .map_err(|e| format!("blob {d} of {digest}: {e}"))?;
        let bytes: Vec<Bytes> = read
            .body
            .try_collect()
            .await
            .map_err(|e| format!("reading {d}: {e}"))?;
        let all: Vec<u8> = bytes.concat();
        if Digest::sha256(&all) != d {
            return Err(format!("blob {d} of {digest} has the wrong content"));
        }
    }
    Ok(())
}

fn layer(name: &str, size: usize) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.resize(size, b'x');
    v
}

async fn state(m: &SqlMetadataStore, d: &Digest) -> BlobState {
    m.blob_version(d).await.unwrap().state
}

async fn consistent(m: &SqlMetadataStore, p: i64) {
    let r = m.recount_quota(p).await.unwrap();
    assert!(r.consistent(), "quota drifted: {r:?}");
}

async fn reclaims_garbage_and_keeps_live_content(t: &Target) {
    let s = setup(t).await;
    let p = project(&s.meta, "team").await;
    let app = repo("team/app");
    let (l1, l2, l3, l4, l5) = (
        layer("l1", 3000),
        layer("l2", 4000),
        layer("l3", 5000),
        layer("l4", 6000),
        layer("l5", 7000),
    );
    let a = push(&s.reg, &app, "a", &[l1.clone(), l2.clone()], Some("v1"))
        .await
        .unwrap();
    let b = push(&s.reg, &app, "b", &[l2.clone(), l3.clone()], Some("v2"))
        .await
        .unwrap();
    let c = push(&s.reg, &app, "c", std::slice::from_ref(&l4), None)
        .await
        .unwrap();
    // A blob uploaded without any manifest (an abandoned push).
    let orphan = ensure_blob(&s.reg, &app, &l5).await.unwrap();
    s.reg
        .delete_artifact("admin", &app, b.as_str())
        .await
        .unwrap();
    consistent(&s.meta, p).await;

    // Inside the time window nothing goes.
    let report = s
        .reg
        .collect_garbage(&now_window(2, true, false), &QuietGc::default())
        .await
        .unwrap();
    assert_eq!(
        (report.artifacts_deleted, report.blobs_deleted),
        (0, 0),
        "{report:?}"
    );

    // A dry run counts what a real run then deletes, and changes nothing.
    let usage_before = s.meta.project_quota(p).await.unwrap().unwrap().used;
    let dry = s
        .reg
        .collect_garbage(&now_window(0, false, true), &QuietGc::default())
        .await
        .unwrap();
    // b's config, l3 and the orphan l5.
    assert_eq!(dry.blobs_deleted, 3, "{dry:?}");
    let dry_bytes = dry.bytes_freed;
    // The run inside the window kept exactly that garbage, and said so.
    assert_eq!(
        (
            report.blobs_kept_young,
            report.bytes_kept_young,
            report.time_window_hours
        ),
        (3, dry_bytes, 2),
        "{report:?}"
    );
    assert_eq!(dry.blobs_kept_young, 0, "{dry:?}");
    assert_eq!(state(&s.meta, &orphan).await, BlobState::Live);
    assert_eq!(
        s.meta.project_quota(p).await.unwrap().unwrap().used,
        usage_before
    );
    let dry_untagged = s
        .reg
        .collect_garbage(&now_window(0, true, true), &QuietGc::default())
        .await
        .unwrap();
    assert_eq!(dry_untagged.artifacts_deleted, 1);
    assert!(pull_all(&s.reg, &app, &c).await.is_ok());

    let real = s
        .reg
        .collect_garbage(&now_window(0, false, false), &QuietGc::default())
        .await
        .unwrap();
    assert_eq!(
        (real.blobs_deleted, real.bytes_freed, real.blobs_failed),
        (3, dry_bytes, 0)
    );
    let l3d = Digest::sha256(&l3);
    for d in [&l3d, &orphan] {
        assert_eq!(state(&s.meta, d).await, BlobState::Deleted);
        assert_eq!(s.reg.blob_store().size(d).await.unwrap(), None, "{d}");
        assert!(matches!(
            s.reg.stat_blob(&app, d).await,
            Err(Error::BlobUnknown(_))
        ));
    }
    // Untagged c survived (delete_untagged was off); now it goes, and its blobs with it.
    let real = s
        .reg
        .collect_garbage(&now_window(0, true, false), &QuietGc::default())
        .await
        .unwrap();
    assert_eq!(real.artifacts_deleted, 1);
    assert_eq!(real.blobs_deleted, 2, "c's config and l4: {real:?}");
    assert!(s.reg.get_manifest(&app, c.as_str()).await.is_err());
    // The deletion is an event like any other, by the system.
    let deleted = harbor_core::events::DomainEvent::ArtifactDeleted {
        repository: app.to_string(),
        digest: c.to_string(),
    };
    let events = harbor_core::events::EventStore::events_after(s.meta.as_ref(), 0, 1000)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == deleted && e.actor == harbor_core::events::SYSTEM),
        "{events:?}"
    );
    // Live content is untouched and pulls completely.
    pull_all(&s.reg, &app, &a).await.unwrap();
    for d in [Digest::sha256(&l1), Digest::sha256(&l2)] {
        assert_eq!(state(&s.meta, &d).await, BlobState::Live);
    }
    consistent(&s.meta, p).await;
    // Quota now holds exactly a's manifest, config and layers.
    let q = s.meta.project_quota(p).await.unwrap().unwrap();
    let a_manifest = s.reg.get_manifest(&app, a.as_str()).await.unwrap();
    assert_eq!(
        q.used as usize,
        a_manifest.content.len() + "{\"name\":\"a\"}".len() + l1.len() + l2.len()
    );
    // Nothing left to collect.
    let again = s
        .reg
        .collect_garbage(&now_window(0, true, false), &QuietGc::default())
        .await
        .unwrap();
    assert_eq!((again.artifacts_deleted, again.blobs_deleted), (0, 0));
    // A deleted blob can be pushed again and is live once more.
    let again_a = push(&s.reg, &app, "b", &[l2.clone(), l3.clone()], Some("v2"))
        .await
        .unwrap();
    assert_eq!(again_a, b);
    pull_all(&s.reg, &app, &b).await.unwrap();
    assert_eq!(state(&s.meta, &l3d).await, BlobState::Live);
    consistent(&s.meta, p).await;
}

async fn marked_blobs_are_refused_until_stored_again(t: &Target) {
    let s = setup(t).await;
    project(&s.meta, "team").await;
    let app = repo("team/app");
    let data = layer("x", 100);
    let x = ensure_blob(&s.reg, &app, &data).await.unwrap();
    let seen = s.meta.blob_version(&x).await.unwrap();
    assert_eq!((seen.state, seen.version), (BlobState::Live, 0));

    let candidates = s
        .meta
        .gc_candidates(i64::MAX, "sha256:", "sha256:g")
        .await
        .unwrap();
    assert_eq!(candidates.len(), 1);
    // A cutoff before the blob's last touch protects it.
    assert!(s.meta.mark_blobs(&candidates, 0).await.unwrap().is_empty());
    let marked = s.meta.mark_blobs(&candidates, i64::MAX).await.unwrap();
    assert_eq!(marked.len(), 1);
    let v = s.meta.blob_version(&x).await.unwrap();
    assert_eq!((v.state, v.version), (BlobState::Deleting, 1));

    // While deleting: not served, not mountable, not referencable, and an upload that
    // looked before the mark cannot vouch for it.
    assert_eq!(s.meta.repository_blob(&app, &x).await.unwrap(), None);
    assert_eq!(s.meta.blob_size(&x).await.unwrap(), None);
    assert!(matches!(
        s.meta.link_blob(&repo("team/other"), &x, 100).await,
        Err(Error::BlobChanged(_))
    ));
    assert!(matches!(
        s.meta.finish_upload(None, &app, &x, 100, 0).await,
        Err(Error::BlobChanged(_))
    ));
    let manifest = NewManifest {
        digest: Digest::sha256(b"m"),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::from_static(b"m"),
        blobs: vec![x.clone()],
        manifests: vec![],
        children_pending: false,
    };
    assert!(matches!(
        s.meta.put_manifest(&app, &manifest, &[]).await,
        Err(Error::ManifestBlobUnknown(_))
    ));
    // The mark released the quota charge at once.
    let p = s.meta.project_by_name("team").await.unwrap().unwrap().id;
    assert_eq!(s.meta.project_quota(p).await.unwrap().unwrap().used, 0);
    consistent(&s.meta, p).await;

    // The run finishes: a tombstone at version 2.
    s.reg.blob_store().delete(&x).await.unwrap();
    s.meta.finish_blobs(std::slice::from_ref(&x)).await.unwrap();
    let v = s.meta.blob_version(&x).await.unwrap();
    assert_eq!((v.state, v.version), (BlobState::Deleted, 2));
    // An upload that looked before the mark still may not vouch; one that looked after
    // the tombstone may.
    assert!(matches!(
        s.meta.finish_upload(None, &app, &x, 100, 1).await,
        Err(Error::BlobChanged(_))
    ));
    // Through the registry: the bytes are stored again and the blob is live.
    ensure_blob(&s.reg, &app, &data).await.unwrap();
    assert_eq!(state(&s.meta, &x).await, BlobState::Live);
    assert_eq!(s.meta.repository_blob(&app, &x).await.unwrap(), Some(100));
    assert_eq!(s.reg.blob_store().size(&x).await.unwrap(), Some(100));
    consistent(&s.meta, p).await;
}

/// Pushes (new layers and layers shared with artifacts being deleted), pulls and deletes
/// run while garbage collection loops with a zero time window. Afterwards every push
/// that succeeded and was not deleted pulls completely. Bounded for CI: a few hundred
/// pushes.
async fn pushes_and_pulls_survive_gc_under_fire(t: &Target) {
    const PUSHERS: usize = 4;
    const PUSHES_EACH: usize = 40;
    let s = setup(t).await;
    let p = project(&s.meta, "fire").await;
    let shared: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..12)
            .map(|i| layer(&format!("shared{i}"), 2048 + i))
            .collect(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let gc_runs = Arc::new(AtomicU64::new(0));
    let deleted_blobs = Arc::new(AtomicU64::new(0));

    let gc = {
        let (reg, done, runs, deleted) = (
            s.reg.clone(),
            done.clone(),
            gc_runs.clone(),
            deleted_blobs.clone(),
        );
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let report = reg
                    .collect_garbage(&now_window(0, true, false), &QuietGc::default())
                    .await
                    .expect("gc run");
                runs.fetch_add(1, Ordering::Relaxed);
                deleted.fetch_add(report.blobs_deleted, Ordering::Relaxed);
                // Back to back, but leaving pushes room to finish now and then.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let mut pushers = Vec::new();
    for w in 0..PUSHERS {
        let (reg, shared) = (s.reg.clone(), shared.clone());
        pushers.push(tokio::spawn(async move {
            let r = repo(&format!("fire/app{}", w % 2));
            let mut kept = Vec::new();
            let mut failures = 0u32;
            for i in 0..PUSHES_EACH {
                let layers = vec![
                    shared[(w + i) % shared.len()].clone(),
                    shared[(w * 7 + i * 3) % shared.len()].clone(),
                    layer(&format!("own-{w}-{i}"), 1500),
                ];
                let tag = format!("w{w}-{i}");
                match push(&reg, &r, &format!("{w}-{i}"), &layers, Some(&tag)).await {
                    Ok(d) => {
                        // Every other artifact is deleted again: its layers (shared
                        // ones included) become garbage the next run takes.
                        if i % 2 == 1 {
                            reg.delete_artifact("admin", &r, d.as_str()).await.unwrap();
                        } else {
                            pull_all(&reg, &r, &d).await.unwrap();
                            kept.push((r.clone(), d));
                        }
                    }
                    Err(Error::ManifestBlobUnknown(_) | Error::BlobChanged(_)) => failures += 1,
                    Err(e) => panic!("push failed with an unexpected error: {e}"),
                }
            }
            (kept, failures)
        }));
    }
    let mut kept = Vec::new();
    let mut failures = 0;
    for h in pushers {
        let (k, f) = h.await.unwrap();
        kept.extend(k);
        failures += f;
    }
    done.store(true, Ordering::Relaxed);
    gc.await.unwrap();
    // One more run after the fire: still nothing live may go.
    s.reg
        .collect_garbage(&now_window(0, true, false), &QuietGc::default())
        .await
        .unwrap();
    assert!(
        gc_runs.load(Ordering::Relaxed) >= 2,
        "GC must have run during the pushes"
    );
    assert!(
        deleted_blobs.load(Ordering::Relaxed) > 0,
        "GC must have deleted blobs during the pushes"
    );
    // With a zero window most pushes race a run; enough must get through for the
    // check below to mean something.
    assert!(
        kept.len() >= 5,
        "too few pushes succeeded: {} (failures {failures})",
        kept.len()
    );
    for (r, d) in &kept {
        if let Err(e) = pull_all(&s.reg, r, d).await {
            panic!("a successfully pushed manifest no longer pulls: {e}");
        }
    }
    consistent(&s.meta, p).await;
    eprintln!(
        "gc under fire: {} runs, {} blobs deleted, {} pushes kept, {failures} pushes refused",
        gc_runs.load(Ordering::Relaxed),
        deleted_blobs.load(Ordering::Relaxed),
        kept.len()
    );
}

async fn fsck_reports_and_repairs(t: &Target) {
    let s = setup(t).await;
    project(&s.meta, "team").await;
    let app = repo("team/app");
    let (l1, l2) = (layer("l1", 3000), layer("l2", 4000));
    let image = push(&s.reg, &app, "a", &[l1.clone(), l2.clone()], Some("v1"))
        .await
        .unwrap();
    let clean = s.reg.fsck(false, Duration::ZERO).await.unwrap();
    assert!(clean.clean(), "{clean:?}");
    assert_eq!((clean.records, clean.objects), (3, 3));

    // Break storage three ways: a blob lost, a blob of the wrong size, an orphan.
    let (d1, d2) = (Digest::sha256(&l1), Digest::sha256(&l2));
    std::fs::remove_file(s.blob_file(&d1)).unwrap();
    std::fs::write(s.blob_file(&d2), b"short").unwrap();
    let orphan_bytes = layer("orphan", 500);
    let orphan = Digest::sha256(&orphan_bytes);
    std::fs::create_dir_all(s.blob_file(&orphan).parent().unwrap()).unwrap();
    std::fs::write(s.blob_file(&orphan), &orphan_bytes).unwrap();
    // A stray file that is no blob path is not counted.
    std::fs::write(s.dir.path().join("blobs/sha256/README"), b"x").unwrap();

    let young = s.reg.fsck(true, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(young.orphans_too_young, 1);
    assert_eq!((young.orphan_count, young.orphans_removed), (0, 0));
    assert!(s.blob_file(&orphan).exists());

    let report = s.reg.fsck(false, Duration::ZERO).await.unwrap();
    assert_eq!(report.missing, vec![d1.to_string()]);
    assert_eq!(report.size_mismatches.len(), 1);
    assert!(report.size_mismatches[0].starts_with(d2.as_str()));
    assert_eq!(report.orphans, vec![orphan.to_string()]);
    assert_eq!(report.orphan_bytes, 500);
    assert_eq!(report.orphans_removed, 0);
    assert!(s.blob_file(&orphan).exists(), "no repair without asking");

    let repaired = s.reg.fsck(true, Duration::ZERO).await.unwrap();
    assert_eq!(repaired.orphans_removed, 1);
    assert!(!s.blob_file(&orphan).exists());
    assert_eq!(state(&s.meta, &orphan).await, BlobState::Deleted);
    let after = s.reg.fsck(false, Duration::ZERO).await.unwrap();
    assert_eq!(
        (
            after.orphan_count,
            after.missing_count,
            after.size_mismatch_count
        ),
        (0, 1, 1)
    );
    assert_eq!(
        after.records, 3,
        "the removed orphan's tombstone is no blob record"
    );
    // The repaired digest can be uploaded for real afterwards.
    ensure_blob(&s.reg, &app, &orphan_bytes).await.unwrap();
    assert_eq!(state(&s.meta, &orphan).await, BlobState::Live);
    assert!(pull_all(&s.reg, &app, &image).await.is_err(), "l1 is lost");
}

async fn abandoned_uploads_are_cleaned_up(t: &Target) {
    let s = setup(t).await;
    project(&s.meta, "team").await;
    let app = repo("team/app");
    let started = s.reg.start_upload(&app).await.unwrap();
    s.reg
        .patch_upload(&app, started.id.as_str(), None, None, body(vec![7; 1000]))
        .await
        .unwrap();
    let staged = s.dir.path().join("_uploads").join(started.id.as_str());
    assert!(staged.exists());
    // A session a request holds right now is left alone.
    let held = s.reg.start_upload(&app).await.unwrap();
    let now = harbor_core::model::now_ms();
    let lease = harbor_core::model::Lease {
        token: "busy".into(),
        now,
        until: now + 60_000,
    };
    assert!(matches!(
        s.meta
            .claim_upload(&app, &held.id, &lease, None)
            .await
            .unwrap(),
        harbor_core::model::Claim::Claimed(_)
    ));
    // Staging without a session (a single-request upload that crashed).
    std::fs::write(s.dir.path().join("_uploads/crashed-upload"), b"partial").unwrap();

    let fresh = s
        .reg
        .purge_uploads(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!((fresh.sessions, fresh.orphan_staging), (0, 0));
    assert!(staged.exists());

    tokio::time::sleep(Duration::from_millis(5)).await;
    let purged = s.reg.purge_uploads(Duration::ZERO).await.unwrap();
    assert_eq!((purged.sessions, purged.orphan_staging), (1, 1));
    assert!(!staged.exists());
    assert!(!s.dir.path().join("_uploads/crashed-upload").exists());
    assert!(matches!(
        s.reg.upload_status(&app, started.id.as_str()).await,
        Err(Error::BlobUploadUnknown)
    ));
    assert!(s.reg.upload_status(&app, held.id.as_str()).await.is_ok());
}
