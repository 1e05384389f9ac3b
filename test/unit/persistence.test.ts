// The persistence state machine against a fake addon: the one-child rule across kinds of
// children, BGSAVE/SAVE replies in every state (including a running AOF rewrite, which no
// real keyfork can start yet), scheduling, the retry delay after a failure, dirty
// accounting, child reports and log lines. The real fork is covered in test/server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { persistenceCommands } from '../../src/commands/persistence';
import { makeRequest, ReplyError, type Ctx, type Handler } from '../../src/commands/types';
import { loadConfig, type Config } from '../../src/config';
import { Logger } from '../../src/log';
import { Children, SIGUSR1, type ChildExit, type ChildReport, type ChildSystem, type Forked } from '../../src/persistence/children';
import { BGSAVE_RETRY_DELAY_SEC, Persistence, type PersistenceDeps, type RdbEngine } from '../../src/persistence/rdb';
import { ReplyWriter } from '../../src/protocol/reply';

/** Temporary directories of this file, removed when it ends. */
const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Fakes

interface FakeChild {
  fd: number;
  reports: (ChildReport | boolean)[];
  exit: [number, number] | null;
  signals: number[];
}

class FakeSystem implements ChildSystem {
  readonly children = new Map<number, FakeChild>();
  readonly closed: number[] = [];
  private nextPid = 990_001;
  /** Whether a kill ends the child at once (false: it ignores signals). */
  killEndsChild = true;

  fork(totalKeys = 0): Forked {
    const pid = this.nextPid++;
    const fd = pid - 990_000 + 100;
    this.children.set(pid, { fd, reports: [], exit: null, signals: [] });
    return { pid, readFd: fd, forkUsec: 1234, totalKeys };
  }

  child(pid: number): FakeChild {
    const c = this.children.get(pid);
    if (!c) throw new Error(`no fake child ${pid}`);
    return c;
  }

  readChildReports(fd: number): (ChildReport | boolean)[] {
    for (const c of this.children.values()) if (c.fd === fd) return c.reports.splice(0);
    throw new Error('EBADF');
  }

  waitChild(pid: number): [number, number] | null {
    return this.child(pid).exit;
  }

  killChild(pid: number, signal: number): void {
    const c = this.child(pid);
    c.signals.push(signal);
    if (this.killEndsChild || signal === 9) c.exit = [-1, signal];
  }

  closeFd(fd: number): void {
    this.closed.push(fd);
  }
}

/** A running rdb child on a WatchingSystem, with the exits its owner was told of. */
function watchedChild() {
  const sys = new WatchingSystem();
  const log = new Logger();
  log.setFile('/dev/null');
  const children = new Children(sys, log, () => 'notice');
  const exits: ChildExit[] = [];
  children.register('rdb', { onExit: (_child, exit) => exits.push(exit) });
  const child = children.start('rdb', 'test', () => sys.fork(3));
  return { sys, children, exits, child };
}

/** A FakeSystem whose report pipes can be "written to": the watch callback runs as uv_poll's would. */
class WatchingSystem extends FakeSystem {
  readonly watches = new Map<number, { fd: number; onReadable: () => void }>();
  private nextWatch = 1;

  watchFd(fd: number, onReadable: () => void): number {
    const id = this.nextWatch++;
    this.watches.set(id, { fd, onReadable });
    return id;
  }

  unwatchFd(id: number): void {
    this.watches.delete(id);
  }

  /** The child writes `reports` to its pipe. */
  write(pid: number, ...reports: (ChildReport | boolean)[]): void {
    const c = this.child(pid);
    c.reports.push(...reports);
    for (const w of [...this.watches.values()]) if (w.fd === c.fd) w.onReadable();
  }
}

class FakeEngine implements RdbEngine {
  saveError: string | null = null;
  forkError: string | null = null;
  saves = 0;
  forkArgs: unknown[] = [];
  constructor(private readonly sys: FakeSystem, private readonly keys: () => number) {}

  forkRdb(filename: string, compress: boolean, checksum: boolean, delay: number): [number, number, number, number] {
    if (this.forkError) throw new Error(this.forkError);
    this.forkArgs = [filename, compress, checksum, delay];
    const f = this.sys.fork(this.keys());
    return [f.pid, f.readFd, f.forkUsec, f.totalKeys];
  }

