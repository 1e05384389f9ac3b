// Seeded differential fuzzing of list and sorted-set commands against redis-server 7.0 (the
// property tests lists.prop/zsets.prop check keyfork against a model; this checks it against
// Redis): five shared keys, quicklist node sizes and compression depths varied per seed (DUMP
// compares the node layout byte for byte), elements long enough to split nodes, listpack/skiplist
// conversions under each seed's limits, scores and ranges with exclusive, infinite and invalid
// bounds, store forms into the same keys, and bad arities and options.
import { buildProgram, describeFuzz, int, normalizeInfo, type Rand, type WeightedStep } from '../helpers/fuzz';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-lists-zsets.test.ts';
const KEYS = ['a', 'b', 'c', 'd', 'e'];
/**
 * The lex commands run on this key, whose members all have score 0: on members of different
 * scores their result is undefined (in a skiplist it depends on the random levels Redis drew).
 */
const LEX_KEY = 'f';
const STEPS = 500;

function element(r: Rand): string {
  const kind = r();
  if (kind < 0.35) return pick(r, ['0', '1', '-1', '42', '12345678901', '9223372036854775807', '-9223372036854775808', '007']);
  if (kind < 0.9) return pick(r, ['a', 'b', 'c', 'x', '', 'hello', 'A']);
  return pick(r, ['p', 'q']).repeat(pick(r, [65, 300, 2000, 5000]));
}

const SCORES = ['0', '1', '-1', '2.5', '-0.5', '1e-300', '1e300', '+inf', '-inf', 'inf', '3', '10', '0.1', '1.7976931348623157e308'];
const BAD_SCORES = ['nan', 'x', '', '1.5.5'];

