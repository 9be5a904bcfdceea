//! Shared test harness: the real server on an ephemeral loopback port, and helpers.
#![allow(dead_code)]

pub mod oidc;
pub mod receiver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use harbor_server::config::Config;
use harbor_server::serve::{ServeOptions, serve};
use harbor_server::{AppState, app};
use harbor_storage::testing::{TestBucket, TestDatabase};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256, Sha512};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The bootstrap administrator's password on every test server.
pub const ADMIN_PASSWORD: &str = "Harbor12345";

/// PostgreSQL + S3 for a server, when both are configured (see `harbor_storage::testing`).
pub struct Scaled {
    pub db: TestDatabase,
    pub bucket: TestBucket,
    /// The secret key every replica on this database shares (64 hex characters).
    pub secret_key: String,
}

impl Scaled {
    pub async fn create() -> Option<Self> {
        // Random enough for a throw-away database: the hash of this moment and process.
        let seed = format!("{:?} {}", std::time::SystemTime::now(), std::process::id());
        let secret_key = hex::encode(Sha256::digest(seed.as_bytes()));
        Some(Scaled {
            db: TestDatabase::create().await?,
            bucket: TestBucket::create().await?,
            secret_key,
        })
    }

    /// Points a configuration at this database and bucket.
    pub fn apply(&self, c: &mut Config) {
        c.database.url = Some(self.db.url.clone());
        use_bucket(c, &self.bucket);
        c.auth.secret_key = Some(harbor_storage::blob::Secret(self.secret_key.clone()));
    }

    /// The same, as environment variables for a `harbor-server` process.
    pub fn env(&self) -> Vec<(String, String)> {
        let s3 = &self.bucket.options.s3;
        vec![
            ("HARBOR_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("HARBOR_SECRET_KEY".into(), self.secret_key.clone()),
            ("HARBOR_DATABASE_URL".into(), self.db.url.clone()),
            ("HARBOR_STORAGE_URL".into(), self.bucket.url.clone()),
            ("HARBOR_S3_ENDPOINT".into(), self.bucket.endpoint.clone()),
            ("HARBOR_S3_REGION".into(), "us-east-1".into()),
            (
                "HARBOR_S3_ACCESS_KEY_ID".into(),
                s3.access_key_id.clone().unwrap_or_default(),
            ),
            (
                "HARBOR_S3_SECRET_ACCESS_KEY".into(),
                s3.secret_access_key
                    .clone()
                    .map(|s| s.0)
                    .unwrap_or_default(),
            ),
        ]
    }
}

/// Points a configuration's blob storage at a test bucket.
pub fn use_bucket(c: &mut Config, bucket: &TestBucket) {
    c.storage.url = Some(bucket.url.clone());
    c.storage.s3 = bucket.options.s3.clone();
    c.storage.gcs = bucket.options.gcs.clone();
    c.storage.azure = bucket.options.azure.clone();
}

/// `HARBOR_TEST_BACKEND`: `scaled` (PostgreSQL + S3), `azure` or `gcs` (the embedded
/// database + that object store), or unset (the embedded default).
fn test_backend() -> Option<String> {
    std::env::var("HARBOR_TEST_BACKEND")
        .ok()
        .filter(|b| !b.is_empty())
}

/// A running server on a temporary (or given) data directory.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: PathBuf,
    /// The running server's platform services, for what no HTTP route does (the group
    /// memberships the sign-in modes record).
    pub platform: harbor_platform::Platform,
    config: Config,
    _tmp: Option<tempfile::TempDir>,
    _scaled: Option<Scaled>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// This server's job runner, shut down with it (as the binary does), so that a
    /// restart hands running jobs back to the queue.
    jobs: Option<harbor_server::jobs::Jobs>,
}

