//! Save/load round trips of every type and encoding, byte-for-byte checks against payloads
//! and a file written by redis-server 7.0.15, old encodings, and corrupt input.

use std::collections::BTreeMap;

use crate::keyspace::{Keyspace, NO_EXPIRE};
use crate::rdb::{crc64, opcode, rdb_type, write_len, write_string, Entry, ListpackBuilder};
use crate::settings::Settings;
use crate::types::hash::Hash;
use crate::types::set::Set;
use crate::types::string::StrVal;
use crate::types::Value;

use super::dump::{dump_payload, payload_value, verify_payload};
use super::load::{load_rdb, read_object};
use super::save::{write_rdb, AuxFields, SaveOptions};
use super::values;

/// Redis 7.0.15's defaults (hash-max-listpack-entries is 512 there).
fn redis_settings() -> Settings {
    let mut s = Settings::default();
    s.hash_max_listpack_entries = 512;
    s
}

const REDIS_FILE: &[u8] = include_bytes!("testdata/redis-7.0.15-all-types.rdb");
const REDIS_DUMPS: &str = include_str!("testdata/redis-7.0.15-dumps.txt");

/// The error of a result whose success type has no Debug.
fn err<T>(r: Result<T, String>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn redis_dump(key: &str) -> Vec<u8> {
    let line = REDIS_DUMPS.lines().find(|l| l.split(' ').next() == Some(key)).expect("key in dumps file");
    unhex(line.split(' ').nth(1).unwrap())
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn list(items: &[&str], settings: &Settings) -> Value {
    Value::List(values::list_from_items(items.iter().map(|s| b(s)).collect(), settings))
}

fn set(members: &[&str], settings: &Settings) -> Value {
    Value::Set(Set::from_members(members.iter().copied(), settings).unwrap())
}

fn hash(pairs: &[(&str, &str)], settings: &Settings) -> Value {
    Value::Hash(Hash::from_pairs(pairs.iter().copied(), settings).unwrap())
}

fn zset(pairs: &[(&str, f64)], settings: &Settings) -> Value {
    Value::ZSet(values::zset_from_pairs(pairs.iter().map(|(m, s)| (b(m), *s)).collect(), false, settings).unwrap())
}

/// A value in a comparable form: type, encoding, elements (sorted where order is not part of
/// the value).
fn canon(v: &Value) -> (String, String, Vec<Vec<u8>>) {
    let items: Vec<Vec<u8>> = match v {
        Value::Str(s) => vec![s.to_vec()],
        Value::List(l) => values::list_items(l).map(|i| i.to_vec()).collect(),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            m
        }
        Value::Hash(h) => {
            let mut m: Vec<Vec<u8>> = h.iter().map(|(f, v)| [f, b"\0", v].concat()).collect();
            m.sort();
            m
        }
        Value::ZSet(z) => {
            let mut m = Vec::new();
            values::zset_for_each_ascending(z, |member, score| m.push([member, b"\0", &score.to_bits().to_le_bytes()].concat()));
            m
        }
        Value::Stream(s) => {
            let mut buf = [0u8; 20];
            let mut m = Vec::new();
            for e in s.range(crate::types::stream::StreamId::ZERO, crate::types::stream::StreamId::MAX, false) {
                m.push(e.id.text());
                for (f, v) in e.fields() {
                    m.push([f.as_bytes(&mut buf), b"\0"].concat());
                    m.push(v.as_bytes(&mut buf).to_vec());
                }
            }
            m
        }
    };
    (v.type_name().to_string(), v.encoding().to_string(), items)
}

type Snapshot = BTreeMap<(usize, Vec<u8>), ((String, String, Vec<Vec<u8>>), i64)>;

fn snapshot(ks: &Keyspace) -> Snapshot {
    let mut out = BTreeMap::new();
    for (db, d) in ks.dbs.iter().enumerate() {
        for e in d.dict.nodes() {
            out.insert((db, e.key().to_vec()), (canon(&e.value), e.expire_at()));
        }
    }
    out
}

/// A keyspace with every type in every encoding, TTLs and several databases.
fn sample_keyspace(settings: &Settings) -> Keyspace {
    let mut ks = Keyspace::new(16);
    let far = 4102444800000;
    let add = |ks: &mut Keyspace, db: usize, k: &str, v: Value, exp: i64| ks.add(db, k.as_bytes(), v, exp, 0);
    add(&mut ks, 0, "s:int", Value::Str(StrVal::from_bytes(b"12345")), NO_EXPIRE);
    add(&mut ks, 0, "s:neg", Value::Str(StrVal::from_bytes(b"-9223372036854775808")), NO_EXPIRE);
    add(&mut ks, 0, "s:big", Value::Str(StrVal::from_bytes(b"123456789012")), far);
    add(&mut ks, 0, "s:emb", Value::Str(StrVal::from_bytes(b"hello world")), NO_EXPIRE);
    add(&mut ks, 0, "s:raw", Value::Str(StrVal::from_bytes(&b"abcdefghij".repeat(10))), NO_EXPIRE);
    let noise: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    add(&mut ks, 0, "s:noise", Value::Str(StrVal::from_raw(noise)), NO_EXPIRE);
    add(&mut ks, 0, "s:empty", Value::Str(StrVal::from_bytes(b"")), NO_EXPIRE);
    add(&mut ks, 0, "l:small", list(&["a", "1", "-2", "300", "70000", "hello", "9999999999"], settings), NO_EXPIRE);
    let many: Vec<String> = (0..5000).map(|i| format!("element-{i}-{}", "x".repeat(i % 97))).collect();
    let many_refs: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    add(&mut ks, 0, "l:big", list(&many_refs, settings), far);
    let huge = "h".repeat(70000);
    add(&mut ks, 0, "l:huge-element", list(&["a", &huge, "b"], settings), NO_EXPIRE);
    add(&mut ks, 0, "set:i16", set(&["5", "-3", "100"], settings), NO_EXPIRE);
    add(&mut ks, 0, "set:i32", set(&["5", "100000"], settings), NO_EXPIRE);
    add(&mut ks, 0, "set:i64", set(&["5", "-10000000000"], settings), NO_EXPIRE);
    add(&mut ks, 0, "set:table", set(&["alpha", "beta", "1"], settings), NO_EXPIRE);
    let ints: Vec<String> = (0..600).map(|i| (i * 7).to_string()).collect();
    let int_refs: Vec<&str> = ints.iter().map(|s| s.as_str()).collect();
    add(&mut ks, 0, "set:many-ints", set(&int_refs, settings), NO_EXPIRE);
    add(&mut ks, 0, "h:small", hash(&[("f", "v"), ("n", "7"), ("neg", "-12345678901")], settings), NO_EXPIRE);
    let long_value = "v".repeat(100);
    add(&mut ks, 0, "h:long", hash(&[("f", &long_value)], settings), NO_EXPIRE);
    let fields: Vec<(String, String)> = (0..700).map(|i| (format!("field{i}"), format!("value{i}"))).collect();
    let field_refs: Vec<(&str, &str)> = fields.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
    add(&mut ks, 0, "h:big", hash(&field_refs, settings), far);
    add(&mut ks, 0, "z:small", zset(&[("b", 0.1), ("a", 1.5), ("100", 3.0), ("big", 1e300), ("pinf", f64::INFINITY), ("ninf", f64::NEG_INFINITY)], settings), NO_EXPIRE);
    let members: Vec<(String, f64)> = (0..300).map(|i| (format!("m{i}"), i as f64 + 0.5)).collect();
    let member_refs: Vec<(&str, f64)> = members.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    add(&mut ks, 0, "z:big", zset(&member_refs, settings), NO_EXPIRE);
    add(&mut ks, 3, "k3", Value::Str(StrVal::from_bytes(b"v3")), NO_EXPIRE);
    add(&mut ks, 3, "h3", hash(&[("a", "1")], settings), far);
    add(&mut ks, 15, "last-db", list(&["x"], settings), NO_EXPIRE);
    ks
}

fn save(ks: &Keyspace, settings: &Settings, compress: bool, checksum: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let opts = SaveOptions { compress, checksum, key_save_delay_us: 0, ..SaveOptions::default() };
    let aux = AuxFields { ctime: 1_700_000_000, used_mem: 1 << 20, aof_base: false, repl: None };
    let (keys, bytes) = write_rdb(ks, settings, &mut out, &opts, &aux, |_, _| {}).unwrap();
    assert_eq!(keys as usize, ks.key_count());
    assert_eq!(bytes as usize, out.len());
    out
}

/// Loads a whole image, and checks that the same bytes read through small windows (every
/// record cut somewhere, some longer than the window) give the same keys or the same error.
fn load(data: &[u8], settings: &Settings) -> Result<(Keyspace, super::load::LoadReport), String> {
    let mut ks = Keyspace::new(16);
    let whole = load_rdb(data, &mut ks, settings, crate::now_ms(), super::load::Duplicates::Refuse);
    for window in [16, 61, 1000] {
        let mut streamed_ks = Keyspace::new(16);
        let streamed = super::load::Loader::stream(Box::new(std::io::Cursor::new(data.to_vec())), "test.rdb", data.len(), window, crate::now_ms(), super::load::Duplicates::Refuse)
            .and_then(|mut l| {
                // Small slices too, as a start-up load steps.
                while !l.finished() { l.step(&mut streamed_ks, settings, 7)?; }
                Ok(l.into_report())
            });
        match (&whole, &streamed) {
            (Ok(a), Ok(b)) => {
                assert_eq!((a.keys_loaded, a.keys_expired, &a.warnings, &a.functions), (b.keys_loaded, b.keys_expired, &b.warnings, &b.functions), "window {window}");
                assert!(snapshot(&ks) == snapshot(&streamed_ks), "window {window}: the keyspaces differ");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "window {window}"),
            _ => panic!("window {window}: whole {:?} streamed {:?}", whole.as_ref().err(), streamed.as_ref().err()),
        }
    }
    Ok((ks, whole?))
}

#[test]
fn every_type_and_encoding_round_trips() {
    let settings = redis_settings();
    let ks = sample_keyspace(&settings);
    let before = snapshot(&ks);
    for (compress, checksum) in [(true, true), (false, true), (true, false), (false, false)] {
        let file = save(&ks, &settings, compress, checksum);
        assert_eq!(&file[..9], b"REDIS0010");
        let stored_crc = u64::from_le_bytes(file[file.len() - 8..].try_into().unwrap());
        if checksum {
            assert_eq!(stored_crc, crc64(0, &file[..file.len() - 8]));
        } else {
            assert_eq!(stored_crc, 0);
        }
        let (loaded, report) = load(&file, &settings).unwrap();
        assert_eq!(report.keys_loaded as usize, ks.key_count());
        assert_eq!(report.keys_expired, 0);
        assert_eq!(report.redis_ver.as_deref(), Some("7.0.15"));
        assert_eq!(report.ctime, Some(1_700_000_000));
        assert_eq!(report.aof_base, Some(0));
        let after = snapshot(&loaded);
        assert_eq!(after.len(), before.len());
        for (key, value) in &before {
            assert!(after.get(key) == Some(value), "{key:?} differs after the round trip (compress {compress} checksum {checksum})");
        }
        assert_eq!(loaded.dbs[0].expires, ks.dbs[0].expires);
        // Re-serializing what was loaded gives the same bytes wherever the element order is
        // the encoding's own (not a hash table's).
        for (db, d) in ks.dbs.iter().enumerate() {
            for (k, e) in d.dict.iter() {
                if e.value.encoding() == "hashtable" {
                    continue;
                }
                let again = &loaded.dbs[db].dict.get(k).unwrap().value;
                assert_eq!(dump_payload(again, compress, &settings), dump_payload(&e.value, compress, &settings));
            }
        }
    }
}

#[test]
fn strings_load_with_the_encoding_redis_picks() {
    // Text that reads as an integer (INCRBYFLOAT's "42") loads int-encoded, as Redis's
    // tryObjectEncoding does on load.
    let settings = redis_settings();
    for (value, enc) in [(StrVal::from_text(b"42"), "int"), (StrVal::from_raw(b"short".to_vec()), "embstr"), (StrVal::from_raw(vec![b'r'; 45]), "raw")] {
        let p = dump_payload(&Value::Str(value), true, &settings);
        assert_eq!(payload_value(&p, &settings).unwrap().encoding(), enc);
    }
}

#[test]
fn aux_fields_and_db_headers_match_redis_layout() {
    let settings = redis_settings();
    let mut ks = Keyspace::new(16);
    ks.add(2, b"k", Value::Str(StrVal::from_bytes(b"v")), 4102444800000, 0);
    let file = save(&ks, &settings, true, true);
    let mut expected = b"REDIS0010".to_vec();
    for (k, v) in [("redis-ver", "7.0.15"), ("redis-bits", "64"), ("ctime", "1700000000"), ("used-mem", "1048576"), ("aof-base", "0")] {
        expected.push(opcode::AUX);
        write_string(&mut expected, k.as_bytes(), None);
        write_string(&mut expected, v.as_bytes(), None);
    }
    expected.extend_from_slice(&[opcode::SELECTDB, 2, opcode::RESIZEDB, 1, 1, opcode::EXPIRETIME_MS]);
    expected.extend_from_slice(&4102444800000i64.to_le_bytes());
    expected.extend_from_slice(&[rdb_type::STRING, 1, b'k', 1, b'v', opcode::EOF]);
    let crc = crc64(0, &expected);
    expected.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(file, expected);
}

/// Values built like the redis-server that wrote testdata/ built them.
fn redis_sample_values(settings: &Settings) -> Vec<(&'static str, Value)> {
    let hbig: Vec<(String, String)> = (1..=200).map(|i| (format!("field{i}"), format!("value{i}"))).collect();
    let hbig_refs: Vec<(&str, &str)> = hbig.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
    let zbig: Vec<(String, f64)> = (1..=200).map(|i| (format!("m{i}"), i as f64 + 0.5)).collect();
    let zbig_refs: Vec<(&str, f64)> = zbig.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    let lbig: Vec<String> = (1..=200).map(|i| format!("element-number-{i}")).collect();
    let lbig_refs: Vec<&str> = lbig.iter().map(|s| s.as_str()).collect();
    vec![
        ("s:int", Value::Str(StrVal::from_bytes(b"12345"))),
        ("s:big", Value::Str(StrVal::from_bytes(b"123456789012"))),
        ("s:emb", Value::Str(StrVal::from_bytes(b"hello world"))),
        ("s:lzf", Value::Str(StrVal::from_bytes(&b"abcdefghij".repeat(10)))),
        ("l", list(&["a", "1", "-2", "300", "70000", "hello", "9999999999"], settings)),
        ("si", set(&["5", "-3", "100000"], settings)),
        ("zl", zset(&[("b", 0.1), ("a", 1.5), ("100", 3.0), ("z", 0.0), ("big", 1e300), ("pinf", f64::INFINITY)], settings)),
        ("h", hash(&[("f", "v"), ("n", "7")], settings)),
        ("hbig", hash(&hbig_refs, settings)),
        ("lbig", list(&lbig_refs, settings)),
        ("t", zset(&[("x", 0.0)], settings)),
        ("zbig", zset(&zbig_refs, settings)),
    ]
}

#[test]
fn dump_payloads_match_redis_byte_for_byte() {
    let settings = redis_settings();
    for (key, value) in redis_sample_values(&settings) {
        assert_eq!(dump_payload(&value, true, &settings), redis_dump(key), "DUMP {key}");
    }
}

#[test]
fn redis_payloads_restore_to_the_same_values() {
    let settings = redis_settings();
    for (key, value) in redis_sample_values(&settings) {
        let payload = redis_dump(key);
        assert!(verify_payload(&payload), "{key}");
        let restored = payload_value(&payload, &settings).unwrap_or_else(|| panic!("{key} decodes"));
        assert_eq!(canon(&restored), canon(&value), "{key}");
    }
    // Hashtable-encoded sets: Redis's member order is its dict's; compare contents.
    for (key, n) in [("sh", 3), ("sbig", 200)] {
        let restored = payload_value(&redis_dump(key), &settings).unwrap();
        let (t, enc, members) = canon(&restored);
        assert_eq!((t.as_str(), enc.as_str(), members.len()), ("set", "hashtable", n), "{key}");
    }
}

#[test]
fn payload_checks() {
    let settings = redis_settings();
    let mut p = redis_dump("h");
    assert!(verify_payload(&p));
    let n = p.len();
    p[n - 1] ^= 1; // CRC
    assert!(!verify_payload(&p));
    let mut p = redis_dump("h");
    p[n - 10] = 11; // version 11: Redis 7.0 refuses it
    let crc = crc64(0, &p[..n - 8]);
    p[n - 8..].copy_from_slice(&crc.to_le_bytes());
    assert!(!verify_payload(&p));
    assert!(!verify_payload(&[0; 9]));
    // A valid footer on a bad body: verifies, but does not decode.
    let mut bad = vec![rdb_type::HASH_LISTPACK, 3, 1, 2, 3];
    bad.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(0, &bad);
    bad.extend_from_slice(&crc.to_le_bytes());
    assert!(verify_payload(&bad));
    assert!(payload_value(&bad, &settings).is_none());
}

#[test]
fn redis_file_loads_with_its_expires_and_databases() {
    let settings = redis_settings();
    let (ks, report) = load(REDIS_FILE, &settings).unwrap();
    assert_eq!(report.rdb_version, 10);
    assert_eq!(report.redis_ver.as_deref(), Some("7.0.15"));
    assert_eq!(report.aof_base, Some(0));
    assert_eq!((report.keys_loaded, report.keys_expired), (17, 1));
    assert!(ks.dbs[0].dict.get(b"ex:past").is_none());
    assert_eq!(ks.dbs[0].dict.get_node(b"ex:future").unwrap().expire_at(), 4102444800000);
    assert_eq!(ks.dbs[0].expires, 1);
    assert_eq!(ks.dbs[3].dict.len(), 2);
    for (key, value) in redis_sample_values(&settings) {
        let e = ks.dbs[0].dict.get(key.as_bytes()).unwrap_or_else(|| panic!("{key} loaded"));
        assert_eq!(canon(&e.value), canon(&value), "{key}");
    }
    let expected_encodings = [
        ("s:int", "int"), ("s:big", "int"), ("s:emb", "embstr"), ("s:lzf", "raw"), ("l", "quicklist"),
        ("si", "intset"), ("sh", "hashtable"), ("zl", "listpack"), ("h", "listpack"), ("hbig", "listpack"),
        ("zbig", "skiplist"), ("lbig", "quicklist"), ("sbig", "hashtable"),
    ];
    for (key, enc) in expected_encodings {
        assert_eq!(ks.dbs[0].dict.get(key.as_bytes()).unwrap().value.encoding(), enc, "{key}");
    }
}

#[test]
fn listpack_thresholds_apply_on_load() {
    // A 200-field listpack hash saved under 512 entries loads as a hashtable under 128.
    let settings = redis_settings();
    let small_limit = Settings::default();
    assert_eq!(small_limit.hash_max_listpack_entries, 128);
    let v = payload_value(&redis_dump("hbig"), &small_limit).unwrap();
    assert_eq!(v.encoding(), "hashtable");
    let v = payload_value(&redis_dump("hbig"), &settings).unwrap();
    assert_eq!(v.encoding(), "listpack");
    // An intset longer than set-max-intset-entries becomes a hashtable.
    let mut few = redis_settings();
    few.set_max_intset_entries = 2;
    assert_eq!(payload_value(&redis_dump("si"), &few).unwrap().encoding(), "hashtable");
    assert_eq!(payload_value(&redis_dump("si"), &settings).unwrap().encoding(), "intset");
}

fn read_one(t: u8, body: &[u8]) -> Result<Option<Value>, String> {
    let settings = redis_settings();
    let mut r = crate::rdb::Reader::new(body);
    read_object(&mut r, t, &settings).map_err(|e| e.to_string())
}

fn strings(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    write_len(&mut out, items.len() as u64);
    for i in items {
        write_string(&mut out, i, None);
    }
    out
}

fn pairs(items: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    write_len(&mut out, items.len() as u64);
    for (f, v) in items {
        write_string(&mut out, f, None);
        write_string(&mut out, v, None);
    }
    out
}

#[test]
fn old_plain_types_load() {
    let v = read_one(rdb_type::LIST, &strings(&[b"a", b"12", b"b"])).unwrap().unwrap();
    assert_eq!(canon(&v).2, vec![b("a"), b("12"), b("b")]);
    let v = read_one(rdb_type::SET, &strings(&[b"1", b"2"])).unwrap().unwrap();
    assert_eq!(v.encoding(), "intset");
    let v = read_one(rdb_type::SET, &strings(&[b"1", b"x"])).unwrap().unwrap();
    assert_eq!(v.encoding(), "hashtable");
    let v = read_one(rdb_type::HASH, &pairs(&[(b"f", b"v"), (b"g", b"w")])).unwrap().unwrap();
    assert_eq!(canon(&v).2, vec![b("f\0v"), b("g\0w")]);
    // ZSET (type 3): ASCII doubles, 253 = NaN refused.
    let mut z = Vec::new();
    write_len(&mut z, 2);
    write_string(&mut z, b"a", None);
    z.extend_from_slice(b"\x031.5");
    write_string(&mut z, b"b", None);
    z.push(254); // +inf
    let v = read_one(rdb_type::ZSET, &z).unwrap().unwrap();
    let mut scores = Vec::new();
    if let Value::ZSet(zs) = &v {
        values::zset_for_each_ascending(zs, |m, s| scores.push((m.to_vec(), s)));
    }
    assert_eq!(scores, vec![(b("a"), 1.5), (b("b"), f64::INFINITY)]);
    let mut nan = Vec::new();
    write_len(&mut nan, 1);
    write_string(&mut nan, b"a", None);
    nan.push(253);
    assert_eq!(err(read_one(rdb_type::ZSET, &nan)), "Zset with NAN score detected");
}

#[test]
fn ziplist_and_zipmap_encodings_load() {
    use crate::rdb::ziplist::tests::build_ziplist;
    let zl = build_ziplist(&[Entry::Bytes(b"a"), Entry::Int(7), Entry::Bytes(b"hello")]);
    let mut body = Vec::new();
    write_string(&mut body, &zl, None);
    let v = read_one(rdb_type::LIST_ZIPLIST, &body).unwrap().unwrap();
    assert_eq!(canon(&v).2, vec![b("a"), b("7"), b("hello")]);

    // Quicklist v1: nodes are ziplists.
    let mut ql = Vec::new();
    write_len(&mut ql, 2);
    write_string(&mut ql, &zl, None);
    write_string(&mut ql, &build_ziplist(&[Entry::Bytes(b"z")]), None);
    let v = read_one(rdb_type::LIST_QUICKLIST, &ql).unwrap().unwrap();
    assert_eq!(canon(&v).2, vec![b("a"), b("7"), b("hello"), b("z")]);

    let pairs = build_ziplist(&[Entry::Bytes(b"f"), Entry::Bytes(b"v"), Entry::Bytes(b"n"), Entry::Int(1)]);
    let mut body = Vec::new();
    write_string(&mut body, &pairs, None);
    let v = read_one(rdb_type::HASH_ZIPLIST, &body).unwrap().unwrap();
    assert_eq!((v.encoding(), canon(&v).2), ("listpack", vec![b("f\0v"), b("n\x001")]));

    let zpairs = build_ziplist(&[Entry::Bytes(b"a"), Entry::Bytes(b"2.5"), Entry::Bytes(b"b"), Entry::Int(1)]);
    let mut body = Vec::new();
    write_string(&mut body, &zpairs, None);
    let v = read_one(rdb_type::ZSET_ZIPLIST, &body).unwrap().unwrap();
    let mut got = Vec::new();
    if let Value::ZSet(z) = &v {
        values::zset_for_each_ascending(z, |m, s| got.push((m.to_vec(), s)));
    }
    assert_eq!(got, vec![(b("b"), 1.0), (b("a"), 2.5)]);

    // Zipmap: count, then <len>key<len><free>value<free bytes>, 0xFF.
    let zm = [2u8, 1, b'f', 1, 0, b'v', 2, b'n', b'm', 3, 1, b'1', b'2', b'3', 0, 0xFF];
    let mut body = Vec::new();
    write_string(&mut body, &zm, None);
    let v = read_one(rdb_type::HASH_ZIPMAP, &body).unwrap().unwrap();
    assert_eq!(canon(&v).2, vec![b("f\0v"), b("nm\x00123")]);
}

#[test]
fn duplicates_and_bad_packed_values_are_refused() {
    let mut lp = ListpackBuilder::new();
    for s in [b"f".as_ref(), b"1", b"f", b"2"] {
        lp.push_bytes(s);
    }
    let mut body = Vec::new();
    write_string(&mut body, lp.finish(), None);
    assert!(read_one(rdb_type::HASH_LISTPACK, &body).is_err());
    assert!(read_one(rdb_type::ZSET_LISTPACK, &body).is_err());
    assert!(read_one(super::load::TYPE_SET_LISTPACK, &body).is_err());
    // Odd element count.
    let mut lp = ListpackBuilder::new();
    lp.push_bytes(b"f");
    let mut body = Vec::new();
    write_string(&mut body, lp.finish(), None);
    assert!(read_one(rdb_type::HASH_LISTPACK, &body).is_err());
    // Zset listpack with a score that is not a number.
    let mut lp = ListpackBuilder::new();
    lp.push_bytes(b"m");
    lp.push_bytes(b"abc");
    let mut body = Vec::new();
    write_string(&mut body, lp.finish(), None);
    assert!(read_one(rdb_type::ZSET_LISTPACK, &body).is_err());
    assert_eq!(err(read_one(rdb_type::SET, &strings(&[b"1", b"1"]))), "Duplicate set members detected");
    assert_eq!(err(read_one(rdb_type::SET, &strings(&[b"x", b"x"]))), "Duplicate set members detected");
    assert_eq!(err(read_one(rdb_type::HASH, &pairs(&[(b"f", b"1"), (b"f", b"2")]))), "Hash with dup elements"); // small: Redis builds a listpack
    let mut z = Vec::new();
    write_len(&mut z, 2);
    for _ in 0..2 {
        write_string(&mut z, b"m", None);
        z.extend_from_slice(&1.0f64.to_le_bytes());
    }
    assert_eq!(err(read_one(rdb_type::ZSET_2, &z)), "Duplicate zset fields detected");
    // Intset not ascending.
    let blob = [2u8, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0];
    let mut body = Vec::new();
    write_string(&mut body, &blob, None);
    assert!(read_one(rdb_type::SET_INTSET, &body).is_err());
    // Unknown quicklist container.
    let mut ql = Vec::new();
    write_len(&mut ql, 1);
    write_len(&mut ql, 3);
    write_string(&mut ql, b"abc", None);
    assert!(read_one(rdb_type::LIST_QUICKLIST_2, &ql).is_err());
}

#[test]
fn empty_values_are_skipped_on_load_and_refused_by_restore() {
    let settings = redis_settings();
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(&[opcode::SELECTDB, 0, rdb_type::LIST_QUICKLIST_2, 1, b'e', 0]);
    file.extend_from_slice(&[rdb_type::STRING, 1, b'k', 1, b'v', opcode::EOF]);
    file.extend_from_slice(&0u64.to_le_bytes());
    let (ks, report) = load(&file, &settings).unwrap();
    assert_eq!((report.keys_loaded, report.empty_keys_skipped), (1, 1));
    assert_eq!(report.warnings, vec!["rdbLoadObject skipping empty key: e", "RDB file was saved with checksum disabled: no check performed."]);
    assert!(ks.dbs[0].dict.get(b"e").is_none());
    let mut p = vec![rdb_type::SET, 0];
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    assert!(verify_payload(&p));
    assert!(payload_value(&p, &settings).is_none());
}

#[test]
fn header_version_checksum_and_unsupported_types() {
    let settings = redis_settings();
    let ks = sample_keyspace(&settings);
    let file = save(&ks, &settings, true, true);
    let mut v = file.clone();
    v[5..9].copy_from_slice(b"0012");
    assert_eq!(err(load(&v, &settings)), "Can't handle RDB format version 12");
    v[5..9].copy_from_slice(b"0000");
    assert_eq!(err(load(&v, &settings)), "Can't handle RDB format version 0");
    let mut v = file.clone();
    v[0] = b'X';
    assert_eq!(err(load(&v, &settings)), "Wrong signature trying to load DB from file");
    // Version 11 (Redis 7.2) loads when every type is known; the checksum covers the header.
    let mut v = file.clone();
    v[5..9].copy_from_slice(b"0011");
    let n = v.len();
    let crc = crc64(0, &v[..n - 8]);
    v[n - 8..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(load(&v, &settings).unwrap().1.rdb_version, 11);
    // A wrong checksum.
    let mut v = file.clone();
    let n = v.len();
    v[n - 1] ^= 0x55;
    let expected = crc64(0, &v[..n - 8]);
    let got = u64::from_le_bytes(v[n - 8..].try_into().unwrap());
    assert_eq!(err(load(&v, &settings)), format!("Wrong RDB checksum expected: ({expected:x}) but got ({got:x}). Aborting now."));
    // Modules (streams load: see the stream tests).
    for (t, what) in [(7u8, "module value")] {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[opcode::SELECTDB, 0, t, 1, b's', 0, 0, 0]);
        let err = err(load(&f, &settings));
        assert!(err.contains(what) && err.contains("key 's'"), "{err}");
    }
    // Function libraries are handed over to the scripting engine; the pre-GA format is refused.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[opcode::FUNCTION2, 3, b'a', b'b', b'c', opcode::EOF, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(load(&f, &settings).unwrap().1.functions, vec![b"abc".to_vec()]);
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[opcode::FUNCTION_PRE_GA, 3, b'a', b'b', b'c']);
    assert!(err(load(&f, &settings)).contains("Pre-release function format not supported."));
    // A database beyond the configured count.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[opcode::SELECTDB, 16, opcode::EOF, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(err(load(&f, &settings)).starts_with("FATAL: Data file was created with a Redis server configured to handle more than 16 databases"));
    // A key present twice.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[opcode::SELECTDB, 0, 0, 1, b'k', 1, b'v', 0, 1, b'k', 1, b'w', opcode::EOF, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(err(load(&f, &settings)), "RDB has duplicated key 'k' in DB 0");
}

