//! Fixture images and an OSV database for tests, benchmarks and demonstrations: layers
//! written here file by file (package databases, lock files, a Go binary, a jar), with
//! whiteouts, and advisories with version-ordering edge cases. What they should produce is
//! asserted by the tests, not stated here.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::inventory::{golang, rpm};

/// Builds one layer tar file by file.
pub struct LayerBuilder {
    tar: tar::Builder<Vec<u8>>,
}

impl Default for LayerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerBuilder {
    /// An empty layer.
    pub fn new() -> Self {
        Self {
            tar: tar::Builder::new(Vec::new()),
        }
    }

    /// A regular file (`path` without the leading `/`, as image layers write them).
    pub fn file(mut self, path: &str, data: &[u8], mode: u32) -> Self {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(1_700_000_000);
        // Appending to a Vec cannot fail for paths this short.
        let _ = self
            .tar
            .append_data(&mut header, path.trim_start_matches('/'), data);
        self
    }

    /// A symbolic link.
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        header.set_mode(0o777);
        header.set_entry_type(tar::EntryType::Symlink);
        let _ = self
            .tar
            .append_link(&mut header, path.trim_start_matches('/'), target);
        self
    }

    /// A whiteout deleting `path` of the layers below.
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path
            .trim_start_matches('/')
            .rsplit_once('/')
            .unwrap_or(("", path));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&wh, b"", 0o644)
    }

    /// An opaque whiteout hiding the lower layers' content of `dir`.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(
            &format!("{}/.wh..wh..opq", dir.trim_matches('/')),
            b"",
            0o644,
        )
    }

    /// The uncompressed tar.
    pub fn tar(self) -> Vec<u8> {
        self.tar.into_inner().unwrap_or_default()
    }

    /// The tar, gzip compressed.
    pub fn gzip(self) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = gz.write_all(&self.tar());
        gz.finish().unwrap_or_default()
    }

    /// The tar, zstd compressed.
    pub fn zstd(self) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(
            &self.tar()[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        )
    }
}

const DPKG_STATUS: &str = "\
Package: libssl3
Status: install ok installed
Source: openssl
Version: 3.0.11-1~deb12u2

Package: openssl
Status: install ok installed
Version: 3.0.11-1~deb12u2

Package: bsdutils
Status: install ok installed
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+b1

Package: zlib1g
Status: install ok installed
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: perl-base
Status: install ok installed
Source: perl
Version: 5.36.0-7+deb12u1

Package: tar
Status: install ok installed
Version: 1.34+dfsg-1.2

Package: removed-pkg
Status: deinstall ok config-files
Version: 1.0-1
";

const CARGO_LOCK: &str = r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["hyper", "serde", "smallvec"]

[[package]]
name = "hyper"
version = "1.0.0-rc.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"

[[package]]
name = "serde"
version = "1.0.100"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"
"#;

const PACKAGE_LOCK: &str = r#"{
  "name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "web", "version": "1.0.0"},
    "node_modules/lodash": {"version": "4.17.20"},
    "node_modules/minimist": {"version": "1.2.6"}
  }
}"#;

fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nVersion: 0.0.0 in the body is not a header\n").into_bytes()
}

