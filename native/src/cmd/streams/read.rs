//! XREAD and XREADGROUP, with BLOCK.
//!
//! A read that finds nothing and may block returns `WouldBlock`; the dispatcher runs it again
//! when one of its keys is written (`ctx.retrying`). Redis 7.0 remembers, for a blocked XREAD,
//! the ID each stream had when the client blocked: `$` arguments are rewritten to that ID for
//! the re-runs. A blocked XREADGROUP with `>` reads from the group's last delivered ID at the
//! time it is served, as Redis does. A re-run serves the first stream (in argument order) that
//! has news, with the default COUNT of blocked readers (1000) when none was given. A plain
//! reader whose key vanished or changed type keeps waiting; a group reader is told its stream
//! or its group is gone, with Redis's errors.

use std::sync::Arc;

use crate::command::{CmdError, CmdResult, Ctx, SYNTAX, WRONGTYPE};
use crate::types::stream::group::{Nack, INVALID_ENTRIES_READ};
use crate::types::stream::{Group, Stream, StreamId};
use crate::keyspace::notify::STREAM;
use crate::types::Value;

use crate::cmd::timeout::parse_timeout_ms;
use super::propagate::GroupPropagation;
use super::{no_key_or_group, reply_entry, reply_id, strict_id};

/// Redis's XREAD_BLOCKED_DEFAULT_COUNT.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

pub(super) fn xread(ctx: &mut Ctx) -> CmdResult {
    read(ctx, false)
}

pub(super) fn xreadgroup(ctx: &mut Ctx) -> CmdResult {
    read(ctx, true)
}

/// What each stream argument asks for.
#[derive(Clone, Copy, PartialEq)]
enum From {
    /// Entries after this ID (for XREADGROUP: this consumer's pending entries after it).
    After(StreamId),
    /// XREADGROUP's `>`: entries never delivered to the group.
    New,
}

struct ReadArgs<'a> {
    count: usize,
    block_ms: Option<i64>,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
    /// Index of the first key.
    keys_at: usize,
    streams: usize,
}

