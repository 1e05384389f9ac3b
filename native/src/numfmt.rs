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

/// C's atoi: leading whitespace, an optional sign, then digits up to the first non-digit.
pub fn atoi(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || (b'\t'..=b'\r').contains(&s[i])) { i += 1; }
    let negative = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') { i += 1; }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.wrapping_mul(10).wrapping_add((s[i] - b'0') as i64);
        i += 1;
    }
    if negative { v.wrapping_neg() } else { v }
}

/// The decimal text of an integer on the stack, for building a command's arguments
/// (propagated rewrites) without allocating.
pub struct IntText {
    buf: [u8; numeric::MAX_I64_DIGITS],
    start: usize,
}

impl IntText {
    pub fn new(n: i64) -> Self {
        let mut buf = [0u8; numeric::MAX_I64_DIGITS];
        let start = numeric::MAX_I64_DIGITS - numeric::format_i64(n, &mut buf).len();
        IntText { buf, start }
    }
}

impl std::ops::Deref for IntText {
    type Target = [u8];
    fn deref(&self) -> &[u8] { &self.buf[self.start..] }
}

pub fn i64_to_vec(n: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    push_i64(&mut v, n);
    v
}

/// printf("%.17g") as Redis 7.0's addReplyDouble uses for doubles in replies (ZSCORE, a
/// script's {double=...}), glibc's spellings included: "inf", "-inf", and NaN with its sign
/// ("-nan" for Lua's 0/0, whose NaN has the sign bit set on x86-64). 7.2's fpconv drops that
/// sign; 7.0's snprintf keeps it.
pub fn push_double(out: &mut Vec<u8>, d: f64) {
    let mut buf = [0u8; numeric::G17_BUF_LEN];
    let n = numeric::format_double_g17(d, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

/// printf("%.<precision>g", d) as glibc prints it (precision 1..=17): the shorter of the
/// fixed and exponent forms by C's rule, trailing zeros dropped, "inf"/"-inf"/"nan"/"-nan".
pub fn push_g(out: &mut Vec<u8>, d: f64, precision: usize) {
    if d.is_nan() {
        out.extend_from_slice(if d.is_sign_negative() { b"-nan" } else { b"nan" });
        return;
    }
    if d.is_infinite() {
        out.extend_from_slice(if d < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let p = precision.clamp(1, 17);
    // The exponent style tells the decimal exponent after rounding to p digits.
    let e_form = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = e_form.split_once('e').unwrap_or((&e_form, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if x < -4 || x >= p as i32 {
        out.extend_from_slice(trim_fraction(mantissa).as_bytes());
        out.push(b'e');
        out.push(if x < 0 { b'-' } else { b'+' });
        let digits = x.unsigned_abs().to_string();
        if digits.len() < 2 {
            out.push(b'0');
        }
        out.extend_from_slice(digits.as_bytes());
    } else {
        let fixed = format!("{:.*}", (p as i32 - 1 - x).max(0) as usize, d);
        out.extend_from_slice(trim_fraction(&fixed).as_bytes());
    }
}

/// "1.500" -> "1.5", "2.000" -> "2", "10" -> "10".
fn trim_fraction(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"  -5x"), -5);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"+7"), 7);
        assert_eq!(atoi(b"3\r\n"), 3);
    }
    fn g(d: f64) -> String { let mut v = Vec::new(); push_double(&mut v, d); String::from_utf8(v).unwrap() }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b"01"[..], b"+1", b" 1", b"1 ", b"-0", b"", b"-", b"1.0"] { assert_eq!(parse_i64(bad), None, "{:?}", bad); }
    }

    fn gp(d: f64, p: usize) -> String { let mut v = Vec::new(); push_g(&mut v, d, p); String::from_utf8(v).unwrap() }

    #[test]
    fn percent_g_with_precision() {
        assert_eq!(gp(0.1, 14), "0.1");
        assert_eq!(gp(1e15, 14), "1e+15");
        assert_eq!(gp(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(gp(100000000000000.0, 14), "1e+14");
        assert_eq!(gp(12345678901234.0, 14), "12345678901234");
        assert_eq!(gp(0.0001, 14), "0.0001");
        assert_eq!(gp(0.00001, 14), "1e-05");
        assert_eq!(gp(-0.0, 14), "-0");
        assert_eq!(gp(3.14159, 3), "3.14");
        assert_eq!(gp(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(gp(f64::INFINITY, 14), "inf");
        assert_eq!(gp(2.5, 1), "2");
        assert_eq!(gp(9.99999, 3), "10");
    }

    #[test]
    fn percent_17g() {
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(f64::NAN), "nan");
        assert_eq!(g(-f64::NAN), "-nan");
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
