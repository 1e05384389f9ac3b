// Keyspace commands, differentially against the real redis-server 7.0: DEL/EXISTS/TYPE, KEYS and
// SCAN (hash order differs, so their key lists are compared sorted), RENAME/MOVE/SWAPDB/FLUSH*,
// the EXPIRE family's options and errors, TTL/EXPIRETIME, OBJECT, glob patterns, and seeded
// random sequences of valid and invalid commands.
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';



const text = (r: Reply) => (r.t === 'bulk' && r.v ? r.v.toString('latin1') : JSON.stringify(r));
const sortedArray = (items: Reply[]): Reply => ({ t: 'array', v: [...items].sort((a, b) => (text(a) < text(b) ? -1 : 1)) });

/**
 * KEYS and a complete SCAN page (cursor 0) list keys in hash order: compare them sorted. OBJECT
 * IDLETIME of a key written moments before counts whole seconds of a clock that may tick between
 * the write and the read on one server and not on the other: 0 and 1 both mean "just written".
 */
function normalize(command: Arg[], reply: Reply): Reply {
  const name = command[0].toString().toLowerCase();
  if (name === 'object' && command[1].toString().toLowerCase() === 'idletime' && reply.t === 'int' && (reply.v === 0 || reply.v === 1)) {
    return { t: 'simple', v: 'idle for less than 2 seconds' };
  }
  if (name === 'info' && reply.t === 'bulk' && reply.v) {
    const line = reply.v.toString().split('\r\n').find((l) => l.startsWith('rdb_changes_since_last_save:'));
    return { t: 'bulk', v: Buffer.from(line ?? 'missing rdb_changes_since_last_save') };
  }
  if (name === 'keys' && reply.t === 'array' && reply.v) return sortedArray(reply.v);
  if (name === 'scan' && reply.t === 'array' && reply.v && reply.v.length === 2) {
    const [cursor, keys] = reply.v;
    if (keys.t === 'array' && keys.v) return { t: 'array', v: [cursor, sortedArray(keys.v)] };
  }
  return reply;
}

let servers: BothServers;

