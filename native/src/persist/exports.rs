//! The persistence functions TypeScript calls (declared in src/native.ts):
//!
//! - `forkRdb(filename, compress, checksum, keySaveDelayUs): [pid, readFd, forkUsec, totalKeys]`
//!   forks a child that writes `temp-<childpid>.rdb` in the current directory, fsyncs it,
//!   renames it over `filename`, fsyncs the directory and logs (through the report pipe, see
//!   snapshot.rs) `DB saved on disk` and its `Fork CoW for RDB: ...` line; on failure it logs
//!   Redis's warning text, removes its temp file and exits 1. Throws when fork itself fails.
//! - `saveRdb(filename, compress, checksum): [keys, bytes]`: the same in the foreground
//!   (temp-<pid>.rdb); throws Error(reason) after removing the temp file.
//! - `loadRdb(path, allowDup?)`: loads the file into the live keyspace (the caller empties it
//!   first when it must; a key already there is an error unless `allowDup`, which replaces it,
//!   as DEBUG RELOAD MERGE) and returns `{ keysLoaded, keysExpired, emptyKeysSkipped, rdbVersion, redisVer,
//!   ctime, usedMem, aofBase, warnings }` (redisVer/ctime/usedMem/aofBase are null when the
//!   file has no such AUX field; `warnings` are lines Redis logs as warnings on a successful
//!   load). Throws Error(reason) for a missing, unreadable, corrupt, truncated, wrong-version
//!   or checksum-failing file; the file is never written. Keys loaded before the error stay.
//! - `loadRdbBegin(path, allowDup?)` -> file size, `loadRdbStep(bytes)` -> bytes loaded (-1 when
//!   done), `loadRdbReport()`, `loadRdbEnd()`: the same load in slices, for a start-up that
//!   answers clients while it loads.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::keyspace::Keyspace;
use crate::napi::{Env, JsArgs, JsValue};
use crate::os;
use crate::settings::Settings;
use crate::snapshot::{self, ChildReporter, WorkDone, LOG_NOTICE};
use crate::with_state;

use super::load::{Duplicates, LoadReport, Loader, READ_WINDOW};
use std::cell::RefCell;
use super::save::{write_rdb, AuxFields, SaveOptions};

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

/// rdbSave: writes `tmp`, fsyncs it, renames it over `filename`, fsyncs the directory. Every
/// failure removes `tmp` and returns Redis's log text.
pub fn save_to_file(
    ks: &Keyspace,
    settings: &Settings,
    tmp: &str,
    filename: &str,
    opts: &SaveOptions,
    progress: impl FnMut(u64, u64),
) -> Result<(u64, u64), String> {
    let mut file = File::create(tmp).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {tmp} (in server root dir {}) for saving: {}",
            cwd_for_log(),
            strerror(&e)
        )
    })?;
    let written = write_rdb(ks, settings, &mut file, opts, &AuxFields::now(), progress).and_then(|r| {
        file.sync_all()?;
        Ok(r)
    });
    drop(file);
    let done = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            return Err(format!("Write error saving DB on disk: {}", strerror(&e)));
        }
    };
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
    Ok(done)
}

/// The child's work for BGSAVE.
fn save_in_child(ks: &Keyspace, settings: &Settings, filename: &str, opts: &SaveOptions, rep: &mut ChildReporter) -> Result<WorkDone, String> {
    let tmp = format!("temp-{}.rdb", os::current_pid());
    let (keys, bytes) = save_to_file(ks, settings, &tmp, filename, opts, |k, b| rep.progress(k, b))?;
    rep.log(LOG_NOTICE, "DB saved on disk");
    rep.log_cow("RDB");
    Ok(WorkDone { keys, bytes })
}

fn fork_rdb(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let filename = a.string(env, 0)?;
    let opts = SaveOptions { compress: a.bool(env, 1)?, checksum: a.bool(env, 2)?, key_save_delay_us: a.i64(env, 3)? };
    snapshot::fork_export(env, "Can't save in background", Box::new(move |ks, settings, rep| save_in_child(ks, settings, &filename, &opts, rep)))
}

fn save_rdb(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let filename = a.string(env, 0)?;
    let opts = SaveOptions { compress: a.bool(env, 1)?, checksum: a.bool(env, 2)?, key_save_delay_us: 0 };
    let tmp = format!("temp-{}.rdb", os::current_pid());
    let (keys, bytes) = with_state(|st| save_to_file(&st.ks, &st.settings, &tmp, &filename, &opts, |_, _| {}))?;
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

/// loadRdb(path, allowDup?): the whole file in one call.
fn load_rdb_file(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let path = a.string(env, 0)?;
    let dups = duplicates(env, a, 1);
    let mut loader = open_rdb(&path, dups)?;
    with_state(|st| loader.step(&mut st.ks, &st.settings, usize::MAX))?;
    let mut report = loader.into_report();
    load_functions(std::mem::take(&mut report.functions), dups)?;
    report_object(env, &report)
}

/// Hands the file's function libraries to the scripting engine (a failure fails the load, as
/// in Redis).
pub(crate) fn load_functions(codes: Vec<Vec<u8>>, dups: Duplicates) -> Result<(), String> {
    if codes.is_empty() {
        return Ok(());
    }
    if let Some(why) = crate::script::unavailable() {
        return Err(format!("Failed loading library: the RDB file holds function libraries but {why}"));
    }
    crate::script::functions::restore(&codes, false, dups == Duplicates::Replace).map_err(|e| format!("Failed loading library, {e}"))
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
    let warnings: Vec<JsValue> = report.warnings.iter().map(|w| env.string(w)).collect();
    env.set(obj, "warnings", env.array(&warnings)?)?;
    Ok(obj)
}

thread_local! {
    /// The start-up load in progress (loadRdbBegin .. loadRdbEnd).
    static LOADING: RefCell<Option<Loader<'static>>> = const { RefCell::new(None) };
}

/// loadRdbBegin(path, allowDup?): opens the file, reads its first window and checks the header;
/// returns the file's size.
fn load_rdb_begin(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let path = a.string(env, 0)?;
    let loader = open_rdb(&path, duplicates(env, a, 1))?;
    let total = loader.total_bytes();
    LOADING.with(|l| *l.borrow_mut() = Some(loader));
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
        let loader = slot.as_mut().ok_or("no load in progress")?;
        with_state(|st| loader.step(&mut st.ks, &st.settings, budget))?;
        if loader.finished() {
            load_functions(loader.take_functions(), loader.duplicates())?;
        }
        Ok(env.double(if loader.finished() { -1.0 } else { loader.loaded_bytes() as f64 }))
    })
}

/// loadRdbReport(): what the load in progress found so far (AUX fields come first).
fn load_rdb_report(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    LOADING.with(|l| match l.borrow().as_ref() {
        Some(loader) => report_object(env, loader.report()),
        None => Err("no load in progress".into()),
    })
}

/// loadRdbEnd(): forgets the load in progress (its file is closed).
fn load_rdb_end(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    LOADING.with(|l| *l.borrow_mut() = None);
    Ok(env.undefined())
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
    Ok(())
}
