//! An AOF rewrite: a new base file holding the whole keyspace, as Redis 7.0's
//! rewriteAppendOnlyFile writes it. Under `aof-use-rdb-preamble yes` the base is an RDB file
//! (the parallel RDB writer, with the `aof-base` AUX field set); otherwise it is the commands
//! that rebuild every key: FUNCTION LOAD per function library, per non-empty database a SELECT, then SET / RPUSH / SADD / ZADD /
//! HMSET (at most 64 elements per command, AOF_REWRITE_ITEMS_PER_CMD) and PEXPIREAT for keys
//! with a TTL. Expired keys not yet reclaimed are written too, as Redis does.
//!
//! The file is written to `temp-rewriteaof-<pid>.aof` in the working directory, fsynced (and
//! every 4 MB along the way under `aof-rewrite-incremental-fsync`), then renamed to its
//! destination: `temp-rewriteaof-bg-<pid>.aof` for the forked child (the parent moves it into
//! the AOF directory), the base file itself for the rewrite at start-up.

use std::fs::File;
use std::io::{self, Write};

use crate::keyspace::{Entry, Keyspace};
use crate::numfmt;
use crate::persist::exports::strerror;
use crate::persist::save::{debug_delay, write_rdb, AuxFields, SaveOptions};
use crate::settings::Settings;
use crate::types::Value;
use crate::types::stream::{Stream, StreamId};

/// Elements per RPUSH / SADD / ZADD / HMSET command (Redis's AOF_REWRITE_ITEMS_PER_CMD).
pub const ITEMS_PER_CMD: usize = 64;
/// Bytes between two fsyncs of a rewrite under aof-rewrite-incremental-fsync (REDIS_AUTOSYNC_BYTES).
const AUTOSYNC_BYTES: u64 = 4 << 20;
/// Bytes gathered before one write to the file.
const FLUSH_BYTES: usize = 512 << 10;

#[derive(Debug, Clone, Copy)]
pub struct RewriteOptions {
    /// aof-use-rdb-preamble: the base is an RDB file.
    pub rdb_preamble: bool,
    /// rdbcompression / rdbchecksum for the RDB form.
    pub compress: bool,
    pub checksum: bool,
    /// aof-rewrite-incremental-fsync.
    pub incremental_fsync: bool,
    /// rdb-key-save-delay (µs per key), a test aid Redis applies to rewrites too.
    pub key_save_delay_us: i64,
    /// aof-timestamp-enabled: a commands-form base starts with a `#TS:<unix time>` annotation.
    pub timestamp: bool,
}

/// What can be flushed to disk (a File; a counter in tests).
trait SyncData: Write {
    fn sync_data(&mut self) -> io::Result<()>;
}

impl SyncData for File {
    fn sync_data(&mut self) -> io::Result<()> { File::sync_data(self) }
}

/// A file sink that fsyncs every AUTOSYNC_BYTES under aof-rewrite-incremental-fsync
/// (rioSetAutoSync), so that the final fsync has little left to do.
struct AutoSync<'f, F: SyncData> {
    file: &'f mut F,
    every: Option<u64>,
    since_sync: u64,
}

impl<F: SyncData> Write for AutoSync<'_, F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(every) = self.every {
            self.since_sync += n as u64;
            if self.since_sync >= every {
                self.file.sync_data()?;
                self.since_sync = 0;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> { self.file.flush() }
}

