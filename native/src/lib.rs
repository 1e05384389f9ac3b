//! keyfork's native side: the keyspace, the data commands, the RDB format and the snapshot
//! child. This file is the module's front door: the functions TypeScript calls (src/native.ts
//! is the other side) and the one piece of global state they share.

pub mod cmd;
pub mod command;
pub mod dict;
pub mod digest;
pub mod glob;
pub mod keyspace;
pub mod napi;
pub mod numfmt;
pub mod os;
pub mod persist;
pub mod rdb;
pub mod reply;
pub mod settings;
pub mod snapshot;
pub mod types;

use command::{Args, CmdError, CommandRow, Ctx};
use keyspace::Keyspace;
use napi::{Env, JsArgs, JsValue};
use reply::Reply;
use settings::Settings;
use std::cell::RefCell;

pub struct State {
    pub ks: Keyspace,
    pub settings: Settings,
    reply: Reply,
    commands: Vec<CommandRow>,
    /// A reply too large for the caller's output Buffer, handed over by `takeReply`.
    pending: Option<Vec<u8>>,
    /// exec's scalar parameters and argument offsets, shared with TypeScript (see `bindExecParams`).
    params: Option<napi::SharedI32>,
    offsets: Option<napi::SharedI32>,
    /// exec's request bytes and reply Buffer (see `bindExecInput` / `bindExecOutput`).
    input: Option<napi::SharedBuf>,
    output: Option<napi::SharedBuf>,
    /// The timeout of the last command that answered WOULD_BLOCK (`blockTimeoutMs`).
    block_timeout_ms: i64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State {
        ks: Keyspace::new(16),
        settings: Settings::default(),
        reply: Reply::new(),
        commands: cmd::all(),
        pending: None,
        params: None,
        offsets: None,
        input: None,
        output: None,
        block_timeout_ms: 0,
    });
}

/// Runs `f` with the global state. Only the JS main thread (and a forked child, which is a
/// copy of it) ever calls this, so the RefCell is never contended.
pub fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// exec's return codes besides a byte count.
const REPLY_PENDING: i64 = -1;
const WOULD_BLOCK: i64 = -2;
const FLAG_RESP3: i64 = 1;
const FLAG_MAY_BLOCK: i64 = 2;
const FLAG_RETRY: i64 = 4;

/// Indexes into the shared Int32Array of exec's scalar parameters, which TypeScript fills
/// before each call: passing them as arguments would cost an N-API conversion each.
const P_DB: usize = 0;
const P_ARGC: usize = 1;
const P_OUT_POS: usize = 2;
const P_FLAGS: usize = 3;
const P_CLIENT_ID: usize = 4;

/// bindExecParams(params: Int32Array, offsets: Int32Array): the arrays exec reads its scalar
/// parameters and its arguments' [start, end) offsets from (offsets is bound again when it grows).
fn bind_exec_params(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let params = napi::SharedI32::new(env, a, 0)?;
    let offsets = napi::SharedI32::new(env, a, 1)?;
    with_state(|st| {
        st.params = Some(params);
        st.offsets = Some(offsets);
    });
    Ok(env.undefined())
}

/// bindExecInput(Buffer): the request bytes the following exec calls read their arguments from.
fn bind_exec_input(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let input = napi::SharedBuf::new(env, a, 0)?;
    with_state(|st| st.input = Some(input));
    Ok(env.undefined())
}

/// bindExecOutput(Buffer): the Buffer the following exec calls write their replies into.
fn bind_exec_output(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let output = napi::SharedBuf::new(env, a, 0)?;
    with_state(|st| st.output = Some(output));
    Ok(env.undefined())
}

