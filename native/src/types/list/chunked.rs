//! The form of a list past one small buffer (see the parent module): a deque of chunks that
//! are exactly Redis 7.0's quicklist nodes. Each chunk is a run of packed entries (with room
//! at both ends for pushes), or a PLAIN chunk holding one large element alone, and knows the
//! size Redis's listpack for it would have (`lp`), so that pushes, inserts, splits and merges
//! follow quicklist.c's rules and the chunk boundaries are Redis's node boundaries. Only the
//! two end chunks carry spare room.
//!
//! Under `list-compress-depth` N > 0 (the list's options, fixed at its creation) the chunks
//! further than N from both ends are kept as Redis keeps those nodes: the LZF compression of
//! the node's listpack (or of a PLAIN node's element), when the node is at least
//! MIN_COMPRESS_BYTES and compression saves more than MIN_COMPRESS_IMPROVE (quicklist.c's
//! __quicklistCompressNode). The ends stay raw, so pushes and pops at the ends only meet LZF
//! when a node is created or emptied (as in Redis). A write decompresses the node it touches
//! and `settle` compresses it again, as quicklist's `recompress` flag does. A read through
//! `&self` decodes a compressed chunk into a cache beside it (`Lzf::entries`), which the next
//! write or `release_caches` drops; the compressed bytes stay, so the RDB writer copies them.

use super::{decode_backward, decode_forward, encode_entry, entries_lp, entry_size, is_large, opts_pair, slot_fill, listpack_entry_bytes, locate, node_allows_insert, nodes_allow_merge, write_entry, View, LISTPACK_EMPTY_BYTES};
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::types::reserve_with_slack;

/// An end chunk grows by an eighth of its size at a time (`reserve_with_slack`), not by Vec's
/// doubling: a list's spare capacity stays under 1/8 of its data (a listpack in Redis is sized
/// exactly, reallocated on every push), while pushes still reallocate only once per eighth.
/// Front pushes leave the same eighth as a gap.
const SLACK_DIVISOR: usize = 8;

/// quicklist.c: nodes smaller than this are not compressed, nor are nodes that LZF shrinks by
/// no more than MIN_COMPRESS_IMPROVE bytes.
const MIN_COMPRESS_BYTES: usize = 48;
const MIN_COMPRESS_IMPROVE: usize = 8;

/// A chunk's storage: its entries, or (an interior node of a compressing list) the LZF form
/// of the node Redis would hold.
#[derive(Clone)]
pub(super) enum Store {
    /// Entries live in `buf[head..]`; `buf[..head]` is free space for pushes at the front.
    Raw(Vec<u8>),
    Lzf(Box<Lzf>),
}

#[derive(Clone)]
pub(super) struct Lzf {
    /// LZF of the node's listpack (`Chunk::lp` bytes once decompressed), or of the element of
    /// a PLAIN node: what rdbSaveObject writes for a compressed node.
    pub(super) bytes: Box<[u8]>,
    /// The entries, decoded by a read through `&self` (see the module comment).
    entries: OnceLock<Box<[u8]>>,
}

impl Lzf {
    fn entries(&self, lp: usize, plain: bool) -> &[u8] {
        self.entries.get_or_init(|| decode_node(&self.bytes, lp, plain).into_boxed_slice())
    }
}

/// The entries of a compressed node (LZF of a listpack, or of a PLAIN node's element).
fn decode_node(lzf: &[u8], lp: usize, plain: bool) -> Vec<u8> {
    // Our own bytes: they were produced by `Chunk::compress` from valid entries.
    let node = crate::rdb::lzf::decompress(lzf, lp).expect("a compressed list node decompresses");
    if plain { return encode_entry(&node); }
    let mut out = Vec::with_capacity(node.len());
    let mut digits = Vec::with_capacity(20);
    for e in crate::rdb::ListpackIter::new(&node).expect("a compressed list node holds a listpack") {
        match e.expect("a compressed list node holds a valid listpack") {
            crate::rdb::Entry::Bytes(b) => push_entry(&mut out, b),
            crate::rdb::Entry::Int(v) => {
                digits.clear();
                crate::numfmt::push_i64(&mut digits, v);
                push_entry(&mut out, &digits);
            }
        }
    }
    out
}

