// The one-child rule: Redis never runs two forked children at once (an RDB save, an AOF
// rewrite and a replication sync all fork), because two copy-on-write views of a large
// dataset can double the memory in use. This module owns the running child: it starts it,
// reads the reports it sends over its pipe (progress, copy-on-write size, its log lines),
// reaps it from the cron, and remembers which kinds of work are waiting for their turn.
//
// What a given kind of child *means* (status fields, dirty accounting, log lines of the
// parent) belongs to its owner (rdb.ts for saves); the owner registers handlers here.
import { levelAt, type Logger, type LogLevel } from '../log';
import { sleepSync } from '../sleep';

/** rdb: BGSAVE to disk; sync: an RDB streamed to replicas; aof: an AOF rewrite. */
export type ChildKind = 'rdb' | 'aof' | 'sync';

/** INFO's keyfork_child_type for each kind (and `none`). */
export const CHILD_TYPE_NAMES: Record<ChildKind, string> = { rdb: 'rdb', aof: 'aof-rewrite', sync: 'sync' };

/** What a fork returns to the parent. */
export interface Forked {
  pid: number;
  /** Read end of the child's report pipe (non-blocking). */
  readFd: number;
  forkUsec: number;
  /** Keys the child will visit (current_save_keys_total). */
  totalKeys: number;
}

/** How the child ended: `signal` is 0 when it exited on its own. */
export interface ChildExit {
  code: number;
  signal: number;
}

/** Pipe record kinds of native/src/snapshot.rs. */
const REPORT_PROGRESS = 1;
const REPORT_LOG = 2;
const REPORT_DONE = 3;

/** One record as readChildReports returns it: [kind, ...fields]. */
export type ChildReport = [number, ...(number | string)[]];

/** The addon's process calls this module needs (the native snapshot exports). */
export interface ChildSystem {
  readChildReports(fd: number): (ChildReport | boolean)[];
  /** null while running, else [exitCode, signal] (exitCode -1 when killed by a signal). */
  waitChild(pid: number): [number, number] | null;
  killChild(pid: number, signal: number): void;
  closeFd(fd: number): void;
  /** Calls `onReadable` whenever `fd` is readable (on the event loop); returns an id for unwatchFd. */
  watchFd?(fd: number, onReadable: () => void): number;
  unwatchFd?(id: number): void;
}

export const SIGKILL = 9;
export const SIGUSR1 = 10;
/** How long a stopped child may take to die after SIGKILL. */
const KILL_WAIT_MS = 2000;
/**
 * Once its pipe closed, a child is normally reapable within a millisecond (it closes the pipe
 * by exiting); it is polled every millisecond for this long, then left to the cron.
 */
const REAP_RETRY_MS = 200;

const LOG_LEVELS: Exclude<LogLevel, 'nothing'>[] = ['debug', 'verbose', 'notice', 'warning'];

/** The running child and what it reported so far. */
export class ActiveChild {
  keysProcessed = 0;
  bytesWritten = 0;
  /** Copy-on-write bytes at the child's last sample (current_cow_size). */
  cowBytes = 0;
  cowPeak = 0;
  /** ms time of the last copy-on-write sample, 0 before the first (current_cow_size_age). */
  cowUpdatedAt = 0;
  /** Set when the child sent its DONE record: the work finished and was renamed into place. */
  done = false;
  /** The last warning the child logged (why it failed, when it did). */
  lastWarning = '';
  pipeOpen = true;
  /** The server asked it to stop (FLUSHALL, SHUTDOWN): its death is not a failure. */
  stopRequested = false;
  /** Who asked the server to stop it, in triggers.ts's words ("FLUSHALL from 127.0.0.1:5100"). */
  stoppedBy = '';
  /** The watch on the report pipe (0: none; reports are then read by the cron). */
  watchId = 0;

  constructor(
    readonly kind: ChildKind,
    /** What asked for this child, in words for an operator ("BGSAVE from 127.0.0.1:52114"). */
    readonly trigger: string,
    readonly pid: number,
    readonly readFd: number,
    readonly totalKeys: number,
    /** ms wall-clock time of the fork. */
    readonly startedAt: number,
  ) {}

  /** current_fork_perc: keys visited over keys at the fork, as a percentage. */
  progressPercent(): number {
    return this.totalKeys > 0 ? Math.min(100, (this.keysProcessed / this.totalKeys) * 100) : 0;
  }

