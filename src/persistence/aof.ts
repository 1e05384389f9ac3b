// The append-only file as Redis 7.0 runs it (aof.c): a directory (`appenddirname`) holding a
// manifest, one base file (an RDB under aof-use-rdb-preamble, commands otherwise) and
// incremental files of propagated writes. This module appends what propagation hands it
// (src/propagate.ts), writes it before any reply of the event-loop iteration goes out
// (src/before-sleep.ts) and fsyncs it per `appendfsync`, runs BGREWRITEAOF through the
// one-child rule (children.ts; the child's work is native/src/aof), keeps the manifest, loads
// the files at start-up and serves INFO's aof_* fields. Log lines and replies are Redis's.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from '../client';
import type { Config } from '../config';
import { strerror } from '../config/errors';
import type { Logger } from '../log';
import { type NativeAddon, type RdbLoadReport } from '../native';
import { PROPAGATE_AOF, type Propagation, type PropagationConsumer } from '../propagate';
import type { BeforeSleep } from '../before-sleep';
import { AofManifest, ManifestError } from './aof-manifest';
import { oneLine, SIGUSR1, type ActiveChild, type ChildExit, type Children } from './children';
import { autoAofRewriteTrigger } from './triggers';
import { StartupAbort } from '../errors';

/** aof_state */
export type AofState = 'off' | 'on' | 'wait_rewrite';

/** AOF_REWRITE_LIMITE_THRESHOLD / _MAX_MINUTES: backing off after repeated rewrite failures. */
const REWRITE_LIMIT_THRESHOLD = 3;
const REWRITE_LIMIT_MAX_MINUTES = 60;
/** AOF_WRITE_LOG_ERROR_RATE: seconds between two logged write errors. */
const WRITE_ERROR_LOG_RATE = 30;
/** How long a shutdown or CONFIG SET appendonly no gives the rewrite child to die of SIGUSR1. */
const STOP_GRACE_MS = 100;

/** What the addon provides (a fake in unit tests). */
export type AofNative = Pick<NativeAddon, 'forkAofRewrite' | 'rewriteAof' | 'aofLoadOpen' | 'aofLoadRun' | 'aofLoadClose'>;

/** The part of the server the AOF works with. */
export interface AofHost {
  readonly config: Config;
  readonly log: Logger;
  readonly propagation: Propagation;
  readonly beforeSleep: BeforeSleep;
  /** The server is loading (clients get LOADING errors). */
  setLoading(on: boolean): void;
  /** EXEC runs (BGREWRITEAOF and enabling the AOF are deferred then). */
  inExec(): boolean;
  /** Runs a command the addon does not implement, in `db`, for the replay (a fake client). */
  runForeign(db: number, argv: Buffer[]): 'ok' | 'unknown';
  /** The RDB loader's log lines for a report (shared with rdb.ts). */
  logRdbReport(report: RdbLoadReport): void;
}

/** loadAppendOnlyFiles' results. */
type LoadResult = 'ok' | 'not_exist' | 'empty' | 'open_err' | 'failed' | 'truncated';

const nowSec = (): number => Math.floor(Date.now() / 1000);

export class Aof {
  state: AofState = 'off';
  manifest: AofManifest;
  private fd = -1;
  private consumer: PropagationConsumer | null = null;
  /** aof_buf */
  private buf = Buffer.allocUnsafe(64 * 1024);
  private bufLen = 0;
  /** aof_current_size, aof_last_incr_size, aof_rewrite_base_size, aof_fsync_offset */
  currentSize = 0;
  private lastIncrSize = 0;
  rewriteBaseSize = 0;
  private fsyncOffset = 0;
  private lastFsync = nowSec();
  private flushPostponedStart = 0;
  /** aof_delayed_fsync */
  delayedFsync = 0;
  /** Background fsyncs not finished (aof_pending_bio_fsync). */
  pendingFsyncs = 0;
  lastWriteOk = true;
  private lastWriteError = '';
  private lastWriteErrorLog = 0;
  /** A background fsync failed (aof_bio_fsync_status): its error text. */
  private bioFsyncError: string | null = null;
  /** The #TS annotation's last second (aof-timestamp-enabled). */
  private curTimestamp = 0;
  // Rewrites
  private rewriteTimeStart = -1;
  rewriteTimeLast = -1;
  lastBgrewriteOk = true;
  rewrites = 0;
  consecutiveFailures = 0;
  lastCowSize = 0;
  /** Why the last rewrite failed, empty after a success (keyfork_last_aof_rewrite_error). */
  lastRewriteError = '';
  private limitDelayMinutes = 0;
  private limitNextTime = 0;

