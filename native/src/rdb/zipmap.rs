//! Zipmaps (parse only): the hash encoding of RDB files from Redis < 2.6
//! (type HASH_ZIPMAP). `<count byte> (<len> key <len> <free byte> value
//! <free bytes>)* <0xFF>`, where `<len>` is one byte below 254, or 254 + u32
//! little-endian, and the count byte is exact unless it is 254 ("unknown").

use super::error::{RdbError, RdbResult};

const BIGLEN: u8 = 254;
const END: u8 = 0xFF;

fn corrupt(what: &str) -> RdbError {
    RdbError::msg(format!("Corrupt zipmap: {what}"))
}

/// Reads a zipmap length at `pos`, returning (length, bytes used).
fn read_len(zm: &[u8], pos: usize) -> RdbResult<(usize, usize)> {
    match zm.get(pos) {
        Some(&b) if b < BIGLEN => Ok((b as usize, 1)),
        Some(&BIGLEN) => match zm.get(pos + 1..pos + 5) {
            Some(d) => Ok((u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize, 5)),
            None => Err(corrupt("entry extends past the end")),
        },
        Some(_) => Err(corrupt("invalid length")),
        None => Err(corrupt("entry extends past the end")),
    }
}

/// Validates a zipmap as Redis's zipmapValidateIntegrity does (bounds, not
/// empty, count byte, terminator as the last byte) and returns its pairs.
/// Duplicate fields are left to the caller, as in rdb.c.
pub fn zipmap_entries(zm: &[u8]) -> RdbResult<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 {
        return Err(corrupt("too short"));
    }
    let mut out = Vec::new();
    let mut pos = 1;
    loop {
        match zm.get(pos) {
            None => return Err(corrupt("missing terminator")),
            Some(&END) => break,
            Some(_) => {}
        }
        let (key_len, n) = read_len(zm, pos)?;
        pos += n;
        let key = zm.get(pos..pos.saturating_add(key_len)).ok_or_else(|| corrupt("entry extends past the end"))?;
        pos += key_len;
        let (value_len, n) = read_len(zm, pos)?;
        pos += n;
        let free = *zm.get(pos).ok_or_else(|| corrupt("entry extends past the end"))? as usize;
        pos += 1;
        let value =
            zm.get(pos..pos.saturating_add(value_len)).ok_or_else(|| corrupt("entry extends past the end"))?;
        pos = pos.saturating_add(value_len).saturating_add(free);
        if pos >= zm.len() {
            return Err(corrupt("entry extends past the end"));
        }
        out.push((key, value));
    }
    if out.is_empty() {
        return Err(corrupt("empty zipmap"));
    }
    // As zipmap.c: only 254 means "unknown"; any other byte must be the count.
    if zm[0] != BIGLEN && zm[0] as usize != out.len() {
        return Err(corrupt("element count does not match the header"));
    }
    if pos != zm.len() - 1 {
        return Err(corrupt("data after the terminator"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(pairs: &[(&[u8], &[u8], u8)]) -> Vec<u8> {
        let mut zm = vec![pairs.len().min(254) as u8];
        let push_len = |zm: &mut Vec<u8>, n: usize| {
            if n < 254 {
                zm.push(n as u8);
            } else {
                zm.push(BIGLEN);
                zm.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        for &(k, v, free) in pairs {
            push_len(&mut zm, k.len());
            zm.extend_from_slice(k);
            push_len(&mut zm, v.len());
            zm.push(free);
            zm.extend_from_slice(v);
            zm.extend(std::iter::repeat_n(0, free as usize));
        }
        zm.push(END);
        zm
    }

    #[test]
    fn parses_pairs_with_free_space_and_big_lengths() {
        // The zipmap.c example: "foo" => "bar", "hello" => "world".
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(zipmap_entries(zm).unwrap(), vec![(&b"foo"[..], &b"bar"[..]), (&b"hello"[..], &b"world"[..])]);
        let big = vec![b'v'; 300];
        let zm = build(&[(b"a", &big, 3), (b"b", b"", 0)]);
        assert_eq!(zipmap_entries(&zm).unwrap(), vec![(&b"a"[..], &big[..]), (&b"b"[..], &b""[..])]);
    }

    #[test]
    fn corrupt_zipmaps_are_errors() {
        let good = build(&[(b"field", b"value", 2), (b"k", b"v", 0)]);
        assert!(zipmap_entries(&good).is_ok());
        for cut in 0..good.len() {
            assert!(zipmap_entries(&good[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = good.clone();
        bad[0] = 3;
        assert!(zipmap_entries(&bad).is_err());
        let mut bad = good.clone();
        bad.push(0);
        assert!(zipmap_entries(&bad).is_err());
        assert!(zipmap_entries(b"\x00\xff").is_err()); // empty
        let mut bad = good.clone();
        bad[1] = 0xfe; // big length reading into the data
        assert!(zipmap_entries(&bad).is_err());
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0xfd, 0xfe, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = zipmap_entries(&m);
            }
        }
    }
}
