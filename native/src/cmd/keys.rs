//! Keyspace commands (Redis's db.c, expire.c and object.c's OBJECT): DEL, EXISTS, TYPE, KEYS,
//! SCAN, RANDOMKEY, RENAME, MOVE, COPY, SWAPDB, FLUSH*, the EXPIRE family, TTL and friends.

use crate::cmd::scan::parse_scan_cursor;
use crate::command::{CmdError, CmdResult, CommandRow, Ctx, NO_SUCH_KEY, SYNTAX};
use crate::cmd::strings::already_expired;
use crate::glob::glob_match;
use crate::keyspace::notify::GENERIC;
use crate::keyspace::{lru_idle_seconds, Entry, NO_EXPIRE};
use crate::numfmt::IntText;
use crate::types::Value;

pub const COMMANDS: &[CommandRow] = &[
    ("del", del),
    ("unlink", unlink),
    ("exists", exists),
    ("type", type_command),
    ("keys", keys),
    ("scan", scan),
    ("randomkey", randomkey),
    ("rename", rename),
    ("renamenx", renamenx),
    ("move", move_command),
    ("copy", copy),
    ("swapdb", swapdb),
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("ttl", ttl),
    ("pttl", pttl),
    ("expiretime", expiretime),
    ("pexpiretime", pexpiretime),
    ("persist", persist),
    ("touch", touch),
    ("object|encoding", object_encoding),
    ("object|refcount", object_refcount),
    ("object|idletime", object_idletime),
    ("object|freq", object_freq),
];

const SAME_OBJECT: CmdError = CmdError::Msg("ERR source and destination objects are the same");
const DB_OUT_OF_RANGE: CmdError = CmdError::Msg("ERR DB index is out of range");
/// OBJECT REFCOUNT of a shared object (Redis's OBJ_SHARED_REFCOUNT, INT_MAX).
pub const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Redis's getIntFromObjectOrReply: an i64 that must also fit an i32. `msg` replaces both
/// errors when given (SWAPDB's "invalid first DB index").
fn int_arg(ctx: &Ctx, i: usize, msg: Option<&'static str>) -> Result<i64, CmdError> {
    let v = ctx.args.i64(i).map_err(|e| msg.map_or(e, CmdError::Msg))?;
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        return Err(match msg {
            Some(m) => CmdError::Msg(m),
            None => CmdError::Msg("ERR value is out of range, value must between -2147483648 and 2147483647"),
        });
    }
    Ok(v)
}

/// A database index argument, checked against the configured number of databases.
fn db_arg(ctx: &Ctx, i: usize) -> Result<usize, CmdError> {
    let id = int_arg(ctx, i, None)?;
    if id < 0 || id as usize >= ctx.ks.dbs.len() { return Err(DB_OUT_OF_RANGE); }
    Ok(id as usize)
}

/// DEL: values freed in place, or in the background under lazyfree-lazy-user-del.
fn del(ctx: &mut Ctx) -> CmdResult {
    let lazy = ctx.ks.lazy.user_del;
    delete_keys(ctx, lazy)
}

/// UNLINK: big values are freed in the background.
fn unlink(ctx: &mut Ctx) -> CmdResult { delete_keys(ctx, true) }

fn delete_keys(ctx: &mut Ctx, lazy: bool) -> CmdResult {
    let mut deleted = 0;
    for key in ctx.args.from(1) {
        if ctx.ks.delete(ctx.db, key, ctx.now_ms, lazy) {
            ctx.notify(GENERIC, "del", ctx.db, key);
            deleted += 1;
        }
    }
    ctx.ks.dirty += deleted;
    ctx.reply.int(deleted as i64);
    Ok(())
}

fn exists(ctx: &mut Ctx) -> CmdResult {
    let mut n = 0;
    for key in ctx.args.from(1) {
        if ctx.ks.lookup_read_notouch(ctx.db, key, ctx.now_ms).is_some() { n += 1; }
    }
    ctx.reply.int(n);
    Ok(())
}

