//! Replaying one AOF file (Redis 7.0's loadSingleAppendOnlyFile): an RDB part first when the
//! file starts with `REDIS` (a base file, or the preamble of an old single-file AOF), then the
//! commands, run directly on the keyspace as a fake client does: SELECT, MULTI and EXEC are
//! handled here, every native command runs through the same handler a client's does, and a
//! command the addon does not implement is handed to TypeScript (`Step::Foreign`), which runs
//! it and resumes. The reader follows Redis's parser exactly (fgets of at most 1023 bytes per
//! line, annotations starting with '#', atoi/strtol numbers, the CRLF after an argument
//! skipped unchecked) so that a file Redis accepts, truncates or rejects gets the same here.
//!
//! Nothing expires while a file loads (`Keyspace::loading`) and nothing is propagated.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use crate::command::{Args, CommandRow};
use crate::numfmt::atoi;
use crate::keyspace::Keyspace;
use crate::persist::exports::strerror;
use crate::persist::exports::load_functions;
use crate::persist::load::{Duplicates, LoadReport, Loader as RdbLoader};
use std::borrow::Cow;
use crate::reply::Reply;
use crate::settings::Settings;
use crate::{run_command, Call, Ran};

/// fgets' buffer in Redis's loader (AOF_ANNOTATION_LINE_MAX_LEN): lines are read 1023 bytes at a time.
const LINE_MAX: usize = 1023;
const READ_CHUNK: usize = 256 << 10;

/// A file read forward with its offset known (ftello).
struct Source {
    file: File,
    buf: Vec<u8>,
    at: usize,
    /// Offset of buf[0] in the file.
    base: u64,
    size: u64,
}

impl Source {
    fn offset(&self) -> u64 { self.base + self.at as u64 }

    fn remaining(&self) -> u64 { self.size.saturating_sub(self.offset()) }

    /// Makes bytes available; false at end of file.
    fn fill(&mut self) -> io::Result<bool> {
        if self.at < self.buf.len() { return Ok(true); }
        self.base += self.buf.len() as u64;
        self.buf.resize(READ_CHUNK, 0);
        self.at = 0;
        loop {
            match self.file.read(&mut self.buf) {
                Ok(n) => {
                    self.buf.truncate(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.clear();
                    return Err(e);
                }
            }
        }
    }

    /// fgets: up to LINE_MAX bytes, through the first '\n'. None at end of file.
    fn line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<()>> {
        out.clear();
        while out.len() < LINE_MAX {
            if !self.fill()? { break; }
            let avail = &self.buf[self.at..];
            let want = (LINE_MAX - out.len()).min(avail.len());
            match avail[..want].iter().position(|&c| c == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&avail[..=i]);
                    self.at += i + 1;
                    return Ok(Some(()));
                }
                None => {
                    out.extend_from_slice(&avail[..want]);
                    self.at += want;
                }
            }
        }
        Ok(if out.is_empty() { None } else { Some(()) })
    }

    /// fread of exactly `n` bytes appended to `out`; false when the file ends first.
    fn exact(&mut self, out: &mut Vec<u8>, mut n: usize) -> io::Result<bool> {
        while n > 0 {
            if !self.fill()? { return Ok(false); }
            let take = n.min(self.buf.len() - self.at);
            out.extend_from_slice(&self.buf[self.at..self.at + take]);
            self.at += take;
            n -= take;
        }
        Ok(true)
    }

    /// Goes on reading from `offset` (after an RDB part).
    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.buf.clear();
        self.at = 0;
        self.base = offset;
        Ok(())
    }

    fn skip(&mut self, mut n: usize) -> io::Result<bool> {
        while n > 0 {
            if !self.fill()? { return Ok(false); }
            let take = n.min(self.buf.len() - self.at);
            self.at += take;
            n -= take;
        }
        Ok(true)
    }
}

/// One command read from the file: its arguments' bytes and [start, end) offsets.
#[derive(Default, Clone)]
pub struct Command {
    pub bytes: Vec<u8>,
    pub offsets: Vec<i32>,
}

impl Command {
    fn argc(&self) -> usize { self.offsets.len() / 2 }
    pub fn arg(&self, i: usize) -> &[u8] { &self.bytes[self.offsets[2 * i] as usize..self.offsets[2 * i + 1] as usize] }
    pub fn args(&self) -> Vec<&[u8]> { (0..self.argc()).map(|i| self.arg(i)).collect() }
}

