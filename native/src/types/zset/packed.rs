//! A run of (score, member) entries sorted by score then member bytes, packed into one buffer:
//! the listpack stand-in for small sorted sets, and the leaf of the large encoding's tree.
//!
//! Entry layout: `[len: LEB128][member][tag][score payload][back: reversed LEB128]`. Scores
//! that are small integers (the common case) take 1, 2 or 4 bytes after the tag, those a float
//! holds exactly (1.5) 4 bytes, others the 8 bytes of the double, as a listpack stores integers
//! and short decimal texts compactly. `back` is the entry's size
//! without itself, its bytes in reverse order (the high bit meaning "more bytes to the left"),
//! so the run can be walked backwards from any entry end, as Redis walks a listpack with its
//! back-lengths for ZREVRANGE. One allocation per run instead of one per member.

use crate::types::varint;
use std::cmp::Ordering;

/// The run: the entry count (4 bytes, little-endian) then the entries, in one boxed buffer kept
/// at its exact size (a listpack is resized on every write too); an empty run has no buffer.
/// A 16-byte handle, so a small sorted set lives inside its keyspace entry with no boxed header.
#[derive(Default, Clone)]
pub struct Packed {
    buf: Box<[u8]>,
}

/// The count's bytes at the front of a non-empty buffer.
const COUNT_BYTES: usize = 4;

/// Total order of entries: score, then member bytes (memcmp, shorter first on a common prefix),
/// as Redis orders its skiplist. -0.0 and 0.0 compare equal, as C's `<` and `==` do.
#[inline]
pub fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    if a_score < b_score {
        Ordering::Less
    } else if a_score > b_score {
        Ordering::Greater
    } else {
        a_member.cmp(b_member)
    }
}

const TAG_F64: u8 = 0;
const TAG_I8: u8 = 1;
const TAG_I16: u8 = 2;
const TAG_I32: u8 = 3;
const TAG_F32: u8 = 4;

/// How a score is packed: the narrowest integer that holds it exactly (never for -0.0, whose
/// sign only the floats keep), else a 4-byte float when it holds the score exactly (1.5, 0.25,
/// -0.0, inf: as short as Redis's listpack text "1.5"), else the double. (tag, payload bytes).
#[inline]
fn score_form(score: f64) -> (u8, usize) {
    let as_int = score as i32;
    if as_int as f64 == score && !(score == 0.0 && score.is_sign_negative()) {
        if i8::try_from(as_int).is_ok() { (TAG_I8, 1) } else if i16::try_from(as_int).is_ok() { (TAG_I16, 2) } else { (TAG_I32, 4) }
    } else if (score as f32) as f64 == score {
        (TAG_F32, 4)
    } else {
        (TAG_F64, 8)
    }
}

/// Appends the tag and payload of a score, in the form `score_form` picks.
fn push_score(out: &mut Vec<u8>, score: f64) {
    let (tag, _) = score_form(score);
    out.push(tag);
    match tag {
        // score_form chose these only for integers within the type's range: the casts are exact.
        TAG_I8 => out.push(score as i8 as u8),
        TAG_I16 => out.extend_from_slice(&(score as i16).to_le_bytes()),
        TAG_I32 => out.extend_from_slice(&(score as i32).to_le_bytes()),
        TAG_F32 => out.extend_from_slice(&(score as f32).to_le_bytes()),
        _ => out.extend_from_slice(&score.to_le_bytes()),
    }
}

/// Reads a score whose tag is at `at`: (score, first byte after the payload).
#[inline]
fn read_score(buf: &[u8], at: usize) -> (f64, usize) {
    let p = at + 1;
    match buf[at] {
        TAG_I8 => (buf[p] as i8 as f64, p + 1),
        TAG_I16 => (i16::from_le_bytes([buf[p], buf[p + 1]]) as f64, p + 2),
        TAG_I32 => (i32::from_le_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]) as f64, p + 4),
        TAG_F32 => (f32::from_le_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]) as f64, p + 4),
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[p..p + 8]);
            (f64::from_le_bytes(b), p + 8)
        }
    }
}

