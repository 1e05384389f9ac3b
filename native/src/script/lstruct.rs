//! The `struct` library (Roberto Ierusalimschy's struct 0.2 as Redis ships it, with its
//! bounds fixes): struct.pack(fmt, ...), struct.unpack(fmt, data [, pos]), struct.size(fmt).
//! Formats as on x86-64 Linux: native little-endian, long and size_t of 8 bytes, maximum
//! alignment 8.

use super::args::{arg_error, check_bytes, check_number, number_to_integer, opt_integer};
use super::lua::{Lua, LuaFn, Raise};
use std::ffi::c_int;

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

pub fn open(lua: Lua) {
    lua.new_table();
    let functions: &[(&str, LuaFn)] = &[("pack", pack), ("unpack", unpack), ("size", size)];
    for (name, f) in functions {
        lua.push_fn(*f);
        lua.raw_set_field(-2, name);
    }
}

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

const DEFAULT: Header = Header { little: true, align: 1 };

/// A format string being read (C string semantics: it ends at the first NUL).
struct Fmt<'a> {
    s: &'a [u8],
    i: usize,
}

impl Fmt<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.i)?;
        if c == 0 {
            return None;
        }
        self.i += 1;
        Some(c)
    }

    /// getnum: a decimal count, or `default` when none follows.
    fn number(&mut self, lua: Lua, default: usize) -> Result<usize, Raise> {
        if !self.s.get(self.i).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(default);
        }
        let mut a: i64 = 0;
        while let Some(c) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            let d = (c - b'0') as i64;
            if a > i32::MAX as i64 / 10 || a * 10 > i32::MAX as i64 - d {
                return Err(lua.error_with_where("integral size overflow"));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a as usize)
    }
}

fn optsize(lua: Lua, opt: u8, fmt: &mut Fmt) -> Result<usize, Raise> {
    Ok(match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'x' => 1,
        b'c' => fmt.number(lua, 1)?,
        b'i' | b'I' => {
            let sz = fmt.number(lua, 4)?;
            if sz > MAXINTSIZE {
                return Err(lua.error_with_where(&format!("integral size {sz} is larger than limit of {MAXINTSIZE}")));
            }
            sz
        }
        _ => 0,
    })
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let align = if size > h.align { h.align } else { size };
    (align.wrapping_sub(len & align.wrapping_sub(1))) & align.wrapping_sub(1)
}

fn controloptions(lua: Lua, opt: u8, fmt: &mut Fmt, h: &mut Header) -> Result<(), Raise> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let a = fmt.number(lua, MAXALIGN)?;
            if !(a > 0 && a & (a - 1) == 0) {
                return Err(lua.error_with_where(&format!("alignment {a} is not a power of 2")));
            }
            h.align = a;
        }
        _ => return Err(arg_error(lua, 1, &format!("invalid format option '{}'", opt as char))),
    }
    Ok(())
}

