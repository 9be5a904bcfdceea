//! Python distributions from their core metadata: `*.dist-info/METADATA` (wheels, pip),
//! `*.egg-info/PKG-INFO` (setuptools) and `*.egg-info` files (distutils).

use crate::error::ScanError;
use crate::package::{Package, PackageKind};

/// True for `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and a file named `*.egg-info`.
pub fn matches(path: &str) -> bool {
    path.ends_with(".dist-info/METADATA")
        || path.ends_with(".egg-info/PKG-INFO")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|name| name.len() > ".egg-info".len() && name.ends_with(".egg-info"))
}

/// The distribution a metadata file describes, its name normalised per PEP 503
/// (`Foo_Bar.baz` is `foo-bar-baz`). Only the header block is read, up to the first blank
/// line or the first line that is not a header; a file without both `Name` and `Version`
/// (a directory entry, junk) gives no package rather than an error.
pub fn parse(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanError> {
    let mut name: Option<String> = None;
    let mut version: Option<String> = None;
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue; // A folded continuation of the previous header.
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            break;
        };
        let key = &line[..colon];
        if key.is_empty() || !key.iter().all(|&b| b.is_ascii_graphic()) {
            break; // Not a header: the body has begun.
        }
        let value = || {
            String::from_utf8_lossy(&line[colon + 1..])
                .trim()
                .to_string()
        };
        if key.eq_ignore_ascii_case(b"Name") && name.is_none() {
            name = Some(value());
        } else if key.eq_ignore_ascii_case(b"Version") && version.is_none() {
            version = Some(value());
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    let (Some(name), Some(version)) = (name, version) else {
        return Ok(Vec::new());
    };
    let name = normalize_name(&name);
    if name.is_empty() || version.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Package::new(PackageKind::Python, name, version, path)])
}

/// PEP 503: lowercase, each run of `-`, `_` and `.` replaced by one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "Metadata-Version: 2.1\r
Name: Flask_SQLAlchemy\r
Version: 3.1.1\r
Summary: Add SQLAlchemy support to your Flask application.\r
Author-email: Pallets <contact@palletsprojects.com>\r
License: Copyright 2010 Pallets\r
        BSD-3-Clause, see LICENSE.rst\r
Requires-Python: >=3.8\r
Requires-Dist: flask>=2.2.5\r
Requires-Dist: sqlalchemy>=2.0.16\r
Description-Content-Type: text/x-rst\r
\r
Flask-SQLAlchemy\r
================\r
\r
Name: not-this\r
Version: 9.9.9\r
";

    #[test]
    fn matching_paths() {
        assert!(matches(
            "/usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA"
        ));
        assert!(matches(
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO"
        ));
        assert!(matches(
            "/usr/lib/python3/dist-packages/python_apt-2.4.0.egg-info"
        ));
        assert!(!matches("/usr/lib/python3/dist-packages/.egg-info"));
        assert!(!matches(
            "/usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/RECORD"
        ));
        assert!(!matches(
            "/usr/lib/python3.11/site-packages/requests-2.31.0.dist-info"
        ));
        assert!(!matches(
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/SOURCES.txt"
        ));
        assert!(!matches("/srv/METADATA"));
    }

    #[test]
    fn dist_info_metadata_ignores_the_body() {
        let path = "/usr/lib/python3.11/site-packages/flask_sqlalchemy-3.1.1.dist-info/METADATA";
        let packages = parse(path, METADATA.as_bytes()).unwrap();
        assert_eq!(
            packages,
            [Package::new(
                PackageKind::Python,
                "flask-sqlalchemy",
                "3.1.1",
                path
            )]
        );
    }

    #[test]
    fn body_version_is_not_read_when_the_header_lacks_one() {
        let data = "Metadata-Version: 1.0\nName: broken\n\nVersion: 1.0\n";
        assert!(
            parse("/x.egg-info/PKG-INFO", data.as_bytes())
                .unwrap()
                .is_empty()
        );
        // A line that is not a header ends the headers too.
        let data = "Name: broken\nthis is prose\nVersion: 1.0\n";
        assert!(
            parse("/x.egg-info/PKG-INFO", data.as_bytes())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn egg_info_file_first_header_wins_and_keys_ignore_case() {
        let data =
            b"Metadata-Version: 1.1\nname: PyYAML\nversion:5.4.1 \nName: other\nVersion: 0\n";
        let packages = parse("/usr/lib/python3/dist-packages/PyYAML-5.4.1.egg-info", data).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(
            (packages[0].name.as_str(), packages[0].version.as_str()),
            ("pyyaml", "5.4.1")
        );
    }

    #[test]
    fn pep_503_names() {
        assert_eq!(normalize_name("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("A-_.-b__C"), "a-b-c");
        assert_eq!(normalize_name("requests"), "requests");
    }

    #[test]
    fn junk_gives_nothing_and_never_panics() {
        let path = "/x.dist-info/METADATA";
        for data in [
            &b""[..],
            b"\n\n",
            b"Name: \nVersion: 1.0\n",
            b"Name: x\nVersion:   \n",
            b"Name: ---\nVersion: 1\n",
            b":\n",
            b"\xff\xfe\x00\x01",
            b"Name: \xff\xfe\nVersion: 1.0",
        ] {
            let packages = parse(path, data).unwrap();
            assert!(packages.len() <= 1);
        }
        // Invalid UTF-8 in the value is replaced, not rejected.
        let packages = parse(path, b"Name: caf\xe9\nVersion: 1.0\n").unwrap();
        assert_eq!(packages[0].name, "caf\u{fffd}");
        for end in 0..METADATA.len() {
            let _ = parse(path, &METADATA.as_bytes()[..end]);
        }
        let mut x: u32 = 0x0bad_cafe;
        for _ in 0..200 {
            let data: Vec<u8> = (0..512)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert!(parse(path, &data).is_ok());
        }
    }
}
