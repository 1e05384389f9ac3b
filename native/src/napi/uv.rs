//! Watching a file descriptor on Node's own event loop: libuv's `uv_poll`, which the node
//! binary exports, declared here by hand. When the descriptor becomes readable a JS function is
//! called (through `napi_make_callback`, so promises and nextTicks run after it as after any
//! I/O callback). The snapshot child's report pipe is read this way, the moment the child
//! writes, instead of at the next cron tick.

use super::sys::*;
use super::{Env, JsValue};
use std::cell::RefCell;
use std::collections::HashMap;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// uv_poll_t is 160 bytes in libuv 1.46 (Node 20); the space reserved here is larger, so that a
/// newer libuv with a few more fields still fits. libuv only writes inside its own struct.
const POLL_HANDLE_BYTES: usize = 256;
const UV_READABLE: c_int = 1;

#[repr(C, align(16))]
struct PollHandle([u8; POLL_HANDLE_BYTES]);

type PollCb = unsafe extern "C" fn(handle: *mut PollHandle, status: c_int, events: c_int);
type CloseCb = unsafe extern "C" fn(handle: *mut PollHandle);

extern "C" {
    fn uv_poll_init(event_loop: *mut c_void, handle: *mut PollHandle, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut PollHandle, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut PollHandle) -> c_int;
    fn uv_close(handle: *mut PollHandle, cb: CloseCb);
}

/// One watched descriptor. `handle` comes first, so libuv's handle pointer is the Watch's.
#[repr(C)]
struct Watch {
    handle: PollHandle,
    env: napi_env,
    func: napi_ref,
    context: napi_async_context,
}

