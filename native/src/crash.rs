//! Redis's crash report (debug.c: sigsegvHandler, logStackTrace, logRegisters, the fast memory
//! test, bugReportEnd), its software watchdog (SIGALRM), and socket-mark-id's setsockopt.
//!
//! A signal handler may only call async-signal-safe functions, so everything the report needs
//! that cannot be computed there (INFO, CLIENT LIST, the config lines, the log's descriptor,
//! the time zone) is prepared beforehand by TypeScript (src/crash-report.ts) and kept here; the
//! handler itself formats numbers into stack buffers and writes with write(2). backtrace() is
//! called once at install time so that its lazy load of libgcc_s does not happen in a handler.
//!
//! Node installs a SIGSEGV handler of its own for V8's WebAssembly trap handler. Ours replaces
//! it and chains the same way Node's does: a fault that V8's TryHandleWebAssemblyTrapHandler
//! claims is a WebAssembly bounds check, handled by returning; anything else is a crash.
//!
//! The forked children (snapshot.rs) inherit the handlers: the handler checks the pid it was
//! installed in and, in a child, dies by the default action without writing a report.
//!
//! Every unsafe block of this file has a `// SAFETY:` line; the exported functions run under
//! napi's catch_unwind.

use crate::libc::{
    abort, backtrace, backtrace_symbols_fd, clock_gettime, dladdr, dlsym, mmap, nanosleep, open, pause, sigaction, syscall,
    timer_create, timer_settime, unlink, DlInfo, ItimerSpec, SigAction, SigEvent, Timespec, O_CLOEXEC, O_DIRECTORY, O_RDONLY,
    SIG_DFL, SIG_IGN,
};
use crate::napi::{Env, JsArgs, JsValue};
use crate::os;
use std::os::raw::{c_char, c_int, c_long, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

const SIGILL: c_int = 4;
const SIGABRT: c_int = 6;
const SIGBUS: c_int = 7;
const SIGFPE: c_int = 8;
const SIGSEGV: c_int = 11;
const SIGALRM: c_int = 14;
/// Parks the other threads during the memory test (glibc keeps 32 and 33 for itself).
const SIGPARK: c_int = 60;
const FATAL_SIGNALS: [c_int; 5] = [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT];

const SA_SIGINFO: c_int = 4;
const SA_ONSTACK: c_int = 0x0800_0000;
const SA_RESTART: c_int = 0x1000_0000;
const SA_NODEFER: c_int = 0x4000_0000;
const SA_RESETHAND: c_int = 0x8000_0000u32 as c_int;
const SI_USER: c_int = 0;

const SYS_GETDENTS64: c_long = 217;
const SYS_GETTID: c_long = 186;
const SYS_TGKILL: c_long = 234;
const CLOCK_REALTIME: c_int = 0;
const SIGEV_SIGNAL: c_int = 0;
const SIGEV_THREAD_ID: c_int = 4;

// --- what TypeScript prepares -------------------------------------------------------------

/// The log's descriptor (1: standard output, as `logfile ""`).
static LOG_FD: AtomicI32 = AtomicI32::new(1);
/// The role letter of log lines (M, S, C).
static ROLE: AtomicU8 = AtomicU8::new(b'M');
/// Local time minus UTC, in seconds, for the log's timestamps.
static TZ_OFFSET: AtomicI64 = AtomicI64::new(0);
static MEMCHECK: AtomicBool = AtomicBool::new(true);
/// The process the handlers were installed in; a forked child has another pid.
static OWNER_PID: AtomicI32 = AtomicI32::new(0);
static HANDLERS_ON: AtomicBool = AtomicBool::new(false);
static REPORT_STARTED: AtomicBool = AtomicBool::new(false);
/// V8's `TryHandleWebAssemblyTrapHandler(int, siginfo_t*, void*)`, when Node exports it.
static WASM_TRAP: AtomicUsize = AtomicUsize::new(0);
static MAIN_TID: AtomicI32 = AtomicI32::new(0);
static PARKED: AtomicI32 = AtomicI32::new(0);

/// The report's text after the stack trace and registers (INFO OUTPUT ... CONFIG DEBUG
/// OUTPUT), in two slots: TypeScript fills the one not published, the handler reads the
/// published one with try_lock, so a crash during an update still finds a whole text.
static REPORT: [Mutex<Vec<u8>>; 2] = [Mutex::new(Vec::new()), Mutex::new(Vec::new())];
static REPORT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// The pid file bugReportEnd removes (daemonize without supervision), NUL-terminated.
static PIDFILE: Mutex<Vec<u8>> = Mutex::new(Vec::new());

// --- async-signal-safe output -------------------------------------------------------------

/// A fixed buffer that formats without allocating.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line { buf: [0; 512], len: 0 }
    }
    fn s(&mut self, text: &str) -> &mut Line {
        self.bytes(text.as_bytes())
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Line {
        let n = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        self
    }
    /// `v` in `base` (10 or 16, lower-case), zero-padded to `width` digits: printf's %0*lu
    /// and %0*lx without printf, which is not async-signal-safe.
    fn num(&mut self, mut v: u64, base: u64, width: usize) -> &mut Line {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b"0123456789abcdef"[(v % base) as usize];
            n += 1;
            v /= base;
            if v == 0 {
                break;
            }
        }
        for _ in n..width {
            self.bytes(b"0");
        }
        while n > 0 {
            n -= 1;
            self.bytes(&[digits[n]]);
        }
        self
    }
    fn u(&mut self, v: u64, width: usize) -> &mut Line {
        self.num(v, 10, width)
    }
    fn i(&mut self, v: i64) -> &mut Line {
        if v < 0 {
            self.s("-");
        }
        self.u(v.unsigned_abs(), 0)
    }
    fn hex(&mut self, v: u64, width: usize) -> &mut Line {
        self.num(v, 16, width)
    }
    /// As printf's %p: 0x and lower-case hex, "(nil)" for null.
    fn ptr(&mut self, v: u64) -> &mut Line {
        if v == 0 {
            return self.s("(nil)");
        }
        self.s("0x").hex(v, 0)
    }
    fn out(&self) {
        out(&self.buf[..self.len]);
    }
}

