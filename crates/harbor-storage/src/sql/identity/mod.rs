//! The [`IdentityStore`] on SQL: users, projects, members, robots, web sessions, the audit
//! log and the shared signing key (tables of `migrations/*/0002_identity.sql`).
//!
//! Unique keys are left to the database: a duplicate insert fails with a unique violation,
//! which becomes [`Error::Conflict`], so two concurrent creations cannot both succeed.
//! Listings build their `WHERE` clause with a [`Filter`] and return a page and the total.

pub(super) mod audit;
mod groups;
mod oidc;
mod projects;
mod robots;
mod settings;
mod users;

use async_trait::async_trait;
use harbor_core::events::NewEvent;
use harbor_core::groups::{GroupQuery, GroupType, NewUserGroup, UserGroup};
use harbor_core::identity::{
    AuditEntry, AuditQuery, Match, Member, NewAuditEntry, NewProject, NewRobot, NewUser, Page,
    Project, ProjectQuery, ProjectSummary, Robot, RobotQuery, RobotUpdate, Session, User,
    UserQuery, UserUpdate,
};
use harbor_core::ports::IdentityStore;
use harbor_core::rbac::Role;
use harbor_core::{Error, Result};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

pub(in crate::sql) use projects::member_is;

use super::SqlMetadataStore;
use crate::error::{StorageError, internal};

/// What a failed write means for the caller.
enum Failure<'e> {
    /// A unique key is taken; the text names the constraint (PostgreSQL) or the columns
    /// (SQLite's message), to tell which key when a table has several.
    Duplicate(&'e str),
    /// A referenced record (user, project) does not exist.
    MissingReference,
    /// Anything else.
    Other,
}

fn failure(e: &sqlx::Error) -> Failure<'_> {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Failure::Duplicate(db.constraint().unwrap_or_else(|| db.message()))
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Failure::MissingReference,
        _ => Failure::Other,
    }
}

/// Maps a failed write: a unique violation to `Conflict(duplicate(which))`, a foreign-key
/// violation to `NotFound(missing)`, anything else to an internal error.
/// Appends `events` to the outbox and commits: the change and its events are stored
/// together or not at all.
async fn commit(
    s: &SqlMetadataStore,
    mut tx: sqlx::Transaction<'static, Any>,
    events: &[NewEvent],
) -> Result<()> {
    super::events::append(&mut tx, s.dialect(), events).await?;
    tx.commit().await.map_err(internal)
}

fn write_error(
    e: sqlx::Error,
    duplicate: impl FnOnce(&str) -> String,
    missing: impl FnOnce() -> String,
) -> Error {
    match failure(&e) {
        Failure::Duplicate(which) => Error::Conflict(duplicate(which)),
        Failure::MissingReference => Error::NotFound(missing()),
        Failure::Other => internal(e),
    }
}

/// A stored 0/1 flag.
fn flag(row: &AnyRow, index: usize) -> Result<bool> {
    let v: i64 = row.try_get(index).map_err(internal)?;
    Ok(v != 0)
}

/// A flag to store.
fn int_flag(b: bool) -> i64 {
    i64::from(b)
}

/// A stored role id.
fn role(id: i64) -> Result<Role> {
    Role::from_id(id)
        .ok_or_else(|| internal(StorageError::Inconsistent(format!("unknown role id {id}"))))
}

/// A stored count.
pub(in crate::sql) fn count(row: &AnyRow, index: usize) -> Result<u64> {
    let n: i64 = row.try_get(index).map_err(internal)?;
    u64::try_from(n)
        .map_err(|_| internal(StorageError::Inconsistent(format!("negative count {n}"))))
}

/// Fails with `NotFound(what)` unless a statement touched a row.
fn found(rows_affected: u64, what: impl FnOnce() -> String) -> Result<()> {
    if rows_affected == 0 {
        Err(Error::NotFound(what()))
    } else {
        Ok(())
    }
}

