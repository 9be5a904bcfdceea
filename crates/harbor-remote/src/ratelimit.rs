//! A token bucket limiting the bytes per second of blob bodies, shared (through an `Arc`)
//! by every stream of one task.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::time::{Duration, Instant};

/// Harbor's burst for its replication speed limit: 1000 KiB.
pub const HARBOR_BURST: u64 = 1000 * 1024;

/// A token bucket: `rate` bytes per second, holding at most `burst` bytes of credit.
/// Bytes taken beyond the credit become a debt that the taker sleeps off, so one large
/// chunk is allowed but the average rate holds.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter of `bytes_per_second` (at least 1) with `burst` bytes of credit, full at
    /// the start.
    pub fn new(bytes_per_second: u64, burst: u64) -> Self {
        let burst = burst.max(1) as f64;
        RateLimiter {
            rate: bytes_per_second.max(1) as f64,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// Harbor's replication `speed` (kilobits per second, 0 = unlimited) as a limiter:
    /// ×128 bytes per second with a 1000 KiB burst.
    pub fn from_harbor_speed(kbit_per_second: u64) -> Option<Arc<Self>> {
        (kbit_per_second > 0).then(|| {
            Arc::new(RateLimiter::new(
                kbit_per_second.saturating_mul(128),
                HARBOR_BURST,
            ))
        })
    }

    /// The rate in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.rate as u64
    }

    /// Takes `n` bytes' worth of credit, sleeping as long as the bucket is in debt.
    pub async fn acquire(&self, n: usize) {
        let wait = {
            let mut b = match self.state.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
            b.last = now;
            b.tokens -= n as f64;
            if b.tokens < 0.0 {
                Duration::from_secs_f64(-b.tokens / self.rate)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Paces a byte stream through `limiter` (each chunk waits for its credit before it is
/// passed on).
pub fn throttle<S, E>(
    stream: S,
    limiter: Arc<RateLimiter>,
) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Send + 'static,
{
    stream.then(move |item| {
        let limiter = limiter.clone();
        async move {
            if let Ok(chunk) = &item {
                limiter.acquire(chunk.len()).await;
            }
            item
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn holds_the_rate_after_the_burst() {
        let l = RateLimiter::new(1000, 500);
        let start = Instant::now();
        l.acquire(500).await; // the burst: free
        assert_eq!(start.elapsed(), Duration::ZERO);
        for _ in 0..10 {
            l.acquire(200).await;
        }
        // 2000 bytes beyond the burst at 1000 B/s.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2010),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shared_between_streams() {
        let l = Arc::new(RateLimiter::new(1000, 1));
        let chunks =
            || futures::stream::iter((0..5).map(|_| Ok::<_, ()>(Bytes::from(vec![0u8; 100]))));
        let start = Instant::now();
        let a = throttle(chunks(), l.clone()).collect::<Vec<_>>();
        let b = throttle(chunks(), l.clone()).collect::<Vec<_>>();
        let (a, b) = tokio::join!(a, b);
        assert_eq!(a.len() + b.len(), 10);
        // 1000 bytes in total through one 1000 B/s bucket: about a second, not half.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(990), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn harbor_speed_is_kilobits() {
        assert!(RateLimiter::from_harbor_speed(0).is_none());
        let l = RateLimiter::from_harbor_speed(8).expect("limited");
        assert_eq!(l.bytes_per_second(), 1024);
        let start = Instant::now();
        l.acquire(HARBOR_BURST as usize).await;
        l.acquire(2048).await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2010),
            "{took:?}"
        );
    }
}
