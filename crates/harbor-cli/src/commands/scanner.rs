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
