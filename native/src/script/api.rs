//! The `redis` table scripts see (script_lua.c's luaRegisterRedisAPI and eval.c's additions),
//! the message handler that turns errors into Redis's error tables, and Redis's math.random.

use super::args::{arg_error, check_int};
use super::convert::push_error_table;
use super::lua::{Lua, LuaFn, Raise, Type, REGISTRY};
use super::{host, with_run, REPL_AOF, REPL_REPLICA};
use std::cell::Cell;
use std::ffi::c_int;

pub const REDIS_VERSION: &str = "7.0.15";
pub const REDIS_VERSION_NUM: f64 = 0x0007_000f as f64;

/// Which interpreter the table is for: eval scripts get the debugger stubs and
/// replicate_commands; function libraries do not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Eval,
    Function,
}

/// luaPushError + luaError: raises {err="ERR <msg>"}.
pub fn raise(lua: Lua, msg: &str) -> Raise {
    push_error_table(lua, msg.as_bytes());
    Raise
}

/// Pushes the `redis` table.
pub fn push_redis_table(lua: Lua, kind: Kind) {
    lua.new_table();
    let functions: &[(&str, LuaFn)] = &[
        ("call", super::call::call),
        ("pcall", super::call::pcall),
        ("log", log),
        ("setresp", setresp),
        ("sha1hex", sha1hex),
        ("error_reply", error_reply),
        ("status_reply", status_reply),
        ("set_repl", set_repl),
        ("acl_check_cmd", acl_check_cmd),
    ];
    for (name, f) in functions {
        lua.push_fn(*f);
        lua.raw_set_field(-2, name);
    }
    push_log_levels(lua);
    push_version(lua);
    for (name, v) in [("REPL_NONE", 0), ("REPL_AOF", REPL_AOF), ("REPL_SLAVE", REPL_REPLICA), ("REPL_REPLICA", REPL_REPLICA), ("REPL_ALL", REPL_AOF | REPL_REPLICA)] {
        lua.push_number(v as f64);
        lua.raw_set_field(-2, name);
    }
    if kind == Kind::Eval {
        for (name, f) in [("breakpoint", super::ldb::breakpoint as LuaFn), ("debug", super::ldb::debug), ("replicate_commands", replicate_commands)] {
            lua.push_fn(f);
            lua.raw_set_field(-2, name);
        }
    }
}

pub fn push_log_levels(lua: Lua) {
    lua.push_fn(log);
    lua.raw_set_field(-2, "log");
    for (name, level) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        lua.push_number(level as f64);
        lua.raw_set_field(-2, name);
    }
}

pub fn push_version(lua: Lua) {
    lua.push_number(REDIS_VERSION_NUM);
    lua.raw_set_field(-2, "REDIS_VERSION_NUM");
    lua.push_str(REDIS_VERSION);
    lua.raw_set_field(-2, "REDIS_VERSION");
}

/// Replaces math.random and math.randomseed with Redis's (same sequence on every platform).
pub fn replace_math_random(lua: Lua) {
    lua.raw_get_field(super::lua::GLOBALS, "math");
    lua.push_fn(math_random);
    lua.raw_set_field(-2, "random");
    lua.push_fn(math_randomseed);
    lua.raw_set_field(-2, "randomseed");
    lua.pop(1);
}

/// The message handler: any error becomes {err="ERR ...", source=..., line=...} with the
/// position of the Lua code that raised it (the caller's, when a C function raised it).
pub fn error_handler(lua: Lua) -> Result<c_int, Raise> {
    let mut at = lua.position(1);
    if at.as_ref().is_some_and(|p| p.what == "C") {
        at = lua.position(2);
    }
    if lua.type_of(1) == Type::Table {
        lua.push_value(1);
    } else {
        let text = tostring(lua, 1);
        lua.new_table();
        let mut msg = b"ERR ".to_vec();
        msg.extend_from_slice(&text);
        lua.push_bytes(&msg);
        lua.raw_set_field(-2, "err");
    }
    if let Some(p) = at {
        lua.push_bytes(&p.source);
        lua.raw_set_field(-2, "source");
        lua.push_number(p.line as f64);
        lua.raw_set_field(-2, "line");
    }
    Ok(1)
}

