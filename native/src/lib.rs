//! keyfork's native side: the keyspace, the data commands, the RDB format and the snapshot
//! child. This file is the module's front door: the functions TypeScript calls (src/native.ts
//! is the other side) and the one piece of global state they share.

pub mod alloc;
pub mod aof;
pub mod batch;
pub mod cluster;
pub mod cmd;
pub mod command;
pub mod crash;
pub mod dict;
pub mod digest;
pub mod glob;
pub mod keyspace;
pub mod lazyfree;
mod libc;
pub mod log_queue;
pub mod long_double;
pub mod napi;
pub mod numfmt;
pub mod os;
pub mod persist;
pub mod pqsort;
pub mod prefetch;
pub mod procctl;
pub mod propagate;
pub mod rdb;
pub mod reply;
pub mod script;
pub mod settings;
pub mod shutdown_signal;
pub mod snapshot;
pub mod sockets;
pub mod syncio;
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
    /// The timeout of the last command that answered WOULD_BLOCK (`blockTimeoutMs`) and the
    /// arguments it resolved (`blockRewrite`).
    block_timeout_ms: i64,
    block_rewrite: Vec<(usize, Vec<u8>)>,
    /// The batch fast path: eligible commands, its framing scratch, and its log of what ran.
    fast: batch::FastTable,
    scratch: Vec<i32>,
    batch_log: Option<napi::SharedI32>,
    /// The propagation status array (the keyspace's propagator writes through its slots).
    prop_status: Option<napi::SharedI32>,
    /// The AOF file being replayed (aofLoadOpen .. aofLoadClose).
    aof_loader: Option<Box<aof::load::Loader>>,
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
        block_rewrite: Vec::new(),
        fast: batch::FastTable::default(),
        scratch: Vec::with_capacity(64),
        batch_log: None,
        prop_status: None,
        aof_loader: None,
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
pub const REPLY_PENDING: i64 = -1;
const WOULD_BLOCK: i64 = -2;
pub(crate) const FLAG_RESP3: i64 = 1;
const FLAG_MAY_BLOCK: i64 = 2;
const FLAG_RETRY: i64 = 4;
/// The client's ACL user may not read every key (src/acl: readsEveryKey).
const FLAG_KEYS_RESTRICTED: i64 = 8;
/// The reply goes to a normal client / a pubsub client: a random-picks reply stops once past
/// that class's output hard limit (cmd::random_picks).
pub(crate) const FLAG_OBUF_NORMAL: i64 = 16;
pub(crate) const FLAG_OBUF_PUBSUB: i64 = 32;

/// Indexes into the shared Int32Array of exec's scalar parameters, which TypeScript fills
/// before each call: passing them as arguments would cost an N-API conversion each.
const P_DB: usize = 0;
const P_ARGC: usize = 1;
const P_OUT_POS: usize = 2;
const P_FLAGS: usize = 3;
const P_CLIENT_ID: usize = 4;
// execBatch's inputs and results (same array).
const P_POS: usize = 5;
const P_MAX_BULK: usize = 6;
const P_MAX_COMMANDS: usize = 7;
const P_WRITES_REFUSED: usize = 8;
const R_CONSUMED: usize = 9;
const R_OUT_POS: usize = 10;
const R_EXECUTED: usize = 11;
const R_PENDING: usize = 12;
/// The end of the batch's input (the Buffer may be a larger static read buffer).
const P_END: usize = 13;
/// Microseconds the batch spent evicting before its commands (not their duration).
const R_EVICT_US: usize = 14;

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
        st.ks.tracking.modifier = client_id;
        let ran = run_command(&mut st.ks, &st.settings, &mut st.reply, &mut st.pending, handler, Call { db, args, flags, client_id }, out, out_pos);
        Ok(match ran {
            Ran::Written(n) => n as i64,
            Ran::Pending => REPLY_PENDING,
            Ran::WouldBlock(timeout_ms, rewrite) => {
                st.block_timeout_ms = timeout_ms;
                st.block_rewrite = rewrite;
                WOULD_BLOCK
            }
        })
    })?;
    Ok(env.int(code))
}

/// setFastCommand(name, index, arity, isWrite, denyOom, blockOption): registers a native command for the batch fast
/// path (TypeScript decides which are eligible: see batch.rs).
fn set_fast_command(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let name = a.string(env, 0)?;
    let index = a.i64(env, 1)? as usize;
    let arity = a.i64(env, 2)? as i32;
    let is_write = a.bool(env, 3)?;
    let deny_oom = a.bool(env, 4)?;
    let block_option = a.bool(env, 5)?;
    // Cluster mode's key positions (first key 0 and below: no keys); -1 for none usable.
    let first = a.i64(env, 6)? as i32;
    let keys = (first >= 0).then_some((first, a.i64(env, 7)? as i32, a.i64(env, 8)? as i32));
    with_state(|st| {
        if index >= st.commands.len() { return Err("no such native command".to_string()); }
        st.fast.add(&name, index, arity, is_write, deny_oom, block_option, keys);
        Ok(())
    })?;
    Ok(env.undefined())
}

