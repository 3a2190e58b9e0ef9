//! A least-recently-used map with a cap that allocates as it fills.
//!
//! Why not `LruCache::new(cap)` alone: it reserves its hash table for the whole cap up front, so
//! a cap of a million identities cost tens of megabytes before the first event. This wrapper
//! starts empty, grows with use, evicts the least recently used entry beyond the cap and counts
//! evictions.

use lru::LruCache;
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::hash::BuildHasher;
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

    /// The entry, marked as recently used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
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

/// A capped map keyed by text that records when each entry was last used instead of keeping
/// a recency list.
///
/// Why beside [`BoundedLru`]: an LRU lookup also relinks the entry's neighbours in the list,
/// two more scattered memory reads on every hit. Identities are looked up on every event and
/// rarely evicted, so this map pays for recency only when it is full: it then evicts the least
/// recently used entries in one pass, a sixty-fourth of the cap at a time (one at a time for
/// caps under 128), so that pass is rare.
///
/// Keys up to [`INLINE_KEY`] bytes (most identity ARNs) are held in the table itself, so
/// confirming a lookup reads the slot the probe just found rather than a separate allocation
/// that, with tens of thousands of identities, is rarely in cache.
#[derive(Debug)]
pub struct RecencyMap<V> {
    table: hashbrown::HashTable<Slot<V>>,
    hasher: foldhash::fast::RandomState,
    /// Uses so far: each use stamps its entry with the next value.
    clock: u64,
    cap: usize,
    /// Entries evicted because the map was full.
    pub evictions_total: u64,
    /// Entries made so far (a store that sweeps out idle entries sweeps when enough are new).
    pub inserts_total: u64,
}

/// Key bytes held inline in a [`RecencyMap`] slot; longer keys spill to the heap.
pub const INLINE_KEY: usize = 64;

#[derive(Debug)]
struct Slot<V> {
    /// The key's text (always UTF-8: made from a `&str`).
    key: SmallVec<[u8; INLINE_KEY]>,
    last_used: u64,
    value: V,
}

impl<V> Slot<V> {
    fn key(&self) -> &str {
        std::str::from_utf8(&self.key).unwrap_or_default()
    }
}

