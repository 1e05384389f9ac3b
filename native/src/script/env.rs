//! The sandbox every script runs in, as Redis 7.0 builds it: the base, table, string and math
//! libraries plus cjson, cmsgpack, struct, bit and the `redis` table; no os/io/print/require/
//! loadfile/dofile/getfenv/setfenv/newproxy; bytecode refused by load/loadstring; globals and
//! every library table read-only.
//!
//! Read-only tables. Redis patches Lua with a per-table read-only flag; keyfork uses the
//! system's unpatched liblua, so a protected table is an empty *proxy* whose metatable
//! forwards reads to the real table and refuses writes ("Attempt to modify a readonly table").
//! The functions that bypass metamethods (rawset, rawget, next/pairs, setmetatable,
//! getmetatable, table.insert/remove) are replaced by versions that see through proxies, so
//! scripts observe what they would on Redis: iteration shows the entries, raw writes fail.
//! The real tables are reachable only from the registry.

use super::args::{check_any, check_bytes, check_int, check_type, opt_int, type_error};
use super::lua::{Lua, Raise, Standard, Type, GLOBALS, REGISTRY};
use std::ffi::c_int;

/// Registry keys of the sandbox's own tables.
const PROXY_TO_TABLE: &str = "keyfork.readonly";
const TABLE_TO_PROXY: &str = "keyfork.proxies";
pub const REAL_GLOBALS: &str = "keyfork.globals";

const READONLY: &str = "Attempt to modify a readonly table";

/// Globals the base library defines that scripts must not see.
const REMOVED_GLOBALS: &[&str] = &["print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy"];

/// Opens the standard libraries and replaces the base functions the sandbox needs to control.
/// Leaves the stack as it found it.
pub fn open_libraries(lua: Lua) -> Result<(), String> {
    for (which, name) in [(Standard::Base, ""), (Standard::Table, "table"), (Standard::String, "string"), (Standard::Math, "math")] {
        lua.open_standard(which, name).map_err(|_| format!("cannot open the Lua {name} library"))?;
    }
    lua.new_table();
    lua.raw_set_field(REGISTRY, PROXY_TO_TABLE);
    lua.new_table();
    lua.raw_set_field(REGISTRY, TABLE_TO_PROXY);
    for name in REMOVED_GLOBALS {
        lua.push_nil();
        lua.raw_set_field(GLOBALS, name);
    }
    let base: &[(&str, super::lua::LuaFn)] = &[
        ("loadstring", loadstring),
        ("load", load),
        ("pcall", redis_pcall),
        ("rawset", rawset),
        ("rawget", rawget),
        ("next", next),
        ("pairs", pairs),
        ("setmetatable", setmetatable),
        ("getmetatable", getmetatable),
    ];
    for (name, f) in base {
        lua.push_fn(*f);
        lua.raw_set_field(GLOBALS, name);
    }
    lua.raw_get_field(GLOBALS, "table");
    lua.push_fn(table_insert);
    lua.raw_set_field(-2, "insert");
    lua.push_fn(table_remove);
    lua.raw_set_field(-2, "remove");
    lua.pop(1);
    Ok(())
}

/// Seals the globals: every table reachable from them becomes read-only, reading a missing
/// global raises Redis's error, and the globals themselves become a proxy installed as
/// LUA_GLOBALSINDEX. The real globals table stays in the registry (REAL_GLOBALS) for the
/// engine's own writes (KEYS, ARGV).
pub fn seal_globals(lua: Lua) {
    lua.push_value(GLOBALS);
    lua.push_value(-1);
    lua.raw_set_field(REGISTRY, REAL_GLOBALS);
    // Missing globals raise an error instead of reading as nil.
    lua.new_table();
    lua.push_fn(missing_global);
    lua.raw_set_field(-2, "__index");
    lua.set_metatable(-2);
    lua.push_value(-1);
    protect(lua);
    // Stack: real globals, proxy. _G is the proxy, like every other way to the globals.
    lua.push_value(-1);
    lua.raw_set_field(-3, "_G");
    // Strings index the protected string table (getmetatable("").__index == string).
    lua.push_str("");
    if lua.get_metatable(-1) {
        lua.raw_get_field(-4, "string");
        lua.raw_set_field(-2, "__index");
        // Registered read-only too: getmetatable("") hands out its proxy.
        protect(lua);
        lua.pop(1);
    }
    lua.pop(1);
    lua.replace(GLOBALS);
    lua.pop(1);
}