/// bindBatchLog(Int32Array): where execBatch logs each command it ran (index, reply position).
fn bind_batch_log(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let log = napi::SharedI32::new(env, a, 0)?;
    with_state(|st| st.batch_log = Some(log));
    Ok(env.undefined())
}

/// execBatch(input): runs the eligible commands of `input` from params[P_POS] on, as many as
/// the output room and the log allow, stopping at the first one TypeScript must handle.
/// Results go to the params array (consumed bytes, output position, commands run, pending).
/// The input is an argument, not bound: it changes with every read, and reading a Buffer
/// argument costs less than pinning one.
fn exec_batch(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let input = a.bytes(env, 0)?;
    with_state(|st| {
        let out = st.output.as_mut().ok_or("exec output is not bound")?.as_mut_slice();
        let p = st.params.as_mut().ok_or("exec parameters are not bound")?;
        let log = st.batch_log.as_mut().ok_or("batch log is not bound")?;
        let db = p.get(P_DB) as usize;
        if db >= st.ks.dbs.len() { return Err("db out of range".to_string()); }
        let limits = batch::BatchLimits {
            db,
            flags: p.get(P_FLAGS) as i64,
            client_id: p.get(P_CLIENT_ID) as u32 as u64,
            max_bulk: p.get(P_MAX_BULK).max(0) as usize,
            max_commands: (p.get(P_MAX_COMMANDS).max(0) as usize).min(log.len() / 2),
            writes_refused: p.get(P_WRITES_REFUSED) != 0,
        };
        let pos = p.get(P_POS).max(0) as usize;
        let end = p.get(P_END).max(0) as usize;
        let out_pos = p.get(P_OUT_POS).max(0) as usize;
        if pos > end || end > input.len() || out_pos > out.len() { return Err("batch positions out of range".to_string()); }
        let input = &input[..end];
        st.ks.tracking.modifier = limits.client_id;
        let mut logged = 0usize;
        let result = batch::run(
            &mut st.fast, &st.commands, &mut st.ks, &st.settings, &mut st.reply, &mut st.pending, &mut st.scratch,
            input, pos, out, out_pos, &limits,
            |index, reply_at| {
                log.set(2 * logged, index as i32);
                log.set(2 * logged + 1, reply_at);
                logged += 1;
            },
        );
        p.set(R_CONSUMED, result.consumed as i32);
        p.set(R_OUT_POS, result.out_pos as i32);
        p.set(R_EXECUTED, logged as i32);
        p.set(R_PENDING, result.pending as i32);
        p.set(R_EVICT_US, result.evict_time.as_micros().min(i32::MAX as u128) as i32);
        Ok(())
    })?;
    Ok(env.undefined())
}

/// sendSocket(fd, buffer, length): writes buffer[0, length) to a client socket without
/// blocking; returns the bytes written (0 when the socket's send buffer is full) or -errno.
/// The reply writer's fast path: no Buffer, no stream request per reply (src/server.ts).
fn send_socket(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let data = a.bytes(env, 1)?;
    let len = (a.i64(env, 2)?.max(0) as usize).min(data.len());
    Ok(match os::send_nonblocking(fd, &data[..len]) {
        Ok(n) => env.int(n as i64),
        Err(e) => env.int(-(e.raw_os_error().unwrap_or(5) as i64)),
    })
}

/// One command to run: where, with what, for whom.
pub struct Call<'a> {
    pub db: usize,
    pub args: Args<'a>,
    pub flags: i64,
    pub client_id: u64,
}

/// How a command's reply was delivered.
pub enum Ran {
    /// Copied into the output at the given position: its length.
    Written(usize),
    /// Too large for the output: kept for `takeReply`.
    Pending,
    /// A blocking command found nothing to serve (nothing was written): its timeout and the
    /// arguments to rewrite before it runs again.
    WouldBlock(i64, Vec<(usize, Vec<u8>)>),
}

