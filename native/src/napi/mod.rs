//! Safe helpers over the hand-declared Node-API (sys.rs). Every `unsafe` block of the
//! boundary lives here; the rest of the crate sees `Env`, `JsArgs` and `JsValue`.

pub mod sys;
pub mod uv;

use std::ffi::CString;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use sys::*;

pub type JsValue = napi_value;

/// The most arguments any exported function takes; more are ignored.
const MAX_ARGS: usize = 12;

/// A native function as the crate writes it: arguments in, a JS value or an error message out.
/// An `Err` becomes a thrown JS `Error`; a panic is caught and thrown too, never crossing into
/// Node (in keyfork-server it is reported and ends the process first, see `report_fatal_panic`).
pub type NativeFn = fn(&Env, &JsArgs) -> Result<JsValue, String>;

#[derive(Clone, Copy)]
pub struct Env(napi_env);

pub struct JsArgs {
    values: [napi_value; MAX_ARGS],
    count: usize,
}

fn check(status: napi_status, what: &str) -> Result<(), String> {
    if status == NAPI_OK { Ok(()) } else { Err(format!("napi call failed: {what} (status {status})")) }
}

impl Env {
    /// Wraps the env N-API passed to module registration.
    pub fn from_raw(env: napi_env) -> Env { Env(env) }

    pub fn raw(&self) -> napi_env { self.0 }

