// Random picks are fair, as Redis 7.0 makes them: SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER
// and RANDOMKEY on every encoding. A hashtable pick must be Redis's dictGetFairRandomKey (one of
// up to 15 entries from consecutive buckets), not "a random bucket, then a random node of its
// chain", which picks members sharing a bucket half as often. Each histogram is checked with a
// chi-square bound on both servers: 10 members (9 degrees of freedom), 40 is p ~ 0.00001.
import { describe, expect, it } from 'vitest';
import { describeDifferential, useBothServers, type BothServers } from '../helpers/diff';
import { RawConnection, type Reply } from '../helpers/resp';

const CHI_SQUARE_BOUND = 40;
const MEMBERS = 10;
const SAMPLES = 2000;

/** A long suffix makes a hash field's value, or a member, too big for a listpack. */
const LONG = 'x'.repeat(80);

function chiSquare(counts: Map<string, number>, categories: number): number {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const expected = total / categories;
  let sum = 0;
  for (const c of counts.values()) sum += (c - expected) ** 2 / expected;
  // Categories never drawn count too.
  sum += (categories - counts.size) * expected;
  return sum;
}

const str = (r: Reply): string => {
  if (r.t === 'bulk' && r.v) return r.v.toString();
  throw new Error(`not a bulk string: ${JSON.stringify(r)}`);
};

function tally(names: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return counts;
}

describeDifferential('random picks are fair on every encoding (chi-square, both servers)', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s));

  /** Runs `draw` on both servers and checks each histogram. */
  async function bothFair(setup: string[][], draw: (c: RawConnection) => Promise<string[]>, encoding?: [string, string]) {
    for (const [name, port] of [['keyfork', servers.keyfork.port], ['redis', servers.redis.port]] as const) {
      const c = await RawConnection.connect(port);
      try {
        await c.pipeline([['FLUSHALL'], ...setup]);
        if (encoding) expect((await c.send('OBJECT', 'ENCODING', encoding[0])), name).toEqual({ t: 'bulk', v: Buffer.from(encoding[1]) });
        const picks = await draw(c);
        expect(picks.length).toBeGreaterThanOrEqual(SAMPLES);
        const counts = tally(picks);
        expect(counts.size, `${name}: ${[...counts.keys()]}`).toBeLessThanOrEqual(MEMBERS);
        expect(chiSquare(counts, MEMBERS), `${name}: ${JSON.stringify([...counts])}`).toBeLessThan(CHI_SQUARE_BOUND);
      } finally {
        c.close();
      }
    }
  }

  const members = (suffix = '') => Array.from({ length: MEMBERS }, (_, i) => `m${i}${suffix}`);
  const arrayOf = (r: Reply): string[] => {
    if (r.t !== 'array' || !r.v) throw new Error(`not an array: ${JSON.stringify(r)}`);
    return r.v.map(str);
  };
  const repeat = (cmd: string[], n = SAMPLES) => Array.from({ length: n }, () => cmd);

  const setCases: Array<[string, string[][], string]> = [
    ['hashtable', [['SADD', 's', ...members()]], 's'],
    ['intset', [['SADD', 's', ...Array.from({ length: MEMBERS }, (_, i) => String(i * 7))]], 's'],
  ];
  for (const [encoding, setup, key] of setCases) {
    describe(`sets (${encoding})`, () => {
      it('SRANDMEMBER key -count', async () => {
        await bothFair(setup, async (c) => arrayOf(await c.send('SRANDMEMBER', key, String(-SAMPLES))), [key, encoding]);
      });
      it('SRANDMEMBER key', async () => {
        await bothFair(setup, async (c) => (await c.pipeline(repeat(['SRANDMEMBER', key]))).map(str), [key, encoding]);
      });
      it('SPOP key', async () => {
        await bothFair(setup, async (c) => {
          const replies = await c.pipeline(Array.from({ length: SAMPLES }, () => [['DEL', key], ...setup.map((s) => [...s]), ['SPOP', key]]).flat());
          return replies.filter((_, i) => i % 3 === 2).map(str);
        }, [key, encoding]);
      });
      it('SPOP key count (small count: random picks)', async () => {
        await bothFair(setup, async (c) => {
          const replies = await c.pipeline(Array.from({ length: SAMPLES / 2 }, () => [['DEL', key], ...setup.map((s) => [...s]), ['SPOP', key, '2']]).flat());
          return replies.filter((_, i) => i % 3 === 2).flatMap(arrayOf);
        }, [key, encoding]);
      });
      it('SRANDMEMBER key count (distinct members)', async () => {
        await bothFair(setup, async (c) => (await c.pipeline(repeat(['SRANDMEMBER', key, '2'], SAMPLES / 2))).flatMap(arrayOf), [key, encoding]);
      });
    });
  }

  for (const [encoding, value] of [['hashtable', LONG], ['listpack', 'v']] as const) {
    describe(`hashes (${encoding})`, () => {
      const setup = [['HSET', 'h', ...members().flatMap((m) => [m, value])]];
      it('HRANDFIELD key -count', async () => {
        await bothFair(setup, async (c) => arrayOf(await c.send('HRANDFIELD', 'h', String(-SAMPLES))), ['h', encoding]);
      });
      it('HRANDFIELD key', async () => {
        await bothFair(setup, async (c) => (await c.pipeline(repeat(['HRANDFIELD', 'h']))).map(str), ['h', encoding]);
      });
      it('HRANDFIELD key count (distinct fields)', async () => {
        await bothFair(setup, async (c) => (await c.pipeline(repeat(['HRANDFIELD', 'h', '2'], SAMPLES / 2))).flatMap(arrayOf), ['h', encoding]);
      });
    });
  }

  for (const [encoding, suffix] of [['skiplist', LONG], ['listpack', '']] as const) {
    describe(`sorted sets (${encoding})`, () => {
      const setup = [['ZADD', 'z', ...members(suffix).flatMap((m, i) => [String(i), m])]];
      it('ZRANDMEMBER key -count', async () => {
        await bothFair(setup, async (c) => arrayOf(await c.send('ZRANDMEMBER', 'z', String(-SAMPLES))), ['z', encoding]);
      });
      it('ZRANDMEMBER key', async () => {
        await bothFair(setup, async (c) => (await c.pipeline(repeat(['ZRANDMEMBER', 'z']))).map(str), ['z', encoding]);
      });
    });
  }

  it('RANDOMKEY', async () => {
    await bothFair(members().map((m) => ['SET', m, '1']), async (c) => (await c.pipeline(repeat(['RANDOMKEY']))).map(str));
  });
});
