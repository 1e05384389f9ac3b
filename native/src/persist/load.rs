//! The RDB reader: every type and encoding Redis 7.0 writes or still loads (versions 1-10, and
//! 11 for the types it shares with 7.2), into the encodings Redis's loader would choose under
//! the current thresholds.
//!
//! Every packed blob is validated deeply before use (listpack, ziplist, intset, zipmap
//! validators of `rdb/`), duplicates in sets, hashes and sorted sets are refused, NaN scores
//! are refused: a corrupt file gives an error, never a panic or an invalid value. Streams are
//! read by `load_stream`. Modules are refused with an error naming them; function libraries
//! are handed to the scripting engine (LoadReport::functions).

use std::borrow::Cow;
use std::io::Read;

use crate::dict::Dict;
use crate::keyspace::{Keyspace, Table, NO_EXPIRE};
use crate::rdb::{
    crc64, intset_values, listpack_entries, opcode, quicklist_container, rdb_type, ziplist_entries, zipmap_entries,
    Entry, RdbError, RdbResult, Reader, StringValue,
};
use crate::settings::Settings;
use crate::types::hash::Hash;
use crate::types::list::ListBuilder;
use crate::types::set::Set;
use crate::types::string::StrVal;
use crate::types::Value;

use super::exports::strerror;
use super::values;

/// The highest version loaded: 10 is Redis 7.0's; 11 (7.2) is accepted because its only
/// change that 7.0 data can use, SET_LISTPACK, is understood here.
pub const MAX_RDB_VERSION: u32 = 11;
/// RDB 11's listpack-encoded set (Redis 7.2).
pub const TYPE_SET_LISTPACK: u8 = 20;
/// RDB 11's stream format (Redis 7.2).
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// What a successful load found.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub empty_keys_skipped: u64,
    pub rdb_version: u32,
    pub redis_ver: Option<String>,
    pub ctime: Option<i64>,
    pub used_mem: Option<i64>,
    pub aof_base: Option<i64>,
    /// The replication position the file was saved at (`repl-stream-db`, `repl-id`, `repl-offset`).
    pub repl_stream_db: Option<i64>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    /// Lines Redis logs as warnings during a successful load (empty keys skipped, checksum
    /// disabled), for the caller's log.
    pub warnings: Vec<String>,
    /// The function libraries' codes (FUNCTION2 opcodes), for the scripting engine to load.
    pub functions: Vec<Vec<u8>>,
    /// A master's start-up load: the commands that delete the keys found expired (see
    /// `Loader::feeding_expired_dels`).
    pub expired_dels: Option<ExpiredDels>,
}

/// The stream a master's start-up load feeds its new backlog with: for each key whose TTL had
/// passed, a DEL (UNLINK under lazyfree-lazy-expire), after a SELECT when the database changes,
/// as Redis's rdbLoad feeds them (RDBFLAGS_FEED_REPL). Its old replicas resync partially after
/// the restart and receive them, so they drop the keys the master dropped. A stream that
/// outgrows `cap` (the backlog's size) is not kept at all, since no replica could continue
/// from before its start: only its length counts then, for the offsets.
#[derive(Debug, Default, Clone)]
pub struct ExpiredDels {
    pub stream: Vec<u8>,
    /// The length of the whole stream, kept or not.
    pub bytes: u64,
    /// The database the stream selected last.
    pub db: Option<usize>,
    cap: usize,
    unlink: bool,
}

impl ExpiredDels {
    fn push(&mut self, db: usize, key: &[u8]) {
        let mut command = Vec::with_capacity(key.len() + 40);
        if self.db != Some(db) {
            let id = db.to_string();
            command.extend_from_slice(format!("*2\r\n$6\r\nSELECT\r\n${}\r\n{id}\r\n", id.len()).as_bytes());
            self.db = Some(db);
        }
        command.extend_from_slice(if self.unlink { b"*2\r\n$6\r\nUNLINK\r\n" } else { b"*2\r\n$3\r\nDEL\r\n" });
        command.extend_from_slice(format!("${}\r\n", key.len()).as_bytes());
        command.extend_from_slice(key);
        command.extend_from_slice(b"\r\n");
        self.bytes += command.len() as u64;
        if self.stream.len() + command.len() <= self.cap {
            self.stream.extend_from_slice(&command);
        } else {
            // No replica can continue from before a dropped command: keep none of them.
            self.cap = 0;
            self.stream = Vec::new();
        }
    }

