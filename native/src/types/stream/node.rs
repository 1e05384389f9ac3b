//! One node of a stream: a listpack laid out exactly as Redis's t_stream.c lays it out, so a
//! node is saved to an RDB file (and loaded from one) as its bytes.
//!
//! ```text
//! master entry: count | deleted | num-fields | field_1 ... field_N | 0
//! each entry:   flags | ms-diff | seq-diff | num-fields | field_1 | value_1 ... | lp-count
//!          or:  flags | ms-diff | seq-diff | value_1 ... value_N | lp-count      (SAMEFIELDS)
//! ```
//!
//! `count`/`deleted` are the live and deleted (flagged) entries; the IDs are deltas from the
//! node's master ID (its key in the radix tree), stored as wrapping 64-bit differences; an
//! entry whose fields are the master's, in order, stores only its values (SAMEFIELDS);
//! `lp-count` is the number of elements of the entry before it, so the node can be walked
//! backwards. Deleted entries stay in place with the DELETED flag.
//!
//! Nodes are built by this module or validated by `validate` when loaded, so the walks below
//! meet only well-formed data; they still never index out of bounds (a malformed element just
//! ends the walk).

use crate::rdb::listpack::{append_bytes, append_int, element_at, element_before, FIRST_ELEMENT};
use crate::rdb::Entry as Element;

use super::StreamId;

pub const FLAG_DELETED: i64 = 1;
pub const FLAG_SAMEFIELDS: i64 = 2;

/// Bytes an element may take beyond its data: its encoding header and its back-length, at most
/// 5 each (an integer takes at most 9 with its header).
const ELEMENT_OVERHEAD: usize = 10;

#[derive(Clone)]
pub struct Node {
    lp: Vec<u8>,
}

/// An element read as an integer (counts, flags, deltas); strings that hold one parse too, as
/// lpGetInteger does.
fn as_int(e: Element<'_>) -> i64 {
    match e {
        Element::Int(v) => v,
        Element::Bytes(b) => crate::numfmt::parse_i64(b).unwrap_or(0),
    }
}

impl Node {
    /// A node holding `lp` as it is (the loader validates it first).
    pub fn from_listpack(lp: Vec<u8>) -> Node {
        Node { lp }
    }

    /// The listpack bytes (what RDB and DUMP write).
    pub fn bytes(&self) -> &[u8] {
        &self.lp
    }

    /// Bytes of the listpack (lpBytes).
    pub fn len_bytes(&self) -> usize {
        self.lp.len()
    }

    /// Bytes allocated for it.
    pub fn capacity(&self) -> usize {
        self.lp.capacity()
    }

    #[inline]
    fn end(&self) -> usize {
        self.lp.len() - 1
    }

    #[inline]
    fn elem(&self, p: usize) -> Option<(Element<'_>, usize)> {
        element_at(&self.lp, p, self.end()).ok()
    }

    fn int_at(&self, p: usize) -> Option<(i64, usize)> {
        self.elem(p).map(|(e, next)| (as_int(e), next))
    }

    /// A new node whose master entry takes the fields of its first entry, which it holds.
    ///
    /// Redis preallocates 4096 bytes for a new node (STREAM_LISTPACK_MAX_PRE_ALLOCATE) and keeps
    /// them until the node fills up; here a node grows by an eighth at a time instead (see
    /// `reserve`), so a node that is not full (a stream of 100 entries and fewer, every
    /// stream's tail) holds at most about an eighth of its size unused.
    pub fn new(master: StreamId, fields_values: &[&[u8]]) -> Node {
        let numfields = fields_values.len() / 2;
        let fields: usize = fields_values.chunks_exact(2).map(|pair| pair[0].len()).sum();
        let master_bytes = 6 + (4 + numfields) * ELEMENT_OVERHEAD + fields + 1;
        let mut lp = Vec::with_capacity(master_bytes + entry_bound(fields_values, true));
        lp.extend_from_slice(&[0; 6]);
        append_int(&mut lp, 1);
        append_int(&mut lp, 0);
        append_int(&mut lp, numfields as i64);
        for pair in fields_values.chunks_exact(2) {
            append_bytes(&mut lp, pair[0]);
        }
        append_int(&mut lp, 0);
        lp.push(0xFF);
        let master_elements = (4 + numfields).min(u16::MAX as usize) as u16;
        lp[4..6].copy_from_slice(&master_elements.to_le_bytes());
        let mut node = Node { lp };
        node.push_entry(master, master, fields_values, true);
        node
    }

    /// Live entries (the master entry's count).
    pub fn count(&self) -> i64 {
        self.int_at(FIRST_ELEMENT).map_or(0, |(v, _)| v)
    }