impl TestServer {
    /// A server on fresh storage: the embedded default, PostgreSQL + S3 when
    /// `HARBOR_TEST_BACKEND=scaled`, or blobs in Azure or GCS with `azure` or `gcs` (so
    /// the whole API suite can run on each).
    pub async fn start() -> Self {
        match test_backend().as_deref() {
            None => {}
            Some("scaled") => {
                return Self::start_scaled()
                    .await
                    .expect("HARBOR_TEST_BACKEND=scaled needs PostgreSQL and S3 settings");
            }
            Some(_) => return Self::start_configured(|c| c.auth.auto_create_projects = true).await,
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = Self::start_in(tmp.path()).await;
        s._tmp = Some(tmp);
        s
    }

    /// A server on PostgreSQL + S3, or `None` (skipped) when they are not configured.
    pub async fn start_scaled() -> Option<Self> {
        let scaled = Scaled::create().await?;
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = Self::start_with(tmp.path(), |c| scaled.apply(c)).await;
        s._tmp = Some(tmp);
        s._scaled = Some(scaled);
        Some(s)
    }

    /// A server on an existing data directory (to test restarts).
    pub async fn start_in(dir: &Path) -> Self {
        Self::start_with(dir, |_| {}).await
    }

    /// A server with production access defaults: pushing needs an existing project.
    /// (The other constructors let a push create its project, so that registry tests can
    /// use any repository name.)
    pub async fn start_strict() -> Self {
        Self::start_configured(|c| c.auth.auto_create_projects = false).await
    }

    /// A server with production access defaults (see [`Self::start_strict`]) and a
    /// tweaked configuration, on the embedded default or, with
    /// `HARBOR_TEST_BACKEND=scaled`, on PostgreSQL + S3.
    pub async fn start_configured(tweak: impl FnOnce(&mut Config)) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let backend = test_backend();
        if let Some(b) = backend.as_deref().filter(|b| *b != "scaled") {
            let bucket = TestBucket::for_backend(b)
                .await
                .unwrap_or_else(|| panic!("HARBOR_TEST_BACKEND={b} needs its endpoint set"));
            let mut s = Self::start_with(tmp.path(), |c| {
                use_bucket(c, &bucket);
                c.auth.auto_create_projects = false;
                tweak(c);
            })
            .await;
            s._tmp = Some(tmp);
            return s;
        }
        if backend.as_deref() == Some("scaled") {
            let scaled = Scaled::create()
                .await
                .expect("HARBOR_TEST_BACKEND=scaled needs PostgreSQL and S3 settings");
            let mut s = Self::start_with(tmp.path(), |c| {
                scaled.apply(c);
                c.auth.auto_create_projects = false;
                tweak(c);
            })
            .await;
            s._tmp = Some(tmp);
            s._scaled = Some(scaled);
            return s;
        }
        let mut s = Self::start_with(tmp.path(), |c| {
            c.auth.auto_create_projects = false;
            tweak(c);
        })
        .await;
        s._tmp = Some(tmp);
        s
    }