fn out(bytes: &[u8]) {
    let fd = LOG_FD.load(Ordering::Relaxed);
    let mut done = 0;
    while done < bytes.len() {
        match os::write_some(fd, &bytes[done..]) {
            Ok(n) if n > 0 => done += n,
            _ => return,
        }
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `pid:R dd Mon yyyy hh:mm:ss.mmm # ` as serverLog starts a warning line.
fn prefix(line: &mut Line) {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: ts is a valid out pointer; clock_gettime is async-signal-safe.
    unsafe { clock_gettime(CLOCK_REALTIME, &mut ts) };
    let local = ts.sec + TZ_OFFSET.load(Ordering::Relaxed);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let pid = os::current_pid();
    line.i(pid as i64).bytes(&[b':', ROLE.load(Ordering::Relaxed), b' ']);
    line.u(d as u64, 2).s(" ").s(MONTHS[(m - 1) as usize]).s(" ").u(y as u64, 4).s(" ");
    line.u((secs / 3600) as u64, 2).s(":").u((secs / 60 % 60) as u64, 2).s(":").u((secs % 60) as u64, 2);
    line.s(".").u((ts.nsec / 1_000_000) as u64, 3).s(" # ");
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

fn warn_line(build: impl FnOnce(&mut Line)) {
    let mut line = Line::new();
    prefix(&mut line);
    build(&mut line);
    line.s("\n");
    line.out();
}

fn bug_report_start() {
    if !REPORT_STARTED.swap(true, Ordering::SeqCst) {
        out(b"\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
    }
}

const REPORT_END: &[u8] = b"\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n       Please report the crash by opening an issue on github:\n\n           http://github.com/redis/redis/issues\n\n  If a Redis module was involved, please open in the module's repo instead.\n\n  Suspect RAM error? Use redis-server --test-memory to verify it.\n\n  Some other issues could be detected by redis-server --check-system\n";

// --- the stack trace -------------------------------------------------------------------------

/// logStackTrace: `eip` (0: none) and the frames from the one that called into the crash.
/// A signal's frames start at the kernel's trampoline, the frame before `eip`; a panic's skip
/// this function.
fn log_stack_trace(eip: u64) {
    let mut trace = [std::ptr::null_mut::<c_void>(); 100];
    // SAFETY: trace holds 100 pointers; backtrace was called once at install time, so its
    // loader work is done and this call only walks the stack.
    let n = unsafe { backtrace(trace.as_mut_ptr(), 100) }.max(0) as usize;
    log_frames(eip, &trace[..n]);
}

/// The STACK TRACE section of `trace` (backtrace()'s addresses, the first one the caller's own).
fn log_frames(eip: u64, trace: &[*mut c_void]) {
    let n = trace.len();
    let fd = LOG_FD.load(Ordering::Relaxed);
    out(b"\n------ STACK TRACE ------\n");
    let mut first = 1usize.min(n);
    if eip != 0 {
        out(b"EIP:\n");
        let e = eip as *mut c_void;
        // SAFETY: one valid pointer; backtrace_symbols_fd writes with write(2).
        unsafe { backtrace_symbols_fd(&e, 1, fd) };
        if let Some(at) = trace.iter().position(|&p| p as u64 == eip) {
            first = at.saturating_sub(1);
        }
    }
    out(b"\nBacktrace:\n");
    // SAFETY: trace[first..n] are addresses backtrace() filled in.
    unsafe { backtrace_symbols_fd(trace.as_ptr().add(first), (n - first) as c_int, fd) };
}

/// logRegisters for x86-64 Linux: the general registers, then the 16 words at the stack pointer.
fn log_registers(uc: *const c_void) {
    if uc.is_null() {
        return;
    }
    // SAFETY: on x86-64 Linux the kernel's ucontext_t has mcontext's 23 general registers
    // 40 bytes in (uc_flags, uc_link, the 24-byte stack_t); the pointer came from the kernel.
    let g = unsafe { std::slice::from_raw_parts((uc as *const u8).add(40) as *const u64, 23) };
    out(b"\n------ REGISTERS ------\n");
    const ORDER: [(&str, usize, &str); 18] = [
        ("\nRAX:", 13, " RBX:"), ("", 11, "\nRCX:"), ("", 14, " RDX:"), ("", 12, "\nRDI:"),
        ("", 8, " RSI:"), ("", 9, "\nRBP:"), ("", 10, " RSP:"), ("", 15, "\nR8 :"),
        ("", 0, " R9 :"), ("", 1, "\nR10:"), ("", 2, " R11:"), ("", 3, "\nR12:"),
        ("", 4, " R13:"), ("", 5, "\nR14:"), ("", 6, " R15:"), ("", 7, "\nRIP:"),
        ("", 16, " EFL:"), ("", 17, "\nCSGSFS:"),
    ];
    warn_line(|l| {
        for (before, reg, after) in ORDER {
            l.s(before).hex(g[reg], 16).s(after);
        }
        l.hex(g[18], 16);
    });
    let sp = g[15] as *const u64;
    for i in (0..16).rev() {
        // SAFETY: the 16 words above the interrupted stack pointer are that thread's stack.
        let word = unsafe { std::ptr::read_volatile(sp.add(i)) };
        warn_line(|l| {
            l.s("(").hex(sp as u64 + i as u64, 16).s(") -> ").hex(word, 16);
        });
    }
}

// --- the fast memory test --------------------------------------------------------------------

extern "C" fn park(_sig: c_int) {
    PARKED.fetch_add(1, Ordering::SeqCst);
    loop {
        // SAFETY: pause only waits for a signal.
        unsafe { pause() };
    }
}

/// Stops every other thread that does not block SIGPARK (Redis kills its bio threads before
/// the test so that nothing writes the memory under test); waits at most 200 ms for them.
fn park_other_threads() {
    let act = SigAction { handler: park as *const () as usize, mask: [0; 16], flags: 0, restorer: 0 };
    // SAFETY: a valid sigaction for a handler that only counts and pauses.
    unsafe { sigaction(SIGPARK, &act, std::ptr::null_mut()) };
    let pid = os::current_pid();
    // SAFETY: gettid takes no arguments.
    let me = unsafe { syscall(SYS_GETTID) } as i32;
    // SAFETY: a NUL-terminated path.
    let dir = unsafe { open(b"/proc/self/task\0".as_ptr() as *const c_char, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
    if dir < 0 {
        return;
    }
    let mut sent = 0;
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is valid for writes of its length.
        let n = unsafe { syscall(SYS_GETDENTS64, dir, buf.as_mut_ptr(), buf.len()) };
        if n <= 0 {
            break;
        }
        let mut off = 0usize;
        while off < n as usize {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let name = &buf[off + 19..off + reclen];
            let mut tid: i32 = 0;
            let mut digits = 0;
            for &c in name.iter().take_while(|&&c| c != 0) {
                if !c.is_ascii_digit() {
                    digits = 0;
                    break;
                }
                tid = tid * 10 + (c - b'0') as i32;
                digits += 1;
            }
            // SAFETY: tgkill takes plain numbers.
            if digits > 0 && tid != me && unsafe { syscall(SYS_TGKILL, pid, tid, SIGPARK) } == 0 {
                sent += 1;
            }
            off += reclen.max(1);
        }
    }
    os::close_fd(dir);
    for _ in 0..200 {
        if PARKED.load(Ordering::SeqCst) >= sent {
            break;
        }
        let ms = Timespec { sec: 0, nsec: 1_000_000 };
        // SAFETY: a valid timespec; nanosleep is async-signal-safe.
        unsafe { nanosleep(&ms, std::ptr::null_mut()) };
    }
}

/// Tests `len` bytes at `p` (a multiple of 2 pages) and puts their content back: address
/// patterns, then alternating fills, each written and read back. Returns the errors seen.
fn preserving_test(p: *mut u64, len: usize, backup: &mut [u64]) -> usize {
    let words = len / 8;
    let mut errors = 0;
    // SAFETY: [p, p+words) is a readable and writable mapping (rw in /proc/self/maps) that
    // no running thread uses (the others are parked, our stack is skipped); its content is
    // copied out first and copied back before returning.
    unsafe {
        std::ptr::copy_nonoverlapping(p, backup.as_mut_ptr(), words);
        for pattern in [0u64, !0u64, 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa] {
            for i in 0..words {
                let v = if pattern == 0 { p.add(i) as u64 } else { pattern ^ i as u64 };
                std::ptr::write_volatile(p.add(i), v);
            }
            for i in 0..words {
                let want = if pattern == 0 { p.add(i) as u64 } else { pattern ^ i as u64 };
                if std::ptr::read_volatile(p.add(i)) != want {
                    errors += 1;
                }
            }
        }
        std::ptr::copy_nonoverlapping(backup.as_ptr(), p, words);
    }
    errors
}

fn parse_hex(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        };
        (acc << 4) | d as u64
    })
}

/// memtest_test_linux_anonymous_maps: the anonymous read-write mappings of /proc/self/maps
/// (not the stacks, vdso or vsyscall), each announced, then tested ("." then O or E).
fn fast_memory_test() -> usize {
    const MAX_REGIONS: usize = 128;
    let mut regions = [(0u64, 0u64); MAX_REGIONS];
    let mut count = 0;
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { open(b"/proc/self/maps\0".as_ptr() as *const c_char, O_RDONLY | O_CLOEXEC) };
    if fd < 0 {
        return 0;
    }
    let here = &count as *const usize as u64;
    let mut buf = [0u8; 8192];
    let mut have = 0usize;
    loop {
        let n = os::read_into(fd, &mut buf[have..]).unwrap_or(0);
        have += n;
        let mut start = 0;
        while let Some(nl) = buf[start..have].iter().position(|&c| c == b'\n') {
            let line = &buf[start..start + nl];
            start += nl + 1;
            let Some(dash) = line.iter().position(|&c| c == b'-') else { continue };
            let Some(sp) = line.iter().position(|&c| c == b' ') else { continue };
            let rest = &line[sp + 1..];
            let has = |w: &[u8]| rest.windows(w.len()).any(|x| x == w);
            if has(b"stack") || has(b"vdso") || has(b"vsyscall") || !has(b"00:00") || !has(b"rw") {
                continue;
            }
            let (lo, hi) = (parse_hex(&line[..dash]), parse_hex(&line[dash + 1..sp]));
            // The crashing thread's own stack (a thread other than main has an unnamed one).
            if here >= lo && here < hi {
                continue;
            }
            if count < MAX_REGIONS {
                regions[count] = (lo, hi - lo);
                count += 1;
                let mut l = Line::new();
                l.s("*** Preparing to test memory region ").hex(lo, 0).s(" (").u(hi - lo, 0).s(" bytes)\n");
                l.out();
            }
        }
        buf.copy_within(start..have, 0);
        have -= start;
        if n == 0 {
            break;
        }
    }
    os::close_fd(fd);
    let mut backup = [0u64; 2048];
    let mut errors = 0;
    for &(lo, size) in &regions[..count] {
        out(b".");
        // memtest_preserving_test skips what is not whole pages, or less than two of them.
        if size % 4096 == 0 && size >= 8192 {
            let mut off = 0u64;
            while off < size {
                let chunk = (size - off).min(16384) as usize;
                let chunk = if chunk / 4096 % 2 == 1 && chunk > 4096 { chunk - 4096 } else { chunk };
                errors += preserving_test((lo + off) as *mut u64, chunk, &mut backup);
                off += chunk as u64;
            }
        }
        out(if errors > 0 { b"E" } else { b"O" });
    }
    out(b"\n");
    errors
}

/// doFastMemoryTest, when crash-memcheck-enabled.
fn do_fast_memory_test() {
    if !MEMCHECK.load(Ordering::Relaxed) {
        return;
    }
    out(b"\n------ FAST MEMORY TEST ------\n");
    park_other_threads();
    if fast_memory_test() > 0 {
        out(b"!!! MEMORY ERROR DETECTED! Check your memory ASAP !!!\n");
    } else {
        out(b"Fast memory test PASSED, however your memory can still be broken. Please run a memory test for several hours if possible.\n");
    }
}

/// printCrashReport: the prepared INFO / CLIENT LIST / config text, then the memory test.
fn print_crash_report() {
    let slot = REPORT_SLOT.load(Ordering::Acquire);
    if let Ok(text) = REPORT[slot].try_lock() {
        out(&text);
    }
    do_fast_memory_test();
}

fn unlink_pidfile() {
    if let Ok(path) = PIDFILE.try_lock() {
        if !path.is_empty() {
            // SAFETY: the path was stored NUL-terminated.
            unsafe { unlink(path.as_ptr() as *const c_char) };
        }
    }
}

fn set_action(sig: c_int, handler: usize, flags: c_int) {
    let act = SigAction { handler, mask: [0; 16], flags, restorer: 0 };
    // SAFETY: a valid sigaction; glibc supplies the restorer.
    unsafe { sigaction(sig, &act, std::ptr::null_mut()) };
}

fn c_str(p: *const c_char) -> &'static [u8] {
    if p.is_null() {
        return b"(null)";
    }
    // SAFETY: dladdr's strings are NUL-terminated and live as long as the loaded object.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// dumpCodeAroundEIP: the function's symbol and module, then its code up to 128 bytes past
/// EIP (not past EIP's page) as hex, when the symbol is known and smaller than 8 KB.
fn dump_code_around_eip(eip: u64) {
    let mut info = DlInfo { fname: std::ptr::null(), fbase: std::ptr::null(), sname: std::ptr::null(), saddr: std::ptr::null() };
    // SAFETY: info is a valid out pointer; dladdr only reads the loader's tables.
    if unsafe { dladdr(eip as *const c_void, &mut info) } == 0 {
        return;
    }
    let saddr = info.saddr as u64;
    let mut l = Line::new();
    l.s("\n------ DUMPING CODE AROUND EIP ------\nSymbol: ").bytes(c_str(info.sname)).s(" (base: ").ptr(saddr).s(")\n");
    l.s("Module: ").bytes(c_str(info.fname)).s(" (base ").ptr(info.fbase as u64).s(")\n");
    l.s("$ xxd -r -p /tmp/dump.hex /tmp/dump.bin\n$ objdump --adjust-vma=").ptr(saddr).s(" -D -b binary -m i386:x86-64 /tmp/dump.bin\n------\n");
    l.out();
    let len = eip.wrapping_sub(saddr);
    if len >= 1 << 13 {
        return;
    }
    let next_page = (eip + 4096) & !4095;
    let end = (eip + 128).min(next_page);
    let len = (end - saddr) as usize;
    warn_line(|l| {
        l.s("dump of function (hexdump of ").u(len as u64, 0).s(" bytes):");
    });
    // SAFETY: [saddr, end) is code of a loaded object up to EIP's own page, hence readable.
    let code = unsafe { std::slice::from_raw_parts(saddr as *const u8, len) };
    for chunk in code.chunks(32) {
        let mut l = Line::new();
        for &b in chunk {
            l.hex(b as u64, 2);
        }
        l.out();
    }
    out(b"\n");
}

// --- the handlers ----------------------------------------------------------------------------

type TrapFn = extern "C" fn(c_int, *mut c_void, *mut c_void) -> bool;

extern "C" fn on_fatal_signal(sig: c_int, info: *mut c_void, uc: *mut c_void) {
    if os::current_pid() != OWNER_PID.load(Ordering::Relaxed) {
        // A forked child: its contract is to die as it would have without us, silently (a
        // fault re-faults on return anyway).
        set_action(sig, SIG_DFL, 0);
        let _ = os::send_signal(os::current_pid(), sig);
        return;
    }
    if sig == SIGSEGV || sig == SIGBUS {
        let trap = WASM_TRAP.load(Ordering::Relaxed);
        if trap != 0 {
            // SAFETY: the address is V8's exported TryHandleWebAssemblyTrapHandler, which takes
            // the arguments a SA_SIGINFO handler gets and is safe to call from one.
            let handled = unsafe { std::mem::transmute::<usize, TrapFn>(trap) }(sig, info, uc);
            if handled {
                // SA_RESETHAND reset the action: put ours back for the next trap.
                install_fatal_handlers();
                return;
            }
        }
    }
    // SAFETY: the kernel passes a valid siginfo_t: si_code at 8, si_addr / si_pid at 16,
    // si_uid at 20.
    let (code, addr, spid, suid) = unsafe {
        let b = info as *const u8;
        (*(b.add(8) as *const c_int), *(b.add(16) as *const u64), *(b.add(16) as *const i32), *(b.add(20) as *const u32))
    };
    bug_report_start();
    warn_line(|l| {
        l.s("Redis 7.0.15 crashed by signal: ").i(sig as i64).s(", si_code: ").i(code as i64);
    });
    if sig == SIGSEGV || sig == SIGBUS {
        warn_line(|l| {
            l.s("Accessing address: ").ptr(addr);
        });
    }
    if code == SI_USER && spid != -1 {
        warn_line(|l| {
            l.s("Killed by PID: ").i(spid as i64).s(", UID: ").i(suid as i64);
        });
    }
    let eip = if uc.is_null() {
        0
    } else {
        // SAFETY: REG_RIP (16) of the general registers, see log_registers.
        unsafe { *((uc as *const u8).add(40) as *const u64).add(16) }
    };
    if eip != 0 {
        warn_line(|l| {
            l.s("Crashed running the instruction at: ").ptr(eip);
        });
    }
    log_stack_trace(eip);
    log_registers(uc);
    print_crash_report();
    if eip != 0 {
        dump_code_around_eip(eip);
    }
    bug_report_end_signal(sig);
}

/// bugReportEnd for a signal: the END text, then death by the same signal's default action.
fn bug_report_end_signal(sig: c_int) {
    out(REPORT_END);
    unlink_pidfile();
    set_action(sig, SIG_DFL, SA_NODEFER | SA_ONSTACK | SA_RESETHAND);
    let _ = os::send_signal(os::current_pid(), sig);
}

fn install_fatal_handlers() {
    for sig in FATAL_SIGNALS {
        set_action(sig, on_fatal_signal as *const () as usize, SA_NODEFER | SA_RESETHAND | SA_SIGINFO);
    }
}

/// setupSigSegvAction / removeSigSegvHandlers: crash-log-enabled.
fn set_fatal_handlers(on: bool) {
    if on {
        OWNER_PID.store(os::current_pid(), Ordering::Relaxed);
        install_fatal_handlers();
    } else {
        for sig in FATAL_SIGNALS {
            set_action(sig, SIG_DFL, 0);
        }
    }
    HANDLERS_ON.store(on, Ordering::Relaxed);
}

// --- the software watchdog -----------------------------------------------------------------

static WATCHDOG_TIMER: Mutex<Option<usize>> = Mutex::new(None);

extern "C" fn on_watchdog(_sig: c_int, _info: *mut c_void, uc: *mut c_void) {
    if os::current_pid() != OWNER_PID.load(Ordering::Relaxed) {
        return;
    }
    let eip = if uc.is_null() {
        0
    } else {
        // SAFETY: REG_RIP of the interrupted context, see log_registers.
        unsafe { *((uc as *const u8).add(40) as *const u64).add(16) }
    };
    from_handler_line("\n--- WATCHDOG TIMER EXPIRED ---");
    log_stack_trace(eip);
    from_handler_line("--------\n");
}

/// serverLogFromHandler: `pid:signal-handler (unixtime) message`.
pub(crate) fn from_handler_line(msg: &str) {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: valid out pointer.
    unsafe { clock_gettime(CLOCK_REALTIME, &mut ts) };
    let mut l = Line::new();
    l.i(os::current_pid() as i64).s(":signal-handler (").i(ts.sec).s(") ").s(msg).s("\n");
    l.out();
}

/// watchdogScheduleSignal: SIGALRM to the main thread after `ms` (0 disarms), not repeating.
fn watchdog_schedule(ms: i64) -> Result<(), String> {
    let mut timer = WATCHDOG_TIMER.lock().map_err(|_| "watchdog lock")?;
    if timer.is_none() {
        if ms == 0 {
            return Ok(());
        }
        let mut ev = SigEvent { value: 0, signo: SIGALRM, notify: SIGEV_THREAD_ID, tid: MAIN_TID.load(Ordering::Relaxed), pad: [0; 11] };
        if ev.tid == 0 {
            ev.notify = SIGEV_SIGNAL;
        }
        let mut id = 0usize;
        // SAFETY: ev and id are valid for the call.
        if unsafe { timer_create(CLOCK_REALTIME, &mut ev, &mut id) } != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        *timer = Some(id);
    }
    let spec = ItimerSpec { interval: Timespec { sec: 0, nsec: 0 }, value: Timespec { sec: ms / 1000, nsec: (ms % 1000) * 1_000_000 } };
    // SAFETY: the timer was created above; spec is valid.
    unsafe { timer_settime(timer.unwrap(), 0, &spec, std::ptr::null_mut()) };
    Ok(())
}

// --- a panic of the addon's own code ----------------------------------------------------------

/// What the panic hook saw: the message and the place (serverPanic's text and #where), and the
/// stack at the panic.
struct PanicRecord {
    message: String,
    location: String,
    frames: [usize; 100],
    count: usize,
}

static PANIC: Mutex<Option<PanicRecord>> = Mutex::new(None);
/// keyfork-server's pid when the hook was installed; a forked child has another.
static PANIC_PID: AtomicI32 = AtomicI32::new(0);

/// In keyfork-server a panic of the JS thread's native code is a bug the server cannot go on
/// from (a command may have changed half of what it meant to), as Redis's serverPanic: the
/// report, then the end of the process. The hook only records the panic: the FFI entry that
/// catches the unwinding (napi/mod.rs, napi/uv.rs) hands it to src/crash-report.ts's serverPanic
/// once the stack is unwound, so that the report's INFO and CLIENT LIST can read the state the
/// command left (its borrows are released by then). Forked children (snapshot.rs: silent, their
/// exit status) and other threads keep the previous hook; an embedded server never installs it.
fn install_panic_hook() {
    PANIC_PID.store(os::current_pid(), Ordering::Relaxed);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // SAFETY: gettid takes no arguments.
            let tid = unsafe { syscall(SYS_GETTID) } as i32;
            let ours = os::current_pid() == PANIC_PID.load(Ordering::Relaxed) && tid == MAIN_TID.load(Ordering::Relaxed);
            let Some(mut slot) = ours.then(|| PANIC.try_lock().ok()).flatten() else { return previous(info) };
            if slot.is_some() {
                // A second panic while the first is reported: the report goes on without it.
                drop(slot);
                return previous(info);
            }
            let mut trace = [std::ptr::null_mut::<c_void>(); 100];
            // SAFETY: trace holds 100 pointers; backtrace() was warmed up by crash_init.
            let count = unsafe { backtrace(trace.as_mut_ptr(), 100) }.max(0) as usize;
            let mut frames = [0usize; 100];
            for (f, t) in frames.iter_mut().zip(&trace[..count]) {
                *f = *t as usize;
            }
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            let message = info.payload_as_str().unwrap_or("Box<dyn Any>").to_string();
            *slot = Some(PanicRecord { message, location, frames, count });
            crate::napi::fatal_panic();
        }));
    });
}

