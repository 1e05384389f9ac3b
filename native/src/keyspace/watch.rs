//! WATCH, as Redis 7.0's multi.c keeps it: which clients watch which keys, whether a key was
//! already logically expired when it was watched, and which clients' transactions must fail
//! (CLIENT_DIRTY_CAS). It lives next to the keyspace so that a modification is judged at the
//! moment it happens (is the key still stored?), exactly where Redis's touchWatchedKey runs.

use std::collections::{HashMap, HashSet};

type WatchedKey = (u32, Box<[u8]>);

struct Watcher {
    client: u64,
    /// The key was logically expired (stored, time passed) when WATCH ran: deleting it is no
    /// change from this watcher's point of view.
    expired: bool,
}

#[derive(Default)]
pub struct WatchTable {
    /// Watchers of each key, in the order they watched it.
    by_key: HashMap<WatchedKey, Vec<Watcher>>,
    /// The keys each client watches, in the order it watched them.
    by_client: HashMap<u64, Vec<WatchedKey>>,
    dirty: HashSet<u64>,
}

impl WatchTable {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// WATCH of one key. A client whose transaction already failed watches nothing more.
    pub fn watch(&mut self, client: u64, db: u32, key: &[u8], expired_now: bool) {
        if self.dirty.contains(&client) { return; }
        let keys = self.by_client.entry(client).or_default();
        if keys.iter().any(|(d, k)| *d == db && **k == *key) { return; }
        keys.push((db, key.into()));
        self.by_key.entry((db, key.into())).or_default().push(Watcher { client, expired: expired_now });
    }

    /// Forgets every key `client` watches (Redis's unwatchAllKeys); the dirty flag stays.
    pub fn unwatch_all(&mut self, client: u64) {
        let Some(keys) = self.by_client.remove(&client) else { return };
        for key in keys {
            if let Some(watchers) = self.by_key.get_mut(&key) {
                watchers.retain(|w| w.client != client);
                if watchers.is_empty() { self.by_key.remove(&key); }
            }
        }
    }

    /// UNWATCH, EXEC, DISCARD, RESET, a closed client: no keys and a clean slate.
    pub fn reset(&mut self, client: u64) {
        self.unwatch_all(client);
        self.dirty.remove(&client);
    }

    pub fn is_dirty(&self, client: u64) -> bool {
        self.dirty.contains(&client)
    }

    fn mark_dirty(&mut self, client: u64) {
        self.dirty.insert(client);
        // Nothing more can change the outcome: stop watching (and paying for) its keys.
        self.unwatch_all(client);
    }

    /// Redis's touchWatchedKey: `key` was modified and is now `stored` or not. A watcher that
    /// saw the key already expired is not dirtied by its deletion (its flag is cleared instead);
    /// like Redis 7.0, meeting such a watcher while the key is still stored ends the walk.
    pub fn touch(&mut self, db: u32, key: &[u8], stored: bool) {
        let id: WatchedKey = (db, key.into());
        let Some(watchers) = self.by_key.get_mut(&id) else { return };
        let mut to_dirty = Vec::new();
        for w in watchers.iter_mut() {
            if w.expired {
                if !stored {
                    w.expired = false;
                    continue;
                }
                break;
            }
            to_dirty.push(w.client);
        }
        for client in to_dirty { self.mark_dirty(client); }
    }

    /// Keys of database `db` that somebody watches.
    pub fn keys_in_db(&self, db: u32) -> Vec<Box<[u8]>> {
        self.by_key.keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect()
    }

    /// Redis's touchAllWatchedKeysInDb for one watched key of the database being emptied (or
    /// swapped): whether the key is stored in it, and its state in the database replacing it.
    pub fn touch_emptied(&mut self, db: u32, key: &[u8], in_emptied: bool, replacement: Option<Replacement>) {
        let stored_in_replacement = matches!(replacement, Some(Replacement::Live | Replacement::Expired));
        if !in_emptied && !stored_in_replacement { return; }
        let id: WatchedKey = (db, key.into());
        let Some(watchers) = self.by_key.get_mut(&id) else { return };
        let mut to_dirty = Vec::new();
        for w in watchers.iter_mut() {
            if w.expired {
                match replacement {
                    // The expired key is gone: no logical change.
                    None | Some(Replacement::Absent) => {
                        w.expired = false;
                        continue;
                    }
                    // Still expired after the swap.
                    Some(Replacement::Expired) => continue,
                    Some(Replacement::Live) => {}
                }
            } else if !in_emptied && replacement == Some(Replacement::Expired) {
                // A missing key replaced by an expired one: still missing, logically.
                w.expired = true;
                continue;
            }
            to_dirty.push(w.client);
        }
        for client in to_dirty { self.mark_dirty(client); }
    }

    /// Keys `client` watches that were not expired when watched (for isWatchedKeyExpired).
    pub fn live_at_watch(&self, client: u64) -> Vec<WatchedKey> {
        let Some(keys) = self.by_client.get(&client) else { return Vec::new() };
        keys.iter()
            .filter(|id| self.by_key.get(*id).is_some_and(|ws| ws.iter().any(|w| w.client == client && !w.expired)))
            .cloned()
            .collect()
    }

    pub fn watched_key_count(&self, client: u64) -> usize {
        self.by_client.get(&client).map_or(0, |k| k.len())
    }
}

/// What the database swapped in holds under a watched key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    Absent,
    Live,
    Expired,
}
