// Client-side caching (Redis 7.0's tracking.c), the TypeScript half: CLIENT TRACKING state per
// client, the invalidation messages, BCAST prefixes. The table of who may hold which key lives
// next to the keyspace (native/src/keyspace/tracking.rs), filled by the reads of tracking
// clients and emptied where keys are modified (expiry included) or databases flushed; after
// each command, batch, expire cycle and eviction step the queued invalidations are taken from
// it and sent, merged with the keyspace events in the order both happened.
//
// Messages go through the one writer (Server.sendTo: direct to other clients, into the shared
// writer for the running one): RESP3 `>2 invalidate [keys]` pushes, or for a RESP2 client the
// `__redis__:invalidate` pub/sub message to the client it redirects to.
import type { Client } from './client';
import { getKeys } from './commands/keys-of';
import type { Command } from './commands/table';
import { argStr, type Request } from './commands/types';
import { consume } from './config/consumers';
import type { RecordedEvents } from './keyspace-events';
import { native } from './native';
import type { ReplyWriter } from './protocol/reply';
import type { Server } from './server';

const TRACKING_TABLE_MAX_KEYS = consume('tracking-table-max-keys', 'test/server/tracking.test.ts');

const CHANNEL = Buffer.from('__redis__:invalidate');

/** A client's CLIENT TRACKING state (Redis's CLIENT_TRACKING_* flags and its redirection). */
export interface TrackingState {
  /** Client id invalidations go to, 0 for the client itself. */
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING YES (optin) / NO (optout) for the next command or transaction. */
  caching: boolean;
  /** The redirection target was gone when a message had to be sent (flag R). */
  brokenRedirect: boolean;
  /** BCAST prefixes, as Redis keeps them (byte order). */
  prefixes: Buffer[];
}

/** The keys modified under one BCAST prefix since the last broadcast, and its followers. */
interface PrefixState {
  prefix: Buffer;
  clients: Set<Client>;
  /** latin1 of the key -> the key and who modified it last (0: the server, a script). */
  keys: Map<string, { key: Buffer; modifier: number }>;
}

/** The RESP null each protocol writes (a flush's "every key" message is the tracking client's). */
const NULL_RESP2 = Buffer.from('$-1\r\n');
const NULL_RESP3 = Buffer.from('_\r\n');

export class ClientTracking {
  /** Clients with tracking on (INFO tracking_clients). */
  count = 0;
  /** Invalidations for the running client, sent after its command's reply (null: a flush). */
  private pendingForCurrent: (Buffer | null)[] = [];
  /** BCAST prefixes in byte order, keyed by their latin1 text. */
  private readonly prefixes = new Map<string, PrefixState>();
  private broadcastScheduled = false;

  constructor(private readonly server: Server) {
    server.beforeSleep.addTask(() => this.broadcast());
  }

  /** Some client tracks: the queue must be drained after commands (one boolean when none does). */
  get active(): boolean {
    return this.count > 0;
  }

  get totalPrefixes(): number {
    return this.prefixes.size;
  }

  /** [keys, items] of the native table (INFO). */
  tableStats(): [number, number] {
    return native.trackingStats() as [number, number];
  }

  enable(client: Client, redirect: number, options: Omit<TrackingState, 'redirect' | 'caching' | 'brokenRedirect' | 'prefixes'>, prefixes: Buffer[]): void {
    let state = client.tracking;
    if (!state) {
      this.count++;
      if (this.count === 1) native.trackingSetActive(true);
      state = { redirect: 0, bcast: false, optin: false, optout: false, noloop: false, caching: false, brokenRedirect: false, prefixes: [] };
      client.tracking = state;
    }
    // enableTracking: a new ON replaces the modes, keeps CACHING and the prefixes registered.
    state.redirect = redirect;
    state.brokenRedirect = false;
    state.bcast = options.bcast;
    state.optin = options.optin;
    state.optout = options.optout;
    state.noloop = options.noloop;
    if (options.bcast) {
      const wanted = prefixes.length === 0 ? [Buffer.alloc(0)] : prefixes;
      for (const p of wanted) this.follow(client, p);
    }
  }

  /** enableBcastTrackingForPrefix. */
  private follow(client: Client, prefix: Buffer): void {
    const name = prefix.toString('latin1');
    let ps = this.prefixes.get(name);
    if (!ps) {
      ps = { prefix: Buffer.from(prefix), clients: new Set(), keys: new Map() };
      this.prefixes.set(name, ps);
      this.prefixesChanged();
    }
    if (ps.clients.has(client)) return;
    ps.clients.add(client);
    const mine = client.tracking!.prefixes;
    mine.push(ps.prefix);
    mine.sort(Buffer.compare);
  }

