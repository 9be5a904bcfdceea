//! The contract of the scanner's vulnerability database and layer inventory cache, on
//! SQLite and PostgreSQL (`HARBOR_TEST_DATABASE_URL`, see `harbor_storage::testing`).

use harbor_core::Digest;
use harbor_core::scan::{
    AdvisoryRow, ScanReportRecord, ScanRequestRecord, ScanRequestState, ScanStore, VulnDbInfo,
};
use harbor_storage::testing::TestTarget as Target;

harbor_storage::contract_tests!(
    an_import_is_invisible_until_committed_and_replaces_the_last,
    an_aborted_import_leaves_the_current_database,
    lookups_find_every_key_in_batches,
    layer_inventories_are_cached_by_digest_and_version,
    scan_requests_move_to_a_final_state_that_clears_the_credential,
    scan_reports_replace_the_last_unless_one_is_running,
    scan_reports_are_found_by_when_they_started,
);

fn row(ecosystem: &str, package: &str, id: &str) -> AdvisoryRow {
    AdvisoryRow {
        ecosystem: ecosystem.into(),
        package: package.into(),
        id: id.into(),
        data: format!("{id}\0{package}").into_bytes(),
    }
}

fn info(generation: i64, advisories: u64) -> VulnDbInfo {
    VulnDbInfo {
        generation,
        imported_at_ms: 1_700_000_000_000 + generation,
        newest: "2026-11-30T00:00:00Z".into(),
        records: advisories,
        advisories,
        source: format!("all-{generation}.zip"),
    }
}

fn key(ecosystem: &str, package: &str) -> (String, String) {
    (ecosystem.into(), package.into())
}