/// Runs one data command and delivers its reply (an error reply when the handler fails) into
/// `out` at `out_pos`. Shared by exec (one command) and the batch fast path.
#[allow(clippy::too_many_arguments)]
pub fn run_command(
    ks: &mut Keyspace,
    settings: &Settings,
    reply: &mut Reply,
    pending: &mut Option<Vec<u8>>,
    handler: command::Handler,
    call: Call,
    out: &mut [u8],
    out_pos: usize,
) -> Ran {
    if let Err((timeout_ms, rewrite)) = run_handler(ks, settings, reply, handler, call, now_ms()) {
        return Ran::WouldBlock(timeout_ms, rewrite);
    }
    let n = reply.buf.len();
    if out_pos <= out.len() && n <= out.len() - out_pos {
        out[out_pos..out_pos + n].copy_from_slice(&reply.buf);
        Ran::Written(n)
    } else {
        *pending = Some(std::mem::replace(&mut reply.buf, Vec::with_capacity(64 * 1024)));
        Ran::Pending
    }
}

/// Runs a handler with the clock at `now_ms`, leaving its reply (or its error reply) in
/// `reply`; Err((timeout, arguments to rewrite)) when a blocking command found nothing to serve.
pub fn run_handler(
    ks: &mut Keyspace,
    settings: &Settings,
    reply: &mut Reply,
    handler: command::Handler,
    call: Call,
    now_ms: i64,
) -> Result<(), (i64, Vec<(usize, Vec<u8>)>)> {
    reply.buf.clear();
    reply.resp3 = call.flags & FLAG_RESP3 != 0;
    reply.closing_bytes = cmd::random_picks::closing_bytes(call.flags);
    let mut ctx = Ctx {
        ks,
        db: call.db,
        args: call.args,
        reply,
        now_ms,
        settings,
        may_block: call.flags & FLAG_MAY_BLOCK != 0,
        client_id: call.client_id,
        retrying: call.flags & FLAG_RETRY != 0,
        reads_every_key: call.flags & FLAG_KEYS_RESTRICTED == 0,
    };
    let dirty_before = ctx.ks.dirty;
    let first_event = ctx.ks.event_seq();
    ctx.ks.at_reply(0);
    if ctx.ks.prop.on { ctx.ks.prop.begin_command(); }
    let result = handler(&mut ctx);
    if ctx.ks.prop.on { ctx.ks.prop.command_done(call.db, call.args.iter(), ctx.ks.dirty != dirty_before); }
    // Events notified outside a command (expiry, eviction) come before whatever reply follows.
    ks.at_reply(0);
    match result {
        Ok(()) => Ok(()),
        Err(CmdError::WouldBlock { timeout_ms, rewrite }) => Err((timeout_ms, rewrite)),
        Err(e) => {
            ks.events_before_reply_since(first_event);
            reply.buf.clear();
            reply.error(e.text());
            Ok(())
        }
    }
}

/// Runs native command `index` for a script (redis.call): never blocks, sees the script's
/// frozen clock, leaves the reply in `reply`. What the command propagates of itself goes only
/// to `propagate_to` (redis.set_repl; propagate::TARGET_*).
pub fn run_for_script(index: usize, db: usize, args: Args, reply: &mut Reply, now_ms: i64, client_id: u64, propagate_to: u8) -> Result<(), String> {
    let flags = if reply.resp3 { FLAG_RESP3 } else { 0 };
    with_state(|st| {
        let handler = st.commands.get(index).ok_or("unknown native command")?.1;
        if db >= st.ks.dbs.len() {
            return Err("db out of range".to_string());
        }
        st.ks.prop.own_targets = propagate_to;
        // What a script writes is modified by its own client, not the caller (BCAST's NOLOOP).
        let modifier = std::mem::replace(&mut st.ks.tracking.modifier, 0);
        let first_event = st.ks.event_seq();
        let ran = run_handler(&mut st.ks, &st.settings, reply, handler, Call { db, args, flags, client_id }, now_ms);
        st.ks.tracking.modifier = modifier;
        st.ks.prop.own_targets = propagate::TARGET_ALL;
        // The caller sees none of this call's reply: its events all go before the script's.
        st.ks.events_before_reply_since(first_event);
        if ran.is_err() {
            // Blocking commands never block in scripts; one that asked to anyway answers null.
            reply.buf.clear();
            reply.null();
        }
        Ok(())
    })
}

/// blockTimeoutMs(): the timeout in ms (0: forever) of the command that just answered WOULD_BLOCK.
fn block_timeout_ms(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.double(with_state(|st| st.block_timeout_ms) as f64))
}

/// The first `argc` argument offset pairs bound for exec (copied: the script runner reads
/// them before running anything that could rebind them).
pub fn exec_offsets(argc: usize) -> Result<Vec<i32>, String> {
    with_state(|st| {
        let offsets = st.offsets.as_ref().ok_or("exec parameters are not bound")?.as_slice();
        if argc * 2 > offsets.len() {
            return Err("argc exceeds offsets".to_string());
        }
        Ok(offsets[..argc * 2].to_vec())
    })
}

