//! Harbor's CVE export (`/export/cve`): a `SCAN_DATA_EXPORT` job on the durable queue
//! writes the findings of one project's selected artifacts as CSV, with Harbor's columns,
//! in pieces of at most 1 MiB kept in the metadata database (so any replica serves the
//! download), reading the findings a page at a time (memory stays bounded whatever the
//! project's size). Only the user who asked sees or downloads an export; its file is
//! deleted after [`FILE_RETENTION_MS`], the execution after [`EXECUTION_RETENTION_MS`].

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use harbor_auth::{Accounts, Principal};
use harbor_core::jobs::{JobContext, JobError, JobHandler, JobStore, NewJob, Trigger};
use harbor_core::model::now_ms;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::{Action, Resource};
use harbor_core::scan::security::{
    CveExport, ExportCriteria, ExportCursor, NewCveExport, select_artifacts,
};
use harbor_core::{Algorithm, Error, Hasher, Result};
use serde::{Deserialize, Serialize};

use crate::access;
use crate::system_jobs::Waker;

/// The job kind (Harbor's vendor type).
pub const JOB_KIND: &str = "SCAN_DATA_EXPORT";
/// The only `X-Scan-Data-Type` Harbor exports.
pub const SCAN_DATA_TYPE: &str = harbor_api_model::scanner_adapter::VULN_REPORT_V11;
/// Harbor's CSV columns, in order (`pkg/scan/export/model.go`).
pub const CSV_HEADER: [&str; 10] = [
    "Repository",
    "Artifact Digest",
    "CVE",
    "Package",
    "Current Version",
    "Fixed in version",
    "Severity",
    "CWE Ids",
    "Additional Data",
    "Scanner",
];
/// How long a written file is kept after its export ended (Harbor's one day).
pub const FILE_RETENTION_MS: i64 = 24 * 3_600_000;
/// How long an execution is listed.
pub const EXECUTION_RETENTION_MS: i64 = 30 * 24 * 3_600_000;
/// The status note of an export that found nothing (Harbor's words); it has no file.
pub const NOTHING_FOUND: &str = "No vulnerabilities found or matched";
/// The most bytes of CSV held before they are stored.
const CHUNK_BYTES: usize = 1 << 20;
/// Rows read per query.
const PAGE_ROWS: usize = 1_000;

/// What a caller asks to export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportRequest {
    /// A name for the job.
    pub job_name: String,
    /// What to export.
    pub criteria: ExportCriteria,
}

/// A file to download.
pub struct Download {
    /// The export it belongs to.
    pub export: CveExport,
    /// Its bytes, a piece at a time.
    pub body: BoxStream<'static, Result<Bytes>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JobParams {
    export_id: i64,
}

/// CVE exports.
#[derive(Clone)]
pub struct CveExports {
    accounts: Arc<Accounts>,
    store: Arc<dyn MetadataStore>,
    jobs: Arc<dyn JobStore>,
    wake: Option<Waker>,
}

impl CveExports {
    /// Exports of `store`'s findings, run on `jobs`.
    pub fn new(
        accounts: Arc<Accounts>,
        store: Arc<dyn MetadataStore>,
        jobs: Arc<dyn JobStore>,
    ) -> Self {
        Self {
            accounts,
            store,
            jobs,
            wake: None,
        }
    }

    /// Wakes this process's workers when an export is queued.
    pub fn with_waker(mut self, wake: Waker) -> Self {
        self.wake = Some(wake);
        self
    }

    /// The job handler to register under [`JOB_KIND`].
    pub fn job_handler(&self) -> Arc<ExportJob> {
        Arc::new(ExportJob(self.clone()))
    }

