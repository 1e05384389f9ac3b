//! What the SCAN family (SCAN, HSCAN, SSCAN, ZSCAN) shares: Redis's cursor and option parsing,
//! its bounded stepping loop, MATCH filtering and the two-element reply.

use crate::command::{CmdError, Ctx, NOT_INTEGER, SYNTAX};
use crate::keyspace::Entry;
use crate::numfmt;
use crate::reply::Reply;

/// Redis's parseScanCursorOrReply: strtoul rules (optional sign, base 10, "-1" wraps to
/// u64::MAX, "" is 0), but no leading space, no trailing junk and no overflow.
pub fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    const INVALID: CmdError = CmdError::Msg("ERR invalid cursor");
    // strtoul stops at a NUL byte, as C sees the end of the string there.
    let s = match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    };
    if s.is_empty() { return Ok(0); }
    if matches!(s[0], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') { return Err(INVALID); }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) { return Err(INVALID); }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)).ok_or(INVALID)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// HSCAN/SSCAN options (parsed only once the key is known to exist, as Redis does).
pub struct ScanOptions<'a> {
    pub count: u64,
    pub pattern: Option<&'a [u8]>,
}

pub fn parse_scan_options<'a>(ctx: &Ctx<'a>, from: usize) -> Result<ScanOptions<'a>, CmdError> {
    let args = ctx.args;
    let mut opts = ScanOptions { count: 10, pattern: None };
    let mut i = from;
    while i < args.len() {
        let has_value = args.len() - i >= 2;
        if args.is(i, b"COUNT") && has_value {
            let n = numfmt::parse_i64(args.get(i + 1)).ok_or(NOT_INTEGER)?;
            if n < 1 { return Err(SYNTAX); }
            opts.count = n as u64;
        } else if args.is(i, b"MATCH") && has_value {
            let p = args.get(i + 1);
            opts.pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    Ok(opts)
}

/// Redis's scanGenericCommand loop over a dict-like structure: steps until the cursor wraps,
/// `count` items were gathered, or 10*count steps were spent. `step` returns the next cursor
/// and the number of reply items it added.
pub fn scan_loop(mut cursor: u64, count: u64, mut step: impl FnMut(u64) -> (u64, u64)) -> u64 {
    let mut gathered = 0u64;
    let mut budget = count.saturating_mul(10);
    loop {
        let (next, added) = step(cursor);
        cursor = next;
        gathered += added;
        if cursor == 0 || budget == 0 || gathered >= count { return cursor; }
        budget -= 1;
    }
}

pub fn scan_matches(pattern: Option<&[u8]>, s: &[u8]) -> bool {
    match pattern {
        None => true,
        Some(p) => crate::glob::glob_match(p, s, false),
    }
}

/// Collects a scan's items as bulk strings in a side buffer (the reply starts with the cursor,
/// known only at the end), then writes `[cursor, [items...]]`.
pub struct ScanItems {
    encoded: Reply,
    count: usize,
}

impl Default for ScanItems {
    fn default() -> Self { Self::new() }
}

impl ScanItems {
    pub fn new() -> Self { ScanItems { encoded: Reply { buf: Vec::new(), resp3: false, closing_bytes: 0 }, count: 0 } }

    pub fn push(&mut self, item: &[u8]) {
        self.encoded.bulk(item);
        self.count += 1;
    }

    pub fn write(self, reply: &mut Reply, cursor: u64) {
        reply.array(2);
        let mut text = Vec::with_capacity(20);
        let mut c = cursor;
        loop {
            text.push(b'0' + (c % 10) as u8);
            c /= 10;
            if c == 0 { break; }
        }
        text.reverse();
        reply.bulk(&text);
        reply.array(self.count);
        reply.buf.extend_from_slice(&self.encoded.buf);
    }
}


/// The first half of HSCAN, SSCAN and ZSCAN: the cursor, then the key's type (Redis checks it
/// before the options), then the options. None when the key does not exist: the empty reply has
/// been written.
pub fn scan_prelude<'a>(
    ctx: &mut Ctx<'a>,
    check_type: fn(&mut Entry) -> Result<(), CmdError>,
) -> Result<Option<(u64, ScanOptions<'a>)>, CmdError> {
    let args = ctx.args;
    let cursor = parse_scan_cursor(args.get(2))?;
    match ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) {
        None => {
            ScanItems::new().write(ctx.reply, 0);
            return Ok(None);
        }
        Some(e) => check_type(e)?,
    }
    Ok(Some((cursor, parse_scan_options(ctx, 3)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::parse_scan_cursor as parse_cursor;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"+5").ok(), Some(5));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        assert!(parse_cursor(b"18446744073709551616").is_err());
        assert!(parse_cursor(b" 1").is_err());
        assert!(parse_cursor(b"1 ").is_err());
        assert!(parse_cursor(b"+").is_err());
        assert!(parse_cursor(b"0x10").is_err());
        assert!(parse_cursor(b"1x").is_err());
    }

    #[test]
    fn cursor_follows_strtoul() {
        assert_eq!(parse_scan_cursor(b"").unwrap(), 0);
        assert_eq!(parse_scan_cursor(b"007").unwrap(), 7);
        assert_eq!(parse_scan_cursor(b"+5").unwrap(), 5);
        assert_eq!(parse_scan_cursor(b"-1").unwrap(), u64::MAX);
        assert_eq!(parse_scan_cursor(b"18446744073709551615").unwrap(), u64::MAX);
        assert_eq!(parse_scan_cursor(b"3\0junk").unwrap(), 3);
        for bad in [&b" 1"[..], b"18446744073709551616", b"x", b"1x", b"+", b"-", b"1 "] {
            assert!(parse_scan_cursor(bad).is_err(), "{:?}", bad);
        }
    }

    #[test]
    fn scan_loop_stops_on_count_budget_or_wrap() {
        // Each step adds 1 item; cursor advances by 1 and wraps at 100.
        let end = scan_loop(0, 5, |c| ((c + 1) % 100, 1));
        assert_eq!(end, 5);
        // Steps that add nothing stop after 10*count+1 steps.
        let mut steps = 0;
        scan_loop(0, 2, |c| { steps += 1; (c + 1, 0) });
        assert_eq!(steps, 21);
        assert_eq!(scan_loop(0, 1000, |c| ((c + 1) % 3, 1)), 0);
    }
}