#[test]
fn old_versions_and_second_expires_load() {
    // RDB 4: no checksum trailer, EXPIRETIME in seconds.
    let settings = redis_settings();
    let mut f = b"REDIS0004".to_vec();
    f.push(opcode::EXPIRETIME);
    f.extend_from_slice(&2_000_000_000i32.to_le_bytes());
    f.extend_from_slice(&[0, 1, b'k', 1, b'v']);
    f.push(opcode::EXPIRETIME);
    f.extend_from_slice(&1_000i32.to_le_bytes()); // long gone
    f.extend_from_slice(&[0, 1, b'o', 1, b'v', opcode::EOF]);
    let (ks, report) = load(&f, &settings).unwrap();
    assert_eq!((report.keys_loaded, report.keys_expired, report.rdb_version), (1, 1, 4));
    assert_eq!(ks.dbs[0].dict.get_node(b"k").unwrap().expire_at(), 2_000_000_000_000);
}

#[test]
fn every_truncation_fails_cleanly() {
    let settings = redis_settings();
    let mut ks = Keyspace::new(16);
    let small = sample_keyspace(&settings);
    // A smaller keyspace keeps this quadratic test fast: one key of each kind.
    for k in ["s:int", "s:raw", "l:small", "set:i32", "set:table", "h:small", "z:small", "s:big"] {
        let e = small.dbs[0].dict.get_node(k.as_bytes()).unwrap();
        let v = dump_payload(&e.value, true, &settings);
        let value = payload_value(&v, &settings).unwrap();
        ks.add(0, k.as_bytes(), value, e.expire_at(), 0);
    }
    for checksum in [true, false] {
        let file = save(&ks, &settings, true, checksum);
        for cut in 0..file.len() {
            assert!(load(&file[..cut], &settings).is_err(), "cut at {cut} of {}", file.len());
        }
    }
}

