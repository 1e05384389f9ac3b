//! Lists (Redis's quicklist): one packed buffer while small, then a deque of chunks, each a run
//! of packed elements.
//!
//! Public API (for the list commands, the RDB writer/loader, DUMP/RESTORE and DEBUG DIGEST):
//! - `List::new()`, `List::from_items(iter)` (elements head to tail), `ListBuilder` (the RDB
//!   loader's: `push_back`, `push_back_plain`, `push_back_packed`, then `finish`),
//!   `len()`, `is_empty()`, `encoding()` (always "quicklist", as Redis 7.0 reports for every list).
//! - Reading: `iter()` (head to tail, `DoubleEndedIterator`, so `.rev()` walks tail to head),
//!   `iter_from(index)` (forward from an index), `iter_rev_from(index)` (backward from an index),
//!   `get(index)`, `front()`, `back()`. Element slices borrow the list.
//! - Writing: `push_front`, `push_back`, `pop_front`/`pop_back` (return the element),
//!   `drop_front`/`drop_back` (discard it without copying), `set(index, value)`,
//!   `insert_at(index, value)`, `remove_matching(value, count)` (LREM), `retain_range(start, end)`
//!   (LTRIM), `drop_front_n`/`drop_back_n`.
//! - RDB: `quicklist_nodes()` gives the list's quicklist nodes, which are its chunks: each says
//!   whether it is PLAIN (one element, written as a raw string) or PACKED (a listpack), and
//!   lists its elements. Write them as RDB_TYPE_LIST_QUICKLIST_2. `quicklist_node_shapes()`
//!   gives the same nodes as `NodeShape { plain, count }` without collecting elements (the RDB
//!   writer's allocation-free path: it walks `iter()` alongside). `listpack_bytes(node)` gives
//!   the size of the node's listpack (DEBUG OBJECT's ql_uncompressed_size adds these up).
//!
//! Node boundaries are Redis 7.0's: every write follows quicklist.c's rules under the list's
//! fill (`list-max-listpack-size` when the list was created, `set_fill`): pushes fill the end node or start one
//! (`_quicklistNodeAllowInsert`, from each node's listpack size, kept per chunk), LINSERT
//! inserts into the pivot's node, its neighbour or a new node, or splits a full node and merges
//! the nodes around the split (`_quicklistInsert`, `_quicklistMergeNodes`), LSET replaces in
//! place, pops, LREM and LTRIM only drop emptied nodes, and an RDB file's nodes load as they
//! are. An element is PLAIN when it was at least the packed threshold (`set_packed_threshold`,
//! 1 GiB by default) as it was inserted, or came from a PLAIN node of an RDB file.
//! As in Redis a list keeps the fill it was created with (see `OPTS`); SORT ... STORE's lists
//! keep quicklistCreate's -2 (`List::from_items_default_options`); `fill()` gives it.
//!
//! Storage: each element is stored as `varint(len) element reverse-varint(len)`: the leading
//! length lets a reader walk forward, the trailing one (its bytes reversed) walks backward, as a
//! listpack's backlen does. A 10-byte element takes 12 bytes, the same as its listpack entry in
//! Redis (1 header byte, 10 data bytes, 1 backlen byte). Redis stores integer-looking strings
//! more compactly (e.g. "1000" in 3 bytes, ours 6). A `List` is a 16-byte handle held inline in
//! its keyspace entry, in one of two forms:
//! - packed: a list that is one packed node, in ONE exact-size buffer
//!   `[count: u16][listpack bytes: u24][options slot: u8][entries]` (no allocation when empty), reallocated on
//!   every write as Redis reallocates a listpack: a list of ten 10-byte elements costs 126
//!   bytes (a 144-byte malloc chunk) where Redis holds a quicklist (40), its node (32) and the
//!   listpack (127).
//! - chunked (chunked.rs): past one node, a deque of chunks, one per node; the end chunks keep
//!   free room at their outer ends (at most an eighth of their size), so pushes at either end
//!   are O(1) amortized. A chunked list that shrinks to one packed chunk of at most
//!   `REPACK_BYTES` is packed again (so a list hovering at a node boundary does not flip-flop).

use crate::numfmt;
use super::varint;
mod chunked;
use chunked::Chunked;
use std::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;


/// Redis 7.0's quicklist `packed_threshold` by default: elements of at least this size (1 GiB)
/// go into PLAIN nodes of their own.
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;

/// The threshold in force (DEBUG QUICKLIST-PACKED-THRESHOLD changes it, as Redis's global
/// `packed_threshold`; a forked child sees the value of the fork).
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(DEFAULT_PACKED_THRESHOLD);

/// Redis's quicklistisSetPackedThreshold: 0 restores the default; above 4 GiB - 1 MiB is refused.
pub fn set_packed_threshold(bytes: u64) -> bool {
    if bytes > (1u64 << 32) - (1 << 20) { return false; }
    let bytes = if bytes == 0 { DEFAULT_PACKED_THRESHOLD } else { bytes as usize };
    PACKED_THRESHOLD.store(bytes, Ordering::Relaxed);
    true
}

/// Redis's isLargeElement: such an element is stored in a PLAIN node when it is inserted.
#[inline]
fn is_large(elem: &[u8]) -> bool { elem.len() >= PACKED_THRESHOLD.load(Ordering::Relaxed) }

/// A list's quicklist options, fixed when the list is created as Redis fixes a quicklist's
/// `fill` (quicklistCreate + quicklistSetOptions with the config of that moment): the list
/// keeps them whatever CONFIG SET says later. Lists hold them as a one-byte index into an
/// append-only table of the (fill, compress) pairs in use, as the 16-byte handle has no room
/// for the pair itself: slot 0 is quicklistCreate's own (-2, 0), which SORT ... STORE's lists
/// keep. A pair is one `u32`: fill (i16) in the low half, compress depth in the high half.
const OPTS_SLOTS: usize = 256;
/// Once 255 distinct pairs have been configured (in one process), lists created under a new
/// pair use this slot, which reads the configuration of the moment (the table cannot forget
/// a pair some list may still use).
const OPTS_CURRENT_CONFIG: u8 = (OPTS_SLOTS - 1) as u8;
/// The default pair: fill -2, compress 0.
pub const DEFAULT_OPTS: u8 = 0;
static OPTS: [AtomicU32; OPTS_SLOTS] = [const { AtomicU32::new(pack_opts(-2, 0)) }; OPTS_SLOTS];
/// How many slots are in use (slot 0 always).
static OPTS_USED: Mutex<usize> = Mutex::new(1);
/// The configured pair (list-max-listpack-size, list-compress-depth) and its slot.
static CONFIG: AtomicU32 = AtomicU32::new(pack_opts(-2, 0));
static CONFIG_SLOT: AtomicU8 = AtomicU8::new(DEFAULT_OPTS);

#[cfg(test)]
thread_local! {
    /// Tests configure lists per thread (they run in parallel): (pair, slot).
    static TEST_CONFIG: std::cell::Cell<(u32, u8)> = const { std::cell::Cell::new((pack_opts(-2, 0), DEFAULT_OPTS)) };
}

const fn pack_opts(fill: i64, compress: u32) -> u32 { (fill as i16 as u16 as u32) | (compress << 16) }

/// The configured pair and its slot.
#[inline]
fn config() -> (u32, u8) {
    #[cfg(test)]
    return TEST_CONFIG.with(|c| c.get());
    #[cfg(not(test))]
    (CONFIG.load(Ordering::Relaxed), CONFIG_SLOT.load(Ordering::Relaxed))
}

/// The slot new lists take (the configuration of the moment).
#[inline]
fn config_slot() -> u8 { config().1 }

fn set_config(fill: i64, compress: u32) {
    let pair = pack_opts(fill, compress);
    let slot = {
        let mut used = OPTS_USED.lock().unwrap_or_else(|e| e.into_inner());
        match (0..*used).find(|&i| OPTS[i].load(Ordering::Relaxed) == pair) {
            Some(i) => i as u8,
            None if *used < OPTS_CURRENT_CONFIG as usize => {
                OPTS[*used].store(pair, Ordering::Relaxed);
                *used += 1;
                (*used - 1) as u8
            }
            None => OPTS_CURRENT_CONFIG,
        }
    };
    #[cfg(test)]
    TEST_CONFIG.with(|c| c.set((pair, slot)));
    CONFIG.store(pair, Ordering::Relaxed);
    CONFIG_SLOT.store(slot, Ordering::Relaxed);
}

/// The (fill, compress) pair of slot `slot`.
#[inline]
fn opts_pair(slot: u8) -> u32 {
    if slot == OPTS_CURRENT_CONFIG { config().0 } else { OPTS[slot as usize].load(Ordering::Relaxed) }
}

/// The fill of the lists of slot `slot`.
#[inline]
fn slot_fill(slot: u8) -> i64 { opts_pair(slot) as u16 as i16 as i64 }

/// Sets `list-max-listpack-size` (Redis's quicklist `fill`), clamped as quicklistSetFill
/// clamps it, for the lists created from now on.
pub fn set_fill(fill: i64) {
    let (pair, _) = config();
    set_config(fill.clamp(-5, FILL_MAX), pair >> 16);
}

