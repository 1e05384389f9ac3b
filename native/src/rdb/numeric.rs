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
    let pos = buf.len() - write_digits(value.unsigned_abs(), buf);
    if value < 0 {
        buf[pos - 1] = b'-';
        return &buf[pos - 1..];
    }
    &buf[pos..]
}

/// The digits of `v` at the end of `buf`; returns how many.
fn write_digits(mut v: u64, buf: &mut [u8; MAX_I64_DIGITS]) -> usize {
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.len() - pos
}

/// Appends the decimal form of an unsigned `value` (`ull2string`).
pub fn push_u64(out: &mut Vec<u8>, value: u64) {
    let mut buf = [0u8; MAX_I64_DIGITS];
    let n = write_digits(value, &mut buf);
    out.extend_from_slice(&buf[MAX_I64_DIGITS - n..]);
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
/// Redis 7.0 uses this for zset scores in DEBUG DIGEST, in listpacks and in
/// double replies. Returns the number of bytes written into `buf`. No allocation.
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
    let magnitude = value.abs();
    let mut len = 0;
    if value.is_sign_negative() {
        buf[0] = b'-';
        len = 1;
    }
    // Integers below 2^53 have at most 16 digits: %.17g prints them exactly, as integers.
    if magnitude < TWO_POW_53 && magnitude == (magnitude as u64) as f64 {
        let mut text = [0u8; MAX_I64_DIGITS];
        let digits = format_i64(magnitude as i64, &mut text);
        buf[len..len + digits.len()].copy_from_slice(digits);
        return len + digits.len();
    }
    let (significand, exponent) = g17_digits_exact(magnitude).unwrap_or_else(|| g17_digits_by_fmt(magnitude));
    let mut digits = [0u8; 17];
    let mut rest = significand;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    len + layout_g17(&digits, exponent, &mut buf[len..])
}

const TWO_POW_53: f64 = 9007199254740992.0;
const TEN_POW_16: u128 = 10_000_000_000_000_000;
const TEN_POW_17: u128 = 100_000_000_000_000_000;

/// 10^k for k in 0..=22, the range where `m * 10^k` (m < 2^53) fits in a u128.
const POW10: [u128; 23] = {
    let mut table = [1u128; 23];
    let mut k = 1;
    while k < 23 {
        table[k] = table[k - 1] * 10;
        k += 1;
    }
    table
};

/// The 17 significant digits of `magnitude` (finite, > 0) rounded to nearest, ties to even
/// (as glibc rounds an exact decimal tie), as an integer in [10^16, 10^17), and the decimal
/// exponent of its first digit. Exact integer arithmetic: the double is `m * 2^e2`, so
/// `m * 10^k / 2^-e2` is computed in a u128 and rounded on the bits shifted out. Covers
/// magnitudes whose decimal exponent is in -6..=16 (`k` = 16 - exponent in 0..=22), which
/// holds every score a user is likely to type; `None` for the others.
fn g17_digits_exact(magnitude: f64) -> Option<(u64, i32)> {
    let bits = magnitude.to_bits();
    let biased = (bits >> 52) as i32;
    if biased == 0 {
        return None; // subnormal: far below the covered range
    }
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let e2 = biased - 1075;
    // floor(log10(magnitude)) is floor((e2 + 52) * log10(2)) or one more (78913 / 2^18 is
    // log10(2) to well within the precision needed for these exponents).
    let mut exponent = ((e2 + 52) * 78913) >> 18;
    for _ in 0..2 {
        let k = 16 - exponent;
        if !(0..=22).contains(&k) {
            return None;
        }
        let scaled = mantissa as u128 * POW10[k as usize];
        let (mut quotient, remainder, half) = if e2 >= 0 {
            // magnitude < 10^17 < 2^57 here, so e2 is at most 4.
            (scaled << e2, 0, 1)
        } else {
            let shift = -e2 as u32;
            if shift >= 127 {
                return None;
            }
            (scaled >> shift, scaled & ((1u128 << shift) - 1), 1u128 << (shift - 1))
        };
        if quotient >= TEN_POW_17 {
            exponent += 1; // the estimate was one low
            continue;
        }
        if quotient < TEN_POW_16 {
            return None; // cannot happen with a correct estimate; let the slow path decide
        }
        if remainder > half || (remainder == half && e2 < 0 && quotient & 1 == 1) {
            quotient += 1;
        }
        if quotient == TEN_POW_17 {
            return Some((TEN_POW_16 as u64, exponent + 1));
        }
        return Some((quotient as u64, exponent));
    }
    None
}