/// A reply too large for the caller's output Buffer, for `takeReply`.
pub fn set_pending(reply: Vec<u8>) {
    with_state(|st| st.pending = Some(reply));
}

/// blockRewrite(): [index, Buffer, ...], the arguments the command that just answered
/// WOULD_BLOCK resolved (empty for most commands).
fn block_rewrite(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let rewrite = with_state(|st| std::mem::take(&mut st.block_rewrite));
    let mut values = Vec::with_capacity(rewrite.len() * 2);
    for (index, bytes) in &rewrite {
        values.push(env.int(*index as i64));
        values.push(env.buffer(bytes));
    }
    env.array(&values)
}

fn take_reply(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let pending = with_state(|st| st.pending.take()).ok_or("no pending reply")?;
    Ok(env.buffer(&pending))
}

fn init(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let databases = a.i64(env, 0)?;
    if !(1..=1_000_000).contains(&databases) { return Err("databases out of range".into()); }
    alloc::use_huge_pages();
    with_state(|st| {
        // The propagation state (its subscription and TypeScript's status array) outlives a reset.
        let prop = std::mem::take(&mut st.ks.prop);
        let tracking = std::mem::take(&mut st.ks.tracking);
        st.ks = Keyspace::new(databases as usize);
        st.ks.prop = prop;
        st.sync_settings();
        st.ks.tracking = tracking;
    });
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
    Ok(env.boolean(with_state(|st| {
        let known = st.settings.set(&name, value);
        st.sync_settings();
        known
    })))
}

// ---- propagation (propagate.rs; src/propagate.ts is the other side) ----

/// Where takePropagated writes each segment: (target, first db, last db, end offset) from here.
const PROP_SEGMENTS_AT: usize = 4;

/// bindPropagation(status: Int32Array): slots 0 and 1 always hold the bytes and segments
/// waiting; takePropagated describes the segments from slot 4 on.
fn bind_propagation(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let status = napi::SharedI32::new(env, a, 0)?;
    with_state(|st| {
        st.ks.prop.bind_status(status.slots());
        st.prop_status = Some(status);
    });
    Ok(env.undefined())
}

/// setPropagation(targets): the targets consumers subscribed to (1 the AOF, 2 replicas; 0 none).
fn set_propagation(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let targets = a.i64(env, 0)?;
    if !(0..=3).contains(&targets) { return Err("setPropagation: bad targets".into()); }
    with_state(|st| st.ks.prop.set_targets(targets as u8));
    Ok(env.undefined())
}

/// takePropagated(into: Buffer): copies the waiting stream into `into` (TypeScript sized it
/// from the status slots), describes its segments in the bound status array and returns the
/// byte count.
fn take_propagated(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let into = a.bytes_mut(env, 0)?;
    let n = with_state(|st| st.ks.prop.drain(into, PROP_SEGMENTS_AT))?;
    Ok(env.int(n as i64))
}

/// propagateCommand(db, target, argv: Buffer[]): alsoPropagate from TypeScript (a write it ran,
/// EXEC's and scripts' own commands); at top level the command is its own execution unit.
fn propagate_command(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let db = a.i64(env, 0)?;
    let target = a.i64(env, 1)?;
    let argv = a.buffers(env, 2)?;
    if argv.is_empty() || !(1..=3).contains(&target) { return Err("propagateCommand: empty argv or bad target".into()); }
    with_state(|st| {
        if db < 0 || db as usize >= st.ks.dbs.len() { return Err("db out of range".to_string()); }
        st.ks.prop.also(db as usize, target as u8, &argv);
        st.ks.prop.end_unit();
        Ok(())
    })?;
    Ok(env.undefined())
}

/// propagationEnter() / propagationLeave(): an execution unit TypeScript runs (EXEC, a script);
/// what it propagates is wrapped in MULTI/EXEC when it is more than one command.
fn propagation_enter(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    with_state(|st| st.ks.prop.enter());
    Ok(env.undefined())
}

fn propagation_leave(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    with_state(|st| st.ks.prop.leave());
    Ok(env.undefined())
}

/// setSettingString(name, value): a setting given by name (maxmemory-policy).
fn set_setting_string(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let name = a.string(env, 0)?;
    let value = a.string(env, 1)?;
    Ok(env.boolean(with_state(|st| {
        let known = st.settings.set_str(&name, &value);
        st.sync_settings();
        known
    })))
}

