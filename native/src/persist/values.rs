//! The persistence code's view of the list and sorted-set types: everything save/load/DUMP
//! need from them goes through these few functions, so a change in those types' API touches
//! this file only.

use crate::rdb::parse_canonical_i64;
use crate::settings::Settings;
use crate::types::list::List;
use crate::types::zset::ZSet;

// ------------------------------------------------------------------ lists ---

/// One quicklist node to write: a PLAIN node with one element, or a PACKED listpack of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePlan {
    Plain,
    Packed(usize),
}

/// Lists a list's quicklist nodes (its chunks are Redis's nodes: `List::quicklist_nodes`), so
/// a list saves as Redis would save it.
pub struct ListNodes;

impl ListNodes {
    pub fn new() -> Self {
        ListNodes
    }

    pub fn plan(&mut self, l: &List) -> Vec<NodePlan> {
        let mut plan = Vec::new();
        self.plan_into(l, &mut plan);
        plan
    }

    /// `plan` into a caller's buffer (cleared first), so a save reuses one buffer for every list.
    pub fn plan_into(&self, l: &List, plan: &mut Vec<NodePlan>) {
        plan.clear();
        plan.extend(
            l.quicklist_node_shapes()
                .map(|node| if node.plain { NodePlan::Plain } else { NodePlan::Packed(node.count) }),
        );
    }
}

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
pub fn list_from_items<M: AsRef<[u8]>>(items: Vec<M>, _settings: &Settings) -> List {
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

/// Members in Redis's order: ascending score, then member bytes. Allocates nothing.
pub fn zset_for_each_ascending(z: &ZSet, f: impl FnMut(&[u8], f64)) {
    z.for_each(false, f);
}

/// Members from the greatest to the smallest (Redis's skiplist tail to head). Allocates nothing.
pub fn zset_for_each_descending(z: &ZSet, f: impl FnMut(&[u8], f64)) {
    z.for_each(true, f);
}

/// A loaded sorted set with the encoding Redis's loader ends up with. `packed`: the file held
/// a listpack/ziplist blob (stays a listpack unless the count exceeds the limit) rather than a
/// skiplist-type zset (converted to a listpack when both limits allow). `Err` on a repeated
/// member or a NaN score.
pub fn zset_from_pairs<M: AsRef<[u8]>>(pairs: Vec<(M, f64)>, packed: bool, settings: &Settings) -> Result<ZSet, &'static str> {
    if packed { ZSet::from_listpack_pairs(pairs, settings) } else { ZSet::from_pairs(pairs, settings) }
}
