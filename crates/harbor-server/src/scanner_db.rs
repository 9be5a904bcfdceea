//! `HARBOR_SCANNER_DB`: the vulnerability database imported at start-up, in the
//! background, when the file changed since the last import.

use std::path::PathBuf;

use harbor_platform::scanner::VulnDb;

/// What identifies a version of the data: the path, and for a file its size and
/// modification time (a directory is imported at every start).
fn fingerprint(path: &std::path::Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Ok(format!("{} (directory)", path.display()));
    }
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Ok(format!(
        "{} ({} bytes, modified {modified})",
        path.display(),
        meta.len()
    ))
}

/// Starts the import of `path` unless the current database came from the same file.
pub(crate) fn import_at_start(db: VulnDb, path: PathBuf) {
    tokio::spawn(async move {
        let source = match fingerprint(&path) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "HARBOR_SCANNER_DB cannot be read: the vulnerability database is not imported");
                return;
            }
        };
        let is_dir = path.is_dir();
        match db.info().await {
            Ok(Some(current)) if current.source == source && !is_dir => {
                tracing::info!(
                    source,
                    "the vulnerability database is up to date with HARBOR_SCANNER_DB"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the vulnerability database's version")
            }
            _ => {}
        }
        let started = std::time::Instant::now();
        match db.import(path, &source).await {
            Ok(info) => tracing::info!(
                source,
                records = info.records,
                advisories = info.advisories,
                seconds = started.elapsed().as_secs_f64(),
                "imported HARBOR_SCANNER_DB"
            ),
            Err(e) => {
                tracing::error!(source, error = %e, "importing HARBOR_SCANNER_DB failed: the previous database stays")
            }
        }
    });
}
