//! The forked child's mechanics, independent of what it writes: fork, close inherited
//! descriptors, take on the title, OOM score and CPUs the parent prepared (procctl.rs), run
//! the work on the copy-on-write view of memory, report progress, log lines and copy-on-write
//! size to the parent over a pipe, and `_exit`. A child whose parent is gone (a report meets
//! EPIPE) removes the file it was writing and exits 1, as Redis's child does.
//!
//! Pipe records: `[u32 LE payload length][u8 kind][payload]`:
//! - PROGRESS: keys done u64, bytes written u64, cow bytes u64, child time ms i64
//! - LOG: child time ms i64, level u8 (0 debug .. 3 warning), UTF-8 text
//! - DONE: keys u64, bytes u64, cow bytes u64, child time ms i64 (sent just before exit 0)

use crate::napi::{Env, JsArgs, JsValue};
use crate::os;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

pub const KIND_PROGRESS: u8 = 1;
pub const KIND_LOG: u8 = 2;
pub const KIND_DONE: u8 = 3;

pub const LOG_NOTICE: u8 = 2;
pub const LOG_WARNING: u8 = 3;

const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const COW_EVERY: Duration = Duration::from_millis(1000);
/// A copy-on-write sample this recent stands for "now" in the child's closing reports (its
/// CoW log line, DONE): the child writes nothing meanwhile, and a new sample costs a walk of
/// its page tables between its last write and the parent hearing that it is done.
const COW_FRESH: Duration = Duration::from_millis(50);

/// The child's handle on its report pipe.
pub struct ChildReporter {
    fd: i32,
    /// The file the work writes, removed if the child finds itself orphaned (see `send`).
    orphan_file: Option<String>,
    last_progress: Instant,
    last_cow: Instant,
    cow: u64,
    pub cow_peak: u64,
    cow_sum: u64,
    cow_samples: u64,
}

impl ChildReporter {
    fn new(fd: i32) -> Self {
        let now = Instant::now();
        ChildReporter { fd, orphan_file: None, last_progress: now, last_cow: now - COW_EVERY, cow: 0, cow_peak: 0, cow_sum: 0, cow_samples: 0 }
    }

    /// The work writes `path`: an orphaned child removes it before it exits.
    pub fn writing(&mut self, path: &str) {
        self.orphan_file = Some(path.to_string());
    }

    /// A record for the parent. The child holds only the pipe's write end, so a parent that is
    /// gone (killed, crashed) shows as EPIPE: the child then exits, as Redis's does when it
    /// cannot report to its parent. Its work has no one to serve any more, and an RDB child
    /// left running would rename its old snapshot over whatever a new server saved meanwhile.
    fn send(&self, kind: u8, payload: &[u8]) {
        let mut rec = Vec::with_capacity(5 + payload.len());
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.push(kind);
        rec.extend_from_slice(payload);
        if let Err(e) = os::write_all(self.fd, &rec) {
            if e.raw_os_error() == Some(os::EPIPE) {
                if let Some(path) = &self.orphan_file {
                    let _ = std::fs::remove_file(path);
                }
                os::exit_now(1);
            }
        }
    }

    /// Takes a copy-on-write sample now (public for the RDB child's final CoW log line). [persist]
    pub fn sample_cow(&mut self) {
        self.record_cow(os::private_dirty_bytes());
    }

    /// Records a copy-on-write sample taken by the work itself (`os::private_dirty_bytes`, e.g.
    /// on another thread while the file is fsynced: reading smaps walks every page table of the
    /// process, milliseconds for a large keyspace, which the end of a save should not wait for).
    pub fn record_cow(&mut self, private_dirty: u64) {
        self.cow = private_dirty;
        self.cow_peak = self.cow_peak.max(self.cow);
        self.cow_sum += self.cow;
        self.cow_samples += 1;
        self.last_cow = Instant::now();
    }

    /// A sample for the closing reports: the last one when it is this fresh, else a new one.
    fn sample_cow_unless_fresh(&mut self) {
        if self.cow_samples == 0 || self.last_cow.elapsed() >= COW_FRESH {
            self.sample_cow();
        }
    }

    /// Average of the copy-on-write samples taken so far (Redis's "average" in its CoW log line).
    pub fn cow_average(&self) -> u64 {
        if self.cow_samples == 0 { 0 } else { self.cow_sum / self.cow_samples }
    }

    pub fn cow_current(&self) -> u64 { self.cow }

    /// Redis's closing line of a child (sendChildCowInfo): `Fork CoW for <what>: current N MB,
    /// peak N MB, average N MB`, after a last sample (unless one was just taken).
    pub fn log_cow(&mut self, what: &str) {
        self.sample_cow_unless_fresh();
        let (current, peak, average) = (self.cow_current() >> 20, self.cow_peak >> 20, self.cow_average() >> 20);
        self.log(LOG_NOTICE, &format!("Fork CoW for {what}: current {current} MB, peak {peak} MB, average {average} MB"));
    }

