//! Consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER), XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM.
//!
//! As in Redis 7.0, these change the groups without touching WATCH (no signalModifiedKey),
//! except XGROUP CREATE's MKSTREAM, which creates the key; XGROUP DESTROY wakes the clients
//! blocked on the key so that they learn their group is gone.

use std::sync::Arc;

use crate::command::{Args, CmdError, CmdResult, Ctx, SYNTAX};
use crate::keyspace::Keyspace;
use crate::types::stream::group::INVALID_ENTRIES_READ;
use crate::types::stream::id::{parse_id, IdForm};
use crate::types::stream::{Group, Nack, Stream, StreamId};
use crate::keyspace::notify::STREAM;
use crate::types::Value;

use super::propagate::GroupPropagation;
use super::{subcommand_syntax, no_group_for_key, no_key_or_group, range_end, range_start, reply_entry, reply_id, stream_of, strict_id, INVALID_ID};

/// The ENTRIESREAD value: a non-negative count or -1 (unknown).
fn entries_read_arg(args: Args, i: usize) -> Result<i64, CmdError> {
    let n = args.i64(i)?;
    if n < 0 && n != INVALID_ENTRIES_READ {
        return Err(CmdError::Msg("ERR value for ENTRIESREAD must be positive or -1"));
    }
    Ok(n)
}

