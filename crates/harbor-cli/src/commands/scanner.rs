//! `harbor scanner ...`: the built-in scanner's vulnerability database.

use std::io::Write;
use std::path::Path;

use harbor_api_model::VulnerabilityDbStatus;

use super::{App, Failure, Outcome};
use crate::cli::{ScannerCmd, ScannerDbCmd};
use crate::output::time;

pub(crate) async fn scanner(app: &App, cmd: ScannerCmd) -> Outcome {
    let ScannerCmd::Db(cmd) = cmd;
    let (c, out) = (&app.client, &app.out);
    let status = match cmd {
        ScannerDbCmd::Status => c.vulnerability_db().await?,
        ScannerDbCmd::Import { path, source } => {
            let source = source.unwrap_or_else(|| {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string())
            });
            let meta = std::fs::metadata(&path)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
            // A directory is zipped first; the spool lives until the upload ends.
            let spool;
            let archive = if meta.is_dir() {
                spool = zip_dir(&path)
                    .map_err(|e| Failure::usage(format!("cannot zip {}: {e}", path.display())))?;
                spool.reopen().map_err(|e| Failure::usage(e.to_string()))?
            } else {
                std::fs::File::open(&path)
                    .map_err(|e| Failure::usage(format!("cannot open {}: {e}", path.display())))?
            };
            c.import_vulnerability_db(tokio::fs::File::from_std(archive), &source)
                .await?
        }
    };
    let fields = fields(&status);
    out.one(&status, &fields, &status.version)?;
    Ok(())
}

fn fields(s: &VulnerabilityDbStatus) -> Vec<(&'static str, String)> {
    if !s.imported {
        return vec![(
            "imported",
            "no: import OSV data with `harbor scanner db import PATH`".into(),
        )];
    }
    vec![
        ("imported", time(Some(&s.imported_at))),
        ("version", s.version.clone()),
        ("source", s.source.clone()),
        ("records", s.records.to_string()),
        ("advisories", s.advisories.to_string()),
    ]
}

/// Every `*.json` file under `dir`, zipped into a temporary file.
fn zip_dir(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let spool = tempfile::NamedTempFile::new()?;
    let mut zip = zip::ZipWriter::new(spool.reopen()?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut pending = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && entry.path().extension().is_some_and(|e| e == "json") {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    for file in files {
        let name = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&std::fs::read(&file)?)?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(spool)
}

const SEVERITIES: [&str; 6] = ["Unknown", "Negligible", "Low", "Medium", "High", "Critical"];

fn rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(severity))
        .unwrap_or(0)
}

/// `harbor scan ARTIFACT [--sbom] [--wait]`.
pub(crate) async fn scan(app: &App, artifact: &str, sbom: bool, wait: bool) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    let a = crate::client::ArtifactRef::parse(artifact)?;
    c.scan_artifact(&a, sbom).await?;
    if !wait {
        crate::output::emit(&format!("scan of {artifact} started"))?;
        return Ok(());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let overview = c.scan_overview(&a).await?;
        let status = if sbom {
            overview
                .sbom_overview
                .as_ref()
                .map(|o| o.scan_status.clone())
        } else {
            overview
                .scan_overview
                .as_ref()
                .and_then(|m| m.values().next())
                .map(|o| o.scan_status.clone())
        };
        let Some(status) = status.filter(|s| s != "Pending" && s != "Running") else {
            if std::time::Instant::now() > deadline {
                return Err(Failure::new(
                    super::SERVER,
                    "the scan did not end within an hour",
                ));
            }
            continue;
        };
        let mut fields = vec![("status", status.clone())];
        if let Some(o) = overview
            .scan_overview
            .as_ref()
            .and_then(|m| m.values().next())
            .filter(|_| !sbom)
        {
            fields.push(("severity", o.severity.clone()));
            if let Some(s) = &o.summary {
                fields.push(("vulnerabilities", s.total.to_string()));
                fields.push(("fixable", s.fixable.to_string()));
                let by: Vec<String> = SEVERITIES
                    .iter()
                    .rev()
                    .filter_map(|k| s.summary.get(*k).map(|n| format!("{k} {n}")))
                    .collect();
                fields.push(("by severity", by.join(", ")));
            }
            fields.push(("report", o.report_id.clone()));
        }
        out.one(&overview, &fields, &overview.digest)?;
        return if status == "Success" {
            Ok(())
        } else {
            Err(Failure::new(
                super::REFUSED,
                format!("the scan ended {status}"),
            ))
        };
    }
}

