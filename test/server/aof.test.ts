// The append-only file on a real keyfork process, side by side with a real redis-server 7.0
// where both can be observed the same way: the directory layout and manifest, BGREWRITEAOF
// through the one-child rule and its replies, CONFIG SET appendonly, INFO's aof_* fields,
// loading (truncated files, bad files and manifests, the old single-file layout), DEBUG LOADAOF.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { freePort } from '../helpers/ports';
import { keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';
import {
  AOF_DIR,
  aofDir,
  aofFiles,
  copyDir,
  incrFile,
  manifestText,
  messages,
  MANIFEST,
  resp,
  startupOutcome,
  tempDir,
} from './aof-support';
import { infoNames, infoSection, show, sleep, text, waitFor, waitForLog } from './persistence-support';

const AOF = ['--appendonly', 'yes', '--enable-debug-command', 'yes'];
type Which = 'keyfork' | 'redis';
const start = (which: Which, opts: ServerOptions) => (which === 'keyfork' ? startKeyfork(opts) : startRedis(opts));

const running: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop('SIGKILL')));
});
async function server(which: Which, args: string[] = [], dir?: string): Promise<RunningServer> {
  const s = await start(which, { args: [...AOF, ...args], dir });
  running.push(s);
  return s;
}

async function digest(conn: RawConnection): Promise<string> {
  return text(await conn.send('DEBUG', 'DIGEST'));
}

async function waitRewriteEnded(conn: RawConnection): Promise<Map<string, string>> {
  return waitFor(async () => {
    const info = await infoSection(conn);
    return info.get('aof_rewrite_in_progress') === '0' && info.get('aof_rewrite_scheduled') === '0' && info.get('rdb_bgsave_in_progress') === '0' ? info : null;
  }, 'the rewrite to end');
}

