//! SCRIPT DEBUG: Redis 7.0's Lua debugger (eval.c's ldb* functions), with its protocol, its
//! commands and its texts.
//!
//! A session is the run of one EVAL for a client that asked for debugging. The line hook stops
//! the script (at the first line, then where the user steps or a breakpoint is) and holds a
//! conversation with the client directly on its socket: the client sends commands as RESP
//! multi-bulks, the debugger answers with arrays of status lines. As in Redis, nothing of the
//! server runs meanwhile: in SYNC mode the whole server waits (changes are kept); in YES mode
//! the session runs in a forked child that serves only this connection and exits (the
//! parent has closed its side and goes on; the child's changes die with it).

use super::lua::{Lua, Raise, Type, HOOK_COUNT, REGISTRY};
use super::{env, ldb_os, with_run};
use crate::os::{self, Received};
use std::cell::RefCell;
use std::ffi::c_int;
use std::time::Instant;

const BREAKPOINTS_MAX: usize = 64;
const MAXLEN_DEFAULT: usize = 256;
/// LUA_MINSTACK / 2: how deep a value dump follows nested tables.
const MAX_VALUE_DEPTH: u32 = 10;
/// The debugger refuses a command buffer past this size (a client that never ends a command).
const MAX_COMMAND_BUFFER: usize = 1 << 20;
/// Redis's send timeout on the debugging connection (connSendTimeout 5000).
const SEND_TIMEOUT_MS: i32 = 5000;

struct Ldb {
    fd: i32,
    active: bool,
    forked: bool,
    logs: Vec<Vec<u8>>,
    bp: Vec<i32>,
    step: bool,
    luabp: bool,
    src: Vec<Vec<u8>>,
    currentline: i32,
    cbuf: Vec<u8>,
    maxlen: usize,
    maxlen_hint_sent: bool,
    /// Forked sessions not yet reaped (parent side).
    children: Vec<i32>,
}

thread_local! {
    static LDB: RefCell<Ldb> = const { RefCell::new(Ldb {
        fd: -1,
        active: false,
        forked: false,
        logs: Vec::new(),
        bp: Vec::new(),
        step: false,
        luabp: false,
        src: Vec::new(),
        currentline: 0,
        cbuf: Vec::new(),
        maxlen: MAXLEN_DEFAULT,
        maxlen_hint_sent: false,
        children: Vec::new(),
    }) };
}

fn with<R>(f: impl FnOnce(&mut Ldb) -> R) -> R {
    LDB.with(|l| f(&mut l.borrow_mut()))
}

/// SCRIPT DEBUG YES/SYNC (ldbEnable): a fresh debugger state for the next session.
pub fn enable() {
    with(|l| {
        l.logs.clear();
        l.step = true;
        l.bp.clear();
        l.luabp = false;
        l.cbuf.clear();
        l.maxlen = MAXLEN_DEFAULT;
        l.maxlen_hint_sent = false;
    });
}

/// ldbStartSession's setup: the connection and the script's source split into lines (trailing
/// newlines dropped first).
pub fn start(fd: i32, body: &[u8], forked: bool) {
    let mut end = body.len();
    while end > 0 && (body[end - 1] == b'\n' || body[end - 1] == b'\r') {
        end -= 1;
    }
    let src: Vec<Vec<u8>> = if end == 0 { Vec::new() } else { body[..end].split(|&c| c == b'\n').map(|l| l.to_vec()).collect() };
    with(|l| {
        l.fd = fd;
        l.active = true;
        l.forked = forked;
        l.src = src;
    });
}

/// ldbEndSession's first half: the remaining logs and the <endsession> mark.
pub fn end() {
    log(b"<endsession>".to_vec());
    send_logs();
    with(|l| {
        l.active = false;
        l.src.clear();
    });
}

pub fn is_active() -> bool {
    LDB.with(|l| l.try_borrow().map(|l| l.active).unwrap_or(false))
}

/// Commands and replies are logged while stepping (ldbIsEnabled).
pub fn is_enabled() -> bool {
    LDB.with(|l| l.try_borrow().map(|l| l.active && l.step).unwrap_or(false))
}

/// This process is a forked session's child: JavaScript must not be entered.
pub fn in_child() -> bool {
    LDB.with(|l| l.try_borrow().map(|l| l.active && l.forked).unwrap_or(false))
}

