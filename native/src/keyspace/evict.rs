//! maxmemory: Redis's performEvictions. Before a command runs (TypeScript's dispatcher and the
//! batch fast path both call it while maxmemory is set), memory over the limit is freed by
//! evicting keys chosen by maxmemory-policy:
//! - *-lru / *-lfu / volatile-ttl: a pool of the 16 best candidates kept across calls, fed with
//!   maxmemory-samples keys sampled from every database each round (the largest idle time,
//!   lowest frequency or nearest expire wins);
//! - *-random: a random key, visiting the databases in turn;
//! - volatile-*: only keys with a TTL; noeviction: nothing, so commands that may grow memory fail.
//! One call spends at most the time maxmemory-eviction-tenacity allows; when that runs out the
//! result is Running and the server keeps evicting between events.

use super::lru::lru_idle_seconds;
use super::{Keyspace, LatencyPeaks};
use crate::alloc;
use crate::settings::Settings;
use std::time::Instant;

const POOL_SIZE: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    #[default]
    NoEviction,
}

impl Policy {
    pub fn from_name(name: &str) -> Option<Policy> {
        Some(match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "noeviction" => Policy::NoEviction,
            _ => return None,
        })
    }
    pub fn is_lfu(self) -> bool { matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu) }
    pub fn is_lru(self) -> bool { matches!(self, Policy::VolatileLru | Policy::AllkeysLru) }
    fn all_keys(self) -> bool { matches!(self, Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom) }
    fn uses_pool(self) -> bool { !matches!(self, Policy::AllkeysRandom | Policy::VolatileRandom | Policy::NoEviction) }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EvictResult {
    /// Memory is under the limit (or eviction may not run now).
    Ok = 0,
    /// Still over the limit, out of time for this call: eviction goes on between events.
    Running = 1,
    /// Over the limit with nothing left to evict: commands that may grow memory are refused.
    Fail = 2,
}

struct Candidate {
    /// The ranking score: idle seconds, 255 - frequency, or u64::MAX - expire time.
    score: u64,
    key: Vec<u8>,
    db: usize,
    used: bool,
}

/// The eviction state kept across calls, and its statistics.
pub struct Evictor {
    pool: Vec<Candidate>,
    /// *-random visits the databases in turn.
    next_db: usize,
    /// Bytes in use outside the addon's allocator (Node's heaps, sockets), sampled by the cron.
    pub outside_bytes: usize,
    /// Buffers that do not count against maxmemory (AOF buffer, replica output beyond the
    /// backlog): mem_not_counted_for_evict.
    pub not_counted_bytes: usize,
    pub evicted_keys: u64,
    /// Since when memory has been over the limit (current_eviction_exceeded_time).
    exceeded_since: Option<Instant>,
    /// total_eviction_exceeded_time, in microseconds.
    pub total_exceeded_us: u64,
    /// A call ran out of time while still over the limit.
    pub running: bool,
}

impl Default for Evictor {
    fn default() -> Self {
        Evictor {
            pool: (0..POOL_SIZE).map(|_| Candidate { score: 0, key: Vec::new(), db: 0, used: false }).collect(),
            next_db: 0,
            outside_bytes: 0,
            not_counted_bytes: 0,
            evicted_keys: 0,
            exceeded_since: None,
            total_exceeded_us: 0,
            running: false,
        }
    }
}

impl Evictor {
    /// used_memory: the addon's allocations plus everything else the process allocated.
    pub fn used_memory(&self) -> usize { alloc::allocated() + self.outside_bytes }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&mut self) {
        self.evicted_keys = 0;
        self.total_exceeded_us = 0;
        self.exceeded_since = None;
    }

    /// current_eviction_exceeded_time in microseconds (0 while under the limit).
    pub fn current_exceeded_us(&self) -> u64 { self.exceeded_since.map_or(0, |t| t.elapsed().as_micros() as u64) }

    /// Bytes to free to be back under `maxmemory`, or None when under it (getMaxmemoryState).
    fn to_free(&self, maxmemory: usize) -> Option<usize> {
        let used = self.used_memory();
        if used <= maxmemory { return None; }
        let counted = used.saturating_sub(self.not_counted_bytes);
        if counted <= maxmemory { None } else { Some(counted - maxmemory) }
    }

    fn note_result(&mut self, result: EvictResult) {
        match result {
            EvictResult::Ok => {
                if let Some(t) = self.exceeded_since.take() { self.total_exceeded_us += t.elapsed().as_micros() as u64; }
            }
            _ => {
                if self.exceeded_since.is_none() { self.exceeded_since = Some(Instant::now()); }
            }
        }
    }

    /// Adds a sampled key to the pool, kept sorted by ascending score (Redis's evictionPoolPopulate).
    fn offer(&mut self, db: usize, key: &[u8], score: u64) {
        let pool = &mut self.pool;
        let mut k = 0;
        while k < POOL_SIZE && pool[k].used && pool[k].score < score { k += 1; }
        if k == 0 && pool[POOL_SIZE - 1].used { return; } // worse than everything in a full pool
        if k < POOL_SIZE && !pool[k].used {
            // An empty slot: take it.
        } else if !pool[POOL_SIZE - 1].used {
            // Room on the right: shift [k..] right by one (the empty last slot comes to k).
            pool[k..].rotate_right(1);
        } else {
            // Full: drop the worst (leftmost) and insert at k - 1.
            k -= 1;
            pool[..=k].rotate_left(1);
        }
        let c = &mut pool[k];
        c.key.clear();
        c.key.extend_from_slice(key);
        c.score = score;
        c.db = db;
        c.used = true;
    }
}

