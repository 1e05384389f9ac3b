// RDB persistence as Redis 7.0 runs it: SAVE (in the foreground), BGSAVE (a forked child,
// see children.ts), save rules from the cron, LASTSAVE, the status that drives MISCONF, the
// start-up load, the final save at shutdown, DEBUG RELOAD, FLUSHALL's save, and the fields
// of INFO persistence. The file format itself is the addon's (native/src/persist).
import { StartupAbort } from '../errors';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';
import { consume } from '../config/consumers';
import type { Logger } from '../log';
import { argStr, ReplyError, type Ctx } from '../commands/types';
import { native, type ExpiredAtLoad, type RdbLoadReport } from '../native';
import type { LatencySink } from '../latency';
import type { Aof } from './aof';
import { bgUnlink } from './bg-unlink';
import { Children, oneLine, SIGUSR1, type ActiveChild, type ChildExit, type ChildSystem } from './children';
import { commandTrigger, saveRuleTrigger } from './triggers';

/** Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE, save rules wait this long. */
export const BGSAVE_RETRY_DELAY_SEC = 5;
/**
 * How long FLUSHALL and SHUTDOWN give a child to die of SIGUSR1 before SIGKILL. Short: they
 * block the server meanwhile, and a child that inherited the parent's signal handlers may
 * never act on SIGUSR1.
 */
const STOP_GRACE_MS = 100;

// The warnings of Redis 7.0's linuxMemoryWarnings (syscheck.c). The overcommit text is the one
// a Redis built without jemalloc prints; keyfork uses the system allocator (malloc=libc).
const OVERCOMMIT_WARNING =
  "Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition. To fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect.";
const THP_WARNING =
  "You have Transparent Huge Pages (THP) support enabled in your kernel. This will create latency and memory usage issues with Redis. To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, and add it to your /etc/rc.local in order to retain the setting after a reboot. Redis must be restarted after THP is disabled (set to 'madvise' or 'never').";

const DBFILENAME = consume('dbfilename', 'test/server/directives.test.ts');
const SAVE = consume('save', 'test/server/persistence.test.ts', 'test/unit/persistence.test.ts');
const STOP_WRITES_ON_BGSAVE_ERROR = consume('stop-writes-on-bgsave-error', 'test/unit/persistence.test.ts');
// How an RDB is written, for every writer: BGSAVE/SAVE here, the diskless sync's child
// (replication/master.ts) and an AOF rewrite's preamble (aof.ts), through rdbWriteOptions.
const RDBCOMPRESSION = consume('rdbcompression', 'test/server/directives.test.ts', 'test/server/debug-object.test.ts', 'test/server/replication.test.ts');
const RDBCHECKSUM = consume('rdbchecksum', 'test/server/directives.test.ts', 'test/server/replication.test.ts');
const RDB_KEY_SAVE_DELAY = consume('rdb-key-save-delay', 'test/server/persistence.test.ts', 'test/server/replication-faults.test.ts', 'test/server/aof.test.ts');
const RDB_DEL_SYNC_FILES = consume('rdb-del-sync-files', 'test/unit/persistence.test.ts');
const LOGLEVEL = consume('loglevel', 'test/unit/persistence.test.ts');
const LOADING_PROCESS_EVENTS_INTERVAL_BYTES = consume('loading-process-events-interval-bytes', 'test/server/loading.test.ts');
const DISABLE_THP = consume('disable-thp', 'test/unit/persistence.test.ts');

const RDB_MISCONF =
  "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/** The RDB format half of the addon. */
export interface RdbEngine {
  /**
   * Forks a child that writes temp-<pid>.rdb and renames it over `filename`: [pid, readFd,
   * forkUsec, totalKeys]. `repl` is the replication position written as AUX fields.
   */
  forkRdb(filename: string, compress: boolean, checksum: boolean, keySaveDelayUs: number, ...repl: ReplSaveInfo | []): [number, number, number, number];
  /** Saves in this process: [keys, bytes]; throws with the reason as its message. */
  saveRdb(filename: string, compress: boolean, checksum: boolean, keySaveDelay: number, ...repl: ReplSaveInfo | []): [number, number];
  /** Loads a file into the keyspace (`allowDup`: its keys replace those present); throws with the reason as its message. */
  loadRdb(file: string, allowDup?: boolean, expired?: 'drop' | 'keep'): RdbLoadReport;
  /**
   * The same load in slices: begin returns the payload's size, step the bytes loaded (-1:
   * done). `replica`: a replica's full sync, into a fresh keyspace that end() swaps in (true)
   * only when the whole payload loaded. `expired`: see ExpiredAtLoad (a number: the DELs' cap).
   */
  loadRdbBegin?(source: string | Buffer, allowDup?: boolean, replica?: boolean, expired?: 'drop' | 'keep' | number, feedUnlink?: boolean): number;
  loadRdbStep?(bytes: number): number;
  loadRdbReport?(): RdbLoadReport;
  loadRdbEnd?(): boolean;
  /** redis-check-rdb's report on `file`, which it names `name` (persist/check.rs). */
  rdbCheckReport?(file: string, name: string): string[];
}

/**
 * Load failures Redis reports without redis-check-rdb (a bad header, a database index or a
 * duplicated key it refuses outright); any other failure is followed by the check's report.
 */