fn push_entry(out: &mut Vec<u8>, elem: &[u8]) {
    let at = out.len();
    out.resize(at + entry_size(elem.len()), 0);
    write_entry(&mut out[at..], elem);
}

thread_local! {
    /// The compressor and listpack scratch of the thread compressing nodes (the main thread;
    /// each test thread its own).
    static NODE_CODEC: std::cell::RefCell<(crate::rdb::LzfCompressor, crate::rdb::ListpackBuilder, Vec<u8>)> =
        std::cell::RefCell::new((crate::rdb::LzfCompressor::new(), crate::rdb::ListpackBuilder::new(), Vec::new()));
}

#[derive(Clone)]
pub(super) struct Chunk {
    pub(super) buf: Store,
    head: u32,
    pub(super) count: u32,
    /// Redis's `node->sz`: the bytes of this node's listpack (header, entries, terminator), or
    /// the element's length for a PLAIN node.
    pub(super) lp: usize,
    /// A PLAIN quicklist node: exactly one element, stored on its own whatever its size now
    /// compares to the threshold (as Redis keeps a node plain once it is).
    pub(super) plain: bool,
    /// quicklist's `recompress`: the chunk was decompressed for a write (or is new) and
    /// `settle` compresses it again when it is an interior chunk.
    recompress: bool,
}

impl Chunk {
    fn with_element(elem: &[u8]) -> Chunk {
        let mut buf = vec![0u8; entry_size(elem.len())];
        write_entry(&mut buf, elem);
        Chunk { buf: Store::Raw(buf), head: 0, count: 1, lp: LISTPACK_EMPTY_BYTES + listpack_entry_bytes(elem), plain: false, recompress: true }
    }

    fn plain(elem: &[u8]) -> Chunk {
        Chunk { plain: true, lp: elem.len(), ..Chunk::with_element(elem) }
    }

    /// A packed chunk holding `entries` (encoded, `count` of them).
    pub(super) fn packed(entries: Vec<u8>, count: u32) -> Chunk {
        let lp = LISTPACK_EMPTY_BYTES + entries_lp(&entries);
        Chunk { buf: Store::Raw(entries), head: 0, count, lp, plain: false, recompress: true }
    }

    /// The entries (a compressed chunk's decoded into its cache).
    #[inline]
    pub(super) fn data(&self) -> &[u8] {
        match &self.buf {
            Store::Raw(b) => &b[self.head as usize..],
            Store::Lzf(z) => z.entries(self.lp, self.plain),
        }
    }

    #[inline] pub(super) fn bytes(&self) -> usize { self.data().len() }

    #[inline] pub(super) fn is_compressed(&self) -> bool { matches!(self.buf, Store::Lzf(_)) }

    /// The raw buffer of a chunk being written: callers decompress it first (`make_raw`).
    #[inline]
    fn raw(&mut self) -> &mut Vec<u8> {
        match &mut self.buf {
            Store::Raw(b) => b,
            Store::Lzf(_) => unreachable!("a compressed chunk is made raw before it is written"),
        }
    }

    /// Decompresses the chunk for a write (quicklistDecompressNodeForUse): it is marked for
    /// recompression. Gives back the compressed form, for a caller that wrote nothing.
    fn make_raw(&mut self) -> Option<Box<Lzf>> {
        if !self.is_compressed() { return None; }
        let Store::Lzf(mut z) = std::mem::replace(&mut self.buf, Store::Raw(Vec::new())) else { unreachable!("checked above") };
        let entries = match z.entries.take() {
            Some(e) => e.into_vec(),
            None => decode_node(&z.bytes, self.lp, self.plain),
        };
        self.buf = Store::Raw(entries);
        self.head = 0;
        self.recompress = true;
        Some(z)
    }

