// The test helpers against the real redis-server: if these pass, an exact-reply or differential
// failure elsewhere is about keyfork, not about the harness.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareOnConnections, formatMismatches, sameReply } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection, type Reply } from '../helpers/resp';
import { redisAvailable, redisServerPath, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

const bulk = (s: string | Buffer): Reply => ({ t: 'bulk', v: Buffer.isBuffer(s) ? s : Buffer.from(s) });
const int = (v: number): Reply => ({ t: 'int', v });

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('startKeyfork process handling', () => {
  // KEYFORK_MAIN points the helper at a stand-in entry point, to check what the helper does with
  // whatever process it starts; keyfork itself is exercised by the server tests.
  const saved = process.env.KEYFORK_MAIN;
  const scripts = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-helper-test-'));
  afterEach(() => {
    if (saved === undefined) delete process.env.KEYFORK_MAIN;
    else process.env.KEYFORK_MAIN = saved;
  });
  afterAll(() => fs.rmSync(scripts, { recursive: true, force: true }));

  const entry = (name: string, source: string) => {
    const file = path.join(scripts, name);
    fs.writeFileSync(file, source);
    process.env.KEYFORK_MAIN = file;
  };

  it('passes config file, port and dir, and waits for the ready line', async () => {
    entry('ready.js', `
      console.log(JSON.stringify(process.argv.slice(2)) + ' cwd=' + process.cwd());
      setTimeout(() => console.log('* Ready to accept connections'), 200);
      setInterval(() => {}, 1000);
    `);
    const conf = path.join(scripts, 'k.conf');
    const server = await startKeyfork({ configFile: conf, args: ['--hz', '50'], env: { KF_TEST: '1' } });
    try {
      const [argvLine] = server.output().split('\n');
      expect(argvLine).toBe(`${JSON.stringify([conf, '--port', String(server.port), '--dir', server.dir, '--hz', '50'])} cwd=${fs.realpathSync(server.dir)}`);
      expect(server.pid).toBe(server.proc.pid);
    } finally {
      expect(await server.stop()).toEqual({ code: null, signal: 'SIGTERM' });
    }
    // stop() after exit reports the same status instead of signalling again.
    expect(await server.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('fails with the collected output when the process exits before it is ready', async () => {
    entry('crash.js', `console.error('# Fatal: bad config line 3'); process.exit(3);`);
    await expect(startKeyfork()).rejects.toThrow(/exited \(code 3, signal null\)[\s\S]*# Fatal: bad config line 3/);
  });

  it('names the missing build', async () => {
    process.env.KEYFORK_MAIN = path.join(scripts, 'no-such-main.js');
    await expect(startKeyfork()).rejects.toThrow(/no-such-main\.js does not exist: run npm run build first/);
  });
});

describe.skipIf(!redisAvailable())('helpers against the real redis-server', () => {
  let redis: RunningServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('started redis-server with the requested port and dir', async () => {
    expect(redisServerPath()).toMatch(/redis-server$/);
    expect(redis.output()).toContain('Ready to accept connections');
    expect(redis.output()).toContain(`port=${redis.port}`);
    const conn = await RawConnection.connect(redis.port);
    try {
      expect(await conn.send('CONFIG', 'GET', 'dir')).toEqual({ t: 'array', v: [bulk('dir'), bulk(fs.realpathSync(redis.dir))] });
      expect(await conn.send('CONFIG', 'GET', 'save')).toEqual({ t: 'array', v: [bulk('save'), bulk('')] });
    } finally {
      conn.close();
    }
  });

  it('round-trips RESP2 replies with their wire types', async () => {
    const conn = await RawConnection.connect(redis.port);
    try {
      expect(await conn.send('PING')).toEqual({ t: 'simple', v: 'PONG' });
      expect(await conn.send('SET', 'k', Buffer.from('a\r\nb\0\xff', 'latin1'))).toEqual({ t: 'simple', v: 'OK' });
      expect(await conn.send('GET', 'k')).toEqual(bulk(Buffer.from('a\r\nb\0\xff', 'latin1')));
      expect(await conn.send('GET', 'missing')).toEqual({ t: 'bulk', v: null });
      expect(await conn.send('INCRBY', 'n', '9007199254740993')).toEqual({ t: 'int', v: 9007199254740993n });
      expect(await conn.send('RPUSH', 'l', 'x', 'y')).toEqual(int(2));
      expect(await conn.send('LRANGE', 'l', '0', '-1')).toEqual({ t: 'array', v: [bulk('x'), bulk('y')] });
      expect(await conn.send('HGETALL', 'missing')).toEqual({ t: 'array', v: [] });
      expect(await conn.send('BLPOP', 'nolist', '0.01')).toEqual({ t: 'array', v: null });
      expect(await conn.send('NOSUCHCMD', 'a')).toEqual({
        t: 'error', v: "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' ",
      });
      expect(await conn.pipeline([['SET', 'p', '1'], ['INCR', 'p'], ['DEL', 'p', 'k', 'n', 'l']]))
        .toEqual([{ t: 'simple', v: 'OK' }, int(2), int(4)]);
      expect(await conn.sendRaw('PING inline\r\n')).toEqual(bulk('inline'));
      const big = Buffer.alloc(5 * 1024 * 1024, 0xab);
      expect(await conn.send('SET', 'big', big)).toEqual({ t: 'simple', v: 'OK' });
      const got = await conn.send('GET', 'big');
      // Buffer.equals: toEqual walks a Buffer byte by byte and takes minutes at this size.
      expect(got.t === 'bulk' && got.v !== null && got.v.equals(big)).toBe(true);
      expect(await conn.send('DEL', 'big')).toEqual(int(1));
    } finally {
      conn.close();
    }
  });

  it('round-trips every RESP3 type (DEBUG PROTOCOL)', async () => {
    const conn = await RawConnection.connect(redis.port, { resp3: true });
    try {
      const debug = (what: string) => conn.send('DEBUG', 'PROTOCOL', what);
      expect(await debug('string')).toEqual(bulk('Hello World'));
      expect(await debug('integer')).toEqual(int(12345));
      expect(await debug('double')).toEqual({ t: 'double', v: '3.141' });
      expect(await debug('bignum')).toEqual({ t: 'bignum', v: 1234567999999999999999999999999999999n });
      expect(await debug('null')).toEqual({ t: 'null' });
      expect(await debug('array')).toEqual({ t: 'array', v: [int(0), int(1), int(2)] });
      expect(await debug('set')).toEqual({ t: 'set', v: [int(0), int(1), int(2)] });
      expect(await debug('map')).toEqual({
        t: 'map', v: [[int(0), { t: 'bool', v: false }], [int(1), { t: 'bool', v: true }], [int(2), { t: 'bool', v: false }]],
      });
      expect(await debug('attrib')).toEqual({
        t: 'attr',
        attrs: [[bulk('key-popularity'), { t: 'array', v: [bulk('key:123'), int(90)] }]],
        v: bulk('Some real reply following the attribute'),
      });
      // A push message, then the command's own reply: two replies, in wire order.
      expect(await debug('push')).toEqual({ t: 'push', v: [bulk('server-cpu-usage'), int(42)] });
      expect(await conn.readReply()).toEqual(bulk('Some real reply following the push reply'));
      expect(await debug('verbatim')).toEqual({ t: 'verbatim', format: 'txt', v: Buffer.from('This is a verbatim\nstring') });
      expect(await debug('true')).toEqual({ t: 'bool', v: true });
      expect(await conn.send('GET', 'missing')).toEqual({ t: 'null' });
    } finally {
      conn.close();
    }
  });

  it('reports protocol errors and the server closing the connection', async () => {
    const conn = await RawConnection.connect(redis.port);
    expect(await conn.sendRaw('*1\r\n$abc\r\n')).toEqual({ t: 'error', v: 'ERR Protocol error: invalid bulk length' });
    expect(await conn.waitClose(2000)).toBe(true);
    expect(conn.isClosed()).toBe(true);
    await expect(conn.readReply()).rejects.toThrow(/closed before a reply/);

    const idle = await RawConnection.connect(redis.port);
    expect(await idle.waitClose(100)).toBe(false);
    await expect(idle.readReply(100)).rejects.toThrow(/no reply within 100 ms/);
    idle.close();
  });

  it('stop() reports how the server exited', async () => {
    const other = await startRedis();
    expect(await other.stop()).toEqual({ code: 0, signal: null });
    const killed = await startRedis();
    expect(await killed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe.skipIf(!redisAvailable())('differential comparison (redis against redis)', () => {
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    [a, b] = await Promise.all([startRedis(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const compare = async (commands: (string | Buffer)[][], setupOnB: string[][] = [], unordered?: Set<string>) => {
    const [ca, cb] = await Promise.all([RawConnection.connect(a.port), RawConnection.connect(b.port)]);
    try {
      await Promise.all([ca.send('FLUSHALL'), cb.send('FLUSHALL')]);
      for (const cmd of setupOnB) await cb.send(...cmd);
      return await compareOnConnections(ca, cb, commands, { unordered });
    } finally {
      ca.close();
      cb.close();
    }
  };

  it('finds no mismatch for the same deterministic sequence', async () => {
    const mismatches = await compare([
      ['SET', 'a', '1'], ['INCR', 'a'], ['GET', 'a'], ['LPUSH', 'l', 'x'], ['LPOP', 'l'], ['LPOP', 'l'],
      ['HSET', 'h', 'f', 'v'], ['HGETALL', 'h'], ['INCR', 'h'], ['GET', 'nope'], ['TYPE', 'h'],
    ]);
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });

  it('reports each differing reply with its index and both sides', async () => {
    const mismatches = await compare([['GET', 'a'], ['EXISTS', 'a'], ['PING']], [['SET', 'a', 'only-on-b']]);
    expect(mismatches.map((m) => m.index)).toEqual([0, 1]);
    expect(mismatches[0]).toEqual({ index: 0, command: ['GET', 'a'], keyfork: { t: 'bulk', v: null }, redis: bulk('only-on-b') });
    expect(formatMismatches(mismatches)).toContain('#0 GET a\n  keyfork: (nil)\n  redis:   "only-on-b"');
  });

  it('tells a status reply from a bulk string with the same text', async () => {
    const conn = await RawConnection.connect(a.port);
    try {
      const status = await conn.send('SET', 'x', 'OK');
      const echoed = await conn.send('ECHO', 'OK');
      expect(status).toEqual({ t: 'simple', v: 'OK' });
      expect(echoed).toEqual(bulk('OK'));
      expect(sameReply(status, echoed)).toBe(false);
      expect(sameReply(echoed, await conn.send('GET', 'x'))).toBe(true);
    } finally {
      conn.close();
    }
  });

  it('compares unordered commands as multisets', async () => {
    // 300 members: a hashtable-encoded set, iterated in per-process hash order.
    const members = Array.from({ length: 300 }, (_, i) => `m${i}`);
    const commands = [['SADD', 's', ...members], ['SMEMBERS', 's']];
    const ordered = await compare(commands);
    expect(ordered.map((m) => m.index)).toEqual([1]);
    const unordered = await compare(commands, [], new Set(['smembers']));
    expect(unordered, formatMismatches(unordered)).toEqual([]);
    const stillDifferent = await compare([...commands, ['SADD', 's', 'extra']], [['SADD', 's', 'extra']], new Set(['smembers']));
    expect(stillDifferent.map((m) => m.index)).toEqual([1, 2]);
  });
});
