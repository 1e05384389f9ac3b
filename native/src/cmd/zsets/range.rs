//! The range commands: ZRANGE (rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES) and its older
//! spellings, ZRANGESTORE, ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* family.
//!
//! Every range is first turned into ascending ranks `from..to` plus a direction; the walking
//! rules (where the range starts, how OFFSET skips, where it stops) are Redis's, so a listpack
//! gives the same answers as Redis's listpack walk even for lex ranges over unequal scores.

use super::parse::{parse_lex_range, parse_score_range};
use super::{as_zset, as_zset_mut, reply_entries};
use crate::command::{CmdError, CmdResult, Ctx, SYNTAX};
use crate::keyspace::notify::{GENERIC, ZSET};
use crate::types::zset::{RangeSpec, ZSet};
use crate::types::Value;

#[derive(Clone, Copy, PartialEq)]
enum Kind { Auto, Rank, Score, Lex }

#[derive(Clone, Copy, PartialEq)]
enum Direction { Auto, Forward, Reverse }

pub fn zrange(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 1, false, Kind::Auto, Direction::Auto) }
pub fn zrangestore(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 2, true, Kind::Auto, Direction::Auto) }
pub fn zrevrange(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 1, false, Kind::Rank, Direction::Reverse) }
pub fn zrangebyscore(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 1, false, Kind::Score, Direction::Forward) }
pub fn zrevrangebyscore(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 1, false, Kind::Score, Direction::Reverse) }
pub fn zrangebylex(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 1, false, Kind::Lex, Direction::Forward) }
pub fn zrevrangebylex(ctx: &mut Ctx) -> CmdResult { zrange_generic(ctx, 1, false, Kind::Lex, Direction::Reverse) }

/// Ascending ranks `from..to`, walked downwards when `rev`.
#[derive(Clone, Copy)]
struct Span {
    from: usize,
    to: usize,
    rev: bool,
}

const EMPTY: Span = Span { from: 0, to: 0, rev: false };

impl Span {
    fn len(&self) -> usize { self.to - self.from }
}

/// Redis's rank sanitising (genericZrangebyrankCommand, zremrangeGenericCommand): negative
/// indexes count from the end; out-of-range or inverted ranges are empty.
fn rank_span(len: usize, start: i64, end: i64, rev: bool) -> Span {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 { start = 0; }
    if start > end || start >= llen { return EMPTY; }
    if end >= llen { end = llen - 1; }
    let (start, end) = (start as usize, end as usize);
    if rev { Span { from: len - 1 - end, to: len - start, rev } } else { Span { from: start, to: end + 1, rev } }
}

/// Redis's genericZrangebyscoreCommand / genericZrangebylexCommand walk: start at the first
/// (or, reversed, last) element in range, skip `offset` elements whatever they are (a negative
/// offset skips everything), then take up to `limit` (negative = all) while still in range.
fn walk_span<R: RangeSpec>(z: &ZSet, r: &R, offset: i64, limit: i64, rev: bool) -> Span {
    if offset < 0 || limit == 0 { return EMPTY; }
    let offset = offset as usize;
    let span = if !rev {
        let Some(first) = z.first_in_range(r) else { return EMPTY };
        let start = first.saturating_add(offset);
        if start >= z.len() { return EMPTY; }
        Span { from: start, to: z.forward_extent(start, r), rev }
    } else {
        let Some(last) = z.last_in_range(r) else { return EMPTY };
        if offset > last { return EMPTY; }
        let end = last - offset;
        Span { from: z.backward_extent(end, r), to: end + 1, rev }
    };
    if span.len() == 0 { return EMPTY; }
    if limit > 0 && (limit as usize) < span.len() {
        if rev { Span { from: span.to - limit as usize, ..span } } else { Span { to: span.from + limit as usize, ..span } }
    } else {
        span
    }
}

enum Parsed<'a> {
    Rank(i64, i64),
    Score(crate::types::zset::ScoreRange),
    Lex(crate::types::zset::LexRange<'a>),
}