    /// __quicklistCompressNode: keeps the chunk as the LZF form of its node when the node is at
    /// least MIN_COMPRESS_BYTES and LZF (bounded by the node's size) saves more than
    /// MIN_COMPRESS_IMPROVE bytes. Clears `recompress` either way.
    fn compress(&mut self) {
        self.recompress = false;
        if self.is_compressed() || self.lp < MIN_COMPRESS_BYTES { return; }
        let data = self.data();
        let lzf = NODE_CODEC.with(|codec| {
            let (lzf, lp, out) = &mut *codec.borrow_mut();
            let node: &[u8] = if self.plain {
                let (s, e, _) = decode_forward(data, 0);
                &data[s..e]
            } else {
                lp.reset();
                let mut off = 0;
                while off < data.len() {
                    let (s, e, next) = decode_forward(data, off);
                    lp.push_bytes(&data[s..e]);
                    off = next;
                }
                lp.finish()
            };
            debug_assert_eq!(node.len(), self.lp, "a chunk's listpack size");
            out.clear();
            match lzf.compress_bounded(node, out, node.len()) {
                Some(n) if n + MIN_COMPRESS_IMPROVE < node.len() => Some(out.as_slice().into()),
                _ => None,
            }
        });
        if let Some(bytes) = lzf {
            self.buf = Store::Lzf(Box::new(Lzf { bytes, entries: OnceLock::new() }));
            self.head = 0;
        }
    }

    /// Drops a compressed chunk's decoded cache.
    fn release_cache(&mut self) {
        if let Store::Lzf(z) = &mut self.buf { z.entries.take(); }
    }

    /// The chunk's malloc chunks (a compressed one's box, bytes and cache).
    fn memory_usage(&self) -> usize {
        use crate::alloc::chunk_size;
        match &self.buf {
            Store::Raw(b) => chunk_size(b.capacity()),
            Store::Lzf(z) => chunk_size(std::mem::size_of::<Lzf>()) + chunk_size(z.bytes.len()) + z.entries.get().map_or(0, |e| chunk_size(e.len())),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match &self.buf {
            Store::Raw(b) => b.capacity(),
            Store::Lzf(z) => std::mem::size_of::<Lzf>() + z.bytes.len() + z.entries.get().map_or(0, |e| e.len()),
        }
    }

    /// Redis's `_quicklistNodeAllowInsert`: may `elem` join this node of a list of `fill`?
    #[inline]
    fn allows(&self, elem: &[u8], fill: i64) -> bool {
        !self.plain && !is_large(elem) && node_allows_insert(self.lp, self.count as usize, fill, elem.len())
    }

    fn push_back(&mut self, elem: &[u8]) {
        let buf = self.raw();
        let at = buf.len();
        reserve_with_slack(buf, entry_size(elem.len()));
        buf.resize(at + entry_size(elem.len()), 0);
        write_entry(&mut buf[at..], elem);
        self.count += 1;
        self.lp += listpack_entry_bytes(elem);
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
            self.buf = Store::Raw(buf);
            self.head = gap as u32;
        }
        let start = self.head as usize - need;
        write_entry(&mut self.raw()[start..start + need], elem);
        self.head = start as u32;
        self.count += 1;
        self.lp += listpack_entry_bytes(elem);
    }

    fn drop_front(&mut self) {
        let (s, e, next) = decode_forward(self.data(), 0);
        if !self.plain { self.lp -= listpack_entry_bytes(&self.data()[s..e]); }
        self.head += next as u32;
        self.count -= 1;
    }

    fn drop_back(&mut self) {
        let (entry_start, s, e) = decode_backward(self.data(), self.bytes());
        if !self.plain { self.lp -= listpack_entry_bytes(&self.data()[s..e]); }
        let keep = self.head as usize + entry_start;
        self.raw().truncate(keep);
        self.count -= 1;
    }

    /// Drops the front gap and spare capacity: called on chunks that stop being an end chunk,
    /// so only the two end chunks ever carry slack.
    fn compact(&mut self) {
        if self.is_compressed() { return; }
        let head = std::mem::take(&mut self.head) as usize;
        let buf = self.raw();
        if head > 0 { buf.drain(..head); }
        buf.shrink_to_fit();
    }

    /// Byte offsets (relative to `data()`) of element `i`: (entry start, elem start, elem end, next).
    fn locate(&self, i: usize) -> (usize, usize, usize, usize) { locate(self.data(), self.count as usize, i) }

    /// Replaces the bytes `[from, to)` of `data()` with the entries in `replacement`.
    fn splice(&mut self, from: usize, to: usize, replacement: &[u8]) {
        let h = self.head as usize;
        let buf = self.raw();
        if replacement.len() > to - from { reserve_with_slack(buf, replacement.len() - (to - from)); }
        buf.splice(h + from..h + to, replacement.iter().copied());
    }

