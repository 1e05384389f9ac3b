//! Lists (Redis's quicklist): a deque of chunks, each chunk a run of packed elements.
//!
//! Public API (for the list commands, the RDB writer/loader, DUMP/RESTORE and DEBUG DIGEST):
//! - `List::new()`, `List::from_items(iter)` (the loader's constructor: elements head to tail),
//!   `len()`, `is_empty()`, `encoding()` (always "quicklist", as Redis 7.0 reports for every list).
//! - Reading: `iter()` (head to tail, `DoubleEndedIterator`, so `.rev()` walks tail to head),
//!   `iter_from(index)` (forward from an index), `iter_rev_from(index)` (backward from an index),
//!   `get(index)`, `front()`, `back()`. Element slices borrow the list.
//! - Writing: `push_front`, `push_back`, `pop_front`/`pop_back` (return the element),
//!   `drop_front`/`drop_back` (discard it without copying), `set(index, value)`,
//!   `insert_at(index, value)`, `remove_matching(value, count)` (LREM), `retain_range(start, end)`
//!   (LTRIM), `drop_front_n`/`drop_back_n`.
//! - RDB: `quicklist_nodes(fill)` splits the elements into the quicklist nodes Redis 7.0 would
//!   build by pushing them one by one at the tail under `list-max-listpack-size = fill`: each
//!   node says whether it is PLAIN (one element, written as a raw string) or PACKED (a
//!   listpack), and lists its elements. An element is PLAIN when it was at least the packed
//!   threshold (`set_packed_threshold`, 1 GiB by default) as it was inserted, or came from a
//!   PLAIN node of an RDB file (`push_back_plain`); a PLAIN chunk holds it alone. Write them as
//!   RDB_TYPE_LIST_QUICKLIST_2. `quicklist_node_shapes(fill)` gives the same split as
//!   `NodeShape { plain, count }` without collecting elements (the RDB writer's allocation-free
//!   path: it walks `iter()` alongside). `listpack_bytes(node)` gives the size Redis would report for
//!   the node's listpack (DEBUG OBJECT's ql_uncompressed_size adds these up).
//!
//! Storage: elements are packed into chunks of about `CHUNK_BYTES` bytes. Each element is
//! stored as `varint(len) element reverse-varint(len)`: the leading length lets a reader walk
//! forward, the trailing one (its bytes reversed) walks backward, as a listpack's backlen does.
//! A 10-byte element takes 12 bytes, the same as its listpack entry in Redis (1 header byte,
//! 10 data bytes, 1 backlen byte); the chunk bookkeeping adds about 0.2 bytes per element.
//! Redis stores integer-looking strings more compactly (e.g. "1000" in 3 bytes, ours 6).
//! A chunk keeps free space at its front, so pushes at either end are O(1) amortized and need
//! no allocation except when a chunk fills up (once per ~4 KB of elements).
//! Elements larger than a chunk live alone in their own chunk.

use crate::numfmt;
use super::varint;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Target data size of one chunk. Small enough that inserting or deleting in the middle of a
/// chunk (memmove) stays cheap, large enough that the per-chunk overhead is negligible.
const CHUNK_BYTES: usize = 4096;

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

// ---------------------------------------------------------------------------------------------
// Chunks

/// An end chunk grows by an eighth of its size at a time, not by Vec's doubling: a list's spare
/// capacity stays under 1/8 of its data (a listpack in Redis is sized exactly, reallocated on
/// every push), while pushes still reallocate only once per eighth.
const SLACK_DIVISOR: usize = 8;

/// Makes room in `buf` for `additional` more bytes, leaving at most `1/SLACK_DIVISOR` spare
/// (rounded up to what the malloc chunk holds anyway).
fn reserve_with_slack(buf: &mut Vec<u8>, additional: usize) {
    let need = buf.len() + additional;
    if need <= buf.capacity() { return; }
    let usable = crate::alloc::chunk_size(need + need / SLACK_DIVISOR) - 8;
    buf.reserve_exact(usable - buf.len());
}

