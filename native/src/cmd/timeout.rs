//! The timeout of blocking commands (BLPOP, BLMOVE, BZPOPMIN, BLMPOP, XREAD...), parsed exactly
//! as Redis 7.0's getTimeoutFromObjectOrReply does, shared by the list, sorted-set and stream
//! families.

use crate::command::CmdError;

const TIMEOUT_NOT_FLOAT: CmdError = CmdError::Msg("ERR timeout is not a float or out of range");
const TIMEOUT_NEGATIVE: CmdError = CmdError::Msg("ERR timeout is negative");

/// Redis's getTimeoutFromObjectOrReply for a timeout in seconds: the value is read as a C
/// `long double` (strtold syntax: decimal, hex, inf; no surrounding spaces), converted to ms
/// rounding up, and cast to a 64-bit integer. Returns the relative timeout in ms, 0 meaning
/// "block forever" (so do tiny negative values such as -0.0001, which round up to 0).
/// Values too large for an i64 of ms (inf, 1e16) come out of the cast as i64::MIN in Redis,
/// hence "timeout is negative" for them too.
pub fn parse_timeout(arg: &[u8]) -> Result<i64, CmdError> {
    let value = parse_long_double(arg).ok_or(TIMEOUT_NOT_FLOAT)?;
    let ms = match value {
        // -0.001 s times 1000 lands just above -1 in long double arithmetic (0.001 rounds down
        // there), so it rounds up to 0 ms: block forever. In f64 it is exactly -1, hence the
        // explicit boundary.
        LongDouble::Finite(v) if v < 0.0 && v * 1000.0 >= -1.0 => 0,
        LongDouble::Finite(v) => {
            let ms = (v * 1000.0).ceil();
            if ms.is_nan() || !(-9.223_372_036_854_775_808e18..9.223_372_036_854_775_808e18).contains(&ms) { i64::MIN } else { ms as i64 }
        }
        LongDouble::TinyPositive => 1,
        LongDouble::TinyNegative => 0,
        LongDouble::Huge => i64::MIN,
    };
    if ms < 0 { Err(TIMEOUT_NEGATIVE) } else { Ok(ms) }
}

/// Redis's getTimeoutFromObjectOrReply for a timeout in milliseconds (XREAD's BLOCK): an
/// integer; returns it relative (0: block forever).
pub fn parse_timeout_ms(arg: &[u8], now_ms: i64) -> Result<i64, CmdError> {
    let ms = crate::numfmt::parse_i64(arg).ok_or(CmdError::Msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(TIMEOUT_NEGATIVE);
    }
    if ms > 0 && ms > i64::MAX - now_ms {
        return Err(CmdError::Msg("ERR timeout is out of range"));
    }
    Ok(ms)
}

/// A strtold result, as far as a timeout cares: values outside f64's range but inside long
/// double's are either huge (beyond any timeout) or tiny (rounding up to 1 ms or down to 0).
enum LongDouble { Finite(f64), Huge, TinyPositive, TinyNegative }

