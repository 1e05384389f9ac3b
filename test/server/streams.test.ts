// Streams, differentially against the real redis-server 7.0: fixed edge cases per command, then
// seeded random sequences of valid and invalid commands in both protocols, with small node limits
// so that node splits and the radix tree's shape (XINFO's radix-tree-nodes) are exercised.
// Times (idle, delivery and seen times) differ between the two servers by nature: they are
// zeroed before comparing. IDs generated from the clock (`*`) are only used on streams whose last
// ID is in the future, where both servers derive the same next ID.
import { expect, it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers, useBothServers } from '../helpers/diff';
import { type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

let servers: BothServers;

const lower = (a: Arg | undefined) => (a === undefined ? '' : a.toString().toLowerCase());
const ZERO: Reply = { t: 'int', v: 0 };

/** The replies' clock-dependent numbers, zeroed. */
export function zeroStreamTimes(command: Arg[], reply: Reply): Reply {
  const name = lower(command[0]);
  const sub = lower(command[1]);
  if (name === 'xpending' && command.length > 3 && reply.t === 'array' && reply.v) {
    return { t: 'array', v: reply.v.map((row) => (row.t === 'array' && row.v?.length === 4 ? { t: 'array', v: [row.v[0], row.v[1], ZERO, row.v[3]] } : row)) };
  }
  if (name === 'xinfo' && (sub === 'consumers' || sub === 'stream')) return zeroNamed(reply);
  return reply;
}

/** In maps (or RESP2 flat field lists): idle and seen-time values, and pending rows' times. */
function zeroNamed(r: Reply): Reply {
  const fix = (key: Reply, value: Reply): Reply => {
    const k = key.t === 'bulk' && key.v ? key.v.toString() : '';
    if (k === 'idle' || k === 'seen-time') return ZERO;
    if (k === 'pending' && value.t === 'array' && value.v) {
      return { t: 'array', v: value.v.map((row) => {
        if (row.t !== 'array' || !row.v) return row;
        if (row.v.length === 4) return { t: 'array', v: [row.v[0], row.v[1], ZERO, row.v[3]] };
        if (row.v.length === 3) return { t: 'array', v: [row.v[0], ZERO, row.v[2]] };
        return row;
      }) };
    }
    return zeroNamed(value);
  };
  if (r.t === 'map') return { t: 'map', v: r.v.map(([k, v]) => [k, fix(k, v)]) };
  if (r.t === 'array' && r.v) {
    const looksLikeFields = r.v.length % 2 === 0 && r.v.length > 0 && r.v.every((x, i) => i % 2 === 1 || (x.t === 'bulk' && x.v && /^[a-z-]+$/.test(x.v.toString())));
    if (looksLikeFields) return { t: 'array', v: r.v.map((x, i) => (i % 2 === 1 ? fix(r.v![i - 1], x) : x)) };
    return { t: 'array', v: r.v.map(zeroNamed) };
  }
  return r;
}

const SMALL_NODES: Arg[][] = [['CONFIG', 'SET', 'stream-node-max-entries', '3'], ['CONFIG', 'SET', 'stream-node-max-bytes', '4096']];
const DEFAULT_NODES: Arg[][] = [['CONFIG', 'SET', 'stream-node-max-entries', '100'], ['CONFIG', 'SET', 'stream-node-max-bytes', '4096']];

describeDifferential('streams vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] }, redis: { args: ['--enable-debug-command', 'yes'] } });

  const check = (commands: Arg[][], opts: { resp3?: boolean; setup?: Arg[][] } = {}) =>
    expectSameRepliesAndCounters(servers, commands, { resp3: opts.resp3, setup: [...DEFAULT_NODES, ...(opts.setup ?? [])], normalize: zeroStreamTimes });

  it('XADD: explicit, partial and generated IDs, options and errors', async () => {
    const cmds: Arg[][] = [
      ['XADD', 's', '1-1', 'a', '1'], ['XADD', 's', '1-1', 'a', '1'], ['XADD', 's', '0-0', 'a', '1'], ['XADD', 'n', '0-0', 'a', '1'],
      ['EXISTS', 'n'], ['XADD', 'n', '0-*', 'a', '1'], ['XADD', 'n', '0-*', 'a', '2'], ['XADD', 'n', '0', 'a', '1'],
      ['XADD', 's', '1-*', 'b', '2'], ['XADD', 's', '5', 'c', '3'], ['XADD', 's', 'abc', 'c', '3'], ['XADD', 's', '1-x', 'c', '3'],
      ['XADD', 's', '5-*', 'x', 'y'], ['XADD', 's', '4-*', 'x', 'y'], ['XADD', 's', '6-18446744073709551615', 'x', 'y'],
      ['XADD', 's', '6-*', 'x', 'y'], ['XADD', 's', '+', 'x', 'y'], ['XADD', 's', '-', 'x', 'y'], ['XADD', 's', ' 9', 'x', 'y'],
      ['XADD', 's', '+10-01', 'x', 'y'], ['XADD', 's', '18446744073709551616', 'x', 'y'], ['XADD', 's', '11-', 'x', 'y'],
      ['XADD', 's', '*', 'c'], ['XADD', 's', 'MAXLEN', '-1', '20-0', 'a', '1'], ['XADD', 's', 'MAXLEN', '~', '10', 'LIMIT', '5', '21-0', 'a', '1'],
      ['XADD', 's', 'MAXLEN', '10', 'LIMIT', '5', '22-0', 'a', '1'], ['XADD', 's', 'LIMIT', '10', '23-0', 'a', '1'],
      ['XADD', 's', 'LIMIT', '0', '24-0', 'a', '1'], ['XADD', 's', 'MAXLEN', 'abc', '25-0', 'a', '1'], ['XADD', 's', 'MINID', 'abc', '26-0', 'a', '1'],
      ['XADD', 's', 'MAXLEN', '1', 'MINID', '1', '27-0', 'a', '1'], ['XADD', 's', 'MAXLEN', '~', '1', 'LIMIT', '-1', '28-0', 'a', '1'],
      ['XADD', 's', 'MAXLEN', '~', '1', 'LIMIT', 'x', '28-0', 'a', '1'], ['XADD', 's', 'maxlen', '=', '100', 'limit', '3', '29-0', 'a', '1'],
      ['XADD', 's', 'NOMKSTREAM', '30-0', 'a', '1'], ['XADD', 'nokey', 'NOMKSTREAM', '1-0', 'a', '1'], ['EXISTS', 'nokey'],
      ['XADD', 's', 'nomkstream', 'maxlen', '=', '4', '31-0', 'a', '1'], ['XRANGE', 's', '-', '+'], ['XLEN', 's'],
      ['XADD', 's', 'MINID', '=', '31', '32-0', 'f', 'v'], ['XRANGE', 's', '-', '+'],
      ['XADD', 's', 'MAXLEN', '0', '33-0', 'f', 'v'], ['XLEN', 's'], ['XRANGE', 's', '-', '+'], ['XINFO', 'STREAM', 's'],
      ['XADD', 's', 'MINID', '~', '100', '34-0', 'f', 'v'], ['XLEN', 's'],
      ['XADD', 'max', '18446744073709551615-18446744073709551614', 'a', '1'], ['XADD', 'max', '*', 'a', '1'], ['XADD', 'max', '*', 'a', '1'],
      ['XADD', 'max', '18446744073709551615-*', 'a', '1'], ['XADD', 'max2', '18446744073709551615-18446744073709551615', 'a', '1'],
      ['XADD', 'max3', '18446744073709551615-*', 'a', '1'], ['XADD', 'max3', '18446744073709551615-*', 'a', '1'],
      ['XADD', 'fut', '99999999999999-5', 'a', '1'], ['XADD', 'fut', '*', 'b', '2'], ['XADD', 'fut', 'MAXLEN', '1', '*', 'c', '3'], ['XRANGE', 'fut', '-', '+'],
      ['XADD', 'fields', '1-0', 'a', '1', 'b', '2'], ['XADD', 'fields', '2-0', 'a', '3', 'b', '4'], ['XADD', 'fields', '3-0', 'b', '1', 'a', '2'],
      ['XADD', 'fields', '4-0', 'a', '1'], ['XADD', 'fields', '5-0', 'a', '1', 'b', '2', 'c', '3'], ['XADD', 'fields', '6-0', 'a', '', '', 'x'],
      ['XADD', 'fields', '7-0', 'n', '12', 'n', '-7', 'n', '007', 'n', '9223372036854775808', 'n', '1.5'],
      ['XADD', 'fields', '8-0', Buffer.from([0, 255]), Buffer.from('x'.repeat(300))], ['XRANGE', 'fields', '-', '+'],
      ['SET', 'str', 'x'], ['XADD', 'str', '1-0', 'a', '1'], ['XADD', 'str', 'NOMKSTREAM', '1-0', 'a', '1'], ['XLEN', 'str'], ['TYPE', 's'],
      ['OBJECT', 'ENCODING', 's'], ['XADD', 's'], ['XADD', 's', 'MAXLEN', '5'], ['XADD', 's', '40-0', 'a'],
    ];
    await check(cmds);
    await check(cmds, { resp3: true });
  });

  it('XRANGE and XREVRANGE: bounds, exclusive bounds, COUNT, errors', async () => {
    const setup: Arg[][] = [...SMALL_NODES];
    for (let i = 1; i <= 12; i++) setup.push(['XADD', 'r', `${i}-${i % 3}`, 'f', String(i)]);
    setup.push(['XADD', 'r', '12-5', 'g', 'x'], ['XDEL', 'r', '4-1', '7-1']);
    const cmds: Arg[][] = [];
    const bounds = ['-', '+', '0', '1', '3-0', '3-1', '(3-0', '(3', '(3-1', '12', '(12', '12-5', '(12-5', '(-', '(+', '0-0', '(0-0',
      '18446744073709551615-18446744073709551615', '(18446744073709551615-18446744073709551615', 'x', '(x', '(', '7-1', '(7-1'];
    for (const a of bounds) for (const b of bounds) {
      cmds.push(['XRANGE', 'r', a, b], ['XREVRANGE', 'r', b, a]);
    }
    cmds.push(
      ['XRANGE', 'r', '-', '+', 'COUNT', '3'], ['XRANGE', 'r', '-', '+', 'COUNT', '0'], ['XRANGE', 'r', '-', '+', 'COUNT', '-5'],
      ['XRANGE', 'r', '-', '+', 'COUNT', 'x'], ['XRANGE', 'r', '-', '+', 'COUNT'], ['XRANGE', 'r', '-', '+', 'LIMIT', '1'],
      ['XRANGE', 'r', '-', '+', 'COUNT', '2', 'COUNT', '4'], ['XREVRANGE', 'r', '+', '-', 'COUNT', '4'], ['XREVRANGE', 'r', '+', '-', 'COUNT', '0'],
      ['XRANGE', 'nokey', '-', '+'], ['XRANGE', 'nokey', '-', '+', 'COUNT', '0'], ['XRANGE', 'nokey', 'x', '+'],
      ['SET', 'str', 'v'], ['XRANGE', 'str', '-', '+'], ['XREVRANGE', 'str', '+', '-'], ['XRANGE', 'str', 'x', '+'],
    );
    await check(cmds, { setup });
    await check(cmds.slice(0, 200), { setup, resp3: true });
  });

  it('XDEL, XTRIM and XLEN: exact and approximate trimming, LIMIT, tombstones', async () => {
    const setup: Arg[][] = [...SMALL_NODES];
    for (let i = 1; i <= 40; i++) setup.push(['XADD', 't', `${i}-0`, 'f', String(i)]);
    await check([
      ['XDEL', 't', '1-0', '1-0', '2-0', '100-0'], ['XDEL', 't', '5-0', 'x'], ['XDEL', 't', '3'], ['XLEN', 't'], ['XINFO', 'STREAM', 't'],
      ['XDEL', 'nokey', '1-0'], ['XDEL', 'nokey', 'x'], ['XDEL', 't', '-'], ['XDEL', 't', '+'],
      ['XTRIM', 't', 'MAXLEN', '~', '30'], ['XLEN', 't'], ['XTRIM', 't', 'MAXLEN', '~', '30', 'LIMIT', '2'], ['XLEN', 't'],
      ['XTRIM', 't', 'MAXLEN', '~', '10', 'LIMIT', '4'], ['XINFO', 'STREAM', 't'], ['XTRIM', 't', 'MAXLEN', '25'], ['XINFO', 'STREAM', 't'],
      ['XTRIM', 't', 'MINID', '20'], ['XRANGE', 't', '-', '+', 'COUNT', '3'], ['XINFO', 'STREAM', 't'],
      ['XTRIM', 't', 'MINID', '~', '30'], ['XINFO', 'STREAM', 't'], ['XTRIM', 't', 'MINID', '=', '31-0'], ['XTRIM', 't', 'MAXLEN', '=', '5'],
      ['XTRIM', 't'], ['XTRIM', 't', 'MAXLEN'], ['XTRIM', 't', 'MAXLEN', '-1'], ['XTRIM', 't', 'MAXLEN', '5', 'LIMIT', '1'],
      ['XTRIM', 't', 'LIMIT', '1'], ['XTRIM', 't', 'FOO', '1'], ['XTRIM', 't', 'MAXLEN', '5', 'MINID', '3'], ['XTRIM', 't', 'MAXLEN', '5', 'junk'],
      ['XTRIM', 'nokey', 'MAXLEN', '1'], ['XTRIM', 'nokey', 'MAXLEN', 'x'], ['XTRIM', 't', 'MAXLEN', '0'], ['XINFO', 'STREAM', 't'],
      ['EXISTS', 't'], ['TYPE', 't'], ['XADD', 't', '1-0', 'a', 'b'], ['XADD', 't', '50-0', 'a', 'b'], ['XDEL', 't', '50-0'], ['XINFO', 'STREAM', 't'],
      ['SET', 'str', 'v'], ['XDEL', 'str', '1-0'], ['XTRIM', 'str', 'MAXLEN', '1'], ['XLEN', 'nokey'],
    ], { setup });
  });

  it('XSETID', async () => {
    await check([
      ['XADD', 's', '5-0', 'a', '1'], ['XADD', 's', '6-0', 'a', '1'], ['XDEL', 's', '6-0'],
      ['XSETID', 's', '4-0'], ['XSETID', 's', '5-0'], ['XSETID', 's', '10-0'], ['XINFO', 'STREAM', 's'], ['XADD', 's', '9-0', 'a', '1'],
      ['XSETID', 's', '20', 'ENTRIESADDED', '1'], ['XSETID', 's', '20', 'ENTRIESADDED', '-1'], ['XSETID', 's', '20', 'ENTRIESADDED', '50'],
      ['XSETID', 's', '20', 'MAXDELETEDID', '30'], ['XSETID', 's', '20', 'MAXDELETEDID', '15-3'], ['XINFO', 'STREAM', 's'],
      ['XSETID', 's', '14'], ['XSETID', 's', '20', 'FOO'], ['XSETID', 's', '20', 'ENTRIESADDED'], ['XSETID', 's', 'x'], ['XSETID', 's', '+'],
      ['XSETID', 'nokey', '1-0'], ['XSETID', 'nokey', 'x'], ['SET', 'str', 'v'], ['XSETID', 'str', '1'],
      ['XADD', 'e', '1-0', 'a', '1'], ['XDEL', 'e', '1-0'], ['XSETID', 'e', '0-5'], ['XSETID', 'e', '1-0', 'ENTRIESADDED', '0'], ['XINFO', 'STREAM', 'e'],
    ]);
  });
});
