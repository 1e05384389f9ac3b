//! MIGRATE (Redis 7.0's cluster.c): DUMP the keys, RESTORE them on another instance over a
//! cached connection, delete them here. The transfer is blocking socket I/O inside the command
//! (syncio.rs), so, as in Redis, no other client's command runs between reading a key and
//! deleting it: the whole server waits, up to the timeout for each step.

use std::cell::RefCell;

use crate::command::{CmdError, CmdResult, CommandRow, Ctx, SYNTAX};
use crate::keyspace::notify::GENERIC;
use crate::keyspace::NO_EXPIRE;
use crate::napi::{Env, JsArgs, JsValue};
use crate::persist::dump::dump_payload;
use crate::syncio::{self, IoFail};

pub const COMMANDS: &[CommandRow] = &[("migrate", migrate)];

/// MIGRATE_SOCKET_CACHE_ITEMS and MIGRATE_SOCKET_CACHE_TTL (seconds).
const CACHE_ITEMS: usize = 64;
const CACHE_TTL_SECS: i64 = 10;
/// The request goes out in pieces of this size, each with the whole timeout.
const WRITE_CHUNK: usize = 64 * 1024;
/// Redis reads each reply line into a 1024-byte buffer.
const LINE_BUFFER: usize = 1024;

const KEYS_NEED_EMPTY_KEY: CmdError = CmdError::Msg("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
const CONNECT_ERROR: CmdError = CmdError::Msg("IOERR error or timeout connecting to the client");

/// One cached connection to a target, by "host:port" as the arguments spelled them.
struct Cached {
    name: Vec<u8>,
    fd: i32,
    /// The db the connection has selected, -1 when unknown (a SELECT is sent first).
    last_dbid: i64,
    last_use_secs: i64,
}

/// tls-cluster's relay (src/tls-relay.ts): a worker thread of the server listening on a
/// loopback port, which opens the TLS connection to the target and then carries the bytes while
/// this thread waits in MIGRATE. Port 0 when tls-cluster is off; the secret opens each request.
struct Relay {
    port: i32,
    secret: Vec<u8>,
}

thread_local! {
    static RELAY: RefCell<Relay> = const { RefCell::new(Relay { port: 0, secret: Vec::new() }) };
    static CACHE: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
    static RANDOM: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn unix_secs() -> i64 {
    crate::now_ms() / 1000
}

/// Which cached entry to drop when the cache is full (Redis drops one at random).
fn random_index(n: usize) -> usize {
    RANDOM.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = crate::now_ms() as u64 | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        (x % n as u64) as usize
    })
}

/// C's atoi, which Redis applies to the port argument: leading blanks, a sign, digits up to
/// the first non-digit; nothing readable is 0.
fn atoi(text: &[u8]) -> i32 {
    let mut i = 0;
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if i < text.len() && (text[i] == b'+' || text[i] == b'-') {
        negative = text[i] == b'-';
        i += 1;
    }
    let mut n: i64 = 0;
    while i < text.len() && text[i].is_ascii_digit() {
        n = (n * 10 + (text[i] - b'0') as i64).min(1 << 40);
        i += 1;
    }
    let n = if negative { -n } else { n };
    n as i32
}

/// The cache's key: "host:port" with both as the arguments spell them (Redis's sds name).
fn cache_key(host: &[u8], port: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(host.len() + 1 + port.len());
    name.extend_from_slice(host);
    name.push(b':');
    name.extend_from_slice(port);
    name
}

/// migrateGetSocket: the cached connection's index, or a new one (connect, TCP_NODELAY).
fn get_socket(host: &[u8], port: &[u8], timeout_ms: i64) -> Result<usize, CmdError> {
    let name = cache_key(host, port);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(i) = cache.iter().position(|c| c.name == name) {
            cache[i].last_use_secs = unix_secs();
            return Ok(i);
        }
        if cache.len() == CACHE_ITEMS {
            let dropped = cache.swap_remove(random_index(CACHE_ITEMS));
            syncio::close_socket(dropped.fd);
        }
        let relay = RELAY.with(|r| {
            let r = r.borrow();
            (r.port != 0).then(|| (r.port, r.secret.clone()))
        });
        let fd = match relay {
            Some((relay_port, secret)) => connect_tls(relay_port, &secret, host, atoi(port), timeout_ms)?,
            None => {
                let Some(fd) = syncio::connect_nonblocking(host, atoi(port)) else {
                    return Err(CONNECT_ERROR);
                };
                // Redis 7.0's connSocketBlockingConnect marks a connection that did not complete in
                // time as an error and then as connected anyway: the first write finds out.
                syncio::wait_connected(fd, timeout_ms);
                fd
            }
        };
        let _ = crate::os::set_tcp_no_delay(fd, true);
        cache.push(Cached { name, fd, last_dbid: -1, last_use_secs: unix_secs() });
        Ok(cache.len() - 1)
    })
}

