// RDB files between keyfork and the real redis-server 7.0.15, both ways: a keyfork SAVE/BGSAVE
// passes redis-check-rdb and a redis-server started on it has the same DEBUG DIGEST (and the same
// encodings); a redis-server SAVE of every type in small and large encodings, TTLs and several
// databases loads into keyfork with the same DEBUG DIGEST; a 1M-entry stream with a group crosses
// by BGSAVE with the same digest and node layout; corrupt, truncated, wrong-version and
// checksum-failing files make keyfork exit non-zero with a clear error, leaving the file as it was.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { keyforkMainPath, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

const running: RunningServer[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `keyfork-rdb-${label}-`));
  tempDirs.push(d);
  return d;
}

async function keyfork(dir: string, args: string[] = []): Promise<RunningServer> {
  const s = await startKeyfork({ dir, args: ['--enable-debug-command', 'yes', '--save', '', ...args] });
  running.push(s);
  return s;
}

async function redis(dir: string): Promise<RunningServer> {
  const s = await startRedis({ dir });
  running.push(s);
  return s;
}

const str = (r: Reply): string => {
  if (r.t === 'simple' || r.t === 'error') return r.v;
  if (r.t === 'bulk') return r.v === null ? '(nil)' : r.v.toString('latin1');
  if (r.t === 'int') return String(r.v);
  return JSON.stringify(r);
};

async function call(conn: RawConnection, ...args: Arg[]): Promise<string> {
  return str(await conn.send(...args));
}

/**
 * Every type in its small and large encodings, TTLs, three databases. Lists need a quicklist of
 * several nodes, sets an intset and hashtables, hashes and zsets their listpack and hashtable /
 * skiplist forms (including conversion by value length).
 */
function dataset(): Arg[][] {
  const cmds: Arg[][] = [];
  const longValue = 'v'.repeat(100);
  for (const db of ['0', '2', '9']) {
    const p = `db${db}:`;
    cmds.push(['SELECT', db]);
    cmds.push(['SET', `${p}s:int`, '12345'], ['SET', `${p}s:neg`, '-9223372036854775808'], ['SET', `${p}s:emb`, 'hello world']);
    cmds.push(['SET', `${p}s:raw`, 'abcdefghij'.repeat(20)], ['SET', `${p}s:bin`, Buffer.from([0, 1, 2, 255, 254, 13, 10])]);
    cmds.push(['SET', `${p}s:ttl`, 'x', 'PX', '3600000'], ['SET', `${p}s:empty`, '']);
    cmds.push(['APPEND', `${p}s:appended`, 'a'.repeat(50)], ['APPEND', `${p}s:appended`, 'b']);
    cmds.push(['RPUSH', `${p}l:small`, 'a', '1', '-2', '300', '70000', 'hello', '9999999999']);
    const many: string[] = [];
    for (let i = 0; i < 3000; i++) many.push(`element-${i}-${'x'.repeat(i % 50)}`);
    cmds.push(['RPUSH', `${p}l:big`, ...many]);
    cmds.push(['RPUSH', `${p}l:huge-element`, 'a', 'h'.repeat(20000), 'b'], ['LPUSH', `${p}l:small`, 'head']);
    cmds.push(['SADD', `${p}set:i16`, '5', '-3', '100'], ['SADD', `${p}set:i64`, '1', '-10000000000']);
    cmds.push(['SADD', `${p}set:strings`, 'alpha', 'beta', '7']);
    const ints: string[] = [];
    for (let i = 0; i < 600; i++) ints.push(String(i * 3));
    cmds.push(['SADD', `${p}set:many-ints`, ...ints], ['SADD', `${p}set:shrunk`, '1', '100000'], ['SREM', `${p}set:shrunk`, '100000']);
    cmds.push(['HSET', `${p}h:small`, 'f', 'v', 'n', '7', 'neg', '-5'], ['HSET', `${p}h:long`, 'f', longValue]);
    const fields: string[] = [];
    for (let i = 0; i < 700; i++) fields.push(`field${i}`, `value${i}`);
    cmds.push(['HSET', `${p}h:big`, ...fields]);
    cmds.push(['ZADD', `${p}z:small`, '0.1', 'b', '1.5', 'a', '3', '100', '-inf', 'ninf', '1e300', 'big']);
    const members: string[] = [];
    for (let i = 0; i < 300; i++) members.push(String(i + 0.25), `m${i}`);
    cmds.push(['ZADD', `${p}z:big`, ...members], ['ZADD', `${p}z:long`, '1', longValue]);
    cmds.push(['PEXPIREAT', `${p}h:small`, '4102444800000'], ['EXPIRE', `${p}z:big`, '100000']);
    for (let i = 1; i <= 250; i++) cmds.push(['XADD', `${p}x:stream`, `${i}-${i % 3}`, ...(i % 5 ? ['f', `v${i}`] : ['g', 'x'.repeat(i), 'n', String(i)])]);
    cmds.push(['XDEL', `${p}x:stream`, '3-0', '100-1'], ['XGROUP', 'CREATE', `${p}x:stream`, 'g', '0']);
    cmds.push(['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '3', 'STREAMS', `${p}x:stream`, '>'], ['XADD', `${p}x:empty`, '1-1', 'f', 'v']);
    cmds.push(['XDEL', `${p}x:empty`, '1-1'], ['PEXPIREAT', `${p}x:empty`, '4102444800000']);
    const elements: string[] = [];
    for (let i = 0; i < 5000; i++) elements.push(`e${i}`);
    cmds.push(['PFADD', `${p}hll:sparse`, 'a', 'b', 'c'], ['PFADD', `${p}hll:dense`, ...elements], ['PFCOUNT', `${p}hll:dense`]);
  }
  cmds.push(['SELECT', '0']);
  return cmds;
}

async function populate(conn: RawConnection): Promise<void> {
  for (const c of dataset()) {
    const r = await conn.send(...c);
    expect(r.t, `${c.slice(0, 2).join(' ')}: ${str(r)}`).not.toBe('error');
  }
}

/**
 * OBJECT ENCODING of every key of the dataset, db by db. A sparse HLL is left out: PFADD makes
 * it a raw string, and a short string loads as embstr on both servers (checked on its own).
 */
async function encodings(conn: RawConnection): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const db of ['0', '2', '9']) {
    await conn.send('SELECT', db);
    const keys = await conn.send('KEYS', '*');
    if (keys.t !== 'array' || keys.v === null) throw new Error('KEYS failed');
    for (const k of keys.v) {
      const key = str(k);
      if (key.endsWith('hll:sparse')) continue;
      out[`${db}/${key}`] = await call(conn, 'OBJECT', 'ENCODING', key);
    }
  }
  await conn.send('SELECT', '0');
  return out;
}

