//! Built-in HTTPS: the real binary with `HARBOR_TLS_CERT`/`HARBOR_TLS_KEY` from a test CA
//! made here with `rcgen`. Clients verify against that CA (skopeo and podman through a
//! `--cert-dir` holding `ca.crt`; never `--tls-verify=false`); one that does not trust it
//! is refused; HTTP/2 is negotiated by ALPN; SIGHUP swaps the certificate for new
//! connections and keeps the old one when the new files are broken.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SerialNumber,
};
use reqwest::{Certificate, Client, StatusCode, Version};
use serde_json::json;

use crate::common::{ADMIN_PASSWORD, basic, sha256};
use crate::layout::gzip_stored;
use crate::{admin_creds, find_tool, layout, run, start_server};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A test certificate authority.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost: (certificate PEM, DER, key PEM).
    fn server_cert(&self, serial: u64) -> (String, Vec<u8>, String) {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.serial_number = Some(SerialNumber::from(serial));
        params
            .distinguished_name
            .push(DnType::CommonName, format!("harbor test {serial}"));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), cert.der().to_vec(), key.serialize_pem())
    }

    /// A `--cert-dir` for containers tools: a directory holding this CA as `ca.crt`.
    fn cert_dir(&self, at: &Path) -> String {
        std::fs::create_dir_all(at).unwrap();
        std::fs::write(at.join("ca.crt"), self.pem()).unwrap();
        at.display().to_string()
    }

    /// An HTTPS client that trusts this CA only (and no system roots).
    fn client(&self) -> Client {
        Client::builder()
            .tls_certs_only([Certificate::from_pem(self.pem().as_bytes()).unwrap()])
            .tls_info(true)
            .build()
            .unwrap()
    }
}

/// The certificate files the server is given, rewritten to rotate it.
struct Files {
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new(dir: &Path) -> Self {
        Files {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        }
    }

    fn write(&self, cert: &str, key: &str) {
        std::fs::write(&self.cert, cert).unwrap();
        std::fs::write(&self.key, key).unwrap();
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HARBOR_TLS_CERT", self.cert.display().to_string()),
            ("HARBOR_TLS_KEY", self.key.display().to_string()),
        ]
    }
}

