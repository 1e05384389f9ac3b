//! Sets (Redis's t_set.c and intset.c storage), in the two encodings Redis 7.0 has (no listpack
//! sets before 7.2):
//!
//! - `intset`: a sorted array of distinct integers packed at the narrowest width that holds them
//!   all (2, 4 or 8 bytes, widened on demand and never narrowed, as Redis's intset), used while
//!   every member is an integer by string2ll's rules and the count is at most
//!   `set-max-intset-entries`;
//! - `hashtable`: a [`Dict`] of members. One way: a set never returns to intset.
//!
//! Public API (for the commands, the RDB reader/writer, DEBUG DIGEST and DUMP):
//! - [`Set::for_first_member`] (Redis's setTypeCreate: intset when that member is an integer),
//!   [`Set::new_intset`] (the empty result set SUNIONSTORE & co. start from),
//!   [`Set::from_members`]`(members, settings)` for the RDB loader (the encoding Redis would end
//!   up with; `None` when a member repeats), [`Set::from_intset`]`(width, values)` to load an
//!   intset blob keeping its width (`None` unless strictly ascending and within the width).
//! - [`Set::len`], [`Set::encoding`] (`"intset"` / `"hashtable"`), [`Set::intset_width`]:
//!   `Some(2|4|8)` when the RDB writer should emit an intset blob (RDB_TYPE_SET_INTSET) with that
//!   width, `None` for a plain set.
//! - [`Set::iter`]: members in Redis's order for the encoding: ascending for an intset (SMEMBERS
//!   matches Redis exactly), bucket order for a hashtable. Members are [`Member`]s: an integer
//!   for an intset (use [`Member::with_bytes`] for its decimal text), bytes otherwise.
//! - [`Set::contains`], [`Set::add`], [`Set::remove`], [`Set::random`], [`Set::pop_random`],
//!   [`Set::scan_step`].

use crate::dict::{random_u64, Dict};
use crate::numfmt;
use crate::settings::Settings;

#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Ints(IntSet),
    /// Boxed so that a set is a 16-byte handle in its keyspace entry.
    Table(Box<Dict<()>>),
}

/// One member as a set holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Member<'a> {
    /// Calls `f` with the member's bytes (an integer's decimal text, formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Bytes(b) => f(b),
            Member::Int(n) => {
                let mut tmp = IntText::default();
                f(tmp.format(n))
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> { self.with_bytes(|b| b.to_vec()) }
}

/// A stack buffer for an i64's decimal text (at most 20 bytes).
#[derive(Default)]
struct IntText {
    buf: [u8; 20],
}

impl IntText {
    fn format(&mut self, n: i64) -> &[u8] {
        let mut i = self.buf.len();
        let mut v = n.unsigned_abs();
        loop {
            i -= 1;
            self.buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 { break; }
        }
        if n < 0 {
            i -= 1;
            self.buf[i] = b'-';
        }
        &self.buf[i..]
    }
}

impl Set {
    /// Redis's setTypeCreate: the set a command creates for its first member.
    pub fn for_first_member(member: &[u8]) -> Set {
        if numfmt::parse_i64(member).is_some() { Set::new_intset() } else { Set { repr: Repr::Table(Box::default()) } }
    }

    /// An empty intset (createIntsetObject).
    pub fn new_intset() -> Set { Set { repr: Repr::Ints(IntSet::default()) } }

    /// Builds a loaded set with the encoding Redis's loader ends up with: intset while every
    /// member is an integer and the count fits, hashtable otherwise. `None` on a repeated member.
    pub fn from_members<M: AsRef<[u8]>>(members: impl IntoIterator<Item = M>, settings: &Settings) -> Option<Set> {
        let members: Vec<M> = members.into_iter().collect();
        let intset_max = settings.set_max_intset_entries.min(1 << 30);
        if members.len() as i64 <= intset_max && members.iter().all(|m| numfmt::parse_i64(m.as_ref()).is_some()) {
            let mut s = Set::new_intset();
            for m in &members {
                if !s.add(m.as_ref(), settings) { return None; }
            }
            return Some(s);
        }
        // A hashtable in the end: sized once, as Redis's loader expands its dict up front.
        let mut d = Dict::with_capacity(members.len());
        for m in &members {
            if d.try_insert_copy(m.as_ref(), ()).is_err() { return None; }
        }
        Some(Set { repr: Repr::Table(Box::new(d)) })
    }

