// Seeded differential fuzzing of stream commands against redis-server 7.0, with explicit IDs only
// (an auto ID is a time): XADD with trimming, XDEL, XTRIM, ranges, consumer groups and their
// pending lists read through XREADGROUP/XACK/XCLAIM (no idle times compared), XINFO STREAM,
// XSETID, and bad arities and IDs.
import { buildProgram, describeFuzz, int, normalizeInfo, type WeightedStep } from '../helpers/fuzz';
import { type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const FILE = 'test/server/fuzz-streams.test.ts';
const KEYS = ['a', 'b', 'c'];
const STEPS = 400;

function program(seed: number) {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  let ms = 1;
  // Mostly increasing IDs (XADD accepts them), sometimes an old or equal one (rejected), or a bad one.
  const nextId = () => {
    if (r() < 0.1) return pick(r, ['0-0', '1-1', '0-1', 'x', '1-x', '18446744073709551615-18446744073709551615', `${ms}-*`, '5']);
    ms += int(r, 0, 3);
    return `${ms}-${int(r, 0, 3)}`;
  };
  const anyId = () => pick(r, ['-', '+', '0', '0-0', `${int(r, 0, ms)}`, `${int(r, 0, ms)}-${int(r, 0, 3)}`, `(${int(r, 0, ms)}-1`, 'x', '$']);
  const group = () => pick(r, ['g1', 'g2']);
  const consumer = () => pick(r, ['c1', 'c2']);
  const trim = () => pick(r, [[], [], ['MAXLEN', pick(r, ['0', '1', '3', '10', '-1'])], ['MAXLEN', '~', '2'], ['MINID', `${int(r, 0, ms)}`],
    ['MAXLEN', '=', '2', 'LIMIT', '5'], ['MINID', '~', '3', 'LIMIT', '0'], ['LIMIT', '1']]);
  const fields = () => Array.from({ length: int(r, 1, 2) }, () => [pick(r, ['f', 'g', 'h']), pick(r, ['1', 'v', 'x'.repeat(70)])]).flat();
  const generators: WeightedStep[] = [
    [10, () => ['XADD', key(), ...(r() < 0.1 ? ['NOMKSTREAM'] : []), ...trim(), nextId(), ...fields(), ...(r() < 0.03 ? ['odd'] : [])]],
    [3, () => ['XLEN', key()]],
    [4, () => [pick(r, ['XRANGE', 'XREVRANGE']), key(), anyId(), anyId(), ...(r() < 0.3 ? ['COUNT', pick(r, ['0', '1', '2', '-1', 'x'])] : [])]],
    [3, () => ['XDEL', key(), anyId(), ...(r() < 0.3 ? [anyId()] : [])]],
    [2, () => ['XTRIM', key(), ...(trim().length ? trim() : ['MAXLEN', '2'])]],
    [3, () => ['XGROUP', 'CREATE', key(), group(), pick(r, ['0', '$', '1-0', 'x']), ...(r() < 0.3 ? ['MKSTREAM'] : []), ...(r() < 0.2 ? ['ENTRIESREAD', pick(r, ['0', '2', '-1'])] : [])]],
    [1, () => ['XGROUP', 'SETID', key(), group(), pick(r, ['0', '$', '2-0']), ...(r() < 0.2 ? ['ENTRIESREAD', '1'] : [])]],
    [1, () => ['XGROUP', pick(r, ['DESTROY', 'CREATECONSUMER', 'DELCONSUMER']), key(), group(), consumer()].slice(0, r() < 0.5 ? 4 : 5)],
    [4, () => ['XREADGROUP', 'GROUP', group(), consumer(), ...(r() < 0.3 ? ['COUNT', pick(r, ['1', '2', '0'])] : []), ...(r() < 0.1 ? ['NOACK'] : []), 'STREAMS', key(), pick(r, ['>', '>', '0', '1-0'])]],
    [3, () => ['XACK', key(), group(), anyId()]],
    [2, () => ['XPENDING', key(), group(), ...(r() < 0.5 ? ['-', '+', pick(r, ['10', '1']), ...(r() < 0.5 ? [consumer()] : [])] : [])]],
    [2, () => ['XCLAIM', key(), group(), consumer(), '0', anyId(), ...(r() < 0.5 ? ['JUSTID'] : [])]],
    [2, () => ['XAUTOCLAIM', key(), group(), consumer(), '0', pick(r, ['0', '0-0', '2-0']), ...(r() < 0.5 ? ['COUNT', pick(r, ['1', '5'])] : []), ...(r() < 0.3 ? ['JUSTID'] : [])]],
    [2, () => ['XINFO', 'STREAM', key()]],
    [1, () => ['XINFO', 'GROUPS', key()]],
    [1, () => ['XSETID', key(), pick(r, [`${ms + 5}-0`, '0-1', '1-0', 'x']), ...(r() < 0.3 ? ['ENTRIESADDED', pick(r, ['100', '0']), 'MAXDELETEDID', '0-1'] : [])]],
    [1, () => ['XREAD', 'COUNT', '2', 'STREAMS', key(), '0']],
    [2, () => ['OBJECT', 'ENCODING', key()]],
    [1, () => ['DEL', key()]],
    [1, () => ['SET', key(), 'x']],
    [1, () => ['INFO', 'persistence']],
  ];
  const setup: Arg[][] = [
    ['CONFIG', 'SET', 'stream-node-max-entries', pick(r, ['100', '2', '3'])],
    ['CONFIG', 'SET', 'stream-node-max-bytes', pick(r, ['4096', '4096', '60'])],
  ];
  return buildProgram(r, { setup, count: STEPS, generators, keys: KEYS, resp3: seed % 3 === 0 });
}

/** XPENDING's extended form says how long each entry has been idle, in ms: masked. */
function normalize(command: Arg[], reply: Reply): Reply {
  // A stream's DUMP holds its consumers' seen-times and its pending entries' delivery times.
  if (command[0].toString().toLowerCase() === 'dump' && reply.t === 'bulk' && reply.v?.[0] === 19) return { t: 'bulk', v: Buffer.from('stream dump') };
  if (command[0].toString().toLowerCase() !== 'xpending' || reply.t !== 'array' || !reply.v) return normalizeInfo(command, reply);
  return { t: 'array', v: reply.v.map((e) => (e.t === 'array' && e.v && e.v.length === 4 ? { t: 'array', v: [e.v[0], e.v[1], { t: 'int', v: 0 }, e.v[3]] } : e)) };
}

describeFuzz('stream commands', FILE, [1, 2, 3, 4, 5, 6], program, { normalize });
