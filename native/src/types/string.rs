//! String values with Redis's three encodings: `int` (a canonical decimal i64), `embstr`
//! (created whole, up to 44 bytes) and `raw` (longer, or modified in place by APPEND/SETRANGE/SETBIT).
//! An embstr of up to 15 bytes lives inside the value itself, with no allocation: the value
//! stays 24 bytes (the bytes fit beside the niche of the raw variant's Vec).
//!
//! API for the RDB writer / DEBUG DIGEST / DUMP: `encoding()`, `len()`, `with_bytes(|b| ..)`
//! (the decimal text for `int`), `as_i64()`; constructors `from_bytes` (tryObjectEncoding rules),
//! `from_i64`, `from_text` (never int), `from_raw` (always raw).

use crate::numfmt;
use std::sync::atomic::{AtomicBool, Ordering};

const EMBSTR_MAX: usize = 44;
/// Embstrs up to this long are kept inline.
const INLINE_MAX: usize = 15;

/// Integers in [0, SHARED_INTEGERS) are Redis's shared objects (OBJECT REFCOUNT reports INT_MAX).
pub const SHARED_INTEGERS: i64 = 10000;

/// Whether integers created now in [0, SHARED_INTEGERS) are the shared objects: not while
/// maxmemory is set with an LRU or LFU policy (Redis's MAXMEMORY_FLAG_NO_SHARED_INTEGERS: each
/// value needs its own access clock). Decided when a value is created, as in Redis.
static SHARING_INTEGERS: AtomicBool = AtomicBool::new(true);

/// Called whenever maxmemory or maxmemory-policy changes (settings.rs).
pub fn set_sharing_integers(on: bool) { SHARING_INTEGERS.store(on, Ordering::Relaxed) }

#[derive(Clone)]
pub enum StrVal {
    /// An int-encoded value; in [0, SHARED_INTEGERS) it is a shared object.
    Int(i64),
    /// An int-encoded value in the shared range that is an object of its own (refcount 1):
    /// COPY's duplicate, or created while integers were not shared.
    OwnInt(i64),
    /// An embstr of at most INLINE_MAX bytes, inline.
    Small { len: u8, bytes: [u8; INLINE_MAX] },
    Emb(Box<[u8]>),
    Raw(Vec<u8>),
}