describeDifferential('AOF lifecycle vs redis-server 7.0', () => {
  it('a first start lays the directory out as Redis does, and logs it', async () => {
    const [k, r] = await Promise.all([server('keyfork'), server('redis')]);
    expect(aofFiles(k)).toEqual(aofFiles(r));
    expect(aofFiles(k)).toEqual(['appendonly.aof.1.base.rdb', 'appendonly.aof.1.incr.aof', MANIFEST]);
    expect(manifestText(k)).toBe(manifestText(r));
    for (const s of [k, r]) {
      await waitForLog(s, /Creating AOF base file appendonly\.aof\.1\.base\.rdb on server start/);
      await waitForLog(s, /Creating AOF incr file appendonly\.aof\.1\.incr\.aof on server start/);
    }
    const [ck, cr] = await Promise.all([RawConnection.connect(k.port), RawConnection.connect(r.port)]);
    const names = await Promise.all([infoNames(ck), infoNames(cr)]);
    // INFO persistence with the AOF on: Redis's fields in Redis's order, keyfork's after them.
    expect(names[0].filter((n) => !n.startsWith('keyfork_'))).toEqual(names[1]);
    expect(names[1].slice(-6)).toEqual(['aof_current_size', 'aof_base_size', 'aof_pending_rewrite', 'aof_buffer_length', 'aof_pending_bio_fsync', 'aof_delayed_fsync']);
    ck.close();
    cr.close();
  });

  /** One BGREWRITEAOF conversation, slowed down by rdb-key-save-delay. */
  async function rewriteConversation(s: RunningServer): Promise<string[]> {
    const c = await RawConnection.connect(s.port);
    const seen: string[] = [];
    const say = async (...args: string[]) => seen.push(`${args.join(' ')} -> ${show(await c.send(...args))}`);
    await say('DEBUG', 'POPULATE', '2000');
    await say('CONFIG', 'SET', 'rdb-key-save-delay', '500');
    await say('BGREWRITEAOF');
    await say('BGREWRITEAOF');
    await say('BGSAVE');
    await say('BGSAVE', 'SCHEDULE');
    await say('SET', 'during', 'rewrite');
    const during = await infoSection(c);
    for (const f of ['aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'aof_rewrites', 'rdb_bgsave_in_progress']) seen.push(`during: ${f}:${during.get(f)}`);
    await waitRewriteEnded(c);
    await say('BGSAVE');
    await say('BGREWRITEAOF');
    const scheduled = await infoSection(c);
    for (const f of ['aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'aof_pending_rewrite']) seen.push(`while saving: ${f}:${scheduled.get(f)}`);
    await say('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    const after = await waitRewriteEnded(c);
    for (const f of ['aof_rewrites', 'aof_last_bgrewrite_status', 'aof_rewrites_consecutive_failures', 'aof_last_write_status']) seen.push(`after: ${f}:${after.get(f)}`);
    await say('SET', 'after', 'rewrite');
    seen.push(`files: ${aofFiles(s).join(' ')}`);
    seen.push(`manifest: ${manifestText(s)}`);
    seen.push(`digest: ${await digest(c)}`);
    c.close();
    return seen;
  }

  it('BGREWRITEAOF through the one-child rule: replies, scheduling, files, history removed', async () => {
    const [k, r] = await Promise.all([server('keyfork'), server('redis')]);
    const [ck, cr] = await Promise.all([rewriteConversation(k), rewriteConversation(r)]);
    expect(ck).toEqual(cr);
    const lines = [
      /Creating AOF incr file appendonly\.aof\.2\.incr\.aof on background rewrite/,
      /Background append only file rewriting started by pid \d+/,
      /\d+:C .* Successfully created the temporary AOF base file temp-rewriteaof-bg-\d+\.aof/,
      /\d+:C .* Fork CoW for AOF rewrite: current \d+ MB, peak \d+ MB, average \d+ MB/,
      /Background AOF rewrite terminated with success/,
      /Successfully renamed the temporary AOF base file temp-rewriteaof-bg-\d+\.aof into appendonly\.aof\.2\.base\.rdb/,
      /Removing the history file appendonly\.aof\.1\.incr\.aof in the background/,
      /Removing the history file appendonly\.aof\.1\.base\.rdb in the background/,
      /Background AOF rewrite finished successfully/,
    ];
    for (const re of lines) expect(k.output(), String(re)).toMatch(re);
    // The data survives a restart from the rewritten files.
    const dir = k.dir;
    const live = await RawConnection.connect(k.port);
    const before = await digest(live);
    live.close();
    await k.stop('SIGKILL');
    const again = await server('keyfork', [], dir);
    const c = await RawConnection.connect(again.port);
    expect(await digest(c)).toBe(before);
    c.close();
  });

  it('writes queued in a non-zero db when BGREWRITEAOF starts: the new incremental file begins with its own SELECT', async () => {
    // SET a is still in the propagation stream when BGREWRITEAOF drains it into the old file;
    // SET b is the new file's first command and needs its SELECT 9 there.
    const conversation = async (s: RunningServer) => {
      const c = await RawConnection.connect(s.port);
      const replies = await c.pipeline([['SELECT', '9'], ['SET', 'a', '1'], ['BGREWRITEAOF'], ['SET', 'b', '2']]);
      await waitRewriteEnded(c);
      const before = await digest(c);
      expect(await c.send('DEBUG', 'LOADAOF')).toEqual({ t: 'simple', v: 'OK' });
      const seen = [replies.map(show).join(' '), before === (await digest(c)) ? 'same digest' : 'digest changed', (await c.pipeline([['GET', 'a'], ['GET', 'b']])).map(show).join(' ')];
      c.close();
      return seen;
    };
    const [k, r] = await Promise.all([server('keyfork'), server('redis')]);
    const [ck, cr] = await Promise.all([conversation(k), conversation(r)]);
    expect(ck).toEqual(cr);
    expect(cr[1]).toBe('same digest');
  });

  /** CONFIG SET appendonly yes / no, with a BGSAVE in the way the first time. */
  async function toggleConversation(s: RunningServer): Promise<string[]> {
    const c = await RawConnection.connect(s.port);
    const seen: string[] = [];
    const say = async (...args: string[]) => seen.push(`${args.join(' ')} -> ${show(await c.send(...args))}`);
    await say('DEBUG', 'POPULATE', '1000');
    await say('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
    await say('BGSAVE');
    await say('CONFIG', 'SET', 'appendonly', 'yes');
    const info = await infoSection(c);
    for (const f of ['aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled']) seen.push(`${f}:${info.get(f)}`);
    seen.push(`dir exists: ${fs.existsSync(aofDir(s))}`);
    await say('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    await waitRewriteEnded(c);
    await say('SET', 'k', 'v');
    seen.push(`files: ${aofFiles(s).join(' ')}`);
    seen.push(`manifest: ${manifestText(s)}`);
    await say('CONFIG', 'SET', 'appendonly', 'no');
    await say('SET', 'k2', 'v2');
    await say('CONFIG', 'SET', 'appendonly', 'yes');
    await waitRewriteEnded(c);
    seen.push(`files: ${aofFiles(s).join(' ')}`);
    seen.push(`manifest: ${manifestText(s)}`);
    await say('DEBUG', 'LOADAOF');
    await say('GET', 'k2');
    seen.push(`digest: ${await digest(c)}`);
    c.close();
    return seen;
  }

  it('CONFIG SET appendonly yes waits for a running BGSAVE, rewrites, and switches on; no closes the file', async () => {
    const [k, r] = await Promise.all([start('keyfork', { args: ['--enable-debug-command', 'yes'] }), start('redis', {})]);
    running.push(k, r);
    const [ck, cr] = await Promise.all([toggleConversation(k), toggleConversation(r)]);
    expect(ck).toEqual(cr);
    await waitForLog(k, /AOF was enabled but there is already another background operation\. An AOF background was scheduled to start when possible\./);
    await waitForLog(k, /Successfully renamed the temporary AOF incr file temp-appendonly\.aof\.incr into appendonly\.aof\.\d\.incr\.aof/);
    await waitForLog(k, /# Append Only File loaded by DEBUG LOADAOF/);
  });
});

describeDifferential('AOF automatic rewrites and shutdown vs redis-server 7.0', () => {
  it('auto-aof-rewrite-percentage / -min-size start rewrites from the cron with Redis\'s line', async () => {
    const args = ['--auto-aof-rewrite-min-size', '1024', '--auto-aof-rewrite-percentage', '100'];
    const [k, r] = await Promise.all([server('keyfork', args), server('redis', args)]);
    for (const s of [k, r]) {
      const c = await RawConnection.connect(s.port);
      for (let i = 0; i < 40; i++) await c.send('SET', `k${i}`, 'v'.repeat(100));
      // The base created at start-up is not counted (aof_base_size 0, taken as 1 byte): a
      // growth of (size - 1) * 100 %, as large as the file is when the cron looks.
      await waitForLog(s, /Starting automatic rewriting of AOF on \d{5,}% growth/);
      await waitRewriteEnded(c);
      const info = await infoSection(c);
      expect(Number(info.get('aof_rewrites'))).toBeGreaterThanOrEqual(1);
      expect(Number(info.get('aof_base_size'))).toBeGreaterThan(0);
      c.close();
    }
  });

  it('SHUTDOWN while the first rewrite of CONFIG SET appendonly yes runs is refused (FORCE goes ahead)', async () => {
    const outcome = async (which: Which) => {
      const s = await start(which, { args: ['--enable-debug-command', 'yes'] });
      running.push(s);
      const c = await RawConnection.connect(s.port);
      await c.send('DEBUG', 'POPULATE', '2000');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
      await c.send('CONFIG', 'SET', 'appendonly', 'yes');
      const seen = [show(await c.send('SHUTDOWN'))];
      await waitForLog(s, /Writing initial AOF, can't exit\./);
      seen.push(await c.send('SHUTDOWN', 'NOSAVE', 'FORCE').then(show, () => 'closed'));
      await waitForLog(s, /Writing initial AOF\. Exit anyway\./);
      await waitForLog(s, /There is a child rewriting the AOF\. Killing it!/);
      c.close();
      return seen;
    };
    const [k, r] = await Promise.all([outcome('keyfork'), outcome('redis')]);
    expect(k).toEqual(r);
  });
});

describeDifferential('AOF loading vs redis-server 7.0: truncated and bad files', () => {
  /** A data dir holding `files` in appendonlydir (a manifest written for them unless given). */
  function prepared(files: Record<string, string | Buffer>, manifest?: string): string {
    const dir = tempDir('load');
    fs.mkdirSync(path.join(dir, AOF_DIR));
    for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, AOF_DIR, name), body);
    const lines = manifest ?? Object.keys(files).map((n, i) => `file ${n} seq ${i + 1} type ${n.includes('.base.') ? 'b' : 'i'}\n`).join('');
    fs.writeFileSync(path.join(dir, AOF_DIR, MANIFEST), lines);
    return dir;
  }

  /** Starts both servers on copies of `dir`: both must refuse, and log the same reason. */
  function expectBothRefuse(dir: string, reason: RegExp, args: string[] = []): void {
    const outcomes = (['keyfork', 'redis'] as const).map((w) => startupOutcome(w, copyDir(dir), args));
    for (const [i, o] of outcomes.entries()) {
      expect(o.code, `${i ? 'redis' : 'keyfork'}:\n${o.output}`).toBe(1);
      expect(messages(o.output).join('\n'), i ? 'redis' : 'keyfork').toMatch(reason);
    }
  }

  const base = resp('SELECT', '0') + resp('SET', 'a', '1');
  const incr = resp('SET', 'b', '2') + resp('INCR', 'n') + resp('RPUSH', 'l', 'x', 'y');

  it('a truncated last command is cut off under aof-load-truncated yes, with Redis\'s lines', async () => {
    const whole = Buffer.from(incr);
    const dir = prepared({ 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': whole.subarray(0, whole.length - 7) });
    const [kd, rd] = [copyDir(dir), copyDir(dir)];
    const [k, r] = await Promise.all([server('keyfork', [], kd), server('redis', [], rd)]);
    const [ck, cr] = await Promise.all([RawConnection.connect(k.port), RawConnection.connect(r.port)]);
    expect(await digest(ck)).toBe(await digest(cr));
    expect(show(await ck.send('GET', 'n'))).toBe('1');
    expect(fs.statSync(incrFile(kd)).size).toBe(fs.statSync(incrFile(rd)).size);
    for (const re of [
      /!!! Warning: short read while loading the AOF file appendonly\.aof\.1\.incr\.aof!!!/,
      /!!! Truncating the AOF appendonly\.aof\.1\.incr\.aof at offset \d+ !!!/,
      /AOF appendonly\.aof\.1\.incr\.aof loaded anyway because aof-load-truncated is enabled/,
      /DB loaded from incr file appendonly\.aof\.1\.incr\.aof/,
    ]) {
      expect(k.output()).toMatch(re);
      expect(r.output()).toMatch(re);
    }
    ck.close();
    cr.close();
  });

  it('a truncated file refuses to start under aof-load-truncated no, and when it is not the last file', () => {
    const whole = Buffer.from(incr);
    const cut = whole.subarray(0, whole.length - 3);
    expectBothRefuse(prepared({ 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': cut }),
      /Unexpected end of file reading the append only file appendonly\.aof\.1\.incr\.aof\. You can: 1\) Make a backup of your AOF file, then use \.\/redis-check-aof --fix <filename\.manifest>\. 2\) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server\./,
      ['--aof-load-truncated', 'no']);
    expectBothRefuse(prepared({ 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': cut, 'appendonly.aof.2.incr.aof': incr }),
      /Fatal error: the truncated file is not the last file/);
  });

  it('an incomplete MULTI at the end is reverted, garbage in the middle stops start-up', async () => {
    const multi = incr + resp('MULTI') + resp('SET', 'tx', '1');
    const dir = prepared({ 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': multi });
    const k = await server('keyfork', [], copyDir(dir));
    await waitForLog(k, /Revert incomplete MULTI\/EXEC transaction in AOF file appendonly\.aof\.1\.incr\.aof/);
    const c = await RawConnection.connect(k.port);
    expect(show(await c.send('EXISTS', 'tx'))).toBe(':0');
    expect(show(await c.send('GET', 'b'))).toBe('2');
    c.close();
    expectBothRefuse(prepared({ 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': resp('SET', 'x', '1') + 'garbage\r\n' + incr }),
      /Bad file format reading the append only file appendonly\.aof\.1\.incr\.aof: make a backup of your AOF file, then use \.\/redis-check-aof --fix <filename\.manifest>/);
    expectBothRefuse(prepared({ 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': resp('NOSUCHCOMMAND', 'x') }),
      /Unknown command 'NOSUCHCOMMAND' reading the append only file appendonly\.aof\.1\.incr\.aof/);
  });

  it('clients get LOADING while the AOF loads, and INFO shows its progress (key-load-delay)', async () => {
    const sets = Array.from({ length: 2000 }, (_, i) => resp('SET', `key:${i}`, `value:${i}`)).join('');
    const dir = prepared({ 'appendonly.aof.1.base.aof': resp('SELECT', '0') + sets, 'appendonly.aof.1.incr.aof': incr });
    const observe = async (which: Which) => {
      const port = await freePort();
      const args = ['--port', String(port), '--dir', copyDir(dir), '--save', '', '--appendonly', 'yes', '--key-load-delay', '500',
        '--loading-process-events-interval-bytes', '1024'];
      const proc = which === 'keyfork'
        ? spawn(process.execPath, [keyforkMainPath(), ...args], { stdio: 'ignore' })
        : spawn(redisServerPath() as string, args, { stdio: 'ignore' });
      try {
        const c = await waitFor(async () => RawConnection.connect(port).catch(() => null), 'a listener', 10_000);
        const during = await infoSection(c);
        const get = show(await c.send('GET', 'key:1'));
        await waitFor(async () => (await infoSection(c)).get('loading') === '0', 'the load to end', 30_000);
        const after = [show(await c.send('DBSIZE')), show(await c.send('GET', 'key:1999'))];
        c.close();
        return {
          get,
          loading: during.get('loading'),
          fields: [...during.keys()].filter((k) => k.startsWith('loading_')),
          total: during.get('loading_total_bytes'),
          after,
        };
      } finally {
        proc.kill('SIGKILL');
      }
    };
    const [k, r] = await Promise.all([observe('keyfork'), observe('redis')]);
    expect(k).toEqual(r);
    expect(k.get).toBe('-LOADING Redis is loading the dataset in memory');
    expect(k.fields).toContain('loading_loaded_perc');
  });

  it('bad manifests and missing files stop start-up with Redis\'s report', () => {
    const files = { 'appendonly.aof.1.base.aof': base, 'appendonly.aof.1.incr.aof': incr };
    const cases: Array<[string, RegExp]> = [
      ['', /Found an empty AOF manifest/],
      ['file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.base.aof seq 1 type b\n', /Reading the manifest file, at line 2\n>>> 'file appendonly\.aof\.1\.base\.aof seq 1 type b'\nFound duplicate base file information/],
      ['file appendonly.aof.1.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n', /Found a non-monotonic sequence number/],
      ['file appendonly.aof.1.base.aof seq 1 type x\n', /Unknown AOF file type/],
      ['file appendonly.aof.1.base.aof seq 1\n', /Invalid AOF manifest file format/],
      ['file ../escape.aof seq 1 type b\n', /File can't be a path, just a filename/],
      ['file appendonly.aof.1.base.aof seq 1 type b', /The AOF manifest file contains too long line/],
    ];
    for (const [manifest, reason] of cases) {
      expectBothRefuse(prepared(files, manifest), new RegExp(`\\*\\*\\* FATAL AOF MANIFEST FILE ERROR \\*\\*\\*[^]*${reason.source}`));
    }
    expectBothRefuse(prepared(files, 'file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.9.incr.aof seq 9 type i\n'),
      /Unable to obtain the AOF file appendonly\.aof\.9\.incr\.aof length\. stat: No such file or directory/);
  });

  it('an old single-file appendonly.aof is moved into the directory as its base', async () => {
    for (const preamble of [false, true]) {
      const dir = tempDir('old');
      // A Redis 6-style file: commands only, or an RDB preamble followed by commands.
      const src = await server('redis', ['--appendonly', 'no']);
      const c = await RawConnection.connect(src.port);
      await c.send('SET', 'old', 'style');
      await c.send('RPUSH', 'l', 'a', 'b');
      const expected = await digest(c);
      await c.send('SAVE');
      c.close();
      const body = preamble ? Buffer.concat([fs.readFileSync(path.join(src.dir, 'dump.rdb')), Buffer.from(resp('SET', 'tail', '1'))]) : Buffer.from(resp('SET', 'old', 'style') + resp('RPUSH', 'l', 'a', 'b'));
      fs.writeFileSync(path.join(dir, 'appendonly.aof'), body);
      fs.writeFileSync(path.join(dir, 'unrelated.txt'), 'not ours');
      const [kd, rd] = [copyDir(dir), copyDir(dir)];
      const [k, r] = await Promise.all([server('keyfork', [], kd), server('redis', [], rd)]);
      const [ck, cr] = await Promise.all([RawConnection.connect(k.port), RawConnection.connect(r.port)]);
      const [dk, dr] = [await digest(ck), await digest(cr)];
      expect(dk).toBe(dr);
      if (!preamble) expect(dk).toBe(expected);
      expect(aofFiles(kd)).toEqual(aofFiles(rd));
      expect(manifestText(kd)).toBe(manifestText(rd));
      expect(fs.existsSync(path.join(kd, 'appendonly.aof'))).toBe(false);
      expect(fs.readFileSync(path.join(kd, 'unrelated.txt'), 'latin1')).toBe('not ours');
      await waitForLog(k, /Successfully migrated an old-style AOF file \(appendonly\.aof\) into the AOF directory \(appendonlydir\)\./);
      if (preamble) await waitForLog(k, /Reading RDB preamble from AOF file\.\.\.[^]*Reading the remaining AOF tail\.\.\./);
      ck.close();
      cr.close();
    }
  });
});

describe('AOF under appendfsync always', () => {
  it('an acknowledged write is in the file before its reply, and a restart after kill -9 has it', async () => {
    const k = await server('keyfork', ['--appendfsync', 'always']);
    const c = await RawConnection.connect(k.port);
    for (let i = 0; i < 50; i++) {
      expect(show(await c.send('SET', `k${i}`, String(i)))).toBe('+OK');
      // The reply has arrived: the command is already in the file.
      expect(fs.readFileSync(incrFile(k), 'latin1')).toContain(`$${`k${i}`.length}\r\nk${i}\r\n`);
    }
    const before = await digest(c);
    c.close();
    await k.stop('SIGKILL');
    const again = await server('keyfork', ['--appendfsync', 'always'], k.dir);
    const c2 = await RawConnection.connect(again.port);
    expect(await digest(c2)).toBe(before);
    await sleep(10);
    c2.close();
  });
});