/// Time one call may spend evicting (evictionTimeLimitUs): linear up to 500 us at tenacity
/// 10, then 15% more per step, unlimited at 100.
fn time_limit_us(tenacity: i64) -> u64 {
    if tenacity <= 10 { return 50 * tenacity.max(0) as u64; }
    if tenacity < 100 { return (500.0 * 1.15f64.powf(tenacity as f64 - 10.0)) as u64; }
    u64::MAX
}

impl Keyspace {
    /// performEvictions: frees memory over `maxmemory` by evicting keys under the policy.
    pub fn perform_evictions(&mut self, s: &Settings, now_ms: i64) -> EvictResult {
        // isSafeToPerformEvictions: nothing is evicted while loading, on a replica that ignores
        // maxmemory (it stays its master's exact copy: the master's DELs remove keys), nor while
        // clients are paused (the dataset stays still). As if no eviction had been needed.
        if self.loading || (self.expiry.replica() && s.replica_ignore_maxmemory) || self.expire_paused {
            return EvictResult::Ok;
        }
        let result = self.evict_round(s, now_ms);
        self.evict.note_result(result);
        result
    }

    fn evict_round(&mut self, s: &Settings, now_ms: i64) -> EvictResult {
        self.evict.running = false;
        if s.maxmemory <= 0 { return EvictResult::Ok; }
        let Some(to_free) = self.evict.to_free(s.maxmemory as usize) else { return EvictResult::Ok };
        let policy = s.maxmemory_policy;
        if policy == Policy::NoEviction { return EvictResult::Fail; }
        let limit_us = time_limit_us(s.maxmemory_eviction_tenacity);
        let start = Instant::now();
        let mut freed: i64 = 0;
        let mut evicted = 0u64;
        while freed < to_free as i64 {
            let Some((db, key)) = self.pick_victim(s, policy, now_ms) else {
                // Nothing left to evict; what the lazy free thread is still releasing may be
                // enough: wait for it a little (no longer than this call may take).
                let result = self.wait_for_lazyfree(s.maxmemory as usize, start, limit_us);
                self.note_cycle_latency(start);
                return result;
            };
            let before = alloc::allocated() as i64;
            let t0 = Instant::now();
            // propagateDeletion: a DEL (UNLINK when lazy) of its own for the AOF and replicas.
            self.propagate_deletion(db, &key, s.lazyfree_lazy_eviction);
            self.prop.end_unit();
            self.remove_and_free(db, &key, s.lazyfree_lazy_eviction);
            LatencyPeaks::note(&mut self.latency.eviction_del_ms, t0);
            freed += before - alloc::allocated() as i64;
            self.evict.evicted_keys += 1;
            // signalModifiedKey(NULL, ...): the server evicted it (tracking's BCAST NOLOOP spares nobody).
            self.signal_modified_by(db, &key, 0);
            self.notify(super::notify::EVICTED, "evicted", db, &key);
            evicted += 1;
            if evicted % 16 == 0 {
                if s.lazyfree_lazy_eviction && self.evict.to_free(s.maxmemory as usize).is_none() { break; }
                if start.elapsed().as_micros() as u64 > limit_us {
                    self.evict.running = true;
                    break;
                }
            }
        }
        self.note_cycle_latency(start);
        if self.evict.running { EvictResult::Running } else { EvictResult::Ok }
    }

    /// Redis's cant_free wait (its time is the eviction-lazyfree latency event).
    fn wait_for_lazyfree(&mut self, maxmemory: usize, start: Instant, limit_us: u64) -> EvictResult {
        let waiting = Instant::now();
        let mut result = EvictResult::Fail;
        while crate::lazyfree::pending() > 0 && (start.elapsed().as_micros() as u64) < limit_us {
            if self.evict.to_free(maxmemory).is_none() {
                result = EvictResult::Ok;
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(limit_us.min(1000)));
        }
        LatencyPeaks::note(&mut self.latency.eviction_lazyfree_ms, waiting);
        result
    }

