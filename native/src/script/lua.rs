//! Lua 5.1 (Debian's liblua5.1-0), loaded with dlopen at run time and declared by hand: nothing
//! Lua-related is needed to build the addon, and a missing library only disables scripting.
//! Every `unsafe` block of the scripting engine lives in this file; the rest of `script/` sees
//! `Lua`, a handle on a live interpreter with safe methods.
//!
//! Errors and Rust frames. Lua raises errors with longjmp. Rust frames must never be jumped
//! over while they own something with a destructor, so:
//! - the allocator aborts the process when memory runs out (as Rust's own allocator does)
//!   instead of letting Lua raise a memory error from inside an API call;
//! - the API functions used outside protected calls are the ones that can only fail for memory
//!   (pushing, raw table access, creating tables); metamethod-invoking ones (gettable,
//!   settable, concat of non-strings, equal) are not declared at all;
//! - scripts cannot create userdata with a `__gc` finalizer (no `newproxy`, no debug library),
//!   so a garbage-collection step inside an API call never runs script code;
//! - a Rust function called from Lua returns `Err(Raise)` with the error value pushed, and the
//!   trampoline calls `lua_error` only after every Rust value of the call has been dropped;
//!   panics are caught there too and become a Lua error. Nothing crosses into Node.

use crate::libc::{abort, dlerror, dlopen, dlsym, free, realloc};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

pub const REGISTRY: c_int = -10000;
pub const GLOBALS: c_int = -10002;
pub const MULTRET: c_int = -1;

pub const fn upvalue(i: c_int) -> c_int {
    GLOBALS - i
}

/// lua_type results.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Type {
    None,
    Nil,
    Boolean,
    LightUserdata,
    Number,
    String,
    Table,
    Function,
    Userdata,
    Thread,
}

pub const MASK_LINE: c_int = 1 << 2;
pub const MASK_COUNT: c_int = 1 << 3;

const GC_COUNT: c_int = 3;
const GC_COUNTB: c_int = 4;
const GC_STEP: c_int = 5;
const GC_COLLECT: c_int = 2;

const RTLD_NOW: c_int = 2;

type State = c_void;
type CFunction = unsafe extern "C" fn(*mut State) -> c_int;
type Hook = unsafe extern "C" fn(*mut State, *mut Debug);
type Alloc = unsafe extern "C" fn(*mut c_void, *mut c_void, usize, usize) -> *mut c_void;
type Reader = unsafe extern "C" fn(*mut State, *mut c_void, *mut usize) -> *const c_char;

/// lua_Debug as lua.h 5.1 lays it out.
#[repr(C)]
pub struct Debug {
    event: c_int,
    name: *const c_char,
    namewhat: *const c_char,
    what: *const c_char,
    source: *const c_char,
    currentline: c_int,
    nups: c_int,
    linedefined: c_int,
    lastlinedefined: c_int,
    short_src: [c_char; 60],
    i_ci: c_int,
}

macro_rules! api {
    ($($name:ident: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The liblua functions keyfork calls, resolved once by `load`.
        #[allow(non_snake_case)]
        pub struct Api { $($name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)* }

        impl Api {
            fn resolve(handle: *mut c_void) -> Result<Api, String> {
                Ok(Api { $($name: {
                    let name = concat!(stringify!($name), "\0");
                    // SAFETY: handle came from a successful dlopen; name is NUL-terminated.
                    let sym = unsafe { dlsym(handle, name.as_ptr() as *const c_char) };
                    if sym.is_null() { return Err(format!("{} is missing", stringify!($name))); }
                    // SAFETY: the symbol is liblua 5.1's function of that name, whose C
                    // signature is the one declared here (lua.h / lauxlib.h / lualib.h 5.1).
                    unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) $(-> $ret)?>(sym) }
                },)* })
            }
        }
    };
}

