//! String commands (Redis's t_string.c). The bit commands are in bits.rs.

use crate::long_double::LongDouble;
use crate::command::{CmdError, CmdResult, CommandRow, Ctx, NOT_FLOAT, NOT_INTEGER, OVERFLOW, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::{GENERIC, STRING};
use crate::keyspace::{Entry, TtlChange};
use crate::numfmt::IntText;
use crate::reply::Reply;
use crate::types::string::StrVal;
use crate::types::Value;

mod lcs;

pub const COMMANDS: &[CommandRow] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("getset", getset),
    ("getdel", getdel),
    ("getex", getex),
    ("append", append),
    ("strlen", strlen),
    ("setrange", setrange),
    ("getrange", getrange),
    ("substr", getrange),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("lcs", lcs_command),
];

pub const STRING_TOO_LONG: CmdError = CmdError::Msg("ERR string exceeds maximum allowed size (proto-max-bulk-len)");

/// The string held by an entry, or WRONGTYPE.
pub fn as_str(e: &Entry) -> Result<&StrVal, CmdError> {
    match &e.value {
        Value::Str(s) => Ok(s),
        _ => Err(WRONGTYPE),
    }
}

pub fn as_str_mut(e: &mut Entry) -> Result<&mut StrVal, CmdError> {
    match &mut e.value {
        Value::Str(s) => Ok(s),
        _ => Err(WRONGTYPE),
    }
}

#[inline]
fn reply_str(reply: &mut Reply, s: &StrVal) { s.with_bytes(|b| reply.bulk(b)) }

/// Redis's checkStringLength: a string may not grow past proto-max-bulk-len.
pub fn check_string_length(ctx: &Ctx, size: u64, append: u64) -> CmdResult {
    match size.checked_add(append) {
        Some(total) if total <= ctx.settings.proto_max_bulk_len.max(0) as u64 => Ok(()),
        _ => Err(STRING_TOO_LONG),
    }
}

/// getGenericCommand: replies the value (or null) and fails on a non-string.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    match ctx.ks.lookup_read(ctx.db, key, ctx.now_ms) {
        None => ctx.reply.null(),
        Some(e) => reply_str(ctx.reply, as_str(e)?),
    }
    Ok(())
}

fn get(ctx: &mut Ctx) -> CmdResult { reply_get(ctx, ctx.args.get(1)) }

#[derive(Clone, Copy, PartialEq)]
pub enum ExpireUnit { Seconds, Millis, UnixSeconds, UnixMillis }

/// Redis's checkAlreadyExpired: an absolute time already past deletes the key instead of
/// setting a TTL, except while a file loads (the commands after it may still need the key).
pub fn already_expired(ctx: &Ctx, at_ms: i64) -> bool { at_ms <= ctx.now_ms && !ctx.ks.loading }