  /** disableTracking: CLIENT TRACKING OFF, RESET, a closed client. Its ids stay in the table. */
  disable(client: Client): void {
    const state = client.tracking;
    if (!state) return;
    if (state.bcast) {
      for (const p of state.prefixes) {
        const name = p.toString('latin1');
        const ps = this.prefixes.get(name);
        if (!ps) continue;
        ps.clients.delete(client);
        if (ps.clients.size === 0) {
          this.prefixes.delete(name);
          this.prefixesChanged();
        }
      }
    }
    client.tracking = null;
    this.count--;
    if (this.count === 0) native.trackingSetActive(false);
  }

  private prefixesChanged(): void {
    const sorted = [...this.prefixes.values()].map((ps) => ps.prefix).sort(Buffer.compare);
    native.trackingSetPrefixes(sorted);
    // Kept in byte order, as Redis's radix tree walks them when broadcasting.
    const entries = [...this.prefixes.entries()].sort((a, b) => Buffer.compare(a[1].prefix, b[1].prefix));
    this.prefixes.clear();
    for (const [k, v] of entries) this.prefixes.set(k, v);
  }

  /**
   * checkPrefixCollisionsOrReply: the error for the first prefix that overlaps one the client
   * follows or a later one given, null when none. `partial` is Redis's quirk: an overlap
   * among the given prefixes found past the first one is reported and tracking still goes on.
   */
  prefixCollision(client: Client, prefixes: Buffer[]): { error: string; stop: boolean } | null {
    const overlap = (a: Buffer, b: Buffer) => a.subarray(0, Math.min(a.length, b.length)).equals(b.subarray(0, Math.min(a.length, b.length)));
    const mine = client.tracking?.prefixes ?? [];
    for (let i = 0; i < prefixes.length; i++) {
      for (const existing of mine) {
        if (overlap(existing, prefixes[i])) {
          return {
            error: `ERR Prefix '${cString(prefixes[i])}' overlaps with an existing prefix '${cString(existing)}'. Prefixes for a single client must not overlap.`,
            stop: true,
          };
        }
      }
      for (let j = i + 1; j < prefixes.length; j++) {
        if (overlap(prefixes[i], prefixes[j])) {
          return {
            error: `ERR Prefix '${cString(prefixes[i])}' overlaps with another provided prefix '${cString(prefixes[j])}'. Prefixes for a single client must not overlap.`,
            stop: i === 0,
          };
        }
      }
    }
    return null;
  }

  /**
   * trackingRememberKeys after a read-only command: `tracker` may now cache the keys of `cmd`
   * (for a script's calls: the script command's own keys, as Redis 7.0 takes the caller's).
   */
  rememberKeys(tracker: Client, cmd: Command, req: Request): void {
    const state = tracker.tracking;
    if (!state || state.bcast || !this.cachingAllowed(state)) return;
    const argv: string[] = [];
    for (let i = 0; i < req.argc; i++) argv.push(argStr(req, i));
    const refs = getKeys(cmd, argv);
    if (refs.length === 0) return;
    native.trackingRemember(tracker.id, refs.map((r) => Buffer.from(argv[r.pos], 'latin1')));
  }

  /** OPTIN remembers only after CACHING YES, OPTOUT stops only after CACHING NO. */
  cachingAllowed(state: TrackingState): boolean {
    return !((state.optin && !state.caching) || (state.optout && state.caching));
  }

  /** Redis's resetClient: CACHING lasts one command (or transaction); CLIENT commands keep it. */
  commandDone(client: Client, commandName: string): void {
    const state = client.tracking;
    if (!state?.caching || client.inMulti) return;
    if (commandName === 'client' || commandName.startsWith('client|')) return;
    state.caching = false;
  }

  /**
   * trackingLimitUsedSlots, before a command runs and from the cron; what was invalidated
   * before it (keys maxmemory just evicted) goes out with it, the running client not executing.
   */
  limitTable(running: Client | null): void {
    const max = this.server.config.int(TRACKING_TABLE_MAX_KEYS);
    if (max !== 0) native.trackingLimit(max);
    this.server.deliverKeyspaceChanges(running, false);
  }

