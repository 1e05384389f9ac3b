//! The RDB writer: the keyspace as Redis 7.0's rdbSaveRio writes it, byte for byte where the
//! in-memory encodings match Redis's (same listpack bytes, same intset width, same LZF output).
//!
//! Layout: `REDIS0010`, AUX fields (redis-ver, redis-bits, ctime, used-mem, the replication
//! position when there is one, aof-base), then for
//! each non-empty database SELECTDB + RESIZEDB and its keys (EXPIRETIME_MS when the key has a
//! TTL, the type byte, the key, the value), EOF, and the CRC64 of everything before it (0 when
//! checksums are off). Expired keys that were not reclaimed yet are written too, as Redis does;
//! the loader drops them.
//!
//! Values are serialized into chunks of ~128 KB (`Chunk`) that carry the CRC64 of their own
//! bytes; the sink writes them in order and chains the CRCs with `crc64_combine`. Serialization
//! of one key never depends on another, so a large database is cut into bucket ranges that
//! several threads serialize into their own chunks (`parallel_save`), written as they are
//! finished: the file holds the keys a single thread writes, in another order.

use std::io::{self, Write};

use crate::keyspace::{lru_idle_seconds, AccessClock, Entry, Keyspace, Table};
use crate::rdb::crc64::crc64_combine;
use crate::rdb::numeric::{format_double_g17, G17_BUF_LEN};
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

/// Bytes accumulated before one write to the sink (also the unit a parallel worker hands over).
/// In a forked child every buffer page it touches is private memory, reported as copy-on-write
/// (rdb_last_cow_size) like the pages the parent copies: with up to `CHUNKS_QUEUED` + 2 chunks
/// per worker, 512 KB chunks made ~4 MB of the child's ~6 MB of its own (docs/handover/cow.md).
pub(super) const CHUNK_BYTES: usize = 128 << 10;
/// The CRC is folded every this many new bytes, while they are still in cache.
const CRC_STEP: usize = 32 << 10;
/// Databases smaller than this are written by one thread (starting workers costs more).
const PARALLEL_MIN_KEYS: usize = 16 << 10;
/// More serializing threads than this would only queue behind the one writer.
const MAX_SAVE_THREADS: usize = 8;
/// Progress is reported every this many keys (the callback throttles further).
const PROGRESS_EVERY_KEYS: u64 = 128;

#[derive(Debug, Clone, Copy, Default)]
pub struct SaveOptions {
    /// rdbcompression: LZF for strings longer than 20 bytes when it saves space.
    pub compress: bool,
    /// rdbchecksum: CRC64 trailer (0 otherwise).
    pub checksum: bool,
    /// rdb-key-save-delay in microseconds, slept after each key as Redis's debugDelay does.
    pub key_save_delay_us: i64,
    /// A filtered RDB for a replica (REPLCONF rdb-filter-only): without the databases, and/or
    /// without the function libraries (Redis's SLAVE_REQ_RDB_EXCLUDE_DATA / _FUNCTIONS).
    pub exclude_data: bool,
    pub exclude_functions: bool,
}

/// The AUX fields that vary from one save to the next.
#[derive(Debug, Clone, Copy)]
pub struct AuxFields {
    /// Unix seconds.
    pub ctime: i64,
    pub used_mem: u64,
    /// The file is an AOF base (the `aof-base` AUX field is 1, as Redis's RDBFLAGS_AOF_PREAMBLE).
    pub aof_base: bool,
    /// The replication position the data corresponds to (Redis's rdbSaveInfo), written when the
    /// server has a replication history: a replica loading the file can PSYNC from there.
    pub repl: Option<ReplAux>,
}

/// `repl-stream-db`, `repl-id` and `repl-offset`.
#[derive(Debug, Clone, Copy)]
pub struct ReplAux {
    pub stream_db: i64,
    pub id: [u8; 40],
    pub offset: i64,
}

impl AuxFields {
    /// ctime = now, used-mem = this process's resident size (keyfork's nearest equivalent of
    /// Redis's allocator count).
    pub fn now() -> Self {
        let ctime = crate::now_ms() / 1000;
        AuxFields { ctime, used_mem: resident_bytes(), aof_base: false, repl: None }
    }

