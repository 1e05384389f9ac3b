//! The keyspace: N databases of key -> entry, millisecond expiry (lazy on access, plus an
//! active cycle driven by the server cron), change counting (dirty) and the log of modified
//! keys that WATCH and blocked clients need (kept only while someone listens).

use crate::dict::Dict;
use crate::propagate::{Propagator, TARGET_ALL};
use crate::types::Value;

pub mod evict;
pub mod expire;
pub mod lru;
pub mod tracking;
pub mod watch;

pub use lru::{lru_clock_now, lru_idle_seconds, AccessClock, LRU_CLOCK_MAX};
use tracking::TrackingTable;
use watch::{Replacement, WatchTable};
pub mod notify;

pub const NO_EXPIRE: i64 = -1;

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
    if lazy { crate::lazyfree::free_value(entry.value) }
}

pub struct Entry {
    pub value: Value,
    /// Absolute unix time in milliseconds, or NO_EXPIRE.
    pub expire_at: i64,
    /// The access clock (24 bits like Redis's): LRU seconds or LFU minutes + counter (see lru.rs).
    pub lru: u32,
}

#[derive(Default)]
pub struct Db {
    pub dict: Dict<Entry>,
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
    /// Who removes keys whose TTL has passed: this server, or (a replica) its master.
    pub expiry: Expiry,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        let mut dbs = Vec::with_capacity(databases);
        dbs.resize_with(databases, Db::default);
        Keyspace {
            dbs,
            dirty: 0,
            stats: Stats::default(),
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
            expiry: Expiry::Delete,
        }
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
        self.dbs.get(db).and_then(|d| d.dict.get(key)).is_some_and(|e| e.expire_at != NO_EXPIRE && e.expire_at <= now_ms)
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
        let expired = match self.dbs[db].dict.get(key) {
            Some(e) => e.expire_at != NO_EXPIRE && e.expire_at <= now_ms,
            None => false,
        };
        if expired && (self.expire_paused || self.expiry == Expiry::Logical) { return true; }
        if expired { self.delete_expired(db, key); }
        expired
    }

    /// deleteExpiredKeyAndPropagate: an expired key goes, "expired" is notified, and the AOF and
    /// replicas are told.
    pub fn delete_expired(&mut self, db: usize, key: &[u8]) {
        let lazy = self.lazy.expire;
        self.remove_and_free(db, key, lazy);
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
    fn read_miss(stats: &mut Stats, mask: u32, events: &mut Vec<notify::KeyspaceEvent>, db: usize, key: &[u8]) {
        stats.keyspace_misses += 1;
        if mask & notify::KEY_MISS != 0 {
            events.push(notify::KeyspaceEvent { event: "keymiss", db: db as u32, key: key.into() });
        }
    }

    /// The live entry of `key` for a write path (no hit/miss accounting), expiring it lazily.
    pub fn lookup(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        if self.expire_if_needed(db, key, now_ms) { return None; }
        let clock = self.access;
        let e = self.dbs[db].dict.get_mut(key)?;
        clock.touch(&mut e.lru, now_ms);
        Some(e)
    }

    /// The live entry of `key` for a read command: counts keyspace hits and misses.
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        let expired = self.expire_if_needed(db, key, now_ms);
        let clock = self.access;
        match self.dbs[db].dict.get_mut(key) {
            Some(e) if !expired => {
                self.stats.keyspace_hits += 1;
                clock.touch(&mut e.lru, now_ms);
                Some(e)
            }
            _ => {
                Self::read_miss(&mut self.stats, self.notify_mask, &mut self.events, db, key);
                None
            }
        }
    }

    /// The entry without touching LRU or stats, for OBJECT and TYPE-like introspection
    /// (still honours expiry).
    pub fn peek(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&Entry> {
        if self.expire_if_needed(db, key, now_ms) { return None; }
        self.dbs[db].dict.get(key)
    }

    pub fn exists(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool { self.peek(db, key, now_ms).is_some() }

    /// The live entry of `key`, created with `make()` when absent. The caller type-checks it.
    pub fn lookup_or_insert(&mut self, db: usize, key: &[u8], now_ms: i64, make: impl FnOnce() -> Value) -> &mut Entry {
        // A write on a writable replica replaces a key that only its master would still delete.
        if self.expire_if_needed(db, key, now_ms) { self.remove(db, key); }
        let lru = self.access.fresh(now_ms);
        if self.notify_mask & notify::NEW != 0 && self.dbs[db].dict.get(key).is_none() { self.notify(notify::NEW, "new", db, key); }
        self.dbs[db].dict.entry_or_insert_with(key, || Entry { value: make(), expire_at: NO_EXPIRE, lru })
    }

    /// SET semantics (Redis's setKey): stores `value`, dropping any TTL unless `keep_ttl`. A key
    /// whose time has passed is expired first, so the new one is a new key.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool, now_ms: i64) {
        let clock = self.access;
        let d = &mut self.dbs[db];
        let expired = match d.dict.get_mut(key) {
            Some(e) if !is_expired(e, now_ms) => {
                let old = std::mem::replace(&mut e.value, value);
                // Redis's dbOverwrite: the new value keeps the LFU counter (the lookup before
                // the write counted the access); under LRU it is an object created now.
                if !clock.lfu { e.lru = clock.fresh(now_ms); }
                if !keep_ttl && e.expire_at != NO_EXPIRE {
                    e.expire_at = NO_EXPIRE;
                    d.expires -= 1;
                }
                if self.lazy.server_del { crate::lazyfree::free_value(old) }
                return;
            }
            Some(_) => true,
            None => false,
        };
        if expired { self.delete_expired(db, key); }
        self.dbs[db].dict.insert_new_copy(key, Entry { value, expire_at: NO_EXPIRE, lru: clock.fresh(now_ms) });
        self.notify(notify::NEW, "new", db, key);
    }

    /// Adds a key known to be absent with an optional expire (RDB loading, RESTORE, COPY).
    pub fn add(&mut self, db: usize, key: &[u8], value: Value, expire_at: i64, lru: u32) {
        let d = &mut self.dbs[db];
        if expire_at != NO_EXPIRE { d.expires += 1; }
        d.dict.insert_new_copy(key, Entry { value, expire_at, lru });
    }

    /// `add` of a key that may be there, with one lookup: gives the value back when it is.
    pub fn add_if_absent(&mut self, db: usize, key: &[u8], value: Value, expire_at: i64, lru: u32) -> Result<(), Value> {
        let d = &mut self.dbs[db];
        d.dict.try_insert_copy(key, Entry { value, expire_at, lru }).map_err(|e| e.value)?;
        if expire_at != NO_EXPIRE { d.expires += 1; }
        Ok(())
    }

    /// Removes a key (no stats, no signal): the primitive under DEL, expiry and overwrites.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        let d = &mut self.dbs[db];
        let e = d.dict.remove(key)?;
        if e.expire_at != NO_EXPIRE { d.expires -= 1; }
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

    pub fn set_expire(&mut self, db: usize, key: &[u8], at_ms: i64) {
        let d = &mut self.dbs[db];
        if let Some(e) = d.dict.get_mut(key) {
            if e.expire_at == NO_EXPIRE { d.expires += 1; }
            e.expire_at = at_ms;
        }
    }

    /// Removes the TTL; true when there was one.
    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        let d = &mut self.dbs[db];
        match d.dict.get_mut(key) {
            Some(e) if e.expire_at != NO_EXPIRE => {
                e.expire_at = NO_EXPIRE;
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

    /// The live entry for read commands that must not touch the LRU clock (EXISTS, TYPE, TTL,
    /// OBJECT: Redis's LOOKUP_NOTOUCH): counts keyspace hits and misses.
    pub fn lookup_read_notouch(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&Entry> {
        let expired = self.expire_if_needed(db, key, now_ms);
        match self.dbs[db].dict.get(key) {
            Some(e) if !expired => {
                self.stats.keyspace_hits += 1;
                Some(e)
            }
            _ => {
                Self::read_miss(&mut self.stats, self.notify_mask, &mut self.events, db, key);
                None
            }
        }
    }

    /// Stores a whole entry (value, TTL and LRU) under a key known to be absent: RENAME, MOVE.
    pub fn insert_entry(&mut self, db: usize, key: &[u8], entry: Entry) {
        let d = &mut self.dbs[db];
        if entry.expire_at != NO_EXPIRE { d.expires += 1; }
        d.dict.insert_new_copy(key, entry);
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
        }
    }

    /// A replica's full sync: `fresh`'s databases replace these (watchers and blocked clients
    /// see every key of both as modified); the old databases are returned for disposal.
    pub fn replace_data(&mut self, mut fresh: Keyspace) -> Vec<Db> {
        for db in 0..self.dbs.len() { self.signal_each_key(db, db); }
        std::mem::swap(&mut self.dbs, &mut fresh.dbs);
        for db in 0..self.dbs.len() { self.signal_each_key(db, db); }
        fresh.dbs
    }

    /// Empties every database; returns how many keys were removed.
    pub fn flush_all(&mut self, lazy: bool) -> usize {
        let seq = self.event_seq();
        self.tracking.flush(seq);
        (0..self.dbs.len()).map(|db| self.empty_db(db, lazy)).sum()
    }
}

/// True when `e` carries a TTL that has passed (for walks that must skip without deleting, as KEYS).
#[inline]
pub fn is_expired(e: &Entry, now_ms: i64) -> bool { e.expire_at != NO_EXPIRE && e.expire_at <= now_ms }
