//! A typed client for the Harbor-rs (and Harbor) REST API, `/api/v2.0`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), harbor_cli::client::Error> {
//! use harbor_cli::client::{Client, Credentials, NewProject, TlsOptions};
//! let c = Client::new(
//!     "https://registry.example.com",
//!     Some(Credentials::new("admin", "secret")),
//!     &TlsOptions::default(),
//! )?;
//! c.create_project(&NewProject::new("team")).await?;
//! for p in c.projects(None).await? {
//!     println!("{} public={}", p.name, p.is_public());
//! }
//! # Ok(()) }
//! ```
//!
//! Requests authenticate with HTTP Basic (users and robot accounts alike). Non-2xx answers
//! become [`Error::Api`] carrying the server's status, Harbor error code and message.

use std::time::Duration;

mod allowlists;
mod content;
mod jobs;
mod registries;
mod scanner;
mod security;
mod signatures;
mod webhooks;

pub use content::{Artifact, ArtifactRef, ArtifactTag, parse_size};
/// The REST API's types, shared with the server (`harbor-api-model`), under the names
/// this client has always used.
pub use harbor_api_model::{
    Access as RobotAccess, AuditLog as AuditEntry, ImmutableRule, Label, Project,
    ProjectMemberEntity as Member, ProjectMetadata, ProjectReq as NewProject, ProjectSummary,
    Quota, Repository, Robot, RobotCreate as NewRobot, RobotCreated as CreatedRobot,
    RobotPermission, UserCreationReq as NewUser, UserGroup, UserGroupSearchItem, UserResp as User,
};
pub use jobs::{
    Execution, FsckParameters, GcParameters, GcProgress, JobQueue, PurgeAuditParameters,
    RetentionExecution, RetentionPolicy, RetentionTask, ScheduleTask, SystemJob, status_is_final,
};
pub use webhooks::{
    SupportedWebhookEventTypes, WebhookExecution, WebhookLastTrigger, WebhookPolicy,
    WebhookTargetObject, WebhookTask, WebhookTestResult,
};

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most items fetched per page when a listing is read to the end.
const PAGE_SIZE: u64 = 100;

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error.
    #[error("{message} ({status}, {code})")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// Harbor error code, e.g. `NOT_FOUND`.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached or the connection failed.
    #[error("cannot reach {url}: {source}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        /// The URL requested.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The client could not be set up (bad URL, unreadable CA certificate, ...).
    #[error("{0}")]
    Setup(String),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Result of client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Basic credentials: a username (or robot login such as `robot$team+ci`) and password.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    /// Username or robot login name.
    pub username: String,
    /// Password or robot secret.
    pub password: String,
}

impl Credentials {
    /// Credentials from a username and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// TLS settings for servers with private certificates.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// A PEM CA certificate to trust in addition to the system's.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Accept any certificate (testing only).
    pub insecure: bool,
}

/// A REST API client bound to one server and one identity.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Option<Credentials>,
}

/// Percent-encodes a path segment (and a second time for repository names, as Harbor
/// expects names with `/` in its paths).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `project/repo/name` split into the project and the repository name encoded twice.
fn repo_path(full: &str) -> Result<(String, String)> {
    match full.split_once('/') {
        Some((p, r)) if !p.is_empty() && !r.is_empty() => Ok((encode(p), encode(&encode(r)))),
        _ => Err(Error::Setup(format!(
            "invalid repository {full:?}: use <project>/<repository>"
        ))),
    }
}

