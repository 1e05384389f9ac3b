//! Blocking socket I/O with millisecond timeouts on the main thread, for MIGRATE: Redis runs
//! MIGRATE inside the command, with the whole server waiting (anet.c's non-blocking connect,
//! syncio.c's syncWrite / syncReadLine, ae.c's aeWait). The same system calls in the same order
//! give the same outcomes in the kernel's words, which decide MIGRATE's replies (a refused
//! port is a *writing* error in Redis 7.0, not a connecting one). Every unsafe block of the
//! MIGRATE code is here.

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_ulong, c_void};

const AF_UNSPEC: c_int = 0;
const SOCK_STREAM: c_int = 1;
const SOCK_CLOEXEC: c_int = 0o2000000;
const SOL_SOCKET: c_int = 1;
const SO_REUSEADDR: c_int = 2;
const EINPROGRESS: i32 = 115;
const EAGAIN: i32 = 11;
const EINTR: i32 = 4;
const MSG_NOSIGNAL: c_int = 0x4000;
const POLLIN: i16 = 0x1;
const POLLOUT: i16 = 0x4;
const POLLERR: i16 = 0x8;
const POLLHUP: i16 = 0x10;
/// syncio.c's SYNCIO__RESOLUTION: the shortest wait between two attempts.
const RESOLUTION_MS: i64 = 10;

/// glibc's struct addrinfo on Linux (ai_addr comes before ai_canonname there).
#[repr(C)]
struct AddrInfo {
    ai_flags: c_int,
    ai_family: c_int,
    ai_socktype: c_int,
    ai_protocol: c_int,
    ai_addrlen: u32,
    ai_addr: *mut c_void,
    ai_canonname: *mut c_char,
    ai_next: *mut AddrInfo,
}

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

extern "C" {
    fn getaddrinfo(node: *const c_char, service: *const c_char, hints: *const AddrInfo, res: *mut *mut AddrInfo) -> c_int;
    fn freeaddrinfo(res: *mut AddrInfo);
    fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
    fn connect(fd: c_int, addr: *const c_void, len: u32) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: u32) -> c_int;
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
    fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    fn close(fd: c_int) -> c_int;
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Why a transfer stopped: a timeout (syncio's ETIMEDOUT, after which MIGRATE does not retry)
/// or anything else (a reset, a closed connection).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IoFail {
    Timeout,
    Other,
}

/// anetTcpNonBlockConnect: the first address of `host`:`port` whose socket could be created
/// and whose connect() succeeded or is in progress, or None (no such address, a resolver error).
/// `port` goes to the resolver as anet.c prints it: "%d" into 6 bytes, so at most 5 characters.
pub fn connect_nonblocking(host: &[u8], port: i32) -> Option<i32> {
    let host = &host[..host.iter().position(|&b| b == 0).unwrap_or(host.len())];
    let host = CString::new(host).ok()?;
    let mut port_text = port.to_string();
    port_text.truncate(5);
    let service = CString::new(port_text).ok()?;
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
    // addrinfo as getaddrinfo expects; `list` receives a list we free below.
    if unsafe { getaddrinfo(host.as_ptr(), service.as_ptr(), &hints, &mut list) } != 0 {
        return None;
    }
    let mut found = None;
    let mut p = list;
    while !p.is_null() {
        // SAFETY: p is a node of the list getaddrinfo returned, not freed yet.
        let ai = unsafe { &*p };
        p = ai.ai_next;
        // SAFETY: plain integer arguments; the descriptor is ours to close.
        let fd = unsafe { socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC, ai.ai_protocol) };
        if fd < 0 {
            continue;
        }
        let one: c_int = 1;
        // SAFETY: `one` is a c_int that outlives the call, its size passed.
        if unsafe { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one as *const c_int as *const c_void, 4) } < 0
            || crate::os::set_nonblocking(fd).is_err()
        {
            crate::os::close_fd(fd);
            break; // anet.c gives up on this error instead of trying the next address
        }
        // SAFETY: ai_addr/ai_addrlen describe a socket address getaddrinfo filled in.
        if unsafe { connect(fd, ai.ai_addr, ai.ai_addrlen) } == 0 || errno() == EINPROGRESS {
            found = Some(fd);
            break;
        }
        crate::os::close_fd(fd);
    }
    // SAFETY: the list came from getaddrinfo and is freed once; no node is used after this.
    unsafe { freeaddrinfo(list) };
    found
}