#[test]
fn corrupt_bytes_never_panic_and_fail_the_checksum() {
    let settings = redis_settings();
    let mut ks = Keyspace::new(16);
    let small = sample_keyspace(&settings);
    for k in ["s:int", "s:raw", "l:small", "set:i32", "set:table", "h:small", "z:small", "h:long", "set:i64"] {
        let e = small.dbs[0].dict.get_node(k.as_bytes()).unwrap();
        let v = dump_payload(&e.value, true, &settings);
        ks.add(0, k.as_bytes(), payload_value(&v, &settings).unwrap(), e.expire_at(), 0);
    }
    for checksum in [true, false] {
        let file = save(&ks, &settings, true, checksum);
        for i in 9..file.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = file.clone();
                bad[i] ^= flip;
                let result = load(&bad, &settings);
                if checksum {
                    assert!(result.is_err(), "byte {i} ^ {flip:#x} went unnoticed");
                }
            }
        }
    }
    // DUMP payloads: every single corruption is caught by the CRC or the decoder.
    for k in ["l:small", "h:small", "z:small", "set:i32"] {
        let p = dump_payload(&small.dbs[0].dict.get(k.as_bytes()).unwrap().value, true, &settings);
        for i in 0..p.len() {
            let mut bad = p.clone();
            bad[i] ^= 0x20;
            assert!(!verify_payload(&bad) || payload_value(&bad, &settings).is_none() || i >= p.len() - 10);
        }
    }
}

