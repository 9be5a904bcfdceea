//! Tag retention on SQLite and PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see
//! `harbor_storage::testing`): the policy store, and runs of the registry service over
//! the SQL store (dry run against real run, immutable tags, accessories, quota).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use harbor_core::artifact::RepositoryPulls;
use harbor_core::identity::NewUser;
use harbor_core::immutable::{ImmutableRuleStore, RuleSpec, Selector};
use harbor_core::labels::{LabelScope, LabelStore, NewLabel};
use harbor_core::model::{NewManifest, now_ms};
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::quota::QuotaStore;
use harbor_core::retention::{RetainReason, RetentionPolicy, RetentionStore, Template};
use harbor_core::{Digest, Error, Reference, Registry, RegistryConfig, RepositoryName, Tag};
use harbor_storage::blob::StorageOptions;
use harbor_storage::testing::TestTarget as Target;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};
use serde_json::json;

harbor_storage::contract_tests!(
    policies_one_per_project_and_deleted_with_it,
    registry_checks_policies,
    runs_delete_what_no_rule_keeps,
);

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
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
        .unwrap()
        .id;
    m.create_project(name, owner, false).await.unwrap().id
}

/// A policy as Harbor's portal writes it, with the given rules.
fn policy(project_id: i64, rules: serde_json::Value) -> RetentionPolicy {
    serde_json::from_value(json!({
        "algorithm": "or",
        "rules": rules,
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}},
        "scope": {"level": "project", "ref": project_id}
    }))
    .unwrap()
}

fn rule(
    template: &str,
    n: Option<i64>,
    tags: &str,
    untagged: bool,
    repos: (&str, &str),
) -> serde_json::Value {
    let params = match n {
        Some(n) => json!({ template: n }),
        None => json!({}),
    };
    json!({
        "priority": 0, "disabled": false, "action": "retain", "template": template,
        "params": params,
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": tags,
                           "extras": format!("{{\"untagged\":{untagged}}}")}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": repos.0,
                                            "pattern": repos.1}]}
    })
}

fn registry(m: &SqlMetadataStore) -> Registry {
    let blobs = ObjectBlobStore::open("memory://", &StorageOptions::default()).unwrap();
    Registry::new(
        Arc::new(blobs),
        Arc::new(m.clone()),
        RegistryConfig::default(),
    )
}

async fn policies_one_per_project_and_deleted_with_it(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let b = project(&m, "b").await;
    let p = policy(
        a,
        json!([rule(
            "latestPushedK",
            Some(5),
            "**",
            true,
            ("repoMatches", "**")
        )]),
    );
    p.validate().unwrap();
    let id = m.create_policy(a, &p).await.unwrap();
    let stored = m.policy(id).await.unwrap().expect("stored");
    assert_eq!(stored, RetentionPolicy { id, ..p.clone() });
    assert_eq!(m.policy_of_project(a).await.unwrap(), Some(stored.clone()));
    assert_eq!(m.policy_of_project(b).await.unwrap(), None);
    // One per project; the project must exist.
    assert!(matches!(
        m.create_policy(a, &p).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        m.create_policy(99_999, &p).await,
        Err(Error::NotFound(_))
    ));

    let mut changed = p.clone();
    changed.rules[0].disabled = true;
    changed.trigger.as_mut().unwrap().settings["cron"] = json!("");
    m.update_policy(id, &changed).await.unwrap();
    assert_eq!(
        m.policy(id).await.unwrap(),
        Some(RetentionPolicy {
            id,
            ..changed.clone()
        })
    );
    assert!(matches!(
        m.update_policy(id + 1000, &changed).await,
        Err(Error::NotFound(_))
    ));

    m.delete_policy(id).await.unwrap();
    assert_eq!(m.policy(id).await.unwrap(), None);
    assert_eq!(m.policy_of_project(a).await.unwrap(), None);
    assert!(matches!(m.delete_policy(id).await, Err(Error::NotFound(_))));
    // The project may have a policy again, and deleting the project deletes it.
    let pb = policy(b, json!([]));
    let id_b = m.create_policy(b, &pb).await.unwrap();
    m.delete_project(b).await.unwrap();
    assert_eq!(m.policy(id_b).await.unwrap(), None);
    assert_eq!(m.policy_of_project(b).await.unwrap(), None);
}

