//! The RDB file format's codecs, both directions, with no knowledge of the
//! keyspace.
//!
//! A Redis 7.0 RDB file, in order:
//! 1. **Header**: the magic `REDIS` and a 4-digit version, `0010` for 7.0
//!    (`RDB_VERSION`); Redis 7.0 refuses versions above 10.
//! 2. **Aux fields**: `AUX` (0xFA) + key string + value string, e.g.
//!    `redis-ver`, `redis-bits`, `ctime`, `used-mem`, `aof-base`; loaders
//!    ignore keys they do not know.
//! 3. **Functions**: `FUNCTION2` (0xF5) + the library's source code string,
//!    one per library.
//! 4. **Databases**: `SELECTDB` (0xFE) + db id length, `RESIZEDB` (0xFB) +
//!    key count + expire count (sizing hints), then per key: optional
//!    `EXPIRETIME_MS` (0xFC) + 8-byte LE ms time (or old `EXPIRETIME` 0xFD +
//!    4-byte seconds), optional `IDLE` (0xF8) + length or `FREQ` (0xF9) + one
//!    byte, then the value type byte, the key string and the value. Values are
//!    built from strings (`encoding`: length prefixes, int/LZF forms), binary
//!    doubles, and blobs holding packed encodings (`listpack`, `intset`; old
//!    files also `ziplist`, `zipmap`).
//! 5. **EOF**: opcode 0xFF.
//! 6. **Checksum**: CRC64 (`crc64`) of everything before, 8 bytes LE; 0 when
//!    checksums are disabled.
//!
//! Everything here is bounds-checked: corrupt or truncated input gives an
//! `RdbError`, never a panic, and lengths in the input never cause an
//! allocation larger than the input could justify.

pub mod crc64;
pub mod encoding;
pub mod entry;
pub mod error;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod numeric;
pub mod ziplist;
pub mod zipmap;

#[cfg(test)]
mod redis_sample_tests;

pub use crc64::crc64;
pub use encoding::{
    opcode, quicklist_container, rdb_type, string_enc, write_double_binary, write_i64_as_string, write_len,
    write_lzf_blob, write_ms_time, write_raw_string, write_string, LenOrEncoding, Reader, StringValue, RDB_VERSION,
};
pub use entry::Entry;
pub use error::{RdbError, RdbResult};
pub use intset::{encode_intset, encode_sorted_intset, intset_values};
pub use listpack::{listpack_entries, validate_listpack, ListpackBuilder, ListpackIter};
pub use lzf::LzfCompressor;
pub use numeric::{format_double_g17, format_i64, parse_canonical_i64, push_i64};
pub use ziplist::ziplist_entries;
pub use zipmap::zipmap_entries;
