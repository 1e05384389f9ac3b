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
//!
//! It also puts the heap on transparent huge pages once `use_huge_pages` was called and the heap
//! has grown to tens of MB (see there).

use crate::libc::pthread_self;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

static MAIN: AtomicIsize = AtomicIsize::new(0);
static BACKGROUND: AtomicIsize = AtomicIsize::new(0);
/// pthread_self() of the background (lazy free) thread; 0 (no thread has it) until one runs.
static BACKGROUND_THREAD: AtomicUsize = AtomicUsize::new(0);

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

/// Where glibc's main heap starts while it is kept on huge pages (`use_huge_pages`), 0 otherwise.
static HEAP_START: AtomicUsize = AtomicUsize::new(0);
/// Where the main heap started when `use_huge_pages` found huge pages available, 0 otherwise:
/// the heap goes on huge pages once it reaches `HUGE_PAGES_FROM` beyond this.
static HEAP_FIRST: AtomicUsize = AtomicUsize::new(0);
/// Before the heap is on huge pages: the address at which it will be (start + HUGE_PAGES_FROM).
/// After: the program break when the heap was last advised. usize::MAX when huge pages are not
/// to be used (the allocator's check never fires). An allocation ending beyond it means the
/// heap may have grown (or the chunk is a large mmap'd one). The JS thread and the lazy free
/// thread may both update it: a lost update only repeats an madvise or leaves it to the next
/// `keep_heap_advised`.
static HUGE_ADVISED_END: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The heap's size from which it is put on huge pages. Below it a server's RSS grows as the
/// data does, in 4 KB pages, as Redis's does (huge pages fault in 2 MB at a time, and the page
/// at the heap's growing end is partly empty: up to 2 MB more RSS, 4 B per element of a
/// 500k-element load); from it on, fork time and the save child's walk are what huge pages
/// save (the reason for them, see `use_huge_pages`), growing with the heap while the 2 MB of
/// rounding does not.
const HUGE_PAGES_FROM: usize = 32 << 20;
/// How much the main heap grows by beyond a request: growth comes in large steps that are
/// advised before their pages are first touched.
const HEAP_GROWTH_PAD: usize = 32 << 20;
/// How much free memory at the heap's top makes free() trim it (glibc's default is 128 KB, and
/// setting M_TOP_PAD freezes it there): far above the pad, so that the heap does not shrink and
/// grow back by itself (a heap grown back below the advised end would be a new mapping without
/// the advice). The once-a-second housekeeping still gives free memory back (`trimMemory`:
/// beyond `heap_top_pad` at the top), after which `keep_heap_advised` runs.
const HEAP_TRIM_THRESHOLD: usize = 4 * HEAP_GROWTH_PAD;
/// mmap'd allocations at least this large (a large dict's bucket array) are advised too.
const LARGE_CHUNK: usize = 4 << 20;

/// Puts the keyspace on 2 MB transparent huge pages when the system's THP mode is "madvise"
/// (the default of most distributions) and THP was not turned off for the process, once glibc's
/// main heap, where the JS thread's allocations (the keyspace) come from, has grown to
/// `HUGE_PAGES_FROM`: from then on every growth of the heap and every large mmap'd allocation
/// is madvise(MADV_HUGEPAGE)d before its pages are first touched, and the heap that was there
/// is advised and its 4 KB pages collapsed into huge pages by a thread of its own (`Collapser`:
/// copying costs ~2 ms per MB on this project's VM, not a pause for the clients). Under
/// "always" the kernel backs every large mapping with huge pages by itself, unless
/// `disable-thp` turned THP off for the process as Redis does: nothing to add. Under "never"
/// there are none.
///
/// Why: a forked save copies one page-table entry per 4 KB page of the parent and then reads
/// every page of the keyspace once; with 2 MB pages fork copies one entry per 2 MB and the
/// child's walk takes far fewer TLB misses (on a VM with shadow page tables, far fewer
/// hypervisor faults: ~5 us per 4 KB page touched first by the child on this project's VM).
/// Copy-on-write stays per 4 KB page: since Linux 5.8 a write to a huge page shared with a
/// child splits the mapping and copies 4 KB, not 2 MB (the reason Redis advises against THP).
pub fn use_huge_pages() {
    if crate::os::thp_mode().as_deref() != Some("madvise") || crate::os::thp_disabled() {
        return;
    }
    if HEAP_FIRST.load(Ordering::Relaxed) != 0 {
        return;
    }
    let brk = crate::os::program_break();
    let start = crate::os::heap_start().filter(|&s| s < brk).unwrap_or(brk);
    if start == 0 || !Collapser::start() { return; }
    HEAP_FIRST.store(start, Ordering::Relaxed);
    HUGE_ADVISED_END.store(start + HUGE_PAGES_FROM, Ordering::Relaxed);
    // Already that large (a reset of a loaded server): at once.
    on_huge_pages_if_heap_reaches(0);
}

