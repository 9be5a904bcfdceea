//! Identity and tenancy records: users, projects, members, robot accounts, sessions and
//! the audit log, with the naming rules Harbor applies to them.
//!
//! Timestamps are milliseconds since the Unix epoch, like every record in the core.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::rbac::Role;

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Database id (Harbor's `user_id`).
    pub id: i64,
    /// Login name, unique.
    pub username: String,
    /// E-mail address, unique when set.
    pub email: Option<String>,
    /// Display name.
    pub realname: String,
    /// Free text.
    pub comment: String,
    /// Argon2id PHC string of the password.
    pub password_hash: String,
    /// System administrator.
    pub sysadmin: bool,
    /// Created at.
    pub created_ms: i64,
    /// Last updated at.
    pub updated_ms: i64,
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub realname: String,
    /// Free text.
    pub comment: String,
    /// Argon2id PHC string of the password.
    pub password_hash: String,
    /// System administrator.
    pub sysadmin: bool,
}

/// Profile fields to change; `None` keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    /// New e-mail (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New display name.
    pub realname: Option<String>,
    /// New comment.
    pub comment: Option<String>,
}

/// A text filter: the exact value, or a case-insensitive substring (`k=~v` in Harbor's `q`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// Equal to the value.
    Exact(String),
    /// Contains the value.
    Fuzzy(String),
}

/// A page of a listing: `page` counts from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 1.
    pub page: u64,
    /// Items per page, at least 1.
    pub page_size: u64,
}

impl Page {
    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.page_size)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            page: 1,
            page_size: 10,
        }
    }
}

/// Filters of the user listing.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Filter on the username.
    pub username: Option<Match>,
    /// Filter on the e-mail address.
    pub email: Option<Match>,
}

/// A project: the namespace of repositories (`<project>/<repo>`) and the unit of access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// Database id (Harbor's `project_id`).
    pub id: i64,
    /// Name, unique: the first path segment of its repositories.
    pub name: String,
    /// The user who created it.
    pub owner_id: i64,
    /// The owner's username (empty if the owner was deleted).
    pub owner_name: String,
    /// Anyone, anonymous included, may pull.
    pub public: bool,
    /// Harbor's other metadata keys, validated ([`crate::project_meta`]).
    pub metadata: std::collections::BTreeMap<String, String>,
    /// The registry endpoint a proxy-cache project caches (Harbor's `registry_id`).
    pub registry_id: Option<i64>,
    /// Created at.
    pub created_ms: i64,
    /// Last updated at.
    pub updated_ms: i64,
}

/// Filters of the project listing.
#[derive(Clone, Debug, Default)]
pub struct ProjectQuery {
    /// Filter on the name.
    pub name: Option<Match>,
    /// Only public (`true`) or only private (`false`) projects.
    pub public: Option<bool>,
    /// Only projects this user may see: public ones and those the user is a member of.
    pub visible_to: Option<i64>,
}

/// A membership in a project: a user's, or a user group's (Harbor's entity types `u`
/// and `g`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Database id of the membership.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// The user; 0 for a group's membership.
    pub user_id: i64,
    /// The user's name, or the group's.
    pub username: String,
    /// The group, for a group's membership.
    pub group_id: Option<i64>,
    /// The role granted.
    pub role: Role,
}

impl Member {
    /// Whether this is a group's membership.
    pub fn is_group(&self) -> bool {
        self.group_id.is_some()
    }

    /// Harbor's `entity_id`: the user's or the group's id.
    pub fn entity_id(&self) -> i64 {
        self.group_id.unwrap_or(self.user_id)
    }

    /// Harbor's `entity_type`: `u` or `g`.
    pub fn entity_type(&self) -> &'static str {
        if self.is_group() { "g" } else { "u" }
    }
}

/// Counts that summarise a project.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectSummary {
    /// Repositories in the project.
    pub repo_count: u64,
    /// Members per role, in [`Role::ALL`] order.
    pub members_by_role: Vec<(Role, u64)>,
}

