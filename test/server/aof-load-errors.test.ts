// propagation-error-behavior on the AOF loader's side, against the real redis-server 7.0.15:
// a command replayed from the AOF that replies an error (a WRONGTYPE, an INCR of a string, a
// SELECT out of range, errors inside MULTI/EXEC, which Redis names after EXEC, its fake client's
// last command) is logged "== CRITICAL == This server is sending an error to its
// AOF-loading-client: ..." and counted (unexpected_error_replies, the error statistics, the
// failed calls of what EXEC ran); under `panic` the first one panics the server (SIGABRT),
// under `ignore` and `panic-on-replicas` loading goes on.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { replyText } from '../helpers/info';
import { RawConnection, formatReply } from '../helpers/resp';
import { keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

type Which = 'keyfork' | 'redis';

const enc = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
const INCR_FILE = [
  enc('SELECT', '0'), enc('SET', 'k', 'v'), enc('LPUSH', 'k', 'x'),
  enc('MULTI'), enc('INCR', 'k'), enc('SET', 'j', '1'), enc('MULTI'), enc('EXEC'),
  enc('SELECT', '99'), enc('SET', 'k2', 'v2'),
].join('');

let dir = '';

/** A data directory holding an AOF (manifest + incr file) with failing commands. */
function aofDir(label: string): string {
  const sub = fs.mkdtempSync(path.join(dir, `${label}-`));
  fs.mkdirSync(path.join(sub, 'appendonlydir'));
  fs.writeFileSync(path.join(sub, 'appendonlydir', 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
  fs.writeFileSync(path.join(sub, 'appendonlydir', 'appendonly.aof.1.incr.aof'), INCR_FILE);
  return sub;
}

/** The lines of interest, without pid, time and Redis's #file:line. */
const lines = (output: string) =>
  output.split('\n').filter((l) => /== CRITICAL ==|Guru Meditation|DB loaded from append only file/.test(l))
    .map((l) => l.replace(/^\d+:[MS] \d+ \w+ \d+ [\d:.]+ [.*#-] /, '').replace(/ #\S+$/, '').replace(/: [\d.]+ seconds$/, ''));

describeDifferential('propagation-error-behavior while loading the AOF', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-aof-errors-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const behavior of ['ignore', 'panic-on-replicas']) {
    it(`${behavior}: each error logged and counted, loading goes on`, async () => {
      const seen = new Map<Which, unknown>();
      for (const which of ['redis', 'keyfork'] as const) {
        const sub = aofDir(which);
        const args = ['--appendonly', 'yes', '--propagation-error-behavior', behavior, '--save', ''];
        const server: RunningServer = which === 'redis' ? await startRedis({ dir: sub, args }) : await startKeyfork({ dir: sub, args });
        const c = await RawConnection.connect(server.port);
        try {
          const info = async (section: string) => replyText(await c.send('INFO', section)).split('\r\n');
          const stats = (await info('stats')).filter((l) => /^(unexpected_error_replies|total_error_replies):/.test(l));
          const errorstats = (await info('errorstats')).filter((l) => l.startsWith('errorstat_'));
          const failed = (await info('commandstats')).filter((l) => /^cmdstat_(incr|lpush|select|multi|set):/.test(l)).map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+,/, '')).sort();
          const keys = [formatReply(await c.send('GET', 'k')), formatReply(await c.send('GET', 'j')), formatReply(await c.send('GET', 'k2'))];
          seen.set(which, { log: lines(server.output()), stats, errorstats, failed, keys });
        } finally {
          c.close();
          await server.stop();
        }
      }
      const redis = seen.get('redis') as { log: string[] };
      expect(redis.log).toEqual([
        "== CRITICAL == This server is sending an error to its AOF-loading-client: '-WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'lpush'",
        "== CRITICAL == This server is sending an error to its AOF-loading-client: 'value is not an integer or out of range' after processing the command 'exec'",
        "== CRITICAL == This server is sending an error to its AOF-loading-client: 'MULTI calls can not be nested' after processing the command 'exec'",
        "== CRITICAL == This server is sending an error to its AOF-loading-client: 'DB index is out of range' after processing the command 'select'",
        'DB loaded from append only file',
      ]);
      expect(seen.get('keyfork')).toEqual(seen.get('redis'));
    }, 60_000);
  }

  it('panic: the first error panics the server (SIGABRT) while it loads', async () => {
    const seen = new Map<Which, unknown>();
    for (const which of ['redis', 'keyfork'] as const) {
      const sub = aofDir(which);
      const args = ['--port', String(await freePort()), '--dir', sub, '--appendonly', 'yes', '--propagation-error-behavior', 'panic', '--save', ''];
      const [cmd, argv] = which === 'keyfork' ? [process.execPath, [keyforkMainPath(), ...args]] : [redisServerPath()!, args];
      const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: sub, timeout: 20_000 });
      seen.set(which, { signal: r.signal, log: lines(r.stdout + r.stderr) });
    }
    expect(seen.get('redis')).toEqual({
      signal: 'SIGABRT',
      log: [
        "== CRITICAL == This server is sending an error to its AOF-loading-client: '-WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'lpush'",
        "Guru Meditation: This server panicked sending an error to its AOF-loading-client after processing the command 'lpush'",
      ],
    });
    expect(seen.get('keyfork')).toEqual(seen.get('redis'));
  }, 60_000);
});