/// Appends `$<len>\r\n<bytes>\r\n`.
fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    numfmt::push_i64(out, bytes.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn bulk_i64(out: &mut Vec<u8>, n: i64) { bulk(out, &numfmt::IntText::new(n)); }

fn array_len(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    numfmt::push_i64(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

/// Writes a variadic command (RPUSH/SADD/ZADD/HMSET) per ITEMS_PER_CMD items of `items`, each
/// item being `per_item` arguments written by `item`.
fn batched<T>(out: &mut Vec<u8>, name: &[u8], key: &[u8], total: usize, per_item: usize, items: impl Iterator<Item = T>, mut item: impl FnMut(&mut Vec<u8>, T)) {
    let mut left = total;
    let mut in_cmd = 0;
    for it in items {
        if in_cmd == 0 {
            let n = left.min(ITEMS_PER_CMD);
            array_len(out, 2 + n * per_item);
            bulk(out, name);
            bulk(out, key);
        }
        item(out, it);
        in_cmd += 1;
        left -= 1;
        if in_cmd == ITEMS_PER_CMD { in_cmd = 0; }
    }
}

/// `batched`'s bookkeeping for callers that push items one at a time.
struct Batch {
    left: usize,
    in_cmd: usize,
}

impl Batch {
    fn new(total: usize) -> Batch { Batch { left: total, in_cmd: 0 } }

    /// Opens a command when the item about to be written starts one.
    fn start(&mut self, out: &mut Vec<u8>, name: &[u8], key: &[u8], per_item: usize) {
        if self.in_cmd == 0 {
            let n = self.left.min(ITEMS_PER_CMD);
            array_len(out, 2 + n * per_item);
            bulk(out, name);
            bulk(out, key);
        }
        self.in_cmd += 1;
        self.left -= 1;
        if self.in_cmd == ITEMS_PER_CMD { self.in_cmd = 0; }
    }
}

/// The commands that rebuild one key (rewriteAppendOnlyFileRio's loop body).
pub fn key_commands(out: &mut Vec<u8>, e: &Entry) {
    let key = e.key();
    match &e.value {
        Value::Str(s) => {
            out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
            bulk(out, key);
            s.with_bytes(|b| bulk(out, b));
        }
        // Walked by `for_each`: a compressed node is decoded into a buffer dropped right after,
        // not into a cache the forked child would keep.
        Value::List(l) => {
            let mut batch = Batch::new(l.len());
            l.for_each(|item| {
                batch.start(out, b"RPUSH", key, 1);
                bulk(out, item);
            });
        }
        Value::Set(s) => batched(out, b"SADD", key, s.len(), 1, s.iter(), |o, m| m.with_bytes(|b| bulk(o, b))),
        Value::ZSet(z) => batched(out, b"ZADD", key, z.len(), 2, z.iter(), |o, (m, score)| {
            let mut text = Vec::with_capacity(24);
            numfmt::push_double(&mut text, score);
            bulk(o, &text);
            bulk(o, m);
        }),
        Value::Hash(h) => batched(out, b"HMSET", key, h.len(), 2, h.iter(), |o, (f, v)| {
            bulk(o, f);
            bulk(o, v);
        }),
        Value::Stream(st) => stream_commands(out, key, st),
    }
    if e.has_expire() {
        out.extend_from_slice(b"*3\r\n$9\r\nPEXPIREAT\r\n");
        bulk(out, key);
        bulk_i64(out, e.expire_at());
    }
}

fn bulk_id(out: &mut Vec<u8>, id: StreamId) { bulk(out, &id.text()); }

/// rewriteStreamObject: one XADD per entry (or `XADD key MAXLEN 0 0-1 x y` for an empty stream),
/// XSETID with the stream's counters, then per group XGROUP CREATE ... ENTRIESREAD, an XCLAIM
/// (TIME, RETRYCOUNT, JUSTID, FORCE) per pending entry of each consumer, and XGROUP
/// CREATECONSUMER for consumers with nothing pending.
fn stream_commands(out: &mut Vec<u8>, key: &[u8], st: &Stream) {
    if st.length > 0 {
        let mut digits = [0u8; 20];
        for e in st.range(StreamId::ZERO, StreamId::MAX, false) {
            array_len(out, 3 + e.field_count() * 2);
            bulk(out, b"XADD");
            bulk(out, key);
            bulk_id(out, e.id);
            for (field, value) in e.fields() {
                bulk(out, field.as_bytes(&mut digits));
                bulk(out, value.as_bytes(&mut digits));
            }
        }
    } else {
        array_len(out, 7);
        for part in [b"XADD".as_slice(), key, b"MAXLEN", b"0", b"0-1", b"x", b"y"] { bulk(out, part); }
    }
    array_len(out, 7);
    bulk(out, b"XSETID");
    bulk(out, key);
    bulk_id(out, st.last_id);
    bulk(out, b"ENTRIESADDED");
    bulk(out, &st.entries_added.to_string().into_bytes());
    bulk(out, b"MAXDELETEDID");
    bulk_id(out, st.max_deleted_entry_id);
    for (name, group) in &st.groups {
        array_len(out, 7);
        for part in [b"XGROUP".as_slice(), b"CREATE", key, name] { bulk(out, part); }
        bulk_id(out, group.last_id);
        bulk(out, b"ENTRIESREAD");
        bulk_i64(out, group.entries_read);
        for (consumer, c) in &group.consumers {
            if c.pel.is_empty() {
                array_len(out, 5);
                for part in [b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, consumer] { bulk(out, part); }
                continue;
            }
            for id in &c.pel {
                let Some(nack) = group.pel.get(id) else { continue };
                array_len(out, 12);
                for part in [b"XCLAIM".as_slice(), key, name, consumer, b"0"] { bulk(out, part); }
                bulk_id(out, *id);
                bulk(out, b"TIME");
                bulk_i64(out, nack.delivery_time);
                bulk(out, b"RETRYCOUNT");
                bulk(out, &nack.delivery_count.to_string().into_bytes());
                bulk(out, b"JUSTID");
                bulk(out, b"FORCE");
            }
        }
    }
}

/// The commands form of the whole keyspace into `sink`: (keys, bytes).
pub fn write_commands<W: Write>(ks: &Keyspace, sink: &mut W, key_save_delay_us: i64, mut progress: impl FnMut(u64, u64)) -> io::Result<(u64, u64)> {
    let mut out = Vec::with_capacity(FLUSH_BYTES + (64 << 10));
    let (mut keys, mut written) = (0u64, 0u64);
    // rewriteFunctions: every library as FUNCTION LOAD <code>, before the databases.
    for code in crate::script::functions::library_codes() {
        array_len(&mut out, 3);
        bulk(&mut out, b"FUNCTION");
        bulk(&mut out, b"LOAD");
        bulk(&mut out, &code);
    }
    for (id, db) in ks.dbs.iter().enumerate() {
        if db.dict.is_empty() { continue; }
        out.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n");
        bulk_i64(&mut out, id as i64);
        for entry in db.dict.nodes() {
            key_commands(&mut out, entry);
            keys += 1;
            if out.len() >= FLUSH_BYTES {
                sink.write_all(&out)?;
                written += out.len() as u64;
                out.clear();
            }
            if key_save_delay_us != 0 { debug_delay(key_save_delay_us); }
            if keys % 128 == 0 || key_save_delay_us != 0 { progress(keys, written + out.len() as u64); }
        }
    }
    sink.write_all(&out)?;
    written += out.len() as u64;
    progress(keys, written);
    Ok((keys, written))
}

/// rewriteAppendOnlyFile: the base into temp-rewriteaof-<pid>.aof, fsynced, renamed to
/// `target`. Failures remove the temp file and return Redis's log text.
pub fn rewrite_to_file(ks: &Keyspace, settings: &Settings, target: &str, opts: &RewriteOptions, progress: impl FnMut(u64, u64)) -> Result<(u64, u64), String> {
    let tmp = format!("temp-rewriteaof-{}.aof", crate::os::current_pid());
    let mut file = File::create(&tmp)
        .map_err(|e| format!("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): {}", strerror(&e)))?;
    let written = {
        let mut sink = AutoSync { file: &mut file, every: opts.incremental_fsync.then_some(AUTOSYNC_BYTES), since_sync: 0 };
        if opts.rdb_preamble {
            let save = SaveOptions { compress: opts.compress, checksum: opts.checksum, key_save_delay_us: opts.key_save_delay_us, ..SaveOptions::default() };
            let aux = AuxFields { aof_base: true, ..AuxFields::now() };
            write_rdb(ks, settings, &mut sink, &save, &aux, progress)
        } else {
            let stamp = if opts.timestamp { write!(sink, "#TS:{}\r\n", crate::now_ms() / 1000) } else { Ok(()) };
            stamp.and_then(|_| write_commands(ks, &mut sink, opts.key_save_delay_us, progress))
        }
    }
    .and_then(|done| {
        file.sync_all()?;
        Ok(done)
    });
    drop(file);
    let done = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("Write error writing append only file on disk: {}", strerror(&e)));
        }
    };
    if let Err(e) = std::fs::rename(&tmp, target) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("Error moving temp append only file on the final destination: {}", strerror(&e)));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::NO_EXPIRE;
    use crate::types::list::List;
    use crate::types::string::StrVal;

    fn text(ks: &Keyspace) -> String {
        let mut out = Vec::new();
        write_commands(ks, &mut out, 0, |_, _| {}).unwrap();
        String::from_utf8(out).unwrap().replace("\r\n", " ")
    }

    /// Counts fsyncs of a sink that keeps nothing.
    #[derive(Default)]
    struct Syncs(u32);
    impl Write for Syncs {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> { Ok(buf.len()) }
        fn flush(&mut self) -> io::Result<()> { Ok(()) }
    }
    impl SyncData for Syncs {
        fn sync_data(&mut self) -> io::Result<()> {
            self.0 += 1;
            Ok(())
        }
    }

    #[test]
    fn aof_rewrite_incremental_fsync_syncs_every_4_mb() {
        let mut syncs = Syncs::default();
        let chunk = vec![0u8; 1 << 20];
        let mut on = AutoSync { file: &mut syncs, every: Some(AUTOSYNC_BYTES), since_sync: 0 };
        for _ in 0..9 { on.write_all(&chunk).unwrap(); }
        assert_eq!(syncs.0, 2);
        let mut off = AutoSync { file: &mut syncs, every: None, since_sync: 0 };
        for _ in 0..9 { off.write_all(&chunk).unwrap(); }
        assert_eq!(syncs.0, 2);
    }

    #[test]
    fn strings_with_ttl_and_databases() {
        let mut ks = Keyspace::new(4);
        ks.add(2, b"k", Value::Str(StrVal::from_bytes(b"v")), 1234, 0);
        assert_eq!(text(&ks), "*2 $6 SELECT $1 2 *3 $3 SET $1 k $1 v *3 $9 PEXPIREAT $1 k $4 1234 ");
    }

    #[test]
    fn collections_are_cut_every_64_items() {
        let mut ks = Keyspace::new(1);
        let items: Vec<Vec<u8>> = (0..130).map(|i| i.to_string().into_bytes()).collect();
        ks.add(0, b"l", Value::List(List::from_items(items.iter().map(|v| v.as_slice()))), NO_EXPIRE, 0);
        let t = text(&ks);
        assert_eq!(t.matches("RPUSH").count(), 3, "{t}");
        assert!(t.contains("*66 $5 RPUSH $1 l $1 0 "), "{t}");
        assert!(t.contains("*4 $5 RPUSH $1 l $3 128 $3 129 "), "{t}");
    }
}
