//! Who may push and pull, seen through real clients on a server with production access
//! defaults (`TestServer::start_strict`: a push needs an existing project). Users, projects,
//! members and robots are set up through the REST API as the administrator; skopeo and the
//! `oras` SDK then sign in with their own credentials and go through the token flow.

use std::path::Path;
use std::process::Output;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::common::{
    OCI_MANIFEST, PASSWORD, TestServer, add_member, anon_client, as_user, client, create_project,
    create_robot, create_user, expect_error, header, put_manifest, send, sha256,
};
use crate::{admin_creds, find_tool, layout, oras, run};

fn skopeo() -> Option<String> {
    find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"])
}

/// `GET path` with `c`.
async fn get(c: &Client, srv: &TestServer, path: &str) -> Response {
    send(c, srv, Method::GET, path, None).await
}

/// A REST API request as the administrator.
async fn admin(srv: &TestServer, method: Method, path: &str, body: Option<Value>) -> Response {
    send(&client(), srv, method, path, body).await
}

/// `GET /service/token` for `scope` with Basic credentials.
async fn token_request(srv: &TestServer, user: &str, password: &str, scope: &str) -> Response {
    let path = format!("/service/token?service=harbor-registry&scope={scope}");
    get(&as_user(user, password), srv, &path).await
}

/// A project robot that may push and pull; returns (id, login name, secret).
async fn push_robot(srv: &TestServer, project: &str, name: &str) -> (i64, String, String) {
    let access = [("repository", "push"), ("repository", "pull")];
    let robot = create_robot(srv, project, name, &access).await;
    assert_eq!(robot.1, format!("robot${project}+{name}"));
    robot
}

/// `skopeo copy` of the layout's `v1` into `<srv>/<repo>`; `creds` = `user:password`.
async fn push(skopeo: &str, srv: &TestServer, src: &Path, repo: &str, creds: &str) -> Output {
    run(
        skopeo,
        vec![
            "copy".into(),
            "--dest-tls-verify=false".into(),
            "--dest-creds".into(),
            creds.into(),
            format!("oci:{}:v1", src.display()),
            format!("docker://{}/{repo}", srv.addr),
        ],
    )
    .await
}

/// `skopeo copy` of `<srv>/<repo>` into an OCI layout at `dest` as `v1`; `None` pulls
/// anonymously (`--src-no-creds`).
async fn pull(
    skopeo: &str,
    srv: &TestServer,
    repo: &str,
    dest: &Path,
    creds: Option<&str>,
) -> Output {
    let mut args: Vec<String> = vec!["copy".into(), "--src-tls-verify=false".into()];
    match creds {
        Some(c) => args.extend(["--src-creds".into(), c.into()]),
        None => args.push("--src-no-creds".into()),
    }
    args.push(format!("docker://{}/{repo}", srv.addr));
    args.push(format!("oci:{}:v1", dest.display()));
    run(skopeo, args).await
}

/// A client that failed, for the reason an access check gives (not some other error).
fn assert_refused(out: &Output, what: &str) {
    assert!(!out.status.success(), "{what} must be refused");
    let err = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    assert!(
        ["unauthorized", "denied", "authentication required"]
            .iter()
            .any(|w| err.contains(w)),
        "{what}: refused for another reason: {err}"
    );
}

