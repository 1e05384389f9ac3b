//! Persistence on top of the RDB codecs (`rdb/`): the keyspace to and from RDB files, DUMP
//! payloads, and the exports TypeScript's SAVE/BGSAVE/DEBUG RELOAD/start-up load use.
//!
//! - `save`: `write_rdb` (the whole file, in checksummed chunks), `ValueWriter` (one value, also
//!   used by DUMP), `type_byte`;
//! - `parallel_save`: one large database serialized by several threads, written in order;
//! - `load`: `load_rdb` (a whole file image into the keyspace), `read_object` (one value);
//! - `dump`: DUMP payload encode / verify / decode;
//! - `commands`: the DUMP and RESTORE rows;
//! - `values`: the single place that touches the list and sorted-set types' API;
//! - `exports`: forkRdb, saveRdb, loadRdb.

pub mod check;
pub mod commands;
pub mod dump;
pub mod exports;
pub mod load;
mod load_stream;
mod parallel_save;
pub mod save;
pub mod values;

#[cfg(test)]
mod save_parallel_tests;
#[cfg(test)]
mod tests;

pub use exports::register;
