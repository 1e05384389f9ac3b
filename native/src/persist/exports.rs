//! The persistence functions TypeScript calls (declared in src/native.ts):
//!
//! - `forkRdb(filename, compress, checksum, keySaveDelayUs): [pid, readFd, forkUsec, totalKeys]`
//!   forks a child that writes `temp-<childpid>.rdb` in the current directory, fsyncs it,
//!   renames it over `filename`, fsyncs the directory and logs (through the report pipe, see
//!   snapshot.rs) `DB saved on disk` and its `Fork CoW for RDB: ...` line; on failure it logs
//!   Redis's warning text, removes its temp file and exits 1. Throws when fork itself fails.
//! - `saveRdb(filename, compress, checksum): [keys, bytes]`: the same in the foreground
//!   (temp-<pid>.rdb); throws Error(reason) after removing the temp file.
//! - `loadRdb(path, allowDup?, expired?)`: loads the file into the live keyspace (the caller empties it
//!   first when it must; a key already there is an error unless `allowDup`, which replaces it,
//!   as DEBUG RELOAD MERGE) and returns `{ keysLoaded, keysExpired, emptyKeysSkipped, rdbVersion, redisVer,
//!   ctime, usedMem, aofBase, warnings }` (redisVer/ctime/usedMem/aofBase are null when the
//!   file has no such AUX field; `warnings` are lines Redis logs as warnings on a successful
//!   load). Throws Error(reason) for a missing, unreadable, corrupt, truncated, wrong-version
//!   or checksum-failing file; the file is never written. Keys loaded before the error stay.
//!   The report also carries `replStreamDb`, `replId`, `replOffset` (null when absent).
//! - `loadRdbBegin(path | Buffer, allowDup?, replica?, expired?)` -> its size, `loadRdbStep(bytes)` ->
//!   bytes loaded (-1 when done), `loadRdbReport()`, `loadRdbEnd()`: the same load in slices,
//!   for a server that answers clients while it loads (start-up, a replica's full sync).
//!   `replica` true is a replica's load of its master's RDB: into a fresh keyspace (expired keys
//!   kept, as a replica keeps them until the master's DEL) that `loadRdbEnd()` swaps in only
//!   when the whole payload loaded (it returns true then); otherwise the live data stays as it
//!   was, and the partial load is discarded.
//! - `expired`: what a load does with keys whose TTL passed: "drop" (the default), "keep", or
//!   a byte cap then lazyfree-lazy-expire (dropped, their DELs recorded): with_expired_policy.
//! - `forkRdbToPipe(compress, checksum, keySaveDelayUs, eofMark, repl..., exclude?)`:
//!   `[pid, reportFd, dataFd, forkUsec, totalKeys]`. The child streams `$EOF:<mark>\r\n`, the
//!   RDB and the mark again into a pipe whose read end (`dataFd`) the parent forwards to the
//!   replicas being synced (Redis's rdbSaveToSlavesSockets); it logs its `Fork CoW for RDB`
//!   line and exits 0, or 1 when the pipe broke (every replica gone).
//!
//! The `repl...` arguments of forkRdb, saveRdb and forkRdbToPipe are optional
//! `(streamDb, replId, offset)`: the replication position written as AUX fields.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::keyspace::Keyspace;
use crate::napi::{Env, JsArgs, JsValue};
use crate::os;
use crate::settings::Settings;
use crate::snapshot::{self, ChildReporter, WorkDone, LOG_NOTICE};
use crate::with_state;

use super::load::{Duplicates, LoadReport, Loader, READ_WINDOW};
use std::cell::RefCell;
use super::save::{write_rdb, AuxFields, ReplAux, SaveOptions};

/// Pipe buffer asked for the replica stream (the default 64 KB makes the child wait often).
const SYNC_PIPE_BYTES: usize = 1 << 20;

/// An OS error as strerror prints it (std appends " (os error N)").
pub fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn cwd_for_log() -> String {
    std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "unknown".into())
}