/// What XGROUP's subcommands share (xgroupCommand's prologue): the stream (None when absent
/// and MKSTREAM allows it), with the key's and group's existence checked as Redis orders it.
fn xgroup_stream<'a>(ctx: &'a mut Ctx, mkstream: bool, needs_group: bool) -> Result<Option<&'a mut Stream>, CmdError> {
    let (db, now, args) = (ctx.db, ctx.now_ms, ctx.args);
    let (key, group) = (args.get(2), args.get(3));
    let stream = match ctx.ks.lookup(db, key, now) {
        Some(e) => Some(stream_of(e)?),
        None => None,
    };
    if !mkstream {
        let Some(s) = &stream else {
            return Err(CmdError::Msg("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
        };
        if needs_group && !s.groups.contains_key(group) {
            return Err(no_group_for_key(key, group));
        }
    }
    Ok(stream)
}

/// The group of a stream XGROUP's prologue found.
fn existing_group<'a>(ctx: &'a mut Ctx) -> &'a mut Group {
    let name = ctx.args.get(3);
    match ctx.ks.lookup(ctx.db, ctx.args.get(2), ctx.now_ms).map(|e| &mut e.value) {
        Some(Value::Stream(s)) => s.groups.get_mut(name).expect("the prologue checked the group"),
        _ => unreachable!("the prologue checked the stream"),
    }
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]
pub(super) fn xgroup_create(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < args.len() {
        if args.is(i, b"MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if args.is(i, b"ENTRIESREAD") && i + 1 < args.len() {
            entries_read = entries_read_arg(args, i + 1)?;
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    let last_id = xgroup_stream(ctx, mkstream, false)?.map(|s| s.last_id);
    if args.len() > 8 {
        return Err(subcommand_syntax(args));
    }
    let id = if args.get(4) == b"$" { last_id.unwrap_or(StreamId::ZERO) } else { strict_id(args.get(4), 0)? };
    let (db, now, key, name) = (ctx.db, ctx.now_ms, args.get(2), args.get(3));
    if last_id.is_none() {
        ctx.ks.lookup_or_insert(db, key, now, || Value::Stream(Box::new(Stream::new())));
        ctx.ks.signal_modified(db, key);
    }
    let entry = ctx.ks.lookup(db, key, now).expect("the stream exists now");
    let s = stream_of(entry)?;
    if s.groups.contains_key(name) {
        return Err(CmdError::Msg("BUSYGROUP Consumer Group name already exists"));
    }
    s.groups.insert(name.into(), Group::new(id, entries_read));
    // xgroupCommand replies before it notifies (CREATE, SETID, DESTROY).
    ctx.reply.ok();
    ctx.ks.dirty += 1;
    ctx.notify(STREAM, "xgroup-create", db, key);
    Ok(())
}

/// XGROUP SETID key group id|$ [ENTRIESREAD entries-read]
pub(super) fn xgroup_setid(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let argc = args.len();
    let last_id = xgroup_stream(ctx, false, true)?.map_or(StreamId::ZERO, |s| s.last_id);
    if argc != 5 && argc != 7 {
        return Err(subcommand_syntax(args));
    }
    let id = if args.get(4) == b"$" { last_id } else { parse_id(args.get(4), 0, IdForm::Lenient).ok_or(INVALID_ID)?.id };
    let mut entries_read = INVALID_ENTRIES_READ;
    if argc == 7 {
        if !args.is(5, b"ENTRIESREAD") {
            return Err(subcommand_syntax(args));
        }
        entries_read = entries_read_arg(args, 6)?;
    }
    let group = existing_group(ctx);
    group.last_id = id;
    group.entries_read = entries_read;
    ctx.reply.ok();
    ctx.ks.dirty += 1;
    ctx.notify(STREAM, "xgroup-setid", ctx.db, args.get(2));
    Ok(())
}

/// XGROUP DESTROY key group
pub(super) fn xgroup_destroy(ctx: &mut Ctx) -> CmdResult {
    let (db, key, name) = (ctx.db, ctx.args.get(2), ctx.args.get(3));
    let s = xgroup_stream(ctx, false, false)?.expect("the prologue checked the stream");
    if s.groups.remove(name).is_some() {
        ctx.reply.int(1);
        ctx.ks.dirty += 1;
        ctx.notify(STREAM, "xgroup-destroy", db, key);
        ctx.ks.signal_ready(db, key);
    } else {
        ctx.reply.int(0);
    }
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer
pub(super) fn xgroup_createconsumer(ctx: &mut Ctx) -> CmdResult {
    let (now, consumer) = (ctx.now_ms, ctx.args.get(4));
    xgroup_stream(ctx, false, true)?;
    let created = existing_group(ctx).create_consumer(consumer, now);
    if created {
        ctx.ks.dirty += 1;
        ctx.notify(STREAM, "xgroup-createconsumer", ctx.db, ctx.args.get(2));
    }
    ctx.reply.int(created as i64);
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer
pub(super) fn xgroup_delconsumer(ctx: &mut Ctx) -> CmdResult {
    let consumer = ctx.args.get(4);
    xgroup_stream(ctx, false, true)?;
    let pending = existing_group(ctx).delete_consumer(consumer);
    if pending.is_some() {
        ctx.ks.dirty += 1;
        ctx.notify(STREAM, "xgroup-delconsumer", ctx.db, ctx.args.get(2));
    }
    ctx.reply.int(pending.unwrap_or(0) as i64);
    Ok(())
}

/// The stream at `key` for a read (hit/miss counted), its type checked.
fn read_stream<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8], now: i64) -> Result<Option<&'a mut Stream>, CmdError> {
    match ks.lookup_read(db, key, now) {
        Some(e) => Ok(Some(stream_of(e)?)),
        None => Ok(None),
    }
}

/// XACK key group id [id ...]
pub(super) fn xack(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let group_name = args.get(2);
    let Some(group) = read_stream(ctx.ks, ctx.db, args.get(1), ctx.now_ms)?.and_then(|s| s.groups.get_mut(group_name)) else {
        ctx.reply.int(0);
        return Ok(());
    };
    // All IDs are checked first: the command either fails or acknowledges.
    let ids = args.from(3).map(|a| strict_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
    let acked = ids.into_iter().filter(|id| group.ack(*id)).count();
    ctx.ks.dirty += acked as u64;
    ctx.reply.int(acked as i64);
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub(super) fn xpending(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let argc = args.len();
    let now = ctx.now_ms;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(SYNTAX);
    }
    let mut detail = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0i64;
        if args.is(3, b"IDLE") {
            min_idle = args.i64(4)?;
            if argc < 8 {
                return Err(SYNTAX);
            }
            at += 2;
        }
        let count = args.i64(at + 2)?.max(0);
        let start = range_start(args.get(at))?;
        let end = range_end(args.get(at + 1))?;
        let consumer = (at + 3 < argc).then(|| args.get(at + 3));
        detail = Some((min_idle, start, end, count, consumer));
    }
    let (key, group_name) = (args.get(1), args.get(2));
    let Some(group) = read_stream(ctx.ks, ctx.db, key, now)?.and_then(|s| s.groups.get(group_name)) else {
        return Err(no_key_or_group(key, group_name, ""));
    };
    let reply = &mut *ctx.reply;
    let Some((min_idle, start, end, count, consumer)) = detail else {
        // The summary: count, smallest and greatest IDs, and how many each consumer holds.
        reply.array(4);
        reply.int(group.pel.len() as i64);
        match (group.pel.keys().next(), group.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                reply_id(reply, *first);
                reply_id(reply, *last);
                let holders: Vec<_> = group.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
                reply.array(holders.len());
                for (name, c) in holders {
                    reply.array(2);
                    reply.bulk(name);
                    reply.bulk_i64(c.pel.len() as i64);
                }
            }
            _ => {
                reply.null();
                reply.null();
                reply.null_array();
            }
        }
        return Ok(());
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match group.consumers.get(name) {
            Some(c) => c.pel.range(start..).take_while(|id| **id <= end).copied().collect(),
            None => {
                reply.array(0);
                return Ok(());
            }
        },
        None => group.pel.range(start..).take_while(|(id, _)| **id <= end).map(|(id, _)| *id).collect(),
    };
    let mut rows = Vec::new();
    for id in ids {
        if rows.len() as i64 >= count {
            break;
        }
        let Some(nack) = group.pel.get(&id) else { continue };
        if min_idle != 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        rows.push((id, nack));
    }
    reply.array(rows.len());
    for (id, nack) in rows {
        reply.array(4);
        reply_id(reply, id);
        reply.bulk(nack.consumer.as_deref().unwrap_or_default());
        reply.int((now - nack.delivery_time).max(0));
        reply.int(nack.delivery_count as i64);
    }
    Ok(())
}

