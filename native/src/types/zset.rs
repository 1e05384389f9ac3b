//! Sorted sets (Redis's t_zset.c), in the two encodings Redis 7.0 has:
//!
//! - `listpack`: one packed buffer of (member, score) entries sorted by score then member bytes
//!   ([`packed::Packed`]), searched linearly as Redis walks its listpack; used while the count is
//!   at most `zset-max-listpack-entries` and every member at most `zset-max-listpack-value`
//!   bytes. Like a listpack, it keeps no negative zero (Redis stores the score "-0" as the
//!   integer 0).
//! - `skiplist`: a member -> score [`Dict`] (O(1) ZSCORE, the SCAN cursor) plus an
//!   order-statistic B+tree ([`tree::Tree`]) giving O(log n) rank, range and update, as Redis's
//!   dict + skiplist pair does. One way: a large set never goes back, except where Redis itself
//!   rebuilds a result (the STORE commands build their destination with [`ZSet::from_result`]).
//!
//! Ties in score are ordered by member bytes (memcmp, shorter first on a common prefix).
//!
//! Public API (for the commands, the RDB reader/writer, DEBUG DIGEST and DUMP):
//! - Constructors: [`ZSet::new`] (empty listpack: ZADD creates its key this way and converts on
//!   insertion), [`ZSet::from_result`] (a computed result, for the STORE
//!   commands), [`ZSet::from_pairs`]`(pairs, settings)` for the RDB loader reading a skiplist-type
//!   zset (listpack when both limits allow, as Redis converts after loading),
//!   [`ZSet::from_listpack_pairs`]`(pairs, settings)` for a loaded listpack/ziplist blob (stays a
//!   listpack unless the count exceeds the limit, as Redis 7.0's loader). Both return `Err` on a
//!   repeated member or a NaN score.
//! - [`ZSet::len`], [`ZSet::encoding`] (`"listpack"` / `"skiplist"`), [`ZSet::is_listpack`],
//!   [`ZSet::heap_bytes`].
//! - Iteration in score order: [`ZSet::iter`] yields `(member, score)` ascending,
//!   [`ZSet::iter_rev`] descending (Redis's RDB writer saves a skiplist from the highest score
//!   down), [`ZSet::range`] for a rank range in either direction; [`ZSet::for_each`]`(rev, f)`
//!   walks every entry either way without allocating (the RDB writer's path).
//! - Lookups and updates: [`ZSet::score`], [`ZSet::rank`], [`ZSet::get`], [`ZSet::add`] (ZADD's
//!   flags), [`ZSet::insert`], [`ZSet::remove`], [`ZSet::remove_ranks`], [`ZSet::pop`],
//!   [`ZSet::scan_step`], [`ZSet::random_rank`].
//! - Score and lex ranges ([`ScoreRange`], [`LexRange`], both [`RangeSpec`]):
//!   [`ZSet::first_in_range`], [`ZSet::last_in_range`], [`ZSet::forward_extent`],
//!   [`ZSet::backward_extent`], with Redis's exact walking semantics (see their docs).

mod packed;
mod tree;

use crate::dict::{random_u64, Dict};
use crate::settings::Settings;
use packed::{Packed, PackedIter};
use tree::{Tree, TreeIter};

pub use packed::cmp_entry;

#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Listpack(Packed),
    Skiplist(Box<Large>),
}

#[derive(Clone)]
struct Large {
    dict: Dict<f64>,
    tree: Tree,
}

/// ZADD's input flags (ZADD_IN_*).
#[derive(Clone, Copy, Default, Debug)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What [`ZSet::add`] did (ZADD_OUT_*), with the resulting score where there is one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Present with this very score: processed, nothing changed.
    Same(f64),
    /// Not touched because of NX/XX/GT/LT (ZADD_OUT_NOP).
    Skipped,
    /// INCR produced NaN (inf + -inf): nothing changed.
    Nan,
}

/// A score range as ZRANGEBYSCORE parses it (`(` for exclusive bounds).
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

