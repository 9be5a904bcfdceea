//! The registry service (core) over real adapters: behaviour that needs the service and
//! the stores together, such as uploads moving between replicas and upload leases.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use harbor_core::ports::ByteStream;
use harbor_core::registry::ChunkRange;
use harbor_core::{Digest, Error, Registry, RegistryConfig, RepositoryName};
use harbor_storage::sql::PoolConfig;
use harbor_storage::testing::{TestBucket, TestDatabase};
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};
use object_store::memory::InMemory;
use object_store::path::Path;
use tokio::sync::mpsc;

/// Stores shared by several registry "replicas".
struct Shared {
    db_url: String,
    blobs: Blobs,
    _dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

enum Blobs {
    Memory(Arc<InMemory>),
    S3(Box<TestBucket>),
}

impl Shared {
    /// SQLite and an in-memory object store.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Shared {
            db_url: format!("sqlite://{}", dir.path().join("registry.db").display()),
            blobs: Blobs::Memory(Arc::new(InMemory::new())),
            _dir: dir,
            _db: None,
        }
    }

    /// PostgreSQL and an S3-compatible server, when both are configured.
    async fn scaled() -> Option<Self> {
        let db = TestDatabase::create().await?;
        let bucket = TestBucket::create().await?;
        Some(Shared {
            db_url: db.url.clone(),
            blobs: Blobs::S3(Box::new(bucket)),
            _dir: tempfile::tempdir().unwrap(),
            _db: Some(db),
        })
    }

    /// Both set-ups that are available.
    async fn all() -> Vec<Shared> {
        let mut v = vec![Shared::new()];
        v.extend(Shared::scaled().await);
        v
    }

    /// A registry "replica" over the shared stores.
    async fn replica(&self, config: RegistryConfig) -> Registry {
        let meta = SqlMetadataStore::connect(&self.db_url, &PoolConfig::default())
            .await
            .unwrap();
        let blobs = match &self.blobs {
            Blobs::Memory(m) => ObjectBlobStore::multipart(m.clone(), Path::default(), 64 * 1024),
            Blobs::S3(b) => ObjectBlobStore::open(&b.url, &b.options).unwrap(),
        };
        Registry::new(Arc::new(blobs), Arc::new(meta), config)
    }
}

fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(10_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks).boxed()
}

/// A body fed by hand: returns the sender and the stream.
fn manual_body() -> (mpsc::Sender<std::io::Result<Bytes>>, ByteStream) {
    let (tx, rx) = mpsc::channel(4);
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    (tx, stream.boxed())
}

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn repo() -> RepositoryName {
    RepositoryName::parse("team/app").unwrap()
}

async fn read(reg: &Registry, d: &Digest) -> Vec<u8> {
    let r = reg.read_blob(&repo(), d, None).await.unwrap();
    let chunks: Vec<Bytes> = r.body.try_collect().await.unwrap();
    chunks.concat()
}

#[tokio::test]
async fn chunked_upload_moves_between_replicas() {
    for shared in Shared::all().await {
        upload_across_replicas(&shared).await;
    }
}

async fn upload_across_replicas(shared: &Shared) {
    let a = shared.replica(RegistryConfig::default()).await;
    let b = shared.replica(RegistryConfig::default()).await;
    let data = bytes(12_000_000);
    let status = a.start_upload(&repo()).await.unwrap();
    let id = status.id.as_str().to_owned();
    let cuts = [0, 100_000, 6_170_000, 6_333_333, 12_000_000];
    for (i, w) in cuts.windows(2).enumerate() {
        let replica = if i % 2 == 0 { &a } else { &b };
        let range = ChunkRange {
            start: w[0] as u64,
            end: w[1] as u64 - 1,
        };
        let st = replica
            .patch_upload(&repo(), &id, Some(range), None, body(&data[w[0]..w[1]]))
            .await
            .unwrap();
        assert_eq!(st.offset, w[1] as u64);
    }
    let digest = Digest::sha256(&data);
    let info = a
        .complete_upload(&repo(), &id, &digest, None, Some(0), body(b""))
        .await
        .unwrap();
    assert_eq!(info.size, 12_000_000);
    assert_eq!(read(&b, &digest).await, data);
}

#[tokio::test]
async fn one_writer_per_upload_and_leases_come_back() {
    for shared in Shared::all().await {
        one_writer(&shared).await;
    }
}

