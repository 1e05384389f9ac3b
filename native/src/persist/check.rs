//! The report redis-check-rdb prints (Redis 7.0's redis-check-rdb.c), which redis-server runs
//! on its own file after a failed start-up load before exiting: the file is walked again from
//! its start, each AUX field and SELECTDB shown with the offset it was read at, and the error
//! found with what was being done, the key and type being read, and the counts so far.
//!
//! Values are read by the loader's own `read_object`, so a value the load refused is refused
//! here too (with keyfork's words for what is wrong inside a value; the structure, offsets and
//! the EOF / CRC / type messages are Redis's).

use crate::rdb::{crc64, opcode, RdbError, Reader};
use crate::settings::Settings;

use super::load::{parse_version, read_object};

/// rdb_check_doing_string, by what the walk is doing.
#[derive(Clone, Copy)]
enum Doing {
    Start,
    ReadType,
    ReadExpire,
    ReadKey,
    ReadObjectValue,
    CheckSum,
    ReadLen,
    ReadAux,
    ReadModuleAux,
    ReadFunctions,
}

impl Doing {
    fn name(self) -> &'static str {
        match self {
            Doing::Start => "start",
            Doing::ReadType => "read-type",
            Doing::ReadExpire => "read-expire",
            Doing::ReadKey => "read-key",
            Doing::ReadObjectValue => "read-object-value",
            Doing::CheckSum => "check-sum",
            Doing::ReadLen => "read-len",
            Doing::ReadAux => "read-aux",
            Doing::ReadModuleAux => "read-module-aux",
            Doing::ReadFunctions => "read-functions",
        }
    }
}

/// rdb_type_string (Redis 7.0).
const TYPE_NAMES: [&str; 20] = [
    "string", "list-linked", "set-hashtable", "zset-v1", "hash-hashtable", "zset-v2", "module-pre-release", "module-value", "",
    "hash-zipmap", "list-ziplist", "set-intset", "zset-ziplist", "hash-ziplist", "quicklist", "stream", "hash-listpack",
    "zset-listpack", "quicklist-v2", "stream-v2",
];

/// rdbIsObjectType for Redis 7.0 (types 0-7 and 9-19).
fn is_object_type(t: u8) -> bool {
    t <= 7 || (9..=19).contains(&t)
}

struct Walk {
    lines: Vec<String>,
    doing: Doing,
    key: Option<Vec<u8>>,
    key_type: Option<u8>,
    keys: u64,
    expires: u64,
    already_expired: u64,
}

/// `%s` of a C string: up to the first NUL.
fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Walk {
    fn info(&mut self, offset: usize, msg: String) {
        self.lines.push(format!("[offset {offset}] {msg}"));
    }

    /// rdbCheckError, then rdbShowGenericInfo.
    fn error(&mut self, offset: usize, msg: &str) {
        self.lines.push("--- RDB ERROR DETECTED ---".into());
        self.lines.push(format!("[offset {offset}] {msg}"));
        self.lines.push(format!("[additional info] While doing: {}", self.doing.name()));
        if let Some(key) = &self.key {
            self.lines.push(format!("[additional info] Reading key '{}'", c_str(key)));
        }
        if let Some(t) = self.key_type {
            self.lines.push(format!("[additional info] Reading type {t} ({})", TYPE_NAMES.get(t as usize).unwrap_or(&"")));
        }
        self.generic_info();
    }

    fn generic_info(&mut self) {
        self.lines.push(format!("[info] {} keys read", self.keys));
        self.lines.push(format!("[info] {} expires", self.expires));
        self.lines.push(format!("[info] {} already expired", self.already_expired));
    }
}

/// The report for `data` (the file's bytes) named `name`, as redis-check-rdb prints it.
pub fn check_report(data: &[u8], name: &str, now_ms: i64, settings: &Settings) -> Vec<String> {
    // Redis's rdbstate starts with key_type 0 (it is reset to -1 only after a key is read): an
    // error before the first key reports "Reading type 0 (string)".
    let mut w = Walk { lines: Vec::new(), doing: Doing::Start, key: None, key_type: Some(0), keys: 0, expires: 0, already_expired: 0 };
    w.info(0, format!("Checking RDB file {name}"));
    if walk(&mut w, data, now_ms, settings) {
        w.info(data.len(), "\\o/ RDB looks OK! \\o/".into());
        w.generic_info();
    }
    w.lines
}

