//! Listpacks exactly as Redis 7.0's listpack.c lays them out:
//!
//! `<total bytes u32 LE> <count u16 LE> <entry>* <0xFF>`, where each entry is
//! `<encoding+data> <backlen>` and backlen (1-5 bytes, read right to left,
//! 7 bits per byte, high bit = "more bytes to the left") is the size of
//! encoding+data. The count saturates at 65535, meaning "unknown".
//!
//! Encodings (first byte):
//! - `0xxxxxxx` 7-bit unsigned int; `110xxxxx yyyyyyyy` 13-bit signed int;
//! - `0xF1`/`0xF2`/`0xF3`/`0xF4` + 2/3/4/8 bytes LE: 16/24/32/64-bit signed int;
//! - `10xxxxxx` + data: string up to 63 bytes; `1110xxxx yyyyyyyy` + data: up
//!   to 4095 bytes; `0xF0` + u32 LE length + data: longer strings.

use super::entry::Entry;
use super::error::{RdbError, RdbResult};
use super::numeric::parse_canonical_i64;

const HEADER_SIZE: usize = 6;
const EOF: u8 = 0xFF;
/// The header count value meaning "count them".
pub const COUNT_UNKNOWN: u16 = u16::MAX;

const ENC_13BIT_INT: u8 = 0xC0;
const ENC_16BIT_INT: u8 = 0xF1;
const ENC_24BIT_INT: u8 = 0xF2;
const ENC_32BIT_INT: u8 = 0xF3;
const ENC_64BIT_INT: u8 = 0xF4;
const ENC_6BIT_STR: u8 = 0x80;
const ENC_12BIT_STR: u8 = 0xE0;
const ENC_32BIT_STR: u8 = 0xF0;

fn corrupt(what: &str) -> RdbError {
    RdbError::msg(format!("Corrupt listpack: {what}"))
}

/// Appends a backlen for an entry of `len` bytes (lpEncodeBacklen, including
/// its slightly uneven size thresholds).
fn push_backlen(out: &mut Vec<u8>, len: u64) {
    if len <= 127 {
        out.push(len as u8);
    } else if len < 16383 {
        out.extend_from_slice(&[(len >> 7) as u8, (len & 127) as u8 | 128]);
    } else if len < 2097151 {
        out.extend_from_slice(&[(len >> 14) as u8, ((len >> 7) & 127) as u8 | 128, (len & 127) as u8 | 128]);
    } else if len < 268435455 {
        out.extend_from_slice(&[
            (len >> 21) as u8,
            ((len >> 14) & 127) as u8 | 128,
            ((len >> 7) & 127) as u8 | 128,
            (len & 127) as u8 | 128,
        ]);
    } else {
        out.extend_from_slice(&[
            (len >> 28) as u8,
            ((len >> 21) & 127) as u8 | 128,
            ((len >> 14) & 127) as u8 | 128,
            ((len >> 7) & 127) as u8 | 128,
            (len & 127) as u8 | 128,
        ]);
    }
}

fn backlen_size(len: u64) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Builds a listpack, reusing its buffer across `reset`s. Strings that are
/// canonical decimal integers are stored as integers, as `lpAppend` does.
#[derive(Debug, Clone)]
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
    finished: bool,
}