/// One end of a lex range: `-`, `+`, or a member with `[` (inclusive) or `(` (exclusive).
#[derive(Clone, Copy, Debug)]
pub enum LexBound<'a> {
    Min,
    Max,
    Inclusive(&'a [u8]),
    Exclusive(&'a [u8]),
}

#[derive(Clone, Copy, Debug)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

/// A range the range commands can walk: Redis's zrangespec / zlexrangespec tests.
pub trait RangeSpec {
    /// True when no element can ever be inside (min above max, or equal with an open end).
    fn is_empty(&self) -> bool;
    fn gte_min(&self, score: f64, member: &[u8]) -> bool;
    fn lte_max(&self, score: f64, member: &[u8]) -> bool;
}

impl RangeSpec for ScoreRange {
    fn is_empty(&self) -> bool { self.min > self.max || (self.min == self.max && (self.minex || self.maxex)) }
    #[inline]
    fn gte_min(&self, score: f64, _: &[u8]) -> bool { if self.minex { score > self.min } else { score >= self.min } }
    #[inline]
    fn lte_max(&self, score: f64, _: &[u8]) -> bool { if self.maxex { score < self.max } else { score <= self.max } }
}

/// Redis's sdscmplex: `-` below everything, `+` above everything, else memcmp.
fn cmp_lex<'a>(a: LexBound<'a>, b: LexBound<'a>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    fn value<'a>(x: LexBound<'a>) -> Option<&'a [u8]> {
        match x {
            LexBound::Inclusive(v) | LexBound::Exclusive(v) => Some(v),
            _ => None,
        }
    }
    match (a, b) {
        (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Equal,
        (LexBound::Min, _) | (_, LexBound::Max) => Less,
        (LexBound::Max, _) | (_, LexBound::Min) => Greater,
        _ => value(a).cmp(&value(b)),
    }
}

impl LexBound<'_> {
    fn is_open(&self) -> bool { !matches!(self, LexBound::Inclusive(_)) }
}

impl RangeSpec for LexRange<'_> {
    fn is_empty(&self) -> bool {
        let c = cmp_lex(self.min, self.max);
        c == std::cmp::Ordering::Greater || (c == std::cmp::Ordering::Equal && (self.min.is_open() || self.max.is_open()))
    }
    #[inline]
    fn gte_min(&self, _: f64, member: &[u8]) -> bool {
        match self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(v) => member >= v,
            LexBound::Exclusive(v) => member > v,
        }
    }
    #[inline]
    fn lte_max(&self, _: f64, member: &[u8]) -> bool {
        match self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(v) => member <= v,
            LexBound::Exclusive(v) => member < v,
        }
    }
}

/// A listpack holds no negative zero: Redis writes the score with d2string ("-0") and the
/// listpack stores that text as the integer 0.
#[inline]
fn listpack_score(score: f64) -> f64 { if score == 0.0 { 0.0 } else { score } }

fn fits_listpack(count: usize, max_member_len: usize, settings: &Settings) -> bool {
    (count as u64) <= settings.zset_max_listpack_entries.max(0) as u64 && (max_member_len as u64) <= settings.zset_max_listpack_value.max(0) as u64
}

impl Default for ZSet {
    fn default() -> Self { Self::new() }
}

impl ZSet {
    /// An empty listpack-encoded sorted set (createZsetListpackObject).
    pub fn new() -> Self { ZSet { repr: Repr::Listpack(Packed::new()) } }

    /// A computed result (ZUNIONSTORE, ZRANGESTORE...): the encoding Redis ends up with for its
    /// destination, listpack when the count and every member fit. Entries need not be sorted;
    /// members must be distinct.
    pub fn from_result(mut entries: Vec<(Vec<u8>, f64)>, settings: &Settings) -> Self {
        entries.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        let max_len = entries.iter().map(|e| e.0.len()).max().unwrap_or(0);
        if fits_listpack(entries.len(), max_len, settings) {
            ZSet::packed_from_sorted(&entries)
        } else {
            ZSet::skiplist_from_sorted(&entries).expect("members of a computed result are distinct")
        }
    }

