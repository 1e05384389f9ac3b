// Client-side caching against the real redis-server 7.0, byte for byte: CLIENT TRACKING in
// default, OPTIN/OPTOUT (CLIENT CACHING), NOLOOP and BCAST modes, RESP3 push invalidations and
// RESP2 redirection to a client subscribed to __redis__:invalidate (tracking-redir-broken when
// it goes away), invalidation by writes, expiry, MULTI, scripts and flushes, what each client
// receives and in what order, CLIENT TRACKINGINFO / GETREDIR / LIST, INFO's tracking fields,
// the errors, RESET, tracking-table-max-keys; then node-redis' client-side cache on both.
import net from 'node:net';
import { createClient } from 'redis';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand } from '../helpers/resp';

/** A raw connection that keeps every byte it receives. */
class Tap {
  private chunks: Buffer[] = [];
  id = 0;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c) => this.chunks.push(c));
  }

  static async open(port: number): Promise<Tap> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const tap = new Tap(socket);
    socket.write(encodeCommand(['CLIENT', 'ID']));
    const deadline = Date.now() + 5_000;
    while (!tap.text().endsWith('\r\n') && Date.now() < deadline) await sleep(5);
    tap.id = Number(tap.text().slice(1, -2));
    tap.chunks = [];
    return tap;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  take(): string {
    const t = this.text();
    this.chunks = [];
    return t;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A step: [client, ...command] (`{a}` in an argument is client a's id), ['sleep', ms],
 * ['close', client], ['info', client] (the tracking fields of INFO, as a line) or
 * ['list', client] (the flags and redir fields of its CLIENT LIST line); or a command step
 * that is over only once a client received the invalidations of some keys (`awaiting`).
 */
type Step = string[] | { step: string[]; client: string; keys: string[] };

/** `step`, over once `client` has been told that each of `keys` changed (or after 5 s). */
const awaiting = (step: string[], client: string, keys: string[]): Step => ({ step, client, keys });

/** Whether `text` holds a RESP3 invalidate push of `key` (one key per message, as Redis sends). */
const invalidated = (text: string, key: string) => text.includes(`$10\r\ninvalidate\r\n*1\r\n$${key.length}\r\n${key}\r\n`);

/** Waits (at most 5 s) until `tap` received a whole bulk or verbatim string containing `marker`. */
async function wholeBulk(tap: Tap, marker: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const text = tap.text();
    for (const m of text.matchAll(/[$=](\d+)\r\n/g)) {
      const start = m.index! + m[0].length;
      const end = start + Number(m[1]);
      if (text.length >= end + 2 && text.slice(start, end).includes(marker)) return;
    }
    await sleep(5);
  }
}

/** Runs `steps` with fresh connections `names` and returns each step's bytes per client. */
async function play(port: number, names: string[], steps: Step[]): Promise<string> {
  const taps = new Map<string, Tap>();
  for (const n of names) taps.set(n, await Tap.open(port));
  const ids = new Map([...taps].map(([n, t]) => [String(t.id), n]));
  const lines: string[] = [];
  const collect = (label: string) => {
    for (const [n, t] of taps) {
      let text = t.take();
      // Client ids differ between the servers: where a reply carries one, it is named.
      const name = (id: string) => (ids.has(id) ? `<${ids.get(id)}>` : id);
      text = text.replace(/(redirect\r\n|tracking-redir-broken\r\n|id\r\n):(-?\d+)\r\n/g, (_, before: string, id: string) => `${before}:${name(id)}\r\n`);
      if (label.includes('GETREDIR')) text = text.replace(/^:(-?\d+)\r\n/, (_, id: string) => `:${name(id)}\r\n`);
      if (text) lines.push(`${label} -> ${n}: ${JSON.stringify(text)}`);
    }
  };
  /**
   * After a command: its sender got something (and `done` holds, when given), then nobody
   * received anything for 25 ms.
   */
  const settle = async (sender: Tap, done: () => boolean = () => true) => {
    const deadline = Date.now() + 5_000;
    const total = () => [...taps.values()].reduce((n, t) => n + t.text().length, 0);
    let last = -1;
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      await sleep(5);
      const now = total();
      if (now !== last) {
        last = now;
        quietSince = Date.now();
      } else if (sender.text().length > 0 && done() && Date.now() - quietSince >= 25) {
        return;
      }
    }
  };
  try {
    for (const entry of steps) {
      const step = Array.isArray(entry) ? entry : entry.step;
      const [who, ...rest] = step;
      if (who === 'sleep') {
        await sleep(Number(rest[0]));
      } else if (who === 'close') {
        taps.get(rest[0])!.socket.destroy();
        taps.delete(rest[0]);
        await sleep(30);
      } else if (who === 'info') {
        const t = taps.get(rest[0])!;
        t.socket.write(encodeCommand(['INFO', 'everything']));
        await wholeBulk(t, 'tracking_clients');
        const info = t.take();
        lines.push(`info: ${info.split('\r\n').filter((l) => l.startsWith('tracking_')).join(' ')}`);
        continue;
      } else if (who === 'list') {
        const t = taps.get(rest[0])!;
        t.socket.write(encodeCommand(['CLIENT', 'INFO']));
        await wholeBulk(t, 'flags=');
        const line = t.take();
        const redir = /redir=(-?\d+)/.exec(line)?.[1] ?? '?';
        lines.push(`list ${rest[0]}: ${/flags=\S+/.exec(line)?.[0]} redir=${ids.has(redir) ? `<${ids.get(redir)}>` : redir}`);
        continue;
      } else {
        const args = rest.map((a) => a.replace(/\{(\w+)\}/g, (_, n: string) => String(taps.get(n)?.id ?? 999999)));
        const sender = taps.get(who)!;
        sender.socket.write(encodeCommand(args));
        if (Array.isArray(entry)) {
          await settle(sender);
        } else {
          const watcher = taps.get(entry.client)!;
          await settle(sender, () => entry.keys.every((key) => invalidated(watcher.text(), key)));
        }
      }
      collect(step.join(' '));
    }
    await sleep(150);
    collect('end');
  } finally {
    for (const t of taps.values()) t.socket.destroy();
  }
  return lines.join('\n');
}