/// redis_check_rdb's loop; false when it reported an error.
fn walk(w: &mut Walk, data: &[u8], now_ms: i64, settings: &Settings) -> bool {
    let mut r = Reader::new(data);
    // A failed read is reported at the bytes read so far: the reader stops where the read
    // that failed began, as rio counts only whole reads.
    macro_rules! eof {
        ($r:expr, $e:expr) => {{
            let e: RdbError = $e;
            w.error($r.position(), &super::load::internal_error_line(e.message()).unwrap_or_else(|| e.message().to_string()));
            return false;
        }};
    }
    let header = match r.read_bytes(9) {
        Ok(h) => h,
        Err(e) => eof!(r, e),
    };
    if &header[..5] != b"REDIS" {
        w.error(9, "Wrong signature trying to load DB from file");
        return false;
    }
    let version = parse_version(&header[5..]);
    if !(1..=super::load::MAX_RDB_VERSION as i64).contains(&version) {
        w.error(9, &format!("Can't handle RDB format version {version}"));
        return false;
    }
    let mut expire_at: Option<i64> = None;
    loop {
        w.doing = Doing::ReadType;
        let t = match r.read_u8() {
            Ok(t) => t,
            Err(e) => eof!(r, e),
        };
        match t {
            opcode::EXPIRETIME | opcode::EXPIRETIME_MS => {
                w.doing = Doing::ReadExpire;
                let read = if t == opcode::EXPIRETIME { r.read_s_time().map(|s| s as i64 * 1000) } else { r.read_ms_time() };
                match read {
                    Ok(v) => expire_at = Some(v),
                    Err(e) => eof!(r, e),
                }
                continue;
            }
            opcode::FREQ => {
                if let Err(e) = r.read_u8() { eof!(r, e) }
                continue;
            }
            opcode::IDLE => {
                if let Err(e) = r.read_len() { eof!(r, e) }
                continue;
            }
            opcode::EOF => break,
            opcode::SELECTDB => {
                w.doing = Doing::ReadLen;
                match r.read_len() {
                    Ok(id) => w.info(r.position(), format!("Selecting DB ID {id}")),
                    Err(e) => eof!(r, e),
                }
                continue;
            }
            opcode::RESIZEDB => {
                w.doing = Doing::ReadLen;
                for _ in 0..2 {
                    if let Err(e) = r.read_len() { eof!(r, e) }
                }
                continue;
            }
            opcode::AUX => {
                w.doing = Doing::ReadAux;
                let key = match r.read_string() {
                    Ok(k) => k.into_owned(),
                    Err(e) => eof!(r, e),
                };
                let value = match r.read_string() {
                    Ok(v) => v,
                    Err(e) => eof!(r, e),
                };
                w.info(r.position(), format!("AUX FIELD {} = '{}'", c_str(&key), c_str(&value)));
                continue;
            }
            opcode::MODULE_AUX => {
                w.doing = Doing::ReadModuleAux;
                w.error(r.position(), "The RDB file contains AUX module data, which keyfork cannot check (no modules)");
                return false;
            }
            opcode::FUNCTION2 | opcode::FUNCTION_PRE_GA => {
                w.doing = Doing::ReadFunctions;
                if t == opcode::FUNCTION_PRE_GA {
                    w.error(r.position(), "Failed loading library, Pre-release function format not supported.");
                    return false;
                }
                if let Err(e) = r.read_string() { eof!(r, e) }
                continue;
            }
            _ if !is_object_type(t) => {
                w.error(r.position(), &format!("Invalid object type: {t}"));
                return false;
            }
            _ => w.key_type = Some(t),
        }
        w.doing = Doing::ReadKey;
        match r.read_string() {
            Ok(k) => w.key = Some(k.into_owned()),
            Err(e) => eof!(r, e),
        }
        w.keys += 1;
        w.doing = Doing::ReadObjectValue;
        if let Err(e) = read_object(&mut r, t, settings) { eof!(r, e) }
        if let Some(when) = expire_at.take() {
            if when < now_ms { w.already_expired += 1; }
            w.expires += 1;
        }
        w.key = None;
        w.key_type = None;
    }
    if version >= 5 && settings.rdb_checksum != 0 {
        w.doing = Doing::CheckSum;
        let expected = crc64(0, r.consumed());
        let stored = match r.read_u64_le() {
            Ok(v) => v,
            Err(e) => eof!(r, e),
        };
        if stored == 0 {
            w.info(r.position(), "RDB file was saved with checksum disabled: no check performed.".into());
        } else if stored != expected {
            w.error(r.position(), "RDB CRC error");
            return false;
        } else {
            w.info(r.position(), "Checksum OK".into());
        }
    }
    true
}
