//! The RDB writer: the keyspace as Redis 7.0's rdbSaveRio writes it, byte for byte where the
//! in-memory encodings match Redis's (same listpack bytes, same intset width, same LZF output).
//!
//! Layout: `REDIS0010`, AUX fields (redis-ver, redis-bits, ctime, used-mem, aof-base), then for
//! each non-empty database SELECTDB + RESIZEDB and its keys (EXPIRETIME_MS when the key has a
//! TTL, the type byte, the key, the value), EOF, and the CRC64 of everything before it (0 when
//! checksums are off). Expired keys that were not reclaimed yet are written too, as Redis does;
//! the loader drops them.
//!
//! Values are serialized into a memory buffer (`ValueWriter`) that is handed to the sink in
//! ~1 MB writes; the CRC is folded over each chunk as it leaves. Serialization of one key never
//! depends on another, so the keyspace can later be cut into ranges serialized by several
//! threads into their own buffers and written (and checksummed) in order.

use std::io::{self, Write};

use crate::keyspace::{Entry, Keyspace, NO_EXPIRE};
use crate::rdb::{
    crc64, opcode, quicklist_container, rdb_type, write_double_binary, write_i64_as_string, write_len, write_ms_time,
    write_string, ListpackBuilder, LzfCompressor, RDB_VERSION,
};
use crate::settings::Settings;
use crate::types::string::StrVal;
use crate::types::Value;

use super::values;

/// The version string written in the `redis-ver` AUX field (what keyfork is compatible with).
pub const REDIS_VERSION: &str = "7.0.15";

/// Bytes accumulated before one write to the sink.
const FLUSH_AT: usize = 1 << 20;
/// Progress is reported every this many keys (the callback throttles further).
const PROGRESS_EVERY_KEYS: u64 = 128;

#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    /// rdbcompression: LZF for strings longer than 20 bytes when it saves space.
    pub compress: bool,
    /// rdbchecksum: CRC64 trailer (0 otherwise).
    pub checksum: bool,
    /// rdb-key-save-delay in microseconds, slept after each key as Redis's debugDelay does.
    pub key_save_delay_us: i64,
}

/// The AUX fields that vary from one save to the next.
#[derive(Debug, Clone, Copy)]
pub struct AuxFields {
    /// Unix seconds.
    pub ctime: i64,
    pub used_mem: u64,
}

impl AuxFields {
    /// ctime = now, used-mem = this process's resident size (keyfork's nearest equivalent of
    /// Redis's allocator count).
    pub fn now() -> Self {
        let ctime = crate::now_ms() / 1000;
        AuxFields { ctime, used_mem: resident_bytes() }
    }
}

/// Resident set size from /proc/self/statm (0 when unavailable).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * crate::os::page_size() as u64)
}

/// Serializes values into a byte buffer with reusable scratch state (LZF table, listpack and
/// intset builders), so a save allocates nothing per key once warmed up.
pub struct ValueWriter {
    lzf: Option<LzfCompressor>,
    lp: ListpackBuilder,
    blob: Vec<u8>,
    /// list-max-listpack-size, deciding where list nodes split (as Redis's quicklist did).
    list_fill: i64,
}

impl ValueWriter {
    pub fn new(compress: bool, settings: &Settings) -> Self {
        ValueWriter {
            lzf: compress.then(LzfCompressor::new),
            lp: ListpackBuilder::with_capacity(8192),
            blob: Vec::with_capacity(8192),
            list_fill: settings.list_max_listpack_size,
        }
    }

    /// rdbSaveRawString: integer form, LZF or raw.
    #[inline]
    fn string(&mut self, out: &mut Vec<u8>, s: &[u8]) {
        write_string(out, s, self.lzf.as_mut());
    }

    /// The finished listpack in `self.lp`, written as one string.
    fn listpack_blob(&mut self, out: &mut Vec<u8>) {
        let blob = self.lp.finish();
        write_string(out, blob, self.lzf.as_mut());
    }

    /// One key as rdbSaveKeyValuePair writes it: [EXPIRETIME_MS time] type key value.
    pub fn key_value(&mut self, out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
        if entry.expire_at != NO_EXPIRE {
            out.push(opcode::EXPIRETIME_MS);
            write_ms_time(out, entry.expire_at);
        }
        out.push(type_byte(&entry.value));
        self.string(out, key);
        self.value(out, &entry.value);
    }

