//! The DEBUG subcommands that touch data or the addon's state (Redis's debug.c): DIGEST,
//! DIGEST-VALUE, SET-ACTIVE-EXPIRE, POPULATE, OBJECT, LISTPACK, STRINGMATCH-TEST,
//! SET-DISABLE-DENY-SCRIPTS, OOM, HTSTATS and HTSTATS-KEY. The TypeScript side owns DEBUG's dispatch and its
//! enable-debug-command gate and routes these subcommands here as `debug|<sub>`.

use crate::cmd::keys::SHARED_REFCOUNT;
use crate::command::{CmdError, CmdResult, CommandRow, Ctx, NO_SUCH_KEY};
use crate::keyspace::lru_idle_seconds;
use crate::persist::save::ValueWriter;
use crate::digest::{to_hex, DatasetDigest, ObjectDigest, ObjectType};
use crate::keyspace::Entry;
use crate::types::string::StrVal;
use crate::types::stream::StreamId;
use crate::types::Value;

pub const COMMANDS: &[CommandRow] = &[
    ("debug|digest", debug_digest),
    ("debug|digest-value", debug_digest_value),
    ("debug|set-active-expire", debug_set_active_expire),
    ("debug|populate", debug_populate),
    ("debug|object", debug_object),
    ("debug|listpack", debug_listpack),
    ("debug|stringmatch-test", debug_stringmatch_test),
    ("debug|set-disable-deny-scripts", debug_set_disable_deny_scripts),
    ("debug|set-skip-checksum-validation", debug_set_skip_checksum_validation),
    ("debug|oom", debug_oom),
    ("debug|htstats", debug_htstats),
    ("debug|htstats-key", debug_htstats_key),
];

/// DEBUG HTSTATS dbid: Redis's dictGetStats of a database's key table and of its expires. The
/// expires are not a table of their own here (each key's node carries its expire time), so
/// the "[Expires HT]" part counts the keys with an expire over the key table's buckets.
fn debug_htstats(ctx: &mut Ctx) -> CmdResult {
    let id = ctx.args.i64(2)?;
    if id < 0 || id as usize >= ctx.ks.dbs.len() { return Err(CmdError::Msg("ERR Out of range database")); }
    let dict = &ctx.ks.dbs[id as usize].dict;
    let mut text = String::from("[Dictionary HT]\n");
    text.push_str(&dict.stats_text(|_| true));
    text.push_str("[Expires HT]\n");
    text.push_str(&dict.stats_text(|n| n.extra().is_some()));
    ctx.reply.verbatim(text.as_bytes(), "txt");
    Ok(())
}

/// DEBUG HTSTATS-KEY key: dictGetStats of the hash table holding a hash, set or sorted set
/// (looked up as OBJECT looks keys up).
fn debug_htstats_key(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(2);
    let (db, now) = (ctx.db, ctx.now_ms);
    let Some(e) = ctx.ks.lookup_object(db, key, now) else { return Err(NO_SUCH_KEY) };
    match e.value.table_stats() {
        Some(text) => ctx.reply.verbatim(text.as_bytes(), "txt"),
        None => return Err(CmdError::Msg("ERR The value stored at the specified key is not represented using an hash table")),
    }
    Ok(())
}

/// DEBUG OOM: an allocation of SIZE_MAX / 2 bytes (Redis's zmalloc of it), which the allocator
/// refuses, then Redis's out-of-memory path: the warning and serverPanic (crash::out_of_memory).
fn debug_oom(ctx: &mut Ctx) -> CmdResult {
    let size = isize::MAX as usize;
    let mut room: Vec<u8> = Vec::new();
    if room.try_reserve_exact(size).is_err() {
        crate::crash::out_of_memory(size);
    }
    drop(room);
    ctx.reply.ok();
    Ok(())
}