const FAILURES_WITHOUT_REPORT = ['Wrong signature', "Can't handle RDB format version", 'RDB has duplicated key', 'FATAL: Data file was created'];

/** The replication position an RDB is saved at: [repl-stream-db, repl-id, repl-offset]. */
export type ReplSaveInfo = [number, string, number];

/** The start-up load in progress, for INFO's loading_* fields. */
interface LoadingProgress {
  /** Unix seconds. */
  startTime: number;
  totalBytes: number;
  loadedBytes: number;
  /** The file's used-mem AUX field, 0 when absent. */
  rdbUsedMem: number;
}

/** What Persistence needs from the rest of the process (the addon, by default). */
export interface PersistenceDeps {
  system: ChildSystem;
  /** The format engine; throws when the addon lacks it. */
  engine(): RdbEngine;
  dirty(): number;
  subtractDirty(n: number): void;
  /**
   * Empties every database and the function libraries (DEBUG RELOAD, DEBUG LOADAOF, as Redis's
   * emptyData) without counting the removed keys as changes or propagating a FLUSHALL.
   */
  flushAll(): void;
  /** prctl(PR_SET_THP_DISABLE); true when THP is now off for this process. */
  disableThp(): boolean;
  /** First line of a /proc or /sys file, null when it cannot be read. */
  readSystemFile(file: string): string | null;
  /** Bytes an unprivileged process may still write in directory `dir`, -1 when unknown. */
  freeBytes(dir: string): number;
  /** Size of `file`, -1 when it does not exist. */
  fileBytes(file: string): number;
  now(): number;
}

/** The part of the Server persistence uses. */
export interface PersistenceHost {
  readonly config: Config;
  readonly log: Logger;
  loading: boolean;
  readonly asyncLoading: boolean;
  /** >0 while EXEC runs queued commands (BGSAVE is scheduled then, as Redis does). */
  execDepth: number;
  /** The latency monitor (rdb-unlink-temp-file). */
  readonly latency?: LatencySink;
  /** A replica's loads keep the keys whose TTL passed (its master's DELs remove them). */
  readonly replication?: { isReplica(): boolean };
}

function nativeEngine(): RdbEngine {
  const { forkRdb, saveRdb, loadRdb } = native;
  if (typeof forkRdb !== 'function' || typeof saveRdb !== 'function' || typeof loadRdb !== 'function') {
    throw new Error('the native addon has no RDB engine (rebuild it with npm run build:native)');
  }
  return native as unknown as RdbEngine;
}

function nativeFlushAll(): void {
  native.emptyData();
  native.functionsFlush();
}

function readFirstLine(file: string): string | null {
  try {
    return fs.readFileSync(file, 'latin1').split('\n')[0];
  } catch {
    return null;
  }
}

/** 0 when the file went away meanwhile: the load that follows reports that. */
function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function nativeDeps(): PersistenceDeps {
  return {
    system: native,
    engine: nativeEngine,
    dirty: () => native.dirty(),
    subtractDirty: (n) => native.subtractDirty(n),
    flushAll: nativeFlushAll,
    disableThp: () => native.disableThp(),
    readSystemFile: readFirstLine,
    freeBytes: (dir) => {
      try {
        const st = fs.statfsSync(dir);
        return st.bavail * st.bsize;
      } catch {
        return -1;
      }
    },
    fileBytes: (file) => {
      try {
        return fs.statSync(file).size;
      } catch {
        return -1;
      }
    },
    now: Date.now,
  };
}

/** Instances that forked at least once, for the process exit hook (one listener for all). */
const withChildren = new Set<Persistence>();
let exitHookInstalled = false;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A start-up load that failed, with the lines Redis logs for it. */
/**
 * rdbcompression, rdbchecksum and rdb-key-save-delay as the addon's RDB writers take them:
 * every RDB keyfork writes (a save, a replica's sync, an AOF rewrite's preamble) reads them here.
 */
export function rdbWriteOptions(config: Config): [compression: boolean, checksum: boolean, keySaveDelay: number] {
  return [config.bool(RDBCOMPRESSION), config.bool(RDBCHECKSUM), config.int(RDB_KEY_SAVE_DELAY)];
}

class RdbLoadFailure extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('; '));
  }
}

/**
 * Redis 7.0's words for a failed load (rdbLoad's messages and rdbReportError's "Internal error
 * in RDB reading offset <loaded bytes>, function at rdb.c:<line> -> <reason>", with 7.0.15's
 * line numbers), which log watchers written for Redis look for; keyfork's own detail follows.
 */
export function loadFailureLines(message: string, loadedBytes: number): string[] {
  const internal = (line: number, reason: string) => `Internal error in RDB reading offset ${loadedBytes}, function at rdb.c:${line} -> ${reason}`;
  if (message.startsWith('Wrong RDB checksum')) return [message, internal(3225, 'RDB CRC error')];
  if (message.startsWith('Unexpected EOF') || message.startsWith('Short read')) {
    const detail = message.startsWith('Short read') ? [] : [message];
    return ['Short read or OOM loading DB. Unrecoverable error, aborting now.', internal(3249, 'Unexpected EOF reading RDB file'), ...detail];
  }
  return [message];
}

