//! Projects: creation (by the API, the CLI or a push into a missing project) with its
//! owner, quota and metadata in one transaction; listings with the caller's roles;
//! metadata changes; deletion under Harbor's "deletable" rule.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use harbor_auth::{Accounts, Grants, Principal};
use harbor_core::events::{DomainEvent, NewEvent};
use harbor_core::identity::{
    NewProject, Page, Project, ProjectQuery, ProjectSummary, check_project_name,
};
use harbor_core::project_meta::{self, RawValue};
use harbor_core::rbac::{Action, Resource, Role};
use harbor_core::scan::allowlist::{AllowlistInput, CveAllowlist};
use harbor_core::{Error, Result};

use crate::access::{self, ProjectRef};
use crate::registries::Registries;
use crate::retention::Retention;
use crate::scanner::allowlists::CveAllowlists;
use crate::settings::SystemSettings;

/// A project to create.
#[derive(Clone, Debug, Default)]
pub struct CreateProject {
    /// Its name (Harbor's rules: lower case, 1 to 255 characters, ...).
    pub name: String,
    /// Metadata keys as sent (`public` included), validated by `project_meta`.
    pub metadata: BTreeMap<String, RawValue>,
    /// Storage limit in bytes (-1 unlimited); only system administrators choose one, for
    /// everyone else the default applies.
    pub storage_limit: Option<i64>,
    /// The registry endpoint a proxy-cache project caches (system administrators only).
    pub registry_id: Option<i64>,
    /// The project's own CVE allowlist.
    pub cve_allowlist: Option<AllowlistInput>,
}

/// A project as its reader sees it.
#[derive(Clone, Debug)]
pub struct ProjectDetails {
    /// The project.
    pub project: Project,
    /// The reader's roles in it (empty for non-members and robots).
    pub roles: Vec<Role>,
    /// Repositories holding an artifact.
    pub repo_count: u64,
    /// Its own CVE allowlist ([`Projects::get`] only; `None` in listings).
    pub cve_allowlist: Option<CveAllowlist>,
}

/// Whether a project may be deleted, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletable {
    /// It may.
    pub deletable: bool,
    /// Why not (empty when it may).
    pub message: String,
}

/// The project service.
#[derive(Clone)]
pub struct Projects {
    accounts: Arc<Accounts>,
    settings: SystemSettings,
    /// Registry endpoints (for proxy-cache projects) and the retention service that
    /// gives them their default policy; without them, `registry_id` is refused.
    proxy: Option<(Registries, Retention)>,
    /// Projects' CVE allowlists; without them, a non-empty `cve_allowlist` is refused.
    allowlists: Option<CveAllowlists>,
}

impl Projects {
    /// Projects kept by `accounts`' store, under the run-time `settings`.
    pub fn new(accounts: Arc<Accounts>, settings: SystemSettings) -> Self {
        Projects {
            accounts,
            settings,
            proxy: None,
            allowlists: None,
        }
    }

    /// Reads and writes projects' CVE allowlists through `allowlists`.
    pub fn with_allowlists(mut self, allowlists: CveAllowlists) -> Self {
        self.allowlists = Some(allowlists);
        self
    }

    /// Creates proxy-cache projects of the endpoints in `registries`, each with its
    /// default retention policy created through `retention`.
    pub fn with_proxy_cache(mut self, registries: Registries, retention: Retention) -> Self {
        self.proxy = Some((registries, retention));
        self
    }