/// DEBUG SET-DISABLE-DENY-SCRIPTS <0|1>: lets scripts call `noscript` commands (for tests).
fn debug_set_disable_deny_scripts(ctx: &mut Ctx) -> CmdResult {
    crate::script::call::set_deny_script_disabled(crate::numfmt::atoi(ctx.args.get(2)) as i32 != 0);
    ctx.reply.ok();
    Ok(())
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION <0|1>: RESTORE and RDB loading stop checking CRC64s.
fn debug_set_skip_checksum_validation(ctx: &mut Ctx) -> CmdResult {
    crate::persist::dump::set_skip_checksum_validation(crate::numfmt::atoi(ctx.args.get(2)) != 0);
    ctx.reply.ok();
    Ok(())
}

/// DEBUG STRINGMATCH-TEST: Redis's stringmatchlen fuzz test, on keyfork's glob matcher: ten
/// million random patterns against random strings (up to 31 bytes of 0..127 each). Surviving it
/// is the test (Redis 7.0.15 prints nothing).
fn debug_stringmatch_test(ctx: &mut Ctx) -> CmdResult {
    let random = crate::dict::random_u64;
    let (mut string, mut pattern) = ([0u8; 32], [0u8; 32]);
    for _ in 0..10_000_000 {
        let (slen, plen) = ((random() % 32) as usize, (random() % 32) as usize);
        for b in string.iter_mut().take(slen) { *b = (random() % 128) as u8; }
        for b in pattern.iter_mut().take(plen) { *b = (random() % 128) as u8; }
        std::hint::black_box(crate::glob::glob_match(&pattern[..plen], &string[..slen], false));
    }
    ctx.reply.simple("Apparently Redis did not crash: test passed");
    Ok(())
}

/// DEBUG LISTPACK key: Redis's lpRepr of a listpack-encoded hash or sorted set, printed on
/// standard output (not the log), as Redis does. The key is looked up as OBJECT looks it up
/// (keyspace hits and misses counted, the LRU left alone).
fn debug_listpack(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(2);
    let (db, now, settings) = (ctx.db, ctx.now_ms, ctx.settings);
    let Some(e) = ctx.ks.lookup_object(db, key, now) else { return Err(NO_SUCH_KEY) };
    let listpack = match &e.value {
        Value::Hash(h) => h.is_listpack(),
        Value::ZSet(z) => crate::persist::values::zset_is_listpack(z),
        _ => false,
    };
    if !listpack { return Err(CmdError::Msg("ERR Not a listpack encoded object.")); }
    // The value's RDB body is exactly its listpack, as one string.
    let mut body = Vec::new();
    ValueWriter::new(false, settings).value(&mut body, &e.value);
    let blob = crate::rdb::encoding::Reader::new(&body).read_string().map_err(|_| CmdError::Msg("ERR Not a listpack encoded object."))?;
    let text = crate::rdb::listpack::listpack_repr(&blob, &e.value as *const Value as usize);
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&text);
    let _ = out.flush();
    ctx.reply.simple("Listpack structure printed on stdout");
    Ok(())
}

/// DEBUG OBJECT key: Redis's one-line description of a value. serializedlength is the size of
/// the value's RDB body as a save would write it now; the address is where the value lives.
/// The key is found in the table as it is: a key past its expire time that nothing expired yet
/// is still described (Redis's dictFind; tests use that to see a key is still there).
fn debug_object(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.args.get(2);
    let (db, now, settings) = (ctx.db, ctx.now_ms, ctx.settings);
    let Some(e) = ctx.ks.dbs[db].dict.get_node(key) else { return Err(NO_SUCH_KEY) };
    let mut body = Vec::new();
    ValueWriter::new(settings.rdb_compression != 0, settings).value(&mut body, &e.value);
    let shared = matches!(&e.value, Value::Str(s) if s.is_shared_integer());
    let mut text = format!(
        "Value at:{:#x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        &e.value as *const Value as usize,
        if shared { SHARED_REFCOUNT } else { 1 },
        e.value.encoding(),
        body.len(),
        e.lru(),
        lru_idle_seconds(e.lru(), now),
    );
    if let Value::List(l) = &e.value {
        // quicklist's own fill, fixed when the list was created (ql->fill in Redis).
        let fill = l.fill();
        // Node sizes as Redis keeps them (node->sz), compressed nodes included, read without
        // decompressing anything.
        let (nodes, bytes) = l.node_stats();
        let avg = if nodes == 0 { 0.0 } else { l.len() as f64 / nodes as f64 };
        // ql_compressed says whether the list compresses at all (ql->compress != 0).
        let compressed = (l.compress_depth() != 0) as u8;
        text.push_str(&format!(" ql_nodes:{nodes} ql_avg_node:{avg:.2} ql_listpack_max:{fill} ql_compressed:{compressed} ql_uncompressed_size:{bytes}"));
    }
    ctx.reply.simple(&text);
    Ok(())
}

fn object_type(v: &Value) -> ObjectType {
    match v {
        Value::Str(_) => ObjectType::String,
        Value::List(_) => ObjectType::List,
        Value::Set(_) => ObjectType::Set,
        Value::ZSet(_) => ObjectType::Zset,
        Value::Hash(_) => ObjectType::Hash,
        Value::Stream(_) => ObjectType::Stream,
    }
}

/// Redis's xorObjectDigest: the value's elements (in the encoding's order where order
/// matters) and whether the key has an expire, fed into `d`.
fn digest_entry(mut d: ObjectDigest, e: &Entry) -> ObjectDigest {
    match &e.value {
        Value::Str(s) => s.with_bytes(|b| d.add_ordered(b)),
        Value::List(l) => l.for_each(|item| d.add_ordered(item)),
        Value::Set(s) => s.iter().for_each(|m| m.with_bytes(|b| d.add_set_member(b))),
        Value::ZSet(z) => z.iter().for_each(|(m, score)| d.add_zset_member(m, score)),
        Value::Hash(h) => h.iter().for_each(|(f, v)| d.add_hash_field(f, v)),
        // Entries in ID order, each with its fields and values (consumer groups do not count).
        Value::Stream(s) => {
            let mut buf = [0u8; 20];
            for e in s.range(StreamId::ZERO, StreamId::MAX, false) {
                d.add_stream_id(e.id.ms, e.id.seq);
                for (field, value) in e.fields() {
                    d.add_ordered(field.as_bytes(&mut buf));
                    d.add_ordered(value.as_bytes(&mut buf));
                }
            }
        }
    }
    if e.has_expire() { d.add_expire(); }
    d
}