fn type_command(ctx: &mut Ctx) -> CmdResult {
    let name = match ctx.ks.lookup_read_notouch(ctx.db, ctx.args.get(1), ctx.now_ms) {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    ctx.reply.simple(name);
    Ok(())
}

/// KEYS pattern: logically expired keys are skipped, not deleted (as Redis does).
fn keys(ctx: &mut Ctx) -> CmdResult {
    let pattern = ctx.args.get(1);
    let all = pattern == b"*";
    let now = ctx.now_ms;
    let dict = &ctx.ks.dbs[ctx.db].dict;
    let found: Vec<&[u8]> = dict
        .nodes()
        .filter(|e| (all || glob_match(pattern, e.key(), false)) && !e.is_expired(now))
        .map(|e| e.key())
        .collect();
    ctx.reply.array(found.len());
    for k in found { ctx.reply.bulk(k); }
    Ok(())
}


/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(ctx: &mut Ctx) -> CmdResult {
    let mut cursor = parse_scan_cursor(ctx.args.get(1))?;
    let args = ctx.args;
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let has_value = args.len() - i >= 2;
        if args.is(i, b"COUNT") && has_value {
            count = args.i64(i + 1)?;
            if count < 1 { return Err(SYNTAX); }
        } else if args.is(i, b"MATCH") && has_value {
            let p = args.get(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else if args.is(i, b"TYPE") && has_value {
            type_filter = Some(args.get(i + 1));
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    let (db, now) = (ctx.db, ctx.now_ms);
    ctx.touches_arbitrary_keys();
    let mut found: Vec<Box<[u8]>> = Vec::new();
    {
        let dict = &ctx.ks.dbs[db].dict;
        let mut budget = count.saturating_mul(10);
        loop {
            cursor = dict.scan_step(cursor, |k, _| found.push(k.into()));
            if cursor == 0 || budget == 0 || found.len() as i64 >= count { break; }
            budget -= 1;
        }
    }
    // Filter as Redis does after the walk: pattern, then type (a NOTOUCH read lookup), then expiry.
    found.retain(|k| pattern.map_or(true, |p| glob_match(p, k, false)));
    if let Some(t) = type_filter {
        found.retain(|k| {
            let name = ctx.ks.lookup_read_notouch(db, k, now).map_or("none", |e| e.value.type_name());
            name.as_bytes().eq_ignore_ascii_case(t)
        });
    }
    found.retain(|k| !ctx.ks.expire_if_needed(db, k, now));
    let mut cursor_text = Vec::with_capacity(20);
    crate::numfmt::push_i64(&mut cursor_text, cursor as i64);
    ctx.reply.array(2);
    ctx.reply.bulk(&cursor_text);
    ctx.reply.array(found.len());
    for k in &found { ctx.reply.bulk(k); }
    Ok(())
}

fn randomkey(ctx: &mut Ctx) -> CmdResult {
    let (db, now) = (ctx.db, ctx.now_ms);
    ctx.touches_arbitrary_keys();
    loop {
        let key: Box<[u8]> = match ctx.ks.dbs[db].dict.random() {
            None => {
                ctx.reply.null();
                return Ok(());
            }
            Some((k, _)) => k.into(),
        };
        if !ctx.ks.expire_if_needed(db, &key, now) {
            ctx.reply.bulk(&key);
            return Ok(());
        }
    }
}

fn rename_generic(ctx: &mut Ctx, nx: bool) -> CmdResult {
    let (src, dst) = (ctx.args.get(1), ctx.args.get(2));
    let (db, now) = (ctx.db, ctx.now_ms);
    if ctx.ks.lookup(db, src, now).is_none() { return Err(NO_SUCH_KEY); }
    if src == dst {
        if nx { ctx.reply.int(0) } else { ctx.reply.ok() }
        return Ok(());
    }
    if ctx.ks.lookup(db, dst, now).is_some() {
        if nx {
            ctx.reply.int(0);
            return Ok(());
        }
        let lazy = ctx.ks.lazy.server_del;
        ctx.ks.remove_and_free(db, dst, lazy);
    }
    let entry = ctx.ks.remove(db, src).ok_or(NO_SUCH_KEY)?;
    ctx.ks.insert_entry(db, dst, entry);
    ctx.ks.signal_modified(db, src);
    ctx.ks.signal_modified(db, dst);
    ctx.notify(GENERIC, "rename_from", db, src);
    ctx.notify(GENERIC, "rename_to", db, dst);
    ctx.ks.dirty += 1;
    if nx { ctx.reply.int(1) } else { ctx.reply.ok() }
    Ok(())
}

fn rename(ctx: &mut Ctx) -> CmdResult { rename_generic(ctx, false) }
fn renamenx(ctx: &mut Ctx) -> CmdResult { rename_generic(ctx, true) }

fn move_command(ctx: &mut Ctx) -> CmdResult {
    let dst_db = db_arg(ctx, 2)?;
    let (src_db, now) = (ctx.db, ctx.now_ms);
    if dst_db == src_db { return Err(SAME_OBJECT); }
    let key = ctx.args.get(1);
    if ctx.ks.lookup(src_db, key, now).is_none() || ctx.ks.lookup(dst_db, key, now).is_some() {
        ctx.reply.int(0);
        return Ok(());
    }
    let entry = ctx.ks.remove(src_db, key).ok_or(NO_SUCH_KEY)?;
    ctx.ks.insert_entry(dst_db, key, entry);
    ctx.ks.signal_modified(src_db, key);
    ctx.ks.signal_modified(dst_db, key);
    ctx.notify(GENERIC, "move_from", src_db, key);
    ctx.notify(GENERIC, "move_to", dst_db, key);
    ctx.ks.dirty += 1;
    ctx.reply.int(1);
    Ok(())
}

fn swapdb(ctx: &mut Ctx) -> CmdResult {
    let a = int_arg(ctx, 1, Some("ERR invalid first DB index"))?;
    let b = int_arg(ctx, 2, Some("ERR invalid second DB index"))?;
    let n = ctx.ks.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n { return Err(DB_OUT_OF_RANGE); }
    ctx.ks.swap_dbs(a as usize, b as usize, ctx.now_ms);
    ctx.ks.dirty += 1;
    ctx.reply.ok();
    Ok(())
}

fn dbsize(ctx: &mut Ctx) -> CmdResult {
    ctx.reply.int(ctx.ks.dbs[ctx.db].dict.len() as i64);
    Ok(())
}

/// FLUSHDB/FLUSHALL [ASYNC|SYNC]: both modes free synchronously here.
/// FLUSHALL / FLUSHDB [SYNC|ASYNC]: true to free in the background (ASYNC, or no argument
/// under lazyfree-lazy-user-flush).
fn flush_mode(ctx: &Ctx) -> Result<bool, CmdError> {
    match ctx.args.len() {
        1 => Ok(ctx.ks.lazy.user_flush),
        2 if ctx.args.is(1, b"SYNC") => Ok(false),
        2 if ctx.args.is(1, b"ASYNC") => Ok(true),
        _ => Err(SYNTAX),
    }
}

fn flushdb(ctx: &mut Ctx) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    let n = ctx.ks.flush_db(ctx.db, lazy);
    ctx.ks.dirty += n as u64;
    // Propagated even when the database was already empty.
    ctx.force();
    ctx.reply.ok();
    Ok(())
}

/// The data half of FLUSHALL; killing a save child and re-saving when save points are
/// configured is the TypeScript side's (as is resetting the dirty counter after that save).
fn flushall(ctx: &mut Ctx) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    // Redis 7.0 adds the number of keys removed, nothing more (an empty FLUSHALL adds 0).
    let n = ctx.ks.flush_all(lazy);
    ctx.ks.dirty += n as u64;
    ctx.force();
    ctx.reply.ok();
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum TimeBase { RelativeSeconds, RelativeMillis, UnixSeconds, UnixMillis }

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT]
fn expire_generic(ctx: &mut Ctx, base: TimeBase, name: &str) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for i in 3..ctx.args.len() {
        if ctx.args.is(i, b"NX") { nx = true }
        else if ctx.args.is(i, b"XX") { xx = true }
        else if ctx.args.is(i, b"GT") { gt = true }
        else if ctx.args.is(i, b"LT") { lt = true }
        else {
            return Err(CmdError::Owned(format!("ERR Unsupported option {}", String::from_utf8_lossy(ctx.args.get(i)))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::Msg("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt { return Err(CmdError::Msg("ERR GT and LT options at the same time are not compatible")); }
    let invalid = || CmdError::Owned(format!("ERR invalid expire time in '{name}' command"));
    let mut when = ctx.args.i64(2)?;
    if matches!(base, TimeBase::RelativeSeconds | TimeBase::UnixSeconds) {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    let basetime = if matches!(base, TimeBase::RelativeSeconds | TimeBase::RelativeMillis) { ctx.now_ms } else { 0 };
    let when = when.checked_add(basetime).filter(|_| when <= i64::MAX - basetime).ok_or_else(invalid)?;
    let (db, key, now) = (ctx.db, ctx.args.get(1), ctx.now_ms);
    let current = match ctx.ks.lookup(db, key, now) {
        None => {
            ctx.reply.int(0);
            return Ok(());
        }
        Some(e) => e.expire_at(),
    };
    let refused = (nx && current != NO_EXPIRE)
        || (xx && current == NO_EXPIRE)
        || (gt && (current == NO_EXPIRE || when <= current))
        || (lt && current != NO_EXPIRE && when >= current);
    if refused {
        ctx.reply.int(0);
        return Ok(());
    }
    if already_expired(ctx, when) {
        let lazy = ctx.ks.lazy.expire;
        ctx.ks.remove_and_free(db, key, lazy);
        ctx.ks.signal_modified(db, key);
        ctx.notify(GENERIC, "del", db, key);
        let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        ctx.rewrite(&[del, key]);
        ctx.reply.int(1);
    } else {
        ctx.ks.set_expire(db, key, when);
        // expireGenericCommand replies before it notifies.
        ctx.reply.int(1);
        ctx.ks.signal_modified(db, key);
        ctx.notify(GENERIC, "expire", db, key);
        // As PEXPIREAT with the absolute time; the options follow as given.
        if base != TimeBase::UnixMillis && ctx.propagating() {
            let when_text = IntText::new(when);
            let args = ctx.args;
            let mut argv: Vec<&[u8]> = vec![b"PEXPIREAT", key, &when_text];
            argv.extend(args.from(3));
            ctx.rewrite(&argv);
        }
    }
    ctx.ks.dirty += 1;
    Ok(())
}

fn expire(ctx: &mut Ctx) -> CmdResult { expire_generic(ctx, TimeBase::RelativeSeconds, "expire") }
fn pexpire(ctx: &mut Ctx) -> CmdResult { expire_generic(ctx, TimeBase::RelativeMillis, "pexpire") }
fn expireat(ctx: &mut Ctx) -> CmdResult { expire_generic(ctx, TimeBase::UnixSeconds, "expireat") }
fn pexpireat(ctx: &mut Ctx) -> CmdResult { expire_generic(ctx, TimeBase::UnixMillis, "pexpireat") }

/// TTL and friends: -2 for a missing key, -1 without a TTL; `absolute` gives the unix time.
fn ttl_generic(ctx: &mut Ctx, millis: bool, absolute: bool) -> CmdResult {
    let now = ctx.now_ms;
    let expire_at = match ctx.ks.lookup_read_notouch(ctx.db, ctx.args.get(1), now) {
        None => {
            ctx.reply.int(-2);
            return Ok(());
        }
        Some(e) => e.expire_at(),
    };
    if expire_at == NO_EXPIRE {
        ctx.reply.int(-1);
        return Ok(());
    }
    let t = if absolute { expire_at } else { (expire_at - now).max(0) };
    // Redis's (ttl+500)/1000 overflows for a TTL near i64::MAX; compiled Redis yields the
    // mathematically exact quotient there, so compute it wide.
    ctx.reply.int(if millis { t } else { ((t as i128 + 500) / 1000) as i64 });
    Ok(())
}

fn ttl(ctx: &mut Ctx) -> CmdResult { ttl_generic(ctx, false, false) }
fn pttl(ctx: &mut Ctx) -> CmdResult { ttl_generic(ctx, true, false) }
fn expiretime(ctx: &mut Ctx) -> CmdResult { ttl_generic(ctx, false, true) }
fn pexpiretime(ctx: &mut Ctx) -> CmdResult { ttl_generic(ctx, true, true) }

fn persist(ctx: &mut Ctx) -> CmdResult {
    let (db, key, now) = (ctx.db, ctx.args.get(1), ctx.now_ms);
    let removed = ctx.ks.lookup(db, key, now).is_some() && ctx.ks.persist(db, key);
    if removed {
        ctx.ks.signal_modified(db, key);
        ctx.notify(GENERIC, "persist", db, key);
        ctx.ks.dirty += 1;
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

fn touch(ctx: &mut Ctx) -> CmdResult {
    let mut n = 0;
    for key in ctx.args.from(1) {
        if ctx.ks.lookup_read(ctx.db, key, ctx.now_ms).is_some() { n += 1; }
    }
    ctx.reply.int(n);
    Ok(())
}

/// OBJECT's lookup (no LRU update, stats counted, no "keymiss"); replies null for a missing key.
fn object_lookup<'a>(ctx: &'a mut Ctx) -> Option<&'a Entry> {
    let (db, now) = (ctx.db, ctx.now_ms);
    let key = ctx.args.get(2);
    ctx.ks.lookup_object(db, key, now)
}

fn object_encoding(ctx: &mut Ctx) -> CmdResult {
    match object_lookup(ctx).map(|e| e.value.encoding()) {
        Some(enc) => ctx.reply.bulk_str(enc),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// Integers 0..9999 are Redis's shared objects (with the default maxmemory settings).
fn object_refcount(ctx: &mut Ctx) -> CmdResult {
    let shared = match object_lookup(ctx) {
        None => {
            ctx.reply.null();
            return Ok(());
        }
        Some(e) => matches!(&e.value, Value::Str(s) if s.is_shared_integer()),
    };
    ctx.reply.int(if shared { SHARED_REFCOUNT } else { 1 });
    Ok(())
}

/// Seconds since the last access, from the 24-bit LRU clock (wrapping as Redis's does); not
/// tracked under an LFU policy.
fn object_idletime(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let lfu = ctx.ks.access.lfu;
    let lru = match object_lookup(ctx) {
        None => {
            ctx.reply.null();
            return Ok(());
        }
        Some(e) => e.lru(),
    };
    if lfu {
        return Err(CmdError::Msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    ctx.reply.int(lru_idle_seconds(lru, now) as i64);
    Ok(())
}

/// The LFU counter after its decay (not stored back), tracked only under an LFU policy.
fn object_freq(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now_ms;
    let clock = ctx.ks.access;
    let lru = match object_lookup(ctx) {
        None => {
            ctx.reply.null();
            return Ok(());
        }
        Some(e) => e.lru(),
    };
    if !clock.lfu {
        return Err(CmdError::Msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    ctx.reply.int(clock.lfu_counter(lru, now) as i64);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx) -> CmdResult {
    let (src_db, now) = (ctx.db, ctx.now_ms);
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < ctx.args.len() {
        if ctx.args.is(i, b"REPLACE") {
            replace = true;
        } else if ctx.args.is(i, b"DB") && i + 1 < ctx.args.len() {
            dst_db = db_arg(ctx, i + 1)?;
            i += 1;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    let (src, dst) = (ctx.args.get(1), ctx.args.get(2));
    if src_db == dst_db && src == dst { return Err(SAME_OBJECT); }
    let (value, expire_at) = match ctx.ks.lookup_read(src_db, src, now) {
        None => {
            ctx.reply.int(0);
            return Ok(());
        }
        // dupStringObject: a copied shared integer becomes an object of its own.
        Some(e) => (match &e.value { Value::Str(s) => Value::Str(s.duplicate()), v => v.clone() }, e.expire_at()),
    };
    if ctx.ks.lookup(dst_db, dst, now).is_some() {
        if !replace {
            ctx.reply.int(0);
            return Ok(());
        }
        let lazy = ctx.ks.lazy.server_del;
        ctx.ks.remove_and_free(dst_db, dst, lazy);
    }
    let lru = ctx.ks.access.fresh(now);
    ctx.ks.insert_entry(dst_db, dst, Entry::detached(dst, value, expire_at, lru));
    ctx.ks.signal_modified(dst_db, dst);
    ctx.notify(GENERIC, "copy_to", dst_db, dst);
    ctx.ks.dirty += 1;
    ctx.reply.int(1);
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn cursor_parsing_follows_strtoul() {
    }
}