pub fn add_child(pid: i32) {
    with(|l| l.children.push(pid));
}

/// Reaps the forked sessions that ended: their pids (the parent logs their exit).
pub fn reap_children() -> Vec<i32> {
    let children = with(|l| l.children.clone());
    let mut done = Vec::new();
    for pid in children {
        match os::try_wait(pid) {
            Ok(None) => {}
            _ => done.push(pid),
        }
    }
    with(|l| l.children.retain(|p| !done.contains(p)));
    done
}

/// ldbKillForkedSessions: SIGKILL to every session child (shutdown); their pids.
pub fn kill_children() -> Vec<i32> {
    let children = with(|l| std::mem::take(&mut l.children));
    for &pid in &children {
        let _ = os::send_signal(pid, 9);
        let _ = os::wait_blocking(pid);
    }
    children
}

pub fn pending_children() -> usize {
    with(|l| l.children.len())
}

fn log(entry: Vec<u8>) {
    with(|l| l.logs.push(entry));
}

fn log_str(entry: &str) {
    log(entry.as_bytes().to_vec());
}

/// ldbLogWithMaxLen: an entry past maxlen is cut (" ..." appended), with a one-time hint.
fn log_max_len(mut entry: Vec<u8>) {
    let hint = with(|l| {
        let mut trimmed = false;
        if l.maxlen != 0 && entry.len() > l.maxlen {
            entry.truncate(l.maxlen);
            entry.extend_from_slice(b" ...");
            trimmed = true;
        }
        l.logs.push(entry);
        if trimmed && !l.maxlen_hint_sent {
            l.maxlen_hint_sent = true;
            true
        } else {
            false
        }
    });
    if hint {
        log_str("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
    }
}

/// ldbSendLogs: the pending entries as an array of status lines (CR and LF become spaces).
fn send_logs() {
    let (fd, logs) = with(|l| (l.fd, std::mem::take(&mut l.logs)));
    let mut proto = format!("*{}\r\n", logs.len()).into_bytes();
    for entry in logs {
        proto.push(b'+');
        proto.extend(entry.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        proto.extend_from_slice(b"\r\n");
    }
    write_to_client(fd, &proto);
}

/// Writes to the debugging connection, waiting up to the send timeout whenever its buffer is
/// full; an error is not reported here (the next read sees the connection gone, as in Redis).
pub fn write_to_client(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        match os::send_nonblocking(fd, data) {
            Ok(0) => {
                if !ldb_os::wait_ready(fd, ldb_os::POLLOUT, SEND_TIMEOUT_MS) {
                    return;
                }
            }
            Ok(n) => data = &data[n..],
            Err(_) => return,
        }
    }
}

/// The session's connection (for the final reply of a forked session).
pub fn client_fd() -> i32 {
    with(|l| l.fd)
}

fn source_line(l: &Ldb, line: i32) -> Vec<u8> {
    let idx = line as i64 - 1;
    if idx < 0 || idx >= l.src.len() as i64 {
        return b"<out of range source code line>".to_vec();
    }
    l.src[idx as usize].clone()
}

fn log_source_line(line: i32) {
    let entry = with(|l| {
        let bp = l.bp.contains(&line);
        let current = l.currentline == line;
        let prefix = match (current, bp) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut e = format!("{prefix}{line:<3} ").into_bytes();
        e.extend_from_slice(&source_line(l, line));
        e
    });
    log(entry);
}

fn list(around: i32, context: i32) {
    let lines = with(|l| l.src.len()) as i32;
    for j in 1..=lines {
        if around != 0 && (around as i64 - j as i64).abs() > context as i64 {
            continue;
        }
        log_source_line(j);
    }
}

/// sdscatrepr: a quoted string with C escapes for the unprintable bytes.
fn cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            c if (0x20..0x7f).contains(&c) => out.push(c),
            c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// ldbCatStackValue: a Lua value as the debugger shows it (tables as arrays when they are).
pub fn cat_value(lua: Lua, idx: c_int, out: &mut Vec<u8>) {
    cat_value_rec(lua, lua.absolute(idx), out, 0);
}

fn cat_value_rec(lua: Lua, idx: c_int, out: &mut Vec<u8>, level: u32) {
    if level == MAX_VALUE_DEPTH {
        out.extend_from_slice(b"<max recursion level reached! Nested table?>");
        return;
    }
    let level = level + 1;
    match lua.type_of(idx) {
        Type::String => cat_repr(out, lua.string_bytes(idx).unwrap_or_default()),
        Type::Boolean => out.extend_from_slice(if lua.to_boolean(idx) { b"true" } else { b"false" }),
        Type::Number => crate::numfmt::push_g(out, lua.to_number(idx), 6),
        Type::Nil => out.extend_from_slice(b"nil"),
        Type::Table => {
            if !lua.check_stack(4) {
                out.extend_from_slice(b"<max recursion level reached! Nested table?>");
                return;
            }
            // A read-only proxy (a library table) shows the table it protects, as Redis's
            // read-only tables are the tables themselves.
            if env::real_table(lua, idx) {
                let real = lua.top();
                cat_value_rec(lua, real, out, level - 1);
                lua.pop(1);
                return;
            }
            if !lua.check_stack(3) {
                out.extend_from_slice(b"<max recursion level reached! Nested table?>");
                return;
            }
            let mut expected = 1.0;
            let mut is_array = true;
            let mut as_array = Vec::new();
            let mut as_map = Vec::new();
            lua.push_nil();
            while lua.next(idx) {
                if is_array && (lua.type_of(-2) != Type::Number || lua.to_number(-2) != expected) {
                    is_array = false;
                }
                let value = lua.top();
                let key = value - 1;
                cat_value_rec(lua, value, &mut as_array, level);
                as_array.extend_from_slice(b"; ");
                as_map.push(b'[');
                cat_value_rec(lua, key, &mut as_map, level);
                as_map.extend_from_slice(b"]=");
                cat_value_rec(lua, value, &mut as_map, level);
                as_map.extend_from_slice(b"; ");
                lua.pop(1);
                expected += 1.0;
            }
            for repr in [&mut as_array, &mut as_map] {
                if !repr.is_empty() {
                    repr.truncate(repr.len() - 2);
                }
            }
            out.push(b'{');
            out.extend_from_slice(if is_array { &as_array } else { &as_map });
            out.push(b'}');
        }
        t => {
            let name = match t {
                Type::Function => "function",
                Type::Userdata => "userdata",
                Type::Thread => "thread",
                Type::LightUserdata => "light-userdata",
                _ => "unknown",
            };
            out.extend_from_slice(format!("\"{name}@{:p}\"", lua.to_pointer(idx)).as_bytes());
        }
    }
}

fn log_stack_value(lua: Lua, prefix: &[u8]) {
    let mut s = prefix.to_vec();
    cat_value(lua, -1, &mut s);
    log_max_len(s);
}

/// The `n` elements (key => value pairs when `pairs`) of an aggregate reply starting at `at`,
/// comma-separated between `open` and `close`; the position after them.
fn cat_elements(out: &mut Vec<u8>, r: &[u8], at: usize, n: i64, open: &[u8], close: &[u8], pairs: bool) -> usize {
    out.extend_from_slice(open);
    let mut p = at;
    for j in 0..n {
        if j > 0 {
            out.push(b',');
        }
        p = protocol_to_human(out, r, p);
        if pairs {
            out.extend_from_slice(b" => ");
            p = protocol_to_human(out, r, p);
        }
    }
    out.extend_from_slice(close);
    p
}

/// ldbRedisProtocolToHuman: one reply of `r` from `at` appended to `out`; the position after it.
fn protocol_to_human(out: &mut Vec<u8>, r: &[u8], at: usize) -> usize {
    let Some(&kind) = r.get(at) else { return r.len() };
    let line_end = |from: usize| r[from..].iter().position(|&c| c == b'\r').map(|p| from + p).unwrap_or(r.len());
    let cr = line_end(at + 1);
    let header = &r[(at + 1).min(cr)..cr];
    let next = (cr + 2).min(r.len());
    let count = || crate::numfmt::parse_i64(header).unwrap_or(0);
    match kind {
        b':' => {
            out.extend_from_slice(header);
            next
        }
        b'$' => {
            let n = count();
            if n < 0 {
                out.extend_from_slice(b"NULL");
                return next;
            }
            let end = (next + n as usize).min(r.len());
            cat_repr(out, &r[next..end]);
            (end + 2).min(r.len())
        }
        b'+' | b'-' => {
            cat_repr(out, &r[at..cr]);
            next
        }
        b'*' => {
            let n = count();
            if n < 0 {
                out.extend_from_slice(b"NULL");
                return next;
            }
            cat_elements(out, r, next, n, b"[", b"]", false)
        }
        b'~' => cat_elements(out, r, next, count(), b"~(", b")", false),
        b'%' => cat_elements(out, r, next, count(), b"{", b"}", true),
        b'_' => {
            out.extend_from_slice(b"(null)");
            next
        }
        b'#' => {
            out.extend_from_slice(if header.first() == Some(&b't') { b"#true" } else { b"#false" });
            next
        }
        b',' => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(header);
            next
        }
        // Redis's converter knows no other type (a big number, a verbatim string): it shows
        // nothing of it and does not move on.
        _ => at,
    }
}

