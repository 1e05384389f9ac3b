//! Streams (Redis's t_stream.c): entries packed in listpack nodes (`node`) under a radix tree
//! keyed by each node's master ID (`rax`), consumer groups with their pending entries lists
//! (`group`), and the bookkeeping Redis 7.0 keeps for consumer-group lag: the number of entries
//! ever added, the first entry's ID, and the greatest ID ever deleted.
//!
//! A new node is started when the tail node's listpack plus the new entry would reach
//! `stream-node-max-bytes`, or it already holds `stream-node-max-entries` entries (live and
//! deleted); a node's listpack grows by an eighth at a time (Redis preallocates 4096 bytes),
//! and a full node gives back its spare allocation. Deleted entries stay flagged in their
//! node until the node empties (then it is removed) or is trimmed away, as in Redis.
//!
//! API for the commands: [`Stream::append`], [`Stream::trim`], [`Stream::delete`],
//! [`Stream::range`] (entries in ID order either way), [`Stream::last_valid_id`],
//! [`Stream::edge_id`], [`Stream::entry_exists`], the lag helpers
//! ([`Stream::range_has_tombstones`], [`Stream::estimate_distance`]), and `groups`. For the RDB
//! writer/loader: [`Stream::nodes`] and [`Stream::push_loaded_node`].

pub mod group;
pub mod id;
pub mod node;
pub mod rax;

use std::collections::BTreeMap;

pub use group::{Consumer, Group, Nack};
pub use id::StreamId;
use node::{EntryRef, Node};
use rax::Rax;

/// Redis's STREAM_LISTPACK_MAX_SIZE: no node (and no single entry) grows past 1 GB.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// The node limits from the configuration.
#[derive(Clone, Copy)]
pub struct NodeLimits {
    /// stream-node-max-bytes (0: no limit but the listpack's own).
    pub max_bytes: usize,
    /// stream-node-max-entries (0: no limit).
    pub max_entries: i64,
}

