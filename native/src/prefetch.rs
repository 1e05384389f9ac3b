//! A cache hint: start loading the memory at an address that will be read soon. The RDB
//! writer's keyspace walk is bound by memory latency (a dict node, then the value's bytes, each
//! a cache miss at a random address); hinting a few keys ahead lets those misses overlap with
//! the serialization of the keys before them instead of stalling it.

const LINE: usize = 64;

/// Asks the CPU to bring the cache lines holding `*r` into all cache levels.
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    prefetch_range(r as *const T as *const u8, std::mem::size_of::<T>());
}

/// `prefetch` of the cache lines holding `bytes[..len.min(limit)]`: the first line, and the
/// next ones a serializer will reach soon (a 100-byte value spans two or three lines).
#[inline(always)]
pub fn prefetch_bytes(bytes: &[u8], limit: usize) {
    prefetch_range(bytes.as_ptr(), bytes.len().min(limit));
}

/// `prefetch` of the cache lines holding `[p, p + len)`, for memory no Rust type describes
/// whole (a dict node's header and the key bytes after it).
#[inline(always)]
pub fn prefetch_ptr(p: *const u8, len: usize) {
    prefetch_range(p, len);
}

/// Every cache line that `[p, p + len)` touches.
#[inline(always)]
fn prefetch_range(p: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    let first = p as usize & !(LINE - 1);
    let last = (p as usize + len - 1) & !(LINE - 1);
    let mut line = first;
    while line <= last {
        // The first line starts before `p` unless `p` is line-aligned: the offset wraps.
        prefetch_addr(p.wrapping_add(line.wrapping_sub(p as usize)));
        line += LINE;
    }
}

/// A hint only: it never faults and never changes what the program computes, whatever the
/// address (null, dangling, unmapped).
#[inline(always)]
fn prefetch_addr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 does not access memory architecturally: it cannot fault or read
    // anything the program observes, for any address (SSE is part of the x86_64 baseline).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