fn is_integer_option(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

fn pack(lua: Lua) -> Result<c_int, Raise> {
    let fmt_bytes = check_bytes(&lua, 1)?.to_vec();
    let mut fmt = Fmt { s: &fmt_bytes, i: 0 };
    let mut h = DEFAULT;
    // The original pushes a nil to separate the arguments from its buffer: a missing argument
    // right after the last one reads as nil.
    lua.push_nil();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next() {
        let mut size = optsize(lua, opt, &mut fmt)?;
        let toalign = gettoalign(out.len(), &h, opt, size);
        out.resize(out.len() + toalign, 0);
        match opt {
            o if is_integer_option(o) => {
                let n = check_number(lua, arg)?;
                arg += 1;
                let mut value: u64 = if n < 0.0 { number_to_integer(n) as u64 } else { unsigned_cast(n) };
                let mut buf = [0u8; MAXINTSIZE];
                if h.little {
                    for b in buf.iter_mut().take(size) {
                        *b = value as u8;
                        value >>= 8;
                    }
                } else {
                    for b in buf[..size].iter_mut().rev() {
                        *b = value as u8;
                        value >>= 8;
                    }
                }
                out.extend_from_slice(&buf[..size]);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(lua, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { f.to_le_bytes() } else { f.to_be_bytes() });
            }
            b'd' => {
                let d = check_number(lua, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = check_bytes(&lua, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(arg_error(lua, arg, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => controloptions(lua, opt, &mut fmt, &mut h)?,
        }
    }
    lua.push_bytes(&out);
    Ok(1)
}

/// (Uinttype)n for a non-negative double, as x86-64 converts it.
fn unsigned_cast(n: f64) -> u64 {
    if n >= 18446744073709551616.0 || n.is_nan() {
        // Out of range: what the compiler's conversion sequence gives on x86-64.
        0x8000_0000_0000_0000
    } else if n >= 9223372036854775808.0 {
        ((n - 9223372036854775808.0) as u64) ^ 0x8000_0000_0000_0000
    } else {
        n as u64
    }
}

fn get_integer(data: &[u8], little: bool, signed: bool, size: usize) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| {
        l = l.wrapping_shl(8) | b as u64;
    };
    if little {
        data[..size].iter().rev().for_each(|&b| push(b));
    } else {
        data[..size].iter().for_each(|&b| push(b));
    }
    if !signed {
        return l as f64;
    }
    let mask = (!0u64).wrapping_shl((size * 8).wrapping_sub(1) as u32);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: Lua) -> Result<c_int, Raise> {
    let fmt_bytes = check_bytes(&lua, 1)?.to_vec();
    let data = check_bytes(&lua, 2)?.to_vec();
    let ld = data.len();
    let pos = opt_integer(lua, 3, 1)? as u64 as usize;
    if pos == 0 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    let mut pos = pos - 1;
    let mut fmt = Fmt { s: &fmt_bytes, i: 0 };
    let mut h = DEFAULT;
    let mut n: c_int = 0;
    while let Some(opt) = fmt.next() {
        let mut size = optsize(lua, opt, &mut fmt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(arg_error(lua, 2, "data string too short"));
        }
        if !lua.check_stack(2) {
            return Err(lua.error_with_where("stack overflow (too many results)"));
        }
        match opt {
            o if is_integer_option(o) => {
                lua.push_number(get_integer(&data[pos..], h.little, o.is_ascii_lowercase(), size));
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or([0; 4]);
                lua.push_number((if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) }) as f64);
                n += 1;
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                lua.push_number(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) });
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    if n == 0 || !lua.is_number(-1) {
                        return Err(lua.error_with_where("format 'c0' needs a previous size"));
                    }
                    size = number_to_integer(lua.to_number(-1)) as u64 as usize;
                    lua.pop(1);
                    n -= 1;
                    if !(size <= ld && pos <= ld - size) {
                        return Err(arg_error(lua, 2, "data string too short"));
                    }
                }
                lua.push_bytes(&data[pos..pos + size]);
                n += 1;
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(lua.error_with_where("unfinished string in data"));
                };
                size = end + 1;
                lua.push_bytes(&data[pos..pos + end]);
                n += 1;
            }
            _ => controloptions(lua, opt, &mut fmt, &mut h)?,
        }
        pos += size;
    }
    lua.push_number((pos + 1) as f64);
    Ok(n + 1)
}

fn size(lua: Lua) -> Result<c_int, Raise> {
    let fmt_bytes = check_bytes(&lua, 1)?.to_vec();
    let mut fmt = Fmt { s: &fmt_bytes, i: 0 };
    let mut h = DEFAULT;
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next() {
        let size = optsize(lua, opt, &mut fmt)?;
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(arg_error(lua, 1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(lua, opt, &mut fmt, &mut h)?;
        }
        pos += size;
    }
    lua.push_number(pos as f64);
    Ok(1)
}
