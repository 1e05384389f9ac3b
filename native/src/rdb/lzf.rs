//! LZF, the compressor Redis uses for RDB strings (liblzf 3.6 as configured
//! in Redis: 2^16-entry hash table, VERY_FAST mode).
//!
//! Stream format, a sequence of:
//! - `000LLLLL` + L+1 literal bytes;
//! - `LLLooooo oooooooo`: copy L+2 bytes from `offset+1` bytes back (L in 1..=6);
//! - `111ooooo LLLLLLLL oooooooo`: copy L+9 bytes from `offset+1` bytes back.
//!
//! The compressor follows liblzf's algorithm and its out-of-space checks, so it
//! accepts or declines a string exactly when Redis would and (with a fresh hash
//! table) emits the same bytes.

use super::error::{RdbError, RdbResult};

const HASH_LOG: u32 = 16;
const HASH_SIZE: usize = 1 << HASH_LOG;
const MAX_LITERAL: usize = 1 << 5;
const MAX_OFFSET: usize = 1 << 13;
const MAX_MATCH: usize = (1 << 8) + (1 << 3);
/// A 3-byte back-reference can produce at most 264 bytes, so no valid stream
/// expands by more than this factor; larger claimed sizes are refused before
/// any allocation.
pub const MAX_EXPANSION: usize = MAX_MATCH / 3;

/// Largest input the compressor takes: table entries are 32-bit positions.
const MAX_INPUT: usize = (u32::MAX / 2) as usize;

/// A reusable compressor. Its hash table (256 KiB, allocated by the first
/// compression: a save's writers that never compress, like the writer of a
/// save whose keys other threads serialize, do not touch it) is never cleared: each
/// entry stores `generation_base + position + 1`, and entries below the
/// current call's base are treated as empty, which behaves exactly like
/// liblzf with a zeroed table but costs nothing per call.
pub struct LzfCompressor {
    table: Vec<u32>,
    base: u32,
    scratch: Vec<u8>,
}

impl Default for LzfCompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl LzfCompressor {
    pub fn new() -> Self {
        LzfCompressor { table: Vec::new(), base: 0, scratch: Vec::new() }
    }

