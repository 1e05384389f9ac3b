// AOF directives beyond the defaults, side by side with redis-server 7.0: another
// appenddirname and appendfilename (names in the manifest and on disk), aof-disable-auto-gc
// (history files kept and listed, then removed when it is set back to no), aof-timestamp-enabled (#TS annotations the loader skips).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { copyDir, parseAofCommands } from './aof-support';
import { infoSection, text, waitFor } from './persistence-support';

const running: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
});

const ARGS = ['--appendonly', 'yes', '--appenddirname', 'journal', '--appendfilename', 'data.aof', '--aof-disable-auto-gc', 'yes',
  '--aof-timestamp-enabled', 'yes', '--aof-use-rdb-preamble', 'no', '--enable-debug-command', 'yes'];

async function conversation(s: RunningServer): Promise<string[]> {
  const c = await RawConnection.connect(s.port);
  await c.send('SET', 'a', '1');
  await c.send('RPUSH', 'l', 'x', 'y');
  await c.send('BGREWRITEAOF');
  await waitFor(async () => (await infoSection(c)).get('aof_rewrite_in_progress') === '0', 'the rewrite');
  await c.send('SET', 'b', '2');
  const seen: string[] = [];
  const dir = path.join(s.dir, 'journal');
  seen.push(`files: ${fs.readdirSync(dir).sort().join(' ')}`);
  seen.push(`manifest: ${fs.readFileSync(path.join(dir, 'data.aof.manifest'), 'latin1')}`);
  // A commands-form base starts with a timestamp annotation (the incremental file gets one
  // whenever the second changes); the keys come in each server's hash order.
  const base = fs.readFileSync(path.join(dir, 'data.aof.2.base.aof'), 'latin1');
  seen.push(`base starts with #TS: ${/^#TS:\d{10}\r\n/.test(base)}`);
  seen.push(`base commands: ${parseAofCommands(Buffer.from(base, 'latin1')).map((a) => a[0]).sort().join(' ')}`);
  const incr = fs.readFileSync(path.join(dir, 'data.aof.2.incr.aof'), 'latin1');
  seen.push(`incr commands: ${parseAofCommands(Buffer.from(incr, 'latin1')).map((a) => a[0]).join(' ')}`);
  // Turning the gc back on drops the history from the manifest at once (updateAofAutoGCEnabled),
  // and its files in the background.
  await c.send('CONFIG', 'SET', 'aof-disable-auto-gc', 'no');
  seen.push(`manifest after gc: ${fs.readFileSync(path.join(dir, 'data.aof.manifest'), 'latin1')}`);
  await waitFor(async () => fs.readdirSync(dir).length === 3, 'the history files removed');
  seen.push(`files after gc: ${fs.readdirSync(dir).sort().join(' ')}`);
  await c.send('CONFIG', 'SET', 'aof-disable-auto-gc', 'yes');
  seen.push(`digest: ${text(await c.send('DEBUG', 'DIGEST'))}`);
  c.close();
  return seen;
}

describeDifferential('AOF directives vs redis-server 7.0', () => {
  it('appenddirname, appendfilename, aof-disable-auto-gc and aof-timestamp-enabled', async () => {
    const [k, r] = await Promise.all([startKeyfork({ args: ARGS }), startRedis({ args: ARGS })]);
    running.push(k, r);
    const [ck, cr] = await Promise.all([conversation(k), conversation(r)]);
    expect(ck).toEqual(cr);
    expect(ck[0]).toBe('files: data.aof.1.base.aof data.aof.1.incr.aof data.aof.2.base.aof data.aof.2.incr.aof data.aof.manifest');
    // Each loads the other's files, annotations and all.
    await Promise.all([k.stop(), r.stop()]);
    for (const [dir, digest] of [[k.dir, ck[ck.length - 1]], [r.dir, cr[cr.length - 1]]] as const) {
      for (const start of [startKeyfork, startRedis]) {
        const s = await start({ args: ARGS, dir: copyDir(dir) });
        running.push(s);
        const c = await RawConnection.connect(s.port);
        expect(`digest: ${text(await c.send('DEBUG', 'DIGEST'))}`).toBe(digest);
        c.close();
      }
    }
  });
});
