// What an operator sees of the server process and its forked children, as Redis 7.0 sets it:
// the title `ps` shows (set-proc-title, proc-title-template), the OOM killer's score
// (oom-score-adj, oom-score-adj-values) and the CPUs each may run on (*_cpulist). The OS calls
// are in the addon (native/src/procctl.rs); a child takes on what prepareChild() gave it right
// after its fork, as Redis's child sets its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from './config';
import { strerror } from './config/errors';
import type { Logger } from './log';
import type { ConfigView } from './config/codecs';
import { consume } from './config/consumers';
import { expandProcTitleTemplate } from './config/table';
import { native, type NativeAddon } from './native';
import type { ChildKind } from './persistence/children';

const SET_PROC_TITLE = consume('set-proc-title', 'test/server/proc-title.test.ts');
const PROC_TITLE_TEMPLATE = consume('proc-title-template', 'test/server/proc-title.test.ts');
const OOM_SCORE_ADJ = consume('oom-score-adj', 'test/server/oom-score-adj.test.ts');
const OOM_SCORE_ADJ_VALUES = consume('oom-score-adj-values', 'test/server/oom-score-adj.test.ts');
const SERVER_CPULIST = consume('server_cpulist', 'test/server/cpu-affinity.test.ts');
const BIO_CPULIST = consume('bio_cpulist', 'test/server/cpu-affinity.test.ts');
const AOF_REWRITE_CPULIST = consume('aof_rewrite_cpulist', 'test/server/cpu-affinity.test.ts');
const BGSAVE_CPULIST = consume('bgsave_cpulist', 'test/server/cpu-affinity.test.ts');

/** oom-score-adj-values' classes (CONFIG_OOM_MASTER, _REPLICA, _BGCHILD). */
const OOM_MASTER = 0;
const OOM_REPLICA = 1;
const OOM_BGCHILD = 2;

/** The command keyfork installs: {title} when it runs as `node .../main.js`. */
export const PROGRAM_TITLE = 'keyfork-server';

/**
 * The script as the process was started (`src/redis-server`, say), from /proc/self/cmdline:
 * Node turns process.argv[1] into an absolute path, which may not fit in the command line's
 * memory that a title can use. Read before the first title overwrites that memory.
 */
function scriptAsStarted(): string | undefined {
  try {
    const args = fs.readFileSync('/proc/self/cmdline', 'latin1').split('\0');
    return args[1 + process.execArgv.length] || process.argv[1];
  } catch {
    return process.argv[1];
  }
}

/**
 * {title} of the server itself. Redis puts its argv[0] there: the name it was run by. keyfork
 * runs inside `node`, whose argv[0] says nothing; its script comes next, as it was given (links
 * kept). Run as itself (its file, or npm's keyfork-server link) it is the command it installs;
 * run through a link named otherwise (a `redis-server` standing in for Redis's), that link, as
 * Redis would show it.
 */
export function invokedTitle(script = scriptAsStarted(), mainFile = require.main?.filename): string {
  if (!script || path.resolve(script) === mainFile || path.basename(script) === PROGRAM_TITLE) return PROGRAM_TITLE;
  return script;
}

/** The {title} each kind of child shows (rdbSaveBackground, rewriteAppendOnlyFileBackground, rdbSaveToSlavesSockets). */
export const CHILD_TITLES: Record<ChildKind, string> = {
  rdb: 'redis-rdb-bgsave',
  aof: 'redis-aof-rewrite',
  sync: 'redis-rdb-to-slaves',
};

export type ProcSystem = Pick<NativeAddon, 'prepareChild' | 'threadName' | 'setThreadName' | 'titleCapacity' | 'setAffinity' | 'setBioAffinity'>;

/**
 * Redis's setcpuaffinity list syntax: comma-separated CPUs or ranges `a-b`, a range with a
 * stride `a-b:s` ("0-7:2,9" is 0 2 4 6 9). Null for a list Redis would not apply (it then
 * leaves the affinity alone, silently).
 */
export function parseCpuList(list: string): number[] | null {
  const cpus: number[] = [];
  const num = (text: string): number | null => (/^\d+$/.test(text) ? Number(text) : null);
  for (const item of list.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(item);
    if (!m) return null;
    const a = num(m[1])!;
    const b = m[2] === undefined ? a : num(m[2])!;
    const stride = m[3] === undefined ? 1 : num(m[3])!;
    if (stride === 0 || a > b) return null;
    for (let c = a; c <= b && cpus.length < 4096; c += stride) cpus.push(c);
  }
  return cpus;
}