    fn note_cycle_latency(&mut self, start: Instant) {
        LatencyPeaks::note(&mut self.latency.eviction_cycle_ms, start);
    }

    /// The next key to evict, or None when no key qualifies.
    fn pick_victim(&mut self, s: &Settings, policy: Policy, now_ms: i64) -> Option<(usize, Vec<u8>)> {
        if policy.uses_pool() { self.pick_from_pool(s, policy, now_ms) } else { self.pick_random(policy) }
    }

    fn pick_random(&mut self, policy: Policy) -> Option<(usize, Vec<u8>)> {
        let n = self.dbs.len();
        for _ in 0..n {
            self.evict.next_db = (self.evict.next_db + 1) % n;
            let db = self.evict.next_db;
            let d = &self.dbs[db];
            if policy.all_keys() {
                if let Some((k, _)) = d.dict.random() { return Some((db, k.to_vec())); }
            } else if d.expires > 0 {
                // A walk from a random bucket to the first key with a TTL; one exists, so keep
                // trying (walks are short when TTLs are common, long when they are rare).
                let walk = volatile_walk(d.dict.len(), d.expires, 1);
                for _ in 0..64 {
                    let mut found = None;
                    d.dict.sample_nodes(1, walk, |e| {
                        if !e.has_expire() { return false; }
                        found = Some(e.key().to_vec());
                        true
                    });
                    if let Some(k) = found { return Some((db, k)); }
                }
            }
        }
        None
    }

    fn pick_from_pool(&mut self, s: &Settings, policy: Policy, now_ms: i64) -> Option<(usize, Vec<u8>)> {
        let samples = s.maxmemory_samples.max(1) as usize;
        let all = policy.all_keys();
        let clock = self.access;
        loop {
            let mut candidates = 0usize;
            for db in 0..self.dbs.len() {
                let d = &self.dbs[db];
                let eligible = if all { d.dict.len() } else { d.expires };
                if eligible == 0 { continue; }
                candidates += eligible;
                let walk = if all { samples * 10 } else { volatile_walk(d.dict.len(), d.expires, samples) };
                let mut picked: Vec<(Vec<u8>, u64)> = Vec::with_capacity(samples);
                d.dict.sample_nodes(samples, walk, |e| {
                    if !all && !e.has_expire() { return false; }
                    let score = match policy {
                        Policy::VolatileTtl => u64::MAX - e.expire_at() as u64,
                        Policy::AllkeysLfu | Policy::VolatileLfu => 255 - clock.lfu_counter(e.lru(), now_ms) as u64,
                        _ => lru_idle_seconds(e.lru(), now_ms) as u64 * 1000,
                    };
                    picked.push((e.key().to_vec(), score));
                    true
                });
                for (k, score) in picked { self.evict.offer(db, &k, score); }
            }
            if candidates == 0 { return None; }
            // From the best candidate down; keys deleted since they were pooled are skipped.
            for k in (0..POOL_SIZE).rev() {
                if !self.evict.pool[k].used { continue; }
                self.evict.pool[k].used = false;
                let db = self.evict.pool[k].db;
                let key = std::mem::take(&mut self.evict.pool[k].key);
                let alive = self.dbs.get(db).and_then(|d| d.dict.get_node(&key)).is_some_and(|e| all || e.has_expire());
                if alive { return Some((db, key)); }
                self.evict.pool[k].key = key; // keep the allocation for the next candidate
            }
        }
    }
}

/// How many buckets a volatile sample may walk: volatile keys share the main table with the
/// others, so a sparse TTL population needs a longer walk to find `want` of them.
fn volatile_walk(keys: usize, expires: usize, want: usize) -> usize {
    let spread = keys / expires.max(1);
    (want * 10).saturating_mul(spread.max(1)).min(1 << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_limits() {
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(10), 500);
        assert!((time_limit_us(11) as i64 - 575).abs() <= 1);
        assert_eq!(time_limit_us(100), u64::MAX);
    }

    #[test]
    fn pool_keeps_the_best_candidates_in_order() {
        let mut e = Evictor::default();
        for score in [5u64, 1, 9, 3, 7] { e.offer(0, format!("k{score}").as_bytes(), score); }
        let scores: Vec<u64> = e.pool.iter().filter(|c| c.used).map(|c| c.score).collect();
        assert_eq!(scores, vec![1, 3, 5, 7, 9]);
        for score in 100..120u64 { e.offer(0, format!("k{score}").as_bytes(), score); }
        let scores: Vec<u64> = e.pool.iter().filter(|c| c.used).map(|c| c.score).collect();
        assert_eq!(scores, (104..120).collect::<Vec<_>>());
        e.offer(0, b"worse", 2);
        assert_eq!(e.pool[0].score, 104);
    }
}