    /// The retention service proxy-cache projects get their default policy from.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        if let Some((_, r)) = &mut self.proxy {
            *r = retention;
        }
        self
    }

    /// The project `r` names and `by`'s grants in it; hidden like a missing one when `by`
    /// may not read it.
    pub async fn open(&self, by: &Principal, r: &ProjectRef) -> Result<(Project, Grants)> {
        access::open_project(&self.accounts, by, r).await
    }

    /// [`Projects::open`], requiring `action` on `resource`.
    pub async fn open_for(
        &self,
        by: &Principal,
        r: &ProjectRef,
        resource: Resource,
        action: Action,
    ) -> Result<(Project, Grants)> {
        access::project_for(&self.accounts, by, r, resource, action).await
    }

    /// What `by` may do in the project: every (resource, action) pair its grants allow.
    pub async fn permissions(
        &self,
        by: &Principal,
        r: &ProjectRef,
    ) -> Result<(Project, Vec<(Resource, Action)>)> {
        access::require_authenticated(by)?;
        let (project, grants) = self.open(by, r).await?;
        let pairs = Resource::ALL
            .iter()
            .flat_map(|r| Action::ALL.iter().map(move |a| (*r, *a)))
            .filter(|(r, a)| grants.allows(*r, *a))
            .collect();
        Ok((project, pairs))
    }

    /// Whether `by` may create projects: system administrators always; robots by their
    /// system `project:create` permission; other users unless the setting
    /// `project_creation_restriction` is `adminonly`.
    pub async fn may_create(&self, by: &Principal) -> bool {
        match by {
            Principal::Anonymous => false,
            Principal::Robot { .. } => access::system_allows(by, "project", Action::Create),
            Principal::User(u) => u.sysadmin || !self.settings.get().await.admin_only_projects,
        }
    }

    /// Creates a project owned by `by` (a robot's projects are owned by the bootstrap
    /// admin: robots cannot own projects), with its quota (`storage_limit` for system
    /// administrators, else the `storage_per_project` setting, else the configured
    /// default), its metadata and the `ProjectCreated` event, in one transaction.
    pub async fn create(&self, by: &Principal, req: CreateProject) -> Result<Project> {
        access::require_authenticated(by)?;
        if !self.may_create(by).await {
            return Err(Error::Forbidden(match by {
                Principal::Robot { .. } => "not allowed to create projects".into(),
                _ => "only system administrators may create projects \
                      (project_creation_restriction)"
                    .into(),
            }));
        }
        check_project_name(&req.name)?;
        if let Some(id) = req.registry_id {
            self.check_upstream(by, id).await?;
        }
        let (public, metadata) = project_meta::validate_all(&req.metadata)?;
        let allowlist = self.checked_allowlist(req.cve_allowlist)?;
        if let Some(limit) = req.storage_limit {
            harbor_core::quota::validate_limit(limit)?;
        }
        let (owner_id, owner) = match by {
            Principal::User(u) => (u.id, u.username.clone()),
            _ => {
                let admin = harbor_auth::accounts::ADMIN;
                let id = self.store().user_by_name(admin).await?.map_or(0, |u| u.id);
                (id, admin.to_owned())
            }
        };
        let chosen = req.storage_limit.filter(|_| by.is_sysadmin());
        let new = NewProject {
            name: req.name,
            owner_id,
            public: public.unwrap_or(false),
            metadata,
            storage_limit: chosen.or(self.settings.get().await.storage_per_project),
            registry_id: req.registry_id,
        };
        let event = DomainEvent::ProjectCreated {
            project: new.name.clone(),
            owner,
        };
        let project = self
            .store()
            .create_project_emitting(&new, &[NewEvent::now(by.name(), event)])
            .await?;
        if project.registry_id.is_some()
            && let Some((_, retention)) = &self.proxy
            && let Err(e) = retention.create(by, &proxy_retention(project.id)).await
        {
            // Without its expiry the cache would grow for ever: no project rather than that.
            let event = DomainEvent::ProjectDeleted {
                project: project.name.clone(),
                project_id: project.id,
            };
            self.store()
                .delete_project_emitting(project.id, &[NewEvent::now(by.name(), event)])
                .await?;
            return Err(e);
        }
        if let (Some(list), Some(allowlists)) = (&allowlist, &self.allowlists) {
            allowlists.write_project(by, &project, list).await?;
        }
        Ok(project)
    }

    /// A requested allowlist, validated; refused when not empty if this service keeps no
    /// allowlists.
    fn checked_allowlist(&self, list: Option<AllowlistInput>) -> Result<Option<AllowlistInput>> {
        let Some(list) = list else {
            return Ok(None);
        };
        let list = list.validate()?;
        if self.allowlists.is_none() {
            if list.items.is_empty() {
                return Ok(None);
            }
            return Err(Error::Unsupported(
                "this server keeps no CVE allowlists".into(),
            ));
        }
        Ok(Some(list))
    }

    /// A proxy-cache project may be created by system administrators only (Harbor's
    /// rule), of an existing registry endpoint.
    async fn check_upstream(&self, by: &Principal, registry_id: i64) -> Result<()> {
        if !by.is_sysadmin() {
            return Err(Error::Forbidden(
                "only system administrators may create proxy-cache projects".into(),
            ));
        }
        let Some((registries, _)) = &self.proxy else {
            return Err(Error::Unsupported(
                "this server has no proxy-cache projects".into(),
            ));
        };
        match registries.endpoint(registry_id).await? {
            Some(_) => Ok(()),
            None => Err(Error::Invalid(format!("registry {registry_id} not found"))),
        }
    }

    /// Whether a project of this name exists (any signed-in caller may ask, as in Harbor).
    pub async fn exists(&self, by: &Principal, name: &str) -> Result<bool> {
        access::require_authenticated(by)?;
        Ok(self.store().project_by_name(name).await?.is_some())
    }

    /// One page of the projects `by` may see (all for system administrators, public and
    /// member projects for users, public ones for everyone else), filtered by `query`.
    pub async fn list(
        &self,
        by: &Principal,
        mut query: ProjectQuery,
        page: Page,
    ) -> Result<(Vec<ProjectDetails>, u64)> {
        if !by.is_sysadmin() {
            match by {
                Principal::User(u) => query.visible_to = Some(u.id),
                _ => {
                    if query.public == Some(false) {
                        return Ok((Vec::new(), 0));
                    }
                    query.public = Some(true);
                }
            }
        }
        let (projects, total) = self.store().projects(&query, page).await?;
        Ok((self.details(by, projects).await?, total))
    }

    /// How many projects are public, and how many `by` can see (all for system
    /// administrators, public and member projects for users, public ones otherwise).
    pub async fn counts(&self, by: &Principal) -> Result<(u64, u64)> {
        let one = Page {
            page: 1,
            page_size: 1,
        };
        let public = ProjectQuery {
            public: Some(true),
            ..ProjectQuery::default()
        };
        let public = self.store().projects(&public, one).await?.1;
        let mut visible = ProjectQuery::default();
        match by {
            p if p.is_sysadmin() => {}
            Principal::User(u) => visible.visible_to = Some(u.id),
            _ => return Ok((public, public)),
        }
        Ok((public, self.store().projects(&visible, one).await?.1))
    }

    /// Whether each of the projects `names` is public (absent: no such project). For
    /// labelling what the caller may see already, such as search hits.
    pub async fn public_flags(&self, names: &[&str]) -> Result<HashMap<String, bool>> {
        let mut out = HashMap::new();
        for name in names {
            if out.contains_key(*name) {
                continue;
            }
            if let Some(p) = self.store().project_by_name(name).await? {
                out.insert(p.name, p.public);
            }
        }
        Ok(out)
    }

    /// `projects` with `by`'s roles and their repository counts: one query each for the
    /// whole page.
    pub async fn details(
        &self,
        by: &Principal,
        projects: Vec<Project>,
    ) -> Result<Vec<ProjectDetails>> {
        let store = self.store();
        let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
        let mut roles: HashMap<i64, Vec<Role>> = HashMap::new();
        if let Some(uid) = by.user_id() {
            for (pid, role) in store.roles_in_projects(uid, &ids).await? {
                roles.entry(pid).or_default().push(role);
            }
        }
        let repos = store.project_repository_counts(&ids).await?;
        Ok(projects
            .into_iter()
            .map(|p| ProjectDetails {
                roles: roles.remove(&p.id).unwrap_or_default(),
                repo_count: repos.get(&p.id).copied().unwrap_or(0),
                project: p,
                cve_allowlist: None,
            })
            .collect())
    }

    /// The project `r` names, as `by` sees it, with its own CVE allowlist.
    pub async fn get(&self, by: &Principal, r: &ProjectRef) -> Result<ProjectDetails> {
        let (project, _) = self.open(by, r).await?;
        let mut all = self.details(by, vec![project]).await?;
        let mut d = all
            .pop()
            .ok_or_else(|| Error::internal("project details of one project came back empty"))?;
        if let Some(allowlists) = &self.allowlists {
            d.cve_allowlist = Some(allowlists.of_project(&d.project).await?);
        }
        Ok(d)
    }

    /// Repository and member counts (`project:read`).
    pub async fn summary(
        &self,
        by: &Principal,
        r: &ProjectRef,
    ) -> Result<(Project, Grants, ProjectSummary)> {
        let (project, grants) = self.open(by, r).await?;
        let summary = self.store().project_summary(&project).await?;
        Ok((project, grants, summary))
    }

    /// Harbor's `PUT /projects/{p}`: a project cannot be renamed (`name`, if given, must
    /// be its own); `metadata` keys are set (`project:update`, and `metadata:update` when
    /// any are given); `cve_allowlist`, if given, replaces the project's own list.
    pub async fn update(
        &self,
        by: &Principal,
        r: &ProjectRef,
        name: Option<&str>,
        metadata: &BTreeMap<String, RawValue>,
        cve_allowlist: Option<AllowlistInput>,
    ) -> Result<Project> {
        let (mut project, grants) = self
            .open_for(by, r, Resource::Project, Action::Update)
            .await?;
        if name.is_some_and(|n| n != project.name) {
            return Err(Error::Invalid("a project cannot be renamed".into()));
        }
        let allowlist = self.checked_allowlist(cve_allowlist)?;
        if !metadata.is_empty() {
            access::check(by, &grants, Resource::Metadata, Action::Update)?;
            project = self.write_metadata(by, &project, metadata).await?;
        }
        if let (Some(list), Some(allowlists)) = (&allowlist, &self.allowlists) {
            allowlists.write_project(by, &project, list).await?;
        }
        Ok(project)
    }

    /// Adds metadata keys (`metadata:create`); a key set already is [`Error::Conflict`].
    pub async fn add_metadata(
        &self,
        by: &Principal,
        r: &ProjectRef,
        values: &BTreeMap<String, RawValue>,
    ) -> Result<Project> {
        let (project, _) = self
            .open_for(by, r, Resource::Metadata, Action::Create)
            .await?;
        if values.is_empty() {
            return Err(Error::Invalid("no metadata given".into()));
        }
        if let Some(k) = values
            .keys()
            .find(|k| project.metadata.contains_key(*k) || *k == "public")
        {
            return Err(Error::Conflict(format!(
                "metadata {k} is set already: change it with PUT .../metadatas/{k}"
            )));
        }
        self.write_metadata(by, &project, values).await
    }

    /// Sets metadata keys (`metadata:update`).
    pub async fn set_metadata(
        &self,
        by: &Principal,
        r: &ProjectRef,
        values: &BTreeMap<String, RawValue>,
    ) -> Result<Project> {
        let (project, _) = self
            .open_for(by, r, Resource::Metadata, Action::Update)
            .await?;
        self.write_metadata(by, &project, values).await
    }

    /// Removes one metadata key (`metadata:delete`; `public` cannot be removed).
    pub async fn remove_metadata(
        &self,
        by: &Principal,
        r: &ProjectRef,
        key: &str,
    ) -> Result<Project> {
        let (project, _) = self
            .open_for(by, r, Resource::Metadata, Action::Delete)
            .await?;
        project_meta::check_removable(&project, key)?;
        let event = DomainEvent::ProjectMetadataRemoved {
            project: project.name.clone(),
            project_id: project.id,
            key: key.to_owned(),
        };
        self.store()
            .update_project_metadata_emitting(
                project.id,
                None,
                &BTreeMap::new(),
                &[key.to_owned()],
                &[NewEvent::now(by.name(), event)],
            )
            .await
    }

    async fn write_metadata(
        &self,
        by: &Principal,
        project: &Project,
        values: &BTreeMap<String, RawValue>,
    ) -> Result<Project> {
        let (public, set) = project_meta::validate_all(values)?;
        let event = DomainEvent::ProjectMetadataSet {
            project: project.name.clone(),
            project_id: project.id,
            keys: values.keys().cloned().collect(),
        };
        self.store()
            .update_project_metadata_emitting(
                project.id,
                public,
                &set,
                &[],
                &[NewEvent::now(by.name(), event)],
            )
            .await
    }

    /// Whether `by` may delete the project and whether it may be deleted now: Harbor's
    /// rule is that it holds no repositories.
    pub async fn deletable(&self, by: &Principal, r: &ProjectRef) -> Result<Deletable> {
        let (project, _) = self
            .open_for(by, r, Resource::Project, Action::Delete)
            .await?;
        self.deletable_now(&project).await
    }

    async fn deletable_now(&self, project: &Project) -> Result<Deletable> {
        let repos = self.store().project_repository_count(&project.name).await?;
        Ok(if repos > 0 {
            Deletable {
                deletable: false,
                message: format!("the project contains {repos} repositories: delete them first"),
            }
        } else {
            Deletable {
                deletable: true,
                message: String::new(),
            }
        })
    }

    /// Deletes an empty project with its members and robots (`project:delete`); one
    /// holding repositories is [`Error::Precondition`].
    pub async fn delete(&self, by: &Principal, r: &ProjectRef) -> Result<()> {
        let (project, _) = self
            .open_for(by, r, Resource::Project, Action::Delete)
            .await?;
        let d = self.deletable_now(&project).await?;
        if !d.deletable {
            return Err(Error::Precondition(d.message));
        }
        let event = DomainEvent::ProjectDeleted {
            project: project.name.clone(),
            project_id: project.id,
        };
        self.store()
            .delete_project_emitting(project.id, &[NewEvent::now(by.name(), event)])
            .await
    }

    fn store(&self) -> &Arc<dyn harbor_core::ports::IdentityStore> {
        self.accounts.store()
    }
}

/// Harbor's policy for a new proxy-cache project: keep what was pulled in the last 7
/// days, checked every day at midnight (the cache's "7-day expiry"; garbage collection
/// frees the space later).
pub fn proxy_retention(project_id: i64) -> harbor_core::retention::RetentionPolicy {
    serde_json::from_value(serde_json::json!({
        "algorithm": "or",
        "rules": [{
            "disabled": false,
            "action": "retain",
            "template": "nDaysSinceLastPull",
            "params": {"nDaysSinceLastPull": 7},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [
                {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
            ]}
        }],
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}},
        "scope": {"level": "project", "ref": project_id}
    }))
    .unwrap_or_default()
}