    pub fn undefined(&self) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: self.0 is the env of the current callback; v is a valid out pointer.
        unsafe { napi_get_undefined(self.0, &mut v) };
        v
    }
    pub fn null(&self) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        unsafe { napi_get_null(self.0, &mut v) };
        v
    }
    pub fn boolean(&self, b: bool) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        unsafe { napi_get_boolean(self.0, b, &mut v) };
        v
    }
    pub fn int(&self, n: i64) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        unsafe { napi_create_int64(self.0, n, &mut v) };
        v
    }
    pub fn double(&self, n: f64) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        unsafe { napi_create_double(self.0, n, &mut v) };
        v
    }
    pub fn string(&self, s: &str) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: s points to s.len() initialised UTF-8 bytes for the duration of the call.
        unsafe { napi_create_string_utf8(self.0, s.as_ptr() as *const _, s.len(), &mut v) };
        v
    }
    pub fn buffer(&self, bytes: &[u8]) -> JsValue {
        let mut v = ptr::null_mut();
        let mut data = ptr::null_mut();
        // SAFETY: bytes is valid for reads of bytes.len(); N-API copies them into a new Buffer.
        unsafe { napi_create_buffer_copy(self.0, bytes.len(), bytes.as_ptr() as *const c_void, &mut data, &mut v) };
        v
    }
    pub fn object(&self) -> JsValue {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        unsafe { napi_create_object(self.0, &mut v) };
        v
    }
    pub fn set(&self, object: JsValue, name: &str, value: JsValue) -> Result<(), String> {
        let name = CString::new(name).map_err(|_| "property name has a NUL".to_string())?;
        // SAFETY: object and value are live handles of this callback scope; name is NUL-terminated.
        check(unsafe { napi_set_named_property(self.0, object, name.as_ptr(), value) }, "set_named_property")
    }
    pub fn array(&self, items: &[JsValue]) -> Result<JsValue, String> {
        let mut arr = ptr::null_mut();
        // SAFETY: arr is a valid out pointer.
        check(unsafe { napi_create_array_with_length(self.0, items.len(), &mut arr) }, "create_array")?;
        for (i, item) in items.iter().enumerate() {
            // SAFETY: arr and item are live handles of this callback scope.
            check(unsafe { napi_set_element(self.0, arr, i as u32, *item) }, "set_element")?;
        }
        Ok(arr)
    }

    /// Registers `f` as `exports[name]`.
    pub fn export(&self, exports: JsValue, name: &str, f: NativeFn) -> Result<(), String> {
        let mut func = ptr::null_mut();
        // SAFETY: the fn pointer is smuggled through N-API's `data` and restored by `trampoline`
        // with the same type; fn pointers and data pointers have the same size on our targets.
        let status = unsafe {
            napi_create_function(self.0, name.as_ptr() as *const _, name.len(), Some(trampoline), f as *mut c_void, &mut func)
        };
        check(status, "create_function")?;
        self.set(exports, name, func)
    }

    /// Keeps a JS value alive across calls (a function the native side calls back).
    pub fn keep(&self, value: JsValue) -> Result<Kept, String> {
        let mut r: napi_ref = ptr::null_mut();
        // SAFETY: value is a live handle of this callback; r is a valid out pointer.
        check(unsafe { napi_create_reference(self.0, value, 1, &mut r) }, "create_reference")?;
        Ok(Kept { r, env: self.0 })
    }

    /// Calls the kept function with arguments made by `args`, and reads its result with `read`,
    /// all inside a handle scope (a script may call back thousands of times in one native
    /// call). A JS exception is cleared and returned as Err with its text.
    pub fn call_kept<R>(&self, f: &Kept, args: impl FnOnce(&Env) -> Vec<JsValue>, read: impl FnOnce(&Env, JsValue) -> Result<R, String>) -> Result<R, String> {
        let mut scope: napi_handle_scope = ptr::null_mut();
        // SAFETY: the env is the current callback's (callers run inside one native call).
        check(unsafe { napi_open_handle_scope(self.0, &mut scope) }, "open_handle_scope")?;
        let result = (|| {
            let mut func = ptr::null_mut();
            // SAFETY: f.r is a live reference created on this env.
            check(unsafe { napi_get_reference_value(self.0, f.r, &mut func) }, "get_reference_value")?;
            let mut global = ptr::null_mut();
            // SAFETY: global is a valid out pointer.
            check(unsafe { napi_get_global(self.0, &mut global) }, "get_global")?;
            let argv = args(self);
            let mut out = ptr::null_mut();
            // SAFETY: func and argv's handles live in this scope; argv.len() values are readable.
            let status = unsafe { napi_call_function(self.0, global, func, argv.len(), argv.as_ptr(), &mut out) };
            if status != NAPI_OK {
                return Err(self.take_exception().unwrap_or_else(|| format!("calling back into JavaScript failed (status {status})")));
            }
            read(self, out)
        })();
        // SAFETY: scope was opened above on this env and is closed once.
        unsafe { napi_close_handle_scope(self.0, scope) };
        result
    }

    /// Clears a pending JS exception; its text if there was one.
    fn take_exception(&self) -> Option<String> {
        let mut pending = false;
        // SAFETY: valid out pointer.
        unsafe { napi_is_exception_pending(self.0, &mut pending) };
        if !pending { return None; }
        let mut e = ptr::null_mut();
        // SAFETY: an exception is pending; e is a valid out pointer.
        unsafe { napi_get_and_clear_last_exception(self.0, &mut e) };
        let mut len = 0usize;
        let mut buf = [0u8; 512];
        // SAFETY: buf has room for 512 bytes including the NUL. A non-string gives an error status.
        let ok = unsafe { napi_get_value_string_utf8(self.0, e, buf.as_mut_ptr() as *mut _, buf.len(), &mut len) } == NAPI_OK;
        Some(if ok { String::from_utf8_lossy(&buf[..len]).into_owned() } else { "JavaScript exception".into() })
    }

    /// The bytes of a Buffer value (valid until the handle scope closes).
    pub fn buffer_bytes(&self, v: JsValue) -> Result<&[u8], String> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: v is a live handle; out pointers are valid.
        check(unsafe { napi_get_buffer_info(self.0, v, &mut data, &mut len) }, "value is not a Buffer")?;
        if len == 0 || data.is_null() { return Ok(&[]); }
        // SAFETY: N-API reports len readable bytes at data, alive while the handle is.
        Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len) })
    }

    pub fn value_i64(&self, v: JsValue) -> Result<i64, String> {
        let mut n = 0i64;
        // SAFETY: v is a live handle; n is a valid out pointer.
        check(unsafe { napi_get_value_int64(self.0, v, &mut n) }, "value is not a number")?;
        Ok(n)
    }

    pub fn element(&self, arr: JsValue, i: u32) -> Result<JsValue, String> {
        let mut item = ptr::null_mut();
        // SAFETY: arr is a live handle; item is a valid out pointer.
        check(unsafe { napi_get_element(self.0, arr, i, &mut item) }, "get_element")?;
        Ok(item)
    }

    pub fn array_len(&self, arr: JsValue) -> Result<u32, String> {
        let mut n = 0u32;
        // SAFETY: arr is a live handle; n is a valid out pointer.
        check(unsafe { napi_get_array_length(self.0, arr, &mut n) }, "value is not an array")?;
        Ok(n)
    }

    pub fn is_nullish(&self, v: JsValue) -> bool {
        let mut t = 0i32;
        // SAFETY: v is a live handle; t is a valid out pointer.
        unsafe { napi_typeof(self.0, v, &mut t) };
        t == NAPI_UNDEFINED || t == NAPI_NULL
    }

    /// Throws a JS Error (the caller then returns to N-API, which raises it).
    pub fn throw_error(&self, msg: &str) {
        self.throw(msg);
    }

    fn throw(&self, msg: &str) {
        let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
        // SAFETY: msg is NUL-terminated; a null code is allowed.
        unsafe { napi_throw_error(self.0, ptr::null(), msg.as_ptr()) };
    }
}