function program(seed: number) {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  const keys = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, key);
  const elements = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, () => element(r));
  const index = () => String(pick(r, [0, 1, 2, -1, -2, 3, 5, 10, 100, -100]));
  const count = () => pick(r, ['0', '1', '2', '3', '10', '-1', 'x']);
  const member = () => pick(r, ['a', 'b', 'c', 'd', 'e', 'f', 'g', '1', '2', 'm'.repeat(70)]);
  const score = () => (r() < 0.05 ? pick(r, BAD_SCORES) : pick(r, SCORES));
  const scoreBound = () => (r() < 0.05 ? pick(r, ['x', '(x', '((1']) : `${r() < 0.3 ? '(' : ''}${pick(r, SCORES)}`);
  const lexKey = () => (r() < 0.9 ? LEX_KEY : pick(r, ['missing', 'f']));
  const lexBound = () => (r() < 0.05 ? pick(r, ['a', 'x', '']) : pick(r, ['-', '+', '[a', '(a', '[c', '(d', '[m', '[', '(']));
  const limit = () => (r() < 0.3 ? ['LIMIT', pick(r, ['0', '1', '-1']), pick(r, ['1', '2', '-1', '0'])] : []);
  const weights = (n: number) => (r() < 0.3 ? ['WEIGHTS', ...Array.from({ length: n }, () => pick(r, ['1', '2', '-1', '0.5', 'inf', 'x']))] : []);
  const aggregate = () => (r() < 0.3 ? ['AGGREGATE', pick(r, ['SUM', 'MIN', 'MAX', 'FOO'])] : []);
  const generators: WeightedStep[] = [
    // Lists.
    [8, () => [pick(r, ['LPUSH', 'RPUSH']), key(), ...elements(1, 4)]],
    [2, () => [pick(r, ['LPUSHX', 'RPUSHX']), key(), ...elements(1, 2)]],
    [4, () => [pick(r, ['LPOP', 'RPOP']), key(), ...(r() < 0.5 ? [count()] : [])]],
    [3, () => ['LINSERT', key(), pick(r, ['BEFORE', 'AFTER', 'after', 'FOO']), element(r), element(r)]],
    [3, () => ['LSET', key(), index(), element(r)]],
    [3, () => ['LREM', key(), pick(r, ['0', '1', '-1', '2', '-2', 'x']), element(r)]],
    [2, () => ['LTRIM', key(), index(), index()]],
    [3, () => ['LRANGE', key(), index(), index()]],
    [2, () => ['LINDEX', key(), index()]],
    [2, () => ['LLEN', key()]],
    [2, () => ['LPOS', key(), element(r), ...pick(r, [[], ['RANK', pick(r, ['1', '-1', '2', '0', 'x'])], ['COUNT', pick(r, ['0', '2', '-1'])],
      ['MAXLEN', pick(r, ['1', '0', '-1'])], ['RANK', '-1', 'COUNT', '0'], ['FOO']])]],
    [3, () => ['LMOVE', key(), key(), pick(r, ['LEFT', 'RIGHT']), pick(r, ['LEFT', 'RIGHT', 'UP'])]],
    [1, () => ['RPOPLPUSH', key(), key()]],
    [2, () => {
      const ks = keys(1, 3);
      return ['LMPOP', r() < 0.1 ? pick(r, ['0', '-1', 'x', '9']) : String(ks.length), ...ks, pick(r, ['LEFT', 'RIGHT', 'FOO']), ...(r() < 0.5 ? ['COUNT', count()] : [])];
    }],
    // Sorted sets.
    [8, () => {
      const flags = pick(r, [[], [], ['NX'], ['XX'], ['GT'], ['LT'], ['CH'], ['XX', 'CH'], ['GT', 'CH'], ['NX', 'GT'], ['NX', 'XX'], ['INCR'], ['LT', 'INCR']]);
      const pairs = Array.from({ length: flags.includes('INCR') && r() < 0.9 ? 1 : int(r, 1, 3) }, () => [score(), member()]).flat();
      return ['ZADD', key(), ...flags, ...pairs, ...(r() < 0.03 ? [score()] : [])];
    }],
    [1, () => ['ZADD', key(), ...Array.from({ length: int(r, 120, 140) }, (_, i) => [String(i % 7), `z${i}`]).flat()]],
    [3, () => ['ZINCRBY', key(), score(), member()]],
    [3, () => ['ZREM', key(), member(), ...(r() < 0.5 ? [member()] : [])]],
    [4, () => {
      const by = pick(r, ['rank', 'BYSCORE', 'BYLEX']);
      const source = by === 'BYLEX' ? lexKey() : key();
      const [min, max] = by === 'rank' ? [index(), index()] : by === 'BYSCORE' ? [scoreBound(), scoreBound()] : [lexBound(), lexBound()];
      const rest = [...(by === 'rank' ? [] : [by]), ...(r() < 0.3 ? ['REV'] : []), ...(by === 'rank' && r() > 0.2 ? [] : limit()), ...(r() < 0.5 ? ['WITHSCORES'] : [])];
      return r() < 0.3 ? ['ZRANGESTORE', key(), source, min, max, ...rest.filter((a) => a !== 'WITHSCORES')] : ['ZRANGE', source, min, max, ...rest];
    }],
    [2, () => [pick(r, ['ZRANGEBYSCORE', 'ZREVRANGEBYSCORE']), key(), scoreBound(), scoreBound(), ...(r() < 0.4 ? ['WITHSCORES'] : []), ...limit()]],
    [2, () => [pick(r, ['ZRANGEBYLEX', 'ZREVRANGEBYLEX']), lexKey(), lexBound(), lexBound(), ...limit()]],
    [2, () => [pick(r, ['ZCOUNT']), key(), scoreBound(), scoreBound()]],
    [2, () => ['ZLEXCOUNT', lexKey(), lexBound(), lexBound()]],
    [3, () => [pick(r, ['ZSCORE', 'ZRANK', 'ZREVRANK']), key(), member()]],
    [2, () => ['ZMSCORE', key(), member(), member()]],
    [2, () => ['ZCARD', key()]],
    [3, () => [pick(r, ['ZPOPMIN', 'ZPOPMAX']), key(), ...(r() < 0.5 ? [count()] : [])]],
    [2, () => ['ZREMRANGEBYRANK', key(), index(), index()]],
    [2, () => ['ZREMRANGEBYSCORE', key(), scoreBound(), scoreBound()]],
    [2, () => ['ZREMRANGEBYLEX', lexKey(), lexBound(), lexBound()]],
    [4, () => {
      const ks = keys(1, 3);
      const numkeys = r() < 0.1 ? pick(r, ['0', '-1', 'x', '9']) : String(ks.length);
      const op = pick(r, ['ZUNIONSTORE', 'ZINTERSTORE', 'ZDIFFSTORE']);
      return [op, key(), numkeys, ...ks, ...(op === 'ZDIFFSTORE' ? [] : [...weights(ks.length), ...aggregate()])];
    }],
    [3, () => {
      const ks = keys(1, 3);
      const op = pick(r, ['ZUNION', 'ZINTER', 'ZDIFF']);
      return [op, String(ks.length), ...ks, ...(op === 'ZDIFF' ? [] : [...weights(ks.length), ...aggregate()]), ...(r() < 0.5 ? ['WITHSCORES'] : [])];
    }],
    [1, () => ['ZINTERCARD', String(int(r, 1, 2)), key(), key(), ...(r() < 0.4 ? ['LIMIT', pick(r, ['0', '1', '-1'])] : [])]],
    [2, () => {
      const ks = keys(1, 3);
      return ['ZMPOP', String(ks.length), ...ks, pick(r, ['MIN', 'MAX', 'FOO']), ...(r() < 0.5 ? ['COUNT', count()] : [])];
    }],
    [4, () => ['ZADD', LEX_KEY, ...(r() < 0.2 ? [pick(r, ['NX', 'XX', 'CH'])] : []), '0', member(), ...(r() < 0.5 ? ['0', member()] : [])]],
    [1, () => ['ZRANGE', LEX_KEY, '0', '-1']],
    // Shared.
    [3, () => ['LRANGE', key(), '0', '-1']],
    [3, () => ['OBJECT', 'ENCODING', key()]],
    [1, () => ['DUMP', key()]],
    [1, () => ['TYPE', key()]],
    [1, () => ['DEL', key()]],
    [1, () => ['SET', key(), 'x']],
    [1, () => ['INFO', 'persistence']],
    [1, () => pick(r, [['LPUSH', key()], ['LINSERT', key(), 'BEFORE', 'a'], ['LSET', key(), '0'], ['LREM', key(), '0'], ['ZADD', key(), '1'],
      ['ZINCRBY', key(), '1'], ['ZRANGE', key(), '0'], ['ZUNIONSTORE', key(), '1'], ['LMOVE', key(), key(), 'LEFT'], ['ZSCORE', key()]])],
  ];
  const setup: Arg[][] = [
    ['CONFIG', 'SET', 'list-max-listpack-size', pick(r, ['-2', '-2', '-1', '1', '2', '4', '-5'])],
    ['CONFIG', 'SET', 'list-compress-depth', pick(r, ['0', '0', '1', '2'])],
    ['CONFIG', 'SET', 'zset-max-listpack-entries', pick(r, ['128', '128', '4', '1', '0'])],
    ['CONFIG', 'SET', 'zset-max-listpack-value', pick(r, ['64', '64', '3'])],
  ];
  return buildProgram(r, { setup, count: STEPS, generators, keys: [...KEYS, LEX_KEY], resp3: seed % 3 === 0 });
}

describeFuzz('list and sorted-set commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize: normalizeInfo });