export class Persistence {
  readonly children: Children;
  /** Status of the last background save (rdb_last_bgsave_status). */
  lastBgsaveOk = true;
  /** Unix seconds of the last successful save (LASTSAVE), start-up time until then. */
  lastSaveTime: number;
  /** Unix seconds of the last BGSAVE attempt (the retry delay counts from it). */
  lastBgsaveTry = 0;
  /** rdb_last_bgsave_time_sec. */
  lastBgsaveDurationSec = -1;
  /** Unix seconds the running RDB child started, -1 without one. */
  rdbSaveTimeStart = -1;
  /** rdb_saves: SAVE commands and BGSAVE forks since start-up (or CONFIG RESETSTAT). */
  rdbSaves = 0;
  /** rdb_last_cow_size: copy-on-write bytes of the last successful BGSAVE. */
  lastCowBytes = 0;
  lastLoadKeysLoaded = 0;
  /** The start-up load in progress (INFO loading_*), null otherwise. */
  private loadingProgress: LoadingProgress | null = null;
  lastLoadKeysExpired = 0;
  /** Why the last BGSAVE failed (keyfork_last_bgsave_error), empty after a success. */
  lastBgsaveError = '';
  /** What asked for the last successful save, background or foreground (keyfork_last_save_trigger). */
  lastSaveTrigger = '';
  /** THP is [always] in the kernel and could not be disabled for this process. */
  thpEnabled = false;
  /** Changes counted when the running BGSAVE forked; forgotten when it succeeds. */
  private dirtyBeforeBgsave = 0;
  /** The file on disk was written for replicas only (rdb-del-sync-files). */
  private rdbGeneratedByReplication = false;
  /** Replication tells whether a replica still needs the RDB file on disk. */
  replicasNeedRdbFile: () => boolean = () => false;
  /** The append-only file (aof.ts), set by the server: its INFO fields, MISCONF and loading. */
  aof: Aof | null = null;
  /** Replication's position for the RDB AUX fields (rdbPopulateSaveInfo), null without one. */
  replicationInfo: () => ReplSaveInfo | null = () => null;
  private readonly bgsaveDoneListeners: Array<(ok: boolean) => void> = [];

  constructor(
    private readonly server: PersistenceHost,
    private readonly deps: PersistenceDeps = nativeDeps(),
  ) {
    this.lastSaveTime = this.nowSec();
    this.children = new Children(deps.system, server.log, () => server.config.str(LOGLEVEL), deps.now);
    this.children.register('rdb', {
      onExit: (child, exit) => this.backgroundSaveDone(child, exit),
      startScheduled: (trigger) => this.startScheduledBgsave(trigger),
    });
  }

  private get config(): Config {
    return this.server.config;
  }

  private get log(): Logger {
    return this.server.log;
  }

  private nowSec(): number {
    return Math.floor(this.deps.now() / 1000);
  }

  /** dbfilename: the RDB file saves write and a replica's full sync keeps. */
  filename(): string {
    return this.config.str(DBFILENAME);
  }

  /** MISCONF: writes (and PING) are refused while this is true. */
  writesRefused(): boolean {
    return this.writeRefusal() !== null;
  }

  /**
   * writeCommandsDeniedByDiskError with its message: a failed background save while save
   * rules exist (stop-writes-on-bgsave-error), or an AOF that cannot be written; null when
   * writes may go on.
   */
  writeRefusal(): string | null {
    if (this.bgsaveRefusesWrites()) return RDB_MISCONF;
    return this.aof?.writeError() ?? null;
  }

  /** DISK_ERROR_TYPE_RDB: the refusal is a failed background save's (it comes before the AOF's). */
  bgsaveRefusesWrites(): boolean {
    const cfg = this.config;
    return !this.lastBgsaveOk && cfg.bool(STOP_WRITES_ON_BGSAVE_ERROR) && cfg.saveRules(SAVE).length > 0;
  }

  /** A child producing an RDB (to disk or to replicas) runs: Redis's CHILD_TYPE_RDB. */
  rdbChildRunning(): boolean {
    const kind = this.children.runningKind();
    return kind === 'rdb' || kind === 'sync';
  }

  /** Called with the outcome of every BGSAVE to disk (replication waits on these). */
  onBackgroundSaveDone(listener: (ok: boolean) => void): void {
    this.bgsaveDoneListeners.push(listener);
  }

  // ---------------------------------------------------------------------------------------
  // Saving

  /**
   * rdbSaveBackground: forks the child that writes dbfilename. False when a child already
   * runs or the fork failed (then rdb_last_bgsave_status is err, as in Redis).
   */
  startBackgroundSave(trigger: string, opts: { forReplication?: boolean } = {}): boolean {
    if (this.children.busy()) return false;
    this.rdbSaves++;
    this.dirtyBeforeBgsave = this.deps.dirty();
    this.lastBgsaveTry = this.nowSec();
    const cfg = this.config;
    let child: ActiveChild;
    try {
      const engine = this.deps.engine();
      child = this.children.start('rdb', trigger, () => {
        const [pid, readFd, forkUsec, totalKeys] = engine.forkRdb(this.filename(), ...rdbWriteOptions(cfg), ...(this.replicationInfo() ?? []));
        return { pid, readFd, forkUsec, totalKeys };
      });
    } catch (err) {
      // The addon words it as Redis does ("Can't save in background: fork: <strerror>").
      const text = errorText(err);
      const line = text.startsWith("Can't save in background") ? text : `Can't save in background: fork: ${text}`;
      this.lastBgsaveOk = false;
      this.lastBgsaveError = line;
      this.log.warning(line);
      return false;
    }
    this.installExitHook();
    this.log.notice(`Background saving started by pid ${child.pid}`);
    this.rdbSaveTimeStart = this.nowSec();
    // Only remembered while the option is on: enabling it later must not delete a file
    // written before (Redis's RDBGeneratedByReplication).
    if (opts.forReplication && cfg.bool(RDB_DEL_SYNC_FILES)) this.rdbGeneratedByReplication = true;
    return true;
  }