/// A `LIKE` pattern (with `ESCAPE '\'`) matching values that contain `needle`, for a
/// column compared in lower case. Only ASCII is folded: both engines' `LOWER` fold ASCII
/// only (SQLite without ICU, PostgreSQL under `COLLATE "C"`).
fn contains_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c.to_ascii_lowercase());
    }
    out.push('%');
    out
}

/// A value bound to a [`Filter`] placeholder.
enum Arg {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause under construction: conditions are AND-ed, and their values are bound
/// in placeholder order.
#[derive(Default)]
pub(in crate::sql) struct Filter {
    conditions: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// Adds a value; returns its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// `column op value` for an integer.
    pub(in crate::sql) fn int(&mut self, column: &str, op: &str, value: i64) {
        let p = self.arg(Arg::Int(value));
        self.conditions.push(format!("{column} {op} {p}"));
    }

    /// `column = value` for text.
    pub(in crate::sql) fn text(&mut self, column: &str, value: &str) {
        let p = self.arg(Arg::Text(value.to_owned()));
        self.conditions.push(format!("{column} = {p}"));
    }

    /// Equality or a case-insensitive substring match.
    pub(in crate::sql) fn matches(&mut self, column: &str, m: &Match) {
        match m {
            Match::Exact(v) => self.text(column, v),
            Match::Fuzzy(v) => {
                let p = self.arg(Arg::Text(contains_pattern(v)));
                self.conditions
                    .push(format!("LOWER({column}) LIKE {p} ESCAPE '\\'"));
            }
        }
    }

    /// A condition built around the placeholder of one integer.
    pub(in crate::sql) fn with_int(&mut self, value: i64, condition: impl FnOnce(&str) -> String) {
        let p = self.arg(Arg::Int(value));
        self.conditions.push(condition(&p));
    }

    /// A condition without values.
    pub(in crate::sql) fn raw(&mut self, condition: &str) {
        self.conditions.push(condition.to_owned());
    }

    /// ` WHERE ...`, or nothing.
    fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    fn bind<'q>(&self, mut q: Query<'q, Any, AnyArguments>) -> Query<'q, Any, AnyArguments> {
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

/// One page of `SELECT {columns} {from}{where} ORDER BY {order}` and the number of rows
/// matching, each row mapped with `map`.
pub(in crate::sql) async fn paged<T>(
    s: &SqlMetadataStore,
    columns: &str,
    from: &str,
    filter: &Filter,
    order: &str,
    page: Page,
    map: fn(&AnyRow) -> Result<T>,
) -> Result<(Vec<T>, u64)> {
    let clause = filter.clause();
    let n = filter.args.len();
    let sql = format!(
        "SELECT {columns} {from}{clause} ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let rows = filter
        .bind(sqlx::query(AssertSqlSafe(sql)))
        .bind(i64::try_from(page.page_size).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&s.read)
        .await
        .map_err(internal)?;
    let items = rows.iter().map(map).collect::<Result<Vec<_>>>()?;
    let total = filter
        .bind(sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) {from}{clause}"
        ))))
        .fetch_one(&s.read)
        .await
        .map_err(internal)?;
    Ok((items, count(&total, 0)?))
}

#[async_trait]
impl IdentityStore for SqlMetadataStore {
    async fn create_user_emitting(&self, user: &NewUser, events: &[NewEvent]) -> Result<User> {
        users::create(self, user, events).await
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        users::by_id(self, id).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        users::by_name(self, username).await
    }

    async fn users(&self, query: &UserQuery, page: Page) -> Result<(Vec<User>, u64)> {
        users::list(self, query, page).await
    }

    async fn user_count(&self) -> Result<u64> {
        users::count_all(self).await
    }

    async fn update_user_emitting(
        &self,
        id: i64,
        update: &UserUpdate,
        events: &[NewEvent],
    ) -> Result<User> {
        users::update(self, id, update, events).await
    }

    async fn set_password_emitting(
        &self,
        id: i64,
        password_hash: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        users::set_password(self, id, password_hash, events).await
    }

