//! Reads a dump.rdb written by a real redis-server 7.0.15 with the primitives
//! of this module, and checks that the writers reproduce Redis's bytes.
//!
//! The file holds: s:int=12345, s:neg=-100, s:raw="hello world",
//! s:lzf="abcdefghij"x10, s:big=123456789012, l=[a 1 -2 300 70000 hello
//! 9999999999], si={5 -3 100000}, zl={b:0.1 a:1.5 100:3}, h={f:v n:7},
//! ex=v with PEXPIREAT 4102444800000.

use std::collections::BTreeMap;

use super::encoding::{opcode, quicklist_container, rdb_type, write_len, write_string, Reader};
use super::entry::Entry;
use super::intset::{encode_intset, intset_values};
use super::listpack::{listpack_entries, ListpackBuilder};
use super::lzf::LzfCompressor;
use super::{crc64, RdbResult};

const SAMPLE: &[u8] = include_bytes!("testdata/redis-7.0.15-sample.rdb");

#[derive(Debug, PartialEq)]
enum Value {
    Str(Vec<u8>),
    List(Vec<String>),
    IntSet(Vec<i64>),
    Zset(Vec<(String, f64)>),
    Hash(Vec<(String, String)>),
}

fn entry_text(e: &Entry<'_>) -> String {
    let mut v = Vec::new();
    e.append_to(&mut v);
    String::from_utf8(v).unwrap()
}

/// Keys and values, expire times, aux fields.
type Walked = (BTreeMap<String, Value>, BTreeMap<String, i64>, Vec<(String, String)>);

/// A minimal walk of the file, enough to exercise every primitive on it.
fn walk(file: &[u8]) -> RdbResult<Walked> {
    let mut r = Reader::new(file);
    assert_eq!(r.read_bytes(9)?, b"REDIS0010");
    let mut keys = BTreeMap::new();
    let mut expires = BTreeMap::new();
    let mut aux = Vec::new();
    let mut pending_expire = None;
    loop {
        let t = r.read_u8()?;
        match t {
            opcode::AUX => {
                let k = String::from_utf8(r.read_string()?.into_owned()).unwrap();
                let v = String::from_utf8(r.read_string()?.into_owned()).unwrap();
                aux.push((k, v));
            }
            opcode::SELECTDB => assert_eq!(r.read_len()?, 0),
            opcode::RESIZEDB => {
                assert_eq!(r.read_len()?, 10);
                assert_eq!(r.read_len()?, 1);
            }
            opcode::EXPIRETIME_MS => pending_expire = Some(r.read_ms_time()?),
            opcode::EOF => {
                let body_len = r.position();
                let stored = r.read_u64_le()?;
                assert_eq!(crc64(0, &file[..body_len]), stored);
                assert!(r.is_at_end());
                return Ok((keys, expires, aux));
            }
            _ => {
                let key = String::from_utf8(r.read_string()?.into_owned()).unwrap();
                if let Some(ms) = pending_expire.take() {
                    expires.insert(key.clone(), ms);
                }
                let value = match t {
                    rdb_type::STRING => Value::Str(r.read_string()?.into_owned()),
                    rdb_type::LIST_QUICKLIST_2 => {
                        let nodes = r.read_count(2)?;
                        let mut items = Vec::new();
                        for _ in 0..nodes {
                            assert_eq!(r.read_len()?, quicklist_container::PACKED);
                            let lp = r.read_string()?;
                            items.extend(listpack_entries(&lp)?.iter().map(entry_text));
                        }
                        Value::List(items)
                    }
                    rdb_type::SET_INTSET => Value::IntSet(intset_values(&r.read_string()?)?),
                    rdb_type::ZSET_LISTPACK => {
                        let lp = r.read_string()?;
                        let e = listpack_entries(&lp)?;
                        Value::Zset(
                            e.chunks(2).map(|p| (entry_text(&p[0]), entry_text(&p[1]).parse().unwrap())).collect(),
                        )
                    }
                    rdb_type::HASH_LISTPACK => {
                        let lp = r.read_string()?;
                        let e = listpack_entries(&lp)?;
                        Value::Hash(e.chunks(2).map(|p| (entry_text(&p[0]), entry_text(&p[1]))).collect())
                    }
                    other => panic!("unexpected type {other}"),
                };
                keys.insert(key, value);
            }
        }
    }
}

