//! A byte-keyed chained hash table with Redis's dict properties that std's HashMap lacks:
//! a stateless SCAN cursor (reverse-binary increment over buckets, which still visits every
//! element present for the whole scan when the table grows or shrinks between calls) and
//! a fair random entry (RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) without a full
//! walk, and Redis's cheap sample of consecutive entries (dictGetSomeKeys) for eviction.

use crate::alloc::chunk_size;
use std::cell::Cell;

mod node;
pub use node::{node_bytes, Node};

pub struct Dict<V> {
    buckets: Vec<Option<Node<V>>>,
    len: usize,
}

const MIN_BUCKETS: usize = 4;
/// Redis's dict_force_resize_ratio: while resizing is avoided (a forked child shares the
/// memory), a table still grows once it holds more than this many entries per bucket.
const FORCE_RESIZE_RATIO: usize = 5;
/// Redis's GETFAIR_NUM_ENTRIES: how many entries a fair random pick chooses among.
const FAIR_SAMPLE: usize = 15;

thread_local! {
    /// Redis's dict_can_resize, inverted: set on the JS thread (where the keyspace and its
    /// collections change) while a forked child exists, see `avoid_resizes`.
    static RESIZE_AVOIDED: Cell<bool> = const { Cell::new(false) };
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

/// Redis's updateDictResizePolicy for the calling thread's tables: while `avoid` holds (a forked
/// child shares the parent's memory copy-on-write), tables neither shrink nor grow unless one
/// holds more than `FORCE_RESIZE_RATIO` entries per bucket. A resize rewrites the link of
/// every node, so in the parent it would copy every page holding a node of that table.
pub fn avoid_resizes(avoid: bool) {
    RESIZE_AVOIDED.with(|r| r.set(avoid));
}

fn resizes_avoided() -> bool {
    RESIZE_AVOIDED.with(|r| r.get())
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

    /// The node holding `key`: its value, key, tag and extra slot.
    #[inline]
    pub fn get_node(&self, key: &[u8]) -> Option<&Node<V>> {
        if self.len == 0 { return None; }
        let mut cur = self.buckets[self.slot(key)].as_ref();
        while let Some(n) = cur {
            if n.key() == key { return Some(n); }
            cur = n.next();
        }
        None
    }

    /// The node holding `key`, to change its value or tag (the extra slot changes through
    /// `set_extra`, which may move the node).
    #[inline]
    pub fn get_node_mut(&mut self, key: &[u8]) -> Option<&mut Node<V>> {
        if self.len == 0 { return None; }
        let s = self.slot(key);
        let mut cur = self.buckets[s].as_mut();
        while let Some(n) = cur {
            if n.key() == key { return Some(n); }
            cur = n.next_mut().as_mut();
        }
        None
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> { self.get_node(key).map(|n| n.val()) }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> { self.get_node_mut(key).map(|n| n.val_mut()) }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> { self.get_node(key).map(|n| (n.key(), n.val())) }

    pub fn contains_key(&self, key: &[u8]) -> bool { self.get_node(key).is_some() }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], val: V) -> Option<V> {
        if let Some(v) = self.get_mut(key) {
            return Some(std::mem::replace(v, val));
        }
        self.insert_new_copy(key, val);
        None
    }

    /// Inserts a key known to be absent (the caller checked).
    pub fn insert_new(&mut self, key: Box<[u8]>, val: V) { self.insert_new_copy(&key, val); }

    /// Inserts a key known to be absent, copying its bytes into the new node.
    pub fn insert_new_copy(&mut self, key: &[u8], val: V) { self.link_new(Node::new(key, val, 0, None)); }

    /// Inserts a key known to be absent, with `tail` stored after it in the same node (see
    /// `Node::tail`).
    pub fn insert_new_tailed(&mut self, key: &[u8], tail: &[u8], val: V) { self.link_new(Node::new_tailed(key, tail, val, None)); }

    /// `try_insert_copy` of a node with a tail (`insert_new_tailed`): `val` back when the key
    /// is there.
    pub fn try_insert_tailed(&mut self, key: &[u8], tail: &[u8], val: V) -> Result<(), V> {
        self.grow_if_due();
        let s = self.slot(key);
        let mut cur = self.buckets[s].as_ref();
        while let Some(n) = cur {
            if n.key() == key { return Err(val); }
            cur = n.next();
        }
        let mut node = Node::new_tailed(key, tail, val, None);
        *node.next_mut() = self.buckets[s].take();
        self.buckets[s] = Some(node);
        self.len += 1;
        Ok(())
    }

    /// Replaces the tail of `key`'s node: in place when the length is the same, else the node
    /// is remade (value, extra slot and chain position kept). False when the key is absent.
    pub fn set_tail(&mut self, key: &[u8], tail: &[u8]) -> bool {
        let Some(link) = self.link_of(key) else { return false };
        if link.as_mut().expect("link_of finds a node").overwrite_tail(tail) { return true; }
        let mut old = link.take().expect("link_of finds a node");
        let next = old.next_mut().take();
        let extra = old.extra();
        let (val, _, _) = old.into_parts();
        let mut node = Node::new_tailed(key, tail, val, extra);
        *node.next_mut() = next;
        *link = Some(node);
        true
    }

    /// Inserts a key known to be absent with its tag and extra slot.
    pub fn insert_new_tagged(&mut self, key: &[u8], val: V, tag: u32, extra: Option<u64>) {
        self.link_new(Node::new(key, val, tag, extra));
    }

    /// Inserts `key` (copying its bytes) unless it is present, with one hash and one chain
    /// walk where `contains_key` + `insert_new_copy` take two; gives `val` back when the key is
    /// there. The table grows first when it is due, as Redis's dictAdd expands before its lookup.
    pub fn try_insert_copy(&mut self, key: &[u8], val: V) -> Result<(), V> {
        self.try_insert_tagged(key, val, 0, None)
    }

    /// `try_insert_copy` with the new node's tag and extra slot.
    pub fn try_insert_tagged(&mut self, key: &[u8], val: V, tag: u32, extra: Option<u64>) -> Result<(), V> {
        self.try_insert_hashed(hash_bytes(key), key, val, tag, extra)
    }

    /// `try_insert_tagged` of a key whose `hash_of` the caller computed already (a loader
    /// hashes a key when it reads it, to prefetch, and inserts it a few keys later).
    pub fn try_insert_hashed(&mut self, hash: u64, key: &[u8], val: V, tag: u32, extra: Option<u64>) -> Result<(), V> {
        debug_assert_eq!(hash, hash_bytes(key));
        self.grow_if_due();
        let s = (hash as usize) & (self.buckets.len() - 1);
        let mut cur = self.buckets[s].as_ref();
        while let Some(n) = cur {
            if n.key() == key { return Err(val); }
            cur = n.next();
        }
        let mut node = Node::new(key, val, tag, extra);
        *node.next_mut() = self.buckets[s].take();
        self.buckets[s] = Some(node);
        self.len += 1;
        Ok(())
    }

    /// The hash under which every table of this process files `key`.
    #[inline]
    pub fn hash_of(key: &[u8]) -> u64 { hash_bytes(key) }

    /// Hints the cache to load the bucket a key of this `hash` falls in: the first of the two
    /// cache misses an insert into a large table waits for (a loader calls it some keys ahead).
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        if self.buckets.is_empty() { return; }
        crate::prefetch::prefetch(&self.buckets[(hash as usize) & (self.buckets.len() - 1)]);
    }

    /// Hints the cache to load the first node of `hash`'s chain, read from its bucket: the
    /// second miss, for after `prefetch_bucket` brought the bucket in.
    #[inline]
    pub fn prefetch_chain(&self, hash: u64) {
        if self.buckets.is_empty() { return; }
        if let Some(head) = &self.buckets[(hash as usize) & (self.buckets.len() - 1)] { head.prefetch(); }
    }

    /// Links a node whose key is known to be absent (RENAME and MOVE relink a whole entry).
    pub fn link_new(&mut self, mut node: Node<V>) {
        self.grow_if_due();
        let s = self.slot(node.key());
        *node.next_mut() = self.buckets[s].take();
        self.buckets[s] = Some(node);
        self.len += 1;
    }

    #[inline]
    fn grow_if_due(&mut self) {
        if self.len >= self.buckets.len() {
            self.grow();
        }
    }

    /// Redis's _dictExpandIfNeeded once the table is full: an empty table gets its first
    /// buckets; otherwise it doubles, unless resizes are avoided and it is not yet overfull.
    #[cold]
    fn grow(&mut self) {
        let n = self.buckets.len();
        if n == 0 || !resizes_avoided() || self.len / n > FORCE_RESIZE_RATIO {
            self.resize((n * 2).max(MIN_BUCKETS));
        }
    }

    /// Returns a mutable reference to the value of `key`, inserting `make()` first if absent.
    pub fn entry_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        self.node_or_insert_with(key, || (make(), 0)).val_mut()
    }

    /// The node of `key`, inserting one with `make()`'s value and tag first if absent.
    pub fn node_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> (V, u32)) -> &mut Node<V> {
        if !self.contains_key(key) {
            let (val, tag) = make();
            self.insert_new_tagged(key, val, tag, None);
        }
        self.get_node_mut(key).expect("just inserted")
    }

    /// The link that holds `key`'s node (None when absent).
    fn link_of(&mut self, key: &[u8]) -> Option<&mut Option<Node<V>>> {
        if self.len == 0 { return None; }
        let s = self.slot(key);
        let mut link = &mut self.buckets[s];
        loop {
            match link {
                None => return None,
                Some(n) if n.key() == key => return Some(link),
                Some(n) => link = n.next_mut(),
            }
        }
    }

    /// Sets or removes `key`'s extra slot, moving its node into an allocation of the right
    /// size when the slot comes or goes. Returns the slot's previous content (None when the
    /// key is absent).
    pub fn set_extra(&mut self, key: &[u8], extra: Option<u64>) -> Option<Option<u64>> {
        let link = self.link_of(key)?;
        let node = link.take().expect("link_of finds a node");
        let previous = node.extra();
        *link = Some(node.with_extra(extra));
        Some(previous)
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.remove_node(key).map(|n| n.into_parts().0)
    }

    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Box<[u8]>, V)> {
        self.remove_node(key).map(|n| {
            let key: Box<[u8]> = n.key().into();
            (key, n.into_parts().0)
        })
    }

    /// Unlinks `key`'s node and hands it over whole (key, value, tag and extra slot).
    pub fn remove_node(&mut self, key: &[u8]) -> Option<Node<V>> {
        let link = self.link_of(key)?;
        let mut node = link.take().expect("link_of finds a node");
        *link = node.next_mut().take();
        self.len -= 1;
        self.maybe_shrink();
        Some(node)
    }

    fn maybe_shrink(&mut self) {
        // Like Redis: shrink when under 10% full, so a drained big hash gives its memory back.
        let n = self.buckets.len();
        if n > MIN_BUCKETS && self.len * 10 < n && !resizes_avoided() {
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
                head = node.next_mut().take();
                let s = (hash_bytes(node.key()) as usize) & mask;
                *node.next_mut() = self.buckets[s].take();
                self.buckets[s] = Some(node);
            }
        }
    }

    pub fn clear(&mut self) {
        // Unlink chains iteratively: dropping a long chain recursively could overflow the stack.
        for b in self.buckets.iter_mut() {
            let mut cur = b.take();
            while let Some(mut n) = cur { cur = n.next_mut().take(); }
        }
        self.buckets = Vec::new();
        self.len = 0;
    }

    pub fn iter(&self) -> Iter<'_, V> { Iter { nodes: self.nodes() } }

    /// Every node, in bucket order (the keyspace reads TTLs and clocks this way).
    pub fn nodes(&self) -> Nodes<'_, V> { Nodes { buckets: &self.buckets, bucket: 0, node: None, prefetch: false } }

    /// The entries of the buckets in `range` (clamped to the table), in `iter()`'s order:
    /// disjoint ranges let several threads walk one table (the parallel RDB writer).
    pub fn iter_buckets(&self, range: std::ops::Range<usize>) -> Iter<'_, V> { Iter { nodes: self.nodes_in_buckets(range) } }

    /// The nodes of the buckets in `range`, as `iter_buckets`.
    pub fn nodes_in_buckets(&self, range: std::ops::Range<usize>) -> Nodes<'_, V> {
        let end = range.end.min(self.buckets.len());
        let start = range.start.min(end);
        Nodes { buckets: &self.buckets[start..end], bucket: 0, node: None, prefetch: false }
    }

    /// `nodes_in_buckets` that hints the cache (`crate::prefetch`) ahead of the walk: the first
    /// node of the bucket `PREFETCH_BUCKETS` ahead, and the next node of a chain when a node is
    /// handed out. For long walks over large tables (the RDB writer), where each node is
    /// otherwise a cache miss the walk waits for.
    pub fn nodes_in_buckets_prefetching(&self, range: std::ops::Range<usize>) -> Nodes<'_, V> {
        let mut it = self.nodes_in_buckets(range);
        it.prefetch = true;
        for b in it.buckets.iter().take(PREFETCH_BUCKETS) {
            if let Some(n) = b { n.prefetch(); }
        }
        it
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> { self.iter().map(|(k, _)| k) }
    pub fn values(&self) -> impl Iterator<Item = &V> { self.iter().map(|(_, v)| v) }

    pub fn for_each_mut(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        for b in self.buckets.iter_mut() {
            let mut cur = b.as_mut();
            while let Some(n) = cur {
                let (k, v) = n.key_and_val_mut();
                f(k, v);
                cur = n.next_mut().as_mut();
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
                    Some(n) => {
                        let (k, v) = n.key_and_val_mut();
                        !keep(k, v)
                    }
                };
                if drop_it {
                    let mut node = link.take().expect("checked Some");
                    *link = node.next_mut().take();
                    self.len -= 1;
                } else {
                    link = link.as_mut().expect("checked Some").next_mut();
                }
            }
        }
        self.maybe_shrink();
    }

    /// A random entry, as Redis's dictGetFairRandomKey picks it: one of up to 15 entries
    /// gathered from consecutive buckets (so an entry in a long chain is not less likely than
    /// one alone in its bucket, as it would be with "random bucket, then random chain node").
    pub fn random(&self) -> Option<(&[u8], &V)> { self.random_node().map(|n| (n.key(), n.val())) }

    /// `random`'s node (its tail too).
    pub fn random_node(&self) -> Option<&Node<V>> {
        if self.len == 0 { return None; }
        let mut sample: [Option<&Node<V>>; FAIR_SAMPLE] = [None; FAIR_SAMPLE];
        let mut n = 0;
        self.sample_nodes(FAIR_SAMPLE, FAIR_SAMPLE * 10, |node| {
            sample[n] = Some(node);
            n += 1;
            true
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
    fn random_in_random_bucket(&self) -> Option<&Node<V>> {
        if self.len == 0 { return None; }
        let mask = self.buckets.len() - 1;
        loop {
            let s = (random_u64() as usize) & mask;
            if let Some(head) = self.buckets[s].as_ref() {
                let mut chain = 0usize;
                let mut cur = Some(head);
                while let Some(n) = cur { chain += 1; cur = n.next(); }
                let mut pick = (random_u64() as usize) % chain;
                let mut cur = head;
                while pick > 0 { cur = cur.next().expect("within chain"); pick -= 1; }
                return Some(cur);
            }
        }
    }

    /// `sample_nodes` seeing keys and values.
    pub fn sample<'a>(&'a self, count: usize, max_buckets: usize, mut take: impl FnMut(&'a [u8], &'a V) -> bool) -> usize {
        self.sample_nodes(count, max_buckets, |n| take(n.key(), n.val()))
    }

    /// dictGetSomeKeys with a filter: up to `count` entries from consecutive buckets starting at
    /// a random one (cheap rather than uniform, which is all sampling needs). `take` sees each
    /// node walked and says whether it counts (eviction looks for keys with a TTL in the one
    /// table). A run of more than `count` (and at least 5) empty buckets jumps to another random
    /// bucket; at most `max_buckets` buckets, and no more than the table has, are visited.
    /// Returns how many entries counted.
    pub fn sample_nodes<'a>(&'a self, count: usize, max_buckets: usize, mut take: impl FnMut(&'a Node<V>) -> bool) -> usize {
        let count = count.min(self.len);
        if count == 0 { return 0; }
        let mask = self.buckets.len() - 1;
        let mut i = (random_u64() as usize) & mask;
        let (mut stored, mut empty_run) = (0usize, 0usize);
        let mut steps = max_buckets.max(1).min(self.buckets.len());
        while stored < count && steps > 0 {
            steps -= 1;
            match self.buckets[i].as_ref() {
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
                        if take(node) {
                            stored += 1;
                            if stored == count { return stored; }
                        }
                        cur = node.next();
                    }
                }
            }
            i = (i + 1) & mask;
        }
        stored
    }

    /// `scan_nodes_step` seeing keys and values.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], &V)) -> u64 {
        self.scan_nodes_step(cursor, |n| f(n.key(), n.val()))
    }

    /// One SCAN step: visits the bucket at `cursor`, calls `f` for each node in it, and returns
    /// the next cursor (0 when the scan is complete).
    pub fn scan_nodes_step(&self, cursor: u64, mut f: impl FnMut(&Node<V>)) -> u64 {
        if self.len == 0 { return 0; }
        let mask = (self.buckets.len() - 1) as u64;
        let mut cur = self.buckets[(cursor & mask) as usize].as_ref();
        while let Some(n) = cur {
            f(n);
            cur = n.next();
        }
        // Increment the reversed cursor: set the unmasked high bits, reverse, add one, reverse.
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// MEMORY USAGE's figure for one entry's share of the table: its node's malloc chunk, which
    /// holds the key (and the 8-byte extra slot when `extra`).
    pub fn entry_bytes(key: &[u8], extra: bool) -> usize {
        chunk_size(node::node_bytes::<V>(key.len(), extra))
    }

    /// One entry's share of the bucket array (its malloc chunk split over the entries).
    pub fn bucket_share(&self) -> usize {
        if self.len == 0 || self.buckets.capacity() == 0 { return 0; }
        chunk_size(self.buckets.capacity() * std::mem::size_of::<Option<Node<V>>>()) / self.len
    }

    /// MEMORY USAGE's estimate of a whole table: the bucket array, each entry's node and key,
    /// and what values hold beyond their node (`value_heap`), averaged over the first `samples`
    /// entries as Redis's objectComputeSize does.
    pub fn memory_usage(&self, samples: usize, value_heap: impl Fn(&V) -> usize) -> usize {
        let buckets = if self.buckets.capacity() == 0 { 0 } else { chunk_size(self.buckets.capacity() * std::mem::size_of::<Option<Node<V>>>()) };
        let mut seen = 0usize;
        let mut bytes = 0usize;
        for n in self.nodes().take(samples.max(1)) {
            bytes += chunk_size(n.alloc_bytes()) + value_heap(n.val());
            seen += 1;
        }
        if seen == 0 { return buckets; }
        buckets + (bytes as f64 / seen as f64 * self.len as f64) as usize
    }

    /// Approximate heap bytes used by the table itself: buckets and nodes without their keys'
    /// bytes (callers add those) or the values' own heap.
    pub fn table_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Option<Node<V>>>() + self.len * (node::node_bytes::<V>(0, false) + 8)
    }
}

