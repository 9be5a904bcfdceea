//! The login throttle: failed sign-ins are counted per account at a client address, per
//! client address and per account, in the shared database (so every replica agrees), and
//! a sign-in is refused with [`Error::Throttled`] before its password is checked while a
//! counter is over its limit.
//!
//! The rules (defaults in [`ThrottlePolicy::default`]):
//! - an **account at an address** that failed `max_failures` times is locked for
//!   `lockout`, doubled with every further failure up to `max_lockout`;
//! - an **address** that failed `max_failures_per_address` times (on any accounts) is
//!   locked the same way;
//! - an **account** that failed `max_failures_per_account` times (from anywhere) is
//!   locked only for the addresses that have failed on it themselves: a distributed
//!   guessing attack gets one try per address, while the account's owner, signing in
//!   from an address of their own, is not locked out by strangers.
//!
//! Counters start again once `window` has passed since their last failure; a successful
//! sign-in clears its account-at-address counter only (so logging in to one's own account
//! cannot reset an address's count of failures on others). Every refusal looks the same,
//! whether or not the account exists, and costs no password check; it is answered after a
//! short delay, so that refused clients cannot spin. IPv6 addresses are
//! counted by their /64 prefix, which one client usually holds whole.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use harbor_core::identity::LoginFailures;
use harbor_core::ports::LoginFailureStore;
use harbor_core::{Error, Result};

/// How often (in recorded failures) this process purges counters whose window is over.
const PURGE_EVERY: u64 = 256;

