//! Consumer groups (Redis's streamCG): the last delivered ID, the entries-read counter, the
//! group's pending entries list (PEL: ID -> delivery time, count and owner) and the consumers,
//! each with its own list of the IDs it owns. Both are ordered by ID, and consumers by name in
//! byte order, as Redis's radix trees order them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::StreamId;

#[derive(Clone)]
pub struct Nack {
    /// Unix time of the last delivery, in milliseconds.
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The owner (always set once the entry is claimed or delivered).
    pub consumer: Option<Arc<[u8]>>,
}

#[derive(Clone)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries read, or -1 when unknown (SCG_INVALID_ENTRIES_READ).
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

pub const INVALID_ENTRIES_READ: i64 = -1;

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    pub fn entries_read(&self) -> Option<u64> {
        (self.entries_read != INVALID_ENTRIES_READ).then_some(self.entries_read as u64)
    }

    /// streamCreateConsumer: false when it already exists.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(Arc::from(name), Consumer { seen_time: now_ms, pel: BTreeSet::new() });
        true
    }

    /// The consumer's shared name (the key NACKs point to), when it exists.
    pub fn consumer_name(&self, name: &[u8]) -> Option<Arc<[u8]>> {
        self.consumers.get_key_value(name).map(|(k, _)| k.clone())
    }

    /// streamDelConsumer: drops the consumer and its pending entries from the group; returns
    /// how many it had, None when there was no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Acknowledges `id`: removes it from the group's and its owner's lists.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(nack) => {
                if let Some(owner) = nack.consumer.as_deref() {
                    if let Some(c) = self.consumers.get_mut(owner) {
                        c.pel.remove(&id);
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Gives pending entry `id` to `consumer` (which must exist), moving it out of its previous
    /// owner's list.
    pub fn assign(&mut self, id: StreamId, consumer: &Arc<[u8]>) {
        let Some(nack) = self.pel.get_mut(&id) else { return };
        if nack.consumer.as_deref() == Some(&**consumer) {
            return;
        }
        if let Some(old) = nack.consumer.replace(consumer.clone()) {
            if let Some(c) = self.consumers.get_mut(&*old) {
                c.pel.remove(&id);
            }
        }
        if let Some(c) = self.consumers.get_mut(&**consumer) {
            c.pel.insert(id);
        }
    }
}
