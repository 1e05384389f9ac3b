// Set commands, differentially against the real redis-server 7.0: fixed edge cases, then seeded
// random sequences of valid and invalid commands. Replies that come from intset-encoded sets
// must match Redis's ascending order exactly; those involving hashtable sets are compared
// unordered.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, expectSameRepliesAndCounters, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';



const text = (r: Reply): string => (r.t === 'bulk' && r.v ? r.v.toString('latin1') : JSON.stringify(r));

function sortReply(reply: Reply): Reply {
  const by = (a: Reply, b: Reply) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0);
  if (reply.t === 'array' && reply.v) return { t: 'array', v: [...reply.v].sort(by) };
  if (reply.t === 'set') return { t: 'set', v: [...reply.v].sort(by) };
  return reply;
}

/** Commands whose aggregate reply follows set order (hash order for a hashtable). */
const SET_ORDER = new Set(['smembers', 'sunion', 'sinter', 'sdiff', 'srandmember', 'spop']);
/** Sort when every set involved may be a hashtable: here, any key argument starting with m or d. */
const defaultUnordered = (k: string) => /^[md]/.test(k);
let unorderedKey = defaultUnordered;

function normalize(command: Arg[], reply: Reply): Reply {
  const name = command[0].toString().toLowerCase();
  if (!SET_ORDER.has(name)) return reply;
  if (command.slice(1).some((a) => unorderedKey(a.toString()))) return sortReply(reply);
  return reply;
}

let servers: BothServers;



