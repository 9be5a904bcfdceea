//! The contract of the security hub's storage and of CVE exports, on SQLite and PostgreSQL
//! (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`): findings written with their
//! report and gone with it, the hub's counts and rankings over one scanner's reports, its
//! filters, pages and capped counts, the export's artifact selection and row paging, and
//! export files stored in pieces until they expire.

use std::collections::BTreeMap;

use bytes::Bytes;
use harbor_core::identity::Page;
use harbor_core::jobs::{JobStore, NewJob, Trigger};
use harbor_core::labels::{LabelScope, LabelStore, NewLabel};
use harbor_core::model::NewManifest;
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::scan::security::{
    ExportCriteria, ExportCursor, Finding, NewCveExport, SecurityStore, VulnFilter,
};
use harbor_core::scan::{ScanReportRecord, ScanStore};
use harbor_core::{Digest, RepositoryName, Tag};
use harbor_storage::SqlMetadataStore;
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    findings_are_written_with_their_report_and_go_with_it,
    the_hub_counts_and_ranks_one_scanners_reports,
    vulnerabilities_filter_page_and_count_with_a_cap,
    exports_select_artifacts_and_page_their_rows,
    export_files_are_stored_in_pieces_until_they_expire,
);

const V11: &str = "application/vnd.security.vulnerability.report; version=1.1";

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

async fn project(m: &SqlMetadataStore, name: &str) -> i64 {
    let owner = harbor_storage::testing::owner_id(m).await;
    m.create_project(name, owner, false).await.unwrap().id
}

/// Pushes an image manifest named `name` into `repository` with `tags`; its digest.
async fn image(m: &SqlMetadataStore, repository: &str, name: &str, tags: &[&str]) -> Digest {
    let r = repo(repository);
    let layer = Digest::sha256(format!("layer {name}").as_bytes());
    m.link_blob(&r, &layer, 10).await.unwrap();
    let content = format!("{{\"manifest\":\"{name}\"}}");
    let man = NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_MANIFEST.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::from(content),
        blobs: vec![layer],
        manifests: vec![],
        children_pending: false,
    };
    let tags: Vec<Tag> = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
    m.put_manifest(&r, &man, &tags).await.unwrap();
    man.digest
}