#[test]
fn reads_a_real_redis_7_0_dump() {
    let (keys, expires, aux) = walk(SAMPLE).unwrap();
    assert_eq!(aux[0], ("redis-ver".to_string(), "7.0.15".to_string()));
    assert_eq!(aux[1], ("redis-bits".to_string(), "64".to_string()));
    assert_eq!(keys.len(), 10);
    assert_eq!(keys["s:int"], Value::Str(b"12345".to_vec()));
    assert_eq!(keys["s:neg"], Value::Str(b"-100".to_vec()));
    assert_eq!(keys["s:raw"], Value::Str(b"hello world".to_vec()));
    assert_eq!(keys["s:lzf"], Value::Str(b"abcdefghij".repeat(10)));
    assert_eq!(keys["s:big"], Value::Str(b"123456789012".to_vec()));
    assert_eq!(
        keys["l"],
        Value::List(["a", "1", "-2", "300", "70000", "hello", "9999999999"].map(String::from).to_vec())
    );
    assert_eq!(keys["si"], Value::IntSet(vec![-3, 5, 100000]));
    assert_eq!(
        keys["zl"],
        Value::Zset(vec![("b".into(), 0.1), ("a".into(), 1.5), ("100".into(), 3.0)])
    );
    assert_eq!(keys["h"], Value::Hash(vec![("f".into(), "v".into()), ("n".into(), "7".into())]));
    assert_eq!(expires["ex"], 4102444800000);
}

/// Finds `needle` in the sample and returns what follows it.
fn after<'a>(needle: &[u8]) -> &'a [u8] {
    let at = SAMPLE.windows(needle.len()).position(|w| w == needle).expect("needle in sample");
    &SAMPLE[at + needle.len()..]
}

#[test]
fn writers_reproduce_redis_bytes() {
    let mut lzf = LzfCompressor::new();
    let check = |key: &[u8], value: &[u8], lzf: &mut LzfCompressor| {
        let mut ours = Vec::new();
        write_string(&mut ours, key, None);
        write_string(&mut ours, value, Some(lzf));
        let mut needle = vec![rdb_type::STRING];
        needle.extend_from_slice(&ours[..1 + key.len()]);
        assert!(after(&needle).starts_with(&ours[1 + key.len()..]), "{}", String::from_utf8_lossy(key));
    };
    check(b"s:int", b"12345", &mut lzf);
    check(b"s:neg", b"-100", &mut lzf);
    check(b"s:raw", b"hello world", &mut lzf);
    check(b"s:big", b"123456789012", &mut lzf);
    check(b"s:lzf", &b"abcdefghij".repeat(10), &mut lzf);

    // The list's single quicklist node: container PACKED + listpack string.
    let mut lp = ListpackBuilder::new();
    for item in ["a", "1", "-2", "300", "70000", "hello", "9999999999"] {
        lp.push_bytes(item.as_bytes());
    }
    let mut ours = Vec::new();
    write_len(&mut ours, 1);
    write_len(&mut ours, quicklist_container::PACKED);
    write_string(&mut ours, lp.finish(), Some(&mut lzf));
    assert!(after(&[rdb_type::LIST_QUICKLIST_2, 1, b'l']).starts_with(&ours));

    // The intset.
    let mut blob = Vec::new();
    encode_intset(&mut vec![5, -3, 100000], &mut blob);
    let mut ours = Vec::new();
    write_string(&mut ours, &blob, Some(&mut lzf));
    assert!(after(&[rdb_type::SET_INTSET, 2, b's', b'i']).starts_with(&ours));

    // The hash listpack.
    let mut lp = ListpackBuilder::new();
    for item in ["f", "v", "n", "7"] {
        lp.push_bytes(item.as_bytes());
    }
    let mut ours = Vec::new();
    write_string(&mut ours, lp.finish(), Some(&mut lzf));
    assert!(after(&[rdb_type::HASH_LISTPACK, 1, b'h']).starts_with(&ours));
}