/// An error handed to the script, logged while stepping.
pub fn log_error(text: &[u8]) {
    let mut s = b"<error> ".to_vec();
    s.extend_from_slice(text);
    log(s);
}

/// redis.call's reply, logged while stepping (ldbLogRedisReply).
pub fn log_reply(reply: &[u8]) {
    let mut s = b"<reply> ".to_vec();
    protocol_to_human(&mut s, reply, 0);
    log_max_len(s);
}

/// redis.call's command, logged while stepping: its first ten arguments, then how many more
/// (Redis's count, one short).
pub fn log_command(args: &[&[u8]]) {
    let mut s = b"<redis>".to_vec();
    for (j, a) in args.iter().enumerate() {
        if j == 10 {
            s.extend_from_slice(format!(" ... ({} more)", args.len() - j - 1).as_bytes());
            break;
        }
        s.push(b' ');
        s.extend_from_slice(a);
    }
    log(s);
}

/// redis.breakpoint(): true when it will stop at the next line (a session is active).
pub fn breakpoint(lua: Lua) -> Result<c_int, Raise> {
    let active = with(|l| {
        if l.active {
            l.luabp = true;
        }
        l.active
    });
    lua.push_bool(active);
    Ok(1)
}

/// redis.debug(...): logs its arguments in the debugger console (nothing outside a session).
pub fn debug(lua: Lua) -> Result<c_int, Raise> {
    let Some(line) = LDB.with(|l| l.try_borrow().ok().filter(|l| l.active).map(|l| l.currentline)) else { return Ok(0) };
    let argc = lua.top();
    let mut s = format!("<debug> line {line}: ").into_bytes();
    for i in 1..=argc {
        cat_value(lua, i, &mut s);
        if i != argc {
            s.extend_from_slice(b", ");
        }
    }
    log(s);
    Ok(0)
}