/// connTLSBlockingConnect through the relay: the request names the target, and the relay
/// answers '+' once its TLS handshake with it is done or '-' when the connection or the
/// handshake failed. Either failure, or no answer within the timeout, is Redis's connect error
/// (a TLS connection that cannot complete its handshake is refused at connect time).
fn connect_tls(relay_port: i32, secret: &[u8], host: &[u8], port: i32, timeout_ms: i64) -> Result<i32, CmdError> {
    let host = &host[..host.iter().position(|&b| b == 0).unwrap_or(host.len())];
    if host.contains(&b'\n') {
        return Err(CONNECT_ERROR);
    }
    let Some(fd) = syncio::connect_nonblocking(b"127.0.0.1", relay_port) else {
        return Err(CONNECT_ERROR);
    };
    let mut port_text = port.to_string();
    port_text.truncate(5);
    let mut request = Vec::with_capacity(secret.len() + host.len() + 16);
    request.extend_from_slice(secret);
    request.push(b'\n');
    request.extend_from_slice(port_text.as_bytes());
    request.push(b' ');
    request.extend_from_slice(host);
    request.push(b'\n');
    let answer = if syncio::wait_connected(fd, timeout_ms) && syncio::sync_write(fd, &request, timeout_ms).is_ok() {
        syncio::read_byte(fd, timeout_ms).ok()
    } else {
        None
    };
    if answer != Some(b'+') {
        syncio::close_socket(fd);
        return Err(CONNECT_ERROR);
    }
    Ok(fd)
}

fn with_cached<R>(i: usize, f: impl FnOnce(&mut Cached) -> R) -> R {
    CACHE.with(|cache| f(&mut cache.borrow_mut()[i]))
}

/// migrateCloseSocket: forget and close the connection to host:port, if cached.
fn close_socket(host: &[u8], port: &[u8]) {
    let name = cache_key(host, port);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(i) = cache.iter().position(|c| c.name == name) {
            let c = cache.swap_remove(i);
            syncio::close_socket(c.fd);
        }
    });
}

/// migrateCloseTimedoutSockets (serverCron, once a second): connections unused for more than
/// 10 seconds are closed.
pub fn close_idle() {
    let now = unix_secs();
    CACHE.with(|cache| {
        cache.borrow_mut().retain(|c| {
            let keep = now - c.last_use_secs <= CACHE_TTL_SECS;
            if !keep {
                syncio::close_socket(c.fd);
            }
            keep
        })
    });
}

