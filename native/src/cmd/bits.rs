//! Bit commands on strings (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO. Bits are numbered from the most significant bit of byte 0.

use super::strings::{as_str, as_str_mut};
use crate::command::{CmdError, CmdResult, CommandRow, Ctx, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::{GENERIC, STRING};
use crate::keyspace::Entry;
use crate::types::string::StrVal;
use crate::types::Value;

mod field;

pub const COMMANDS: &[CommandRow] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield),
    ("bitfield_ro", bitfield_ro),
];

const BAD_OFFSET: CmdError = CmdError::Msg("ERR bit offset is not an integer or out of range");

/// Redis's getBitOffsetFromArgument: a bit offset, or `#N` (N fields of `bits` bits) when
/// `bits` is given; bounded by proto-max-bulk-len bytes.
fn bit_offset(ctx: &Ctx, arg: usize, hash_bits: Option<u32>) -> Result<u64, CmdError> {
    let raw = ctx.args.get(arg);
    let (text, multiplier) = match hash_bits {
        Some(bits) if raw.first() == Some(&b'#') => (&raw[1..], bits as i64),
        _ => (raw, 1),
    };
    let n = crate::numfmt::parse_i64(text).ok_or(BAD_OFFSET)?.wrapping_mul(multiplier);
    if n < 0 || (n >> 3) >= ctx.settings.proto_max_bulk_len { return Err(BAD_OFFSET); }
    Ok(n as u64)
}

/// Redis's lookupStringForBitCommand: the key's string as a raw byte vector grown (zero
/// filled) to hold bit `max_bit`, created when absent. Returns whether the length changed.
fn string_for_write<'a>(ctx: &'a mut Ctx, max_bit: u64) -> Result<(&'a mut Vec<u8>, bool), CmdError> {
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let need = (max_bit >> 3) as usize + 1;
    if let Some(e) = ctx.ks.lookup(db, key, now) {
        as_str(e)?;
    } else {
        ctx.ks.set(db, key, Value::Str(StrVal::from_raw(Vec::new())), false, now);
    }
    let e: &mut Entry = ctx.ks.lookup(db, key, now).ok_or(WRONGTYPE)?;
    let raw = as_str_mut(e)?.make_raw();
    let grew = raw.len() < need;
    if grew { raw.resize(need, 0); }
    Ok((raw, grew))
}

fn setbit(ctx: &mut Ctx) -> CmdResult {
    let offset = bit_offset(ctx, 2, None)?;
    let bad_bit = CmdError::Msg("ERR bit is not an integer or out of range");
    let on = crate::numfmt::parse_i64(ctx.args.get(3)).ok_or(CmdError::Msg("ERR bit is not an integer or out of range"))?;
    if on & !1 != 0 { return Err(bad_bit); }
    let existed = ctx.ks.lookup(ctx.db, ctx.args.get(1), ctx.now_ms).is_some();
    let (raw, grew) = string_for_write(ctx, offset)?;
    let byte = (offset >> 3) as usize;
    let mask = 1u8 << (7 - (offset & 7));
    let old = raw[byte] & mask != 0;
    let changed = !existed || grew || old != (on == 1);
    if on == 1 { raw[byte] |= mask } else { raw[byte] &= !mask }
    if changed {
        let key = ctx.args.get(1);
        ctx.ks.signal_modified(ctx.db, key);
        ctx.notify(STRING, "setbit", ctx.db, key);
        ctx.ks.dirty += 1;
    }
    ctx.reply.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx) -> CmdResult {
    let offset = bit_offset(ctx, 2, None)?;
    let bit = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        None => false,
        Some(e) => as_str(e)?.with_bytes(|b| {
            let byte = (offset >> 3) as usize;
            byte < b.len() && b[byte] & (1 << (7 - (offset & 7))) != 0
        }),
    };
    ctx.reply.int(bit as i64);
    Ok(())
}

