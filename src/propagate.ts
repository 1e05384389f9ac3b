// Propagation (seam 3), TypeScript side: what executed writes become for the AOF and the
// replication stream. The addon (native/src/propagate.rs) records what native commands, lazy
// and active expiry propagate, wraps each execution unit's commands in MULTI/EXEC when they
// are several, and keeps the result as one byte stream of RESP commands. This module lets
// TypeScript-run writes join that stream (`propagate`, `enter`/`leave` around EXEC and
// scripts), drains it once per batch (`drain`) and hands each consumer its bytes, with a
// SELECT wherever that consumer's own selected database differs.
//
// A consumer subscribes with the targets it wants (PROPAGATE_AOF, PROPAGATE_REPL): PUBLISH,
// for instance, goes to replicas only. While nothing is subscribed the addon records nothing.
import { native, type NativeAddon } from './native';

export const PROPAGATE_AOF = 1;
export const PROPAGATE_REPL = 2;
export const PROPAGATE_ALL = PROPAGATE_AOF | PROPAGATE_REPL;

/** Where a consumer's bytes go. */
export interface PropagationSink {
  /**
   * Whole commands, `data[start..end)`. The Buffer is reused after the call returns: copy
   * what you keep.
   */
  write(data: Buffer, start: number, end: number): void;
}

/** The native half (the addon's exports). */
export type PropagationNative = Pick<
  NativeAddon,
  'bindPropagation' | 'setPropagation' | 'takePropagated' | 'propagateCommand' | 'propagationEnter' | 'propagationLeave'
>;

/** Slots of the status array the addon keeps current (propagate.rs, lib.rs). */
const STATUS_BYTES = 0;
const STATUS_SEGMENTS = 1;
const SEGMENTS_AT = 4;

const selectCommands: Buffer[] = [];

/** `SELECT <db>` as Redis writes it to the AOF and to replicas. */
export function selectCommand(db: number): Buffer {
  let cmd = selectCommands[db];
  if (!cmd) {
    const id = String(db);
    cmd = Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${id.length}\r\n${id}\r\n`, 'latin1');
    if (db < 64) selectCommands[db] = cmd;
  }
  return cmd;
}

/** One subscriber: its targets, its sink and the database its stream has selected. */
export class PropagationConsumer {
  /** The db the consumer's stream is in; -1 forces a SELECT before the next command. */
  selectedDb = -1;

  constructor(
    readonly target: number,
    readonly sink: PropagationSink,
    private readonly owner: Propagation,
  ) {}

  /** The next command goes after a SELECT (a new AOF file, a new replica or backlog). */
  resetSelectedDb(): void {
    this.selectedDb = -1;
  }

  unsubscribe(): void {
    this.owner.remove(this);
  }
}

export class Propagation {
  private readonly consumers: PropagationConsumer[] = [];
  private status = new Int32Array(SEGMENTS_AT + 4 * 16);
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly addon: PropagationNative = native) {
    addon.bindPropagation(this.status);
  }

  /** Something consumes propagation. */
  get active(): boolean {
    return this.consumers.length > 0;
  }

  /** Finished commands wait in the addon (read from a slot it keeps current: no call). */
  get waiting(): boolean {
    return this.status[STATUS_BYTES] > 0;
  }

  subscribe(target: number, sink: PropagationSink): PropagationConsumer {
    const consumer = new PropagationConsumer(target, sink, this);
    // What was recorded before belongs to the consumers that were there.
    this.drain();
    this.consumers.push(consumer);
    this.addon.setPropagation(this.subscribedTargets());
    return consumer;
  }

  /** @internal PropagationConsumer.unsubscribe */
  remove(consumer: PropagationConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return;
    this.drain();
    this.consumers.splice(i, 1);
    this.addon.setPropagation(this.subscribedTargets());
  }

  /**
   * alsoPropagate for a write TypeScript ran: `argv` joins the running execution unit (EXEC's,
   * a script's), or is a unit of its own at top level.
   */
  propagate(db: number, argv: (Buffer | string)[], target = PROPAGATE_ALL): void {
    if (this.consumers.length === 0) return;
    this.addon.propagateCommand(db, target, argv.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)));
  }

  /** An execution unit TypeScript runs (EXEC, a script): its commands are wrapped together. */
  enter(): void {
    this.addon.propagationEnter();
  }

  leave(): void {
    this.addon.propagationLeave();
  }

  /** Hands what the addon collected to the consumers. Cheap when nothing waits. */
  drain(): void {
    const status = this.status;
    const bytes = status[STATUS_BYTES];
    if (bytes === 0) return;
    const segments = status[STATUS_SEGMENTS];
    if (bytes > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(bytes, this.scratch.length * 2));
    if (SEGMENTS_AT + 4 * segments > status.length) this.rebindStatus(segments);
    const data = this.scratch;
    const n = this.addon.takePropagated(data);
    const st = this.status;
    let start = 0;
    for (let i = 0; i < segments; i++) {
      const at = SEGMENTS_AT + 4 * i;
      const target = st[at];
      const firstDb = st[at + 1];
      const lastDb = st[at + 2];
      const end = Math.min(st[at + 3], n);
      for (const c of this.consumers) {
        if ((c.target & target) === 0) continue;
        if (c.selectedDb !== firstDb) {
          const select = selectCommand(firstDb);
          c.sink.write(select, 0, select.length);
        }
        c.sink.write(data, start, end);
        c.selectedDb = lastDb;
      }
      start = end;
    }
  }

  /** shouldPropagate: a command for a target nobody consumes is not recorded at all. */
  private subscribedTargets(): number {
    let targets = 0;
    for (const c of this.consumers) targets |= c.target;
    return targets;
  }

  private rebindStatus(segments: number): void {
    const bigger = new Int32Array(SEGMENTS_AT + 4 * Math.max(segments, 2 * (this.status.length - SEGMENTS_AT) / 4));
    this.status = bigger;
    this.addon.bindPropagation(bigger);
  }
}
