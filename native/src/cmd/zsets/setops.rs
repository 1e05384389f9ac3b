//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
//! zunionInterDiffGenericCommand). Plain sets are accepted as inputs, every member scoring 1.
//!
//! Floating-point sums depend on the order of the additions, so the order is Redis's: inputs
//! sorted by size (a stable sort, as glibc's qsort behaves for these), each element's scores
//! folded in that order, NaN (inf - inf, 0 * inf) replaced by 0 where Redis does.

use super::parse::parse_double_arg;
use super::range::store_result;
use super::reply_entries;
use crate::command::{CmdError, CmdResult, Ctx, SYNTAX, WRONGTYPE};
use crate::dict::Dict;
use crate::types::set::Set;
use crate::types::zset::{cmp_entry, ZSet};
use crate::types::Value;

#[derive(Clone, Copy, PartialEq)]
enum Op { Union, Inter, Diff }

#[derive(Clone, Copy, PartialEq)]
enum Aggregate { Sum, Min, Max }

pub fn zunion(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zunion", Op::Union, false, false) }
pub fn zinter(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zinter", Op::Inter, false, false) }
pub fn zdiff(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zdiff", Op::Diff, false, false) }
pub fn zunionstore(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zunionstore", Op::Union, true, false) }
pub fn zinterstore(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zinterstore", Op::Inter, true, false) }
pub fn zdiffstore(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zdiffstore", Op::Diff, true, false) }
pub fn zintercard(ctx: &mut Ctx) -> CmdResult { generic(ctx, "zintercard", Op::Inter, false, true) }

/// One input: a sorted set, a set, or nothing (a missing key is an empty input).
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(z) => z.score(member),
            Source::Plain(s) => if s.contains(member) { Some(1.0) } else { None },
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            Source::Sorted(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::Plain(s) => s.iter().for_each(|m| m.with_bytes(|b| f(b, 1.0))),
        }
    }
}

/// zunionInterAggregate.
#[inline]
fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            if target.is_nan() { *target = 0.0; }
        }
        Aggregate::Min => if value < *target { *target = value },
        Aggregate::Max => if value > *target { *target = value },
    }
}

/// `store`: ZUNIONSTORE & co. (destination at 1, numkeys at 2); `card_only`: ZINTERCARD.
fn generic(ctx: &mut Ctx, name: &'static str, op: Op, store: bool, card_only: bool) -> CmdResult {
    let args = ctx.args;
    let numkeys_index = if store { 2 } else { 1 };
    let numkeys = args.i64(numkeys_index)?;
    if numkeys < 1 {
        return Err(CmdError::Owned(format!("ERR at least 1 input key is needed for '{name}' command")));
    }
    if numkeys as u64 > (args.len() - numkeys_index - 1) as u64 { return Err(SYNTAX); }
    let n = numkeys as usize;
    let first_key = numkeys_index + 1;
    let (db, now) = (ctx.db, ctx.now_ms);

    // Expire, count hits (inputs are read lookups even for the STORE forms), and type-check
    // every input before looking at the options.
    for key in args.iter().skip(first_key).take(n) {
        if let Some(e) = ctx.ks.lookup_read(db, key, now) {
            if !matches!(e.value, Value::ZSet(_) | Value::Set(_)) { return Err(WRONGTYPE); }
        }
    }

    let mut weights = vec![1.0f64; n];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = first_key + n;
    while j < args.len() {
        let remaining = args.len() - j;
        if op != Op::Diff && !card_only && remaining > n && args.is(j, b"weights") {
            for w in weights.iter_mut() {
                j += 1;
                *w = parse_double_arg(args.get(j)).ok_or(CmdError::Msg("ERR weight value is not a float"))?;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && args.is(j, b"aggregate") {
            j += 1;
            how = if args.is(j, b"sum") {
                Aggregate::Sum
            } else if args.is(j, b"min") {
                Aggregate::Min
            } else if args.is(j, b"max") {
                Aggregate::Max
            } else {
                return Err(SYNTAX);
            };
        } else if !store && !card_only && args.is(j, b"withscores") {
            withscores = true;
        } else if card_only && remaining >= 2 && args.is(j, b"limit") {
            j += 1;
            const NEGATIVE: CmdError = CmdError::Msg("ERR LIMIT can't be negative");
            limit = args.i64(j).map_err(|_| NEGATIVE)?;
            if limit < 0 { return Err(NEGATIVE); }
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }

    let dict = &ctx.ks.dbs[db].dict;
    let mut sources: Vec<(Source, f64)> = args
        .iter()
        .skip(first_key)
        .take(n)
        .zip(weights.iter())
        .map(|(key, &w)| {
            let src = match dict.get(key).map(|e| &e.value) {
                Some(Value::ZSet(z)) => Source::Sorted(z),
                Some(Value::Set(s)) => Source::Plain(s),
                _ => Source::Missing,
            };
            (src, w)
        })
        .collect();
    if op != Op::Diff { sources.sort_by_key(|(s, _)| s.len()); }

    if card_only {
        let n = intersection_cardinality(&sources, limit as usize);
        ctx.reply.int(n as i64);
        return Ok(());
    }
    let mut result = match op {
        Op::Union => union(&sources, how),
        Op::Inter => intersection(&sources, how),
        Op::Diff => difference(&sources),
    };
    if store {
        store_result(ctx, args.get(1), result, name);
        return Ok(());
    }
    result.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    reply_entries(ctx.reply, result.len(), withscores, result.iter().map(|(m, s)| (&m[..], *s)));
    Ok(())
}

fn union(sources: &[(Source, f64)], how: Aggregate) -> Vec<(Vec<u8>, f64)> {
    let mut acc: Dict<f64> = Dict::with_capacity(sources.last().map_or(0, |s| s.0.len()));
    for (src, w) in sources {
        src.for_each(|m, s| {
            let mut score = w * s;
            if score.is_nan() { score = 0.0; }
            match acc.get_mut(m) {
                Some(t) => aggregate(t, score, how),
                None => { acc.insert_new_copy(m, score); }
            }
        });
    }
    acc.iter().map(|(m, s)| (m.to_vec(), *s)).collect()
}

fn intersection(sources: &[(Source, f64)], how: Aggregate) -> Vec<(Vec<u8>, f64)> {
    let mut out = Vec::new();
    let Some(((smallest, w0), others)) = sources.split_first() else { return out };
    smallest.for_each(|m, s| {
        let mut score = w0 * s;
        if score.is_nan() { score = 0.0; }
        for (src, w) in others {
            match src.score(m) {
                Some(v) => aggregate(&mut score, v * w, how),
                None => return,
            }
        }
        out.push((m.to_vec(), score));
    });
    out
}

/// ZINTERCARD: the intersection's size, stopping at `limit` (0 = no limit).
fn intersection_cardinality(sources: &[(Source, f64)], limit: usize) -> usize {
    let Some(((smallest, _), others)) = sources.split_first() else { return 0 };
    let mut n = 0;
    // for_each cannot stop early; skip the remaining work once the limit is reached.
    smallest.for_each(|m, _| {
        if limit > 0 && n >= limit { return; }
        if others.iter().all(|(src, _)| src.score(m).is_some()) { n += 1; }
    });
    n
}

fn difference(sources: &[(Source, f64)]) -> Vec<(Vec<u8>, f64)> {
    let mut out = Vec::new();
    let Some(((first, _), others)) = sources.split_first() else { return out };
    first.for_each(|m, s| {
        if others.iter().all(|(src, _)| src.score(m).is_none()) { out.push((m.to_vec(), s)); }
    });
    out
}