export class ProcessControl {
  /** {title} for the server itself, read while the command line is still the one it started with. */
  private readonly ownTitle = invokedTitle();
  /** The thread name the process started with, which Redis's title never changes. */
  private readonly comm: string;
  /** oom_score_adj before the server first changed it (Redis's oom_score_adj_base), once it did. */
  private oomBase: number | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly isReplica: () => boolean,
    private readonly sys: ProcSystem = native,
    private readonly oomFile = '/proc/self/oom_score_adj',
  ) {
    this.comm = sys.threadName();
  }

  /** Bytes of title /proc/PID/cmdline can show here (argv's memory; Redis also takes environ's). */
  titleCapacity(): number {
    return this.sys.titleCapacity();
  }

  /** At start-up, after the listeners are bound (Redis's main, after initServer). */
  start(): void {
    if (this.config.bool(SET_PROC_TITLE)) this.setTitle(null);
    // Redis's updateProcTitleTemplate: a new template is shown at once, set-proc-title or not.
    this.config.onApply(PROC_TITLE_TEMPLATE, () => {
      if (!this.setTitle(null)) throw new Error('failed to set process title');
    });
    // keyfork's background threads (bio's lazy free) start on demand: they read it then.
    const bio = this.cpuList(BIO_CPULIST);
    if (bio) this.sys.setBioAffinity(bio);
  }

  /** Once ready, as Redis's main does just before its event loop: the main thread's CPUs and OOM score. */
  ready(): void {
    const cpus = this.cpuList(SERVER_CPULIST);
    if (cpus) this.setAffinity(cpus);
    this.setOomScoreAdj();
    const apply = () => {
      if (!this.setOomScoreAdj()) throw new Error('Failed to set current oom_score_adj. Check server logs.');
    };
    this.config.onApply(OOM_SCORE_ADJ, apply);
    this.config.onApply(OOM_SCORE_ADJ_VALUES, () => {
      this.warnAboutOomOrder();
      apply();
    });
  }

  /** Redis's check of new oom-score-adj-values: kept, with a warning, when out of order. */
  warnAboutOomOrder(): void {
    const [master, replica, child] = this.config.str(OOM_SCORE_ADJ_VALUES).split(' ').map(Number);
    if (replica < master || child < replica) {
      this.log.warning('The oom-score-adj-values configuration may not work for non-privileged processes! Please consult the documentation.');
    }
  }

  /** The role changed (REPLICAOF): the score of the new class. */
  roleChanged(replica: boolean): void {
    this.setOomScoreAdj(replica ? OOM_REPLICA : OOM_MASTER);
  }

  private cpuList(d: typeof SERVER_CPULIST | typeof BIO_CPULIST | typeof AOF_REWRITE_CPULIST | typeof BGSAVE_CPULIST): number[] | null {
    const list = this.config.optionalStr(d);
    return list === null ? null : parseCpuList(list);
  }

  private setAffinity(cpus: number[]): void {
    try {
      this.sys.setAffinity(cpus);
    } catch {
      // Redis ignores sched_setaffinity's failure (no CPU of the list exists here).
    }
  }

  /**
   * setOOMScoreAdj: `processClass` (default: master or replica) from oom-score-adj-values,
   * added to the score the process started with when relative, within -1000..1000; back to
   * that score when turned off. False (logged) when /proc refused.
   */
  setOomScoreAdj(processClass?: number): boolean {
    const value = this.oomValue(processClass ?? (this.isReplica() ? OOM_REPLICA : OOM_MASTER));
    if (value === undefined) return false;
    if (value === null) return true;
    if (this.config.str(OOM_SCORE_ADJ) === 'no') this.oomBase = null;
    try {
      fs.writeFileSync(this.oomFile, `${value}\n`);
      return true;
    } catch (err) {
      this.log.warning(`Unable to write oom_score_adj: ${strerror(err)}`);
      return false;
    }
  }

  /** The score to write for `processClass`; null: nothing to write; undefined: the base could not be read. */
  private oomValue(processClass: number): number | null | undefined {
    const mode = this.config.str(OOM_SCORE_ADJ);
    if (mode === 'no') return this.oomBase;
    if (this.oomBase === null) {
      try {
        this.oomBase = Number.parseInt(fs.readFileSync(this.oomFile, 'latin1'), 10) || 0;
      } catch (err) {
        this.log.warning(`Unable to read oom_score_adj: ${strerror(err)}`);
        return undefined;
      }
    }
    const values = this.config.str(OOM_SCORE_ADJ_VALUES).split(' ').map(Number);
    const value = values[processClass] + (mode === 'absolute' ? 0 : this.oomBase);
    return Math.max(-1000, Math.min(1000, value));
  }

  /** redisSetProcTitle: the template with {title} = `title`, or the program's own name. */
  setTitle(title: string | null): boolean {
    const text = this.expand(title ?? this.ownTitle);
    if (text === null) return false;
    process.title = text;
    // libuv also renames the thread (/proc/PID/comm) after the title's first 15 bytes; Redis's
    // setproctitle leaves the name alone.
    this.sys.setThreadName(this.comm);
    return true;
  }

  /** Just before a fork of `kind`: what the child sets first thing (see snapshot.rs). */
  prepareChild(kind: ChildKind): void {
    const oom = this.oomValue(OOM_BGCHILD);
    const cpus = this.cpuList(kind === 'aof' ? AOF_REWRITE_CPULIST : BGSAVE_CPULIST);
    this.sys.prepareChild(this.expand(CHILD_TITLES[kind]), oom ?? null, cpus);
  }

  private expand(title: string): string | null {
    const config = this.config;
    const view: ConfigView = { value: (name) => config.value(name), configFile: config.configFile, cwd: () => process.cwd() };
    return expandProcTitleTemplate(config.str(PROC_TITLE_TEMPLATE), title, view);
  }
}
