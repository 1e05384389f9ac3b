// Incremental rehashing of the keyspace's table (native/src/dict.rs): a table that grows keeps
// its old bucket array next to the new one while entries move a bucket per command, and the
// cron moves them without commands while `activerehashing` is yes (Redis 7.0's
// incrementallyRehash). MEMORY STATS' overhead.hashtable.main counts both arrays in both
// servers (Redis's dictSlots), which makes the rehash visible; SCAN, BGSAVE and DEBUG RELOAD
// must see every key while it runs.
import { describe, expect, it } from 'vitest';
import { describeDifferential, withBothServers } from '../helpers/diff';
import { RawConnection, replyNumber, type Reply } from '../helpers/resp';
import { startKeyfork } from '../helpers/servers';
import { until } from '../helpers/info';
import { sleep, text, waitSaveEnded } from './persistence-support';

/** MEMORY STATS' db.N overhead.hashtable.main. */
async function mainTableOverhead(c: RawConnection, db = 0): Promise<number> {
  const stats = await c.send('MEMORY', 'STATS');
  if (stats.t !== 'array' || !stats.v) throw new Error('MEMORY STATS is not an array');
  const at = stats.v.findIndex((x) => x.t === 'bulk' && text(x) === `db.${db}`);
  const dbStats = stats.v[at + 1];
  if (at < 0 || dbStats.t !== 'array' || !dbStats.v) throw new Error(`no db.${db} in MEMORY STATS`);
  return replyNumber(dbStats.v[dbStats.v.findIndex((x) => x.t === 'bulk' && text(x) === 'overhead.hashtable.main') + 1]);
}

/** SETs `keys` (pipelined in batches of 1000). */
async function setAll(c: RawConnection, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const replies = await c.pipeline(keys.slice(i, i + 1000).map((k) => ['SET', k, 'v']));
    expect(replies.every((r) => r.t === 'simple' && r.v === 'OK')).toBe(true);
  }
}

/** Every key a whole SCAN returns (with repeats, which SCAN allows but a reload must not make). */
async function scanAll(c: RawConnection): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const r = await c.send('SCAN', cursor, 'COUNT', '1000');
    [cursor] = scanReply(r, keys);
  } while (cursor !== '0');
  return keys;
}

/** A SCAN reply's next cursor, its keys appended to `into`. */
function scanReply(r: Reply, into: string[]): [string] {
  if (r.t !== 'array' || !r.v || r.v[1].t !== 'array' || !r.v[1].v) throw new Error('not a SCAN reply');
  for (const k of r.v[1].v) into.push(text(k));
  return [text(r.v[0])];
}

const padded = (i: number) => `key:${String(i).padStart(5, '0')}`;

describeDifferential('activerehashing vs redis-server 7.0', () => {
  it('an idle table keeps both arrays with "no"; after CONFIG SET activerehashing yes the cron frees the old one', async () => {
    // 2^14 keys fill 2^14 buckets; the next one finds the table full and starts a rehash into
    // 2^15 buckets. No command touches the table afterwards, so only the cron can move it on.
    const keys = Array.from({ length: (1 << 14) + 1 }, (_, i) => padded(i));
    const results = await withBothServers(async (servers) => Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const c = await RawConnection.connect(s.port);
      try {
        await setAll(c, keys);
        const rehashing = await mainTableOverhead(c);
        await sleep(500);
        const idle = await mainTableOverhead(c);
        expect(text(await c.send('CONFIG', 'SET', 'activerehashing', 'yes'))).toBe('OK');
        let done = idle;
        await until(async () => (done = await mainTableOverhead(c)) < idle, 5000);
        return { kept: idle === rehashing, freed: idle - done, dbsize: replyNumber(await c.send('DBSIZE')) };
      } finally {
        c.close();
      }
    })), { keyfork: { args: ['--activerehashing', 'no'] }, redis: { args: ['--activerehashing', 'no'] } });
    for (const r of results) {
      expect(r.kept).toBe(true);
      // The old array: 2^14 eight-byte buckets (keyfork adds its malloc chunk's header).
      expect(r.freed).toBeGreaterThanOrEqual(8 << 14);
      expect(r.freed).toBeLessThan((8 << 14) + 64);
      expect(r.dbsize).toBe(keys.length);
    }
  }, 60_000);

  it('DEBUG POPULATE sizes the table for its count first: no rehash left behind', async () => {
    // The same 4200 keys, populated in db 0 and SET one by one in db 1. Growing a key at a
    // time ends mid-rehash from 4096 to 8192 buckets (both arrays: the 104 SETs after the
    // growth move a few hundred buckets); sized first, as Redis's populate does, the table
    // holds one 8192-bucket array: db 1 counts 4096 buckets more.
    const results = await withBothServers(async (servers) => Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const c = await RawConnection.connect(s.port);
      try {
        expect(text(await c.send('DEBUG', 'POPULATE', '4200'))).toBe('OK');
        expect(text(await c.send('SELECT', '1'))).toBe('OK');
        const keys = Array.from({ length: 4200 }, (_, i) => `key:${i}`);
        for (let i = 0; i < keys.length; i += 1000) {
          await c.pipeline(keys.slice(i, i + 1000).map((k, j) => ['SET', k, `value:${i + j}`]));
        }
        return { grown: await mainTableOverhead(c, 1), sized: await mainTableOverhead(c, 0), dbsize: replyNumber(await c.send('DBSIZE')) };
      } finally {
        c.close();
      }
    })), { keyfork: { args: ['--activerehashing', 'no', '--enable-debug-command', 'yes'] }, redis: { args: ['--activerehashing', 'no'] } });
    for (const r of results) {
      expect(r.dbsize).toBe(4200);
      // The old array: 2^12 eight-byte buckets (keyfork adds its malloc chunk's header).
      expect(r.grown - r.sized).toBeGreaterThanOrEqual(8 << 12);
      expect(r.grown - r.sized).toBeLessThan((8 << 12) + 64);
    }
  }, 60_000);
});

