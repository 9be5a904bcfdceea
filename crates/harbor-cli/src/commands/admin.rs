//! `harbor admin ...`: maintenance through the library, straight on the database and blob
//! storage (no server connection; stop the servers first where the command says so).

use std::sync::Arc;
use std::time::Duration;

use harbor_auth::Accounts;
use harbor_auth::accounts::ROBOT_PREFIX;
use harbor_auth::throttle::{LoginThrottle, ThrottlePolicy};
use harbor_core::gc::FsckReport;
use harbor_core::identity::Page;
use harbor_core::quota::{QuotaQuery, QuotaRecount, QuotaStore as _};
use harbor_core::{Registry, RegistryConfig};
use harbor_storage::blob::StorageOptions;
use harbor_storage::sql::{PoolConfig, redact_url};
use harbor_storage::{ObjectBlobStore, SqlMetadataStore, StorageError};
use serde::Serialize;
use serde_json::json;

use super::content::human;
use super::{Failure, NOT_FOUND, Outcome, REFUSED, SERVER, USAGE};
use crate::cli::AdminCmd;
use crate::output::{Column, Output};

/// Quotas read per page.
const PAGE_SIZE: u64 = 100;

fn storage_failure(what: &str, e: StorageError) -> Failure {
    let code = match e {
        StorageError::Config(_) => USAGE,
        StorageError::NoDatabase(_) => NOT_FOUND,
        _ => SERVER,
    };
    Failure::new(code, format!("{what}: {e}"))
}

fn core_failure(what: &str, e: harbor_core::Error) -> Failure {
    let code = match e {
        harbor_core::Error::NotFound(_) => NOT_FOUND,
        _ => SERVER,
    };
    Failure::new(code, format!("{what}: {e}"))
}

fn admin_pool() -> PoolConfig {
    PoolConfig {
        max_connections: 2,
        ..PoolConfig::default()
    }
}

/// Opens (creating if needed, and migrating) the database at `url`.
async fn create(url: &str) -> Result<SqlMetadataStore, Failure> {
    SqlMetadataStore::connect(url, &admin_pool())
        .await
        .map_err(|e| storage_failure(&format!("cannot open {}", redact_url(url)), e))
}

/// Opens (and migrates) the registry database at `url`, which must exist: a wrong path
/// fails instead of checking a new, empty database.
async fn open(url: &str) -> Result<SqlMetadataStore, Failure> {
    SqlMetadataStore::connect_existing(url, &admin_pool())
        .await
        .map_err(|e| storage_failure(&format!("cannot open {}", redact_url(url)), e))
}

/// One project's recount.
#[derive(Serialize)]
struct Recount {
    project: String,
    project_id: i64,
    stored: i64,
    charged: i64,
    recounted: i64,
    drifted_digests: u64,
    consistent: bool,
    repaired: bool,
}

impl Recount {
    fn new(project: String, r: &QuotaRecount, repair: bool) -> Self {
        Recount {
            project,
            project_id: r.project_id,
            stored: r.stored,
            charged: r.charged,
            recounted: r.recounted,
            drifted_digests: r.drifted_digests,
            consistent: r.consistent(),
            repaired: repair && !r.consistent(),
        }
    }
}

/// One copied table.
#[derive(Serialize)]
struct Copied {
    table: &'static str,
    rows: u64,
}

