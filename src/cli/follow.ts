// `keyfork bgsave --wait` / `keyfork bgrewriteaof --wait`: start the work (or join the running
// one), follow it with a progress bar drawn by cli-progress from INFO, and end with its outcome.
// A refused BGSAVE says what it ran into, from the same model `keyfork status` shows.
import { SingleBar } from 'cli-progress';
import type { RespClient } from './resp-client';
import { describeRunningChild, formatBytes, formatClock, formatCount } from './render';
import { buildStatus, num, readInfo, type ChildType, type Info, type StatusModel } from './status';

const POLL_MS = 200;

/** How one kind of work shows in INFO (Redis's fields, so it works against Redis too). */
export interface WorkKind {
  child: ChildType;
  /** Counts started runs: the run we follow is number `before + 1`. */
  counter: string;
  running(info: Info): boolean;
  status: string;
  /** keyfork's reason for the last failure. */
  errorField: string;
  noun: string;
}

export const RDB_SAVE: WorkKind = {
  child: 'rdb',
  counter: 'rdb_saves',
  running: (info) => num(info, 'rdb_bgsave_in_progress', 0) === 1,
  status: 'rdb_last_bgsave_status',
  errorField: 'keyfork_last_bgsave_error',
  noun: 'Background saving',
};

export const AOF_REWRITE: WorkKind = {
  child: 'aof-rewrite',
  counter: 'aof_rewrites',
  running: (info) => num(info, 'aof_rewrite_in_progress', 0) === 1 || num(info, 'aof_rewrite_scheduled', 0) === 1,
  status: 'aof_last_bgrewrite_status',
  errorField: 'keyfork_last_aof_rewrite_error',
  noun: 'Background AOF rewrite',
};

export type Outcome = { ok: true; keys: number; bytes: number | null; elapsedMs: number } | { ok: false; reason: string };

export class Follower {
  private lastKeys = 0;
  private lastBytes: number | null = null;
  private lastElapsedMs = 0;
  private bar: SingleBar | null = null;
  private readonly started = Date.now();

  constructor(
    private readonly client: RespClient,
    private readonly kind: WorkKind,
    private readonly addr: string,
    private readonly tty: boolean,
  ) {}

  async status(): Promise<{ info: Info; model: StatusModel }> {
    const info = await readInfo(this.client);
    return { info, model: buildStatus(info, { save: null, dir: null, dbfilename: null }, this.addr) };
  }

  /** Polls until run number `target` of this kind has ended; draws its progress meanwhile. */
  async follow(target: number): Promise<Outcome> {
    for (;;) {
      const { info, model } = await this.status();
      const count = num(info, this.kind.counter, 0);
      const running = this.kind.running(info);
      const child = model.child;
      if (count === target && running && child?.type === this.kind.child) this.draw(child.keysDone, child.keysTotal, child.bytesWritten, child.elapsedMs, child.etaSec);
      if ((count === target && !running) || count > target) {
        const ok = info.get(this.kind.status) === 'ok';
        // Done: every key counted at the fork was visited.
        if (ok) this.bar?.update(this.lastKeys, { keys: `${formatCount(this.lastKeys)}/${formatCount(this.lastKeys)} keys`, left: '0:00' });
        this.stopBar();
        if (ok) {
          return { ok: true, keys: this.lastKeys, bytes: this.lastBytes, elapsedMs: Math.max(this.lastElapsedMs, Date.now() - this.started) };
        }
        const detail = info.get(this.kind.errorField);
        return { ok: false, reason: detail ? detail : `${this.kind.status}:err (see the server log)` };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private draw(keys: number, total: number, bytes: number | null, elapsedMs: number, etaSec: number | null): void {
    this.lastKeys = total; // a run that ends successfully visited every key it counted
    this.lastBytes = bytes;
    this.lastElapsedMs = elapsedMs;
    const payload = {
      keys: `${formatCount(keys)}/${formatCount(total)} keys`,
      written: bytes !== null ? ` | ${formatBytes(bytes)}` : '',
      elapsed: formatClock(elapsedMs),
      left: etaSec !== null ? formatClock(etaSec * 1000) : '--:--',
    };
    if (!this.bar) {
      this.bar = new SingleBar({
        format: '{bar} {percentage}% | {keys}{written} | elapsed {elapsed} | ETA {left}',
        barCompleteChar: this.tty ? '\u2588' : '#',
        barIncompleteChar: this.tty ? '\u2591' : '.',
        barsize: 24,
        hideCursor: true,
        // Not a terminal (a log, a pipe): a line a second instead of a redrawn bar.
        noTTYOutput: true,
        notTTYSchedule: 1000,
        stream: process.stdout,
        fps: 10,
      });
      this.bar.start(Math.max(1, total), keys, payload);
    }
    this.bar.setTotal(Math.max(1, total));
    this.bar.update(keys, payload);
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

export function describeOutcome(kind: WorkKind, outcome: Outcome): string {
  if (!outcome.ok) return `${kind.noun} failed: ${outcome.reason}`;
  const written = outcome.bytes !== null ? `, ${formatBytes(outcome.bytes)}` : '';
  return `${kind.noun} terminated with success in ${(outcome.elapsedMs / 1000).toFixed(1)} s (${formatCount(outcome.keys)} keys${written})`;
}

/** The explanation of a refusal: what runs, how far it is, and what the operator can do. */
export function explainRefusal(model: StatusModel, hint: string): string {
  const child = model.child;
  if (!child) return `The server refused it, but no child runs any more; try again. ${hint}`;
  return `${describeRunningChild(child)}; ${hint}`;
}