/// Replaces the table on top of the stack with its read-only proxy, protecting the tables it
/// holds (and its metatable) first. A table is proxied once; cycles (_G._G) are fine.
pub fn protect(lua: Lua) {
    let t = lua.top();
    if proxy_of(lua, t) {
        lua.replace(t);
        return;
    }
    // A proxy is read-only already (and its metatable must keep pointing at the real table).
    if real_table(lua, t) {
        lua.pop(1);
        return;
    }
    // Record the pair before descending, so cycles stop here.
    lua.new_table();
    let proxy = lua.top();
    lua.raw_get_field(REGISTRY, TABLE_TO_PROXY);
    lua.push_value(t);
    lua.push_value(proxy);
    lua.raw_set(-3);
    lua.pop(1);
    lua.raw_get_field(REGISTRY, PROXY_TO_TABLE);
    lua.push_value(proxy);
    lua.push_value(t);
    lua.raw_set(-3);
    lua.pop(1);
    // Protect nested tables in place: collect the keys first (the table must not change
    // while lua_next walks it), then swap each table value for its proxy.
    lua.new_table();
    let keys = lua.top();
    let mut n = 0;
    lua.push_nil();
    while lua.next(t) {
        if lua.type_of(-1) == Type::Table {
            n += 1;
            lua.push_value(-2);
            lua.raw_seti(keys, n);
        }
        lua.pop(1);
    }
    for i in 1..=n {
        lua.raw_geti(keys, i);
        lua.push_value(-1);
        lua.raw_get(t);
        protect(lua);
        lua.raw_set(t);
    }
    lua.pop(1);
    if lua.get_metatable(t) {
        protect(lua);
        lua.pop(1);
    }
    // The proxy reads through to the table and refuses writes.
    lua.new_table();
    lua.push_value(t);
    lua.raw_set_field(-2, "__index");
    lua.push_fn(refuse_write);
    lua.raw_set_field(-2, "__newindex");
    lua.set_metatable(proxy);
    lua.replace(t);
}

/// If the value at `idx` is a table with a proxy, pushes the proxy and returns true.
fn proxy_of(lua: Lua, idx: c_int) -> bool {
    paired(lua, TABLE_TO_PROXY, idx)
}

/// If the value at `idx` is a read-only proxy, pushes the real table and returns true.
pub fn real_table(lua: Lua, idx: c_int) -> bool {
    paired(lua, PROXY_TO_TABLE, idx)
}

/// Looks the table at `idx` up in one of the registry's proxy maps: pushes its partner and
/// returns true when it has one.
fn paired(lua: Lua, map: &str, idx: c_int) -> bool {
    let idx = lua.absolute(idx);
    if lua.type_of(idx) != Type::Table {
        return false;
    }
    lua.raw_get_field(REGISTRY, map);
    lua.push_value(idx);
    lua.raw_get(-2);
    lua.remove(-2);
    if lua.type_of(-1) == Type::Table {
        return true;
    }
    lua.pop(1);
    false
}

fn is_readonly(lua: Lua, idx: c_int) -> bool {
    if real_table(lua, idx) {
        lua.pop(1);
        true
    } else {
        false
    }
}

/// A proxy's __newindex (the VM calls it for `t.k = v`): positioned at the script's line, as
/// the patched VM raises it.
fn refuse_write(lua: Lua) -> Result<c_int, Raise> {
    Err(lua.error_with_where(READONLY))
}

