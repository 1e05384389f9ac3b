//! Set commands (Redis 7.0's t_set.c).

use crate::cmd::hashes::partial_shuffle;
use crate::cmd::random_picks::{parse_random_count, RepeatedPicks};
use crate::cmd::scan::{scan_loop, scan_matches, scan_prelude, ScanItems};
use crate::command::{remove_members, Args, CmdError, CmdResult, CommandRow, Ctx, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::{GENERIC, SET};
use crate::keyspace::{Entry, Keyspace};
use crate::numfmt;
use crate::reply::Reply;
use crate::settings::Settings;
use crate::types::set::{Member, Set};
use crate::types::Value;

pub const COMMANDS: &[CommandRow] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smembers", smembers),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("spop", spop),
    ("srandmember", srandmember),
    ("smove", smove),
    ("sinter", sinter),
    ("sintercard", sintercard),
    ("sinterstore", sinterstore),
    ("sunion", sunion),
    ("sunionstore", sunionstore),
    ("sdiff", sdiff),
    ("sdiffstore", sdiffstore),
    ("sscan", sscan),
];

fn as_set(e: &mut Entry) -> Result<&mut Set, CmdError> {
    match &mut e.value {
        Value::Set(s) => Ok(s),
        _ => Err(WRONGTYPE),
    }
}

fn reply_member(reply: &mut Reply, m: Member<'_>) {
    match m {
        Member::Bytes(b) => reply.bulk(b),
        Member::Int(n) => reply.bulk_i64(n),
    }
}

/// The set at `key` for a read command (counts hits/misses), None when missing.
fn read_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a Set>, CmdError> {
    match ctx.ks.lookup_read(ctx.db, key, ctx.now_ms) {
        None => Ok(None),
        Some(e) => as_set(e).map(|s| Some(&*s)),
    }
}

fn sadd(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let key = args.get(1);
    let settings = ctx.settings;
    let (db, now) = (ctx.db, ctx.now_ms);
    if let Some(e) = ctx.ks.lookup(db, key, now) { as_set(e)?; }
    let e = ctx.ks.lookup_or_insert(db, key, now, || Value::Set(Set::for_first_member(args.get(2))));
    let s = as_set(e)?;
    let mut added = 0;
    for m in args.from(2) {
        if s.add(m, settings) { added += 1; }
    }
    if added > 0 {
        ctx.ks.signal_modified(db, key);
        ctx.notify(SET, "sadd", db, key);
    }
    ctx.ks.dirty += added as u64;
    ctx.reply.int(added);
    Ok(())
}

fn srem(ctx: &mut Ctx) -> CmdResult {
    remove_members(ctx, as_set, |s, m| s.remove(m), (SET, "srem"))
}

