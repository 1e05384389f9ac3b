// CLIENT PAUSE / UNPAUSE as Redis 7.0 pauses clients: while a pause lasts, a command from a
// client (not from a replica or a monitor) that the pause covers is postponed, its client
// waiting (flag b in CLIENT LIST, counted in blocked_clients) until the pause ends, when it is
// processed from the start. ALL covers every command, WRITE the writes and may_replicate
// commands, an EXEC whose queue writes, and writes queued inside MULTI.
// Meanwhile keys are not expired: expired ones look absent but stay (native expire_paused).
import type { Client } from './client';
import type { Command } from './commands/table';
import { argStr, copyRequest, ReplyError, subcommandSyntaxError, type Handler, type Request } from './commands/types';
import { native } from './native';
import type { Server } from './server';

export type PauseKind = 'write' | 'all';

/**
 * Redis 7.0's CMD_MAY_REPLICATE commands (an internal flag COMMAND INFO does not show): they
 * may propagate something, so a WRITE pause holds them back like writes.
 */
const MAY_REPLICATE = new Set(['eval', 'evalsha', 'fcall', 'publish', 'spublish', 'pfcount']);

export class ClientPause {
  kind: PauseKind | null = null;
  /** When the pause ends (ms since the epoch). */
  private until = 0;
  private readonly postponed = new Set<Client>();

  constructor(private readonly server: Server) {}

  /** pauseClients: a pause never gets weaker nor shorter while it lasts. */
  pause(until: number, kind: PauseKind): void {
    if (this.kind !== 'all') this.kind = kind;
    this.until = Math.max(this.until, until);
    native.setExpirePaused(true);
  }

  /** Does the pause hold this command back? `writes`: the command writes, as dispatch judged it. */
  postpones(client: Client, cmd: Command, writes: boolean): boolean {
    if (this.kind === null || client.isReplica || client.isMonitor) return false;
    this.endIfDue(Date.now());
    if (this.kind === null) return false;
    return this.kind === 'all' || writes || MAY_REPLICATE.has(cmd.name);
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

  /** From the cron: the pause ends when its time has come. */
  endIfDue(now: number): void {
    if (this.kind !== null && now >= this.until) this.unpause();
  }

  /**
   * unpauseClients: the waiting clients run their postponed command once the current one has
   * returned (they share the server's reply writer), in the order they were held.
   */
  unpause(): void {
    if (this.kind === null) return;
    this.kind = null;
    this.until = 0;
    native.setExpirePaused(false);
    const waiting = [...this.postponed];
    this.postponed.clear();
    if (waiting.length > 0) setImmediate(() => waiting.forEach((c) => this.server.resumeClient(c)));
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
  server.clientPause.pause(ms > 0n ? Date.now() + Number(ms) : 0, kind);
  ctx.out.ok();
};

const clientUnpause: Handler = (ctx) => {
  ctx.server.clientPause.unpause();
  ctx.out.ok();
};

export const clientPauseCommands: [string, Handler][] = [['client|pause', clientPause], ['client|unpause', clientUnpause]];