  saveRdb(): [number, number] {
    if (this.saveError) throw new Error(this.saveError);
    this.saves++;
    return [this.keys(), 100];
  }

  loadRdb(): { keysLoaded: number; keysExpired: number } {
    return { keysLoaded: 0, keysExpired: 0 };
  }

}

interface Harness {
  sys: FakeSystem;
  engine: FakeEngine;
  persistence: Persistence;
  config: Config;
  host: { config: Config; log: Logger; loading: boolean; execDepth: number };
  clock: { now: number };
  dirty: { value: number };
  logText(): string;
  commands: Map<string, Handler>;
  run(...args: string[]): string;
}

function harness(argv: string[] = ['--save', ''], system: Partial<PersistenceDeps> = {}): Harness {
  const sys = new FakeSystem();
  const dirty = { value: 0 };
  const engine = new FakeEngine(sys, () => 42);
  const clock = { now: 1_800_000_000_000 };
  const config = loadConfig(['--loglevel', 'notice', ...argv]);
  const logFile = path.join(tempDir('keyfork-unit-'), 'log');
  const log = new Logger();
  log.setLevel('notice');
  log.setFile(logFile);
  const host = { config, log, loading: false, asyncLoading: false, execDepth: 0 };
  const deps: PersistenceDeps = {
    system: sys,
    engine: () => engine,
    dirty: () => dirty.value,
    subtractDirty: (n) => {
      dirty.value = Math.max(0, dirty.value - n);
    },
    flushAll: () => {},
    disableThp: () => true,
    readSystemFile: () => null,
    freeBytes: () => 5_000_000,
    fileBytes: () => -1,
    now: () => clock.now,
    ...system,
  };
  const persistence = new Persistence(host, deps);
  const commands = new Map(persistenceCommands());
  const server = { persistence, get execDepth() { return host.execDepth; }, config, log };
  const run = (...args: string[]): string => {
    const out = new ReplyWriter(256);
    const ctx = { server, client: { addr: '127.0.0.1:5000', name: '' }, out, req: makeRequest(args), name: args[0].toLowerCase() } as unknown as Ctx;
    const handler = commands.get(args[0].toLowerCase());
    if (!handler) throw new Error(`no handler for ${args[0]}`);
    try {
      handler(ctx);
    } catch (err) {
      if (err instanceof ReplyError) return `-${err.message}`;
      throw err;
    }
    return out.take().toString('latin1').replace(/\r\n$/, '');
  };
  return { sys, engine, persistence, config, host, clock, dirty, logText: () => fs.readFileSync(logFile, 'utf8'), commands, run };
}

function info(p: Persistence): Map<string, string> {
  return new Map(p.infoFields());
}

const progress = (keys: number, bytes: number, cow: number, at: number): ChildReport => [1, keys, bytes, cow, at];
const logRecord = (level: number, text: string, at: number): ChildReport => [2, at, level, text];
const done = (keys: number, bytes: number, cow: number, at: number): ChildReport => [3, keys, bytes, cow, at];

const ANOTHER_CHILD =
  "-ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";

// ---------------------------------------------------------------------------------------------