/// tostring() for the values an error can be (tables are handled by the caller).
fn tostring(lua: Lua, idx: c_int) -> Vec<u8> {
    match lua.type_of(idx) {
        Type::String | Type::Number => {
            lua.push_value(idx);
            let s = lua.to_bytes(-1).unwrap_or_default().to_vec();
            lua.pop(1);
            s
        }
        Type::Nil | Type::None => b"nil".to_vec(),
        Type::Boolean => if lua.to_boolean(idx) { b"true".to_vec() } else { b"false".to_vec() },
        t => {
            let p = lua.to_pointer(idx);
            let name = super::args::type_name(t);
            if p.is_null() { format!("{name}: (nil)").into_bytes() } else { format!("{name}: {p:p}").into_bytes() }
        }
    }
}

fn log(lua: Lua) -> Result<c_int, Raise> {
    let argc = lua.top();
    if argc < 2 {
        return Err(raise(lua, "redis.log() requires two arguments or more."));
    }
    if !lua.is_number(1) {
        return Err(raise(lua, "First argument must be a number (log level)."));
    }
    let level = super::args::number_to_integer(lua.to_number(1)) as i32;
    if !(0..=3).contains(&level) {
        return Err(raise(lua, "Invalid debug level."));
    }
    let mut msg = Vec::new();
    for j in 2..=argc {
        if let Some(s) = lua.to_bytes(j) {
            if j != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(s);
        }
    }
    host::log(level as i64, &msg);
    Ok(0)
}

fn setresp(lua: Lua) -> Result<c_int, Raise> {
    if !super::is_running() {
        return Err(raise(lua, "redis.setresp can only be called inside a script invocation"));
    }
    if lua.top() != 1 {
        return Err(raise(lua, "redis.setresp() requires one argument."));
    }
    let resp = super::args::number_to_integer(lua.to_number(1)) as i32;
    if resp != 2 && resp != 3 {
        return Err(raise(lua, "RESP version must be 2 or 3."));
    }
    with_run(|r| r.resp3 = resp == 3);
    Ok(0)
}

fn sha1hex(lua: Lua) -> Result<c_int, Raise> {
    if lua.top() != 1 {
        return Err(raise(lua, "wrong number of arguments"));
    }
    let digest = crate::digest::sha1(lua.to_bytes(1).unwrap_or_default());
    lua.push_str(&crate::digest::to_hex(&digest));
    Ok(1)
}

fn error_reply(lua: Lua) -> Result<c_int, Raise> {
    if lua.top() != 1 || lua.type_of(-1) != Type::String {
        push_error_table(lua, b"wrong number or type of arguments");
        return Ok(1);
    }
    let s = lua.to_bytes(-1).unwrap_or_default();
    let mut text = Vec::with_capacity(s.len() + 1);
    if s.first() != Some(&b'-') {
        text.push(b'-');
    }
    text.extend_from_slice(s);
    push_error_table(lua, &text);
    Ok(1)
}

fn status_reply(lua: Lua) -> Result<c_int, Raise> {
    if lua.top() != 1 || lua.type_of(-1) != Type::String {
        push_error_table(lua, b"wrong number or type of arguments");
        return Ok(1);
    }
    lua.new_table();
    lua.push_value(-2);
    lua.raw_set_field(-2, "ok");
    Ok(1)
}

