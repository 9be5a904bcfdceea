//! `harbor user ...`, `harbor member ...`, `harbor robot ...`.

use serde_json::json;

use super::{App, Failure, Outcome, stdin_lines};
use crate::cli::{GroupCmd, MemberCmd, RobotCmd, UserCmd};
use crate::client::{
    Member, NewRobot, NewUser, Robot, RobotAccess, RobotPermission, User, UserGroup,
    UserGroupSearchItem,
};
use crate::output::Column;

pub(crate) async fn user(app: &App, cmd: UserCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        UserCmd::List { name } => {
            let users = c.users(name.as_deref()).await?;
            let id = |u: &User| u.user_id.to_string();
            let name = |u: &User| u.username.clone();
            let email = |u: &User| u.email.clone();
            let admin = |u: &User| u.sysadmin_flag.to_string();
            let cols: [Column<'_, User>; 4] = [
                ("id", &id),
                ("username", &name),
                ("email", &email),
                ("admin", &admin),
            ];
            out.list(&users, &cols, &name)?;
        }
        UserCmd::Create {
            user,
            email,
            realname,
            comment,
        } => {
            let password = stdin_lines(1)?.remove(0);
            let id = c
                .create_user(&NewUser {
                    realname: realname.unwrap_or_else(|| user.clone()),
                    username: user.clone(),
                    email: Some(email).filter(|e| !e.is_empty()),
                    password,
                    comment,
                })
                .await?;
            out.done(
                &format!("Created user {user} (id {id})"),
                &json!({ "user_id": id, "username": user }),
                &id.to_string(),
            )?;
        }
        UserCmd::Show { user } => {
            let u = c.user_by_name(&user).await?;
            let fields = [
                ("id", u.user_id.to_string()),
                ("username", u.username.clone()),
                ("email", u.email.clone()),
                ("admin", u.sysadmin_flag.to_string()),
            ];
            out.one(&u, &fields, &u.user_id.to_string())?;
        }
        UserCmd::Delete { user } => {
            let u = c.user_by_name(&user).await?;
            c.delete_user(u.user_id).await?;
            out.done(
                &format!("Deleted user {user}"),
                &json!({ "deleted": user }),
                &user,
            )?;
        }
        UserCmd::SetAdmin { user, admin } => {
            let u = c.user_by_name(&user).await?;
            c.set_sysadmin(u.user_id, admin).await?;
            let what = if admin { "is" } else { "is no longer" };
            out.done(
                &format!("{user} {what} a system administrator"),
                &json!({ "username": user, "sysadmin_flag": admin }),
                &user,
            )?;
        }
        UserCmd::Passwd { user } => {
            // Your own password needs the old one; an administrator resets others'.
            let me = c.current_user().await?;
            let (id, old, new) = if me.username == user {
                let mut l = stdin_lines(2)?;
                let new = l.remove(1);
                (me.user_id, Some(l.remove(0)), new)
            } else {
                let u = c.user_by_name(&user).await?;
                (u.user_id, None, stdin_lines(1)?.remove(0))
            };
            c.set_password(id, old.as_deref(), &new).await?;
            out.done(
                &format!("Changed the password of {user}"),
                &json!({ "username": user }),
                &user,
            )?;
        }
        UserCmd::CliSecret { user, set } => {
            let me = c.current_user().await?;
            let u = match user {
                Some(name) if name != me.username => {
                    let found = c.user_by_name(&name).await?;
                    c.user(found.user_id).await?
                }
                _ => me,
            };
            if set {
                let secret = stdin_lines(1)?.remove(0);
                c.set_cli_secret(u.user_id, &secret).await?;
                out.done(
                    &format!("Changed the CLI secret of {}", u.username),
                    &json!({ "username": u.username }),
                    &u.username,
                )?;
            } else {
                let Some(meta) = &u.oidc_user_meta else {
                    return Err(Failure::usage(format!(
                        "{} does not sign in through OIDC: there is no CLI secret",
                        u.username
                    )));
                };
                let fields = [
                    ("username", u.username.clone()),
                    ("secret", meta.secret.clone()),
                    ("subiss", meta.subiss.clone()),
                    ("updated", meta.update_time.clone()),
                ];
                out.one(meta, &fields, &meta.secret)?;
            }
        }
    }
    Ok(())
}