/// Bytes `push_score` writes for `score`.
fn score_size(score: f64) -> usize {
    1 + score_form(score).1
}

/// Bytes one whole entry takes (what `push_entry` appends).
pub fn entry_size(score: f64, member: &[u8]) -> usize {
    let body = varint::size(member.len()) + member.len() + score_size(score);
    body + varint::size(body)
}

/// Appends one whole entry.
fn push_entry(out: &mut Vec<u8>, score: f64, member: &[u8]) {
    let start = out.len();
    varint::push(out, member.len());
    out.extend_from_slice(member);
    push_score(out, score);
    let size = out.len() - start;
    push_rev_varint(out, size);
}



/// The LEB128 bytes in reverse order: read from the right, each byte's high bit says a more
/// significant byte follows to its left.
fn push_rev_varint(out: &mut Vec<u8>, n: usize) {
    let start = out.len();
    varint::push(out, n);
    out[start..].reverse();
}


/// Reads a reversed varint that ends at `end` (exclusive); returns (value, its first byte).
#[inline]
fn read_rev_varint(buf: &[u8], end: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut at = end;
    loop {
        at -= 1;
        let b = buf[at];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 { return (n, at); }
        shift += 7;
    }
}


/// One decoded entry and where it sits.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub score: f64,
    pub member: &'a [u8],
    pub start: usize,
    pub end: usize,
}

impl Packed {
    pub fn new() -> Self { Packed::default() }