/// luaLdbLineHook: called for every line (and every 100k instructions, for the timeout).
pub fn hook(lua: Lua) -> Result<(), Raise> {
    let Some(frame) = lua.frame(0) else { return Ok(()) };
    let (step, bp) = with(|l| {
        l.currentline = frame.line;
        (l.step, l.bp.contains(&frame.line) || l.luabp)
    });
    if !contains(&frame.short_src, b"user_script") {
        return Ok(());
    }
    let mut timeout = false;
    if super::lua::hook_event() == HOOK_COUNT && !step && !bp {
        let (elapsed, limit) = with_run(|r| (r.start.elapsed().as_millis() as i64, if r.caller.busy_ms > 0 { r.caller.busy_ms } else { 5000 })).unwrap_or((0, 5000));
        if elapsed < limit {
            return Ok(());
        }
        timeout = true;
        with(|l| l.step = true);
    }
    if !(step || bp || timeout) {
        return Ok(());
    }
    let reason = if bp {
        if with(|l| l.luabp) { "redis.breakpoint() called" } else { "break point" }
    } else if timeout {
        "timeout reached, infinite loop?"
    } else {
        "step over"
    };
    with(|l| {
        l.step = false;
        l.luabp = false;
    });
    log_str(&format!("* Stopped at {}, stop reason = {reason}", frame.line));
    log_source_line(frame.line);
    send_logs();
    let connected = repl(lua)?;
    if !connected && timeout {
        // Nobody can end the loop any more: the script must not keep the server blocked.
        return Err(lua.error("timeout during Lua debugging with client closing connection"));
    }
    with_run(|r| {
        r.start = Instant::now();
        r.snapshot_ms = crate::now_ms();
    });
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

enum Parsed {
    Command(Vec<Vec<u8>>),
    More,
    ProtocolError,
}

/// ldbReplParseCommand: one multi-bulk command from the buffer (Redis's forgiving parser:
/// anything before the '*' is skipped; arguments are 1 to 1024 bytes, at most 1024 of them).
fn parse_command(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        return Parsed::More;
    }
    let find_crlf = |from: usize| buf[from..].windows(2).position(|w| w == b"\r\n").map(|p| from + p);
    let Some(star) = buf.iter().position(|&c| c == b'*') else { return Parsed::ProtocolError };
    let Some(cr) = find_crlf(star) else { return Parsed::More };
    let argc = crate::numfmt::atoi(&buf[star + 1..cr]);
    if argc <= 0 || argc > 1024 {
        return Parsed::ProtocolError;
    }
    let mut p = cr + 2;
    let mut argv = Vec::with_capacity(argc as usize);
    while (argv.len() as i64) < argc {
        if p >= buf.len() {
            return Parsed::More;
        }
        if buf[p] != b'$' {
            return Parsed::ProtocolError;
        }
        let Some(cr) = find_crlf(p) else { return Parsed::More };
        let len = crate::numfmt::atoi(&buf[p + 1..cr]);
        if len <= 0 || len > 1024 {
            return Parsed::ProtocolError;
        }
        p = cr + 2;
        let len = len as usize;
        if p + len + 2 > buf.len() {
            return Parsed::More;
        }
        argv.push(buf[p..p + len].to_vec());
        p += len;
        if &buf[p..p + 2] != b"\r\n" {
            return Parsed::ProtocolError;
        }
        p += 2;
    }
    Parsed::Command(argv)
}

