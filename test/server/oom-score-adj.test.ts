// oom-score-adj and oom-score-adj-values: /proc/PID/oom_score_adj of the server (master and
// replica classes), of its forked child, across CONFIG SET, compared with redis-server 7.0.15.
// Both start from a score of 50 (set by the shell that execs them) to show "relative".
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { until } from '../helpers/info';
import { childrenOf, settled } from '../helpers/proc';
import { freePort } from '../helpers/ports';
import { RawConnection, formatReply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

type Which = 'keyfork' | 'redis';
const start = (which: Which, opts: ServerOptions): Promise<RunningServer> => (which === 'keyfork' ? startKeyfork(opts) : startRedis(opts));
/** The server runs with oom_score_adj 50 to begin with. */
const FROM_50 = ['sh', '-c', 'echo 50 > /proc/self/oom_score_adj && exec "$@"', 'sh'];

const score = (pid: number) => fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'latin1').trim();

/** The server's log lines about the OOM score (message only). */
const oomLines = (output: string) =>
  output.split('\n').filter((l) => /oom_score_adj|oom-score-adj|Failed applying/.test(l)).map((l) => l.replace(/^\d+:[A-Z] .{24} /, ''));

async function trace(s: RunningServer, steps: string[][]): Promise<string[]> {
  const c = await RawConnection.connect(s.port);
  // Redis sets the score just before its event loop starts, after its ready line.
  await c.send('PING');
  const out = [`start -> ${score(s.pid)}`];
  try {
    for (const step of steps) {
      if (step[0] === 'child') {
        await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '200000');
        const reply = formatReply(await c.send('BGSAVE'));
        let kids: number[] = [];
        await until(async () => (kids = childrenOf(s.pid)).length > 0, 5000);
        await settled(kids[0]);
        out.push(`child (BGSAVE: ${reply}) -> ${kids.length ? score(kids[0]) : 'no child'}`);
        await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '0');
        // Gone, and reaped by the server (Redis notices in its cron).
        await until(async () => childrenOf(s.pid).length === 0 && !/_in_progress:1/.test(formatReply(await c.send('INFO', 'persistence'))), 10_000);
        continue;
      }
      const reply = formatReply(await c.send(...step));
      out.push(`${step.join(' ')} -> ${reply} ${score(s.pid)}`);
    }
  } finally {
    c.close();
  }
  return out;
}

describeDifferential('oom-score-adj (differential)', () => {
  it('relative and absolute scores for master, replica and child, across CONFIG SET', async () => {
    const nobody = String(await freePort());
    const steps = [
      ['DEBUG', 'POPULATE', '5'],
      ['CONFIG', 'SET', 'oom-score-adj-values', '300 200 100'],
      ['CONFIG', 'SET', 'oom-score-adj-values', '0 200 800'],
      ['child'],
      ['CONFIG', 'SET', 'oom-score-adj', 'absolute'],
      ['CONFIG', 'SET', 'oom-score-adj-values', '100 200 900'],
      ['REPLICAOF', '127.0.0.1', nobody],
      ['REPLICAOF', 'NO', 'ONE'],
      ['child'],
      ['CONFIG', 'SET', 'oom-score-adj-values', '100 200 2000'],
      ['CONFIG', 'SET', 'oom-score-adj', 'no'],
      ['CONFIG', 'SET', 'oom-score-adj-values', '1 2 3'],
      ['child'],
      ['CONFIG', 'SET', 'oom-score-adj', 'yes'],
      ['CONFIG', 'GET', 'oom-score-adj'],
      ['CONFIG', 'SET', 'oom-score-adj', 'absolute'],
      // Lower than the score the process started with: the kernel wants CAP_SYS_RESOURCE.
      ['CONFIG', 'SET', 'oom-score-adj-values', '-5 0 0'],
      ['CONFIG', 'GET', 'oom-score-adj-values'],
    ];
    const args = ['--oom-score-adj', 'relative', '--oom-score-adj-values', '10 200 800', '--enable-debug-command', 'yes', '--save', ''];
    const seen: Record<Which, { trace: string[]; log: string[] }> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const s = await start(which, { args, prefix: FROM_50 });
      try {
        seen[which] = { trace: await trace(s, steps), log: [] };
      } finally {
        await s.stop();
      }
      seen[which].log = oomLines(s.output());
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis.trace.slice(0, 5)).toEqual([
      'start -> 60',
      'DEBUG POPULATE 5 -> OK 60',
      'CONFIG SET oom-score-adj-values 300 200 100 -> OK 350',
      'CONFIG SET oom-score-adj-values 0 200 800 -> OK 50',
      'child (BGSAVE: Background saving started) -> 850',
    ]);
  });

  it('oom-score-adj no (the default): nothing is written', async () => {
    const seen: Record<Which, string[]> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const s = await start(which, { args: ['--enable-debug-command', 'yes', '--save', ''], prefix: FROM_50 });
      try {
        seen[which] = await trace(s, [['DEBUG', 'POPULATE', '5'], ['child'], ['CONFIG', 'SET', 'oom-score-adj-values', '0 0 0']]);
      } finally {
        await s.stop();
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toEqual(['start -> 50', 'DEBUG POPULATE 5 -> OK 50', 'child (BGSAVE: Background saving started) -> 50', 'CONFIG SET oom-score-adj-values 0 0 0 -> OK 50']);
  });

  it('values out of order are kept, with a warning at start-up', async () => {
    const seen: Record<Which, string[]> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const s = await start(which, { args: ['--oom-score-adj-values', '300 200 100', '--save', ''] });
      await s.stop();
      seen[which] = s.output().split('\n').filter((l) => /oom-score-adj/.test(l)).map((l) => l.replace(/^\d+:([A-Z]) .{24} /, '$1 '));
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toEqual(['C # The oom-score-adj-values configuration may not work for non-privileged processes! Please consult the documentation.']);
  });
});