/// The heap is about to grow by at least `bytes` (an RDB file of that size is loaded: the keys
/// take at least as much memory as their encoding in the file): if that makes it reach
/// HUGE_PAGES_FROM, it goes on huge pages now, before the load touches its pages (a 4 KB page
/// first touched costs ~5 us on this project's VM, a 2 MB one a fraction of that per byte).
pub fn heap_will_grow(bytes: usize) {
    on_huge_pages_if_heap_reaches(bytes);
}

/// Puts the heap on huge pages if huge pages are to be used and the heap, grown by `more`
/// bytes, reaches HUGE_PAGES_FROM.
fn on_huge_pages_if_heap_reaches(more: usize) {
    let first = HEAP_FIRST.load(Ordering::Relaxed);
    if first != 0 && HEAP_START.load(Ordering::Relaxed) == 0 && crate::os::program_break().saturating_add(more) >= first + HUGE_PAGES_FROM {
        heap_on_huge_pages();
    }
}

/// The heap reached HUGE_PAGES_FROM: from now on it grows in advised steps; what is there is
/// advised and handed to the collapse thread.
fn heap_on_huge_pages() {
    let start = HEAP_FIRST.load(Ordering::Relaxed);
    if start == 0 || HEAP_START.load(Ordering::Relaxed) != 0 { return; }
    crate::os::set_malloc_growth(HEAP_GROWTH_PAD, HEAP_TRIM_THRESHOLD);
    let brk = crate::os::program_break();
    crate::os::advise_huge_pages(start, brk - start);
    HEAP_START.store(start, Ordering::Relaxed);
    HUGE_ADVISED_END.store(brk, Ordering::Relaxed);
    Collapser::request(start, brk);
}

/// The thread that collapses the heap's 4 KB pages into huge pages once the heap goes on them
/// (MADV_COLLAPSE copies them: ~70 ms for 32 MB here). It is started with the server, so that
/// the allocator, which notices the heap's growth, only has to wake it (no allocation, no lock).
struct Collapser;

static COLLAPSER: std::sync::OnceLock<std::thread::Thread> = std::sync::OnceLock::new();
/// The range to collapse, [start, end), 0 when there is none.
static COLLAPSE_START: AtomicUsize = AtomicUsize::new(0);
static COLLAPSE_END: AtomicUsize = AtomicUsize::new(0);

impl Collapser {
    /// Starts the thread; false when it could not be started (then the heap stays on 4 KB pages).
    fn start() -> bool {
        if COLLAPSER.get().is_some() { return true; }
        let spawned = std::thread::Builder::new().name("keyfork-thp".into()).stack_size(64 << 10).spawn(|| loop {
            std::thread::park();
            let end = COLLAPSE_END.swap(0, Ordering::AcqRel);
            let start = COLLAPSE_START.load(Ordering::Acquire);
            if end > start && start != 0 {
                crate::os::collapse_huge_pages(start, end - start);
            }
        });
        match spawned {
            Ok(handle) => COLLAPSER.set(handle.thread().clone()).is_ok(),
            Err(_) => false,
        }
    }

    fn request(start: usize, end: usize) {
        COLLAPSE_START.store(start, Ordering::Release);
        COLLAPSE_END.store(end, Ordering::Release);
        if let Some(t) = COLLAPSER.get() { t.unpark(); }
    }
}

/// Advises the whole main heap again if the program break moved since it was last advised: after
/// a trim (the heap shrank, and what grows back is a new mapping) and as a safety net for growth
/// the allocator did not see (Node's own mallocs). madvise over mappings already advised changes
/// nothing, and it touches no page: cheap enough for every housekeeping tick.
pub fn keep_heap_advised() {
    let start = HEAP_START.load(Ordering::Relaxed);
    if start == 0 {
        // Not on huge pages yet: the heap may have reached the size by Node's own mallocs.
        on_huge_pages_if_heap_reaches(0);
        return;
    }
    let brk = crate::os::program_break();
    if brk != HUGE_ADVISED_END.load(Ordering::Relaxed) {
        if brk > start { crate::os::advise_huge_pages(start, brk - start); }
        HUGE_ADVISED_END.store(brk, Ordering::Relaxed);
    }
}

/// Free space the heap keeps at its top while it is on huge pages (0 otherwise): the advised
/// room the next allocations, the keyspace's and Node's own, are served from. Trimming it would
/// make every growth after a trim start unadvised.
pub fn heap_top_pad() -> usize {
    if HEAP_START.load(Ordering::Relaxed) != 0 { HEAP_GROWTH_PAD } else { 0 }
}

#[inline(always)]
fn note_allocation(p: *mut u8, size: usize) {
    // A chunk carved from the top when the heap grows starts below the old end and reaches past
    // it (a realloc grown in place too): its end, not its start, tells.
    if (p as usize).wrapping_add(size) > HUGE_ADVISED_END.load(Ordering::Relaxed) {
        heap_may_have_grown(p, size);
    }
}

