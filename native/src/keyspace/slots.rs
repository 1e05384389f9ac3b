//! Cluster mode's index of db 0 by hash slot (Redis's slots_to_keys): how many keys each slot
//! holds, and which, newest first. It exists only while cluster mode is on (`Keyspace::slots`
//! is None otherwise, one predictable branch per insert or removal), so a standalone server's
//! keys cost nothing more.
//!
//! Redis links each slot's entries, newest at the head, through 16 bytes of dictEntry metadata;
//! CLUSTER GETKEYSINSLOT and delKeysInSlot walk that list, so their order is newest first, an
//! overwritten value keeps its key's place, and a key deleted and added again goes to the head.
//! keyfork's nodes move when they gain or lose their TTL slot, so links into them would need
//! fixing up; instead each slot keeps the same doubly linked list over entries of a side arena
//! (`Link`: the key's table hash and its neighbours), with a map from table hash to its entry,
//! and a key is found again by walking the table bucket of its hash.
//! Two keys of one slot with the same 64-bit hash share an entry: adding the second moves the
//! entry to the head, and removing one keeps it while the table still holds a key of that slot
//! with that hash.

use crate::dict::{hash_bytes, Dict};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub const CLUSTER_SLOTS: usize = 16384;

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the one Redis Cluster hashes keys with.
const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16: [u16; 256] = crc16_table();

pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| (crc << 8) ^ CRC16[((crc >> 8) as u8 ^ b) as usize])
}

/// keyHashSlot: the CRC16 of the key, or of its hash tag (the bytes between the first `{` and
/// the next `}` when there are some), modulo 16384.
pub fn key_hash_slot(key: &[u8]) -> usize {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 { return (crc16(&key[open + 1..open + 1 + len]) & 0x3FFF) as usize; }
        }
    }
    (crc16(key) & 0x3FFF) as usize
}

/// The maps' hasher: their keys are already table hashes (mixed 64-bit values).
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 { self.0 }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes { self.0 = self.0.rotate_left(8) ^ u64::from(b); }
    }
    fn write_u64(&mut self, v: u64) { self.0 = v; }
}

type LinkOf = HashMap<u64, u32, BuildHasherDefault<PassThrough>>;

/// No entry (an end of a list, or the end of the free list).
const NIL: u32 = u32::MAX;

/// One slot-list entry: a table hash and its neighbours (`prev` toward the head).
#[derive(Clone, Copy)]
struct Link {
    hash: u64,
    prev: u32,
    next: u32,
}

pub struct SlotIndex {
    counts: Vec<u64>,
    /// Each slot's newest entry.
    heads: Vec<u32>,
    /// Each slot's entries by table hash.
    at: Vec<LinkOf>,
    links: Vec<Link>,
    /// Freed entries, chained through `next`.
    free: u32,
}

impl Default for SlotIndex {
    fn default() -> Self { Self::new() }
}

impl SlotIndex {
    pub fn new() -> Self {
        let mut at = Vec::with_capacity(CLUSTER_SLOTS);
        at.resize_with(CLUSTER_SLOTS, LinkOf::default);
        SlotIndex { counts: vec![0; CLUSTER_SLOTS], heads: vec![NIL; CLUSTER_SLOTS], at, links: Vec::new(), free: NIL }
    }

    /// The index of the keys `table` holds now, added in the table's order (the last one
    /// visited comes first).
    pub fn of<V>(table: &Dict<V>) -> Self {
        let mut ix = Self::new();
        for (key, _) in table.iter() { ix.added(key); }
        ix
    }

    /// `key` was linked into the table: it goes to the head of its slot's list.
    #[inline]
    pub fn added(&mut self, key: &[u8]) {
        let slot = key_hash_slot(key);
        self.counts[slot] += 1;
        let hash = hash_bytes(key);
        let i = match self.at[slot].get(&hash) {
            Some(&i) => {
                // A second key with this hash: the shared entry becomes the newest.
                if self.heads[slot] == i { return; }
                self.unlink(slot, i);
                i
            }
            None => {
                let i = self.alloc(hash);
                self.at[slot].insert(hash, i);
                i
            }
        };
        self.push_head(slot, i);
    }

    /// `key` was unlinked from `table` (which no longer holds it).
    #[inline]
    pub fn removed<V>(&mut self, key: &[u8], table: &Dict<V>) {
        let slot = key_hash_slot(key);
        self.counts[slot] -= 1;
        let hash = hash_bytes(key);
        let mut twin = false;
        table.for_each_hashed(hash, |n| twin |= key_hash_slot(n.key()) == slot);
        if twin { return; }
        if let Some(i) = self.at[slot].remove(&hash) {
            self.unlink(slot, i);
            self.links[i as usize].next = self.free;
            self.free = i;
        }
    }

    pub fn clear(&mut self) { *self = Self::new(); }

    /// countKeysInSlot.
    pub fn count(&self, slot: usize) -> u64 { self.counts[slot] }

