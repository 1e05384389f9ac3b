// Quicklist node boundaries against the real redis-server 7.0: Redis's nodes depend on a
// list's history (LPUSH fills the head node, RPUSH the tail one, LINSERT into a full node
// splits it and merges the neighbours that fit together, LSET replaces in place, LREM/LTRIM/
// pops only empty nodes), and keyfork's chunks are those nodes. Compared after every step of
// seeded random histories, at count- and size-limited list-max-listpack-size values: DUMP byte
// for byte (the node split is in the payload), DEBUG OBJECT (ql_nodes, ql_uncompressed_size)
// and OBJECT ENCODING; then the lists go through DEBUG RELOAD and cross RESTOREs.
// A list keeps the fill it was created with (a CONFIG SET affects new lists only; SORT ...
// STORE's lists keep quicklistCreate's -2): histories that change the setting mid-way.
// KEYFORK_LIST_NODE_SEEDS=N runs more seeds.
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, normalizeDebugObject as normalize, useBothServers, type BothServers } from '../helpers/diff';
import { type Arg } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

let servers: BothServers;

const SEEDS = Number(process.env.KEYFORK_LIST_NODE_SEEDS ?? 3);
const STEPS = 160;
const KEYS = ['l1', 'l2'];
const FILLS = ['-2', '-1', '1', '2', '3', '5', '-5'];

/** The key's end state as both servers must report it. */
function inspect(key: string): Arg[][] {
  return [['DUMP', key], ['DEBUG', 'OBJECT', key], ['OBJECT', 'ENCODING', key]];
}

/** Short strings and integers (listpack integer encodings), and elements long enough to fill byte-limited nodes in a few. */
function element(r: () => number): string {
  const kind = r();
  if (kind < 0.3) return pick(r, ['0', '-1', '42', '127', '4096', '-32769', '12345678901', '9223372036854775807', '007']);
  if (kind < 0.75) return pick(r, ['a', 'b', 'c', '', 'hello', 'element']);
  return pick(r, ['x', 'y']).repeat(pick(r, [63, 64, 200, 900, 1500, 3000]));
}

/**
 * `mixed`: the fill changes now and then, lists come from SORT ... STORE too, and elements of
 * 1000 bytes and more are large (DEBUG QUICKLIST-PACKED-THRESHOLD), so LSET puts large values
 * into packed nodes.
 */
function history(seed: number, fill: string, mixed = false): Arg[][] {
  const r = rng(seed);
  const key = () => pick(r, KEYS);
  const index = () => String(Math.floor(r() * 12) - 4);
  const steps: Arg[][] = [['FLUSHALL'], ['CONFIG', 'SET', 'list-max-listpack-size', fill]];
  if (mixed) steps.push(['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1000']);
  for (let i = 0; i < STEPS; i++) {
    if (mixed && r() < 0.1) {
      if (r() < 0.5) steps.push(['CONFIG', 'SET', 'list-max-listpack-size', pick(r, FILLS)]);
      // Equal elements are equal bytes, so ALPHA's order of ties cannot show.
      else steps.push(['SORT', key(), 'ALPHA', ...(r() < 0.3 ? ['DESC'] : []), 'STORE', key()]);
      continue;
    }
    const k = key();
    const x = r();
    let step: Arg[];
    if (x < 0.3) step = [pick(r, ['LPUSH', 'RPUSH']), k, ...Array.from({ length: 1 + Math.floor(r() * 4) }, () => element(r))];
    else if (x < 0.42) step = [pick(r, ['LPOP', 'RPOP']), k, ...(r() < 0.3 ? ['2'] : [])];
    else if (x < 0.62) step = ['LINSERT', k, pick(r, ['BEFORE', 'AFTER']), element(r), element(r)];
    else if (x < 0.72) step = ['LSET', k, index(), element(r)];
    else if (x < 0.8) step = ['LREM', k, pick(r, ['0', '1', '-1', '2']), element(r)];
    else if (x < 0.86) step = ['LTRIM', k, index(), pick(r, ['-1', '-2', '8', '20'])];
    else step = ['LMOVE', k, key(), pick(r, ['LEFT', 'RIGHT']), pick(r, ['LEFT', 'RIGHT'])];
    steps.push(step, ...inspect(k));
  }
  return steps;
}

