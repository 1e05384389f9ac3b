// serverCron's frequency and the active expire cycle's effort, on keyfork and redis-server 7.0:
// dynamic-hz doubles hz while more than 200 clients share a tick (INFO hz vs configured_hz), and
// active-expire-effort makes the expire cycle sample more keys per loop, accept fewer stale ones
// and take more of the period, so a keyspace with a few expired keys among many empties faster.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { infoNumber, until } from '../helpers/info';
import { RawConnection } from '../helpers/resp';

let servers: BothServers;

const both = () => [servers.keyfork, servers.redis];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeDifferential('cron hz and active-expire-effort', () => {
  useBothServers((s) => (servers = s));

  it('dynamic-hz doubles hz while clients per tick exceed 200, and INFO says hz and configured_hz', async () => {
    const controls = await Promise.all(both().map((s) => RawConnection.connect(s.port)));
    const extra: RawConnection[][] = [[], []];
    try {
      for (const c of controls) expect((await c.send('CONFIG', 'SET', 'hz', '1')).t).toBe('simple');
      // 1 + 450 clients at hz 1: 451/1 > 200 -> 2, 451/2 > 200 -> 4, 451/4 = 112 stops.
      for (const [i, s] of both().entries()) {
        for (let batch = 0; batch < 9; batch++) {
          extra[i].push(...(await Promise.all(Array.from({ length: 50 }, () => RawConnection.connect(s.port)))));
        }
      }
      const hzOf = (c: RawConnection) => infoNumber(c, 'server', 'hz');
      for (const c of controls) {
        expect(await until(async () => (await hzOf(c)) === 4, 5000, 50)).toBe(true);
        expect(await infoNumber(c, 'server', 'configured_hz')).toBe(1);
      }
      // Off: the next run is back at the configured hz whatever the clients.
      for (const c of controls) await c.send('CONFIG', 'SET', 'dynamic-hz', 'no');
      for (const c of controls) expect(await until(async () => (await hzOf(c)) === 1, 5000, 50)).toBe(true);
      await sleep(1100);
      for (const c of controls) expect(await hzOf(c)).toBe(1);
      for (const c of controls) await c.send('CONFIG', 'SET', 'dynamic-hz', 'yes');
      for (const c of controls) expect(await until(async () => (await hzOf(c)) === 4, 5000, 50)).toBe(true);
      // 1 + 300 clients: 301/1 > 200 -> 2, 301/2 = 150 stops.
      for (const mine of extra) for (const c of mine.splice(0, 150)) c.close();
      for (const c of controls) expect(await until(async () => (await hzOf(c)) === 2, 5000, 50)).toBe(true);
      // A configured hz already high enough is kept: 301/10 is not above 200.
      for (const c of controls) await c.send('CONFIG', 'SET', 'hz', '10');
      for (const c of controls) expect(await until(async () => (await hzOf(c)) === 10, 5000, 50)).toBe(true);
      for (const c of controls) expect(await infoNumber(c, 'server', 'configured_hz')).toBe(10);
    } finally {
      for (const c of extra.flat()) c.close();
      for (const c of controls) {
        await c.send('CONFIG', 'SET', 'hz', '10');
        await c.send('CONFIG', 'SET', 'dynamic-hz', 'yes');
        c.close();
      }
    }
  }, 40_000);

  /**
   * 19000 keys with a long TTL and 1000 already expired (5% stale) while active expiry is off,
   * then 1.5 s of active expiry at `effort`: the keys the expire cycle removed.
   */
  async function expiredInOneSecond(port: number, effort: number): Promise<number> {
    const c = await RawConnection.connect(port);
    try {
      await c.send('FLUSHALL');
      await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      const fill = "for i = 1, 19000 do redis.call('set', 'long:' .. i, 'v', 'ex', 1000) end " +
        "for i = 1, 1000 do redis.call('set', 'short:' .. i, 'v', 'px', 1) end return redis.call('dbsize')";
      expect(await c.send('EVAL', fill, '0')).toEqual({ t: 'int', v: 20000 });
      await sleep(20);
      await c.send('CONFIG', 'SET', 'active-expire-effort', String(effort));
      await c.send('CONFIG', 'RESETSTAT');
      await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      await sleep(1500);
      await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      return await infoNumber(c, 'stats', 'expired_keys');
    } finally {
      await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      await c.send('CONFIG', 'SET', 'active-expire-effort', '1');
      await c.send('FLUSHALL');
      c.close();
    }
  }

  it('active-expire-effort 10 clears sparse expired keys that effort 1 leaves for later', async () => {
    const results: Record<string, number[]> = {};
    for (const [name, s] of [['keyfork', servers.keyfork], ['redis', servers.redis]] as const) {
      results[name] = [await expiredInOneSecond(s.port, 1), await expiredInOneSecond(s.port, 10)];
    }
    // Effort 1 accepts 10% stale keys in a sample of 20: at 5% it mostly stops after one loop
    // per run (tens of keys a second). Effort 10 accepts 1% in a sample of 65: it keeps
    // looping while any sampled key had expired, a run of loops whose length is geometric
    // (measured over 1 s: 6-15 vs 114-276 on both servers).
    for (const [name, [low, high]] of Object.entries(results)) {
      expect(low, `${JSON.stringify(results)}: ${name} at effort 1`).toBeLessThan(60);
      expect(high, `${JSON.stringify(results)}: ${name} at effort 10`).toBeGreaterThan(Math.max(90, 3 * low));
    }
  }, 30_000);
});
