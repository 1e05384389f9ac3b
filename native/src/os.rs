//! Safe wrappers over the libc calls keyfork needs beyond std (declared once in libc.rs):
//! process creation and reaping for the snapshot child, pipes for its reports, sockets,
//! signals and the loader's lookups for the crash report, prctl for THP.

use crate::libc::*;
use std::io;
use std::os::raw::{c_int, c_uint, c_ulong, c_void};

pub use crate::libc::Pid;

pub const SIGKILL: c_int = 9;
pub const SIGTERM: c_int = 15;
pub const SIGUSR1: c_int = 10;
const WNOHANG: c_int = 1;
const F_GETFL: c_int = 3;
const F_SETFL: c_int = 4;
const PR_SET_THP_DISABLE: c_int = 41;
const PR_GET_THP_DISABLE: c_int = 42;

const F_DUPFD_CLOEXEC: c_int = 1030;
const LOCK_EX: c_int = 2;
const LOCK_NB: c_int = 4;

/// flock(fd, LOCK_EX|LOCK_NB): the cluster config file's lock (held as long as the descriptor).
pub fn lock_exclusive_now(fd: i32) -> io::Result<()> {
    // SAFETY: flock takes a descriptor number and flags; a bad descriptor is an error return.
    if unsafe { flock(fd, LOCK_EX | LOCK_NB) } < 0 { return Err(io::Error::last_os_error()); }
    Ok(())
}

/// A second descriptor for the same socket (close-on-exec): the addon's own hold on a
/// connection Node accepted, which stays open when Node closes its handle.
pub fn dup_cloexec(fd: i32) -> io::Result<i32> {
    // SAFETY: F_DUPFD_CLOEXEC takes and returns plain ints; fd is a descriptor of this process.
    let new = unsafe { fcntl(fd, F_DUPFD_CLOEXEC, 3 as c_int) };
    if new < 0 { Err(io::Error::last_os_error()) } else { Ok(new) }
}

/// What one read of a non-blocking socket gave.
pub enum Received {
    Bytes(usize),
    /// Nothing available now.
    Nothing,
    /// The peer closed its side.
    Closed,
    /// The read failed with this errno (a reset connection...).
    Failed(i32),
}

/// One non-blocking read into `buf`.
pub fn recv_now(fd: i32, buf: &mut [u8]) -> Received {
    loop {
        // SAFETY: buf is valid for writes of its length.
        let n = unsafe { recv(fd, buf.as_mut_ptr() as *mut c_void, buf.len(), MSG_DONTWAIT) };
        if n > 0 { return Received::Bytes(n as usize); }
        if n == 0 { return Received::Closed; }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::WouldBlock => return Received::Nothing,
            io::ErrorKind::Interrupted => continue,
            _ => return Received::Failed(io::Error::last_os_error().raw_os_error().unwrap_or(0)),
        }
    }
}

/// A connection waiting on a listening socket, non-blocking and close-on-exec; None when none
/// waits (or the accept failed).
pub fn accept_now(listener: i32) -> Option<i32> {
    // SAFETY: null address and length are allowed (the peer address is not wanted).
    let fd = unsafe { accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), SOCK_NONBLOCK | SOCK_CLOEXEC) };
    (fd >= 0).then_some(fd)
}

/// The descriptors among `fds` with something to read (data, end of stream or an error), without
/// waiting.
pub fn readable_now(fds: &[i32]) -> Vec<i32> {
    let mut set: Vec<PollFd> = fds.iter().map(|&fd| PollFd { fd, events: POLLIN, revents: 0 }).collect();
    // SAFETY: set holds set.len() initialised pollfd structs; timeout 0 never blocks.
    let n = unsafe { poll(set.as_mut_ptr(), set.len() as c_ulong, 0) };
    if n <= 0 {
        return Vec::new();
    }
    set.iter().filter(|p| p.revents != 0).map(|p| p.fd).collect()
}

