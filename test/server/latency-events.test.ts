// The latency monitor's events other than "command", side by side with redis-server 7.0: with
// latency-monitor-threshold 1 each action below takes well over a millisecond on both servers,
// so both must record the same events (names), with LATENCY LATEST's and HISTORY's reply
// shapes. Durations differ between the two and are not compared; each is at least the
// threshold, and fork's is INFO's latest_fork_usec in whole milliseconds (Redis's rule).
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';
import { infoNumber as infoField, replyText as text, until } from '../helpers/info';

let servers: BothServers;
const both = () => [servers.keyfork, servers.redis];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LatestRow {
  event: string;
  time: number;
  latency: number;
  max: number;
}

/** LATENCY LATEST, each row checked to be [bulk event, int time, int latest, int all-time max]. */
async function latest(conn: RawConnection): Promise<Map<string, LatestRow>> {
  const reply = await conn.send('LATENCY', 'LATEST');
  if (reply.t !== 'array' || reply.v === null) throw new Error(`LATENCY LATEST: ${formatReply(reply)}`);
  const rows = new Map<string, LatestRow>();
  for (const row of reply.v) {
    const shape = row.t === 'array' && row.v !== null ? row.v.map((f) => f.t) : [];
    expect(shape, formatReply(row)).toEqual(['bulk', 'int', 'int', 'int']);
    const [event, time, latency, max] = (row as { v: Reply[] }).v;
    rows.set(text(event), { event: text(event), time: Number((time as { v: number }).v), latency: Number((latency as { v: number }).v), max: Number((max as { v: number }).v) });
  }
  return rows;
}

/** LATENCY HISTORY `event`: [time, latency] pairs, each checked to be two integers. */
async function history(conn: RawConnection, event: string): Promise<Array<[number, number]>> {
  const reply = await conn.send('LATENCY', 'HISTORY', event);
  if (reply.t !== 'array' || reply.v === null) throw new Error(`LATENCY HISTORY ${event}: ${formatReply(reply)}`);
  return reply.v.map((pair) => {
    const shape = pair.t === 'array' && pair.v !== null ? pair.v.map((f) => f.t) : [];
    expect(shape, formatReply(pair)).toEqual(['int', 'int']);
    const [time, latency] = (pair as { v: Array<{ v: number }> }).v;
    return [Number(time.v), Number(latency.v)];
  });
}

/**
 * Runs `action` on each server (one after the other: they share two cores) after LATENCY RESET,
 * and returns which of `events` each recorded, checking that every recorded sample of them is
 * at least the threshold and its time is the last HISTORY entry's.
 */
async function recorded(events: string[], action: (conn: RawConnection, server: RunningServer) => Promise<void>): Promise<string[][]> {
  const seen: string[][] = [];
  for (const server of both()) {
    const conn = await RawConnection.connect(server.port, { replyTimeoutMs: 30_000 });
    try {
      expect(await conn.send('CONFIG', 'SET', 'latency-monitor-threshold', '1')).toEqual({ t: 'simple', v: 'OK' });
      await conn.send('LATENCY', 'RESET');
      await action(conn, server);
      const rows = await latest(conn);
      const names: string[] = [];
      for (const event of events) {
        const row = rows.get(event);
        if (!row) continue;
        names.push(event);
        const samples = await history(conn, event);
        expect(samples.length, `${server.proc.spawnfile} ${event}`).toBeGreaterThan(0);
        expect(samples.every(([, ms]) => ms >= 1)).toBe(true);
        expect(samples[samples.length - 1], `${server.proc.spawnfile} ${event}`).toEqual([row.time, row.latency]);
        expect(row.max).toBe(Math.max(...samples.map(([, ms]) => ms)));
      }
      seen.push(names);
    } finally {
      await conn.send('FLUSHALL').catch(() => undefined);
      conn.close();
    }
  }
  return seen;
}

