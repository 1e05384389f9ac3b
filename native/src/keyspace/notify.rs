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
    /// How many bytes of the running command's reply came before it (see `Keyspace::at_reply`).
    pub reply_at: u32,
}

impl Keyspace {
    /// Records `event` of `class` on `key` if that class is enabled.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.notify_mask & class != 0 {
            self.events.push(KeyspaceEvent { event, db: db as u32, key: key.into(), reply_at: self.reply_at });
        }
    }

    /// Where the running command's reply stands: the events notified from now on reach a
    /// RESP3 client subscribed to them, when it is the one running the command, after that many
    /// bytes of its reply, as Redis 7.0 writes the push into the client's buffer at once (a
    /// command that replies before notifying, SUNIONSTORE or LPUSH, puts its reply first; one
    /// that pops in a loop puts each event among its reply's elements). Ctx::notify sets it.
    #[inline]
    pub fn at_reply(&mut self, reply_len: usize) { self.reply_at = reply_len as u32; }

    /// `len` bytes were inserted into the running command's reply at `at` (a head written once
    /// its parts were counted): the events notified since sequence number `seq` and placed
    /// after `at` (among the parts) move with the bytes they followed; those at `at` came
    /// before any part, and stay before the head.
    pub fn reply_inserted(&mut self, seq: u64, at: usize, len: usize) {
        let from = seq.saturating_sub(self.events_before) as usize;
        for e in self.events.iter_mut().skip(from) {
            if e.reply_at as usize > at { e.reply_at += len as u32; }
        }
    }

    /// The events notified since sequence number `seq` go before the reply they were notified
    /// in (an error replaced it, or it was a script's call, which its caller does not see).
    pub fn events_before_reply_since(&mut self, seq: u64) {
        let from = seq.saturating_sub(self.events_before) as usize;
        for e in self.events.iter_mut().skip(from) { e.reply_at = 0; }
        self.reply_at = 0;
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
    fn events_keep_their_place_in_the_reply() {
        let mut ks = Keyspace::new(1);
        ks.set_notify_mask(LIST | GENERIC);
        let first = ks.event_seq();
        ks.at_reply(4);
        ks.notify(LIST, "lpush", 0, b"a");
        ks.at_reply(9);
        ks.notify(GENERIC, "del", 0, b"a");
        // A 3-byte head inserted at 4: the event notified at 4 stays before it, the other moves.
        ks.reply_inserted(first, 4, 3);
        let places = |ks: &mut Keyspace| ks.events.iter().map(|e| e.reply_at).collect::<Vec<_>>();
        assert_eq!(places(&mut ks), vec![4, 12]);
        ks.at_reply(20);
        ks.notify(LIST, "rpush", 0, b"b");
        ks.events_before_reply_since(first + 1);
        assert_eq!(places(&mut ks), vec![4, 0, 0]);
        ks.notify(LIST, "rpush", 0, b"c");
        assert_eq!(ks.take_events().1.last().map(|e| e.reply_at), Some(0));
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