impl<V> RecencyMap<V> {
    /// An empty map holding at most `cap` entries (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            table: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            clock: 0,
            cap: cap.max(1),
            evictions_total: 0,
            inserts_total: 0,
        }
    }

    /// The hash the map files `key` under. Keys are hashed as bytes, so a slot's key rehashes
    /// (as the table grows) as it was looked up.
    pub fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key.as_bytes())
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// True when `key` is present (not marked).
    pub fn contains(&self, key: &str) -> bool {
        self.table.find(self.hash(key), |s| *s.key == *key.as_bytes()).is_some()
    }

    /// Makes room for `key` when the map is full and does not hold it; returns the stamp of
    /// the use about to be made.
    fn use_for(&mut self, key: &str) -> u64 {
        if self.table.len() >= self.cap && !self.contains(key) {
            self.evict();
        }
        self.clock += 1;
        self.clock
    }

    /// The entry, marked as recently used; made by `fresh` (evicting when full) if absent.
    pub fn get_or_insert_mut(&mut self, key: &str, fresh: impl FnOnce() -> V) -> &mut V {
        self.get_or_insert_at(key, fresh).1
    }

    /// Like [`RecencyMap::get_or_insert_mut`], also saying where the entry is held:
    /// [`RecencyMap::at_mut`] finds it there again without hashing the key, until the map
    /// gains or loses an entry.
    pub fn get_or_insert_at(&mut self, key: &str, fresh: impl FnOnce() -> V) -> (usize, &mut V) {
        self.get_or_insert_hashed(self.hash(key), key, fresh)
    }

    /// [`RecencyMap::get_or_insert_at`] for a key whose [`RecencyMap::hash`] is known.
    pub fn get_or_insert_hashed(&mut self, hash: u64, key: &str, fresh: impl FnOnce() -> V) -> (usize, &mut V) {
        let stamp = self.use_for(key);
        let hasher = &self.hasher;
        let inserts = &mut self.inserts_total;
        let entry = self
            .table
            .entry(hash, |s| *s.key == *key.as_bytes(), |s| hasher.hash_one(&s.key[..]))
            .or_insert_with(|| {
                *inserts += 1;
                Slot { key: SmallVec::from_slice(key.as_bytes()), last_used: 0, value: fresh() }
            });
        let at = entry.bucket_index();
        let slot = entry.into_mut();
        slot.last_used = stamp;
        (at, &mut slot.value)
    }

    /// The entry of `key`, without marking it, looked for first where
    /// [`RecencyMap::get_or_insert_at`] said it was.
    pub fn at_mut(&mut self, at: usize, key: &str) -> Option<&mut V> {
        if self.table.get_bucket(at).is_some_and(|s| *s.key == *key.as_bytes()) {
            return self.table.get_bucket_mut(at).map(|s| &mut s.value);
        }
        self.peek_mut(key)
    }

    /// Inserts or replaces `key` as the most recently used entry, evicting when full.
    pub fn put(&mut self, key: &str, value: V) {
        let last_used = self.use_for(key);
        let hash = self.hash(key);
        let hasher = &self.hasher;
        let slot = Slot { key: SmallVec::from_slice(key.as_bytes()), last_used, value };
        match self.table.entry(hash, |s| *s.key == *key.as_bytes(), |s| hasher.hash_one(&s.key[..])) {
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = slot,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(slot);
            }
        }
    }

    /// Asks the processor to start loading the entry filed under `hash` into cache, for a
    /// lookup coming soon. Reads only the table's index: the first entry whose tag matches is
    /// taken on trust.
    pub fn prefetch(&self, hash: u64) {
        if let Some(slot) = self.probable_slot(hash) {
            crate::prefetch::value(slot);
        }
    }

    /// The entry probably filed under `hash`: the first whose tag matches, not confirmed by
    /// its key. Only for hints (warming the cache for what a coming lookup will read).
    pub fn probable(&self, hash: u64) -> Option<&V> {
        self.probable_slot(hash).map(|s| &s.value)
    }

    fn probable_slot(&self, hash: u64) -> Option<&Slot<V>> {
        self.table.find(hash, |_| true)
    }

    fn slot_mut(&mut self, key: &str) -> Option<&mut Slot<V>> {
        let hash = self.hash(key);
        self.table.find_mut(hash, |s| *s.key == *key.as_bytes())
    }

    /// The entry, without marking it.
    pub fn peek_mut(&mut self, key: &str) -> Option<&mut V> {
        self.slot_mut(key).map(|s| &mut s.value)
    }

    /// The entry, marked as recently used.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.clock += 1;
        let stamp = self.clock;
        let slot = self.slot_mut(key)?;
        slot.last_used = stamp;
        Some(&mut slot.value)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let hash = self.hash(key);
        self.table.find_entry(hash, |s| *s.key == *key.as_bytes()).ok().map(|e| e.remove().0.value)
    }

    /// Keeps the entries `keep` accepts and returns how many were dropped. The table gives
    /// back room it no longer needs, so later passes stay proportional to what is held.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let before = self.table.len();
        self.table.retain(|s| keep(&s.value));
        if self.table.capacity() > 4 * self.table.len().max(64) {
            let hasher = &self.hasher;
            self.table.shrink_to_fit(|s| hasher.hash_one(&s.key[..]));
        }
        before - self.table.len()
    }

    /// Entries in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.table.iter().map(|s| &s.value)
    }

    /// Entries, least recently used first (the order to re-insert them in).
    pub fn oldest_first(&self) -> Vec<(&str, &V)> {
        let mut entries: Vec<&Slot<V>> = self.table.iter().collect();
        entries.sort_unstable_by_key(|s| s.last_used);
        entries.into_iter().map(|s| (s.key(), &s.value)).collect()
    }

    /// Evicts the least recently used entries: a sixty-fourth of the cap, at least one.
    fn evict(&mut self) {
        let batch = (self.cap / 64).clamp(1, self.table.len());
        let mut stamps: Vec<u64> = self.table.iter().map(|s| s.last_used).collect();
        // Stamps are distinct, so exactly `batch` entries are at or below the cut.
        let (_, cut, _) = stamps.select_nth_unstable(batch - 1);
        let cut = *cut;
        self.table.retain(|s| s.last_used > cut);
        self.evictions_total += batch as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recency_map_evicts_the_least_recently_used() {
        let mut m: RecencyMap<u32> = RecencyMap::new(2);
        m.put("a", 1);
        m.put("b", 2);
        *m.get_or_insert_mut("a", || 0) += 10;
        assert_eq!(m.peek_mut("a").copied(), Some(11), "an existing entry is kept");
        m.get_or_insert_mut("c", || 3);
        assert!(m.contains("a") && m.contains("c") && !m.contains("b"));
        assert_eq!(m.evictions_total, 1);
        m.put("c", 4);
        assert_eq!(m.evictions_total, 1, "replacing is not evicting");
        let order: Vec<(&str, &u32)> = m.oldest_first();
        assert_eq!(order, vec![("a", &11), ("c", &4)]);
        assert!(m.peek_mut("b").is_none());
    }

    #[test]
    fn an_entry_is_found_again_where_it_was_made_or_by_its_key() {
        let mut m: RecencyMap<u32> = RecencyMap::new(64);
        let (at, v) = m.get_or_insert_at("a", || 1);
        *v += 1;
        assert_eq!(m.at_mut(at, "a").copied(), Some(2));
        for i in 0..40 {
            m.put(&i.to_string(), i);
        }
        // The table grew: the old position may hold another key, the key still finds "a".
        assert_eq!(m.at_mut(at, "a").copied(), Some(2));
        assert!(m.at_mut(at, "missing").is_none());
    }

    #[test]
    fn an_entry_is_found_by_the_hash_it_is_filed_under() {
        let key = "arn:aws:iam::111111111111:role/ci-deployer";
        let mut m: RecencyMap<u32> = RecencyMap::new(8);
        m.put(key, 7);
        let hash = m.hash(key);
        assert_eq!(m.probable(hash), Some(&7), "the only entry is the probable one");
        m.prefetch(hash);
        let (_, v) = m.get_or_insert_hashed(hash, key, || 0);
        assert_eq!(*v, 7, "the entry filed under the hash, not a new one");
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn recency_map_keys_longer_than_the_inline_room_work_alike() {
        let long = format!("arn:aws:iam::111111111111:role/{}", "x".repeat(INLINE_KEY));
        let longer = format!("{long}y");
        let mut m: RecencyMap<u32> = RecencyMap::new(8);
        m.put(&long, 1);
        *m.get_or_insert_mut(&longer, || 2) += 10;
        assert_eq!(m.peek_mut(&long).copied(), Some(1));
        assert_eq!(m.peek_mut(&longer).copied(), Some(12));
        assert!(!m.contains(&long[..INLINE_KEY]));
        assert_eq!(m.oldest_first(), vec![(long.as_str(), &1), (longer.as_str(), &12)]);
    }

    #[test]
    fn recency_map_marks_on_get_removes_and_sweeps() {
        let mut m: RecencyMap<u32> = RecencyMap::new(2);
        m.put("a", 1);
        m.put("b", 2);
        assert_eq!(m.get_mut("a").copied(), Some(1));
        assert!(m.get_mut("missing").is_none());
        // "a" was used after "b", so "b" is the one evicted.
        m.get_or_insert_mut("c", || 3);
        assert!(m.contains("a") && !m.contains("b") && m.contains("c"));
        assert_eq!(m.remove("a"), Some(1));
        assert_eq!(m.remove("a"), None);
        assert_eq!(m.inserts_total, 1, "put replaces or restores, get_or_insert makes");
        let mut big: RecencyMap<u32> = RecencyMap::new(100_000);
        for i in 0..10_000 {
            big.get_or_insert_mut(&i.to_string(), || i);
        }
        assert_eq!(big.retain(|v| *v % 1000 == 0), 9_990);
        assert_eq!(big.len(), 10);
        assert!(big.contains("9000") && !big.contains("9001"));
        assert_eq!(*big.get_or_insert_mut("1000", || 0), 1000, "entries kept are found after the table shrinks");
    }

    #[test]
    fn a_full_recency_map_makes_room_in_batches() {
        let mut m: RecencyMap<usize> = RecencyMap::new(640);
        for i in 0..640 {
            m.put(&i.to_string(), i);
        }
        // Entry 0 is used again, so 1..=10 are the least recently used.
        m.get_or_insert_mut("0", || 0);
        m.get_or_insert_mut("new", || 0);
        assert_eq!(m.evictions_total, 10);
        assert_eq!(m.len(), 631);
        assert!(m.contains("0") && m.contains("11") && m.contains("new"));
        assert!((1..=10).all(|i| !m.contains(&i.to_string())));
    }

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
}