  private startScheduledBgsave(trigger: string): boolean {
    if (!this.retryAllowed()) return false;
    return this.startBackgroundSave(trigger);
  }

  /** After a failed BGSAVE, automatic saves wait CONFIG_BGSAVE_RETRY_DELAY seconds. */
  private retryAllowed(): boolean {
    return this.lastBgsaveOk || this.nowSec() - this.lastBgsaveTry > BGSAVE_RETRY_DELAY_SEC;
  }

  /** backgroundSaveDoneHandlerDisk. */
  private backgroundSaveDone(child: ActiveChild, exit: ChildExit): void {
    const now = this.nowSec();
    const ok = exit.signal === 0 && exit.code === 0;
    if (ok) {
      this.log.notice('Background saving terminated with success');
      this.deps.subtractDirty(this.dirtyBeforeBgsave);
      this.lastSaveTime = now;
      this.lastSaveTrigger = child.trigger;
      this.lastBgsaveOk = true;
      this.lastBgsaveError = '';
      this.lastCowBytes = child.cowBytes;
    } else if (exit.signal === 0) {
      this.log.warning('Background saving error');
      this.lastBgsaveOk = false;
      this.lastBgsaveError = child.lastWarning || `the child exited with code ${exit.code}`;
      // The child removes its temp file when it fails; one that crashed could not.
      this.removeTempFile(child.pid);
    } else {
      this.log.warning(`Background saving terminated by signal ${exit.signal}`);
      // Redis times this removal only (not the one above): the rdb-unlink-temp-file event.
      const start = performance.now();
      this.removeTempFile(child.pid);
      this.server.latency?.addSampleIfNeeded('rdb-unlink-temp-file', performance.now() - start);
      // SIGUSR1 is how the server itself stops a save (FLUSHALL): not an error.
      if (exit.signal !== SIGUSR1) {
        this.lastBgsaveOk = false;
        this.lastBgsaveError = `the child was terminated by signal ${exit.signal}`;
      }
    }
    this.lastBgsaveDurationSec = this.rdbSaveTimeStart >= 0 ? now - this.rdbSaveTimeStart : 0;
    this.rdbSaveTimeStart = -1;
    for (const listener of this.bgsaveDoneListeners) listener(ok);
  }

  /**
   * rdbRemoveTempFile (a child's, or the main process's own on a hurried exit): through
   * bg_unlink, so removing a big temp file does not stall the server.
   */
  removeTempFile(pid: number): void {
    bgUnlink(`temp-${pid}.rdb`);
  }

  /**
   * rdbSave: writes dbfilename from this process (SAVE, SHUTDOWN, FLUSHALL, DEBUG RELOAD;
   * `trigger` in triggers.ts's words). On success the changes are forgotten and LASTSAVE
   * moves; a failure is logged only (it does not touch rdb_last_bgsave_status, as in Redis).
   */
  saveForeground(trigger: string): boolean {
    const cfg = this.config;
    try {
      this.deps.engine().saveRdb(this.filename(), ...rdbWriteOptions(cfg), ...(this.replicationInfo() ?? []));
    } catch (err) {
      this.log.warning(errorText(err));
      return false;
    }
    this.log.notice('DB saved on disk');
    this.deps.subtractDirty(this.deps.dirty());
    this.lastSaveTime = this.nowSec();
    this.lastSaveTrigger = trigger;
    this.lastBgsaveOk = true;
    this.lastBgsaveError = '';
    return true;
  }

  /**
   * FLUSHALL, after the native flush: stop a running save, then save when save rules exist.
   * `trigger` is the FLUSHALL in triggers.ts's words.
   */
  afterFlushAll(trigger: string): void {
    if (this.rdbChildRunning()) this.children.stopAndWait(STOP_GRACE_MS, true, trigger);
    if (this.config.saveRules(SAVE).length > 0) this.saveForeground(trigger);
  }

  /** The cron: reap the child, apply save rules, drop an RDB kept only for replicas. */
  cron(): void {
    this.children.poll();
    if (!this.children.busy()) this.applySaveRules();
    this.removeRdbUsedToSyncReplicas();
  }

  private applySaveRules(): void {
    const rules = this.config.saveRules(SAVE);
    if (rules.length === 0) return;
    const now = this.nowSec();
    const dirty = this.deps.dirty();
    for (const rule of rules) {
      if (dirty >= rule.changes && now - this.lastSaveTime > rule.seconds && this.retryAllowed()) {
        this.log.notice(`${rule.changes} changes in ${rule.seconds} seconds. Saving...`);
        this.startBackgroundSave(saveRuleTrigger(rule.seconds, rule.changes, dirty, now - this.lastSaveTime));
        return;
      }
    }
  }

