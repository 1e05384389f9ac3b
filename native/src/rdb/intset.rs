//! Intsets (RDB type SET_INTSET): `<encoding u32 LE> <length u32 LE>
//! <values>`, values sorted ascending, unique, all stored in the smallest
//! width (2, 4 or 8 bytes, little-endian) that fits every one of them.

use super::error::{RdbError, RdbResult};

const HEADER_SIZE: usize = 8;

fn corrupt(what: &str) -> RdbError {
    RdbError::msg(format!("Corrupt intset: {what}"))
}

/// The width Redis picks for a value (`_intsetValueEncoding`).
fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// Sorts and de-duplicates `values` in place, then appends the intset to
/// `out`. Returns the number of bytes appended.
pub fn encode_intset(values: &mut Vec<i64>, out: &mut Vec<u8>) -> usize {
    values.sort_unstable();
    values.dedup();
    encode_sorted_intset(values, out)
}

/// Appends an intset for values the caller already holds sorted and unique
/// (checked: unsorted input is sorted into a copy first).
pub fn encode_sorted_intset(values: &[i64], out: &mut Vec<u8>) -> usize {
    if !values.windows(2).all(|w| w[0] < w[1]) {
        let mut copy = values.to_vec();
        return encode_intset(&mut copy, out);
    }
    let width = match (values.first(), values.last()) {
        (Some(&lo), Some(&hi)) => width_of(lo).max(width_of(hi)),
        _ => 2,
    };
    let start = out.len();
    out.reserve(HEADER_SIZE + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out.len() - start
}

/// Validates an intset the way Redis 7.0 does on load (known width, size
/// matching the count, not empty, strictly ascending) and returns its values.
pub fn intset_values(blob: &[u8]) -> RdbResult<Vec<i64>> {
    if blob.len() < HEADER_SIZE {
        return Err(corrupt("shorter than its header"));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(corrupt("invalid encoding"));
    }
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if Some(blob.len()) != count.checked_mul(width).and_then(|n| n.checked_add(HEADER_SIZE)) {
        return Err(corrupt("size does not match the element count"));
    }
    if count == 0 {
        return Err(corrupt("empty intset"));
    }
    let values: Vec<i64> = blob[HEADER_SIZE..]
        .chunks_exact(width)
        .map(|c| match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        })
        .collect();
    if !values.windows(2).all(|w| w[0] < w[1]) {
        return Err(corrupt("values not sorted and unique"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_7_0_intset() {
        // SADD si 5 -3 100000 on Redis 7.0.15, as saved in dump.rdb.
        let redis: &[u8] = &[4, 0, 0, 0, 3, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 5, 0, 0, 0, 0xa0, 0x86, 0x01, 0x00];
        let mut values = vec![5, -3, 100000, 5];
        let mut out = Vec::new();
        assert_eq!(encode_intset(&mut values, &mut out), 20);
        assert_eq!(out, redis);
        assert_eq!(intset_values(redis).unwrap(), vec![-3, 5, 100000]);
    }

    #[test]
    fn picks_smallest_width() {
        for (vals, width) in [
            (vec![1i64, -32768, 32767], 2u8),
            (vec![32768], 4),
            (vec![-32769, 0], 4),
            (vec![i32::MAX as i64 + 1], 8),
            (vec![i64::MIN, i64::MAX], 8),
        ] {
            let mut v = vals.clone();
            let mut out = Vec::new();
            encode_intset(&mut v, &mut out);
            assert_eq!(out[0], width);
            let mut sorted = vals.clone();
            sorted.sort();
            assert_eq!(intset_values(&out).unwrap(), sorted);
        }
        let mut out = Vec::new();
        encode_sorted_intset(&[3, 1, 2], &mut out);
        assert_eq!(intset_values(&out).unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn corrupt_intsets_are_errors() {
        let mut out = Vec::new();
        encode_intset(&mut vec![1, 2, 3], &mut out);
        for cut in 0..out.len() {
            assert!(intset_values(&out[..cut]).is_err());
        }
        let mut bad = out.clone();
        bad[0] = 3;
        assert!(intset_values(&bad).is_err());
        let mut bad = out.clone();
        bad[4] = 4;
        assert!(intset_values(&bad).is_err());
        let mut bad = out.clone();
        bad[4] = 0xff;
        bad[5] = 0xff;
        bad[6] = 0xff;
        bad[7] = 0xff;
        assert!(intset_values(&bad).is_err());
        let mut bad = out.clone();
        bad[10] = 1; // 1, 1, 3: duplicate
        assert!(intset_values(&bad).is_err());
        let mut bad = out.clone();
        bad[8] = 9; // 9, 2, 3: unsorted
        assert!(intset_values(&bad).is_err());
        assert!(intset_values(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err()); // empty
    }
}
