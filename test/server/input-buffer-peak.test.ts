// INFO clients `client_recent_max_input_buffer`, side by side with redis-server 7.0: Redis's
// clientsCron records, once per second in one of CLIENTS_PEAK_MEM_USAGE_SLOTS (8) slots, the
// largest client input it sees: the query buffer's allocation (a big bulk argument gets a
// buffer of its whole size) plus the arguments a blocked command keeps. The slot after the
// current one is cleared every second, so a peak stays 7 to 8 seconds. Exact bytes differ
// (jemalloc size classes, Redis's greedy 16 KB reads): the thresholds below hold for both.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { infoNumber } from '../helpers/info';
import { RawConnection } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';

let servers: BothServers;
const both = () => [servers.keyfork, servers.redis];

const KB = 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const recentMaxInput = (conn: RawConnection) => infoNumber(conn, 'clients', 'client_recent_max_input_buffer');

/** Polls the figure every 200 ms until `done` holds (true) or `ms` passed (false). */
async function until(conn: RawConnection, done: (v: number) => boolean, ms: number): Promise<{ ok: boolean; value: number }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await recentMaxInput(conn);
    if (done(value)) return { ok: true, value };
    if (Date.now() > deadline) return { ok: false, value };
    await sleep(200);
  }
}

/**
 * Runs `fn` on both servers at once (each check takes seconds of wall clock) with two
 * connections: `admin` reads INFO, `client` is the one whose input is measured. It starts once
 * what earlier tests left in the peak slots is gone.
 */
const onBoth = (fn: (admin: RawConnection, client: RawConnection, name: string) => Promise<void>) =>
  Promise.all(both().map(async (server: RunningServer) => {
    const [admin, client] = await Promise.all([RawConnection.connect(server.port), RawConnection.connect(server.port, { replyTimeoutMs: 30_000 })]);
    try {
      expect((await until(admin, (v) => v < 256 * KB, 12_000)).ok, server.proc.spawnfile).toBe(true);
      await fn(admin, client, server.proc.spawnfile);
    } finally {
      admin.close();
      client.close();
    }
  }));

describeDifferential('client_recent_max_input_buffer vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  it('a 1 MB argument raises it above 512 KB; it falls back once its second leaves the window', async () => {
    await onBoth(async (admin, writer, name) => {
      const sentAt = Date.now();
      expect(await writer.send('SET', 'big', Buffer.alloc(1024 * KB, 'x'))).toEqual({ t: 'simple', v: 'OK' });
      const risen = await until(admin, (v) => v > 512 * KB, 2000);
      expect(risen, name).toMatchObject({ ok: true });
      // Sane: one 1 MB buffer (and its size class), not a multiple.
      expect(risen.value, name).toBeLessThan(4 * 1024 * KB);
      // The peak's slot is cleared 7 seconds after its second began: every reading the server
      // made less than 6 s after the SET was sent still has it.
      for (;;) {
        const value = await recentMaxInput(admin);
        if (Date.now() - sentAt >= 6000) break;
        expect(value, `${name} ${Date.now() - sentAt} ms after the SET`).toBeGreaterThan(512 * KB);
        await sleep(500);
      }
      // And it is gone 8 s after (a few more for a loaded machine's late cron).
      const fallen = await until(admin, (v) => v < 256 * KB, 12_000 - (Date.now() - sentAt));
      expect(fallen, name).toMatchObject({ ok: true });
    });
  }, 40_000);

  it('a pipeline of small commands (1.5 MB in all) does not raise it: they run as they arrive', async () => {
    await onBoth(async (admin, writer, name) => {
      const replies = await writer.pipeline(Array.from({ length: 50_000 }, (_, i) => ['SET', `k${i % 100}`, 'v']));
      expect(replies.every((r) => r.t === 'simple')).toBe(true);
      // Two crons at least (hz 10) have sampled the buffers since.
      await sleep(300);
      expect(await recentMaxInput(admin), name).toBeLessThan(256 * KB);
    });
  }, 30_000);

  it('a blocked command keeps its arguments: a 600 KB key name counts for as long as it waits', async () => {
    await onBoth(async (admin, waiter, name) => {
      const key = Buffer.alloc(600 * KB, 'k');
      const blockedAt = Date.now();
      const served = waiter.send('BLPOP', key, '0');
      expect((await until(admin, (v) => v > 512 * KB, 2000)).ok, name).toBe(true);
      // Past the window of the moment it arrived: what it holds now, not a peak.
      await sleep(Math.max(0, 9000 - (Date.now() - blockedAt)));
      expect(await recentMaxInput(admin), name).toBeGreaterThan(512 * KB);
      expect(await admin.send('RPUSH', key, 'v')).toEqual({ t: 'int', v: 1 });
      expect(await served).toEqual({ t: 'array', v: [{ t: 'bulk', v: key }, { t: 'bulk', v: Buffer.from('v') }] });
    });
  }, 40_000);
});
