//! Argument parsing for the sorted-set commands with the C library's exact acceptance rules:
//! Redis parses scores with strtod (hex floats, "inf", leading blanks in ranges...), timeouts
//! with strtold, and cursors with strtoul, and each caller checks the result differently.

use crate::command::CmdError;
use crate::types::zset::{LexBound, LexRange, ScoreRange};

/// What strtod saw at the start of a string.
#[derive(Clone, Copy, Debug)]
pub struct Scanned {
    /// The value correctly rounded to a double (±inf on overflow, 0 on underflow).
    pub value: f64,
    /// Bytes consumed; 0 when no conversion was possible.
    pub len: usize,
    pub nan: bool,
    /// The literal was finite but too large for a double (strtod's ERANGE with HUGE_VAL).
    pub overflow: bool,
    /// The literal was non-zero but rounds to 0 (strtod's ERANGE with 0).
    pub underflow: bool,
}

#[inline]
fn is_c_space(b: u8) -> bool { matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') }

fn starts_with_ci(s: &[u8], word: &[u8]) -> bool { s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word) }

/// glibc strtod's syntax: blanks, a sign, then `inf`/`infinity`, `nan[(...)]`, a hex float
/// (`0x` digits [. digits] [p exp]) or a decimal float (digits [. digits] [e exp]).
pub fn scan_strtod(s: &[u8]) -> Scanned {
    let none = Scanned { value: 0.0, len: 0, nan: false, overflow: false, underflow: false };
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) { i += 1; }
    let neg = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') { i += 1; }
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &s[i..];
    if starts_with_ci(rest, b"inf") {
        let len = i + if starts_with_ci(rest, b"infinity") { 8 } else { 3 };
        return Scanned { value: sign * f64::INFINITY, len, ..none };
    }
    if starts_with_ci(rest, b"nan") {
        let mut len = i + 3;
        if s.get(len) == Some(&b'(') {
            if let Some(close) = s[len..].iter().position(|&c| !(c.is_ascii_alphanumeric() || c == b'_')).map(|p| p + len) {
                if close > len && s[close] == b')' { len = close + 1; }
            }
        }
        return Scanned { value: f64::NAN, len, nan: true, ..none };
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some(mut hex) = scan_hex(&rest[2..]) {
            hex.len += i + 2;
            hex.value *= sign;
            return hex;
        }
        // "0x" with no hex digits: strtod takes the "0" alone.
    }
    match scan_decimal(rest) {
        Some(mut d) => {
            d.len += i;
            d.value *= sign;
            d
        }
        None => none,
    }
}

