// Property test: keyfork's LPOS, LRANGE, LINSERT and LREM against a plain array model. fast-check
// generates list contents (a small alphabet so searches find many matches, plus some multi-KB
// elements so the list spans several internal chunks) and a sequence of operations; after every
// operation keyfork's reply must equal the model's, and at the end the whole list must too.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import { startKeyfork, type RunningServer } from '../helpers/servers';

type Op =
  | { kind: 'lpos'; value: string; rank: number | null; count: number | null; maxlen: number | null }
  | { kind: 'lrange'; start: number; stop: number }
  | { kind: 'linsert'; after: boolean; pivot: string; value: string }
  | { kind: 'lrem'; count: number; value: string };

const bulk = (s: string): Reply => ({ t: 'bulk', v: Buffer.from(s, 'latin1') });
const int = (n: number): Reply => ({ t: 'int', v: n });
const array = (v: Reply[]): Reply => ({ t: 'array', v });
const NIL: Reply = { t: 'bulk', v: null };

/** LPOS as Redis defines it (rank != 0; a negative rank scans from the tail). */
function modelLpos(list: string[], op: Extract<Op, { kind: 'lpos' }>): Reply {
  if (list.length === 0) return op.count !== null ? array([]) : NIL;
  const rank = op.rank ?? 1;
  const fromTail = rank < 0;
  const skip = Math.abs(rank) - 1;
  const found: number[] = [];
  let matches = 0;
  for (let scanned = 0; scanned < list.length; scanned++) {
    if (op.maxlen && scanned >= op.maxlen) break;
    const index = fromTail ? list.length - 1 - scanned : scanned;
    if (list[index] !== op.value) continue;
    if (matches++ < skip) continue;
    found.push(index);
    if (op.count === null || (op.count !== 0 && found.length >= op.count)) break;
  }
  if (op.count !== null) return array(found.map(int));
  return found.length ? int(found[0]) : NIL;
}

function modelLrange(list: string[], start: number, stop: number): Reply {
  const n = list.length;
  let a = start < 0 ? n + start : start;
  let b = stop < 0 ? n + stop : stop;
  if (a < 0) a = 0;
  if (a > b || a >= n) return array([]);
  if (b >= n) b = n - 1;
  return array(list.slice(a, b + 1).map(bulk));
}

/** Applies `op` to `list` in place and returns the reply Redis gives. */
function model(list: string[], op: Op): Reply {
  switch (op.kind) {
    case 'lpos':
      return modelLpos(list, op);
    case 'lrange':
      return modelLrange(list, op.start, op.stop);
    case 'linsert': {
      if (list.length === 0) return int(0);
      const at = list.indexOf(op.pivot);
      if (at < 0) return int(-1);
      list.splice(op.after ? at + 1 : at, 0, op.value);
      return int(list.length);
    }
    case 'lrem': {
      const limit = op.count === 0 ? Infinity : Math.abs(op.count);
      let removed = 0;
      if (op.count >= 0) {
        for (let i = 0; i < list.length && removed < limit;) {
          if (list[i] === op.value) { list.splice(i, 1); removed++; } else i++;
        }
      } else {
        for (let i = list.length - 1; i >= 0 && removed < limit; i--) {
          if (list[i] === op.value) { list.splice(i, 1); removed++; }
        }
      }
      return int(removed);
    }
  }
}

function command(op: Op): string[] {
  switch (op.kind) {
    case 'lpos': {
      const opts: string[] = [];
      if (op.rank !== null) opts.push('RANK', String(op.rank));
      if (op.count !== null) opts.push('COUNT', String(op.count));
      if (op.maxlen !== null) opts.push('MAXLEN', String(op.maxlen));
      return ['LPOS', 'l', op.value, ...opts];
    }
    case 'lrange':
      return ['LRANGE', 'l', String(op.start), String(op.stop)];
    case 'linsert':
      return ['LINSERT', 'l', op.after ? 'AFTER' : 'BEFORE', op.pivot, op.value];
    case 'lrem':
      return ['LREM', 'l', String(op.count), op.value];
  }
}

const small = fc.constantFrom('a', 'b', 'c', 'd', '', '7');
const big = fc.constantFrom('x'.repeat(1500), 'y'.repeat(5000), 'z'.repeat(300));
const element = fc.oneof({ weight: 12, arbitrary: small }, { weight: 1, arbitrary: big });
const index = fc.oneof(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -3000, max: 3000 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('lpos' as const),
    value: element,
    rank: fc.option(fc.integer({ min: -6, max: 6 }).filter((r) => r !== 0), { nil: null }),
    count: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
    maxlen: fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }),
  }),
  fc.record({ kind: fc.constant('lrange' as const), start: index, stop: index }),
  fc.record({ kind: fc.constant('linsert' as const), after: fc.boolean(), pivot: element, value: element }),
  fc.record({ kind: fc.constant('lrem' as const), count: fc.integer({ min: -4, max: 4 }), value: element }),
);

describe('list searches and edits against an array model (fast-check)', () => {
  let server: RunningServer;
  let conn: RawConnection;
  beforeAll(async () => {
    server = await startKeyfork();
    conn = await RawConnection.connect(server.port);
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
  });

  it('LPOS, LRANGE, LINSERT and LREM agree with the model on every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(element, { minLength: 1, maxLength: 400 }), fc.array(op, { maxLength: 40 }), async (initial, ops) => {
        const list = [...initial];
        await conn.send('DEL', 'l');
        await conn.send('RPUSH', 'l', ...initial);
        for (const o of ops) {
          const got = await conn.send(...command(o));
          expect(formatReply(got), command(o).join(' ').slice(0, 200)).toBe(formatReply(model(list, o)));
        }
        expect(formatReply(await conn.send('LRANGE', 'l', '0', '-1'))).toBe(formatReply(array(list.map(bulk))));
        expect(await conn.send('LLEN', 'l')).toEqual(int(list.length));
      }),
      { numRuns: 150 },
    );
  });
});