describe('BGSAVE / SAVE / LASTSAVE replies', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });

  it('starts a save, refuses a second one and SAVE while it runs', () => {
    expect(h.run('BGSAVE')).toBe('+Background saving started');
    expect(h.run('BGSAVE')).toBe('-ERR Background save already in progress');
    expect(h.run('BGSAVE', 'SCHEDULE')).toBe('-ERR Background save already in progress');
    expect(h.run('SAVE')).toBe('-ERR Background save already in progress');
    expect(h.run('BGSAVE', 'bogus')).toBe('-ERR syntax error');
    expect(h.run('BGSAVE', 'schedule', 'x')).toBe('-ERR syntax error');
    expect(h.engine.forkArgs).toEqual(['dump.rdb', true, true, 0]);
  });

  it('refuses BGSAVE while another kind of child runs, and schedules BGSAVE SCHEDULE after it', () => {
    const aofEnded: number[] = [];
    h.persistence.children.register('aof', { onExit: (c) => aofEnded.push(c.pid) });
    const aof = h.persistence.children.start('aof', 'test', () => h.sys.fork(0));
    expect(h.run('BGSAVE')).toBe(ANOTHER_CHILD);
    expect(h.run('BGSAVE', 'SCHEDULE')).toBe('+Background saving scheduled');
    expect(info(h.persistence).get('keyfork_child_type')).toBe('aof-rewrite');
    expect(info(h.persistence).get('keyfork_child_trigger')).toBe('test');
    expect(info(h.persistence).get('keyfork_scheduled_rdb')).toBe('BGSAVE SCHEDULE from 127.0.0.1:5000');
    expect(h.persistence.infoFields()).toContainEqual(['aof_rewrite_in_progress', '1']);
    expect(h.persistence.infoFields()).toContainEqual(['rdb_bgsave_in_progress', '0']);
    // SAVE is only refused by an RDB child, as in Redis.
    expect(h.run('SAVE')).toBe('+OK');
    h.persistence.cron();
    expect(h.persistence.children.active?.kind).toBe('aof');
    h.sys.child(aof.pid).exit = [0, 0];
    h.persistence.cron();
    expect(aofEnded).toEqual([aof.pid]);
    expect(h.persistence.children.active?.kind).toBe('rdb');
    expect(h.persistence.children.active?.trigger).toBe('BGSAVE SCHEDULE from 127.0.0.1:5000');
    expect(info(h.persistence).get('keyfork_scheduled_rdb')).toBe('');
    expect(h.persistence.children.isScheduled('rdb')).toBe(false);
    expect(h.logText()).toMatch(/Background saving started by pid \d+/);
  });

  it('schedules BGSAVE issued inside EXEC instead of forking mid-transaction', () => {
    h.host.execDepth = 1;
    expect(h.run('BGSAVE')).toBe('+Background saving scheduled');
    h.host.execDepth = 0;
    expect(h.persistence.children.busy()).toBe(false);
    h.persistence.cron();
    expect(h.persistence.children.active?.kind).toBe('rdb');
  });

  it('answers a bare ERR when the fork fails and marks the status err', () => {
    h.engine.forkError = "Can't save in background: fork: Cannot allocate memory";
    expect(h.run('BGSAVE')).toBe('-ERR');
    expect(info(h.persistence).get('rdb_last_bgsave_status')).toBe('err');
    expect(info(h.persistence).get('rdb_saves')).toBe('1');
    expect(h.logText()).toContain("# Can't save in background: fork: Cannot allocate memory\n");
  });

  it('names what triggered the last save, background or foreground', () => {
    expect(info(h.persistence).get('keyfork_last_save_trigger')).toBe('');
    expect(info(h.persistence).get('keyfork_child_type')).toBe('none');
    expect(h.run('SAVE')).toBe('+OK');
    expect(info(h.persistence).get('keyfork_last_save_trigger')).toBe('SAVE from 127.0.0.1:5000');
    expect(h.persistence.reload([], 'DEBUG RELOAD from 127.0.0.1:5002')).toBe(null);
    expect(info(h.persistence).get('keyfork_last_save_trigger')).toBe('DEBUG RELOAD from 127.0.0.1:5002');
  });

  it('SAVE saves in the foreground, counts in rdb_saves, resets dirty and moves LASTSAVE', () => {
    h.dirty.value = 7;
    h.clock.now += 10_000;
    expect(h.run('SAVE')).toBe('+OK');
    expect(h.dirty.value).toBe(0);
    expect(h.run('LASTSAVE')).toBe(`:${Math.floor(h.clock.now / 1000)}`);
    expect(info(h.persistence).get('rdb_saves')).toBe('1');
    expect(h.logText()).toContain('* DB saved on disk\n');
  });

  it('SAVE that fails answers a bare ERR, logs the reason and keeps the changes', () => {
    h.dirty.value = 3;
    const before = h.run('LASTSAVE');
    h.engine.saveError = 'Failed opening the temp RDB file temp-1.rdb (in server root dir /x) for saving: No such file or directory';
    expect(h.run('SAVE')).toBe('-ERR');
    expect(h.dirty.value).toBe(3);
    expect(h.run('LASTSAVE')).toBe(before);
    // A foreground failure is not a BGSAVE failure: no MISCONF from it.
    expect(info(h.persistence).get('rdb_last_bgsave_status')).toBe('ok');
    expect(h.logText()).toContain('# Failed opening the temp RDB file temp-1.rdb');
  });
});

