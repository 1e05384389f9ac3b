//! The configuration values the data side needs (encoding thresholds...), pushed from the
//! TypeScript config table whenever they change. Only values this crate reads belong here:
//! the TypeScript side counts a directive pushed here as applied (src/config/consumers.ts),
//! and a name `set` does not know is refused.

use crate::keyspace::evict::Policy;

pub struct Settings {
    pub hash_max_listpack_entries: i64,
    pub hash_max_listpack_value: i64,
    pub set_max_intset_entries: i64,
    pub zset_max_listpack_entries: i64,
    pub zset_max_listpack_value: i64,
    pub list_max_listpack_size: i64,
    /// list-compress-depth (lists keep the value of their creation: types::list).
    pub list_compress_depth: i64,
    pub proto_max_bulk_len: i64,
    /// key-load-delay: a pause per key loaded (tests watch a load in progress with it).
    pub key_load_delay: i64,
    /// rdbcompression (1 yes, 0 no): LZF in DUMP payloads and DEBUG OBJECT's serializedlength.
    pub rdb_compression: i64,
    /// rdbchecksum (1 yes, 0 no): whether loading an RDB file verifies its CRC64, as in Redis.
    pub rdb_checksum: i64,
    /// maxmemory in bytes, 0 for no limit.
    pub maxmemory: i64,
    pub maxmemory_policy: Policy,
    pub maxmemory_samples: i64,
    pub maxmemory_eviction_tenacity: i64,
    pub lazyfree_lazy_eviction: bool,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_expire: bool,
    /// replica-ignore-maxmemory: a replica does not evict (its master's DELs remove keys).
    pub replica_ignore_maxmemory: bool,
    pub stream_node_max_bytes: i64,
    pub stream_node_max_entries: i64,
    pub hll_sparse_max_bytes: i64,
    /// Cluster mode: the slots the fast paths may serve (owned by this node, not migrating,
    /// the cluster up), one bit each; None when cluster mode is off.
    pub cluster_served: Option<Box<[u8]>>,
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
            key_load_delay: 0,
            rdb_compression: 1,
            rdb_checksum: 1,
            maxmemory: 0,
            maxmemory_policy: Policy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lazyfree_lazy_eviction: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_expire: false,
            replica_ignore_maxmemory: true,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            hll_sparse_max_bytes: 3000,
            cluster_served: None,
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
            "key-load-delay" => &mut self.key_load_delay,
            "rdbcompression" => &mut self.rdb_compression,
            "rdbchecksum" => &mut self.rdb_checksum,
            "maxmemory" => &mut self.maxmemory,
            "maxmemory-samples" => &mut self.maxmemory_samples,
            "maxmemory-eviction-tenacity" => &mut self.maxmemory_eviction_tenacity,
            "lfu-log-factor" => &mut self.lfu_log_factor,
            "lfu-decay-time" => &mut self.lfu_decay_time,
            "stream-node-max-bytes" => &mut self.stream_node_max_bytes,
            "stream-node-max-entries" => &mut self.stream_node_max_entries,
            "hll-sparse-max-bytes" => &mut self.hll_sparse_max_bytes,
            "lazyfree-lazy-eviction" | "lazyfree-lazy-user-del" | "lazyfree-lazy-user-flush" | "lazyfree-lazy-server-del" | "lazyfree-lazy-expire"
            | "replica-ignore-maxmemory" => {
                let flag = match name {
                    "replica-ignore-maxmemory" => &mut self.replica_ignore_maxmemory,
                    "lazyfree-lazy-eviction" => &mut self.lazyfree_lazy_eviction,
                    "lazyfree-lazy-user-del" => &mut self.lazyfree_lazy_user_del,
                    "lazyfree-lazy-user-flush" => &mut self.lazyfree_lazy_user_flush,
                    "lazyfree-lazy-server-del" => &mut self.lazyfree_lazy_server_del,
                    _ => &mut self.lazyfree_lazy_expire,
                };
                *flag = value != 0;
                return true;
            }
            _ => return false,
        };
        *slot = value;
        if name == "list-max-listpack-size" { crate::types::list::set_fill(value); }
        if name == "list-compress-depth" { crate::types::list::set_compress_depth(value); }
        self.sync_sharing_integers();
        true
    }

    /// New integers are shared objects unless maxmemory is set with an LRU or LFU policy.
    fn sync_sharing_integers(&self) {
        let policy = self.maxmemory_policy;
        crate::types::string::set_sharing_integers(self.maxmemory == 0 || !(policy.is_lru() || policy.is_lfu()));
    }

    /// Sets a value given by name (maxmemory-policy); false when the name or value is unknown.
    pub fn set_str(&mut self, name: &str, value: &str) -> bool {
        match name {
            "maxmemory-policy" => match Policy::from_name(value) {
                Some(p) => {
                    self.maxmemory_policy = p;
                    self.sync_sharing_integers();
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}