describeDifferential('keyspace commands vs redis-server 7.0', () => {
  // Same save config on both: a FLUSHALL with save points configured also saves.
  useBothServers((s) => (servers = s), { keyfork: { args: ['--save', ''] } });

  const check = async (commands: Arg[][], resp3 = false) => {
    const mismatches = await compareSequences([['FLUSHALL'], ...commands], { servers, resp3, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('DEL, UNLINK, EXISTS, TYPE, DBSIZE, TOUCH, RANDOMKEY', async () => {
    await check([
      ['MSET', 'a', '1', 'b', '2', 'c', '3'], ['HSET', 'h', 'f', 'v'], ['DEL', 'a', 'a', 'b', 'nokey'], ['UNLINK', 'c', 'nokey'],
      ['EXISTS', 'h', 'h', 'nokey'], ['TYPE', 'h'], ['TYPE', 'nokey'], ['SET', 's', 'x'], ['TYPE', 's'], ['DBSIZE'],
      ['TOUCH', 's', 's', 'nokey'], ['DEL', 'h'], ['RANDOMKEY'], ['DEL', 's'], ['RANDOMKEY'], ['DBSIZE'],
      ['SET', 'gone', 'x', 'PXAT', '1'], ['EXISTS', 'gone'], ['TYPE', 'gone'], ['DEL', 'gone'], ['RANDOMKEY'],
    ]);
  });

  it('KEYS and SCAN with glob patterns, COUNT and TYPE', async () => {
    const names = ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h*llo', 'h?llo', 'h[a]llo', 'a\\b', 'x]', '_', 'B', 'b', 'caf\u00e9'];
    await check([
      ['MSET', ...names.flatMap((n) => [n, '1'])], ['HSET', 'hash1', 'f', 'v'],
      ...['*', 'h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo', 'h[b-a]llo', 'h\\*llo', 'h\\?llo', '[a-]x]', '[ab', '[', '\\',
        'a\\\\b', '*\\', 'B', '[A-Z]', '[^a-z]*', 'caf?', 'caf??', '*llo', '**', '?', '???', '', 'hash*', '[\\]]', 'x[]]', '[]x]'].map((p) => ['KEYS', p]),
      ['SCAN', '0', 'COUNT', '1000'], ['SCAN', '0', 'COUNT', '1000', 'MATCH', 'h*llo'], ['SCAN', '0', 'COUNT', '1000', 'TYPE', 'hash'],
      ['SCAN', '0', 'COUNT', '1000', 'TYPE', 'string', 'MATCH', 'h?llo'], ['SCAN', '0', 'COUNT', '1000', 'TYPE', 'STRING'],
      ['SCAN', '0', 'COUNT', '1000', 'TYPE', 'nosuchtype'], ['SCAN', '0', 'COUNT', '1000', 'MATCH', '*'],
      ['SCAN', '0', 'COUNT', '0'], ['SCAN', '0', 'COUNT', '-1'], ['SCAN', '0', 'COUNT', 'x'], ['SCAN', '0', 'MATCH'], ['SCAN', '0', 'TYPE'],
      ['SCAN', '0', 'FOO', 'bar'], ['SCAN', 'abc'], ['SCAN', ' 1'], ['SCAN', '1 '], ['SCAN', '0x1'], ['SCAN', '+'],
      ['SCAN', '18446744073709551616'], ['SET', 'gone', 'x', 'PXAT', '1'], ['KEYS', 'gone'], ['SCAN', '0', 'COUNT', '1000', 'MATCH', 'gon*'],
      ['EXISTS', 'gone'], ['FLUSHALL'], ['SCAN', '0'], ['SCAN', '-1'], ['SCAN', ''], ['SCAN', '+5'], ['KEYS', '*'],
    ]);
  });

  it('SCAN walks every key exactly once across pages', async () => {
    const conns = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
    try {
      const results: string[][] = [];
      for (const c of conns) {
        await c.send('FLUSHALL');
        for (let i = 0; i < 500; i++) await c.send('SET', `key:${i}`, String(i));
        const seen: string[] = [];
        let cursor = '0';
        let pages = 0;
        do {
          const reply = await c.send('SCAN', cursor, 'COUNT', '7', 'MATCH', 'key:*');
          if (reply.t !== 'array' || !reply.v) throw new Error(`bad SCAN reply ${JSON.stringify(reply)}`);
          cursor = text(reply.v[0]);
          const keys = reply.v[1];
          if (keys.t === 'array' && keys.v) seen.push(...keys.v.map(text));
          pages++;
        } while (cursor !== '0' && pages < 10_000);
        results.push([...new Set(seen)].sort());
      }
      expect(results[0].length).toBe(500);
      expect(results[0]).toEqual(results[1]);
    } finally {
      conns.forEach((c) => c.close());
    }
  });

  it('RENAME, RENAMENX, MOVE, SWAPDB, FLUSHDB, FLUSHALL', async () => {
    await check([
      ['SET', 'a', '1', 'EX', '1000'], ['RENAME', 'a', 'b'], ['TTL', 'b'], ['EXISTS', 'a'], ['RENAME', 'nokey', 'x'],
      ['RENAME', 'b', 'b'], ['RENAME', 'nokey', 'nokey'], ['SET', 'c', '2'], ['RENAMENX', 'b', 'c'], ['RENAMENX', 'b', 'b'],
      ['RENAMENX', 'nokey', 'x'], ['RENAMENX', 'b', 'd'], ['TTL', 'd'], ['HSET', 'h', 'f', 'v'], ['RENAME', 'h', 'c'], ['TYPE', 'c'],
      ['MOVE', 'd', '0'], ['MOVE', 'd', '1'], ['MOVE', 'd', '1'], ['MOVE', 'nokey', '1'], ['MOVE', 'd', '16'], ['MOVE', 'd', '-1'],
      ['MOVE', 'd', 'x'], ['MOVE', 'd', '99999999999'], ['SET', 'd', 'again'], ['MOVE', 'd', '1'],
      ['SELECT', '1'], ['GET', 'd'], ['TTL', 'd'], ['DBSIZE'], ['MOVE', 'd', '0'], ['SET', 'one', '1'],
      ['SELECT', '0'], ['SWAPDB', '0', '1'], ['GET', 'one'], ['DBSIZE'], ['SWAPDB', '0', '0'], ['SWAPDB', 'x', '1'], ['SWAPDB', '0', 'x'],
      ['SWAPDB', '0', '16'], ['SWAPDB', '-1', '0'], ['SWAPDB', '99999999999', '0'], ['SWAPDB', '1', '0'], ['GET', 'one'],
      ['FLUSHDB', 'foo'], ['FLUSHDB', 'sync', 'extra'], ['FLUSHDB', 'ASYNC'], ['DBSIZE'], ['SELECT', '1'], ['DBSIZE'],
      ['FLUSHALL', 'SYNC'], ['DBSIZE'], ['SELECT', '0'], ['FLUSHALL', 'foo'], ['FLUSHALL', 'async'], ['INFO', 'persistence'],
      ['MSET', 'a', '1', 'b', '2'], ['FLUSHALL'], ['INFO', 'persistence'], ['FLUSHALL'], ['INFO', 'persistence'],
    ]);
  });

  it('COPY of every type, with DB and REPLACE, keeping the TTL', async () => {
    await check([
      ['SET', 's', 'v', 'EX', '1000'], ['RPUSH', 'l', 'a', 'b'], ['HSET', 'h', 'f', 'v'], ['SADD', 'st', '1', '2'], ['ZADD', 'z', '1', 'm'],
      ['COPY', 's', 's2'], ['TTL', 's2'], ['GET', 's2'], ['COPY', 'l', 'l2'], ['LRANGE', 'l2', '0', '-1'], ['RPUSH', 'l2', 'c'], ['LLEN', 'l'],
      ['COPY', 'h', 'h2'], ['HGETALL', 'h2'], ['COPY', 'st', 'st2'], ['OBJECT', 'ENCODING', 'st2'], ['COPY', 'z', 'z2'], ['ZRANGE', 'z2', '0', '-1', 'WITHSCORES'],
      ['COPY', 's', 'l'], ['COPY', 's', 'l', 'REPLACE'], ['TYPE', 'l'], ['COPY', 'nokey', 'x'], ['COPY', 's', 's'], ['COPY', 's', 's', 'DB', '1'],
      ['SELECT', '1'], ['GET', 's'], ['TTL', 's'], ['SELECT', '0'], ['COPY', 's', 'x', 'DB', '16'], ['COPY', 's', 'x', 'DB', 'y'],
      ['COPY', 's', 'x', 'FOO'], ['COPY', 's', 'x', 'REPLACE', 'REPLACE'], ['INFO', 'persistence'],
    ]);
  });

  it('FLUSHALL/FLUSHDB/SWAPDB dirty only WATCHed keys that exist', async () => {
    const run = async (port: number) => {
      const [a, b] = await Promise.all([RawConnection.connect(port), RawConnection.connect(port)]);
      try {
        const out: Reply[] = [];
        const round = async (setup: Arg[][], watch: string, other: Arg[]) => {
          for (const cmd of setup) await b.send(...cmd);
          out.push(await a.send('WATCH', watch));
          out.push(await b.send(...other));
          out.push(await a.send('MULTI'), await a.send('PING'), await a.send('EXEC'));
        };
        await a.send('FLUSHALL');
        await round([], 'nokey', ['FLUSHALL']);
        await round([['SET', 'k', '1']], 'k', ['FLUSHALL']);
        await round([['SET', 'k', '1']], 'nokey', ['FLUSHDB']);
        await round([['SET', 'k', '1']], 'k', ['FLUSHDB']);
        await round([], 'nokey2', ['SWAPDB', '0', '1']);
        await round([['SELECT', '1'], ['SET', 'only1', 'x'], ['SELECT', '0']], 'only1', ['SWAPDB', '0', '1']);
        await round([], 'only1', ['SWAPDB', '0', '1']);
        return out;
      } finally {
        a.close();
        b.close();
      }
    };
    const [k, r] = await Promise.all([run(servers.keyfork.port), run(servers.redis.port)]);
    expect(k).toEqual(r);
  });

  it('EXPIRE family options and errors, TTL, PERSIST, EXPIRETIME', async () => {
    await check([
      ['SET', 'e', '1'], ['EXPIRE', 'e', '100'], ['TTL', 'e'], ['EXPIRE', 'e', '50', 'GT'], ['EXPIRE', 'e', '500', 'GT'], ['TTL', 'e'],
      ['EXPIRE', 'e', '1000', 'LT'], ['EXPIRE', 'e', '50', 'LT'], ['TTL', 'e'], ['EXPIRE', 'e', '50', 'NX'], ['EXPIRE', 'e', '60', 'XX'],
      ['EXPIRE', 'e', '50', 'NX', 'XX'], ['EXPIRE', 'e', '50', 'NX', 'GT'], ['EXPIRE', 'e', '50', 'GT', 'LT'], ['EXPIRE', 'e', '50', 'XX', 'GT'],
      ['EXPIRE', 'e', '50', 'bogus'], ['EXPIRE', 'e', 'abc'], ['EXPIRE', 'e', '1.5'],
      ['EXPIRE', 'e', '9223372036854775807'], ['EXPIRE', 'e', '-9223372036854775808'], ['PEXPIRE', 'e', '9223372036854775807'],
      ['EXPIREAT', 'e', '9223372036854775807'], ['PEXPIREAT', 'e', '9223372036854775807'], ['EXPIRE', 'e', '9223372036854775'],
      ['TTL', 'e'], ['PERSIST', 'e'], ['PERSIST', 'e'], ['TTL', 'e'], ['EXPIRE', 'e', '100', 'XX'], ['EXPIRE', 'e', '100', 'GT'],
      ['EXPIRE', 'e', '100', 'LT'], ['TTL', 'e'], ['EXPIREAT', 'e', '4000000000'], ['EXPIRETIME', 'e'], ['PEXPIRETIME', 'e'],
      ['PEXPIREAT', 'e', '4000000000123'], ['PEXPIRETIME', 'e'], ['EXPIRETIME', 'e'], ['TTL', 'nokey'], ['PTTL', 'nokey'],
      ['EXPIRETIME', 'nokey'], ['PEXPIRETIME', 'nokey'], ['SET', 'p', '1'], ['TTL', 'p'], ['PTTL', 'p'], ['EXPIRETIME', 'p'],
      ['EXPIRE', 'nokey', '10'], ['PERSIST', 'nokey'], ['EXPIRE', 'e', '-1'], ['EXISTS', 'e'], ['SET', 'e', '1'], ['EXPIRE', 'e', '0'],
      ['EXISTS', 'e'], ['SET', 'e', '1'], ['PEXPIREAT', 'e', '1'], ['EXISTS', 'e'], ['SET', 'e', '1'], ['EXPIREAT', 'e', '1', 'NX'],
      ['EXISTS', 'e'], ['SET', 'e', '1', 'EX', '100'], ['EXPIRE', 'e', '-5', 'LT'], ['EXISTS', 'e'], ['SET', 'e', '1'],
      ['EXPIRE', 'e', '-5', 'LT'], ['EXISTS', 'e'], ['SET', 'e', '1'], ['EXPIRE', 'e', '-5', 'GT'], ['EXISTS', 'e'],
    ]);
  });

  it('OBJECT ENCODING, REFCOUNT, IDLETIME, FREQ', async () => {
    await check([
      ['SET', 'i', '123'], ['SET', 'big', '12345'], ['SET', 'neg', '-1'], ['SET', 'e', 'abc'], ['SET', 'r', 'x'.repeat(100)],
      ['OBJECT', 'ENCODING', 'i'], ['OBJECT', 'ENCODING', 'e'], ['OBJECT', 'ENCODING', 'r'], ['OBJECT', 'ENCODING', 'nokey'],
      ['OBJECT', 'REFCOUNT', 'i'], ['OBJECT', 'REFCOUNT', 'big'], ['OBJECT', 'REFCOUNT', 'neg'], ['OBJECT', 'REFCOUNT', 'e'],
      ['OBJECT', 'REFCOUNT', 'nokey'], ['INCR', 'i'], ['OBJECT', 'REFCOUNT', 'i'], ['SET', 'c', '9999'], ['INCR', 'c'],
      ['OBJECT', 'REFCOUNT', 'c'], ['OBJECT', 'IDLETIME', 'e'], ['OBJECT', 'IDLETIME', 'nokey'], ['OBJECT', 'FREQ', 'e'],
      ['OBJECT', 'FREQ', 'nokey'], ['HSET', 'h', 'f', 'v'], ['OBJECT', 'ENCODING', 'h'], ['OBJECT', 'REFCOUNT', 'h'],
    ]);
  });

  it('random sequences of keyspace commands (valid and invalid)', async () => {
    const r = rng(424242);
    const keys = ['k1', 'k2', 'k3', 'h1', 'nokey'];
    const times = ['0', '1', '-1', '100', '5000', '9223372036854775807', 'x', '1.5'];
    const opts = [[], ['NX'], ['XX'], ['GT'], ['LT'], ['NX', 'XX'], ['GT', 'LT'], ['FOO']];
    const gens: Array<() => Arg[]> = [
      () => ['SET', pick(r, keys), pick(r, ['1', 'v', '10000'])],
      () => ['SET', pick(r, keys), 'v', 'EX', pick(r, ['100', '1000'])],
      () => ['HSET', 'h1', 'f', 'v'],
      () => ['DEL', pick(r, keys), pick(r, keys)],
      () => ['EXISTS', pick(r, keys), pick(r, keys)],
      () => ['TYPE', pick(r, keys)],
      () => [pick(r, ['EXPIRE', 'PEXPIRE']), pick(r, keys), pick(r, ['100', '1000000', '5000']), ...pick(r, opts)],
      () => [pick(r, ['EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT']), pick(r, keys), pick(r, times), ...pick(r, opts)],
      () => ['TTL', pick(r, keys)],
      () => ['EXPIRETIME', pick(r, keys)],
      () => ['PERSIST', pick(r, keys)],
      () => [pick(r, ['RENAME', 'RENAMENX']), pick(r, keys), pick(r, keys)],
      () => ['MOVE', pick(r, keys), pick(r, ['0', '1', '16', 'x'])],
      () => ['KEYS', pick(r, ['*', 'k?', 'k[12]', 'h*', '[^k]*', 'nokey'])],
      () => ['SCAN', '0', 'COUNT', '100', ...pick(r, [[], ['MATCH', 'k*'], ['TYPE', 'hash'], ['TYPE', 'string', 'MATCH', '*1']])],
      () => ['DBSIZE'],
      () => ['TOUCH', pick(r, keys)],
      () => ['OBJECT', pick(r, ['ENCODING', 'REFCOUNT']), pick(r, keys)],
      () => ['SWAPDB', pick(r, ['0', '1']), pick(r, ['0', '1', '16'])],
      () => ['FLUSHDB'],
    ];
    for (let round = 0; round < 6; round++) {
      const commands: Arg[][] = [];
      for (let i = 0; i < 250; i++) commands.push(pick(r, gens)());
      commands.push(['KEYS', '*'], ['SELECT', '1'], ['KEYS', '*'], ['FLUSHDB'], ['SELECT', '0'], ['INFO', 'persistence']);
      await check(commands);
    }
  });
});
