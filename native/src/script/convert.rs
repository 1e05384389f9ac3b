//! Redis's conversions between RESP replies and Lua values, both ways (script_lua.c's
//! redisProtocolToLuaType and luaReplyToRedisReply).
//!
//! RESP -> Lua (what redis.call returns): integers are numbers, bulk strings strings, a null
//! bulk or null array is `false`, status replies {ok=...}, errors {err=...}; under
//! redis.setresp(3) maps are {map={...}}, sets {set={...}}, doubles {double=n}, big numbers
//! {big_number="..."}, verbatim strings {verbatim_string={format=..., string=...}}, RESP3
//! null is nil and booleans are booleans.
//!
//! Lua -> RESP (what a script returns): numbers are truncated to integers, strings are bulk
//! strings, tables are arrays up to the first nil unless they carry err/ok/double/big_number/
//! verbatim_string/map/set, `true` is 1, `false` and anything else null (RESP3 booleans after
//! redis.setresp(3)).

use super::lua::{Lua, Type};
use crate::reply::Reply;

/// Pushes the Lua value of the RESP reply at the start of `reply`; returns the bytes used.
/// Our own command replies are well formed; a malformed one pushes nil and stops.
pub fn push_reply(lua: Lua, reply: &[u8]) -> usize {
    let mut p = Parser { lua, input: reply, pos: 0 };
    if !p.value(true) {
        lua.push_nil();
    }
    p.pos
}

struct Parser<'a> {
    lua: Lua,
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    /// The text up to CRLF from the current position (after the type byte), consumed.
    fn line(&mut self) -> Option<&[u8]> {
        let start = self.pos;
        let rel = self.input[start..].windows(2).position(|w| w == b"\r\n")?;
        self.pos = start + rel + 2;
        Some(&self.input[start..start + rel])
    }

    fn number(&mut self) -> Option<i64> {
        let l = self.line()?;
        std::str::from_utf8(l).ok()?.parse().ok()
    }

    fn room(&self, n: i32) -> bool {
        // Redis panics when the stack cannot grow; keyfork refuses the value instead.
        self.lua.check_stack(n)
    }

    /// Parses one value; pushes it when `push` (attributes are parsed and dropped).
    fn value(&mut self, push: bool) -> bool {
        let Some(&t) = self.input.get(self.pos) else { return false };
        self.pos += 1;
        let lua = self.lua;
        if push && !self.room(6) {
            return false;
        }
        match t {
            b':' => {
                let Some(n) = self.number() else { return false };
                if push { lua.push_number(n as f64) }
            }
            b'$' => {
                let Some(n) = self.number() else { return false };
                if n < 0 {
                    if push { lua.push_bool(false) }
                } else {
                    let (s, e) = (self.pos, self.pos + n as usize);
                    if e + 2 > self.input.len() { return false; }
                    if push { lua.push_bytes(&self.input[s..e]) }
                    self.pos = e + 2;
                }
            }
            b'+' => {
                let Some(l) = self.line() else { return false };
                if push {
                    lua.new_table();
                    lua.push_bytes(l);
                    lua.raw_set_field(-2, "ok");
                }
            }
            b'-' => {
                let Some(l) = self.line() else { return false };
                if push {
                    let mut text = Vec::with_capacity(l.len() + 1);
                    text.push(b'-');
                    text.extend_from_slice(l);
                    push_error_table(lua, &text);
                    lua.push_bool(true);
                    lua.raw_set_field(-2, "ignore_error_stats_update");
                }
            }
            b'*' => {
                let Some(n) = self.number() else { return false };
                if n < 0 {
                    if push { lua.push_bool(false) }
                    return true;
                }
                if push { lua.create_table(n.min(1 << 16) as i32, 0) }
                for i in 1..=n {
                    if !self.value(push) { return false; }
                    if push { lua.raw_seti(-2, i as i32) }
                }
            }
            b'%' => {
                let Some(n) = self.number() else { return false };
                if push {
                    lua.new_table();
                    lua.new_table();
                }
                for _ in 0..n {
                    if !self.value(push) || !self.value(push) { return false; }
                    if push { set_pair(lua) }
                }
                if push { lua.raw_set_field(-2, "map") }
            }
            b'~' => {
                let Some(n) = self.number() else { return false };
                if push {
                    lua.new_table();
                    lua.new_table();
                }
                for _ in 0..n {
                    if !self.value(push) { return false; }
                    if push {
                        lua.push_bool(true);
                        set_pair(lua);
                    }
                }
                if push { lua.raw_set_field(-2, "set") }
            }
            b'_' => {
                if self.line().is_none() { return false; }
                if push { lua.push_nil() }
            }
            b'#' => {
                let Some(l) = self.line() else { return false };
                if push { lua.push_bool(l == b"t") }
            }
            b',' => {
                let Some(l) = self.line() else { return false };
                if push {
                    let d = parse_double_reply(l);
                    lua.new_table();
                    lua.push_number(d);
                    lua.raw_set_field(-2, "double");
                }
            }
            b'(' => {
                let Some(l) = self.line() else { return false };
                if push {
                    lua.new_table();
                    lua.push_bytes(l);
                    lua.raw_set_field(-2, "big_number");
                }
            }
            b'=' => {
                let Some(n) = self.number() else { return false };
                let (s, e) = (self.pos, self.pos + n as usize);
                if n < 4 || e + 2 > self.input.len() { return false; }
                if push {
                    lua.new_table();
                    lua.new_table();
                    lua.push_bytes(&self.input[s + 4..e]);
                    lua.raw_set_field(-2, "string");
                    lua.push_bytes(&self.input[s..s + 3]);
                    lua.raw_set_field(-2, "format");
                    lua.raw_set_field(-2, "verbatim_string");
                }
                self.pos = e + 2;
            }
            b'|' => {
                let Some(n) = self.number() else { return false };
                for _ in 0..2 * n {
                    if !self.value(false) { return false; }
                }
                return self.value(push);
            }
            _ => return false,
        }
        true
    }
}

