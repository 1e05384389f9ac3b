//! The configuration values the data side needs (encoding thresholds...), pushed from the
//! TypeScript config table whenever they change.

pub struct Settings {
    pub hash_max_listpack_entries: i64,
    pub hash_max_listpack_value: i64,
    pub set_max_intset_entries: i64,
    pub zset_max_listpack_entries: i64,
    pub zset_max_listpack_value: i64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    pub proto_max_bulk_len: i64,
    pub active_expire_effort: i64,
    pub rdb_key_save_delay: i64,
    /// key-load-delay: a pause per key loaded (tests watch a load in progress with it).
    pub key_load_delay: i64,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    /// rdbcompression (1 yes, 0 no): LZF in DUMP payloads and DEBUG OBJECT's serializedlength.
    pub rdb_compression: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            proto_max_bulk_len: 512 * 1024 * 1024,
            active_expire_effort: 1,
            rdb_key_save_delay: 0,
            key_load_delay: 0,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            rdb_compression: 1,
        }
    }
}

impl Settings {
    /// Sets a value by its redis.conf name; false when the name is not one the data side uses.
    pub fn set(&mut self, name: &str, value: i64) -> bool {
        let slot = match name {
            "hash-max-listpack-entries" => &mut self.hash_max_listpack_entries,
            "hash-max-listpack-value" => &mut self.hash_max_listpack_value,
            "set-max-intset-entries" => &mut self.set_max_intset_entries,
            "zset-max-listpack-entries" => &mut self.zset_max_listpack_entries,
            "zset-max-listpack-value" => &mut self.zset_max_listpack_value,
            "list-max-listpack-size" => &mut self.list_max_listpack_size,
            "list-compress-depth" => &mut self.list_compress_depth,
            "proto-max-bulk-len" => &mut self.proto_max_bulk_len,
            "active-expire-effort" => &mut self.active_expire_effort,
            "rdb-key-save-delay" => &mut self.rdb_key_save_delay,
            "key-load-delay" => &mut self.key_load_delay,
            "lfu-log-factor" => &mut self.lfu_log_factor,
            "lfu-decay-time" => &mut self.lfu_decay_time,
            "rdbcompression" => &mut self.rdb_compression,
            _ => return false,
        };
        *slot = value;
        true
    }
}
