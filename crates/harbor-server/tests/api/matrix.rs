//! The permission matrix over HTTP: every subject (each role, a non-member, anonymous, a
//! system administrator, robots) against every guarded operation, on a private and a
//! public project. What should be allowed is computed from `harbor_core::rbac` (and the
//! robot rules in `harbor_auth`), not listed by hand.

use harbor_auth::Grants;
use harbor_auth::principal::robot_grants;
use harbor_core::identity::{Project as ProjectRecord, RobotAccess, RobotPermission};
use harbor_core::rbac::{Action, ProjectAccess, Resource, Role};
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::*;
use crate::support::*;

/// A guarded operation: what it needs, and how to perform it.
#[derive(Clone, Copy, Debug)]
enum Op {
    V2Pull,
    V2Tags,
    V2Push,
    V2Delete,
    ProjectRead,
    ProjectUpdate,
    MetadataUpdate,
    ProjectDeletable,
    MemberList,
    MemberRead,
    MemberCreate,
    MemberUpdate,
    MemberDelete,
    RobotList,
    RobotCreate,
    LogList,
    RepoList,
    RepoRead,
    RepoUpdate,
    RepoDelete,
    ArtifactList,
    ArtifactRead,
    TagList,
    TagCreate,
    TagDelete,
    ImmutableList,
    ImmutableCreate,
    LabelList,
    LabelCreate,
    ArtifactLabelAdd,
    ArtifactLabelRemove,
    ArtifactCopy,
    ArtifactDelete,
}

impl Op {
    const ALL: [Op; 33] = [
        Op::V2Pull,
        Op::V2Tags,
        Op::V2Push,
        Op::V2Delete,
        Op::ProjectRead,
        Op::ProjectUpdate,
        Op::MetadataUpdate,
        Op::ProjectDeletable,
        Op::MemberList,
        Op::MemberRead,
        Op::MemberCreate,
        Op::MemberUpdate,
        Op::MemberDelete,
        Op::RobotList,
        Op::RobotCreate,
        Op::LogList,
        Op::RepoList,
        Op::RepoRead,
        Op::RepoUpdate,
        Op::RepoDelete,
        Op::ArtifactList,
        Op::ArtifactRead,
        Op::TagList,
        Op::TagCreate,
        Op::TagDelete,
        Op::ImmutableList,
        Op::ImmutableCreate,
        Op::LabelList,
        Op::LabelCreate,
        Op::ArtifactLabelAdd,
        Op::ArtifactLabelRemove,
        Op::ArtifactCopy,
        Op::ArtifactDelete,
    ];

    /// The (resource, action) pairs the operation needs, all of them.
    fn needs(self) -> Vec<(Resource, Action)> {
        use Action::*;
        use Resource::*;
        let api = |r, a| vec![(Project, Read), (r, a)];
        match self {
            Op::V2Pull | Op::V2Tags => vec![(Repository, Pull)],
            Op::V2Push => vec![(Repository, Push)],
            Op::V2Delete => vec![(Repository, Delete)],
            Op::ProjectRead => vec![(Project, Read)],
            Op::ProjectUpdate => api(Project, Update),
            Op::MetadataUpdate => vec![(Project, Read), (Project, Update), (Metadata, Update)],
            Op::ProjectDeletable => api(Project, Delete),
            Op::MemberList => api(Member, List),
            Op::MemberRead => api(Member, Read),
            Op::MemberCreate => api(Member, Create),
            Op::MemberUpdate => api(Member, Update),
            Op::MemberDelete => api(Member, Delete),
            Op::RobotList => api(Robot, List),
            Op::RobotCreate => api(Robot, Create),
            Op::LogList => api(Log, List),
            // Reading one repository needs `list`, as in Harbor.
            Op::RepoList | Op::RepoRead => api(Repository, List),
            Op::RepoUpdate => api(Repository, Update),
            Op::RepoDelete => api(Repository, Delete),
            Op::ArtifactList => api(Artifact, List),
            Op::ArtifactRead => api(Artifact, Read),
            Op::TagList => api(Tag, List),
            Op::TagCreate => api(Tag, Create),
            Op::TagDelete => api(Tag, Delete),
            // Harbor: create in the target, read in the source (the same project here).
            Op::ArtifactCopy => vec![(Project, Read), (Artifact, Create), (Artifact, Read)],
            Op::ArtifactDelete => api(Artifact, Delete),
            Op::ImmutableList => api(ImmutableTag, List),
            Op::ImmutableCreate => api(ImmutableTag, Create),
            Op::LabelList => api(Label, List),
            Op::LabelCreate => api(Label, Create),
            Op::ArtifactLabelAdd => api(ArtifactLabel, Create),
            Op::ArtifactLabelRemove => api(ArtifactLabel, Delete),
        }
    }

