//! The keyspace: N databases of key -> entry, millisecond expiry (lazy on access, plus an
//! active cycle driven by the server cron), change counting (dirty) and the log of modified
//! keys that WATCH and blocked clients need (kept only while someone listens).

use crate::dict::{Dict, Node};
use crate::propagate::{Propagator, TARGET_ALL};
use crate::types::Value;

pub mod evict;
pub mod expire;
pub mod rehash;
pub mod slots;
pub mod lru;
pub mod tracking;
pub mod watch;

pub use lru::{lru_clock_now, lru_idle_seconds, AccessClock, LRU_CLOCK_MAX};
use tracking::TrackingTable;
use watch::{Replacement, WatchTable};
pub mod notify;

pub const NO_EXPIRE: i64 = -1;

/// What a SET does to the key's TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlChange {
    /// Plain SET: the new value has none.
    Drop,
    /// SET ... KEEPTTL.
    Keep,
    /// SET ... EX/PX/EXAT/PXAT: this absolute time in milliseconds.
    Set(i64),
}

/// Which deletions free their values in the background (the lazyfree-lazy-* settings).
#[derive(Clone, Copy, Default)]
pub struct LazyFree {
    /// DEL (UNLINK always does), GETDEL.
    pub user_del: bool,
    /// FLUSHALL / FLUSHDB without SYNC or ASYNC.
    pub user_flush: bool,
    /// Deletions the server makes on its own: overwritten values, emptied destinations.
    pub server_del: bool,
    /// Expired keys.
    pub expire: bool,
}

/// Frees a removed entry's value, in the background when `lazy` and the value is big.
pub fn dispose(entry: Entry, lazy: bool) {
    if lazy { crate::lazyfree::free_value(entry.into_parts().0.value) }
}

/// What a key's table node holds as its value (Redis's robj): the node itself adds the key,
/// the access clock (its tag) and the expire time (its extra slot, present only on keys with
/// a TTL), so a key without a TTL costs one 64-byte malloc chunk when its name is 16 bytes or
/// shorter.
pub struct Stored {
    pub value: Value,
}

/// A key's entry: its table node (`e.value` reaches the value through the node).
pub type Entry = Node<Stored>;

/// One database's table of keys.
pub type Table = Dict<Stored>;

impl Node<Stored> {
    /// A detached entry (to be linked with `Keyspace::insert_entry`).
    pub fn detached(key: &[u8], value: Value, expire_at: i64, lru: u32) -> Entry {
        Node::new(key, Stored { value }, lru, ttl_slot(expire_at))
    }

    /// Absolute unix time in milliseconds, or NO_EXPIRE.
    #[inline]
    pub fn expire_at(&self) -> i64 { self.extra().map_or(NO_EXPIRE, |t| t as i64) }

    #[inline]
    pub fn has_expire(&self) -> bool { self.extra().is_some() }

    /// True when the entry carries a TTL that has passed (walks that must skip without
    /// deleting, as KEYS, use it directly).
    #[inline]
    pub fn is_expired(&self, now_ms: i64) -> bool { self.extra().is_some_and(|t| t as i64 <= now_ms) }

    /// The access clock (24 bits like Redis's): LRU seconds or LFU minutes + counter (see lru.rs).
    #[inline]
    pub fn lru(&self) -> u32 { self.tag() }
}

/// The node's extra slot for an expire time (none for NO_EXPIRE).
#[inline]
fn ttl_slot(expire_at: i64) -> Option<u64> { (expire_at != NO_EXPIRE).then_some(expire_at as u64) }

#[derive(Default)]
pub struct Db {
    pub dict: Table,
    /// How many keys have an expire (INFO keyspace `expires=`).
    pub expires: usize,
    /// Running estimate of the average TTL, as Redis keeps it from the active expire samples.
    pub avg_ttl: i64,
    pub expire_cursor: u64,
}

#[derive(Default)]
pub struct Stats {
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
}

/// The longest duration (ms) of each latency-monitor event the keyspace measures, since the
/// server last took them (`take`): the cron feeds them to LATENCY's events of the same names.
#[derive(Default, Clone, Copy)]
pub struct LatencyPeaks {
    /// eviction-cycle: one performEvictions call.
    pub eviction_cycle_ms: u64,
    /// eviction-del: one evicted key's deletion.
    pub eviction_del_ms: u64,
    /// eviction-lazyfree: waiting for the lazy free thread when nothing is left to evict.
    pub eviction_lazyfree_ms: u64,
    /// expire-del: one expired key's deletion (active cycle or a lookup's lazy expiry).
    pub expire_del_ms: u64,
}

