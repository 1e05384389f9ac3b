//! Hashes (Redis's t_hash.c storage), in the two encodings Redis 7.0 reports:
//!
//! - `listpack`: every (field, value) pair packed into one byte buffer in insertion order,
//!   searched linearly, exactly while the hash has at most `hash-max-listpack-entries` pairs and
//!   every field and value is at most `hash-max-listpack-value` bytes long;
//! - `hashtable`: a [`Dict`] of field -> value, once either limit has been exceeded: each
//!   field's node holds the value's bytes as its tail (one allocation per pair, where Redis has
//!   a dictEntry and two sds). The conversion is one way, as in Redis (deleting fields never
//!   converts back).
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
use crate::dict::{random_u64, Dict};
use crate::settings::Settings;
use super::varint;

#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Listpack(PackedPairs),
    /// Boxed so that a hash is a 16-byte handle in its keyspace entry. The values are the
    /// nodes' tails.
    Table(Box<Dict<()>>),
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
            let mut buf = PackedPairs::with_capacity(pairs.iter().map(|(f, v)| encoded_len(f.as_ref()) + encoded_len(v.as_ref())).sum());
            for (f, v) in &pairs { push_pair(&mut buf, f.as_ref(), v.as_ref()); }
            let mut p = PackedPairs { buf: buf.into_boxed_slice() };
            p.set_pairs(pairs.len());
            return Some(Hash { repr: Repr::Listpack(p) });
        }
        // Past a listpack's limits: straight into a table, as Redis's loader creates the dict
        // up front, instead of filling a listpack first.
        let mut d = Dict::with_capacity(pairs.len());
        for (f, v) in &pairs {
            if d.try_insert_tailed(f.as_ref(), v.as_ref(), ()).is_err() { return None; }
        }
        Some(Hash { repr: Repr::Table(Box::new(d)) })
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.pairs(),
            Repr::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool { self.len() == 0 }

    /// DEBUG HTSTATS-KEY's text, when the hash is a hash table.
    pub fn table_stats(&self) -> Option<String> {
        match &self.repr { Repr::Table(d) => Some(d.stats_text(|_| true)), Repr::Listpack(_) => None }
    }

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
            Repr::Table(d) => d.get_node(field).map(|n| n.tail()),
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
                if p.pairs() as i64 > settings.hash_max_listpack_entries { self.convert_to_table(); }
                inserted
            }
            Repr::Table(d) => {
                if d.set_tail(field, value) {
                    false
                } else {
                    d.insert_new_tailed(field, value, ());
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
            Repr::Table(d) => HashIter::Table(d.nodes()),
        }
    }

    /// A uniformly chosen pair for a listpack, a Dict::random pair for a hashtable (the same
    /// "random bucket, then random chain element" fairness Redis's dictGetFairRandomKey aims at).
    pub fn random_pair(&self) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(p) => {
                if p.pairs() == 0 { return None; }
                let n = (random_u64() % p.pairs() as u64) as usize;
                p.iter().nth(n)
            }
            Repr::Table(d) => d.random_node().map(|n| (n.key(), n.tail())),
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
            Repr::Table(d) => d.scan_nodes_step(cursor, |n| f(n.key(), n.tail())),
        }
    }

    /// MEMORY USAGE: the malloc chunks held, table entries averaged over `samples`.
    pub fn memory_usage(&self, samples: usize) -> usize {
        match &self.repr {
            Repr::Listpack(p) => chunk_size(p.allocated()),
            Repr::Table(d) => chunk_size(std::mem::size_of::<Dict<()>>()) + d.memory_usage(samples, |_| 0),
        }
    }

    /// Approximate heap bytes held (MEMORY USAGE and friends).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.allocated(),
            Repr::Table(d) => d.table_bytes() + d.nodes().map(|n| n.key().len() + n.tail().len()).sum::<usize>(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Repr::Listpack(p) = &self.repr {
            let mut d = Dict::with_capacity(p.pairs());
            for (k, v) in p.iter() { d.insert_new_tailed(k, v, ()); }
            self.repr = Repr::Table(Box::new(d));
        }
    }
}