api! {
    lua_newstate: fn(Alloc, *mut c_void) -> *mut State;
    lua_close: fn(*mut State);
    lua_atpanic: fn(*mut State, CFunction) -> CFunction;
    lua_gettop: fn(*mut State) -> c_int;
    lua_settop: fn(*mut State, c_int);
    lua_pushvalue: fn(*mut State, c_int);
    lua_remove: fn(*mut State, c_int);
    lua_insert: fn(*mut State, c_int);
    lua_replace: fn(*mut State, c_int);
    lua_checkstack: fn(*mut State, c_int) -> c_int;
    lua_type: fn(*mut State, c_int) -> c_int;
    lua_isnumber: fn(*mut State, c_int) -> c_int;
    lua_isstring: fn(*mut State, c_int) -> c_int;
    lua_tonumber: fn(*mut State, c_int) -> f64;
    lua_toboolean: fn(*mut State, c_int) -> c_int;
    lua_tolstring: fn(*mut State, c_int, *mut usize) -> *const c_char;
    lua_objlen: fn(*mut State, c_int) -> usize;
    lua_touserdata: fn(*mut State, c_int) -> *mut c_void;
    lua_topointer: fn(*mut State, c_int) -> *const c_void;
    lua_rawequal: fn(*mut State, c_int, c_int) -> c_int;
    lua_pushnil: fn(*mut State);
    lua_pushnumber: fn(*mut State, f64);
    lua_pushlstring: fn(*mut State, *const c_char, usize);
    lua_pushcclosure: fn(*mut State, CFunction, c_int);
    lua_pushboolean: fn(*mut State, c_int);
    lua_pushlightuserdata: fn(*mut State, *mut c_void);
    lua_newuserdata: fn(*mut State, usize) -> *mut c_void;
    lua_rawget: fn(*mut State, c_int);
    lua_rawgeti: fn(*mut State, c_int, c_int);
    lua_createtable: fn(*mut State, c_int, c_int);
    lua_getmetatable: fn(*mut State, c_int) -> c_int;
    lua_rawset: fn(*mut State, c_int);
    lua_rawseti: fn(*mut State, c_int, c_int);
    lua_setmetatable: fn(*mut State, c_int) -> c_int;
    lua_setfenv: fn(*mut State, c_int) -> c_int;
    lua_pcall: fn(*mut State, c_int, c_int, c_int) -> c_int;
    lua_call: fn(*mut State, c_int, c_int);
    lua_load: fn(*mut State, Reader, *mut c_void, *const c_char) -> c_int;
    lua_error: fn(*mut State) -> c_int;
    lua_next: fn(*mut State, c_int) -> c_int;
    lua_concat: fn(*mut State, c_int);
    lua_gc: fn(*mut State, c_int, c_int) -> c_int;
    lua_sethook: fn(*mut State, Option<Hook>, c_int, c_int) -> c_int;
    lua_getstack: fn(*mut State, c_int, *mut Debug) -> c_int;
    lua_getinfo: fn(*mut State, *const c_char, *mut Debug) -> c_int;
    lua_getlocal: fn(*mut State, *const Debug, c_int) -> *const c_char;
    luaL_loadbuffer: fn(*mut State, *const c_char, usize, *const c_char) -> c_int;
    luaL_where: fn(*mut State, c_int);
    luaL_ref: fn(*mut State, c_int) -> c_int;
    luaL_unref: fn(*mut State, c_int, c_int);
    luaopen_base: fn(*mut State) -> c_int;
    luaopen_table: fn(*mut State) -> c_int;
    luaopen_string: fn(*mut State) -> c_int;
    luaopen_math: fn(*mut State) -> c_int;
}

/// Where the library is looked for, in order, after `KEYFORK_LUA_LIB` when it is set.
const LIBRARY_NAMES: &[&str] = &["liblua5.1.so.0", "liblua5.1.so", "liblua.so.5.1", "liblua-5.1.so", "liblua51.so"];

/// The package that provides the library, named in every error about it.
pub const PACKAGE_HINT: &str = "install the liblua5.1-0 package (apt-get install liblua5.1-0)";

static API: OnceLock<Result<(Api, String), String>> = OnceLock::new();

fn open_library() -> Result<(Api, String), String> {
    let override_path = std::env::var("KEYFORK_LUA_LIB").ok().filter(|p| !p.is_empty());
    let candidates: Vec<String> = match &override_path {
        Some(p) => vec![p.clone()],
        None => LIBRARY_NAMES.iter().map(|s| s.to_string()).collect(),
    };
    let mut last = String::new();
    for name in &candidates {
        let c = CString::new(name.as_str()).map_err(|_| "library path has a NUL byte".to_string())?;
        // SAFETY: c is NUL-terminated; dlopen has no other preconditions.
        let handle = unsafe { dlopen(c.as_ptr(), RTLD_NOW) };
        if handle.is_null() {
            // SAFETY: dlerror returns NULL or a NUL-terminated message owned by libdl.
            let msg = unsafe { dlerror() };
            last = if msg.is_null() { "not found".into() } else { unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned() };
            continue;
        }
        // LuaJIT exports the same API but its count hook does not fire in compiled loops:
        // SCRIPT KILL could not stop `while true do end`.
        // SAFETY: handle is live; the name is NUL-terminated.
        if !unsafe { dlsym(handle, b"luaJIT_setmode\0".as_ptr() as *const c_char) }.is_null() {
            return Err(format!("{name} is LuaJIT, which scripting cannot use (its count hook does not stop compiled loops)"));
        }
        // lua_setfenv exists in 5.1 only: a 5.2+ library would change number formatting.
        let api = Api::resolve(handle).map_err(|e| format!("{name} is not Lua 5.1 ({e})"))?;
        return Ok((api, name.clone()));
    }
    Err(format!("cannot load {} ({last})", candidates.join(" or ")))
}

