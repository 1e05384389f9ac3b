//! Blocking socket I/O with millisecond timeouts on the main thread, for MIGRATE: Redis runs
//! MIGRATE inside the command, with the whole server waiting (anet.c's non-blocking connect,
//! syncio.c's syncWrite / syncReadLine, ae.c's aeWait). The same system calls in the same order
//! give the same outcomes in the kernel's words, which decide MIGRATE's replies (a refused
//! port is a *writing* error in Redis 7.0, not a connecting one). The system calls themselves
//! are os.rs's wrappers; nothing here is unsafe.

use crate::libc::{POLLERR, POLLHUP, POLLIN, POLLOUT};
use crate::os;
use std::ffi::CString;
use std::io;

const EINPROGRESS: i32 = 115;
/// syncio.c's SYNCIO__RESOLUTION: the shortest wait between two attempts.
const RESOLUTION_MS: i64 = 10;

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
    let addrs = os::resolve_stream(&host, &service)?;
    for a in &addrs {
        let Ok(fd) = os::socket_for(a) else { continue };
        if os::set_reuse_address(fd).is_err() || os::set_nonblocking(fd).is_err() {
            os::close_fd(fd);
            return None; // anet.c gives up on this error instead of trying the next address
        }
        match os::connect_to(fd, a) {
            Ok(()) => return Some(fd),
            Err(e) if e.raw_os_error() == Some(EINPROGRESS) => return Some(fd),
            Err(_) => os::close_fd(fd),
        }
    }
    None
}

/// aeWait: poll one descriptor for `events` up to `ms`; POLLERR and POLLHUP count as writable.
fn wait(fd: i32, events: i16, ms: i64) -> (bool, bool) {
    let r = os::poll_one(fd, events, ms);
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
        // Without SIGPIPE (a reset peer is an EPIPE error; Redis ignores SIGPIPE); a full send
        // buffer is 0 bytes written, then the wait.
        match os::send_nonblocking(fd, data) {
            Ok(n) => data = &data[n..],
            Err(_) => return Err(IoFail::Other),
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
pub fn read_byte(fd: i32, timeout_ms: i64) -> Result<u8, IoFail> {
    let start = now_ms();
    let mut remaining = timeout_ms;
    let mut byte = 0u8;
    loop {
        let w = remaining.max(RESOLUTION_MS);
        match os::read_into(fd, std::slice::from_mut(&mut byte)) {
            Ok(0) => return Err(IoFail::Other),
            Ok(_) => return Ok(byte),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            Err(_) => return Err(IoFail::Other),
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
    os::close_fd(fd);
}