    /// Loads an intset blob's values keeping its width (so a save writes the same bytes back).
    /// `None` unless `width` is 2, 4 or 8, the values are strictly ascending and all fit.
    pub fn from_intset(width: u8, values: impl IntoIterator<Item = i64>) -> Option<Set> {
        if !matches!(width, 2 | 4 | 8) { return None; }
        let values: Vec<i64> = values.into_iter().collect();
        if values.iter().any(|&v| width_for(v) > width) || values.windows(2).any(|p| p[0] >= p[1]) { return None; }
        Some(Set { repr: Repr::Ints(IntSet::build(width, values.into_iter())) })
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(i) => i.len(),
            Repr::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool { self.len() == 0 }

    /// DEBUG HTSTATS-KEY's text, when the set is a hash table.
    pub fn table_stats(&self) -> Option<String> {
        match &self.repr { Repr::Table(d) => Some(d.stats_text(|_| true)), Repr::Ints(_) => None }
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn is_intset(&self) -> bool { matches!(self.repr, Repr::Ints(_)) }

    /// The intset's element width in bytes (2, 4 or 8) for the RDB writer; None for a hashtable.
    pub fn intset_width(&self) -> Option<u8> {
        match &self.repr {
            Repr::Ints(i) => Some(i.width() as u8),
            Repr::Table(_) => None,
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(i) => numfmt::parse_i64(member).is_some_and(|v| i.find(v).is_ok()),
            Repr::Table(d) => d.contains_key(member),
        }
    }

    /// Redis's setTypeAdd: true when `member` was new. An intset becomes a hashtable when a
    /// non-integer arrives or when its count passes `set-max-intset-entries`.
    pub fn add(&mut self, member: &[u8], settings: &Settings) -> bool {
        match &mut self.repr {
            Repr::Table(d) => d.try_insert_copy(member, ()).is_ok(),
            Repr::Ints(ints) => match numfmt::parse_i64(member) {
                Some(v) => {
                    if !ints.insert(v) { return false; }
                    // Redis caps the limit at 1G entries (intset internals); keep the same cap.
                    let max = settings.set_max_intset_entries.min(1 << 30);
                    if ints.len() as i64 > max { self.convert_to_table(); }
                    true
                }
                None => {
                    self.convert_to_table();
                    if let Repr::Table(d) = &mut self.repr { d.insert_new_copy(member, ()); }
                    true
                }
            },
        }
    }

    /// Adds a member already known to be an integer (SINTERSTORE & co. copying from an intset).
    pub fn add_int(&mut self, v: i64, settings: &Settings) -> bool {
        match &mut self.repr {
            Repr::Ints(ints) => {
                if !ints.insert(v) { return false; }
                let max = settings.set_max_intset_entries.min(1 << 30);
                if ints.len() as i64 > max { self.convert_to_table(); }
                true
            }
            Repr::Table(_) => Member::Int(v).with_bytes(|b| self.add(b, settings)),
        }
    }

    /// Adds a member in whatever form an iteration produced it.
    pub fn add_member(&mut self, m: Member<'_>, settings: &Settings) -> bool {
        match m {
            Member::Int(v) => self.add_int(v, settings),
            Member::Bytes(b) => self.add(b, settings),
        }
    }

    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (&self.repr, m) {
            (Repr::Ints(i), Member::Int(v)) => i.find(v).is_ok(),
            (_, m) => m.with_bytes(|b| self.contains(b)),
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(i) => numfmt::parse_i64(member).is_some_and(|v| i.remove(v)),
            Repr::Table(d) => d.remove(member).is_some(),
        }
    }

    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match (&mut self.repr, m) {
            (Repr::Ints(i), Member::Int(v)) => i.remove(v),
            (_, m) => m.with_bytes(|b| self.remove(b)),
        }
    }

    pub fn iter(&self) -> SetIter<'_> {
        match &self.repr {
            Repr::Ints(i) => SetIter::Ints { ints: i, at: 0 },
            Repr::Table(d) => SetIter::Table(d.iter()),
        }
    }

    /// A random member (uniform for an intset; Dict::random for a hashtable).
    pub fn random(&self) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(i) => {
                if i.len() == 0 { return None; }
                Some(Member::Int(i.get((random_u64() % i.len() as u64) as usize)))
            }
            Repr::Table(d) => d.random().map(|(k, _)| Member::Bytes(k)),
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self) -> Option<Vec<u8>> {
        let picked = self.random()?.to_vec();
        self.remove(&picked);
        Some(picked)
    }

    /// One SSCAN step over a hashtable; an intset is visited whole (ascending) and the next
    /// cursor is 0, as Redis does for its small encodings.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(Member<'_>)) -> u64 {
        match &self.repr {
            Repr::Ints(i) => {
                for n in 0..i.len() { f(Member::Int(i.get(n))); }
                0
            }
            Repr::Table(d) => d.scan_step(cursor, |k, _| f(Member::Bytes(k))),
        }
    }

    /// MEMORY USAGE: the malloc chunks held, table entries averaged over `samples`.
    pub fn memory_usage(&self, samples: usize) -> usize {
        match &self.repr {
            Repr::Ints(i) => crate::alloc::chunk_size(i.allocated()),
            Repr::Table(d) => crate::alloc::chunk_size(std::mem::size_of::<Dict<()>>()) + d.memory_usage(samples, |_| 0),
        }
    }

    /// Approximate heap bytes held (MEMORY USAGE and friends).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Ints(i) => i.allocated(),
            Repr::Table(d) => d.table_bytes() + d.keys().map(|k| k.len()).sum::<usize>(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Repr::Ints(ints) = &self.repr {
            let mut d = Dict::with_capacity(ints.len());
            for n in 0..ints.len() {
                d.insert_new(Member::Int(ints.get(n)).to_vec().into_boxed_slice(), ());
            }
            self.repr = Repr::Table(Box::new(d));
        }
    }
}