/// The globals' __index: Redis's luaProtectedTableError.
pub fn missing_global(lua: Lua) -> Result<c_int, Raise> {
    if lua.top() != 2 {
        return Err(lua.error_with_where("Wrong number of arguments to luaProtectedTableError"));
    }
    if !lua.is_string(-1) {
        return Err(lua.error_with_where("Second argument to luaProtectedTableError must be a string or number"));
    }
    let name = String::from_utf8_lossy(lua.to_bytes(-1).unwrap_or_default()).into_owned();
    let name = name.split('\0').next().unwrap_or("").to_string();
    Err(lua.error_with_where(&format!("Script attempted to access nonexistent global variable '{name}'")))
}

fn rawset(lua: Lua) -> Result<c_int, Raise> {
    check_type(lua, 1, Type::Table)?;
    check_any(lua, 2)?;
    check_any(lua, 3)?;
    if is_readonly(lua, 1) {
        return Err(lua.error(READONLY));
    }
    match lua.type_of(2) {
        Type::Nil => return Err(lua.error("table index is nil")),
        Type::Number if lua.to_number(2).is_nan() => return Err(lua.error("table index is NaN")),
        _ => {}
    }
    lua.set_top(3);
    lua.raw_set(1);
    Ok(1)
}

fn rawget(lua: Lua) -> Result<c_int, Raise> {
    check_type(lua, 1, Type::Table)?;
    check_any(lua, 2)?;
    lua.set_top(2);
    if real_table(lua, 1) {
        lua.replace(1);
    }
    lua.raw_get(1);
    Ok(1)
}

fn next(lua: Lua) -> Result<c_int, Raise> {
    check_type(lua, 1, Type::Table)?;
    lua.set_top(2);
    if real_table(lua, 1) {
        lua.replace(1);
    }
    if lua.next(1) {
        Ok(2)
    } else {
        lua.push_nil();
        Ok(1)
    }
}

fn pairs(lua: Lua) -> Result<c_int, Raise> {
    check_type(lua, 1, Type::Table)?;
    lua.push_fn(next);
    lua.push_value(1);
    lua.push_nil();
    Ok(3)
}

fn setmetatable(lua: Lua) -> Result<c_int, Raise> {
    let t = lua.type_of(2);
    check_type(lua, 1, Type::Table)?;
    if t != Type::Nil && t != Type::Table {
        return Err(super::args::arg_error(lua, 2, "nil or table expected"));
    }
    if is_readonly(lua, 1) {
        return Err(lua.error(READONLY));
    }
    if lua.get_metatable(1) {
        lua.raw_get_field(-1, "__metatable");
        let protected = lua.type_of(-1) != Type::Nil;
        lua.pop(2);
        if protected {
            return Err(lua.error_with_where("cannot change a protected metatable"));
        }
    }
    lua.set_top(2);
    lua.set_metatable(1);
    Ok(1)
}

fn getmetatable(lua: Lua) -> Result<c_int, Raise> {
    check_any(lua, 1)?;
    lua.set_top(1);
    if real_table(lua, 1) {
        lua.replace(1);
    }
    if !lua.get_metatable(1) {
        lua.push_nil();
        return Ok(1);
    }
    lua.raw_get_field(-1, "__metatable");
    if lua.type_of(-1) != Type::Nil {
        return Ok(1);
    }
    lua.pop(1);
    if proxy_of(lua, -1) {
        return Ok(1);
    }
    Ok(1)
}

fn table_insert(lua: Lua) -> Result<c_int, Raise> {
    check_type(lua, 1, Type::Table)?;
    let mut e = lua.raw_len(1) as i64 + 1;
    let pos = match lua.top() {
        2 => e,
        3 => {
            let pos = check_int(lua, 2)? as i64;
            if pos > e {
                e = pos;
            }
            if is_readonly(lua, 1) {
                return Err(lua.error(READONLY));
            }
            let mut i = e;
            while i > pos {
                lua.raw_geti(1, (i - 1) as c_int);
                lua.raw_seti(1, i as c_int);
                i -= 1;
            }
            pos
        }
        _ => return Err(lua.error_with_where("wrong number of arguments to 'insert'")),
    };
    if is_readonly(lua, 1) {
        return Err(lua.error(READONLY));
    }
    lua.raw_seti(1, pos as c_int);
    Ok(0)
}