  /** rdb-del-sync-files: an instance without persistence keeps no RDB once replicas have it. */
  private removeRdbUsedToSyncReplicas(): void {
    if (!this.config.bool(RDB_DEL_SYNC_FILES)) {
      this.rdbGeneratedByReplication = false;
      return;
    }
    if (!this.rdbGeneratedByReplication || !this.allPersistenceDisabled() || this.replicasNeedRdbFile()) return;
    if (this.rdbChildRunning()) return;
    const file = this.filename();
    if (!fs.existsSync(file)) return;
    this.rdbGeneratedByReplication = false;
    this.log.notice('Removing the RDB file used to feed replicas in a persistence-less instance');
    try {
      fs.unlinkSync(file);
    } catch (err) {
      this.log.warning(`Error removing ${file}: ${errorText(err)}`);
    }
  }

  /**
   * freeClient's check when the last replica waiting for a disk BGSAVE goes: without save
   * rules its file is of use to no one, and the child is stopped now (Redis's killRDBChild,
   * SIGUSR1) rather than left to use memory and hold the next fork back.
   */
  stopSaveNoOneNeeds(): void {
    if (this.config.saveRules(SAVE).length > 0 || this.children.active?.kind !== 'rdb') return;
    this.children.signal(SIGUSR1);
  }

  /** No save rules and no AOF: an RDB written only for replicas is removed (rdb-del-sync-files). */
  allPersistenceDisabled(): boolean {
    return this.config.saveRules(SAVE).length === 0 && !(this.aof?.enabled() ?? false);
  }

  // ---------------------------------------------------------------------------------------
  // Shutdown

  /**
   * prepareForShutdown's first step: a running save must not rename its file over the one
   * the shutdown writes, nor outlive the server. `trigger`: what asked for the shutdown.
   */
  prepareForShutdown(trigger: string): void {
    const child = this.children.active;
    if (!child || !this.rdbChildRunning()) return;
    this.log.warning('There is a child saving an .rdb. Killing it!');
    this.children.stopAndWait(STOP_GRACE_MS, false, trigger);
    this.removeTempFile(child.pid);
    this.rdbSaveTimeStart = -1;
  }

  /** The final save before exiting; false when it failed. */
  saveBeforeExit(trigger: string): boolean {
    this.prepareForShutdown(trigger);
    return this.saveForeground(trigger);
  }

