//! The security hub and CVE export services on real stores (SQLite, and PostgreSQL when
//! `HARBOR_TEST_DATABASE_URL` is set), at sizes the HTTP tests' fixtures do not reach: a
//! tuned count past 1,000 matches, and an export of 2,500 findings read in pages and
//! written in several 1 MiB pieces by the job on a real runner.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use harbor_auth::{Accounts, Principal};
use harbor_core::identity::{NewUser, Page};
use harbor_core::jobs::{JobRunner, RunnerConfig};
use harbor_core::model::NewManifest;
use harbor_core::ports::{IdentityStore, MetadataStore};
use harbor_core::scan::registrations::{AdapterAuth, RegistrationSettings, ScannerStore};
use harbor_core::scan::security::{ExportCriteria, Finding, VulnFilter};
use harbor_core::scan::{ScanReportRecord, ScanStore};
use harbor_core::{Digest, Error, Registry, RegistryConfig, RepositoryName, Tag};
use harbor_platform::projects::CreateProject;
use harbor_platform::scanner::cve_export::{self, ExportRequest};
use harbor_platform::{Platform, SystemSettings};
use harbor_storage::testing::TestTarget as Target;
use harbor_storage::{ObjectBlobStore, SqlMetadataStore};

harbor_storage::contract_tests!(a_large_project_is_counted_and_exported_in_bounded_pieces);

const FINDINGS: usize = 2_500;

