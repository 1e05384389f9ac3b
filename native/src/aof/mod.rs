//! The append-only file's native half: the rewrite (the forked child's work, and the same in
//! the foreground for the base written at start-up) and the replay of a file into the
//! keyspace. TypeScript (src/persistence/aof.ts) owns the manifest, the appending, fsync and
//! the rewrite's lifecycle.
//!
//! Exports (declared in src/native.ts):
//! - `forkAofRewrite(rdbPreamble, compress, checksum, incrementalFsync, keySaveDelayUs, timestamp)`:
//!   `[pid, readFd, forkUsec, totalKeys]`; the child writes `temp-rewriteaof-bg-<pid>.aof` in
//!   the working directory and logs Redis's lines through its report pipe (snapshot.rs).
//! - `rewriteAof(target, rdbPreamble, compress, checksum, incrementalFsync, keySaveDelayUs, timestamp)`: `[keys, bytes]`,
//!   in the foreground; throws Error(Redis's log text).
//! - `aofLoadOpen(path)`, `aofLoadRun()`, `aofLoadClose()`: see `load`.

pub mod load;
pub mod rewrite;

use crate::napi::{Env, JsArgs, JsValue};
use crate::os;
use crate::persist::exports::report_object;
use crate::snapshot::{self, ChildReporter, WorkDone, LOG_NOTICE};
use crate::with_state;
use load::{Opened, Step};
use rewrite::{rewrite_to_file, RewriteOptions};

fn rewrite_options(env: &Env, a: &JsArgs, from: usize) -> Result<RewriteOptions, String> {
    Ok(RewriteOptions {
        rdb_preamble: a.bool(env, from)?,
        compress: a.bool(env, from + 1)?,
        checksum: a.bool(env, from + 2)?,
        incremental_fsync: a.bool(env, from + 3)?,
        key_save_delay_us: a.i64(env, from + 4)?,
        timestamp: a.bool(env, from + 5)?,
    })
}

/// The rewrite child: temp-rewriteaof-bg-<pid>.aof from its copy-on-write view.
fn rewrite_in_child(ks: &crate::keyspace::Keyspace, settings: &crate::settings::Settings, opts: &RewriteOptions, rep: &mut ChildReporter) -> Result<WorkDone, String> {
    let target = format!("temp-rewriteaof-bg-{}.aof", os::current_pid());
    rep.writing(&target);
    let (keys, bytes) = rewrite_to_file(ks, settings, &target, opts, |k, b| rep.progress(k, b))?;
    rep.log(LOG_NOTICE, &format!("Successfully created the temporary AOF base file {target}"));
    rep.log_cow("AOF rewrite");
    Ok(WorkDone { keys, bytes })
}

fn fork_aof_rewrite(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let opts = rewrite_options(env, a, 0)?;
    snapshot::fork_export(env, "Can't rewrite append only file in background", Box::new(move |ks, settings, rep| rewrite_in_child(ks, settings, &opts, rep)))
}

fn rewrite_aof(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let target = a.string(env, 0)?;
    let opts = rewrite_options(env, a, 1)?;
    let (keys, bytes) = with_state(|st| rewrite_to_file(&st.ks, &st.settings, &target, &opts, |_, _| {}))?;
    env.array(&[env.double(keys as f64), env.double(bytes as f64)])
}

/// aofLoadOpen(path): { status: 'ready' | 'not_exist' | 'open_error' | 'empty', error?, size?,
/// rdb?: boolean }. 'ready' keeps the file open for aofLoadRun; `rdb`: it starts with an RDB part.
fn aof_load_open(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let path = a.string(env, 0)?;
    let obj = env.object();
    let opened = with_state(|st| {
        st.aof_loader = None;
        load::open(&path, &st.commands)
    });
    let (status, error) = match opened {
        Opened::NotExist(e) => ("not_exist", Some(e)),
        Opened::OpenError(e) => ("open_error", Some(e)),
        Opened::Empty => ("empty", None),
        Opened::Ready(loader, has_rdb) => {
            env.set(obj, "size", env.double(loader.file_size as f64))?;
            env.set(obj, "rdb", env.boolean(has_rdb))?;
            with_state(|st| st.aof_loader = Some(loader));
            ("ready", None)
        }
    };
    env.set(obj, "status", env.string(status))?;
    if let Some(e) = error { env.set(obj, "error", env.string(&e))?; }
    Ok(obj)
}