/// aeWait: poll one descriptor for `events` up to `ms`; POLLERR and POLLHUP count as writable.
fn wait(fd: i32, events: i16, ms: i64) -> (bool, bool) {
    let mut pfd = PollFd { fd, events, revents: 0 };
    let ms = ms.clamp(0, c_int::MAX as i64) as c_int;
    // SAFETY: one initialised pollfd, nfds 1.
    let n = unsafe { poll(&mut pfd, 1, ms) };
    if n != 1 {
        return (false, false);
    }
    let r = pfd.revents;
    (r & POLLIN != 0, r & (POLLOUT | POLLERR | POLLHUP) != 0)
}

/// connBlockingConnect's wait for the connection: true when the socket turned writable (which
/// Redis 7.0 does not check: the caller goes on either way, see migrate.rs).
pub fn wait_connected(fd: i32, timeout_ms: i64) -> bool {
    wait(fd, POLLOUT, timeout_ms).1
}

fn now_ms() -> i64 {
    crate::now_ms()
}

/// syncWrite: all of `data`, trying first and waiting only on EAGAIN; fails once `timeout_ms`
/// has passed since the start.
pub fn sync_write(fd: i32, mut data: &[u8], timeout_ms: i64) -> Result<(), IoFail> {
    let start = now_ms();
    let mut remaining = timeout_ms;
    loop {
        let w = remaining.max(RESOLUTION_MS);
        // SAFETY: data is a live slice of data.len() bytes; MSG_NOSIGNAL makes a reset peer an
        // EPIPE error instead of a signal (Redis ignores SIGPIPE).
        let n = unsafe { send(fd, data.as_ptr() as *const c_void, data.len(), MSG_NOSIGNAL) };
        if n < 0 {
            let e = errno();
            if e != EAGAIN && e != EINTR {
                return Err(IoFail::Other);
            }
        } else {
            data = &data[n as usize..];
        }
        if data.is_empty() {
            return Ok(());
        }
        wait(fd, POLLOUT, w);
        let elapsed = now_ms() - start;
        if elapsed >= timeout_ms {
            return Err(IoFail::Timeout);
        }
        remaining = timeout_ms - elapsed;
    }
}

/// syncRead of one byte: the end of the stream is an error too.
fn read_byte(fd: i32, timeout_ms: i64) -> Result<u8, IoFail> {
    let start = now_ms();
    let mut remaining = timeout_ms;
    let mut byte = 0u8;
    loop {
        let w = remaining.max(RESOLUTION_MS);
        // SAFETY: reads at most one byte into a local.
        let n = unsafe { read(fd, &mut byte as *mut u8 as *mut c_void, 1) };
        if n == 0 {
            return Err(IoFail::Other);
        }
        if n == 1 {
            return Ok(byte);
        }
        let e = errno();
        if e != EAGAIN && e != EINTR {
            return Err(IoFail::Other);
        }
        wait(fd, POLLIN, w);
        let elapsed = now_ms() - start;
        if elapsed >= timeout_ms {
            return Err(IoFail::Timeout);
        }
        remaining = timeout_ms - elapsed;
    }
}

/// syncReadLine into a buffer of `size` bytes: a line without its "\r\n", at most size - 1
/// bytes (a longer line is cut there, its rest left in the socket); each byte has the whole
/// timeout. Also the count syncReadLine returns, which includes a '\r' it dropped: a bare
/// "\n" counts 0, which MIGRATE takes as an I/O error.
pub fn sync_read_line(fd: i32, size: usize, timeout_ms: i64) -> Result<(Vec<u8>, usize), IoFail> {
    let mut line = Vec::new();
    let mut room = size - 1;
    while room > 0 {
        let c = read_byte(fd, timeout_ms)?;
        if c == b'\n' {
            let n = line.len();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok((line, n));
        }
        line.push(c);
        room -= 1;
    }
    let n = line.len();
    Ok((line, n))
}

pub fn close_socket(fd: i32) {
    // SAFETY: closing a descriptor this module opened and the cache owned.
    unsafe { close(fd) };
}
