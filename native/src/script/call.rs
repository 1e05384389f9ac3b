//! redis.call and redis.pcall: the checks Redis applies to a script's command (scriptCall:
//! lookup and arity, `noscript`, writes in a read-only script or while writes are refused, the
//! OOM rule, ACL), then the command itself: a native one runs right here on the keyspace, a
//! TypeScript one through the host. The reply comes back as Lua values (convert.rs).

use super::convert::{push_error_table, push_reply};
use super::lua::{Lua, Raise, Type};
use super::{host, with_run, CallStat};
use crate::command::Args;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Command flags the checks need (TypeScript registers them from the command table).
pub const CMD_WRITE: u32 = 1;
pub const CMD_DENYOOM: u32 = 2;
pub const CMD_NOSCRIPT: u32 = 4;
pub const CMD_CONTAINER: u32 = 8;
pub const CMD_READONLY: u32 = 16;
pub const CMD_STALE: u32 = 32;
/// Redis's CMD_MAY_REPLICATE (PUBLISH, PFCOUNT...): a read-only script may not call it, so that
/// one runs safely under CLIENT PAUSE WRITE.
pub const CMD_MAY_REPLICATE: u32 = 64;

#[derive(Clone, Copy)]
pub struct CommandInfo {
    /// The command's number in registration order: how statistics name it to TypeScript.
    pub id: usize,
    /// Index of the native handler, or None for a TypeScript command.
    pub native: Option<usize>,
    pub arity: i32,
    pub flags: u32,
}

/// DEBUG SET-DISABLE-DENY-SCRIPTS: when set, scripts may call `noscript` commands (Redis's
/// `server.script_disable_deny_script`, a testing switch).
static DENY_SCRIPT_DISABLED: AtomicBool = AtomicBool::new(false);

pub fn set_deny_script_disabled(disabled: bool) { DENY_SCRIPT_DISABLED.store(disabled, Ordering::Relaxed); }

thread_local! {
    static TABLE: RefCell<HashMap<Box<[u8]>, CommandInfo>> = RefCell::new(HashMap::new());
}

/// Registers a command ("get", "config|get") for scripts; `id` is how statistics name it.
pub fn register(name: &str, id: usize, native: i32, arity: i32, flags: u32) {
    let info = CommandInfo { id, native: usize::try_from(native).ok(), arity, flags };
    TABLE.with(|t| t.borrow_mut().insert(name.as_bytes().into(), info));
}

/// lookupCommand: a container with arguments resolves to its subcommand.
pub fn lookup(argv0: &[u8], argv1: Option<&[u8]>) -> Option<CommandInfo> {
    const MAX: usize = 64;
    if argv0.len() > MAX {
        return None;
    }
    // Lower-cased on the stack: this runs for every redis.call.
    let mut name = [0u8; 2 * MAX + 1];
    let n = argv0.len();
    for (d, s) in name.iter_mut().zip(argv0) {
        *d = s.to_ascii_lowercase();
    }
    TABLE.with(|t| {
        let t = t.borrow();
        let base = *t.get(&name[..n])?;
        match argv1 {
            Some(sub) if base.flags & CMD_CONTAINER != 0 => {
                if sub.len() > MAX {
                    return None;
                }
                name[n] = b'|';
                for (d, s) in name[n + 1..].iter_mut().zip(sub) {
                    *d = s.to_ascii_lowercase();
                }
                t.get(&name[..n + 1 + sub.len()]).copied()
            }
            _ => Some(base),
        }
    })
}

/// A forked debugging session cannot enter JavaScript, where this command (or the caller's
/// ACL and routing checks) lives: SCRIPT DEBUG SYNC runs it.
const FORKED_SESSION: &str = "this command cannot run in a forked debugging session (SCRIPT DEBUG YES) of keyfork: use SCRIPT DEBUG SYNC";

pub const NOREPLICAS: &str = "-NOREPLICAS Not enough good replicas to write.";
const MISCONF: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

pub fn call(lua: Lua) -> Result<c_int, Raise> {
    generic(lua, true)
}

pub fn pcall(lua: Lua) -> Result<c_int, Raise> {
    generic(lua, false)
}

/// Pushes {err=...} and raises it for redis.call, returns it for redis.pcall.
fn fail(lua: Lua, raise: bool, msg: &[u8], counted: bool) -> Result<c_int, Raise> {
    push_error_table(lua, msg);
    if counted {
        lua.push_bool(true);
        lua.raw_set_field(-2, "ignore_error_stats_update");
    }
    if raise { Err(Raise) } else { Ok(1) }
}