    /// Called often by the work (e.g. per key); sends a record at most every 100 ms.
    #[inline]
    pub fn progress(&mut self, keys: u64, bytes: u64) {
        if self.last_progress.elapsed() < PROGRESS_EVERY { return; }
        self.force_progress(keys, bytes);
    }

    fn force_progress(&mut self, keys: u64, bytes: u64) {
        if self.last_cow.elapsed() >= COW_EVERY { self.sample_cow(); }
        self.last_progress = Instant::now();
        let mut p = Vec::with_capacity(32);
        p.extend_from_slice(&keys.to_le_bytes());
        p.extend_from_slice(&bytes.to_le_bytes());
        p.extend_from_slice(&self.cow.to_le_bytes());
        p.extend_from_slice(&crate::now_ms().to_le_bytes());
        self.send(KIND_PROGRESS, &p);
    }

    /// A log line the parent writes on the child's behalf (role C, child pid, child's time).
    pub fn log(&self, level: u8, text: &str) {
        let mut p = Vec::with_capacity(9 + text.len());
        p.extend_from_slice(&crate::now_ms().to_le_bytes());
        p.push(level);
        p.extend_from_slice(text.as_bytes());
        self.send(KIND_LOG, &p);
    }

    fn done(&mut self, keys: u64, bytes: u64) {
        self.sample_cow_unless_fresh();
        let mut p = Vec::with_capacity(32);
        p.extend_from_slice(&keys.to_le_bytes());
        p.extend_from_slice(&bytes.to_le_bytes());
        p.extend_from_slice(&self.cow.to_le_bytes());
        p.extend_from_slice(&crate::now_ms().to_le_bytes());
        self.send(KIND_DONE, &p);
    }
}

thread_local! {
    /// Children forked by this (the JS) thread and not reaped yet.
    static LIVE_CHILDREN: std::cell::RefCell<Vec<os::Pid>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Redis's updateDictResizePolicy: tables do not resize while a child shares the memory.
fn child_started(pid: os::Pid) {
    LIVE_CHILDREN.with(|c| c.borrow_mut().push(pid));
    crate::dict::avoid_resizes(true);
}

fn child_gone(pid: os::Pid) {
    let none_left = LIVE_CHILDREN.with(|c| {
        let mut live = c.borrow_mut();
        live.retain(|&p| p != pid);
        live.is_empty()
    });
    if none_left {
        crate::dict::avoid_resizes(false);
    }
}

/// What the work of a child returns on success: keys and bytes written.
pub struct WorkDone {
    pub keys: u64,
    pub bytes: u64,
}

pub struct Started {
    pub pid: os::Pid,
    pub read_fd: i32,
    pub fork_usec: u64,
}

/// Forks a child that runs `work` and exits (0 on success, 1 on failure, with the failure
/// logged as a warning). The parent gets the pid, the report pipe and the fork's duration.
pub fn fork_child(work: impl FnOnce(&mut ChildReporter) -> Result<WorkDone, String>) -> io::Result<Started> {
    fork_child_keeping(&[], work)
}

/// `fork_child` for work that needs more of the parent's descriptors than its report pipe
/// (the write end of a data pipe): the child keeps `keep` open, and closes everything else.
pub fn fork_child_keeping(keep: &[i32], work: impl FnOnce(&mut ChildReporter) -> Result<WorkDone, String>) -> io::Result<Started> {
    let identity = crate::procctl::take_child_identity();
    let (read_fd, write_fd) = os::report_pipe()?;
    let t0 = Instant::now();
    match os::fork_process() {
        Err(e) => {
            os::close_fd(read_fd);
            os::close_fd(write_fd);
            Err(e)
        }
        Ok(os::Forked::Parent(pid)) => {
            let fork_usec = t0.elapsed().as_micros() as u64;
            os::close_fd(write_fd);
            child_started(pid);
            Ok(Started { pid, read_fd, fork_usec })
        }
        Ok(os::Forked::Child) => {
            let mut kept = keep.to_vec();
            kept.push(write_fd);
            os::close_inherited_except_all(&kept);
            os::default_signals_for_child();
            if let Some(identity) = &identity {
                identity.apply();
            }
            // The child's own allocations must not fault in fresh 2 MB pages where the parent's
            // heap is advised for huge pages (a first touch at the heap's untouched top would
            // give it 2 MB of private memory, counted as copy-on-write): 4 KB pages from here on.
            // Huge pages it shares with the parent stay mapped as they are.
            let _ = os::disable_thp();
            let mut rep = ChildReporter::new(write_fd);
            let result = catch_unwind(AssertUnwindSafe(|| work(&mut rep)));
            let code = match result {
                Ok(Ok(done)) => {
                    rep.done(done.keys, done.bytes);
                    0
                }
                Ok(Err(msg)) => {
                    rep.log(LOG_WARNING, &msg);
                    1
                }
                Err(_) => {
                    rep.log(LOG_WARNING, "The child panicked while saving");
                    1
                }
            };
            os::exit_now(code)
        }
    }
}

/// A fork export's work in the child: the live keyspace and settings (its copy-on-write view).
pub type ChildWork<'w> = dyn FnOnce(&crate::keyspace::Keyspace, &crate::settings::Settings, &mut ChildReporter) -> Result<WorkDone, String> + 'w;

/// forkRdb / forkAofRewrite: forks `work` and answers `[pid, readFd, forkUsec, totalKeys]`; a
/// failed fork is `<what>: fork: <strerror>` (Redis's words).
pub fn fork_export(env: &Env, what: &str, work: Box<ChildWork<'_>>) -> Result<JsValue, String> {
    let (started, total) = crate::with_state(|st| {
        let total = st.ks.key_count() as u64;
        let (ks, settings) = (&st.ks, &st.settings);
        fork_child(|rep| work(ks, settings, rep))
            .map(|s| (s, total))
            .map_err(|e| format!("{what}: fork: {}", crate::persist::exports::strerror(&e)))
    })?;
    env.array(&[
        env.int(started.pid as i64),
        env.int(started.read_fd as i64),
        env.double(started.fork_usec as f64),
        env.double(total as f64),
    ])
}

// ---- exports for the parent (TypeScript's children.ts) ----

/// readChildReports(fd): [[kind, ...fields]..., eof] — everything the child sent so far.
fn read_child_reports(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let mut buf = Vec::new();
    let open = os::read_available(fd, &mut buf).map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    let mut rest = &buf[..];
    // Records never straddle reads in practice (each is written whole and is far below
    // PIPE_BUF), but a partial tail is dropped rather than misread.
    while rest.len() >= 5 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 5 + len { break; }
        let kind = rest[4];
        let p = &rest[5..5 + len];
        let u64_at = |i: usize| p.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).unwrap_or(0);
        let rec = match kind {
            KIND_PROGRESS | KIND_DONE => env.array(&[
                env.int(kind as i64),
                env.double(u64_at(0) as f64),
                env.double(u64_at(8) as f64),
                env.double(u64_at(16) as f64),
                env.double(u64_at(24) as f64),
            ])?,
            KIND_LOG if p.len() >= 9 => env.array(&[
                env.int(kind as i64),
                env.double(u64_at(0) as f64),
                env.int(p[8] as i64),
                env.string(&String::from_utf8_lossy(&p[9..])),
            ])?,
            _ => env.array(&[env.int(kind as i64)])?,
        };
        records.push(rec);
        rest = &rest[5 + len..];
    }
    records.push(env.boolean(!open));
    env.array(&records)
}

