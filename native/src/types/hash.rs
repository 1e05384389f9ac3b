//! Hashes (Redis's t_hash.c storage), in the two encodings Redis 7.0 reports:
//!
//! - `listpack`: every (field, value) pair packed into one byte buffer in insertion order,
//!   searched linearly, exactly while the hash has at most `hash-max-listpack-entries` pairs and
//!   every field and value is at most `hash-max-listpack-value` bytes long;
//! - `hashtable`: a [`Dict`] of field -> value, once either limit has been exceeded. The
//!   conversion is one way, as in Redis (deleting fields never converts back).
//!
//! Public API (for the commands, the RDB reader/writer, DEBUG DIGEST and DUMP):
//! - [`Hash::new`] (empty, listpack), [`Hash::from_pairs`]`(pairs, settings)` for the RDB
//!   loader: picks the encoding Redis would end up with for the same data; `None` when a field
//!   repeats (Redis refuses such a payload).
//! - [`Hash::len`], [`Hash::encoding`] (`"listpack"` / `"hashtable"`), [`Hash::is_listpack`]:
//!   true when the RDB writer should emit the value as a listpack blob (RDB_TYPE_HASH_LISTPACK)
//!   rather than as a plain hash.
//! - [`Hash::iter`]: (field, value) pairs in Redis's order for the current encoding: insertion
//!   order for a listpack (so HGETALL/HKEYS match Redis byte for byte), bucket order for a
//!   hashtable (Redis's own order is its dict's, so clients cannot rely on it).
//! - [`Hash::get`], [`Hash::contains`], [`Hash::set`], [`Hash::remove`],
//!   [`Hash::convert_if_any_too_long`], [`Hash::random_pair`], [`Hash::scan_step`].

use crate::alloc::chunk_size;
use crate::dict::{random_u64, Dict, SmallBytes};
use crate::settings::Settings;
use super::varint;

#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Listpack(PackedPairs),
    Table(Dict<SmallBytes>),
}

impl Default for Hash {
    fn default() -> Self { Self::new() }
}

impl Hash {
    /// An empty listpack-encoded hash, as Redis's createHashObject.
    pub fn new() -> Self { Hash { repr: Repr::Listpack(PackedPairs::default()) } }