pub enum SetIter<'a> {
    Ints { ints: &'a IntSet, at: usize },
    Table(crate::dict::Iter<'a, ()>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Ints { ints, at } => {
                if *at >= ints.len() { return None; }
                let v = ints.get(*at);
                *at += 1;
                Some(Member::Int(v))
            }
            SetIter::Table(it) => it.next().map(|(k, _)| Member::Bytes(k)),
        }
    }
}

/// The narrowest intset width (bytes) that holds `v`.
fn width_for(v: i64) -> u8 {
    if v >= i16::MIN as i64 && v <= i16::MAX as i64 { 2 } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 { 4 } else { 8 }
}

/// Redis's intset: sorted distinct integers, little-endian at one width for all of them (2, 4
/// or 8 bytes), in one boxed buffer kept at its exact size (as Redis resizes an intset on every
/// write). The buffer's length says the width, with no header byte: `pad(width)` zero bytes
/// follow the values, so the length is odd for width 2, a multiple of 4 for width 4 and 2 more
/// than a multiple of 4 for width 8. A header byte would push ten 4-byte values (41 bytes) into a
/// 64-byte malloc chunk instead of 48; padding a width-8 set by 2 never changes its chunk (8n + 2
/// and 8n + 1 round up alike), and width 2 keeps its one byte.
#[derive(Clone)]
pub struct IntSet {
    buf: Box<[u8]>,
}

impl Default for IntSet {
    fn default() -> Self { IntSet { buf: Box::new([0; pad(2)]) } }
}

impl IntSet {
    #[inline]
    fn width(&self) -> usize {
        match self.buf.len() % 4 {
            0 => 4,
            2 => 8,
            _ => 2,
        }
    }

    fn len(&self) -> usize {
        let w = self.width();
        (self.buf.len() - pad(w as u8)) / w
    }

    /// The bytes held (MEMORY USAGE): the boxed buffer is exactly its length.
    fn allocated(&self) -> usize { self.buf.len() }

    fn get(&self, i: usize) -> i64 {
        let w = self.width();
        let b = &self.buf[i * w..(i + 1) * w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    }

    /// Binary search: Ok(index) when present, Err(insertion point) otherwise.
    fn find(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let m = self.get(mid);
            if m == v { return Ok(mid); }
            if m < v { lo = mid + 1 } else { hi = mid }
        }
        Err(lo)
    }

    /// An intset of `width` holding `values` (ascending, each fitting the width) in order.
    fn build(width: u8, values: impl ExactSizeIterator<Item = i64>) -> IntSet {
        let mut buf = Vec::with_capacity(values.len() * width as usize + pad(width));
        for v in values { buf.extend_from_slice(&encode(v, width)[..width as usize]); }
        buf.resize(buf.len() + pad(width), 0);
        IntSet { buf: buf.into_boxed_slice() }
    }

    fn insert(&mut self, v: i64) -> bool {
        if width_for(v) as usize > self.width() {
            self.widen(width_for(v));
        }
        let at = match self.find(v) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let w = self.width();
        super::splice_exact(&mut self.buf, at * w..at * w, &encode(v, w as u8)[..w]);
        true
    }

    fn remove(&mut self, v: i64) -> bool {
        match self.find(v) {
            Ok(at) => {
                let w = self.width();
                super::splice_exact(&mut self.buf, at * w..(at + 1) * w, &[]);
                true
            }
            Err(_) => false,
        }
    }

    /// Re-encodes every element at a wider width (Redis's intsetUpgradeAndAdd).
    fn widen(&mut self, width: u8) {
        let values: Vec<i64> = (0..self.len()).map(|i| self.get(i)).collect();
        *self = IntSet::build(width, values.into_iter());
    }
}