/// redisOutOfMemoryHandler: the warning line, then serverPanic's message as a panic (the
/// report and the end of keyfork-server; an embedded server's caller gets the error).
pub fn out_of_memory(size: usize) -> ! {
    if PANIC_PID.load(Ordering::Relaxed) == os::current_pid() {
        warn_line(|l| {
            l.s("Out Of Memory allocating ").u(size as u64, 0).s(" bytes!");
        });
    }
    panic!("Redis aborting for OUT OF MEMORY. Allocating {size} bytes!");
}

// --- exports ---------------------------------------------------------------------------------

/// crashInit(onPanic): remembers the main thread (the watchdog's target), finds V8's trap
/// handler, warms backtrace() up, and makes a panic of the JS thread's native code call
/// `onPanic` (serverPanic, see install_panic_hook).
fn crash_init(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    // SAFETY: plain syscall.
    MAIN_TID.store(unsafe { syscall(SYS_GETTID) } as i32, Ordering::Relaxed);
    crate::napi::uv::panic_reporter_init(env, a.value(0)?)?;
    install_panic_hook();
    // SAFETY: RTLD_DEFAULT (null) and a NUL-terminated symbol name.
    let trap = unsafe { dlsym(std::ptr::null_mut(), b"_ZN2v826TryHandleWebAssemblyTrapHandlerEiP9siginfo_tPv\0".as_ptr() as *const c_char) };
    WASM_TRAP.store(trap as usize, Ordering::Relaxed);
    let mut warm = [std::ptr::null_mut::<c_void>(); 4];
    // SAFETY: warm holds 4 pointers.
    unsafe { backtrace(warm.as_mut_ptr(), 4) };
    Ok(env.boolean(trap as usize != 0))
}

