// Property test: keyfork's sorted-set ranges against a plain sorted-array model. fast-check
// generates contents (with many score ties) and range queries by rank, score and lex, with
// exclusive and infinite bounds, REV, LIMIT and WITHSCORES, in both encodings (the listpack
// limit is lowered at random so the large encoding is exercised with small sets too).
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { RawConnection, type Reply } from '../helpers/resp';
import { startKeyfork, type RunningServer } from '../helpers/servers';

interface Entry { member: string; score: number }

/** Redis's order: score, then member bytes (the members here are ASCII, so JS order agrees). */
const byScoreThenMember = (a: Entry, b: Entry) => (a.score - b.score) || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);

const scoreText = (s: number) => (s === Infinity ? '+inf' : s === -Infinity ? '-inf' : String(s));
const parseScore = (t: string) => (t === 'inf' ? Infinity : t === '-inf' ? -Infinity : Number(t));

type Bound = { value: number; open: boolean };
type LexBound = { kind: '-' } | { kind: '+' } | { kind: '[' | '('; value: string };

const boundText = (b: Bound) => `${b.open ? '(' : ''}${scoreText(b.value)}`;
const lexText = (b: LexBound) => (b.kind === '-' || b.kind === '+' ? b.kind : `${b.kind}${b.value}`);

/** OFFSET/COUNT as Redis applies them: a negative offset gives nothing, a negative count all. */
function applyLimit<T>(xs: T[], limit: [number, number] | null): T[] {
  if (!limit) return xs;
  const [offset, count] = limit;
  if (offset < 0) return [];
  return xs.slice(offset, count < 0 ? undefined : offset + count);
}

function inScore(s: number, min: Bound, max: Bound): boolean {
  return (min.open ? s > min.value : s >= min.value) && (max.open ? s < max.value : s <= max.value);
}

function gteLex(m: string, b: LexBound): boolean {
  if (b.kind === '-') return true;
  if (b.kind === '+') return false;
  return b.kind === '[' ? m >= b.value : m > b.value;
}

function lteLex(m: string, b: LexBound): boolean {
  if (b.kind === '+') return true;
  if (b.kind === '-') return false;
  return b.kind === '[' ? m <= b.value : m < b.value;
}

function rankSlice(sorted: Entry[], start: number, stop: number): Entry[] {
  const n = sorted.length;
  let a = start < 0 ? n + start : start;
  let b = stop < 0 ? n + stop : stop;
  if (a < 0) a = 0;
  if (a > b || a >= n) return [];
  if (b >= n) b = n - 1;
  return sorted.slice(a, b + 1);
}

/** Reply -> [member, score][] (RESP2 flat WITHSCORES) or members. */
function decode(reply: Reply, withscores: boolean): Array<[string, number]> | string[] {
  if (reply.t !== 'array' || !reply.v) throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
  const texts = reply.v.map((r) => (r.t === 'bulk' && r.v ? r.v.toString('latin1') : JSON.stringify(r)));
  if (!withscores) return texts;
  const out: Array<[string, number]> = [];
  for (let i = 0; i < texts.length; i += 2) out.push([texts[i], parseScore(texts[i + 1])]);
  return out;
}

const expected = (entries: Entry[], withscores: boolean) => (withscores ? entries.map((e) => [e.member, e.score]) : entries.map((e) => e.member));

const member = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 3 });
const score = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(Infinity, -Infinity, 0.5, -1.25, 1e300, 2 ** -1074),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => (Object.is(d, -0) ? 0 : d)),
);
const entries = fc.uniqueArray(fc.record({ member, score }), { selector: (e) => e.member, maxLength: 40 });
const bound = fc.record({ value: fc.oneof(score, fc.constantFrom(Infinity, -Infinity)), open: fc.boolean() });
const lexBound: fc.Arbitrary<LexBound> = fc.oneof(
  fc.constantFrom<LexBound>({ kind: '-' }, { kind: '+' }),
  fc.record({ kind: fc.constantFrom<'[' | '('>('[', '('), value: member }),
);
const limit = fc.option(fc.tuple(fc.integer({ min: -2, max: 45 }), fc.integer({ min: -2, max: 45 })), { nil: null });
const listpackEntries = fc.constantFrom(0, 3, 128);

let server: RunningServer;
let conn: RawConnection;

async function load(key: string, items: Entry[], maxEntries: number): Promise<void> {
  await conn.send('CONFIG', 'SET', 'zset-max-listpack-entries', String(maxEntries));
  await conn.send('DEL', key);
  if (items.length) await conn.send('ZADD', key, ...items.flatMap((e) => [scoreText(e.score), e.member]));
}