pub enum HashIter<'a> {
    Listpack(PackedIter<'a>),
    Table(crate::dict::Nodes<'a, ()>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => it.next(),
            HashIter::Table(it) => it.next().map(|n| (n.key(), n.tail())),
        }
    }
}

/// The listpack stand-in: the pair count (4 bytes, little-endian) then alternating field and
/// value strings, each stored as a LEB128 length followed by its bytes, in one boxed buffer
/// kept at its exact size (like Redis's listpack, which is reallocated on every write and
/// carries its own count). One allocation per small hash, and a 16-byte handle that lives in
/// the keyspace entry itself (no boxed header, as a listpack hangs off a 16-byte robj).
#[derive(Clone)]
struct PackedPairs {
    buf: Box<[u8]>,
}

/// The count's bytes at the front of the buffer.
const COUNT_BYTES: usize = 4;

/// Where a pair lives in the entries (offsets past the count): the field's header offset,
/// and the value's byte range.
#[derive(Clone, Copy)]
struct PairAt {
    start: usize,
    value_start: usize,
    end: usize,
}

fn encoded_len(s: &[u8]) -> usize { varint::size(s.len()) + s.len() }

impl Default for PackedPairs {
    fn default() -> Self { PackedPairs { buf: Box::new([0; COUNT_BYTES]) } }
}

impl PackedPairs {
    /// An empty buffer with room for `entry_bytes` of pairs (the loader's exact size).
    fn with_capacity(entry_bytes: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(COUNT_BYTES + entry_bytes);
        v.extend_from_slice(&[0; COUNT_BYTES]);
        v
    }

    #[inline]
    fn pairs(&self) -> usize {
        let c = &self.buf[..COUNT_BYTES];
        u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize
    }

    fn set_pairs(&mut self, n: usize) {
        // A listpack this long (4G pairs, 8 GB at least) cannot be built: hashes convert far earlier.
        self.buf[..COUNT_BYTES].copy_from_slice(&(n as u32).to_le_bytes());
    }

    #[inline]
    fn entries(&self) -> &[u8] { &self.buf[COUNT_BYTES..] }

    /// The bytes held (MEMORY USAGE): the boxed buffer is exactly its length.
    fn allocated(&self) -> usize { self.buf.len() }

    fn iter(&self) -> PackedIter<'_> { PackedIter { buf: self.entries(), at: 0 } }

    fn find(&self, field: &[u8]) -> Option<PairAt> {
        let buf = self.entries();
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

    fn value_at(&self, at: PairAt) -> &[u8] { &self.entries()[at.value_start..at.end] }

    /// Replaces the value in place or appends the pair; true when appended.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let mut encoded = Vec::with_capacity(encoded_len(field) + encoded_len(value));
        match self.find(field) {
            Some(at) => {
                // The value's header sits just before its bytes: rewrite header and bytes.
                let value_header = at.value_start - varint::size(at.end - at.value_start);
                varint::push(&mut encoded, value.len());
                encoded.extend_from_slice(value);
                super::splice_exact(&mut self.buf, COUNT_BYTES + value_header..COUNT_BYTES + at.end, &encoded);
                false
            }
            None => {
                push_pair(&mut encoded, field, value);
                let end = self.buf.len();
                super::splice_exact(&mut self.buf, end..end, &encoded);
                self.set_pairs(self.pairs() + 1);
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                super::splice_exact(&mut self.buf, COUNT_BYTES + at.start..COUNT_BYTES + at.end, &[]);
                self.set_pairs(self.pairs() - 1);
                true
            }
            None => false,
        }
    }
}

/// Appends one encoded pair to `out`.
fn push_pair(out: &mut Vec<u8>, field: &[u8], value: &[u8]) {
    varint::push(out, field.len());
    out.extend_from_slice(field);
    varint::push(out, value.len());
    out.extend_from_slice(value);
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
