//! DEBUG DIGEST and DEBUG DIGEST-VALUE, computed exactly as Redis 7.0's
//! debug.c does, so a keyfork dataset and the same dataset in Redis print the
//! same 40 hex characters.
//!
//! Building blocks (debug.c):
//! - `xor_digest(d, data)`: `d ^= SHA1(data)` — order-independent "add".
//! - `mix_digest(d, data)`: `d = SHA1(d ^ SHA1(data))` — order-dependent.
//!
//! One key's digest (`xorObjectDigest`, started from 20 zero bytes for
//! DIGEST-VALUE, or from `mix(zeros, key)` for the dataset digest):
//! 1. `mix(type id as u32 big-endian)`: string 0, list 1, set 2, zset 3,
//!    hash 4, stream 6.
//! 2. per type:
//!    - string: `mix(value)` (integer-encoded values as their decimal text);
//!    - list: `mix(element)` for each element head to tail;
//!    - set: `xor(member)` for each member;
//!    - zset: for each member, `e = mix(mix(zeros, member), "%.17g" of
//!      score)`, then `xor(e)` (so the digest absorbs SHA1(e));
//!    - hash: for each field, `e = mix(mix(zeros, field), value)`, `xor(e)`;
//!    - stream: for each entry, `mix("<ms>.<seq>")` then `mix(field)`,
//!      `mix(value)` for each of its fields (consumer groups are ignored).
//! 3. if the key has an expire (any time): `xor("!!expire!!")`.
//!
//! The dataset digest (`computeDatasetDigest`): start from zeros; for each
//! database in ascending id order that has keys: `mix(db id as u32
//! big-endian)`, then for each key `xor(key digest)`. An empty dataset is 20
//! zero bytes, printed as 40 '0's.

use crate::rdb::numeric::{format_double_g17, format_i64, G17_BUF_LEN, MAX_I64_DIGITS};

pub type Digest = [u8; 20];

// ------------------------------------------------------------------ SHA1 ---

/// SHA-1 (FIPS 180-4), streaming.
#[derive(Clone)]
pub struct Sha1 {
    state: [u32; 5],
    block: [u8; 64],
    block_len: usize,
    total_len: u64,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    pub fn new() -> Self {
        Sha1 {
            state: [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0],
            block: [0; 64],
            block_len: 0,
            total_len: 0,
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);
        if self.block_len > 0 {
            let take = (64 - self.block_len).min(data.len());
            self.block[self.block_len..self.block_len + take].copy_from_slice(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            if self.block_len < 64 {
                return;
            }
            let block = self.block;
            self.compress(&block);
            self.block_len = 0;
        }
        let mut chunks = data.chunks_exact(64);
        for chunk in &mut chunks {
            let mut block = [0u8; 64];
            block.copy_from_slice(chunk);
            self.compress(&block);
        }
        let rest = chunks.remainder();
        self.block[..rest.len()].copy_from_slice(rest);
        self.block_len = rest.len();
    }

    pub fn finalize(mut self) -> Digest {
        let bit_len = self.total_len.wrapping_mul(8);
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        let pad_len = if self.block_len < 56 { 56 - self.block_len } else { 120 - self.block_len };
        // update() would count the padding into total_len; it is already captured.
        let saved = self.total_len;
        self.update(&pad[..pad_len]);
        self.update(&bit_len.to_be_bytes());
        self.total_len = saved;
        let mut out = [0u8; 20];
        for (i, word) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8; 64]) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([block[i * 4], block[i * 4 + 1], block[i * 4 + 2], block[i * 4 + 3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = self.state;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6u32),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e]) {
            *s = s.wrapping_add(v);
        }
    }
}

pub fn sha1(data: &[u8]) -> Digest {
    let mut h = Sha1::new();
    h.update(data);
    h.finalize()
}

// -------------------------------------------------------- debug.c blocks ---

