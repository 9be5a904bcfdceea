//! Throw-away PostgreSQL databases and S3 prefixes for tests (feature `test-util`).
//!
//! Tests that need a real service read its address from an environment variable:
//!
//! | variable | example |
//! |---|---|
//! | `HARBOR_TEST_DATABASE_URL` | `postgres://postgres@127.0.0.1:5432/test` (a database to connect to while creating others) |
//! | `HARBOR_TEST_S3_ENDPOINT` | `http://127.0.0.1:9000` (credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, default `test`) |
//! | `HARBOR_TEST_S3_BUCKET` | `harbor-test` (default) |
//!
//! Without the variable a test is skipped with a reason printed by [`skipped`] (visible in
//! `cargo test`'s default output), except under `CI=true`, where a missing service fails
//! the test.

use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::SqlMetadataStore;
use crate::blob::{S3Options, Secret, StorageOptions};
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

/// A fresh prefix in an S3-compatible bucket.
pub struct TestBucket {
    /// `s3://<bucket>/<unique prefix>`
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
