// The append-only file as Redis 7.0 runs it (aof.c): a directory (`appenddirname`) holding a
// manifest, one base file (an RDB under aof-use-rdb-preamble, commands otherwise) and
// incremental files of propagated writes. This module appends what propagation hands it
// (src/propagate.ts), writes it before any reply of the event-loop iteration goes out
// (src/before-sleep.ts) and fsyncs it per `appendfsync`, runs BGREWRITEAOF through the
// one-child rule (children.ts; the child's work is native/src/aof), keeps the manifest, loads
// the files at start-up and serves INFO's aof_* fields. Log lines and replies are Redis's.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { User } from '../acl/user';
import { Client } from '../client';
import type { Config } from '../config';
import { strerror } from '../config/errors';
import type { LatencySink } from '../latency';
import type { Logger } from '../log';
import type { NativeAddon } from '../native';
import { PROPAGATE_AOF, type Propagation, type PropagationConsumer } from '../propagate';
import type { BeforeSleep } from '../before-sleep';
import { AofFiles } from './aof-files';
import { bgUnlink } from './bg-unlink';
import { AofWriter } from './aof-writer';
import { AofLoader, type AofLoadHost } from './aof-load';
import { AofManifest } from './aof-manifest';
import { oneLine, SIGUSR1, type ActiveChild, type ChildExit, type Children } from './children';
import { rdbWriteOptions } from './rdb';
import { autoAofRewriteTrigger } from './triggers';
import { consume } from '../config/consumers';

const APPENDONLY = consume('appendonly', 'test/server/aof.test.ts');
const APPENDFILENAME = consume('appendfilename', 'test/server/aof-options.test.ts');
const AOF_USE_RDB_PREAMBLE = consume('aof-use-rdb-preamble', 'test/server/aof-interop.test.ts');
const AOF_TIMESTAMP_ENABLED = consume('aof-timestamp-enabled', 'test/server/aof-options.test.ts');
const AOF_REWRITE_INCREMENTAL_FSYNC = consume('aof-rewrite-incremental-fsync', 'native/src/aof/rewrite.rs');
const AUTO_AOF_REWRITE_PERCENTAGE = consume('auto-aof-rewrite-percentage', 'test/server/aof.test.ts');
const AUTO_AOF_REWRITE_MIN_SIZE = consume('auto-aof-rewrite-min-size', 'test/server/aof.test.ts');
import { StartupAbort } from '../errors';

/** aof_state */
export type AofState = 'off' | 'on' | 'wait_rewrite';

/** AOF_REWRITE_LIMITE_THRESHOLD / _MAX_MINUTES: backing off after repeated rewrite failures. */
const REWRITE_LIMIT_THRESHOLD = 3;
const REWRITE_LIMIT_MAX_MINUTES = 60;
/** How long a shutdown or CONFIG SET appendonly no gives the rewrite child to die of SIGUSR1. */
const STOP_GRACE_MS = 100;

/** What the addon provides (a fake in unit tests). */
export type AofNative = Pick<NativeAddon, 'forkAofRewrite' | 'rewriteAof' | 'aofLoadOpen' | 'aofLoadRun' | 'aofLoadClose'>;