    /// Starts an export for `by` (a user with `export-cve` create in the project), as
    /// Harbor validates it: the data type must be [`SCAN_DATA_TYPE`] and the criteria
    /// name exactly one existing project ([`Error::NotFound`] otherwise) and hold no
    /// spaces. Returns the execution's id.
    pub async fn start(
        &self,
        by: &Principal,
        scan_data_type: &str,
        request: ExportRequest,
    ) -> Result<i64> {
        access::require_authenticated(by)?;
        if scan_data_type != SCAN_DATA_TYPE {
            return Err(Error::Invalid(format!(
                "Unsupported MIME type : {scan_data_type}"
            )));
        }
        request.criteria.validate()?;
        for &pid in &request.criteria.projects {
            self.require(by, pid, Action::Create).await?;
        }
        let Principal::User(user) = by else {
            return Err(Error::Forbidden("only users may export CVE data".into()));
        };
        let export = self
            .store
            .create_cve_export(&NewCveExport {
                user_id: user.id,
                user_name: user.username.clone(),
                job_name: request.job_name,
                criteria: request.criteria,
                created_ms: now_ms(),
            })
            .await?;
        let job = self
            .jobs
            .enqueue(&NewJob {
                kind: JOB_KIND.into(),
                params: serde_json::to_string(&JobParams {
                    export_id: export.id,
                })
                .map_err(Error::internal)?,
                trigger: Trigger::Manual,
                max_attempts: 2,
                run_after_ms: 0,
                schedule_id: None,
            })
            .await;
        let job = match job {
            Ok(job) => job,
            Err(e) => {
                self.store
                    .finish_cve_export(export.id, "Error", &e.to_string(), None)
                    .await?;
                return Err(e);
            }
        };
        self.store.set_cve_export_job(export.id, job.id).await?;
        if let Some(wake) = &self.wake {
            wake();
        }
        Ok(export.id)
    }

    /// Fails unless `by` may `action` CVE exports in project `pid`: [`Error::NotFound`]
    /// for a project that does not exist, [`Error::Forbidden`] (401 when anonymous) for
    /// one `by` may not export, as Harbor answers.
    async fn require(&self, by: &Principal, pid: i64, action: Action) -> Result<()> {
        let project = self
            .accounts
            .store()
            .project(pid)
            .await?
            .ok_or_else(|| Error::NotFound(format!("project {pid} not found")))?;
        let grants = self.accounts.grants(by, &project).await?;
        access::check(by, &grants, Resource::ExportCve, action)
    }

