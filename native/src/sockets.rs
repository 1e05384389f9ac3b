//! Client sockets owned by the addon on Node's own event loop (issue 14, the socket path).
//!
//! The TCP listeners are watched here too (`sockListen`, on a duplicate of the socket Node
//! bound): each connection is accepted here (accept4, TCP_NODELAY as Redis sets it) and handed
//! to TypeScript's accept function once, which counts it, applies maxclients and protected
//! mode and adopts it as a client. A TCP client is handed over here (`sockAdopt`): the addon holds its own
//! descriptor and watches it with libuv's uv_poll on Node's loop (napi/uv.rs). On a readable
//! socket one read lands in the shared read buffer; while the fast-path gate is open for the
//! client (TypeScript decides it: `sockGate` for the server, the mode each JS entry returns for
//! the client) the plain data commands at the head of the chunk are framed, run and answered
//! here by the batch fast path (batch.rs), and the replies are written with send(2). JavaScript
//! is entered once per chunk, and only when something is left that TypeScript must answer (or
//! output is queued, so that it can apply client-output-buffer-limit): it gets the unconsumed
//! bytes at the start of the read buffer, exactly as a node:net read would have left them.
//!
//! Every byte for the client, whoever wrote it, goes through the one per-client output queue
//! here (`sockSend` is Server.send's socket write), so reply order holds; what the socket does
//! not take at once waits and is written when the loop reports it writable. The replies of
//! what ran here are queued and written once the loop has dispatched the whole batch of events
//! it woke up for (napi/uv.rs `flush_after_batch`), as Redis writes replies before it sleeps:
//! the load generator then finds many clients' replies per wake-up, not one.
//!
//! Counters of what ran here (commands by native index, error replies, bytes, reads) are kept
//! until TypeScript takes them (`sockStats`) for INFO, and each client's last command and
//! activity time until it asks (`sockActivity`) or is entered.

use crate::batch;
use crate::napi::uv::{call_accept_function, call_socket_function, flush_after_batch, socket_loop_init, SocketWatch};
use crate::napi::{self, Env, JsArgs, JsValue};
use crate::os::{self, Received};
use crate::{now_ms, with_state};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

/// The mode a JS entry returns for a client every read of which goes to TypeScript.
const MODE_TYPESCRIPT: i64 = -1;
/// An unfinished request kept between reads up to this size; a longer one goes to TypeScript,
/// which reads big arguments into their own Buffers.
const KEEP_UNFINISHED_MAX: usize = 16 * 1024;
/// The native replies of one batch run (batch.rs stops while less than its MIN_FREE is left).
const OUT_CAPACITY: usize = 64 * 1024;
/// Commands per batch run (the log of one run).
const RUN_MAX_COMMANDS: usize = 1024;
/// Replies queued for the end of the batch are written at once past this size.
const DEFER_MAX: usize = 64 * 1024;
/// Connections accepted per readable event of a listener (Redis's MAX_ACCEPTS_PER_CALL).
const ACCEPTS_PER_EVENT: usize = 1000;

/// A listening socket whose connections are accepted here.
struct Listener {
    fd: i32,
    watch: SocketWatch,
}

struct Conn {
    fd: i32,
    watch: Option<SocketWatch>,
    /// An unfinished request kept between reads while the client is served here.
    input: Vec<u8>,
    /// Reply bytes the socket has not taken yet: `out[out_sent..]`.
    out: Vec<u8>,
    out_sent: usize,
    /// (db, RESP3) while the fast path may serve this client; None: reads go to TypeScript.
    native: Option<(usize, bool)>,
    /// Closed gracefully by TypeScript (QUIT...): the descriptor closes once `out` is written.
    closing: bool,
    /// The peer closed or the connection failed (reported to TypeScript once).
    gone: bool,
    /// Why it is gone, for the verbose log line TypeScript writes: 0 the end of stream (or
    /// unknown), errno of a failed read, -errno of a failed write.
    gone_errno: i32,
    writable_watched: bool,
    /// Listed for a write at the end of the loop's batch of events (`Sockets::flush_list`).
    flush_listed: bool,
    last_active_ms: i64,
    /// The last command run here since TypeScript last heard (native index), or -1.
    last_command: i32,
    /// Runs of commands slow enough for the slow log or the latency monitor: their requests
    /// and each one's share of the time (TypeScript logs them, `sockTakeSlow`).
    slow: Vec<(Vec<u8>, f64)>,
}

