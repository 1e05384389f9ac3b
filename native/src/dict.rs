//! A byte-keyed chained hash table with Redis's dict properties that std's HashMap lacks:
//! a stateless SCAN cursor (reverse-binary increment over buckets, which still visits every
//! element present for the whole scan when the table grows or shrinks between calls) and
//! a fair random entry (RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) without a full
//! walk, and Redis's cheap sample of consecutive entries (dictGetSomeKeys) for eviction.

use crate::alloc::chunk_size;
use std::cell::Cell;

pub struct Node<V> {
    key: SmallBytes,
    pub val: V,
    next: Option<Box<Node<V>>>,
}

/// Byte strings up to this long live inline: no allocation of their own. At 22 the whole
/// thing takes 24 bytes, which keeps a keyspace node in the same malloc size class as with a
/// boxed key, so short keys (the common case) cost nothing beyond the node. Hash values in
/// hashtable-encoded hashes use it too.
const INLINE_KEY: usize = 22;

/// A byte string stored inline when short, boxed otherwise.
#[derive(Clone)]
pub enum SmallBytes {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    #[inline]
    pub fn new(key: &[u8]) -> SmallBytes {
        if key.len() <= INLINE_KEY {
            let mut bytes = [0u8; INLINE_KEY];
            bytes[..key.len()].copy_from_slice(key);
            SmallBytes::Inline { len: key.len() as u8, bytes }
        } else {
            SmallBytes::Heap(key.into())
        }
    }

    fn from_box(key: Box<[u8]>) -> SmallBytes {
        if key.len() <= INLINE_KEY { SmallBytes::new(&key) } else { SmallBytes::Heap(key) }
    }

    /// The heap a key of these bytes holds beyond its node (nothing when it fits inline).
    pub fn heap_bytes_of(bytes: &[u8]) -> usize {
        if bytes.len() <= INLINE_KEY { 0 } else { chunk_size(bytes.len()) }
    }

    fn into_box(self) -> Box<[u8]> {
        match self {
            SmallBytes::Inline { len, bytes } => bytes[..len as usize].into(),
            SmallBytes::Heap(b) => b,
        }
    }
}

impl std::ops::Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, bytes } => &bytes[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }
}

pub struct Dict<V> {
    buckets: Vec<Option<Box<Node<V>>>>,
    len: usize,
}

const MIN_BUCKETS: usize = 4;
/// Redis's GETFAIR_NUM_ENTRIES: how many entries a fair random pick chooses among.
const FAIR_SAMPLE: usize = 15;

thread_local! {
    static SEED: Cell<u64> = Cell::new(initial_seed());
    static RNG: Cell<u64> = Cell::new(initial_seed() | 1);
}

fn initial_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0x9e37_79b9);
    let addr = &t as *const u64 as u64;
    mix64(t ^ addr.rotate_left(32) ^ std::process::id() as u64)
}

#[inline]
fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A fast seeded hash over bytes: 8 bytes at a time, multiply-mixed. The per-process seed keeps
/// crafted keys from colliding predictably.
#[inline]
pub fn hash_bytes(key: &[u8]) -> u64 {
    let seed = SEED.with(|s| s.get());
    let mut h = seed ^ (key.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x2127_599b_f432_5c37).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(0x2127_599b_f432_5c37).rotate_left(29);
    }
    mix64(h)
}

/// xorshift64*: the random source for random entries and sampling (not for security).
pub fn random_u64() -> u64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

impl<V> Default for Dict<V> {
    fn default() -> Self { Self::new() }
}

impl<V> Dict<V> {
    pub fn new() -> Self { Dict { buckets: Vec::new(), len: 0 } }

    pub fn with_capacity(n: usize) -> Self {
        let mut d = Self::new();
        if n > 0 { d.resize(n.next_power_of_two().max(MIN_BUCKETS)); }
        d
    }

    #[inline] pub fn len(&self) -> usize { self.len }
    #[inline] pub fn is_empty(&self) -> bool { self.len == 0 }
    pub fn bucket_count(&self) -> usize { self.buckets.len() }

