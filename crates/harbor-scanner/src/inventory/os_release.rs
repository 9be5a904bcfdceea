//! `/etc/os-release`: which distribution and release an image is.

use serde::{Deserialize, Serialize};

/// The distribution an image is built on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OsRelease {
    /// `ID`: `debian`, `ubuntu`, `alpine`, `rocky`, ...
    pub id: String,
    /// `VERSION_ID`: `12`, `22.04`, `3.19.1`; empty for rolling releases.
    pub version_id: String,
    /// `PRETTY_NAME`, for reports.
    pub pretty_name: String,
}

/// True for the two places os-release lives.
pub fn matches(path: &str) -> bool {
    path == "/etc/os-release" || path == "/usr/lib/os-release"
}

/// Reads `KEY=value` lines (values optionally quoted); `None` without an `ID`.
pub fn parse(data: &[u8]) -> Option<OsRelease> {
    let text = String::from_utf8_lossy(data);
    let mut os = OsRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        match key.trim() {
            "ID" => os.id = value.to_ascii_lowercase(),
            "VERSION_ID" => os.version_id = value,
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    (!os.id.is_empty()).then_some(os)
}

impl OsRelease {
    /// The OSV ecosystems this release's OS packages are looked up in, most specific first.
    pub fn ecosystems(&self) -> Vec<String> {
        let v = self.version_id.as_str();
        let major = v.split('.').next().unwrap_or_default();
        match self.id.as_str() {
            "debian" if !major.is_empty() => vec![format!("Debian:{major}"), "Debian".into()],
            "debian" => vec!["Debian".into()],
            "ubuntu" => vec![format!("Ubuntu:{v}:LTS"), format!("Ubuntu:{v}")],
            "alpine" => {
                let minor: Vec<&str> = v.split('.').take(2).collect();
                vec![format!("Alpine:v{}", minor.join("."))]
            }
            "wolfi" => vec!["Wolfi".into()],
            "chainguard" => vec!["Chainguard".into()],
            "rocky" => vec![format!("Rocky Linux:{major}")],
            "almalinux" => vec![format!("AlmaLinux:{major}")],
            "rhel" | "centos" => vec![format!("Red Hat:{major}")],
            "mariner" => vec![format!("Mariner:{v}")],
            "azurelinux" => vec![format!("Azure Linux:{v}")],
            "opensuse-leap" => vec![format!("openSUSE:Leap {v}")],
            "sles" => vec![format!("SUSE:Linux Enterprise Server {v}")],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_ubuntu_alpine_name_their_ecosystems() {
        let debian = parse(b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n").unwrap();
        assert_eq!(debian.ecosystems(), ["Debian:12", "Debian"]);
        assert_eq!(debian.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        let ubuntu = parse(b"ID=ubuntu\nVERSION_ID=\"22.04\"\n").unwrap();
        assert_eq!(ubuntu.ecosystems(), ["Ubuntu:22.04:LTS", "Ubuntu:22.04"]);
        let alpine = parse(b"ID=alpine\nVERSION_ID=3.19.1\n").unwrap();
        assert_eq!(alpine.ecosystems(), ["Alpine:v3.19"]);
        let rocky = parse(b"ID=\"rocky\"\nVERSION_ID=\"9.3\"\n").unwrap();
        assert_eq!(rocky.ecosystems(), ["Rocky Linux:9"]);
    }

    #[test]
    fn junk_has_no_release() {
        assert_eq!(parse(b"\xff\xfe=\n=\nfoo"), None);
        assert!(parse(b"ID=plan9\n").unwrap().ecosystems().is_empty());
    }
}
