//! Geo commands (Redis's geo.c) on sorted sets: GEOADD (run as the ZADD it becomes), GEODIST,
//! GEOHASH, GEOPOS, GEORADIUS and GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH,
//! GEOSEARCHSTORE. The geometry is `types::geo`.

use crate::command::{Args, CmdError, CmdResult, CommandRow, Ctx, NOT_FLOAT, SYNTAX, WRONGTYPE};
use crate::keyspace::notify::{GENERIC, ZSET};
use crate::keyspace::Keyspace;
use crate::long_double::LongDouble;
use crate::reply::Reply;
use crate::types::geo::{self, Shape, ShapeKind};
use crate::types::zset::{ScoreRange, ZSet};
use crate::types::Value;

use super::zsets::parse::parse_double_arg;

pub const COMMANDS: &[CommandRow] = &[
    ("geoadd", geoadd),
    ("geodist", geodist),
    ("geohash", geohash),
    ("geopos", geopos),
    ("georadius", georadius),
    ("georadius_ro", georadius_ro),
    ("georadiusbymember", georadiusbymember),
    ("georadiusbymember_ro", georadiusbymember_ro),
    ("geosearch", geosearch),
    ("geosearchstore", geosearchstore),
];

/// A longitude/latitude argument pair (extractLongLatOrReply).
fn lon_lat(args: Args, at: usize) -> Result<(f64, f64), CmdError> {
    let lon = parse_double_arg(args.get(at)).ok_or(NOT_FLOAT)?;
    let lat = parse_double_arg(args.get(at + 1)).ok_or(NOT_FLOAT)?;
    if !(geo::LONG_MIN..=geo::LONG_MAX).contains(&lon) || !(geo::LAT_MIN..=geo::LAT_MAX).contains(&lat) {
        return Err(CmdError::Owned(format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}")));
    }
    Ok((lon, lat))
}

/// extractUnitOrReply: meters per unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    const UNITS: [(&[u8], f64); 4] = [(b"m", 1.0), (b"km", 1000.0), (b"ft", 0.3048), (b"mi", 1609.34)];
    UNITS
        .iter()
        .find(|(name, _)| arg.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
        .ok_or(CmdError::Msg("ERR unsupported unit provided. please use M, KM, FT, MI"))
}

/// A distance in the reply: `%.4f` as a bulk string (both protocols).
fn reply_distance(reply: &mut Reply, d: f64) {
    reply.bulk(format!("{d:.4}").as_bytes());
}

/// A coordinate: addReplyHumanLongDouble (`%.17Lf` trimmed; a double in RESP3).
fn reply_coordinate(reply: &mut Reply, v: f64) {
    reply.double_text(&LongDouble::from_f64(v).to_human());
}

fn zset_of(e: &crate::keyspace::Entry) -> Result<&ZSet, CmdError> {
    match &e.value {
        Value::ZSet(z) => Ok(z),
        _ => Err(WRONGTYPE),
    }
}

/// The sorted set at argument 1 for a read (a hit or a miss), None when absent.
fn read_zset<'a>(ks: &'a mut Keyspace, db: usize, args: Args, now: i64) -> Result<Option<&'a ZSet>, CmdError> {
    match ks.lookup_read(db, args.get(1), now) {
        Some(e) => Ok(Some(zset_of(e)?)),
        None => Ok(None),
    }
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
fn geoadd(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let (mut nx, mut xx) = (false, false);
    let mut at = 2;
    while at < args.len() {
        if args.is(at, b"NX") {
            nx = true;
        } else if args.is(at, b"XX") {
            xx = true;
        } else if !args.is(at, b"CH") {
            break;
        }
        at += 1;
    }
    if (args.len() - at) % 3 != 0 || (xx && nx) {
        return Err(SYNTAX);
    }
    // The ZADD it becomes: zadd key [options] score member ...
    let mut input = Vec::new();
    let mut offsets = Vec::new();
    let mut push = |bytes: &[u8]| {
        offsets.push(input.len() as i32);
        input.extend_from_slice(bytes);
        offsets.push(input.len() as i32);
    };
    push(b"zadd");
    for i in 1..at {
        push(args.get(i));
    }
    for triple in (at..args.len()).step_by(3) {
        let (lon, lat) = lon_lat(args, triple)?;
        let score = geo::score_of(lon, lat).ok_or(CmdError::Msg("ERR invalid longitude,latitude pair"))?;
        push(score.to_string().as_bytes());
        push(args.get(triple + 2));
    }
    let zadd_args = Args::new(&input, &offsets).map_err(CmdError::Owned)?;
    super::zsets::zadd(&mut ctx.with_args(zadd_args))
}