  constructor(
    private readonly host: AofHost,
    private readonly children: Children,
    private readonly addon: AofNative,
    /** Called before each fork (the process-exit hook that stops children). */
    private readonly onFork: () => void = () => {},
  ) {
    this.manifest = new AofManifest(this.config.get('appendfilename'));
    children.register('aof', {
      onExit: (child, exit) => this.rewriteDone(child, exit),
      startScheduled: () => this.startScheduledRewrite(),
    });
    host.beforeSleep.addTask(() => {
      if (this.state !== 'off') this.flush(false);
    });
    host.beforeSleep.setGate(() => this.state !== 'off' && (this.bufLen > 0 || host.propagation.waiting));
    this.config.onApply('appendonly', (value) => {
      if (value === 'yes' && this.state === 'off') {
        if (!this.start()) throw new Error('Unable to turn on AOF. Check server logs.');
      } else if (value === 'no' && this.state !== 'off') {
        this.stop();
      }
    });
  }

  private get config(): Config {
    return this.host.config;
  }

  private get log(): Logger {
    return this.host.log;
  }

  private get dir(): string {
    return this.config.get('appenddirname');
  }

  private filePath(name: string): string {
    return path.join(this.dir, name);
  }

  private get rdbPreamble(): boolean {
    return this.config.bool('aof-use-rdb-preamble');
  }

  // ---------------------------------------------------------------------------------------
  // Appending

  /** feedAppendOnlyFile: what propagation hands the AOF consumer. */
  private feed(data: Buffer, start: number, end: number): void {
    if (!(this.state === 'on' || (this.state === 'wait_rewrite' && this.children.runningKind() === 'aof'))) return;
    if (this.config.bool('aof-timestamp-enabled')) {
      const now = nowSec();
      if (this.curTimestamp < now) {
        this.curTimestamp = now;
        this.append(Buffer.from(`#TS:${now}\r\n`), 0, -1);
      }
    }
    this.append(data, start, end);
    this.host.beforeSleep.schedule();
  }

