// Seeded differential fuzzing of SORT and SORT_RO against redis-server 7.0: lists, an intset, a
// hashtable set and a sorted set of numbers and words, weights in strings (w_*) and hash fields
// (h_*->f) that are numbers, not numbers or missing, BY (nosort, constant patterns), GET (#,
// strings, hash fields, missing), LIMIT (negative, past the end), ASC/DESC, ALPHA (equal weights
// included: their order comes from Redis's pqsort/qsort), STORE into lists and over the sources.
import { buildProgram, describeFuzz, int, normalizeInfo, type WeightedStep } from '../helpers/fuzz';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-sort.test.ts';
/** l1, l2: lists; s1: an intset (its order is defined); s2: a hashtable set; z1: a sorted set; dst: STORE's. */
const SOURCES = ['l1', 'l2', 's1', 's2', 'z1', 'missing', 'str'];
const MEMBERS = ['1', '2', '3', '10', '-5', '0', '7', '1.5', '3e1', 'a', 'b', 'B', 'ab', '', ' 4', 'inf', 'nan', '0x1'];
const INT_MEMBERS = ['1', '2', '3', '10', '-5', '0', '7', '100', '-32769'];
const WEIGHTS = ['1', '2', '2', '10', '-1', '0', '1.5', '1e2', '-inf', 'inf', 'x', 'b', 'a', '', '3 ', 'nan', '9007199254740993'];
const MEMBER_KEYS = [...new Set([...MEMBERS, ...INT_MEMBERS])];
/** The end state compared: the sources and STORE's destination. */
const KEYS = [...SOURCES, 'dst'];

function program(seed: number) {
  const r = rng(seed);
  const member = () => pick(r, MEMBERS);
  const members = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, member);
  const source = () => pick(r, SOURCES);
  const pattern = () => pick(r, ['w_*', 'w_*', 'h_*->f', 'h_*->g', 'nosort', 'const', 'w_*x', 'h_*->', '*', 'h_*->f*']);
  const getPattern = () => pick(r, ['#', '#', 'w_*', 'h_*->f', 'h_*->g', 'const', '*', 'h_*']);
  /** SORT's options in Redis's order or shuffled, sometimes repeated or broken. */
  const options = (readOnly: boolean, key: string) => {
    const parts: Arg[][] = [];
    const by = r() < 0.5 ? pattern() : null;
    if (by) parts.push(['BY', by]);
    // s2 iterates in hashtable order, and so does z1 (SORT converts a sorted set to a skiplist
    // and reads its dict): that order is the table's (Redis seeds its hash per process), so s2
    // is unsorted (nosort or a constant BY) only where Redis sorts it anyway (STORE), and
    // neither gets ALPHA with BY (equal or missing weights compare equal there and keep the
    // iteration order; numeric ties fall back to comparing the elements).
    const unsorted = by !== null && !by.includes('*');
    const alpha = r() < 0.4 && !((key === 's2' || key === 'z1') && by !== null);
    if (r() < 0.35 && !(unsorted && key === 's2')) parts.push(['LIMIT', pick(r, ['0', '1', '2', '-1', '5', 'x']), pick(r, ['0', '1', '3', '-1', '100', 'x'])]);
    for (let n = r() < 0.4 ? int(r, 1, 3) : 0; n > 0; n--) parts.push(['GET', getPattern()]);
    if (r() < 0.5) parts.push([pick(r, ['ASC', 'DESC', 'desc'])]);
    if (alpha) parts.push(['ALPHA']);
    const store = !readOnly && r() < 0.3;
    if (store) parts.push(['STORE', pick(r, ['dst', 'dst', 'l2', 'l1'])]);
    if (!store && unsorted && key === 's2') return null;
    if (r() < 0.1) parts.sort(() => r() - 0.5);
    if (r() < 0.03) parts.push(pick(r, [['LIMIT', '1'], ['GET'], ['BY'], ['FOO'], ['STORE', 'dst']]));
    return parts.flat();
  };
  const generators: WeightedStep[] = [
    [4, () => [pick(r, ['RPUSH', 'LPUSH']), pick(r, ['l1', 'l2']), ...members(1, 4)]],
    [1, () => ['LPOP', pick(r, ['l1', 'l2'])]],
    [2, () => ['SADD', 's1', ...Array.from({ length: int(r, 1, 3) }, () => pick(r, INT_MEMBERS))]],
    [2, () => ['SADD', 's2', ...members(1, 3)]],
    [1, () => ['SREM', pick(r, ['s1', 's2']), member()]],
    [2, () => ['ZADD', 'z1', pick(r, ['1', '2', '0', '-1', '5']), member()]],
    [6, () => ['SET', `w_${pick(r, MEMBER_KEYS)}`, pick(r, WEIGHTS)]],
    [4, () => ['HSET', `h_${pick(r, MEMBER_KEYS)}`, pick(r, ['f', 'f', 'g']), pick(r, WEIGHTS)]],
    [1, () => ['DEL', pick(r, [`w_${member()}`, `h_${member()}`, 'dst'])]],
    [14, () => {
      const key = source();
      const rest = options(false, key);
      return rest ? ['SORT', key, ...rest] : ['SORT', key, 'ALPHA'];
    }],
    [5, () => {
      const key = source();
      const rest = options(true, key);
      return rest ? ['SORT_RO', key, ...rest] : ['SORT_RO', key];
    }],
    [2, () => ['LRANGE', 'dst', '0', '-1']],
    [1, () => ['OBJECT', 'ENCODING', pick(r, ['s1', 's2', 'l1', 'dst'])]],
    [1, () => ['INFO', 'persistence']],
    [1, () => pick(r, [['SORT'], ['SORT_RO'], ['SORT_RO', 'l1', 'STORE', 'dst'], ['SORT', 'l1', 'LIMIT', '0'], ['SORT', 'l1', 'BY']])],
  ];
  // A list SORT ... STORE creates keeps quicklistCreate's fill (-2) whatever the setting (sort.c
  // sets no options); the sources keep the setting's: their DUMPs differ past 2 elements.
  const setup: Arg[][] = [['SET', 'str', 'text'], ['CONFIG', 'SET', 'list-max-listpack-size', pick(r, ['-2', '2', '128'])]];
  return buildProgram(r, { setup, count: 300, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

describeFuzz('SORT and SORT_RO', FILE, [1, 2, 3, 4, 5, 6], program, { normalize: normalizeInfo });
