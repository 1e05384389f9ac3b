// Blocking commands (BLPOP, BLMOVE, BZPOPMIN, BLMPOP...). The native handler returns
// WOULD_BLOCK when every key is empty; the client is parked on its keys here, and when one
// of them is modified the command runs again, narrowed to that key, for the clients blocked on
// it, in the order they blocked, until one finds nothing left; keys are taken in the order they
// were modified. A timeout answers the null array.
import type { BlockedState, Client } from './client';
import { getKeys } from './commands/keys-of';
import { arg, argStr, copyRequest, makeRequest, type Ctx, type Request } from './commands/types';
import { native } from './native';
import { ReplyWriter } from './protocol/reply';
import type { Server } from './server';
import type { Command } from './commands/table';

const keyId = (db: number, key: Buffer) => `${db}:${key.toString('latin1')}`;
const MAX_TIMER_MS = 2 ** 31 - 1;
const STREAM_READERS = new Set(['xread', 'xreadgroup']);
const UNBLOCKED_ERROR = 'UNBLOCKED client unblocked via CLIENT UNBLOCK';

/**
 * The request to run again once a key changes: a copy, with the arguments the command resolved
 * when it blocked put in place (XREAD's `$` becomes the stream's last ID at block time, as Redis
 * remembers it).
 */
function withRewrites(req: Request, rewrite: (number | Buffer)[]): Request {
  if (rewrite.length === 0) return copyRequest(req);
  const args: Buffer[] = Array.from({ length: req.argc }, (_, i) => Buffer.from(arg(req, i)));
  for (let i = 0; i < rewrite.length; i += 2) args[rewrite[i] as number] = rewrite[i + 1] as Buffer;
  return makeRequest(args);
}

/**
 * The blocked request narrowed to its `j`th key. Redis serves a client from the key that became
 * ready (handleClientsBlockedOnKeys walks server.ready_keys in the order keys were signalled),
 * not from the first non-empty key in argument order: BLPOP a b after RPUSH b, RPUSH a in one
 * MULTI pops b, and XREAD's reply then holds that one stream.
 */
function narrowedTo(state: BlockedState, j: number): Request {
  const positions = state.keyPositions;
  if (positions.length <= 1 || j < 0) return state.req;
  const n = positions.length;
  const args = Array.from({ length: state.req.argc }, (_, i) => arg(state.req, i));
  const drop = new Set(positions.filter((_, i) => i !== j));
  switch (state.name) {
    case 'blmpop':
    case 'bzmpop':
      // numkeys comes right before the keys.
      args[positions[0] - 1] = Buffer.from('1');
      break;
    case 'xread':
    case 'xreadgroup':
      // Each stream's ID follows all the keys, in the same order.
      for (let i = 0; i < n; i++) if (i !== j) drop.add(positions[i] + n);
      break;
  }
  return makeRequest(args.filter((_, i) => !drop.has(i)));
}

export class Blocking {
  private byKey = new Map<string, Client[]>();
  private blockedClients = new Set<Client>();
  private ready = new Set<string>();
  private seq = 0;
  /** The client being retried: block() must keep its place in line instead of re-queueing. */
  private retrying: Client | null = null;

  constructor(private server: Server) {}

  get count(): number {
    return this.blockedClients.size;
  }

  isRetrying(client: Client): boolean {
    return this.retrying === client;
  }

  /** Called by the native handler when its command found nothing to serve. */
  block(ctx: Ctx): void {
    const { client, req, name } = ctx;
    if (this.retrying === client) return;
    const cmd = this.server.commands.get(name);
    const argv = Array.from({ length: req.argc }, (_, i) => argStr(req, i));
    const positions = cmd ? getKeys(cmd, argv).map((k) => k.pos) : [];
    // Only source keys wake a client (BLMOVE's destination does not).
    const named = name === 'blmove' || name === 'brpoplpush' ? positions.slice(0, 1) : positions;
    // A key named twice (BLPOP a b b a 0) waits once, as Redis's blockForKeys skips repeats.
    const seen = new Set<string>();
    const sources = named.filter((i) => {
      const id = keyId(client.db, Buffer.from(arg(req, i)));
      return seen.has(id) ? false : (seen.add(id), true);
    });
    // The native handler parsed the timeout exactly as Redis does (long double, rounded up to ms).
    const timeoutMs = native.blockTimeoutMs();
    const rewrite = native.blockRewrite();
    const state: BlockedState = {
      req: withRewrites(req, rewrite),
      original: rewrite.length > 0 ? copyRequest(req) : undefined,
      name,
      db: client.db,
      keys: sources.map((i) => Buffer.from(arg(req, i))),
      keyPositions: sources,
      deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0,
      seq: this.seq++,
    };
    client.blocked = state;
    this.blockedClients.add(client);
    for (const key of state.keys) {
      const id = keyId(state.db, key);
      const list = this.byKey.get(id);
      if (list) list.push(client);
      else this.byKey.set(id, [client]);
    }
    this.armTimer(client, state);
    this.server.updateTracking();
  }

