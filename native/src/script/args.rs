//! Argument checks for the Rust functions scripts call, with liblua's exact messages
//! (luaL_argerror, luaL_typerror, luaL_check*/luaL_opt*): `bad argument #1 to 'band'
//! (number expected, got string)`, positioned at the calling Lua line.

use super::lua::{Lua, Raise, Type};
use std::ffi::c_int;

pub fn type_name(t: Type) -> &'static str {
    match t {
        Type::None => "no value",
        Type::Nil => "nil",
        Type::Boolean => "boolean",
        Type::LightUserdata | Type::Userdata => "userdata",
        Type::Number => "number",
        Type::String => "string",
        Type::Table => "table",
        Type::Function => "function",
        Type::Thread => "thread",
    }
}

/// luaL_argerror.
pub fn arg_error(lua: Lua, narg: c_int, extra: &str) -> Raise {
    let Some((name, namewhat)) = lua.called_as() else {
        return lua.error_with_where(&format!("bad argument #{narg} ({extra})"));
    };
    let mut narg = narg;
    if namewhat == "method" {
        narg -= 1;
        if narg == 0 {
            return lua.error_with_where(&format!("calling '{}' on bad self ({extra})", name.as_deref().unwrap_or("?")));
        }
    }
    lua.error_with_where(&format!("bad argument #{narg} to '{}' ({extra})", name.as_deref().unwrap_or("?")))
}

/// luaL_typerror.
pub fn type_error(lua: Lua, narg: c_int, expected: &str) -> Raise {
    let got = type_name(lua.type_of(narg));
    arg_error(lua, narg, &format!("{expected} expected, got {got}"))
}

pub fn check_number(lua: Lua, narg: c_int) -> Result<f64, Raise> {
    let d = lua.to_number(narg);
    if d == 0.0 && !lua.is_number(narg) {
        return Err(type_error(lua, narg, "number"));
    }
    Ok(d)
}

/// lua_Number to lua_Integer as x86-64's C cast does it (cvttsd2si: out of range -> i64::MIN).
pub fn number_to_integer(d: f64) -> i64 {
    if d.is_nan() || d >= 9223372036854775808.0 || d < -9223372036854775808.0 { i64::MIN } else { d as i64 }
}

pub fn check_integer(lua: Lua, narg: c_int) -> Result<i64, Raise> {
    let d = if lua.is_number(narg) { number_to_integer(lua.to_number(narg)) } else { 0 };
    if d == 0 && !lua.is_number(narg) {
        return Err(type_error(lua, narg, "number"));
    }
    Ok(d)
}

/// luaL_checkint: the integer truncated to C's int.
pub fn check_int(lua: Lua, narg: c_int) -> Result<i32, Raise> {
    check_integer(lua, narg).map(|v| v as i32)
}

fn is_none_or_nil(lua: Lua, narg: c_int) -> bool {
    matches!(lua.type_of(narg), Type::None | Type::Nil)
}

pub fn opt_number(lua: Lua, narg: c_int, default: f64) -> Result<f64, Raise> {
    if is_none_or_nil(lua, narg) { Ok(default) } else { check_number(lua, narg) }
}

pub fn opt_integer(lua: Lua, narg: c_int, default: i64) -> Result<i64, Raise> {
    if is_none_or_nil(lua, narg) { Ok(default) } else { check_integer(lua, narg) }
}

pub fn opt_int(lua: Lua, narg: c_int, default: i32) -> Result<i32, Raise> {
    if is_none_or_nil(lua, narg) { Ok(default) } else { check_int(lua, narg) }
}

/// luaL_checklstring: a string, or a number converted in place.
pub fn check_bytes(lua: &Lua, narg: c_int) -> Result<&[u8], Raise> {
    match lua.to_bytes(narg) {
        Some(b) => Ok(b),
        None => Err(type_error(*lua, narg, "string")),
    }
}

pub fn opt_bytes<'a>(lua: &'a Lua, narg: c_int, default: &'a [u8]) -> Result<&'a [u8], Raise> {
    if is_none_or_nil(*lua, narg) { Ok(default) } else { check_bytes(lua, narg) }
}

pub fn check_type(lua: Lua, narg: c_int, t: Type) -> Result<(), Raise> {
    if lua.type_of(narg) != t {
        return Err(type_error(lua, narg, type_name(t)));
    }
    Ok(())
}

pub fn check_any(lua: Lua, narg: c_int) -> Result<(), Raise> {
    if lua.type_of(narg) == Type::None {
        return Err(arg_error(lua, narg, "value expected"));
    }
    Ok(())
}