impl<V: Clone> Clone for Dict<V> {
    /// A deep copy (COPY, and values copied between databases), tags, tails and extra slots
    /// included.
    fn clone(&self) -> Self {
        let mut d = Dict::with_capacity(self.len);
        for n in self.nodes() { d.link_new(n.duplicate()); }
        d
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) { self.clear(); }
}

/// The nodes of a table (or of a range of its buckets), in bucket order.
pub struct Nodes<'a, V> {
    buckets: &'a [Option<Node<V>>],
    bucket: usize,
    node: Option<&'a Node<V>>,
    /// Hint the cache ahead of the walk (`nodes_in_buckets_prefetching`).
    prefetch: bool,
}

/// How far ahead of the walk a prefetching iterator hints first nodes: far enough that a
/// node has arrived when the walk reaches it, near enough that it is still cached.
const PREFETCH_BUCKETS: usize = 16;

impl<'a, V> Iterator for Nodes<'a, V> {
    type Item = &'a Node<V>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next();
                if self.prefetch {
                    if let Some(next) = self.node { next.prefetch(); }
                }
                return Some(n);
            }
            if self.bucket >= self.buckets.len() { return None; }
            self.node = self.buckets[self.bucket].as_ref();
            if self.prefetch {
                if let Some(Some(ahead)) = self.buckets.get(self.bucket + PREFETCH_BUCKETS) { ahead.prefetch(); }
            }
            self.bucket += 1;
        }
    }
}