/// aofLoadRun(budgetBytes): loads about that many bytes more. { step: 'done' | 'yield' |
/// 'rdb_done' | 'rdb_failed' | 'eof_in_multi' | 'truncated' | 'format' | 'read_error' |
/// 'foreign', loaded, validUpTo, validBeforeMulti, commands, report?, error?, db?, argv? }.
/// After 'yield', 'rdb_done' and 'foreign' (TypeScript runs the command in `db`) call it again.
fn aof_load_run(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let budget = a.f64(env, 0)?.max(1.0) as u64;
    let obj = env.object();
    let (step, loaded, valid_up_to, valid_before_multi, commands) = with_state(|st| {
        let mut loader = st.aof_loader.take().ok_or("no AOF file is open for loading")?;
        let step = loader.run(&mut st.ks, &st.settings, &mut st.reply, &st.commands, budget);
        let facts = (loader.loaded_bytes(), loader.valid_up_to, loader.valid_before_multi, loader.commands_run);
        st.aof_loader = Some(loader);
        Ok::<_, String>((step, facts.0, facts.1, facts.2, facts.3))
    })?;
    let name = match step {
        Step::Done => "done",
        Step::Yield => "yield",
        Step::EofInMulti => "eof_in_multi",
        Step::Truncated => "truncated",
        Step::Format => "format",
        Step::RdbDone(report) => {
            env.set(obj, "report", report_object(env, &report)?)?;
            "rdb_done"
        }
        Step::RdbFailed(e) => {
            env.set(obj, "error", env.string(&e))?;
            "rdb_failed"
        }
        Step::ReadError(e) => {
            env.set(obj, "error", env.string(&e))?;
            "read_error"
        }
        Step::Foreign { db, command } => {
            env.set(obj, "db", env.int(db as i64))?;
            let argv: Vec<JsValue> = command.args().iter().map(|a| env.buffer(a)).collect();
            env.set(obj, "argv", env.array(&argv)?)?;
            "foreign"
        }
    };
    let errors = with_state(|st| st.aof_loader.as_mut().map(|l| std::mem::take(&mut l.errors)).unwrap_or_default());
    if !errors.is_empty() {
        let rows: Vec<JsValue> = errors.iter().flat_map(|e| [
            env.string(&e.logged_as),
            env.string(&e.command),
            env.boolean(e.in_exec),
            env.string(&String::from_utf8_lossy(&e.error)),
        ]).collect();
        env.set(obj, "errors", env.array(&rows)?)?;
    }
    env.set(obj, "step", env.string(name))?;
    env.set(obj, "loaded", env.double(loaded as f64))?;
    env.set(obj, "validUpTo", env.double(valid_up_to as f64))?;
    env.set(obj, "validBeforeMulti", env.double(valid_before_multi as f64))?;
    env.set(obj, "commands", env.double(commands as f64))?;
    Ok(obj)
}

fn aof_load_close(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    with_state(|st| st.aof_loader = None);
    Ok(env.undefined())
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "forkAofRewrite", fork_aof_rewrite)?;
    env.export(exports, "rewriteAof", rewrite_aof)?;
    env.export(exports, "aofLoadOpen", aof_load_open)?;
    env.export(exports, "aofLoadRun", aof_load_run)?;
    env.export(exports, "aofLoadClose", aof_load_close)?;
    Ok(())
}
