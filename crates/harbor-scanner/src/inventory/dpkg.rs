//! dpkg's database: `/var/lib/dpkg/status` and distroless `status.d/` files.

use crate::{Package, PackageKind, ScanError};

/// True for the status file and the per-package files of `status.d/` (not their `.md5sums`).
pub fn matches(path: &str) -> bool {
    if path == "/var/lib/dpkg/status" {
        return true;
    }
    path.strip_prefix("/var/lib/dpkg/status.d/")
        .is_some_and(|name| !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"))
}

/// The installed packages of a status file: stanzas whose `Status` ends in `installed`,
/// with the source package (`Source: name (version)`) advisories are keyed by.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    let text = std::str::from_utf8(data).map_err(|e| ScanError::bad_db(path, e))?;
    let mut packages = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields = Fields::default();
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                continue; // a continuation of a multi-line field we do not read
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Package" => fields.name = value,
                "Version" => fields.version = value,
                "Status" => fields.status = Some(value),
                "Source" => fields.source = value,
                _ => {}
            }
        }
        // distroless status.d files carry no Status field: they list installed packages only.
        let installed = fields
            .status
            .is_none_or(|s| s.split_whitespace().nth(2) == Some("installed"));
        if fields.name.is_empty() || fields.version.is_empty() || !installed {
            continue;
        }
        let mut package = Package::new(PackageKind::Deb, fields.name, fields.version, path);
        if !fields.source.is_empty() {
            let (source, version) = match fields.source.split_once(' ') {
                Some((name, rest)) => (
                    name,
                    rest.trim()
                        .strip_prefix('(')
                        .and_then(|v| v.strip_suffix(')')),
                ),
                None => (fields.source, None),
            };
            if source != package.name {
                package.source = Some(source.to_string());
            }
            if let Some(version) = version.filter(|v| *v != package.version) {
                package.source_version = Some(version.trim().to_string());
            }
        }
        packages.push(package);
    }
    Ok(packages)
}

#[derive(Default)]
struct Fields<'a> {
    name: &'a str,
    version: &'a str,
    status: Option<&'a str>,
    source: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: libssl3\nStatus: install ok installed\nPriority: optional\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: Secure Sockets Layer toolkit\n multi-line: description\n\nPackage: libc6\nStatus: install ok installed\nSource: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4\n\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: bsdutils\nStatus: install ok installed\nSource: util-linux (2.38.1-5)\nVersion: 1:2.38.1-5+b1\n";

    #[test]
    fn installed_packages_with_their_sources() {
        let packages = parse("/var/lib/dpkg/status", STATUS.as_bytes()).unwrap();
        let found: Vec<_> = packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.advisory_name(),
                    p.advisory_version(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2"),
                ("libc6", "2.36-9+deb12u4", "glibc", "2.36-9+deb12u4"),
                ("bsdutils", "1:2.38.1-5+b1", "util-linux", "2.38.1-5"),
            ]
        );
        assert!(packages.iter().all(|p| p.path == "/var/lib/dpkg/status"));
    }

    #[test]
    fn status_d_files_and_junk() {
        assert!(matches("/var/lib/dpkg/status.d/base"));
        assert!(!matches("/var/lib/dpkg/status.d/base.md5sums"));
        assert!(!matches("/var/lib/dpkg/status-old"));
        let one = parse(
            "/var/lib/dpkg/status.d/tzdata",
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\n",
        )
        .unwrap();
        assert_eq!(one[0].name, "tzdata");
        assert!(parse("/x", b"\xff\xfe").is_err());
        assert!(
            parse("/x", b"Package:\nVersion\n::\n\n\n")
                .unwrap()
                .is_empty()
        );
    }
}