/// Reads more of the client's command; false when the connection is gone.
fn read_more(fd: i32) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        ldb_os::wait_ready(fd, ldb_os::POLLIN, -1);
        match os::recv_now(fd, &mut buf) {
            Received::Bytes(n) => {
                with(|l| l.cbuf.extend_from_slice(&buf[..n]));
                return true;
            }
            Received::Nothing => continue,
            Received::Closed | Received::Failed(_) => return false,
        }
    }
}

fn is(cmd: &[u8], names: &[&str]) -> bool {
    names.iter().any(|n| cmd.eq_ignore_ascii_case(n.as_bytes()))
}

const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

/// ldbRepl: serves debugger commands until one resumes the script. Ok(false) when the client
/// went away (the script then runs to its end without stopping).
fn repl(lua: Lua) -> Result<bool, Raise> {
    loop {
        let argv = loop {
            let parsed = with(|l| parse_command(&l.cbuf));
            match parsed {
                Parsed::Command(argv) => break argv,
                Parsed::ProtocolError => return Err(lua.error("protocol error")),
                Parsed::More => {}
            }
            let fd = with(|l| l.fd);
            if !read_more(fd) {
                with(|l| {
                    l.step = false;
                    l.bp.clear();
                });
                return Ok(false);
            }
            if with(|l| l.cbuf.len()) > MAX_COMMAND_BUFFER {
                with(|l| l.cbuf = Vec::new());
                return Err(lua.error("max client buffer reached"));
            }
        };
        with(|l| l.cbuf.clear());
        let cmd = argv[0].as_slice();
        let argc = argv.len();
        if is(cmd, &["h", "help"]) {
            for line in HELP {
                log_str(line);
            }
        } else if is(cmd, &["s", "step", "n", "next"]) {
            with(|l| l.step = true);
            return Ok(true);
        } else if is(cmd, &["c", "continue"]) {
            return Ok(true);
        } else if is(cmd, &["t", "trace"]) {
            trace(lua);
        } else if is(cmd, &["m", "maxlen"]) {
            maxlen(&argv);
        } else if is(cmd, &["b", "break"]) {
            set_break(&argv);
        } else if is(cmd, &["e", "eval"]) {
            eval(lua, &argv);
        } else if is(cmd, &["a", "abort"]) {
            return Err(lua.error("script aborted for user request"));
        } else if argc > 1 && is(cmd, &["r", "redis"]) {
            redis(lua, &argv);
        } else if is(cmd, &["p", "print"]) {
            if argc == 2 { print(lua, &argv[1]) } else { print_all(lua) }
        } else if is(cmd, &["l", "list"]) {
            let mut around = with(|l| l.currentline);
            let mut ctx = 5;
            if argc > 1 {
                let num = crate::numfmt::atoi(&argv[1]) as i32;
                if num > 0 {
                    around = num;
                }
            }
            if argc > 2 {
                ctx = crate::numfmt::atoi(&argv[2]) as i32;
            }
            list(around, ctx);
        } else if is(cmd, &["w", "whole"]) {
            list(1, 1_000_000);
        } else {
            log_str("<error> Unknown Redis Lua debugger command or wrong number of arguments.");
        }
        send_logs();
    }
}

