//! Streaming one layer: decompress, walk the tar entries, parse the files that matter.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use super::{
    FileFinding, LayerInventory, Parser, apk, cargo, dpkg, golang, java, npm, os_release, python,
    rpm,
};
use crate::ScanError;

/// Bounds that keep a hostile layer from exhausting the scanner.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Tar entries per layer.
    pub max_entries: u64,
    /// Uncompressed bytes per layer.
    pub max_layer_bytes: u64,
    /// Bytes of one metadata file read into memory (package databases, lock files).
    pub max_file_bytes: u64,
    /// Bytes of one archive (jar, war) read into memory.
    pub max_archive_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 1_000_000,
            max_layer_bytes: 32 << 30,
            max_file_bytes: 64 << 20,
            max_archive_bytes: 256 << 20,
        }
    }
}

/// Reads one layer blob (a tar, plain or gzip or zstd compressed) and returns what its files
/// name. `name` (usually the digest) labels errors. Memory stays bounded by the limits: file
/// contents are read only for files a parser wants, and only up to the limits.
pub fn scan_layer(
    name: &str,
    reader: impl Read,
    limits: &Limits,
) -> Result<LayerInventory, ScanError> {
    let corrupt = |reason: String| ScanError::CorruptLayer {
        layer: name.to_string(),
        reason,
    };
    let mut buffered = BufReader::with_capacity(64 << 10, reader);
    let head = buffered
        .fill_buf()
        .map_err(|e| corrupt(e.to_string()))?
        .to_vec();
    let decompressed: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(buffered)
            .map_err(|e| corrupt(format!("zstd: {e}")))?;
        Box::new(decoder)
    } else {
        Box::new(buffered)
    };
    let exceeded = Rc::new(Cell::new(false));
    let counted = Counted {
        inner: decompressed,
        left: limits.max_layer_bytes,
        exceeded: exceeded.clone(),
    };
    let mut archive = tar::Archive::new(counted);
    let mut inventory = LayerInventory::default();
    let walk = walk(&mut archive, name, limits, &mut inventory);
    if exceeded.get() {
        return Err(ScanError::LimitExceeded {
            layer: name.to_string(),
            what: "uncompressed size",
            limit: limits.max_layer_bytes,
        });
    }
    walk?;
    Ok(inventory)
}

fn walk<R: Read>(
    archive: &mut tar::Archive<R>,
    name: &str,
    limits: &Limits,
    inventory: &mut LayerInventory,
) -> Result<(), ScanError> {
    let corrupt = |e: std::io::Error| ScanError::CorruptLayer {
        layer: name.to_string(),
        reason: e.to_string(),
    };
    let mut count = 0u64;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        count += 1;
        if count > limits.max_entries {
            return Err(ScanError::LimitExceeded {
                layer: name.to_string(),
                what: "entry count",
                limit: limits.max_entries,
            });
        }
        let raw = entry.path_bytes();
        let Some(path) = normalise(&String::from_utf8_lossy(&raw)) else {
            continue;
        };
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", &path));
        if let Some(hidden) = file.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                inventory.opaque.push(if dir.is_empty() {
                    "/".into()
                } else {
                    dir.to_string()
                });
            } else {
                inventory.deleted.push(format!("{dir}/{hidden}"));
            }
            continue;
        }
        let header = entry.header();
        let kind = header.entry_type();
        if !kind.is_file() {
            // A known file replaced by a link or a directory no longer names its packages.
            if Parser::for_path(&path).is_some() {
                inventory.deleted.push(path);
            }
            continue;
        }
        let mode = header.mode().unwrap_or(0);
        let size = entry.size();
        let Some(parser) = Parser::for_file(&path, mode, size) else {
            continue;
        };
        match parse_entry(parser, &path, &mut entry, size, limits) {
            Ok(finding) => {
                inventory.files.insert(path, finding);
            }
            Err(ScanError::Io(e)) => return Err(corrupt(e)),
            Err(e) => {
                inventory.warnings.push(e.to_string());
                // The file still replaces what lower layers had at this path.
                inventory.files.insert(path, FileFinding::default());
            }
        }
    }
    Ok(())
}

fn parse_entry(
    parser: Parser,
    path: &str,
    entry: &mut dyn Read,
    size: u64,
    limits: &Limits,
) -> Result<FileFinding, ScanError> {
    let packages = |packages| Ok(FileFinding { packages, os: None });
    if parser == Parser::GoBinary {
        return packages(golang::parse(path, entry)?);
    }
    let limit = if parser == Parser::Jar {
        limits.max_archive_bytes
    } else {
        limits.max_file_bytes
    };
    if size > limit {
        return Err(ScanError::bad_db(
            path,
            format!("{size} bytes is over the limit of {limit}"),
        ));
    }
    let mut data = Vec::with_capacity(size as usize);
    entry.take(limit).read_to_end(&mut data)?;
    match parser {
        Parser::OsRelease => Ok(FileFinding {
            packages: Vec::new(),
            os: os_release::parse(&data),
        }),
        Parser::Dpkg => packages(dpkg::parse(path, &data)?),
        Parser::Apk => packages(apk::parse(path, &data)?),
        Parser::Rpm => packages(rpm::parse_sqlite(path, &data)?),
        Parser::CargoLock => packages(cargo::parse(path, &data)?),
        Parser::NpmLock => packages(npm::parse_lock(path, &data)?),
        Parser::NpmPackage => packages(npm::parse_package_json(path, &data)?),
        Parser::Python => packages(python::parse(path, &data)?),
        Parser::Jar => packages(java::parse(path, &data)?),
        Parser::GoBinary => unreachable!("handled above"),
    }
}

/// `./usr/bin/x`, `usr/bin/x/` and `/usr/bin/x` become `/usr/bin/x`; paths that climb
/// (`..`) are skipped.
fn normalise(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 1);
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => {
                out.push('/');
                out.push_str(part);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Counts decompressed bytes and fails the read past the limit (a decompression bomb).
struct Counted<R> {
    inner: R,
    left: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.exceeded.set(true);
                Err(std::io::Error::other("layer larger than the limit"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_climbing_skipped() {
        assert_eq!(
            normalise("./var/lib/dpkg/status").as_deref(),
            Some("/var/lib/dpkg/status")
        );
        assert_eq!(
            normalise("etc//os-release").as_deref(),
            Some("/etc/os-release")
        );
        assert_eq!(normalise("../../etc/passwd"), None);
        assert_eq!(normalise("./"), None);
    }
}
