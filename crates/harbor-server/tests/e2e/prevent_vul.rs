//! "Prevent vulnerable images from running" with real clients: the scanner's fixture
//! Debian image (15 findings) pushed, scanned by the built-in scanner registered as the
//! default (the way Harbor uses Trivy's adapter), then pulled with `skopeo copy` and
//! `podman pull` by a developer of the project: refused while unscanned and while the
//! findings at or above the severity are not allowlisted, with Harbor's message on the
//! client's stderr; let through by a project allowlist and by the system one (reused),
//! refused again once the list expires; an administrator always pulls.

use std::io::Read;
use std::time::Duration;

use harbor_api_model::scanner_adapter as spec;
use harbor_scanner::fixtures;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::{admin_creds, find_tool, run};

const KEY: &str = "adapter-k3y";
const TYPES: [&str; 3] = [
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];
const POLICY: &str = "cannot be pulled due to configured policy in 'Prevent images with \
                      vulnerability severity of \"High\" or higher from running.'";

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The uncompressed digest of a fixture layer (its `diff_id`), as podman checks it.
fn diff_id(layer: &[u8], media_type: &str) -> String {
    let mut plain = Vec::new();
    if media_type.ends_with("+gzip") {
        flate2::read::MultiGzDecoder::new(layer)
            .read_to_end(&mut plain)
            .unwrap();
    } else if media_type.ends_with("+zstd") {
        let mut source = layer;
        ruzstd::decoding::StreamingDecoder::new(&mut source)
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
    } else {
        plain = layer.to_vec();
    }
    sha256(&plain)
}

