//! `harbor security ...` (the security hub) and `harbor cve-export ...` (CSV exports).

use harbor_api_model::security::VulnerabilityItem;
use harbor_api_model::{ScanDataExportExecution, ScanDataExportRequest};

use super::{App, Failure, Outcome};
use crate::cli::{CveExportCmd, SecurityCmd};
use crate::output::time;

/// Harbor's severity names, for `--severity` in any case.
const SEVERITIES: [&str; 6] = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"];

/// A project given by name or id, as its id.
async fn project_id(app: &App, project: &str) -> Result<i64, Failure> {
    match project.parse::<i64>() {
        Ok(id) => Ok(id),
        Err(_) => Ok(app.client.project(project).await?.project_id),
    }
}

pub(crate) async fn security(app: &App, cmd: SecurityCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        SecurityCmd::Summary => {
            let s = c.security_summary().await?;
            let mut fields = vec![
                ("critical", s.critical_cnt.to_string()),
                ("high", s.high_cnt.to_string()),
                ("medium", s.medium_cnt.to_string()),
                ("low", s.low_cnt.to_string()),
                ("none", s.none_cnt.to_string()),
                ("unknown", s.unknown_cnt.to_string()),
                ("total", s.total_vuls.to_string()),
                ("fixable", s.fixable_cnt.to_string()),
                (
                    "scanned artifacts",
                    format!("{} of {}", s.scanned_cnt, s.total_artifact),
                ),
            ];
            for (i, v) in s.dangerous_cves.iter().flatten().enumerate() {
                fields.push((
                    if i == 0 { "dangerous CVEs" } else { "" },
                    format!(
                        "{} {} ({}) in {} {}",
                        v.cve_id, v.cvss_score_v3, v.severity, v.package, v.version
                    ),
                ));
            }
            for (i, a) in s.dangerous_artifacts.iter().flatten().enumerate() {
                fields.push((
                    if i == 0 { "dangerous artifacts" } else { "" },
                    format!(
                        "{}@{}: critical {}, high {}, medium {}",
                        a.repository_name, a.digest, a.critical_cnt, a.high_cnt, a.medium_cnt
                    ),
                ));
            }
            out.one(&s, &fields, &s.total_vuls.to_string())?;
        }
        SecurityCmd::Vulns {
            cve,
            severity,
            project,
            repository,
            package,
            tag,
            digest,
            score,
            limit,
        } => {
            let mut q: Vec<String> = Vec::new();
            if let Some(s) = severity {
                let name = SEVERITIES
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(&s))
                    .ok_or_else(|| {
                        Failure::usage(format!(
                            "unknown severity {s:?}: critical, high, medium, low, negligible or unknown"
                        ))
                    })?;
                q.push(format!("severity={name}"));
            }
            if let Some(p) = project {
                q.push(format!("project_id={}", project_id(app, &p).await?));
            }
            if let Some(s) = score {
                if !s.contains('~') {
                    return Err(Failure::usage(format!(
                        "--score takes MIN~MAX (such as 7~10 or 9~), not {s:?}"
                    )));
                }
                q.push(format!("cvss_score_v3=[{s}]"));
            }
            for (key, value) in [
                ("cve_id", cve),
                ("repository_name", repository),
                ("package", package),
                ("tag", tag),
                ("digest", digest),
            ] {
                if let Some(v) = value {
                    if v.contains(',') {
                        return Err(Failure::usage(format!("{key} cannot contain a comma")));
                    }
                    q.push(format!("{key}={v}"));
                }
            }
            let items = c.security_vulnerabilities(&q.join(","), limit).await?;
            type V = VulnerabilityItem;
            let score = |v: &V| format!("{:.1}", v.cvss_v3_score);
            let severity = |v: &V| v.severity.clone();
            let cve = |v: &V| v.cve_id.clone();
            let package = |v: &V| format!("{} {}", v.package, v.version);
            let fix = |v: &V| v.fixed_version.clone();
            let artifact = |v: &V| {
                let tags = v.tags.as_deref().unwrap_or_default();
                match tags.first() {
                    Some(t) => format!("{}:{t}", v.repository_name),
                    None => format!("{}@{}", v.repository_name, v.digest),
                }
            };
            let cols: [crate::output::Column<'_, V>; 6] = [
                ("score", &score),
                ("severity", &severity),
                ("cve", &cve),
                ("package", &package),
                ("fixed in", &fix),
                ("artifact", &artifact),
            ];
            out.list(&items, &cols, &cve)?;
        }
    }
    Ok(())
}