/// One permission of a robot account, as Harbor writes it:
/// `{"kind":"project","namespace":"library","access":[{"resource":"repository","action":"pull"}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotPermission {
    /// `project` or `system`.
    pub kind: String,
    /// The project name (`*` = every project) for `project`; `/` for `system`.
    pub namespace: String,
    /// What is allowed.
    pub access: Vec<RobotAccess>,
}

/// One allowed (resource, action) pair of a robot permission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotAccess {
    /// Resource name (`repository`, `artifact`, ...).
    pub resource: String,
    /// Action name (`pull`, `push`, `list`, ...).
    pub action: String,
    /// Harbor's `effect`; only `allow` (or empty) is supported.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
}

/// A robot account: a non-human identity with explicit permissions and an expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Robot {
    /// Database id.
    pub id: i64,
    /// Stored name: `<name>` (system level) or `<project>+<name>` (project level). The login
    /// name is the configured prefix (`robot$`) followed by this.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The project of a project-level robot; 0 for a system-level robot.
    pub project_id: i64,
    /// Argon2id PHC string of the secret.
    pub secret_hash: String,
    /// Disabled robots cannot authenticate.
    pub disabled: bool,
    /// Lifetime in days as requested; -1 = never expires.
    pub duration_days: i64,
    /// Expiry (ms since the epoch); `None` = never.
    pub expires_ms: Option<i64>,
    /// What it may do.
    pub permissions: Vec<RobotPermission>,
    /// Who created it (username or robot login name).
    pub creator: String,
    /// What created it: `local` (a user) or `robot`.
    pub creator_type: String,
    /// The creating account's id (0 when not recorded).
    pub creator_ref: i64,
    /// Created at.
    pub created_ms: i64,
    /// Last updated at.
    pub updated_ms: i64,
}

impl Robot {
    /// Whether the robot is project-level.
    pub fn is_project_level(&self) -> bool {
        self.project_id != 0
    }

    /// Whether the robot has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|e| e <= now_ms)
    }
}

/// A project to create; `id` and timestamps come from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewProject {
    /// Its name ([`check_project_name`]).
    pub name: String,
    /// The user who owns it (made its project admin).
    pub owner_id: i64,
    /// Anyone may read it.
    pub public: bool,
    /// Metadata keys other than `public`, validated ([`crate::project_meta`]).
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Storage limit in bytes (-1 unlimited); the store's configured default when `None`.
    pub storage_limit: Option<i64>,
    /// For a proxy-cache project: the registry endpoint it caches.
    pub registry_id: Option<i64>,
}

/// A robot to create; `id` and timestamps come from the store.
#[derive(Clone, Debug)]
pub struct NewRobot {
    /// Stored name (see [`Robot::name`]).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Project id, 0 for system level.
    pub project_id: i64,
    /// Argon2id PHC string of the secret.
    pub secret_hash: String,
    /// Disabled at creation.
    pub disabled: bool,
    /// Lifetime in days; -1 = never.
    pub duration_days: i64,
    /// Expiry; `None` = never.
    pub expires_ms: Option<i64>,
    /// Permissions.
    pub permissions: Vec<RobotPermission>,
    /// Creator.
    pub creator: String,
    /// What created it: `local` (a user) or `robot`.
    pub creator_type: String,
    /// The creating account's id.
    pub creator_ref: i64,
}

/// Robot fields to change; `None` keeps the stored value.
#[derive(Clone, Debug, Default)]
pub struct RobotUpdate {
    /// New description.
    pub description: Option<String>,
    /// Enable or disable.
    pub disabled: Option<bool>,
    /// New duration and expiry (`(days, expiry)`).
    pub duration: Option<(i64, Option<i64>)>,
    /// New permissions.
    pub permissions: Option<Vec<RobotPermission>>,
}

/// Filters of the robot listing.
#[derive(Clone, Debug, Default)]
pub struct RobotQuery {
    /// Only robots of this project (0 = system-level robots only).
    pub project_id: Option<i64>,
    /// Filter on the stored name.
    pub name: Option<Match>,
}