/// Where the replay stopped.
pub enum Step {
    /// The end of the file, after a complete command and outside MULTI.
    Done,
    /// The end of the file inside MULTI: the transaction is dropped ("Revert incomplete
    /// MULTI/EXEC transaction"); `valid_up_to` is the offset before its MULTI.
    EofInMulti,
    /// The file ends inside a command (a short read).
    Truncated,
    /// Not the AOF format ("Bad file format").
    Format,
    /// A read error (errno text).
    ReadError(String),
    /// A command the addon does not implement: TypeScript runs it in `db`, then resumes.
    Foreign { db: usize, command: Command },
    /// The budget of bytes for this call was used: TypeScript serves clients, then resumes.
    Yield,
    /// The RDB part (a base file, an old-style preamble) is loaded; the commands follow.
    RdbDone(LoadReport),
    /// The RDB part failed to load (its reason).
    RdbFailed(String),
}

/// Replay state kept between TypeScript's calls.
pub struct Loader {
    src: Source,
    /// The RDB part still loading (in slices, as the RDB loader does at start-up).
    rdb: Option<RdbLoader<'static>>,
    pub file_size: u64,
    /// Offset after the last complete command (what aof-load-truncated keeps).
    pub valid_up_to: u64,
    /// valid_up_to when the last MULTI was read.
    pub valid_before_multi: u64,
    pub db: usize,
    in_multi: bool,
    queued: Vec<Command>,
    /// An EXEC's commands still to run (after a foreign one returned to TypeScript).
    executing: VecDeque<Command>,
    pub commands_run: u64,
    line: Vec<u8>,
    out: Vec<u8>,
    pending: Option<Vec<u8>>,
    by_name: HashMap<Vec<u8>, usize>,
    /// Error replies of the commands replayed since TypeScript last took them (Redis's
    /// afterErrorReply for its AOF client): see LoadError.
    pub errors: Vec<LoadError>,
    /// The RDB part's header could not be read (reported by the first run).
    rdb_error: Option<String>,
}

/// A replayed command's error reply.
pub struct LoadError {
    /// The command Redis names in its log (its fake client's last command: "exec" for one run
    /// by EXEC).
    pub logged_as: String,
    /// The command that failed (full name), and whether EXEC ran it (then its failed calls count).
    pub command: String,
    pub in_exec: bool,
    /// The error line without its '-'.
    pub error: Vec<u8>,
}

/// How opening went.
pub enum Opened {
    NotExist(String),
    OpenError(String),
    Empty,
    /// Ready to load; `has_rdb`: the file starts with an RDB part (run reports RdbDone first).
    Ready(Box<Loader>, bool),
}

/// Opens `path`; an RDB part is read into memory, to be loaded by `run`.
pub fn open(path: &str, commands: &[CommandRow]) -> Opened {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Opened::NotExist(strerror(&e)),
        Err(e) => return Opened::OpenError(strerror(&e)),
    };
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return Opened::OpenError(strerror(&e)),
    };
    if size == 0 { return Opened::Empty; }
    let mut sig = [0u8; 5];
    let is_rdb = file.read_exact(&mut sig).is_ok() && &sig == b"REDIS";
    let mut rdb = None;
    if is_rdb {
        let mut data = Vec::with_capacity(size as usize);
        if let Err(e) = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_end(&mut data)) {
            return Opened::OpenError(strerror(&e));
        }
        match RdbLoader::begin(Cow::Owned(data), crate::now_ms(), Duplicates::Refuse) {
            // RDBFLAGS_AOF_PREAMBLE: keys past their TTL are loaded, the commands may use them.
            Ok(loader) => rdb = Some(loader.keeping_expired()),
            // The header is wrong: run reports it as the RDB part's failure.
            Err(e) => return Opened::Ready(Box::new(Loader::new(file, size, commands, Some(Err(e)))), true),
        }
    }
    if let Err(e) = file.seek(SeekFrom::Start(0)) { return Opened::OpenError(strerror(&e)); }
    Opened::Ready(Box::new(Loader::new(file, size, commands, rdb.map(Ok))), is_rdb)
}

