// Faults around a forked save: the child killed at random moments, the server killed during
// a save, a graceful shutdown during a save, and a dataset written continuously while the
// child saves (the file must hold the dataset as it was at the fork).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawConnection } from '../helpers/resp';
import { redisAvailable, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { checkRdb, dumpPath, infoSection, show, sleep, tempFiles, text, waitFor, waitSaveEnded } from './persistence-support';

const DEBUG = ['--enable-debug-command', 'yes'];

/** Starts a save and returns its child's pid (from keyfork's INFO field). */
async function startSave(c: RawConnection): Promise<number> {
  expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
  const pid = Number((await infoSection(c)).get('keyfork_save_child_pid'));
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** The process exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The key count redis-check-rdb reports for a file, or an error with its output. */
function keysIn(file: string): number {
  const check = checkRdb(file);
  if (!check.ok) throw new Error(`redis-check-rdb failed on ${file}:\n${check.output}`);
  const m = /(\d+) keys read/.exec(check.output);
  return m ? Number(m[1]) : -1;
}

describe('a save child killed at random moments', () => {
  it('leaves the last good dump.rdb, reports err and keeps serving (50 kills)', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('DEBUG', 'POPULATE', '5000');
      expect(show(await c.send('SAVE'))).toBe('+OK');
      const good = fs.readFileSync(dumpPath(server));
      expect(keysIn(dumpPath(server))).toBe(5000);
      // About 1.5 s per save: every kill below lands while the child works.
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '300');
      for (let i = 0; i < 50; i++) {
        await c.send('SET', `written-${i}`, String(i)); // the dataset moves on between saves
        const pid = await startSave(c);
        await sleep(Math.floor(Math.random() * 400));
        process.kill(pid, 'SIGKILL');
        const info = await waitSaveEnded(c, 10_000);
        expect(info.get('rdb_last_bgsave_status'), `kill ${i}`).toBe('err');
        expect(info.get('keyfork_last_bgsave_error')).toBe('the child was terminated by signal 9');
        expect(info.get('rdb_saves')).toBe(String(i + 2));
        expect(fs.readFileSync(dumpPath(server)).equals(good), `dump.rdb changed after kill ${i}`).toBe(true);
        expect(tempFiles(server.dir), `temp file left after kill ${i}`).toEqual([]);
        expect(show(await c.send('GET', `written-${i}`))).toBe(String(i));
      }
      expect(keysIn(dumpPath(server))).toBe(5000);
      expect(server.output().match(/# Background saving terminated by signal 9\n/g)).toHaveLength(50);
      // And a save that is left alone still succeeds afterwards.
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '0');
      // Undelayed, the child may be done before an INFO could show its pid: no startSave here.
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      expect((await waitSaveEnded(c)).get('rdb_last_bgsave_status')).toBe('ok');
      expect(keysIn(dumpPath(server))).toBe(5050);
      c.close();
    } finally {
      await server.stop();
    }
  }, 180_000);
});

