//! The real `harbor` binary against the real server on loopback: login, projects, users,
//! members, robots (then a skopeo push with the robot's credentials), repositories, the
//! audit log, read-only mode, output formats and exit codes.

#[path = "../../harbor-server/tests/common/mod.rs"]
mod common;
#[path = "../../harbor-server/tests/e2e/layout.rs"]
#[allow(dead_code)]
mod layout;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{ADMIN_PASSWORD, TestServer};

/// Runs `harbor args...` with its config in `home`, `stdin` on standard input, on the
/// blocking pool (the server runs on the test's runtime).
async fn harbor(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("harbor").expect("the harbor binary");
    cmd.env_clear()
        .env("HARBOR_CONFIG", home.join("config.json"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(args)
        .write_stdin(stdin.to_owned());
    tokio::task::spawn_blocking(move || cmd.output().expect("run harbor"))
        .await
        .expect("join")
}

/// Asserts success and returns standard output.
async fn ok(home: &Path, args: &[&str], stdin: &str) -> String {
    let o = harbor(home, args, stdin).await;
    assert!(
        o.status.success(),
        "harbor {args:?} failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

/// Asserts failure with `code` and returns standard error.
async fn fails(home: &Path, args: &[&str], stdin: &str, code: i32) -> String {
    let o = harbor(home, args, stdin).await;
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "harbor {args:?}: {err}");
    err
}

async fn json(home: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&ok(home, &a, "").await).expect("JSON output")
}

/// `skopeo copy` of the layout's `v1` to `dest` (`host/repo:tag`) with `creds`.
fn skopeo_copy(skopeo: &str, layout: &Path, creds: &str, dest: &str) -> Output {
    std::process::Command::new(skopeo)
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", creds])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{dest}"))
        .output()
        .expect("run skopeo")
}

