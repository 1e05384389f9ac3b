//! XADD, XTRIM, XDEL, XLEN, XSETID.

use crate::command::{CmdError, CmdResult, Ctx, NO_SUCH_KEY, SYNTAX};
use crate::Args;
use crate::settings::Settings;
use crate::keyspace::notify::STREAM;
use crate::types::stream::id::{parse_id, IdForm, ParsedId};
use crate::types::stream::{Stream, StreamId, Trim};
use crate::types::Value;

use super::{limits, reply_id, stream_of, strict_id, INVALID_ID};

/// XADD's and XTRIM's options (streamAddTrimArgs).
struct AddTrim {
    /// XADD's ID argument position (the fields follow it).
    id_pos: usize,
    /// The ID given, None for `*`.
    id: Option<ParsedId>,
    no_mkstream: bool,
    trim: Option<Trim>,
    approx: bool,
    /// Entries one trim may remove (0: no limit).
    limit: i64,
    /// Where the trim threshold is (0: no trim option).
    threshold_pos: usize,
    limit_given: bool,
}

const TOO_LARGE: CmdError = CmdError::Msg("ERR Elements are too large to be stored");
const BOTH_STRATEGIES: CmdError = CmdError::Msg("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");

/// streamParseAddOrTrimArgsOrReply.
fn parse_add_trim(ctx: &Ctx, xadd: bool, settings: &Settings) -> Result<AddTrim, CmdError> {
    let args = ctx.args;
    let argc = args.len();
    let mut parsed = AddTrim { id_pos: 0, id: None, no_mkstream: false, trim: None, approx: false, limit: 0, threshold_pos: 0, limit_given: false };
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let opt = args.get(i);
        if xadd && opt == b"*" {
            break;
        } else if (opt.eq_ignore_ascii_case(b"MAXLEN") || opt.eq_ignore_ascii_case(b"MINID")) && more > 0 {
            if parsed.trim.is_some() {
                return Err(BOTH_STRATEGIES);
            }
            parsed.approx = false;
            let next = args.get(i + 1);
            if more >= 2 && next == b"~" {
                parsed.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = args.get(i + 1);
            parsed.threshold_pos = i + 1;
            parsed.trim = Some(if opt.eq_ignore_ascii_case(b"MAXLEN") {
                let maxlen = crate::numfmt::parse_i64(value).ok_or(crate::command::NOT_INTEGER)?;
                if maxlen < 0 {
                    return Err(CmdError::Msg("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(maxlen as u64)
            } else {
                Trim::MinId(strict_id(value, 0)?)
            });
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"LIMIT") && more > 0 {
            parsed.limit = crate::numfmt::parse_i64(args.get(i + 1)).ok_or(crate::command::NOT_INTEGER)?;
            if parsed.limit < 0 {
                return Err(CmdError::Msg("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"NOMKSTREAM") {
            parsed.no_mkstream = true;
        } else if xadd {
            parsed.id = Some(parse_id(opt, 0, IdForm::StrictSeqStar).ok_or(INVALID_ID)?);
            break;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    parsed.id_pos = i;
    parsed.limit_given = limit_given;
    if parsed.limit != 0 && parsed.trim.is_none() {
        return Err(CmdError::Msg("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && parsed.trim.is_none() {
        return Err(CmdError::Msg("ERR syntax error, XTRIM must be called with a trimming strategy"));
    }
    if limit_given {
        if !parsed.approx {
            return Err(CmdError::Msg("ERR syntax error, LIMIT cannot be used without the special ~ option"));
        }
    } else if parsed.approx {
        // Without LIMIT an approximate trim removes at most 100 nodes' worth of entries.
        let default = 100i64.saturating_mul(settings.stream_node_max_entries);
        parsed.limit = if default <= 0 || default > 10000 { 10000 } else { default };
    } else {
        parsed.limit = 0;
    }
    Ok(parsed)
}

/// An approximate trim propagates as the exact trim it turned out to be (Redis's
/// streamRewriteApproxSpecifier and streamRewriteTrimArgument). With LIMIT, Redis 7.0 writes
/// `= <n> LIMIT <count>`, which its own AOF loader refuses: keyfork propagates that one as given.
fn exact_trim_possible(parsed: &AddTrim) -> bool {
    parsed.approx && !parsed.limit_given && parsed.threshold_pos > 0
}

/// The threshold an exact trim needs to leave `s` as it is: its length, or its first ID.
fn exact_threshold(parsed: &AddTrim, s: &Stream) -> Vec<u8> {
    match parsed.trim {
        Some(Trim::MaxLen(_)) if exact_trim_possible(parsed) => s.length.to_string().into_bytes(),
        Some(Trim::MinId(_)) if exact_trim_possible(parsed) => s.edge_id(true, false).text(),
        _ => Vec::new(),
    }
}

/// The command's arguments as propagated: `~` as `=` with `threshold` when the trim is made
/// exact, and XADD's ID argument replaced by `id` when given.
fn propagated_args<'a>(args: Args<'a>, parsed: &AddTrim, threshold: &'a [u8], id: Option<&'a [u8]>) -> Vec<&'a [u8]> {
    let exact = exact_trim_possible(parsed);
    (0..args.len())
        .map(|i| match (i, id) {
            (i, Some(id)) if i == parsed.id_pos => id,
            (i, _) if exact && i == parsed.threshold_pos => threshold,
            (i, _) if exact && i + 1 == parsed.threshold_pos && args.get(i) == b"~" => b"=".as_slice(),
            (i, _) => args.get(i),
        })
        .collect()
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [...]
pub(super) fn xadd(ctx: &mut Ctx) -> CmdResult {
    let settings = ctx.settings;
    let parsed = parse_add_trim(ctx, true, settings)?;
    let fields_at = parsed.id_pos + 1;
    let argc = ctx.args.len();
    if argc < fields_at + 2 || (argc - fields_at) % 2 == 1 {
        return Err(CmdError::Msg("ERR wrong number of arguments for 'xadd' command"));
    }
    if let Some(p) = parsed.id {
        if p.seq_given && p.id == StreamId::ZERO {
            return Err(CmdError::Msg("ERR The ID specified in XADD must be greater than 0-0"));
        }
    }
    let (db, now, propagating) = (ctx.db, ctx.now_ms, ctx.propagating());
    let key = ctx.args.get(1);
    let entry = if parsed.no_mkstream {
        match ctx.ks.lookup(db, key, now) {
            Some(e) => e,
            None => {
                ctx.reply.null();
                return Ok(());
            }
        }
    } else {
        ctx.ks.lookup_or_insert(db, key, now, || Value::Stream(Box::new(Stream::new())))
    };
    let s = stream_of(entry)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::Msg("ERR The stream has exhausted the last possible ID, unable to add more items"));
    }
    const NOT_GREATER: CmdError = CmdError::Msg("ERR The ID specified in XADD is equal or smaller than the target stream top item");
    let id = match parsed.id {
        None => {
            let ms = now.max(0) as u64;
            if ms > s.last_id.ms { StreamId::new(ms, 0) } else { s.last_id.next().expect("not the greatest ID") }
        }
        Some(p) if p.seq_given => p.id,
        // `<ms>-*`: the next sequence of that millisecond (Redis 7.0 reports no sequence left
        // with the error text of its other append failure).
        Some(p) if p.id.ms == s.last_id.ms => {
            if s.last_id.seq == u64::MAX {
                return Err(TOO_LARGE);
            }
            StreamId::new(p.id.ms, s.last_id.seq + 1)
        }
        Some(p) => StreamId::new(p.id.ms, 0),
    };
    if parsed.id.is_some() && id <= s.last_id {
        return Err(NOT_GREATER);
    }
    let fields_values: Vec<&[u8]> = ctx.args.from(fields_at).collect();
    if s.append(id, &fields_values, limits(settings)).is_err() {
        return Err(TOO_LARGE);
    }
    reply_id(ctx.reply, id);
    let trimmed = match parsed.trim {
        Some(strategy) => s.trim(strategy, parsed.approx, parsed.limit) > 0,
        None => false,
    };
    // What Redis 7.0 propagates: the ID actually added in place of `*` or `<ms>-*`, and an
    // approximate trim as the exact one it turned out to be.
    let id_generated = !parsed.id.is_some_and(|p| p.seq_given);
    if propagating && (id_generated || exact_trim_possible(&parsed)) {
        let threshold = exact_threshold(&parsed, s);
        let id_text = id.text();
        let argv = propagated_args(ctx.args, &parsed, &threshold, id_generated.then_some(id_text.as_slice()));
        ctx.rewrite(&argv);
    }
    ctx.ks.signal_modified(db, key);
    ctx.notify(STREAM, "xadd", db, key);
    if trimmed {
        ctx.notify(STREAM, "xtrim", db, key);
    }
    ctx.ks.dirty += 1;
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
pub(super) fn xtrim(ctx: &mut Ctx) -> CmdResult {
    let parsed = parse_add_trim(ctx, false, ctx.settings)?;
    let (db, now, propagating) = (ctx.db, ctx.now_ms, ctx.propagating());
    let key = ctx.args.get(1);
    let Some(entry) = ctx.ks.lookup(db, key, now) else {
        ctx.reply.int(0);
        return Ok(());
    };
    let s = stream_of(entry)?;
    let strategy = parsed.trim.expect("XTRIM always has a strategy");
    let deleted = s.trim(strategy, parsed.approx, parsed.limit);
    if deleted > 0 {
        if propagating && exact_trim_possible(&parsed) {
            let threshold = exact_threshold(&parsed, s);
            let argv = propagated_args(ctx.args, &parsed, &threshold, None);
            ctx.rewrite(&argv);
        }
        ctx.ks.signal_modified(db, key);
        ctx.notify(STREAM, "xtrim", db, key);
        ctx.ks.dirty += deleted as u64;
    }
    ctx.reply.int(deleted);
    Ok(())
}

/// XDEL key id [id ...]
pub(super) fn xdel(ctx: &mut Ctx) -> CmdResult {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    let key = args.get(1);
    let Some(entry) = ctx.ks.lookup(db, key, now) else {
        ctx.reply.int(0);
        return Ok(());
    };
    let s = stream_of(entry)?;
    // Every ID is checked before anything is deleted.
    let ids = args.from(2).map(|a| strict_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0u64;
    let mut first_deleted = false;
    for id in ids {
        if s.delete(id) {
            first_deleted |= id == s.first_id;
            if id > s.max_deleted_entry_id {
                s.max_deleted_entry_id = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.length == 0 {
            s.first_id = StreamId::ZERO;
        } else if first_deleted {
            s.first_id = s.edge_id(true, true);
        }
        ctx.ks.signal_modified(db, key);
        ctx.notify(STREAM, "xdel", db, key);
        ctx.ks.dirty += deleted;
    }
    ctx.reply.int(deleted as i64);
    Ok(())
}

/// XLEN key
pub(super) fn xlen(ctx: &mut Ctx) -> CmdResult {
    let len = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        Some(e) => stream_of(e)?.length,
        None => 0,
    };
    ctx.reply.int(len as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub(super) fn xsetid(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let id = strict_id(args.get(2), 0)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::ZERO;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args.is(i, b"ENTRIESADDED") && more > 0 {
            let n = args.i64(i + 1)?;
            if n < 0 {
                return Err(CmdError::Msg("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if args.is(i, b"MAXDELETEDID") && more > 0 {
            max_deleted = strict_id(args.get(i + 1), 0)?;
            if id < max_deleted {
                return Err(CmdError::Msg("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    let (db, now) = (ctx.db, ctx.now_ms);
    let key = args.get(1);
    let entry = ctx.ks.lookup(db, key, now).ok_or(NO_SUCH_KEY)?;
    let s = stream_of(entry)?;
    if s.length > 0 {
        if id < s.last_valid_id() {
            return Err(CmdError::Msg("ERR The ID specified in XSETID is smaller than the target stream top item"));
        }
        if entries_added.is_some_and(|n| s.length > n) {
            return Err(CmdError::Msg("ERR The entries_added specified in XSETID is smaller than the target stream length"));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if max_deleted != StreamId::ZERO {
        s.max_deleted_entry_id = max_deleted;
    }
    // Redis 7.0's XSETID does not signal the key as modified: WATCH survives it.
    // xsetidCommand replies before it notifies.
    ctx.reply.ok();
    ctx.ks.dirty += 1;
    ctx.notify(STREAM, "xsetid", db, key);
    Ok(())
}
