//! A byte-keyed chained hash table with Redis's dict properties that std's HashMap lacks:
//! a stateless SCAN cursor (reverse-binary increment over buckets, which still visits every
//! element present for the whole scan when the table grows or shrinks between calls) and
//! a fair random entry (RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) without a full
//! walk, and Redis's cheap sample of consecutive entries (dictGetSomeKeys) for eviction.
//!
//! Resizing is incremental, as in Redis's dict.c: a resize makes a second bucket array and
//! entries move into it a bucket at a time, one step per change to the table (insert, remove,
//! a lookup for change) and, for the keyspace, about a millisecond per cron run while
//! `activerehashing` is on (`rehash_for`). Meanwhile lookups look in both arrays, new entries
//! go to the new one, and SCAN, iteration, sampling and the save's bucket ranges cover both. A
//! table that is not rehashing pays one test of `rehash` per operation for all this.

use crate::alloc::chunk_size;
use std::cell::Cell;
use std::time::{Duration, Instant};

mod node;
pub use node::{node_bytes, Node};
use node::{empty_buckets, free_empty_buckets, try_empty_buckets};

type Buckets<V> = Vec<Option<Node<V>>>;

pub struct Dict<V> {
    /// The table; while a rehash runs, the old one, which only loses entries.
    buckets: Buckets<V>,
    /// The rehash under way, if any (boxed: a table that is not rehashing pays one pointer).
    rehash: Option<Box<Rehash<V>>>,
    len: usize,
}

/// A resize in progress (Redis's ht_table[1] and rehashidx).
struct Rehash<V> {
    /// The new bucket array: new entries are linked here, and moved ones.
    to: Buckets<V>,
    /// The old array's buckets before this one are empty (moved); the rest move in order.
    next: usize,
    /// Entries still in the old array (Redis's ht_used[0]): the rehash is over at 0, and random
    /// picks choose an array in proportion to its entries.
    left: usize,
}

const MIN_BUCKETS: usize = 4;
/// Redis's dict_force_resize_ratio: while resizing is avoided (a forked child shares the
/// memory), a table still grows once it holds more than this many entries per bucket, and a
/// rehash keeps moving entries only between arrays whose sizes differ this much.
const FORCE_RESIZE_RATIO: usize = 5;
/// Redis's GETFAIR_NUM_ENTRIES: how many entries a fair random pick chooses among.
const FAIR_SAMPLE: usize = 15;
/// Redis's dictRehash: a step visits at most this many empty buckets per bucket it may move.
const EMPTY_VISITS_PER_STEP: usize = 10;
/// Tables of at most this many entries resize in one go (~10-30 us) instead of incrementally.
const REHASH_AT_ONCE_MAX: usize = 1024;
/// Redis's dictRehashMilliseconds: buckets moved between two looks at the clock.
const STEPS_PER_CLOCK_CHECK: usize = 100;

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
/// holds more than `FORCE_RESIZE_RATIO` entries per bucket, and a rehash under way pauses
/// (Redis 7.2's DICT_RESIZE_AVOID; 7.0 kept stepping) unless its arrays' sizes differ by that
/// ratio. Moving an entry rewrites its node's link and two buckets, so in the parent each step
/// would copy the pages holding them; paused, only what the commands themselves write is
/// copied (docs/handover/rehash.md has the measurement).
pub fn avoid_resizes(avoid: bool) {
    RESIZE_AVOIDED.with(|r| r.set(avoid));
}

/// True while a forked child shares the memory (see `avoid_resizes`).
pub fn resizes_avoided() -> bool {
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

#[inline]
fn bucket_of(hash: u64, buckets: usize) -> usize { (hash as usize) & (buckets - 1) }

/// The node holding `key` in the chain starting at `cur`.
#[inline]
fn find_in_chain<'a, V>(mut cur: Option<&'a Node<V>>, key: &[u8]) -> Option<&'a Node<V>> {
    while let Some(n) = cur {
        if n.key() == key { return Some(n); }
        cur = n.next();
    }
    None
}

/// The link holding `key`'s node in the chain starting at `link`.
#[inline]
fn link_in_chain<'a, V>(mut link: &'a mut Option<Node<V>>, key: &[u8]) -> Option<&'a mut Option<Node<V>>> {
    loop {
        match link {
            None => return None,
            Some(n) if n.key() == key => return Some(link),
            Some(n) => link = n.next_mut(),
        }
    }
}

/// Calls `f` on every node of the chain starting at `cur`.
#[inline]
fn walk_chain<'a, V>(mut cur: Option<&'a Node<V>>, f: &mut impl FnMut(&'a Node<V>)) {
    while let Some(n) = cur {
        f(n);
        cur = n.next();
    }
}

/// The SCAN cursor after `cursor` in a table of `mask + 1` buckets: the reversed cursor,
/// its unmasked high bits set, plus one.
#[inline]
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    (cursor | !mask).reverse_bits().wrapping_add(1).reverse_bits()
}

/// Empties every chain of `buckets` iteratively: dropping a long chain recursively could
/// overflow the stack.
fn unlink_all<V>(buckets: &mut Buckets<V>) {
    for b in buckets.iter_mut() {
        let mut cur = b.take();
        while let Some(mut n) = cur { cur = n.next_mut().take(); }
    }
}

/// Unlinks the entries of `buckets` for which `keep` returns false; returns how many.
fn retain_in<V>(buckets: &mut Buckets<V>, keep: &mut impl FnMut(&[u8], &mut V) -> bool) -> usize {
    let mut removed = 0;
    for b in buckets.iter_mut() {
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
                removed += 1;
            } else {
                link = link.as_mut().expect("checked Some").next_mut();
            }
        }
    }
    removed
}

