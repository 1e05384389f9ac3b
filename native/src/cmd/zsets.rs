//! Sorted-set commands (Redis 7.0's t_zset.c), replies and errors as Redis gives them.
//! This file has the table, the shared helpers and the single-key commands; ranges, pops and
//! the multi-key set operations live in the submodules.

use crate::command::{remove_members, CmdError, CmdResult, CommandRow, Ctx, NOT_FLOAT, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::ZSET;
use crate::keyspace::Entry;
use crate::reply::Reply;
use crate::cmd::random_picks::RepeatedPicks;
use crate::types::zset::{AddFlags, AddOutcome, ZSet};
use crate::types::Value;

pub(crate) mod parse;
mod pop;
pub(crate) mod range;
mod setops;

use parse::parse_double_arg;
use super::scan::{scan_prelude, ScanOptions};

pub const COMMANDS: &[CommandRow] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zrandmember", zrandmember),
    ("zscan", zscan),
    ("zcount", range::zcount),
    ("zlexcount", range::zlexcount),
    ("zrange", range::zrange),
    ("zrangestore", range::zrangestore),
    ("zrevrange", range::zrevrange),
    ("zrangebyscore", range::zrangebyscore),
    ("zrevrangebyscore", range::zrevrangebyscore),
    ("zrangebylex", range::zrangebylex),
    ("zrevrangebylex", range::zrevrangebylex),
    ("zremrangebyrank", range::zremrangebyrank),
    ("zremrangebyscore", range::zremrangebyscore),
    ("zremrangebylex", range::zremrangebylex),
    ("zpopmin", pop::zpopmin),
    ("zpopmax", pop::zpopmax),
    ("bzpopmin", pop::bzpopmin),
    ("bzpopmax", pop::bzpopmax),
    ("zmpop", pop::zmpop),
    ("bzmpop", pop::bzmpop),
    ("zunion", setops::zunion),
    ("zinter", setops::zinter),
    ("zdiff", setops::zdiff),
    ("zunionstore", setops::zunionstore),
    ("zinterstore", setops::zinterstore),
    ("zdiffstore", setops::zdiffstore),
    ("zintercard", setops::zintercard),
];

/// The sorted set held by an entry, or WRONGTYPE.
pub fn as_zset(e: &Entry) -> Result<&ZSet, CmdError> {
    match &e.value {
        Value::ZSet(z) => Ok(z),
        _ => Err(WRONGTYPE),
    }
}

pub fn as_zset_mut(e: &mut Entry) -> Result<&mut ZSet, CmdError> {
    match &mut e.value {
        Value::ZSet(z) => Ok(z),
        _ => Err(WRONGTYPE),
    }
}

/// Writes `n` entries as the range commands reply them: members alone, or with scores as a
/// flat array in RESP2 and [member, double] pairs in RESP3.
pub fn reply_entries<'a>(reply: &mut Reply, n: usize, withscores: bool, entries: impl Iterator<Item = (&'a [u8], f64)>) {
    if withscores && !reply.resp3 { reply.array(2 * n) } else { reply.array(n) }
    for (m, s) in entries.take(n) { reply_entry(reply, withscores, m, s); }
}

/// One member of `reply_entries` (a [member, score] pair in RESP3).
fn reply_entry(reply: &mut Reply, withscores: bool, m: &[u8], s: f64) {
    if withscores && reply.resp3 { reply.array(2); }
    reply.bulk(m);
    if withscores { reply.double(s); }
}


