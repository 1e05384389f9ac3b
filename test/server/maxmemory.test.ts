// maxmemory: the OOM refusals, OBJECT FREQ / IDLETIME under each kind of policy and the INFO
// fields, differentially against redis-server 7.0; then a write load of twice maxmemory under
// every policy against keyfork: the limit holds, the right keys go, no reply is wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, replyNumber, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

const text = (r: Reply): string => {
  if ((r.t === 'bulk' || r.t === 'verbatim' || r.t === 'simple') && r.v !== null) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
};

async function info(conn: RawConnection, section: string): Promise<Map<string, string>> {
  const lines = text(await conn.send('INFO', section)).split('\r\n');
  return new Map(lines.filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

async function infoNumber(conn: RawConnection, section: string, field: string): Promise<number> {
  const v = (await info(conn, section)).get(field);
  if (v === undefined) throw new Error(`no ${field} in INFO ${section}`);
  return Number(v);
}

describeDifferential('maxmemory vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  const check = async (commands: Arg[][]) => {
    const mismatches = await compareSequences(commands, { servers });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('noeviction over the limit: denyoom commands get OOM, reads and deletes go on; MULTI queues nothing', async () => {
    await check([
      ['FLUSHALL'],
      ['SET', 'a', '1'],
      ['RPUSH', 'l', 'x'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['SET', 'b', '2'],
      ['INCR', 'a'],
      ['APPEND', 'a', 'x'],
      ['LPUSH', 'l', 'y'],
      ['GET', 'a'],
      ['LRANGE', 'l', '0', '-1'],
      ['EXISTS', 'a', 'b'],
      ['LPOP', 'l'],
      ['DEL', 'a'],
      ['SET', 'b', '2'],
      ['MULTI'],
      ['GET', 'a'],
      ['SET', 'c', '3'],
      ['EXEC'],
      ['MULTI'],
      ['DISCARD'],
      ['CONFIG', 'SET', 'maxmemory', '0'],
      ['SET', 'b', '2'],
    ]);
  });

  it('scripts over the limit: eval-compatible scripts run until they call a denyoom command, shebang scripts need allow-oom or no-writes', async () => {
    await check([
      ['FLUSHALL'],
      ['SET', 'x', '1'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['EVAL', 'return 1', '0'],
      ['EVAL', "return redis.call('get', 'x')", '0'],
      ['EVAL', "return redis.call('set', 'x', '2')", '0'],
      ['EVAL', "return redis.pcall('set', 'x', '2')", '0'],
      ['EVAL', '#!lua\nreturn 1', '0'],
      ['EVAL', '#!lua flags=no-writes\nreturn 1', '0'],
      ['EVAL', "#!lua flags=allow-oom\nreturn redis.call('set', 'x', '3')", '0'],
      ['GET', 'x'],
      ['CONFIG', 'SET', 'maxmemory', '0'],
    ]);
  });

  it('EXEC of a transaction holding a write is refused with EXECABORT once memory is over the limit', async () => {
    const [k, r] = await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const conn = await RawConnection.connect(s.port);
      const admin = await RawConnection.connect(s.port);
      try {
        const replies: Reply[] = [];
        replies.push(await conn.send('MULTI'), await conn.send('SET', 'x', '1'), await conn.send('GET', 'x'));
        await admin.send('CONFIG', 'SET', 'maxmemory', '1');
        replies.push(await conn.send('EXEC'), await conn.send('EXEC'));
        // A read-only transaction still runs.
        await admin.send('CONFIG', 'SET', 'maxmemory', '0');
        replies.push(await conn.send('MULTI'), await conn.send('GET', 'x'));
        await admin.send('CONFIG', 'SET', 'maxmemory', '1');
        replies.push(await conn.send('EXEC'));
        return replies.map(formatReply);
      } finally {
        await admin.send('CONFIG', 'SET', 'maxmemory', '0');
        conn.close();
        admin.close();
      }
    }));
    expect(k).toEqual(r);
  });

  it('OBJECT FREQ under an LFU policy, OBJECT IDLETIME under the others, each refused under the other', async () => {
    const probe = await RawConnection.connect(servers.redis.port);
    await probe.send('SET', 'dumped', 'v');
    const dumped = await probe.send('DUMP', 'dumped');
    probe.close();
    if (dumped.t !== 'bulk' || dumped.v === null) throw new Error(formatReply(dumped));
    const payload = dumped.v;
    await check([
      ['FLUSHALL'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'],
      ['SET', 'k', 'v'],
      ['OBJECT', 'FREQ', 'k'],
      // The first access from the initial counter always counts.
      ['GET', 'k'],
      ['OBJECT', 'FREQ', 'k'],
      ['OBJECT', 'FREQ', 'missing'],
      ['OBJECT', 'IDLETIME', 'k'],
      ['OBJECT', 'IDLETIME', 'missing'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'volatile-lfu'],
      ['OBJECT', 'FREQ', 'k'],
      ['SET', 'n', 'v'],
      ['OBJECT', 'FREQ', 'n'],
      ['RESTORE', 'r', '0', payload, 'FREQ', '100'],
      ['OBJECT', 'FREQ', 'r'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'],
      ['OBJECT', 'FREQ', 'k'],
      ['SET', 'j', 'v'],
      ['OBJECT', 'IDLETIME', 'j'],
      ['RESTORE', 'i', '0', payload, 'IDLETIME', '1000'],
      ['OBJECT', 'IDLETIME', 'i'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
      ['OBJECT', 'IDLETIME', 'j'],
      ['OBJECT', 'FREQ', 'j'],
    ]);
  });

  it('lfu-log-factor 0 counts every access; lfu-decay-time 0 never decays', async () => {
    await check([
      ['FLUSHALL'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'],
      ['CONFIG', 'SET', 'lfu-log-factor', '0'],
      ['CONFIG', 'SET', 'lfu-decay-time', '0'],
      ['SET', 'k', 'v'],
      ...Array.from({ length: 12 }, () => ['GET', 'k']),
      ['OBJECT', 'FREQ', 'k'],
      ['CONFIG', 'SET', 'lfu-log-factor', '10'],
      ['CONFIG', 'SET', 'lfu-decay-time', '1'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'],
    ]);
  });

  it('an RDB keeps each key\'s idle time under an LRU policy and its frequency under an LFU one', async () => {
    const results = await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const c = await RawConnection.connect(s.port);
      try {
        await c.send('FLUSHALL');
        await c.send('SET', 'src', 'v');
        const payload = await c.send('DUMP', 'src');
        if (payload.t !== 'bulk' || payload.v === null) throw new Error(formatReply(payload));
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
        await c.send('RESTORE', 'idle', '0', payload.v, 'IDLETIME', '1000');
        await c.send('DEBUG', 'RELOAD');
        const idle = await c.send('OBJECT', 'IDLETIME', 'idle');
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu');
        await c.send('RESTORE', 'freq', '0', payload.v, 'FREQ', '100');
        await c.send('DEBUG', 'RELOAD');
        const freq = await c.send('OBJECT', 'FREQ', 'freq');
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        await c.send('DEBUG', 'RELOAD');
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
        // Saved under noeviction: the idle time was not kept.
        const reset = await c.send('OBJECT', 'IDLETIME', 'idle');
        await c.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        return { idle: replyNumber(idle) >= 1000 && replyNumber(idle) < 1010, freq: formatReply(freq), reset: replyNumber(reset) < 10 };
      } finally {
        c.close();
      }
    }));
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toEqual({ idle: true, freq: '(integer) 100', reset: true });
  });

  it('INFO reports the maxmemory fields and the eviction counters with Redis\'s names', async () => {
    for (const s of [servers.keyfork, servers.redis]) {
      const conn = await RawConnection.connect(s.port);
      try {
        await conn.send('CONFIG', 'SET', 'maxmemory', '100mb');
        await conn.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
        await conn.send('CONFIG', 'RESETSTAT');
        const mem = await info(conn, 'memory');
        expect(mem.get('maxmemory')).toBe(String(100 * 1024 * 1024));
        expect(mem.get('maxmemory_human')).toBe('100.00M');
        expect(mem.get('maxmemory_policy')).toBe('allkeys-lru');
        expect(Number(mem.get('mem_not_counted_for_evict'))).toBeGreaterThanOrEqual(0);
        const stats = await info(conn, 'stats');
        for (const f of ['evicted_keys', 'total_eviction_exceeded_time', 'current_eviction_exceeded_time']) expect(stats.get(f)).toBe('0');
      } finally {
        await conn.send('CONFIG', 'SET', 'maxmemory', '0');
        await conn.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        conn.close();
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Load: twice maxmemory written under each policy.

const VALUE_BYTES = 1000;
/** What the dataset may take: maxmemory is set this far above the server's usage at rest. */
const DATA_BUDGET = 16 * 1024 * 1024;
/** Keys written: about twice the budget. */
const KEYS = Math.round((2 * DATA_BUDGET) / VALUE_BYTES);
const BATCH = 256;

function valueOf(key: string): string {
  return key.padEnd(VALUE_BYTES, '.');
}

interface LoadResult {
  maxmemory: number;
  peakUsed: number;
  evicted: number;
  errors: string[];
}

/**
 * Writes KEYS keys in pipelined batches; `ttl(i)` gives key i an EX in seconds (0: none) and
 * `between` runs after every batch (reads of a hot set). Checks every reply as it comes.
 */
async function writeLoad(
  conn: RawConnection,
  policy: string,
  ttl: (i: number) => number,
  between?: () => Promise<void>,
  bytesPerSecond = Infinity,
): Promise<LoadResult> {
  await conn.send('FLUSHALL');
  await conn.send('CONFIG', 'SET', 'maxmemory', '0');
  await conn.send('CONFIG', 'SET', 'maxmemory-policy', policy);
  await conn.send('CONFIG', 'RESETSTAT');
  const rest = await infoNumber(conn, 'memory', 'used_memory');
  const maxmemory = rest + DATA_BUDGET;
  await conn.send('CONFIG', 'SET', 'maxmemory', String(maxmemory));
  const result: LoadResult = { maxmemory, peakUsed: 0, evicted: 0, errors: [] };
  const began = Date.now();
  for (let start = 0; start < KEYS; start += BATCH) {
    const due = began + ((start * VALUE_BYTES) / bytesPerSecond) * 1000;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const commands: Arg[][] = [];
    for (let i = start; i < Math.min(KEYS, start + BATCH); i++) {
      const key = `key:${i}`;
      const seconds = ttl(i);
      commands.push(seconds > 0 ? ['SET', key, valueOf(key), 'EX', String(seconds)] : ['SET', key, valueOf(key)]);
    }
    for (const r of await conn.pipeline(commands)) {
      if (r.t !== 'simple' || r.v !== 'OK') result.errors.push(formatReply(r));
    }
    if (between) await between();
    result.peakUsed = Math.max(result.peakUsed, await infoNumber(conn, 'memory', 'used_memory'));
  }
  result.evicted = await infoNumber(conn, 'stats', 'evicted_keys');
  return result;
}

/** Which of the keys `indexes` still exist, with their values checked. */
async function survivors(conn: RawConnection, indexes: number[]): Promise<number[]> {
  const alive: number[] = [];
  for (let at = 0; at < indexes.length; at += BATCH) {
    const chunk = indexes.slice(at, at + BATCH);
    const replies = await conn.pipeline(chunk.map((i) => ['GET', `key:${i}`]));
    replies.forEach((r, j) => {
      if (r.t === 'bulk' && r.v !== null) {
        expect(r.v.toString()).toBe(valueOf(`key:${chunk[j]}`));
        alive.push(chunk[j]);
      } else if (r.t !== 'bulk') {
        throw new Error(`GET key:${chunk[j]}: ${formatReply(r)}`);
      }
    });
  }
  return alive;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The limit held: used_memory never went more than 5% over maxmemory. */
function expectLimitHeld(r: LoadResult): void {
  expect(r.peakUsed, `peak used_memory ${r.peakUsed} vs maxmemory ${r.maxmemory}`).toBeLessThanOrEqual(r.maxmemory * 1.05);
}

describe('maxmemory under a write load of twice the limit', () => {
  let server: RunningServer;
  let conn: RawConnection;
  beforeAll(async () => {
    // MM_REDIS=1 runs the same loads against redis-server, to compare its approximations.
    server = process.env.MM_REDIS ? await startRedis() : await startKeyfork({ args: ['--save', ''] });
    conn = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
  });

  it('allkeys-lru keeps a hot set that is read between the writes', async () => {
    const hot = range(0, 200);
    // The hot keys are written first, so without their reads they would be the oldest. The
    // LRU clock counts seconds (as Redis's): the writes are paced so that most of the data is
    // older than the last second, when the hot keys were read.
    // Ten samples per round instead of five: a closer approximation of true LRU.
    await conn.send('CONFIG', 'SET', 'maxmemory-samples', '10');
    const r = await writeLoad(conn, 'allkeys-lru', () => 0, async () => {
      await conn.pipeline(hot.map((i) => ['GET', `key:${i}`]));
    }, DATA_BUDGET / 3);
    await conn.send('CONFIG', 'SET', 'maxmemory-samples', '5');
    expect(r.errors).toEqual([]);
    expectLimitHeld(r);
    expect(r.evicted).toBeGreaterThan(KEYS / 4);
    expect((await survivors(conn, hot)).length).toBeGreaterThanOrEqual(hot.length * 0.9);
    // The cold keys written early are mostly gone.
    expect((await survivors(conn, range(200, 2200))).length).toBeLessThan(1000);
  });

  it('allkeys-lfu keeps the keys read often', async () => {
    const hot = range(0, 200);
    const r = await writeLoad(conn, 'allkeys-lfu', () => 0, async () => {
      await conn.pipeline(hot.map((i) => ['GET', `key:${i}`]));
    });
    expect(r.errors).toEqual([]);
    expectLimitHeld(r);
    expect(r.evicted).toBeGreaterThan(KEYS / 4);
    expect((await survivors(conn, hot)).length).toBeGreaterThanOrEqual(hot.length * 0.9);
    const freq = await conn.send('OBJECT', 'FREQ', 'key:0');
    expect(freq.t === 'int' && Number(freq.v) > 5, formatReply(freq)).toBe(true);
  });

  it('allkeys-random evicts and holds the limit', async () => {
    const r = await writeLoad(conn, 'allkeys-random', () => 0);
    expect(r.errors).toEqual([]);
    expectLimitHeld(r);
    expect(r.evicted).toBeGreaterThan(KEYS / 4);
  });

  for (const policy of ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl']) {
    it(`${policy} never evicts a key without a TTL`, async () => {
      // One key in four has no TTL: together they fit in half the budget.
      const persistent = (i: number) => i % 4 === 0;
      const r = await writeLoad(conn, policy, (i) => (persistent(i) ? 0 : 1000 + i));
      expect(r.errors.slice(0, 3)).toEqual([]);
      expectLimitHeld(r);
      expect(r.evicted).toBeGreaterThan(KEYS / 4);
      const kept = range(0, KEYS).filter(persistent);
      expect((await survivors(conn, kept)).length).toBe(kept.length);
      if (policy === 'volatile-ttl') {
        // The nearest expires go first: the survivors among the TTL keys are the later ones.
        const volatileAlive = await survivors(conn, range(0, KEYS).filter((i) => !persistent(i)));
        const mean = volatileAlive.reduce((a, b) => a + b, 0) / Math.max(1, volatileAlive.length);
        expect(mean).toBeGreaterThan(KEYS * 0.6);
      }
    });
  }

  it('volatile policies with nothing volatile left, and noeviction, refuse writes with OOM; reads go on', async () => {
    for (const policy of ['volatile-lru', 'noeviction']) {
      const r = await writeLoad(conn, policy, () => 0);
      expect(r.errors.length).toBeGreaterThan(0);
      expect(r.errors.every((e) => e.includes("OOM command not allowed when used memory > 'maxmemory'."))).toBe(true);
      expect(r.evicted).toBe(0);
      expect((await survivors(conn, range(0, 100))).length).toBe(100);
      // Deleting makes room again.
      await conn.pipeline(range(0, 2000).map((i) => ['DEL', `key:${i}`]));
      expect(text(await conn.send('SET', 'again', 'x'))).toBe('OK');
    }
  });

  it('lowering maxmemory below the data evicts at once, logged as Redis does, in short rounds at maxmemory-eviction-tenacity 0', async () => {
    await writeLoad(conn, 'allkeys-random', () => 0);
    const before = await infoNumber(conn, 'stats', 'evicted_keys');
    const used = await infoNumber(conn, 'memory', 'used_memory');
    const lower = used - 4 * 1024 * 1024;
    // No time at all per call: every round stops after 16 keys and the rest goes on between events.
    await conn.send('CONFIG', 'SET', 'maxmemory-eviction-tenacity', '0');
    await conn.send('CONFIG', 'SET', 'maxmemory', String(lower));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await infoNumber(conn, 'memory', 'used_memory')) > lower) await new Promise((r) => setTimeout(r, 50));
    expect(await infoNumber(conn, 'memory', 'used_memory')).toBeLessThanOrEqual(lower * 1.01);
    expect(await infoNumber(conn, 'stats', 'evicted_keys')).toBeGreaterThan(before);
    await conn.send('CONFIG', 'SET', 'maxmemory-eviction-tenacity', '10');
    expect(server.output()).toMatch(/WARNING: the new maxmemory value set via CONFIG SET \(\d+\) is smaller than the current memory usage \(\d+\)\. This will result in key eviction and\/or the inability to accept new write commands depending on the maxmemory-policy\./);
    await conn.send('CONFIG', 'SET', 'maxmemory', '0');
  });
});
