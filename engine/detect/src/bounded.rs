//! A least-recently-used map with a cap that allocates as it fills.
//!
//! Why not `LruCache::new(cap)` alone: it reserves its hash table for the whole cap up front, so
//! a cap of a million identities cost tens of megabytes before the first event. This wrapper
//! starts empty, grows with use, evicts the least recently used entry beyond the cap and counts
//! evictions.

use lru::LruCache;
use std::borrow::Borrow;
use std::hash::Hash;

/// A capped LRU map.
#[derive(Debug)]
pub struct BoundedLru<K: Hash + Eq, V> {
    map: LruCache<K, V>,
    cap: usize,
    /// Entries evicted because the map was full.
    pub evictions_total: u64,
}

impl<K: Hash + Eq, V> BoundedLru<K, V> {
    /// An empty map holding at most `cap` entries (at least one).
    pub fn new(cap: usize) -> Self {
        Self { map: LruCache::unbounded(), cap: cap.max(1), evictions_total: 0 }
    }

    /// Inserts or replaces `key`, evicting the least recently used entry when full.
    pub fn put(&mut self, key: K, value: V) {
        self.make_room_for(&key);
        self.map.put(key, value);
    }

    /// Evicts the least recently used entry when full and `key` is not held.
    fn make_room_for<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.map.len() >= self.cap && !self.map.contains(key) {
            self.map.pop_lru();
            self.evictions_total += 1;
        }
    }

    /// The entry, marked as recently used; made by `fresh` (evicting the least recently used
    /// entry when full) if absent.
    pub fn get_or_insert_mut<Q>(&mut self, key: &Q, fresh: impl FnOnce() -> V) -> &mut V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized + ToOwned<Owned = K>,
    {
        self.make_room_for(key);
        self.map.get_or_insert_mut_ref(key, fresh)
    }

    /// The entry, marked as recently used.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key)
    }

    /// The entry, marked as recently used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// The entry, without marking it.
    pub fn peek_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.peek_mut(key)
    }

    /// Removes `key`.
    pub fn pop<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.pop(key)
    }

    /// The least recently used entry, without marking it.
    pub fn peek_oldest(&self) -> Option<(&K, &V)> {
        self.map.peek_lru()
    }

    /// Removes the least recently used entry.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        self.map.pop_lru()
    }

    /// True when `key` is present (not marked).
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains(key)
    }

    /// Entries, most recently used first.
    pub fn iter(&self) -> lru::Iter<'_, K, V> {
        self.map.iter()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_beyond_the_cap() {
        let mut m = BoundedLru::new(2);
        m.put("a", 1);
        m.put("b", 2);
        assert_eq!(m.get("a"), Some(&1));
        m.put("c", 3);
        assert!(m.contains("a") && m.contains("c") && !m.contains("b"));
        assert_eq!(m.evictions_total, 1);
        m.put("c", 4);
        assert_eq!(m.evictions_total, 1, "replacing is not evicting");
    }

    #[test]
    fn get_or_insert_makes_missing_entries_within_the_cap() {
        let mut m: BoundedLru<String, u32> = BoundedLru::new(2);
        *m.get_or_insert_mut("a", || 1) += 10;
        assert_eq!(*m.get_or_insert_mut("a", || 0), 11, "an existing entry is kept");
        m.get_or_insert_mut("b", || 2);
        m.get_or_insert_mut("a", || 0);
        m.get_or_insert_mut("c", || 3);
        assert!(m.contains("a") && m.contains("c") && !m.contains("b"));
        assert_eq!(m.evictions_total, 1);
    }
}
