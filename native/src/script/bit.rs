//! The `bit` library (LuaBitOp 1.0.2 as Redis ships it): 32-bit operations on Lua numbers,
//! with Redis's fix for bit.tohex(x, INT_MIN).

use super::args::type_error;
use super::lua::{Lua, LuaFn, Raise};
use std::ffi::c_int;

pub fn open(lua: Lua) {
    lua.new_table();
    let functions: &[(&str, LuaFn)] = &[
        ("tobit", tobit),
        ("bnot", bnot),
        ("band", band),
        ("bor", bor),
        ("bxor", bxor),
        ("lshift", lshift),
        ("rshift", rshift),
        ("arshift", arshift),
        ("rol", rol),
        ("ror", ror),
        ("bswap", bswap),
        ("tohex", tohex),
    ];
    for (name, f) in functions {
        lua.push_fn(*f);
        lua.raw_set_field(-2, name);
    }
}

/// barg: the number's value modulo 2^32, rounded as adding 2^52+2^51 to a double rounds it.
fn barg(lua: Lua, idx: c_int) -> Result<u32, Raise> {
    let n = lua.to_number(idx);
    let b = (n + 6755399441055744.0).to_bits() as u32;
    if b == 0 && !lua.is_number(idx) {
        return Err(type_error(lua, idx, "number"));
    }
    Ok(b)
}

fn ret(lua: Lua, b: u32) -> Result<c_int, Raise> {
    lua.push_number(b as i32 as f64);
    Ok(1)
}

fn tobit(lua: Lua) -> Result<c_int, Raise> {
    ret(lua, barg(lua, 1)?)
}

fn bnot(lua: Lua) -> Result<c_int, Raise> {
    ret(lua, !barg(lua, 1)?)
}

fn fold(lua: Lua, op: fn(u32, u32) -> u32) -> Result<c_int, Raise> {
    let mut b = barg(lua, 1)?;
    let mut i = lua.top();
    while i > 1 {
        b = op(b, barg(lua, i)?);
        i -= 1;
    }
    ret(lua, b)
}

fn band(lua: Lua) -> Result<c_int, Raise> {
    fold(lua, |a, b| a & b)
}

fn bor(lua: Lua) -> Result<c_int, Raise> {
    fold(lua, |a, b| a | b)
}

fn bxor(lua: Lua) -> Result<c_int, Raise> {
    fold(lua, |a, b| a ^ b)
}

fn shift(lua: Lua, op: fn(u32, u32) -> u32) -> Result<c_int, Raise> {
    let b = barg(lua, 1)?;
    let n = barg(lua, 2)? & 31;
    ret(lua, op(b, n))
}

fn lshift(lua: Lua) -> Result<c_int, Raise> {
    shift(lua, |b, n| b << n)
}

fn rshift(lua: Lua) -> Result<c_int, Raise> {
    shift(lua, |b, n| b >> n)
}

fn arshift(lua: Lua) -> Result<c_int, Raise> {
    shift(lua, |b, n| ((b as i32) >> n) as u32)
}

fn rol(lua: Lua) -> Result<c_int, Raise> {
    shift(lua, |b, n| b.rotate_left(n))
}

fn ror(lua: Lua) -> Result<c_int, Raise> {
    shift(lua, |b, n| b.rotate_right(n))
}

fn bswap(lua: Lua) -> Result<c_int, Raise> {
    ret(lua, barg(lua, 1)?.swap_bytes())
}

fn tohex(lua: Lua) -> Result<c_int, Raise> {
    let mut b = barg(lua, 1)?;
    let mut n: i32 = if lua.type_of(2) == super::lua::Type::None { 8 } else { barg(lua, 2)? as i32 };
    if n == i32::MIN {
        n = i32::MIN + 1;
    }
    let mut digits = b"0123456789abcdef";
    if n < 0 {
        n = -n;
        digits = b"0123456789ABCDEF";
    }
    let n = n.min(8) as usize;
    let mut buf = [0u8; 8];
    for i in (0..n).rev() {
        buf[i] = digits[(b & 15) as usize];
        b >>= 4;
    }
    lua.push_bytes(&buf[..n]);
    Ok(1)
}