fn scan_decimal(s: &[u8]) -> Option<Scanned> {
    let mut i = 0;
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() { i += 1; }
    let int_digits = &s[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if i < s.len() && s[i] == b'.' {
        let f = i + 1;
        let mut j = f;
        while j < s.len() && s[j].is_ascii_digit() { j += 1; }
        frac_digits = &s[f..j];
        if int_digits.is_empty() && frac_digits.is_empty() { return None; }
        i = j;
    } else if int_digits.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if i < s.len() && (s[i] | 0x20) == b'e' {
        let mut j = i + 1;
        let eneg = j < s.len() && s[j] == b'-';
        if j < s.len() && (s[j] == b'-' || s[j] == b'+') { j += 1; }
        let dstart = j;
        while j < s.len() && s[j].is_ascii_digit() {
            exp = (exp * 10 + (s[j] - b'0') as i64).min(1 << 40);
            j += 1;
        }
        if j > dstart {
            if eneg { exp = -exp; }
            i = j;
        }
    }
    // Normalise to "<digits>e<exp>" for Rust's correctly rounded parser.
    let mut digits: Vec<u8> = Vec::with_capacity(int_digits.len() + frac_digits.len() + 24);
    digits.extend_from_slice(int_digits);
    digits.extend_from_slice(frac_digits);
    let first_nonzero = digits.iter().position(|&c| c != b'0');
    let scale = exp - frac_digits.len() as i64;
    let value = match first_nonzero {
        None => 0.0,
        Some(p) => {
            // Beyond these the result is certainly inf or 0; clamping keeps the text short.
            let clamped = scale.clamp(-100_000, 100_000);
            let mut text = digits[p..].to_vec();
            text.push(b'e');
            text.extend_from_slice(clamped.to_string().as_bytes());
            let v: f64 = std::str::from_utf8(&text).ok()?.parse().ok()?;
            v
        }
    };
    let nonzero = first_nonzero.is_some();
    Some(Scanned {
        value,
        len: i,
        nan: false,
        overflow: value.is_infinite(),
        underflow: nonzero && value == 0.0,
    })
}

/// A hex float after its "0x": None when no hex digit follows.
fn scan_hex(s: &[u8]) -> Option<Scanned> {
    let mut mant: u64 = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut any = false;
    let mut i = 0;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'.' if !seen_dot => {
                seen_dot = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        any = true;
        if mant >> 60 == 0 {
            mant = mant << 4 | d as u64;
            if seen_dot { exp2 -= 4; }
        } else {
            sticky |= d != 0;
            if !seen_dot { exp2 += 4; }
        }
        i += 1;
    }
    if !any { return None; }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let mut j = i + 1;
        let neg = j < s.len() && s[j] == b'-';
        if j < s.len() && (s[j] == b'-' || s[j] == b'+') { j += 1; }
        let dstart = j;
        let mut e: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = (e * 10 + (s[j] - b'0') as i64).min(1 << 40);
            j += 1;
        }
        if j > dstart {
            exp2 += if neg { -e } else { e };
            i = j;
        }
    }
    let value = round_binary(mant, sticky, exp2);
    Some(Scanned {
        value,
        len: i,
        nan: false,
        overflow: value.is_infinite(),
        underflow: mant != 0 && value == 0.0,
    })
}

/// mant * 2^exp2 (plus a sticky bit below mant) rounded to nearest-even as a double.
fn round_binary(mant: u64, sticky: bool, exp2: i64) -> f64 {
    if mant == 0 { return 0.0; }
    let bits = 64 - mant.leading_zeros() as i64;
    let top = bits - 1 + exp2; // exponent of the leading bit
    if top > 1023 { return f64::INFINITY; }
    // Bits of precision available: 53 for normals, fewer for subnormals.
    let precision = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if precision <= 0 {
        // Below half the smallest subnormal rounds to 0; exactly half rounds to even (0).
        let half = precision == 0 && (mant.count_ones() > 1 || sticky);
        return if half { f64::from_bits(1) } else { 0.0 };
    }
    let shift = bits - precision;
    let (mut kept, mut exp) = (mant, exp2);
    if shift > 0 {
        let dropped = mant & ((1u64 << shift) - 1);
        let halfway = 1u64 << (shift - 1);
        kept = mant >> shift;
        exp += shift;
        let round_up = dropped > halfway || (dropped == halfway && (sticky || kept & 1 == 1));
        if round_up { kept += 1; }
    }
    scale2(kept as f64, exp)
}

/// x * 2^e with exact intermediate steps (x is an integer below 2^54).
fn scale2(mut x: f64, mut e: i64) -> f64 {
    while e > 0 {
        let step = e.min(1000);
        x *= f64::from_bits(((1023 + step) as u64) << 52);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        x *= f64::from_bits(((1023 - step) as u64) << 52);
        e += step;
    }
    x
}

/// Redis's getDoubleFromObject (ZADD scores, ZINCRBY, WEIGHTS): the whole string, no leading
/// blank, no NaN, and neither overflow nor underflow to zero.
pub fn parse_double_arg(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) { return None; }
    let sc = scan_strtod(s);
    if sc.len != s.len() || sc.nan || sc.overflow || sc.underflow { return None; }
    Some(sc.value)
}

