//! The active expire cycle: the cron calls it `hz` times a second with a time budget. Like
//! Redis's activeExpireCycle it walks each database's keys with a scan cursor, samples keys
//! that carry a TTL, deletes the expired ones, and keeps going in a database while more than
//! the acceptable share of the sampled keys were expired and time remains. active-expire-effort
//! (passed as 0..9, its value minus one, as expire.c rescales it) samples a quarter more keys
//! per loop for each step and accepts one point less of stale keys (10% at effort 1, 1% at 10);
//! the cron gives it 2 points more of its period (the budget).

use super::Keyspace;
use std::time::Instant;

const KEYS_PER_LOOP: usize = 20;
const ACCEPTABLE_STALE_PERCENT: usize = 10;

impl Keyspace {
    /// Returns the number of keys expired. `budget_us` bounds the time spent; `effort` is
    /// active-expire-effort - 1.
    pub fn active_expire_cycle(&mut self, now_ms: i64, budget_us: u64, effort: usize) -> usize {
        // A replica's keys expire when its master says so (a DEL in the stream), except those
        // its own clients gave a TTL (Redis's expireSlaveKeys, in place of the active cycle).
        if self.expiry == super::Expiry::Logical {
            return if self.active_expire_enabled && !self.loading { self.expire_replica_keys(now_ms) } else { 0 };
        }
        // While a file loads or clients are paused nothing expires.
        if !self.active_expire_enabled || self.loading || self.expire_paused || self.expiry != super::Expiry::Delete { return 0; }
        let start = Instant::now();
        let effort = effort.min(9);
        let per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
        let stale_limit = ACCEPTABLE_STALE_PERCENT - effort;
        let mut total_expired = 0usize;
        let mut total_sampled = 0usize;
        let mut timed_out = false;
        for db in 0..self.dbs.len() {
            if self.dbs[db].expires == 0 { continue; }
            loop {
                let (sampled, expired, ttl_sum, ttl_count) = self.expire_sample(db, now_ms, per_loop);
                total_expired += expired;
                total_sampled += sampled;
                if ttl_count > 0 {
                    let avg = ttl_sum / ttl_count as i64;
                    let d = &mut self.dbs[db];
                    d.avg_ttl = if d.avg_ttl == 0 { avg } else { (d.avg_ttl / 50) * 49 + avg / 50 };
                }
                if start.elapsed().as_micros() as u64 >= budget_us {
                    timed_out = true;
                    break;
                }
                if sampled == 0 || expired * 100 / sampled <= stale_limit { break; }
            }
            if timed_out { break; }
        }
        if timed_out { self.stats.expired_time_cap_reached_count += 1; }
        let current = if total_sampled > 0 { total_expired as f64 / total_sampled as f64 } else { 0.0 };
        self.stats.expired_stale_perc = current * 0.05 + self.stats.expired_stale_perc * 0.95;
        total_expired
    }

    /// Redis's expireSlaveKeys: random tracked keys are looked up in each database they were
    /// given a TTL in; expired ones are deleted (counted, notified and propagated as any
    /// expiry), the others stay tracked, and names without a TTL anywhere are forgotten. Stops
    /// after more than three keys that are not yet due, or past a millisecond.
    fn expire_replica_keys(&mut self, now_ms: i64) -> usize {
        let start = Instant::now();
        let (mut cycles, mut not_due, mut expired) = (0usize, 0usize, 0usize);
        while let Some((key, dbids)) = self.replica_ttls.random().map(|(k, v)| (Box::<[u8]>::from(k), *v)) {
            let mut kept = 0u64;
            for db in 0..self.dbs.len().min(64) {
                if dbids & (1u64 << db) == 0 { continue; }
                let Some(e) = self.dbs[db].dict.get_node(&key) else { continue };
                if !e.has_expire() { continue; }
                if e.is_expired(now_ms) {
                    self.delete_expired(db, &key);
                    expired += 1;
                } else {
                    not_due += 1;
                    kept |= 1u64 << db;
                }
            }
            if kept != 0 {
                if let Some(bits) = self.replica_ttls.get_mut(&key) { *bits = kept; }
            } else {
                self.replica_ttls.remove(&key);
            }
            cycles += 1;
            if not_due > 3 || (cycles % 64 == 0 && start.elapsed().as_micros() > 1000) { break; }
        }
        expired
    }

    /// Visits buckets from the db's cursor until `want` keys with a TTL were looked at.
    fn expire_sample(&mut self, db: usize, now_ms: i64, want: usize) -> (usize, usize, i64, usize) {
        let mut sampled = 0;
        let mut to_delete: Vec<Box<[u8]>> = Vec::new();
        let mut ttl_sum = 0i64;
        let mut ttl_count = 0usize;
        let mut buckets_visited = 0;
        let d = &mut self.dbs[db];
        let mut cursor = d.expire_cursor;
        // Bound the walk by buckets too: a big db with few TTLs must not stall the cron.
        while sampled < want && buckets_visited < want * 20 {
            cursor = d.dict.scan_nodes_step(cursor, |e| {
                if e.has_expire() {
                    let at = e.expire_at();
                    sampled += 1;
                    if at <= now_ms { to_delete.push(e.key().into()); } else { ttl_sum += at - now_ms; ttl_count += 1; }
                }
            });
            buckets_visited += 1;
            if cursor == 0 { break; }
        }
        d.expire_cursor = cursor;
        let expired = to_delete.len();
        for k in to_delete {
            self.delete_expired(db, &k);
            // Each key is its own execution unit (never wrapped with another).
            self.prop.end_unit();
        }
        (sampled, expired, ttl_sum, ttl_count)
    }
}