/// Redis's COMPRESS_MAX: quicklistSetCompressDepth clamps `list-compress-depth` to 16 bits.
const COMPRESS_MAX: i64 = (1 << 16) - 1;

/// Sets `list-compress-depth` (Redis's quicklist `compress`) for the lists created from now on.
pub fn set_compress_depth(depth: i64) {
    let (pair, _) = config();
    set_config(pair as u16 as i16 as i64, depth.clamp(0, COMPRESS_MAX) as u32);
}

/// Limits from quicklist.c: the size classes of negative fill values, the byte limit that
/// also applies to count-limited nodes, and the clamping range of `list-max-listpack-size`.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SIZE_SAFETY_LIMIT: usize = 8192;
const FILL_MAX: i64 = (1 << 15) - 1;
/// An empty listpack: 4-byte total size, 2-byte count, 1-byte terminator.
const LISTPACK_EMPTY_BYTES: usize = 7;

// ---------------------------------------------------------------------------------------------
// Entry encoding


/// Bytes one element takes inside a chunk.
#[inline]
fn entry_size(elem_len: usize) -> usize { 2 * varint::size(elem_len) + elem_len }


/// Writes the whole entry for `elem` into `out` (exactly `entry_size(elem.len())` bytes).
fn write_entry(out: &mut [u8], elem: &[u8]) {
    let n = varint::write(out, elem.len());
    out[n..n + elem.len()].copy_from_slice(elem);
    let tail = &mut out[n + elem.len()..n + elem.len() + n];
    varint::write(tail, elem.len());
    tail.reverse();
}

/// Decodes the entry starting at `off`: (element start, element end, next entry offset).
#[inline]
fn decode_forward(data: &[u8], off: usize) -> (usize, usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = off;
    loop {
        let b = data[i];
        len |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 { break; }
        shift += 7;
    }
    let vlen = i - off;
    (i, i + len, i + len + vlen)
}

/// Decodes the entry ending at `end`: (entry start, element start, element end).
#[inline]
fn decode_backward(data: &[u8], end: usize) -> (usize, usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = data[i];
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 { break; }
        shift += 7;
    }
    let vlen = end - i;
    let elem_end = i;
    let elem_start = elem_end - len;
    (elem_start - vlen, elem_start, elem_end)
}


/// The listpack bytes of the entries in `data` (without a listpack's header and terminator).
fn entries_lp(data: &[u8]) -> usize {
    let mut off = 0;
    let mut lp = 0;
    while off < data.len() {
        let (s, e, next) = decode_forward(data, off);
        lp += listpack_entry_bytes(&data[s..e]);
        off = next;
    }
    lp
}

fn encode_entry(elem: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; entry_size(elem.len())];
    write_entry(&mut v, elem);
    v
}

/// Byte offsets within `data` (`count` entries) of element `i`: (entry start, element start,
/// element end, next entry), walking from the nearer end.
fn locate(data: &[u8], count: usize, i: usize) -> (usize, usize, usize, usize) {
    if i < count / 2 {
        let mut off = 0;
        for _ in 0..i {
            off = decode_forward(data, off).2;
        }
        let (s, e, next) = decode_forward(data, off);
        (off, s, e, next)
    } else {
        let mut end = data.len();
        for _ in 0..(count - 1 - i) {
            end = decode_backward(data, end).0;
        }
        let (entry, s, e) = decode_backward(data, end);
        (entry, s, e, end)
    }
}

/// LREM's removal pass over consecutive buffers of entries (the list's chunks in order).
struct RemovalPass<'v> {
    value: &'v [u8],
    limit: usize,
    /// Elements before this index stay (the pass from the tail starts at the earliest match).
    first_index: usize,
    removed: usize,
    /// The list index of the next entry the pass reads.
    index: usize,
}

impl RemovalPass<'_> {
    /// Drops the matching entries of `buf[start..]` in place; returns how many entries stay.
    fn run(&mut self, buf: &mut Vec<u8>, start: usize) -> usize {
        let mut read = start;
        let mut write = start;
        let end = buf.len();
        let mut kept = 0;
        while read < end {
            let (s, e, next) = decode_forward(buf, read);
            let remove = self.removed < self.limit && self.index >= self.first_index && &buf[s..e] == self.value;
            if remove {
                self.removed += 1;
            } else {
                if write != read { buf.copy_within(read..next, write); }
                write += next - read;
                kept += 1;
            }
            read = next;
            self.index += 1;
        }
        buf.truncate(write);
        kept
    }
}

// ---------------------------------------------------------------------------------------------
// The packed form: one exact-size buffer,
// `[count: u16 LE][listpack bytes: u24 LE][options slot: u8][entries]`, no allocation at all
// when empty. It is one quicklist node: the list's only, packed node. An empty list without a
// buffer takes the configured options at its first push (an empty list only lives within the
// command that creates it); a list that empties keeps a header of its own when its options are
// not the configured ones (LMOVE from a list of one element to itself keeps the list).

const PACKED_HEADER: usize = 6;
/// A chunked list whose only chunk holds at most this many entry bytes (and is not PLAIN) is
/// packed again: a list pushed and popped around a node boundary is not converted back and
/// forth on every command.
const REPACK_BYTES: usize = 2048;
/// The packed form's limits (its header's fields).
const PACKED_MAX_COUNT: usize = u16::MAX as usize;
const PACKED_MAX_LP: usize = (1 << 24) - 1;

#[inline]
fn packed_count(buf: &[u8]) -> usize {
    if buf.is_empty() { 0 } else { u16::from_le_bytes([buf[0], buf[1]]) as usize }
}

/// The listpack size of the node (Redis's `node->sz`).
#[inline]
fn packed_lp(buf: &[u8]) -> usize {
    if buf.is_empty() { LISTPACK_EMPTY_BYTES } else { u32::from_le_bytes([buf[2], buf[3], buf[4], 0]) as usize }
}

/// The list's options slot (the configured one while it has no buffer).
#[inline]
fn packed_slot(buf: &[u8]) -> u8 {
    if buf.is_empty() { config_slot() } else { buf[5] }
}

/// The buffer of a list of options `slot` that has lost its last element: none when its
/// options are the configured ones, else a header that keeps them.
fn packed_emptied(slot: u8) -> Box<[u8]> {
    if slot == config_slot() { return Box::default(); }
    let mut v = vec![0u8; PACKED_HEADER];
    write_packed_header(&mut v, 0, LISTPACK_EMPTY_BYTES, slot);
    v.into_boxed_slice()
}

#[inline]
fn packed_entries(buf: &[u8]) -> &[u8] { buf.get(PACKED_HEADER..).unwrap_or(&[]) }

fn write_packed_header(buf: &mut [u8], count: usize, lp: usize, slot: u8) {
    buf[..2].copy_from_slice(&(count as u16).to_le_bytes());
    buf[2..5].copy_from_slice(&(lp as u32).to_le_bytes()[..3]);
    buf[5] = slot;
}

/// A packed buffer holding `count` elements as `entries` (listpack size `lp`), options `slot`.
fn packed_from(entries: &[u8], count: usize, lp: usize, slot: u8) -> Box<[u8]> {
    if count == 0 { return packed_emptied(slot); }
    let mut v = vec![0u8; PACKED_HEADER];
    v.reserve_exact(entries.len());
    write_packed_header(&mut v, count, lp, slot);
    v.extend_from_slice(entries);
    v.into_boxed_slice()
}

/// Inserts `elem` as an entry at byte `at` of the entries, reallocating to the exact new size.
fn packed_insert(buf: &mut Box<[u8]>, at: usize, elem: &[u8]) {
    let n = entry_size(elem.len());
    let (count, lp, slot) = (packed_count(buf) + 1, packed_lp(buf) + listpack_entry_bytes(elem), packed_slot(buf));
    let mut v = Vec::from(std::mem::take(buf));
    if v.is_empty() {
        v.reserve_exact(PACKED_HEADER + n);
        v.resize(PACKED_HEADER, 0);
    } else {
        v.reserve_exact(n);
    }
    let at = PACKED_HEADER + at;
    let old = v.len();
    v.resize(old + n, 0);
    v.copy_within(at..old, at + n);
    write_entry(&mut v[at..at + n], elem);
    write_packed_header(&mut v, count, lp, slot);
    *buf = v.into_boxed_slice();
}

/// Replaces the entries in byte range `range` of the entries (`removed` elements) with
/// `with` (`added` elements), at the exact new size; the buffer empties with its last element.
fn packed_splice(buf: &mut Box<[u8]>, range: std::ops::Range<usize>, removed: usize, with: &[u8], added: usize) {
    let count = packed_count(buf) + added - removed;
    let slot = packed_slot(buf);
    if count == 0 {
        *buf = packed_emptied(slot);
        return;
    }
    let entries = packed_entries(buf);
    let lp = packed_lp(buf) - entries_lp(&entries[range.clone()]) + entries_lp(with);
    super::splice_exact(buf, PACKED_HEADER + range.start..PACKED_HEADER + range.end, with);
    write_packed_header(buf, count, lp, slot);
}