/// Pushes an index of `children` (already in `repository`) tagged `tags`; its digest.
async fn index(
    m: &SqlMetadataStore,
    repository: &str,
    children: &[&Digest],
    tags: &[&str],
) -> Digest {
    let content = format!(
        "{{\"manifests\":[{}]}}",
        children
            .iter()
            .map(|c| format!("{{\"digest\":\"{c}\"}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let man = NewManifest {
        digest: Digest::sha256(content.as_bytes()),
        media_type: harbor_core::manifest::OCI_INDEX.into(),
        artifact_type: None,
        subject: None,
        annotations: BTreeMap::new(),
        content: Bytes::from(content),
        blobs: vec![],
        manifests: children.iter().map(|c| (*c).clone()).collect(),
        children_pending: false,
    };
    let tags: Vec<Tag> = tags.iter().map(|t| Tag::parse(t).unwrap()).collect();
    m.put_manifest(&repo(repository), &man, &tags)
        .await
        .unwrap();
    man.digest
}

fn finding(cve: &str, package: &str, severity: &str, score: Option<f64>, fix: &str) -> Finding {
    Finding {
        cve_id: cve.into(),
        package: package.into(),
        version: "1.0".into(),
        fix_version: fix.into(),
        severity: severity.into(),
        cvss_v3: score,
        cwe_ids: "CWE-79,CWE-89".into(),
        description: format!("{cve} in {package}"),
        links: vec![format!("https://example.com/{cve}"), "https://nvd".into()],
        vendor_attributes: format!("{{\"advisories\":[\"{cve}\"]}}"),
    }
}

fn report(id: &str, digest: &Digest, registration: &str) -> ScanReportRecord {
    ScanReportRecord {
        id: id.into(),
        digest: digest.to_string(),
        registration_uuid: registration.into(),
        mime_type: V11.into(),
        status: "Pending".into(),
        severity: String::new(),
        total: 0,
        fixable: 0,
        summary: "{}".into(),
        report: Vec::new(),
        log: String::new(),
        job_id: None,
        start_ms: 1_000,
        end_ms: 0,
    }
}

/// Records a successful report of `digest` by `registration` with `findings`.
async fn scanned(
    m: &SqlMetadataStore,
    id: &str,
    digest: &Digest,
    registration: &str,
    findings: &[Finding],
) {
    let mut r = report(id, digest, registration);
    m.start_scan_report(&r, 0).await.unwrap();
    r.status = "Success".into();
    r.total = findings.len() as u64;
    r.end_ms = 2_000;
    assert!(m.finish_scan_report(&r, findings).await.unwrap());
}

fn all() -> Page {
    Page {
        page: 1,
        page_size: 100,
    }
}

async fn cves(m: &SqlMetadataStore, registration: &str, filter: &VulnFilter) -> Vec<String> {
    m.vulnerabilities(registration, filter, all())
        .await
        .unwrap()
        .into_iter()
        .map(|v| format!("{}:{}", v.repository_name, v.finding.cve_id))
        .collect()
}

async fn findings_are_written_with_their_report_and_go_with_it(t: &Target) {
    let m = t.open().await;
    project(&m, "team").await;
    let d = image(&m, "team/app", "a", &["1"]).await;
    let items = vec![
        finding("CVE-1", "openssl", "High", Some(7.5), "1.1"),
        finding("CVE-2", "zlib", "Low", None, ""),
    ];
    scanned(&m, "r1", &d, "reg", &items).await;
    let rows = m
        .vulnerabilities("reg", &VulnFilter::default(), all())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].repository_name, "team/app");
    assert_eq!(rows[0].digest, d.to_string());
    let mut first = items[0].clone();
    first.vendor_attributes = String::new(); // the listing leaves it out
    assert_eq!(rows[0].finding, first);
    assert_eq!(rows[1].finding.cvss_v3, None);

    // Finishing again replaces the findings.
    let mut r = report("r1", &d, "reg");
    r.status = "Success".into();
    assert!(
        m.finish_scan_report(&r, &items[1..]).await.unwrap(),
        "the report exists"
    );
    assert_eq!(
        cves(&m, "reg", &VulnFilter::default()).await,
        ["team/app:CVE-2"]
    );
    assert_eq!(m.security_counts("reg").await.unwrap().low, 1);
    // A new scan replaces the report, and its findings go with it.
    m.start_scan_report(&report("r2", &d, "reg"), 0)
        .await
        .unwrap();
    assert!(cves(&m, "reg", &VulnFilter::default()).await.is_empty());
    assert_eq!(m.security_counts("reg").await.unwrap().low, 0);
    // A report that is gone stores nothing.
    assert!(
        !m.finish_scan_report(&report("gone", &d, "reg"), &items)
            .await
            .unwrap()
    );
    // Many findings go in several statements.
    let many: Vec<Finding> = (0..1_001)
        .map(|i| finding(&format!("CVE-{i}"), "p", "Medium", Some(5.0), "2"))
        .collect();
    let e = image(&m, "team/big", "e", &["1"]).await;
    scanned(&m, "r3", &e, "reg", &many).await;
    let counts = m.security_counts("reg").await.unwrap();
    assert_eq!((counts.medium, counts.fixable), (1_001, 1_001));
}