fn generic(lua: Lua, raise: bool) -> Result<c_int, Raise> {
    if !super::is_running() {
        push_error_table(lua, b"redis.call/pcall can only be called inside a script invocation");
        return Err(Raise);
    }
    let argc = lua.top();
    if argc == 0 {
        return fail(lua, raise, b"Please specify at least one argument for this redis lib call", false);
    }
    let converted = with_run(|r| {
        r.scratch.clear();
        r.offsets.clear();
        for j in 1..=argc {
            let start = r.scratch.len() as i32;
            match lua.type_of(j) {
                // lua_tolstring would format with %.14g and lose precision.
                Type::Number => {
                    let mut buf = [0u8; crate::rdb::numeric::G17_BUF_LEN];
                    let n = crate::rdb::numeric::format_double_g17(lua.to_number(j), &mut buf);
                    r.scratch.extend_from_slice(&buf[..n]);
                }
                Type::String => r.scratch.extend_from_slice(lua.to_bytes(j).unwrap_or_default()),
                _ => return false,
            }
            r.offsets.push(start);
            r.offsets.push(r.scratch.len() as i32);
        }
        true
    })
    .unwrap_or(false);
    lua.pop(argc);
    if !converted {
        return fail(lua, raise, b"Lua redis lib command arguments must be strings or integers", false);
    }
    // The debugger shows each command while stepping (and the reply, below).
    if super::ldb::is_enabled() {
        with_run(|r| {
            if let Ok(args) = Args::new(&r.scratch, &r.offsets) {
                super::ldb::log_command(&args.iter().collect::<Vec<_>>());
            }
        });
    }
    match execute() {
        Err((msg, cmd)) => {
            // Redis counts a refused call like any error reply, and as a rejected call of the
            // command when there is one; the error the script then raises is not counted again.
            with_run(|r| {
                r.error_codes.push(error_code(&super::convert::error_text(msg.as_bytes())));
                if let Some(id) = cmd {
                    stat(&mut r.stats, id).rejected += 1;
                }
            });
            fail(lua, raise, msg.as_bytes(), true)
        }
        Ok(()) => {
            let is_error = with_run(|r| {
                push_reply(lua, &r.reply.buf);
                if super::ldb::is_enabled() {
                    super::ldb::log_reply(&r.reply.buf);
                }
                r.reply.buf.first() == Some(&b'-')
            })
            .unwrap_or(false);
            if raise && is_error { Err(Raise) } else { Ok(1) }
        }
    }
}