/// Bytes written to an RDB file between two starts of its writeback.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// The RDB file being written, sent to the device as it grows (`os::start_writeback` every
/// `WRITEBACK_EVERY` bytes) while the next bytes are serialized, so that the final fsync
/// waits for the last few megabytes rather than the whole file.
struct WritebackFile {
    file: File,
    written: u64,
    writeback_from: u64,
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.writeback_from >= WRITEBACK_EVERY {
            use std::os::unix::io::AsRawFd;
            os::start_writeback(self.file.as_raw_fd(), self.writeback_from, self.written - self.writeback_from);
            self.writeback_from = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// What `save_to_file` wrote, and the file it replaced, still open: renaming over the last
/// name of a file frees its page cache there and then (~50 ms per 230 MB), so whoever holds it
/// decides when that happens. The forked child keeps it until `_exit`, after its DONE report.
pub struct Saved {
    pub keys: u64,
    pub bytes: u64,
    pub replaced: Option<File>,
}

/// rdbSave: writes `tmp`, fsyncs it, renames it over `filename`, fsyncs the directory. Every
/// failure removes `tmp` and returns Redis's log text. `while_syncing` runs on a thread of its
/// own while the file is fsynced (the child's last copy-on-write sample).
pub fn save_to_file(
    ks: &Keyspace,
    settings: &Settings,
    tmp: &str,
    filename: &str,
    opts: &SaveOptions,
    aux: &AuxFields,
    progress: impl FnMut(u64, u64),
    while_syncing: Option<impl FnOnce() + Send>,
) -> Result<Saved, String> {
    let file = File::create(tmp).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {tmp} (in server root dir {}) for saving: {}",
            cwd_for_log(),
            strerror(&e)
        )
    })?;
    let mut file = WritebackFile { file, written: 0, writeback_from: 0 };
    let written = write_rdb(ks, settings, &mut file, opts, aux, progress).and_then(|r| {
        sync_running(&file.file, while_syncing)?;
        Ok(r)
    });
    drop(file);
    let (keys, bytes) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            return Err(format!("Write error saving DB on disk: {}", strerror(&e)));
        }
    };
    let replaced = File::open(filename).ok();
    if let Err(e) = std::fs::rename(tmp, filename) {
        let _ = std::fs::remove_file(tmp);
        return Err(format!(
            "Error moving temp DB file {tmp} on the final destination {filename} (in server root dir {}): {}",
            cwd_for_log(),
            strerror(&e)
        ));
    }
    let dir = match Path::new(filename).parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    os::fsync_dir(dir).map_err(|e| format!("Failed to fsync directory while saving DB: {}", strerror(&e)))?;
    Ok(Saved { keys, bytes, replaced })
}

/// fsync of `file`, with `side` run meanwhile on another thread (not at all when no thread
/// can be started: it is an optimization).
fn sync_running(file: &File, side: Option<impl FnOnce() + Send>) -> io::Result<()> {
    let Some(side) = side else { return file.sync_all() };
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new().name("rdb-cow-sample".into()).spawn_scoped(scope, side);
        let synced = file.sync_all();
        if let Ok(handle) = handle {
            let _ = handle.join();
        }
        synced
    })
}

/// The child's work for BGSAVE.
fn save_in_child(
    ks: &Keyspace,
    settings: &Settings,
    filename: &str,
    opts: &SaveOptions,
    aux: &AuxFields,
    rep: &mut ChildReporter,
) -> Result<WorkDone, String> {
    let tmp = format!("temp-{}.rdb", os::current_pid());
    rep.writing(&tmp);
    // The closing copy-on-write sample is taken while the file is fsynced (see record_cow).
    let mut cow = None;
    let sample = Some(|| cow = Some(os::private_dirty_bytes()));
    let Saved { keys, bytes, replaced } = save_to_file(ks, settings, &tmp, filename, opts, aux, |k, b| rep.progress(k, b), sample)?;
    // Closed by _exit, once the parent has the DONE report.
    std::mem::forget(replaced);
    if let Some(bytes) = cow {
        rep.record_cow(bytes);
    }
    rep.log(LOG_NOTICE, "DB saved on disk");
    rep.log_cow("RDB");
    Ok(WorkDone { keys, bytes })
}