describeDifferential('sets vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  // Replies must match one by one, and so must the changes counted for persistence (dirty)
  // and the keyspace hits/misses the commands caused.
  const check = (commands: Arg[][], resp3 = false) => expectSameRepliesAndCounters(servers, commands, { resp3, normalize });

  it('basic replies, missing keys and wrong types', async () => {
    await check([
      ['SADD', 'i', '5', '3', '-1', '3', '100'], ['SMEMBERS', 'i'], ['SCARD', 'i'],
      ['SISMEMBER', 'i', '3'], ['SISMEMBER', 'i', '03'], ['SISMEMBER', 'i', 'x'], ['SISMEMBER', 'nokey', '3'],
      ['SMISMEMBER', 'i', '3', '4', '5', 'x'], ['SMISMEMBER', 'nokey', 'a', 'b'],
      ['SREM', 'i', '3', '3', '7', 'x'], ['SREM', 'nokey', 'a'], ['SMEMBERS', 'i'],
      ['SREM', 'i', '5', '-1', '100'], ['EXISTS', 'i'], ['SMEMBERS', 'nokey'], ['SCARD', 'nokey'],
      ['SADD', 'm1', 'b', 'a', ''], ['SMEMBERS', 'm1'],
      ['SADD', 'bin', Buffer.from([0, 255, 13, 10])], ['SISMEMBER', 'bin', Buffer.from([0, 255, 13, 10])],
      ['SET', 'str', 'x'],
      ...['SADD', 'SREM', 'SMEMBERS', 'SISMEMBER', 'SMISMEMBER', 'SCARD', 'SPOP', 'SRANDMEMBER', 'SINTER', 'SUNION', 'SDIFF'].map((c) => [c, 'str', 'a']),
      ['SPOP', 'str'], ['SRANDMEMBER', 'str'], ['SSCAN', 'str', '0'], ['SINTERCARD', '1', 'str'],
      ['SINTER', 'nokey', 'str'], ['SUNION', 'nokey', 'str'], ['SDIFF', 'nokey', 'str'], ['SDIFF', 'str', 'nokey'],
      ['SINTERSTORE', 'dst', 'str'], ['SUNIONSTORE', 'dst', 'str'], ['SDIFFSTORE', 'dst', 'nokey', 'str'],
      ['SUNIONSTORE', 'str', 'm1'], ['TYPE', 'str'], ['SCARD', 'str'],
    ]);
  });

  it('SMOVE', async () => {
    await check([
      ['SADD', 'a', '1', '2', '3'], ['SADD', 'm', 'x', 'y'], ['SET', 'str', 'v'],
      ['SMOVE', 'a', 'b', '1'], ['SMEMBERS', 'b'], ['OBJECT', 'ENCODING', 'b'],
      ['SMOVE', 'm', 'c', 'x'], ['OBJECT', 'ENCODING', 'c'],
      ['SMOVE', 'a', 'b', '9'], ['SMOVE', 'nokey', 'b', '1'], ['SMOVE', 'nokey', 'str', '1'],
      ['SMOVE', 'a', 'str', '2'], ['SMOVE', 'str', 'a', '2'], ['SMOVE', 'a', 'a', '2'], ['SMOVE', 'a', 'a', '9'],
      ['SMOVE', 'a', 'm', '2'], ['SMEMBERS', 'a'], ['SMOVE', 'a', 'b', '3'], ['EXISTS', 'a'], ['SMEMBERS', 'b'],
      ['SADD', 'b', '7'], ['SADD', 'e', '7'], ['SMOVE', 'e', 'b', '7'], ['EXISTS', 'e'], ['SMEMBERS', 'b'],
      ['SMOVE', 'm', 'b', 'y'], ['OBJECT', 'ENCODING', 'b'], ['SMEMBERS', 'm'],
    ]);
  });

  it('algebra: SINTER, SINTERCARD, SUNION, SDIFF and their STORE forms', async () => {
    await check([
      ['SADD', 's1', '5', '3', '1', '9'], ['SADD', 's2', '3', '5', '1', '7', '11'], ['SADD', 's3', '1', '3', '5'],
      ['SADD', 'm1', 'x', '3', '5', '1'], ['SET', 'str', 'v'],
      ['SINTER', 's1', 's2'], ['SINTER', 's2', 's1', 's3'], ['SINTER', 's1'], ['SINTER', 's1', 's1'], ['SINTER', 's1', 'nokey'],
      ['SINTER', 's2', 'm1'], ['SINTER', 'nokey'],
      ['SUNION', 's1', 's2'], ['SUNION', 's1', 'nokey', 's3'], ['SUNION', 'nokey'], ['SUNION', 'm1', 's1'],
      ['SDIFF', 's2', 's1'], ['SDIFF', 's1', 's1'], ['SDIFF', 's1', 's2', 's1'], ['SDIFF', 'nokey', 's1'], ['SDIFF', 's1', 'nokey'],
      ['SDIFF', 'm1', 's1'], ['SDIFF', 's1', 'm1'],
      ['SINTERCARD', '2', 's1', 's2'], ['SINTERCARD', '2', 's1', 's2', 'LIMIT', '2'], ['SINTERCARD', '2', 's1', 's2', 'limit', '0'],
      ['SINTERCARD', '1', 's1', 'LIMIT', '100'], ['SINTERCARD', '2', 's1', 'nokey'], ['SINTERCARD', '1', 'nokey'],
      ['SINTERCARD', '0', 's1'], ['SINTERCARD', '-1', 's1'], ['SINTERCARD', 'x', 's1'], ['SINTERCARD', '3', 's1', 's2'],
      ['SINTERCARD', '1', 's1', 'LIMIT', '-1'], ['SINTERCARD', '1', 's1', 'LIMIT', 'x'], ['SINTERCARD', '1', 's1', 'LIMIT'],
      ['SINTERCARD', '1', 's1', 'FOO', '1'], ['SINTERCARD', '2', 's1', 'str'], ['SINTERCARD', '1', 's1', 'LIMIT', '1', 'LIMIT', '3'],
      ['SINTERSTORE', 'd1', 's1', 's2'], ['SMEMBERS', 'd1'], ['OBJECT', 'ENCODING', 'd1'],
      ['SINTERSTORE', 'd1', 's1', 'nokey'], ['EXISTS', 'd1'],
      ['SET', 'd2', 'old'], ['EXPIRE', 'd2', '100'], ['SUNIONSTORE', 'd2', 's1', 's3'], ['TTL', 'd2'], ['OBJECT', 'ENCODING', 'd2'], ['SMEMBERS', 'd2'],
      ['SUNIONSTORE', 'd3', 'm1', 's1'], ['OBJECT', 'ENCODING', 'd3'],
      ['SDIFFSTORE', 'd4', 's2', 's1'], ['SMEMBERS', 'd4'], ['OBJECT', 'ENCODING', 'd4'],
      ['SDIFFSTORE', 'd4', 's1', 's1'], ['EXISTS', 'd4'], ['SDIFFSTORE', 'd4', 'nokey'], ['SUNIONSTORE', 'd4', 'nokey'],
      ['SUNIONSTORE', 's1', 's1', 's2'], ['SMEMBERS', 's1'],
      // Redis's second SDIFF algorithm (big first set, small others) leaves a hashtable result.
      ['SADD', 'alg', '1', '2', '3', '4', '5', '6', '7', '8', 'x', 'y'], ['SADD', 'bx', 'x'], ['SADD', 'cy', 'y'],
      ['SDIFFSTORE', 'd5', 'alg', 'bx', 'cy'], ['OBJECT', 'ENCODING', 'd5'],
      ['SDIFFSTORE', 'd6', 'alg', 'bx'], ['OBJECT', 'ENCODING', 'd6'],
      ['SADD', 'ints', '1', '2', '3', '4', '5', '6', '7', '8'], ['SADD', 'b1', '1'], ['SADD', 'c2', '2'],
      ['SDIFFSTORE', 'd7', 'ints', 'b1', 'c2'], ['OBJECT', 'ENCODING', 'd7'], ['SDIFF', 'ints', 'b1', 'c2'],
    ]);
  });

  it('encodings: intset thresholds, string2ll members, one-way conversion', async () => {
    const ints = Array.from({ length: 513 }, (_, i) => String(i * 7 - 1000));
    await check([
      ['SADD', 'a', ...ints.slice(0, 512)], ['OBJECT', 'ENCODING', 'a'], ['SRANDMEMBER', 'a', '1000'], ['SSCAN', 'a', '0'],
      ['SADD', 'a', ints[512]], ['OBJECT', 'ENCODING', 'a'], ['SREM', 'a', ...ints.slice(0, 500)], ['OBJECT', 'ENCODING', 'a'],
      ...['07', '+1', '-0', ' 1', '1.0', '9223372036854775808', 'x'].flatMap((m, i) => [['SADD', `n${i}`, m], ['OBJECT', 'ENCODING', `n${i}`]]),
      ['SADD', 'w', '1', '70000', '-9223372036854775808', '9223372036854775807', '-32768', '32767'], ['SMEMBERS', 'w'], ['OBJECT', 'ENCODING', 'w'],
      ['SADD', 'c', '1', '2'], ['SADD', 'c', 'x'], ['SREM', 'c', 'x'], ['OBJECT', 'ENCODING', 'c'],
      ['CONFIG', 'SET', 'set-max-intset-entries', '2'],
      ['SADD', 'e', '1', '2'], ['OBJECT', 'ENCODING', 'e'], ['SADD', 'e', '3'], ['OBJECT', 'ENCODING', 'e'],
      ['SADD', 'f', '1', '2', '3'], ['SADD', 'g', '3', '4'], ['SUNIONSTORE', 'h', 'f', 'g'], ['OBJECT', 'ENCODING', 'h'],
      ['SINTERSTORE', 'h2', 'g', 'g'], ['OBJECT', 'ENCODING', 'h2'],
      ['CONFIG', 'SET', 'set-max-intset-entries', '0'], ['SADD', 'z', '1'], ['OBJECT', 'ENCODING', 'z'],
      ['CONFIG', 'SET', 'set-max-intset-entries', '512'],
    ]);
  });

  it('SPOP and SRANDMEMBER arguments and whole-set replies', async () => {
    const cmds: Arg[][] = [
      ['SADD', 's', '9', '2', '5'],
      ['SRANDMEMBER', 's', '3'], ['SRANDMEMBER', 's', '100'], ['SRANDMEMBER', 's', '0'], ['SRANDMEMBER', 's', '-0'],
      ['SRANDMEMBER', 'nokey'], ['SRANDMEMBER', 'nokey', '5'], ['SRANDMEMBER', 'nokey', '-5'], ['SRANDMEMBER', 's', 'x'],
      ['SRANDMEMBER', 's', '1', '2'], ['SRANDMEMBER', 's', '-9223372036854775808'], ['SRANDMEMBER', 'nokey', 'x'],
      ['SPOP', 'nokey'], ['SPOP', 'nokey', '3'], ['SPOP', 'nokey', '0'], ['SPOP', 'nokey', '-1'], ['SPOP', 'nokey', 'x'],
      ['SPOP', 's', '-1'], ['SPOP', 's', 'x'], ['SPOP', 's', '1', '2'], ['SPOP', 's', '0'], ['SCARD', 's'],
      ['SPOP', 's', '3'], ['EXISTS', 's'],
      ['SADD', 't', '4', '1'], ['SPOP', 't', '9223372036854775807'], ['EXISTS', 't'],
      ['SADD', 'u', '42'], ['SPOP', 'u'], ['EXISTS', 'u'], ['SADD', 'u', 'only'], ['SRANDMEMBER', 'u'], ['SRANDMEMBER', 'u', '-3'],
    ];
    await check(cmds);
    await check(cmds, true);
  });

  it('SPOP and SRANDMEMBER sampling properties', async () => {
    const conn = await RawConnection.connect(servers.keyfork.port);
    try {
      await conn.send('FLUSHALL');
      const members = Array.from({ length: 40 }, (_, i) => String(i));
      const names = (r: Reply) => ((r as { v: Reply[] }).v ?? []).map(text);
      for (const key of ['ints', 'mixed']) {
        await conn.send('SADD', key, ...members, ...(key === 'mixed' ? ['x'] : []));
        const size = key === 'mixed' ? 41 : 40;
        for (const count of [1, 2, 10, 13, 30, 39]) {
          const got = names(await conn.send('SRANDMEMBER', key, String(count)));
          expect(got.length).toBe(count);
          expect(new Set(got).size).toBe(count);
        }
        const rep = names(await conn.send('SRANDMEMBER', key, '-500'));
        expect(rep.length).toBe(500);
        expect(new Set(rep).size).toBeLessThanOrEqual(size);
        for (const m of rep) expect(m === 'x' || members.includes(m)).toBe(true);
        const huge = await conn.send('SRANDMEMBER', key, '-9223372036854775807');
        expect(huge).toEqual({ t: 'error', v: 'ERR value is out of range' });
        // SPOP removes exactly what it returns.
        const popped = [...names(await conn.send('SPOP', key, '7')), text(await conn.send('SPOP', key))];
        expect(new Set(popped).size).toBe(8);
        const rest = names(await conn.send('SMEMBERS', key));
        expect(rest.length).toBe(size - 8);
        expect([...rest, ...popped].sort()).toEqual([...members, ...(key === 'mixed' ? ['x'] : [])].sort());
        const more = names(await conn.send('SPOP', key, '25'));
        expect(new Set(more).size).toBe(25);
        expect((await conn.send('SCARD', key))).toEqual({ t: 'int', v: size - 33 });
      }
    } finally {
      conn.close();
    }
  });

  it('SSCAN: intset in one call, argument errors', async () => {
    await check([
      ['SADD', 's', '30', '10', '20', '11'], ['SADD', 'm', 'b', 'a'],
      ['SSCAN', 's', '0'], ['SSCAN', 's', '77', 'COUNT', '1'], ['SSCAN', 's', '0', 'MATCH', '1*'], ['SSCAN', 's', '0', 'MATCH', '[23]0'],
      ['SSCAN', 's', ''], ['SSCAN', 's', '-1'], ['SSCAN', 's', ' 1'], ['SSCAN', 's', 'x'], ['SSCAN', 's', '18446744073709551616'],
      ['SSCAN', 's', '0', 'COUNT', '0'], ['SSCAN', 's', '0', 'COUNT', 'x'], ['SSCAN', 's', '0', 'MATCH'], ['SSCAN', 's', '0', 'NOPE', '1'],
      ['SSCAN', 'nokey', '0'], ['SSCAN', 'nokey', '0', 'NOPE'], ['SSCAN', 'nokey', 'x'],
    ]);
  });

  it('SSCAN of a hashtable visits every member', async () => {
    const conn = await RawConnection.connect(servers.keyfork.port);
    try {
      await conn.send('FLUSHALL');
      const members = Array.from({ length: 1500 }, (_, i) => `m:${i}`);
      await conn.send('SADD', 'big', ...members);
      for (const [match, expected] of [[null, members], ['m:1?', members.filter((m) => /^m:1.$/.test(m))]] as const) {
        const seen = new Set<string>();
        let cursor = '0';
        let calls = 0;
        do {
          const args: Arg[] = ['SSCAN', 'big', cursor, 'COUNT', '40'];
          if (match) args.push('MATCH', match);
          const r = (await conn.send(...args)) as { v: Reply[] };
          cursor = text(r.v[0]);
          for (const m of (r.v[1] as { v: Reply[] }).v) seen.add(text(m));
          calls++;
        } while (cursor !== '0' && calls < 10_000);
        expect(cursor).toBe('0');
        expect(calls).toBeGreaterThan(1);
        expect([...seen].sort()).toEqual([...expected].sort());
      }
    } finally {
      conn.close();
    }
  });

  it('RESP3 reply types', async () => {
    await check([
      ['SADD', 's', '2', '1'], ['SADD', 'm1', 'x'], ['SMEMBERS', 's'], ['SMEMBERS', 'nokey'], ['SINTER', 's', 'nokey'], ['SUNION', 's', 'm1'],
      ['SDIFF', 's'], ['SMISMEMBER', 's', '1', '3'], ['SISMEMBER', 's', '1'], ['SRANDMEMBER', 'nokey'], ['SPOP', 'nokey'],
      ['SPOP', 'nokey', '2'], ['SSCAN', 's', '0'], ['SINTERCARD', '1', 's'],
    ], true);
  });

  for (const seed of [11, 12, 13, 14, 15, 16]) {
    it(`random command sequence (seed ${seed})`, async () => {
      const r = rng(seed);
      const lowLimit = seed % 2 === 0;
      // With a lowered set-max-intset-entries any set may be a hashtable: compare all unordered.
      unorderedKey = lowLimit ? () => true : defaultUnordered;
      const intKeys = ['i1', 'i2', 'i3'];
      const mixedKeys = ['m1', 'm2'];
      const destKeys = ['d1', 'd2'];
      const all = [...intKeys, ...mixedKeys, ...destKeys, 'str', 'missing'];
      const ints = ['0', '1', '2', '3', '5', '8', '-1', '100', '70000', '-9223372036854775808', '9223372036854775807'];
      const others = ['a', 'b', '', '07', '+1', '1.0', 'x y'];
      const memberFor = (key: string) => (/^m/.test(key) && r() < 0.5 ? pick(r, others) : pick(r, ints));
      const some = (n: number, f: () => string) => Array.from({ length: n }, f);
      const keysFrom = (pool: string[]) => some(1 + Math.floor(r() * 3), () => pick(r, pool));
      const cmds: Arg[][] = [['SET', 'str', 'text']];
      if (lowLimit) cmds.push(['CONFIG', 'SET', 'set-max-intset-entries', '4']);
      for (let i = 0; i < 300; i++) {
        const key = pick(r, all);
        const n = 1 + Math.floor(r() * 3);
        switch (Math.floor(r() * 22)) {
          case 0: case 1: case 2: {
            const k = pick(r, [...intKeys, ...mixedKeys, 'str']);
            cmds.push(['SADD', k, ...some(n, () => memberFor(k))]);
            break;
          }
          case 3: cmds.push(['SREM', key, ...some(n, () => memberFor('m'))]); break;
          case 4: cmds.push(['SMEMBERS', key]); break;
          case 5: cmds.push(['SISMEMBER', key, memberFor('m')]); break;
          case 6: cmds.push(['SMISMEMBER', key, ...some(n, () => memberFor('m'))]); break;
          case 7: cmds.push(['SCARD', key]); break;
          case 8: cmds.push(['SRANDMEMBER', key, pick(r, ['100', '0', '-0', 'x'])]); break;
          case 9: if (r() < 0.2) cmds.push(['SPOP', key, pick(r, ['100', '0', '-2'])]); break;
          case 10: {
            // Into an int-only key only integers go, so that key stays an intset.
            const src = pick(r, all);
            const dst = pick(r, all);
            cmds.push(['SMOVE', src, dst, intKeys.includes(dst) || intKeys.includes(src) ? pick(r, ints) : memberFor('m')]);
            break;
          }
          case 11: cmds.push(['SINTER', ...keysFrom(all)]); break;
          case 12: cmds.push(['SUNION', ...keysFrom(all)]); break;
          case 13: cmds.push(['SDIFF', ...keysFrom(all)]); break;
          case 14: {
            const ks = keysFrom(all);
            const extra = pick(r, [[], ['LIMIT', '1'], ['LIMIT', '0'], ['LIMIT', '2'], ['LIMIT', '-1']]);
            cmds.push(['SINTERCARD', pick(r, [String(ks.length), String(ks.length), '0', String(ks.length + 1)]), ...ks, ...extra]);
            break;
          }
          case 15: cmds.push([pick(r, ['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), pick(r, destKeys), ...keysFrom(all)]); break;
          case 16: cmds.push(['OBJECT', 'ENCODING', key]); break;
          case 17: if (!unorderedKey(key)) cmds.push(['SSCAN', key, '0', ...(r() < 0.5 ? ['MATCH', pick(r, ['*', '1*', '-*', '?'])] : [])]); break;
          case 18: cmds.push(['EXISTS', key]); break;
          case 19: cmds.push(['SRANDMEMBER', pick(r, ['nokey', 'str'])]); break;
          default: cmds.push(['SMEMBERS', key]);
        }
      }
      cmds.push(['CONFIG', 'SET', 'set-max-intset-entries', '512']);
      try {
        await check(cmds);
      } finally {
        unorderedKey = defaultUnordered;
      }
    });
  }
});
