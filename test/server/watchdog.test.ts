// watchdog-period against redis-server 7.0.15: a hidden config whose CONFIG SET raises a period
// under two cron ticks to that, and whose timer (re-armed by every serverCron run) fires when
// the event loop is stuck longer: "--- WATCHDOG TIMER EXPIRED ---" and the stack trace of the
// stuck thread, logged from the signal handler, once per stall; 0 turns it off.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

/** The watchdog reports in `output`, each as its lines with the pid and times masked. */
function reports(output: string): string[][] {
  const lines = output.split('\n');
  const found: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\d+:signal-handler \(\d+\) $/.test(lines[i]) || lines[i + 1] !== '--- WATCHDOG TIMER EXPIRED ---') continue;
    const end = lines.findIndex((l, j) => j > i && /^\d+:signal-handler \(\d+\) --------$/.test(l));
    if (end < 0) continue;
    found.push(lines.slice(i, end + 2).map((l) => l.replace(/^\d+:signal-handler \(\d+\) /, '<pid>:signal-handler (<time>) ').replace(/^.*\[0x[0-9a-f]+\]$/, '<frame>')));
    i = end;
  }
  return found;
}

describeDifferential('watchdog-period', () => {
  let keyfork: RunningServer;
  let redis: RunningServer;
  beforeAll(async () => {
    const args = ['--save', '', '--enable-debug-command', 'yes'];
    [keyfork, redis] = await Promise.all([startKeyfork({ args }), startRedis({ args })]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([keyfork?.stop(), redis?.stop()]);
  });

  it('CONFIG SET and GET as Redis: hidden, bounded, raised to two cron ticks', async () => {
    const mismatches = await compareSequences([
      ['CONFIG', 'GET', 'watchdog-period'],
      ['CONFIG', 'GET', '*watchdog*'],
      ['CONFIG', 'SET', 'watchdog-period', '-1'],
      ['CONFIG', 'SET', 'watchdog-period', 'abc'],
      ['CONFIG', 'SET', 'watchdog-period', '20'],
      ['CONFIG', 'GET', 'watchdog-period'],
      ['CONFIG', 'SET', 'watchdog-period', '1000'],
      ['CONFIG', 'GET', 'watchdog-period'],
      ['CONFIG', 'SET', 'watchdog-period', '0'],
      ['CONFIG', 'GET', 'watchdog-period'],
    ], { servers: { keyfork, redis } });
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });

  it('a stall longer than the period logs one WATCHDOG TIMER EXPIRED report with a stack trace; 0 stops it', async () => {
    const stall = async (s: RunningServer) => {
      const c = await RawConnection.connect(s.port);
      try {
        expect(await c.send('CONFIG', 'SET', 'watchdog-period', '300')).toEqual({ t: 'simple', v: 'OK' });
        await c.send('DEBUG', 'SLEEP', '1');
        // A quiet loop: the cron keeps re-arming the timer, nothing fires.
        await new Promise((r) => setTimeout(r, 700));
        expect(await c.send('CONFIG', 'SET', 'watchdog-period', '0')).toEqual({ t: 'simple', v: 'OK' });
        await c.send('DEBUG', 'SLEEP', '0.5');
      } finally {
        c.close();
      }
      return reports(s.output());
    };
    const [k, r] = await Promise.all([stall(keyfork), stall(redis)]);
    expect(r).toHaveLength(1);
    expect(k, keyfork.output().slice(-3000)).toHaveLength(1);
    for (const report of [k[0], r[0]]) {
      expect(report.slice(0, 5)).toEqual([
        '<pid>:signal-handler (<time>) ',
        '--- WATCHDOG TIMER EXPIRED ---',
        '',
        '------ STACK TRACE ------',
        'EIP:',
      ]);
      expect(report[5]).toBe('<frame>');
      expect(report.slice(6, 8)).toEqual(['', 'Backtrace:']);
      expect(report.slice(8, -2).every((l) => l === '<frame>')).toBe(true);
      expect(report.slice(-2)).toEqual(['<pid>:signal-handler (<time>) --------', '']);
    }
  }, 30_000);
});