#[derive(Clone)]
struct Chunk {
    /// Entries live in `buf[head..]`; `buf[..head]` is free space for pushes at the front.
    buf: Vec<u8>,
    head: u32,
    count: u32,
    /// A PLAIN quicklist node: exactly one element, stored on its own whatever its size now
    /// compares to the threshold (as Redis keeps a node plain once it is).
    plain: bool,
}

impl Chunk {
    fn with_element(elem: &[u8]) -> Chunk {
        let mut buf = vec![0u8; entry_size(elem.len())];
        write_entry(&mut buf, elem);
        Chunk { buf, head: 0, count: 1, plain: false }
    }

    fn plain(elem: &[u8]) -> Chunk {
        Chunk { plain: true, ..Chunk::with_element(elem) }
    }

    /// A packed chunk holding `entries` (encoded, `count` of them).
    fn packed(entries: Vec<u8>, count: u32) -> Chunk {
        Chunk { buf: entries, head: 0, count, plain: false }
    }

    #[inline] fn data(&self) -> &[u8] { &self.buf[self.head as usize..] }
    #[inline] fn bytes(&self) -> usize { self.buf.len() - self.head as usize }

    /// True when an element of `elem_len` bytes may join this chunk.
    #[inline]
    fn has_room(&self, elem_len: usize) -> bool { !self.plain && self.bytes() + entry_size(elem_len) <= CHUNK_BYTES }

    fn push_back(&mut self, elem: &[u8]) {
        let at = self.buf.len();
        reserve_with_slack(&mut self.buf, entry_size(elem.len()));
        self.buf.resize(at + entry_size(elem.len()), 0);
        write_entry(&mut self.buf[at..], elem);
        self.count += 1;
    }

    fn push_front(&mut self, elem: &[u8]) {
        let need = entry_size(elem.len());
        if (self.head as usize) < need {
            // Re-allocate with a front gap of the entry plus an eighth of the data (the slack
            // `reserve_with_slack` leaves at the back), so a run of front pushes copies each
            // byte about eight times in all and the chunk never carries more than 1/8 spare.
            let gap = need + self.bytes() / SLACK_DIVISOR;
            let mut buf = Vec::with_capacity(gap + self.bytes());
            buf.resize(gap, 0);
            buf.extend_from_slice(self.data());
            self.buf = buf;
            self.head = gap as u32;
        }
        let start = self.head as usize - need;
        write_entry(&mut self.buf[start..start + need], elem);
        self.head = start as u32;
        self.count += 1;
    }

    /// The byte range (relative to `data()`) of the first element, and the next entry offset.
    fn first(&self) -> (usize, usize, usize) { decode_forward(self.data(), 0) }
    fn last(&self) -> (usize, usize, usize) { decode_backward(self.data(), self.bytes()) }

    fn drop_front(&mut self) {
        let (_, _, next) = self.first();
        self.head += next as u32;
        self.count -= 1;
    }

    fn drop_back(&mut self) {
        let (entry_start, _, _) = self.last();
        let keep = self.head as usize + entry_start;
        self.buf.truncate(keep);
        self.count -= 1;
    }

    /// Drops the front gap and spare capacity: called on chunks that stop being an end chunk,
    /// so only the two end chunks ever carry slack.
    fn compact(&mut self) {
        if self.head > 0 {
            self.buf.drain(..self.head as usize);
            self.head = 0;
        }
        self.buf.shrink_to_fit();
    }

    /// Byte offsets (relative to `data()`) of element `i`: (entry start, elem start, elem end, next).
    fn locate(&self, i: usize) -> (usize, usize, usize, usize) {
        let data = self.data();
        if i < self.count as usize / 2 {
            let mut off = 0;
            for _ in 0..i {
                off = decode_forward(data, off).2;
            }
            let (s, e, next) = decode_forward(data, off);
            (off, s, e, next)
        } else {
            let mut end = data.len();
            for _ in 0..(self.count as usize - 1 - i) {
                end = decode_backward(data, end).0;
            }
            let (entry, s, e) = decode_backward(data, end);
            (entry, s, e, end)
        }
    }