fn find_skopeo() -> Option<String> {
    let program = std::env::var("HARBOR_TEST_SKOPEO").unwrap_or_else(|_| "skopeo".into());
    match std::process::Command::new(&program)
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => Some(program),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("skopeo is required under CI=true: set HARBOR_TEST_SKOPEO")
        }
        _ => {
            eprintln!("SKIPPED: skopeo not found (set HARBOR_TEST_SKOPEO)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sets_up_a_project_and_a_robot_pushes() {
    let s = TestServer::start_strict().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let url = s.base.as_str();

    // Not logged in yet: a clear auth failure.
    let err = fails(h, &["project", "list"], "", 3).await;
    assert!(err.contains("harbor login"), "{err}");
    // A wrong password is refused and nothing is stored.
    let err = fails(
        h,
        &["login", url, "-u", "admin", "--password-stdin"],
        "nope\n",
        3,
    )
    .await;
    assert!(err.contains("credentials were refused"), "{err}");
    assert!(!h.join("config.json").exists());
    let out = ok(
        h,
        &["login", url, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    assert!(out.contains("Logged in"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(h.join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Projects.
    let id = ok(h, &["project", "create", "team", "-q"], "").await;
    assert!(id.trim().parse::<i64>().is_ok(), "{id}");
    let err = fails(h, &["project", "create", "team"], "", 1).await;
    assert!(err.contains("CONFLICT"), "{err}");
    let list = json(h, &["project", "list"]).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"team") && names.contains(&"library"),
        "{names:?}"
    );
    let table = ok(h, &["project", "list"], "").await;
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("team") && l.contains("false")),
        "{table}"
    );
    ok(h, &["project", "update", "team", "--public", "true"], "").await;
    let team = json(h, &["project", "show", "team"]).await;
    assert_eq!(team["metadata"]["public"], "true");
    let yaml = ok(h, &["project", "show", "team", "-o", "yaml"], "").await;
    assert!(yaml.contains("name: team"), "{yaml}");
    ok(h, &["project", "update", "team", "--public", "false"], "").await;
    fails(h, &["project", "show", "nope"], "", 4).await;

    // Users and members.
    ok(
        h,
        &["user", "create", "dev", "--email", "dev@example.com"],
        "Passw0rd-dev\n",
    )
    .await;
    let err = fails(
        h,
        &["user", "create", "weak", "--email", "w@example.com"],
        "short\n",
        1,
    )
    .await;
    assert!(err.contains("password"), "{err}");
    ok(h, &["member", "add", "team", "dev", "--role", "guest"], "").await;
    ok(h, &["member", "set-role", "team", "dev", "maintainer"], "").await;
    let members = json(h, &["member", "list", "team"]).await;
    let dev = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["entity_name"] == "dev")
        .unwrap();
    assert_eq!(dev["role_id"], 4);
    let users = ok(h, &["user", "list", "-q"], "").await;
    assert!(users.lines().any(|l| l == "dev"), "{users}");
    ok(h, &["user", "set-admin", "dev", "true"], "").await;
    let u = json(h, &["user", "list", "--name", "dev"]).await;
    assert_eq!(u[0]["sysadmin_flag"], true);
    ok(h, &["user", "set-admin", "dev", "false"], "").await;
    ok(h, &["user", "passwd", "dev"], "Passw0rd-new\n").await;

    // The other user, through the environment instead of the stored login.
    let mut as_dev = assert_cmd::Command::cargo_bin("harbor").unwrap();
    let o = as_dev
        .env_clear()
        .env("HARBOR_URL", url)
        .env("HARBOR_USERNAME", "dev")
        .env("HARBOR_PASSWORD", "Passw0rd-new")
        .env("HARBOR_CONFIG", h.join("none.json"))
        .args(["user", "list"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "non-admins cannot list users");

    // A robot: created with its secret printed once; its login name has a `$`.
    let robot = json(
        h,
        &[
            "robot",
            "create",
            "--project",
            "team",
            "--name",
            "ci",
            "--permission",
            "push",
            "--permission",
            "pull",
        ],
    )
    .await;
    let login = robot["name"].as_str().unwrap().to_owned();
    let secret = robot["secret"].as_str().unwrap().to_owned();
    assert_eq!(login, "robot$team+ci");
    let robot_id = robot["id"].as_i64().unwrap().to_string();
    let shown = json(h, &["robot", "show", &robot_id]).await;
    assert!(shown.get("secret").is_none(), "{shown}");
    let listed = ok(h, &["robot", "list", "--project", "team", "-q"], "").await;
    assert_eq!(listed.trim(), robot_id);
    fails(
        h,
        &[
            "robot",
            "create",
            "--project",
            "team",
            "--name",
            "x",
            "--permission",
            "read",
        ],
        "",
        2,
    )
    .await;

    // The robot logs in (its own config) and skopeo pushes with its credentials.
    let robot_home = tempfile::tempdir().unwrap();
    let rh = robot_home.path();
    ok(
        rh,
        &["login", url, "-u", &login, "--password-stdin"],
        &format!("{secret}\n"),
    )
    .await;
    if let Some(skopeo) = find_skopeo() {
        let work = tempfile::tempdir().unwrap();
        layout::write(work.path(), 50_000);
        let host = url.trim_start_matches("http://");
        let o = skopeo_copy(
            &skopeo,
            work.path(),
            &format!("{login}:{secret}"),
            &format!("{host}/team/app:v1"),
        );
        assert!(
            o.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let repos = json(h, &["repo", "list", "team"]).await;
        assert_eq!(repos[0]["name"], "team/app");
        assert_eq!(repos[0]["artifact_count"], 1);
        let shown = json(h, &["repo", "show", "team/app"]).await;
        assert_eq!(shown["name"], "team/app");
        // The push is in the audit log under the robot's name.
        let mut found = false;
        for _ in 0..50 {
            let entries = json(
                h,
                &["audit", "list", "--user", &login, "--operation", "create"],
            )
            .await;
            if entries.as_array().is_some_and(|e| !e.is_empty()) {
                found = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(found, "no audit entry of the robot's push");

        // Artifacts, tags, labels, immutability, copies.
        let arts = json(h, &["artifact", "list", "team/app"]).await;
        assert_eq!(arts.as_array().unwrap().len(), 1);
        assert_eq!(arts[0]["tags"][0]["name"], "v1");
        let digest = arts[0]["digest"].as_str().unwrap().to_owned();
        ok(h, &["artifact", "tag", "team/app:v1", "stable"], "").await;
        ok(h, &["label", "create", "release", "--project", "team"], "").await;
        ok(h, &["artifact", "label", "team/app:v1", "release"], "").await;
        let shown = json(h, &["artifact", "show", &format!("team/app@{digest}")]).await;
        let mut tags: Vec<&str> = shown["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        tags.sort();
        assert_eq!(tags, ["stable", "v1"]);
        assert_eq!(shown["labels"][0]["name"], "release");
        let table = ok(h, &["artifact", "show", "team/app:stable"], "").await;
        assert!(table.contains("linux amd64"), "{table}");
        let rule = ok(h, &["immutable", "add", "team", "--tags", "v*", "-q"], "").await;
        let err = fails(h, &["artifact", "untag", "team/app:v1", "v1"], "", 1).await;
        assert!(err.contains("immutable"), "{err}");
        let rules = json(h, &["immutable", "list", "team"]).await;
        assert_eq!(rules[0]["id"].to_string(), rule.trim());
        ok(h, &["immutable", "delete", "team", rule.trim()], "").await;
        ok(h, &["artifact", "untag", "team/app:v1", "stable"], "").await;
        ok(h, &["project", "create", "other"], "").await;
        ok(h, &["artifact", "copy", "team/app:v1", "other/copied"], "").await;
        let copied = json(h, &["artifact", "list", "other/copied"]).await;
        assert_eq!(copied[0]["digest"], digest.as_str());
        fails(h, &["artifact", "show", "team/app:nope"], "", 4).await;
        fails(h, &["artifact", "show", "team-app"], "", 2).await;

        // Quotas: a limit below what a new image needs refuses the robot's push.
        ok(h, &["quota", "set", "team", "1KiB"], "").await;
        let quotas = json(h, &["quota", "list"]).await;
        let team_q = quotas
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["ref"]["name"] == "team")
            .unwrap();
        assert_eq!(team_q["hard"]["storage"], 1024);
        let bigger = tempfile::tempdir().unwrap();
        layout::write(bigger.path(), 70_000);
        let o = skopeo_copy(
            &skopeo,
            bigger.path(),
            &format!("{login}:{secret}"),
            &format!("{host}/team/app:big"),
        );
        assert!(!o.status.success());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("exceed the configured upper limit"),
            "{stderr}"
        );
        let recount = json(h, &["quota", "recount", "team", "--dry-run"]).await;
        assert_eq!(recount["consistent"], true, "{recount}");
        ok(h, &["quota", "set", "team", "-1"], "").await;
        fails(h, &["quota", "set", "team", "lots"], "", 2).await;
        ok(h, &["artifact", "delete", "other/copied:v1"], "").await;
        ok(h, &["project", "delete", "other"], "").await;
        // Read-only mode refuses the robot's next push; the repository stays.
        let on = json(h, &["system", "read-only", "on"]).await;
        assert_eq!(on["read_only"], true);
        let o = skopeo_copy(
            &skopeo,
            work.path(),
            &format!("{login}:{secret}"),
            &format!("{host}/team/app:v2"),
        );
        assert!(!o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("read only"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = fails(h, &["repo", "delete", "team/app"], "", 3).await;
        assert!(err.contains("read only"), "{err}");
        ok(h, &["system", "read-only", "off"], "").await;
        ok(h, &["repo", "delete", "team/app"], "").await;
        fails(h, &["repo", "show", "team/app"], "", 4).await;
    }

    // Disabling the robot locks it out.
    ok(h, &["robot", "disable", &robot_id], "").await;
    fails(rh, &["project", "list"], "", 3).await;
    let new_secret = ok(h, &["robot", "refresh-secret", &robot_id, "-q"], "").await;
    assert!(new_secret.trim().len() >= 8 && new_secret.trim() != secret);
    ok(h, &["robot", "delete", &robot_id], "").await;
    fails(h, &["robot", "show", &robot_id], "", 4).await;

    // System and housekeeping.
    let info = json(h, &["system", "info"]).await;
    assert!(
        info["harbor_version"]
            .as_str()
            .unwrap()
            .starts_with("harbor-rs")
    );
    let health = ok(h, &["system", "health"], "").await;
    assert!(health.contains("healthy"), "{health}");
    ok(h, &["member", "remove", "team", "dev"], "").await;
    ok(h, &["user", "delete", "dev"], "").await;
    ok(h, &["project", "delete", "team"], "").await;
    fails(h, &["project", "show", "team"], "", 4).await;
    let out = ok(h, &["logout"], "").await;
    assert!(out.contains("Removed"), "{out}");
    assert!(!h.join("config.json").exists());
    fails(h, &["project", "list"], "", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_unreachable_servers_and_completions() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    fails(h, &["project"], "", 2).await;
    fails(h, &["member", "add", "p", "u", "--role", "boss"], "", 2).await;
    let err = fails(
        h,
        &[
            "--url",
            "registry.example.com",
            "-u",
            "a",
            "project",
            "list",
        ],
        "",
        3,
    )
    .await;
    assert!(err.contains("HARBOR_PASSWORD"), "{err}");
    let mut c = assert_cmd::Command::cargo_bin("harbor").unwrap();
    let o = c
        .env_clear()
        .env("HARBOR_CONFIG", h.join("c.json"))
        .env("HARBOR_URL", "http://127.0.0.1:9")
        .env("HARBOR_USERNAME", "admin")
        .env("HARBOR_PASSWORD", "x")
        .args(["project", "list"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot reach"));
    let bash = ok(h, &["completion", "bash"], "").await;
    assert!(
        bash.contains("harbor") && bash.contains("robot"),
        "completion script"
    );
    let help = ok(h, &["--help"], "").await;
    assert!(help.contains("Exit codes"), "{help}");
}