fn set_repl(lua: Lua) -> Result<c_int, Raise> {
    if !super::is_running() {
        return Err(raise(lua, "redis.set_repl can only be called inside a script invocation"));
    }
    if lua.top() != 1 {
        return Err(raise(lua, "redis.set_repl() requires two arguments."));
    }
    let flags = super::args::number_to_integer(lua.to_number(-1)) as i32;
    if flags & !((REPL_AOF | REPL_REPLICA) as i32) != 0 {
        return Err(raise(lua, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."));
    }
    with_run(|r| r.repl = flags as u32);
    Ok(0)
}

/// redis.acl_check_cmd: whether the caller may run the command (asked of TypeScript when the
/// caller's user has restrictions; nothing is logged).
fn acl_check_cmd(lua: Lua) -> Result<c_int, Raise> {
    if !super::is_running() {
        return Err(raise(lua, "redis.acl_check_cmd can only be called inside a script invocation"));
    }
    let argc = lua.top();
    if argc == 0 {
        return Err(raise(lua, "Please specify at least one argument for this redis lib call"));
    }
    let mut argv = Vec::new();
    for j in 1..=argc {
        match lua.type_of(j) {
            Type::Number | Type::String => argv.push(lua.to_bytes(j).unwrap_or_default().to_vec()),
            _ => return Err(raise(lua, "Lua redis lib command arguments must be strings or integers")),
        }
    }
    let found = super::call::lookup(&argv[0], argv.get(1).map(|v| v.as_slice())).is_some();
    let restricted = super::with_run(|r| r.caller.calls_via_ts).unwrap_or(false);
    let allowed = if !found || !restricted {
        Ok(true)
    } else {
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        super::host::acl_check(&refs, false).map(|denied| denied.is_none())
    };
    drop(argv);
    if !found {
        return Err(raise(lua, "Invalid command passed to redis.acl_check_cmd()"));
    }
    match allowed {
        Ok(allowed) => lua.push_bool(allowed),
        Err(e) => return Err(raise(lua, &e)),
    }
    Ok(1)
}

/// Outside the debugger (SCRIPT DEBUG) these do nothing, as in Redis.
fn replicate_commands(lua: Lua) -> Result<c_int, Raise> {
    lua.push_bool(true);
    Ok(1)
}

// Redis's PRNG (rand.c: the 48-bit linear congruential generator of drand48), shared by every
// script, seeded with the classic initial value.
thread_local! {
    static RAND48: Cell<u64> = const { Cell::new(0x1234_ABCD_330E) };
}

const RAND48_MAX: i64 = i32::MAX as i64;

fn lrand48() -> i64 {
    RAND48.with(|x| {
        let next = (x.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & ((1u64 << 48) - 1);
        x.set(next);
        (next >> 17) as i64
    })
}

fn srand48(seed: i32) {
    RAND48.with(|x| x.set((((seed as u32) as u64) << 16) | 0x330E));
}

fn math_random(lua: Lua) -> Result<c_int, Raise> {
    if !super::is_running() {
        return Err(lua.error_with_where("math.random can only be called inside a script invocation"));
    }
    let r = (lrand48() % RAND48_MAX) as f64 / RAND48_MAX as f64;
    match lua.top() {
        0 => lua.push_number(r),
        1 => {
            let u = check_int(lua, 1)?;
            if u < 1 {
                return Err(arg_error(lua, 1, "interval is empty"));
            }
            lua.push_number((r * u as f64).floor() + 1.0);
        }
        2 => {
            let l = check_int(lua, 1)?;
            let u = check_int(lua, 2)?;
            if l > u {
                return Err(arg_error(lua, 2, "interval is empty"));
            }
            lua.push_number((r * (u as f64 - l as f64 + 1.0)).floor() + l as f64);
        }
        _ => return Err(lua.error_with_where("wrong number of arguments")),
    }
    Ok(1)
}

fn math_randomseed(lua: Lua) -> Result<c_int, Raise> {
    if !super::is_running() {
        return Err(lua.error_with_where("math.randomseed can only be called inside a script invocation"));
    }
    srand48(check_int(lua, 1)?);
    Ok(0)
}

/// Stores the message handler in the registry; returns its reference.
pub fn register_error_handler(lua: Lua) -> c_int {
    lua.push_fn(error_handler);
    let r = lua.registry_ref();
    let _ = REGISTRY;
    r
}
