-- The findings of vulnerability reports, normalised for the security hub and the CVE
-- export (Harbor's vulnerability_record and report_vulnerability_record in one table):
-- one row per item of a successful report, written in the transaction that stores the
-- report, replaced by the next scan and deleted with the report. `cvss_v3` is the CVSS v3
-- base score in tenths (98 = 9.8), NULL when unknown; `links` one per line;
-- `vendor_attributes` JSON text.
CREATE TABLE scan_findings (
    report_id          TEXT    NOT NULL REFERENCES scan_reports(id) ON DELETE CASCADE,
    seq                BIGINT  NOT NULL,
    cve_id             TEXT    NOT NULL,
    package            TEXT    NOT NULL,
    version            TEXT    NOT NULL,
    fix_version        TEXT    NOT NULL DEFAULT '',
    severity           TEXT    NOT NULL,
    severity_rank      BIGINT  NOT NULL,
    cvss_v3            BIGINT,
    cwe_ids            TEXT    NOT NULL DEFAULT '',
    description        TEXT    NOT NULL DEFAULT '',
    links              TEXT    NOT NULL DEFAULT '',
    vendor_attributes  TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, seq)
);
-- The hub's filters and its "most dangerous CVEs".
CREATE INDEX scan_findings_by_cve ON scan_findings(cve_id);
CREATE INDEX scan_findings_by_package ON scan_findings(package);
CREATE INDEX scan_findings_by_severity ON scan_findings(severity);
CREATE INDEX scan_findings_by_score ON scan_findings(cvss_v3);

-- Each report's findings counted by severity (Harbor's scan_report counters), so the
-- summary and the most dangerous artifacts read one row per report.
CREATE TABLE scan_finding_counts (
    report_id  TEXT    PRIMARY KEY REFERENCES scan_reports(id) ON DELETE CASCADE,
    critical   BIGINT  NOT NULL DEFAULT 0,
    high       BIGINT  NOT NULL DEFAULT 0,
    medium     BIGINT  NOT NULL DEFAULT 0,
    low        BIGINT  NOT NULL DEFAULT 0,
    none_cnt   BIGINT  NOT NULL DEFAULT 0,
    unknown    BIGINT  NOT NULL DEFAULT 0,
    fixable    BIGINT  NOT NULL DEFAULT 0
);
-- The hub joins reports to artifacts by digest and keeps one scanner's successful ones.
CREATE INDEX scan_reports_by_registration ON scan_reports(registration_uuid, status, digest);

-- CVE exports (Harbor's SCAN_DATA_EXPORT executions): who asked, what for (`criteria`,
-- JSON), the job running it and the CSV it wrote, stored in pieces of at most 1 MiB in
-- `cve_export_chunks` (in the database, so every replica can serve it) until it expires.
CREATE TABLE cve_exports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT  NOT NULL,
    user_name    TEXT    NOT NULL,
    job_name     TEXT    NOT NULL DEFAULT '',
    criteria     TEXT    NOT NULL DEFAULT '{}',
    job_id       BIGINT,
    status       TEXT    NOT NULL,
    status_text  TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    end_at       BIGINT  NOT NULL DEFAULT 0,
    file_digest  TEXT    NOT NULL DEFAULT '',
    file_size    BIGINT  NOT NULL DEFAULT 0,
    file_rows    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX cve_exports_by_user ON cve_exports(user_name, id);
CREATE INDEX cve_exports_by_creation ON cve_exports(created_at);
CREATE INDEX cve_exports_by_end ON cve_exports(end_at) WHERE file_size > 0;

CREATE TABLE cve_export_chunks (
    export_id  BIGINT  NOT NULL REFERENCES cve_exports(id) ON DELETE CASCADE,
    seq        BIGINT  NOT NULL,
    data       BLOB    NOT NULL,
    PRIMARY KEY (export_id, seq)
);