    /// Inserts `elem` as an entry at byte `at` of `data()`.
    fn insert_entry(&mut self, at: usize, elem: &[u8]) {
        self.splice(at, at, &encode_entry(elem));
        self.count += 1;
        self.lp += listpack_entry_bytes(elem);
    }

    /// Splits off the elements from index `keep` on into a new chunk (Redis's
    /// `_quicklistSplitNode`): this chunk keeps the first `keep` elements.
    fn split_off(&mut self, keep: usize) -> Chunk {
        let (at, _, _, _) = if keep == self.count as usize { (self.bytes(), 0, 0, 0) } else { self.locate(keep) };
        let right = Chunk::packed(self.data()[at..].to_vec(), self.count - keep as u32);
        let h = self.head as usize;
        self.raw().truncate(h + at);
        self.count = keep as u32;
        self.lp -= right.lp - LISTPACK_EMPTY_BYTES;
        self.compact();
        right
    }
}

/// A list as chunks: the chunk table, the element count and the list's options.
#[derive(Clone)]
pub(super) struct Chunked {
    pub(super) chunks: VecDeque<Chunk>,
    pub(super) len: LenAndSlot,
}

/// The element count (low 55 bits), whether some compressed chunk holds a decoded cache (bit
/// 55) and the options slot (high byte) in one word, so that the chunked form stays a 40-byte
/// allocation (a 48-byte malloc chunk; 41 bytes would take 64). Atomic only so that a read
/// through `&self` can set the cache bit (the RDB save reads lists from several threads);
/// writes through `&mut` are plain. `+=` and `-=` move the count only.
pub(super) struct LenAndSlot(AtomicU64);

const LEN_BITS: u32 = 56;
const CACHED_BIT: u64 = 1 << (LEN_BITS - 1);
const LEN_MASK: u64 = CACHED_BIT - 1;

impl Clone for LenAndSlot {
    // A clone's chunks carry their caches too, so the bit is copied as it is.
    fn clone(&self) -> Self { LenAndSlot(AtomicU64::new(self.0.load(Ordering::Relaxed))) }
}

impl LenAndSlot {
    #[inline] pub(super) fn get(&self) -> usize { (self.0.load(Ordering::Relaxed) & LEN_MASK) as usize }
    #[inline] fn slot(&self) -> u8 { (self.0.load(Ordering::Relaxed) >> LEN_BITS) as u8 }
    #[inline]
    fn mark_cached(&self) {
        if self.0.load(Ordering::Relaxed) & CACHED_BIT == 0 { self.0.fetch_or(CACHED_BIT, Ordering::Relaxed); }
    }
    /// Clears the cache bit; whether it was set.
    #[inline]
    fn take_cached(&mut self) -> bool {
        let w = self.0.get_mut();
        let was = *w & CACHED_BIT != 0;
        *w &= !CACHED_BIT;
        was
    }
}

impl std::ops::AddAssign<usize> for LenAndSlot {
    #[inline]
    fn add_assign(&mut self, n: usize) { *self.0.get_mut() += n as u64; }
}

impl std::ops::SubAssign<usize> for LenAndSlot {
    #[inline]
    fn sub_assign(&mut self, n: usize) { *self.0.get_mut() -= n as u64; }
}

impl Chunked {
    /// The list whose elements are the `count` packed `entries` (one node of `lp` listpack
    /// bytes), as its first chunk, with options `slot`.
    pub(super) fn from_entries(entries: Vec<u8>, count: usize, lp: usize, slot: u8) -> Chunked {
        let mut c = Chunked { chunks: VecDeque::with_capacity(2), len: LenAndSlot(AtomicU64::new((slot as u64) << LEN_BITS)) };
        if count > 0 {
            c.chunks.push_back(Chunk { buf: Store::Raw(entries), head: 0, count: count as u32, lp, plain: false, recompress: false });
            c.len += count;
        }
        c
    }

    #[inline] pub(super) fn slot(&self) -> u8 { self.len.slot() }

    /// The list's fill.
    #[inline] fn fill(&self) -> i64 { slot_fill(self.len.slot()) }

    pub(super) fn view(&self) -> View<'_> { View::Chunked(self) }

