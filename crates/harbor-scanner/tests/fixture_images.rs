//! The scanner end to end on fixture images: layers streamed (gzip, plain, zstd), whiteouts
//! applied, packages found in every supported database, matched against a fixture OSV
//! database imported from a directory and from a zip. The expected findings are exact.

use harbor_scanner::fixtures;
use harbor_scanner::inventory::{self, ImageInventory, Limits};
use harbor_scanner::osv::import::import_zip;
use harbor_scanner::osv::memory::MemoryDb;
use harbor_scanner::osv::{Finding, Severity, find};
use harbor_scanner::{Package, PackageKind};

fn inventory_of(layers: &[Vec<u8>]) -> ImageInventory {
    let scanned: Vec<_> = layers
        .iter()
        .enumerate()
        .map(|(n, blob)| {
            inventory::scan_layer(&format!("layer {n}"), &blob[..], &Limits::default()).unwrap()
        })
        .collect();
    inventory::merge(&scanned)
}

fn db() -> MemoryDb {
    let dir = tempfile::tempdir().unwrap();
    fixtures::write_osv_dir(dir.path()).unwrap();
    let (db, stats) = MemoryDb::import(dir.path()).unwrap();
    assert_eq!(stats.records, fixtures::osv_records().len() as u64);
    assert_eq!(stats.withdrawn, 1);
    assert_eq!(stats.advisories, stats.records - 1);
    assert_eq!(stats.newest, "2026-11-01T00:00:00Z");
    db
}

type Row = (String, String, String, Option<String>, Severity);