/// A jar holding `pom.properties` of `group:artifact:version`.
pub fn jar(group: &str, artifact: &str, version: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let _ = zip.start_file("META-INF/MANIFEST.MF", options);
    let _ = zip.write_all(b"Manifest-Version: 1.0\n");
    let _ = zip.start_file(
        format!("META-INF/maven/{group}/{artifact}/pom.properties"),
        options,
    );
    let _ = zip.write_all(
        format!("#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n")
            .as_bytes(),
    );
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// A Debian 12 image's layers, lowest first: the OS (gzip); applications in Rust, npm,
/// Python, Go and Java (plain tar); a layer (zstd) that deletes a directory with a
/// vulnerable npm package and makes `site-packages` opaque, replacing a vulnerable
/// urllib3 with a fixed one.
pub fn debian_image() -> Vec<Vec<u8>> {
    let go_binary = golang::craft_binary(
        "go1.20.1",
        "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.7.0\th1:x=\ndep\tgithub.com/google/uuid\tv1.3.0\th1:y=\n",
    );
    let base = LayerBuilder::new()
        .file(
            "usr/lib/os-release",
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
            0o644,
        )
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file("var/lib/dpkg/status", DPKG_STATUS.as_bytes(), 0o644)
        .gzip();
    let apps = LayerBuilder::new()
        .file("app/Cargo.lock", CARGO_LOCK.as_bytes(), 0o644)
        .file("web/package-lock.json", PACKAGE_LOCK.as_bytes(), 0o644)
        .file(
            "srv/old/node_modules/ejs/package.json",
            br#"{"name": "ejs", "version": "3.1.6"}"#,
            0o644,
        )
        .file(
            "usr/lib/python3/dist-packages/requests-2.25.0.dist-info/METADATA",
            &metadata("requests", "2.25.0"),
            0o644,
        )
        .file(
            "usr/lib/python3/dist-packages/Django-4.2rc1.dist-info/METADATA",
            &metadata("Django", "4.2rc1"),
            0o644,
        )
        .file(
            "usr/local/lib/python3.11/site-packages/urllib3-1.26.0.dist-info/METADATA",
            &metadata("urllib3", "1.26.0"),
            0o644,
        )
        .file("usr/local/bin/app", &go_binary, 0o755)
        .file(
            "opt/app/app.jar",
            &jar("org.apache.logging.log4j", "log4j-core", "2.14.1"),
            0o644,
        )
        .tar();
    let fixes = LayerBuilder::new()
        .whiteout("srv/old")
        .opaque("usr/local/lib/python3.11/site-packages")
        .file(
            "usr/local/lib/python3.11/site-packages/urllib3-2.0.7.dist-info/METADATA",
            &metadata("urllib3", "2.0.7"),
            0o644,
        )
        .zstd();
    vec![base, apps, fixes]
}

/// An Alpine 3.19 image: one layer with the apk database.
pub fn alpine_image() -> Vec<Vec<u8>> {
    let installed = "P:libcrypto3\nV:3.1.4-r1\no:openssl\n\nP:busybox\nV:1.36.1-r15\no:busybox\n\nP:musl\nV:1.2.4_git20230717-r4\no:musl\n";
    vec![
        LayerBuilder::new()
            .file(
                "etc/os-release",
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
                0o644,
            )
            .file("lib/apk/db/installed", installed.as_bytes(), 0o644)
            .gzip(),
    ]
}

/// A Rocky Linux 9 image: one layer with an `rpmdb.sqlite`.
pub fn rocky_image() -> Vec<Vec<u8>> {
    let db = rpm::craft_rpmdb(&[
        rpm::craft_header(
            "openssl-libs",
            Some(1),
            "3.0.7",
            "24.el9",
            "x86_64",
            Some("openssl-3.0.7-24.el9.src.rpm"),
        ),
        rpm::craft_header(
            "bash",
            None,
            "5.1.8",
            "6.el9_1",
            "x86_64",
            Some("bash-5.1.8-6.el9_1.src.rpm"),
        ),
        rpm::craft_header("gpg-pubkey", None, "8483c65d", "5ccc5b19", "(none)", None),
    ]);
    vec![
        LayerBuilder::new()
            .file(
                "etc/os-release",
                b"NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n",
                0o644,
            )
            .file("var/lib/rpm/rpmdb.sqlite", &db, 0o644)
            .gzip(),
    ]
}

fn record(
    id: &str,
    aliases: &[&str],
    ecosystem: &str,
    name: &str,
    ranges: Value,
    extra: Value,
) -> Value {
    let mut record = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-11-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "aliases": aliases,
        "summary": format!("{id} in {name}"),
        "affected": [{"package": {"ecosystem": ecosystem, "name": name}, "ranges": ranges}],
        "references": [{"type": "ADVISORY", "url": format!("https://osv.dev/vulnerability/{id}")}],
    });
    if let (Some(map), Some(extra)) = (record.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    record
}

