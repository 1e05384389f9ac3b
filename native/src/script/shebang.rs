//! The first line of a script: `#!lua flags=no-writes,allow-oom` for EVAL
//! (evalExtractShebangFlags), `#!lua name=mylib` for FUNCTION LOAD
//! (functionExtractLibMetaData), split as sds.c's sdssplitargs splits.

use super::convert::c_str;
use super::{EVAL_COMPAT, FLAG_NAMES};

/// An EVAL body's flags and where the code starts (the shebang line is skipped, its newline
/// kept so line numbers stay the user's).
pub fn eval_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((EVAL_COMPAT, 0));
    }
    let text = c_str(body);
    let Some(end) = text.iter().position(|&c| c == b'\n') else { return Err("Invalid script shebang".into()) };
    let parts = split_args(&text[..end]).unwrap_or_default();
    if parts.is_empty() {
        return Err("Invalid engine in script shebang".into());
    }
    if parts[0] != b"#!lua" {
        return Err(format!("Unexpected engine in script shebang: {}", String::from_utf8_lossy(c_str(&parts[0]))));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!("Unknown lua shebang option: {}", String::from_utf8_lossy(c_str(part))));
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&c| c == b',') {
            match FLAG_NAMES.iter().find(|(_, n)| n.as_bytes() == c_str(name)) {
                Some((bit, _)) => flags |= bit,
                None => return Err(format!("Unexpected flag in script shebang: {}", String::from_utf8_lossy(c_str(name)))),
            }
        }
    }
    Ok((flags, end))
}

/// A library's engine, name, and code (from its newline on).
pub struct LibraryHeader {
    pub engine: Vec<u8>,
    pub name: Vec<u8>,
    pub code_start: usize,
}

pub fn library_header(code: &[u8]) -> Result<LibraryHeader, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let text = c_str(code);
    let Some(end) = text.iter().position(|&c| c == b'\n') else { return Err("Invalid library metadata".into()) };
    let parts = match split_args(&text[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = parts[0].get(2..).unwrap_or_default().to_vec();
    let mut name: Option<Vec<u8>> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(c_str(part))));
    }
    let Some(name) = name else { return Err("Library name was not given".into()) };
    Ok(LibraryHeader { engine, name, code_start: end })
}

/// sdssplitargs: whitespace-separated arguments with "double" (C escapes, \xHH) and 'single'
/// quotes; None for unbalanced quotes or a closing quote not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() || (i < n && line[i] == 0x0b) {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let (mut dq, mut sq, mut done) = (false, false, false);
        let mut cur = Vec::new();
        while !done {
            let c = line.get(i).copied();
            if dq {
                match c {
                    Some(b'\\') if line.get(i + 1) == Some(&b'x') && line.get(i + 2).is_some_and(|h| h.is_ascii_hexdigit()) && line.get(i + 3).is_some_and(|h| h.is_ascii_hexdigit()) => {
                        let hex = std::str::from_utf8(&line[i + 2..i + 4]).ok()?;
                        cur.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < n => {
                        i += 1;
                        cur.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                            return None;
                        }
                        done = true;
                    }
                    None => return None,
                    Some(other) => cur.push(other),
                }
            } else if sq {
                match c {
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                            return None;
                        }
                        done = true;
                    }
                    None => return None,
                    Some(other) => cur.push(other),
                }
            } else {
                match c {
                    None | Some(b' ') | Some(b'\n') | Some(b'\r') | Some(b'\t') | Some(0) => done = true,
                    Some(b'"') => dq = true,
                    Some(b'\'') => sq = true,
                    Some(other) => cur.push(other),
                }
            }
            if i < n {
                i += 1;
            }
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_shebangs() {
        assert_eq!(eval_flags(b"return 1").unwrap(), (EVAL_COMPAT, 0));
        assert_eq!(eval_flags(b"#!lua\nreturn 1").unwrap(), (0, 5));
        assert_eq!(eval_flags(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap().0, super::super::NO_WRITES | super::super::ALLOW_OOM);
        assert_eq!(eval_flags(b"#!lua flags=\nreturn 1").unwrap().0, 0);
        assert_eq!(eval_flags(b"#!lua").unwrap_err(), "Invalid script shebang");
        assert_eq!(eval_flags(b"#!python\n").unwrap_err(), "Unexpected engine in script shebang: #!python");
        assert_eq!(eval_flags(b"#!lua flags=bad\n").unwrap_err(), "Unexpected flag in script shebang: bad");
        assert_eq!(eval_flags(b"#!lua x=1\n").unwrap_err(), "Unknown lua shebang option: x=1");
    }

    #[test]
    fn library_headers() {
        let h = library_header(b"#!lua name=mylib\nredis.register_function('f', function() end)").unwrap();
        assert_eq!((h.engine.as_slice(), h.name.as_slice(), h.code_start), (&b"lua"[..], &b"mylib"[..], 16));
        assert_eq!(library_header(b"x").err().unwrap(), "Missing library metadata");
        assert_eq!(library_header(b"#!lua name=a").err().unwrap(), "Invalid library metadata");
        assert_eq!(library_header(b"#!lua\n").err().unwrap(), "Library name was not given");
        assert_eq!(library_header(b"#!lua name=a name=b\n").err().unwrap(), "Invalid metadata value, name argument was given multiple times");
        assert_eq!(library_header(b"#!lua foo=bar\n").err().unwrap(), "Invalid metadata value given: foo=bar");
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split_args(b" a  \"b c\" 'd\\'e' \"\\x41\\n\"").unwrap(), vec![b"a".to_vec(), b"b c".to_vec(), b"d'e".to_vec(), b"A\n".to_vec()]);
        assert!(split_args(b"\"abc").is_none());
        assert!(split_args(b"\"a\"b").is_none());
    }
}