/// `_quicklistNodeAllowInsert` for the packed form's node; an empty list has no node yet (the
/// element starts one, whatever its size).
#[inline]
fn packed_allows(buf: &[u8], elem: &[u8]) -> bool {
    let count = packed_count(buf);
    if count == 0 { return LISTPACK_EMPTY_BYTES + listpack_entry_bytes(elem) <= PACKED_MAX_LP; }
    count < PACKED_MAX_COUNT && node_allows_insert(packed_lp(buf), count, slot_fill(buf[5]), elem.len())
}

// ---------------------------------------------------------------------------------------------
// The list

/// A list: a 16-byte handle held inline in its keyspace entry.
#[derive(Clone)]
pub struct List {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// One packed node (no PLAIN element): one exact-size buffer, as a small list is
    /// one listpack node in Redis.
    Packed(Box<[u8]>),
    Chunked(Box<Chunked>),
}

/// A read-only view of a list's chunks (the packed form is one chunk).
#[derive(Clone, Copy)]
enum View<'a> {
    Packed { entries: &'a [u8], count: usize },
    Chunked(&'a Chunked),
}

impl<'a> View<'a> {
    #[inline]
    fn chunks(self) -> usize {
        match self {
            View::Packed { .. } => 1,
            View::Chunked(c) => c.chunks.len(),
        }
    }

    /// Chunk `i`'s entries, element count and PLAIN flag (a compressed chunk is decoded).
    #[inline]
    fn chunk(self, i: usize) -> Option<(&'a [u8], usize, bool)> {
        match self {
            View::Packed { entries, count } => (i == 0).then_some((entries, count, false)),
            View::Chunked(c) => c.chunk(i),
        }
    }

    /// Chunk `i`'s element count and PLAIN flag, without its entries.
    #[inline]
    fn shape(self, i: usize) -> Option<(usize, bool)> {
        match self {
            View::Packed { count, .. } => (i == 0).then_some((count, false)),
            View::Chunked(c) => c.chunks.get(i).map(|c| (c.count as usize, c.plain)),
        }
    }

    #[inline]
    fn entries(self, i: usize) -> &'a [u8] { self.chunk(i).map_or(&[][..], |c| c.0) }

    /// The chunk holding element `index` (of `len`) and the element's index within it.
    fn chunk_of(self, index: usize, len: usize) -> Option<(usize, usize)> {
        if index >= len { return None; }
        if index < len / 2 {
            let mut i = index;
            for ci in 0..self.chunks() {
                let n = self.shape(ci)?.0;
                if i < n { return Some((ci, i)); }
                i -= n;
            }
        } else {
            let mut from_end = len - 1 - index;
            for ci in (0..self.chunks()).rev() {
                let n = self.shape(ci)?.0;
                if from_end < n { return Some((ci, n - 1 - from_end)); }
                from_end -= n;
            }
        }
        None
    }
}

impl Default for List {
    fn default() -> Self { List::new() }
}

impl List {
    /// An empty list (no allocation).
    pub fn new() -> List { List { repr: Repr::Packed(Box::default()) } }

    /// A list holding `items` head to tail, with the configured options (the loaders').
    pub fn from_items<I, T>(items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        ListBuilder::new().extend(items)
    }

    /// A list holding `items` head to tail with quicklistCreate's own options (fill -2,
    /// compress 0) whatever the configuration: SORT ... STORE's destination, which Redis 7.0
    /// creates with createQuicklistObject and no quicklistSetOptions.
    pub fn from_items_default_options<I, T>(items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        ListBuilder { slot: DEFAULT_OPTS, ..ListBuilder::new() }.extend(items)
    }

    fn view(&self) -> View<'_> {
        match &self.repr {
            Repr::Packed(b) => View::Packed { entries: packed_entries(b), count: packed_count(b) },
            Repr::Chunked(c) => c.view(),
        }
    }

    /// The chunked form, converting a packed list to it first.
    fn chunked(&mut self) -> &mut Chunked {
        if let Repr::Packed(b) = &mut self.repr {
            let (count, lp, slot) = (packed_count(b), packed_lp(b), packed_slot(b));
            let mut entries = Vec::from(std::mem::take(b));
            entries.drain(..entries.len().min(PACKED_HEADER));
            self.repr = Repr::Chunked(Box::new(Chunked::from_entries(entries, count, lp, slot)));
        }
        match &mut self.repr {
            Repr::Chunked(c) => c,
            Repr::Packed(_) => unreachable!("converted above"),
        }
    }

    /// Packs a chunked list again once it is small (after removals).
    fn repack_if_small(&mut self) {
        if let Repr::Chunked(c) = &self.repr {
            if let Some((entries, count, lp)) = c.single_small_chunk(REPACK_BYTES, PACKED_MAX_COUNT) {
                self.repr = Repr::Packed(packed_from(entries, count, lp, c.slot()));
            }
        }
    }

    /// The packed buffer when its node allows `elem` (`_quicklistNodeAllowInsert`; an empty
    /// list takes any element not large), so the list stays one packed node; None when the
    /// list is, or must become, chunked.
    #[inline]
    fn packed_allowing(&mut self, elem: &[u8]) -> Option<&mut Box<[u8]>> {
        match &mut self.repr {
            Repr::Packed(b) if !is_large(elem) && packed_allows(b, elem) => Some(b),
            _ => None,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(b) => packed_count(b),
            Repr::Chunked(c) => c.len.get(),
        }
    }

    /// The list's quicklist fill (DEBUG OBJECT's ql_listpack_max), fixed when it was created.
    pub fn fill(&self) -> i64 { slot_fill(self.slot()) }

    /// The list's quicklist compress depth (`list-compress-depth` when it was created): the
    /// chunks further than this from both ends are kept LZF-compressed (chunked.rs).
    pub fn compress_depth(&self) -> usize { (opts_pair(self.slot()) >> 16) as usize }

    /// Drops what reads decoded of compressed chunks. Nothing to do for a list that does not
    /// compress or was not read.
    #[inline]
    pub fn release(&mut self) {
        if let Repr::Chunked(c) = &mut self.repr { c.release_caches(); }
    }

    /// A read command walked elements `first..=last` with Redis's list iterator (LRANGE,
    /// LINDEX, LPOS, SORT, LINSERT's pivot search): in Redis each node it passes is given to
    /// quicklistCompress, which compresses a raw interior node; the same happens to the chunks
    /// holding those elements here, and what the read decoded is dropped. Nothing for a list
    /// that does not compress.
    #[inline]
    pub fn walked(&mut self, first: usize, last: usize) {
        if let Repr::Chunked(c) = &mut self.repr {
            if c.depth() == 0 { return; }
            match (c.chunk_index(first), c.chunk_index(last)) {
                (Some(a), Some(b)) => c.walked(a.min(b)..a.max(b) + 1),
                _ => c.release_caches(),
            }
        }
    }

    /// DEBUG OBJECT's ql_nodes and ql_uncompressed_size: the node count and the sum of the
    /// nodes' sizes (listpack bytes, or a PLAIN node's element length), compressed or not.
    pub fn node_stats(&self) -> (usize, usize) {
        match &self.repr {
            Repr::Packed(b) => (1, packed_lp(b)),
            Repr::Chunked(c) => (c.chunks.len(), c.chunks.iter().map(|k| k.lp).sum()),
        }
    }

    /// The list's nodes as the RDB writer needs them (see `RdbNode`); a compressed node's
    /// bytes are given as they are, so writing it is a copy.
    pub fn rdb_nodes(&self) -> RdbNodes<'_> { RdbNodes { list: self, next: 0 } }


    fn slot(&self) -> u8 {
        match &self.repr {
            Repr::Packed(b) => packed_slot(b),
            Repr::Chunked(c) => c.slot(),
        }
    }

    #[inline] pub fn is_empty(&self) -> bool { self.len() == 0 }

    /// OBJECT ENCODING: Redis 7.0 stores every list as a quicklist.
    pub fn encoding(&self) -> &'static str { "quicklist" }

    /// How many chunks hold the elements (lazy free's measure of the work to free a list).
    pub fn chunk_count(&self) -> usize { self.view().chunks() }

    /// MEMORY USAGE: the malloc chunks the list holds beyond its handle.
    pub fn memory_usage(&self) -> usize {
        use crate::alloc::chunk_size;
        match &self.repr {
            Repr::Packed(b) => if b.is_empty() { 0 } else { chunk_size(b.len()) },
            Repr::Chunked(c) => chunk_size(std::mem::size_of::<Chunked>()) + c.memory_usage(),
        }
    }

    /// Heap bytes used (requested sizes, without malloc's rounding).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Packed(b) => b.len(),
            Repr::Chunked(c) => std::mem::size_of::<Chunked>() + c.heap_bytes(),
        }
    }

    /// A cache hint for the memory a walk of the list starts with (the RDB writer hints values
    /// a few keys ahead): a packed list's first bytes, or the chunked form's table header.
    #[inline]
    pub fn prefetch_start(&self) {
        match &self.repr {
            Repr::Packed(b) => crate::prefetch::prefetch_bytes(b, 64),
            Repr::Chunked(c) => crate::prefetch::prefetch(&**c),
        }
    }

    /// Appends `elem`, in a PLAIN node of its own when it is large (Redis's quicklistPush).
    pub fn push_back(&mut self, elem: &[u8]) {
        match self.packed_allowing(elem) {
            Some(b) => {
                let end = packed_entries(b).len();
                packed_insert(b, end, elem);
            }
            None => self.chunked().push_back(elem),
        }
    }

    pub fn push_front(&mut self, elem: &[u8]) {
        match self.packed_allowing(elem) {
            Some(b) => packed_insert(b, 0, elem),
            None => self.chunked().push_front(elem),
        }
    }

    pub fn front(&self) -> Option<&[u8]> {
        let entries = self.view().entries(0);
        if entries.is_empty() { return None; }
        let (s, e, _) = decode_forward(entries, 0);
        Some(&entries[s..e])
    }

    pub fn back(&self) -> Option<&[u8]> {
        let view = self.view();
        let entries = view.entries(view.chunks().checked_sub(1)?);
        if entries.is_empty() { return None; }
        let (_, s, e) = decode_backward(entries, entries.len());
        Some(&entries[s..e])
    }

    /// Removes the head element; false when the list was empty.
    pub fn drop_front(&mut self) -> bool {
        match &mut self.repr {
            Repr::Packed(b) => {
                if packed_count(b) == 0 { return false; }
                let (_, _, next) = decode_forward(packed_entries(b), 0);
                packed_splice(b, 0..next, 1, &[], 0);
                true
            }
            Repr::Chunked(c) => {
                let dropped = c.drop_front();
                self.repack_if_small();
                dropped
            }
        }
    }

    /// Removes the tail element; false when the list was empty.
    pub fn drop_back(&mut self) -> bool {
        match &mut self.repr {
            Repr::Packed(b) => {
                if packed_count(b) == 0 { return false; }
                let entries = packed_entries(b);
                let (entry, _, _) = decode_backward(entries, entries.len());
                let end = entries.len();
                packed_splice(b, entry..end, 1, &[], 0);
                true
            }
            Repr::Chunked(c) => {
                let dropped = c.drop_back();
                self.repack_if_small();
                dropped
            }
        }
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let v = self.front()?.to_vec();
        self.drop_front();
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let v = self.back()?.to_vec();
        self.drop_back();
        Some(v)
    }

    /// Removes the first `n` elements (fewer if the list is shorter).
    pub fn drop_front_n(&mut self, n: usize) {
        if n == 0 { return; }
        match &mut self.repr {
            Repr::Packed(b) => {
                let count = packed_count(b);
                if n >= count {
                    *b = packed_emptied(packed_slot(b));
                    return;
                }
                let (_, _, _, next) = locate(packed_entries(b), count, n - 1);
                packed_splice(b, 0..next, n, &[], 0);
            }
            Repr::Chunked(c) => {
                c.drop_front_n(n);
                self.repack_if_small();
            }
        }
    }

    /// Removes the last `n` elements (fewer if the list is shorter).
    pub fn drop_back_n(&mut self, n: usize) {
        if n == 0 { return; }
        match &mut self.repr {
            Repr::Packed(b) => {
                let count = packed_count(b);
                if n >= count {
                    *b = packed_emptied(packed_slot(b));
                    return;
                }
                let entries = packed_entries(b);
                let (entry, _, _, _) = locate(entries, count, count - n);
                let end = entries.len();
                packed_splice(b, entry..end, n, &[], 0);
            }
            Repr::Chunked(c) => {
                c.drop_back_n(n);
                self.repack_if_small();
            }
        }
    }

    /// LTRIM: keeps elements `[start, end]` (inclusive, already within bounds), drops the rest.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let len = self.len();
        if start > end || start >= len {
            self.clear();
            return;
        }
        let end = end.min(len - 1);
        self.drop_back_n(len - 1 - end);
        self.drop_front_n(start);
    }

    pub fn clear(&mut self) { self.repr = Repr::Packed(packed_emptied(self.slot())); }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let view = self.view();
        let (ci, i) = view.chunk_of(index, self.len())?;
        let (entries, count, _) = view.chunk(ci)?;
        let (_, s, e, _) = locate(entries, count, i);
        Some(&entries[s..e])
    }

    /// Replaces element `index`; false when out of range. A large value takes a PLAIN node of
    /// its own; a plain node given a small value becomes packed (quicklistReplaceEntry).
    pub fn set(&mut self, index: usize, value: &[u8]) -> bool {
        if index >= self.len() { return false; }
        if let Repr::Packed(b) = &mut self.repr {
            // In place, however large the node grows (quicklistReplaceEntry's lpReplace).
            let entries = packed_entries(b);
            let (entry, _, _, next) = locate(entries, packed_count(b), index);
            if !is_large(value) && packed_lp(b) + listpack_entry_bytes(value) <= PACKED_MAX_LP {
                packed_splice(b, entry..next, 1, &encode_entry(value), 1);
                return true;
            }
        }
        let replaced = self.chunked().set(index, value);
        self.repack_if_small();
        replaced
    }

    /// LINSERT: inserts `value` after (or before) element `index`, as Redis's _quicklistInsert
    /// does (see `Chunked::insert_beside`); nothing when `index` is out of range.
    pub fn insert_next_to(&mut self, index: usize, after: bool, value: &[u8]) {
        let len = self.len();
        if index >= len { return; }
        if let Some(b) = self.packed_allowing(value) {
            let (entry, _, _, next) = locate(packed_entries(b), len, index);
            packed_insert(b, if after { next } else { entry }, value);
        } else {
            self.chunked().insert_next_to(index, after, value);
            self.repack_if_small();
        }
    }

    /// LREM: removes elements equal to `value`, at most `count` of them from the head when
    /// `count > 0`, at most `-count` from the tail when `count < 0`, all when `count == 0`.
    /// Returns how many were removed.
    pub fn remove_matching(&mut self, value: &[u8], count: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs().min(usize::MAX as u64) as usize };
        // From the tail: find the index of the earliest match to remove, then remove every
        // match from there on (exactly the last `limit` matches).
        let first_index = if count < 0 {
            let mut seen = 0;
            let mut from = None;
            for (i, e) in self.iter().enumerate().rev() {
                if e == value {
                    seen += 1;
                    from = Some(i);
                    if seen == limit { break; }
                }
            }
            match from {
                Some(i) => i,
                None => {
                    // Redis's iterator walked the whole list from the tail.
                    let len = self.len();
                    self.walked(0, len.saturating_sub(1));
                    return 0;
                }
            }
        } else {
            0
        };
        match &mut self.repr {
            Repr::Packed(b) => {
                if packed_count(b) == 0 { return 0; }
                let mut pass = RemovalPass { value, limit, first_index, removed: 0, index: 0 };
                let mut v = Vec::from(std::mem::take(b));
                let (lp, slot) = (packed_lp(&v), packed_slot(&v));
                let kept = pass.run(&mut v, PACKED_HEADER);
                *b = if kept == 0 {
                    packed_emptied(slot)
                } else {
                    write_packed_header(&mut v, kept, lp - pass.removed * listpack_entry_bytes(value), slot);
                    v.into_boxed_slice()
                };
                pass.removed
            }
            Repr::Chunked(c) => {
                let removed = c.remove_matching_from(value, limit, first_index, count < 0);
                self.repack_if_small();
                removed
            }
        }
    }

    /// Calls `f` with every element, head to tail, leaving no decoded copy of a compressed
    /// chunk behind (for walks through `&self` that cannot `release` afterwards).
    pub fn for_each(&self, f: impl FnMut(&[u8])) {
        match &self.repr {
            Repr::Packed(_) => self.iter().for_each(f),
            Repr::Chunked(c) => c.for_each(f),
        }
    }

    /// Head to tail; `.rev()` walks tail to head.
    pub fn iter(&self) -> Iter<'_> {
        let view = self.view();
        Iter { view, front_chunk: 0, front_data: None, front_off: 0, back_chunk: view.chunks(), back_end: 0, remaining: self.len() }
    }

    /// Head to tail starting at element `index` (empty when out of range).
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        let mut it = self.iter();
        match it.view.chunk_of(index, self.len()) {
            Some((ci, i)) => {
                let (entries, count, _) = it.view.chunk(ci).expect("chunk_of found it");
                it.front_chunk = ci;
                it.front_off = locate(entries, count, i).0;
                it.remaining = self.len() - index;
            }
            None => it.remaining = 0,
        }
        it
    }

    /// Tail to head starting at element `index` (inclusive; empty when out of range).
    pub fn iter_rev_from(&self, index: usize) -> std::iter::Rev<Iter<'_>> {
        let mut it = self.iter();
        match it.view.chunk_of(index, self.len()) {
            Some((ci, i)) => {
                let (entries, count, _) = it.view.chunk(ci).expect("chunk_of found it");
                it.back_chunk = ci + 1;
                it.back_end = locate(entries, count, i).3;
                it.remaining = index + 1;
            }
            None => it.remaining = 0,
        }
        it.rev()
    }

    /// The list's quicklist nodes (its chunks are Redis's nodes), each with its elements.
    pub fn quicklist_nodes(&self) -> QuicklistNodes<'_> {
        QuicklistNodes { shapes: self.quicklist_node_shapes(), elements: self.iter() }
    }

    /// The same nodes as `quicklist_nodes`, as (plain, count) shapes only: nothing allocated,
    /// for the RDB writer, which walks `iter()` alongside.
    pub fn quicklist_node_shapes(&self) -> QuicklistNodeShapes<'_> {
        QuicklistNodeShapes { view: self.view(), next: 0 }
    }
}

