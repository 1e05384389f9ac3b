//! Number parsing and formatting with Redis's exact rules (util.c's string2ll and the %.17g
//! formatting of doubles), for every data command. The byte-level implementations live in
//! `rdb::numeric` (the RDB format needs the very same rules); this is the commands' front door.

use crate::rdb::numeric;

/// Redis's string2ll: an optional '-', then digits with no leading zeros (except "0"),
/// no '+', no spaces, within i64. Anything else is not an integer.
#[inline]
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    numeric::parse_canonical_i64(s)
}

/// Redis's string2ld/strtod acceptance for commands taking a float (INCRBYFLOAT, ZADD scores):
/// no leading/trailing space, "inf"/"-inf"/"+inf" (case-insensitive) accepted, "nan" rejected,
/// hex and the like rejected. Returns None when not a valid float.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5000 { return None; }
    if s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() { return None; }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let body = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    match body {
        "inf" | "infinity" => return Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }),
        _ => {}
    }
    // Only decimal syntax: digits, one '.', an exponent. Rust's parser accepts exactly that
    // (plus "inf"/"nan" handled above and rejected below).
    if !body.bytes().all(|c| c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'+' || c == b'-') { return None; }
    let v: f64 = text.parse().ok()?;
    if v.is_nan() { None } else { Some(v) }
}

#[inline]
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    numeric::push_i64(out, n);
}

pub fn i64_to_vec(n: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    push_i64(&mut v, n);
    v
}

/// printf("%.17g") as Redis uses for doubles in replies (ZSCORE and friends), with "inf",
/// "-inf" and "nan" spelled as Redis spells them (NaN's sign dropped).
pub fn push_double(out: &mut Vec<u8>, d: f64) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    let mut buf = [0u8; numeric::G17_BUF_LEN];
    let n = numeric::format_double_g17(d, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    fn g(d: f64) -> String { let mut v = Vec::new(); push_double(&mut v, d); String::from_utf8(v).unwrap() }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b"01"[..], b"+1", b" 1", b"1 ", b"-0", b"", b"-", b"1.0"] { assert_eq!(parse_i64(bad), None, "{:?}", bad); }
    }

    #[test]
    fn percent_17g() {
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(0.1), "0.10000000000000001");
        assert_eq!(g(1e20), "1e+20");
        assert_eq!(g(123456789.0), "123456789");
        assert_eq!(g(1e-5), "1.0000000000000001e-05");
        assert_eq!(g(f64::INFINITY), "inf");
        assert_eq!(g(-3.0), "-3");
        assert_eq!(g(1e16), "10000000000000000");
        assert_eq!(g(1e17), "1e+17");
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"0x10"), None);
    }
}