    #[inline]
    fn slot(&self, key: &[u8]) -> usize { (hash_bytes(key) as usize) & (self.buckets.len() - 1) }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if self.len == 0 { return None; }
        let mut cur = self.buckets[self.slot(key)].as_deref();
        while let Some(n) = cur {
            if &*n.key == key { return Some(&n.val); }
            cur = n.next.as_deref();
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.len == 0 { return None; }
        let s = self.slot(key);
        let mut cur = self.buckets[s].as_deref_mut();
        while let Some(n) = cur {
            if &*n.key == key { return Some(&mut n.val); }
            cur = n.next.as_deref_mut();
        }
        None
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> {
        if self.len == 0 { return None; }
        let mut cur = self.buckets[self.slot(key)].as_deref();
        while let Some(n) = cur {
            if &*n.key == key { return Some((&*n.key, &n.val)); }
            cur = n.next.as_deref();
        }
        None
    }

    pub fn contains_key(&self, key: &[u8]) -> bool { self.get(key).is_some() }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], val: V) -> Option<V> {
        if let Some(v) = self.get_mut(key) {
            return Some(std::mem::replace(v, val));
        }
        self.insert_new_copy(key, val);
        None
    }

    /// Inserts a key known to be absent (the caller checked), taking ownership of its bytes.
    pub fn insert_new(&mut self, key: Box<[u8]>, val: V) {
        self.link_new(SmallBytes::from_box(key), val);
    }

    /// Inserts a key known to be absent, copying its bytes (no allocation for short keys).
    pub fn insert_new_copy(&mut self, key: &[u8], val: V) {
        self.link_new(SmallBytes::new(key), val);
    }

    /// Inserts `key` (copying its bytes) unless it is present, with one hash and one chain
    /// walk where `contains_key` + `insert_new_copy` take two; gives `val` back when the key is
    /// there. The table grows first when it is due, as Redis's dictAdd expands before its lookup.
    pub fn try_insert_copy(&mut self, key: &[u8], val: V) -> Result<(), V> {
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(MIN_BUCKETS));
        }
        let s = self.slot(key);
        let mut cur = self.buckets[s].as_deref();
        while let Some(n) = cur {
            if &*n.key == key { return Err(val); }
            cur = n.next.as_deref();
        }
        let next = self.buckets[s].take();
        self.buckets[s] = Some(Box::new(Node { key: SmallBytes::new(key), val, next }));
        self.len += 1;
        Ok(())
    }

    fn link_new(&mut self, key: SmallBytes, val: V) {
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(MIN_BUCKETS));
        }
        let s = self.slot(&key);
        let next = self.buckets[s].take();
        self.buckets[s] = Some(Box::new(Node { key, val, next }));
        self.len += 1;
    }

    /// Returns a mutable reference to the value of `key`, inserting `make()` first if absent.
    pub fn entry_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        if !self.contains_key(key) {
            self.insert_new_copy(key, make());
        }
        self.get_mut(key).expect("just inserted")
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.remove_entry(key).map(|(_, v)| v)
    }

    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Box<[u8]>, V)> {
        if self.len == 0 { return None; }
        let s = self.slot(key);
        let mut link = &mut self.buckets[s];
        loop {
            match link {
                None => return None,
                Some(n) if &*n.key == key => {
                    let mut node = link.take().expect("matched Some");
                    *link = node.next.take();
                    self.len -= 1;
                    let out = (node.key.into_box(), node.val);
                    self.maybe_shrink();
                    return Some(out);
                }
                Some(n) => link = &mut n.next,
            }
        }
    }

    fn maybe_shrink(&mut self) {
        // Like Redis: shrink when under 10% full, so a drained big hash gives its memory back.
        let n = self.buckets.len();
        if n > MIN_BUCKETS && self.len * 10 < n {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    fn resize(&mut self, size: usize) {
        let old = std::mem::take(&mut self.buckets);
        self.buckets = Vec::with_capacity(size);
        self.buckets.resize_with(size, || None);
        let mask = size - 1;
        for mut head in old {
            while let Some(mut node) = head {
                head = node.next.take();
                let s = (hash_bytes(&node.key) as usize) & mask;
                node.next = self.buckets[s].take();
                self.buckets[s] = Some(node);
            }
        }
    }

    pub fn clear(&mut self) {
        // Unlink chains iteratively: dropping a long chain recursively could overflow the stack.
        for b in self.buckets.iter_mut() {
            let mut cur = b.take();
            while let Some(mut n) = cur { cur = n.next.take(); }
        }
        self.buckets = Vec::new();
        self.len = 0;
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter { buckets: &self.buckets, bucket: 0, node: None, prefetch: false }
    }

    /// The entries of the buckets in `range` (clamped to the table), in `iter()`'s order:
    /// disjoint ranges let several threads walk one table (the parallel RDB writer).
    pub fn iter_buckets(&self, range: std::ops::Range<usize>) -> Iter<'_, V> {
        let end = range.end.min(self.buckets.len());
        let start = range.start.min(end);
        Iter { buckets: &self.buckets[start..end], bucket: 0, node: None, prefetch: false }
    }

    /// `iter_buckets` that hints the cache (`crate::prefetch`) ahead of the walk: the first node
    /// of the bucket `PREFETCH_BUCKETS` ahead, and the next node of a chain when a node is
    /// handed out. For long walks over large tables (the RDB writer), where each node is
    /// otherwise a cache miss the walk waits for.
    pub fn iter_buckets_prefetching(&self, range: std::ops::Range<usize>) -> Iter<'_, V> {
        let mut it = self.iter_buckets(range);
        it.prefetch = true;
        for b in it.buckets.iter().take(PREFETCH_BUCKETS) {
            if let Some(n) = b.as_deref() { crate::prefetch::prefetch(n); }
        }
        it
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> { self.iter().map(|(k, _)| k) }
    pub fn values(&self) -> impl Iterator<Item = &V> { self.iter().map(|(_, v)| v) }

    pub fn for_each_mut(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        for b in self.buckets.iter_mut() {
            let mut cur = b.as_deref_mut();
            while let Some(n) = cur {
                f(&n.key, &mut n.val);
                cur = n.next.as_deref_mut();
            }
        }
    }

    /// Removes every entry for which `keep` returns false.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8], &mut V) -> bool) {
        for b in self.buckets.iter_mut() {
            let mut link = b;
            loop {
                let drop_it = match link {
                    None => break,
                    Some(n) => !keep(&n.key, &mut n.val),
                };
                if drop_it {
                    let mut node = link.take().expect("checked Some");
                    *link = node.next.take();
                    self.len -= 1;
                } else {
                    link = &mut link.as_mut().expect("checked Some").next;
                }
            }
        }
        self.maybe_shrink();
    }

    /// A random entry, as Redis's dictGetFairRandomKey picks it: one of up to 15 entries
    /// gathered from consecutive buckets (so an entry in a long chain is not less likely than
    /// one alone in its bucket, as it would be with "random bucket, then random chain node").
    pub fn random(&self) -> Option<(&[u8], &V)> {
        if self.len == 0 { return None; }
        let mut sample: [Option<(&[u8], &V)>; FAIR_SAMPLE] = [None; FAIR_SAMPLE];
        let mut n = 0;
        self.some_entries(FAIR_SAMPLE, |k, v| {
            sample[n] = Some((k, v));
            n += 1;
        });
        if n == 0 { return self.random_in_random_bucket(); }
        sample[(random_u64() % n as u64) as usize]
    }

    /// Up to `count` entries (fewer when the dict is smaller or the walk gives up) from
    /// consecutive buckets starting at a random one, as Redis's dictGetSomeKeys samples.
    pub fn some_entries<'a>(&'a self, count: usize, mut f: impl FnMut(&'a [u8], &'a V)) -> usize {
        self.sample(count, count * 10, |k, v| {
            f(k, v);
            true
        })
    }

    /// Redis's dictGetRandomKey: a random non-empty bucket, then a random node of its chain.
    fn random_in_random_bucket(&self) -> Option<(&[u8], &V)> {
        if self.len == 0 { return None; }
        let mask = self.buckets.len() - 1;
        loop {
            let s = (random_u64() as usize) & mask;
            if let Some(head) = self.buckets[s].as_deref() {
                let mut chain = 0usize;
                let mut cur = Some(head);
                while let Some(n) = cur { chain += 1; cur = n.next.as_deref(); }
                let mut pick = (random_u64() as usize) % chain;
                let mut cur = head;
                while pick > 0 { cur = cur.next.as_deref().expect("within chain"); pick -= 1; }
                return Some((&*cur.key, &cur.val));
            }
        }
    }

    /// dictGetSomeKeys with a filter: up to `count` entries from consecutive buckets starting at
    /// a random one (cheap rather than uniform, which is all sampling needs). `take` sees each
    /// entry walked and says whether it counts (eviction looks for keys with a TTL in the one
    /// table). A run of more than `count` (and at least 5) empty buckets jumps to another random
    /// bucket; at most `max_buckets` buckets, and no more than the table has, are visited.
    /// Returns how many entries counted.
    pub fn sample<'a>(&'a self, count: usize, max_buckets: usize, mut take: impl FnMut(&'a [u8], &'a V) -> bool) -> usize {
        let count = count.min(self.len);
        if count == 0 { return 0; }
        let mask = self.buckets.len() - 1;
        let mut i = (random_u64() as usize) & mask;
        let (mut stored, mut empty_run) = (0usize, 0usize);
        let mut steps = max_buckets.max(1).min(self.buckets.len());
        while stored < count && steps > 0 {
            steps -= 1;
            match self.buckets[i].as_deref() {
                None => {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = (random_u64() as usize) & mask;
                        empty_run = 0;
                        continue;
                    }
                }
                Some(head) => {
                    empty_run = 0;
                    let mut cur = Some(head);
                    while let Some(node) = cur {
                        if take(&node.key, &node.val) {
                            stored += 1;
                            if stored == count { return stored; }
                        }
                        cur = node.next.as_deref();
                    }
                }
            }
            i = (i + 1) & mask;
        }
        stored
    }

    /// One SCAN step: visits the bucket at `cursor`, calls `f` for each entry in it, and returns
    /// the next cursor (0 when the scan is complete).
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], &V)) -> u64 {
        if self.len == 0 { return 0; }
        let mask = (self.buckets.len() - 1) as u64;
        let mut cur = self.buckets[(cursor & mask) as usize].as_deref();
        while let Some(n) = cur {
            f(&n.key, &n.val);
            cur = n.next.as_deref();
        }
        // Increment the reversed cursor: set the unmasked high bits, reverse, add one, reverse.
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// MEMORY USAGE's figure for one entry's share of the table: its node's malloc chunk and
    /// its key's own allocation when it is too long to live inline.
    pub fn entry_bytes(key: &[u8]) -> usize {
        chunk_size(std::mem::size_of::<Node<V>>()) + SmallBytes::heap_bytes_of(key)
    }

    /// MEMORY USAGE's estimate of a whole table: the bucket array, each entry's node and key,
    /// and what values hold beyond their node (`value_heap`), averaged over the first `samples`
    /// entries as Redis's objectComputeSize does.
    pub fn memory_usage(&self, samples: usize, value_heap: impl Fn(&V) -> usize) -> usize {
        let buckets = if self.buckets.capacity() == 0 { 0 } else { chunk_size(self.buckets.capacity() * std::mem::size_of::<Option<Box<Node<V>>>>()) };
        let mut seen = 0usize;
        let mut bytes = 0usize;
        for (k, v) in self.iter().take(samples.max(1)) {
            bytes += Self::entry_bytes(k) + value_heap(v);
            seen += 1;
        }
        if seen == 0 { return buckets; }
        buckets + (bytes as f64 / seen as f64 * self.len as f64) as usize
    }

    /// Approximate heap bytes used by the table itself (not the values' own heap).
    pub fn table_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Option<Box<Node<V>>>>()
            + self.len * (std::mem::size_of::<Node<V>>() + 16)
    }
}