impl Conn {
    fn queued(&self) -> usize {
        self.out.len() - self.out_sent
    }

    /// Writes `data` after what is queued (all of it now, as far as the socket takes it);
    /// false when the connection failed.
    fn write(&mut self, data: &[u8]) -> bool {
        if data.is_empty() || self.gone { return !self.gone; }
        if self.queued() > 0 {
            self.out.extend_from_slice(data);
            // Replies queued for the end of the batch go first; a socket that refused bytes
            // is written to when the loop reports it writable.
            return self.writable_watched || self.flush();
        }
        let sent = match os::send_nonblocking(self.fd, data) {
            Ok(n) => n,
            Err(e) => {
                self.gone = true;
                self.gone_errno = -e.raw_os_error().unwrap_or(0);
                return false;
            }
        };
        if sent < data.len() {
            self.out.extend_from_slice(&data[sent..]);
            self.watch_writable(true);
        }
        true
    }

    /// Queues `data` for the write at the end of the loop's batch (the caller lists the
    /// connection); written at once when the queue grows past DEFER_MAX. False when the
    /// connection failed.
    fn defer(&mut self, data: &[u8], obuf_limit: usize) -> bool {
        if self.gone { return false; }
        self.out.extend_from_slice(data);
        if self.over_limit(obuf_limit) { return true; }
        if self.queued() >= DEFER_MAX && !self.writable_watched { return self.flush(); }
        true
    }

    /// The queued replies reached the output buffer limit (`obuf_limit`, 0: none): nothing more
    /// runs or is written before TypeScript has judged the client (it closes it unwritten).
    fn over_limit(&self, obuf_limit: usize) -> bool {
        obuf_limit != 0 && self.queued() >= obuf_limit
    }

    /// Writes what is queued; false when the connection failed.
    fn flush(&mut self) -> bool {
        while self.queued() > 0 {
            match os::send_nonblocking(self.fd, &self.out[self.out_sent..]) {
                Ok(0) => break,
                Ok(n) => self.out_sent += n,
                Err(e) => {
                    self.gone = true;
                    self.gone_errno = -e.raw_os_error().unwrap_or(0);
                    return false;
                }
            }
        }
        if self.queued() == 0 {
            self.out.clear();
            self.out_sent = 0;
            self.watch_writable(false);
        } else {
            if self.out_sent > self.out.len() / 2 {
                self.out.drain(..self.out_sent);
                self.out_sent = 0;
            }
            self.watch_writable(true);
        }
        true
    }

    fn watch_writable(&mut self, on: bool) {
        if self.writable_watched == on { return; }
        self.writable_watched = on;
        self.update_watch();
    }

    fn update_watch(&self) {
        if let Some(w) = &self.watch {
            // A failure leaves the previous events: the next read or write reports the error.
            let _ = w.set_events(!self.closing && !self.gone, self.writable_watched && !self.gone);
        }
    }

    fn close(mut self) {
        if let Some(w) = self.watch.take() { w.close(); }
        os::close_fd(self.fd);
    }
}

#[derive(Default)]
struct CommandCounts {
    calls: u64,
    failed: u64,
    usec: f64,
}

/// What ran here since TypeScript last took the counters.
#[derive(Default)]
struct Counters {
    reads: u64,
    net_in: u64,
    net_out: u64,
    writes: u64,
    commands: u64,
    /// By native command index.
    by_command: Vec<CommandCounts>,
    /// Error replies by their code (the reply's first word, as errorstats counts them).
    errors: HashMap<Vec<u8>, u64>,
    /// latency-tracking: calls by (native index, whole microseconds each).
    latencies: HashMap<(u32, u32), u64>,
}