/// One read of at most `max` bytes from a non-blocking descriptor: Ok(None) at end of stream,
/// Ok(Some(empty)) when nothing is available.
pub fn read_some(fd: i32, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; max];
    loop {
        match read_into(fd, &mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Some(Vec::new())),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

pub const SIGINT: c_int = 2;
const SIG_UNBLOCK: c_int = 1;

/// In the child: Node's handlers for SIGTERM, SIGINT and SIGUSR1 were inherited, which would
/// make the child ignore an operator's `kill`. Back to the default action (terminate), unblocked.
pub fn default_signals_for_child() {
    let mut set = [0u64; 16];
    for sig in [SIGINT, SIGTERM, SIGUSR1] {
        // SAFETY: installing SIG_DFL has no memory-safety preconditions.
        unsafe { signal(sig, SIG_DFL) };
        set[0] |= 1u64 << (sig - 1);
    }
    // SAFETY: `set` is a properly sized, initialised sigset_t (glibc: 1024 bits); old may be null.
    unsafe { sigprocmask(SIG_UNBLOCK, &set, std::ptr::null_mut()) };
}

/// What fork() returned, seen from the side that is running.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// fork(2) through libc (so glibc's atfork handlers keep malloc usable in the child).
pub fn fork_process() -> io::Result<Forked> {
    // SAFETY: fork has no memory-safety preconditions; the caller holds no lock that the child
    // needs (the JS thread is the only one touching our state) and the child only runs Rust
    // code that ends in `exit_now`, never returning into V8 or libuv.
    match unsafe { fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// errno EPIPE: a write to a pipe no process reads any more.
pub const EPIPE: i32 = 32;

/// Ends the process immediately, without running atexit handlers or flushing stdio buffers
/// inherited from the parent (which would duplicate the parent's output).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { _exit(code) }
}

pub fn current_pid() -> Pid {
    // SAFETY: getpid has no preconditions.
    unsafe { getpid() }
}

/// How a child ended.
#[derive(Debug, Clone, Copy)]
pub enum ChildExit {
    Code(i32),
    Signal(i32),
}

/// Non-blocking waitpid: None while the child runs.
pub fn try_wait(pid: Pid) -> io::Result<Option<ChildExit>> {
    let mut status: c_int = 0;
    // SAFETY: status is a valid out pointer.
    let r = unsafe { waitpid(pid, &mut status, WNOHANG) };
    if r < 0 { return Err(io::Error::last_os_error()); }
    if r == 0 { return Ok(None); }
    // The W* macros of sys/wait.h, spelled out.
    let sig = status & 0x7f;
    Ok(Some(if sig == 0 { ChildExit::Code((status >> 8) & 0xff) } else { ChildExit::Signal(sig) }))
}

/// Blocking waitpid (used after killing a child we are abandoning).
pub fn wait_blocking(pid: Pid) -> io::Result<ChildExit> {
    loop {
        let mut status: c_int = 0;
        // SAFETY: status is a valid out pointer.
        let r = unsafe { waitpid(pid, &mut status, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted { continue; }
            return Err(e);
        }
        let sig = status & 0x7f;
        return Ok(if sig == 0 { ChildExit::Code((status >> 8) & 0xff) } else { ChildExit::Signal(sig) });
    }
}

pub fn send_signal(pid: Pid, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { kill(pid, sig) } < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// A pipe whose read end is non-blocking and both ends close-on-exec: (read, write).
pub fn report_pipe() -> io::Result<(i32, i32)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { pipe2(fds.as_mut_ptr(), O_CLOEXEC) } < 0 { return Err(io::Error::last_os_error()); }
    set_nonblocking(fds[0])?;
    Ok((fds[0], fds[1]))
}

pub fn set_nonblocking(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL take and return plain ints.
    let flags = unsafe { fcntl(fd, F_GETFL) };
    if flags < 0 { return Err(io::Error::last_os_error()); }
    // SAFETY: as above.
    if unsafe { fcntl(fd, F_SETFL, flags | O_NONBLOCK) } < 0 { return Err(io::Error::last_os_error()); }
    Ok(())
}

pub fn close_fd(fd: i32) {
    // SAFETY: closing a descriptor we own; errors are irrelevant here.
    unsafe { close(fd) };
}

/// In the child: closes every inherited descriptor from 3 up except those in `keep` (its report
/// pipe, a data pipe), so clients see their connections close when the parent closes them, not
/// when the child exits.
pub fn close_inherited_except_all(keep: &[i32]) {
    let mut kept: Vec<i32> = keep.iter().copied().filter(|&fd| fd >= 3).collect();
    kept.sort_unstable();
    kept.dedup();
    let mut first = 3;
    for fd in kept {
        if fd > first {
            // SAFETY: the child owns its descriptor table; nothing in [first, fd) is used after.
            unsafe { close_range(first as c_uint, (fd - 1) as c_uint, 0) };
        }
        first = fd + 1;
    }
    // SAFETY: as above, for everything above the last descriptor kept.
    unsafe { close_range(first as c_uint, c_uint::MAX, 0) };
}

/// Asks for a larger pipe buffer (F_SETPIPE_SZ), so a child streaming an RDB blocks less often
/// on a parent that forwards it; a refusal (a lower /proc/sys/fs/pipe-max-size) changes nothing.
pub fn grow_pipe(fd: i32, bytes: usize) {
    const F_SETPIPE_SZ: c_int = 1031;
    // SAFETY: fcntl on a descriptor we own with a plain int argument.
    unsafe { fcntl(fd, F_SETPIPE_SZ, bytes as c_int) };
}

/// Reads what is available on a non-blocking descriptor (empty when nothing is).
pub fn read_available(fd: i32, out: &mut Vec<u8>) -> io::Result<bool> {
    let mut buf = [0u8; 8192];
    loop {
        match read_into(fd, &mut buf) {
            Ok(0) => return Ok(false), // writer closed: end of reports
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes what a socket accepts now, without blocking and without SIGPIPE: the bytes written,
/// 0 when its send buffer is full.
pub fn send_nonblocking(fd: i32, data: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: data is valid for reads of its length.
        let n = unsafe { send(fd, data.as_ptr() as *const c_void, data.len(), MSG_DONTWAIT | MSG_NOSIGNAL) };
        if n >= 0 { return Ok(n as usize); }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => return Ok(0),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(e),
        }
    }
}

/// Writes all of `data` to a blocking descriptor.
pub fn write_all(fd: i32, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match write_some(fd, data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One write(2) of `data`: the bytes written. Async-signal-safe (no allocation; the error is
/// errno's number).
pub fn write_some(fd: i32, data: &[u8]) -> io::Result<usize> {
    // SAFETY: data is valid for reads of its length.
    let n = unsafe { write(fd, data.as_ptr() as *const c_void, data.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// One read(2) into `buf`: the bytes read, 0 at the end of the stream. Async-signal-safe.
pub fn read_into(fd: i32, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for writes of its length.
    let n = unsafe { read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Waits up to `ms` (0: not at all) for `events` on one descriptor: the events that came
/// (POLLERR / POLLHUP included), 0 on a timeout or an error.
pub fn poll_one(fd: i32, events: i16, ms: i64) -> i16 {
    let mut pfd = PollFd { fd, events, revents: 0 };
    let ms = ms.clamp(0, c_int::MAX as i64) as c_int;
    // SAFETY: one initialised pollfd, nfds 1.
    let n = unsafe { poll(&mut pfd, 1, ms) };
    if n == 1 { pfd.revents } else { 0 }
}

/// A resolved stream address (getaddrinfo's ai_family, ai_socktype, ai_protocol, ai_addr).
pub struct StreamAddr {
    pub family: i32,
    pub socktype: i32,
    pub protocol: i32,
    pub addr: Vec<u8>,
}

/// getaddrinfo(host, service) for a stream socket of any family, in the resolver's order;
/// None when it fails.
pub fn resolve_stream(host: &std::ffi::CStr, service: &std::ffi::CStr) -> Option<Vec<StreamAddr>> {
    const AF_UNSPEC: c_int = 0;
    let hints = AddrInfo {
        ai_flags: 0,
        ai_family: AF_UNSPEC,
        ai_socktype: SOCK_STREAM,
        ai_protocol: 0,
        ai_addrlen: 0,
        ai_addr: std::ptr::null_mut(),
        ai_canonname: std::ptr::null_mut(),
        ai_next: std::ptr::null_mut(),
    };
    let mut list: *mut AddrInfo = std::ptr::null_mut();
    // SAFETY: both strings are NUL-terminated and live across the call; hints is a zeroed
    // addrinfo as getaddrinfo expects; `list` receives a list freed below.
    if unsafe { getaddrinfo(host.as_ptr(), service.as_ptr(), &hints, &mut list) } != 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut p = list;
    while !p.is_null() {
        // SAFETY: p is a node of the list getaddrinfo returned, not freed yet; ai_addr points
        // to ai_addrlen bytes of socket address.
        let (ai, addr) = unsafe {
            let ai = &*p;
            (ai, std::slice::from_raw_parts(ai.ai_addr as *const u8, ai.ai_addrlen as usize).to_vec())
        };
        out.push(StreamAddr { family: ai.ai_family, socktype: ai.ai_socktype, protocol: ai.ai_protocol, addr });
        p = ai.ai_next;
    }
    // SAFETY: the list came from getaddrinfo and is freed once; nothing of it is used after.
    unsafe { freeaddrinfo(list) };
    Some(out)
}

/// A new close-on-exec socket for `a`.
pub fn socket_for(a: &StreamAddr) -> io::Result<i32> {
    // SAFETY: plain integer arguments; the descriptor is the caller's to close.
    let fd = unsafe { socket(a.family, a.socktype | SOCK_CLOEXEC, a.protocol) };
    if fd < 0 { Err(io::Error::last_os_error()) } else { Ok(fd) }
}

/// connect(2) to `a` (on a non-blocking socket an EINPROGRESS error means under way).
pub fn connect_to(fd: i32, a: &StreamAddr) -> io::Result<()> {
    // SAFETY: a.addr holds the socket address getaddrinfo produced, its length passed.
    let rc = unsafe { connect(fd, a.addr.as_ptr() as *const c_void, a.addr.len() as u32) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// SO_REUSEADDR on (anet.c sets it on the sockets it connects too).
pub fn set_reuse_address(fd: i32) -> io::Result<()> {
    const SO_REUSEADDR: c_int = 2;
    set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1)
}

/// Returns free heap memory to the kernel (glibc's malloc_trim: the top of the heap beyond
/// `keep_at_top` bytes, and whole free pages inside it). Short-lived request buffers interleave
/// with long-lived keys, so after a burst of input the heap holds free pages that glibc would
/// otherwise keep; Redis's jemalloc purges such pages on its own.
pub fn trim_heap(keep_at_top: usize) -> bool {
    // SAFETY: malloc_trim takes a plain size and only manipulates the allocator's own state.
    unsafe { malloc_trim(keep_at_top) == 1 }
}

/// The C heap as the allocator sees it: (bytes in use, free bytes it holds in its arenas, of
/// those the free space at the top of the main heap). In use covers the keyspace and everything
/// else the process malloc'd (Buffers' memory too).
pub fn heap_usage() -> (u64, u64, u64) {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value.
    let m = unsafe { mallinfo2() };
    ((m.uordblks + m.hblkhd) as u64, m.fordblks as u64, m.keepcost as u64)
}

const SO_KEEPALIVE: c_int = 9;
const IPPROTO_TCP: c_int = 6;
const TCP_KEEPIDLE: c_int = 4;
const TCP_KEEPINTVL: c_int = 5;
const TCP_KEEPCNT: c_int = 6;
const TCP_NODELAY: c_int = 1;

fn set_int_option(fd: i32, level: c_int, name: c_int, value: c_int) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and the length passed is its size.
    let rc = unsafe { setsockopt(fd, level, name, &value as *const c_int as *const c_void, std::mem::size_of::<c_int>() as u32) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

const SO_MARK: c_int = 36;

/// socket-mark-id: SO_MARK (fwmark) on a socket; needs CAP_NET_ADMIN (or CAP_NET_RAW).
pub fn set_socket_mark(fd: i32, mark: u32) -> io::Result<()> {
    // SAFETY: `mark` is a live u32 and the length passed is its size (the kernel reads 4 bytes).
    let rc = unsafe { setsockopt(fd, SOL_SOCKET, SO_MARK, &mark as *const u32 as *const c_void, 4) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
fn int_option(fd: i32, level: c_int, name: c_int) -> io::Result<c_int> {
    let mut value: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as u32;
    // SAFETY: `value` and `len` are live and `len` holds the size of `value`.
    let rc = unsafe { getsockopt(fd, level, name, &mut value as *mut c_int as *mut c_void, &mut len) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(value) }
}

/// `tcp-keepalive` as Redis's anetKeepAlive sets it: the first probe after `interval` idle
/// seconds, then one every interval/3 seconds (at least 1), the peer dead after 3 unanswered.
pub fn set_tcp_keepalive(fd: i32, interval: i32) -> io::Result<()> {
    set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1)?;
    set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, interval)?;
    set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, (interval / 3).max(1))?;
    set_int_option(fd, IPPROTO_TCP, TCP_KEEPCNT, 3)
}

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// The peer's (`peer`) or the socket's own IP address and port; None for other families.
pub fn socket_address(fd: i32, peer: bool) -> Option<std::net::SocketAddr> {
    // Room for a sockaddr_storage.
    let mut raw = [0u8; 128];
    let mut len = raw.len() as c_uint;
    let ptr = raw.as_mut_ptr() as *mut c_void;
    // SAFETY: `raw` is writable for `len` bytes, which the call is told.
    let rc = unsafe { if peer { getpeername(fd, ptr, &mut len) } else { getsockname(fd, ptr, &mut len) } };
    if rc < 0 { return None; }
    // sockaddr_in / sockaddr_in6: the family (host order), the port (network order), then
    // the IPv4 address, or the flow info and the IPv6 address.
    let port = u16::from_be_bytes([raw[2], raw[3]]);
    match u16::from_ne_bytes([raw[0], raw[1]]) {
        AF_INET => Some((std::net::Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]), port).into()),
        AF_INET6 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&raw[8..24]);
            Some((std::net::Ipv6Addr::from(ip), port).into())
        }
        _ => None,
    }
}

/// TCP_NODELAY on (Nagle off) or off.
pub fn set_tcp_no_delay(fd: i32, on: bool) -> io::Result<()> {
    set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, on as c_int)
}

/// [SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT] of a socket.
#[cfg(test)]
pub fn tcp_keepalive(fd: i32) -> io::Result<[i32; 4]> {
    Ok([
        int_option(fd, SOL_SOCKET, SO_KEEPALIVE)?,
        int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE)?,
        int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL)?,
        int_option(fd, IPPROTO_TCP, TCP_KEEPCNT)?,
    ])
}

/// `disable-thp`: asks the kernel not to back this process with transparent huge pages,
/// whose 2 MB copy-on-write faults make a forked save expensive.
pub fn disable_thp() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers.
    if unsafe { prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) } < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

pub fn thp_disabled() -> bool {
    // SAFETY: as above.
    unsafe { prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 }
}

/// The program break: where glibc's main heap (the one the JS thread's allocations come from)
/// ends now.
pub fn program_break() -> usize {
    // SAFETY: sbrk(0) only reads the current break; it changes nothing.
    unsafe { sbrk(0) as usize }
}

/// madvise(MADV_HUGEPAGE) over the whole pages of `[start, start + len)`: memory first touched
/// there afterwards comes in 2 MB transparent huge pages where the kernel allows them (THP
/// "madvise" or "always", not disabled for the process). A hint: a refusal changes nothing.
pub fn advise_huge_pages(start: usize, len: usize) {
    const MADV_HUGEPAGE: c_int = 14;
    const PAGE: usize = 4096;
    let first = (start + PAGE - 1) & !(PAGE - 1);
    let end = (start + len) & !(PAGE - 1);
    if end > first {
        // SAFETY: MADV_HUGEPAGE changes no contents and no mapping's accessibility, only how
        // future faults in the range are backed; pages outside any mapping make it fail (ENOMEM).
        unsafe { madvise(first as *mut c_void, end - first, MADV_HUGEPAGE) };
    }
}

/// Where glibc's main heap starts (the lowest `[heap]` mapping of /proc/self/maps).
pub fn heap_start() -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter(|l| l.ends_with("[heap]"))
        .filter_map(|l| usize::from_str_radix(l.split('-').next()?, 16).ok())
        .min()
}

/// The system's transparent huge page mode ("always", "madvise" or "never"), None when the
/// kernel has no THP.
pub fn thp_mode() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    selected_mode(&text).map(str::to_string)
}

/// The bracketed choice of a sysfs mode list ("always [madvise] never" -> "madvise").
fn selected_mode(text: &str) -> Option<&str> {
    let start = text.find('[')? + 1;
    Some(&text[start..start + text[start..].find(']')?])
}

/// madvise(MADV_COLLAPSE) over the 2 MB blocks of `[start, start + len)`: the 4 KB pages already
/// there are copied into huge pages now (Linux 6.1+; a refusal changes nothing).
pub fn collapse_huge_pages(start: usize, len: usize) {
    const MADV_COLLAPSE: c_int = 25;
    const HUGE: usize = 2 << 20;
    let first = (start + HUGE - 1) & !(HUGE - 1);
    let end = (start + len) & !(HUGE - 1);
    if end > first {
        // SAFETY: MADV_COLLAPSE keeps every byte's contents and the mapping's accessibility; it
        // only changes which physical pages back the range.
        unsafe { madvise(first as *mut c_void, end - first, MADV_COLLAPSE) };
    }
}

/// glibc's M_TOP_PAD (how much more than asked the main heap grows by each time it grows) and
/// M_TRIM_THRESHOLD (how much free memory at the heap's top makes free() give it back).
pub fn set_malloc_growth(top_pad: usize, trim_threshold: usize) {
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_TOP_PAD: c_int = -2;
    // SAFETY: mallopt takes two plain ints and only sets an allocator parameter.
    unsafe {
        mallopt(M_TOP_PAD, top_pad.min(i32::MAX as usize) as c_int);
        mallopt(M_TRIM_THRESHOLD, trim_threshold.min(i32::MAX as usize) as c_int);
    }
}

pub fn page_size() -> usize {
    const SC_PAGESIZE: c_int = 30;
    // SAFETY: sysconf takes a plain int.
    let n = unsafe { sysconf(SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// This process's Private_Dirty bytes (/proc/self/smaps_rollup): in a forked child, the
/// memory copied on write so far, as Redis's child reports it.
pub fn private_dirty_bytes() -> u64 {
    let text = match std::fs::read_to_string("/proc/self/smaps_rollup") {
        Ok(t) => t,
        Err(_) => return 0,
    };
    text.lines()
        .filter(|l| l.starts_with("Private_Dirty:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

/// Starts writing `len` bytes of `fd` from `offset` to the device without waiting for it
/// (sync_file_range SYNC_FILE_RANGE_WRITE): a file written in pieces then finds most of its
/// data already on disk when it is fsynced. A hint: a refusal (a file system without it)
/// only leaves the work to the fsync.
pub fn start_writeback(fd: i32, offset: u64, len: u64) {
    const SYNC_FILE_RANGE_WRITE: c_uint = 2;
    // SAFETY: sync_file_range takes a descriptor and plain integers; it reads no memory of ours.
    unsafe { sync_file_range(fd, offset as i64, len as i64, SYNC_FILE_RANGE_WRITE) };
}

/// fsync of a directory, so a rename inside it is durable.
pub fn fsync_dir(path: &std::path::Path) -> io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thp_mode_is_the_bracketed_choice() {
        assert_eq!(selected_mode("always [madvise] never\n"), Some("madvise"));
        assert_eq!(selected_mode("[always] madvise never"), Some("always"));
        assert_eq!(selected_mode("always madvise [never]"), Some("never"));
        assert_eq!(selected_mode("always madvise never"), None);
        assert_eq!(selected_mode("[always"), None);
    }

    #[test]
    fn tcp_keepalive_is_set_as_redis_sets_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        use std::os::unix::io::AsRawFd;
        let fd = stream.as_raw_fd();
        set_tcp_keepalive(fd, 300).unwrap();
        assert_eq!(tcp_keepalive(fd).unwrap(), [1, 300, 100, 3]);
        set_tcp_keepalive(fd, 2).unwrap();
        assert_eq!(tcp_keepalive(fd).unwrap(), [1, 2, 1, 3]);
    }
}
