//! The `cjson` library (Lua CJSON 2.1.0 as Redis ships it): cjson.encode / cjson.decode and
//! their settings, kept per module table (cjson.new() makes a fresh one) and persistent
//! across scripts, as in Redis. JSON null is cjson.null (a NULL light userdata).

use super::args::{arg_error, check_bytes, check_integer, type_error, type_name};
use super::lua::{Lua, LuaFn, Raise, Type};
use std::ffi::c_int;

#[derive(Clone, Copy)]
#[repr(C)]
struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0 off, 1 on, 2 "null".
    encode_invalid_numbers: i32,
    decode_invalid_numbers: i32,
    keep_buffer: i32,
    precision: i32,
}

const DEFAULTS: Config = Config {
    sparse_convert: 0,
    sparse_ratio: 2,
    sparse_safe: 10,
    encode_max_depth: 1000,
    decode_max_depth: 1000,
    encode_invalid_numbers: 0,
    decode_invalid_numbers: 1,
    keep_buffer: 1,
    precision: 14,
};

/// Pushes a new cjson module table (lua_cjson_new).
pub fn open(lua: Lua) {
    lua.new_table();
    lua.push_userdata(DEFAULTS);
    let functions: &[(&str, LuaFn)] = &[
        ("encode", encode),
        ("decode", decode),
        ("encode_sparse_array", encode_sparse_array),
        ("encode_max_depth", encode_max_depth),
        ("decode_max_depth", decode_max_depth),
        ("encode_number_precision", encode_number_precision),
        ("encode_keep_buffer", encode_keep_buffer),
        ("encode_invalid_numbers", encode_invalid_numbers),
        ("decode_invalid_numbers", decode_invalid_numbers),
        ("new", new),
    ];
    for (name, f) in functions {
        lua.push_value(-1);
        lua.push_closure(*f, 1);
        lua.raw_set_field(-3, name);
    }
    lua.pop(1);
    lua.push_light(std::ptr::null_mut());
    lua.raw_set_field(-2, "null");
    lua.push_str("cjson");
    lua.raw_set_field(-2, "_NAME");
    lua.push_str("2.1.0");
    lua.raw_set_field(-2, "_VERSION");
}

fn config(lua: &Lua) -> Config {
    lua.userdata_upvalue::<Config>(2).map(|c| *c).unwrap_or(DEFAULTS)
}

fn update(lua: &Lua, f: impl FnOnce(&mut Config)) {
    if let Some(c) = lua.userdata_upvalue::<Config>(2) {
        f(c);
    }
}

fn new(lua: Lua) -> Result<c_int, Raise> {
    open(lua);
    Ok(1)
}

/// json_arg_init: at most `args` arguments, padded with nils.
fn arg_init(lua: Lua, args: c_int) -> Result<(), Raise> {
    if lua.top() > args {
        return Err(arg_error(lua, args + 1, "found too many arguments"));
    }
    while lua.top() < args {
        lua.push_nil();
    }
    Ok(())
}

/// json_integer_option.
fn integer_option(lua: Lua, idx: c_int, value: i32, min: i32, max: i32) -> Result<i32, Raise> {
    let mut v = value;
    if lua.type_of(idx) != Type::Nil {
        v = check_integer(lua, idx)? as i32;
        if !(min <= v && v <= max) {
            return Err(arg_error(lua, 1, &format!("expected integer between {min} and {max}")));
        }
    }
    lua.push_number(v as f64);
    Ok(v)
}

