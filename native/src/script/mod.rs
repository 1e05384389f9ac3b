//! Scripting: EVAL/EVALSHA and FUNCTION/FCALL on Lua 5.1 with Redis 7.0's environment.
//!
//! - `lua` binds liblua (dlopen'd) and holds every unsafe block of scripting;
//! - `env` builds the sandbox (libraries, read-only globals, no bytecode);
//! - `api` is the `redis` table and Redis's math.random; `call` is redis.call/pcall, which runs
//!   native commands here, in Rust, and TypeScript commands through `host`;
//! - `convert` turns replies into Lua values and back; `cjson`, `cmsgpack`, `lstruct`, `bit`
//!   are Redis's C libraries rewritten;
//! - `eval` is the script cache and SCRIPT; `functions` the libraries and FUNCTION;
//! - this file runs one script (`run`) with its context (`Run`), which redis.call and the
//!   count hook read while the script executes.
//!
//! Borrowing. A script runs outside every RefCell borrow: `with_state` is borrowed by redis.call
//! only for the command it runs, the engines only to look a script up. JavaScript (TypeScript
//! commands, logging, and the event pump of a busy script) is called from inside the script with
//! no borrow held, so whatever it calls back natively finds the state free.

pub mod api;
pub mod args;
pub mod bit;
pub mod call;
pub mod cjson;
pub mod cmsgpack;
pub mod commands;
pub mod convert;
pub mod env;
pub mod eval;
pub mod exports;
pub mod functions;
pub mod host;
pub mod ldb;
mod ldb_os;
pub mod lstruct;
pub mod lua;
pub mod shebang;

use std::borrow::Cow;
use crate::reply::Reply;
use lua::{Lua, Raise, Type, REGISTRY};
use std::cell::RefCell;
use std::ffi::c_int;
use std::time::Instant;

/// Script flags (shebang `flags=` and FUNCTION flags), in Redis's listing order.
pub const NO_WRITES: u32 = 1;
pub const ALLOW_OOM: u32 = 2;
pub const ALLOW_STALE: u32 = 4;
pub const NO_CLUSTER: u32 = 8;
pub const ALLOW_CROSS_SLOT: u32 = 16;
/// An EVAL script without a shebang: Redis's backward-compatible mode, where flags are not
/// checked before the run.
pub const EVAL_COMPAT: u32 = 1 << 31;

pub const FLAG_NAMES: [(u32, &str); 5] =
    [(NO_WRITES, "no-writes"), (ALLOW_OOM, "allow-oom"), (ALLOW_STALE, "allow-stale"), (NO_CLUSTER, "no-cluster"), (ALLOW_CROSS_SLOT, "allow-cross-slot-keys")];

/// Propagation targets of redis.set_repl.
pub const REPL_AOF: u32 = 1;
pub const REPL_REPLICA: u32 = 2;

/// The Redis errors scripting shares with the dispatcher.
pub const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// Why scripting cannot run: the library could not be loaded.
pub fn unavailable() -> Option<String> {
    lua::library().err().map(|e| format!("ERR scripting is unavailable: {e}; {}", lua::PACKAGE_HINT))
}

/// Replaces an engine with a fresh one (SCRIPT FLUSH, FUNCTION FLUSH), closing the old interpreter.
pub fn renew<E>(engine: &'static std::thread::LocalKey<RefCell<Option<E>>>, lua_of: fn(&E) -> Lua, make: fn() -> Result<E, String>) -> Result<(), String> {
    if let Some(old) = engine.with(|e| e.borrow_mut().take()) {
        lua_of(&old).close();
    }
    let fresh = make()?;
    engine.with(|e| *e.borrow_mut() = Some(fresh));
    Ok(())
}

