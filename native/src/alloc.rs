//! The addon's allocator: the system malloc, counting what it hands out, as Redis's zmalloc
//! counts used_memory. The keyspace and everything else the addon holds live here, so the
//! counter is the exact, O(1) figure maxmemory needs before every command (glibc's own
//! statistics walk the heap). It counts malloc chunks as glibc sizes them (the request plus
//! an 8-byte header, rounded up to 16, at least 32), so it adds up to what mallinfo reports.
//!
//! Two counters, each with one writer, so that no allocation pays for an atomic
//! read-modify-write (about 10 ns each on this project's VM, several per command): the lazy
//! free thread (registered with `register_background_thread`) keeps its own; every other
//! thread of the process that runs addon code is the JS main thread (the save threads run in
//! the forked child, whose counts are never read).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

static MAIN: AtomicIsize = AtomicIsize::new(0);
static BACKGROUND: AtomicIsize = AtomicIsize::new(0);
/// pthread_self() of the background (lazy free) thread; 0 (no thread has it) until one runs.
static BACKGROUND_THREAD: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    fn pthread_self() -> usize;
}

#[inline(always)]
fn count(delta: isize) {
    // SAFETY: pthread_self has no preconditions and only reads the calling thread's pointer.
    let me = unsafe { pthread_self() };
    if me == BACKGROUND_THREAD.load(Ordering::Relaxed) {
        BACKGROUND.fetch_add(delta, Ordering::Relaxed);
    } else {
        // The single writer of MAIN: a plain load and store.
        MAIN.store(MAIN.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    }
}

/// Makes the calling thread the background thread whose (de)allocations have their own counter.
pub fn register_background_thread() {
    // SAFETY: as in `count`.
    BACKGROUND_THREAD.store(unsafe { pthread_self() }, Ordering::Relaxed);
}

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
        if !p.is_null() { count(chunk_size(layout.size()) as isize); }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() { count(chunk_size(layout.size()) as isize); }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        count(-(chunk_size(layout.size()) as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(chunk_size(new_size) as isize - chunk_size(layout.size()) as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Bytes the addon holds in malloc chunks right now.
#[inline]
pub fn allocated() -> usize { (MAIN.load(Ordering::Relaxed) + BACKGROUND.load(Ordering::Relaxed)).max(0) as usize }

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
        // Other tests allocate concurrently (their counts may race with ours, which the server
        // never does): measure a large allocation's effect.
        let before = allocated() as isize;
        let v: Vec<u8> = Vec::with_capacity(64 << 20);
        let during = allocated() as isize;
        drop(v);
        assert!(during - before >= (64 << 20) - (1 << 20), "{before} -> {during}");
    }
}