/// What the server tells the addon besides the gate (sockGate).
struct Policy {
    max_bulk: usize,
    /// Runs whose commands took at least this long each (us) go to TypeScript's slow log and
    /// latency monitor; infinite when neither would log anything.
    slow_usec: f64,
    /// latency-tracking is on: per-command latencies are counted.
    track_latency: bool,
    /// The normal class's smallest client-output-buffer-limit (hard or soft), 0 for none:
    /// replies queued up to it stop the batch and are not written before TypeScript has
    /// applied the limit (Redis checks it as replies are added, before any write).
    obuf_limit: usize,
}

struct Sockets {
    conns: HashMap<u32, Conn>,
    gate_open: bool,
    writes_refused: bool,
    policy: Policy,
    /// TypeScript's read Buffer: reads land here, and what TypeScript must see stays here.
    read_buffer: Option<napi::SharedBuf>,
    out: Vec<u8>,
    ran: Vec<(usize, i32)>,
    frame_scratch: Vec<i32>,
    counters: Counters,
    /// Connections with replies queued for the end of the loop's batch of events, and the
    /// list's spare (swapped in while the list is written, so that neither allocates).
    flush_list: Vec<u32>,
    flush_spare: Vec<u32>,
    listeners: HashMap<u32, Listener>,
    next_listener: u32,
}

thread_local! {
    static SOCKETS: RefCell<Sockets> = RefCell::new(Sockets {
        conns: HashMap::new(),
        gate_open: false,
        writes_refused: false,
        policy: Policy { max_bulk: 512 * 1024 * 1024, slow_usec: f64::INFINITY, track_latency: false, obuf_limit: 0 },
        read_buffer: None,
        out: vec![0; OUT_CAPACITY],
        ran: Vec::with_capacity(RUN_MAX_COMMANDS),
        frame_scratch: Vec::new(),
        counters: Counters::default(),
        flush_list: Vec::new(),
        flush_spare: Vec::new(),
        listeners: HashMap::new(),
        next_listener: 1,
    });
}

/// What a socket event asks of TypeScript.
enum Enter {
    Nothing,
    /// `n` unconsumed bytes wait at the start of the read buffer (0: check the output queue);
    /// the last command run; slow runs wait for the slow log.
    Input(usize, i32, bool),
    /// The connection is gone (end of stream, reset, failed write): the last command run here
    /// and why (Conn::gone_errno).
    Gone(i32, i32),
}

/// A socket event from the loop (napi/uv.rs).
pub fn on_event(id: u32, readable: bool, writable: bool) {
    let mut enter = Enter::Nothing;
    SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        if writable { enter = s.writable(id); }
        if readable && matches!(enter, Enter::Nothing) { enter = s.readable(id); }
    });
    enter_typescript(id, enter);
}

/// Read failures as `-(GONE_READ_FAILED + errno)`, write failures as `-(GONE_WRITE_FAILED +
/// errno)`, the end of stream as -1 (TypeScript's onSocketEvent decodes them for its log).
const GONE_READ_FAILED: i64 = 1000;
const GONE_WRITE_FAILED: i64 = 2000;

fn gone_code(errno: i32) -> i64 {
    match errno {
        0 => -1,
        e if e > 0 => -(GONE_READ_FAILED + i64::from(e)),
        e => -(GONE_WRITE_FAILED - i64::from(e)),
    }
}

/// Tells TypeScript what it must do for connection `id`, and takes the client's mode back.
fn enter_typescript(id: u32, enter: Enter) {
    let (n, last_command, slow) = match enter {
        Enter::Nothing => return,
        Enter::Input(n, last, slow) => (n as i64, last, slow),
        Enter::Gone(last, errno) => (gone_code(errno), last, false),
    };
    let mode = call_socket_function([id as i64, n, last_command as i64, slow as i64]).unwrap_or(MODE_TYPESCRIPT);
    SOCKETS.with(|s| {
        if let Some(conn) = s.borrow_mut().conns.get_mut(&id) {
            conn.native = mode_of(mode);
        }
    });
}