    /// rdbSaveObject: the value's body (after its type byte).
    pub fn value(&mut self, out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::Str(s) => self.str_value(out, s),
            Value::List(l) => self.list(out, l),
            Value::Set(s) => self.set(out, s),
            Value::Hash(h) => self.hash(out, h),
            Value::ZSet(z) => self.zset(out, z),
        }
    }

    fn str_value(&mut self, out: &mut Vec<u8>, s: &StrVal) {
        match s {
            // rdbSaveLongLongAsStringObject: 32-bit integer form or decimal text.
            StrVal::Int(n) => write_i64_as_string(out, *n),
            StrVal::Emb(b) => self.string(out, b),
            StrVal::Raw(b) => self.string(out, b),
        }
    }

    fn list(&mut self, out: &mut Vec<u8>, l: &crate::types::list::List) {
        let mut nodes = values::ListNodes::new(self.list_fill);
        // Node boundaries are computed first (the node count precedes the nodes).
        let plan = nodes.plan(l);
        write_len(out, plan.len() as u64);
        let mut items = values::list_items(l);
        for node in plan {
            match node {
                values::NodePlan::Plain => {
                    write_len(out, quicklist_container::PLAIN);
                    if let Some(item) = items.next() {
                        self.string(out, item);
                    }
                }
                values::NodePlan::Packed(count) => {
                    write_len(out, quicklist_container::PACKED);
                    self.lp.reset();
                    for item in items.by_ref().take(count) {
                        self.lp.push_bytes(item);
                    }
                    self.listpack_blob(out);
                }
            }
        }
    }

    fn set(&mut self, out: &mut Vec<u8>, s: &crate::types::set::Set) {
        match s.intset_width() {
            Some(width) => {
                self.blob.clear();
                encode_intset_with_width(&mut self.blob, width, s.len(), s.iter().map(|m| match m {
                    crate::types::set::Member::Int(v) => v,
                    // An intset only holds integers; the Bytes arm cannot be reached.
                    crate::types::set::Member::Bytes(_) => 0,
                }));
                write_string(out, &self.blob, self.lzf.as_mut());
            }
            None => {
                write_len(out, s.len() as u64);
                for m in s.iter() {
                    m.with_bytes(|b| write_string(out, b, self.lzf.as_mut()));
                }
            }
        }
    }

    fn hash(&mut self, out: &mut Vec<u8>, h: &crate::types::hash::Hash) {
        if h.is_listpack() {
            self.lp.reset();
            for (f, v) in h.iter() {
                self.lp.push_bytes(f);
                self.lp.push_bytes(v);
            }
            self.listpack_blob(out);
        } else {
            write_len(out, h.len() as u64);
            for (f, v) in h.iter() {
                self.string(out, f);
                self.string(out, v);
            }
        }
    }

    fn zset(&mut self, out: &mut Vec<u8>, z: &crate::types::zset::ZSet) {
        if values::zset_is_listpack(z) {
            self.lp.reset();
            let mut score_text = Vec::with_capacity(32);
            values::zset_for_each_ascending(z, |member, score| {
                self.lp.push_bytes(member);
                score_text.clear();
                push_listpack_score(&mut score_text, score);
                self.lp.push_bytes(&score_text);
            });
            self.listpack_blob(out);
        } else {
            // Greatest to smallest, as Redis walks its skiplist from the tail: the loader then
            // always inserts at the head.
            write_len(out, values::zset_len(z) as u64);
            values::zset_for_each_descending(z, |member, score| {
                write_string(out, member, self.lzf.as_mut());
                write_double_binary(out, score);
            });
        }
    }
}

/// rdbSaveObjectType: the type byte for the value's current encoding.
pub fn type_byte(v: &Value) -> u8 {
    match v {
        Value::Str(_) => rdb_type::STRING,
        Value::List(_) => rdb_type::LIST_QUICKLIST_2,
        Value::Set(s) => if s.intset_width().is_some() { rdb_type::SET_INTSET } else { rdb_type::SET },
        Value::Hash(h) => if h.is_listpack() { rdb_type::HASH_LISTPACK } else { rdb_type::HASH },
        Value::ZSet(z) => if values::zset_is_listpack(z) { rdb_type::ZSET_LISTPACK } else { rdb_type::ZSET_2 },
    }
}