async fn the_hub_counts_and_ranks_one_scanners_reports(t: &Target) {
    let m = t.open().await;
    let team = project(&m, "team").await;
    let ops = project(&m, "ops").await;
    let a = image(&m, "team/app", "a", &["1"]).await;
    let b = image(&m, "ops/web", "b", &["1"]).await;
    // The same digest in a second repository counts twice, as in Harbor.
    let a_again = {
        let r = repo("ops/copy");
        let layer = Digest::sha256(b"layer a");
        m.link_blob(&r, &layer, 10).await.unwrap();
        let content = "{\"manifest\":\"a\"}";
        let man = NewManifest {
            digest: Digest::sha256(content.as_bytes()),
            media_type: harbor_core::manifest::OCI_MANIFEST.into(),
            artifact_type: None,
            subject: None,
            annotations: BTreeMap::new(),
            content: Bytes::from(content),
            blobs: vec![layer],
            manifests: vec![],
            children_pending: false,
        };
        m.put_manifest(&r, &man, &[]).await.unwrap();
        man.digest
    };
    assert_eq!(a, a_again);
    let unscanned = image(&m, "team/other", "c", &["1"]).await;
    let gone = Digest::sha256(b"deleted artifact");

    scanned(
        &m,
        "ra",
        &a,
        "default",
        &[
            finding("CVE-A1", "openssl", "Critical", Some(9.8), "3"),
            finding("CVE-A2", "zlib", "High", Some(7.5), ""),
            finding("CVE-A3", "bash", "Unknown", None, ""),
        ],
    )
    .await;
    scanned(
        &m,
        "rb",
        &b,
        "default",
        &[
            finding("CVE-B1", "curl", "Critical", Some(9.1), "8"),
            finding("CVE-B2", "curl", "Critical", Some(9.0), "8"),
            finding("CVE-B3", "tar", "Medium", Some(5.5), "2"),
            finding("CVE-B4", "tar", "Low", Some(3.1), "2"),
            finding("CVE-B5", "tar", "Negligible", Some(0.5), ""),
        ],
    )
    .await;
    // Another scanner's report and a report of a digest no artifact has: not counted.
    scanned(
        &m,
        "rx",
        &unscanned,
        "other",
        &[finding("CVE-X", "x", "Critical", Some(10.0), "")],
    )
    .await;
    scanned(
        &m,
        "rg",
        &gone,
        "default",
        &[finding("CVE-G", "g", "Critical", Some(10.0), "")],
    )
    .await;
    // A running scan counts as unscanned.
    m.start_scan_report(&report("rp", &unscanned, "default"), 0)
        .await
        .unwrap();

    let c = m.security_counts("default").await.unwrap();
    assert_eq!(
        (
            c.critical, c.high, c.medium, c.low, c.none, c.unknown, c.fixable
        ),
        (4, 2, 1, 1, 1, 2, 6),
        "{c:?}"
    );
    assert_eq!((c.scanned, c.artifacts), (3, 4));
    assert_eq!(
        m.security_counts("nobody").await.unwrap().artifacts,
        4,
        "the total does not depend on the scanner"
    );

    let top = m.dangerous_cves("default", 5).await.unwrap();
    let names: Vec<(&str, &str, f64)> = top
        .iter()
        .map(|c| (c.cve_id.as_str(), c.severity.as_str(), c.cvss_v3))
        .collect();
    // Distinct (CVE, package, version): CVE-A1 appears in two artifacts, once here.
    assert_eq!(
        names,
        [
            ("CVE-A1", "Critical", 9.8),
            ("CVE-B1", "Critical", 9.1),
            ("CVE-B2", "Critical", 9.0),
            ("CVE-A2", "High", 7.5),
            ("CVE-B3", "Medium", 5.5),
        ]
    );
    assert_eq!(top[0].package, "openssl");
    assert_eq!(top[0].description, "CVE-A1 in openssl");

    let arts = m.dangerous_artifacts("default", 5).await.unwrap();
    let names: Vec<(&str, i64, u64, u64, u64, u64)> = arts
        .iter()
        .map(|a| {
            (
                a.repository_name.as_str(),
                a.project_id,
                a.critical,
                a.high,
                a.medium,
                a.low,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("ops/web", ops, 2, 0, 1, 1),
            ("team/app", team, 1, 1, 0, 0),
            ("ops/copy", ops, 1, 1, 0, 0),
        ]
    );
    assert_eq!(m.dangerous_artifacts("default", 1).await.unwrap().len(), 1);
    assert!(m.dangerous_cves("nobody", 5).await.unwrap().is_empty());
}

async fn vulnerabilities_filter_page_and_count_with_a_cap(t: &Target) {
    let m = t.open().await;
    let team = project(&m, "team").await;
    project(&m, "ops").await;
    let a = image(&m, "team/app", "a", &["1", "latest"]).await;
    let b = image(&m, "ops/web", "b", &["2"]).await;
    scanned(
        &m,
        "ra",
        &a,
        "default",
        &[
            finding("CVE-1", "openssl", "Critical", Some(9.8), "3"),
            finding("CVE-2", "zlib", "High", Some(7.0), ""),
            finding("CVE-3", "bash", "Unknown", None, ""),
        ],
    )
    .await;
    scanned(
        &m,
        "rb",
        &b,
        "default",
        &[
            finding("CVE-1", "openssl", "Critical", Some(9.8), "3"),
            finding("CVE-4", "tar", "Medium", Some(4.0), "2"),
        ],
    )
    .await;
    let all_rows = cves(&m, "default", &VulnFilter::default()).await;
    // Highest score first, unscored last; ties by artifact.
    assert_eq!(
        all_rows,
        [
            "team/app:CVE-1",
            "ops/web:CVE-1",
            "team/app:CVE-2",
            "ops/web:CVE-4",
            "team/app:CVE-3"
        ]
    );
    let f = |tweak: fn(&mut VulnFilter)| {
        let mut f = VulnFilter::default();
        tweak(&mut f);
        f
    };
    assert_eq!(
        cves(&m, "default", &f(|f| f.cve_id = Some("CVE-1".into()))).await,
        ["team/app:CVE-1", "ops/web:CVE-1"]
    );
    assert_eq!(
        cves(&m, "default", &f(|f| f.severity = Some("High".into()))).await,
        ["team/app:CVE-2"]
    );
    assert_eq!(
        cves(
            &m,
            "default",
            &f(|f| f.cvss_v3 = Some((Some(4.0), Some(7.0))))
        )
        .await,
        ["team/app:CVE-2", "ops/web:CVE-4"],
        "both ends included"
    );
    assert_eq!(
        cves(&m, "default", &f(|f| f.cvss_v3 = Some((Some(9.0), None)))).await,
        ["team/app:CVE-1", "ops/web:CVE-1"]
    );
    assert_eq!(
        cves(
            &m,
            "default",
            &f(|f| f.repository_name = Some("ops/web".into()))
        )
        .await,
        ["ops/web:CVE-1", "ops/web:CVE-4"]
    );
    let by_project = VulnFilter {
        project_id: Some(team),
        ..Default::default()
    };
    assert_eq!(cves(&m, "default", &by_project).await.len(), 3);
    assert_eq!(
        cves(&m, "default", &f(|f| f.package = Some("tar".into()))).await,
        ["ops/web:CVE-4"]
    );
    assert_eq!(
        cves(&m, "default", &f(|f| f.tag = Some("latest".into())))
            .await
            .len(),
        3
    );
    assert!(
        cves(&m, "default", &f(|f| f.tag = Some("nope".into())))
            .await
            .is_empty()
    );
    let by_digest = VulnFilter {
        digest: Some(b.to_string()),
        severity: Some("Medium".into()),
        ..Default::default()
    };
    assert_eq!(cves(&m, "default", &by_digest).await, ["ops/web:CVE-4"]);
    assert!(cves(&m, "other", &VulnFilter::default()).await.is_empty());

    // Pages and counts.
    let page2 = m
        .vulnerabilities(
            "default",
            &VulnFilter::default(),
            Page {
                page: 2,
                page_size: 2,
            },
        )
        .await
        .unwrap();
    let page2: Vec<&str> = page2.iter().map(|r| r.finding.cve_id.as_str()).collect();
    assert_eq!(page2, ["CVE-2", "CVE-4"]);
    let none = VulnFilter::default();
    assert_eq!(
        m.count_vulnerabilities("default", &none, None)
            .await
            .unwrap(),
        Some(5)
    );
    assert_eq!(
        m.count_vulnerabilities("default", &none, Some(5))
            .await
            .unwrap(),
        Some(5)
    );
    assert_eq!(
        m.count_vulnerabilities("default", &none, Some(4))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        m.count_vulnerabilities("default", &f(|f| f.package = Some("tar".into())), Some(1))
            .await
            .unwrap(),
        Some(1)
    );
}

async fn exports_select_artifacts_and_page_their_rows(t: &Target) {
    let m = t.open().await;
    let team = project(&m, "team").await;
    project(&m, "ops").await;
    let a = image(&m, "team/app", "a", &["1"]).await;
    let child = image(&m, "team/multi", "c", &[]).await;
    let idx = index(&m, "team/multi", &[&child], &["v2"]).await;
    image(&m, "ops/web", "b", &["1"]).await;
    let label = m
        .create_label(&NewLabel {
            name: "prod".into(),
            description: String::new(),
            color: String::new(),
            scope: LabelScope::Project,
            project_id: Some(team),
        })
        .await
        .unwrap();
    let arts = m.export_artifacts(team).await.unwrap();
    let by_repo: Vec<(&str, usize, usize)> = arts
        .iter()
        .map(|x| (x.repository.as_str(), x.tags.len(), x.children.len()))
        .collect();
    assert_eq!(
        by_repo,
        [
            ("team/app", 1, 0),
            ("team/multi", 0, 0),
            ("team/multi", 1, 1)
        ]
    );
    let index_row = arts.iter().find(|x| x.tags == ["v2"]).unwrap();
    let child_row = arts
        .iter()
        .find(|x| x.repository == "team/multi" && x.tags.is_empty())
        .unwrap();
    assert_eq!(index_row.children, [child_row.id]);
    m.attach_label(index_row.id, label.id).await.unwrap();
    let arts = m.export_artifacts(team).await.unwrap();
    assert_eq!(
        arts.iter().find(|x| x.id == index_row.id).unwrap().labels,
        [label.id]
    );
    let _ = idx;

    // Rows of the artifacts' successful reports, by any scanner, paged by a cursor.
    let app_row = arts.iter().find(|x| x.repository == "team/app").unwrap().id;
    scanned(
        &m,
        "ra",
        &a,
        "one",
        &[
            finding("CVE-1", "openssl", "Critical", Some(9.8), "3"),
            finding("CVE-2", "zlib", "High", Some(7.0), ""),
        ],
    )
    .await;
    scanned(
        &m,
        "rc",
        &child,
        "two",
        &[finding("CVE-3", "bash", "Low", None, "")],
    )
    .await;
    m.start_scan_report(&report("running", &child, "one"), 0)
        .await
        .unwrap();
    let ids = [app_row, child_row.id];
    let rows = m.export_rows(&ids, None, 100).await.unwrap();
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.repository.as_str(), r.cve_id.as_str(), r.scanner.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("team/app", "CVE-1", "one"),
            ("team/app", "CVE-2", "one"),
            ("team/multi", "CVE-3", "two")
        ],
        "the registration's uuid stands in for a scanner that is not registered"
    );
    assert_eq!(rows[0].digest, a.to_string());
    assert_eq!(rows[0].fix_version, "3");
    assert_eq!(rows[0].cwe_ids, "CWE-79,CWE-89");
    assert_eq!(rows[0].vendor_attributes, "{\"advisories\":[\"CVE-1\"]}");
    // One row at a time, continuing after each.
    let mut cursor: Option<ExportCursor> = None;
    let mut one_by_one = Vec::new();
    loop {
        let page = m.export_rows(&ids, cursor.as_ref(), 1).await.unwrap();
        let Some(row) = page.into_iter().next() else {
            break;
        };
        cursor = Some(row.cursor.clone());
        one_by_one.push(row.cve_id);
    }
    assert_eq!(one_by_one, ["CVE-1", "CVE-2", "CVE-3"]);
    assert!(m.export_rows(&[], None, 10).await.unwrap().is_empty());
}