/// exec(cmd): runs data command number `cmd` (an index into commandNames()) on arguments given
/// as [start,end) pairs into the bound input, writes the RESP reply into the bound output and
/// returns its length; REPLY_PENDING when it did not fit (then `takeReply`), WOULD_BLOCK when a
/// blocking command must wait. Only `cmd` crosses as an argument: db, argc, the output position,
/// flags, the client id and the offsets come from the arrays bound by bindExecParams, and the
/// Buffers from bindExecInput/bindExecOutput (N-API conversions cost more than the data work).
fn exec(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let cmd = a.i64(env, 0)? as usize;
    let code = with_state(|st| {
        let input = st.input.as_ref().ok_or("exec input is not bound")?.as_slice();
        let out = st.output.as_mut().ok_or("exec output is not bound")?.as_mut_slice();
        let p = st.params.as_ref().ok_or("exec parameters are not bound")?;
        let (db, argc, out_pos, flags, client_id) =
            (p.get(P_DB) as usize, p.get(P_ARGC) as usize, p.get(P_OUT_POS) as usize, p.get(P_FLAGS) as i64, p.get(P_CLIENT_ID) as u32 as u64);
        let offsets = st.offsets.as_ref().ok_or("exec parameters are not bound")?.as_slice();
        if argc * 2 > offsets.len() { return Err("argc exceeds offsets".to_string()); }
        let args = Args::new(input, &offsets[..argc * 2])?;
        let handler = st.commands.get(cmd).ok_or("unknown native command")?.1;
        if db >= st.ks.dbs.len() { return Err("db out of range".to_string()); }
        st.reply.buf.clear();
        st.reply.resp3 = flags & FLAG_RESP3 != 0;
        let mut ctx = Ctx {
            ks: &mut st.ks,
            db,
            args,
            reply: &mut st.reply,
            now_ms: now_ms(),
            settings: &st.settings,
            may_block: flags & FLAG_MAY_BLOCK != 0,
            client_id,
            retrying: flags & FLAG_RETRY != 0,
        };
        match handler(&mut ctx) {
            Ok(()) => {}
            Err(CmdError::WouldBlock { timeout_ms }) => {
                st.block_timeout_ms = timeout_ms;
                return Ok(WOULD_BLOCK);
            }
            Err(e) => {
                st.reply.buf.clear();
                st.reply.error(e.text());
            }
        }
        let n = st.reply.buf.len();
        if out_pos <= out.len() && n <= out.len() - out_pos {
            out[out_pos..out_pos + n].copy_from_slice(&st.reply.buf);
            Ok(n as i64)
        } else {
            st.pending = Some(std::mem::take(&mut st.reply.buf));
            st.reply.buf = Vec::with_capacity(64 * 1024);
            Ok(REPLY_PENDING)
        }
    })?;
    Ok(env.int(code))
}

/// blockTimeoutMs(): the timeout in ms (0: forever) of the command that just answered WOULD_BLOCK.
fn block_timeout_ms(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.double(with_state(|st| st.block_timeout_ms) as f64))
}

fn take_reply(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let pending = with_state(|st| st.pending.take()).ok_or("no pending reply")?;
    Ok(env.buffer(&pending))
}

fn init(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let databases = a.i64(env, 0)?;
    if !(1..=1_000_000).contains(&databases) { return Err("databases out of range".into()); }
    with_state(|st| st.ks = Keyspace::new(databases as usize));
    Ok(env.undefined())
}

fn command_names(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let names: Vec<&'static str> = with_state(|st| st.commands.iter().map(|r| r.0).collect());
    let values: Vec<JsValue> = names.iter().map(|n| env.string(n)).collect();
    env.array(&values)
}

fn set_setting(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let name = a.string(env, 0)?;
    let value = a.i64(env, 1)?;
    Ok(env.boolean(with_state(|st| st.settings.set(&name, value))))
}

fn dirty(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.double(with_state(|st| st.ks.dirty) as f64))
}

/// After a successful save: forget the changes the save covered (those made before its fork).
fn subtract_dirty(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let n = a.f64(env, 0)? as u64;
    with_state(|st| st.ks.dirty = st.ks.dirty.saturating_sub(n));
    Ok(env.undefined())
}

/// Per database: [keys, expires, avg_ttl] flattened.
fn keyspace_info(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let rows: Vec<f64> = with_state(|st| {
        st.ks.dbs.iter().flat_map(|d| [d.dict.len() as f64, d.expires as f64, d.avg_ttl as f64]).collect()
    });
    let values: Vec<JsValue> = rows.iter().map(|v| env.double(*v)).collect();
    env.array(&values)
}