    /// Every command is in `stream`.
    pub fn complete(&self) -> bool {
        self.stream.len() as u64 == self.bytes
    }
}

/// A value read from a file or a DUMP payload; `None` for an empty collection, which Redis
/// skips when loading a file (an old bug could save them) and refuses in RESTORE.
pub type Loaded = Option<Value>;

/// The rdb.c line that Redis's rdbReportError names for `reason`, as the reference build
/// (Debian's redis-server 7.0.15) reports it (measured with corrupt payloads; its source is a
/// line or two earlier); 0 for a reason of keyfork's own.
pub fn redis_report_line(reason: &str) -> u32 {
    const LINES: &[(&str, u32)] = &[
        ("Duplicate set members detected", 1829),
        ("Zset with NAN score detected", 1882),
        ("Duplicate zset fields detected", 1894),
        ("Hash with dup elements", 1951),
        ("Duplicate hash fields detected", 1969),
        ("Quicklist integrity check failed.", 2048),
        ("Listpack integrity check failed.", 2071),
        ("Ziplist integrity check failed.", 2081),
        ("Zipmap integrity check failed.", 2130),
        ("Hash zipmap with dup elements, or big length", 2154),
        ("List ziplist integrity check failed.", 2189),
        ("Intset integrity check failed.", 2214),
        ("Zset ziplist integrity check failed.", 2229),
        ("Zset listpack integrity check failed.", 2255),
        ("Hash ziplist integrity check failed.", 2275),
        ("Hash listpack integrity check failed.", 2301),
        ("Stream listpack integrity check failed.", 2362),
        ("Duplicate stream consumer detected.", 2543),
    ];
    LINES.iter().find(|(r, _)| reason.starts_with(r)).map_or(0, |&(_, line)| line)
}

/// rdbReportError's line for a reason Redis reports through it: "Internal error in RDB reading
/// offset 0, function at rdb.c:<line> -> <reason>" (the offset is Redis's loading_loaded_bytes,
/// 0 until a load's first progress update); None for a reason of keyfork's own.
pub fn internal_error_line(reason: &str) -> Option<String> {
    match redis_report_line(reason) {
        0 => None,
        line => Some(format!("Internal error in RDB reading offset 0, function at rdb.c:{line} -> {reason}")),
    }
}

fn bad(msg: &'static str) -> RdbError {
    RdbError::new(msg)
}

/// How a load treats a key that is already in the keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// An error, as Redis's "Duplicated key found in RDB file".
    Refuse,
    /// The loaded key replaces it (RDBFLAGS_ALLOW_DUP: DEBUG RELOAD MERGE).
    Replace,
}

/// Loads the whole file image `data` into `ks`. Keys whose TTL has passed are dropped and
/// counted, as Redis does when loading as a master.
pub fn load_rdb(data: &[u8], ks: &mut Keyspace, settings: &Settings, now_ms: i64, dups: Duplicates) -> Result<LoadReport, String> {
    let mut loader = Loader::begin(Cow::Borrowed(data), now_ms, dups)?;
    loader.step(ks, settings, usize::MAX)?;
    Ok(loader.into_report())
}

/// A load in progress: its input and where the reader stands. A start-up load runs in
/// slices (`step`) between which the server answers clients (LOADING errors, INFO's
/// loading_* fields), as Redis processes events while it loads.
pub struct Loader<'a> {
    input: Input<'a>,
    /// Where the reader stands in the input's window.
    pos: usize,
    state: ReadState,
    report: LoadReport,
    now_ms: i64,
    dups: Duplicates,
    /// Keys whose TTL has passed are kept (see `keeping_expired`).
    keep_expired: bool,
    finished: bool,
}

/// What a load reads from.
enum Input<'a> {
    /// The whole image in memory (a test's, or a caller that has the bytes already).
    Image(Cow<'a, [u8]>),
    /// A file read a window at a time, as Redis reads through rio's buffer: no copy of the
    /// whole file into fresh memory.
    Stream(Window),
}

/// The part of a streamed input in memory: every record being read is whole in `buf` (a
/// record cut by the window's end is read again after a refill; one longer than the window
/// grows it).
struct Window {
    src: Box<dyn Read>,
    /// For read errors.
    name: String,
    buf: Vec<u8>,
    /// Input offset of `buf[0]`.
    base: usize,
    /// The input's size (progress, and the sizing hint's cap).
    total: usize,
    /// `buf` reaches the end of the input.
    ended: bool,
    /// CRC64 of the input before `base`.
    crc: u64,
    /// Bytes a refill fills `buf` up to.
    size: usize,
}

