// HyperLogLog, differentially against the real redis-server 7.0: the string value of an HLL is
// byte-identical after the same commands (GET compares the representation itself: sparse runs,
// dense registers, cached cardinality), through sparse -> dense promotion, merges, corrupted
// values and seeded random sequences in both protocols.
import { it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers, useBothServers } from '../helpers/diff';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

let servers: BothServers;

describeDifferential('HyperLogLog vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] }, redis: { args: ['--enable-debug-command', 'yes'] } });

  const check = (commands: Arg[][], resp3 = false) => expectSameRepliesAndCounters(servers, commands, { resp3 });

  it('PFADD, PFCOUNT, PFMERGE: replies, the string values and their encodings', async () => {
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    await check([
      ['PFADD', 'h'], ['GET', 'h'], ['OBJECT', 'ENCODING', 'h'], ['PFADD', 'h'], ['PFCOUNT', 'h'], ['GET', 'h'],
      ['PFADD', 'h', 'a', 'b', 'c'], ['GET', 'h'], ['PFADD', 'h', 'a'], ['PFCOUNT', 'h'], ['GET', 'h'], ['PFCOUNT', 'h'],
      ['PFADD', 'h', ...many('x', 200)], ['GET', 'h'], ['PFCOUNT', 'h'], ['PFDEBUG', 'ENCODING', 'h'], ['PFDEBUG', 'DECODE', 'h'],
      ['PFADD', 'big', ...many('y', 3000)], ['PFDEBUG', 'ENCODING', 'big'], ['GET', 'big'], ['PFCOUNT', 'big'], ['GET', 'big'],
      ['PFCOUNT', 'h', 'big'], ['PFCOUNT', 'h', 'nokey', 'big'], ['PFCOUNT', 'nokey'], ['PFCOUNT', 'nokey', 'nokey2'],
      ['PFMERGE', 'm', 'h', 'big'], ['GET', 'm'], ['PFCOUNT', 'm'], ['PFMERGE', 'm2', 'h'], ['GET', 'm2'], ['PFMERGE', 'm3'], ['GET', 'm3'],
      ['PFMERGE', 'h', 'nokey'], ['GET', 'h'], ['PFMERGE', 'big', 'h'], ['GET', 'big'],
      ['PFDEBUG', 'TODENSE', 'h'], ['PFDEBUG', 'TODENSE', 'h'], ['GET', 'h'], ['PFDEBUG', 'GETREG', 'm2'], ['PFDEBUG', 'ENCODING', 'm2'],
      ['PFDEBUG', 'DECODE', 'big'], ['PFDEBUG', 'FOO', 'h'], ['PFDEBUG', 'ENCODING', 'h', 'x'], ['PFDEBUG', 'ENCODING', 'nokey'],
      ['SET', 'str', 'hello'], ['PFADD', 'str', 'a'], ['PFCOUNT', 'str'], ['PFCOUNT', 'h', 'str'], ['PFMERGE', 'str', 'h'], ['PFMERGE', 'h', 'str'],
      ['SET', 'int', '12345678901234567'], ['PFADD', 'int', 'a'], ['RPUSH', 'list', 'a'], ['PFADD', 'list', 'a'], ['PFCOUNT', 'list'],
      ['PFDEBUG', 'ENCODING', 'list'], ['PFDEBUG', 'DECODE', 'str'],
      ['SET', 'fake', 'HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'], ['PFCOUNT', 'fake'], ['PFADD', 'fake', 'a'],
      ['SET', 'fake2', 'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f'], ['PFCOUNT', 'fake2'], ['PFADD', 'fake2', 'a'], ['PFMERGE', 'x', 'fake2'],
      ['SET', 'fake3', 'HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'], ['PFCOUNT', 'fake3'], ['PFSELFTEST'],
    ]);
  });

  it('a copied HLL keeps working; SET of its bytes is an HLL; corrupted sparse runs are detected', async () => {
    const cmds: Arg[][] = [['PFADD', 'src', 'a', 'b', 'c', 'd']];
    cmds.push(['COPY', 'src', 'dst'], ['PFADD', 'dst', 'e'], ['PFCOUNT', 'dst'], ['GET', 'dst'], ['OBJECT', 'ENCODING', 'dst']);
    cmds.push(['APPEND', 'src', 'x'], ['PFCOUNT', 'src'], ['PFADD', 'src', 'zz'], ['PFDEBUG', 'DECODE', 'src']);
    await check(cmds);
  });

  it('sparse to dense at hll-sparse-max-bytes, and on a register above 32', async () => {
    for (const limit of ['0', '30', '200', '3000']) {
      const r = rng(Number(limit) + 7);
      const cmds: Arg[][] = [['CONFIG', 'SET', 'hll-sparse-max-bytes', limit]];
      for (let i = 0; i < 40; i++) {
        cmds.push(['PFADD', 'k', ...Array.from({ length: 1 + Math.floor(r() * 30) }, () => `e${Math.floor(r() * 5000)}`)], ['GET', 'k'], ['PFCOUNT', 'k']);
      }
      cmds.push(['CONFIG', 'SET', 'hll-sparse-max-bytes', '3000']);
      await check(cmds);
    }
  });

  it('seeded random sequences, both protocols', async () => {
    for (const seed of [11, 12, 13, 14]) {
      const r = rng(seed);
      const keys = ['h1', 'h2', 'h3', 'nokey'];
      const cmds: Arg[][] = [['CONFIG', 'SET', 'hll-sparse-max-bytes', pick(r, ['50', '300', '3000'])]];
      for (let i = 0; i < 150; i++) {
        const k = pick(r, keys);
        switch (Math.floor(r() * 7)) {
          case 0: case 1: case 2:
            cmds.push(['PFADD', k, ...Array.from({ length: Math.floor(r() * 8) }, () => String(Math.floor(r() * 100000)))]);
            break;
          case 3: cmds.push(['PFCOUNT', k, ...(r() < 0.3 ? [pick(r, keys)] : [])]); break;
          case 4: cmds.push(['PFMERGE', k, pick(r, keys), pick(r, keys)]); break;
          case 5: cmds.push(['GET', k]); break;
          default: cmds.push(pick(r, [['PFDEBUG', 'ENCODING', k], ['PFDEBUG', 'DECODE', k], ['DEBUG', 'DIGEST-VALUE', k], ['STRLEN', k]]));
        }
      }
      cmds.push(['CONFIG', 'SET', 'hll-sparse-max-bytes', '3000'], ...keys.map((k) => ['GET', k]));
      await check(cmds, seed % 2 === 0);
    }
  });
});