    /// Compresses `input` and appends the stream to `out` if it is strictly
    /// smaller than the input. Returns the stream length, or None (with `out`
    /// untouched) when compression would not save space.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let limit = input.len().checked_sub(1)?;
        self.compress_bounded(input, out, limit)
    }

    /// Like liblzf's `lzf_compress(in, in_len, out, max_output)`: appends the
    /// stream to `out` when it fits in `max_output` bytes, else returns None
    /// and leaves `out` as it was. Redis passes `len - 4`.
    pub fn compress_bounded(&mut self, input: &[u8], out: &mut Vec<u8>, max_output: usize) -> Option<usize> {
        if input.is_empty() || max_output == 0 || input.len() > MAX_INPUT {
            return None;
        }
        let start = out.len();
        // A few bytes of slack so the bookkeeping writes liblzf performs at
        // out_end (a run header slot) stay in bounds; the result is checked.
        out.resize(start + max_output + 4, 0);
        let written = self.compress_slice(input, &mut out[start..], max_output);
        match written {
            Some(n) if n <= max_output => {
                out.truncate(start + n);
                Some(n)
            }
            _ => {
                out.truncate(start);
                None
            }
        }
    }

    /// Compresses into an internal buffer and returns it; for callers that
    /// need the compressed length before writing anything (RDB's 0xC3 form).
    pub fn compress_to_scratch(&mut self, input: &[u8], max_output: usize) -> Option<&[u8]> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let result = self.compress_bounded(input, &mut scratch, max_output);
        self.scratch = scratch;
        result.map(move |n| &self.scratch[..n])
    }

    /// Starts a new generation so that entries from previous calls read as
    /// empty. `len` positions will be used by this call.
    fn begin(&mut self, len: usize) -> u32 {
        let needed = len as u64 + 1;
        if self.base as u64 + needed >= u32::MAX as u64 {
            self.table.iter_mut().for_each(|e| *e = 0);
            self.base = 0;
        }
        let base = self.base;
        self.base = base + needed as u32;
        base
    }

    /// The liblzf loop over a destination slice of `max_output + 4` bytes.
    /// `op` indexes `dst`; "out of space" is judged against `out_end =
    /// max_output` with liblzf's exact tests.
    fn compress_slice(&mut self, input: &[u8], dst: &mut [u8], max_output: usize) -> Option<usize> {
        if self.table.is_empty() {
            self.table = vec![0; HASH_SIZE];
        }
        let base = self.begin(input.len());
        let table = &mut self.table[..];
        let in_end = input.len();
        let out_end = max_output;
        let mut ip = 0usize;
        let mut op = 1usize; // byte 0 is the header of the first literal run
        let mut lit = 0usize;

        let slot_of = |hval: u32| -> usize {
            ((hval >> (24 - HASH_LOG)).wrapping_sub(hval.wrapping_mul(5)) as usize) & (HASH_SIZE - 1)
        };
        let first = |ip: usize| -> u32 { ((input[ip] as u32) << 8) | input[ip + 1] as u32 };

        if in_end >= 3 {
            let mut hval = first(ip);
            while ip < in_end - 2 {
                hval = (hval << 8) | input[ip + 2] as u32;
                let slot = slot_of(hval);
                let stored = table[slot];
                table[slot] = base + ip as u32 + 1;
                // Decode the candidate: valid only if written in this call.
                let candidate = if stored > base { Some((stored - base - 1) as usize) } else { None };

                let matched = match candidate {
                    Some(r) => {
                        r < ip
                            && ip - r - 1 < MAX_OFFSET
                            && r > 0 // liblzf never references the first input byte
                            && input[r + 2] == input[ip + 2]
                            && input[r] == input[ip]
                            && input[r + 1] == input[ip + 1]
                    }
                    None => false,
                };

                if let (true, Some(r)) = (matched, candidate) {
                    let off = ip - r - 1;
                    let maxlen = (in_end - ip - 2).min(MAX_MATCH);

                    if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                        return None;
                    }
                    dst[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
                    op -= usize::from(lit == 0); // undo run if empty

                    let mut len = match_end(input, r, ip, maxlen);

                    len -= 2; // stored length: copied bytes - 2
                    ip += 1;
                    if len < 7 {
                        dst[op] = ((off >> 8) + (len << 5)) as u8;
                        op += 1;
                    } else {
                        dst[op] = ((off >> 8) + (7 << 5)) as u8;
                        dst[op + 1] = (len - 7) as u8;
                        op += 2;
                    }
                    dst[op] = off as u8;
                    op += 1;
                    lit = 0;
                    op += 1; // start run

                    ip += len + 1;
                    if ip >= in_end - 2 {
                        break;
                    }
                    // VERY_FAST: hash the two positions before the new ip.
                    ip -= 2;
                    hval = first(ip);
                    hval = (hval << 8) | input[ip + 2] as u32;
                    table[slot_of(hval)] = base + ip as u32 + 1;
                    ip += 1;
                    hval = (hval << 8) | input[ip + 2] as u32;
                    table[slot_of(hval)] = base + ip as u32 + 1;
                    ip += 1;
                } else {
                    if op >= out_end {
                        return None;
                    }
                    lit += 1;
                    dst[op] = input[ip];
                    op += 1;
                    ip += 1;
                    if lit == MAX_LITERAL {
                        dst[op - lit - 1] = (lit - 1) as u8;
                        lit = 0;
                        op += 1;
                    }
                }
            }
        }

        if op + 3 > out_end {
            return None;
        }
        while ip < in_end {
            lit += 1;
            dst[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LITERAL {
                dst[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
        dst[op - lit - 1] = (lit as u8).wrapping_sub(1);
        op -= usize::from(lit == 0);
        Some(op)
    }
}

/// Where liblzf's match extension stops for a 3-byte match of `ip` against `r` (bytes 0..3
/// equal): the `len` its loops leave, compared a word at a time. liblzf checks bytes 3..=18
/// unconditionally when `maxlen > 16`, then goes on one byte at a time while `len < maxlen`:
/// it stops at the first mismatch at or after 3, or at `maxlen` (at 19 at the least when the 16
/// unconditional bytes matched, and at 3 at the least otherwise).
#[inline]
fn match_end(input: &[u8], r: usize, ip: usize, maxlen: usize) -> usize {
    let limit = if maxlen > 16 { maxlen.max(19) } else { maxlen.max(3) };
    3 + common_prefix(&input[r + 3..r + limit], &input[ip + 3..ip + limit])
}

/// How many leading bytes `a` and `b` (of equal length) share.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes")) ^ u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Decompresses an LZF stream that must expand to exactly `expected_len`
/// bytes. Refuses, before allocating, any `expected_len` the input could not
/// possibly produce.
pub fn decompress(input: &[u8], expected_len: usize) -> RdbResult<Vec<u8>> {
    if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
        return Err(RdbError::new("Invalid LZF compressed string"));
    }
    let mut out = Vec::new();
    decompress_into(input, expected_len, &mut out)?;
    Ok(out)
}

/// Appends the decompressed bytes (exactly `expected_len` of them) to `out`.
/// On error `out` keeps its original length.
pub fn decompress_into(input: &[u8], expected_len: usize, out: &mut Vec<u8>) -> RdbResult<()> {
    const INVALID: RdbError = RdbError::new("Invalid LZF compressed string");
    if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
        return Err(INVALID);
    }
    let start = out.len();
    // Reserve what realistic ratios need up front; a stream claiming more
    // grows the buffer only as far as it really expands.
    out.reserve(expected_len.min(input.len().saturating_mul(16)));
    let end = start + expected_len;
    let result = (|| {
        let mut ip = 0usize;
        while ip < input.len() {
            let ctrl = input[ip] as usize;
            ip += 1;
            if ctrl < 32 {
                let run = ctrl + 1;
                if out.len() + run > end || ip + run > input.len() {
                    return Err(INVALID);
                }
                out.extend_from_slice(&input[ip..ip + run]);
                ip += run;
            } else {
                let mut len = ctrl >> 5;
                if ip >= input.len() {
                    return Err(INVALID);
                }
                if len == 7 {
                    len += input[ip] as usize;
                    ip += 1;
                    if ip >= input.len() {
                        return Err(INVALID);
                    }
                }
                let back = ((ctrl & 0x1f) << 8) + input[ip] as usize + 1;
                ip += 1;
                let copy = len + 2;
                let produced = out.len() - start;
                if out.len() + copy > end || back > produced {
                    return Err(INVALID);
                }
                let from = out.len() - back;
                if back >= copy {
                    out.extend_from_within(from..from + copy);
                } else if back == 1 {
                    // A run of one byte (zero padding compresses to these).
                    let byte = out[from];
                    out.resize(out.len() + copy, byte);
                } else {
                    // Overlapping copy: repeats the last `back` bytes. The output from `from`
                    // on is periodic with period `back`, so copying its whole length so far (a
                    // multiple of `back` until the last, partial, piece) continues the pattern:
                    // pieces of back, 2 back, 4 back... instead of one byte at a time.
                    let mut left = copy;
                    while left > 0 {
                        let piece = left.min(out.len() - from);
                        out.extend_from_within(from..from + piece);
                        left -= piece;
                    }
                }
            }
        }
        if out.len() != end {
            return Err(INVALID);
        }
        Ok(())
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Text-like data with repeats at various distances.
    fn compressible(seed: u64, len: usize) -> Vec<u8> {
        let words: [&[u8]; 8] = [b"redis ", b"keyfork ", b"value:", b"0123", b"abcdefgh", b"-", b"zz", b"hello world "];
        let noise = pseudo_random(seed, len);
        let mut out = Vec::with_capacity(len);
        let mut i = 0;
        while out.len() < len {
            let w = words[(noise[i % noise.len()] & 7) as usize];
            out.extend_from_slice(w);
            if noise[(i + 1) % noise.len()] < 40 {
                out.push(noise[(i + 2) % noise.len()]);
            }
            i += 3;
        }
        out.truncate(len);
        out
    }

    #[test]
    fn matches_redis_output_for_repeated_pattern() {
        // Redis 7.0.15 saved SET s:lzf ("abcdefghij" x 10) as c3 12 40 64 + this stream.
        let input = b"abcdefghij".repeat(10);
        let mut lzf = LzfCompressor::new();
        let mut out = Vec::new();
        assert_eq!(lzf.compress_bounded(&input, &mut out, input.len() - 4), Some(18));
        assert_eq!(
            out,
            [0x0a, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i', b'j', b'a', 0xe0, 0x4e, 0x09, 0x01, b'i', b'j']
        );
        assert_eq!(decompress(&out, 100).unwrap(), input);
    }

    #[test]
    fn round_trips_many_shapes_and_reuses_table() {
        let mut lzf = LzfCompressor::new();
        let mut out = Vec::new();
        let mut first_outputs = Vec::new();
        for round in 0..2 {
            let mut k = 0;
            for len in [1usize, 2, 3, 4, 5, 8, 21, 22, 31, 32, 33, 64, 100, 263, 264, 265, 266, 1000, 8191, 8192, 8193, 70000] {
                for input in [vec![b'a'; len], compressible(len as u64, len), pseudo_random(len as u64, len)] {
                    out.clear();
                    match lzf.compress(&input, &mut out) {
                        Some(n) => {
                            assert_eq!(n, out.len());
                            assert!(n < input.len());
                            assert_eq!(decompress(&out, input.len()).unwrap(), input);
                        }
                        None => assert!(out.is_empty()),
                    }
                    // Same output whatever ran before: the table reuse is invisible.
                    if round == 0 {
                        first_outputs.push(out.clone());
                    } else {
                        assert_eq!(first_outputs[k], out, "len {len}");
                    }
                    k += 1;
                }
            }
        }
    }

    #[test]
    fn random_data_is_declined_and_out_untouched() {
        let mut lzf = LzfCompressor::new();
        let mut out = b"prefix".to_vec();
        assert_eq!(lzf.compress(&pseudo_random(7, 500), &mut out), None);
        assert_eq!(out, b"prefix");
        assert_eq!(lzf.compress(b"", &mut out), None);
        assert_eq!(lzf.compress(b"x", &mut out), None);
    }

    #[test]
    fn appends_after_existing_bytes() {
        let mut lzf = LzfCompressor::new();
        let mut out = b"head".to_vec();
        let input = vec![b'x'; 200];
        let n = lzf.compress(&input, &mut out).unwrap();
        assert_eq!(&out[..4], b"head");
        assert_eq!(out.len(), 4 + n);
        assert_eq!(decompress(&out[4..], 200).unwrap(), input);
    }

    #[test]
    fn bounded_output_respects_the_limit() {
        let mut lzf = LzfCompressor::new();
        let input = compressible(3, 5000);
        let mut out = Vec::new();
        let n = lzf.compress(&input, &mut out).unwrap();
        for limit in [n.saturating_sub(3), n.saturating_sub(1), n, n + 1] {
            let mut o = Vec::new();
            if let Some(m) = lzf.compress_bounded(&input, &mut o, limit) {
                assert!(m <= limit);
                assert_eq!(decompress(&o, input.len()).unwrap(), input);
            }
        }
        let mut o = Vec::new();
        assert_eq!(lzf.compress_bounded(&input, &mut o, n + 8), Some(n));
    }

    #[test]
    fn corrupt_streams_are_errors() {
        let input = compressible(9, 3000);
        let mut lzf = LzfCompressor::new();
        let mut stream = Vec::new();
        lzf.compress(&input, &mut stream).unwrap();
        // Wrong expected lengths.
        assert!(decompress(&stream, input.len() - 1).is_err());
        assert!(decompress(&stream, input.len() + 1).is_err());
        // Every truncation fails (never panics).
        for cut in 0..stream.len() {
            assert!(decompress(&stream[..cut], input.len()).is_err(), "cut {cut}");
        }
        // Back-reference before the start of output.
        assert!(decompress(&[0x20, 0x05], 3).is_err());
        // Literal run longer than the input.
        assert!(decompress(&[0x05, b'a'], 6).is_err());
        // Long back-reference missing its bytes.
        assert!(decompress(&[0x00, b'a', 0xe0], 10).is_err());
        assert!(decompress(&[0x00, b'a', 0xe0, 0x01], 10).is_err());
        // Absurd claimed size is refused before allocating.
        assert!(decompress(&[0x00, b'a'], usize::MAX).is_err());
        assert!(decompress(&[0x00, b'a'], 1 << 40).is_err());
        // Random mutations: any result, but no panic, and Ok means right length.
        for seed in 1..=3000u64 {
            let mut s = stream.clone();
            let noise = pseudo_random(seed, 4);
            let at = (u32::from_le_bytes([noise[0], noise[1], 0, 0]) as usize) % s.len();
            s[at] = noise[2];
            if let Ok(v) = decompress(&s, input.len()) {
                assert_eq!(v.len(), input.len());
            }
        }
    }

    #[test]
    fn overlapping_copy_repeats_bytes() {
        // literal "ab", then copy 6 bytes from 2 back => "abababab"
        let stream = [0x01, b'a', b'b', 4 << 5, 0x01];
        assert_eq!(decompress(&stream, 8).unwrap(), b"abababab");
    }

    #[test]
    fn overlapping_copies_of_every_period_and_length_match_a_byte_loop() {
        // A literal run of `back` bytes, then one back-reference of `back` and `copy` bytes;
        // lzf_d.c copies such a reference one byte at a time.
        for back in 1..=32usize {
            let literal: Vec<u8> = (0..back).map(|i| (i * 37 + back) as u8).collect();
            for copy in 3..=264usize {
                let mut stream = vec![(back - 1) as u8];
                stream.extend_from_slice(&literal);
                let code = if copy - 2 >= 7 { 7 } else { copy - 2 };
                stream.push(((code << 5) | ((back - 1) >> 8)) as u8);
                if code == 7 {
                    stream.push((copy - 2 - 7) as u8);
                }
                stream.push(((back - 1) & 0xff) as u8);
                let mut expected = literal.clone();
                for i in 0..copy {
                    let byte = expected[i];
                    expected.push(byte);
                }
                assert_eq!(decompress(&stream, back + copy).unwrap(), expected, "back {back} copy {copy}");
                let mut appended = b"xy".to_vec();
                decompress_into(&stream, back + copy, &mut appended).unwrap();
                assert_eq!(&appended[2..], &expected[..]);
            }
        }
    }

    /// liblzf's match extension as it is written (16 unconditional steps when maxlen > 16,
    /// then one byte at a time), the reference `match_end` must agree with.
    fn match_end_bytewise(input: &[u8], r: usize, ip: usize, maxlen: usize) -> usize {
        let mut len = 2usize;
        let mut mismatched = false;
        if maxlen > 16 {
            for _ in 0..16 {
                len += 1;
                if input[r + len] != input[ip + len] {
                    mismatched = true;
                    break;
                }
            }
        }
        if !mismatched {
            loop {
                len += 1;
                if !(len < maxlen && input[r + len] == input[ip + len]) {
                    break;
                }
            }
        }
        len
    }

    #[test]
    fn word_match_extension_agrees_with_liblzf_loops() {
        // Inputs with long runs and near-repeats, every (r, ip) with a 3-byte match, every
        // maxlen the compressor can pass (it is at most in_end - ip - 2).
        let mut checked = 0;
        for seed in 1..=40u64 {
            let noise = pseudo_random(seed, 400);
            let mut input: Vec<u8> = noise.iter().enumerate().map(|(i, b)| if b % 7 == 0 { *b } else { b"abcab"[(i + seed as usize) % 5] }).collect();
            input.extend(std::iter::repeat(0u8).take(seed as usize * 7));
            let in_end = input.len();
            for ip in 1..in_end.saturating_sub(2) {
                for r in (ip.saturating_sub(40)..ip).filter(|&r| input[r..r + 3] == input[ip..ip + 3]) {
                    let top = (in_end - ip - 2).min(MAX_MATCH);
                    for maxlen in [0, 1, 2, 3, 4, 15, 16, 17, 18, 19, 20, 33, top] {
                        if maxlen > top {
                            continue;
                        }
                        assert_eq!(match_end(&input, r, ip, maxlen), match_end_bytewise(&input, r, ip, maxlen), "seed {seed} r {r} ip {ip} maxlen {maxlen}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
