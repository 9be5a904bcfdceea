//! A bounded map whose entries expire a fixed time after they were put.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries live `ttl`; at `max` entries the expired ones are dropped, and everything if
/// that is not enough (a refill costs one look-up per key).
pub struct TtlMap<K, V> {
    ttl: Duration,
    max: usize,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Hash + Eq, V: Clone> TtlMap<K, V> {
    /// A map whose entries live `ttl`, holding at most `max`.
    pub fn new(ttl: Duration, max: usize) -> Self {
        TtlMap {
            ttl,
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value put under `key` less than `ttl` ago.
    pub fn get(&self, key: &K) -> Option<V> {
        let map = self.map.lock().ok()?;
        let (at, v) = map.get(key)?;
        (at.elapsed() < self.ttl).then(|| v.clone())
    }

    /// Puts `value` under `key` for `ttl`.
    pub fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.max {
                map.retain(|_, (at, _)| at.elapsed() < self.ttl);
                if map.len() >= self.max {
                    map.clear();
                }
            }
            map.insert(key, (Instant::now(), value));
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let m = TtlMap::new(Duration::from_secs(60), 2);
        m.put(1, "a");
        m.put(2, "b");
        assert_eq!(m.get(&1), Some("a"));
        m.put(3, "c");
        assert!(m.map.lock().unwrap().len() <= 2);
        assert_eq!(m.get(&3), Some("c"));
        let short = TtlMap::new(Duration::ZERO, 10);
        short.put(1, "a");
        assert_eq!(short.get(&1), None);
        m.clear();
        assert_eq!(m.get(&3), None);
    }
}