impl Default for ListpackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackBuilder {
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.max(HEADER_SIZE + 1));
        buf.extend_from_slice(&[0; HEADER_SIZE]);
        ListpackBuilder { buf, count: 0, finished: false }
    }

    /// Empties the builder, keeping its allocation.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0; HEADER_SIZE]);
        self.count = 0;
        self.finished = false;
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Size the listpack will have once finished.
    pub fn encoded_len(&self) -> usize {
        self.buf.len() + usize::from(!self.finished)
    }

    fn reopen(&mut self) {
        if self.finished {
            self.buf.pop();
            self.finished = false;
        }
    }

    pub fn push_bytes(&mut self, s: &[u8]) {
        self.reopen();
        append_bytes(&mut self.buf, s);
        self.count += 1;
    }

    pub fn push_int(&mut self, v: i64) {
        self.reopen();
        append_int(&mut self.buf, v);
        self.count += 1;
    }

    pub fn push_entry(&mut self, e: Entry<'_>) {
        match e {
            Entry::Int(v) => self.push_int(v),
            Entry::Bytes(b) => self.push_bytes(b),
        }
    }

    /// Writes the terminator and header and returns the listpack bytes. More
    /// elements may still be pushed afterwards.
    pub fn finish(&mut self) -> &[u8] {
        if !self.finished {
            self.buf.push(EOF);
            self.finished = true;
        }
        let total = self.buf.len() as u32;
        let count = if self.count < COUNT_UNKNOWN as usize { self.count as u16 } else { COUNT_UNKNOWN };
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        &self.buf
    }

    pub fn into_vec(mut self) -> Vec<u8> {
        self.finish();
        self.buf
    }
}

/// Appends one element for `s` (encoding, data, back-length) as lpAppend does: a canonical
/// decimal integer is stored as an integer.
pub fn append_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    if let Some(v) = parse_canonical_i64(s) {
        append_int(buf, v);
        return;
    }
    let start = buf.len();
    let len = s.len();
    if len < 64 {
        buf.push(ENC_6BIT_STR | len as u8);
    } else if len < 4096 {
        buf.extend_from_slice(&[ENC_12BIT_STR | (len >> 8) as u8, len as u8]);
    } else {
        buf.push(ENC_32BIT_STR);
        buf.extend_from_slice(&(len as u32).to_le_bytes());
    }
    buf.extend_from_slice(s);
    let entry_len = (buf.len() - start) as u64;
    push_backlen(buf, entry_len);
}

/// Appends one integer element in the smallest encoding that holds it.
pub fn append_int(buf: &mut Vec<u8>, v: i64) {
    let entry_len: u64 = if (0..=127).contains(&v) {
        buf.push(v as u8);
        1
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1fff;
        buf.extend_from_slice(&[ENC_13BIT_INT | (u >> 8) as u8, u as u8]);
        2
    } else if (-32768..=32767).contains(&v) {
        buf.push(ENC_16BIT_INT);
        buf.extend_from_slice(&(v as i16).to_le_bytes());
        3
    } else if (-8388608..=8388607).contains(&v) {
        buf.push(ENC_24BIT_INT);
        buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        4
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        buf.push(ENC_32BIT_INT);
        buf.extend_from_slice(&(v as i32).to_le_bytes());
        5
    } else {
        buf.push(ENC_64BIT_INT);
        buf.extend_from_slice(&v.to_le_bytes());
        9
    };
    push_backlen(buf, entry_len);
}

/// The element starting at `p` of a listpack whose terminator is at `lp_end`, and where the
/// next element starts (after its back-length). Bounds-checked; the back-length is not
/// verified (ListpackIter does that).
pub fn element_at(lp: &[u8], p: usize, lp_end: usize) -> RdbResult<(Entry<'_>, usize)> {
    if p >= lp_end {
        return Err(corrupt("element past the end"));
    }
    let (entry, size) = decode_entry(lp, p, lp_end)?;
    let next = p + size + backlen_size(size as u64);
    if next > lp_end {
        return Err(corrupt("entry extends past the end"));
    }
    Ok((entry, next))
}

/// Where the element that ends just before `p` starts (lpPrev), reading its back-length;
/// None at the first element (`p` at the header's end) or on a malformed back-length.
pub fn element_before(lp: &[u8], p: usize) -> Option<usize> {
    if p <= HEADER_SIZE {
        return None;
    }
    let size = decode_backlen(lp, p - 1, HEADER_SIZE)? as usize;
    p.checked_sub(size + backlen_size(size as u64)).filter(|&start| start >= HEADER_SIZE)
}

