//! The contract of labels and their links to artifacts, on SQLite and PostgreSQL
//! (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::identity::{Match, Page};
use harbor_core::labels::{Label, LabelQuery, LabelScope, LabelStore, LabelUpdate, NewLabel};
use harbor_core::model::NewManifest;
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::{Digest, Error, Reference, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    labels_are_unique_per_scope_and_project,
    listing_filters_and_pages,
    update_and_delete,
    attach_detach_and_cascades,
    labels_of_reads_many_artifacts_at_once,
);

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

fn new(name: &str, project_id: Option<i64>) -> NewLabel {
    NewLabel {
        name: name.into(),
        description: format!("about {name}"),
        color: "#0065AB".into(),
        scope: if project_id.is_some() {
            LabelScope::Project
        } else {
            LabelScope::Global
        },
        project_id,
    }
}

async fn project(m: &SqlMetadataStore, name: &str) -> i64 {
    let owner = harbor_storage::testing::owner_id(m).await;
    m.create_project(name, owner, false).await.unwrap().id
}

/// Pushes an image tagged `tag` into `name`; returns its row id.
async fn push(m: &SqlMetadataStore, name: &str, content: &str, tag: &str) -> i64 {
    let r = repo(name);
    let layer = Digest::sha256(format!("layer of {name}").as_bytes());
    m.link_blob(&r, &layer, 10).await.unwrap();
    let man = NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::copy_from_slice(content.as_bytes()),
        blobs: vec![layer],
        manifests: vec![],
        children_pending: false,
    };
    m.put_manifest(&r, &man, &[Tag::parse(tag).unwrap()])
        .await
        .unwrap();
    let by_digest = m
        .artifact_row_id(&r, &Reference::Digest(man.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    let by_tag = m
        .artifact_row_id(&r, &Reference::parse(tag).unwrap())
        .await
        .unwrap();
    assert_eq!(by_tag, Some(by_digest));
    by_digest
}

fn query(scope: LabelScope, project_id: Option<i64>, name: Option<Match>) -> LabelQuery {
    LabelQuery {
        scope,
        project_id,
        name,
    }
}

async fn labels_are_unique_per_scope_and_project(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let b = project(&m, "b").await;
    let g = m.create_label(&new("prod", None)).await.unwrap();
    assert_eq!(g.name, "prod");
    assert_eq!(g.description, "about prod");
    assert_eq!(g.color, "#0065AB");
    assert_eq!(g.scope, LabelScope::Global);
    assert_eq!(g.project_id, None);
    assert!(g.created_ms > 0 && g.updated_ms == g.created_ms);
    assert_eq!(m.label(g.id).await.unwrap(), Some(g.clone()));

    // The same name once per scope and project.
    assert!(matches!(
        m.create_label(&new("prod", None)).await,
        Err(Error::Conflict(_))
    ));
    let pa = m.create_label(&new("prod", Some(a))).await.unwrap();
    assert_eq!(pa.scope, LabelScope::Project);
    assert_eq!(pa.project_id, Some(a));
    m.create_label(&new("prod", Some(b))).await.unwrap();
    assert!(matches!(
        m.create_label(&new("prod", Some(a))).await,
        Err(Error::Conflict(_))
    ));
    // Names are case-sensitive, as in Harbor.
    m.create_label(&new("Prod", None)).await.unwrap();
    // A project label of a missing project.
    assert!(matches!(
        m.create_label(&new("x", Some(9999))).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(m.label(424242).await.unwrap(), None);
}

async fn listing_filters_and_pages(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let b = project(&m, "b").await;
    for n in ["g1", "g2", "other"] {
        m.create_label(&new(n, None)).await.unwrap();
    }
    for n in ["a1", "a2"] {
        m.create_label(&new(n, Some(a))).await.unwrap();
    }
    m.create_label(&new("b1", Some(b))).await.unwrap();

    let names = |v: Vec<Label>| v.into_iter().map(|l| l.name).collect::<Vec<_>>();
    let (g, total) = m
        .labels(&query(LabelScope::Global, None, None), all())
        .await
        .unwrap();
    assert_eq!(
        (names(g), total),
        (vec!["g1".into(), "g2".into(), "other".into()], 3)
    );
    let (p, total) = m
        .labels(&query(LabelScope::Project, Some(a), None), all())
        .await
        .unwrap();
    assert_eq!((names(p), total), (vec!["a1".to_string(), "a2".into()], 2));
    let (f, total) = m
        .labels(
            &query(LabelScope::Global, None, Some(Match::Fuzzy("G".into()))),
            all(),
        )
        .await
        .unwrap();
    assert_eq!((names(f), total), (vec!["g1".to_string(), "g2".into()], 2));
    let (e, _) = m
        .labels(
            &query(
                LabelScope::Project,
                Some(b),
                Some(Match::Exact("b1".into())),
            ),
            all(),
        )
        .await
        .unwrap();
    assert_eq!(names(e), ["b1"]);
    let (page2, total) = m
        .labels(
            &query(LabelScope::Global, None, None),
            Page {
                page: 2,
                page_size: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!((names(page2), total), (vec!["other".to_string()], 3));
}

async fn update_and_delete(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let one = m.create_label(&new("one", Some(a))).await.unwrap();
    m.create_label(&new("two", Some(a))).await.unwrap();
    let update = |name: &str| LabelUpdate {
        name: name.into(),
        description: "new".into(),
        color: "#FF0000".into(),
    };
    let changed = m.update_label(one.id, &update("uno")).await.unwrap();
    assert_eq!(changed.name, "uno");
    assert_eq!(changed.description, "new");
    assert_eq!(changed.color, "#FF0000");
    assert_eq!(changed.project_id, Some(a));
    assert!(changed.updated_ms >= one.updated_ms);
    assert_eq!(m.label(one.id).await.unwrap(), Some(changed));
    assert!(matches!(
        m.update_label(one.id, &update("two")).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        m.update_label(999, &update("x")).await,
        Err(Error::NotFound(_))
    ));
    m.delete_label(one.id).await.unwrap();
    assert_eq!(m.label(one.id).await.unwrap(), None);
    assert!(matches!(
        m.delete_label(one.id).await,
        Err(Error::NotFound(_))
    ));
    // Deleting the project deletes its labels.
    let two = m
        .labels(&query(LabelScope::Project, Some(a), None), all())
        .await
        .unwrap()
        .0;
    assert_eq!(two.len(), 1);
    m.delete_project(a).await.unwrap();
    assert_eq!(m.label(two[0].id).await.unwrap(), None);
}

async fn attach_detach_and_cascades(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let art = push(&m, "a/app", "m1", "v1").await;
    let other = push(&m, "a/app", "m2", "v2").await;
    let g = m.create_label(&new("g", None)).await.unwrap();
    let p = m.create_label(&new("p", Some(a))).await.unwrap();

    m.attach_label(art, g.id).await.unwrap();
    m.attach_label(art, p.id).await.unwrap();
    m.attach_label(other, g.id).await.unwrap();
    assert!(matches!(
        m.attach_label(art, g.id).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        m.attach_label(art, 999).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        m.attach_label(999, g.id).await,
        Err(Error::NotFound(_))
    ));
    let of = m.labels_of(&[art, other]).await.unwrap();
    assert_eq!(of[&art], vec![g.clone(), p.clone()]);
    assert_eq!(of[&other], vec![g.clone()]);

    m.detach_label(art, p.id).await.unwrap();
    assert!(matches!(
        m.detach_label(art, p.id).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(m.labels_of(&[art]).await.unwrap()[&art], vec![g.clone()]);

    // Deleting a label detaches it everywhere.
    m.delete_label(g.id).await.unwrap();
    assert!(m.labels_of(&[art, other]).await.unwrap().is_empty());

    // Deleting an artifact drops its links; the label stays.
    m.attach_label(art, p.id).await.unwrap();
    let digest = Digest::sha256(b"m1");
    assert!(m.delete_manifest(&repo("a/app"), &digest).await.unwrap());
    assert!(m.labels_of(&[art]).await.unwrap().is_empty());
    assert!(m.label(p.id).await.unwrap().is_some());
    // So does deleting the repository.
    m.attach_label(other, p.id).await.unwrap();
    assert!(m.delete_repository(&repo("a/app")).await.unwrap());
    assert!(m.labels_of(&[other]).await.unwrap().is_empty());
    assert_eq!(
        m.artifact_row_id(&repo("a/app"), &Reference::parse("v2").unwrap())
            .await
            .unwrap(),
        None
    );
}

async fn labels_of_reads_many_artifacts_at_once(t: &Target) {
    let m = t.open().await;
    let g = m.create_label(&new("g", None)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..350 {
        let id = push(&m, "p/many", &format!("m{i}"), &format!("t{i}")).await;
        if i % 2 == 0 {
            m.attach_label(id, g.id).await.unwrap();
        }
        ids.push(id);
    }
    assert!(m.labels_of(&[]).await.unwrap().is_empty());
    let of = m.labels_of(&ids).await.unwrap();
    assert_eq!(of.len(), 175);
    assert!(ids.iter().step_by(2).all(|id| of[id] == vec![g.clone()]));
    assert!(ids.iter().skip(1).step_by(2).all(|id| !of.contains_key(id)));
}