describe('the end of a background save', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness(['--save', '3600 1']);
  });

  function startSave(): number {
    expect(h.run('BGSAVE')).toBe('+Background saving started');
    const pid = h.persistence.children.active?.pid;
    if (!pid) throw new Error('no child');
    return pid;
  }

  it('on success subtracts only the changes made before the fork', () => {
    h.dirty.value = 10;
    const pid = startSave();
    h.dirty.value = 15; // 5 writes during the save
    h.clock.now += 3000;
    h.sys.child(pid).reports.push(logRecord(2, 'DB saved on disk', h.clock.now), done(42, 999, 4096, h.clock.now));
    h.sys.child(pid).exit = [0, 0];
    h.persistence.cron();
    expect(h.dirty.value).toBe(5);
    const i = info(h.persistence);
    expect(i.get('rdb_last_bgsave_status')).toBe('ok');
    expect(i.get('rdb_last_bgsave_time_sec')).toBe('3');
    expect(i.get('rdb_last_cow_size')).toBe('4096');
    expect(i.get('rdb_last_save_time')).toBe(String(Math.floor(h.clock.now / 1000)));
    expect(i.get('rdb_bgsave_in_progress')).toBe('0');
    expect(i.get('current_save_keys_total')).toBe('0');
    expect(h.sys.closed).toContain(h.sys.child(pid).fd);
    const log = h.logText();
    expect(log).toContain(`${pid}:C `);
    expect(log).toMatch(new RegExp(`${pid}:C \\d\\d \\w{3} \\d{4} [\\d:.]+ \\* DB saved on disk\\n`));
    expect(log).toMatch(/\d+:M .* \* Background saving terminated with success\n/);
  });

  it('a child killed by a signal is an error (MISCONF), its temp file is removed', () => {
    const cwd = process.cwd();
    const dir = tempDir('keyfork-unit-dir-');
    process.chdir(dir);
    try {
      const pid = startSave();
      fs.writeFileSync(`temp-${pid}.rdb`, 'partial');
      h.sys.child(pid).exit = [-1, 9];
      h.persistence.cron();
      expect(fs.existsSync(`temp-${pid}.rdb`)).toBe(false);
    } finally {
      process.chdir(cwd);
    }
    expect(info(h.persistence).get('rdb_last_bgsave_status')).toBe('err');
    expect(info(h.persistence).get('keyfork_last_bgsave_error')).toBe('the child was terminated by signal 9');
    expect(h.persistence.writesRefused()).toBe(true);
    expect(h.logText()).toContain('# Background saving terminated by signal 9\n');
    // stop-writes-on-bgsave-error no, or no save rules: writes are accepted again.
    h.config.configSet([['stop-writes-on-bgsave-error', 'no']]);
    expect(h.persistence.writesRefused()).toBe(false);
  });

  it('SIGUSR1 (the server stopping its own save) is not an error', () => {
    const pid = startSave();
    h.sys.child(pid).exit = [-1, SIGUSR1];
    h.persistence.cron();
    expect(info(h.persistence).get('rdb_last_bgsave_status')).toBe('ok');
    expect(h.logText()).toContain('# Background saving terminated by signal 10\n');
  });

  it('a child that exits 1 logs its reason, then Background saving error', () => {
    const pid = startSave();
    h.sys.child(pid).reports.push(logRecord(3, 'Write error saving DB on disk: No space left on device', h.clock.now));
    h.sys.child(pid).exit = [1, 0];
    h.persistence.cron();
    expect(h.logText()).toMatch(/# Write error saving DB on disk: No space left on device\n.*# Background saving error\n/s);
    expect(info(h.persistence).get('keyfork_last_bgsave_error')).toBe('Write error saving DB on disk: No space left on device');
    expect(h.persistence.writesRefused()).toBe(true);
    // A successful SAVE clears the error state, as rdbSave does.
    expect(h.run('SAVE')).toBe('+OK');
    expect(h.persistence.writesRefused()).toBe(false);
  });

  it('reports progress, copy-on-write and an ETA while the child runs', () => {
    const t0 = h.clock.now;
    const pid = startSave();
    h.clock.now = t0 + 2000;
    h.sys.child(pid).reports.push(progress(21, 5000, 8192, t0 + 1000), progress(21, 5000, 8192, t0 + 1900));
    let i = info(h.persistence);
    expect(i.get('rdb_bgsave_in_progress')).toBe('1');
    expect(i.get('rdb_current_bgsave_time_sec')).toBe('2');
    expect(i.get('current_save_keys_processed')).toBe('21');
    expect(i.get('current_save_keys_total')).toBe('42');
    expect(i.get('current_fork_perc')).toBe('50.00');
    expect(i.get('current_cow_size')).toBe('8192');
    expect(i.get('current_cow_peak')).toBe('8192');
    expect(i.get('current_cow_size_age')).toBe('1'); // sampled at t0+1000, repeated at t0+1900
    expect(i.get('keyfork_save_progress_perc')).toBe('50.00');
    expect(i.get('keyfork_save_eta_sec')).toBe('2');
    expect(i.get('keyfork_save_bytes_written')).toBe('5000');
    expect(i.get('keyfork_save_elapsed_ms')).toBe('2000');
    expect(i.get('keyfork_save_child_pid')).toBe(String(pid));
    expect(i.get('keyfork_child_type')).toBe('rdb');
    expect(i.get('keyfork_child_trigger')).toBe('BGSAVE from 127.0.0.1:5000');
    expect(i.get('keyfork_child_pid')).toBe(String(pid));
    expect(i.get('keyfork_child_start_time')).toBe(String(Math.floor(t0 / 1000)));
    expect(i.get('keyfork_child_elapsed_ms')).toBe('2000');
    expect(i.get('keyfork_child_progress_perc')).toBe('50.00');
    expect(i.get('keyfork_child_eta_sec')).toBe('2');
    expect(i.get('keyfork_child_bytes_written')).toBe('5000');
    expect(i.get('keyfork_dir_free_bytes')).toBe('5000000');
    expect(i.get('keyfork_rdb_file_bytes')).toBe('-1');
    h.sys.child(pid).reports.push(progress(40, 9000, 4096, t0 + 2000));
    i = info(h.persistence);
    expect(i.get('current_cow_size')).toBe('4096');
    expect(i.get('current_cow_peak')).toBe('8192');
  });

  it('prints every INFO persistence field of Redis 7.0 in order, then keyfork fields', () => {
    const names = h.persistence.infoFields().map(([k]) => k);
    expect(names).toEqual([
      'loading', 'async_loading', 'current_cow_peak', 'current_cow_size', 'current_cow_size_age', 'current_fork_perc',
      'current_save_keys_processed', 'current_save_keys_total', 'rdb_changes_since_last_save', 'rdb_bgsave_in_progress',
      'rdb_last_save_time', 'rdb_last_bgsave_status', 'rdb_last_bgsave_time_sec', 'rdb_current_bgsave_time_sec', 'rdb_saves',
      'rdb_last_cow_size', 'rdb_last_load_keys_expired', 'rdb_last_load_keys_loaded', 'aof_enabled', 'aof_rewrite_in_progress',
      'aof_rewrite_scheduled', 'aof_last_rewrite_time_sec', 'aof_current_rewrite_time_sec', 'aof_last_bgrewrite_status',
      'aof_rewrites', 'aof_rewrites_consecutive_failures', 'aof_last_write_status', 'aof_last_cow_size',
      'module_fork_in_progress', 'module_fork_last_cow_size',
      'keyfork_save_progress_perc', 'keyfork_save_eta_sec', 'keyfork_save_bytes_written', 'keyfork_save_elapsed_ms',
      'keyfork_save_child_pid', 'keyfork_last_bgsave_error', 'keyfork_last_save_trigger', 'keyfork_last_bgsave_trigger',
      'keyfork_last_bgsave_stopped_by', 'keyfork_rdb_file_bytes', 'keyfork_dir_free_bytes',
      'keyfork_child_type', 'keyfork_child_trigger', 'keyfork_child_pid', 'keyfork_child_start_time', 'keyfork_child_elapsed_ms',
      'keyfork_child_progress_perc', 'keyfork_child_eta_sec', 'keyfork_child_bytes_written',
      'keyfork_scheduled_rdb', 'keyfork_scheduled_aof_rewrite', 'keyfork_scheduled_sync',
    ]);
  });
});

