// Divergences the seeded differential fuzzers (fuzz-*.test.ts) found, each pinned by a focused
// sequence compared against redis-server 7.0 (replies and wire types).
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { type Arg } from '../helpers/resp';

let servers: BothServers;

describeDifferential('divergences found by the differential fuzzers', () => {
  useBothServers((s) => (servers = s));

  const check = async (commands: Arg[][]) => {
    const mismatches = await compareSequences([['FLUSHALL'], ...commands], { servers });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('COPY of a shared integer is an object of its own (OBJECT REFCOUNT 1, still int-encoded)', async () => {
    await check([
      ['SET', 'a', '5'], ['COPY', 'a', 'b'], ['OBJECT', 'REFCOUNT', 'a'], ['OBJECT', 'REFCOUNT', 'b'], ['OBJECT', 'ENCODING', 'b'],
      ['INCR', 'b'], ['OBJECT', 'REFCOUNT', 'b'], ['COPY', 'a', 'c', 'DB', '1'],
      ['SELECT', '1'], ['OBJECT', 'REFCOUNT', 'c'], ['SELECT', '0'], ['SET', 'big', '123456'], ['COPY', 'big', 'big2'],
      ['OBJECT', 'REFCOUNT', 'big2'], ['OBJECT', 'ENCODING', 'big2'], ['GET', 'b'],
    ]);
  });

  it('no shared integers while maxmemory is set with an LRU or LFU policy (decided when the value is created)', async () => {
    try {
      await check([
        ['CONFIG', 'SET', 'maxmemory', '100mb'], ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'],
        ['SET', 'a', '5'], ['OBJECT', 'REFCOUNT', 'a'], ['INCR', 'a'], ['OBJECT', 'REFCOUNT', 'a'], ['APPEND', 'n', '7'], ['OBJECT', 'REFCOUNT', 'n'],
        ['CONFIG', 'SET', 'maxmemory-policy', 'volatile-lfu'], ['SET', 'b', '6'], ['OBJECT', 'REFCOUNT', 'b'],
        ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random'], ['SET', 'c', '7'], ['OBJECT', 'REFCOUNT', 'c'],
        ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'], ['CONFIG', 'SET', 'maxmemory', '0'], ['SET', 'd', '8'], ['OBJECT', 'REFCOUNT', 'd'],
        ['OBJECT', 'REFCOUNT', 'a'], ['OBJECT', 'REFCOUNT', 'b'], ['OBJECT', 'REFCOUNT', 'c'],
      ]);
    } finally {
      await compareSequences([['CONFIG', 'SET', 'maxmemory', '0'], ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']], { servers });
    }
  });
});
