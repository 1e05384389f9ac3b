//! The half of Redis's sigShutdownHandler that cannot wait for the event loop.
//!
//! Node hands a signal to JavaScript only between turns of its loop. While a long synchronous
//! call holds the JS thread (the final save of a shutdown under rdb-key-save-delay, a SAVE, a
//! DEBUG RELOAD), an operator's second Ctrl-C would wait for that call to end. This handler
//! runs when the signal is delivered, on whatever thread takes it:
//! - a SIGINT while a shutdown signal is pending exits at once, as Redis does: "You insist...
//!   exiting now." in the log, this process's temp-<pid>.rdb removed, exit status 1;
//! - any other SIGINT or SIGTERM is logged ("Received SIGTERM scheduling shutdown..."), marked
//!   pending and passed on to Node's own handler; TypeScript (src/shutdown.ts) schedules the
//!   shutdown when its turn comes.
//!
//! TypeScript clears the mark when the shutdown is aborted or fails (Redis's shutdown_asap = 0),
//! and reads it to tell a signal that SHUTDOWN ABORT cancelled before JavaScript heard of it.
//!
//! Only async-signal-safe calls run in the handler: atomics, write(2) (crash.rs's
//! serverLogFromHandler line), unlink(2), _exit(2). Every unsafe block has a `// SAFETY:` line;
//! the exported functions run under napi's catch_unwind.

use crate::libc::{sigaction, unlink, SigAction};
use crate::napi::{Env, JsArgs, JsValue};
use crate::os;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::OnceLock;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
const SIG_IGN: usize = 1;
const SA_SIGINFO: c_int = 4;
const SA_ONSTACK: c_int = 0x0800_0000;
const SA_RESTART: c_int = 0x1000_0000;

/// A shutdown signal arrived and was neither aborted nor failed (Redis's shutdown_asap).
static PENDING: AtomicBool = AtomicBool::new(false);
/// The server is loading (TypeScript's `server.loading`): the handler's line says so.
static LOADING: AtomicBool = AtomicBool::new(false);
/// The process the handler was installed in (a forked child resets its handlers, but a
/// signal racing the reset must not make the child act as the server).
static OWNER_PID: AtomicI32 = AtomicI32::new(0);
/// Node's handlers (libuv's) for SIGINT and SIGTERM, and their flags, chained to.
static PREVIOUS_HANDLER: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static PREVIOUS_FLAGS: [AtomicI32; 2] = [AtomicI32::new(0), AtomicI32::new(0)];
/// "temp-<pid>.rdb\0", relative to the working directory (dir), as rdbRemoveTempFile names it:
/// set before the handler is installed; `OnceLock::get` is a lock-free read, safe in a handler.
static TEMP_RDB: OnceLock<Vec<u8>> = OnceLock::new();

fn slot(sig: c_int) -> usize {
    if sig == SIGINT { 0 } else { 1 }
}

extern "C" fn on_shutdown_signal(sig: c_int, info: *mut c_void, context: *mut c_void) {
    if os::current_pid() == OWNER_PID.load(Ordering::Relaxed) {
        let was_pending = PENDING.swap(true, Ordering::SeqCst);
        if sig == SIGINT && was_pending {
            crate::crash::from_handler_line("You insist... exiting now.");
            if let Some(name) = TEMP_RDB.get() {
                // SAFETY: `name` is NUL-terminated; unlink is async-signal-safe.
                unsafe { unlink(name.as_ptr() as *const c_char) };
            }
            os::exit_now(1);
        }
        crate::crash::from_handler_line(if LOADING.load(Ordering::Relaxed) {
            "Received shutdown signal during loading, scheduling shutdown."
        } else if sig == SIGINT {
            "Received SIGINT scheduling shutdown..."
        } else {
            "Received SIGTERM scheduling shutdown..."
        });
    }
    let i = slot(sig);
    let handler = PREVIOUS_HANDLER[i].load(Ordering::Relaxed);
    if handler <= SIG_IGN {
        return;
    }
    if PREVIOUS_FLAGS[i].load(Ordering::Relaxed) & SA_SIGINFO != 0 {
        // SAFETY: the previous action was installed with SA_SIGINFO, so this is its
        // three-argument handler, called with the arguments the kernel gave us.
        let f: extern "C" fn(c_int, *mut c_void, *mut c_void) = unsafe { std::mem::transmute(handler) };
        f(sig, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the previous handler takes the signal number alone.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
        f(sig);
    }
}

/// installShutdownSignals(): puts the handler in front of Node's for SIGINT and SIGTERM.
/// Call it after `process.on('SIGINT' | 'SIGTERM')`, which is when Node installs its own.
fn install(env: &Env, _: &JsArgs) -> Result<JsValue, String> {
    let pid = os::current_pid();
    let _ = TEMP_RDB.set(format!("temp-{pid}.rdb\0").into_bytes());
    OWNER_PID.store(pid, Ordering::Relaxed);
    for sig in [SIGINT, SIGTERM] {
        let mut old = SigAction { handler: 0, mask: [0; 16], flags: 0, restorer: 0 };
        // SAFETY: a null new action only reads the current one into `old`.
        unsafe { sigaction(sig, std::ptr::null(), &mut old) };
        if old.handler == on_shutdown_signal as *const () as usize {
            continue; // installed already
        }
        PREVIOUS_HANDLER[slot(sig)].store(old.handler, Ordering::Relaxed);
        PREVIOUS_FLAGS[slot(sig)].store(old.flags, Ordering::Relaxed);
        let act = SigAction { handler: on_shutdown_signal as *const () as usize, mask: [0; 16], flags: SA_SIGINFO | SA_RESTART | SA_ONSTACK, restorer: 0 };
        // SAFETY: a valid sigaction whose handler only uses async-signal-safe calls.
        if unsafe { sigaction(sig, &act, std::ptr::null_mut()) } != 0 {
            return Err(format!("sigaction: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(env.undefined())
}

/// shutdownSignalPending(): whether a shutdown signal arrived and was not cleared since.
fn pending(env: &Env, _: &JsArgs) -> Result<JsValue, String> {
    Ok(env.boolean(PENDING.load(Ordering::SeqCst)))
}

/// shutdownSignalLoading(loading): whether the server is loading, for the handler's line.
fn set_loading(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    LOADING.store(a.bool(env, 0)?, Ordering::Relaxed);
    Ok(env.undefined())
}

/// clearShutdownSignal(): the shutdown was aborted or failed; a later SIGINT schedules anew.
fn clear(env: &Env, _: &JsArgs) -> Result<JsValue, String> {
    PENDING.store(false, Ordering::SeqCst);
    Ok(env.undefined())
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "installShutdownSignals", install)?;
    env.export(exports, "shutdownSignalPending", pending)?;
    env.export(exports, "clearShutdownSignal", clear)?;
    env.export(exports, "shutdownSignalLoading", set_loading)?;
    Ok(())
}