    /// Entries flagged deleted.
    pub fn deleted(&self) -> i64 {
        self.int_at(FIRST_ELEMENT).and_then(|(_, p)| self.int_at(p)).map_or(0, |(v, _)| v)
    }

    /// Where the master fields start and how many there are; the position of the first entry.
    fn master_fields(&self) -> Option<(usize, i64, usize)> {
        let (_, p) = self.elem(FIRST_ELEMENT)?;
        let (_, p) = self.elem(p)?;
        let (n, mut p) = self.int_at(p)?;
        let fields_at = p;
        for _ in 0..n {
            p = self.elem(p)?.1;
        }
        let (_, first_entry) = self.elem(p)?; // the master terminator
        Some((fields_at, n, first_entry))
    }

    /// Appends an entry (streamAppendItem's second half): counts it, and stores only its values
    /// when its fields are the master's.
    pub fn append(&mut self, master: StreamId, id: StreamId, fields_values: &[&[u8]]) {
        let count = self.count();
        self.replace_int(FIRST_ELEMENT, count + 1);
        let same = match self.master_fields() {
            Some((mut p, n, _)) if n as usize == fields_values.len() / 2 => {
                let mut same = true;
                let mut buf = [0u8; 20];
                for pair in fields_values.chunks_exact(2) {
                    let Some((e, next)) = self.elem(p) else { same = false; break };
                    if e.as_bytes(&mut buf) != pair[0] {
                        same = false;
                        break;
                    }
                    p = next;
                }
                same
            }
            _ => false,
        };
        self.push_entry(master, id, fields_values, same);
    }

    fn push_entry(&mut self, master: StreamId, id: StreamId, fields_values: &[&[u8]], same_fields: bool) {
        self.reserve(entry_bound(fields_values, same_fields));
        let lp = &mut self.lp;
        lp.pop(); // the terminator, written again below
        let numfields = fields_values.len() / 2;
        append_int(lp, if same_fields { FLAG_SAMEFIELDS } else { 0 });
        append_int(lp, id.ms.wrapping_sub(master.ms) as i64);
        append_int(lp, id.seq.wrapping_sub(master.seq) as i64);
        if !same_fields {
            append_int(lp, numfields as i64);
        }
        for pair in fields_values.chunks_exact(2) {
            if !same_fields {
                append_bytes(lp, pair[0]);
            }
            append_bytes(lp, pair[1]);
        }
        let lp_count = 3 + numfields + if same_fields { 0 } else { numfields + 1 };
        append_int(lp, lp_count as i64);
        lp.push(0xFF);
        let added = if same_fields { 4 + numfields } else { 5 + 2 * numfields };
        self.finish_header(added as i64);
    }

    /// Rewrites the header's total size and bumps the element count by `added` (the count
    /// saturates at 65535, "unknown", as listpack.c's does).
    fn finish_header(&mut self, added: i64) {
        let total = self.lp.len() as u32;
        self.lp[0..4].copy_from_slice(&total.to_le_bytes());
        let old = u16::from_le_bytes([self.lp[4], self.lp[5]]);
        if old != u16::MAX {
            let new = (old as i64 + added).clamp(0, u16::MAX as i64) as u16;
            self.lp[4..6].copy_from_slice(&new.to_le_bytes());
        }
    }

    /// Room for `need` more bytes, the listpack keeping at most an eighth spare (not Vec's
    /// doubling).
    fn reserve(&mut self, need: usize) {
        crate::types::reserve_with_slack(&mut self.lp, need);
    }

    /// lpReplaceInteger: the element at `p` becomes `v` (its encoding may change size).
    fn replace_int(&mut self, p: usize, v: i64) {
        let Some((_, next)) = self.elem(p) else { return };
        let mut enc = Vec::with_capacity(10);
        append_int(&mut enc, v);
        self.reserve(enc.len());
        self.lp.splice(p..next, enc);
        self.finish_header(0);
    }

    /// Marks the entry whose flags are at `flags_at` deleted and moves it from the live count
    /// to the deleted count; false when it already was.
    pub fn mark_deleted(&mut self, flags_at: usize) -> bool {
        let Some((flags, _)) = self.int_at(flags_at) else { return false };
        if flags & FLAG_DELETED != 0 {
            return false;
        }
        self.replace_int(flags_at, flags | FLAG_DELETED);
        let count = self.count();
        self.replace_int(FIRST_ELEMENT, count - 1);
        let deleted_at = match self.elem(FIRST_ELEMENT) {
            Some((_, p)) => p,
            None => return true,
        };
        let deleted = self.deleted();
        self.replace_int(deleted_at, deleted + 1);
        true
    }