impl State {
    /// Hands the keyspace the settings it applies on every access.
    fn sync_settings(&mut self) {
        let s = &self.settings;
        self.ks.access = keyspace::AccessClock { lfu: s.maxmemory_policy.is_lfu(), lfu_log_factor: s.lfu_log_factor, lfu_decay_time: s.lfu_decay_time };
        self.ks.lazy = keyspace::LazyFree {
            user_del: s.lazyfree_lazy_user_del,
            user_flush: s.lazyfree_lazy_user_flush,
            server_del: s.lazyfree_lazy_server_del,
            expire: s.lazyfree_lazy_expire,
        };
    }
}

fn dirty(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.double(with_state(|st| st.ks.dirty) as f64))
}

/// emptyData (DEBUG RELOAD, DEBUG LOADAOF): every database emptied before a reload, counting
/// no change and propagating nothing (a FLUSHALL in the AOF would empty it again on replay).
fn empty_data(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    with_state(|st| st.ks.flush_all(false));
    Ok(env.undefined())
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

/// Per database: its keyspace table's buckets, both arrays while rehashing (Redis's dictSlots,
/// which serverCron's verbose "DB n: ... in z slots HT." line shows).
fn keyspace_slots(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let rows: Vec<f64> = with_state(|st| st.ks.dbs.iter().map(|d| d.dict.bucket_positions() as f64).collect());
    let values: Vec<JsValue> = rows.iter().map(|v| env.double(*v)).collect();
    env.array(&values)
}

/// [expired_keys, expired_stale_perc, expired_time_cap_reached_count, keyspace_hits, keyspace_misses,
/// slave_expires_tracked_keys]
fn keyspace_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let s = with_state(|st| {
        let s = &st.ks.stats;
        [s.expired_keys as f64, s.expired_stale_perc, s.expired_time_cap_reached_count as f64, s.keyspace_hits as f64, s.keyspace_misses as f64, st.ks.replica_ttls.len() as f64]
    });
    let values: Vec<JsValue> = s.iter().map(|v| env.double(*v)).collect();
    env.array(&values)
}

fn reset_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    with_state(|st| {
        st.ks.stats = Default::default();
        st.ks.evict.reset_stats();
        lazyfree::reset_stats();
    });
    Ok(env.undefined())
}

fn active_expire_cycle(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let budget_us = a.i64(env, 0)?.max(0) as u64;
    let effort = a.i64(env, 1)?.clamp(0, 9) as usize;
    let n = with_state(|st| st.ks.active_expire_cycle(now_ms(), budget_us, effort));
    Ok(env.int(n as i64))
}

/// rehashKeyspace(budgetMicros): the cron's active rehashing (activerehashing yes); true when
/// a keyspace table was rehashed (see keyspace/rehash.rs).
fn rehash_keyspace(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let budget = std::time::Duration::from_micros(a.i64(env, 0)?.max(0) as u64);
    Ok(env.boolean(with_state(|st| st.ks.incrementally_rehash(budget))))
}

fn set_active_expire(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| st.ks.active_expire_enabled = on);
    Ok(env.undefined())
}

/// setExpirePaused(on): CLIENT PAUSE holds expiry (keys hidden, not deleted) while it lasts.
fn set_expire_paused(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| st.ks.expire_paused = on);
    Ok(env.undefined())
}

/// setExpiry(mode): 0 a master deletes expired keys, 1 a replica's clients see them as absent
/// while they stay, 2 the replica applies its master's stream (see keyspace::Expiry).
fn set_expiry(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let mode = match a.i64(env, 0)? {
        0 => keyspace::Expiry::Delete,
        1 => keyspace::Expiry::Logical,
        2 => keyspace::Expiry::Ignore,
        _ => return Err("unknown expiry mode".into()),
    };
    with_state(|st| st.ks.expiry = mode);
    Ok(env.undefined())
}

fn set_track_modified(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| {
        st.ks.track_modified = on;
        if !on {
            st.ks.modified.clear();
            st.ks.ready_only.clear();
            st.ks.modified_all_dbs.clear();
        }
    });
    Ok(env.undefined())
}

/// The keys modified since the last call: [db, key, db, key, ...]; a whole flushed/swapped
/// database appears as [db, null]; a key only blocked clients should look at again (not its
/// watchers) as [-1 - db, key].
fn take_modified(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (keys, ready, all) = with_state(|st| {
        (std::mem::take(&mut st.ks.modified), std::mem::take(&mut st.ks.ready_only), std::mem::take(&mut st.ks.modified_all_dbs))
    });
    let mut values = Vec::with_capacity(keys.len() * 2 + ready.len() * 2 + all.len() * 2);
    for (db, key) in &keys {
        values.push(env.int(*db as i64));
        values.push(env.buffer(key));
    }
    for (db, key) in &ready {
        values.push(env.int(-1 - *db as i64));
        values.push(env.buffer(key));
    }
    for db in &all {
        values.push(env.int(*db as i64));
        values.push(env.null());
    }
    env.array(&values)
}

