//! The scripting functions TypeScript calls (src/native.ts declares them; src/scripting/ uses
//! them). EVAL, EVALSHA and FCALL run through `scriptRun`, outside the keyspace borrow, so a
//! script's redis.call can take it for each command.

use super::lua::{Lua, GLOBALS};
use super::{eval, functions, Caller, Invocation, Outcome};
use crate::command::Args;
use crate::napi::{self, Env, JsArgs, JsValue};
use crate::reply::Reply;
use std::cell::RefCell;
use std::ops::Range;

/// Kinds of scriptRun calls.
const EVAL: i64 = 0;
const EVALSHA: i64 = 1;
const EVAL_RO: i64 = 2;
const EVALSHA_RO: i64 = 3;
const FCALL: i64 = 4;
const FCALL_RO: i64 = 5;

/// scriptParams indexes: inputs...
const P_DB: usize = 0;
const P_ARGC: usize = 1;
const P_OUT_POS: usize = 2;
const P_FLAGS: usize = 3;
const P_CLIENT_ID: usize = 4;
const P_BUSY_MS: usize = 5;
// ...and results.
const R_FLAGS: usize = 6;
const R_STATS: usize = 7;
const R_ERRORS: usize = 8;
const R_REPL: usize = 9;

/// P_FLAGS bits.
const F_RESP3: i32 = 1;
const F_IN_MULTI: i32 = 2;
const F_WRITES_REFUSED: i32 = 4;
const F_OOM: i32 = 8;
const F_CALLS_VIA_TS: i32 = 16;
const F_TRACKING: i32 = 32;
const F_READONLY_REPLICA: i32 = 64;
const F_NOREPLICAS: i32 = 128;
/// A stale replica (link down, replica-serve-stale-data no) runs the script.
const F_STALE: i32 = 1024;
/// The caller debugs its scripts (SCRIPT DEBUG): SYNC runs the session here, YES in a fork.
const F_DEBUG_SYNC: i32 = 256;
const F_DEBUG_FORK: i32 = 512;
/// scriptRun's result for the parent of a forked debugging session: FORKED - pid.
const FORKED: i64 = -100;

/// R_FLAGS bits.
const R_WRITE_DIRTY: i32 = 1;
const R_ERROR_COUNTED: i32 = 2;
const R_TIMED_OUT: i32 = 4;

/// Entries of the statistics log: [command id, calls, usec, failed, rejected] each.
const STAT_FIELDS: usize = 5;

struct Bound {
    params: napi::SharedI32,
    log: napi::SharedI32,
}