/// XTRIM's strategies (and XADD's MAXLEN / MINID options).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Default)]
pub struct Stream {
    rax: Rax<Node>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
    /// By name, in byte order (XINFO GROUPS and the RDB list them in this order).
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

/// XADD's entry did not fit in a listpack.
#[derive(Debug)]
pub struct TooLarge;

impl Stream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Nodes in the radix tree (XINFO's radix-tree-keys).
    pub fn node_keys(&self) -> u64 {
        self.rax.len()
    }

    /// Nodes of the radix tree itself (XINFO's radix-tree-nodes).
    pub fn tree_nodes(&self) -> u64 {
        self.rax.node_count()
    }

    /// Appends an entry with `id` (already checked to be greater than `last_id`).
    /// `fields_values` alternates fields and values.
    pub fn append(&mut self, id: StreamId, fields_values: &[&[u8]], limits: NodeLimits) -> Result<(), TooLarge> {
        let total: usize = fields_values.iter().map(|b| b.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(TooLarge);
        }
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE { LISTPACK_MAX_SIZE } else { limits.max_bytes };
        let mut appended = false;
        if let Some((key, tail)) = self.rax.last_mut() {
            let full = tail.len_bytes() + total >= max_bytes
                || (limits.max_entries > 0 && tail.count() + tail.deleted() >= limits.max_entries);
            if full {
                tail.shrink();
            } else {
                let master = StreamId::from_key(&key).unwrap_or_default();
                tail.append(master, id, fields_values);
                appended = true;
            }
        }
        if !appended {
            self.rax.insert(&id.key(), Node::new(id, fields_values));
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// streamTrim: removes entries from the head as the strategy asks; `approx` only removes
    /// whole nodes; `limit` (0: none) caps the entries removed, counted by whole nodes. Returns
    /// how many entries were removed.
    pub fn trim(&mut self, strategy: Trim, approx: bool, limit: i64) -> i64 {
        let mut deleted = 0i64;
        loop {
            if let Trim::MaxLen(maxlen) = strategy {
                if self.length <= maxlen {
                    break;
                }
            }
            let Some((key, node)) = self.rax.first() else { break };
            let entries = node.count();
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let master = StreamId::from_key(&key).unwrap_or_default();
            let remove_node = match strategy {
                Trim::MaxLen(maxlen) => self.length - entries as u64 >= maxlen,
                Trim::MinId(min) => node.entries(master).next_back().map_or(true, |last| last.id < min),
            };
            if remove_node {
                self.rax.remove(&key);
                self.length -= entries as u64;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            // Flag entries inside this node, from its head.
            let mut length = self.length;
            let mut flag_at = Vec::new();
            for e in node.entries(master) {
                let stop = match strategy {
                    Trim::MaxLen(maxlen) => length <= maxlen,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted() {
                    flag_at.push(e.flags_at);
                    length -= 1;
                }
            }
            let marked = node.deleted();
            let node = self.rax.get_mut(&key).expect("the node was just found");
            for &at in &flag_at {
                node.flag_deleted(at);
            }
            let removed = flag_at.len() as i64;
            node.set_counts(entries - removed, marked + removed);
            self.length = length;
            deleted += removed;
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::ZERO;
        } else {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// Deletes the live entry `id` (streamDeleteItem); its node goes when it was the last.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((key, node)) = self.rax.floor(&id.key()) else { return false };
        let master = StreamId::from_key(&key).unwrap_or_default();
        let Some(found) = node.entries(master).find(|e| e.id == id) else { return false };
        if found.deleted() {
            return false;
        }
        let flags_at = found.flags_at;
        if node.count() == 1 {
            self.rax.remove(&key);
        } else {
            self.rax.get_mut(&key).expect("the node was just found").mark_deleted(flags_at);
        }
        self.length -= 1;
        true
    }

    /// Live entries with start <= ID <= end, ascending (or descending when `rev`).
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        Range { stream: self, start, end, rev, node: None, done: start > end, tombstones: false }
    }

    /// The ID of the last live entry (streamLastValidID); 0-0 when there is none.
    pub fn last_valid_id(&self) -> StreamId {
        self.range(StreamId::ZERO, StreamId::MAX, true).next().map_or(StreamId::ZERO, |e| e.id)
    }

    /// streamGetEdgeID: the first (or last) entry's ID, deleted ones included unless
    /// `skip_tombstones`; MAX (first) or 0-0 (last) when there is none.
    pub fn edge_id(&self, first: bool, skip_tombstones: bool) -> StreamId {
        let mut it = self.range(StreamId::ZERO, StreamId::MAX, !first);
        it.tombstones = !skip_tombstones;
        match it.next() {
            Some(e) => e.id,
            None if first => StreamId::MAX,
            None => StreamId::ZERO,
        }
    }

    pub fn entry_exists(&self, id: StreamId) -> bool {
        self.range(id, id, false).next().is_some()
    }

    /// streamRangeHasTombstones: whether an entry between `start` and `end` (inclusive) may
    /// have been deleted, judged by the greatest deleted ID.
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id == StreamId::ZERO {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// streamEstimateDistanceFromFirstEverEntry: the entries-read counter of `id`, or None when
    /// it cannot be known.
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_entry_id == StreamId::ZERO || self.max_deleted_entry_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// The group's lag (streamReplyWithCGLag), None when it cannot be computed.
    pub fn group_lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read() {
            if !self.range_has_tombstones(group.last_id, StreamId::MAX) {
                return Some(self.entries_added.wrapping_sub(read));
            }
        }
        self.estimate_distance(group.last_id).map(|read| self.entries_added.wrapping_sub(read))
    }

    /// Each node's master ID and listpack, in ID order (the RDB writer's view).
    pub fn nodes(&self, mut f: impl FnMut(&[u8], &[u8])) {
        self.rax.for_each(|key, node| f(key, node.bytes()));
    }

    /// Adds a node read from an RDB file (validated by the caller, keys ascending).
    pub fn push_loaded_node(&mut self, master: StreamId, node: Node) -> bool {
        self.rax.insert(&master.key(), node).is_none()
    }

    /// Bytes held by the nodes' listpacks (for memory estimates).
    pub fn listpack_bytes(&self) -> usize {
        let mut total = 0;
        self.rax.for_each(|_, node| total += node.capacity());
        total
    }

    /// MEMORY USAGE's estimate (Redis's objectComputeSize for streams): the tree's nodes, the
    /// listpacks, and every group with its pending entries and consumers (a PEL entry is held
    /// twice: in the group's map and in its owner's set).
    pub fn memory_usage(&self) -> usize {
        use crate::alloc::chunk_size;
        use std::mem::size_of;
        let tree = self.rax.node_count() as usize * self.rax.node_bytes();
        let groups: usize = self.groups.iter().map(|(name, g)| {
            let pel = g.pel.len() * (2 * size_of::<StreamId>() + size_of::<group::Nack>());
            let consumers: usize = g.consumers.keys().map(|c| chunk_size(c.len() + 16) + size_of::<group::Consumer>()).sum();
            chunk_size(name.len()) + size_of::<group::Group>() + pel + consumers
        }).sum();
        size_of::<Stream>() + tree + self.listpack_bytes() + groups
    }

    /// lazyfreeGetFreeEffort for a stream: one allocation per tree node, and per group one plus
    /// its pending entries (the first group's PEL standing for all, as Redis estimates).
    pub fn free_effort(&self) -> usize {
        let per_group = 1 + self.groups.values().next().map_or(0, |g| g.pel.len());
        self.rax.node_count() as usize + self.groups.len() * per_group
    }
}

/// Entries of a stream between two IDs (streamIterator).
pub struct Range<'a> {
    stream: &'a Stream,
    start: StreamId,
    end: StreamId,
    rev: bool,
    node: Option<(StreamId, node::Entries<'a>)>,
    done: bool,
    /// Yield deleted entries too (streamGetEdgeID without skipping tombstones).
    tombstones: bool,
}

impl<'a> Range<'a> {
    /// Moves to the next node in the walk's direction; false at the end.
    fn advance_node(&mut self) -> bool {
        let rax = &self.stream.rax;
        let found = match (&self.node, self.rev) {
            (None, false) => rax.floor(&self.start.key()).or_else(|| rax.first()),
            (None, true) => rax.floor(&self.end.key()).or_else(|| rax.last()),
            (Some((master, _)), false) => master.next().and_then(|m| rax.ceil(&m.key())),
            (Some((master, _)), true) => master.prev().and_then(|m| rax.floor(&m.key())),
        };
        match found {
            Some((key, node)) => {
                let master = StreamId::from_key(&key).unwrap_or_default();
                self.node = Some((master, node.entries(master)));
                true
            }
            None => false,
        }
    }
}

impl<'a> Iterator for Range<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        while !self.done {
            if self.node.is_none() && !self.advance_node() {
                self.done = true;
                break;
            }
            let (_, entries) = self.node.as_mut().expect("a node was just set");
            let next = if self.rev { entries.next_back() } else { entries.next() };
            let Some(e) = next else {
                if !self.advance_node() {
                    self.done = true;
                }
                continue;
            };
            if self.rev {
                if e.id < self.start {
                    self.done = true;
                    break;
                }
                if e.id > self.end {
                    continue;
                }
            } else {
                if e.id > self.end {
                    self.done = true;
                    break;
                }
                if e.id < self.start {
                    continue;
                }
            }
            if e.deleted() && !self.tombstones {
                continue;
            }
            return Some(e);
        }
        None
    }
}

#[cfg(test)]
mod tests;
