//! Throw-away PostgreSQL databases and bucket prefixes for tests (feature `test-util`).
//!
//! Tests that need a real service read its address from an environment variable:
//!
//! | variable | example |
//! |---|---|
//! | `HARBOR_TEST_DATABASE_URL` | `postgres://postgres@127.0.0.1:5432/test` (a database to connect to while creating others) |
//! | `HARBOR_TEST_S3_ENDPOINT` | `http://127.0.0.1:9000` (credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, default `test`) |
//! | `HARBOR_TEST_S3_BUCKET` | `harbor-test` (default) |
//! | `HARBOR_TEST_AZURE_ENDPOINT` | `http://127.0.0.1:10000/devstoreaccount1` (Azurite; account and key from `HARBOR_TEST_AZURE_ACCOUNT`/`HARBOR_TEST_AZURE_ACCESS_KEY`, default Azurite's well-known `devstoreaccount1`) |
//! | `HARBOR_TEST_GCS_ENDPOINT` | `http://127.0.0.1:4443` (an emulator that takes requests without a token) |
//!
//! Without the variable a test is skipped with a reason printed by [`skipped`] (visible in
//! `cargo test`'s default output), except under `CI=true`, where a missing service fails
//! the test. GCS is the exception: no emulator that CI can install speaks the XML API
//! object_store uses, so its tests skip under CI too.

use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::SqlMetadataStore;
use crate::blob::{AzureOptions, GcsOptions, S3Options, Secret, StorageOptions};
use crate::sql::PoolConfig;

/// Reports that the running test skips its work, and why, as a `SKIPPED <test>: <reason>`
/// line on standard error. Written to the stream itself rather than through `eprintln!`,
/// which the test harness captures and hides for passing tests: a skipped test passes,
/// and without this line nothing would show it did not run.
pub fn skipped(reason: &str) {
    use std::io::Write as _;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {reason}");
}

/// The value of `var`, or `None` after reporting (with [`skipped`]) why the test is
/// skipped. Panics under `CI=true`.
pub fn service(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{what} is required under CI=true: set {var}");
            }
            skipped(&format!("{what} not configured (set {var})"));
            None
        }
    }
}

/// The value of `var`, or `None` after printing why the test is skipped, also under
/// `CI=true` (for services CI cannot run).
pub fn optional_service(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            skipped(&format!("{what} not configured (set {var})"));
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A fresh PostgreSQL database, dropped when this value is.
pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a database next to the one `HARBOR_TEST_DATABASE_URL` names.
    pub async fn create() -> Option<Self> {
        let admin_url = service("HARBOR_TEST_DATABASE_URL", "PostgreSQL")?;
        let name = unique("harbor_t_");
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to HARBOR_TEST_DATABASE_URL: {e}"));
        conn.execute(sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE {name}"
        ))))
        .await
        .expect("create test database");
        let _ = conn.close().await;
        let url = with_database(&admin_url, &name);
        Some(TestDatabase {
            url,
            admin_url,
            name,
        })
    }
}

impl TestDatabase {
    /// Kills every connection to this database (as a PostgreSQL restart would); returns
    /// how many were killed.
    pub async fn terminate_connections(&self) -> usize {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to the admin database");
        let killed: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_all(&mut conn)
        .await
        .expect("terminate connections");
        let _ = conn.close().await;
        killed.iter().filter(|(ok,)| *ok).count()
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/<name>?x`
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        // Drop on a thread of its own: we may be inside (or outside) any runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = conn.execute(sqlx::query(AssertSqlSafe(sql))).await;
                    }
                });
            }
        })
        .join();
    }
}

/// A fresh prefix in a bucket of an object store: S3-compatible, Azure or GCS.
pub struct TestBucket {
    /// `s3://<bucket>/<unique prefix>`, `az://...` or `gs://...`
    pub url: String,
    /// Options pointing at the test endpoint.
    pub options: StorageOptions,
    /// The endpoint.
    pub endpoint: String,
}

impl TestBucket {
    /// A new prefix in the bucket at `HARBOR_TEST_S3_ENDPOINT`, creating the bucket when the
    /// endpoint allows it (moto does).
    pub async fn create() -> Option<Self> {
        let endpoint = service("HARBOR_TEST_S3_ENDPOINT", "an S3-compatible endpoint")?;
        let bucket =
            std::env::var("HARBOR_TEST_S3_BUCKET").unwrap_or_else(|_| "harbor-test".into());
        create_bucket_best_effort(&endpoint, &bucket).await;
        let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "test".into());
        let options = StorageOptions {
            s3: S3Options {
                endpoint: Some(endpoint.clone()),
                region: Some("us-east-1".into()),
                access_key_id: Some(env("AWS_ACCESS_KEY_ID")),
                secret_access_key: Some(Secret(env("AWS_SECRET_ACCESS_KEY"))),
                ..S3Options::default()
            },
            ..StorageOptions::default()
        };
        Some(TestBucket {
            url: format!("s3://{bucket}/{}", unique("t")),
            options,
            endpoint,
        })
    }
}