pub(crate) fn zadd(ctx: &mut Ctx) -> CmdResult { zadd_generic(ctx, false) }
fn zincrby(ctx: &mut Ctx) -> CmdResult { zadd_generic(ctx, true) }

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and ZINCRBY (which
/// goes through the same option loop, as in Redis).
fn zadd_generic(ctx: &mut Ctx, zincrby: bool) -> CmdResult {
    let args = ctx.args;
    let mut flags = AddFlags { incr: zincrby, ..AddFlags::default() };
    let mut ch = false;
    let mut first = 2;
    while first < args.len() {
        let opt = args.get(first);
        if opt.eq_ignore_ascii_case(b"nx") { flags.nx = true }
        else if opt.eq_ignore_ascii_case(b"xx") { flags.xx = true }
        else if opt.eq_ignore_ascii_case(b"ch") { ch = true }
        else if opt.eq_ignore_ascii_case(b"incr") { flags.incr = true }
        else if opt.eq_ignore_ascii_case(b"gt") { flags.gt = true }
        else if opt.eq_ignore_ascii_case(b"lt") { flags.lt = true }
        else { break }
        first += 1;
    }
    let elements = args.len() - first;
    if elements % 2 != 0 || elements == 0 { return Err(SYNTAX); }
    let pairs = elements / 2;
    if flags.nx && flags.xx { return Err(CmdError::Msg("ERR XX and NX options at the same time are not compatible")); }
    if (flags.gt && flags.nx) || (flags.lt && flags.nx) || (flags.gt && flags.lt) {
        return Err(CmdError::Msg("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    if flags.incr && pairs > 1 { return Err(CmdError::Msg("ERR INCR option supports a single increment-element pair")); }
    // Every score is checked before anything changes: the command runs fully or not at all.
    let mut scores = Vec::with_capacity(pairs);
    for j in 0..pairs {
        scores.push(parse_double_arg(args.get(first + 2 * j)).ok_or(NOT_FLOAT)?);
    }
    let key = args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let exists = match ctx.ks.lookup(db, key, now) {
        Some(e) => {
            as_zset(e)?;
            true
        }
        None => false,
    };
    let (mut added, mut updated, mut processed) = (0usize, 0usize, 0usize);
    let mut last_score = 0.0;
    let mut nan = false;
    if exists || !flags.xx {
        let settings = ctx.settings;
        let e = ctx.ks.lookup_or_insert(db, key, now, || Value::ZSet(ZSet::default()));
        let z = as_zset_mut(e)?;
        for (j, &score) in scores.iter().enumerate() {
            let member = args.get(first + 2 * j + 1);
            match z.add(score, member, flags, settings) {
                AddOutcome::Added(s) => { added += 1; processed += 1; last_score = s; }
                AddOutcome::Updated(s) => { updated += 1; processed += 1; last_score = s; }
                AddOutcome::Same(s) => { processed += 1; last_score = s; }
                AddOutcome::Skipped => {}
                AddOutcome::Nan => { nan = true; break; }
            }
        }
    }
    // zaddGenericCommand replies, then notifies.
    if nan {
        ctx.reply.error("ERR resulting score is not a number (NaN)");
    } else if flags.incr {
        if processed > 0 { ctx.reply.double(last_score) } else { ctx.reply.null() }
    } else {
        ctx.reply.int((if ch { added + updated } else { added }) as i64);
    }
    if added + updated > 0 {
        ctx.ks.signal_modified(db, key);
        ctx.notify(ZSET, if flags.incr { "zincr" } else { "zadd" }, db, key);
        ctx.ks.dirty += (added + updated) as u64;
    }
    Ok(())
}

/// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx) -> CmdResult {
    remove_members(ctx, as_zset_mut, |z, m| z.remove(m), (ZSET, "zrem"))
}

fn zcard(ctx: &mut Ctx) -> CmdResult {
    let n = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        Some(e) => as_zset(e)?.len(),
        None => 0,
    };
    ctx.reply.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx) -> CmdResult {
    let score = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        Some(e) => as_zset(e)?.score(ctx.args.get(2)),
        None => None,
    };
    match score {
        Some(s) => ctx.reply.double(s),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]: a missing key answers nulls, not an empty array.
fn zmscore(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let reply = &mut *ctx.reply;
    let z = match ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) {
        Some(e) => Some(as_zset(e)?),
        None => None,
    };
    reply.array(args.len() - 2);
    for m in args.from(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply.double(s),
            None => reply.null(),
        }
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx) -> CmdResult { zrank_generic(ctx, false) }
fn zrevrank(ctx: &mut Ctx) -> CmdResult { zrank_generic(ctx, true) }

fn zrank_generic(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let rank = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        Some(e) => {
            let z = as_zset(e)?;
            z.rank(ctx.args.get(2)).map(|r| if rev { z.len() - 1 - r } else { r })
        }
        None => None,
    };
    match rank {
        Some(r) => ctx.reply.int(r as i64),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    if args.len() == 2 {
        let reply = &mut *ctx.reply;
        match ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) {
            None => reply.null(),
            Some(e) => {
                let z = as_zset(e)?;
                let (m, _) = z.get(z.random_rank().expect("stored sets are never empty")).expect("rank in range");
                reply.bulk(m);
            }
        }
        return Ok(());
    }
    let count = args.i64(2)?;
    if count == i64::MIN {
        return Err(CmdError::Msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    let withscores = match args.len() {
        3 => false,
        4 if args.is(3, b"withscores") => true,
        _ => return Err(SYNTAX),
    };
    if withscores && (count < -(i64::MAX / 2) || count > i64::MAX / 2) {
        return Err(CmdError::Msg("ERR value is out of range"));
    }
    let reply = &mut *ctx.reply;
    let Some(e) = ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) else {
        reply.array(0);
        return Ok(());
    };
    let z = as_zset(e)?;
    let size = z.len();
    if count == 0 {
        reply.array(0);
    } else if count < 0 {
        // Repeats allowed: each pick is independent.
        let n = count.unsigned_abs();
        let sampled = size.min(64) as u64;
        let payload: u64 = z.iter().take(64).map(|(m, _)| m.len() as u64 + if withscores { 24 } else { 0 }).sum();
        let picks = RepeatedPicks::begin(reply, n, payload / sampled.max(1))?;
        let n = n as usize;
        if withscores && !reply.resp3 { reply.array(2 * n) } else { reply.array(n) }
        for _ in 0..n {
            if picks.client_closing(reply) { break; }
            let (m, s) = z.get(z.random_rank().expect("non-empty")).expect("rank in range");
            reply_entry(reply, withscores, m, s);
        }
    } else if count as usize >= size {
        // The whole set; Redis 7.0 walks it from the highest score down here.
        reply_entries(reply, size, withscores, z.iter_rev());
    } else {
        let ranks = distinct_random_ranks(size, count as usize);
        reply_entries(reply, ranks.len(), withscores, ranks.iter().map(|&r| z.get(r).expect("rank in range")));
    }
    Ok(())
}

/// `count` distinct ranks below `size` (count < size), in random order.
fn distinct_random_ranks(size: usize, count: usize) -> Vec<usize> {
    use crate::dict::random_u64;
    if count * 2 > size {
        // Many of them: a partial Fisher-Yates shuffle of every rank.
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + (random_u64() % (size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let r = (random_u64() % size as u64) as usize;
            if seen.insert(r) { out.push(r); }
        }
        out
    }
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(ctx: &mut Ctx) -> CmdResult {
    let Some((cursor, ScanOptions { count, pattern })) = scan_prelude(ctx, |e| as_zset(e).map(|_| ()))? else { return Ok(()) };
    let (args, db) = (ctx.args, ctx.db);
    let count = count as i64;
    let reply = &mut *ctx.reply;
    let z = match ctx.ks.dbs[db].dict.get(args.get(1)).map(|e| &e.value) {
        Some(Value::ZSet(z)) => z,
        _ => return Err(WRONGTYPE),
    };
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut next = cursor;
    if z.is_listpack() {
        next = z.scan_step(0, |m, s| found.push((m.to_vec(), s)));
    } else {
        // Redis's bound: at most count*10 buckets per call, until count elements are found.
        let mut budget = count.saturating_mul(10);
        loop {
            next = z.scan_step(next, |m, s| found.push((m.to_vec(), s)));
            budget -= 1;
            if next == 0 || budget <= 0 || found.len() as i64 >= count { break; }
        }
    }
    if let Some(p) = pattern {
        found.retain(|(m, _)| crate::glob::glob_match(p, m, false));
    }
    reply.array(2);
    reply.bulk(next.to_string().as_bytes());
    reply.array(found.len() * 2);
    let mut text = Vec::with_capacity(24);
    for (m, s) in found {
        reply.bulk(&m);
        text.clear();
        crate::numfmt::push_double(&mut text, s);
        reply.bulk(&text);
    }
    Ok(())
}