#[test]
fn listpack_scores_are_written_like_d2string() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"), (1.0, "1"), (-3.0, "-3"), (1.5, "1.5"), (0.1, "0.10000000000000001"),
        (4503599627370495.0, "4503599627370495"), (4503599627370496.0, "4503599627370496"),
        (1e300, "1.0000000000000001e+300"), (f64::INFINITY, "inf"), (f64::NEG_INFINITY, "-inf"),
    ];
    for (score, text) in cases {
        let mut out = Vec::new();
        super::save::push_listpack_score(&mut out, *score);
        assert_eq!(String::from_utf8(out).unwrap(), *text, "{score}");
    }
}

#[test]
fn listpack_zset_blob_holds_the_d2string_texts() {
    // The writer pushes integral scores as integers and formats the others itself: the blob
    // must be the one built from d2string's text, as Redis's zzlInsertAt builds it.
    let settings = redis_settings();
    let scores = [0.0, 1.0, -3.0, 91.9, -0.5, 1e-7, 4503599627370495.0, 4503599627370496.0, 1e300, 2.5e15 + 0.25, f64::INFINITY, f64::NEG_INFINITY];
    let pairs: Vec<(Vec<u8>, f64)> = scores.iter().enumerate().map(|(i, &s)| (format!("m{i}").into_bytes(), s)).collect();
    let z = values::zset_from_pairs(pairs, true, &settings).unwrap();
    assert!(values::zset_is_listpack(&z));
    let mut lp = ListpackBuilder::new();
    values::zset_for_each_ascending(&z, |member, score| {
        lp.push_bytes(member);
        let mut text = Vec::new();
        super::save::push_listpack_score(&mut text, score);
        lp.push_bytes(&text);
    });
    let mut want = Vec::new();
    write_string(&mut want, lp.finish(), None);
    let mut got = Vec::new();
    super::save::ValueWriter::new(false, &settings).value(&mut got, &Value::ZSet(z));
    assert_eq!(got, want);
}