    fn is_registry(self) -> bool {
        matches!(self, Op::V2Pull | Op::V2Tags | Op::V2Push | Op::V2Delete)
    }
}

/// Who performs the operations.
struct Subject {
    label: String,
    client: Client,
    authenticated: bool,
    grants: Grants,
    /// Robots may only grant what they hold (robot creation).
    holds_pull: bool,
}

fn rbac(access: ProjectAccess) -> Grants {
    Grants::Rbac(access)
}

fn perms(project: &str, access: &[(Resource, Action)]) -> Vec<RobotPermission> {
    vec![RobotPermission {
        kind: "project".into(),
        namespace: project.into(),
        access: access
            .iter()
            .map(|(r, a)| RobotAccess {
                resource: r.as_str().into(),
                action: a.as_str().into(),
                effect: String::new(),
            })
            .collect(),
    }]
}

/// Per-subject targets for destructive operations, prepared by the administrator.
struct Fixture {
    project: String,
    project_id: i64,
    member_id: i64,
    victim_mid: i64,
    /// A repository the subject may delete (`<project>/gone<n>`).
    victim_repo: String,
    /// An artifact of `<project>/art` tagged `a<n>` and `d<n>`, for artifact and tag
    /// operations.
    art_digest: String,
    digest: String,
    new_user: String,
    /// Global labels: one to attach to `a<n>`, one attached to it already.
    add_label: i64,
    remove_label: i64,
}