    /// Replaces the bytes `[from, to)` of `data()` with the entries in `replacement`.
    fn splice(&mut self, from: usize, to: usize, replacement: &[u8]) {
        let h = self.head as usize;
        if replacement.len() > to - from { reserve_with_slack(&mut self.buf, replacement.len() - (to - from)); }
        self.buf.splice(h + from..h + to, replacement.iter().copied());
    }
}

fn encode_entry(elem: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; entry_size(elem.len())];
    write_entry(&mut v, elem);
    v
}

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Clone)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl Default for List {
    fn default() -> Self { List::new() }
}

impl List {
    pub fn new() -> List { List { chunks: VecDeque::with_capacity(1), len: 0 } }

    /// A list holding `items` head to tail (the RDB loader's constructor).
    pub fn from_items<I, T>(items: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut list = List::new();
        for item in items {
            list.push_back(item.as_ref());
        }
        list.compact_tail();
        list
    }

    /// Gives back the last chunk's spare room (once a loader has appended everything).
    pub fn compact_tail(&mut self) {
        if let Some(last) = self.chunks.back_mut() { last.compact(); }
    }

    #[inline] pub fn len(&self) -> usize { self.len }
    #[inline] pub fn is_empty(&self) -> bool { self.len == 0 }

    /// OBJECT ENCODING: Redis 7.0 stores every list as a quicklist.
    pub fn encoding(&self) -> &'static str { "quicklist" }

    /// How many chunks hold the elements (lazy free's measure of the work to free a list).
    pub fn chunk_count(&self) -> usize { self.chunks.len() }

    /// MEMORY USAGE: the malloc chunks of the chunk table and of every chunk's buffer.
    pub fn memory_usage(&self) -> usize {
        use crate::alloc::chunk_size;
        let table = if self.chunks.capacity() == 0 { 0 } else { chunk_size(self.chunks.capacity() * std::mem::size_of::<Chunk>()) };
        table + self.chunks.iter().map(|c| chunk_size(c.buf.capacity())).sum::<usize>()
    }

