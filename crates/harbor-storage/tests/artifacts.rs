//! The contract of artifact records for the REST API (listing with filters, sort, pages
//! and sizes; tags and accessories of many artifacts in one query; tag creation; index
//! parents; batched pull times; the tag ids migration 0005 adds), run against SQLite and
//! PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::artifact::{ArtifactQuery, ArtifactSortKey, RepositoryPulls, TagFilter};
use harbor_core::identity::{Match, Page};
use harbor_core::model::{NewManifest, now_ms};
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::{Digest, Error, Reference, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;
use sqlx::Executor;

harbor_storage::contract_tests!(
    lists_top_level_artifacts_with_filters_sorts_and_sizes,
    tags_and_accessories_of_a_page,
    tags_are_created_once_and_parents_found,
    pull_times_are_recorded_in_batches,
    migration_gives_existing_tags_ids,
);

const OCI_MANIFEST: &str = harbor_core::manifest::OCI_MANIFEST;
const OCI_INDEX: &str = harbor_core::manifest::OCI_INDEX;

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

struct Pushed {
    digest: Digest,
    /// Harbor's size: manifest + blobs.
    size: u64,
}

/// Pushes an image manifest whose one layer has `layer_size` bytes.
async fn image(
    m: &SqlMetadataStore,
    r: &RepositoryName,
    name: &str,
    layer_size: u64,
    tags: &[&str],
    subject: Option<&Digest>,
    artifact_type: Option<&str>,
) -> Pushed {
    let layer = Digest::sha256(format!("layer {name}").as_bytes());
    m.link_blob(r, &layer, layer_size).await.unwrap();
    let content = format!("{{\"manifest\":\"{name}\"}}");
    let man = NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: OCI_MANIFEST.into(),
        artifact_type: Some(
            artifact_type
                .unwrap_or("application/vnd.oci.image.config.v1+json")
                .into(),
        ),
        subject: subject.cloned(),
        annotations: BTreeMap::from([("name".to_owned(), name.to_owned())]),
        content: Bytes::from(content.clone()),
        blobs: vec![layer],
        manifests: vec![],
        children_pending: false,
    };
    let tags: Vec<Tag> = tags.iter().map(|t| tag(t)).collect();
    m.put_manifest(r, &man, &tags).await.unwrap();
    Pushed {
        digest: man.digest,
        size: content.len() as u64 + layer_size,
    }
}

async fn index(
    m: &SqlMetadataStore,
    r: &RepositoryName,
    children: &[&Pushed],
    tags: &[&str],
) -> Pushed {
    let content = format!(
        "{{\"manifests\":[{}]}}",
        children
            .iter()
            .map(|c| format!("{{\"digest\":\"{}\"}}", c.digest))
            .collect::<Vec<_>>()
            .join(",")
    );
    let man = NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: OCI_INDEX.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::from(content.clone()),
        blobs: vec![],
        manifests: children.iter().map(|c| c.digest.clone()).collect(),
        children_pending: false,
    };
    let tags: Vec<Tag> = tags.iter().map(|t| tag(t)).collect();
    m.put_manifest(r, &man, &tags).await.unwrap();
    Pushed {
        digest: man.digest,
        size: content.len() as u64 + children.iter().map(|c| c.size).sum::<u64>(),
    }
}

async fn by_digest(
    m: &SqlMetadataStore,
    r: &RepositoryName,
    d: &Digest,
) -> harbor_core::artifact::ArtifactRecord {
    m.artifact(r, &Reference::Digest(d.clone()))
        .await
        .unwrap()
        .unwrap()
}

fn cosign(d: &Digest) -> String {
    format!("{}.sig", d.as_str().replace(':', "-"))
}

async fn digests(m: &SqlMetadataStore, r: &RepositoryName, q: &ArtifactQuery) -> Vec<Digest> {
    let (items, total) = m.artifacts(r, q, all()).await.unwrap();
    assert_eq!(total, items.len() as u64);
    items.into_iter().map(|a| a.digest).collect()
}

