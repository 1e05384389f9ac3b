//! The two OS calls the Lua debugger needs beyond os.rs: waiting on the debugging client's
//! socket (its descriptor stays non-blocking for Node; the debugger waits with poll instead of
//! switching it to blocking mode as Redis's connBlock does) and ignoring a signal in the forked
//! session child.

use std::ffi::{c_int, c_ulong};

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

extern "C" {
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
}

pub const POLLIN: i16 = 0x1;
pub const POLLOUT: i16 = 0x4;

/// Waits until `fd` is ready for `events` (or has an error or hang-up), at most `timeout_ms`
/// (-1: no limit). False when the time ran out.
pub fn wait_ready(fd: i32, events: i16, timeout_ms: i32) -> bool {
    let mut set = PollFd { fd, events, revents: 0 };
    loop {
        // SAFETY: `set` is one initialised pollfd struct, alive for the call.
        let n = unsafe { poll(&mut set, 1, timeout_ms) };
        if n > 0 {
            return true;
        }
        if n == 0 {
            return false;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return true;
        }
    }
}

const SIG_IGN: usize = 1;
pub const SIGINT: c_int = 2;
pub const SIGTERM: c_int = 15;

/// The session child ignores SIGTERM and SIGINT, as Redis's does: they are the parent's.
pub fn ignore_signal(sig: c_int) {
    // SAFETY: installing SIG_IGN has no memory-safety preconditions.
    unsafe { signal(sig, SIG_IGN) };
}