/// t[k] = v for the key and value on top of the table (a nil or NaN key is skipped, as Lua
/// would refuse it).
fn set_pair(lua: Lua) {
    match lua.type_of(-2) {
        Type::Nil => lua.pop(2),
        Type::Number if lua.to_number(-2).is_nan() => lua.pop(2),
        _ => lua.raw_set(-3),
    }
}

fn parse_double_reply(l: &[u8]) -> f64 {
    match l {
        b"inf" => f64::INFINITY,
        b"-inf" => f64::NEG_INFINITY,
        b"nan" => f64::NAN,
        b"-nan" => -f64::NAN,
        _ => std::str::from_utf8(l).ok().and_then(|s| s.parse().ok()).unwrap_or(0.0),
    }
}

/// luaPushErrorBuff: pushes {err="CODE message"} for "-CODE message" (or "ERR message" when
/// the text has no leading '-'), trimming CR/LF at the ends of the message.
pub fn push_error_table(lua: Lua, text: &[u8]) {
    // While stepping, the debugger shows every error a script is handed (luaPushErrorBuff).
    if super::ldb::is_enabled() {
        super::ldb::log_error(text);
    }
    let text = error_text(text);
    lua.new_table();
    lua.push_bytes(&text);
    lua.raw_set_field(-2, "err");
}

/// The "CODE message" an error reply or a `redis.error_reply` argument becomes.
pub fn error_text(text: &[u8]) -> Vec<u8> {
    let text = c_str(text);
    let (code, msg): (&[u8], &[u8]) = if let Some(rest) = text.strip_prefix(b"-") {
        match rest.iter().position(|&c| c == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        }
    } else {
        (b"ERR", text)
    };
    let trimmed = trim_crlf(msg);
    let mut out = Vec::with_capacity(code.len() + 1 + trimmed.len());
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(trimmed);
    out
}

/// sdstrim(s, "\r\n").
fn trim_crlf(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| c != b'\r' && c != b'\n').unwrap_or(s.len());
    let end = s.iter().rposition(|&c| c != b'\r' && c != b'\n').map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// What the error part of a script's failure says, and whether its error was already counted.
pub struct ErrorInfo {
    pub msg: Option<Vec<u8>>,
    pub source: Option<Vec<u8>>,
    pub line: Option<Vec<u8>>,
    pub counted: bool,
}

/// luaExtractErrorInformation on the value on top (not popped).
pub fn error_info(lua: Lua) -> ErrorInfo {
    let mut info = ErrorInfo { msg: None, source: None, line: None, counted: false };
    if lua.type_of(-1) == Type::String {
        let mut m = b"ERR ".to_vec();
        m.extend_from_slice(c_str(lua.to_bytes(-1).unwrap_or_default()));
        info.msg = Some(m);
        return info;
    }
    if lua.type_of(-1) != Type::Table {
        return info;
    }
    let field = |name: &str| {
        lua.raw_get_field(-1, name);
        let v = if lua.is_string(-1) { lua.to_bytes(-1).map(|b| c_str(b).to_vec()) } else { None };
        lua.pop(1);
        v
    };
    info.msg = field("err");
    info.source = field("source");
    info.line = field("line");
    lua.raw_get_field(-1, "ignore_error_stats_update");
    info.counted = lua.type_of(-1) == Type::Boolean && lua.to_boolean(-1);
    lua.pop(1);
    info
}

/// Writes the Lua value on top of the stack (popped) as a reply. `script_resp3` is the
/// protocol the script chose with redis.setresp (it decides how booleans are returned);
/// `out.resp3` is the caller's. Returns true when the reply is an error already counted in the
/// error statistics (an error that came from a command).
pub fn write_value(lua: Lua, out: &mut Reply, script_resp3: bool) -> bool {
    let counted = write_rec(lua, out, script_resp3);
    lua.pop(1);
    counted
}

