//! The form of a list past one small buffer (see the parent module): a deque of chunks, each
//! chunk a run of packed entries with room at both ends for pushes, or a PLAIN chunk holding
//! one large element alone. Only the two end chunks carry spare room.

use super::{decode_backward, decode_forward, encode_entry, entry_size, is_large, locate, write_entry, View, CHUNK_BYTES};
use std::collections::VecDeque;

use crate::types::reserve_with_slack;

/// An end chunk grows by an eighth of its size at a time (`reserve_with_slack`), not by Vec's
/// doubling: a list's spare capacity stays under 1/8 of its data (a listpack in Redis is sized
/// exactly, reallocated on every push), while pushes still reallocate only once per eighth.
/// Front pushes leave the same eighth as a gap.
const SLACK_DIVISOR: usize = 8;

#[derive(Clone)]
pub(super) struct Chunk {
    /// Entries live in `buf[head..]`; `buf[..head]` is free space for pushes at the front.
    pub(super) buf: Vec<u8>,
    head: u32,
    pub(super) count: u32,
    /// A PLAIN quicklist node: exactly one element, stored on its own whatever its size now
    /// compares to the threshold (as Redis keeps a node plain once it is).
    pub(super) plain: bool,
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
    pub(super) fn packed(entries: Vec<u8>, count: u32) -> Chunk {
        Chunk { buf: entries, head: 0, count, plain: false }
    }

    #[inline] pub(super) fn data(&self) -> &[u8] { &self.buf[self.head as usize..] }
    #[inline] pub(super) fn bytes(&self) -> usize { self.buf.len() - self.head as usize }

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

    fn drop_front(&mut self) {
        let (_, _, next) = decode_forward(self.data(), 0);
        self.head += next as u32;
        self.count -= 1;
    }

    fn drop_back(&mut self) {
        let (entry_start, _, _) = decode_backward(self.data(), self.bytes());
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
    fn locate(&self, i: usize) -> (usize, usize, usize, usize) { locate(self.data(), self.count as usize, i) }

    /// Replaces the bytes `[from, to)` of `data()` with the entries in `replacement`.
    fn splice(&mut self, from: usize, to: usize, replacement: &[u8]) {
        let h = self.head as usize;
        if replacement.len() > to - from { reserve_with_slack(&mut self.buf, replacement.len() - (to - from)); }
        self.buf.splice(h + from..h + to, replacement.iter().copied());
    }
}

/// A list as chunks: the chunk table and the element count.
#[derive(Clone)]
pub(super) struct Chunked {
    pub(super) chunks: VecDeque<Chunk>,
    pub(super) len: usize,
}

impl Chunked {
    pub(super) fn new() -> Chunked { Chunked { chunks: VecDeque::with_capacity(2), len: 0 } }

    /// The list whose elements are the `count` packed `entries`, as its first chunk.
    pub(super) fn from_entries(entries: Vec<u8>, count: usize) -> Chunked {
        let mut c = Chunked::new();
        if count > 0 {
            c.chunks.push_back(Chunk::packed(entries, count as u32));
            c.len = count;
        }
        c
    }

    pub(super) fn view(&self) -> View<'_> { View::Chunked(&self.chunks) }

    /// The entries of a list that fits one small buffer again: its only chunk, packed and at
    /// most `max_bytes` long (None otherwise).
    pub(super) fn single_small_chunk(&self, max_bytes: usize) -> Option<(&[u8], usize)> {
        match self.chunks.len() {
            0 => Some((&[], 0)),
            1 if !self.chunks[0].plain && self.chunks[0].bytes() <= max_bytes => Some((self.chunks[0].data(), self.len)),
            _ => None,
        }
    }

    /// Gives back the last chunk's spare room (once a loader has appended everything).
    pub(super) fn compact_tail(&mut self) {
        if let Some(last) = self.chunks.back_mut() { last.compact(); }
    }

    /// The malloc chunks of the chunk table and of every chunk's buffer.
    pub(super) fn memory_usage(&self) -> usize {
        use crate::alloc::chunk_size;
        let table = if self.chunks.capacity() == 0 { 0 } else { chunk_size(self.chunks.capacity() * std::mem::size_of::<Chunk>()) };
        table + self.chunks.iter().map(|c| chunk_size(c.buf.capacity())).sum::<usize>()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>() + self.chunks.iter().map(|c| c.buf.capacity()).sum::<usize>()
    }

    /// Appends `elem`, in a PLAIN node of its own when it is large (Redis's quicklistPush).
    pub(super) fn push_back(&mut self, elem: &[u8]) {
        if is_large(elem) { self.push_back_plain(elem) } else { self.push_back_packed(elem) }
    }

    /// Appends `elem` in a PLAIN node of its own (an RDB node stored PLAIN).
    pub(super) fn push_back_plain(&mut self, elem: &[u8]) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() { last.compact(); }
        self.chunks.push_back(Chunk::plain(elem));
    }

    /// Appends `elem` to a packed node whatever its size (an RDB node stored PACKED).
    pub(super) fn push_back_packed(&mut self, elem: &[u8]) {
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

    pub(super) fn push_front(&mut self, elem: &[u8]) {
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

    /// Removes the head element; false when the list was empty.
    pub(super) fn drop_front(&mut self) -> bool {
        let Some(c) = self.chunks.front_mut() else { return false };
        c.drop_front();
        if c.count == 0 { self.chunks.pop_front(); }
        self.len -= 1;
        true
    }

    /// Removes the tail element; false when the list was empty.
    pub(super) fn drop_back(&mut self) -> bool {
        let Some(c) = self.chunks.back_mut() else { return false };
        c.drop_back();
        if c.count == 0 { self.chunks.pop_back(); }
        self.len -= 1;
        true
    }

    /// Removes the first `n` elements (fewer if the list is shorter), dropping whole chunks.
    pub(super) fn drop_front_n(&mut self, mut n: usize) {
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
    pub(super) fn drop_back_n(&mut self, mut n: usize) {
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

    fn chunk_of(&self, index: usize) -> Option<(usize, usize)> { self.view().chunk_of(index, self.len) }

    /// Replaces element `index`; false when out of range. A large value takes a PLAIN node of
    /// its own; a plain node given a small value becomes packed (quicklistReplaceEntry).
    pub(super) fn set(&mut self, index: usize, value: &[u8]) -> bool {
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
    pub(super) fn insert_at(&mut self, index: usize, value: &[u8]) {
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

    /// LREM's removal pass (see `List::remove_matching`): removes the elements equal to `value`
    /// from element `first_index` on, at most `limit` of them; returns how many it removed.
    pub(super) fn remove_matching_from(&mut self, value: &[u8], limit: usize, first_index: usize) -> usize {
        let mut pass = super::RemovalPass { value, limit, first_index, removed: 0, index: 0 };
        for c in self.chunks.iter_mut() {
            if pass.removed == limit { break; }
            let n = c.count as usize;
            if pass.index + n <= first_index {
                pass.index += n;
                continue;
            }
            c.count = pass.run(&mut c.buf, c.head as usize) as u32;
        }
        if pass.removed > 0 {
            self.len -= pass.removed;
            self.chunks.retain(|c| c.count > 0);
            self.merge_small_chunks();
        }
        pass.removed
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
}