#[test]
fn quicklist_nodes_split_like_redis() {
    let settings = redis_settings();
    // -2: 8 KB nodes. 200 short elements fit in one node (Redis's lbig payload has one).
    let lbig: Vec<Vec<u8>> = (1..=200).map(|i| format!("element-number-{i}").into_bytes()).collect();
    let l = values::list_from_items(lbig, &settings);
    assert_eq!(values::ListNodes::new().plan(&l), vec![values::NodePlan::Packed(200)]);
    // Positive fill: count limit.
    crate::types::list::set_fill(4);
    let items: Vec<Vec<u8>> = (0..10).map(|i| vec![b'a' + i as u8]).collect();
    let l = values::list_from_items(items, &settings);
    crate::types::list::set_fill(-2);
    assert_eq!(values::ListNodes::new().plan(&l), vec![values::NodePlan::Packed(4), values::NodePlan::Packed(4), values::NodePlan::Packed(2)]);
    // Elements past the 8 KB safety limit each get a node.
    let items = vec![vec![b'x'; 5000], vec![b'y'; 5000], vec![b'z'; 10]];
    let l = values::list_from_items(items, &settings);
    assert_eq!(values::ListNodes::new().plan(&l), vec![values::NodePlan::Packed(1), values::NodePlan::Packed(2)]);
}