thread_local! {
    static WATCHES: RefCell<HashMap<u32, *mut Watch>> = RefCell::new(HashMap::new());
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

/// A JS function libuv callbacks call, and the loop they run on.
struct LoopCallback {
    event_loop: *mut c_void,
    env: napi_env,
    func: napi_ref,
    context: napi_async_context,
}

/// Node's loop, and a reference and async context (named `name`) for calling `func` from it.
fn loop_callback(env: &Env, func: JsValue, name: &str) -> Result<LoopCallback, String> {
    let raw = env.raw();
    let mut event_loop: *mut c_void = ptr::null_mut();
    let mut func_ref: napi_ref = ptr::null_mut();
    let mut context: napi_async_context = ptr::null_mut();
    let resource = env.object();
    let name = env.string(name);
    // SAFETY: raw is the env of the current call; every out pointer is valid; `func` is a value
    // of this call, kept alive past it by the reference.
    unsafe {
        if napi_get_uv_event_loop(raw, &mut event_loop) != NAPI_OK || event_loop.is_null() {
            return Err("no libuv loop".into());
        }
        if napi_create_reference(raw, func, 1, &mut func_ref) != NAPI_OK {
            return Err("napi_create_reference failed".into());
        }
        if napi_async_init(raw, resource, name, &mut context) != NAPI_OK {
            napi_delete_reference(raw, func_ref);
            return Err("napi_async_init failed".into());
        }
    }
    Ok(LoopCallback { event_loop, env: raw, func: func_ref, context })
}

/// Calls the function of a LoopCallback with `args` as Node calls any I/O callback
/// (napi_make_callback: nextTicks and promises run after it): its number result, or None
/// (also when it threw: the exception goes to Node's uncaught-exception handling).
///
/// SAFETY (caller): on the JS thread, from a libuv callback outside any JS frame, with `env`,
/// `func` and `context` live.
unsafe fn make_callback(env: napi_env, func: napi_ref, context: napi_async_context, args: &[i64]) -> Option<i64> {
    // SAFETY: per the contract above; a handle scope holds the values created here.
    unsafe {
        let mut scope: napi_handle_scope = ptr::null_mut();
        if napi_open_handle_scope(env, &mut scope) != NAPI_OK { return None; }
        let mut out = None;
        let mut function: napi_value = ptr::null_mut();
        let mut global: napi_value = ptr::null_mut();
        let mut argv: [napi_value; 4] = [ptr::null_mut(); 4];
        let argc = args.len().min(argv.len());
        let mut ok = napi_get_reference_value(env, func, &mut function) == NAPI_OK && !function.is_null()
            && napi_get_global(env, &mut global) == NAPI_OK;
        for (slot, v) in argv.iter_mut().zip(&args[..argc]) {
            ok = ok && napi_create_int64(env, *v, slot) == NAPI_OK;
        }
        if ok {
            let mut result: napi_value = ptr::null_mut();
            if napi_make_callback(env, context, global, function, argc, argv.as_ptr(), &mut result) == NAPI_OK {
                let mut n = 0i64;
                if napi_get_value_int64(env, result, &mut n) == NAPI_OK { out = Some(n); }
            } else {
                let mut pending = false;
                napi_is_exception_pending(env, &mut pending);
                if pending {
                    let mut error: napi_value = ptr::null_mut();
                    napi_get_and_clear_last_exception(env, &mut error);
                    napi_fatal_exception(env, error);
                }
            }
        }
        napi_close_handle_scope(env, scope);
        out
    }
}

/// Calls `func` (no arguments) each time `fd` is readable, until `unwatch_fd(id)`. Returns `id`.
pub fn watch_fd(env: &Env, fd: i32, func: JsValue) -> Result<u32, String> {
    let LoopCallback { event_loop, env: raw, func: func_ref, context } = loop_callback(env, func, "keyfork:fd")?;
    let watch = Box::into_raw(Box::new(Watch { handle: PollHandle([0; POLL_HANDLE_BYTES]), env: raw, func: func_ref, context }));
    let handle = watch as *mut PollHandle;
    // SAFETY: `watch` is a live heap allocation that stays put until it is freed below or by
    // the close callback; its first field is the handle libuv initialises and owns until then.
    unsafe {
        let rc = uv_poll_init(event_loop, handle, fd);
        if rc != 0 {
            // Not registered with the loop: ours to free.
            release_js(&*watch);
            drop(Box::from_raw(watch));
            return Err(format!("uv_poll_init on fd {fd} failed ({rc})"));
        }
        let rc = uv_poll_start(handle, UV_READABLE, on_readable);
        if rc != 0 {
            release_js(&*watch);
            uv_close(handle, on_closed);
            return Err(format!("uv_poll_start on fd {fd} failed ({rc})"));
        }
    }
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1).max(1));
        id
    });
    WATCHES.with(|w| w.borrow_mut().insert(id, watch));
    Ok(id)
}

/// Stops watching; the descriptor may be closed right after. Unknown ids are ignored.
pub fn unwatch_fd(id: u32) {
    let Some(watch) = WATCHES.with(|w| w.borrow_mut().remove(&id)) else { return };
    // SAFETY: `watch` came from watch_fd and is still live (only this function, once per id,
    // hands it to uv_close, whose callback frees it after libuv is done with the handle).
    unsafe {
        uv_poll_stop(watch as *mut PollHandle);
        release_js(&*watch);
        uv_close(watch as *mut PollHandle, on_closed);
    }
}

/// Drops the JS function and async context of a watch (on the JS thread, in a JS call).
unsafe fn release_js(watch: &Watch) {
    // SAFETY: the reference and context were created for this env and are released once.
    unsafe {
        napi_delete_reference(watch.env, watch.func);
        napi_async_destroy(watch.env, watch.context);
    }
}

unsafe extern "C" fn on_closed(handle: *mut PollHandle) {
    // SAFETY: the handle is the first field of a Watch boxed in watch_fd; libuv is done with it.
    drop(unsafe { Box::from_raw(handle as *mut Watch) });
}