/// Bytes a streamed load reads at a time: large enough that a refill is rare, small enough to
/// stay in cache.
pub const READ_WINDOW: usize = 1 << 20;

impl Window {
    /// Reads until `buf` holds `size` bytes or the input ends.
    fn fill(&mut self) -> Result<(), String> {
        let mut filled = self.buf.len();
        // No more room than the rest of the input needs (plus the byte that finds its end),
        // unless its size was wrong (a file that grew).
        let left = self.total.saturating_sub(self.base + filled);
        let room = if left > 0 { self.size.min(filled + left + 1) } else { self.size };
        self.buf.resize(room.max(filled), 0);
        while filled < self.buf.len() {
            match self.src.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.ended = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("Error reading the RDB file {}: {}", self.name, strerror(&e))),
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }
}

/// One pass over the window: how it ended.
enum Pass {
    /// The budget is spent or the load finished.
    Done,
    /// A record runs past the window's end: refill and read it again.
    NeedsMore,
}

impl<'a> Loader<'a> {
    /// Checks the header of a whole image; nothing is loaded yet.
    pub fn begin(data: Cow<'a, [u8]>, now_ms: i64, dups: Duplicates) -> Result<Loader<'a>, String> {
        Loader::start(Input::Image(data), now_ms, dups)
    }

    /// Checks the header of an input read `window` bytes at a time (`total`: its size, `name`:
    /// for read errors); nothing is loaded yet.
    pub fn stream(src: Box<dyn Read>, name: &str, total: usize, window: usize, now_ms: i64, dups: Duplicates) -> Result<Loader<'static>, String> {
        let mut w = Window { src, name: name.to_string(), buf: Vec::new(), base: 0, total, ended: false, crc: 0, size: window.max(16) };
        w.fill()?;
        Loader::start(Input::Stream(w), now_ms, dups)
    }

