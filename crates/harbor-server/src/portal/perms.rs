//! What the viewer may do in one project, read once per page from
//! `GET /users/current/permissions` (the API's RBAC evaluator), so that pages show only
//! the tabs, buttons and forms that would work. Hiding is a courtesy: the API still
//! refuses whatever is forged.

use std::collections::HashSet;

use harbor_api_model as m;
use harbor_core::rbac::{Action, Resource};

use super::Portal;
use super::backend::enc;
use super::viewer::Viewer;

/// The (resource, action) pairs the viewer holds in a project.
#[derive(Clone, Debug, Default)]
pub(crate) struct Perms(HashSet<(String, String)>);

impl Perms {
    /// The pairs of a relative permission list (`repository`, `pull`, ...).
    pub fn from_list(list: Vec<m::Permission>) -> Self {
        Perms(list.into_iter().map(|p| (p.resource, p.action)).collect())
    }

    /// Whether the viewer may do `action` on `resource` (the project itself is `.`).
    pub fn can(&self, resource: Resource, action: Action) -> bool {
        let name = match resource {
            Resource::Project => ".",
            other => other.as_str(),
        };
        self.0
            .contains(&(name.to_owned(), action.as_str().to_owned()))
    }
}

/// The viewer's permissions in the project named `project`; none when they cannot be
/// read (a page then offers nothing it could not do).
pub(crate) async fn load(p: &Portal, v: &Viewer, project: &str) -> Perms {
    let path = format!(
        "/users/current/permissions?relative=true&scope={}",
        enc(&format!("/project/{project}"))
    );
    match p.api.get(v, &path).await {
        Ok(a) => a.decode().map(Perms::from_list).unwrap_or_default(),
        Err(_) => Perms::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_pairs_are_allowed() {
        let p = Perms::from_list(vec![
            m::Permission {
                resource: "repository".into(),
                action: "pull".into(),
            },
            m::Permission {
                resource: ".".into(),
                action: "update".into(),
            },
        ]);
        assert!(p.can(Resource::Repository, Action::Pull));
        assert!(p.can(Resource::Project, Action::Update));
        assert!(!p.can(Resource::Project, Action::Delete));
        assert!(!p.can(Resource::Repository, Action::Push));
        assert!(!Perms::default().can(Resource::Project, Action::Read));
    }
}