/// [expired_keys, expired_stale_perc, expired_time_cap_reached_count, keyspace_hits, keyspace_misses]
fn keyspace_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let s = with_state(|st| {
        let s = &st.ks.stats;
        [s.expired_keys as f64, s.expired_stale_perc, s.expired_time_cap_reached_count as f64, s.keyspace_hits as f64, s.keyspace_misses as f64]
    });
    let values: Vec<JsValue> = s.iter().map(|v| env.double(*v)).collect();
    env.array(&values)
}

fn reset_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    with_state(|st| st.ks.stats = Default::default());
    Ok(env.undefined())
}

fn active_expire_cycle(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let budget_us = a.i64(env, 0)?.max(0) as u64;
    let n = with_state(|st| st.ks.active_expire_cycle(now_ms(), budget_us));
    Ok(env.int(n as i64))
}

fn set_active_expire(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| st.ks.active_expire_enabled = on);
    Ok(env.undefined())
}

fn set_track_modified(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| {
        st.ks.track_modified = on;
        if !on {
            st.ks.modified.clear();
            st.ks.modified_all_dbs.clear();
        }
    });
    Ok(env.undefined())
}

/// The keys modified since the last call: [db, key, db, key, ...]; a whole flushed/swapped
/// database appears as [db, null].
fn take_modified(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (keys, all) = with_state(|st| (std::mem::take(&mut st.ks.modified), std::mem::take(&mut st.ks.modified_all_dbs)));
    let mut values = Vec::with_capacity(keys.len() * 2 + all.len() * 2);
    for (db, key) in &keys {
        values.push(env.int(*db as i64));
        values.push(env.buffer(key));
    }
    for db in &all {
        values.push(env.int(*db as i64));
        values.push(env.null());
    }
    env.array(&values)
}

/// keyExpired(db, key): the key is still stored but its time has passed (WATCH's check).
fn key_expired(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let db = a.i64(env, 0)? as usize;
    let key = a.bytes(env, 1)?;
    let now = now_ms();
    let expired = with_state(|st| {
        st.ks.dbs.get(db).and_then(|d| d.dict.get(key)).map_or(false, |e| e.expire_at != keyspace::NO_EXPIRE && e.expire_at <= now)
    });
    Ok(env.boolean(expired))
}

/// Node calls this when it loads the addon. A panic here must not unwind into Node either.
#[no_mangle]
pub extern "C" fn napi_register_module_v1(env: napi::sys::napi_env, exports: JsValue) -> JsValue {
    let env = Env::from_raw(env);
    let exported: &[(&str, napi::NativeFn)] = &[
        ("init", init),
        ("commandNames", command_names),
        ("exec", exec),
        ("bindExecParams", bind_exec_params),
        ("bindExecInput", bind_exec_input),
        ("bindExecOutput", bind_exec_output),
        ("takeReply", take_reply),
        ("blockTimeoutMs", block_timeout_ms),
        ("setSetting", set_setting),
        ("dirty", dirty),
        ("subtractDirty", subtract_dirty),
        ("keyspaceInfo", keyspace_info),
        ("keyspaceStats", keyspace_stats),
        ("resetStats", reset_stats),
        ("activeExpireCycle", active_expire_cycle),
        ("setActiveExpire", set_active_expire),
        ("setTrackModified", set_track_modified),
        ("takeModified", take_modified),
        ("keyExpired", key_expired),
    ];
    let registered = std::panic::catch_unwind(|| -> Result<(), String> {
        for (name, f) in exported {
            env.export(exports, name, *f)?;
        }
        snapshot::register(&env, exports)?;
        persist::register(&env, exports)
    });
    match registered {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => env.throw_error(&format!("keyfork: registering native functions failed: {msg}")),
        Err(_) => env.throw_error("keyfork: registering native functions panicked"),
    }
    exports
}