/// What the caller of a script brings (from TypeScript).
#[derive(Clone)]
pub struct Caller {
    pub db: usize,
    pub resp3: bool,
    pub in_multi: bool,
    pub client_id: u64,
    /// Writes are refused (MISCONF).
    pub writes_refused: bool,
    /// The refusal is the AOF's (`MISCONF Errors writing to the AOF file: ...`), not a failed
    /// background save's: its text, which scripts and their calls get as well.
    pub aof_refusal: Option<String>,
    /// A read-only replica runs the script for one of its clients (not for its master).
    pub readonly_replica: bool,
    /// min-replicas-to-write is not met (NOREPLICAS).
    pub noreplicas: bool,
    /// A replica whose link to its master is down, with replica-serve-stale-data no.
    pub stale: bool,
    /// Used memory is over maxmemory (the memory owner's hook; false until maxmemory exists).
    pub oom: bool,
    /// Every redis.call goes through TypeScript (the ACL hook: a restricted user's checks live there).
    pub calls_via_ts: bool,
    /// The caller tracks keys for client-side caching (default mode, caching on for this
    /// command): each read command the script runs makes it remember the script's KEYS, as
    /// Redis 7.0's trackingRememberKeys does with the caller's own command.
    pub tracks_reads: bool,
    /// busy-reply-threshold in ms (0: no timeout handling).
    pub busy_ms: i64,
}

/// One command's statistics gathered during a run, for TypeScript's commandstats.
#[derive(Clone, Copy, Default)]
pub struct CallStat {
    /// The command's id (setScriptCommand's registration number).
    pub id: usize,
    pub calls: u32,
    pub usec: u64,
    pub failed: u32,
    pub rejected: u32,
}

/// The running script's context: what redis.call, the hook and SCRIPT KILL consult.
pub struct Run {
    pub caller: Caller,
    /// The EVAL/FCALL command that runs the script (FUNCTION STATS shows it).
    pub argv: Vec<Vec<u8>>,
    /// Where KEYS are in `argv`.
    pub keys: std::ops::Range<usize>,
    /// The script client's database (SELECT inside a script changes it) and protocol.
    pub db: usize,
    pub resp3: bool,
    pub read_only: bool,
    pub allow_oom: bool,
    pub eval_mode: bool,
    pub name: String,
    /// A write command was called: SCRIPT KILL answers UNKILLABLE from now on.
    pub write_dirty: bool,
    pub killed: bool,
    pub timed_out: bool,
    pub start: Instant,
    /// The clock commands see during the script (Redis freezes it for key expiry).
    pub snapshot_ms: i64,
    pub repl: u32,
    /// redis.call's argument scratch (bytes and [start, end) offsets), reused across calls.
    pub scratch: Vec<u8>,
    pub offsets: Vec<i32>,
    pub reply: Reply,
    pub stats: Vec<CallStat>,
    pub error_codes: Vec<String>,
    /// Client descriptors the busy pump watches (given by TypeScript when the script timed out).
    pub watched: Vec<i32>,
}

thread_local! {
    pub static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// Runs `f` on the running script's context; None when no script runs.
pub fn with_run<R>(f: impl FnOnce(&mut Run) -> R) -> Option<R> {
    RUN.with(|r| r.borrow_mut().as_mut().map(f))
}

pub fn is_running() -> bool {
    RUN.with(|r| r.try_borrow().map(|r| r.is_some()).unwrap_or(true))
}

/// What to run: a compiled function of one of the two engines.
pub struct Invocation {
    pub lua: Lua,
    /// Registry reference of the function.
    pub function: c_int,
    /// Registry reference of the message handler.
    pub handler: c_int,
    pub eval_mode: bool,
    pub name: String,
    pub flags: u32,
    pub ro: bool,
    /// The command's arguments; KEYS and ARGV are the ranges `keys` and `args` of them.
    pub argv: Vec<Vec<u8>>,
    pub keys: std::ops::Range<usize>,
    pub args: std::ops::Range<usize>,
}

/// What a run left for TypeScript besides its reply.
#[derive(Default)]
pub struct Outcome {
    pub write_dirty: bool,
    /// The reply is an error whose statistics were already counted (a command's error).
    pub error_counted: bool,
    pub timed_out: bool,
    pub stats: Vec<CallStat>,
    pub error_codes: Vec<String>,
    pub repl: u32,
}

/// scriptPrepareForRun's refusals, before anything runs.
fn refusal(inv: &Invocation, caller: &Caller) -> Option<Cow<'static, str>> {
    if inv.flags & EVAL_COMPAT != 0 {
        return caller.stale.then_some("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.".into());
    }
    if caller.stale && inv.flags & ALLOW_STALE == 0 {
        return Some("-MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.".into());
    }
    // no-writes implies allow-oom (Redis's scriptPrepareForRun).
    if inv.flags & (ALLOW_OOM | NO_WRITES) == 0 && caller.oom {
        return Some("-OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'".into());
    }
    if inv.flags & NO_WRITES == 0 {
        if caller.readonly_replica {
            return Some("-READONLY Can not run script with write flag on readonly replica".into());
        }
        if caller.writes_refused {
            return Some(match &caller.aof_refusal {
                Some(aof) => format!("-{aof}").into(),
                None => "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".into(),
            });
        }
        if caller.noreplicas {
            return Some(call::NOREPLICAS.into());
        }
        if inv.ro {
            return Some("Can not execute a script with write flag using *_ro command.".into());
        }
    }
    None
}

