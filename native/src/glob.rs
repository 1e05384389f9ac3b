//! Redis's glob matcher (util.c stringmatchlen), used by KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH and
//! anything else that takes a glob pattern.
//!
//! Supported syntax, with Redis's exact quirks: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` (reversed
//! ranges are swapped, `[a-]` is the range a..']'), `\x` escapes (also inside classes), an
//! unterminated class runs to the end of the pattern. Bytes compare as C's signed `char`, so
//! ranges over bytes >= 0x80 behave as in Redis. `nocase` folds ASCII letters only.
//!
//! Redis matches recursively; this is the equivalent iterative two-pointer walk (every token but
//! `*` consumes exactly one byte, so remembering the last `*` is enough to backtrack), which keeps
//! hostile patterns like `*a*a*a...*b` linear in stack and quadratic at worst in time.

/// True when `string` matches `pattern`.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut p = 0usize;
    let mut s = 0usize;
    // Where to resume after the last `*`: (pattern index after the stars, string index it covers up to).
    let mut backtrack: Option<(usize, usize)> = None;
    while s < string.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' { p += 1; }
            backtrack = Some((p, s));
            continue;
        }
        if p < pattern.len() {
            let (matched, next) = match_token(pattern, p, string[s], nocase);
            if matched {
                p = next;
                s += 1;
                continue;
            }
        }
        match backtrack {
            Some((bp, bs)) => {
                p = bp;
                s = bs + 1;
                backtrack = Some((bp, bs + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' { p += 1; }
    p == pattern.len()
}

/// The pattern byte at `i`, or 0 past the end (Redis reads the sds terminator there).
#[inline]
fn at(pattern: &[u8], i: usize) -> u8 { pattern.get(i).copied().unwrap_or(0) }

/// A byte as C's signed char, for range comparisons.
#[inline]
fn signed(b: u8) -> i32 { b as i8 as i32 }

#[inline]
fn lower(c: i32) -> i32 { if (b'A' as i32..=b'Z' as i32).contains(&c) { c + 32 } else { c } }

#[inline]
fn same_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase { lower(signed(a)) == lower(signed(b)) } else { a == b }
}

/// Matches the single-byte token at `p` (not `*`) against `c`; returns whether it matched and
/// the index after the token.
fn match_token(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    match pattern[p] {
        b'?' => (true, p + 1),
        b'[' => match_class(pattern, p + 1, c, nocase),
        b'\\' if pattern.len() - p >= 2 => (same_byte(pattern[p + 1], c, nocase), p + 2),
        other => (same_byte(other, c, nocase), p + 1),
    }
}

/// A `[...]` class starting just after the `[` at `p`.
fn match_class(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let len = pattern.len();
    let negate = at(pattern, p) == b'^';
    if negate { p += 1; }
    let mut matched = false;
    loop {
        let rem = len.saturating_sub(p);
        let cur = at(pattern, p);
        if cur == b'\\' && rem >= 2 {
            p += 1;
            if pattern[p] == c { matched = true; }
        } else if cur == b']' {
            break;
        } else if rem == 0 {
            // Unterminated class: it ends with the pattern.
            return (matched != negate, len);
        } else if rem >= 3 && pattern[p + 1] == b'-' {
            let (mut start, mut end) = (signed(pattern[p]), signed(pattern[p + 2]));
            let mut ch = signed(c);
            if start > end { std::mem::swap(&mut start, &mut end); }
            if nocase {
                start = lower(start);
                end = lower(end);
                ch = lower(ch);
            }
            p += 2;
            if ch >= start && ch <= end { matched = true; }
        } else if same_byte(cur, c, nocase) {
            matched = true;
        }
        p += 1;
    }
    (matched != negate, p + 1)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool { glob_match(p.as_bytes(), s.as_bytes(), false) }

    #[test]
    fn basics() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed ranges are swapped");
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(!m("a?", "a"));
        assert!(m("*a*b*c", "xxaxxbxxc"));
        assert!(!m("*a*b*c", "xxaxxcxxb"));
    }

    #[test]
    fn quirks() {
        // A trailing backslash is a literal backslash.
        assert!(m("a\\", "a\\"));
        // Unterminated class runs to the end of the pattern.
        assert!(m("[ab", "a"));
        assert!(m("[ab", "b"));
        assert!(!m("[ab", "c"));
        assert!(!m("[", "a"));
        // `[a-]` is the range a..']' (swapped to ']'..'a') and the class continues past the `]`.
        assert!(m("[a-]x]", "_"));
        assert!(m("[a-]x]", "]"));
        assert!(m("[a-]x]", "x"));
        assert!(!m("[a-]x]", "b"));
        // Escapes inside classes.
        assert!(m("[\\]]", "]"));
        // Bytes >= 0x80 are negative as signed chars: [\x01-\xff] swaps to [\xff-\x01].
        assert!(glob_match(b"[\x01-\xff]", b"\x80", false) == false);
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo*", b"hello world", true));
        assert!(glob_match(b"[A-C]x", b"bx", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let pattern = "*a".repeat(2000) + "b";
        let string = "a".repeat(5000);
        assert!(!m(&pattern, &string));
    }
}