describeDifferential('quicklist node boundaries', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('a head push fills the head node (the smallest recorded case)', async () => {
    const mismatches = await compareSequences([
      ['FLUSHALL'], ['CONFIG', 'SET', 'list-max-listpack-size', '2'],
      ['RPUSH', 'b', '-1'], ['LPUSH', 'b', '9223372036854775807', '42'], ...inspect('b'),
      // One node is still a quicklist (Redis 7.0 has no listpack encoding for lists).
      ['RPUSH', 'one', 'a'], ...inspect('one'),
      ['CONFIG', 'SET', 'list-max-listpack-size', '-2'],
    ], { servers, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  });

  it('a split merges the nodes after it as 7.0 estimates merged sizes (less 11 bytes)', async () => {
    // list-max-listpack-size -1 (4 KB nodes): [x*4] [s x x x] [z q], LREM leaves [q] (82 bytes).
    // Inserting after s splits its node: [s] [v x x x] (4023 bytes) [q]; 4023 + 82 - 11 = 4094
    // fits 4096, so the last two merge (an estimate less 7 bytes would keep them apart).
    const x = 'x'.repeat(1000);
    const mismatches = await compareSequences([
      ['FLUSHALL'], ['CONFIG', 'SET', 'list-max-listpack-size', '-1'],
      ['RPUSH', 'm', x, x, x, x, 's'.repeat(100), x, x, x, 'z'.repeat(1000), 'q'.repeat(72)], ['LREM', 'm', '1', 'z'.repeat(1000)], ...inspect('m'),
      ['LINSERT', 'm', 'AFTER', 's'.repeat(100), 'v'.repeat(1000)], ...inspect('m'),
      ['CONFIG', 'SET', 'list-max-listpack-size', '-2'],
    ], { servers, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  });

  it('a list keeps the fill it was created with; SORT ... STORE\'s keeps -2 (the smallest recorded cases)', async () => {
    const mismatches = await compareSequences([
      ['FLUSHALL'], ['CONFIG', 'SET', 'list-max-listpack-size', '2'],
      // fuzz-sort seeds 1 and 6: Redis one node of 3 entries (sort.c sets no options).
      ['ZADD', 'z', '0', 'ab'], ['SORT', 'z', 'ALPHA', 'STORE', 'sorted'], ['RPUSH', 'sorted', '-5', 'nan'], ...inspect('sorted'),
      ['RPUSH', 'old', 'a', 'b', 'c'], ['COPY', 'old', 'copied'], ['RPUSH', 'one', 'z'],
      ['CONFIG', 'SET', 'list-max-listpack-size', '-2'],
      ['RPUSH', 'old', 'd', 'e', 'f'], ['LPUSH', 'old', 'x', 'y'], ['RPUSH', 'new', 'a', 'b', 'c', 'd', 'e'], ...inspect('old'), ...inspect('new'),
      // COPY keeps the source's fill (quicklistDup).
      ['RPUSH', 'copied', 'm', 'n'], ...inspect('copied'),
      // LMOVE's new destination takes the setting; an existing one keeps its own.
      ['LMOVE', 'old', 'fresh', 'RIGHT', 'LEFT'], ['LMOVE', 'old', 'fresh', 'RIGHT', 'LEFT'], ['LMOVE', 'old', 'fresh', 'RIGHT', 'LEFT'], ...inspect('fresh'),
      ['LMOVE', 'new', 'old', 'LEFT', 'RIGHT'], ['RPOPLPUSH', 'new', 'old'], ...inspect('old'),
      // A list of one element moved onto itself stays the same list (fill 2).
      ['CONFIG', 'SET', 'list-max-listpack-size', '-1'],
      ['LMOVE', 'one', 'one', 'LEFT', 'RIGHT'], ['RPUSH', 'one', 'p', 'q', 'r'], ...inspect('one'),
      // Loading (DEBUG RELOAD) gives every list the setting of the moment.
      ['DEBUG', 'RELOAD'], ['RPUSH', 'one', 's', 't'], ['RPUSH', 'sorted', 'u', 'v'], ...inspect('one'), ...inspect('sorted'),
      ['CONFIG', 'SET', 'list-max-listpack-size', '-2'],
    ], { servers, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  });

  it('random histories that change list-max-listpack-size mid-way, with SORT ... STORE and large LSETs', async () => {
    for (let seed = 1; seed <= SEEDS * 4; seed++) {
      const end = [...KEYS.flatMap(inspect), ['DEBUG', 'RELOAD'], ...KEYS.flatMap(inspect), ['LRANGE', 'l1', '0', '-1'], ['LRANGE', 'l2', '0', '-1']];
      const mismatches = await compareSequences([...history(seed * 7919, pick(rng(seed), FILLS), true), ...end], { servers, normalize });
      expect(formatMismatches(mismatches.slice(0, 3)), `seed ${seed}`).toBe('');
    }
    await compareSequences([['CONFIG', 'SET', 'list-max-listpack-size', '-2'], ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '0']], { servers });
  });

  it('list-compress-depth: interior nodes are written LZF-compressed (rdbcompression no shows them)', async () => {
    const a = 'a'.repeat(35);
    const mismatches = await compareSequences([
      ['FLUSHALL'], ['CONFIG', 'SET', 'rdbcompression', 'no'], ['CONFIG', 'SET', 'list-max-listpack-size', '4'], ['CONFIG', 'SET', 'list-compress-depth', '1'],
      // The middle node compresses (4 x 37 bytes of a's); small nodes (< 48 bytes) stay raw.
      ['RPUSH', 'l', 'x1', 'x2', 'x3', 'x4', `${a}1`, `${a}2`, `${a}3`, `${a}4`, 'c9', 'c10', 'c11', 'c12'], ...inspect('l'),
      ['RPUSH', 'small', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm'], ...inspect('small'),
      // A list keeps the depth it was created with.
      ['CONFIG', 'SET', 'list-compress-depth', '0'], ['RPUSH', 'l', `${a}5`, `${a}6`, `${a}7`, `${a}8`, 'z'], ...inspect('l'),
      ['RPUSH', 'plain', `${a}1`, `${a}2`, `${a}3`, `${a}4`, `${a}5`, `${a}6`, `${a}7`, `${a}8`, `${a}9`, 'q', 'r', 's', 't'], ...inspect('plain'),
      ['DEBUG', 'RELOAD'], ...inspect('l'), ...inspect('plain'),
      ['CONFIG', 'SET', 'rdbcompression', 'yes'], ['CONFIG', 'SET', 'list-max-listpack-size', '-2'],
    ], { servers, normalize });
    expect(formatMismatches(mismatches)).toBe('');
  });

  for (const depth of ['1', '2']) {
    it(`random histories at list-compress-depth ${depth}, rdbcompression no`, async () => {
      for (let seed = 1; seed <= SEEDS * 2; seed++) {
        const end = [...KEYS.flatMap(inspect), ['DEBUG', 'RELOAD'], ...KEYS.flatMap(inspect)];
        const steps = history(seed * 104729 + Number(depth), pick(rng(seed), ['1', '2', '3', '-1']), true);
        steps.splice(1, 0, ['CONFIG', 'SET', 'rdbcompression', 'no'], ['CONFIG', 'SET', 'list-compress-depth', depth]);
        const mismatches = await compareSequences([...steps, ...end], { servers, normalize });
        expect(formatMismatches(mismatches.slice(0, 3)), `seed ${seed}`).toBe('');
      }
      await compareSequences([['CONFIG', 'SET', 'list-max-listpack-size', '-2'], ['CONFIG', 'SET', 'list-compress-depth', '0'],
        ['CONFIG', 'SET', 'rdbcompression', 'yes'], ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '0']], { servers });
    });
  }

  for (const fill of FILLS) {
    it(`random histories at list-max-listpack-size ${fill}`, async () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const end = [...KEYS.flatMap(inspect), ['DEBUG', 'RELOAD'], ...KEYS.flatMap(inspect), ['LRANGE', 'l1', '0', '-1'], ['LRANGE', 'l2', '0', '-1']];
        const mismatches = await compareSequences([...history(seed * 1000 + Number(fill) + 10, fill), ...end], { servers, normalize });
        expect(formatMismatches(mismatches.slice(0, 3)), `seed ${seed}`).toBe('');
      }
      await compareSequences([['CONFIG', 'SET', 'list-max-listpack-size', '-2']], { servers });
    });
  }
});
