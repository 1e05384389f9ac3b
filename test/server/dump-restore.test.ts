// DUMP and RESTORE against the real redis-server 7.0.15: DUMP payloads byte for byte where the
// encoding fixes the element order, payloads crossing between the two servers in both directions
// (same DEBUG DIGEST-VALUE and OBJECT ENCODING), RESTORE's options, errors and TTL rules.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis } from '../helpers/servers';

let servers: BothServers;
let k: RawConnection;
let r: RawConnection;

const str = (x: Reply): string => {
  if (x.t === 'simple' || x.t === 'error') return x.v;
  if (x.t === 'bulk') return x.v === null ? '(nil)' : x.v.toString('latin1');
  if (x.t === 'int') return String(x.v);
  return JSON.stringify(x);
};

async function payload(conn: RawConnection, key: string): Promise<Buffer> {
  const reply = await conn.send('DUMP', key);
  if (reply.t !== 'bulk' || reply.v === null) throw new Error(`DUMP ${key}: ${str(reply)}`);
  return reply.v;
}

/** Keys of every type and encoding, created the same way on a connection. */
function values(): Array<{ key: string; create: Arg[][]; ordered: boolean }> {
  const range = (n: number, f: (i: number) => string[]) => Array.from({ length: n }, (_, i) => f(i)).flat();
  return [
    { key: 's:int', create: [['SET', 's:int', '12345']], ordered: true },
    { key: 's:bigint', create: [['SET', 's:bigint', '123456789012']], ordered: true },
    { key: 's:emb', create: [['SET', 's:emb', 'hello world']], ordered: true },
    { key: 's:lzf', create: [['SET', 's:lzf', 'abcdefghij'.repeat(10)]], ordered: true },
    { key: 's:bin', create: [['SET', 's:bin', Buffer.from([0, 255, 13, 10, 7])]], ordered: true },
    { key: 'l:small', create: [['RPUSH', 'l:small', 'a', '1', '-2', '300', '70000', 'hello', '9999999999']], ordered: true },
    { key: 'l:big', create: [['RPUSH', 'l:big', ...range(2000, (i) => [`element-number-${i}`])]], ordered: true },
    { key: 'l:huge', create: [['RPUSH', 'l:huge', 'a', 'x'.repeat(10000), 'b']], ordered: true },
    { key: 'set:int', create: [['SADD', 'set:int', '5', '-3', '100000']], ordered: true },
    { key: 'set:wide', create: [['SADD', 'set:wide', '1', '5000000000'], ['SREM', 'set:wide', '5000000000']], ordered: true },
    { key: 'set:str', create: [['SADD', 'set:str', 'alpha', 'beta', 'gamma']], ordered: false },
    { key: 'set:big', create: [['SADD', 'set:big', ...range(700, (i) => [String(i)])]], ordered: false },
    { key: 'h:small', create: [['HSET', 'h:small', 'f', 'v', 'n', '7']], ordered: true },
    { key: 'h:long', create: [['HSET', 'h:long', 'f', 'v'.repeat(100)]], ordered: false },
    { key: 'h:big', create: [['HSET', 'h:big', ...range(600, (i) => [`field${i}`, `value${i}`])]], ordered: false },
    { key: 'z:small', create: [['ZADD', 'z:small', '0.1', 'b', '1.5', 'a', '3', '100', '1e300', 'big', 'inf', 'pinf']], ordered: true },
    { key: 'z:big', create: [['ZADD', 'z:big', ...range(200, (i) => [`${i}.5`, `m${i}`])]], ordered: true },
    { key: 'z:long', create: [['ZADD', 'z:long', '1', 'm'.repeat(100), '2', 'x']], ordered: true },
    { key: 'hll:sparse', create: [['PFADD', 'hll:sparse', 'a', 'b', 'c'], ['PFCOUNT', 'hll:sparse']], ordered: true },
    { key: 'hll:dense', create: [['PFADD', 'hll:dense', ...range(3000, (i) => [`e${i}`])], ['PFCOUNT', 'hll:dense']], ordered: true },
    { key: 'geo', create: [['GEOADD', 'geo', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania']], ordered: true },
    { key: 'x:small', create: [['XADD', 'x:small', '1-1', 'a', '1', 'b', 'x'], ['XADD', 'x:small', '1-2', 'a', '2', 'b', 'y'], ['XADD', 'x:small', '5-0', 'c', '3']], ordered: true },
    {
      key: 'x:big',
      create: [
        ...Array.from({ length: 300 }, (_, i): Arg[] => ['XADD', 'x:big', `${i + 1}-${i % 4}`, ...(i % 7 ? ['f', `v${i}`, 'n', String(i)] : ['other', 'x'.repeat(i)])]),
        ['XDEL', 'x:big', '5-0', '150-1', '151-2'], ['XTRIM', 'x:big', 'MAXLEN', '280'],
      ],
      ordered: true,
    },
    { key: 'x:empty', create: [['XADD', 'x:empty', '7-7', 'f', 'v'], ['XDEL', 'x:empty', '7-7']], ordered: true },
    {
      key: 'x:groups',
      create: [
        ...Array.from({ length: 6 }, (_, i): Arg[] => ['XADD', 'x:groups', `${i + 1}-0`, 'f', String(i)]),
        ['XGROUP', 'CREATE', 'x:groups', 'g', '0'], ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '2', 'STREAMS', 'x:groups', '>'],
        ['XREADGROUP', 'GROUP', 'g', 'c2', 'COUNT', '1', 'STREAMS', 'x:groups', '>'], ['XGROUP', 'CREATECONSUMER', 'x:groups', 'g', 'idle'],
        ['XGROUP', 'CREATE', 'x:groups', 'h', '$', 'ENTRIESREAD', '3'], ['XDEL', 'x:groups', '2-0'],
      ],
      // Delivery and seen times differ between the servers: payloads differ, contents do not.
      ordered: false,
    },
  ];
}

describeDifferential('DUMP / RESTORE vs redis-server 7.0', () => {
  beforeAll(async () => {
    const [keyfork, redis] = await Promise.all([startKeyfork({ args: ['--save', '', '--enable-debug-command', 'yes'] }), startRedis({ args: ['--enable-debug-command', 'yes'] })]);
    servers = { keyfork, redis };
    [k, r] = await Promise.all([RawConnection.connect(keyfork.port), RawConnection.connect(redis.port)]);
    for (const v of values()) {
      for (const c of v.create) {
        const [a, b] = await Promise.all([k.send(...c), r.send(...c)]);
        expect(a.t, `keyfork ${c[0]} ${v.key}: ${str(a)}`).not.toBe('error');
        expect(b.t).not.toBe('error');
      }
    }
  });
  afterAll(async () => {
    k?.close();
    r?.close();
    await Promise.all([servers?.keyfork.stop(), servers?.redis.stop()]);
  });

  it('DUMP payloads are byte-identical where the encoding fixes the order', async () => {
    const commands: Arg[][] = values().filter((v) => v.ordered).map((v) => ['DUMP', v.key]);
    commands.push(['DUMP', 'missing'], ['OBJECT', 'ENCODING', 'l:big'], ['OBJECT', 'ENCODING', 'z:big']);
    const mismatches = await compareSequences(commands, { servers });
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });

  it('payloads cross both ways with the same digest and encoding', async () => {
    for (const { key } of values()) {
      for (const [from, to, label] of [[r, k, 'redis -> keyfork'], [k, r, 'keyfork -> redis']] as const) {
        const p = await payload(from, key);
        const copy = `copy:${key}`;
        expect(str(await to.send('RESTORE', copy, '0', p, 'REPLACE')), `${label} ${key}`).toBe('OK');
        const [want, got] = await Promise.all([from.send('DEBUG', 'DIGEST-VALUE', key), to.send('DEBUG', 'DIGEST-VALUE', copy)]);
        expect(str(got), `${label} ${key} digest`).toBe(str(want));
        // The encoding a payload restores to, on each server (a short string made raw by
        // PFADD restores as embstr on both, for instance).
        expect(str(await from.send('RESTORE', copy, '0', p, 'REPLACE'))).toBe('OK');
        const [e1, e2] = await Promise.all([from.send('OBJECT', 'ENCODING', copy), to.send('OBJECT', 'ENCODING', copy)]);
        expect(str(e2), `${label} ${key} encoding`).toBe(str(e1));
        await Promise.all([to.send('DEL', copy), from.send('DEL', copy)]);
      }
    }
  });

  it("a stream's groups, pending entries and consumers cross both ways", async () => {
    for (const [from, to] of [[r, k], [k, r]] as const) {
      const p = await payload(from, 'x:groups');
      expect(str(await to.send('RESTORE', 'copy:x', '0', p, 'REPLACE'))).toBe('OK');
      const [want, got] = await Promise.all([from.send('XINFO', 'STREAM', 'x:groups', 'FULL'), to.send('XINFO', 'STREAM', 'copy:x', 'FULL')]);
      expect(JSON.stringify(got)).toBe(JSON.stringify(want));
      await to.send('DEL', 'copy:x');
    }
  });

  it('RESTORE options and errors match', async () => {
    const p = await payload(r, 'h:small');
    const badCrc = Buffer.from(p);
    badCrc[badCrc.length - 1] ^= 1;
    const v11 = Buffer.from(p);
    v11[v11.length - 10] = 11;
    const truncatedBody = Buffer.concat([p.subarray(0, 3), p.subarray(p.length - 10)]);
    const commands: Arg[][] = [
      ['RESTORE', 'r1', '0', p],
      ['RESTORE', 'r1', '0', p],
      ['RESTORE', 'r1', '0', p, 'REPLACE'],
      ['HGETALL', 'r1'],
      ['RESTORE', 'r2', '-1', p],
      ['RESTORE', 'r2', 'abc', p],
      ['RESTORE', 'r2', '0', badCrc],
      ['RESTORE', 'r2', '0', v11],
      ['RESTORE', 'r2', '0', 'short'],
      ['RESTORE', 'r2', '0', truncatedBody],
      ['RESTORE', 'r2', '0', p, 'BOGUS'],
      ['RESTORE', 'r2', '0', p, 'IDLETIME'],
      ['RESTORE', 'r2', '0', p, 'IDLETIME', '-1'],
      ['RESTORE', 'r2', '0', p, 'IDLETIME', 'x'],
      ['RESTORE', 'r2', '0', p, 'FREQ', '256'],
      ['RESTORE', 'r2', '0', p, 'FREQ', '-1'],
      ['RESTORE', 'r2', '0', p, 'IDLETIME', '10', 'FREQ', '5'],
      ['RESTORE', 'r2', '0', p, 'FREQ', '5', 'IDLETIME', '10'],
      ['RESTORE', 'r1', '0', p, 'BOGUS'], // syntax is checked before BUSYKEY
      ['RESTORE', 'r1', '-5', p], // BUSYKEY before the TTL
      ['EXISTS', 'r2'],
      ['RESTORE', 'r3', '0', p, 'IDLETIME', '1000'],
      ['OBJECT', 'IDLETIME', 'r3'],
      ['RESTORE', 'r4', '0', p, 'FREQ', '10', 'REPLACE', 'ABSTTL'],
      ['TTL', 'r4'],
      // A TTL in the past: nothing is created, and REPLACE deletes the old key.
      ['RESTORE', 'r5', '1', p, 'ABSTTL'],
      ['EXISTS', 'r5'],
      ['SET', 'r6', 'old'],
      ['RESTORE', 'r6', '1000', p, 'ABSTTL', 'REPLACE'],
      ['EXISTS', 'r6'],
      ['RESTORE', 'r7', '4102444800000', p, 'ABSTTL'],
      ['PEXPIRETIME', 'r7'],
      ['RESTORE', 'r8', '100000', p],
      ['TTL', 'r8'],
      ['TYPE', 'r8'],
      ['DUMP'],
      ['RESTORE', 'x', '0'],
    ];
    const mismatches = await compareSequences(commands, { servers });
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });

  it('DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 lets RESTORE take a wrong CRC64 (not a newer version); 0 checks again', async () => {
    const p = await payload(r, 'h:small');
    const badCrc = Buffer.from(p);
    badCrc[badCrc.length - 1] ^= 1;
    const v11 = Buffer.from(p);
    v11[v11.length - 10] = 11;
    const commands: Arg[][] = [
      ['DEBUG', 'SET-SKIP-CHECKSUM-VALIDATION', '1'],
      ['RESTORE', 'skip1', '0', badCrc],
      ['HGETALL', 'skip1'],
      ['RESTORE', 'skip2', '0', v11],
      ['DEBUG', 'SET-SKIP-CHECKSUM-VALIDATION', '0'],
      ['RESTORE', 'skip3', '0', badCrc],
      ['EXISTS', 'skip2', 'skip3'],
      ['DEL', 'skip1'],
    ];
    const mismatches = await compareSequences(commands, { servers });
    expect(mismatches, formatMismatches(mismatches)).toEqual([]);
  });

  it('a RESTOREd key behaves like the original (writes, encodings after conversion)', async () => {
    const mismatches: string[] = [];
    for (const { key } of values()) {
      const p = await payload(r, key);
      await Promise.all([k.send('RESTORE', `w:${key}`, '0', p), r.send('RESTORE', `w:${key}`, '0', p)]);
    }
    const seq: Arg[][] = [
      ['HSET', 'w:h:small', 'new', 'x'.repeat(80)], ['OBJECT', 'ENCODING', 'w:h:small'], ['HGET', 'w:h:small', 'n'],
      ['SADD', 'w:set:int', 'str'], ['OBJECT', 'ENCODING', 'w:set:int'],
      ['ZADD', 'w:z:small', '2', 'c'], ['ZRANGE', 'w:z:small', '0', '-1', 'WITHSCORES'],
      ['LPOP', 'w:l:small'], ['RPOP', 'w:l:big'], ['LLEN', 'w:l:big'], ['LINDEX', 'w:l:huge', '1'],
      ['INCR', 'w:s:int'], ['GET', 'w:s:int'], ['APPEND', 'w:s:emb', '!'], ['STRLEN', 'w:s:lzf'],
      ['ZSCORE', 'w:z:big', 'm7'], ['ZRANK', 'w:z:big', 'm199'], ['HLEN', 'w:h:big'], ['SCARD', 'w:set:big'],
    ];
    const diffs = await compareSequences(seq, { servers });
    for (const d of diffs) mismatches.push(formatMismatches([d]));
    expect(mismatches.join('\n\n')).toBe('');
  });
});