/// Builds a list element by element at the tail (the RDB loader): while the list can stay
/// packed, its buffer grows as a Vec does and is trimmed to its exact size once at the end,
/// instead of a reallocation per element. `push_back` pushes as Redis's quicklistPushTail;
/// `start_packed_node` + `push_back_packed` and `push_back_plain` rebuild an RDB file's nodes
/// as they are (quicklistAppendListpack / quicklistAppendPlainNode).
pub struct ListBuilder {
    /// The packed buffer being built (its header written by `finish`), empty until an element.
    packed: Vec<u8>,
    count: usize,
    lp: usize,
    chunked: Option<Box<Chunked>>,
    /// The next `push_back_packed` starts a node.
    node_starts: bool,
    /// The list's options (the configured ones when the builder was made).
    slot: u8,
}

impl Default for ListBuilder {
    fn default() -> Self { ListBuilder::new() }
}

impl ListBuilder {
    pub fn new() -> ListBuilder {
        ListBuilder { packed: Vec::new(), count: 0, lp: LISTPACK_EMPTY_BYTES, chunked: None, node_starts: false, slot: config_slot() }
    }

    fn extend<I, T>(mut self, items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        for item in items {
            self.push_back(item.as_ref());
        }
        self.finish()
    }

    /// Appends `elem` as quicklistPushTail does (a PLAIN node of its own when it is large).
    pub fn push_back(&mut self, elem: &[u8]) {
        if self.chunked.is_none() && !is_large(elem) && (self.count == 0 || (self.count < PACKED_MAX_COUNT && node_allows_insert(self.lp, self.count, slot_fill(self.slot), elem.len()))) {
            self.append_packed(elem);
        } else {
            self.spilled().push_back(elem);
        }
    }

