// Scripts replayed from the AOF, side by side with redis-server 7.0.15: the AOF-loading client
// is obeyed as a master is (mustObeyClient), so an EVAL that writes replays on a read-only
// replica; and a slow script replayed by DEBUG LOADAOF leaves the server loading, so other
// clients get LOADING (checked before BUSY), and the script's keys are there afterwards.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { replyText } from '../helpers/info';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { resp, tempDir } from './aof-support';
import { waitFor, waitForLog } from './persistence-support';

const running: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
});

const starters = { keyfork: startKeyfork, redis: startRedis };

/** A data directory whose AOF is one incremental file holding `commands`. */
function aofWith(label: string, commands: string): string {
  const dir = tempDir(label);
  fs.mkdirSync(path.join(dir, 'appendonlydir'));
  fs.writeFileSync(path.join(dir, 'appendonlydir', 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
  fs.writeFileSync(path.join(dir, 'appendonlydir', 'appendonly.aof.1.incr.aof'), commands);
  return dir;
}

describeDifferential('scripts replayed from the AOF vs redis-server 7.0', () => {
  it('an EVAL that writes replays on a read-only replica', async () => {
    const commands = resp('SELECT', '9') + resp('EVAL', 'redis.call("set",KEYS[1],"100")', '1', 'foo') +
      resp('EVAL', 'redis.call("incr",KEYS[1])', '1', 'foo') + resp('EVAL', 'redis.call("incr",KEYS[1])', '1', 'foo');
    const seen: Record<string, string[]> = {};
    for (const which of ['keyfork', 'redis'] as const) {
      const server = await starters[which]({
        dir: aofWith(`aof-eval-${which}`, commands),
        args: ['--appendonly', 'yes', '--replica-read-only', 'yes', '--replicaof', '127.0.0.1', '0'],
      });
      running.push(server);
      const c = await RawConnection.connect(server.port);
      await c.send('SELECT', '9');
      const stats = replyText(await c.send('INFO', 'stats')).split('\r\n').filter((l) => l.startsWith('unexpected_error_replies'));
      seen[which] = [formatReply(await c.send('GET', 'foo')), ...stats];
      c.close();
    }
    expect(seen.keyfork).toEqual(['"102"', 'unexpected_error_replies:0']);
    expect(seen.keyfork).toEqual(seen.redis);
  }, 60_000);

  it('a slow script replayed by DEBUG LOADAOF: LOADING for the others, not BUSY', async () => {
    const args = ['--appendonly', 'yes', '--busy-reply-threshold', '1', '--aof-use-rdb-preamble', 'no', '--enable-debug-command', 'yes'];
    const slow = "redis.call('set',KEYS[1],'y'); for i=1,1500000 do redis.call('ping') end return 'ok'";
    const seen: Record<string, string[]> = {};
    for (const which of ['keyfork', 'redis'] as const) {
      const server = await starters[which]({ args });
      running.push(server);
      // The running server's incremental file, replaced by one holding the slow script.
      fs.writeFileSync(path.join(server.dir, 'appendonlydir', 'appendonly.aof.1.incr.aof'), resp('SELECT', '9') + resp('EVAL', slow, '1', 'x'));
      const loader = await RawConnection.connect(server.port, { replyTimeoutMs: 60_000 });
      const other = await RawConnection.connect(server.port);
      const loaded = loader.send('DEBUG', 'LOADAOF');
      const refused = await waitFor<Reply>(async () => {
        const r = await other.send('PING');
        return r.t === 'error' ? r : null;
      }, 'an error reply while the AOF loads', 10_000);
      seen[which] = [formatReply(refused), formatReply(await loaded)];
      await waitForLog(server, /Slow script detected/);
      await other.send('SELECT', '9');
      seen[which].push(formatReply(await other.send('GET', 'x')));
      loader.close();
      other.close();
    }
    expect(seen.keyfork).toEqual(['(error) LOADING Redis is loading the dataset in memory', 'OK', '"y"']);
    expect(seen.keyfork).toEqual(seen.redis);
  }, 60_000);
});
