//! Active rehashing (`activerehashing yes`): the cron lends a rehash under way in a keyspace
//! table about a millisecond per run, as Redis 7.0's databasesCron does with incrementallyRehash,
//! so a table that grew or shrank and then sees few commands does not keep two bucket arrays
//! (and two lookups per key) for long. Collections' tables rehash with their own commands only.

use super::Keyspace;
use std::time::Duration;

/// Redis's CRON_DBS_PER_CALL: databases looked at per cron run.
const DBS_PER_CALL: usize = 16;

impl Keyspace {
    /// One cron run's active rehashing: the first database (from where the last run stopped)
    /// whose table is rehashing gets `budget`; none while a forked child exists (Redis
    /// rehashes nothing then: every moved entry would copy pages the child shares). True when
    /// a table was rehashed.
    pub fn incrementally_rehash(&mut self, budget: Duration) -> bool {
        if crate::dict::resizes_avoided() || self.dbs.is_empty() { return false; }
        for _ in 0..DBS_PER_CALL.min(self.dbs.len()) {
            // incrementallyRehash: the main table (keyfork keeps TTLs in it, no expires table).
            if self.dbs[self.rehash_db].dict.rehash_for(budget) { return true; }
            self.rehash_db = (self.rehash_db + 1) % self.dbs.len();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{string::StrVal, Value};

    fn fill(ks: &mut Keyspace, db: usize, keys: u32) {
        for i in 0..keys {
            ks.dbs[db].dict.insert_new_tagged(format!("key:{i}").as_bytes(), super::super::Stored { value: Value::Str(StrVal::from_i64(i64::from(i))) }, 0, None);
        }
    }

    #[test]
    fn the_cron_finishes_a_rehash_without_commands_and_not_while_a_child_exists() {
        let mut ks = Keyspace::new(16);
        // 4097 keys: the table of 4096 buckets was due at the last insert and began rehashing.
        fill(&mut ks, 3, 4097);
        assert!(ks.dbs[3].dict.is_rehashing());
        crate::dict::avoid_resizes(true);
        assert!(!ks.incrementally_rehash(Duration::from_secs(1)));
        assert!(ks.dbs[3].dict.is_rehashing(), "nothing moves while a child shares the memory");
        crate::dict::avoid_resizes(false);
        // Databases without a rehash are passed over: db 3 is found from db 0.
        assert!(ks.incrementally_rehash(Duration::from_secs(1)));
        assert!(!ks.dbs[3].dict.is_rehashing());
        assert_eq!(ks.dbs[3].dict.bucket_count(), 8192);
        assert!(!ks.incrementally_rehash(Duration::from_secs(1)));
        for i in 0..4097u32 { assert!(ks.dbs[3].dict.contains_key(format!("key:{i}").as_bytes())); }
    }
}