    /// Marks the entry at `flags_at` deleted without touching the counters (streamTrim updates
    /// them once for the whole node with `set_counts`).
    pub fn flag_deleted(&mut self, flags_at: usize) {
        if let Some((flags, _)) = self.int_at(flags_at) {
            self.replace_int(flags_at, flags | FLAG_DELETED);
        }
    }

    pub fn set_counts(&mut self, live: i64, deleted: i64) {
        self.replace_int(FIRST_ELEMENT, live);
        if let Some((_, p)) = self.elem(FIRST_ELEMENT) {
            self.replace_int(p, deleted);
        }
    }

    /// Gives back the allocation beyond the listpack (lpShrinkToFit), when the node fills up.
    pub fn shrink(&mut self) {
        self.lp.shrink_to_fit();
    }

    /// The entries in order (deleted ones included: see `EntryRef::deleted`).
    pub fn entries(&self, master: StreamId) -> Entries<'_> {
        let (fields_at, nfields, first) = self.master_fields().unwrap_or((0, 0, self.end()));
        Entries { node: self, master, fields_at, nfields, fwd: first, back: self.end() }
    }
}

/// At most how many bytes an entry takes (with the terminator): its flags, ID deltas, field
/// count and back-count elements, its values and, unless `same_fields`, its fields.
fn entry_bound(fields_values: &[&[u8]], same_fields: bool) -> usize {
    let numfields = fields_values.len() / 2;
    let data: usize = fields_values.chunks_exact(2).map(|pair| pair[1].len() + if same_fields { 0 } else { pair[0].len() }).sum();
    let elements = 4 + if same_fields { numfields } else { 1 + 2 * numfields };
    data + elements * ELEMENT_OVERHEAD + 1
}

/// One entry of a node, borrowed.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    node: &'a Node,
    pub id: StreamId,
    pub flags: i64,
    /// Where the flags element is (for marking it deleted).
    pub flags_at: usize,
    numfields: i64,
    /// Inline fields and values (or values alone, with SAMEFIELDS).
    data_at: usize,
    master_fields_at: usize,
}

impl<'a> EntryRef<'a> {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    pub fn field_count(&self) -> usize {
        self.numfields.max(0) as usize
    }

    /// The (field, value) pairs in stored order.
    pub fn fields(&self) -> Fields<'a> {
        let same = self.flags & FLAG_SAMEFIELDS != 0;
        Fields {
            node: self.node,
            same,
            field_at: if same { self.master_fields_at } else { self.data_at },
            value_at: self.data_at,
            left: self.field_count(),
        }
    }
}

pub struct Fields<'a> {
    node: &'a Node,
    same: bool,
    field_at: usize,
    value_at: usize,
    left: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Element<'a>, Element<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let node = self.node;
        if self.same {
            let (field, next_field) = node.elem(self.field_at)?;
            let (value, next_value) = node.elem(self.value_at)?;
            self.field_at = next_field;
            self.value_at = next_value;
            Some((field, value))
        } else {
            let (field, p) = node.elem(self.field_at)?;
            let (value, next) = node.elem(p)?;
            self.field_at = next;
            Some((field, value))
        }
    }
}

/// The entries of a node from either end (a double-ended walk, as Redis's iterator walks a
/// node backwards through each entry's lp-count).
pub struct Entries<'a> {
    node: &'a Node,
    master: StreamId,
    fields_at: usize,
    nfields: i64,
    /// The next entry's flags from the front; the position just after the last entry not yet
    /// taken from the back (they meet when the walk is done).
    fwd: usize,
    back: usize,
}

impl<'a> Entries<'a> {
    /// Reads the entry whose flags are at `p`; returns it and where the next one starts.
    fn read(&self, p: usize) -> Option<(EntryRef<'a>, usize)> {
        let node = self.node;
        let (flags, q) = node.int_at(p)?;
        let (ms_delta, q) = node.int_at(q)?;
        let (seq_delta, mut q) = node.int_at(q)?;
        let id = StreamId { ms: self.master.ms.wrapping_add(ms_delta as u64), seq: self.master.seq.wrapping_add(seq_delta as u64) };
        let numfields = if flags & FLAG_SAMEFIELDS != 0 {
            self.nfields
        } else {
            let (n, after) = node.int_at(q)?;
            q = after;
            n
        };
        let data_at = q;
        let elements = if flags & FLAG_SAMEFIELDS != 0 { numfields } else { 2 * numfields };
        for _ in 0..elements {
            q = node.elem(q)?.1;
        }
        let (_, next) = node.elem(q)?; // lp-count
        let entry = EntryRef { node, id, flags, flags_at: p, numfields, data_at, master_fields_at: self.fields_at };
        Some((entry, next))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        if self.fwd >= self.back {
            return None;
        }
        match self.read(self.fwd) {
            Some((e, next)) => {
                self.fwd = next;
                Some(e)
            }
            None => {
                self.fwd = self.back;
                None
            }
        }
    }
}

