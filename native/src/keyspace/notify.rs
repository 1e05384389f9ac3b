//! Keyspace notifications, the native half (Redis's notify.c): handlers call
//! `Keyspace::notify(class, event, db, key)` where Redis calls notifyKeyspaceEvent, and the
//! events wait in a log until TypeScript takes them after the call or batch
//! (`takeKeyspaceEvents`) and publishes them on `__keyspace@<db>__:<key>` /
//! `__keyevent@<db>__:<event>`. With notify-keyspace-events empty (or without K and E) the
//! mask is 0 and a call costs one load and one branch.

use super::Keyspace;

// The event classes, with the bit values src/config/specials.ts gives them.
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const NEW: u32 = 1 << 13;

/// One event as notifyKeyspaceEvent received it.
pub struct KeyspaceEvent {
    pub event: &'static str,
    pub db: u32,
    pub key: Box<[u8]>,
}

impl Keyspace {
    /// Records `event` of `class` on `key` if that class is enabled.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.notify_mask & class != 0 {
            self.events.push(KeyspaceEvent { event, db: db as u32, key: key.into() });
        }
    }

    /// The classes to record (notify-keyspace-events), or 0 when nothing is published.
    pub fn set_notify_mask(&mut self, mask: u32) {
        self.notify_mask = mask;
        if mask == 0 {
            self.events_before += self.events.len() as u64;
            self.events.clear();
        }
    }

    /// The sequence number the next recorded event will have. Client-side caching's
    /// invalidations carry it, so that TypeScript sends each one between the events recorded
    /// before and after it, as Redis does (signalModifiedKey and notifyKeyspaceEvent write to
    /// the clients at once, key after key).
    pub fn event_seq(&self) -> u64 { self.events_before + self.events.len() as u64 }

    /// The events recorded since the last take, and the sequence number of the first.
    pub fn take_events(&mut self) -> (u64, Vec<KeyspaceEvent>) {
        let first = self.events_before;
        let events = std::mem::take(&mut self.events);
        self.events_before += events.len() as u64;
        (first, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_enabled_classes() {
        let mut ks = Keyspace::new(2);
        ks.notify(STRING, "set", 0, b"k");
        assert!(ks.take_events().1.is_empty());
        ks.set_notify_mask(STRING | GENERIC);
        ks.notify(STRING, "set", 1, b"k");
        ks.notify(LIST, "lpush", 0, b"l");
        ks.notify(GENERIC, "del", 0, b"k");
        let (first, events) = ks.take_events();
        assert_eq!(first, 0);
        assert_eq!(events.iter().map(|e| (e.event, e.db, &*e.key)).collect::<Vec<_>>(), vec![("set", 1, &b"k"[..]), ("del", 0, &b"k"[..])]);
        assert_eq!(ks.take_events().0, 2);
    }

    #[test]
    fn sequence_numbers_count_taken_and_dropped_events() {
        let mut ks = Keyspace::new(1);
        ks.set_notify_mask(STRING);
        ks.notify(STRING, "set", 0, b"a");
        assert_eq!(ks.event_seq(), 1);
        ks.set_notify_mask(0);
        assert_eq!(ks.event_seq(), 1);
        ks.set_notify_mask(STRING);
        ks.notify(STRING, "set", 0, b"b");
        let (first, events) = ks.take_events();
        assert_eq!((first, events.len(), ks.event_seq()), (1, 1, 2));
    }
}