/// Checks and runs the command in the run's scratch; its reply is left in the run's reply.
/// A refusal is the error text and the refused command's id, if it exists.
fn execute() -> Result<(), (String, Option<usize>)> {
    enum Route {
        /// The native handler's index, the command's id and its flags.
        Native(usize, usize, u32),
        TypeScript(Vec<Vec<u8>>),
    }
    let route = with_run(|r| -> Result<Route, (String, Option<usize>)> {
        let args = Args::new(&r.scratch, &r.offsets).map_err(|e| (e, None))?;
        let argc = args.len();
        let info = lookup(args.get(0), if argc > 1 { Some(args.get(1)) } else { None });
        let Some(info) = info else { return Err(("Unknown Redis command called from script".into(), None)) };
        let refuse = |msg: &str| Err((msg.to_string(), Some(info.id)));
        if (info.arity > 0 && argc as i32 != info.arity) || (argc as i32) < -info.arity {
            return refuse("Wrong number of args calling Redis command from script");
        }
        if info.flags & CMD_NOSCRIPT != 0 && !DENY_SCRIPT_DISABLED.load(Ordering::Relaxed) {
            return refuse("This Redis command is not allowed from script");
        }
        // scriptVerifyAllowStale: an allow-stale script on a stale replica runs only the
        // commands a stale replica serves.
        if r.caller.stale && info.flags & CMD_STALE == 0 {
            return refuse("Can not execute the command on a stale replica");
        }
        if r.caller.calls_via_ts && super::ldb::in_child() {
            return refuse(FORKED_SESSION);
        }
        if r.caller.calls_via_ts {
            if let Some(e) = acl_check(&args, true)? {
                return refuse(&e);
            }
        }
        // scriptVerifyWriteCommandAllow counts may-replicate commands as writes here only.
        if r.read_only && info.flags & (CMD_WRITE | CMD_MAY_REPLICATE) != 0 {
            return refuse("Write commands are not allowed from read-only scripts.");
        }
        let write = info.flags & CMD_WRITE != 0;
        if write {
            // scriptVerifyWriteCommandAllow: the server's state may refuse the first write,
            // not one after the script already changed something.
            if !r.write_dirty {
                if r.caller.readonly_replica {
                    return refuse("-READONLY You can't write against a read only replica.");
                }
                if r.caller.writes_refused {
                    // writeCommandsGetDiskErrorMessage: the failed save's text, or the AOF's.
                    return match &r.caller.aof_refusal {
                        Some(aof) => refuse(&format!("-{aof}")),
                        None => refuse(MISCONF),
                    };
                }
                if r.caller.noreplicas {
                    return refuse(NOREPLICAS);
                }
            }
        }
        if !r.allow_oom && r.caller.oom && !r.write_dirty && info.flags & CMD_DENYOOM != 0 {
            return refuse("-OOM command not allowed when used memory > 'maxmemory'.");
        }
        if write {
            r.write_dirty = true;
        }
        if info.native.is_none() && super::ldb::in_child() {
            return refuse(FORKED_SESSION);
        }
        Ok(match info.native {
            Some(index) if !r.caller.calls_via_ts => Route::Native(index, info.id, info.flags),
            _ => Route::TypeScript(args.iter().map(|a| a.to_vec()).collect()),
        })
    })
    .ok_or_else(|| ("redis.call/pcall can only be called inside a script invocation".to_string(), None))??;
    match route {
        Route::Native(index, id, flags) => with_run(|r| {
            let args = Args::new(&r.scratch, &r.offsets).map_err(|e| (e, None))?;
            r.reply.resp3 = r.resp3;
            let t0 = Instant::now();
            crate::run_for_script(index, r.db, args, &mut r.reply, r.snapshot_ms, r.caller.client_id, r.repl as u8).map_err(|e| (e, None))?;
            if r.caller.tracks_reads && flags & CMD_READONLY != 0 {
                let keys = &r.argv[r.keys.clone()];
                crate::with_state(|st| for key in keys { st.ks.tracking.remember(r.caller.client_id, key) });
            }
            let usec = t0.elapsed().as_micros() as u64;
            let failed = r.reply.buf.first() == Some(&b'-');
            if failed {
                let code = error_code(&r.reply.buf[1..]);
                r.error_codes.push(code);
            }
            let s = stat(&mut r.stats, id);
            s.calls += 1;
            s.usec += usec;
            s.failed += failed as u32;
            Ok(())
        })
        .unwrap_or_else(|| Err(("no script is running".into(), None))),
        Route::TypeScript(argv) => {
            let (db, resp3, repl) = with_run(|r| (r.db, r.resp3, r.repl as u8)).ok_or(("no script is running".to_string(), None))?;
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            // redis.set_repl masks what the command propagates of itself on this side too (the
            // native commands TypeScript's dispatch runs for it).
            crate::with_state(|st| st.ks.prop.own_targets = repl);
            let ran = host::run_ts_command(&refs, db, resp3);
            crate::with_state(|st| st.ks.prop.own_targets = crate::propagate::TARGET_ALL);
            let (reply, db) = ran.map_err(|e| (e, None))?;
            with_run(|r| {
                r.db = db;
                r.reply.buf = reply;
            });
            Ok(())
        }
    }
}

/// The ACL check, asked of TypeScript (where users live) only for a caller whose user has
/// restrictions (`calls_via_ts`, which also routes every call through TypeScript's dispatch):
/// None when the command may run, else the refusal text.
pub fn acl_check(args: &Args, log: bool) -> Result<Option<String>, (String, Option<usize>)> {
    let argv: Vec<&[u8]> = args.iter().collect();
    host::acl_check(&argv, log).map_err(|e| (e, None))
}

/// The code of an error ("WRONGTYPE Operation..." -> "WRONGTYPE"); the first word, as the
/// error statistics name it.
fn error_code(text: &[u8]) -> String {
    let end = text.iter().position(|&c| c == b' ' || c == b'\r').unwrap_or(text.len());
    String::from_utf8_lossy(&text[..end]).into_owned()
}

/// The statistics entry of command `id`, created on first use.
fn stat(stats: &mut Vec<CallStat>, id: usize) -> &mut CallStat {
    match stats.iter().position(|s| s.id == id) {
        Some(i) => &mut stats[i],
        None => {
            stats.push(CallStat { id, ..Default::default() });
            stats.last_mut().expect("just pushed")
        }
    }
}