/// Same contract as `g17_digits_exact`, for any finite magnitude > 0, through Rust's exact
/// `{:.16e}` formatting (correctly rounded, ties to even, like glibc).
fn g17_digits_by_fmt(magnitude: f64) -> (u64, i32) {
    let mut sci = [0u8; G17_BUF_LEN];
    let mut writer = StackWriter { buf: &mut sci, len: 0 };
    if write!(writer, "{:.16e}", magnitude).is_err() {
        return (TEN_POW_16 as u64, 0); // unreachable: 17 digits, point and exponent fit
    }
    let sci_len = writer.len;
    let sci = &sci[..sci_len];
    // sci is "D.DDDDDDDDDDDDDDDDe<exp>"
    let e_pos = sci.iter().position(|&c| c == b'e').unwrap_or(sci_len);
    let significand = sci[..e_pos].iter().filter(|c| c.is_ascii_digit()).fold(0u64, |acc, &c| acc * 10 + (c - b'0') as u64);
    let exponent = parse_small_exponent(sci.get(e_pos + 1..).unwrap_or(b"0"));
    (significand, exponent)
}

/// %g's layout of 17 significant digits whose first has decimal exponent `exponent`: trailing
/// zeros removed, exponent form when the exponent is below -4 or at least 17. Returns the
/// bytes written (at most 24 for a positive value).
fn layout_g17(digits: &[u8; 17], exponent: i32, buf: &mut [u8]) -> usize {
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

    /// xorshift64*: deterministic inputs without crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// The integer arithmetic path against Rust's exact formatting, wherever it applies.
    fn check_exact_path(v: f64) {
        if let Some(fast) = g17_digits_exact(v) {
            assert_eq!(fast, g17_digits_by_fmt(v), "value {v:e} ({:#x})", v.to_bits());
        }
    }

    #[test]
    fn integer_digit_path_agrees_with_exact_formatting() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut covered = 0;
        for _ in 0..300_000 {
            // Any bit pattern whose magnitude is near the covered decimal exponents -6..=16.
            let exp = 1023 - 22 + (rng.next() % 82) as u64;
            let v = f64::from_bits((exp << 52) | (rng.next() >> 12));
            covered += g17_digits_exact(v).is_some() as u32;
            check_exact_path(v);
            // Short decimals, as typed scores are (91.9, 0.25, 1e-6...).
            let n = (rng.next() % 2_000_000) as f64;
            for scale in [10.0, 100.0, 1000.0, 1e6, 1e9, 1e12] {
                check_exact_path(n / scale);
            }
            // Exact decimal ties at the 18th digit (x.25 and x.75 with 16 integer digits).
            let big = ((1u64 << 50) + rng.next() % (1u64 << 50)) as f64;
            check_exact_path(big + 0.25);
            check_exact_path(big + 0.75);
        }
        assert!(covered > 250_000, "only {covered} values took the integer path");
        // Powers of ten and their neighbours, where the exponent estimate is one low.
        for e in -7..=17 {
            let p = 10f64.powi(e);
            for v in [p, f64::from_bits(p.to_bits() - 1), f64::from_bits(p.to_bits() + 1)] {
                check_exact_path(v);
            }
        }
    }

    #[test]
    fn g17_ties_and_integers() {
        assert_eq!(g17(1234567890123456.25), "1234567890123456.2");
        assert_eq!(g17(1234567890123456.75), "1234567890123456.8");
        assert_eq!(g17(-91.9), "-91.900000000000006");
        assert_eq!(g17(9007199254740991.0), "9007199254740991");
        assert_eq!(g17(9007199254740992.0), "9007199254740992");
        assert_eq!(g17(9007199254740994.0), "9007199254740994");
        assert_eq!(g17(99999999999999999.0), "1e+17");
        assert_eq!(g17(0.000001), "9.9999999999999995e-07");
        assert_eq!(g17(-1e-300), "-1e-300");
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