unsafe extern "C" fn on_readable(handle: *mut PollHandle, _status: c_int, _events: c_int) {
    // An error status (the fd went bad) is reported as readable too: the JS side reads, gets
    // the error and stops watching.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: libuv passes the handle of a live Watch (it is only freed after uv_close,
        // and a closing handle gets no more callbacks). The fields are copied out first: the
        // JS function may unwatch, which schedules the free after this callback returns.
        let (env, func_ref, context) = unsafe {
            let w = &*(handle as *const Watch);
            (w.env, w.func, w.context)
        };
        // SAFETY: we are on the JS thread, called by the loop outside any JS frame; the
        // reference and context stay live until unwatch_fd, which cannot have run yet.
        unsafe { make_callback(env, func_ref, context, &[]) };
    }));
    super::report_fatal_panic();
}

// ---------------------------------------------------------------------------------------------
// Client sockets on Node's loop (native/src/sockets.rs holds the logic; this is its unsafe half).

const UV_WRITABLE: c_int = 2;

extern "C" {
    fn uv_poll_init_socket(event_loop: *mut c_void, handle: *mut PollHandle, socket: c_int) -> c_int;
}

/// A socket's poll handle. `handle` comes first, so libuv's handle pointer is this.
#[repr(C)]
struct SocketHandle {
    handle: PollHandle,
    id: u32,
    /// A listening socket: its events go to `crate::sockets::on_listener`.
    listener: bool,
}

thread_local! {
    /// The loop client sockets are watched on, and the JS function their events call.
    static SOCKET_LOOP: std::cell::Cell<Option<&'static LoopCallback>> = const { std::cell::Cell::new(None) };
    /// The JS function each connection accepted here is handed to.
    static ACCEPT_LOOP: std::cell::Cell<Option<&'static LoopCallback>> = const { std::cell::Cell::new(None) };
}

thread_local! {
    /// The JS function a native panic is reported to (keyfork-server's serverPanic).
    static PANIC_LOOP: std::cell::Cell<Option<&'static LoopCallback>> = const { std::cell::Cell::new(None) };
}

/// Binds the function `report_panic` calls (crash.rs's crashInit).
pub fn panic_reporter_init(env: &Env, func: JsValue) -> Result<(), String> {
    bind(&PANIC_LOOP, loop_callback(env, func, "keyfork:panic")?);
    Ok(())
}

/// Calls the panic reporter, if one is bound. It ends the process, so this returns only when
/// none is bound or it threw (the exception goes to Node's uncaught-exception handling).
pub fn report_panic() {
    let Some(bound) = PANIC_LOOP.with(|l| l.get()) else { return };
    // SAFETY: called on the JS thread by an FFI entry whose call is over (no Rust borrow of
    // ours is live); the bound function and context are leaked, hence live. Inside a JS call
    // (the trampoline) napi_make_callback nests like node::MakeCallback does.
    unsafe { make_callback(bound.env, bound.func, bound.context, &[]) };
}

/// Binds the loop, the JS function `func(id, n, lastCommand, slow) -> mode` that socket events
/// call and the function `accept(fd) -> taken` that takes each connection accepted on a
/// listener (see sockets.rs). Once per process: later calls replace the functions.
pub fn socket_loop_init(env: &Env, func: JsValue, accept: JsValue) -> Result<(), String> {
    let callback = loop_callback(env, func, "keyfork:client")?;
    batch_end_init(callback.event_loop)?;
    bind(&SOCKET_LOOP, callback);
    bind(&ACCEPT_LOOP, loop_callback(env, accept, "keyfork:accept")?);
    Ok(())
}

fn bind(slot: &'static std::thread::LocalKey<std::cell::Cell<Option<&'static LoopCallback>>>, callback: LoopCallback) {
    // Leaked on purpose (a few bytes per server started in this process): socket events may
    // read it at any time. A replaced one lets go of its function and context.
    let bound: &'static LoopCallback = Box::leak(Box::new(callback));
    if let Some(old) = slot.with(|l| l.replace(Some(bound))) {
        // SAFETY: the old reference and context were created on this env and are released
        // once (the old LoopCallback is no longer reachable).
        unsafe {
            napi_delete_reference(old.env, old.func);
            napi_async_destroy(old.env, old.context);
        }
    }
}

