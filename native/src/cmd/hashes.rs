//! Hash commands (Redis 7.0's t_hash.c), plus the HSCAN/SSCAN argument handling the sets
//! family shares.

use crate::cmd::random_picks::{parse_random_count, RepeatedPicks};
use crate::cmd::scan::{scan_loop, scan_matches, scan_prelude, ScanItems};
use crate::command::{remove_members, CmdError, CmdResult, CommandRow, Ctx, SYNTAX, WRONGTYPE};
use crate::dict::random_u64;
use crate::keyspace::notify::HASH;
use crate::keyspace::Entry;
use crate::numfmt;
use crate::reply::Reply;
use crate::types::hash::Hash;
use crate::types::Value;

use crate::long_double::LongDouble;

pub const COMMANDS: &[CommandRow] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hgetall", hgetall),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

fn as_hash(e: &mut Entry) -> Result<&mut Hash, CmdError> {
    match &mut e.value {
        Value::Hash(h) => Ok(h),
        _ => Err(WRONGTYPE),
    }
}

/// The hash at `key` for a read command (counts hits/misses), None when missing.
fn read_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Hash>, CmdError> {
    match ctx.ks.lookup_read(ctx.db, key, ctx.now_ms) {
        None => Ok(None),
        Some(e) => as_hash(e).map(|h| Some(&*h)),
    }
}

/// Redis's hashTypeLookupWriteOrCreate: the hash at `key`, created empty when missing.
fn hash_for_write<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut Hash, CmdError> {
    let wrong_type = ctx.ks.lookup(ctx.db, key, ctx.now_ms).is_some_and(|e| !matches!(e.value, Value::Hash(_)));
    if wrong_type { return Err(WRONGTYPE); }
    let e = ctx.ks.lookup_or_insert(ctx.db, key, ctx.now_ms, || Value::Hash(Hash::new()));
    as_hash(e)
}

fn hset(ctx: &mut Ctx) -> CmdResult { hset_generic(ctx, false) }
fn hmset(ctx: &mut Ctx) -> CmdResult { hset_generic(ctx, true) }

/// HSET key field value [field value ...] / HMSET: the same work, different replies.
fn hset_generic(ctx: &mut Ctx, is_hmset: bool) -> CmdResult {
    let args = ctx.args;
    if args.len() % 2 == 1 {
        let name = if is_hmset { "hmset" } else { "hset" };
        return Err(CmdError::Owned(format!("ERR wrong number of arguments for '{name}' command")));
    }
    let key = args.get(1);
    let settings = ctx.settings;
    let h = hash_for_write(ctx, key)?;
    h.convert_if_any_too_long(args.from(2), settings);
    let mut created = 0;
    let mut i = 2;
    while i < args.len() {
        if h.set(args.get(i), args.get(i + 1), settings) { created += 1; }
        i += 2;
    }
    // hsetCommand replies before it notifies (as do HSETNX and HINCRBY*).
    if is_hmset { ctx.reply.ok() } else { ctx.reply.int(created) }
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(HASH, "hset", ctx.db, key);
    ctx.ks.dirty += ((args.len() - 2) / 2) as u64;
    Ok(())
}

fn hsetnx(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let (key, field, value) = (args.get(1), args.get(2), args.get(3));
    let settings = ctx.settings;
    let h = hash_for_write(ctx, key)?;
    if h.contains(field) {
        ctx.reply.int(0);
        return Ok(());
    }
    h.convert_if_any_too_long([field, value], settings);
    h.set(field, value, settings);
    ctx.reply.int(1);
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(HASH, "hset", ctx.db, key);
    ctx.ks.dirty += 1;
    Ok(())
}