    /// For the RDB loader reading a skiplist-type zset (RDB_TYPE_ZSET/ZSET_2): Redis loads it as
    /// a skiplist and converts it to a listpack when both limits allow.
    pub fn from_pairs<M: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (M, f64)>, settings: &Settings) -> Result<ZSet, &'static str> {
        ZSet::from_loaded(pairs.into_iter().collect(), false, settings)
    }

    /// For the RDB loader reading a listpack/ziplist blob: Redis 7.0 keeps it a listpack unless
    /// the count exceeds `zset-max-listpack-entries` (member lengths are not rechecked).
    pub fn from_listpack_pairs<M: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (M, f64)>, settings: &Settings) -> Result<ZSet, &'static str> {
        ZSet::from_loaded(pairs.into_iter().collect(), true, settings)
    }

    /// A loaded sorted set, built in one pass from its sorted entries (a file's skiplist comes
    /// in descending order and a listpack ascending, both sorted in linear time): no search and
    /// no copy per member beyond the one it is stored as. `Err` on a NaN score or a repeated
    /// member. `from_listpack`: the entries come from a listpack blob, whose scores hold no
    /// negative zero and whose member lengths do not decide the encoding.
    fn from_loaded<M: AsRef<[u8]>>(mut entries: Vec<(M, f64)>, from_listpack: bool, settings: &Settings) -> Result<ZSet, &'static str> {
        if entries.iter().any(|e| e.1.is_nan()) { return Err("zset score is NaN"); }
        if from_listpack {
            for e in &mut entries { e.1 = listpack_score(e.1); }
        }
        entries.sort_by(|a, b| cmp_entry(a.1, a.0.as_ref(), b.1, b.0.as_ref()));
        let max_len = if from_listpack { 0 } else { entries.iter().map(|e| e.0.as_ref().len()).max().unwrap_or(0) };
        if fits_listpack(entries.len(), max_len, settings) {
            if crate::types::any_repeated(entries.iter().map(|e| e.0.as_ref())) { return Err("duplicate zset member"); }
            Ok(ZSet::packed_from_sorted(&entries))
        } else {
            ZSet::skiplist_from_sorted(&entries)
        }
    }

    /// A listpack of entries sorted by `cmp_entry`, with distinct members, in one allocation.
    fn packed_from_sorted<M: AsRef<[u8]>>(entries: &[(M, f64)]) -> ZSet {
        let bytes = entries.iter().map(|(m, s)| packed::entry_size(listpack_score(*s), m.as_ref())).sum();
        let p = Packed::from_sorted(bytes, entries.iter().map(|(m, s)| (listpack_score(*s), m.as_ref())));
        ZSet { repr: Repr::Listpack(p) }
    }

    /// A skiplist of entries sorted by `cmp_entry`; `Err` on a repeated member.
    fn skiplist_from_sorted<M: AsRef<[u8]>>(entries: &[(M, f64)]) -> Result<ZSet, &'static str> {
        let mut dict = Dict::with_capacity(entries.len());
        for (m, s) in entries {
            if dict.try_insert_copy(m.as_ref(), *s).is_err() { return Err("duplicate zset member"); }
        }
        let tree = Tree::from_sorted(entries.iter().map(|(m, s)| (*s, m.as_ref())));
        Ok(ZSet { repr: Repr::Skiplist(Box::new(Large { dict, tree })) })
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.len(),
            Repr::Skiplist(l) => l.tree.len(),
        }
    }

    pub fn is_empty(&self) -> bool { self.len() == 0 }

    /// DEBUG HTSTATS-KEY's text: a skiplist-encoded sorted set's member table.
    pub fn table_stats(&self) -> Option<String> {
        match &self.repr { Repr::Skiplist(l) => Some(l.dict.stats_text(|_| true)), Repr::Listpack(_) => None }
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    pub fn is_listpack(&self) -> bool { matches!(self.repr, Repr::Listpack(_)) }

    /// MEMORY USAGE: the malloc chunks held, the member table averaged over `samples`.
    pub fn memory_usage(&self, samples: usize) -> usize {
        use crate::alloc::chunk_size;
        match &self.repr {
            Repr::Listpack(p) => chunk_size(p.capacity()),
            Repr::Skiplist(l) => chunk_size(std::mem::size_of::<Large>()) + l.dict.memory_usage(samples, |_| 0) + l.tree.heap_bytes(),
        }
    }

    /// Approximate heap bytes held (MEMORY USAGE and friends).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(p) => p.capacity(),
            Repr::Skiplist(l) => l.dict.table_bytes() + l.dict.keys().map(|k| k.len()).sum::<usize>() + l.tree.heap_bytes(),
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(p) => p.find(member).map(|(_, e)| e.score),
            Repr::Skiplist(l) => l.dict.get(member).copied(),
        }
    }

    /// The 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(p) => p.find(member).map(|(r, _)| r),
            Repr::Skiplist(l) => {
                let score = *l.dict.get(member)?;
                l.tree.rank_of(score, member)
            }
        }
    }

    /// The entry at ascending rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(p) => p.get(rank).map(|(s, m)| (m, s)),
            Repr::Skiplist(l) => l.tree.get(rank).map(|(s, m)| (m, s)),
        }
    }

    /// Entries with ascending ranks `from..to` (clamped), walked upwards or, when `rev`,
    /// downwards from `to - 1`.
    pub fn range(&self, from: usize, to: usize, rev: bool) -> ZIter<'_> {
        let to = to.min(self.len());
        let from = from.min(to);
        match &self.repr {
            Repr::Listpack(p) => {
                let (a, b) = if from == 0 && to == p.len() { (0, p.bytes()) } else { (p.offset_of(from), p.offset_of(to)) };
                ZIter::Packed { it: PackedIter::between(p, a, b), rev }
            }
            Repr::Skiplist(l) => ZIter::Tree(l.tree.range(from, to, rev)),
        }
    }

    /// Every (member, score), ascending.
    pub fn iter(&self) -> ZIter<'_> { self.range(0, usize::MAX, false) }

    /// Every (member, score), descending.
    pub fn iter_rev(&self) -> ZIter<'_> { self.range(0, usize::MAX, true) }

    /// Calls `f(member, score)` for every entry, ascending or, when `rev`, descending, without
    /// allocating (`iter` on a skiplist keeps its tree path in a Vec): the RDB writer's walk.
    pub fn for_each<'a>(&'a self, rev: bool, mut f: impl FnMut(&'a [u8], f64)) {
        match &self.repr {
            Repr::Listpack(p) if rev => p.iter().rev().for_each(|(s, m)| f(m, s)),
            Repr::Listpack(p) => p.iter().for_each(|(s, m)| f(m, s)),
            Repr::Skiplist(l) => l.tree.for_each(rev, &mut |s, m| f(m, s)),
        }
    }

    /// Redis's zsetAdd: adds or updates `member` under ZADD's flags, converting a listpack to a
    /// skiplist first when a new member would pass either limit.
    pub fn add(&mut self, score: f64, member: &[u8], flags: AddFlags, settings: &Settings) -> AddOutcome {
        match self.score(member) {
            Some(current) => {
                if flags.nx { return AddOutcome::Skipped; }
                let mut score = score;
                if flags.incr {
                    score += current;
                    if score.is_nan() { return AddOutcome::Nan; }
                }
                if (flags.lt && score >= current) || (flags.gt && score <= current) { return AddOutcome::Skipped; }
                if score == current { return AddOutcome::Same(score); }
                self.remove_known(member, current);
                self.insert_unchecked(score, member);
                AddOutcome::Updated(score)
            }
            None => {
                if flags.xx { return AddOutcome::Skipped; }
                self.insert(score, member, settings);
                AddOutcome::Added(score)
            }
        }
    }

    /// Inserts a member that is not present, converting to a skiplist first when the listpack
    /// would pass a limit (Redis checks before inserting).
    pub fn insert(&mut self, score: f64, member: &[u8], settings: &Settings) {
        if let Repr::Listpack(p) = &self.repr {
            if !fits_listpack(p.len() + 1, member.len(), settings) { self.convert_to_skiplist(); }
        }
        self.insert_unchecked(score, member);
    }

    fn insert_unchecked(&mut self, score: f64, member: &[u8]) {
        match &mut self.repr {
            Repr::Listpack(p) => {
                p.insert(listpack_score(score), member);
            }
            Repr::Skiplist(l) => {
                l.dict.insert_new_copy(member, score);
                l.tree.insert(score, member);
            }
        }
    }

    /// Removes `member`; true when it was there. The caller deletes the key when it empties.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.score(member) {
            Some(s) => {
                self.remove_known(member, s);
                true
            }
            None => false,
        }
    }

    fn remove_known(&mut self, member: &[u8], score: f64) {
        match &mut self.repr {
            Repr::Listpack(p) => {
                if let Some((_, e)) = p.find(member) {
                    let (start, end) = (e.start, e.end);
                    p.remove_bytes(start, end, 1);
                }
            }
            Repr::Skiplist(l) => {
                l.dict.remove(member);
                l.tree.remove(score, member);
            }
        }
    }

    /// Removes the entries with ascending ranks `from..to`; returns how many.
    pub fn remove_ranks(&mut self, from: usize, to: usize) -> usize {
        let to = to.min(self.len());
        if from >= to { return 0; }
        match &mut self.repr {
            Repr::Listpack(p) => {
                p.remove_ranks(from, to);
            }
            Repr::Skiplist(l) => {
                let doomed: Vec<(f64, Vec<u8>)> = l.tree.range(from, to, false).map(|(s, m)| (s, m.to_vec())).collect();
                for (s, m) in doomed {
                    l.tree.remove(s, &m);
                    l.dict.remove(&m);
                }
            }
        }
        to - from
    }

    /// Removes and returns the lowest (`max == false`) or highest entry.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let n = self.len();
        if n == 0 { return None; }
        let rank = if max { n - 1 } else { 0 };
        let (m, s) = self.get(rank).map(|(m, s)| (m.to_vec(), s))?;
        self.remove_ranks(rank, rank + 1);
        Some((m, s))
    }

    /// A uniformly random rank (ZRANDMEMBER); None when empty.
    pub fn random_rank(&self) -> Option<usize> {
        let n = self.len();
        if n == 0 { None } else { Some((random_u64() % n as u64) as usize) }
    }

    /// One ZSCAN step: a listpack is visited whole and the next cursor is 0 (as Redis returns
    /// small encodings in one call); a skiplist walks its dict with the reverse-binary cursor.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(p) => {
                for (s, m) in p.iter() { f(m, s); }
                0
            }
            Repr::Skiplist(l) => l.dict.scan_step(cursor, |k, s| f(k, *s)),
        }
    }

    /// Redis's zslFirstInRange / zzlFirstInRange (and the lex variants): the rank of the first
    /// entry inside `r`, or None. Redis first rejects when the range is empty, the last entry is
    /// below min or the first above max; then takes the first entry >= min and requires it to
    /// be <= max. (For lex ranges over differing scores, the listpack walk is linear exactly as
    /// Redis's; the skiplist answer assumes the documented equal-score case, as does Redis's.)
    pub fn first_in_range<R: RangeSpec>(&self, r: &R) -> Option<usize> {
        if !self.may_intersect(r) { return None; }
        let first = match &self.repr {
            Repr::Listpack(p) => p.iter().position(|(s, m)| r.gte_min(s, m))?,
            Repr::Skiplist(l) => l.tree.partition_point(|s, m| !r.gte_min(s, m)),
        };
        let (m, s) = self.get(first)?;
        if r.lte_max(s, m) { Some(first) } else { None }
    }

    /// Redis's zslLastInRange / zzlLastInRange: the rank of the last entry inside `r`.
    pub fn last_in_range<R: RangeSpec>(&self, r: &R) -> Option<usize> {
        if !self.may_intersect(r) { return None; }
        let last = match &self.repr {
            Repr::Listpack(p) => p.len() - 1 - p.iter().rev().position(|(s, m)| r.lte_max(s, m))?,
            Repr::Skiplist(l) => l.tree.partition_point(|s, m| r.lte_max(s, m)).checked_sub(1)?,
        };
        let (m, s) = self.get(last)?;
        if r.gte_min(s, m) { Some(last) } else { None }
    }

    fn may_intersect<R: RangeSpec>(&self, r: &R) -> bool {
        let n = self.len();
        if r.is_empty() || n == 0 { return false; }
        let (lm, ls) = self.get(n - 1).expect("non-empty");
        if !r.gte_min(ls, lm) { return false; }
        let (fm, fs) = self.get(0).expect("non-empty");
        r.lte_max(fs, fm)
    }

    /// Walking up from rank `start` while entries are <= max: the end (exclusive) of the run.
    pub fn forward_extent<R: RangeSpec>(&self, start: usize, r: &R) -> usize {
        match &self.repr {
            Repr::Listpack(_) => start + self.range(start, usize::MAX, false).take_while(|(m, s)| r.lte_max(*s, m)).count(),
            Repr::Skiplist(l) => l.tree.partition_point(|s, m| r.lte_max(s, m)).max(start),
        }
    }

    /// Walking down from rank `end` (inclusive) while entries are >= min: the lowest rank
    /// reached (`end + 1` when even `end` is below min).
    pub fn backward_extent<R: RangeSpec>(&self, end: usize, r: &R) -> usize {
        match &self.repr {
            Repr::Listpack(_) => end + 1 - self.range(0, end + 1, true).take_while(|(m, s)| r.gte_min(*s, m)).count(),
            Repr::Skiplist(l) => l.tree.partition_point(|s, m| !r.gte_min(s, m)).min(end + 1),
        }
    }

    /// The skiplist encoding, whatever the size (SORT converts the sorted sets it reads, as Redis does).
    pub fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(p) = &self.repr {
            let mut dict = Dict::with_capacity(p.len() + 1);
            for (s, m) in p.iter() { dict.insert_new_copy(m, s); }
            self.repr = Repr::Skiplist(Box::new(Large { dict, tree: Tree::from_sorted(p.iter()) }));
        }
    }
}