fn trace(lua: Lua) {
    let mut level = 0;
    while let Some(frame) = lua.frame(level) {
        if contains(&frame.short_src, b"user_script") {
            let mut s = if level == 0 { b"In ".to_vec() } else { b"From ".to_vec() };
            s.extend_from_slice(frame.name.as_deref().unwrap_or(b"top level"));
            s.push(b':');
            log(s);
            log_source_line(frame.line);
        }
        level += 1;
    }
    if level == 0 {
        log_str("<error> Can't retrieve Lua stack.");
    }
}

fn maxlen(argv: &[Vec<u8>]) {
    let len = with(|l| {
        if argv.len() == 2 {
            let mut v = crate::numfmt::atoi(&argv[1]) as i32;
            l.maxlen_hint_sent = true;
            if v != 0 && v <= 60 {
                v = 60;
            }
            l.maxlen = v as usize;
        }
        l.maxlen
    });
    if len != 0 {
        log_str(&format!("<value> replies are truncated at {len} bytes."));
    } else {
        log_str("<value> replies are unlimited.");
    }
}

fn set_break(argv: &[Vec<u8>]) {
    if argv.len() == 1 {
        let bps = with(|l| l.bp.clone());
        if bps.is_empty() {
            log_str("No breakpoints set. Use 'b <line>' to add one.");
        } else {
            log_str(&format!("{} breakpoints set:", bps.len()));
            for line in bps {
                log_source_line(line);
            }
        }
        return;
    }
    for arg in &argv[1..] {
        let Some(line) = crate::numfmt::parse_i64(arg).filter(|v| i32::try_from(*v).is_ok()).map(|v| v as i32) else {
            let mut s = b"Invalid argument:'".to_vec();
            s.extend_from_slice(arg);
            s.push(b'\'');
            log(s);
            continue;
        };
        if line == 0 {
            with(|l| l.bp.clear());
            log_str("All breakpoints removed.");
        } else if line > 0 {
            let added = with(|l| {
                if l.bp.len() == BREAKPOINTS_MAX {
                    return None;
                }
                if line > l.src.len() as i32 || l.bp.contains(&line) {
                    return Some(false);
                }
                l.bp.push(line);
                Some(true)
            });
            match added {
                None => log_str("Too many breakpoints set."),
                Some(true) => list(line, 1),
                Some(false) => log_str("Wrong line number."),
            }
        } else {
            let removed = with(|l| match l.bp.iter().position(|&b| b == -line) {
                Some(i) => {
                    l.bp.remove(i);
                    true
                }
                None => false,
            });
            log_str(if removed { "Breakpoint removed." } else { "No breakpoint in the specified line." });
        }
    }
}

/// The text of an error value: a string, or an error table's `err` (where Redis would crash
/// on the table it cannot print).
fn error_text(lua: Lua) -> Vec<u8> {
    match lua.type_of(-1) {
        Type::String | Type::Number => lua.to_bytes(-1).map(|b| b.to_vec()).unwrap_or_default(),
        Type::Table => {
            lua.raw_get_field(-1, "err");
            let t = lua.string_bytes(-1).map(|b| b.to_vec()).unwrap_or_default();
            lua.pop(1);
            t
        }
        _ => b"(null)".to_vec(),
    }
}

