// Seeded differential fuzzing of the generic keyspace commands against redis-server 7.0: five key
// names in two databases holding every type (strings of each encoding, hashes, sets, sorted sets,
// lists, streams), moved around by RENAME/RENAMENX/COPY/MOVE/SWAPDB, expiring through
// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT (and PERSIST, SET KEEPTTL), read back through
// TTL/PTTL/EXPIRETIME (within a second), TYPE, OBJECT ENCODING, EXISTS/DEL/UNLINK with repeated
// keys, INFO keyspace's key and expire counts, and bad arguments of each.
import { buildProgram, describeFuzz, int, normalizeInfo, type WeightedStep } from '../helpers/fuzz';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-keys.test.ts';
const KEYS = ['a', 'b', 'c', 'd', 'e'];
const STEPS = 600;

function program(seed: number) {
  const r = rng(seed);
  const now = Math.floor(Date.now() / 1000);
  const key = () => pick(r, KEYS);
  const keys = (lo: number, hi: number) => Array.from({ length: int(r, lo, hi) }, key);
  const scale = (unit: 's' | 'ms', n: number) => String(unit === 'ms' ? n * 1000 : n);
  // Relative times grow with the step, so GT/LT between two relative times decide alike on both
  // servers; absolute ones are fixed numbers (future, or past: an immediate deletion). SET gets no
  // past time: Redis keeps such a key until it is touched or its expire cycle finds it, so DBSIZE
  // would depend on timing.
  const relative = (step: number, unit: 's' | 'ms') => scale(unit, pick(r, [200, 5000, 100000]) + step);
  const absolute = (unit: 's' | 'ms') => scale(unit, pick(r, [now + 300000, now + 7000, now + 7000, 1, now - 100]) + int(r, 0, 2));
  const bad = () => pick(r, ['0', '-1', '-100', 'x', '1.5', '', '9223372036854775807', '-9223372036854775808', '9223372036854775']);
  const expireOptions = () => pick(r, [[], [], ['NX'], ['XX'], ['GT'], ['LT'], ['gt'], ['XX', 'GT'], ['XX', 'LT'], ['NX', 'XX'], ['GT', 'LT'],
    ['NX', 'GT'], ['FOO'], ['LT', 'LT']]);
  const db = () => pick(r, ['0', '1', '1', '16', '-1', 'x']);
  const generators: WeightedStep[] = [
    // Every type on the shared names.
    [3, () => ['SET', key(), pick(r, ['1', '12345', '-7', 'text', 'x'.repeat(44), 'y'.repeat(45), '9223372036854775808'])]],
    [2, (step) => ['SET', key(), 'v', ...pick(r, [['EX', relative(step, 's')], ['PX', relative(step, 'ms')], ['EXAT', String(now + 7000 + int(r, 0, 2))], ['KEEPTTL'], ['GET']])]],
    [2, () => ['HSET', key(), pick(r, ['f', 'g']), pick(r, ['1', 'v'.repeat(70)])]],
    [2, () => ['SADD', key(), pick(r, ['1', '2', 'x'])]],
    [2, () => ['ZADD', key(), pick(r, ['1', '2.5']), pick(r, ['m', 'n', 'z'.repeat(70)])]],
    [2, () => ['RPUSH', key(), pick(r, ['1', 'x'])]],
    [1, () => ['XADD', key(), pick(r, ['1-1', '2-1', '5-5']), 'f', 'v']],
    [1, () => ['PFADD', key(), pick(r, ['x', 'y'])]],
    [1, () => ['INCR', key()]],
    [1, () => ['APPEND', key(), 'z']],
    // Expiry.
    [6, (step) => { const name = pick(r, ['EXPIRE', 'PEXPIRE']); return [name, key(), relative(step, name === 'PEXPIRE' ? 'ms' : 's'), ...expireOptions()]; }],
    [4, () => { const name = pick(r, ['EXPIREAT', 'PEXPIREAT']); return [name, key(), absolute(name === 'PEXPIREAT' ? 'ms' : 's'), ...expireOptions()]; }],
    [2, () => [pick(r, ['EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT']), key(), bad(), ...expireOptions()]],
    [3, () => ['PERSIST', key()]],
    [5, () => [pick(r, ['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME']), key()]],
    // Moving keys around.
    [4, () => [pick(r, ['RENAME', 'RENAMENX']), key(), key()]],
    [5, () => {
      const options = [...(r() < 0.4 ? ['DB', db()] : []), ...(r() < 0.4 ? ['REPLACE'] : []), ...(r() < 0.05 ? ['FOO'] : [])];
      if (r() < 0.3) options.reverse();
      return ['COPY', key(), key(), ...options];
    }],
    [2, () => ['MOVE', key(), db()]],
    [2, () => ['SELECT', pick(r, ['0', '1'])]],
    [1, () => ['SWAPDB', '0', pick(r, ['1', '1', '0', 'x'])]],
    // Reading and deleting.
    [3, () => ['TYPE', key()]],
    [4, () => ['OBJECT', 'ENCODING', key()]],
    [1, () => ['OBJECT', pick(r, ['REFCOUNT', 'FREQ', 'FOO']), key()]],
    [3, () => ['EXISTS', ...keys(1, 4)]],
    [2, () => [pick(r, ['DEL', 'UNLINK']), ...keys(1, 3)]],
    [1, () => ['TOUCH', ...keys(1, 3)]],
    [1, () => ['DBSIZE']],
    [1, () => ['INFO', 'keyspace']],
    [1, () => ['INFO', 'persistence']],
    [1, () => pick(r, [['EXPIRE', key()], ['PEXPIRE'], ['PERSIST'], ['TTL'], ['RENAME', key()], ['COPY', key()], ['MOVE', key()],
      ['TYPE'], ['EXISTS'], ['DEL'], ['OBJECT', 'ENCODING'], ['OBJECT'], ['EXPIRETIME'], ['RENAMENX', key(), key(), key()]])],
  ];
  return buildProgram(r, { count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

describeFuzz('keyspace commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize: normalizeInfo });