/// The binary serving HTTPS on `files`, its stderr in `log`; killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, files: &Files) -> Self {
        Self::start_with(dir, files, &[])
    }

    fn start_with(dir: &Path, files: &Files, extra: &[(&str, &str)]) -> Self {
        let log = dir.join("server.log");
        let env = files.env();
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra);
        let (child, base) = start_server(
            &dir.join("data"),
            &env,
            Stdio::from(std::fs::File::create(&log).unwrap()),
        );
        assert!(base.starts_with("https://127.0.0.1:"), "{base}");
        Server { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn host(&self) -> &str {
        self.base.trim_start_matches("https://")
    }

    fn sighup(&self) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(ok.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits until the log contains `needle` `times` times.
    async fn wait_log(&self, needle: &str, times: usize) {
        let start = Instant::now();
        while self.log().matches(needle).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The DER certificate a fresh connection of `client` is shown, and the HTTP version.
async fn presented(client: &Client, url: &str) -> Result<(Vec<u8>, Version), reqwest::Error> {
    let resp = client.get(url).send().await?;
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok((der, resp.version()))
}

#[tokio::test]
async fn https_speaks_http2_and_reloads_the_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let ca1 = Ca::new("harbor test CA 1");
    let (cert1, der1, key1) = ca1.server_cert(1);
    files.write(&cert1, &key1);
    let mut srv = Server::start(dir.path(), &files);

    // HTTP/2 by ALPN, verified against the test CA.
    let c1 = ca1.client();
    let (der, version) = presented(&c1, &srv.url("/v2/")).await.unwrap();
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(der, der1);
    // The registry routes work over HTTP/2, and the token realm names https and the
    // host from `:authority` (HTTP/2 sends no Host header).
    let resp = c1.get(srv.url("/v2/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(
        resp.headers()["www-authenticate"],
        format!(
            "Bearer realm=\"{}/service/token\",service=\"harbor-registry\"",
            srv.base
        )
        .as_str()
    );
    let admin = basic("admin", ADMIN_PASSWORD);
    let resp = c1
        .get(srv.url("/service/token?service=harbor-registry&scope=repository:library/x:pull"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token: serde_json::Value = resp.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let resp = c1
        .get(srv.url("/v2/library/x/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.version(), Version::HTTP_2);
    // A push over HTTP/2: upload, manifest, pull back.
    let digest = push(&c1, &srv.base, &admin, "tls/h2").await;
    let resp = c1
        .get(srv.url(&format!("/v2/tls/h2/manifests/{digest}")))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.version(), Version::HTTP_2);

    // A browser's sign-in over the server's own TLS gets a Secure session cookie.
    let browser = Client::builder()
        .tls_certs_only([Certificate::from_pem(ca1.pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser
        .post(srv.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &srv.base)
        .header("sec-fetch-site", "same-origin")
        .body(format!(
            "username=admin&password={ADMIN_PASSWORD}&next=%2Fprojects"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.version(), Version::HTTP_2);
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sid="))
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie
            .split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("secure")),
        "{cookie:?}"
    );

    // HTTP/1.1 clients are served too.
    let h1 = Client::builder()
        .tls_certs_only([Certificate::from_pem(ca1.pem().as_bytes()).unwrap()])
        .http1_only()
        .build()
        .unwrap();
    let resp = h1.get(srv.url("/v2/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.version(), Version::HTTP_11);

    // A client that does not trust the CA is refused, and plain HTTP gets nothing.
    let stranger = Ca::new("someone else");
    let err = stranger
        .client()
        .get(srv.url("/v2/"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    let plain = srv.url("/v2/").replace("https://", "http://");
    assert!(Client::new().get(&plain).send().await.is_err());

    // Rotation to a certificate from another CA: after SIGHUP new connections get it.
    let ca2 = Ca::new("harbor test CA 2");
    let (cert2, der2, key2) = ca2.server_cert(2);
    // A client with a connection from before (its pool keeps it).
    let pooled = ca1.client();
    assert_eq!(presented(&pooled, &srv.url("/v2/")).await.unwrap().0, der1);
    files.write(&cert2, &key2);
    let sent = Instant::now();
    srv.sighup();
    let c2 = ca2.client();
    let (der, version) = loop {
        if let Ok(seen) = presented(&c2, &srv.url("/v2/")).await {
            break seen;
        }
        assert!(sent.elapsed() < Duration::from_secs(10), "not reloaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    eprintln!("new certificate served {:?} after SIGHUP", sent.elapsed());
    assert_eq!(der, der2);
    assert_eq!(version, Version::HTTP_2);
    srv.wait_log("TLS certificate reloaded", 1).await;
    // New connections trusting only the old CA now fail; the old connection lives on.
    assert!(ca1.client().get(srv.url("/v2/")).send().await.is_err());
    assert_eq!(
        presented(&pooled, &srv.url("/v2/")).await.unwrap().0,
        der1,
        "an open connection keeps its certificate"
    );

    // Broken files on SIGHUP: logged, and the current certificate stays.
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    srv.sighup();
    srv.wait_log("TLS certificate not reloaded", 1).await;
    // A key that is not the certificate's.
    let (cert3, _, _) = ca2.server_cert(3);
    std::fs::write(&files.cert, &cert3).unwrap();
    srv.sighup();
    srv.wait_log("TLS certificate not reloaded", 2).await;
    // A missing key file.
    std::fs::write(&files.cert, &cert2).unwrap();
    std::fs::remove_file(&files.key).unwrap();
    srv.sighup();
    srv.wait_log("TLS certificate not reloaded", 3).await;
    let log = srv.log();
    assert!(log.contains("invalid certificate"), "{log}");
    assert!(log.contains("does not fit"), "{log}");
    assert!(log.contains("cannot read key"), "{log}");
    assert!(srv.running(), "the server keeps running");
    let (der, _) = presented(&ca2.client(), &srv.url("/v2/")).await.unwrap();
    assert_eq!(der, der2, "the last good certificate is still served");
}

/// A TLS connection that trusts `ca`, handshaken with ALPN `alpn`.
async fn tls_connect(
    ca: &Ca,
    addr: &str,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.issuer.der().clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// How long until the server closes `stream` when the client sends nothing.
async fn closed_after<S: tokio::io::AsyncRead + Unpin>(mut stream: S) -> Duration {
    use tokio::io::AsyncReadExt as _;
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return start.elapsed(),
            // HTTP/2 settings frames and the like.
            Ok(Ok(_)) => {}
            Err(_) => panic!("still open after 10 s"),
        }
    }
}

#[tokio::test]
async fn tls_connections_keep_the_idle_time_out_and_the_graceful_drain() {
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let ca = Ca::new("harbor test CA");
    let (cert, _, key) = ca.server_cert(1);
    files.write(&cert, &key);
    let mut srv = Server::start_with(
        dir.path(),
        &files,
        &[
            ("HARBOR_IDLE_TIMEOUT_SECS", "1"),
            ("HARBOR_HEADER_READ_TIMEOUT_SECS", "2"),
        ],
    );
    let host = srv.host().to_owned();
    // A client that connects and never starts the handshake, one that handshakes and sends
    // no request, one that speaks HTTP/2 and falls silent after the preface: each is
    // closed after the idle time-out (1 s), as on plain HTTP.
    let silent = tokio::net::TcpStream::connect(&host).await.unwrap();
    let t = closed_after(silent).await;
    eprintln!("a silent TCP connection closed after {t:?}");
    assert!(
        t >= Duration::from_millis(900) && t < Duration::from_secs(4),
        "{t:?}"
    );
    let t = closed_after(tls_connect(&ca, &host, b"http/1.1").await).await;
    eprintln!("a silent TLS connection closed after {t:?}");
    assert!(
        t >= Duration::from_millis(900) && t < Duration::from_secs(4),
        "{t:?}"
    );
    let mut h2 = tls_connect(&ca, &host, b"h2").await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    use tokio::io::AsyncWriteExt as _;
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let t = closed_after(h2).await;
    assert!(t < Duration::from_secs(4), "{t:?}");

    // SIGTERM while an upload streams over HTTP/2: it completes, then the process exits 0.
    let c = ca.client();
    let admin = basic("admin", ADMIN_PASSWORD);
    let resp = c
        .post(srv.url("/v2/tls/drain/blobs/uploads/"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let body = futures::stream::unfold(0u8, |i| async move {
        if i == 10 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i; 1000])),
            i + 1,
        ))
    });
    let patch = tokio::spawn(
        c.patch(srv.url(&loc))
            .header("authorization", &admin)
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = srv.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let resp = patch.await.unwrap().unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.headers()["range"], "0-9999");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = srv.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "clean exit, got {status:?}");
}

/// Pushes `repo:v1`, a one-layer image podman can unpack (the layer is an empty tar: two
/// zero blocks), with Basic credentials; returns the manifest digest.
async fn push(c: &Client, base: &str, auth: &str, repo: &str) -> String {
    let tar = [0u8; 1024];
    let layer = gzip_stored(&tar);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
        "config": {}
    }))
    .unwrap();
    let mut blobs = Vec::new();
    for bytes in [&config[..], &layer[..]] {
        let digest = sha256(bytes);
        let resp = c
            .post(format!("{base}/v2/{repo}/blobs/uploads/"))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let loc = resp.headers()["location"].to_str().unwrap().to_owned();
        let sep = if loc.contains('?') { '&' } else { '?' };
        let resp = c
            .put(format!("{base}{loc}{sep}digest={digest}"))
            .header("authorization", auth)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        blobs.push((digest, bytes.len()));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": crate::common::OCI_MANIFEST,
        "config": {"mediaType": crate::common::OCI_CONFIG, "digest": blobs[0].0, "size": blobs[0].1},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": blobs[1].0, "size": blobs[1].1}]
    }))
    .unwrap();
    let resp = c
        .put(format!("{base}/v2/{repo}/manifests/v1"))
        .header("authorization", auth)
        .header("content-type", crate::common::OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    sha256(&manifest)
}

#[tokio::test]
async fn skopeo_verifies_the_server_against_the_test_ca() {
    let Some(skopeo) = find_tool("HARBOR_TEST_SKOPEO", "skopeo", &["--version"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let ca = Ca::new("harbor test CA");
    let (cert, _, key) = ca.server_cert(1);
    files.write(&cert, &key);
    let srv = Server::start(dir.path(), &files);
    let certs = ca.cert_dir(&dir.path().join("certs"));
    let admin = admin_creds();
    let src = dir.path().join("src");
    let made = layout::write(&src, 3 * 1024 * 1024 + 7);
    let image = format!("docker://{}/tls/app:v1", srv.host());

    // Copy in and inspect, verifying the server's certificate against the test CA (the
    // token realm the registry names is https too, or this would fail).
    let out = run(
        &skopeo,
        s(&[
            "copy",
            "--dest-cert-dir",
            &certs,
            "--dest-creds",
            &admin,
            &format!("oci:{}:v1", src.display()),
            &image,
        ]),
    )
    .await;
    assert!(out.status.success(), "copy over HTTPS failed");
    let out = run(
        &skopeo,
        s(&["inspect", "--cert-dir", &certs, "--creds", &admin, &image]),
    )
    .await;
    assert!(out.status.success(), "inspect over HTTPS failed");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["Digest"], made.image.as_str());
    assert_eq!(info["Layers"], json!([made.layer]));
    // Copy back out: byte-identical blobs.
    let back = dir.path().join("back");
    let out = run(
        &skopeo,
        s(&[
            "copy",
            "--src-cert-dir",
            &certs,
            "--src-creds",
            &admin,
            &image,
            &format!("oci:{}:v1", back.display()),
        ]),
    )
    .await;
    assert!(out.status.success(), "copy out over HTTPS failed");
    assert_eq!(
        layout::blob(&back, &made.layer),
        layout::blob(&src, &made.layer)
    );

    // A client that trusts another CA (and the system roots) is refused.
    let other = Ca::new("someone else").cert_dir(&dir.path().join("other"));
    let out = run(
        &skopeo,
        s(&["inspect", "--cert-dir", &other, "--creds", &admin, &image]),
    )
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("certificate signed by unknown authority"),
        "{err}"
    );
}

/// `HARBOR_TEST_PODMAN`, else `podman` on `PATH` (required under `CI=true`, like skopeo;
/// `.ci/run` installs it).
fn podman() -> Option<String> {
    find_tool("HARBOR_TEST_PODMAN", "podman", &["--version"])
}

#[tokio::test]
async fn podman_pulls_verifying_the_test_ca() {
    let Some(podman) = podman() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let ca = Ca::new("harbor test CA");
    let (cert, _, key) = ca.server_cert(1);
    files.write(&cert, &key);
    let srv = Server::start(dir.path(), &files);
    let admin = basic("admin", ADMIN_PASSWORD);
    let digest = push(&ca.client(), &srv.base, &admin, "tls/pod").await;
    let certs = ca.cert_dir(&dir.path().join("certs"));
    // Podman's own store in the temporary directory (vfs: no overlay mount needed).
    let store = dir.path().join("store");
    let podman_args = |rest: &[&str]| {
        let mut a = s(&[
            "--root",
            &store.join("root").display().to_string(),
            "--runroot",
            &store.join("run").display().to_string(),
            "--storage-driver",
            "vfs",
        ]);
        a.extend(s(rest));
        a
    };
    let image = format!("{}/tls/pod:v1", srv.host());
    let out = run(
        &podman,
        podman_args(&[
            "pull",
            "--cert-dir",
            &certs,
            "--creds",
            &admin_creds(),
            &image,
        ]),
    )
    .await;
    assert!(out.status.success(), "podman pull over HTTPS failed");
    let out = run(
        &podman,
        podman_args(&["image", "inspect", "--format", "{{.Digest}}", &image]),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), digest);
    // Without the CA, podman refuses the server.
    let out = run(
        &podman,
        podman_args(&[
            "pull",
            "--cert-dir",
            &dir.path().join("empty").display().to_string(),
            "--creds",
            &admin_creds(),
            &format!("{}/tls/pod@{digest}", srv.host()),
        ]),
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate signed by unknown authority")
    );
}

/// Starts the binary with `env` and expects it to stop at once: returns its exit code
/// and stderr.
fn failed_start(dir: &Path, env: &[(&str, String)]) -> (Option<i32>, String) {
    let mut child = Command::new(crate::SERVER)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the server started despite {env:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

#[test]
fn bad_tls_settings_stop_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let ca = Ca::new("harbor test CA");
    let (cert, _, key) = ca.server_cert(1);
    let (_, _, other_key) = ca.server_cert(2);
    let cert_only = [("HARBOR_TLS_CERT", files.cert.display().to_string())];
    let (code, err) = failed_start(dir.path(), &cert_only);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("HARBOR_TLS_KEY"), "{err}");

    // Missing files, PEM that is not a certificate or key, a key of another certificate.
    let (code, err) = failed_start(dir.path(), &files.env());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot read certificate") && err.contains("tls.crt"),
        "{err}"
    );
    files.write("hello\n", &key);
    let (_, err) = failed_start(dir.path(), &files.env());
    assert!(
        err.contains("invalid certificate") && err.contains("no CERTIFICATE"),
        "{err}"
    );
    files.write(&cert, &cert);
    let (_, err) = failed_start(dir.path(), &files.env());
    assert!(
        err.contains("invalid key") && err.contains("no PRIVATE KEY"),
        "{err}"
    );
    files.write(&cert, &other_key);
    let (_, err) = failed_start(dir.path(), &files.env());
    assert!(err.contains("does not fit certificate"), "{err}");
    // Nothing was opened: the failure came before storage.
    assert!(!dir.path().join("data/registry.db").exists());
}

/// A registry endpoint on HTTPS with a private CA: refused without the CA, healthy with
/// it as `ca_certificate` (which replaces the system roots) or with `insecure`.
#[tokio::test]
async fn registry_pings_verify_against_the_endpoints_ca_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files = Files::new(dir.path());
    let ca = Ca::new("harbor remote test CA");
    let (cert, _, key) = ca.server_cert(1);
    files.write(&cert, &key);
    let srv = Server::start_with(
        dir.path(),
        &files,
        &[("HARBOR_REMOTE_ALLOW_LOOPBACK", "true")],
    );
    let c = ca.client();
    let admin = basic("admin", ADMIN_PASSWORD);
    let ping = |body: serde_json::Value| {
        let (c, admin, url) = (
            c.clone(),
            admin.clone(),
            srv.url("/api/v2.0/registries/ping"),
        );
        async move {
            let resp = c
                .post(url)
                .header("authorization", admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            (status, resp.text().await.unwrap())
        }
    };
    let base = srv.base.clone();
    let creds = serde_json::json!({"type": "harbor", "url": base, "access_key": "admin",
                                   "access_secret": ADMIN_PASSWORD});
    let (status, body) = ping(creds.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unhealthy"), "{body}");
    let mut with_ca = creds.clone();
    with_ca["ca_certificate"] = ca.pem().into();
    let (status, body) = ping(with_ca).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut other_ca = creds.clone();
    other_ca["ca_certificate"] = Ca::new("another CA").pem().into();
    let (status, body) = ping(other_ca).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut insecure = creds;
    insecure["insecure"] = true.into();
    let (status, body) = ping(insecure).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