#[test]
fn every_truncation_and_byte_flip_of_the_sample_is_handled() {
    for cut in 0..SAMPLE.len() {
        // Must not panic; a truncated file can never walk to the checksum.
        let result = std::panic::catch_unwind(|| walk(&SAMPLE[..cut]).is_err());
        assert_eq!(result.ok(), Some(true), "cut {cut}");
    }
}

#[test]
fn random_input_never_panics_any_parser() {
    use super::{intset_values, listpack_entries, ziplist_entries, zipmap_entries};
    let mut x = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..20000 {
        let len = (next() % 64) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Make some inputs pass the header checks so entry decoding is reached.
        if round % 2 == 0 && len >= 7 {
            buf[..4].copy_from_slice(&(len as u32).to_le_bytes());
            buf[len - 1] = 0xff;
        }
        let result = std::panic::catch_unwind(|| {
            let mut r = Reader::new(&buf);
            while r.read_string().is_ok() {}
            let mut r = Reader::new(&buf);
            let _ = r.read_double_ascii();
            let _ = r.read_len_or_encoding();
            let _ = r.read_count(1);
            let _ = listpack_entries(&buf);
            let _ = ziplist_entries(&buf);
            let _ = intset_values(&buf);
            let _ = zipmap_entries(&buf);
            let _ = super::lzf::decompress(&buf, (next_len(&buf)) as usize);
        });
        assert!(result.is_ok(), "panic on input {buf:02x?}");
    }
}

fn next_len(buf: &[u8]) -> u16 {
    buf.iter().fold(0u16, |a, &b| a.wrapping_mul(31).wrapping_add(b as u16)) % 512
}

