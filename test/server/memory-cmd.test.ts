// MEMORY and lazy free: replies and errors against redis-server 7.0; MEMORY USAGE checked as an
// honest estimate of keyfork's own layout (it must add up to what the addon's allocator counts
// growing, keyfork_used_memory_addon, the exact part of used_memory); UNLINK,
// FLUSHALL ASYNC and the lazyfree-lazy-* configs free in the background and are counted in INFO.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, type RunningServer } from '../helpers/servers';
import { infoNumber, replyText as text, until } from '../helpers/info';

/** The keys of a map reply (a flat array in RESP2), in order. */
function mapKeys(r: Reply): string[] {
  if (r.t === 'map') return r.v.map(([k]) => text(k));
  if (r.t === 'array' && r.v) return r.v.filter((_, i) => i % 2 === 0).map(text);
  throw new Error(formatReply(r));
}

describeDifferential('MEMORY and lazy free vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  const check = async (commands: Arg[][], resp3 = false) => {
    const mismatches = await compareSequences(commands, { servers, resp3 });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('MEMORY HELP, USAGE errors and misses, DOCTOR of an empty instance, PURGE', async () => {
    await check([
      ['FLUSHALL'],
      ['MEMORY', 'HELP'],
      ['MEMORY', 'USAGE', 'missing'],
      ['SET', 'k', 'v'],
      ['MEMORY', 'USAGE', 'k', 'SAMPLES'],
      ['MEMORY', 'USAGE', 'k', 'SAMPLES', 'x'],
      ['MEMORY', 'USAGE', 'k', 'SAMPLES', '-1'],
      ['MEMORY', 'USAGE', 'k', 'FOO', '1'],
      ['MEMORY', 'USAGE'],
      ['MEMORY', 'NOPE'],
      ['MEMORY', 'DOCTOR'],
      ['MEMORY', 'PURGE'],
      ['MEMORY', 'STATS', 'x'],
    ]);
  });

  it('MEMORY STATS has Redis\'s fields in its order, with a map per non-empty database', async () => {
    for (const resp3 of [false, true]) {
      const [k, r] = await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
        const c = await RawConnection.connect(s.port, { resp3 });
        try {
          await c.send('FLUSHALL');
          await c.send('SET', 'a', '1');
          await c.send('SELECT', '3');
          await c.send('SET', 'b', '2');
          const stats = await c.send('MEMORY', 'STATS');
          await c.send('FLUSHALL');
          const items = stats.t === 'map' ? stats.v.flat() : stats.t === 'array' && stats.v ? stats.v : [];
          const db0 = items[items.findIndex((x) => x.t !== 'int' && x.t !== 'double' && text(x) === 'db.0') + 1];
          return { keys: mapKeys(stats), db0: mapKeys(db0), types: items.filter((_, i) => i % 2 === 1).map((x) => x.t) };
        } finally {
          c.close();
        }
      }));
      expect(k).toEqual(r);
    }
  });

  it('UNLINK, FLUSHALL/FLUSHDB ASYNC and lazyfree-lazy-user-del free in the background and count lazyfreed_objects', async () => {
    await check([['FLUSHALL', 'NOW'], ['FLUSHDB', 'ASYNC', 'x'], ['FLUSHDB', 'SYNC'], ['FLUSHALL', 'ASYNC']]);
    const [k, r] = await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const c = await RawConnection.connect(s.port);
      try {
        await c.send('CONFIG', 'RESETSTAT');
        const members = Array.from({ length: 1000 }, (_, i) => `member:${i}`);
        await c.send('SADD', 'big', ...members);
        await c.send('SADD', 'small', 'a', 'b');
        const replies: Reply[] = [await c.send('UNLINK', 'big', 'small', 'missing'), await c.send('EXISTS', 'big', 'small')];
        const afterUnlink = await until(async () => (await infoNumber(c, 'memory', 'lazyfreed_objects')) === 1) && 1;
        await c.send('CONFIG', 'SET', 'lazyfree-lazy-user-del', 'yes');
        await c.send('SADD', 'big', ...members);
        replies.push(await c.send('DEL', 'big'));
        const afterDel = await until(async () => (await infoNumber(c, 'memory', 'lazyfreed_objects')) === 2) && 2;
        await c.send('CONFIG', 'SET', 'lazyfree-lazy-user-del', 'no');
        await c.send('DEBUG', 'POPULATE', '500');
        replies.push(await c.send('FLUSHALL', 'ASYNC'), await c.send('DBSIZE'));
        const afterFlush = await until(async () => (await infoNumber(c, 'memory', 'lazyfreed_objects')) === 502) && 502;
        const pending = await infoNumber(c, 'memory', 'lazyfree_pending_objects');
        return { replies: replies.map(formatReply), afterUnlink, afterDel, afterFlush, pending };
      } finally {
        c.close();
      }
    }));
    expect(k).toEqual(r);
  });
});

