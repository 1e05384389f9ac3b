//! SORT and SORT_RO (Redis's sort.c): the elements of a list, set or sorted set, compared as
//! numbers (their own value or the string a BY pattern leads to) or, with ALPHA, as strings;
//! LIMIT, ASC/DESC, GET patterns (`#`, `key*`, `hash*->field`) and STORE into a list.
//!
//! As in Redis: a BY pattern without `*` means "do not sort" (the collection's own order, LIMIT
//! applied directly), except for a set stored with STORE or sorted by a script, which is then sorted ALPHA so the
//! result does not depend on the hash table's order; numeric ties compare the elements' bytes;
//! sorting a sorted set converts it to its skiplist encoding; every pattern lookup is a keyspace
//! read (hits and misses). ALPHA compares like strcoll in the C locale (bytes, up to a NUL),
//! or byte for byte when storing.

use std::cmp::Ordering;

use crate::command::{CmdError, CmdResult, CommandRow, Ctx, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::{GENERIC, LIST};
use crate::keyspace::Keyspace;
use crate::types::list::List;
use crate::types::Value;

use super::zsets::parse::scan_strtod;

pub const COMMANDS: &[CommandRow] = &[("sort", sort), ("sort_ro", sort_ro)];

fn sort(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, false)
}

fn sort_ro(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, true)
}

/// The bytes of a C string: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// A value a pattern leads to: an element itself (`#`), a string key, or a hash field.
enum Found {
    Bytes(Vec<u8>),
    Missing,
}

/// lookupKeyByPattern: `#` is the element itself; otherwise the first `*` is replaced by the
/// element and the key read (a string; or, with `->field` after the `*`, that field of a hash).
/// A pattern without `*` leads nowhere.
fn lookup_by_pattern(ks: &mut Keyspace, db: usize, now: i64, pattern: &[u8], element: &[u8]) -> Found {
    let cpat = c_str(pattern);
    if cpat == b"#" {
        return Found::Bytes(element.to_vec());
    }
    let Some(star) = cpat.iter().position(|&c| c == b'*') else { return Found::Missing };
    let after = &cpat[star + 1..];
    let field_at = after.windows(2).position(|w| w == b"->").filter(|&f| f + 2 < after.len());
    let field_len = field_at.map_or(0, |f| pattern.len() - (star + 1 + f) - 2);
    let postfix_len = pattern.len() - (star + 1) - if field_len > 0 { field_len + 2 } else { 0 };
    let mut key = Vec::with_capacity(star + element.len() + postfix_len);
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&pattern[star + 1..star + 1 + postfix_len]);
    let Some(e) = ks.lookup_read(db, &key, now) else { return Found::Missing };
    match (&e.value, field_len) {
        (Value::Str(s), 0) => Found::Bytes(s.to_vec()),
        (Value::Hash(h), n) if n > 0 => {
            let field = &pattern[pattern.len() - n..];
            h.get(field).map_or(Found::Missing, |v| Found::Bytes(v.to_vec()))
        }
        _ => Found::Missing,
    }
}

/// One element to sort with what it is compared by.
struct Item {
    element: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the string the pattern led to (None: missing, sorts first).
    by: Option<Vec<u8>>,
}

/// SORT's numeric conversion: strtod over the C string; anything left over, a range error or
/// NaN is an error.
fn sort_score(text: &[u8]) -> Option<f64> {
    let s = c_str(text);
    let sc = scan_strtod(s);
    if sc.len != s.len() || sc.nan || sc.overflow || sc.underflow {
        return None;
    }
    Some(sc.value)
}