thread_local! {
    static BOUND: RefCell<Option<Bound>> = const { RefCell::new(None) };
    /// What a run could not fit in the log, and the error codes of failed commands.
    static LEFT: RefCell<(Vec<super::CallStat>, Vec<String>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// The reply buffer runs write into (reused).
    static REPLY: RefCell<Reply> = RefCell::new(Reply::new());
    /// scriptAofRefusal's text: writes are refused because the AOF cannot be written.
    static AOF_REFUSAL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// scriptAofRefusal(text | null): the MISCONF text of an AOF write error, set by TypeScript
/// before a run whose writes are refused because of the AOF (null: a failed save's refusal).
fn script_aof_refusal(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let text = if env.is_nullish(a.value(0)?) { None } else { Some(a.string(env, 0)?) };
    AOF_REFUSAL.with(|r| *r.borrow_mut() = text);
    Ok(env.undefined())
}

/// Registers cjson, cmsgpack, struct and bit as globals.
pub fn open_redis_libraries(lua: Lua) {
    super::cjson::open(lua);
    lua.raw_set_field(GLOBALS, "cjson");
    super::lstruct::open(lua);
    lua.raw_set_field(GLOBALS, "struct");
    super::cmsgpack::open(lua);
    lua.raw_set_field(GLOBALS, "cmsgpack");
    super::bit::open(lua);
    lua.raw_set_field(GLOBALS, "bit");
}

/// scriptingStatus(): [true, library file] or [false, why scripting is unavailable].
fn scripting_status(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    match super::lua::library() {
        Ok(_) => {
            // Build both interpreters now, as Redis does at start-up (and fail early if the
            // library is unusable).
            eval::with_engine(|_| Ok(()))?;
            functions::with_engine(|_| Ok(()))?;
            env.array(&[env.boolean(true), env.string(super::lua::library_name().unwrap_or("?"))])
        }
        Err(e) => env.array(&[env.boolean(false), env.string(&format!("{e}; {}", super::lua::PACKAGE_HINT))]),
    }
}

fn bind_script_host(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    super::host::bind(env, a.value(0)?)?;
    Ok(env.undefined())
}

/// bindScriptParams(params: Int32Array, log: Int32Array).
fn bind_script_params(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let params = napi::SharedI32::new(env, a, 0)?;
    let log = napi::SharedI32::new(env, a, 1)?;
    BOUND.with(|b| *b.borrow_mut() = Some(Bound { params, log }));
    Ok(env.undefined())
}

/// setScriptCommand(name, id, nativeIndex, arity, flags): a command redis.call can run; `id` names
/// it in the statistics log.
fn set_script_command(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let name = a.string(env, 0)?;
    super::call::register(&name, a.i64(env, 1)?.max(0) as usize, a.i64(env, 2)? as i32, a.i64(env, 3)? as i32, a.i64(env, 4)? as u32);
    Ok(env.undefined())
}

/// scriptFlags(kind, bodyOrShaOrName): the flags of what the command would run, -1 when
/// unknown (the dispatcher's view of whether an EVAL writes).
fn script_flags(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    if super::lua::library().is_err() {
        return Ok(env.int(-1));
    }
    let kind = a.i64(env, 0)?;
    let what = a.bytes(env, 1)?;
    let flags = match kind {
        EVAL | EVAL_RO => eval::flags_of(what, false),
        EVALSHA | EVALSHA_RO => eval::flags_of(what, true),
        _ => functions::with_engine(|e| Ok(e.find_function(what).map(|(_, f)| f.flags))).ok().flatten(),
    };
    Ok(env.int(flags.map_or(-1, |f| f as i64)))
}

/// scriptMemory(): used_memory_vm_eval, used_memory_scripts_eval, number_of_cached_scripts,
/// used_memory_vm_functions, used_memory_functions, number_of_functions, number_of_libraries.
fn script_memory(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (vm_eval, scripts_eval, cached) = eval::memory_info();
    let (vm_functions, functions_mem, nfunctions, nlibraries) = functions::memory_info();
    let values: Vec<JsValue> = [vm_eval, scripts_eval, cached, vm_functions, functions_mem, nfunctions, nlibraries].iter().map(|v| env.double(*v as f64)).collect();
    env.array(&values)
}

/// takeScriptErrors(): the error codes of commands that failed in the last run.
fn take_script_errors(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let codes = LEFT.with(|l| std::mem::take(&mut l.borrow_mut().1));
    let values: Vec<JsValue> = codes.iter().map(|c| env.string(c)).collect();
    env.array(&values)
}

/// takeScriptStats(): what did not fit in the statistics log, flattened like it.
fn take_script_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let stats = LEFT.with(|l| std::mem::take(&mut l.borrow_mut().0));
    let values: Vec<JsValue> = stats.iter().flat_map(|s| [s.id as f64, s.calls as f64, s.usec as f64, s.failed as f64, s.rejected as f64]).map(|v| env.double(v)).collect();
    env.array(&values)
}

/// functionsFlush(): drops every library (DEBUG RELOAD empties them before reloading).
fn functions_flush(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    if super::lua::library().is_ok() {
        functions::flush()?;
    }
    Ok(env.undefined())
}

/// scriptRun(kind, input, out): EVAL/EVALSHA/_RO or FCALL/_RO on the request whose arguments
/// are the exec offsets into `input`; the reply goes into `out` at params[P_OUT_POS] (its
/// length is returned) or waits for takeReply (REPLY_PENDING). Scalars come from the bound
/// params array; results go back there.
fn script_run(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let kind = a.i64(env, 0)?;
    let input = a.bytes(env, 1)?;
    let p = BOUND.with(|b| {
        b.borrow().as_ref().map(|b| [P_DB, P_ARGC, P_OUT_POS, P_FLAGS, P_CLIENT_ID, P_BUSY_MS].map(|i| b.params.get(i)))
    });
    let Some([db, argc, out_pos, flags, client_id, busy_ms]) = p else { return Err("script parameters are not bound".into()) };
    let argc = argc.max(0) as usize;
    let offsets = crate::exec_offsets(argc)?;
    let args = Args::new(input, &offsets)?;
    let argv: Vec<Vec<u8>> = args.iter().map(|x| x.to_vec()).collect();
    let caller = Caller {
        db: db.max(0) as usize,
        resp3: flags & F_RESP3 != 0,
        in_multi: flags & F_IN_MULTI != 0,
        client_id: client_id as u32 as u64,
        writes_refused: flags & F_WRITES_REFUSED != 0,
        aof_refusal: if flags & F_WRITES_REFUSED != 0 { AOF_REFUSAL.with(|r| r.borrow().clone()) } else { None },
        readonly_replica: flags & F_READONLY_REPLICA != 0,
        noreplicas: flags & F_NOREPLICAS != 0,
        stale: flags & F_STALE != 0,
        oom: flags & F_OOM != 0,
        calls_via_ts: flags & F_CALLS_VIA_TS != 0,
        tracks_reads: flags & F_TRACKING != 0,
        busy_ms: busy_ms as i64,
    };
    let debug_fd = DEBUG_FD.with(|d| d.replace(-1));
    let debugging = flags & (F_DEBUG_SYNC | F_DEBUG_FORK) != 0 && matches!(kind, EVAL | EVAL_RO) && debug_fd >= 0;
    if debugging && flags & F_DEBUG_FORK != 0 {
        match crate::os::fork_process() {
            Err(e) => {
                let text = e.to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                return write_error_reply(env, a, out_pos, &format!("ERR Fork() failed: can't run EVAL in debugging mode: {text}"));
            }
            Ok(crate::os::Forked::Parent(pid)) => {
                super::ldb::add_child(pid);
                report(Outcome::default());
                return Ok(env.int(FORKED - pid as i64));
            }
            Ok(crate::os::Forked::Child) => forked_session(kind, argv, caller, debug_fd),
        }
    }
    if debugging {
        super::ldb::start(debug_fd, &argv[1], false);
    }
    // The script is one execution unit: what its calls propagate is wrapped in MULTI/EXEC
    // when it is more than one command (Redis 7.0's effects replication).
    crate::with_state(|st| st.ks.prop.enter());
    let outcome = REPLY.with(|reply| {
        let mut reply = reply.borrow_mut();
        reply.buf.clear();
        reply.resp3 = caller.resp3;
        let outcome = match prepare(kind, argv) {
            Ok(inv) => super::run(inv, caller, &mut reply),
            Err(e) => {
                reply.error(&e);
                Outcome::default()
            }
        };
        let out = a.bytes_mut(env, 2)?;
        let out_pos = out_pos.max(0) as usize;
        let n = reply.buf.len();
        let written = if out_pos <= out.len() && n <= out.len() - out_pos {
            out[out_pos..out_pos + n].copy_from_slice(&reply.buf);
            n as i64
        } else {
            crate::set_pending(std::mem::replace(&mut reply.buf, Vec::with_capacity(64 * 1024)));
            crate::REPLY_PENDING
        };
        Ok::<_, String>((outcome, written))
    });
    crate::with_state(|st| st.ks.prop.leave());
    if debugging {
        super::ldb::end();
    }
    let (outcome, written) = outcome?;
    report(outcome);
    Ok(env.int(written))
}

/// An error reply written as scriptRun writes replies (before any script ran).
fn write_error_reply(env: &Env, a: &JsArgs, out_pos: i32, text: &str) -> Result<JsValue, String> {
    report(Outcome::default());
    let mut reply = Reply::new();
    reply.error(text);
    let out = a.bytes_mut(env, 2)?;
    let out_pos = out_pos.max(0) as usize;
    let n = reply.buf.len();
    if out_pos <= out.len() && n <= out.len() - out_pos {
        out[out_pos..out_pos + n].copy_from_slice(&reply.buf);
        Ok(env.int(n as i64))
    } else {
        crate::set_pending(reply.buf);
        Ok(env.int(crate::REPLY_PENDING))
    }
}

/// The child of SCRIPT DEBUG YES: runs the session on the client's connection alone, sends
/// the <endsession> mark and the script's reply there, and exits. It never returns into
/// JavaScript (V8 and libuv belong to the parent): every path ends in _exit, a panic too.
fn forked_session(kind: i64, argv: Vec<Vec<u8>>, caller: Caller, fd: i32) -> ! {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        super::ldb_os::ignore_signal(super::ldb_os::SIGTERM);
        super::ldb_os::ignore_signal(super::ldb_os::SIGINT);
        // Only the debugging connection (and the standard streams) stay open: the other
        // clients see their connections as the parent keeps them.
        crate::os::close_inherited_except_all(&[fd]);
        super::ldb::start(fd, &argv[1], true);
        crate::with_state(|st| st.ks.prop.enter());
        let mut reply = Reply::new();
        reply.resp3 = caller.resp3;
        match prepare(kind, argv) {
            Ok(inv) => {
                super::run(inv, caller, &mut reply);
            }
            Err(e) => reply.error(&e),
        }
        super::ldb::end();
        super::ldb::write_to_client(fd, &reply.buf);
    }));
    crate::os::exit_now(if ran.is_ok() { 0 } else { 1 })
}

