//! DUMP and RESTORE (Redis's cluster.c), on the payload format of `dump.rs`.

use crate::command::{CmdError, CmdResult, CommandRow, Ctx, NOT_INTEGER, SYNTAX};
use crate::keyspace::notify::{GENERIC, NEW};
use crate::keyspace::NO_EXPIRE;
use crate::cmd::strings::already_expired;
use crate::numfmt::{self, IntText};

use super::dump::{decode_payload, dump_payload, verify_payload};
use super::load::internal_error_line;
use crate::log_queue;

// RESTORE-ASKING is RESTORE with the `asking` flag, which only a cluster node's slot
// redirection reads: without cluster mode the two are the same command.
pub const COMMANDS: &[CommandRow] = &[("dump", dump), ("restore", restore), ("restore-asking", restore)];

const BUSYKEY: CmdError = CmdError::Msg("BUSYKEY Target key name already exists.");
const BAD_TTL: CmdError = CmdError::Msg("ERR Invalid TTL value, must be >= 0");
const BAD_PAYLOAD: CmdError = CmdError::Msg("ERR DUMP payload version or checksum are wrong");
const BAD_FORMAT: CmdError = CmdError::Msg("ERR Bad data format");
const BAD_IDLETIME: CmdError = CmdError::Msg("ERR Invalid IDLETIME value, must be >= 0");
const BAD_FREQ: CmdError = CmdError::Msg("ERR Invalid FREQ value, must be >= 0 and <= 255");


/// DUMP key
fn dump(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(1);
    let payload = match ctx.ks.lookup_read(ctx.db, key, ctx.now_ms) {
        Some(e) => dump_payload(&e.value, ctx.settings.rdb_compression != 0, ctx.settings),
        None => {
            ctx.reply.null();
            return Ok(());
        }
    };
    ctx.reply.bulk(&payload);
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let mut replace = false;
    let mut absttl = false;
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        if args.is(j, b"REPLACE") {
            replace = true;
        } else if args.is(j, b"ABSTTL") {
            absttl = true;
        } else if args.is(j, b"IDLETIME") && more >= 1 && freq.is_none() {
            let v = args.i64(j + 1)?;
            if v < 0 {
                return Err(BAD_IDLETIME);
            }
            idle = Some(v);
            j += 1;
        } else if args.is(j, b"FREQ") && more >= 1 && idle.is_none() {
            let v = args.i64(j + 1)?;
            if !(0..=255).contains(&v) {
                return Err(BAD_FREQ);
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }

    let (db, key, now) = (ctx.db, args.get(1), ctx.now_ms);
    if !replace && ctx.ks.lookup(db, key, now).is_some() {
        return Err(BUSYKEY);
    }
    let mut ttl = numfmt::parse_i64(args.get(2)).ok_or(NOT_INTEGER)?;
    if ttl < 0 {
        return Err(BAD_TTL);
    }
    let payload = args.get(3);
    if !verify_payload(payload) {
        return Err(BAD_PAYLOAD);
    }
    let value = match decode_payload(payload, ctx.settings) {
        Ok(value) => value,
        Err(reason) => {
            // rdbReportError in a RESTORE: the reason at verbose, and the command fails.
            if let Some(line) = reason.and_then(|e| internal_error_line(e.message())) {
                log_queue::push(log_queue::LOG_VERBOSE, line);
            }
            return Err(BAD_FORMAT);
        }
    };

    let lazy = ctx.ks.lazy.server_del;
    let deleted = replace && ctx.ks.remove_and_free(db, key, lazy);
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    if ttl != 0 && already_expired(ctx, ttl) {
        // Already expired: the key is not created (and a replaced one stays deleted).
        if deleted {
            ctx.ks.signal_modified(db, key);
            ctx.notify(GENERIC, "del", db, key);
            ctx.ks.dirty += 1;
            ctx.rewrite(&[b"DEL", key]);
        }
        ctx.reply.ok();
        return Ok(());
    }
    let lru = ctx.ks.access.restored(idle, freq.map(|f| f as u8), now);
    ctx.ks.add(db, key, value, if ttl != 0 { ttl } else { NO_EXPIRE }, lru);
    ctx.notify(NEW, "new", db, key);
    ctx.ks.signal_modified(db, key);
    ctx.notify(GENERIC, "restore", db, key);
    ctx.ks.dirty += 1;
    if ttl != 0 && !absttl && ctx.propagating() {
        // The TTL as an absolute time, with ABSTTL added at the end.
        let ttl_text = IntText::new(ttl);
        let mut argv: Vec<&[u8]> = args.iter().collect();
        argv[2] = &ttl_text;
        argv.push(b"ABSTTL");
        ctx.rewrite(&argv);
    }
    ctx.reply.ok();
    Ok(())
}