fn sort_generic(ctx: &mut Ctx, readonly: bool) -> CmdResult {
    let args = ctx.args;
    let (db, now) = (ctx.db, ctx.now_ms);
    let (mut desc, mut alpha, mut dontsort) = (false, false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut by: Option<&[u8]> = None;
    let mut store: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        if args.is(j, b"ASC") {
            desc = false;
        } else if args.is(j, b"DESC") {
            desc = true;
        } else if args.is(j, b"ALPHA") {
            alpha = true;
        } else if args.is(j, b"LIMIT") && left >= 2 {
            limit_start = args.i64(j + 1)?;
            limit_count = args.i64(j + 2)?;
            j += 2;
        } else if !readonly && args.is(j, b"STORE") && left >= 1 {
            store = Some(args.get(j + 1));
            j += 1;
        } else if args.is(j, b"BY") && left >= 1 {
            let pattern = args.get(j + 1);
            by = Some(pattern);
            if !c_str(pattern).contains(&b'*') {
                dontsort = true;
            } else if !ctx.reads_every_key {
                return Err(CmdError::Msg("ERR BY option of SORT denied due to insufficient ACL permissions."));
            }
            j += 1;
        } else if args.is(j, b"GET") && left >= 1 {
            if !ctx.reads_every_key {
                return Err(CmdError::Msg("ERR GET option of SORT denied due to insufficient ACL permissions."));
            }
            gets.push(args.get(j + 1));
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }

    // The elements, in the collection's order (a sorted set becomes a skiplist first).
    let key = args.get(1);
    let mut is_set = false;
    let elements: Vec<Vec<u8>> = match ctx.ks.lookup_read(db, key, now) {
        None => Vec::new(),
        Some(e) => match &mut e.value {
            Value::List(l) => {
                let elements = l.iter().map(|x| x.to_vec()).collect();
                // Redis's list iterator walked it all (see List::walked).
                let len = l.len();
                l.walked(0, len.saturating_sub(1));
                elements
            }
            Value::Set(s) => {
                is_set = true;
                s.iter().map(|m| m.to_vec()).collect()
            }
            Value::ZSet(z) => {
                z.convert_to_skiplist();
                z.iter().map(|(m, _)| m.to_vec()).collect()
            }
            _ => return Err(WRONGTYPE),
        },
    };
    // A set's order is the table's: sorted for STORE and for scripts, so the result is the same
    // on replicas and in the AOF.
    if dontsort && is_set && (store.is_some() || crate::script::is_running()) {
        dontsort = false;
        alpha = true;
        by = None;
    }
    let len = elements.len() as i64;
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 { len - 1 } else { start.saturating_add(limit_count) - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }

    let mut items: Vec<Item> = if dontsort && !is_set && end >= start {
        // A list's or sorted set's own order (reversed with DESC), only the LIMIT range.
        let (from, n) = (start as usize, (end - start + 1) as usize);
        let ordered: Box<dyn Iterator<Item = Vec<u8>>> = if desc { Box::new(elements.into_iter().rev()) } else { Box::new(elements.into_iter()) };
        let picked = ordered.skip(from).take(n).map(|element| Item { element, score: 0.0, by: None }).collect();
        end -= start;
        start = 0;
        picked
    } else {
        // Everything (a set not sorted keeps its own order, DESC or not).
        elements.into_iter().map(|element| Item { element, score: 0.0, by: None }).collect()
    };

    let mut conversion_error = false;
    if !dontsort {
        for item in &mut items {
            let value = match by {
                Some(pattern) => match lookup_by_pattern(ctx.ks, db, now, pattern, &item.element) {
                    Found::Bytes(v) => v,
                    Found::Missing => continue,
                },
                None => item.element.clone(),
            };
            if alpha {
                if by.is_some() {
                    item.by = Some(value);
                }
            } else {
                match sort_score(&value) {
                    Some(v) => item.score = v,
                    None => conversion_error = true,
                }
            }
        }
        let storing = store.is_some();
        let compare = |a: &Item, b: &Item| -> Ordering {
            let cmp = if !alpha {
                a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.element.cmp(&b.element))
            } else if by.is_some() {
                match (&a.by, &b.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => if storing { x.cmp(y) } else { c_str(x).cmp(c_str(y)) },
                }
            } else if storing {
                a.element.cmp(&b.element)
            } else {
                c_str(&a.element).cmp(c_str(&b.element))
            };
            if desc { cmp.reverse() } else { cmp }
        };
        let n = items.len() as i64;
        if by.is_some() && (start != 0 || end != n - 1) && n > 0 && end >= start {
            crate::pqsort::partial_sort(&mut items, &compare, start as usize, end as usize);
        } else {
            // glibc's qsort is a merge sort: stable.
            items.sort_by(compare);
        }
    }

    let count = if end >= start { (end - start + 1) as usize } else { 0 };
    let output_len = if gets.is_empty() { count } else { gets.len() * count };
    if conversion_error {
        return Err(CmdError::Msg("ERR One or more scores can't be converted into double"));
    }
    let window = if count > 0 { &items[start as usize..start as usize + count] } else { &[][..] };
    let Some(dst) = store else {
        ctx.reply.array(output_len);
        for item in window {
            if gets.is_empty() {
                ctx.reply.bulk(&item.element);
            }
            for pattern in &gets {
                // GET's lookups run as the reply is written: what they notify (a lazily
                // expired key) goes among its elements.
                ctx.events_from_here();
                match lookup_by_pattern(ctx.ks, db, now, pattern, &item.element) {
                    Found::Bytes(v) => ctx.reply.bulk(&v),
                    Found::Missing => ctx.reply.null(),
                }
            }
        }
        return Ok(());
    };
    let mut stored: Vec<Vec<u8>> = Vec::with_capacity(output_len);
    for item in window {
        if gets.is_empty() {
            stored.push(item.element.clone());
        }
        for pattern in &gets {
            stored.push(match lookup_by_pattern(ctx.ks, db, now, pattern, &item.element) {
                Found::Bytes(v) => v,
                Found::Missing => Vec::new(),
            });
        }
    }
    if output_len > 0 {
        ctx.ks.set(db, dst, Value::List(List::from_items_default_options(stored)), false, now);
        ctx.ks.signal_modified(db, dst);
        ctx.notify(LIST, "sortstore", db, dst);
        ctx.ks.dirty += output_len as u64;
    } else if ctx.ks.delete(db, dst, now, ctx.ks.lazy.server_del) {
        ctx.notify(GENERIC, "del", db, dst);
        ctx.ks.dirty += 1;
    }
    ctx.reply.int(output_len as i64);
    Ok(())
}
