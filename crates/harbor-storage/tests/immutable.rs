//! The contract of tag immutability rules and the tag look-ups enforcement uses, on
//! SQLite and PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::identity::Page;
use harbor_core::immutable::{ImmutableRuleStore, RuleSpec, Selector};
use harbor_core::model::NewManifest;
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::{Digest, Error, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    rules_crud_duplicates_and_limit,
    rules_by_project_name,
    tag_lookups,
);

fn spec(repos: &str, tags: &str, exclude_tags: bool) -> RuleSpec {
    RuleSpec {
        priority: 0,
        disabled: false,
        repositories: Selector {
            exclude: false,
            pattern: repos.into(),
        },
        tags: Selector {
            exclude: exclude_tags,
            pattern: tags.into(),
        },
    }
}

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

async fn project(m: &SqlMetadataStore, name: &str) -> i64 {
    let owner = harbor_storage::testing::owner_id(m).await;
    m.create_project(name, owner, false).await.unwrap().id
}

async fn rules_crud_duplicates_and_limit(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let b = project(&m, "b").await;
    let r = m
        .create_immutable_rule(a, &spec("**", "v*", false), 15)
        .await
        .unwrap();
    assert_eq!(r.project_id, a);
    assert_eq!(r.spec, spec("**", "v*", false));
    assert_eq!(m.immutable_rule(r.id).await.unwrap(), Some(r.clone()));
    // The same selectors twice in one project conflict; in another project they do not,
    // nor does the same pattern with another decoration.
    assert!(matches!(
        m.create_immutable_rule(a, &spec("**", "v*", false), 15)
            .await,
        Err(Error::Conflict(_))
    ));
    m.create_immutable_rule(b, &spec("**", "v*", false), 15)
        .await
        .unwrap();
    let excl = m
        .create_immutable_rule(a, &spec("**", "v*", true), 15)
        .await
        .unwrap();
    assert!(matches!(
        m.create_immutable_rule(9999, &spec("x", "y", false), 15)
            .await,
        Err(Error::NotFound(_))
    ));

    // Update, including disabling.
    let mut changed = spec("app/**", "{1,2}.*", false);
    changed.disabled = true;
    changed.priority = 3;
    let u = m.update_immutable_rule(r.id, &changed).await.unwrap();
    assert_eq!(u.spec, changed);
    assert_eq!(u.id, r.id);
    assert!(matches!(
        m.update_immutable_rule(excl.id, &changed).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        m.update_immutable_rule(9999, &changed).await,
        Err(Error::NotFound(_))
    ));

    // Listing, pages.
    let (rules, total) = m.immutable_rules(a, all()).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        rules.iter().map(|r| r.id).collect::<Vec<_>>(),
        [r.id, excl.id]
    );
    let (second, total) = m
        .immutable_rules(
            a,
            Page {
                page: 2,
                page_size: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((second.len(), total), (1, 2));
    assert_eq!(second[0].id, excl.id);

    // At most `max_rules` per project.
    for i in 0..2 {
        m.create_immutable_rule(a, &spec("**", &format!("x{i}"), false), 4)
            .await
            .unwrap();
    }
    assert!(matches!(
        m.create_immutable_rule(a, &spec("**", "x9", false), 4)
            .await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(m.immutable_rules(a, all()).await.unwrap().1, 4);

    // Delete.
    m.delete_immutable_rule(r.id).await.unwrap();
    assert_eq!(m.immutable_rule(r.id).await.unwrap(), None);
    assert!(matches!(
        m.delete_immutable_rule(r.id).await,
        Err(Error::NotFound(_))
    ));
    // Deleting the project deletes its rules.
    m.delete_project(a).await.unwrap();
    assert_eq!(m.immutable_rule(excl.id).await.unwrap(), None);
}

async fn rules_by_project_name(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let ab = project(&m, "ab").await;
    assert!(m.immutable_rules_of_project("a").await.unwrap().is_empty());
    assert!(
        m.immutable_rules_of_project("none")
            .await
            .unwrap()
            .is_empty()
    );
    let r1 = m
        .create_immutable_rule(a, &spec("**", "v1", false), 15)
        .await
        .unwrap();
    let mut disabled = spec("**", "v2", false);
    disabled.disabled = true;
    let r2 = m.create_immutable_rule(a, &disabled, 15).await.unwrap();
    m.create_immutable_rule(ab, &spec("**", "v3", false), 15)
        .await
        .unwrap();
    // Every rule of the project, disabled ones too, by id.
    assert_eq!(m.immutable_rules_of_project("a").await.unwrap(), [r1, r2]);
    assert_eq!(m.immutable_rules_of_project("ab").await.unwrap().len(), 1);
}

async fn tag_lookups(t: &Target) {
    let m = t.open().await;
    let r = RepositoryName::parse("a/app").unwrap();
    let layer = Digest::sha256(b"layer");
    m.link_blob(&r, &layer, 5).await.unwrap();
    let mut digests = Vec::new();
    for (content, tags) in [("m1", &["v1", "latest"][..]), ("m2", &["v2"][..])] {
        let man = NewManifest {
            digest: Digest::sha256(content.as_bytes()),
            media_type: harbor_core::manifest::OCI_MANIFEST.into(),
            artifact_type: None,
            subject: None,
            annotations: BTreeMap::new(),
            content: Bytes::copy_from_slice(content.as_bytes()),
            blobs: vec![layer.clone()],
            manifests: vec![],
            children_pending: false,
        };
        let tags: Vec<Tag> = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
        m.put_manifest(&r, &man, &tags).await.unwrap();
        digests.push(man.digest);
    }
    let tag = |s: &str| Tag::parse(s).unwrap();
    let mut found = m
        .tag_digests(&r, &[tag("v1"), tag("v2"), tag("nope")])
        .await
        .unwrap();
    found.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
    assert_eq!(
        found,
        [
            (tag("v1"), digests[0].clone()),
            (tag("v2"), digests[1].clone())
        ]
    );
    assert!(
        m.tag_digests(&RepositoryName::parse("a/other").unwrap(), &[tag("v1")])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        m.tags_of_manifest(&r, &digests[0]).await.unwrap(),
        [tag("latest"), tag("v1")]
    );
    assert!(
        m.tags_of_manifest(&r, &Digest::sha256(b"none"))
            .await
            .unwrap()
            .is_empty()
    );
}