/// The optional trailing `(streamDb, replId, offset)` arguments starting at `at`.
fn repl_aux_arg(env: &Env, a: &JsArgs, at: usize) -> Result<Option<ReplAux>, String> {
    if a.len() < at + 3 {
        return Ok(None);
    }
    let id = a.string(env, at + 1)?;
    let id: [u8; 40] = id.as_bytes().try_into().map_err(|_| "the replication id must be 40 characters".to_string())?;
    Ok(Some(ReplAux { stream_db: a.i64(env, at)?, id, offset: a.i64(env, at + 2)? }))
}

fn fork_rdb(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let filename = a.string(env, 0)?;
    let opts = SaveOptions { compress: a.bool(env, 1)?, checksum: a.bool(env, 2)?, key_save_delay_us: a.i64(env, 3)?, ..SaveOptions::default() };
    let aux = AuxFields::now().with_repl(repl_aux_arg(env, a, 4)?);
    snapshot::fork_export(env, "Can't save in background", Box::new(move |ks, settings, rep| save_in_child(ks, settings, &filename, &opts, &aux, rep)))
}

/// A blocking descriptor as an io::Write (the child's end of the replica pipe).
struct FdWriter(i32);

impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        os::write_all(self.0, buf).map(|_| buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The child's work for a diskless sync: the EOF-marked RDB into the pipe.
fn stream_in_child(
    ks: &Keyspace,
    settings: &Settings,
    data_fd: i32,
    mark: &[u8],
    opts: &SaveOptions,
    aux: &AuxFields,
    rep: &mut ChildReporter,
) -> Result<WorkDone, String> {
    let mut out = FdWriter(data_fd);
    let failed = |e: io::Error| format!("Error writing the RDB to the replicas' pipe: {}", strerror(&e));
    let mut preamble = Vec::with_capacity(mark.len() + 7);
    preamble.extend_from_slice(b"$EOF:");
    preamble.extend_from_slice(mark);
    preamble.extend_from_slice(b"\r\n");
    out.write_all(&preamble).map_err(failed)?;
    let (keys, bytes) = write_rdb(ks, settings, &mut out, opts, aux, |k, b| rep.progress(k, b)).map_err(failed)?;
    out.write_all(mark).map_err(failed)?;
    os::close_fd(data_fd);
    rep.log_cow("RDB");
    Ok(WorkDone { keys, bytes })
}

fn fork_rdb_to_pipe(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    // After the replication position: REPLCONF rdb-filter-only's bits (1 the data, 2 the functions).
    let exclude = if a.len() > 7 { a.i64(env, 7)? } else { 0 };
    let opts = SaveOptions {
        compress: a.bool(env, 0)?,
        checksum: a.bool(env, 1)?,
        key_save_delay_us: a.i64(env, 2)?,
        exclude_data: exclude & 1 != 0,
        exclude_functions: exclude & 2 != 0,
    };
    let mark = a.string(env, 3)?;
    if mark.len() != 40 {
        return Err("the EOF mark must be 40 characters".into());
    }
    let aux = AuxFields::now().with_repl(repl_aux_arg(env, a, 4)?);
    let (data_read, data_write) = os::report_pipe().map_err(|e| format!("Can't save in background: pipe: {}", strerror(&e)))?;
    os::grow_pipe(data_write, SYNC_PIPE_BYTES);
    let forked = with_state(|st| {
        let total = st.ks.key_count() as u64;
        let (ks, settings) = (&st.ks, &st.settings);
        snapshot::fork_child_keeping(&[data_write], |rep| stream_in_child(ks, settings, data_write, mark.as_bytes(), &opts, &aux, rep))
            .map(|s| (s, total))
    });
    // The parent's copy of the write end goes, so the read end sees EOF when the child is done.
    os::close_fd(data_write);
    let (started, total) = match forked {
        Ok(v) => v,
        Err(e) => {
            os::close_fd(data_read);
            return Err(format!("Can't save in background: fork: {}", strerror(&e)));
        }
    };
    env.array(&[
        env.int(started.pid as i64),
        env.int(started.read_fd as i64),
        env.int(data_read as i64),
        env.double(started.fork_usec as f64),
        env.double(total as f64),
    ])
}

/// saveRdb(filename, compress, checksum, keySaveDelay, [streamDb, replId, offset]): rdbSave in
/// this process. rdb-key-save-delay applies here too, as in Redis's rdbSaveRio (the suite slows
/// a shutdown's final save with it).
fn save_rdb(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let filename = a.string(env, 0)?;
    let opts = SaveOptions { compress: a.bool(env, 1)?, checksum: a.bool(env, 2)?, key_save_delay_us: a.i64(env, 3)?, ..SaveOptions::default() };
    let aux = AuxFields::now().with_repl(repl_aux_arg(env, a, 4)?);
    let tmp = format!("temp-{}.rdb", os::current_pid());
    let Saved { keys, bytes, .. } = with_state(|st| save_to_file(&st.ks, &st.settings, &tmp, &filename, &opts, &aux, |_, _| {}, None::<fn()>))?;
    env.array(&[env.double(keys as f64), env.double(bytes as f64)])
}

/// A load of the file at `path`, read a window at a time.
fn open_rdb(path: &str, dups: Duplicates) -> Result<Loader<'static>, String> {
    let fail = |e: io::Error| format!("Error reading the RDB file {path}: {}", strerror(&e));
    let file = File::open(path).map_err(fail)?;
    let total = file.metadata().map_err(fail)?.len() as usize;
    Loader::stream(Box::new(file), path, total, READ_WINDOW, crate::now_ms(), dups)
}

