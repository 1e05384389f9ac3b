//! Ziplists (parse only): the packed encoding of RDB versions before 10, still
//! found in old files (types 10, 12, 13) and inside quicklist v1 nodes (14).
//!
//! `<zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry>* <0xFF>`; each
//! entry is `<prevlen> <encoding> <data>`: prevlen is 1 byte (< 254) or 0xFE +
//! u32 LE. Encodings: `00pppppp` string up to 63 bytes; `01pppppp qqqqqqqq`
//! (14-bit, big-endian) string; `10______` + u32 big-endian string length;
//! 0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8 (little-endian);
//! 0xF1..=0xFD an immediate 0..=12.

use super::entry::Entry;
use super::error::{RdbError, RdbResult};

const HEADER_SIZE: usize = 10;
const END: u8 = 0xFF;
const BIG_PREVLEN: u8 = 0xFE;
const COUNT_UNKNOWN: u16 = u16::MAX;

fn corrupt(what: &str) -> RdbError {
    RdbError::msg(format!("Corrupt ziplist: {what}"))
}

/// Validates the whole ziplist (header size, tail offset, count, every
/// entry's bounds, encoding and prevlen, terminator) and returns its entries.
pub fn ziplist_entries(zl: &[u8]) -> RdbResult<Vec<Entry<'_>>> {
    if zl.len() < HEADER_SIZE + 1 {
        return Err(corrupt("shorter than its header"));
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    if total != zl.len() {
        return Err(corrupt("header size does not match the blob size"));
    }
    if zl[zl.len() - 1] != END {
        return Err(corrupt("missing terminator"));
    }
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;

    // Each entry takes at least 2 bytes.
    let mut out = Vec::with_capacity(if declared == COUNT_UNKNOWN { 0 } else { declared as usize }.min(zl.len() / 2));
    let mut pos = HEADER_SIZE;
    let mut prev_entry_len = 0usize;
    let mut last_entry_start = HEADER_SIZE;
    while pos < end {
        let start = pos;
        // prevlen
        let (prevlen, prevlen_size) = if zl[pos] < BIG_PREVLEN {
            (zl[pos] as usize, 1)
        } else if zl[pos] == BIG_PREVLEN {
            if pos + 5 > end {
                return Err(corrupt("entry extends past the end"));
            }
            (u32::from_le_bytes([zl[pos + 1], zl[pos + 2], zl[pos + 3], zl[pos + 4]]) as usize, 5)
        } else {
            return Err(corrupt("terminator before the end"));
        };
        if prevlen != prev_entry_len {
            return Err(corrupt("prevlen does not match the previous entry"));
        }
        pos += prevlen_size;
        if pos >= end {
            return Err(corrupt("entry extends past the end"));
        }
        let need = |from: usize, n: usize| -> RdbResult<()> {
            match from.checked_add(n) {
                Some(e) if e <= end => Ok(()),
                _ => Err(corrupt("entry extends past the end")),
            }
        };
        let enc = zl[pos];
        let (entry, size) = match enc >> 6 {
            0 => {
                let len = (enc & 0x3f) as usize;
                need(pos + 1, len)?;
                (Entry::Bytes(&zl[pos + 1..pos + 1 + len]), 1 + len)
            }
            1 => {
                need(pos, 2)?;
                let len = (((enc & 0x3f) as usize) << 8) | zl[pos + 1] as usize;
                need(pos + 2, len)?;
                (Entry::Bytes(&zl[pos + 2..pos + 2 + len]), 2 + len)
            }
            2 => {
                need(pos, 5)?;
                let len = u32::from_be_bytes([zl[pos + 1], zl[pos + 2], zl[pos + 3], zl[pos + 4]]) as usize;
                need(pos + 5, len)?;
                (Entry::Bytes(&zl[pos + 5..pos + 5 + len]), 5 + len)
            }
            _ => {
                let int_size = match enc {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return Err(corrupt("invalid entry encoding")),
                };
                need(pos + 1, int_size)?;
                let d = &zl[pos + 1..pos + 1 + int_size];
                let v = match enc {
                    0xC0 => i16::from_le_bytes([d[0], d[1]]) as i64,
                    0xD0 => i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64,
                    0xE0 => i64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]),
                    0xF0 => (i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64,
                    0xFE => d[0] as i8 as i64,
                    _ => (enc & 0x0f) as i64 - 1,
                };
                (Entry::Int(v), 1 + int_size)
            }
        };
        pos += size;
        prev_entry_len = pos - start;
        last_entry_start = start;
        out.push(entry);
    }
    if tail != last_entry_start {
        return Err(corrupt("tail offset does not point at the last entry"));
    }
    if declared != COUNT_UNKNOWN && declared as usize != out.len() {
        return Err(corrupt("element count does not match the header"));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test-only ziplist writer (Redis no longer writes ziplists), following
    /// ziplist.c's encoding choices.
    pub fn build_ziplist(items: &[Entry<'_>]) -> Vec<u8> {
        let mut zl = vec![0u8; HEADER_SIZE];
        let mut prev_len = 0usize;
        let mut tail = HEADER_SIZE;
        for item in items {
            let start = zl.len();
            tail = start;
            if prev_len < 254 {
                zl.push(prev_len as u8);
            } else {
                zl.push(BIG_PREVLEN);
                zl.extend_from_slice(&(prev_len as u32).to_le_bytes());
            }
            match *item {
                Entry::Bytes(s) => {
                    if s.len() < 64 {
                        zl.push(s.len() as u8);
                    } else if s.len() < 16384 {
                        zl.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8]);
                    } else {
                        zl.push(0x80);
                        zl.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    }
                    zl.extend_from_slice(s);
                }
                Entry::Int(v) => {
                    if (0..=12).contains(&v) {
                        zl.push(0xF1 + v as u8);
                    } else if let Ok(x) = i8::try_from(v) {
                        zl.push(0xFE);
                        zl.push(x as u8);
                    } else if let Ok(x) = i16::try_from(v) {
                        zl.push(0xC0);
                        zl.extend_from_slice(&x.to_le_bytes());
                    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                        zl.push(0xF0);
                        zl.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                    } else if let Ok(x) = i32::try_from(v) {
                        zl.push(0xD0);
                        zl.extend_from_slice(&x.to_le_bytes());
                    } else {
                        zl.push(0xE0);
                        zl.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            prev_len = zl.len() - start;
        }
        zl.push(END);
        let total = zl.len() as u32;
        zl[0..4].copy_from_slice(&total.to_le_bytes());
        zl[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        zl[8..10].copy_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        zl
    }

    #[test]
    fn known_redis_ziplist() {
        // "a", 1 assembled by hand from ziplist.c's layout rules.
        let zl: &[u8] = &[
            0x10, 0, 0, 0, // zlbytes 16
            0x0d, 0, 0, 0, // zltail 13
            0x02, 0, // 2 entries
            0x00, 0x01, b'a', // prevlen 0, 1-byte string "a"
            0x03, 0xF2, // prevlen 3, immediate 1
            0xff,
        ];
        assert_eq!(ziplist_entries(zl).unwrap(), vec![Entry::Bytes(b"a"), Entry::Int(1)]);
        assert_eq!(build_ziplist(&[Entry::Bytes(b"a"), Entry::Int(1)]), zl);
    }

    #[test]
    fn every_encoding_round_trips() {
        let big = vec![b'q'; 300];
        let huge = vec![b'r'; 20000];
        let items = vec![
            Entry::Bytes(b""),
            Entry::Bytes(b"hello"),
            Entry::Bytes(&big),
            Entry::Int(0),
            Entry::Int(12),
            Entry::Int(13),
            Entry::Int(-1),
            Entry::Int(-129),
            Entry::Int(40000),
            Entry::Int(-8388608),
            Entry::Int(8388608),
            Entry::Int(i64::MIN),
            Entry::Bytes(&huge),
            Entry::Int(i64::MAX),
        ];
        let zl = build_ziplist(&items);
        assert_eq!(ziplist_entries(&zl).unwrap(), items);
        let empty = build_ziplist(&[]);
        assert_eq!(empty.len(), 11);
        assert!(ziplist_entries(&empty).unwrap().is_empty());
    }

    #[test]
    fn corrupt_ziplists_are_errors() {
        let big = vec![b'q'; 300];
        let good = build_ziplist(&[Entry::Bytes(b"abc"), Entry::Bytes(&big), Entry::Int(70000), Entry::Int(3)]);
        assert!(ziplist_entries(&good).is_ok());
        for cut in 0..good.len() {
            assert!(ziplist_entries(&good[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = good.clone();
        bad[4] += 1; // tail
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[8] = 5; // count
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[15] = 9; // prevlen of the second entry (first entry is 5 bytes)
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = good.clone();
        bad[11] = 0xC1; // invalid integer encoding
        assert!(ziplist_entries(&bad).is_err());
        for i in 0..good.len() {
            for v in [0u8, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xd0, 0xe0, 0xf0, 0xfe, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = ziplist_entries(&m);
            }
        }
    }
}
