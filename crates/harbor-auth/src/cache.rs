//! A short-lived read cache in front of an [`IdentityStore`].
//!
//! Every authenticated registry request looks up its principal (the token's subject or
//! the Basic username) and the project it touches; on a busy registry those look-ups are
//! most of the database work an authenticated pull does. [`CachedIdentity`] keeps the
//! answers for a few seconds.
//!
//! Freshness: any write through this store (on this process) empties the cache at once,
//! so a user deleted, a robot disabled or a project made private through this replica
//! takes effect immediately. Another replica sharing the database sees the change
//! within the TTL. Only records that exist are cached: a project or account created on
//! another replica is visible there at once.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use harbor_core::Result;
use harbor_core::events::NewEvent;
use harbor_core::groups::{GroupQuery, GroupType, NewUserGroup, UserGroup};
use harbor_core::identity::{
    AuditEntry, AuditQuery, Match, Member, NewAuditEntry, NewProject, NewRobot, NewUser, Page,
    Project, ProjectQuery, ProjectSummary, Robot, RobotQuery, RobotUpdate, Session, User,
    UserQuery, UserUpdate,
};
use harbor_core::ports::IdentityStore;
use harbor_core::rbac::Role;

use crate::ttl::TtlMap;

/// Most entries one map holds; it is emptied when full (the working set of a registry is
/// far smaller, and a refill costs one query per key).
const MAX_ENTRIES: usize = 10_000;

/// An [`IdentityStore`] that remembers users, robots, projects and memberships by key for
/// `ttl`, and forgets everything on any write.
pub struct CachedIdentity {
    inner: Arc<dyn IdentityStore>,
    ttl: Duration,
    /// Bumped by every write; a read that raced a write does not fill the cache.
    generation: AtomicU64,
    users: TtlMap<String, User>,
    robots: TtlMap<String, Robot>,
    projects: TtlMap<String, Project>,
    roles: TtlMap<(i64, i64), Vec<Role>>,
}

impl std::fmt::Debug for CachedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedIdentity")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedIdentity {
    /// Caches `inner`'s look-ups for `ttl`.
    pub fn new(inner: Arc<dyn IdentityStore>, ttl: Duration) -> Self {
        CachedIdentity {
            inner,
            ttl,
            generation: AtomicU64::new(0),
            users: TtlMap::new(ttl, MAX_ENTRIES),
            robots: TtlMap::new(ttl, MAX_ENTRIES),
            projects: TtlMap::new(ttl, MAX_ENTRIES),
            roles: TtlMap::new(ttl, MAX_ENTRIES),
        }
    }

    /// `store` behind a cache, or `store` itself when `ttl` is zero.
    pub fn wrap(store: Arc<dyn IdentityStore>, ttl: Duration) -> Arc<dyn IdentityStore> {
        if ttl.is_zero() {
            store
        } else {
            Arc::new(CachedIdentity::new(store, ttl))
        }
    }

    /// Forgets everything cached.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.users.clear();
        self.robots.clear();
        self.projects.clear();
        self.roles.clear();
    }

    /// Runs a write, then forgets everything, whether or not it succeeded (a failed write
    /// may still have changed something, e.g. on a lost connection after commit).
    async fn write<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let out = fut.await;
        self.invalidate();
        out
    }

    /// Looks `key` up in `map`, else asks `load` and remembers an existing record unless
    /// a write happened meanwhile.
    async fn read<K: Hash + Eq, V: Clone>(
        &self,
        map: &TtlMap<K, V>,
        key: K,
        load: impl Future<Output = Result<Option<V>>>,
    ) -> Result<Option<V>> {
        if let Some(v) = map.get(&key) {
            return Ok(Some(v));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = load.await?;
        if let Some(v) = &found
            && self.generation.load(Ordering::SeqCst) == generation
        {
            map.put(key, v.clone());
        }
        Ok(found)
    }
}