    /// Up to `max` keys of `slot`, newest first (getKeysInSlot), found through their hashes in
    /// `table`.
    pub fn keys<V>(&self, table: &Dict<V>, slot: usize, max: usize) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        let mut i = self.heads[slot];
        while i != NIL && out.len() < max {
            let link = self.links[i as usize];
            table.for_each_hashed(link.hash, |n| {
                if out.len() < max && key_hash_slot(n.key()) == slot { out.push(Box::from(n.key())); }
            });
            i = link.next;
        }
        out
    }

    fn alloc(&mut self, hash: u64) -> u32 {
        let link = Link { hash, prev: NIL, next: NIL };
        if self.free != NIL {
            let i = self.free;
            self.free = self.links[i as usize].next;
            self.links[i as usize] = link;
            return i;
        }
        // u32 entries: 4 billion keys in one node is past what a keyspace of this kind holds.
        let i = u32::try_from(self.links.len()).ok().filter(|&i| i != NIL).expect("slot index full");
        self.links.push(link);
        i
    }

    fn push_head(&mut self, slot: usize, i: u32) {
        let first = self.heads[slot];
        self.links[i as usize].prev = NIL;
        self.links[i as usize].next = first;
        if first != NIL { self.links[first as usize].prev = i; }
        self.heads[slot] = i;
    }

    fn unlink(&mut self, slot: usize, i: u32) {
        let Link { prev, next, .. } = self.links[i as usize];
        if prev != NIL { self.links[prev as usize].next = next; } else { self.heads[slot] = next; }
        if next != NIL { self.links[next as usize].prev = prev; }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_redis_cluster_slots() {
        // Values from Redis Cluster's specification and redis-cli's CLUSTER KEYSLOT.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"bar"), 5061);
        assert_eq!(key_hash_slot(b"{user1000}.following"), key_hash_slot(b"user1000"));
        assert_eq!(key_hash_slot(b"foo{}{bar}"), key_hash_slot(b"foo{}{bar}"));
        assert_ne!(key_hash_slot(b"foo{}{bar}"), key_hash_slot(b"bar"));
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), key_hash_slot(b"{bar"));
        assert_eq!(key_hash_slot(b""), 0);
    }

    #[test]
    fn counts_and_keys_follow_inserts_and_removals() {
        let mut table: Dict<u32> = Dict::new();
        let mut ix = SlotIndex::new();
        let keys: Vec<Vec<u8>> = (0..5000).map(|i| format!("{{tag{}}}:{i}", i % 7).into_bytes()).collect();
        for k in &keys {
            table.insert_new_copy(k, 1);
            ix.added(k);
        }
        let slot = key_hash_slot(b"tag3");
        let expected = keys.iter().filter(|k| key_hash_slot(k) == slot).count();
        assert_eq!(ix.count(slot) as usize, expected);
        let mut got = ix.keys(&table, slot, usize::MAX);
        assert_eq!(got.len(), expected);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), expected);
        assert_eq!(ix.keys(&table, slot, 10).len(), 10);
        for k in keys.iter().filter(|k| key_hash_slot(k) == slot) {
            table.remove(k);
            ix.removed(k, &table);
        }
        assert_eq!((ix.count(slot), ix.keys(&table, slot, 100).len()), (0, 0));
        assert!(ix.at[slot].is_empty());
        assert_eq!(ix.heads[slot], NIL);
        let rebuilt = SlotIndex::of(&table);
        assert_eq!(rebuilt.counts, ix.counts);
    }

    fn put(table: &mut Dict<u32>, ix: &mut SlotIndex, k: &[u8]) {
        table.insert_new_copy(k, 1);
        ix.added(k);
    }

    fn del(table: &mut Dict<u32>, ix: &mut SlotIndex, k: &[u8]) {
        table.remove(k);
        ix.removed(k, table);
    }

    fn names(keys: Vec<Box<[u8]>>) -> Vec<String> { keys.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect() }

    #[test]
    fn keys_come_newest_first_as_redis_lists_them() {
        let mut table: Dict<u32> = Dict::new();
        let mut ix = SlotIndex::new();
        let slot = key_hash_slot(b"t");
        for k in ["{t}a", "{t}b", "{t}c", "{t}d"] { put(&mut table, &mut ix, k.as_bytes()); }
        assert_eq!(names(ix.keys(&table, slot, 10)), ["{t}d", "{t}c", "{t}b", "{t}a"]);
        assert_eq!(names(ix.keys(&table, slot, 2)), ["{t}d", "{t}c"]);
        // Removing from the middle, the head and the tail keeps the others' order.
        del(&mut table, &mut ix, b"{t}b");
        assert_eq!(names(ix.keys(&table, slot, 10)), ["{t}d", "{t}c", "{t}a"]);
        del(&mut table, &mut ix, b"{t}d");
        del(&mut table, &mut ix, b"{t}a");
        assert_eq!(names(ix.keys(&table, slot, 10)), ["{t}c"]);
        // A key deleted and added again is the newest; freed entries are reused.
        put(&mut table, &mut ix, b"{t}a");
        put(&mut table, &mut ix, b"{t}b");
        put(&mut table, &mut ix, b"{t}c2");
        del(&mut table, &mut ix, b"{t}c");
        put(&mut table, &mut ix, b"{t}c");
        assert_eq!(names(ix.keys(&table, slot, 10)), ["{t}c", "{t}c2", "{t}b", "{t}a"]);
        assert_eq!(ix.links.len(), 4);
        assert_eq!(ix.count(slot), 4);
        // Another slot's list is its own.
        put(&mut table, &mut ix, b"{u}x");
        assert_eq!(names(ix.keys(&table, key_hash_slot(b"u"), 10)), ["{u}x"]);
        assert_eq!(names(ix.keys(&table, slot, 10)), ["{t}c", "{t}c2", "{t}b", "{t}a"]);
        // The table order rebuild adds each key once.
        let rebuilt = SlotIndex::of(&table);
        assert_eq!(rebuilt.counts, ix.counts);
        let mut got = names(rebuilt.keys(&table, slot, 10));
        got.sort();
        assert_eq!(got, ["{t}a", "{t}b", "{t}c", "{t}c2"]);
    }
}
