//! What an inventory finds: installed packages, each with the ecosystem that names it.

use serde::{Deserialize, Serialize};

/// The packaging system a package was found in. It decides the OSV ecosystem the package
/// is looked up in and how its versions are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// dpkg (Debian, Ubuntu): `/var/lib/dpkg/status`, `status.d/`.
    Deb,
    /// apk (Alpine, Wolfi): `/lib/apk/db/installed`.
    Apk,
    /// RPM: `rpmdb.sqlite`.
    Rpm,
    /// Rust crates from `Cargo.lock`.
    Cargo,
    /// npm packages: `package-lock.json`, `node_modules/*/package.json`.
    Npm,
    /// Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`.
    Python,
    /// Go modules from a binary's embedded build information.
    Go,
    /// Java artifacts from `META-INF/maven/**/pom.properties` in jars.
    Maven,
}

impl PackageKind {
    /// True for packages of the operating system (their OSV ecosystem names the release).
    pub fn is_os(self) -> bool {
        matches!(self, Self::Deb | Self::Apk | Self::Rpm)
    }

    /// The version ordering of this kind's versions.
    pub fn scheme(self) -> crate::version::Scheme {
        use crate::version::Scheme;
        match self {
            Self::Deb => Scheme::Dpkg,
            Self::Apk => Scheme::Apk,
            Self::Rpm => Scheme::Rpm,
            Self::Cargo | Self::Npm => Scheme::SemVer,
            Self::Python => Scheme::Pep440,
            Self::Go => Scheme::Go,
            Self::Maven => Scheme::Maven,
        }
    }

    /// The lowercase name used in reports and package URLs (`deb`, `apk`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Apk => "apk",
            Self::Rpm => "rpm",
            Self::Cargo => "cargo",
            Self::Npm => "npm",
            Self::Python => "python",
            Self::Go => "go",
            Self::Maven => "maven",
        }
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub kind: PackageKind,
    /// The binary (installed) name: `libssl3`, `serde`, `requests`,
    /// `org.apache.logging.log4j:log4j-core` for Maven.
    pub name: String,
    pub version: String,
    /// The source package OS advisories name (`openssl` for `libssl3`), when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source package's version, when it differs from `version` (dpkg `Source: x (v)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// The file the package was found in, absolute inside the image (`/var/lib/dpkg/status`).
    pub path: String,
}

impl Package {
    /// A package found at `path` with no separate source package.
    pub fn new(
        kind: PackageKind,
        name: impl Into<String>,
        version: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            name: name.into(),
            version: version.into(),
            source: None,
            source_version: None,
            path: path.into(),
        }
    }

    /// The name advisories use: the source package for OS packages, else the name.
    pub fn advisory_name(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.name)
    }

    /// The version advisories are matched against.
    pub fn advisory_version(&self) -> &str {
        self.source_version.as_deref().unwrap_or(&self.version)
    }
}
