//! Number parsing and formatting with Redis's exact rules (util.c: string2ll, ld2string,
//! and the %.17g formatting of doubles), shared by every data type.

/// Redis's string2ll: an optional '-', then digits with no leading zeros (except "0"),
/// no '+', no spaces, within i64. Anything else is not an integer.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 { return None; }
    if s.len() == 1 && s[0] == b'0' { return Some(0); }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] < b'1' || digits[0] > b'9' { return None; }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() { return None; }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 { None } else { Some((v as i64).wrapping_neg()) }
    } else if v > i64::MAX as u64 { None } else { Some(v as i64) }
}

pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || s[0] == b'-' { return None; }
    if s.len() == 1 && s[0] == b'0' { return Some(0); }
    if s[0] < b'1' || s[0] > b'9' { return None; }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() { return None; }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
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

pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 { break; }
    }
    if neg { out.push(b'-'); }
    out.extend_from_slice(&tmp[i..]);
}

pub fn i64_to_vec(n: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    push_i64(&mut v, n);
    v
}

/// printf("%.17g") as Redis uses for doubles in replies (ZSCORE and friends), with "inf",
/// "-inf" and "nan" spelled as Redis spells them. The one %.17g implementation is
/// `rdb::numeric::format_double_g17` (no allocation); only NaN's sign is dropped here.
pub fn push_double(out: &mut Vec<u8>, d: f64) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    let mut buf = [0u8; crate::rdb::numeric::G17_BUF_LEN];
    let n = crate::rdb::numeric::format_double_g17(d, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

/// printf("%.{precision}g") for any precision (allocates; `push_double` is the fast %.17g).
pub fn push_g(out: &mut Vec<u8>, d: f64, precision: usize) {
    if d.is_nan() { out.extend_from_slice(b"nan"); return; }
    if d.is_infinite() { out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" }); return; }
    if d == 0.0 {
        out.extend_from_slice(if d.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    if exp < -4 || exp >= p as i32 {
        let m = trim_fraction(mantissa);
        out.extend_from_slice(m.as_bytes());
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 { out.push(b'0'); }
        out.extend_from_slice(e.to_string().as_bytes());
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let fixed = format!("{:.*}", decimals, d);
        out.extend_from_slice(trim_fraction(&fixed).as_bytes());
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

pub fn double_to_vec(d: f64) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    push_double(&mut v, d);
    v
}

/// INCRBYFLOAT / HINCRBYFLOAT formatting (Redis's ld2string in LD_STR_HUMAN mode): fixed
/// notation with up to 17 fractional digits, trailing zeros removed, "-0" printed as "0".
pub fn human_double(d: f64) -> Vec<u8> {
    if d.is_infinite() { return if d > 0.0 { b"inf".to_vec() } else { b"-inf".to_vec() }; }
    // Redis uses long double and %.17Lf; f64 with the shortest round-trip representation gives
    // the same text for the values a f64 can hold, without long double's extra digits.
    let s = format!("{}", d);
    let s = if s.contains('e') { format!("{:.17}", d) } else { s };
    let t = trim_fraction(&s);
    if t == "-0" { b"0".to_vec() } else { t.as_bytes().to_vec() }
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
        assert_eq!(human_double(10.5), b"10.5");
        assert_eq!(human_double(3.0e3), b"3000");
    }
}