/// The library, loaded on first use; the error says why scripting is unavailable.
pub fn library() -> Result<&'static Api, &'static str> {
    match API.get_or_init(open_library) {
        Ok((api, _)) => Ok(api),
        Err(e) => Err(e.as_str()),
    }
}

/// The file name the library was loaded from.
pub fn library_name() -> Option<&'static str> {
    API.get().and_then(|r| r.as_ref().ok()).map(|(_, n)| n.as_str())
}

unsafe extern "C" fn allocate(_ud: *mut c_void, p: *mut c_void, _old: usize, size: usize) -> *mut c_void {
    if size == 0 {
        // SAFETY: p is NULL or a block this allocator returned.
        unsafe { free(p) };
        return ptr::null_mut();
    }
    // SAFETY: p is NULL or a block this allocator returned; size > 0.
    let q = unsafe { realloc(p, size) };
    if q.is_null() {
        // Out of memory: abort like Rust's allocator rather than unwinding through our frames.
        // SAFETY: abort has no preconditions.
        unsafe { abort() }
    }
    q
}

unsafe extern "C" fn at_panic(l: *mut State) -> c_int {
    // An error outside any protected call: by the design above this cannot happen.
    let lua = Lua { l, api: library().unwrap_or_else(|_| unsafe { abort() }) };
    eprintln!("keyfork: unprotected Lua error: {}", String::from_utf8_lossy(lua.to_bytes(-1).unwrap_or(b"?")));
    // SAFETY: abort has no preconditions.
    unsafe { abort() }
}

/// The error value is on top of the stack: the trampoline raises it.
#[derive(Debug)]
pub struct Raise;

/// A Rust function callable from Lua: returns how many results it pushed.
pub type LuaFn = fn(Lua) -> Result<c_int, Raise>;
/// A count or line hook.
pub type HookFn = fn(Lua) -> Result<(), Raise>;

/// A live interpreter (or a callback's view of it).
#[derive(Clone, Copy)]
pub struct Lua {
    l: *mut State,
    api: &'static Api,
}

unsafe extern "C" fn trampoline(l: *mut State) -> c_int {
    let api = match library() {
        Ok(a) => a,
        // SAFETY: abort has no preconditions (unreachable: a state exists only with the library).
        Err(_) => unsafe { abort() },
    };
    let lua = Lua { l, api };
    // SAFETY: upvalue 1 of every closure made by `push_fn` is the light userdata holding a LuaFn.
    let f: LuaFn = unsafe { std::mem::transmute::<*mut c_void, LuaFn>((api.lua_touserdata)(l, upvalue(1))) };
    let outcome = catch_unwind(AssertUnwindSafe(|| f(lua)));
    match outcome {
        Ok(Ok(n)) => return n,
        Ok(Err(Raise)) => {}
        Err(panic) => {
            drop(panic);
            lua.push_str("ERR internal error in a keyfork Lua function");
        }
    }
    // Nothing with a destructor is alive in this frame: the jump skips nothing.
    // SAFETY: l is the running state; the error value is on top of its stack.
    unsafe { (api.lua_error)(l) };
    0
}

thread_local! {
    static HOOK: std::cell::Cell<Option<HookFn>> = const { std::cell::Cell::new(None) };
    static HOOK_EVENT: std::cell::Cell<c_int> = const { std::cell::Cell::new(0) };
}

/// lua_Debug's event of a line hook call (the debugger tells a line from a count event).
pub const HOOK_LINE: c_int = 2;
pub const HOOK_COUNT: c_int = 3;

unsafe extern "C" fn hook_trampoline(l: *mut State, ar: *mut Debug) {
    let Ok(api) = library() else { return };
    let lua = Lua { l, api };
    let Some(f) = HOOK.with(|h| h.get()) else { return };
    // SAFETY: Lua passes the hook a valid lua_Debug whose `event` is set.
    let event = if ar.is_null() { 0 } else { unsafe { (*ar).event } };
    HOOK_EVENT.with(|e| e.set(event));
    let outcome = catch_unwind(AssertUnwindSafe(|| f(lua)));
    match outcome {
        Ok(Ok(())) => return,
        Ok(Err(Raise)) => {}
        Err(panic) => {
            drop(panic);
            lua.push_str("ERR internal error in a keyfork Lua hook");
        }
    }
    // SAFETY: as in `trampoline`: nothing is alive here, the error value is on top.
    unsafe { (api.lua_error)(l) };
}

