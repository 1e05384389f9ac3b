// server_cpulist, bgsave_cpulist, aof_rewrite_cpulist, bio_cpulist: the CPUs the main thread,
// the forked children and the background (lazy free) thread may run on, from
// /proc/PID/task/TID/status, compared with redis-server 7.0.15. Redis's bio_lazy_free thread
// is keyfork's keyfork-lazyfree.
import fs from 'node:fs';
import os from 'node:os';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { until } from '../helpers/info';
import { childrenOf, settled } from '../helpers/proc';
import { RawConnection, formatReply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

type Which = 'keyfork' | 'redis';
const start = (which: Which, opts: ServerOptions): Promise<RunningServer> => (which === 'keyfork' ? startKeyfork(opts) : startRedis(opts));

const cpusOf = (pid: number, tid = pid) => /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1'))?.[1];
const ALL = cpusOf(process.pid);

function threadNamed(pid: number, name: string): number | undefined {
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      // A thread's name is cut at 15 bytes.
      if (fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'latin1').trim() === name.slice(0, 15)) return Number(tid);
    } catch {
      // gone
    }
  }
  return undefined;
}

async function childCpus(s: RunningServer, c: RawConnection, command: string): Promise<string | undefined> {
  await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '200000');
  await c.send(command);
  let kids: number[] = [];
  await until(async () => (kids = childrenOf(s.pid)).length > 0, 5000);
  await settled(kids[0]);
  const cpus = kids.length ? cpusOf(kids[0]) : 'no child';
  await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '0');
  // Gone, and reaped by the server (Redis notices in its cron).
        await until(async () => childrenOf(s.pid).length === 0 && !/_in_progress:1/.test(formatReply(await c.send('INFO', 'persistence'))), 10_000);
  return cpus;
}

const multiCpu = os.availableParallelism() >= 2;

describeDifferential('CPU affinity (differential)', () => {
  it.skipIf(!multiCpu)('server, bgsave, aof rewrite and bio CPU lists', async () => {
    const args = ['--server_cpulist', '1', '--bgsave_cpulist', '0', '--aof_rewrite_cpulist', '0-1:1', '--bio_cpulist', '0-0',
      '--enable-debug-command', 'yes', '--save', '', '--lazyfree-lazy-user-del', 'yes'];
    const seen: Record<Which, Record<string, string | undefined>> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const s = await start(which, { args });
      const c = await RawConnection.connect(s.port);
      try {
        // Redis sets its CPUs just before its event loop starts, after its ready line.
        await c.send('DEBUG', 'POPULATE', '5');
        const got: Record<string, string | undefined> = { main: cpusOf(s.pid) };
        got.bgsave = await childCpus(s, c, 'BGSAVE');
        got.aof = await childCpus(s, c, 'BGREWRITEAOF');
        // A set big enough to be freed in the background (lazy free's threshold is 64 elements).
        const members = Array.from({ length: 200 }, (_, i) => `m${i}`);
        await c.send('SADD', 'big', ...members);
        await c.send('DEL', 'big');
        const name = which === 'redis' ? 'bio_lazy_free' : 'keyfork-lazyfree';
        let tid: number | undefined;
        await until(async () => (tid = threadNamed(s.pid, name)) !== undefined, 5000);
        got.bio = tid === undefined ? 'no thread' : cpusOf(s.pid, tid);
        seen[which] = got;
      } finally {
        c.close();
        await s.stop();
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toEqual({ main: '1', bgsave: '0', aof: '0-1', bio: '0' });
  });

  it('lists Redis does not apply leave the CPUs alone', async () => {
    for (const list of ['1-0', '0-1:0', 'x', '0,', '0-']) {
      const seen: Record<Which, string | undefined> = {} as never;
      for (const which of ['keyfork', 'redis'] as const) {
        const s = await start(which, { args: ['--server_cpulist', list, '--save', ''] });
        const c = await RawConnection.connect(s.port);
        await c.send('PING');
        c.close();
        seen[which] = cpusOf(s.pid);
        await s.stop();
      }
      expect(seen.keyfork, list).toEqual(seen.redis);
      expect(seen.redis, list).toBe(ALL);
    }
  });
});