/// The loop has dispatched its batch of events (napi/uv.rs): the queued replies are written.
/// A connection the socket did not take everything for enters TypeScript, which applies the
/// output buffer limits, as after any read; a failed one is reported gone.
pub fn on_batch_end() {
    let mut ids = SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        let spare = std::mem::take(&mut s.flush_spare);
        std::mem::replace(&mut s.flush_list, spare)
    });
    for &id in &ids {
        let enter = SOCKETS.with(|s| s.borrow_mut().flush_listed(id));
        enter_typescript(id, enter);
    }
    ids.clear();
    SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        if s.flush_spare.capacity() < ids.capacity() { s.flush_spare = ids; }
    });
}

/// sockFlush(): writes every reply queued for the end of the batch now (a busy script's event
/// pump keeps the loop from reaching it; Redis writes pending replies while a script is busy).
fn sock_flush(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    on_batch_end();
    Ok(env.undefined())
}

/// A listener is readable: its waiting connections are accepted, each handed to TypeScript's
/// accept function, which takes the descriptor (adopts or refuses and closes it) and returns
/// 1, or returns 0 for the addon to close it.
pub fn on_listener(id: u32) {
    for _ in 0..ACCEPTS_PER_EVENT {
        // Looked up again each time: the accept function may have closed the listener.
        let Some(listener) = SOCKETS.with(|s| s.borrow().listeners.get(&id).map(|l| l.fd)) else { return };
        let Some(fd) = os::accept_now(listener) else { return };
        // Redis's anetEnableTcpNoDelay for every accepted client (node:net's noDelay before).
        let _ = os::set_tcp_no_delay(fd, true);
        // A throw after the descriptor was adopted must not close it under the client: only an
        // explicit 0 gives it back.
        if call_accept_function(fd) == Some(0) { os::close_fd(fd); }
    }
}

fn mode_of(mode: i64) -> Option<(usize, bool)> {
    (mode >= 0).then_some(((mode >> 1) as usize, mode & 1 == 1))
}

impl Sockets {
    /// The end-of-batch write of a listed connection.
    fn flush_listed(&mut self, id: u32) -> Enter {
        let Some(conn) = self.conns.get_mut(&id) else { return Enter::Nothing };
        conn.flush_listed = false;
        if conn.gone || conn.closing || conn.queued() == 0 { return Enter::Nothing; }
        if !conn.flush() { return self.gone(id); }
        if conn.queued() == 0 { return Enter::Nothing; }
        let last = std::mem::replace(&mut conn.last_command, -1);
        Enter::Input(0, last, false)
    }

    fn writable(&mut self, id: u32) -> Enter {
        let Some(conn) = self.conns.get_mut(&id) else { return Enter::Nothing };
        if !conn.flush() {
            return self.gone(id);
        }
        if conn.closing && conn.queued() == 0 {
            if let Some(conn) = self.conns.remove(&id) { conn.close(); }
        }
        Enter::Nothing
    }

    /// The connection failed or ended: TypeScript frees the client (once).
    fn gone(&mut self, id: u32) -> Enter {
        let Some(conn) = self.conns.get_mut(&id) else { return Enter::Nothing };
        conn.gone = true;
        conn.input.clear();
        if conn.closing {
            // TypeScript already let go of it.
            if let Some(conn) = self.conns.remove(&id) { conn.close(); }
            return Enter::Nothing;
        }
        conn.update_watch();
        let last = std::mem::replace(&mut conn.last_command, -1);
        Enter::Gone(last, conn.gone_errno)
    }