  /** Before a fork: whatever way the process ends, the child goes with it. */
  installExitHook(): void {
    withChildren.add(this);
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of withChildren) {
        p.prepareForShutdown('the server process exiting');
        if (p.children.active) p.children.stopAndWait(STOP_GRACE_MS, false, 'the server process exiting');
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Loading

  /**
   * Called before the listeners open: with a file to load, the server is loading from that
   * moment, so a client that connects while a second address is still being bound (or before
   * the first slice) gets LOADING, never the empty keyspace (Redis loads before it serves).
   */
  expectStartupLoad(): void {
    const aof = this.aof?.configured() ? this.aof : null;
    if (!(aof ? aof.hasFilesToLoad() : fs.existsSync(this.filename()))) return;
    this.server.loading = true;
    // INFO may be asked before the first slice: it already shows what will be read, as Redis's
    // startLoading does.
    const totalBytes = aof ? aof.bytesToLoad() : fileSize(this.filename());
    this.loadingProgress = { startTime: this.nowSec(), totalBytes, loadedBytes: 0, rdbUsedMem: 0 };
  }

  /**
   * Start-up: Redis's memory warnings, the AOF manifest, then the data: the AOF files under
   * appendonly yes (never the RDB then, as Redis), else dir/dbfilename if it exists. Returns
   * what an RDB load found (its replication position); null without one.
   */
  /** `expired`: kept by a replica; dropped by a master, which records their DELs (RDBFLAGS_FEED_REPL). */
  async loadAtStartup(expired: ExpiredAtLoad = 'drop'): Promise<RdbLoadReport | null> {
    this.memoryWarnings();
    const aof = this.aof;
    aof?.loadManifest();
    let report: RdbLoadReport | null = null;
    if (aof?.configured()) {
      const dirtyBefore = this.deps.dirty();
      try {
        await aof.loadAtStartup();
      } finally {
        this.restoreDirty(dirtyBefore);
        this.setLoadingProgress(null); // also when there was nothing to load after all
      }
    } else {
      report = await this.loadRdbAtStartup(expired);
    }
    aof?.openOnServerStart();
    return report;
  }

  private async loadRdbAtStartup(expired: ExpiredAtLoad): Promise<RdbLoadReport | null> {
    const file = this.filename();
    if (!fs.existsSync(file)) {
      this.server.loading = false; // a first start: nothing to load, as Redis (ENOENT)
      this.loadingProgress = null;
      return null;
    }
    const t0 = performance.now();
    let report: RdbLoadReport;
    try {
      report = await this.loadFileInSlices(file, expired);
    } catch (err) {
      // Redis refuses to serve a dataset it could not load completely.
      const lines = err instanceof RdbLoadFailure ? err.lines : [errorText(err)];
      for (const line of lines) this.log.warning(line);
      const engine = this.deps.engine();
      if (engine.rdbCheckReport && !FAILURES_WITHOUT_REPORT.some((p) => lines[0].startsWith(p))) {
        // rdbReportError runs redis-check-rdb on the file, which prints its report on standard
        // output (whatever the logfile) and exits; when the check itself met an error Redis
        // reports through rdbReportError, that goes on to log the line below first.
        const report = engine.rdbCheckReport(path.resolve(file), file);
        fs.writeSync(1, report.map((l) => `${l}\n`).join(''));
        if (report.some((l) => l.includes('] Internal error in RDB reading'))) this.log.warning('Terminating server after rdb file reading failure.');
      } else {
        this.log.warning('Terminating server after rdb file reading failure.');
      }
      throw new StartupAbort(`cannot load ${path.resolve(file)}: ${errorText(err)}`);
    } finally {
      this.server.loading = false;
      this.loadingProgress = null;
    }
    this.log.notice(`DB loaded from disk: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
    return report;
  }

  /** rdbLoad with its log lines; the load's changes do not count as changes to save. */
  private loadFile(file: string, allowDup = false, expired: 'drop' | 'keep' = 'drop'): RdbLoadReport {
    return this.loadInOneCall(() => this.deps.engine().loadRdb(path.resolve(file), allowDup, expired));
  }

  /**
   * A replica's load of the RDB its master sent (a temp file or the bytes), in slices like the
   * start-up load; the live data is replaced only once the whole payload loaded. Null when it
   * failed (the reason is logged and the live data is untouched).
   */
  async loadReplicationPayload(source: string | Buffer): Promise<RdbLoadReport | null> {
    try {
      return await this.loadInSlices(source, true);
    } catch (err) {
      this.log.warning(errorText(err));
      return null;
    }
  }

  /** Runs a load with `loading` set and its changes not counted, then logs what it found. */
  private loadInOneCall(load: () => RdbLoadReport): RdbLoadReport {
    const dirtyBefore = this.deps.dirty();
    this.server.loading = true;
    let report: RdbLoadReport;
    try {
      report = load();
    } finally {
      this.server.loading = false;
      this.restoreDirty(dirtyBefore);
    }
    this.logAuxFields(report);
    this.loaded(report);
    return report;
  }

  /**
   * The start-up load: the file in slices with a turn of the event loop between them, so that
   * clients connecting meanwhile get LOADING errors and INFO shows the progress (the cron does
   * nothing while loading). Falls back to one call with an addon that cannot slice.
   */
  private async loadFileInSlices(file: string, expired: ExpiredAtLoad): Promise<RdbLoadReport> {
    const { loadRdbBegin, loadRdbStep, loadRdbReport, loadRdbEnd } = this.deps.engine();
    if (!loadRdbBegin || !loadRdbStep || !loadRdbReport || !loadRdbEnd) return this.loadFile(file, false, expired === 'keep' ? 'keep' : 'drop');
    return this.loadInSlices(path.resolve(file), false, expired);
  }

  /**
   * A load in slices of loading-process-events-interval-bytes (start-up, or `replica`: a full
   * sync's payload into a fresh keyspace swapped in at the end).
   */
  private async loadInSlices(source: string | Buffer, replica: boolean, expired: ExpiredAtLoad = 'drop'): Promise<RdbLoadReport> {
    const engine = this.deps.engine();
    const { loadRdbBegin, loadRdbStep, loadRdbReport, loadRdbEnd } = engine;
    if (!loadRdbBegin || !loadRdbStep || !loadRdbReport || !loadRdbEnd) throw new Error('the native addon cannot load in slices');
    const dirtyBefore = this.deps.dirty();
    const progress: LoadingProgress = this.loadingProgress ?? { startTime: this.nowSec(), totalBytes: 0, loadedBytes: 0, rdbUsedMem: 0 };
    this.server.loading = true;
    this.loadingProgress = progress;
    let report: RdbLoadReport;
    try {
      progress.totalBytes = typeof expired === 'string'
        ? loadRdbBegin.call(engine, source, false, replica, expired)
        : loadRdbBegin.call(engine, source, false, replica, expired.cap, expired.unlink);
      let auxLogged = false;
      for (;;) {
        // Clients get a turn every loading-process-events-interval-bytes of the file (2 MB).
        let loaded: number;
        try {
          loaded = loadRdbStep.call(engine, this.config.int(LOADING_PROCESS_EVENTS_INTERVAL_BYTES));
        } catch (err) {
          // Redis has logged the AUX fields it read before the failure.
          if (!auxLogged) this.logAuxFields(loadRdbReport.call(engine));
          throw new RdbLoadFailure(loadFailureLines(errorText(err), progress.loadedBytes));
        }
        if (!auxLogged) {
          // The AUX fields open the file: Redis logs them as it reads them.
          const head = loadRdbReport.call(engine);
          this.logAuxFields(head);
          progress.rdbUsedMem = head.usedMem ?? 0;
          auxLogged = true;
        }
        if (loaded < 0) break;
        progress.loadedBytes = loaded;
        await new Promise((resolve) => setImmediate(resolve));
      }
      progress.loadedBytes = progress.totalBytes;
      report = loadRdbReport.call(engine);
    } finally {
      loadRdbEnd.call(engine);
      this.server.loading = false;
      this.loadingProgress = null;
      this.restoreDirty(dirtyBefore);
    }
    this.loaded(report);
    return report;
  }

  /** rdbLoad's log lines for what a load found (an RDB file, or the base of an AOF). */
  logRdbReport(report: RdbLoadReport): void {
    this.logAuxFields(report);
    this.loaded(report);
  }

  /** An AOF load (aof-load.ts) shows as loading and in INFO's loading_* fields, as an RDB load does. */
  setLoadingProgress(progress: { totalBytes: number; loadedBytes: number } | null): void {
    if (progress === null) {
      this.loadingProgress = null;
      this.server.loading = false;
      return;
    }
    this.loadingProgress ??= { startTime: this.nowSec(), totalBytes: 0, loadedBytes: 0, rdbUsedMem: 0 };
    this.loadingProgress.totalBytes = progress.totalBytes;
    this.loadingProgress.loadedBytes = progress.loadedBytes;
    this.server.loading = true;
  }

  private logAuxFields(report: RdbLoadReport): void {
    if (report.redisVer) this.log.notice(`Loading RDB produced by version ${report.redisVer}`);
    if (typeof report.ctime === 'number') {
      this.log.notice(`RDB age ${Math.max(0, this.nowSec() - report.ctime)} seconds`);
    }
    if (typeof report.usedMem === 'number') {
      this.log.notice(`RDB memory usage when created ${(report.usedMem / 1024 / 1024).toFixed(2)} Mb`);
    }
    if (report.aofBase) this.log.notice('RDB is base AOF');
  }

  /** A load's outcome: its warnings, the rdb_last_load_* fields and Redis's closing line. */
  private loaded(report: RdbLoadReport): void {
    for (const warning of report.warnings ?? []) this.log.warning(warning);
    this.lastLoadKeysLoaded = report.keysLoaded;
    this.lastLoadKeysExpired = report.keysExpired;
    const done = `Done loading RDB, keys loaded: ${report.keysLoaded}, keys expired: ${report.keysExpired}`;
    // Skipped empty keys mean a damaged file: Redis says so at warning.
    const skipped = report.emptyKeysSkipped ?? 0;
    if (skipped > 0) this.log.warning(`${done}, empty keys skipped: ${skipped}.`);
    else this.log.notice(`${done}.`);
  }

  private restoreDirty(target: number): void {
    const extra = this.deps.dirty() - target;
    if (extra > 0) this.deps.subtractDirty(extra);
  }

  /** DEBUG LOADAOF: empty, reload from the AOF; the changes count for nothing (server.dirty = 0). */
  debugLoadAof(): void {
    this.aof?.debugLoad(() => this.deps.flushAll());
    this.deps.subtractDirty(this.deps.dirty());
  }

  /** DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] (commands/debug.ts hands the command over). */
  debugReload(ctx: Ctx): void {
    const options: string[] = [];
    for (let i = 2; i < ctx.req.argc; i++) options.push(argStr(ctx.req, i));
    const error = this.reload(options, commandTrigger('DEBUG RELOAD', ctx.client));
    if (error !== null) throw new ReplyError(error);
    ctx.out.ok();
  }

  /**
   * Save, empty the keyspace, load the file back, as DEBUG RELOAD does. Returns null on
   * success, else the error reply text.
   */
  reload(options: string[] = [], trigger = 'DEBUG RELOAD'): string | null {
    if (this.loadingProgress) return 'LOADING Redis is loading the dataset in memory';
    let flush = true;
    let save = true;
    // MERGE (RDBFLAGS_ALLOW_DUP): keys and function libraries of the file replace those in
    // memory; without it NOFLUSH's conflicts fail the load.
    let merge = false;
    for (const opt of options) {
      const o = opt.toLowerCase();
      if (o === 'merge') merge = true;
      else if (o === 'noflush') flush = false;
      else if (o === 'nosave') save = false;
      else return 'ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.';
    }
    if (save && !this.saveForeground(trigger)) return 'ERR';
    const dirty = this.deps.dirty();
    if (flush) this.deps.flushAll();
    try {
      this.loadFile(this.filename(), merge, this.server.replication?.isReplica() ? 'keep' : 'drop');
    } catch (err) {
      this.log.warning(`Error loading the RDB dump: ${errorText(err)}`);
      return 'ERR Error trying to load the RDB dump';
    } finally {
      this.restoreDirty(dirty);
    }
    this.log.warning('DB reloaded by DEBUG RELOAD');
    return null;
  }

  /** Redis 7.0's linuxMemoryWarnings, with disable-thp applied as Redis applies it. */
  private memoryWarnings(): void {
    if (process.platform !== 'linux') return;
    const overcommit = this.deps.readSystemFile('/proc/sys/vm/overcommit_memory');
    if (overcommit !== null && parseInt(overcommit, 10) !== 1) this.log.warning(`WARNING ${OVERCOMMIT_WARNING}`);
    const thp = this.deps.readSystemFile('/sys/kernel/mm/transparent_hugepage/enabled');
    if (thp !== null && thp.includes('[always]')) {
      this.thpEnabled = !(this.config.bool(DISABLE_THP) && this.deps.disableThp());
      if (this.thpEnabled) this.log.warning(`WARNING ${THP_WARNING}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // INFO

  /** INFO persistence, every field Redis 7.0 prints in its order, then keyfork's own. */
  infoFields(): Array<[string, string]> {
    this.children.drainReports();
    const now = this.deps.now();
    const child = this.children.active;
    const rdbRunning = this.rdbChildRunning();
    const cowAge = child && child.cowUpdatedAt > 0 ? Math.max(0, Math.floor((now - child.cowUpdatedAt) / 1000)) : 0;
    const fields: Array<[string, string | number]> = [
      ['loading', this.server.loading && !this.server.asyncLoading ? 1 : 0],
      ['async_loading', this.server.asyncLoading ? 1 : 0],
      ['current_cow_peak', child?.cowPeak ?? 0],
      ['current_cow_size', child?.cowBytes ?? 0],
      ['current_cow_size_age', cowAge],
      ['current_fork_perc', (child?.progressPercent() ?? 0).toFixed(2)],
      ['current_save_keys_processed', child?.keysProcessed ?? 0],
      ['current_save_keys_total', child?.totalKeys ?? 0],
      ['rdb_changes_since_last_save', this.deps.dirty()],
      ['rdb_bgsave_in_progress', rdbRunning ? 1 : 0],
      ['rdb_last_save_time', this.lastSaveTime],
      ['rdb_last_bgsave_status', this.lastBgsaveOk ? 'ok' : 'err'],
      ['rdb_last_bgsave_time_sec', this.lastBgsaveDurationSec],
      ['rdb_current_bgsave_time_sec', rdbRunning && this.rdbSaveTimeStart >= 0 ? this.nowSec() - this.rdbSaveTimeStart : -1],
      ['rdb_saves', this.rdbSaves],
      ['rdb_last_cow_size', this.lastCowBytes],
      ['rdb_last_load_keys_expired', this.lastLoadKeysExpired],
      ['rdb_last_load_keys_loaded', this.lastLoadKeysLoaded],
      ...(this.aof?.infoFields() ?? this.aofIdleFields()),
      // No module can fork in keyfork.
      ['module_fork_in_progress', 0],
      ['module_fork_last_cow_size', 0],
      ...(this.aof?.enabledInfoFields() ?? []),
      ...this.loadingFields(),
      // keyfork: the running save's progress, for the operator waiting on it.
      ['keyfork_save_progress_perc', (rdbRunning && child ? child.progressPercent() : 0).toFixed(2)],
      ['keyfork_save_eta_sec', rdbRunning && child ? child.etaSeconds(now) : -1],
      ['keyfork_save_bytes_written', rdbRunning && child ? child.bytesWritten : 0],
      ['keyfork_save_elapsed_ms', rdbRunning && child ? Math.max(0, now - child.startedAt) : -1],
      ['keyfork_save_child_pid', rdbRunning && child ? child.pid : -1],
      ['keyfork_last_bgsave_error', this.lastBgsaveError],
      // What triggered saves, and the room on disk for the next one.
      ['keyfork_last_save_trigger', this.lastSaveTrigger],
      ['keyfork_last_bgsave_trigger', this.children.lastOf('rdb')?.trigger ?? ''],
      ['keyfork_last_bgsave_stopped_by', this.children.lastOf('rdb')?.stoppedBy ?? ''],
      ['keyfork_rdb_file_bytes', this.deps.fileBytes(this.filename())],
      ['keyfork_dir_free_bytes', this.deps.freeBytes('.')],
      ...(this.aof?.keyforkInfoFields() ?? []),
    ];
    return [...fields.map(([k, v]): [string, string] => [k, oneLine(String(v))]), ...this.children.infoFields(now)];
  }

  /** Redis's loading_* fields, present while the start-up load runs. */
  private loadingFields(): Array<[string, string | number]> {
    const p = this.loadingProgress;
    if (!p) return [];
    let perc = 0;
    let remaining = 1;
    if (p.totalBytes > 0) {
      perc = (p.loadedBytes / p.totalBytes) * 100;
      remaining = p.totalBytes - p.loadedBytes;
    } else if (p.rdbUsedMem > 0) {
      perc = Math.min(99.99, (p.loadedBytes / p.rdbUsedMem) * 100);
      remaining = Math.max(1, p.rdbUsedMem - p.loadedBytes);
    }
    const elapsed = this.nowSec() - p.startTime;
    const eta = elapsed === 0 ? 1 : Math.floor((elapsed * remaining) / (p.loadedBytes + 1));
    return [
      ['loading_start_time', p.startTime],
      ['loading_total_bytes', p.totalBytes],
      ['loading_rdb_used_mem', p.rdbUsedMem],
      ['loading_loaded_bytes', p.loadedBytes],
      ['loading_loaded_perc', perc.toFixed(2)],
      ['loading_eta_seconds', eta],
    ];
  }

  /** The aof_* fields of a server without AOF (aof_enabled:0, nothing ever rewritten). */
  private aofIdleFields(): Array<[string, string | number]> {
    const aofRunning = this.children.runningKind() === 'aof';
    return [
      ['aof_enabled', 0],
      ['aof_rewrite_in_progress', aofRunning ? 1 : 0],
      ['aof_rewrite_scheduled', this.children.isScheduled('aof') ? 1 : 0],
      ['aof_last_rewrite_time_sec', -1],
      ['aof_current_rewrite_time_sec', -1],
      ['aof_last_bgrewrite_status', 'ok'],
      ['aof_rewrites', 0],
      ['aof_rewrites_consecutive_failures', 0],
      ['aof_last_write_status', 'ok'],
      ['aof_last_cow_size', 0],
    ];
  }

  /** INFO stats latest_fork_usec and total_forks. */
  forkStats(): { latestForkUsec: number; totalForks: number } {
    return { latestForkUsec: this.children.latestForkUsec, totalForks: this.children.totalForks };
  }

  /** CONFIG RESETSTAT: fork statistics and rdb_saves start over. */
  resetStats(): void {
    this.children.resetStats();
    this.rdbSaves = 0;
    this.aof?.resetStats();
  }
}