pub(crate) async fn member(app: &App, cmd: MemberCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        MemberCmd::List { project } => {
            let members = c.members(&project).await?;
            let id = |m: &Member| m.id.to_string();
            let name = |m: &Member| m.entity_name.clone();
            let role = |m: &Member| m.role_name.clone();
            let kind = |m: &Member| {
                if m.entity_type == "g" {
                    "group"
                } else {
                    "user"
                }
                .to_owned()
            };
            let cols: [Column<'_, Member>; 4] = [
                ("id", &id),
                ("name", &name),
                ("type", &kind),
                ("role", &role),
            ];
            out.list(&members, &cols, &name)?;
        }
        MemberCmd::Add {
            project,
            user,
            group,
            role,
        } => {
            let (id, user) = match (user, group) {
                (_, Some(g)) => {
                    let gid = c.group_id(&g).await?;
                    (c.add_group_member(&project, gid, role.id()).await?, g)
                }
                (Some(u), None) => (c.add_member(&project, &u, role.id()).await?, u),
                (None, None) => {
                    return Err(Failure::usage("give a USERNAME or --group"));
                }
            };
            out.done(
                &format!("Added {user} to {project} as {role:?}"),
                &json!({ "id": id, "entity_name": user, "role_id": role.id() }),
                &id.to_string(),
            )?;
        }
        MemberCmd::SetRole {
            project,
            user,
            role,
        } => {
            let m = c.member(&project, &user).await?;
            c.set_member_role(&project, m.id, role.id()).await?;
            out.done(
                &format!("{user} is now {role:?} in {project}"),
                &json!({ "id": m.id, "entity_name": user, "role_id": role.id() }),
                &m.id.to_string(),
            )?;
        }
        MemberCmd::Remove { project, user } => {
            let m = c.member(&project, &user).await?;
            c.remove_member(&project, m.id).await?;
            out.done(
                &format!("Removed {user} from {project}"),
                &json!({ "removed": user }),
                &m.id.to_string(),
            )?;
        }
    }
    Ok(())
}

fn group_fields(g: &UserGroup) -> Vec<(&'static str, String)> {
    vec![
        ("id", g.id.unwrap_or_default().to_string()),
        ("name", g.group_name.clone().unwrap_or_default()),
        ("type", group_type_name(g.group_type.unwrap_or_default())),
        ("ldap_dn", g.ldap_group_dn.clone().unwrap_or_default()),
    ]
}

fn group_type_name(t: i64) -> String {
    match t {
        1 => "ldap".into(),
        2 => "http".into(),
        3 => "oidc".into(),
        other => other.to_string(),
    }
}

pub(crate) async fn group(app: &App, cmd: GroupCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        GroupCmd::List { name, ldap_dn } => {
            let groups = c.groups(name.as_deref(), ldap_dn.as_deref()).await?;
            let id = |g: &UserGroup| g.id.unwrap_or_default().to_string();
            let name = |g: &UserGroup| g.group_name.clone().unwrap_or_default();
            let kind = |g: &UserGroup| group_type_name(g.group_type.unwrap_or_default());
            let dn = |g: &UserGroup| g.ldap_group_dn.clone().unwrap_or_default();
            let cols: [Column<'_, UserGroup>; 4] = [
                ("id", &id),
                ("name", &name),
                ("type", &kind),
                ("ldap_dn", &dn),
            ];
            out.list(&groups, &cols, &id)?;
        }
        GroupCmd::Get { id } => {
            let g = c.group(id).await?;
            out.one(&g, &group_fields(&g), &id.to_string())?;
        }
        GroupCmd::Create {
            name,
            group_type,
            ldap_dn,
        } => {
            let new = UserGroup {
                id: None,
                group_name: Some(name.clone()),
                group_type: Some(group_type.id()),
                ldap_group_dn: Some(ldap_dn).filter(|d| !d.is_empty()),
            };
            let id = c.create_group(&new).await?;
            out.done(
                &format!("Created group {name} (id {id})"),
                &json!({ "id": id, "group_name": name, "group_type": group_type.id() }),
                &id.to_string(),
            )?;
        }
        GroupCmd::Rename { id, name } => {
            c.rename_group(id, &name).await?;
            out.done(
                &format!("Renamed group {id} to {name}"),
                &json!({ "id": id, "group_name": name }),
                &id.to_string(),
            )?;
        }
        GroupCmd::Delete { id } => {
            c.delete_group(id).await?;
            out.done(
                &format!("Deleted group {id}"),
                &json!({ "deleted": id }),
                &id.to_string(),
            )?;
        }
        GroupCmd::Search { name } => {
            let found = c.search_groups(&name).await?;
            let id = |g: &UserGroupSearchItem| g.id.to_string();
            let name = |g: &UserGroupSearchItem| g.group_name.clone();
            let kind = |g: &UserGroupSearchItem| group_type_name(g.group_type);
            let cols: [Column<'_, UserGroupSearchItem>; 3] =
                [("id", &id), ("name", &name), ("type", &kind)];
            out.list(&found, &cols, &id)?;
        }
    }
    Ok(())
}

/// `pull` / `push` / `delete` are repository actions; anything else is `resource:action`.
fn access(p: &str) -> Result<RobotAccess, Failure> {
    let (resource, action) = match p.split_once(':') {
        Some((r, a)) if !r.is_empty() && !a.is_empty() => (r, a),
        None if matches!(p, "pull" | "push" | "delete") => ("repository", p),
        _ => {
            return Err(Failure::usage(format!(
                "invalid permission {p:?}: use pull, push, delete or <resource>:<action>"
            )));
        }
    };
    Ok(RobotAccess {
        resource: resource.to_owned(),
        action: action.to_owned(),
        effect: String::new(),
    })
}