/// A web session created by `POST /c/login`; only a hash of its cookie is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the session cookie value.
    pub id_hash: String,
    /// The user.
    pub user_id: i64,
    /// The CSRF token the session's unsafe requests must echo.
    pub csrf_token: String,
    /// Expiry.
    pub expires_ms: i64,
}

/// A counter of failed sign-ins under one key (an account at an address, an address, an
/// account), for the login throttle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFailures {
    /// The counter's key, as the throttle chose it (a hash, never a name in clear).
    pub key: String,
    /// Failures counted since the counter last started.
    pub failures: u32,
    /// Time of the last failure, in ms since the epoch.
    pub last_ms: i64,
}

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Database id.
    pub id: i64,
    /// The project the operation touched, if any.
    pub project_id: Option<i64>,
    /// Who acted (username, robot login name, or `anonymous`).
    pub username: String,
    /// `create`, `update`, `delete`, `pull` or `push`.
    pub operation: String,
    /// Kind of resource: `artifact`, `project`, `user`, `member`, `robot`, ...
    pub resource_type: String,
    /// The resource: `library/nginx:latest`, a project name, a username, ...
    pub resource: String,
    /// When.
    pub op_time_ms: i64,
}

/// An audit entry to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Project, if any.
    pub project_id: Option<i64>,
    /// Who acted.
    pub username: String,
    /// What was done.
    pub operation: String,
    /// Kind of resource.
    pub resource_type: String,
    /// The resource.
    pub resource: String,
    /// When.
    pub op_time_ms: i64,
}

/// Filters of the audit log listing.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only entries of this project.
    pub project_id: Option<i64>,
    /// Filter on who acted.
    pub username: Option<Match>,
    /// Only this operation.
    pub operation: Option<String>,
    /// Only this resource type.
    pub resource_type: Option<String>,
    /// Filter on the resource.
    pub resource: Option<Match>,
    /// Only entries at or after this time.
    pub from_ms: Option<i64>,
    /// Only entries at or before this time.
    pub to_ms: Option<i64>,
}

/// The job kind of the audit log purge (Harbor's job name).
pub const PURGE_AUDIT_JOB_KIND: &str = "PURGE_AUDIT_LOG";

/// The operations the audit log records.
pub const AUDIT_OPERATIONS: [&str; 4] = ["create", "delete", "pull", "update"];

/// Parameters of an audit log purge, with Harbor's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PurgeAuditParams {
    /// Entries newer than this many hours are kept.
    pub audit_retention_hour: i64,
    /// Comma-separated operations to purge (`create,delete,pull`).
    pub include_operations: String,
    /// Only count what would be purged.
    pub dry_run: bool,
}

impl Default for PurgeAuditParams {
    fn default() -> Self {
        PurgeAuditParams {
            audit_retention_hour: 24 * 30,
            include_operations: "create,delete,pull".into(),
            dry_run: false,
        }
    }
}

impl PurgeAuditParams {
    /// Checks the retention (0 to ten years) and the operations.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0..=24 * 365 * 10).contains(&self.audit_retention_hour) {
            return Err(Error::Invalid(format!(
                "audit_retention_hour must be between 0 and {} hours, not {}",
                24 * 365 * 10,
                self.audit_retention_hour
            )));
        }
        let ops = self.operations();
        if ops.is_empty() {
            return Err(Error::Invalid(
                "include_operations names no operation: use e.g. create,delete,pull".into(),
            ));
        }
        if let Some(bad) = ops.iter().find(|o| !AUDIT_OPERATIONS.contains(&o.as_str())) {
            return Err(Error::Invalid(format!(
                "unknown operation {bad:?} in include_operations: use {}",
                AUDIT_OPERATIONS.join(", ")
            )));
        }
        Ok(())
    }

    /// The operations, trimmed and lowercased.
    pub fn operations(&self) -> Vec<String> {
        self.include_operations
            .split(',')
            .map(|o| o.trim().to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect()
    }
}

fn invalid(what: &str, value: &str, rule: &str) -> Error {
    let shown: String = value.chars().take(64).collect();
    Error::Invalid(format!("invalid {what} {shown:?}: {rule}"))
}

