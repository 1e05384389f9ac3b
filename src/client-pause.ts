// CLIENT PAUSE / UNPAUSE as Redis 7.0 pauses clients: while a pause lasts, a command from a
// client (not from a replica or a monitor) that the pause covers is postponed, its client
// waiting (flag b in CLIENT LIST, counted in blocked_clients) until the pause ends, when it is
// processed from the start. ALL covers every command, WRITE the writes and may_replicate
// commands, an EXEC whose queue writes, and writes queued inside MULTI.
// Meanwhile keys are not expired: expired ones look absent but stay (native expire_paused).
import type { Client } from './client';
import { argStr, copyRequest, ReplyError, subcommandSyntaxError, type Handler, type Request } from './commands/types';
import { native } from './native';
import type { Server } from './server';

export type PauseKind = 'write' | 'all';

/** Why clients are paused (Redis's pause_purpose): each pause lasts and ends on its own. */
export type PausePurpose = 'command' | 'failover' | 'shutdown';

const RESTRICTION: Record<PauseKind, number> = { write: 1, all: 2 };

export class ClientPause {
  /** The pause in force: the most restrictive kind among the purposes' pauses. */
  kind: PauseKind | null = null;
  /** When the pause in force ends (ms since the epoch): the furthest end among that kind's. */
  private until = 0;
  private readonly pauses = new Map<PausePurpose, { kind: PauseKind; until: number }>();
  private readonly postponed = new Set<Client>();
  private readonly resumed: Array<() => void> = [];

  constructor(private readonly server: Server) {}

  /**
   * pauseClients: a purpose's pause never gets weaker nor shorter while it lasts (`until`:
   * ms since the epoch, Infinity for a pause that lasts until it is lifted).
   */
  pause(purpose: PausePurpose, until: number, kind: PauseKind): void {
    const current = this.pauses.get(purpose);
    if (current) {
      if (RESTRICTION[kind] > RESTRICTION[current.kind]) current.kind = kind;
      current.until = Math.max(current.until, until);
    } else {
      this.pauses.set(purpose, { kind, until });
    }
    this.update(Date.now());
  }

  /** unpauseClients: lifts one purpose's pause (the others stay in force). */
  unpause(purpose: PausePurpose): void {
    if (!this.pauses.delete(purpose)) return;
    this.update(Date.now());
  }

  /** `fn` runs whenever no pause is in force any more (work that waits for the pause). */
  onResume(fn: () => void): void {
    this.resumed.push(fn);
  }

  /**
   * Does the pause hold this command back? `writes` / `mayReplicate`: the command (for EXEC,
   * one of its queue) writes / may replicate, as dispatch judged it.
   */
  postpones(client: Client, writes: boolean, mayReplicate: boolean): boolean {
    if (this.kind === null || client.isReplica || client.isMonitor) return false;
    this.endIfDue(Date.now());
    if (this.kind === null) return false;
    return this.kind === 'all' || writes || mayReplicate;
  }

  postpone(client: Client, req: Request): void {
    client.postponed = copyRequest(req);
    this.postponed.add(client);
  }

  /** Clients waiting for the pause to end (INFO's blocked_clients counts them). */
  get waiting(): number {
    return this.postponed.size;
  }

  /** A disconnected client leaves the waiting list. */
  remove(client: Client): void {
    this.postponed.delete(client);
  }

  /** From the cron: a pause ends when its time has come. */
  endIfDue(now: number): void {
    if (this.kind !== null && now >= this.until) this.update(now);
  }

  /**
   * updateClientPauseTypeAndEndTime: drops the pauses whose time has come and puts the most
   * restrictive of the others in force. When that is weaker than before, the waiting clients
   * run their postponed command again (a weaker pause may still hold it back), once the current
   * one has returned (they share the server's reply writer), in the order they were held.
   */
  private update(now: number): void {
    const before = this.kind;
    let kind: PauseKind | null = null;
    for (const [purpose, p] of this.pauses) {
      if (now >= p.until) this.pauses.delete(purpose);
      else if (kind === null || RESTRICTION[p.kind] > RESTRICTION[kind]) kind = p.kind;
    }
    let until = 0;
    for (const p of this.pauses.values()) if (p.kind === kind) until = Math.max(until, p.until);
    this.kind = kind;
    this.until = until;
    native.setExpirePaused(kind !== null);
    if (before === null || (kind !== null && RESTRICTION[kind] >= RESTRICTION[before])) return;
    const waiting = [...this.postponed];
    this.postponed.clear();
    if (waiting.length > 0) setImmediate(() => waiting.forEach((c) => this.server.resumeClient(c)));
    if (kind === null) for (const fn of this.resumed) fn();
  }
}

/** CLIENT PAUSE timeout [WRITE|ALL]: the mode is judged before the timeout, as Redis does. */
const clientPause: Handler = (ctx) => {
  const { req, server } = ctx;
  if (req.argc > 4) throw subcommandSyntaxError(req);
  let kind: PauseKind = 'all';
  if (req.argc === 4) {
    const mode = argStr(req, 3).toLowerCase();
    if (mode === 'write') kind = 'write';
    else if (mode !== 'all') throw new ReplyError('ERR CLIENT PAUSE mode must be WRITE or ALL');
  }
  const text = argStr(req, 2);
  const ms = /^-?\d+$/.test(text) ? BigInt(text) : null;
  if (ms === null || ms > 9223372036854775807n || ms < -9223372036854775808n) throw new ReplyError('ERR timeout is not an integer or out of range');
  if (ms < 0n) throw new ReplyError('ERR timeout is negative');
  server.clientPause.pause('command', Date.now() + Number(ms), kind);
  ctx.out.ok();
};

const clientUnpause: Handler = (ctx) => {
  ctx.server.clientPause.unpause('command');
  ctx.out.ok();
};

export const clientPauseCommands: [string, Handler][] = [['client|pause', clientPause], ['client|unpause', clientUnpause]];