describe('save rules', () => {
  it('start a BGSAVE with Redis log line once changes and seconds are reached', () => {
    const h = harness(['--save', '300 10 60 10000']);
    h.dirty.value = 10_000;
    h.persistence.cron();
    expect(h.persistence.children.busy()).toBe(false); // 60 s have not passed
    h.clock.now += 61_000;
    h.persistence.cron();
    expect(h.persistence.children.active?.kind).toBe('rdb');
    expect(h.logText()).toMatch(/\* 10000 changes in 60 seconds\. Saving\.\.\.\n.*\* Background saving started by pid \d+\n/s);
    expect(info(h.persistence).get('keyfork_child_trigger')).toBe('save rule "60 10000": 10000 changes in 61 seconds');
  });

  it('wait CONFIG_BGSAVE_RETRY_DELAY after a failed save, but a manual BGSAVE goes at once', () => {
    const h = harness(['--save', '1 1']);
    h.dirty.value = 5;
    h.clock.now += 2000;
    h.persistence.cron();
    const first = h.persistence.children.active!.pid;
    h.sys.child(first).exit = [1, 0];
    h.persistence.cron(); // reaped: failed
    expect(h.persistence.children.busy()).toBe(false);
    h.clock.now += BGSAVE_RETRY_DELAY_SEC * 1000;
    h.persistence.cron();
    expect(h.persistence.children.busy()).toBe(false); // not yet: strictly more than the delay
    expect(h.run('BGSAVE')).toBe('+Background saving started');
    const manual = h.persistence.children.active!.pid;
    h.sys.child(manual).exit = [1, 0];
    h.persistence.cron();
    h.clock.now += (BGSAVE_RETRY_DELAY_SEC + 1) * 1000;
    h.persistence.cron();
    expect(h.persistence.children.active?.kind).toBe('rdb');
    expect(h.logText().match(/1 changes in 1 seconds\. Saving\.\.\./g)).toHaveLength(2);
  });

  it('follow CONFIG SET save', () => {
    const h = harness(['--save', '']);
    h.dirty.value = 1;
    h.clock.now += 5000;
    h.persistence.cron();
    expect(h.persistence.children.busy()).toBe(false);
    h.config.configSet([['save', '2 1']]);
    h.persistence.cron();
    expect(h.persistence.children.busy()).toBe(true);
  });
});

