//! EVAL's interpreter and script cache (eval.c): scripts are compiled once, kept by SHA1 in the
//! registry, and run by EVAL/EVALSHA; SCRIPT LOAD/EXISTS/FLUSH manage the cache.

use super::api::{self, Kind};
use super::lua::{Lua, GLOBALS};
use super::{env, shebang, Invocation};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::ops::Range;

pub struct Script {
    pub body: Vec<u8>,
    pub flags: u32,
    function: c_int,
}

pub struct EvalEngine {
    pub lua: Lua,
    handler: c_int,
    pub scripts: HashMap<[u8; 40], Script>,
    /// Bytes of cached script bodies (used_memory_scripts_eval).
    pub body_bytes: usize,
}

thread_local! {
    static EVAL: RefCell<Option<EvalEngine>> = const { RefCell::new(None) };
}

/// Builds the interpreter eval scripts run in.
fn new_engine() -> Result<EvalEngine, String> {
    let lua = Lua::new().map_err(|e| e.to_string())?;
    env::open_libraries(lua)?;
    super::exports::open_redis_libraries(lua);
    api::push_redis_table(lua, Kind::Eval);
    lua.raw_set_field(GLOBALS, "redis");
    api::replace_math_random(lua);
    lua.push_fn(api::error_handler);
    lua.push_value(-1);
    lua.raw_set_field(GLOBALS, "__redis__err__handler");
    let handler = lua.registry_ref();
    env::seal_globals(lua);
    Ok(EvalEngine { lua, handler, scripts: HashMap::new(), body_bytes: 0 })
}

/// Runs `f` with the engine, creating it on first use.
pub fn with_engine<R>(f: impl FnOnce(&mut EvalEngine) -> Result<R, String>) -> Result<R, String> {
    EVAL.with(|e| {
        let mut e = e.borrow_mut();
        if e.is_none() {
            *e = Some(new_engine()?);
        }
        f(e.as_mut().expect("created above"))
    })
}

pub fn sha1_hex(body: &[u8]) -> [u8; 40] {
    let mut out = [0u8; 40];
    crate::digest::write_hex(&crate::digest::sha1(body), &mut out);
    out
}

impl EvalEngine {
    /// luaCreateFunction: compiles `body` unless cached; its SHA1.
    pub fn create(&mut self, body: &[u8]) -> Result<[u8; 40], String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, shebang_len) = shebang::eval_flags(body)?;
        let lua = self.lua;
        if env::load_source(lua, &body[shebang_len..], b"@user_script").is_err() {
            let msg = String::from_utf8_lossy(lua.to_bytes(-1).unwrap_or_default()).into_owned();
            lua.pop(1);
            return Err(format!("Error compiling script (new function): {msg}"));
        }
        let function = lua.registry_ref();
        self.body_bytes += body.len();
        self.scripts.insert(sha, Script { body: body.to_vec(), flags, function });
        Ok(sha)
    }

    /// What EVAL/EVALSHA run for `sha` (lower case), if cached.
    pub fn invocation(&self, sha: &[u8; 40], ro: bool, argv: Vec<Vec<u8>>, keys: Range<usize>, args: Range<usize>) -> Option<Invocation> {
        let s = self.scripts.get(sha)?;
        Some(Invocation {
            lua: self.lua,
            function: s.function,
            handler: self.handler,
            eval_mode: true,
            name: String::from_utf8_lossy(sha).into_owned(),
            flags: s.flags,
            ro,
            argv,
            keys,
            args,
        })
    }

    pub fn memory(&self) -> usize {
        self.lua.memory()
    }
}

/// SCRIPT FLUSH: a new interpreter and an empty cache, as Redis resets the Lua state.
pub fn flush() -> Result<(), String> {
    super::renew(&EVAL, |e| e.lua, new_engine)
}

/// The flags of the script EVAL/EVALSHA would run (None: not cached / not parseable), for the
/// dispatcher's write and OOM checks before the command runs.
pub fn flags_of(body_or_sha: &[u8], is_sha: bool) -> Option<u32> {
    if is_sha {
        if body_or_sha.len() != 40 {
            return None;
        }
        let sha: [u8; 40] = body_or_sha.to_ascii_lowercase().try_into().ok()?;
        return EVAL.with(|e| e.borrow().as_ref()?.scripts.get(&sha).map(|s| s.flags));
    }
    let sha = sha1_hex(body_or_sha);
    if let Some(f) = EVAL.with(|e| e.borrow().as_ref()?.scripts.get(&sha).map(|s| s.flags)) {
        return Some(f);
    }
    shebang::eval_flags(body_or_sha).ok().map(|(f, _)| f)
}

/// used_memory_lua / used_memory_vm_eval, used_memory_scripts_eval, number_of_cached_scripts.
pub fn memory_info() -> (usize, usize, usize) {
    EVAL.with(|e| match e.borrow().as_ref() {
        Some(e) => {
            let n = e.scripts.len();
            // Redis: bodies + SHA keys + one dict entry and script struct per script + buckets.
            let overhead = e.body_bytes + n * (40 + 8 + 24 + 16) + n.next_power_of_two() * 8;
            (e.memory(), if n == 0 { 0 } else { overhead }, n)
        }
        None => (0, 0, 0),
    })
}

/// SCRIPT EXISTS (Redis's cache compares SHAs case-insensitively).
pub fn exists(sha: &[u8]) -> bool {
    let Ok(sha): Result<[u8; 40], _> = sha.to_ascii_lowercase().try_into() else { return false };
    EVAL.with(|e| e.borrow().as_ref().is_some_and(|e| e.scripts.contains_key(&sha)))
}