/// SMEMBERS is SINTER of one key in Redis 7.0: a set reply (RESP3 `~`) in set order.
fn smembers(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let Ctx { ks, reply, db, now_ms, .. } = ctx;
    match ks.lookup_read(*db, args.get(1), *now_ms) {
        None => reply.set(0),
        Some(e) => {
            let s = as_set(e)?;
            reply.set(s.len());
            for m in s.iter() { reply_member(reply, m); }
        }
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let found = read_set(ctx, args.get(1))?.is_some_and(|s| s.contains(args.get(2)));
    ctx.reply.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let Ctx { ks, reply, db, now_ms, .. } = ctx;
    let s = match ks.lookup_read(*db, args.get(1), *now_ms) {
        None => None,
        Some(e) => Some(&*as_set(e)?),
    };
    reply.array(args.len() - 2);
    for m in args.from(2) {
        reply.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let n = read_set(ctx, args.get(1))?.map_or(0, |s| s.len());
    ctx.reply.int(n as i64);
    Ok(())
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    if args.len() > 3 { return Err(SYNTAX); }
    let key = args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    if args.len() == 2 {
        let Some(e) = ctx.ks.lookup(db, key, now) else {
            ctx.reply.null();
            return Ok(());
        };
        let s = as_set(e)?;
        let Some(m) = s.pop_random() else {
            ctx.reply.null();
            return Ok(());
        };
        // spopCommand: the event, the reply, then the emptied set's deletion.
        ctx.notify(SET, "spop", db, key);
        ctx.reply.bulk(&m);
        ctx.events_from_here();
        ctx.ks.delete_if_empty(db, key);
        ctx.ks.signal_modified(db, key);
        ctx.ks.dirty += 1;
        ctx.rewrite(&[b"SREM", key, &m]);
        return Ok(());
    }

    let count = match numfmt::parse_i64(args.get(2)) {
        Some(n) if n >= 0 => n as u64,
        _ => return Err(CmdError::Msg("ERR value is out of range, must be positive")),
    };
    let settings = ctx.settings;
    let size = match ctx.ks.lookup(db, key, now) {
        None => {
            ctx.reply.set(0);
            return Ok(());
        }
        Some(e) => as_set(e)?.len() as u64,
    };
    if count == 0 {
        ctx.reply.set(0);
        return Ok(());
    }
    ctx.notify(SET, "spop", db, key);
    if count >= size {
        // The whole set, replied as SUNION of it would (so through a read lookup, counted as a
        // keyspace hit, and an intset comes out ascending), then the key goes. Redis counts one
        // change per member here.
        let s = as_set(ctx.ks.lookup_read(db, key, now).expect("looked up above"))?;
        let all = union_of(&[Some(&*s)], settings);
        reply_set(ctx.reply, &all);
        let lazy = ctx.ks.lazy.server_del;
        ctx.ks.remove_and_free(db, key, lazy);
        ctx.notify(GENERIC, "del", db, key);
        ctx.ks.signal_modified(db, key);
        ctx.ks.dirty += size;
        ctx.rewrite(&[b"DEL", key]);
        return Ok(());
    }
    ctx.ks.dirty += count;
    let s = as_set(ctx.ks.lookup(db, key, now).expect("looked up above"))?;
    let popped: Vec<_> = (0..count).map(|_| s.pop_random().expect("count < len")).collect();
    ctx.reply.set(count as usize);
    // One SREM per member (Redis 7.0), in one execution unit, instead of the SPOP.
    for m in &popped {
        ctx.reply.bulk(m);
        ctx.also(&[b"SREM", key, m]);
    }
    ctx.prevent();
    ctx.ks.signal_modified(db, key);
    Ok(())
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    if args.len() > 3 { return Err(SYNTAX); }
    if args.len() == 2 {
        let Ctx { ks, reply, db, now_ms, .. } = ctx;
        match ks.lookup_read(*db, args.get(1), *now_ms) {
            None => reply.null(),
            Some(e) => match as_set(e)?.random() {
                Some(m) => reply_member(reply, m),
                None => reply.null(),
            },
        }
        return Ok(());
    }
    let count = parse_random_count(ctx, 2)?;
    let Ctx { ks, reply, db, now_ms, .. } = ctx;
    let Some(e) = ks.lookup_read(*db, args.get(1), *now_ms) else {
        reply.array(0);
        return Ok(());
    };
    let s = as_set(e)?;
    let size = s.len() as u64;
    let unique = count >= 0;
    let count = count.unsigned_abs();
    if count == 0 || size == 0 {
        reply.array(0);
        return Ok(());
    }
    // With repetition (or a single pick): an array of independent picks.
    if !unique || count == 1 {
        let avg = s.iter().take(64).map(|m| m.with_bytes(|b| b.len()) as u64).sum::<u64>() / size.min(64);
        let picks = RepeatedPicks::begin(reply, count, avg)?;
        reply.array(count as usize);
        for _ in 0..count {
            if picks.client_closing(reply) { break; }
            reply_member(reply, s.random().expect("non-empty set"));
        }
        return Ok(());
    }
    // Distinct picks (still an array reply in 7.0, RESP3 included): the whole set, in set
    // order, when count >= size.
    if count >= size {
        reply.array(size as usize);
        for m in s.iter() { reply_member(reply, m); }
        return Ok(());
    }
    reply.array(count as usize);
    if count * 3 <= size {
        let mut seen = std::collections::HashSet::new();
        while (seen.len() as u64) < count {
            let m = s.random().expect("non-empty set");
            if seen.insert(m) { reply_member(reply, m); }
        }
    } else {
        let mut all: Vec<Member<'_>> = s.iter().collect();
        partial_shuffle(&mut all, count as usize);
        for m in &all[..count as usize] { reply_member(reply, *m); }
    }
    Ok(())
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let (db, now) = (ctx.db, ctx.now_ms);
    let settings = ctx.settings;
    // Both keys are looked up (and lazily expired) first, as Redis does.
    let src_kind = ctx.ks.lookup(db, src, now).map(|e| matches!(e.value, Value::Set(_)));
    let dst_kind = ctx.ks.lookup(db, dst, now).map(|e| matches!(e.value, Value::Set(_)));
    let Some(src_is_set) = src_kind else {
        ctx.reply.int(0);
        return Ok(());
    };
    if !src_is_set || dst_kind == Some(false) { return Err(WRONGTYPE); }
    if src == dst {
        let found = ctx.ks.lookup(db, src, now).map(as_set).transpose()?.is_some_and(|s| s.contains(member));
        ctx.reply.int(found as i64);
        return Ok(());
    }
    let s = as_set(ctx.ks.lookup(db, src, now).expect("checked above"))?;
    if !s.remove(member) {
        ctx.reply.int(0);
        return Ok(());
    }
    ctx.notify(SET, "srem", db, src);
    ctx.ks.delete_if_empty(db, src);
    let e = ctx.ks.lookup_or_insert(db, dst, now, || Value::Set(Set::for_first_member(member)));
    let added = as_set(e)?.add(member, settings);
    // As smoveCommand: the source is signalled, the destination only when it gained the member.
    ctx.ks.signal_modified(db, src);
    if added {
        ctx.ks.signal_modified(db, dst);
        ctx.notify(SET, "sadd", db, dst);
    }
    ctx.ks.dirty += 1 + added as u64;
    ctx.reply.int(1);
    Ok(())
}

// ------------------------------------------------------------------- set algebra ---

/// Looks up every key for an algebra command (read lookups, as Redis 7.0 does even for the
/// STORE forms); a missing key is None. Any key of another type is WRONGTYPE.
fn load_sets(ctx: &mut Ctx, keys: std::ops::Range<usize>) -> Result<(), CmdError> {
    let (db, now) = (ctx.db, ctx.now_ms);
    for i in keys {
        if let Some(e) = ctx.ks.lookup_read(db, ctx.args.get(i), now) { as_set(e)?; }
    }
    Ok(())
}

/// The sets behind `keys` (already looked up and type-checked by load_sets).
fn sets_of<'a>(ks: &'a Keyspace, db: usize, args: Args, keys: std::ops::Range<usize>) -> Vec<Option<&'a Set>> {
    let d = &ks.dbs[db].dict;
    keys.map(|i| match d.get(args.get(i)).map(|e| &e.value) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }).collect()
}

