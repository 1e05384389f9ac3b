// INFO's blocked_clients on every way a blocked client leaves, against redis-server 7.0 (issue
// 16): a tiny timeout, a longer one, served by a push (or by SWAPDB), CLIENT UNBLOCK TIMEOUT and
// ERROR, a disconnect, and a key that changes type (still blocked in 7.0, served later).
import { expect, it } from 'vitest';
import { describeDifferential, useBothServers, type BothServers } from '../helpers/diff';
import { RawConnection, type Reply } from '../helpers/resp';

const field = (info: Reply, name: string): string => {
  const text = info.t === 'bulk' && info.v ? info.v.toString() : '';
  return new RegExp(`^${name}:(.*)\r$`, 'm').exec(text)?.[1] ?? '?';
};

describeDifferential('blocked_clients on every exit path vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  /** Runs `scenario` on both servers; it returns what it saw (blocked_clients at each step...). */
  async function onBoth<T>(scenario: (port: number) => Promise<T>): Promise<void> {
    const [k, r] = await Promise.all([scenario(servers.keyfork.port), scenario(servers.redis.port)]);
    expect(k).toEqual(r);
  }

  async function blockedClients(port: number): Promise<string> {
    const c = await RawConnection.connect(port);
    try {
      return field(await c.send('INFO', 'clients'), 'blocked_clients');
    } finally {
      c.close();
    }
  }

  /** Polls until blocked_clients reads `want` (or a few seconds passed): the value seen. */
  async function settle(port: number, want: string): Promise<string> {
    let seen = '';
    for (let i = 0; i < 100 && (seen = await blockedClients(port)) !== want; i++) await new Promise((r) => setTimeout(r, 30));
    return seen;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  for (const resp3 of [false, true]) {
    it(`a tiny timeout, sent and waited for, many times over (${resp3 ? 'RESP3' : 'RESP2'})`, async () => {
      await onBoth(async (port) => {
        const c = await RawConnection.connect(port, { resp3 });
        const replies: string[] = [];
        for (let i = 0; i < 10; i++) replies.push(JSON.stringify(await c.send('BLPOP', 'tiny', '0.001')));
        const pipelined = await c.pipeline(Array.from({ length: 10 }, () => ['BRPOP', 'tiny', '0.001']));
        c.close();
        return { replies: [...new Set(replies)], pipelined: [...new Set(pipelined.map((x) => JSON.stringify(x)))], after: await settle(port, '0') };
      });
    });
  }

  it('timeout, served, CLIENT UNBLOCK TIMEOUT / ERROR', async () => {
    await onBoth(async (port) => {
      const admin = await RawConnection.connect(port);
      const seen: Record<string, unknown> = {};
      const blocked = await Promise.all([0, 1, 2, 3].map(() => RawConnection.connect(port)));
      const ids = await Promise.all(blocked.map(async (b) => {
        const id = await b.send('CLIENT', 'ID');
        return id.t === 'int' ? String(id.v) : '?';
      }));
      const pending = [
        blocked[0].send('BLPOP', 'q1', '0.2'),
        blocked[1].send('BLPOP', 'q2', '0'),
        blocked[2].send('BZPOPMIN', 'z3', '0'),
        blocked[3].send('BLMOVE', 'q4', 'dst', 'LEFT', 'RIGHT', '0'),
      ];
      seen.blocked = await settle(port, '4');
      seen.timedOut = await pending[0];
      seen.afterTimeout = await settle(port, '3');
      await admin.send('RPUSH', 'q2', 'x');
      seen.served = await pending[1];
      seen.afterServed = await settle(port, '2');
      seen.unblockTimeout = await admin.send('CLIENT', 'UNBLOCK', ids[2], 'TIMEOUT');
      seen.unblockedReply = await pending[2];
      seen.unblockError = await admin.send('CLIENT', 'UNBLOCK', ids[3], 'ERROR');
      seen.unblockedError = await pending[3];
      seen.end = await settle(port, '0');
      for (const b of [...blocked, admin]) b.close();
      return seen;
    });
  });

  it('a disconnect, SWAPDB bringing the key, and a key that changes type', async () => {
    await onBoth(async (port) => {
      const admin = await RawConnection.connect(port);
      await admin.send('FLUSHALL');
      const seen: Record<string, unknown> = {};
      const gone = await RawConnection.connect(port);
      gone.write('*3\r\n$5\r\nBLPOP\r\n$2\r\nq5\r\n$1\r\n0\r\n');
      seen.oneBlocked = await settle(port, '1');
      gone.close();
      seen.afterDisconnect = await settle(port, '0');

      const swapped = await RawConnection.connect(port);
      const swappedReply = swapped.send('BLPOP', 'q6', '0');
      await settle(port, '1');
      await admin.send('SELECT', '1');
      await admin.send('RPUSH', 'q6', 'from-db1');
      await admin.send('SWAPDB', '0', '1');
      seen.swapServed = await swappedReply;
      seen.afterSwap = await settle(port, '0');

      await admin.send('SELECT', '0');
      const typed = await RawConnection.connect(port);
      const typedReply = typed.send('BLPOP', 'q7', '0');
      await settle(port, '1');
      await admin.send('SET', 'q7', 'now a string');
      await sleep(100);
      seen.stillBlocked = await blockedClients(port);
      await admin.send('DEL', 'q7');
      await admin.send('RPUSH', 'q7', 'a list again');
      seen.typedServed = await typedReply;
      seen.end = await settle(port, '0');
      for (const c of [swapped, typed, admin]) c.close();
      return seen;
    });
  });
});
