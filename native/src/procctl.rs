//! What an operator sees of the process, and the OS calls behind Redis's process-level
//! directives: the title shown by `ps` (/proc/PID/cmdline: the memory that held argv), the
//! thread name (/proc/PID/comm), the OOM score and CPU affinity of the forked children, and
//! Unix datagrams (systemd's NOTIFY_SOCKET, syslog's /dev/log), which Node cannot send.
//!
//! A forked child takes on the identity the parent prepared for it just before the fork
//! (`prepareChild`): snapshot.rs applies it in the child, which never returns into V8 or
//! libuv, so everything here that runs there is plain syscalls on the child's own memory.

use crate::libc::{bind, close, prctl, raise, recv, sched_getaffinity, sched_setaffinity, sendto, socket, MSG_DONTWAIT, MSG_NOSIGNAL, SOCK_CLOEXEC, SOCK_DGRAM};
use crate::napi::{Env, JsArgs, JsValue};
use std::cell::RefCell;
use std::io;
use std::os::raw::{c_int, c_ulong, c_void};
use std::sync::OnceLock;

const PR_SET_NAME: c_int = 15;
const PR_GET_NAME: c_int = 16;
const AF_UNIX: c_int = 1;
/// glibc's cpu_set_t: 1024 CPUs.
const CPU_SET_WORDS: usize = 16;

#[repr(C)]
struct SockaddrUn {
    family: u16,
    path: [u8; 108],
}

// ---- the title (/proc/PID/cmdline) ----

/// The memory the kernel put argv in: `[arg_start, arg_end)` from /proc/self/stat (fields 48
/// and 49). libuv keeps it as the process title's storage and so does this module: it is the
/// only memory /proc/PID/cmdline shows, and its length is the most a title can show.
fn arg_area() -> Option<(usize, usize)> {
    static AREA: OnceLock<Option<(usize, usize)>> = OnceLock::new();
    *AREA.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold anything.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        // `rest` starts at field 3 (state).
        let start: usize = fields.get(48 - 3)?.parse().ok()?;
        let end: usize = fields.get(49 - 3)?.parse().ok()?;
        (end > start && start != 0).then_some((start, end))
    })
}

/// Bytes of a title that /proc/PID/cmdline can show (the area less its closing NUL).
pub fn title_capacity() -> usize {
    arg_area().map_or(0, |(s, e)| e - s - 1)
}

/// Writes `title` over the argv memory as libuv's uv_set_process_title does (cut to the
/// area's size, the rest zeroed), for the forked child where libuv cannot be called. Returns
/// the bytes shown.
pub fn write_title(title: &[u8]) -> usize {
    let Some((start, end)) = arg_area() else { return 0 };
    let cap = end - start;
    let n = title.len().min(cap - 1);
    // SAFETY: [start, end) is this process's argv strings, mapped read-write on its stack for
    // its whole life (the kernel placed them there; libuv writes the title there too). Only
    // the forked child calls this, single-threaded, so nothing reads the area meanwhile.
    unsafe {
        std::ptr::copy_nonoverlapping(title.as_ptr(), start as *mut u8, n);
        std::ptr::write_bytes((start + n) as *mut u8, 0, cap - n);
    }
    n
}