    /// Builds a hash from loaded pairs with the encoding Redis's loader ends up with: listpack
    /// while within both limits, hashtable otherwise. `None` when a field appears twice.
    pub fn from_pairs<F, V>(pairs: impl IntoIterator<Item = (F, V)>, settings: &Settings) -> Option<Hash>
    where
        F: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let pairs: Vec<(F, V)> = pairs.into_iter().collect();
        let limit = settings.hash_max_listpack_value;
        let fits = pairs.len() as i64 <= settings.hash_max_listpack_entries
            && pairs.iter().all(|(f, v)| f.as_ref().len() as i64 <= limit && v.as_ref().len() as i64 <= limit);
        if fits {
            // One allocation of the exact size for the packed pairs (set() reallocates per pair).
            if super::any_repeated(pairs.iter().map(|(f, _)| f.as_ref())) { return None; }
            let mut p = PackedPairs { buf: Vec::with_capacity(pairs.iter().map(|(f, v)| encoded_len(f.as_ref()) + encoded_len(v.as_ref())).sum()), pairs: 0 };
            for (f, v) in &pairs { p.append(f.as_ref(), v.as_ref()); }
            return Some(Hash { repr: Repr::Listpack(p) });
        }
        // Past a listpack's limits: straight into a table, as Redis's loader creates the dict
        // up front, instead of filling a listpack first.
        let mut d = Dict::with_capacity(pairs.len());
        for (f, v) in &pairs {
            if d.try_insert_copy(f.as_ref(), SmallBytes::new(v.as_ref())).is_err() { return None; }
        }
        Some(Hash { repr: Repr::Table(d) })
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.pairs,
            Repr::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool { self.len() == 0 }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool { matches!(self.repr, Repr::Listpack(_)) }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(p) => p.find(field).map(|at| p.value_at(at)),
            Repr::Table(d) => d.get(field).map(|v| &**v),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.repr {
            Repr::Listpack(p) => p.find(field).is_some(),
            Repr::Table(d) => d.contains_key(field),
        }
    }

    /// Redis's hashTypeTryConversion: before a write, converts a listpack to a hashtable when any
    /// of the command's field/value arguments is longer than `hash-max-listpack-value`.
    pub fn convert_if_any_too_long<'a>(&mut self, args: impl IntoIterator<Item = &'a [u8]>, settings: &Settings) {
        if !self.is_listpack() { return; }
        let limit = settings.hash_max_listpack_value;
        if args.into_iter().any(|a| a.len() as i64 > limit) { self.convert_to_table(); }
    }

    /// Redis's hashTypeSet: sets `field` to `value`; true when the field is new. A listpack
    /// becomes a hashtable when the field or value is too long, or when the pair count then
    /// exceeds `hash-max-listpack-entries`. A replaced value keeps its position.
    pub fn set(&mut self, field: &[u8], value: &[u8], settings: &Settings) -> bool {
        if self.is_listpack() {
            let limit = settings.hash_max_listpack_value;
            if field.len() as i64 > limit || value.len() as i64 > limit { self.convert_to_table(); }
        }
        match &mut self.repr {
            Repr::Listpack(p) => {
                let inserted = p.set(field, value);
                if p.pairs as i64 > settings.hash_max_listpack_entries { self.convert_to_table(); }
                inserted
            }
            Repr::Table(d) => {
                if let Some(v) = d.get_mut(field) {
                    *v = SmallBytes::new(value);
                    false
                } else {
                    d.insert_new_copy(field, SmallBytes::new(value));
                    true
                }
            }
        }
    }

    /// Removes `field`; true when it was there. The caller deletes the key when it empties.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(p) => p.remove(field),
            Repr::Table(d) => d.remove(field).is_some(),
        }
    }

    pub fn iter(&self) -> HashIter<'_> {
        match &self.repr {
            Repr::Listpack(p) => HashIter::Listpack(p.iter()),
            Repr::Table(d) => HashIter::Table(d.iter()),
        }
    }

    /// A uniformly chosen pair for a listpack, a Dict::random pair for a hashtable (the same
    /// "random bucket, then random chain element" fairness Redis's dictGetFairRandomKey aims at).
    pub fn random_pair(&self) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(p) => {
                if p.pairs == 0 { return None; }
                let n = (random_u64() % p.pairs as u64) as usize;
                p.iter().nth(n)
            }
            Repr::Table(d) => d.random().map(|(k, v)| (k, &**v)),
        }
    }

    /// One HSCAN step over a hashtable (reverse-binary cursor); a listpack is visited whole and
    /// the next cursor is 0, as Redis returns small encodings in a single call.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.repr {
            Repr::Listpack(p) => {
                for (k, v) in p.iter() { f(k, v); }
                0
            }
            Repr::Table(d) => d.scan_step(cursor, |k, v| f(k, v)),
        }
    }

    /// MEMORY USAGE: the malloc chunks held, table entries averaged over `samples`.
    pub fn memory_usage(&self, samples: usize) -> usize {
        match &self.repr {
            Repr::Listpack(p) => chunk_size(p.buf.capacity()),
            Repr::Table(d) => d.memory_usage(samples, |v| SmallBytes::heap_bytes_of(v)),
        }
    }

    /// Approximate heap bytes held (MEMORY USAGE and friends).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.buf.capacity(),
            Repr::Table(d) => d.table_bytes() + d.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Repr::Listpack(p) = &self.repr {
            let mut d = Dict::with_capacity(p.pairs);
            for (k, v) in p.iter() { d.insert_new_copy(k, SmallBytes::new(v)); }
            self.repr = Repr::Table(d);
        }
    }
}

pub enum HashIter<'a> {
    Listpack(PackedIter<'a>),
    Table(crate::dict::Iter<'a, SmallBytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => it.next(),
            HashIter::Table(it) => it.next().map(|(k, v)| (k, &**v)),
        }
    }
}

/// The listpack stand-in: alternating field and value strings, each stored as a LEB128 length
/// followed by its bytes, in one buffer kept at its exact size (like Redis's listpack, which is
/// reallocated on every write). One allocation per small hash instead of two per pair.
#[derive(Default, Clone)]
struct PackedPairs {
    buf: Vec<u8>,
    pairs: usize,
}

/// Where a pair lives in the buffer: the field's header offset, and the value's byte range.
#[derive(Clone, Copy)]
struct PairAt {
    start: usize,
    value_start: usize,
    end: usize,
}



fn encoded_len(s: &[u8]) -> usize {
    let mut header = 1;
    let mut n = s.len() >> 7;
    while n > 0 {
        header += 1;
        n >>= 7;
    }
    header + s.len()
}

impl PackedPairs {
    fn iter(&self) -> PackedIter<'_> { PackedIter { buf: &self.buf, at: 0 } }

    fn find(&self, field: &[u8]) -> Option<PairAt> {
        let buf = &self.buf;
        let mut at = 0;
        while at < buf.len() {
            let start = at;
            let (flen, fstart) = varint::read(buf, at);
            let (vlen, vstart) = varint::read(buf, fstart + flen);
            let end = vstart + vlen;
            if &buf[fstart..fstart + flen] == field {
                return Some(PairAt { start, value_start: vstart, end });
            }
            at = end;
        }
        None
    }