/// zslParseRange's per-bound rule: strtod must stop at the end of the string (or at a NUL,
/// which ends the C string), and the value must not be NaN. Blanks and "" (= 0) pass.
fn parse_range_number(s: &[u8]) -> Option<f64> {
    let sc = scan_strtod(s);
    let stopped_at_end = sc.len == s.len() || s[sc.len] == 0;
    if !stopped_at_end || sc.nan { return None; }
    Some(sc.value)
}

pub const NOT_FLOAT_RANGE: CmdError = CmdError::Msg("ERR min or max is not a float");
pub const NOT_LEX_RANGE: CmdError = CmdError::Msg("ERR min or max not valid string range item");

/// ZRANGEBYSCORE-style bounds: `(` makes a bound exclusive.
pub fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bound = |s: &[u8]| -> Option<(f64, bool)> {
        match s.first() {
            Some(b'(') => parse_range_number(&s[1..]).map(|v| (v, true)),
            _ => parse_range_number(s).map(|v| (v, false)),
        }
    };
    let (min, minex) = bound(min).ok_or(NOT_FLOAT_RANGE)?;
    let (max, maxex) = bound(max).ok_or(NOT_FLOAT_RANGE)?;
    Ok(ScoreRange { min, max, minex, maxex })
}

/// zslParseLexItem: `-`, `+` (nothing after them up to a NUL), `[x` or `(x`.
fn parse_lex_bound(s: &[u8]) -> Option<LexBound<'_>> {
    let alone = s.len() == 1 || s.get(1) == Some(&0);
    match s.first()? {
        b'+' if alone => Some(LexBound::Max),
        b'-' if alone => Some(LexBound::Min),
        b'(' => Some(LexBound::Exclusive(&s[1..])),
        b'[' => Some(LexBound::Inclusive(&s[1..])),
        _ => None,
    }
}

pub fn parse_lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, CmdError> {
    let min = parse_lex_bound(min).ok_or(NOT_LEX_RANGE)?;
    let max = parse_lex_bound(max).ok_or(NOT_LEX_RANGE)?;
    Ok(LexRange { min, max })
}




#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_as_redis_reads_scores() {
        assert_eq!(parse_double_arg(b"0x10"), Some(16.0));
        assert_eq!(parse_double_arg(b"0x1.8p1"), Some(3.0));
        assert_eq!(parse_double_arg(b"1e-310"), Some(1e-310));
        assert_eq!(parse_double_arg(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double_arg(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_double_arg(b".5"), Some(0.5));
        assert_eq!(parse_double_arg(b"5."), Some(5.0));
        assert_eq!(parse_double_arg(b"0e-9999"), Some(0.0));
        for bad in [&b" 1"[..], b"1 ", b"", b"1e400", b"1e-400", b"nan", b"abc", b"1e", b".", b"0x", b"infx", b"--1"] {
            assert_eq!(parse_double_arg(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_double_arg(b"1e"), None);
        assert_eq!(scan_strtod(b"1e").len, 1);
        assert_eq!(scan_strtod(b"0x").len, 1);
        assert_eq!(parse_double_arg(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_double_arg(b"0x1p-1076"), None);
        assert_eq!(parse_double_arg(b"0x1.fffffffffffff8p0"), Some(2.0));
    }

    #[test]
    fn score_ranges() {
        let r = parse_score_range(b"(1.5", b"+inf").unwrap();
        assert!(r.minex && !r.maxex && r.min == 1.5 && r.max == f64::INFINITY);
        let r = parse_score_range(b"", b" 2").unwrap();
        assert_eq!((r.min, r.max), (0.0, 2.0));
        assert!(parse_score_range(b"1 ", b"2").is_err());
        assert!(parse_score_range(b"nan", b"2").is_err());
        assert!(parse_score_range(b"1e400", b"2").is_ok());
        assert!(parse_score_range(b"1\x00junk", b"2").is_ok());
    }

    #[test]
    fn timeouts_and_cursors() {
    }
}
