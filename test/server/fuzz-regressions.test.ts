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

  // pqsort (GEOSEARCH ... COUNT, SORT ... BY ... LIMIT): redis-server 7.0.15 does not switch to
  // insertion sort after a partition that swapped nothing, so equal keys come out in the order
  // the partition leaves them (fuzz-geo seed 1235, fuzz-sort seed 1079).
  it('equal distances under a sorted GEOSEARCH/GEORADIUS COUNT come out in Redis\'s pqsort order', async () => {
    await check([
      ['ZADD', 'g', '3479089033284115', 'p6', '3479091430706890', 'p1', '3479091430706890', 'p4', '3479093902021860', 'p0',
        '3479093902021860', 'p2', '3479093902021860', 'p3', '3479093902021860', 'p5', '3479100712037684', 'p7'],
      ['GEOSEARCH', 'g', 'FROMLONLAT', '13.2', '38.2', 'BYRADIUS', '500', 'km'],
      ['GEOSEARCH', 'g', 'FROMLONLAT', '13.2', '38.2', 'BYRADIUS', '500', 'km', 'COUNT', '3', 'DESC'],
      ['GEOSEARCH', 'g', 'FROMLONLAT', '13.2', '38.2', 'BYRADIUS', '500', 'km', 'COUNT', '7', 'DESC', 'WITHDIST'],
      ['GEORADIUS', 'g', '13.2', '38.2', '500', 'km', 'COUNT', '5', 'ASC'],
      ['ZADD', 'a', '0', 'm2', '0', 'm8', '3479072452633813', 'm6', '3479074600277705', 'm7', '3479074853385896', 'm3',
        '3479089879616345', 'x', '3663832752681684', 'm5'],
      ['GEORADIUSBYMEMBER', 'a', 'm2', '20000000', 'mi', 'COUNT', '1'],
      ['GEOSEARCH', 'a', 'FROMMEMBER', 'm2', 'BYRADIUS', '20000000', 'mi', 'COUNT', '2', 'ASC'],
      ['GEORADIUSBYMEMBER', 'a', 'm2', '20000000', 'mi', 'COUNT', '1', 'STORE', 'd'], ['ZRANGE', 'd', '0', '-1'],
    ]);
  });

  it('equal ALPHA weights under SORT ... BY ... LIMIT come out in Redis\'s pqsort order', async () => {
    await check([
      ['RPUSH', 'l', '1.5', 'inf', 'inf', '-5', '0', '0x1', ''], ['HSET', 'h_-5', 'g', '10'],
      ['SORT', 'l', 'BY', 'h_*->g', 'ALPHA'],
      ['SORT', 'l', 'BY', 'h_*->g', 'ALPHA', 'LIMIT', '0', '1'],
      ['SORT', 'l', 'BY', 'h_*->g', 'ALPHA', 'LIMIT', '1', '3'],
      ['SORT', 'l', 'BY', 'h_*->g', 'ALPHA', 'LIMIT', '0', '6', 'GET', '#', 'GET', 'h_*->g'],
      ['SORT', 'l', 'BY', 'h_*->g', 'ALPHA', 'DESC', 'LIMIT', '2', '2', 'STORE', 'out'], ['LRANGE', 'out', '0', '-1'],
    ]);
  });

  // Redis 7.0's addReplyDouble is snprintf("%.17g"): glibc prints a NaN with its sign, and
  // Lua's 0/0 has the sign bit set on x86-64, so `{double=0/0}` is -nan (keyfork said nan).
  // The other places a script's NaN is printed, each with the C formatting Redis uses there.
  const nanScripts: Arg[][] = [
    ['EVAL', 'return {double=0/0}', '0'], ['EVAL', 'return {double=-(0/0)}', '0'],
    ['EVAL', 'return {{double=0/0}, {double=1/0}, {double=-1/0}, {double=-0.0}}', '0'],
    ['EVAL', 'redis.setresp(3); return {double=0/0}', '0'],
    ['EVAL', 'return tostring(0/0) .. " " .. tostring(-(0/0)) .. " " .. (0/0)', '0'],
    ['EVAL', 'redis.call("set", KEYS[1], 0/0); redis.call("rpush", KEYS[2], -(0/0), 0/0); return redis.call("get", KEYS[1])', '2', 'n', 'l'],
    ['LRANGE', 'l', '0', '-1'],
    ['EVAL', 'return redis.pcall("zadd", KEYS[1], 0/0, "m")', '1', 'z'],
    ['EVAL', 'return redis.pcall("incrbyfloat", KEYS[1], 0/0)', '1', 'f'],
    ['EVAL', 'return redis.pcall("hincrbyfloat", KEYS[1], "x", 0/0)', '1', 'h'],
    ['EVAL', 'return {0/0, -(0/0)}', '0'],
    ['EVAL', 'return string.format("%g %f %.3e %d", 0/0, -(0/0), 0/0, 0/0)', '0'],
    ['EVAL', 'return cjson.encode({0/0})', '0'],
    ['EVAL', 'cjson.encode_invalid_numbers(true); return cjson.encode({0/0, -(0/0)}) .. tostring(cjson.encode_invalid_numbers(false))', '0'],
    ['EVAL', 'return tostring(cmsgpack.unpack(cmsgpack.pack(0/0)))', '0'],
    ['EVAL', 'return {double=cjson.decode("[-nan]")[1]}', '0'],
  ];

  it('a NaN in a script is printed with its sign where Redis 7.0 prints it with %.17g (RESP2)', async () => {
    await check(nanScripts);
  });

  it('a NaN in a script is printed with its sign where Redis 7.0 prints it with %.17g (RESP3)', async () => {
    const mismatches = await compareSequences([['FLUSHALL'], ...nanScripts], { servers, resp3: true });
    expect(formatMismatches(mismatches)).toBe('');
  });
});
