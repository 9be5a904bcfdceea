-- Scan all's metrics and stop read the reports a run queued: those started while it ran.
CREATE INDEX scan_reports_started ON scan_reports (start_at);
