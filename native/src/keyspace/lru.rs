//! Each key's access clock, in the 24 bits Redis gives it (`Entry::lru`), read one of two ways
//! depending on maxmemory-policy, as Redis does:
//! - LRU: the seconds clock (24 bits, wrapping) at the last access: OBJECT IDLETIME.
//! - LFU: 16 bits of minutes at the last decrement, then an 8-bit logarithmic access counter
//!   that starts at 5 (LFU_INIT_VAL), grows with probability 1/((counter-5)*lfu-log-factor+1)
//!   per access and loses one per lfu-decay-time minutes idle: OBJECT FREQ.
//! Switching policy does not convert the clocks: like Redis, they adjust as keys are touched.

use crate::dict::random_u64;

pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
pub const LFU_INIT_VAL: u32 = 5;

pub fn lru_clock_now(now_ms: i64) -> u32 { ((now_ms / 1000) as u64 & LRU_CLOCK_MAX as u64) as u32 }

/// Seconds since an entry's last access, from the 24-bit LRU clock (wrapping as Redis's does).
pub fn lru_idle_seconds(lru: u32, now_ms: i64) -> u32 {
    let now_clock = lru_clock_now(now_ms);
    if now_clock >= lru { now_clock - lru } else { now_clock + (LRU_CLOCK_MAX - lru) }
}

/// The LRU clock of an access `idle_secs` ago (RDB IDLE, RESTORE IDLETIME); a time before
/// the clock's start maps half a cycle back, so the key still reads as long idle.
pub fn lru_after_idle(lru_now: u32, idle_secs: i64) -> u32 {
    let max = LRU_CLOCK_MAX as i64;
    let abs = lru_now as i64 - idle_secs;
    if abs < 0 { ((lru_now as i64 + max / 2) % max) as u32 } else { abs as u32 }
}

fn lfu_minutes(now_ms: i64) -> u32 { ((now_ms / 1000 / 60) & 65535) as u32 }

/// Minutes since `ldt` on the 16-bit minutes clock, wrapping once at most.
fn lfu_minutes_elapsed(ldt: u32, now_ms: i64) -> u32 {
    let now = lfu_minutes(now_ms);
    if now >= ldt { now - ldt } else { 65535 - ldt + now }
}

/// How keys are touched, from the settings: which clock the policy reads, and LFU's tuning.
#[derive(Clone, Copy)]
pub struct AccessClock {
    pub lfu: bool,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
}

impl Default for AccessClock {
    fn default() -> Self { AccessClock { lfu: false, lfu_log_factor: 10, lfu_decay_time: 1 } }
}

impl AccessClock {
    /// The clock of a key created now.
    #[inline]
    pub fn fresh(&self, now_ms: i64) -> u32 {
        if self.lfu { (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL } else { lru_clock_now(now_ms) }
    }

    /// An access to a key (Redis's lookupKey without LOOKUP_NOTOUCH).
    #[inline]
    pub fn touch(&self, lru: &mut u32, now_ms: i64) {
        if self.lfu {
            let counter = self.lfu_log_incr(self.lfu_counter(*lru, now_ms));
            *lru = (lfu_minutes(now_ms) << 8) | counter;
        } else {
            *lru = lru_clock_now(now_ms);
        }
    }

    /// The LFU counter after the decay owed since its last decrement (not stored back).
    pub fn lfu_counter(&self, lru: u32, now_ms: i64) -> u32 {
        let ldt = lru >> 8;
        let counter = lru & 255;
        let periods = if self.lfu_decay_time > 0 { lfu_minutes_elapsed(ldt, now_ms) as i64 / self.lfu_decay_time } else { 0 };
        if periods > counter as i64 { 0 } else { counter - periods as u32 }
    }

    fn lfu_log_incr(&self, counter: u32) -> u32 {
        if counter == 255 { return 255; }
        let r = (random_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * self.lfu_log_factor as f64 + 1.0);
        if r < p { counter + 1 } else { counter }
    }

    /// The clock of a key loaded or restored with a stored idle time or frequency (RDB IDLE /
    /// FREQ, RESTORE IDLETIME / FREQ): the one the policy reads is used, the other ignored
    /// (Redis's objectSetLRUOrLFU).
    pub fn restored(&self, idle_secs: Option<i64>, freq: Option<u8>, now_ms: i64) -> u32 {
        match (self.lfu, idle_secs, freq) {
            (true, _, Some(f)) => (lfu_minutes(now_ms) << 8) | f as u32,
            (false, Some(idle), _) => lru_after_idle(lru_clock_now(now_ms), idle),
            _ => self.fresh(now_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let clock = AccessClock { lfu: true, lfu_log_factor: 10, lfu_decay_time: 1 };
        let now = 1_700_000_000_000i64;
        assert_eq!(clock.lfu_counter(clock.fresh(now), now), LFU_INIT_VAL);
        // Redis's table for lfu-log-factor 10: about 18 after 1000 hits. One key's counter is
        // random (27 came up once in ~100 runs): judge the mean of 20 keys.
        let keys: Vec<u32> = (0..20)
            .map(|_| {
                let mut lru = clock.fresh(now);
                for _ in 0..1000 { clock.touch(&mut lru, now); }
                lru
            })
            .collect();
        let mean = keys.iter().map(|&k| clock.lfu_counter(k, now) as f64).sum::<f64>() / keys.len() as f64;
        assert!((15.0..=22.0).contains(&mean), "{mean}");
        let lru = keys[0];
        let after_1k = clock.lfu_counter(lru, now);
        // Three minutes idle at lfu-decay-time 1: three less.
        assert_eq!(clock.lfu_counter(lru, now + 3 * 60_000), after_1k - 3);
        assert_eq!(clock.lfu_counter(lru, now + 600 * 60_000), 0);
    }

    #[test]
    fn lru_idle_wraps() {
        let now = 1_700_000_000_000i64;
        let lru = lru_after_idle(lru_clock_now(now), 100);
        assert_eq!(lru_idle_seconds(lru, now), 100);
    }
}