fn rows(findings: &[Finding]) -> Vec<Row> {
    let mut rows: Vec<Row> = findings
        .iter()
        .map(|f| {
            (
                f.package.clone(),
                f.version.clone(),
                f.id.clone(),
                f.fix_version.clone(),
                f.severity,
            )
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
    rows
}

fn row(package: &str, version: &str, id: &str, fix: Option<&str>, severity: Severity) -> Row {
    (
        package.into(),
        version.into(),
        id.into(),
        fix.map(str::to_string),
        severity,
    )
}

#[test]
fn debian_image_packages_after_whiteouts() {
    let inventory = inventory_of(&fixtures::debian_image());
    let os = inventory.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
    let mut found: Vec<(PackageKind, &str, &str)> = inventory
        .packages
        .iter()
        .map(|p| (p.kind, p.name.as_str(), p.version.as_str()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (PackageKind::Deb, "bsdutils", "1:2.38.1-5+b1"),
            (PackageKind::Deb, "libssl3", "3.0.11-1~deb12u2"),
            (PackageKind::Deb, "openssl", "3.0.11-1~deb12u2"),
            (PackageKind::Deb, "perl-base", "5.36.0-7+deb12u1"),
            (PackageKind::Deb, "tar", "1.34+dfsg-1.2"),
            (PackageKind::Deb, "zlib1g", "1:1.2.13.dfsg-1"),
            (PackageKind::Cargo, "hyper", "1.0.0-rc.1"),
            (PackageKind::Cargo, "serde", "1.0.100"),
            (PackageKind::Cargo, "smallvec", "1.6.0"),
            (PackageKind::Npm, "lodash", "4.17.20"),
            (PackageKind::Npm, "minimist", "1.2.6"),
            (PackageKind::Python, "django", "4.2rc1"),
            (PackageKind::Python, "requests", "2.25.0"),
            (PackageKind::Python, "urllib3", "2.0.7"),
            (PackageKind::Go, "github.com/google/uuid", "v1.3.0"),
            (PackageKind::Go, "golang.org/x/net", "v0.7.0"),
            (PackageKind::Go, "stdlib", "v1.20.1"),
            (
                PackageKind::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1"
            ),
        ],
        "ejs (deleted directory) and urllib3 1.26.0 (opaque directory) are gone"
    );
    let bsdutils = inventory
        .packages
        .iter()
        .find(|p| p.name == "bsdutils")
        .unwrap();
    assert_eq!(
        (bsdutils.advisory_name(), bsdutils.advisory_version()),
        ("util-linux", "2.38.1-5")
    );
    assert_eq!(bsdutils.path, "/var/lib/dpkg/status");
    let jar: &Package = inventory
        .packages
        .iter()
        .find(|p| p.kind == PackageKind::Maven)
        .unwrap();
    assert_eq!(jar.path, "/opt/app/app.jar");
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);
}

#[test]
fn debian_image_findings_are_exact() {
    let inventory = inventory_of(&fixtures::debian_image());
    let findings = find(&inventory, &db().advisories);
    use Severity::*;
    assert_eq!(
        rows(&findings),
        [
            row(
                "bsdutils",
                "1:2.38.1-5+b1",
                "CVE-2024-0003",
                Some("2.38.1-5+deb12u1"),
                Unknown
            ),
            row("django", "4.2rc1", "PYSEC-2026-1", Some("4.2"), Unknown),
            row(
                "golang.org/x/net",
                "v0.7.0",
                "CVE-2023-44487",
                Some("0.17.0"),
                Unknown
            ),
            row(
                "hyper",
                "1.0.0-rc.1",
                "RUSTSEC-2026-0001",
                Some("1.0.0"),
                Unknown
            ),
            // `~` sorts before the end: 3.0.11-1~deb12u2 < 3.0.11-1.
            row(
                "libssl3",
                "3.0.11-1~deb12u2",
                "CVE-2024-0001",
                Some("3.0.11-1~deb12u3"),
                Critical
            ),
            row(
                "libssl3",
                "3.0.11-1~deb12u2",
                "CVE-2024-0002",
                Some("3.0.11-1"),
                Unknown
            ),
            row("lodash", "4.17.20", "CVE-2021-23337", Some("4.17.21"), High),
            row(
                "openssl",
                "3.0.11-1~deb12u2",
                "CVE-2024-0001",
                Some("3.0.11-1~deb12u3"),
                Critical
            ),
            row(
                "openssl",
                "3.0.11-1~deb12u2",
                "CVE-2024-0002",
                Some("3.0.11-1"),
                Unknown
            ),
            row(
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                "CVE-2021-44228",
                Some("2.15.0"),
                Critical
            ),
            // The epoch wins: 5.36.0-7+deb12u1 < 1:5.0-1.
            row(
                "perl-base",
                "5.36.0-7+deb12u1",
                "CVE-2024-0005",
                Some("1:5.0-1"),
                Unknown
            ),
            row(
                "requests",
                "2.25.0",
                "CVE-2023-32681",
                Some("2.31.0"),
                Medium
            ),
            row(
                "smallvec",
                "1.6.0",
                "CVE-2021-25900",
                Some("1.6.1"),
                Critical
            ),
            row(
                "stdlib",
                "v1.20.1",
                "CVE-2023-29409",
                Some("1.20.7"),
                Unknown
            ),
            // last_affected is inclusive and names no fix.
            row("tar", "1.34+dfsg-1.2", "CVE-2024-0006", None, Unknown),
        ]
    );
    let lodash = findings.iter().find(|f| f.package == "lodash").unwrap();
    assert_eq!(lodash.cwe_ids, ["CWE-77", "CWE-94"]);
    assert_eq!(lodash.advisories, ["GHSA-35jh-r3h4-6jhm"]);
    assert_eq!(lodash.path, "/web/package-lock.json");
    let log4j = findings.iter().find(|f| f.id == "CVE-2021-44228").unwrap();
    assert_eq!(log4j.cvss.as_ref().unwrap().score, 10.0);
    assert_eq!(
        log4j.links,
        ["https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"]
    );
}

#[test]
fn alpine_and_rocky_images() {
    let db = db();
    let alpine = inventory_of(&fixtures::alpine_image());
    assert_eq!(
        rows(&find(&alpine, &db.advisories)),
        // busybox 1.36.1-r15 is past the fix 1.36.1-r7 (revisions compare as numbers).
        [row(
            "libcrypto3",
            "3.1.4-r1",
            "CVE-2024-0100",
            Some("3.1.4-r3"),
            Severity::Unknown
        )]
    );
    let rocky = inventory_of(&fixtures::rocky_image());
    let names: Vec<&str> = rocky.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["bash", "openssl-libs"],
        "gpg-pubkey is not a package"
    );
    assert_eq!(
        rows(&find(&rocky, &db.advisories)),
        [row(
            "openssl-libs",
            "1:3.0.7-24.el9",
            "CVE-2024-0200",
            Some("1:3.0.7-25.el9_3"),
            Severity::Unknown
        )]
    );
}

