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
//! when a node is created or emptied (as in Redis). Which interior nodes are compressed
//! depends on the history in Redis (a raw interior node stays raw until something passes it
//! to quicklistCompress), so every write here calls `ql_compress` where quicklist.c calls
//! quicklistCompress, with its `recompress` and `dont_compress` flags, and the read commands
//! report the chunks their iterator would have walked (`walked`). A read through `&self`
//! decodes a compressed chunk into a cache beside it (`Lzf::entries`), which the next write,
//! `walked` or `release_caches` drops; the compressed bytes stay, so the RDB writer copies
//! them.

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
    /// quicklist's `recompress`: the chunk was compressed and has been decompressed for use
    /// (`make_raw`); `ql_compress` of it compresses it again, and nothing else.
    recompress: bool,
    /// quicklist's `dont_compress` (LSET of a large value, while the node is being split).
    dont_compress: bool,
}

impl Chunk {
    fn with_element(elem: &[u8]) -> Chunk {
        let mut buf = vec![0u8; entry_size(elem.len())];
        write_entry(&mut buf, elem);
        Chunk { buf: Store::Raw(buf), head: 0, count: 1, lp: LISTPACK_EMPTY_BYTES + listpack_entry_bytes(elem), plain: false, recompress: false, dont_compress: false }
    }

    fn plain(elem: &[u8]) -> Chunk {
        Chunk { plain: true, lp: elem.len(), ..Chunk::with_element(elem) }
    }