impl Loader {
    fn new(file: File, size: u64, commands: &[CommandRow], rdb: Option<Result<RdbLoader<'static>, String>>) -> Loader {
        let mut by_name = HashMap::with_capacity(commands.len());
        for (i, (name, _)) in commands.iter().enumerate() { by_name.insert(name.as_bytes().to_vec(), i); }
        let (rdb, rdb_error) = match rdb {
            Some(Ok(l)) => (Some(l), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        Loader {
        src: Source { file, buf: Vec::new(), at: 0, base: 0, size },
        rdb,
        rdb_error,
        file_size: size,
        valid_up_to: 0,
        valid_before_multi: 0,
        db: 0,
        in_multi: false,
        queued: Vec::new(),
        executing: VecDeque::new(),
        commands_run: 0,
        line: Vec::with_capacity(LINE_MAX + 1),
        out: vec![0u8; 64 << 10],
        pending: None,
        by_name,
        errors: Vec::new(),
        }
    }

    /// Bytes of the file loaded so far (INFO's loading_loaded_bytes).
    pub fn loaded_bytes(&self) -> u64 {
        match &self.rdb {
            Some(rdb) => rdb.loaded_bytes() as u64,
            None => self.src.offset(),
        }
    }
}

/// What reading one command found.
enum ReadResult {
    Command(Command),
    Eof,
    Truncated,
    Format,
}

impl Loader {
    /// Reads the next command (the part of the loop before "Command lookup").
    fn read_command(&mut self) -> io::Result<ReadResult> {
        loop {
            if self.src.line(&mut self.line)?.is_none() { return Ok(ReadResult::Eof); }
            if self.line[0] == b'#' { continue; }
            break;
        }
        if self.line[0] != b'*' { return Ok(ReadResult::Format); }
        if self.line.len() == 1 { return Ok(ReadResult::Truncated); }
        let argc = atoi(&self.line[1..]);
        if argc < 1 { return Ok(ReadResult::Format); }
        let mut cmd = Command::default();
        for _ in 0..argc {
            if self.src.line(&mut self.line)?.is_none() { return Ok(ReadResult::Truncated); }
            if self.line[0] != b'$' { return Ok(ReadResult::Format); }
            // strtol into an unsigned long: a negative length cannot be read either.
            let len = atoi(&self.line[1..]);
            if len < 0 || len as u64 > self.src.remaining() { return Ok(ReadResult::Truncated); }
            let start = cmd.bytes.len();
            if !self.src.exact(&mut cmd.bytes, len as usize)? { return Ok(ReadResult::Truncated); }
            cmd.offsets.push(start as i32);
            cmd.offsets.push(cmd.bytes.len() as i32);
            if !self.src.skip(2)? { return Ok(ReadResult::Truncated); }
        }
        Ok(ReadResult::Command(cmd))
    }

    /// Loads about `budget` bytes more of the file: the RDB part first, then commands, until
    /// the file ends, TypeScript must run a command, or the budget is used.
    pub fn run(&mut self, ks: &mut Keyspace, settings: &Settings, reply: &mut Reply, commands: &[CommandRow], budget: u64) -> Step {
        if let Some(e) = self.rdb_error.take() { return Step::RdbFailed(e); }
        let was_on = ks.prop.on;
        ks.prop.on = false;
        ks.loading = true;
        let step = match self.rdb.as_mut() {
            Some(rdb) => match rdb.step(ks, settings, budget.min(usize::MAX as u64) as usize) {
                Err(e) => {
                    self.rdb = None;
                    Step::RdbFailed(e)
                }
                Ok(()) if !rdb.finished() => Step::Yield,
                Ok(()) => self.rdb_done(),
            },
            None => self.run_commands(ks, settings, reply, commands, budget),
        };
        ks.loading = false;
        ks.prop.on = was_on;
        step
    }

    /// The RDB part ended: the commands after it start where it did.
    fn rdb_done(&mut self) -> Step {
        let Some(rdb) = self.rdb.take() else { return Step::Yield };
        let consumed = rdb.loaded_bytes() as u64;
        let mut report = rdb.into_report();
        // The base's function libraries (rdbLoadRio with RDBFLAGS_AOF_PREAMBLE, without
        // RDBFLAGS_ALLOW_DUP): there are none before (start-up, or DEBUG LOADAOF after emptyData
        // dropped them), so a library named twice fails the load, as in Redis.
        if let Err(e) = load_functions(std::mem::take(&mut report.functions), Duplicates::Refuse, false) { return Step::RdbFailed(e); }
        if let Err(e) = self.src.seek_to(consumed) { return Step::ReadError(strerror(&e)); }
        self.valid_up_to = consumed;
        self.valid_before_multi = consumed;
        Step::RdbDone(report)
    }

    fn run_commands(&mut self, ks: &mut Keyspace, settings: &Settings, reply: &mut Reply, commands: &[CommandRow], budget: u64) -> Step {
        let start = self.src.offset();
        // An EXEC interrupted by a foreign command goes on first.
        if let Some(f) = self.run_queued(ks, settings, reply, commands) { return f; }
        loop {
            let read = match self.read_command() {
                Ok(r) => r,
                Err(e) => return Step::ReadError(strerror(&e)),
            };
            let cmd = match read {
                ReadResult::Command(c) => c,
                ReadResult::Eof if self.in_multi => return Step::EofInMulti,
                ReadResult::Eof => return Step::Done,
                ReadResult::Truncated => return Step::Truncated,
                ReadResult::Format => return Step::Format,
            };
            let name = cmd.arg(0).to_ascii_lowercase();
            let foreign = match name.as_slice() {
                b"multi" => {
                    self.valid_before_multi = self.valid_up_to;
                    if self.in_multi {
                        self.queued.push(cmd);
                    } else {
                        self.in_multi = true;
                        self.queued.clear();
                    }
                    None
                }
                b"exec" if self.in_multi => {
                    self.in_multi = false;
                    self.executing.extend(self.queued.drain(..));
                    None
                }
                b"exec" => None,
                _ if self.in_multi => {
                    self.queued.push(cmd);
                    None
                }
                _ => self.execute(cmd, ks, settings, reply, commands, false),
            };
            self.valid_up_to = self.src.offset();
            if let Some(f) = foreign { return f; }
            if let Some(f) = self.run_queued(ks, settings, reply, commands) { return f; }
            if self.src.offset() - start >= budget { return Step::Yield; }
        }
    }

    /// An EXEC's commands. A queued MULTI is an error (EXEC runs with the client still in
    /// MULTI); a queued EXEC cannot happen (EXEC is never queued).
    fn run_queued(&mut self, ks: &mut Keyspace, settings: &Settings, reply: &mut Reply, commands: &[CommandRow]) -> Option<Step> {
        while let Some(cmd) = self.executing.pop_front() {
            let name = cmd.arg(0);
            if name.eq_ignore_ascii_case(b"multi") {
                self.failed(true, "multi", b"ERR MULTI calls can not be nested");
                continue;
            }
            if name.eq_ignore_ascii_case(b"exec") { continue; }
            if let Some(foreign) = self.execute(cmd, ks, settings, reply, commands, true) { return Some(foreign); }
        }
        None
    }

    fn failed(&mut self, in_exec: bool, command: &str, error: &[u8]) {
        let logged_as = if in_exec { "exec".to_string() } else { command.to_string() };
        self.errors.push(LoadError { logged_as, command: command.to_string(), in_exec, error: error.to_vec() });
    }

    /// Runs one command as the fake client would (outside MULTI, or from an EXEC: `in_exec`).
    fn execute(&mut self, cmd: Command, ks: &mut Keyspace, settings: &Settings, reply: &mut Reply, commands: &[CommandRow], in_exec: bool) -> Option<Step> {
        self.commands_run += 1;
        let name = cmd.arg(0).to_ascii_lowercase();
        if name == b"select" {
            // selectCommand (getIntFromObjectOrReply, then selectDb).
            if cmd.argc() == 2 {
                match crate::numfmt::parse_i64(cmd.arg(1)) {
                    Some(db) if db >= 0 && (db as usize) < ks.dbs.len() => self.db = db as usize,
                    Some(db) if i32::try_from(db).is_ok() => self.failed(in_exec, "select", b"ERR DB index is out of range"),
                    Some(_) => self.failed(in_exec, "select", b"ERR value is out of range"),
                    None => self.failed(in_exec, "select", b"ERR value is not an integer or out of range"),
                }
            }
            return None;
        }
        let mut full = name.clone();
        let mut index = self.by_name.get(&full).copied();
        if index.is_none() && cmd.argc() >= 2 {
            full.push(b'|');
            full.extend(cmd.arg(1).to_ascii_lowercase());
            index = self.by_name.get(&full).copied();
        }
        let Some(index) = index else { return Some(Step::Foreign { db: self.db, command: cmd }) };
        let Ok(args) = Args::new(&cmd.bytes, &cmd.offsets) else { return None };
        let call = Call { db: self.db, args, flags: 0, client_id: u64::MAX };
        let ran = run_command(ks, settings, reply, &mut self.pending, commands[index].1, call, &mut self.out, 0);
        let written: &[u8] = match ran {
            Ran::Written(n) => &self.out[..n],
            Ran::Pending => self.pending.as_deref().unwrap_or(&[]),
            Ran::WouldBlock(..) => &[],
        };
        if written.first() == Some(&b'-') {
            let end = written.iter().position(|&b| b == b'\r').unwrap_or(written.len());
            let error = written[1..end].to_vec();
            self.failed(in_exec, &String::from_utf8_lossy(&full), &error);
        }
        self.pending = None;
        // key-load-delay: Redis's test knob, a pause after each command replayed.
        if settings.key_load_delay != 0 { crate::persist::save::debug_delay(settings.key_load_delay); }
        None
    }
}