fn write_rec(lua: Lua, out: &mut Reply, script_resp3: bool) -> bool {
    if !lua.check_stack(4) {
        out.error("ERR reached lua stack limit");
        return false;
    }
    match lua.type_of(-1) {
        Type::String => out.bulk(lua.to_bytes(-1).unwrap_or_default()),
        Type::Boolean => {
            let b = lua.to_boolean(-1);
            if script_resp3 {
                out.boolean(b);
            } else if b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Type::Number => out.int(super::args::number_to_integer(lua.to_number(-1))),
        Type::Table => return write_table(lua, out, script_resp3),
        _ => out.null(),
    }
    false
}

/// The table on top (left in place; write_value pops it).
fn write_table(lua: Lua, out: &mut Reply, script_resp3: bool) -> bool {
    lua.raw_get_field(-1, "err");
    let is_err = lua.type_of(-1) == Type::String;
    lua.pop(1);
    if is_err {
        let info = error_info(lua);
        let mut msg = b"-".to_vec();
        msg.extend_from_slice(info.msg.as_deref().unwrap_or_default());
        write_error(out, &msg);
        return info.counted;
    }
    lua.raw_get_field(-1, "ok");
    if lua.type_of(-1) == Type::String {
        let s = c_str(lua.to_bytes(-1).unwrap_or_default());
        out.buf.push(b'+');
        out.buf.extend(s.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        out.buf.extend_from_slice(b"\r\n");
        lua.pop(1);
        return false;
    }
    lua.pop(1);
    lua.raw_get_field(-1, "double");
    if lua.type_of(-1) == Type::Number {
        out.double(lua.to_number(-1));
        lua.pop(1);
        return false;
    }
    lua.pop(1);
    lua.raw_get_field(-1, "big_number");
    if lua.type_of(-1) == Type::String {
        let s: Vec<u8> = lua.to_bytes(-1).unwrap_or_default().iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect();
        out.big_number(&s);
        lua.pop(1);
        return false;
    }
    lua.pop(1);
    lua.raw_get_field(-1, "verbatim_string");
    if lua.type_of(-1) == Type::Table {
        lua.raw_get_field(-1, "format");
        lua.raw_get_field(-2, "string");
        if lua.type_of(-2) == Type::String && lua.type_of(-1) == Type::String {
            let format = String::from_utf8_lossy(lua.to_bytes(-2).unwrap_or_default()).into_owned();
            let text = lua.to_bytes(-1).unwrap_or_default().to_vec();
            let format: String = format.chars().take(3).collect();
            out.verbatim(&text, &format);
            lua.pop(3);
            return false;
        }
        lua.pop(2);
    }
    lua.pop(1);
    lua.raw_get_field(-1, "map");
    if lua.type_of(-1) == Type::Table {
        let n = count_entries(lua);
        out.map(n);
        lua.push_nil();
        while lua.next(-2) {
            lua.push_value(-2);
            write_value(lua, out, script_resp3);
            write_value(lua, out, script_resp3);
        }
        lua.pop(1);
        return false;
    }
    lua.pop(1);
    lua.raw_get_field(-1, "set");
    if lua.type_of(-1) == Type::Table {
        let n = count_entries(lua);
        out.set(n);
        lua.push_nil();
        while lua.next(-2) {
            lua.pop(1);
            lua.push_value(-1);
            write_value(lua, out, script_resp3);
        }
        lua.pop(1);
        return false;
    }
    lua.pop(1);
    // An array: elements 1, 2, ... up to the first nil.
    let mut n = 0;
    loop {
        lua.raw_geti(-1, n + 1);
        let end = lua.type_of(-1) == Type::Nil;
        lua.pop(1);
        if end { break; }
        n += 1;
    }
    out.array(n as usize);
    for i in 1..=n {
        lua.raw_geti(-1, i);
        write_value(lua, out, script_resp3);
    }
    false
}

/// The entries of the table on top.
fn count_entries(lua: Lua) -> usize {
    let mut n = 0;
    lua.push_nil();
    while lua.next(-2) {
        n += 1;
        lua.pop(1);
    }
    n
}

/// addReplyErrorFormat with a message that starts with '-': the text as given (CR/LF become
/// spaces), or "-ERR " before it when it has no '-'.
pub fn write_error(out: &mut Reply, msg: &[u8]) {
    out.buf.push(b'-');
    let body = msg.strip_prefix(b"-").unwrap_or(msg);
    if !msg.starts_with(b"-") {
        out.buf.extend_from_slice(b"ERR ");
    }
    out.buf.extend(body.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
    out.buf.extend_from_slice(b"\r\n");
}

/// The bytes a C string API sees: up to the first NUL.
pub fn c_str(b: &[u8]) -> &[u8] {
    b.split(|&c| c == 0).next().unwrap_or(b"")
}