  /**
   * Sends what the keyspace queued: `running` is the client whose command ran (Redis's
   * current_client: NOLOOP skips it, and while `executing` its messages wait for its reply).
   * `events`: the keyspace events taken with it, each published before the invalidations
   * that happened after it.
   */
  drain(running: Client | null, executing: boolean, events: RecordedEvents | null): void {
    const taken = native.trackingTake();
    if (taken === null) return;
    const [queue, modified] = taken;
    const clients = this.server.clients;
    for (let i = 0; i < queue.length; ) {
      const key = queue[i++] as Buffer | null;
      const seq = queue[i++] as number;
      events?.publishBefore(seq);
      if (key === null) {
        for (const c of clients.values()) {
          if (!c.tracking) continue;
          if (c === running && executing) this.pendingForCurrent.push(null);
          else this.sendFlush(c);
        }
        continue;
      }
      const n = queue[i++] as number;
      for (let j = 0; j < n; j++) {
        const target = clients.get(queue[i + j] as number);
        if (!target?.tracking || target.tracking.bcast) continue;
        if (target.tracking.noloop && target === running) continue;
        if (target === running && executing) this.pendingForCurrent.push(key);
        else this.send(target, (w) => writeKeyArray(w, key));
      }
      i += n;
    }
    for (let i = 0; i < modified.length; i += 2) {
      const key = modified[i] as Buffer;
      const modifier = modified[i + 1] as number;
      const name = key.toString('latin1');
      for (const ps of this.prefixes.values()) {
        if (key.length >= ps.prefix.length && key.subarray(0, ps.prefix.length).equals(ps.prefix)) {
          ps.keys.set(name, { key, modifier });
        }
      }
    }
    if (modified.length > 0 && !this.broadcastScheduled) {
      this.broadcastScheduled = true;
      this.server.beforeSleep.schedule();
    }
  }

  /** trackingHandlePendingKeyInvalidations: after the running client's command (or EXEC). */
  sendPending(running: Client): void {
    if (this.pendingForCurrent.length === 0) return;
    const pending = this.pendingForCurrent;
    this.pendingForCurrent = [];
    // A client that turned tracking off (or closed) in the meantime gets nothing.
    if (running.closed || !running.tracking) return;
    for (const key of pending) {
      if (key === null) this.sendFlush(running);
      else this.send(running, (w) => writeKeyArray(w, key));
    }
  }

  private sendFlush(client: Client): void {
    const proto = client.resp === 3 ? NULL_RESP3 : NULL_RESP2;
    this.send(client, (w) => w.raw(proto));
  }

  /**
   * sendTrackingMessage: `writeKeys` writes the message's value (the key array, or a flush's
   * null). To the client itself in RESP3, else to its redirection: a push in RESP3, a message
   * on __redis__:invalidate to a RESP2 client in pub/sub mode, nothing otherwise.
   */
  private send(client: Client, writeKeys: (w: ReplyWriter) => void): void {
    const state = client.tracking!;
    let target = client;
    if (state.redirect !== 0) {
      const redirected = this.server.clients.get(state.redirect);
      if (!redirected) {
        state.brokenRedirect = true;
        if (client.resp === 3) {
          this.server.sendTo(client, (w) => {
            w.push(2);
            w.bulk('tracking-redir-broken');
            w.int(state.redirect);
          });
        }
        return;
      }
      target = redirected;
    }
    if (target.resp === 3) {
      this.server.sendTo(target, (w) => {
        w.push(2);
        w.bulk('invalidate');
        writeKeys(w);
      });
    } else if (target !== client && target.totalSubscriptions > 0) {
      this.server.sendTo(target, (w) => {
        w.array(3);
        w.bulk('message');
        w.bulk(CHANNEL);
        writeKeys(w);
      });
    }
  }

  /** trackingBroadcastInvalidationMessages (before sleeping): each prefix's keys, in byte order. */
  private broadcast(): void {
    if (!this.broadcastScheduled) return;
    this.broadcastScheduled = false;
    for (const ps of this.prefixes.values()) {
      if (ps.keys.size === 0) continue;
      const entries = [...ps.keys.values()].sort((a, b) => Buffer.compare(a.key, b.key));
      ps.keys.clear();
      for (const c of [...ps.clients]) {
        if (c.closed || !c.tracking) continue;
        const keys = c.tracking.noloop ? entries.filter((e) => e.modifier !== c.id) : entries;
        if (keys.length === 0) continue;
        this.send(c, (w) => {
          w.array(keys.length);
          for (const e of keys) w.bulk(e.key);
        });
      }
    }
  }
}

function writeKeyArray(w: ReplyWriter, key: Buffer): void {
  w.array(1);
  w.bulk(key);
}

/** A prefix as Redis's %s prints it: up to the first NUL byte. */
function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul < 0 ? b : b.subarray(0, nul)).toString('latin1');
}