/// The stream and group of XCLAIM / XAUTOCLAIM (read lookup), or their NOGROUP error.
fn claim_stream<'a>(ks: &'a mut Keyspace, db: usize, args: Args, now: i64) -> Result<&'a mut Stream, CmdError> {
    let (key, group) = (args.get(1), args.get(2));
    match read_stream(ks, db, key, now)? {
        Some(s) if s.groups.contains_key(group) => Ok(s),
        _ => Err(no_key_or_group(key, group, "")),
    }
}

/// Gives pending entry `id` to `consumer` (created on first use, then kept in `owner`), as
/// XCLAIM and XAUTOCLAIM do: its delivery time becomes `delivery_time` and its delivery count
/// `retrycount`, or one more unless JUSTID. Returns 1 when the consumer was created (a change
/// to count), else 0.
#[allow(clippy::too_many_arguments)]
fn hand_over(group: &mut Group, id: StreamId, consumer: &[u8], owner: &mut Option<Arc<[u8]>>, now: i64, delivery_time: i64, retrycount: Option<i64>, justid: bool) -> u64 {
    let mut created = 0;
    if owner.is_none() {
        created = group.create_consumer(consumer, now) as u64;
        if let Some(c) = group.consumers.get_mut(consumer) {
            c.seen_time = now;
        }
        *owner = group.consumer_name(consumer);
    }
    if let Some(to) = owner.as_ref() {
        group.assign(id, to);
    }
    if let Some(nack) = group.pel.get_mut(&id) {
        nack.delivery_time = delivery_time;
        match retrycount {
            Some(n) if n >= 0 => nack.delivery_count = n as u64,
            _ if !justid => nack.delivery_count += 1,
            _ => {}
        }
    }
    created
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
pub(super) fn xclaim(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let now = ctx.now_ms;
    let mut propagation = GroupPropagation::new(ctx, args.get(1), args.get(2));
    let s = claim_stream(ctx.ks, ctx.db, args, now)?;
    let min_idle = crate::numfmt::parse_i64(args.get(4))
        .ok_or(CmdError::Msg("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match strict_id(args.get(j), 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut retrycount: Option<i64> = None;
    let mut delivery_time: Option<i64> = None;
    let mut last_id = StreamId::ZERO;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let int_option = |j: usize, name: &str| {
            crate::numfmt::parse_i64(args.get(j)).ok_or_else(|| CmdError::Owned(format!("ERR Invalid {name} option argument for XCLAIM")))
        };
        if args.is(j, b"FORCE") {
            force = true;
        } else if args.is(j, b"JUSTID") {
            justid = true;
        } else if args.is(j, b"IDLE") && more > 0 {
            j += 1;
            delivery_time = Some(now - int_option(j, "IDLE")?);
        } else if args.is(j, b"TIME") && more > 0 {
            j += 1;
            delivery_time = Some(int_option(j, "TIME")?);
        } else if args.is(j, b"RETRYCOUNT") && more > 0 {
            j += 1;
            retrycount = Some(int_option(j, "RETRYCOUNT")?);
        } else if args.is(j, b"LASTID") && more > 0 {
            j += 1;
            last_id = strict_id(args.get(j), 0)?;
        } else {
            return Err(CmdError::Owned(format!("ERR Unrecognized XCLAIM option '{}'", super::name_text(args.get(j)))));
        }
        j += 1;
    }
    // A delivery time in the future or before the epoch means now (clocks differ).
    let delivery_time = match delivery_time {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    let (group_name, consumer) = (args.get(2), args.get(3));
    let Some((name, mut group)) = s.groups.remove_entry(group_name) else { return Err(SYNTAX) };
    let mut dirty = 0u64;
    // A moved last ID counts as a change of its own only when no entry changed hands.
    let mut last_id_moved = false;
    if last_id > group.last_id {
        group.last_id = last_id;
        last_id_moved = true;
    }
    let mut owner: Option<Arc<[u8]>> = None;
    let mut consumer_created = false;
    let mut replies: Vec<(StreamId, bool)> = Vec::new();
    for id in ids {
        let exists = s.entry_exists(id);
        if !exists {
            // Gone from the stream: drop it from the PEL too (the XCLAIM propagated for it
            // drops it where it is replayed).
            propagation.claim(&group, id);
            if group.ack(id) {
                dirty += 1;
                last_id_moved = false;
            }
            continue;
        }
        if force && !group.pel.contains_key(&id) {
            group.pel.insert(id, Nack { delivery_time: now, delivery_count: 1, consumer: None });
        }
        let Some(nack) = group.pel.get(&id) else { continue };
        if nack.consumer.is_some() && min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        let created = hand_over(&mut group, id, consumer, &mut owner, now, delivery_time, retrycount, justid);
        consumer_created |= created > 0;
        dirty += created;
        propagation.claim(&group, id);
        replies.push((id, exists));
        dirty += 1;
        last_id_moved = false;
    }
    if last_id_moved {
        propagation.set_id(&group);
        dirty += 1;
    }
    s.groups.insert(name, group);
    let reply = &mut *ctx.reply;
    reply.array(replies.len());
    let consumer_at = reply.buf.len();
    for (id, _) in replies {
        if justid {
            reply_id(reply, id);
        } else {
            match s.range(id, id, false).next() {
                Some(e) => reply_entry(reply, &e),
                None => reply.null(),
            }
        }
    }
    if consumer_created {
        // Created as the first entry is claimed, after the reply's (deferred) array header.
        ctx.ks.at_reply(consumer_at);
        ctx.ks.notify(STREAM, "xgroup-createconsumer", ctx.db, args.get(1));
    }
    ctx.ks.dirty += dirty;
    propagation.emit(ctx);
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub(super) fn xautoclaim(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let now = ctx.now_ms;
    let mut propagation = GroupPropagation::new(ctx, args.get(1), args.get(2));
    // Redis looks the key up (a keyspace hit or miss) before parsing the arguments.
    ctx.ks.lookup_read(ctx.db, args.get(1), now);
    let min_idle = crate::numfmt::parse_i64(args.get(4))
        .ok_or(CmdError::Msg("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = range_start(args.get(5))?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args.is(j, b"COUNT") && more > 0 {
            // COUNT times the attempts factor (10) must not overflow a long.
            let max = i64::MAX / 16;
            count = match crate::numfmt::parse_i64(args.get(j + 1)) {
                Some(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::Msg("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if args.is(j, b"JUSTID") {
            justid = true;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let (group_name, consumer) = (args.get(2), args.get(3));
    let s = match ctx.ks.lookup(ctx.db, args.get(1), now) {
        Some(e) => Some(stream_of(e)?),
        None => None,
    };
    let Some(s) = s.filter(|s| s.groups.contains_key(group_name)) else {
        return Err(no_key_or_group(args.get(1), group_name, ""));
    };
    let Some((name, mut group)) = s.groups.remove_entry(group_name) else { return Err(SYNTAX) };
    let mut attempts = count.saturating_mul(10);
    let mut dirty = 0u64;
    let mut owner: Option<Arc<[u8]>> = None;
    let mut consumer_created = false;
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut cursor = Some(start);
    while attempts > 0 && count > 0 {
        attempts -= 1;
        let Some(id) = cursor.and_then(|c| group.pel.range(c..).next().map(|(id, _)| *id)) else {
            cursor = None;
            break;
        };
        cursor = id.next();
        if !s.entry_exists(id) {
            propagation.claim(&group, id);
            group.ack(id);
            dirty += 1;
            deleted.push(id);
            count -= 1;
            continue;
        }
        let nack = group.pel.get(&id).expect("found in the PEL");
        if min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        let created = hand_over(&mut group, id, consumer, &mut owner, now, now, None, justid);
        consumer_created |= created > 0;
        dirty += created;
        propagation.claim(&group, id);
        claimed.push(id);
        count -= 1;
        dirty += 1;
    }
    // The cursor for the next call: the next pending ID, 0-0 when the PEL was walked through.
    let next = cursor.and_then(|c| group.pel.range(c..).next().map(|(id, _)| *id)).unwrap_or(StreamId::ZERO);
    s.groups.insert(name, group);
    let reply = &mut *ctx.reply;
    reply.array(3);
    reply_id(reply, next);
    reply.array(claimed.len());
    let consumer_at = reply.buf.len();
    for id in &claimed {
        if justid {
            reply_id(reply, *id);
        } else if let Some(e) = s.range(*id, *id, false).next() {
            reply_entry(reply, &e);
        }
    }
    reply.array(deleted.len());
    for id in &deleted {
        reply_id(reply, *id);
    }
    if consumer_created {
        // Created as the first entry is claimed, after the reply's (deferred) array header.
        ctx.ks.at_reply(consumer_at);
        ctx.ks.notify(STREAM, "xgroup-createconsumer", ctx.db, args.get(1));
    }
    ctx.ks.dirty += dirty;
    propagation.emit(ctx);
    Ok(())
}
