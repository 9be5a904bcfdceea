//! One contract for the metadata port, run against SQLite (a real database file) and
//! PostgreSQL (a fresh database per test; `HARBOR_TEST_DATABASE_URL`, see
//! `harbor_storage::testing`).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::model::{Claim, Lease, NewManifest, UploadId, UploadSession, now_ms};
use harbor_core::ports::MetadataStore;
use harbor_core::{Digest, Error, Reference, RepositoryName, Tag};

use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    blob_links,
    manifests_tags_and_cascades,
    tag_pages_referrers_and_catalog,
    index_children_must_exist,
    upload_leases,
    data_survives_reopening,
    concurrent_writers_agree,
    finishing_an_upload_links_its_blob,
    maintenance_needs_an_existing_registry,
);

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn manifest(
    content: &str,
    blobs: &[&Digest],
    subject: Option<&Digest>,
    artifact_type: Option<&str>,
) -> NewManifest {
    NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: artifact_type.map(str::to_owned),
        subject: subject.cloned(),
        annotations: BTreeMap::from([("k".to_string(), content.to_string())]),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: blobs.iter().map(|d| (*d).clone()).collect(),
        manifests: vec![],
        children_pending: false,
    }
}

async fn blob_links(t: &Target) {
    let m = t.open().await;
    let d = Digest::sha256(b"layer");
    let (a, b) = (repo("a"), repo("b/c"));
    assert_eq!(m.repository_blob(&a, &d).await.unwrap(), None);
    assert_eq!(m.blob_size(&d).await.unwrap(), None);
    m.link_blob(&a, &d, 5).await.unwrap();
    m.link_blob(&a, &d, 5).await.unwrap();
    assert_eq!(m.repository_blob(&a, &d).await.unwrap(), Some(5));
    assert_eq!(m.repository_blob(&b, &d).await.unwrap(), None);
    assert_eq!(m.blob_size(&d).await.unwrap(), Some(5));
    assert!(m.unlink_blob(&a, &d).await.unwrap());
    assert!(!m.unlink_blob(&a, &d).await.unwrap());
    assert_eq!(m.repository_blob(&a, &d).await.unwrap(), None);
    // Unlinked everywhere: not mountable without `from` any more.
    assert_eq!(m.blob_size(&d).await.unwrap(), None);
}

async fn manifests_tags_and_cascades(t: &Target) {
    let m = t.open().await;
    let r = repo("app");
    let layer = Digest::sha256(b"layer");
    let one = manifest("one", &[&layer], None, None);
    // Missing blob: refused, and nothing recorded.
    let err = m.put_manifest(&r, &one, &[tag("v1")]).await.unwrap_err();
    assert!(
        matches!(err, Error::ManifestBlobUnknown(ref d) if *d == layer),
        "{err:?}"
    );
    assert!(
        m.manifest(&r, &Reference::Tag(tag("v1")))
            .await
            .unwrap()
            .is_none()
    );
    assert!(m.repositories(None, 10).await.unwrap().is_empty());

    m.link_blob(&r, &layer, 5).await.unwrap();
    m.put_manifest(&r, &one, &[tag("v1"), tag("latest")])
        .await
        .unwrap();
    m.put_manifest(&r, &one, &[tag("v1")]).await.unwrap(); // idempotent
    let got = m
        .manifest(&r, &Reference::Tag(tag("latest")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.digest, one.digest);
    assert_eq!(got.content, one.content);
    let got = m
        .manifest(&r, &Reference::Digest(one.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.media_type, harbor_core::manifest::OCI_MANIFEST);

    // Moving a tag.
    let two = manifest("two", &[&layer], None, None);
    m.put_manifest(&r, &two, &[tag("latest")]).await.unwrap();
    let got = m
        .manifest(&r, &Reference::Tag(tag("latest")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.digest, two.digest);
    assert_eq!(
        m.tags(&r, None, 10).await.unwrap().unwrap(),
        ["latest", "v1"]
    );

    // Deleting a tag keeps the manifest; deleting a manifest removes its tags.
    assert!(m.delete_tag(&r, &tag("v1")).await.unwrap());
    assert!(!m.delete_tag(&r, &tag("v1")).await.unwrap());
    assert!(
        m.manifest(&r, &Reference::Digest(one.digest.clone()))
            .await
            .unwrap()
            .is_some()
    );
    assert!(m.delete_manifest(&r, &two.digest).await.unwrap());
    assert!(!m.delete_manifest(&r, &two.digest).await.unwrap());
    assert!(m.tags(&r, None, 10).await.unwrap().unwrap().is_empty());
    assert_eq!(m.tags(&repo("ghost"), None, 10).await.unwrap(), None);
}

async fn tag_pages_referrers_and_catalog(t: &Target) {
    let m = t.open().await;
    let r = repo("app");
    let layer = Digest::sha256(b"l");
    m.link_blob(&r, &layer, 1).await.unwrap();
    let base = manifest("base", &[&layer], None, None);
    let tags: Vec<Tag> = ["b", "a", "c", "B"].iter().map(|t| tag(t)).collect();
    m.put_manifest(&r, &base, &tags).await.unwrap();
    assert_eq!(m.tags(&r, None, 2).await.unwrap().unwrap(), ["B", "a"]);
    assert_eq!(
        m.tags(&r, Some("a"), 10).await.unwrap().unwrap(),
        ["b", "c"]
    );

    let sig = manifest("sig", &[&layer], Some(&base.digest), Some("sig"));
    let sbom = manifest("sbom", &[&layer], Some(&base.digest), Some("sbom"));
    m.put_manifest(&r, &sig, &[]).await.unwrap();
    m.put_manifest(&r, &sbom, &[]).await.unwrap();
    let all = m.referrers(&r, &base.digest, None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].digest, sig.digest);
    assert_eq!(all[0].size, 3);
    assert_eq!(all[0].annotations.get("k").map(String::as_str), Some("sig"));
    let only = m.referrers(&r, &base.digest, Some("sbom")).await.unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].artifact_type.as_deref(), Some("sbom"));
    assert!(
        m.referrers(&repo("other"), &base.digest, None)
            .await
            .unwrap()
            .is_empty()
    );

    // The catalog lists repositories with manifests only.
    m.link_blob(&repo("blobs/only"), &layer, 1).await.unwrap();
    let z = repo("z");
    m.link_blob(&z, &layer, 1).await.unwrap();
    m.put_manifest(&z, &base, &[]).await.unwrap();
    assert_eq!(m.repositories(None, 10).await.unwrap(), ["app", "z"]);
    assert_eq!(m.repositories(Some("app"), 10).await.unwrap(), ["z"]);
    assert_eq!(m.repositories(None, 1).await.unwrap(), ["app"]);
}