/// The manifest digest `repo:tag` has, as the administrator sees it (`None`: missing).
async fn digest_of(srv: &TestServer, repo: &str, tag: &str) -> Option<String> {
    let resp = client()
        .head(srv.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    match resp.status() {
        StatusCode::OK => header(resp.headers(), "docker-content-digest").map(str::to_owned),
        StatusCode::NOT_FOUND => None,
        s => panic!("HEAD {repo}:{tag} as admin: {s}"),
    }
}

#[tokio::test]
async fn skopeo_regular_user_pushes_and_pulls_a_private_project() {
    let Some(skopeo) = skopeo() else { return };
    let srv = TestServer::start_strict().await;
    create_user(&srv, "alice").await;
    create_user(&srv, "bob").await;
    create_project(&srv, "secret", false).await;
    add_member(&srv, "secret", "alice", 2).await;

    // What skopeo is told on its first request: where to fetch a token.
    let resp = get(&anon_client(), &srv, "/v2/").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let realm = format!(
        "Bearer realm=\"http://{}/service/token\",service=\"harbor-registry\"",
        srv.addr
    );
    assert_eq!(header(resp.headers(), "www-authenticate"), Some(&*realm));

    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = layout::write(&src, 200_000);
    let alice = format!("alice:{PASSWORD}");
    let bob = format!("bob:{PASSWORD}");

    // A developer of the project pushes and pulls through the token flow.
    let out = push(&skopeo, &srv, &src, "secret/app:v1", &alice).await;
    assert!(out.status.success(), "a developer pushes");
    assert_eq!(
        digest_of(&srv, "secret/app", "v1").await,
        Some(made.image.clone())
    );
    let back = work.path().join("alice");
    let out = pull(&skopeo, &srv, "secret/app:v1", &back, Some(&alice)).await;
    assert!(out.status.success(), "a developer pulls");
    assert_eq!(layout::tagged(&back, "v1"), made.image);
    assert_eq!(
        layout::blob(&back, &made.layer),
        layout::blob(&src, &made.layer)
    );

    // Someone who is not a member may do neither: nothing is written, nothing is read.
    let out = push(&skopeo, &srv, &src, "secret/app:bob", &bob).await;
    assert_refused(&out, "a non-member's push");
    assert_eq!(digest_of(&srv, "secret/app", "bob").await, None);
    let dest = work.path().join("bob");
    let out = pull(&skopeo, &srv, "secret/app:v1", &dest, Some(&bob)).await;
    assert_refused(&out, "a non-member's pull");
    assert!(!dest.join("index.json").exists());

    // A wrong password is refused too, even for a member.
    let (dest, wrong) = (work.path().join("wrong"), "alice:not-her-password");
    let out = pull(&skopeo, &srv, "secret/app:v1", &dest, Some(wrong)).await;
    assert_refused(&out, "a wrong password");
}

#[tokio::test]
async fn skopeo_project_robot_pushes_and_pulls_until_disabled() {
    let Some(skopeo) = skopeo() else { return };
    let srv = TestServer::start_strict().await;
    create_project(&srv, "builds", false).await;
    let (id, login, secret) = push_robot(&srv, "builds", "ci").await;
    let creds = format!("{login}:{secret}");

    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = layout::write(&src, 150_000);
    let out = push(&skopeo, &srv, &src, "builds/app:v1", &creds).await;
    assert!(out.status.success(), "the robot pushes");
    assert_eq!(
        digest_of(&srv, "builds/app", "v1").await,
        Some(made.image.clone())
    );
    let back = work.path().join("back");
    let out = pull(&skopeo, &srv, "builds/app:v1", &back, Some(&creds)).await;
    assert!(out.status.success(), "the robot pulls");
    assert_eq!(layout::tagged(&back, "v1"), made.image);

    // A token the robot holds from before it is disabled.
    let resp = token_request(&srv, &login, &secret, "repository:builds/app:pull").await;
    let token: Value = resp.json().await.unwrap();
    let token = token["token"].as_str().expect("a token").to_owned();
    let with_token = || {
        anon_client()
            .head(srv.url("/v2/builds/app/manifests/v1"))
            .header("accept", OCI_MANIFEST)
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(with_token().await.unwrap().status(), StatusCode::OK);

    // Disabled: the same credentials are refused, and so is the token already issued.
    let robot = format!("/api/v2.0/robots/{id}");
    let resp = admin(&srv, Method::PUT, &robot, Some(json!({"disable": true}))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let out = push(&skopeo, &srv, &src, "builds/app:v2", &creds).await;
    assert_refused(&out, "a disabled robot's push");
    assert_eq!(digest_of(&srv, "builds/app", "v2").await, None);
    let dest = work.path().join("disabled");
    let out = pull(&skopeo, &srv, "builds/app:v1", &dest, Some(&creds)).await;
    assert_refused(&out, "a disabled robot's pull");
    assert_eq!(
        with_token().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Re-enabled, it works again; deleted, it is gone for good.
    let resp = admin(&srv, Method::PUT, &robot, Some(json!({"disable": false}))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let dest = work.path().join("enabled");
    let out = pull(&skopeo, &srv, "builds/app:v1", &dest, Some(&creds)).await;
    assert!(out.status.success(), "the re-enabled robot pulls");
    let resp = admin(&srv, Method::DELETE, &robot, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let dest = work.path().join("deleted");
    let out = pull(&skopeo, &srv, "builds/app:v1", &dest, Some(&creds)).await;
    assert_refused(&out, "a deleted robot's pull");
}

#[tokio::test]
async fn skopeo_anonymous_pull_only_from_public_projects() {
    let Some(skopeo) = skopeo() else { return };
    let srv = TestServer::start_strict().await;
    create_project(&srv, "private", false).await;
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let made = layout::write(&src, 100_000);
    let admin = admin_creds();
    for repo in ["library/hello:v1", "private/hello:v1"] {
        let out = push(&skopeo, &srv, &src, repo, &admin).await;
        assert!(out.status.success(), "admin pushes {repo}");
    }

    // `library` is public: anyone may pull, through an anonymous token.
    let back = work.path().join("public");
    let out = pull(&skopeo, &srv, "library/hello:v1", &back, None).await;
    assert!(out.status.success(), "anonymous pull from a public project");
    assert_eq!(layout::tagged(&back, "v1"), made.image);
    assert_eq!(
        layout::blob(&back, &made.layer),
        layout::blob(&src, &made.layer)
    );

    // A private project's image is not shown to anonymous callers...
    let dest = work.path().join("private");
    let out = pull(&skopeo, &srv, "private/hello:v1", &dest, None).await;
    assert_refused(&out, "an anonymous pull from a private project");
    // ...and anonymous pushes go nowhere, not even into a public project.
    let out = run(
        &skopeo,
        vec![
            "copy".into(),
            "--dest-tls-verify=false".into(),
            "--dest-no-creds".into(),
            format!("oci:{}:v1", src.display()),
            format!("docker://{}/library/hello:anon", srv.addr),
        ],
    )
    .await;
    assert_refused(&out, "an anonymous push");
    assert_eq!(digest_of(&srv, "library/hello", "anon").await, None);
}

#[tokio::test]
async fn push_to_a_missing_project_is_refused() {
    let srv = TestServer::start_strict().await;

    // Straight to the manifest: 404 NAME_UNKNOWN, and no project appears.
    let config = b"{}";
    let manifest = crate::common::image_manifest((&sha256(config), config.len()), &[]);
    let resp = put_manifest(&srv, "nosuch/app", "v1", OCI_MANIFEST, &manifest).await;
    expect_error(resp, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
    let resp = get(&client(), &srv, "/api/v2.0/projects/nosuch").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // skopeo, even as the administrator, fails the same way.
    let Some(skopeo) = skopeo() else { return };
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    layout::write(&src, 50_000);
    let out = push(&skopeo, &srv, &src, "nosuch/app:v1", &admin_creds()).await;
    assert!(!out.status.success(), "push to a missing project must fail");
    let err = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    assert!(err.contains("nosuch not found"), "{err}");
    let resp = get(&client(), &srv, "/api/v2.0/projects/nosuch").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Once the project exists, the same push goes through.
    create_project(&srv, "nosuch", false).await;
    let out = push(&skopeo, &srv, &src, "nosuch/app:v1", &admin_creds()).await;
    assert!(out.status.success(), "push after the project is created");
}

/// Runs `oras_login.py` and returns the JSON it prints last.
async fn oras_login(python: &str, srv: &TestServer, repo: &str, user: &str, pw: &str) -> Value {
    let work = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/oras_login.py");
    let out = run(
        python,
        vec![
            script.to_owned(),
            srv.addr.to_string(),
            work.path().display().to_string(),
            repo.to_owned(),
            user.to_owned(),
            pw.to_owned(),
        ],
    )
    .await;
    assert!(out.status.success(), "oras script failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).expect("script prints JSON last")
}

#[tokio::test]
async fn oras_login_as_robot_then_push_and_pull() {
    let Some(python) = oras::python() else { return };
    let srv = TestServer::start_strict().await;
    create_project(&srv, "artifacts", false).await;
    let (_, login, secret) = push_robot(&srv, "artifacts", "oras").await;

    let r = oras_login(&python, &srv, "artifacts/notes", &login, &secret).await;
    assert_eq!(r["login"]["Status"], "Login Succeeded");
    assert_eq!(r["stored_hosts"], json!([srv.addr.to_string()]));
    assert_eq!(r["push_status"], 201, "{r}");
    assert_eq!(r["pulled_files"], json!(["artifact.txt"]), "{r}");
    assert_eq!(r["pulled_matches"], true);
    let resp = get(&client(), &srv, "/v2/artifacts/notes/tags/list").await;
    let tags: Value = resp.json().await.unwrap();
    assert_eq!(tags["tags"], json!(["v1"]));

    // A regular user who is a member logs in the same way.
    create_user(&srv, "carol").await;
    add_member(&srv, "artifacts", "carol", 2).await;
    let r = oras_login(&python, &srv, "artifacts/carol", "carol", PASSWORD).await;
    assert_eq!(r["push_status"], 201, "{r}");
    assert_eq!(r["pulled_matches"], true, "{r}");
}

#[tokio::test]
async fn oras_with_a_wrong_password_cannot_push_or_pull() {
    let Some(python) = oras::python() else { return };
    let srv = TestServer::start_strict().await;
    create_project(&srv, "artifacts", false).await;
    let (_, login, _) = push_robot(&srv, "artifacts", "oras").await;

    // oras-py's login only stores the credentials; the registry refuses them on use.
    let r = oras_login(&python, &srv, "artifacts/notes", &login, "Wrong-secret-1").await;
    assert!(r.get("push_status").is_none(), "{r}");
    for step in ["push_error", "pull_error"] {
        let why = r[step].as_str().unwrap_or_default();
        assert!(why.contains("authentication"), "{step}: {r}");
    }
    let resp = get(&client(), &srv, "/v2/artifacts/notes/tags/list").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "nothing was pushed");

    // The token service itself says why: oras-py tried the wrong secret several times,
    // so by now the login throttle refuses this account from this address (429) unless
    // it has not yet counted five failures (401).
    let scope = "repository:artifacts/notes:pull,push";
    let resp = token_request(&srv, &login, "Wrong-secret-1", scope).await;
    assert!(
        matches!(
            resp.status(),
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        ),
        "{}",
        resp.status()
    );
}