async fn lists_top_level_artifacts_with_filters_sorts_and_sizes(t: &Target) {
    let m = t.open().await;
    let r = repo("p/app");
    let a = image(&m, &r, "a", 100, &["v1"], None, None).await;
    let b = image(&m, &r, "b", 5000, &["v2", "latest"], None, None).await;
    let c = image(&m, &r, "c", 10, &[], None, None).await;
    let d = image(&m, &r, "d", 7, &[], None, None).await;
    let e = image(&m, &r, "e", 9, &[], None, None).await;
    let i = index(&m, &r, &[&d, &e], &["multi"]).await;
    // Accessories: a cosign signature by tag, an OCI referrer by subject.
    let sig = cosign(&a.digest);
    image(&m, &r, "sig", 3, &[&sig], None, None).await;
    image(
        &m,
        &r,
        "sbom",
        3,
        &[],
        Some(&a.digest),
        Some("application/vnd.example.sbom"),
    )
    .await;
    image(&m, &repo("p/other"), "x", 1, &["v1"], None, None).await;

    // Newest first; index children and accessories are not artifacts.
    let q = ArtifactQuery::default();
    assert_eq!(
        digests(&m, &r, &q).await,
        [&i, &c, &b, &a].map(|p| p.digest.clone())
    );
    let (items, _) = m.artifacts(&r, &q, all()).await.unwrap();
    let sizes: Vec<u64> = items.iter().map(|x| x.size).collect();
    assert_eq!(sizes, [i.size, c.size, b.size, a.size]);
    let first = &items[3];
    assert_eq!(first.repository_name, "p/app");
    assert_eq!(first.annotations["name"], "a");
    assert!(first.pulled_ms.is_none());
    assert!(first.pushed_ms > 0);

    // Filters.
    let with_tags = |f: TagFilter| ArtifactQuery {
        tags: Some(f),
        ..Default::default()
    };
    assert_eq!(
        digests(
            &m,
            &r,
            &with_tags(TagFilter::Name(Match::Exact("v1".into())))
        )
        .await,
        std::slice::from_ref(&a.digest)
    );
    assert_eq!(
        digests(
            &m,
            &r,
            &with_tags(TagFilter::Name(Match::Fuzzy("V".into())))
        )
        .await,
        [b.digest.clone(), a.digest.clone()]
    );
    assert_eq!(
        digests(&m, &r, &with_tags(TagFilter::Untagged)).await,
        std::slice::from_ref(&c.digest)
    );
    assert_eq!(
        digests(&m, &r, &with_tags(TagFilter::Tagged)).await.len(),
        3
    );
    let by_digest = ArtifactQuery {
        digest: Some(Match::Exact(b.digest.to_string())),
        ..Default::default()
    };
    assert_eq!(
        digests(&m, &r, &by_digest).await,
        std::slice::from_ref(&b.digest)
    );
    let images = ArtifactQuery {
        kind: Some("IMAGE".into()),
        ..Default::default()
    };
    assert_eq!(digests(&m, &r, &images).await.len(), 4);
    let charts = ArtifactQuery {
        kind: Some("CHART".into()),
        ..Default::default()
    };
    assert!(digests(&m, &r, &charts).await.is_empty());
    let indexes = ArtifactQuery {
        media_type: Some(Match::Exact(OCI_INDEX.into())),
        ..Default::default()
    };
    assert_eq!(
        digests(&m, &r, &indexes).await,
        std::slice::from_ref(&i.digest)
    );
    let future = ArtifactQuery {
        pushed_from_ms: Some(i64::MAX / 2),
        ..Default::default()
    };
    assert!(digests(&m, &r, &future).await.is_empty());

    // Sorts.
    let by = |k, desc| ArtifactQuery {
        sort: vec![(k, desc)],
        ..Default::default()
    };
    let mut expected = [&a, &b, &c, &i];
    expected.sort_by_key(|p| p.size);
    assert_eq!(
        digests(&m, &r, &by(ArtifactSortKey::Size, false)).await,
        expected
            .iter()
            .map(|p| p.digest.clone())
            .collect::<Vec<_>>()
    );
    let mut expected = [&a, &b, &c, &i];
    expected.sort_by(|x, y| y.digest.as_str().cmp(x.digest.as_str()));
    assert_eq!(
        digests(&m, &r, &by(ArtifactSortKey::Digest, true)).await,
        expected
            .iter()
            .map(|p| p.digest.clone())
            .collect::<Vec<_>>()
    );

    // Pages: the total comes with the page, and past the end too.
    let two = Page {
        page: 2,
        page_size: 3,
    };
    let (items, total) = m.artifacts(&r, &q, two).await.unwrap();
    assert_eq!((items.len(), total), (1, 4));
    let far = Page {
        page: 9,
        page_size: 3,
    };
    let (items, total) = m.artifacts(&r, &q, far).await.unwrap();
    assert_eq!((items.len(), total), (0, 4));
    let (items, total) = m.artifacts(&repo("p/none"), &q, all()).await.unwrap();
    assert_eq!((items.len(), total), (0, 0));

    // One artifact by tag or digest, children and accessories included.
    let got = m
        .artifact(&r, &Reference::Tag(tag("multi")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.digest.clone(), got.size), (i.digest.clone(), i.size));
    let child = m
        .artifact(&r, &Reference::Digest(d.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(child.size, d.size);
    assert!(
        m.artifact(&r, &Reference::Tag(tag("nope")))
            .await
            .unwrap()
            .is_none()
    );
}

async fn tags_and_accessories_of_a_page(t: &Target) {
    let m = t.open().await;
    let r = repo("p/app");
    let a = image(&m, &r, "a", 1, &["v1", "a-latest"], None, None).await;
    let b = image(&m, &r, "b", 1, &["v2"], None, None).await;
    let sig = cosign(&a.digest);
    let s = image(&m, &r, "sig", 3, &[&sig], None, None).await;
    let cosign_ref = image(
        &m,
        &r,
        "ref",
        4,
        &[],
        Some(&a.digest),
        Some(harbor_core::artifact::COSIGN_SIGNATURE),
    )
    .await;
    let ra = by_digest(&m, &r, &a.digest).await;
    let rb = by_digest(&m, &r, &b.digest).await;
    let tags = m.artifact_tags(&[ra.id, rb.id]).await.unwrap();
    let names: Vec<(i64, &str)> = tags
        .iter()
        .map(|t| (t.artifact_id, t.name.as_str()))
        .collect();
    assert_eq!(names, [(ra.id, "a-latest"), (ra.id, "v1"), (rb.id, "v2")]);
    assert!(
        tags.iter()
            .all(|t| t.id > 0 && t.repository_id == ra.repository_id)
    );
    let mut ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    let acc = m
        .accessories(
            ra.repository_id,
            &[(ra.id, ra.digest.clone()), (rb.id, rb.digest.clone())],
        )
        .await
        .unwrap();
    let mut got: Vec<(Digest, &str, i64)> = acc
        .iter()
        .map(|x| (x.digest.clone(), x.kind.as_str(), x.subject_artifact_id))
        .collect();
    got.sort();
    let mut want = vec![
        (s.digest.clone(), "signature.cosign", ra.id),
        (cosign_ref.digest.clone(), "signature.cosign", ra.id),
    ];
    want.sort();
    assert_eq!(got, want);
    let sig_acc = acc.iter().find(|x| x.digest == s.digest).unwrap();
    assert_eq!(sig_acc.size, s.size);
    assert_eq!(sig_acc.subject_digest, a.digest);

    // Paged tags of one artifact, filtered by name.
    let (page, total) = m
        .artifact_tag_page(ra.id, Some(&Match::Fuzzy("V".into())), all())
        .await
        .unwrap();
    assert_eq!((page.len(), total), (1, 1));
    assert_eq!(page[0].name, "v1");
    let (page, total) = m
        .artifact_tag_page(
            ra.id,
            None,
            Page {
                page: 2,
                page_size: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((page[0].name.as_str(), total), ("v1", 2));
}

async fn tags_are_created_once_and_parents_found(t: &Target) {
    let m = t.open().await;
    let r = repo("p/app");
    let a = image(&m, &r, "a", 1, &["v1"], None, None).await;
    let b = image(&m, &r, "b", 1, &[], None, None).await;
    let i = index(&m, &r, &[&a, &b], &[]).await;
    let ra = m
        .artifact(&r, &Reference::Digest(a.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    m.create_tag(&r, ra.id, &tag("v2")).await.unwrap();
    let names: Vec<String> = m
        .artifact_tags(&[ra.id])
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["v1", "v2"]);
    for taken in ["v1", "v2"] {
        assert!(matches!(
            m.create_tag(&r, ra.id, &tag(taken)).await,
            Err(Error::Conflict(_))
        ));
    }
    // The artifact id must belong to the repository.
    assert!(
        m.create_tag(&repo("p/other"), ra.id, &tag("x"))
            .await
            .is_err()
    );
    assert_eq!(
        m.manifest_parents(&r, &b.digest).await.unwrap(),
        std::slice::from_ref(&i.digest)
    );
    assert!(m.manifest_parents(&r, &i.digest).await.unwrap().is_empty());
    assert!(
        m.manifest_parents(&repo("p/other"), &b.digest)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn pull_times_are_recorded_in_batches(t: &Target) {
    let m = t.open().await;
    let owner = harbor_storage::testing::owner_id(&m).await;
    m.create_project("p", owner, false).await.unwrap();
    let r = repo("p/app");
    let a = image(&m, &r, "a", 1, &["v1"], None, None).await;
    // Pull times after the push (one before it is recorded as the push time).
    let later = now_ms() + 60_000;
    let batch = |count, at: i64| RepositoryPulls {
        repository: r.clone(),
        count,
        manifests: vec![(a.digest.clone(), at)],
        tags: vec![(tag("v1"), at), (tag("gone"), at)],
    };
    m.record_pulls(&[
        batch(2, later),
        RepositoryPulls {
            repository: repo("p/none"),
            count: 1,
            manifests: vec![(a.digest.clone(), 1)],
            tags: vec![],
        },
    ])
    .await
    .unwrap();
    let got = m
        .artifact(&r, &Reference::Digest(a.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.pulled_ms, Some(later));
    let tags = m.artifact_tags(&[got.id]).await.unwrap();
    assert_eq!(tags[0].pulled_ms, Some(later));
    assert_eq!(
        m.repository_record(&r).await.unwrap().unwrap().pull_count,
        2
    );
    // An older time never moves a pull time back.
    m.record_pulls(&[batch(1, later - 1_000)]).await.unwrap();
    let got = m
        .artifact(&r, &Reference::Tag(tag("v1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.pulled_ms, Some(later));
    assert_eq!(
        m.repository_record(&r).await.unwrap().unwrap().pull_count,
        3
    );
    // A pull time before the push (a wall clock stepped back) is recorded as the push's.
    let c = image(&m, &r, "c", 1, &["v3"], None, None).await;
    m.record_pulls(&[RepositoryPulls {
        repository: r.clone(),
        count: 1,
        manifests: vec![(c.digest.clone(), 10)],
        tags: vec![(tag("v3"), 10)],
    }])
    .await
    .unwrap();
    let got = m
        .artifact(&r, &Reference::Digest(c.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.pulled_ms, Some(got.pushed_ms), "{got:?}");
    // Sorting by pull time puts never-pulled artifacts first.
    let b = image(&m, &r, "b", 1, &["v2"], None, None).await;
    let q = ArtifactQuery {
        sort: vec![(ArtifactSortKey::PullTime, false)],
        ..Default::default()
    };
    assert_eq!(digests(&m, &r, &q).await, [b.digest, c.digest, a.digest]);
    m.record_pulls(&[]).await.unwrap();
}

async fn migration_gives_existing_tags_ids(t: &Target) {
    t.migrate_to(4).await;
    sqlx::any::install_default_drivers();
    let url = match t.url.strip_prefix("sqlite://") {
        Some(path) => format!("sqlite://{path}?mode=rwc"),
        None => t.url.clone(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    pool.execute(
        "INSERT INTO repositories (id, name, created_at, updated_at) VALUES (1, 'p/app', 1, 1);
         INSERT INTO manifests (id, repository_id, digest, media_type, size, content, created_at)
         VALUES (1, 1, 'sha256:aa', 'x', 1, 'x', 100), (2, 1, 'sha256:bb', 'x', 1, 'x', 100);
         INSERT INTO tags (repository_id, name, manifest_id, updated_at)
         VALUES (1, 'v1', 1, 10), (1, 'v2', 1, 20), (1, 'w', 2, 30);",
    )
    .await
    .unwrap();
    pool.close().await;
    let m = t.open().await;
    let tags = m.artifact_tags(&[1, 2]).await.unwrap();
    let mut ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
    assert_eq!(tags.len(), 3);
    assert!(ids.iter().all(|id| *id > 0));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(tags[0].pushed_ms, 10);
    assert!(tags.iter().all(|t| t.pulled_ms.is_none()));
    // New tags get fresh ids; moving a tag keeps its id.
    let r = repo("p/app");
    m.create_tag(&r, 2, &tag("new")).await.unwrap();
    let all_ids: Vec<i64> = m
        .artifact_tags(&[1, 2])
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    let mut unique = all_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4);
}
