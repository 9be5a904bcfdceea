//! Results: throughput, latency percentiles, tables and JSON.

use std::time::Duration;

use serde::Serialize;

/// The outcome of one workload run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Which registry this was measured on.
    pub target: String,
    /// Workload name.
    pub workload: String,
    /// Layer size in bytes (0 where it does not apply).
    pub size: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Requests (operations) attempted.
    pub requests: usize,
    /// Operations that failed.
    pub errors: usize,
    /// Wall time of the timed phase.
    pub seconds: f64,
    /// Successful operations per second.
    pub ops_per_s: f64,
    /// Payload megabytes (10^6) per second.
    pub mb_per_s: f64,
    /// Latency percentiles of successful operations, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// The first error seen, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Peak resident memory of the registry process during the run, MiB (when its pid
    /// was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// Requests that authentication added during the timed phase (answered `401`s and
    /// token fetches): 0 when tokens were fetched in the set-up and did not expire.
    pub auth_round_trips: u64,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Raw measurements of a run.
#[derive(Default)]
pub struct Samples {
    /// Latencies of successful operations.
    pub latencies: Vec<Duration>,
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
    /// Failed operations.
    pub errors: usize,
    /// The first failure.
    pub first_error: Option<String>,
}

impl Samples {
    /// Adds another worker's samples.
    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.bytes += other.bytes;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Summarises.
    pub fn report(
        self,
        workload: &str,
        size: usize,
        concurrency: usize,
        requests: usize,
        elapsed: Duration,
    ) -> Report {
        let mut ms: Vec<f64> = self
            .latencies
            .iter()
            .map(|d| d.as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        let secs = elapsed.as_secs_f64().max(1e-9);
        Report {
            target: String::new(),
            workload: workload.to_owned(),
            size,
            concurrency,
            requests,
            errors: self.errors,
            seconds: secs,
            ops_per_s: ms.len() as f64 / secs,
            mb_per_s: self.bytes as f64 / 1e6 / secs,
            p50_ms: percentile(&ms, 50.0),
            p90_ms: percentile(&ms, 90.0),
            p99_ms: percentile(&ms, 99.0),
            max_ms: ms.last().copied().unwrap_or(0.0),
            first_error: self.first_error,
            peak_rss_mib: None,
            auth_round_trips: 0,
        }
    }
}

/// Human-readable size.
pub fn size_label(bytes: usize) -> String {
    match bytes {
        0 => "-".into(),
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b if b >= 1_000_000 && b % 1_000_000 == 0 => format!("{}MB", b / 1_000_000),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}KiB", b >> 10),
        b => format!("{b}B"),
    }
}

/// A fixed-width table of reports.
pub fn table(reports: &[Report]) -> String {
    let mut out = format!(
        "{:<13} {:<15} {:>7} {:>4} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}\n",
        "target",
        "workload",
        "size",
        "c",
        "n",
        "err",
        "ops/s",
        "MB/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "RSS MiB"
    );
    for r in reports {
        let rss = r.peak_rss_mib.map_or("-".to_owned(), |m| format!("{m:.0}"));
        out.push_str(&format!(
            "{:<13} {:<15} {:>7} {:>4} {:>6} {:>5} {:>9.1} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>8}\n",
            r.target,
            r.workload,
            size_label(r.size),
            r.concurrency,
            r.requests,
            r.errors,
            r.ops_per_s,
            r.mb_per_s,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            rss
        ));
    }
    out
}

/// Ratios of `ours` over `theirs`, workload by workload.
pub fn comparison(ours: &[Report], theirs: &[Report]) -> String {
    let mut out = format!(
        "{:<15} {:>7} {:>4} {:>11} {:>11} {:>7} {:>10} {:>10} {:>7} {:>9} {:>9}\n",
        "workload",
        "size",
        "c",
        "ours ops/s",
        "their ops/s",
        "ratio",
        "ours MB/s",
        "their MB/s",
        "ratio",
        "ours p99",
        "their p99"
    );
    for (a, b) in ours.iter().zip(theirs) {
        let ratio = |x: f64, y: f64| {
            if y > 0.0 {
                format!("{:.2}x", x / y)
            } else {
                "-".into()
            }
        };
        out.push_str(&format!(
            "{:<15} {:>7} {:>4} {:>11.1} {:>11.1} {:>7} {:>10.1} {:>10.1} {:>7} {:>9.2} {:>9.2}\n",
            a.workload,
            size_label(a.size),
            a.concurrency,
            a.ops_per_s,
            b.ops_per_s,
            ratio(a.ops_per_s, b.ops_per_s),
            a.mb_per_s,
            b.mb_per_s,
            ratio(a.mb_per_s, b.mb_per_s),
            a.p99_ms,
            b.p99_ms
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_summaries() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        let s = Samples {
            latencies: vec![Duration::from_millis(10); 4],
            bytes: 8_000_000,
            errors: 1,
            first_error: Some("x".into()),
        };
        let r = s.report("push", 1_000_000, 2, 5, Duration::from_secs(2));
        assert_eq!(r.ops_per_s, 2.0);
        assert_eq!(r.mb_per_s, 4.0);
        assert_eq!(r.errors, 1);
        assert_eq!(size_label(100 * 1024 * 1024), "100MiB");
        assert!(table(std::slice::from_ref(&r)).contains("push"));
        let one = std::slice::from_ref(&r);
        assert!(comparison(one, one).contains("1.00x"));
    }
}