async function same(servers: BothServers, names: string[], steps: Step[]): Promise<void> {
  const [k, r] = await Promise.all([play(servers.keyfork.port, names, steps), play(servers.redis.port, names, steps)]);
  expect(k).toBe(r);
}

const RESET_STATE: Step[] = [
  ['a', 'FLUSHALL'], ['a', 'DEBUG', 'SET-ACTIVE-EXPIRE', '1'], ['a', 'CONFIG', 'SET', 'tracking-table-max-keys', '1000000'],
  ['a', 'CONFIG', 'SET', 'notify-keyspace-events', ''],
];

describeDifferential('CLIENT TRACKING (client-side caching)', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('default mode over RESP3: reads remembered, writes invalidate, own messages after the reply', async () => {
    await same(servers, ['a', 'b'], [
      ...RESET_STATE,
      ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON'],
      ['a', 'GET', 'k'], ['a', 'INCR', 'k'], ['a', 'GET', 'k'], ['b', 'SET', 'k', '5'], ['b', 'SET', 'k', '6'],
      ['a', 'MGET', 'k', 'm1', 'm2'], ['b', 'MSET', 'm1', '1', 'm2', '2', 'k', '7'],
      ['a', 'GET', 'k'], ['a', 'MULTI'], ['a', 'INCR', 'k'], ['a', 'GET', 'k'], ['a', 'EXEC'],
      ['b', 'LPUSH', 'l', 'x'], ['a', 'GET', 'l'], ['b', 'DEL', 'l'],
      ['a', 'SET', 'g', '1'], ['a', 'GETDEL', 'g'], ['b', 'SET', 'g', '2'],
      ['a', 'STRLEN', 'dbk'], ['b', 'SELECT', '3'], ['b', 'SET', 'dbk', '1'], ['b', 'SELECT', '0'],
      ['a', 'HGET', 'h', 'f'], ['a', 'ZSCORE', 'z', 'm'], ['a', 'EXISTS', 'e1', 'e2'], ['b', 'HSET', 'h', 'f', 'v'], ['b', 'ZADD', 'z', '1', 'm'], ['b', 'SET', 'e2', '1'],
      ['info', 'b'],
      ['a', 'GET', 'k'], ['b', 'FLUSHDB'], ['a', 'GET', 'k'], ['a', 'FLUSHALL'],
      ['a', 'CLIENT', 'TRACKINGINFO'], ['a', 'CLIENT', 'GETREDIR'],
      ['a', 'GET', 'k'], ['a', 'CLIENT', 'TRACKING', 'OFF'], ['b', 'SET', 'k', '1'], ['info', 'b'],
      ['a', 'CLIENT', 'TRACKINGINFO'], ['a', 'CLIENT', 'GETREDIR'],
    ]);
  });

  it('NOLOOP, scripts, expiry and the table after tracking is turned off', async () => {
    await same(servers, ['a', 'b'], [
      ...RESET_STATE,
      ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON', 'NOLOOP'],
      ['a', 'GET', 'k'], ['a', 'INCR', 'k'], ['b', 'INCR', 'k'], ['a', 'GET', 'k'],
      ['a', 'EVAL', "return redis.call('incr', KEYS[1])", '1', 'k'], ['b', 'INCR', 'k'],
      ['a', 'CLIENT', 'TRACKING', 'ON'],
      ['a', 'EVAL', "return redis.call('get', KEYS[1])", '1', 's1'],
      ['a', 'EVAL_RO', "return redis.call('get', KEYS[1])", '1', 's2'],
      ['a', 'EVAL', "redis.call('get', 'undeclared') return 1", '1', 's3'],
      ['a', 'EVAL', "redis.call('set', KEYS[1], 'x') return 1", '1', 's4'],
      ['a', 'EVAL', "return redis.call('get', 'only-undeclared')", '0'],
      ['a', 'EVAL', "redis.call('get', KEYS[1]) redis.call('set', KEYS[1], 'y') return 1", '1', 's5'],
      ['b', 'MSET', 's1', '1', 's2', '1', 's3', '1', 's4', '1', 'undeclared', '1', 'only-undeclared', '1', 's5', '1'],
      ['a', 'DEBUG', 'SET-ACTIVE-EXPIRE', '0'],
      ['a', 'SET', 'e', '1', 'PX', '100'], ['a', 'GET', 'e'], ['sleep', '200'], ['a', 'GET', 'e'],
      ['a', 'SET', 'e', '1', 'PX', '100'], ['a', 'GET', 'e'], ['sleep', '200'], ['b', 'GET', 'e'],
      // By the cycle: the key expires while the cycle is off, and the step that turns it on is over
      // once the invalidation came (a loaded machine can stretch a step past a short TTL).
      ['a', 'SET', 'e', '1', 'PX', '100'], ['a', 'GET', 'e'], ['sleep', '200'],
      awaiting(['a', 'DEBUG', 'SET-ACTIVE-EXPIRE', '1'], 'a', ['e']),
      ['a', 'GET', 't1'], ['a', 'GET', 't2'], ['info', 'b'], ['a', 'CLIENT', 'TRACKING', 'OFF'], ['info', 'b'],
      ['b', 'SET', 't1', '1'], ['info', 'b'], ['a', 'CLIENT', 'TRACKING', 'ON'], ['b', 'SET', 't2', '1'], ['info', 'b'],
    ]);
  });

  it('OPTIN and OPTOUT with CLIENT CACHING, for one command or one transaction', async () => {
    await same(servers, ['a', 'b'], [
      ...RESET_STATE,
      ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTIN'],
      ['a', 'GET', 'o1'], ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'CLIENT', 'TRACKINGINFO'], ['a', 'GET', 'o2'], ['a', 'GET', 'o3'],
      ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'CLIENT', 'GETREDIR'], ['a', 'GET', 'o4'],
      ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'PING'], ['a', 'GET', 'o5'],
      ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'NOSUCHCOMMAND'], ['a', 'GET', 'o6'],
      ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'MULTI'], ['a', 'GET', 'o7'], ['a', 'GET', 'o8'], ['a', 'EXEC'], ['a', 'GET', 'o9'],
      ['b', 'MSET', 'o1', '1', 'o2', '1', 'o3', '1', 'o4', '1', 'o5', '1', 'o6', '1', 'o7', '1', 'o8', '1', 'o9', '1'],
      ['a', 'CLIENT', 'TRACKING', 'OFF'], ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTOUT'],
      ['a', 'GET', 'p1'], ['a', 'CLIENT', 'CACHING', 'NO'], ['a', 'CLIENT', 'TRACKINGINFO'], ['a', 'GET', 'p2'], ['a', 'GET', 'p3'],
      ['b', 'MSET', 'p1', '1', 'p2', '1', 'p3', '1'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTIN'], ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTOUT', 'NOLOOP'], ['a', 'CLIENT', 'TRACKINGINFO'],
    ]);
  });

  it('RESP2 redirection: __redis__:invalidate messages, flush nulls, a broken redirection', async () => {
    await same(servers, ['a', 'b', 'c', 'd'], [
      ...RESET_STATE,
      ['b', 'SUBSCRIBE', '__redis__:invalidate'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{b}'], ['a', 'CLIENT', 'GETREDIR'], ['a', 'CLIENT', 'TRACKINGINFO'],
      ['a', 'GET', 'k'], ['a', 'SET', 'k', '1'], ['a', 'GET', 'k'], ['c', 'SET', 'k', '2'],
      ['a', 'GET', 'k'], ['c', 'FLUSHALL'], ['a', 'FLUSHDB'],
      // A RESP3 redirection target gets pushes; a RESP2 one outside pub/sub gets nothing.
      ['c', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{c}'], ['a', 'GET', 'k'], ['d', 'SET', 'k', '1'], ['a', 'FLUSHALL'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{d}'], ['a', 'GET', 'k'], ['c', 'SET', 'k', '1'],
      // The RESP2 client's flush null is its own protocol's, even redirected to RESP3.
      ['a', 'CLIENT', 'TRACKING', 'OFF'], ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{c}'], ['d', 'FLUSHALL'],
      ['d', 'HELLO', '3'], ['d', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{b}'], ['d', 'GET', 'k'], ['a', 'SET', 'k', '3'], ['a', 'FLUSHALL'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{b}'], ['a', 'GET', 'k'], ['d', 'GET', 'k'],
      ['close', 'b'],
      ['c', 'SET', 'k', '4'], ['a', 'CLIENT', 'TRACKINGINFO'], ['d', 'CLIENT', 'TRACKINGINFO'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{b}'],
    ]);
  });

  it('BCAST: prefixes, keys in byte order, NOLOOP, redirection, and the errors', async () => {
    await same(servers, ['a', 'b', 'c'], [
      ...RESET_STATE,
      ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:', 'PREFIX', 'acct:', 'NOLOOP'],
      ['c', 'HELLO', '3'], ['c', 'CLIENT', 'TRACKING', 'ON', 'BCAST'],
      ['a', 'CLIENT', 'TRACKINGINFO'], ['info', 'b'],
      ['b', 'MSET', 'user:2', 'x', 'user:1', 'x', 'acct:9', 'x', 'other', 'x'],
      ['a', 'SET', 'user:3', 'x'], ['a', 'MSET', 'user:4', 'x', 'user:5', 'y'], ['b', 'SET', 'user:5', 'z'],
      ['b', 'MULTI'], ['b', 'SET', 'acct:1', '1'], ['b', 'SET', 'user:9', '1'], ['b', 'EXEC'],
      // Expired by the cycle, turned on once the key is past its TTL: under load the SET's own
      // step once outlasted a 50 ms TTL, and its invalidation came within it.
      ['b', 'DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['b', 'SET', 'user:e', '1', 'PX', '50'], ['sleep', '100'],
      awaiting(['b', 'DEBUG', 'SET-ACTIVE-EXPIRE', '1'], 'c', ['user:e']),
      ['b', 'FLUSHALL'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:x'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'u'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'zz'], ['a', 'CLIENT', 'TRACKINGINFO'],
      ['a', 'CLIENT', 'TRACKING', 'ON'],
      ['a', 'CLIENT', 'TRACKING', 'OFF'], ['info', 'b'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'x', 'PREFIX', 'ab', 'PREFIX', 'a'], ['a', 'CLIENT', 'TRACKINGINFO'],
      ['a', 'CLIENT', 'TRACKING', 'OFF'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'ab', 'PREFIX', 'a'], ['a', 'CLIENT', 'TRACKINGINFO'],
      ['b', 'SUBSCRIBE', 'x'], ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'REDIRECT', '{b}', 'PREFIX', 'k'], ['c', 'SET', 'k1', '1'], ['c', 'SET', 'q', '1'],
      ['list', 'a'],
    ]);
  });

  it('refuses what Redis refuses, with its words', async () => {
    await same(servers, ['a', 'b'], [
      ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTIN', 'OPTOUT'], ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'OPTIN'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST', 'OPTOUT', 'OPTIN'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '999999'], ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', 'abc'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '0'], ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '-5'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{b}', 'REDIRECT', '{b}'], ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'FOO'], ['a', 'CLIENT', 'TRACKING', 'MAYBE'], ['a', 'CLIENT', 'TRACKING', 'OFF', 'FOO'],
      ['a', 'CLIENT', 'TRACKING', 'OFF', 'PREFIX', 'a'], ['a', 'CLIENT', 'TRACKING'], ['a', 'CLIENT', 'TRACKING', 'ON', 'PREFIX', 'a'],
      ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'CLIENT', 'CACHING'], ['a', 'CLIENT', 'CACHING', 'YES', 'NO'],
      ['a', 'CLIENT', 'TRACKING', 'ON'], ['a', 'CLIENT', 'CACHING', 'YES'], ['a', 'CLIENT', 'CACHING', 'NO'], ['a', 'CLIENT', 'CACHING', 'maybe'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTIN'], ['a', 'CLIENT', 'CACHING', 'NO'], ['a', 'CLIENT', 'TRACKING', 'ON', 'OPTOUT'],
      ['a', 'CLIENT', 'TRACKING', 'ON', 'BCAST'], ['a', 'CLIENT', 'TRACKING', 'ON', 'REDIRECT', '{a}'], ['a', 'CLIENT', 'TRACKINGINFO'],
      ['a', 'CLIENT', 'GETREDIR', 'x'], ['a', 'CLIENT', 'TRACKINGINFO', 'x'],
      ['list', 'a'],
      ['a', 'RESET'], ['a', 'CLIENT', 'TRACKINGINFO'], ['info', 'b'],
    ]);
  });

  it('tracking-table-max-keys evicts keys with invalidations until the table fits', async () => {
    for (const server of [servers.keyfork, servers.redis]) {
      const out = await play(server.port, ['a', 'b'], [
        ...RESET_STATE,
        ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON'],
        ['a', 'MGET', 'x1', 'x2', 'x3', 'x4', 'x5'], ['info', 'b'],
        ['b', 'CONFIG', 'SET', 'tracking-table-max-keys', '2'], ['sleep', '300'], ['info', 'b'],
        ['b', 'CONFIG', 'SET', 'tracking-table-max-keys', '0'], ['a', 'MGET', 'y1', 'y2', 'y3'], ['sleep', '200'], ['info', 'b'],
      ]);
      const evicted = [...out.matchAll(/invalidate\\r\\n\*1\\r\\n\$2\\r\\n(x\d)/g)].map((m) => m[1]);
      expect(new Set(evicted).size, `${server === servers.redis ? 'redis' : 'keyfork'}: ${out}`).toBe(3);
      const infos = [...out.matchAll(/^info: (.*)$/gm)].map((m) => m[1]);
      expect(infos).toEqual([5, 2, 5].map((n) => `tracking_clients:1 tracking_total_keys:${n} tracking_total_items:${n} tracking_total_prefixes:0`));
    }
  });

  it('maxmemory eviction invalidates the evicted keys (another client\'s CONFIG SET, and the tracking client\'s own)', async () => {
    const steps: Step[] = [
      ...RESET_STATE,
      ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON'],
      ['b', 'MSET', 'v1', '1', 'v2', '2', 'v3', '3', 'v4', '4'], ['a', 'MGET', 'v1', 'v2', 'v3', 'v4'],
      ['b', 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random'],
      awaiting(['b', 'CONFIG', 'SET', 'maxmemory', '1'], 'a', ['v1', 'v2', 'v3', 'v4']), ['b', 'CONFIG', 'SET', 'maxmemory', '0'],
      ['info', 'b'],
      ['b', 'MSET', 'w1', '1', 'w2', '2'], ['a', 'MGET', 'w1', 'w2'],
      awaiting(['a', 'CONFIG', 'SET', 'maxmemory', '1'], 'a', ['w1', 'w2']), ['a', 'CONFIG', 'SET', 'maxmemory', '0'],
      ['a', 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
    ];
    // Both servers evict within CONFIG SET (updateMaxmemory), so the invalidations belong to
    // that step; each such step waits for them (bounded) rather than for a fixed time. Eviction
    // order is random: each step's invalidated keys are compared as a sorted list.
    const shape = (out: string) =>
      out.split('\n').map((line) => {
        const keys = [...line.matchAll(/invalidate\\r\\n\*1\\r\\n\$2\\r\\n(\w\d)/g)].map((m) => m[1]).sort();
        return keys.length ? `${line.slice(0, line.indexOf(' -> '))} -> ${keys.join(',')}${line.includes('+OK\\r\\n>') ? ' (after the reply)' : ''}` : line;
      }).join('\n');
    const [k, r] = await Promise.all([play(servers.keyfork.port, ['a', 'b'], steps), play(servers.redis.port, ['a', 'b'], steps)]);
    expect(shape(r)).toContain('b CONFIG SET maxmemory 1 -> v1,v2,v3,v4');
    expect(shape(k)).toBe(shape(r));
  });

  it('a multi-key write: each key\'s invalidation, then its keyspace events, key after key (to a RESP3 client doing both)', async () => {
    await same(servers, ['a', 'b'], [
      ...RESET_STATE,
      ['b', 'CONFIG', 'SET', 'notify-keyspace-events', 'KEA'],
      ['a', 'HELLO', '3'], ['a', 'CLIENT', 'TRACKING', 'ON'], ['a', 'PSUBSCRIBE', '__key*@0__:*'],
      ['b', 'MSET', 'k1', '1', 'k2', '2', 'k3', '3'], ['a', 'MGET', 'k1', 'k2', 'k3'], ['b', 'MSET', 'k1', 'x', 'k2', 'y', 'k3', 'z'],
      ['a', 'MGET', 'k1', 'k2'], ['b', 'DEL', 'k1', 'nosuch', 'k2'],
      ['a', 'GET', 'k3'], ['a', 'GET', 'k4'], ['b', 'RENAME', 'k3', 'k4'],
      ['b', 'SADD', 's1', 'a', 'b'], ['b', 'SADD', 's2', 'c'], ['a', 'SCARD', 's1'], ['a', 'SCARD', 'dst'], ['b', 'SUNIONSTORE', 'dst', 's1', 's2'],
      ['a', 'SCARD', 'dst'], ['b', 'SUNIONSTORE', 'dst', 'none1', 'none2'],
      ['a', 'MGET', 'k4', 's1', 's2'], ['b', 'MULTI'], ['b', 'SET', 'k4', '1'], ['b', 'SADD', 's1', 'q'], ['b', 'DEL', 's2', 'k4'], ['b', 'EXEC'],
      ['a', 'GET', 'x1'], ['b', 'SET', 'x1', 'v', 'EX', '100'], ['a', 'GET', 'x1'], ['b', 'EXPIRE', 'x1', '200'], ['a', 'GET', 'x1'], ['b', 'EXPIRE', 'x1', '0'],
      ['b', 'SADD', 'm1', 'a', 'b'], ['b', 'SADD', 'm2', 'b'], ['a', 'SCARD', 'm1'], ['a', 'SCARD', 'm2'], ['b', 'SMOVE', 'm1', 'm2', 'b'],
      ['a', 'SCARD', 'm1'], ['b', 'SMOVE', 'm1', 'm2', 'a'], ['a', 'SCARD', 'm2'], ['b', 'SREM', 'm2', 'a', 'b'],
      ['b', 'ZADD', 'z', '1', 'a', '2', 'b'], ['a', 'ZCARD', 'z'], ['b', 'ZREMRANGEBYSCORE', 'z', '0', '5'],
      ['a', 'XLEN', 'st'], ['b', 'XADD', 'st', 'MAXLEN', '1', '1-1', 'f', 'v'], ['a', 'XLEN', 'st'], ['b', 'XADD', 'st', 'MAXLEN', '1', '2-1', 'f', 'v'],
      // Its own write: its events before its reply, its invalidations after it.
      ['a', 'MGET', 'k1', 'k2'], ['a', 'MSET', 'k1', '1', 'k2', '2'],
      // Expiry: the "expired" event comes before the invalidation (lazily, then by the cycle).
      ['a', 'DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['b', 'SET', 'e', '1', 'PX', '50'], ['a', 'GET', 'e'], ['sleep', '150'], ['b', 'GET', 'e'],
      ['b', 'SET', 'e2', '1', 'PX', '400'], ['a', 'GET', 'e2'], ['sleep', '500'], awaiting(['a', 'DEBUG', 'SET-ACTIVE-EXPIRE', '1'], 'a', ['e2']),
      ['b', 'CONFIG', 'SET', 'notify-keyspace-events', ''],
    ]);
  });

  it('keys evicted in the background are invalidated and their events published as they go, not at a later command or cron tick', async () => {
    const KEYS = 2000;
    const tracked = Array.from({ length: 50 }, (_, i) => `key:${i * 40}`);
    const run = async (port: number) => {
      const [a, b, c] = [await Tap.open(port), await Tap.open(port), await Tap.open(port)];
      const call = async (tap: Tap, ...args: string[]) => {
        tap.take();
        tap.socket.write(encodeCommand(args));
        const deadline = Date.now() + 5_000;
        while (!tap.text().endsWith('\r\n') && Date.now() < deadline) await sleep(2);
        return tap.take();
      };
      try {
        for (const args of [['FLUSHALL'], ['DEBUG', 'POPULATE', String(KEYS)], ['CONFIG', 'SET', 'notify-keyspace-events', 'Ee'],
          ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random'], ['CONFIG', 'SET', 'maxmemory-eviction-tenacity', '0']]) {
          expect(await call(b, ...args)).toBe('+OK\r\n');
        }
        await call(a, 'HELLO', '3');
        await call(a, 'CLIENT', 'TRACKING', 'ON');
        await call(a, 'MGET', ...tracked);
        expect(await call(c, 'SUBSCRIBE', '__keyevent@0__:evicted')).toContain('subscribe');
        // With the cron paused, only the eviction loop itself can send what it evicted: with a
        // tenacity of 0 CONFIG SET evicts a few keys and the loop (Redis's evictionTimeProc)
        // the rest, one short step per event-loop turn.
        expect(await call(b, 'DEBUG', 'PAUSE-CRON', '1')).toBe('+OK\r\n');
        const t0 = Date.now();
        expect(await call(b, 'CONFIG', 'SET', 'maxmemory', '1')).toBe('+OK\r\n');
        const allSent = () => tracked.every((key) => invalidated(a.text(), key)) && c.text().split('$7\r\nmessage\r\n').length - 1 === KEYS;
        const deadline = Date.now() + 5_000;
        while (!allSent() && Date.now() < deadline) await sleep(5);
        const result = { invalidated: tracked.filter((key) => invalidated(a.text(), key)).length, evictedEvents: c.text().split('$7\r\nmessage\r\n').length - 1 };
        const ms = Date.now() - t0;
        for (const args of [['DEBUG', 'PAUSE-CRON', '0'], ['CONFIG', 'SET', 'maxmemory', '0'], ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
          ['CONFIG', 'SET', 'maxmemory-eviction-tenacity', '10'], ['CONFIG', 'SET', 'notify-keyspace-events', '']]) {
          expect(await call(b, ...args)).toBe('+OK\r\n');
        }
        expect(await call(b, 'DBSIZE')).toBe(':0\r\n');
        return { result, ms };
      } finally {
        for (const t of [a, b, c]) t.socket.destroy();
      }
    };
    const r = await run(servers.redis.port);
    const k = await run(servers.keyfork.port);
    expect(r.result).toEqual({ invalidated: tracked.length, evictedEvents: KEYS });
    expect(k.result).toEqual(r.result);
    // Sent as the keys went: well before the 5 s bound (a cron tick would never come).
    expect(k.ms).toBeLessThan(2_000);
  });

  it("node-redis' client-side cache serves hits and drops what the server invalidates", async () => {
    const run = async (port: number) => {
      const cached = createClient({ socket: { port }, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0, recordStats: true } });
      const writer = createClient({ socket: { port } });
      await Promise.all([cached.connect(), writer.connect()]);
      try {
        await writer.set('csc', 'one');
        const seen = [await cached.get('csc'), await cached.get('csc')];
        await writer.set('csc', 'two');
        await sleep(50);
        seen.push(await cached.get('csc'), await cached.get('csc'));
        await writer.flushAll();
        await sleep(50);
        seen.push(await cached.get('csc'));
        const stats = cached.clientSideCache!.stats();
        return { seen, hits: stats.hitCount, misses: stats.missCount };
      } finally {
        await Promise.all([cached.quit(), writer.quit()]);
      }
    };
    const [k, r] = await Promise.all([run(servers.keyfork.port), run(servers.redis.port)]);
    expect(r).toEqual({ seen: ['one', 'one', 'two', 'two', null], hits: 2, misses: 3 });
    expect(k).toEqual(r);
  });
});