    async fn set_sysadmin_emitting(
        &self,
        id: i64,
        sysadmin: bool,
        events: &[NewEvent],
    ) -> Result<()> {
        users::set_sysadmin(self, id, sysadmin, events).await
    }
    async fn set_group_admin_emitting(
        &self,
        id: i64,
        admin: bool,
        events: &[NewEvent],
    ) -> Result<bool> {
        users::set_group_admin(self, id, admin, events).await
    }

    async fn delete_user_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        users::delete(self, id, events).await
    }

    async fn create_project_emitting(
        &self,
        project: &NewProject,
        events: &[NewEvent],
    ) -> Result<Project> {
        projects::create(self, project, events).await
    }

    async fn project(&self, id: i64) -> Result<Option<Project>> {
        projects::by_id(self, id).await
    }

    async fn project_by_name(&self, name: &str) -> Result<Option<Project>> {
        projects::by_name(self, name).await
    }

    async fn projects(&self, query: &ProjectQuery, page: Page) -> Result<(Vec<Project>, u64)> {
        projects::list(self, query, page).await
    }

    async fn set_project_public(&self, id: i64, public: bool) -> Result<Project> {
        projects::set_public(self, id, public).await
    }

    async fn update_project_metadata_emitting(
        &self,
        id: i64,
        public: Option<bool>,
        set: &std::collections::BTreeMap<String, String>,
        remove: &[String],
        events: &[NewEvent],
    ) -> Result<Project> {
        projects::update_metadata(self, id, public, set, remove, events).await
    }

    async fn delete_project_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        projects::delete(self, id, events).await
    }

    async fn project_repository_count(&self, name: &str) -> Result<u64> {
        projects::repository_count(self, name).await
    }

    async fn project_repository_counts(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, u64>> {
        projects::repository_counts(self, ids).await
    }

    async fn project_summary(&self, project: &Project) -> Result<ProjectSummary> {
        projects::summary(self, project).await
    }

    async fn add_member_emitting(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<Member> {
        projects::add_member(self, project_id, user_id, role, events).await
    }

    async fn roles_in_projects(
        &self,
        user_id: i64,
        project_ids: &[i64],
    ) -> Result<Vec<(i64, Role)>> {
        projects::roles_in_projects(self, user_id, project_ids).await
    }

    async fn member(&self, project_id: i64, member_id: i64) -> Result<Option<Member>> {
        projects::member(self, project_id, member_id).await
    }

    async fn members(
        &self,
        project_id: i64,
        username: Option<&Match>,
        page: Page,
    ) -> Result<(Vec<Member>, u64)> {
        projects::members(self, project_id, username, page).await
    }

    async fn set_member_role_emitting(
        &self,
        project_id: i64,
        member_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<()> {
        projects::set_member_role(self, project_id, member_id, role, events).await
    }

    async fn delete_member_emitting(
        &self,
        project_id: i64,
        member_id: i64,
        events: &[NewEvent],
    ) -> Result<()> {
        projects::delete_member(self, project_id, member_id, events).await
    }

    async fn roles(&self, project_id: i64, user_id: i64) -> Result<Vec<Role>> {
        projects::roles(self, project_id, user_id).await
    }

    async fn add_group_member_emitting(
        &self,
        project_id: i64,
        group_id: i64,
        role: Role,
        events: &[NewEvent],
    ) -> Result<Member> {
        groups::add_member(self, project_id, group_id, role, events).await
    }

    async fn create_group_emitting(
        &self,
        group: &NewUserGroup,
        events: &[NewEvent],
    ) -> Result<UserGroup> {
        groups::create(self, group, events).await
    }

    async fn group(&self, id: i64) -> Result<Option<UserGroup>> {
        groups::by_id(self, id).await
    }

    async fn groups_by_ids(&self, ids: &[i64]) -> Result<Vec<UserGroup>> {
        groups::by_ids(self, ids).await
    }

    async fn groups(&self, query: &GroupQuery, page: Page) -> Result<(Vec<UserGroup>, u64)> {
        groups::list(self, query, page).await
    }

    async fn rename_group_emitting(
        &self,
        id: i64,
        name: &str,
        events: &[NewEvent],
    ) -> Result<UserGroup> {
        groups::rename(self, id, name, events).await
    }

    async fn delete_group_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        groups::delete(self, id, events).await
    }

    async fn ensure_groups(
        &self,
        group_type: GroupType,
        groups: &[(String, String)],
    ) -> Result<Vec<i64>> {
        groups::ensure(self, group_type, groups).await
    }

    async fn user_groups(&self, user_id: i64) -> Result<Vec<UserGroup>> {
        groups::of_user(self, user_id).await
    }

    async fn set_user_groups_emitting(
        &self,
        user_id: i64,
        group_ids: &[i64],
        events: &[NewEvent],
    ) -> Result<()> {
        groups::set_user_groups(self, user_id, group_ids, events).await
    }

    async fn create_robot_emitting(&self, robot: &NewRobot, events: &[NewEvent]) -> Result<Robot> {
        robots::create(self, robot, events).await
    }

    async fn robot(&self, id: i64) -> Result<Option<Robot>> {
        robots::by_id(self, id).await
    }

    async fn robot_by_name(&self, name: &str) -> Result<Option<Robot>> {
        robots::by_name(self, name).await
    }

    async fn robots(&self, query: &RobotQuery, page: Page) -> Result<(Vec<Robot>, u64)> {
        robots::list(self, query, page).await
    }

    async fn update_robot_emitting(
        &self,
        id: i64,
        update: &RobotUpdate,
        events: &[NewEvent],
    ) -> Result<Robot> {
        robots::update(self, id, update, events).await
    }

    async fn set_robot_secret_emitting(
        &self,
        id: i64,
        secret_hash: &str,
        events: &[NewEvent],
    ) -> Result<()> {
        robots::set_secret(self, id, secret_hash, events).await
    }

    async fn delete_robot_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()> {
        robots::delete(self, id, events).await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        users::create_session(self, session).await
    }

    async fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<Session>> {
        users::session(self, id_hash, now_ms).await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        users::delete_session(self, id_hash).await
    }

    async fn record_audit(&self, entries: &[NewAuditEntry]) -> Result<()> {
        audit::record(self, entries).await
    }

    async fn audit_log(&self, query: &AuditQuery, page: Page) -> Result<(Vec<AuditEntry>, u64)> {
        audit::list(self, query, page).await
    }

    async fn purge_audit(
        &self,
        before_ms: i64,
        operations: &[String],
        dry_run: bool,
    ) -> Result<u64> {
        audit::purge(self, before_ms, operations, dry_run).await
    }

    async fn signing_key(&self, candidate: &[u8]) -> Result<Vec<u8>> {
        audit::signing_key(self, candidate).await
    }

    async fn replace_signing_key(&self, old: &[u8], new: &[u8]) -> Result<bool> {
        audit::replace_signing_key(self, old, new).await
    }

    async fn settings(&self) -> Result<Vec<(String, String)>> {
        settings::settings(self).await
    }

    async fn put_settings(&self, settings: &[(String, String)]) -> Result<()> {
        settings::put_settings(self, settings).await
    }
}

#[cfg(test)]
mod tests {
    use super::{Filter, contains_pattern};
    use harbor_core::identity::Match;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("AbC"), "%abc%");
        assert_eq!(contains_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(contains_pattern(""), "%%");
        // Only ASCII folds, as in the databases.
        assert_eq!(contains_pattern("Ä"), "%Ä%");
    }

    #[test]
    fn filters_number_their_placeholders() {
        let mut f = Filter::default();
        assert_eq!(f.clause(), "");
        f.int("a", "=", 1);
        f.matches("b", &Match::Fuzzy("x".into()));
        f.matches("c", &Match::Exact("y".into()));
        f.with_int(7, |p| format!("EXISTS (SELECT 1 WHERE u = {p})"));
        assert_eq!(
            f.clause(),
            " WHERE a = $1 AND LOWER(b) LIKE $2 ESCAPE '\\' AND c = $3 \
             AND EXISTS (SELECT 1 WHERE u = $4)"
        );
        assert_eq!(f.args.len(), 4);
    }
}