  /**
   * Seconds left, extrapolating the key rate so far; -1 until there is a rate to go by
   * (the first progress report arrives after about 100 ms of work).
   */
  etaSeconds(now: number): number {
    const elapsed = now - this.startedAt;
    if (this.keysProcessed <= 0 || elapsed <= 0 || this.totalKeys <= 0) return -1;
    const left = Math.max(0, this.totalKeys - this.keysProcessed);
    return Math.ceil((elapsed * left) / this.keysProcessed / 1000);
  }
}

/** What the owner of a kind of child provides. */
export interface ChildOwner {
  /** The child was reaped (its final reports already applied). */
  onExit(child: ActiveChild, exit: ChildExit): void;
  /** Starts this kind's scheduled work now that no child runs; true when it started. */
  startScheduled?(trigger: string): boolean;
}

/**
 * Waiting work starts in serverCron's order: a replication sync right after the reap
 * (replicationStartPendingFork), then a scheduled AOF rewrite, then a scheduled BGSAVE.
 */
const SCHEDULE_ORDER: ChildKind[] = ['sync', 'aof', 'rdb'];

/** What is remembered of the last child of a kind once it was reaped. */
export interface EndedChild {
  trigger: string;
  /** Empty unless the server stopped it (FLUSHALL, SHUTDOWN...): who asked. */
  stoppedBy: string;
}

export class Children {
  private current: ActiveChild | null = null;
  private readonly owners = new Map<ChildKind, ChildOwner>();
  /** Children that reported DONE and were handed to their owner, until their exit is reaped. */
  private readonly exiting = new Set<number>();
  /** Kinds of work waiting for the running child to end, with what asked for each. */
  private readonly scheduled = new Map<ChildKind, string>();
  private readonly lastEnded = new Map<ChildKind, EndedChild>();
  /** INFO stats latest_fork_usec. */
  latestForkUsec = 0;
  /** INFO stats total_forks. */
  totalForks = 0;
  /** Told the fork time of every child (the latency monitor's fork event). */
  onFork: ((forkUsec: number) => void) | null = null;
  /** Called just before each fork: what the child of `kind` is to set up (src/proc.ts). */
  beforeFork: ((kind: ChildKind) => void) | null = null;

  constructor(
    private readonly sys: ChildSystem,
    private readonly log: Logger,
    /** The configured loglevel, for lines written on the child's behalf. */
    private readonly logLevel: () => string,
    private readonly clock: () => number = Date.now,
  ) {}

  register(kind: ChildKind, owner: ChildOwner): void {
    this.owners.set(kind, owner);
  }

  /** The running child, if any. */
  get active(): ActiveChild | null {
    return this.current;
  }

  /** hasActiveChildProcess(). */
  busy(): boolean {
    return this.current !== null;
  }

  runningKind(): ChildKind | null {
    return this.current?.kind ?? null;
  }

  /**
   * Forks a child of `kind` through `fork`; throws when one already runs (callers check
   * busy() first, the rule is enforced here too) or when the fork fails.
   */
  start(kind: ChildKind, trigger: string, fork: () => Forked): ActiveChild {
    if (this.current) throw new Error(`a ${this.current.kind} child (pid ${this.current.pid}) is already running`);
    this.beforeFork?.(kind);
    const f = fork();
    this.totalForks++;
    this.latestForkUsec = f.forkUsec;
    this.onFork?.(f.forkUsec);
    const child = new ActiveChild(kind, trigger, f.pid, f.readFd, f.totalKeys, this.clock());
    this.current = child;
    if (this.sys.watchFd) {
      try {
        child.watchId = this.sys.watchFd(f.readFd, () => this.onReports(child));
      } catch (err) {
        this.log.warning(`Cannot watch the child's report pipe, the cron will read it: ${(err as Error).message}`);
      }
    }
    return child;
  }

  /**
   * The child wrote to its pipe: its reports apply at once, and its DONE record (sent after
   * its file was renamed into place and just before it exits 0) ends it for the server: the
   * owner hears of the success now, within a few ms of the child's last write, rather than
   * when the exit completes (unmapping a large copy-on-write address space takes a while) and
   * the cron reaps it. The exiting process is reaped later. A child whose pipe closed without
   * DONE (a failure) is reaped as soon as its exit status is there.
   */
  private onReports(child: ActiveChild): void {
    if (this.current !== child) return;
    this.drainReports();
    if (child.done) {
      this.forget(child);
      this.exiting.add(child.pid);
      this.owners.get(child.kind)?.onExit(child, { code: 0, signal: 0 });
      this.reapExiting();
      if (!this.current) this.startScheduled();
      return;
    }
    if (child.pipeOpen) return;
    this.unwatch(child);
    const deadline = performance.now() + REAP_RETRY_MS;
    const tryReap = () => {
      if (this.current !== child) return;
      this.poll();
      if (this.current === child && performance.now() < deadline) setTimeout(tryReap, 1).unref?.();
    };
    tryReap();
  }

