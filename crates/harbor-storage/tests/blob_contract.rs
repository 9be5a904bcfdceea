//! One contract for the blob port, run against every backend: memory (multipart
//! staging), the local filesystem (in-place staging), and real object stores: an
//! S3-compatible server (`HARBOR_TEST_S3_ENDPOINT`), Azure Blob Storage
//! (`HARBOR_TEST_AZURE_ENDPOINT`, Azurite in CI) and GCS (`HARBOR_TEST_GCS_ENDPOINT`); see
//! `harbor_storage::testing`.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use harbor_core::model::UploadId;
use harbor_core::ports::BlobStore;
use harbor_core::{Digest, Error};
use harbor_storage::ObjectBlobStore;
use harbor_storage::testing::TestBucket;
use object_store::memory::InMemory;
use object_store::path::Path;

/// Opens "the same" store again, as a restarted process or another replica would.
type Reopen = Box<dyn Fn() -> Arc<dyn BlobStore>>;

async fn backends() -> Vec<(&'static str, Reopen, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let fs: Reopen = Box::new(move || Arc::new(ObjectBlobStore::filesystem(&root, false).unwrap()));
    let mem = Arc::new(InMemory::new());
    // A small part size exercises part boundaries and the carried-over tail.
    let memory: Reopen = Box::new(move || {
        Arc::new(ObjectBlobStore::multipart(
            mem.clone(),
            Path::default(),
            64 * 1024,
        ))
    });
    let mut all = vec![
        ("filesystem", fs, dir),
        ("memory", memory, tempfile::tempdir().unwrap()),
    ];
    // The real services' rules, e.g. S3's: every part but the last at least 5 MiB.
    for (name, bucket) in object_stores().await {
        let open: Reopen = Box::new(move || {
            Arc::new(ObjectBlobStore::open(&bucket.url, &bucket.options).unwrap())
        });
        all.push((name, open, tempfile::tempdir().unwrap()));
    }
    all
}