/// Set by crash.rs's panic hook, which only keyfork-server installs: a panic of the JS
/// thread's native code ends the process as Redis's serverPanic. An embedded server (no hook)
/// keeps the panic a JS error for the one call.
static FATAL_PANIC: AtomicBool = AtomicBool::new(false);

pub fn fatal_panic() {
    FATAL_PANIC.store(true, Ordering::Relaxed);
}

/// At an FFI entry, once the call is over (also when something inside caught the unwinding,
/// as a script's redis.call does): a recorded panic goes to the reporter, once. It does not
/// return unless the reporter threw.
pub(crate) fn report_fatal_panic() {
    if FATAL_PANIC.load(Ordering::Relaxed) && FATAL_PANIC.swap(false, Ordering::Relaxed) {
        uv::report_panic();
    }
}

unsafe extern "C" fn trampoline(env: napi_env, info: napi_callback_info) -> napi_value {
    let mut args = JsArgs { values: [ptr::null_mut(); MAX_ARGS], count: MAX_ARGS };
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: info is the callback info N-API passed us; argv has room for `count` values.
    let status = unsafe { napi_get_cb_info(env, info, &mut args.count, args.values.as_mut_ptr(), ptr::null_mut(), &mut data) };
    let env = Env(env);
    if status != NAPI_OK {
        env.throw("napi_get_cb_info failed");
        return ptr::null_mut();
    }
    args.count = args.count.min(MAX_ARGS);
    // SAFETY: `data` was set from a `NativeFn` in `Env::export`.
    let f: NativeFn = unsafe { std::mem::transmute::<*mut c_void, NativeFn>(data) };
    let result = catch_unwind(AssertUnwindSafe(|| f(&env, &args)));
    report_fatal_panic();
    match result {
        Ok(Ok(v)) => v,
        Ok(Err(msg)) => {
            env.throw(&msg);
            ptr::null_mut()
        }
        Err(panic) => {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            env.throw(&format!("keyfork native panic: {what}"));
            ptr::null_mut()
        }
    }
}

/// A JS value kept alive by a reference (released on drop).
pub struct Kept {
    r: napi_ref,
    env: napi_env,
}

impl Kept {
    /// The env the value was kept on: the addon's one env on the JS thread, valid for calls made
    /// while that thread is inside a native call (the only time keyfork calls back).
    pub fn env(&self) -> Env {
        Env(self.env)
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        // SAFETY: as in SharedI32's Drop: the module's env, the JS thread, deleted once.
        unsafe { napi_delete_reference(self.env, self.r) };
    }
}

/// An Int32Array the native side keeps and reads on later calls (call parameters that would
/// otherwise cost an N-API conversion each). A reference keeps the array alive; V8 never
/// moves the backing store of a typed array that is not detached, and keyfork never detaches it.
pub struct SharedI32 {
    ptr: *mut i32,
    len: usize,
    keep: napi_ref,
    env: napi_env,
}

impl SharedI32 {
    pub fn new(env: &Env, args: &JsArgs, i: usize) -> Result<SharedI32, String> {
        let value = args.get(i)?;
        let slice = args.i32s(env, i)?;
        let mut keep: napi_ref = ptr::null_mut();
        // SAFETY: value is a live handle of this callback; keep is a valid out pointer.
        check(unsafe { napi_create_reference(env.0, value, 1, &mut keep) }, "create_reference")?;
        Ok(SharedI32 { ptr: slice.as_ptr() as *mut i32, len: slice.len(), keep, env: env.0 })
    }