  /** Collects the exit status of children that already reported DONE (no zombies stay). */
  private reapExiting(): void {
    for (const pid of this.exiting) {
      let status: [number, number] | null;
      try {
        status = this.sys.waitChild(pid);
      } catch {
        status = [1, 0]; // already reaped elsewhere
      }
      if (status) this.exiting.delete(pid);
    }
  }

  private unwatch(child: ActiveChild): void {
    if (child.watchId === 0) return;
    this.sys.unwatchFd?.(child.watchId);
    child.watchId = 0;
  }

  /**
   * Marks `kind` as waiting for the running child to end (BGSAVE SCHEDULE...). The first
   * asker's words are kept; `replace` updates them (the replicas waiting for the next sync).
   */
  schedule(kind: ChildKind, trigger: string, replace = false): void {
    if (replace || !this.scheduled.has(kind)) this.scheduled.set(kind, trigger);
  }

  /** What asked for the scheduled work of `kind` (undefined when none waits). */
  scheduledTrigger(kind: ChildKind): string | undefined {
    return this.scheduled.get(kind);
  }

  isScheduled(kind: ChildKind): boolean {
    return this.scheduled.has(kind);
  }

  unschedule(kind: ChildKind): void {
    this.scheduled.delete(kind);
  }

  /** The last reaped child of `kind`, undefined before the first. */
  lastOf(kind: ChildKind): EndedChild | undefined {
    return this.lastEnded.get(kind);
  }

  /**
   * INFO persistence's keyfork_child_* and keyfork_scheduled_* fields: the running child of
   * any kind (what triggered it, its progress) and the work waiting its turn.
   */
  infoFields(now: number): Array<[string, string]> {
    const c = this.current;
    const fields: Array<[string, string | number]> = [
      ['keyfork_child_type', c ? CHILD_TYPE_NAMES[c.kind] : 'none'],
      ['keyfork_child_trigger', c?.trigger ?? ''],
      ['keyfork_child_pid', c?.pid ?? -1],
      ['keyfork_child_start_time', c ? Math.floor(c.startedAt / 1000) : -1],
      ['keyfork_child_elapsed_ms', c ? Math.max(0, now - c.startedAt) : -1],
      ['keyfork_child_progress_perc', (c?.progressPercent() ?? 0).toFixed(2)],
      ['keyfork_child_eta_sec', c ? c.etaSeconds(now) : -1],
      ['keyfork_child_bytes_written', c?.bytesWritten ?? 0],
      ['keyfork_scheduled_rdb', this.scheduled.get('rdb') ?? ''],
      ['keyfork_scheduled_aof_rewrite', this.scheduled.get('aof') ?? ''],
      ['keyfork_scheduled_sync', this.scheduled.get('sync') ?? ''],
    ];
    return fields.map(([k, v]) => [k, oneLine(String(v))]);
  }

  /** Applies whatever the child sent since the last call (cheap when nothing did). */
  drainReports(): void {
    const child = this.current;
    if (!child || !child.pipeOpen) return;
    let records: (ChildReport | boolean)[];
    try {
      records = this.sys.readChildReports(child.readFd);
    } catch (err) {
      this.log.warning(`Error reading the child's reports (pid ${child.pid}): ${(err as Error).message}`);
      child.pipeOpen = false;
      return;
    }
    for (const rec of records) {
      if (typeof rec === 'boolean') {
        if (rec) child.pipeOpen = false;
        continue;
      }
      this.apply(child, rec);
    }
  }

  private apply(child: ActiveChild, rec: ChildReport): void {
    switch (rec[0]) {
      case REPORT_PROGRESS:
      case REPORT_DONE: {
        const [kind, keys, bytes, cow, at] = rec as [number, number, number, number, number];
        child.keysProcessed = keys;
        child.bytesWritten = bytes;
        // The child samples copy-on-write about once a second and repeats the last sample in
        // between; a new value (or the first report) is a new sample.
        if (cow !== child.cowBytes || child.cowUpdatedAt === 0) child.cowUpdatedAt = at;
        child.cowBytes = cow;
        child.cowPeak = Math.max(child.cowPeak, cow);
        if (kind === REPORT_DONE) child.done = true;
        break;
      }
      case REPORT_LOG: {
        const [, at, levelIndex, text] = rec as [number, number, number, string];
        const level = levelAt(levelIndex);
        if (level === 'warning') child.lastWarning = text;
        if (this.levelEnabled(level)) {
          this.log.write(this.log.lineFor(child.pid, 'C', level, text, new Date(at)));
          this.log.tapChild(child.pid, level, text);
        }
        break;
      }
      default:
        break; // a record kind from a newer child: nothing to apply
    }
  }