/// The configured real object stores (each skipped with a message when not configured).
async fn object_stores() -> Vec<(&'static str, TestBucket)> {
    let mut all = Vec::new();
    if let Some(b) = TestBucket::create().await {
        all.push(("s3", b));
    }
    if let Some(b) = TestBucket::azure().await {
        all.push(("azure", b));
    }
    if let Some(b) = TestBucket::gcs().await {
        all.push(("gcs", b));
    }
    all
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn append(
    store: &dyn BlobStore,
    id: &UploadId,
    state: &str,
    offset: u64,
    chunks: &[&[u8]],
) -> String {
    let mut w = store.open_upload(id, state, offset).await.unwrap();
    for c in chunks {
        w.write(Bytes::copy_from_slice(c)).await.unwrap();
    }
    w.finish().await.unwrap()
}

async fn read_all(store: &dyn BlobStore, d: &Digest, range: std::ops::Range<u64>) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .read(d, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

#[tokio::test]
async fn write_commit_read_delete() {
    for (name, open, _dir) in backends().await {
        let store = open();
        let data = bytes(5000, 1);
        let digest = Digest::sha256(&data);
        assert_eq!(store.size(&digest).await.unwrap(), None, "{name}");
        let id = UploadId::generate();
        let state = append(&*store, &id, "", 0, &[&data[..1234], &data[1234..]]).await;
        store
            .commit_upload(&id, &state, 5000, &digest)
            .await
            .unwrap();
        assert_eq!(store.size(&digest).await.unwrap(), Some(5000), "{name}");
        assert_eq!(read_all(&*store, &digest, 0..5000).await, data, "{name}");
        assert_eq!(
            read_all(&*store, &digest, 100..200).await,
            &data[100..200],
            "{name}"
        );
        assert_eq!(
            read_all(&*store, &digest, 4999..5000).await,
            &data[4999..],
            "{name}"
        );
        assert!(read_all(&*store, &digest, 0..0).await.is_empty(), "{name}");
        store.delete(&digest).await.unwrap();
        store.delete(&digest).await.unwrap();
        assert_eq!(store.size(&digest).await.unwrap(), None, "{name}");
        assert!(
            matches!(store.read(&digest, 0..10).await, Err(Error::BlobUnknown(_))),
            "{name}"
        );
    }
}

#[tokio::test]
async fn uploads_resume_in_another_process() {
    for (name, open, _dir) in backends().await {
        let data = bytes(7777, 2);
        let digest = Digest::sha256(&data);
        let id = UploadId::generate();
        let mut state = String::new();
        let mut offset = 0;
        // Each append through a freshly opened store, in odd sizes.
        for piece in data.chunks(1111) {
            let store = open();
            state = append(&*store, &id, &state, offset, &[piece]).await;
            offset += piece.len() as u64;
        }
        let store = open();
        store
            .commit_upload(&id, &state, offset, &digest)
            .await
            .unwrap();
        assert_eq!(read_all(&*store, &digest, 0..7777).await, data, "{name}");
    }
}

#[tokio::test]
async fn a_failed_append_is_discarded() {
    for (name, open, _dir) in backends().await {
        let store = open();
        let id = UploadId::generate();
        let first = bytes(3000, 3);
        let state = append(&*store, &id, "", 0, &[&first]).await;
        // A request writes garbage past the offset and fails before finishing.
        let mut w = store.open_upload(&id, &state, 3000).await.unwrap();
        w.write(Bytes::from(vec![0xAA; 2500])).await.unwrap();
        w.abort().await;
        // The next request continues from the saved offset and state.
        let second = bytes(2000, 4);
        let state = append(&*store, &id, &state, 3000, &[&second]).await;
        let whole = [first, second].concat();
        let digest = Digest::sha256(&whole);
        store
            .commit_upload(&id, &state, 5000, &digest)
            .await
            .unwrap();
        assert_eq!(read_all(&*store, &digest, 0..5000).await, whole, "{name}");
    }
}

#[tokio::test]
async fn committing_existing_content_is_idempotent() {
    for (name, open, _dir) in backends().await {
        let store = open();
        let data = bytes(2500, 5);
        let digest = Digest::sha256(&data);
        for _ in 0..3 {
            let id = UploadId::generate();
            let state = append(&*store, &id, "", 0, &[&data]).await;
            store
                .commit_upload(&id, &state, 2500, &digest)
                .await
                .unwrap();
        }
        assert_eq!(read_all(&*store, &digest, 0..2500).await, data, "{name}");
    }
}

#[tokio::test]
async fn empty_blobs_and_aborted_uploads() {
    for (name, open, _dir) in backends().await {
        let store = open();
        let empty = Digest::sha256(b"");
        let id = UploadId::generate();
        store.commit_upload(&id, "", 0, &empty).await.unwrap();
        assert_eq!(store.size(&empty).await.unwrap(), Some(0), "{name}");
        assert!(read_all(&*store, &empty, 0..0).await.is_empty());

        let id = UploadId::generate();
        let data = bytes(4000, 6);
        let state = append(&*store, &id, "", 0, &[&data]).await;
        store.abort_upload(&id, &state).await.unwrap();
        // Twice is harmless or an error, never a panic.
        let _ = store.abort_upload(&id, &state).await;
        let digest = Digest::sha256(&data);
        assert!(
            store
                .commit_upload(&id, &state, 4000, &digest)
                .await
                .is_err(),
            "{name}: staged data is gone"
        );
        assert_eq!(store.size(&digest).await.unwrap(), None, "{name}");
    }
}

#[tokio::test]
async fn sealed_uploads_can_be_reread_then_committed() {
    for (name, open, _dir) in backends().await {
        for len in [0usize, 300, 300_000] {
            let store = open();
            let id = UploadId::generate();
            let data = bytes(len, 7);
            let state = if len == 0 {
                String::new()
            } else {
                let chunks: Vec<&[u8]> = data.chunks(100_000).collect();
                append(&*store, &id, "", 0, &chunks).await
            };
            let sealed = store.seal_upload(&id, &state, len as u64).await.unwrap();
            let chunks: Vec<Bytes> = store
                .read_upload(&id, &sealed, len as u64)
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(chunks.concat(), data, "{name} {len}");
            let digest = Digest::of(harbor_core::Algorithm::Sha512, &data);
            store
                .commit_upload(&id, &sealed, len as u64, &digest)
                .await
                .unwrap();
            assert_eq!(
                read_all(&*store, &digest, 0..len as u64).await,
                data,
                "{name} {len}"
            );
        }
    }
}

#[tokio::test]
async fn large_blob_read_in_chunks() {
    for (name, open, _dir) in backends().await {
        let store = open();
        let data = bytes(3 * 1024 * 1024 + 17, 8);
        let digest = Digest::sha256(&data);
        let id = UploadId::generate();
        let pieces: Vec<&[u8]> = data.chunks(64 * 1024).collect();
        let state = append(&*store, &id, "", 0, &pieces).await;
        store
            .commit_upload(&id, &state, data.len() as u64, &digest)
            .await
            .unwrap();
        let got = read_all(&*store, &digest, 0..data.len() as u64).await;
        assert_eq!(Digest::sha256(&got), digest, "{name}");
        let mid = read_all(&*store, &digest, 1_000_000..2_500_000).await;
        assert_eq!(mid, &data[1_000_000..2_500_000], "{name}");
    }
}

#[tokio::test]
async fn multipart_parts_span_requests() {
    // 13 MiB in 3 MiB requests through freshly opened stores: parts of at least one part
    // size form across requests, and the tail carries over between them.
    for (name, open, _dir) in backends().await {
        let data = bytes(13 * 1024 * 1024 + 5, 9);
        let digest = Digest::sha256(&data);
        let id = UploadId::generate();
        let (mut state, mut offset) = (String::new(), 0u64);
        for piece in data.chunks(3 * 1024 * 1024) {
            let store = open();
            let chunks: Vec<&[u8]> = piece.chunks(100_000).collect();
            state = append(&*store, &id, &state, offset, &chunks).await;
            offset += piece.len() as u64;
        }
        let store = open();
        store
            .commit_upload(&id, &state, offset, &digest)
            .await
            .unwrap();
        let got = read_all(&*store, &digest, 0..offset).await;
        assert_eq!(Digest::sha256(&got), digest, "{name}");
    }
}

#[tokio::test]
async fn blobs_too_large_for_one_copy_are_copied_by_streaming() {
    let mut stores: Vec<(&str, Arc<dyn BlobStore>)> = vec![(
        "memory",
        Arc::new(
            ObjectBlobStore::multipart(Arc::new(InMemory::new()), Path::default(), 64 * 1024)
                .with_copy_limit(100_000),
        ),
    )];
    for (name, bucket) in object_stores().await {
        stores.push((
            name,
            Arc::new(
                ObjectBlobStore::open(&bucket.url, &bucket.options)
                    .unwrap()
                    .with_copy_limit(1024 * 1024),
            ),
        ));
    }
    for (name, store) in stores {
        let data = bytes(11 * 1024 * 1024 + 3, 10);
        let digest = Digest::sha256(&data);
        let id = UploadId::generate();
        let chunks: Vec<&[u8]> = data.chunks(1024 * 1024).collect();
        let state = append(&*store, &id, "", 0, &chunks).await;
        store
            .commit_upload(&id, &state, data.len() as u64, &digest)
            .await
            .unwrap();
        let got = read_all(&*store, &digest, 0..data.len() as u64).await;
        assert_eq!(Digest::sha256(&got), digest, "{name}");
    }
}