/// A socket watched on Node's loop; a client's events go to `crate::sockets::on_event(id, ..)`,
/// a listener's to `crate::sockets::on_listener(id)`.
pub struct SocketWatch {
    handle: *mut SocketHandle,
}

impl SocketWatch {
    /// Starts watching client socket `fd` for reading. The descriptor stays the caller's.
    pub fn start(fd: i32, id: u32) -> Result<SocketWatch, String> {
        Self::start_as(fd, id, false)
    }

    /// Starts watching listening socket `fd` for connections. The descriptor stays the caller's.
    pub fn listen(fd: i32, id: u32) -> Result<SocketWatch, String> {
        Self::start_as(fd, id, true)
    }

    fn start_as(fd: i32, id: u32, listener: bool) -> Result<SocketWatch, String> {
        let Some(bound) = SOCKET_LOOP.with(|l| l.get()) else { return Err("client sockets are not initialised".into()) };
        let handle = Box::into_raw(Box::new(SocketHandle { handle: PollHandle([0; POLL_HANDLE_BYTES]), id, listener }));
        // SAFETY: `handle` is a live heap allocation that stays put until on_socket_closed frees
        // it; libuv initialises and owns its first field until then.
        unsafe {
            let rc = uv_poll_init_socket(bound.event_loop, handle as *mut PollHandle, fd);
            if rc != 0 {
                drop(Box::from_raw(handle));
                return Err(format!("uv_poll_init_socket on fd {fd} failed ({rc})"));
            }
        }
        let watch = SocketWatch { handle };
        watch.set_events(true, false)?;
        Ok(watch)
    }

    /// What the loop reports next: readable, writable, both, or (both false) nothing.
    pub fn set_events(&self, readable: bool, writable: bool) -> Result<(), String> {
        let events = if readable { UV_READABLE } else { 0 } | if writable { UV_WRITABLE } else { 0 };
        // SAFETY: the handle was initialised in `start` and is not closed before `close`
        // consumes self.
        let rc = unsafe {
            if events == 0 { uv_poll_stop(self.handle as *mut PollHandle) } else { uv_poll_start(self.handle as *mut PollHandle, events, on_socket_event) }
        };
        if rc != 0 { return Err(format!("uv_poll_start failed ({rc})")); }
        Ok(())
    }

    /// Stops watching and releases the handle (freed once libuv is done with it). The
    /// descriptor may be closed right after.
    pub fn close(self) {
        // SAFETY: the handle is live; uv_poll_stop takes it off the loop (and out of epoll),
        // uv_close hands it back through on_socket_closed, which frees it. Only `close`
        // (consuming self, once) does this.
        unsafe {
            uv_poll_stop(self.handle as *mut PollHandle);
            uv_close(self.handle as *mut PollHandle, on_socket_closed);
        }
    }
}

unsafe extern "C" fn on_socket_closed(handle: *mut PollHandle) {
    // SAFETY: the handle is the first field of a SocketHandle boxed in SocketWatch::start;
    // libuv is done with it.
    drop(unsafe { Box::from_raw(handle as *mut SocketHandle) });
}

unsafe extern "C" fn on_socket_event(handle: *mut PollHandle, status: c_int, events: c_int) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: libuv passes a live handle (a closing one gets no more callbacks).
        let (id, listener) = unsafe {
            let h = &*(handle as *const SocketHandle);
            (h.id, h.listener)
        };
        if listener {
            crate::sockets::on_listener(id);
            return;
        }
        // An error status (a reset connection) is treated as readable: the read reports it.
        let readable = status < 0 || events & UV_READABLE != 0;
        let writable = status >= 0 && events & UV_WRITABLE != 0;
        crate::sockets::on_event(id, readable, writable);
    }));
    super::report_fatal_panic();
}