fn reply_set(reply: &mut Reply, s: &Set) {
    reply.set(s.len());
    for m in s.iter() { reply_member(reply, m); }
}

/// The union as Redis builds it: an intset that takes each member in turn (so it stays an
/// intset, ascending, while everything is a small-enough set of integers).
fn union_of(sets: &[Option<&Set>], settings: &Settings) -> Set {
    let mut out = Set::new_intset();
    for s in sets.iter().flatten() {
        for m in s.iter() { out.add_member(m, settings); }
    }
    out
}

/// SDIFF with Redis's choice between its two algorithms, which matters for the encoding of the
/// result: the first adds only surviving members, the second adds all of the first set then
/// removes the others' members (so a result can be a hashtable although it would fit an
/// intset). A later key naming the first set empties the result (Redis compares the objects).
fn diff_of(sets: &[Option<&Set>], settings: &Settings) -> Set {
    let mut out = Set::new_intset();
    let Some(Some(first)) = sets.first() else { return out };
    let present: Vec<&Set> = sets.iter().flatten().copied().collect();
    let others = &present[1..];
    let one_work = (first.len() as u64 * present.len() as u64) / 2;
    let two_work: u64 = present.iter().map(|s| s.len() as u64).sum();
    if one_work <= two_work {
        for m in first.iter() {
            let excluded = others.iter().any(|o| std::ptr::eq(*o, *first) || o.contains_member(m));
            if !excluded { out.add_member(m, settings); }
        }
    } else {
        for m in first.iter() { out.add_member(m, settings); }
        for o in others {
            if out.is_empty() { break; }
            for m in o.iter() { out.remove_member(m); }
        }
    }
    out
}

/// SINTER's walk: the members of the smallest set that every other set holds, in the smallest
/// set's order, calling `f` for each until it returns false. None when some key is missing.
fn for_each_in_intersection<'a>(sets: &[Option<&'a Set>], mut f: impl FnMut(Member<'a>) -> bool) {
    if sets.iter().any(|s| s.is_none()) { return; }
    let mut sorted: Vec<&Set> = sets.iter().flatten().copied().collect();
    // Stable, like the merge sort glibc's qsort uses for small arrays.
    sorted.sort_by_key(|s| s.len());
    let first = sorted[0];
    'members: for m in first.iter() {
        for other in &sorted[1..] {
            if std::ptr::eq(*other, first) { continue; }
            if !other.contains_member(m) { continue 'members; }
        }
        if !f(m) { return; }
    }
}

