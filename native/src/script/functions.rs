//! FUNCTION libraries (functions.c, function_lua.c): `#!lua name=lib` code run once at load,
//! registering functions with redis.register_function; FCALL runs them. Libraries live in their
//! own interpreter, whose globals during a load are only the library API (`redis` with
//! register_function, log and the version fields).

use super::api::{self, Kind};
use super::convert::push_error_table;
use super::lua::{Lua, Raise, Type, GLOBALS, REGISTRY};
use super::{env, shebang, Invocation, FLAG_NAMES};
use std::cell::RefCell;
use std::ffi::c_int;
use std::time::{Duration, Instant};

/// FUNCTION LOAD gives a library's code this long to register its functions.
pub const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

pub struct Function {
    pub name: Vec<u8>,
    pub description: Option<Vec<u8>>,
    pub flags: u32,
    reference: c_int,
}

pub struct Library {
    pub name: Vec<u8>,
    pub code: Vec<u8>,
    pub functions: Vec<Function>,
}

pub struct FunctionEngine {
    lua: Lua,
    handler: c_int,
    /// Registry reference of the library API table used as globals during a load.
    library_api: c_int,
    pub libraries: Vec<Library>,
}

thread_local! {
    static ENGINE: RefCell<Option<FunctionEngine>> = const { RefCell::new(None) };
    /// The library being loaded (redis.register_function adds to it), when the load began and
    /// whether it is limited in time.
    static LOADING: RefCell<Option<(Library, Instant, bool)>> = const { RefCell::new(None) };
}

fn new_engine() -> Result<FunctionEngine, String> {
    let lua = Lua::new().map_err(|e| e.to_string())?;
    env::open_libraries(lua)?;
    super::exports::open_redis_libraries(lua);
    api::push_redis_table(lua, Kind::Function);
    lua.raw_set_field(GLOBALS, "redis");
    api::replace_math_random(lua);
    let handler = api::register_error_handler(lua);
    // The library API: `redis` with only what a library may use while loading; anything
    // else reads as a missing global.
    lua.new_table();
    lua.new_table();
    lua.push_fn(register_function);
    lua.raw_set_field(-2, "register_function");
    api::push_log_levels(lua);
    api::push_version(lua);
    set_error_metatable(lua);
    lua.raw_set_field(-2, "redis");
    set_error_metatable(lua);
    env::protect(lua);
    let library_api = lua.registry_ref();
    env::seal_globals(lua);
    Ok(FunctionEngine { lua, handler, library_api, libraries: Vec::new() })
}

/// luaSetErrorMetatable on the table on top: reading a missing field raises Redis's error.
fn set_error_metatable(lua: Lua) {
    lua.new_table();
    lua.push_fn(env::missing_global);
    lua.raw_set_field(-2, "__index");
    lua.set_metatable(-2);
}

pub fn with_engine<R>(f: impl FnOnce(&mut FunctionEngine) -> Result<R, String>) -> Result<R, String> {
    ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        if e.is_none() {
            *e = Some(new_engine()?);
        }
        f(e.as_mut().expect("created above"))
    })
}

/// Library and function names: letters, digits and '_', at least one.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const NAME_RULE: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