async fn a_large_project_is_counted_and_exported_in_bounded_pieces(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(t.open().await);
    let accounts = Arc::new(Accounts::new(store.clone(), "robot$"));
    accounts.bootstrap(Some("Test-Passw0rd")).await.unwrap();
    let admin = Principal::User(
        store
            .user_by_name(harbor_auth::accounts::ADMIN)
            .await
            .unwrap()
            .unwrap(),
    );
    let settings = SystemSettings::new(store.clone(), Duration::from_millis(1));
    let blobs = Arc::new(ObjectBlobStore::filesystem(dir.path(), false).unwrap());
    let registry = Registry::new(blobs, store.clone(), RegistryConfig::default());
    let platform = Platform::new(registry, accounts, store.clone(), settings);
    let project = platform
        .projects
        .create(
            &admin,
            CreateProject {
                name: "team".into(),
                ..CreateProject::default()
            },
        )
        .await
        .unwrap();

    let digest = push(&store, "team/app").await;
    let registration = store
        .create_registration(
            "6b1b2f8e-0000-4000-8000-000000000001",
            &RegistrationSettings {
                name: "Trivy".into(),
                description: String::new(),
                url: "https://trivy.example".into(),
                disabled: false,
                auth: AdapterAuth::None,
                sealed_credential: Vec::new(),
                skip_cert_verify: false,
                use_internal_addr: false,
            },
            &[],
        )
        .await
        .unwrap();
    assert!(registration.is_default, "the first registration");
    // Long vendor attributes make the CSV pass 1 MiB several times.
    let padding = "x".repeat(1_000);
    let findings: Vec<Finding> = (0..FINDINGS)
        .map(|i| Finding {
            cve_id: format!("CVE-2024-{i:05}"),
            package: format!("pkg-{}", i % 7),
            version: "1.0".into(),
            fix_version: if i % 2 == 0 {
                "1.1".into()
            } else {
                String::new()
            },
            severity: ["Critical", "High", "Medium", "Low"][i % 4].into(),
            cvss_v3: Some((i % 100) as f64 / 10.0),
            vendor_attributes: format!("{{\"n\":{i},\"pad\":\"{padding}\"}}"),
            ..Finding::default()
        })
        .collect();
    let mut report = ScanReportRecord {
        id: "report-1".into(),
        digest: digest.to_string(),
        registration_uuid: registration.uuid.clone(),
        mime_type: "application/vnd.security.vulnerability.report; version=1.1".into(),
        status: "Pending".into(),
        severity: String::new(),
        total: 0,
        fixable: 0,
        summary: "{}".into(),
        report: Vec::new(),
        log: String::new(),
        job_id: None,
        start_ms: 1,
        end_ms: 0,
    };
    store.start_scan_report(&report, 0).await.unwrap();
    report.status = "Success".into();
    assert!(store.finish_scan_report(&report, &findings).await.unwrap());

    // The hub: tuned counts stop past 1,000; exact ones count all.
    let hub = &platform.security_hub;
    let page = Page {
        page: 1,
        page_size: 10,
    };
    let any = VulnFilter::default();
    let tuned = hub
        .vulnerabilities(&admin, &any, page, true, false)
        .await
        .unwrap();
    assert_eq!((tuned.items.len(), tuned.total), (10, None));
    let exact = hub
        .vulnerabilities(&admin, &any, page, false, true)
        .await
        .unwrap();
    assert_eq!(exact.total, Some(FINDINGS as u64));
    assert_eq!(exact.items[0].row.finding.cvss_v3, Some(9.9));
    assert_eq!(exact.items[0].tags, ["1"]);
    let few = VulnFilter {
        package: Some("pkg-3".into()),
        severity: Some("Critical".into()),
        ..VulnFilter::default()
    };
    let few = hub
        .vulnerabilities(&admin, &few, page, true, false)
        .await
        .unwrap();
    assert_eq!(
        few.total,
        Some(89),
        "under the limit the tuned count is exact"
    );
    let summary = hub.summary(&admin, true, true).await.unwrap();
    assert_eq!(summary.counts.critical, 625);
    assert_eq!(summary.counts.fixable, 1_250);
    assert_eq!(summary.dangerous_cves.unwrap().len(), 5);
    let nobody = Principal::User(
        store
            .create_user(&NewUser {
                username: "dev".into(),
                email: None,
                realname: "dev".into(),
                comment: String::new(),
                password_hash: "x".into(),
                sysadmin: false,
            })
            .await
            .unwrap(),
    );
    assert!(matches!(
        hub.summary(&nobody, false, false).await,
        Err(Error::Forbidden(_))
    ));

    // The export, run by a real job runner.
    let mut runner = JobRunner::new(
        store.clone(),
        RunnerConfig {
            workers: 1,
            poll_interval: Duration::from_millis(50),
            ..RunnerConfig::default()
        },
    );
    runner.register(
        cve_export::JOB_KIND,
        platform.cve_exports.job_handler(),
        true,
    );
    let handle = runner.start();
    let id = platform
        .cve_exports
        .start(
            &admin,
            cve_export::SCAN_DATA_TYPE,
            ExportRequest {
                job_name: "big".into(),
                criteria: ExportCriteria {
                    projects: vec![project.id],
                    ..ExportCriteria::default()
                },
            },
        )
        .await
        .unwrap();
    handle.wake();
    let mut export = platform.cve_exports.execution(&admin, id).await.unwrap();
    for _ in 0..600 {
        if export.status != "Running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        export = platform.cve_exports.execution(&admin, id).await.unwrap();
    }
    handle.shutdown().await;
    assert_eq!(export.status, "Success", "{export:?}");
    assert_eq!(export.file_rows, FINDINGS as u64);
    assert!(export.file_size > 2 * (1 << 20), "{}", export.file_size);
    let download = platform.cve_exports.download(&admin, id).await.unwrap();
    let pieces: Vec<Bytes> = download.body.try_collect().await.unwrap();
    assert!(pieces.len() >= 3, "stored and read in 1 MiB pieces");
    assert!(pieces.iter().all(|p| p.len() <= (1 << 20) + 2_000));
    let bytes: Vec<u8> = pieces.concat();
    assert_eq!(bytes.len() as u64, export.file_size);
    assert_eq!(Digest::sha256(&bytes).to_string(), export.file_digest);
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), FINDINGS + 1);
    assert!(lines[0].starts_with("Repository,Artifact Digest,CVE,"));
    // Every finding once, in the report's order.
    for (i, line) in lines[1..].iter().enumerate() {
        assert!(
            line.starts_with(&format!("team/app,{digest},CVE-2024-{i:05},")),
            "{i}: {line}"
        );
        assert!(line.ends_with(",Trivy"));
    }
    // Someone else sees none of it.
    assert!(matches!(
        platform.cve_exports.execution(&nobody, id).await,
        Err(Error::Forbidden(_))
    ));
    assert!(
        platform
            .cve_exports
            .executions(&nobody)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Pushes a one-layer image tagged `1` into `repository`; its digest.
async fn push(store: &SqlMetadataStore, repository: &str) -> Digest {
    let r = RepositoryName::parse(repository).unwrap();
    let layer = Digest::sha256(b"layer");
    store.link_blob(&r, &layer, 5).await.unwrap();
    let content = "{\"manifest\":\"big\"}";
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
    store
        .put_manifest(&r, &man, &[Tag::parse("1").unwrap()])
        .await
        .unwrap();
    man.digest
}
