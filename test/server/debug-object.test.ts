// DEBUG OBJECT against the real redis-server: the same encoding, serializedlength and
// quicklist figures for every type (the address and LRU clock are process-specific).
import { it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, normalizeDebugObject as normalize, useBothServers, type BothServers } from '../helpers/diff';

let servers: BothServers;

describeDifferential('DEBUG OBJECT', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('describes every type and encoding as Redis does', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `element-number-${i}`);
    await expectSameRepliesAndCounters(servers, [
      ['SET', 's', 'hello'], ['SET', 'n', '123'], ['SET', 'big', 'x'.repeat(100)], ['SET', 'z', 'abc'.repeat(40)],
      ['RPUSH', 'l', 'a', 'b', 'c'], ['RPUSH', 'll', ...many, ...many, ...many], ['HSET', 'h', 'f', 'v'], ['SADD', 'si', '1', '2'],
      ['SADD', 'ss', 'a', 'b'], ['ZADD', 'zs', '1', 'a'],
      ...['s', 'n', 'big', 'z', 'l', 'll', 'h', 'si', 'ss', 'zs', 'nokey'].map((k) => ['DEBUG', 'OBJECT', k]),
      ['CONFIG', 'SET', 'rdbcompression', 'no'], ['DEBUG', 'OBJECT', 'z'], ['DUMP', 'z'], ['CONFIG', 'SET', 'rdbcompression', 'yes'],
      ['DEBUG', 'OBJECT'], ['DEBUG', 'OBJECT', 'a', 'b'],
    ], { normalize });
  });
});