#[test]
fn the_zip_import_equals_the_directory_import() {
    let from_dir = db();
    let mut from_zip = MemoryDb::default();
    let zip = fixtures::osv_zip();
    let stats = import_zip(std::io::Cursor::new(zip), "all.zip", &mut |batch| {
        from_zip.add(batch);
        Ok(())
    })
    .unwrap();
    assert_eq!(stats.advisories, fixtures::osv_records().len() as u64 - 1);
    let inventory = inventory_of(&fixtures::debian_image());
    assert_eq!(
        rows(&find(&inventory, &from_zip.advisories)),
        rows(&find(&inventory, &from_dir.advisories))
    );
}

#[test]
fn a_malformed_record_fails_the_import_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fixtures::write_osv_dir(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("npm/GHSA-bad.json"),
        br#"{"id": "GHSA-bad", "modified": 5}"#,
    )
    .unwrap();
    let err = MemoryDb::import(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("GHSA-bad.json") && err.contains("not an OSV record"),
        "{err}"
    );
    std::fs::write(dir.path().join("npm/GHSA-bad.json"), br#"{"id": "GHSA-bad", "modified": "x", "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [{"type": "SEMVER", "events": [{"fixed": "1"}]}]}]}"#).unwrap();
    let err = MemoryDb::import(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("GHSA-bad.json") && err.contains("introduced"),
        "{err}"
    );
    let err = import_zip(
        std::io::Cursor::new(b"PK junk".to_vec()),
        "all.zip",
        &mut |_| Ok(()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("all.zip") && err.contains("not a zip"),
        "{err}"
    );
}

#[test]
fn sboms_list_every_package_with_its_purl() {
    use harbor_scanner::sbom::{Document, cyclonedx, spdx};
    let inventory = inventory_of(&fixtures::debian_image());
    let doc = Document {
        repository: "library/app",
        digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        created: "2026-12-06T00:00:00Z",
        tool: "Harbor-rs scanner",
        tool_version: "0.1.0",
    };
    let spdx = spdx(&doc, &inventory);
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["dataLicense"], "CC0-1.0");
    assert_eq!(
        spdx["creationInfo"]["creators"][0],
        "Tool: Harbor-rs scanner-0.1.0"
    );
    let packages = spdx["packages"].as_array().unwrap();
    // The image, the operating system and the 18 packages.
    assert_eq!(packages.len(), 2 + inventory.packages.len());
    assert_eq!(inventory.packages.len(), 18);
    let purls: Vec<&str> = packages
        .iter()
        .filter_map(|p| p["externalRefs"][0]["referenceLocator"].as_str())
        .collect();
    assert!(
        purls.contains(&"pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bb1?distro=debian-12"),
        "{purls:?}"
    );
    assert!(purls.contains(&"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"));
    let relationships = spdx["relationships"].as_array().unwrap();
    assert_eq!(
        relationships.len(),
        packages.len(),
        "DESCRIBES the image, which CONTAINS the rest"
    );
    let ids: std::collections::HashSet<&str> = packages
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), packages.len(), "SPDX ids are unique");

    let bom = cyclonedx(&doc, &inventory);
    assert_eq!(
        (bom["bomFormat"].as_str(), bom["specVersion"].as_str()),
        (Some("CycloneDX"), Some("1.5"))
    );
    assert!(
        bom["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:")
    );
    assert_eq!(bom["metadata"]["component"]["type"], "container");
    let components = bom["components"].as_array().unwrap();
    assert_eq!(components.len(), 1 + inventory.packages.len());
    assert_eq!(components[0]["type"], "operating-system");
    let refs: std::collections::HashSet<&str> = components
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), components.len(), "bom-refs are unique");
}