describe('FLUSHALL and SHUTDOWN around a running save', () => {
  it('FLUSHALL kills the running save (SIGUSR1, not an error) and saves when save rules exist', () => {
    const h = harness(['--save', '3600 1']);
    expect(h.run('BGSAVE')).toBe('+Background saving started');
    const pid = h.persistence.children.active!.pid;
    h.dirty.value = 4;
    h.persistence.afterFlushAll('FLUSHALL from 127.0.0.1:5001');
    expect(h.sys.child(pid).signals).toEqual([SIGUSR1]);
    expect(h.persistence.children.busy()).toBe(false);
    expect(h.engine.saves).toBe(1);
    expect(h.dirty.value).toBe(0);
    expect(info(h.persistence).get('rdb_last_bgsave_status')).toBe('ok');
    expect(info(h.persistence).get('rdb_saves')).toBe('1'); // FLUSHALL's save is not counted
    expect(info(h.persistence).get('keyfork_last_bgsave_trigger')).toBe('BGSAVE from 127.0.0.1:5000');
    expect(info(h.persistence).get('keyfork_last_bgsave_stopped_by')).toBe('FLUSHALL from 127.0.0.1:5001');
    expect(info(h.persistence).get('keyfork_last_save_trigger')).toBe('FLUSHALL from 127.0.0.1:5001');
  });

  it('a stopped child that needed SIGKILL still counts as stopped by the server, not failed', () => {
    const h = harness(['--save', '']);
    h.run('BGSAVE');
    const pid = h.persistence.children.active!.pid;
    h.sys.killEndsChild = false; // inherited handlers swallow SIGUSR1
    h.persistence.afterFlushAll('FLUSHALL');
    expect(h.sys.child(pid).signals).toEqual([SIGUSR1, 9]);
    expect(info(h.persistence).get('rdb_last_bgsave_status')).toBe('ok');
    expect(h.logText()).toContain('# Background saving terminated by signal 10\n');
  });

  it('FLUSHALL without save rules does not save', () => {
    const h = harness(['--save', '']);
    h.dirty.value = 4;
    h.persistence.afterFlushAll('FLUSHALL');
    expect(h.engine.saves).toBe(0);
    expect(h.dirty.value).toBe(4);
  });

  it('a child that ignores SIGUSR1 is SIGKILLed before the shutdown save', () => {
    const h = harness(['--save', '3600 1']);
    h.run('BGSAVE');
    const pid = h.persistence.children.active!.pid;
    h.sys.killEndsChild = false;
    expect(h.persistence.saveBeforeExit('SIGTERM')).toBe(true);
    expect(h.sys.child(pid).signals).toEqual([SIGUSR1, 9]);
    expect(h.logText()).toContain('# There is a child saving an .rdb. Killing it!\n');
    expect(h.persistence.children.busy()).toBe(false);
  });
});