/** The part of the server the AOF works with. */
export interface AofHost extends AofLoadHost {
  readonly propagation: Propagation;
  readonly beforeSleep: BeforeSleep;
  /** EXEC runs (BGREWRITEAOF and enabling the AOF are deferred then). */
  inExec(): boolean;
  /** The latency monitor (aof-write*, aof-fsync-always, aof-rename, aof-fstat). */
  readonly latency: LatencySink;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

export class Aof {
  state: AofState = 'off';
  manifest: AofManifest;
  private readonly files: AofFiles;
  private readonly loader: AofLoader;
  private consumer: PropagationConsumer | null = null;
  /** The buffer, the file being appended to, fsync and write errors. */
  readonly writer: AofWriter;
  /** aof_rewrite_base_size */
  rewriteBaseSize = 0;
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
    this.files = new AofFiles(host.config, host.log, host.latency);
    this.writer = new AofWriter(host.config, host.log, () => children.busy(), host.latency);
    this.loader = new AofLoader(host, this.files, addon);
    this.manifest = new AofManifest(this.config.str(APPENDFILENAME));
    this.files.collectHistoryWhenGcEnabled(() => this.manifest);
    children.register('aof', {
      onExit: (child, exit) => this.rewriteDone(child, exit),
      startScheduled: () => this.startScheduledRewrite(),
    });
    host.beforeSleep.addTask(() => {
      if (this.state !== 'off') this.writer.flush(false);
    });
    host.beforeSleep.setGate(() => this.state !== 'off' && (this.writer.bufLen > 0 || host.propagation.waiting));
    this.config.onApply(APPENDONLY, (value) => {
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
    return this.files.dir;
  }

  private get rdbPreamble(): boolean {
    return this.config.bool(AOF_USE_RDB_PREAMBLE);
  }

  // ---------------------------------------------------------------------------------------
  // Appending

  /** feedAppendOnlyFile: what propagation hands the AOF consumer. */
  private feed(data: Buffer, start: number, end: number): void {
    if (!(this.state === 'on' || (this.state === 'wait_rewrite' && this.children.runningKind() === 'aof'))) return;
    if (this.config.bool(AOF_TIMESTAMP_ENABLED)) {
      const now = nowSec();
      if (this.curTimestamp < now) {
        this.curTimestamp = now;
        this.writer.append(Buffer.from(`#TS:${now}\r\n`));
      }
    }
    this.writer.append(data, start, end);
    this.host.beforeSleep.schedule();
  }

  private subscribe(): void {
    if (this.consumer) return;
    this.consumer = this.host.propagation.subscribe(PROPAGATE_AOF, { write: (d, s, e) => this.feed(d, s, e) });
  }

  private unsubscribe(): void {
    this.consumer?.unsubscribe();
    this.consumer = null;
  }

  /** writeCommandsDeniedByDiskError's AOF half: the MISCONF text, or null. */
  writeError(): string | null {
    return this.state === 'off' ? null : this.writer.writeError();
  }

  // ---------------------------------------------------------------------------------------
  // Loading and opening at start-up

  /**
   * Start-up with appendonly yes (loadDataFromDisk's AOF branch): the AOF is the only source
   * of data, never the RDB file. Throws StartupAbort when Redis would exit.
   */
  async loadAtStartup(): Promise<void> {
    const t0 = performance.now();
    const { result, totalSize, baseSize, manifest } = await this.loader.loadYielding(this.manifest);
    this.manifest = manifest;
    if (result === 'failed' || result === 'open_err') throw new StartupAbort('the append only file could not be loaded (see the log)');
    if (result !== 'not_exist') {
      this.log.notice(`DB loaded from append only file: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
      this.writer.currentSize = totalSize;
      this.writer.fsyncOffset = totalSize;
      this.rewriteBaseSize = baseSize;
    }
  }

  /** appendonly yes in the configuration (what start-up loads from). */
  configured(): boolean {
    return this.config.bool(APPENDONLY);
  }

  /** aof_state != AOF_OFF */
  enabled(): boolean {
    return this.state !== 'off';
  }

  /** aofLoadManifestFromDisk (at start-up whatever appendonly says, as Redis). */
  /** Start-up will load files: the AOF directory, or an old single-file AOF to upgrade, exists. */
  hasFilesToLoad(): boolean {
    return fs.existsSync(this.files.dir) || fs.existsSync(this.config.str(APPENDFILENAME));
  }

  /**
   * The bytes a start-up load will read, for INFO from the moment the server is loading (Redis
   * knows them when loading starts); 0 when the manifest cannot be read, which the load reports.
   */
  bytesToLoad(): number {
    const filename = this.config.str(APPENDFILENAME);
    const sizeOf = (name: string): number => fs.statSync(this.files.path(name)).size;
    try {
      const manifestFile = this.files.path(AofManifest.manifestName(filename));
      if (!fs.existsSync(manifestFile)) return fs.statSync(filename).size; // an old single-file AOF, in dir
      const manifest = AofManifest.parse(filename, fs.readFileSync(manifestFile, 'latin1'));
      return manifest.loadOrder().reduce((total, f) => total + sizeOf(f.name), 0);
    } catch {
      return 0;
    }
  }

  loadManifest(): void {
    this.manifest = this.files.loadManifest();
  }

  /** aofOpenIfNeededOnServerStart (appendonly yes), then aofDelHistoryFiles. */
  openOnServerStart(): void {
    if (this.config.bool(APPENDONLY)) {
      this.state = 'on';
      if (!this.files.createDir()) throw new StartupAbort(`cannot create ${this.dir}`);
      let dirty = false;
      const hadIncr = this.manifest.incr.length > 0;
      if (this.manifest.isEmpty) {
        const base = this.manifest.newBase(this.rdbPreamble);
        try {
          this.rewriteSync(this.files.path(base));
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
        this.writer.fd = fs.openSync(this.files.path(name), 'a', 0o644);
      } catch (err) {
        this.log.warning(`Can't open the append-only file ${name}: ${strerror(err)}`);
        throw new StartupAbort(`cannot open ${name}`);
      }
      if (dirty && !this.files.persistManifest(this.manifest)) throw new StartupAbort('cannot write the AOF manifest');
      this.writer.lastIncrSize = this.files.size(name) ?? 0;
      this.log.notice(`${hadIncr ? 'Opening' : 'Creating'} AOF incr file ${name} on server start`);
      this.subscribe();
    }
    this.files.deleteHistory(this.manifest);
  }

  /** The rewrite's settings: preamble, compression, checksum, incremental fsync, key delay, timestamp. */
  private rewriteOptions(): [boolean, boolean, boolean, boolean, number, boolean] {
    const cfg = this.config;
    const [compression, checksum, keySaveDelay] = rdbWriteOptions(cfg);
    return [this.rdbPreamble, compression, checksum, cfg.bool(AOF_REWRITE_INCREMENTAL_FSYNC), keySaveDelay, cfg.bool(AOF_TIMESTAMP_ENABLED)];
  }

  /** rewriteAppendOnlyFile in this process (the base written at start-up). */
  private rewriteSync(target: string): void {
    this.addon.rewriteAof(target, ...this.rewriteOptions());
  }

  /** DEBUG LOADAOF: flush, empty the keyspace, load the files again (Redis exits on failure). */
  debugLoad(flushAll: () => void): void {
    if (this.state === 'on') {
      this.host.propagation.drain();
      this.writer.flush(true);
    }
    flushAll();
    this.loadManifest();
    this.files.deleteHistory(this.manifest);
    const { result, manifest } = this.loader.load(this.manifest);
    this.manifest = manifest;
    if (result !== 'ok' && result !== 'empty') process.exit(1);
    this.log.warning('Append Only File loaded by DEBUG LOADAOF');
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
    this.writer.forgetErrors();
    return true;
  }

  /** stopAppendOnly */
  private stop(): void {
    this.host.propagation.drain();
    this.writer.flush(true);
    this.writer.syncNow('Fail to fsync the AOF file', true);
    this.unsubscribe();
    this.state = 'off';
    this.children.unschedule('aof');
    this.killChild();
    this.writer.discard();
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
      fd = fs.openSync(this.files.path(name), 'w', 0o644);
    } catch (err) {
      this.log.warning(`Can't open the append-only file ${name}: ${strerror(err)}`);
      return false;
    }
    if (next && !this.files.persistManifest(next)) {
      fs.closeSync(fd);
      return false;
    }
    this.log.notice(`Creating AOF incr file ${name} on background rewrite`);
    this.writer.switchTo(fd);
    if (next) this.manifest = next;
    return true;
  }