    fn readable(&mut self, id: u32) -> Enter {
        let Some(conn) = self.conns.get_mut(&id) else { return Enter::Nothing };
        if conn.closing || conn.gone { return Enter::Nothing; }
        let Some(read_buffer) = self.read_buffer.as_mut() else { return Enter::Nothing };
        let buf = read_buffer.as_mut_slice();
        let kept = conn.input.len();
        if kept >= buf.len() { return Enter::Nothing; }
        buf[..kept].copy_from_slice(&conn.input);
        let n = match os::recv_now(conn.fd, &mut buf[kept..]) {
            Received::Nothing => return Enter::Nothing,
            Received::Closed => return self.gone(id),
            Received::Failed(errno) => {
                conn.gone_errno = errno;
                return self.gone(id);
            }
            Received::Bytes(n) => n,
        };
        conn.input.clear();
        self.counters.reads += 1;
        self.counters.net_in += n as u64;
        conn.last_active_ms = now_ms();
        let total = kept + n;
        let native_mode = self.gate_open && conn.native.is_some();
        let served = match conn.native {
            Some((db, resp3)) if native_mode => {
                let limits = batch::BatchLimits {
                    db,
                    flags: crate::FLAG_OBUF_NORMAL | if resp3 { crate::FLAG_RESP3 } else { 0 },
                    client_id: id as u64,
                    max_bulk: self.policy.max_bulk,
                    max_commands: RUN_MAX_COMMANDS,
                    writes_refused: self.writes_refused,
                };
                serve(conn, &buf[..total], &limits, &self.policy, &mut self.out, &mut self.ran, &mut self.counters)
            }
            _ => 0,
        };
        if conn.gone { return self.gone(id); }
        if conn.queued() > 0 && !conn.writable_watched && !conn.flush_listed {
            conn.flush_listed = true;
            self.flush_list.push(id);
            flush_after_batch();
        }
        let rest = &buf[served..total];
        let slow = !conn.slow.is_empty();
        // Output the socket did not take, or replies queued up to the limit (TypeScript judges
        // the client before the end-of-batch write: closed, it gets none of them, and the rest
        // of the chunk is not run): TypeScript applies the output buffer limits.
        let must_enter = slow || conn.writable_watched || conn.over_limit(self.policy.obuf_limit);
        if rest.is_empty() && !must_enter { return Enter::Nothing; }
        if native_mode && !must_enter && rest.len() <= KEEP_UNFINISHED_MAX
            && batch::frame(rest, 0, self.policy.max_bulk, &mut self.frame_scratch) == Err(batch::Unframed::More)
        {
            conn.input.extend_from_slice(rest);
            return Enter::Nothing;
        }
        let rest_len = rest.len();
        buf.copy_within(served..total, 0);
        let last = std::mem::replace(&mut conn.last_command, -1);
        Enter::Input(rest_len, last, slow)
    }
}

/// Runs the plain data commands at the head of `input` and writes their replies: the bytes
/// consumed. Stops where TypeScript must take over (see batch.rs) or the connection fails.
fn serve(conn: &mut Conn, input: &[u8], limits: &batch::BatchLimits, policy: &Policy, out: &mut [u8], ran: &mut Vec<(usize, i32)>, counters: &mut Counters) -> usize {
    let mut mark = Instant::now();
    let mut pos = 0;
    let mut executed = 0u64;
    while pos < input.len() && !conn.gone {
        ran.clear();
        let (result, pending) = with_state(|st| {
            let result = batch::run(
                &mut st.fast, &st.commands, &mut st.ks, &st.settings, &mut st.reply, &mut st.pending, &mut st.scratch,
                input, pos, out, 0, limits,
                |index, at| ran.push((index, at)),
            );
            let pending = if result.pending { st.pending.take() } else { None };
            (result, pending)
        });
        if ran.is_empty() {
            // Nothing ran: TypeScript's turn, unless only blank inline lines were skipped.
            if result.consumed == 0 { break; }
            pos += result.consumed;
            continue;
        }
        for &(index, at) in ran.iter() {
            let reply = if at >= 0 { &out[at as usize..result.out_pos] } else { pending.as_deref().unwrap_or(&[]) };
            if index >= counters.by_command.len() { counters.by_command.resize_with(index + 1, Default::default); }
            let counts = &mut counters.by_command[index];
            counts.calls += 1;
            if reply.first() == Some(&b'-') {
                counts.failed += 1;
                let code_end = reply[1..].iter().position(|&c| c == b' ' || c == b'\r').map_or(reply.len(), |p| p + 1);
                *counters.errors.entry(reply[1..code_end].to_vec()).or_default() += 1;
            }
            conn.last_command = index as i32;
        }
        executed += ran.len() as u64;
        // Time is shared evenly among the commands of a run, as TypeScript's batch does; the
        // eviction before them is not theirs.
        let now = Instant::now();
        let usec_each = now.duration_since(mark).saturating_sub(result.evict_time).as_secs_f64() * 1e6 / ran.len() as f64;
        mark = now;
        for &(index, _) in ran.iter() {
            counters.by_command[index].usec += usec_each;
        }
        if policy.track_latency {
            // Redis records whole microseconds; a run of one command is one histogram update.
            let usec = usec_each.round() as u32;
            for group in ran.chunk_by(|a, b| a.0 == b.0) {
                *counters.latencies.entry((group[0].0 as u32, usec)).or_default() += group.len() as u64;
            }
        }
        if usec_each >= policy.slow_usec {
            conn.slow.push((input[pos..pos + result.consumed].to_vec(), usec_each));
        }
        let mut written = result.out_pos;
        conn.defer(&out[..result.out_pos], policy.obuf_limit);
        if let Some(reply) = pending {
            written += reply.len();
            conn.defer(&reply, policy.obuf_limit);
        }
        counters.net_out += written as u64;
        counters.writes += 1;
        pos += result.consumed;
        if result.consumed == 0 || conn.over_limit(policy.obuf_limit) { break; }
    }
    counters.commands += executed;
    pos
}

