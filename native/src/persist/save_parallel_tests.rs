//! The multi-threaded RDB writer against the single-threaded one: the same keys and values for
//! every thread count, a valid CRC, accurate progress, and a failing sink that stops the workers.

use std::io::{self, Write};

use crate::keyspace::{Keyspace, NO_EXPIRE};
use crate::rdb::crc64;
use crate::settings::Settings;
use crate::types::hash::Hash;
use crate::types::set::Set;
use crate::types::string::StrVal;
use crate::types::Value;

use super::load::{load_rdb, Duplicates};
use super::save::{write_rdb_with_threads, AuxFields, SaveOptions};
use super::values;

fn settings() -> Settings {
    let mut s = Settings::default();
    s.hash_max_listpack_entries = 512;
    s
}

/// Enough keys in db 0 and db 2 for the parallel path (several units each), every type, TTLs,
/// values that LZF compresses and values larger than a chunk.
fn big_keyspace(settings: &Settings) -> Keyspace {
    let mut ks = Keyspace::new(16);
    let far = 4102444800000;
    for i in 0..60_000u32 {
        let key = format!("key:{i}");
        let value = match i % 10 {
            0 => Value::Str(StrVal::from_bytes(i.to_string().as_bytes())),
            1 => {
                let mut v = format!("value:{i}").into_bytes();
                v.resize(100, 0);
                Value::Str(StrVal::from_raw(v))
            }
            2 => Value::Str(StrVal::from_raw((0..150u32).map(|j| (j.wrapping_mul(i | 1).wrapping_mul(2654435761) >> 13) as u8).collect())),
            3 => {
                let pairs: Vec<(String, String)> = (0..(if i % 100 == 3 { 600 } else { 5 })).map(|j| (format!("f{j}"), format!("v{j}:{i}"))).collect();
                Value::Hash(Hash::from_pairs(pairs.iter().map(|(f, v)| (f.as_str(), v.as_str())), settings).unwrap())
            }
            4 => {
                let members: Vec<String> = (0..(if i % 100 == 4 { 300 } else { 6 })).map(|j| format!("member:{j}:{i}")).collect();
                Value::Set(Set::from_members(members.iter().map(|s| s.as_str()), settings).unwrap())
            }
            5 => {
                let members: Vec<String> = (0..7).map(|j| (j * 1000 + i as i64).to_string()).collect();
                Value::Set(Set::from_members(members.iter().map(|s| s.as_str()), settings).unwrap())
            }
            6 => {
                let pairs: Vec<(Vec<u8>, f64)> = (0..(if i % 100 == 6 { 200 } else { 4 })).map(|j| (format!("m{j}").into_bytes(), (j * 7919 % 1000) as f64 / 10.0)).collect();
                Value::ZSet(values::zset_from_pairs(pairs, false, settings).unwrap())
            }
            7 => {
                let items: Vec<Vec<u8>> = (0..(if i % 100 == 7 { 400 } else { 8 })).map(|j| format!("item:{j}:{i}").into_bytes()).collect();
                Value::List(values::list_from_items(items, settings))
            }
            _ => Value::Str(StrVal::from_bytes(format!("short{i}").as_bytes())),
        };
        let expire = if i % 13 == 0 { far + i as i64 } else { NO_EXPIRE };
        ks.add(0, key.as_bytes(), value, expire, 0);
    }
    // Values larger than a chunk, in a database of its own and among small keys.
    let noise: Vec<u8> = (0..1_500_000u32).map(|i| (i.wrapping_mul(2654435761) >> 17) as u8).collect();
    ks.add(0, b"huge:noise", Value::Str(StrVal::from_raw(noise)), NO_EXPIRE, 0);
    for i in 0..20_000u32 {
        ks.add(2, format!("db2:{i}").as_bytes(), Value::Str(StrVal::from_bytes(format!("v{i}").as_bytes())), NO_EXPIRE, 0);
    }
    ks.add(2, b"huge:zeros", Value::Str(StrVal::from_raw(vec![0; 3_000_000])), NO_EXPIRE, 0);
    ks.add(5, b"small-db", Value::Str(StrVal::from_bytes(b"x")), NO_EXPIRE, 0);
    ks
}

