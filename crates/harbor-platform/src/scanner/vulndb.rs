//! The built-in scanner's vulnerability database: imports of OSV data (an `all.zip` or a
//! directory of records) into the store, all or nothing, and lookups by package.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use harbor_core::model::now_ms;
use harbor_core::ports::MetadataStore;
use harbor_core::scan::{AdvisoryRow, VulnDbInfo};
use harbor_core::{Error, Result};
use harbor_scanner::osv::import::{ImportStats, import_path};
use harbor_scanner::osv::{Advisory, PackageKey};
use harbor_scanner::{ScanError, codec};

/// Batches in flight between the reading thread and the store.
const PIPELINE: usize = 4;

/// Imports and reads the vulnerability database.
#[derive(Clone)]
pub struct VulnDb {
    store: Arc<dyn MetadataStore>,
}

impl VulnDb {
    /// The database in `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        Self { store }
    }

    /// The current database, if one was imported.
    pub async fn info(&self) -> Result<Option<VulnDbInfo>> {
        self.store.vuln_db_info().await
    }

    /// Imports `path` (a zip archive or a directory of OSV records) as the new database,
    /// replacing the current one once every record is stored; on any error the current
    /// database stays. `source` names the data for the operator. Reading and decoding run
    /// on a blocking thread while the store writes the previous batch.
    pub async fn import(&self, path: PathBuf, source: &str) -> Result<VulnDbInfo> {
        let generation = self.store.begin_vuln_import(source).await?;
        match self.import_into(generation, path).await {
            Ok(stats) => {
                let info = VulnDbInfo {
                    generation,
                    imported_at_ms: now_ms(),
                    newest: stats.newest,
                    records: stats.records,
                    advisories: stats.advisories,
                    source: source.to_string(),
                };
                self.store.commit_vuln_import(&info).await?;
                tracing::info!(source, records = info.records, advisories = info.advisories, newest = %info.newest, "vulnerability database imported");
                Ok(info)
            }
            Err(e) => {
                if let Err(abort) = self.store.abort_vuln_import(generation).await {
                    tracing::warn!(error = %abort, "could not remove a failed import's advisories");
                }
                Err(e)
            }
        }
    }

    async fn import_into(&self, generation: i64, path: PathBuf) -> Result<ImportStats> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<AdvisoryRow>>(PIPELINE);
        let reader = tokio::task::spawn_blocking(move || {
            import_path(&path, &mut |batch| {
                let rows = batch
                    .into_iter()
                    .map(|(key, advisory)| row(key, &advisory))
                    .collect();
                tx.blocking_send(rows)
                    .map_err(|_| ScanError::Io(std::io::Error::other("import cancelled")))
            })
        });
        let mut stored = Ok(());
        while let Some(rows) = rx.recv().await {
            if stored.is_ok() {
                stored = self.store.insert_advisories(generation, &rows).await;
            }
            if stored.is_err() {
                // Stop the reader: dropping the receiver fails its next send.
                break;
            }
        }
        drop(rx);
        let read = reader.await.map_err(Error::internal)?;
        stored?;
        read.map_err(|e| Error::Invalid(e.to_string()))
    }

    /// The current database's advisories for `keys`.
    pub async fn lookup(
        &self,
        keys: impl IntoIterator<Item = PackageKey>,
    ) -> Result<HashMap<PackageKey, Vec<Advisory>>> {
        let keys: Vec<(String, String)> = keys.into_iter().map(|k| (k.ecosystem, k.name)).collect();
        let mut found: HashMap<PackageKey, Vec<Advisory>> = HashMap::new();
        for row in self.store.advisories(&keys).await? {
            let advisory: Advisory = codec::decode(&row.data).map_err(Error::internal)?;
            found
                .entry(PackageKey {
                    ecosystem: row.ecosystem,
                    name: row.package,
                })
                .or_default()
                .push(advisory);
        }
        Ok(found)
    }
}

fn row(key: PackageKey, advisory: &Advisory) -> AdvisoryRow {
    AdvisoryRow {
        ecosystem: key.ecosystem,
        package: key.name,
        id: advisory.id.clone(),
        data: codec::encode(advisory),
    }
}