fn with_conn<R>(id: u32, f: impl FnOnce(&mut Conn) -> R) -> Option<R> {
    SOCKETS.with(|s| s.borrow_mut().conns.get_mut(&id).map(f))
}

/// sockInit(callback, readBuffer, accept): `callback(id, n, lastCommand) -> mode` is entered for
/// what TypeScript must do (n bytes wait at the start of readBuffer; negative: the connection
/// is gone, see gone_code); the mode it returns is `db << 1 | resp3` while the fast path may serve the client,
/// else -1. `accept(fd) -> taken` gets each connection accepted on a listener (sockListen).
fn sock_init(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    socket_loop_init(env, a.value(0)?, a.value(2)?)?;
    let read_buffer = napi::SharedBuf::new(env, a, 1)?;
    if read_buffer.as_slice().len() <= KEEP_UNFINISHED_MAX { return Err("the read buffer is too small".into()); }
    SOCKETS.with(|s| s.borrow_mut().read_buffer = Some(read_buffer));
    Ok(env.undefined())
}

/// sockAdopt(fd, id, duplicate): takes over the connection on `fd` as client `id`: on its own
/// duplicate of it (the caller closes `fd`: a node:net socket's), or on `fd` itself (one the
/// addon accepted). Returns the addon's descriptor.
fn sock_adopt(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let id = a.i64(env, 1)? as u32;
    let duplicate = a.bool(env, 2)?;
    let own = if duplicate { os::dup_cloexec(fd).map_err(|e| format!("dup: {e}"))? } else { fd };
    let watch = match SocketWatch::start(own, id) {
        Ok(w) => w,
        Err(e) => {
            if duplicate { os::close_fd(own); }
            return Err(e);
        }
    };
    let conn = Conn {
        fd: own,
        watch: Some(watch),
        input: Vec::new(),
        out: Vec::new(),
        out_sent: 0,
        native: None,
        closing: false,
        gone: false,
        gone_errno: 0,
        writable_watched: false,
        flush_listed: false,
        last_active_ms: now_ms(),
        last_command: -1,
        slow: Vec::new(),
    };
    SOCKETS.with(|s| s.borrow_mut().conns.insert(id, conn));
    Ok(env.int(own as i64))
}

/// sockListen(fd): accepts the connections of listening socket `fd` here, on the addon's own
/// duplicate of it (the caller closes `fd`). Returns [listener id, the addon's descriptor].
fn sock_listen(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let own = os::dup_cloexec(fd).map_err(|e| format!("dup: {e}"))?;
    let id = SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        let id = s.next_listener;
        s.next_listener += 1;
        id
    });
    let watch = match SocketWatch::listen(own, id) {
        Ok(w) => w,
        Err(e) => {
            os::close_fd(own);
            return Err(e);
        }
    };
    SOCKETS.with(|s| s.borrow_mut().listeners.insert(id, Listener { fd: own, watch }));
    env.array(&[env.int(id as i64), env.int(own as i64)])
}

/// sockUnlisten(id): stops accepting and closes the listener's descriptor (the port is free
/// once no other descriptor holds the socket).
fn sock_unlisten(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    if let Some(listener) = SOCKETS.with(|s| s.borrow_mut().listeners.remove(&id)) {
        listener.watch.close();
        os::close_fd(listener.fd);
    }
    Ok(env.undefined())
}