/// The offset of the first element (past the 6-byte header).
pub const FIRST_ELEMENT: usize = HEADER_SIZE;

/// Decodes the entry at `p` (which must not be the terminator), returning it
/// and the size of encoding+data. Bounds-checked against `lp_end`.
fn decode_entry(lp: &[u8], p: usize, lp_end: usize) -> RdbResult<(Entry<'_>, usize)> {
    let need = |n: usize| -> RdbResult<()> {
        if p.checked_add(n).is_some_and(|end| end <= lp_end) {
            Ok(())
        } else {
            Err(corrupt("entry extends past the end"))
        }
    };
    let b = lp[p];
    if b & 0x80 == 0 {
        return Ok((Entry::Int(b as i64), 1));
    }
    if b & 0xC0 == ENC_6BIT_STR {
        let len = (b & 0x3f) as usize;
        need(1 + len)?;
        return Ok((Entry::Bytes(&lp[p + 1..p + 1 + len]), 1 + len));
    }
    if b & 0xE0 == ENC_13BIT_INT {
        need(2)?;
        let u = (((b & 0x1f) as u16) << 8) | lp[p + 1] as u16;
        let v = ((u << 3) as i16 >> 3) as i64; // sign-extend 13 bits
        return Ok((Entry::Int(v), 2));
    }
    if b & 0xF0 == ENC_12BIT_STR {
        need(2)?;
        let len = (((b & 0x0f) as usize) << 8) | lp[p + 1] as usize;
        need(2 + len)?;
        return Ok((Entry::Bytes(&lp[p + 2..p + 2 + len]), 2 + len));
    }
    match b {
        ENC_16BIT_INT => {
            need(3)?;
            Ok((Entry::Int(i16::from_le_bytes([lp[p + 1], lp[p + 2]]) as i64), 3))
        }
        ENC_24BIT_INT => {
            need(4)?;
            let v = i32::from_le_bytes([0, lp[p + 1], lp[p + 2], lp[p + 3]]) >> 8;
            Ok((Entry::Int(v as i64), 4))
        }
        ENC_32BIT_INT => {
            need(5)?;
            Ok((Entry::Int(i32::from_le_bytes([lp[p + 1], lp[p + 2], lp[p + 3], lp[p + 4]]) as i64), 5))
        }
        ENC_64BIT_INT => {
            need(9)?;
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&lp[p + 1..p + 9]);
            Ok((Entry::Int(i64::from_le_bytes(bytes)), 9))
        }
        ENC_32BIT_STR => {
            need(5)?;
            let len = u32::from_le_bytes([lp[p + 1], lp[p + 2], lp[p + 3], lp[p + 4]]) as usize;
            need(5usize.saturating_add(len))?;
            Ok((Entry::Bytes(&lp[p + 5..p + 5 + len]), 5 + len))
        }
        _ => Err(corrupt("invalid entry encoding")),
    }
}

/// Reads the backlen whose last byte is at `last` (lpDecodeBacklen), not
/// looking before `floor`.
fn decode_backlen(lp: &[u8], last: usize, floor: usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    let mut p = last;
    loop {
        let b = lp[p];
        value |= ((b & 127) as u64) << shift;
        if b & 128 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 28 || p == floor {
            return None;
        }
        p -= 1;
    }
}

/// A validating iterator over a listpack's entries. The header (size and
/// terminator) is checked up front; each entry is checked as it is reached
/// (bounds, known encoding, matching backlen); the element count is checked
/// when the terminator is reached. Yields `Err` once and then stops.
pub struct ListpackIter<'a> {
    lp: &'a [u8],
    pos: usize,
    seen: usize,
    declared: u16,
    done: bool,
}