    /// Appends `elem` in a PLAIN node of its own (an RDB node stored PLAIN).
    pub fn push_back_plain(&mut self, elem: &[u8]) {
        self.spilled().push_back_plain(elem);
        self.node_starts = true;
    }

    /// The next `push_back_packed` element starts a new node (an RDB file's PACKED node).
    pub fn start_packed_node(&mut self) { self.node_starts = true; }

    /// Appends `elem` to the current packed node whatever its size (an RDB node stored PACKED).
    pub fn push_back_packed(&mut self, elem: &[u8]) {
        let new_node = std::mem::take(&mut self.node_starts);
        let fits_packed = self.count < PACKED_MAX_COUNT && self.lp + listpack_entry_bytes(elem) <= PACKED_MAX_LP;
        if self.chunked.is_none() && (self.count == 0 || (!new_node && fits_packed)) {
            self.append_packed(elem);
        } else {
            self.spilled().push_back_packed(elem, new_node);
        }
    }

    fn append_packed(&mut self, elem: &[u8]) {
        if self.packed.is_empty() { self.packed.resize(PACKED_HEADER, 0); }
        let at = self.packed.len();
        self.packed.resize(at + entry_size(elem.len()), 0);
        write_entry(&mut self.packed[at..], elem);
        self.count += 1;
        self.lp += listpack_entry_bytes(elem);
    }

    /// The chunked list, started from the elements gathered so far.
    fn spilled(&mut self) -> &mut Chunked {
        if self.chunked.is_none() {
            let mut entries = std::mem::take(&mut self.packed);
            entries.drain(..entries.len().min(PACKED_HEADER));
            self.chunked = Some(Box::new(Chunked::from_entries(entries, self.count, self.lp, self.slot)));
        }
        self.chunked.as_mut().expect("set above")
    }

    pub fn finish(self) -> List {
        match self.chunked {
            Some(mut c) => {
                c.compact_tail();
                c.compress_interior();
                List { repr: Repr::Chunked(c) }
            }
            None if self.count == 0 => List { repr: Repr::Packed(packed_emptied(self.slot)) },
            None => {
                let mut v = self.packed;
                write_packed_header(&mut v, self.count, self.lp, self.slot);
                List { repr: Repr::Packed(v.into_boxed_slice()) }
            }
        }
    }
}

/// Iterator over a list's elements (see `List::iter`).
pub struct Iter<'a> {
    view: View<'a>,
    front_chunk: usize,
    /// `front_chunk`'s data once looked up (None: not yet), so that a walk looks each chunk up once.
    front_data: Option<&'a [u8]>,
    /// Offset of the next entry in `front_chunk`'s data.
    front_off: usize,
    /// One past the chunk holding the next element from the back (0 = before the first).
    back_chunk: usize,
    /// End offset of the next entry from the back in chunk `back_chunk - 1`; 0 = its end
    /// (set lazily, as a chunk's data length is only known once we get there).
    back_end: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 { return None; }
        loop {
            let data = match self.front_data {
                Some(data) => data,
                None => *self.front_data.insert(self.view.chunk(self.front_chunk)?.0),
            };
            if self.front_off >= data.len() {
                self.front_chunk += 1;
                self.front_data = None;
                self.front_off = 0;
                continue;
            }
            let (s, e, next) = decode_forward(data, self.front_off);
            self.front_off = next;
            self.remaining -= 1;
            return Some(&data[s..e]);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) { (self.remaining, Some(self.remaining)) }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 { return None; }
        loop {
            if self.back_chunk == 0 { return None; }
            let (data, _, _) = self.view.chunk(self.back_chunk - 1)?;
            let end = if self.back_end == 0 { data.len() } else { self.back_end };
            if end == 0 {
                self.back_chunk -= 1;
                self.back_end = 0;
                continue;
            }
            let (entry, s, e) = decode_backward(data, end);
            if entry == 0 {
                self.back_chunk -= 1;
                self.back_end = 0;
            } else {
                self.back_end = entry;
            }
            self.remaining -= 1;
            return Some(&data[s..e]);
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

// ---------------------------------------------------------------------------------------------
// Quicklist nodes for the RDB writer

/// One quicklist node: a PLAIN node holds exactly one (huge) element stored as a raw string;
/// a packed node is a listpack of `elements`.
pub struct QuicklistNode<'a> {
    pub plain: bool,
    pub elements: Vec<&'a [u8]>,
}

/// A quicklist node's kind and element count, without its elements (no allocation): walk
/// `List::iter` alongside to get them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeShape {
    pub plain: bool,
    pub count: usize,
}

/// The node shapes of `List::quicklist_node_shapes`: one per chunk.
pub struct QuicklistNodeShapes<'a> {
    view: View<'a>,
    next: usize,
}

impl Iterator for QuicklistNodeShapes<'_> {
    type Item = NodeShape;

    fn next(&mut self) -> Option<NodeShape> {
        let (count, plain) = self.view.shape(self.next)?;
        self.next += 1;
        if count == 0 { return None; }
        Some(NodeShape { plain, count })
    }
}

/// The nodes of `List::quicklist_nodes`, each with its elements.
pub struct QuicklistNodes<'a> {
    shapes: QuicklistNodeShapes<'a>,
    elements: Iter<'a>,
}

impl<'a> Iterator for QuicklistNodes<'a> {
    type Item = QuicklistNode<'a>;

    fn next(&mut self) -> Option<QuicklistNode<'a>> {
        let shape = self.shapes.next()?;
        Some(QuicklistNode { plain: shape.plain, elements: self.elements.by_ref().take(shape.count).collect() })
    }
}

/// One quicklist node for the RDB writer.
pub enum RdbNode<'a> {
    /// A PLAIN node's element.
    Plain(&'a [u8]),
    /// A packed node's elements.
    Packed(NodeElements<'a>),
    /// A compressed node: its LZF bytes and the size of the node they expand to (rdbSaveObject
    /// writes them as an LZF string); `plain` for a PLAIN node's compressed element.
    Compressed { plain: bool, lzf: &'a [u8], len: usize },
}

/// The nodes of `List::rdb_nodes`.
pub struct RdbNodes<'a> {
    list: &'a List,
    next: usize,
}

impl<'a> Iterator for RdbNodes<'a> {
    type Item = RdbNode<'a>;

    fn next(&mut self) -> Option<RdbNode<'a>> {
        let i = self.next;
        self.next += 1;
        let (data, plain) = match &self.list.repr {
            Repr::Packed(b) => {
                if i > 0 || packed_count(b) == 0 { return None; }
                (packed_entries(b), false)
            }
            Repr::Chunked(c) => {
                let k = c.chunks.get(i)?;
                if let chunked::Store::Lzf(z) = &k.buf {
                    return Some(RdbNode::Compressed { plain: k.plain, lzf: &z.bytes, len: k.lp });
                }
                (k.data(), k.plain)
            }
        };
        if plain {
            let (s, e, _) = decode_forward(data, 0);
            return Some(RdbNode::Plain(&data[s..e]));
        }
        Some(RdbNode::Packed(NodeElements { data, off: 0 }))
    }
}

/// A raw node's elements, head to tail.
pub struct NodeElements<'a> {
    data: &'a [u8],
    off: usize,
}