    fn start(input: Input<'a>, now_ms: i64, dups: Duplicates) -> Result<Loader<'a>, String> {
        let mut loader = Loader {
            input,
            pos: 0,
            state: ReadState { db: 0, expire_at: NO_EXPIRE, lru_idle: -1, lfu_freq: None },
            report: LoadReport::default(),
            now_ms,
            dups,
            keep_expired: false,
            finished: false,
        };
        let (data, _, _) = loader.window();
        let mut r = Reader::new(data);
        let header = r.read_bytes(9).map_err(|_| "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string())?;
        if &header[..5] != b"REDIS" {
            return Err("Wrong signature trying to load DB from file".into());
        }
        let version = parse_version(&header[5..]);
        if !(1..=MAX_RDB_VERSION as i64).contains(&version) {
            return Err(format!("Can't handle RDB format version {version}"));
        }
        loader.report.rdb_version = version as u32;
        loader.pos = 9;
        Ok(loader)
    }

    /// The bytes in memory, the input offset of their first, and whether they reach its end.
    fn window(&self) -> (&[u8], usize, bool) {
        match &self.input {
            Input::Image(data) => (data, 0, true),
            Input::Stream(w) => (&w.buf, w.base, w.ended),
        }
    }

    /// A master's start-up load: the keys whose TTL has passed are dropped and `ExpiredDels`
    /// records the commands that tell its replicas (up to `cap` bytes).
    pub fn feeding_expired_dels(mut self, cap: usize, unlink: bool) -> Self {
        self.report.expired_dels = Some(ExpiredDels { cap, unlink, ..ExpiredDels::default() });
        self
    }

    /// Keys whose TTL has passed are loaded, as Redis does everywhere but in a master's own
    /// RDB load: a replica keeps them until its master's DEL arrives, and an AOF's RDB base
    /// (RDBFLAGS_AOF_PREAMBLE) keeps them for the commands that follow.
    pub fn keeping_expired(mut self) -> Self {
        self.keep_expired = true;
        self
    }

    pub fn total_bytes(&self) -> usize {
        match &self.input {
            Input::Image(data) => data.len(),
            Input::Stream(w) => w.total,
        }
    }

    pub fn loaded_bytes(&self) -> usize {
        self.window().1 + self.pos
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    /// What was found so far (the AUX fields come first in a file).
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// The function libraries read so far, handed over once (to the scripting engine).
    pub fn take_functions(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.report.functions)
    }

    pub fn duplicates(&self) -> Duplicates {
        self.dups
    }

    pub fn into_report(self) -> LoadReport {
        self.report
    }

    /// Loads keys until about `budget` more bytes were read or the input ended (then the
    /// checksum is verified and `finished()` is true). An error leaves the keys loaded so far.
    pub fn step(&mut self, ks: &mut Keyspace, settings: &Settings, budget: usize) -> Result<(), String> {
        if self.finished {
            return Ok(());
        }
        let stop_at = self.loaded_bytes().saturating_add(budget);
        loop {
            match self.pass(ks, settings, stop_at)? {
                Pass::Done => return Ok(()),
                Pass::NeedsMore => self.refill()?,
            }
        }
    }

    /// Drops the records read (folding them into the checksum), keeps the one being read and
    /// reads more after it; a record longer than half the window doubles it.
    fn refill(&mut self) -> Result<(), String> {
        let Input::Stream(w) = &mut self.input else { unreachable!("a whole image reaches its end") };
        w.crc = crc64(w.crc, &w.buf[..self.pos]);
        w.buf.drain(..self.pos);
        w.base += self.pos;
        self.pos = 0;
        if w.buf.len() * 2 > w.size {
            w.size = w.buf.len() * 2;
        }
        w.fill()
    }

    /// Reads records from the window until the budget (`stop_at`, an input offset) is spent,
    /// the input ends, or a record runs past the window's end. An error is final only when the
    /// window reaches the input's end: before that it may only mean the record is cut.
    fn pass(&mut self, ks: &mut Keyspace, settings: &Settings, stop_at: usize) -> Result<Pass, String> {
        let Loader { input, pos, state, report, now_ms, dups, keep_expired, finished } = self;
        // The window, its input offset, whether it reaches the input's end, the checksum of
        // the input before it, and the input's bytes after it.
        let (data, base, complete, crc_before, beyond): (&[u8], usize, bool, u64, usize) = match input {
            Input::Image(data) => (data, 0, true, 0, 0),
            Input::Stream(w) => (&w.buf, w.base, w.ended, w.crc, w.total.saturating_sub(w.base + w.buf.len())),
        };
        let mut r = Reader::at(data, *pos);
        // Keys read but not inserted yet (see `Pending`): inserted before the pass returns.
        let mut pending = Pending::new();
        macro_rules! flush {
            () => {
                while let Some(p) = pending.pop() {
                    insert_loaded(ks, p, report, settings, *dups)?;
                }
            };
        }
        // A failed read: the load's error when the window holds the rest of the input, else a
        // cut record to read again (everything a record changes is changed after its last read).
        // The keys read before it are inserted either way.
        macro_rules! cut_or_fail {
            ($e:expr, $at:expr, $key:expr) => {{
                flush!();
                if !complete {
                    *pos = $at;
                    return Ok(Pass::NeedsMore);
                }
                return Err(context($e, base + $at, $key));
            }};
        }
        loop {
            let at = r.position();
            if base + at >= stop_at {
                flush!();
                *pos = at;
                return Ok(Pass::Done);
            }
            let t = match r.read_u8() {
                Ok(t) => t,
                Err(e) => cut_or_fail!(e, at, None),
            };
            if t == opcode::EOF {
                break;
            }
            if is_opcode(t) {
                if let Err(e) = read_opcode(t, &mut r, ks, state, report, beyond) {
                    cut_or_fail!(e, at, None);
                }
                continue;
            }
            // A key: its type byte is `t`.
            let db = state.db;
            let key = match r.read_string() {
                Ok(k) => k,
                Err(e) => cut_or_fail!(e, at, None),
            };
            let value = match read_object(&mut r, t, settings) {
                Ok(v) => v,
                Err(e) => cut_or_fail!(e, at, Some((&key, db))),
            };
            let expire_at = std::mem::replace(&mut state.expire_at, NO_EXPIRE);
            let lru_idle = std::mem::replace(&mut state.lru_idle, -1);
            let lfu_freq = state.lfu_freq.take();
            let Some(value) = value else {
                report.empty_keys_skipped += 1;
                if report.empty_keys_skipped <= 10 {
                    report.warnings.push(format!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key)));
                }
                continue;
            };
            if expire_at != NO_EXPIRE && expire_at < *now_ms && !*keep_expired {
                report.keys_expired += 1;
                if let Some(dels) = report.expired_dels.as_mut() { dels.push(db, &key); }
                continue;
            }
            let lru = ks.access.restored((lru_idle >= 0).then_some(lru_idle), lfu_freq, *now_ms);
            if let Some(p) = pending.push(ks, PendingKey { db, hash: Table::hash_of(&key), key, value, expire_at, lru }) {
                insert_loaded(ks, p, report, settings, *dups)?;
            }
        }
        flush!();

        // The checksum (RDB >= 5) covers everything through the EOF opcode.
        if report.rdb_version >= 5 {
            let eof_at = r.position() - 1;
            let expected = crc64(crc_before, r.consumed());
            let stored = match r.read_u64_le() {
                Ok(v) => v,
                Err(e) => {
                    let at = r.position();
                    if !complete {
                        *pos = eof_at;
                        return Ok(Pass::NeedsMore);
                    }
                    return Err(context(e, base + at, None));
                }
            };
            // Verified only under rdbchecksum yes, as in Redis.
            if settings.rdb_checksum != 0 && !super::dump::skipping_checksum_validation() {
                if stored == 0 {
                    report.warnings.push("RDB file was saved with checksum disabled: no check performed.".into());
                } else if stored != expected {
                    return Err(format!("Wrong RDB checksum expected: ({expected:x}) but got ({stored:x}). Aborting now."));
                }
            }
        }
        *pos = r.position();
        *finished = true;
        Ok(Pass::Done)
    }
}