const AUX: AuxFields = AuxFields { ctime: 1_700_000_000, used_mem: 1 << 20, aof_base: false, repl: None };

fn save(ks: &Keyspace, settings: &Settings, compress: bool, checksum: bool, threads: usize) -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let opts = SaveOptions { compress, checksum, key_save_delay_us: 0, ..SaveOptions::default() };
    let (keys, bytes) = write_rdb_with_threads(ks, settings, &mut out, &opts, &AUX, threads, |k, b| calls.push((k, b))).unwrap();
    assert_eq!(keys as usize, ks.key_count());
    assert_eq!(bytes as usize, out.len());
    (out, calls)
}

/// The file's CRC trailer is the CRC64 of everything before it (0 without checksums), and the
/// file loads: the digest of what it holds.
fn check_and_load(file: &[u8], settings: &Settings, checksum: bool, keys: usize) -> String {
    let (body, trailer) = file.split_at(file.len() - 8);
    let expected = if checksum { crc64(0, body) } else { 0 };
    assert_eq!(trailer, expected.to_le_bytes());
    let mut loaded = Keyspace::new(16);
    let report = load_rdb(file, &mut loaded, settings, crate::now_ms(), Duplicates::Refuse).unwrap();
    assert_eq!(report.keys_loaded as usize, keys);
    crate::cmd::server::keyspace_digest(&loaded)
}

#[test]
fn every_thread_count_writes_the_same_keys_and_values() {
    let settings = settings();
    let ks = big_keyspace(&settings);
    let original = crate::cmd::server::keyspace_digest(&ks);
    for (compress, checksum) in [(true, true), (false, true), (true, false)] {
        let (single, _) = save(&ks, &settings, compress, checksum, 1);
        assert_eq!(check_and_load(&single, &settings, checksum, ks.key_count()), original);
        for threads in [2, 3, 5] {
            // Keys come in the order the workers finish them: the same bytes, another order.
            let (multi, _) = save(&ks, &settings, compress, checksum, threads);
            assert_eq!(multi.len(), single.len(), "compress {compress} checksum {checksum}: {threads} threads");
            let digest = check_and_load(&multi, &settings, checksum, ks.key_count());
            assert_eq!(digest, original, "compress {compress} checksum {checksum}: {threads} threads");
        }
    }
}

#[test]
fn progress_grows_to_the_totals() {
    let settings = settings();
    let ks = big_keyspace(&settings);
    let (out, calls) = save(&ks, &settings, true, true, 2);
    assert!(calls.len() > 10, "progress reported {} times", calls.len());
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1), "progress went backwards");
    assert_eq!(*calls.last().unwrap(), (ks.key_count() as u64, out.len() as u64));
}

/// Accepts `room` bytes, then fails every write.
struct FailingSink {
    room: usize,
}

impl Write for FailingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "No space left on device"));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_sink_stops_the_save_with_its_error() {
    let settings = settings();
    let ks = big_keyspace(&settings);
    let opts = SaveOptions { compress: true, checksum: true, key_save_delay_us: 0, ..SaveOptions::default() };
    for room in [0, 100, 700_000, 3_000_000] {
        for threads in [1, 2] {
            let mut sink = FailingSink { room };
            let err = write_rdb_with_threads(&ks, &settings, &mut sink, &opts, &AUX, threads, |_, _| {}).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "room {room}, {threads} threads");
        }
    }
}

