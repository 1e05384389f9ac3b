//! The fast path: one native call runs a whole read batch of plain data commands.
//!
//! TypeScript owns the protocol and dispatch; this module repeats only the part of them that a
//! plain client's data command needs — RESP multibulk framing, the name lookup, the arity,
//! MISCONF and maxmemory checks — for the commands TypeScript registered as eligible (native, not blocking,
//! no TypeScript wrapper). Inline requests are framed here too when their words are plain (no
//! quotes nor the control bytes sdssplitargs treats apart). At anything else (a quoted inline
//! line, a malformed or incomplete request, an
//! unknown or TypeScript command, a wrong arity, a refused write, a full output) it stops and
//! hands the rest back, so every reply and error stays TypeScript's to give. Per command this
//! saves the N-API round trip and the JS dispatch, which dominate at redis-benchmark -P 16.

use std::time::{Duration, Instant};
use crate::command::{Args, CommandRow};
use crate::keyspace::evict::EvictResult;
use crate::keyspace::Keyspace;
use crate::reply::Reply;
use crate::settings::Settings;
use crate::{run_command, Call, Ran};
use std::collections::HashMap;

/// Redis's limit on a multibulk count.
const MULTIBULK_MAX: usize = 1024 * 1024;
/// Stop before a command when less than this much output room is left (TypeScript grows it).
const MIN_FREE: usize = 16 * 1024;
/// Names longer than this are never fast-path commands.
const NAME_MAX: usize = 32;
/// Redis's PROTO_INLINE_MAX_SIZE: a longer inline line without its newline is an error
/// (TypeScript's to give).
const INLINE_MAX: usize = 64 * 1024;

#[derive(Clone, Copy)]
struct FastCommand {
    index: usize,
    arity: i32,
    is_write: bool,
    /// Refused when memory is over maxmemory with nothing left to evict (Redis's denyoom).
    deny_oom: bool,
    /// Blocks only when given a BLOCK option before STREAMS (XREAD, XREADGROUP): run here only
    /// without one (the batch cannot park a client).
    block_option: bool,
    /// Its keys as COMMAND INFO's first key, last key (negative: from the end) and step; None
    /// when cluster mode must leave it to TypeScript (movable keys, a cluster-mode refusal).
    keys: Option<(i32, i32, i32)>,
}

/// Cluster mode: every key of the command hashes to one slot the node serves (a command
/// without keys is never redirected). Anything else is TypeScript's to route or refuse.
fn keys_served(args: &Args, keys: (i32, i32, i32), served: &[u8]) -> bool {
    let (first, last, step) = keys;
    if first <= 0 { return true; }
    let argc = args.len() as i32;
    let last = if last < 0 { argc + last } else { last };
    if step <= 0 || last >= argc || last < first { return false; }
    let mut slot = usize::MAX;
    let mut i = first;
    while i <= last {
        let s = crate::keyspace::slots::key_hash_slot(args.get(i as usize));
        if slot != usize::MAX && s != slot { return false; }
        slot = s;
        i += step;
    }
    served[slot >> 3] & (1 << (slot & 7)) != 0
}

/// The commands eligible for the fast path, by lower-case name.
#[derive(Default)]
pub struct FastTable {
    by_name: HashMap<Box<[u8]>, FastCommand>,
    /// The last name resolved, as sent: pipelines repeat one command.
    last: Option<(Box<[u8]>, FastCommand)>,
}

impl FastTable {
    #[allow(clippy::too_many_arguments)]
    pub fn add(&mut self, name: &str, index: usize, arity: i32, is_write: bool, deny_oom: bool, block_option: bool, keys: Option<(i32, i32, i32)>) {
        self.by_name.insert(name.as_bytes().into(), FastCommand { index, arity, is_write, deny_oom, block_option, keys });
        self.last = None;
    }

    fn find(&mut self, sent: &[u8]) -> Option<FastCommand> {
        if let Some((name, cmd)) = &self.last {
            if &**name == sent { return Some(*cmd); }
        }
        if sent.len() > NAME_MAX { return None; }
        let mut lower = [0u8; NAME_MAX];
        for (d, s) in lower.iter_mut().zip(sent) { *d = s.to_ascii_lowercase(); }
        let cmd = *self.by_name.get(&lower[..sent.len()])?;
        self.last = Some((sent.into(), cmd));
        Some(cmd)
    }
}