async fn prepare(s: &TestServer, project: &str, project_id: i64, n: usize) -> Fixture {
    let victim = format!("victim-{project}-{n}");
    create_user(s, &victim).await;
    let victim_mid = add_member(s, project, &victim, 3).await;
    let new_user = format!("newbie-{project}-{n}");
    create_user(s, &new_user).await;
    let repo = format!("{project}/app");
    let (digest, _) = push_image(s, &repo, &format!("t{n}"), (n % 200) as u8 + 20).await;
    let victim_repo = format!("gone{n}");
    push_image(s, &format!("{project}/{victim_repo}"), "v", 1).await;
    let art = format!("{project}/art");
    let (art_digest, _) = push_image(s, &art, &format!("a{n}"), (n % 200) as u8 + 20).await;
    push_image(s, &art, &format!("d{n}"), (n % 200) as u8 + 20).await;
    let path = format!("/api/v2.0/projects/{project}/members?page_size=100");
    let members: Vec<serde_json::Value> = get_json(&client(), s, &path).await;
    let member_id = members[0]["id"].as_i64().unwrap();
    let mut labels = Vec::new();
    for kind in ["add", "rm"] {
        let resp = admin(
            s,
            reqwest::Method::POST,
            "/api/v2.0/labels",
            Some(json!({"name": format!("{kind}-{project}-{n}"), "scope": "g"})),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        labels.push(location_id(&resp));
    }
    let resp = admin(
        s,
        reqwest::Method::POST,
        &format!("/api/v2.0/projects/{project}/repositories/art/artifacts/a{n}/labels"),
        Some(json!({"id": labels[1]})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    Fixture {
        project: project.into(),
        project_id,
        member_id,
        victim_mid,
        victim_repo,
        art_digest,
        digest,
        new_user,
        add_label: labels[0],
        remove_label: labels[1],
    }
}

async fn perform(s: &TestServer, c: &Client, f: &Fixture, op: Op, n: usize) -> StatusCode {
    let p = &f.project;
    let art = format!("/api/v2.0/projects/{p}/repositories/art");
    let req = match op {
        Op::V2Pull => c.get(s.url(&format!("/v2/{p}/app/manifests/base"))),
        Op::V2Tags => c.get(s.url(&format!("/v2/{p}/app/tags/list"))),
        Op::V2Push => c.post(s.url(&format!("/v2/{p}/app/blobs/uploads/"))),
        Op::V2Delete => c.delete(s.url(&format!("/v2/{p}/app/manifests/{}", f.digest))),
        Op::ProjectRead => c.get(s.url(&format!("/api/v2.0/projects/{p}"))),
        Op::ProjectUpdate => c.put(s.url(&format!("/api/v2.0/projects/{p}"))).json(&json!({})),
        Op::MetadataUpdate => {
            let public = f.project.starts_with("pub");
            c.put(s.url(&format!("/api/v2.0/projects/{p}")))
                .json(&json!({"metadata": {"public": public.to_string()}}))
        }
        Op::ProjectDeletable => c.get(s.url(&format!("/api/v2.0/projects/{p}/_deletable"))),
        Op::MemberList => c.get(s.url(&format!("/api/v2.0/projects/{p}/members"))),
        Op::MemberRead => c.get(s.url(&format!("/api/v2.0/projects/{p}/members/{}", f.member_id))),
        Op::MemberCreate => c
            .post(s.url(&format!("/api/v2.0/projects/{p}/members")))
            .json(&json!({"role_id": 3, "member_user": {"username": f.new_user}})),
        Op::MemberUpdate => c
            .put(s.url(&format!("/api/v2.0/projects/{p}/members/{}", f.victim_mid)))
            .json(&json!({"role_id": 5})),
        Op::MemberDelete => c.delete(s.url(&format!("/api/v2.0/projects/{p}/members/{}", f.victim_mid))),
        Op::RobotList => c.get(s.url(&format!("/api/v2.0/robots?q=ProjectID%3D{}", f.project_id))),
        Op::RobotCreate => c.post(s.url("/api/v2.0/robots")).json(&json!({
            "name": format!("made-{n}"),
            "level": "project",
            "permissions": [{"kind": "project", "namespace": p, "access": [{"resource": "repository", "action": "pull"}]}],
        })),
        Op::LogList => c.get(s.url(&format!("/api/v2.0/projects/{p}/logs"))),
        Op::RepoList => c.get(s.url(&format!("/api/v2.0/projects/{p}/repositories"))),
        Op::RepoRead => c.get(s.url(&format!("/api/v2.0/projects/{p}/repositories/app"))),
        Op::RepoUpdate => c
            .put(s.url(&format!("/api/v2.0/projects/{p}/repositories/app")))
            .json(&json!({"description": format!("by subject {n}")})),
        Op::RepoDelete => c.delete(s.url(&format!(
            "/api/v2.0/projects/{p}/repositories/{}",
            f.victim_repo
        ))),
        Op::ArtifactList => c.get(s.url(&format!("{art}/artifacts"))),
        Op::ArtifactRead => c.get(s.url(&format!("{art}/artifacts/a{n}"))),
        Op::TagList => c.get(s.url(&format!("{art}/artifacts/a{n}/tags"))),
        Op::TagCreate => c
            .post(s.url(&format!("{art}/artifacts/a{n}/tags")))
            .json(&json!({"name": format!("c{n}")})),
        Op::TagDelete => c.delete(s.url(&format!("{art}/artifacts/a{n}/tags/d{n}"))),
        Op::ArtifactCopy => c.post(s.url(&format!(
            "/api/v2.0/projects/{p}/repositories/copied/artifacts?from={p}/art:a{n}"
        ))),
        Op::ArtifactDelete => c.delete(s.url(&format!("{art}/artifacts/{}", f.art_digest))),
        Op::ImmutableList => c.get(s.url(&format!("/api/v2.0/projects/{p}/immutabletagrules"))),
        Op::ImmutableCreate => c
            .post(s.url(&format!("/api/v2.0/projects/{p}/immutabletagrules")))
            .json(&json!({
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": format!("never-{n}")}],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]},
            })),
        Op::LabelList => c.get(s.url(&format!(
            "/api/v2.0/labels?scope=p&project_id={}",
            f.project_id
        ))),
        Op::LabelCreate => c.post(s.url("/api/v2.0/labels")).json(&json!({
            "name": format!("made-{n}"), "scope": "p", "project_id": f.project_id,
        })),
        Op::ArtifactLabelAdd => c
            .post(s.url(&format!("{art}/artifacts/a{n}/labels")))
            .json(&json!({"id": f.add_label})),
        Op::ArtifactLabelRemove => c.delete(s.url(&format!(
            "{art}/artifacts/a{n}/labels/{}",
            f.remove_label
        ))),
    };
    req.send().await.unwrap().status()
}

/// The status a denied operation answers with.
fn denial(sub: &Subject, op: Op) -> StatusCode {
    if !sub.authenticated {
        StatusCode::UNAUTHORIZED
    } else if op.is_registry() {
        StatusCode::FORBIDDEN
    } else if !sub.grants.allows(Resource::Project, Action::Read) {
        // The project is hidden from callers who may not read it.
        StatusCode::NOT_FOUND
    } else {
        StatusCode::FORBIDDEN
    }
}

async fn subjects(s: &TestServer, project: &str, public: bool) -> Vec<Subject> {
    let mut out = Vec::new();
    let user = |label: String, name: &str, pw: &str, grants: Grants| Subject {
        label: format!("{label} {name}:{pw}"),
        client: as_user(name, pw),
        authenticated: true,
        grants,
        holds_pull: true,
    };
    out.push(Subject {
        label: "anonymous".into(),
        client: anon_client(),
        authenticated: false,
        grants: rbac(ProjectAccess {
            public,
            ..Default::default()
        }),
        holds_pull: false,
    });
    out.push(user(
        "sysadmin".into(),
        "admin",
        ADMIN_PASSWORD,
        rbac(ProjectAccess {
            sysadmin: true,
            public,
            ..Default::default()
        }),
    ));
    let outsider = format!("outsider-{project}");
    create_user(s, &outsider).await;
    out.push(user(
        "non-member".into(),
        &outsider,
        PASSWORD,
        rbac(ProjectAccess {
            public,
            ..Default::default()
        }),
    ));
    out
}

#[tokio::test]
async fn every_role_against_every_operation_on_a_private_project() {
    let s = TestServer::start_strict().await;
    let project = "mx";
    let project_id = create_project(&s, project, false).await;
    let mut subs = subjects(&s, project, false).await;
    for role in Role::ALL {
        let name = format!("{}-{project}", role.name().to_lowercase());
        create_user(&s, &name).await;
        add_member(&s, project, &name, role.id()).await;
        subs.push(Subject {
            label: format!("{} {name}:{PASSWORD}", role.name()),
            client: as_user(&name, PASSWORD),
            authenticated: true,
            grants: rbac(ProjectAccess {
                roles: vec![role],
                ..Default::default()
            }),
            holds_pull: true,
        });
    }
    // Robots with assorted permissions.
    let target = ProjectRecord {
        id: project_id,
        name: project.into(),
        owner_id: 1,
        owner_name: "admin".into(),
        public: false,
        metadata: Default::default(),
        registry_id: None,
        created_ms: 0,
        updated_ms: 0,
    };
    use Action::*;
    use Resource::*;
    for (n, access) in [
        vec![(Repository, Pull)],
        vec![(Repository, Push)],
        vec![
            (Repository, Push),
            (Repository, Delete),
            (Project, Read),
            (Member, List),
            (Member, Read),
        ],
        vec![
            (Project, Read),
            (Robot, Create),
            (Robot, List),
            (Log, List),
            (Repository, Pull),
        ],
        vec![
            (Project, Read),
            (Project, Update),
            (Metadata, Update),
            (Member, Create),
            (Member, Update),
            (Member, Delete),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let pairs: Vec<(&str, &str)> = access
            .iter()
            .map(|(r, a)| (r.as_str(), a.as_str()))
            .collect();
        let (_, login, secret) = create_robot(&s, project, &format!("bot{n}"), &pairs).await;
        let p = perms(project, &access);
        let holds_pull = robot_grants(&p, &target).contains(&(Repository, Pull));
        subs.push(Subject {
            label: format!("robot {login}:{secret}"),
            client: as_user(&login, &secret),
            authenticated: true,
            grants: Grants::Robot {
                allowed: robot_grants(&p, &target),
                public: false,
            },
            holds_pull,
        });
    }
    let checked = run(&s, project, project_id, subs).await;
    assert_eq!(checked, (3 + Role::ALL.len() + 5) * Op::ALL.len());
}

async fn run(s: &TestServer, project: &str, project_id: i64, subjects: Vec<Subject>) -> usize {
    push_image(s, &format!("{project}/app"), "base", 1).await;
    let mut checked = 0;
    let mut failures = Vec::new();
    for (n, sub) in subjects.iter().enumerate() {
        let f = prepare(s, project, project_id, n).await;
        for op in Op::ALL {
            let mut allowed = op.needs().iter().all(|(r, a)| sub.grants.allows(*r, *a));
            if matches!(op, Op::RobotCreate) && !sub.holds_pull {
                allowed = false;
            }
            let status = perform(s, &sub.client, &f, op, n).await;
            let ok = if allowed {
                status.is_success()
            } else {
                status == denial(sub, op)
            };
            if !ok {
                failures.push(format!(
                    "{} {op:?}: got {status}, expected {}",
                    sub.label.split(':').next().unwrap_or_default(),
                    if allowed {
                        "success".to_owned()
                    } else {
                        denial(sub, op).to_string()
                    }
                ));
            }
            checked += 1;
        }
        if sub.authenticated {
            let (u, pw) = sub
                .label
                .split_once(' ')
                .map(|(_, c)| c.split_once(':').unwrap())
                .unwrap();
            let scope = format!("repository:{project}/app:pull,push,delete");
            let t = token(s, Some((u, pw)), &scope).await;
            let got = granted(&t, &format!("{project}/app"));
            let want: Vec<&str> = [
                (Action::Pull, "pull"),
                (Action::Push, "push"),
                (Action::Delete, "delete"),
            ]
            .into_iter()
            .filter(|(a, _)| sub.grants.allows(Resource::Repository, *a))
            .map(|(_, n)| n)
            .collect();
            if got != want {
                failures.push(format!(
                    "{}: token grants {got:?}, expected {want:?}",
                    sub.label
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    checked
}

#[tokio::test]
async fn outsiders_against_every_operation_on_a_public_project() {
    let s = TestServer::start_strict().await;
    let project_id = create_project(&s, "pubmx", true).await;
    let subs = subjects(&s, "pubmx", true).await;
    let checked = run(&s, "pubmx", project_id, subs).await;
    assert_eq!(checked, 3 * Op::ALL.len());
}