    /// Heap bytes used (chunk buffers and the chunk table), for MEMORY USAGE-style estimates.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>() + self.chunks.iter().map(|c| c.buf.capacity()).sum::<usize>()
    }

    /// Appends `elem`, in a PLAIN node of its own when it is large (Redis's quicklistPush).
    pub fn push_back(&mut self, elem: &[u8]) {
        if is_large(elem) { self.push_back_plain(elem) } else { self.push_back_packed(elem) }
    }

    /// Appends `elem` in a PLAIN node of its own (an RDB node stored PLAIN).
    pub fn push_back_plain(&mut self, elem: &[u8]) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() { last.compact(); }
        self.chunks.push_back(Chunk::plain(elem));
    }

    /// Appends `elem` to a packed node whatever its size (an RDB node stored PACKED).
    pub fn push_back_packed(&mut self, elem: &[u8]) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() {
            if last.has_room(elem.len()) {
                last.push_back(elem);
                return;
            }
            last.compact();
        }
        self.chunks.push_back(Chunk::with_element(elem));
    }

    pub fn push_front(&mut self, elem: &[u8]) {
        self.len += 1;
        if is_large(elem) {
            if let Some(first) = self.chunks.front_mut() { first.compact(); }
            self.chunks.push_front(Chunk::plain(elem));
            return;
        }
        if let Some(first) = self.chunks.front_mut() {
            if first.has_room(elem.len()) {
                first.push_front(elem);
                return;
            }
            first.compact();
        }
        self.chunks.push_front(Chunk::with_element(elem));
    }

    pub fn front(&self) -> Option<&[u8]> {
        let c = self.chunks.front()?;
        let (s, e, _) = c.first();
        Some(&c.data()[s..e])
    }

    pub fn back(&self) -> Option<&[u8]> {
        let c = self.chunks.back()?;
        let (_, s, e) = c.last();
        Some(&c.data()[s..e])
    }

    /// Removes the head element; false when the list was empty.
    pub fn drop_front(&mut self) -> bool {
        let Some(c) = self.chunks.front_mut() else { return false };
        c.drop_front();
        if c.count == 0 { self.chunks.pop_front(); }
        self.len -= 1;
        true
    }

    /// Removes the tail element; false when the list was empty.
    pub fn drop_back(&mut self) -> bool {
        let Some(c) = self.chunks.back_mut() else { return false };
        c.drop_back();
        if c.count == 0 { self.chunks.pop_back(); }
        self.len -= 1;
        true
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

    /// Removes the first `n` elements (fewer if the list is shorter), dropping whole chunks.
    pub fn drop_front_n(&mut self, mut n: usize) {
        while n > 0 {
            let Some(c) = self.chunks.front_mut() else { return };
            if c.count as usize <= n {
                n -= c.count as usize;
                self.len -= c.count as usize;
                self.chunks.pop_front();
            } else {
                let (_, _, _, next) = c.locate(n - 1);
                c.head += next as u32;
                c.count -= n as u32;
                self.len -= n;
                n = 0;
            }
        }
    }

    /// Removes the last `n` elements (fewer if the list is shorter).
    pub fn drop_back_n(&mut self, mut n: usize) {
        while n > 0 {
            let Some(c) = self.chunks.back_mut() else { return };
            if c.count as usize <= n {
                n -= c.count as usize;
                self.len -= c.count as usize;
                self.chunks.pop_back();
            } else {
                let keep = c.count as usize - n;
                let (entry, _, _, _) = c.locate(keep);
                let h = c.head as usize;
                c.buf.truncate(h + entry);
                c.count = keep as u32;
                self.len -= n;
                n = 0;
            }
        }
    }

    /// LTRIM: keeps elements `[start, end]` (inclusive, already within bounds), drops the rest.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        if start > end || start >= self.len {
            self.clear();
            return;
        }
        let end = end.min(self.len - 1);
        self.drop_back_n(self.len - 1 - end);
        self.drop_front_n(start);
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// The chunk holding element `index` and the element's index within it.
    fn chunk_of(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len { return None; }
        if index < self.len / 2 {
            let mut i = index;
            for (ci, c) in self.chunks.iter().enumerate() {
                if i < c.count as usize { return Some((ci, i)); }
                i -= c.count as usize;
            }
        } else {
            let mut from_end = self.len - 1 - index;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                if from_end < c.count as usize { return Some((ci, c.count as usize - 1 - from_end)); }
                from_end -= c.count as usize;
            }
        }
        None
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (ci, i) = self.chunk_of(index)?;
        let c = &self.chunks[ci];
        let (_, s, e, _) = c.locate(i);
        Some(&c.data()[s..e])
    }

    /// Replaces element `index`; false when out of range. A large value takes a PLAIN node of
    /// its own; a plain node given a small value becomes packed (quicklistReplaceEntry).
    pub fn set(&mut self, index: usize, value: &[u8]) -> bool {
        let Some((ci, i)) = self.chunk_of(index) else { return false };
        if self.chunks[ci].plain {
            self.chunks[ci] = if is_large(value) { Chunk::plain(value) } else { Chunk::with_element(value) };
            return true;
        }
        if is_large(value) {
            self.isolate(ci, i, Chunk::plain(value));
            return true;
        }
        let c = &mut self.chunks[ci];
        let (entry, _, _, next) = c.locate(i);
        c.splice(entry, next, &encode_entry(value));
        self.split_if_oversized(ci);
        true
    }

    /// Replaces element `i` of packed chunk `ci` with the chunk `middle`, splitting the rest
    /// of the chunk around it.
    fn isolate(&mut self, ci: usize, i: usize, middle: Chunk) {
        let c = &self.chunks[ci];
        let (entry, _, _, next) = c.locate(i);
        let data = c.data();
        let before = Chunk::packed(data[..entry].to_vec(), i as u32);
        let after = Chunk::packed(data[next..].to_vec(), c.count - i as u32 - 1);
        self.chunks.remove(ci);
        let mut at = ci;
        for piece in [before, middle, after] {
            if piece.count == 0 { continue; }
            self.chunks.insert(at, piece);
            at += 1;
        }
    }

    /// Inserts `value` so that it becomes element `index` (`index == len` appends).
    pub fn insert_at(&mut self, index: usize, value: &[u8]) {
        if index == 0 {
            self.push_front(value);
            return;
        }
        if index >= self.len {
            self.push_back(value);
            return;
        }
        let Some((ci, i)) = self.chunk_of(index - 1) else { return };
        if is_large(value) || self.chunks[ci].plain {
            self.insert_after_apart(ci, i, value);
            return;
        }
        // Insert after element index-1, in its chunk: that also covers the case where index
        // starts a new chunk (the value joins the end of the previous one).
        let c = &mut self.chunks[ci];
        let (_, _, _, next) = c.locate(i);
        c.splice(next, next, &encode_entry(value));
        c.count += 1;
        self.len += 1;
        self.split_if_oversized(ci);
    }

    /// Inserts `value` after element `i` of chunk `ci` where it cannot join that chunk: a large
    /// value gets a PLAIN chunk of its own (splitting a packed chunk around it), and nothing
    /// joins a PLAIN chunk (the value goes to the front of the next packed chunk, or alone).
    fn insert_after_apart(&mut self, ci: usize, i: usize, value: &[u8]) {
        self.len += 1;
        let last_of_chunk = i + 1 == self.chunks[ci].count as usize;
        if is_large(value) {
            if last_of_chunk {
                self.chunks[ci].compact();
                self.chunks.insert(ci + 1, Chunk::plain(value));
            } else {
                // Element i stays in front: split after it, the plain chunk between.
                let c = &self.chunks[ci];
                let (_, _, _, next) = c.locate(i);
                let data = c.data();
                let before = Chunk::packed(data[..next].to_vec(), i as u32 + 1);
                let after = Chunk::packed(data[next..].to_vec(), c.count - i as u32 - 1);
                self.chunks.remove(ci);
                self.chunks.insert(ci, after);
                self.chunks.insert(ci, Chunk::plain(value));
                self.chunks.insert(ci, before);
            }
            return;
        }
        // After a plain chunk: the front of the next packed chunk, or a chunk of its own.
        match self.chunks.get_mut(ci + 1) {
            Some(next) if next.has_room(value.len()) => next.push_front(value),
            _ => self.chunks.insert(ci + 1, Chunk::with_element(value)),
        }
    }

    /// Splits chunk `ci` into chunks of at most CHUNK_BYTES when an insert or replace made it
    /// larger (a lone oversized element keeps a chunk to itself).
    fn split_if_oversized(&mut self, ci: usize) {
        let c = &self.chunks[ci];
        if c.bytes() <= CHUNK_BYTES || c.count == 1 { return; }
        let mut pieces: Vec<Chunk> = Vec::new();
        let data = c.data();
        let mut off = 0;
        let mut piece_start = 0;
        let mut piece_count = 0u32;
        while off < data.len() {
            let (_, _, next) = decode_forward(data, off);
            if piece_count > 0 && next - piece_start > CHUNK_BYTES {
                pieces.push(Chunk::packed(data[piece_start..off].to_vec(), piece_count));
                piece_start = off;
                piece_count = 0;
            }
            piece_count += 1;
            off = next;
        }
        pieces.push(Chunk::packed(data[piece_start..].to_vec(), piece_count));
        self.chunks.remove(ci);
        for (k, p) in pieces.into_iter().enumerate() {
            self.chunks.insert(ci + k, p);
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
                None => return 0,
            }
        } else {
            0
        };
        let mut removed = 0;
        let mut index = 0;
        for c in self.chunks.iter_mut() {
            if removed == limit { break; }
            let n = c.count as usize;
            if index + n <= first_index {
                index += n;
                continue;
            }
            let h = c.head as usize;
            let mut read = h;
            let mut write = h;
            let end = c.buf.len();
            let mut kept = 0u32;
            while read < end {
                let (s, e, next) = decode_forward(&c.buf, read);
                let remove = removed < limit && index >= first_index && &c.buf[s..e] == value;
                if remove {
                    removed += 1;
                } else {
                    if write != read { c.buf.copy_within(read..next, write); }
                    write += next - read;
                    kept += 1;
                }
                read = next;
                index += 1;
            }
            c.buf.truncate(write);
            c.count = kept;
        }
        if removed > 0 {
            self.len -= removed;
            self.chunks.retain(|c| c.count > 0);
            self.merge_small_chunks();
        }
        removed
    }

    /// Joins neighbouring chunks that fit in one, so removals do not leave a trail of
    /// nearly empty chunks (Redis merges listpack nodes for the same reason).
    fn merge_small_chunks(&mut self) {
        if self.chunks.len() < 2 { return; }
        let mut merged: VecDeque<Chunk> = VecDeque::with_capacity(self.chunks.len());
        for c in self.chunks.drain(..) {
            if let Some(prev) = merged.back_mut() {
                if !prev.plain && !c.plain && prev.bytes() + c.bytes() <= CHUNK_BYTES {
                    prev.buf.extend_from_slice(c.data());
                    prev.count += c.count;
                    continue;
                }
            }
            merged.push_back(c);
        }
        for c in merged.iter_mut() {
            if c.buf.capacity() > c.buf.len() + c.buf.len() / 4 { c.compact(); }
        }
        self.chunks = merged;
    }

    /// Head to tail; `.rev()` walks tail to head.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            front_chunk: 0,
            front_off: 0,
            back_chunk: self.chunks.len(),
            back_end: 0,
            remaining: self.len,
        }
    }

    /// Head to tail starting at element `index` (empty when out of range).
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        let mut it = self.iter();
        match self.chunk_of(index) {
            Some((ci, i)) => {
                it.front_chunk = ci;
                it.front_off = self.chunks[ci].locate(i).0;
                it.remaining = self.len - index;
            }
            None => it.remaining = 0,
        }
        it
    }

    /// Tail to head starting at element `index` (inclusive; empty when out of range).
    pub fn iter_rev_from(&self, index: usize) -> std::iter::Rev<Iter<'_>> {
        let mut it = self.iter();
        match self.chunk_of(index) {
            Some((ci, i)) => {
                it.back_chunk = ci + 1;
                it.back_end = self.chunks[ci].locate(i).3;
                it.remaining = index + 1;
            }
            None => it.remaining = 0,
        }
        it.rev()
    }

    /// The quicklist nodes Redis 7.0 would hold for these elements had they been pushed one by
    /// one at the tail with `list-max-listpack-size = fill` (see the module comment).
    pub fn quicklist_nodes(&self, fill: i64) -> QuicklistNodes<'_> {
        QuicklistNodes { shapes: self.quicklist_node_shapes(fill), elements: self.iter() }
    }

    /// The same nodes as `quicklist_nodes`, as (plain, count) shapes only: nothing allocated,
    /// for the RDB writer, which walks `iter()` alongside.
    pub fn quicklist_node_shapes(&self, fill: i64) -> QuicklistNodeShapes<'_> {
        let kinds = PlainFlags { chunks: self.chunks.iter(), current: None };
        QuicklistNodeShapes { elements: self.iter().zip(kinds).peekable(), fill: fill.clamp(-5, FILL_MAX) }
    }
}