    /// One export of `by`'s ([`Error::Forbidden`] for anyone else's, as Harbor), while
    /// `by` may still read exports of its project.
    pub async fn execution(&self, by: &Principal, id: i64) -> Result<CveExport> {
        access::require_authenticated(by)?;
        let export = self
            .store
            .cve_export(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("execution with id: {id} not found")))?;
        if !owns(by, &export) {
            return Err(Error::Forbidden(
                "this export belongs to another user".into(),
            ));
        }
        for &pid in &export.criteria.projects {
            self.require(by, pid, Action::Read)
                .await
                .map_err(|e| match e {
                    Error::NotFound(m) => Error::Forbidden(m),
                    other => other,
                })?;
        }
        Ok(export)
    }

    /// `by`'s exports, newest first, leaving out those of projects `by` may no longer
    /// read exports of.
    pub async fn executions(&self, by: &Principal) -> Result<Vec<CveExport>> {
        access::require_authenticated(by)?;
        let mut out = Vec::new();
        // Each project is checked once, however many exports name it.
        let mut readable: HashMap<i64, bool> = HashMap::new();
        for export in self.store.cve_exports_of(by.name()).await? {
            if !owns(by, &export) {
                continue;
            }
            let mut allowed = true;
            for &pid in &export.criteria.projects {
                let ok = match readable.get(&pid) {
                    Some(ok) => *ok,
                    None => {
                        let ok = match self.require(by, pid, Action::Read).await {
                            Ok(()) => true,
                            Err(Error::Forbidden(_) | Error::NotFound(_)) => false,
                            Err(e) => return Err(e),
                        };
                        readable.insert(pid, ok);
                        ok
                    }
                };
                allowed &= ok;
            }
            if allowed {
                out.push(export);
            }
        }
        Ok(out)
    }

    /// The CSV of one of `by`'s exports ([`Error::NotFound`] once expired or when it
    /// found nothing).
    pub async fn download(&self, by: &Principal, id: i64) -> Result<Download> {
        let export = self.execution(by, id).await?;
        if !export.file_present {
            return Err(Error::NotFound(format!(
                "execution {id} has no file (it found nothing, is not finished or expired)"
            )));
        }
        let store = self.store.clone();
        let body = futures::stream::try_unfold(0i64, move |seq| {
            let store = store.clone();
            async move {
                Ok(store
                    .cve_export_chunk(id, seq)
                    .await?
                    .map(|data| (Bytes::from(data), seq + 1)))
            }
        });
        Ok(Download {
            export,
            body: Box::pin(body),
        })
    }

    /// Deletes expired files and old executions; returns how many of each went.
    pub async fn purge_expired(&self) -> Result<(u64, u64)> {
        let now = now_ms();
        self.store
            .purge_cve_exports(now - FILE_RETENTION_MS, now - EXECUTION_RETENTION_MS)
            .await
    }

    /// Writes an export's CSV (the job's work).
    async fn write(&self, ctx: &JobContext, id: i64) -> Result<()> {
        let Some(export) = self.store.cve_export(id).await? else {
            return Ok(()); // deleted meanwhile
        };
        if export.status != "Running" {
            return Ok(());
        }
        self.store.reset_cve_export_file(id).await?;
        let criteria = &export.criteria;
        criteria.validate()?;
        let mut ids = Vec::new();
        for &pid in &criteria.projects {
            let artifacts = self.store.export_artifacts(pid).await?;
            ids.extend(select_artifacts(criteria, &artifacts)?);
        }
        ctx.log(format!(
            "export {id} of {}: {} artifacts selected",
            export.user_name,
            ids.len()
        ));
        let selected = criteria.cve_matcher()?;
        let mut file = CsvFile::new(self.store.clone(), id);
        let mut cursor: Option<ExportCursor> = None;
        loop {
            if ctx.is_stopped() {
                return Err(Error::Invalid("stopped".into()));
            }
            let rows = self
                .store
                .export_rows(&ids, cursor.as_ref(), PAGE_ROWS)
                .await?;
            let Some(last) = rows.last() else {
                break;
            };
            cursor = Some(last.cursor.clone());
            let full = rows.len() == PAGE_ROWS;
            for r in rows.iter().filter(|r| selected(&r.cve_id)) {
                file.row(&[
                    &r.repository,
                    &r.digest,
                    &r.cve_id,
                    &r.package,
                    &r.version,
                    &r.fix_version,
                    &r.severity,
                    &r.cwe_ids,
                    &r.vendor_attributes,
                    &r.scanner,
                ])
                .await?;
            }
            if !full {
                break;
            }
        }
        match file.finish().await? {
            Some((digest, size, rows)) => {
                ctx.log(format!("wrote {rows} rows, {size} bytes ({digest})"));
                self.store
                    .finish_cve_export(id, "Success", "", Some((&digest, size, rows)))
                    .await?;
            }
            None => {
                ctx.log(NOTHING_FOUND);
                self.store
                    .finish_cve_export(id, "Success", NOTHING_FOUND, None)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Whether `export` is `by`'s.
fn owns(by: &Principal, export: &CveExport) -> bool {
    matches!(by, Principal::User(u) if u.username == export.user_name && u.id == export.user_id)
}

/// A CSV file written in pieces: the header before the first row, rows as they come.
struct CsvFile {
    store: Arc<dyn MetadataStore>,
    id: i64,
    buf: Vec<u8>,
    seq: i64,
    hasher: Hasher,
    size: u64,
    rows: u64,
}

impl CsvFile {
    fn new(store: Arc<dyn MetadataStore>, id: i64) -> Self {
        Self {
            store,
            id,
            buf: Vec::new(),
            seq: 0,
            hasher: Hasher::new(Algorithm::Sha256),
            size: 0,
            rows: 0,
        }
    }

    async fn row(&mut self, fields: &[&str]) -> Result<()> {
        if self.rows == 0 {
            csv_line(&mut self.buf, &CSV_HEADER);
        }
        csv_line(&mut self.buf, fields);
        self.rows += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.hasher.update(&self.buf);
        self.size += self.buf.len() as u64;
        self.store
            .put_cve_export_chunk(self.id, self.seq, &self.buf)
            .await?;
        self.seq += 1;
        self.buf.clear();
        Ok(())
    }

    /// The file's digest, size and rows; `None` when no row was written.
    async fn finish(mut self) -> Result<Option<(String, u64, u64)>> {
        if self.rows == 0 {
            return Ok(None);
        }
        if !self.buf.is_empty() {
            self.flush().await?;
        }
        Ok(Some((
            self.hasher.finalize().to_string(),
            self.size,
            self.rows,
        )))
    }
}

/// Appends one CSV record (RFC 4180, `\n` ends it, as Go's `encoding/csv` writes).
/// A field a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a line break) gets a leading `'`, as Harbor does.
fn csv_line(out: &mut Vec<u8>, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']);
        let value = if risky {
            format!("'{field}")
        } else {
            (*field).to_owned()
        };
        let quote = value.contains([',', '"', '\r', '\n']) || value.starts_with([' ', '\t']);
        if quote {
            out.push(b'"');
            out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(value.as_bytes());
        }
    }
    out.push(b'\n');
}

/// Runs exports.
pub struct ExportJob(CveExports);

#[async_trait]
impl JobHandler for ExportJob {
    async fn run(&self, ctx: &JobContext) -> std::result::Result<(), JobError> {
        let params: JobParams = ctx.params()?;
        match self.0.write(ctx, params.export_id).await {
            Ok(()) => Ok(()),
            // The replica is stopping or lost the job: it runs again elsewhere.
            Err(_) if ctx.is_stopped() && !ctx.stop_requested() => {
                Err(JobError::retryable("interrupted"))
            }
            Err(e) => {
                let (status, message) = if ctx.stop_requested() {
                    ("Stopped", "stopped by request".to_string())
                } else {
                    ("Error", e.to_string())
                };
                ctx.log(format!("export {} failed: {message}", params.export_id));
                if let Err(e) = self
                    .0
                    .store
                    .finish_cve_export(params.export_id, status, &message, None)
                    .await
                {
                    return Err(JobError::retryable(format!(
                        "{message}; recording the failure failed: {e}"
                    )));
                }
                Err(JobError::fatal(message))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&str]) -> String {
        let mut out = Vec::new();
        csv_line(&mut out, fields);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(
            line(&CSV_HEADER),
            "Repository,Artifact Digest,CVE,Package,Current Version,Fixed in version,Severity,CWE Ids,Additional Data,Scanner\n"
        );
        assert_eq!(line(&["a", "", "c"]), "a,,c\n");
        assert_eq!(line(&["CWE-79,CWE-89"]), "\"CWE-79,CWE-89\"\n");
        assert_eq!(
            line(&[r#"{"advisories":["X"]}"#]),
            "\"{\"\"advisories\"\":[\"\"X\"\"]}\"\n"
        );
        assert_eq!(line(&["two\nlines"]), "\"two\nlines\"\n");
        assert_eq!(line(&["=cmd|'/c calc'!A1"]), "'=cmd|'/c calc'!A1\n");
        assert_eq!(line(&["@evil/pkg", "+1", "-2"]), "'@evil/pkg,'+1,'-2\n");
        assert_eq!(line(&["\tx"]), "'\tx\n");
        assert_eq!(
            line(&["libssl1.1", "1.2.3", "CVE-2025-0001"]),
            "libssl1.1,1.2.3,CVE-2025-0001\n"
        );
    }
}