impl FunctionEngine {
    pub fn find_function(&self, name: &[u8]) -> Option<(&Library, &Function)> {
        self.libraries.iter().find_map(|l| l.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| (l, f)))
    }

    pub fn function_count(&self) -> usize {
        self.libraries.iter().map(|l| l.functions.len()).sum()
    }

    pub fn memory(&self) -> usize {
        self.lua.memory()
    }

    /// Runs the library's code in the load environment: its functions, or the error text.
    fn compile(&mut self, code: &[u8], timeout: Option<Duration>) -> Result<Library, String> {
        let header = check_header(code)?;
        let lua = self.lua;
        let library = Library { name: header.name.clone(), code: code.to_vec(), functions: Vec::new() };
        if env::load_source(lua, &code[header.code_start..], b"@user_function").is_err() {
            let msg = String::from_utf8_lossy(lua.to_bytes(-1).unwrap_or_default()).into_owned();
            lua.pop(1);
            return Err(format!("Error compiling function: {msg}"));
        }
        self.switch_globals(true);
        LOADING.with(|l| *l.borrow_mut() = Some((library, Instant::now(), timeout.is_some())));
        if timeout.is_some() {
            lua.set_hook(Some(load_hook), super::lua::MASK_COUNT, 100_000);
        }
        let ran = lua.pcall(0, 0, 0);
        lua.set_hook(None, 0, 0);
        self.switch_globals(false);
        let (library, ..) = LOADING.with(|l| l.borrow_mut().take()).expect("set above");
        if ran.is_err() {
            let info = super::convert::error_info(lua);
            lua.pop(1);
            self.release(&library);
            return Err(format!("Error registering functions: {}", String::from_utf8_lossy(info.msg.as_deref().unwrap_or_default())));
        }
        if library.functions.is_empty() {
            return Err("No functions registered".into());
        }
        Ok(library)
    }

    /// Points the globals at the library API (during a load) or back at the real globals.
    fn switch_globals(&self, library_api: bool) {
        let lua = self.lua;
        lua.raw_get_field(REGISTRY, env::REAL_GLOBALS);
        // The proxy's metatable is reached through the registry's proxy map: the proxy of
        // the real globals is the current LUA_GLOBALSINDEX.
        lua.push_value(GLOBALS);
        lua.get_metatable(-1);
        if library_api {
            lua.raw_geti(REGISTRY, self.library_api);
        } else {
            lua.push_value(-3);
        }
        lua.raw_set_field(-2, "__index");
        lua.pop(3);
    }

    fn release(&self, library: &Library) {
        for f in &library.functions {
            self.lua.registry_unref(f.reference);
        }
    }

    /// FUNCTION LOAD [REPLACE] / a library from an RDB file or a FUNCTION RESTORE payload.
    pub fn load(&mut self, code: &[u8], replace: bool, timeout: Option<Duration>) -> Result<Vec<u8>, String> {
        let header = check_header(code)?;
        let existing = self.libraries.iter().position(|l| l.name == header.name);
        if existing.is_some() && !replace {
            return Err(format!("Library '{}' already exists", String::from_utf8_lossy(&header.name)));
        }
        let library = self.compile(code, timeout)?;
        for f in &library.functions {
            let clash = self.libraries.iter().enumerate().any(|(i, l)| Some(i) != existing && l.functions.iter().any(|g| g.name.eq_ignore_ascii_case(&f.name)));
            if clash {
                self.release(&library);
                return Err(format!("Function {} already exists", String::from_utf8_lossy(&f.name)));
            }
        }
        let name = library.name.clone();
        match existing {
            Some(i) => {
                let old = std::mem::replace(&mut self.libraries[i], library);
                self.release(&old);
            }
            None => self.libraries.push(library),
        }
        Ok(name)
    }

    pub fn delete(&mut self, name: &[u8]) -> bool {
        match self.libraries.iter().position(|l| l.name == name) {
            Some(i) => {
                let old = self.libraries.remove(i);
                self.release(&old);
                true
            }
            None => false,
        }
    }

    pub fn invocation(&self, name: &[u8], ro: bool, argv: Vec<Vec<u8>>, keys: std::ops::Range<usize>, args: std::ops::Range<usize>) -> Option<Invocation> {
        let (_, f) = self.find_function(name)?;
        Some(Invocation {
            lua: self.lua,
            function: f.reference,
            handler: self.handler,
            eval_mode: false,
            name: String::from_utf8_lossy(&f.name).into_owned(),
            flags: f.flags,
            ro,
            argv,
            keys,
            args,
        })
    }
}

/// The library's metadata, its name and engine checked.
fn check_header(code: &[u8]) -> Result<shebang::LibraryHeader, String> {
    let header = shebang::library_header(code)?;
    if !valid_name(&header.name) {
        return Err(NAME_RULE.into());
    }
    if !header.engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!("Engine '{}' not found", String::from_utf8_lossy(super::convert::c_str(&header.engine))));
    }
    Ok(header)
}

/// FUNCTION FLUSH: a new interpreter without libraries.
pub fn flush() -> Result<(), String> {
    super::renew(&ENGINE, |e| e.lua, new_engine)
}