describeDifferential('LATENCY events other than "command" vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('BGSAVE of a million keys is a "fork" event, of latest_fork_usec whole milliseconds', async () => {
    const seen = await recorded(['fork'], async (conn, server) => {
      expect(await conn.send('DEBUG', 'POPULATE', '1000000')).toEqual({ t: 'simple', v: 'OK' });
      expect(text(await conn.send('BGSAVE'))).toBe('Background saving started');
      expect(await until(async () => (await infoField(conn, 'persistence', 'rdb_bgsave_in_progress')) === 0, 20_000)).toBe(true);
      const forkUsec = await infoField(conn, 'stats', 'latest_fork_usec');
      const samples = await history(conn, 'fork');
      expect(samples.map(([, ms]) => ms), server.proc.spawnfile).toEqual([Math.floor(forkUsec / 1000)]);
    });
    expect(seen).toEqual([['fork'], ['fork']]);
  }, 120_000);

  it('active expiry of 200k keys is an "expire-cycle" event', async () => {
    const seen = await recorded(['expire-cycle'], async (conn) => {
      await conn.send('EVAL', "for i = 1, 200000 do redis.call('SET', 'e' .. i, 'v', 'PX', 100) end", '0');
      expect(await until(async () => formatReply(await conn.send('DBSIZE')) === formatReply({ t: 'int', v: 0 }), 10_000)).toBe(true);
    });
    expect(seen).toEqual([['expire-cycle'], ['expire-cycle']]);
  }, 60_000);

  it('the deletion of an expired set of 300k members is an "expire-del" event (lazyfree-lazy-expire no)', async () => {
    const seen = await recorded(['expire-del'], async (conn) => {
      await conn.send('EVAL', "for i = 1, 300000 do redis.call('SADD', 'big', 'member:' .. i) end", '0');
      expect(await conn.send('PEXPIRE', 'big', '1')).toEqual({ t: 'int', v: 1 });
      await sleep(20);
      // The lookup deletes it (expireIfNeeded), if the active cycle did not already.
      expect(await conn.send('EXISTS', 'big')).toEqual({ t: 'int', v: 0 });
      // keyfork's cron takes the addon's measurement (hz 10).
      await sleep(300);
    });
    expect(seen).toEqual([['expire-del'], ['expire-del']]);
  }, 60_000);

  it('a 64 MB AOF write is an "aof-write" and "aof-write-alone" event; appendfsync always adds "aof-fsync-always"', async () => {
    const aofEvents = ['aof-write', 'aof-write-alone', 'aof-write-active-child', 'aof-write-pending-fsync', 'aof-fsync-always'];
    const quiet = async (conn: RawConnection) => {
      // No rewrite child and no background fsync left: the next write is "alone".
      expect(await until(async () => {
        const info = text(await conn.send('INFO', 'persistence'));
        return /aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info) && /aof_pending_bio_fsync:0/.test(info);
      }, 20_000)).toBe(true);
      await conn.send('LATENCY', 'RESET');
    };
    const bigWrite = ['EVAL', "redis.call('SET', 'big', string.rep('x', 64 * 1024 * 1024))", '0'];
    try {
      const everysec = await recorded(aofEvents, async (conn) => {
        await conn.send('CONFIG', 'SET', 'auto-aof-rewrite-percentage', '0');
        expect(await conn.send('CONFIG', 'SET', 'appendonly', 'yes')).toEqual({ t: 'simple', v: 'OK' });
        await quiet(conn);
        expect(await conn.send(...bigWrite)).toEqual({ t: 'bulk', v: null });
      });
      expect(everysec).toEqual([['aof-write', 'aof-write-alone'], ['aof-write', 'aof-write-alone']]);
      const always = await recorded(aofEvents, async (conn) => {
        expect(await conn.send('CONFIG', 'SET', 'appendfsync', 'always')).toEqual({ t: 'simple', v: 'OK' });
        await quiet(conn);
        expect(await conn.send(...bigWrite)).toEqual({ t: 'bulk', v: null });
      });
      expect(always).toEqual([['aof-write', 'aof-write-alone', 'aof-fsync-always'], ['aof-write', 'aof-write-alone', 'aof-fsync-always']]);
    } finally {
      for (const server of both()) {
        const conn = await RawConnection.connect(server.port);
        await conn.send('CONFIG', 'SET', 'appendonly', 'no');
        await conn.send('CONFIG', 'SET', 'appendfsync', 'everysec');
        conn.close();
      }
    }
  }, 120_000);
});
