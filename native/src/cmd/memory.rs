//! MEMORY USAGE (Redis's object.c memoryCommand): an estimate of the bytes a key and its value
//! hold, from keyfork's own layout: the key's table node (which holds the key's bytes and,
//! when it has one, its expire time) and its share of the bucket array, the value's
//! allocations, counted as malloc chunks. Collections
//! stored as tables are averaged over SAMPLES entries (default 5, 0 for all), as Redis does.

use crate::command::{CmdResult, CommandRow, Ctx, NOT_INTEGER, SYNTAX};
use crate::keyspace::Table;
use crate::numfmt;

pub const COMMANDS: &[CommandRow] = &[("memory|usage", usage)];

const DEFAULT_SAMPLES: usize = 5;

/// MEMORY USAGE key [SAMPLES count]
fn usage(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < args.len() {
        if args.is(j, b"SAMPLES") && j + 1 < args.len() {
            let n = numfmt::parse_i64(args.get(j + 1)).ok_or(NOT_INTEGER)?;
            if n < 0 { return Err(SYNTAX); }
            samples = if n == 0 { usize::MAX } else { n as usize };
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    // Like Redis, the key is looked up as stored: no expiry, no access recorded.
    let table = &ctx.ks.dbs[ctx.db].dict;
    match table.get_node(args.get(2)) {
        None => ctx.reply.null(),
        Some(e) => ctx.reply.int((Table::entry_bytes(e.key(), e.has_expire()) + table.bucket_share() + e.value.memory_usage(samples)) as i64),
    }
    Ok(())
}