thread_local! {
    /// The connection of the next debugging session (ldbPrepare, right before scriptRun).
    static DEBUG_FD: std::cell::Cell<i32> = const { std::cell::Cell::new(-1) };
}

/// ldbEnable(): SCRIPT DEBUG YES/SYNC resets the debugger (breakpoints, maxlen...).
fn ldb_enable(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    super::ldb::enable();
    Ok(env.undefined())
}

/// ldbPrepare(fd): the debugging client's descriptor for the scriptRun that follows.
fn ldb_prepare(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    DEBUG_FD.with(|d| d.set(fd));
    Ok(env.undefined())
}

/// ldbReap(): the pids of the forked sessions that ended (reaped now), then how many remain
/// as the last element.
fn ldb_reap(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let mut v: Vec<JsValue> = super::ldb::reap_children().into_iter().map(|p| env.int(p as i64)).collect();
    v.push(env.int(super::ldb::pending_children() as i64));
    env.array(&v)
}

/// ldbKill(): SIGKILL to every forked session (shutdown); their pids.
fn ldb_kill(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let v: Vec<JsValue> = super::ldb::kill_children().into_iter().map(|p| env.int(p as i64)).collect();
    env.array(&v)
}

/// Results into the params array and the statistics log.
fn report(outcome: Outcome) {
    BOUND.with(|b| {
        let mut b = b.borrow_mut();
        let Some(b) = b.as_mut() else { return };
        let mut flags = 0;
        if outcome.write_dirty { flags |= R_WRITE_DIRTY; }
        if outcome.error_counted { flags |= R_ERROR_COUNTED; }
        if outcome.timed_out { flags |= R_TIMED_OUT; }
        b.params.set(R_FLAGS, flags);
        b.params.set(R_REPL, outcome.repl as i32);
        let room = b.log.len() / STAT_FIELDS;
        let shown = outcome.stats.len().min(room);
        for (i, s) in outcome.stats.iter().take(shown).enumerate() {
            b.log.set(i * STAT_FIELDS, s.id as i32);
            b.log.set(i * STAT_FIELDS + 1, s.calls as i32);
            b.log.set(i * STAT_FIELDS + 2, s.usec.min(i32::MAX as u64) as i32);
            b.log.set(i * STAT_FIELDS + 3, s.failed as i32);
            b.log.set(i * STAT_FIELDS + 4, s.rejected as i32);
        }
        // More distinct commands than the log holds: the rest waits for takeScriptStats
        // (its count is signalled as a negative number of entries).
        let overflow = outcome.stats.len() > shown;
        b.params.set(R_STATS, if overflow { -(shown as i32) - 1 } else { shown as i32 });
        b.params.set(R_ERRORS, outcome.error_codes.len() as i32);
        LEFT.with(|l| {
            let mut l = l.borrow_mut();
            l.0 = outcome.stats[shown..].to_vec();
            l.1 = outcome.error_codes;
        });
    });
}