/// The decimal text of `n` written into `buf`, returned as the used slice (no allocation).
#[inline]
pub fn format_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 { break; }
    }
    if neg {
        // i64::MIN has 19 digits plus the sign: it still fits the 20-byte buffer.
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

fn decimal_len(n: i64) -> usize {
    let mut v = n.unsigned_abs();
    let mut digits = 1;
    while v >= 10 {
        v /= 10;
        digits += 1;
    }
    digits + (n < 0) as usize
}

impl StrVal {
    /// A string created whole from bytes (SET, MSET...): Redis's tryObjectEncoding.
    pub fn from_bytes(b: &[u8]) -> StrVal {
        if b.len() <= 20 {
            if let Some(n) = numfmt::parse_i64(b) { return Self::from_i64(n); }
        }
        Self::from_text(b)
    }

    /// `from_bytes` of a buffer the caller hands over (a decompressed RDB string): a raw
    /// string keeps it instead of copying it.
    pub fn from_vec(v: Vec<u8>) -> StrVal {
        if v.len() > EMBSTR_MAX { StrVal::Raw(v) } else { Self::from_bytes(&v) }
    }

    /// The result of INCR/DECR: always int-encoded (Redis's createStringObjectFromLongLongForValue).
    pub fn from_i64(n: i64) -> StrVal {
        if (0..SHARED_INTEGERS).contains(&n) && !SHARING_INTEGERS.load(Ordering::Relaxed) { StrVal::OwnInt(n) } else { StrVal::Int(n) }
    }

    /// COPY's duplicate (Redis's dupStringObject): the same encoding, but never a shared object.
    pub fn duplicate(&self) -> StrVal {
        match self {
            StrVal::Int(n) => StrVal::OwnInt(*n),
            other => other.clone(),
        }
    }

    /// A string built by a command that produces text (INCRBYFLOAT): never int-encoded by Redis.
    pub fn from_text(b: &[u8]) -> StrVal {
        if b.len() <= INLINE_MAX {
            let mut bytes = [0u8; INLINE_MAX];
            bytes[..b.len()].copy_from_slice(b);
            StrVal::Small { len: b.len() as u8, bytes }
        } else if b.len() <= EMBSTR_MAX {
            StrVal::Emb(b.into())
        } else {
            StrVal::Raw(b.to_vec())
        }
    }

    /// A string Redis builds as a raw sds (SETRANGE/SETBIT on a new key, BITOP's result).
    pub fn from_raw(v: Vec<u8>) -> StrVal { StrVal::Raw(v) }

    /// The heap the value holds beyond its entry (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match self {
            StrVal::Int(_) | StrVal::OwnInt(_) | StrVal::Small { .. } => 0,
            StrVal::Emb(b) => crate::alloc::chunk_size(b.len()),
            StrVal::Raw(v) => if v.capacity() == 0 { 0 } else { crate::alloc::chunk_size(v.capacity()) },
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            StrVal::Int(_) | StrVal::OwnInt(_) => "int",
            StrVal::Small { .. } | StrVal::Emb(_) => "embstr",
            StrVal::Raw(_) => "raw",
        }
    }

    /// True for the values Redis stores as a shared integer object (OBJECT REFCOUNT = INT_MAX),
    /// with the default maxmemory settings.
    pub fn is_shared_integer(&self) -> bool {
        matches!(self, StrVal::Int(n) if (0..SHARED_INTEGERS).contains(n))
    }

    pub fn len(&self) -> usize {
        match self {
            StrVal::Int(n) | StrVal::OwnInt(n) => decimal_len(*n),
            StrVal::Small { len, .. } => *len as usize,
            StrVal::Emb(b) => b.len(),
            StrVal::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool { self.len() == 0 }

    /// Calls `f` with the bytes of the string (an int is formatted on the stack).
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrVal::Int(n) | StrVal::OwnInt(n) => {
                let mut buf = [0u8; 20];
                f(format_i64(*n, &mut buf))
            }
            StrVal::Small { len, bytes } => f(&bytes[..*len as usize]),
            StrVal::Emb(b) => f(b),
            StrVal::Raw(v) => f(v),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> { self.with_bytes(|b| b.to_vec()) }

    /// The value as an integer, as INCR reads it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrVal::Int(n) | StrVal::OwnInt(n) => Some(*n),
            other => other.with_bytes(numfmt::parse_i64),
        }
    }

    /// Turns the value into a raw, growable byte vector (APPEND, SETRANGE, SETBIT).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrVal::Raw(_)) {
            let bytes = self.to_vec();
            *self = StrVal::Raw(bytes);
        }
        match self {
            StrVal::Raw(v) => v,
            // make_raw just stored a Raw value above.
            _ => unreachable!("just made raw"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_text_and_len() {
        for n in [0i64, 7, -7, 10, 9999, -10000, i64::MAX, i64::MIN] {
            let v = StrVal::from_i64(n);
            assert_eq!(v.len(), n.to_string().len());
            assert_eq!(v.to_vec(), n.to_string().into_bytes());
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(StrVal::from_bytes(b"123").encoding(), "int");
        assert_eq!(StrVal::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(StrVal::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrVal::from_bytes(b"abc").encoding(), "embstr");
        assert_eq!(StrVal::from_bytes(b"abc").to_vec(), b"abc");
        assert_eq!(StrVal::from_bytes(&[b'a'; 15]).heap_bytes(), 0);
        assert_eq!(std::mem::size_of::<StrVal>(), 24);
        assert_eq!(StrVal::from_bytes(&[b'a'; 45]).encoding(), "raw");
        assert!(StrVal::from_bytes(b"9999").is_shared_integer());
        assert!(!StrVal::from_bytes(b"10000").is_shared_integer());
        assert!(!StrVal::from_bytes(b"-1").is_shared_integer());
        assert!(!StrVal::from_bytes(b"42").duplicate().is_shared_integer());
        assert_eq!(StrVal::from_bytes(b"42").duplicate().encoding(), "int");
        for v in [&b"123"[..], b"0123", &[b'a'; 44], &[b'a'; 45]] {
            let owned = StrVal::from_vec(v.to_vec());
            assert_eq!(owned.encoding(), StrVal::from_bytes(v).encoding());
            owned.with_bytes(|b| assert_eq!(b, v));
        }
    }
}