async fn index_children_must_exist(t: &Target) {
    let m = t.open().await;
    let r = repo("multi");
    let layer = Digest::sha256(b"l");
    m.link_blob(&r, &layer, 1).await.unwrap();
    let child = manifest("child", &[&layer], None, None);
    let mut index = manifest("index", &[], None, None);
    index.manifests = vec![child.digest.clone()];
    let err = m.put_manifest(&r, &index, &[]).await.unwrap_err();
    assert!(matches!(err, Error::ManifestBlobUnknown(_)));
    m.put_manifest(&r, &child, &[]).await.unwrap();
    m.put_manifest(&r, &index, &[tag("latest")]).await.unwrap();
}

fn lease(token: &str, now: i64, ttl: i64) -> Lease {
    Lease {
        token: token.into(),
        now,
        until: now + ttl,
    }
}

async fn upload_leases(t: &Target) {
    let m = t.open().await;
    let r = repo("app");
    let id = UploadId::generate();
    let now = now_ms();
    m.create_upload(&UploadSession {
        id: id.clone(),
        repository: r.clone(),
        offset: 0,
        hash_state: vec![1, 2, 3],
        store_state: String::new(),
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    assert!(m.upload(&repo("other"), &id).await.unwrap().is_none());
    assert!(matches!(
        m.claim_upload(&repo("other"), &id, &lease("x", now, 1000), None)
            .await
            .unwrap(),
        Claim::Unknown
    ));

    let Claim::Claimed(s) = m
        .claim_upload(&r, &id, &lease("a", now, 60_000), Some(0))
        .await
        .unwrap()
    else {
        panic!("first claim must succeed");
    };
    assert_eq!(s.hash_state, [1, 2, 3]);
    assert!(matches!(
        m.claim_upload(&r, &id, &lease("b", now, 60_000), None)
            .await
            .unwrap(),
        Claim::Busy
    ));
    // A stale holder cannot save.
    assert!(!m.save_upload(&id, "b", 10, &[9], "s").await.unwrap());
    assert!(
        m.renew_upload(&id, &lease("a", now, 120_000))
            .await
            .unwrap()
    );
    assert!(m.save_upload(&id, "a", 10, &[9], "s").await.unwrap());
    let s = m.upload(&r, &id).await.unwrap().unwrap();
    assert_eq!(
        (s.offset, s.hash_state.as_slice(), s.store_state.as_str()),
        (10, &[9u8][..], "s")
    );

    // Offset checks.
    assert!(matches!(
        m.claim_upload(&r, &id, &lease("c", now, 60_000), Some(5))
            .await
            .unwrap(),
        Claim::OffsetMismatch(10)
    ));
    // An expired lease can be taken over; a released one too.
    assert!(matches!(
        m.claim_upload(&r, &id, &lease("d", now, 1), Some(10))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    assert!(matches!(
        m.claim_upload(&r, &id, &lease("e", now + 10, 60_000), None)
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    assert!(
        !m.renew_upload(&id, &lease("d", now, 60_000)).await.unwrap(),
        "d lost its lease"
    );
    m.release_upload(&id, "e").await.unwrap();
    assert!(matches!(
        m.claim_upload(&r, &id, &lease("f", now, 60_000), None)
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    assert!(m.delete_upload(&id).await.unwrap());
    assert!(!m.delete_upload(&id).await.unwrap());
    assert!(m.upload(&r, &id).await.unwrap().is_none());
}

async fn data_survives_reopening(t: &Target) {
    let r = repo("persist");
    let d = Digest::sha256(b"x");
    {
        let m = t.open().await;
        m.link_blob(&r, &d, 1).await.unwrap();
        m.put_manifest(&r, &manifest("m", &[&d], None, None), &[tag("t")])
            .await
            .unwrap();
        m.close().await;
    }
    let m = t.open().await; // migrations run again: a no-op
    assert_eq!(m.repository_blob(&r, &d).await.unwrap(), Some(1));
    assert!(
        m.manifest(&r, &Reference::Tag(tag("t")))
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_writers_agree(t: &Target) {
    // Several "replicas" (stores with pools of their own) write at once.
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(t.open().await);
    }
    let r = repo("race");
    let layer = Digest::sha256(b"shared layer");
    let mut tasks = Vec::new();
    for (i, m) in stores.iter().cycle().take(16).cloned().enumerate() {
        let (r, layer) = (r.clone(), layer.clone());
        tasks.push(tokio::spawn(async move {
            m.link_blob(&r, &layer, 12).await.unwrap();
            let mf = manifest(&format!("m{}", i % 3), &[&layer], None, None);
            m.put_manifest(&r, &mf, &[tag("latest"), tag(&format!("t{i}"))])
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let m = &stores[0];
    let tags = m.tags(&r, None, 100).await.unwrap().unwrap();
    assert_eq!(tags.len(), 17, "latest and t0..t15: {tags:?}");
    let latest = m
        .manifest(&r, &Reference::Tag(tag("latest")))
        .await
        .unwrap()
        .unwrap();
    assert!(
        ["m0", "m1", "m2"]
            .iter()
            .any(|c| Digest::sha256(c.as_bytes()) == latest.digest)
    );
    assert_eq!(m.repositories(None, 10).await.unwrap(), ["race"]);

    // Many requests race for one upload session: exactly one wins.
    let id = UploadId::generate();
    let now = now_ms();
    m.create_upload(&UploadSession {
        id: id.clone(),
        repository: r.clone(),
        offset: 0,
        hash_state: vec![],
        store_state: String::new(),
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    let mut claims = Vec::new();
    for (i, m) in stores.iter().cycle().take(12).cloned().enumerate() {
        let (r, id) = (r.clone(), id.clone());
        claims.push(tokio::spawn(async move {
            let l = lease(&format!("holder{i}"), now, 60_000);
            matches!(
                m.claim_upload(&r, &id, &l, Some(0)).await.unwrap(),
                Claim::Claimed(_)
            )
        }));
    }
    let mut winners = 0;
    for c in claims {
        winners += usize::from(c.await.unwrap());
    }
    assert_eq!(winners, 1);
    for s in stores {
        s.close().await;
    }
}

async fn finishing_an_upload_links_its_blob(t: &Target) {
    let m = t.open().await;
    let r = repo("done");
    let id = UploadId::generate();
    let now = now_ms();
    m.create_upload(&UploadSession {
        id: id.clone(),
        repository: r.clone(),
        offset: 0,
        hash_state: vec![],
        store_state: String::new(),
        created_at: now,
        updated_at: now,
    })
    .await
    .unwrap();
    let d = Digest::sha256(b"finished");
    m.finish_upload(Some(&id), &r, &d, 8, 0).await.unwrap();
    assert_eq!(m.repository_blob(&r, &d).await.unwrap(), Some(8));
    assert!(m.upload(&r, &id).await.unwrap().is_none());
    // Finishing the same blob again (another upload of it) is fine.
    m.finish_upload(Some(&UploadId::generate()), &r, &d, 8, 0)
        .await
        .unwrap();
}

async fn maintenance_needs_an_existing_registry(t: &Target) {
    use harbor_storage::sql::PoolConfig;
    use harbor_storage::{SqlMetadataStore, StorageError};
    let pool = PoolConfig::default();
    // Twice: the first refusal created nothing the second would find.
    for _ in 0..2 {
        match SqlMetadataStore::connect_existing(&t.url, &pool).await {
            Err(StorageError::NoDatabase(m)) => assert!(m.contains("registry"), "{m}"),
            Err(e) => panic!("expected NoDatabase, got {e}"),
            Ok(_) => panic!("an empty database was opened as a registry"),
        }
    }
    t.open().await.close().await;
    let m = SqlMetadataStore::connect_existing(&t.url, &pool)
        .await
        .unwrap();
    assert!(m.schema_version().await.unwrap() > 0);
    m.close().await;
}