/// (member, score) pairs of a rank range, in either direction.
pub enum ZIter<'a> {
    Packed { it: PackedIter<'a>, rev: bool },
    Tree(TreeIter<'a>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (s, m) = match self {
            ZIter::Packed { it, rev: false } => it.next()?,
            ZIter::Packed { it, rev: true } => it.next_back()?,
            ZIter::Tree(it) => it.next()?,
        };
        Some((m, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(entries: i64, value: i64) -> Settings {
        let mut s = Settings::default();
        s.zset_max_listpack_entries = entries;
        s.zset_max_listpack_value = value;
        s
    }

    fn members(z: &ZSet) -> Vec<Vec<u8>> { z.iter().map(|(m, _)| m.to_vec()).collect() }

    #[test]
    fn zadd_flags_follow_redis() {
        let st = Settings::default();
        let mut z = ZSet::new();
        let f = AddFlags::default();
        assert_eq!(z.add(1.0, b"a", f, &st), AddOutcome::Added(1.0));
        assert_eq!(z.add(1.0, b"a", f, &st), AddOutcome::Same(1.0));
        assert_eq!(z.add(2.0, b"a", AddFlags { nx: true, ..f }, &st), AddOutcome::Skipped);
        assert_eq!(z.add(2.0, b"b", AddFlags { xx: true, ..f }, &st), AddOutcome::Skipped);
        assert_eq!(z.add(0.5, b"a", AddFlags { gt: true, ..f }, &st), AddOutcome::Skipped);
        assert_eq!(z.add(1.0, b"a", AddFlags { gt: true, ..f }, &st), AddOutcome::Skipped);
        assert_eq!(z.add(3.0, b"a", AddFlags { gt: true, ..f }, &st), AddOutcome::Updated(3.0));
        assert_eq!(z.add(2.0, b"a", AddFlags { incr: true, ..f }, &st), AddOutcome::Updated(5.0));
        assert_eq!(z.add(f64::INFINITY, b"a", f, &st), AddOutcome::Updated(f64::INFINITY));
        assert_eq!(z.add(f64::NEG_INFINITY, b"a", AddFlags { incr: true, ..f }, &st), AddOutcome::Nan);
        assert_eq!(z.score(b"a"), Some(f64::INFINITY));
    }

    #[test]
    fn listpack_converts_one_way_and_keeps_order() {
        let st = settings(4, 8);
        let mut z = ZSet::new();
        for (i, m) in ["d", "c", "b", "a"].iter().enumerate() { z.insert(1.0 + (i % 2) as f64, m.as_bytes(), &st); }
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(members(&z), vec![b"b".to_vec(), b"d".to_vec(), b"a".to_vec(), b"c".to_vec()]);
        z.insert(0.0, b"e", &st);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(members(&z)[0], b"e");
        assert_eq!(z.rank(b"c"), Some(4));
        z.remove_ranks(0, 4);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(members(&z), vec![b"c".to_vec()]);

        let mut z = ZSet::new();
        z.insert(1.0, b"123456789", &st);
        assert_eq!(z.encoding(), "skiplist", "a member longer than the limit");
    }

    #[test]
    fn for_each_walks_like_iter_in_both_encodings() {
        let st = settings(128, 64);
        for n in [0usize, 1, 10, 128, 129, 3000] {
            let mut z = ZSet::new();
            for i in 0..n { z.insert(((i * 7919) % 1000) as f64 / 10.0, format!("member:{i}").as_bytes(), &st); }
            assert_eq!(z.encoding(), if n <= 128 { "listpack" } else { "skiplist" });
            let mut up: Vec<(Vec<u8>, f64)> = Vec::new();
            z.for_each(false, |m, s| up.push((m.to_vec(), s)));
            assert_eq!(up, z.iter().map(|(m, s)| (m.to_vec(), s)).collect::<Vec<_>>());
            let mut down: Vec<(Vec<u8>, f64)> = Vec::new();
            z.for_each(true, |m, s| down.push((m.to_vec(), s)));
            assert_eq!(down, z.iter_rev().map(|(m, s)| (m.to_vec(), s)).collect::<Vec<_>>());
            assert_eq!(up.len(), n);
        }
    }

    #[test]
    fn negative_zero_only_survives_in_a_skiplist() {
        let mut z = ZSet::new();
        z.insert(-0.0, b"a", &settings(1, 64));
        assert!(z.score(b"a").unwrap().is_sign_positive());
        let mut z = ZSet::new();
        z.insert(-0.0, b"a", &settings(0, 64));
        assert!(z.score(b"a").unwrap().is_sign_negative());
    }

    #[test]
    fn ranges_by_score_and_lex() {
        for st in [settings(128, 64), settings(0, 64)] {
            let mut z = ZSet::new();
            for (s, m) in [(1.0, "a"), (2.0, "b"), (2.0, "c"), (3.0, "d")] { z.insert(s, m.as_bytes(), &st); }
            let r = ScoreRange { min: 2.0, max: 3.0, minex: false, maxex: true };
            assert_eq!(z.first_in_range(&r), Some(1));
            assert_eq!(z.last_in_range(&r), Some(2));
            assert_eq!(z.forward_extent(1, &r), 3);
            assert_eq!(z.backward_extent(2, &r), 1);
            let none = ScoreRange { min: 3.0, max: 3.0, minex: true, maxex: false };
            assert_eq!(z.first_in_range(&none), None);
            let lex = LexRange { min: LexBound::Exclusive(b"a"), max: LexBound::Max };
            assert_eq!(z.first_in_range(&lex), Some(1));
            assert_eq!(z.last_in_range(&lex), Some(3));
            let rev: Vec<Vec<u8>> = z.range(1, 3, true).map(|(m, _)| m.to_vec()).collect();
            assert_eq!(rev, vec![b"c".to_vec(), b"b".to_vec()]);
        }
    }

    #[test]
    fn loader_constructors() {
        let st = settings(2, 4);
        let z = ZSet::from_pairs([(&b"b"[..], 2.0), (b"a", 1.0)], &st).unwrap();
        assert_eq!((z.encoding(), members(&z)), ("listpack", vec![b"a".to_vec(), b"b".to_vec()]));
        assert_eq!(ZSet::from_pairs([(&b"b"[..], 2.0), (b"a", 1.0), (b"c", 0.0)], &st).unwrap().encoding(), "skiplist");
        assert_eq!(ZSet::from_pairs([(&b"toolong"[..], 2.0)], &st).unwrap().encoding(), "skiplist");
        assert!(ZSet::from_pairs([(&b"a"[..], 2.0), (b"a", 1.0)], &st).is_err());
        assert_eq!(ZSet::from_listpack_pairs([(&b"toolong"[..], 2.0)], &st).unwrap().encoding(), "listpack");
        let big = ZSet::from_listpack_pairs([(&b"c"[..], 3.0), (b"a", 1.0), (b"b", 2.0)], &st).unwrap();
        assert_eq!((big.encoding(), members(&big)), ("skiplist", vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]));
        let rev: Vec<f64> = big.iter_rev().map(|(_, s)| s).collect();
        assert_eq!(rev, vec![3.0, 2.0, 1.0]);
    }
}