impl LatencyPeaks {
    /// Keeps `started.elapsed()` in `slot` when it is the longest yet.
    pub fn note(slot: &mut u64, started: std::time::Instant) {
        let ms = started.elapsed().as_millis() as u64;
        if ms > *slot { *slot = ms; }
    }

    pub fn take(&mut self) -> LatencyPeaks {
        std::mem::take(self)
    }
}

/// Who decides that a key whose TTL has passed is gone (Redis's expireIfNeeded on a replica).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A master: an expired key is deleted when touched (and by the active cycle).
    Delete,
    /// A replica serving its clients: an expired key reads as absent but stays until the
    /// master's DEL arrives, so the replica's data follows its master's.
    Logical,
    /// A replica applying its master's stream: keys are as the master sees them.
    Ignore,
}

impl Expiry {
    /// The modes of a replica (its master decides what goes).
    pub fn replica(self) -> bool {
        self != Expiry::Delete
    }
}

pub struct Keyspace {
    pub dbs: Vec<Db>,
    /// Changes since the last successful save (rdb_changes_since_last_save).
    pub dirty: u64,
    pub stats: Stats,
    pub latency: LatencyPeaks,
    /// When true, every modified key is appended to `modified` (for WATCH / blocked clients).
    pub track_modified: bool,
    pub modified: Vec<(u32, Box<[u8]>)>,
    /// Keys whose blocked clients should look again although the key's value did not change in
    /// a way WATCH sees (Redis's signalKeyAsReady without signalModifiedKey: XGROUP DESTROY).
    pub ready_only: Vec<(u32, Box<[u8]>)>,
    /// Set by FLUSHALL/FLUSHDB/SWAPDB: "everything may have changed" for watchers.
    pub modified_all_dbs: Vec<u32>,
    /// When false (DEBUG SET-ACTIVE-EXPIRE 0) the cron's active cycle does nothing.
    pub active_expire_enabled: bool,
    /// While a file loads nothing expires (Redis's keyIsExpired during loading): a command
    /// replayed from the AOF must find the keys its original found.
    pub loading: bool,
    /// What executed writes become for the AOF and replicas (propagate.rs).
    pub prop: Propagator,
    /// CLIENT PAUSE: expired keys look absent but are not deleted, and the active cycle waits
    /// (Redis's checkClientPauseTimeoutAndReturnIfPaused in expireIfNeeded/activeExpireCycle).
    pub expire_paused: bool,
    /// WATCHed keys, judged at every modification (touchWatchedKey).
    pub watches: WatchTable,
    /// How accesses update a key's clock (LRU or LFU, from maxmemory-policy).
    pub access: AccessClock,
    /// maxmemory's eviction pool and statistics.
    pub evict: evict::Evictor,
    pub lazy: LazyFree,
    /// CLIENT TRACKING: who may cache which keys, invalidated at every modification.
    pub tracking: TrackingTable,
    /// The keyspace-event classes to record (see notify.rs) and the events waiting for TypeScript.
    notify_mask: u32,
    events: Vec<notify::KeyspaceEvent>,
    /// Events recorded before `events[0]` (taken or dropped): with `events.len()`, the sequence
    /// number of the next event, which orders invalidations among events (notify.rs).
    events_before: u64,
    /// Bytes of the running command's reply written so far, as last told (notify.rs: at_reply).
    reply_at: u32,
    /// Who removes keys whose TTL has passed: this server, or (a replica) its master.
    pub expiry: Expiry,
    /// A writable replica's own keys with a TTL (set by its clients, not its master): key ->
    /// bitmap of databases 0..63 (Redis's slaveKeysWithExpire); the cron expires them.
    pub replica_ttls: crate::dict::Dict<u64>,
    /// The database the cron's active rehashing looks at first (Redis's static rehash_db).
    rehash_db: usize,
    /// Cluster mode's index of db 0 by hash slot (slots.rs); None when cluster mode is off.
    pub slots: Option<Box<slots::SlotIndex>>,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        let mut dbs = Vec::with_capacity(databases);
        dbs.resize_with(databases, Db::default);
        Keyspace {
            dbs,
            dirty: 0,
            stats: Stats::default(),
            latency: LatencyPeaks::default(),
            track_modified: false,
            modified: Vec::new(),
            ready_only: Vec::new(),
            modified_all_dbs: Vec::new(),
            active_expire_enabled: true,
            loading: false,
            prop: Propagator::default(),
            expire_paused: false,
            watches: WatchTable::default(),
            access: AccessClock::default(),
            evict: evict::Evictor::default(),
            lazy: LazyFree::default(),
            tracking: TrackingTable::default(),
            notify_mask: 0,
            events: Vec::new(),
            events_before: 0,
            reply_at: 0,
            expiry: Expiry::Delete,
            replica_ttls: crate::dict::Dict::new(),
            rehash_db: 0,
            slots: None,
        }
    }

    /// Cluster mode: `key` joined db 0 (the slot index follows).
    #[inline]
    fn slot_added(&mut self, db: usize, key: &[u8]) {
        if db == 0 {
            if let Some(ix) = &mut self.slots { ix.added(key); }
        }
    }

    /// Cluster mode: `key` left db 0.
    #[inline]
    fn slot_removed(&mut self, db: usize, key: &[u8]) {
        if db == 0 {
            if let Some(ix) = &mut self.slots { ix.removed(key, &self.dbs[0].dict); }
        }
    }

    /// Turns the slot index on (built from db 0 as it is) or off.
    pub fn set_slot_index(&mut self, on: bool) {
        self.slots = on.then(|| Box::new(slots::SlotIndex::of(&self.dbs[0].dict)));
    }

    /// After db 0 was replaced wholesale (SWAPDB, a full sync): the index is rebuilt.
    fn rebuild_slot_index(&mut self) {
        if self.slots.is_some() { self.set_slot_index(true); }
    }

    /// delKeysInSlot: every key of `slot` goes as an expired one would go without the event
    /// (a DEL propagated, watchers touched, a change counted); returns how many.
    pub fn del_keys_in_slot(&mut self, slot: usize) -> usize {
        let Some(ix) = &self.slots else { return 0 };
        let keys = ix.keys(&self.dbs[0].dict, slot, usize::MAX);
        let lazy = self.lazy.server_del;
        for key in &keys {
            self.remove_and_free(0, key, lazy);
            self.propagate_deletion(0, key, lazy);
            self.signal_modified_by(0, key, 0);
            self.dirty += 1;
        }
        keys.len()
    }

    /// Redis's signalModifiedKey by the running command's client.
    pub fn signal_modified(&mut self, db: usize, key: &[u8]) {
        self.signal_modified_by(db, key, self.tracking.modifier);
    }

    /// signalModifiedKey with who modified the key (0: the server itself, as expiry).
    pub fn signal_modified_by(&mut self, db: usize, key: &[u8], modifier: u64) {
        if self.track_modified { self.modified.push((db as u32, key.into())); }
        if !self.watches.is_empty() {
            let stored = self.dbs[db].dict.contains_key(key);
            self.watches.touch(db as u32, key, stored);
        }
        if !self.tracking.is_idle() {
            let seq = self.event_seq();
            self.tracking.invalidate(key, modifier, true, seq);
        }
    }

    /// Stored and its time has passed (Redis's keyIsExpired; lazy expiry has not run yet).
    pub fn key_is_expired(&self, db: usize, key: &[u8], now_ms: i64) -> bool {
        self.dbs.get(db).and_then(|d| d.dict.get_node(key)).is_some_and(|e| e.is_expired(now_ms))
    }

    /// Redis's touchAllWatchedKeysInDb, before database `emptied` is flushed (no replacement)
    /// or swapped with `replaced_with`.
    fn touch_watched_in_db(&mut self, emptied: usize, replaced_with: Option<usize>, now_ms: i64) {
        if self.watches.is_empty() { return; }
        for key in self.watches.keys_in_db(emptied as u32) {
            let in_emptied = self.dbs[emptied].dict.contains_key(&key);
            let replacement = replaced_with.map(|r| {
                if !self.dbs[r].dict.contains_key(&key) {
                    Replacement::Absent
                } else if self.key_is_expired(r, &key, now_ms) {
                    Replacement::Expired
                } else {
                    Replacement::Live
                }
            });
            self.watches.touch_emptied(emptied as u32, &key, in_emptied, replacement);
        }
    }

    /// Wakes the clients blocked on `key` without touching its watchers.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.track_modified { self.ready_only.push((db as u32, key.into())); }
    }

    pub fn signal_flushed(&mut self, db: usize) {
        if self.track_modified { self.modified_all_dbs.push(db as u32); }
    }

    /// True when `key`'s time has passed, deleting it (counting it as expired and propagating
    /// the deletion) on a master; on a replica or while clients are paused it stays, only
    /// hidden (see `Expiry`), and for the master's stream, or while a file loads, it never
    /// expires.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool {
        if self.loading || self.expiry == Expiry::Ignore { return false; }
        let expired = self.dbs[db].dict.get_node(key).is_some_and(|e| e.is_expired(now_ms));
        if expired && (self.expire_paused || self.expiry == Expiry::Logical) { return true; }
        if expired { self.delete_expired(db, key); }
        expired
    }

    /// deleteExpiredKeyAndPropagate: an expired key goes, "expired" is notified, and the AOF and
    /// replicas are told.
    pub fn delete_expired(&mut self, db: usize, key: &[u8]) {
        let lazy = self.lazy.expire;
        let started = std::time::Instant::now();
        self.remove_and_free(db, key, lazy);
        LatencyPeaks::note(&mut self.latency.expire_del_ms, started);
        self.stats.expired_keys += 1;
        self.notify(notify::EXPIRED, "expired", db, key);
        self.signal_modified_by(db, key, 0);
        self.propagate_deletion(db, key, lazy);
    }

    /// propagateDeletion: a key the server removed on its own (expiry, eviction) is a DEL (or
    /// UNLINK when that kind of deletion is lazy) in the running execution unit.
    pub fn propagate_deletion(&mut self, db: usize, key: &[u8], lazy: bool) {
        if !self.prop.on { return; }
        let name: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        self.prop.also(db, TARGET_ALL, &[name, key]);
    }

    /// A read lookup found nothing: keyspace_misses and the "keymiss" event. Takes the fields
    /// it touches so that callers may still hold a borrow of `dbs`.
    fn read_miss(stats: &mut Stats, mask: u32, events: &mut Vec<notify::KeyspaceEvent>, reply_at: u32, db: usize, key: &[u8]) {
        stats.keyspace_misses += 1;
        if mask & notify::KEY_MISS != 0 {
            events.push(notify::KeyspaceEvent { event: "keymiss", db: db as u32, key: key.into(), reply_at });
        }
    }

    /// The live entry of `key` for a write path (no hit/miss accounting), expiring it lazily.
    pub fn lookup(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        if self.expire_if_needed(db, key, now_ms) { return None; }
        let clock = self.access;
        let e = self.dbs[db].dict.get_node_mut(key)?;
        clock.touch(e.tag_mut(), now_ms);
        Some(e)
    }

    /// The live entry of `key` for a read command: counts keyspace hits and misses.
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        let expired = self.expire_if_needed(db, key, now_ms);
        let clock = self.access;
        match self.dbs[db].dict.get_node_mut(key) {
            Some(e) if !expired => {
                self.stats.keyspace_hits += 1;
                clock.touch(e.tag_mut(), now_ms);
                Some(e)
            }
            _ => {
                Self::read_miss(&mut self.stats, self.notify_mask, &mut self.events, self.reply_at, db, key);
                None
            }
        }
    }

    /// The entry without touching LRU or stats, for OBJECT and TYPE-like introspection
    /// (still honours expiry).
    pub fn peek(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&Entry> {
        if self.expire_if_needed(db, key, now_ms) { return None; }
        self.dbs[db].dict.get_node(key)
    }

    pub fn exists(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool { self.peek(db, key, now_ms).is_some() }

    /// The live entry of `key`, created with `make()` when absent. The caller type-checks it.
    pub fn lookup_or_insert(&mut self, db: usize, key: &[u8], now_ms: i64, make: impl FnOnce() -> Value) -> &mut Entry {
        // A write on a writable replica replaces a key that only its master would still delete.
        if self.expire_if_needed(db, key, now_ms) { self.remove(db, key); }
        let lru = self.access.fresh(now_ms);
        if self.notify_mask & notify::NEW != 0 && self.dbs[db].dict.get(key).is_none() { self.notify(notify::NEW, "new", db, key); }
        if db == 0 && self.slots.is_some() && !self.dbs[0].dict.contains_key(key) { self.slot_added(0, key); }
        self.dbs[db].dict.node_or_insert_with(key, || (Stored { value: make() }, lru))
    }

    /// SET semantics (Redis's setKey): stores `value`, dropping any TTL unless `keep_ttl`. A key
    /// whose time has passed is expired first, so the new one is a new key.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool, now_ms: i64) {
        self.set_with_ttl(db, key, value, if keep_ttl { TtlChange::Keep } else { TtlChange::Drop }, now_ms)
    }

    /// `set` saying what becomes of the TTL: SET with EX/PX/EXAT/PXAT gives the new expire time
    /// here, so the key's node is made (or moved) with its expire slot once.
    pub fn set_with_ttl(&mut self, db: usize, key: &[u8], value: Value, ttl: TtlChange, now_ms: i64) {
        let clock = self.access;
        let d = &mut self.dbs[db];
        let expired = match d.dict.get_node_mut(key) {
            Some(e) if !e.is_expired(now_ms) => {
                let old = std::mem::replace(&mut e.value, value);
                // Redis's dbOverwrite: the new value keeps the LFU counter (the lookup before
                // the write counted the access); under LRU it is an object created now.
                if !clock.lfu { *e.tag_mut() = clock.fresh(now_ms); }
                let had_ttl = e.has_expire();
                match ttl {
                    TtlChange::Keep => {}
                    TtlChange::Drop => {
                        if had_ttl {
                            d.dict.set_extra(key, None);
                            d.expires -= 1;
                        }
                    }
                    TtlChange::Set(at) => {
                        d.dict.set_extra(key, Some(at as u64));
                        if !had_ttl { d.expires += 1; }
                    }
                }
                if self.lazy.server_del { crate::lazyfree::free_value(old) }
                if matches!(ttl, TtlChange::Set(_)) { self.remember_replica_ttl(db, key); }
                return;
            }
            Some(_) => true,
            None => false,
        };
        if expired { self.delete_expired(db, key); }
        let slot = match ttl {
            TtlChange::Set(at) => Some(at as u64),
            TtlChange::Keep | TtlChange::Drop => None,
        };
        let d = &mut self.dbs[db];
        if slot.is_some() { d.expires += 1; }
        d.dict.insert_new_tagged(key, Stored { value }, clock.fresh(now_ms), slot);
        if slot.is_some() { self.remember_replica_ttl(db, key); }
        self.slot_added(db, key);
        self.notify(notify::NEW, "new", db, key);
    }

    /// Adds a key known to be absent with an optional expire (RDB loading, RESTORE, COPY).
    pub fn add(&mut self, db: usize, key: &[u8], value: Value, expire_at: i64, lru: u32) {
        let d = &mut self.dbs[db];
        if expire_at != NO_EXPIRE { d.expires += 1; }
        d.dict.insert_new_tagged(key, Stored { value }, lru, ttl_slot(expire_at));
        if expire_at != NO_EXPIRE { self.remember_replica_ttl(db, key); }
        self.slot_added(db, key);
    }

    /// `add` of a key that may be there, with one lookup: gives the value back when it is.
    pub fn add_if_absent(&mut self, db: usize, key: &[u8], value: Value, expire_at: i64, lru: u32) -> Result<(), Value> {
        self.add_if_absent_hashed(db, Table::hash_of(key), key, value, expire_at, lru)
    }

    /// `add_if_absent` of a key whose `Table::hash_of` the caller computed (the RDB loader
    /// hashes keys as it reads them, to prefetch their buckets some keys before inserting).
    pub fn add_if_absent_hashed(&mut self, db: usize, hash: u64, key: &[u8], value: Value, expire_at: i64, lru: u32) -> Result<(), Value> {
        let d = &mut self.dbs[db];
        d.dict.try_insert_hashed(hash, key, Stored { value }, lru, ttl_slot(expire_at)).map_err(|s| s.value)?;
        if expire_at != NO_EXPIRE { d.expires += 1; }
        self.slot_added(db, key);
        Ok(())
    }

    /// Removes a key (no stats, no signal): the primitive under DEL, expiry and overwrites.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        let d = &mut self.dbs[db];
        let e = d.dict.remove_node(key)?;
        if e.has_expire() { d.expires -= 1; }
        self.slot_removed(db, key);
        Some(e)
    }

    /// DEL of one key, freeing its value in the background when `lazy` (UNLINK): true when a
    /// live key was deleted.
    pub fn delete(&mut self, db: usize, key: &[u8], now_ms: i64, lazy: bool) -> bool {
        if self.expire_if_needed(db, key, now_ms) { return false; }
        if self.remove_and_free(db, key, lazy) {
            self.signal_modified(db, key);
            true
        } else {
            false
        }
    }

    /// Removes a key and frees its value, in the background when `lazy` (Redis's
    /// dbGenericDelete); true when there was one. No stats, no signal.
    pub fn remove_and_free(&mut self, db: usize, key: &[u8], lazy: bool) -> bool {
        match self.remove(db, key) {
            Some(e) => {
                dispose(e, lazy);
                true
            }
            None => false,
        }
    }

    /// Deletes `key` if a command left its collection empty, as Redis does (with its "del"
    /// event, which follows the command's own: notify that first); true when it did.
    pub fn delete_if_empty(&mut self, db: usize, key: &[u8]) -> bool {
        let empty = self.dbs[db].dict.get(key).is_some_and(|e| e.value.is_empty_collection());
        if empty {
            self.remove(db, key);
            self.notify(notify::GENERIC, "del", db, key);
        }
        empty
    }

    /// Gives `key` (when stored) the absolute expire time `at_ms`: its node gains the 8-byte
    /// slot (a move to a bigger allocation) unless it had a TTL already.
    pub fn set_expire(&mut self, db: usize, key: &[u8], at_ms: i64) {
        let d = &mut self.dbs[db];
        if let Some(None) = d.dict.set_extra(key, Some(at_ms as u64)) { d.expires += 1; }
        self.remember_replica_ttl(db, key);
    }

    /// Redis's rememberSlaveKeyWithExpire: on a replica, a TTL its own clients set (a writable
    /// replica; its master's stream runs in `Expiry::Ignore`, a load with `loading`) makes the
    /// key one the replica expires itself. Databases past 63 are not tracked, as in Redis.
    #[inline]
    fn remember_replica_ttl(&mut self, db: usize, key: &[u8]) {
        if self.expiry != Expiry::Logical || self.loading || db > 63 { return; }
        *self.replica_ttls.entry_or_insert_with(key, || 0) |= 1u64 << db;
    }

    /// Removes the TTL (and its slot); true when there was one.
    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        let d = &mut self.dbs[db];
        match d.dict.get_node(key) {
            Some(e) if e.has_expire() => {
                d.dict.set_extra(key, None);
                d.expires -= 1;
                true
            }
            _ => false,
        }
    }

    pub fn key_count(&self) -> usize { self.dbs.iter().map(|d| d.dict.len()).sum() }

    /// Empties a database, its table freed in the background when `lazy` (FLUSHDB ASYNC);
    /// tracking clients hear "everything changed".
    pub fn flush_db(&mut self, db: usize, lazy: bool) -> usize {
        let seq = self.event_seq();
        self.tracking.flush(seq);
        self.empty_db(db, lazy)
    }

    fn empty_db(&mut self, db: usize, lazy: bool) -> usize {
        self.touch_watched_in_db(db, None, 0);
        let n = self.dbs[db].dict.len();
        self.signal_each_key(db, db);
        let old = std::mem::take(&mut self.dbs[db]);
        if lazy { crate::lazyfree::free_table(old.dict) }
        if db == 0 {
            if let Some(ix) = &mut self.slots { ix.clear(); }
        }
        n
    }

    /// Signals every key currently in `from` as modified in database `as_db`. Redis's FLUSH*
    /// and SWAPDB only touch WATCHed keys that exist (touchAllWatchedKeysInDb), so watchers of
    /// absent keys must not be dirtied by a whole-database signal.
    fn signal_each_key(&mut self, from: usize, as_db: usize) {
        if !self.track_modified { return; }
        let keys: Vec<Box<[u8]>> = self.dbs[from].dict.keys().map(Box::from).collect();
        for k in keys { self.modified.push((as_db as u32, k)); }
    }

    /// The live entry for read commands that must not touch the LRU clock (EXISTS, TYPE, TTL:
    /// Redis's LOOKUP_NOTOUCH): counts keyspace hits and misses.
    pub fn lookup_read_notouch(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&Entry> {
        let mask = self.notify_mask;
        self.lookup_notouch_notifying(db, key, now_ms, mask)
    }

    /// OBJECT's and DEBUG LISTPACK's lookup (objectCommandLookup: LOOKUP_NOTOUCH |
    /// LOOKUP_NONOTIFY): hits and misses counted, no "keymiss" event.
    pub fn lookup_object(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&Entry> {
        self.lookup_notouch_notifying(db, key, now_ms, self.notify_mask & !notify::KEY_MISS)
    }

    fn lookup_notouch_notifying(&mut self, db: usize, key: &[u8], now_ms: i64, mask: u32) -> Option<&Entry> {
        let expired = self.expire_if_needed(db, key, now_ms);
        match self.dbs[db].dict.get_node(key) {
            Some(e) if !expired => {
                self.stats.keyspace_hits += 1;
                Some(e)
            }
            _ => {
                Self::read_miss(&mut self.stats, mask, &mut self.events, self.reply_at, db, key);
                None
            }
        }
    }

    /// Stores a whole entry (value, TTL and LRU) under a key known to be absent: RENAME, MOVE,
    /// COPY. An entry removed under another name moves into a node of the new name.
    pub fn insert_entry(&mut self, db: usize, key: &[u8], entry: Entry) {
        let d = &mut self.dbs[db];
        let ttl = entry.has_expire();
        if ttl { d.expires += 1; }
        if entry.key() == key {
            d.dict.link_new(entry);
        } else {
            let (stored, lru, ttl) = entry.into_parts();
            d.dict.insert_new_tagged(key, stored, lru, ttl);
        }
        if ttl { self.remember_replica_ttl(db, key); }
        self.slot_added(db, key);
        self.notify(notify::NEW, "new", db, key);
    }

    /// SWAPDB: exchanges two databases' contents (expire cursors and TTL stats travel along).
    /// Every key present in either database is signalled in both (a watcher of db a's key k is
    /// dirtied when k existed before or exists after; blocked clients find their new keys).
    pub fn swap_dbs(&mut self, a: usize, b: usize, now_ms: i64) {
        if a != b {
            self.touch_watched_in_db(a, Some(b), now_ms);
            self.touch_watched_in_db(b, Some(a), now_ms);
            for (from, as_db) in [(a, a), (b, a), (a, b), (b, b)] { self.signal_each_key(from, as_db); }
            self.dbs.swap(a, b);
            if a == 0 || b == 0 { self.rebuild_slot_index(); }
            // flushSlaveKeysWithExpireList: the tracked names no longer say where the keys are.
            self.replica_ttls.clear();
        }
    }

    /// A replica's full sync: `fresh`'s databases replace these (watchers and blocked clients
    /// see every key of both as modified); the old databases are returned for disposal.
    pub fn replace_data(&mut self, mut fresh: Keyspace) -> Vec<Db> {
        for db in 0..self.dbs.len() { self.signal_each_key(db, db); }
        std::mem::swap(&mut self.dbs, &mut fresh.dbs);
        for db in 0..self.dbs.len() { self.signal_each_key(db, db); }
        // The load's own index lists each slot's keys in file order, newest (last loaded) first.
        match fresh.slots.take() {
            Some(ix) if self.slots.is_some() => self.slots = Some(ix),
            _ => self.rebuild_slot_index(),
        }
        self.replica_ttls.clear();
        fresh.dbs
    }

    /// Empties every database; returns how many keys were removed.
    pub fn flush_all(&mut self, lazy: bool) -> usize {
        let seq = self.event_seq();
        self.tracking.flush(seq);
        self.replica_ttls.clear();
        (0..self.dbs.len()).map(|db| self.empty_db(db, lazy)).sum()
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::string::StrVal;

    fn str_value(n: i64) -> Value { Value::Str(StrVal::from_i64(n)) }

    fn int_of(e: &Entry) -> i64 {
        match &e.value {
            Value::Str(StrVal::Int(n) | StrVal::OwnInt(n)) => *n,
            _ => panic!("not an int string"),
        }
    }

    /// Keys of every length from 0 to 40, then long ones, with every byte value in them.
    fn keys() -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = (0..=40usize).map(|len| (0..len).map(|i| (i * 37 + len) as u8).collect()).collect();
        out.push(vec![0u8; 300]);
        out.push((0..=255u8).cycle().take(5000).collect());
        out
    }

    #[test]
    fn entries_keep_value_clock_and_ttl_across_expire_changes() {
        let mut ks = Keyspace::new(2);
        let keys = keys();
        for (i, k) in keys.iter().enumerate() {
            let at = if i % 3 == 0 { 5_000 + i as i64 } else { NO_EXPIRE };
            ks.add(0, k, str_value(i as i64), at, 100 + i as u32);
        }
        let volatile = keys.len().div_ceil(3);
        assert_eq!((ks.dbs[0].dict.len(), ks.dbs[0].expires), (keys.len(), volatile));
        // Give every key a TTL (moving the nodes that had none), then take every TTL away.
        for (i, k) in keys.iter().enumerate() { ks.set_expire(0, k, 9_000 + i as i64); }
        assert_eq!(ks.dbs[0].expires, keys.len());
        for (i, k) in keys.iter().enumerate() {
            let e = ks.dbs[0].dict.get_node(k).unwrap();
            assert_eq!((e.key(), int_of(e), e.lru(), e.expire_at()), (&k[..], i as i64, 100 + i as u32, 9_000 + i as i64));
            assert!(e.is_expired(9_000 + i as i64) && !e.is_expired(8_999 + i as i64));
        }
        for k in &keys { assert!(ks.persist(0, k)); }
        for k in &keys { assert!(!ks.persist(0, k)); }
        assert_eq!(ks.dbs[0].expires, 0);
        for (i, k) in keys.iter().enumerate() {
            let e = ks.dbs[0].dict.get_node(k).unwrap();
            assert_eq!((int_of(e), e.lru(), e.expire_at(), e.has_expire()), (i as i64, 100 + i as u32, NO_EXPIRE, false));
        }
        assert_eq!(ks.dbs[0].dict.nodes().count(), keys.len());
        ks.set_expire(0, b"absent", 1);
        assert_eq!((ks.dbs[0].expires, ks.dbs[0].dict.len()), (0, keys.len()));
    }

    #[test]
    fn set_drops_keeps_or_sets_the_ttl() {
        let mut ks = Keyspace::new(1);
        let now = 1_000;
        ks.set_with_ttl(0, b"k", str_value(1), TtlChange::Set(5_000), now);
        assert_eq!((ks.dbs[0].dict.get_node(b"k").unwrap().expire_at(), ks.dbs[0].expires), (5_000, 1));
        ks.set_with_ttl(0, b"k", str_value(2), TtlChange::Set(6_000), now);
        ks.set(0, b"k", str_value(3), true, now);
        assert_eq!((ks.dbs[0].dict.get_node(b"k").unwrap().expire_at(), ks.dbs[0].expires), (6_000, 1));
        ks.set(0, b"k", str_value(4), false, now);
        let e = ks.dbs[0].dict.get_node(b"k").unwrap();
        assert_eq!((int_of(e), e.expire_at(), ks.dbs[0].expires), (4, NO_EXPIRE, 0));
        ks.set_with_ttl(0, b"k", str_value(5), TtlChange::Set(7_000), now);
        assert_eq!(ks.dbs[0].expires, 1);
        // Past its time the key is a new one: expired (counted), then stored without a TTL.
        ks.set(0, b"k", str_value(6), true, 8_000);
        let e = ks.dbs[0].dict.get_node(b"k").unwrap();
        assert_eq!((int_of(e), e.expire_at(), ks.dbs[0].expires, ks.stats.expired_keys), (6, NO_EXPIRE, 0, 1));
    }

    #[test]
    fn a_removed_entry_moves_whole_under_another_name() {
        let mut ks = Keyspace::new(2);
        ks.add(0, b"short", str_value(7), 12_345, 42);
        let e = ks.remove(0, b"short").unwrap();
        assert_eq!(ks.dbs[0].expires, 0);
        let long_name = vec![b'x'; 100];
        ks.insert_entry(1, &long_name, e);
        let moved = ks.dbs[1].dict.get_node(&long_name).unwrap();
        assert_eq!((int_of(moved), moved.expire_at(), moved.lru(), ks.dbs[1].expires), (7, 12_345, 42, 1));
        let e = ks.remove(1, &long_name).unwrap();
        ks.insert_entry(1, &long_name, e);
        assert_eq!((ks.dbs[1].dict.len(), ks.dbs[1].expires), (1, 1));
        ks.insert_entry(0, b"copy", Entry::detached(b"copy", str_value(8), NO_EXPIRE, 3));
        assert_eq!((ks.dbs[0].dict.get_node(b"copy").unwrap().lru(), ks.dbs[0].expires), (3, 0));
    }

    #[test]
    fn keyspace_entries_take_one_64_byte_chunk_for_short_keys() {
        use crate::alloc::chunk_size;
        assert_eq!(std::mem::size_of::<Stored>(), 24);
        assert_eq!(chunk_size(crate::dict::node_bytes::<Stored>(16, false)), 64);
        assert_eq!(chunk_size(crate::dict::node_bytes::<Stored>(8, true)), 64);
        assert_eq!(Table::entry_bytes(b"key:123456", false), 64);
    }
}