/// crashSettings(logFd, role, tzOffsetSeconds, memcheck, pidfileToRemove, crashLog)
fn crash_settings(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    LOG_FD.store(a.i64(env, 0)? as i32, Ordering::Relaxed);
    ROLE.store(a.string(env, 1)?.bytes().next().unwrap_or(b'M'), Ordering::Relaxed);
    TZ_OFFSET.store(a.i64(env, 2)?, Ordering::Relaxed);
    MEMCHECK.store(a.bool(env, 3)?, Ordering::Relaxed);
    let mut pidfile = a.string(env, 4)?.into_bytes();
    if !pidfile.is_empty() {
        pidfile.push(0);
    }
    *PIDFILE.lock().map_err(|_| "pidfile lock")? = pidfile;
    let on = a.bool(env, 5)?;
    if on != HANDLERS_ON.load(Ordering::Relaxed) {
        set_fatal_handlers(on);
    }
    Ok(env.undefined())
}

/// crashReportText(text): what printCrashReport writes after the registers.
fn crash_report_text(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let text = a.string(env, 0)?;
    let next = 1 - REPORT_SLOT.load(Ordering::Acquire);
    {
        let mut slot = REPORT[next].lock().map_err(|_| "report lock")?;
        slot.clear();
        slot.extend_from_slice(text.as_bytes());
    }
    REPORT_SLOT.store(next, Ordering::Release);
    Ok(env.undefined())
}