/// `harbor vuln list ARTIFACT`.
pub(crate) async fn vuln(app: &App, cmd: crate::cli::VulnCmd) -> Outcome {
    let crate::cli::VulnCmd::List {
        artifact,
        severity,
        fixable,
    } = cmd;
    let (c, out) = (&app.client, &app.out);
    let a = crate::client::ArtifactRef::parse(&artifact)?;
    let min = match severity.as_deref() {
        None => 0,
        Some(s) if SEVERITIES.iter().any(|k| k.eq_ignore_ascii_case(s)) => rank(s),
        Some(s) => {
            return Err(Failure::usage(format!(
                "unknown severity {s:?}: low, medium, high or critical"
            )));
        }
    };
    let reports = c.vulnerabilities(&a).await?;
    let Some(report) = reports
        .get(harbor_api_model::scanner_adapter::VULN_REPORT_V11)
        .or_else(|| reports.values().next())
    else {
        return Err(Failure::new(
            super::NOT_FOUND,
            format!("{artifact} has no vulnerability report: harbor scan {artifact} --wait"),
        ));
    };
    let mut items: Vec<_> = report
        .vulnerabilities
        .iter()
        .filter(|v| rank(&v.severity) >= min && (!fixable || !v.fix_version.is_empty()))
        .cloned()
        .collect();
    items.sort_by(|x, y| {
        rank(&y.severity)
            .cmp(&rank(&x.severity))
            .then_with(|| (&x.package, &x.id).cmp(&(&y.package, &y.id)))
    });
    type V = harbor_api_model::scanner_adapter::VulnerabilityItem;
    let id = |v: &V| v.id.clone();
    let severity = |v: &V| v.severity.clone();
    let package = |v: &V| v.package.clone();
    let version = |v: &V| v.version.clone();
    let fix = |v: &V| v.fix_version.clone();
    let cols: [crate::output::Column<'_, V>; 5] = [
        ("severity", &severity),
        ("id", &id),
        ("package", &package),
        ("version", &version),
        ("fixed in", &fix),
    ];
    out.list(&items, &cols, &id)?;
    Ok(())
}

/// `harbor sbom get ARTIFACT [-o FILE]`.
pub(crate) async fn sbom(app: &App, cmd: crate::cli::SbomCmd) -> Outcome {
    let crate::cli::SbomCmd::Get { artifact, file } = cmd;
    let a = crate::client::ArtifactRef::parse(&artifact)?;
    let Some(doc) = app.client.sbom(&a).await? else {
        return Err(Failure::new(
            super::NOT_FOUND,
            format!("{artifact} has no SBOM: harbor scan {artifact} --sbom --wait"),
        ));
    };
    match file {
        Some(path) => std::fs::write(&path, &doc)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&doc)
                .and_then(|()| stdout.write_all(b"\n"))
                .map_err(|e| Failure::new(super::SERVER, format!("cannot write: {e}")))?;
        }
    }
    Ok(())
}

/// `harbor scan-all ...`.
pub(crate) async fn scan_all(app: &App, cmd: crate::cli::ScanAllCmd) -> Outcome {
    use crate::cli::{ScanAllCmd, ScanAllScheduleCmd};
    use crate::client::SystemJob;
    let (c, out, kind) = (&app.client, &app.out, SystemJob::ScanAll);
    match cmd {
        ScanAllCmd::Run { wait } => {
            let id = c.start_system_job(kind, &serde_json::json!({})).await?;
            if !wait {
                out.done(
                    &format!("Scan all {id} started"),
                    &serde_json::json!({ "id": id }),
                    &id.to_string(),
                )?;
                return Ok(());
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6 * 3600);
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                let m = c.scan_all_metrics().await?;
                let ours = m.requester.as_deref() == Some(id.to_string().as_str());
                if ours && !m.ongoing {
                    show_metrics(app, &m)?;
                    let failed: u64 = ["Error", "Stopped"]
                        .iter()
                        .filter_map(|k| m.metrics.get(*k))
                        .sum();
                    return if failed == 0 {
                        Ok(())
                    } else {
                        Err(Failure::new(
                            super::REFUSED,
                            format!("{failed} of {} scans did not succeed", m.total),
                        ))
                    };
                }
                if std::time::Instant::now() > deadline {
                    return Err(Failure::new(
                        super::SERVER,
                        "scan all did not end within 6 hours",
                    ));
                }
            }
        }
        ScanAllCmd::Status => show_metrics(app, &c.scan_all_metrics().await?),
        ScanAllCmd::Stop => {
            c.stop_scan_all().await?;
            let m = c.scan_all_metrics().await?;
            show_metrics(app, &m)
        }
        ScanAllCmd::History { limit } => {
            super::jobs::history(app, kind, &c.system_job_runs(kind, limit).await?)
        }
        ScanAllCmd::Schedule { action: None } => super::jobs::show_schedule(app, kind).await,
        ScanAllCmd::Schedule {
            action: Some(ScanAllScheduleCmd::Set { every, cron }),
        } => {
            super::jobs::check_schedule(every, cron.as_deref())?;
            c.set_system_job_schedule(
                kind,
                every.as_harbor(),
                cron.as_deref(),
                &serde_json::json!({}),
            )
            .await?;
            super::jobs::show_schedule(app, kind).await
        }
        ScanAllCmd::Schedule {
            action: Some(ScanAllScheduleCmd::Remove),
        } => {
            c.set_system_job_schedule(kind, "None", None, &serde_json::json!({}))
                .await?;
            out.done(
                "Removed the scan all schedule",
                &serde_json::json!({ "schedule": { "type": "None" } }),
                "None",
            )?;
            Ok(())
        }
    }
}

fn show_metrics(app: &App, m: &harbor_api_model::ScanAllStats) -> Outcome {
    let by: Vec<String> = m.metrics.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let fields = vec![
        (
            "run",
            m.requester.clone().unwrap_or_else(|| "none yet".into()),
        ),
        ("trigger", m.trigger.clone().unwrap_or_default()),
        ("ongoing", m.ongoing.to_string()),
        ("scans", m.total.to_string()),
        ("ended", m.completed.to_string()),
        ("by status", by.join(", ")),
    ];
    app.out.one(m, &fields, &m.total.to_string())?;
    Ok(())
}