    /// Chunk `i`'s entries, count and PLAIN flag, noting when a compressed chunk's entries
    /// are decoded (so that `release_caches` knows there is something to drop).
    #[inline]
    pub(super) fn chunk(&self, i: usize) -> Option<(&[u8], usize, bool)> {
        let c = self.chunks.get(i)?;
        if c.is_compressed() { self.len.mark_cached(); }
        Some((c.data(), c.count as usize, c.plain))
    }

    /// The list's compress depth (list-compress-depth when it was created).
    #[inline]
    pub(super) fn depth(&self) -> usize { (opts_pair(self.slot()) >> 16) as usize }

    /// Drops the entries decoded by reads of compressed chunks (Redis recompresses a node once
    /// it has been read); nothing to do unless a read decoded one.
    pub(super) fn release_caches(&mut self) {
        if self.len.take_cached() {
            self.chunks.iter_mut().for_each(Chunk::release_cache);
        }
    }

    /// Chunk `i`, decompressed for a write.
    #[inline]
    fn raw_at(&mut self, i: usize) -> &mut Chunk {
        let c = &mut self.chunks[i];
        c.make_raw();
        c
    }

    /// quicklist.c's __quicklistCompress after a write: the `depth` chunks at each end are
    /// raw, the chunks just beyond them are compressed, and so are the chunks of `touched`
    /// that were decompressed for the write or are new (their `recompress`) when they are
    /// interior. A list of at most twice `depth` chunks compresses nothing. Nothing at all
    /// when the list does not compress.
    fn settle(&mut self, touched: Range<usize>) {
        let depth = self.depth();
        if depth == 0 { return; }
        self.release_caches();
        let n = self.chunks.len();
        for i in 0..depth.min(n) {
            for at in [i, n - 1 - i] {
                let c = &mut self.chunks[at];
                c.make_raw();
                c.recompress = false;
            }
        }
        if n <= 2 * depth { return; }
        for i in touched.start.max(depth)..touched.end.min(n - depth) {
            if self.chunks[i].recompress { self.chunks[i].compress(); }
        }
        self.chunks[depth].compress();
        self.chunks[n - 1 - depth].compress();
    }

    /// Every interior chunk compressed (a list built by a loader, node by node, as
    /// quicklistAppendListpack compresses each node that passes the depth).
    pub(super) fn compress_interior(&mut self) {
        let depth = self.depth();
        if depth == 0 || self.chunks.len() <= 2 * depth { return; }
        let n = self.chunks.len();
        for i in depth..n - depth { self.chunks[i].compress(); }
    }

    /// Calls `f` with every element, head to tail, decoding each compressed chunk into a
    /// buffer dropped after it rather than into its cache: for the walks of a whole list that
    /// cannot release caches afterwards (AOF rewrite in a forked child, DEBUG DIGEST).
    pub(super) fn for_each(&self, mut f: impl FnMut(&[u8])) {
        for c in &self.chunks {
            let decoded;
            let data = match &c.buf {
                Store::Raw(b) => &b[c.head as usize..],
                Store::Lzf(z) => match z.entries.get() {
                    Some(e) => &e[..],
                    None => {
                        decoded = decode_node(&z.bytes, c.lp, c.plain);
                        &decoded[..]
                    }
                },
            };
            let mut off = 0;
            while off < data.len() {
                let (s, e, next) = decode_forward(data, off);
                f(&data[s..e]);
                off = next;
            }
        }
    }

    /// Whether any chunk is compressed (tests).
    #[cfg(test)]
    pub(super) fn compressed_chunks(&self) -> usize { self.chunks.iter().filter(|c| c.is_compressed()).count() }