/// redis.call's working buffers, kept from one run to the next (a script run should not cost a
/// 64 KB allocation).
struct Spare {
    scratch: Vec<u8>,
    offsets: Vec<i32>,
    reply: Reply,
}

thread_local! {
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
}

/// Redis runs an incremental GC step every this many scripts (LUA_GC_CYCLE_PERIOD).
const GC_PERIOD: u32 = 50;
thread_local! {
    static RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs a script to completion and writes its reply (or error) into `out`.
pub fn run(inv: Invocation, caller: Caller, out: &mut Reply) -> Outcome {
    out.resp3 = caller.resp3;
    if let Some(err) = refusal(&inv, &caller) {
        convert::write_error(out, err.as_bytes());
        return Outcome::default();
    }
    let lua = inv.lua;
    if !lua.check_stack(8) {
        out.error("ERR reached lua stack limit");
        return Outcome::default();
    }
    let base = lua.top();
    let read_only = inv.ro || (inv.flags & EVAL_COMPAT == 0 && inv.flags & NO_WRITES != 0);
    let allow_oom = inv.flags & EVAL_COMPAT == 0 && inv.flags & ALLOW_OOM != 0;
    let busy_ms = caller.busy_ms;
    let spare = SPARE.with(|s| s.borrow_mut().take()).unwrap_or_else(|| Spare { scratch: Vec::with_capacity(256), offsets: Vec::with_capacity(16), reply: Reply::new() });
    lua.raw_geti(REGISTRY, inv.handler);
    let handler = lua.top();
    lua.raw_geti(REGISTRY, inv.function);
    let (keys, args) = (&inv.argv[inv.keys.clone()], &inv.argv[inv.args.clone()]);
    let nargs = if inv.eval_mode {
        set_global_array(lua, "KEYS", keys);
        set_global_array(lua, "ARGV", args);
        0
    } else {
        push_array(lua, keys);
        push_array(lua, args);
        2
    };
    let run = Run {
        argv: inv.argv,
        keys: inv.keys.clone(),
        db: caller.db,
        resp3: false,
        read_only,
        allow_oom,
        eval_mode: inv.eval_mode,
        name: inv.name.clone(),
        write_dirty: false,
        killed: false,
        timed_out: false,
        start: Instant::now(),
        snapshot_ms: crate::now_ms(),
        repl: REPL_AOF | REPL_REPLICA,
        scratch: spare.scratch,
        offsets: spare.offsets,
        reply: spare.reply,
        stats: Vec::new(),
        error_codes: Vec::new(),
        watched: Vec::new(),
        caller,
    };
    RUN.with(|r| *r.borrow_mut() = Some(run));
    // A debugging session replaces the busy handling: its hook stops the script instead.
    let debugging = inv.eval_mode && ldb::is_active();
    if debugging {
        lua.set_hook(Some(ldb::hook), lua::MASK_LINE | lua::MASK_COUNT, 100_000);
    } else if busy_ms > 0 {
        lua.set_hook(Some(count_hook), lua::MASK_COUNT, 100_000);
    }
    let result = lua.pcall(nargs, 1, handler);
    if debugging || busy_ms > 0 {
        lua.set_hook(None, 0, 0);
    }
    RUNS.with(|n| {
        let runs = n.get() + 1;
        n.set(if runs == GC_PERIOD { 0 } else { runs });
        if runs == GC_PERIOD {
            lua.gc_step(GC_PERIOD as c_int);
        }
    });
    let mut run = RUN.with(|r| r.borrow_mut().take()).expect("the run context is present until the script ends");
    let reply = std::mem::replace(&mut run.reply, Reply { buf: Vec::new(), resp3: false, closing_bytes: 0 });
    let spare = Spare { scratch: std::mem::take(&mut run.scratch), offsets: std::mem::take(&mut run.offsets), reply };
    SPARE.with(|s| *s.borrow_mut() = Some(spare));
    let mut outcome = Outcome {
        write_dirty: run.write_dirty,
        error_counted: false,
        timed_out: run.timed_out,
        stats: run.stats,
        error_codes: run.error_codes,
        repl: run.repl,
    };
    match result {
        Ok(()) => {
            outcome.error_counted = convert::write_value(lua, out, run.resp3);
        }
        Err(_) => {
            if lua.type_of(-1) != Type::Table {
                let msg = lua.to_bytes(-1).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_else(|| "execution failure".into());
                let msg: String = msg.chars().take(100).collect();
                out.error(&format!("ERR Error running script {}, {}", run.name, msg));
            } else {
                let info = convert::error_info(lua);
                let mut text = b"-".to_vec();
                match &info.msg {
                    Some(m) => text.extend_from_slice(m),
                    None => text.extend_from_slice(b"ERR the script raised an error without a message"),
                }
                if let (Some(line), Some(source)) = (&info.line, &info.source) {
                    text.extend_from_slice(format!(" script: {}, on ", run.name).as_bytes());
                    text.extend_from_slice(source);
                    text.push(b':');
                    text.extend_from_slice(line);
                    text.push(b'.');
                }
                convert::write_error(out, &text);
                outcome.error_counted = info.counted;
            }
            lua.pop(1);
        }
    }
    lua.set_top(base);
    outcome
}

fn push_array(lua: Lua, items: &[Vec<u8>]) {
    lua.create_table(items.len().min(1 << 20) as c_int, 0);
    for (i, item) in items.iter().enumerate() {
        lua.push_bytes(item);
        lua.raw_seti(-2, i as c_int + 1);
    }
}

/// KEYS and ARGV are globals of eval scripts, written past the read-only protection.
fn set_global_array(lua: Lua, name: &str, items: &[Vec<u8>]) {
    lua.raw_get_field(REGISTRY, env::REAL_GLOBALS);
    push_array(lua, items);
    lua.raw_set_field(-2, name);
    lua.pop(1);
}

/// The count hook (every 100k instructions): past busy-reply-threshold the script has timed
/// out; from then on each call lets the event pump answer other clients, and a SCRIPT KILL
/// (or FUNCTION KILL) seen there ends the script.
fn count_hook(lua: Lua) -> Result<(), Raise> {
    let state = with_run(|r| {
        let elapsed = r.start.elapsed().as_millis() as i64;
        let first = !r.timed_out && elapsed >= r.caller.busy_ms;
        if first {
            r.timed_out = true;
        }
        (r.timed_out, first, elapsed, r.eval_mode, r.name.clone())
    });
    let Some((timed_out, first, elapsed, eval_mode, name)) = state else { return Ok(()) };
    if !timed_out {
        return Ok(());
    }
    if first {
        let what = if eval_mode { "SCRIPT KILL" } else { "FUNCTION KILL" };
        host::log(3, format!("Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {what} command. Script name is: {name}.").as_bytes());
        let fds = host::busy_started();
        with_run(|r| r.watched = fds);
    }
    host::pump();
    if with_run(|r| r.killed).unwrap_or(false) {
        host::log(3, b"Lua script killed by user with SCRIPT KILL.");
        // Every line from now on raises again, so pcall cannot swallow the kill.
        lua.set_hook(Some(kill_hook), lua::MASK_LINE, 0);
        return Err(killed_error(lua));
    }
    Ok(())
}

fn kill_hook(lua: Lua) -> Result<(), Raise> {
    Err(killed_error(lua))
}

fn killed_error(lua: Lua) -> Raise {
    convert::push_error_table(lua, b"Script killed by user with SCRIPT KILL...");
    Raise
}