/// The entries of a table as (key, value) pairs.
pub struct Iter<'a, V> {
    nodes: Nodes<'a, V>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> { self.nodes.next().map(|n| (n.key(), n.val())) }
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
    fn tables_keep_their_size_while_resizes_are_avoided_unless_overfull() {
        // The policy is the calling thread's (each test runs on a thread of its own).
        let mut d = Dict::new();
        for i in 0..64u32 { d.insert(format!("k{i}").as_bytes(), i); }
        assert_eq!(d.bucket_count(), 64);
        avoid_resizes(true);
        // Full, then up to 6 entries per bucket: no growth (Redis: used / size > 5 forces one).
        for i in 64..(64 * 6) as u32 { d.insert(format!("k{i}").as_bytes(), i); }
        assert_eq!(d.bucket_count(), 64);
        d.insert(b"one-more", 0);
        assert_eq!(d.bucket_count(), 128, "more than 5 entries per bucket forces the growth");
        // Nearly emptied: no shrink while avoided.
        for i in 0..(64 * 6) as u32 { assert!(d.remove(format!("k{i}").as_bytes()).is_some()); }
        assert_eq!(d.bucket_count(), 128);
        assert_eq!(d.get(b"one-more"), Some(&0));
        // A new table still gets its first buckets.
        let mut fresh = Dict::new();
        fresh.insert(b"a", 1u8);
        assert_eq!(fresh.bucket_count(), MIN_BUCKETS);
        avoid_resizes(false);
        // Allowed again: the next removal shrinks, the next insertion into a full table grows.
        d.remove(b"one-more");
        assert_eq!(d.bucket_count(), MIN_BUCKETS);
        for i in 0..5u32 { d.insert(format!("n{i}").as_bytes(), i); }
        assert_eq!(d.bucket_count(), 8);
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
            let hinted: Vec<u32> = d.nodes_in_buckets_prefetching(s..e).map(|n| *n.val()).collect();
            assert_eq!(plain, hinted, "{s}..{e}");
        }
    }

    #[test]
    fn binary_keys_of_every_length_with_tags_and_extras_survive_rehash() {
        let key = |i: u32| -> Vec<u8> { (0..i % 70).map(|j| (i.wrapping_mul(31) ^ j) as u8).chain(i.to_le_bytes()).collect() };
        let extra = |i: u32| (i % 2 == 0).then_some(u64::from(i) << 32);
        let mut d: Dict<u32> = Dict::new();
        for i in 0..2000u32 { d.insert_new_tagged(&key(i), i, i ^ 0x55, extra(i)); }
        // Flip every third key's slot (moving its node), then grow and shrink the table.
        for i in (0..2000u32).step_by(3) {
            let flipped = if extra(i).is_some() { None } else { Some(u64::MAX - u64::from(i)) };
            assert_eq!(d.set_extra(&key(i), flipped), Some(extra(i)));
        }
        let expected = |i: u32| if i % 3 == 0 { if extra(i).is_some() { None } else { Some(u64::MAX - u64::from(i)) } } else { extra(i) };
        for i in 2000..6000u32 { d.insert_new_copy(&key(i), i); }
        for i in 2000..6000u32 { assert_eq!(d.remove_node(&key(i)).map(|n| n.into_parts()), Some((i, 0, None))); }
        assert_eq!(d.set_extra(b"absent", Some(1)), None);
        let copy = d.clone();
        for table in [&d, &copy] {
            assert_eq!(table.len(), 2000);
            for i in 0..2000u32 {
                let n = table.get_node(&key(i)).unwrap();
                assert_eq!((n.key(), *n.val(), n.tag(), n.extra()), (&key(i)[..], i, i ^ 0x55, expected(i)));
            }
            assert_eq!(table.nodes().count(), 2000);
        }
        d.retain(|k, v| { *v += 1; k.len() % 2 == 0 });
        assert!(d.iter().all(|(k, v)| k.len() % 2 == 0 && d.get(k) == Some(v)));
        assert!(d.get(b"").is_none());
        d.insert(b"", 9);
        assert_eq!(d.get_key_value(b""), Some((&b""[..], &9)));
    }

    #[test]
    fn tails_are_set_in_place_or_by_remaking_the_node() {
        let mut d: Dict<()> = Dict::new();
        for i in 0..500u32 { assert!(d.try_insert_tailed(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), ()).is_ok()); }
        assert!(d.try_insert_tailed(b"f7", b"other", ()).is_err());
        assert!(!d.set_tail(b"absent", b"x"));
        for i in (0..500u32).step_by(2) {
            // Same length (in place), longer, shorter, empty.
            let v = match i % 8 { 0 => format!("w{i}"), 2 => format!("longer value {i}"), 4 => "s".to_string(), _ => String::new() };
            assert!(d.set_tail(format!("f{i}").as_bytes(), v.as_bytes()));
        }
        let expected = |i: u32| if i % 2 == 1 { format!("v{i}") } else { match i % 8 { 0 => format!("w{i}"), 2 => format!("longer value {i}"), 4 => "s".to_string(), _ => String::new() } };
        let copy = d.clone();
        for table in [&d, &copy] {
            assert_eq!(table.len(), 500);
            for i in 0..500u32 { assert_eq!(table.get_node(format!("f{i}").as_bytes()).unwrap().tail(), expected(i).as_bytes()); }
            assert_eq!(table.nodes().count(), 500);
        }
        d.insert_new_tailed(b"new", b"tail", ());
        assert_eq!(d.random_node().map(|n| d.get_node(n.key()).is_some()), Some(true));
        for i in 0..500u32 { assert!(d.remove(format!("f{i}").as_bytes()).is_some()); }
        assert_eq!(d.get_node(b"new").unwrap().tail(), b"tail");
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