    /// A run of entries that already sort in order, `bytes` of them in all (the sum of their
    /// [`entry_size`]s): built in one allocation of the exact size.
    pub fn from_sorted<'a>(bytes: usize, entries: impl IntoIterator<Item = (f64, &'a [u8])>) -> Self {
        let mut buf = Vec::with_capacity(COUNT_BYTES + bytes);
        buf.extend_from_slice(&[0; COUNT_BYTES]);
        let mut count = 0u32;
        for (score, member) in entries {
            push_entry(&mut buf, score, member);
            count += 1;
        }
        buf[..COUNT_BYTES].copy_from_slice(&count.to_le_bytes());
        Packed { buf: buf.into_boxed_slice() }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self.buf.get(..COUNT_BYTES) {
            Some(c) => u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize,
            None => 0,
        }
    }

    fn set_len(&mut self, n: usize) {
        // A run is a small sorted set or a tree leaf: far below 4G entries.
        self.buf[..COUNT_BYTES].copy_from_slice(&(n as u32).to_le_bytes());
    }

    #[inline] pub fn is_empty(&self) -> bool { self.len() == 0 }

    /// The entries' bytes (offsets below are into these).
    #[inline]
    fn data(&self) -> &[u8] { self.buf.get(COUNT_BYTES..).unwrap_or(&[]) }

    #[inline] pub fn bytes(&self) -> usize { self.data().len() }

    /// The bytes held (MEMORY USAGE): the boxed buffer is exactly its length.
    pub fn capacity(&self) -> usize { self.buf.len() }

    /// Replaces the entries' bytes `range` with `with`, `delta` entries more (or fewer).
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8], delta: isize) {
        let n = (self.len() as isize + delta) as usize;
        if n == 0 {
            self.buf = Box::default();
            return;
        }
        if self.buf.is_empty() { self.buf = Box::new([0; COUNT_BYTES]); }
        crate::types::splice_exact(&mut self.buf, COUNT_BYTES + range.start..COUNT_BYTES + range.end, with);
        self.set_len(n);
    }

    /// The entry starting at byte `at` (which must be an entry boundary below `bytes()`).
    #[inline]
    pub fn entry_at(&self, at: usize) -> Entry<'_> {
        let buf = self.data();
        let (mlen, mstart) = varint::read(buf, at);
        let (score, payload_end) = read_score(buf, mstart + mlen);
        let end = payload_end + varint::size(payload_end - at);
        Entry { score, member: &buf[mstart..mstart + mlen], start: at, end }
    }

    /// The entry ending at byte `end` (an entry boundary above 0).
    #[inline]
    pub fn entry_before(&self, end: usize) -> Entry<'_> {
        let (size, back_start) = read_rev_varint(self.data(), end);
        self.entry_at(back_start - size)
    }

    pub fn iter(&self) -> PackedIter<'_> { PackedIter { run: self, front: 0, back: self.bytes() } }

    /// Byte offset of the entry with index `rank` (or `bytes()` for `rank == len`), walking from
    /// whichever end is nearer.
    pub fn offset_of(&self, rank: usize) -> usize {
        let n = self.len();
        if rank >= n { return self.bytes(); }
        if rank <= n / 2 {
            let mut at = 0;
            for _ in 0..rank { at = self.entry_at(at).end; }
            at
        } else {
            let mut end = self.bytes();
            for _ in 0..(n - rank) { end = self.entry_before(end).start; }
            end
        }
    }

    pub fn get(&self, rank: usize) -> Option<(f64, &[u8])> {
        if rank >= self.len() { return None; }
        let e = self.entry_at(self.offset_of(rank));
        Some((e.score, e.member))
    }

    /// Where a member is: (rank, entry). Linear, like a listpack lookup.
    pub fn find(&self, member: &[u8]) -> Option<(usize, Entry<'_>)> {
        let mut at = 0;
        let mut rank = 0;
        while at < self.bytes() {
            let e = self.entry_at(at);
            if e.member == member { return Some((rank, e)); }
            at = e.end;
            rank += 1;
        }
        None
    }

    /// Inserts in order (the member must not be present) and returns its rank.
    pub fn insert(&mut self, score: f64, member: &[u8]) -> usize {
        let mut at = 0;
        let mut rank = 0;
        while at < self.bytes() {
            let e = self.entry_at(at);
            if cmp_entry(e.score, e.member, score, member) == Ordering::Greater { break; }
            at = e.end;
            rank += 1;
        }
        self.insert_at(at, score, member);
        rank
    }

    /// Inserts an entry at byte offset `at` (the caller keeps the order).
    pub fn insert_at(&mut self, at: usize, score: f64, member: &[u8]) {
        let mut entry = Vec::with_capacity(entry_size(score, member));
        push_entry(&mut entry, score, member);
        self.splice(at..at, &entry, 1);
    }

    /// Appends an entry that sorts after every present one.
    pub fn push(&mut self, score: f64, member: &[u8]) {
        let end = self.bytes();
        self.insert_at(end, score, member);
    }

    /// Removes the entries in byte range `start..end` holding `count` entries.
    pub fn remove_bytes(&mut self, start: usize, end: usize, count: usize) {
        self.splice(start..end, &[], -(count as isize));
    }

    /// Removes entries with ranks `from..to`.
    pub fn remove_ranks(&mut self, from: usize, to: usize) {
        if from >= to { return; }
        let start = self.offset_of(from);
        let mut end = start;
        for _ in from..to { end = self.entry_at(end).end; }
        self.remove_bytes(start, end, to - from);
    }

    /// Splits off the entries from rank `at` on into a new run.
    pub fn split_off(&mut self, at: usize) -> Packed {
        let off = self.offset_of(at);
        let moved = self.len() - at;
        let mut tail = Packed::default();
        tail.splice(0..0, &self.data()[off..], moved as isize);
        let end = self.bytes();
        self.splice(off..end, &[], -(moved as isize));
        tail
    }

    /// Appends every entry of `other` (which must all sort after ours).
    pub fn append(&mut self, other: Packed) {
        let end = self.bytes();
        self.splice(end..end, other.data(), other.len() as isize);
    }
}

/// Walks a run from both ends (a DoubleEndedIterator over (score, member)).
pub struct PackedIter<'a> {
    run: &'a Packed,
    front: usize,
    back: usize,
}