/// Builds an RDB holding every Redis 7.0 value form from this module's writers
/// and computes its DEBUG DIGEST with crate::digest. redis-server 7.0.15
/// loaded exactly this file (4204 bytes, checksum 0x380faa520f468bb6) with
/// `sanitize-dump-payload yes`, and its DEBUG DIGEST printed the digest below.
#[test]
fn written_file_loads_in_redis_with_the_same_digest() {
    use super::encoding::{write_double_binary, write_i64_as_string, write_ms_time};
    use super::intset::encode_intset;
    use super::numeric::format_double_g17;
    use crate::digest::{to_hex, DatasetDigest, ObjectDigest, ObjectType};

    let mut lzf = LzfCompressor::new();
    let mut out = b"REDIS0010".to_vec();
    for (k, v) in [(&b"redis-ver"[..], &b"7.0.15"[..]), (b"redis-bits", b"64")] {
        out.push(opcode::AUX);
        write_string(&mut out, k, None);
        write_string(&mut out, v, None);
    }
    out.push(opcode::SELECTDB);
    write_len(&mut out, 0);
    out.push(opcode::RESIZEDB);
    write_len(&mut out, 8);
    write_len(&mut out, 1);
    let mut keys = Vec::new();

    for (k, v) in [(&b"int"[..], b"-123456".to_vec()), (b"raw", b"hello".to_vec()), (b"lzf", b"payload-".repeat(40))] {
        out.push(rdb_type::STRING);
        write_string(&mut out, k, None);
        write_string(&mut out, &v, Some(&mut lzf));
        let mut d = ObjectDigest::for_key(k, ObjectType::String);
        d.add_ordered(&v);
        keys.push(d.finish());
    }

    out.push(opcode::EXPIRETIME_MS);
    write_ms_time(&mut out, 4102444800000);
    out.push(rdb_type::STRING);
    write_string(&mut out, b"exp", None);
    write_i64_as_string(&mut out, 1 << 40);
    let mut d = ObjectDigest::for_key(b"exp", ObjectType::String);
    d.add_ordered_int(1 << 40);
    d.add_expire();
    keys.push(d.finish());

    let items: Vec<Vec<u8>> = (0..50)
        .map(|i| if i % 3 == 0 { (i * 1000 - 7).to_string().into_bytes() } else { format!("item-{i}").into_bytes() })
        .collect();
    let mut lp = ListpackBuilder::new();
    items.iter().for_each(|i| lp.push_bytes(i));
    out.push(rdb_type::LIST_QUICKLIST_2);
    write_string(&mut out, b"list", None);
    write_len(&mut out, 1);
    write_len(&mut out, quicklist_container::PACKED);
    write_string(&mut out, lp.finish(), Some(&mut lzf));
    let mut d = ObjectDigest::for_key(b"list", ObjectType::List);
    items.iter().for_each(|i| d.add_ordered(i));
    keys.push(d.finish());

    let mut values = vec![3, -70000, 1 << 33, 42];
    let mut blob = Vec::new();
    encode_intset(&mut values, &mut blob);
    out.push(rdb_type::SET_INTSET);
    write_string(&mut out, b"iset", None);
    write_string(&mut out, &blob, Some(&mut lzf));
    let mut d = ObjectDigest::for_key(b"iset", ObjectType::Set);
    values.iter().for_each(|v| d.add_set_member(v.to_string().as_bytes()));
    keys.push(d.finish());

    let pairs = [(&b"name"[..], &b"keyfork"[..]), (b"count", b"17"), (b"neg", b"-5000000000")];
    let mut lp = ListpackBuilder::new();
    pairs.iter().for_each(|(f, v)| {
        lp.push_bytes(f);
        lp.push_bytes(v);
    });
    out.push(rdb_type::HASH_LISTPACK);
    write_string(&mut out, b"hash", None);
    write_string(&mut out, lp.finish(), Some(&mut lzf));
    let mut d = ObjectDigest::for_key(b"hash", ObjectType::Hash);
    pairs.iter().for_each(|(f, v)| d.add_hash_field(f, v));
    keys.push(d.finish());

    let small_zset = [(&b"a"[..], 0.1f64), (b"b", 1.5), (b"c", 3.0)];
    let mut lp = ListpackBuilder::new();
    for (m, s) in small_zset {
        lp.push_bytes(m);
        let mut buf = [0u8; 32];
        let n = format_double_g17(s, &mut buf);
        lp.push_bytes(&buf[..n]);
    }
    out.push(rdb_type::ZSET_LISTPACK);
    write_string(&mut out, b"zlp", None);
    write_string(&mut out, lp.finish(), Some(&mut lzf));
    let mut d = ObjectDigest::for_key(b"zlp", ObjectType::Zset);
    small_zset.iter().for_each(|&(m, s)| d.add_zset_member(m, s));
    keys.push(d.finish());

    out.push(rdb_type::ZSET_2);
    write_string(&mut out, b"zbig", None);
    write_len(&mut out, 200);
    let mut d = ObjectDigest::for_key(b"zbig", ObjectType::Zset);
    for i in (0..200).rev() {
        let member = format!("member:{i}");
        let score = i as f64 / 7.0;
        write_string(&mut out, member.as_bytes(), Some(&mut lzf));
        write_double_binary(&mut out, score);
        d.add_zset_member(member.as_bytes(), score);
    }
    keys.push(d.finish());

    out.push(opcode::EOF);
    let checksum = crc64(0, &out);
    out.extend_from_slice(&checksum.to_le_bytes());
    assert_eq!(out.len(), 4204);
    assert_eq!(checksum, 0x380faa520f468bb6);

    let mut all = DatasetDigest::new();
    keys.iter().for_each(|k| all.add_key(0, k));
    assert_eq!(to_hex(&all.finish()), "16268156f5ea0239dc8a2d7bdb94ee726482ff44");
}