fn eval(lua: Lua, argv: &[Vec<u8>]) {
    let code = argv[1..].join(&b' ');
    let mut expr = b"return ".to_vec();
    expr.extend_from_slice(&code);
    if env::load_source(lua, &expr, b"@ldb_eval").is_err() {
        lua.pop(1);
        if env::load_source(lua, &code, b"@ldb_eval").is_err() {
            let mut s = b"<error> ".to_vec();
            s.extend_from_slice(&error_text(lua));
            lua.pop(1);
            log(s);
            return;
        }
    }
    if lua.pcall(0, 1, 0).is_err() {
        let mut s = b"<error> ".to_vec();
        s.extend_from_slice(&error_text(lua));
        lua.pop(1);
        log(s);
        return;
    }
    log_stack_value(lua, b"<retval> ");
    lua.pop(1);
}

/// The debugger's `redis` command: redis.call itself, with stepping on so that the command
/// and its reply are logged.
fn redis(lua: Lua, argv: &[Vec<u8>]) {
    let top = lua.top();
    if !lua.check_stack(argv.len() as c_int + 2) {
        log_reply(b"max lua stack reached");
        return;
    }
    lua.raw_get_field(REGISTRY, env::REAL_GLOBALS);
    lua.raw_get_field(-1, "redis");
    // The globals' tables are read-only proxies: the function is in the real table.
    env::real_table(lua, -1);
    lua.raw_get_field(-1, "call");
    for a in &argv[1..] {
        lua.push_bytes(a);
    }
    with(|l| l.step = true);
    let _ = lua.pcall(argv.len() as c_int - 1, 1, 0);
    with(|l| l.step = false);
    lua.set_top(top);
}

fn print(lua: Lua, name: &[u8]) {
    let mut level = 0;
    while lua.frame(level).is_some() {
        let mut i = 1;
        while let Some(local) = lua.local(level, i) {
            i += 1;
            if local == name {
                log_stack_value(lua, b"<value> ");
                lua.pop(1);
                return;
            }
            lua.pop(1);
        }
        level += 1;
    }
    if name == b"ARGV" || name == b"KEYS" {
        lua.raw_get_field(REGISTRY, env::REAL_GLOBALS);
        lua.raw_get_field(-1, if name == b"ARGV" { "ARGV" } else { "KEYS" });
        log_stack_value(lua, b"<value> ");
        lua.pop(2);
    } else {
        log_str("No such variable.");
    }
}

fn print_all(lua: Lua) {
    let mut vars = 0;
    let mut i = 1;
    while let Some(name) = lua.local(0, i) {
        i += 1;
        if !contains(&name, b"(*temporary)") {
            let mut prefix = b"<value> ".to_vec();
            prefix.extend_from_slice(&name);
            prefix.extend_from_slice(b" = ");
            log_stack_value(lua, &prefix);
            vars += 1;
        }
        lua.pop(1);
    }
    if vars == 0 {
        log_str("No local variables in the current context.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multibulk_commands_like_redis() {
        match parse_command(b"*2\r\n$1\r\nb\r\n$2\r\n10\r\n") {
            Parsed::Command(a) => assert_eq!(a, vec![b"b".to_vec(), b"10".to_vec()]),
            _ => panic!("a whole command"),
        }
        assert!(matches!(parse_command(b"*2\r\n$1\r\nb\r\n"), Parsed::More));
        assert!(matches!(parse_command(b"*0\r\n"), Parsed::ProtocolError));
        assert!(matches!(parse_command(b"*1\r\n$0\r\n\r\n"), Parsed::ProtocolError));
        assert!(matches!(parse_command(b"help\r\n"), Parsed::ProtocolError));
    }

    #[test]
    fn replies_read_as_redis_shows_them() {
        let mut s = Vec::new();
        protocol_to_human(&mut s, b"*3\r\n:1\r\n$-1\r\n$3\r\na\"b\r\n", 0);
        assert_eq!(s, b"[1,NULL,\"a\\\"b\"]");
        let mut s = Vec::new();
        protocol_to_human(&mut s, b"%1\r\n+k\r\n,1.5\r\n", 0);
        assert_eq!(s, b"{\"+k\" => (double) 1.5}");
        let mut s = Vec::new();
        let end = protocol_to_human(&mut s, b"~2\r\n:1\r\n:2\r\n*0\r\n", 0);
        assert_eq!((s.as_slice(), end), (&b"~(1,2)"[..], 12));
        let mut s = Vec::new();
        protocol_to_human(&mut s, b"*0\r\n", 0);
        assert_eq!(s, b"[]");
    }
}