/// `xorDigest`: digest ^= SHA1(data).
pub fn xor_digest(digest: &mut Digest, data: &[u8]) {
    let hash = sha1(data);
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

/// `mixDigest`: digest = SHA1(digest ^ SHA1(data)).
pub fn mix_digest(digest: &mut Digest, data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// `mixStringObjectDigest` for a string Redis would hold int-encoded: the
/// object is decoded to its decimal text first.
pub fn mix_int_digest(digest: &mut Digest, value: i64) {
    let mut buf = [0u8; MAX_I64_DIGITS];
    mix_digest(digest, format_i64(value, &mut buf));
}

/// Redis's object type ids as debug.c mixes them (`OBJ_*`, not RDB type ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ObjectType {
    String = 0,
    List = 1,
    Set = 2,
    Zset = 3,
    Hash = 4,
    Module = 5,
    Stream = 6,
}

const EXPIRE_MARK: &[u8] = b"!!expire!!";

/// The digest of one key's value, fed element by element.
#[derive(Clone)]
pub struct ObjectDigest {
    digest: Digest,
}

impl ObjectDigest {
    /// As DEBUG DIGEST-VALUE computes it: the value alone.
    pub fn for_value(object_type: ObjectType) -> Self {
        let mut digest = [0u8; 20];
        mix_digest(&mut digest, &(object_type as u32).to_be_bytes());
        ObjectDigest { digest }
    }

    /// As DEBUG DIGEST computes it per key: the key, then the value.
    pub fn for_key(key: &[u8], object_type: ObjectType) -> Self {
        let mut digest = [0u8; 20];
        mix_digest(&mut digest, key);
        mix_digest(&mut digest, &(object_type as u32).to_be_bytes());
        ObjectDigest { digest }
    }

    /// A string value, or the next list element (order matters).
    pub fn add_ordered(&mut self, bytes: &[u8]) {
        mix_digest(&mut self.digest, bytes);
    }

    /// Like `add_ordered` for a value held as an integer.
    pub fn add_ordered_int(&mut self, value: i64) {
        mix_int_digest(&mut self.digest, value);
    }

    /// A set member (any order).
    pub fn add_set_member(&mut self, member: &[u8]) {
        xor_digest(&mut self.digest, member);
    }

    /// A hash field and its value (pairs in any order).
    pub fn add_hash_field(&mut self, field: &[u8], value: &[u8]) {
        let mut element = [0u8; 20];
        mix_digest(&mut element, field);
        mix_digest(&mut element, value);
        xor_digest(&mut self.digest, &element);
    }

    /// A sorted-set member and its score (pairs in any order).
    pub fn add_zset_member(&mut self, member: &[u8], score: f64) {
        let mut element = [0u8; 20];
        mix_digest(&mut element, member);
        let mut buf = [0u8; G17_BUF_LEN];
        let n = format_double_g17(score, &mut buf);
        mix_digest(&mut element, &buf[..n]);
        xor_digest(&mut self.digest, &element);
    }

    /// The next stream entry's ID (entries in ID order); its fields and values follow as
    /// `add_ordered` calls, each field then its value.
    pub fn add_stream_id(&mut self, ms: u64, seq: u64) {
        let mut id = Vec::with_capacity(41);
        crate::rdb::numeric::push_u64(&mut id, ms);
        id.push(b'.');
        crate::rdb::numeric::push_u64(&mut id, seq);
        mix_digest(&mut self.digest, &id);
    }

    /// Marks that the key has an expire (its time does not matter).
    pub fn add_expire(&mut self) {
        xor_digest(&mut self.digest, EXPIRE_MARK);
    }

    pub fn finish(self) -> Digest {
        self.digest
    }
}

/// DIGEST-VALUE of a string value.
pub fn digest_string(value: &[u8]) -> Digest {
    let mut d = ObjectDigest::for_value(ObjectType::String);
    d.add_ordered(value);
    d.finish()
}

/// DIGEST-VALUE of a list, elements head to tail.
pub fn digest_list<'a>(elements: impl IntoIterator<Item = &'a [u8]>) -> Digest {
    let mut d = ObjectDigest::for_value(ObjectType::List);
    elements.into_iter().for_each(|e| d.add_ordered(e));
    d.finish()
}