describeDifferential('lazyfree-lazy-* vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  /** Runs `steps` on both servers and compares lazyfreed_objects after each one settles. */
  const freedAfter = async (steps: Array<(c: RawConnection) => Promise<unknown>>) => {
    const [k, r] = await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const c = await RawConnection.connect(s.port);
      try {
        await c.send('FLUSHALL');
        await c.send('CONFIG', 'RESETSTAT');
        const counts: number[] = [];
        for (const step of steps) {
          await step(c);
          let last = -1;
          // Settled: the count stops moving and nothing is pending.
          await until(async () => {
            const n = await infoNumber(c, 'memory', 'lazyfreed_objects');
            const settled = n === last && (await infoNumber(c, 'memory', 'lazyfree_pending_objects')) === 0;
            last = n;
            return settled;
          });
          counts.push(last);
        }
        return counts;
      } finally {
        for (const name of ['lazyfree-lazy-user-flush', 'lazyfree-lazy-server-del', 'lazyfree-lazy-expire']) await c.send('CONFIG', 'SET', name, 'no');
        c.close();
      }
    }));
    expect(k).toEqual(r);
    return k;
  };
  const members = Array.from({ length: 500 }, (_, i) => `m${i}`);

  it('lazyfree-lazy-user-flush makes a plain FLUSHALL / FLUSHDB asynchronous', async () => {
    const counts = await freedAfter([
      (c) => c.send('DEBUG', 'POPULATE', '300'),
      (c) => c.send('FLUSHDB'),
      (c) => c.send('CONFIG', 'SET', 'lazyfree-lazy-user-flush', 'yes'),
      (c) => c.send('DEBUG', 'POPULATE', '300'),
      (c) => c.send('FLUSHALL'),
      (c) => c.send('DEBUG', 'POPULATE', '10'),
      (c) => c.send('FLUSHDB', 'SYNC'),
    ]);
    expect(counts[4]).toBe(300);
  });

  it('lazyfree-lazy-server-del frees an overwritten big value in the background', async () => {
    const counts = await freedAfter([
      (c) => c.send('SADD', 'big', ...members),
      (c) => c.send('SET', 'big', 'x'),
      (c) => c.send('CONFIG', 'SET', 'lazyfree-lazy-server-del', 'yes'),
      (c) => c.send('SADD', 'big2', ...members),
      (c) => c.send('SET', 'big2', 'x'),
      (c) => c.send('SADD', 'big3', ...members),
      (c) => c.send('RENAME', 'big2', 'big3'),
    ]);
    expect(counts.at(-1)).toBe(2);
  });

  it('lazyfree-lazy-expire frees a big expired value in the background', async () => {
    const counts = await freedAfter([
      // Expiry on access only, so both servers free the key at the same step.
      (c) => c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '0'),
      (c) => c.send('CONFIG', 'SET', 'lazyfree-lazy-expire', 'yes'),
      (c) => c.send('SADD', 'big', ...members),
      // 10 ms, not 1: Redis's PEXPIRE deletes the key itself when its clock passes the deadline
      // during the command (checkAlreadyExpired), which a 1 ms TTL on a loaded machine hits.
      (c) => c.send('PEXPIRE', 'big', '10'),
      async (c) => {
        await new Promise((r) => setTimeout(r, 40));
        return c.send('EXISTS', 'big');
      },
      (c) => c.send('SADD', 'big', ...members),
      (c) => c.send('EXPIRE', 'big', '-1'),
      (c) => c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '1'),
    ]);
    expect(counts.at(-1)).toBe(2);
  });
});

describe('lazyfree-lazy-eviction', () => {
  it('evicted big values are freed in the background', async () => {
    const server = await startKeyfork({ args: ['--save', '', '--lazyfree-lazy-eviction', 'yes', '--maxmemory-policy', 'allkeys-random'] });
    const conn = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
    try {
      const used = await infoNumber(conn, 'memory', 'used_memory');
      await conn.send('CONFIG', 'SET', 'maxmemory', String(used + 2 * 1024 * 1024));
      for (let i = 0; i < 300; i++) await conn.send('SADD', `big:${i}`, ...Array.from({ length: 300 }, (_, j) => `member:${i}:${j}`));
      expect(await infoNumber(conn, 'stats', 'evicted_keys')).toBeGreaterThan(0);
      expect(await until(async () => (await infoNumber(conn, 'memory', 'lazyfreed_objects')) > 0)).toBe(true);
    } finally {
      conn.close();
      await server.stop();
    }
  });
});

