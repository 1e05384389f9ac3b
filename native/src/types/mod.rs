//! The value types, one file each. `Value` is what an entry holds; each type reports the
//! encoding Redis 7.0 would use for the same data (OBJECT ENCODING, and the RDB writer).

pub mod geo;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod stream;
pub mod string;
pub mod varint;
pub mod zset;

/// True when two of `items` are equal (a loaded payload repeating a field or member): sorts
/// the borrowed slices, no copy of their bytes and no table.
pub fn any_repeated<'a>(items: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut sorted: Vec<&[u8]> = items.collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// Replaces `buf[range]` with `with`, leaving the buffer at its exact new size: the small
/// packed encodings (listpack hashes and sorted sets, intsets) are resized on every write, as Redis resizes a
/// listpack or an intset, so that they never carry spare capacity.
pub fn splice_exact(buf: &mut Box<[u8]>, range: std::ops::Range<usize>, with: &[u8]) {
    let mut v = Vec::from(std::mem::take(buf));
    if with.len() > range.len() { v.reserve_exact(with.len() - range.len()); }
    v.splice(range, with.iter().copied());
    *buf = v.into_boxed_slice();
}

/// Makes room in `buf` for `additional` more bytes, leaving at most an eighth of its size spare
/// (rounded up to what the malloc chunk holds anyway): for buffers that grow a little at a time
/// (a list's end chunks, a sparse HLL), so they carry little unused room (Vec's doubling
/// would leave up to half) while still reallocating only once per eighth of growth.
pub fn reserve_with_slack(buf: &mut Vec<u8>, additional: usize) {
    let need = buf.len() + additional;
    if need <= buf.capacity() { return; }
    let usable = crate::alloc::chunk_size(need + need / 8) - 8;
    buf.reserve_exact(usable - buf.len());
}

/// A key's value. Lists, hashes, sets and sorted sets are 16-byte handles held inline (their
/// small encodings are one exact-size buffer each, as a listpack or an intset hangs off a
/// 16-byte robj in Redis);
/// the value stays 24 bytes (a test checks it).
#[derive(Clone)]
pub enum Value {
    Str(string::StrVal),
    List(list::List),
    Hash(hash::Hash),
    Set(set::Set),
    ZSet(zset::ZSet),
    Stream(Box<stream::Stream>),
}

impl Value {
    /// The TYPE reply.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// A collection with no elements left (Redis deletes such a key at once).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.len() == 0,
            Value::ZSet(z) => z.is_empty(),
            // An emptied stream stays (its IDs and groups still matter), as in Redis.
            Value::Stream(_) => false,
        }
    }

    /// MEMORY USAGE's estimate of the heap a value holds (collections averaged over `samples`
    /// table entries, as Redis's objectComputeSize).
    pub fn memory_usage(&self, samples: usize) -> usize {
        use crate::alloc::chunk_size;
        use std::mem::size_of;
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => l.memory_usage(),
            Value::Hash(h) => h.memory_usage(samples),
            Value::Set(s) => s.memory_usage(samples),
            Value::ZSet(z) => z.memory_usage(samples),
            Value::Stream(s) => chunk_size(size_of::<stream::Stream>()) + s.memory_usage(),
        }
    }

    /// DEBUG HTSTATS-KEY's text, for the values Redis keeps in a dict.
    pub fn table_stats(&self) -> Option<String> {
        match self {
            Value::Hash(h) => h.table_stats(),
            Value::Set(s) => s.table_stats(),
            Value::ZSet(z) => z.table_stats(),
            Value::Str(_) | Value::List(_) | Value::Stream(_) => None,
        }
    }

    /// The OBJECT ENCODING reply.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_value_is_24_bytes() {
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
    }

    #[test]
    fn splice_exact_leaves_no_spare_room() {
        let mut b: Box<[u8]> = Box::new(*b"abcdef");
        super::splice_exact(&mut b, 2..4, b"XYZW");
        assert_eq!(&*b, b"abXYZWef");
        super::splice_exact(&mut b, 0..3, b"");
        assert_eq!(&*b, b"YZWef");
        super::splice_exact(&mut b, 5..5, b"!");
        assert_eq!(&*b, b"YZWef!");
    }

    #[test]
    fn any_repeated_finds_equal_items_anywhere() {
        let items: [&[u8]; 4] = [b"b", b"a", b"ab", b"c"];
        assert!(!super::any_repeated(items.iter().copied()));
        let items: [&[u8]; 4] = [b"b", b"a", b"ab", b"b"];
        assert!(super::any_repeated(items.iter().copied()));
        assert!(!super::any_repeated(std::iter::empty()));
    }
}