/// What the batch is allowed to do, from TypeScript.
pub struct BatchLimits {
    pub db: usize,
    pub flags: i64,
    pub client_id: u64,
    pub max_bulk: usize,
    pub max_commands: usize,
    /// MISCONF is in force: stop at the first write command.
    pub writes_refused: bool,
}

pub struct BatchResult {
    /// Input bytes consumed (whole commands only).
    pub consumed: usize,
    pub out_pos: usize,
    /// The last command's reply did not fit: it waits in `pending` (takeReply).
    pub pending: bool,
    /// Time spent evicting before the commands (maxmemory): Redis's processCommand evicts
    /// before call(), so it is no command's duration (callers take it out of their timing).
    pub evict_time: Duration,
}

/// Why framing stopped short of a complete request.
#[derive(Debug, PartialEq, Eq)]
pub enum Unframed {
    /// Well-formed so far: the rest has not arrived yet.
    More,
    /// Not a request the fast path frames (TypeScript decides what it is).
    Other,
}

/// Reads a CRLF-terminated non-negative decimal starting at `at`; (value, position after CRLF).
fn read_count(input: &[u8], mut at: usize) -> Result<(usize, usize), Unframed> {
    let mut v: usize = 0;
    let start = at;
    // string2ll's rule: no leading zeros (TypeScript answers those with a protocol error).
    if input.get(at) == Some(&b'0') && input.get(at + 1).is_some_and(|c| c.is_ascii_digit()) { return Err(Unframed::Other); }
    while at < input.len() && input[at].is_ascii_digit() {
        v = v.checked_mul(10).and_then(|v| v.checked_add((input[at] - b'0') as usize)).ok_or(Unframed::Other)?;
        at += 1;
        if at - start > 18 { return Err(Unframed::Other); }
    }
    if at + 1 >= input.len() {
        // Digits (or nothing) up to the end, or a lone CR there: the line may still complete.
        let so_far_fine = at == input.len() || input[at] == b'\r';
        return Err(if so_far_fine { Unframed::More } else { Unframed::Other });
    }
    if at == start || input[at] != b'\r' || input[at + 1] != b'\n' { return Err(Unframed::Other); }
    Ok((v, at + 2))
}

/// Frames one request at `pos` into `offsets` (start/end pairs): the position after it, or why
/// it is not (yet) a complete, well-formed request the fast path frames. An inline line with
/// no words (no offsets) is framed too: it is skipped, as Redis skips it.
pub fn frame(input: &[u8], pos: usize, max_bulk: usize, offsets: &mut Vec<i32>) -> Result<usize, Unframed> {
    match input.get(pos) {
        None => return Err(Unframed::More),
        Some(b'*') => {}
        Some(_) => return frame_inline(input, pos, offsets),
    }
    let (argc, mut at) = read_count(input, pos + 1)?;
    if argc == 0 || argc > MULTIBULK_MAX { return Err(Unframed::Other); }
    offsets.clear();
    for _ in 0..argc {
        match input.get(at) {
            None => return Err(Unframed::More),
            Some(b'$') => {}
            Some(_) => return Err(Unframed::Other),
        }
        let (len, data) = read_count(input, at + 1)?;
        if len > max_bulk { return Err(Unframed::Other); }
        let end = data.checked_add(len).ok_or(Unframed::Other)?;
        if end + 2 > input.len() {
            let tail_fine = input.get(end).is_none_or(|&c| c == b'\r');
            return Err(if tail_fine { Unframed::More } else { Unframed::Other });
        }
        if input[end] != b'\r' || input[end + 1] != b'\n' { return Err(Unframed::Other); }
        offsets.push(data as i32);
        offsets.push(end as i32);
        at = end + 2;
    }
    Ok(at)
}

/// Frames an inline request (Redis's processInlineBuffer + sdssplitargs) when its words are
/// plain: bytes other than quotes, NUL, \v, \f and CR, separated by spaces and tabs, up to an LF
/// or CRLF. Those split the same under every rule of sdssplitargs; a line holding anything else
/// (quotes and their escapes, a NUL hiding the newline from strchr, a lone CR, \v or \f, which
/// separate arguments only at their start) is Other, for TypeScript's full parser.
fn frame_inline(input: &[u8], pos: usize, offsets: &mut Vec<i32>) -> Result<usize, Unframed> {
    offsets.clear();
    let mut word: Option<usize> = None;
    let mut at = pos;
    while at < input.len() {
        let end_of_line = match input[at] {
            b'\n' => Some(at + 1),
            b'\r' => match input.get(at + 1) {
                Some(b'\n') => Some(at + 2),
                Some(_) => return Err(Unframed::Other),
                None => break,
            },
            b'"' | b'\'' | 0 | 0x0b | 0x0c => return Err(Unframed::Other),
            _ => None,
        };
        let blank = matches!(input[at], b' ' | b'\t') || end_of_line.is_some();
        if blank {
            if let Some(start) = word.take() {
                offsets.push(start as i32);
                offsets.push(at as i32);
            }
        } else if word.is_none() {
            word = Some(at);
        }
        if let Some(next) = end_of_line { return Ok(next); }
        at += 1;
    }
    Err(if input.len() - pos > INLINE_MAX { Unframed::Other } else { Unframed::More })
}

