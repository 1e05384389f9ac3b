// Writing the AOF's buffer to its current incremental file (aof.c's flushAppendOnlyFile):
// one write(2) of everything propagated since the last one, then an fsync per appendfsync
// (`always` here and now, `everysec` on libuv's threadpool once a second, with Redis's rule of
// postponing a write up to 2 s while a background fsync runs), and the write-error state that
// makes MISCONF refuse writes until a write succeeds again.
import * as fs from 'node:fs';
import type { Config } from '../config';
import { strerror } from '../config/errors';
import type { LatencySink } from '../latency';
import type { Logger } from '../log';
import { consume } from '../config/consumers';
import { sleepSync } from '../sleep';

const APPENDFSYNC = consume('appendfsync', 'test/server/aof-durability.test.ts', 'test/unit/aof-writer.test.ts');
const NO_APPENDFSYNC_ON_REWRITE = consume('no-appendfsync-on-rewrite', 'test/unit/aof-writer.test.ts');

/** AOF_WRITE_LOG_ERROR_RATE: seconds between two logged write errors. */
const WRITE_ERROR_LOG_RATE = 30;

const nowSec = (): number => Math.floor(Date.now() / 1000);

export class AofWriter {
  /** The incremental file being appended to (-1: none). */
  fd = -1;
  /** aof_buf */
  private buf = Buffer.allocUnsafe(64 * 1024);
  bufLen = 0;
  /** aof_current_size, aof_last_incr_size, aof_fsync_offset, aof_last_fsync */
  currentSize = 0;
  lastIncrSize = 0;
  fsyncOffset = 0;
  lastFsync = nowSec();
  private flushPostponedStart = 0;
  /** aof_delayed_fsync */
  delayedFsync = 0;
  /** Background fsyncs not finished (aof_pending_bio_fsync). */
  pendingFsyncs = 0;
  lastWriteOk = true;
  private lastWriteError = '';
  private lastWriteErrorLog = 0;
  /** DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write of a non-empty buffer. */
  flushSleepUsec = 0;
  /** A background fsync failed (aof_bio_fsync_status): its error text. */
  bioFsyncError: string | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    /** A child does its I/O (no-appendfsync-on-rewrite, the aof-write-active-child event). */
    private readonly childRunning: () => boolean,
    private readonly latency: LatencySink,
  ) {}

  append(data: Buffer, start = 0, end = data.length): void {
    const n = end - start;
    if (this.bufLen + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bufLen + n, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.bufLen);
      this.buf = bigger;
    }
    data.copy(this.buf, this.bufLen, start, end);
    this.bufLen += n;
  }

  /** Drops what was not written (a rewrite that will not be used, the AOF turned off). */
  discard(): void {
    this.bufLen = 0;
  }

  /** The MISCONF text while writes cannot be made durable, else null. */
  writeError(): string | null {
    if (!this.lastWriteOk) return `MISCONF Errors writing to the AOF file: ${this.lastWriteError}`;
    if (this.bioFsyncError !== null) return `MISCONF Errors writing to the AOF file: ${this.bioFsyncError}`;
    return null;
  }

  /** startAppendOnly forgets earlier errors, with Redis's lines. */
  forgetErrors(): void {
    this.lastFsync = nowSec();
    if (this.bioFsyncError !== null) {
      this.log.warning('AOF reopen, just ignore the AOF fsync error in bio job');
      this.bioFsyncError = null;
    }
    if (!this.lastWriteOk) {
      this.log.warning('AOF reopen, just ignore the last error.');
      this.lastWriteOk = true;
    }
  }

  /** Appends from now on to `fd` (the previous file is fsynced and closed in the background). */
  switchTo(fd: number): void {
    if (this.fd >= 0) {
      this.backgroundFsync(this.fd, true);
      this.fsyncOffset = this.currentSize;
      this.lastFsync = nowSec();
    }
    this.fd = fd;
    this.lastIncrSize = 0;
  }

  /** fsync now (CONFIG SET appendonly no, shutdown); `close` closes the file after. */
  syncNow(failure: string, close = false, period = ''): void {
    if (this.fd < 0) return;
    try {
      fs.fdatasyncSync(this.fd);
      this.fsyncOffset = this.currentSize;
      this.lastFsync = nowSec();
    } catch (err) {
      this.log.warning(`${failure}: ${strerror(err)}${period}`);
    }
    if (close) {
      fs.closeSync(this.fd);
      this.fd = -1;
      this.lastIncrSize = 0;
    }
  }

  /** aofWrite: write(2) until everything is written or it fails; the bytes written. */
  private writeAll(): { written: number; error: NodeJS.ErrnoException | null } {
    let written = 0;
    while (written < this.bufLen) {
      try {
        written += fs.writeSync(this.fd, this.buf, written, this.bufLen - written);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EINTR' || e.code === 'EAGAIN') continue;
        return { written, error: e };
      }
    }
    return { written, error: null };
  }

  /** aofFsyncInProgress */
  private fsyncInProgress(): boolean {
    return this.pendingFsyncs > 0;
  }

  /** aof_background_fsync: fdatasync on libuv's threadpool, off the event loop. */
  private backgroundFsync(fd: number, close = false): void {
    this.pendingFsyncs++;
    fs.fdatasync(fd, (err) => {
      this.pendingFsyncs--;
      if (err) this.bioFsyncError = strerror(err);
      else if (fd === this.fd) this.bioFsyncError = null;
      if (close) fs.close(fd, () => {});
    });
  }

  /**
   * flushAppendOnlyFile: writes the buffer (postponed up to 2 s while a background fsync runs
   * under everysec, unless `force`), then fsyncs per appendfsync.
   */
  flush(force: boolean): void {
    if (this.fd < 0) return;
    const policy = this.config.str(APPENDFSYNC);
    const now = nowSec();
    let syncInProgress = false;
    if (this.bufLen === 0) {
      // everysec: data written earlier but not yet fsynced still gets its fsync.
      if (policy === 'everysec' && this.fsyncOffset !== this.currentSize && now > this.lastFsync && !(syncInProgress = this.fsyncInProgress())) {
        this.fsyncAfterWrite(policy, now, syncInProgress);
      }
      return;
    }
    if (policy === 'everysec') syncInProgress = this.fsyncInProgress();
    if (policy === 'everysec' && !force && syncInProgress) {
      if (this.flushPostponedStart === 0) {
        this.flushPostponedStart = now;
        return;
      }
      if (now - this.flushPostponedStart < 2) return;
      this.delayedFsync++;
      this.log.notice(
        'Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.',
      );
    }
    sleepSync(this.flushSleepUsec / 1000);
    const writeStart = performance.now();
    let { written, error } = this.writeAll();
    const writeMs = performance.now() - writeStart;
    // Redis tells a write that waited behind a background fsync or shared the disk with a
    // child from one alone; aof-write has them all.
    this.latency.addSampleIfNeeded(syncInProgress ? 'aof-write-pending-fsync' : this.childRunning() ? 'aof-write-active-child' : 'aof-write-alone', writeMs);
    this.latency.addSampleIfNeeded('aof-write', writeMs);
    this.flushPostponedStart = 0;
    if (written !== this.bufLen) {
      const canLog = now - this.lastWriteErrorLog > WRITE_ERROR_LOG_RATE;
      if (canLog) this.lastWriteErrorLog = now;
      if (written === 0 && error) {
        if (canLog) this.log.warning(`Error writing to the AOF file: ${strerror(error)}`);
        this.lastWriteError = strerror(error);
      } else {
        if (canLog) this.log.warning(`Short write while writing to the AOF file: (nwritten=${written}, expected=${this.bufLen})`);
        try {
          fs.ftruncateSync(this.fd, this.lastIncrSize);
          written = 0; // nothing partial stays in the file
        } catch (err) {
          if (canLog) {
            this.log.warning(
              `Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: ${strerror(err)}`,
            );
          }
        }
        this.lastWriteError = strerror({ code: 'ENOSPC' });
      }
      if (policy === 'always') {
        // The replies are held, but the writes happened: a contract Redis keeps by exiting.
        this.log.warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
        process.exit(1);
      }
      this.lastWriteOk = false;
      if (written > 0) {
        this.currentSize += written;
        this.lastIncrSize += written;
        this.buf.copy(this.buf, 0, written, this.bufLen);
        this.bufLen -= written;
      }
      return;
    }
    if (!this.lastWriteOk) {
      this.log.warning('AOF write error looks solved, Redis can write again.');
      this.lastWriteOk = true;
    }
    this.currentSize += written;
    this.lastIncrSize += written;
    this.bufLen = 0;
    if (this.buf.length > 4 << 20) this.buf = Buffer.allocUnsafe(64 * 1024);
    this.fsyncAfterWrite(policy, now, syncInProgress);
  }

  private fsyncAfterWrite(policy: string, now: number, syncInProgress: boolean): void {
    // no-appendfsync-on-rewrite: no fsync while a child does its I/O.
    if (this.config.bool(NO_APPENDFSYNC_ON_REWRITE) && this.childRunning()) return;
    if (policy === 'always') {
      const fsyncStart = performance.now();
      try {
        fs.fdatasyncSync(this.fd);
      } catch (err) {
        this.log.warning(`Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${strerror(err)}. Exiting...`);
        process.exit(1);
      }
      this.latency.addSampleIfNeeded('aof-fsync-always', performance.now() - fsyncStart);
      this.fsyncOffset = this.currentSize;
      this.lastFsync = now;
    } else if (policy === 'everysec' && now > this.lastFsync) {
      if (!syncInProgress) {
        this.backgroundFsync(this.fd);
        this.fsyncOffset = this.currentSize;
      }
      this.lastFsync = now;
    }
  }

}