fn parse<'a>(ctx: &Ctx<'a>, xreadgroup: bool) -> Result<ReadArgs<'a>, CmdError> {
    let args = ctx.args;
    let argc = args.len();
    let name = if xreadgroup { "XREADGROUP" } else { "XREAD" };
    let mut parsed = ReadArgs { count: 0, block_ms: None, group: None, noack: false, keys_at: 0, streams: 0 };
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        if args.is(i, b"BLOCK") && more > 0 {
            // Redis refuses BLOCK from scripts outright (it could never block there), naming
            // the command as the script spelled it.
            if crate::script::is_running() {
                return Err(CmdError::Owned(format!("ERR {} command is not allowed with BLOCK option from scripts", String::from_utf8_lossy(args.get(0)))));
            }
            i += 1;
            parsed.block_ms = Some(parse_timeout_ms(args.get(i), ctx.now_ms)?);
        } else if args.is(i, b"COUNT") && more > 0 {
            i += 1;
            parsed.count = args.i64(i)?.max(0) as usize;
        } else if args.is(i, b"STREAMS") && more > 0 {
            parsed.keys_at = i + 1;
            let n = argc - parsed.keys_at;
            if n % 2 != 0 {
                let symbol = if xreadgroup { '>' } else { '$' };
                return Err(CmdError::Owned(format!(
                    "ERR Unbalanced {name} list of streams: for each stream key an ID or '{symbol}' must be specified."
                )));
            }
            parsed.streams = n / 2;
            break;
        } else if args.is(i, b"GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::Msg("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."));
            }
            parsed.group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if args.is(i, b"NOACK") {
            if !xreadgroup {
                return Err(CmdError::Msg("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."));
            }
            parsed.noack = true;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    if parsed.keys_at == 0 {
        return Err(SYNTAX);
    }
    if xreadgroup && parsed.group.is_none() {
        return Err(CmdError::Msg("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(parsed)
}

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]
/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...]
fn read(ctx: &mut Ctx, xreadgroup: bool) -> CmdResult {
    let parsed = parse(ctx, xreadgroup)?;
    let args = ctx.args;
    let (db, now, retrying) = (ctx.db, ctx.now_ms, ctx.retrying);
    let key_of = |i: usize| args.get(parsed.keys_at + i);
    let id_at = |i: usize| parsed.keys_at + parsed.streams + i;

    // Check every key and ID before serving anything (each key is looked up, as Redis does).
    let mut from = Vec::with_capacity(parsed.streams);
    let mut rewrite = Vec::new();
    for i in 0..parsed.streams {
        let key = key_of(i);
        let found = ctx.ks.lookup_read(db, key, now);
        let stream = match found {
            Some(e) => match &e.value {
                Value::Stream(s) => Some(&**s),
                _ if retrying => None,
                _ => return Err(WRONGTYPE),
            },
            None => None,
        };
        if let Some((group, _)) = parsed.group {
            if !retrying && !stream.is_some_and(|s| s.groups.contains_key(group)) {
                return Err(no_key_or_group(key, group, " in XREADGROUP with GROUP option"));
            }
        }
        let arg = args.get(id_at(i));
        from.push(if arg == b"$" {
            if xreadgroup {
                return Err(CmdError::Msg("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            let last = stream.map_or(StreamId::ZERO, |s| s.last_id);
            rewrite.push((id_at(i), last.text()));
            From::After(last)
        } else if arg == b">" {
            if !xreadgroup {
                return Err(CmdError::Msg("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            From::New
        } else {
            From::After(strict_id(arg, 0)?)
        });
    }

    let count = if retrying && parsed.count == 0 { BLOCKED_DEFAULT_COUNT } else { parsed.count };
    let limit = if count == 0 { usize::MAX } else { count };
    // The streams' parts are written first; the head (how many were served) goes before them.
    let mark = ctx.reply.mark();
    let first_event = ctx.ks.event_seq();
    let mut served = 0usize;
    let mut dirty = 0u64;
    // Whether a stream has entries after `after` to serve. A reader served after blocking is
    // served once the stream's last ID passed what it waits for, even if the new entries are
    // gone again (trimmed or deleted: it gets an empty list), as Redis's
    // serveClientsBlockedOnStreamKey compares last_id; the first run needs a valid entry.
    let has_news = |s: &Stream, after: StreamId| if retrying { s.last_id > after } else { s.length > 0 && s.last_valid_id() > after };
    // Reads propagate nothing of themselves; a group read propagates what it changed.
    let mut propagation = GroupPropagation::new(ctx, b"", parsed.group.map_or(&b""[..], |(g, _)| g));
    for (i, &wanted) in from.iter().enumerate() {
        let key = key_of(i);
        let stream = match ctx.ks.lookup_read(db, key, now).map(|e| &mut e.value) {
            Some(Value::Stream(s)) => Some(s),
            _ => None,
        };
        let Some(s) = stream else {
            // A group reader whose stream was deleted or replaced is told so (Redis 7.0's
            // unblockDeletedStreamReadgroupClients); a plain reader keeps waiting.
            if retrying && parsed.group.is_some() {
                return Err(CmdError::Msg("UNBLOCKED the stream key no longer exists"));
            }
            continue;
        };
        match parsed.group {
            None => {
                let From::After(after) = wanted else { continue };
                if !has_news(s, after) {
                    continue;
                }
                begin_stream(ctx.reply, key);
                let start = after.next().unwrap_or(StreamId::MAX);
                let entries: Vec<_> = s.range(start, StreamId::MAX, false).take(limit).collect();
                ctx.reply.array(entries.len());
                for e in &entries {
                    reply_entry(ctx.reply, e);
                }
            }
            Some((group_name, consumer)) => {
                let Some(group) = s.groups.get(group_name) else {
                    // Only a re-run gets here (the first run checked): the group went away.
                    return Err(CmdError::Msg("NOGROUP the consumer group this client was blocked on no longer exists"));
                };
                if wanted == From::New && !has_news(s, group.last_id) {
                    continue;
                }
                begin_stream(ctx.reply, key);
                let consumer_at = ctx.reply.buf.len();
                propagation.key = key;
                let read = GroupRead { consumer, wanted, limit, noack: parsed.noack, now };
                let (changes, created) = serve_group(ctx.reply, s, group_name, &read, &mut propagation);
                dirty += changes;
                if created {
                    // xreadCommand creates the consumer after the stream's name in its reply;
                    // serving a blocked reader creates it before replying.
                    ctx.ks.at_reply(if retrying { 0 } else { consumer_at });
                    ctx.ks.notify(STREAM, "xgroup-createconsumer", db, key);
                    ctx.ks.at_reply(0);
                }
            }
        }
        served += 1;
        if retrying {
            break;
        }
    }
    ctx.ks.dirty += dirty;
    propagation.emit(ctx);
    if served > 0 {
        let parts = ctx.reply.buf.split_off(mark);
        if ctx.reply.resp3 { ctx.reply.map(served) } else { ctx.reply.array(served) }
        ctx.ks.reply_inserted(first_event, mark, ctx.reply.buf.len() - mark);
        ctx.reply.buf.extend_from_slice(&parts);
        return Ok(());
    }
    if let Some(timeout_ms) = parsed.block_ms {
        if ctx.may_block {
            return Err(CmdError::WouldBlock { timeout_ms, rewrite });
        }
    }
    ctx.reply.null_array();
    Ok(())
}

/// A served stream's head: [key, entries] in RESP2, key => entries in RESP3's map.
fn begin_stream(reply: &mut crate::reply::Reply, key: &[u8]) {
    if !reply.resp3 {
        reply.array(2);
    }
    reply.bulk(key);
}

/// What a consumer reads from its group.
struct GroupRead<'a> {
    consumer: &'a [u8],
    wanted: From,
    limit: usize,
    noack: bool,
    now: i64,
}

/// Serves a consumer of a group: new entries (`>`), which become pending unless NOACK, or the
/// consumer's own pending entries after an ID (history), which count as delivered again.
/// Returns the changes to count (dirty) and whether the consumer was created.
fn serve_group(reply: &mut crate::reply::Reply, s: &mut Stream, group_name: &[u8], read: &GroupRead, propagation: &mut GroupPropagation) -> (u64, bool) {
    // Out of the map while the stream's entries are read (given back under the same key).
    let Some((name, mut group)) = s.groups.remove_entry(group_name) else { return (0, false) };
    let mut dirty = 1;
    let created = group.create_consumer(read.consumer, read.now);
    if created {
        dirty += 1;
        // Without NOACK the XCLAIMs create the consumer where they are replayed.
        if read.noack {
            propagation.consumer_created(read.consumer);
        }
    }
    let owner: Arc<[u8]> = group.consumer_name(read.consumer).expect("just ensured");
    if let Some(c) = group.consumers.get_mut(read.consumer) {
        c.seen_time = read.now;
    }
    match read.wanted {
        From::After(after) => serve_history(reply, s, &mut group, &owner, after, read.limit, read.now),
        From::New => serve_new(reply, s, &mut group, &owner, read, propagation),
    }
    s.groups.insert(name, group);
    (dirty, created)
}

/// New entries: each becomes pending for `owner` (propagated as an XCLAIM) unless NOACK, when
/// the group's new last ID is propagated instead (XGROUP SETID).
fn serve_new(reply: &mut crate::reply::Reply, s: &Stream, group: &mut Group, owner: &Arc<[u8]>, read: &GroupRead, propagation: &mut GroupPropagation) {
    let start = group.last_id.next().unwrap_or(StreamId::MAX);
    let entries: Vec<_> = s.range(start, StreamId::MAX, false).take(read.limit).collect();
    reply.array(entries.len());
    let mut last_id_moved = false;
    for e in &entries {
        if e.id > group.last_id {
            group.entries_read = match group.entries_read() {
                Some(read) if !s.range_has_tombstones(e.id, StreamId::MAX) => (read + 1) as i64,
                _ if s.entries_added > 0 => s.estimate_distance(e.id).map_or(INVALID_ENTRIES_READ, |d| d as i64),
                _ => group.entries_read,
            };
            group.last_id = e.id;
            last_id_moved = true;
        }
        reply_entry(reply, e);
        if !read.noack {
            // Already pending (XGROUP SETID moved the group back): it changes hands.
            let nack = group.pel.entry(e.id).or_insert(Nack { delivery_time: read.now, delivery_count: 1, consumer: None });
            nack.delivery_time = read.now;
            nack.delivery_count = 1;
            group.assign(e.id, owner);
            propagation.claim(group, e.id);
        }
    }
    if read.noack && last_id_moved {
        propagation.set_id(group);
    }
}

fn serve_history(reply: &mut crate::reply::Reply, s: &Stream, group: &mut Group, owner: &Arc<[u8]>, after: StreamId, limit: usize, now: i64) {
    let Some(start) = after.next() else {
        reply.array(0);
        return;
    };
    let ids: Vec<StreamId> = group.consumers.get(&**owner).map_or(Vec::new(), |c| c.pel.range(start..).take(limit).copied().collect());
    reply.array(ids.len());
    for id in &ids {
        match s.range(*id, *id, false).next() {
            Some(e) => {
                reply_entry(reply, &e);
                if let Some(n) = group.pel.get_mut(id) {
                    n.delivery_time = now;
                    n.delivery_count += 1;
                }
            }
            None => {
                // Pending but deleted since: the ID with no fields.
                reply.array(2);
                reply_id(reply, *id);
                reply.null_array();
            }
        }
    }
}
