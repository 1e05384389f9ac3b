// List commands, differentially against the real redis-server 7.0: fixed edge cases (valid and
// invalid arguments, wrong types, RESP2 and RESP3 reply shapes), lists spanning many internal
// chunks, then seeded random sequences. Besides every reply, the changes counted for persistence
// (dirty) and the keyspace hits/misses must move exactly as Redis's do. The blocking forms are
// covered here when they can answer at once; lists-blocking.test.ts parks real clients.
import { it } from 'vitest';
import { describeDifferential, type BothServers, expectSameRepliesAndCounters, useBothServers } from '../helpers/diff';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';


const words = (s: string): string[] => s.split(' ');

let servers: BothServers;


describeDifferential('lists vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  // Replies must match one by one, and so must the changes counted for persistence (dirty)
  // and the keyspace hits/misses the commands caused.
  const check = (commands: Arg[][], resp3 = false) => expectSameRepliesAndCounters(servers, commands, { resp3 });
  const bothProtocols = async (commands: Arg[][]) => {
    await check(commands);
    await check(commands, true);
  };

  it('pushes and pops: X forms, counts, nulls, the count errors and arity', async () => {
    await bothProtocols([
      ['LPUSH', 'l', 'a', 'b', 'c'], ['RPUSH', 'l', 'd', 'e'], ['LPUSHX', 'nokey', 'a'], ['RPUSHX', 'nokey', 'a', 'b'],
      ['LPUSHX', 'l', 'x', 'y'], ['RPUSHX', 'l', 'z'], ['LRANGE', 'l', '0', '-1'], ['EXISTS', 'nokey'],
      ['LPOP', 'l'], ['RPOP', 'l'], ['LPOP', 'l', '2'], ['RPOP', 'l', '2'], ['LPOP', 'l', '0'], ['RPOP', 'l', '0'],
      ['LPOP', 'nokey'], ['RPOP', 'nokey'], ['LPOP', 'nokey', '1'], ['RPOP', 'nokey', '0'], ['LPOP', 'nokey', '-1'],
      ['LPOP', 'l', '-1'], ['RPOP', 'l', 'abc'], ['LPOP', 'l', '1.5'], ['LPOP', 'l', '9223372036854775807'],
      ['LPOP', 'l', '9223372036854775808'], ['LPOP', 'l', '1', '2'], ['RPOP', 'l', '1', '2', '3'],
      ['RPUSH', 'l', '1', '2', '3'], ['RPOP', 'l', '100'], ['EXISTS', 'l'], ['LPOP', 'l'], ['LPOP', 'l', '1'],
      ['RPUSH', 'one', 'x'], ['LPOP', 'one'], ['EXISTS', 'one'],
      ['SET', 's', 'str'], ['LPUSH', 's', 'a'], ['RPUSHX', 's', 'a'], ['LPOP', 's'], ['RPOP', 's', '0'], ['LPOP', 's', '-1'],
      ['LLEN', 's'], ['TYPE', 's'], ['GET', 's'],
      ['RPUSH', 'e', ''], ['LRANGE', 'e', '0', '-1'], ['RPUSH', 'bin', Buffer.from([0, 255, 13, 10, 0])], ['LPOP', 'bin'],
    ]);
  });

  it('LLEN LINDEX LRANGE LSET with every index form and error order', async () => {
    await bothProtocols([
      ['RPUSH', 'l', 'a', 'b', 'c', 'd', 'e'], ['SET', 's', 'x'],
      ['LLEN', 'l'], ['LLEN', 'nokey'], ['LLEN', 's'],
      ...['0', '4', '5', '-1', '-5', '-6', '9223372036854775807', '-9223372036854775808'].map((i) => ['LINDEX', 'l', i]),
      ['LINDEX', 'l', 'abc'], ['LINDEX', 'nokey', 'abc'], ['LINDEX', 's', '0'], ['LINDEX', 's', 'abc'], ['LINDEX', 'l', ' 1'],
      ...['0 -1', '1 2', '-2 -1', '-100 100', '3 1', '5 10', '-1 -2', '0 0', '-9223372036854775808 9223372036854775807', '4 4', '-5 0']
        .map((s) => ['LRANGE', 'l', ...words(s)]),
      ['LRANGE', 'l', 'a', '1'], ['LRANGE', 'l', '0', 'b'], ['LRANGE', 'nokey', '0', '-1'], ['LRANGE', 'nokey', 'a', 'b'],
      ['LRANGE', 's', '0', '-1'], ['LRANGE', 's', 'x', '1'],
      ['LSET', 'l', '0', 'A'], ['LSET', 'l', '-1', 'E'], ['LSET', 'l', '2', ''], ['LSET', 'l', '5', 'x'], ['LSET', 'l', '-6', 'x'],
      ['LSET', 'l', 'abc', 'x'], ['LSET', 'nokey', '0', 'x'], ['LSET', 'nokey', 'abc', 'x'], ['LSET', 's', '0', 'x'],
      ['LSET', 'l', '1', 'x'.repeat(5000)], ['LRANGE', 'l', '0', '-1'], ['EXISTS', 'nokey'],
    ]);
  });

  it('LINSERT LREM LTRIM: found and missing pivots, counts in both directions, every trim shape', async () => {
    const list = ['RPUSH', 'l', 'a', 'b', 'a', 'c', 'a', 'b', 'a'];
    const cmds: Arg[][] = [
      list, ['SET', 's', 'x'],
      ['LINSERT', 'l', 'BEFORE', 'a', 'X'], ['LINSERT', 'l', 'after', 'a', 'Y'], ['LINSERT', 'l', 'AFTER', 'b', 'Z'],
      ['LINSERT', 'l', 'before', 'nope', 'X'], ['LINSERT', 'l', 'middle', 'a', 'X'], ['LINSERT', 'nokey', 'BEFORE', 'a', 'X'],
      ['LINSERT', 'nokey', 'FOO', 'a', 'X'], ['LINSERT', 's', 'BEFORE', 'a', 'X'], ['LINSERT', 's', 'FOO', 'a', 'X'],
      ['LRANGE', 'l', '0', '-1'], ['EXISTS', 'nokey'],
    ];
    for (const count of ['0', '1', '2', '-1', '-2', '100', '-100']) {
      cmds.push(['DEL', 'l'], list, ['LREM', 'l', count, 'a'], ['LRANGE', 'l', '0', '-1']);
    }
    cmds.push(['LREM', 'l', '0', 'nope'], ['LREM', 'l', 'x', 'a'], ['LREM', 'nokey', '1', 'a'], ['LREM', 'nokey', 'x', 'a'], ['LREM', 's', '1', 'a'],
      ['DEL', 'l'], ['RPUSH', 'l', 'a', 'a'], ['LREM', 'l', '0', 'a'], ['EXISTS', 'l']);
    for (const range of ['0 -1', '1 -2', '2 1', '5 100', '-3 -1', '-100 1', '0 0', '100 200', '-1 0', '0 -100']) {
      cmds.push(['DEL', 'l'], list, ['LTRIM', 'l', ...words(range)], ['LRANGE', 'l', '0', '-1'], ['EXISTS', 'l']);
    }
    cmds.push(['LTRIM', 'nokey', '0', '1'], ['LTRIM', 'nokey', 'a', '1'], ['LTRIM', 'l', '0', 'x'], ['LTRIM', 's', '0', '1'], ['LTRIM', 's', 'a', '1']);
    await bothProtocols(cmds);
  });

  it('LPOS: RANK COUNT MAXLEN, their errors, missing keys with and without COUNT', async () => {
    const cmds: Arg[][] = [['RPUSH', 'l', 'a', 'x', 'a', 'b', 'a', 'c', 'a'], ['SET', 's', 'x']];
    const options = ['', 'RANK 1', 'RANK 2', 'RANK -1', 'RANK -3', 'RANK 9', 'RANK -9223372036854775808', 'COUNT 0', 'COUNT 2',
      'RANK 2 COUNT 0', 'RANK -2 COUNT 2', 'COUNT 0 MAXLEN 3', 'RANK -1 COUNT 0 MAXLEN 3', 'MAXLEN 1', 'rank 1 rank 2',
      'RANK -9223372036854775808 COUNT 1', 'RANK -9223372036854775808 COUNT 2', 'count 3 maxlen 0', 'RANK 9223372036854775807'];
    for (const o of options) {
      const opt = o === '' ? [] : words(o);
      cmds.push(['LPOS', 'l', 'a', ...opt], ['LPOS', 'l', 'zz', ...opt], ['LPOS', 'nokey', 'a', ...opt]);
    }
    for (const bad of ['RANK 0', 'RANK x', 'COUNT -1', 'COUNT x', 'MAXLEN -1', 'MAXLEN x', 'RANK', 'COUNT', 'FOO 1', 'RANK 1 COUNT']) {
      cmds.push(['LPOS', 'l', 'a', ...words(bad)], ['LPOS', 'nokey', 'a', ...words(bad)]);
    }
    cmds.push(['LPOS', 's', 'a'], ['LPOS', 's', 'a', 'COUNT', '0'], ['LPOS', 's', 'a', 'RANK', '0']);
    await bothProtocols(cmds);
  });

  it('LMOVE RPOPLPUSH LMPOP: directions, same key, wrong types, numkeys and COUNT errors', async () => {
    const cmds: Arg[][] = [['RPUSH', 'src', 'a', 'b', 'c', 'd'], ['SET', 's', 'x']];
    for (const [from, to] of [['LEFT', 'RIGHT'], ['RIGHT', 'LEFT'], ['left', 'left'], ['Right', 'right']]) {
      cmds.push(['LMOVE', 'src', 'dst', from, to], ['LRANGE', 'dst', '0', '-1']);
    }
    cmds.push(
      ['LMOVE', 'src', 'src', 'LEFT', 'RIGHT'], ['LRANGE', 'src', '0', '-1'], ['LMOVE', 'dst', 'dst', 'RIGHT', 'LEFT'],
      ['LMOVE', 'nokey', 'dst', 'LEFT', 'LEFT'], ['LMOVE', 'nokey', 's', 'LEFT', 'LEFT'], ['LMOVE', 'src', 's', 'LEFT', 'LEFT'],
      ['LMOVE', 's', 'dst', 'LEFT', 'LEFT'], ['LMOVE', 'src', 'dst', 'UP', 'LEFT'], ['LMOVE', 'src', 'dst', 'LEFT', 'DOWN'],
      ['LMOVE', 'nokey', 'dst', 'UP', 'LEFT'],
      ['RPOPLPUSH', 'src', 'dst'], ['RPOPLPUSH', 'src', 'src'], ['RPOPLPUSH', 'nokey', 'dst'], ['RPOPLPUSH', 'src', 's'],
      ['RPOPLPUSH', 's', 'dst'], ['RPOPLPUSH', 'nokey', 's'],
      ['DEL', 'one'], ['RPUSH', 'one', 'x'], ['LMOVE', 'one', 'one', 'LEFT', 'RIGHT'], ['LRANGE', 'one', '0', '-1'],
      ['LMOVE', 'one', 'other', 'LEFT', 'RIGHT'], ['EXISTS', 'one'], ['LRANGE', 'other', '0', '-1'],
      ['RPUSH', 'm1', 'a', 'b', 'c'], ['RPUSH', 'm2', 'x', 'y'],
      ['LMPOP', '2', 'nokey', 'm1', 'LEFT'], ['LMPOP', '2', 'm2', 'm1', 'RIGHT', 'COUNT', '5'], ['LMPOP', '1', 'm1', 'left', 'count', '1'],
      ['LMPOP', '2', 'nokey', 'nokey2', 'LEFT'], ['LMPOP', '2', 'nokey', 's', 'LEFT'], ['LMPOP', '2', 's', 'm1', 'LEFT'],
      ['LMPOP', '0', 'm1', 'LEFT'], ['LMPOP', '-1', 'm1', 'LEFT'], ['LMPOP', 'x', 'm1', 'LEFT'], ['LMPOP', '9223372036854775807', 'm1', 'LEFT'],
      ['LMPOP', '2', 'm1', 'LEFT'], ['LMPOP', '1', 'm1', 'MIDDLE'], ['LMPOP', '1', 'm1', 'LEFT', 'COUNT', '0'],
      ['LMPOP', '1', 'm1', 'LEFT', 'COUNT', '-2'], ['LMPOP', '1', 'm1', 'LEFT', 'COUNT', 'x'], ['LMPOP', '1', 'm1', 'LEFT', 'COUNT'],
      ['LMPOP', '1', 'm1', 'LEFT', 'COUNT', '1', 'COUNT', '1'], ['LMPOP', '1', 'm1', 'LEFT', 'FOO'], ['LMPOP', '1', 'nokey', 'LEFT', 'COUNT', '0'],
      ['LMPOP', '1', 'm1', 'LEFT', 'COUNT', '9223372036854775807'], ['EXISTS', 'm1', 'm2'],
    );
    await bothProtocols(cmds);
  });

  it('blocking forms answer at once when data is there, inside MULTI when it is not, and validate timeouts', async () => {
    const cmds: Arg[][] = [
      ['RPUSH', 'a', '1', '2', '3'], ['RPUSH', 'b', 'x'], ['SET', 's', 'str'],
      ['BLPOP', 'nokey', 'a', '0'], ['BRPOP', 'nokey', 'b', 'a', '1.5'], ['EXISTS', 'b'], ['BLPOP', 's', 'a', '0'], ['BLPOP', 'a', 's', '0'],
      ['BLMOVE', 'a', 'd', 'LEFT', 'RIGHT', '0'], ['BRPOPLPUSH', 'd', 'a', '0'], ['BLMOVE', 'a', 's', 'LEFT', 'RIGHT', '0'],
      ['BLMOVE', 's', 'd', 'LEFT', 'RIGHT', '0'], ['BLMOVE', 'a', 'd', 'LEFT', 'SIDEWAYS', 'abc'],
      ['RPUSH', 'c', '1', '2', '3'], ['BLMPOP', '0', '2', 'nokey', 'c', 'RIGHT', 'COUNT', '2'], ['BLMPOP', '0.5', '1', 'c', 'LEFT'],
      ['BLMPOP', '0', '1', 's', 'LEFT'], ['BLMPOP', 'abc', '0', 'c', 'LEFT'], ['BLMPOP', 'abc', '1', 'c', 'LEFT'],
      ['BLMPOP', 'abc', '1', 'c', 'LEFT', 'COUNT', '0'], ['BLMPOP', '-1', '1', 'c', 'LEFT'], ['BLMPOP', '0', '2', 'c', 'LEFT'],
      ['MULTI'], ['BLPOP', 'nokey', '0'], ['BRPOP', 'nokey', 'nokey2', '0'], ['BLMOVE', 'nokey', 'd', 'LEFT', 'LEFT', '0'],
      ['BRPOPLPUSH', 'nokey', 'd', '0'], ['BLMPOP', '0', '1', 'nokey', 'LEFT'], ['BLPOP', 'nokey', 'abc'], ['BLPOP', 'a', '0'], ['EXEC'],
    ];
    // Timeouts are read as strtold does (hex, exponents, inf) and rounded up to milliseconds.
    for (const t of ['abc', '-1', '-0.0011', '-0.002', 'inf', '-inf', 'nan', '1e400', '1e5000', '1e-5000', '9223372036854775807', '1e16',
      ' 1', '1 ', '', '0x', '1e', '.', '1..2']) {
      cmds.push(['BLPOP', 'a', t], ['BRPOP', 'nokey', t], ['BRPOPLPUSH', 'nokey', 'd', t], ['BLMOVE', 'nokey', 'd', 'LEFT', 'LEFT', t],
        ['BLMPOP', t, '1', 'nokey', 'LEFT']);
    }
    for (const t of ['0', '0.01', '+0.01', '.01', '1.', '1e-3', '0x1p-7', '-0.0001', '-0.001', '1e15']) {
      cmds.push(['RPUSH', 'a', 'v'], ['BLPOP', 'a', t]);
    }
    await bothProtocols(cmds);
  });

  it('OBJECT ENCODING is quicklist for every list, whatever its size or settings', async () => {
    await check([
      ['RPUSH', 'l', 'a'], ['OBJECT', 'ENCODING', 'l'], ['RPUSH', 'big', 'x'.repeat(100_000)], ['OBJECT', 'ENCODING', 'big'],
      ['CONFIG', 'SET', 'list-max-listpack-size', '1'], ['RPUSH', 'l2', '1', '2', '3'], ['OBJECT', 'ENCODING', 'l2'],
      ['CONFIG', 'SET', 'list-max-listpack-size', '-2'],
    ]);
  });

  it('lists spanning many chunks: big and small elements, edits in the middle, ends and ranges', async () => {
    const r = rng(7);
    const cmds: Arg[][] = [];
    const value = () => {
      const kind = r();
      if (kind < 0.05) return 'L'.repeat(3000 + Math.floor(r() * 20000));
      if (kind < 0.25) return String(Math.floor(r() * 100000) - 50000);
      return 'v'.repeat(Math.floor(r() * 3)) + pick(r, ['a', 'b', 'c', 'd']) + 'x'.repeat(Math.floor(r() * 30));
    };
    for (let i = 0; i < 40; i++) cmds.push(['RPUSH', 'l', ...Array.from({ length: 50 }, value)], ['LPUSH', 'l', ...Array.from({ length: 30 }, value)]);
    for (let i = 0; i < 150; i++) {
      const n = 3200;
      const idx = String(Math.floor(r() * n * 1.1) - Math.floor(n * 0.05));
      switch (Math.floor(r() * 9)) {
        case 0: cmds.push(['LINDEX', 'l', idx]); break;
        case 1: cmds.push(['LSET', 'l', idx, value()]); break;
        case 2: cmds.push(['LRANGE', 'l', idx, String(Number(idx) + Math.floor(r() * 120))]); break;
        case 3: cmds.push(['LINSERT', 'l', pick(r, ['BEFORE', 'AFTER']), value(), value()]); break;
        case 4: cmds.push(['LREM', 'l', String(Math.floor(r() * 7) - 3), value()]); break;
        case 5: cmds.push(['LPOS', 'l', value(), 'RANK', pick(r, ['1', '-1', '3', '-4']), 'COUNT', pick(r, ['0', '2', '5'])]); break;
        case 6: cmds.push([pick(r, ['LPOP', 'RPOP']), 'l', String(Math.floor(r() * 40))]); break;
        case 7: cmds.push([pick(r, ['LPUSH', 'RPUSH']), 'l', value(), value()]); break;
        default: cmds.push(['LLEN', 'l']);
      }
    }
    cmds.push(['LTRIM', 'l', '100', '-100'], ['LRANGE', 'l', '0', '-1'], ['LTRIM', 'l', '7', '1500'], ['LRANGE', 'l', '0', '-1'],
      ['LRANGE', 'l', '-1000', '-1'], ['LLEN', 'l']);
    await check(cmds);
  });

  it('lists growing past one packed buffer (4 KB) and shrinking back, by every kind of edit', async () => {
    // keyfork keeps a list of up to 4 KB of entries in one exact-size buffer and a longer one in
    // chunks, packing it again at 2 KB: every edit must read the same on both sides of both limits.
    const r = rng(11);
    const cmds: Arg[][] = [];
    const value = () => pick(r, ['a', 'b', 'c']) + 'x'.repeat(Math.floor(r() * 90));
    for (let round = 0; round < 6; round++) {
      // Up past 4 KB (about 100 entries of ~50 bytes) from either end, then edits, then back down.
      for (let i = 0; i < 12; i++) cmds.push([pick(r, ['RPUSH', 'LPUSH']), 'q', ...Array.from({ length: 10 }, value)], ['LLEN', 'q']);
      cmds.push(['LSET', 'q', '0', 'x'.repeat(200)], ['LSET', 'q', '-1', 'b'], ['LINSERT', 'q', 'BEFORE', 'b', 'y'.repeat(300)]);
      cmds.push(['LRANGE', 'q', '0', '-1']);
      switch (round % 3) {
        case 0: cmds.push(['LTRIM', 'q', '3', '30']); break;
        case 1: cmds.push(['LREM', 'q', '0', 'a'], ['LREM', 'q', '-20', 'b'], ['RPOP', 'q', '40']); break;
        default: cmds.push(['LPOP', 'q', '50'], ['RPOP', 'q', '40']);
      }
      cmds.push(['LRANGE', 'q', '0', '-1'], ['LINDEX', 'q', '5'], ['LPOS', 'q', 'b', 'COUNT', '0'], ['LLEN', 'q']);
      for (let i = 0; i < 5; i++) cmds.push(['LINSERT', 'q', pick(r, ['BEFORE', 'AFTER']), 'b', value()], ['LSET', 'q', String(i), value()]);
      cmds.push(['LRANGE', 'q', '0', '-1'], ['RPOPLPUSH', 'q', 'q'], ['LMOVE', 'q', 'q2', 'LEFT', 'RIGHT'], ['LRANGE', 'q2', '0', '-1']);
    }
    // Down to nothing from a chunked list, one pop at a time.
    cmds.push(['RPUSH', 'q', ...Array.from({ length: 150 }, value)], ['LLEN', 'q']);
    for (let i = 0; i < 40; i++) cmds.push(['LPOP', 'q', '5'], ['RPOP', 'q']);
    cmds.push(['LRANGE', 'q', '0', '-1'], ['EXISTS', 'q']);
    await check(cmds);
  });

  it('random sequences over a few keys, wrong types and bad arguments included (RESP2 and RESP3)', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = rng(seed);
      const key = () => pick(r, ['k1', 'k2', 'k3', 'str', 'nokey']);
      const elem = () => pick(r, ['a', 'b', 'c', '1', '-2', '', 'a'.repeat(70), 'zz']);
      const int = () => pick(r, ['0', '1', '2', '-1', '-2', '5', '-7', '100', 'x', '1.5', '-9223372036854775808']);
      const end = () => pick(r, ['LEFT', 'RIGHT', 'left', 'right', 'UP']);
      const gens: Array<() => Arg[]> = [
        () => [pick(r, ['LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX']), key(), ...Array.from({ length: 1 + Math.floor(r() * 4) }, elem)],
        () => [pick(r, ['LPOP', 'RPOP']), key()],
        () => [pick(r, ['LPOP', 'RPOP']), key(), int()],
        () => ['LLEN', key()],
        () => ['LRANGE', key(), int(), int()],
        () => ['LINDEX', key(), int()],
        () => ['LSET', key(), int(), elem()],
        () => ['LINSERT', key(), pick(r, ['BEFORE', 'AFTER', 'after', 'NEAR']), elem(), elem()],
        () => ['LREM', key(), int(), elem()],
        () => ['LTRIM', key(), int(), int()],
        () => ['LPOS', key(), elem(), ...pick(r, [[], ['RANK', int()], ['COUNT', int()], ['MAXLEN', int()], ['RANK', int(), 'COUNT', int(), 'MAXLEN', int()]])],
        () => ['LMOVE', key(), key(), end(), end()],
        () => ['RPOPLPUSH', key(), key()],
        () => ['LMPOP', pick(r, ['1', '2', '3', '0']), key(), key(), end(), ...pick(r, [[], ['COUNT', int()]])],
        () => [pick(r, ['BLPOP', 'BRPOP']), key(), key(), '0.01'],
        () => ['BLMOVE', key(), key(), end(), end(), '0.01'],
        () => ['BLMPOP', '0.01', '2', key(), key(), end(), ...pick(r, [[], ['COUNT', int()]])],
        () => ['SET', 'str', elem()],
        () => ['DEL', key()],
        () => ['EXISTS', key()],
        () => ['TYPE', key()],
      ];
      const cmds: Arg[][] = [];
      for (let i = 0; i < 250; i++) cmds.push(pick(r, gens)());
      cmds.push(['LRANGE', 'k1', '0', '-1'], ['LRANGE', 'k2', '0', '-1'], ['LRANGE', 'k3', '0', '-1']);
      await check(cmds, seed % 2 === 0);
    }
  });

  it('WATCH sees list writes, including ones that change nothing visible', async () => {
    const watched = async (cmd: Arg[]) => {
      const cmds: Arg[][] = [['RPUSH', 'w', 'a', 'b', 'c'], ['WATCH', 'w'], cmd, ['MULTI'], ['PING'], ['EXEC']];
      await check(cmds);
    };
    for (const cmd of [['LTRIM', 'w', '0', '-1'], ['LSET', 'w', '0', 'a'], ['LREM', 'w', '0', 'nope'], ['LINSERT', 'w', 'BEFORE', 'nope', 'x'],
      ['LPOP', 'w', '0'], ['LMOVE', 'w', 'w', 'LEFT', 'LEFT'], ['LRANGE', 'w', '0', '-1'], ['LPUSHX', 'w', 'z']]) {
      await watched(cmd);
    }
  });
});
