// The slow log (Redis's slowlog.c): calls that took at least slowlog-log-slower-than
// microseconds (negative: off), newest first, at most slowlog-max-len of them, each with its
// arguments (at most 32, each cut at 128 bytes, secrets redacted), the client's address and name.
import { migrateRedacted } from './monitor';
import type { Client } from './client';
import type { Command } from './commands/table';
import { arg, argStr, type Request } from './commands/types';
import type { Config } from './config';
import { consume } from './config/consumers';

const SLOWLOG_LOG_SLOWER_THAN = consume('slowlog-log-slower-than', 'test/server/slowlog-latency.test.ts');
const SLOWLOG_MAX_LEN = consume('slowlog-max-len', 'test/server/slowlog-latency.test.ts');

const MAX_ARGS = 32;
const MAX_ARG_BYTES = 128;
const REDACTED = Buffer.from('(redacted)');

export interface SlowlogEntry {
  id: number;
  /** Unix seconds. */
  time: number;
  usec: number;
  args: Buffer[];
  peer: string;
  name: string;
}

export class Slowlog {
  /** Oldest first; SLOWLOG GET reads from the end. */
  private entries: SlowlogEntry[] = [];
  private nextId = 0;
  private threshold = 10000;
  private maxLen = 128;

  constructor(
    config: Config,
    private readonly sensitiveConfig: (name: string) => boolean,
  ) {
    const refresh = () => {
      this.threshold = config.int(SLOWLOG_LOG_SLOWER_THAN);
      this.maxLen = config.int(SLOWLOG_MAX_LEN);
    };
    refresh();
    config.onChange(SLOWLOG_LOG_SLOWER_THAN, refresh);
    config.onChange(SLOWLOG_MAX_LEN, refresh);
  }

  /** slowlogPushCurrentCommand: logs the call when it was slow enough. */
  record(client: Client, cmd: Command, req: Request, usec: number): void {
    if (!this.wouldLog(usec) || cmd.flags.has('skip_slowlog')) return;
    this.entries.push({
      id: this.nextId++,
      time: Math.floor(Date.now() / 1000),
      usec,
      args: this.loggedArgs(cmd, req),
      peer: client.addr,
      name: client.name,
    });
    if (this.entries.length > this.maxLen) this.entries.splice(0, this.entries.length - this.maxLen);
  }

  /** The shortest call (us) that would be logged, Infinity when none would. */
  get minLoggedUsec(): number {
    return this.threshold >= 0 && this.maxLen !== 0 ? this.threshold : Infinity;
  }

  /** True when a call of `usec` microseconds would be logged (before looking at the command). */
  wouldLog(usec: number): boolean {
    return this.threshold >= 0 && this.maxLen !== 0 && usec >= this.threshold;
  }

  get length(): number {
    return this.entries.length;
  }

  /** The newest `count` entries, newest first. */
  newest(count: number): SlowlogEntry[] {
    return this.entries.slice(Math.max(0, this.entries.length - count)).reverse();
  }

  reset(): void {
    this.entries = [];
  }

  private loggedArgs(cmd: Command, req: Request): Buffer[] {
    const redacted = this.redactedFrom(cmd, req);
    const argc = req.argc;
    const kept = Math.min(argc, MAX_ARGS);
    const out: Buffer[] = [];
    for (let j = 0; j < kept; j++) {
      if (kept !== argc && j === kept - 1) {
        out.push(Buffer.from(`... (${argc - kept + 1} more arguments)`));
      } else if (redacted(j)) {
        out.push(REDACTED);
      } else {
        const a = arg(req, j);
        out.push(a.length > MAX_ARG_BYTES ? Buffer.concat([a.subarray(0, MAX_ARG_BYTES), Buffer.from(`... (${a.length - MAX_ARG_BYTES} more bytes)`)]) : Buffer.from(a));
      }
    }
    return out;
  }

  /**
   * The arguments Redis replaces with "(redacted)" (redactClientCommandArgument): passwords
   * of AUTH and HELLO's AUTH, MIGRATE's AUTH/AUTH2, ACL SETUSER's arguments, and values of
   * sensitive configs in CONFIG SET.
   */
  private redactedFrom(cmd: Command, req: Request): (j: number) => boolean {
    const name = cmd.name;
    if (name === 'auth') return (j) => j >= 1;
    // ACL SETUSER redacts its user name and every rule before it looks at them.
    if (name === 'acl|setuser') return (j) => j >= 2;
    const secret = new Set<number>();
    if (name === 'hello') {
      for (let j = 2; j < req.argc; j++) {
        if (argStr(req, j).toLowerCase() === 'auth' && j + 2 < req.argc) {
          secret.add(j + 1).add(j + 2);
          j += 2;
        }
      }
    } else if (name === 'migrate') {
      for (const j of migrateRedacted(req)) secret.add(j);
    } else if (name === 'config|set') {
      for (let j = 2; j + 1 < req.argc; j += 2) if (this.sensitiveConfig(argStr(req, j))) secret.add(j + 1);
    }
    return (j) => secret.has(j);
  }
}