    pub fn with_repl(mut self, repl: Option<ReplAux>) -> Self {
        self.repl = repl;
        self
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
    /// What each key carries of its access clock: IDLE under an LRU policy, FREQ under an
    /// LFU one, nothing otherwise (rdbSaveKeyValuePair).
    clock: SavedClock,
}

#[derive(Clone, Copy)]
enum SavedClock {
    None,
    Idle { now_ms: i64 },
    Freq { clock: AccessClock, now_ms: i64 },
}

impl SavedClock {
    fn for_policy(settings: &Settings) -> SavedClock {
        let policy = settings.maxmemory_policy;
        let now_ms = crate::now_ms();
        if policy.is_lru() {
            SavedClock::Idle { now_ms }
        } else if policy.is_lfu() {
            SavedClock::Freq { clock: AccessClock { lfu: true, lfu_log_factor: settings.lfu_log_factor, lfu_decay_time: settings.lfu_decay_time }, now_ms }
        } else {
            SavedClock::None
        }
    }
}

impl ValueWriter {
    pub fn new(compress: bool, settings: &Settings) -> Self {
        ValueWriter {
            lzf: compress.then(LzfCompressor::new),
            lp: ListpackBuilder::with_capacity(8192),
            blob: Vec::with_capacity(8192),
            clock: SavedClock::for_policy(settings),
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

    /// One key as rdbSaveKeyValuePair writes it: [EXPIRETIME_MS time] [IDLE secs | FREQ
    /// counter] type key value.
    pub fn key_value(&mut self, out: &mut Vec<u8>, entry: &Entry) {
        if entry.has_expire() {
            out.push(opcode::EXPIRETIME_MS);
            write_ms_time(out, entry.expire_at());
        }
        match self.clock {
            SavedClock::None => {}
            SavedClock::Idle { now_ms } => {
                out.push(opcode::IDLE);
                write_len(out, lru_idle_seconds(entry.lru(), now_ms) as u64);
            }
            SavedClock::Freq { clock, now_ms } => {
                out.push(opcode::FREQ);
                out.push(clock.lfu_counter(entry.lru(), now_ms) as u8);
            }
        }
        out.push(type_byte(&entry.value));
        self.string(out, entry.key());
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
            Value::Stream(st) => self.stream(out, st),
        }
    }

    fn str_value(&mut self, out: &mut Vec<u8>, s: &StrVal) {
        match s {
            // rdbSaveLongLongAsStringObject: 32-bit integer form or decimal text.
            StrVal::Int(n) | StrVal::OwnInt(n) => write_i64_as_string(out, *n),
            StrVal::Small { len, bytes } => self.string(out, &bytes[..*len as usize]),
            StrVal::Emb(b) => self.string(out, b),
            StrVal::Raw(b) => self.string(out, b),
        }
    }

    fn list(&mut self, out: &mut Vec<u8>, l: &crate::types::list::List) {
        use crate::types::list::RdbNode;
        // The node count precedes the nodes; counting them reads no element.
        write_len(out, l.rdb_nodes().count() as u64);
        for node in l.rdb_nodes() {
            match node {
                RdbNode::Plain(item) => {
                    write_len(out, quicklist_container::PLAIN);
                    self.string(out, item);
                }
                RdbNode::Packed(items) => {
                    write_len(out, quicklist_container::PACKED);
                    self.lp.reset();
                    for item in items {
                        self.lp.push_bytes(item);
                    }
                    self.listpack_blob(out);
                }
                // rdbSaveObject writes a compressed node's LZF bytes as they are, whatever
                // rdbcompression says (rdbSaveLzfBlob): a copy, nothing decompressed.
                RdbNode::Compressed { plain, lzf, len } => {
                    write_len(out, if plain { quicklist_container::PLAIN } else { quicklist_container::PACKED });
                    crate::rdb::write_lzf_blob(out, lzf, len);
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
            let lp = &mut self.lp;
            values::zset_for_each_ascending(z, |member, score| {
                lp.push_bytes(member);
                push_listpack_score_entry(lp, score);
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

impl ValueWriter {
    /// RDB_TYPE_STREAM_LISTPACKS_2 as Redis 7.0 writes it: the nodes (master ID, listpack),
    /// the length, last, first and max-deleted IDs, entries added, then each consumer group
    /// (name, last ID, entries read, PEL with delivery times and counts, consumers with their
    /// seen times and the IDs they own).
    fn stream(&mut self, out: &mut Vec<u8>, s: &crate::types::stream::Stream) {
        write_len(out, s.node_keys());
        s.nodes(|key, lp| {
            write_string(out, key, self.lzf.as_mut());
            write_string(out, lp, self.lzf.as_mut());
        });
        for v in [s.length, s.last_id.ms, s.last_id.seq, s.first_id.ms, s.first_id.seq] {
            write_len(out, v);
        }
        for v in [s.max_deleted_entry_id.ms, s.max_deleted_entry_id.seq, s.entries_added] {
            write_len(out, v);
        }
        write_len(out, s.groups.len() as u64);
        for (name, g) in &s.groups {
            write_string(out, name, self.lzf.as_mut());
            write_len(out, g.last_id.ms);
            write_len(out, g.last_id.seq);
            write_len(out, g.entries_read as u64);
            write_len(out, g.pel.len() as u64);
            for (id, nack) in &g.pel {
                out.extend_from_slice(&id.key());
                write_ms_time(out, nack.delivery_time);
                write_len(out, nack.delivery_count);
            }
            write_len(out, g.consumers.len() as u64);
            for (cname, c) in &g.consumers {
                write_string(out, cname, self.lzf.as_mut());
                write_ms_time(out, c.seen_time);
                write_len(out, c.pel.len() as u64);
                for id in &c.pel {
                    out.extend_from_slice(&id.key());
                }
            }
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
        Value::Stream(_) => rdb_type::STREAM_LISTPACKS_2,
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

/// The integer Redis 7.0's d2string prints a score as (integral values within ±2^52, never
/// negative zero), or None when it prints `%.17g` (or "-0", "inf", "-inf").
#[inline]
fn listpack_score_as_int(score: f64) -> Option<i64> {
    const LIMIT: f64 = 4503599627370496.0; // 2^52
    let integral = score > -LIMIT + 1.0 && score < LIMIT && score == (score as i64) as f64;
    (integral && !(score == 0.0 && score.is_sign_negative())).then_some(score as i64)
}

/// A score as Redis 7.0's zzlInsertAt stores it (d2string): integral values within ±2^52 as
/// integers, others as `%.17g`, "-0" for negative zero, "inf"/"-inf".
pub fn push_listpack_score(out: &mut Vec<u8>, score: f64) {
    match listpack_score_as_int(score) {
        Some(v) => crate::rdb::push_i64(out, v),
        None => {
            let mut text = [0u8; G17_BUF_LEN];
            let n = format_double_g17(score, &mut text);
            out.extend_from_slice(&text[..n]);
        }
    }
}

/// Appends a score's listpack entry: what `push_listpack_score`'s text becomes once the
/// listpack has tried it as an integer, without the text round trip for integral scores.
#[inline]
fn push_listpack_score_entry(lp: &mut ListpackBuilder, score: f64) {
    match listpack_score_as_int(score) {
        Some(v) => lp.push_int(v),
        None => {
            let mut text = [0u8; G17_BUF_LEN];
            let n = format_double_g17(score, &mut text);
            lp.push_bytes(&text[..n]);
        }
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

/// How many keys ahead of the one being serialized the walk hints its value's memory.
const VALUES_AHEAD: usize = 8;

/// The keyspace walk with memory-level parallelism. The dict walk itself hints each node well
/// before it is reached (`Dict::nodes_in_buckets_prefetching`); this keeps the `VALUES_AHEAD` next
/// entries in a ring and, as an entry joins it (its node has arrived by then), hints the
/// memory its serialization starts with: a string's bytes, a collection's header. Those
/// misses then overlap with the serialization of the keys before it instead of stalling it.
pub(super) struct ReadAhead<'a, I: Iterator<Item = &'a Entry>> {
    inner: I,
    ring: std::collections::VecDeque<&'a Entry>,
    exhausted: bool,
}

impl<'a, I: Iterator<Item = &'a Entry>> ReadAhead<'a, I> {
    pub fn new(inner: I) -> Self {
        ReadAhead { inner, ring: std::collections::VecDeque::with_capacity(VALUES_AHEAD + 1), exhausted: false }
    }

    #[inline]
    fn pull(&mut self) {
        match self.inner.next() {
            Some(item) => {
                hint_value(&item.value);
                self.ring.push_back(item);
            }
            None => self.exhausted = true,
        }
    }
}

impl<'a, I: Iterator<Item = &'a Entry>> Iterator for ReadAhead<'a, I> {
    type Item = &'a Entry;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while !self.exhausted && self.ring.len() <= VALUES_AHEAD {
            self.pull();
        }
        self.ring.pop_front()
    }
}

/// Bytes of a string value hinted ahead (LZF then streams through the rest).
const STRING_HINT_BYTES: usize = 64;

/// Hints (or, for collections, loads: their buffers are private to their types) the memory a
/// value's serialization starts with. Strings up to 15 bytes and integers live in the node.
#[inline]
fn hint_value(v: &Value) {
    let touched = match v {
        Value::Str(StrVal::Int(_) | StrVal::OwnInt(_) | StrVal::Small { .. }) => return,
        Value::Str(StrVal::Emb(b)) => return crate::prefetch::prefetch_bytes(b, STRING_HINT_BYTES),
        Value::Str(StrVal::Raw(b)) => return crate::prefetch::prefetch_bytes(b, STRING_HINT_BYTES),
        Value::List(l) => return l.prefetch_start(),
        Value::Stream(_) => return,
        Value::Hash(h) => h.len(),
        Value::Set(s) => s.len(),
        Value::ZSet(z) => values::zset_len(z),
    };
    std::hint::black_box(touched);
}

/// A piece of the file being built, with the CRC64 of its bytes folded as they are appended
/// (every CRC_STEP bytes, while they are still in cache), so whoever writes it to the file
/// never reads it again: the file's CRC is chained from the pieces' (crc64_combine).
pub(super) struct Chunk {
    pub bytes: Vec<u8>,
    crc: u64,
    crc_done: usize,
    checksum: bool,
    /// Keys whose bytes are in this chunk.
    pub keys: u64,
}

impl Chunk {
    /// A chunk that appends to `bytes` after clearing it (recycled buffers keep their capacity).
    pub fn new(mut bytes: Vec<u8>, checksum: bool) -> Self {
        bytes.clear();
        Chunk { bytes, crc: 0, crc_done: 0, checksum, keys: 0 }
    }

    /// A buffer with room for a full chunk and the key that overflows it.
    pub fn fresh_buffer() -> Vec<u8> {
        Vec::with_capacity(CHUNK_BYTES + (CHUNK_BYTES >> 2))
    }

    /// Call after each key's bytes were appended.
    #[inline]
    pub fn key_done(&mut self) {
        self.keys += 1;
        if self.bytes.len() - self.crc_done >= CRC_STEP {
            self.fold_crc();
        }
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.bytes.len() >= CHUNK_BYTES
    }

    /// Folds the bytes appended since the last fold into the CRC.
    pub fn fold_crc(&mut self) {
        if self.checksum {
            self.crc = crc64(self.crc, &self.bytes[self.crc_done..]);
        }
        self.crc_done = self.bytes.len();
    }

    fn reset(&mut self) {
        self.bytes.clear();
        self.crc = 0;
        self.crc_done = 0;
        self.keys = 0;
    }
}

/// The destination file: takes chunks in file order, chains their CRCs, counts keys and bytes.
pub(super) struct RdbSink<'a, W: Write> {
    sink: &'a mut W,
    crc: u64,
    /// Bytes written to the sink.
    pub written: u64,
    /// Keys in the chunks written.
    pub keys: u64,
}

impl<'a, W: Write> RdbSink<'a, W> {
    fn new(sink: &'a mut W) -> Self {
        RdbSink { sink, crc: 0, written: 0, keys: 0 }
    }

    /// Writes the chunk and empties it for reuse.
    pub fn put(&mut self, chunk: &mut Chunk) -> io::Result<()> {
        chunk.fold_crc();
        if !chunk.bytes.is_empty() {
            self.sink.write_all(&chunk.bytes)?;
        }
        self.crc = crc64_combine(self.crc, chunk.crc, chunk.bytes.len() as u64);
        self.written += chunk.bytes.len() as u64;
        self.keys += chunk.keys;
        chunk.reset();
        Ok(())
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

/// Threads that serialize keys in a save: one per core the process may run on.
pub fn default_save_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_SAVE_THREADS)
}

/// The whole RDB file into `sink`. `progress(keys_done, bytes_done)` is called every few keys.
/// Returns (keys written, bytes written).
pub fn write_rdb<W: Write>(
    ks: &Keyspace,
    settings: &Settings,
    sink: &mut W,
    opts: &SaveOptions,
    aux_fields: &AuxFields,
    progress: impl FnMut(u64, u64),
) -> io::Result<(u64, u64)> {
    write_rdb_with_threads(ks, settings, sink, opts, aux_fields, default_save_threads(), progress)
}

/// `write_rdb` with an explicit number of serializing threads. Large databases are cut into
/// bucket ranges encoded by `threads` workers and written as they are finished (the keys come
/// in bucket order only from one thread). A single thread is used when `threads` is 1, when
/// `rdb-key-save-delay` is set (a test aid that wants keys written one by one), and for small
/// databases.
pub fn write_rdb_with_threads<W: Write>(
    ks: &Keyspace,
    settings: &Settings,
    sink: &mut W,
    opts: &SaveOptions,
    aux_fields: &AuxFields,
    threads: usize,
    mut progress: impl FnMut(u64, u64),
) -> io::Result<(u64, u64)> {
    let mut out = RdbSink::new(sink);
    let mut chunk = Chunk::new(Chunk::fresh_buffer(), opts.checksum);
    chunk.bytes.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    aux(&mut chunk.bytes, "redis-ver", REDIS_VERSION.as_bytes());
    aux_int(&mut chunk.bytes, "redis-bits", 64);
    aux_int(&mut chunk.bytes, "ctime", aux_fields.ctime);
    aux_int(&mut chunk.bytes, "used-mem", aux_fields.used_mem as i64);
    if let Some(repl) = &aux_fields.repl {
        aux_int(&mut chunk.bytes, "repl-stream-db", repl.stream_db);
        aux(&mut chunk.bytes, "repl-id", &repl.id);
        aux_int(&mut chunk.bytes, "repl-offset", repl.offset);
    }
    aux_int(&mut chunk.bytes, "aof-base", aux_fields.aof_base as i64);
    // Function libraries come after the AUX fields, before the databases (rdbSaveFunctions).
    let mut lzf = opts.compress.then(LzfCompressor::new);
    let libraries = if opts.exclude_functions { Vec::new() } else { crate::script::functions::library_codes() };
    for code in libraries {
        chunk.bytes.push(opcode::FUNCTION2);
        write_string(&mut chunk.bytes, &code, lzf.as_mut());
    }

    let mut writer = ValueWriter::new(opts.compress, settings);
    let dbs = if opts.exclude_data { &ks.dbs[..0] } else { &ks.dbs[..] };
    for (db_id, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        chunk.bytes.push(opcode::SELECTDB);
        write_len(&mut chunk.bytes, db_id as u64);
        chunk.bytes.push(opcode::RESIZEDB);
        write_len(&mut chunk.bytes, db.dict.len() as u64);
        write_len(&mut chunk.bytes, db.expires as u64);
        if threads > 1 && opts.key_save_delay_us == 0 && db.dict.len() >= PARALLEL_MIN_KEYS {
            // The header and SELECTDB go first; the workers' chunks follow.
            out.put(&mut chunk)?;
            let job = super::parallel_save::DbJob { dict: &db.dict, settings, opts, threads };
            if super::parallel_save::write_db(&job, &mut out, &mut progress)? {
                continue;
            }
        }
        write_db_serial(&db.dict, &mut writer, opts, &mut chunk, &mut out, &mut progress)?;
    }
    chunk.bytes.push(opcode::EOF);
    out.put(&mut chunk)?;
    let crc = if opts.checksum { out.crc } else { 0 };
    chunk.bytes.extend_from_slice(&crc.to_le_bytes());
    out.put(&mut chunk)?;
    progress(out.keys, out.written);
    Ok((out.keys, out.written))
}

/// One database's keys by the calling thread, appended to `chunk`.
fn write_db_serial<W: Write>(
    dict: &Table,
    writer: &mut ValueWriter,
    opts: &SaveOptions,
    chunk: &mut Chunk,
    out: &mut RdbSink<'_, W>,
    progress: &mut impl FnMut(u64, u64),
) -> io::Result<()> {
    for entry in ReadAhead::new(dict.nodes_in_buckets_prefetching(0..usize::MAX)) {
        writer.key_value(&mut chunk.bytes, entry);
        chunk.key_done();
        if chunk.is_full() {
            out.put(chunk)?;
        }
        if opts.key_save_delay_us != 0 {
            debug_delay(opts.key_save_delay_us);
        }
        let keys = out.keys + chunk.keys;
        // Every key when saves are slowed down for tests, so progress shows at once.
        if keys % PROGRESS_EVERY_KEYS == 0 || opts.key_save_delay_us != 0 {
            progress(keys, out.written + chunk.bytes.len() as u64);
        }
    }
    Ok(())
}