    /// The entries of a list that fits one small buffer again: its only chunk, packed, at
    /// most `max_bytes` long and `max_count` elements (None otherwise), with its listpack size.
    pub(super) fn single_small_chunk(&self, max_bytes: usize, max_count: usize) -> Option<(&[u8], usize, usize)> {
        match self.chunks.len() {
            0 => Some((&[], 0, 0)),
            1 if !self.chunks[0].plain && self.chunks[0].bytes() <= max_bytes && self.len.get() <= max_count => {
                Some((self.chunks[0].data(), self.len.get(), self.chunks[0].lp))
            }
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
        table + self.chunks.iter().map(Chunk::memory_usage).sum::<usize>()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>() + self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
    }

    /// Appends `elem` (Redis's quicklistPushTail): in a PLAIN node of its own when it is
    /// large, else in the tail node when it allows it, else in a new tail node.
    pub(super) fn push_back(&mut self, elem: &[u8]) {
        if is_large(elem) { return self.push_back_plain(elem); }
        self.len += 1;
        let fill = self.fill();
        if let Some(last) = self.chunks.back_mut() {
            if last.allows(elem, fill) {
                last.make_raw();
                last.push_back(elem);
                return;
            }
            last.compact();
        }
        self.chunks.push_back(Chunk::with_element(elem));
        self.settle_new_end();
    }

    /// After a node was added at an end: the node it pushed past the depth is compressed
    /// (the new node itself is an end).
    #[inline]
    fn settle_new_end(&mut self) {
        if self.depth() > 0 { self.settle(0..0); }
    }

    /// Appends `elem` in a PLAIN node of its own (an RDB node stored PLAIN).
    pub(super) fn push_back_plain(&mut self, elem: &[u8]) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() { last.compact(); }
        self.chunks.push_back(Chunk::plain(elem));
        self.settle_new_end();
    }