async fn export_files_are_stored_in_pieces_until_they_expire(t: &Target) {
    let m = t.open().await;
    let criteria = ExportCriteria {
        projects: vec![3],
        labels: vec![4, 5],
        repositories: "{app,web/**}".into(),
        tags: "v*".into(),
        cve_ids: "CVE-2024-*".into(),
    };
    let new = |user: &str, at: i64| NewCveExport {
        user_id: 7,
        user_name: user.into(),
        job_name: format!("job of {user}"),
        criteria: criteria.clone(),
        created_ms: at,
    };
    let e = m.create_cve_export(&new("alice", 1_000)).await.unwrap();
    assert_eq!(e.status, "Running");
    assert!(!e.file_present);
    m.set_cve_export_job(e.id, 42).await.unwrap();
    let stored = m.cve_export(e.id).await.unwrap().unwrap();
    assert_eq!(stored.criteria, criteria);
    assert_eq!(stored.job_id, Some(42));
    assert_eq!(stored.job_name, "job of alice");
    let other = m.create_cve_export(&new("bob", 2_000)).await.unwrap();
    let newer = m.create_cve_export(&new("alice", 3_000)).await.unwrap();
    let ids: Vec<i64> = m
        .cve_exports_of("alice")
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, [newer.id, e.id], "newest first, only alice's");

    // A failed attempt's pieces are dropped before the next one writes.
    m.put_cve_export_chunk(e.id, 0, b"stale").await.unwrap();
    m.reset_cve_export_file(e.id).await.unwrap();
    m.put_cve_export_chunk(e.id, 0, b"a,b\n").await.unwrap();
    m.put_cve_export_chunk(e.id, 1, &[0xff; 3]).await.unwrap();
    assert_eq!(
        m.cve_export_chunk(e.id, 0).await.unwrap(),
        None,
        "not until finished"
    );
    assert!(
        m.finish_cve_export(e.id, "Success", "", Some(("sha256:ab", 7, 1)))
            .await
            .unwrap()
    );
    let done = m.cve_export(e.id).await.unwrap().unwrap();
    assert_eq!(
        (
            done.status.as_str(),
            done.file_size,
            done.file_rows,
            done.file_present
        ),
        ("Success", 7, 1, true)
    );
    assert!(done.end_ms > 0);
    assert_eq!(done.file_digest, "sha256:ab");
    assert_eq!(
        m.cve_export_chunk(e.id, 0).await.unwrap().unwrap(),
        b"a,b\n"
    );
    assert_eq!(
        m.cve_export_chunk(e.id, 1).await.unwrap().unwrap(),
        [0xff; 3]
    );
    assert_eq!(m.cve_export_chunk(e.id, 2).await.unwrap(), None);
    // Nothing found: no file.
    assert!(
        m.finish_cve_export(
            other.id,
            "Success",
            "No vulnerabilities found or matched",
            None
        )
        .await
        .unwrap()
    );
    let empty = m.cve_export(other.id).await.unwrap().unwrap();
    assert!(!empty.file_present);
    assert_eq!(empty.status_text, "No vulnerabilities found or matched");
    assert!(
        !m.finish_cve_export(999_999, "Error", "x", None)
            .await
            .unwrap()
    );

    // Files of exports that ended before the first bound go; exports created before the
    // second go whole.
    let (files, exports) = m.purge_cve_exports(0, 0).await.unwrap();
    assert_eq!((files, exports), (0, 0));
    let (files, exports) = m.purge_cve_exports(i64::MAX, 1_500).await.unwrap();
    assert_eq!((files, exports), (1, 1));
    assert!(m.cve_export(e.id).await.unwrap().is_none());
    assert!(m.cve_export(other.id).await.unwrap().is_some());
    m.put_cve_export_chunk(newer.id, 0, b"x").await.unwrap();
    m.finish_cve_export(newer.id, "Success", "", Some(("sha256:cd", 1, 1)))
        .await
        .unwrap();
    m.purge_cve_exports(i64::MAX, 0).await.unwrap();
    let expired = m.cve_export(newer.id).await.unwrap().unwrap();
    assert!(
        !expired.file_present,
        "the file expired, the execution stays"
    );
    assert_eq!(m.cve_export_chunk(newer.id, 0).await.unwrap(), None);
    // An export whose job ended without saying how reads as the job's end.
    let orphan = m.create_cve_export(&new("alice", 4_000)).await.unwrap();
    let job = m
        .enqueue(&NewJob {
            kind: "SCAN_DATA_EXPORT".into(),
            params: "{}".into(),
            trigger: Trigger::Manual,
            max_attempts: 1,
            run_after_ms: 0,
            schedule_id: None,
        })
        .await
        .unwrap();
    m.set_cve_export_job(orphan.id, job.id).await.unwrap();
    assert_eq!(
        m.cve_export(orphan.id).await.unwrap().unwrap().status,
        "Running"
    );
    m.request_stop(job.id, 5_000).await.unwrap();
    let stopped = m.cve_export(orphan.id).await.unwrap().unwrap();
    assert_eq!(
        (stopped.status.as_str(), stopped.status_text.as_str()),
        ("Stopped", "stopped by request")
    );
    // Deleting an export deletes its file.
    m.put_cve_export_chunk(other.id, 0, b"y").await.unwrap();
    assert!(m.delete_cve_export(other.id).await.unwrap());
    assert!(!m.delete_cve_export(other.id).await.unwrap());
    assert_eq!(m.cve_export_chunk(other.id, 0).await.unwrap(), None);
}