fn robot_fields(r: &Robot) -> Vec<(&'static str, String)> {
    let perms: Vec<String> = r
        .permissions
        .iter()
        .flat_map(|p| {
            p.access
                .iter()
                .map(move |a| format!("{}: {}:{}", p.namespace, a.resource, a.action))
        })
        .collect();
    vec![
        ("id", r.id.to_string()),
        ("name", r.name.clone()),
        ("level", r.level.clone()),
        ("disabled", r.disable.to_string()),
        ("expires", crate::output::expiry(r.expires_at)),
        ("description", r.description.clone()),
        ("permissions", perms.join(", ")),
    ]
}

pub(crate) async fn robot(app: &App, cmd: RobotCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        RobotCmd::List { project } => {
            let project_id = c.project_id(project.as_deref()).await?;
            let robots = c.robots(project_id).await?;
            let id = |r: &Robot| r.id.to_string();
            let name = |r: &Robot| r.name.clone();
            let level = |r: &Robot| r.level.clone();
            let disabled = |r: &Robot| r.disable.to_string();
            let expires = |r: &Robot| crate::output::expiry(r.expires_at);
            let cols: [Column<'_, Robot>; 5] = [
                ("id", &id),
                ("name", &name),
                ("level", &level),
                ("disabled", &disabled),
                ("expires", &expires),
            ];
            out.list(&robots, &cols, &id)?;
        }
        RobotCmd::Create {
            project,
            system,
            name,
            permissions,
            duration,
            description,
        } => {
            let access = permissions
                .iter()
                .map(|p| access(p))
                .collect::<Result<Vec<_>, _>>()?;
            // clap requires exactly one of --project and --system.
            let (level, kind, namespace) = match project {
                Some(p) if !system => ("project", "project", p),
                _ => ("system", "system", "/".to_owned()),
            };
            let created = c
                .create_robot(&NewRobot {
                    name,
                    description: Some(description),
                    level: level.into(),
                    duration: Some(duration),
                    permissions: Some(vec![RobotPermission {
                        kind: kind.into(),
                        namespace,
                        access,
                    }]),
                    ..NewRobot::default()
                })
                .await?;
            // The secret is printed once, here: it cannot be read again.
            out.one(
                &created,
                &[
                    ("id", created.id.to_string()),
                    ("name", created.name.clone()),
                    ("secret", created.secret.clone()),
                    ("expires", crate::output::expiry(created.expires_at)),
                ],
                &created.secret,
            )?;
            if out.format == crate::output::Format::Table && !out.quiet {
                eprintln!("Store the secret now: it is not shown again.");
            }
        }
        RobotCmd::Show { id } => {
            let r = c.robot(id).await?;
            out.one(&r, &robot_fields(&r), &r.id.to_string())?;
        }
        RobotCmd::Update {
            id,
            description,
            duration,
            permissions,
        } => {
            let mut changes = NewRobot {
                description,
                duration,
                ..NewRobot::default()
            };
            if !permissions.is_empty() {
                // A project robot's permissions stay on its project.
                let r = c.robot(id).await?;
                let namespace = r
                    .permissions
                    .first()
                    .map(|p| p.namespace.clone())
                    .ok_or_else(|| {
                        super::Failure::usage("the robot has no permissions to replace")
                    })?;
                let access = permissions
                    .iter()
                    .map(|p| access(p))
                    .collect::<Result<Vec<_>, _>>()?;
                let p = vec![RobotPermission {
                    kind: "project".into(),
                    namespace,
                    access,
                }];
                changes.permissions = Some(p);
            }
            if changes == NewRobot::default() {
                return Err(super::Failure::usage(
                    "nothing to change: give --description, --duration or --permission",
                ));
            }
            c.update_robot(id, &changes).await?;
            let r = c.robot(id).await?;
            out.one(&r, &robot_fields(&r), &r.id.to_string())?;
        }
        RobotCmd::RefreshSecret { id } => {
            let secret = c.refresh_robot_secret(id).await?;
            out.done(&secret, &json!({ "id": id, "secret": secret }), &secret)?;
        }
        RobotCmd::Disable { id } | RobotCmd::Enable { id } => {
            let disable = matches!(cmd, RobotCmd::Disable { .. });
            c.set_robot_disabled(id, disable).await?;
            let what = if disable { "Disabled" } else { "Enabled" };
            out.done(
                &format!("{what} robot {id}"),
                &json!({ "id": id, "disable": disable }),
                &id.to_string(),
            )?;
        }
        RobotCmd::Delete { id } => {
            c.delete_robot(id).await?;
            out.done(
                &format!("Deleted robot {id}"),
                &json!({ "deleted": id }),
                &id.to_string(),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::access;

    #[test]
    fn permissions_have_a_short_form() {
        let a = access("push").unwrap();
        assert_eq!(
            (a.resource.as_str(), a.action.as_str()),
            ("repository", "push")
        );
        let a = access("artifact:read").unwrap();
        assert_eq!(
            (a.resource.as_str(), a.action.as_str()),
            ("artifact", "read")
        );
        for bad in ["", "read", ":x", "x:"] {
            assert_eq!(access(bad).unwrap_err().code, super::super::USAGE, "{bad}");
        }
    }
}