  /** rewriteAppendOnlyFileBackground */
  private startRewrite(trigger: string): boolean {
    if (this.children.busy()) return false;
    if (!this.files.createDir()) {
      this.lastBgrewriteOk = false;
      this.lastRewriteError = `can't create ${this.dir}`;
      return false;
    }
    // Everything executed before the fork belongs to the old file (the child has it too).
    this.host.propagation.drain();
    this.writer.flush(true);
    // Only then: the new file must begin with a SELECT (the drain above may have written one
    // to the old file, which would leave the new one without).
    this.consumer?.resetSelectedDb();
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
    for (const f of [`temp-rewriteaof-bg-${pid}.aof`, `temp-rewriteaof-${pid}.aof`]) bgUnlink(f);
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
      this.writer.discard();
      const temp = AofManifest.tempIncrName(this.manifest.filename);
      this.log.notice(`Removing the temp incr aof file ${temp} in the background`);
      bgUnlink(this.files.path(temp));
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

  /** A rename of the rewrite's outcome into place: the aof-rename latency event. */
  private timedRename(from: string, to: string): void {
    const start = performance.now();
    try {
      fs.renameSync(from, to);
    } finally {
      this.host.latency.addSampleIfNeeded('aof-rename', performance.now() - start);
    }
  }

  private rewriteSucceeded(child: ActiveChild): void {
    this.log.notice('Background AOF rewrite terminated with success');
    const tmp = `temp-rewriteaof-bg-${child.pid}.aof`;
    const next = this.manifest.clone();
    const baseName = next.newBase(this.rdbPreamble);
    const basePath = this.files.path(baseName);
    try {
      this.timedRename(tmp, basePath);
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
      incrPath = this.files.path(incrName);
      try {
        this.timedRename(this.files.path(tempIncr), incrPath);
      } catch (err) {
        this.log.warning(`Error trying to rename the temporary AOF incr file ${this.files.path(tempIncr)} into ${incrPath}: ${strerror(err)}`);
        bgUnlink(basePath);
        this.rewriteFailed(`renaming ${tempIncr}: ${strerror(err)}`);
        return;
      }
      this.log.notice(`Successfully renamed the temporary AOF incr file ${tempIncr} into ${incrName}`);
    }
    next.markRewrittenIncrAsHistory(this.writer.fd >= 0);
    if (!this.files.persistManifest(next)) {
      bgUnlink(basePath);
      if (incrPath) bgUnlink(incrPath);
      this.rewriteFailed('the manifest could not be written');
      return;
    }
    this.manifest = next;
    const w = this.writer;
    if (w.fd >= 0) {
      this.consumer?.resetSelectedDb();
      w.currentSize = (this.files.size(baseName) ?? 0) + w.lastIncrSize;
      this.rewriteBaseSize = w.currentSize;
      w.fsyncOffset = w.currentSize;
      w.lastFsync = nowSec();
    }
    this.lastCowSize = child.cowBytes;
    this.files.deleteHistory(this.manifest);
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
    if (this.writer.lastWriteOk || loops % hz === 0) this.writer.flush(false);
    if (this.state !== 'on' || this.children.busy() || this.children.isScheduled('aof')) return;
    const perc = this.config.int(AUTO_AOF_REWRITE_PERCENTAGE);
    const minSize = this.config.int(AUTO_AOF_REWRITE_MIN_SIZE);
    const current = this.writer.currentSize;
    if (perc && current > minSize) {
      const base = this.rewriteBaseSize || 1;
      const growth = Math.floor((current * 100) / base) - 100;
      if (growth >= perc && !this.rewriteLimited()) {
        this.log.notice(`Starting automatic rewriting of AOF on ${growth}% growth`);
        this.startRewrite(autoAofRewriteTrigger(this.rewriteBaseSize, current, perc));
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
      this.writer.flush(true);
      this.writer.syncNow('Fail to fsync the AOF file', false, '.');
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
      ['aof_last_write_status', this.writer.writeError() === null ? 'ok' : 'err'],
      ['aof_last_cow_size', this.lastCowSize],
    ];
  }

  /** The fields printed after module_fork_* while the AOF is on. */
  enabledInfoFields(): Array<[string, string | number]> {
    if (this.state === 'off') return [];
    return [
      ['aof_current_size', this.writer.currentSize],
      ['aof_base_size', this.rewriteBaseSize],
      ['aof_pending_rewrite', this.children.isScheduled('aof') ? 1 : 0],
      ['aof_buffer_length', this.writer.bufLen],
      ['aof_pending_bio_fsync', this.writer.pendingFsyncs],
      ['aof_delayed_fsync', this.writer.delayedFsync],
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
    this.writer.delayedFsync = 0;
    this.rewrites = 0;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A client that runs the AOF's commands: no socket, its replies are discarded, and no ACL
 * check applies (Redis's fake client has no user): `superuser` is the ACL's unrestricted user.
 */
export function createAofClient(superuser: User): Client {
  const client = new Client(new net.Socket(), () => 512 * 1024 * 1024);
  client.user = superuser;
  client.authenticated = true;
  client.isAofLoader = true;
  return client;
}