fn fields(e: &ScanDataExportExecution) -> Vec<(&'static str, String)> {
    vec![
        ("id", e.id.to_string()),
        ("status", e.status.clone()),
        ("note", e.status_text.clone()),
        ("started", time(Some(&e.start_time))),
        ("ended", time(Some(&e.end_time))),
        ("file", if e.file_present { "yes" } else { "no" }.into()),
    ]
}

pub(crate) async fn cve_export(app: &App, cmd: CveExportCmd) -> Outcome {
    let (c, out) = (&app.client, &app.out);
    match cmd {
        CveExportCmd::Create {
            project,
            name,
            repositories,
            tags,
            cve_ids,
            labels,
            wait,
        } => {
            let request = ScanDataExportRequest {
                job_name: name,
                projects: vec![project_id(app, &project).await?],
                labels,
                repositories,
                cve_ids,
                tags,
            };
            let id = c.create_cve_export(&request).await?;
            if !wait {
                out.done(
                    &format!("export {id} started: harbor cve-export download {id}"),
                    &serde_json::json!({ "id": id }),
                    &id.to_string(),
                )?;
                return Ok(());
            }
            let e = super::wait::until_done(
                out,
                || c.cve_export(id),
                |e: &ScanDataExportExecution| super::wait::Progress {
                    ended: e.status != "Running",
                    total: None,
                    done: 0,
                    message: format!("export {id}: {}", e.status),
                },
            )
            .await?;
            out.one(&e, &fields(&e), &e.id.to_string())?;
            if e.status != "Success" {
                return Err(Failure::new(
                    super::REFUSED,
                    format!("the export ended {}: {}", e.status, e.status_text),
                ));
            }
        }
        CveExportCmd::List => {
            let items = c.cve_exports().await?;
            type E = ScanDataExportExecution;
            let id = |e: &E| e.id.to_string();
            let status = |e: &E| e.status.clone();
            let started = |e: &E| time(Some(&e.start_time));
            let file = |e: &E| if e.file_present { "yes" } else { "no" }.to_owned();
            let note = |e: &E| e.status_text.clone();
            let cols: [crate::output::Column<'_, E>; 5] = [
                ("id", &id),
                ("status", &status),
                ("started", &started),
                ("file", &file),
                ("note", &note),
            ];
            out.list(&items, &cols, &id)?;
        }
        CveExportCmd::Get { id } => {
            let e = c.cve_export(id).await?;
            out.one(&e, &fields(&e), &e.id.to_string())?;
        }
        CveExportCmd::Download { id, file } => {
            let path = file.unwrap_or_else(|| format!("scandata_export_{id}.csv").into());
            if path.as_os_str() == "-" {
                let mut stdout = std::io::stdout().lock();
                c.download_cve_export(id, &mut stdout).await?;
                return Ok(());
            }
            // Written beside the target, then renamed: a failed download leaves no file.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| Failure::usage(format!("cannot write in {}: {e}", dir.display())))?;
            let bytes = c.download_cve_export(id, tmp.as_file_mut()).await?;
            tmp.persist(&path).map_err(|e| {
                Failure::usage(format!("cannot write {}: {}", path.display(), e.error))
            })?;
            out.done(
                &format!("saved {} ({bytes} bytes)", path.display()),
                &serde_json::json!({ "id": id, "file": path.display().to_string(), "bytes": bytes }),
                &path.display().to_string(),
            )?;
        }
    }
    Ok(())
}