describe('MEMORY USAGE is an honest estimate of keyfork\'s layout', () => {
  let server: RunningServer;
  let conn: RawConnection;
  beforeAll(async () => {
    server = await startKeyfork({ args: ['--save', ''] });
    conn = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
  });

  const shapes: Array<[string, (i: number) => Arg[]]> = [
    ['short strings', (i) => ['SET', `key:${i}`, `v${i}`]],
    ['100-byte strings', (i) => ['SET', `key:${i}`, 'x'.repeat(100)]],
    ['long keys', (i) => ['SET', `a-rather-long-key-name-for-testing:${i}`, '1']],
    ['small hashes', (i) => ['HSET', `h:${i}`, ...Array.from({ length: 10 }, (_, j) => [`f${j}`, `value:${j}`]).flat()]],
    ['hashes of 300 fields', (i) => ['HSET', `h:${i}`, ...Array.from({ length: 300 }, (_, j) => [`field:${j}`, `value:${j}`]).flat()]],
    ['big hashes', (i) => ['HSET', `h:${i}`, ...Array.from({ length: 1000 }, (_, j) => [`field:${j}`, `value:${j}`]).flat()]],
    ['lists', (i) => ['RPUSH', `l:${i}`, ...Array.from({ length: 50 }, (_, j) => `element:${j}`)]],
    ['big sets', (i) => ['SADD', `s:${i}`, ...Array.from({ length: 600 }, (_, j) => `member:${i}:${j}`)]],
    ['big sorted sets', (i) => ['ZADD', `z:${i}`, ...Array.from({ length: 200 }, (_, j) => [String(j * 1.5), `member:${j}`]).flat()]],
  ];

  for (const [name, command] of shapes) {
    it(`${name}: the keys' MEMORY USAGE adds up to what the keyspace's allocations grew by (within 15%)`, async () => {
      await conn.send('FLUSHALL');
      const keys = name.startsWith('big') ? 200 : 5000;
      // The addon's own allocation count: used_memory's exact part, where the keyspace lives.
      const before = await infoNumber(conn, 'memory', 'keyfork_used_memory_addon');
      for (let at = 0; at < keys; at += 100) {
        await conn.pipeline(Array.from({ length: Math.min(100, keys - at) }, (_, j) => command(at + j)));
      }
      const after = await infoNumber(conn, 'memory', 'keyfork_used_memory_addon');
      let sum = 0;
      const names = (i: number) => String(command(i)[1]);
      for (let at = 0; at < keys; at += 200) {
        const replies = await conn.pipeline(Array.from({ length: Math.min(200, keys - at) }, (_, j) => ['MEMORY', 'USAGE', names(at + j), 'SAMPLES', '0']));
        for (const r of replies) sum += Number(r.t === 'int' ? r.v : NaN);
      }
      const grown = after - before;
      expect(sum / grown, `MEMORY USAGE sum ${sum}, the addon's allocations grew by ${grown}`).toBeGreaterThan(0.85);
      expect(sum / grown, `MEMORY USAGE sum ${sum}, the addon's allocations grew by ${grown}`).toBeLessThan(1.15);
    });
  }

  // MEMORY USAGE counts a stream node's listpack bytes (as Redis's objectComputeSize does): the
  // allocation holds little more since a node grows by an eighth (not Redis's 4096-byte
  // preallocation, which a stream of 100 entries would leave 40% unused).
  it('streams of 100 entries (one node each, not full): MEMORY USAGE adds up to the allocations (within 15%)', async () => {
    await conn.send('FLUSHALL');
    const keys = 1000;
    const before = await infoNumber(conn, 'memory', 'keyfork_used_memory_addon');
    for (let at = 0; at < keys; at += 10) {
      const batch: Arg[][] = [];
      for (let i = at; i < at + 10; i++) {
        for (let j = 1; j <= 100; j++) batch.push(['XADD', `stream:${i}`, `${j}-0`, 'event', 'click', 'user', `m:${j}:${i}`]);
      }
      await conn.pipeline(batch);
    }
    const after = await infoNumber(conn, 'memory', 'keyfork_used_memory_addon');
    let sum = 0;
    for (let at = 0; at < keys; at += 200) {
      const replies = await conn.pipeline(Array.from({ length: 200 }, (_, j) => ['MEMORY', 'USAGE', `stream:${at + j}`, 'SAMPLES', '0']));
      for (const r of replies) sum += Number(r.t === 'int' ? r.v : NaN);
    }
    const grown = after - before;
    expect(sum / grown, `MEMORY USAGE sum ${sum}, the addon's allocations grew by ${grown}`).toBeGreaterThan(0.85);
    expect(sum / grown, `MEMORY USAGE sum ${sum}, the addon's allocations grew by ${grown}`).toBeLessThan(1.15);
  });
});
