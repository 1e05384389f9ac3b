//! One large database serialized by several threads (the save is CPU-bound, mostly memory
//! latency and LZF, so cores add up).
//!
//! The dict's bucket positions (`Dict::bucket_positions`: both arrays while a rehash runs) are
//! cut into contiguous ranges ("units"). Each worker takes the next unit nobody has taken and
//! serializes its keys into chunks that end at key boundaries; the calling thread is the writer
//! and writes chunks in the order they are finished, whoever made them. An RDB file's keys
//! may come in any order, and a writer that took them in bucket order made every worker wait
//! whenever the other fell behind: perf sched of a 4M-key mixed save showed each worker
//! asleep 10-18% of the save waiting on the writer, whatever the queue depth. Workers checksum
//! their chunks (see `Chunk`), so the writer only writes and chains CRCs; written buffers go
//! back to their worker for reuse. Memory in flight is bounded by `CHUNKS_QUEUED` chunks per
//! worker.
//!
//! This runs in the forked child too: the threads are created there and share nothing with the
//! parent's threads (only the copy-on-write keyspace, read-only), and the channels, like
//! everything they lock, are created after the fork.

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

use crate::keyspace::Table;
use crate::settings::Settings;

use super::save::{Chunk, RdbSink, ReadAhead, SaveOptions, ValueWriter};

/// Buckets per unit: small enough that the last units balance the workers' ends, big enough
/// that taking a unit stays negligible (~120 KB of small strings, ~500 KB of the mixed dataset).
const UNIT_BUCKETS: usize = 1 << 10;
/// Finished chunks a worker may queue before it waits for the writer.
const CHUNKS_QUEUED: usize = 4;

/// What to serialize and how.
pub(super) struct DbJob<'a> {
    pub dict: &'a Table,
    pub settings: &'a Settings,
    pub opts: &'a SaveOptions,
    pub threads: usize,
}

/// Writes the database's keys (its SELECTDB/RESIZEDB already written) through `out`, calling
/// `progress(keys, bytes)` after each chunk. Ok(false) when no worker thread could be started:
/// nothing was written and the caller serializes the database itself.
pub(super) fn write_db<W: Write>(
    job: &DbJob<'_>,
    out: &mut RdbSink<'_, W>,
    progress: &mut impl FnMut(u64, u64),
) -> io::Result<bool> {
    let buckets = job.dict.bucket_positions();
    let units = buckets.div_ceil(UNIT_BUCKETS);
    let (next_unit, units_done) = (AtomicUsize::new(0), AtomicUsize::new(0));
    thread::scope(|scope| {
        // Each chunk comes with the index of the worker whose buffer it is.
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<(usize, Chunk)>(CHUNKS_QUEUED * job.threads);
        let mut spares: Vec<Sender<Vec<u8>>> = Vec::with_capacity(job.threads);
        for i in 0..job.threads {
            let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
            let mut writer = ValueWriter::new(job.opts.compress, job.settings);
            let (dict, checksum, chunks) = (job.dict, job.opts.checksum, chunk_tx.clone());
            let worker = Worker { index: spares.len(), dict, buckets, next_unit: &next_unit, units_done: &units_done, checksum, chunks, spare: spare_rx };
            let spawned = thread::Builder::new().name(format!("rdb-save-{i}")).spawn_scoped(scope, move || worker.run(&mut writer));
            // A thread that cannot be created (resource limits) only means fewer workers.
            if spawned.is_ok() {
                spares.push(spare_tx);
            }
        }
        // The workers hold the only senders left: the channel closes when the last one is done.
        drop(chunk_tx);
        if spares.is_empty() {
            return Ok(false);
        }
        for (owner, mut chunk) in chunk_rx.iter() {
            out.put(&mut chunk)?;
            progress(out.keys, out.written);
            let _ = spares[owner].send(chunk.bytes);
        }
        // The channel also closes when workers stop early (a panic), leaving keys unwritten.
        if units_done.load(Ordering::Acquire) < units {
            return Err(io::Error::other("an RDB serializing thread stopped unexpectedly"));
        }
        Ok(true)
    })
}

/// One serializing thread and what it shares with the others.
struct Worker<'a> {
    index: usize,
    dict: &'a Table,
    buckets: usize,
    next_unit: &'a AtomicUsize,
    units_done: &'a AtomicUsize,
    checksum: bool,
    chunks: SyncSender<(usize, Chunk)>,
    spare: Receiver<Vec<u8>>,
}

impl Worker<'_> {
    /// Serializes the units nobody has taken yet into chunks of whole keys and hands each over
    /// when full (the last one when no unit is left); returns early when the writer is gone.
    fn run(self, writer: &mut ValueWriter) {
        let next_buffer = || self.spare.try_recv().unwrap_or_else(|_| Chunk::fresh_buffer());
        let mut chunk = Chunk::new(next_buffer(), self.checksum);
        loop {
            let start = self.next_unit.fetch_add(1, Ordering::AcqRel).saturating_mul(UNIT_BUCKETS);
            if start >= self.buckets {
                break;
            }
            let range = start..(start + UNIT_BUCKETS).min(self.buckets);
            for entry in ReadAhead::new(self.dict.nodes_in_buckets_prefetching(range)) {
                writer.key_value(&mut chunk.bytes, entry);
                chunk.key_done();
                if chunk.is_full() {
                    chunk.fold_crc();
                    let full = std::mem::replace(&mut chunk, Chunk::new(next_buffer(), self.checksum));
                    if self.chunks.send((self.index, full)).is_err() {
                        return;
                    }
                }
            }
            self.units_done.fetch_add(1, Ordering::AcqRel);
        }
        if chunk.keys > 0 {
            chunk.fold_crc();
            let _ = self.chunks.send((self.index, chunk));
        }
    }
}
