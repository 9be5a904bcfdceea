//! The security hub's queries and CVE exports (`migrations/*/0022_scan_findings.sql`):
//! findings written with their report, counts per report, the hub's summary and filtered
//! listing, export executions and their CSV pieces.

use std::collections::HashMap;

use async_trait::async_trait;
use harbor_core::Result;
use harbor_core::identity::Page;
use harbor_core::scan::security::{
    CveExport, DangerousArtifact, DangerousCve, ExportArtifact, ExportCriteria, ExportCursor,
    ExportRow, Finding, NewCveExport, SecurityCounts, SecurityStore, VulnFilter, VulnerabilityRow,
    severity_rank,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AssertSqlSafe, Row};

use super::SqlMetadataStore;
use crate::error::internal;

/// Finding rows per INSERT (13 parameters each: under both engines' limits).
const INSERT_ROWS: usize = 400;
/// Artifact ids per export query.
const IDS_PER_QUERY: usize = 500;

/// A CVSS score as stored: tenths, rounded.
fn tenths(score: f64) -> i64 {
    (score * 10.0).round() as i64
}

fn score(tenths: Option<i64>) -> Option<f64> {
    tenths.map(|t| t as f64 / 10.0)
}

fn count(row: &AnyRow, i: usize) -> Result<u64> {
    let n: i64 = row.try_get(i).map_err(internal)?;
    Ok(n.max(0) as u64)
}

/// The name of a severity rank, for rows grouped across reports.
fn severity_name(rank: i64) -> &'static str {
    match rank {
        5 => "Critical",
        4 => "High",
        3 => "Medium",
        2 => "Low",
        1 => "Negligible",
        _ => "Unknown",
    }
}

/// Replaces a report's findings and their counts, in the caller's transaction.
pub(super) async fn replace_findings(
    tx: &mut sqlx::Transaction<'static, Any>,
    report_id: &str,
    findings: &[Finding],
) -> Result<()> {
    for table in ["scan_findings", "scan_finding_counts"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE report_id = $1"
        )))
        .bind(report_id)
        .execute(&mut **tx)
        .await
        .map_err(internal)?;
    }
    let mut counts = [0i64; 7]; // critical high medium low none unknown fixable
    for f in findings {
        let slot = match severity_rank(&f.severity) {
            5 => 0,
            4 => 1,
            3 => 2,
            2 => 3,
            1 => 4,
            _ => 5,
        };
        counts[slot] += 1;
        if !f.fix_version.is_empty() {
            counts[6] += 1;
        }
    }
    for (n, chunk) in findings.chunks(INSERT_ROWS).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 13;
                let list: Vec<String> = (1..=13).map(|k| format!("${}", p + k)).collect();
                format!("({})", list.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO scan_findings (report_id, seq, cve_id, package, version, fix_version,
                 severity, severity_rank, cvss_v3, cwe_ids, description, links, vendor_attributes)
             VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (i, f) in chunk.iter().enumerate() {
            let seq = (n * INSERT_ROWS + i) as i64;
            query = query
                .bind(report_id)
                .bind(seq)
                .bind(f.cve_id.as_str())
                .bind(f.package.as_str())
                .bind(f.version.as_str())
                .bind(f.fix_version.as_str())
                .bind(f.severity.as_str())
                .bind(severity_rank(&f.severity))
                .bind(f.cvss_v3.map(tenths))
                .bind(f.cwe_ids.as_str())
                .bind(f.description.as_str())
                .bind(f.links.join("\n"))
                .bind(f.vendor_attributes.as_str());
        }
        query.execute(&mut **tx).await.map_err(internal)?;
    }
    sqlx::query(
        "INSERT INTO scan_finding_counts (report_id, critical, high, medium, low, none_cnt,
             unknown, fixable) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(report_id)
    .bind(counts[0])
    .bind(counts[1])
    .bind(counts[2])
    .bind(counts[3])
    .bind(counts[4])
    .bind(counts[5])
    .bind(counts[6])
    .execute(&mut **tx)
    .await
    .map_err(internal)?;
    Ok(())
}

