//! The persistence code's view of the list and sorted-set types: everything save/load/DUMP
//! need from them goes through these few functions, so a change in those types' API touches
//! this file only.

use crate::rdb::parse_canonical_i64;
use crate::settings::Settings;
use crate::types::list::List;
use crate::types::zset::ZSet;

// ------------------------------------------------------------------ lists ---

/// Elements at least this long get a quicklist PLAIN node of their own (Redis 7.0's
/// packed_threshold default, 1 GB).
pub const PLAIN_THRESHOLD: usize = 1 << 30;

/// Redis's quicklist SIZE_SAFETY_LIMIT: a node never grows past 8 KB under a count fill.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Node size limits for negative fills -1..-5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// One quicklist node to write: a PLAIN node with one element, or a PACKED listpack of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePlan {
    Plain,
    Packed(usize),
}

/// Cuts a list into quicklist nodes the way Redis 7.0's quicklistPushTail fills them
/// (_quicklistNodeAllowInsert), so a list built by pushes saves as Redis would save it.
pub struct ListNodes {
    fill: i64,
}

impl ListNodes {
    pub fn new(fill: i64) -> Self {
        ListNodes { fill }
    }

    fn size_meets_optimization(&self, sz: usize) -> bool {
        if self.fill >= 0 {
            return false;
        }
        let offset = (-self.fill - 1) as usize;
        offset < OPTIMIZATION_LEVEL.len() && sz <= OPTIMIZATION_LEVEL[offset]
    }

    /// _quicklistNodeAllowInsert for a packed node of `node_bytes` bytes and `count` elements.
    fn allow_insert(&self, node_bytes: usize, count: usize, element_len: usize) -> bool {
        let mut overhead = if element_len < 254 { 1 } else { 5 };
        overhead += if element_len < 64 { 1 } else if element_len < 16384 { 2 } else { 5 };
        let new_sz = node_bytes + element_len + overhead;
        if self.size_meets_optimization(new_sz) {
            true
        } else if new_sz > SIZE_SAFETY_LIMIT {
            false
        } else {
            (count as i64) < self.fill
        }
    }

    pub fn plan(&mut self, l: &List) -> Vec<NodePlan> {
        let mut plan = Vec::new();
        // The open packed node: (listpack bytes, element count).
        let mut open: Option<(usize, usize)> = None;
        for item in list_items(l) {
            if item.len() >= PLAIN_THRESHOLD {
                if let Some((_, n)) = open.take() {
                    plan.push(NodePlan::Packed(n));
                }
                plan.push(NodePlan::Plain);
                continue;
            }
            match open {
                Some((bytes, n)) if self.allow_insert(bytes, n, item.len()) => {
                    open = Some((bytes + listpack_entry_size(item), n + 1));
                }
                _ => {
                    if let Some((_, n)) = open.take() {
                        plan.push(NodePlan::Packed(n));
                    }
                    open = Some((LISTPACK_EMPTY_BYTES + listpack_entry_size(item), 1));
                }
            }
        }
        if let Some((_, n)) = open {
            plan.push(NodePlan::Packed(n));
        }
        plan
    }
}

/// Header (6) + terminator (1).
const LISTPACK_EMPTY_BYTES: usize = 7;

/// Bytes one element takes in a listpack (encoding, data and back-length).
pub fn listpack_entry_size(s: &[u8]) -> usize {
    let body = match parse_canonical_i64(s) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8388608..=8388607).contains(&v) => 4,
        Some(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => 5,
        Some(_) => 9,
        None if s.len() < 64 => 1 + s.len(),
        None if s.len() < 4096 => 2 + s.len(),
        None => 5 + s.len(),
    };
    body + match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The list's elements head to tail.
pub fn list_items(l: &List) -> impl Iterator<Item = &[u8]> {
    l.iter()
}

/// A loaded list (elements head to tail; never empty).
pub fn list_from_items(items: Vec<Vec<u8>>, _settings: &Settings) -> List {
    List::from_items(items)
}

// ------------------------------------------------------------ sorted sets ---

pub fn zset_len(z: &ZSet) -> usize {
    z.len()
}

/// True when the RDB writer should emit a listpack (ZSET_LISTPACK) rather than ZSET_2.
pub fn zset_is_listpack(z: &ZSet) -> bool {
    z.is_listpack()
}

/// Members in Redis's order: ascending score, then member bytes.
pub fn zset_for_each_ascending(z: &ZSet, mut f: impl FnMut(&[u8], f64)) {
    for (m, s) in z.iter() {
        f(m, s);
    }
}

/// Members from the greatest to the smallest (Redis's skiplist tail to head).
pub fn zset_for_each_descending(z: &ZSet, mut f: impl FnMut(&[u8], f64)) {
    for (m, s) in z.iter_rev() {
        f(m, s);
    }
}

/// A loaded sorted set with the encoding Redis's loader ends up with. `packed`: the file held
/// a listpack/ziplist blob (stays a listpack unless the count exceeds the limit) rather than a
/// skiplist-type zset (converted to a listpack when both limits allow). `Err` on a repeated
/// member or a NaN score.
pub fn zset_from_pairs(pairs: Vec<(Vec<u8>, f64)>, packed: bool, settings: &Settings) -> Result<ZSet, &'static str> {
    if packed { ZSet::from_listpack_pairs(pairs, settings) } else { ZSet::from_pairs(pairs, settings) }
}