impl<'a> DoubleEndedIterator for Entries<'a> {
    fn next_back(&mut self) -> Option<EntryRef<'a>> {
        if self.fwd >= self.back {
            return None;
        }
        let lp = &self.node.lp;
        let found = (|| {
            let count_at = element_before(lp, self.back)?;
            let (lp_count, _) = self.node.int_at(count_at)?;
            let mut p = count_at;
            for _ in 0..lp_count {
                p = element_before(lp, p)?;
            }
            Some(p)
        })();
        match found.filter(|&p| p >= self.fwd).and_then(|p| self.read(p).map(|(e, _)| (p, e))) {
            Some((p, e)) => {
                self.back = p;
                Some(e)
            }
            None => {
                self.back = self.fwd;
                None
            }
        }
    }
}

/// Checks a loaded node against its master ID as Redis's streamValidateListpackIntegrity does
/// (deep): the listpack itself, the master entry, each entry's shape and lp-count, IDs inside
/// the node, and the live/deleted counts. Returns the number of live entries.
pub fn validate(lp: &[u8], master: StreamId) -> Result<i64, &'static str> {
    const BAD: &str = "Stream listpack integrity check failed.";
    crate::rdb::validate_listpack(lp).map_err(|_| BAD)?;
    let node = Node { lp: lp.to_vec() };
    let end = node.end();
    let (count, p) = node.int_at(FIRST_ELEMENT).ok_or(BAD)?;
    let (deleted, p) = node.int_at(p).ok_or(BAD)?;
    let (nfields, mut p) = node.int_at(p).ok_or(BAD)?;
    if count < 0 || deleted < 0 || nfields < 0 {
        return Err(BAD);
    }
    for _ in 0..nfields {
        p = node.elem(p).ok_or(BAD)?.1;
    }
    let (zero, mut p) = node.int_at(p).ok_or(BAD)?;
    if zero != 0 {
        return Err(BAD);
    }
    let (mut live, mut dead) = (0i64, 0i64);
    let mut prev: Option<StreamId> = None;
    while p < end {
        let start = p;
        let (flags, q) = node.int_at(p).ok_or(BAD)?;
        let (ms_delta, q) = node.int_at(q).ok_or(BAD)?;
        let (seq_delta, mut q) = node.int_at(q).ok_or(BAD)?;
        let id = StreamId { ms: master.ms.wrapping_add(ms_delta as u64), seq: master.seq.wrapping_add(seq_delta as u64) };
        if id < master || prev.is_some_and(|prev| id <= prev) {
            return Err(BAD);
        }
        prev = Some(id);
        let mut elements = 3i64;
        let n = if flags & FLAG_SAMEFIELDS != 0 {
            nfields
        } else {
            let (n, after) = node.int_at(q).ok_or(BAD)?;
            if n < 0 {
                return Err(BAD);
            }
            q = after;
            elements += 1 + n;
            n
        };
        elements += n;
        for _ in 0..(if flags & FLAG_SAMEFIELDS != 0 { n } else { 2 * n }) {
            q = node.elem(q).ok_or(BAD)?.1;
        }
        let (lp_count, next) = node.int_at(q).ok_or(BAD)?;
        if lp_count != elements || next <= start {
            return Err(BAD);
        }
        if flags & FLAG_DELETED != 0 { dead += 1 } else { live += 1 }
        p = next;
    }
    if live != count || dead != deleted || live + dead == 0 {
        return Err(BAD);
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn texts(node: &Node, master: StreamId, rev: bool) -> Vec<(StreamId, bool, Vec<(Vec<u8>, Vec<u8>)>)> {
        let collect = |e: EntryRef<'_>| {
            let fields = e.fields().map(|(f, v)| {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                f.append_to(&mut a);
                v.append_to(&mut b);
                (a, b)
            });
            (e.id, e.deleted(), fields.collect())
        };
        if rev { node.entries(master).rev().map(collect).collect() } else { node.entries(master).map(collect).collect() }
    }

    /// XADD s 1-1 a 1 b x ; XADD s 1-2 a 2 b y ; XADD s 5-0 c 3 on redis-server 7.0.15, the
    /// node's listpack as DUMP shows it.
    #[test]
    fn layout_matches_redis() {
        let master = id(1, 1);
        let mut n = Node::new(master, &[b"a", b"1", b"b", b"x"]);
        n.append(master, id(1, 2), &[b"a", b"2", b"b", b"y"]);
        n.append(master, id(5, 0), &[b"c", b"3"]);
        let expect: &[u8] = &[
            0x3f, 0, 0, 0, 0x19, 0, 3, 1, 0, 1, 2, 1, 0x81, b'a', 2, 0x81, b'b', 2, 0, 1, // master entry
            2, 1, 0, 1, 0, 1, 1, 1, 0x81, b'x', 2, 5, 1, // SAMEFIELDS 0 0 "1" "x" lp-count 5
            2, 1, 0, 1, 1, 1, 2, 1, 0x81, b'y', 2, 5, 1, // SAMEFIELDS 0 1 "2" "y"
            0, 1, 4, 1, 0xdf, 0xff, 2, 1, 1, 0x81, b'c', 2, 3, 1, 6, 1, 0xff, // 4 -1 1 c "3" lp-count 6
        ];
        assert_eq!(n.bytes(), expect);
        let all = texts(&n, master, false);
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].0, id(5, 0));
        assert_eq!(all[2].2, vec![(b"c".to_vec(), b"3".to_vec())]);
        assert_eq!(all[0].2, vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"x".to_vec())]);
        let mut back = texts(&n, master, true);
        back.reverse();
        assert_eq!(back, all);
        assert_eq!(validate(n.bytes(), master), Ok(3));
    }

    #[test]
    fn a_growing_node_keeps_at_most_an_eighth_spare() {
        let master = id(1, 0);
        let mut n = Node::new(master, &[b"event", b"click", b"user", b"m:1:0"]);
        for j in 2..=100u64 {
            let user = format!("m:{j}:12345");
            n.append(master, id(j, 0), &[b"event", b"click", b"user", user.as_bytes()]);
            let bound = entry_bound(&[b"event", b"click", b"user", user.as_bytes()], true);
            assert!(n.capacity() - n.len_bytes() <= n.len_bytes() / 8 + 2 * bound, "{} of {}", n.capacity(), n.len_bytes());
        }
        assert_eq!(validate(n.bytes(), master), Ok(100));
        // Redis would hold the 4096 bytes it preallocated.
        assert!(n.len_bytes() < 3000 && n.capacity() < 3200, "{} of {}", n.capacity(), n.len_bytes());
    }

    #[test]
    fn deleting_and_walking_both_ways() {
        let master = id(10, 0);
        let mut n = Node::new(master, &[b"f", b"v0"]);
        for i in 1..200u64 {
            let v = format!("v{i}");
            n.append(master, id(10 + i, i % 3), &[b"f", v.as_bytes()]);
        }
        assert_eq!(n.count(), 200);
        let targets: Vec<usize> = n.entries(master).filter(|e| e.id.ms % 7 == 0).map(|e| e.flags_at).collect();
        // Flags positions move when a counter's encoding grows or shrinks: mark from the back.
        for &at in targets.iter().rev() {
            assert!(n.mark_deleted(at));
        }
        assert_eq!(n.count() + n.deleted(), 200);
        assert_eq!(n.deleted() as usize, targets.len());
        let live: Vec<StreamId> = n.entries(master).filter(|e| !e.deleted()).map(|e| e.id).collect();
        let mut live_back: Vec<StreamId> = n.entries(master).rev().filter(|e| !e.deleted()).map(|e| e.id).collect();
        live_back.reverse();
        assert_eq!(live, live_back);
        assert_eq!(live.len() as i64, n.count());
        assert_eq!(validate(n.bytes(), master), Ok(n.count()));
        // Mixed front/back consumption meets in the middle without repeats.
        let mut it = n.entries(master);
        let mut seen = 0;
        loop {
            let a = it.next();
            let b = it.next_back();
            seen += a.is_some() as usize + b.is_some() as usize;
            if a.is_none() || b.is_none() {
                break;
            }
        }
        assert_eq!(seen, 200);
    }

    #[test]
    fn corrupt_nodes_are_refused() {
        let master = id(1, 0);
        let mut n = Node::new(master, &[b"a", b"1"]);
        n.append(master, id(2, 0), &[b"b", b"2", b"c", b"3"]);
        let good = n.bytes().to_vec();
        assert!(validate(&good, master).is_ok());
        for i in 6..good.len() - 1 {
            for v in [0u8, 1, 2, 3, 0x7f, 0x81, 0xf4] {
                let mut m = good.clone();
                m[i] = v;
                let _ = validate(&m, master);
            }
        }
    }
}