/// A key read from the input, waiting in `Pending` to be inserted.
struct PendingKey<'d> {
    db: usize,
    /// `Table::hash_of(key)`.
    hash: u64,
    key: Cow<'d, [u8]>,
    value: Value,
    expire_at: i64,
    lru: u32,
}

/// The last few keys read, inserted in order `DEPTH` keys after they were read: an insert into
/// a large table waits for two cache misses (its bucket, then the first node of its chain, to
/// compare keys), at random addresses. The bucket is prefetched when a key is read and the
/// chain's first node `PREFETCH_CHAIN_AT` keys later, so both have arrived when the key is
/// inserted, while the keys after it are read and decoded. The keys go in in the file's order.
struct Pending<'d> {
    ring: std::collections::VecDeque<PendingKey<'d>>,
}

impl<'d> Pending<'d> {
    /// How many keys wait: enough reading and decoding to cover two memory latencies.
    const DEPTH: usize = 16;
    /// A key's chain is prefetched when this many keys came after it.
    const PREFETCH_CHAIN_AT: usize = 8;

    fn new() -> Self {
        Pending { ring: std::collections::VecDeque::with_capacity(Self::DEPTH + 1) }
    }

    /// Queues `p` (prefetching its bucket, and the chain of the key read PREFETCH_CHAIN_AT
    /// keys before); gives back the oldest key once DEPTH keys wait, for the caller to insert.
    fn push(&mut self, ks: &Keyspace, p: PendingKey<'d>) -> Option<PendingKey<'d>> {
        ks.dbs[p.db].dict.prefetch_bucket(p.hash);
        self.ring.push_back(p);
        let n = self.ring.len();
        if n > Self::PREFETCH_CHAIN_AT {
            let q = &self.ring[n - 1 - Self::PREFETCH_CHAIN_AT];
            ks.dbs[q.db].dict.prefetch_chain(q.hash);
        }
        if n > Self::DEPTH { self.ring.pop_front() } else { None }
    }

    /// The oldest waiting key.
    fn pop(&mut self) -> Option<PendingKey<'d>> {
        self.ring.pop_front()
    }
}

/// Inserts a key read from the input (Redis's "Duplicated key" error, or the loaded key
/// replacing the old one under `Duplicates::Replace`).
fn insert_loaded(ks: &mut Keyspace, p: PendingKey<'_>, report: &mut LoadReport, settings: &Settings, dups: Duplicates) -> Result<(), String> {
    let PendingKey { db, hash, key, value, expire_at, lru } = p;
    if let Err(value) = ks.add_if_absent_hashed(db, hash, &key, value, expire_at, lru) {
        if dups == Duplicates::Refuse {
            return Err(format!("RDB has duplicated key '{}' in DB {}", String::from_utf8_lossy(&key), db));
        }
        ks.remove(db, &key);
        ks.add(db, &key, value, expire_at, lru);
    }
    report.keys_loaded += 1;
    if settings.key_load_delay != 0 {
        debug_delay(settings.key_load_delay, report.keys_loaded);
    }
    Ok(())
}