fn duplicates(env: &Env, a: &JsArgs, i: usize) -> Duplicates {
    if a.len() > i && a.bool(env, i).unwrap_or(false) { Duplicates::Replace } else { Duplicates::Refuse }
}

/// The `expired` argument at `i` (lazyfree-lazy-expire at `i + 1`): what a load does with the
/// keys whose TTL passed. Absent or "drop": dropped, as in a master's load (Redis's iAmMaster);
/// "keep": kept, as a replica keeps them until its master's DEL arrives; a number: dropped, and
/// their DELs recorded up to that many bytes (a master's start-up load, RDBFLAGS_FEED_REPL).
fn with_expired_policy<'d>(env: &Env, a: &JsArgs, i: usize, loader: Loader<'d>) -> Result<Loader<'d>, String> {
    if a.len() <= i || env.is_nullish(a.value(i)?) {
        return Ok(loader);
    }
    if let Ok(word) = a.string(env, i) {
        return match word.as_str() {
            "drop" => Ok(loader),
            "keep" => Ok(loader.keeping_expired()),
            _ => Err(format!("unknown expired-keys policy {word}")),
        };
    }
    let unlink = a.len() > i + 1 && a.bool(env, i + 1)?;
    Ok(loader.feeding_expired_dels(a.i64(env, i)?.max(0) as usize, unlink))
}

/// loadRdb(path, allowDup?, expired?): the whole file in one call.
fn load_rdb_file(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let path = a.string(env, 0)?;
    let dups = duplicates(env, a, 1);
    let mut loader = with_expired_policy(env, a, 2, open_rdb(&path, dups)?)?;
    crate::alloc::heap_will_grow(loader.total_bytes());
    with_state(|st| loader.step(&mut st.ks, &st.settings, usize::MAX))?;
    let mut report = loader.into_report();
    load_functions(std::mem::take(&mut report.functions), dups, false)?;
    report_object(env, &report)
}

