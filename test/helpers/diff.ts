// Differential harness: the same command sequence, on one connection each, to keyfork and to the
// real redis-server; every reply must be identical, wire type included.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { formatReply, RawConnection, type Arg, type Reply } from './resp';
import { quoteBytes } from './resp3';
import { redisAvailable, startKeyfork, startRedis, type RunningServer, type ServerOptions } from './servers';

export interface BothServers {
  keyfork: RunningServer;
  redis: RunningServer;
}

export interface Mismatch {
  index: number;
  command: Arg[];
  keyfork: Reply;
  redis: Reply;
}

export interface CompareOptions {
  /**
   * Commands whose aggregate replies are compared as multisets (order ignored at the top level;
   * map replies by key). Lower-case names: `smembers`, or `command|info` to target a subcommand.
   */
  unordered?: Set<string>;
  /** Use RESP3 (HELLO 3 first) on both connections. */
  resp3?: boolean;
  /** Rewrites a reply before comparison (both sides), for values that legitimately differ (e.g. run_id). */
  normalize?: (command: Arg[], reply: Reply) => Reply;
  /** Reuse running servers; otherwise fresh ones are started for this sequence and stopped after. */
  servers?: BothServers;
  keyfork?: ServerOptions;
  redis?: ServerOptions;
}

/**
 * `describe` for differential tests: when redis-server is not installed the block is skipped and
 * its title says why.
 */
export function describeDifferential(name: string, fn: () => void): void {
  if (redisAvailable()) describe(name, fn);
  else describe.skip(`${name} (skipped: redis-server is not installed)`, fn);
}

