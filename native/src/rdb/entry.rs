//! The element type shared by the packed encodings (listpack, ziplist).

use super::numeric::{format_i64, MAX_I64_DIGITS};

/// One element of a listpack or ziplist: packed containers store strings that
/// look like canonical integers as integers, so an element is one or the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Entry<'a> {
    /// Appends the element's string form (integers as canonical decimal).
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match *self {
            Entry::Int(v) => {
                let mut digits = [0u8; MAX_I64_DIGITS];
                out.extend_from_slice(format_i64(v, &mut digits));
            }
            Entry::Bytes(b) => out.extend_from_slice(b),
        }
    }

    /// The element's string form, using `buf` for integers (no allocation).
    pub fn as_bytes<'b>(&self, buf: &'b mut [u8; MAX_I64_DIGITS]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Entry::Int(v) => format_i64(v, buf),
            Entry::Bytes(b) => b,
        }
    }
}