/// RESP bulk string into `out`.
fn bulk(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

fn count(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// How one attempt ended.
enum Attempt {
    /// Replied (OK or the target's error); `deleted` keys were removed here.
    Done,
    /// An I/O error before anything was acknowledged: Redis closes the connection and may try
    /// once more. `writing` names the step in the final error.
    SocketError { writing: bool, fail: IoFail },
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key ...]
fn migrate(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let (mut copy, mut replace) = (false, false);
    let mut username: Option<&[u8]> = None;
    let mut password: Option<&[u8]> = None;
    let mut first_key = 3;
    let mut num_keys = 1;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args.is(j, b"copy") {
            copy = true;
        } else if args.is(j, b"replace") {
            replace = true;
        } else if args.is(j, b"auth") {
            if more == 0 {
                return Err(SYNTAX);
            }
            j += 1;
            password = Some(args.get(j));
        } else if args.is(j, b"auth2") {
            if more < 2 {
                return Err(SYNTAX);
            }
            username = Some(args.get(j + 1));
            password = Some(args.get(j + 2));
            j += 2;
        } else if args.is(j, b"keys") {
            if !args.get(3).is_empty() {
                return Err(KEYS_NEED_EMPTY_KEY);
            }
            first_key = j + 1;
            num_keys = args.len() - j - 1;
            break;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let mut timeout = args.i64(5)?;
    let dbid = args.i64(4)?;
    if timeout <= 0 {
        timeout = 1000;
    }

    // Keys that are missing (or expired) are left out; none at all is NOKEY, not an error
    // (a key often just expired meanwhile).
    let (db, now) = (ctx.db, ctx.now_ms);
    let mut keys: Vec<&[u8]> = Vec::with_capacity(num_keys);
    for i in 0..num_keys {
        let key = args.get(first_key + i);
        if ctx.ks.lookup_read(db, key, now).is_some() {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        ctx.reply.simple("NOKEY");
        return Ok(());
    }

    let (host, port) = (args.get(1), args.get(2));
    let mut may_retry = true;
    loop {
        let cs = get_socket(host, port, timeout)?;
        match attempt(ctx, cs, &mut keys, dbid, timeout, copy, replace, username, password, may_retry) {
            Ok(Attempt::Done) => return Ok(()),
            Err(e) => return Err(e),
            Ok(Attempt::SocketError { writing, fail }) => {
                close_socket(host, port);
                if fail != IoFail::Timeout && may_retry {
                    may_retry = false;
                    continue;
                }
                let step = if writing { "writing" } else { "reading" };
                return Err(CmdError::Owned(format!("IOERR error or timeout {step} to target instance")));
            }
        }
    }
}

/// One try over connection `cs`: the request, then the replies; keys the target acknowledged
/// are deleted here (unless COPY) and propagated as one DEL.
#[allow(clippy::too_many_arguments)]
fn attempt(
    ctx: &mut Ctx,
    cs: usize,
    keys: &mut Vec<&[u8]>,
    dbid: i64,
    timeout: i64,
    copy: bool,
    replace: bool,
    username: Option<&[u8]>,
    password: Option<&[u8]>,
    may_retry: bool,
) -> Result<Attempt, CmdError> {
    let (fd, last_dbid) = with_cached(cs, |c| (c.fd, c.last_dbid));
    let db = ctx.db;
    let mut cmd = Vec::new();
    if let Some(pass) = password {
        count(&mut cmd, if username.is_some() { 3 } else { 2 });
        bulk(&mut cmd, b"AUTH");
        if let Some(user) = username {
            bulk(&mut cmd, user);
        }
        bulk(&mut cmd, pass);
    }
    let select = last_dbid != dbid;
    if select {
        count(&mut cmd, 2);
        bulk(&mut cmd, b"SELECT");
        bulk(&mut cmd, dbid.to_string().as_bytes());
    }
    // A key found before may have expired since (serializing takes time): its TTL is read on
    // the live clock, and an expired one is skipped.
    let compress = ctx.settings.rdb_compression != 0;
    // A cluster node's target is importing the slot and would answer RESTORE with MOVED:
    // RESTORE-ASKING carries the ASKING flag with it (db 0's slot index exists only in cluster mode).
    let restore: &[u8] = if ctx.ks.slots.is_some() { b"RESTORE-ASKING" } else { b"RESTORE" };
    let mut sent: Vec<&[u8]> = Vec::with_capacity(keys.len());
    for &key in keys.iter() {
        let Some(entry) = ctx.ks.dbs[db].dict.get_node(key) else { continue };
        let expire_at = entry.expire_at();
        let mut ttl = 0;
        if expire_at != NO_EXPIRE {
            ttl = expire_at - crate::now_ms();
            if ttl < 0 {
                continue;
            }
            ttl = ttl.max(1);
        }
        count(&mut cmd, if replace { 5 } else { 4 });
        bulk(&mut cmd, restore);
        bulk(&mut cmd, key);
        bulk(&mut cmd, ttl.to_string().as_bytes());
        bulk(&mut cmd, &dump_payload(&entry.value, compress, ctx.settings));
        if replace {
            bulk(&mut cmd, b"REPLACE");
        }
        sent.push(key);
    }
    *keys = sent;

    for chunk in cmd.chunks(WRITE_CHUNK) {
        if let Err(fail) = syncio::sync_write(fd, chunk, timeout) {
            return Ok(Attempt::SocketError { writing: true, fail });
        }
    }

    let read_line = || syncio::sync_read_line(fd, LINE_BUFFER, timeout);
    let mut auth_reply = Vec::new();
    let mut select_reply = Vec::new();
    if password.is_some() {
        match read_line() {
            Ok((line, n)) if n > 0 => auth_reply = line,
            Ok(_) => return Ok(Attempt::SocketError { writing: false, fail: IoFail::Other }),
            Err(fail) => return Ok(Attempt::SocketError { writing: false, fail }),
        }
    }
    if select {
        match read_line() {
            Ok((line, n)) if n > 0 => select_reply = line,
            Ok(_) => return Ok(Attempt::SocketError { writing: false, fail: IoFail::Other }),
            Err(fail) => return Ok(Attempt::SocketError { writing: false, fail }),
        }
    }

    let auth_failed = password.is_some() && auth_reply.first() == Some(&b'-');
    let select_failed = select && select_reply.first() == Some(&b'-');
    let mut target_error: Option<String> = None;
    let mut socket_error: Option<IoFail> = None;
    let mut deleted: Vec<&[u8]> = Vec::new();
    let mut acknowledged = 0;
    for &key in keys.iter() {
        let reply = match read_line() {
            Ok((line, n)) if n > 0 => line,
            Ok(_) => {
                socket_error = Some(IoFail::Other);
                break;
            }
            Err(fail) => {
                socket_error = Some(fail);
                break;
            }
        };
        acknowledged += 1;
        if auth_failed || select_failed || reply.first() == Some(&b'-') {
            if target_error.is_none() {
                with_cached(cs, |c| c.last_dbid = -1);
                let line = if auth_failed { &auth_reply } else if select_failed { &select_reply } else { &reply };
                // An error reply may not hold a line break (addReplyErrorFormat maps them).
                let text: String = String::from_utf8_lossy(&line[1..]).chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
                target_error = Some(format!("ERR Target instance replied with error: {text}"));
            }
        } else if !copy {
            let lazy = ctx.ks.lazy.server_del;
            ctx.ks.remove_and_free(db, key, lazy);
            ctx.ks.signal_modified(db, key);
            ctx.notify(GENERIC, "del", db, key);
            ctx.ks.dirty += 1;
            deleted.push(key);
        }
    }

    // Nothing was processed and the first reply never came: the connection was probably stale
    // (closed by the target while cached), worth one retry on a new one.
    if let Some(fail) = socket_error {
        if target_error.is_none() && acknowledged == 0 && may_retry && fail != IoFail::Timeout {
            return Ok(Attempt::SocketError { writing: false, fail });
        }
    }
    if !deleted.is_empty() && ctx.propagating() {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(deleted.len() + 1);
        argv.push(b"DEL");
        argv.extend_from_slice(&deleted);
        ctx.rewrite(&argv);
    }
    if let Some(e) = target_error {
        if socket_error.is_some() {
            close_cached(cs);
        }
        return Err(CmdError::Owned(e));
    }
    if socket_error.is_some() {
        // Keys were acknowledged and deleted: no retry, just the error.
        close_cached(cs);
        return Err(CmdError::Msg("IOERR error or timeout reading to target instance"));
    }
    with_cached(cs, |c| c.last_dbid = dbid);
    ctx.reply.ok();
    Ok(Attempt::Done)
}

fn close_cached(cs: usize) {
    CACHE.with(|cache| {
        let c = cache.borrow_mut().swap_remove(cs);
        syncio::close_socket(c.fd);
    });
}

/// migrateCachedSockets(): INFO's migrate_cached_sockets.
fn cached_sockets_export(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.int(CACHE.with(|cache| cache.borrow().len()) as i64))
}

/// migrateCloseIdle(): the cron's once-a-second sweep of the connection cache.
fn close_idle_export(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    close_idle();
    Ok(env.undefined())
}

/// migrateTlsRelay(port, secret): MIGRATE's new connections go through the TLS relay at
/// 127.0.0.1:port (0: none, plain TCP). Connections already cached keep their kind, as Redis's do
/// when tls-cluster changes.
fn tls_relay_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let port = a.i64(env, 0)?;
    let secret = a.bytes(env, 1)?.to_vec();
    RELAY.with(|r| *r.borrow_mut() = Relay { port: port as i32, secret });
    Ok(env.undefined())
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "migrateCloseIdle", close_idle_export)?;
    env.export(exports, "migrateTlsRelay", tls_relay_export)?;
    env.export(exports, "migrateCachedSockets", cached_sockets_export)
}

#[cfg(test)]
mod tests {
    use super::atoi;

    #[test]
    fn atoi_reads_as_c_does() {
        assert_eq!(atoi(b"6379"), 6379);
        assert_eq!(atoi(b" 12ab"), 12);
        assert_eq!(atoi(b"-1"), -1);
        assert_eq!(atoi(b"+7"), 7);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
    }
}
