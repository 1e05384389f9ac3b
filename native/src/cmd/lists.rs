//! List commands (Redis's t_list.c), including the blocking forms.
//!
//! Blocking commands validate everything (timeout included) before looking at the keys, serve
//! at once when they can, and otherwise return `CmdError::WouldBlock` (or, when the client may
//! not block, e.g. inside MULTI, the reply Redis gives on timeout right away). The TypeScript
//! side parks the client and runs the command again when one of its keys changes.
//!
//! `dirty` grows by the same amounts as Redis's `server.dirty`, and keyspace events come in
//! Redis's order (both checked against redis-server 7.0.15).

use crate::command::{CmdError, CmdResult, CommandRow, Ctx, NO_SUCH_KEY, OUT_OF_RANGE, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::LIST;
use crate::keyspace::Entry;
use crate::numfmt::{self, IntText};
use crate::types::list::List;
use crate::types::Value;
use super::timeout::parse_timeout;

pub const COMMANDS: &[CommandRow] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("linsert", linsert),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("blmpop", blmpop),
];

const POSITIVE: CmdError = CmdError::Msg("ERR value is out of range, must be positive");
const RANK_ZERO: CmdError = CmdError::Msg(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
);
const COUNT_NEGATIVE: CmdError = CmdError::Msg("ERR COUNT can't be negative");
const MAXLEN_NEGATIVE: CmdError = CmdError::Msg("ERR MAXLEN can't be negative");
const NUMKEYS: CmdError = CmdError::Msg("ERR numkeys should be greater than 0");
const COUNT_POSITIVE: CmdError = CmdError::Msg("ERR count should be greater than 0");

/// Which end of a list (Redis's LIST_HEAD / LIST_TAIL, LEFT / RIGHT).
#[derive(Clone, Copy, PartialEq)]
enum End { Head, Tail }

impl End {
    fn push_event(self) -> &'static str { if self == End::Head { "lpush" } else { "rpush" } }
    fn pop_event(self) -> &'static str { if self == End::Head { "lpop" } else { "rpop" } }
}

fn list_of(e: &mut Entry) -> Result<&mut List, CmdError> {
    match &mut e.value {
        Value::List(l) => Ok(l),
        _ => Err(WRONGTYPE),
    }
}

/// LEFT / RIGHT (case-insensitive), anything else a syntax error.
fn pop_name(end: End) -> &'static [u8] {
    match end { End::Head => b"LPOP", End::Tail => b"RPOP" }
}

fn end_name(end: End) -> &'static [u8] {
    match end { End::Head => b"left", End::Tail => b"right" }
}

fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if arg.eq_ignore_ascii_case(b"LEFT") { Ok(End::Head) }
    else if arg.eq_ignore_ascii_case(b"RIGHT") { Ok(End::Tail) }
    else { Err(SYNTAX) }
}

/// Converts a possibly negative index (from the tail) to a position, None when before the head.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index.checked_add(len as i64)? } else { index };
    usize::try_from(i).ok()
}


// ---------------------------------------------------------------------------------------------
// Pushes

fn lpush(ctx: &mut Ctx) -> CmdResult { push(ctx, End::Head, false) }
fn rpush(ctx: &mut Ctx) -> CmdResult { push(ctx, End::Tail, false) }
fn lpushx(ctx: &mut Ctx) -> CmdResult { push(ctx, End::Head, true) }
fn rpushx(ctx: &mut Ctx) -> CmdResult { push(ctx, End::Tail, true) }