/// The event of the hook call being run (HOOK_LINE, HOOK_COUNT).
pub fn hook_event() -> c_int {
    HOOK_EVENT.with(|e| e.get())
}

/// A call-stack level as the debugger shows it (lua_getinfo "Snl").
pub struct Frame {
    pub short_src: Vec<u8>,
    pub line: i32,
    pub name: Option<Vec<u8>>,
}

/// Where a function on the call stack is: `what` is "Lua", "C", "main" or "tail".
pub struct Position {
    pub what: String,
    pub source: Vec<u8>,
    pub line: i32,
}

impl Lua {
    /// A new interpreter with keyfork's allocator, or why the library is unavailable.
    pub fn new() -> Result<Lua, &'static str> {
        let api = library()?;
        // SAFETY: allocate follows lua_Alloc's contract; the ud pointer is unused.
        let l = unsafe { (api.lua_newstate)(allocate, ptr::null_mut()) };
        if l.is_null() {
            return Err("lua_newstate failed");
        }
        // SAFETY: l is the state just created.
        unsafe { (api.lua_atpanic)(l, at_panic) };
        Ok(Lua { l, api })
    }

    /// Closes the interpreter. The handle (and every copy of it) must not be used afterwards.
    pub fn close(self) {
        // SAFETY: the caller owns the state and drops every copy of the handle.
        unsafe { (self.api.lua_close)(self.l) }
    }

    pub fn top(&self) -> c_int {
        // SAFETY: self.l is a live state (a `Lua` exists only for one).
        unsafe { (self.api.lua_gettop)(self.l) }
    }
    pub fn set_top(&self, n: c_int) {
        // SAFETY: as above; callers only shrink the stack or fill it with nils.
        unsafe { (self.api.lua_settop)(self.l, n) }
    }
    pub fn pop(&self, n: c_int) {
        self.set_top(-n - 1)
    }
    pub fn push_value(&self, idx: c_int) {
        // SAFETY: live state; idx is an acceptable index (callers check the stack).
        unsafe { (self.api.lua_pushvalue)(self.l, idx) }
    }
    pub fn remove(&self, idx: c_int) {
        // SAFETY: live state, valid index.
        unsafe { (self.api.lua_remove)(self.l, idx) }
    }
    pub fn insert(&self, idx: c_int) {
        // SAFETY: live state, valid index.
        unsafe { (self.api.lua_insert)(self.l, idx) }
    }
    pub fn replace(&self, idx: c_int) {
        // SAFETY: live state, valid index.
        unsafe { (self.api.lua_replace)(self.l, idx) }
    }
    /// Room for `n` more values; false when the stack cannot grow (never raises).
    pub fn check_stack(&self, n: c_int) -> bool {
        // SAFETY: live state.
        unsafe { (self.api.lua_checkstack)(self.l, n) != 0 }
    }

    pub fn type_of(&self, idx: c_int) -> Type {
        // SAFETY: live state; any acceptable index.
        match unsafe { (self.api.lua_type)(self.l, idx) } {
            0 => Type::Nil,
            1 => Type::Boolean,
            2 => Type::LightUserdata,
            3 => Type::Number,
            4 => Type::String,
            5 => Type::Table,
            6 => Type::Function,
            7 => Type::Userdata,
            8 => Type::Thread,
            _ => Type::None,
        }
    }
    /// A number, or a string convertible to one.
    pub fn is_number(&self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { (self.api.lua_isnumber)(self.l, idx) != 0 }
    }
    /// A string or a number.
    pub fn is_string(&self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { (self.api.lua_isstring)(self.l, idx) != 0 }
    }
    pub fn to_number(&self, idx: c_int) -> f64 {
        // SAFETY: live state.
        unsafe { (self.api.lua_tonumber)(self.l, idx) }
    }
    pub fn to_boolean(&self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { (self.api.lua_toboolean)(self.l, idx) != 0 }
    }
    /// The bytes of a string (a number is converted in place, as lua_tolstring does); None for
    /// other types. The slice lives as long as the value stays on the stack.
    pub fn to_bytes(&self, idx: c_int) -> Option<&[u8]> {
        let mut len = 0usize;
        // SAFETY: live state; len is a valid out pointer.
        let p = unsafe { (self.api.lua_tolstring)(self.l, idx, &mut len) };
        if p.is_null() {
            return None;
        }
        // SAFETY: Lua returns a pointer to `len` bytes owned by the string object, which the
        // caller keeps on the stack while using the slice.
        Some(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
    }
    /// The bytes of a value that is a string already (never converts a number).
    pub fn string_bytes(&self, idx: c_int) -> Option<&[u8]> {
        if self.type_of(idx) != Type::String {
            return None;
        }
        self.to_bytes(idx)
    }
    pub fn raw_len(&self, idx: c_int) -> usize {
        // SAFETY: live state.
        unsafe { (self.api.lua_objlen)(self.l, idx) }
    }
    pub fn to_pointer(&self, idx: c_int) -> *const c_void {
        // SAFETY: live state.
        unsafe { (self.api.lua_topointer)(self.l, idx) }
    }
    pub fn raw_equal(&self, a: c_int, b: c_int) -> bool {
        // SAFETY: live state.
        unsafe { (self.api.lua_rawequal)(self.l, a, b) != 0 }
    }

    pub fn push_nil(&self) {
        // SAFETY: live state; callers reserve stack space.
        unsafe { (self.api.lua_pushnil)(self.l) }
    }
    pub fn push_number(&self, n: f64) {
        // SAFETY: as above.
        unsafe { (self.api.lua_pushnumber)(self.l, n) }
    }
    pub fn push_bytes(&self, b: &[u8]) {
        // SAFETY: b is valid for b.len() bytes; Lua copies them.
        unsafe { (self.api.lua_pushlstring)(self.l, b.as_ptr() as *const c_char, b.len()) }
    }
    pub fn push_str(&self, s: &str) {
        self.push_bytes(s.as_bytes())
    }
    pub fn push_bool(&self, b: bool) {
        // SAFETY: live state.
        unsafe { (self.api.lua_pushboolean)(self.l, b as c_int) }
    }
    /// Pushes a Rust function as a Lua C function.
    pub fn push_fn(&self, f: LuaFn) {
        // SAFETY: the fn pointer travels as a light userdata upvalue and is restored with the
        // same type by `trampoline`; fn and data pointers have the same size here.
        unsafe {
            (self.api.lua_pushlightuserdata)(self.l, f as *mut c_void);
            (self.api.lua_pushcclosure)(self.l, trampoline, 1);
        }
    }
    /// Pushes a Rust function whose Lua closure also holds the `n` values on top of the stack
    /// (popped) as upvalues 2..=n+1.
    pub fn push_closure(&self, f: LuaFn, n: c_int) {
        // SAFETY: as in push_fn; the n upvalues are on the stack (callers push them).
        unsafe {
            (self.api.lua_pushlightuserdata)(self.l, f as *mut c_void);
            (self.api.lua_insert)(self.l, -n - 1);
            (self.api.lua_pushcclosure)(self.l, trampoline, n + 1);
        }
    }

    /// Pushes a new full userdata holding `value`. Lua owns the memory (freed by the GC); `T`
    /// must be plain data (Copy: nothing to drop), and only `userdata_upvalue::<T>` reads it.
    pub fn push_userdata<T: Copy>(&self, value: T) {
        // SAFETY: lua_newuserdata returns a block of the requested size aligned for any Lua
        // value (at least 8 bytes, enough for T's plain fields); it is written before use.
        unsafe {
            let p = (self.api.lua_newuserdata)(self.l, std::mem::size_of::<T>()) as *mut T;
            p.write(value);
        }
    }

    /// The `T` stored by push_userdata in upvalue `i` of the running closure.
    pub fn userdata_upvalue<T: Copy>(&self, i: c_int) -> Option<&mut T> {
        // SAFETY: the closures that read a T upvalue are created with a userdata made by
        // push_userdata::<T> in that slot (cjson's configuration); scripts cannot reach
        // upvalues (no debug library), so nothing else can be there.
        unsafe {
            let p = (self.api.lua_touserdata)(self.l, upvalue(i)) as *mut T;
            p.as_mut()
        }
    }

    pub fn push_light(&self, p: *mut c_void) {
        // SAFETY: a light userdata is an opaque pointer value.
        unsafe { (self.api.lua_pushlightuserdata)(self.l, p) }
    }
    pub fn to_light(&self, idx: c_int) -> *mut c_void {
        // SAFETY: live state; returns NULL for non-userdata.
        unsafe { (self.api.lua_touserdata)(self.l, idx) }
    }

    pub fn new_table(&self) {
        self.create_table(0, 0)
    }
    pub fn create_table(&self, narr: c_int, nrec: c_int) {
        // SAFETY: live state.
        unsafe { (self.api.lua_createtable)(self.l, narr, nrec) }
    }
    /// t[k] without metamethods: key on top, replaced by the value. `idx` must be a table.
    pub fn raw_get(&self, idx: c_int) {
        // SAFETY: callers pass a table index.
        unsafe { (self.api.lua_rawget)(self.l, idx) }
    }
    pub fn raw_geti(&self, idx: c_int, n: c_int) {
        // SAFETY: callers pass a table index.
        unsafe { (self.api.lua_rawgeti)(self.l, idx, n) }
    }
    /// t[k] = v without metamethods: key and value on top (popped). Keys are never nil or NaN.
    pub fn raw_set(&self, idx: c_int) {
        // SAFETY: callers pass a table index and a non-nil, non-NaN key.
        unsafe { (self.api.lua_rawset)(self.l, idx) }
    }
    pub fn raw_seti(&self, idx: c_int, n: c_int) {
        // SAFETY: callers pass a table index.
        unsafe { (self.api.lua_rawseti)(self.l, idx, n) }
    }
    /// t[name] (raw) for the table at `idx`.
    pub fn raw_get_field(&self, idx: c_int, name: &str) {
        let t = self.absolute(idx);
        self.push_str(name);
        self.raw_get(t);
    }
    /// t[name] = value on top (raw).
    pub fn raw_set_field(&self, idx: c_int, name: &str) {
        let t = self.absolute(idx);
        self.push_str(name);
        self.insert(-2);
        self.raw_set(t);
    }
    /// Pushes the metatable of the value at idx; false (nothing pushed) when it has none.
    pub fn get_metatable(&self, idx: c_int) -> bool {
        // SAFETY: live state.
        unsafe { (self.api.lua_getmetatable)(self.l, idx) != 0 }
    }
    /// Pops a table (or nil) and makes it the metatable of the value at idx.
    pub fn set_metatable(&self, idx: c_int) {
        // SAFETY: callers push a table or nil.
        unsafe { (self.api.lua_setmetatable)(self.l, idx) };
    }
    /// Pops a table and makes it the environment of the function at idx.
    pub fn set_fenv(&self, idx: c_int) {
        // SAFETY: callers pass a function and push a table.
        unsafe { (self.api.lua_setfenv)(self.l, idx) };
    }
    /// lua_next over the table at idx: pops a key, pushes the next key and value.
    /// The key must be nil or present in the table (callers iterate unmodified tables).
    pub fn next(&self, idx: c_int) -> bool {
        // SAFETY: callers pass a table and a key from the previous step.
        unsafe { (self.api.lua_next)(self.l, idx) != 0 }
    }
    /// Concatenates the `n` strings on top (no metamethods are involved for strings/numbers).
    pub fn concat(&self, n: c_int) {
        // SAFETY: callers only concatenate strings and numbers.
        unsafe { (self.api.lua_concat)(self.l, n) }
    }
    /// An absolute stack index for a relative one.
    pub fn absolute(&self, idx: c_int) -> c_int {
        if idx < 0 && idx > REGISTRY { self.top() + idx + 1 } else { idx }
    }

    /// Calls the function below `nargs` arguments in protected mode; Err(code) leaves the
    /// error value on top. `handler` is the stack index of the message handler, or 0.
    pub fn pcall(&self, nargs: c_int, nresults: c_int, handler: c_int) -> Result<(), c_int> {
        // SAFETY: the function and its arguments are on the stack; errors are caught by Lua.
        match unsafe { (self.api.lua_pcall)(self.l, nargs, nresults, handler) } {
            0 => Ok(()),
            e => Err(e),
        }
    }

    /// Compiles a chunk (refusing nothing: callers check for bytecode first); Err leaves the
    /// message on top.
    pub fn load(&self, code: &[u8], chunkname: &str) -> Result<(), ()> {
        let name = CString::new(chunkname).map_err(|_| ())?;
        // SAFETY: code is valid for its length; the load is protected by Lua itself.
        match unsafe { (self.api.luaL_loadbuffer)(self.l, code.as_ptr() as *const c_char, code.len(), name.as_ptr()) } {
            0 => Ok(()),
            _ => Err(()),
        }
    }

    /// lua_load with a Lua function as the reader (base library's `load`): the function at
    /// index 1 is called for each piece until it returns nil or an empty string. Errors it
    /// raises are caught by lua_load's own protection (and go through the current message
    /// handler, as in liblua). A first piece starting with byte 27 (precompiled bytecode) is
    /// never handed to Lua's undump: it is fed to the parser as a 0x01 byte instead, and
    /// `true` is returned so the caller can name the real byte in the syntax error.
    /// Slot 3 is used to keep each piece alive, as liblua's generic_reader does.
    pub fn load_from_reader(&self, chunkname: &[u8]) -> (Result<(), ()>, bool) {
        let name = CString::new(chunkname.split(|&b| b == 0).next().unwrap_or(b"")).unwrap_or_default();
        let mut state = ReaderState { first: true, bytecode: false };
        // SAFETY: reader_from_function follows lua_Reader's contract; `state` outlives the call.
        let status = unsafe { (self.api.lua_load)(self.l, reader_from_function, &mut state as *mut ReaderState as *mut c_void, name.as_ptr()) };
        (if status == 0 { Ok(()) } else { Err(()) }, state.bytecode)
    }

    /// Pushes "chunkname:currentline: " for the function at `level` (luaL_where).
    pub fn push_where(&self, level: c_int) {
        // SAFETY: live state; luaL_where only reads debug info and pushes a string.
        unsafe { (self.api.luaL_where)(self.l, level) }
    }

    /// Pushes `msg` prefixed with the position of the calling Lua code, as luaL_error does.
    pub fn error_with_where(&self, msg: &str) -> Raise {
        self.push_where(1);
        self.push_str(msg);
        self.concat(2);
        Raise
    }

    /// Pushes a plain message to raise.
    pub fn error(&self, msg: &str) -> Raise {
        self.push_str(msg);
        Raise
    }

    /// Pops a value into the registry; returns its reference.
    pub fn registry_ref(&self) -> c_int {
        // SAFETY: a value is on top; luaL_ref only allocates.
        unsafe { (self.api.luaL_ref)(self.l, REGISTRY) }
    }
    pub fn registry_unref(&self, r: c_int) {
        // SAFETY: r came from registry_ref on this state.
        unsafe { (self.api.luaL_unref)(self.l, REGISTRY, r) }
    }

    /// Opens one of liblua's standard libraries by calling its luaopen function.
    pub fn open_standard(&self, which: Standard, name: &str) -> Result<(), ()> {
        let f = match which {
            Standard::Base => self.api.luaopen_base,
            Standard::Table => self.api.luaopen_table,
            Standard::String => self.api.luaopen_string,
            Standard::Math => self.api.luaopen_math,
        };
        // SAFETY: a luaopen function is a lua_CFunction.
        unsafe { (self.api.lua_pushcclosure)(self.l, f, 0) };
        self.push_str(name);
        self.pcall(1, 0, 0).map_err(|_| self.pop(1))
    }

    /// Memory in use by this interpreter, in bytes.
    pub fn memory(&self) -> usize {
        // SAFETY: live state; COUNT and COUNTB only read counters.
        let kb = unsafe { (self.api.lua_gc)(self.l, GC_COUNT, 0) } as usize;
        let b = unsafe { (self.api.lua_gc)(self.l, GC_COUNTB, 0) } as usize;
        kb * 1024 + b
    }
    /// One incremental garbage-collection step of the given size.
    pub fn gc_step(&self, size: c_int) {
        // SAFETY: live state, not inside a callback that holds Rust values (called between scripts).
        unsafe { (self.api.lua_gc)(self.l, GC_STEP, size) };
    }
    pub fn gc_collect(&self) {
        // SAFETY: as above.
        unsafe { (self.api.lua_gc)(self.l, GC_COLLECT, 0) };
    }

    /// Installs `f` as the hook for `mask` (count every `count` instructions); None removes it.
    pub fn set_hook(&self, f: Option<HookFn>, mask: c_int, count: c_int) {
        HOOK.with(|h| h.set(f));
        let hook: Option<Hook> = if f.is_some() { Some(hook_trampoline) } else { None };
        // SAFETY: live state; hook_trampoline follows lua_Hook's contract.
        unsafe { (self.api.lua_sethook)(self.l, hook, if f.is_some() { mask } else { 0 }, count) };
    }

    /// The name the running function was called by and how ("global", "method", "field"...),
    /// as luaL_argerror finds it; None outside a call.
    pub fn called_as(&self) -> Option<(Option<String>, String)> {
        // SAFETY: Debug is plain data; zeroed is a valid initial value.
        let mut ar: Debug = unsafe { std::mem::zeroed() };
        // SAFETY: live state; ar is a valid out pointer.
        if unsafe { (self.api.lua_getstack)(self.l, 0, &mut ar) } == 0 {
            return None;
        }
        // SAFETY: ar was filled by lua_getstack; the options string is NUL-terminated.
        unsafe { (self.api.lua_getinfo)(self.l, b"n\0".as_ptr() as *const c_char, &mut ar) };
        // SAFETY: name and namewhat are NULL or NUL-terminated strings owned by Lua.
        let text = |p: *const c_char| if p.is_null() { None } else { Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()) };
        Some((text(ar.name), text(ar.namewhat).unwrap_or_default()))
    }

    /// What and where the function at call-stack `level` is (0 = the running function).
    pub fn position(&self, level: c_int) -> Option<Position> {
        // SAFETY: Debug is plain data; zeroed is a valid initial value.
        let mut ar: Debug = unsafe { std::mem::zeroed() };
        // SAFETY: live state; ar is a valid out pointer.
        if unsafe { (self.api.lua_getstack)(self.l, level, &mut ar) } == 0 {
            return None;
        }
        // SAFETY: ar was filled by lua_getstack; the options string is NUL-terminated.
        if unsafe { (self.api.lua_getinfo)(self.l, b"Sl\0".as_ptr() as *const c_char, &mut ar) } == 0 {
            return None;
        }
        // SAFETY: lua_getinfo sets `what` and `source` to NUL-terminated strings owned by Lua.
        let text = |p: *const c_char| if p.is_null() { Vec::new() } else { unsafe { CStr::from_ptr(p) }.to_bytes().to_vec() };
        Some(Position { what: String::from_utf8_lossy(&text(ar.what)).into_owned(), source: text(ar.source), line: ar.currentline })
    }
}