fn table_remove(lua: Lua) -> Result<c_int, Raise> {
    check_type(lua, 1, Type::Table)?;
    let e = lua.raw_len(1) as i32;
    let mut pos = opt_int(lua, 2, e)?;
    if !(1 <= pos && pos <= e) {
        return Ok(0);
    }
    if is_readonly(lua, 1) {
        return Err(lua.error(READONLY));
    }
    lua.raw_geti(1, pos);
    while pos < e {
        lua.raw_geti(1, pos + 1);
        lua.raw_seti(1, pos);
        pos += 1;
    }
    lua.push_nil();
    lua.raw_seti(1, e);
    Ok(1)
}

/// Redis's pcall: an error that is a table with an `err` field comes back as that field, as
/// older Redis versions returned error strings.
fn redis_pcall(lua: Lua) -> Result<c_int, Raise> {
    let argc = lua.top();
    lua.push_bool(true);
    lua.insert(1);
    if lua.pcall(argc - 1, super::lua::MULTRET, 0).is_err() {
        lua.remove(1);
        if lua.type_of(-1) == Type::Table {
            lua.raw_get_field(-1, "err");
            if lua.is_string(-1) {
                lua.replace(-2);
            }
        }
        lua.push_bool(false);
        lua.insert(1);
    }
    Ok(lua.top())
}

/// The chunk name luaL_loadbuffer sees for a C string argument: bytes up to the first NUL.
fn c_string(b: &[u8]) -> &[u8] {
    b.split(|&c| c == 0).next().unwrap_or(b"")
}

/// Compiles `code` as Lua source, never as precompiled bytecode: a chunk starting with ESC is
/// refused with the syntax error Redis's patched parser gives it. Err leaves the message on top.
pub fn load_source(lua: Lua, code: &[u8], chunkname: &[u8]) -> Result<(), ()> {
    let name = String::from_utf8_lossy(c_string(chunkname)).into_owned();
    if code.first() == Some(&27) {
        let _ = lua.load(&[1], &name);
        name_the_escape(lua);
        return Err(());
    }
    lua.load(code, &name)
}

/// The parser was given a 0x01 byte in place of ESC: its message names the byte it saw.
fn name_the_escape(lua: Lua) {
    let fixed = lua.to_bytes(-1).map(|m| String::from_utf8_lossy(m).replace("'char(1)'", "'char(27)'"));
    if let Some(fixed) = fixed {
        lua.pop(1);
        lua.push_str(&fixed);
    }
}

fn loadstring(lua: Lua) -> Result<c_int, Raise> {
    let code = check_bytes(&lua, 1)?.to_vec();
    let chunkname = match lua.type_of(2) {
        Type::None | Type::Nil => code.clone(),
        _ => check_bytes(&lua, 2)?.to_vec(),
    };
    let loaded = load_source(lua, &code, &chunkname);
    drop(code);
    drop(chunkname);
    load_result(lua, loaded)
}

fn load(lua: Lua) -> Result<c_int, Raise> {
    let chunkname = match lua.type_of(2) {
        Type::None | Type::Nil => b"=(load)".to_vec(),
        _ => check_bytes(&lua, 2)?.to_vec(),
    };
    if lua.type_of(1) != Type::Function {
        return Err(type_error(lua, 1, "function"));
    }
    lua.set_top(3);
    let (loaded, bytecode) = lua.load_from_reader(&chunkname);
    drop(chunkname);
    if loaded.is_err() && bytecode {
        name_the_escape(lua);
    }
    load_result(lua, loaded)
}

fn load_result(lua: Lua, loaded: Result<(), ()>) -> Result<c_int, Raise> {
    if loaded.is_ok() {
        return Ok(1);
    }
    lua.push_nil();
    lua.insert(-2);
    Ok(2)
}