/// sockAddresses(fd): [remote address, remote port, local address, local port] of a TCP
/// connection, as node:net words them (undefined where unknown).
fn sock_addresses(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let mut items = Vec::with_capacity(4);
    for peer in [true, false] {
        match os::socket_address(fd, peer) {
            Some(addr) => {
                items.push(env.string(&addr.ip().to_string()));
                items.push(env.int(addr.port() as i64));
            }
            None => items.extend([env.undefined(), env.undefined()]),
        }
    }
    env.array(&items)
}

/// sockSend(id, buffer, length): Server.send's socket write for an adopted client, after
/// whatever is queued. Returns the bytes still queued, or -1 when the connection failed.
fn sock_send(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    let data = a.bytes(env, 1)?;
    let len = (a.i64(env, 2)?.max(0) as usize).min(data.len());
    let queued = with_conn(id, |conn| if conn.write(&data[..len]) { conn.queued() as i64 } else { -1 });
    Ok(env.int(queued.unwrap_or(-1)))
}

/// sockQueued(id): reply bytes not yet taken by the socket (CLIENT LIST omem, output limits).
fn sock_queued(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    Ok(env.int(with_conn(id, |c| c.queued() as i64).unwrap_or(0)))
}

/// sockInput(id): bytes of an unfinished request kept here (part of CLIENT LIST qbuf).
fn sock_input(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    Ok(env.int(with_conn(id, |c| c.input.len() as i64).unwrap_or(0)))
}

/// sockTakeInput(id): moves the kept unfinished request to the start of the read buffer and
/// returns its length; reads go to TypeScript until a JS entry returns a native mode again
/// (a busy script's event pump reads the socket itself and must see these bytes first).
fn sock_take_input(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    let n = SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        let (Some(conn), Some(rb)) = (s.conns.get_mut(&id), s.read_buffer.as_mut()) else { return 0 };
        conn.native = None;
        let n = conn.input.len();
        rb.as_mut_slice()[..n].copy_from_slice(&conn.input);
        conn.input.clear();
        n
    });
    Ok(env.int(n as i64))
}

/// sockClose(id, graceful): closes the connection, at once or (graceful, or when the peer is
/// gone already) once the queued replies are written.
fn sock_close(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    let graceful = a.bool(env, 1)?;
    SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        let Some(conn) = s.conns.get_mut(&id) else { return };
        conn.input.clear();
        if (graceful || conn.gone) && conn.queued() > 0 && conn.flush() && conn.queued() > 0 {
            conn.closing = true;
            conn.update_watch();
            return;
        }
        if let Some(conn) = s.conns.remove(&id) { conn.close(); }
    });
    Ok(env.undefined())
}

/// sockGate(open, writesRefused, maxBulk, slowUsec, trackLatency, obufLimit): the server's half
/// of the fast-path gate (the client's half is its mode), the limits the batch applies, the time
/// per command from which runs go to the slow log / latency monitor (-1: none),
/// latency-tracking, the normal class's smallest output buffer limit (0: none).
fn sock_gate(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let open = a.bool(env, 0)?;
    let writes_refused = a.bool(env, 1)?;
    let max_bulk = a.i64(env, 2)?.max(0) as usize;
    let slow_usec = a.f64(env, 3)?;
    let track_latency = a.bool(env, 4)?;
    let obuf_limit = a.i64(env, 5)?.max(0) as usize;
    SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        s.gate_open = open;
        s.writes_refused = writes_refused;
        s.policy = Policy { max_bulk, slow_usec: if slow_usec < 0.0 { f64::INFINITY } else { slow_usec }, track_latency, obuf_limit };
    });
    Ok(env.undefined())
}

/// sockBindProbe(host, port): 0 when a TCP listener can be bound at host:port now (it is bound
/// and released at once), else the errno, -1 when the address does not resolve. CONFIG SET
/// port/bind answer from it, as Redis binds before it replies (Node's listen completes later).
fn sock_bind_probe(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let host = a.string(env, 0)?;
    let Ok(port) = u16::try_from(a.i64(env, 1)?) else { return Ok(env.int(-1)) };
    let code = match std::net::TcpListener::bind((host.as_str(), port)) {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().map_or(-1, i64::from),
    };
    Ok(env.int(code))
}