/// [LR]PUSH[X] key element [element ...]
fn push(ctx: &mut Ctx, end: End, only_existing: bool) -> CmdResult {
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let entry = if only_existing {
        match ctx.ks.lookup(db, key, now) {
            Some(e) => e,
            None => {
                ctx.reply.int(0);
                return Ok(());
            }
        }
    } else {
        // An existing key of another type comes back as it is and fails the check below.
        ctx.ks.lookup_or_insert(db, key, now, || Value::List(List::new()))
    };
    let list = list_of(entry)?;
    for elem in ctx.args.from(2) {
        match end {
            End::Head => list.push_front(elem),
            End::Tail => list.push_back(elem),
        }
    }
    let len = list.len();
    let pushed = ctx.args.len() - 2;
    // pushGenericCommand replies before it notifies.
    ctx.reply.int(len as i64);
    ctx.ks.signal_modified(db, key);
    ctx.notify(LIST, end.push_event(), db, key);
    ctx.ks.dirty += pushed as u64;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops

fn lpop(ctx: &mut Ctx) -> CmdResult { pop(ctx, End::Head, "lpop") }
fn rpop(ctx: &mut Ctx) -> CmdResult { pop(ctx, End::Tail, "rpop") }

/// [LR]POP key [count]
fn pop(ctx: &mut Ctx, end: End, name: &str) -> CmdResult {
    if ctx.args.len() > 3 {
        return Err(CmdError::Owned(format!("ERR wrong number of arguments for '{name}' command")));
    }
    let count = if ctx.args.len() == 3 {
        match numfmt::parse_i64(ctx.args.get(2)) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(POSITIVE),
        }
    } else {
        None
    };
    let key = ctx.args.get(1);
    let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else {
        if count.is_some() { ctx.reply.null_array() } else { ctx.reply.null() }
        return Ok(());
    };
    let list = list_of(entry)?;
    let popped = match count {
        Some(0) => {
            ctx.reply.array(0);
            return Ok(());
        }
        None => {
            let elem = match end { End::Head => list.front(), End::Tail => list.back() };
            ctx.reply.bulk(elem.unwrap_or_default());
            match end { End::Head => list.drop_front(), End::Tail => list.drop_back() };
            1
        }
        Some(n) => pop_range_reply(list, end, n, ctx.reply),
    };
    after_pop(ctx, key, end, popped);
    Ok(())
}

/// Replies up to `count` elements from `end` (in pop order) as an array and removes them.
fn pop_range_reply(list: &mut List, end: End, count: u64, reply: &mut crate::reply::Reply) -> usize {
    let n = usize::try_from(count).unwrap_or(usize::MAX).min(list.len());
    reply.array(n);
    if n == 0 { return 0; }
    // Redis replies with LRANGE's iterator (compressing the nodes it walks, see
    // List::walked), then deletes the range.
    let len = list.len();
    match end {
        End::Head => {
            list.iter().take(n).for_each(|e| reply.bulk(e));
            list.walked(0, n - 1);
            list.drop_front_n(n);
        }
        End::Tail => {
            list.iter().rev().take(n).for_each(|e| reply.bulk(e));
            list.walked(len - n, len - 1);
            list.drop_back_n(n);
        }
    }
    n
}

fn after_pop(ctx: &mut Ctx, key: &[u8], end: End, popped: usize) {
    ctx.notify(LIST, end.pop_event(), ctx.db, key);
    ctx.ks.delete_if_empty(ctx.db, key);
    ctx.ks.signal_modified(ctx.db, key);
    ctx.ks.dirty += popped as u64;
}

// ---------------------------------------------------------------------------------------------
// Reads

/// LLEN key
fn llen(ctx: &mut Ctx) -> CmdResult {
    let len = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        None => 0,
        Some(e) => list_of(e)?.len(),
    };
    ctx.reply.int(len as i64);
    Ok(())
}

/// LINDEX key index
fn lindex(ctx: &mut Ctx) -> CmdResult {
    let Some(entry) = ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) else {
        ctx.reply.null();
        return Ok(());
    };
    let list = list_of(entry)?;
    let index = ctx.args.i64(2)?;
    let at = resolve_index(index, list.len());
    match at.and_then(|i| list.get(i)) {
        Some(e) => ctx.reply.bulk(e),
        None => ctx.reply.null(),
    }
    // The node read goes through quicklistCompress, as after Redis's iterator.
    if let Some(i) = at { list.walked(i, i); }
    Ok(())
}

/// The inclusive range [start, end] that LRANGE/LTRIM select, None when empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len_i = len as i64;
    let start = if start < 0 { (start.saturating_add(len_i)).max(0) } else { start };
    let end = if end < 0 { end.saturating_add(len_i) } else { end };
    if start > end || start >= len_i { return None; }
    Some((start as usize, end.min(len_i - 1) as usize))
}