    /// Appends `elem` to a packed node whatever its size (an RDB node stored PACKED): to the
    /// tail node, or to a new one when `new_node` (or when the tail node is PLAIN).
    pub(super) fn push_back_packed(&mut self, elem: &[u8], new_node: bool) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() {
            if !new_node && !last.plain {
                last.make_raw();
                last.push_back(elem);
                return;
            }
            last.compact();
        }
        self.chunks.push_back(Chunk::with_element(elem));
    }

    /// Prepends `elem` (Redis's quicklistPushHead).
    pub(super) fn push_front(&mut self, elem: &[u8]) {
        self.len += 1;
        if is_large(elem) {
            if let Some(first) = self.chunks.front_mut() { first.compact(); }
            self.chunks.push_front(Chunk::plain(elem));
            self.settle_new_end();
            return;
        }
        let fill = self.fill();
        if let Some(first) = self.chunks.front_mut() {
            if first.allows(elem, fill) {
                first.make_raw();
                first.push_front(elem);
                return;
            }
            first.compact();
        }
        self.chunks.push_front(Chunk::with_element(elem));
        self.settle_new_end();
    }

    /// Removes the head element; false when the list was empty.
    pub(super) fn drop_front(&mut self) -> bool {
        let Some(c) = self.chunks.front_mut() else { return false };
        c.make_raw();
        c.drop_front();
        self.len -= 1;
        if c.count == 0 {
            self.chunks.pop_front();
            self.settle_new_end();
        }
        true
    }

    /// Removes the tail element; false when the list was empty.
    pub(super) fn drop_back(&mut self) -> bool {
        let Some(c) = self.chunks.back_mut() else { return false };
        c.make_raw();
        c.drop_back();
        self.len -= 1;
        if c.count == 0 {
            self.chunks.pop_back();
            self.settle_new_end();
        }
        true
    }

    /// Removes the first `n` elements (fewer if the list is shorter), dropping whole chunks
    /// (quicklistDelRange: nodes are never merged after it).
    pub(super) fn drop_front_n(&mut self, n: usize) {
        self.drop_front_n_raw(n);
        self.settle_new_end();
    }

    fn drop_front_n_raw(&mut self, mut n: usize) {
        while n > 0 {
            let Some(c) = self.chunks.front_mut() else { return };
            if c.count as usize <= n {
                n -= c.count as usize;
                self.len -= c.count as usize;
                self.chunks.pop_front();
            } else {
                c.make_raw();
                let (_, _, _, next) = c.locate(n - 1);
                c.lp -= entries_lp(&c.data()[..next]);
                c.head += next as u32;
                c.count -= n as u32;
                self.len -= n;
                n = 0;
            }
        }
    }

    /// Removes the last `n` elements (fewer if the list is shorter).
    pub(super) fn drop_back_n(&mut self, n: usize) {
        self.drop_back_n_raw(n);
        self.settle_new_end();
    }

    fn drop_back_n_raw(&mut self, mut n: usize) {
        while n > 0 {
            let Some(c) = self.chunks.back_mut() else { return };
            if c.count as usize <= n {
                n -= c.count as usize;
                self.len -= c.count as usize;
                self.chunks.pop_back();
            } else {
                c.make_raw();
                let keep = c.count as usize - n;
                let (entry, _, _, _) = c.locate(keep);
                c.lp -= entries_lp(&c.data()[entry..]);
                let h = c.head as usize;
                c.raw().truncate(h + entry);
                c.count = keep as u32;
                self.len -= n;
                n = 0;
            }
        }
    }

    fn chunk_of(&self, index: usize) -> Option<(usize, usize)> { self.view().chunk_of(index, self.len.get()) }

    /// Replaces element `index`; false when out of range (Redis's quicklistReplaceEntry): a
    /// small value replaces the entry in place, however large the node grows; a PLAIN node
    /// given a large value stays PLAIN; a PLAIN node given a small value is replaced by an
    /// insert after it; a large value takes a PLAIN node of its own.
    pub(super) fn set(&mut self, index: usize, value: &[u8]) -> bool {
        let Some((ci, i)) = self.chunk_of(index) else { return false };
        // quicklistReplaceEntry compresses the node it replaced in when it is interior, even
        // one that was raw before (quicklistCompress of a node not marked for recompression
        // runs __quicklistCompress with it).
        self.chunks[ci].make_raw();
        self.chunks[ci].recompress = true;
        self.set_at(ci, i, value);
        self.settle(ci.saturating_sub(2)..ci + 4);
        true
    }

    fn set_at(&mut self, ci: usize, i: usize, value: &[u8]) {
        if self.chunks[ci].plain {
            if is_large(value) {
                self.chunks[ci] = Chunk::plain(value);
            } else {
                self.insert_beside(ci, 0, true, value);
                self.chunks.remove(ci);
                self.len -= 1;
            }
            return;
        }
        if is_large(value) {
            self.isolate(ci, i, Chunk::plain(value));
            return;
        }
        let c = &mut self.chunks[ci];
        let (entry, s, e, next) = c.locate(i);
        let old_lp = listpack_entry_bytes(&c.data()[s..e]);
        c.splice(entry, next, &encode_entry(value));
        c.lp = c.lp - old_lp + listpack_entry_bytes(value);
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

    /// Inserts `value` after (or before) element `index` (LINSERT's pivot).
    pub(super) fn insert_next_to(&mut self, index: usize, after: bool, value: &[u8]) {
        if let Some((ci, i)) = self.chunk_of(index) {
            self.insert_beside(ci, i, after, value);
            self.settle(ci.saturating_sub(2)..ci + 4);
        }
    }

    /// Redis's `_quicklistInsert`: inserts `value` after (or before) element `i` of chunk
    /// `ci`. Into that node when it allows it; else at the head of the next node (or the tail
    /// of the previous one) when the pivot ends its node and that neighbour allows it; else
    /// into a new node there; else the node is split at the pivot, the value joins the split
    /// off part, and neighbouring nodes that fit together are merged.
    fn insert_beside(&mut self, ci: usize, i: usize, after: bool, value: &[u8]) {
        self.len += 1;
        let fill = self.fill();
        let node = &self.chunks[ci];
        let full = !node.allows(value, fill);
        let at_tail = after && i + 1 == node.count as usize;
        let at_head = !after && i == 0;
        let avail_next = at_tail && self.chunks.get(ci + 1).is_some_and(|n| n.allows(value, fill));
        let avail_prev = at_head && ci > 0 && self.chunks[ci - 1].allows(value, fill);
        let beside = if after { ci + 1 } else { ci };
        // The node written is decompressed for the write (and recompressed by `settle`); a
        // node next to which a node is inserted is compressed when interior
        // (__quicklistInsertNode's quicklistCompress of the old node).
        if is_large(value) {
            if node.plain || at_tail || at_head {
                self.chunks[ci].recompress = true;
                self.chunks.insert(beside, Chunk::plain(value));
            } else {
                self.chunks[ci].make_raw();
                let right = self.chunks[ci].split_off(if after { i + 1 } else { i });
                self.chunks.insert(ci + 1, right);
                self.chunks.insert(ci + 1, Chunk::plain(value));
            }
            return;
        }
        if !full {
            let c = self.raw_at(ci);
            let (entry, _, _, next) = c.locate(i);
            c.insert_entry(if after { next } else { entry }, value);
        } else if avail_next {
            self.raw_at(ci + 1).push_front(value);
        } else if avail_prev {
            self.raw_at(ci - 1).push_back(value);
        } else if at_tail || at_head {
            self.chunks[ci].recompress = true;
            self.chunks.insert(beside, Chunk::with_element(value));
        } else if after {
            // The node keeps elements ..=i; the rest, the value at its front, follows it.
            self.chunks[ci].make_raw();
            let mut right = self.chunks[ci].split_off(i + 1);
            right.insert_entry(0, value);
            self.chunks.insert(ci + 1, right);
            self.merge_around(ci);
        } else {
            // The node keeps elements i..; the ones before it, the value at their end, go in
            // a new node before it.
            self.chunks[ci].make_raw();
            let right = self.chunks[ci].split_off(i);
            let mut left = std::mem::replace(&mut self.chunks[ci], right);
            left.recompress = true;
            let end = left.bytes();
            left.insert_entry(end, value);
            left.compact();
            self.chunks.insert(ci, left);
            self.merge_around(ci + 1);
        }
    }

    /// Redis's `_quicklistMergeNodes` around chunk `center`: merges the two nodes before it,
    /// the two after it, then the center with its previous node and the result with its next
    /// one, each when the merged node would stay within the fill limits.
    fn merge_around(&mut self, mut center: usize) {
        if center >= 2 && self.allow_merge(center - 2) {
            self.merge_with_next(center - 2);
            center -= 1;
        }
        if self.allow_merge(center + 1) {
            self.merge_with_next(center + 1);
        }
        let target = if center >= 1 && self.allow_merge(center - 1) {
            self.merge_with_next(center - 1);
            center - 1
        } else {
            center
        };
        if self.allow_merge(target) {
            self.merge_with_next(target);
        }
    }

    /// Whether chunks `a` and `a + 1` may merge (`_quicklistNodeAllowMerge`).
    fn allow_merge(&self, a: usize) -> bool {
        match (self.chunks.get(a), self.chunks.get(a + 1)) {
            (Some(x), Some(y)) if !x.plain && !y.plain => nodes_allow_merge(x.lp, x.count as usize, y.lp, y.count as usize, self.fill()),
            _ => false,
        }
    }

    fn merge_with_next(&mut self, a: usize) {
        let next = self.chunks.remove(a + 1).expect("allow_merge saw it");
        let c = self.raw_at(a);
        c.compact();
        c.raw().extend_from_slice(next.data());
        c.count += next.count;
        c.lp += next.lp - LISTPACK_EMPTY_BYTES;
        // _quicklistMergeNodes compresses the merged node when it is interior.
        c.recompress = true;
    }

    /// LREM's removal pass (see `List::remove_matching`): removes the elements equal to `value`
    /// from element `first_index` on, at most `limit` of them; returns how many it removed.
    /// Emptied nodes go; the others stay as they are (quicklistDelEntry merges nothing).
    pub(super) fn remove_matching_from(&mut self, value: &[u8], limit: usize, first_index: usize) -> usize {
        let mut pass = super::RemovalPass { value, limit, first_index, removed: 0, index: 0 };
        let removed_lp = listpack_entry_bytes(value);
        for c in self.chunks.iter_mut() {
            if pass.removed == limit { break; }
            let n = c.count as usize;
            if pass.index + n <= first_index {
                pass.index += n;
                continue;
            }
            let before = pass.removed;
            // A compressed node the pass removes nothing from keeps its compressed bytes (the
            // node Redis's iterator decompresses and recompresses, unchanged).
            let compressed = c.make_raw();
            let head = c.head as usize;
            c.count = pass.run(c.raw(), head) as u32;
            c.lp -= (pass.removed - before) * removed_lp;
            if let (Some(z), true) = (compressed, pass.removed == before) {
                c.buf = Store::Lzf(z);
                c.recompress = false;
            }
        }
        if pass.removed > 0 {
            self.len -= pass.removed;
            self.chunks.retain(|c| c.count > 0);
        }
        self.settle(0..self.chunks.len());
        pass.removed
    }
}
