//! One large database serialized by several threads (the save is CPU-bound, mostly memory
//! latency and LZF, so cores add up).
//!
//! The dict's bucket positions (`Dict::bucket_positions`: both arrays while a rehash runs) are
//! cut into contiguous ranges ("units"). The calling thread is the
//! writer: it hands units to the workers round-robin, a few ahead of the one it is writing, and
//! takes each unit's chunks from the worker that owns it, in unit order, so the file holds the
//! keys in bucket order exactly as a single thread writes them. Workers checksum their chunks
//! (see `Chunk`), so the writer only writes and chains CRCs; written buffers go back to their
//! worker for reuse. Memory in flight is bounded by `CHUNKS_QUEUED` chunks per worker.
//!
//! This runs in the forked child too: the threads are created there and share nothing with the
//! parent's threads (only the copy-on-write keyspace, read-only), and the channels, like
//! everything they lock, are created after the fork.

use std::io::{self, Write};
use std::ops::Range;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

use crate::keyspace::Table;
use crate::settings::Settings;

use super::save::{Chunk, RdbSink, ReadAhead, SaveOptions, ValueWriter};

/// Buckets per unit: small enough to balance two threads, and for a unit's output to fit in
/// the `CHUNKS_QUEUED` chunks its worker may buffer while the writer still drains the unit
/// before it (beyond that the worker waits: ~500 B per key of the mixed dataset make ~500 KB
/// here), big enough that the per-unit hand-over stays negligible (~120 KB of small strings).
const UNIT_BUCKETS: usize = 1 << 10;
/// Units handed to each worker ahead of the unit being written.
const UNITS_AHEAD_PER_WORKER: usize = 4;
/// Finished chunks a worker may queue before it waits for the writer.
const CHUNKS_QUEUED: usize = 4;

/// What to serialize and how.
pub(super) struct DbJob<'a> {
    pub dict: &'a Table,
    pub settings: &'a Settings,
    pub opts: &'a SaveOptions,
    pub threads: usize,
}

/// The writer's end of one worker.
struct WorkerLink {
    units: Sender<Range<usize>>,
    chunks: Receiver<Chunk>,
    spare: Sender<Vec<u8>>,
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
    let units: Vec<Range<usize>> =
        (0..buckets).step_by(UNIT_BUCKETS).map(|start| start..(start + UNIT_BUCKETS).min(buckets)).collect();
    thread::scope(|scope| {
        let mut workers = Vec::with_capacity(job.threads);
        for i in 0..job.threads {
            let (unit_tx, unit_rx) = mpsc::channel::<Range<usize>>();
            let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(CHUNKS_QUEUED);
            let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
            let mut writer = ValueWriter::new(job.opts.compress, job.settings);
            let (dict, checksum) = (job.dict, job.opts.checksum);
            let spawned = thread::Builder::new()
                .name(format!("rdb-save-{i}"))
                .spawn_scoped(scope, move || encode_units(dict, &mut writer, checksum, unit_rx, chunk_tx, spare_rx));
            // A thread that cannot be created (resource limits) only means fewer workers.
            if spawned.is_ok() {
                workers.push(WorkerLink { units: unit_tx, chunks: chunk_rx, spare: spare_tx });
            }
        }
        if workers.is_empty() {
            return Ok(false);
        }
        let ahead = UNITS_AHEAD_PER_WORKER * workers.len();
        let mut handed_out = 0;
        for current in 0..units.len() {
            while handed_out < units.len() && handed_out <= current + ahead {
                // A worker that is gone shows up below as a closed chunk channel.
                let _ = workers[handed_out % workers.len()].units.send(units[handed_out].clone());
                handed_out += 1;
            }
            let worker = &workers[current % workers.len()];
            loop {
                let mut chunk = worker
                    .chunks
                    .recv()
                    .map_err(|_| io::Error::other("an RDB serializing thread stopped unexpectedly"))?;
                let ends_unit = chunk.ends_unit;
                out.put(&mut chunk)?;
                progress(out.keys, out.written);
                let _ = worker.spare.send(chunk.bytes);
                if ends_unit {
                    break;
                }
            }
        }
        // Dropping the links closes the unit channels: the workers return and the scope joins.
        Ok(true)
    })
}

/// A worker: serializes each unit it is given into chunks, in bucket order, and hands them
/// over; returns when there are no more units or the writer is gone.
fn encode_units(
    dict: &Table,
    writer: &mut ValueWriter,
    checksum: bool,
    units: Receiver<Range<usize>>,
    chunks: SyncSender<Chunk>,
    spare: Receiver<Vec<u8>>,
) {
    let next_buffer = || spare.try_recv().unwrap_or_else(|_| Chunk::fresh_buffer());
    while let Ok(range) = units.recv() {
        let mut chunk = Chunk::new(next_buffer(), checksum);
        for entry in ReadAhead::new(dict.nodes_in_buckets_prefetching(range)) {
            writer.key_value(&mut chunk.bytes, entry);
            chunk.key_done();
            if chunk.is_full() {
                chunk.fold_crc();
                let full = std::mem::replace(&mut chunk, Chunk::new(next_buffer(), checksum));
                if chunks.send(full).is_err() {
                    return;
                }
            }
        }
        chunk.fold_crc();
        chunk.ends_unit = true;
        if chunks.send(chunk).is_err() {
            return;
        }
    }
}
