//! Robot accounts, system- and project-level.
//!
//! A project robot is stored as `<project>+<name>` and logs in as `robot$<project>+<name>`
//! (the prefix is the server's); a system robot as `<name>` / `robot$<name>`. The secret
//! is shown once (on creation and refresh) and stored as an Argon2id hash.
//!
//! The subset rule: a robot may hand out only permissions it holds itself, and may change
//! (refresh, enable, extend, edit, delete) only robots whose every permission it holds:
//! otherwise a robot allowed `robot:update` could take over a more powerful one by giving
//! it a secret of its choosing.

use std::sync::Arc;

use harbor_auth::accounts::hash_blocking;
use harbor_auth::robot::{Level, is_subset, validate};
use harbor_auth::secret::{check_policy, generate};
use harbor_auth::{Accounts, AuthError, Principal};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::{
    NewRobot, Page, Robot, RobotAccess, RobotPermission, RobotQuery, RobotUpdate, check_robot_name,
};
use harbor_core::model::now_ms;
use harbor_core::rbac::{Action, Resource};
use harbor_core::{Error, Result};

use crate::access::{self, ProjectRef};
use crate::settings::SystemSettings;

const DAY_MS: i64 = 86_400_000;
/// Longest robot description, in characters.
const MAX_DESCRIPTION: usize = 1024;

/// A robot to create.
#[derive(Clone, Debug)]
pub struct CreateRobot {
    /// Its name, without prefix or project.
    pub name: String,
    /// Free text, at most 1024 characters.
    pub description: String,
    /// System or project level.
    pub level: Level,
    /// Days it lives: -1 forever, 0 the system default (`robot_token_duration`), else
    /// 1 to 36500.
    pub duration: i64,
    /// Created disabled.
    pub disable: bool,
    /// What it may do; a project robot's one entry names its project.
    pub permissions: Vec<RobotPermission>,
    /// Its secret, checked against the policy; generated when `None`.
    pub secret: Option<String>,
}

/// A created robot with its login name and its secret (shown this once).
#[derive(Clone, Debug)]
pub struct CreatedRobot {
    /// The stored account.
    pub robot: Robot,
    /// The name it logs in with (`robot$...`).
    pub login: String,
    /// The secret.
    pub secret: String,
}

/// Changes to a robot; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct RobotChanges {
    /// New description.
    pub description: Option<String>,
    /// New lifetime in days from now (-1 forever).
    pub duration: Option<i64>,
    /// Disable or enable.
    pub disable: Option<bool>,
    /// New permissions.
    pub permissions: Option<Vec<RobotPermission>>,
}

/// The robot service.
#[derive(Clone)]
pub struct Robots {
    accounts: Arc<Accounts>,
    settings: SystemSettings,
}

fn policy(e: AuthError) -> Error {
    match e {
        AuthError::Policy(m) => Error::Invalid(format!("secret {m}")),
        other => Error::internal(other),
    }
}

/// The expiry of a robot living `duration` days from now: -1 never, else 1 to 100 years'
/// worth of days.
fn expiry(duration: i64) -> Result<Option<i64>> {
    match duration {
        -1 => Ok(None),
        1..=36_500 => Ok(Some(now_ms() + duration * DAY_MS)),
        other => Err(Error::Invalid(format!(
            "invalid duration {other}: use -1 (never expires) or 1 to 36500 days"
        ))),
    }
}

/// A secret: `given` (checked against the policy) or a generated one.
fn secret_or_generated(given: Option<String>) -> Result<String> {
    match given.filter(|s| !s.is_empty()) {
        Some(s) => {
            check_policy(&s).map_err(policy)?;
            Ok(s)
        }
        None => generate().map_err(policy),
    }
}

/// Fails unless `by` may hand out `permissions`: a robot only within its own.
fn within_caller(by: &Principal, permissions: &[RobotPermission]) -> Result<()> {
    if let Principal::Robot { robot, .. } = by
        && !is_subset(permissions, &robot.permissions)
    {
        return Err(Error::Forbidden(
            "a robot may only grant permissions it holds itself".into(),
        ));
    }
    Ok(())
}

/// Fails unless `by` (another robot) holds every permission of `target`.
fn covers_target(by: &Principal, target: &Robot) -> Result<()> {
    if let Principal::Robot { robot: me, .. } = by
        && me.id != target.id
        && !is_subset(&target.permissions, &me.permissions)
    {
        return Err(Error::Forbidden(
            "a robot may only change robots whose permissions it holds itself".into(),
        ));
    }
    Ok(())
}

fn is_self(by: &Principal, id: i64) -> bool {
    matches!(by, Principal::Robot { robot, .. } if robot.id == id)
}

fn project_of(r: &Robot) -> Option<i64> {
    Some(r.project_id).filter(|p| *p != 0)
}

impl Robots {
    /// Robots kept by `accounts`' store, under the run-time `settings`.
    pub fn new(accounts: Arc<Accounts>, settings: SystemSettings) -> Self {
        Robots { accounts, settings }
    }