pub(crate) async fn admin(cmd: AdminCmd, out: Output) -> Outcome {
    match cmd {
        AdminCmd::Migrate { database_url } => {
            let store = create(&database_url).await?;
            let version = store
                .schema_version()
                .await
                .map_err(|e| storage_failure("cannot read the schema version", e));
            store.close().await;
            let version = version?;
            let db = redact_url(&database_url);
            out.done(
                &format!("{db}: schema version {version}, up to date"),
                &json!({ "database": db, "schema_version": version }),
                &version.to_string(),
            )?;
        }
        AdminCmd::Fsck {
            database_url,
            storage_url,
            repair,
            grace_minutes,
        } => {
            let meta = Arc::new(open(&database_url).await?);
            let blobs = ObjectBlobStore::open(&storage_url, &StorageOptions::default())
                .map_err(|e| storage_failure(&format!("cannot open {storage_url}"), e))?;
            let registry = Registry::new(Arc::new(blobs), meta.clone(), RegistryConfig::default());
            let grace = Duration::from_secs(grace_minutes.saturating_mul(60));
            let report = registry.fsck(repair, grace).await;
            meta.close().await;
            let report = report.map_err(|e| core_failure("the storage check failed", e))?;
            print_fsck(&out, &report)?;
            if report.missing_count > 0 || report.size_mismatch_count > 0 {
                return Err(Failure::new(
                    REFUSED,
                    format!(
                        "storage is damaged: {} missing, {} of the wrong size",
                        report.missing_count, report.size_mismatch_count
                    ),
                ));
            }
        }
        AdminCmd::RecountQuota {
            database_url,
            project,
            repair,
        } => {
            let store = open(&database_url).await?;
            let rows = recount(&store, project.as_deref(), repair).await;
            store.close().await;
            let rows = rows?;
            let name = |r: &Recount| r.project.clone();
            let stored = |r: &Recount| human(r.stored);
            let recounted = |r: &Recount| human(r.recounted);
            let drift = |r: &Recount| r.drifted_digests.to_string();
            let state = |r: &Recount| {
                match (r.consistent, r.repaired) {
                    (true, _) => "consistent",
                    (false, true) => "repaired",
                    (false, false) => "drift",
                }
                .to_owned()
            };
            let cols: [Column<'_, Recount>; 5] = [
                ("project", &name),
                ("stored", &stored),
                ("recounted", &recounted),
                ("drifted digests", &drift),
                ("state", &state),
            ];
            out.list(&rows, &cols, &name)?;
            let drifted = rows.iter().filter(|r| !r.consistent).count();
            if drifted > 0 && !repair {
                return Err(Failure::new(
                    REFUSED,
                    format!("{drifted} project(s) drifted: run again with --repair"),
                ));
            }
        }
        AdminCmd::ResetPassword {
            database_url,
            username,
            password_stdin,
        } => {
            let new = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let store = Arc::new(open(&database_url).await?);
            let accounts = Accounts::new(store.clone(), ROBOT_PREFIX)
                .with_throttle(LoginThrottle::new(store.clone(), ThrottlePolicy::default()));
            let reset = accounts
                .reset_password(&username, new.as_deref(), "harbor admin reset-password")
                .await;
            store.close().await;
            let generated = reset.map_err(|e| match e {
                harbor_core::Error::Invalid(m) => Failure::new(REFUSED, m),
                e => core_failure(&format!("cannot reset the password of {username}"), e),
            })?;
            match generated {
                Some(p) => out.done(
                    &format!("the new password of {username} is: {p}"),
                    &json!({ "username": username, "password": p }),
                    &p,
                )?,
                None => out.done(
                    &format!("the password of {username} is set"),
                    &json!({ "username": username }),
                    &username,
                )?,
            }
        }
        AdminCmd::CopyMetadata { from, to } => {
            let source = open(&from).await?;
            let target = create(&to).await?;
            let report = source.copy_into(&target).await;
            source.close().await;
            target.close().await;
            let report = report.map_err(|e| {
                storage_failure(
                    &format!("cannot copy {} to {}", redact_url(&from), redact_url(&to)),
                    e,
                )
            })?;
            let rows: Vec<Copied> = report
                .tables
                .into_iter()
                .map(|(table, rows)| Copied { table, rows })
                .collect();
            let table = |c: &Copied| c.table.to_owned();
            let count = |c: &Copied| c.rows.to_string();
            let cols: [Column<'_, Copied>; 2] = [("table", &table), ("rows", &count)];
            out.list(&rows, &cols, &table)?;
        }
    }
    Ok(())
}

/// Recounts (or repairs) every project's quota, or `only` that project's.
async fn recount(
    store: &SqlMetadataStore,
    only: Option<&str>,
    repair: bool,
) -> Result<Vec<Recount>, Failure> {
    let listing = |e| core_failure("cannot list the quotas", e);
    let mut quotas = Vec::new();
    for page in 1.. {
        let (items, total) = store
            .quotas(
                &QuotaQuery::default(),
                Page {
                    page,
                    page_size: PAGE_SIZE,
                },
            )
            .await
            .map_err(listing)?;
        let got = items.len();
        quotas.extend(items);
        if got < PAGE_SIZE as usize || quotas.len() as u64 >= total {
            break;
        }
    }
    if let Some(name) = only {
        quotas.retain(|q| q.project_name == name);
        if quotas.is_empty() {
            return Err(Failure::new(NOT_FOUND, format!("project {name} not found")));
        }
    }
    let mut rows = Vec::with_capacity(quotas.len());
    for q in quotas {
        let what = format!("cannot recount {}", q.project_name);
        let r = if repair {
            store.repair_quota(q.project_id).await
        } else {
            store.recount_quota(q.project_id).await
        }
        .map_err(|e| core_failure(&what, e))?;
        rows.push(Recount::new(q.project_name, &r, repair));
    }
    Ok(rows)
}

fn print_fsck(out: &Output, r: &FsckReport) -> Result<(), String> {
    let list = |items: &[String]| items.join(", ");
    let fields = vec![
        ("clean", r.clean().to_string()),
        ("blob records", r.records.to_string()),
        ("stored objects", r.objects.to_string()),
        ("missing", r.missing_count.to_string()),
        ("missing digests", list(&r.missing)),
        (
            "orphans",
            format!(
                "{} ({})",
                r.orphan_count,
                human(i64::try_from(r.orphan_bytes).unwrap_or(i64::MAX))
            ),
        ),
        ("orphan digests", list(&r.orphans)),
        ("orphans too young", r.orphans_too_young.to_string()),
        ("orphans removed", r.orphans_removed.to_string()),
        ("size mismatches", r.size_mismatch_count.to_string()),
        ("mismatched", list(&r.size_mismatches)),
    ];
    out.one(r, &fields, &r.clean().to_string())
}