/// waitChild(pid): null while running, else [exitCode, signal].
fn wait_child(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let pid = a.i64(env, 0)? as os::Pid;
    let status = os::try_wait(pid);
    let interrupted = matches!(&status, Err(e) if e.kind() == io::ErrorKind::Interrupted);
    if !matches!(status, Ok(None)) && !interrupted {
        // Exited, or not ours to wait for any more (ECHILD): either way it shares nothing now.
        child_gone(pid);
    }
    match status.map_err(|e| e.to_string())? {
        None => Ok(env.null()),
        Some(os::ChildExit::Code(c)) => env.array(&[env.int(c as i64), env.int(0)]),
        Some(os::ChildExit::Signal(s)) => env.array(&[env.int(-1), env.int(s as i64)]),
    }
}

fn kill_child(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let pid = a.i64(env, 0)? as os::Pid;
    let sig = a.i64(env, 1)? as i32;
    os::send_signal(pid, sig).map_err(|e| e.to_string())?;
    Ok(env.undefined())
}

fn close_fd(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    os::close_fd(a.i64(env, 0)? as i32);
    Ok(env.undefined())
}

/// watchFd(fd, callback): calls `callback()` whenever `fd` is readable; returns a watch id.
fn watch_fd(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    let fd = a.i64(env, 0)? as i32;
    let id = crate::napi::uv::watch_fd(env, fd, a.value(1)?)?;
    Ok(env.int(id as i64))
}

/// unwatchFd(id): stops a watchFd (before its descriptor is closed).
fn unwatch_fd(env: &Env, a: &JsArgs) -> Result<JsValue, String> {
    crate::napi::uv::unwatch_fd(a.i64(env, 0)? as u32);
    Ok(env.undefined())
}

fn disable_thp(env: &Env, _a: &JsArgs) -> Result<JsValue, String> {
    Ok(env.boolean(os::disable_thp().is_ok() && os::thp_disabled()))
}

pub fn register(env: &Env, exports: JsValue) -> Result<(), String> {
    env.export(exports, "readChildReports", read_child_reports)?;
    env.export(exports, "waitChild", wait_child)?;
    env.export(exports, "killChild", kill_child)?;
    env.export(exports, "closeFd", close_fd)?;
    env.export(exports, "watchFd", watch_fd)?;
    env.export(exports, "unwatchFd", unwatch_fd)?;
    env.export(exports, "disableThp", disable_thp)?;
    Ok(())
}