    fn value_at(&self, at: PairAt) -> &[u8] { &self.buf[at.value_start..at.end] }

    /// Replaces the value in place or appends the pair; true when appended.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                // The value's header sits just before its bytes: rewrite header and bytes.
                let (_, fstart) = varint::read(&self.buf, at.start);
                let value_header = fstart + field.len();
                let mut encoded = Vec::with_capacity(encoded_len(value));
                varint::push(&mut encoded, value.len());
                encoded.extend_from_slice(value);
                self.buf.splice(value_header..at.end, encoded);
                self.buf.shrink_to_fit();
                false
            }
            None => {
                self.buf.reserve_exact(encoded_len(field) + encoded_len(value));
                self.append(field, value);
                true
            }
        }
    }

    /// Adds a pair known to be new at the end.
    fn append(&mut self, field: &[u8], value: &[u8]) {
        varint::push(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        varint::push(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.pairs += 1;
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                self.buf.drain(at.start..at.end);
                self.buf.shrink_to_fit();
                self.pairs -= 1;
                true
            }
            None => false,
        }
    }
}

pub struct PackedIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() { return None; }
        let (flen, fstart) = varint::read(self.buf, self.at);
        let (vlen, vstart) = varint::read(self.buf, fstart + flen);
        self.at = vstart + vlen;
        Some((&self.buf[fstart..fstart + flen], &self.buf[vstart..vstart + vlen]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(entries: i64, value: i64) -> Settings {
        let mut s = Settings::default();
        s.hash_max_listpack_entries = entries;
        s.hash_max_listpack_value = value;
        s
    }

    fn pairs(h: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> { h.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect() }

    #[test]
    fn listpack_keeps_insertion_order_and_replaces_in_place() {
        let s = Settings::default();
        let mut h = Hash::new();
        assert!(h.set(b"b", b"1", &s));
        assert!(h.set(b"a", b"2", &s));
        assert!(h.set(b"c", b"3", &s));
        assert!(!h.set(b"a", b"a much longer value than before", &s));
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(pairs(&h), vec![
            (b"b".to_vec(), b"1".to_vec()),
            (b"a".to_vec(), b"a much longer value than before".to_vec()),
            (b"c".to_vec(), b"3".to_vec()),
        ]);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(b"c"), Some(&b"3"[..]));
        assert_eq!(h.get(b"zz"), None);
    }

    #[test]
    fn long_strings_use_multi_byte_headers() {
        let s = settings(128, 1 << 20);
        let mut h = Hash::new();
        let long = vec![b'x'; 70_000];
        h.set(&long, b"v", &s);
        h.set(b"k", &long, &s);
        assert_eq!(h.get(&long), Some(&b"v"[..]));
        assert_eq!(h.get(b"k").map(|v| v.len()), Some(70_000));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn converts_on_entries_or_length_and_never_back() {
        let s = settings(3, 5);
        let mut h = Hash::new();
        for f in [b"a", b"b", b"c"] { h.set(f, b"v", &s); }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"d", b"v", &s);
        assert_eq!(h.encoding(), "hashtable");
        for f in [b"a", b"b", b"c"] { h.remove(f); }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 1);

        let mut h = Hash::new();
        h.set(b"a", b"12345", &s);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"a", b"123456", &s);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"123456"[..]));

        let mut h = Hash::new();
        h.convert_if_any_too_long([&b"ok"[..], b"toolong"], &s);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn from_pairs_picks_the_encoding_and_rejects_duplicates() {
        let s = settings(2, 64);
        let h = Hash::from_pairs([(&b"a"[..], &b"1"[..]), (b"b", b"2")], &s).unwrap();
        assert_eq!(h.encoding(), "listpack");
        let h = Hash::from_pairs([(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"c", b"3")], &s).unwrap();
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 3);
        assert!(Hash::from_pairs([(&b"a"[..], &b"1"[..]), (b"a", b"2")], &s).is_none());
    }

    #[test]
    fn scan_of_a_listpack_is_one_step() {
        let s = Settings::default();
        let mut h = Hash::new();
        h.set(b"x", b"1", &s);
        h.set(b"y", b"2", &s);
        let mut seen = Vec::new();
        assert_eq!(h.scan_step(0, |k, _| seen.push(k.to_vec())), 0);
        assert_eq!(seen, vec![b"x".to_vec(), b"y".to_vec()]);
    }

    #[test]
    fn random_pair_covers_every_field() {
        let s = Settings::default();
        let mut h = Hash::new();
        for i in 0..5 { h.set(format!("f{i}").as_bytes(), b"v", &s); }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 { seen.insert(h.random_pair().unwrap().0.to_vec()); }
        assert_eq!(seen.len(), 5);
    }
}
