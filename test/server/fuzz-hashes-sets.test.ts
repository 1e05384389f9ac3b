// Seeded differential fuzzing of hash and set commands against redis-server 7.0: five shared keys
// (strings and lists land on them too, for WRONGTYPE), fields and members across the listpack /
// hashtable and intset / hashtable thresholds (each seed picks its own limits, default ones
// included; OBJECT ENCODING and DUMP compared), integer members across the intset's 16/32/64-bit
// widths, set algebra into the same keys, and bad arities, counts and numbers.
import { buildProgram, describeFuzz, int, normalizeInfo, type WeightedStep } from '../helpers/fuzz';
import { type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-hashes-sets.test.ts';
const KEYS = ['a', 'b', 'c', 'd', 'e'];
const STEPS = 600;

const INT_MEMBERS = ['0', '1', '2', '3', '5', '-1', '100', '32767', '32768', '-32768', '-32769', '2147483647', '2147483648',
  '-2147483649', '9223372036854775807', '-9223372036854775808'];
const OTHER_MEMBERS = ['x', 'y', '', '007', '+1', '-0', '1.0', '9223372036854775808', ' 1', 'm'.repeat(70)];
const FIELDS = ['f1', 'f2', 'f3', 'f4', 'a', '', '1', 'long'.repeat(17)];
const HASH_VALUES = ['1', '0', '-3', '10', '2.5', 'abc', '', '9223372036854775807', '-9223372036854775808', '007', '1e3',
  'v'.repeat(63), 'v'.repeat(64), 'v'.repeat(65)];
const INCREMENTS = ['1', '-1', '100', '0', 'x', '1.5', '9223372036854775807', '-9223372036854775808', '9223372036854775808', ''];
const FLOAT_INCREMENTS = ['1', '-0.5', '2.25', '0.1', 'abc', 'inf', '-inf', 'nan', '1e3', '-4', '1e308', '5e-324', ' 1', ''];

/** Aggregates read in no defined order (hashtables): compared as multisets. */
const UNORDERED = new Set(['hgetall', 'hkeys', 'hvals', 'smembers', 'sinter', 'sunion', 'sdiff', 'spop', 'srandmember', 'hrandfield']);

/** Field/value pairs of a flat RESP2 HGETALL or HRANDFIELD ... WITHVALUES kept together before the multiset comparison. */
function normalize(command: Arg[], reply: Reply): Reply {
  const name = command[0].toString().toLowerCase();
  const paired = name === 'hgetall' || (name === 'hrandfield' && command.length === 4);
  if (paired && reply.t === 'array' && reply.v && reply.v.every((e) => e.t === 'bulk')) {
    const pairs: Reply[] = [];
    for (let i = 0; i + 1 < reply.v.length; i += 2) pairs.push({ t: 'array', v: [reply.v[i], reply.v[i + 1]] });
    return { t: 'array', v: pairs };
  }
  return normalizeInfo(command, reply);
}

function program(seed: number) {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  const keys = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, key);
  const member = () => (r() < 0.75 ? pick(r, INT_MEMBERS) : pick(r, OTHER_MEMBERS));
  const members = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, member);
  const field = () => pick(r, FIELDS);
  const pairs = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, () => [field(), pick(r, HASH_VALUES)]).flat();
  const generators: WeightedStep[] = [
    [8, () => ['HSET', key(), ...pairs(1, 3)]],
    [1, () => ['HMSET', key(), ...pairs(1, 2)]],
    [1, () => ['HSET', key(), ...Array.from({ length: int(r, 100, 140) }, (_, i) => [`bulk${i}`, String(i)]).flat()]],
    [3, () => ['HSETNX', key(), field(), pick(r, HASH_VALUES)]],
    [4, () => ['HINCRBY', key(), field(), pick(r, INCREMENTS)]],
    [4, () => ['HINCRBYFLOAT', key(), field(), pick(r, FLOAT_INCREMENTS)]],
    [4, () => ['HDEL', key(), ...Array.from({ length: int(r, 1, 3) }, field)]],
    [3, () => ['HSTRLEN', key(), field()]],
    [3, () => ['HMGET', key(), ...Array.from({ length: int(r, 1, 3) }, field)]],
    [2, () => ['HGET', key(), field()]],
    [2, () => ['HEXISTS', key(), field()]],
    [2, () => ['HLEN', key()]],
    [3, () => [pick(r, ['HGETALL', 'HKEYS', 'HVALS']), key()]],
    [1, () => ['HRANDFIELD', key(), pick(r, ['1000', '0', 'x']), ...(r() < 0.5 ? ['WITHVALUES'] : [])]],
    [8, () => ['SADD', key(), ...members(1, 4)]],
    [1, () => ['SADD', key(), ...Array.from({ length: int(r, 500, 520) }, (_, i) => String(i * 7))]],
    [4, () => ['SREM', key(), ...members(1, 3)]],
    [3, () => ['SMOVE', key(), key(), member()]],
    [3, () => [pick(r, ['SINTER', 'SUNION', 'SDIFF']), ...keys(1, 3)]],
    [4, () => [pick(r, ['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), key(), ...keys(1, 3)]],
    [3, () => {
      const ks = keys(1, 3);
      const numkeys = r() < 0.1 ? pick(r, ['0', '-1', 'x', '5']) : String(ks.length);
      return ['SINTERCARD', numkeys, ...ks, ...(r() < 0.4 ? ['LIMIT', pick(r, ['0', '1', '2', '-1', 'x'])] : [])];
    }],
    [3, () => ['SMISMEMBER', key(), ...members(1, 3)]],
    [2, () => ['SISMEMBER', key(), member()]],
    [2, () => ['SCARD', key()]],
    [2, () => ['SMEMBERS', key()]],
    [1, () => ['SPOP', key(), pick(r, ['1000', '0', '-1', 'x'])]],
    [1, () => ['SRANDMEMBER', key(), pick(r, ['1000', '0', 'x'])]],
    [4, () => ['OBJECT', 'ENCODING', key()]],
    [1, () => ['TYPE', key()]],
    [1, () => ['DEL', key()]],
    [1, () => ['INFO', 'persistence']],
    [1, () => ['SET', key(), pick(r, ['1', 'text'])]],
    [1, () => ['RPUSH', key(), 'x']],
    [1, () => pick(r, [['HSET', key(), 'f'], ['HSET', key()], ['HSETNX', key(), 'f'], ['HINCRBY', key(), 'f'], ['HSTRLEN', key()], ['HMGET', key()],
      ['SADD', key()], ['SMOVE', key(), key()], ['SINTERCARD', '1'], ['SMISMEMBER', key()], ['SINTERSTORE', key()], ['HDEL', key()]])],
  ];
  const setup: Arg[][] = [
    ['CONFIG', 'SET', 'hash-max-listpack-entries', pick(r, ['128', '128', '8', '1', '0'])],
    ['CONFIG', 'SET', 'hash-max-listpack-value', pick(r, ['64', '64', '5', '0'])],
    ['CONFIG', 'SET', 'set-max-intset-entries', pick(r, ['512', '512', '5', '1', '0'])],
  ];
  return buildProgram(r, { setup, count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

describeFuzz('hash and set commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize, unordered: (command) => UNORDERED.has(command[0].toString().toLowerCase()) });