/// The score of `member` and its position, None when absent (or undecodable).
fn member_position(z: &ZSet, member: &[u8]) -> Option<(f64, f64)> {
    z.score(member).and_then(geo::position_of)
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
fn geodist(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let to_meters = match args.len() {
        5 => unit(args.get(4))?,
        n if n > 5 => return Err(SYNTAX),
        _ => 1.0,
    };
    let Some(e) = ctx.ks.lookup_read(ctx.db, args.get(1), ctx.now_ms) else {
        ctx.reply.null();
        return Ok(());
    };
    let z = zset_of(e)?;
    match (member_position(z, args.get(2)), member_position(z, args.get(3))) {
        (Some((lon1, lat1)), Some((lon2, lat2))) => reply_distance(ctx.reply, geo::distance(lon1, lat1, lon2, lat2) / to_meters),
        _ => ctx.reply.null(),
    }
    Ok(())
}

/// GEOHASH key [member ...]
fn geohash(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let z = read_zset(ctx.ks, ctx.db, args, ctx.now_ms)?;
    ctx.reply.array(args.len() - 2);
    for member in args.from(2) {
        match z.and_then(|z| z.score(member)).and_then(geo::geohash_string) {
            Some(text) => ctx.reply.bulk(&text),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let z = read_zset(ctx.ks, ctx.db, args, ctx.now_ms)?;
    ctx.reply.array(args.len() - 2);
    for member in args.from(2) {
        match z.and_then(|z| member_position(z, member)) {
            Some((lon, lat)) => {
                ctx.reply.array(2);
                reply_coordinate(ctx.reply, lon);
                reply_coordinate(ctx.reply, lat);
            }
            None => ctx.reply.null_array(),
        }
    }
    Ok(())
}

/// Which command of the radius family is running (georadiusGeneric's flags).
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// GEORADIUS[_RO]: center from coordinates, radius and unit positional.
    RadiusCoords { store_allowed: bool },
    /// GEORADIUSBYMEMBER[_RO]: center from a member.
    RadiusMember { store_allowed: bool },
    /// GEOSEARCH / GEOSEARCHSTORE.
    Search { store: bool },
}

fn georadius(ctx: &mut Ctx) -> CmdResult { radius_generic(ctx, Form::RadiusCoords { store_allowed: true }) }
fn georadius_ro(ctx: &mut Ctx) -> CmdResult { radius_generic(ctx, Form::RadiusCoords { store_allowed: false }) }
fn georadiusbymember(ctx: &mut Ctx) -> CmdResult { radius_generic(ctx, Form::RadiusMember { store_allowed: true }) }
fn georadiusbymember_ro(ctx: &mut Ctx) -> CmdResult { radius_generic(ctx, Form::RadiusMember { store_allowed: false }) }
fn geosearch(ctx: &mut Ctx) -> CmdResult { radius_generic(ctx, Form::Search { store: false }) }
fn geosearchstore(ctx: &mut Ctx) -> CmdResult { radius_generic(ctx, Form::Search { store: true }) }

/// A radius or box size and its unit (extractDistanceOrReply / extractBoxOrReply).
fn radius_arg(args: Args, at: usize) -> Result<(f64, f64), CmdError> {
    let r = parse_double_arg(args.get(at)).ok_or(CmdError::Msg("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::Msg("ERR radius cannot be negative"));
    }
    Ok((r, unit(args.get(at + 1))?))
}

fn box_arg(args: Args, at: usize) -> Result<(f64, f64, f64), CmdError> {
    let w = parse_double_arg(args.get(at)).ok_or(CmdError::Msg("ERR need numeric width"))?;
    let h = parse_double_arg(args.get(at + 1)).ok_or(CmdError::Msg("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::Msg("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(args.get(at + 2))?))
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A point found by a search.
struct Found {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

/// georadiusGeneric.
fn radius_generic(ctx: &mut Ctx, form: Form) -> CmdResult {
    let args = ctx.args;
    let (db, now) = (ctx.db, ctx.now_ms);
    let src = match form {
        Form::Search { store: true } => 2,
        _ => 1,
    };
    let z: Option<&ZSet> = match ctx.ks.lookup_read(db, args.get(src), now) {
        Some(e) => Some(zset_of(e)?),
        None => None,
    };
    const NOT_DECODABLE: CmdError = CmdError::Msg("ERR could not decode requested zset member");
    let mut center: Option<(f64, f64)> = None;
    let mut kind: Option<ShapeKind> = None;
    let mut conversion = 1.0;
    let base = match form {
        Form::RadiusCoords { .. } => {
            center = Some(lon_lat(args, 2)?);
            let (r, c) = radius_arg(args, 4)?;
            kind = Some(ShapeKind::Radius(r));
            conversion = c;
            6
        }
        Form::RadiusMember { .. } => {
            if let Some(z) = z {
                center = Some(member_position(z, args.get(2)).ok_or(NOT_DECODABLE)?);
                let (r, c) = radius_arg(args, 3)?;
                kind = Some(ShapeKind::Radius(r));
                conversion = c;
            }
            5
        }
        Form::Search { store } => if store { 3 } else { 2 },
    };
    let search = matches!(form, Form::Search { .. });
    let store_allowed = matches!(form, Form::RadiusCoords { store_allowed: true } | Form::RadiusMember { store_allowed: true });
    let mut store_key: Option<&[u8]> = match form {
        Form::Search { store: true } => Some(args.get(1)),
        _ => None,
    };
    let mut store_dist = false;
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let remaining = args.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let at = base + i;
        let more = remaining - i - 1;
        let is = |name: &[u8]| args.is(at, name);
        if is(b"WITHDIST") {
            withdist = true;
        } else if is(b"WITHHASH") {
            withhash = true;
        } else if is(b"WITHCOORD") {
            withcoord = true;
        } else if is(b"ANY") {
            any = true;
        } else if is(b"ASC") {
            sort = Sort::Asc;
        } else if is(b"DESC") {
            sort = Sort::Desc;
        } else if is(b"COUNT") && more >= 1 {
            count = args.i64(at + 1)?;
            if count <= 0 {
                return Err(CmdError::Msg("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (is(b"STORE") || is(b"STOREDIST")) && more >= 1 && store_allowed {
            store_key = Some(args.get(at + 1));
            store_dist = is(b"STOREDIST");
            i += 1;
        } else if is(b"STOREDIST") && matches!(form, Form::Search { store: true }) {
            store_dist = true;
        } else if is(b"FROMMEMBER") && more >= 1 && search && !fromloc {
            if let Some(z) = z {
                center = Some(member_position(z, args.get(at + 1)).ok_or(NOT_DECODABLE)?);
            }
            frommember = true;
            i += 1;
        } else if is(b"FROMLONLAT") && more >= 2 && search && !frommember {
            center = Some(lon_lat(args, at + 1)?);
            fromloc = true;
            i += 2;
        } else if is(b"BYRADIUS") && more >= 2 && search && !bybox {
            let (r, c) = radius_arg(args, at + 1)?;
            kind = Some(ShapeKind::Radius(r));
            conversion = c;
            byradius = true;
            i += 2;
        } else if is(b"BYBOX") && more >= 3 && search && !byradius {
            let (w, h, c) = box_arg(args, at + 1)?;
            kind = Some(ShapeKind::Box { width: w, height: h });
            conversion = c;
            bybox = true;
            i += 3;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    if store_key.is_some() && (withdist || withhash || withcoord) {
        let what = if matches!(form, Form::Search { store: true }) { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(CmdError::Owned(format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    let name = String::from_utf8_lossy(args.get(0)).into_owned();
    if search && !(frommember || fromloc) {
        return Err(CmdError::Owned(format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::Owned(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")));
    }
    if any && count == 0 {
        return Err(CmdError::Msg("ERR the ANY argument requires COUNT argument"));
    }
    let Some(z) = z else {
        // No source: an empty result (a STORE deletes its destination).
        match store_key {
            Some(dst) => {
                if ctx.ks.delete(db, dst, now, ctx.ks.lazy.server_del) {
                    ctx.notify(GENERIC, "del", db, dst);
                    ctx.ks.dirty += 1;
                }
                ctx.reply.int(0);
            }
            None => ctx.reply.array(0),
        }
        return Ok(());
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let (lon, lat) = center.expect("set by the arguments checked above");
    let shape = Shape { lon, lat, conversion, kind: kind.expect("set by the arguments checked above") };
    let limit = if any { count as usize } else { 0 };
    let mut found = collect(z, &shape, limit);
    let wanted = if count == 0 || (found.len() as i64) < count { found.len() } else { count as usize };
    if sort != Sort::None && !found.is_empty() {
        let asc = |a: &Found, b: &Found| a.dist.partial_cmp(&b.dist).unwrap_or(std::cmp::Ordering::Equal);
        let desc = |a: &Found, b: &Found| b.dist.partial_cmp(&a.dist).unwrap_or(std::cmp::Ordering::Equal);
        if wanted == found.len() {
            // glibc's qsort is a merge sort: stable.
            if sort == Sort::Asc { found.sort_by(asc) } else { found.sort_by(desc) }
        } else if sort == Sort::Asc {
            crate::pqsort::partial_sort(&mut found, &asc, 0, wanted - 1);
        } else {
            crate::pqsort::partial_sort(&mut found, &desc, 0, wanted - 1);
        }
    }
    found.truncate(wanted);
    for f in &mut found {
        f.dist /= conversion;
    }
    let Some(dst) = store_key else {
        let extras = withdist as usize + withhash as usize + withcoord as usize;
        let reply = &mut *ctx.reply;
        reply.array(found.len());
        for f in &found {
            if extras > 0 {
                reply.array(extras + 1);
            }
            reply.bulk(&f.member);
            if withdist {
                reply_distance(reply, f.dist);
            }
            if withhash {
                reply.int(geo::c_double_to_i64(f.score));
            }
            if withcoord {
                reply.array(2);
                reply_coordinate(reply, f.lon);
                reply_coordinate(reply, f.lat);
            }
        }
        return Ok(());
    };
    let n = found.len();
    let dst = dst.to_vec();
    let entries: Vec<(Vec<u8>, f64)> = found.into_iter().map(|f| (f.member, if store_dist { f.dist } else { f.score })).collect();
    if n == 0 {
        if ctx.ks.delete(db, &dst, now, ctx.ks.lazy.server_del) {
            ctx.notify(GENERIC, "del", db, &dst);
            ctx.ks.dirty += 1;
        }
    } else {
        super::zsets::range::write_result(ctx, &dst, entries);
        let event = if matches!(form, Form::Search { .. }) { "geosearchstore" } else { "georadiusstore" };
        ctx.notify(ZSET, event, db, &dst);
        ctx.ks.dirty += n as u64;
    }
    ctx.reply.int(n as i64);
    Ok(())
}

/// membersOfAllNeighbors: the points of every box the shape needs, box by box in score order,
/// kept when within the shape; stops at `limit` (0: none) points.
fn collect(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Found> {
    let mut found = Vec::new();
    for (min, max) in geo::search_boxes(shape) {
        if limit != 0 && found.len() >= limit {
            break;
        }
        let range = ScoreRange { min: min as f64, max: max as f64, minex: false, maxex: true };
        let Some(first) = z.first_in_range(&range) else { continue };
        let end = z.forward_extent(first, &range);
        for (member, score) in z.range(first, end, false) {
            let Some((lon, lat)) = geo::position_of(score) else { continue };
            if let Some(dist) = shape.distance_if_within(lon, lat) {
                found.push(Found { lon, lat, dist, score, member: member.to_vec() });
                if limit != 0 && found.len() >= limit {
                    break;
                }
            }
        }
    }
    found
}