    /// A server with a tweaked configuration.
    pub async fn start_with(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        config.storage.fsync = false;
        config.auth.admin_password = Some(harbor_storage::blob::Secret(ADMIN_PASSWORD.into()));
        config.auth.auto_create_projects = true;
        // Refusals answer at once here (tests count them, they do not spin).
        config.auth.login_throttle.refusal_delay_ms = 0;
        // Tests register the scanners they use (tests/api/scans.rs has the built-in one).
        config.scanner.builtin = false;
        tweak(&mut config);
        let state = AppState::open(&config).await.expect("open storage");
        let jobs = Some(state.jobs.clone());
        let platform = state.platform.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        state.serving_at(addr, false).await;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            app(state),
            async move {
                let _ = rx.await;
            },
            ServeOptions::from_config(&config),
        ));
        TestServer {
            addr,
            base: format!("http://{addr}"),
            data_dir: dir.to_path_buf(),
            platform,
            config,
            _tmp: None,
            _scaled: None,
            shutdown: Some(tx),
            task: Some(task),
            jobs,
        }
    }

    /// Restarts the server on the same storage with a changed configuration.
    pub async fn restart_with(mut self, tweak: impl FnOnce(&mut Config)) -> Self {
        tweak(&mut self.config);
        self.restart().await
    }

    /// Restarts the server on the same storage.
    pub async fn restart(mut self) -> Self {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(j) = self.jobs.take() {
            j.shutdown().await;
        }
        let config = self.config.clone();
        let mut next = Self::start_with(&self.data_dir, |c| *c = config).await;
        next._tmp = self._tmp.take();
        next._scaled = self._scaled.take();
        next
    }

    /// Stops the server and waits until it has shut down; returns the temp dir, if owned.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(j) = self.jobs.take() {
            j.shutdown().await;
        }
        self._tmp.take()
    }

    /// The token-signing key this server uses (PKCS#8 DER): read from its database and
    /// opened with its secret key (as a second process with the same configuration would).
    pub async fn token_signing_key(&self) -> Vec<u8> {
        use harbor_core::ports::IdentityStore as _;
        let (sealing, _) = self.config.sealing_keys().expect("secret key");
        let store = harbor_storage::SqlMetadataStore::connect(
            &self.database_url(),
            &harbor_storage::sql::PoolConfig::default(),
        )
        .await
        .expect("open the database");
        let stored = store.signing_key(&[]).await.expect("stored key");
        store.close().await;
        sealing
            .open(&stored, "token signing key")
            .expect("sealed key")
    }

    /// This server's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The metadata database URL this server uses.
    pub fn database_url(&self) -> String {
        self.config.database_url()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Objects left in the upload staging area, wherever the blobs are stored.
    pub async fn staged_uploads(&self) -> usize {
        self.blob_store()
            .staged_objects()
            .await
            .expect("list staging")
    }

    /// The size of a committed blob in storage (whatever the backend), if it is there.
    pub async fn stored_blob_size(&self, digest: &str) -> Option<u64> {
        use harbor_core::ports::BlobStore;
        let d = harbor_core::Digest::parse(digest).expect("digest");
        self.blob_store().size(&d).await.expect("stat blob")
    }

    fn blob_store(&self) -> harbor_storage::ObjectBlobStore {
        let options = harbor_storage::blob::StorageOptions {
            s3: self.config.storage.s3.clone(),
            gcs: self.config.storage.gcs.clone(),
            azure: self.config.storage.azure.clone(),
            ..Default::default()
        };
        harbor_storage::ObjectBlobStore::open(&self.config.storage_url(), &options)
            .expect("open blob store")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn build_client(auth: Option<String>) -> Client {
    let mut headers = HeaderMap::new();
    if let Some(a) = auth {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            a.parse().expect("header value"),
        );
    }
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .default_headers(headers)
        .build()
        .expect("client")
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// One HTTP client for all tests, signed in as the system administrator with Basic
/// credentials (building a client loads TLS roots, which is slow). It keeps no idle
/// connections, so no connection outlives the test runtime that opened it.
pub fn client() -> Client {
    static CLIENT: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| build_client(Some(basic("admin", ADMIN_PASSWORD))))
        .clone()
}

/// A client without credentials.
pub fn anon_client() -> Client {
    static CLIENT: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| build_client(None)).clone()
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

pub fn sha512(data: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(data)))
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts an OCI error response: status, code, and the API version header.
pub async fn expect_error(resp: Response, status: StatusCode, code: &str) -> serde_json::Value {
    assert_eq!(
        resp.status(),
        status,
        "unexpected status for {}",
        resp.url()
    );
    assert_eq!(
        header(resp.headers(), "docker-distribution-api-version"),
        Some("registry/2.0")
    );
    let body: serde_json::Value = resp.json().await.expect("error body is JSON");
    assert_eq!(body["errors"][0]["code"], code, "body: {body}");
    assert!(body["errors"][0]["message"].is_string(), "body: {body}");
    body
}

/// Pushes a blob monolithically and returns its digest.
pub async fn push_blob(s: &TestServer, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let resp = client()
        .post(s.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("push blob");
    assert_eq!(resp.status(), StatusCode::CREATED, "push blob to {repo}");
    digest
}

/// An image manifest for the given config and layers.
pub fn image_manifest(config: (&str, usize), layers: &[(&str, usize)]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": config.0, "size": config.1 },
        "layers": layers.iter().map(|(d, s)| serde_json::json!({
            "mediaType": OCI_LAYER, "digest": d, "size": s
        })).collect::<Vec<_>>(),
    }))
    .expect("json")
}

/// Pushes a config and one layer and returns (manifest bytes, config digest, layer digest).
pub async fn push_image_blobs(s: &TestServer, repo: &str, seed: u8) -> (Vec<u8>, String, String) {
    let config = format!("{{\"seed\":{seed}}}").into_bytes();
    let layer = data(1000 + usize::from(seed), seed);
    let cd = push_blob(s, repo, &config).await;
    let ld = push_blob(s, repo, &layer).await;
    (
        image_manifest((&cd, config.len()), &[(&ld, layer.len())]),
        cd,
        ld,
    )
}