// ---------------------------------------------------------------------------------------------
// The end of each I/O batch: replies the client sockets queued while the loop dispatched the
// batch's events are written then (sockets.rs), as Redis writes its replies before it sleeps.

/// uv_check_t is 120 bytes in libuv 1.46; reserved larger, as for the poll handle.
const CHECK_HANDLE_BYTES: usize = 256;

#[repr(C, align(16))]
struct CheckHandle([u8; CHECK_HANDLE_BYTES]);

type CheckCb = unsafe extern "C" fn(handle: *mut CheckHandle);

extern "C" {
    fn uv_check_init(event_loop: *mut c_void, handle: *mut CheckHandle) -> c_int;
    fn uv_check_start(handle: *mut CheckHandle, cb: CheckCb) -> c_int;
    fn uv_check_stop(handle: *mut CheckHandle) -> c_int;
    fn uv_unref(handle: *mut CheckHandle);
}

thread_local! {
    /// The check handle of `flush_after_batch` (created once, never freed: it lives as long as
    /// the loop), and whether it is started.
    static BATCH_END: std::cell::Cell<Option<*mut CheckHandle>> = const { std::cell::Cell::new(None) };
    static BATCH_END_STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Creates the check handle on `event_loop` (once per process).
fn batch_end_init(event_loop: *mut c_void) -> Result<(), String> {
    if BATCH_END.with(|h| h.get()).is_some() { return Ok(()); }
    let handle = Box::into_raw(Box::new(CheckHandle([0; CHECK_HANDLE_BYTES])));
    // SAFETY: `handle` is a live heap allocation that is never freed (leaked on purpose: libuv
    // keeps it in the loop's handle queue for the life of the process). Unreferenced, it does
    // not keep the loop alive.
    unsafe {
        let rc = uv_check_init(event_loop, handle);
        if rc != 0 {
            drop(Box::from_raw(handle));
            return Err(format!("uv_check_init failed ({rc})"));
        }
        uv_unref(handle);
    }
    BATCH_END.with(|h| h.set(Some(handle)));
    Ok(())
}

/// Calls `crate::sockets::on_batch_end()` once, after the loop has dispatched the current batch
/// of I/O events (libuv's check phase, right after its poll phase).
pub fn flush_after_batch() {
    if BATCH_END_STARTED.with(|s| s.get()) { return; }
    let Some(handle) = BATCH_END.with(|h| h.get()) else { return };
    // SAFETY: the handle was initialised by batch_end_init and is never closed.
    if unsafe { uv_check_start(handle, on_batch_end) } == 0 {
        BATCH_END_STARTED.with(|s| s.set(true));
    }
}

unsafe extern "C" fn on_batch_end(handle: *mut CheckHandle) {
    // SAFETY: the handle is the live, never-closed one of batch_end_init.
    unsafe { uv_check_stop(handle) };
    BATCH_END_STARTED.with(|s| s.set(false));
    let _ = catch_unwind(AssertUnwindSafe(crate::sockets::on_batch_end));
    super::report_fatal_panic();
}

/// Calls the socket function bound by `socket_loop_init` with four numbers: its number result,
/// or None when it threw.
pub fn call_socket_function(args: [i64; 4]) -> Option<i64> {
    let bound = SOCKET_LOOP.with(|l| l.get())?;
    // SAFETY: called from a socket event (a libuv callback on the JS thread, outside any JS
    // frame); the bound reference and context live for the life of the process.
    unsafe { make_callback(bound.env, bound.func, bound.context, &args) }
}

/// Calls the accept function bound by `socket_loop_init` with a new connection's descriptor:
/// its number result, or None when it threw.
pub fn call_accept_function(fd: i32) -> Option<i64> {
    let bound = ACCEPT_LOOP.with(|l| l.get())?;
    // SAFETY: as call_socket_function (called from a listener's event).
    unsafe { make_callback(bound.env, bound.func, bound.context, &[fd as i64]) }
}