impl<'a> Iterator for NodeElements<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.off >= self.data.len() { return None; }
        let (s, e, next) = decode_forward(self.data, self.off);
        self.off = next;
        Some(&self.data[s..e])
    }
}

/// Redis 7.0's `_quicklistNodeAllowInsert`: may an element of `elem_len` bytes join a packed
/// node of `node_bytes` (its listpack size) holding `count` elements? 7.0.15 estimates the
/// entry's overhead as a flat 8 bytes (SIZE_ESTIMATE_OVERHEAD): with 18-byte elements its
/// nodes hold 408 of them, where a per-size estimate would allow 409.
fn node_allows_insert(node_bytes: usize, count: usize, fill: i64, elem_len: usize) -> bool {
    const SIZE_ESTIMATE_OVERHEAD: usize = 8;
    let new_bytes = node_bytes + elem_len + SIZE_ESTIMATE_OVERHEAD;
    if fill < 0 {
        let level = (-fill - 1) as usize;
        if level < OPTIMIZATION_LEVEL.len() && new_bytes <= OPTIMIZATION_LEVEL[level] { return true; }
        if level < OPTIMIZATION_LEVEL.len() { return false; }
    }
    if new_bytes > SIZE_SAFETY_LIMIT { return false; }
    (count as i64) < fill
}

/// Redis 7.0's `_quicklistNodeAllowMerge`: may two packed nodes of `a_lp`/`b_lp` listpack
/// bytes holding `a_count`/`b_count` elements become one? The merged size is estimated as
/// both sizes less one listpack header and terminator.
fn nodes_allow_merge(a_lp: usize, a_count: usize, b_lp: usize, b_count: usize, fill: i64) -> bool {
    let merged = a_lp + b_lp - MERGE_HEADER_ESTIMATE;
    if fill < 0 {
        let level = (-fill - 1) as usize;
        if level < OPTIMIZATION_LEVEL.len() { return merged <= OPTIMIZATION_LEVEL[level]; }
    }
    if merged > SIZE_SAFETY_LIMIT { return false; }
    (a_count + b_count) as i64 <= fill
}

/// What `_quicklistNodeAllowMerge` subtracts from the sum of two nodes' sizes.
const MERGE_HEADER_ESTIMATE: usize = 11;

/// Size in bytes of `elem` as a listpack entry (encoding + data + backlen), with listpack's
/// integer encodings for strings that are canonical integers.
pub fn listpack_entry_bytes(elem: &[u8]) -> usize {
    let encoded = match numfmt::parse_i64(elem) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8_388_608..=8_388_607).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None if elem.len() < 64 => 1 + elem.len(),
        None if elem.len() < 4096 => 2 + elem.len(),
        None => 5 + elem.len(),
    };
    let backlen = if encoded <= 127 { 1 } else if encoded < 16383 { 2 } else if encoded < 2_097_151 { 3 } else if encoded < 268_435_455 { 4 } else { 5 };
    encoded + backlen
}