    /// The name `robot` logs in with.
    pub fn login(&self, robot: &Robot) -> String {
        self.accounts.robot_login(&robot.name)
    }

    /// Fails unless `by` may `action` robots of `project_id` (0: system robots).
    async fn authorize(&self, by: &Principal, project_id: i64, action: Action) -> Result<()> {
        access::require_authenticated(by)?;
        if project_id == 0 {
            return access::require_system(
                by,
                "robot",
                action,
                "only system administrators may manage system robots",
            );
        }
        access::project_for(
            &self.accounts,
            by,
            &ProjectRef::Id(project_id),
            Resource::Robot,
            action,
        )
        .await
        .map(|_| ())
    }

    /// Creates a robot (`robot:create` in its project, or the system permission for a
    /// system robot) within the caller's own permissions.
    pub async fn create(&self, by: &Principal, req: CreateRobot) -> Result<CreatedRobot> {
        access::require_authenticated(by)?;
        check_robot_name(&req.name)?;
        if req.description.chars().count() > MAX_DESCRIPTION {
            return Err(Error::Invalid(format!(
                "description is longer than {MAX_DESCRIPTION} characters"
            )));
        }
        validate(req.level, &req.permissions)?;
        let store = self.accounts.store();
        let (stored_name, project_id) = match req.level {
            Level::Project => {
                let ns = &req.permissions[0].namespace;
                let project = store
                    .project_by_name(ns)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("project {ns} not found")))?;
                self.authorize(by, project.id, Action::Create).await?;
                (format!("{}+{}", project.name, req.name), project.id)
            }
            Level::System => {
                self.authorize(by, 0, Action::Create).await?;
                for p in req
                    .permissions
                    .iter()
                    .filter(|p| p.kind == "project" && p.namespace != "*")
                {
                    if store.project_by_name(&p.namespace).await?.is_none() {
                        return Err(Error::NotFound(format!(
                            "project {} not found",
                            p.namespace
                        )));
                    }
                }
                (req.name.clone(), 0)
            }
        };
        within_caller(by, &req.permissions)?;
        let secret = secret_or_generated(req.secret)?;
        let duration = match req.duration {
            0 => self.settings.get().await.robot_days(),
            d => d,
        };
        let login = self.accounts.robot_login(&stored_name);
        let event = DomainEvent::RobotCreated {
            robot: login.clone(),
            project_id: Some(project_id).filter(|p| *p != 0),
        };
        let robot = store
            .create_robot_emitting(
                &NewRobot {
                    name: stored_name,
                    description: req.description,
                    project_id,
                    secret_hash: hash_blocking(secret.clone()).await?,
                    disabled: req.disable,
                    duration_days: duration,
                    expires_ms: expiry(duration)?,
                    permissions: req.permissions,
                    creator: by.name().to_owned(),
                    creator_type: match by {
                        Principal::Robot { .. } => "robot".into(),
                        _ => "local".into(),
                    },
                    creator_ref: by.account_id().unwrap_or(0),
                },
                &[NewEvent::now(by.name(), event)],
            )
            .await?;
        Ok(CreatedRobot {
            robot,
            login,
            secret,
        })
    }

    /// One page of robots: of a project (`robot:list` there; `Some(0)` is the system
    /// robots), or all of them for system administrators.
    pub async fn list(
        &self,
        by: &Principal,
        query: &RobotQuery,
        page: Page,
    ) -> Result<(Vec<Robot>, u64)> {
        match query.project_id {
            Some(pid) => self.authorize(by, pid, Action::List).await?,
            None => access::require_sysadmin(by)?,
        }
        self.accounts.store().robots(query, page).await
    }

    /// The robot `id` for `action`: whoever may not even read it learns nothing (the same
    /// [`Error::NotFound`] as for a missing one). A robot may always read and refresh
    /// itself; changes need the subset rule.
    async fn load(&self, by: &Principal, id: i64, action: Action) -> Result<Robot> {
        access::require_authenticated(by)?;
        let missing = || Error::NotFound(format!("robot {id} not found"));
        let robot = self.accounts.store().robot(id).await?.ok_or_else(missing)?;
        let me = is_self(by, id);
        if !me {
            self.authorize(by, robot.project_id, Action::Read)
                .await
                .map_err(|e| match e {
                    Error::Forbidden(_) | Error::NotFound(_) => missing(),
                    other => other,
                })?;
        }
        if action != Action::Read && !(me && action == Action::Update) {
            self.authorize(by, robot.project_id, action).await?;
        }
        if action != Action::Read {
            covers_target(by, &robot)?;
        }
        Ok(robot)
    }

    /// One robot (`robot:read`, or itself).
    pub async fn get(&self, by: &Principal, id: i64) -> Result<Robot> {
        self.load(by, id, Action::Read).await
    }

    /// Changes a robot (`robot:update` and the subset rule). A robot cannot extend its
    /// own rights (permissions, lifetime, enabling itself); a project robot's permission
    /// stays in its project.
    pub async fn update(&self, by: &Principal, id: i64, changes: RobotChanges) -> Result<Robot> {
        let robot = self.load(by, id, Action::Update).await?;
        if is_self(by, id)
            && (changes.permissions.is_some()
                || changes.duration.is_some()
                || changes.disable == Some(false))
        {
            return Err(Error::Forbidden(
                "a robot cannot extend its own rights".into(),
            ));
        }
        let level = if robot.is_project_level() {
            Level::Project
        } else {
            Level::System
        };
        if let Some(perms) = &changes.permissions {
            validate(level, perms)?;
            if level == Level::Project {
                let project = self.accounts.store().project(robot.project_id).await?;
                if project.map(|p| p.name) != Some(perms[0].namespace.clone()) {
                    return Err(Error::Invalid(
                        "a project robot's permission must stay in its project".into(),
                    ));
                }
            }
            within_caller(by, perms)?;
        }
        let update = RobotUpdate {
            description: changes.description,
            disabled: changes.disable,
            duration: match changes.duration {
                Some(d) => Some((d, expiry(d)?)),
                None => None,
            },
            permissions: changes.permissions,
        };
        let event = DomainEvent::RobotUpdated {
            robot: self.login(&robot),
            project_id: project_of(&robot),
            secret_refreshed: false,
        };
        self.accounts
            .store()
            .update_robot_emitting(id, &update, &[NewEvent::now(by.name(), event)])
            .await
    }

    /// Gives a robot a new secret, `given` (checked against the policy) or generated, and
    /// returns it (`robot:update` and the subset rule, or the robot itself).
    pub async fn refresh_secret(
        &self,
        by: &Principal,
        id: i64,
        given: Option<String>,
    ) -> Result<String> {
        let robot = self.load(by, id, Action::Update).await?;
        let secret = secret_or_generated(given)?;
        let event = DomainEvent::RobotUpdated {
            robot: self.login(&robot),
            project_id: project_of(&robot),
            secret_refreshed: true,
        };
        self.accounts
            .store()
            .set_robot_secret_emitting(
                id,
                &hash_blocking(secret.clone()).await?,
                &[NewEvent::now(by.name(), event)],
            )
            .await?;
        Ok(secret)
    }

    /// A project robot for one scan job (Harbor's `<prefix>scanner-<registration>-<id>`):
    /// `pull` and `scanner-pull` on the project's repositories, a generated secret, one
    /// day at most. Not an API operation: the scan job creates it for the adapter to pull
    /// the artifact and deletes it when the scan ends ([`Robots::delete_for_scan`]).
    pub async fn create_for_scan(&self, project: &str, registration: &str) -> Result<CreatedRobot> {
        let store = self.accounts.store();
        let found = store
            .project_by_name(project)
            .await?
            .ok_or_else(|| Error::NotFound(format!("project {project} not found")))?;
        let tag: String = registration
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(32)
            .collect();
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{}+scanner-{tag}-{}", found.name, &suffix[..12]);
        let secret = secret_or_generated(None)?;
        let login = self.accounts.robot_login(&name);
        let permissions = vec![RobotPermission {
            kind: "project".into(),
            namespace: found.name.clone(),
            access: ["pull", "scanner-pull"]
                .into_iter()
                .map(|action| RobotAccess {
                    resource: "repository".into(),
                    action: action.into(),
                    effect: String::new(),
                })
                .collect(),
        }];
        let event = DomainEvent::RobotCreated {
            robot: login.clone(),
            project_id: Some(found.id),
        };
        let robot = store
            .create_robot_emitting(
                &NewRobot {
                    name,
                    description: format!(
                        "pulls for a scan by {registration}; deleted when the scan ends"
                    ),
                    project_id: found.id,
                    secret_hash: hash_blocking(secret.clone()).await?,
                    disabled: false,
                    duration_days: 1,
                    expires_ms: expiry(1)?,
                    permissions,
                    creator: "harbor-scanner".into(),
                    creator_type: "system".into(),
                    creator_ref: 0,
                },
                &[NewEvent::now("harbor-scanner", event)],
            )
            .await?;
        Ok(CreatedRobot {
            robot,
            login,
            secret,
        })
    }

    /// Deletes a scan job's robot.
    pub async fn delete_for_scan(&self, robot: &Robot) -> Result<()> {
        let event = DomainEvent::RobotDeleted {
            robot: self.login(robot),
            project_id: project_of(robot),
        };
        self.accounts
            .store()
            .delete_robot_emitting(robot.id, &[NewEvent::now("harbor-scanner", event)])
            .await
    }

    /// Deletes a robot (`robot:delete` and the subset rule).
    pub async fn delete(&self, by: &Principal, id: i64) -> Result<()> {
        let robot = self.load(by, id, Action::Delete).await?;
        let event = DomainEvent::RobotDeleted {
            robot: self.login(&robot),
            project_id: project_of(&robot),
        };
        self.accounts
            .store()
            .delete_robot_emitting(id, &[NewEvent::now(by.name(), event)])
            .await
    }
}