impl<V: Clone> Clone for Dict<V> {
    /// A deep copy (COPY, and values copied between databases).
    fn clone(&self) -> Self {
        let mut d = Dict::with_capacity(self.len);
        for (k, v) in self.iter() { d.insert_new_copy(k, v.clone()); }
        d
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) { self.clear(); }
}

pub struct Iter<'a, V> {
    buckets: &'a [Option<Box<Node<V>>>],
    bucket: usize,
    node: Option<&'a Node<V>>,
    /// Hint the cache ahead of the walk (`iter_buckets_prefetching`).
    prefetch: bool,
}

/// How far ahead of the walk a prefetching iterator hints first nodes: far enough that a
/// node has arrived when the walk reaches it, near enough that it is still cached.
const PREFETCH_BUCKETS: usize = 16;

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next.as_deref();
                if self.prefetch {
                    if let Some(next) = self.node { crate::prefetch::prefetch(next); }
                }
                return Some((&*n.key, &n.val));
            }
            if self.bucket >= self.buckets.len() { return None; }
            self.node = self.buckets[self.bucket].as_deref();
            if self.prefetch {
                if let Some(Some(ahead)) = self.buckets.get(self.bucket + PREFETCH_BUCKETS) {
                    crate::prefetch::prefetch(&**ahead);
                }
            }
            self.bucket += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson's chi-square of `counts` against a uniform distribution.
    fn chi_square(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / counts.len() as f64;
        counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
    }

    #[test]
    fn random_is_fair_when_chains_differ() {
        // 10 entries in 16 buckets: some share a bucket. A random bucket then a random chain
        // node would pick those half as often; the fair pick does not (9 degrees of freedom:
        // 37.7 is the p = 0.00005 bound).
        for round in 0..5 {
            let mut d = Dict::new();
            for i in 0..10u32 { d.insert(format!("member:{round}:{i}").as_bytes(), i); }
            let mut counts = [0u64; 10];
            for _ in 0..20_000 { counts[*d.random().unwrap().1 as usize] += 1; }
            assert!(chi_square(&counts) < 37.7, "round {round}: {counts:?}");
        }
    }

    #[test]
    fn some_entries_samples_consecutive_entries() {
        let mut d = Dict::new();
        for i in 0..1000u32 { d.insert(format!("k{i}").as_bytes(), i); }
        let mut got = Vec::new();
        assert_eq!(d.some_entries(15, |_, v| got.push(*v)), 15);
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), 15);
        let small: Dict<u32> = { let mut s = Dict::new(); s.insert(b"only", 7); s };
        let mut one = Vec::new();
        assert_eq!(small.some_entries(15, |_, v| one.push(*v)), 1);
        assert_eq!(one, [7]);
    }

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new();
        for i in 0..1000u32 { d.insert(format!("k{i}").as_bytes(), i); }
        assert_eq!(d.len(), 1000);
        for i in 0..1000u32 { assert_eq!(d.get(format!("k{i}").as_bytes()), Some(&i)); }
        for i in 0..990u32 { assert_eq!(d.remove(format!("k{i}").as_bytes()), Some(i)); }
        assert_eq!(d.len(), 10);
        assert!(d.bucket_count() <= 16);
        assert_eq!(d.iter().count(), 10);
    }

    #[test]
    fn try_insert_copy_inserts_once_and_gives_the_value_back() {
        let mut d = Dict::new();
        for i in 0..100u32 { assert!(d.try_insert_copy(format!("k{i}").as_bytes(), i).is_ok()); }
        for i in 0..100u32 { assert_eq!(d.try_insert_copy(format!("k{i}").as_bytes(), i + 1000), Err(i + 1000)); }
        assert_eq!(d.len(), 100);
        for i in 0..100u32 { assert_eq!(d.get(format!("k{i}").as_bytes()), Some(&i)); }
    }

    #[test]
    fn bucket_ranges_cover_the_table_once() {
        let mut d = Dict::new();
        for i in 0..3000u32 { d.insert(format!("k{i}").as_bytes(), i); }
        let n = d.bucket_count();
        let mut seen: Vec<u32> = (0..n).step_by(100).flat_map(|s| d.iter_buckets(s..s + 100).map(|(_, v)| *v)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..3000).collect::<Vec<_>>());
        assert_eq!(d.iter_buckets(n..n + 5).count(), 0);
        assert_eq!(d.iter_buckets(0..usize::MAX).count(), 3000);
        // The prefetching walk hands out the same entries in the same order.
        for (s, e) in [(0, n), (0, 7), (5, 300), (n - 3, n + 20), (n, n + 5)] {
            let plain: Vec<u32> = d.iter_buckets(s..e).map(|(_, v)| *v).collect();
            let hinted: Vec<u32> = d.iter_buckets_prefetching(s..e).map(|(_, v)| *v).collect();
            assert_eq!(plain, hinted, "{s}..{e}");
        }
    }

    #[test]
    fn scan_visits_everything_across_resizes() {
        let mut d = Dict::new();
        for i in 0..500u32 { d.insert(format!("k{i}").as_bytes(), ()); }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = d.scan_step(cursor, |k, _| { seen.insert(k.to_vec()); });
            steps += 1;
            if steps == 50 { for i in 500..3000u32 { d.insert(format!("k{i}").as_bytes(), ()); } }
            if steps == 200 { for i in 1000..3000u32 { d.remove(format!("k{i}").as_bytes()); } }
            if cursor == 0 { break; }
        }
        for i in 0..500u32 { assert!(seen.contains(format!("k{i}").as_bytes()), "missed k{i}"); }
    }
}