/// The calling thread's name (the main thread's is /proc/PID/comm).
pub fn thread_name() -> io::Result<String> {
    let mut buf = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes (NUL included) into buf, which has 16.
    if unsafe { prctl(PR_GET_NAME, buf.as_mut_ptr() as c_ulong, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

pub fn set_thread_name(name: &str) -> io::Result<()> {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: buf is a NUL-terminated string of at most 16 bytes, read during the call only.
    if unsafe { prctl(PR_SET_NAME, buf.as_ptr() as c_ulong, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ---- CPU affinity and OOM score ----

/// A CPU mask as sched_setaffinity takes it; CPUs past 1023 are left out.
fn cpu_mask(cpus: &[u32]) -> [u64; CPU_SET_WORDS] {
    let mut mask = [0u64; CPU_SET_WORDS];
    for &c in cpus {
        if (c as usize) < CPU_SET_WORDS * 64 {
            mask[c as usize / 64] |= 1u64 << (c % 64);
        }
    }
    mask
}

/// sched_setaffinity for the calling thread (threads it starts later inherit it).
pub fn set_affinity(cpus: &[u32]) -> io::Result<()> {
    let mask = cpu_mask(cpus);
    // SAFETY: mask is a fully initialised cpu_set_t of the size passed; pid 0 is this thread.
    if unsafe { sched_setaffinity(0, std::mem::size_of_val(&mask), &mask) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The CPUs thread `tid` (0: the calling one) may run on.
pub fn affinity(tid: i32) -> io::Result<Vec<u32>> {
    let mut mask = [0u64; CPU_SET_WORDS];
    // SAFETY: mask is writable for the size passed.
    if unsafe { sched_getaffinity(tid, std::mem::size_of_val(&mask), &mut mask) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((0..(CPU_SET_WORDS * 64) as u32).filter(|&c| mask[c as usize / 64] & (1u64 << (c % 64)) != 0).collect())
}

/// bio_cpulist: the CPUs keyfork's background threads (Redis's bio threads: lazy free) run on.
static BIO_CPUS: std::sync::Mutex<Option<Vec<u32>>> = std::sync::Mutex::new(None);

/// Called first thing by each background thread keyfork starts (lazyfree.rs, the old
/// keyspace's free after a load), as Redis's bio threads set bio_cpulist when they start.
pub fn apply_bio_affinity() {
    let cpus = BIO_CPUS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(cpus) = cpus {
        let _ = set_affinity(&cpus);
    }
}

/// What Redis's setOOMScoreAdj writes: the value, in decimal, to /proc/self/oom_score_adj.
pub fn set_oom_score_adj(value: i32) -> io::Result<()> {
    std::fs::write("/proc/self/oom_score_adj", format!("{value}\n"))
}

// ---- what the next forked child becomes ----

/// The title, OOM score and CPUs the next forked child takes on (Redis's child sets them
/// right after its fork: redisSetProcTitle, setOOMScoreAdj, redisSetCpuAffinity).
#[derive(Default)]
pub struct ChildIdentity {
    title: Option<Vec<u8>>,
    oom_score_adj: Option<i32>,
    cpus: Option<Vec<u32>>,
}

thread_local! {
    static NEXT_CHILD: RefCell<Option<ChildIdentity>> = const { RefCell::new(None) };
}

/// Taken by the fork (so one prepared identity serves one child, even when the fork fails).
pub fn take_child_identity() -> Option<ChildIdentity> {
    NEXT_CHILD.with(|n| n.borrow_mut().take())
}

impl ChildIdentity {
    /// In the child, first thing after the fork. Failures are the child's to shrug off, as
    /// Redis's child does (it only logs them, and the parent cannot be told any better).
    pub fn apply(&self) {
        if let Some(title) = &self.title {
            write_title(title);
        }
        if let Some(v) = self.oom_score_adj {
            let _ = set_oom_score_adj(v);
        }
        if let Some(cpus) = &self.cpus {
            let _ = set_affinity(cpus);
        }
    }
}

// ---- Unix datagrams ----

/// A sockaddr_un for `path` (a leading '@' names an abstract socket, as systemd writes
/// NOTIFY_SOCKET) and its length.
fn unix_address(path: &[u8]) -> io::Result<(SockaddrUn, u32)> {
    let mut addr = SockaddrUn { family: AF_UNIX as u16, path: [0; 108] };
    if path.is_empty() || path.len() >= addr.path.len() {
        return Err(io::Error::from_raw_os_error(22));
    }
    addr.path[..path.len()].copy_from_slice(path);
    if path[0] == b'@' {
        addr.path[0] = 0;
    }
    let len = std::mem::size_of::<u16>() + path.len() + usize::from(path[0] != b'@');
    Ok((addr, len as u32))
}

fn datagram_socket() -> io::Result<c_int> {
    // SAFETY: plain integers in, a descriptor (or -1) out.
    let fd = unsafe { socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) };
    if fd < 0 { Err(io::Error::last_os_error()) } else { Ok(fd) }
}

/// Sends one datagram to the Unix socket at `path`. No reply is read: sd_notify and syslog()
/// expect none.
pub fn send_datagram(path: &[u8], payload: &[u8]) -> io::Result<()> {
    let (addr, addrlen) = unix_address(path)?;
    let fd = datagram_socket()?;
    // SAFETY: payload is valid for reads of its length; addr is an initialised sockaddr_un of
    // at least `addrlen` bytes; fd is the socket just made.
    let sent = unsafe { sendto(fd, payload.as_ptr() as *const c_void, payload.len(), MSG_NOSIGNAL, &addr as *const SockaddrUn as *const c_void, addrlen) };
    let result = if sent < 0 { Err(io::Error::last_os_error()) } else { Ok(()) };
    // SAFETY: fd is ours and closed once.
    unsafe { close(fd) };
    result
}

/// A datagram socket bound at `path`, non-blocking reads: the receiving end tests use for
/// what the server sends (Node has no Unix datagram sockets).
pub fn bind_datagram(path: &[u8]) -> io::Result<i32> {
    let (addr, addrlen) = unix_address(path)?;
    let fd = datagram_socket()?;
    // SAFETY: addr is an initialised sockaddr_un of at least `addrlen` bytes.
    if unsafe { bind(fd, &addr as *const SockaddrUn as *const c_void, addrlen) } < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: fd is ours and closed once.
        unsafe { close(fd) };
        return Err(e);
    }
    Ok(fd)
}

/// One datagram waiting on `fd`, or None.
pub fn recv_datagram(fd: i32) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 65536];
    // SAFETY: buf is valid for writes of its length.
    let n = unsafe { recv(fd, buf.as_mut_ptr() as *mut c_void, buf.len(), MSG_DONTWAIT) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock { Ok(None) } else { Err(e) };
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

/// raise(3): upstart's "ready" is the job stopping itself (SIGSTOP) until upstart continues it.
pub fn raise_signal(sig: i32) -> io::Result<()> {
    // SAFETY: raise takes a plain signal number.
    if unsafe { raise(sig) } != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

// ---- exports (TypeScript's src/proc.ts) ----

fn optional_i64(env: &Env, a: &JsArgs, i: usize) -> Result<Option<i64>, String> {
    let v = a.value(i)?;
    if env.is_nullish(v) { Ok(None) } else { env.value_i64(v).map(Some) }
}

fn cpus_arg(env: &Env, a: &JsArgs, i: usize) -> Result<Option<Vec<u32>>, String> {
    let v = a.value(i)?;
    if env.is_nullish(v) {
        return Ok(None);
    }
    let n = env.array_len(v)?;
    let mut cpus = Vec::with_capacity(n as usize);
    for k in 0..n {
        let c = env.value_i64(env.element(v, k)?)?;
        cpus.push(u32::try_from(c).map_err(|_| format!("CPU {c} out of range"))?);
    }
    Ok(Some(cpus))
}

/// prepareChild(title | null, oomScoreAdj | null, cpus | null): what the next fork's child sets.
fn prepare_child(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let tv = a.value(0)?;
    let title = if env.is_nullish(tv) { None } else { Some(a.string(env, 0)?.into_bytes()) };
    let oom_score_adj = optional_i64(env, a, 1)?.map(|v| v as i32);
    let cpus = cpus_arg(env, a, 2)?;
    // Read the argv area now: the child should not be the first to parse /proc.
    let _ = arg_area();
    NEXT_CHILD.with(|n| *n.borrow_mut() = Some(ChildIdentity { title, oom_score_adj, cpus }));
    Ok(env.undefined())
}

fn title_capacity_export(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.int(title_capacity() as i64))
}

fn thread_name_export(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    thread_name().map(|n| env.string(&n)).map_err(|e| e.to_string())
}

fn set_thread_name_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    set_thread_name(&a.string(env, 0)?).map_err(|e| e.to_string())?;
    Ok(env.undefined())
}

fn set_affinity_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let cpus = cpus_arg(env, a, 0)?.unwrap_or_default();
    set_affinity(&cpus).map_err(|e| e.to_string())?;
    Ok(env.undefined())
}

/// setBioAffinity(cpus): what background threads started from now on apply.
fn set_bio_affinity_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    *BIO_CPUS.lock().unwrap_or_else(|e| e.into_inner()) = cpus_arg(env, a, 0)?;
    Ok(env.undefined())
}

fn affinity_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let tid = optional_i64(env, a, 0)?.unwrap_or(0) as i32;
    let cpus = affinity(tid).map_err(|e| e.to_string())?;
    let values: Vec<JsValue> = cpus.iter().map(|&c| env.int(c as i64)).collect();
    env.array(&values)
}

/// sendDatagram(path, payload: Buffer): 0, or -errno as sd_notify reports a failure.
fn send_datagram_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let path = a.string(env, 0)?;
    Ok(env.int(match send_datagram(path.as_bytes(), a.bytes(env, 1)?) {
        Ok(()) => 0,
        Err(e) => -(e.raw_os_error().unwrap_or(5) as i64),
    }))
}

/// bindDatagram(path): the descriptor of a datagram socket bound there (tests).
fn bind_datagram_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = bind_datagram(a.string(env, 0)?.as_bytes()).map_err(|e| e.to_string())?;
    Ok(env.int(fd as i64))
}

/// recvDatagram(fd): the next datagram as a Buffer, or null when none waits.
fn recv_datagram_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    match recv_datagram(a.i64(env, 0)? as i32).map_err(|e| e.to_string())? {
        Some(d) => Ok(env.buffer(&d)),
        None => Ok(env.null()),
    }
}

fn raise_signal_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    raise_signal(a.i64(env, 0)? as i32).map_err(|e| e.to_string())?;
    Ok(env.undefined())
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "prepareChild", prepare_child)?;
    env.export(exports, "titleCapacity", title_capacity_export)?;
    env.export(exports, "threadName", thread_name_export)?;
    env.export(exports, "setThreadName", set_thread_name_export)?;
    env.export(exports, "setAffinity", set_affinity_export)?;
    env.export(exports, "affinity", affinity_export)?;
    env.export(exports, "setBioAffinity", set_bio_affinity_export)?;
    env.export(exports, "sendDatagram", send_datagram_export)?;
    env.export(exports, "bindDatagram", bind_datagram_export)?;
    env.export(exports, "recvDatagram", recv_datagram_export)?;
    env.export(exports, "raiseSignal", raise_signal_export)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_mask_sets_the_listed_bits() {
        let m = cpu_mask(&[0, 3, 64, 1023, 5000]);
        assert_eq!(m[0], 0b1001);
        assert_eq!(m[1], 1);
        assert_eq!(m[15], 1u64 << 63);
    }

    #[test]
    fn the_argv_area_is_found() {
        assert!(title_capacity() > 0);
    }
}