/// `Dict::sample_nodes` in the buckets `first..` of one array (they hold at least one entry):
/// up to `count` entries from consecutive buckets (wrapping around) from a random one. A run of
/// more than `count` (and at least 5) empty buckets jumps to another random bucket, unless the
/// walk may visit every bucket (then it does, so a small table's sample is all of it).
fn sample_array<'a, V>(array: &'a [Option<Node<V>>], first: usize, count: usize, max_buckets: usize, mut take: impl FnMut(&'a Node<V>) -> bool) -> usize {
    let span = array.len() - first;
    let random_bucket = || first + (random_u64() as usize) % span;
    let mut i = random_bucket();
    let (mut stored, mut empty_run) = (0usize, 0usize);
    let mut steps = max_buckets.max(1).min(span);
    let may_jump = steps < span;
    while stored < count && steps > 0 {
        steps -= 1;
        match array[i].as_ref() {
            None => {
                empty_run += 1;
                if may_jump && empty_run >= 5 && empty_run > count {
                    i = random_bucket();
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
        i += 1;
        if i == array.len() { i = first; }
    }
    stored
}

/// Redis's dictGetRandomKey in the buckets `first..` of one array (they hold at least one
/// entry): a random non-empty bucket, then a random node of its chain.
fn random_in_array<V>(array: &[Option<Node<V>>], first: usize) -> &Node<V> {
    let span = array.len() - first;
    let head = loop {
        if let Some(head) = array[first + (random_u64() as usize) % span].as_ref() { break head; }
    };
    let mut chain = 0usize;
    walk_chain(Some(head), &mut |_| chain += 1);
    let mut pick = (random_u64() as usize) % chain;
    let mut cur = head;
    while pick > 0 { cur = cur.next().expect("within chain"); pick -= 1; }
    cur
}

/// Redis's DICT_STATS_VECTLEN: chains of this length or longer share the last counter.
const STATS_VECTLEN: usize = 50;

/// Redis's _dictGetStatsHt for one bucket array (0: the table, 1: a rehash's target).
fn array_stats<V>(array: &[Option<Node<V>>], index: u32, counted: &impl Fn(&Node<V>) -> bool) -> String {
    use std::fmt::Write as _;
    let name = if index == 0 { "main hash table" } else { "rehashing target" };
    let mut lengths = [0usize; STATS_VECTLEN];
    let (mut used, mut slots, mut max_chain, mut total_chain) = (0usize, 0usize, 0usize, 0usize);
    for head in array {
        let mut chain = 0usize;
        walk_chain(head.as_ref(), &mut |n| if counted(n) { chain += 1 });
        if chain == 0 { lengths[0] += 1; continue; }
        slots += 1;
        used += chain;
        lengths[chain.min(STATS_VECTLEN - 1)] += 1;
        max_chain = max_chain.max(chain);
        total_chain += chain;
    }
    if used == 0 {
        return format!("Hash table {index} stats ({name}):\nNo stats available for empty dictionaries\n");
    }
    let size = array.len();
    // Redis divides in float (single precision) and prints with %.02f.
    let mut text = format!(
        "Hash table {index} stats ({name}):\n table size: {size}\n number of elements: {used}\n different slots: {slots}\n max chain length: {max_chain}\n avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n Chain length distribution:\n",
        total_chain as f32 / slots as f32,
        used as f32 / slots as f32,
    );
    for (len, &count) in lengths.iter().enumerate().take(STATS_VECTLEN - 1) {
        if count == 0 { continue; }
        let _ = writeln!(text, "   {len}: {count} ({:.2}%)", count as f32 / size as f32 * 100.0);
    }
    text
}

/// Shortens `text` to at most `max` bytes (on a character boundary; the text is ASCII).
fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() <= max { return; }
    let mut end = max;
    while !text.is_char_boundary(end) { end -= 1; }
    text.truncate(end);
}

/// Bytes of a bucket array as malloc holds it.
fn buckets_bytes<V>(b: &Buckets<V>) -> usize {
    if b.capacity() == 0 { 0 } else { chunk_size(b.capacity() * std::mem::size_of::<Option<Node<V>>>()) }
}

impl<V> Default for Dict<V> {
    fn default() -> Self { Self::new() }
}

impl<V> Dict<V> {
    pub fn new() -> Self { Dict { buckets: Vec::new(), rehash: None, len: 0 } }

    pub fn with_capacity(n: usize) -> Self {
        let mut d = Self::new();
        if n > 0 { d.buckets = empty_buckets(n.next_power_of_two().max(MIN_BUCKETS)); }
        d
    }

    #[inline] pub fn len(&self) -> usize { self.len }
    #[inline] pub fn is_empty(&self) -> bool { self.len == 0 }

    /// The buckets the table has once any rehash under way is over (its new array's size).
    pub fn bucket_count(&self) -> usize {
        match &self.rehash { None => self.buckets.len(), Some(r) => r.to.len() }
    }

    /// True while entries move from an old bucket array to a new one.
    #[inline] pub fn is_rehashing(&self) -> bool { self.rehash.is_some() }

    /// How many bucket positions `nodes_in_buckets` ranges cover: the old array's buckets then,
    /// while a rehash runs, the new array's.
    pub fn bucket_positions(&self) -> usize {
        self.buckets.len() + self.rehash.as_ref().map_or(0, |r| r.to.len())
    }

    /// The node holding `key`: its value, key, tag and extra slot.
    #[inline]
    pub fn get_node(&self, key: &[u8]) -> Option<&Node<V>> {
        if self.len == 0 { return None; }
        self.find_hashed(hash_bytes(key), key)
    }

    #[inline]
    fn find_hashed(&self, hash: u64, key: &[u8]) -> Option<&Node<V>> {
        let i = bucket_of(hash, self.buckets.len());
        match &self.rehash {
            None => find_in_chain(self.buckets[i].as_ref(), key),
            Some(r) => {
                // Buckets before `next` were moved: the entry can only be in the new array.
                if i >= r.next {
                    if let Some(n) = find_in_chain(self.buckets[i].as_ref(), key) { return Some(n); }
                }
                find_in_chain(r.to[bucket_of(hash, r.to.len())].as_ref(), key)
            }
        }
    }

    /// Calls `f` with every node whose key hashes to `hash` (`hash_of`), in both arrays while
    /// a rehash runs: the cluster's slot index keeps hashes, not keys, and finds keys here.
    pub fn for_each_hashed<'a>(&'a self, hash: u64, mut f: impl FnMut(&'a Node<V>)) {
        if self.len == 0 { return; }
        let mut walk = |mut cur: Option<&'a Node<V>>| {
            while let Some(n) = cur {
                if hash_bytes(n.key()) == hash { f(n); }
                cur = n.next();
            }
        };
        let i = bucket_of(hash, self.buckets.len());
        match &self.rehash {
            None => walk(self.buckets[i].as_ref()),
            Some(r) => {
                if i >= r.next { walk(self.buckets[i].as_ref()); }
                walk(r.to[bucket_of(hash, r.to.len())].as_ref());
            }
        }
    }

    /// The node holding `key`, to change its value or tag (the extra slot changes through
    /// `set_extra`, which may move the node). A rehash under way moves a bucket first, as
    /// Redis's dictFind steps.
    #[inline]
    pub fn get_node_mut(&mut self, key: &[u8]) -> Option<&mut Node<V>> {
        if self.len == 0 { return None; }
        if self.rehash.is_none() {
            let s = bucket_of(hash_bytes(key), self.buckets.len());
            let mut cur = self.buckets[s].as_mut();
            while let Some(n) = cur {
                if n.key() == key { return Some(n); }
                cur = n.next_mut().as_mut();
            }
            return None;
        }
        self.link_of(key).and_then(|l| l.as_mut())
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
        self.try_link(hash_bytes(key), key, val, |val| Node::new_tailed(key, tail, val, None))
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
        self.try_link(hash, key, val, |val| Node::new(key, val, tag, extra))
    }

    /// The body of the `try_insert_*`: a rehash step and the growth when due, then `key`'s
    /// chain(s) walked, and the node `make` builds around `val` linked at the head of its
    /// bucket unless the key is there (`val` back then).
    #[inline]
    fn try_link(&mut self, hash: u64, key: &[u8], val: V, make: impl FnOnce(V) -> Node<V>) -> Result<(), V> {
        debug_assert_eq!(hash, hash_bytes(key));
        self.before_insert();
        if self.find_hashed(hash, key).is_some() { return Err(val); }
        self.link_hashed(hash, make(val));
        Ok(())
    }

    /// The hash under which every table of this process files `key`.
    #[inline]
    pub fn hash_of(key: &[u8]) -> u64 { hash_bytes(key) }

    /// The bucket array a new entry is linked into: the new one while a rehash runs.
    #[inline]
    fn insert_buckets(&self) -> &Buckets<V> {
        match &self.rehash { None => &self.buckets, Some(r) => &r.to }
    }

    /// Hints the cache to load the bucket a key of this `hash` falls in: the first of the two
    /// cache misses an insert into a large table waits for (a loader calls it some keys ahead).
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        let b = self.insert_buckets();
        if b.is_empty() { return; }
        crate::prefetch::prefetch(&b[bucket_of(hash, b.len())]);
    }

    /// Hints the cache to load the first node of `hash`'s chain, read from its bucket: the
    /// second miss, for after `prefetch_bucket` brought the bucket in.
    #[inline]
    pub fn prefetch_chain(&self, hash: u64) {
        let b = self.insert_buckets();
        if b.is_empty() { return; }
        if let Some(head) = &b[bucket_of(hash, b.len())] { head.prefetch(); }
    }

    /// Links a node whose key is known to be absent (RENAME and MOVE relink a whole entry).
    pub fn link_new(&mut self, node: Node<V>) {
        self.before_insert();
        self.link_hashed(hash_bytes(node.key()), node);
    }

    /// Links `node` (its key absent, its hash `hash`) at the head of its bucket.
    #[inline]
    fn link_hashed(&mut self, hash: u64, mut node: Node<V>) {
        let buckets = match self.rehash.as_deref_mut() { None => &mut self.buckets, Some(r) => &mut r.to };
        let s = bucket_of(hash, buckets.len());
        *node.next_mut() = buckets[s].take();
        buckets[s] = Some(node);
        self.len += 1;
    }

    /// What Redis's dictAddRaw does before it links: a rehash step, or the growth when due.
    #[inline]
    fn before_insert(&mut self) {
        if self.rehash.is_some() {
            self.rehash_step();
        } else if self.len >= self.buckets.len() {
            self.grow();
        }
    }

    /// Redis's _dictExpandIfNeeded once the table is full: an empty table gets its first
    /// buckets; otherwise it grows to hold one more entry than it has (doubles), unless resizes
    /// are avoided and it is not yet overfull.
    #[cold]
    fn grow(&mut self) {
        let n = self.buckets.len();
        if n == 0 || !resizes_avoided() || self.len / n > FORCE_RESIZE_RATIO {
            self.start_resize((self.len + 1).next_power_of_two().max(MIN_BUCKETS));
        }
    }

    /// Redis's dictExpand/dictResize to `size` buckets (a power of two).
    fn start_resize(&mut self, size: usize) {
        if size != self.buckets.len() || self.len == 0 { self.resize_into(empty_buckets(size)); }
    }

    /// Redis's dictTryExpand: makes the table ready for `size` entries (its array grows to the
    /// next power of two) when it is not rehashing, holds at most `size` entries and would get
    /// another size. False when it does nothing, or when the allocator refuses the array.
    pub fn expand(&mut self, size: usize) -> bool {
        if self.rehash.is_some() || self.len > size { return false; }
        let Some(buckets) = size.max(MIN_BUCKETS).checked_next_power_of_two() else { return false };
        if buckets == self.buckets.len() { return false; }
        let Some(to) = try_empty_buckets(buckets) else { return false };
        self.resize_into(to);
        true
    }

    /// A table without entries gets the new array `to` at once; otherwise its entries move
    /// into `to` incrementally.
    fn resize_into(&mut self, to: Buckets<V>) {
        debug_assert!(self.rehash.is_none());
        if self.len == 0 {
            // Nothing to move (a first table, or an emptied one shrinking): the new array at once.
            free_empty_buckets(std::mem::replace(&mut self.buckets, to));
        } else {
            self.rehash = Some(Box::new(Rehash { to, next: 0, left: self.len }));
            // A small table moves at once: that takes microseconds, while moving it a bucket
            // per change would keep both arrays (and the Rehash) in every small hash, set or
            // sorted set that grew until later changes happen to finish the move.
            if self.len <= REHASH_AT_ONCE_MAX { self.finish_rehash(); }
        }
    }

    /// Redis's _dictRehashStep, run by each change to the table while a rehash runs: moves one
    /// bucket's entries, unless a forked child shares the memory (see `avoid_resizes`).
    #[cold]
    fn rehash_step(&mut self) {
        if resizes_avoided() && !self.rehash_forced() { return; }
        self.rehash_buckets(1);
    }

    /// While resizes are avoided a rehash still runs when its arrays' sizes differ by
    /// `FORCE_RESIZE_RATIO` or more (a table forced to grow while overfull: Redis 7.2's rule).
    fn rehash_forced(&self) -> bool {
        let Some(r) = &self.rehash else { return false };
        let (small, large) = if self.buckets.len() < r.to.len() { (self.buckets.len(), r.to.len()) } else { (r.to.len(), self.buckets.len()) };
        large / small >= FORCE_RESIZE_RATIO
    }

    /// Redis's dictRehash: moves the entries of up to `n` non-empty buckets of the old array
    /// into the new one, visiting at most `EMPTY_VISITS_PER_STEP * n` empty buckets; when the
    /// old array holds no more entries, the new one replaces it. False once no rehash runs.
    fn rehash_buckets(&mut self, n: usize) -> bool {
        let Some(r) = self.rehash.as_deref_mut() else { return false };
        let mut empty_visits = n * EMPTY_VISITS_PER_STEP;
        let mut moved = 0;
        let mask = r.to.len() - 1;
        while moved < n && r.left > 0 {
            let Some(head) = self.buckets[r.next].take() else {
                r.next += 1;
                empty_visits -= 1;
                if empty_visits == 0 { break; }
                continue;
            };
            let mut cur = Some(head);
            while let Some(mut node) = cur {
                cur = node.next_mut().take();
                let s = (hash_bytes(node.key()) as usize) & mask;
                *node.next_mut() = r.to[s].take();
                r.to[s] = Some(node);
                r.left -= 1;
            }
            r.next += 1;
            moved += 1;
        }
        if r.left > 0 { return true; }
        let done = self.rehash.take().expect("a rehash runs");
        free_empty_buckets(std::mem::replace(&mut self.buckets, done.to));
        false
    }

    /// Redis's dictRehashMilliseconds: rehash steps of `STEPS_PER_CLOCK_CHECK` buckets until
    /// the rehash is over or `budget` is spent. True when a rehash was under way (the keyspace
    /// cron's incrementallyRehash then stops there for this run).
    pub fn rehash_for(&mut self, budget: Duration) -> bool {
        if self.rehash.is_none() { return false; }
        let start = Instant::now();
        while self.rehash_buckets(STEPS_PER_CLOCK_CHECK) {
            if start.elapsed() >= budget { break; }
        }
        true
    }

    /// Moves every entry still in the old array: the rehash under way ends now.
    pub fn finish_rehash(&mut self) {
        while self.rehash_buckets(usize::MAX / EMPTY_VISITS_PER_STEP) {}
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

    /// The link that holds `key`'s node (None when absent), after a rehash step when a rehash
    /// runs (every caller changes the table).
    fn link_of(&mut self, key: &[u8]) -> Option<&mut Option<Node<V>>> {
        self.find_link(key).map(|(link, _)| link)
    }

    /// `link_of`, and whether the link is in the old array of a rehash under way.
    fn find_link(&mut self, key: &[u8]) -> Option<(&mut Option<Node<V>>, bool)> {
        if self.len == 0 { return None; }
        if self.rehash.is_some() { self.rehash_step(); }
        let hash = hash_bytes(key);
        let i = bucket_of(hash, self.buckets.len());
        match self.rehash.as_deref_mut() {
            None => link_in_chain(&mut self.buckets[i], key).map(|link| (link, false)),
            Some(r) => {
                if i >= r.next {
                    if let Some(link) = link_in_chain(&mut self.buckets[i], key) { return Some((link, true)); }
                }
                let j = bucket_of(hash, r.to.len());
                link_in_chain(&mut r.to[j], key).map(|link| (link, false))
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
        let (link, in_old) = self.find_link(key)?;
        let mut node = link.take().expect("find_link finds a node");
        *link = node.next_mut().take();
        if in_old { self.rehash.as_deref_mut().expect("a rehash runs").left -= 1; }
        self.len -= 1;
        self.maybe_shrink();
        Some(node)
    }

    fn maybe_shrink(&mut self) {
        // Like Redis: shrink when under 10% full, so a drained big hash gives its memory back.
        let n = self.buckets.len();
        if n > MIN_BUCKETS && self.len * 10 < n && self.rehash.is_none() && !resizes_avoided() {
            self.start_resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    pub fn clear(&mut self) {
        let moving_to = self.rehash.take().map(|r| r.to);
        unlink_all(&mut self.buckets);
        if let Some(mut to) = moving_to { unlink_all(&mut to); }
        self.buckets = Vec::new();
        self.len = 0;
    }

    pub fn iter(&self) -> Iter<'_, V> { Iter { nodes: self.nodes() } }

    /// Every node, in bucket order (the keyspace reads TTLs and clocks this way): the old
    /// array's, then while a rehash runs the new array's.
    pub fn nodes(&self) -> Nodes<'_, V> { self.nodes_in_buckets(0..usize::MAX) }

    /// The entries of the bucket positions in `range` (clamped to `bucket_positions`), in
    /// `iter()`'s order: disjoint ranges let several threads walk one table (the parallel RDB
    /// writer), and together cover both arrays while a rehash runs, each entry once.
    pub fn iter_buckets(&self, range: std::ops::Range<usize>) -> Iter<'_, V> { Iter { nodes: self.nodes_in_buckets(range) } }

    /// The nodes of the bucket positions in `range`, as `iter_buckets`.
    pub fn nodes_in_buckets(&self, range: std::ops::Range<usize>) -> Nodes<'_, V> {
        let clamp = |len: usize, start: usize, end: usize| {
            let end = end.min(len);
            start.min(end)..end
        };
        let old = &self.buckets[clamp(self.buckets.len(), range.start, range.end)];
        let new: &[Option<Node<V>>] = match &self.rehash {
            None => &[],
            Some(r) => {
                let skip = self.buckets.len();
                &r.to[clamp(r.to.len(), range.start.saturating_sub(skip), range.end.saturating_sub(skip))]
            }
        };
        Nodes { buckets: old, then: new, bucket: 0, node: None, prefetch: false }
    }

    /// `nodes_in_buckets` that hints the cache (`crate::prefetch`) ahead of the walk: the first
    /// node of the bucket `PREFETCH_BUCKETS` ahead, and the next node of a chain when a node is
    /// handed out. For long walks over large tables (the RDB writer), where each node is
    /// otherwise a cache miss the walk waits for.
    pub fn nodes_in_buckets_prefetching(&self, range: std::ops::Range<usize>) -> Nodes<'_, V> {
        let mut it = self.nodes_in_buckets(range);
        it.prefetch = true;
        for b in it.buckets.iter().chain(it.then).take(PREFETCH_BUCKETS) {
            if let Some(n) = b { n.prefetch(); }
        }
        it
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> { self.iter().map(|(k, _)| k) }
    pub fn values(&self) -> impl Iterator<Item = &V> { self.iter().map(|(_, v)| v) }

    /// Both bucket arrays mutably: the old one and (empty unless a rehash runs) the new one.
    fn arrays_mut(&mut self) -> (&mut Buckets<V>, Option<&mut Buckets<V>>) {
        (&mut self.buckets, self.rehash.as_deref_mut().map(|r| &mut r.to))
    }

    pub fn for_each_mut(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        let (old, new) = self.arrays_mut();
        for b in old.iter_mut().chain(new.into_iter().flat_map(|t| t.iter_mut())) {
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
        let (old, new) = self.arrays_mut();
        let removed_old = retain_in(old, &mut keep);
        let removed = removed_old + new.map_or(0, |t| retain_in(t, &mut keep));
        if let Some(r) = self.rehash.as_deref_mut() { r.left -= removed_old; }
        self.len -= removed;
        self.maybe_shrink();
    }

    /// A random entry, as Redis's dictGetFairRandomKey picks it: one of up to 15 entries
    /// gathered from consecutive buckets (so an entry in a long chain is not less likely than
    /// one alone in its bucket, as it would be with "random bucket, then random chain node").
    pub fn random(&self) -> Option<(&[u8], &V)> { self.random_node().map(|n| (n.key(), n.val())) }

    /// `random`'s node (its tail too).
    pub fn random_node(&self) -> Option<&Node<V>> {
        if self.len == 0 { return None; }
        let (array, first) = self.pick_array();
        let mut sample: [Option<&Node<V>>; FAIR_SAMPLE] = [None; FAIR_SAMPLE];
        let mut n = 0;
        sample_array(array, first, FAIR_SAMPLE.min(self.len), FAIR_SAMPLE * 10, |node| {
            sample[n] = Some(node);
            n += 1;
            true
        });
        if n == 0 { return Some(random_in_array(array, first)); }
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

    /// Redis's dictGetRandomKey: a random non-empty bucket, then a random node of its chain
    /// (in the array `pick_array` chose while a rehash runs).
    #[cfg(test)]
    fn random_in_random_bucket(&self) -> Option<&Node<V>> {
        if self.len == 0 { return None; }
        let (array, first) = self.pick_array();
        Some(random_in_array(array, first))
    }

    /// The bucket array a random pick or a sample walks, and its first bucket that may hold an
    /// entry: while a rehash runs, the old array (from its first unmoved bucket) or the new one,
    /// chosen in proportion to the entries each holds. Within one array the entries are spread
    /// evenly by the hash, so a pick among that array's buckets is as fair as in a table that is
    /// not rehashing; a walk over both at once (Redis's) would favour the new array's entries,
    /// sparser than the old array's not yet moved.
    #[inline]
    fn pick_array(&self) -> (&[Option<Node<V>>], usize) {
        match &self.rehash {
            None => (&self.buckets[..], 0),
            Some(r) => {
                if (random_u64() % self.len as u64) < r.left as u64 { (&self.buckets[..], r.next) } else { (&r.to[..], 0) }
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
    /// bucket; at most `max_buckets` buckets, and no more than the array has, are visited. While
    /// a rehash runs the walk is in one array, chosen by `pick_array`. Returns how many entries
    /// counted.
    pub fn sample_nodes<'a>(&'a self, count: usize, max_buckets: usize, take: impl FnMut(&'a Node<V>) -> bool) -> usize {
        let count = count.min(self.len);
        if count == 0 { return 0; }
        let (array, first) = self.pick_array();
        sample_array(array, first, count, max_buckets, take)
    }

    /// `scan_nodes_step` seeing keys and values.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], &V)) -> u64 {
        self.scan_nodes_step(cursor, |n| f(n.key(), n.val()))
    }

    /// One SCAN step (Redis's dictScan): visits the bucket at `cursor`, calls `f` for each node
    /// in it, and returns the next cursor (0 when the scan is complete). While a rehash runs,
    /// the smaller array's bucket at `cursor` and every bucket of the larger array that expands
    /// it are visited, so an element present for the whole scan is seen whichever array holds it.
    pub fn scan_nodes_step(&self, cursor: u64, mut f: impl FnMut(&Node<V>)) -> u64 {
        if self.len == 0 { return 0; }
        let Some(r) = &self.rehash else {
            let mask = (self.buckets.len() - 1) as u64;
            walk_chain(self.buckets[(cursor & mask) as usize].as_ref(), &mut f);
            return next_cursor(cursor, mask);
        };
        let (small, large) = if self.buckets.len() <= r.to.len() { (&self.buckets, &r.to) } else { (&r.to, &self.buckets) };
        let (small_mask, large_mask) = ((small.len() - 1) as u64, (large.len() - 1) as u64);
        let mut v = cursor;
        walk_chain(small[(v & small_mask) as usize].as_ref(), &mut f);
        loop {
            walk_chain(large[(v & large_mask) as usize].as_ref(), &mut f);
            v = next_cursor(v, large_mask);
            // Go on while the bits the larger mask adds are not back to zero.
            if v & (small_mask ^ large_mask) == 0 { return v; }
        }
    }

    /// MEMORY USAGE's figure for one entry's share of the table: its node's malloc chunk, which
    /// holds the key (and the 8-byte extra slot when `extra`).
    pub fn entry_bytes(key: &[u8], extra: bool) -> usize {
        chunk_size(node::node_bytes::<V>(key.len(), extra))
    }

    /// The bucket arrays' malloc chunks: both while a rehash runs (Redis's dictSlots counts
    /// both tables too).
    fn all_buckets_bytes(&self) -> usize {
        buckets_bytes(&self.buckets) + self.rehash.as_ref().map_or(0, |r| buckets_bytes(&r.to))
    }

    /// One entry's share of the bucket arrays (their malloc chunks split over the entries).
    pub fn bucket_share(&self) -> usize {
        if self.len == 0 { return 0; }
        self.all_buckets_bytes() / self.len
    }

    /// MEMORY USAGE's estimate of a whole table: the bucket arrays, each entry's node and key,
    /// and what values hold beyond their node (`value_heap`), averaged over the first `samples`
    /// entries as Redis's objectComputeSize does.
    pub fn memory_usage(&self, samples: usize, value_heap: impl Fn(&V) -> usize) -> usize {
        let buckets = self.all_buckets_bytes();
        let mut seen = 0usize;
        let mut bytes = 0usize;
        for n in self.nodes().take(samples.max(1)) {
            bytes += chunk_size(n.alloc_bytes()) + value_heap(n.val());
            seen += 1;
        }
        if seen == 0 { return buckets; }
        buckets + (bytes as f64 / seen as f64 * self.len as f64) as usize
    }

    /// Redis's dictGetStats text (DEBUG HTSTATS, HTSTATS-KEY): the bucket array, then while a
    /// rehash runs the array entries move into ("rehashing target"), each with its chain lengths.
    /// Only the nodes `counted` accepts are counted, over the same buckets: the keyspace keeps
    /// its expire times in its own nodes rather than in a second table, so its expires view is
    /// this table restricted to the keys that have one. Cut to 4095 bytes as Redis's buffer.
    pub fn stats_text(&self, counted: impl Fn(&Node<V>) -> bool) -> String {
        let mut text = array_stats(&self.buckets, 0, &counted);
        if let Some(r) = &self.rehash { text.push_str(&array_stats(&r.to, 1, &counted)); }
        truncate_at_char(&mut text, 4095);
        text
    }

    /// Approximate heap bytes used by the table itself: buckets (both arrays while a rehash
    /// runs) and nodes without their keys' bytes (callers add those) or the values' own heap.
    pub fn table_bytes(&self) -> usize {
        let capacity = self.buckets.capacity() + self.rehash.as_ref().map_or(0, |r| r.to.capacity());
        capacity * std::mem::size_of::<Option<Node<V>>>() + self.len * (node::node_bytes::<V>(0, false) + 8)
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

/// The nodes of a table (or of a range of its bucket positions), in bucket order.
pub struct Nodes<'a, V> {
    buckets: &'a [Option<Node<V>>],
    /// The buckets walked after `buckets` (the new array's, while a rehash runs).
    then: &'a [Option<Node<V>>],
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
            if self.bucket >= self.buckets.len() {
                if self.then.is_empty() { return None; }
                self.buckets = std::mem::take(&mut self.then);
                self.bucket = 0;
                continue;
            }
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
        for i in 0..1024u32 { d.insert(format!("k{i}").as_bytes(), i); }
        d.finish_rehash();
        assert_eq!(d.bucket_count(), 1024);
        avoid_resizes(true);
        // Full, then up to 6 entries per bucket: no growth (Redis: used / size > 5 forces one).
        for i in 1024..(1024 * 6) as u32 { d.insert(format!("k{i}").as_bytes(), i); }
        assert_eq!(d.bucket_count(), 1024);
        assert!(!d.is_rehashing());
        d.insert(b"one-more", 0);
        // Redis's dictExpand(used + 1): the next power of two above 6145 entries.
        assert_eq!(d.bucket_count(), 8192, "more than 5 entries per bucket forces the growth");
        assert!(d.is_rehashing());
        // Nearly emptied: no shrink while avoided; the forced rehash (8x) went on meanwhile.
        for i in 0..(1024 * 6) as u32 { assert!(d.remove(format!("k{i}").as_bytes()).is_some()); }
        assert!(!d.is_rehashing(), "a rehash between arrays 8x apart is not paused");
        assert_eq!(d.bucket_count(), 8192);
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
        assert_eq!(d.iter().count(), 10);
        // The shrink that started at 102 entries moves a bucket per removal; once it is over, the
        // next removal starts the next one (a shrink does not start while one runs).
        d.finish_rehash();
        assert!(d.bucket_count() <= 128);
        assert_eq!(d.remove(b"k990"), Some(990));
        d.finish_rehash();
        assert!(d.bucket_count() <= 16);
        assert_eq!(d.iter().count(), 9);
        for i in 991..1000u32 { assert_eq!(d.get(format!("k{i}").as_bytes()), Some(&i)); }
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
        let n = d.bucket_positions();
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

    /// A table of `keys` (`key:{i}` -> i) whose last insert started a rehash (keys = 2^n + 1),
    /// with `moved` of the old array's buckets moved since.
    fn rehashing(keys: u32, moved: usize) -> Dict<u32> {
        let mut d = Dict::new();
        for i in 0..keys - 1 { d.insert(format!("key:{i}").as_bytes(), i); }
        d.finish_rehash();
        d.insert(format!("key:{}", keys - 1).as_bytes(), keys - 1);
        assert!(d.is_rehashing(), "{keys} keys start a rehash");
        d.rehash_buckets(moved);
        assert!(d.is_rehashing());
        d
    }

    /// Which array holds `key`: 0 the old one, 1 the new one (None when absent).
    fn array_of(d: &Dict<u32>, key: &[u8]) -> Option<usize> {
        let r = d.rehash.as_ref().expect("rehashing");
        let h = hash_bytes(key);
        let i = bucket_of(h, d.buckets.len());
        if i >= r.next && find_in_chain(d.buckets[i].as_ref(), key).is_some() { return Some(0); }
        find_in_chain(r.to[bucket_of(h, r.to.len())].as_ref(), key).map(|_| 1)
    }

    #[test]
    fn expand_sizes_an_empty_table_at_once_and_a_full_one_by_rehash_as_dict_try_expand() {
        let mut d: Dict<u32> = Dict::new();
        assert!(d.expand(5000));
        assert_eq!((d.bucket_count(), d.is_rehashing()), (8192, false));
        assert!(!d.expand(6000), "the same size: nothing to do");
        for i in 0..5000u32 { d.insert(format!("key:{i}").as_bytes(), i); }
        assert_eq!((d.bucket_count(), d.is_rehashing()), (8192, false), "no growth on the way");
        assert!(!d.expand(4999), "fewer than its entries");
        assert!(d.expand(10_000));
        assert_eq!((d.bucket_count(), d.is_rehashing()), (16384, true), "entries move incrementally");
        assert!(!d.expand(40_000), "not while rehashing");
        d.finish_rehash();
        assert!(!d.expand(usize::MAX), "no power of two holds it");
        assert!(!d.expand(1 << 50), "the allocator refuses 8 PiB: false, not an abort");
        assert_eq!((d.len(), d.get(b"key:4999")), (5000, Some(&4999)));
    }

    #[test]
    fn a_rehash_moves_a_bucket_per_change_and_lookups_see_both_arrays() {
        let mut d = rehashing(4097, 0);
        assert_eq!((d.buckets.len(), d.bucket_count(), d.bucket_positions()), (4096, 8192, 4096 + 8192));
        // Every change moves one non-empty bucket (after at most 10 empty ones).
        let next = |d: &Dict<u32>| d.rehash.as_ref().map_or(usize::MAX, |r| r.next);
        let before = next(&d);
        d.try_insert_copy(b"new:0", 0).unwrap();
        assert!(next(&d) > before && next(&d) <= before + EMPTY_VISITS_PER_STEP + 1);
        let in_both = |d: &Dict<u32>| (0..4097u32).map(|i| array_of(d, format!("key:{i}").as_bytes()).unwrap()).fold([0, 0], |mut c, a| { c[a] += 1; c });
        d.rehash_buckets(1500);
        let [old, new] = in_both(&d);
        assert!(old > 500 && new > 500, "entries in both arrays: {old} old, {new} new");
        // Lookups reach either array; so do changes in place and removals, each of which moves
        // a bucket too (600 keys and 200 removals: fewer than the buckets left to move).
        for i in 0..4097u32 { assert_eq!(d.get(format!("key:{i}").as_bytes()), Some(&i)); }
        for i in 0..600u32 {
            let k = format!("key:{i}");
            if i % 3 == 0 { *d.get_mut(k.as_bytes()).unwrap() += 10_000; }
            if i % 3 == 1 { assert_eq!(d.set_extra(k.as_bytes(), Some(u64::from(i))), Some(None)); }
        }
        assert!(d.try_insert_copy(b"key:7", 0).is_err(), "a key of either array is found before an insert");
        for i in (0..1400u32).step_by(7) { assert!(d.remove(format!("key:{i}").as_bytes()).is_some()); }
        assert!(d.remove(b"key:0").is_none());
        assert!(d.is_rehashing());
        let expected: Vec<u32> = (0..4097u32).filter(|&i| i >= 1400 || i % 7 != 0).collect();
        for &i in &expected {
            let n = d.get_node(format!("key:{i}").as_bytes()).unwrap();
            let (bumped, timed) = (i < 600 && i % 3 == 0, i < 600 && i % 3 == 1);
            assert_eq!((*n.val(), n.extra()), (if bumped { i + 10_000 } else { i }, timed.then_some(u64::from(i))));
        }
        let r = d.rehash.as_ref().unwrap();
        let in_old = (0..4097u32).filter(|&i| array_of(&d, format!("key:{i}").as_bytes()) == Some(0)).count();
        assert_eq!(r.left, in_old, "the old array's count follows moves and removals");
        assert_eq!(d.len(), expected.len() + 1);
        assert_eq!(d.iter().count(), d.len());
        // Changes alone finish the rehash, and the old array is gone.
        let mut changes = 0;
        while d.is_rehashing() { d.insert(format!("more:{changes}").as_bytes(), 0); changes += 1; }
        assert!(changes < 4096, "{changes} changes to move 4096 buckets");
        assert_eq!(d.bucket_positions(), 8192);
        for &i in &expected { assert!(d.contains_key(format!("key:{i}").as_bytes())); }
    }

    #[test]
    fn scan_during_a_rehash_visits_every_element_present_for_the_whole_scan() {
        // Growth: the scan starts before the table fills up and goes on while it rehashes;
        // shrink: most entries go, and the scan goes on while the table shrinks.
        for shrink in [false, true] {
            let mut d = Dict::new();
            let start = if shrink { 1000 } else { 4096 };
            for i in 0..start { d.insert(format!("stay:{i}").as_bytes(), i); }
            if shrink { for i in 0..15_000u32 { d.insert(format!("go:{i}").as_bytes(), i); } }
            d.finish_rehash();
            let mut seen = std::collections::HashSet::new();
            let (mut cursor, mut steps, mut rehashing_steps) = (0u64, 0u32, 0u32);
            loop {
                cursor = d.scan_step(cursor, |k, _| { seen.insert(k.to_vec()); });
                steps += 1;
                if d.is_rehashing() { rehashing_steps += 1; }
                if cursor == 0 { break; }
                // A few changes between steps, each moving a bucket.
                for j in 0..3 {
                    let n = steps * 3 + j;
                    if shrink {
                        if n == 300 { for i in 0..15_000u32 { d.remove(format!("go:{i}").as_bytes()); } }
                        d.insert(format!("new:{n}").as_bytes(), n);
                        d.remove(format!("new:{n}").as_bytes());
                    } else {
                        d.insert(format!("new:{n}").as_bytes(), n);
                    }
                }
            }
            assert!(rehashing_steps > 100, "shrink {shrink}: only {rehashing_steps} of {steps} steps ran during a rehash");
            for i in 0..start { assert!(seen.contains(format!("stay:{i}").as_bytes()), "shrink {shrink}: missed stay:{i}"); }
        }
    }

    #[test]
    fn iteration_and_save_ranges_see_each_node_once_during_a_rehash() {
        let mut d = rehashing(8193, 2000);
        let all: Vec<u32> = { let mut v: Vec<u32> = d.values().copied().collect(); v.sort_unstable(); v };
        assert_eq!(all, (0..8193).collect::<Vec<_>>());
        // The parallel writer's units: disjoint ranges of positions over both arrays.
        let n = d.bucket_positions();
        for unit in [1, 100, 1024, 5000] {
            let mut seen: Vec<u32> = (0..n).step_by(unit).flat_map(|s| d.nodes_in_buckets_prefetching(s..s + unit).map(|n| *n.val())).collect();
            seen.sort_unstable();
            assert_eq!(seen, all, "units of {unit}");
        }
        let plain: Vec<u32> = d.nodes().map(|n| *n.val()).collect();
        let hinted: Vec<u32> = d.nodes_in_buckets_prefetching(0..usize::MAX).map(|n| *n.val()).collect();
        assert_eq!(plain, hinted);
        // for_each_mut and retain reach both arrays.
        d.for_each_mut(|_, v| *v += 1);
        assert!(d.values().all(|&v| v >= 1));
        d.retain(|_, v| *v % 2 == 0);
        assert_eq!(d.len(), 4096);
        assert!(d.iter().all(|(k, v)| v % 2 == 0 && d.get(k) == Some(v)));
        let copy = d.clone();
        assert!(!copy.is_rehashing());
        assert_eq!(copy.len(), d.len());
        assert!(d.iter().all(|(k, v)| copy.get(k) == Some(v)));
    }

    #[test]
    fn random_and_sampling_draw_from_both_arrays_during_a_rehash() {
        let d = rehashing(4097, 1024);
        let [old, new] = (0..4097u32).map(|i| array_of(&d, format!("key:{i}").as_bytes()).unwrap()).fold([0usize, 0], |mut c, a| { c[a] += 1; c });
        let share_new = new as f64 / (old + new) as f64;
        for (name, pick) in [("random", 0), ("random bucket", 1)] {
            let mut from = [0usize; 2];
            for _ in 0..20_000 {
                let n = if pick == 0 { d.random_node() } else { d.random_in_random_bucket() }.unwrap();
                assert_eq!(d.get(n.key()), Some(n.val()));
                from[array_of(&d, n.key()).unwrap()] += 1;
            }
            let got = from[1] as f64 / 20_000.0;
            assert!((got - share_new).abs() < 0.05, "{name}: {got:.3} of picks from the new array, which holds {share_new:.3}");
        }
        // Samples of entries of either array, over time covering the whole (small) table. Tables
        // of up to REHASH_AT_ONCE_MAX entries move at once, so this one's rehash is started by hand.
        let mut d = Dict::new();
        for i in 0..65u32 { d.insert(format!("key:{i}").as_bytes(), i); }
        d.rehash = Some(Box::new(Rehash { to: empty_buckets(256), next: 0, left: d.len }));
        d.rehash_buckets(8);
        assert!(d.is_rehashing());
        let mut covered = std::collections::HashSet::new();
        for _ in 0..3000 {
            let mut got = Vec::new();
            // A walk allowed past the array's size covers it: something is found.
            assert!(d.sample(5, 500, |k, _| { got.push(k.to_vec()); true }) > 0);
            assert!(got.iter().all(|k| d.contains_key(k)));
            covered.extend(got);
        }
        assert_eq!(covered.len(), 65);
    }

    #[test]
    fn a_rehash_pauses_while_resizes_are_avoided_and_memory_counts_both_arrays() {
        let mut d = rehashing(4097, 100);
        let next = d.rehash.as_ref().unwrap().next;
        avoid_resizes(true);
        for i in 0..1000u32 { d.insert(format!("during:{i}").as_bytes(), i); d.remove(format!("key:{i}").as_bytes()); }
        assert_eq!(d.rehash.as_ref().unwrap().next, next, "no bucket moved while a child shares the memory");
        assert!(d.rehash_for(Duration::from_secs(1)), "the cron's own call is the caller's to skip");
        assert!(!d.is_rehashing());
        avoid_resizes(false);
        let mut d = rehashing(4097, 100);
        let old_array = buckets_bytes(&d.buckets);
        assert_eq!(d.all_buckets_bytes(), old_array + buckets_bytes(&d.rehash.as_ref().unwrap().to));
        let with_old = (d.memory_usage(4097, |_| 0), d.table_bytes(), d.bucket_share());
        d.finish_rehash();
        assert_eq!(d.memory_usage(4097, |_| 0), with_old.0 - old_array);
        assert_eq!(d.table_bytes(), with_old.1 - 4096 * 8);
        assert!(d.bucket_share() < with_old.2);
    }
}