/// Redis's string2ld acceptance: strtold must consume the whole string, no leading space,
/// not NaN, and not overflow/underflow to an out-of-range result. Limits of the x86 80-bit
/// long double: largest ~1.19e4932, smallest subnormal ~3.65e-4951.
fn parse_long_double(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= 5 * 1024 { return None; }
    let (negative, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" { return Some(LongDouble::Huge); }
    if lower.starts_with(b"0x") { return parse_hex_float(&lower[2..], negative); }
    // Decimal: digits [. digits] [e [sign] digits], at least one mantissa digit.
    let mut i = 0;
    let mut int_digits: i64 = 0;
    let mut frac_digits: i64 = 0;
    let mut seen_point = false;
    // 1-based position of the first non-zero digit, in the integer or the fraction part.
    let mut first_nonzero_int: Option<i64> = None;
    let mut first_nonzero_frac: Option<i64> = None;
    while i < lower.len() {
        let c = lower[i];
        if c.is_ascii_digit() {
            if seen_point { frac_digits += 1 } else { int_digits += 1 }
            if c != b'0' && first_nonzero_int.is_none() && first_nonzero_frac.is_none() {
                if seen_point { first_nonzero_frac = Some(frac_digits) } else { first_nonzero_int = Some(int_digits) }
            }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if int_digits + frac_digits == 0 { return None; }
    let exponent = if i < lower.len() { exponent_part(&lower[i..], b'e')? } else { 0 };
    // The decimal exponent of the leading digit, to tell strtold's range errors apart.
    let magnitude = match (first_nonzero_int, first_nonzero_frac) {
        (Some(p), _) => int_digits - p + exponent,
        (None, Some(q)) => -q + exponent,
        (None, None) => return Some(LongDouble::Finite(0.0)),
    };
    if !(-4951..=4932).contains(&magnitude) { return None; }
    let text = std::str::from_utf8(s).ok()?;
    Some(in_range(text.parse().ok()?, negative))
}

/// The part of a hex float after "0x": hexdigits [. hexdigits] [p [sign] digits].
fn parse_hex_float(s: &[u8], negative: bool) -> Option<LongDouble> {
    let mut mantissa = 0f64;
    let mut scale: i64 = 0;
    let mut seen_point = false;
    let mut any_digit = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if let Some(d) = (c as char).to_digit(16) {
            any_digit = true;
            mantissa = mantissa * 16.0 + d as f64;
            if seen_point { scale -= 4; }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit { return None; }
    let exponent = if i < s.len() { exponent_part(&s[i..], b'p')? } else { 0 };
    if mantissa == 0.0 { return Some(LongDouble::Finite(0.0)); }
    let binary_exponent = exponent + scale + mantissa.log2().floor() as i64;
    if binary_exponent >= 16384 || binary_exponent < -16445 { return None; }
    let v = mantissa * 2f64.powi((exponent + scale).clamp(-2000, 2000) as i32);
    Some(in_range(if negative { -v } else { v }, negative))
}

/// A value that passed strtold's range checks, as f64 sees it: past f64's range (but not a long
/// double's) it is Huge, or a tiny non-zero of the sign written.
fn in_range(v: f64, negative: bool) -> LongDouble {
    if v.is_infinite() {
        LongDouble::Huge
    } else if v == 0.0 {
        if negative { LongDouble::TinyNegative } else { LongDouble::TinyPositive }
    } else {
        LongDouble::Finite(v)
    }
}

/// The exponent of `s` = `marker` [sign] digits (decimal "e", hex "p"), saturated at a million
/// either way; None when `s` is anything else.
fn exponent_part(s: &[u8], marker: u8) -> Option<i64> {
    let rest = s.strip_prefix(&[marker])?;
    let (negative, digits) = match rest.first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) { return None; }
    let mut exponent: i64 = 0;
    for &c in digits {
        exponent = (exponent * 10 + (c - b'0') as i64).min(1_000_000);
    }
    Some(if negative { -exponent } else { exponent })
}


#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(s: &str) -> Result<i64, String> { parse_timeout(s.as_bytes()).map_err(|e| e.text().to_string()) }

    #[test]
    fn timeouts_parse_like_redis_7_0() {
        // Each case checked against redis-server 7.0.15.
        let not_float = Err(TIMEOUT_NOT_FLOAT.text().to_string());
        let negative = Err(TIMEOUT_NEGATIVE.text().to_string());
        assert_eq!(timeout("0"), Ok(0));
        assert_eq!(timeout("1.5"), Ok(1500));
        assert_eq!(timeout("+0.01"), Ok(10));
        assert_eq!(timeout(".01"), Ok(10));
        assert_eq!(timeout("1."), Ok(1000));
        assert_eq!(timeout("0.0001"), Ok(1));
        assert_eq!(timeout("-0.0001"), Ok(0));
        assert_eq!(timeout("1e15"), Ok(1_000_000_000_000_000_000));
        assert_eq!(timeout("0x10"), Ok(16_000));
        assert_eq!(timeout("0x.8"), Ok(500));
        assert_eq!(timeout("1e-400"), Ok(1));
        assert_eq!(timeout("1e-4950"), Ok(1));
        assert_eq!(timeout("-0.001"), Ok(0));
        assert_eq!(timeout("-1e-3"), Ok(0));
        assert_eq!(timeout("-0.0011"), negative);
        assert_eq!(timeout("-0.002"), negative);
        assert_eq!(timeout("-1"), negative);
        assert_eq!(timeout("-0x1"), negative);
        assert_eq!(timeout("inf"), negative);
        assert_eq!(timeout("-inf"), negative);
        assert_eq!(timeout("infinity"), negative);
        assert_eq!(timeout("1e16"), negative);
        assert_eq!(timeout("1e400"), negative);
        assert_eq!(timeout("1e4930"), negative);
        assert_eq!(timeout("9223372036854775807"), negative);
        for bad in ["abc", "", " 1", "1 ", "nan", "0x", "1e", "1e+", ".", "1e4940", "1e5000", "-1e5000", "1e-5000", "1e-4952", "1..2"] {
            assert_eq!(timeout(bad), not_float, "{bad:?}");
        }
    }
}