/// The hub's listing: its joins and its filters' conditions, with their values (from `$2`:
/// `$1` is the registration).
fn vulnerability_query(filter: &VulnFilter) -> (String, Vec<Bind>) {
    let mut conds: Vec<(&str, Option<Bind>)> = Vec::new();
    if let Some(v) = &filter.cve_id {
        conds.push(("f.cve_id = ", Some(Bind::Text(v.clone()))));
    }
    if let Some(v) = &filter.severity {
        conds.push(("f.severity = ", Some(Bind::Text(v.clone()))));
    }
    if let Some((min, max)) = filter.cvss_v3 {
        conds.push(("f.cvss_v3 IS NOT NULL", None));
        if let Some(min) = min {
            conds.push(("f.cvss_v3 >= ", Some(Bind::Int(tenths(min)))));
        }
        if let Some(max) = max {
            conds.push(("f.cvss_v3 <= ", Some(Bind::Int(tenths(max)))));
        }
    }
    if let Some(v) = filter.project_id {
        conds.push(("rp.project_id = ", Some(Bind::Int(v))));
    }
    if let Some(v) = &filter.repository_name {
        conds.push(("rp.name = ", Some(Bind::Text(v.clone()))));
    }
    if let Some(v) = &filter.package {
        conds.push(("f.package = ", Some(Bind::Text(v.clone()))));
    }
    if let Some(v) = &filter.digest {
        conds.push(("m.digest = ", Some(Bind::Text(v.clone()))));
    }
    if let Some(v) = &filter.tag {
        conds.push((
            "m.id IN (SELECT t.manifest_id FROM tags t WHERE t.name = ",
            Some(Bind::Text(v.clone())),
        ));
    }
    let mut sql = String::from(
        " FROM scan_reports r
          JOIN scan_findings f ON f.report_id = r.id
          JOIN manifests m ON m.digest = r.digest
          JOIN repositories rp ON rp.id = m.repository_id
         WHERE r.registration_uuid = $1 AND r.status = 'Success'",
    );
    let mut binds = Vec::new();
    for (cond, bind) in conds {
        sql.push_str(" AND ");
        sql.push_str(cond);
        if let Some(b) = bind {
            binds.push(b);
            sql.push_str(&format!("${}", binds.len() + 1));
            if cond.ends_with("t.name = ") {
                sql.push(')');
            }
        }
    }
    (sql, binds)
}

/// A value bound to a built query.
enum Bind {
    Int(i64),
    Text(String),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Any, AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, Any, AnyArguments> {
    for b in binds {
        query = match b {
            Bind::Int(v) => query.bind(v),
            Bind::Text(v) => query.bind(v),
        };
    }
    query
}

const EXPORT_COLUMNS: &str = "e.id, e.user_id, e.user_name, e.job_name, e.criteria, e.job_id, \
     e.status, e.status_text, e.created_at, e.end_at, e.file_digest, e.file_size, e.file_rows, \
     j.status, j.error";

fn export(row: &AnyRow) -> Result<CveExport> {
    let criteria: String = row.try_get(4).map_err(internal)?;
    let criteria = decode_criteria(&criteria);
    let mut status: String = row.try_get(6).map_err(internal)?;
    let mut status_text: String = row.try_get(7).map_err(internal)?;
    let job_status: Option<String> = row.try_get(13).map_err(internal)?;
    let job_error: Option<String> = row.try_get(14).map_err(internal)?;
    // A job that ended without recording the export's outcome (its worker was lost for
    // good) decides the status.
    if status == "Running"
        && let Some(job) =
            job_status.filter(|s| matches!(s.as_str(), "Error" | "Stopped" | "Success"))
    {
        let stopped = job == "Stopped";
        status = if stopped { job } else { "Error".into() };
        if status_text.is_empty() {
            status_text = job_error.unwrap_or_else(|| {
                if stopped {
                    "stopped by request".into()
                } else {
                    "the export job ended without finishing".into()
                }
            });
        }
    }
    let file_size = count(row, 11)?;
    Ok(CveExport {
        id: row.try_get(0).map_err(internal)?,
        user_id: row.try_get(1).map_err(internal)?,
        user_name: row.try_get(2).map_err(internal)?,
        job_name: row.try_get(3).map_err(internal)?,
        criteria,
        job_id: row.try_get(5).map_err(internal)?,
        status,
        status_text,
        created_ms: row.try_get(8).map_err(internal)?,
        end_ms: row.try_get(9).map_err(internal)?,
        file_digest: row.try_get(10).map_err(internal)?,
        file_size,
        file_rows: count(row, 12)?,
        file_present: file_size > 0,
    })
}

/// The stored criteria (JSON of the request's fields).
fn encode_criteria(c: &ExportCriteria) -> String {
    serde_json::json!({
        "projects": c.projects,
        "labels": c.labels,
        "repositories": c.repositories,
        "tags": c.tags,
        "cve_ids": c.cve_ids,
    })
    .to_string()
}

fn decode_criteria(s: &str) -> ExportCriteria {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
    let ids = |k: &str| -> Vec<i64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
            .unwrap_or_default()
    };
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    ExportCriteria {
        projects: ids("projects"),
        labels: ids("labels"),
        repositories: text("repositories"),
        tags: text("tags"),
        cve_ids: text("cve_ids"),
    }
}