async fn registry_checks_policies(t: &Target) {
    let m = t.open().await;
    let a = project(&m, "a").await;
    let b = project(&m, "b").await;
    let reg = registry(&m);
    let p = policy(
        a,
        json!([rule("always", None, "**", true, ("repoMatches", "**"))]),
    );
    let id = reg.create_retention_policy(&p).await.unwrap();
    assert_eq!(reg.retention_policy(id).await.unwrap().id, id);
    match reg.create_retention_policy(&p).await {
        Err(Error::Invalid(msg)) => {
            assert_eq!(
                msg,
                format!("project {a} already has retention policy {id}")
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Invalid policies are refused before anything is written.
    let bad = policy(
        b,
        json!([rule("newest", Some(1), "**", true, ("repoMatches", "**"))]),
    );
    assert!(matches!(
        reg.create_retention_policy(&bad).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(m.policy_of_project(b).await.unwrap(), None);
    // An update may not move the policy to another project.
    let moved = policy(b, json!([]));
    assert!(matches!(
        reg.update_retention_policy(id, &moved).await,
        Err(Error::NotFound(_))
    ));
    let emptied = policy(a, json!([]));
    reg.update_retention_policy(id, &emptied).await.unwrap();
    assert!(reg.retention_policy(id).await.unwrap().rules.is_empty());
    reg.delete_retention_policy(id).await.unwrap();
    assert!(matches!(
        reg.retention_policy(id).await,
        Err(Error::NotFound(_))
    ));
}

struct Pushed {
    digest: Digest,
    /// The project-level bytes this manifest alone holds: its content and own layer.
    own_bytes: i64,
}

/// Pushes a manifest with an own layer of `layer` bytes (and the `shared` layer, if
/// given) and the tags; `subject` makes it an accessory.
async fn push(
    m: &SqlMetadataStore,
    r: &RepositoryName,
    name: &str,
    layer: u64,
    shared: Option<&Digest>,
    tags: &[&str],
    subject: Option<&Digest>,
) -> Pushed {
    let own = Digest::sha256(format!("layer {name}").as_bytes());
    m.link_blob(r, &own, layer).await.unwrap();
    let mut blobs = vec![own];
    if let Some(s) = shared {
        m.link_blob(r, s, 1000).await.unwrap();
        blobs.push(s.clone());
    }
    let content = format!("{{\"manifest\":\"{name}\"}}");
    let man = NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: Some("application/vnd.oci.image.config.v1+json".into()),
        subject: subject.cloned(),
        annotations: BTreeMap::new(),
        content: Bytes::from(content.clone()),
        blobs,
        manifests: vec![],
        children_pending: false,
    };
    let tags: Vec<Tag> = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
    m.put_manifest(r, &man, &tags).await.unwrap();
    Pushed {
        digest: man.digest,
        own_bytes: content.len() as i64 + layer as i64,
    }
}

/// The stored usage, checked against a recount.
async fn used(m: &SqlMetadataStore, project_id: i64) -> i64 {
    let r = m.recount_quota(project_id).await.unwrap();
    assert!(r.consistent(), "usage drifted from the recount: {r:?}");
    let q = m.project_quota(project_id).await.unwrap().unwrap();
    assert_eq!(q.used, r.recounted);
    q.used
}

async fn runs_delete_what_no_rule_keeps(t: &Target) {
    let m = t.open().await;
    let p = project(&m, "p").await;
    let app = repo("p/app");
    let web = repo("p/team/web");
    let kept = repo("p/keep/x");
    let shared = Digest::sha256(b"shared layer");

    let release = push(
        &m,
        &app,
        "release",
        100,
        Some(&shared),
        &["release-1"],
        None,
    )
    .await;
    let dev = push(&m, &app, "dev", 200, Some(&shared), &["dev-1"], None).await;
    let sig = push(&m, &app, "dev-sig", 10, None, &[], Some(&dev.digest)).await;
    let prod = push(&m, &app, "prod", 300, None, &["prod"], None).await;
    let untagged = push(&m, &app, "untagged", 400, None, &[], None).await;
    let pulled = push(&m, &app, "pulled", 500, None, &["dev-2"], None).await;
    let web_dev = push(&m, &web, "web-dev", 600, None, &["dev-1"], None).await;
    let keep_dev = push(&m, &kept, "keep-dev", 700, None, &["dev-1"], None).await;

    m.record_pulls(&[RepositoryPulls {
        repository: app.clone(),
        count: 1,
        manifests: vec![(pulled.digest.clone(), now_ms())],
        tags: vec![],
    }])
    .await
    .unwrap();
    m.create_immutable_rule(
        p,
        &RuleSpec {
            priority: 0,
            disabled: false,
            repositories: Selector {
                exclude: false,
                pattern: "**".into(),
            },
            tags: Selector {
                exclude: false,
                pattern: "prod".into(),
            },
        },
        15,
    )
    .await
    .unwrap();
    let label = m
        .create_label(&NewLabel {
            name: "golden".into(),
            description: String::new(),
            color: String::new(),
            scope: LabelScope::Project,
            project_id: Some(p),
        })
        .await
        .unwrap();
    let release_row = m
        .artifact(&app, &Reference::Digest(release.digest.clone()))
        .await
        .unwrap()
        .unwrap();
    m.attach_label(release_row.id, label.id).await.unwrap();

    // Rule 1 keeps release tags everywhere but under keep/; rule 2 keeps the most
    // recently pulled artifact of app. Nothing applies to keep/x.
    let policy = policy(
        p,
        json!([
            rule(
                "always",
                None,
                "release-*",
                false,
                ("repoExcludes", "keep/**")
            ),
            rule("latestPulledN", Some(1), "**", true, ("repoMatches", "app")),
        ]),
    );
    policy.validate().unwrap();
    let reg = registry(&m);

    let mut repos = reg.retention_repositories(p, &policy).await.unwrap();
    repos.sort();
    assert_eq!(repos, [app.clone(), web.clone()]);

    let candidates = reg.retention_candidates(&app).await.unwrap();
    let digests: Vec<&Digest> = candidates.iter().map(|c| &c.digest).collect();
    assert_eq!(
        candidates.len(),
        5,
        "the signature is no candidate: {digests:?}"
    );
    let of = |d: &Digest| candidates.iter().find(|c| &c.digest == d).unwrap();
    assert_eq!(of(&release.digest).labels, ["golden"]);
    assert!(of(&prod.digest).immutable);
    assert!(!of(&dev.digest).immutable);
    assert!(of(&pulled.digest).pulled_ms.is_some());
    assert_eq!(of(&untagged.digest).tags, Vec::<String>::new());

    let before = used(&m, p).await;
    let mut dry_log = Vec::new();
    let dry = reg
        .apply_retention(&app, &policy, true, now_ms(), &mut |l| dry_log.push(l))
        .await
        .unwrap();
    let mut expected = vec![
        (dev.digest.clone(), vec!["dev-1".to_owned()]),
        (untagged.digest.clone(), vec![]),
    ];
    expected.sort();
    let mut dry_deleted = dry.deleted.clone();
    dry_deleted.sort();
    assert_eq!(dry_deleted, expected);
    assert_eq!(dry_log.iter().filter(|l| l.starts_with("DEL ")).count(), 2);
    assert!(
        dry_log
            .iter()
            .all(|l| !l.starts_with("DEL ") || l.ends_with("(dry run)"))
    );
    // A dry run changes nothing.
    assert_eq!(used(&m, p).await, before);
    assert_eq!(reg.retention_candidates(&app).await.unwrap().len(), 5);

    let mut log = Vec::new();
    let real = reg
        .apply_retention(&app, &policy, false, now_ms(), &mut |l| log.push(l))
        .await
        .unwrap();
    let mut real_deleted = real.deleted.clone();
    real_deleted.sort();
    assert_eq!(
        real_deleted, dry_deleted,
        "the dry run told what the run deletes"
    );
    assert_eq!(real.retained, dry.retained);
    assert_eq!(real.deleted_bytes, dry.deleted_bytes);
    assert_eq!(log.iter().filter(|l| l.starts_with("DEL ")).count(), 2);
    let reasons: BTreeMap<&Digest, &RetainReason> =
        real.retained.iter().map(|(c, r)| (&c.digest, r)).collect();
    assert_eq!(reasons[&prod.digest], &RetainReason::Immutable);
    assert!(matches!(
        reasons[&release.digest],
        RetainReason::Rule {
            index: 0,
            template: Template::Always,
            ..
        }
    ));
    assert!(matches!(
        reasons[&pulled.digest],
        RetainReason::Rule {
            index: 1,
            template: Template::LatestPulledN,
            ..
        }
    ));

    // What is left is what was kept; the signature went with its subject.
    let mut left: Vec<Digest> = reg
        .retention_candidates(&app)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.digest)
        .collect();
    left.sort();
    let mut want = vec![
        release.digest.clone(),
        prod.digest.clone(),
        pulled.digest.clone(),
    ];
    want.sort();
    assert_eq!(left, want);
    for gone in [&dev.digest, &untagged.digest, &sig.digest] {
        assert!(
            m.artifact(&app, &Reference::Digest(gone.clone()))
                .await
                .unwrap()
                .is_none()
        );
    }
    // The quota released exactly what only the deleted artifacts held (the shared layer
    // stays with the release).
    let after = used(&m, p).await;
    assert_eq!(
        before - after,
        dev.own_bytes + sig.own_bytes + untagged.own_bytes
    );
    // A second run finds nothing more to delete.
    let again = reg
        .apply_retention(&app, &policy, false, now_ms(), &mut |_| {})
        .await
        .unwrap();
    assert!(again.deleted.is_empty());

    // In team/web only rule 1 applies; keep/x is left alone even when run.
    let web_run = reg
        .apply_retention(&web, &policy, false, now_ms(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        web_run.deleted,
        [(web_dev.digest.clone(), vec!["dev-1".to_owned()])]
    );
    let keep_run = reg
        .apply_retention(&kept, &policy, false, now_ms(), &mut |_| {})
        .await
        .unwrap();
    assert!(keep_run.deleted.is_empty());
    assert_eq!(keep_run.retained[0].1, RetainReason::NoRuleApplies);
    assert!(
        m.artifact(&kept, &Reference::Digest(keep_dev.digest.clone()))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        before - used(&m, p).await,
        dev.own_bytes + sig.own_bytes + untagged.own_bytes + web_dev.own_bytes
    );
}
