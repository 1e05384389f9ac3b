// The wire protocol against the real redis-server: pipelining, inline commands, protocol
// errors (which close the connection), unknown commands and arity errors.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

describeDifferential('protocol: same replies as redis-server', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  it('answers unknown commands, wrong arity and unknown subcommands exactly', async () => {
    const mismatches = await compareSequences(
      [
        ['foo'],
        ['foo', 'a', 'b'],
        ['FOO', 'x'.repeat(200)],
        ['foo', ...Array.from({ length: 40 }, (_, i) => `arg${i}`)],
        ['get'],
        ['get', 'a', 'b'],
        ['GET', 'a', 'b'],
        ['set', 'k'],
        ['config'],
        ['config', 'nosuch'],
        ['object', 'nosuch', 'k'],
        ['ping', 'a', 'b'],
        ['ping'],
        ['ping', 'hello'],
        ['echo', 'hi'],
        ['echo'],
        ['select', '1'],
        ['select', '16'],
        ['select', '-1'],
        ['select', 'x'],
        ['select', '0'],
      ],
      { servers },
    );
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });

  it('answers HELLO and AUTH like Redis', async () => {
    const mismatches = await compareSequences(
      [
        ['hello', '4'],
        ['hello', 'x'],
        ['hello', '2', 'foo'],
        ['hello', '2', 'setname', 'bad name'],
        ['auth', 'x'],
        ['auth', 'a', 'b', 'c'],
        ['auth', 'default', 'x'],
      ],
      { servers },
    );
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });
});

describeDifferential('protocol errors close the connection', () => {
  const cases: [string, string][] = [
    ['*abc\r\n', 'invalid multibulk length'],
    ['*1\r\n+x\r\n', "expected '$'"],
    ['*1\r\n$-2\r\n', 'invalid bulk length'],
    ['*1\r\n$600000000\r\n', 'invalid bulk length'],
    ['*2147483648\r\n', 'invalid multibulk length'],
    ['set "a\r\n', 'unbalanced quotes'],
  ];
  let keyfork: RunningServer;
  let redis: RunningServer;
  beforeAll(async () => {
    [keyfork, redis] = await Promise.all([startKeyfork(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([keyfork?.stop(), redis?.stop()]);
  });

  it.each(cases)('%j', async (wire) => {
    const replies = [];
    for (const server of [keyfork, redis]) {
      const conn = await RawConnection.connect(server.port);
      const reply = await conn.sendRaw(Buffer.from(wire, 'latin1'));
      replies.push(reply);
      expect(await conn.waitClose(2000)).toBe(true);
      conn.close();
    }
    expect(replies[0]).toEqual(replies[1]);
  });

  it('a multibulk count up to INT_MAX is a request still arriving, not an error', async () => {
    for (const server of [keyfork, redis]) {
      const conn = await RawConnection.connect(server.port);
      conn.write(Buffer.from('*2000000\r\n'));
      expect(await conn.waitClose(300), `port ${server.port}`).toBe(false);
      conn.close();
    }
  });

  it('serves pipelined and inline commands in order, binary-safe', async () => {
    const value = Buffer.from([0, 1, 2, 13, 10, 255]);
    const replies = [];
    for (const server of [keyfork, redis]) {
      const conn = await RawConnection.connect(server.port);
      const batch = await conn.pipeline([
        ['set', 'bin', value],
        ['get', 'bin'],
        ['ping'],
      ]);
      const inline = await conn.sendRaw(Buffer.from('echo "a b" \'c\'\r\n'));
      replies.push([batch, inline]);
      conn.close();
    }
    expect(replies[0]).toEqual(replies[1]);
  });

  it('keeps serving other clients when one sends garbage', async () => {
    const good = await RawConnection.connect(keyfork.port);
    const bad = await RawConnection.connect(keyfork.port);
    await bad.sendRaw(Buffer.from('*x\r\n'));
    expect(await good.send('ping')).toEqual({ t: 'simple', v: 'PONG' });
    good.close();
    bad.close();
  });
});

describeDifferential('before AUTH, requests are limited to 10 arguments of 16384 bytes (requirepass set)', () => {
  let keyfork: RunningServer;
  let redis: RunningServer;
  beforeAll(async () => {
    const opts = { args: ['--requirepass', 'pw'] };
    [keyfork, redis] = await Promise.all([startKeyfork(opts), startRedis(opts)]);
  });
  afterAll(async () => {
    await Promise.all([keyfork?.stop(), redis?.stop()]);
  });

  it.each([
    ['*11\r\n', 'unauthenticated multibulk length'],
    ['*1\r\n$16385\r\n', 'unauthenticated bulk length'],
  ])('%j is refused and the connection closed', async (wire, text) => {
    for (const server of [keyfork, redis]) {
      const conn = await RawConnection.connect(server.port);
      expect(await conn.sendRaw(Buffer.from(wire))).toEqual({ t: 'error', v: `ERR Protocol error: ${text}` });
      expect(await conn.waitClose(2000)).toBe(true);
      conn.close();
    }
  });

  it('the limits end with AUTH; at the limits a request gets NOAUTH', async () => {
    const big = 'x'.repeat(16384);
    for (const server of [keyfork, redis]) {
      const conn = await RawConnection.connect(server.port);
      expect(await conn.send('ECHO', big), `port ${server.port}`).toEqual({ t: 'error', v: 'NOAUTH Authentication required.' });
      expect(await conn.send('AUTH', 'pw')).toEqual({ t: 'simple', v: 'OK' });
      const args = Array.from({ length: 11 }, (_, i) => `k${i}`);
      expect(await conn.send('DEL', ...args)).toEqual({ t: 'int', v: 0 });
      expect(await conn.send('ECHO', big + 'y')).toEqual({ t: 'bulk', v: Buffer.from(big + 'y') });
      conn.close();
    }
  });
});