describe('Children', () => {
  it('enforces one child at a time and counts forks', () => {
    const sys = new FakeSystem();
    const log = new Logger();
    log.setFile('/dev/null');
    const children = new Children(sys, log, () => 'notice');
    children.start('aof', 'test', () => sys.fork(3));
    expect(() => children.start('rdb', 'test', () => sys.fork(3))).toThrow(/already running/);
    expect(children.totalForks).toBe(1);
    expect(children.latestForkUsec).toBe(1234);
    children.resetStats();
    expect(children.totalForks).toBe(0);
  });

  it('hands a child to its owner as soon as it reports DONE, and reaps the exiting process later', () => {
    const { sys, children, exits, child } = watchedChild();
    expect(sys.watches.size).toBe(1);
    sys.write(child.pid, [1, 1, 10, 0, Date.now()]);
    expect(child.keysProcessed).toBe(1); // progress applies as it arrives, not at the next poll
    expect(exits).toEqual([]);
    sys.write(child.pid, done(3, 30, 0, Date.now()));
    // Still running as a process (its exit status is not there yet), but done for the server.
    expect(exits).toEqual([{ code: 0, signal: 0 }]);
    expect(children.busy()).toBe(false);
    expect(sys.watches.size).toBe(0);
    expect(sys.closed).toContain(child.readFd);
    // The next poll collects the exit status (no zombie is left), without a second onExit.
    sys.child(child.pid).exit = [0, 0];
    const waited: number[] = [];
    const wait = sys.waitChild.bind(sys);
    sys.waitChild = (pid: number) => {
      waited.push(pid);
      return wait(pid);
    };
    children.poll();
    expect(waited).toEqual([child.pid]);
    children.poll();
    expect(waited).toEqual([child.pid]);
    expect(exits.length).toBe(1);
  });

  it('reaps a child whose pipe closed without DONE (a failure) as soon as it exited', () => {
    const { sys, children, exits, child } = watchedChild();
    sys.child(child.pid).exit = [1, 0];
    sys.write(child.pid, logRecord(3, 'Write error saving DB on disk', Date.now()), true);
    expect(exits).toEqual([{ code: 1, signal: 0 }]);
    expect(children.busy()).toBe(false);
  });

  it('drops child log lines below the configured loglevel', () => {
    const sys = new FakeSystem();
    const dir = tempDir('keyfork-unit-');
    const log = new Logger();
    log.setFile(path.join(dir, 'log'));
    let level = 'warning';
    const children = new Children(sys, log, () => level);
    const child = children.start('rdb', 'test', () => sys.fork(3));
    sys.child(child.pid).reports.push(logRecord(2, 'DB saved on disk', Date.now()), logRecord(3, 'boom', Date.now()));
    children.drainReports();
    level = 'notice';
    sys.child(child.pid).reports.push(logRecord(2, 'shown', Date.now()), true);
    children.drainReports();
    const text = fs.readFileSync(path.join(dir, 'log'), 'utf8');
    expect(text).not.toContain('DB saved on disk');
    expect(text).toContain(`${child.pid}:C `);
    expect(text).toContain('# boom');
    expect(text).toContain('* shown');
    expect(child.pipeOpen).toBe(false);
  });
});

