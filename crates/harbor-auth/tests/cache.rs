//! The identity cache on a real store: cached reads, immediate invalidation by writes
//! through the cache, bounded staleness for writes made elsewhere (another replica),
//! and no caching of records that do not exist.

use std::sync::Arc;
use std::time::Duration;

use harbor_auth::CachedIdentity;
use harbor_core::groups::{GroupType, NewUserGroup};
use harbor_core::identity::NewUser;
use harbor_core::ports::IdentityStore;
use harbor_core::rbac::Role;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    writes_through_the_cache_apply_at_once,
    writes_elsewhere_apply_within_the_ttl,
    missing_records_are_not_cached,
    group_membership_changes_apply_at_once,
);

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        email: None,
        realname: name.into(),
        comment: String::new(),
        password_hash: format!("$argon2id$hash-of-{name}"),
        sysadmin: false,
    }
}

/// The store as another replica sees it, and this replica's cache in front of it.
async fn open(t: &Target, ttl: Duration) -> (Arc<dyn IdentityStore>, CachedIdentity) {
    let inner: Arc<dyn IdentityStore> = Arc::new(t.open().await);
    let cached = CachedIdentity::new(inner.clone(), ttl);
    (inner, cached)
}

async fn writes_through_the_cache_apply_at_once(t: &Target) {
    let (elsewhere, cached) = open(t, Duration::from_secs(600)).await;
    let owner = cached.create_user(&new_user("owner")).await.unwrap();
    let dev = cached.create_user(&new_user("dev")).await.unwrap();
    let p = cached
        .create_project("team", owner.id, false)
        .await
        .unwrap();
    // Fill the cache, then change the records behind its back: it keeps its answers.
    assert!(!cached.user_by_name("dev").await.unwrap().unwrap().sysadmin);
    assert!(
        !cached
            .project_by_name("team")
            .await
            .unwrap()
            .unwrap()
            .public
    );
    assert!(cached.roles(p.id, dev.id).await.unwrap().is_empty());
    elsewhere.set_sysadmin(dev.id, true).await.unwrap();
    elsewhere.set_project_public(p.id, true).await.unwrap();
    elsewhere
        .add_member(p.id, dev.id, Role::Guest)
        .await
        .unwrap();
    assert!(!cached.user_by_name("dev").await.unwrap().unwrap().sysadmin);
    assert!(
        !cached
            .project_by_name("team")
            .await
            .unwrap()
            .unwrap()
            .public
    );
    assert!(cached.roles(p.id, dev.id).await.unwrap().is_empty());
    // Any write through the cache forgets everything.
    cached
        .set_password(owner.id, "$argon2id$new")
        .await
        .unwrap();
    assert!(cached.user_by_name("dev").await.unwrap().unwrap().sysadmin);
    assert!(
        cached
            .project_by_name("team")
            .await
            .unwrap()
            .unwrap()
            .public
    );
    assert_eq!(cached.roles(p.id, dev.id).await.unwrap(), [Role::Guest]);
    // A deleted user, project or robot is gone at once.
    cached.delete_user(dev.id).await.unwrap();
    assert!(cached.user_by_name("dev").await.unwrap().is_none());
    assert!(cached.roles(p.id, dev.id).await.unwrap().is_empty());
    cached.delete_project(p.id).await.unwrap();
    assert!(cached.project_by_name("team").await.unwrap().is_none());
    // A failed write forgets too.
    assert!(cached.user_by_name("owner").await.unwrap().is_some());
    elsewhere.delete_user(owner.id).await.unwrap();
    assert!(cached.delete_user(owner.id).await.is_err());
    assert!(cached.user_by_name("owner").await.unwrap().is_none());
}

async fn writes_elsewhere_apply_within_the_ttl(t: &Target) {
    let ttl = Duration::from_millis(300);
    let (elsewhere, cached) = open(t, ttl).await;
    let u = cached.create_user(&new_user("dev")).await.unwrap();
    assert!(cached.user_by_name("dev").await.unwrap().is_some());
    elsewhere.delete_user(u.id).await.unwrap();
    // Stale for at most the TTL.
    assert!(cached.user_by_name("dev").await.unwrap().is_some());
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(cached.user_by_name("dev").await.unwrap().is_none());
}

async fn missing_records_are_not_cached(t: &Target) {
    let (elsewhere, cached) = open(t, Duration::from_secs(600)).await;
    assert!(cached.user_by_name("late").await.unwrap().is_none());
    assert!(cached.project_by_name("late").await.unwrap().is_none());
    let u = elsewhere.create_user(&new_user("late")).await.unwrap();
    elsewhere.create_project("late", u.id, false).await.unwrap();
    assert!(cached.user_by_name("late").await.unwrap().is_some());
    assert!(cached.project_by_name("late").await.unwrap().is_some());
}

/// Roles through groups are cached like a user's own; replacing a user's groups, changing
/// or removing a group member and deleting a group forget them at once; creating groups
/// (what every sign-in does) keeps the cache.
async fn group_membership_changes_apply_at_once(t: &Target) {
    let (elsewhere, cached) = open(t, Duration::from_secs(600)).await;
    let owner = cached.create_user(&new_user("owner")).await.unwrap();
    let dev = cached.create_user(&new_user("dev")).await.unwrap();
    let p = cached
        .create_project("team", owner.id, false)
        .await
        .unwrap();
    let devs = NewUserGroup::new("devs", GroupType::Http, "").unwrap();
    let g = cached.create_group_emitting(&devs, &[]).await.unwrap();
    let m = cached
        .add_group_member_emitting(p.id, g.id, Role::Developer, &[])
        .await
        .unwrap();
    assert!(cached.roles(p.id, dev.id).await.unwrap().is_empty());
    // Joining the group: at once.
    cached
        .set_user_groups_emitting(dev.id, &[g.id], &[])
        .await
        .unwrap();
    assert_eq!(cached.roles(p.id, dev.id).await.unwrap(), [Role::Developer]);
    // A sign-in's upsert keeps the cache: a change behind its back stays unseen.
    elsewhere
        .set_member_role_emitting(p.id, m.id, Role::Maintainer, &[])
        .await
        .unwrap();
    cached
        .ensure_groups(GroupType::Oidc, &[("new".into(), String::new())])
        .await
        .unwrap();
    assert_eq!(cached.roles(p.id, dev.id).await.unwrap(), [Role::Developer]);
    // The group's role changed through the cache: at once.
    cached
        .set_member_role_emitting(p.id, m.id, Role::Guest, &[])
        .await
        .unwrap();
    assert_eq!(cached.roles(p.id, dev.id).await.unwrap(), [Role::Guest]);
    // The group deleted through the cache: at once.
    cached.delete_group_emitting(g.id, &[]).await.unwrap();
    assert!(cached.roles(p.id, dev.id).await.unwrap().is_empty());
}