describe('SCAN, BGSAVE and DEBUG RELOAD while the keyspace table rehashes', () => {
  it('sees every key once, from both bucket arrays', async () => {
    const server = await startKeyfork({ args: ['--enable-debug-command', 'yes', '--save', '', '--activerehashing', 'no'] });
    const c = await RawConnection.connect(server.port);
    try {
      const start = Array.from({ length: 1 << 15 }, (_, i) => padded(i));
      await setAll(c, start);
      const full = await mainTableOverhead(c);
      // A SCAN from before the growth to after the rehash: between its calls 20 new keys, the
      // first of which starts the rehash into 2^16 buckets, each moving a bucket.
      const scanned = new Set<string>();
      const added: string[] = [];
      let cursor = '0';
      let calls = 0;
      let savedKeys: string[] | null = null;
      do {
        const sets = Array.from({ length: 20 }, (_, j) => `new:${calls * 20 + j}`);
        const replies = await c.pipeline([['SCAN', cursor, 'COUNT', '50'], ...sets.map((k) => ['SET', k, 'v'])]);
        const keys: string[] = [];
        [cursor] = scanReply(replies[0], keys);
        for (const k of keys) scanned.add(k);
        added.push(...sets);
        calls++;
        if (calls === 50) {
          // Both arrays are there: the new one (2^16 buckets) was added and the old (2^15) not freed.
          expect(await mainTableOverhead(c) - full).toBeGreaterThan(8 << 16);
          savedKeys = [...start, ...added];
          expect(text(await c.send('BGSAVE'))).toBe('Background saving started');
          await waitSaveEnded(c);
        }
      } while (cursor !== '0');
      expect(calls).toBeGreaterThan(100);
      const missed = start.filter((k) => !scanned.has(k));
      expect(missed).toEqual([]);
      // The file the child wrote mid-rehash: every key of the fork's moment, once each.
      expect(savedKeys).not.toBeNull();
      expect(text(await c.send('DEBUG', 'RELOAD', 'NOSAVE'))).toBe('OK');
      expect(replyNumber(await c.send('DBSIZE'))).toBe(savedKeys!.length);
      const afterLoad = await scanAll(c);
      expect(afterLoad.length).toBe(savedKeys!.length);
      expect(new Set(afterLoad)).toEqual(new Set(savedKeys));
      // Grow the loaded table past its next boundary and reload through a foreground save.
      const more = Array.from({ length: (1 << 16) + 1 - savedKeys!.length }, (_, i) => `more:${i}`);
      await setAll(c, more);
      expect(text(await c.send('DEBUG', 'RELOAD'))).toBe('OK');
      expect(replyNumber(await c.send('DBSIZE'))).toBe((1 << 16) + 1);
      const reloaded = await scanAll(c);
      expect(new Set(reloaded)).toEqual(new Set([...savedKeys!, ...more]));
    } finally {
      c.close();
      await server.stop();
    }
  }, 120_000);
});
