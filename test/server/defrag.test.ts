// activedefrag and active-defrag-*: keyfork has no defragmenter, and behaves as a Redis built
// without jemalloc's (no HAVE_DEFRAG). Debian's redis-server 7.0.15 is such a build, so the
// differential test compares keyfork with it directly: `activedefrag yes` is refused with the
// same error on CONFIG SET and at start-up, the numeric values are kept as Redis keeps them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, withBothServers, type BothServers } from '../helpers/diff';
import { RawConnection, type Arg } from '../helpers/resp';
import { keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

const run = promisify(execFile);

async function startUp(command: string, argv: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, argv, { timeout: 20_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describeDifferential('active defragmentation, as a Redis built without it', () => {
  let keyfork: RunningServer;
  let redis: RunningServer;
  let servers: BothServers;
  beforeAll(async () => {
    [keyfork, redis] = await Promise.all([startKeyfork({ args: ['--save', ''] }), startRedis({ args: ['--save', ''] })]);
    servers = { keyfork, redis };
  }, 30_000);
  afterAll(async () => {
    await Promise.all([keyfork?.stop(), redis?.stop()]);
  });

  const check = async (commands: Arg[][]) => {
    const mismatches = await compareSequences(commands, { servers, unordered: new Set(['config|get']) });
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  };

  it('CONFIG SET activedefrag yes is refused with the build\'s error; no is accepted', async () => {
    await check([
      ['CONFIG', 'SET', 'activedefrag', 'yes'],
      ['CONFIG', 'SET', 'activedefrag', 'YES'],
      ['CONFIG', 'SET', 'activedefrag', 'maybe'],
      ['CONFIG', 'GET', 'activedefrag'],
      ['CONFIG', 'SET', 'activedefrag', 'no'],
      ['CONFIG', 'GET', 'activedefrag'],
      // CONFIG SET is atomic: the refusal leaves the other value as it was.
      ['CONFIG', 'SET', 'active-defrag-cycle-min', '7', 'activedefrag', 'yes'],
      ['CONFIG', 'GET', 'active-defrag-cycle-min'],
    ]);
  });

  it('the numeric active-defrag-* values are settable, bounded and read back as Redis prints them', async () => {
    await check([
      ['CONFIG', 'GET', 'active-defrag-*'],
      ['CONFIG', 'SET', 'active-defrag-cycle-min', '5', 'active-defrag-cycle-max', '50'],
      ['CONFIG', 'SET', 'active-defrag-cycle-min', '0'],
      ['CONFIG', 'SET', 'active-defrag-cycle-max', '100'],
      ['CONFIG', 'SET', 'active-defrag-threshold-lower', '1001'],
      ['CONFIG', 'SET', 'active-defrag-threshold-upper', '-1'],
      ['CONFIG', 'SET', 'active-defrag-threshold-lower', '20', 'active-defrag-threshold-upper', '300'],
      ['CONFIG', 'SET', 'active-defrag-ignore-bytes', '0'],
      ['CONFIG', 'SET', 'active-defrag-ignore-bytes', '200mb'],
      ['CONFIG', 'SET', 'active-defrag-max-scan-fields', '0'],
      ['CONFIG', 'SET', 'active-defrag-max-scan-fields', '5000'],
      ['CONFIG', 'GET', 'active-defrag-*'],
      ['CONFIG', 'GET', '*defrag*'],
    ]);
  });

  it('INFO reports no defragmentation running, as that build does', async () => {
    const info = async (port: number) => {
      const c = await RawConnection.connect(port);
      try {
        const r = await c.send('INFO', 'everything');
        const text = r.t === 'bulk' && r.v ? r.v.toString() : '';
        return text.split('\r\n').filter((l) => /defrag/.test(l)).sort();
      } finally {
        c.close();
      }
    };
    const [k, r] = await Promise.all([info(keyfork.port), info(redis.port)]);
    expect(k).toEqual(r);
    expect(k).toContain('active_defrag_running:0');
  });
});

describeDifferential('activedefrag yes at start-up', () => {
  it('stops start-up with the same FATAL CONFIG FILE ERROR report', async () => {
    const [k, r] = await Promise.all([
      startUp(process.execPath, [keyforkMainPath(), '--port', '0', '--activedefrag', 'yes']),
      startUp(redisServerPath() as string, ['--port', '0', '--activedefrag', 'yes']),
    ]);
    expect(r.code).toBe(1);
    expect(k.code, k.output).toBe(1);
    expect(k.output.trim()).toBe(r.output.trim());
    expect(k.output).toContain('Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc');
  }, 30_000);

  it('activedefrag no and the tuning values start as Redis starts them', async () => {
    const args = ['--activedefrag', 'no', '--active-defrag-cycle-max', '40', '--active-defrag-ignore-bytes', '1gb'];
    await withBothServers(async ({ keyfork: k, redis: r }) => {
      const mismatches = await compareSequences([
        ['CONFIG', 'GET', 'active-defrag-cycle-max'],
        ['CONFIG', 'GET', 'active-defrag-ignore-bytes'],
        ['CONFIG', 'GET', 'activedefrag'],
      ], { servers: { keyfork: k, redis: r } });
      expect(mismatches, formatMismatches(mismatches)).toEqual([]);
    }, { keyfork: { args: ['--save', '', ...args] }, redis: { args: ['--save', '', ...args] } });
  }, 30_000);
});