/// Redis's debugDelay: `usec` > 0 sleeps that long; < 0 sleeps 1 us once every -usec calls
/// (Redis picks those at random; every n-th call gives the same average).
fn debug_delay(usec: i64, call: u64) {
    let sleep = if usec > 0 { usec as u64 } else if call % usec.unsigned_abs() == 0 { 1 } else { 0 };
    if sleep > 0 {
        std::thread::sleep(std::time::Duration::from_micros(sleep));
    }
}

/// The database being loaded and the attributes that opcodes set for the next key.
struct ReadState {
    db: usize,
    expire_at: i64,
    lru_idle: i64,
    lfu_freq: Option<u8>,
}

/// One opcode other than EOF (its byte `t` already read).
/// `beyond`: bytes of the input after the reader's window (RESIZEDB's hint is capped by what
/// the rest of the input could hold).
fn read_opcode(t: u8, r: &mut Reader<'_>, ks: &mut Keyspace, state: &mut ReadState, report: &mut LoadReport, beyond: usize) -> RdbResult<()> {
    match t {
        opcode::EXPIRETIME => state.expire_at = r.read_s_time()? as i64 * 1000,
        opcode::EXPIRETIME_MS => state.expire_at = r.read_ms_time()?,
        opcode::FREQ => state.lfu_freq = Some(r.read_u8()?),
        opcode::IDLE => state.lru_idle = r.read_len()?.min(i64::MAX as u64) as i64,
        opcode::SELECTDB => {
            let id = r.read_len()?;
            if id >= ks.dbs.len() as u64 {
                return Err(RdbError::msg(format!(
                    "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                    ks.dbs.len()
                )));
            }
            state.db = id as usize;
        }
        opcode::RESIZEDB => {
            let size = r.read_len()?;
            r.read_len()?;
            // A sizing hint only, capped by what the rest of the input could hold (3 bytes a key).
            let d = &mut ks.dbs[state.db];
            if d.dict.is_empty() {
                d.dict = Dict::with_capacity(size.min(((r.remaining() + beyond) / 3) as u64) as usize);
            }
        }
        opcode::AUX => {
            let key = r.read_string()?;
            let value = r.read_string()?;
            let int = || std::str::from_utf8(&value).ok().and_then(|s| s.trim().parse::<i64>().ok());
            match &*key {
                b"redis-ver" => report.redis_ver = Some(String::from_utf8_lossy(&value).into_owned()),
                b"ctime" => report.ctime = int(),
                b"used-mem" => report.used_mem = int(),
                b"repl-stream-db" => report.repl_stream_db = int(),
                b"repl-id" => report.repl_id = Some(String::from_utf8_lossy(&value).into_owned()),
                b"repl-offset" => report.repl_offset = int(),
                b"aof-base" => report.aof_base = int(),
                _ => {} // unknown AUX fields are skipped, by the AUX contract
            }
        }
        opcode::MODULE_AUX => {
            return Err(bad("The RDB file contains AUX module data, which keyfork cannot load (no modules)"));
        }
        opcode::FUNCTION2 => report.functions.push(r.read_string()?.into_owned()),
        opcode::FUNCTION_PRE_GA => return Err(bad("Pre-release function format not supported.")),
        _ => return Err(RdbError::msg(format!("Unknown RDB opcode {t}"))),
    }
    Ok(())
}

fn is_opcode(t: u8) -> bool {
    t >= opcode::FUNCTION2
}