/// bugReportStart(): the START line, once per process.
fn bug_report_start_export(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    bug_report_start();
    Ok(env.undefined())
}

/// crashStackTrace(): logStackTrace(NULL) from here (serverPanic, serverAssert), or, for a
/// native panic, from where it happened.
fn crash_stack_trace(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let panic_frames = PANIC.try_lock().ok().and_then(|p| {
        p.as_ref().map(|r| {
            let mut trace = [std::ptr::null_mut::<c_void>(); 100];
            for (t, &f) in trace.iter_mut().zip(&r.frames[..r.count]) {
                *t = f as *mut c_void;
            }
            (trace, r.count)
        })
    });
    match panic_frames {
        Some((trace, count)) => log_frames(0, &trace[..count]),
        None => log_stack_trace(0),
    }
    Ok(env.undefined())
}

/// crashPanicInfo(): [message, where] of the native panic being reported, or null.
fn crash_panic_info(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    let record = PANIC.lock().map_err(|_| "panic lock")?;
    match record.as_ref() {
        Some(r) => env.array(&[env.string(&r.message), env.string(&r.location)]),
        None => Ok(env.null()),
    }
}

/// crashMemtest(): doFastMemoryTest (the report's last section on a panic).
fn crash_memtest(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    do_fast_memory_test();
    Ok(env.undefined())
}