#[async_trait]
impl IdentityStore for CachedIdentity {
    async fn create_user_emitting(&self, user: &NewUser, events: &[NewEvent]) -> Result<User> {
        self.write(self.inner.create_user_emitting(user, events))
            .await
    }
    async fn user(&self, id: i64) -> Result<Option<User>> {
        self.inner.user(id).await
    }
    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        self.read(
            &self.users,
            username.to_owned(),
            self.inner.user_by_name(username),
        )
        .await
    }
    async fn users(&self, query: &UserQuery, page: Page) -> Result<(Vec<User>, u64)> {
        self.inner.users(query, page).await
    }
    async fn user_count(&self) -> Result<u64> {
        self.inner.user_count().await
    }
    async fn update_user_emitting(
        &self,
        id: i64,
        update: &UserUpdate,
        events: &[NewEvent],
    ) -> Result<User> {
        self.write(self.inner.update_user_emitting(id, update, events))
            .await
    }
    async fn set_password_emitting(
        &self,
        id: i64,
        password_hash: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        self.write(self.inner.set_password_emitting(id, password_hash, events))
            .await
    }
    async fn set_sysadmin_emitting(
        &self,
        id: i64,
        sysadmin: bool,
        events: &[NewEvent],
    ) -> Result<()> {
        self.write(self.inner.set_sysadmin_emitting(id, sysadmin, events))
            .await
    }
    async fn set_group_admin_emitting(
        &self,
        id: i64,
        admin: bool,
        events: &[NewEvent],
    ) -> Result<bool> {
        self.write(self.inner.set_group_admin_emitting(id, admin, events))
            .await
    }
    async fn delete_user_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        self.write(self.inner.delete_user_emitting(id, events))
            .await
    }

    async fn create_project_emitting(
        &self,
        project: &NewProject,
        events: &[NewEvent],
    ) -> Result<Project> {
        self.write(self.inner.create_project_emitting(project, events))
            .await
    }
    async fn project(&self, id: i64) -> Result<Option<Project>> {
        self.inner.project(id).await
    }
    async fn project_by_name(&self, name: &str) -> Result<Option<Project>> {
        self.read(
            &self.projects,
            name.to_owned(),
            self.inner.project_by_name(name),
        )
        .await
    }
    async fn projects(&self, query: &ProjectQuery, page: Page) -> Result<(Vec<Project>, u64)> {
        self.inner.projects(query, page).await
    }
    async fn set_project_public(&self, id: i64, public: bool) -> Result<Project> {
        self.write(self.inner.set_project_public(id, public)).await
    }
    async fn update_project_metadata_emitting(
        &self,
        id: i64,
        public: Option<bool>,
        set: &std::collections::BTreeMap<String, String>,
        remove: &[String],
        events: &[NewEvent],
    ) -> Result<Project> {
        self.write(
            self.inner
                .update_project_metadata_emitting(id, public, set, remove, events),
        )
        .await
    }
    async fn delete_project_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        self.write(self.inner.delete_project_emitting(id, events))
            .await
    }
    async fn project_repository_count(&self, name: &str) -> Result<u64> {
        self.inner.project_repository_count(name).await
    }
    async fn project_repository_counts(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, u64>> {
        self.inner.project_repository_counts(ids).await
    }
    async fn project_summary(&self, project: &Project) -> Result<ProjectSummary> {
        self.inner.project_summary(project).await
    }

    async fn add_member_emitting(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<Member> {
        self.write(
            self.inner
                .add_member_emitting(project_id, user_id, role, events),
        )
        .await
    }
    async fn member(&self, project_id: i64, member_id: i64) -> Result<Option<Member>> {
        self.inner.member(project_id, member_id).await
    }
    async fn members(
        &self,
        project_id: i64,
        username: Option<&Match>,
        page: Page,
    ) -> Result<(Vec<Member>, u64)> {
        self.inner.members(project_id, username, page).await
    }
    async fn set_member_role_emitting(
        &self,
        project_id: i64,
        member_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<()> {
        self.write(
            self.inner
                .set_member_role_emitting(project_id, member_id, role, events),
        )
        .await
    }
    async fn delete_member_emitting(
        &self,
        project_id: i64,
        member_id: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        self.write(
            self.inner
                .delete_member_emitting(project_id, member_id, events),
        )
        .await
    }
    async fn roles(&self, project_id: i64, user_id: i64) -> Result<Vec<Role>> {
        let load = async { self.inner.roles(project_id, user_id).await.map(Some) };
        Ok(self
            .read(&self.roles, (project_id, user_id), load)
            .await?
            .unwrap_or_default())
    }

    async fn roles_in_projects(
        &self,
        user_id: i64,
        project_ids: &[i64],
    ) -> Result<Vec<(i64, Role)>> {
        self.inner.roles_in_projects(user_id, project_ids).await
    }

    async fn add_group_member_emitting(
        &self,
        project_id: i64,
        group_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<Member> {
        self.write(
            self.inner
                .add_group_member_emitting(project_id, group_id, role, events),
        )
        .await
    }

    async fn create_group_emitting(
        &self,
        group: &NewUserGroup,
        events: &[NewEvent],
    ) -> Result<UserGroup> {
        self.inner.create_group_emitting(group, events).await
    }
    async fn group(&self, id: i64) -> Result<Option<UserGroup>> {
        self.inner.group(id).await
    }
    async fn groups_by_ids(&self, ids: &[i64]) -> Result<Vec<UserGroup>> {
        self.inner.groups_by_ids(ids).await
    }
    async fn groups(&self, query: &GroupQuery, page: Page) -> Result<(Vec<UserGroup>, u64)> {
        self.inner.groups(query, page).await
    }
    async fn rename_group_emitting(
        &self,
        id: i64,
        name: &str,
        events: &[NewEvent],
    ) -> Result<UserGroup> {
        self.inner.rename_group_emitting(id, name, events).await
    }
    /// Removes roles: forgets everything cached.
    async fn delete_group_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        self.write(self.inner.delete_group_emitting(id, events))
            .await
    }
    /// Creating groups grants nothing (a new group is nobody's and in no project): the
    /// cache is kept, so that a sign-in does not empty it.
    async fn ensure_groups(
        &self,
        group_type: GroupType,
        groups: &[(String, String)],
    ) -> Result<Vec<i64>> {
        self.inner.ensure_groups(group_type, groups).await
    }
    async fn user_groups(&self, user_id: i64) -> Result<Vec<UserGroup>> {
        self.inner.user_groups(user_id).await
    }
    /// Changes roles: forgets everything cached.
    async fn set_user_groups_emitting(
        &self,
        user_id: i64,
        group_ids: &[i64],
        events: &[NewEvent],
    ) -> Result<()> {
        self.write(
            self.inner
                .set_user_groups_emitting(user_id, group_ids, events),
        )
        .await
    }

    async fn create_robot_emitting(&self, robot: &NewRobot, events: &[NewEvent]) -> Result<Robot> {
        self.write(self.inner.create_robot_emitting(robot, events))
            .await
    }
    async fn robot(&self, id: i64) -> Result<Option<Robot>> {
        self.inner.robot(id).await
    }
    async fn robot_by_name(&self, name: &str) -> Result<Option<Robot>> {
        self.read(
            &self.robots,
            name.to_owned(),
            self.inner.robot_by_name(name),
        )
        .await
    }
    async fn robots(&self, query: &RobotQuery, page: Page) -> Result<(Vec<Robot>, u64)> {
        self.inner.robots(query, page).await
    }
    async fn update_robot_emitting(
        &self,
        id: i64,
        update: &RobotUpdate,
        events: &[NewEvent],
    ) -> Result<Robot> {
        self.write(self.inner.update_robot_emitting(id, update, events))
            .await
    }
    async fn set_robot_secret_emitting(
        &self,
        id: i64,
        secret_hash: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        self.write(
            self.inner
                .set_robot_secret_emitting(id, secret_hash, events),
        )
        .await
    }
    async fn delete_robot_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        self.write(self.inner.delete_robot_emitting(id, events))
            .await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        self.inner.create_session(session).await
    }
    async fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<Session>> {
        self.inner.session(id_hash, now_ms).await
    }
    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.inner.delete_session(id_hash).await
    }

    async fn record_audit(&self, entries: &[NewAuditEntry]) -> Result<()> {
        self.inner.record_audit(entries).await
    }
    async fn audit_log(&self, query: &AuditQuery, page: Page) -> Result<(Vec<AuditEntry>, u64)> {
        self.inner.audit_log(query, page).await
    }

    async fn purge_audit(
        &self,
        before_ms: i64,
        operations: &[String],
        dry_run: bool,
    ) -> Result<u64> {
        self.inner.purge_audit(before_ms, operations, dry_run).await
    }

    async fn signing_key(&self, candidate: &[u8]) -> Result<Vec<u8>> {
        self.inner.signing_key(candidate).await
    }

    async fn replace_signing_key(&self, old: &[u8], new: &[u8]) -> Result<bool> {
        self.inner.replace_signing_key(old, new).await
    }

    async fn settings(&self) -> Result<Vec<(String, String)>> {
        self.inner.settings().await
    }
    async fn put_settings(&self, settings: &[(String, String)]) -> Result<()> {
        self.inner.put_settings(settings).await
    }
}
