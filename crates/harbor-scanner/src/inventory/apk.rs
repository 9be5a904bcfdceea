//! apk's database: `/lib/apk/db/installed` (Alpine, Wolfi).

use crate::{Package, PackageKind, ScanError};

/// True for the installed database.
pub fn matches(path: &str) -> bool {
    path == "/lib/apk/db/installed" || path == "/usr/lib/apk/db/installed"
}

/// The packages of the database: blank-line separated records of `P:` (name), `V:`
/// (version) and `o:` (origin, the source package advisories name).
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    let text = std::str::from_utf8(data).map_err(|e| ScanError::bad_db(path, e))?;
    let mut packages = Vec::new();
    for record in text.split("\n\n") {
        let (mut name, mut version, mut origin) = ("", "", "");
        for line in record.lines() {
            match line.split_once(':') {
                Some(("P", v)) => name = v.trim(),
                Some(("V", v)) => version = v.trim(),
                Some(("o", v)) => origin = v.trim(),
                _ => {}
            }
        }
        if name.is_empty() || version.is_empty() {
            continue;
        }
        let mut package = Package::new(PackageKind::Apk, name, version, path);
        if !origin.is_empty() && origin != name {
            package.source = Some(origin.to_string());
        }
        packages.push(package);
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_and_origins() {
        let db = "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r1\nA:x86_64\no:openssl\nt:1700000000\n\nP:musl\nV:1.2.4-r2\no:musl\n\nP:broken\n";
        let packages = parse("/lib/apk/db/installed", db.as_bytes()).unwrap();
        let found: Vec<_> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.advisory_name()))
            .collect();
        assert_eq!(
            found,
            [
                ("libcrypto3", "3.1.4-r1", "openssl"),
                ("musl", "1.2.4-r2", "musl")
            ]
        );
        assert!(parse("/x", b"\x80").is_err());
    }
}
