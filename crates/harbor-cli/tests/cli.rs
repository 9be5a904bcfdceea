//! The real `harbor` binary against the real server on loopback: login, projects, users,
//! members, robots (then a skopeo push with the robot's credentials), repositories, the
//! audit log, read-only mode, output formats and exit codes; garbage collection,
//! retention, the audit purge and storage check as jobs, and the offline admin commands.

#[path = "../../harbor-server/tests/common/mod.rs"]
mod common;
#[path = "../../harbor-server/tests/e2e/layout.rs"]
#[allow(dead_code)]
mod layout;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use common::{ADMIN_PASSWORD, TestServer};

/// Runs `harbor args...` with its config in `home`, `stdin` on standard input, on the
/// blocking pool (the server runs on the test's runtime).
async fn harbor(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("harbor").expect("the harbor binary");
    cmd.env_clear()
        .env("HARBOR_CLI_CONFIG", home.join("config.json"))
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
            harbor_storage::testing::skipped("skopeo not found (set HARBOR_TEST_SKOPEO)");
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
    // Metadata: set, shown, refused by name when the server cannot honour it, removed.
    ok(
        h,
        &[
            "project",
            "meta-set",
            "team",
            "severity=high",
            "auto_scan=false",
        ],
        "",
    )
    .await;
    let meta = json(h, &["project", "meta", "team"]).await;
    assert_eq!(
        meta,
        json!({"public": "false", "severity": "high", "auto_scan": "false"})
    );
    let err = fails(
        h,
        &["project", "meta-set", "team", "proxy_referrer_api=true"],
        "",
        1,
    )
    .await;
    assert!(
        err.contains("proxy_referrer_api") && err.contains("not supported yet"),
        "{err}"
    );
    ok(h, &["project", "meta-unset", "team", "severity"], "").await;
    let meta = json(h, &["project", "meta", "team"]).await;
    assert_eq!(meta, json!({"public": "false", "auto_scan": "false"}));
    let shown = json(h, &["project", "show", "team"]).await;
    assert_eq!(shown["metadata"]["auto_scan"], "false");
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
    let dev = json(h, &["user", "show", "dev"]).await;
    assert_eq!(dev["email"], "dev@example.com");
    assert_eq!(dev["sysadmin_flag"], false);
    fails(h, &["user", "show", "nobody"], "", 4).await;
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
        .env("HARBOR_CLI_CONFIG", h.join("none.json"))
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
    // Updated: description and lifetime; its permissions stay those it was given.
    let updated = json(
        h,
        &[
            "robot",
            "update",
            &robot_id,
            "--description",
            "CI pushes",
            "--duration",
            "7",
        ],
    )
    .await;
    assert_eq!(updated["description"], "CI pushes");
    assert_eq!(updated["duration"], 7);
    assert_eq!(updated["permissions"], shown["permissions"]);
    fails(h, &["robot", "update", &robot_id], "", 2).await;
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
        let described = json(h, &["repo", "describe", "team/app", "The app"]).await;
        assert_eq!(described["description"], "The app");
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
        let label = ok(
            h,
            &["label", "create", "release", "--project", "team", "-q"],
            "",
        )
        .await;
        ok(
            h,
            &[
                "label",
                "update",
                label.trim(),
                "--color",
                "#00ff00",
                "--description",
                "shipped",
            ],
            "",
        )
        .await;
        let labels = json(h, &["label", "list", "--project", "team"]).await;
        assert_eq!(labels[0]["color"], "#00ff00");
        assert_eq!(labels[0]["description"], "shipped");
        assert_eq!(labels[0]["name"], "release");
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
        ok(h, &["artifact", "unlabel", "team/app:v1", "release"], "").await;
        let shown = json(h, &["artifact", "show", "team/app:v1"]).await;
        assert!(
            shown["labels"].as_array().is_none_or(|l| l.is_empty()),
            "{shown}"
        );
        let rule = ok(h, &["immutable", "add", "team", "--tags", "v*", "-q"], "").await;
        let err = fails(h, &["artifact", "untag", "team/app:v1", "v1"], "", 1).await;
        assert!(err.contains("immutable"), "{err}");
        let rules = json(h, &["immutable", "list", "team"]).await;
        assert_eq!(rules[0]["id"].to_string(), rule.trim());
        // Disabled, the rule no longer protects the tag; enabled again, it does.
        ok(h, &["immutable", "disable", "team", rule.trim()], "").await;
        let rules = json(h, &["immutable", "list", "team"]).await;
        assert_eq!(rules[0]["disabled"], true);
        ok(h, &["artifact", "tag", "team/app:v1", "v9"], "").await;
        ok(h, &["artifact", "untag", "team/app:v1", "v9"], "").await;
        ok(h, &["immutable", "enable", "team", rule.trim()], "").await;
        let err = fails(h, &["artifact", "untag", "team/app:v1", "v1"], "", 1).await;
        assert!(err.contains("immutable"), "{err}");
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

    // System settings: changed as JSON values, shown with whether each can change.
    ok(
        h,
        &[
            "system",
            "config-set",
            "token_expiration=45",
            "banner_message=Hello all",
        ],
        "",
    )
    .await;
    let cfg = json(h, &["system", "config"]).await;
    assert_eq!(
        cfg["token_expiration"],
        json!({"value": 45, "editable": true})
    );
    assert_eq!(cfg["banner_message"]["value"], "Hello all");
    assert_eq!(cfg["robot_name_prefix"]["editable"], false);
    let err = fails(h, &["system", "config-set", "ldap_url=http://x"], "", 1).await;
    assert!(err.contains("ldap_url must be an LDAP address"), "{err}");

    // Disabling the robot locks it out.
    ok(h, &["robot", "disable", &robot_id], "").await;
    fails(rh, &["project", "list"], "", 3).await;
    let new_secret = ok(h, &["robot", "refresh-secret", &robot_id, "-q"], "").await;
    assert!(new_secret.trim().len() >= 8 && new_secret.trim() != secret);
    // Enabled again, it logs in with the refreshed secret (the old one is refused).
    ok(h, &["robot", "enable", &robot_id], "").await;
    fails(rh, &["project", "list"], "", 3).await;
    ok(
        rh,
        &["login", url, "-u", &login, "--password-stdin"],
        &format!("{}\n", new_secret.trim()),
    )
    .await;
    ok(rh, &["project", "list"], "").await;
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
    // Global labels: created, listed (ids with -q), deleted.
    let gid = ok(
        h,
        &["label", "create", "hotfix", "--color", "#ff0000", "-q"],
        "",
    )
    .await;
    let gid = gid.trim().to_owned();
    let labels = json(h, &["label", "list"]).await;
    let hotfix = labels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "hotfix")
        .expect("the new global label is listed");
    assert_eq!(hotfix["id"].to_string(), gid);
    assert_eq!(hotfix["scope"], "g");
    let ids = ok(h, &["label", "list", "-q"], "").await;
    assert!(ids.lines().any(|l| l == gid), "{ids}");
    ok(h, &["label", "delete", &gid], "").await;
    let ids = ok(h, &["label", "list", "-q"], "").await;
    assert!(!ids.lines().any(|l| l == gid), "{ids}");
    fails(h, &["label", "delete", &gid], "", 4).await;
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
        .env("HARBOR_CLI_CONFIG", h.join("c.json"))
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
    // A reader that goes away early (`harbor completion bash | head`) is no error.
    let bin = assert_cmd::cargo::cargo_bin("harbor");
    let mut child = std::process::Command::new(bin)
        .args(["completion", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("panicked"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_file_is_the_clis_own() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // A server configuration named by HARBOR_CONFIG is never touched by the CLI.
    let server_toml = h.join("harbor.toml");
    let server = "listen = \"127.0.0.1:5000\"\n";
    std::fs::write(&server_toml, server).unwrap();
    let login = |config: &Path| {
        let mut cmd = assert_cmd::Command::cargo_bin("harbor").unwrap();
        cmd.env_clear()
            .env("HARBOR_CONFIG", &server_toml)
            .env("HARBOR_CLI_CONFIG", config)
            .args(["login", &s.url(""), "-u", "admin", "--password-stdin"])
            .write_stdin(format!("{ADMIN_PASSWORD}\n"));
        cmd
    };
    let mut ok_login = login(&h.join("cli.json"));
    let o = tokio::task::spawn_blocking(move || ok_login.output().unwrap())
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(h.join("cli.json").exists());
    assert_eq!(std::fs::read_to_string(&server_toml).unwrap(), server);
    // Pointed at a file that is not a login, it refuses to replace it.
    let mut clash = login(&server_toml);
    let o = tokio::task::spawn_blocking(move || clash.output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a harbor CLI login file"), "{err}");
    assert_eq!(std::fs::read_to_string(&server_toml).unwrap(), server);
}

/// Migrations this build knows for the engine of `database_url`.
fn known_migrations(database_url: &str) -> usize {
    let engine = if database_url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../harbor-storage/migrations")
        .join(engine);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count()
}

/// Each run the server's job queue holds, by its `harbor gc history` id.
fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_retention_purge_fsck_and_offline_admin() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(
        h,
        &["login", &s.base, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    let pid = ok(h, &["project", "create", "team", "-q"], "").await;
    let pid: i64 = pid.trim().parse().unwrap();

    // Garbage collection reclaims the blobs of a deleted image.
    common::push_image(&s, "team/tmp", "v1", 9).await;
    ok(h, &["artifact", "delete", "team/tmp:v1"], "").await;
    // Within the default 2-hour window the deleted image's blobs are kept, and said so.
    let kept = ok(h, &["gc", "run", "--wait"], "").await;
    assert!(
        kept.contains("0 blobs, 0 B freed")
            && kept.contains("blobs kept (")
            && kept.contains("younger than the time window of 2 h"),
        "{kept}"
    );
    let run = json(h, &["gc", "run", "--time-window", "0", "--wait"]).await;
    assert_eq!(run["job_status"], "Success", "{run}");
    assert_eq!(run["job_name"], "GARBAGE_COLLECTION");
    assert!(
        run["progress"]["blobs_deleted"].as_u64().unwrap() >= 2,
        "{run}"
    );
    assert!(run["progress"]["bytes_freed"].as_u64().unwrap() > 1000);
    assert_eq!(run["progress"]["blobs_kept_young"], 0, "{run}");
    let gc_id = run["id"].as_i64().unwrap();
    let params: Value = serde_json::from_str(run["job_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&params["time_window"], &params["delete_untagged"]),
        (&json!(0), &json!(true))
    );
    let history = json(h, &["gc", "history"]).await;
    assert!(ids(&history).contains(&gc_id), "{history}");
    let table = ok(h, &["gc", "show", &gc_id.to_string()], "").await;
    assert!(
        table.contains("status:") && table.contains("Success"),
        "{table}"
    );
    let log = ok(h, &["gc", "log", &gc_id.to_string()], "").await;
    assert!(log.contains("done in"), "{log}");
    // Stopping a finished run changes nothing, and says so; a missing one is not found.
    let out = ok(h, &["gc", "stop", &gc_id.to_string()], "").await;
    assert!(out.contains("had already ended (Success)"), "{out}");
    fails(h, &["gc", "show", "999999"], "", 4).await;
    // A dry run without waiting prints its id; it deletes nothing more.
    let id = ok(
        h,
        &[
            "gc",
            "run",
            "--dry-run",
            "--keep-untagged",
            "--workers",
            "3",
            "-q",
        ],
        "",
    )
    .await;
    let id: i64 = id.trim().parse().unwrap();
    assert!(id > gc_id);

    // The schedule.
    ok(h, &["gc", "schedule", "set", "daily", "--workers", "2"], "").await;
    let sched = json(h, &["gc", "schedule"]).await;
    assert_eq!(sched["schedule"]["type"], "Daily", "{sched}");
    assert_eq!(sched["schedule"]["cron"], "0 0 0 * * *");
    let params: Value = serde_json::from_str(sched["job_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["workers"], 2);
    let custom = json(
        h,
        &["gc", "schedule", "set", "custom", "--cron", "0 30 2 * * *"],
    )
    .await;
    assert_eq!(custom["schedule"]["cron"], "0 30 2 * * *", "{custom}");
    let all = json(h, &["system", "schedules"]).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "gc" && x["vendor_id"] == -1),
        "{all}"
    );
    ok(h, &["gc", "schedule", "none"], "").await;
    let sched = json(h, &["gc", "schedule"]).await;
    assert_eq!(sched["schedule"]["type"], "None", "{sched}");
    let queues = json(h, &["system", "queues"]).await;
    assert!(
        queues
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["job_type"] == "GARBAGE_COLLECTION"),
        "{queues}"
    );

    // Retention: keep the newest image of each repository.
    let mut digests = Vec::new();
    for (i, tag) in ["v1", "v2", "v3"].into_iter().enumerate() {
        let (d, _) = common::push_image(&s, "team/app", tag, 20 + i as u8).await;
        digests.push(d);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let none = ok(h, &["retention", "show", "team"], "").await;
    assert!(none.contains("no retention policy"), "{none}");
    fails(h, &["retention", "run", "team"], "", 4).await;
    let out = ok(h, &["retention", "set", "team", "--keep-latest", "2"], "").await;
    assert!(out.starts_with("Created"), "{out}");
    let project = json(h, &["project", "show", "team"]).await;
    let rid = project["metadata"]["retention_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Replaced from a file on standard input: keep only the newest.
    let policy = json!({
        "algorithm": "or",
        "rules": [{
            "disabled": false, "action": "retain", "template": "latestPushedK",
            "params": {"latestPushedK": 1},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "app"}]}
        }],
        "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
    });
    let out = ok(
        h,
        &["retention", "set", "team", "--file", "-"],
        &policy.to_string(),
    )
    .await;
    assert!(
        out.starts_with(&format!("Replaced retention policy {rid}")),
        "{out}"
    );
    let shown = json(h, &["retention", "show", "team"]).await;
    assert_eq!(shown["rules"][0]["params"]["latestPushedK"], 1, "{shown}");
    assert_eq!(shown["scope"]["ref"], pid);
    let dry = json(h, &["retention", "run", "team", "--dry-run", "--wait"]).await;
    assert_eq!(dry["execution"]["dry_run"], true, "{dry}");
    assert_eq!(
        json(h, &["artifact", "list", "team/app"])
            .await
            .as_array()
            .unwrap()
            .len(),
        3,
        "a dry run deletes nothing"
    );
    let done = json(h, &["retention", "run", "team", "--wait"]).await;
    assert_eq!(done["execution"]["status"], "Success", "{done}");
    let task = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["repository"] == "team/app")
        .unwrap_or_else(|| panic!("no task for team/app: {done}"));
    assert_eq!(
        (&task["retained"], &task["deleted"]),
        (&json!(1), &json!(2))
    );
    let left = json(h, &["artifact", "list", "team/app"]).await;
    let left: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["digest"].as_str().unwrap())
        .collect();
    assert_eq!(left, vec![digests[2].as_str()]);
    let runs = json(h, &["retention", "history", "team"]).await;
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    ok(h, &["retention", "delete", "team"], "").await;
    let none = ok(h, &["retention", "show", "team"], "").await;
    assert!(none.contains("no retention policy"), "{none}");

    // The audit purge and the storage check, as jobs.
    let purge = json(
        h,
        &["audit", "purge", "--keep-hours", "0", "--dry-run", "--wait"],
    )
    .await;
    assert_eq!(purge["job_status"], "Success", "{purge}");
    assert_eq!(purge["job_name"], "PURGE_AUDIT_LOG");
    assert_eq!(purge["progress"]["dry_run"], true);
    assert!(
        purge["progress"]["purged"].as_u64().unwrap() >= 1,
        "{purge}"
    );
    let fsck = json(h, &["system", "fsck", "--wait"]).await;
    assert_eq!(fsck["job_status"], "Success", "{fsck}");
    let p = &fsck["progress"];
    assert!(p["records"].as_u64().unwrap() >= 6, "{fsck}");
    assert_eq!(
        (
            &p["missing_count"],
            &p["orphan_count"],
            &p["size_mismatch_count"]
        ),
        (&json!(0), &json!(0), &json!(0)),
        "{fsck}"
    );
    // Their histories, and the purge's schedule.
    let purges = json(h, &["audit", "purge-history"]).await;
    assert_eq!(purges[0]["id"], purge["id"], "{purges}");
    let checks = json(h, &["system", "fsck-history"]).await;
    assert_eq!(checks[0]["id"], fsck["id"], "{checks}");
    let set = json(
        h,
        &[
            "audit",
            "purge-schedule",
            "set",
            "daily",
            "--keep-hours",
            "48",
        ],
    )
    .await;
    assert_eq!(set["schedule"]["type"], "Daily", "{set}");
    assert!(
        set["job_parameters"]
            .as_str()
            .is_some_and(|p| p.contains("\"audit_retention_hour\":48")),
        "{set}"
    );
    let shown = json(h, &["audit", "purge-schedule"]).await;
    assert_eq!(shown["schedule"]["type"], "Daily", "{shown}");
    ok(h, &["audit", "purge-schedule", "none"], "").await;
    let gone = json(h, &["audit", "purge-schedule"]).await;
    assert_eq!(gone["schedule"]["type"], "None", "{gone}");
    let err = fails(h, &["audit", "purge-schedule", "set", "custom"], "", 2).await;
    assert!(err.contains("--cron"), "{err}");

    // A system robot: system-level permissions, no project.
    let bot = json(
        h,
        &[
            "robot",
            "create",
            "--system",
            "--name",
            "auditor",
            "--permission",
            "audit-log:list",
        ],
    )
    .await;
    assert_eq!(bot["name"], "robot$auditor", "{bot}");
    let shown = json(h, &["robot", "show", &bot["id"].to_string()]).await;
    assert_eq!(shown["level"], "system", "{shown}");
    assert_eq!(shown["permissions"][0]["kind"], "system", "{shown}");
    assert_eq!(
        shown["permissions"][0]["access"][0]["resource"], "audit-log",
        "{shown}"
    );

    // Offline, with the server stopped: migrate, check storage, recount quotas, copy.
    let db = s.database_url();
    let storage = harbor_server::config::Config {
        data_dir: s.data_dir.clone(),
        ..Default::default()
    }
    .storage_url();
    let scaled = std::env::var("HARBOR_TEST_BACKEND").as_deref() == Ok("scaled");
    // On the scaled backend the throw-away database lives only as long as the server, so
    // the server keeps running there (these commands are safe beside it).
    let (_server, _tmp) = if scaled {
        (Some(s), None)
    } else {
        (None, s.stop().await)
    };
    let migrated = json(h, &["admin", "migrate", "--database-url", &db]).await;
    assert_eq!(
        migrated["schema_version"].as_u64(),
        Some(known_migrations(&db) as u64),
        "{migrated}"
    );
    if scaled {
        harbor_storage::testing::skipped(
            "admin fsck on S3 (the test bucket's credentials are not exported)",
        );
    } else {
        let report = json(
            h,
            &[
                "admin",
                "fsck",
                "--database-url",
                &db,
                "--storage-url",
                &storage,
            ],
        )
        .await;
        assert_eq!(report["missing_count"], 0, "{report}");
        assert_eq!(report["orphan_count"], 0, "{report}");
        assert_eq!(report["size_mismatch_count"], 0, "{report}");
        assert!(report["objects"].as_u64().unwrap() >= 6, "{report}");
        // An object nobody recorded is an orphan; --repair with no grace removes it.
        let stray = Path::new(storage.trim_start_matches("file://"))
            .join("blobs/sha256/00")
            .join("0".repeat(64));
        std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
        std::fs::write(&stray, b"stray").unwrap();
        let args = [
            "admin",
            "fsck",
            "--database-url",
            &db,
            "--storage-url",
            &storage,
            "--repair",
            "--grace-minutes",
            "0",
        ];
        let repaired = json(h, &args).await;
        assert_eq!(repaired["orphan_count"], 1, "{repaired}");
        assert_eq!(repaired["orphans_removed"], 1, "{repaired}");
        assert!(!stray.exists());
    }
    let quotas = json(h, &["admin", "recount-quota", "--database-url", &db]).await;
    let quotas = quotas.as_array().unwrap();
    assert!(quotas.iter().any(|q| q["project"] == "team"), "{quotas:?}");
    assert!(quotas.iter().all(|q| q["consistent"] == true), "{quotas:?}");
    let team = json(
        h,
        &[
            "admin",
            "recount-quota",
            "--database-url",
            &db,
            "--project",
            "team",
        ],
    )
    .await;
    assert_eq!(team.as_array().unwrap().len(), 1, "{team}");
    assert!(team[0]["recounted"].as_i64().unwrap() > 0, "{team}");
    fails(
        h,
        &[
            "admin",
            "recount-quota",
            "--database-url",
            &db,
            "--project",
            "nope",
        ],
        "",
        4,
    )
    .await;

    // A wrong path is no registry: refused (not found), and no empty database is made.
    let nowhere = h.join("nowhere").join("registry.db");
    let wrong = format!("sqlite://{}", nowhere.display());
    let args = [
        "admin",
        "fsck",
        "--database-url",
        &wrong,
        "--storage-url",
        &storage,
    ];
    let err = fails(h, &args, "", 4).await;
    assert!(err.contains("no registry database at"), "{err}");
    fails(
        h,
        &["admin", "recount-quota", "--database-url", &wrong],
        "",
        4,
    )
    .await;
    let args = ["admin", "reset-password", "--database-url", &wrong];
    fails(h, &args, "", 4).await;
    assert!(!nowhere.exists() && !nowhere.parent().unwrap().exists());

    // A lost admin password, reset from the machine holding the database: a generated
    // one (printed once), then one of our choosing; the old ones stop working.
    let reset = |extra: &'static [&'static str]| {
        let mut args = vec!["admin", "reset-password", "--database-url", &db];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let weak = reset(&["--password-stdin"]);
    let weak: Vec<&str> = weak.iter().map(String::as_str).collect();
    let err = fails(h, &weak, "short\n", 1).await;
    assert!(err.contains("password"), "{err}");
    let generated = reset(&["-o", "json"]);
    let generated: Vec<&str> = generated.iter().map(String::as_str).collect();
    let out = ok(h, &generated, "").await;
    let generated: Value = serde_json::from_str(&out).unwrap();
    let generated = generated["password"].as_str().unwrap().to_owned();
    assert!(generated.len() >= 16, "{generated}");
    let chosen = reset(&["--password-stdin"]);
    let chosen: Vec<&str> = chosen.iter().map(String::as_str).collect();
    ok(h, &chosen, "Reset-Passw0rd\n").await;
    let missing = reset(&["--username", "nobody"]);
    let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
    fails(h, &missing, "", 4).await;
    let store = std::sync::Arc::new(
        harbor_storage::SqlMetadataStore::connect_existing(&db, &Default::default())
            .await
            .unwrap(),
    );
    let accounts = harbor_auth::Accounts::new(store.clone(), "robot$");
    for (password, works) in [
        ("Reset-Passw0rd", true),
        (generated.as_str(), false),
        (ADMIN_PASSWORD, false),
    ] {
        let who = accounts.login("admin", password, None).await.unwrap();
        assert_eq!(who.is_some(), works, "admin with {password}");
    }
    store.close().await;

    if !scaled {
        let copy_dir = tempfile::tempdir().unwrap();
        let to = format!("sqlite://{}", copy_dir.path().join("copy.db").display());
        let copied = json(h, &["admin", "copy-metadata", "--from", &db, "--to", &to]).await;
        let projects = copied
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "projects")
            .unwrap_or_else(|| panic!("{copied}"));
        assert!(projects["rows"].as_u64().unwrap() >= 2, "{copied}");
        let again = ok(h, &["admin", "migrate", "--database-url", &to], "").await;
        assert!(again.contains("schema version"), "{again}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_and_admin_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for args in [
        &["gc", "run", "--workers", "11"][..],
        &["gc", "run", "--workers", "0"],
        &["gc", "schedule", "set", "monthly"],
        &["gc", "show", "abc"],
        &["retention", "set", "team"],
        &[
            "retention",
            "set",
            "team",
            "--file",
            "p.json",
            "--keep-latest",
            "1",
        ],
        &[
            "retention",
            "set",
            "team",
            "--file",
            "p.json",
            "--tags",
            "v*",
        ],
        &["admin", "migrate"],
        &["admin", "fsck", "--database-url", "sqlite:///tmp/x.db"],
        &["admin", "copy-metadata", "--from", "sqlite:///tmp/x.db"],
        &["admin", "migrate", "--database-url", "mysql://db/harbor"],
    ] {
        fails(h, args, "", 2).await;
    }
    // Checked before any request: no server is configured here.
    let missing = h.join("missing.json");
    let url = "http://127.0.0.1:9";
    let mut cmd = assert_cmd::Command::cargo_bin("harbor").unwrap();
    let o = cmd
        .env_clear()
        .env("HARBOR_CLI_CONFIG", h.join("c.json"))
        .env("HARBOR_URL", url)
        .env("HARBOR_USERNAME", "admin")
        .env("HARBOR_PASSWORD", "x")
        .args(["retention", "set", "team", "--file"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut cmd = assert_cmd::Command::cargo_bin("harbor").unwrap();
    let o = cmd
        .env_clear()
        .env("HARBOR_CLI_CONFIG", h.join("c.json"))
        .env("HARBOR_URL", url)
        .env("HARBOR_USERNAME", "admin")
        .env("HARBOR_PASSWORD", "x")
        .args(["gc", "schedule", "set", "custom"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let help = ok(h, &["gc", "run", "--help"], "").await;
    assert!(help.contains("--time-window"), "{help}");
}

/// `harbor registry ...` and `harbor replication ...` against two real servers: a
/// registry added with its secret on standard input, pinged, a push policy created, run
/// with --wait, its executions, tasks and logs listed; bad input refused.
#[tokio::test]
async fn registries_and_replication_from_the_command_line() {
    let src = TestServer::start_configured(|c| c.remote.allow_loopback = true).await;
    let dst = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(
        h,
        &["login", &src.base, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    common::push_image(&src, "library/cli", "v1", 3).await;

    let id = ok(
        h,
        &[
            "registry",
            "add",
            "dr",
            "--type",
            "harbor",
            "--endpoint",
            &dst.base,
            "--access-key",
            "admin",
            "--secret-stdin",
            "-q",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    let id = id.trim().to_owned();
    let out = ok(h, &["registry", "ping", "dr"], "").await;
    assert!(out.contains("healthy"), "{out}");
    let list = json(h, &["registry", "list"]).await;
    assert_eq!(list[0]["name"], "dr");
    assert_eq!(list[0]["status"], "healthy");
    assert_eq!(list[0]["credential"]["access_secret"], "*****");
    let shown = ok(h, &["registry", "show", &id], "").await;
    assert!(
        shown.contains("admin (basic)") && !shown.contains(ADMIN_PASSWORD),
        "{shown}"
    );
    let info = ok(h, &["registry", "info", "dr"], "").await;
    assert!(info.contains("event_based"), "{info}");
    let err = fails(
        h,
        &["registry", "add", "bad", "--endpoint", "ftp://x"],
        "",
        1,
    )
    .await;
    assert!(err.contains("http"), "{err}");
    let err = fails(
        h,
        &[
            "registry",
            "add",
            "bad",
            "--access-key",
            "u",
            "--endpoint",
            "https://x.example.com",
        ],
        "",
        2,
    )
    .await;
    assert!(err.contains("secret"), "{err}");

    let pid = ok(
        h,
        &[
            "replication",
            "policy",
            "create",
            "to-dr",
            "--to",
            "dr",
            "--name-filter",
            "library/**",
            "--tag-filter",
            "v*",
            "-q",
        ],
        "",
    )
    .await;
    let pid = pid.trim().to_owned();
    let policies = json(h, &["replication", "policy", "list"]).await;
    assert_eq!(policies[0]["name"], "to-dr");
    let out = ok(h, &["replication", "run", "to-dr", "--wait"], "").await;
    assert!(out.contains("Succeed"), "{out}");
    let executions = json(h, &["replication", "executions", "--policy", &pid]).await;
    let eid = executions[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(executions[0]["status"], "Succeed");
    let tasks = ok(h, &["replication", "tasks", &eid], "").await;
    assert!(
        tasks.contains("library/cli [1 item(s) in total]"),
        "{tasks}"
    );
    let logs = ok(h, &["replication", "logs", &eid], "").await;
    assert!(logs.contains("v1: copied"), "{logs}");
    let err = fails(h, &["registry", "delete", "dr"], "", 1).await;
    assert!(err.contains("replication policy"), "{err}");
    ok(
        h,
        &["replication", "policy", "enable", "to-dr", "--on", "false"],
        "",
    )
    .await;
    let err = fails(h, &["replication", "run", "to-dr"], "", 1).await;
    assert!(err.contains("disabled"), "{err}");
    ok(h, &["replication", "policy", "delete", "to-dr"], "").await;

    ok(h, &["registry", "delete", "dr"], "").await;
    assert_eq!(json(h, &["registry", "list"]).await, json!([]));

    // A proxy-cache project of a registry pulls through it.
    ok(
        h,
        &[
            "registry",
            "add",
            "upstream",
            "--type",
            "harbor",
            "--endpoint",
            &dst.base,
            "--access-key",
            "admin",
            "--secret-stdin",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    let (digest, _) = common::push_image(&dst, "library/up", "v1", 4).await;
    ok(
        h,
        &["project", "create", "cache", "--proxy-cache", "upstream"],
        "",
    )
    .await;
    let shown = ok(h, &["project", "show", "cache"], "").await;
    assert!(
        shown.contains("proxy cache of") && shown.contains("upstream"),
        "{shown}"
    );
    let resp = common::client()
        .get(src.url("/v2/cache/library/up/manifests/v1"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        common::header(resp.headers(), "docker-content-digest"),
        Some(digest.as_str())
    );
    let err = fails(h, &["registry", "delete", "upstream"], "", 1).await;
    assert!(err.contains("proxy-cache project"), "{err}");
}

/// `harbor scanner db ...`: the status before any import, a directory of OSV records
/// zipped and imported, a zip imported, a malformed archive refused (the database stays),
/// a non-administrator refused.
#[tokio::test]
async fn the_vulnerability_database_from_the_command_line() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(
        h,
        &["login", &s.base, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    let status = ok(h, &["scanner", "db", "status"], "").await;
    assert!(status.contains("harbor scanner db import"), "{status}");
    let dir = tempfile::tempdir().unwrap();
    harbor_scanner::fixtures::write_osv_dir(dir.path()).unwrap();
    let records = harbor_scanner::fixtures::osv_records().len() as u64;
    let dir_arg = dir.path().to_str().unwrap();
    let imported = json(
        h,
        &["scanner", "db", "import", dir_arg, "--source", "osv-dir"],
    )
    .await;
    assert_eq!(imported["imported"], true);
    assert_eq!(imported["records"], records);
    assert!(
        imported["source"]
            .as_str()
            .unwrap()
            .starts_with("osv-dir (")
    );
    let zip = dir.path().join("all.zip");
    std::fs::write(&zip, harbor_scanner::fixtures::osv_zip()).unwrap();
    let text = ok(h, &["scanner", "db", "import", zip.to_str().unwrap()], "").await;
    assert!(
        text.contains("all.zip") && text.contains("2026-11-01T00:00:00Z"),
        "{text}"
    );
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let err = fails(
        h,
        &["scanner", "db", "import", junk.to_str().unwrap()],
        "",
        1,
    )
    .await;
    assert!(err.contains("not a zip archive"), "{err}");
    let err = fails(h, &["scanner", "db", "import", "/no/such/path"], "", 2).await;
    assert!(err.contains("/no/such/path"), "{err}");
    let status = json(h, &["scanner", "db", "status"]).await;
    assert!(
        status["source"].as_str().unwrap().starts_with("all.zip ("),
        "the failed import changed nothing: {status}"
    );
    assert_eq!(status["advisories"], records - 1);
}

/// A server that registered its built-in scanner, the fixture database imported with
/// `harbor scanner db import`, the Debian fixture image (15 findings) as
/// `library/app:1`, and a CLI home signed in as the administrator.
async fn scanning_server() -> (TestServer, tempfile::TempDir) {
    let s = TestServer::start_configured(|c| c.scanner.builtin = true).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(
        h,
        &["login", &s.base, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    let zip = h.join("all.zip");
    std::fs::write(&zip, harbor_scanner::fixtures::osv_zip()).unwrap();
    ok(h, &["scanner", "db", "import", zip.to_str().unwrap()], "").await;
    let types = [
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    ];
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = common::push_blob(&s, "library/app", config).await;
    let mut layers = Vec::new();
    for (blob, media_type) in harbor_scanner::fixtures::debian_image()
        .into_iter()
        .zip(types)
    {
        let digest = common::push_blob(&s, "library/app", &blob).await;
        layers.push(json!({"mediaType": media_type, "digest": digest, "size": blob.len()}));
    }
    let manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": common::OCI_MANIFEST,
        "config": {"mediaType": common::OCI_CONFIG, "digest": config_digest, "size": config.len()}, "layers": layers})).unwrap();
    assert_eq!(
        common::put_manifest(&s, "library/app", "1", common::OCI_MANIFEST, &manifest)
            .await
            .status(),
        201
    );
    (s, home)
}

/// `harbor scan --wait` and `harbor vuln list` with the built-in scanner registered as the
/// default: the summary, the filtered list, a scan of a missing artifact.
#[tokio::test]
async fn scans_and_vulnerabilities_from_the_command_line() {
    let (_server, home) = scanning_server().await;
    let h = home.path();

    let summary = ok(h, &["scan", "library/app:1", "--wait"], "").await;
    assert!(
        summary.contains("Success") && summary.contains("Critical 4, High 1, Medium 1, Unknown 9"),
        "{summary}"
    );
    let high = json(h, &["vuln", "list", "library/app:1", "--severity", "high"]).await;
    let ids: Vec<&str> = high
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert_eq!(high[0]["severity"], "Critical");
    assert!(ids.contains(&"CVE-2021-23337"), "lodash's High: {ids:?}");
    let fixable = json(h, &["vuln", "list", "library/app:1", "--fixable"]).await;
    assert_eq!(fixable.as_array().unwrap().len(), 14);
    fails(
        h,
        &["vuln", "list", "library/app:1", "--severity", "awful"],
        "",
        2,
    )
    .await;
    fails(h, &["scan", "library/app:nope"], "", 4).await;

    // SBOMs: none yet, then one generated and printed or written.
    fails(h, &["sbom", "get", "library/app:1"], "", 4).await;
    ok(h, &["scan", "library/app:1", "--sbom", "--wait"], "").await;
    let printed = ok(h, &["sbom", "get", "library/app:1"], "").await;
    let doc: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let file = h.join("sbom.json");
    ok(
        h,
        &[
            "sbom",
            "get",
            "library/app:1",
            "--file",
            file.to_str().unwrap(),
        ],
        "",
    )
    .await;
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, doc);

    // Scan all: one image, scanned again; its schedule; nothing left to stop.
    let done = ok(h, &["scan-all", "run", "--wait"], "").await;
    assert!(done.contains("Success 1"), "{done}");
    let status = json(h, &["scan-all", "status"]).await;
    assert_eq!(status["total"], 1, "{status}");
    assert_eq!(status["ongoing"], false);
    let history = json(h, &["scan-all", "history"]).await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    let schedule = ok(h, &["scan-all", "schedule", "set", "daily"], "").await;
    assert!(schedule.contains("Daily"), "{schedule}");
    ok(h, &["scan-all", "schedule", "none"], "").await;
    let shown = json(h, &["scan-all", "schedule"]).await;
    assert_eq!(shown["schedule"]["type"], "None");
    fails(h, &["scan-all", "stop"], "", 1).await;
}

/// `harbor security summary|vulns` and `harbor cve-export create|list|get|download` on
/// the Debian fixture image scanned by the built-in scanner (the default).
#[tokio::test]
async fn the_security_hub_and_cve_exports_from_the_command_line() {
    let (s, home) = scanning_server().await;
    let h = home.path();
    ok(h, &["scan", "library/app:1", "--wait"], "").await;

    let summary = json(h, &["security", "summary"]).await;
    assert_eq!(summary["critical_cnt"], 4);
    assert_eq!(summary["total_vuls"], 15);
    assert_eq!(summary["dangerous_cves"][0]["cve_id"], "CVE-2021-44228");
    let text = ok(h, &["security", "summary"], "").await;
    assert!(
        text.contains("scanned artifacts:")
            && text.contains("1 of 1")
            && text.contains("CVE-2021-44228 10 (Critical)"),
        "{text}"
    );
    let critical = json(h, &["security", "vulns", "--severity", "critical"]).await;
    let ids: Vec<&str> = critical
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cve_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "CVE-2021-44228",
            "CVE-2024-0001",
            "CVE-2024-0001",
            "CVE-2021-25900"
        ]
    );
    assert_eq!(critical[0]["tags"], json!(["1"]));
    for (args, n) in [
        (vec!["--cve", "CVE-2024-0001"], 2),
        (vec!["--project", "library"], 15),
        (vec!["--project", "1", "--package", "openssl"], 2),
        (vec!["--score", "9~10"], 4),
        (vec!["--repository", "library/app", "--tag", "1"], 15),
        (vec!["--limit", "3"], 3),
    ] {
        let mut a = vec!["security", "vulns"];
        a.extend(&args);
        assert_eq!(json(h, &a).await.as_array().unwrap().len(), n, "{args:?}");
    }
    let table = ok(h, &["security", "vulns", "--cve", "CVE-2021-44228"], "").await;
    assert!(
        table.starts_with("SCORE") && table.contains("10.0") && table.contains("library/app:1"),
        "{table}"
    );
    fails(h, &["security", "vulns", "--severity", "awful"], "", 2).await;
    fails(h, &["security", "vulns", "--score", "7"], "", 2).await;

    // A CVE export, waited for, listed and downloaded.
    let e = json(
        h,
        &[
            "cve-export",
            "create",
            "library",
            "--name",
            "log4j and friends",
            "--cve-ids",
            "CVE-2021-*",
            "--wait",
        ],
    )
    .await;
    assert_eq!(e["status"], "Success", "{e}");
    let id = e["id"].as_i64().unwrap().to_string();
    let list = json(h, &["cve-export", "list"]).await;
    assert_eq!(list[0]["id"].to_string(), id);
    assert_eq!(list[0]["file_present"], true);
    let one = ok(h, &["cve-export", "get", &id], "").await;
    assert!(one.contains("Success") && one.contains("file:"), "{one}");
    let file = h.join("out.csv");
    ok(
        h,
        &["cve-export", "download", &id, "-f", file.to_str().unwrap()],
        "",
    )
    .await;
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Repository,Artifact Digest,CVE,Package,Current Version,Fixed in version,Severity,CWE Ids,Additional Data,Scanner"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("library/app,sha256:")
                && l.contains(",CVE-2021-")
                && l.ends_with(",Harbor-rs")),
        "{csv}"
    );
    assert_eq!(
        ok(h, &["cve-export", "download", &id, "-f", "-"], "").await,
        csv
    );
    // Without --wait: the id; nothing matched: no file to download.
    let started = json(
        h,
        &["cve-export", "create", "library", "--cve-ids", "CVE-1999-*"],
    )
    .await;
    let none = started["id"].as_i64().unwrap().to_string();
    let mut e = json(h, &["cve-export", "get", &none]).await;
    for _ in 0..100 {
        if e["status"] != "Running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        e = json(h, &["cve-export", "get", &none]).await;
    }
    assert_eq!(e["status_text"], "No vulnerabilities found or matched");
    fails(h, &["cve-export", "download", &none], "", 4).await;
    fails(h, &["cve-export", "create", "nope"], "", 4).await;

    // Others: the hub is for administrators, exports for their owner.
    common::create_user(&s, "dev").await;
    let other = tempfile::tempdir().unwrap();
    let o = other.path();
    ok(
        o,
        &["login", &s.base, "-u", "dev", "--password-stdin"],
        &format!("{}\n", common::PASSWORD),
    )
    .await;
    fails(o, &["security", "summary"], "", 3).await;
    fails(o, &["cve-export", "get", &id], "", 3).await;
    fails(o, &["cve-export", "create", "library"], "", 3).await;
    assert_eq!(json(o, &["cve-export", "list"]).await, json!([]));
}

/// `harbor user cli-secret` and `harbor config auth` for a user who signs in through a
/// real OIDC provider (see `harbor-server/tests/common/oidc.rs`): the CLI logs in with
/// the CLI secret, shows it, changes it.
#[tokio::test]
async fn cli_secrets_and_sign_in_settings() {
    let s = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let url = s.base.as_str();
    ok(
        h,
        &["login", url, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    // db_auth: only the mode is shown; the administrator has no CLI secret.
    let auth = json(h, &["config", "auth"]).await;
    assert_eq!(auth["auth_mode"]["value"], "db_auth");
    assert!(auth.get("oidc_endpoint").is_none(), "{auth}");
    let err = fails(h, &["user", "cli-secret"], "", 2).await;
    assert!(err.contains("does not sign in through OIDC"), "{err}");

    let Some(p) =
        common::oidc::OidcProvider::start(&s, common::oidc::ProviderOptions::default()).await
    else {
        return;
    };
    common::oidc::configure(
        &s,
        &p,
        json!({"oidc_auto_onboard": true, "oidc_user_claim": "preferred_username"}),
    )
    .await;
    let auth = json(h, &["config", "auth"]).await;
    assert_eq!(auth["auth_mode"]["value"], "oidc_auth");
    assert_eq!(auth["oidc_endpoint"]["value"], p.issuer.as_str());
    assert!(auth.get("oidc_client_secret").is_none(), "{auth}");
    assert!(auth.get("ldap_url").is_none(), "{auth}");
    let text = ok(h, &["config", "auth"], "").await;
    assert!(
        text.contains("oidc_client_id") && !text.contains(common::oidc::CLIENT_SECRET),
        "{text}"
    );

    let mut jar = common::oidc::Jar::default();
    common::oidc::sign_in(&mut jar, &s, "alice").await;
    let me: Value = common::oidc::get_with_jar(&jar, &s, "/api/v2.0/users/current")
        .await
        .json()
        .await
        .unwrap();
    let secret = me["oidc_user_meta"]["secret"].as_str().unwrap().to_owned();
    // The administrator sees alice's secret.
    let shown = json(h, &["user", "cli-secret", "alice"]).await;
    assert_eq!(shown["secret"], secret.as_str());

    // Alice logs in with it, sees it, changes it (a weak one is refused).
    let alice = tempfile::tempdir().unwrap();
    let a = alice.path();
    ok(
        a,
        &["login", url, "-u", "alice", "--password-stdin"],
        &format!("{secret}\n"),
    )
    .await;
    let shown = json(a, &["user", "cli-secret"]).await;
    assert_eq!(shown["secret"], secret.as_str());
    let err = fails(a, &["user", "cli-secret", "--set"], "weak\n", 1).await;
    assert!(err.contains("length"), "{err}");
    ok(a, &["user", "cli-secret", "--set"], "Brand-New-Secret-1\n").await;
    ok(h, &["user", "show", "alice"], "").await;
    let err = fails(a, &["project", "list"], "", 3).await;
    assert!(err.contains("harbor login"), "{err}");
    ok(
        a,
        &["login", url, "-u", "alice", "--password-stdin"],
        "Brand-New-Secret-1\n",
    )
    .await;
    ok(a, &["project", "list"], "").await;
}
