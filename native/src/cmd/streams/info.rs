//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, with Redis 7.0's fields.

use crate::command::{CmdError, CmdResult, Ctx, NO_SUCH_KEY};
use crate::reply::Reply;
use crate::types::stream::{Group, Stream, StreamId};

use super::{no_group_for_key, reply_entry, reply_id, stream_of};

/// The stream at argument 2 (hits/misses counted); "no such key" when absent.
fn info_stream<'a>(ctx: &'a mut Ctx) -> Result<(&'a mut Stream, &'a mut Reply), CmdError> {
    let entry = ctx.ks.lookup_read(ctx.db, ctx.args.get(2), ctx.now_ms).ok_or(NO_SUCH_KEY)?;
    Ok((stream_of(entry)?, &mut *ctx.reply))
}

fn field(reply: &mut Reply, name: &str) {
    reply.bulk_str(name);
}

/// The group lag, null when it cannot be computed.
fn reply_lag(reply: &mut Reply, s: &Stream, g: &Group) {
    match s.group_lag(g) {
        Some(lag) => reply.int(lag as i64),
        None => reply.null(),
    }
}

/// The group's position: last-delivered-id, entries-read (null when unknown) and lag.
fn reply_progress(reply: &mut Reply, s: &Stream, g: &Group) {
    field(reply, "last-delivered-id");
    reply_id(reply, g.last_id);
    field(reply, "entries-read");
    match g.entries_read() {
        Some(n) => reply.int(n as i64),
        None => reply.null(),
    }
    field(reply, "lag");
    reply_lag(reply, s, g);
}

/// XINFO STREAM key [FULL [COUNT count]]
pub(super) fn xinfo_stream(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let (s, reply) = info_stream(ctx)?;
    let extra = args.len() - 3;
    let mut full = None;
    if extra > 0 {
        if !args.is(3, b"FULL") || (extra != 1 && extra != 3) {
            return Err(super::subcommand_syntax(args));
        }
        let mut count = 10i64;
        if extra == 3 {
            if !args.is(4, b"COUNT") {
                return Err(super::subcommand_syntax(args));
            }
            count = args.i64(5)?;
            if count < 0 {
                count = 10;
            }
        }
        full = Some(count);
    }
    reply.map(if full.is_some() { 9 } else { 10 });
    field(reply, "length");
    reply.int(s.length as i64);
    field(reply, "radix-tree-keys");
    reply.int(s.node_keys() as i64);
    field(reply, "radix-tree-nodes");
    reply.int(s.tree_nodes() as i64);
    field(reply, "last-generated-id");
    reply_id(reply, s.last_id);
    field(reply, "max-deleted-entry-id");
    reply_id(reply, s.max_deleted_entry_id);
    field(reply, "entries-added");
    reply.int(s.entries_added as i64);
    field(reply, "recorded-first-entry-id");
    reply_id(reply, s.first_id);
    let Some(count) = full else {
        field(reply, "groups");
        reply.int(s.groups.len() as i64);
        for (name, rev) in [("first-entry", false), ("last-entry", true)] {
            field(reply, name);
            match s.range(StreamId::ZERO, StreamId::MAX, rev).next() {
                Some(e) => reply_entry(reply, &e),
                None => reply.null(),
            }
        }
        return Ok(());
    };
    let limit = if count == 0 { usize::MAX } else { count as usize };
    field(reply, "entries");
    let entries: Vec<_> = s.range(StreamId::ZERO, StreamId::MAX, false).take(limit).collect();
    reply.array(entries.len());
    for e in &entries {
        reply_entry(reply, e);
    }
    field(reply, "groups");
    reply.array(s.groups.len());
    for (name, g) in &s.groups {
        reply.map(7);
        field(reply, "name");
        reply.bulk(name);
        reply_progress(reply, s, g);
        field(reply, "pel-count");
        reply.int(g.pel.len() as i64);
        field(reply, "pending");
        let pending: Vec<_> = g.pel.iter().take(limit).collect();
        reply.array(pending.len());
        for (id, nack) in pending {
            reply.array(4);
            reply_id(reply, *id);
            reply.bulk(nack.consumer.as_deref().unwrap_or_default());
            reply.int(nack.delivery_time);
            reply.int(nack.delivery_count as i64);
        }
        field(reply, "consumers");
        reply.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            reply.map(4);
            field(reply, "name");
            reply.bulk(cname);
            field(reply, "seen-time");
            reply.int(c.seen_time);
            field(reply, "pel-count");
            reply.int(c.pel.len() as i64);
            field(reply, "pending");
            let owned: Vec<_> = c.pel.iter().take(limit).collect();
            reply.array(owned.len());
            for id in owned {
                let nack = g.pel.get(id);
                reply.array(3);
                reply_id(reply, *id);
                reply.int(nack.map_or(0, |n| n.delivery_time));
                reply.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    Ok(())
}

/// XINFO GROUPS key
pub(super) fn xinfo_groups(ctx: &mut Ctx) -> CmdResult {
    let (s, reply) = info_stream(ctx)?;
    reply.array(s.groups.len());
    for (name, g) in &s.groups {
        reply.map(6);
        field(reply, "name");
        reply.bulk(name);
        field(reply, "consumers");
        reply.int(g.consumers.len() as i64);
        field(reply, "pending");
        reply.int(g.pel.len() as i64);
        reply_progress(reply, s, g);
    }
    Ok(())
}

/// XINFO CONSUMERS key group
pub(super) fn xinfo_consumers(ctx: &mut Ctx) -> CmdResult {
    let (key, group_name, now) = (ctx.args.get(2), ctx.args.get(3), ctx.now_ms);
    let (s, reply) = info_stream(ctx)?;
    let g = s.groups.get(group_name).ok_or_else(|| no_group_for_key(key, group_name))?;
    reply.array(g.consumers.len());
    for (name, c) in &g.consumers {
        reply.map(3);
        field(reply, "name");
        reply.bulk(name);
        field(reply, "pending");
        reply.int(c.pel.len() as i64);
        field(reply, "idle");
        reply.int((now - c.seen_time).max(0));
    }
    Ok(())
}