describe('sorted-set ranges vs a sorted-array model', () => {
  beforeAll(async () => {
    server = await startKeyfork();
    conn = await RawConnection.connect(server.port);
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
  });

  it('by rank (ZRANGE, REV, ZREVRANGE, ZRANK, ZREVRANK, ZREMRANGEBYRANK)', async () => {
    await fc.assert(fc.asyncProperty(entries, listpackEntries, fc.integer({ min: -45, max: 45 }), fc.integer({ min: -45, max: 45 }), fc.boolean(), fc.boolean(),
      async (items, maxEntries, start, stop, rev, withscores) => {
        await load('r', items, maxEntries);
        const sorted = [...items].sort(byScoreThenMember);
        const view = rev ? [...sorted].reverse() : sorted;
        const args = ['ZRANGE', 'r', String(start), String(stop), ...(rev ? ['REV'] : []), ...(withscores ? ['WITHSCORES'] : [])];
        expect(decode(await conn.send(...args), withscores)).toEqual(expected(rankSlice(view, start, stop), withscores));
        if (rev) {
          const legacy = await conn.send('ZREVRANGE', 'r', String(start), String(stop), ...(withscores ? ['WITHSCORES'] : []));
          expect(decode(legacy, withscores)).toEqual(expected(rankSlice(view, start, stop), withscores));
        }
        for (const [i, e] of sorted.entries()) {
          expect(await conn.send('ZRANK', 'r', e.member)).toEqual({ t: 'int', v: i });
          expect(await conn.send('ZREVRANK', 'r', e.member)).toEqual({ t: 'int', v: sorted.length - 1 - i });
        }
        const removed = rankSlice(sorted, start, stop);
        expect(await conn.send('ZREMRANGEBYRANK', 'r', String(start), String(stop))).toEqual({ t: 'int', v: removed.length });
        const left = sorted.filter((e) => !removed.includes(e));
        expect(decode(await conn.send('ZRANGE', 'r', '0', '-1'), false)).toEqual(left.map((e) => e.member));
      }), { numRuns: 150 });
  });

  it('by score (BYSCORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZCOUNT, LIMIT, exclusive and infinite bounds)', async () => {
    await fc.assert(fc.asyncProperty(entries, listpackEntries, bound, bound, fc.boolean(), fc.boolean(), limit,
      async (items, maxEntries, min, max, rev, withscores, lim) => {
        await load('s', items, maxEntries);
        const sorted = [...items].sort(byScoreThenMember);
        const inRange = sorted.filter((e) => inScore(e.score, min, max));
        const want = applyLimit(rev ? [...inRange].reverse() : inRange, lim);
        const limitArgs = lim ? ['LIMIT', String(lim[0]), String(lim[1])] : [];
        const ws = withscores ? ['WITHSCORES'] : [];
        const [lo, hi] = rev ? [boundText(max), boundText(min)] : [boundText(min), boundText(max)];
        const viaZrange = await conn.send('ZRANGE', 's', lo, hi, 'BYSCORE', ...(rev ? ['REV'] : []), ...ws, ...limitArgs);
        expect(decode(viaZrange, withscores)).toEqual(expected(want, withscores));
        const legacy = await conn.send(rev ? 'ZREVRANGEBYSCORE' : 'ZRANGEBYSCORE', 's', lo, hi, ...ws, ...limitArgs);
        expect(decode(legacy, withscores)).toEqual(expected(want, withscores));
        expect(await conn.send('ZCOUNT', 's', boundText(min), boundText(max))).toEqual({ t: 'int', v: inRange.length });
        expect(await conn.send('ZREMRANGEBYSCORE', 's', boundText(min), boundText(max))).toEqual({ t: 'int', v: inRange.length });
        expect(await conn.send('ZCARD', 's')).toEqual({ t: 'int', v: items.length - inRange.length });
      }), { numRuns: 250 });
  });

  it('by lex over equal scores (BYLEX, ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, LIMIT)', async () => {
    await fc.assert(fc.asyncProperty(fc.uniqueArray(member, { maxLength: 40 }), listpackEntries, lexBound, lexBound, fc.boolean(), limit,
      async (members, maxEntries, min, max, rev, lim) => {
        const items = members.map((m) => ({ member: m, score: 0 }));
        await load('l', items, maxEntries);
        const sorted = [...items].sort(byScoreThenMember);
        const inRange = sorted.filter((e) => gteLex(e.member, min) && lteLex(e.member, max));
        const want = applyLimit(rev ? [...inRange].reverse() : inRange, lim).map((e) => e.member);
        const limitArgs = lim ? ['LIMIT', String(lim[0]), String(lim[1])] : [];
        const [lo, hi] = rev ? [lexText(max), lexText(min)] : [lexText(min), lexText(max)];
        expect(decode(await conn.send('ZRANGE', 'l', lo, hi, 'BYLEX', ...(rev ? ['REV'] : []), ...limitArgs), false)).toEqual(want);
        expect(decode(await conn.send(rev ? 'ZREVRANGEBYLEX' : 'ZRANGEBYLEX', 'l', lo, hi, ...limitArgs), false)).toEqual(want);
        expect(await conn.send('ZLEXCOUNT', 'l', lexText(min), lexText(max))).toEqual({ t: 'int', v: inRange.length });
        expect(await conn.send('ZREMRANGEBYLEX', 'l', lexText(min), lexText(max))).toEqual({ t: 'int', v: inRange.length });
        expect(await conn.send('ZCARD', 'l')).toEqual({ t: 'int', v: items.length - inRange.length });
      }), { numRuns: 250 });
  });
});