/// crashPanicEnd(exitOnPanic): bugReportEnd(0, 0): the END text, the pid file, then exit(1)
/// under use-exit-on-panic, else abort() with the crash handlers removed first.
fn crash_panic_end(_env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let exit = a.bool(_env, 0)?;
    out(REPORT_END);
    unlink_pidfile();
    set_fatal_handlers(false);
    if exit {
        os::exit_now(1);
    }
    // SAFETY: abort ends the process; nothing of ours runs after it.
    unsafe { abort() }
}

/// debugSegfault(): DEBUG SEGFAULT's write to a read-only page.
fn debug_segfault(_env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    const PROT_READ: c_int = 1;
    const MAP_PRIVATE_ANON: c_int = 0x02 | 0x20;
    // SAFETY: a fresh anonymous read-only page; writing it faults by design (SIGSEGV).
    unsafe {
        let p = mmap(std::ptr::null_mut(), 4096, PROT_READ, MAP_PRIVATE_ANON, -1, 0) as *mut u8;
        std::ptr::write_volatile(p, b'x');
    }
    Err("DEBUG SEGFAULT did not fault".into())
}

/// watchdogPeriod(ms): applyWatchdogPeriod: 0 disarms and ignores SIGALRM, otherwise the
/// handler is installed and the timer armed; serverCron re-arms it (watchdogSchedule).
fn watchdog_period(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let ms = a.i64(env, 0)?;
    if ms == 0 {
        watchdog_schedule(0)?;
        set_action(SIGALRM, SIG_IGN, 0);
    } else {
        OWNER_PID.store(os::current_pid(), Ordering::Relaxed);
        set_action(SIGALRM, on_watchdog as *const () as usize, SA_SIGINFO | SA_RESTART);
        watchdog_schedule(ms)?;
    }
    Ok(env.undefined())
}