  private append(data: Buffer, start: number, end: number): void {
    if (end < 0) end = data.length;
    const n = end - start;
    if (this.bufLen + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bufLen + n, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.bufLen);
      this.buf = bigger;
    }
    data.copy(this.buf, this.bufLen, start, end);
    this.bufLen += n;
  }

  private subscribe(): void {
    if (this.consumer) return;
    this.consumer = this.host.propagation.subscribe(PROPAGATE_AOF, { write: (d, s, e) => this.feed(d, s, e) });
  }

  private unsubscribe(): void {
    this.consumer?.unsubscribe();
    this.consumer = null;
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
    const policy = this.config.get('appendfsync');
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
    let { written, error } = this.writeAll();
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
    if (this.config.bool('no-appendfsync-on-rewrite') && this.children.busy()) return;
    if (policy === 'always') {
      try {
        fs.fdatasyncSync(this.fd);
      } catch (err) {
        this.log.warning(`Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${strerror(err)}. Exiting...`);
        process.exit(1);
      }
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

  /** writeCommandsDeniedByDiskError's AOF half: the MISCONF text, or null. */
  writeError(): string | null {
    if (this.state === 'off') return null;
    if (!this.lastWriteOk) return `MISCONF Errors writing to the AOF file: ${this.lastWriteError}`;
    if (this.bioFsyncError !== null) return `MISCONF Errors writing to the AOF file: ${this.bioFsyncError}`;
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // The manifest on disk

  /** writeAofManifestFile: temp file, fsync, rename, fsync the directory. False on failure (logged). */
  private persistManifest(m: AofManifest): boolean {
    const name = AofManifest.manifestName(m.filename);
    const tmpName = AofManifest.tempManifestName(m.filename);
    const tmp = this.filePath(tmpName);
    let fd = -1;
    try {
      try {
        fd = fs.openSync(tmp, 'w', 0o644);
      } catch (err) {
        this.log.warning(`Can't open the AOF manifest file ${tmpName}: ${strerror(err)}`);
        return false;
      }
      try {
        fs.writeSync(fd, m.format());
      } catch (err) {
        this.log.warning(`Error trying to write the temporary AOF manifest file ${tmpName}: ${strerror(err)}`);
        return false;
      }
      try {
        fs.fsyncSync(fd);
      } catch (err) {
        this.log.warning(`Fail to fsync the temp AOF file ${tmpName}: ${strerror(err)}.`);
        return false;
      }
      try {
        fs.renameSync(tmp, this.filePath(name));
      } catch (err) {
        this.log.warning(`Error trying to rename the temporary AOF manifest file ${tmpName} into ${name}: ${strerror(err)}`);
        return false;
      }
      if (!fsyncDir(this.dir)) {
        this.log.warning(`Fail to fsync AOF directory ${this.filePath(name)}.`);
        return false;
      }
      return true;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  private createDir(): boolean {
    try {
      fs.mkdirSync(this.dir, { recursive: false, mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        this.log.warning(`Can't open or create append-only dir ${this.dir}: ${strerror(err)}`);
        return false;
      }
    }
    return true;
  }

  /** aofDelHistoryFiles: history files go (in the background), then the manifest says so. */
  private deleteHistoryFiles(): void {
    if (this.config.bool('aof-disable-auto-gc') || this.manifest.history.length === 0) return;
    for (const f of this.manifest.history) {
      this.log.notice(`Removing the history file ${f.name} in the background`);
      fs.unlink(this.filePath(f.name), () => {});
    }
    this.manifest.history = [];
    this.persistManifest(this.manifest);
  }

  /** aofLoadManifestFromDisk: a missing directory or manifest is an empty one; a bad one is fatal. */
  loadManifest(): void {
    this.manifest = new AofManifest(this.config.get('appendfilename'));
    if (!isDir(this.dir)) {
      this.log.debug(`The AOF directory ${this.dir} doesn't exist`);
      return;
    }
    const name = AofManifest.manifestName(this.manifest.filename);
    const file = this.filePath(name);
    if (!fs.existsSync(file)) {
      this.log.debug(`The AOF manifest file ${name} doesn't exist`);
      return;
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch (err) {
      this.log.warning(`Fatal error: can't open the AOF manifest file ${file} for reading: ${strerror(err)}`);
      throw new StartupAbort(`cannot read ${path.resolve(file)}: ${strerror(err)}`);
    }
    try {
      this.manifest = AofManifest.parse(this.manifest.filename, text);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      this.log.warning('\n*** FATAL AOF MANIFEST FILE ERROR ***\n');
      if (err.line !== null) {
        this.log.warning(`Reading the manifest file, at line ${err.lineNumber}\n`);
        this.log.warning(`>>> '${err.line}'\n`);
      }
      this.log.warning(`${err.message}\n`);
      throw new StartupAbort(`bad AOF manifest ${path.resolve(file)}: ${err.message}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Loading

  private fileSize(name: string): number | null {
    try {
      return fs.statSync(this.filePath(name)).size;
    } catch (err) {
      this.log.warning(`Unable to obtain the AOF file ${name} length. stat: ${strerror(err)}`);
      return null;
    }
  }

  /** loadAppendOnlyFiles: the base, then each incremental file, into the keyspace. */
  private loadFiles(): { result: LoadResult; totalSize: number; baseSize: number } {
    const filename = this.manifest.filename;
    const m = this.manifest;
    if (fs.existsSync(filename)) {
      const upgrade =
        !isDir(this.dir) ||
        m.isEmpty ||
        (m.base !== null && m.incr.length === 0 && m.base.name === filename && !fs.existsSync(this.filePath(filename)));
      if (upgrade) this.upgradeOldFile();
    }
    if (this.manifest.isEmpty) return { result: 'not_exist', totalSize: 0, baseSize: 0 };
    const files = this.manifest.loadOrder();
    let totalSize = 0;
    for (const f of files) {
      const size = this.fileSize(f.name);
      if (size === null) return { result: 'failed', totalSize: 0, baseSize: 0 };
      totalSize += size;
    }
    if (totalSize === 0) return { result: 'empty', totalSize: 0, baseSize: 0 };
    let result: LoadResult = 'ok';
    let baseSize = 0;
    this.host.setLoading(true);
    try {
      for (let i = 0; i < files.length; i++) {
        const f = files[i];
        const last = i === files.length - 1;
        const isBase = f.type === 'b';
        if (isBase) baseSize = this.fileSize(f.name) ?? 0;
        const t0 = performance.now();
        let r = this.loadSingleFile(f.name);
        if (r === 'ok' || (r === 'truncated' && last)) {
          this.log.notice(`DB loaded from ${isBase ? 'base' : 'incr'} file ${f.name}: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
        }
        if (r === 'empty' && !isBase) r = 'ok';
        if (r === 'truncated' && !last) {
          r = 'failed';
          this.log.warning('Fatal error: the truncated file is not the last file');
        }
        result = r;
        if (r === 'open_err' || r === 'failed') break;
      }
    } finally {
      this.host.setLoading(false);
    }
    return { result, totalSize, baseSize };
  }

  /** aofUpgradePrepare: the old single file moves into the directory as its base. */
  private upgradeOldFile(): void {
    const filename = this.manifest.filename;
    if (!this.createDir()) throw new StartupAbort(`cannot create ${this.dir}`);
    const m = AofManifest.upgraded(filename);
    if (!this.persistManifest(m)) throw new StartupAbort('cannot write the AOF manifest');
    try {
      fs.renameSync(filename, this.filePath(filename));
    } catch (err) {
      this.log.warning(`Error trying to move the old AOF file ${filename} into dir ${this.dir}: ${strerror(err)}`);
      throw new StartupAbort(`cannot move ${filename} into ${this.dir}`);
    }
    this.manifest = m;
    this.log.notice(`Successfully migrated an old-style AOF file (${filename}) into the AOF directory (${this.dir}).`);
  }

  /** loadSingleAppendOnlyFile with Redis's log lines. */
  private loadSingleFile(name: string): LoadResult {
    const file = this.filePath(name);
    const oldStyle = name === this.manifest.filename;
    const opened = this.addon.aofLoadOpen(file);
    if (opened.status === 'not_exist') {
      this.log.warning(`The append log file ${name} doesn't exist: ${opened.error}`);
      return 'not_exist';
    }
    if (opened.status === 'open_error') {
      this.log.warning(`Fatal error: can't open the append log file ${name} for reading: ${opened.error}`);
      return 'open_err';
    }
    if (opened.status === 'empty') return 'empty';
    if (opened.status === 'rdb_failed' || opened.rdb) {
      this.log.notice(oldStyle ? 'Reading RDB preamble from AOF file...' : 'Reading RDB base file on AOF loading...');
    }
    if (opened.status === 'rdb_failed') {
      this.log.warning(opened.error ?? 'RDB loading failed');
      this.log.warning(
        oldStyle
          ? `Error reading the RDB preamble of the AOF file ${name}, AOF loading aborted`
          : `Error reading the RDB base file ${name}, AOF loading aborted`,
      );
      return 'failed';
    }
    try {
      if (opened.rdb) {
        this.host.logRdbReport(opened.rdb);
        if (oldStyle) this.log.notice('Reading the remaining AOF tail...');
      }
      for (;;) {
        const step = this.addon.aofLoadRun();
        switch (step.step) {
          case 'done':
            return 'ok';
          case 'foreign': {
            const argv = step.argv ?? [];
            if (this.host.runForeign(step.db ?? 0, argv) === 'unknown') {
              this.log.warning(`Unknown command '${argv[0]?.toString('latin1') ?? ''}' reading the append only file ${name}`);
              return 'failed';
            }
            continue;
          }
          case 'read_error':
            this.log.warning(`Unrecoverable error reading the append only file ${name}: ${step.error}`);
            return 'failed';
          case 'format':
            this.log.warning(
              `Bad file format reading the append only file ${name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>`,
            );
            return 'failed';
          case 'eof_in_multi':
            this.log.warning(`Revert incomplete MULTI/EXEC transaction in AOF file ${name}`);
            return this.truncated(name, file, step.validBeforeMulti);
          case 'truncated':
            return this.truncated(name, file, step.validUpTo);
        }
      }
    } finally {
      this.addon.aofLoadClose();
    }
  }

  /** An unexpected end of file: cut it at the last whole command under aof-load-truncated. */
  private truncated(name: string, file: string, validUpTo: number): LoadResult {
    if (this.config.bool('aof-load-truncated')) {
      this.log.warning(`!!! Warning: short read while loading the AOF file ${name}!!!`);
      this.log.warning(`!!! Truncating the AOF ${name} at offset ${validUpTo} !!!`);
      try {
        fs.truncateSync(file, validUpTo);
        this.log.warning(`AOF ${name} loaded anyway because aof-load-truncated is enabled`);
        return 'truncated';
      } catch (err) {
        this.log.warning(`Error truncating the AOF file ${name}: ${strerror(err)}`);
      }
    }
    this.log.warning(
      `Unexpected end of file reading the append only file ${name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`,
    );
    return 'failed';
  }

  /**
   * Start-up with appendonly yes (loadDataFromDisk's AOF branch): the AOF is the only source
   * of data, never the RDB file. Throws StartupAbort when Redis would exit.
   */
  loadAtStartup(): void {
    const t0 = performance.now();
    const { result, totalSize, baseSize } = this.loadFiles();
    if (result === 'failed' || result === 'open_err') throw new StartupAbort('the append only file could not be loaded (see the log)');
    if (result !== 'not_exist') {
      this.log.notice(`DB loaded from append only file: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
      this.currentSize = totalSize;
      this.rewriteBaseSize = baseSize;
      this.fsyncOffset = totalSize;
    }
  }

  /** aofOpenIfNeededOnServerStart (appendonly yes), then aofDelHistoryFiles. */
  openOnServerStart(): void {
    if (this.config.bool('appendonly')) {
      this.state = 'on';
      if (!this.createDir()) throw new StartupAbort(`cannot create ${this.dir}`);
      let dirty = false;
      const hadIncr = this.manifest.incr.length > 0;
      if (this.manifest.isEmpty) {
        const base = this.manifest.newBase(this.rdbPreamble);
        try {
          this.rewriteSync(this.filePath(base));
        } catch (err) {
          this.log.warning(errorText(err));
          throw new StartupAbort(`cannot write the AOF base file: ${errorText(err)}`);
        }
        this.log.notice(`Creating AOF base file ${base} on server start`);
        dirty = true;
      }
      const { name, created } = this.manifest.lastIncr();
      dirty ||= created;
      try {
        this.fd = fs.openSync(this.filePath(name), 'a', 0o644);
      } catch (err) {
        this.log.warning(`Can't open the append-only file ${name}: ${strerror(err)}`);
        throw new StartupAbort(`cannot open ${name}`);
      }
      if (dirty && !this.persistManifest(this.manifest)) throw new StartupAbort('cannot write the AOF manifest');
      this.lastIncrSize = fs.fstatSync(this.fd).size;
      this.log.notice(`${hadIncr ? 'Opening' : 'Creating'} AOF incr file ${name} on server start`);
      this.subscribe();
    }
    this.deleteHistoryFiles();
  }

  /** The rewrite's settings: preamble, compression, checksum, incremental fsync, key delay, timestamp. */
  private rewriteOptions(): [boolean, boolean, boolean, boolean, number, boolean] {
    const cfg = this.config;
    return [this.rdbPreamble, cfg.bool('rdbcompression'), cfg.bool('rdbchecksum'), cfg.bool('aof-rewrite-incremental-fsync'),
      cfg.int('rdb-key-save-delay'), cfg.bool('aof-timestamp-enabled')];
  }

  /** rewriteAppendOnlyFile in this process (the base written at start-up). */
  private rewriteSync(target: string): void {
    this.addon.rewriteAof(target, ...this.rewriteOptions());
  }

  /** DEBUG LOADAOF: flush, empty the keyspace, load the files again (Redis exits on failure). */
  debugLoad(flushAll: () => void): void {
    if (this.state === 'on') {
      this.host.propagation.drain();
      this.flush(true);
    }
    flushAll();
    this.loadManifest();
    this.deleteHistoryFiles();
    const { result } = this.loadFiles();
    if (result !== 'ok' && result !== 'empty') {
      this.log.warning('Error loading the append only file by DEBUG LOADAOF, exiting');
      process.exit(1);
    }
    this.log.notice('Append Only File loaded by DEBUG LOADAOF');
  }

  // ---------------------------------------------------------------------------------------
  // Turning it on and off (CONFIG SET appendonly)

  /** startAppendOnly */
  private start(): boolean {
    this.state = 'wait_rewrite';
    this.subscribe();
    const running = this.children.runningKind();
    if (running !== null && running !== 'aof') {
      this.children.schedule('aof', 'CONFIG SET appendonly yes');
      this.log.warning('AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.');
    } else if (this.host.inExec()) {
      this.children.schedule('aof', 'CONFIG SET appendonly yes');
      this.log.warning('AOF was enabled during a transaction. An AOF background was scheduled to start when possible.');
    } else {
      if (running === 'aof') {
        this.log.warning('AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.');
        this.killChild();
      }
      if (!this.startRewrite('CONFIG SET appendonly yes')) {
        this.state = 'off';
        this.unsubscribe();
        this.log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
        return false;
      }
    }
    this.lastFsync = nowSec();
    if (this.bioFsyncError !== null) {
      this.log.warning('AOF reopen, just ignore the AOF fsync error in bio job');
      this.bioFsyncError = null;
    }
    if (!this.lastWriteOk) {
      this.log.warning('AOF reopen, just ignore the last error.');
      this.lastWriteOk = true;
    }
    return true;
  }

  /** stopAppendOnly */
  private stop(): void {
    this.host.propagation.drain();
    this.flush(true);
    if (this.fd >= 0) {
      try {
        fs.fdatasyncSync(this.fd);
        this.fsyncOffset = this.currentSize;
        this.lastFsync = nowSec();
      } catch (err) {
        this.log.warning(`Fail to fsync the AOF file: ${strerror(err)}`);
      }
      fs.closeSync(this.fd);
    }
    this.fd = -1;
    this.unsubscribe();
    this.state = 'off';
    this.children.unschedule('aof');
    this.lastIncrSize = 0;
    this.killChild();
    this.bufLen = 0;
  }

  /** killAppendOnlyChild */
  private killChild(): void {
    const child = this.children.active;
    if (!child || child.kind !== 'aof') return;
    this.log.notice(`Killing running AOF rewrite child: ${child.pid}`);
    this.children.stopAndWait(STOP_GRACE_MS, false, 'the AOF being turned off');
    this.removeTempFiles(child.pid);
    this.rewriteTimeStart = -1;
  }

  // ---------------------------------------------------------------------------------------
  // Rewriting

  /** BGREWRITEAOF's reply (the command's whole logic; `trigger` names the client). */
  bgrewriteaof(trigger: string): { ok: boolean; text: string } {
    if (this.children.runningKind() === 'aof') return { ok: false, text: 'ERR Background append only file rewriting already in progress' };
    if (this.children.busy() || this.host.inExec()) {
      this.children.schedule('aof', trigger);
      // A manual request resets the back-off so that it runs at once.
      this.consecutiveFailures = 0;
      return { ok: true, text: 'Background append only file rewriting scheduled' };
    }
    if (this.startRewrite(trigger)) return { ok: true, text: 'Background append only file rewriting started' };
    return { ok: false, text: "ERR Can't execute an AOF background rewriting. Please check the server logs for more information." };
  }

  /** The cron starts a rewrite that waited for another child (unless backing off). */
  private startScheduledRewrite(): boolean {
    if (this.rewriteLimited()) return false;
    return this.startRewrite(this.children.scheduledTrigger('aof') ?? 'scheduled');
  }

  /** aofRewriteLimited: after 3 failures in a row, wait 1, 2, 4 ... 60 minutes between tries. */
  private rewriteLimited(): boolean {
    if (this.consecutiveFailures < REWRITE_LIMIT_THRESHOLD) {
      this.limitDelayMinutes = 0;
      this.limitNextTime = 0;
      return false;
    }
    const now = nowSec();
    if (this.limitNextTime !== 0) {
      if (now < this.limitNextTime) return true;
      this.limitNextTime = 0;
      return false;
    }
    this.limitDelayMinutes = this.limitDelayMinutes === 0 ? 1 : Math.min(this.limitDelayMinutes * 2, REWRITE_LIMIT_MAX_MINUTES);
    this.limitNextTime = now + this.limitDelayMinutes * 60;
    this.log.warning(`Background AOF rewrite has repeatedly failed and triggered the limit, will retry in ${this.limitDelayMinutes} minutes`);
    return true;
  }

  /**
   * openNewIncrAofForAppend: from the fork on, writes go to a new incremental file (a temporary
   * one while waiting for the first rewrite), so none is lost or counted twice.
   */
  private openNewIncr(): boolean {
    if (this.state === 'off') return true;
    let next: AofManifest | null = null;
    let name: string;
    if (this.state === 'wait_rewrite') {
      name = AofManifest.tempIncrName(this.manifest.filename);
    } else {
      next = this.manifest.clone();
      name = next.newIncr();
    }
    let fd: number;
    try {
      fd = fs.openSync(this.filePath(name), 'w', 0o644);
    } catch (err) {
      this.log.warning(`Can't open the append-only file ${name}: ${strerror(err)}`);
      return false;
    }
    if (next && !this.persistManifest(next)) {
      fs.closeSync(fd);
      return false;
    }
    this.log.notice(`Creating AOF incr file ${name} on background rewrite`);
    if (this.fd >= 0) {
      this.backgroundFsync(this.fd, true);
      this.fsyncOffset = this.currentSize;
      this.lastFsync = nowSec();
    }
    this.fd = fd;
    this.lastIncrSize = 0;
    if (next) this.manifest = next;
    return true;
  }

  /** rewriteAppendOnlyFileBackground */
  private startRewrite(trigger: string): boolean {
    if (this.children.busy()) return false;
    if (!this.createDir()) {
      this.lastBgrewriteOk = false;
      this.lastRewriteError = `can't create ${this.dir}`;
      return false;
    }
    this.consumer?.resetSelectedDb();
    // Everything executed before the fork belongs to the old file (the child has it too).
    this.host.propagation.drain();
    this.flush(true);
    if (!this.openNewIncr()) {
      this.lastBgrewriteOk = false;
      this.lastRewriteError = 'the new incremental file could not be opened';
      return false;
    }
    this.rewrites++;
    this.onFork();
    let child: ActiveChild;
    try {
      child = this.children.start('aof', trigger, () => {
        const [pid, readFd, forkUsec, totalKeys] = this.addon.forkAofRewrite(...this.rewriteOptions());
        return { pid, readFd, forkUsec, totalKeys };
      });
    } catch (err) {
      const text = errorText(err);
      const line = text.startsWith("Can't rewrite") ? text : `Can't rewrite append only file in background: fork: ${text}`;
      this.lastBgrewriteOk = false;
      this.lastRewriteError = line;
      this.log.warning(line);
      return false;
    }
    this.log.notice(`Background append only file rewriting started by pid ${child.pid}`);
    this.rewriteTimeStart = nowSec();
    return true;
  }

  private removeTempFiles(pid: number): void {
    for (const f of [`temp-rewriteaof-bg-${pid}.aof`, `temp-rewriteaof-${pid}.aof`]) fs.unlink(f, () => {});
  }

  /** backgroundRewriteDoneHandler */
  private rewriteDone(child: ActiveChild, exit: ChildExit): void {
    if (exit.signal === 0 && exit.code === 0) {
      this.rewriteSucceeded(child);
    } else if (exit.signal === 0) {
      this.rewriteFailed(child.lastWarning || `the child exited with code ${exit.code}`);
      this.log.warning('Background AOF rewrite terminated with error');
    } else {
      if (exit.signal !== SIGUSR1) this.rewriteFailed(`the child was terminated by signal ${exit.signal}`);
      this.log.warning(`Background AOF rewrite terminated by signal ${exit.signal}`);
    }
    this.removeTempFiles(child.pid);
    if (this.state === 'wait_rewrite') {
      // The writes kept for a rewrite that did not make it start over with the next one.
      this.bufLen = 0;
      const temp = AofManifest.tempIncrName(this.manifest.filename);
      this.log.notice(`Removing the temp incr aof file ${temp} in the background`);
      fs.unlink(this.filePath(temp), () => {});
    }
    this.rewriteTimeLast = this.rewriteTimeStart >= 0 ? nowSec() - this.rewriteTimeStart : -1;
    this.rewriteTimeStart = -1;
    if (this.state === 'wait_rewrite') this.children.schedule('aof', 'CONFIG SET appendonly yes (retry)');
  }

  private rewriteFailed(reason: string): void {
    this.lastBgrewriteOk = false;
    this.consecutiveFailures++;
    this.lastRewriteError = oneLine(reason);
  }

  private rewriteSucceeded(child: ActiveChild): void {
    this.log.notice('Background AOF rewrite terminated with success');
    const tmp = `temp-rewriteaof-bg-${child.pid}.aof`;
    const next = this.manifest.clone();
    const baseName = next.newBase(this.rdbPreamble);
    const basePath = this.filePath(baseName);
    try {
      fs.renameSync(tmp, basePath);
    } catch (err) {
      this.log.warning(`Error trying to rename the temporary AOF base file ${tmp} into ${basePath}: ${strerror(err)}`);
      this.rewriteFailed(`renaming ${tmp}: ${strerror(err)}`);
      return;
    }
    this.log.notice(`Successfully renamed the temporary AOF base file ${tmp} into ${baseName}`);
    let incrPath: string | null = null;
    if (this.state === 'wait_rewrite') {
      const tempIncr = AofManifest.tempIncrName(this.manifest.filename);
      const incrName = next.newIncr();
      incrPath = this.filePath(incrName);
      try {
        fs.renameSync(this.filePath(tempIncr), incrPath);
      } catch (err) {
        this.log.warning(`Error trying to rename the temporary AOF incr file ${this.filePath(tempIncr)} into ${incrPath}: ${strerror(err)}`);
        fs.unlink(basePath, () => {});
        this.rewriteFailed(`renaming ${tempIncr}: ${strerror(err)}`);
        return;
      }
      this.log.notice(`Successfully renamed the temporary AOF incr file ${tempIncr} into ${incrName}`);
    }
    next.markRewrittenIncrAsHistory(this.fd >= 0);
    if (!this.persistManifest(next)) {
      fs.unlink(basePath, () => {});
      if (incrPath) fs.unlink(incrPath, () => {});
      this.rewriteFailed('the manifest could not be written');
      return;
    }
    this.manifest = next;
    if (this.fd >= 0) {
      this.consumer?.resetSelectedDb();
      this.currentSize = (this.fileSize(baseName) ?? 0) + this.lastIncrSize;
      this.rewriteBaseSize = this.currentSize;
      this.fsyncOffset = this.currentSize;
      this.lastFsync = nowSec();
    }
    this.lastCowSize = child.cowBytes;
    this.deleteHistoryFiles();
    this.lastBgrewriteOk = true;
    this.consecutiveFailures = 0;
    this.lastRewriteError = '';
    this.log.notice('Background AOF rewrite finished successfully');
    if (this.state === 'wait_rewrite') this.state = 'on';
  }

  /** serverCron's AOF duties: postponed flushes, write-error retries, automatic rewrites. */
  cron(loops: number, hz: number): void {
    if (this.state === 'off') return;
    // A cron tick is an event-loop iteration too: postponed writes and everysec's fsync of
    // what was written earlier happen here when nothing else runs; after a write error the
    // retry is once a second.
    if (this.lastWriteOk || loops % hz === 0) this.flush(false);
    if (this.state !== 'on' || this.children.busy() || this.children.isScheduled('aof')) return;
    const perc = this.config.int('auto-aof-rewrite-percentage');
    const minSize = this.config.int('auto-aof-rewrite-min-size');
    if (perc && this.currentSize > minSize) {
      const base = this.rewriteBaseSize || 1;
      const growth = Math.floor((this.currentSize * 100) / base) - 100;
      if (growth >= perc && !this.rewriteLimited()) {
        this.log.notice(`Starting automatic rewriting of AOF on ${growth}% growth`);
        this.startRewrite(autoAofRewriteTrigger(this.rewriteBaseSize, this.currentSize, perc));
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Shutdown

  /** prepareForShutdown's AOF part; an error text when the shutdown must not happen. */
  prepareForShutdown(force: boolean): string | null {
    if (this.children.runningKind() === 'aof') {
      if (this.state === 'wait_rewrite') {
        if (!force) {
          this.log.warning("Writing initial AOF, can't exit.");
          return 'ERR Errors trying to SHUTDOWN. Check logs.';
        }
        this.log.warning('Writing initial AOF. Exit anyway.');
      }
      this.log.warning('There is a child rewriting the AOF. Killing it!');
      this.killChild();
    }
    if (this.state !== 'off') {
      this.log.notice('Calling fsync() on the AOF file.');
      this.host.propagation.drain();
      this.flush(true);
      try {
        if (this.fd >= 0) fs.fdatasyncSync(this.fd);
      } catch (err) {
        this.log.warning(`Fail to fsync the AOF file: ${strerror(err)}.`);
      }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // INFO

  /** The aof_* fields every server prints (aof_enabled .. aof_last_cow_size). */
  infoFields(): Array<[string, string | number]> {
    const running = this.children.runningKind() === 'aof';
    return [
      ['aof_enabled', this.state !== 'off' ? 1 : 0],
      ['aof_rewrite_in_progress', running ? 1 : 0],
      ['aof_rewrite_scheduled', this.children.isScheduled('aof') ? 1 : 0],
      ['aof_last_rewrite_time_sec', this.rewriteTimeLast],
      ['aof_current_rewrite_time_sec', running && this.rewriteTimeStart >= 0 ? nowSec() - this.rewriteTimeStart : -1],
      ['aof_last_bgrewrite_status', this.lastBgrewriteOk ? 'ok' : 'err'],
      ['aof_rewrites', this.rewrites],
      ['aof_rewrites_consecutive_failures', this.consecutiveFailures],
      ['aof_last_write_status', this.lastWriteOk && this.bioFsyncError === null ? 'ok' : 'err'],
      ['aof_last_cow_size', this.lastCowSize],
    ];
  }

  /** The fields printed after module_fork_* while the AOF is on. */
  enabledInfoFields(): Array<[string, string | number]> {
    if (this.state === 'off') return [];
    return [
      ['aof_current_size', this.currentSize],
      ['aof_base_size', this.rewriteBaseSize],
      ['aof_pending_rewrite', this.children.isScheduled('aof') ? 1 : 0],
      ['aof_buffer_length', this.bufLen],
      ['aof_pending_bio_fsync', this.pendingFsyncs],
      ['aof_delayed_fsync', this.delayedFsync],
    ];
  }

  /** keyfork's own fields about rewrites, after the save ones. */
  keyforkInfoFields(): Array<[string, string | number]> {
    return [
      ['keyfork_last_aof_rewrite_trigger', this.children.lastOf('aof')?.trigger ?? ''],
      ['keyfork_last_aof_rewrite_error', this.lastRewriteError],
    ];
  }

  /** CONFIG RESETSTAT */
  resetStats(): void {
    this.delayedFsync = 0;
    this.rewrites = 0;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isDir(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** fsyncFileDir */
function fsyncDir(dir: string): boolean {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
    return true;
  } catch {
    return false;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** A client that runs the AOF's commands: no socket, its replies are discarded. */
export function createAofClient(): Client {
  const client = new Client(new net.Socket(), () => 512 * 1024 * 1024, false);
  client.authenticated = true;
  return client;
}
