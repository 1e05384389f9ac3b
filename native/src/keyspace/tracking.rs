//! Client-side caching's server half, as Redis 7.0's tracking.c keeps it: which clients may
//! hold which keys (the tracking table, filled by the reads of clients in default mode), and
//! the keys modified under a prefix some client in BCAST mode follows. Like Redis's table it is
//! keyed by the key name alone, whatever the database, and a client that stops tracking leaves
//! its ids behind (they are dropped lazily, when the key is invalidated).
//!
//! It lives next to the keyspace because invalidation happens where a key is modified
//! (`Keyspace::signal_modified`, expiry included) and where databases are flushed. What the
//! clients are told is TypeScript's business (src/tracking.ts): the table only queues, in
//! order, each invalidated key with the ids that were recorded for it, and each flush, with
//! the sequence number of the keyspace event that would come next (notify.rs): Redis writes a
//! key's invalidation and its events to the clients as they happen, so TypeScript sends the
//! two streams merged in that order.

use crate::dict::Dict;

/// What one entry of the invalidation queue invalidates.
pub enum Invalidated {
    /// The key was modified (or evicted from the table): these clients may hold it.
    Key(Box<[u8]>, Vec<u64>),
    /// FLUSHALL / FLUSHDB: every key of every tracking client is invalid.
    Flush,
}

/// One entry of the invalidation queue: what, and the sequence number of the keyspace event
/// recorded next (the events before it happened before it).
pub struct Invalidation {
    pub what: Invalidated,
    pub seq: u64,
}

#[derive(Default)]
pub struct TrackingTable {
    /// Key -> ids of the clients that read it, in the order they did.
    keys: Dict<Vec<u64>>,
    /// Ids stored across the whole table (INFO tracking_total_items).
    total_items: u64,
    /// Some client tracks: invalidations are queued for TypeScript (else only the table shrinks).
    active: bool,
    queue: Vec<Invalidation>,
    /// Every prefix a BCAST client follows ("" for all keys).
    prefixes: Vec<Box<[u8]>>,
    /// Modified keys under those prefixes since the last take, with who modified each last.
    broadcast: Vec<(Box<[u8]>, u64)>,
    /// The client whose command is running (0: none, as during the expire cycle or when a
    /// script's own client writes): BCAST's NOLOOP judges keys by it.
    pub modifier: u64,
    /// Rounds of trackingLimitUsedSlots that ended still over the limit (its effort grows).
    limit_rounds: u32,
}

impl TrackingTable {
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.keys.is_empty() && self.prefixes.is_empty()
    }

    pub fn total_keys(&self) -> usize {
        self.keys.len()
    }

    pub fn total_items(&self) -> u64 {
        self.total_items
    }

    /// trackingRememberKeys: `client` may now cache `key`.
    pub fn remember(&mut self, client: u64, key: &[u8]) {
        let ids = self.keys.entry_or_insert_with(key, Vec::new);
        if !ids.contains(&client) {
            ids.push(client);
            self.total_items += 1;
        }
    }

    /// trackingInvalidateKey: `key` changed (`bcast`: and BCAST followers should hear of it,
    /// which is not the case when the table merely evicts it). `modifier` is who changed it,
    /// `seq` the sequence number of the next keyspace event.
    pub fn invalidate(&mut self, key: &[u8], modifier: u64, bcast: bool, seq: u64) {
        if bcast && !self.prefixes.is_empty() && self.prefixes.iter().any(|p| key.starts_with(p)) {
            self.broadcast.push((key.into(), modifier));
        }
        if self.keys.is_empty() { return; }
        let Some(ids) = self.keys.remove(key) else { return };
        self.total_items -= ids.len() as u64;
        if self.active { self.queue.push(Invalidation { what: Invalidated::Key(key.into(), ids), seq }); }
    }

    /// trackingInvalidateKeysOnFlush: one "everything" message per tracking client, and the
    /// table is emptied.
    pub fn flush(&mut self, seq: u64) {
        if self.active { self.queue.push(Invalidation { what: Invalidated::Flush, seq }); }
        self.keys = Dict::new();
        self.total_items = 0;
    }

    /// trackingLimitUsedSlots: while the table holds more than `max_keys` keys, invalidate
    /// random ones, with an effort that grows each call the limit is still not met (`seq`: the
    /// next keyspace event's sequence number).
    pub fn limit_keys(&mut self, max_keys: usize, seq: u64) {
        if max_keys == 0 || self.keys.len() <= max_keys {
            self.limit_rounds = 0;
            return;
        }
        let mut effort = 100 * (self.limit_rounds as u64 + 1);
        while effort > 0 {
            effort -= 1;
            let Some(key) = self.keys.random().map(|(k, _)| Box::<[u8]>::from(k)) else { break };
            self.invalidate(&key, 0, false, seq);
            if self.keys.len() <= max_keys {
                self.limit_rounds = 0;
                return;
            }
        }
        self.limit_rounds += 1;
    }

    /// Whether some client tracks; when none does, nothing queued so far can reach anybody.
    pub fn set_active(&mut self, on: bool) {
        self.active = on;
        if !on {
            self.queue.clear();
            self.broadcast.clear();
        }
    }

    pub fn set_prefixes(&mut self, prefixes: Vec<Box<[u8]>>) {
        self.prefixes = prefixes;
        if self.prefixes.is_empty() { self.broadcast.clear(); }
    }

    pub fn take_queue(&mut self) -> Vec<Invalidation> {
        std::mem::take(&mut self.queue)
    }

    pub fn take_broadcast(&mut self) -> Vec<(Box<[u8]>, u64)> {
        std::mem::take(&mut self.broadcast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active_table() -> TrackingTable {
        let mut t = TrackingTable::default();
        t.set_active(true);
        t
    }

    #[test]
    fn invalidation_takes_the_ids_and_counts() {
        let mut t = active_table();
        t.remember(1, b"a");
        t.remember(2, b"a");
        t.remember(1, b"a");
        t.remember(1, b"b");
        assert_eq!((t.total_keys(), t.total_items()), (2, 3));
        t.invalidate(b"a", 0, true, 7);
        assert_eq!((t.total_keys(), t.total_items()), (1, 1));
        match &t.take_queue()[..] {
            [Invalidation { what: Invalidated::Key(k, ids), seq: 7 }] => assert_eq!((&**k, &ids[..]), (&b"a"[..], &[1u64, 2][..])),
            _ => panic!("one key invalidation expected"),
        }
    }

    #[test]
    fn inactive_tables_shrink_without_queueing() {
        let mut t = TrackingTable::default();
        t.remember(1, b"a");
        t.invalidate(b"a", 0, true, 0);
        assert_eq!(t.total_keys(), 0);
        assert!(t.take_queue().is_empty());
    }

    #[test]
    fn the_limit_evicts_until_met() {
        let mut t = active_table();
        for i in 0..50u32 { t.remember(7, &i.to_be_bytes()); }
        t.limit_keys(10, 0);
        assert_eq!(t.total_keys(), 10);
        assert_eq!(t.take_queue().len(), 40);
    }

    #[test]
    fn broadcast_records_keys_under_followed_prefixes() {
        let mut t = TrackingTable::default();
        t.set_prefixes(vec![b"user:".to_vec().into()]);
        t.invalidate(b"user:1", 5, true, 0);
        t.invalidate(b"other", 5, true, 0);
        t.invalidate(b"user:2", 5, false, 0);
        let b = t.take_broadcast();
        assert_eq!(b.len(), 1);
        assert_eq!(&*b[0].0, b"user:1");
    }
}