/// An intset blob at an explicit width (a set keeps the width it was widened to, as Redis's
/// intset does, so the saved bytes match Redis's even after removals).
fn encode_intset_with_width(out: &mut Vec<u8>, width: u8, count: usize, values: impl Iterator<Item = i64>) {
    out.reserve(8 + width as usize * count);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for v in values {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

/// A score as Redis 7.0's zzlInsertAt stores it (d2string): integral values within ±2^52 as
/// integers, others as `%.17g`, "-0" for negative zero, "inf"/"-inf".
pub fn push_listpack_score(out: &mut Vec<u8>, score: f64) {
    const LIMIT: f64 = 4503599627370496.0; // 2^52
    if score == 0.0 {
        out.extend_from_slice(if score.is_sign_negative() { b"-0" } else { b"0" });
    } else if score.is_finite() && score > -LIMIT + 1.0 && score < LIMIT && score == (score as i64) as f64 {
        crate::rdb::push_i64(out, score as i64);
    } else {
        crate::numfmt::push_double(out, score);
    }
}

/// Redis's debugDelay: a positive value sleeps that many microseconds; a negative one sleeps
/// 1 µs with probability 1/|value| (statistically shorter sleeps).
pub fn debug_delay(us: i64) {
    let us = if us < 0 { if crate::dict::random_u64() % us.unsigned_abs() == 0 { 1 } else { 0 } } else { us };
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us as u64));
    }
}

/// A buffer that drains into a sink in large writes, folding each chunk into the CRC64.
struct ChunkedSink<'a, W: Write> {
    sink: &'a mut W,
    buf: Vec<u8>,
    crc: u64,
    checksum: bool,
    written: u64,
}

impl<'a, W: Write> ChunkedSink<'a, W> {
    fn new(sink: &'a mut W, checksum: bool) -> Self {
        ChunkedSink { sink, buf: Vec::with_capacity(FLUSH_AT + (FLUSH_AT >> 2)), crc: 0, checksum, written: 0 }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.sink.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    #[inline]
    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT { self.flush() } else { Ok(()) }
    }

    /// Bytes produced so far, flushed or not.
    fn position(&self) -> u64 {
        self.written + self.buf.len() as u64
    }
}

fn aux(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.push(opcode::AUX);
    write_string(out, key.as_bytes(), None);
    write_string(out, value, None);
}

fn aux_int(out: &mut Vec<u8>, key: &str, value: i64) {
    let mut text = Vec::with_capacity(20);
    crate::rdb::push_i64(&mut text, value);
    aux(out, key, &text);
}

/// The whole RDB file into `sink`. `progress(keys_done, bytes_done)` is called every few keys.
/// Returns (keys written, bytes written).
pub fn write_rdb<W: Write>(
    ks: &Keyspace,
    settings: &Settings,
    sink: &mut W,
    opts: &SaveOptions,
    aux_fields: &AuxFields,
    mut progress: impl FnMut(u64, u64),
) -> io::Result<(u64, u64)> {
    let mut out = ChunkedSink::new(sink, opts.checksum);
    out.buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    aux(&mut out.buf, "redis-ver", REDIS_VERSION.as_bytes());
    aux_int(&mut out.buf, "redis-bits", 64);
    aux_int(&mut out.buf, "ctime", aux_fields.ctime);
    aux_int(&mut out.buf, "used-mem", aux_fields.used_mem as i64);
    aux_int(&mut out.buf, "aof-base", 0);

    let mut writer = ValueWriter::new(opts.compress, settings);
    let mut keys: u64 = 0;
    for (db_id, db) in ks.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        out.buf.push(opcode::SELECTDB);
        write_len(&mut out.buf, db_id as u64);
        out.buf.push(opcode::RESIZEDB);
        write_len(&mut out.buf, db.dict.len() as u64);
        write_len(&mut out.buf, db.expires as u64);
        for (key, entry) in db.dict.iter() {
            writer.key_value(&mut out.buf, key, entry);
            out.maybe_flush()?;
            keys += 1;
            if opts.key_save_delay_us != 0 {
                debug_delay(opts.key_save_delay_us);
            }
            // Every key when saves are slowed down for tests, so progress shows at once.
            if keys % PROGRESS_EVERY_KEYS == 0 || opts.key_save_delay_us != 0 {
                progress(keys, out.position());
            }
        }
    }
    out.buf.push(opcode::EOF);
    out.flush()?;
    let crc = if opts.checksum { out.crc } else { 0 };
    out.buf.extend_from_slice(&crc.to_le_bytes());
    out.flush()?;
    progress(keys, out.written);
    Ok((keys, out.written))
}