impl<'a> ListpackIter<'a> {
    pub fn new(lp: &'a [u8]) -> RdbResult<Self> {
        if lp.len() < HEADER_SIZE + 1 {
            return Err(corrupt("shorter than its header"));
        }
        let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
        if total != lp.len() {
            return Err(corrupt("header size does not match the blob size"));
        }
        if lp[lp.len() - 1] != EOF {
            return Err(corrupt("missing terminator"));
        }
        let declared = u16::from_le_bytes([lp[4], lp[5]]);
        Ok(ListpackIter { lp, pos: HEADER_SIZE, seen: 0, declared, done: false })
    }

    /// The element count from the header, unless it is the "unknown" value.
    pub fn declared_count(&self) -> Option<usize> {
        (self.declared != COUNT_UNKNOWN).then_some(self.declared as usize)
    }

    fn step(&mut self) -> RdbResult<Option<Entry<'a>>> {
        let lp = self.lp;
        let end = lp.len() - 1; // index of the terminator
        if self.pos == end {
            if self.declared != COUNT_UNKNOWN && self.declared as usize != self.seen {
                return Err(corrupt("element count does not match the header"));
            }
            return Ok(None);
        }
        if lp[self.pos] == EOF {
            return Err(corrupt("terminator before the end"));
        }
        let (entry, size) = decode_entry(lp, self.pos, end)?;
        let back = backlen_size(size as u64);
        let next = self.pos + size + back;
        if next > end {
            return Err(corrupt("entry extends past the end"));
        }
        if decode_backlen(lp, next - 1, self.pos + size) != Some(size as u64) {
            return Err(corrupt("back-length does not match the entry"));
        }
        self.pos = next;
        self.seen += 1;
        Ok(Some(entry))
    }
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = RdbResult<Entry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Redis's lpRepr: the text DEBUG LISTPACK prints, entry by entry (`addr` stands for where
/// the listpack lives in memory). The listpack must be valid.
pub fn listpack_repr(lp: &[u8], addr: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]);
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    let count = if declared == COUNT_UNKNOWN { validate_listpack(lp).unwrap_or(0) } else { declared as usize };
    let mut text = String::new();
    let _ = writeln!(text, "{{total bytes {total}}} {{num entries {count}}}");
    let mut out = text.into_bytes();
    let (mut p, mut index) = (HEADER_SIZE, 0);
    while p < lp.len() && lp[p] != EOF {
        let Ok((entry, encoded)) = decode_entry(lp, p, lp.len()) else { break };
        let b = lp[p];
        let header = if b & 0xF0 == ENC_12BIT_STR { 2 } else if b == ENC_32BIT_STR { 5 } else { 1 };
        let backlen = backlen_size(encoded as u64);
        let mut t = String::new();
        let _ = write!(
            t,
            "{{\n\taddr: 0x{:08x},\n\tindex: {index:2},\n\toffset: {p},\n\thdr+entrylen+backlen: {:2},\n\thdrlen: {header:3},\n\tbacklen: {backlen:2},\n\tpayload: {}\n\tbytes: ",
            addr + p,
            encoded + backlen,
            encoded - header,
        );
        for byte in &lp[p..p + encoded + backlen] {
            let _ = write!(t, "{byte:02x}|");
        }
        t.push_str("\n\t[str]");
        out.extend_from_slice(t.as_bytes());
        let mut digits = [0u8; super::numeric::MAX_I64_DIGITS];
        let value = entry.as_bytes(&mut digits);
        if value.len() > 40 {
            out.extend_from_slice(&value[..40]);
            out.extend_from_slice(b"...");
        } else {
            out.extend_from_slice(value);
        }
        out.extend_from_slice(b"\n}\n");
        p += encoded + backlen;
        index += 1;
    }
    out.extend_from_slice(b"{end}\n\n");
    out
}

