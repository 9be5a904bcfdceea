//! The portal end to end in headless Chromium: sign in, create a project, push with
//! skopeo, find the image with its tag and pull command, add a member, create a robot
//! (its secret shown once), run garbage collection until it completes, refuse a forged
//! form, sign out. With `HARBOR_PORTAL_SCREENSHOTS=docs/portal` it refreshes the
//! screenshots the README shows.

use std::process::Command;

use crate::browser::Browser;
use crate::common::{self, ADMIN_PASSWORD, TestServer};
use crate::layout;

fn find_skopeo() -> Option<String> {
    let program = std::env::var("HARBOR_TEST_SKOPEO").unwrap_or_else(|_| "skopeo".into());
    match Command::new(&program).arg("--version").output() {
        Ok(o) if o.status.success() => Some(program),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("skopeo is required under CI=true: set HARBOR_TEST_SKOPEO")
        }
        _ => {
            harbor_storage::testing::skipped(
                "skopeo not found (set HARBOR_TEST_SKOPEO); pushing over HTTP",
            );
            None
        }
    }
}

/// Pushes the layout's `v1` image and its `multi` index to `repo` as the administrator;
/// returns the digest of `v1`.
async fn push(s: &TestServer, repo: &str) -> String {
    let Some(skopeo) = find_skopeo() else {
        return common::push_image(s, repo, "v1", 7).await.0;
    };
    let work = tempfile::tempdir().unwrap();
    layout::write(work.path(), 40_000);
    let host = s.base.trim_start_matches("http://");
    for (tag, all) in [("v1", false), ("multi", true)] {
        let mut cmd = Command::new(&skopeo);
        cmd.args(["copy", "--dest-tls-verify=false", "--dest-creds"])
            .arg(format!("admin:{ADMIN_PASSWORD}"));
        if all {
            cmd.arg("--all");
        }
        let o = cmd
            .arg(format!("oci:{}:{tag}", work.path().display()))
            .arg(format!("docker://{host}/{repo}:{tag}"))
            .output()
            .expect("run skopeo");
        assert!(
            o.status.success(),
            "skopeo copy {tag}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    layout::tagged(work.path(), "v1")
}

/// Pushes an OCI 1.1 referrer (a signature-like artifact) of `subject`; returns its digest.
async fn push_referrer(s: &TestServer, repo: &str, subject: &str) -> String {
    let empty = common::push_blob(s, repo, b"{}").await;
    let payload = format!("signature of {subject}");
    let layer = common::push_blob(s, repo, payload.as_bytes()).await;
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": common::OCI_MANIFEST,
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer, "size": payload.len()}],
        "subject": {"mediaType": common::OCI_MANIFEST, "digest": subject, "size": 1},
    }))
    .unwrap();
    let digest = common::sha256(&body);
    let resp = common::put_manifest(s, repo, &digest, common::OCI_MANIFEST, &body).await;
    assert_eq!(resp.status(), 201, "push the referrer");
    digest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_runs_the_registry_from_the_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let base = s.base.clone();

    // Signing in: a protected page sends the browser to the form, and back after it.
    b.goto(&format!("{base}/projects")).await;
    b.wait_for("#login").await;
    assert!(b.current_url().await.contains("/login?next="));
    b.fill("#username", "admin").await;
    b.fill("#password", "wrong-password").await;
    b.click("#login").await;
    b.wait_for_text("#error", "invalid").await;
    b.screenshot("login").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#whoami", "admin").await;
    assert!(b.current_url().await.ends_with("/projects"));

    // A project, created from the form.
    b.fill("#project-name", "webteam").await;
    b.submit_form("#new-project").await;
    b.wait_for_text("#project-title", "webteam").await;
    b.wait_for_text("#flash", "Project webteam created").await;
    b.wait_for_text("#repositories, .empty", "No repositories yet")
        .await;

    // An image pushed with skopeo shows up with its tag and pull command.
    let v1 = push(&s, "webteam/app").await;
    let signature = push_referrer(&s, "webteam/app", &v1).await;
    b.goto(&format!("{base}/projects")).await;
    b.wait_for_text("#projects", "webteam").await;
    b.screenshot("projects").await;
    b.click("#projects a[href='/projects/webteam']").await;
    b.wait_for_text("#repositories", "webteam/app").await;
    b.click("#repositories a").await;
    b.wait_for_text("#repo-title", "webteam/app").await;
    let artifacts = b.text("#artifacts").await;
    assert!(artifacts.contains("v1"), "{artifacts}");
    assert!(artifacts.contains("multi"), "{artifacts}");
    assert!(artifacts.contains("2 platforms"), "{artifacts}");
    let host = base.trim_start_matches("http://");
    let pull = b.text("#pull-command").await;
    assert!(
        pull.starts_with(&format!("docker pull {host}/webteam/app:")),
        "{pull}"
    );
    b.screenshot("repository").await;

    // The artifact's detail: its layers, config and tags; a tag added from the page.
    b.goto(&format!("{base}/artifact?repo=webteam/app&ref=v1"))
        .await;
    b.wait_for("#layers").await;
    assert!(b.text("#tags").await.contains("v1"));
    assert!(b.text("#config-digest").await.starts_with("sha256:"));
    let accessories = b.text("#accessories").await;
    assert!(accessories.contains(&signature), "{accessories}");
    b.fill("#add-tag input[name=tag]", "stable").await;
    b.submit_form("#add-tag").await;
    b.wait_for_text("#flash", "Tag stable added").await;
    assert!(b.text("#tags").await.contains("stable"));
    b.screenshot("artifact").await;

    // The multi-arch index lists its platforms; deleting it from the repository page
    // (after the confirmation) leaves its blobs for garbage collection.
    b.goto(&format!("{base}/artifact?repo=webteam/app&ref=multi"))
        .await;
    let children = b.text("#children").await;
    assert!(
        children.contains("linux/amd64") && children.contains("linux/arm64"),
        "{children}"
    );
    let multi = b.text("#digest").await;
    b.goto(&format!("{base}/repo?name=webteam/app")).await;
    b.accept_confirms().await;
    let index_row = format!("#artifacts form[action='/artifact/delete'] input[value='{multi}']");
    assert!(b.exists(&index_row).await);
    b.client()
        .execute(
            "document.querySelector(arguments[0]).form.requestSubmit()",
            vec![serde_json::json!(index_row)],
        )
        .await
        .expect("submit the delete form");
    b.wait_for_text("#flash", "deleted").await;
    assert!(!b.text("#artifacts").await.contains("multi"));

    // A member, added by username with a role.
    common::create_user(&s, "dana").await;
    b.goto(&format!("{base}/projects/webteam/members")).await;
    b.fill("#member-name", "dana").await;
    b.submit_form("#add-member").await;
    b.wait_for_text("#flash", "dana is now a developer").await;
    assert!(b.text("#members").await.contains("dana"));
    b.screenshot("members").await;

    // A robot account: the secret is on the answer page, and only there.
    b.goto(&format!("{base}/projects/webteam/robots")).await;
    b.fill("#robot-name-input", "ci").await;
    b.click("#new-robot input[value='repository:push']").await;
    b.submit_form("#new-robot").await;
    b.wait_for("#robot-secret").await;
    assert_eq!(b.text("#robot-name").await, "robot$webteam+ci");
    let secret = b.text("#robot-secret").await;
    assert!(secret.len() >= 8, "{secret}");
    b.screenshot("robot-created").await;
    let robot_can_log_in = common::anon_client()
        .get(s.url("/api/v2.0/users/current"))
        .basic_auth("robot$webteam+ci", Some(&secret))
        .send()
        .await
        .unwrap();
    // Robots cannot read /users/current, but their credentials are accepted (403, not 401).
    assert_eq!(robot_can_log_in.status(), 403);
    b.goto(&format!("{base}/projects/webteam/robots")).await;
    assert!(b.text("#robots").await.contains("robot$webteam+ci"));
    assert!(!b.exists("#robot-secret").await, "the secret is shown once");

    // Garbage collection, run from the page, followed until it completes.
    b.goto(&format!("{base}/admin/gc")).await;
    b.wait_for("#gc-run").await;
    b.fill("#gc-time-window", "0").await;
    b.submit_form("#gc-run").await;
    b.wait_for_text("#flash", "started").await;
    b.wait_for_text("#gc-history", "Success").await;
    b.screenshot("gc").await;
    b.click("#gc-history tr[data-run] a").await;
    b.wait_for_text("#gc-status", "Success").await;
    let deleted: u64 = b
        .text("#gc-blobs-deleted")
        .await
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(
        deleted >= 2,
        "the index's platform images were collected: {deleted}"
    );
    assert!(!b.text("#gc-log").await.trim().is_empty());

    // A forged form post (no session token) is refused and changes nothing.
    b.client()
        .execute(
            "const f = document.createElement('form'); f.method = 'post'; f.action = '/projects';
             for (const [k, v] of [['name', 'forged'], ['_csrf', 'not-the-token']]) {
               const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
             }
             document.body.appendChild(f); f.submit();",
            vec![],
        )
        .await
        .expect("run the forging script");
    b.wait_for_text("#error", "CSRF").await;
    let forged = common::client()
        .get(s.url("/api/v2.0/projects/forged"))
        .header("X-Is-Resource-Name", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404, "the forged post created nothing");

    // A phone-sized screen gets the same pages.
    b.set_window(390, 844).await;
    b.goto(&format!("{base}/projects/webteam/repositories"))
        .await;
    b.wait_for_text("#repositories", "webteam/app").await;
    b.screenshot("phone").await;
    b.set_window(1280, 900).await;

    // Signing out ends the session: protected pages ask for a sign-in again.
    b.goto(&format!("{base}/projects")).await;
    b.click("#logout").await;
    b.wait_for("#login").await;
    b.goto(&format!("{base}/projects/webteam/members")).await;
    b.wait_for("#login").await;
    assert!(b.current_url().await.contains("/login"));
    b.close().await;
}