/// DIGEST-VALUE of a set.
pub fn digest_set_members<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> Digest {
    let mut d = ObjectDigest::for_value(ObjectType::Set);
    members.into_iter().for_each(|m| d.add_set_member(m));
    d.finish()
}

/// DIGEST-VALUE of a hash.
pub fn digest_hash<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Digest {
    let mut d = ObjectDigest::for_value(ObjectType::Hash);
    pairs.into_iter().for_each(|(f, v)| d.add_hash_field(f, v));
    d.finish()
}

/// DIGEST-VALUE of a sorted set.
pub fn digest_zset<'a>(members: impl IntoIterator<Item = (&'a [u8], f64)>) -> Digest {
    let mut d = ObjectDigest::for_value(ObjectType::Zset);
    members.into_iter().for_each(|(m, s)| d.add_zset_member(m, s));
    d.finish()
}

/// DEBUG DIGEST over the whole keyspace. Feed every key's
/// `ObjectDigest::for_key(..).finish()` with its database id; databases must
/// come in ascending id order, each database's keys together (key order
/// within a database does not matter).
#[derive(Clone, Default)]
pub struct DatasetDigest {
    digest: Digest,
    current_db: Option<u32>,
}

impl DatasetDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_key(&mut self, db: u32, key_digest: &Digest) {
        if self.current_db != Some(db) {
            debug_assert!(self.current_db.is_none_or(|c| c < db), "databases must come in ascending order");
            mix_digest(&mut self.digest, &db.to_be_bytes());
            self.current_db = Some(db);
        }
        xor_digest(&mut self.digest, key_digest);
    }

    pub fn finish(self) -> Digest {
        self.digest
    }
}

/// Lowercase hex, as DEBUG DIGEST prints it.
pub fn write_hex(digest: &Digest, out: &mut [u8; 40]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in digest.iter().enumerate() {
        out[i * 2] = HEX[(b >> 4) as usize];
        out[i * 2 + 1] = HEX[(b & 15) as usize];
    }
}

