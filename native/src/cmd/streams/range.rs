//! XRANGE and XREVRANGE.

use crate::command::{CmdResult, Ctx, SYNTAX};

use super::{range_end, range_start, reply_entry, stream_of};

pub(super) fn xrange(ctx: &mut Ctx) -> CmdResult {
    range(ctx, false)
}

pub(super) fn xrevrange(ctx: &mut Ctx) -> CmdResult {
    range(ctx, true)
}

/// XRANGE key start end [COUNT count] / XREVRANGE key end start [COUNT count]
fn range(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let args = ctx.args;
    let (start_arg, end_arg) = if rev { (args.get(3), args.get(2)) } else { (args.get(2), args.get(3)) };
    let start = range_start(start_arg)?;
    let end = range_end(end_arg)?;
    let mut count: Option<i64> = None;
    let mut j = 4;
    while j < args.len() {
        if args.is(j, b"COUNT") && j + 1 < args.len() {
            count = Some(args.i64(j + 1)?.max(0));
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    let Some(entry) = ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) else {
        ctx.reply.array(0);
        return Ok(());
    };
    let s = stream_of(entry)?;
    if count == Some(0) {
        ctx.reply.null_array();
        return Ok(());
    }
    let limit = count.map_or(usize::MAX, |c| c as usize);
    let entries: Vec<_> = s.range(start, end, rev).take(limit).collect();
    ctx.reply.array(entries.len());
    for e in &entries {
        reply_entry(ctx.reply, e);
    }
    Ok(())
}