/// setNotifyMask(classes): the keyspace-event classes handlers record (0: none; see
/// keyspace/notify.rs).
fn set_notify_mask(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let mask = a.i64(env, 0)? as u32;
    with_state(|st| st.ks.set_notify_mask(mask));
    Ok(env.undefined())
}

/// takeKeyspaceEvents(): the events recorded since the last call, [sequence number of the
/// first, event, db, key, reply bytes before it, ...] in the order they happened, or null when
/// there are none.
fn take_keyspace_events(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (first, events) = with_state(|st| st.ks.take_events());
    if events.is_empty() { return Ok(env.null()); }
    let mut values = Vec::with_capacity(1 + events.len() * 4);
    values.push(env.double(first as f64));
    for e in &events {
        values.push(env.string(e.event));
        values.push(env.int(e.db as i64));
        values.push(env.buffer(&e.key));
        values.push(env.int(e.reply_at as i64));
    }
    env.array(&values)
}

/// heapUsage(): [C heap bytes in use, free bytes held in the allocator's arenas, of the bytes
/// in use those the addon holds].
fn heap_usage(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (used, free, top) = alloc::heap_usage();
    let addon = alloc::allocated();
    let kept_at_top = top.min(alloc::heap_top_pad() as u64);
    env.array(&[env.double(used as f64), env.double(free as f64), env.double(addon as f64), env.double(kept_at_top as f64)])
}

/// setMemoryOutside(bytes, notCounted): memory in use outside the addon's allocator (Node's
/// heaps and buffers), and how much of everything does not count against maxmemory.
fn set_memory_outside(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let outside = a.f64(env, 0)?.max(0.0) as usize;
    let not_counted = a.f64(env, 1)?.max(0.0) as usize;
    with_state(|st| {
        st.ks.evict.outside_bytes = outside;
        st.ks.evict.not_counted_bytes = not_counted;
    });
    Ok(env.undefined())
}

/// performEvictions(): 0 under the limit, 1 still evicting (out of time for now), 2 over the
/// limit with nothing to evict (see keyspace/evict.rs).
fn perform_evictions(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let r = with_state(|st| st.ks.perform_evictions(&st.settings, now_ms()));
    Ok(env.int(r as i64))
}

/// keyspaceOverhead(): per non-empty database [db, keys, bytes of its table: buckets, nodes
/// and keys held outside their nodes] (MEMORY STATS' overhead.hashtable.main).
fn keyspace_overhead(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let rows: Vec<f64> = with_state(|st| {
        let mut rows = Vec::new();
        for (i, d) in st.ks.dbs.iter().enumerate() {
            if d.dict.is_empty() { continue; }
            rows.extend([i as f64, d.dict.len() as f64, d.dict.memory_usage(64, |_| 0) as f64]);
        }
        rows
    });
    let values: Vec<JsValue> = rows.iter().map(|v| env.double(*v)).collect();
    env.array(&values)
}

/// lazyfreeStats(): [lazyfree_pending_objects, lazyfreed_objects].
fn lazyfree_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    env.array(&[env.double(lazyfree::pending() as f64), env.double(lazyfree::freed() as f64)])
}

/// takeLatency(): the longest eviction-cycle, eviction-del, eviction-lazyfree and expire-del
/// in ms since the last call (the latency monitor's events of those names).
fn take_latency(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let p = with_state(|st| st.ks.latency.take());
    let ms = [p.eviction_cycle_ms, p.eviction_del_ms, p.eviction_lazyfree_ms, p.expire_del_ms];
    let values: Vec<JsValue> = ms.iter().map(|v| env.double(*v as f64)).collect();
    env.array(&values)
}

/// evictionStats(): [used_memory, evicted_keys, total_eviction_exceeded_time us,
/// current_eviction_exceeded_time us, still evicting (0/1)].
fn eviction_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let v = with_state(|st| {
        let e = &st.ks.evict;
        [e.used_memory() as f64, e.evicted_keys as f64, e.total_exceeded_us as f64, e.current_exceeded_us() as f64, e.running as u8 as f64]
    });
    let values: Vec<JsValue> = v.iter().map(|x| env.double(*x)).collect();
    env.array(&values)
}

/// trimMemory(): hands free heap pages back to the kernel; true when some were released.
fn trim_memory(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let released = os::trim_heap(alloc::heap_top_pad());
    alloc::forget_heap_walk();
    alloc::keep_heap_advised();
    Ok(env.boolean(released))
}

/// keepHeapAdvised(): the keyspace heap's huge page advice covers it up to the program break
/// (once a second: growth the addon's allocator did not see).
fn keep_heap_advised(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    alloc::keep_heap_advised();
    Ok(env.undefined())
}