/// Pushes the fixture Debian image as `repo:1` with a config podman accepts.
pub(crate) async fn push_debian(srv: &TestServer, repo: &str) -> String {
    let layers = fixtures::debian_image();
    let diff_ids: Vec<String> = layers
        .iter()
        .zip(TYPES)
        .map(|(l, t)| diff_id(l, t))
        .collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = push_blob(srv, repo, &config).await;
    let mut descriptors = Vec::new();
    for (layer, media_type) in layers.iter().zip(TYPES) {
        let digest = push_blob(srv, repo, layer).await;
        descriptors.push(json!({"mediaType": media_type, "digest": digest, "size": layer.len()}));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let r = put_manifest(srv, repo, "1", OCI_MANIFEST, &manifest).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    sha256(&manifest)
}

async fn admin_call(srv: &TestServer, method: Method, path: &str, body: Option<Value>) {
    let r = send(&client(), srv, method, path, body).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// Scans `repo:1`; the findings.
async fn scan(srv: &TestServer, repo: &str) -> Vec<Value> {
    let (project, rest) = repo.split_once('/').unwrap();
    let path = format!("/api/v2.0/projects/{project}/repositories/{rest}/artifacts/1");
    admin_call(srv, Method::POST, &format!("{path}/scan"), None).await;
    for _ in 0..600 {
        let a: Value = client()
            .get(srv.url(&format!("{path}?with_scan_overview=true")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let o = &a["scan_overview"][spec::VULN_REPORT_V11];
        if o.is_object() && !matches!(o["scan_status"].as_str(), Some("Pending" | "Running")) {
            assert_eq!(o["scan_status"], "Success", "{o}");
            let reports: Value = client()
                .get(srv.url(&format!("{path}/additions/vulnerabilities")))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            return reports[spec::VULN_REPORT_V11]["vulnerabilities"]
                .as_array()
                .unwrap()
                .clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scan of {repo} did not finish");
}

/// The clients found, each pulling `image` with `creds`: skopeo into an OCI layout,
/// podman into its own store (vfs) in `work`.
struct Clients {
    skopeo: Option<String>,
    podman: Option<String>,
    work: tempfile::TempDir,
}

impl Clients {
    /// Pulls with every client; each one's (success, stderr).
    async fn pull(&self, image: &str, creds: &str) -> Vec<(bool, String)> {
        let mut out = Vec::new();
        if let Some(skopeo) = &self.skopeo {
            let dest = self.work.path().join("oci");
            let _ = std::fs::remove_dir_all(&dest);
            let o = run(
                skopeo,
                s(&[
                    "copy",
                    "--src-tls-verify=false",
                    "--src-creds",
                    creds,
                    &format!("docker://{image}"),
                    &format!("oci:{}:pulled", dest.display()),
                ]),
            )
            .await;
            out.push((
                o.status.success(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ));
        }
        if let Some(podman) = &self.podman {
            let store = self.work.path().join("store");
            let o = run(
                podman,
                s(&[
                    "--root",
                    &store.join("root").display().to_string(),
                    "--runroot",
                    &store.join("run").display().to_string(),
                    "--storage-driver",
                    "vfs",
                    "pull",
                    "--tls-verify=false",
                    "--creds",
                    creds,
                    image,
                ]),
            )
            .await;
            out.push((
                o.status.success(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ));
            // The next pull must fetch the manifest again, not find the image in store.
            let _ = run(
                podman,
                s(&[
                    "--root",
                    &store.join("root").display().to_string(),
                    "--runroot",
                    &store.join("run").display().to_string(),
                    "--storage-driver",
                    "vfs",
                    "rmi",
                    "--all",
                    "--force",
                ]),
            )
            .await;
        }
        out
    }

    /// Every client fails, showing `message` (skopeo logs it with its quotes escaped).
    async fn refused(&self, image: &str, creds: &str, message: &str) {
        for (ok, stderr) in self.pull(image, creds).await {
            assert!(!ok, "the pull of {image} went through");
            let shown = stderr.replace("\\\"", "\"");
            assert!(shown.contains(message), "expected {message:?} in {stderr}");
        }
    }

    async fn passes(&self, image: &str, creds: &str) {
        for (ok, stderr) in self.pull(image, creds).await {
            assert!(ok, "the pull of {image} failed: {stderr}");
        }
    }
}

fn allowlist(ids: &[String], expires_at: Option<i64>) -> Value {
    json!({
        "items": ids.iter().map(|id| json!({"cve_id": id})).collect::<Vec<_>>(),
        "expires_at": expires_at,
    })
}

#[tokio::test]
async fn skopeo_and_podman_pulls_under_prevent_vul() {
    let skopeo = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]);
    let podman = find_tool("HARBOR_TEST_PODMAN", "podman", &["--version"]);
    if skopeo.is_none() && podman.is_none() {
        return;
    }
    let clients = Clients {
        skopeo,
        podman,
        work: tempfile::tempdir().unwrap(),
    };
    let srv = TestServer::start_configured(|c| {
        c.remote.allow_loopback = true;
        c.scanner.adapter_api_key = Some(harbor_server::config::Secret(KEY.into()));
    })
    .await;
    let r = client()
        .put(srv.url("/api/v2.0/system/vulnerability-db"))
        .body(fixtures::osv_zip())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    admin_call(
        &srv,
        Method::POST,
        "/api/v2.0/scanners",
        Some(json!({
            "name": "Harbor-rs built-in",
            "url": srv.base,
            "auth": "X-ScannerAdapter-API-Key",
            "access_credential": KEY,
        })),
    )
    .await;
    create_project(&srv, "vul", false).await;
    create_user(&srv, "dev").await;
    add_member(&srv, "vul", "dev", 2).await;
    let dev = format!("dev:{PASSWORD}");
    push_debian(&srv, "vul/app").await;
    let image = format!("{}/vul/app:1", srv.addr);

    // Without the policy the developer pulls (podman unpacks the image: it is valid).
    clients.passes(&image, &dev).await;

    admin_call(
        &srv,
        Method::PUT,
        "/api/v2.0/projects/vul",
        Some(json!({"metadata": {"prevent_vul": "true", "severity": "high"}})),
    )
    .await;
    clients
        .refused(
            &image,
            &dev,
            &format!(
                "current image without vulnerability scanning {POLICY} To continue with pull, \
                 please contact your project administrator for help."
            ),
        )
        .await;
    // An administrator pulls anyway.
    clients.passes(&image, &admin_creds()).await;

    // Scanned (the scan robot pulls despite the policy): 15 findings refuse the pull.
    let findings = scan(&srv, "vul/app").await;
    assert_eq!(findings.len(), 15);
    let vulnerable = format!(
        "current image with 15 vulnerabilities {POLICY} To continue with pull, please contact \
         your project administrator to exempt matched vulnerabilities through configuring the \
         CVE allowlist."
    );
    clients.refused(&image, &dev, &vulnerable).await;
    let mut high: Vec<String> = findings
        .iter()
        .filter(|v| matches!(v["severity"].as_str(), Some("Critical" | "High")))
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    high.sort();
    high.dedup();

    // The project's own list covering everything at High or above.
    admin_call(
        &srv,
        Method::PUT,
        "/api/v2.0/projects/vul",
        Some(json!({
            "metadata": {"reuse_sys_cve_allowlist": "false"},
            "cve_allowlist": allowlist(&high, None),
        })),
    )
    .await;
    clients.passes(&image, &dev).await;

    // The system list, reused, likewise; expired, it counts for nothing.
    admin_call(
        &srv,
        Method::PUT,
        "/api/v2.0/system/CVEAllowlist",
        Some(allowlist(&high, None)),
    )
    .await;
    admin_call(
        &srv,
        Method::PUT,
        "/api/v2.0/projects/vul",
        Some(json!({
            "metadata": {"reuse_sys_cve_allowlist": "true"},
            "cve_allowlist": allowlist(&[], None),
        })),
    )
    .await;
    clients.passes(&image, &dev).await;
    admin_call(
        &srv,
        Method::PUT,
        "/api/v2.0/system/CVEAllowlist",
        Some(allowlist(&high, Some(1_000_000_000))),
    )
    .await;
    clients.refused(&image, &dev, &vulnerable).await;
    clients.passes(&image, &admin_creds()).await;
}