/// sockTakeSlow(id): the slow runs recorded for the client: [requests Buffer, usec each, ...].
fn sock_take_slow(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    let slow = with_conn(id, |c| std::mem::take(&mut c.slow)).unwrap_or_default();
    let mut items = Vec::with_capacity(slow.len() * 2);
    for (requests, usec) in &slow {
        items.push(env.buffer(requests));
        items.push(env.double(*usec));
    }
    env.array(&items)
}

/// sockMode(id, mode): the client's half of the gate, outside a JS entry of its own; mode -1
/// for every client when id is -1 (an ACL change may have restricted any of them).
fn sock_mode(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)?;
    let mode = a.i64(env, 1)?;
    SOCKETS.with(|s| {
        let s = &mut *s.borrow_mut();
        if id < 0 {
            for conn in s.conns.values_mut() { conn.native = None; }
        } else if let Some(conn) = s.conns.get_mut(&(id as u32)) {
            conn.native = mode_of(mode);
        }
    });
    Ok(env.undefined())
}

/// sockActivity(id): [last activity (ms), last command run here since asked (native index or -1)].
fn sock_activity(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let id = a.i64(env, 0)? as u32;
    let (at, last) = with_conn(id, |c| (c.last_active_ms, std::mem::replace(&mut c.last_command, -1))).unwrap_or((0, -1));
    env.array(&[env.double(at as f64), env.int(last as i64)])
}

/// sockStats(): takes the counters of what ran here: [reads, netIn, netOut, writes, commands,
/// [index, calls, failed, usec, ...], [errorCode, count, ...], [index, usec, calls, ...]].
fn sock_stats(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let c = SOCKETS.with(|s| std::mem::take(&mut s.borrow_mut().counters));
    let mut by_command = Vec::new();
    for (index, counts) in c.by_command.iter().enumerate().filter(|(_, counts)| counts.calls > 0) {
        by_command.extend([env.int(index as i64), env.double(counts.calls as f64), env.double(counts.failed as f64), env.double(counts.usec)]);
    }
    let mut errors = Vec::new();
    for (code, count) in &c.errors {
        errors.extend([env.string(&String::from_utf8_lossy(code)), env.double(*count as f64)]);
    }
    let mut latencies = Vec::new();
    for ((index, usec), count) in &c.latencies {
        latencies.extend([env.int(*index as i64), env.int(*usec as i64), env.double(*count as f64)]);
    }
    let by_command = env.array(&by_command)?;
    let errors = env.array(&errors)?;
    let latencies = env.array(&latencies)?;
    env.array(&[
        env.double(c.reads as f64),
        env.double(c.net_in as f64),
        env.double(c.net_out as f64),
        env.double(c.writes as f64),
        env.double(c.commands as f64),
        by_command,
        errors,
        latencies,
    ])
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "sockInit", sock_init)?;
    env.export(exports, "sockAdopt", sock_adopt)?;
    env.export(exports, "sockSend", sock_send)?;
    env.export(exports, "sockQueued", sock_queued)?;
    env.export(exports, "sockInput", sock_input)?;
    env.export(exports, "sockTakeInput", sock_take_input)?;
    env.export(exports, "sockClose", sock_close)?;
    env.export(exports, "sockGate", sock_gate)?;
    env.export(exports, "sockMode", sock_mode)?;
    env.export(exports, "sockActivity", sock_activity)?;
    env.export(exports, "sockStats", sock_stats)?;
    env.export(exports, "sockFlush", sock_flush)?;
    env.export(exports, "sockListen", sock_listen)?;
    env.export(exports, "sockUnlisten", sock_unlisten)?;
    env.export(exports, "sockAddresses", sock_addresses)?;
    env.export(exports, "sockTakeSlow", sock_take_slow)?;
    env.export(exports, "sockBindProbe", sock_bind_probe)?;
    Ok(())
}
