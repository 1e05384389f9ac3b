// DEBUG OBJECT against the real redis-server: the same encoding, serializedlength and
// quicklist figures for every type (the address and LRU clock are process-specific).
import { afterAll, beforeAll, it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers } from '../helpers/diff';
import type { Arg, Reply } from '../helpers/resp';
import { startKeyfork, startRedis } from '../helpers/servers';

let servers: BothServers;

/** Drops the fields that differ between any two processes. */
function normalize(command: Arg[], reply: Reply): Reply {
  if (reply.t !== 'simple' || !/^debug$/i.test(command[0].toString())) return reply;
  return { t: 'simple', v: reply.v.replace(/^Value at:0x[0-9a-f]+ /, 'Value at:? ').replace(/ lru:\d+ lru_seconds_idle:\d+/, ' lru:? lru_seconds_idle:?') };
}

describeDifferential('DEBUG OBJECT', () => {
  beforeAll(async () => {
    const args = ['--enable-debug-command', 'yes'];
    const [keyfork, redis] = await Promise.all([startKeyfork({ args }), startRedis()]);
    servers = { keyfork, redis };
  });
  afterAll(async () => {
    await Promise.all([servers?.keyfork.stop(), servers?.redis.stop()]);
  });

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