function checkRdb(file: string): { ok: boolean; output: string } {
  const r = spawnSync('redis-check-rdb', [file], { encoding: 'utf8' });
  return { ok: r.status === 0 && r.stdout.includes('RDB looks OK'), output: `${r.stdout}${r.stderr}` };
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeDifferential('RDB interoperability with redis-server 7.0', () => {
  for (const how of ['SAVE', 'BGSAVE'] as const) {
    it(`a keyfork ${how} passes redis-check-rdb and loads into redis-server with the same digest`, async () => {
      const kdir = tempDir('k');
      const k = await keyfork(kdir);
      const kc = await RawConnection.connect(k.port);
      await populate(kc);
      const digest = await call(kc, 'DEBUG', 'DIGEST');
      expect(digest).toMatch(/^[0-9a-f]{40}$/);
      expect(digest).not.toBe('0'.repeat(40));
      const kEnc = await encodings(kc);
      if (how === 'SAVE') {
        expect(await call(kc, 'SAVE')).toBe('OK');
      } else {
        expect(await call(kc, 'BGSAVE')).toBe('Background saving started');
        await waitFor('the BGSAVE to finish', async () => /rdb_bgsave_in_progress:0/.test(await call(kc, 'INFO', 'persistence')));
        expect(await call(kc, 'INFO', 'persistence')).toMatch(/rdb_last_bgsave_status:ok/);
        await waitFor('the child log lines', async () => /Fork CoW for RDB: current \d+ MB, peak \d+ MB, average \d+ MB/.test(k.output()));
        expect(k.output()).toMatch(/\d+:C .* \* DB saved on disk/);
      }
      kc.close();
      const file = path.join(kdir, 'dump.rdb');
      expect(fs.readFileSync(file).subarray(0, 9).toString()).toBe('REDIS0010');
      const check = checkRdb(file);
      expect(check.ok, check.output).toBe(true);
      expect(fs.readdirSync(kdir).filter((f) => f.startsWith('temp-'))).toEqual([]);

      const rdir = tempDir('r');
      fs.copyFileSync(file, path.join(rdir, 'dump.rdb'));
      const r = await redis(rdir);
      const rc = await RawConnection.connect(r.port);
      expect(await call(rc, 'DEBUG', 'DIGEST')).toBe(digest);
      expect(await encodings(rc)).toEqual(kEnc);
      expect(await call(rc, 'OBJECT', 'ENCODING', 'db0:hll:sparse')).toBe('embstr');
      rc.close();
    });
  }

  it('a 1M-entry stream with a consumer group, saved by BGSAVE, loads into redis-server with the same digest and node layout', async () => {
    const kdir = tempDir('k');
    const k = await keyfork(kdir);
    // A digest of a million entries takes seconds on a loaded machine.
    const kc = await RawConnection.connect(k.port, { replyTimeoutMs: 60_000 });
    const entries = 1_000_000;
    const batch = 10_000;
    for (let start = 0; start < entries; start += batch) {
      const cmds: Arg[][] = [];
      for (let i = start; i < start + batch; i++) cmds.push(['XADD', 'big', `${1_700_000_000_000 + Math.floor(i / 3)}-${i % 3}`, 'event', i % 7 ? 'click' : 'view', 'user', String(i % 10_007)]);
      const replies = await kc.pipeline(cmds);
      const failed = replies.find((r) => r.t === 'error');
      expect(failed, failed && str(failed)).toBeUndefined();
    }
    await kc.pipeline([['XDEL', 'big', '1700000000000-1', '1700000100000-2'], ['XGROUP', 'CREATE', 'big', 'workers', '0'],
      ['XREADGROUP', 'GROUP', 'workers', 'alice', 'COUNT', '500', 'STREAMS', 'big', '>'], ['XACK', 'big', 'workers', '1700000000000-0']]);
    const layout = async (conn: RawConnection) => {
      const info = await conn.send('XINFO', 'STREAM', 'big');
      const fields = info.t === 'array' && info.v ? info.v.map(str) : [];
      const pick = (name: string) => fields[fields.indexOf(name) + 1];
      return ['length', 'radix-tree-keys', 'radix-tree-nodes', 'last-generated-id', 'entries-added', 'max-deleted-entry-id'].map((f) => `${f}=${pick(f)}`);
    };
    expect(await call(kc, 'XLEN', 'big')).toBe(String(entries - 2));
    const digest = await call(kc, 'DEBUG', 'DIGEST');
    const kLayout = await layout(kc);
    const kPending = formatReply(await kc.send('XPENDING', 'big', 'workers'));
    expect(kPending).toContain('alice');
    expect(await call(kc, 'BGSAVE')).toBe('Background saving started');
    await waitFor('the BGSAVE to finish', async () => /rdb_bgsave_in_progress:0/.test(await call(kc, 'INFO', 'persistence')), 60_000);
    expect(await call(kc, 'INFO', 'persistence')).toMatch(/rdb_last_bgsave_status:ok/);
    kc.close();
    const file = path.join(kdir, 'dump.rdb');
    const check = checkRdb(file);
    expect(check.ok, check.output).toBe(true);
    const rdir = tempDir('r');
    fs.copyFileSync(file, path.join(rdir, 'dump.rdb'));
    const r = await redis(rdir);
    const rc = await RawConnection.connect(r.port, { replyTimeoutMs: 60_000 });
    expect(await call(rc, 'DEBUG', 'DIGEST')).toBe(digest);
    expect(await layout(rc)).toEqual(kLayout);
    expect(formatReply(await rc.send('XPENDING', 'big', 'workers'))).toBe(kPending);
    rc.close();
  }, 180_000);

  it('a redis-server SAVE of every type loads into keyfork with the same digest and encodings', async () => {
    const rdir = tempDir('r');
    const r = await redis(rdir);
    const rc = await RawConnection.connect(r.port);
    await populate(rc);
    // A key whose time passes before the save: saved by Redis, dropped by the loader.
    await rc.send('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    await rc.send('SET', 'gone', 'x', 'PX', '1');
    await new Promise((res) => setTimeout(res, 20));
    expect(await call(rc, 'SAVE')).toBe('OK');
    const rEnc = await encodings(rc);
    delete rEnc['0/gone'];
    // DEBUG DIGEST counts logically expired keys: read it once they are gone.
    await rc.send('DEL', 'gone');
    const digest = await call(rc, 'DEBUG', 'DIGEST');
    rc.close();

    const kdir = tempDir('k');
    fs.copyFileSync(path.join(rdir, 'dump.rdb'), path.join(kdir, 'dump.rdb'));
    const k = await keyfork(kdir);
    expect(k.output()).toMatch(/Loading RDB produced by version 7\.0\.15/);
    expect(k.output()).toMatch(/Done loading RDB, keys loaded: \d+, keys expired: 1\./);
    const kc = await RawConnection.connect(k.port);
    expect(await call(kc, 'DEBUG', 'DIGEST')).toBe(digest);
    expect(await encodings(kc)).toEqual(rEnc);
    expect(await call(kc, 'OBJECT', 'ENCODING', 'db0:hll:sparse')).toBe('embstr');
    expect(await call(kc, 'INFO', 'persistence')).toMatch(/rdb_last_load_keys_expired:1/);
    // TTLs survived.
    const pttl = Number(await call(kc, 'PTTL', 'db0:s:ttl'));
    expect(pttl).toBeGreaterThan(3_500_000);
    expect(await call(kc, 'PEXPIRETIME', 'db0:h:small')).toBe('4102444800000');
    kc.close();
  });

  it('DEBUG RELOAD keeps the dataset (save, flush, load)', async () => {
    const k = await keyfork(tempDir('k'));
    const kc = await RawConnection.connect(k.port);
    await populate(kc);
    const digest = await call(kc, 'DEBUG', 'DIGEST');
    const enc = await encodings(kc);
    expect(await call(kc, 'DEBUG', 'RELOAD')).toBe('OK');
    expect(await call(kc, 'DEBUG', 'DIGEST')).toBe(digest);
    expect(await encodings(kc)).toEqual(enc);
    kc.close();
  });

  it('a BGSAVE that cannot create its temp file fails with Redis\'s log lines', async () => {
    const kdir = tempDir('k');
    const k = await keyfork(kdir);
    const kc = await RawConnection.connect(k.port);
    await kc.send('SET', 'a', 'b');
    fs.rmSync(kdir, { recursive: true, force: true });
    expect(await call(kc, 'BGSAVE')).toBe('Background saving started');
    await waitFor('the failed BGSAVE', async () => /rdb_last_bgsave_status:err/.test(await call(kc, 'INFO', 'persistence')));
    // The log reaches this process through a pipe, possibly after the INFO reply.
    await waitFor('the failure log lines', async () => /# Background saving error/.test(k.output()));
    expect(k.output()).toMatch(/\d+:C .* # Failed opening the temp RDB file temp-\d+\.rdb \(in server root dir unknown\) for saving: No such file or directory/);
    kc.close();
  });

  /** Starts keyfork on `dir` and waits for it to exit (it must not become ready). */
  async function startExpectingFailure(dir: string): Promise<{ code: number | null; output: string }> {
    const port = await freePort();
    const proc = spawn(process.execPath, [keyforkMainPath(), '--port', String(port), '--dir', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        resolve(null);
      }, 15_000);
      proc.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, output };
  }

  it('refuses corrupt, truncated, wrong-version and checksum-failing files and leaves them untouched', async () => {
    // A valid file from keyfork itself to damage in different ways.
    const src = tempDir('src');
    const k = await keyfork(src);
    const kc = await RawConnection.connect(k.port);
    await kc.send('SET', 'string', 'value');
    await kc.send('HSET', 'hash', 'f', 'v', 'g', 'w');
    await kc.send('SADD', 'set', 'a', 'b');
    await kc.send('ZADD', 'zset', '1', 'a');
    expect(await call(kc, 'SAVE')).toBe('OK');
    kc.close();
    const good = fs.readFileSync(path.join(src, 'dump.rdb'));

    const damaged: Array<[string, Buffer, RegExp]> = [
      ['truncated', good.subarray(0, good.length - 20), /Unexpected EOF reading RDB file/],
      ['cut in the header', good.subarray(0, 5), /Short read|Wrong signature|Unexpected EOF/],
      ['wrong version', Buffer.concat([Buffer.from('REDIS0012'), good.subarray(9)]), /Can't handle RDB format version 12/],
      ['not an RDB file', Buffer.from('hello world, this is not an rdb file'), /Wrong signature trying to load DB from file/],
      ['checksum', (() => { const b = Buffer.from(good); b[b.length - 3] ^= 0xff; return b; })(), /Wrong RDB checksum expected: \([0-9a-f]+\) but got \([0-9a-f]+\)\. Aborting now\./],
      // The CRC stays as written: the damage is caught by the value parser or by the checksum.
      ['corrupt value', (() => { const b = Buffer.from(good); const at = b.indexOf('hash') + 5; b[at] ^= 0x5a; return b; })(), /Corrupt|integrity|Unexpected EOF|Wrong RDB checksum/],
      ['unknown type', Buffer.concat([good.subarray(0, good.length - 9), Buffer.from([0x16, 1, 0x73, 0, 0xff]), Buffer.alloc(8)]), /Unknown RDB encoding type 22/],
    ];
    for (const [what, bytes, expected] of damaged) {
      const dir = tempDir('bad');
      const file = path.join(dir, 'dump.rdb');
      fs.writeFileSync(file, bytes);
      const { code, output } = await startExpectingFailure(dir);
      expect(code, `${what}: exit code\n${output}`).not.toBe(0);
      expect(code, `${what}: keyfork should exit, not hang`).not.toBe(null);
      expect(output, what).toMatch(expected);
      expect(output, what).not.toMatch(/Ready to accept connections/);
      expect(fs.readFileSync(file).equals(bytes), `${what}: file untouched`).toBe(true);
      expect(fs.readdirSync(dir), what).toEqual(['dump.rdb']);
    }
  });
});