  private levelEnabled(level: Exclude<LogLevel, 'nothing'>): boolean {
    const configured = LOG_LEVELS.indexOf(this.logLevel() as Exclude<LogLevel, 'nothing'>);
    if (configured < 0) return this.logLevel() !== 'nothing' && LOG_LEVELS.indexOf(level) >= 2;
    return LOG_LEVELS.indexOf(level) >= configured;
  }

  /**
   * The cron's checkChildrenDone: reaps the child if it ended and hands it to its owner,
   * then, with no child left, starts the work that was waiting. Returns the reaped child.
   */
  poll(): ActiveChild | null {
    if (this.exiting.size > 0) this.reapExiting();
    const reaped = this.reap();
    if (!this.current) this.startScheduled();
    return reaped;
  }

  private reap(): ActiveChild | null {
    const child = this.current;
    if (!child) return null;
    this.drainReports();
    let status: [number, number] | null;
    try {
      status = this.sys.waitChild(child.pid);
    } catch (err) {
      // ECHILD: someone else reaped it. Treat it as a failure rather than wait forever.
      this.log.warning(`waitpid() returned an error: ${(err as Error).message}. child_type: ${child.kind}, child_pid = ${child.pid}`);
      status = [1, 0];
    }
    if (status === null) return null;
    this.drainReports(); // what the child wrote between the last read and its exit
    this.forget(child);
    const [code, signal] = status;
    // Ended by the server's own stop request: whatever signal did it, it is Redis's SIGUSR1.
    const exit = signal && child.stopRequested ? { code: -1, signal: SIGUSR1 } : { code: signal ? -1 : code, signal };
    this.owners.get(child.kind)?.onExit(child, exit);
    return child;
  }

  private forget(child: ActiveChild): void {
    this.unwatch(child);
    this.sys.closeFd(child.readFd);
    child.pipeOpen = false;
    if (this.current === child) this.current = null;
    this.lastEnded.set(child.kind, { trigger: child.trigger, stoppedBy: child.stoppedBy });
  }

  private startScheduled(): void {
    for (const kind of SCHEDULE_ORDER) {
      if (this.current) return;
      if (!this.scheduled.has(kind)) continue;
      const owner = this.owners.get(kind);
      if (!owner?.startScheduled) continue;
      if (owner.startScheduled(this.scheduled.get(kind) ?? 'scheduled')) this.scheduled.delete(kind);
    }
  }

  /** Sends `signal` to the running child; it is reaped (and reported) by a later poll(). */
  signal(signal: number): void {
    const child = this.current;
    if (!child) return;
    try {
      this.sys.killChild(child.pid, signal);
    } catch {
      // already exited: the next poll() reaps it
    }
  }

  /**
   * The server stops its own child (FLUSHALL, SHUTDOWN) and waits until it is gone, so that
   * it cannot rename its file over one written after this call. SIGUSR1 first, as Redis; a
   * child still there after `graceMs` gets SIGKILL. Either way the owner sees the exit as
   * SIGUSR1, Redis's "stopped by the server, not a failure". `report` false forgets the child
   * without telling its owner (the server is exiting). `by` says who asked (triggers.ts).
   */
  stopAndWait(graceMs: number, report = true, by = ''): ActiveChild | null {
    const child = this.current;
    if (!child) return null;
    child.stopRequested = true;
    child.stoppedBy = by;
    this.signal(SIGUSR1);
    if (this.waitGone(child, graceMs, report)) return child;
    this.signal(SIGKILL);
    if (this.waitGone(child, KILL_WAIT_MS, report)) return child;
    this.log.warning(`The child (pid ${child.pid}) did not exit after SIGKILL`);
    this.forget(child);
    return child;
  }

  private waitGone(child: ActiveChild, timeoutMs: number, report: boolean): boolean {
    // Real time, not the (injectable) wall clock: this loop must end whatever that clock says.
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (report) {
        if (this.reap()) return true;
      } else {
        let status: [number, number] | null;
        try {
          status = this.sys.waitChild(child.pid);
        } catch {
          status = [1, 0];
        }
        if (status) {
          this.forget(child);
          return true;
        }
      }
      if (performance.now() >= deadline) return false;
      sleepSync(2);
    }
  }

  /** CONFIG RESETSTAT. */
  resetStats(): void {
    this.latestForkUsec = 0;
    this.totalForks = 0;
  }
}

/** INFO values are single lines: a client name or address cannot break the format. */
export function oneLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, ' ') : text;
}
