//! The `cmsgpack` library (lua-cmsgpack 0.4.0 as Redis ships it): MessagePack for Lua values.
//! Tables holding exactly the keys 1..n pack as arrays, other tables as maps; nesting deeper
//! than 16 packs as nil (so cycles terminate); integral numbers pack as the smallest integer
//! form, others as float when a float holds them exactly, else double.

use super::args::{arg_error, check_bytes, check_integer, number_to_integer, opt_integer};
use super::lua::{Lua, LuaFn, Raise, Type};
use std::ffi::c_int;

const MAX_NESTING: u32 = 16;

pub fn open(lua: Lua) {
    lua.new_table();
    let functions: &[(&str, LuaFn)] = &[("pack", pack), ("unpack", unpack), ("unpack_one", unpack_one), ("unpack_limit", unpack_limit)];
    for (name, f) in functions {
        lua.push_fn(*f);
        lua.raw_set_field(-2, name);
    }
    for (field, value) in [
        ("_NAME", "cmsgpack"),
        ("_VERSION", "lua-cmsgpack 0.4.0"),
        ("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"),
        ("_DESCRIPTION", "MessagePack C implementation for Lua"),
    ] {
        lua.push_str(value);
        lua.raw_set_field(-2, field);
    }
}

fn encode_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        buf.push(0xa0 | len as u8);
    } else if len <= 0xff {
        buf.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
    buf.extend_from_slice(s);
}

fn encode_double(buf: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if d == f as f64 {
        buf.push(0xca);
        buf.extend_from_slice(&f.to_be_bytes());
    } else {
        buf.push(0xcb);
        buf.extend_from_slice(&d.to_be_bytes());
    }
}

fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            buf.push(n as u8);
        } else if n <= 0xff {
            buf.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            buf.push(0xcd);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            buf.push(0xce);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            buf.push(0xcf);
            buf.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        buf.push(n as i8 as u8);
    } else if n >= -128 {
        buf.extend_from_slice(&[0xd0, n as u8]);
    } else if n >= -32768 {
        buf.push(0xd1);
        buf.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        buf.push(0xd2);
        buf.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_header(buf: &mut Vec<u8>, n: usize, fix: u8, b16: u8, b32: u8) {
    if n <= 15 {
        buf.push(fix | n as u8);
    } else if n <= 65535 {
        buf.push(b16);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(b32);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// (int)x == x as x86-64 evaluates it (an out-of-range conversion gives INT_MIN).
fn is_c_int(x: f64) -> bool {
    let i = if x.is_nan() || x >= 2147483648.0 || x < -2147483648.0 { i32::MIN } else { x as i32 };
    i as f64 == x
}

/// table_is_an_array: the keys are exactly 1..n.
fn is_array(lua: Lua) -> bool {
    let top = lua.top();
    let (mut count, mut max): (i32, i32) = (0, 0);
    lua.push_nil();
    while lua.next(-2) {
        lua.pop(1);
        let n = lua.to_number(-1);
        if lua.type_of(-1) != Type::Number || n <= 0.0 || !is_c_int(n) {
            lua.set_top(top);
            return false;
        }
        max = max.max(n as i32);
        count += 1;
    }
    lua.set_top(top);
    max == count
}

/// Encodes the value on top of the stack (popped).
fn encode(lua: Lua, buf: &mut Vec<u8>, level: u32) {
    let mut t = lua.type_of(-1);
    if t == Type::Table && level == MAX_NESTING {
        t = Type::Nil;
    }
    if !lua.check_stack(3) {
        t = Type::Nil;
    }
    match t {
        Type::String => encode_bytes(buf, lua.to_bytes(-1).unwrap_or_default()),
        Type::Boolean => buf.push(if lua.to_boolean(-1) { 0xc3 } else { 0xc2 }),
        Type::Number => {
            let n = lua.to_number(-1);
            let i = number_to_integer(n);
            if !n.is_infinite() && i as f64 == n {
                encode_int(buf, i);
            } else {
                encode_double(buf, n);
            }
        }
        Type::Table => {
            if is_array(lua) {
                let len = lua.raw_len(-1);
                encode_header(buf, len, 0x90, 0xdc, 0xdd);
                for j in 1..=len {
                    lua.raw_geti(-1, j as c_int);
                    encode(lua, buf, level + 1);
                }
            } else {
                let mut len = 0;
                lua.push_nil();
                while lua.next(-2) {
                    lua.pop(1);
                    len += 1;
                }
                encode_header(buf, len, 0x80, 0xde, 0xdf);
                lua.push_nil();
                while lua.next(-2) {
                    lua.push_value(-2);
                    encode(lua, buf, level + 1);
                    encode(lua, buf, level + 1);
                }
            }
        }
        _ => buf.push(0xc0),
    }
    lua.pop(1);
}

fn pack(lua: Lua) -> Result<c_int, Raise> {
    let nargs = lua.top();
    if nargs == 0 {
        return Err(arg_error(lua, 0, "MessagePack pack needs input."));
    }
    if !lua.check_stack(nargs) {
        return Err(arg_error(lua, 0, "Too many arguments for MessagePack pack."));
    }
    let mut buf = Vec::new();
    for i in 1..=nargs {
        lua.push_value(i);
        encode(lua, &mut buf, 0);
    }
    lua.push_bytes(&buf);
    Ok(1)
}

enum DecodeError {
    Eof,
    BadFormat,
    /// A map key Lua refuses (lua_settable raises these, unpositioned).
    Key(&'static str),
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.data.len() - self.pos < n { Err(DecodeError::Eof) } else { Ok(()) }
    }
    fn at(&self, i: usize) -> u8 {
        self.data[self.pos + i]
    }
    fn be(&self, from: usize, n: usize) -> u64 {
        (0..n).fold(0u64, |acc, i| (acc << 8) | self.at(from + i) as u64)
    }
}

/// Decodes one value onto the stack.
fn decode(lua: Lua, c: &mut Cursor) -> Result<(), DecodeError> {
    c.need(1)?;
    if !lua.check_stack(2) {
        return Err(DecodeError::BadFormat);
    }
    let b = c.at(0);
    match b {
        0xcc => { c.need(2)?; lua.push_number(c.at(1) as f64); c.pos += 2; }
        0xd0 => { c.need(2)?; lua.push_number(c.at(1) as i8 as f64); c.pos += 2; }
        0xcd => { c.need(3)?; lua.push_number(c.be(1, 2) as f64); c.pos += 3; }
        0xd1 => { c.need(3)?; lua.push_number(c.be(1, 2) as u16 as i16 as f64); c.pos += 3; }
        0xce => { c.need(5)?; lua.push_number(c.be(1, 4) as f64); c.pos += 5; }
        0xd2 => { c.need(5)?; lua.push_number(c.be(1, 4) as u32 as i32 as f64); c.pos += 5; }
        0xcf => { c.need(9)?; lua.push_number(c.be(1, 8) as f64); c.pos += 9; }
        0xd3 => { c.need(9)?; lua.push_number(c.be(1, 8) as i64 as f64); c.pos += 9; }
        0xc0 => { lua.push_nil(); c.pos += 1; }
        0xc3 => { lua.push_bool(true); c.pos += 1; }
        0xc2 => { lua.push_bool(false); c.pos += 1; }
        0xca => { c.need(5)?; lua.push_number(f32::from_bits(c.be(1, 4) as u32) as f64); c.pos += 5; }
        0xcb => { c.need(9)?; lua.push_number(f64::from_bits(c.be(1, 8))); c.pos += 9; }
        0xd9 => { c.need(2)?; let l = c.at(1) as usize; raw(lua, c, 2, l)?; }
        0xda => { c.need(3)?; let l = c.be(1, 2) as usize; raw(lua, c, 3, l)?; }
        0xdb => { c.need(5)?; let l = c.be(1, 4) as usize; raw(lua, c, 5, l)?; }
        0xdc => { c.need(3)?; let l = c.be(1, 2) as usize; c.pos += 3; array(lua, c, l)?; }
        0xdd => { c.need(5)?; let l = c.be(1, 4) as usize; c.pos += 5; array(lua, c, l)?; }
        0xde => { c.need(3)?; let l = c.be(1, 2) as usize; c.pos += 3; map(lua, c, l)?; }
        0xdf => { c.need(5)?; let l = c.be(1, 4) as usize; c.pos += 5; map(lua, c, l)?; }
        _ if b & 0x80 == 0 => { lua.push_number(b as f64); c.pos += 1; }
        _ if b & 0xe0 == 0xe0 => { lua.push_number(b as i8 as f64); c.pos += 1; }
        _ if b & 0xe0 == 0xa0 => { raw(lua, c, 1, (b & 0x1f) as usize)?; }
        _ if b & 0xf0 == 0x90 => { c.pos += 1; array(lua, c, (b & 0xf) as usize)?; }
        _ if b & 0xf0 == 0x80 => { c.pos += 1; map(lua, c, (b & 0xf) as usize)?; }
        _ => return Err(DecodeError::BadFormat),
    }
    Ok(())
}

fn raw(lua: Lua, c: &mut Cursor, header: usize, len: usize) -> Result<(), DecodeError> {
    c.need(header.checked_add(len).ok_or(DecodeError::Eof)?)?;
    lua.push_bytes(&c.data[c.pos + header..c.pos + header + len]);
    c.pos += header + len;
    Ok(())
}

fn array(lua: Lua, c: &mut Cursor, len: usize) -> Result<(), DecodeError> {
    lua.new_table();
    for i in 1..=len {
        decode(lua, c)?;
        lua.raw_seti(-2, i as c_int);
    }
    Ok(())
}

fn map(lua: Lua, c: &mut Cursor, len: usize) -> Result<(), DecodeError> {
    lua.new_table();
    for _ in 0..len {
        decode(lua, c)?;
        decode(lua, c)?;
        match lua.type_of(-2) {
            Type::Nil => return Err(DecodeError::Key("table index is nil")),
            Type::Number if lua.to_number(-2).is_nan() => return Err(DecodeError::Key("table index is NaN")),
            _ => lua.raw_set(-3),
        }
    }
    Ok(())
}

/// mp_unpack_full: up to `limit` values (all when both limit and offset are 0) from `offset`.
fn unpack_full(lua: Lua, limit: i64, offset: i64) -> Result<c_int, Raise> {
    let data = check_bytes(&lua, 1)?.to_vec();
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(lua.error_with_where(&format!("Invalid request to unpack with offset of {} and limit of {}.", offset as i32, len as i32)));
    }
    if offset as usize > len {
        return Err(lua.error_with_where(&format!("Start offset {} greater than input length {}.", offset as i32, len as i32)));
    }
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut c = Cursor { data: &data, pos: offset as usize };
    let mut count: c_int = 0;
    while c.pos < len && (count as i64) < limit {
        if !lua.check_stack(1) {
            return Err(lua.error_with_where("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"));
        }
        let top = lua.top();
        match decode(lua, &mut c) {
            Ok(()) => count += 1,
            Err(e) => {
                lua.set_top(top);
                return Err(match e {
                    DecodeError::Eof => lua.error_with_where("Missing bytes in input."),
                    DecodeError::BadFormat => lua.error_with_where("Bad data format in input."),
                    DecodeError::Key(msg) => lua.error(msg),
                });
            }
        }
    }
    if !decode_all {
        let next = if c.pos == len { -1.0 } else { c.pos as f64 };
        lua.push_number(next);
        lua.insert(2);
        count += 1;
    }
    Ok(count)
}

fn unpack(lua: Lua) -> Result<c_int, Raise> {
    unpack_full(lua, 0, 0)
}

fn unpack_one(lua: Lua) -> Result<c_int, Raise> {
    let offset = opt_integer(lua, 2, 0)? as i32 as i64;
    if lua.top() > 1 {
        lua.set_top(1);
    }
    unpack_full(lua, 1, offset)
}

fn unpack_limit(lua: Lua) -> Result<c_int, Raise> {
    let limit = check_integer(lua, 2)? as i32 as i64;
    let offset = opt_integer(lua, 3, 0)? as i32 as i64;
    if lua.top() > 1 {
        lua.set_top(1);
    }
    unpack_full(lua, limit, offset)
}