/// atoi of the 4 version digits.
pub(super) fn parse_version(digits: &[u8]) -> i64 {
    let mut v = 0i64;
    for &c in digits {
        if !c.is_ascii_digit() {
            break;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    v
}

fn context(e: RdbError, offset: usize, key: Option<(&[u8], usize)>) -> String {
    // Redis's own words where it has them (redis-check-rdb's report, printed next, names the key).
    if let Some(line) = internal_error_line(e.message()) {
        return line;
    }
    match key {
        Some((k, db)) => format!(
            "{} (reading key '{}' of DB {} at offset {offset})",
            e.message(),
            String::from_utf8_lossy(k),
            db
        ),
        None => format!("{} (at offset {offset})", e.message()),
    }
}

/// An element of a packed encoding as bytes.
fn entry_bytes(e: Entry<'_>) -> Cow<'_, [u8]> {
    match e {
        Entry::Bytes(b) => Cow::Borrowed(b),
        Entry::Int(_) => {
            let mut v = Vec::with_capacity(20);
            e.append_to(&mut v);
            Cow::Owned(v)
        }
    }
}

/// A sorted-set score stored as a packed element (zzlGetScore).
fn entry_score(e: Entry<'_>) -> RdbResult<f64> {
    let score = match e {
        Entry::Int(v) => v as f64,
        Entry::Bytes(b) => crate::numfmt::parse_f64(b).ok_or_else(|| bad("Zset listpack with an invalid score"))?,
    };
    if score.is_nan() {
        return Err(bad("Zset with NAN score detected"));
    }
    Ok(score)
}

/// rdbLoadObject: the value of type `t` (the type byte already consumed).
pub fn read_object(r: &mut Reader<'_>, t: u8, settings: &Settings) -> RdbResult<Loaded> {
    match t {
        rdb_type::STRING => Ok(Some(Value::Str(match r.read_string_value()? {
            StringValue::Int(n) => StrVal::from_i64(n),
            StringValue::Bytes(Cow::Owned(v)) => StrVal::from_vec(v),
            StringValue::Bytes(b) => StrVal::from_bytes(&b),
        }))),
        rdb_type::LIST => {
            let n = r.read_count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.read_string()?);
            }
            Ok(list(items, settings))
        }
        rdb_type::SET => {
            let n = r.read_count(1)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.read_string()?);
            }
            set_from(members, settings)
        }
        rdb_type::ZSET | rdb_type::ZSET_2 => {
            let n = r.read_count(if t == rdb_type::ZSET_2 { 9 } else { 2 })?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let member = r.read_string()?;
                let score = if t == rdb_type::ZSET_2 { r.read_double_binary()? } else { r.read_double_ascii()? };
                if score.is_nan() {
                    return Err(bad("Zset with NAN score detected"));
                }
                pairs.push((member, score));
            }
            zset_from(pairs, false, settings)
        }
        rdb_type::HASH => {
            let n = r.read_count(2)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.read_string()?;
                let v = r.read_string()?;
                pairs.push((f, v));
            }
            // Redis builds a hash of up to hash-max-listpack-entries fields as a listpack.
            let dup = if n as i64 <= settings.hash_max_listpack_entries { "Hash with dup elements" } else { "Duplicate hash fields detected" };
            hash_from(pairs, settings, dup)
        }
        rdb_type::HASH_ZIPMAP => {
            let blob = r.read_string()?;
            let pairs = zipmap_entries(&blob).map_err(|_| bad("Zipmap integrity check failed."))?;
            hash_from(pairs, settings, "Hash zipmap with dup elements, or big length")
        }
        rdb_type::LIST_ZIPLIST => {
            let blob = r.read_string()?;
            let entries = ziplist_entries(&blob).map_err(|_| bad("List ziplist integrity check failed."))?;
            let items: Vec<Cow<[u8]>> = entries.into_iter().map(entry_bytes).collect();
            Ok(list(items, settings))
        }
        rdb_type::SET_INTSET => {
            let blob = r.read_string()?;
            let ints = intset_values(&blob).map_err(|_| bad("Intset integrity check failed."))?;
            if ints.len() as i64 > settings.set_max_intset_entries {
                let members: Vec<Vec<u8>> = ints.iter().map(|v| crate::numfmt::i64_to_vec(*v)).collect();
                return set_from(members, settings);
            }
            let width = blob[0];
            Set::from_intset(width, ints).map(|s| Some(Value::Set(s))).ok_or(bad("Intset integrity check failed."))
        }
        rdb_type::ZSET_ZIPLIST | rdb_type::ZSET_LISTPACK => {
            let blob = r.read_string()?;
            let corrupt = bad(if t == rdb_type::ZSET_ZIPLIST { "Zset ziplist integrity check failed." } else { "Zset listpack integrity check failed." });
            let entries = if t == rdb_type::ZSET_ZIPLIST { ziplist_entries(&blob) } else { listpack_entries(&blob) }.map_err(|_| corrupt.clone())?;
            if entries.len() % 2 != 0 {
                return Err(corrupt);
            }
            let mut pairs = Vec::with_capacity(entries.len() / 2);
            for pair in entries.chunks_exact(2) {
                pairs.push((entry_bytes(pair[0]), entry_score(pair[1])?));
            }
            zset_from(pairs, true, settings)
        }
        rdb_type::HASH_ZIPLIST | rdb_type::HASH_LISTPACK => {
            let blob = r.read_string()?;
            let reason = if t == rdb_type::HASH_ZIPLIST { "Hash ziplist integrity check failed." } else { "Hash listpack integrity check failed." };
            let corrupt = bad(reason);
            let entries = if t == rdb_type::HASH_ZIPLIST { ziplist_entries(&blob) } else { listpack_entries(&blob) }.map_err(|_| corrupt.clone())?;
            if entries.len() % 2 != 0 {
                return Err(corrupt);
            }
            let pairs: Vec<(Cow<[u8]>, Cow<[u8]>)> =
                entries.chunks_exact(2).map(|p| (entry_bytes(p[0]), entry_bytes(p[1]))).collect();
            hash_from(pairs, settings, reason)
        }
        rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => {
            // Nodes keep their kind: a PLAIN node stays plain and a PACKED node's elements stay
            // packed whatever their size, as Redis loads them (quicklistAppendPlainNode /
            // quicklistAppendListpack).
            let nodes = r.read_count(2)?;
            let mut l = ListBuilder::new();
            for _ in 0..nodes {
                let container = if t == rdb_type::LIST_QUICKLIST_2 { r.read_len()? } else { quicklist_container::PACKED };
                let blob = r.read_string()?;
                if blob.is_empty() || !matches!(container, quicklist_container::PLAIN | quicklist_container::PACKED) {
                    return Err(bad("Quicklist integrity check failed."));
                }
                // Elements are copied once, from the blob (borrowed from the file image unless
                // compressed) into the list's chunks.
                if container == quicklist_container::PLAIN {
                    l.push_back_plain(&blob);
                    continue;
                }
                let entries = if t == rdb_type::LIST_QUICKLIST {
                    ziplist_entries(&blob).map_err(|_| bad("Ziplist integrity check failed."))?
                } else {
                    listpack_entries(&blob).map_err(|_| bad("Listpack integrity check failed."))?
                };
                l.start_packed_node();
                for e in entries { l.push_back_packed(&entry_bytes(e)); }
            }
            let l = l.finish();
            Ok(if l.is_empty() { None } else { Some(Value::List(l)) })
        }
        TYPE_SET_LISTPACK => {
            let blob = r.read_string()?;
            let members: Vec<Cow<[u8]>> = listpack_entries(&blob)?.into_iter().map(entry_bytes).collect();
            set_from(members, settings)
        }
        rdb_type::STREAM_LISTPACKS | rdb_type::STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            Ok(Some(Value::Stream(Box::new(super::load_stream::read_stream(r, t)?))))
        }
        rdb_type::MODULE_PRE_GA | rdb_type::MODULE_2 => {
            Err(RdbError::msg(format!("The RDB file contains a module value (RDB type {t}), which keyfork cannot load")))
        }
        _ => Err(RdbError::msg(format!("Unknown RDB encoding type {t}"))),
    }
}