/// json_enum_option: a boolean (true = `bool_true`) or one of `options` by name.
fn enum_option(lua: Lua, idx: c_int, value: i32, options: &[&str], bool_true: i32) -> Result<i32, Raise> {
    let mut v = value;
    if lua.type_of(idx) != Type::Nil {
        if bool_true != 0 && lua.type_of(idx) == Type::Boolean {
            v = lua.to_boolean(idx) as i32 * bool_true;
        } else {
            let name = match lua.to_bytes(idx) {
                Some(b) => b.to_vec(),
                None => return Err(type_error(lua, idx, "string")),
            };
            match options.iter().position(|o| o.as_bytes() == super::convert::c_str(&name)) {
                Some(i) => v = i as i32,
                None => return Err(arg_error(lua, idx, &format!("invalid option '{}'", String::from_utf8_lossy(super::convert::c_str(&name))))),
            }
        }
    }
    if bool_true != 0 && (v == 0 || v == bool_true) {
        lua.push_bool(v != 0);
    } else {
        lua.push_str(options.get(v as usize).copied().unwrap_or(""));
    }
    Ok(v)
}

const ON_OFF: &[&str] = &["off", "on"];

fn encode_sparse_array(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 3)?;
    let c = config(&lua);
    let convert = enum_option(lua, 1, c.sparse_convert, ON_OFF, 1)?;
    let ratio = integer_option(lua, 2, c.sparse_ratio, 0, i32::MAX)?;
    let safe = integer_option(lua, 3, c.sparse_safe, 0, i32::MAX)?;
    update(&lua, |c| {
        c.sparse_convert = convert;
        c.sparse_ratio = ratio;
        c.sparse_safe = safe;
    });
    Ok(3)
}

fn encode_max_depth(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 1)?;
    let v = integer_option(lua, 1, config(&lua).encode_max_depth, 1, i32::MAX)?;
    update(&lua, |c| c.encode_max_depth = v);
    Ok(1)
}

fn decode_max_depth(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 1)?;
    let v = integer_option(lua, 1, config(&lua).decode_max_depth, 1, i32::MAX)?;
    update(&lua, |c| c.decode_max_depth = v);
    Ok(1)
}

fn encode_number_precision(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 1)?;
    let v = integer_option(lua, 1, config(&lua).precision, 1, 14)?;
    update(&lua, |c| c.precision = v);
    Ok(1)
}

fn encode_keep_buffer(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 1)?;
    let v = enum_option(lua, 1, config(&lua).keep_buffer, ON_OFF, 1)?;
    update(&lua, |c| c.keep_buffer = v);
    Ok(1)
}

fn encode_invalid_numbers(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 1)?;
    let v = enum_option(lua, 1, config(&lua).encode_invalid_numbers, &["off", "on", "null"], 1)?;
    update(&lua, |c| c.encode_invalid_numbers = v);
    Ok(1)
}

fn decode_invalid_numbers(lua: Lua) -> Result<c_int, Raise> {
    arg_init(lua, 1)?;
    let v = enum_option(lua, 1, config(&lua).decode_invalid_numbers, ON_OFF, 1)?;
    update(&lua, |c| c.decode_invalid_numbers = v);
    Ok(1)
}

// ---------------------------------------------------------------------------------------
// Encoding

fn escape(c: u8) -> Option<&'static [u8]> {
    const CONTROL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006", b"\\u0007",
        b"\\b", b"\\t", b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f",
        b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016", b"\\u0017",
        b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d", b"\\u001e", b"\\u001f",
    ];
    match c {
        0..=31 => Some(CONTROL[c as usize]),
        b'"' => Some(b"\\\""),
        b'/' => Some(b"\\/"),
        b'\\' => Some(b"\\\\"),
        127 => Some(b"\\u007f"),
        _ => None,
    }
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match escape(c) {
            Some(e) => out.extend_from_slice(e),
            None => out.push(c),
        }
    }
    out.push(b'"');
}

/// json_encode_exception: "Cannot serialise <type>: <reason>", positioned.
fn encode_error(lua: Lua, idx: c_int, reason: &str) -> Raise {
    let t = type_name(lua.type_of(idx));
    lua.error_with_where(&format!("Cannot serialise {t}: {reason}"))
}