/// Keys like the save benchmark's: DEBUG POPULATE strings and the mixed dataset's collections.
/// `cargo test --release --lib persist::save_parallel_tests::save_threads_speed -- --ignored --nocapture`
#[test]
#[ignore]
fn save_threads_speed() {
    let settings = settings();
    let mut strings = Keyspace::new(16);
    for i in 0..1_000_000u32 {
        let mut v = format!("value:{i}").into_bytes();
        v.resize(100, 0);
        strings.add(0, format!("key:{i}").as_bytes(), Value::Str(StrVal::from_raw(v)), NO_EXPIRE, 0);
    }
    let mut mixed = Keyspace::new(16);
    for i in 0..200_000u32 {
        let n = if (i / 20) % 20 == 7 { 300 } else { 10 };
        let (key, value) = match i % 20 {
            0..=7 => {
                let mut v = format!("value:{i}").into_bytes();
                v.resize(100, 0);
                (format!("key:{i}"), Value::Str(StrVal::from_raw(v)))
            }
            8..=10 => {
                let pairs: Vec<(String, String)> = (0..n).map(|j| (format!("field:{j}"), format!("v{j}:{i}"))).collect();
                (format!("hash:{i}"), Value::Hash(Hash::from_pairs(pairs.iter().map(|(f, v)| (f.as_str(), v.as_str())), &settings).unwrap()))
            }
            11..=13 => {
                let items: Vec<Vec<u8>> = (0..n).map(|j| format!("member:{j}:{i}").into_bytes()).collect();
                (format!("list:{i}"), Value::List(values::list_from_items(items, &settings)))
            }
            14..=16 => {
                let members: Vec<String> = (0..n).map(|j| format!("member:{j}:{i}")).collect();
                (format!("set:{i}"), Value::Set(Set::from_members(members.iter().map(|s| s.as_str()), &settings).unwrap()))
            }
            _ => {
                let pairs: Vec<(Vec<u8>, f64)> = (0..n).map(|j| (format!("member:{j}:{i}").into_bytes(), ((j * 7919) % 1000) as f64 / 10.0)).collect();
                (format!("zset:{i}"), Value::ZSet(values::zset_from_pairs(pairs, false, &settings).unwrap()))
            }
        };
        mixed.add(0, key.as_bytes(), value, NO_EXPIRE, 0);
    }
    let opts = SaveOptions { compress: true, checksum: true, key_save_delay_us: 0, ..SaveOptions::default() };
    for (name, ks) in [("1M populate strings", &strings), ("200k mixed", &mixed)] {
        for threads in [1, 2] {
            for _ in 0..3 {
                let mut file = std::fs::File::create("/tmp/keyfork-save-threads-speed.rdb").unwrap();
                let cpu0 = process_cpu_ms();
                let t = std::time::Instant::now();
                let (keys, bytes) = write_rdb_with_threads(ks, &settings, &mut file, &opts, &AUX, threads, |_, _| {}).unwrap();
                let el = t.elapsed();
                let cpu = process_cpu_ms() - cpu0;
                println!("{name}, {threads} threads: {keys} keys, {bytes} bytes in {el:?} ({:.0} ns/key), CPU {cpu} ms", el.as_nanos() as f64 / keys as f64);
            }
        }
    }
    let _ = std::fs::remove_file("/tmp/keyfork-save-threads-speed.rdb");
}

/// User + system CPU time of this process so far, from /proc/self/stat (clock ticks of 10 ms).
fn process_cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

#[test]
fn a_table_in_the_middle_of_a_rehash_is_saved_whole_by_every_thread_count() {
    // 40,000 keys: the table grew to 65,536 buckets at key 32,769 and the 7,231 inserts since
    // moved a bucket each, so both bucket arrays hold keys (the save's units span both).
    let settings = settings();
    let mut ks = Keyspace::new(16);
    for i in 0..40_000u32 {
        ks.add(0, format!("key:{i}").as_bytes(), Value::Str(StrVal::from_bytes(format!("v{i}").as_bytes())), NO_EXPIRE, 0);
    }
    assert!(ks.dbs[0].dict.is_rehashing());
    let original = crate::cmd::server::keyspace_digest(&ks);
    for threads in [1, 2, 3] {
        let (file, _) = save(&ks, &settings, true, true, threads);
        assert_eq!(check_and_load(&file, &settings, true, 40_000), original, "{threads} threads");
    }
}