/// `cargo test --release --lib persist::tests::save_speed -- --ignored --nocapture`
#[test]
#[ignore]
fn save_speed() {
    let settings = redis_settings();
    let mut ks = Keyspace::new(16);
    let n = 1_000_000;
    let value = vec![b'x'; 100];
    for i in 0..n {
        let key = format!("key:{i:08}");
        let mut v = value.clone();
        v[..8].copy_from_slice(format!("{i:08}").as_bytes());
        ks.add(0, key.as_bytes(), Value::Str(StrVal::from_bytes(&v)), NO_EXPIRE, 0);
    }
    for compress in [false, true] {
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let opts = SaveOptions { compress, checksum: true, key_save_delay_us: 0, ..SaveOptions::default() };
            write_rdb(&ks, &settings, &mut std::io::sink(), &opts, &AuxFields::now(), |_, _| {}).unwrap();
            println!("compress {compress}: serialize only {:?}", t.elapsed());
        }
        let mut out = std::fs::File::create("/tmp/persist-speed.rdb").unwrap();
        let t = std::time::Instant::now();
        let opts = SaveOptions { compress, checksum: true, key_save_delay_us: 0, ..SaveOptions::default() };
        let (keys, bytes) = write_rdb(&ks, &settings, &mut out, &opts, &AuxFields::now(), |_, _| {}).unwrap();
        let el = t.elapsed();
        println!("compress {compress}: {keys} keys, {bytes} bytes in {el:?} ({:.0} ns/key)", el.as_nanos() as f64 / keys as f64);
        let data = std::fs::read("/tmp/persist-speed.rdb").unwrap();
        let t = std::time::Instant::now();
        let mut loaded = Keyspace::new(16);
        load_rdb(&data, &mut loaded, &settings, crate::now_ms(), super::load::Duplicates::Refuse).unwrap();
        println!("  load: {:?}", t.elapsed());
    }
    let _ = std::fs::remove_file("/tmp/persist-speed.rdb");
}