#[cold]
#[inline(never)]
fn heap_may_have_grown(p: *mut u8, size: usize) {
    if HEAP_START.load(Ordering::Relaxed) == 0 {
        // Not on huge pages yet: the end passed is where they start, or the chunk is mmap'd.
        on_huge_pages_if_heap_reaches(0);
        return;
    }
    let advised = HUGE_ADVISED_END.load(Ordering::Relaxed);
    let brk = crate::os::program_break();
    if brk > advised {
        crate::os::advise_huge_pages(advised, brk - advised);
        HUGE_ADVISED_END.store(brk, Ordering::Relaxed);
    } else if brk < advised {
        keep_heap_advised();
    }
    if size >= LARGE_CHUNK && p as usize >= brk {
        crate::os::advise_huge_pages(p as usize, size);
    }
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
        if !p.is_null() {
            count(chunk_size(layout.size()) as isize);
            note_allocation(p, layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(chunk_size(layout.size()) as isize);
            note_allocation(p, layout.size());
        }
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
            note_allocation(p, new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Bytes the addon holds in malloc chunks right now.
#[inline]
pub fn allocated() -> usize { (MAIN.load(Ordering::Relaxed) + BACKGROUND.load(Ordering::Relaxed)).max(0) as usize }

/// A walk of the C heap (mallinfo2) that took this long is not repeated for `WALK_SPACING`
/// times its duration.
const WALK_SLOW: std::time::Duration = std::time::Duration::from_millis(1);
const WALK_SPACING: u32 = 100;

/// The last walk: when it ended, how long it took, and what it found, with the addon's bytes
/// at the time.
#[derive(Clone, Copy)]
struct HeapWalk { at: std::time::Instant, took: std::time::Duration, used: u64, free: u64, top: u64, addon: u64 }

impl HeapWalk {
    /// The figures at `now`, when the addon holds `addon` bytes, without a new walk; None when
    /// it is time to walk again.
    fn reused(&self, now: std::time::Instant, addon: u64) -> Option<(u64, u64, u64)> {
        let slow = self.took >= WALK_SLOW && now.saturating_duration_since(self.at) < self.took * WALK_SPACING;
        slow.then(|| ((self.used + addon).saturating_sub(self.addon), self.free, self.top))
    }
}

static LAST_WALK: std::sync::Mutex<Option<HeapWalk>> = std::sync::Mutex::new(None);

/// The C heap: (bytes in use, free bytes held in the arenas, of those the free space at the
/// main heap's top). mallinfo2 walks every free chunk of every arena: ~25 ms for a heap of
/// 4M mixed keys, an event-loop stall each time and CPU taken from a save's threads (perf: 3%
/// of a 4M-key BGSAVE's samples were the parent in int_mallinfo). So a walk that was slow is
/// repeated at most 1% of the time; in between, the bytes in use are the last walk's moved by
/// what the addon's allocator counted since (the keyspace's share, exact), the free figures are
/// the last walk's. `forget_heap_walk` after the heap was trimmed.
pub fn heap_usage() -> (u64, u64, u64) {
    let mut last = LAST_WALK.lock().unwrap_or_else(|e| e.into_inner());
    let addon = allocated() as u64;
    if let Some(figures) = last.and_then(|w| w.reused(std::time::Instant::now(), addon)) {
        return figures;
    }
    let start = std::time::Instant::now();
    let (used, free, top) = crate::os::heap_usage();
    let at = std::time::Instant::now();
    *last = Some(HeapWalk { at, took: at - start, used, free, top, addon });
    (used, free, top)
}

/// The heap changed beyond what the addon counts (malloc_trim gave pages back): the next
/// `heap_usage` walks it again.
pub fn forget_heap_walk() {
    *LAST_WALK.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_heap_walk_is_reused_for_a_hundred_times_its_length() {
        use std::time::{Duration, Instant};
        let at = Instant::now();
        let walk = |took_ms| HeapWalk { at, took: Duration::from_millis(took_ms), used: 1000, free: 300, top: 20, addon: 600 };
        // 25 ms: reused for 2.5 s, the bytes in use following the addon's own count.
        assert_eq!(walk(25).reused(at + Duration::from_millis(100), 700), Some((1100, 300, 20)));
        assert_eq!(walk(25).reused(at + Duration::from_millis(2400), 100), Some((500, 300, 20)));
        assert_eq!(walk(25).reused(at + Duration::from_millis(2600), 700), None);
        // A fast walk is always repeated.
        assert_eq!(walk(0).reused(at + Duration::from_millis(1), 700), None);
    }

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
        // Other tests allocate and free concurrently (their counts may race with ours, which the
        // server never does): measure a large allocation's effect, the best of a few tries.
        let grew = (0..8)
            .map(|_| {
                let before = allocated() as isize;
                let v: Vec<u8> = Vec::with_capacity(64 << 20);
                let during = allocated() as isize;
                drop(v);
                during - before
            })
            .max()
            .unwrap();
        assert!(grew >= (64 << 20) - (1 << 20), "grew by {grew}");
    }
}
