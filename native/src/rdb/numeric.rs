//! Number <-> text conversions with Redis's exact rules. They decide encodings
//! (whether a string is stored as an integer) and digest inputs, so they must
//! agree with Redis byte for byte.

use std::fmt::Write as _;

/// Longest decimal form of an i64: "-9223372036854775808".
pub const MAX_I64_DIGITS: usize = 20;

/// Redis's `string2ll`: succeeds only for a canonical decimal integer that fits
/// an i64 — no sign other than a leading '-', no leading zeros, no "-0", no
/// spaces, 1 to 20 bytes. Exactly the strings whose round trip through an
/// integer gives back the same bytes.
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > MAX_I64_DIGITS {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if negative {
        if magnitude > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Redis's `ll2string`: decimal form of `value` into `buf`, returning the used
/// prefix. No allocation.
pub fn format_i64(value: i64, buf: &mut [u8; MAX_I64_DIGITS]) -> &[u8] {
    let mut pos = buf.len();
    let mut magnitude = value.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// Appends the decimal form of `value` to `out`.
pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    let mut buf = [0u8; MAX_I64_DIGITS];
    out.extend_from_slice(format_i64(value, &mut buf));
}

/// Room for any `%.17g` output: sign, 17 digits, point, "e-308".
pub const G17_BUF_LEN: usize = 32;

/// A fixed-capacity `fmt::Write` sink, so formatting a float never allocates.
struct StackWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl std::fmt::Write for StackWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(std::fmt::Error)?;
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// C's `printf("%.17g", value)` as glibc prints it: 17 significant digits,
/// trailing zeros removed, exponent form ("1e+20", "2.9802322387695312e-08")
/// when the decimal exponent is < -4 or >= 17; "inf", "-inf", "nan", "-0".
/// Redis 7.0 uses this for zset scores in DEBUG DIGEST and for double replies.
/// Returns the number of bytes written into `buf`.
pub fn format_double_g17(value: f64, buf: &mut [u8; G17_BUF_LEN]) -> usize {
    if value.is_nan() {
        let text: &[u8] = if value.is_sign_negative() { b"-nan" } else { b"nan" };
        buf[..text.len()].copy_from_slice(text);
        return text.len();
    }
    if value.is_infinite() {
        let text: &[u8] = if value < 0.0 { b"-inf" } else { b"inf" };
        buf[..text.len()].copy_from_slice(text);
        return text.len();
    }
    // Rust's `{:e}` with a precision rounds exactly (ties to even), like glibc,
    // so one rounding to 17 significant digits serves both %g layouts.
    let mut sci = [0u8; G17_BUF_LEN];
    let mut writer = StackWriter { buf: &mut sci, len: 0 };
    if write!(writer, "{:.16e}", value.abs()).is_err() {
        return 0; // unreachable: 17 digits, point and exponent fit
    }
    let sci_len = writer.len;
    let sci = &sci[..sci_len];
    // sci is "D.DDDDDDDDDDDDDDDDe<exp>"
    let e_pos = match sci.iter().position(|&c| c == b'e') {
        Some(p) => p,
        None => return 0,
    };
    let mut digits = [0u8; 17];
    digits[0] = sci[0];
    digits[1..].copy_from_slice(&sci[2..e_pos]);
    let exponent = parse_small_exponent(&sci[e_pos + 1..]);
    // Significant digits after removing trailing zeros (at least one).
    let mut ndigits = 17;
    while ndigits > 1 && digits[ndigits - 1] == b'0' {
        ndigits -= 1;
    }

    let mut len = 0;
    let mut put = |byte: u8, len: &mut usize| {
        buf[*len] = byte;
        *len += 1;
    };
    if value.is_sign_negative() {
        put(b'-', &mut len);
    }
    // %g's rule: exponent form when the exponent is below -4 or at least the precision.
    if !(-4..17).contains(&exponent) {
        put(digits[0], &mut len);
        if ndigits > 1 {
            put(b'.', &mut len);
            for &d in &digits[1..ndigits] {
                put(d, &mut len);
            }
        }
        put(b'e', &mut len);
        put(if exponent < 0 { b'-' } else { b'+' }, &mut len);
        let magnitude = exponent.unsigned_abs();
        if magnitude >= 100 {
            put(b'0' + (magnitude / 100) as u8, &mut len);
        }
        put(b'0' + ((magnitude / 10) % 10) as u8, &mut len);
        put(b'0' + (magnitude % 10) as u8, &mut len);
    } else if exponent >= 0 {
        let int_digits = exponent as usize + 1;
        // exponent <= 16, so all integer digits are among the 17 (zeros included).
        for &d in &digits[..int_digits] {
            put(d, &mut len);
        }
        if ndigits > int_digits {
            put(b'.', &mut len);
            for &d in &digits[int_digits..ndigits] {
                put(d, &mut len);
            }
        }
    } else {
        put(b'0', &mut len);
        put(b'.', &mut len);
        for _ in 0..(-exponent - 1) {
            put(b'0', &mut len);
        }
        for &d in &digits[..ndigits] {
            put(d, &mut len);
        }
    }
    len
}

fn parse_small_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits.iter().fold(0i32, |acc, &d| acc * 10 + (d - b'0') as i32);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g17(v: f64) -> String {
        let mut buf = [0u8; G17_BUF_LEN];
        let n = format_double_g17(v, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn canonical_integers() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"12345"), Some(12345));
        assert_eq!(parse_canonical_i64(b"-1"), Some(-1));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..], b"-", b"-0", b"01", b"+1", b" 1", b"1 ", b"1a", b"9223372036854775808",
            b"-9223372036854775809", b"18446744073709551616", b"00", b"1.0", b"123456789012345678901",
        ] {
            assert_eq!(parse_canonical_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn integer_formatting_round_trips() {
        let mut buf = [0u8; MAX_I64_DIGITS];
        for v in [0, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN, i64::MIN + 1] {
            let text = format_i64(v, &mut buf);
            assert_eq!(text, v.to_string().as_bytes());
            assert_eq!(parse_canonical_i64(text), Some(v));
        }
    }

    #[test]
    fn g17_matches_glibc_printf() {
        // Expected strings produced by glibc printf("%.17g").
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (3.0, "3"),
            (-2.5, "-2.5"),
            (1e20, "1e+20"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (2f64.powi(-25), "2.9802322387695312e-08"), // 2^-25: an exact tie at 17 digits, rounded to even
            (1e300, "1.0000000000000001e+300"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (123.456, "123.456"),
            (1.0 / 3.0, "0.33333333333333331"),
            (100.0, "100"),
        ];
        for &(v, want) in cases {
            assert_eq!(g17(v), want, "value {v:e}");
        }
    }
}
