//! ZPOPMIN/ZPOPMAX, ZMPOP and their blocking forms (Redis's genericZpopCommand and
//! blockingGenericZpopCommand). A blocking command that finds every key empty returns
//! `WouldBlock` (the TypeScript side parks the client and runs it again when a key changes),
//! or, where blocking is not allowed (MULTI, scripts), replies the timeout's null array.

use crate::cmd::timeout::parse_timeout;
use super::{as_zset, as_zset_mut};
use crate::command::{CmdError, CmdResult, Ctx, SYNTAX};
use crate::numfmt::IntText;
use crate::keyspace::notify::ZSET;

/// How a pop replies (Redis's emitkey / use_nested_array / reply_nil_when_empty).
#[derive(Clone, Copy)]
struct Shape {
    /// Prefix the key (BZPOP*, ZMPOP, BZMPOP).
    emit_key: bool,
    /// [member, score] pairs as arrays: ZMPOP always, ZPOP* with a count in RESP3.
    nested: bool,
    /// A null array rather than an empty one when no key has elements (ZMPOP).
    nil_when_empty: bool,
    /// How the pop propagates.
    propagate: Propagate,
}

/// What a pop propagates: ZPOP* as received; BZPOP* as `ZPOPMIN|ZPOPMAX key`; ZMPOP and
/// BZMPOP as `ZPOPMIN|ZPOPMAX key <elements popped>`.
#[derive(Clone, Copy, PartialEq)]
enum Propagate { Verbatim, Single, Counted }

pub fn zpopmin(ctx: &mut Ctx) -> CmdResult { zpop(ctx, false) }
pub fn zpopmax(ctx: &mut Ctx) -> CmdResult { zpop(ctx, true) }

/// ZPOPMIN|ZPOPMAX key [count]
fn zpop(ctx: &mut Ctx, max: bool) -> CmdResult {
    let args = ctx.args;
    if args.len() > 3 { return Err(SYNTAX); }
    let mut count: Option<i64> = None;
    if args.len() == 3 {
        const POSITIVE: CmdError = CmdError::Msg("ERR value is out of range, must be positive");
        let n = args.i64(2).map_err(|_| POSITIVE)?;
        if n < 0 { return Err(POSITIVE); }
        count = Some(n);
    }
    let shape = Shape { emit_key: false, nested: ctx.reply.resp3 && count.is_some(), nil_when_empty: false, propagate: Propagate::Verbatim };
    pop_first_existing(ctx, 1, args.len() - 1, max, count, shape)
}

/// Pops from the first key of `args[first..first+n]` that exists (type-checking it), as
/// genericZpopCommand does; `count` None is the plain single pop.
fn pop_first_existing(ctx: &mut Ctx, first: usize, n: usize, max: bool, count: Option<i64>, shape: Shape) -> CmdResult {
    let (db, now) = (ctx.db, ctx.now_ms);
    for i in first..first + n {
        let key = ctx.args.get(i);
        if let Some(e) = ctx.ks.lookup(db, key, now) {
            as_zset(e)?;
            return pop_from(ctx, key, max, count, shape);
        }
    }
    if shape.nil_when_empty { ctx.reply.null_array() } else { ctx.reply.array(0) }
    Ok(())
}

/// Pops up to `count` (None: one) elements from the existing sorted set at `key` and replies.
fn pop_from(ctx: &mut Ctx, key: &[u8], max: bool, count: Option<i64>, shape: Shape) -> CmdResult {
    let (db, now) = (ctx.db, ctx.now_ms);
    if count == Some(0) {
        ctx.reply.array(0);
        return Ok(());
    }
    let e = ctx.ks.lookup(db, key, now).expect("caller checked the key exists");
    let z = as_zset_mut(e)?;
    let wanted = count.unwrap_or(1).max(1) as u64;
    let n = (z.len() as u64).min(wanted) as usize;
    let reply = &mut *ctx.reply;
    match (shape.emit_key, shape.nested) {
        (false, false) => reply.array(2 * n),
        (false, true) => reply.array(n),
        (true, false) => {
            reply.array(2 * n + 1);
            reply.bulk(key);
        }
        (true, true) => {
            reply.array(2);
            reply.bulk(key);
            reply.array(n);
        }
    }
    // genericZpopCommand notifies as it pops the first element, after the reply's headers,
    // and deletes an emptied set after the last one.
    let first_popped_at = reply.buf.len();
    for _ in 0..n {
        let (m, s) = z.pop(max).expect("counted above");
        if shape.nested { reply.array(2); }
        reply.bulk(&m);
        reply.double(s);
    }
    ctx.ks.at_reply(first_popped_at);
    ctx.ks.notify(ZSET, if max { "zpopmax" } else { "zpopmin" }, db, key);
    ctx.events_from_here();
    ctx.ks.delete_if_empty(ctx.db, key);
    ctx.ks.signal_modified(db, key);
    ctx.ks.dirty += n as u64;
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    match shape.propagate {
        Propagate::Verbatim => {}
        Propagate::Single => ctx.rewrite(&[name, key]),
        Propagate::Counted => ctx.rewrite(&[name, key, &IntText::new(n as i64)]),
    }
    Ok(())
}