/// Harbor's project name rule: 1 to 255 characters of lowercase letters, digits and
/// `._-`, starting and ending with a letter or digit, no two separators in a row.
pub fn check_project_name(name: &str) -> Result<(), Error> {
    let rule = "use 1 to 255 lowercase letters, digits and '._-', starting and ending \
                with a letter or digit";
    if name.is_empty() || name.len() > 255 || !separated_words(name) {
        return Err(invalid("project name", name, rule));
    }
    Ok(())
}

/// Harbor's robot name rule: `^[a-z0-9]+(?:[._-][a-z0-9]+)*$`, at most 255 characters.
pub fn check_robot_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 255 || !separated_words(name) {
        return Err(invalid(
            "robot name",
            name,
            "use lowercase letters and digits, separated by single '.', '_' or '-'",
        ));
    }
    Ok(())
}

/// `[a-z0-9]+([._-][a-z0-9]+)*`.
fn separated_words(s: &str) -> bool {
    let mut prev_sep = true;
    for b in s.bytes() {
        let alnum = b.is_ascii_lowercase() || b.is_ascii_digit();
        let sep = matches!(b, b'.' | b'_' | b'-');
        if !(alnum || sep) || (sep && prev_sep) {
            return false;
        }
        prev_sep = sep;
    }
    !prev_sep
}

/// Username rule: 1 to 255 characters, no control characters, none of `,"~#$%:` or
/// whitespace (Harbor forbids these; `$` and `+` keep robot login names unambiguous).
pub fn check_username(name: &str) -> Result<(), Error> {
    let bad = |c: char| c.is_control() || c.is_whitespace() || ",\"~#$%:+/\\".contains(c);
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(bad) {
        return Err(invalid(
            "username",
            name,
            "use 1 to 255 characters without whitespace or any of , \" ~ # $ % : + / \\",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names() {
        for ok in ["library", "a", "my-team.prod_1", "0x"] {
            check_project_name(ok).unwrap();
        }
        let long = "a".repeat(256);
        for bad in [
            "", "Library", "-a", "a-", "a--b", "a/b", "a b", "a..b", &long, "ä",
        ] {
            assert!(check_project_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn robot_names() {
        check_robot_name("ci-bot.1").unwrap();
        for bad in ["", "CI", "a+b", "a$b", "-x", "x_"] {
            assert!(check_robot_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames() {
        check_username("alice").unwrap();
        check_username("Alice.Smith@corp").unwrap();
        for bad in ["", "a b", "robot$x", "a:b", "a,b", "a\nb", "p+q"] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn purge_audit_params() {
        let p: PurgeAuditParams = serde_json::from_str("{}").unwrap();
        assert_eq!(p, PurgeAuditParams::default());
        assert_eq!(p.audit_retention_hour, 720);
        assert_eq!(p.operations(), ["create", "delete", "pull"]);
        assert!(!p.dry_run);
        p.validate().unwrap();

        let p: PurgeAuditParams = serde_json::from_str(
            r#"{"audit_retention_hour":48,"include_operations":" Pull, update ,","dry_run":true}"#,
        )
        .unwrap();
        assert_eq!(p.audit_retention_hour, 48);
        assert_eq!(p.operations(), ["pull", "update"]);
        assert!(p.dry_run);
        p.validate().unwrap();

        let with = |hours: i64, ops: &str| PurgeAuditParams {
            audit_retention_hour: hours,
            include_operations: ops.into(),
            dry_run: false,
        };
        with(0, "create").validate().unwrap();
        with(24 * 365 * 10, "delete").validate().unwrap();
        for bad in [
            with(-1, "create"),
            with(24 * 365 * 10 + 1, "create"),
            with(24, ""),
            with(24, " , "),
            with(24, "create,push"),
        ] {
            assert!(matches!(bad.validate(), Err(Error::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn page_offsets() {
        assert_eq!(Page::default().offset(), 0);
        assert_eq!(
            Page {
                page: 3,
                page_size: 25
            }
            .offset(),
            50
        );
        assert_eq!(
            Page {
                page: 0,
                page_size: 25
            }
            .offset(),
            0
        );
    }
}
