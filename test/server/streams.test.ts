// Streams, differentially against the real redis-server 7.0: fixed edge cases per command, then
// seeded random sequences of valid and invalid commands in both protocols, with small node limits
// so that node splits and the radix tree's shape (XINFO's radix-tree-nodes) are exercised.
// Times (idle, delivery and seen times) differ between the two servers by nature: they are
// zeroed before comparing. IDs generated from the clock (`*`) are only used on streams whose last
// ID is in the future, where both servers derive the same next ID.
import { it } from 'vitest';
import { describeDifferential, expectSameRepliesAndCounters, type BothServers, useBothServers } from '../helpers/diff';
import { type Arg } from '../helpers/resp';
import { zeroStreamTimes } from '../helpers/stream-times';
import { pick, rng } from '../helpers/random';

let servers: BothServers;

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

  it('XREAD without blocking: several streams, $, COUNT, errors', async () => {
    const setup: Arg[][] = [...SMALL_NODES];
    for (let i = 1; i <= 8; i++) setup.push(['XADD', 'a', `${i}-0`, 'f', String(i)], ['XADD', 'b', `${i * 2}-1`, 'g', String(i)]);
    const cmds: Arg[][] = [
      ['XREAD', 'STREAMS', 'a', '0'], ['XREAD', 'COUNT', '2', 'STREAMS', 'a', 'b', '3', '5-1'], ['XREAD', 'STREAMS', 'a', 'b', '$', '$'],
      ['XREAD', 'STREAMS', 'a', 'nokey', '0', '0'], ['XREAD', 'STREAMS', 'nokey', '$'], ['XREAD', 'STREAMS', 'a', '8'], ['XREAD', 'STREAMS', 'a', '7-5'],
      ['XREAD', 'COUNT', '0', 'STREAMS', 'a', '6'], ['XREAD', 'COUNT', '-1', 'STREAMS', 'a', '6'], ['XREAD', 'COUNT', 'x', 'STREAMS', 'a', '6'],
      ['XREAD', 'STREAMS', 'a', 'b', '0'], ['XREAD', 'STREAMS', 'a'], ['XREAD', 'a', 'STREAMS'], ['XREAD', 'COUNT', '1', 'a', '0'],
      ['XREAD', 'STREAMS', 'a', '>'], ['XREAD', 'STREAMS', 'a', '-'], ['XREAD', 'STREAMS', 'a', '+'], ['XREAD', 'STREAMS', 'a', 'x'],
      ['XREAD', 'GROUP', 'g', 'c', 'STREAMS', 'a', '0'], ['XREAD', 'NOACK', 'STREAMS', 'a', '0'], ['XREAD', 'BLOCK', 'x', 'STREAMS', 'a', '0'],
      ['XREAD', 'BLOCK', '-1', 'STREAMS', 'a', '0'], ['XREAD', 'BLOCK', '10', 'STREAMS', 'a', '0'], ['XREAD', 'BLOCK', '1.5', 'STREAMS', 'a', '0'],
      ['SET', 'str', 'v'], ['XREAD', 'STREAMS', 'str', '0'], ['XREAD', 'STREAMS', 'a', 'str', '0', '0'], ['XREAD', 'STREAMS', 'nokey', 'str', '0', '$'],
      ['XDEL', 'a', '8-0'], ['XREAD', 'STREAMS', 'a', '7'], ['XREAD', 'STREAMS', 'a', '$'],
      ['MULTI'], ['XREAD', 'BLOCK', '0', 'STREAMS', 'a', '$'], ['XREAD', 'BLOCK', '0', 'STREAMS', 'a', '0'], ['EXEC'],
    ];
    await check(cmds, { setup });
    await check(cmds, { setup, resp3: true });
  });

  it('consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XINFO', async () => {
    const setup: Arg[][] = [...SMALL_NODES];
    for (let i = 1; i <= 10; i++) setup.push(['XADD', 's', `${i}-0`, 'f', String(i)]);
    const cmds: Arg[][] = [
      ['XGROUP', 'CREATE', 's', 'g', '0'], ['XGROUP', 'CREATE', 's', 'g', '0'], ['XGROUP', 'CREATE', 's', 'h', '$'], ['XGROUP', 'CREATE', 's', 'i', '5', 'ENTRIESREAD', '3'],
      ['XGROUP', 'CREATE', 's', 'j', 'x'], ['XGROUP', 'CREATE', 's', 'j', '-'], ['XGROUP', 'CREATE', 's', 'j', '0', 'FOO'], ['XGROUP', 'CREATE', 's', 'j', '0', 'ENTRIESREAD', '-2'],
      ['XGROUP', 'CREATE', 's', 'j', '0', 'ENTRIESREAD'], ['XGROUP', 'CREATE', 'nokey', 'g', '0'], ['XGROUP', 'CREATE', 'mk', 'g', '$', 'MKSTREAM'], ['XINFO', 'STREAM', 'mk'],
      ['XGROUP', 'CREATE', 's', 'k', '0', 'MKSTREAM', 'ENTRIESREAD', '2', 'MKSTREAM'], ['XINFO', 'GROUPS', 's'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '3', 'STREAMS', 's', '>'], ['XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '2', 'STREAMS', 's', '>'],
      ['XPENDING', 's', 'g'], ['XPENDING', 's', 'g', '-', '+', '10'], ['XPENDING', 's', 'g', '-', '+', '10', 'alice'], ['XPENDING', 's', 'g', '-', '+', '10', 'nobody'],
      ['XPENDING', 's', 'g', '(1', '4', '2'], ['XPENDING', 's', 'g', 'IDLE', '0', '-', '+', '10'], ['XPENDING', 's', 'g', 'IDLE', '100000', '-', '+', '10'],
      ['XPENDING', 's', 'g', 'IDLE', '10', '-', '+'], ['XPENDING', 's', 'g', '-', '+'], ['XPENDING', 's', 'g', '-', '+', 'x'], ['XPENDING', 's', 'g', 'x', '+', '1'],
      ['XPENDING', 's', 'nog'], ['XPENDING', 'nokey', 'g'], ['XPENDING', 's', 'g', '-', '+', '-1'], ['XPENDING', 's', 'g', '-', '+', '1', 'alice', 'extra'],
      ['XINFO', 'GROUPS', 's'], ['XINFO', 'CONSUMERS', 's', 'g'], ['XINFO', 'CONSUMERS', 's', 'nog'], ['XINFO', 'STREAM', 's', 'FULL'],
      ['XINFO', 'STREAM', 's', 'FULL', 'COUNT', '2'], ['XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0'], ['XINFO', 'STREAM', 's', 'FULL', 'COUNT', '-1'],
      ['XINFO', 'STREAM', 's', 'FULL', 'COUNT'], ['XINFO', 'STREAM', 's', 'FOO'], ['XINFO', 'STREAM', 'nokey'], ['XINFO', 'GROUPS', 'nokey'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '0'], ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '1', 'STREAMS', 's', '1'],
      ['XACK', 's', 'g', '1-0', '2-0', '9-0'], ['XACK', 's', 'g', '1-0'], ['XACK', 's', 'g', 'x'], ['XACK', 's', 'nog', 'x'], ['XACK', 'nokey', 'g', '1-0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '0'], ['XDEL', 's', '3-0'], ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '0'],
      ['XINFO', 'GROUPS', 's'], ['XREADGROUP', 'GROUP', 'g', 'carol', 'NOACK', 'STREAMS', 's', '>'], ['XPENDING', 's', 'g'], ['XINFO', 'GROUPS', 's'],
      ['XREADGROUP', 'GROUP', 'g', 'carol', 'STREAMS', 's', '>'], ['XREADGROUP', 'GROUP', 'h', 'x', 'STREAMS', 's', '>'], ['XREADGROUP', 'GROUP', 'i', 'x', 'STREAMS', 's', '>'],
      ['XGROUP', 'SETID', 's', 'g', '0'], ['XINFO', 'GROUPS', 's'], ['XREADGROUP', 'GROUP', 'g', 'dave', 'COUNT', '2', 'STREAMS', 's', '>'], ['XPENDING', 's', 'g', '-', '+', '10'],
      ['XGROUP', 'SETID', 's', 'g', '$', 'ENTRIESREAD', '4'], ['XINFO', 'GROUPS', 's'], ['XGROUP', 'SETID', 's', 'g', '+'], ['XGROUP', 'SETID', 's', 'g', 'x'],
      ['XGROUP', 'SETID', 's', 'g', '0', 'FOO', '1'], ['XGROUP', 'SETID', 's', 'g', '0', 'ENTRIESREAD'], ['XGROUP', 'SETID', 's', 'nog', '0'], ['XGROUP', 'SETID', 'nokey', 'g', '0'],
      ['XGROUP', 'CREATECONSUMER', 's', 'g', 'erin'], ['XGROUP', 'CREATECONSUMER', 's', 'g', 'erin'], ['XGROUP', 'CREATECONSUMER', 's', 'nog', 'erin'],
      ['XGROUP', 'DELCONSUMER', 's', 'g', 'alice'], ['XGROUP', 'DELCONSUMER', 's', 'g', 'alice'], ['XGROUP', 'DELCONSUMER', 's', 'g', 'erin'], ['XPENDING', 's', 'g'],
      ['XGROUP', 'DESTROY', 's', 'h'], ['XGROUP', 'DESTROY', 's', 'h'], ['XGROUP', 'DESTROY', 'nokey', 'h'], ['XINFO', 'GROUPS', 's'],
      ['XGROUP', 'HELP'], ['XINFO', 'HELP'], ['XGROUP', 'FOO'], ['XINFO', 'FOO'], ['XGROUP', 'CREATE', 's'], ['XGROUP', 'DESTROY', 's', 'g', 'x'],
      ['XGROUP', 'CREATECONSUMER', 's', 'g'], ['XINFO', 'STREAM'], ['XINFO', 'GROUPS', 's', 'x'],
      ['XREADGROUP', 'GROUP', 'nog', 'c', 'STREAMS', 's', '>'], ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'nokey', '>'], ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '$'],
      ['XREADGROUP', 'STREAMS', 's', '>'], ['XREADGROUP', 'GROUP', 'g', 'STREAMS', 's', '>'], ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's'],
      ['SET', 'str', 'v'], ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'str', '>'], ['XGROUP', 'CREATE', 'str', 'g', '0'], ['XACK', 'str', 'g', '1'],
      ['XPENDING', 'str', 'g'], ['XINFO', 'GROUPS', 'str'], ['XGROUP', 'DESTROY', 'str', 'g'],
      ['MULTI'], ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'], ['EXEC'],
    ];
    await check(cmds, { setup });
    await check(cmds, { setup, resp3: true });
  });

  it('XCLAIM and XAUTOCLAIM', async () => {
    const setup: Arg[][] = [...SMALL_NODES];
    for (let i = 1; i <= 12; i++) setup.push(['XADD', 's', `${i}-0`, 'f', String(i)]);
    setup.push(['XGROUP', 'CREATE', 's', 'g', '0'], ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '8', 'STREAMS', 's', '>']);
    const cmds: Arg[][] = [
      ['XCLAIM', 's', 'g', 'bob', '0', '1-0', '2-0'], ['XPENDING', 's', 'g', '-', '+', '20'], ['XCLAIM', 's', 'g', 'bob', '1000000', '3-0'],
      ['XCLAIM', 's', 'g', 'bob', '0', '3-0', 'JUSTID'], ['XCLAIM', 's', 'g', 'bob', '0', '4-0', 'RETRYCOUNT', '7', 'IDLE', '5000'],
      ['XPENDING', 's', 'g', 'IDLE', '4000', '-', '+', '20'], ['XCLAIM', 's', 'g', 'carol', '0', '5-0', 'TIME', '1000'], ['XCLAIM', 's', 'g', 'carol', '0', '11-0'],
      ['XCLAIM', 's', 'g', 'carol', '0', '11-0', 'FORCE'], ['XCLAIM', 's', 'g', 'carol', '0', '12-0', 'FORCE', 'JUSTID'], ['XPENDING', 's', 'g'],
      ['XCLAIM', 's', 'g', 'carol', '0', '6-0', 'LASTID', '9-0'], ['XINFO', 'GROUPS', 's'], ['XCLAIM', 's', 'g', 'carol', '0', '6-0', 'LASTID', 'x'],
      ['XCLAIM', 's', 'g', 'carol', '0', '6-0', 'IDLE', 'x'], ['XCLAIM', 's', 'g', 'carol', '0', '6-0', 'TIME', 'x'], ['XCLAIM', 's', 'g', 'carol', '0', '6-0', 'RETRYCOUNT', 'x'],
      ['XCLAIM', 's', 'g', 'carol', '0', '6-0', 'FOO'], ['XCLAIM', 's', 'g', 'carol', 'x', '6-0'], ['XCLAIM', 's', 'g', 'carol', '-5', '6-0'],
      ['XCLAIM', 's', 'nog', 'carol', '0', '6-0'], ['XCLAIM', 'nokey', 'g', 'carol', '0', '6-0'], ['XCLAIM', 's', 'g', 'dave', '0', '100-0'], ['XINFO', 'CONSUMERS', 's', 'g'],
      ['XDEL', 's', '7-0'], ['XCLAIM', 's', 'g', 'dave', '0', '7-0', '8-0'], ['XPENDING', 's', 'g'],
      ['XCLAIM', 's', 'g', 'dave', '0', '1-0', 'IDLE', '-5', 'TIME', '99999999999999'], ['XCLAIM', 's', 'g', 'dave', '0', '1-0', 'RETRYCOUNT', '-1'],
      ['XAUTOCLAIM', 's', 'g', 'erin', '0', '0', 'COUNT', '2'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '0-0', 'COUNT', '2', 'JUSTID'],
      ['XDEL', 's', '2-0', '5-0'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '-'], ['XPENDING', 's', 'g', '-', '+', '20'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '(3'],
      ['XAUTOCLAIM', 's', 'g', 'erin', '1000000', '-'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '+'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '(+'],
      ['XAUTOCLAIM', 's', 'g', 'erin', '0', '-', 'COUNT', '0'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '-', 'COUNT', 'x'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', '-', 'FOO'],
      ['XAUTOCLAIM', 's', 'g', 'erin', 'x', '-'], ['XAUTOCLAIM', 's', 'g', 'erin', '0', 'x'], ['XAUTOCLAIM', 's', 'nog', 'erin', '0', '-'], ['XAUTOCLAIM', 'nokey', 'g', 'erin', '0', '-'],
      ['XAUTOCLAIM', 's', 'g', 'erin', '0', '-', 'COUNT', '9223372036854775807'], ['XINFO', 'STREAM', 's', 'FULL'],
      ['SET', 'str', 'v'], ['XCLAIM', 'str', 'g', 'c', '0', '1'], ['XAUTOCLAIM', 'str', 'g', 'c', '0', '0'],
    ];
    await check(cmds, { setup });
    await check(cmds, { setup, resp3: true });
  });

  it('seeded random sequences of stream commands, valid and invalid, both protocols', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = rng(seed);
      const int = (n: number) => Math.floor(r() * n);
      const keys = ['s1', 's2', 's3'];
      const groups = ['g1', 'g2'];
      const consumers = ['c1', 'c2', 'c3'];
      const next = new Map<string, number>();
      const someId = (key: string): string => {
        const top = next.get(key) ?? 1;
        switch (int(8)) {
          case 0: return pick(r, ['x', '-', '+', '1-', '0-0', '(5', '18446744073709551615-18446744073709551615']);
          case 1: return `${int(top + 2)}`;
          case 2: return `${int(top + 2)}-${int(3)}`;
          default: return `${Math.max(1, top - int(10))}-${int(3)}`;
        }
      };
      const bound = (key: string, end: boolean): string => (int(4) === 0 ? (end ? '+' : '-') : `${int(3) === 0 ? '(' : ''}${someId(key)}`);
      const cmds: Arg[][] = [
        ['CONFIG', 'SET', 'stream-node-max-entries', String(1 + int(6))], ['CONFIG', 'SET', 'stream-node-max-bytes', pick(r, ['0', '60', '200', '4096'])],
        ['SET', 'str', 'v'],
      ];
      for (let i = 0; i < 350; i++) {
        const key = pick(r, keys);
        const group = pick(r, groups);
        const consumer = pick(r, consumers);
        switch (int(20)) {
          case 0: case 1: case 2: case 3: {
            const top = next.get(key) ?? 1;
            const ms = int(10) === 0 ? top - 1 : top + int(3);
            next.set(key, Math.max(top, ms + 1));
            const id = int(6) === 0 ? `${ms}-*` : int(12) === 0 ? 'bad' : `${ms}-${int(3)}`;
            const trim = int(5) === 0 ? [pick(r, ['MAXLEN', 'MINID']), pick(r, ['=', '~', '']), String(int(12))].filter((x) => x) : [];
            const fields = int(3) === 0 ? ['a', String(i), 'b', String(int(100))] : [pick(r, ['a', 'z']), String(i)];
            cmds.push(['XADD', key, ...(int(10) === 0 ? ['NOMKSTREAM'] : []), ...trim, id, ...fields]);
            break;
          }
          case 4: cmds.push(['XDEL', key, someId(key), ...(int(2) ? [someId(key)] : [])]); break;
          case 5: cmds.push(['XTRIM', key, pick(r, ['MAXLEN', 'MINID']), ...(int(2) ? [pick(r, ['~', '='])] : []), String(int(15)), ...(int(4) === 0 ? ['LIMIT', String(int(5))] : [])]); break;
          case 6: cmds.push(['XRANGE', key, bound(key, false), bound(key, true), ...(int(2) ? ['COUNT', String(int(6) - 1)] : [])]); break;
          case 7: cmds.push(['XREVRANGE', key, bound(key, true), bound(key, false), ...(int(2) ? ['COUNT', String(int(6))] : [])]); break;
          case 8: cmds.push(['XREAD', ...(int(2) ? ['COUNT', String(int(4))] : []), 'STREAMS', key, pick(r, keys), someId(key), pick(r, ['$', '0', someId(key)])]); break;
          case 9: cmds.push(['XGROUP', 'CREATE', key, group, pick(r, ['$', '0', someId(key)]), ...(int(3) === 0 ? ['MKSTREAM'] : []), ...(int(5) === 0 ? ['ENTRIESREAD', String(int(5))] : [])]); break;
          case 10: case 11: cmds.push(['XREADGROUP', 'GROUP', group, consumer, ...(int(2) ? ['COUNT', String(1 + int(3))] : []), ...(int(6) === 0 ? ['NOACK'] : []), 'STREAMS', key, int(4) === 0 ? '0' : '>']); break;
          case 12: cmds.push(['XACK', key, group, someId(key), someId(key)]); break;
          case 13: cmds.push(int(2) ? ['XPENDING', key, group] : ['XPENDING', key, group, bound(key, false), bound(key, true), String(int(5)), ...(int(2) ? [consumer] : [])]); break;
          case 14: cmds.push(['XCLAIM', key, group, consumer, '0', someId(key), someId(key), ...(int(3) === 0 ? ['JUSTID'] : []), ...(int(4) === 0 ? ['FORCE'] : []), ...(int(5) === 0 ? ['LASTID', someId(key)] : [])]); break;
          case 15: cmds.push(['XAUTOCLAIM', key, group, consumer, '0', bound(key, false), 'COUNT', String(1 + int(4)), ...(int(3) === 0 ? ['JUSTID'] : [])]); break;
          case 16: cmds.push(pick(r, [['XINFO', 'STREAM', key], ['XINFO', 'STREAM', key, 'FULL'], ['XINFO', 'GROUPS', key], ['XINFO', 'CONSUMERS', key, group], ['XLEN', key]])); break;
          case 17: cmds.push(pick(r, [['XGROUP', 'SETID', key, group, pick(r, ['$', '0', someId(key)])], ['XGROUP', 'DELCONSUMER', key, group, consumer],
            ['XGROUP', 'CREATECONSUMER', key, group, consumer], ['XGROUP', 'DESTROY', key, group], ['XSETID', key, someId(key)]])); break;
          case 18: cmds.push(pick(r, [['DEBUG', 'DIGEST-VALUE', key], ['TYPE', key], ['XADD', 'str', '1-1', 'a', 'b'], ['XRANGE', 'str', '-', '+'], ['DEL', key], ['COPY', key, `${key}copy`, 'REPLACE']])); break;
          default: cmds.push(['DEBUG', 'DIGEST']);
        }
      }
      cmds.push(['DEBUG', 'DIGEST'], ...keys.map((k) => ['XINFO', 'STREAM', k, 'FULL']));
      await check(cmds, { resp3: seed % 2 === 0 });
    }
  });
});