/// FUNCTION RESTORE and the RDB loader: loads `codes` all or nothing. `flush` drops the current
/// libraries first; otherwise a library that exists already is an error, or replaced when
/// `replace`.
pub fn restore(codes: &[Vec<u8>], flush_first: bool, replace: bool) -> Result<(), String> {
    with_engine(|e| {
        // Compile everything first; only then touch the current libraries.
        let mut fresh: Vec<Library> = Vec::new();
        for code in codes {
            match e.compile(code, None) {
                Ok(lib) => {
                    if fresh.iter().any(|l| l.name == lib.name) {
                        let name = String::from_utf8_lossy(&lib.name).into_owned();
                        e.release(&lib);
                        fresh.iter().for_each(|l| e.release(l));
                        return Err(format!("Library '{name}' already exists"));
                    }
                    fresh.push(lib)
                }
                Err(err) => {
                    fresh.iter().for_each(|l| e.release(l));
                    return Err(err);
                }
            }
        }
        let keep: Vec<usize> = if flush_first { Vec::new() } else { (0..e.libraries.len()).collect() };
        let mut replaced = Vec::new();
        for lib in &fresh {
            if let Some(i) = keep.iter().copied().find(|&i| e.libraries[i].name == lib.name) {
                if !replace {
                    let name = String::from_utf8_lossy(&lib.name).into_owned();
                    fresh.iter().for_each(|l| e.release(l));
                    return Err(format!("Library {name} already exists"));
                }
                replaced.push(i);
            }
        }
        for lib in &fresh {
            for f in &lib.functions {
                let clash = keep.iter().filter(|i| !replaced.contains(i)).any(|&i| e.libraries[i].functions.iter().any(|g| g.name.eq_ignore_ascii_case(&f.name)))
                    || fresh.iter().filter(|l| !std::ptr::eq(*l, lib)).any(|l| l.functions.iter().any(|g| g.name.eq_ignore_ascii_case(&f.name)));
                if clash {
                    let name = String::from_utf8_lossy(&f.name).into_owned();
                    fresh.iter().for_each(|l| e.release(l));
                    return Err(format!("Function {name} already exists"));
                }
            }
        }
        let old = std::mem::take(&mut e.libraries);
        for (i, lib) in old.into_iter().enumerate() {
            if keep.contains(&i) && !replaced.contains(&i) {
                e.libraries.push(lib);
            } else {
                e.release(&lib);
            }
        }
        e.libraries.extend(fresh);
        Ok(())
    })
}

/// The library codes, for FUNCTION DUMP and the RDB writer.
pub fn library_codes() -> Vec<Vec<u8>> {
    ENGINE.with(|e| e.borrow().as_ref().map(|e| e.libraries.iter().map(|l| l.code.clone()).collect()).unwrap_or_default())
}

/// (used_memory_vm_functions, used_memory_functions, number_of_functions, number_of_libraries)
pub fn memory_info() -> (usize, usize, usize, usize) {
    ENGINE.with(|e| match e.borrow().as_ref() {
        Some(e) => {
            let overhead: usize = e.libraries.iter().map(|l| 64 + l.name.len() + l.code.len() + l.functions.iter().map(|f| 48 + f.name.len() + f.description.as_ref().map_or(0, |d| d.len())).sum::<usize>()).sum();
            (e.memory(), overhead + 200, e.function_count(), e.libraries.len())
        }
        None => (0, 0, 0, 0),
    })
}

/// The FUNCTION LOAD time limit (a library stuck in a loop at load time).
fn load_hook(lua: Lua) -> Result<(), Raise> {
    let expired = LOADING.with(|l| l.borrow().as_ref().is_some_and(|(_, start, limited)| *limited && start.elapsed() > LOAD_TIMEOUT));
    if expired {
        lua.set_hook(Some(load_timeout), super::lua::MASK_LINE, 0);
        return Err(load_timeout_error(lua));
    }
    Ok(())
}

fn load_timeout(lua: Lua) -> Result<(), Raise> {
    Err(load_timeout_error(lua))
}

fn load_timeout_error(lua: Lua) -> Raise {
    push_error_table(lua, b"FUNCTION LOAD timeout");
    Raise
}

fn raise(lua: Lua, msg: &str) -> Raise {
    api::raise(lua, msg)
}

/// redis.register_function(name, callback) or redis.register_function{function_name=...,
/// callback=..., description=..., flags={...}}.
fn register_function(lua: Lua) -> Result<c_int, Raise> {
    if LOADING.with(|l| l.borrow().is_none()) {
        return Err(raise(lua, "redis.register_function can only be called on FUNCTION LOAD command"));
    }
    let argc = lua.top();
    if !(1..=2).contains(&argc) {
        return Err(raise(lua, "wrong number of arguments to redis.register_function"));
    }
    let (name, description, flags) = if argc == 1 { named_args(lua)? } else { positional_args(lua)? };
    // The callback is on top of the stack now.
    if !valid_name(&name) {
        return Err(raise(lua, NAME_RULE));
    }
    let duplicate = LOADING.with(|l| l.borrow().as_ref().is_some_and(|(lib, ..)| lib.functions.iter().any(|f| f.name == name)));
    if duplicate {
        return Err(raise(lua, "Function already exists in the library"));
    }
    let reference = lua.registry_ref();
    LOADING.with(|l| {
        if let Some((lib, ..)) = l.borrow_mut().as_mut() {
            lib.functions.push(Function { name, description, flags, reference });
        }
    });
    Ok(0)
}