/// An XREAD / XREADGROUP with a BLOCK option: its options walked as its parser walks them (GROUP
/// and COUNT take arguments, STREAMS ends them), so a group or consumer named BLOCK or STREAMS
/// is not mistaken for one.
fn asks_to_block(args: &Args) -> bool {
    let mut i = 1;
    while i < args.len() {
        if args.is(i, b"BLOCK") { return true; }
        if args.is(i, b"STREAMS") { return false; }
        i += if args.is(i, b"GROUP") { 3 } else if args.is(i, b"COUNT") { 2 } else { 1 };
    }
    false
}

/// Runs commands from `input[pos..]` until one needs TypeScript. Each executed command is logged
/// in `log` as (native index, reply position or -1 when pending) for TypeScript's statistics.
#[allow(clippy::too_many_arguments)]
pub fn run(
    table: &mut FastTable,
    commands: &[CommandRow],
    ks: &mut Keyspace,
    settings: &Settings,
    reply: &mut Reply,
    pending: &mut Option<Vec<u8>>,
    scratch: &mut Vec<i32>,
    input: &[u8],
    mut pos: usize,
    out: &mut [u8],
    mut out_pos: usize,
    limits: &BatchLimits,
    mut log: impl FnMut(usize, i32),
) -> BatchResult {
    let start = pos;
    let mut executed = 0;
    let mut evict_time = Duration::ZERO;
    while executed < limits.max_commands && pos < input.len() && out.len().saturating_sub(out_pos) >= MIN_FREE {
        let before = pos;
        let Ok(next) = frame(input, pos, limits.max_bulk, scratch) else { break };
        if scratch.is_empty() {
            // An inline line of blanks: nothing to run.
            pos = next;
            continue;
        }
        let name = &input[scratch[0] as usize..scratch[1] as usize];
        let Some(cmd) = table.find(name) else { break };
        let argc = (scratch.len() / 2) as i32;
        if (cmd.arity > 0 && argc != cmd.arity) || argc < -cmd.arity { break; }
        if cmd.is_write && limits.writes_refused { break; }
        // maxmemory: evict before every command, as Redis does; TypeScript words the refusal.
        if settings.maxmemory > 0 {
            let t = Instant::now();
            let result = ks.perform_evictions(settings, crate::now_ms());
            evict_time += t.elapsed();
            if result == EvictResult::Fail && cmd.deny_oom { break; }
        }
        let Ok(args) = Args::new(input, scratch) else { break };
        if cmd.block_option && asks_to_block(&args) { break; }
        if let Some(served) = &settings.cluster_served {
            match cmd.keys {
                Some(keys) if keys_served(&args, keys, served) => {}
                _ => break,
            }
        }
        let call = Call { db: limits.db, args, flags: limits.flags, client_id: limits.client_id };
        let ran = run_command(ks, settings, reply, pending, commands[cmd.index].1, call, out, out_pos);
        pos = next;
        executed += 1;
        match ran {
            Ran::Written(n) => {
                log(cmd.index, out_pos as i32);
                out_pos += n;
            }
            Ran::Pending => {
                log(cmd.index, -1);
                return BatchResult { consumed: pos - start, out_pos, pending: true, evict_time };
            }
            // Blocking commands are never registered for the fast path; should one answer
            // WOULD_BLOCK anyway, nothing was written and TypeScript runs it again itself.
            Ran::WouldBlock(..) => {
                pos = before;
                break;
            }
        }
    }
    BatchResult { consumed: pos - start, out_pos, pending: false, evict_time }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(wire: &[u8]) -> Option<(usize, Vec<i32>)> {
        let mut offs = Vec::new();
        frame(wire, 0, 1 << 20, &mut offs).ok().map(|n| (n, offs))
    }

    #[test]
    fn frames_complete_requests_only() {
        assert_eq!(framed(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), Some((20, vec![8, 11, 17, 18])));
        for bad in [&b"*2\r\n$3\r\nGET\r\n$1\r\nk"[..], b"*2\r\n$3\r\nGET\r\n", b"*0\r\n", b"*-1\r\n",
                    b"*1\r\n$-1\r\n", b"*1\r\n+GET\r\n", b"*1\r\n$3\r\nGETX\r\n", b"*1x\r\n", b"*1\r\n$03\r\nGET\r\n", b"*01\r\n$3\r\nGET\r\n"] {
            assert_eq!(framed(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn tells_an_unfinished_request_from_another_one() {
        let wire = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let mut offs = Vec::new();
        for cut in 0..wire.len() {
            assert_eq!(frame(&wire[..cut], 0, 1 << 20, &mut offs), Err(Unframed::More), "cut at {cut}");
        }
        for other in [&b"GET \"k\"\r\n"[..], b"*2\r\n$3\r\nGETx", b"*2x", b"*2\rx", b"*2\r\n+", b"*0\r\n"] {
            assert_eq!(frame(other, 0, 1 << 20, &mut offs), Err(Unframed::Other), "{:?}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn frames_plain_inline_lines_as_sdssplitargs_splits_them() {
        let words = |wire: &[u8]| -> Option<(usize, Vec<String>)> {
            framed(wire).map(|(n, offs)| (n, offs.chunks(2).map(|p| String::from_utf8_lossy(&wire[p[0] as usize..p[1] as usize]).into_owned()).collect()))
        };
        let owned = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(words(b"PING\r\n"), Some((6, owned(&["PING"]))));
        assert_eq!(words(b"SET k v\nGET k\r\n"), Some((8, owned(&["SET", "k", "v"]))));
        assert_eq!(words(b" \t SET\t k  v \t\r\n"), Some((16, owned(&["SET", "k", "v"]))));
        assert_eq!(words(b"\r\nPING\r\n"), Some((2, owned(&[]))));
        assert_eq!(words(b"   \n"), Some((4, owned(&[]))));
        assert_eq!(words(b"ECHO \xff\x01x\\y\r\n"), Some((12, owned(&["ECHO", "\u{fffd}\u{1}x\\y"]))));
        let mut offs = Vec::new();
        for more in [&b"PING"[..], b"PING\r", b"SET k", b" "] {
            assert_eq!(frame(more, 0, 1 << 20, &mut offs), Err(Unframed::More), "{:?}", String::from_utf8_lossy(more));
        }
        for other in [&b"ECHO \"a b\"\r\n"[..], b"ECHO 'a'\r\n", b"ECHO a\0b\r\n", b"PING\rx\r\n", b"ECHO a\x0bb\r\n", b"\x0cPING\r\n"] {
            assert_eq!(frame(other, 0, 1 << 20, &mut offs), Err(Unframed::Other), "{:?}", String::from_utf8_lossy(other));
        }
        let long = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(frame(&long, 0, 1 << 20, &mut offs), Err(Unframed::Other));
        assert_eq!(frame(&long[..INLINE_MAX], 0, 1 << 20, &mut offs), Err(Unframed::More));
    }

    #[test]
    fn a_stream_read_asks_to_block_only_with_a_block_option() {
        let asks = |words: &[&str]| {
            let wire: Vec<u8> = words.iter().flat_map(|w| format!("${}\r\n{w}\r\n", w.len()).into_bytes()).collect();
            let wire = [format!("*{}\r\n", words.len()).into_bytes(), wire].concat();
            let (_, offs) = framed(&wire).expect("framed");
            asks_to_block(&Args::new(&wire, &offs).expect("args"))
        };
        assert!(asks(&["XREAD", "COUNT", "1", "block", "0", "STREAMS", "s", "$"]));
        assert!(asks(&["XREADGROUP", "GROUP", "STREAMS", "c", "BLOCK", "0", "STREAMS", "s", ">"]));
        assert!(!asks(&["XREAD", "STREAMS", "BLOCK", "0"]));
        assert!(!asks(&["XREADGROUP", "GROUP", "BLOCK", "BLOCK", "COUNT", "1", "STREAMS", "s", ">"]));
        assert!(!asks(&["XREAD", "COUNT", "BLOCK", "STREAMS", "s", "0"]));
    }

    #[test]
    fn respects_the_bulk_limit() {
        let mut offs = Vec::new();
        assert_eq!(frame(b"*1\r\n$5\r\nhello\r\n", 0, 4, &mut offs), Err(Unframed::Other));
    }
}