/// Parses numkeys ("value is not an integer" for EVAL, "Bad number of keys" for FCALL): the
/// ranges of the keys and of the other arguments.
fn split_keys(argv: &[Vec<u8>], bad: &str) -> Result<(Range<usize>, Range<usize>), String> {
    let numkeys = crate::numfmt::parse_i64(&argv[2]).ok_or_else(|| bad.to_string())?;
    if numkeys > argv.len() as i64 - 3 {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    if numkeys < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    let k = 3 + numkeys as usize;
    Ok((3..k, k..argv.len()))
}

const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Finds (or, for EVAL, compiles) what to run.
fn prepare(kind: i64, argv: Vec<Vec<u8>>) -> Result<Invocation, String> {
    if let Some(e) = super::unavailable() {
        return Err(e);
    }
    if argv.len() < 3 {
        return Err("ERR wrong number of arguments".into());
    }
    let ro = matches!(kind, EVAL_RO | EVALSHA_RO | FCALL_RO);
    match kind {
        EVAL | EVAL_RO => {
            let (keys, args) = split_keys(&argv, "ERR value is not an integer or out of range")?;
            eval::with_engine(|e| {
                let sha = e.create(&argv[1]).map_err(|m| format!("ERR {}", m.trim_end_matches(['\r', '\n'])))?;
                Ok(e.invocation(&sha, ro, argv, keys, args))
            })?
            .ok_or_else(|| NOSCRIPT.to_string())
        }
        EVALSHA | EVALSHA_RO => {
            if argv[1].len() != 40 {
                return Err(NOSCRIPT.into());
            }
            let (keys, args) = split_keys(&argv, "ERR value is not an integer or out of range")?;
            let sha: [u8; 40] = argv[1].to_ascii_lowercase().try_into().map_err(|_| NOSCRIPT.to_string())?;
            eval::with_engine(|e| Ok(e.invocation(&sha, ro, argv, keys, args)))?.ok_or_else(|| NOSCRIPT.to_string())
        }
        FCALL | FCALL_RO => {
            let found = functions::with_engine(|e| Ok(e.find_function(&argv[1]).is_some()))?;
            if !found {
                return Err("ERR Function not found".into());
            }
            let (keys, args) = split_keys(&argv, "ERR Bad number of keys provided")?;
            let name = argv[1].clone();
            functions::with_engine(|e| Ok(e.invocation(&name, ro, argv, keys, args)))?.ok_or_else(|| "ERR Function not found".to_string())
        }
        _ => Err("ERR unknown script kind".into()),
    }
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    let exported: &[(&str, napi::NativeFn)] = &[
        ("scriptingStatus", scripting_status),
        ("bindScriptHost", bind_script_host),
        ("bindScriptParams", bind_script_params),
        ("setScriptCommand", set_script_command),
        ("scriptFlags", script_flags),
        ("scriptMemory", script_memory),
        ("scriptRun", script_run),
        ("scriptAofRefusal", script_aof_refusal),
        ("takeScriptErrors", take_script_errors),
        ("takeScriptStats", take_script_stats),
        ("functionsFlush", functions_flush),
        ("ldbEnable", ldb_enable),
        ("ldbPrepare", ldb_prepare),
        ("ldbReap", ldb_reap),
        ("ldbKill", ldb_kill),
    ];
    for (name, f) in exported {
        env.export(exports, name, *f)?;
    }
    Ok(())
}