/// Redis's zrangeGenericCommand: options, their conflicts, the range, then the key.
fn zrange_generic(ctx: &mut Ctx, src_index: usize, store: bool, mut kind: Kind, mut direction: Direction) -> CmdResult {
    let args = ctx.args;
    let (mut min_index, mut max_index) = (src_index + 1, src_index + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = src_index + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        if !store && args.is(j, b"withscores") {
            withscores = true;
        } else if args.is(j, b"limit") && left >= 2 {
            offset = args.i64(j + 1)?;
            limit = args.i64(j + 2)?;
            j += 2;
        } else if direction == Direction::Auto && args.is(j, b"rev") {
            direction = Direction::Reverse;
        } else if kind == Kind::Auto && args.is(j, b"bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && args.is(j, b"byscore") {
            kind = Kind::Score;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    if direction == Direction::Auto { direction = Direction::Forward; }
    if kind == Kind::Auto { kind = Kind::Rank; }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::Msg("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::Msg("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let rev = direction == Direction::Reverse;
    if rev && kind != Kind::Rank {
        // Reversed score and lex ranges are written max first.
        std::mem::swap(&mut min_index, &mut max_index);
    }
    let parsed = match kind {
        Kind::Score => Parsed::Score(parse_score_range(args.get(min_index), args.get(max_index))?),
        Kind::Lex => Parsed::Lex(parse_lex_range(args.get(min_index), args.get(max_index))?),
        _ => Parsed::Rank(args.i64(min_index)?, args.i64(max_index)?),
    };

    let (db, now) = (ctx.db, ctx.now_ms);
    let src = args.get(src_index);
    let z = match ctx.ks.lookup_read(db, src, now) {
        Some(e) => Some(as_zset(e)?),
        None => None,
    };
    let span = match (z, &parsed) {
        (None, _) => EMPTY,
        (Some(z), Parsed::Rank(start, end)) => rank_span(z.len(), *start, *end, rev),
        (Some(z), Parsed::Score(r)) => walk_span(z, r, offset, limit, rev),
        (Some(z), Parsed::Lex(r)) => walk_span(z, r, offset, limit, rev),
    };
    if !store {
        let reply = &mut *ctx.reply;
        match z {
            Some(z) => reply_entries(reply, span.len(), withscores, z.range(span.from, span.to, span.rev)),
            None => reply.array(0),
        }
        return Ok(());
    }
    let entries: Vec<(Vec<u8>, f64)> = match z {
        Some(z) => z.range(span.from, span.to, false).map(|(m, s)| (m.to_vec(), s)).collect(),
        None => Vec::new(),
    };
    store_result(ctx, args.get(1), entries, "zrangestore");
    Ok(())
}

/// Writes a computed sorted set to `dst` as Redis's STORE commands do: replaces whatever was
/// there (dropping its TTL), or deletes `dst` when the result is empty; replies the count
/// first, then notifies (zunionInterDiffGenericCommand, zrangeResultFinalizeStore).
/// `event` is the command's keyspace event ("zunionstore", "zrangestore"...).
pub fn store_result(ctx: &mut Ctx, dst: &[u8], entries: Vec<(Vec<u8>, f64)>, event: &'static str) {
    let (db, now) = (ctx.db, ctx.now_ms);
    let n = entries.len();
    ctx.reply.int(n as i64);
    if n == 0 {
        let lazy = ctx.ks.lazy.server_del;
        if ctx.ks.delete(db, dst, now, lazy) {
            ctx.notify(GENERIC, "del", db, dst);
            ctx.ks.dirty += 1;
        }
        return;
    }
    write_result(ctx, dst, entries);
    ctx.notify(ZSET, event, db, dst);
    ctx.ks.dirty += 1;
}

/// Sets `dst` to a computed, non-empty sorted set (setKey: any TTL dropped, watchers told).
pub fn write_result(ctx: &mut Ctx, dst: &[u8], entries: Vec<(Vec<u8>, f64)>) {
    let z = ZSet::from_result(entries, ctx.settings);
    ctx.ks.set(ctx.db, dst, Value::ZSet(z), false, ctx.now_ms);
    ctx.ks.signal_modified(ctx.db, dst);
}

pub fn zcount(ctx: &mut Ctx) -> CmdResult {
    let r = parse_score_range(ctx.args.get(2), ctx.args.get(3))?;
    count_generic(ctx, &r)
}

pub fn zlexcount(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let r = parse_lex_range(args.get(2), args.get(3))?;
    count_generic(ctx, &r)
}

fn count_generic<R: RangeSpec>(ctx: &mut Ctx, r: &R) -> CmdResult {
    let n = match ctx.ks.lookup_read(ctx.db, ctx.args.get(1), ctx.now_ms) {
        Some(e) => {
            let z = as_zset(e)?;
            match z.first_in_range(r) {
                Some(first) => z.forward_extent(first, r) - first,
                None => 0,
            }
        }
        None => 0,
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn zremrangebyrank(ctx: &mut Ctx) -> CmdResult {
    let (start, end) = (ctx.args.i64(2)?, ctx.args.i64(3)?);
    remrange_generic(ctx, |z| rank_span(z.len(), start, end, false), "zremrangebyrank")
}

pub fn zremrangebyscore(ctx: &mut Ctx) -> CmdResult {
    let r = parse_score_range(ctx.args.get(2), ctx.args.get(3))?;
    remrange_generic(ctx, |z| walk_span(z, &r, 0, -1, false), "zremrangebyscore")
}

pub fn zremrangebylex(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let r = parse_lex_range(args.get(2), args.get(3))?;
    remrange_generic(ctx, |z| walk_span(z, &r, 0, -1, false), "zremrangebylex")
}

fn remrange_generic(ctx: &mut Ctx, span_of: impl FnOnce(&ZSet) -> Span, event: &'static str) -> CmdResult {
    let key = ctx.args.get(1);
    let (db, now) = (ctx.db, ctx.now_ms);
    let Some(e) = ctx.ks.lookup(db, key, now) else {
        ctx.reply.int(0);
        return Ok(());
    };
    let z = as_zset_mut(e)?;
    let span = span_of(z);
    let deleted = z.remove_ranks(span.from, span.to);
    if deleted > 0 {
        ctx.ks.signal_modified(db, key);
        ctx.notify(ZSET, event, db, key);
        ctx.ks.delete_if_empty(ctx.db, key);
        ctx.ks.dirty += deleted as u64;
    }
    ctx.reply.int(deleted as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::types::zset::ScoreRange;

    #[test]
    fn rank_spans_follow_redis_sanitising() {
        let s = |a, b, rev| { let x = rank_span(5, a, b, rev); (x.from, x.to) };
        assert_eq!(s(0, -1, false), (0, 5));
        assert_eq!(s(-100, 1, false), (0, 2));
        assert_eq!(s(3, 1, false), (0, 0));
        assert_eq!(s(5, 10, false), (0, 0));
        assert_eq!(s(0, 1, true), (3, 5));
        assert_eq!(s(1, 100, true), (0, 4));
    }

    #[test]
    fn offset_and_limit() {
        let st = Settings::default();
        let mut z = ZSet::new();
        for i in 0..10 { z.insert(i as f64, format!("m{i}").as_bytes(), &st); }
        let r = ScoreRange { min: 2.0, max: 7.0, minex: false, maxex: false };
        let w = |o, l, rev| { let x = walk_span(&z, &r, o, l, rev); (x.from, x.to) };
        assert_eq!(w(0, -1, false), (2, 8));
        assert_eq!(w(1, 2, false), (3, 5));
        assert_eq!(w(1, 2, true), (5, 7));
        assert_eq!(w(10, -5, false), (0, 0));
        assert_eq!(w(-1, 3, false), (0, 0));
        assert_eq!(w(7, 3, true), (0, 0));
    }
}
