//! The two OS calls the Lua debugger needs beyond os.rs (both declared in libc.rs): waiting on
//! the debugging client's socket (its descriptor stays non-blocking for Node; the debugger waits
//! with poll instead of switching it to blocking mode as Redis's connBlock does) and ignoring a
//! signal in the forked session child.

use crate::libc::{poll, signal, PollFd, SIG_IGN};
use std::ffi::c_int;

pub use crate::libc::{POLLIN, POLLOUT};

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

pub const SIGINT: c_int = 2;
pub const SIGTERM: c_int = 15;

/// The session child ignores SIGTERM and SIGINT, as Redis's does: they are the parent's.
pub fn ignore_signal(sig: c_int) {
    // SAFETY: installing SIG_IGN has no memory-safety preconditions.
    unsafe { signal(sig, SIG_IGN) };
}