/// Hands the file's function libraries to the scripting engine (a failure fails the load, as
/// in Redis). `replacing_all`: a replica's full sync, whose libraries replace the current ones
/// (Redis empties the functions with the data).
pub(crate) fn load_functions(codes: Vec<Vec<u8>>, dups: Duplicates, replacing_all: bool) -> Result<(), String> {
    if codes.is_empty() && (!replacing_all || crate::script::unavailable().is_some()) {
        return Ok(());
    }
    if let Some(why) = crate::script::unavailable() {
        return Err(format!("Failed loading library: the RDB file holds function libraries but {why}"));
    }
    crate::script::functions::restore(&codes, replacing_all, dups == Duplicates::Replace).map_err(|e| format!("Failed loading library, {e}"))
}

/// loadRdb's result object (also the RDB part of an AOF file).
pub fn report_object(env: &Env, report: &LoadReport) -> Result<JsValue, String> {
    let obj = env.object();
    let opt_num = |v: Option<i64>| v.map_or_else(|| env.null(), |n| env.double(n as f64));
    env.set(obj, "keysLoaded", env.double(report.keys_loaded as f64))?;
    env.set(obj, "keysExpired", env.double(report.keys_expired as f64))?;
    env.set(obj, "emptyKeysSkipped", env.double(report.empty_keys_skipped as f64))?;
    env.set(obj, "rdbVersion", env.int(report.rdb_version as i64))?;
    env.set(obj, "redisVer", report.redis_ver.as_deref().map_or_else(|| env.null(), |s| env.string(s)))?;
    env.set(obj, "ctime", opt_num(report.ctime))?;
    env.set(obj, "usedMem", opt_num(report.used_mem))?;
    env.set(obj, "aofBase", opt_num(report.aof_base))?;
    env.set(obj, "replStreamDb", opt_num(report.repl_stream_db))?;
    env.set(obj, "replId", report.repl_id.as_deref().map_or_else(|| env.null(), |s| env.string(s)))?;
    env.set(obj, "replOffset", opt_num(report.repl_offset))?;
    let warnings: Vec<JsValue> = report.warnings.iter().map(|w| env.string(w)).collect();
    env.set(obj, "warnings", env.array(&warnings)?)?;
    if let Some(dels) = &report.expired_dels {
        let o = env.object();
        env.set(o, "stream", if dels.complete() { env.buffer(&dels.stream) } else { env.null() })?;
        env.set(o, "bytes", env.double(dels.bytes as f64))?;
        env.set(o, "db", dels.db.map_or_else(|| env.int(-1), |d| env.int(d as i64)))?;
        env.set(obj, "expiredDels", o)?;
    }
    Ok(obj)
}

/// A sliced load in progress: the loader, and the keyspace a replica's full sync loads into.
struct Session {
    loader: Loader<'static>,
    fresh: Option<Keyspace>,
    /// The payload loaded but its function libraries did not: the load failed.
    failed: bool,
}

