//! Copying metadata between databases (the SQLite → PostgreSQL migration path).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::model::{NewManifest, UploadId, UploadSession, now_ms};
use harbor_core::ports::MetadataStore;
use harbor_core::{Digest, Reference, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::sql::PoolConfig;
use harbor_storage::testing::TestDatabase;

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn manifest(content: &str, blobs: &[&Digest], subject: Option<&Digest>) -> NewManifest {
    NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: Some("application/vnd.example".into()),
        subject: subject.cloned(),
        annotations: BTreeMap::from([("k".to_string(), content.to_string())]),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: blobs.iter().map(|d| (*d).clone()).collect(),
        manifests: vec![],
    }
}

async fn open(url: &str) -> SqlMetadataStore {
    SqlMetadataStore::connect(url, &PoolConfig::default())
        .await
        .unwrap()
}

/// Fills a store with a little of everything.
async fn populate(m: &SqlMetadataStore) -> (Vec<Digest>, UploadId) {
    let mut digests = Vec::new();
    for r in 0..5 {
        let r = repo(&format!("team/app{r}"));
        let layer = Digest::sha256(format!("layer-{r}").as_bytes());
        m.link_blob(&r, &layer, 10).await.unwrap();
        let base = manifest(&format!("base-{r}"), &[&layer], None);
        m.put_manifest(
            &r,
            &base,
            &[Tag::parse("v1").unwrap(), Tag::parse("latest").unwrap()],
        )
        .await
        .unwrap();
        let sig = manifest(&format!("sig-{r}"), &[&layer], Some(&base.digest));
        m.put_manifest(&r, &sig, &[]).await.unwrap();
        digests.push(base.digest);
    }
    let id = UploadId::generate();
    let now = now_ms();
    m.create_upload(&UploadSession {
        id: id.clone(),
        repository: repo("team/app0"),
        offset: 0,
        hash_state: vec![1, 2, 3],
        store_state: "{}".into(),
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    (digests, id)
}

async fn check(m: &SqlMetadataStore, digests: &[Digest], upload: &UploadId) {
    let repos = m.repositories(None, 100).await.unwrap();
    assert_eq!(repos.len(), 5);
    for (i, d) in digests.iter().enumerate() {
        let r = repo(&format!("team/app{i}"));
        let got = m
            .manifest(&r, &Reference::Tag(Tag::parse("latest").unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&got.digest, d);
        assert_eq!(got.content, format!("base-{r}").as_bytes());
        assert_eq!(
            m.tags(&r, None, 10).await.unwrap().unwrap(),
            ["latest", "v1"]
        );
        let refs = m.referrers(&r, d, None).await.unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].annotations["k"], format!("sig-{r}"));
        let layer = Digest::sha256(format!("layer-{r}").as_bytes());
        assert_eq!(m.repository_blob(&r, &layer).await.unwrap(), Some(10));
    }
    let u = m.upload(&repo("team/app0"), upload).await.unwrap().unwrap();
    assert_eq!(u.hash_state, [1, 2, 3]);
    // New rows get fresh ids after the copy.
    let r = repo("after/copy");
    let l = Digest::sha256(b"after");
    m.link_blob(&r, &l, 5).await.unwrap();
    m.put_manifest(
        &r,
        &manifest("after", &[&l], None),
        &[Tag::parse("t").unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(m.tags(&r, None, 10).await.unwrap().unwrap(), ["t"]);
}

#[tokio::test]
async fn copies_sqlite_into_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let source = open(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let (digests, upload) = populate(&source).await;

    let sqlite_target = open(&format!("sqlite://{}", dir.path().join("b.db").display())).await;
    let report = source.copy_into(&sqlite_target).await.unwrap();
    assert_eq!(report.tables[0], ("repositories", 5));
    assert_eq!(
        report.tables.iter().find(|t| t.0 == "manifests").unwrap().1,
        10
    );
    check(&sqlite_target, &digests, &upload).await;
    // A second copy into a non-empty target is refused.
    assert!(source.copy_into(&sqlite_target).await.is_err());

    if let Some(db) = TestDatabase::create().await {
        let pg = open(&db.url).await;
        source.copy_into(&pg).await.unwrap();
        check(&pg, &digests, &upload).await;
        // And back again, PostgreSQL → SQLite.
        let back = open(&format!("sqlite://{}", dir.path().join("c.db").display())).await;
        pg.copy_into(&back).await.unwrap();
        assert_eq!(back.repositories(None, 100).await.unwrap().len(), 6);
    }
}