impl Client {
    /// A client for the server at `base` (e.g. `https://registry.example.com`).
    pub fn new(base: &str, credentials: Option<Credentials>, tls: &TlsOptions) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Setup(format!(
                "invalid server URL {base:?}: it must start with http:// or https://"
            )));
        }
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("harbor-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &tls.ca_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Setup(format!("invalid CA certificate: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        if tls.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let http = b
            .build()
            .map_err(|e| Error::Setup(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            base,
            credentials,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response> {
        self.request_with(method, path, |req| match body {
            Some(b) => req.json(b),
            None => req,
        })
        .await
    }

    /// A request whose body (and options) `build` sets.
    async fn request_with(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let url = format!("{}/api/v2.0{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(c) = &self.credentials {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        req = build(req);
        let resp = req.send().await.map_err(|source| Error::Transport {
            url: url.clone(),
            source,
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let first = parsed.as_ref().and_then(|v| v["errors"].get(0).cloned());
        let code = first
            .as_ref()
            .and_then(|e| e["code"].as_str())
            .unwrap_or(status.canonical_reason().unwrap_or("ERROR"))
            .to_owned();
        let message = first
            .as_ref()
            .and_then(|e| e["message"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                let t = text.trim();
                if t.is_empty() {
                    format!("HTTP {status}")
                } else {
                    t.chars().take(500).collect()
                }
            });
        Err(Error::Api {
            status,
            code,
            message,
        })
    }

    async fn json<T: DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T> {
        let url = resp.url().to_string();
        resp.json().await.map_err(|e| Error::Protocol {
            url,
            detail: e.to_string(),
        })
    }

    /// `GET path` decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let r = self.request(Method::GET, path, None).await?;
        self.json(r).await
    }

    /// Every item of a paged listing (`page`/`page_size`, `X-Total-Count`), at most `limit`.
    pub async fn list<T: DeserializeOwned>(&self, path: &str, limit: usize) -> Result<Vec<T>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1.. {
            let r = self
                .request(
                    Method::GET,
                    &format!("{path}{sep}page={page}&page_size={PAGE_SIZE}"),
                    None,
                )
                .await?;
            let total = total_count(r.headers());
            let items: Vec<T> = self.json(r).await?;
            let got = items.len();
            out.extend(items);
            let done = got < PAGE_SIZE as usize || total.is_some_and(|t| out.len() as u64 >= t);
            if done || out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<reqwest::Response> {
        self.request(method, path, body.as_ref()).await
    }

    /// The id at the end of a `201`'s `Location` header.
    fn created_id(&self, r: &reqwest::Response) -> Result<i64> {
        r.headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| Error::Protocol {
                url: r.url().to_string(),
                detail: "no id in the Location header".into(),
            })
    }

    // --- system

    /// `GET /systeminfo`.
    pub async fn system_info(&self) -> Result<Value> {
        self.get("/systeminfo").await
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<Value> {
        self.get("/health").await
    }

    /// `GET /users/current`: who the credentials belong to.
    pub async fn current_user(&self) -> Result<User> {
        self.get("/users/current").await
    }

    /// Turns read-only mode on or off (administrators).
    pub async fn set_read_only(&self, on: bool) -> Result<()> {
        self.send(
            Method::PUT,
            "/configurations",
            Some(json!({ "read_only": on })),
        )
        .await
        .map(drop)
    }

    /// `PUT /configurations` with `values` (administrators); all or nothing.
    pub async fn set_configurations(&self, values: &Value) -> Result<()> {
        self.send(Method::PUT, "/configurations", Some(values.clone()))
            .await
            .map(drop)
    }

    /// `GET /configurations` (administrators).
    pub async fn configurations(&self) -> Result<Value> {
        self.get("/configurations").await
    }

    // --- projects

    /// Projects visible to the caller, optionally those whose name contains `name`.
    pub async fn projects(&self, name: Option<&str>) -> Result<Vec<Project>> {
        let path = match name {
            Some(n) => format!("/projects?name={}", encode(n)),
            None => "/projects".into(),
        };
        self.list(&path, usize::MAX).await
    }

    /// The id of the project named `name`, if a name is given.
    pub async fn project_id(&self, name: Option<&str>) -> Result<Option<i64>> {
        match name {
            Some(n) => Ok(Some(self.project(n).await?.project_id)),
            None => Ok(None),
        }
    }

    /// One project by name.
    pub async fn project(&self, name: &str) -> Result<Project> {
        let r = self
            .request(Method::GET, &format!("/projects/{}", encode(name)), None)
            .await?;
        self.json(r).await
    }

    /// Creates a project; returns its id.
    pub async fn create_project(&self, p: &NewProject) -> Result<i64> {
        let body = serde_json::to_value(p).map_err(|e| Error::Setup(e.to_string()))?;
        let r = self.send(Method::POST, "/projects", Some(body)).await?;
        self.created_id(&r)
    }

    /// Makes a project public or private.
    pub async fn set_project_public(&self, name: &str, public: bool) -> Result<()> {
        let values = std::collections::BTreeMap::from([("public".into(), public.to_string())]);
        self.set_project_metadata(name, &values).await
    }

    /// `GET /projects/{name}/metadatas/`: every metadata key of a project.
    pub async fn project_metadata(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        let path = format!("/projects/{}/metadatas/", encode(name));
        let r = self.request(Method::GET, &path, None).await?;
        self.json(r).await
    }

    /// Sets metadata keys of a project (`PUT /projects/{name}` with `metadata`); the
    /// server refuses, naming the key, what it cannot honour.
    pub async fn set_project_metadata(
        &self,
        name: &str,
        values: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        let body = json!({ "metadata": values });
        self.send(
            Method::PUT,
            &format!("/projects/{}", encode(name)),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Removes one metadata key of a project.
    pub async fn delete_project_metadata(&self, name: &str, key: &str) -> Result<()> {
        let path = format!("/projects/{}/metadatas/{}", encode(name), encode(key));
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    /// Deletes an empty project.
    pub async fn delete_project(&self, name: &str) -> Result<()> {
        self.send(Method::DELETE, &format!("/projects/{}", encode(name)), None)
            .await
            .map(drop)
    }

    /// `GET /projects/{name}/summary`.
    pub async fn project_summary(&self, name: &str) -> Result<ProjectSummary> {
        self.get(&format!("/projects/{}/summary", encode(name)))
            .await
    }

    // --- users

    /// Users, optionally those whose name contains `name` (administrators).
    pub async fn users(&self, name: Option<&str>) -> Result<Vec<User>> {
        let path = match name {
            Some(n) => format!("/users?q=username%3D~{}", encode(n)),
            None => "/users".into(),
        };
        self.list(&path, usize::MAX).await
    }

    /// The user with exactly this name.
    pub async fn user_by_name(&self, name: &str) -> Result<User> {
        let found: Vec<User> = self
            .list(&format!("/users?q=username%3D{}", encode(name)), 2)
            .await?;
        found
            .into_iter()
            .find(|u| u.username == name)
            .ok_or_else(|| Error::Api {
                status: StatusCode::NOT_FOUND,
                code: "NOT_FOUND".into(),
                message: format!("user {name} not found"),
            })
    }

    /// Creates a user; returns the id.
    pub async fn create_user(&self, u: &NewUser) -> Result<i64> {
        let body = serde_json::to_value(u).map_err(|e| Error::Setup(e.to_string()))?;
        let r = self.send(Method::POST, "/users", Some(body)).await?;
        self.created_id(&r)
    }

    /// Deletes a user.
    pub async fn delete_user(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/users/{id}"), None)
            .await
            .map(drop)
    }

    /// Grants or revokes system administration.
    pub async fn set_sysadmin(&self, id: i64, on: bool) -> Result<()> {
        let body = json!({ "sysadmin_flag": on });
        self.send(Method::PUT, &format!("/users/{id}/sysadmin"), Some(body))
            .await
            .map(drop)
    }

    /// `GET /users/{id}` (yourself, or anyone for administrators), with the OIDC meta.
    pub async fn user(&self, id: i64) -> Result<User> {
        self.get(&format!("/users/{id}")).await
    }

    /// `PUT /users/{id}/cli_secret`.
    pub async fn set_cli_secret(&self, id: i64, secret: &str) -> Result<()> {
        let body = json!({ "secret": secret });
        self.send(Method::PUT, &format!("/users/{id}/cli_secret"), Some(body))
            .await
            .map(drop)
    }

    /// Changes a password (administrators may omit the old one for other users).
    pub async fn set_password(&self, id: i64, old: Option<&str>, new: &str) -> Result<()> {
        let mut body = json!({ "new_password": new });
        if let Some(o) = old {
            body["old_password"] = json!(o);
        }
        self.send(Method::PUT, &format!("/users/{id}/password"), Some(body))
            .await
            .map(drop)
    }

    // --- members

    /// A project's members.
    pub async fn members(&self, project: &str) -> Result<Vec<Member>> {
        self.list(
            &format!("/projects/{}/members", encode(project)),
            usize::MAX,
        )
        .await
    }

    /// Adds a user to a project with a role; returns the membership id.
    pub async fn add_member(&self, project: &str, username: &str, role_id: i64) -> Result<i64> {
        let body = json!({ "role_id": role_id, "member_user": { "username": username } });
        let r = self
            .send(
                Method::POST,
                &format!("/projects/{}/members", encode(project)),
                Some(body),
            )
            .await?;
        self.created_id(&r)
    }

    /// The membership of `username` in `project`.
    pub async fn member(&self, project: &str, username: &str) -> Result<Member> {
        self.members(project)
            .await?
            .into_iter()
            .find(|m| m.entity_name == username)
            .ok_or_else(|| Error::Api {
                status: StatusCode::NOT_FOUND,
                code: "NOT_FOUND".into(),
                message: format!("{username} is not a member of {project}"),
            })
    }

    /// Changes a member's role.
    pub async fn set_member_role(&self, project: &str, member_id: i64, role_id: i64) -> Result<()> {
        let body = json!({ "role_id": role_id });
        let path = format!("/projects/{}/members/{member_id}", encode(project));
        self.send(Method::PUT, &path, Some(body)).await.map(drop)
    }

    /// Removes a membership.
    pub async fn remove_member(&self, project: &str, member_id: i64) -> Result<()> {
        let path = format!("/projects/{}/members/{member_id}", encode(project));
        self.send(Method::DELETE, &path, None).await.map(drop)
    }

    /// Adds a user group (by id) to a project with a role; returns the membership id.
    pub async fn add_group_member(
        &self,
        project: &str,
        group_id: i64,
        role_id: i64,
    ) -> Result<i64> {
        let body = json!({ "role_id": role_id, "member_group": { "id": group_id } });
        let r = self
            .send(
                Method::POST,
                &format!("/projects/{}/members", encode(project)),
                Some(body),
            )
            .await?;
        self.created_id(&r)
    }

    // --- user groups

    /// User groups, filtered by a part of the name and an exact LDAP DN (administrators).
    pub async fn groups(
        &self,
        name: Option<&str>,
        ldap_dn: Option<&str>,
    ) -> Result<Vec<UserGroup>> {
        let mut q = Vec::new();
        if let Some(n) = name {
            q.push(format!("group_name={}", encode(n)));
        }
        if let Some(d) = ldap_dn {
            q.push(format!("ldap_group_dn={}", encode(d)));
        }
        let path = if q.is_empty() {
            "/usergroups".to_owned()
        } else {
            format!("/usergroups?{}", q.join("&"))
        };
        self.list(&path, usize::MAX).await
    }

    /// One user group.
    pub async fn group(&self, id: i64) -> Result<UserGroup> {
        self.get(&format!("/usergroups/{id}")).await
    }

    /// Creates a user group; returns its id.
    pub async fn create_group(&self, g: &UserGroup) -> Result<i64> {
        let body = serde_json::to_value(g).map_err(|e| Error::Setup(e.to_string()))?;
        let r = self.send(Method::POST, "/usergroups", Some(body)).await?;
        self.created_id(&r)
    }

    /// Renames a user group.
    pub async fn rename_group(&self, id: i64, name: &str) -> Result<()> {
        let body = json!({ "group_name": name });
        self.send(Method::PUT, &format!("/usergroups/{id}"), Some(body))
            .await
            .map(drop)
    }

    /// Deletes a user group.
    pub async fn delete_group(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/usergroups/{id}"), None)
            .await
            .map(drop)
    }

    /// Groups whose name contains `name` (anyone signed in).
    pub async fn search_groups(&self, name: &str) -> Result<Vec<UserGroupSearchItem>> {
        self.list(
            &format!("/usergroups/search?groupname={}", encode(name)),
            usize::MAX,
        )
        .await
    }

    /// The id of the group `name_or_id` names: an id as is, else the one group with
    /// exactly that name.
    pub async fn group_id(&self, name_or_id: &str) -> Result<i64> {
        if let Ok(id) = name_or_id.parse::<i64>() {
            return Ok(id);
        }
        let found: Vec<i64> = self
            .search_groups(name_or_id)
            .await?
            .into_iter()
            .filter(|g| g.group_name == name_or_id)
            .map(|g| g.id)
            .collect();
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::Api {
                status: StatusCode::NOT_FOUND,
                code: "NOT_FOUND".into(),
                message: format!("user group {name_or_id} not found"),
            }),
            _ => Err(Error::Api {
                status: StatusCode::CONFLICT,
                code: "CONFLICT".into(),
                message: format!("several groups are named {name_or_id}: give the id"),
            }),
        }
    }

    // --- robots

    /// Robots: of one project (by id), or all (administrators).
    pub async fn robots(&self, project_id: Option<i64>) -> Result<Vec<Robot>> {
        let path = match project_id {
            Some(id) => format!("/robots?q=Level%3Dproject,ProjectID%3D{id}"),
            None => "/robots".into(),
        };
        self.list(&path, usize::MAX).await
    }

    /// One robot.
    pub async fn robot(&self, id: i64) -> Result<Robot> {
        self.get(&format!("/robots/{id}")).await
    }

    /// Creates a robot; the answer holds its secret, shown this once.
    pub async fn create_robot(&self, r: &NewRobot) -> Result<CreatedRobot> {
        let body = serde_json::to_value(r).map_err(|e| Error::Setup(e.to_string()))?;
        let resp = self.send(Method::POST, "/robots", Some(body)).await?;
        self.json(resp).await
    }

    /// Replaces a robot's secret with a generated one and returns it.
    pub async fn refresh_robot_secret(&self, id: i64) -> Result<String> {
        let r = self
            .send(Method::PATCH, &format!("/robots/{id}"), Some(json!({})))
            .await?;
        let v: harbor_api_model::RobotSec = self.json(r).await?;
        v.secret.ok_or_else(|| Error::Protocol {
            url: format!("{}/api/v2.0/robots/{id}", self.base),
            detail: "no secret in the answer".into(),
        })
    }

    /// Disables or enables a robot.
    pub async fn set_robot_disabled(&self, id: i64, disabled: bool) -> Result<()> {
        let changes = NewRobot {
            disable: Some(disabled),
            ..NewRobot::default()
        };
        self.update_robot(id, &changes).await
    }

    /// Changes a robot: the fields `changes` gives (`description`, `duration`,
    /// `disable`, `permissions`) replace the robot's; the rest stays.
    pub async fn update_robot(&self, id: i64, changes: &NewRobot) -> Result<()> {
        let body = serde_json::to_value(changes).map_err(|e| Error::Setup(e.to_string()))?;
        self.send(Method::PUT, &format!("/robots/{id}"), Some(body))
            .await
            .map(drop)
    }

    /// Deletes a robot.
    pub async fn delete_robot(&self, id: i64) -> Result<()> {
        self.send(Method::DELETE, &format!("/robots/{id}"), None)
            .await
            .map(drop)
    }

    // --- repositories

    /// A project's repositories.
    pub async fn repositories(&self, project: &str) -> Result<Vec<Repository>> {
        self.list(
            &format!("/projects/{}/repositories", encode(project)),
            usize::MAX,
        )
        .await
    }

    /// One repository by full name (`project/repo`).
    pub async fn repository(&self, full: &str) -> Result<Repository> {
        let (p, r) = repo_path(full)?;
        self.get(&format!("/projects/{p}/repositories/{r}")).await
    }

    /// Sets a repository's description.
    pub async fn describe_repository(&self, full: &str, description: &str) -> Result<()> {
        let (p, r) = repo_path(full)?;
        self.send(
            Method::PUT,
            &format!("/projects/{p}/repositories/{r}"),
            Some(json!({ "description": description })),
        )
        .await
        .map(drop)
    }

    /// Deletes a repository and its artifacts.
    pub async fn delete_repository(&self, full: &str) -> Result<()> {
        let (p, r) = repo_path(full)?;
        self.send(
            Method::DELETE,
            &format!("/projects/{p}/repositories/{r}"),
            None,
        )
        .await
        .map(drop)
    }

    // --- audit

    /// Audit entries, newest first, filtered by Harbor's `q` (e.g. `operation=delete`).
    pub async fn audit_logs(&self, q: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>> {
        let path = match q {
            Some(q) => format!("/audit-logs?q={}", encode(q)),
            None => "/audit-logs".into(),
        };
        self.list(&path, limit).await
    }
}

fn total_count(h: &HeaderMap) -> Option<u64> {
    h.get("x-total-count")?.to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_like_harbor_expects() {
        assert_eq!(encode("robot$team+ci"), "robot%24team%2Bci");
        assert_eq!(
            repo_path("team/a/b").unwrap(),
            ("team".into(), "a%252Fb".into())
        );
        assert!(repo_path("team").is_err());
        assert!(repo_path("/x").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = Credentials::new("robot$x", "s3cret-Value");
        assert!(!format!("{c:?}").contains("s3cret"));
        let r = CreatedRobot {
            id: 1,
            name: "robot$x".into(),
            secret: "s3cret-Value".into(),
            expires_at: -1,
            creation_time: String::new(),
        };
        assert!(!format!("{r:?}").contains("s3cret"));
    }

    #[test]
    fn urls_must_name_a_scheme() {
        let t = TlsOptions::default();
        assert!(Client::new("registry.example.com", None, &t).is_err());
        let c = Client::new("http://127.0.0.1:8080/", None, &t).unwrap();
        assert_eq!(c.base(), "http://127.0.0.1:8080");
    }
}