describe('the server dying during a save', () => {
  it('killed together with its child: the previous dump.rdb is intact and loads', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    const c = await RawConnection.connect(server.port);
    await c.send('DEBUG', 'POPULATE', '3000');
    expect(show(await c.send('SAVE'))).toBe('+OK');
    const good = fs.readFileSync(dumpPath(server));
    await c.send('SET', 'after-save', '1');
    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    const pid = await startSave(c);
    await waitFor(async () => Number((await infoSection(c)).get('keyfork_save_bytes_written')) > 0, 'bytes written');
    process.kill(server.pid, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
    await server.stop();
    expect(fs.readFileSync(dumpPath(server)).equals(good)).toBe(true);
    expect(tempFiles(server.dir)).toEqual([`temp-${pid}.rdb`]); // as Redis, a crash leaves it behind

    const restarted = await startKeyfork({ dir: server.dir, args: ['--save', ''] });
    try {
      const d = await RawConnection.connect(restarted.port);
      expect(show(await d.send('DBSIZE'))).toBe(':3000');
      expect(show(await d.send('EXISTS', 'after-save'))).toBe(':0');
      d.close();
    } finally {
      await restarted.stop();
    }
  }, 60_000);

  it('killed alone: the orphaned child exits at its next report, removes its temp file, and dump.rdb stays the old file', async () => {
    // As Redis's child does when it cannot report to its parent: a save no one waits for must
    // not rename an old snapshot over what a restarted server may have written meanwhile.
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    const c = await RawConnection.connect(server.port);
    await c.send('DEBUG', 'POPULATE', '2000');
    expect(show(await c.send('SAVE'))).toBe('+OK');
    await c.send('SET', 'after-save', '1');
    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '500');
    const pid = await startSave(c);
    process.kill(server.pid, 'SIGKILL');
    await server.stop();
    // Its save had a second to go (2001 keys at 0.5 ms each).
    await waitFor(() => !running(pid), 'the orphaned child gone', 5000);
    expect(keysIn(dumpPath(server))).toBe(2000);
    expect(tempFiles(server.dir)).toEqual([]);
  }, 60_000);

  it('SIGTERM during a save: the child is killed, its temp file removed, the final save written', async () => {
    const server = await startKeyfork({ args: ['--save', '3600 1', ...DEBUG] });
    const c = await RawConnection.connect(server.port);
    await c.send('DEBUG', 'POPULATE', '3000');
    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    const pid = await startSave(c);
    await waitFor(() => fs.existsSync(path.join(server.dir, `temp-${pid}.rdb`)), 'the temp file');
    await c.send('SET', 'last-write', '1');
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/# There is a child saving an \.rdb\. Killing it!\n/);
    expect(server.output()).toMatch(/\* Saving the final RDB snapshot before exiting\.\n/);
    expect(running(pid)).toBe(false);
    expect(tempFiles(server.dir)).toEqual([]);
    expect(keysIn(dumpPath(server))).toBe(3001);
  }, 60_000);

  it('SHUTDOWN NOSAVE during a save: the child goes too, dump.rdb is not touched', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    const c = await RawConnection.connect(server.port);
    await c.send('DEBUG', 'POPULATE', '3000');
    await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    const pid = await startSave(c);
    await waitFor(() => fs.existsSync(path.join(server.dir, `temp-${pid}.rdb`)), 'the temp file');
    c.write('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n');
    expect(await c.waitClose(10_000)).toBe(true);
    await server.stop();
    expect(server.output()).toMatch(/# There is a child saving an \.rdb\. Killing it!\n/);
    await waitFor(() => !running(pid), 'the child to exit', 5000);
    expect(tempFiles(server.dir)).toEqual([]);
    expect(fs.existsSync(dumpPath(server))).toBe(false);
  }, 60_000);
});

describe('writes during a BGSAVE', () => {
  it('the file holds the dataset as it was at the fork (DEBUG DIGEST on reload, keyfork and redis-server)', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    const copies: RunningServer[] = [];
    try {
      const a = await RawConnection.connect(server.port);
      const b = await RawConnection.connect(server.port);
      await a.send('DEBUG', 'POPULATE', '20000', 'key', '32');
      for (let i = 0; i < 200; i++) {
        await a.send('HSET', `h:${i}`, 'f', String(i), 'g', 'x'.repeat(i));
        await a.send('SADD', `s:${i}`, 'a', String(i), String(i * 7));
      }
      await a.send('CONFIG', 'SET', 'rdb-key-save-delay', '50');
      // DIGEST and BGSAVE in one batch: no other client's write can fall between them.
      const [digestReply, started] = await a.pipeline([['DEBUG', 'DIGEST'], ['BGSAVE']]);
      const atFork = text(digestReply);
      expect(show(started)).toBe('+Background saving started');

      let writes = 0;
      let saving = true;
      const writer = (async () => {
        while (saving) {
          const n = Math.floor(Math.random() * 20000);
          await b.pipeline([
            ['SET', `key:${n}`, `changed-${writes}`],
            ['DEL', `key:${(n * 7) % 20000}`],
            ['HSET', `h:${n % 200}`, 'f', `changed-${writes}`],
            ['SADD', `s:${n % 200}`, `new-${writes}`],
            ['SET', `fresh:${writes}`, 'x'],
          ]);
          writes += 5;
        }
      })();
      const info = await waitSaveEnded(a, 60_000);
      saving = false;
      await writer;
      expect(info.get('rdb_last_bgsave_status')).toBe('ok');
      expect(writes).toBeGreaterThan(100);
      expect(text(await a.send('DEBUG', 'DIGEST'))).not.toBe(atFork);
      a.close();
      b.close();

      const reload = async (start: (dir: string) => Promise<RunningServer>) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-test-atfork-'));
        fs.copyFileSync(dumpPath(server), path.join(dir, 'dump.rdb'));
        const s = await start(dir);
        copies.push(s);
        const c = await RawConnection.connect(s.port);
        const digest = text(await c.send('DEBUG', 'DIGEST'));
        c.close();
        return digest;
      };
      expect(await reload((dir) => startKeyfork({ dir, args: ['--save', '', ...DEBUG] }))).toBe(atFork);
      if (redisAvailable()) expect(await reload((dir) => startRedis({ dir }))).toBe(atFork);
    } finally {
      await Promise.all([server.stop(), ...copies.map((s) => s.stop())]);
      for (const s of copies) fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }, 120_000);
});
