//! Reading OSV data as the OSV project publishes it: `all.zip` archives (one record per
//! entry) or directories of record files, in batches for the store.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use super::advisory::{Advisory, PackageKey, split};
use super::record::Record;
use crate::ScanError;

/// Records larger than this are refused (the largest OSV records are a few MiB).
pub const MAX_RECORD_BYTES: u64 = 16 << 20;
/// Advisories handed to the sink at a time.
pub const BATCH: usize = 2_000;

/// What an import read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub records: u64,
    /// Advisories stored: one per affected package.
    pub advisories: u64,
    pub withdrawn: u64,
    /// The latest `modified` time among the records (RFC 3339), the data's version.
    pub newest: String,
}

type Sink<'a> = dyn FnMut(Vec<(PackageKey, Advisory)>) -> Result<(), ScanError> + 'a;

/// Imports `path`: a zip archive or a directory walked recursively for `*.json` files.
pub fn import_path(path: &Path, sink: &mut Sink<'_>) -> Result<ImportStats, ScanError> {
    if path.is_dir() {
        import_dir(path, sink)
    } else {
        let file = std::fs::File::open(path)?;
        import_zip(
            std::io::BufReader::new(file),
            &path.display().to_string(),
            sink,
        )
    }
}

/// Imports every `.json` entry of a zip archive; `name` labels errors.
pub fn import_zip(
    reader: impl Read + Seek,
    name: &str,
    sink: &mut Sink<'_>,
) -> Result<ImportStats, ScanError> {
    let bad = |reason: String| ScanError::BadAdvisory {
        source_name: name.to_string(),
        reason,
    };
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| bad(format!("not a zip archive: {e}")))?;
    let mut importer = Importer::new(sink);
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        let entry_name = entry
            .name()
            .map(|n| n.to_string())
            .map_err(|e| bad(e.to_string()))?;
        if !entry.is_file() || !entry_name.ends_with(".json") {
            continue;
        }
        let entry_name = format!("{name}!{entry_name}");
        if entry.size() > MAX_RECORD_BYTES {
            return Err(ScanError::BadAdvisory {
                source_name: entry_name,
                reason: "record over 16 MiB".into(),
            });
        }
        buf.clear();
        (&mut entry)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| bad(e.to_string()))?;
        importer.record(&entry_name, &buf)?;
    }
    importer.finish()
}

/// Imports every `*.json` file under `dir` (ecosystem folders of one record each).
pub fn import_dir(dir: &Path, sink: &mut Sink<'_>) -> Result<ImportStats, ScanError> {
    let mut importer = Importer::new(sink);
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let name = path.display().to_string();
        if std::fs::metadata(&path)?.len() > MAX_RECORD_BYTES {
            return Err(ScanError::BadAdvisory {
                source_name: name,
                reason: "record over 16 MiB".into(),
            });
        }
        let data = std::fs::read(&path)?;
        importer.record(&name, &data)?;
    }
    importer.finish()
}

struct Importer<'s, 'a> {
    sink: &'s mut Sink<'a>,
    batch: Vec<(PackageKey, Advisory)>,
    stats: ImportStats,
}

impl<'s, 'a> Importer<'s, 'a> {
    fn new(sink: &'s mut Sink<'a>) -> Self {
        Self {
            sink,
            batch: Vec::with_capacity(BATCH),
            stats: ImportStats::default(),
        }
    }

    fn record(&mut self, name: &str, data: &[u8]) -> Result<(), ScanError> {
        let record: Record = serde_json::from_slice(data).map_err(|e| ScanError::BadAdvisory {
            source_name: name.to_string(),
            reason: format!("not an OSV record: {e}"),
        })?;
        self.stats.records += 1;
        if record.withdrawn.is_some() {
            self.stats.withdrawn += 1;
            return Ok(());
        }
        if record.modified > self.stats.newest {
            self.stats.newest = record.modified.clone();
        }
        let advisories = split(&record).map_err(|e| match e {
            ScanError::BadAdvisory { reason, .. } => ScanError::BadAdvisory {
                source_name: name.to_string(),
                reason,
            },
            other => other,
        })?;
        self.stats.advisories += advisories.len() as u64;
        self.batch.extend(advisories);
        if self.batch.len() >= BATCH {
            (self.sink)(std::mem::take(&mut self.batch))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ImportStats, ScanError> {
        if !self.batch.is_empty() {
            (self.sink)(std::mem::take(&mut self.batch))?;
        }
        Ok(self.stats)
    }
}