async fn ids(m: &impl ScanStore, keys: &[(String, String)]) -> Vec<String> {
    let mut ids: Vec<String> = m
        .advisories(keys)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

async fn an_import_is_invisible_until_committed_and_replaces_the_last(t: &Target) {
    let m = t.open().await;
    assert_eq!(m.vuln_db_info().await.unwrap(), None);
    assert!(
        m.advisories(&[key("Debian:12", "openssl")])
            .await
            .unwrap()
            .is_empty()
    );
    let first = m.begin_vuln_import("all-1.zip").await.unwrap();
    let rows = [
        row("Debian:12", "openssl", "CVE-1"),
        row("Debian:12", "openssl", "CVE-2"),
        row("npm", "lodash", "GHSA-1"),
    ];
    m.insert_advisories(first, &rows).await.unwrap();
    // A repeated key is ignored, not an error.
    m.insert_advisories(first, &rows[..1]).await.unwrap();
    assert!(
        m.advisories(&[key("Debian:12", "openssl")])
            .await
            .unwrap()
            .is_empty(),
        "not committed yet"
    );
    m.commit_vuln_import(&info(first, 3)).await.unwrap();
    assert_eq!(m.vuln_db_info().await.unwrap(), Some(info(first, 3)));
    let found = m.advisories(&[key("Debian:12", "openssl")]).await.unwrap();
    assert_eq!(found.len(), 2);
    assert!(
        found.contains(&rows[1]),
        "the payload round-trips byte for byte"
    );
    // A second import replaces the first wholly once committed.
    let second = m.begin_vuln_import("all-2.zip").await.unwrap();
    assert!(second > first);
    m.insert_advisories(second, &[row("Debian:12", "openssl", "CVE-3")])
        .await
        .unwrap();
    assert_eq!(
        ids(&m, &[key("Debian:12", "openssl")]).await,
        ["CVE-1", "CVE-2"]
    );
    m.commit_vuln_import(&info(second, 1)).await.unwrap();
    assert_eq!(
        ids(&m, &[key("Debian:12", "openssl"), key("npm", "lodash")]).await,
        ["CVE-3"]
    );
    assert_eq!(m.vuln_db_info().await.unwrap().unwrap().source, "all-2.zip");
    // Committing twice, or an unknown import, is refused.
    assert!(m.commit_vuln_import(&info(second, 1)).await.is_err());
}

async fn an_aborted_import_leaves_the_current_database(t: &Target) {
    let m = t.open().await;
    let first = m.begin_vuln_import("a").await.unwrap();
    m.insert_advisories(first, &[row("PyPI", "requests", "PYSEC-1")])
        .await
        .unwrap();
    m.commit_vuln_import(&info(first, 1)).await.unwrap();
    let failed = m.begin_vuln_import("b").await.unwrap();
    m.insert_advisories(failed, &[row("PyPI", "requests", "PYSEC-2")])
        .await
        .unwrap();
    m.abort_vuln_import(failed).await.unwrap();
    assert!(
        m.commit_vuln_import(&info(failed, 1)).await.is_err(),
        "an aborted import cannot be committed"
    );
    assert_eq!(ids(&m, &[key("PyPI", "requests")]).await, ["PYSEC-1"]);
    assert_eq!(m.vuln_db_info().await.unwrap().unwrap().generation, first);
}

async fn lookups_find_every_key_in_batches(t: &Target) {
    let m = t.open().await;
    let generation = m.begin_vuln_import("big").await.unwrap();
    // More rows than one INSERT and more keys than one lookup query take.
    let rows: Vec<AdvisoryRow> = (0..2_500)
        .map(|i| row("crates.io", &format!("crate-{i}"), &format!("RUSTSEC-{i}")))
        .collect();
    m.insert_advisories(generation, &rows).await.unwrap();
    m.commit_vuln_import(&info(generation, 2_500))
        .await
        .unwrap();
    let keys: Vec<(String, String)> = (0..1_200)
        .map(|i| key("crates.io", &format!("crate-{}", i * 2)))
        .collect();
    let found = m.advisories(&keys).await.unwrap();
    assert_eq!(found.len(), 1_200);
    assert!(found.iter().all(|r| {
        r.package
            .trim_start_matches("crate-")
            .parse::<u32>()
            .unwrap()
            % 2
            == 0
    }));
    // Ecosystem and package must both match.
    assert!(
        m.advisories(&[key("npm", "crate-2"), key("crates.io", "nope")])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn layer_inventories_are_cached_by_digest_and_version(t: &Target) {
    let m = t.open().await;
    let digest = Digest::sha256(b"layer");
    assert_eq!(m.layer_inventory(&digest, "1").await.unwrap(), None);
    m.put_layer_inventory(&digest, "1", b"inventory v1")
        .await
        .unwrap();
    m.put_layer_inventory(&digest, "1", b"ignored")
        .await
        .unwrap();
    assert_eq!(
        m.layer_inventory(&digest, "1").await.unwrap().as_deref(),
        Some(&b"inventory v1"[..])
    );
    assert_eq!(
        m.layer_inventory(&digest, "2").await.unwrap(),
        None,
        "another scanner version recomputes"
    );
}

async fn scan_requests_move_to_a_final_state_that_clears_the_credential(t: &Target) {
    let m = t.open().await;
    let record = ScanRequestRecord {
        id: "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
        request: r#"{"artifact":{}}"#.into(),
        sealed_authorization: b"\x00sealed".to_vec(),
        state: ScanRequestState::Queued,
        error: String::new(),
        result: Vec::new(),
        created_ms: 1_000,
        updated_ms: 1_000,
    };
    m.create_scan_request(&record).await.unwrap();
    assert!(matches!(
        m.create_scan_request(&record).await,
        Err(harbor_core::Error::Conflict(_))
    ));
    assert_eq!(m.scan_request(&record.id).await.unwrap().unwrap(), record);
    assert!(
        m.update_scan_request(&record.id, ScanRequestState::Running, "", b"")
            .await
            .unwrap()
    );
    let running = m.scan_request(&record.id).await.unwrap().unwrap();
    assert_eq!(running.state, ScanRequestState::Running);
    assert_eq!(
        running.sealed_authorization, record.sealed_authorization,
        "still needed while running"
    );
    assert!(
        m.update_scan_request(&record.id, ScanRequestState::Done, "", b"outcome")
            .await
            .unwrap()
    );
    let done = m.scan_request(&record.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.result.as_slice()),
        (ScanRequestState::Done, &b"outcome"[..])
    );
    assert!(
        done.sealed_authorization.is_empty(),
        "a finished scan keeps no credential"
    );
    assert!(
        !m.update_scan_request("nope", ScanRequestState::Failed, "x", b"")
            .await
            .unwrap()
    );
    let mut newer = record.clone();
    newer.id = "newer".into();
    newer.created_ms = 5_000;
    m.create_scan_request(&newer).await.unwrap();
    assert_eq!(m.delete_scan_requests_before(2_000).await.unwrap(), 1);
    assert!(m.scan_request(&record.id).await.unwrap().is_none());
    assert!(m.scan_request("newer").await.unwrap().is_some());
}

fn report(id: &str, digest: &str, status: &str) -> ScanReportRecord {
    ScanReportRecord {
        id: id.into(),
        digest: digest.into(),
        registration_uuid: "reg-1".into(),
        mime_type: "application/vnd.security.vulnerability.report; version=1.1".into(),
        status: status.into(),
        severity: String::new(),
        total: 0,
        fixable: 0,
        summary: "{}".into(),
        report: Vec::new(),
        log: String::new(),
        job_id: Some(7),
        start_ms: 1_000,
        end_ms: 0,
    }
}

async fn scan_reports_replace_the_last_unless_one_is_running(t: &Target) {
    let m = t.open().await;
    let first = report("r1", "sha256:aa", "Pending");
    m.start_scan_report(&first, 0).await.unwrap();
    assert_eq!(m.scan_report("r1").await.unwrap().unwrap(), first);
    // While it runs, another scan of the same digest, scanner and type is refused...
    assert!(matches!(
        m.start_scan_report(&report("r2", "sha256:aa", "Pending"), 0)
            .await,
        Err(harbor_core::Error::Conflict(_))
    ));
    // ... unless its worker died long ago.
    let stale = i64::MAX;
    m.start_scan_report(&report("r2", "sha256:aa", "Pending"), stale)
        .await
        .unwrap();
    assert!(m.scan_report("r1").await.unwrap().is_none(), "replaced");
    let mut done = report("r2", "sha256:aa", "Success");
    done.severity = "High".into();
    done.total = 3;
    done.fixable = 2;
    done.summary = r#"{"High":1,"Low":2}"#.into();
    done.report = b"deflated".to_vec();
    done.log = "scanned\n".into();
    done.end_ms = 2_000;
    assert!(m.update_scan_report(&done).await.unwrap());
    assert_eq!(m.scan_report("r2").await.unwrap().unwrap(), done);
    // A finished report is replaced by the next scan.
    m.start_scan_report(&report("r3", "sha256:aa", "Pending"), 0)
        .await
        .unwrap();
    m.start_scan_report(&report("r4", "sha256:bb", "Pending"), 0)
        .await
        .unwrap();
    let mut other_type = report("r5", "sha256:bb", "Pending");
    other_type.mime_type = "application/vnd.security.sbom.report+json; version=1.0".into();
    m.start_scan_report(&other_type, 0).await.unwrap();
    let digests: Vec<String> = vec!["sha256:aa".into(), "sha256:bb".into(), "sha256:cc".into()];
    let mut ids: Vec<String> = m
        .scan_reports_of(&digests, false)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["r3", "r4", "r5"]);
    let with: Vec<ScanReportRecord> = m
        .scan_reports_of(&["sha256:aa".to_string()], true)
        .await
        .unwrap();
    assert_eq!(with.len(), 1);
    assert!(
        !m.update_scan_report(&report("gone", "sha256:aa", "Error"))
            .await
            .unwrap()
    );
}

async fn scan_reports_are_found_by_when_they_started(t: &Target) {
    let m = t.open().await;
    for (id, digest, start) in [
        ("a", "sha256:a1", 100),
        ("b", "sha256:b1", 200),
        ("c", "sha256:c1", 300),
    ] {
        let mut r = report(id, digest, "Pending");
        r.start_ms = start;
        r.report = b"data".to_vec();
        m.start_scan_report(&r, 0).await.unwrap();
    }
    let found = m.scan_reports_between(100, 200).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "inclusive, oldest first");
    assert!(
        found.iter().all(|r| r.report.is_empty()),
        "without report data"
    );
    assert_eq!(found[0].status, "Pending");
    assert_eq!(found[0].job_id, Some(7));
    assert!(m.scan_reports_between(301, 400).await.unwrap().is_empty());
}