    pub fn as_slice(&self) -> &[i32] {
        // SAFETY: as in `get`: ptr/len describe the live, pinned array for as long as self exists.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Element `i`, or 0 past the end.
    #[inline]
    pub fn get(&self, i: usize) -> i32 {
        if i >= self.len { return 0; }
        // SAFETY: i < len; the reference taken in `new` keeps the array's memory alive and in place,
        // and only the JS thread (which is running this code) writes to it.
        unsafe { *self.ptr.add(i) }
    }

    /// Writes element `i` (results handed back to TypeScript); ignored past the end.
    #[inline]
    pub fn set(&mut self, i: usize, v: i32) {
        if i >= self.len { return; }
        // SAFETY: as in `get`; TypeScript reads the array only after this call returns.
        unsafe { *self.ptr.add(i) = v }
    }

    pub fn len(&self) -> usize { self.len }
    pub fn is_empty(&self) -> bool { self.len == 0 }

    /// A handle for writing results into this array from code that cannot own the reference
    /// (the keyspace, which unit tests build without N-API). Valid while `self` lives.
    pub fn slots(&self) -> I32Slots { I32Slots { ptr: self.ptr, len: self.len } }
}

/// Write access to a SharedI32's elements without its reference: whoever hands one out keeps
/// the SharedI32 alive for as long as the slots are used, and replaces both together.
#[derive(Clone, Copy)]
pub struct I32Slots {
    ptr: *mut i32,
    len: usize,
}

impl I32Slots {
    pub fn len(&self) -> usize { self.len }
    pub fn is_empty(&self) -> bool { self.len == 0 }

    /// Writes element `i`; ignored past the end.
    #[inline]
    pub fn set(&mut self, i: usize, v: i32) {
        if i >= self.len { return; }
        // SAFETY: the SharedI32 these slots came from is alive (its owner's contract), so
        // ptr/len describe the pinned array; only the JS thread runs this and JS reads the
        // array only between native calls.
        unsafe { *self.ptr.add(i) = v }
    }
}

/// A Buffer the native side keeps between calls (the request input and the reply output of
/// exec, bound again only when TypeScript hands over a different Buffer). Same lifetime rules
/// as SharedI32: a reference pins the Buffer, whose memory V8 never moves.
pub struct SharedBuf {
    ptr: *mut u8,
    len: usize,
    keep: napi_ref,
    env: napi_env,
}

impl SharedBuf {
    pub fn new(env: &Env, args: &JsArgs, i: usize) -> Result<SharedBuf, String> {
        let value = args.get(i)?;
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: the handle is live for this callback; out pointers are valid.
        check(unsafe { napi_get_buffer_info(env.0, value, &mut data, &mut len) }, "argument is not a Buffer")?;
        let mut keep: napi_ref = ptr::null_mut();
        // SAFETY: as in SharedI32::new.
        check(unsafe { napi_create_reference(env.0, value, 1, &mut keep) }, "create_reference")?;
        Ok(SharedBuf { ptr: data as *mut u8, len, keep, env: env.0 })
    }

    pub fn as_slice(&self) -> &[u8] {
        if self.len == 0 || self.ptr.is_null() { return &[]; }
        // SAFETY: ptr/len describe the pinned Buffer, alive while the reference is held.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The bytes for writing. The caller must not hold another slice of the same Buffer.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.len == 0 || self.ptr.is_null() { return &mut []; }
        // SAFETY: as above; `&mut self` makes this the only live slice from this handle, and
        // TypeScript binds different Buffers for input and output.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for SharedBuf {
    fn drop(&mut self) {
        // SAFETY: as in SharedI32's Drop.
        unsafe { napi_delete_reference(self.env, self.keep) };
    }
}

impl Drop for SharedI32 {
    fn drop(&mut self) {
        // SAFETY: the env is the module's (one isolate, the JS thread, which is the thread
        // dropping this); the reference was created by it and is deleted once.
        unsafe { napi_delete_reference(self.env, self.keep) };
    }
}

impl JsArgs {
    pub fn len(&self) -> usize { self.count }
    pub fn is_empty(&self) -> bool { self.count == 0 }

    /// The raw argument (a function to keep, for example).
    pub fn value(&self, i: usize) -> Result<napi_value, String> {
        self.get(i)
    }

    fn get(&self, i: usize) -> Result<napi_value, String> {
        if i < self.count { Ok(self.values[i]) } else { Err(format!("missing argument {i}")) }
    }