fn watchdog_schedule_export(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    watchdog_schedule(a.i64(env, 0)?)?;
    Ok(env.undefined())
}

/// setSocketMark(fd, mark): socket-mark-id; the error text, or null.
fn set_socket_mark(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    match os::set_socket_mark(a.i64(env, 0)? as i32, a.i64(env, 1)? as u32) {
        Ok(()) => Ok(env.null()),
        Err(e) => Ok(env.string(&format!("setsockopt: {e}"))),
    }
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "crashInit", crash_init)?;
    env.export(exports, "crashSettings", crash_settings)?;
    env.export(exports, "crashReportText", crash_report_text)?;
    env.export(exports, "bugReportStart", bug_report_start_export)?;
    env.export(exports, "crashStackTrace", crash_stack_trace)?;
    env.export(exports, "crashPanicInfo", crash_panic_info)?;
    env.export(exports, "crashMemtest", crash_memtest)?;
    env.export(exports, "crashPanicEnd", crash_panic_end)?;
    env.export(exports, "debugSegfault", debug_segfault)?;
    env.export(exports, "watchdogPeriod", watchdog_period)?;
    env.export(exports, "watchdogSchedule", watchdog_schedule_export)?;
    env.export(exports, "setSocketMark", set_socket_mark)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_793), (2026, 12, 6));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn line_formats_like_printf() {
        let mut l = Line::new();
        l.i(-42).s(" ").hex(0xab, 16).s(" ").ptr(0).s(" ").ptr(0x7ff0).s(" ").u(5, 3);
        assert_eq!(&l.buf[..l.len], b"-42 00000000000000ab (nil) 0x7ff0 005");
    }

    #[test]
    fn the_memory_test_keeps_the_content() {
        let mut region = vec![0u64; 4096];
        for (i, w) in region.iter_mut().enumerate() {
            *w = i as u64 * 7;
        }
        let mut backup = [0u64; 2048];
        assert_eq!(preserving_test(region.as_mut_ptr(), 16384, &mut backup), 0);
        assert!(region.iter().enumerate().all(|(i, &w)| w == i as u64 * 7));
    }
}