/** Starts keyfork and redis-server, runs fn, and stops both whatever happens. */
export async function withBothServers<T>(
  fn: (servers: BothServers) => Promise<T>,
  opts: { keyfork?: ServerOptions; redis?: ServerOptions } = {},
): Promise<T> {
  const [keyfork, redis] = await Promise.allSettled([startKeyfork(opts.keyfork), startRedis(opts.redis)]);
  try {
    if (keyfork.status === 'rejected') throw keyfork.reason;
    if (redis.status === 'rejected') throw redis.reason;
    return await fn({ keyfork: keyfork.value, redis: redis.value });
  } finally {
    await Promise.all([keyfork, redis].map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  }
}

/** Opens `n` connections to `port` for `body` and closes them whatever happens. */
export async function withConns<T>(port: number, n: number, body: (c: RawConnection[]) => Promise<T>): Promise<T> {
  const conns = await Promise.all(Array.from({ length: n }, () => RawConnection.connect(port)));
  try {
    return await body(conns);
  } finally {
    conns.forEach((c) => c.close());
  }
}

/**
 * Runs `scenario` on Redis then on keyfork (one after the other, so timing-sensitive steps do
 * not compete); their transcripts must be equal. Returns Redis's.
 */
export async function sameOnBoth(servers: BothServers, scenario: (port: number) => Promise<string[]>): Promise<string[]> {
  const redis = await scenario(servers.redis.port);
  const keyfork = await scenario(servers.keyfork.port);
  expect(keyfork.join('\n')).toBe(redis.join('\n'));
  return redis;
}

/** Sends `commands` to both servers (one connection each) and returns every reply that differs. */
export async function compareSequences(commands: Arg[][], opts: CompareOptions = {}): Promise<Mismatch[]> {
  const run = async (servers: BothServers) => {
    const [k, r] = await Promise.all([
      RawConnection.connect(servers.keyfork.port, { resp3: opts.resp3 }),
      RawConnection.connect(servers.redis.port, { resp3: opts.resp3 }),
    ]);
    try {
      return await compareOnConnections(k, r, commands, opts);
    } finally {
      k.close();
      r.close();
    }
  };
  if (opts.servers) return run(opts.servers);
  return withBothServers(run, { keyfork: opts.keyfork, redis: opts.redis });
}

/**
 * The comparison itself, on connections the caller owns: `keyfork` is the one under test, `redis`
 * the reference. Commands are sent one at a time, each to both sides, so blocking and timing
 * behave the same on both.
 */
export async function compareOnConnections(
  keyfork: RawConnection,
  redis: RawConnection,
  commands: Arg[][],
  opts: Pick<CompareOptions, 'unordered' | 'normalize'> = {},
): Promise<Mismatch[]> {
  const mismatches: Mismatch[] = [];
  for (const [index, command] of commands.entries()) {
    const [k, r] = await Promise.all([keyfork.send(...command), redis.send(...command)]);
    const prepare = (reply: Reply) => {
      const normalized = opts.normalize ? opts.normalize(command, reply) : reply;
      return isUnordered(command, opts.unordered) ? sortAggregate(normalized) : normalized;
    };
    if (replyKey(prepare(k)) !== replyKey(prepare(r))) mismatches.push({ index, command, keyfork: k, redis: r });
  }
  return mismatches;
}

/** True when two replies are identical, wire types included. */
export function sameReply(a: Reply, b: Reply): boolean {
  return replyKey(a) === replyKey(b);
}

/** A readable report for assertion messages. */
export function formatMismatches(mismatches: Mismatch[]): string {
  return mismatches
    .map((m) => [
      `#${m.index} ${formatCommand(m.command)}`,
      indent('keyfork:', formatReply(m.keyfork)),
      indent('redis:  ', formatReply(m.redis)),
    ].join('\n'))
    .join('\n\n');
}

export function formatCommand(command: Arg[]): string {
  return command.map((a) => {
    const bytes = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    return /^[\x21-\x7e]+$/.test(bytes.toString('latin1')) && !bytes.includes(0x22) ? bytes.toString('latin1') : quoteBytes(bytes);
  }).join(' ');
}

function indent(label: string, text: string): string {
  return text.split('\n').map((l, i) => (i === 0 ? `  ${label} ${l}` : `  ${' '.repeat(label.length)} ${l}`)).join('\n');
}

function isUnordered(command: Arg[], unordered?: Set<string>): boolean {
  if (!unordered || command.length === 0) return false;
  const name = command[0].toString().toLowerCase();
  if (unordered.has(name)) return true;
  return command.length > 1 && unordered.has(`${name}|${command[1].toString().toLowerCase()}`);
}

function sortAggregate(r: Reply): Reply {
  switch (r.t) {
    case 'array':
      return r.v === null ? r : { t: 'array', v: [...r.v].sort(byKey) };
    case 'set':
    case 'push':
      return { t: r.t, v: [...r.v].sort(byKey) };
    case 'map':
      return { t: 'map', v: [...r.v].sort((a, b) => byKey(a[0], b[0]) || byKey(a[1], b[1])) };
    default:
      return r;
  }
}

function byKey(a: Reply, b: Reply): number {
  const ka = replyKey(a);
  const kb = replyKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Canonical text of a reply: equal keys <=> identical replies (type tags and bytes). */
export function replyKey(r: Reply): string {
  switch (r.t) {
    case 'simple':
    case 'error':
    case 'blob_error':
    case 'double':
      return `${r.t}:${JSON.stringify(r.v)}`;
    case 'int':
    case 'bignum':
      return `${r.t}:${r.v.toString()}`;
    case 'bool':
      return `bool:${r.v}`;
    case 'null':
      return 'null';
    case 'bulk':
      return r.v === null ? 'bulk:nil' : `bulk:${r.v.toString('hex')}`;
    case 'verbatim':
      return `verbatim:${r.format}:${r.v.toString('hex')}`;
    case 'array':
      return r.v === null ? 'array:nil' : `array[${r.v.map(replyKey).join(',')}]`;
    case 'set':
    case 'push':
      return `${r.t}[${r.v.map(replyKey).join(',')}]`;
    case 'map':
      return `map[${r.v.map(([k, v]) => `${replyKey(k)}=>${replyKey(v)}`).join(',')}]`;
    case 'attr':
      return `attr[${r.attrs.map(([k, v]) => `${replyKey(k)}=>${replyKey(v)}`).join(',')}]${replyKey(r.v)}`;
  }
}

/** The counters a command moves besides its reply: dirty (changes to save), keyspace hits and misses. */
export async function keyspaceCounters(port: number): Promise<Record<string, number>> {
  const conn = await RawConnection.connect(port);
  try {
    let all = '';
    for (const section of ['persistence', 'stats']) {
      const r = await conn.send('INFO', section);
      all += r.t === 'bulk' && r.v ? r.v.toString() : '';
    }
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(all)?.[1] ?? NaN);
    return { dirty: field('rdb_changes_since_last_save'), hits: field('keyspace_hits'), misses: field('keyspace_misses') };
  } finally {
    conn.close();
  }
}

/**
 * Runs `commands` on both servers from an empty keyspace (after `setup`): every reply must match,
 * and so must how far dirty and the keyspace hits/misses moved.
 */
export async function expectSameRepliesAndCounters(
  servers: BothServers,
  commands: Arg[][],
  opts: Pick<CompareOptions, 'resp3' | 'normalize' | 'unordered'> & { setup?: Arg[][] } = {},
): Promise<void> {
  await compareSequences([['FLUSHALL'], ...(opts.setup ?? [])], { servers });
  const before = await Promise.all([keyspaceCounters(servers.keyfork.port), keyspaceCounters(servers.redis.port)]);
  const mismatches = await compareSequences(commands, { servers, resp3: opts.resp3, normalize: opts.normalize, unordered: opts.unordered });
  const after = await Promise.all([keyspaceCounters(servers.keyfork.port), keyspaceCounters(servers.redis.port)]);
  expect(formatMismatches(mismatches)).toBe('');
  const delta = (i: number) => Object.fromEntries(Object.keys(before[i]).map((k) => [k, after[i][k] - before[i][k]]));
  expect(Number.isNaN(delta(1).dirty)).toBe(false);
  expect(delta(0)).toEqual(delta(1));
}

/**
 * Starts keyfork and redis-server before the enclosing suite's tests and stops both after
 * them; `assign` receives the pair (suites keep it in a variable of their own).
 */
export function useBothServers(assign: (servers: BothServers) => void, opts: { keyfork?: ServerOptions; redis?: ServerOptions } = {}): void {
  let started: BothServers | undefined;
  beforeAll(async () => {
    const [keyfork, redis] = await Promise.all([startKeyfork(opts.keyfork), startRedis(opts.redis)]);
    started = { keyfork, redis };
    assign(started);
  });
  afterAll(async () => {
    await Promise.all([started?.keyfork.stop(), started?.redis.stop()]);
  });
}

/** DEBUG OBJECT's address and LRU fields differ between any two processes: masked (a `normalize`). */
export function normalizeDebugObject(command: Arg[], reply: Reply): Reply {
  if (reply.t !== 'simple' || !/^debug$/i.test(command[0].toString())) return reply;
  return { t: 'simple', v: reply.v.replace(/^Value at:0x[0-9a-f]+ /, 'Value at:? ').replace(/ lru:\d+ lru_seconds_idle:\d+/, ' lru:? lru_seconds_idle:?') };
}