/// Limits of the login throttle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one account from one address before it is locked there.
    pub max_failures: u32,
    /// Failures from one address, on any accounts, before the address is locked.
    pub max_failures_per_address: u32,
    /// Failures of one account from anywhere before addresses that failed on it are
    /// locked out of it.
    pub max_failures_per_account: u32,
    /// The first lockout; each further failure doubles it.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// A counter starts again when its last failure is this old.
    pub window: Duration,
    /// How long a refused attempt waits before it is answered, so that a refused client
    /// cannot retry in a tight loop (a refusal is cheap; thousands a second are not).
    pub refusal_delay: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            max_failures: 5,
            max_failures_per_address: 20,
            max_failures_per_account: 50,
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(15 * 60),
            window: Duration::from_secs(15 * 60),
            refusal_delay: Duration::from_secs(1),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl ThrottlePolicy {
    /// The lockout after `excess` failures beyond a limit (0 for the first).
    fn lockout_ms(&self, excess: u32) -> i64 {
        let base = ms(self.lockout);
        let doubled = base.saturating_mul(1_i64 << excess.min(30));
        doubled.min(ms(self.max_lockout))
    }

    /// Until when a counter at or over `limit` locks, if it does at `now`.
    fn locked_until(&self, c: Option<&LoginFailures>, limit: u32, now: i64) -> Option<i64> {
        let c = c.filter(|c| now - c.last_ms <= ms(self.window))?;
        if limit == 0 || c.failures < limit {
            return None;
        }
        let until = c
            .last_ms
            .saturating_add(self.lockout_ms(c.failures - limit));
        (until > now).then_some(until)
    }

    /// Whether a sign-in at `now` is refused, and until when, from the counters of the
    /// account at the address, the address and the account.
    pub fn decide(
        &self,
        now: i64,
        pair: Option<&LoginFailures>,
        address: Option<&LoginFailures>,
        account: Option<&LoginFailures>,
    ) -> Option<i64> {
        let live = |c: Option<&LoginFailures>| {
            c.filter(|c| now - c.last_ms <= ms(self.window))
                .is_some_and(|c| c.failures > 0)
        };
        let account_lock = if live(pair) {
            self.locked_until(account, self.max_failures_per_account, now)
        } else {
            None
        };
        [
            self.locked_until(pair, self.max_failures, now),
            self.locked_until(address, self.max_failures_per_address, now),
            account_lock,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

/// The counters one sign-in attempt touches.
#[derive(Debug)]
pub struct Attempt {
    pair: String,
    address: Option<String>,
    account: String,
    /// The account-at-address counter had failures (a success clears it).
    pair_failed_before: bool,
}

/// The throttle over a [`LoginFailureStore`].
pub struct LoginThrottle {
    store: Arc<dyn LoginFailureStore>,
    policy: ThrottlePolicy,
    recorded: AtomicU64,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The part of a client address that is counted: IPv4 whole, IPv6 by its /64.
fn counted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A counter's key: the SHA-256 of its kind, account and address, joined by NUL.
fn key(parts: &[&str]) -> String {
    crate::secret::token_hash(&parts.join("\0"))
}

impl Attempt {
    /// Every counter the attempt touches.
    fn keys(&self) -> Vec<String> {
        let mut keys = vec![self.pair.clone(), self.account.clone()];
        keys.extend(self.address.clone());
        keys
    }
}

impl LoginThrottle {
    /// A throttle with `policy` over `store`.
    pub fn new(store: Arc<dyn LoginFailureStore>, policy: ThrottlePolicy) -> Self {
        LoginThrottle {
            store,
            policy,
            recorded: AtomicU64::new(0),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Admits a sign-in of `account` from `client` at `now` (ms), or refuses it with
    /// [`Error::Throttled`]. Without a known address, only the account's counters apply.
    pub async fn admit(&self, account: &str, client: Option<IpAddr>, now: i64) -> Result<Attempt> {
        let address = client.map(counted);
        let attempt = Attempt {
            pair: key(&["pair", account, address.as_deref().unwrap_or("?")]),
            address: address.as_deref().map(|a| key(&["address", a])),
            account: key(&["account", account]),
            pair_failed_before: false,
        };
        let counters = self.store.login_failures(&attempt.keys()).await?;
        let find = |k: &str| counters.iter().find(|c| c.key == k);
        let pair = find(&attempt.pair);
        let refused = self.policy.decide(
            now,
            pair,
            attempt.address.as_deref().and_then(find),
            find(&attempt.account),
        );
        if let Some(until) = refused {
            tokio::time::sleep(self.policy.refusal_delay).await;
            let secs = (until - now + 999) / 1000;
            return Err(Error::Throttled {
                retry_after_secs: u64::try_from(secs).unwrap_or(1).max(1),
            });
        }
        Ok(Attempt {
            pair_failed_before: pair.is_some(),
            ..attempt
        })
    }

    /// Counts a failed attempt.
    pub async fn failed(&self, attempt: &Attempt, now: i64) -> Result<()> {
        let window = ms(self.policy.window);
        self.store
            .record_login_failure(&attempt.keys(), now, now.saturating_sub(window))
            .await?;
        if self.recorded.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            let horizon = window.max(ms(self.policy.max_lockout));
            self.store
                .purge_login_failures(now.saturating_sub(horizon))
                .await?;
        }
        Ok(())
    }

    /// Forgets an account's failed sign-ins (its lockout) after an administrator reset
    /// its password; counters per address stay.
    pub async fn forget_account(&self, account: &str) -> Result<()> {
        self.store
            .clear_login_failures(&[key(&["account", account])])
            .await
    }

    /// Clears the account-at-address counter after a successful sign-in.
    pub async fn succeeded(&self, attempt: &Attempt) -> Result<()> {
        if attempt.pair_failed_before {
            self.store
                .clear_login_failures(std::slice::from_ref(&attempt.pair))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(failures: u32, last_ms: i64) -> LoginFailures {
        LoginFailures {
            key: String::new(),
            failures,
            last_ms,
        }
    }

    #[test]
    fn locks_after_the_limit_and_doubles() {
        let p = ThrottlePolicy::default();
        let now = 1_000_000_000;
        assert_eq!(p.decide(now, None, None, None), None);
        assert_eq!(p.decide(now, Some(&c(4, now)), None, None), None);
        assert_eq!(
            p.decide(now, Some(&c(5, now)), None, None),
            Some(now + 30_000)
        );
        assert_eq!(
            p.decide(now, Some(&c(6, now)), None, None),
            Some(now + 60_000)
        );
        assert_eq!(
            p.decide(now, Some(&c(9, now)), None, None),
            Some(now + 480_000)
        );
        assert_eq!(
            p.decide(now, Some(&c(40, now)), None, None),
            Some(now + 900_000),
            "capped"
        );
        // Over once the lockout has passed, and forgotten once the window has.
        assert_eq!(p.decide(now + 30_001, Some(&c(5, now)), None, None), None);
        assert_eq!(p.decide(now + 900_001, Some(&c(40, now)), None, None), None);
        // An address over its own limit, whatever the account.
        assert_eq!(p.decide(now, None, Some(&c(19, now)), None), None);
        assert_eq!(
            p.decide(now, None, Some(&c(20, now)), None),
            Some(now + 30_000)
        );
    }

    #[test]
    fn an_attacked_account_stays_open_to_addresses_that_did_not_fail() {
        let p = ThrottlePolicy::default();
        let now = 1_000_000_000;
        let attacked = c(500, now);
        // The owner, from an address with no failures on the account: admitted.
        assert_eq!(p.decide(now, None, None, Some(&attacked)), None);
        // An address that failed once on it: locked out of it.
        assert!(
            p.decide(now, Some(&c(1, now)), None, Some(&attacked))
                .is_some()
        );
        // A stale failure from long ago does not count.
        assert_eq!(
            p.decide(now, Some(&c(1, now - 1_000_000)), None, Some(&attacked)),
            None
        );
    }

    #[test]
    fn addresses_are_counted_whole_or_by_their_64_prefix() {
        let v6a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(counted(v6a), counted(v6b));
        assert_eq!(counted(v6a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(counted(mapped), "10.0.0.7");
        assert_ne!(key(&["pair", "a", "b"]), key(&["pair", "ab", ""]));
    }
}