    /// A packed chunk holding `entries` (encoded, `count` of them).
    pub(super) fn packed(entries: Vec<u8>, count: u32) -> Chunk {
        let lp = LISTPACK_EMPTY_BYTES + entries_lp(&entries);
        Chunk { buf: Store::Raw(entries), head: 0, count, lp, plain: false, recompress: false, dont_compress: false }
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

    /// Decompresses the chunk for use (quicklistDecompressNodeForUse): a compressed chunk is
    /// marked for recompression. Gives back the compressed form, for a caller that wrote
    /// nothing.
    fn make_raw(&mut self) -> Option<Box<Lzf>> {
        let z = self.decompress()?;
        self.recompress = true;
        Some(z)
    }

    /// quicklistDecompressNode: a compressed chunk becomes raw, not marked for recompression.
    fn decompress(&mut self) -> Option<Box<Lzf>> {
        if !self.is_compressed() { return None; }
        let Store::Lzf(mut z) = std::mem::replace(&mut self.buf, Store::Raw(Vec::new())) else { unreachable!("checked above") };
        let entries = match z.entries.take() {
            Some(e) => e.into_vec(),
            None => decode_node(&z.bytes, self.lp, self.plain),
        };
        self.buf = Store::Raw(entries);
        self.head = 0;
        self.recompress = false;
        Some(z)
    }

    /// quicklistRecompressOnly: compresses the chunk again if it was decompressed for use.
    #[inline]
    fn recompress_only(&mut self) {
        if self.recompress { self.compress(); }
    }

    /// __quicklistCompressNode: keeps the chunk as the LZF form of its node when the node is at
    /// least MIN_COMPRESS_BYTES and LZF (bounded by the node's size) saves more than
    /// MIN_COMPRESS_IMPROVE bytes. Clears `recompress` either way.
    fn compress(&mut self) {
        if self.dont_compress { return; }
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
            c.chunks.push_back(Chunk { buf: Store::Raw(entries), head: 0, count: count as u32, lp, plain: false, recompress: false, dont_compress: false });
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

    /// quicklist.c's quicklistCompress(node), or __quicklistCompress(NULL) for `None`, called
    /// where Redis calls it, so that the same nodes end up compressed: a node decompressed for
    /// use is compressed again and nothing else happens; otherwise the `depth` chunks at each
    /// end are decompressed, the node is compressed unless it is one of them, and so are the
    /// two chunks just past them. A list of fewer than twice `depth` chunks is left as it is
    /// (its ends are decompressed all the same: pushes write them). Nothing at all when the
    /// list does not compress.
    fn ql_compress(&mut self, node: Option<usize>) {
        let depth = self.depth();
        if depth == 0 { return; }
        self.release_caches();
        if let Some(i) = node {
            if self.chunks[i].recompress {
                self.chunks[i].compress();
                return;
            }
        }
        let n = self.chunks.len();
        if n == 0 { return; }
        if n < 2 * depth {
            self.chunks[0].decompress();
            self.chunks[n - 1].decompress();
            return;
        }
        let mut in_depth = false;
        for d in 0..depth {
            let (f, r) = (d, n - 1 - d);
            self.chunks[f].decompress();
            self.chunks[r].decompress();
            if node == Some(f) || node == Some(r) { in_depth = true; }
            if f >= r || f + 1 == r { return; }
        }
        if let (Some(i), false) = (node, in_depth) { self.chunks[i].compress(); }
        self.chunks[depth].compress();
        self.chunks[n - 1 - depth].compress();
    }

    /// __quicklistInsertNode's compression after chunk `new` was inserted next to `old`.
    fn inserted(&mut self, old: Option<usize>, new: usize) {
        if let Some(o) = old { self.ql_compress(Some(o)); }
        self.ql_compress(Some(new));
    }

    /// A read walked chunks `range` with a quicklist iterator: each was decompressed for use
    /// and compressed again when the iterator left it (quicklistNext / quicklistReleaseIterator
    /// call quicklistCompress), so a raw interior chunk it passes is compressed (a compressed
    /// one is compressed again to the same bytes: left as it is). The decoded caches go.
    pub(super) fn walked(&mut self, range: Range<usize>) {
        if self.depth() == 0 { return; }
        self.release_caches();
        for i in range {
            if i < self.chunks.len() && !self.chunks[i].is_compressed() { self.ql_compress(Some(i)); }
        }
    }

    /// The chunk holding element `index`.
    pub(super) fn chunk_index(&self, index: usize) -> Option<usize> { self.chunk_of(index).map(|(ci, _)| ci) }

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
                last.decompress();
                last.push_back(elem);
                return;
            }
            last.compact();
        }
        self.push_back_chunk(Chunk::with_element(elem));
    }

    /// A new tail node (_quicklistInsertNodeAfter the tail).
    fn push_back_chunk(&mut self, c: Chunk) {
        let old = self.chunks.len().checked_sub(1);
        self.chunks.push_back(c);
        self.inserted(old, self.chunks.len() - 1);
    }

    /// Appends `elem` in a PLAIN node of its own (an RDB node stored PLAIN).
    pub(super) fn push_back_plain(&mut self, elem: &[u8]) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() { last.compact(); }
        self.push_back_chunk(Chunk::plain(elem));
    }

    /// A new head node (_quicklistInsertNodeBefore the head).
    fn push_front_chunk(&mut self, c: Chunk) {
        let old = (!self.chunks.is_empty()).then_some(1);
        self.chunks.push_front(c);
        self.inserted(old, 0);
    }

    /// Appends `elem` to a packed node whatever its size (an RDB node stored PACKED): to the
    /// tail node, or to a new one when `new_node` (or when the tail node is PLAIN).
    pub(super) fn push_back_packed(&mut self, elem: &[u8], new_node: bool) {
        self.len += 1;
        if let Some(last) = self.chunks.back_mut() {
            if !new_node && !last.plain {
                last.decompress();
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
            self.push_front_chunk(Chunk::plain(elem));
            return;
        }
        let fill = self.fill();
        if let Some(first) = self.chunks.front_mut() {
            if first.allows(elem, fill) {
                first.decompress();
                first.push_front(elem);
                return;
            }
            first.compact();
        }
        self.push_front_chunk(Chunk::with_element(elem));
    }

    /// Removes the head element; false when the list was empty.
    pub(super) fn drop_front(&mut self) -> bool {
        let Some(c) = self.chunks.front_mut() else { return false };
        c.decompress();
        c.drop_front();
        self.len -= 1;
        if c.count == 0 {
            self.chunks.pop_front();
            self.ql_compress(None);
        }
        true
    }

    /// Removes the tail element; false when the list was empty.
    pub(super) fn drop_back(&mut self) -> bool {
        let Some(c) = self.chunks.back_mut() else { return false };
        c.decompress();
        c.drop_back();
        self.len -= 1;
        if c.count == 0 {
            self.chunks.pop_back();
            self.ql_compress(None);
        }
        true
    }

    /// Removes the first `n` elements (fewer if the list is shorter), dropping whole chunks
    /// (quicklistDelRange from the head: whole nodes go one by one, then the node holding the
    /// last of them loses its first elements; nodes are never merged after it).
    pub(super) fn drop_front_n(&mut self, mut n: usize) {
        while n > 0 {
            let Some(c) = self.chunks.front_mut() else { return };
            if c.count as usize <= n {
                n -= c.count as usize;
                self.len -= c.count as usize;
                self.chunks.pop_front();
                self.ql_compress(None);
            } else {
                c.make_raw();
                let (_, _, _, next) = c.locate(n - 1);
                c.lp -= entries_lp(&c.data()[..next]);
                c.head += next as u32;
                c.count -= n as u32;
                c.recompress_only();
                self.len -= n;
                n = 0;
            }
        }
    }

    /// Removes the last `n` elements (fewer if the list is shorter): quicklistDelRange from
    /// the node holding the first of them, which loses its last elements, then the whole
    /// nodes after it, one by one.
    pub(super) fn drop_back_n(&mut self, mut n: usize) {
        let mut whole = 0;
        for c in self.chunks.iter().rev() {
            if c.count as usize > n { break; }
            n -= c.count as usize;
            whole += 1;
        }
        let partial = self.chunks.len() - whole;
        if n > 0 && partial > 0 {
            let c = &mut self.chunks[partial - 1];
            c.make_raw();
            let keep = c.count as usize - n;
            let (entry, _, _, _) = c.locate(keep);
            c.lp -= entries_lp(&c.data()[entry..]);
            let h = c.head as usize;
            c.raw().truncate(h + entry);
            c.count = keep as u32;
            c.recompress_only();
            self.len -= n;
        }
        for _ in 0..whole {
            let c = self.chunks.remove(partial).expect("counted above");
            self.len -= c.count as usize;
            self.ql_compress(None);
        }
    }

    fn chunk_of(&self, index: usize) -> Option<(usize, usize)> { self.view().chunk_of(index, self.len.get()) }

    /// Replaces element `index`; false when out of range (Redis's quicklistReplaceEntry): a
    /// small value replaces the entry in place, however large the node grows; a PLAIN node
    /// given a large value stays PLAIN; a PLAIN node given a small value is replaced by an
    /// insert after it; a large value takes a PLAIN node of its own, after the element, which
    /// then goes.
    pub(super) fn set(&mut self, index: usize, value: &[u8]) -> bool {
        let Some((ci, i)) = self.chunk_of(index) else { return false };
        // The iterator that found the element decompressed its node for use.
        self.chunks[ci].make_raw();
        if self.chunks[ci].plain {
            if is_large(value) {
                let recompress = self.chunks[ci].recompress;
                self.chunks[ci] = Chunk { recompress, ..Chunk::plain(value) };
                self.ql_compress(Some(ci));
            } else {
                self.len -= 1;
                self.insert_beside(ci, 0, true, value);
                self.chunks.remove(ci);
                self.ql_compress(None);
            }
            return true;
        }
        if is_large(value) {
            // The new PLAIN node goes in after the element (splitting the node unless it ends
            // it), the node not compressed meanwhile; then the element leaves the node.
            self.chunks[ci].dont_compress = true;
            self.len -= 1;
            self.insert_beside(ci, i, true, value);
            let c = &mut self.chunks[ci];
            c.dont_compress = false;
            if c.count == 1 {
                self.chunks.remove(ci);
                self.ql_compress(None);
            } else {
                c.drop_back();
                self.ql_compress(Some(ci));
                self.ql_compress(Some(ci + 1));
            }
            return true;
        }
        let c = &mut self.chunks[ci];
        let (entry, s, e, next) = c.locate(i);
        let old_lp = listpack_entry_bytes(&c.data()[s..e]);
        c.splice(entry, next, &encode_entry(value));
        c.lp = c.lp - old_lp + listpack_entry_bytes(value);
        self.ql_compress(Some(ci));
        true
    }

    /// Inserts `value` after (or before) element `index` (LINSERT: the iterator that found
    /// the pivot passed the chunks before it, and decompressed the pivot's for use).
    pub(super) fn insert_next_to(&mut self, index: usize, after: bool, value: &[u8]) {
        if let Some((ci, i)) = self.chunk_of(index) {
            self.walked(0..ci);
            self.chunks[ci].make_raw();
            self.insert_beside(ci, i, after, value);
        }
    }

    /// Redis's `_quicklistInsert` on chunk `ci` (decompressed for use by the caller): inserts
    /// `value` after (or before) its element `i`. Into that node when it allows it; else at
    /// the head of the next node (or the tail of the previous one) when the pivot ends its
    /// node and that neighbour allows it; else into a new node there; else the node is split
    /// at the pivot, the value joins the split off part, and neighbouring nodes that fit
    /// together are merged. Compression follows the same steps as Redis's.
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
        if is_large(value) {
            if node.plain || at_tail || at_head {
                self.chunks.insert(beside, Chunk::plain(value));
                let old = if after { ci } else { ci + 1 };
                self.inserted(Some(old), beside);
            } else {
                // Split: the part beyond the pivot leaves the node; the PLAIN node goes in
                // next to the node, then that part next to the PLAIN node.
                let (plain_at, part_at, node_at) = if after { (ci + 1, ci + 2, ci) } else { (ci, ci, ci + 1) };
                let part = if after { self.chunks[ci].split_off(i + 1) } else { self.split_before(ci, i) };
                self.chunks.insert(plain_at, Chunk::plain(value));
                self.inserted(Some(node_at), plain_at);
                self.chunks.insert(part_at, part);
                // The PLAIN node is at ci + 1 either way now.
                self.inserted(Some(ci + 1), part_at);
            }
            return;
        }
        if !full {
            let c = &mut self.chunks[ci];
            let (entry, _, _, next) = c.locate(i);
            c.insert_entry(if after { next } else { entry }, value);
            c.recompress_only();
        } else if avail_next {
            let next = &mut self.chunks[ci + 1];
            next.make_raw();
            next.push_front(value);
            next.recompress_only();
            self.chunks[ci].recompress_only();
        } else if avail_prev {
            let prev = &mut self.chunks[ci - 1];
            prev.make_raw();
            prev.push_back(value);
            prev.recompress_only();
            self.chunks[ci].recompress_only();
        } else if at_tail || at_head {
            self.chunks.insert(beside, Chunk::with_element(value));
            let old = if after { ci } else { ci + 1 };
            self.inserted(Some(old), beside);
        } else if after {
            // The node keeps elements ..=i; the rest, the value at its front, follows it.
            let mut right = self.chunks[ci].split_off(i + 1);
            right.insert_entry(0, value);
            self.chunks.insert(ci + 1, right);
            self.inserted(Some(ci), ci + 1);
            self.merge_around(ci);
        } else {
            // The node keeps elements i..; the ones before it, the value at their end, go in
            // a new node before it.
            let mut left = self.split_before(ci, i);
            let end = left.bytes();
            left.insert_entry(end, value);
            left.compact();
            self.chunks.insert(ci, left);
            self.inserted(Some(ci + 1), ci);
            self.merge_around(ci + 1);
        }
    }

    /// _quicklistSplitNode with `after` 0: chunk `ci` keeps its elements from `i` on (and its
    /// flags: it is the node); the elements before go into the returned new chunk.
    fn split_before(&mut self, ci: usize, i: usize) -> Chunk {
        let right = self.chunks[ci].split_off(i);
        let mut left = std::mem::replace(&mut self.chunks[ci], right);
        let node = &mut self.chunks[ci];
        (node.recompress, node.dont_compress) = (left.recompress, left.dont_compress);
        (left.recompress, left.dont_compress) = (false, false);
        left
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

    /// _quicklistListpackMerge: both nodes decompressed, merged into one; the other node's
    /// removal compresses as a node deletion does, then the merged node is compressed.
    fn merge_with_next(&mut self, a: usize) {
        let mut next = self.chunks.remove(a + 1).expect("allow_merge saw it");
        next.decompress();
        let c = &mut self.chunks[a];
        c.decompress();
        // lpMerge keeps the larger listpack's node (the first on a tie), with its flags.
        if next.lp > c.lp { (c.recompress, c.dont_compress) = (next.recompress, next.dont_compress); }
        c.compact();
        c.raw().extend_from_slice(next.data());
        c.count += next.count;
        c.lp += next.lp - LISTPACK_EMPTY_BYTES;
        self.ql_compress(None);
        self.ql_compress(Some(a));
    }

    /// LREM's removal pass (see `List::remove_matching`): removes the elements equal to `value`
    /// from element `first_index` on, at most `limit` of them; returns how many it removed.
    /// Emptied nodes go; the others stay as they are (quicklistDelEntry merges nothing).
    pub(super) fn remove_matching_from(&mut self, value: &[u8], limit: usize, first_index: usize, from_tail: bool) -> usize {
        if self.depth() > 0 { return self.remove_matching_walk(value, limit, first_index, from_tail); }
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
            let head = c.head as usize;
            c.count = pass.run(c.raw(), head) as u32;
            c.lp -= (pass.removed - before) * removed_lp;
        }
        if pass.removed > 0 {
            self.len -= pass.removed;
            self.chunks.retain(|c| c.count > 0);
        }
        pass.removed
    }

    /// The removal pass of a compressing list, node by node as lremCommand's iterator walks
    /// (from the tail when `from_tail`, else from the head), for Redis's compression: each
    /// node is decompressed for use on entry and compressed again when the walk leaves it or
    /// stops in it (quicklistCompress); an emptied node is deleted (a node deletion's
    /// compression), and a walk that stops there compresses the node it moved on to.
    fn remove_matching_walk(&mut self, value: &[u8], limit: usize, first_index: usize, from_tail: bool) -> usize {
        let removed_lp = listpack_entry_bytes(value);
        let mut pass = super::RemovalPass { value, limit, first_index, removed: 0, index: 0 };
        let mut start = if from_tail { self.len.get() } else { 0 };
        let mut pos = if from_tail { self.chunks.len() } else { 0 };
        loop {
            if from_tail {
                if pos == 0 { break; }
                pos -= 1;
                start -= self.chunks[pos].count as usize;
            }
            if pos >= self.chunks.len() { break; }
            let c = &mut self.chunks[pos];
            let count = c.count as usize;
            let before = pass.removed;
            let compressed = c.make_raw();
            pass.index = start;
            let head = c.head as usize;
            c.count = pass.run(c.raw(), head) as u32;
            c.lp -= (pass.removed - before) * removed_lp;
            let done = pass.removed == limit;
            if c.count == 0 {
                self.chunks.remove(pos);
                self.ql_compress(None);
                if done {
                    // The iterator moved on to the next node in its direction.
                    let next = if from_tail { pos.checked_sub(1) } else { Some(pos) };
                    if let Some(n) = next.filter(|&n| n < self.chunks.len()) { self.ql_compress(Some(n)); }
                    break;
                }
                if !from_tail { start += count; }
                continue;
            }
            match compressed {
                // Decompressed and compressed again unchanged: the same bytes.
                Some(z) if pass.removed == before => {
                    c.buf = Store::Lzf(z);
                    c.recompress = false;
                }
                _ => self.ql_compress(Some(pos)),
            }
            // Fewer matches than the limit: the walk goes on to the end.
            if done { break; }
            if !from_tail {
                start += count;
                pos += 1;
            }
        }
        self.len -= pass.removed;
        pass.removed
    }
}