pub fn to_hex(digest: &Digest) -> String {
    let mut out = [0u8; 40];
    write_hex(digest, &mut out);
    out.iter().map(|&c| c as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: Digest) -> String {
        to_hex(&d)
    }

    #[test]
    fn sha1_fips_vectors() {
        assert_eq!(hex(sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(sha1(b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "a49b2446a02c645bf419f995b67091253a04a259"
        );
        let mut h = Sha1::new();
        let chunk = [b'a'; 1000];
        for _ in 0..1000 {
            h.update(&chunk);
        }
        assert_eq!(hex(h.finalize()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    #[test]
    fn sha1_streaming_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 55, 56, 63, 64, 65, 119, 120, 500, 999] {
            let mut h = Sha1::new();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(h.finalize(), sha1(&data), "split {split}");
        }
    }

    // DEBUG DIGEST-VALUE replies of redis-server 7.0.15 (--enable-debug-command yes).
    #[test]
    fn string_value_digests_match_redis() {
        assert_eq!(hex(digest_string(b"hello")), "36b23a1456b2dce2c3ed252c456761301dba8060"); // SET k hello
        assert_eq!(hex(digest_string(b"12345")), "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83"); // SET n 12345
        assert_eq!(hex(digest_string(b"42")), "547a004a370bc71c2d611f010c52f2e7b64c77a4");
        assert_eq!(hex(digest_string(b"-7")), "220f87802dc1eca9ffb9dd7f52e30f559e135f81");
        assert_eq!(
            hex(digest_string(b"123456789012345678901234")),
            "daf85ba2984c8fedfbca8769a71818983345b1d0"
        );
        // Int-encoded in Redis: the decimal text is what gets mixed.
        let mut d = ObjectDigest::for_value(ObjectType::String);
        d.add_ordered_int(12345);
        assert_eq!(hex(d.finish()), "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83");
    }

    #[test]
    fn collection_value_digests_match_redis() {
        // RPUSH l a b c
        assert_eq!(
            hex(digest_list([&b"a"[..], b"b", b"c"])),
            "8bf72d812571eea9b927f3c11beb0c4165a6ff89"
        );
        // RPUSH li 1 2 300 -5
        assert_eq!(
            hex(digest_list([&b"1"[..], b"2", b"300", b"-5"])),
            "5105594993311a3413be196dc7613ba9e551697b"
        );
        // SADD s x y, in either order
        assert_eq!(hex(digest_set_members([&b"x"[..], b"y"])), "36846f8a92fb6b6b824c73bf468c5bbcf5075ede");
        assert_eq!(hex(digest_set_members([&b"y"[..], b"x"])), "36846f8a92fb6b6b824c73bf468c5bbcf5075ede");
        // SADD si 1 2 3 (intset)
        assert_eq!(
            hex(digest_set_members([&b"3"[..], b"1", b"2"])),
            "2a462a3f51a1db89738ebbeef0c47ce1bbc85246"
        );
        // HSET h f v
        assert_eq!(hex(digest_hash([(&b"f"[..], &b"v"[..])])), "90c76e9e9f4c62d642a34fc97c7dad503b51f906");
        // ZADD z 1.5 m / ZADD z2 0.1 m (score text "0.10000000000000001") / ZADD zi 3 7
        assert_eq!(hex(digest_zset([(&b"m"[..], 1.5)])), "0b67afcf657d7aa53a5226bcca2f55ea7f2fff48");
        assert_eq!(hex(digest_zset([(&b"m"[..], 0.1)])), "285a6e508750d13f749019c7cddbd43bf282cb72");
        assert_eq!(hex(digest_zset([(&b"7"[..], 3.0)])), "c78c158e08035d2b7c0bc1cb3c9af457e2e3b7f1");
    }

    #[test]
    fn zset_score_formatting_matches_redis() {
        // ZADD zs 0.1 a inf b -inf c 2.98023223876953125e-8 d 1e20 e 1e-5 f -0 g
        //         123456789012345678 h 1e16 i 1e17 j 0.0001 k
        let members: [(&[u8], f64); 11] = [
            (b"a", 0.1),
            (b"b", f64::INFINITY),
            (b"c", f64::NEG_INFINITY),
            (b"d", 2f64.powi(-25)), // sent as 2.98023223876953125e-8
            (b"e", 1e20),
            (b"f", 1e-5),
            (b"g", 0.0), // Redis stored the "-0" of ZADD as 0 (ZRANGE WITHSCORES shows 0)
            (b"h", 123456789012345678.0),
            (b"i", 1e16),
            (b"j", 1e17),
            (b"k", 0.0001),
        ];
        assert_eq!(hex(digest_zset(members)), "cddbc9e39cff9556dfe2fd049736a917b18acc27");
        // 200 members (skiplist encoding in Redis): ZADD big <i>.25 m<i>
        let names: Vec<String> = (1..=200).map(|i| format!("m{i}")).collect();
        let d = digest_zset(names.iter().enumerate().map(|(i, n)| (n.as_bytes(), (i + 1) as f64 + 0.25)));
        assert_eq!(hex(d), "7c10b2a257f717fb8893f08c7f66fd1aa1e33157");
    }

    #[test]
    fn big_set_and_stream_match_redis() {
        // 600 members (hashtable encoding): SADD bigset member<i>
        let names: Vec<String> = (1..=600).map(|i| format!("member{i}")).collect();
        assert_eq!(
            hex(digest_set_members(names.iter().map(|n| n.as_bytes()))),
            "c339ac3459ec0338254f26983389cf3864a8d5d3"
        );
        // XADD st 1-1 f1 v1 f2 v2; XADD st 5-0 a b
        let mut d = ObjectDigest::for_value(ObjectType::Stream);
        d.add_stream_id(1, 1);
        for part in [&b"f1"[..], b"v1", b"f2", b"v2"] {
            d.add_ordered(part);
        }
        d.add_stream_id(5, 0);
        d.add_ordered(b"a");
        d.add_ordered(b"b");
        assert_eq!(hex(d.finish()), "5f7914c0d8305928570ba5931249efd6c448aedb");
    }

    #[test]
    fn expire_is_part_of_the_value_digest() {
        // SET e val; PEXPIRE e 100000
        let mut d = ObjectDigest::for_value(ObjectType::String);
        d.add_ordered(b"val");
        d.add_expire();
        assert_eq!(hex(d.finish()), "ac04a84d3fcd16162a871280160dabf4ef51f46f");
    }

    #[test]
    fn dataset_digests_match_redis() {
        assert_eq!(hex(DatasetDigest::new().finish()), "0000000000000000000000000000000000000000");

        // db 0: k=hello, l=[a,b,c], s={x,y}, h={f:v}, z={m:1.5}, z2={m:0.1},
        // n=12345, li=[1,2,300,-5], si={1,2,3}, zi={7:3}, e=val with an expire.
        let mut keys: Vec<Digest> = Vec::new();
        let string = |k: &[u8], v: &[u8], expire: bool| {
            let mut d = ObjectDigest::for_key(k, ObjectType::String);
            d.add_ordered(v);
            if expire {
                d.add_expire();
            }
            d.finish()
        };
        let list = |k: &[u8], items: &[&[u8]]| {
            let mut d = ObjectDigest::for_key(k, ObjectType::List);
            items.iter().for_each(|i| d.add_ordered(i));
            d.finish()
        };
        let set = |k: &[u8], items: &[&[u8]]| {
            let mut d = ObjectDigest::for_key(k, ObjectType::Set);
            items.iter().for_each(|i| d.add_set_member(i));
            d.finish()
        };
        let zset = |k: &[u8], items: &[(&[u8], f64)]| {
            let mut d = ObjectDigest::for_key(k, ObjectType::Zset);
            items.iter().for_each(|&(m, s)| d.add_zset_member(m, s));
            d.finish()
        };
        keys.push(string(b"k", b"hello", false));
        keys.push(list(b"l", &[b"a", b"b", b"c"]));
        keys.push(set(b"s", &[b"x", b"y"]));
        let mut h = ObjectDigest::for_key(b"h", ObjectType::Hash);
        h.add_hash_field(b"f", b"v");
        keys.push(h.finish());
        keys.push(zset(b"z", &[(b"m", 1.5)]));
        keys.push(zset(b"z2", &[(b"m", 0.1)]));
        keys.push(string(b"n", b"12345", false));
        keys.push(list(b"li", &[b"1", b"2", b"300", b"-5"]));
        keys.push(set(b"si", &[b"1", b"2", b"3"]));
        keys.push(zset(b"zi", &[(b"7", 3.0)]));
        keys.push(string(b"e", b"val", true));
        let mut all = DatasetDigest::new();
        for k in keys.iter().rev() {
            all.add_key(0, k);
        }
        assert_eq!(hex(all.finish()), "648764320f136a8fb14cf574c14d5381e7a527a9");

        // db 0: a=1; db 3: b=2 (with an expire), lst=[x,y]
        let mut all = DatasetDigest::new();
        all.add_key(0, &string(b"a", b"1", false));
        all.add_key(3, &list(b"lst", &[b"x", b"y"]));
        all.add_key(3, &string(b"b", b"2", true));
        assert_eq!(hex(all.finish()), "63a000e2657ba62f2cf54c65edf7d1940846169f");
        // DIGEST-VALUE b lst in db 3
        let mut b = ObjectDigest::for_value(ObjectType::String);
        b.add_ordered(b"2");
        b.add_expire();
        assert_eq!(hex(b.finish()), "2daece6f5f01a9d30bbb5eba5348d1ec0849e44a");
        assert_eq!(hex(digest_list([&b"x"[..], b"y"])), "a3b14a34cfbd69f970cd30aff36fd797e07b4dbc");
    }
}