/// Iterator over a list's elements (see `List::iter`).
pub struct Iter<'a> {
    list: &'a List,
    front_chunk: usize,
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
            let c = self.list.chunks.get(self.front_chunk)?;
            let data = c.data();
            if self.front_off >= data.len() {
                self.front_chunk += 1;
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
            let c = self.list.chunks.get(self.back_chunk - 1)?;
            let data = c.data();
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

/// For each element head to tail: whether it is in a PLAIN chunk.
struct PlainFlags<'a> {
    chunks: std::collections::vec_deque::Iter<'a, Chunk>,
    current: Option<(bool, u32)>,
}

impl Iterator for PlainFlags<'_> {
    type Item = bool;

    fn next(&mut self) -> Option<bool> {
        loop {
            match &mut self.current {
                Some((plain, left)) if *left > 0 => {
                    *left -= 1;
                    return Some(*plain);
                }
                _ => {
                    let c = self.chunks.next()?;
                    self.current = Some((c.plain, c.count));
                }
            }
        }
    }
}

/// The node shapes of `List::quicklist_node_shapes`: where Redis's quicklist nodes split. An
/// element of a PLAIN chunk is a PLAIN node; the others fill packed nodes as Redis fills them.
pub struct QuicklistNodeShapes<'a> {
    elements: std::iter::Peekable<std::iter::Zip<Iter<'a>, PlainFlags<'a>>>,
    fill: i64,
}