/// The zero bytes after an intset's values that make its length tell its `width` (see IntSet).
const fn pad(width: u8) -> usize {
    match width {
        2 => 1,
        4 => 0,
        _ => 2,
    }
}

/// `v` little-endian in its first `width` bytes.
fn encode(v: i64, width: u8) -> [u8; 8] {
    let mut out = [0u8; 8];
    match width {
        2 => out[..2].copy_from_slice(&(v as i16).to_le_bytes()),
        4 => out[..4].copy_from_slice(&(v as i32).to_le_bytes()),
        _ => out = v.to_le_bytes(),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &Set) -> Vec<Vec<u8>> { s.iter().map(|m| m.to_vec()).collect() }
    fn settings(max: i64) -> Settings {
        let mut s = Settings::default();
        s.set_max_intset_entries = max;
        s
    }

    #[test]
    fn intset_is_sorted_and_widens() {
        let st = Settings::default();
        let mut s = Set::for_first_member(b"5");
        for m in ["5", "-3", "100", "7", "5"] { s.add(m.as_bytes(), &st); }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.intset_width(), Some(2));
        assert_eq!(members(&s), vec![b"-3".to_vec(), b"5".to_vec(), b"7".to_vec(), b"100".to_vec()]);
        s.add(b"70000", &st);
        assert_eq!(s.intset_width(), Some(4));
        s.add(b"-9223372036854775808", &st);
        assert_eq!(s.intset_width(), Some(8));
        assert_eq!(members(&s)[0], b"-9223372036854775808".to_vec());
        assert!(s.contains(b"70000"));
        assert!(s.remove(b"70000"));
        assert_eq!(s.intset_width(), Some(8), "an intset never narrows");
        assert!(!s.contains(b"70000"));
        assert!(!s.contains(b"07"), "not an integer by string2ll, so never a member of an intset");
        assert_eq!(s.len(), 5);
    }

    #[test]
    fn intset_length_tells_the_width_at_every_count() {
        for width in [2u8, 4, 8] {
            for n in 0..40i64 {
                let values: Vec<i64> = (0..n).map(|v| v * 3 - 40).collect();
                let mut s = IntSet::build(width, values.iter().copied());
                assert_eq!((s.width(), s.len(), s.allocated()), (width as usize, n as usize, n as usize * width as usize + pad(width)));
                assert!((0..n as usize).all(|i| s.get(i) == values[i]));
                assert!(s.insert(1_000) && s.len() == n as usize + 1 && s.width() == width as usize);
                assert!(s.remove(1_000) && !s.remove(1_000) && s.len() == n as usize);
                if width < 8 {
                    assert!(s.insert(i64::MAX));
                    assert_eq!((s.width(), s.len(), s.get(n as usize)), (8, n as usize + 1, i64::MAX));
                }
            }
        }
        assert_eq!((IntSet::default().width(), IntSet::default().len()), (2, 0));
        // Ten 4-byte members: 40 bytes, a 48-byte chunk (41 with a width byte took 64).
        assert_eq!(crate::alloc::chunk_size(IntSet::build(4, (0..10i32).map(i64::from)).allocated()), 48);
    }

    #[test]
    fn conversions() {
        let st = settings(3);
        let mut s = Set::for_first_member(b"1");
        for m in ["1", "2", "3"] { s.add(m.as_bytes(), &st); }
        assert_eq!(s.encoding(), "intset");
        s.add(b"4", &st);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"4"));

        let mut s = Set::for_first_member(b"1");
        s.add(b"1", &st);
        s.add(b"x", &st);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 2);
        assert_eq!(Set::for_first_member(b"01").encoding(), "hashtable");
    }

    #[test]
    fn loader_constructors() {
        let st = Settings::default();
        assert_eq!(Set::from_members(["3", "1", "2"], &st).unwrap().encoding(), "intset");
        assert_eq!(Set::from_members(["3", "a"], &st).unwrap().encoding(), "hashtable");
        assert!(Set::from_members(["3", "3"], &st).is_none());
        let s = Set::from_intset(8, [1, 2, 3]).unwrap();
        assert_eq!(s.intset_width(), Some(8));
        assert_eq!(members(&s), vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        assert!(Set::from_intset(2, [1, 1]).is_none());
        assert!(Set::from_intset(2, [70000]).is_none());
        assert!(Set::from_intset(3, [1]).is_none());
    }

    #[test]
    fn pop_and_random() {
        let st = Settings::default();
        let mut s = Set::from_members(["1", "2", "3", "x"], &st).unwrap();
        let mut popped = Vec::new();
        while let Some(m) = s.pop_random() { popped.push(m); }
        popped.sort();
        assert_eq!(popped, vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"x".to_vec()]);
        assert!(s.random().is_none());
    }
}
