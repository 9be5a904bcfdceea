//! The scanner's vulnerability database and layer inventory cache
//! (`migrations/*/0018_scanner.sql`). Not copied by `copy`: both are derived data (import
//! the database again on the target; inventories are recomputed).

use async_trait::async_trait;
use harbor_core::model::now_ms;
use harbor_core::scan::{
    AdvisoryRow, ScanReportRecord, ScanRequestRecord, ScanRequestState, ScanStore, VulnDbInfo,
};
use harbor_core::{Digest, Result};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::SqlMetadataStore;
use crate::error::{StorageError, internal};

/// Advisory rows per INSERT (5 parameters each: under SQLite's and PostgreSQL's limits).
const INSERT_ROWS: usize = 1_000;
/// Keys per lookup query (2 parameters each).
const LOOKUP_KEYS: usize = 500;
/// An import that has not finished after this long was abandoned.
const ABANDONED_MS: i64 = 3_600_000;

/// Deletes an import's advisories and its record.
async fn drop_generation(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    generation: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM vuln_advisories WHERE generation = $1")
        .bind(generation)
        .execute(&mut **tx)
        .await
        .map_err(internal)?;
    sqlx::query("DELETE FROM vuln_db_imports WHERE generation = $1")
        .bind(generation)
        .execute(&mut **tx)
        .await
        .map_err(internal)?;
    Ok(())
}

fn info(row: &AnyRow) -> Result<VulnDbInfo> {
    let records: i64 = row.try_get(3).map_err(internal)?;
    let advisories: i64 = row.try_get(4).map_err(internal)?;
    Ok(VulnDbInfo {
        generation: row.try_get(0).map_err(internal)?,
        source: row.try_get(1).map_err(internal)?,
        newest: row.try_get(2).map_err(internal)?,
        records: records.max(0) as u64,
        advisories: advisories.max(0) as u64,
        imported_at_ms: row.try_get(5).map_err(internal)?,
    })
}