/// Azurite's well-known account key (public, the same in every Azurite).
pub const AZURITE_ACCESS_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

impl TestBucket {
    /// A new prefix in a container at `HARBOR_TEST_AZURE_ENDPOINT`, creating the container
    /// (`HARBOR_TEST_AZURE_CONTAINER`, default `harbor-test`) if it is missing.
    pub async fn azure() -> Option<Self> {
        let endpoint = service(
            "HARBOR_TEST_AZURE_ENDPOINT",
            "an Azure Blob Storage endpoint",
        )?;
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.into());
        let account = var("HARBOR_TEST_AZURE_ACCOUNT", "devstoreaccount1");
        let key = var("HARBOR_TEST_AZURE_ACCESS_KEY", AZURITE_ACCESS_KEY);
        let container = var("HARBOR_TEST_AZURE_CONTAINER", "harbor-test");
        if let Err(e) = azure_create_container(&endpoint, &account, &key, &container).await {
            panic!("cannot create the Azure test container: {e}");
        }
        let options = StorageOptions {
            azure: AzureOptions {
                endpoint: Some(endpoint.clone()),
                account: Some(account),
                access_key: Some(Secret(key)),
            },
            ..StorageOptions::default()
        };
        Some(TestBucket {
            url: format!("az://{container}/{}", unique("t")),
            options,
            endpoint,
        })
    }

    /// A new prefix in a bucket (`HARBOR_TEST_GCS_BUCKET`, default `harbor-test`) at
    /// `HARBOR_TEST_GCS_ENDPOINT`, an emulator that takes requests without a token; the
    /// bucket is created through the JSON API if the emulator allows it.
    pub async fn gcs() -> Option<Self> {
        let endpoint = optional_service("HARBOR_TEST_GCS_ENDPOINT", "a GCS emulator")?;
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let bucket =
            std::env::var("HARBOR_TEST_GCS_BUCKET").unwrap_or_else(|_| "harbor-test".into());
        let body = format!("{{\"name\":\"{bucket}\"}}");
        let _ = http_request(
            &endpoint,
            "POST",
            "/storage/v1/b",
            &[("Content-Type", "application/json".into())],
            body.as_bytes(),
        )
        .await;
        // No OAuth: object_store 0.14 fetches a token for writes even with
        // `skip_signature`, from the cloud metadata server when it has no key.
        let key = r#"{"disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}"#;
        let options = StorageOptions {
            gcs: GcsOptions {
                base_url: Some(endpoint.clone()),
                service_account_key: Some(Secret(key.into())),
                ..GcsOptions::default()
            },
            ..StorageOptions::default()
        };
        Some(TestBucket {
            url: format!("gs://{bucket}/{}", unique("t")),
            options,
            endpoint,
        })
    }

    /// The test bucket `HARBOR_TEST_BACKEND` names: `scaled` (S3), `azure` or `gcs`.
    pub async fn for_backend(backend: &str) -> Option<Self> {
        match backend {
            "scaled" | "s3" => Self::create().await,
            "azure" => Self::azure().await,
            "gcs" => Self::gcs().await,
            other => panic!("unknown HARBOR_TEST_BACKEND {other:?}: use scaled, azure or gcs"),
        }
    }
}