impl Lua {
    /// The function at call-stack `level` (0 = the running one), None past the outermost.
    pub fn frame(&self, level: c_int) -> Option<Frame> {
        // SAFETY: Debug is plain data; zeroed is a valid initial value.
        let mut ar: Debug = unsafe { std::mem::zeroed() };
        // SAFETY: live state; ar is a valid out pointer.
        if unsafe { (self.api.lua_getstack)(self.l, level, &mut ar) } == 0 {
            return None;
        }
        // SAFETY: ar was filled by lua_getstack; the options string is NUL-terminated.
        unsafe { (self.api.lua_getinfo)(self.l, b"Snl\0".as_ptr() as *const c_char, &mut ar) };
        // SAFETY: short_src is a NUL-terminated array inside ar (lua_getinfo writes it with
        // luaO_chunkid, which always terminates it); name is NULL or a string owned by Lua.
        let short_src = unsafe { CStr::from_ptr(ar.short_src.as_ptr()) }.to_bytes().to_vec();
        let name = if ar.name.is_null() { None } else { Some(unsafe { CStr::from_ptr(ar.name) }.to_bytes().to_vec()) };
        Some(Frame { short_src, line: ar.currentline, name })
    }

    /// Local variable `n` (1-based) of the function at `level`: pushes its value and returns
    /// its name, or None (nothing pushed) when there is no such local or level.
    pub fn local(&self, level: c_int, n: c_int) -> Option<Vec<u8>> {
        // SAFETY: Debug is plain data; zeroed is a valid initial value.
        let mut ar: Debug = unsafe { std::mem::zeroed() };
        // SAFETY: live state; ar is a valid out pointer.
        if unsafe { (self.api.lua_getstack)(self.l, level, &mut ar) } == 0 {
            return None;
        }
        // SAFETY: ar comes from lua_getstack; lua_getlocal pushes the value only when it
        // returns a name, a string owned by Lua and valid while the function is active.
        let name = unsafe { (self.api.lua_getlocal)(self.l, &ar, n) };
        if name.is_null() {
            return None;
        }
        // SAFETY: as above, NUL-terminated.
        Some(unsafe { CStr::from_ptr(name) }.to_bytes().to_vec())
    }
}

