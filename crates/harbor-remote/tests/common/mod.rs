//! Shared test helpers: a CNCF Distribution per test, generated images, clients.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use harbor_core::manifest::{OCI_INDEX, OCI_MANIFEST};
use harbor_core::{Digest, Reference, RepositoryName};
use harbor_remote::{
    AddressPolicy, Client, ClientOptions, Credential, Endpoint, Error, RetryPolicy,
};

/// A running `docker-registry serve` on a free loopback port, killed on drop.
pub struct Distribution {
    pub url: String,
    child: tokio::process::Child,
    dir: tempfile::TempDir,
}

impl Distribution {
    /// Starts one, with htpasswd Basic auth when `user` is given; `None` (test skipped)
    /// without `HARBOR_TEST_DISTRIBUTION`.
    pub async fn start(user: Option<(&str, &str)>) -> Option<Self> {
        let bin =
            harbor_storage::testing::service("HARBOR_TEST_DISTRIBUTION", "CNCF Distribution")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((name, password)) = user {
            let hash = bcrypt::hash_with_result(password, 4)
                .expect("bcrypt")
                .format_for_version(bcrypt::Version::TwoY);
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{name}:{hash}\n")).expect("htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let log = std::fs::File::create(dir.path().join("log")).expect("log");
        let access = std::fs::File::create(dir.path().join("access.log")).expect("access log");
        let child = tokio::process::Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdout(access)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start docker-registry");
        let d = Distribution {
            url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        let probe = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = probe.get(format!("{}/v2/", d.url)).send().await
                && (r.status().is_success() || r.status().as_u16() == 401)
            {
                return Some(d);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(d.log_path()).unwrap_or_default()
        );
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// How many requests of its access log (one line each, `"GET /v2/... HTTP/1.1"`)
    /// contain all of `needles`.
    pub fn requests(&self, needles: &[&str]) -> usize {
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .count()
    }

    /// Where it keeps its data (`docker/registry/v2/...`).
    pub fn data_path(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops it (the data stays until it is dropped).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }

    pub fn client(&self) -> Client {
        client_for(&self.url, None)
    }

    pub fn client_as(&self, user: &str, password: &str) -> Client {
        client_for(&self.url, Some(Credential::basic(user, password)))
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Options for loopback test servers: loopback allowed, quick retries.
pub fn test_options() -> ClientOptions {
    ClientOptions {
        address_policy: AddressPolicy {
            allow_loopback: true,
            ..Default::default()
        },
        retry: RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(5),
        },
        request_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

pub fn client_for(url: &str, credential: Option<Credential>) -> Client {
    let mut e = Endpoint::new(url);
    e.credential = credential;
    Client::new(e, test_options()).expect("client")
}

pub fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).expect("repository name")
}

pub fn tag(s: &str) -> Reference {
    Reference::parse(s).expect("reference")
}

pub fn by_digest(d: &Digest) -> Reference {
    Reference::Digest(d.clone())
}

/// Pseudo-random bytes, different on every call.
pub fn random_bytes(len: usize) -> Bytes {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = COUNTER.fetch_add(1, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

pub fn once(b: Bytes) -> harbor_remote::ByteStream {
    futures::stream::iter(vec![Ok(b)]).boxed()
}

/// A stream of `b` in pieces of `piece` bytes.
pub fn pieces(b: Bytes, piece: usize) -> harbor_remote::ByteStream {
    let parts: Vec<Result<Bytes, Error>> = (0..b.len())
        .step_by(piece)
        .map(|i| Ok(b.slice(i..(i + piece).min(b.len()))))
        .collect();
    futures::stream::iter(parts).boxed()
}

pub async fn push_blob(c: &Client, r: &RepositoryName, data: &Bytes) -> Digest {
    let d = Digest::sha256(data);
    c.push_blob(r, &d, data.len() as u64, once(data.clone()))
        .await
        .expect("push blob");
    d
}

pub async fn collect(s: harbor_remote::BlobStream) -> Result<Bytes, Error> {
    let mut out = Vec::new();
    let mut stream = s.stream;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(Bytes::from(out))
}

fn desc(media_type: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "mediaType": media_type,
        "digest": Digest::sha256(data).as_str(),
        "size": data.len(),
    })
}

/// An image pushed with [`push_image`].
pub struct Image {
    pub digest: Digest,
    pub manifest: Bytes,
    pub blobs: Vec<Bytes>,
}

/// Pushes `layers` and a fresh config, then an OCI manifest under `reference`.
pub async fn push_image(
    c: &Client,
    r: &RepositoryName,
    reference: &str,
    layers: &[Bytes],
) -> Image {
    let config = Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "comment": hex_of(&random_bytes(8)),
        }))
        .expect("json"),
    );
    let mut blobs = vec![config.clone()];
    blobs.extend(layers.iter().cloned());
    for b in &blobs {
        if c.blob_exists(r, &Digest::sha256(b))
            .await
            .expect("head")
            .is_none()
        {
            push_blob(c, r, b).await;
        }
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", &config),
        "layers": layers.iter().map(|l| desc("application/vnd.oci.image.layer.v1.tar", l)).collect::<Vec<_>>(),
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
    let digest = c
        .put_manifest(r, &tag(reference), bytes.clone(), OCI_MANIFEST)
        .await
        .expect("put manifest");
    Image {
        digest,
        manifest: bytes,
        blobs,
    }
}

/// Pushes two single-layer images by digest and an index of both under `reference`.
pub async fn push_index(c: &Client, r: &RepositoryName, reference: &str) -> (Digest, Vec<Image>) {
    let mut children = Vec::new();
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let img = push_image(c, r, &format!("tmp-{arch}"), &[random_bytes(2000)]).await;
        entries.push(serde_json::json!({
            "mediaType": OCI_MANIFEST,
            "digest": img.digest.as_str(),
            "size": img.manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
        children.push(img);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
    });
    let bytes = Bytes::from(serde_json::to_vec(&index).expect("json"));
    let digest = c
        .put_manifest(r, &tag(reference), bytes, OCI_INDEX)
        .await
        .expect("put index");
    (digest, children)
}

/// Pushes an artifact (a "signature") whose subject is `subject`, by digest.
pub async fn push_referrer(
    c: &Client,
    r: &RepositoryName,
    subject: &Digest,
    subject_size: u64,
) -> Digest {
    let empty = Bytes::from_static(b"{}");
    push_blob(c, r, &empty).await;
    let payload = random_bytes(100);
    push_blob(c, r, &payload).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": desc("application/vnd.oci.empty.v1+json", &empty),
        "layers": [desc("application/vnd.example.signature.payload", &payload)],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.as_str(), "size": subject_size},
        "annotations": {"org.example.kind": "test-signature"},
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("json"));
    let d = Digest::sha256(&bytes);
    c.put_manifest(r, &by_digest(&d), bytes, OCI_MANIFEST)
        .await
        .expect("put referrer")
}

pub fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