/// The loader inserts keys some records after reading them (to prefetch their buckets): the
/// file's order still decides, across databases and budget slices. A duplicate deep in the
/// file is refused with every key before it loaded and none after it, or replaces the earlier
/// key under `Duplicates::Replace`.
#[test]
fn keys_go_in_in_file_order_whatever_the_prefetch_distance() {
    let settings = redis_settings();
    let string_key = |f: &mut Vec<u8>, k: &str, v: &str| {
        f.push(rdb_type::STRING);
        write_string(f, k.as_bytes(), None);
        write_string(f, v.as_bytes(), None);
    };
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(&[opcode::SELECTDB, 0]);
    for i in 0..40 { string_key(&mut f, &format!("k{i}"), &format!("first{i}")); }
    f.extend_from_slice(&[opcode::SELECTDB, 1]);
    for i in 0..25 { string_key(&mut f, &format!("k{i}"), "db1"); }
    f.extend_from_slice(&[opcode::SELECTDB, 0]);
    for i in 40..45 { string_key(&mut f, &format!("k{i}"), "x"); }
    string_key(&mut f, "k5", "second");
    for i in 45..80 { string_key(&mut f, &format!("k{i}"), "after"); }
    f.extend_from_slice(&[opcode::EOF, 0, 0, 0, 0, 0, 0, 0, 0]);

    assert_eq!(err(load(&f, &settings)), "RDB has duplicated key 'k5' in DB 0");
    let mut ks = Keyspace::new(16);
    assert!(load_rdb(&f, &mut ks, &settings, crate::now_ms(), super::load::Duplicates::Refuse).is_err());
    assert_eq!((ks.dbs[0].dict.len(), ks.dbs[1].dict.len()), (45, 25));
    assert!(ks.dbs[0].dict.get(b"k44").is_some() && ks.dbs[0].dict.get(b"k45").is_none());

    let value = |ks: &Keyspace, db: usize, k: &str| match ks.dbs[db].dict.get(k.as_bytes()).map(|s| &s.value) {
        Some(Value::Str(s)) => s.to_vec(),
        _ => panic!("{k} is not a string in db {db}"),
    };
    for budget in [usize::MAX, 1, 13, 200] {
        let mut ks = Keyspace::new(16);
        let mut loader = super::load::Loader::begin(std::borrow::Cow::Borrowed(&f[..]), crate::now_ms(), super::load::Duplicates::Replace).unwrap();
        while !loader.finished() { loader.step(&mut ks, &settings, budget).unwrap(); }
        assert_eq!(loader.report().keys_loaded, 40 + 25 + 5 + 1 + 35, "budget {budget}");
        assert_eq!((ks.dbs[0].dict.len(), ks.dbs[1].dict.len()), (80, 25));
        assert_eq!(value(&ks, 0, "k5"), b"second");
        assert_eq!((value(&ks, 0, "k4"), value(&ks, 0, "k79"), value(&ks, 1, "k5")), (b"first4".to_vec(), b"after".to_vec(), b"db1".to_vec()));
    }
}
