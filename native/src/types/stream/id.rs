//! Stream IDs: `<ms>-<seq>`, two unsigned 64-bit halves, ordered by ms then seq, and parsed
//! exactly as Redis's streamGenericParseIDOrReply parses them (string2ull: a strict integer
//! first, then strtoull's leniency: leading spaces, a sign, leading zeros).

use crate::numfmt;
use crate::rdb::numeric::push_u64;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The 128-bit big-endian form the radix trees and RDB files use.
    pub fn key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }

    pub fn from_key(k: &[u8]) -> Option<StreamId> {
        if k.len() != 16 {
            return None;
        }
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&k[..8]);
        seq.copy_from_slice(&k[8..]);
        Some(StreamId { ms: u64::from_be_bytes(ms), seq: u64::from_be_bytes(seq) })
    }

    /// streamIncrID; None past the greatest ID.
    pub fn next(&self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId { ms: self.ms, seq: self.seq + 1 })
        } else if self.ms < u64::MAX {
            Some(StreamId { ms: self.ms + 1, seq: 0 })
        } else {
            None
        }
    }

    /// streamDecrID; None before 0-0.
    pub fn prev(&self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId { ms: self.ms, seq: self.seq - 1 })
        } else if self.ms > 0 {
            Some(StreamId { ms: self.ms - 1, seq: u64::MAX })
        } else {
            None
        }
    }

    /// Appends `<ms>-<seq>`.
    pub fn push_text(&self, out: &mut Vec<u8>) {
        push_u64(out, self.ms);
        out.push(b'-');
        push_u64(out, self.seq);
    }

    pub fn text(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(41);
        self.push_text(&mut v);
        v
    }
}


/// Redis's string2ull: string2ll (refusing negatives), else strtoull over the whole string.
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = numfmt::parse_i64(s) {
        return (v >= 0).then_some(v as u64);
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut v: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.checked_mul(10)?.checked_add((s[i] - b'0') as u64)?;
        i += 1;
    }
    if i == digits_start || i != s.len() {
        return None;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// A parsed ID argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParsedId {
    pub id: StreamId,
    /// False for XADD's `<ms>-*` form (the sequence is to be generated).
    pub seq_given: bool,
}

/// The ID syntax variants Redis's commands accept.
#[derive(Clone, Copy, PartialEq)]
pub enum IdForm {
    /// `-` and `+` allowed (XRANGE bounds, XPENDING...).
    Lenient,
    /// `-` and `+` refused.
    Strict,
    /// Strict, and `<ms>-*` allowed (XADD).
    StrictSeqStar,
}

/// streamGenericParseIDOrReply: `<ms>[-<seq>]` (`missing_seq` when the sequence is omitted),
/// `-` / `+` unless strict. None is Redis's "Invalid stream ID" error.
pub fn parse_id(arg: &[u8], missing_seq: u64, form: IdForm) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    // Redis copies the argument into a C string: it ends at the first NUL.
    let s = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    if s == b"-" || s == b"+" {
        if form != IdForm::Lenient {
            return None;
        }
        let id = if s == b"-" { StreamId::ZERO } else { StreamId::MAX };
        return Some(ParsedId { id, seq_given: true });
    }
    let (ms_text, seq_text) = match s.iter().position(|&b| b == b'-') {
        Some(dash) => (&s[..dash], Some(&s[dash + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms_text)?;
    let (seq, seq_given) = match seq_text {
        Some(b"*") if form == IdForm::StrictSeqStar => (0, false),
        Some(t) => (string2ull(t)?, true),
        None => (missing_seq, true),
    };
    Some(ParsedId { id: StreamId { ms, seq }, seq_given })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, form: IdForm) -> Option<(u64, u64, bool)> {
        parse_id(s.as_bytes(), 7, form).map(|p| (p.id.ms, p.id.seq, p.seq_given))
    }

    #[test]
    fn parses_as_redis() {
        use IdForm::*;
        assert_eq!(p("1-2", Strict), Some((1, 2, true)));
        assert_eq!(p("5", Strict), Some((5, 7, true)));
        assert_eq!(p("-", Lenient), Some((0, 0, true)));
        assert_eq!(p("+", Lenient), Some((u64::MAX, u64::MAX, true)));
        assert_eq!(p("-", Strict), None);
        assert_eq!(p("3-*", StrictSeqStar), Some((3, 0, false)));
        assert_eq!(p("3-*", Strict), None);
        assert_eq!(p("18446744073709551615-18446744073709551615", Strict), Some((u64::MAX, u64::MAX, true)));
        assert_eq!(p("18446744073709551616", Strict), None);
        assert_eq!(p("-1", Strict), None);
        assert_eq!(p(" 5", Strict), Some((5, 7, true)));
        assert_eq!(p("+5", Strict), Some((5, 7, true)));
        assert_eq!(p("007-01", Strict), Some((7, 1, true)));
        assert_eq!(p("1-2-3", Strict), None);
        assert_eq!(p("", Strict), None);
        assert_eq!(p("1-", Strict), None);
        assert_eq!(p("abc", Strict), None);
        assert_eq!(p("1-x", Strict), None);
        assert_eq!(parse_id(b"5\0junk", 0, Strict).map(|p| p.id), Some(StreamId::new(5, 0)));
        assert_eq!(p(&"1".repeat(128), Strict), None);
    }

    #[test]
    fn neighbours() {
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::ZERO.prev(), None);
        assert_eq!(StreamId::new(12, 3).text(), b"12-3");
    }
}