/// LRANGE key start stop
fn lrange(ctx: &mut Ctx) -> CmdResult {
    let start = ctx.args.i64(2)?;
    let end = ctx.args.i64(3)?;
    let Some(entry) = ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) else {
        ctx.reply.array(0);
        return Ok(());
    };
    let list = list_of(entry)?;
    match clamp_range(start, end, list.len()) {
        None => ctx.reply.array(0),
        Some((s, e)) => {
            let n = e - s + 1;
            ctx.reply.array(n);
            for elem in list.iter_from(s).take(n) {
                ctx.reply.bulk(elem);
            }
            list.walked(s, e);
        }
    }
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < ctx.args.len() {
        let has_value = j + 1 < ctx.args.len();
        if ctx.args.is(j, b"RANK") && has_value {
            rank = ctx.args.i64(j + 1)?;
            if rank == 0 { return Err(RANK_ZERO); }
        } else if ctx.args.is(j, b"COUNT") && has_value {
            count = Some(numfmt::parse_i64(ctx.args.get(j + 1)).filter(|n| *n >= 0).ok_or(COUNT_NEGATIVE)?);
        } else if ctx.args.is(j, b"MAXLEN") && has_value {
            maxlen = numfmt::parse_i64(ctx.args.get(j + 1)).filter(|n| *n >= 0).ok_or(MAXLEN_NEGATIVE)?;
        } else {
            return Err(SYNTAX);
        }
        j += 2;
    }
    let Some(entry) = ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) else {
        if count.is_some() { ctx.reply.array(0) } else { ctx.reply.null() }
        return Ok(());
    };
    let list = list_of(entry)?;
    let value = ctx.args.get(2);
    // A negative rank scans from the tail. Like Redis, negating i64::MIN leaves it negative,
    // which then accepts the first match.
    let from_tail = rank < 0;
    if from_tail { rank = rank.wrapping_neg(); }
    let len = list.len();
    let elements: Box<dyn Iterator<Item = &[u8]>> = if from_tail { Box::new(list.iter().rev()) } else { Box::new(list.iter()) };
    let mut matches: i64 = 0;
    let mut found: Vec<i64> = Vec::new();
    // The last element Redis's iterator reached (it fetches one past MAXLEN before stopping).
    let mut reached: Option<usize> = None;
    for (scanned, elem) in elements.enumerate() {
        reached = Some(scanned);
        if maxlen != 0 && scanned as i64 >= maxlen { break; }
        if elem != value { continue; }
        matches += 1;
        if matches < rank { continue; }
        let position = if from_tail { (len - 1 - scanned) as i64 } else { scanned as i64 };
        found.push(position);
        match count {
            None => break,
            // Redis's stop test, overflow included (rank i64::MIN never stops early).
            Some(c) => if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c { break },
        }
    }
    if let Some(r) = reached {
        if from_tail { list.walked(len - 1 - r, len - 1) } else { list.walked(0, r) }
    }
    match count {
        Some(_) => {
            ctx.reply.array(found.len());
            found.iter().for_each(|p| ctx.reply.int(*p));
        }
        None => match found.first() {
            Some(p) => ctx.reply.int(*p),
            None => ctx.reply.null(),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Edits

/// LSET key index element
fn lset(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(1);
    let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else { return Err(NO_SUCH_KEY) };
    let list = list_of(entry)?;
    let index = ctx.args.i64(2)?;
    let Some(i) = resolve_index(index, list.len()) else { return Err(OUT_OF_RANGE) };
    if !list.set(i, ctx.args.get(3)) { return Err(OUT_OF_RANGE); }
    ctx.reply.ok();
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(LIST, "lset", ctx.db, key);
    ctx.ks.dirty += 1;
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element
fn linsert(ctx: &mut Ctx) -> CmdResult {
    let after = if ctx.args.is(2, b"AFTER") { true } else if ctx.args.is(2, b"BEFORE") { false } else { return Err(SYNTAX) };
    let key = ctx.args.get(1);
    let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else {
        ctx.reply.int(0);
        return Ok(());
    };
    let list = list_of(entry)?;
    let pivot = ctx.args.get(3);
    let found = list.iter().position(|e| e == pivot);
    let Some(at) = found else {
        // The search walked the whole list.
        let len = list.len();
        list.walked(0, len.saturating_sub(1));
        ctx.reply.int(-1);
        return Ok(());
    };
    list.insert_next_to(at, after, ctx.args.get(4));
    let len = list.len();
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(LIST, "linsert", ctx.db, key);
    ctx.ks.dirty += 1;
    ctx.reply.int(len as i64);
    Ok(())
}

/// LREM key count element
fn lrem(ctx: &mut Ctx) -> CmdResult {
    let count = ctx.args.i64(2)?;
    let key = ctx.args.get(1);
    let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else {
        ctx.reply.int(0);
        return Ok(());
    };
    let removed = list_of(entry)?.remove_matching(ctx.args.get(3), count);
    if removed > 0 {
        ctx.notify(LIST, "lrem", ctx.db, key);
        ctx.ks.delete_if_empty(ctx.db, key);
        ctx.ks.signal_modified(ctx.db, key);
        ctx.ks.dirty += removed as u64;
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop
fn ltrim(ctx: &mut Ctx) -> CmdResult {
    let start = ctx.args.i64(2)?;
    let end = ctx.args.i64(3)?;
    let key = ctx.args.get(1);
    let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else {
        ctx.reply.ok();
        return Ok(());
    };
    let list = list_of(entry)?;
    let before = list.len();
    match clamp_range(start, end, before) {
        Some((s, e)) => list.retain_range(s, e),
        None => list.clear(),
    }
    let removed = before - list.len();
    ctx.notify(LIST, "ltrim", ctx.db, key);
    ctx.ks.delete_if_empty(ctx.db, key);
    ctx.ks.signal_modified(ctx.db, key);
    ctx.ks.dirty += removed as u64;
    ctx.reply.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Moves

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
fn lmove(ctx: &mut Ctx) -> CmdResult {
    let from = parse_end(ctx.args.get(3))?;
    let to = parse_end(ctx.args.get(4))?;
    if !move_element(ctx, from, to)? { ctx.reply.null(); }
    Ok(())
}

/// RPOPLPUSH source destination
fn rpoplpush(ctx: &mut Ctx) -> CmdResult {
    if !move_element(ctx, End::Tail, End::Head)? { ctx.reply.null(); }
    Ok(())
}

/// Pops from args[1] at `from`, pushes onto args[2] at `to` and replies the element; false
/// (nothing written) when the source does not exist. Both keys are type-checked first.
fn move_element(ctx: &mut Ctx, from: End, to: End) -> Result<bool, CmdError> {
    let (src, dst) = (ctx.args.get(1), ctx.args.get(2));
    let (db, now) = (ctx.db, ctx.now_ms);
    match ctx.ks.lookup(db, src, now) {
        None => return Ok(false),
        Some(e) => { list_of(e)?; }
    }
    if let Some(e) = ctx.ks.lookup(db, dst, now) { list_of(e)?; }
    let Some(src_entry) = ctx.ks.lookup(db, src, now) else { return Ok(false) };
    let source = list_of(src_entry)?;
    let value = match from { End::Head => source.pop_front(), End::Tail => source.pop_back() };
    let Some(value) = value else { return Ok(false) };
    let dest = list_of(ctx.ks.lookup_or_insert(db, dst, now, || Value::List(List::new())))?;
    match to {
        End::Head => dest.push_front(&value),
        End::Tail => dest.push_back(&value),
    }
    ctx.ks.signal_modified(db, dst);
    ctx.notify(LIST, to.push_event(), db, dst);
    ctx.reply.bulk(&value);
    // Checked after the push: when source and destination are the same key the list is
    // never left empty.
    ctx.notify(LIST, from.pop_event(), db, src);
    ctx.ks.delete_if_empty(ctx.db, src);
    ctx.ks.signal_modified(db, src);
    ctx.ks.dirty += 1;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// LMPOP

struct MpopArgs {
    first_key: usize,
    numkeys: usize,
    end: End,
    count: u64,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at `numkeys_at`.
fn parse_mpop(ctx: &Ctx, numkeys_at: usize) -> Result<MpopArgs, CmdError> {
    let numkeys = numfmt::parse_i64(ctx.args.get(numkeys_at)).filter(|n| *n > 0).ok_or(NUMKEYS)?;
    let where_at = usize::try_from(numkeys).ok().and_then(|n| n.checked_add(numkeys_at + 1));
    let where_at = match where_at {
        Some(w) if w < ctx.args.len() => w,
        _ => return Err(SYNTAX),
    };
    let end = parse_end(ctx.args.get(where_at))?;
    let mut count: Option<u64> = None;
    let mut j = where_at + 1;
    while j < ctx.args.len() {
        if count.is_none() && ctx.args.is(j, b"COUNT") && j + 1 < ctx.args.len() {
            let n = numfmt::parse_i64(ctx.args.get(j + 1)).filter(|n| *n > 0).ok_or(COUNT_POSITIVE)?;
            count = Some(n as u64);
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    Ok(MpopArgs { first_key: numkeys_at + 1, numkeys: numkeys as usize, end, count: count.unwrap_or(1) })
}

/// Pops from the first non-empty list among the keys; replies `[key, [elements]]` and returns
/// true, or returns false (nothing written) when every key is missing.
fn mpop_serve(ctx: &mut Ctx, m: &MpopArgs) -> Result<bool, CmdError> {
    for k in m.first_key..m.first_key + m.numkeys {
        let key = ctx.args.get(k);
        let retrying = ctx.retrying;
        let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else { continue };
        let list = match list_of(entry) {
            Ok(l) => l,
            Err(_) if retrying => continue,
            Err(e) => return Err(e),
        };
        if list.is_empty() { continue; }
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        let popped = pop_range_reply(list, m.end, m.count, ctx.reply);
        after_pop(ctx, key, m.end, popped);
        ctx.rewrite(&[pop_name(m.end), key, &IntText::new(popped as i64)]);
        return Ok(true);
    }
    Ok(false)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx) -> CmdResult {
    let m = parse_mpop(ctx, 1)?;
    if !mpop_serve(ctx, &m)? { ctx.reply.null_array(); }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Blocking forms

fn blpop(ctx: &mut Ctx) -> CmdResult { blocking_pop(ctx, End::Head) }
fn brpop(ctx: &mut Ctx) -> CmdResult { blocking_pop(ctx, End::Tail) }

/// B[LR]POP key [key ...] timeout
fn blocking_pop(ctx: &mut Ctx, end: End) -> CmdResult {
    let last = ctx.args.len() - 1;
    let timeout_ms = parse_timeout(ctx.args.get(last))?;
    for k in 1..last {
        let key = ctx.args.get(k);
        let retrying = ctx.retrying;
        let Some(entry) = ctx.ks.lookup(ctx.db, key, ctx.now_ms) else { continue };
        let list = match list_of(entry) {
            Ok(l) => l,
            Err(_) if retrying => continue,
            Err(e) => return Err(e),
        };
        let Some(elem) = (match end { End::Head => list.front(), End::Tail => list.back() }) else { continue };
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        ctx.reply.bulk(elem);
        match end { End::Head => list.drop_front(), End::Tail => list.drop_back() };
        after_pop(ctx, key, end, 1);
        ctx.rewrite(&[pop_name(end), key]);
        return Ok(());
    }
    if ctx.may_block { return Err(CmdError::block(timeout_ms)); }
    ctx.reply.null_array();
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx) -> CmdResult {
    let from = parse_end(ctx.args.get(3))?;
    let to = parse_end(ctx.args.get(4))?;
    let timeout_ms = parse_timeout(ctx.args.get(5))?;
    blocking_move(ctx, from, to, timeout_ms, false)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx) -> CmdResult {
    let timeout_ms = parse_timeout(ctx.args.get(3))?;
    blocking_move(ctx, End::Tail, End::Head, timeout_ms, true)
}

fn blocking_move(ctx: &mut Ctx, from: End, to: End, timeout_ms: i64, rpoplpush: bool) -> CmdResult {
    if ctx.retrying && source_has_other_type(ctx) { return Err(CmdError::block(timeout_ms)); }
    if move_element(ctx, from, to)? {
        // Propagated as the non-blocking form. A client served after blocking gets Redis's
        // serveClientBlockedOnList spelling: the positions in lower case.
        let args = ctx.args;
        let (src, dst) = (args.get(1), args.get(2));
        if rpoplpush {
            ctx.rewrite(&[b"RPOPLPUSH", src, dst]);
        } else if ctx.retrying {
            ctx.rewrite(&[b"LMOVE", src, dst, end_name(from), end_name(to)]);
        } else {
            ctx.rewrite(&[b"LMOVE", src, dst, args.get(3), args.get(4)]);
        }
        return Ok(());
    }
    if ctx.may_block { return Err(CmdError::block(timeout_ms)); }
    // Redis answers a null *bulk* here (addReplyNull), though a timeout later is a null array.
    ctx.reply.null();
    Ok(())
}

/// A retried BLMOVE whose source now holds another type keeps waiting (Redis serves only lists).
fn source_has_other_type(ctx: &mut Ctx) -> bool {
    let (db, now, src) = (ctx.db, ctx.now_ms, ctx.args.get(1));
    matches!(ctx.ks.lookup(db, src, now), Some(e) if !matches!(e.value, Value::List(_)))
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx) -> CmdResult {
    let m = parse_mpop(ctx, 2)?;
    let timeout_ms = parse_timeout(ctx.args.get(1))?;
    if mpop_serve(ctx, &m)? { return Ok(()); }
    if ctx.may_block { return Err(CmdError::block(timeout_ms)); }
    ctx.reply.null_array();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_clamp_like_lrange() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(3, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(clamp_range(0, -1, 0), None);
    }
}
