//! Lazy free (Redis's lazyfree.c and its bio thread): a value whose freeing would take a while
//! (a collection of more than 64 table entries, list chunks or tree nodes) is handed to a
//! background thread, so UNLINK, FLUSHALL ASYNC and the lazyfree-lazy-* paths answer at once.
//! Small values are freed in place: sending them would cost more than freeing them.
//!
//! The thread is started on first use and counts its frees in its own allocator counter
//! (alloc.rs). A forked child has no such thread and never frees through it.

use crate::keyspace::Table;
use crate::types::Value;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

/// Redis's LAZYFREE_THRESHOLD: above this many allocations a value is freed in the background.
const THRESHOLD: usize = 64;

/// What the thread frees: it only drops it.
type Job = Box<dyn Send>;

/// Objects handed over and not freed yet (INFO lazyfree_pending_objects).
static PENDING: AtomicUsize = AtomicUsize::new(0);
/// Objects freed by the thread (INFO lazyfreed_objects).
static FREED: AtomicU64 = AtomicU64::new(0);
static QUEUE: Mutex<Option<Sender<(Job, usize)>>> = Mutex::new(None);

pub fn pending() -> usize { PENDING.load(Ordering::Relaxed) }
pub fn freed() -> u64 { FREED.load(Ordering::Relaxed) }
pub fn reset_stats() { FREED.store(0, Ordering::Relaxed); }

/// How much freeing `v` takes (lazyfreeGetFreeEffort): its table entries, list chunks or
/// tree nodes; 1 for a single allocation.
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::Str(_) => 1,
        Value::List(l) => l.chunk_count(),
        Value::Hash(h) => if h.is_listpack() { 1 } else { h.len() },
        Value::Set(s) => if s.encoding() == "intset" { 1 } else { s.len() },
        Value::ZSet(z) => if z.is_listpack() { 1 } else { z.len() },
        Value::Stream(s) => s.free_effort(),
    }
}

/// Frees `v`: in the background when it is big, here otherwise (freeObjAsync).
pub fn free_value(v: Value) {
    if free_effort(&v) > THRESHOLD { send(Box::new(v), 1) } else { drop(v) }
}

/// Frees a whole database's table in the background (emptyDbAsync); its keys count as objects.
pub fn free_table(table: Table) {
    let n = table.len();
    if n == 0 { return; }
    send(Box::new(table), n);
}

fn send(job: Job, objects: usize) {
    PENDING.fetch_add(objects, Ordering::Relaxed);
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    let sender = queue.get_or_insert_with(start_thread);
    if let Err(failed) = sender.send((job, objects)) {
        // The thread is gone (it never exits on its own): free here rather than leak.
        PENDING.fetch_sub(objects, Ordering::Relaxed);
        drop(failed.0);
    }
}

fn start_thread() -> Sender<(Job, usize)> {
    let (tx, rx) = channel::<(Job, usize)>();
    std::thread::Builder::new()
        .name("keyfork-lazyfree".into())
        .spawn(move || {
            crate::procctl::apply_bio_affinity();
            crate::alloc::register_background_thread();
            for (job, objects) in rx {
                drop(job);
                PENDING.fetch_sub(objects, Ordering::Relaxed);
                FREED.fetch_add(objects as u64, Ordering::Relaxed);
            }
        })
        .expect("spawning the lazy free thread");
    tx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::set::Set;

    #[test]
    fn big_values_are_freed_in_the_background() {
        let before = freed();
        let members: Vec<String> = (0..1000).map(|i| format!("member:{i}")).collect();
        let big = Set::from_members(&members, &Default::default()).expect("distinct members");
        assert!(free_effort(&Value::Set(big.clone())) > THRESHOLD);
        free_value(Value::Set(big));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while freed() == before && std::time::Instant::now() < deadline { std::thread::sleep(std::time::Duration::from_millis(5)); }
        assert!(freed() > before);
        // A small value is freed at once.
        let small = freed();
        free_value(Value::Str(crate::types::string::StrVal::from_bytes(b"x")));
        assert_eq!(freed(), small);
    }
}