fn append_number(lua: Lua, cfg: &Config, out: &mut Vec<u8>, idx: c_int) -> Result<(), Raise> {
    let n = lua.to_number(idx);
    match cfg.encode_invalid_numbers {
        0 if n.is_nan() || n.is_infinite() => return Err(encode_error(lua, idx, "must not be NaN or Inf")),
        1 if n.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if n.is_nan() || n.is_infinite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    crate::numfmt::push_g(out, n, cfg.precision.clamp(1, 14) as usize);
    Ok(())
}

/// lua_array_length: the array size of the table on top, or None when it is an object.
fn array_length(lua: Lua, cfg: &Config) -> Result<Option<i32>, Raise> {
    let (mut max, mut items): (i32, i32) = (0, 0);
    lua.push_nil();
    while lua.next(-2) {
        if lua.type_of(-2) == Type::Number {
            let k = lua.to_number(-2);
            if k != 0.0 && k.floor() == k && k >= 1.0 {
                if k > max as f64 {
                    max = if k >= 2147483648.0 { i32::MIN } else { k as i32 };
                }
                items = items.wrapping_add(1);
                lua.pop(1);
                continue;
            }
        }
        lua.pop(2);
        return Ok(None);
    }
    if cfg.sparse_ratio > 0 && (max as i64) > items as i64 * cfg.sparse_ratio as i64 && max > cfg.sparse_safe {
        if cfg.sparse_convert == 0 {
            return Err(encode_error(lua, -1, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn append_value(lua: Lua, cfg: &Config, depth: i32, out: &mut Vec<u8>) -> Result<(), Raise> {
    match lua.type_of(-1) {
        Type::String => append_string(out, lua.to_bytes(-1).unwrap_or_default()),
        Type::Number => append_number(lua, cfg, out, -1)?,
        Type::Boolean => out.extend_from_slice(if lua.to_boolean(-1) { b"true" } else { b"false" }),
        Type::Table => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth || !lua.check_stack(3) {
                return Err(lua.error_with_where(&format!("Cannot serialise, excessive nesting ({depth})")));
            }
            match array_length(lua, cfg)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        lua.raw_geti(-1, i);
                        append_value(lua, cfg, depth, out)?;
                        lua.pop(1);
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut comma = false;
                    lua.push_nil();
                    while lua.next(-2) {
                        if comma {
                            out.push(b',');
                        }
                        comma = true;
                        match lua.type_of(-2) {
                            Type::Number => {
                                out.push(b'"');
                                append_number(lua, cfg, out, -2)?;
                                out.extend_from_slice(b"\":");
                            }
                            Type::String => {
                                append_string(out, lua.to_bytes(-2).unwrap_or_default());
                                out.push(b':');
                            }
                            _ => return Err(encode_error(lua, -2, "table key must be a number or string")),
                        }
                        append_value(lua, cfg, depth, out)?;
                        lua.pop(1);
                    }
                    out.push(b'}');
                }
            }
        }
        Type::Nil => out.extend_from_slice(b"null"),
        Type::LightUserdata if lua.to_light(-1).is_null() => out.extend_from_slice(b"null"),
        _ => return Err(encode_error(lua, -1, "type not supported")),
    }
    Ok(())
}

fn encode(lua: Lua) -> Result<c_int, Raise> {
    let cfg = config(&lua);
    if lua.top() != 1 {
        return Err(arg_error(lua, 1, "expected 1 argument"));
    }
    let mut out = Vec::new();
    append_value(lua, &cfg, 0, &mut out)?;
    lua.push_bytes(&out);
    Ok(1)
}

// ---------------------------------------------------------------------------------------
// Decoding

#[derive(Clone, Copy, PartialEq, Debug)]
enum Token {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Token {
    fn name(&self) -> &'static str {
        match self {
            Token::ObjBegin => "T_OBJ_BEGIN",
            Token::ObjEnd => "T_OBJ_END",
            Token::ArrBegin => "T_ARR_BEGIN",
            Token::ArrEnd => "T_ARR_END",
            Token::Str => "T_STRING",
            Token::Number(_) => "T_NUMBER",
            Token::Boolean(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Error(e) => e,
        }
    }
}

struct Parser<'a> {
    lua: Lua,
    cfg: Config,
    data: &'a [u8],
    pos: usize,
    depth: i32,
    /// The last string token's bytes.
    string: Vec<u8>,
}

impl Parser<'_> {
    /// The byte at `i`, NUL past the end (the text is a C string to the original parser).
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.data.get(self.pos..).is_some_and(|d| d.starts_with(s))
    }

    /// The next token and the 0-based position it starts at.
    fn next_token(&mut self) -> (Token, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let c = self.at(self.pos);
        let single = match c {
            b'{' => Some(Token::ObjBegin),
            b'}' => Some(Token::ObjEnd),
            b'[' => Some(Token::ArrBegin),
            b']' => Some(Token::ArrEnd),
            b',' => Some(Token::Comma),
            b':' => Some(Token::Colon),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, start);
        }
        if c == 0 {
            return (Token::End, start);
        }
        let unknown = matches!(c, b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-' | b'0'..=b'9');
        if !unknown {
            return (Token::Error("invalid token"), start);
        }
        if c == b'"' {
            return self.string_token(start);
        }
        if c == b'-' || c.is_ascii_digit() {
            if self.cfg.decode_invalid_numbers == 0 && self.invalid_number() {
                return (Token::Error("invalid number"), self.pos);
            }
            return self.number_token(start);
        }
        if self.starts_with(b"true") {
            self.pos += 4;
            return (Token::Boolean(true), start);
        }
        if self.starts_with(b"false") {
            self.pos += 5;
            return (Token::Boolean(false), start);
        }
        if self.starts_with(b"null") {
            self.pos += 4;
            return (Token::Null, start);
        }
        if self.cfg.decode_invalid_numbers != 0 && self.invalid_number() {
            return self.number_token(start);
        }
        (Token::Error("invalid token"), self.pos)
    }

    /// json_is_invalid_number: forms strtod accepts but strict JSON does not.
    fn invalid_number(&self) -> bool {
        let mut i = self.pos;
        if self.at(i) == b'+' {
            return true;
        }
        if self.at(i) == b'-' {
            i += 1;
        }
        let c = self.at(i);
        if c == b'0' {
            let c2 = self.at(i + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        } else if c <= b'9' {
            return false;
        }
        let word = |w: &[u8]| (0..3).all(|k| self.at(i + k).to_ascii_lowercase() == w[k]);
        word(b"inf") || word(b"nan")
    }

    fn number_token(&mut self, start: usize) -> (Token, usize) {
        match strtod(self.data, self.pos) {
            Some((v, end)) => {
                self.pos = end;
                (Token::Number(v), start)
            }
            None => (Token::Error("invalid number"), self.pos),
        }
    }

    fn string_token(&mut self, start: usize) -> (Token, usize) {
        self.pos += 1;
        self.string.clear();
        loop {
            let c = self.at(self.pos);
            if c == b'"' {
                break;
            }
            if c == 0 {
                return (Token::Error("unexpected end of string"), self.pos);
            }
            if c == b'\\' {
                let e = self.at(self.pos + 1);
                let translated = match e {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => 12,
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape() {
                            continue;
                        }
                        return (Token::Error("invalid unicode escape code"), self.pos);
                    }
                    _ => return (Token::Error("invalid escape code"), self.pos),
                };
                self.string.push(translated);
                self.pos += 2;
                continue;
            }
            self.string.push(c);
            self.pos += 1;
        }
        self.pos += 1;
        (Token::Str, start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |acc, k| Some((acc << 4) | (self.at(at + k) as char).to_digit(16)?))
    }

    /// \uXXXX (and a surrogate pair) as UTF-8; false when malformed.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut utf8 = [0u8; 4];
        let n = if cp <= 0x7F {
            utf8[0] = cp as u8;
            1
        } else if cp <= 0x7FF {
            utf8[0] = (cp >> 6) as u8 | 0xC0;
            utf8[1] = (cp & 0x3F) as u8 | 0x80;
            2
        } else if cp <= 0xFFFF {
            utf8[0] = (cp >> 12) as u8 | 0xE0;
            utf8[1] = ((cp >> 6) & 0x3F) as u8 | 0x80;
            utf8[2] = (cp & 0x3F) as u8 | 0x80;
            3
        } else {
            utf8[0] = (cp >> 18) as u8 | 0xF0;
            utf8[1] = ((cp >> 12) & 0x3F) as u8 | 0x80;
            utf8[2] = ((cp >> 6) & 0x3F) as u8 | 0x80;
            utf8[3] = (cp & 0x3F) as u8 | 0x80;
            4
        };
        self.string.extend_from_slice(&utf8[..n]);
        self.pos += len;
        true
    }

    fn parse_error(&self, expected: &str, token: (Token, usize)) -> Raise {
        self.lua.error_with_where(&format!("Expected {expected} but found {} at character {}", token.0.name(), token.1 + 1))
    }

    fn descend(&mut self, slots: c_int) -> Result<(), Raise> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth && self.lua.check_stack(slots) {
            return Ok(());
        }
        Err(self.lua.error_with_where(&format!("Found too many nested data structures ({}) at character {}", self.depth, self.pos)))
    }

    fn value(&mut self, token: (Token, usize)) -> Result<(), Raise> {
        let lua = self.lua;
        match token.0 {
            Token::Str => lua.push_bytes(&self.string),
            Token::Number(n) => lua.push_number(n),
            Token::Boolean(b) => lua.push_bool(b),
            Token::Null => lua.push_light(std::ptr::null_mut()),
            Token::ObjBegin => self.object()?,
            Token::ArrBegin => self.array()?,
            _ => return Err(self.parse_error("value", token)),
        }
        Ok(())
    }

    fn object(&mut self) -> Result<(), Raise> {
        self.descend(3)?;
        let lua = self.lua;
        lua.new_table();
        let mut token = self.next_token();
        if token.0 == Token::ObjEnd {
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if token.0 != Token::Str {
                return Err(self.parse_error("object key string", token));
            }
            lua.push_bytes(&self.string);
            token = self.next_token();
            if token.0 != Token::Colon {
                return Err(self.parse_error("colon", token));
            }
            token = self.next_token();
            self.value(token)?;
            lua.raw_set(-3);
            token = self.next_token();
            if token.0 == Token::ObjEnd {
                self.depth -= 1;
                return Ok(());
            }
            if token.0 != Token::Comma {
                return Err(self.parse_error("comma or object end", token));
            }
            token = self.next_token();
        }
    }

    fn array(&mut self) -> Result<(), Raise> {
        self.descend(2)?;
        let lua = self.lua;
        lua.new_table();
        let mut token = self.next_token();
        if token.0 == Token::ArrEnd {
            self.depth -= 1;
            return Ok(());
        }
        let mut i: c_int = 1;
        loop {
            self.value(token)?;
            lua.raw_seti(-2, i);
            i = i.wrapping_add(1);
            token = self.next_token();
            if token.0 == Token::ArrEnd {
                self.depth -= 1;
                return Ok(());
            }
            if token.0 != Token::Comma {
                return Err(self.parse_error("comma or array end", token));
            }
            token = self.next_token();
        }
    }
}

