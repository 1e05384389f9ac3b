//! Every C library function the addon calls outside Node-API and libuv (napi/), declared once,
//! by hand (no crates), with the C structs and constants more than one module passes to them.
//! Declaring is all this module does: the calls, each in an `unsafe` block with its `// SAFETY:`
//! line, are in os.rs's safe wrappers and in the few modules whose unsafe work is more than a
//! call (crash.rs's signal handler, procctl.rs's argv area, alloc.rs, script/lua.rs).
//! One declaration per function keeps the signatures from drifting apart between modules.

use std::os::raw::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

pub type Pid = i32;

pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;
pub const O_RDONLY: c_int = 0;
pub const O_NONBLOCK: c_int = 0o4000;
pub const O_DIRECTORY: c_int = 0o200000;
pub const O_CLOEXEC: c_int = 0o2000000;
pub const SOCK_STREAM: c_int = 1;
pub const SOCK_DGRAM: c_int = 2;
pub const SOCK_NONBLOCK: c_int = 0o4000;
pub const SOCK_CLOEXEC: c_int = 0o2000000;
pub const SOL_SOCKET: c_int = 1;
pub const MSG_DONTWAIT: c_int = 0x40;
pub const MSG_NOSIGNAL: c_int = 0x4000;
pub const POLLIN: i16 = 0x1;
pub const POLLOUT: i16 = 0x4;
pub const POLLERR: i16 = 0x8;
pub const POLLHUP: i16 = 0x10;
/// glibc's sigset_t and cpu_set_t: 1024 bits.
pub type Bits1024 = [u64; 16];

/// struct sigaction as the kernel-facing glibc layout on x86-64 Linux.
#[repr(C)]
pub struct SigAction {
    pub handler: usize,
    pub mask: Bits1024,
    pub flags: c_int,
    pub restorer: usize,
}

#[repr(C)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

#[repr(C)]
pub struct ItimerSpec {
    pub interval: Timespec,
    pub value: Timespec,
}

#[repr(C)]
pub struct DlInfo {
    pub fname: *const c_char,
    pub fbase: *const c_void,
    pub sname: *const c_char,
    pub saddr: *const c_void,
}

/// struct sigevent with SIGEV_THREAD_ID's thread id where glibc puts it.
#[repr(C)]
pub struct SigEvent {
    pub value: usize,
    pub signo: c_int,
    pub notify: c_int,
    pub tid: c_int,
    pub pad: [c_int; 11],
}

#[repr(C)]
pub struct PollFd {
    pub fd: c_int,
    pub events: i16,
    pub revents: i16,
}

/// glibc's struct addrinfo on Linux (ai_addr comes before ai_canonname there).
#[repr(C)]
pub struct AddrInfo {
    pub ai_flags: c_int,
    pub ai_family: c_int,
    pub ai_socktype: c_int,
    pub ai_protocol: c_int,
    pub ai_addrlen: u32,
    pub ai_addr: *mut c_void,
    pub ai_canonname: *mut c_char,
    pub ai_next: *mut AddrInfo,
}

/// glibc's struct mallinfo2 (all fields size_t).
#[repr(C)]
pub struct MallInfo2 {
    pub arena: usize,
    pub ordblks: usize,
    pub smblks: usize,
    pub hblks: usize,
    pub hblkhd: usize,
    pub usmblks: usize,
    pub fsmblks: usize,
    pub uordblks: usize,
    pub fordblks: usize,
    pub keepcost: usize,
}

extern "C" {
    // processes and signals
    pub fn fork() -> Pid;
    pub fn waitpid(pid: Pid, status: *mut c_int, options: c_int) -> Pid;
    pub fn kill(pid: Pid, sig: c_int) -> c_int;
    pub fn raise(sig: c_int) -> c_int;
    pub fn getpid() -> Pid;
    pub fn _exit(status: c_int) -> !;
    pub fn abort() -> !;
    pub fn signal(signum: c_int, handler: usize) -> usize;
    pub fn sigaction(sig: c_int, act: *const SigAction, old: *mut SigAction) -> c_int;
    pub fn sigprocmask(how: c_int, set: *const Bits1024, old: *mut Bits1024) -> c_int;
    pub fn pause() -> c_int;
    pub fn syscall(n: c_long, ...) -> c_long;
    pub fn prctl(option: c_int, arg2: c_ulong, arg3: c_ulong, arg4: c_ulong, arg5: c_ulong) -> c_int;
    pub fn sched_setaffinity(pid: c_int, size: usize, mask: *const Bits1024) -> c_int;
    pub fn sched_getaffinity(pid: c_int, size: usize, mask: *mut Bits1024) -> c_int;
    pub fn pthread_self() -> usize;
    pub fn sysconf(name: c_int) -> c_long;
    // time
    pub fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    pub fn nanosleep(req: *const Timespec, rem: *mut Timespec) -> c_int;
    pub fn timer_create(clock: c_int, sev: *mut SigEvent, timer: *mut usize) -> c_int;
    pub fn timer_settime(timer: usize, flags: c_int, new: *const ItimerSpec, old: *mut ItimerSpec) -> c_int;
    // descriptors and files
    pub fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    pub fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    pub fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    pub fn close(fd: c_int) -> c_int;
    pub fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int;
    pub fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    pub fn flock(fd: c_int, operation: c_int) -> c_int;
    pub fn unlink(path: *const c_char) -> c_int;
    pub fn sync_file_range(fd: c_int, offset: i64, nbytes: i64, flags: c_uint) -> c_int;
    pub fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    // sockets
    pub fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
    pub fn bind(fd: c_int, addr: *const c_void, len: u32) -> c_int;
    pub fn connect(fd: c_int, addr: *const c_void, len: u32) -> c_int;
    pub fn accept4(fd: c_int, addr: *mut c_void, len: *mut c_uint, flags: c_int) -> c_int;
    pub fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
    pub fn sendto(fd: c_int, buf: *const c_void, len: usize, flags: c_int, addr: *const c_void, addrlen: u32) -> isize;
    pub fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize;
    pub fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: u32) -> c_int;
    #[cfg(test)]
    pub fn getsockopt(fd: c_int, level: c_int, name: c_int, value: *mut c_void, len: *mut u32) -> c_int;
    pub fn getpeername(fd: c_int, addr: *mut c_void, len: *mut c_uint) -> c_int;
    pub fn getsockname(fd: c_int, addr: *mut c_void, len: *mut c_uint) -> c_int;
    pub fn getaddrinfo(node: *const c_char, service: *const c_char, hints: *const AddrInfo, res: *mut *mut AddrInfo) -> c_int;
    pub fn freeaddrinfo(res: *mut AddrInfo);
    // memory
    pub fn realloc(p: *mut c_void, size: usize) -> *mut c_void;
    pub fn free(p: *mut c_void);
    pub fn malloc_trim(pad: usize) -> c_int;
    pub fn mallinfo2() -> MallInfo2;
    pub fn mallopt(param: c_int, value: c_int) -> c_int;
    pub fn sbrk(increment: isize) -> *mut c_void;
    pub fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
    pub fn mmap(addr: *mut c_void, len: usize, prot: c_int, flags: c_int, fd: c_int, off: i64) -> *mut c_void;
    // the dynamic loader and glibc's backtraces
    pub fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    pub fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    pub fn dlerror() -> *const c_char;
    pub fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
    pub fn backtrace(buf: *mut *mut c_void, size: c_int) -> c_int;
    pub fn backtrace_symbols_fd(buf: *const *mut c_void, size: c_int, fd: c_int);
}
