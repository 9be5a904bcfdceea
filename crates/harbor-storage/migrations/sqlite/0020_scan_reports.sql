-- Scan reports of artifacts (Harbor's scan_report): one per artifact digest, scanner
-- registration and report type, replaced by the next scan. `report` is the report as the
-- adapter returned it (deflated JSON); the counts and the severity summarise it for
-- listings (`scan_overview`).
CREATE TABLE scan_reports (
    id                 TEXT    PRIMARY KEY,
    digest             TEXT    NOT NULL,
    registration_uuid  TEXT    NOT NULL,
    mime_type          TEXT    NOT NULL,
    status             TEXT    NOT NULL,          -- Pending | Running | Success | Error | Stopped
    severity           TEXT    NOT NULL DEFAULT '',
    total              BIGINT  NOT NULL DEFAULT 0,
    fixable            BIGINT  NOT NULL DEFAULT 0,
    summary            TEXT    NOT NULL DEFAULT '{}',
    report             BLOB   NOT NULL,
    log                TEXT    NOT NULL DEFAULT '',
    job_id             BIGINT,
    start_at           BIGINT  NOT NULL,
    end_at             BIGINT  NOT NULL DEFAULT 0,
    updated_at         BIGINT  NOT NULL,
    UNIQUE (digest, registration_uuid, mime_type)
);
CREATE INDEX scan_reports_by_digest ON scan_reports(digest);