struct ReaderState {
    first: bool,
    bytecode: bool,
}

/// The byte fed to the parser instead of a leading ESC: its syntax error is then the one the
/// parser gives a text chunk starting with an unexpected control character.
static NOT_BYTECODE: [u8; 1] = [1];

unsafe extern "C" fn reader_from_function(l: *mut State, data: *mut c_void, size: *mut usize) -> *const c_char {
    let Ok(api) = library() else { return ptr::null() };
    // SAFETY: data is the ReaderState passed by load_from_reader, alive for the whole lua_load.
    let state = unsafe { &mut *(data as *mut ReaderState) };
    // Nothing owned lives in this frame: lua_call may raise (caught by lua_load).
    // SAFETY: l is the loading state; index 1 holds the reader function (checked by the caller).
    unsafe {
        (api.lua_pushvalue)(l, 1);
        (api.lua_call)(l, 0, 1);
        if (api.lua_type)(l, -1) == 0 {
            *size = 0;
            return ptr::null();
        }
        if (api.lua_isstring)(l, -1) == 0 {
            (api.lua_pushlstring)(l, READER_ERROR.as_ptr() as *const c_char, READER_ERROR.len());
            (api.luaL_where)(l, 1);
            (api.lua_insert)(l, -2);
            (api.lua_concat)(l, 2);
            (api.lua_error)(l);
            return ptr::null();
        }
        (api.lua_replace)(l, 3);
        let p = (api.lua_tolstring)(l, 3, size);
        if state.first && *size > 0 && *p as u8 == 27 {
            state.bytecode = true;
            *size = 1;
            state.first = false;
            return NOT_BYTECODE.as_ptr() as *const c_char;
        }
        if *size > 0 {
            state.first = false;
        }
        p
    }
}

const READER_ERROR: &str = "reader function must return a string";

/// The standard libraries scripts get.
pub enum Standard {
    Base,
    Table,
    String,
    Math,
}
