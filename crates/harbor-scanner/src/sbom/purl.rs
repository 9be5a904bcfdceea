//! Package URLs (github.com/package-url/purl-spec) for inventory packages.

use crate::inventory::OsRelease;
use crate::{Package, PackageKind};

/// The package URL of `package`, with the distribution as namespace for OS packages.
pub fn purl(package: &Package, os: Option<&OsRelease>) -> String {
    let distro = os.map(|o| o.id.as_str()).filter(|id| !id.is_empty());
    let version = encode(&package.version);
    let qualifiers = match (package.kind.is_os(), os) {
        (true, Some(os)) if !os.version_id.is_empty() => {
            format!("?distro={}-{}", encode(&os.id), encode(&os.version_id))
        }
        _ => String::new(),
    };
    let name = &package.name;
    match package.kind {
        PackageKind::Deb => format!(
            "pkg:deb/{}/{}@{version}{qualifiers}",
            encode(distro.unwrap_or("debian")),
            encode(name)
        ),
        PackageKind::Apk => format!(
            "pkg:apk/{}/{}@{version}{qualifiers}",
            encode(distro.unwrap_or("alpine")),
            encode(name)
        ),
        PackageKind::Rpm => format!(
            "pkg:rpm/{}/{}@{version}{qualifiers}",
            encode(distro.unwrap_or("redhat")),
            encode(name)
        ),
        PackageKind::Cargo => format!("pkg:cargo/{}@{version}", encode(name)),
        PackageKind::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, name)) => {
                format!("pkg:npm/%40{}/{}@{version}", encode(scope), encode(name))
            }
            None => format!("pkg:npm/{}@{version}", encode(name)),
        },
        PackageKind::Python => format!(
            "pkg:pypi/{}@{version}",
            encode(&crate::inventory::python::normalize_name(name))
        ),
        PackageKind::Go => {
            let path: Vec<String> = name.split('/').map(encode).collect();
            format!("pkg:golang/{}@{version}", path.join("/"))
        }
        PackageKind::Maven => match name.split_once(':') {
            Some((group, artifact)) => {
                format!("pkg:maven/{}/{}@{version}", encode(group), encode(artifact))
            }
            None => format!("pkg:maven/{}@{version}", encode(name)),
        },
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_per_kind() {
        let os = OsRelease {
            id: "debian".into(),
            version_id: "12".into(),
            pretty_name: String::new(),
        };
        let deb = Package::new(
            PackageKind::Deb,
            "bsdutils",
            "1:2.38.1-5+b1",
            "/var/lib/dpkg/status",
        );
        assert_eq!(
            purl(&deb, Some(&os)),
            "pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bb1?distro=debian-12"
        );
        let npm = Package::new(PackageKind::Npm, "@babel/core", "7.0.0", "/p");
        assert_eq!(purl(&npm, None), "pkg:npm/%40babel/core@7.0.0");
        let maven = Package::new(
            PackageKind::Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            "/a.jar",
        );
        assert_eq!(
            purl(&maven, None),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        let go = Package::new(PackageKind::Go, "golang.org/x/net", "v0.1.0", "/bin/app");
        assert_eq!(purl(&go, None), "pkg:golang/golang.org/x/net@v0.1.0");
        let py = Package::new(PackageKind::Python, "Django_REST", "3.0", "/m");
        assert_eq!(purl(&py, None), "pkg:pypi/django-rest@3.0");
    }
}