/// watchKey(client, db, key): WATCH of one key (remembers whether it is already expired).
fn watch_key(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let client = a.i64(env, 0)? as u64;
    let db = a.i64(env, 1)? as usize;
    let key = a.bytes(env, 2)?;
    let now = now_ms();
    with_state(|st| {
        let expired = st.ks.key_is_expired(db, key, now);
        st.ks.watches.watch(client, db as u32, key, expired);
    });
    Ok(env.undefined())
}

/// unwatchAll(client, clearDirty): forgets the client's watched keys; with clearDirty (UNWATCH,
/// EXEC, DISCARD, RESET, a closed client) also its failed-transaction flag.
fn unwatch_all(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let client = a.i64(env, 0)? as u64;
    let clear = a.bool(env, 1)?;
    with_state(|st| if clear { st.ks.watches.reset(client) } else { st.ks.watches.unwatch_all(client) });
    Ok(env.undefined())
}

/// watchState(client): 0 clean, 1 dirty (a watched key was touched: CLIENT LIST's `d` flag),
/// 2 clean but a key that was live when watched has expired since (EXEC fails too).
fn watch_state(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let client = a.i64(env, 0)? as u64;
    let now = now_ms();
    let state = with_state(|st| {
        if st.ks.watches.is_dirty(client) { return 1; }
        let expired = st.ks.watches.live_at_watch(client).iter().any(|(db, key)| st.ks.key_is_expired(*db as usize, key, now));
        if expired { 2 } else { 0 }
    });
    Ok(env.int(state))
}

// ---- client-side caching (keyspace/tracking.rs; src/tracking.ts is the other side) ----

/// trackingRemember(client, keys: Buffer[]): the client read these keys and may cache them.
fn tracking_remember(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let client = a.f64(env, 0)? as u64;
    let keys = a.buffers(env, 1)?;
    with_state(|st| for key in &keys { st.ks.tracking.remember(client, key) });
    Ok(env.undefined())
}

/// trackingSetActive(on): whether some client tracks (invalidations are queued only then).
fn tracking_set_active(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let on = a.bool(env, 0)?;
    with_state(|st| st.ks.tracking.set_active(on));
    Ok(env.undefined())
}

/// trackingSetPrefixes(prefixes: Buffer[]): every prefix BCAST clients follow.
fn tracking_set_prefixes(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let prefixes: Vec<Box<[u8]>> = a.buffers(env, 0)?.iter().map(|p| Box::from(*p)).collect();
    with_state(|st| st.ks.tracking.set_prefixes(prefixes));
    Ok(env.undefined())
}

/// trackingLimit(maxKeys): tracking-table-max-keys, enforced now (trackingLimitUsedSlots).
fn tracking_limit(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let max_keys = a.f64(env, 0)?.max(0.0) as usize;
    with_state(|st| {
        let seq = st.ks.event_seq();
        st.ks.tracking.limit_keys(max_keys, seq)
    });
    Ok(env.undefined())
}

/// trackingTake(): null when nothing happened, else [invalidations, broadcast]: invalidations
/// flattened as key, event sequence number, id count, ids... (a flush as a null key and its
/// sequence number); broadcast as key, modifier pairs.
fn tracking_take(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (queue, broadcast) = with_state(|st| (st.ks.tracking.take_queue(), st.ks.tracking.take_broadcast()));
    if queue.is_empty() && broadcast.is_empty() { return Ok(env.null()); }
    let mut flat = Vec::with_capacity(queue.len() * 4);
    for entry in &queue {
        match &entry.what {
            keyspace::tracking::Invalidated::Key(key, ids) => {
                flat.push(env.buffer(key));
                flat.push(env.double(entry.seq as f64));
                flat.push(env.int(ids.len() as i64));
                for id in ids { flat.push(env.double(*id as f64)); }
            }
            keyspace::tracking::Invalidated::Flush => {
                flat.push(env.null());
                flat.push(env.double(entry.seq as f64));
            }
        }
    }
    let mut bcast = Vec::with_capacity(broadcast.len() * 2);
    for (key, modifier) in &broadcast {
        bcast.push(env.buffer(key));
        bcast.push(env.double(*modifier as f64));
    }
    let flat = env.array(&flat)?;
    let bcast = env.array(&bcast)?;
    env.array(&[flat, bcast])
}

/// trackingStats(): [keys in the table, client ids stored in it].
fn tracking_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let (keys, items) = with_state(|st| (st.ks.tracking.total_keys(), st.ks.tracking.total_items()));
    env.array(&[env.double(keys as f64), env.double(items as f64)])
}

