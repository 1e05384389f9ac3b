// Client eviction (Redis 7.0's maxmemory-clients, networking.c evictClients and
// updateClientMemUsage, server.c getClientEvictionLimit):
// - The limit is maxmemory-clients in bytes, or a percentage of maxmemory (stored negative, as
//   config.c does; with maxmemory 0 a percentage means no limit), never under 128 KB; 0 is off.
// - What is summed is each normal and pub/sub client's memory as CLIENT LIST tot-mem shows it
//   (query buffer, held arguments, MULTI queue, pending output, the fixed client size), taken
//   at the moments Redis takes it: after a client's input was processed (its own replies
//   queued), when output is queued for it (a PUBLISH to it), and by the cron, which passes
//   over every client once a second. CLIENT NO-EVICT clients count in the sum but are never
//   chosen; replicas and the master link neither count nor are chosen.
// - Once the sum reaches the limit, the clients of the largest power-of-two size class go
//   first (Redis's buckets: up to 32 KB, then each twice the one below, up to 4 GB and more),
//   in the order they entered it, until the sum is under the limit; each is logged
//   ("Evicting client: <CLIENT LIST line>") and counted (INFO evicted_clients). When every
//   evictable client is gone and the sum is still over, Redis's warning is logged.
// - It is checked before each command a client sends through TypeScript, after each read or
//   socket event is processed (Redis's beforeSleep) and by the cron. While the limit is 0
//   nothing is kept: the checks read one number.
import type { Client } from './client';
import type { Config } from './config';
import { consume } from './config/consumers';
import { clientMemoryFields } from './commands/client-cmd';

const PROOF = 'test/server/client-eviction.test.ts';
const MAXMEMORY_CLIENTS = consume('maxmemory-clients', PROOF);
const MAXMEMORY = consume('maxmemory', PROOF);

/** CLIENT_MEM_USAGE_BUCKET_MIN_LOG / _MAX_LOG: size classes from 2^15 to 2^33 bytes. */
const BUCKET_MIN_LOG = 15;
const BUCKET_MAX_LOG = 33;
const BUCKET_COUNT = 1 + BUCKET_MAX_LOG - BUCKET_MIN_LOG;
/** getClientEvictionLimit: a smaller limit is raised to this, so the server stays reachable. */
const MIN_LIMIT = 128 * 1024;

/** The bucket of a client using `bytes`: the bit length of `bytes`, clamped to the classes. */
export function bucketOf(bytes: number): number {
  const bits = bytes >= 2 ** 32 ? BUCKET_MAX_LOG : 32 - Math.clz32(bytes);
  return Math.min(BUCKET_MAX_LOG, Math.max(BUCKET_MIN_LOG, bits)) - BUCKET_MIN_LOG;
}

/** getClientEvictionLimit: bytes, 0 for no limit. */
export function clientEvictionLimit(maxmemoryClients: number, maxmemory: number): number {
  let limit: number;
  if (maxmemoryClients < 0 && maxmemory > 0) limit = Math.floor((maxmemory * -maxmemoryClients) / 100);
  else if (maxmemoryClients > 0) limit = maxmemoryClients;
  else return 0;
  return Math.max(limit, MIN_LIMIT);
}

/** What eviction needs of the server: to close a client and to log. */
export interface EvictionHost {
  clients(): Iterable<Client>;
  /** Logs "Evicting client: ..." for `client`, closes it at once and counts it (evicted_clients). */
  evict(client: Client): void;
  warn(message: string): void;
}

export class ClientEviction {
  /** The limit in bytes, 0 while client eviction is off. */
  limit = 0;
  /** The normal and pub/sub clients' memory as last taken (Redis's stat_clients_type_memory). */
  private sum = 0;
  private readonly buckets = Array.from({ length: BUCKET_COUNT }, () => new Set<Client>());
  /** The cron's pass over the clients, resumed at each tick. */
  private sweep: Iterator<Client> | null = null;
  private evicting = false;

  constructor(config: Config, private readonly host: EvictionHost) {
    const refresh = () => this.setLimit(clientEvictionLimit(config.int(MAXMEMORY_CLIENTS), config.int(MAXMEMORY)));
    refresh();
    config.onChange(MAXMEMORY_CLIENTS, refresh);
    config.onChange(MAXMEMORY, refresh);
  }

