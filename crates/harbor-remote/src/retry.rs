//! When to repeat a request and how long to wait first: exponential backoff with jitter,
//! or the server's `Retry-After`, both capped.

use std::hash::{BuildHasher, Hasher as _};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How often and how patiently a request is repeated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The first backoff; each further one doubles it (with jitter).
    pub base_backoff: Duration,
    /// No wait is longer than this, whatever `Retry-After` says.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (`attempt` counts from 1): between half and
    /// all of `base × 2^(attempt-1)`, capped at `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let full = exp.min(self.max_backoff);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(jitter())
    }

    /// The wait after an answer: its `Retry-After` (capped) if it has one, else the backoff.
    pub fn wait_after(&self, attempt: u32, headers: &HeaderMap) -> Duration {
        match retry_after(headers, SystemTime::now()) {
            Some(d) => d.min(self.max_backoff),
            None => self.backoff(attempt),
        }
    }
}

/// Statuses worth repeating a request for.
pub fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Parses `Retry-After` as delay-seconds or an HTTP-date (a date in the past is zero).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A number in [0, 1) that differs between calls (jitter needs no cryptographic quality).
fn jitter() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for attempt in 1..=10 {
            let full = (Duration::from_millis(100) * (1 << (attempt - 1))).min(p.max_backoff);
            let d = p.backoff(attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(p.backoff(40) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).expect("date"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&past).expect("date"));
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);

        let p = RetryPolicy {
            max_backoff: Duration::from_secs(60),
            ..Default::default()
        };
        h.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(p.wait_after(1, &h), Duration::from_secs(60));
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(retryable_status(StatusCode::from_u16(s).expect("status")));
        }
        for s in [200, 400, 401, 403, 404, 500, 501] {
            assert!(!retryable_status(StatusCode::from_u16(s).expect("status")));
        }
    }
}