  /** Node timers hold at most 2^31-1 ms (~24.8 days): longer timeouts re-arm until due. */
  private armTimer(client: Client, state: BlockedState): void {
    if (state.deadline <= 0) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, state.deadline - Date.now()));
    state.timer = setTimeout(() => {
      if (Date.now() < state.deadline) this.armTimer(client, state);
      else this.timeout(client);
    }, delay);
  }

  /** Forgets a client's blocked state without replying (disconnects, or after being served). */
  remove(client: Client): void {
    const state = client.blocked;
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    for (const key of state.keys) {
      const id = keyId(state.db, key);
      const list = this.byKey.get(id);
      if (!list) continue;
      const i = list.indexOf(client);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byKey.delete(id);
    }
    client.blocked = null;
    this.blockedClients.delete(client);
    this.server.updateTracking();
  }

  /** The keyspace's [db, key | null, ...] log: remember which blocked-on keys changed (a db of -1 - n: database n). */
  keysModified(mods: (number | Buffer | null)[]): void {
    if (this.byKey.size === 0) return;
    for (let i = 0; i < mods.length; i += 2) {
      const raw = mods[i] as number;
      const db = raw < 0 ? -1 - raw : raw;
      const key = mods[i + 1] as Buffer | null;
      if (key === null) {
        for (const id of this.byKey.keys()) if (id.startsWith(`${db}:`)) this.ready.add(id);
      } else {
        const id = keyId(db, key);
        if (this.byKey.has(id)) this.ready.add(id);
      }
    }
  }

  get hasReady(): boolean {
    return this.ready.size > 0;
  }

  /** Serves clients blocked on keys that changed; runs after each top-level command. */
  serveReady(): void {
    // Serving can modify more keys (BLMOVE pushes to its destination), which may wake more.
    for (let round = 0; this.ready.size > 0 && round < 1000; round++) {
      const ids = [...this.ready];
      this.ready.clear();
      for (const id of ids) {
        const waiting = this.byKey.get(id);
        if (!waiting) continue;
        for (const client of [...waiting].sort((a, b) => a.blocked!.seq - b.blocked!.seq)) {
          if (!client.blocked) continue; // served through an earlier key of this round
          // A popped element is gone for the next client, but stream readers each see the new
          // entries (or not, by their own IDs and groups): all of them are tried.
          const readsStream = STREAM_READERS.has(client.blocked!.name);
          if (!this.retry(client, id) && !readsStream) break;
        }
      }
    }
  }

  /** Runs the blocked command again, served from the ready key `readyId`; true when the client was served. */
  private retry(client: Client, readyId: string): boolean {
    const state = client.blocked;
    if (!state) return true;
    const req = narrowedTo(state, state.keys.findIndex((key) => keyId(state.db, key) === readyId));
    const server = this.server;
    const cmd = server.commands.get(state.name);
    if (!cmd) return false;
    const savedOut = server.out;
    const savedCurrent = server.current;
    const savedDb = client.db;
    const w = new ReplyWriter(1024);
    w.resp3 = client.resp === 3;
    server.out = w;
    server.current = client;
    client.db = state.db;
    this.retrying = client;
    const t0 = performance.now();
    try {
      server.dispatcher.call(client, cmd, req);
    } finally {
      this.retrying = null;
      server.out = savedOut;
      server.current = savedCurrent;
      client.db = savedDb;
    }
    if (w.len === 0) return false; // still nothing to pop: stays blocked, in place
    const replyUsec = Math.round((performance.now() - t0) * 1000);
    // An error served to it (NOGROUP: its group was destroyed) counts as the command's error.
    const failed = w.buf[0] === 0x2d; /* '-' */
    if (failed) server.stats.countError(w.buf.latin1Slice(1, Math.min(w.len, 64)));
    this.remove(client);
    this.accountUnblocked(client, state, cmd, replyUsec, failed);
    server.send(client, w.take());
    this.resume(client);
    return true;
  }

  /**
   * Redis's updateStatsOnUnblock, once a blocked command is served or CLIENT UNBLOCKed: the
   * whole command (the call that blocked plus the reply's `replyUsec`) in its time, latency
   * histogram and the slow log; a failure in failed_calls; the reply in the latency monitor's
   * command-unblocking event.
   */
  private accountUnblocked(client: Client, state: BlockedState, cmd: Command, replyUsec: number, failed: boolean): void {
    const server = this.server;
    const usec = (state.callUsec ?? 0) + replyUsec;
    cmd.stats.usec += usec;
    if (failed) cmd.stats.failed++;
    server.latency.recordCall(cmd, usec);
    server.slowlog.record(client, cmd, state.original ?? state.req, usec);
    server.latency.addSampleIfNeeded('command-unblocking', replyUsec / 1000);
  }

  /** Answers a timed-out client (the null array, or its command's own timeout reply). */
  private timeout(client: Client): void {
    const state = client.blocked;
    if (!state) return;
    this.release(client, state.timeoutReply ?? ((out) => out.nullArray()));
  }

  /** CLIENT UNBLOCK: false when the client was not blocked. */
  unblock(client: Client, withError: boolean): boolean {
    const state = client.blocked;
    // A SHUTDOWN waiting for replicas is not unblocked (Redis 7.0.15 crashes on it: "Unknown
    // btype in replyToBlockedClientTimedOut"; 7.2 leaves it blocked too).
    if (!state || state.name === 'shutdown') return false;
    if (withError) {
      this.server.stats.countError(UNBLOCKED_ERROR);
      this.release(client, (out) => out.error(UNBLOCKED_ERROR));
    } else {
      this.release(client, state.timeoutReply ?? ((out) => out.nullArray()));
    }
    // Redis 7.0.15 counts either way as a failed call (updateStatsOnUnblock(target, 0, 0, 1)).
    const cmd = this.server.commands.get(state.name);
    if (cmd) this.accountUnblocked(client, state, cmd, 0, true);
    return true;
  }

  /**
   * Blocks `client` on something other than keys (WAIT): it waits until `release`, or answers
   * `timeoutReply` after `timeoutMs` (0: forever).
   */
  blockFor(client: Client, name: string, timeoutMs: number, wait: BlockedState['wait'], timeoutReply: (out: ReplyWriter) => void): void {
    const state: BlockedState = {
      req: { input: Buffer.alloc(0), offsets: new Int32Array(0), argc: 0 },
      name,
      db: client.db,
      keys: [],
      keyPositions: [],
      deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0,
      seq: this.seq++,
      wait,
      timeoutReply,
    };
    client.blocked = state;
    this.blockedClients.add(client);
    this.armTimer(client, state);
    this.server.updateTracking();
  }

  /** Unblocks `client` with `reply`; commands it pipelined behind run next. */
  release(client: Client, reply: (out: ReplyWriter) => void): void {
    if (!client.blocked) return;
    this.remove(client);
    this.server.sendTo(client, reply);
    this.resume(client);
  }

  /**
   * Unblocks, with an error reply, each client blocked on keys for which `errorFor` gives one
   * (a cluster node that stopped serving their slot). The command is not counted as called, as
   * in Redis, where clientsCron unblocks them without updateStatsOnUnblock.
   */
  unblockWithErrors(errorFor: (client: Client) => string | null): void {
    for (const client of [...this.blockedClients]) {
      const error = errorFor(client);
      if (error === null) continue;
      this.server.stats.countError(error);
      this.release(client, (out) => out.error(error));
    }
  }

  /**
   * disconnectAllBlockedClients: the instance changed role, what they wait for may never come.
   * Each gets `error` and is disconnected.
   */
  disconnectAll(error: string): void {
    for (const client of [...this.blockedClients]) {
      this.remove(client);
      this.server.stats.countError(error);
      this.server.sendTo(client, (out) => out.error(error));
      client.socket.end();
      this.server.freeClient(client);
    }
  }

  /** Commands the client pipelined behind its blocking command run now. */
  private resume(client: Client): void {
    if (client.closed || client.parser.pending() === 0) return;
    setImmediate(() => this.server.resumeClient(client));
  }
}