impl Iterator for QuicklistNodeShapes<'_> {
    type Item = NodeShape;

    fn next(&mut self) -> Option<NodeShape> {
        let (first, plain) = self.elements.next()?;
        if plain {
            return Some(NodeShape { plain: true, count: 1 });
        }
        let mut node_bytes = LISTPACK_EMPTY_BYTES + listpack_entry_bytes(first);
        let mut count = 1;
        while let Some(&(next, next_plain)) = self.elements.peek() {
            if next_plain || !node_allows_insert(node_bytes, count, self.fill, next.len()) {
                break;
            }
            node_bytes += listpack_entry_bytes(next);
            count += 1;
            self.elements.next();
        }
        Some(NodeShape { plain: false, count })
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

    fn collect(l: &List) -> Vec<Vec<u8>> { l.iter().map(|e| e.to_vec()).collect() }
    fn collect_rev(l: &List) -> Vec<Vec<u8>> { l.iter().rev().map(|e| e.to_vec()).collect() }

    /// Checks every read path against the model, plus the chunk bookkeeping.
    fn check(l: &List, m: &Model<Vec<u8>>) {
        let want: Vec<Vec<u8>> = m.iter().cloned().collect();
        assert_eq!(l.len(), m.len());
        assert_eq!(collect(l), want);
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(collect_rev(l), rev);
        assert_eq!(l.chunks.iter().map(|c| c.count as usize).sum::<usize>(), l.len());
        assert!(l.chunks.iter().all(|c| c.count > 0));
        for c in &l.chunks {
            let mut off = 0;
            let mut n = 0;
            while off < c.bytes() {
                off = decode_forward(c.data(), off).2;
                n += 1;
            }
            assert_eq!(off, c.bytes());
            assert_eq!(n, c.count as usize);
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
    struct Rng(u64);
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
                2 => 5000 + self.below(5000) as usize,
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
            let cap: usize = l.chunks.iter().map(|c| c.buf.capacity()).sum();
            let data: usize = l.chunks.iter().map(|c| c.bytes()).sum();
            (cap - data, data)
        };
        for n in [1usize, 10, 100, 1000, 5000] {
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
        // Ten 10-byte elements, as a listpack of Redis would hold them (120 bytes): at most 136.
        let mut l = List::new();
        for i in 0..10 { l.push_back(format!("m:{i}:12345").as_bytes()); }
        assert!(l.chunks[0].buf.capacity() <= 136, "{}", l.chunks[0].buf.capacity());
    }

    #[test]
    fn pushes_and_pops_at_both_ends_match_a_deque() {
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let mut l = List::new();
        let mut m: Model<Vec<u8>> = Model::new();
        for step in 0..20_000 {
            match rng.below(6) {
                0 | 1 => { let e = rng.element(); l.push_back(&e); m.push_back(e); }
                2 | 3 => { let e = rng.element(); l.push_front(&e); m.push_front(e); }
                4 => assert_eq!(l.pop_front(), m.pop_front()),
                _ => assert_eq!(l.pop_back(), m.pop_back()),
            }
            if step % 997 == 0 { check(&l, &m); }
        }
        check(&l, &m);
    }

    #[test]
    fn middle_edits_match_a_deque() {
        let mut rng = Rng(12345);
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
                4 => {
                    let i = rng.below(n + 1) as usize;
                    let e = rng.element();
                    l.insert_at(i, &e);
                    m.insert(i, e);
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
        let nodes: Vec<QuicklistNode> = l.quicklist_nodes(-2).collect();
        // redis-server 7.0.15 reports ql_nodes:3 ql_uncompressed_size:24021 for this list: a node
        // of k entries (7 + 12k bytes) takes another while 7 + 12k + 10 + 8 <= 8192.
        assert_eq!(nodes.iter().map(|n| n.elements.len()).collect::<Vec<_>>(), vec![681, 681, 638]);
        assert_eq!(nodes.iter().map(listpack_bytes).sum::<usize>(), 24021);
        assert_eq!(nodes.iter().map(|n| n.elements.len()).sum::<usize>(), 2000);
        assert!(nodes.iter().all(|n| !n.plain));
        let by_count: Vec<usize> = l.quicklist_nodes(100).map(|n| n.elements.len()).collect();
        assert_eq!(by_count, vec![100; 20]);
        // Count-limited nodes still respect the 8 KB safety limit.
        let big = List::from_items((0..10).map(|_| vec![b'x'; 3000]));
        let sizes: Vec<usize> = big.quicklist_nodes(1000).map(|n| n.elements.len()).collect();
        assert_eq!(sizes, vec![2, 2, 2, 2, 2]);
        // redis-server 7.0.15: ql_nodes:5 ql_uncompressed_size:30075 (for -2 and for 1000).
        assert_eq!(big.quicklist_nodes(-2).map(|n| listpack_bytes(&n)).sum::<usize>(), 30075);
        // redis-server 7.0.15, RPUSH of "element-number-0".."element-number-1999": DEBUG OBJECT
        // says ql_nodes:6 ql_uncompressed_size:40932, and DUMP shows the second node starting
        // at element 414 and holding 408 elements.
        let numbered = List::from_items((0..2000).map(|i| format!("element-number-{i}")));
        let nodes: Vec<QuicklistNode> = numbered.quicklist_nodes(-2).collect();
        assert_eq!(nodes.len(), 6);
        assert_eq!(nodes[0].elements.len(), 414);
        assert_eq!(nodes[1].elements.len(), 408);
        assert_eq!(nodes.iter().map(listpack_bytes).sum::<usize>(), 40932);
        for (list, fill) in [(&l, -2), (&l, 100), (&big, 1000), (&big, -2), (&numbered, -2), (&numbered, -5), (&numbered, 7)] {
            // The nodes cover the list in order, each holding what its shape says.
            let shapes: Vec<NodeShape> = list.quicklist_node_shapes(fill).collect();
            let nodes: Vec<QuicklistNode> = list.quicklist_nodes(fill).collect();
            assert_eq!(shapes.len(), nodes.len(), "fill {fill}");
            assert!(shapes.iter().zip(&nodes).all(|(s, n)| s.count == n.elements.len() && s.plain == n.plain && s.count > 0));
            let joined: Vec<&[u8]> = nodes.iter().flat_map(|n| n.elements.iter().copied()).collect();
            assert_eq!(joined, list.iter().collect::<Vec<_>>(), "fill {fill}");
        }
        assert_eq!(listpack_entry_bytes(b"12"), 2);
        assert_eq!(listpack_entry_bytes(b"-1"), 3);
        assert_eq!(listpack_entry_bytes(b"012"), 5);
        assert_eq!(listpack_entry_bytes(b"a"), 3);
    }

    #[test]
    fn large_elements_get_their_own_chunk() {
        let mut l = List::new();
        l.push_back(b"small");
        l.push_back(&vec![b'L'; 100_000]);
        l.push_back(b"after");
        l.insert_at(2, &vec![b'M'; 50_000]);
        assert_eq!(l.len(), 4);
        assert_eq!(l.get(1).map(|e| e.len()), Some(100_000));
        assert_eq!(l.get(2).map(|e| e.len()), Some(50_000));
        assert_eq!(l.get(3), Some(&b"after"[..]));
        assert!(l.chunks.iter().all(|c| c.bytes() <= CHUNK_BYTES || c.count == 1));
    }
}