  /** applyClientMaxMemoryUsage: turning eviction on takes every client's memory; off forgets it all. */
  private setLimit(limit: number): void {
    const wasOn = this.limit !== 0;
    this.limit = limit;
    if (limit === 0) {
      if (wasOn) for (const c of this.host.clients()) this.forget(c);
      this.sum = 0;
      this.sweep = null;
    } else if (!wasOn) {
      for (const c of this.host.clients()) this.update(c);
    }
  }

  /** updateClientMemUsage: takes `client`'s memory now and moves it to its bucket. Only while on. */
  update(client: Client): void {
    if (client.closed) {
      this.forget(client);
      return;
    }
    const type = client.type;
    const counted = type === 'normal' || type === 'pubsub';
    const bytes = counted ? clientMemoryFields(client, null).totMem : 0;
    this.sum += bytes - client.evictionMemory;
    client.evictionMemory = bytes;
    const bucket = counted && !client.noEvict ? this.buckets[bucketOf(bytes)] : null;
    if (bucket !== client.evictionBucket) {
      client.evictionBucket?.delete(client);
      bucket?.add(client);
      client.evictionBucket = bucket;
    }
  }

  /** A client that is gone (or no longer tracked) leaves the sum and its bucket. */
  forget(client: Client): void {
    this.sum -= client.evictionMemory;
    client.evictionMemory = 0;
    client.evictionBucket?.delete(client);
    client.evictionBucket = null;
  }

  /**
   * evictClients: while the sum is at or over the limit, evicts from the largest bucket down.
   * A candidate's memory is taken again first (keyfork does not hear of every write its socket
   * layer completes): one that shrank into a smaller bucket waits for that bucket's turn, one
   * that is no longer evictable (a replica now) is skipped.
   */
  evictIfOver(): void {
    if (this.limit === 0 || this.sum < this.limit || this.evicting) return;
    this.evicting = true;
    try {
      for (let b = BUCKET_COUNT - 1; b >= 0; b--) {
        const bucket = this.buckets[b];
        for (const client of [...bucket]) {
          if (this.sum < this.limit) return;
          const taken = client.evictionMemory;
          this.update(client);
          if (client.evictionMemory < taken && client.evictionBucket !== bucket) continue;
          this.host.evict(client);
          this.forget(client);
        }
        if (this.sum < this.limit) return;
      }
      this.host.warn('Over client maxmemory after evicting all evictable clients');
    } finally {
      this.evicting = false;
    }
  }

  /**
   * DEBUG CLIENT-EVICTION: each size class's range, the memory and the number of the evictable
   * clients in it; null while eviction is off.
   */
  bucketTable(): string | null {
    if (this.limit === 0) return null;
    const pad = (n: number) => String(n).padStart(10);
    let text = '';
    for (let b = 0; b < BUCKET_COUNT; b++) {
      text += b === 0 ? `bucket ${pad(0)}` : `bucket ${pad(2 ** (b - 1 + BUCKET_MIN_LOG))}`;
      text += b === BUCKET_COUNT - 1 ? '+            : ' : ` - ${pad(2 ** (b + BUCKET_MIN_LOG) - 1)}: `;
      let bytes = 0;
      for (const c of this.buckets[b]) bytes += c.evictionMemory;
      text += `tot-mem: ${pad(bytes)}, clients: ${this.buckets[b].size}\n`;
    }
    return text;
  }

  /**
   * The cron, each tick: takes the memory of a share of the clients (all of them over a
   * second at `hz`, at least 5 a tick, as Redis's clientsCron), then checks the limit.
   */
  cron(clientCount: number, hz: number): void {
    if (this.limit === 0) return;
    let n = Math.max(5, Math.ceil(clientCount / hz));
    while (n-- > 0) {
      this.sweep ??= this.host.clients()[Symbol.iterator]();
      const next = this.sweep.next();
      if (next.done) {
        this.sweep = null;
        break;
      }
      this.update(next.value);
    }
    this.evictIfOver();
  }
}
