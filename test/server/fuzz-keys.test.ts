// Seeded differential fuzzing of the generic keyspace commands against redis-server 7.0: five key
// names in two databases holding every type (strings of each encoding, hashes, sets, sorted sets,
// lists, streams), moved around by RENAME/RENAMENX/COPY/MOVE/SWAPDB, expiring through
// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT (and PERSIST, SET KEEPTTL), read back through
// TTL/PTTL/EXPIRETIME (within a second), TYPE, OBJECT ENCODING, EXISTS/DEL/UNLINK with repeated
// keys, INFO keyspace's key and expire counts, and bad arguments of each.
import { buildProgram, describeFuzz, int, normalizeInfo, type WeightedStep } from '../helpers/fuzz';
import { pick, rng } from '../helpers/random';
import { RawConnection, type Arg } from '../helpers/resp';
import { type BothServers } from '../helpers/diff';

const FILE = 'test/server/fuzz-keys.test.ts';
const KEYS = ['a', 'b', 'c', 'd', 'e'];
const STEPS = 600;

/**
 * DUMP payloads of every type and encoding, made by redis-server in a scratch database (some
 * under raised thresholds, so that restoring them under the seed's limits converts them), and
 * damaged copies: a flipped byte, a cut end, an unknown RDB version.
 */
async function dumpPayloads(redis: BothServers['redis']): Promise<Buffer[]> {
  const conn = await RawConnection.connect(redis.port);
  try {
    const many = (n: number, f: (i: number) => string[]) => Array.from({ length: n }, (_, i) => f(i)).flat();
    const build: Arg[][] = [
      ['SELECT', '9'], ['FLUSHDB'],
      ['CONFIG', 'SET', 'hash-max-listpack-entries', '1000'], ['CONFIG', 'SET', 'set-max-intset-entries', '1000'],
      ['CONFIG', 'SET', 'zset-max-listpack-entries', '1000'],
      ['HSET', 'hash-big-listpack', ...many(200, (i) => [`f${i}`, String(i)])],
      ['SADD', 'intset-big', ...many(600, (i) => [String(i * 3)])],
      ['ZADD', 'zset-big-listpack', ...many(200, (i) => [String(i), `m${i}`])],
      ['CONFIG', 'SET', 'hash-max-listpack-entries', '128'], ['CONFIG', 'SET', 'set-max-intset-entries', '512'],
      ['CONFIG', 'SET', 'zset-max-listpack-entries', '128'],
      ['SET', 'int', '12345'], ['SET', 'embstr', 'hello'], ['SET', 'raw', 'a'.repeat(100)], ['SET', 'min', '-9223372036854775808'],
      ['HSET', 'hash', 'f', 'v', 'g', '1'], ['HSET', 'hash-table', ...many(200, (i) => [`f${i}`, String(i)])],
      ['HSET', 'hash-long-value', 'f', 'v'.repeat(70)],
      ['SADD', 'intset', '1', '2', '70000'], ['SADD', 'set-table', 'a', 'b', 'c'],
      ['ZADD', 'zset', '1', 'a', '2.5', 'b'], ['ZADD', 'zset-skiplist', ...many(200, (i) => [String(i), `m${i}`])],
      ['RPUSH', 'list', 'a', '1', 'b'], ['RPUSH', 'list-long', ...many(1000, (i) => [String(i)])],
      ['XADD', 'stream', '1-1', 'f', 'v'], ['XADD', 'stream', '2-1', 'g', 'w'], ['XGROUP', 'CREATE', 'stream', 'grp', '0'],
      ['PFADD', 'hll', 'a', 'b', 'c'],
    ];
    for (const command of build) await conn.send(...command);
    const names = ['hash-big-listpack', 'intset-big', 'zset-big-listpack', 'int', 'embstr', 'raw', 'min', 'hash', 'hash-table',
      'hash-long-value', 'intset', 'set-table', 'zset', 'zset-skiplist', 'list', 'list-long', 'stream', 'hll'];
    const payloads: Buffer[] = [];
    for (const name of names) {
      const dump = await conn.send('DUMP', name);
      if (dump.t === 'bulk' && dump.v) payloads.push(dump.v);
    }
    await conn.send('FLUSHDB');
    const damaged = payloads.slice(3, 9).flatMap((p) => {
      const flipped = Buffer.from(p);
      flipped[Math.floor(p.length / 2)] ^= 0x40;
      const version = Buffer.from(p);
      version[p.length - 10] = 0xff;
      return [flipped, p.subarray(0, p.length - 3), version];
    });
    return [...payloads, ...damaged, Buffer.from('not a payload')];
  } finally {
    conn.close();
  }
}

async function program(seed: number, servers: BothServers) {
  const payloads = await dumpPayloads(servers.redis);
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
    // RESTORE of every type and encoding, valid and damaged payloads, with its options.
    [4, (step) => {
      const ttl = pick(r, ['0', '0', relative(step, 'ms'), '-1', 'x']);
      const options = pick(r, [[], ['REPLACE'], ['REPLACE'], ['ABSTTL'], ['REPLACE', 'ABSTTL'], ['IDLETIME', pick(r, ['10', '-1', 'x'])],
        ['FREQ', pick(r, ['5', '256', '-1'])], ['IDLETIME', '1', 'FREQ', '1'], ['FOO'], ['REPLACE', 'REPLACE'], ['IDLETIME']]);
      const absolute = options.includes('ABSTTL') && ttl !== '0' && !ttl.startsWith('-') && ttl !== 'x';
      return ['RESTORE', key(), absolute ? String((now + 7000) * 1000) : ttl, pick(r, payloads), ...options];
    }],
    [1, () => ['DUMP', key()]],
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
  const setup: Arg[][] = [
    ['CONFIG', 'SET', 'hash-max-listpack-entries', pick(r, ['128', '128', '4'])],
    ['CONFIG', 'SET', 'set-max-intset-entries', pick(r, ['512', '512', '2'])],
    ['CONFIG', 'SET', 'zset-max-listpack-entries', pick(r, ['128', '128', '4'])],
  ];
  return buildProgram(r, { setup, count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

describeFuzz('keyspace commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize: normalizeInfo });