/// setListPackedThreshold(bytes): DEBUG QUICKLIST-PACKED-THRESHOLD; false when out of range.
fn set_list_packed_threshold(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let bytes = a.i64(env, 0)?;
    let ok = bytes >= 0 && types::list::set_packed_threshold(bytes as u64);
    Ok(env.boolean(ok))
}

/// setTcpKeepalive(fd, seconds): `tcp-keepalive` on an accepted socket, as Redis sets it.
fn set_tcp_keepalive(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let interval = a.i64(env, 1)? as i32;
    os::set_tcp_keepalive(fd, interval).map_err(|e| e.to_string())?;
    Ok(env.undefined())
}

/// setTcpNoDelay(fd, on): TCP_NODELAY (repl-disable-tcp-nodelay turns it off for a replica).
fn set_tcp_no_delay(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    os::set_tcp_no_delay(fd, a.bool(env, 1)?).map_err(|e| e.to_string())?;
    Ok(env.undefined())
}

/// Node calls this when it loads the addon. A panic here must not unwind into Node either.
#[no_mangle]
pub extern "C" fn napi_register_module_v1(env: napi::sys::napi_env, exports: JsValue) -> JsValue {
    let env = Env::from_raw(env);
    let exported: &[(&str, napi::NativeFn)] = &[
        ("init", init),
        ("sendSocket", send_socket),
        ("commandNames", command_names),
        ("exec", exec),
        ("bindExecParams", bind_exec_params),
        ("bindExecInput", bind_exec_input),
        ("bindExecOutput", bind_exec_output),
        ("setFastCommand", set_fast_command),
        ("bindBatchLog", bind_batch_log),
        ("execBatch", exec_batch),
        ("takeReply", take_reply),
        ("blockTimeoutMs", block_timeout_ms),
        ("blockRewrite", block_rewrite),
        ("setSetting", set_setting),
        ("bindPropagation", bind_propagation),
        ("setPropagation", set_propagation),
        ("takePropagated", take_propagated),
        ("propagateCommand", propagate_command),
        ("propagationEnter", propagation_enter),
        ("propagationLeave", propagation_leave),
        ("setSettingString", set_setting_string),
        ("dirty", dirty),
        ("subtractDirty", subtract_dirty),
        ("emptyData", empty_data),
        ("keyspaceInfo", keyspace_info),
        ("keyspaceSlots", keyspace_slots),
        ("keyspaceStats", keyspace_stats),
        ("resetStats", reset_stats),
        ("activeExpireCycle", active_expire_cycle),
        ("setActiveExpire", set_active_expire),
        ("rehashKeyspace", rehash_keyspace),
        ("setExpirePaused", set_expire_paused),
        ("setTrackModified", set_track_modified),
        ("setExpiry", set_expiry),
        ("takeModified", take_modified),
        ("watchKey", watch_key),
        ("unwatchAll", unwatch_all),
        ("watchState", watch_state),
        ("setNotifyMask", set_notify_mask),
        ("takeKeyspaceEvents", take_keyspace_events),
        ("trimMemory", trim_memory),
        ("keepHeapAdvised", keep_heap_advised),
        ("heapUsage", heap_usage),
        ("setTcpKeepalive", set_tcp_keepalive),
        ("setTcpNoDelay", set_tcp_no_delay),
        ("setListPackedThreshold", set_list_packed_threshold),
        ("setMemoryOutside", set_memory_outside),
        ("performEvictions", perform_evictions),
        ("evictionStats", eviction_stats),
        ("keyspaceOverhead", keyspace_overhead),
        ("takeLatency", take_latency),
        ("lazyfreeStats", lazyfree_stats),
        ("trackingRemember", tracking_remember),
        ("trackingSetActive", tracking_set_active),
        ("trackingSetPrefixes", tracking_set_prefixes),
        ("trackingLimit", tracking_limit),
        ("trackingTake", tracking_take),
        ("trackingStats", tracking_stats),
    ];
    let registered = std::panic::catch_unwind(|| -> Result<(), String> {
        for (name, f) in exported {
            env.export(exports, name, *f)?;
        }
        snapshot::register(&env, exports)?;
        script::exports::register(&env, exports)?;
        aof::register(&env, exports)?;
        sockets::register(&env, exports)?;
        procctl::register(&env, exports)?;
        cluster::register(&env, exports)?;
        crash::register(&env, exports)?;
        shutdown_signal::register(&env, exports)?;
        log_queue::register(&env, exports)?;
        cmd::migrate::register(&env, exports)?;
        cmd::random_picks::register(&env, exports)?;
        persist::register(&env, exports)
    });
    match registered {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => env.throw_error(&format!("keyfork: registering native functions failed: {msg}")),
        Err(_) => env.throw_error("keyfork: registering native functions panicked"),
    }
    exports
}