/// Creates an Azure container with one Shared Key signed `PUT`; an existing one is fine.
async fn azure_create_container(
    endpoint: &str,
    account: &str,
    key: &str,
    container: &str,
) -> Result<(), String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{KeyInit, Mac};
    let base_path = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    let path = format!("{base_path}/{container}");
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let version = "2021-08-06";
    // Verb, eleven empty standard headers, the x-ms-* headers, then the resource.
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{account}{path}\nrestype:container"
    );
    let key = STANDARD
        .decode(key)
        .map_err(|e| format!("the access key is not base64: {e}"))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map_err(|e| format!("bad access key: {e}"))?;
    mac.update(to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let (status, body) = http_request(
        endpoint,
        "PUT",
        &format!("/{container}?restype=container"),
        &[
            ("x-ms-date", date),
            ("x-ms-version", version.into()),
            ("Authorization", format!("SharedKey {account}:{signature}")),
        ],
        b"",
    )
    .await?;
    match status {
        201 | 409 => Ok(()),
        _ => Err(format!("HTTP {status}: {body}")),
    }
}

/// One HTTP/1.1 request to `endpoint` (plain `http://` only) at `endpoint`'s path +
/// `path`; returns the status and body.
async fn http_request(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint}: only http:// test endpoints are supported"))?;
    let (authority, base_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let mut req = format!(
        "{method} {base_path}{path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(body).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    s.read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_owned()))
}

/// `PUT /<bucket>` without signing: enough for moto; real services need the bucket made
/// beforehand.
async fn create_bucket_best_effort(endpoint: &str, bucket: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(authority) = endpoint
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/'))
    else {
        return;
    };
    if let Ok(mut s) = tokio::net::TcpStream::connect(authority).await {
        let req = format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        if s.write_all(req.as_bytes()).await.is_ok() {
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
        }
    }
}

/// A database for one contract test: a SQLite file in a temporary directory, or a fresh
/// PostgreSQL database. Dropping it removes the database.
pub struct TestTarget {
    /// The database URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDatabase>,
}

impl TestTarget {
    /// A SQLite database file in a new temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        TestTarget {
            url: format!("sqlite://{}", dir.path().join("registry.db").display()),
            _dir: Some(dir),
            _db: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (skipped) without `HARBOR_TEST_DATABASE_URL`.
    pub async fn postgres() -> Option<Self> {
        let db = TestDatabase::create().await?;
        Some(TestTarget {
            url: db.url.clone(),
            _dir: None,
            _db: Some(db),
        })
    }

    /// Opens (and migrates) the store.
    pub async fn open(&self) -> SqlMetadataStore {
        SqlMetadataStore::connect(&self.url, &PoolConfig::default())
            .await
            .expect("open the test database")
    }
}

/// The id of the user `owner` (created the first time): the owner tests give the
/// projects they create.
pub async fn owner_id(meta: &SqlMetadataStore) -> i64 {
    use harbor_core::identity::NewUser;
    use harbor_core::ports::IdentityStore;
    if let Some(u) = meta.user_by_name("owner").await.expect("read the owner") {
        return u.id;
    }
    meta.create_user(&NewUser {
        username: "owner".into(),
        email: None,
        realname: "owner".into(),
        comment: String::new(),
        password_hash: "x".into(),
        sysadmin: false,
    })
    .await
    .expect("create the owner")
    .id
}

impl TestTarget {
    /// Creates the schema as it was after migration `version` only, without opening the
    /// store (which would run the later migrations), to test a later migration on data
    /// written before it.
    pub async fn migrate_to(&self, version: usize) {
        crate::sql::migrate_to(&self.url, version)
            .await
            .expect("run the first migrations");
    }
}

/// Runs each listed `async fn(&TestTarget)` once on SQLite and once on PostgreSQL, as
/// `sqlite::<name>` and `postgres::<name>` tests.
#[macro_export]
macro_rules! contract_tests {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                super::$test(&$crate::testing::TestTarget::sqlite()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                if let Some(t) = $crate::testing::TestTarget::postgres().await {
                    super::$test(&t).await;
                }
            })*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
