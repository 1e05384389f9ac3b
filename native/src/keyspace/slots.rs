//! Cluster mode's index of db 0 by hash slot (Redis's slots_to_keys): how many keys each slot
//! holds, and which. It exists only while cluster mode is on (`Keyspace::slots` is None
//! otherwise, one predictable branch per insert or removal), so a standalone server's keys
//! cost nothing more.
//!
//! Redis links each slot's entries through 16 bytes of dictEntry metadata. keyfork's nodes move
//! when they gain or lose their TTL slot, so links into them would need fixing up; instead a
//! slot keeps the set of its keys' table hashes (`Dict::hash_of`, 8 bytes per key plus the set's
//! control byte), and the keys are found again by walking the table bucket of each hash.
//! Two keys of one slot with the same 64-bit hash share an element: removing one keeps the
//! element while the table still holds a key of that slot with that hash.

use crate::dict::{hash_bytes, Dict};
use std::collections::HashSet;
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

/// The set's hasher: its elements are already table hashes (mixed 64-bit values).
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 { self.0 }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes { self.0 = self.0.rotate_left(8) ^ u64::from(b); }
    }
    fn write_u64(&mut self, v: u64) { self.0 = v; }
}

type HashesOf = HashSet<u64, BuildHasherDefault<PassThrough>>;

pub struct SlotIndex {
    counts: Vec<u64>,
    hashes: Vec<HashesOf>,
}

impl Default for SlotIndex {
    fn default() -> Self { Self::new() }
}

impl SlotIndex {
    pub fn new() -> Self {
        let mut hashes = Vec::with_capacity(CLUSTER_SLOTS);
        hashes.resize_with(CLUSTER_SLOTS, HashesOf::default);
        SlotIndex { counts: vec![0; CLUSTER_SLOTS], hashes }
    }

    /// The index of the keys `table` holds now.
    pub fn of<V>(table: &Dict<V>) -> Self {
        let mut ix = Self::new();
        for (key, _) in table.iter() { ix.added(key); }
        ix
    }

    /// `key` was linked into the table.
    #[inline]
    pub fn added(&mut self, key: &[u8]) {
        let slot = key_hash_slot(key);
        self.counts[slot] += 1;
        self.hashes[slot].insert(hash_bytes(key));
    }

    /// `key` was unlinked from `table` (which no longer holds it).
    #[inline]
    pub fn removed<V>(&mut self, key: &[u8], table: &Dict<V>) {
        let slot = key_hash_slot(key);
        self.counts[slot] -= 1;
        let hash = hash_bytes(key);
        let mut twin = false;
        table.for_each_hashed(hash, |n| twin |= key_hash_slot(n.key()) == slot);
        if !twin { self.hashes[slot].remove(&hash); }
    }

    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        for set in &mut self.hashes { *set = HashesOf::default(); }
    }

    /// countKeysInSlot.
    pub fn count(&self, slot: usize) -> u64 { self.counts[slot] }

    /// Up to `max` keys of `slot` (getKeysInSlot), found through their hashes in `table`.
    pub fn keys<V>(&self, table: &Dict<V>, slot: usize, max: usize) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        for &hash in &self.hashes[slot] {
            if out.len() >= max { break; }
            table.for_each_hashed(hash, |n| {
                if out.len() < max && key_hash_slot(n.key()) == slot { out.push(Box::from(n.key())); }
            });
        }
        out
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
        assert!(ix.hashes[slot].is_empty());
        let rebuilt = SlotIndex::of(&table);
        assert_eq!(rebuilt.counts, ix.counts);
    }
}