fn sinter(ctx: &mut Ctx) -> CmdResult {
    let n = ctx.args.len();
    load_sets(ctx, 1..n)?;
    let Ctx { ks, reply, db, args, .. } = ctx;
    let sets = sets_of(ks, *db, *args, 1..n);
    let mut found: Vec<Member<'_>> = Vec::new();
    for_each_in_intersection(&sets, |m| { found.push(m); true });
    reply.set(found.len());
    for m in found { reply_member(reply, m); }
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    const NUMKEYS: CmdError = CmdError::Msg("ERR numkeys should be greater than 0");
    let numkeys = match numfmt::parse_i64(args.get(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(NUMKEYS),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(CmdError::Msg("ERR Number of keys can't be greater than number of args"));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if args.is(i, b"LIMIT") && i + 1 < args.len() {
            limit = match numfmt::parse_i64(args.get(i + 1)) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::Msg("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    load_sets(ctx, 2..2 + numkeys)?;
    let sets = sets_of(ctx.ks, ctx.db, args, 2..2 + numkeys);
    let mut n = 0u64;
    for_each_in_intersection(&sets, |_| {
        n += 1;
        limit == 0 || n < limit
    });
    ctx.reply.int(n as i64);
    Ok(())
}

fn sunion(ctx: &mut Ctx) -> CmdResult { algebra_reply(ctx, union_of) }
fn sdiff(ctx: &mut Ctx) -> CmdResult { algebra_reply(ctx, diff_of) }

fn algebra_reply(ctx: &mut Ctx, op: fn(&[Option<&Set>], &Settings) -> Set) -> CmdResult {
    let n = ctx.args.len();
    load_sets(ctx, 1..n)?;
    let result = op(&sets_of(ctx.ks, ctx.db, ctx.args, 1..n), ctx.settings);
    reply_set(ctx.reply, &result);
    Ok(())
}

fn sinterstore(ctx: &mut Ctx) -> CmdResult {
    let intersection = |sets: &[Option<&Set>], settings: &Settings| {
        let mut out = Set::new_intset();
        for_each_in_intersection(sets, |m| { out.add_member(m, settings); true });
        out
    };
    store(ctx, intersection, "sinterstore", true)
}
fn sunionstore(ctx: &mut Ctx) -> CmdResult { store(ctx, union_of, "sunionstore", false) }
fn sdiffstore(ctx: &mut Ctx) -> CmdResult { store(ctx, diff_of, "sdiffstore", false) }

/// The STORE forms: the result replies its size and then replaces the destination (dropping
/// its TTL) when non-empty, otherwise the destination is deleted, as Redis orders the reply
/// and the events. `missing_source_empties`: SINTERSTORE, which returns early when a source
/// key is missing (the destination deleted before the reply).
fn store(ctx: &mut Ctx, op: impl FnOnce(&[Option<&Set>], &Settings) -> Set, event: &'static str, missing_source_empties: bool) -> CmdResult {
    let n = ctx.args.len();
    load_sets(ctx, 2..n)?;
    let sets = sets_of(ctx.ks, ctx.db, ctx.args, 2..n);
    let early = missing_source_empties && sets.iter().any(|s| s.is_none());
    let result = op(&sets, ctx.settings);
    let dst = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let size = result.len();
    if !early { ctx.reply.int(size as i64); }
    if size > 0 {
        ctx.ks.set(db, dst, Value::Set(result), false, now);
        ctx.ks.signal_modified(db, dst);
        ctx.notify(SET, event, db, dst);
        ctx.ks.dirty += 1;
    } else if ctx.ks.delete(db, dst, now, ctx.ks.lazy.server_del) {
        ctx.notify(GENERIC, "del", db, dst);
        ctx.ks.dirty += 1;
    }
    if early { ctx.reply.int(0); }
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx) -> CmdResult {
    let Some((cursor, opts)) = scan_prelude(ctx, |e| as_set(e).map(|_| ()))? else { return Ok(()) };
    let (args, db) = (ctx.args, ctx.db);
    let Ctx { ks, reply, .. } = ctx;
    let s = match ks.dbs[db].dict.get(args.get(1)).map(|e| &e.value) {
        Some(Value::Set(s)) => s,
        _ => return Err(WRONGTYPE),
    };
    let mut items = ScanItems::new();
    let mut keep = |m: Member<'_>| {
        m.with_bytes(|b| if scan_matches(opts.pattern, b) { items.push(b) });
    };
    let next = if s.is_intset() {
        s.scan_step(cursor, &mut keep)
    } else {
        scan_loop(cursor, opts.count, |c| {
            let mut added = 0;
            let next = s.scan_step(c, |m| { added += 1; keep(m) });
            (next, added)
        })
    };
    items.write(reply, next);
    Ok(())
}