thread_local! {
    /// The load in progress (loadRdbBegin .. loadRdbEnd).
    static LOADING: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// loadRdbBegin(path | Buffer, allowDup?, replica?, expired?): opens the file and reads its first window,
/// or takes the bytes (a replica's diskless transfer), and checks the header; returns the
/// payload's size. Both go through the same Loader: only its byte source differs.
fn load_rdb_begin(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let dups = duplicates(env, a, 1);
    let mut loader = match a.bytes(env, 0) {
        Ok(bytes) => Loader::begin(Cow::Owned(bytes.to_vec()), crate::now_ms(), dups)?,
        Err(_) => open_rdb(&a.string(env, 0)?, dups)?,
    };
    let replica = a.len() > 2 && a.bool(env, 2).unwrap_or(false);
    loader = with_expired_policy(env, a, 3, loader)?;
    let fresh = if replica {
        loader = loader.keeping_expired();
        // Cluster mode: the keys are indexed by slot as they load, in the file's order (Redis's
        // dbAddRDBLoad), rather than in the table's order afterwards.
        Some(with_state(|st| {
            let mut fresh = Keyspace::new(st.ks.dbs.len());
            fresh.set_slot_index(st.ks.slots.is_some());
            fresh
        }))
    } else {
        None
    };
    let total = loader.total_bytes();
    crate::alloc::heap_will_grow(total);
    LOADING.with(|l| *l.borrow_mut() = Some(Session { loader, fresh, failed: false }));
    Ok(env.double(total as f64))
}

/// rdbCheckReport(path, name): the report redis-check-rdb prints for the file (persist/check.rs),
/// as redis-server prints it after a failed start-up load; `name` is how the report names it.
fn rdb_check_report(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let path = a.string(env, 0)?;
    let name = a.string(env, 1)?;
    let data = std::fs::read(&path).map_err(|e| e.to_string())?;
    let lines = with_state(|st| super::check::check_report(&data, &name, crate::now_ms(), &st.settings));
    let values: Vec<JsValue> = lines.iter().map(|l| env.string(l)).collect();
    env.array(&values)
}

/// loadRdbStep(bytes): loads about that many more bytes of the file; returns the bytes loaded
/// so far, or -1 once the whole file is in (checksum verified). Throws the load's error.
fn load_rdb_step(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let budget = a.f64(env, 0)?.max(1.0) as usize;
    LOADING.with(|l| {
        let mut slot = l.borrow_mut();
        let session = slot.as_mut().ok_or("no load in progress")?;
        let loader = &mut session.loader;
        with_state(|st| match session.fresh.as_mut() {
            Some(fresh) => loader.step(fresh, &st.settings, budget),
            None => loader.step(&mut st.ks, &st.settings, budget),
        })?;
        if loader.finished() {
            let replacing_all = session.fresh.is_some();
            if let Err(e) = load_functions(loader.take_functions(), loader.duplicates(), replacing_all) {
                // A replica's load whose libraries fail is not swapped in (the data stays).
                session.failed = true;
                return Err(e);
            }
        }
        Ok(env.double(if loader.finished() { -1.0 } else { loader.loaded_bytes() as f64 }))
    })
}

/// loadRdbReport(): what the load in progress found so far (AUX fields come first).
fn load_rdb_report(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    LOADING.with(|l| match l.borrow().as_ref() {
        Some(session) => report_object(env, session.loader.report()),
        None => Err("no load in progress".into()),
    })
}

/// loadRdbEnd(): ends the load in progress (its file is closed, or its bytes freed). A replica's
/// load that finished replaces the live data (true); one that did not is discarded (false).
fn load_rdb_end(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let Some(session) = LOADING.with(|l| l.borrow_mut().take()) else { return Ok(env.boolean(false)) };
    let Some(fresh) = session.fresh else { return Ok(env.boolean(false)) };
    // Freeing millions of keys takes a while: Redis discards the old data (or the partial load)
    // in the background, and so does this thread (nothing else refers to it).
    let complete = session.loader.finished() && !session.failed;
    let garbage = if complete { with_state(|st| st.ks.replace_data(fresh)) } else { fresh.dbs };
    let _ = std::thread::Builder::new().name("free-old-db".into()).spawn(move || {
        crate::procctl::apply_bio_affinity();
        drop(garbage)
    });
    Ok(env.boolean(complete))
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "forkRdb", fork_rdb)?;
    env.export(exports, "saveRdb", save_rdb)?;
    env.export(exports, "loadRdb", load_rdb_file)?;
    env.export(exports, "loadRdbBegin", load_rdb_begin)?;
    env.export(exports, "rdbCheckReport", rdb_check_report)?;
    env.export(exports, "loadRdbStep", load_rdb_step)?;
    env.export(exports, "loadRdbReport", load_rdb_report)?;
    env.export(exports, "loadRdbEnd", load_rdb_end)?;
    env.export(exports, "forkRdbToPipe", fork_rdb_to_pipe)?;
    Ok(())
}