/// The size Redis reports for a node (`node->sz`): the listpack's bytes, or the raw length of
/// a PLAIN node's element.
pub fn listpack_bytes(node: &QuicklistNode) -> usize {
    if node.plain {
        node.elements.first().map_or(0, |e| e.len())
    } else {
        LISTPACK_EMPTY_BYTES + node.elements.iter().map(|e| listpack_entry_bytes(e)).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque as Model;

    /// Every chunk's entries, element count and PLAIN flag.
    fn chunks_of(l: &List) -> Vec<(&[u8], usize, bool)> {
        let view = l.view();
        (0..view.chunks()).filter_map(|i| view.chunk(i)).collect()
    }

    fn chunked(l: &List) -> &Chunked {
        match &l.repr {
            Repr::Chunked(c) => c,
            Repr::Packed(_) => panic!("packed"),
        }
    }

    fn collect(l: &List) -> Vec<Vec<u8>> { l.iter().map(|e| e.to_vec()).collect() }

    #[test]
    fn walks_from_both_ends_at_once_across_chunks() {
        let items: Vec<Vec<u8>> = (0..5000).map(|i| format!("element-{i}").into_bytes()).collect();
        let l = List::from_items(&items);
        assert!(chunks_of(&l).len() > 2);
        for start in [0, 1, 2499, 4998] {
            let mut it = l.iter_from(start);
            let (mut front, mut back) = (start, items.len());
            loop {
                let (a, b) = (it.next(), it.next_back());
                if front < back { assert_eq!(a, Some(items[front].as_slice())); front += 1; } else { assert_eq!(a, None); }
                if front < back { back -= 1; assert_eq!(b, Some(items[back].as_slice())); } else { assert_eq!(b, None); }
                if a.is_none() { break; }
            }
            assert_eq!(front, back);
        }
    }
    fn collect_rev(l: &List) -> Vec<Vec<u8>> { l.iter().rev().map(|e| e.to_vec()).collect() }

    /// Checks every read path against the model, plus the chunk bookkeeping.
    fn check(l: &List, m: &Model<Vec<u8>>) {
        let want: Vec<Vec<u8>> = m.iter().cloned().collect();
        assert_eq!(l.len(), m.len());
        assert_eq!(collect(l), want);
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(collect_rev(l), rev);
        let chunks = chunks_of(l);
        assert_eq!(chunks.iter().map(|c| c.1).sum::<usize>(), l.len());
        match &l.repr {
            Repr::Packed(b) => {
                if l.is_empty() && !b.is_empty() { assert_ne!(packed_slot(b), config_slot(), "an empty list holds a buffer only to keep its options"); }
                if !l.is_empty() { assert_eq!(packed_lp(b), LISTPACK_EMPTY_BYTES + entries_lp(packed_entries(b)), "packed listpack size"); }
            }
            Repr::Chunked(c) => {
                let (depth, n) = (c.depth(), c.chunks.len());
                for (i, k) in c.chunks.iter().enumerate() {
                    if i < depth || i + depth >= n { assert!(!k.is_compressed(), "chunk {i} of {n} is within depth {depth}"); }
                }
                if depth == 0 { assert_eq!(c.compressed_chunks(), 0); }
                assert!(chunks.iter().all(|c| c.1 > 0));
                assert!(c.single_small_chunk(REPACK_BYTES, PACKED_MAX_COUNT).is_none(), "a small chunked list is packed again");
                for k in c.chunks.iter().filter(|k| !k.plain) {
                    assert_eq!(k.lp, LISTPACK_EMPTY_BYTES + entries_lp(k.data()), "chunk listpack size");
                }
            }
        }
        for (data, count, _) in chunks {
            let mut off = 0;
            let mut n = 0;
            while off < data.len() {
                off = decode_forward(data, off).2;
                n += 1;
            }
            assert_eq!(off, data.len());
            assert_eq!(n, count);
        }
        for (i, e) in want.iter().enumerate() {
            assert_eq!(l.get(i), Some(e.as_slice()));
        }
        assert_eq!(l.get(want.len()), None);
        assert_eq!(l.front(), want.first().map(|v| v.as_slice()));
        assert_eq!(l.back(), want.last().map(|v| v.as_slice()));
        for start in [0, 1, want.len() / 2, want.len().saturating_sub(1)] {
            let fwd: Vec<Vec<u8>> = l.iter_from(start).map(|e| e.to_vec()).collect();
            assert_eq!(fwd, want.get(start..).map(|s| s.to_vec()).unwrap_or_default());
            let back: Vec<Vec<u8>> = l.iter_rev_from(start).map(|e| e.to_vec()).collect();
            let mut expect: Vec<Vec<u8>> = if start < want.len() { want[..=start].to_vec() } else { vec![] };
            expect.reverse();
            assert_eq!(back, expect);
        }
    }

    /// A tiny deterministic generator (xorshift) so the tests need no crates.
    /// The state, and whether elements stay small (no 5-10 KB ones), so that lists cross
    /// between the packed and chunked forms.
    struct Rng(u64, bool);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 { self.next() % n.max(1) }
        fn element(&mut self) -> Vec<u8> {
            let len = match self.below(10) {
                0 => 0,
                1 => 130 + self.below(300) as usize,
                2 if !self.1 => 5000 + self.below(5000) as usize,
                2 => 20 + self.below(100) as usize,
                _ => self.below(12) as usize,
            };
            // Few distinct small values so LREM/LINSERT find matches.
            if len < 2 { return vec![b'a' + self.below(3) as u8; len]; }
            (0..len).map(|_| b'a' + self.below(4) as u8).collect()
        }
    }

    #[test]
    fn entry_encoding_round_trips_both_ways() {
        for len in [0usize, 1, 127, 128, 300, 16383, 16384, 100_000] {
            let elem: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let buf = encode_entry(&elem);
            assert_eq!(buf.len(), entry_size(len));
            let (s, e, next) = decode_forward(&buf, 0);
            assert_eq!((&buf[s..e], next), (elem.as_slice(), buf.len()));
            let (entry, s, e) = decode_backward(&buf, buf.len());
            assert_eq!((entry, &buf[s..e]), (0, elem.as_slice()));
        }
        // A 10-byte element costs what its listpack entry costs in Redis.
        assert_eq!(entry_size(10), 12);
    }

    #[test]
    fn chunks_carry_at_most_an_eighth_of_spare_room() {
        let spare = |l: &List| -> (usize, usize) {
            let c = chunked(l);
            let cap: usize = c.chunks.iter().map(|c| c.heap_bytes()).sum();
            let data: usize = c.chunks.iter().map(|c| c.bytes()).sum();
            (cap - data, data)
        };
        for n in [1000usize, 5000, 20000] {
            let (mut back, mut front) = (List::new(), List::new());
            for i in 0..n {
                let e = format!("m:{i}:12345");
                back.push_back(e.as_bytes());
                front.push_front(e.as_bytes());
            }
            for l in [&back, &front] {
                let (spare, data) = spare(l);
                // An eighth of the end chunk, plus what rounding to a malloc chunk adds (< 16).
                assert!(spare <= data / 8 + 16 + entry_size(20), "{n} elements: {spare} spare bytes for {data}");
            }
        }
    }

    #[test]
    fn a_list_is_a_16_byte_handle() {
        assert_eq!(std::mem::size_of::<List>(), 16);
        assert_eq!(List::new().memory_usage(), 0);
    }

    #[test]
    fn a_list_keeps_the_fill_it_was_created_with() {
        // The chunked form's table header stays one 48-byte malloc chunk.
        assert_eq!(std::mem::size_of::<Chunked>(), 40);
        set_fill(2);
        let (mut packed, mut chunked, mut emptied) = (List::new(), List::from_items(["a", "b", "c"]), List::from_items(["x"]));
        packed.push_back(b"a");
        let sorted = List::from_items_default_options(["a", "b", "c"]);
        set_fill(-2);
        assert_eq!((packed.fill(), chunked.fill(), sorted.fill(), List::new().fill()), (2, 2, -2, -2));
        for _ in 0..3 {
            packed.push_back(b"p");
            chunked.push_front(b"q");
        }
        assert_eq!(packed.quicklist_node_shapes().map(|s| s.count).collect::<Vec<_>>(), [2, 2]);
        assert_eq!(chunked.quicklist_node_shapes().map(|s| s.count).collect::<Vec<_>>(), [1, 2, 2, 1]);
        assert_eq!(sorted.chunk_count(), 1);
        // Emptied (LMOVE of a one-element list to itself), it still fills by 2.
        assert_eq!(emptied.pop_back().as_deref(), Some(&b"x"[..]));
        for e in ["x", "y", "z"] { emptied.push_back(e.as_bytes()); }
        assert_eq!((emptied.fill(), emptied.chunk_count()), (2, 2));
        // Its options survive the chunked form and packing again.
        while chunked.len() > 1 { chunked.drop_back(); }
        assert!(matches!(chunked.repr, Repr::Packed(_)));
        assert_eq!(chunked.fill(), 2);
        // A list emptied under its own options holds nothing.
        let mut same = List::from_items(["a"]);
        same.drop_front();
        assert_eq!(same.memory_usage(), 0);
    }

    #[test]
    fn small_lists_are_one_exact_buffer() {
        // Ten 10-byte elements: 6 + 120 bytes in one allocation, whichever end they came in at
        // and whichever way they were built.
        let items: Vec<String> = (0..10).map(|i| format!("m:{i}:123456")).collect();
        let mut back = List::new();
        let mut front = List::new();
        for e in &items {
            back.push_back(e.as_bytes());
            front.push_front(e.as_bytes());
        }
        let built = List::from_items(&items);
        for l in [&back, &front, &built] {
            assert!(matches!(&l.repr, Repr::Packed(b) if b.len() == 126));
            assert_eq!(l.memory_usage(), crate::alloc::chunk_size(126));
            assert_eq!(l.chunk_count(), 1);
        }
        assert_eq!(collect(&back), collect(&built));
        let mut rev = collect(&front);
        rev.reverse();
        assert_eq!(rev, collect(&back));
        back.drop_front_n(4);
        assert!(matches!(&back.repr, Repr::Packed(b) if b.len() == PACKED_HEADER + 72));
        back.clear();
        assert_eq!(back.memory_usage(), 0);
    }

    #[test]
    fn lists_unpack_past_a_chunk_and_pack_again_when_small() {
        let e = [b'x'; 98]; // a 100-byte entry
        let mut l = List::new();
        // 101-byte listpack entries: a node of k takes another while 7 + 101k + 98 + 8 <= 8192.
        for _ in 0..80 { l.push_back(&e); }
        assert!(matches!(l.repr, Repr::Packed(_)), "one node of 80 stays packed");
        l.push_back(&e);
        assert!(matches!(l.repr, Repr::Chunked(_)), "a second node is chunked");
        assert_eq!(chunks_of(&l).iter().map(|c| c.1).collect::<Vec<_>>(), vec![80, 1]);
        let mut m: Model<Vec<u8>> = (0..81).map(|_| e.to_vec()).collect();
        check(&l, &m);
        // Popping down to one chunk of at most REPACK_BYTES packs it again.
        while matches!(l.repr, Repr::Chunked(_)) {
            l.pop_back();
            m.pop_back();
        }
        assert_eq!(l.len(), REPACK_BYTES / 100);
        check(&l, &m);
        // A PLAIN element (from an RDB file here) keeps the list chunked, and goes with it.
        l.chunked().push_back_plain(&[b'P'; 300]);
        m.push_back(vec![b'P'; 300]);
        assert!(matches!(l.repr, Repr::Chunked(_)));
        check(&l, &m);
        l.drop_back();
        m.pop_back();
        assert!(matches!(l.repr, Repr::Packed(_)));
        check(&l, &m);
        // The loader's builder spills into chunks past the limit too.
        let big = List::from_items((0..100).map(|_| e));
        assert!(matches!(big.repr, Repr::Chunked(_)));
        assert_eq!(big.len(), 100);
    }

    #[test]
    fn pushes_and_pops_at_both_ends_match_a_deque() {
        for small in [false, true] {
            pushes_and_pops(Rng(0x9e3779b97f4a7c15, small));
        }
    }

    fn pushes_and_pops(mut rng: Rng) {
        // Small elements hover around a count-limited node's size, crossing between forms.
        set_fill(if rng.1 { 32 } else { -2 });
        let mut l = List::new();
        let mut m: Model<Vec<u8>> = Model::new();
        let mut forms = (0, 0);
        for step in 0..20_000 {
            // Small elements: pushes and pops balance, so the list hovers around the packed limit.
            let op = if rng.1 { [0, 2, 4, 5][rng.below(4) as usize] } else { rng.below(6) };
            match op {
                0 | 1 => { let e = rng.element(); l.push_back(&e); m.push_back(e); }
                2 | 3 => { let e = rng.element(); l.push_front(&e); m.push_front(e); }
                4 => assert_eq!(l.pop_front(), m.pop_front()),
                _ => assert_eq!(l.pop_back(), m.pop_back()),
            }
            if matches!(l.repr, Repr::Packed(_)) { forms.0 += 1 } else { forms.1 += 1 }
            if step % 997 == 0 { check(&l, &m); }
        }
        check(&l, &m);
        assert!(forms.1 > 0, "{forms:?}");
        if rng.1 { assert!(forms.0 > 1000, "{forms:?}"); }
    }

    #[test]
    fn middle_edits_match_a_deque() {
        // Count- and size-limited nodes, so inserts split full nodes and merge their neighbours.
        for fill in [-2, -1, 1, 4] {
            set_fill(fill);
            for small in [false, true] {
                middle_edits(Rng(12345, small));
            }
        }
        set_fill(-2);
    }

    fn middle_edits(mut rng: Rng) {
        let mut l = List::new();
        let mut m: Model<Vec<u8>> = Model::new();
        for step in 0..6000 {
            let n = m.len() as u64;
            match rng.below(9) {
                0 | 1 => { let e = rng.element(); l.push_back(&e); m.push_back(e); }
                2 => { let e = rng.element(); l.push_front(&e); m.push_front(e); }
                3 if n > 0 => {
                    let i = rng.below(n) as usize;
                    let e = rng.element();
                    assert!(l.set(i, &e));
                    m[i] = e;
                }
                4 if n > 0 => {
                    let i = rng.below(n) as usize;
                    let after = rng.below(2) == 0;
                    let e = rng.element();
                    l.insert_next_to(i, after, &e);
                    m.insert(if after { i + 1 } else { i }, e);
                }
                5 => {
                    let v = rng.element();
                    let count = rng.below(7) as i64 - 3;
                    let removed = l.remove_matching(&v, count);
                    let mut expect = 0;
                    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                    if count >= 0 {
                        let mut i = 0;
                        while i < m.len() {
                            if expect < limit && m[i] == v { m.remove(i); expect += 1; } else { i += 1; }
                        }
                    } else {
                        let mut i = m.len();
                        while i > 0 {
                            i -= 1;
                            if expect < limit && m[i] == v { m.remove(i); expect += 1; }
                        }
                    }
                    assert_eq!(removed, expect);
                }
                6 if n > 0 && step % 5 == 0 => {
                    let a = rng.below(n) as usize;
                    let b = rng.below(n) as usize;
                    l.retain_range(a, b);
                    let kept: Model<Vec<u8>> = if a <= b { m.range(a..=b).cloned().collect() } else { Model::new() };
                    m = kept;
                }
                7 => {
                    let k = rng.below(20) as usize;
                    l.drop_front_n(k);
                    for _ in 0..k { m.pop_front(); }
                }
                8 => {
                    let k = rng.below(20) as usize;
                    l.drop_back_n(k);
                    for _ in 0..k { m.pop_back(); }
                }
                _ => {}
            }
            if step % 101 == 0 { check(&l, &m); }
        }
        check(&l, &m);
    }

    #[test]
    fn ten_byte_elements_cost_about_twelve_bytes() {
        let mut l = List::new();
        let n = 100_000;
        for i in 0..n { l.push_back(format!("{:010}", i).as_bytes()); }
        let per_element = l.heap_bytes() as f64 / n as f64;
        assert!(per_element < 12.5, "{per_element} bytes per element");
        let mut l = List::new();
        for i in 0..n { l.push_front(format!("{:010}", i).as_bytes()); }
        let per_element = l.heap_bytes() as f64 / n as f64;
        assert!(per_element < 12.5, "{per_element} bytes per element (front pushes)");
    }

    #[test]
    fn quicklist_nodes_follow_redis_fill_rules() {
        // 10-byte strings (not integers): listpack entry 12 bytes, insert estimate 12 bytes.
        let l = List::from_items((0..2000).map(|i| format!("v{:09}", i)));
        let nodes: Vec<QuicklistNode> = l.quicklist_nodes().collect();
        // redis-server 7.0.15 reports ql_nodes:3 ql_uncompressed_size:24021 for this list: a node
        // of k entries (7 + 12k bytes) takes another while 7 + 12k + 10 + 8 <= 8192.
        assert_eq!(nodes.iter().map(|n| n.elements.len()).collect::<Vec<_>>(), vec![681, 681, 638]);
        assert_eq!(nodes.iter().map(listpack_bytes).sum::<usize>(), 24021);
        assert_eq!(nodes.iter().map(|n| n.elements.len()).sum::<usize>(), 2000);
        assert!(nodes.iter().all(|n| !n.plain));
        set_fill(100);
        let by_count: Vec<usize> = List::from_items((0..2000).map(|i| format!("v{:09}", i))).quicklist_nodes().map(|n| n.elements.len()).collect();
        assert_eq!(by_count, vec![100; 20]);
        // Count-limited nodes still respect the 8 KB safety limit.
        set_fill(1000);
        let big = List::from_items((0..10).map(|_| vec![b'x'; 3000]));
        let sizes: Vec<usize> = big.quicklist_nodes().map(|n| n.elements.len()).collect();
        assert_eq!(sizes, vec![2, 2, 2, 2, 2]);
        // redis-server 7.0.15: ql_nodes:5 ql_uncompressed_size:30075 (for -2 and for 1000).
        assert_eq!(big.quicklist_nodes().map(|n| listpack_bytes(&n)).sum::<usize>(), 30075);
        set_fill(-2);
        // redis-server 7.0.15, RPUSH of "element-number-0".."element-number-1999": DEBUG OBJECT
        // says ql_nodes:6 ql_uncompressed_size:40932, and DUMP shows the second node starting
        // at element 414 and holding 408 elements.
        let numbered = List::from_items((0..2000).map(|i| format!("element-number-{i}")));
        let nodes: Vec<QuicklistNode> = numbered.quicklist_nodes().collect();
        assert_eq!(nodes.len(), 6);
        assert_eq!(nodes[0].elements.len(), 414);
        assert_eq!(nodes[1].elements.len(), 408);
        assert_eq!(nodes.iter().map(listpack_bytes).sum::<usize>(), 40932);
        for fill in [-2, -5, 7] {
            set_fill(fill);
            let list = List::from_items((0..2000).map(|i| format!("element-number-{i}")));
            // The nodes cover the list in order, each holding what its shape says.
            let shapes: Vec<NodeShape> = list.quicklist_node_shapes().collect();
            let nodes: Vec<QuicklistNode> = list.quicklist_nodes().collect();
            assert_eq!(shapes.len(), nodes.len(), "fill {fill}");
            assert!(shapes.iter().zip(&nodes).all(|(s, n)| s.count == n.elements.len() && s.plain == n.plain && s.count > 0));
            let joined: Vec<&[u8]> = nodes.iter().flat_map(|n| n.elements.iter().copied()).collect();
            assert_eq!(joined, list.iter().collect::<Vec<_>>(), "fill {fill}");
        }
        set_fill(-2);
        assert_eq!(listpack_entry_bytes(b"12"), 2);
        assert_eq!(listpack_entry_bytes(b"-1"), 3);
        assert_eq!(listpack_entry_bytes(b"012"), 5);
        assert_eq!(listpack_entry_bytes(b"a"), 3);
    }

    fn set_depth(depth: i64) { set_compress_depth(depth); }

    #[test]
    fn compressed_lists_match_a_deque() {
        for depth in [1, 2] {
            set_depth(depth);
            for small in [false, true] {
                pushes_and_pops(Rng(0x9e3779b97f4a7c15 ^ depth as u64, small));
            }
            for fill in [-2, -1, 1, 4] {
                set_fill(fill);
                middle_edits(Rng(777 + depth as u64, false));
            }
            set_fill(-2);
        }
        set_depth(0);
    }

    #[test]
    fn interior_chunks_are_compressed_and_read_back() {
        set_depth(1);
        let items: Vec<String> = (0..5000).map(|i| format!("element-number-{i}")).collect();
        let mut l = List::new();
        for e in &items { l.push_back(e.as_bytes()); }
        let n = chunked(&l).chunks.len();
        assert!(n > 4);
        // Every node but the two ends compresses (repetitive text), as Redis's would.
        assert_eq!(chunked(&l).compressed_chunks(), n - 2);
        let raw_bytes: usize = chunked(&l).chunks.iter().map(|c| c.lp).sum();
        assert!(l.memory_usage() * 2 < raw_bytes, "{} bytes for {} of listpacks", l.memory_usage(), raw_bytes);
        let before = l.memory_usage();
        let m: Model<Vec<u8>> = items.iter().map(|e| e.clone().into_bytes()).collect();
        check(&l, &m);
        // Reads decoded nodes into caches; release drops them.
        assert!(l.memory_usage() > before);
        l.release();
        assert_eq!(l.memory_usage(), before);
        // Compressed nodes are given to the RDB writer as they are, and decode to the elements.
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut compressed = 0;
        for node in l.rdb_nodes() {
            match node {
                RdbNode::Compressed { plain, lzf, len } => {
                    compressed += 1;
                    assert!(!plain);
                    let lp = crate::rdb::lzf::decompress(lzf, len).unwrap();
                    for e in crate::rdb::ListpackIter::new(&lp).unwrap() {
                        got.push(match e.unwrap() { crate::rdb::Entry::Bytes(b) => b.to_vec(), crate::rdb::Entry::Int(v) => v.to_string().into_bytes() });
                    }
                }
                RdbNode::Packed(els) => got.extend(els.map(|e| e.to_vec())),
                RdbNode::Plain(e) => got.push(e.to_vec()),
            }
        }
        assert_eq!(compressed, n - 2);
        assert_eq!(got, collect(&l));
        // Popping to the interior makes the new end raw.
        l.drop_front_n(chunked(&l).chunks[0].count as usize);
        assert!(!chunked(&l).chunks[0].is_compressed());
        // A list created under depth 0 never compresses.
        set_depth(0);
        let plain = List::from_items(&items);
        assert_eq!(chunked(&plain).compressed_chunks(), 0);
        // ...and a list keeps its depth: pushes to `l` still compress.
        for e in &items { l.push_back(e.as_bytes()); }
        assert_eq!(chunked(&l).compressed_chunks(), chunked(&l).chunks.len() - 2);
        assert_eq!(l.compress_depth(), 1);
    }

    #[test]
    fn incompressible_and_small_nodes_stay_raw() {
        set_depth(1);
        set_fill(2);
        // 20-byte nodes are under MIN_COMPRESS_BYTES.
        let small = List::from_items((0..20).map(|i| format!("s{i}")));
        assert_eq!(chunked(&small).compressed_chunks(), 0);
        // Pseudo-random bytes do not compress.
        let mut x = 12345u64;
        let noise = List::from_items((0..20).map(|_| (0..100).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect::<Vec<u8>>()));
        assert_eq!(chunked(&noise).compressed_chunks(), 0);
        set_fill(-2);
        set_depth(0);
    }

    #[test]
    fn large_elements_get_their_own_chunk() {
        let mut l = List::new();
        l.push_back(b"small");
        l.push_back(&vec![b'L'; 100_000]);
        l.push_back(b"after");
        l.insert_next_to(1, true, &vec![b'M'; 50_000]);
        assert_eq!(l.len(), 4);
        assert_eq!(l.get(1).map(|e| e.len()), Some(100_000));
        assert_eq!(l.get(2).map(|e| e.len()), Some(50_000));
        assert_eq!(l.get(3), Some(&b"after"[..]));
        assert_eq!(chunks_of(&l).iter().map(|c| c.1).collect::<Vec<_>>(), vec![1, 1, 1, 1], "past 8 KB an element is a node of its own");
    }
}
