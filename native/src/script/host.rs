//! Calls from a running script into TypeScript, through one JS function bound at start-up
//! (`bindScriptHost`): a command that lives in TypeScript, a log line, and the event pump of a
//! script past busy-reply-threshold.
//!
//! The pump. Node's event loop cannot run while a script holds the JS thread inside a native
//! call, so once a script has timed out the count hook does what Redis's
//! processEventsWhileBlocked does: it reads the client sockets itself (poll with no wait, then
//! read) and hands the bytes to TypeScript, which parses and dispatches them as usual (BUSY for
//! most commands; SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN NOSAVE and the other allow-busy
//! commands run) and writes replies through its normal writer. The bytes go into each
//! client's own parser, so a partial command simply waits there for the rest; replies already
//! queued on a socket stay ahead of the new ones. The running script's own client is not
//! read. The common case, a script that ends before the threshold, pays nothing.

use crate::napi::{Env, JsValue, Kept};
use std::cell::RefCell;

const OP_CALL: i64 = 1;
const OP_LOG: i64 = 2;
const OP_BUSY: i64 = 3;
const OP_INPUT: i64 = 4;
const OP_ACCEPT: i64 = 5;
const OP_ACL: i64 = 6;

/// Most bytes read from one client per pump round.
const READ_MAX: usize = 64 * 1024;

thread_local! {
    static HOST: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

pub fn bind(env: &Env, f: JsValue) -> Result<(), String> {
    let kept = env.keep(f)?;
    HOST.with(|h| *h.borrow_mut() = Some(kept));
    Ok(())
}

/// Calls the host with `op` and arguments built by `args`. The host reference is borrowed
/// (shared) while JS runs: only `bind`, called once at start-up, ever replaces it.
fn call<R>(op: i64, args: impl FnOnce(&Env) -> Vec<JsValue>, read: impl FnOnce(&Env, JsValue) -> Result<R, String>) -> Result<R, String> {
    // A forked debugging session's child never enters V8 (its event loop lives in the parent).
    if super::ldb::in_child() {
        return Err("not available in a forked debugging session (SCRIPT DEBUG YES) of keyfork".to_string());
    }
    HOST.with(|h| {
        let host = h.borrow();
        let Some(kept) = host.as_ref() else { return Err("scripting host is not bound".to_string()) };
        kept.env().call_kept(
            kept,
            |e| {
                let mut v = vec![e.int(op)];
                v.extend(args(e));
                v
            },
            read,
        )
    })
}

/// Runs a TypeScript command for the script: its RESP reply and the script client's database
/// afterwards (SELECT changes it).
pub fn run_ts_command(argv: &[&[u8]], db: usize, resp3: bool) -> Result<(Vec<u8>, usize), String> {
    call(
        OP_CALL,
        |e| {
            let items: Vec<JsValue> = argv.iter().map(|a| e.buffer(a)).collect();
            let arr = e.array(&items).unwrap_or_else(|_| e.undefined());
            vec![arr, e.int(db as i64), e.boolean(resp3)]
        },
        |e, v| {
            let reply = e.buffer_bytes(e.element(v, 0)?)?.to_vec();
            let db = e.value_i64(e.element(v, 1)?)?;
            Ok((reply, db.max(0) as usize))
        },
    )
}

/// The ACL check of a command the script calls, for a caller whose user has restrictions:
/// None when allowed, else Redis's refusal text (a denial is logged in ACL LOG when `log`).
pub fn acl_check(argv: &[&[u8]], log: bool) -> Result<Option<String>, String> {
    call(
        OP_ACL,
        |e| {
            let items: Vec<JsValue> = argv.iter().map(|a| e.buffer(a)).collect();
            vec![e.array(&items).unwrap_or_else(|_| e.undefined()), e.boolean(log)]
        },
        |e, v| if e.is_nullish(v) { Ok(None) } else { Ok(Some(String::from_utf8_lossy(e.buffer_bytes(v)?).into_owned())) },
    )
}

/// redis.log and the engine's own lines, through TypeScript's logger (level 0-3 as Redis's).
pub fn log(level: i64, msg: &[u8]) {
    let _ = call(OP_LOG, |e| vec![e.int(level), e.buffer(msg)], |_, _| Ok(()));
}

/// The script just timed out: TypeScript enters busy mode and returns the descriptors of the
/// clients to serve meanwhile.
pub fn busy_started() -> Vec<i32> {
    call(OP_BUSY, |_| Vec::new(), read_fds).unwrap_or_default()
}

fn read_fds(e: &Env, v: JsValue) -> Result<Vec<i32>, String> {
    if e.is_nullish(v) {
        return Ok(Vec::new());
    }
    let n = e.array_len(v)?;
    (0..n).map(|i| e.value_i64(e.element(v, i)?).map(|x| x as i32)).collect()
}

/// One round of the event pump: accepts connections waiting on the listeners (TypeScript makes
/// them clients) and delivers what each watched client sent (or its end of stream) to
/// TypeScript. Listening sockets are in the watched list as `-fd - 1`. TypeScript may hand
/// back a new list of descriptors (a client left or arrived).
pub fn pump() {
    let watched = super::with_run(|r| r.watched.clone()).unwrap_or_default();
    if watched.is_empty() {
        return;
    }
    let fds: Vec<i32> = watched.iter().map(|&w| if w < 0 { -w - 1 } else { w }).collect();
    let ready = crate::os::readable_now(&fds);
    for listener in watched.iter().filter(|&&w| w < 0).map(|&w| -w - 1).filter(|l| ready.contains(l)) {
        while let Some(fd) = crate::os::accept_now(listener) {
            let update = call(OP_ACCEPT, |e| vec![e.int(fd as i64), e.int(listener as i64)], read_fds_if_any);
            if let Ok(Some(fds)) = update {
                super::with_run(|r| r.watched = fds);
            }
        }
    }
    for fd in ready.into_iter().filter(|fd| !watched.contains(&(-fd - 1))) {
        let data = match crate::os::read_some(fd, READ_MAX) {
            Ok(Some(d)) if d.is_empty() => continue,
            Ok(d) => d,
            Err(_) => None,
        };
        let update = call(
            OP_INPUT,
            |e| vec![e.int(fd as i64), match &data { Some(d) => e.buffer(d), None => e.null() }],
            read_fds_if_any,
        );
        if let Ok(Some(fds)) = update {
            super::with_run(|r| r.watched = fds);
        }
        // A SHUTDOWN or SCRIPT KILL may have come: let the hook look before reading more.
        if super::with_run(|r| r.killed).unwrap_or(true) {
            return;
        }
    }
}

fn read_fds_if_any(e: &Env, v: JsValue) -> Result<Option<Vec<i32>>, String> {
    if e.is_nullish(v) { Ok(None) } else { read_fds(e, v).map(Some) }
}