/// Converts an EX/PX/EXAT/PXAT argument to an absolute unix time in ms with Redis's checks:
/// not an integer -> "value is not an integer", <= 0 or overflowing -> "invalid expire time".
pub fn expire_arg_to_ms(ctx: &Ctx, arg: usize, unit: ExpireUnit, cmd: &str) -> Result<i64, CmdError> {
    let n = ctx.args.i64(arg)?;
    let invalid = || CmdError::Owned(format!("ERR invalid expire time in '{cmd}' command"));
    if n <= 0 { return Err(invalid()); }
    let ms = match unit {
        ExpireUnit::Seconds | ExpireUnit::UnixSeconds => n.checked_mul(1000).ok_or_else(invalid)?,
        ExpireUnit::Millis | ExpireUnit::UnixMillis => n,
    };
    match unit {
        ExpireUnit::Seconds | ExpireUnit::Millis => ms.checked_add(ctx.now_ms).ok_or_else(invalid),
        _ => Ok(ms),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Cond { Any, Nx, Xx }

/// The options of SET and GETEX (Redis's parseExtendedStringArgumentsOrReply), with its exact
/// acceptance rules: a repeated EX is fine (the last wins), EX with PX is a syntax error, etc.
#[derive(Default)]
struct StringOptions {
    cond: Option<bool>, // Some(true) = NX, Some(false) = XX
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(usize, ExpireUnit)>,
}

impl StringOptions {
    fn cond(&self) -> Cond {
        match self.cond {
            Some(true) => Cond::Nx,
            Some(false) => Cond::Xx,
            None => Cond::Any,
        }
    }
}

fn parse_string_options(ctx: &Ctx, from: usize, for_getex: bool) -> Result<StringOptions, CmdError> {
    let mut o = StringOptions::default();
    let args = ctx.args;
    let mut i = from;
    while i < args.len() {
        let has_next = i + 1 < args.len();
        let unit_of = |a: &[u8]| -> Option<ExpireUnit> {
            if a.eq_ignore_ascii_case(b"EX") { Some(ExpireUnit::Seconds) }
            else if a.eq_ignore_ascii_case(b"PX") { Some(ExpireUnit::Millis) }
            else if a.eq_ignore_ascii_case(b"EXAT") { Some(ExpireUnit::UnixSeconds) }
            else if a.eq_ignore_ascii_case(b"PXAT") { Some(ExpireUnit::UnixMillis) }
            else { None }
        };
        let a = args.get(i);
        let other_unit = |u: ExpireUnit| matches!(o.expire, Some((_, cur)) if cur != u);
        if !for_getex && a.eq_ignore_ascii_case(b"NX") && o.cond != Some(false) {
            o.cond = Some(true);
        } else if !for_getex && a.eq_ignore_ascii_case(b"XX") && o.cond != Some(true) {
            o.cond = Some(false);
        } else if !for_getex && a.eq_ignore_ascii_case(b"GET") {
            o.get = true;
        } else if !for_getex && a.eq_ignore_ascii_case(b"KEEPTTL") && !o.persist && o.expire.is_none() {
            o.keep_ttl = true;
        } else if for_getex && a.eq_ignore_ascii_case(b"PERSIST") && o.expire.is_none() && !o.keep_ttl {
            o.persist = true;
        } else if let Some(unit) = unit_of(a).filter(|u| has_next && !o.keep_ttl && !o.persist && !other_unit(*u)) {
            o.expire = Some((i + 1, unit));
            i += 1;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    Ok(o)
}

/// Redis's setGenericCommand. `on_abort`/`ok` let SETNX answer 0/1 instead of null/OK.
fn set_generic(ctx: &mut Ctx, opts: &StringOptions, value_arg: usize, cmd: &str, int_replies: bool) -> CmdResult {
    let expire_at = match opts.expire {
        Some((arg, unit)) => Some(expire_arg_to_ms(ctx, arg, unit, cmd)?),
        None => None,
    };
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    if opts.get { reply_get(ctx, key)?; }
    let exists = ctx.ks.lookup(db, key, now).is_some();
    let cond = opts.cond();
    if (cond == Cond::Nx && exists) || (cond == Cond::Xx && !exists) {
        if !opts.get {
            if int_replies { ctx.reply.int(0) } else { ctx.reply.null() }
        }
        return Ok(());
    }
    let value = ctx.args.get(value_arg);
    let ttl = match expire_at {
        Some(at) => TtlChange::Set(at),
        None if opts.keep_ttl => TtlChange::Keep,
        None => TtlChange::Drop,
    };
    ctx.ks.set_with_ttl(db, key, Value::Str(StrVal::from_bytes(value)), ttl, now);
    // setKey signals the key before the "set" (and "expire") events, as Redis orders them.
    ctx.ks.signal_modified(db, key);
    ctx.ks.dirty += 1;
    ctx.notify(STRING, "set", db, key);
    if let Some(at) = expire_at {
        ctx.notify(GENERIC, "expire", db, key);
        // Relative and absolute times alike propagate as an absolute PXAT.
        ctx.rewrite(&[b"SET", key, value, b"PXAT", &IntText::new(at)]);
    } else if opts.get && ctx.propagating() {
        let args = ctx.args;
        let kept: Vec<&[u8]> = args.iter().enumerate().filter(|(i, a)| *i < 3 || !a.eq_ignore_ascii_case(b"GET")).map(|(_, a)| a).collect();
        ctx.rewrite(&kept);
    }
    if !opts.get {
        if int_replies { ctx.reply.int(1) } else { ctx.reply.ok() }
    }
    Ok(())
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]
fn set(ctx: &mut Ctx) -> CmdResult {
    let opts = parse_string_options(ctx, 3, false)?;
    set_generic(ctx, &opts, 2, "set", false)
}

fn setnx(ctx: &mut Ctx) -> CmdResult {
    let opts = StringOptions { cond: Some(true), ..Default::default() };
    set_generic(ctx, &opts, 2, "setnx", true)
}

fn setex(ctx: &mut Ctx) -> CmdResult {
    let opts = StringOptions { expire: Some((2, ExpireUnit::Seconds)), ..Default::default() };
    set_generic(ctx, &opts, 3, "setex", false)
}

fn psetex(ctx: &mut Ctx) -> CmdResult {
    let opts = StringOptions { expire: Some((2, ExpireUnit::Millis)), ..Default::default() };
    set_generic(ctx, &opts, 3, "psetex", false)
}

fn mget(ctx: &mut Ctx) -> CmdResult {
    let n = ctx.args.len() - 1;
    ctx.reply.array(n);
    for key in ctx.args.from(1) {
        ctx.events_from_here();
        match ctx.ks.lookup_read(ctx.db, key, ctx.now_ms).map(|e| &e.value) {
            Some(Value::Str(s)) => reply_str(ctx.reply, s),
            _ => ctx.reply.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, nx: bool, name: &str) -> CmdResult {
    if ctx.args.len() % 2 == 0 {
        return Err(CmdError::Owned(format!("ERR wrong number of arguments for '{name}' command")));
    }
    let (db, now) = (ctx.db, ctx.now_ms);
    let args = ctx.args;
    if nx {
        let mut i = 1;
        while i < args.len() {
            if ctx.ks.lookup(db, args.get(i), now).is_some() {
                ctx.reply.int(0);
                return Ok(());
            }
            i += 2;
        }
    }
    let mut i = 1;
    while i < args.len() {
        let key = args.get(i);
        ctx.ks.set(db, key, Value::Str(StrVal::from_bytes(args.get(i + 1))), false, now);
        ctx.ks.signal_modified(db, key);
        ctx.notify(STRING, "set", db, key);
        i += 2;
    }
    ctx.ks.dirty += (args.len() as u64 - 1) / 2;
    if nx { ctx.reply.int(1) } else { ctx.reply.ok() }
    Ok(())
}

fn mset(ctx: &mut Ctx) -> CmdResult { mset_generic(ctx, false, "mset") }
fn msetnx(ctx: &mut Ctx) -> CmdResult { mset_generic(ctx, true, "msetnx") }

fn getset(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(1);
    reply_get(ctx, key)?;
    let value = ctx.args.get(2);
    ctx.ks.set(ctx.db, key, Value::Str(StrVal::from_bytes(value)), false, ctx.now_ms);
    ctx.ks.signal_modified(ctx.db, key);
    ctx.notify(STRING, "set", ctx.db, key);
    ctx.ks.dirty += 1;
    ctx.rewrite(&[b"SET", key, value]);
    Ok(())
}

fn getdel(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(1);
    reply_get(ctx, key)?;
    let lazy = ctx.ks.lazy.user_del;
    if ctx.ks.remove_and_free(ctx.db, key, lazy) {
        ctx.ks.signal_modified(ctx.db, key);
        ctx.notify(GENERIC, "del", ctx.db, key);
        ctx.ks.dirty += 1;
        ctx.rewrite(&[b"DEL", key]);
    }
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]
fn getex(ctx: &mut Ctx) -> CmdResult {
    let opts = parse_string_options(ctx, 2, true)?;
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    match ctx.ks.lookup_read(db, key, now) {
        None => {
            ctx.reply.null();
            return Ok(());
        }
        Some(e) => { as_str(e)?; }
    }
    // Redis validates the expire time only once it knows the key holds a string.
    let expire_at = match opts.expire {
        Some((arg, unit)) => Some((expire_arg_to_ms(ctx, arg, unit, "getex")?, unit)),
        None => None,
    };
    if let Some(e) = ctx.ks.peek(db, key, now) { reply_str(ctx.reply, as_str(e)?); }
    match expire_at {
        Some((at, unit)) if matches!(unit, ExpireUnit::UnixSeconds | ExpireUnit::UnixMillis) && already_expired(ctx, at) => {
            let lazy = ctx.ks.lazy.expire;
            ctx.ks.remove_and_free(db, key, lazy);
            ctx.ks.signal_modified(db, key);
            ctx.notify(GENERIC, "del", db, key);
            ctx.ks.dirty += 1;
            let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
            ctx.rewrite(&[del, key]);
        }
        Some((at, _)) => {
            ctx.ks.set_expire(db, key, at);
            ctx.ks.signal_modified(db, key);
            ctx.notify(GENERIC, "expire", db, key);
            ctx.ks.dirty += 1;
            ctx.rewrite(&[b"PEXPIREAT", key, &IntText::new(at)]);
        }
        None if opts.persist => {
            if ctx.ks.persist(db, key) {
                ctx.ks.signal_modified(db, key);
                ctx.notify(GENERIC, "persist", db, key);
                ctx.ks.dirty += 1;
                ctx.rewrite(&[b"PERSIST", key]);
            }
        }
        None => {}
    }
    Ok(())
}

fn append(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(1);
    let tail = ctx.args.get(2);
    let (db, now) = (ctx.db, ctx.now_ms);
    let limit = ctx.settings.proto_max_bulk_len.max(0) as u64;
    let total = match ctx.ks.lookup(db, key, now) {
        None => {
            ctx.ks.set(db, key, Value::Str(StrVal::from_bytes(tail)), false, now);
            tail.len()
        }
        Some(e) => {
            let s = as_str_mut(e)?;
            if (s.len() as u64).saturating_add(tail.len() as u64) > limit { return Err(STRING_TOO_LONG); }
            let raw = s.make_raw();
            raw.extend_from_slice(tail);
            raw.len()
        }
    };
    ctx.ks.signal_modified(db, key);
    ctx.notify(STRING, "append", db, key);
    ctx.ks.dirty += 1;
    ctx.reply.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx) -> CmdResult {
    let n = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        None => 0,
        Some(e) => as_str(e)?.len(),
    };
    ctx.reply.int(n as i64);
    Ok(())
}

fn setrange(ctx: &mut Ctx) -> CmdResult {
    let offset = ctx.args.i64(2)?;
    if offset < 0 { return Err(CmdError::Msg("ERR offset is out of range")); }
    let offset = offset as u64;
    let key = ctx.args.get(1);
    let value = ctx.args.get(3);
    let (db, now) = (ctx.db, ctx.now_ms);
    let limit = ctx.settings.proto_max_bulk_len.max(0) as u64;
    let fits = |len: u64| offset.checked_add(len).map_or(false, |t| t <= limit);
    let new_len = match ctx.ks.lookup(db, key, now) {
        None => {
            if value.is_empty() {
                ctx.reply.int(0);
                return Ok(());
            }
            if !fits(value.len() as u64) { return Err(STRING_TOO_LONG); }
            let mut bytes = vec![0u8; offset as usize + value.len()];
            bytes[offset as usize..].copy_from_slice(value);
            let n = bytes.len();
            ctx.ks.set(db, key, Value::Str(StrVal::from_raw(bytes)), false, now);
            n
        }
        Some(e) => {
            let s = as_str_mut(e)?;
            if value.is_empty() {
                ctx.reply.int(s.len() as i64);
                return Ok(());
            }
            if !fits(value.len() as u64) { return Err(STRING_TOO_LONG); }
            let raw = s.make_raw();
            let end = offset as usize + value.len();
            if raw.len() < end { raw.resize(end, 0); }
            raw[offset as usize..end].copy_from_slice(value);
            raw.len()
        }
    };
    ctx.ks.signal_modified(db, key);
    ctx.notify(STRING, "setrange", db, key);
    ctx.ks.dirty += 1;
    ctx.reply.int(new_len as i64);
    Ok(())
}

/// GETRANGE/SUBSTR key start end: inclusive, negative indexes from the end.
fn getrange(ctx: &mut Ctx) -> CmdResult {
    let mut start = ctx.args.i64(2)?;
    let mut end = ctx.args.i64(3)?;
    let e = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        None => {
            ctx.reply.bulk(b"");
            return Ok(());
        }
        Some(e) => e,
    };
    let s = as_str(e)?;
    let reply = &mut *ctx.reply;
    s.with_bytes(|b| {
        let len = b.len() as i64;
        if start < 0 && end < 0 && start > end {
            reply.bulk(b"");
            return;
        }
        if start < 0 { start += len; }
        if end < 0 { end += len; }
        start = start.max(0);
        end = end.max(0);
        if end >= len { end = len - 1; }
        if start > end || len == 0 {
            reply.bulk(b"");
        } else {
            reply.bulk(&b[start as usize..=end as usize]);
        }
    });
    Ok(())
}

fn incr_decr(ctx: &mut Ctx, incr: i64) -> CmdResult {
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let new = match ctx.ks.lookup(db, key, now) {
        Some(e) => {
            let s = as_str_mut(e)?;
            let old = s.as_i64().ok_or(NOT_INTEGER)?;
            let new = old.checked_add(incr).ok_or(OVERFLOW)?;
            // Like dbOverwrite: the value changes, the TTL stays.
            *s = StrVal::from_i64(new);
            new
        }
        None => {
            ctx.ks.set(db, key, Value::Str(StrVal::from_i64(incr)), false, now);
            incr
        }
    };
    ctx.ks.signal_modified(db, key);
    ctx.notify(STRING, "incrby", db, key);
    ctx.ks.dirty += 1;
    ctx.reply.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx) -> CmdResult { incr_decr(ctx, 1) }
fn decr(ctx: &mut Ctx) -> CmdResult { incr_decr(ctx, -1) }

fn incrby(ctx: &mut Ctx) -> CmdResult {
    let by = ctx.args.i64(2)?;
    incr_decr(ctx, by)
}

fn decrby(ctx: &mut Ctx) -> CmdResult {
    let by = ctx.args.i64(2)?;
    let negated = by.checked_neg().ok_or(CmdError::Msg("ERR decrement would overflow"))?;
    incr_decr(ctx, negated)
}

/// INCRBYFLOAT in Redis's x87 long double arithmetic (crate::long_double), stored as
/// text (never int-encoded) and kept with its TTL.
fn incrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let current = match ctx.ks.lookup(db, key, now) {
        Some(e) => Some(as_str(e)?.with_bytes(LongDouble::parse).ok_or(NOT_FLOAT)?),
        None => None,
    };
    let incr = LongDouble::parse(ctx.args.get(2)).ok_or(NOT_FLOAT)?;
    let value = current.unwrap_or(LongDouble::ZERO).add(incr);
    if !value.is_finite() {
        return Err(CmdError::Msg("ERR increment would produce NaN or Infinity"));
    }
    let text = value.to_human();
    let new = StrVal::from_text(&text);
    match ctx.ks.lookup(db, key, now) {
        Some(e) => e.value = Value::Str(new),
        None => ctx.ks.set(db, key, Value::Str(new), false, now),
    }
    ctx.ks.signal_modified(db, key);
    ctx.notify(STRING, "incrbyfloat", db, key);
    ctx.ks.dirty += 1;
    // The result, not the increment: float formatting must not differ where it is replayed.
    ctx.rewrite(&[b"SET", key, &text, b"KEEPTTL"]);
    ctx.reply.bulk(&text);
    Ok(())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
fn lcs_command(ctx: &mut Ctx) -> CmdResult {
    let (db, now) = (ctx.db, ctx.now_ms);
    let mut read = |key: &[u8]| -> Result<Vec<u8>, ()> {
        match ctx.ks.lookup_read(db, key, now) {
            None => Ok(Vec::new()),
            Some(e) => match &e.value {
                Value::Str(s) => Ok(s.to_vec()),
                _ => Err(()),
            },
        }
    };
    let a = read(ctx.args.get(1));
    let b = read(ctx.args.get(2));
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err(CmdError::Msg("ERR The specified keys must contain string values")),
    };
    let (mut want_idx, mut want_len, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < ctx.args.len() {
        let more = i + 1 < ctx.args.len();
        if ctx.args.is(i, b"IDX") {
            want_idx = true;
        } else if ctx.args.is(i, b"LEN") {
            want_len = true;
        } else if ctx.args.is(i, b"WITHMATCHLEN") {
            with_match_len = true;
        } else if ctx.args.is(i, b"MINMATCHLEN") && more {
            min_match_len = ctx.args.i64(i + 1)?.max(0);
            i += 1;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    if want_idx && want_len {
        return Err(CmdError::Msg("ERR If you want both the length and indexes, please just use IDX."));
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CmdError::Msg("ERR String too long for LCS"));
    }
    // Redis refuses when its (alen+1)*(blen+1) u32 table would exceed proto-max-bulk-len.
    let table_bytes = (a.len() as u128 + 1) * (b.len() as u128 + 1) * 4;
    if table_bytes > ctx.settings.proto_max_bulk_len.max(0) as u128 {
        return Err(CmdError::Msg("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    if want_len {
        ctx.reply.int(lcs::lcs_len(&a, &b) as i64);
        return Ok(());
    }
    let result = lcs::lcs(&a, &b).ok_or(CmdError::Msg("ERR Insufficient memory, failed allocating transient memory for LCS"))?;
    if !want_idx {
        ctx.reply.bulk(&result.common);
        return Ok(());
    }
    let kept: Vec<&lcs::Match> = result.matches.iter().filter(|m| min_match_len == 0 || m.len as i64 >= min_match_len).collect();
    let r = &mut *ctx.reply;
    r.map(2);
    r.bulk(b"matches");
    r.array(kept.len());
    for m in kept {
        r.array(2 + with_match_len as usize);
        r.array(2);
        r.int(m.a.0 as i64);
        r.int(m.a.1 as i64);
        r.array(2);
        r.int(m.b.0 as i64);
        r.int(m.b.1 as i64);
        if with_match_len { r.int(m.len as i64); }
    }
    r.bulk(b"len");
    r.int(result.common.len() as i64);
    Ok(())
}
