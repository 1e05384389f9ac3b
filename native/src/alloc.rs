//! The addon's allocator: the system malloc, counting what it hands out, as Redis's zmalloc
//! counts used_memory. The keyspace and everything else the addon holds live here, so the
//! counter is the exact, O(1) figure maxmemory needs before every command (glibc's own
//! statistics walk the heap). It counts malloc chunks as glibc sizes them (the request plus
//! an 8-byte header, rounded up to 16, at least 32), so it adds up to what mallinfo reports.
//! Freeing from another thread (lazy free) is why the counter is atomic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

/// The chunk glibc's malloc carves for a request of `size` bytes on a 64-bit system.
#[inline(always)]
pub const fn chunk_size(size: usize) -> usize {
    let c = (size + 8 + 15) & !15;
    if c < 32 { 32 } else { c }
}

pub struct CountingAllocator;

// SAFETY: every method forwards to the system allocator with the caller's own arguments and
// only adds bookkeeping on success; the GlobalAlloc contract is the system allocator's.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() { ALLOCATED.fetch_add(chunk_size(layout.size()) as isize, Ordering::Relaxed); }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() { ALLOCATED.fetch_add(chunk_size(layout.size()) as isize, Ordering::Relaxed); }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(chunk_size(layout.size()) as isize, Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_add(chunk_size(new_size) as isize - chunk_size(layout.size()) as isize, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Bytes the addon holds in malloc chunks right now.
#[inline]
pub fn allocated() -> usize { ALLOCATED.load(Ordering::Relaxed).max(0) as usize }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_follow_glibc() {
        assert_eq!(chunk_size(0), 32);
        assert_eq!(chunk_size(24), 32);
        assert_eq!(chunk_size(25), 48);
        assert_eq!(chunk_size(40), 48);
        assert_eq!(chunk_size(56), 64);
        assert_eq!(chunk_size(72), 80);
    }

    #[test]
    fn counts_what_is_held() {
        // Other tests allocate concurrently: measure a large allocation's effect.
        let before = allocated() as isize;
        let v: Vec<u8> = Vec::with_capacity(64 << 20);
        let during = allocated() as isize;
        drop(v);
        assert!(during - before >= (64 << 20) - (1 << 20), "{before} -> {during}");
    }
}