pub async fn put_manifest(
    s: &TestServer,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> Response {
    client()
        .put(s.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header("content-type", media_type)
        .body(body.to_vec())
        .send()
        .await
        .expect("put manifest")
}

/// Pushes a complete image (config, layer, manifest) under `tag`; returns the manifest
/// digest and bytes.
pub async fn push_image(s: &TestServer, repo: &str, tag: &str, seed: u8) -> (String, Vec<u8>) {
    let (m, _, _) = push_image_blobs(s, repo, seed).await;
    let resp = put_manifest(s, repo, tag, OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    (sha256(&m), m)
}

/// Sends raw bytes over TCP and returns the status line's code (0 if the server closed
/// the connection without answering). The administrator's credentials are added after the
/// request line unless the request carries an `Authorization` header.
pub async fn raw_request(addr: SocketAddr, request: &[u8], close_write: bool) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = request.to_vec();
    let has_auth = String::from_utf8_lossy(&request)
        .to_ascii_lowercase()
        .contains("\r\nauthorization:");
    if let Some(eol) = request.windows(2).position(|w| w == b"\r\n")
        && !has_auth
    {
        let line = format!("\r\nAuthorization: {}", basic("admin", ADMIN_PASSWORD));
        request.splice(eol..eol, line.into_bytes());
    }
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&request).await.expect("write");
    if close_write {
        let _ = stream.shutdown().await;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

// --- Accounts, projects and robots through the REST API (as the administrator).

/// The password every test user gets.
pub const PASSWORD: &str = "Passw0rd-test";

/// A client signed in with Basic credentials.
pub fn as_user(user: &str, password: &str) -> Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        basic(user, password).parse().unwrap(),
    );
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .default_headers(h)
        .build()
        .unwrap()
}

/// Sends a JSON request and returns the response.
pub async fn send(
    c: &Client,
    s: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = c.request(method, s.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Asserts a Harbor error body with `code` and returns it.
pub async fn harbor_error(resp: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(
        resp.status(),
        status,
        "unexpected status for {}",
        resp.url()
    );
    let body: Value = resp.json().await.expect("error body is JSON");
    assert_eq!(body["errors"][0]["code"], code, "body: {body}");
    assert!(body["errors"][0]["message"].is_string());
    body
}

/// The id at the end of a `Location` header.
pub fn location_id(resp: &Response) -> i64 {
    let loc = header(resp.headers(), "location").expect("location");
    loc.rsplit('/').next().unwrap().parse().unwrap()
}

/// Creates a user (as admin) and returns its id.
pub async fn create_user(s: &TestServer, name: &str) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/users",
        Some(json!({"username": name, "email": format!("{name}@example.com"), "realname": name, "password": PASSWORD})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create user {name}");
    location_id(&resp)
}

/// Creates a project (as admin) and returns its id.
pub async fn create_project(s: &TestServer, name: &str, public: bool) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/projects",
        Some(json!({"project_name": name, "metadata": {"public": public.to_string()}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create project {name}");
    location_id(&resp)
}

/// Adds a member (as admin) and returns the membership id.
pub async fn add_member(s: &TestServer, project: &str, user: &str, role_id: i64) -> i64 {
    let resp = send(
        &client(),
        s,
        Method::POST,
        &format!("/api/v2.0/projects/{project}/members"),
        Some(json!({"role_id": role_id, "member_user": {"username": user}})),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "add {user} to {project}"
    );
    location_id(&resp)
}

/// Creates a project robot (as admin) with the given (resource, action) pairs; returns
/// (id, login name, secret).
pub async fn create_robot(
    s: &TestServer,
    project: &str,
    name: &str,
    access: &[(&str, &str)],
) -> (i64, String, String) {
    let resp = send(
        &client(),
        s,
        Method::POST,
        "/api/v2.0/robots",
        Some(json!({
            "name": name,
            "level": "project",
            "duration": -1,
            "permissions": [{
                "kind": "project",
                "namespace": project,
                "access": access.iter().map(|(r, a)| json!({"resource": r, "action": a})).collect::<Vec<_>>(),
            }],
        })),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create robot {name}");
    let v: Value = resp.json().await.unwrap();
    (
        v["id"].as_i64().unwrap(),
        v["name"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}