fn list<M: AsRef<[u8]>>(items: Vec<M>, settings: &Settings) -> Loaded {
    if items.is_empty() {
        return None;
    }
    Some(Value::List(values::list_from_items(items, settings)))
}

fn set_from<M: AsRef<[u8]>>(members: Vec<M>, settings: &Settings) -> RdbResult<Loaded> {
    if members.is_empty() {
        return Ok(None);
    }
    Set::from_members(members, settings)
        .map(|s| Some(Value::Set(s)))
        .ok_or(bad("Duplicate set members detected"))
}

fn hash_from<F: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: Vec<(F, V)>, settings: &Settings, dup: &'static str) -> RdbResult<Loaded> {
    if pairs.is_empty() {
        return Ok(None);
    }
    Hash::from_pairs(pairs, settings).map(|h| Some(Value::Hash(h))).ok_or(bad(dup))
}

fn zset_from<M: AsRef<[u8]>>(pairs: Vec<(M, f64)>, packed: bool, settings: &Settings) -> RdbResult<Loaded> {
    if pairs.is_empty() {
        return Ok(None);
    }
    match values::zset_from_pairs(pairs, packed, settings) {
        Ok(z) => Ok(Some(Value::ZSet(z))),
        Err(_) if packed => Err(bad("Zset listpack integrity check failed.")),
        Err(_) => Err(bad("Duplicate zset fields detected")),
    }
}