type Registration = (Vec<u8>, Option<Vec<u8>>, u32);

fn positional_args(lua: Lua) -> Result<Registration, Raise> {
    if !lua.is_string(1) {
        return Err(raise(lua, "first argument to redis.register_function must be a string"));
    }
    let name = lua.to_bytes(1).unwrap_or_default().to_vec();
    if lua.type_of(2) != Type::Function {
        return Err(raise(lua, "second argument to redis.register_function must be a function"));
    }
    lua.set_top(2);
    Ok((name, None, 0))
}

fn named_args(lua: Lua) -> Result<Registration, Raise> {
    if lua.type_of(1) != Type::Table {
        return Err(raise(lua, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
    }
    let mut callback: Option<c_int> = None;
    let read = read_named(lua, &mut callback);
    match (read, callback) {
        (Ok((name, description, flags)), Some(r)) => {
            lua.set_top(1);
            lua.raw_geti(REGISTRY, r);
            lua.registry_unref(r);
            Ok((name, description, flags))
        }
        (Ok(_), None) => Err(raise(lua, "redis.register_function must get a callback argument")),
        (Err(e), r) => {
            if let Some(r) = r {
                lua.registry_unref(r);
            }
            Err(e)
        }
    }
}

/// Walks the named arguments; the callback is kept in the registry (`callback`).
fn read_named(lua: Lua, callback: &mut Option<c_int>) -> Result<Registration, Raise> {
    let (mut name, mut description, mut flags) = (None, None, 0u32);
    lua.push_nil();
    while lua.next(1) {
        if !lua.is_string(-2) {
            return Err(raise(lua, "named argument key given to redis.register_function is not a string"));
        }
        lua.push_value(-2);
        let key = lua.to_bytes(-1).unwrap_or_default().to_ascii_lowercase();
        lua.pop(1);
        match key.as_slice() {
            b"function_name" => {
                if !lua.is_string(-1) {
                    return Err(raise(lua, "function_name argument given to redis.register_function must be a string"));
                }
                name = Some(lua.to_bytes(-1).unwrap_or_default().to_vec());
            }
            b"description" => {
                if !lua.is_string(-1) {
                    return Err(raise(lua, "description argument given to redis.register_function must be a string"));
                }
                description = Some(lua.to_bytes(-1).unwrap_or_default().to_vec());
            }
            b"callback" => {
                if lua.type_of(-1) != Type::Function {
                    return Err(raise(lua, "callback argument given to redis.register_function must be a function"));
                }
                if let Some(old) = callback.take() {
                    lua.registry_unref(old);
                }
                lua.push_value(-1);
                *callback = Some(lua.registry_ref());
            }
            b"flags" => {
                if lua.type_of(-1) != Type::Table {
                    return Err(raise(lua, "flags argument to redis.register_function must be a table representing function flags"));
                }
                flags = read_flags(lua).ok_or_else(|| raise(lua, "unknown flag given"))?;
            }
            _ => return Err(raise(lua, "unknown argument given to redis.register_function")),
        }
        lua.pop(1);
    }
    match name {
        Some(name) => Ok((name, description, flags)),
        None => Err(raise(lua, "redis.register_function must get a function name argument")),
    }
}

/// The flags table on top: names as in FLAG_NAMES, case-insensitive.
fn read_flags(lua: Lua) -> Option<u32> {
    let mut flags = 0;
    let mut j = 1;
    loop {
        lua.raw_geti(-1, j);
        j += 1;
        if lua.type_of(-1) == Type::Nil {
            lua.pop(1);
            return Some(flags);
        }
        let name = if lua.is_string(-1) { lua.to_bytes(-1).map(|b| b.to_vec()) } else { None };
        lua.pop(1);
        let bit = FLAG_NAMES.iter().find(|(_, n)| name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n.as_bytes())))?.0;
        flags |= bit;
    }
}