impl SqlMetadataStore {
    async fn export_by(&self, condition: &str, bind: Bind) -> Result<Vec<CveExport>> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM cve_exports e LEFT JOIN jobs j ON j.id = e.job_id
             WHERE {condition} ORDER BY e.id DESC"
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), vec![bind])
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        rows.iter().map(export).collect()
    }
}

#[async_trait]
impl SecurityStore for SqlMetadataStore {
    async fn security_counts(&self, registration_uuid: &str) -> Result<SecurityCounts> {
        // PostgreSQL's SUM of BIGINT is NUMERIC: cast back.
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(c.critical), 0) AS BIGINT),
                    CAST(COALESCE(SUM(c.high), 0) AS BIGINT),
                    CAST(COALESCE(SUM(c.medium), 0) AS BIGINT),
                    CAST(COALESCE(SUM(c.low), 0) AS BIGINT),
                    CAST(COALESCE(SUM(c.none_cnt), 0) AS BIGINT),
                    CAST(COALESCE(SUM(c.unknown), 0) AS BIGINT),
                    CAST(COALESCE(SUM(c.fixable), 0) AS BIGINT),
                    (SELECT COUNT(*) FROM manifests a WHERE EXISTS (
                        SELECT 1 FROM scan_reports s WHERE s.digest = a.digest
                           AND s.registration_uuid = $1 AND s.status = 'Success')),
                    (SELECT COUNT(*) FROM manifests)
               FROM manifests m
               JOIN scan_reports r ON r.digest = m.digest
               JOIN scan_finding_counts c ON c.report_id = r.id
              WHERE r.registration_uuid = $1 AND r.status = 'Success'",
        )
        .bind(registration_uuid)
        .fetch_one(&self.read)
        .await
        .map_err(internal)?;
        Ok(SecurityCounts {
            critical: count(&row, 0)?,
            high: count(&row, 1)?,
            medium: count(&row, 2)?,
            low: count(&row, 3)?,
            none: count(&row, 4)?,
            unknown: count(&row, 5)?,
            fixable: count(&row, 6)?,
            scanned: count(&row, 7)?,
            artifacts: count(&row, 8)?,
        })
    }

    async fn dangerous_cves(
        &self,
        registration_uuid: &str,
        limit: usize,
    ) -> Result<Vec<DangerousCve>> {
        let rows = sqlx::query(
            "SELECT f.cve_id, f.package, f.version, MAX(f.cvss_v3) AS score,
                    MAX(f.severity_rank) AS rank, MAX(f.description)
               FROM scan_findings f
               JOIN scan_reports r ON r.id = f.report_id
              WHERE r.registration_uuid = $1 AND r.status = 'Success'
                AND f.cvss_v3 IS NOT NULL
                AND EXISTS (SELECT 1 FROM manifests m WHERE m.digest = r.digest)
              GROUP BY f.cve_id, f.package, f.version
              ORDER BY score DESC, rank DESC, f.cve_id, f.package, f.version
              LIMIT $2",
        )
        .bind(registration_uuid)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        rows.iter()
            .map(|row| {
                let tenths: i64 = row.try_get(3).map_err(internal)?;
                let rank: i64 = row.try_get(4).map_err(internal)?;
                Ok(DangerousCve {
                    cve_id: row.try_get(0).map_err(internal)?,
                    package: row.try_get(1).map_err(internal)?,
                    version: row.try_get(2).map_err(internal)?,
                    cvss_v3: tenths as f64 / 10.0,
                    severity: severity_name(rank).into(),
                    description: row.try_get(5).map_err(internal)?,
                })
            })
            .collect()
    }

    async fn dangerous_artifacts(
        &self,
        registration_uuid: &str,
        limit: usize,
    ) -> Result<Vec<DangerousArtifact>> {
        let rows = sqlx::query(
            "SELECT COALESCE(rp.project_id, 0), rp.name, m.digest, c.critical, c.high,
                    c.medium, c.low
               FROM manifests m
               JOIN repositories rp ON rp.id = m.repository_id
               JOIN scan_reports r ON r.digest = m.digest
               JOIN scan_finding_counts c ON c.report_id = r.id
              WHERE r.registration_uuid = $1 AND r.status = 'Success'
                AND c.critical + c.high + c.medium + c.low > 0
              ORDER BY c.critical DESC, c.high DESC, c.medium DESC, c.low DESC, m.id
              LIMIT $2",
        )
        .bind(registration_uuid)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        rows.iter()
            .map(|row| {
                Ok(DangerousArtifact {
                    project_id: row.try_get(0).map_err(internal)?,
                    repository_name: row.try_get(1).map_err(internal)?,
                    digest: row.try_get(2).map_err(internal)?,
                    critical: count(row, 3)?,
                    high: count(row, 4)?,
                    medium: count(row, 5)?,
                    low: count(row, 6)?,
                })
            })
            .collect()
    }

    async fn vulnerabilities(
        &self,
        registration_uuid: &str,
        filter: &VulnFilter,
        page: Page,
    ) -> Result<Vec<VulnerabilityRow>> {
        let (from, mut binds) = vulnerability_query(filter);
        let n = binds.len() + 1;
        let sql = format!(
            "SELECT COALESCE(rp.project_id, 0), rp.name, m.id, m.digest, f.cve_id, f.package,
                    f.version, f.fix_version, f.severity, f.cvss_v3, f.cwe_ids, f.description,
                    f.links
             {from}
             ORDER BY (f.cvss_v3 IS NULL), f.cvss_v3 DESC, m.id, r.id, f.seq
             LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        binds.push(Bind::Int(i64::try_from(page.page_size).unwrap_or(i64::MAX)));
        binds.push(Bind::Int(i64::try_from(page.offset()).unwrap_or(i64::MAX)));
        let query = sqlx::query(AssertSqlSafe(sql)).bind(registration_uuid);
        let rows = bind_all(query, binds)
            .fetch_all(&self.read)
            .await
            .map_err(internal)?;
        rows.iter()
            .map(|row| {
                let links: String = row.try_get(12).map_err(internal)?;
                Ok(VulnerabilityRow {
                    project_id: row.try_get(0).map_err(internal)?,
                    repository_name: row.try_get(1).map_err(internal)?,
                    artifact_id: row.try_get(2).map_err(internal)?,
                    digest: row.try_get(3).map_err(internal)?,
                    finding: Finding {
                        cve_id: row.try_get(4).map_err(internal)?,
                        package: row.try_get(5).map_err(internal)?,
                        version: row.try_get(6).map_err(internal)?,
                        fix_version: row.try_get(7).map_err(internal)?,
                        severity: row.try_get(8).map_err(internal)?,
                        cvss_v3: score(row.try_get(9).map_err(internal)?),
                        cwe_ids: row.try_get(10).map_err(internal)?,
                        description: row.try_get(11).map_err(internal)?,
                        links: links
                            .lines()
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        vendor_attributes: String::new(),
                    },
                })
            })
            .collect()
    }

    async fn count_vulnerabilities(
        &self,
        registration_uuid: &str,
        filter: &VulnFilter,
        cap: Option<u64>,
    ) -> Result<Option<u64>> {
        let (from, mut binds) = vulnerability_query(filter);
        let sql = match cap {
            Some(cap) => {
                binds.push(Bind::Int(
                    i64::try_from(cap.saturating_add(1)).unwrap_or(i64::MAX),
                ));
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 AS one {from} LIMIT ${}) t",
                    binds.len() + 1
                )
            }
            None => format!("SELECT COUNT(*) {from}"),
        };
        let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(registration_uuid);
        for b in binds {
            query = match b {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        let n = query.fetch_one(&self.read).await.map_err(internal)?;
        let n = n.max(0) as u64;
        Ok(match cap {
            Some(cap) if n > cap => None,
            _ => Some(n),
        })
    }

    async fn create_cve_export(&self, e: &NewCveExport) -> Result<CveExport> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cve_exports (user_id, user_name, job_name, criteria, status, created_at)
             VALUES ($1, $2, $3, $4, 'Running', $5) RETURNING id",
        )
        .bind(e.user_id)
        .bind(e.user_name.as_str())
        .bind(e.job_name.as_str())
        .bind(encode_criteria(&e.criteria))
        .bind(e.created_ms)
        .fetch_one(&self.write)
        .await
        .map_err(internal)?;
        Ok(CveExport {
            id,
            user_id: e.user_id,
            user_name: e.user_name.clone(),
            job_name: e.job_name.clone(),
            criteria: e.criteria.clone(),
            job_id: None,
            status: "Running".into(),
            status_text: String::new(),
            created_ms: e.created_ms,
            end_ms: 0,
            file_digest: String::new(),
            file_size: 0,
            file_rows: 0,
            file_present: false,
        })
    }

    async fn set_cve_export_job(&self, id: i64, job_id: i64) -> Result<()> {
        sqlx::query("UPDATE cve_exports SET job_id = $2 WHERE id = $1")
            .bind(id)
            .bind(job_id)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn cve_export(&self, id: i64) -> Result<Option<CveExport>> {
        Ok(self.export_by("e.id = $1", Bind::Int(id)).await?.pop())
    }

    async fn cve_exports_of(&self, user_name: &str) -> Result<Vec<CveExport>> {
        self.export_by("e.user_name = $1", Bind::Text(user_name.to_owned()))
            .await
    }

    async fn export_artifacts(&self, project_id: i64) -> Result<Vec<ExportArtifact>> {
        let rows = sqlx::query(
            "SELECT m.id, rp.name FROM manifests m
               JOIN repositories rp ON rp.id = m.repository_id
              WHERE rp.project_id = $1 ORDER BY m.id",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        let mut out = Vec::with_capacity(rows.len());
        let mut at = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get(0).map_err(internal)?;
            at.insert(id, out.len());
            out.push(ExportArtifact {
                id,
                repository: row.try_get(1).map_err(internal)?,
                tags: Vec::new(),
                labels: Vec::new(),
                children: Vec::new(),
            });
        }
        let tags = sqlx::query(
            "SELECT t.manifest_id, t.name FROM tags t
               JOIN repositories rp ON rp.id = t.repository_id
              WHERE rp.project_id = $1 ORDER BY t.manifest_id, t.name",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        for row in &tags {
            let id: i64 = row.try_get(0).map_err(internal)?;
            if let Some(&i) = at.get(&id) {
                out[i].tags.push(row.try_get(1).map_err(internal)?);
            }
        }
        let labels = sqlx::query(
            "SELECT al.manifest_id, al.label_id FROM artifact_labels al
               JOIN manifests m ON m.id = al.manifest_id
               JOIN repositories rp ON rp.id = m.repository_id
              WHERE rp.project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        for row in &labels {
            let id: i64 = row.try_get(0).map_err(internal)?;
            if let Some(&i) = at.get(&id) {
                out[i].labels.push(row.try_get(1).map_err(internal)?);
            }
        }
        let children = sqlx::query(
            "SELECT m.id, c.id FROM manifests m
               JOIN repositories rp ON rp.id = m.repository_id
               JOIN manifest_references mr ON mr.manifest_id = m.id AND mr.kind = 1
               JOIN manifests c ON c.repository_id = m.repository_id AND c.digest = mr.digest
              WHERE rp.project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await
        .map_err(internal)?;
        for row in &children {
            let id: i64 = row.try_get(0).map_err(internal)?;
            if let Some(&i) = at.get(&id) {
                out[i].children.push(row.try_get(1).map_err(internal)?);
            }
        }
        Ok(out)
    }

    async fn export_rows(
        &self,
        artifact_ids: &[i64],
        after: Option<&ExportCursor>,
        limit: usize,
    ) -> Result<Vec<ExportRow>> {
        let mut out: Vec<ExportRow> = Vec::new();
        let mut ids: Vec<i64> = artifact_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let start = after.map_or(0, |c| c.artifact_id);
        let ids: Vec<i64> = ids.into_iter().filter(|id| *id >= start).collect();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            if out.len() >= limit {
                break;
            }
            let mut binds: Vec<Bind> = chunk.iter().map(|id| Bind::Int(*id)).collect();
            let mut sql = format!(
                "SELECT m.id, r.id, f.seq, rp.name, m.digest, f.cve_id, f.package, f.version,
                        f.fix_version, f.severity, f.cwe_ids, f.vendor_attributes,
                        COALESCE(s.name, r.registration_uuid)
                   FROM manifests m
                   JOIN repositories rp ON rp.id = m.repository_id
                   JOIN scan_reports r ON r.digest = m.digest AND r.status = 'Success'
                   JOIN scan_findings f ON f.report_id = r.id
                   LEFT JOIN scanner_registrations s ON s.uuid = r.registration_uuid
                  WHERE m.id IN ({})",
                super::placeholders(1, chunk.len())
            );
            if let Some(c) = after.filter(|c| chunk.contains(&c.artifact_id)) {
                let n = binds.len();
                sql.push_str(&format!(
                    " AND (m.id > ${a} OR (m.id = ${a} AND (r.id > ${b} OR (r.id = ${b} AND f.seq > ${c}))))",
                    a = n + 1,
                    b = n + 2,
                    c = n + 3
                ));
                binds.push(Bind::Int(c.artifact_id));
                binds.push(Bind::Text(c.report_id.clone()));
                binds.push(Bind::Int(c.seq));
            }
            binds.push(Bind::Int((limit - out.len()) as i64));
            sql.push_str(&format!(
                " ORDER BY m.id, r.id, f.seq LIMIT ${}",
                binds.len()
            ));
            let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds)
                .fetch_all(&self.read)
                .await
                .map_err(internal)?;
            for row in &rows {
                out.push(ExportRow {
                    cursor: ExportCursor {
                        artifact_id: row.try_get(0).map_err(internal)?,
                        report_id: row.try_get(1).map_err(internal)?,
                        seq: row.try_get(2).map_err(internal)?,
                    },
                    repository: row.try_get(3).map_err(internal)?,
                    digest: row.try_get(4).map_err(internal)?,
                    cve_id: row.try_get(5).map_err(internal)?,
                    package: row.try_get(6).map_err(internal)?,
                    version: row.try_get(7).map_err(internal)?,
                    fix_version: row.try_get(8).map_err(internal)?,
                    severity: row.try_get(9).map_err(internal)?,
                    cwe_ids: row.try_get(10).map_err(internal)?,
                    vendor_attributes: row.try_get(11).map_err(internal)?,
                    scanner: row.try_get(12).map_err(internal)?,
                });
            }
        }
        Ok(out)
    }

    async fn reset_cve_export_file(&self, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM cve_export_chunks WHERE export_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        sqlx::query(
            "UPDATE cve_exports SET file_digest = '', file_size = 0, file_rows = 0 WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }

    async fn put_cve_export_chunk(&self, id: i64, seq: i64, data: &[u8]) -> Result<()> {
        sqlx::query("INSERT INTO cve_export_chunks (export_id, seq, data) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(seq)
            .bind(data)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn finish_cve_export(
        &self,
        id: i64,
        status: &str,
        status_text: &str,
        file: Option<(&str, u64, u64)>,
    ) -> Result<bool> {
        let (digest, size, rows) = file.unwrap_or(("", 0, 0));
        let updated = sqlx::query(
            "UPDATE cve_exports SET status = $2, status_text = $3, end_at = $4,
                 file_digest = $5, file_size = $6, file_rows = $7
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(status_text)
        .bind(harbor_core::model::now_ms())
        .bind(digest)
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(i64::try_from(rows).unwrap_or(i64::MAX))
        .execute(&self.write)
        .await
        .map_err(internal)?;
        Ok(updated.rows_affected() > 0)
    }

    async fn cve_export_chunk(&self, id: i64, seq: i64) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT c.data FROM cve_export_chunks c JOIN cve_exports e ON e.id = c.export_id
              WHERE c.export_id = $1 AND c.seq = $2 AND e.file_size > 0",
        )
        .bind(id)
        .bind(seq)
        .fetch_optional(&self.read)
        .await
        .map_err(internal)
    }

    async fn delete_cve_export(&self, id: i64) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM cve_exports WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(internal)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn purge_cve_exports(
        &self,
        files_before_ms: i64,
        exports_before_ms: i64,
    ) -> Result<(u64, u64)> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM cve_export_chunks WHERE export_id IN (
                 SELECT id FROM cve_exports WHERE file_size > 0 AND end_at < $1)",
        )
        .bind(files_before_ms)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let files = sqlx::query(
            "UPDATE cve_exports SET file_size = 0, file_digest = ''
              WHERE file_size > 0 AND end_at < $1",
        )
        .bind(files_before_ms)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        let exports = sqlx::query("DELETE FROM cve_exports WHERE created_at < $1")
            .bind(exports_before_ms)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok((files.rows_affected(), exports.rows_affected()))
    }
}