pub fn bzpopmin(ctx: &mut Ctx) -> CmdResult { bzpop(ctx, false) }
pub fn bzpopmax(ctx: &mut Ctx) -> CmdResult { bzpop(ctx, true) }

/// BZPOPMIN|BZPOPMAX key [key ...] timeout
fn bzpop(ctx: &mut Ctx, max: bool) -> CmdResult {
    let n = ctx.args.len() - 2;
    let shape = Shape { emit_key: true, nested: false, nil_when_empty: false, propagate: Propagate::Single };
    blocking_pop(ctx, ctx.args.len() - 1, 1, n, max, None, shape)
}

/// Redis's blockingGenericZpopCommand: the timeout is checked first, then the keys in order;
/// the first non-empty one is popped, a wrong type fails.
fn blocking_pop(ctx: &mut Ctx, timeout_index: usize, first: usize, n: usize, max: bool, count: Option<i64>, shape: Shape) -> CmdResult {
    let timeout_ms = parse_timeout(ctx.args.get(timeout_index))?;
    let (db, now, retrying) = (ctx.db, ctx.now_ms, ctx.retrying);
    for i in first..first + n {
        let key = ctx.args.get(i);
        let Some(e) = ctx.ks.lookup(db, key, now) else { continue };
        match as_zset(e) {
            Ok(z) if z.is_empty() => continue,
            Ok(_) => return pop_from(ctx, key, max, count, shape),
            Err(_) if retrying => continue,
            Err(e) => return Err(e),
        }
    }
    if ctx.may_block { return Err(CmdError::block(timeout_ms)); }
    ctx.reply.null_array();
    Ok(())
}

pub fn zmpop(ctx: &mut Ctx) -> CmdResult { zmpop_generic(ctx, 1, false) }
pub fn bzmpop(ctx: &mut Ctx) -> CmdResult { zmpop_generic(ctx, 2, true) }

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and BZMPOP timeout numkeys ...
fn zmpop_generic(ctx: &mut Ctx, numkeys_index: usize, blocking: bool) -> CmdResult {
    let args = ctx.args;
    const NUMKEYS: CmdError = CmdError::Msg("ERR numkeys should be greater than 0");
    let numkeys = args.i64(numkeys_index).map_err(|_| NUMKEYS)?;
    if numkeys < 1 { return Err(NUMKEYS); }
    let where_index = (numkeys as u64).checked_add(numkeys_index as u64 + 1).filter(|&w| w < args.len() as u64).ok_or(SYNTAX)? as usize;
    let max = if args.is(where_index, b"min") {
        false
    } else if args.is(where_index, b"max") {
        true
    } else {
        return Err(SYNTAX);
    };
    let mut count: Option<i64> = None;
    let mut j = where_index + 1;
    while j < args.len() {
        let more = j + 1 < args.len();
        if count.is_none() && args.is(j, b"count") && more {
            j += 1;
            const COUNT: CmdError = CmdError::Msg("ERR count should be greater than 0");
            let c = args.i64(j).map_err(|_| COUNT)?;
            if c < 1 { return Err(COUNT); }
            count = Some(c);
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let count = Some(count.unwrap_or(1));
    let shape = Shape { emit_key: true, nested: true, nil_when_empty: true, propagate: Propagate::Counted };
    let (first, n) = (numkeys_index + 1, numkeys as usize);
    if blocking {
        blocking_pop(ctx, 1, first, n, max, count, shape)
    } else {
        pop_first_existing(ctx, first, n, max, count, shape)
    }
}
