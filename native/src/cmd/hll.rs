//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//! The HLL itself is a string value (`types::hll`): these commands check that a key holds a
//! valid one, change its bytes in place (making the string raw, as dbUnshareStringValue does)
//! and keep its cached cardinality.

use crate::command::{CmdError, CmdResult, CommandRow, Ctx, WRONGTYPE};
use crate::keyspace::notify::STRING;
use crate::keyspace::{Entry, Keyspace};
use crate::types::hll::{self, REGISTERS};
use crate::types::string::StrVal;
use crate::types::Value;

pub const COMMANDS: &[CommandRow] = &[
    ("pfadd", pfadd),
    ("pfcount", pfcount),
    ("pfmerge", pfmerge),
    ("pfdebug", pfdebug),
    ("pfselftest", pfselftest),
];

const NOT_HLL: CmdError = CmdError::Msg(hll::NOT_HLL);
const CORRUPT: CmdError = CmdError::Msg(hll::CORRUPT);

/// isHLLObjectOrReply: a string (not int-encoded) holding a valid HLL header.
fn check(e: &Entry) -> Result<(), CmdError> {
    match &e.value {
        Value::Str(StrVal::Int(_) | StrVal::OwnInt(_)) => Err(NOT_HLL),
        Value::Str(s) => s.with_bytes(|b| if hll::is_valid(b) { Ok(()) } else { Err(NOT_HLL) }),
        _ => Err(WRONGTYPE),
    }
}

/// The HLL bytes of a checked entry, as a raw string to change in place.
fn bytes_mut(e: &mut Entry) -> &mut Vec<u8> {
    match &mut e.value {
        Value::Str(s) => s.make_raw(),
        _ => unreachable!("checked to be a string"),
    }
}

fn sparse_max(ctx: &Ctx) -> usize {
    ctx.settings.hll_sparse_max_bytes.max(0) as usize
}

/// PFADD key [element ...]
fn pfadd(ctx: &mut Ctx) -> CmdResult {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    let max_bytes = sparse_max(ctx);
    let key = args.get(1);
    let mut updated = 0u64;
    let entry = match ctx.ks.lookup(db, key, now) {
        Some(e) => {
            check(e)?;
            e
        }
        None => {
            updated += 1;
            ctx.ks.lookup_or_insert(db, key, now, || Value::Str(StrVal::from_raw(hll::new_sparse())))
        }
    };
    let h = bytes_mut(entry);
    for element in args.from(2) {
        match hll::add(h, element, max_bytes) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(()) => return Err(CORRUPT),
        }
    }
    if updated > 0 {
        hll::invalidate_cache(h);
        ctx.ks.signal_modified(db, key);
        ctx.notify(STRING, "pfadd", db, key);
        ctx.ks.dirty += updated;
    }
    ctx.reply.int((updated > 0) as i64);
    Ok(())
}

/// Merges the HLL at `key` (if any) into `max`; true when it is dense. Counts a keyspace hit or
/// miss, as lookupKeyRead does.
fn merge_key(ks: &mut Keyspace, db: usize, key: &[u8], now: i64, max: &mut [u8; REGISTERS]) -> Result<bool, CmdError> {
    let Some(e) = ks.lookup_read(db, key, now) else { return Ok(false) };
    check(e)?;
    let Value::Str(s) = &e.value else { return Err(WRONGTYPE) };
    s.with_bytes(|b| {
        hll::merge_into(max, b).map_err(|_| CORRUPT)?;
        Ok(b[4] == hll::DENSE)
    })
}

/// PFCOUNT key [key ...]
fn pfcount(ctx: &mut Ctx) -> CmdResult {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    if args.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        for key in args.from(1) {
            merge_key(ctx.ks, db, key, now, &mut max)?;
        }
        ctx.reply.int(hll::estimate(&hll::raw_histogram(&max)) as i64);
        return Ok(());
    }
    let key = args.get(1);
    let Some(entry) = ctx.ks.lookup_read(db, key, now) else {
        ctx.reply.int(0);
        return Ok(());
    };
    check(entry)?;
    let h = bytes_mut(entry);
    let card = match hll::cached_cardinality(h) {
        Some(card) => card,
        None => {
            let card = hll::count(h).ok_or(CORRUPT)?;
            hll::set_cached_cardinality(h, card);
            // Only a cache, but stored in the value: it is a change to save and propagate.
            ctx.ks.signal_modified(db, key);
            ctx.ks.dirty += 1;
            card
        }
    };
    ctx.reply.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]
fn pfmerge(ctx: &mut Ctx) -> CmdResult {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    let max_bytes = sparse_max(ctx);
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    for key in args.from(1) {
        use_dense |= merge_key(ctx.ks, db, key, now, &mut max)?;
    }
    let dest = args.get(1);
    let entry = ctx.ks.lookup_or_insert(db, dest, now, || Value::Str(StrVal::from_raw(hll::new_sparse())));
    let h = bytes_mut(entry);
    if use_dense && hll::to_dense(h).is_err() {
        return Err(CORRUPT);
    }
    for (i, &v) in max.iter().enumerate() {
        if v != 0 && hll::raise(h, i, v, max_bytes).is_err() {
            return Err(CORRUPT);
        }
    }
    hll::invalidate_cache(h);
    ctx.ks.signal_modified(db, dest);
    // PFMERGE's event is "pfadd", as in Redis.
    ctx.notify(STRING, "pfadd", db, dest);
    ctx.ks.dirty += 1;
    ctx.reply.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(ctx: &mut Ctx) -> CmdResult {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    let sub = args.get(1);
    let sub_text = String::from_utf8_lossy(sub).into_owned();
    let key = args.get(2);
    let entry = ctx.ks.lookup(db, key, now).ok_or(CmdError::Msg("ERR The specified key does not exist"))?;
    check(entry)?;
    let h = bytes_mut(entry);
    let arity = || CmdError::Owned(format!("ERR Wrong number of arguments for the '{sub_text}' subcommand"));
    let known = [&b"getreg"[..], b"decode", b"encoding", b"todense"].iter().any(|k| sub.eq_ignore_ascii_case(k));
    if !known {
        return Err(CmdError::Owned(format!("ERR Unknown PFDEBUG subcommand '{sub_text}'")));
    }
    if args.len() != 3 {
        return Err(arity());
    }
    let mut converted = false;
    if sub.eq_ignore_ascii_case(b"getreg") || sub.eq_ignore_ascii_case(b"todense") {
        converted = h[4] == hll::SPARSE;
        if converted {
            hll::to_dense(h).map_err(|_| CORRUPT)?;
        }
        if sub.eq_ignore_ascii_case(b"todense") {
            ctx.reply.int(converted as i64);
        } else {
            let regs = hll::registers(h);
            ctx.reply.array(regs.len());
            for r in regs {
                ctx.reply.int(r as i64);
            }
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if h[4] != hll::SPARSE {
            return Err(CmdError::Msg("ERR HLL encoding is not sparse"));
        }
        ctx.reply.bulk(hll::decode_sparse(h).as_bytes());
    } else {
        ctx.reply.simple(if h[4] == hll::DENSE { "dense" } else { "sparse" });
    }
    // A change of encoding is a change to save and propagate.
    if converted {
        ctx.ks.dirty += 1;
    }
    Ok(())
}

/// PFSELFTEST
fn pfselftest(ctx: &mut Ctx) -> CmdResult {
    hll::self_test(sparse_max(ctx)).map_err(CmdError::Owned)?;
    ctx.reply.ok();
    Ok(())
}