/// Validates the whole listpack and returns its entries.
pub fn listpack_entries(lp: &[u8]) -> RdbResult<Vec<Entry<'_>>> {
    let iter = ListpackIter::new(lp)?;
    // Every entry takes at least 2 bytes, so this capacity is bounded by input.
    let mut out = Vec::with_capacity(iter.declared_count().unwrap_or(0).min(lp.len() / 2));
    for e in iter {
        out.push(e?);
    }
    Ok(out)
}

/// Validates the whole listpack and returns its element count.
pub fn validate_listpack(lp: &[u8]) -> RdbResult<usize> {
    let mut n = 0;
    for e in ListpackIter::new(lp)? {
        e?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(items: &[&[u8]]) -> Vec<u8> {
        let mut b = ListpackBuilder::new();
        for i in items {
            b.push_bytes(i);
        }
        b.into_vec()
    }

    #[test]
    fn matches_redis_7_0_list_node() {
        // RPUSH l a 1 -2 300 70000 hello 9999999999 on Redis 7.0.15: the
        // quicklist node's listpack as saved in dump.rdb.
        let redis: &[u8] = &[
            0x28, 0x00, 0x00, 0x00, 0x07, 0x00, 0x81, 0x61, 0x02, 0x01, 0x01, 0xdf, 0xfe, 0x02, 0xc1, 0x2c, 0x02,
            0xf2, 0x70, 0x11, 0x01, 0x04, 0x85, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x06, 0xf4, 0xff, 0xe3, 0x0b, 0x54,
            0x02, 0x00, 0x00, 0x00, 0x09, 0xff,
        ];
        let ours = build(&[b"a", b"1", b"-2", b"300", b"70000", b"hello", b"9999999999"]);
        assert_eq!(ours, redis);
        assert_eq!(
            listpack_entries(redis).unwrap(),
            vec![
                Entry::Bytes(b"a"),
                Entry::Int(1),
                Entry::Int(-2),
                Entry::Int(300),
                Entry::Int(70000),
                Entry::Bytes(b"hello"),
                Entry::Int(9999999999)
            ]
        );
    }

    #[test]
    fn empty_listpack() {
        let lp = ListpackBuilder::new().into_vec();
        assert_eq!(lp, [7, 0, 0, 0, 0, 0, 0xff]);
        assert!(listpack_entries(&lp).unwrap().is_empty());
    }

    #[test]
    fn every_integer_width_round_trips() {
        let values = [
            0i64, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, -8388608, 8388607, 8388608,
            i32::MIN as i64, i32::MAX as i64, i32::MAX as i64 + 1, i64::MIN, i64::MAX,
        ];
        let mut b = ListpackBuilder::new();
        for &v in &values {
            b.push_int(v);
        }
        let lp = b.into_vec();
        let got: Vec<i64> = listpack_entries(&lp)
            .unwrap()
            .into_iter()
            .map(|e| match e {
                Entry::Int(v) => v,
                Entry::Bytes(_) => panic!("expected int"),
            })
            .collect();
        assert_eq!(got, values);
    }

    #[test]
    fn string_widths_and_backlen_boundaries() {
        let mut b = ListpackBuilder::new();
        let lens = [0usize, 1, 63, 64, 125, 126, 127, 4095, 4096, 16376, 16377, 16378, 16380, 70000];
        let strings: Vec<Vec<u8>> = lens.iter().map(|&n| vec![b'x'; n]).collect();
        for s in &strings {
            b.push_bytes(s);
        }
        let lp = b.into_vec();
        let entries = listpack_entries(&lp).unwrap();
        assert_eq!(entries.len(), strings.len());
        for (e, s) in entries.iter().zip(&strings) {
            assert_eq!(*e, Entry::Bytes(&s[..]));
        }
        // Header encodings of the size boundaries.
        assert_eq!(build(&[&[b'y'; 63]])[6], 0x80 | 63);
        assert_eq!(build(&[&[b'y'; 64]])[6..8], [0xE0, 64]);
        assert_eq!(build(&[&[b'y'; 4096]])[6..11], [0xF0, 0x00, 0x10, 0, 0]);
    }

    #[test]
    fn backlen_encoding_matches_listpack_c() {
        let mut v = Vec::new();
        push_backlen(&mut v, 127);
        assert_eq!(v, [127]);
        v.clear();
        push_backlen(&mut v, 128);
        assert_eq!(v, [1, 128]);
        v.clear();
        push_backlen(&mut v, 16382);
        assert_eq!(v, [127, 254]);
        v.clear();
        push_backlen(&mut v, 16383); // listpack.c switches to 3 bytes one early
        assert_eq!(v, [0, 255, 255]);
        for len in [0u64, 1, 127, 128, 16382, 16383, 16384, 2097150, 2097151, 268435454, 268435455, 1 << 32] {
            v.clear();
            push_backlen(&mut v, len);
            assert_eq!(v.len(), backlen_size(len));
            assert_eq!(decode_backlen(&v, v.len() - 1, 0), Some(len), "{len}");
        }
    }

    #[test]
    fn strings_become_integers_only_when_canonical() {
        let lp = build(&[b"12", b"012", b"-0", b"+1", b"1 ", b"-9223372036854775808", b"9223372036854775808"]);
        assert_eq!(
            listpack_entries(&lp).unwrap(),
            vec![
                Entry::Int(12),
                Entry::Bytes(b"012"),
                Entry::Bytes(b"-0"),
                Entry::Bytes(b"+1"),
                Entry::Bytes(b"1 "),
                Entry::Int(i64::MIN),
                Entry::Bytes(b"9223372036854775808"),
            ]
        );
    }

    #[test]
    fn count_saturates_at_65535() {
        let mut b = ListpackBuilder::new();
        for _ in 0..65534 {
            b.push_int(1);
        }
        assert_eq!(b.finish()[4..6], [0xfe, 0xff]);
        b.push_int(1);
        assert_eq!(b.finish()[4..6], [0xff, 0xff]);
        b.push_int(1);
        let lp = b.finish().to_vec();
        assert_eq!(lp[4..6], [0xff, 0xff]);
        assert_eq!(validate_listpack(&lp).unwrap(), 65536);
    }

    #[test]
    fn builder_reuse() {
        let mut b = ListpackBuilder::new();
        b.push_bytes(b"first");
        b.finish();
        b.reset();
        b.push_bytes(b"a");
        assert_eq!(b.finish(), build(&[b"a"]));
    }

    #[test]
    fn corrupt_listpacks_are_errors() {
        let good = build(&[b"hello", b"1234", &[b'z'; 200], b"-70000"]);
        assert!(listpack_entries(&good).is_ok());
        // Every truncation fails.
        for cut in 0..good.len() {
            assert!(listpack_entries(&good[..cut]).is_err(), "cut {cut}");
        }
        // Wrong header size, count, terminator, backlen, encoding.
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(listpack_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[4] = 3;
        assert!(listpack_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[4] = 0xff;
        bad[5] = 0xff;
        assert_eq!(listpack_entries(&bad).unwrap().len(), 4); // "unknown" count is fine
        let mut bad = good.clone();
        *bad.last_mut().unwrap() = 0;
        assert!(listpack_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[6 + 6] = 7; // backlen of "hello" (entry size 6)
        assert!(listpack_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[6] = 0xF5;
        assert!(listpack_entries(&bad).is_err());
        // A 32-bit string length pointing far beyond the blob.
        let mut bad = vec![0u8; 6];
        bad.extend_from_slice(&[0xF0, 0xff, 0xff, 0xff, 0x7f, 1, 0xff]);
        let n = bad.len() as u32;
        bad[..4].copy_from_slice(&n.to_le_bytes());
        assert!(listpack_entries(&bad).is_err());
        // Single-byte mutations anywhere: no panic.
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xbf, 0xc0, 0xe0, 0xf0, 0xf4, 0xfe, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = listpack_entries(&m);
            }
        }
    }
}