describe('start-up warnings and rdb-del-sync-files', () => {
  const THP_ALWAYS = '[always] madvise never';

  async function startUp(argv: string[], files: Record<string, string>, disableThp: () => boolean): Promise<string> {
    const cwd = process.cwd();
    process.chdir(tempDir('keyfork-unit-start-'));
    try {
      const h = harness(argv, { readSystemFile: (f) => files[f] ?? null, disableThp });
      await h.persistence.loadAtStartup();
      return h.logText();
    } finally {
      process.chdir(cwd);
    }
  }

  it('disable-thp turns THP off instead of warning; the warning when it cannot', async () => {
    const files = { '/sys/kernel/mm/transparent_hugepage/enabled': THP_ALWAYS, '/proc/sys/vm/overcommit_memory': '1' };
    let asked = 0;
    const quiet = await startUp([], files, () => ++asked > 0);
    expect(asked).toBe(1);
    expect(quiet).not.toContain('Transparent Huge Pages');
    const failed = await startUp([], files, () => false);
    expect(failed).toContain("# WARNING You have Transparent Huge Pages (THP) support enabled in your kernel. This will create latency and memory usage issues with Redis. To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, and add it to your /etc/rc.local in order to retain the setting after a reboot. Redis must be restarted after THP is disabled (set to 'madvise' or 'never').\n");
    asked = 0;
    const off = await startUp(['--disable-thp', 'no'], files, () => ++asked > 0);
    expect(asked).toBe(0);
    expect(off).toContain('WARNING You have Transparent Huge Pages');
    const madvise = await startUp([], { ...files, '/sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never' }, () => false);
    expect(madvise).not.toContain('Transparent Huge Pages');
    expect(madvise).not.toContain('overcommit');
    const overcommit = await startUp([], { '/proc/sys/vm/overcommit_memory': '0' }, () => true);
    expect(overcommit).toContain('# WARNING Memory overcommit must be enabled!');
  });

  it('an RDB written only for replicas is removed once no replica needs it, without save rules', () => {
    const cwd = process.cwd();
    process.chdir(tempDir('keyfork-unit-sync-'));
    try {
      const h = harness(['--save', '', '--rdb-del-sync-files', 'yes']);
      let replicasWaiting = true;
      h.persistence.replicasNeedRdbFile = () => replicasWaiting;
      expect(h.persistence.startBackgroundSave('test', { forReplication: true })).toBe(true);
      const pid = h.persistence.children.active!.pid;
      fs.writeFileSync('dump.rdb', 'for replicas');
      h.sys.child(pid).exit = [0, 0];
      h.persistence.cron();
      expect(fs.existsSync('dump.rdb')).toBe(true); // a replica still reads it
      replicasWaiting = false;
      h.persistence.cron();
      expect(fs.existsSync('dump.rdb')).toBe(false);
      expect(h.logText()).toContain('* Removing the RDB file used to feed replicas in a persistence-less instance\n');
      // A BGSAVE of the user's own is never removed.
      h.run('BGSAVE');
      fs.writeFileSync('dump.rdb', 'user save');
      h.sys.child(h.persistence.children.active!.pid).exit = [0, 0];
      h.persistence.cron();
      h.persistence.cron();
      expect(fs.existsSync('dump.rdb')).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});