    pub fn i64(&self, env: &Env, i: usize) -> Result<i64, String> {
        let mut n = 0i64;
        // SAFETY: the handle is live for this callback; n is a valid out pointer.
        check(unsafe { napi_get_value_int64(env.0, self.get(i)?, &mut n) }, "argument is not a number")?;
        Ok(n)
    }
    pub fn f64(&self, env: &Env, i: usize) -> Result<f64, String> {
        let mut n = 0f64;
        // SAFETY: as above.
        check(unsafe { napi_get_value_double(env.0, self.get(i)?, &mut n) }, "argument is not a number")?;
        Ok(n)
    }
    pub fn bool(&self, env: &Env, i: usize) -> Result<bool, String> {
        let mut b = false;
        // SAFETY: as above.
        check(unsafe { napi_get_value_bool(env.0, self.get(i)?, &mut b) }, "argument is not a boolean")?;
        Ok(b)
    }
    pub fn string(&self, env: &Env, i: usize) -> Result<String, String> {
        let v = self.get(i)?;
        let mut len = 0usize;
        // SAFETY: a null buffer asks N-API for the length only.
        check(unsafe { napi_get_value_string_utf8(env.0, v, ptr::null_mut(), 0, &mut len) }, "argument is not a string")?;
        let mut buf = vec![0u8; len + 1];
        // SAFETY: buf has len + 1 bytes of room for the string and its NUL.
        check(unsafe { napi_get_value_string_utf8(env.0, v, buf.as_mut_ptr() as *mut _, len + 1, &mut len) }, "string")?;
        buf.truncate(len);
        String::from_utf8(buf).map_err(|_| "argument is not UTF-8".into())
    }

    /// The bytes of a Buffer (or any Uint8Array) argument. The slice borrows JS memory: it is valid
    /// for this callback only, and JS cannot run (so cannot detach it) until the callback returns.
    pub fn bytes<'a>(&'a self, env: &Env, i: usize) -> Result<&'a [u8], String> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: the handle is live for this callback; out pointers are valid.
        check(unsafe { napi_get_buffer_info(env.0, self.get(i)?, &mut data, &mut len) }, "argument is not a Buffer")?;
        if len == 0 || data.is_null() { return Ok(&[]); }
        // SAFETY: N-API reports `len` readable bytes at `data`, alive while the callback runs.
        Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len) })
    }

    /// A Buffer argument the native side may write into (a caller-supplied output buffer).
    #[allow(clippy::mut_from_ref)]
    pub fn bytes_mut<'a>(&'a self, env: &Env, i: usize) -> Result<&'a mut [u8], String> {
        let mut data: *mut c_void = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: as in `bytes`.
        check(unsafe { napi_get_buffer_info(env.0, self.get(i)?, &mut data, &mut len) }, "argument is not a Buffer")?;
        if len == 0 || data.is_null() { return Ok(&mut []); }
        // SAFETY: the caller passes a Buffer it owns for writing and does not alias it with
        // another argument of the same call; the memory lives while the callback runs.
        Ok(unsafe { std::slice::from_raw_parts_mut(data as *mut u8, len) })
    }

    /// The elements of an Int32Array argument.
    pub fn i32s<'a>(&'a self, env: &Env, i: usize) -> Result<&'a [i32], String> {
        let mut kind = 0i32;
        let mut len = 0usize;
        let mut data: *mut c_void = ptr::null_mut();
        let mut ab = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: the handle is live; out pointers are valid.
        check(unsafe { napi_get_typedarray_info(env.0, self.get(i)?, &mut kind, &mut len, &mut data, &mut ab, &mut offset) }, "argument is not a typed array")?;
        const NAPI_INT32_ARRAY: i32 = 5;
        if kind != NAPI_INT32_ARRAY { return Err("argument is not an Int32Array".into()); }
        if len == 0 || data.is_null() { return Ok(&[]); }
        // SAFETY: N-API reports `len` i32 elements at `data` (already offset), aligned by the typed array.
        Ok(unsafe { std::slice::from_raw_parts(data as *const i32, len) })
    }

    /// The Buffers of a JS array argument (e.g. keys).
    pub fn buffers<'a>(&'a self, env: &Env, i: usize) -> Result<Vec<&'a [u8]>, String> {
        let arr = self.get(i)?;
        let mut n = 0u32;
        // SAFETY: the handle is live; n is a valid out pointer.
        check(unsafe { napi_get_array_length(env.0, arr, &mut n) }, "argument is not an array")?;
        let mut out = Vec::with_capacity(n as usize);
        for k in 0..n {
            let mut item = ptr::null_mut();
            // SAFETY: arr is an array handle, k < its length.
            check(unsafe { napi_get_element(env.0, arr, k, &mut item) }, "get_element")?;
            let mut data: *mut c_void = ptr::null_mut();
            let mut len = 0usize;
            // SAFETY: as in `bytes`.
            check(unsafe { napi_get_buffer_info(env.0, item, &mut data, &mut len) }, "array item is not a Buffer")?;
            if len == 0 || data.is_null() { out.push(&[][..]); continue; }
            // SAFETY: as in `bytes`; the array keeps the item alive for the callback.
            out.push(unsafe { std::slice::from_raw_parts(data as *const u8, len) });
        }
        Ok(out)
    }
}