async fn one_writer(shared: &Shared) {
    let reg = shared.replica(RegistryConfig::default()).await;
    let id = reg
        .start_upload(&repo())
        .await
        .unwrap()
        .id
        .as_str()
        .to_owned();

    // Writer A holds the session while its body trickles in.
    let (tx, stream) = manual_body();
    let reg_a = reg.clone();
    let id_a = id.clone();
    let a =
        tokio::spawn(async move { reg_a.patch_upload(&repo(), &id_a, None, None, stream).await });
    tx.send(Ok(Bytes::from_static(b"hello "))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = reg
        .patch_upload(&repo(), &id, None, None, body(b"intruder"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UploadBusy), "{err:?}");
    tx.send(Ok(Bytes::from_static(b"world"))).await.unwrap();
    drop(tx);
    assert_eq!(a.await.unwrap().unwrap().offset, 11);

    // A request dropped mid-body (the client went away) gives the lease back.
    let (tx, stream) = manual_body();
    let reg_c = reg.clone();
    let id_c = id.clone();
    let c =
        tokio::spawn(async move { reg_c.patch_upload(&repo(), &id_c, None, None, stream).await });
    tx.send(Ok(Bytes::from_static(b"partial garbage")))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.abort();
    let _ = c.await;
    let mut resumed = None;
    for _ in 0..100 {
        match reg
            .patch_upload(
                &repo(),
                &id,
                Some(ChunkRange { start: 11, end: 11 }),
                Some(1),
                body(b"!"),
            )
            .await
        {
            Ok(st) => {
                resumed = Some(st);
                break;
            }
            Err(Error::UploadBusy) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(resumed.expect("lease released").offset, 12);
    let digest = Digest::sha256(b"hello world!");
    reg.complete_upload(&repo(), &id, &digest, None, Some(0), body(b""))
        .await
        .unwrap();
    assert_eq!(read(&reg, &digest).await, b"hello world!");
}

#[tokio::test]
async fn idle_uploads_time_out() {
    let shared = Shared::new();
    let reg = shared
        .replica(RegistryConfig {
            upload_idle_timeout: Duration::from_millis(200),
            ..RegistryConfig::default()
        })
        .await;
    let id = reg
        .start_upload(&repo())
        .await
        .unwrap()
        .id
        .as_str()
        .to_owned();
    let (tx, stream) = manual_body();
    tx.send(Ok(Bytes::from_static(b"abc"))).await.unwrap();
    let err = reg
        .patch_upload(&repo(), &id, None, None, stream)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BlobUploadInvalid(_)), "{err:?}");
    drop(tx);
    // Nothing was accepted and the session is free again.
    assert_eq!(reg.upload_status(&repo(), &id).await.unwrap().offset, 0);
    reg.patch_upload(&repo(), &id, None, None, body(b"abc"))
        .await
        .unwrap();
}

#[tokio::test]
async fn body_errors_and_length_mismatches_keep_the_session_intact() {
    let shared = Shared::new();
    let reg = shared.replica(RegistryConfig::default()).await;
    let id = reg
        .start_upload(&repo())
        .await
        .unwrap()
        .id
        .as_str()
        .to_owned();
    reg.patch_upload(&repo(), &id, None, None, body(&bytes(1000)))
        .await
        .unwrap();
    let broken = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"x")),
        Err(std::io::Error::other("connection reset")),
    ])
    .boxed();
    let err = reg
        .patch_upload(&repo(), &id, None, None, broken)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BlobUploadInvalid(_)));
    let err = reg
        .patch_upload(&repo(), &id, None, Some(50), body(&bytes(60)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SizeInvalid(_)));
    let err = reg
        .patch_upload(&repo(), &id, None, Some(50), body(&bytes(40)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SizeInvalid(_)));
    assert_eq!(reg.upload_status(&repo(), &id).await.unwrap().offset, 1000);
    let digest = Digest::sha256(&bytes(1000));
    reg.complete_upload(&repo(), &id, &digest, None, None, body(b""))
        .await
        .unwrap();
    assert_eq!(read(&reg, &digest).await, bytes(1000));
}

#[tokio::test]
async fn sha512_digests_of_chunked_uploads() {
    for shared in Shared::all().await {
        let reg = shared.replica(RegistryConfig::default()).await;
        let data = bytes(7_000_000);
        let id = reg
            .start_upload(&repo())
            .await
            .unwrap()
            .id
            .as_str()
            .to_owned();
        for piece in data.chunks(2_500_000) {
            reg.patch_upload(&repo(), &id, None, None, body(piece))
                .await
                .unwrap();
        }
        let d = Digest::of(harbor_core::Algorithm::Sha512, &data);
        let wrong = Digest::of(harbor_core::Algorithm::Sha512, b"other");
        let id2 = reg
            .start_upload(&repo())
            .await
            .unwrap()
            .id
            .as_str()
            .to_owned();
        reg.patch_upload(&repo(), &id2, None, None, body(&data))
            .await
            .unwrap();
        let err = reg
            .complete_upload(&repo(), &id2, &wrong, None, None, body(b""))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
        let info = reg
            .complete_upload(&repo(), &id, &d, None, None, body(b""))
            .await
            .unwrap();
        assert_eq!(info.digest, d);
        assert_eq!(read(&reg, &d).await, data);
        // Monolithic: the algorithm is known up front and hashed while streaming.
        let small = Digest::of(harbor_core::Algorithm::Sha512, b"abc");
        reg.upload_blob(&repo(), &small, Some(3), body(b"abc"))
            .await
            .unwrap();
        assert_eq!(read(&reg, &small).await, b"abc");
    }
}
