//! Copying all metadata from one database to another, e.g. from the embedded SQLite to
//! PostgreSQL when a registry outgrows one machine: the registry tables
//! (`migrations/*/0001_registry.sql`, with the columns `0003_repositories.sql` adds) and
//! the identity tables (`0002_identity.sql`).

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, AssertSqlSafe, Row, Transaction};

use super::{Dialect, SqlMetadataStore};
use crate::error::StorageError;

/// Column types the tables use.
#[derive(Clone, Copy)]
enum Ty {
    Int,
    OptInt,
    Text,
    OptText,
    Bytes,
}

/// How a table's `id` column is generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// Not generated (a natural key, or a fixed id).
    Given,
    /// An identity column on PostgreSQL; `INTEGER PRIMARY KEY` on SQLite, which may reuse
    /// the id of the last row after it is deleted.
    Generated,
    /// An identity column on PostgreSQL; `AUTOINCREMENT` on SQLite: never reused, so the
    /// copy carries the source's high-water mark over, not just the largest id left.
    NeverReused,
}

/// A table to copy.
struct Table {
    name: &'static str,
    /// Columns; the first `key` of them are the primary key, which pages are read by.
    columns: &'static [(&'static str, Ty)],
    key: usize,
    ids: Ids,
}

/// Every table, in foreign-key order.
const TABLES: &[Table] = &[
    // 0001_registry.sql
    Table {
        name: "repositories",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
            // 0003_repositories.sql
            ("project_id", Ty::OptInt),
            ("description", Ty::Text),
            ("pull_count", Ty::Int),
        ],
        key: 1,
        ids: Ids::Generated,
    },
    Table {
        name: "blobs",
        columns: &[
            ("digest", Ty::Text),
            ("size", Ty::Int),
            ("created_at", Ty::Int),
            ("state", Ty::Int),
            ("version", Ty::Int),
            ("touched_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    Table {
        name: "repository_blobs",
        columns: &[
            ("repository_id", Ty::Int),
            ("digest", Ty::Text),
            ("created_at", Ty::Int),
        ],
        key: 2,
        ids: Ids::Given,
    },
    Table {
        name: "manifests",
        columns: &[
            ("id", Ty::Int),
            ("repository_id", Ty::Int),
            ("digest", Ty::Text),
            ("media_type", Ty::Text),
            ("artifact_type", Ty::OptText),
            ("subject", Ty::OptText),
            ("size", Ty::Int),
            ("annotations", Ty::OptText),
            ("content", Ty::Bytes),
            ("created_at", Ty::Int),
            // 0005_artifacts.sql
            ("pulled_at", Ty::OptInt),
        ],
        key: 1,
        ids: Ids::Generated,
    },
    Table {
        name: "manifest_references",
        columns: &[
            ("manifest_id", Ty::Int),
            ("digest", Ty::Text),
            ("kind", Ty::Int),
        ],
        key: 2,
        ids: Ids::Given,
    },
    Table {
        name: "tags",
        columns: &[
            ("repository_id", Ty::Int),
            ("name", Ty::Text),
            ("manifest_id", Ty::Int),
            ("updated_at", Ty::Int),
            // 0005_artifacts.sql
            ("id", Ty::Int),
            ("pulled_at", Ty::OptInt),
        ],
        key: 2,
        ids: Ids::Generated,
    },
    Table {
        name: "upload_sessions",
        columns: &[
            ("id", Ty::Text),
            ("repository", Ty::Text),
            ("received", Ty::Int),
            ("hash_state", Ty::Bytes),
            ("store_state", Ty::Text),
            ("lease_token", Ty::OptText),
            ("lease_until", Ty::OptInt),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    // 0002_identity.sql
    Table {
        name: "users",
        columns: &[
            ("id", Ty::Int),
            ("username", Ty::Text),
            ("email", Ty::OptText),
            ("realname", Ty::Text),
            ("comment", Ty::Text),
            ("password_hash", Ty::Text),
            ("sysadmin", Ty::Int),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0015_registries.sql (secrets stay sealed: the target needs the same secret key)
    Table {
        name: "registries",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("description", Ty::Text),
            ("kind", Ty::Text),
            ("url", Ty::Text),
            ("credential_type", Ty::Text),
            ("access_key", Ty::Text),
            ("access_secret", Ty::Bytes),
            ("insecure", Ty::Int),
            ("ca_certificate", Ty::OptText),
            ("status", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "projects",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("owner_id", Ty::Int),
            ("public", Ty::Int),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
            // 0013_project_metadata.sql
            ("metadata", Ty::Text),
            // 0017_proxy_cache.sql
            ("registry_id", Ty::OptInt),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0026_user_groups.sql: groups before the memberships that name them.
    Table {
        name: "user_groups",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("group_type", Ty::Int),
            ("ldap_group_dn", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "user_group_members",
        columns: &[("user_id", Ty::Int), ("group_id", Ty::Int)],
        key: 2,
        ids: Ids::Given,
    },
    Table {
        name: "project_members",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            // 0026_user_groups.sql: a user's or a group's membership.
            ("user_id", Ty::OptInt),
            ("role", Ty::Int),
            ("group_id", Ty::OptInt),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "robots",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("description", Ty::Text),
            ("project_id", Ty::Int),
            ("secret_hash", Ty::Text),
            ("disabled", Ty::Int),
            ("duration_days", Ty::Int),
            ("expires_at", Ty::OptInt),
            ("permissions", Ty::Text),
            ("creator", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
            // 0014_robot_creator.sql
            ("creator_type", Ty::Text),
            ("creator_ref", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "sessions",
        columns: &[
            ("id_hash", Ty::Text),
            ("user_id", Ty::Int),
            ("csrf_token", Ty::Text),
            ("expires_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::OptInt),
            ("username", Ty::Text),
            ("operation", Ty::Text),
            ("resource_type", Ty::Text),
            ("resource", Ty::Text),
            ("op_time", Ty::Int),
        ],
        key: 1,
        ids: Ids::Generated,
    },
    Table {
        name: "signing_keys",
        columns: &[("id", Ty::Int), ("key", Ty::Bytes), ("created_at", Ty::Int)],
        key: 1,
        ids: Ids::Given,
    },
    // 0004_settings.sql
    Table {
        name: "system_settings",
        columns: &[
            ("name", Ty::Text),
            ("value", Ty::Text),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    // 0006_labels_immutability.sql
    Table {
        name: "labels",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("description", Ty::Text),
            ("color", Ty::Text),
            ("scope", Ty::Text),
            ("project_id", Ty::OptInt),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "artifact_labels",
        columns: &[
            ("manifest_id", Ty::Int),
            ("label_id", Ty::Int),
            ("created_at", Ty::Int),
        ],
        key: 2,
        ids: Ids::Given,
    },
    Table {
        name: "immutable_rules",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            ("priority", Ty::Int),
            ("disabled", Ty::Int),
            ("repo_exclude", Ty::Int),
            ("repo_pattern", Ty::Text),
            ("tag_exclude", Ty::Int),
            ("tag_pattern", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    }, // 0007_quotas.sql
    Table {
        name: "project_quotas",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            ("hard", Ty::Int),
            ("used", Ty::Int),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "project_blobs",
        columns: &[
            ("project_id", Ty::Int),
            ("digest", Ty::Text),
            ("size", Ty::Int),
            ("created_at", Ty::Int),
        ],
        key: 2,
        ids: Ids::Given,
    },
    // 0008_jobs.sql: the schedules (the queue and its history stay behind).
    Table {
        name: "job_schedules",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("kind", Ty::Text),
            ("cron", Ty::Text),
            ("schedule_type", Ty::Text),
            ("params", Ty::Text),
            ("next_run", Ty::OptInt),
            ("paused", Ty::Int),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0010_retention.sql
    Table {
        name: "retention_policies",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            ("policy", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0016_replication.sql: the policies (executions, tasks and their logs are history
    // that refers to jobs, which stay behind like the rest of the queue).
    Table {
        name: "replication_policies",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("description", Ty::Text),
            ("src_registry_id", Ty::OptInt),
            ("dest_registry_id", Ty::OptInt),
            ("dest_namespace", Ty::Text),
            ("dest_replace_count", Ty::Int),
            ("filters", Ty::Text),
            ("trig", Ty::Text),
            ("deletion", Ty::Int),
            ("override_tags", Ty::Int),
            ("enabled", Ty::Int),
            ("speed_kbps", Ty::Int),
            ("copy_by_chunk", Ty::Int),
            ("single_active", Ty::Int),
            ("creator", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0019_scanner_registrations.sql (credentials stay sealed, like registry secrets)
    Table {
        name: "scanner_registrations",
        columns: &[
            ("uuid", Ty::Text),
            ("name", Ty::Text),
            ("description", Ty::Text),
            ("url", Ty::Text),
            ("disabled", Ty::Int),
            ("is_default", Ty::Int),
            ("auth", Ty::Text),
            ("credential", Ty::Bytes),
            ("skip_cert_verify", Ty::Int),
            ("use_internal_addr", Ty::Int),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    Table {
        name: "project_scanners",
        columns: &[("project_id", Ty::Int), ("registration_uuid", Ty::Text)],
        key: 1,
        ids: Ids::Given,
    },
    // 0012_events.sql: undelivered events move with the data, and cursors with them (so
    // the audit log does not record delivered events twice). Leases are not copied.
    Table {
        name: "events",
        columns: &[
            ("id", Ty::Int),
            ("occurred_ms", Ty::Int),
            ("kind", Ty::Text),
            ("repository", Ty::OptText),
            ("actor", Ty::Text),
            ("payload", Ty::Text),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "event_cursors",
        columns: &[
            ("subscriber", Ty::Text),
            ("position", Ty::Int),
            ("claimed_ms", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    // 0020_scan_reports.sql: scan results move with the artifacts. The scanner's
    // vulnerability database, its layer inventories and its adapter's requests are derived
    // or short-lived and stay behind (0018_scanner.sql): import the database again.
    Table {
        name: "scan_reports",
        columns: &[
            ("id", Ty::Text),
            ("digest", Ty::Text),
            ("registration_uuid", Ty::Text),
            ("mime_type", Ty::Text),
            ("status", Ty::Text),
            ("severity", Ty::Text),
            ("total", Ty::Int),
            ("fixable", Ty::Int),
            ("summary", Ty::Text),
            ("report", Ty::Bytes),
            ("log", Ty::Text),
            ("job_id", Ty::OptInt),
            ("start_at", Ty::Int),
            ("end_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    // 0022_scan_findings.sql: the reports' findings and counts move with them. CVE
    // exports (their executions and CSV files) expire within a day and stay behind.
    Table {
        name: "scan_findings",
        columns: &[
            ("report_id", Ty::Text),
            ("seq", Ty::Int),
            ("cve_id", Ty::Text),
            ("package", Ty::Text),
            ("version", Ty::Text),
            ("fix_version", Ty::Text),
            ("severity", Ty::Text),
            ("severity_rank", Ty::Int),
            ("cvss_v3", Ty::OptInt),
            ("cwe_ids", Ty::Text),
            ("description", Ty::Text),
            ("links", Ty::Text),
            ("vendor_attributes", Ty::Text),
        ],
        key: 2,
        ids: Ids::Given,
    },
    Table {
        name: "scan_finding_counts",
        columns: &[
            ("report_id", Ty::Text),
            ("critical", Ty::Int),
            ("high", Ty::Int),
            ("medium", Ty::Int),
            ("low", Ty::Int),
            ("none_cnt", Ty::Int),
            ("unknown", Ty::Int),
            ("fixable", Ty::Int),
        ],
        key: 1,
        ids: Ids::Given,
    },
    // 0021_cve_allowlists.sql
    Table {
        name: "cve_allowlists",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            ("project", Ty::OptInt),
            ("expires_at", Ty::OptInt),
            ("items", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0024_webhooks.sql: policies and their deliveries (those still queued are sent once
    // the server runs on the target).
    Table {
        name: "webhook_policies",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            ("name", Ty::Text),
            ("description", Ty::Text),
            ("targets", Ty::Text),
            ("event_types", Ty::Text),
            ("enabled", Ty::Int),
            ("creator", Ty::Text),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
            ("breaker_failures", Ty::Int),
            ("breaker_open_until", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    Table {
        name: "webhook_deliveries",
        columns: &[
            ("id", Ty::Int),
            ("policy_id", Ty::Int),
            ("target", Ty::Int),
            ("event_id", Ty::Int),
            ("event_type", Ty::Text),
            ("order_key", Ty::Text),
            ("uuid", Ty::Text),
            ("payload", Ty::Text),
            ("occurred_at", Ty::Int),
            ("status", Ty::Text),
            ("attempts", Ty::Int),
            ("next_attempt_at", Ty::Int),
            ("status_text", Ty::Text),
            ("lease_token", Ty::OptText),
            ("lease_until", Ty::Int),
            ("log", Ty::Text),
            ("created_at", Ty::Int),
            ("started_at", Ty::OptInt),
            ("ended_at", Ty::OptInt),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0025_signature_keys.sql
    Table {
        name: "signature_keys",
        columns: &[
            ("id", Ty::Int),
            ("project_id", Ty::Int),
            ("kind", Ty::Text),
            ("name", Ty::Text),
            ("pem", Ty::Text),
            ("fingerprint", Ty::Text),
            ("created_by", Ty::Text),
            ("created_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
    // 0027_oidc_users.sql
    Table {
        name: "oidc_users",
        columns: &[
            ("id", Ty::Int),
            ("user_id", Ty::Int),
            ("subiss", Ty::Text),
            ("secret", Ty::Bytes),
            ("token", Ty::Bytes),
            ("created_at", Ty::Int),
            ("updated_at", Ty::Int),
        ],
        key: 1,
        ids: Ids::NeverReused,
    },
];

/// Rows per read and per insert; manifests carry their content, so fewer of them.
fn page_size(table: &str) -> usize {
    if table == "manifests" { 50 } else { 1000 }
}

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Vec<u8>),
}

fn read(row: &AnyRow, i: usize, ty: Ty) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        Ty::Int => Value::Int(Some(row.try_get(i)?)),
        Ty::OptInt => Value::Int(row.try_get(i)?),
        Ty::Text => Value::Text(Some(row.try_get(i)?)),
        Ty::OptText => Value::Text(row.try_get(i)?),
        Ty::Bytes => Value::Bytes(row.try_get(i)?),
    })
}

fn bind<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    v: Value,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    match v {
        Value::Int(v) => q.bind(v),
        Value::Text(v) => q.bind(v),
        Value::Bytes(v) => q.bind(v),
    }
}

/// What a copy moved: rows per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// `(table, rows)` in copy order: the registry tables, then the identity tables.
    pub tables: Vec<(&'static str, u64)>,
}

impl SqlMetadataStore {
    /// Copies every row of `self` into `target`, which must be empty, in one transaction
    /// on the target: either everything arrives or nothing does. Stop writers to the
    /// source first. Ids are preserved, and the target's id generators (PostgreSQL
    /// identity sequences, SQLite `AUTOINCREMENT` counters) are moved past them and past
    /// any id the source ever handed out, so that ids of deleted users, projects, members
    /// and robots are not reused after the copy either.
    pub async fn copy_into(&self, target: &SqlMetadataStore) -> Result<CopyReport, StorageError> {
        for table in TABLES {
            let sql = format!("SELECT 1 FROM {} LIMIT 1", table.name);
            if sqlx::query(AssertSqlSafe(sql))
                .fetch_optional(&target.read)
                .await?
                .is_some()
            {
                return Err(StorageError::Config(format!(
                    "the target database already holds {}; copy into an empty one",
                    table.name
                )));
            }
        }
        let mut tx = target.write.begin().await?;
        let mut report = CopyReport::default();
        for table in TABLES {
            let n = copy_table(&self.read, &mut tx, table).await?;
            report.tables.push((table.name, n));
        }
        for table in TABLES.iter().filter(|t| t.ids != Ids::Given) {
            let issued = self.ids_issued(table.name).await?;
            match target.dialect {
                Dialect::Postgres => {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                         GREATEST(COALESCE((SELECT MAX(id) FROM {t}), 0), $1) + 1, false)",
                        t = table.name
                    );
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(issued)
                        .execute(&mut *tx)
                        .await?;
                }
                // Inserting explicit ids already raised the counter to the largest one.
                Dialect::Sqlite if table.ids == Ids::NeverReused && issued > 0 => {
                    sqlx::query("UPDATE sqlite_sequence SET seq = $2 WHERE name = $1 AND seq < $2")
                        .bind(table.name)
                        .bind(issued)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO sqlite_sequence (name, seq) SELECT $1, $2 \
                         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)",
                    )
                    .bind(table.name)
                    .bind(issued)
                    .execute(&mut *tx)
                    .await?;
                }
                Dialect::Sqlite => {}
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// The largest id `table`'s generator has handed out (0 if none, or if the engine
    /// does not remember it).
    async fn ids_issued(&self, table: &str) -> Result<i64, StorageError> {
        let issued: Option<i64> = match self.dialect {
            Dialect::Postgres => {
                let seq: Option<String> = sqlx::query("SELECT pg_get_serial_sequence($1, 'id')")
                    .bind(table)
                    .fetch_one(&self.read)
                    .await?
                    .try_get(0)?;
                let Some(seq) = seq else { return Ok(0) };
                // A fresh sequence (or one set with `is_called = false`) has not handed out
                // `last_value` yet.
                let sql = format!(
                    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq}"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .fetch_one(&self.read)
                    .await?
                    .try_get(0)?
            }
            Dialect::Sqlite => {
                let row = sqlx::query("SELECT seq FROM sqlite_sequence WHERE name = $1")
                    .bind(table)
                    .fetch_optional(&self.read)
                    .await?;
                match row {
                    Some(row) => row.try_get(0)?,
                    None => None,
                }
            }
        };
        Ok(issued.unwrap_or(0).max(0))
    }
}

/// Copies one table, a page at a time, paging by its primary key (not by `OFFSET`, which
/// would rescan every earlier row for each page of a long audit log).
async fn copy_table(
    source: &AnyPool,
    tx: &mut Transaction<'_, Any>,
    table: &Table,
) -> Result<u64, StorageError> {
    let cols = table.columns;
    let names = cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let keys = cols[..table.key]
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ");
    let after = (1..=table.key)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let page = page_size(table.name);
    let first = format!(
        "SELECT {names} FROM {t} ORDER BY {keys} LIMIT {page}",
        t = table.name
    );
    let next = format!(
        "SELECT {names} FROM {t} WHERE ({keys}) > ({after}) ORDER BY {keys} LIMIT {page}",
        t = table.name
    );
    let width = cols.len();
    let mut copied = 0u64;
    let mut last_key: Option<Vec<Value>> = None;
    loop {
        let mut select = sqlx::query(AssertSqlSafe(match last_key {
            None => first.clone(),
            Some(_) => next.clone(),
        }));
        for v in last_key.take().into_iter().flatten() {
            select = bind(select, v);
        }
        let rows = select.fetch_all(source).await?;
        let Some(last) = rows.last() else {
            return Ok(copied);
        };
        last_key = Some(
            cols[..table.key]
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| read(last, i, *ty))
                .collect::<Result<_, _>>()?,
        );
        let values = (0..rows.len())
            .map(|r| {
                let ph = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({ph})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO {} ({names}) VALUES {values}", table.name);
        let mut q = sqlx::query(AssertSqlSafe(insert));
        for row in &rows {
            for (i, (_, ty)) in cols.iter().enumerate() {
                q = bind(q, read(row, i, *ty)?);
            }
        }
        q.execute(&mut **tx).await?;
        copied += rows.len() as u64;
    }
}