#[async_trait]
impl ScanStore for SqlMetadataStore {
    async fn begin_vuln_import(&self, source: &str) -> Result<i64> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let stale: Vec<i64> = sqlx::query_scalar(
            "SELECT generation FROM vuln_db_imports WHERE state = 'importing' AND started_at < $1",
        )
        .bind(now - ABANDONED_MS)
        .fetch_all(&mut *tx)
        .await
        .map_err(internal)?;
        for generation in stale {
            drop_generation(&mut tx, generation).await?;
        }
        let generation: i64 = sqlx::query_scalar(
            "INSERT INTO vuln_db_imports (state, source, started_at) VALUES ('importing', $1, $2)
             RETURNING generation",
        )
        .bind(source)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(generation)
    }

    async fn insert_advisories(&self, generation: i64, rows: &[AdvisoryRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(INSERT_ROWS) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 4 + 2;
                    format!("($1, ${p}, ${}, ${}, ${})", p + 1, p + 2, p + 3)
                })
                .collect();
            let sql = format!(
                "INSERT INTO vuln_advisories (generation, ecosystem, package, id, data) VALUES {}
                 ON CONFLICT DO NOTHING",
                values.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(generation);
            for row in chunk {
                query = query
                    .bind(row.ecosystem.as_str())
                    .bind(row.package.as_str())
                    .bind(row.id.as_str())
                    .bind(row.data.as_slice());
            }
            query.execute(&mut *tx).await.map_err(internal)?;
        }
        tx.commit().await.map_err(internal)
    }

    async fn commit_vuln_import(&self, info: &VulnDbInfo) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let old: Vec<i64> = sqlx::query_scalar(
            "SELECT generation FROM vuln_db_imports WHERE state <> 'importing' AND generation <> $1",
        )
        .bind(info.generation)
        .fetch_all(&mut *tx)
        .await
        .map_err(internal)?;
        let updated = sqlx::query(
            "UPDATE vuln_db_imports SET state = 'current', newest = $2, records = $3,
                 advisories = $4, imported_at = $5
             WHERE generation = $1 AND state = 'importing'",
        )
        .bind(info.generation)
        .bind(info.newest.as_str())
        .bind(i64::try_from(info.records).unwrap_or(i64::MAX))
        .bind(i64::try_from(info.advisories).unwrap_or(i64::MAX))
        .bind(info.imported_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        if updated.rows_affected() == 0 {
            return Err(harbor_core::Error::NotFound(format!(
                "vulnerability database import {} is not in progress",
                info.generation
            )));
        }
        for generation in old {
            drop_generation(&mut tx, generation).await?;
        }
        tx.commit().await.map_err(internal)?;
        // A fresh table has no statistics: without them PostgreSQL plans the lookups'
        // 500-pair IN lists as scans of every row (measured: 200 ms a query, 2.5 ms after).
        if self.dialect == super::Dialect::Postgres {
            sqlx::query("ANALYZE vuln_advisories")
                .execute(&self.write)
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    async fn abort_vuln_import(&self, generation: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM vuln_advisories WHERE generation = $1")
            .bind(generation)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        sqlx::query("DELETE FROM vuln_db_imports WHERE generation = $1 AND state = 'importing'")
            .bind(generation)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn vuln_db_info(&self) -> Result<Option<VulnDbInfo>> {
        sqlx::query(
            "SELECT generation, source, newest, records, advisories, imported_at
             FROM vuln_db_imports WHERE state = 'current' ORDER BY generation DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await
        .map_err(internal)?
        .as_ref()
        .map(info)
        .transpose()
    }

    async fn advisories(&self, keys: &[(String, String)]) -> Result<Vec<AdvisoryRow>> {
        let Some(current) = self.vuln_db_info().await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for chunk in keys.chunks(LOOKUP_KEYS) {
            let pairs: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${})", i * 2 + 2, i * 2 + 3))
                .collect();
            let sql = format!(
                "SELECT ecosystem, package, id, data FROM vuln_advisories
                 WHERE generation = $1 AND (ecosystem, package) IN ({})",
                pairs.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(current.generation);
            for (ecosystem, package) in chunk {
                query = query.bind(ecosystem.as_str()).bind(package.as_str());
            }
            for row in query.fetch_all(&self.read).await.map_err(internal)? {
                out.push(AdvisoryRow {
                    ecosystem: row.try_get(0).map_err(internal)?,
                    package: row.try_get(1).map_err(internal)?,
                    id: row.try_get(2).map_err(internal)?,
                    data: row.try_get(3).map_err(internal)?,
                });
            }
        }
        Ok(out)
    }

    async fn layer_inventory(&self, digest: &Digest, version: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT data FROM scan_layer_inventories WHERE digest = $1 AND version = $2",
        )
        .bind(digest.to_string())
        .bind(version)
        .fetch_optional(&self.read)
        .await
        .map_err(internal)
    }

    async fn put_layer_inventory(&self, digest: &Digest, version: &str, data: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO scan_layer_inventories (digest, version, data, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(digest.to_string())
        .bind(version)
        .bind(data)
        .bind(now_ms())
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(())
    }

    async fn create_scan_request(&self, r: &ScanRequestRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO scan_requests (id, request, credential, state, error, result, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id.as_str())
        .bind(r.request.as_str())
        .bind(r.sealed_authorization.as_slice())
        .bind(r.state.as_str())
        .bind(r.error.as_str())
        .bind(r.result.as_slice())
        .bind(r.created_ms)
        .bind(r.updated_ms)
        .execute(&self.write)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                harbor_core::Error::Conflict(format!("scan request {} exists already", r.id))
            }
            _ => internal(e),
        })?;
        Ok(())
    }

    async fn scan_request(&self, id: &str) -> Result<Option<ScanRequestRecord>> {
        let Some(row) = sqlx::query(
            "SELECT id, request, credential, state, error, result, created_at, updated_at
             FROM scan_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(internal)?
        else {
            return Ok(None);
        };
        let state: String = row.try_get(3).map_err(internal)?;
        Ok(Some(ScanRequestRecord {
            id: row.try_get(0).map_err(internal)?,
            request: row.try_get(1).map_err(internal)?,
            sealed_authorization: row.try_get(2).map_err(internal)?,
            state: ScanRequestState::parse(&state).ok_or_else(|| {
                internal(StorageError::Inconsistent(format!(
                    "scan request state {state:?}"
                )))
            })?,
            error: row.try_get(4).map_err(internal)?,
            result: row.try_get(5).map_err(internal)?,
            created_ms: row.try_get(6).map_err(internal)?,
            updated_ms: row.try_get(7).map_err(internal)?,
        }))
    }

    async fn update_scan_request(
        &self,
        id: &str,
        state: ScanRequestState,
        error: &str,
        result: &[u8],
    ) -> Result<bool> {
        // A final state clears the sealed credential: it is no longer needed.
        let sql = if matches!(state, ScanRequestState::Done | ScanRequestState::Failed) {
            "UPDATE scan_requests SET state = $2, error = $3, result = $4, updated_at = $5,
                 credential = $6 WHERE id = $1"
        } else {
            "UPDATE scan_requests SET state = $2, error = $3, result = $4, updated_at = $5 WHERE id = $1"
        };
        let mut query = sqlx::query(sql)
            .bind(id)
            .bind(state.as_str())
            .bind(error)
            .bind(result)
            .bind(now_ms());
        if matches!(state, ScanRequestState::Done | ScanRequestState::Failed) {
            query = query.bind(Vec::<u8>::new());
        }
        let updated = query.execute(&self.write).await.map_err(internal)?;
        Ok(updated.rows_affected() > 0)
    }

    async fn delete_scan_requests_before(&self, before_ms: i64) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM scan_requests WHERE created_at < $1")
            .bind(before_ms)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(deleted.rows_affected())
    }

    async fn start_scan_report(&self, r: &ScanReportRecord, stale_before_ms: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query(
            "SELECT status, updated_at FROM scan_reports
             WHERE digest = $1 AND registration_uuid = $2 AND mime_type = $3",
        )
        .bind(r.digest.as_str())
        .bind(r.registration_uuid.as_str())
        .bind(r.mime_type.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?;
        if let Some(row) = existing {
            let status: String = row.try_get(0).map_err(internal)?;
            let updated: i64 = row.try_get(1).map_err(internal)?;
            if matches!(status.as_str(), "Pending" | "Running") && updated >= stale_before_ms {
                return Err(harbor_core::Error::Conflict(format!(
                    "a scan of {} is already running",
                    r.digest
                )));
            }
            sqlx::query(
                "DELETE FROM scan_reports WHERE digest = $1 AND registration_uuid = $2 AND mime_type = $3",
            )
            .bind(r.digest.as_str())
            .bind(r.registration_uuid.as_str())
            .bind(r.mime_type.as_str())
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        sqlx::query(
            "INSERT INTO scan_reports (id, digest, registration_uuid, mime_type, status, severity,
                 total, fixable, summary, report, log, job_id, start_at, end_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(r.id.as_str())
        .bind(r.digest.as_str())
        .bind(r.registration_uuid.as_str())
        .bind(r.mime_type.as_str())
        .bind(r.status.as_str())
        .bind(r.severity.as_str())
        .bind(i64::try_from(r.total).unwrap_or(i64::MAX))
        .bind(i64::try_from(r.fixable).unwrap_or(i64::MAX))
        .bind(r.summary.as_str())
        .bind(r.report.as_slice())
        .bind(r.log.as_str())
        .bind(r.job_id)
        .bind(r.start_ms)
        .bind(r.end_ms)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn update_scan_report(&self, r: &ScanReportRecord) -> Result<bool> {
        update_report(&self.write, r).await
    }

    async fn finish_scan_report(
        &self,
        r: &ScanReportRecord,
        findings: &[harbor_core::scan::security::Finding],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if !update_report(&mut *tx, r).await? {
            return Ok(false);
        }
        super::security::replace_findings(&mut tx, &r.id, findings).await?;
        tx.commit().await.map_err(internal)?;
        Ok(true)
    }
    async fn scan_report(&self, id: &str) -> Result<Option<ScanReportRecord>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM scan_reports WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(internal)?
            .as_ref()
            .map(report_record)
            .transpose()
    }

    async fn scan_reports_of(
        &self,
        digests: &[String],
        with_report: bool,
    ) -> Result<Vec<ScanReportRecord>> {
        let columns = if with_report {
            REPORT_COLUMNS.to_string()
        } else {
            REPORT_COLUMNS.replace("report,", "NULL AS report,")
        };
        let mut out = Vec::new();
        for chunk in digests.chunks(LOOKUP_KEYS) {
            let sql = format!(
                "SELECT {columns} FROM scan_reports WHERE digest IN ({}) ORDER BY digest, mime_type",
                super::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for digest in chunk {
                query = query.bind(digest.as_str());
            }
            for row in query.fetch_all(&self.read).await.map_err(internal)? {
                out.push(report_record(&row)?);
            }
        }
        Ok(out)
    }

    async fn scan_reports_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<ScanReportRecord>> {
        let columns = REPORT_COLUMNS.replace("report,", "NULL AS report,");
        let sql = format!(
            "SELECT {columns} FROM scan_reports WHERE start_at >= $1 AND start_at <= $2 ORDER BY start_at, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        rows.iter().map(report_record).collect()
    }
}

const REPORT_COLUMNS: &str = "id, digest, registration_uuid, mime_type, status, severity, total, \
                              fixable, summary, report, log, job_id, start_at, end_at";

fn report_record(row: &AnyRow) -> Result<ScanReportRecord> {
    let total: i64 = row.try_get(6).map_err(internal)?;
    let fixable: i64 = row.try_get(7).map_err(internal)?;
    Ok(ScanReportRecord {
        id: row.try_get(0).map_err(internal)?,
        digest: row.try_get(1).map_err(internal)?,
        registration_uuid: row.try_get(2).map_err(internal)?,
        mime_type: row.try_get(3).map_err(internal)?,
        status: row.try_get(4).map_err(internal)?,
        severity: row.try_get(5).map_err(internal)?,
        total: total.max(0) as u64,
        fixable: fixable.max(0) as u64,
        summary: row.try_get(8).map_err(internal)?,
        report: row
            .try_get::<Option<Vec<u8>>, _>(9)
            .map_err(internal)?
            .unwrap_or_default(),
        log: row.try_get(10).map_err(internal)?,
        job_id: row.try_get(11).map_err(internal)?,
        start_ms: row.try_get(12).map_err(internal)?,
        end_ms: row.try_get(13).map_err(internal)?,
    })
}

/// Writes a report's progress or outcome; false if the report is gone.
async fn update_report<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    r: &ScanReportRecord,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE scan_reports SET status = $2, severity = $3, total = $4, fixable = $5,
             summary = $6, report = $7, log = $8, job_id = $9, end_at = $10, updated_at = $11
         WHERE id = $1",
    )
    .bind(r.id.as_str())
    .bind(r.status.as_str())
    .bind(r.severity.as_str())
    .bind(i64::try_from(r.total).unwrap_or(i64::MAX))
    .bind(i64::try_from(r.fixable).unwrap_or(i64::MAX))
    .bind(r.summary.as_str())
    .bind(r.report.as_slice())
    .bind(r.log.as_str())
    .bind(r.job_id)
    .bind(r.end_ms)
    .bind(now_ms())
    .execute(ex)
    .await
    .map_err(internal)?;
    Ok(updated.rows_affected() > 0)
}