fn unknown_subcommand(name: &str) -> CmdError {
    CmdError::Owned(format!("ERR unknown subcommand or wrong number of arguments for '{name}'. Try DEBUG HELP."))
}

/// DEBUG DIGEST: over every database, logically expired keys included (as Redis walks its
/// dicts directly).
fn debug_digest(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 2 { return Err(unknown_subcommand("digest")); }
    ctx.reply.simple(&keyspace_digest(ctx.ks));
    Ok(())
}

/// DEBUG DIGEST's value: one hex digest of every key, value and whether it expires, whatever
/// the order of the keys in their tables.
pub(crate) fn keyspace_digest(ks: &crate::keyspace::Keyspace) -> String {
    let mut total = DatasetDigest::new();
    for (id, db) in ks.dbs.iter().enumerate() {
        for e in db.dict.nodes() {
            let d = digest_entry(ObjectDigest::for_key(e.key(), object_type(&e.value)), e);
            total.add_key(id as u32, &d.finish());
        }
    }
    to_hex(&total.finish())
}

/// DEBUG DIGEST-VALUE key...: one digest per key, 40 zeros for a missing key; expired keys
/// are still digested (no lookup, as Redis).
fn debug_digest_value(ctx: &mut Ctx) -> CmdResult {
    ctx.reply.array(ctx.args.len() - 2);
    let dict = &ctx.ks.dbs[ctx.db].dict;
    for key in ctx.args.from(2) {
        let digest = match dict.get_node(key) {
            Some(e) => digest_entry(ObjectDigest::for_value(object_type(&e.value)), e).finish(),
            None => [0u8; 20],
        };
        ctx.reply.simple(&to_hex(&digest));
    }
    Ok(())
}


/// DEBUG SET-ACTIVE-EXPIRE 0|1 (atoi: anything but a non-zero number disables it; the int
/// result is truncated to 32 bits as Redis stores it in an int).
fn debug_set_active_expire(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 3 { return Err(unknown_subcommand("set-active-expire")); }
    ctx.ks.active_expire_enabled = crate::numfmt::atoi(ctx.args.get(2)) as i32 != 0;
    ctx.reply.ok();
    Ok(())
}

/// Redis's getPositiveLongFromObjectOrReply: one message for "not a number" and "negative".
fn positive_arg(ctx: &Ctx, i: usize) -> Result<i64, CmdError> {
    match ctx.args.i64(i) {
        Ok(v) if v >= 0 => Ok(v),
        _ => Err(CmdError::Msg("ERR value is out of range, must be positive")),
    }
}

/// DEBUG POPULATE count [prefix] [size]: adds `prefix:N` (default `key:N`) holding `value:N`,
/// zero-padded or truncated to `size` bytes when given; existing keys are left alone.
/// The key text is cut at 127 bytes and the prefix at its first NUL, as Redis's snprintf does.
fn debug_populate(ctx: &mut Ctx) -> CmdResult {
    let argc = ctx.args.len();
    if !(3..=5).contains(&argc) { return Err(unknown_subcommand("populate")); }
    let count = positive_arg(ctx, 2)?;
    // As Redis, the table is sized for `count` keys before anything else (even a bad size).
    ctx.ks.dbs[ctx.db].dict.expand(usize::try_from(count).unwrap_or(usize::MAX));
    let size = if argc == 5 { positive_arg(ctx, 4)? as usize } else { 0 };
    let prefix: &[u8] = if argc >= 4 { ctx.args.get(3) } else { b"key" };
    let prefix = &prefix[..prefix.iter().position(|&c| c == 0).unwrap_or(prefix.len())];
    let (db, now) = (ctx.db, ctx.now_ms);
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut value = Vec::with_capacity(size.max(26));
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        crate::numfmt::push_i64(&mut key, n);
        key.truncate(127);
        if ctx.ks.lookup(db, &key, now).is_some() { continue; }
        value.clear();
        value.extend_from_slice(b"value:");
        crate::numfmt::push_i64(&mut value, n);
        if size > 0 { value.resize(size, 0); }
        // createStringObject: embstr or raw by length, never int-encoded.
        ctx.ks.set(db, &key, Value::Str(StrVal::from_text(&value)), false, now);
        ctx.ks.signal_modified(db, &key);
    }
    ctx.reply.ok();
    Ok(())
}