impl<'a> PackedIter<'a> {
    /// Starts the walk at the given byte bounds (entry boundaries).
    pub fn between(run: &'a Packed, front: usize, back: usize) -> Self { PackedIter { run, front, back } }
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (f64, &'a [u8]);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.front >= self.back { return None; }
        let e = self.run.entry_at(self.front);
        self.front = e.end;
        Some((e.score, e.member))
    }
}

impl<'a> DoubleEndedIterator for PackedIter<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back { return None; }
        let e = self.run.entry_before(self.back);
        self.back = e.start;
        Some((e.score, e.member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_both_ways_with_long_members() {
        let mut p = Packed::new();
        let long = vec![b'x'; 300];
        assert_eq!(p.insert(2.0, b"b"), 0);
        assert_eq!(p.insert(1.0, &long), 0);
        assert_eq!(p.insert(2.0, b"a"), 1);
        assert_eq!(p.insert(-0.0, b"z"), 0);
        let fwd: Vec<(f64, Vec<u8>)> = p.iter().map(|(s, m)| (s, m.to_vec())).collect();
        let mut back: Vec<(f64, Vec<u8>)> = p.iter().rev().map(|(s, m)| (s, m.to_vec())).collect();
        back.reverse();
        assert_eq!(fwd, back);
        assert_eq!(fwd.iter().map(|e| e.1.len()).collect::<Vec<_>>(), vec![1, 300, 1, 1]);
        assert_eq!(p.get(2).unwrap().1, b"a");
        assert_eq!(p.find(b"b").unwrap().0, 3);
        p.remove_ranks(1, 3);
        assert_eq!(p.iter().map(|(_, m)| m.to_vec()).collect::<Vec<_>>(), vec![b"z".to_vec(), b"b".to_vec()]);
        let tail = p.split_off(1);
        assert_eq!((p.len(), tail.len()), (1, 1));
        p.append(tail);
        assert_eq!(p.get(1).unwrap(), (2.0, &b"b"[..]));
    }

    #[test]
    fn entry_size_is_what_push_appends() {
        let mut p = Packed::new();
        for len in [0usize, 1, 100, 127, 128, 300, 20_000] {
            for score in [-0.0, 0.0, 1.0, -129.0, 40_000.0, 3e9, 0.25, 1.5, 0.1] {
                let before = p.bytes();
                p.push(score, &vec![b'm'; len]);
                assert_eq!(p.bytes() - before, entry_size(score, &vec![b'm'; len]), "len {len} score {score}");
            }
        }
    }

    #[test]
    fn scores_round_trip_in_every_width() {
        let mut p = Packed::new();
        let scores = [-0.0, 0.0, 1.0, -128.0, 127.0, 300.0, -40000.0, 2147483647.0, -2147483648.0, 2147483648.0, 0.5, 1.5, -2.25, 0.1, 3e38, 1e300, f64::INFINITY, f64::NEG_INFINITY, 5e-324];
        for (i, &s) in scores.iter().enumerate() { p.push(s, format!("m{i:02}").as_bytes()); }
        let back: Vec<f64> = p.iter().map(|(s, _)| s).collect();
        for (a, b) in back.iter().zip(scores.iter()) { assert_eq!(a.to_bits(), b.to_bits()); }
        let rev: Vec<f64> = p.iter().rev().map(|(s, _)| s).collect();
        assert_eq!(rev.len(), scores.len());
        assert_eq!(rev[0].to_bits(), 5e-324f64.to_bits());
        assert!(p.bytes() < scores.len() * 12 + 60, "small integers take a few bytes");
    }

    #[test]
    fn floats_that_fit_four_bytes_take_four() {
        let size = |score: f64| { let mut p = Packed::new(); p.push(score, b"m"); p.bytes() };
        // len, member, tag, payload, back-length.
        assert_eq!(size(1.5), 1 + 1 + 1 + 4 + 1);
        assert_eq!(size(-0.0), 1 + 1 + 1 + 4 + 1);
        assert_eq!(size(0.1), 1 + 1 + 1 + 8 + 1);
        assert_eq!(size(7.0), 1 + 1 + 1 + 1 + 1);
    }
}
