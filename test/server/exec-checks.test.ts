// EXEC under a change of server state (issue 16): Redis 7.0 checks a command against the
// server's state (OOM, MISCONF, ...) before queueing it, and checks EXEC itself the same way,
// with the flags of the queued commands counting as EXEC's own, before EXEC looks at queueing
// errors or WATCH. So a transaction whose writes were queued before saves started failing ends
// with "EXECABORT Transaction discarded because of: MISCONF ...", whatever else happened to it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareOnConnections, describeDifferential, formatMismatches, type BothServers } from '../helpers/diff';
import { RawConnection, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis } from '../helpers/servers';

describeDifferential('EXEC and queueing under a change of server state, vs redis-server 7.0', () => {
  let servers: BothServers;
  const dirs: string[] = [];
  beforeAll(async () => {
    const dir = (name: string) => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), `keyfork-exec-${name}-`));
      dirs.push(d);
      return d;
    };
    const [keyfork, redis] = await Promise.all([
      startKeyfork({ dir: dir('k'), args: ['--save', '', '--enable-debug-command', 'yes'] }),
      startRedis({ dir: dir('r'), args: ['--save', ''] }),
    ]);
    servers = { keyfork, redis };
    // A background save that fails (its directory is gone) puts both in the MISCONF state
    // whenever save rules exist: `CONFIG SET save` then switches the refusal on and off.
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    for (const s of [keyfork, redis]) {
      const c = await RawConnection.connect(s.port);
      try {
        await c.send('BGSAVE');
        for (let i = 0; i < 100; i++) {
          const info = await c.send('INFO', 'persistence');
          const text = info.t === 'bulk' && info.v ? info.v.toString() : '';
          if (text.includes('rdb_bgsave_in_progress:0') && text.includes('rdb_last_bgsave_status:err')) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        c.close();
      }
    }
  });
  afterAll(async () => {
    await Promise.all([servers?.keyfork.stop(), servers?.redis.stop()]);
  });

  const MISCONF_ON: string[] = ['CONFIG', 'SET', 'save', '3600 1'];
  const MISCONF_OFF: string[] = ['CONFIG', 'SET', 'save', ''];

  /** Runs [client, command] steps on two clients per server and returns the differences. */
  async function run(steps: Array<[number, string[]]>): Promise<string> {
    const conns = await Promise.all([0, 1].map(async () => [await RawConnection.connect(servers.keyfork.port), await RawConnection.connect(servers.redis.port)] as const));
    try {
      const report: string[] = [];
      for (const [i, [c, cmd]] of steps.entries()) {
        const m = await compareOnConnections(conns[c][0], conns[c][1], [cmd]);
        if (m.length) report.push(`step ${i} (client ${c}): ${formatMismatches(m)}`);
      }
      await compareOnConnections(conns[0][0], conns[0][1], [MISCONF_OFF, ['FLUSHALL']]);
      return report.join('\n');
    } finally {
      for (const [k, r] of conns) {
        k.close();
        r.close();
      }
    }
  }

  it('a write queued before MISCONF: EXEC is refused with EXECABORT ... MISCONF', async () => {
    expect(await run([[0, ['MULTI']], [0, ['SET', 'k', 'v']], [1, MISCONF_ON], [0, ['EXEC']], [0, ['GET', 'k']]])).toBe('');
  });

  it('MISCONF comes before a queueing error and before a touched WATCH', async () => {
    expect(await run([[0, ['MULTI']], [0, ['SET', 'k', 'v']], [0, ['NOSUCH']], [1, MISCONF_ON], [0, ['EXEC']]])).toBe('');
    expect(await run([[0, ['WATCH', 'k']], [1, ['SET', 'k', 'other']], [0, ['MULTI']], [0, ['SET', 'k', 'v']], [1, MISCONF_ON], [0, ['EXEC']]])).toBe('');
  });

  it('a transaction that already failed queues nothing more, so its later writes do not make EXEC a write', async () => {
    expect(await run([[0, ['MULTI']], [0, ['NOSUCH']], [0, ['SET', 'k', 'v']], [1, MISCONF_ON], [0, ['EXEC']]])).toBe('');
    expect(await run([[0, ['WATCH', 'k']], [0, ['MULTI']], [1, ['SET', 'k', 'other']], [0, ['SET', 'k', 'v']], [1, MISCONF_ON], [0, ['EXEC']], [0, ['GET', 'k']]])).toBe('');
    expect(await run([[0, ['WATCH', 'k']], [1, ['SET', 'k', 'other']], [0, ['MULTI']], [0, ['SET', 'k', 'v']], [0, ['EXEC']]])).toBe('');
  });

  it('under MISCONF a write or PING is refused at queue time, which fails the transaction', async () => {
    expect(await run([[1, MISCONF_ON], [0, ['MULTI']], [0, ['SET', 'k', 'v']], [0, ['GET', 'k']], [0, ['EXEC']]])).toBe('');
    expect(await run([[1, MISCONF_ON], [0, ['MULTI']], [0, ['PING']], [0, ['EXEC']]])).toBe('');
    expect(await run([[1, MISCONF_ON], [0, ['MULTI']], [0, ['GET', 'k']], [0, ['EXEC']]])).toBe('');
  });

  it('MISCONF gone before EXEC: the queued writes run', async () => {
    expect(await run([[1, MISCONF_ON], [0, ['MULTI']], [0, ['GET', 'k']], [1, MISCONF_OFF], [0, ['SET', 'k', 'v']], [0, ['EXEC']]])).toBe('');
  });

  it('the rejected EXEC is counted as Redis counts it', async () => {
    await run([[0, ['CONFIG', 'RESETSTAT']], [0, ['MULTI']], [0, ['SET', 'k', 'v']], [1, MISCONF_ON], [0, ['EXEC']]]);
    const stats = async (port: number) => {
      const r: Reply = await (await RawConnection.connect(port)).send('INFO', 'commandstats');
      const text = r.t === 'bulk' && r.v ? r.v.toString() : '';
      return /cmdstat_exec:calls=(\d+),.*rejected_calls=(\d+),failed_calls=(\d+)/.exec(text)?.slice(1);
    };
    expect(await stats(servers.keyfork.port)).toEqual(await stats(servers.redis.port));
  });

  it('a denyoom command queued before maxmemory was lowered: EXEC is refused with EXECABORT ... OOM', async () => {
    expect(await run([
      [0, ['SET', 'filler', 'x'.repeat(10000)]], [0, ['MULTI']], [0, ['SET', 'k', 'v']], [0, ['GET', 'k']],
      [1, ['CONFIG', 'SET', 'maxmemory', '1']], [0, ['EXEC']], [1, ['CONFIG', 'SET', 'maxmemory', '0']],
    ])).toBe('');
  });
});