fn eco(events: Value) -> Value {
    json!([{"type": "ECOSYSTEM", "events": events}])
}

fn semver(events: Value) -> Value {
    json!([{"type": "SEMVER", "events": events}])
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const MEDIUM: &str = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N";

/// The fixture OSV database: `(ecosystem folder, record)` pairs.
pub fn osv_records() -> Vec<(&'static str, Value)> {
    let cvss = |v: &str| json!({"severity": [{"type": "CVSS_V3", "score": v}]});
    vec![
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0001",
                &[],
                "Debian:12",
                "openssl",
                eco(json!([{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u3"}])),
                json!({"upstream": ["CVE-2024-0001"], "severity": [{"type": "CVSS_V3", "score": CRITICAL}]}),
            ),
        ),
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0002",
                &[],
                "Debian:12",
                "openssl",
                eco(json!([{"introduced": "0"}, {"fixed": "3.0.11-1"}])),
                json!({"upstream": ["CVE-2024-0002"]}),
            ),
        ),
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0003",
                &[],
                "Debian:12",
                "util-linux",
                eco(json!([{"introduced": "0"}, {"fixed": "2.38.1-5+deb12u1"}])),
                json!({"upstream": ["CVE-2024-0003"]}),
            ),
        ),
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0004",
                &[],
                "Debian:12",
                "zlib",
                eco(json!([{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-1"}])),
                json!({"upstream": ["CVE-2024-0004"]}),
            ),
        ),
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0005",
                &[],
                "Debian:12",
                "perl",
                eco(json!([{"introduced": "0"}, {"fixed": "1:5.0-1"}])),
                json!({"upstream": ["CVE-2024-0005"]}),
            ),
        ),
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0006",
                &[],
                "Debian:12",
                "tar",
                eco(json!([{"introduced": "0"}, {"last_affected": "1.34+dfsg-1.2"}])),
                json!({"upstream": ["CVE-2024-0006"]}),
            ),
        ),
        (
            "Debian",
            record(
                "DEBIAN-CVE-2024-0007",
                &[],
                "Debian:11",
                "openssl",
                eco(json!([{"introduced": "0"}, {"fixed": "9.9"}])),
                json!({"upstream": ["CVE-2024-0007"]}),
            ),
        ),
        (
            "crates.io",
            record(
                "RUSTSEC-2021-0003",
                &["CVE-2021-25900", "GHSA-43w2-9j62-hq99"],
                "crates.io",
                "smallvec",
                semver(
                    json!([{"introduced": "0.6.3"}, {"fixed": "0.6.14"}, {"introduced": "1.0.0"}, {"fixed": "1.6.1"}]),
                ),
                cvss(CRITICAL),
            ),
        ),
        (
            "crates.io",
            record(
                "RUSTSEC-2026-0001",
                &[],
                "crates.io",
                "hyper",
                semver(json!([{"introduced": "0"}, {"fixed": "1.0.0"}])),
                json!({}),
            ),
        ),
        (
            "crates.io",
            record(
                "RUSTSEC-2026-0002",
                &[],
                "crates.io",
                "serde",
                semver(json!([{"introduced": "0"}, {"fixed": "1.0.50"}])),
                json!({}),
            ),
        ),
        (
            "npm",
            record(
                "GHSA-35jh-r3h4-6jhm",
                &["CVE-2021-23337"],
                "npm",
                "lodash",
                eco(json!([{"introduced": "0"}, {"fixed": "4.17.21"}])),
                json!({"database_specific": {"severity": "HIGH", "cwe_ids": ["CWE-77", "CWE-94"]}}),
            ),
        ),
        (
            "npm",
            record(
                "GHSA-phwq-j96m-2c2q",
                &["CVE-2022-29078"],
                "npm",
                "ejs",
                eco(json!([{"introduced": "0"}, {"fixed": "3.1.7"}])),
                cvss(CRITICAL),
            ),
        ),
        (
            "PyPI",
            record(
                "PYSEC-2023-74",
                &["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"],
                "PyPI",
                "requests",
                eco(json!([{"introduced": "2.3.0"}, {"fixed": "2.31.0"}])),
                cvss(MEDIUM),
            ),
        ),
        (
            "PyPI",
            record(
                "PYSEC-2021-108",
                &["CVE-2021-33503"],
                "PyPI",
                "urllib3",
                eco(json!([{"introduced": "0"}, {"fixed": "1.26.5"}])),
                json!({}),
            ),
        ),
        (
            "PyPI",
            record(
                "PYSEC-2026-1",
                &[],
                "PyPI",
                "django",
                eco(json!([{"introduced": "0"}, {"fixed": "4.2"}])),
                json!({}),
            ),
        ),
        (
            "Go",
            record(
                "GO-2023-2102",
                &["CVE-2023-44487", "GHSA-qppj-fm5r-hxr3"],
                "Go",
                "golang.org/x/net",
                semver(json!([{"introduced": "0"}, {"fixed": "0.17.0"}])),
                json!({}),
            ),
        ),
        (
            "Go",
            record(
                "GO-2023-1987",
                &["CVE-2023-29409"],
                "Go",
                "stdlib",
                semver(json!([{"introduced": "1.20.0"}, {"fixed": "1.20.7"}])),
                json!({}),
            ),
        ),
        (
            "Maven",
            record(
                "GHSA-jfh8-c2jp-5v3q",
                &["CVE-2021-44228"],
                "Maven",
                "org.apache.logging.log4j:log4j-core",
                eco(json!([{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}])),
                json!({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}),
            ),
        ),
        (
            "Alpine",
            record(
                "ALPINE-CVE-2024-0100",
                &[],
                "Alpine:v3.19",
                "openssl",
                eco(json!([{"introduced": "0"}, {"fixed": "3.1.4-r3"}])),
                json!({"upstream": ["CVE-2024-0100"]}),
            ),
        ),
        (
            "Alpine",
            record(
                "ALPINE-CVE-2024-0101",
                &[],
                "Alpine:v3.19",
                "busybox",
                eco(json!([{"introduced": "0"}, {"fixed": "1.36.1-r7"}])),
                json!({"upstream": ["CVE-2024-0101"]}),
            ),
        ),
        (
            "Rocky Linux",
            record(
                "RLSA-2024:0001",
                &["CVE-2024-0200"],
                "Rocky Linux:9",
                "openssl",
                eco(json!([{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9_3"}])),
                json!({}),
            ),
        ),
        (
            "PyPI",
            record(
                "PYSEC-2026-2",
                &[],
                "PyPI",
                "requests",
                eco(json!([{"introduced": "0"}])),
                json!({"withdrawn": "2026-02-01T00:00:00Z"}),
            ),
        ),
    ]
}

/// Writes [`osv_records`] as a directory of ecosystem folders, one file per record.
pub fn write_osv_dir(dir: &Path) -> std::io::Result<()> {
    for (folder, record) in osv_records() {
        let id = record["id"].as_str().unwrap_or("unknown").replace(':', "-");
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder)?;
        std::fs::write(
            folder.join(format!("{id}.json")),
            serde_json::to_vec_pretty(&record)?,
        )?;
    }
    Ok(())
}

/// [`osv_records`] as one zip archive, as the OSV project publishes `all.zip`.
pub fn osv_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (_, record) in osv_records() {
        let id = record["id"].as_str().unwrap_or("unknown").replace(':', "-");
        let _ = zip.start_file(format!("{id}.json"), options);
        let _ = zip.write_all(&serde_json::to_vec(&record).unwrap_or_default());
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}