fn hget(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let h = read_hash(ctx, args.get(1))?;
    match h.and_then(|h| h.get(args.get(2))) {
        Some(v) => {
            let v = v.to_vec();
            ctx.reply.bulk(&v);
        }
        None => ctx.reply.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let Ctx { ks, reply, db, now_ms, .. } = ctx;
    let h = match ks.lookup_read(*db, args.get(1), *now_ms) {
        None => None,
        Some(e) => Some(&*as_hash(e)?),
    };
    reply.array(args.len() - 2);
    for field in args.from(2) {
        match h.and_then(|h| h.get(field)) {
            Some(v) => reply.bulk(v),
            None => reply.null(),
        }
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx) -> CmdResult {
    remove_members(ctx, as_hash, Hash::remove, (HASH, "hdel"))
}

fn hlen(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let n = read_hash(ctx, args.get(1))?.map_or(0, |h| h.len());
    ctx.reply.int(n as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let n = read_hash(ctx, args.get(1))?.and_then(|h| h.get(args.get(2))).map_or(0, |v| v.len());
    ctx.reply.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let found = read_hash(ctx, args.get(1))?.is_some_and(|h| h.contains(args.get(2)));
    ctx.reply.int(found as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Part { Keys, Values, Both }

fn hkeys(ctx: &mut Ctx) -> CmdResult { hgetall_generic(ctx, Part::Keys) }
fn hvals(ctx: &mut Ctx) -> CmdResult { hgetall_generic(ctx, Part::Values) }
fn hgetall(ctx: &mut Ctx) -> CmdResult { hgetall_generic(ctx, Part::Both) }

/// HKEYS/HVALS reply arrays; HGETALL a map (RESP3 `%`), as Redis's genericHgetallCommand.
fn hgetall_generic(ctx: &mut Ctx, part: Part) -> CmdResult {
    let args = ctx.args;
    let Ctx { ks, reply, db, now_ms, .. } = ctx;
    let h = match ks.lookup_read(*db, args.get(1), *now_ms) {
        None => None,
        Some(e) => Some(&*as_hash(e)?),
    };
    let n = h.map_or(0, |h| h.len());
    if part == Part::Both { reply.map(n) } else { reply.array(n) }
    if let Some(h) = h {
        for (f, v) in h.iter() {
            if part != Part::Values { reply.bulk(f); }
            if part != Part::Keys { reply.bulk(v); }
        }
    }
    Ok(())
}

fn hincrby(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let incr = args.i64(3)?;
    let (key, field) = (args.get(1), args.get(2));
    let settings = ctx.settings;
    let h = hash_for_write(ctx, key)?;
    let old = match h.get(field) {
        Some(v) => numfmt::parse_i64(v).ok_or(CmdError::Msg("ERR hash value is not an integer"))?,
        None => 0,
    };
    let new = old.checked_add(incr).ok_or(CmdError::Msg("ERR increment or decrement would overflow"))?;
    h.set(field, &numfmt::i64_to_vec(new), settings);
    ctx.reply.int(new);
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(HASH, "hincrby", ctx.db, key);
    ctx.ks.dirty += 1;
    Ok(())
}

/// HINCRBYFLOAT key field increment: summed in 80-bit long double as Redis does, so the text
/// stored and replied is Redis's to the last digit.
fn hincrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let incr = LongDouble::parse(args.get(3)).ok_or(CmdError::Msg("ERR value is not a valid float"))?;
    if !incr.is_finite() { return Err(CmdError::Msg("ERR value is NaN or Infinity")); }
    let (key, field) = (args.get(1), args.get(2));
    let settings = ctx.settings;
    let h = hash_for_write(ctx, key)?;
    let old = match h.get(field) {
        Some(v) => LongDouble::parse(v).ok_or(CmdError::Msg("ERR hash value is not a float"))?,
        None => LongDouble::ZERO,
    };
    let sum = old.add(incr);
    if !sum.is_finite() { return Err(CmdError::Msg("ERR increment would produce NaN or Infinity")); }
    let text = sum.to_human();
    h.set(field, &text, settings);
    ctx.reply.bulk(&text);
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(HASH, "hincrbyfloat", ctx.db, key);
    ctx.ks.dirty += 1;
    ctx.rewrite(&[b"HSET", key, field, &text]);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    if args.len() == 2 {
        let Ctx { ks, reply, db, now_ms, .. } = ctx;
        match ks.lookup_read(*db, args.get(1), *now_ms) {
            None => reply.null(),
            Some(e) => match as_hash(e)?.random_pair() {
                Some((f, _)) => reply.bulk(f),
                None => reply.null(),
            },
        }
        return Ok(());
    }
    let count = parse_random_count(ctx, 2)?;
    let mut with_values = false;
    if args.len() > 4 || (args.len() == 4 && !args.is(3, b"WITHVALUES")) { return Err(SYNTAX); }
    if args.len() == 4 {
        with_values = true;
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) { return Err(CmdError::Msg("ERR value is out of range")); }
    }
    let Ctx { ks, reply, db, now_ms, .. } = ctx;
    let Some(e) = ks.lookup_read(*db, args.get(1), *now_ms) else {
        reply.array(0);
        return Ok(());
    };
    let h = as_hash(e)?;
    random_fields_reply(h, count, with_values, reply)
}

fn random_fields_reply(h: &Hash, count: i64, with_values: bool, reply: &mut Reply) -> CmdResult {
    let size = h.len();
    let unique = count >= 0;
    let count = count.unsigned_abs();
    if count == 0 || size == 0 {
        reply.array(0);
        return Ok(());
    }
    let per_pick = |reply: &mut Reply, f: &[u8], v: &[u8]| {
        if with_values && reply.resp3 { reply.array(2); }
        reply.bulk(f);
        if with_values { reply.bulk(v); }
    };
    let reply_len = |n: u64| if with_values && !reply.resp3 { n * 2 } else { n } as usize;

    // With repetition (negative count) or a single pick: independent uniform picks.
    if !unique || count == 1 {
        let total: u64 = h.iter().take(64).map(|(f, v)| (f.len() + if with_values { v.len() } else { 0 }) as u64).sum();
        let sampled = size.min(64) as u64;
        let picks = RepeatedPicks::begin(reply, count, total / sampled.max(1))?;
        reply.array(reply_len(count));
        if h.is_listpack() {
            let pairs: Vec<(&[u8], &[u8])> = h.iter().collect();
            for _ in 0..count {
                if picks.client_closing(reply) { break; }
                let (f, v) = pairs[(random_u64() % pairs.len() as u64) as usize];
                per_pick(reply, f, v);
            }
        } else {
            for _ in 0..count {
                if picks.client_closing(reply) { break; }
                let (f, v) = h.random_pair().expect("non-empty hash");
                per_pick(reply, f, v);
            }
        }
        return Ok(());
    }

    // Distinct picks, at most the whole hash.
    let picked = distinct_sample(h, count);
    reply.array(reply_len(picked.len() as u64));
    for (f, v) in picked { per_pick(reply, f, v); }
    Ok(())
}

/// `count` distinct pairs (all of them, in iteration order, when count >= len). A listpack's
/// sample keeps listpack order, as Redis's lpRandomPairsUnique does.
fn distinct_sample(h: &Hash, count: u64) -> Vec<(&[u8], &[u8])> {
    let size = h.len() as u64;
    if count >= size { return h.iter().collect(); }
    if !h.is_listpack() && count * 3 <= size {
        // Few picks from a big table: random picks until enough distinct ones (bounded: each
        // pick is new with probability >= 2/3).
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(count as usize);
        while (out.len() as u64) < count {
            let (f, v) = h.random_pair().expect("non-empty hash");
            if seen.insert(f) { out.push((f, v)); }
        }
        return out;
    }
    type Indexed<'a> = (usize, (&'a [u8], &'a [u8]));
    let mut all: Vec<Indexed> = h.iter().enumerate().collect();
    partial_shuffle(&mut all, count as usize);
    all.truncate(count as usize);
    if h.is_listpack() { all.sort_by_key(|(i, _)| *i); }
    all.into_iter().map(|(_, p)| p).collect()
}

/// Moves a uniform random sample of `k` elements to the front (Fisher-Yates, first k steps).
pub fn partial_shuffle<T>(items: &mut [T], k: usize) {
    let n = items.len();
    for i in 0..k.min(n) {
        let j = i + (random_u64() % (n - i) as u64) as usize;
        items.swap(i, j);
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx) -> CmdResult {
    let Some((cursor, opts)) = scan_prelude(ctx, |e| as_hash(e).map(|_| ()))? else { return Ok(()) };
    let (args, db) = (ctx.args, ctx.db);
    let Ctx { ks, reply, .. } = ctx;
    let h = match ks.dbs[db].dict.get(args.get(1)).map(|e| &e.value) {
        Some(Value::Hash(h)) => h,
        _ => return Err(WRONGTYPE),
    };
    let mut items = ScanItems::new();
    let next = if h.is_listpack() {
        h.scan_step(cursor, |f, v| {
            if scan_matches(opts.pattern, f) { items.push(f); items.push(v); }
        })
    } else {
        // Redis counts both the field and the value of each pair against COUNT.
        scan_loop(cursor, opts.count, |c| {
            let mut added = 0;
            let next = h.scan_step(c, |f, v| {
                added += 2;
                if scan_matches(opts.pattern, f) { items.push(f); items.push(v); }
            });
            (next, added)
        })
    };
    items.write(reply, next);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..50).collect();
        partial_shuffle(&mut v, 10);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }
}