fn decode(lua: Lua) -> Result<c_int, Raise> {
    if lua.top() != 1 {
        return Err(arg_error(lua, 1, "expected 1 argument"));
    }
    let cfg = config(&lua);
    let data = check_bytes(&lua, 1)?.to_vec();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(lua.error_with_where("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut p = Parser { lua, cfg, data: &data, pos: 0, depth: 0, string: Vec::new() };
    let token = p.next_token();
    p.value(token)?;
    let token = p.next_token();
    if token.0 != Token::End {
        return Err(p.parse_error("the end", token));
    }
    Ok(1)
}

/// C's strtod at `start` (C locale): decimal, hexadecimal, inf/infinity, nan[(...)], with an
/// optional sign. The value and the position after it; None when nothing converts.
pub fn strtod(data: &[u8], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| data.get(i).copied().unwrap_or(0);
    let mut i = start;
    let negative = at(i) == b'-';
    if at(i) == b'-' || at(i) == b'+' {
        i += 1;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    let word = |i: usize, w: &[u8]| (0..w.len()).all(|k| at(i + k).to_ascii_lowercase() == w[k]);
    if word(i, b"inf") {
        let end = if word(i, b"infinity") { i + 8 } else { i + 3 };
        return Some((sign * f64::INFINITY, end));
    }
    if word(i, b"nan") {
        let mut end = i + 3;
        if at(end) == b'(' {
            let mut j = end + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                end = j + 1;
            }
        }
        let nan = if negative { -f64::NAN } else { f64::NAN };
        return Some((nan, end));
    }
    if at(i) == b'0' && (at(i + 1) | 0x20) == b'x' {
        if let Some((v, end)) = hex_float(data, i + 2) {
            return Some((sign * v, end));
        }
        // "0x" without hex digits: only the "0" converts.
        return Some((sign * 0.0, i + 1));
    }
    let digits_start = i;
    let mut saw_digit = false;
    while at(i).is_ascii_digit() {
        i += 1;
        saw_digit = true;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            saw_digit = true;
        }
    }
    if !saw_digit {
        return None;
    }
    if (at(i) | 0x20) == b'e' {
        let mut j = i + 1;
        if at(j) == b'+' || at(j) == b'-' {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text = std::str::from_utf8(&data[digits_start..i]).ok()?;
    let text = if text.starts_with('.') { format!("0{text}") } else { text.to_string() };
    let text = if text.ends_with('.') { format!("{text}0") } else { text };
    let v: f64 = text.replace(".e", ".0e").replace(".E", ".0E").parse().ok()?;
    Some((sign * v, i))
}

/// The hexadecimal significand (and optional binary exponent) after "0x".
fn hex_float(data: &[u8], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| data.get(i).copied().unwrap_or(0);
    let mut i = start;
    let mut mantissa: u128 = 0;
    let mut exp: i64 = 0;
    let mut any = false;
    let mut dropped = false;
    while let Some(d) = (at(i) as char).to_digit(16) {
        if mantissa >> 120 == 0 { mantissa = (mantissa << 4) | d as u128; } else { exp += 4; dropped |= d != 0; }
        i += 1;
        any = true;
    }
    if at(i) == b'.' {
        let mut j = i + 1;
        while let Some(d) = (at(j) as char).to_digit(16) {
            if mantissa >> 120 == 0 { mantissa = (mantissa << 4) | d as u128; exp -= 4; } else { dropped |= d != 0; }
            j += 1;
            any = true;
        }
        if any {
            i = j;
        }
    }
    if !any {
        return None;
    }
    if (at(i) | 0x20) == b'p' {
        let mut j = i + 1;
        let neg = at(j) == b'-';
        if at(j) == b'+' || at(j) == b'-' {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(j).is_ascii_digit() {
                e = (e * 10 + (at(j) - b'0') as i64).min(1 << 20);
                j += 1;
            }
            exp += if neg { -e } else { e };
            i = j;
        }
    }
    let _ = dropped;
    let v = mantissa as f64 * 2f64.powi(exp.clamp(-2000, 2000) as i32);
    Some((v, i))
}
