// What an operator sees of the server process and its forked children, as Redis 7.0 sets it:
// the title `ps` shows (set-proc-title, proc-title-template). The OS calls are in the addon
// (native/src/procctl.rs); a child takes on what prepareChild() gave it right after its fork.
import type { Config } from './config';
import type { ConfigView } from './config/codecs';
import { consume } from './config/consumers';
import { expandProcTitleTemplate } from './config/table';
import { native, type NativeAddon } from './native';
import type { ChildKind } from './persistence/children';

const SET_PROC_TITLE = consume('set-proc-title', 'test/server/proc-title.test.ts');
const PROC_TITLE_TEMPLATE = consume('proc-title-template', 'test/server/proc-title.test.ts');

/**
 * {title} of the server itself: Redis puts its argv[0] there ("redis-server"). keyfork runs
 * inside `node`, whose argv[0] says nothing; the command it installs is this one.
 */
export const PROGRAM_TITLE = 'keyfork-server';

/** The {title} each kind of child shows (rdbSaveBackground, rewriteAppendOnlyFileBackground, rdbSaveToSlavesSockets). */
export const CHILD_TITLES: Record<ChildKind, string> = {
  rdb: 'redis-rdb-bgsave',
  aof: 'redis-aof-rewrite',
  sync: 'redis-rdb-to-slaves',
};

export type ProcSystem = Pick<NativeAddon, 'prepareChild' | 'threadName' | 'setThreadName' | 'titleCapacity'>;

export class ProcessControl {
  /** The thread name the process started with, which Redis's title never changes. */
  private readonly comm: string;

  constructor(
    private readonly config: Config,
    private readonly sys: ProcSystem = native,
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
  }

  /** redisSetProcTitle: the template with {title} = `title`, or the program's own name. */
  setTitle(title: string | null): boolean {
    const text = this.expand(title ?? PROGRAM_TITLE);
    if (text === null) return false;
    process.title = text;
    // libuv also renames the thread (/proc/PID/comm) after the title's first 15 bytes; Redis's
    // setproctitle leaves the name alone.
    this.sys.setThreadName(this.comm);
    return true;
  }

  /** Just before a fork of `kind`: what the child sets first thing (see snapshot.rs). */
  prepareChild(kind: ChildKind): void {
    this.sys.prepareChild(this.expand(CHILD_TITLES[kind]), null, null);
  }

  private expand(title: string): string | null {
    const config = this.config;
    const view: ConfigView = { value: (name) => config.value(name), configFile: config.configFile, cwd: () => process.cwd() };
    return expandProcTitleTemplate(config.str(PROC_TITLE_TEMPLATE), title, view);
  }
}