/// A start/end range after Redis's index normalisation, in bytes, with the masks that drop
/// the bits outside a BIT-unit range in its first and last byte.
struct ByteRange {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Normalises [start, end] over `total_bytes` (in bits when `in_bits`), as BITCOUNT/BITPOS do.
fn normalise(mut start: i64, mut end: i64, total_bytes: i64, in_bits: bool) -> ByteRange {
    let total = if in_bits { total_bytes << 3 } else { total_bytes };
    if start < 0 { start += total; }
    if end < 0 { end += total; }
    start = start.max(0);
    end = end.max(0);
    if end >= total { end = total - 1; }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if in_bits && start <= end {
        first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    ByteRange { start, end, first_mask, last_mask }
}

/// BITCOUNT key [start end [BYTE|BIT]]: Redis looks the key up before parsing the range.
fn bitcount(ctx: &mut Ctx) -> CmdResult {
    let argc = ctx.args.len();
    let args = ctx.args;
    let e = match ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) {
        None => {
            ctx.reply.int(0);
            return Ok(());
        }
        Some(e) => e,
    };
    let s = as_str(e)?;
    let count = s.with_bytes(|b| -> Result<i64, CmdError> {
        let range = match argc {
            4 | 5 => {
                let start = args.i64(2)?;
                let end = args.i64(3)?;
                // Redis answers an inverted negative range before it looks at the unit.
                if start < 0 && end < 0 && start > end { return Ok(0); }
                let in_bits = if argc == 5 { parse_unit_args(&args, 4)? } else { false };
                normalise(start, end, b.len() as i64, in_bits)
            }
            2 => ByteRange { start: 0, end: b.len() as i64 - 1, first_mask: 0, last_mask: 0 },
            _ => return Err(SYNTAX),
        };
        if range.start > range.end { return Ok(0); }
        let (s, e) = (range.start as usize, range.end as usize);
        let mut count: i64 = b[s..=e].iter().map(|x| x.count_ones() as i64).sum();
        count -= (b[s] & range.first_mask).count_ones() as i64;
        count -= (b[e] & range.last_mask).count_ones() as i64;
        Ok(count)
    })?;
    ctx.reply.int(count);
    Ok(())
}

/// The optional BYTE|BIT unit argument.
fn parse_unit_args(args: &crate::command::Args, arg: usize) -> Result<bool, CmdError> {
    if args.is(arg, b"BIT") { Ok(true) } else if args.is(arg, b"BYTE") { Ok(false) } else { Err(SYNTAX) }
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn bitpos(ctx: &mut Ctx) -> CmdResult {
    let bit = ctx.args.i64(2)?;
    if bit != 0 && bit != 1 { return Err(CmdError::Msg("ERR The bit argument must be 1 or 0.")); }
    let argc = ctx.args.len();
    let args = ctx.args;
    let e = match ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) {
        None => {
            ctx.reply.int(if bit == 1 { -1 } else { 0 });
            return Ok(());
        }
        Some(e) => e,
    };
    let s = as_str(e)?;
    let pos = s.with_bytes(|b| -> Result<i64, CmdError> {
        let len = b.len() as i64;
        let mut end_given = false;
        let range = match argc {
            4..=6 => {
                let start = args.i64(3)?;
                let in_bits = if argc == 6 { parse_unit_args(&args, 5)? } else { false };
                let end = if argc >= 5 {
                    end_given = true;
                    args.i64(4)?
                } else if in_bits {
                    (len << 3) + 7
                } else {
                    len - 1
                };
                normalise(start, end, len, in_bits)
            }
            3 => ByteRange { start: 0, end: len - 1, first_mask: 0, last_mask: 0 },
            _ => return Err(SYNTAX),
        };
        if range.start > range.end { return Ok(-1); }
        // Bit positions of the searched span, after masking the partial edge bytes.
        let first_bit = range.start * 8 + (range.first_mask.count_ones() as i64);
        let last_bit = range.end * 8 + 7 - (range.last_mask.count_ones() as i64);
        let want = bit == 1;
        // Whole bytes first (fast skip), then the exact bit.
        let mut p = first_bit;
        while p <= last_bit {
            let byte = b[(p >> 3) as usize];
            let skip = if want { byte == 0 } else { byte == 0xff };
            if p & 7 == 0 && p + 7 <= last_bit && skip {
                p += 8;
                continue;
            }
            if (byte & (0x80 >> (p & 7)) != 0) == want { return Ok(p); }
            p += 1;
        }
        // Not found: looking for a 0 with no explicit end, the string is zero-padded on the right.
        if !want && !end_given { Ok(last_bit + 1) } else { Ok(-1) }
    })?;
    ctx.reply.int(pos);
    Ok(())
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
fn bitop(ctx: &mut Ctx) -> CmdResult {
    #[derive(PartialEq, Clone, Copy)]
    enum Op { And, Or, Xor, Not }
    let op = if ctx.args.is(1, b"AND") { Op::And }
        else if ctx.args.is(1, b"OR") { Op::Or }
        else if ctx.args.is(1, b"XOR") { Op::Xor }
        else if ctx.args.is(1, b"NOT") { Op::Not }
        else { return Err(SYNTAX) };
    if op == Op::Not && ctx.args.len() != 4 {
        return Err(CmdError::Msg("ERR BITOP NOT must be called with a single source key."));
    }
    let (db, now) = (ctx.db, ctx.now_ms);
    let mut sources: Vec<Vec<u8>> = Vec::with_capacity(ctx.args.len() - 3);
    for key in ctx.args.from(3) {
        match ctx.ks.lookup_read(db, key, now) {
            None => sources.push(Vec::new()),
            Some(e) => sources.push(as_str(e)?.to_vec()),
        }
    }
    let max_len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let dest = ctx.args.get(2);
    if max_len == 0 {
        let lazy = ctx.ks.lazy.server_del;
        if ctx.ks.remove_and_free(db, dest, lazy) {
            ctx.ks.signal_modified(db, dest);
            ctx.notify(GENERIC, "del", db, dest);
            ctx.ks.dirty += 1;
        }
        ctx.reply.int(0);
        return Ok(());
    }
    let byte_at = |s: &Vec<u8>, j: usize| s.get(j).copied().unwrap_or(0);
    let mut out = vec![0u8; max_len];
    for (j, o) in out.iter_mut().enumerate() {
        let mut v = byte_at(&sources[0], j);
        match op {
            Op::Not => v = !v,
            Op::And => for s in &sources[1..] { v &= byte_at(s, j) },
            Op::Or => for s in &sources[1..] { v |= byte_at(s, j) },
            Op::Xor => for s in &sources[1..] { v ^= byte_at(s, j) },
        }
        *o = v;
    }
    ctx.ks.set(db, dest, Value::Str(StrVal::from_raw(out)), false, now);
    ctx.ks.signal_modified(db, dest);
    ctx.notify(STRING, "set", db, dest);
    ctx.ks.dirty += 1;
    ctx.reply.int(max_len as i64);
    Ok(())
}

fn bitfield(ctx: &mut Ctx) -> CmdResult { bitfield_generic(ctx, false) }
fn bitfield_ro(ctx: &mut Ctx) -> CmdResult { bitfield_generic(ctx, true) }

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...: every argument is parsed before anything runs.
fn bitfield_generic(ctx: &mut Ctx, read_only_command: bool) -> CmdResult {
    use field::{FieldType, Op, OpKind, Overflow};
    let args = ctx.args;
    let mut ops: Vec<Op> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest_write_bit: u64 = 0;
    let mut writes = false;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let kind = if args.is(j, b"GET") && remaining >= 2 { OpKind::Get }
            else if args.is(j, b"SET") && remaining >= 3 { OpKind::Set }
            else if args.is(j, b"INCRBY") && remaining >= 3 { OpKind::IncrBy }
            else if args.is(j, b"OVERFLOW") && remaining >= 1 {
                overflow = if args.is(j + 1, b"WRAP") { Overflow::Wrap }
                    else if args.is(j + 1, b"SAT") { Overflow::Sat }
                    else if args.is(j + 1, b"FAIL") { Overflow::Fail }
                    else { return Err(CmdError::Msg("ERR Invalid OVERFLOW type specified")) };
                j += 2;
                continue;
            } else {
                return Err(SYNTAX);
            };
        let ty = FieldType::parse(args.get(j + 1)).ok_or(CmdError::Msg(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        ))?;
        let offset = bit_offset(ctx, j + 2, Some(ty.bits))?;
        let mut value = 0;
        if kind != OpKind::Get {
            writes = true;
            highest_write_bit = highest_write_bit.max(offset + ty.bits as u64 - 1);
            value = args.i64(j + 3)?;
        }
        ops.push(Op { kind, ty, offset, value, overflow });
        j += if kind == OpKind::Get { 3 } else { 4 };
    }

    if !writes {
        let e = ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms);
        let s = match e {
            Some(e) => Some(as_str(e)?),
            None => None,
        };
        let reply = &mut *ctx.reply;
        reply.array(ops.len());
        let mut read = |b: &[u8]| for op in &ops { reply.int(field::get(b, op.offset, op.ty)); };
        match s {
            Some(s) => s.with_bytes(read),
            None => read(&[]),
        }
        return Ok(());
    }
    if read_only_command { return Err(CmdError::Msg("ERR BITFIELD_RO only supports the GET subcommand")); }
    let existed = ctx.ks.lookup(ctx.db, args.get(1), ctx.now_ms).is_some();
    let (raw, grew) = string_for_write(ctx, highest_write_bit)?;
    // As Redis: a write counts as a change when it altered the field, or when the string was
    // created or grown. Replies are collected first: `raw` borrows the keyspace mutably.
    let created_or_grown = !existed || grew;
    let outcomes: Vec<field::Outcome> = ops.iter().map(|op| field::apply(raw, op)).collect();
    let changes = ops
        .iter()
        .zip(&outcomes)
        .filter(|(op, o)| op.kind != OpKind::Get && o.reply.is_some() && (created_or_grown || o.changed))
        .count() as u64;
    ctx.reply.array(outcomes.len());
    for o in outcomes {
        match o.reply {
            Some(v) => ctx.reply.int(v),
            None => ctx.reply.null(),
        }
    }
    if changes > 0 {
        let key = ctx.args.get(1);
        ctx.ks.signal_modified(ctx.db, key);
        ctx.notify(STRING, "setbit", ctx.db, key);
        ctx.ks.dirty += changes;
    }
    Ok(())
}
