// Sorted-set commands, differentially against the real redis-server 7.0: fixed edge cases (valid
// and invalid arguments, RESP2 and RESP3 reply shapes, encodings), then seeded random sequences.
// Besides every reply, the changes counted for persistence (dirty) and the keyspace hits/misses
// must move exactly as Redis's do.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, expectSameRepliesAndCounters, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';


const text = (r: Reply): string => (r.t === 'bulk' && r.v ? r.v.toString('latin1') : JSON.stringify(r));
const items = (r: Reply): Reply[] => (r.t === 'array' && r.v ? r.v : []);

let servers: BothServers;



/** ZSCAN over a skiplist walks hash buckets: compare its element pairs as a multiset. */
function normalize(command: Arg[], reply: Reply): Reply {
  const name = command[0].toString().toLowerCase();
  if (name !== 'zscan' || reply.t !== 'array' || !reply.v || reply.v.length !== 2) return reply;
  const flat = items(reply.v[1]);
  const pairs: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push(`${text(flat[i])}\u0000${text(flat[i + 1])}`);
  pairs.sort();
  return { t: 'array', v: [reply.v[0], { t: 'array', v: pairs.map((p) => ({ t: 'bulk', v: Buffer.from(p, 'latin1') })) }] };
}

describeDifferential('sorted sets vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  // Replies must match one by one, and so must the changes counted for persistence (dirty)
  // and the keyspace hits/misses the commands caused.
  const check = (commands: Arg[][], resp3 = false) => expectSameRepliesAndCounters(servers, commands, { resp3, normalize, setup: [['CONFIG', 'SET', 'zset-max-listpack-entries', '128'], ['CONFIG', 'SET', 'zset-max-listpack-value', '64']] });
  const bothProtocols = async (commands: Arg[][]) => {
    await check(commands);
    await check(commands, true);
  };

  it('ZADD options, their conflicts, scores as strtod reads them, ZINCRBY', async () => {
    await bothProtocols([
      ['ZADD', 'z', '1', 'a', '2', 'b', '2', 'c'], ['ZADD', 'z', 'NX', '5', 'a', '3', 'd'], ['ZADD', 'z', 'XX', '7', 'a', '9', 'e'],
      ['ZADD', 'z', 'CH', '1', 'a', '2', 'b', '8', 'f'], ['ZADD', 'z', 'GT', 'CH', '0', 'a', '10', 'b'], ['ZADD', 'z', 'LT', 'CH', '0', 'a', '10', 'c'],
      ['ZADD', 'z', 'XX', 'GT', 'CH', '100', 'a', '100', 'nope'], ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
      ['ZADD', 'z', 'INCR', '5', 'a'], ['ZADD', 'z', 'INCR', 'NX', '5', 'a'], ['ZADD', 'z', 'INCR', 'XX', '5', 'new'],
      ['ZADD', 'z', 'INCR', 'GT', '-1', 'a'], ['ZADD', 'z', 'INCR', 'LT', '-1', 'a'], ['ZADD', 'z', 'INCR', 'GT', '0', 'a'],
      ['ZADD', 'z', 'NX', 'XX', '1', 'a'], ['ZADD', 'z', 'GT', 'LT', '1', 'a'], ['ZADD', 'z', 'NX', 'GT', '1', 'a'], ['ZADD', 'z', 'NX', 'LT', '1', 'a'],
      ['ZADD', 'z', 'INCR', '1', 'a', '2', 'b'], ['ZADD', 'z', '1'], ['ZADD', 'z', 'NX'], ['ZADD', 'z', '1', 'a', '2'], ['ZADD', 'z', 'FOO', '1', 'a'],
      ['ZADD', 'z', 'NX', 'XX', '1'], ['ZADD', 'z', 'x', 'a'], ['ZADD', 'z', '1', 'a', 'x', 'b'], ['ZADD', 'z', 'nan', 'a'],
      ['ZADD', 'z', ' 1', 'a'], ['ZADD', 'z', '1 ', 'a'], ['ZADD', 'z', '1e400', 'a'], ['ZADD', 'z', '1e-400', 'a'], ['ZADD', 'z', '', 'a'],
      ['ZADD', 'h', '0x10', 'a', '0x1.8p1', 'b', '1e-310', 'c', '.5', 'd', '5.', 'e', '+inf', 'f', '-Infinity', 'g', '-0', 'h', '1E3', 'i'],
      ['ZRANGE', 'h', '0', '-1', 'WITHSCORES'], ['ZSCORE', 'h', 'h'],
      ['ZADD', 'z', 'inf', 'a'], ['ZADD', 'z', 'INCR', '-inf', 'a'], ['ZINCRBY', 'z', '-inf', 'a'], ['ZSCORE', 'z', 'a'],
      ['ZINCRBY', 'z', '1.5', 'b'], ['ZINCRBY', 'z', '1', 'fresh'], ['ZINCRBY', 'new', '0.1', 'x'], ['ZINCRBY', 'new', '0.2', 'x'],
      ['ZINCRBY', 'z', 'x', 'b'], ['ZINCRBY', 'z', 'nx', 'b'], ['ZINCRBY', 'z', 'incr', 'b'], ['ZINCRBY', 'z', '1', 'nx'],
      ['ZADD', 'xx', 'XX', '1', 'a'], ['EXISTS', 'xx'], ['ZADD', 'xx', 'XX', 'INCR', '1', 'a'], ['EXISTS', 'xx'],
      ['ZADD', 'n0', 'INCR', '-0', 'a'], ['ZSCORE', 'n0', 'a'], ['ZADD', 'n0', '0', 'a'],
      ['SET', 'str', 'v'], ['ZADD', 'str', '1', 'a'], ['ZADD', 'str', 'x', 'a'], ['ZINCRBY', 'str', '1', 'a'],
      ['ZADD', 'z', '1', Buffer.from([0, 255, 13, 10])], ['ZSCORE', 'z', Buffer.from([0, 255, 13, 10])],
    ]);
  });

  it('single-key reads: ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZREM', async () => {
    await bothProtocols([
      ['ZADD', 'z', '1', 'a', '2', 'b', '2', 'c', '-1', 'd'], ['SET', 'str', 'v'],
      ['ZCARD', 'z'], ['ZCARD', 'nokey'], ['ZCARD', 'str'],
      ['ZSCORE', 'z', 'b'], ['ZSCORE', 'z', 'x'], ['ZSCORE', 'nokey', 'x'], ['ZSCORE', 'str', 'x'],
      ['ZMSCORE', 'z', 'a', 'x', 'd'], ['ZMSCORE', 'nokey', 'a', 'b'], ['ZMSCORE', 'str', 'a'],
      ['ZRANK', 'z', 'a'], ['ZRANK', 'z', 'c'], ['ZRANK', 'z', 'x'], ['ZRANK', 'nokey', 'a'], ['ZRANK', 'str', 'a'],
      ['ZREVRANK', 'z', 'a'], ['ZREVRANK', 'z', 'd'], ['ZREVRANK', 'nokey', 'a'],
      ['ZREM', 'z', 'a', 'x', 'a'], ['ZREM', 'nokey', 'a'], ['ZREM', 'str', 'a'], ['ZREM', 'z', 'b', 'c', 'd', 'e'], ['EXISTS', 'z'],
    ]);
  });

  it('ZRANGE and friends: ranks, scores, lex, REV, LIMIT, WITHSCORES and every option error', async () => {
    const setup: Arg[][] = [
      ['ZADD', 'z', '1', 'a', '2', 'b', '2', 'c', '3', 'd', '-inf', 'm', 'inf', 'p', '2.5', 'x'],
      ['ZADD', 'l', '0', 'a', '0', 'b', '0', 'bb', '0', 'c', '0', 'd', '0', ''], ['SET', 'str', 'v'],
    ];
    const rank = ['0 -1', '1 2', '-2 -1', '-100 100', '3 1', '7 10', '-1 -2', '0 0'].map((s) => s.split(' '));
    const scores = ['-inf +inf', '(1 2', '2 (3', '(2 (2', '2 2', '(-inf (inf', 'inf inf', '-inf -inf', '3 1', ' 2 2.5', '"" 1'].map((s) => s.split(' ').map((x) => (x === '""' ? '' : x)));
    const lex = ['- +', '[b [c', '(b [d', '(a (b', '[bb +', '- (c', '+ -', '[d [a', '[ +', '(b (b', '[b [b'].map((s) => s.split(' '));
    const cmds: Arg[][] = [...setup];
    for (const [a, b] of rank) {
      cmds.push(['ZRANGE', 'z', a, b], ['ZRANGE', 'z', a, b, 'WITHSCORES'], ['ZRANGE', 'z', a, b, 'REV', 'withscores'], ['ZREVRANGE', 'z', a, b, 'WITHSCORES']);
    }
    for (const [a, b] of scores) {
      cmds.push(['ZRANGEBYSCORE', 'z', a, b, 'WITHSCORES'], ['ZREVRANGEBYSCORE', 'z', b, a], ['ZRANGE', 'z', a, b, 'BYSCORE'], ['ZRANGE', 'z', b, a, 'BYSCORE', 'REV', 'WITHSCORES'],
        ['ZRANGEBYSCORE', 'z', a, b, 'LIMIT', '1', '2'], ['ZREVRANGEBYSCORE', 'z', b, a, 'LIMIT', '1', '-1'], ['ZCOUNT', 'z', a, b]);
    }
    for (const [a, b] of lex) {
      cmds.push(['ZRANGEBYLEX', 'l', a, b], ['ZREVRANGEBYLEX', 'l', b, a], ['ZRANGE', 'l', a, b, 'BYLEX', 'LIMIT', '1', '2'],
        ['ZRANGE', 'l', b, a, 'BYLEX', 'REV', 'LIMIT', '0', '2'], ['ZLEXCOUNT', 'l', a, b]);
    }
    for (const [o, c] of [['0', '0'], ['0', '-5'], ['-1', '2'], ['2', '100'], ['6', '1'], ['7', '1'], ['100', '1']]) {
      cmds.push(['ZRANGEBYSCORE', 'z', '-inf', 'inf', 'LIMIT', o, c], ['ZREVRANGEBYSCORE', 'z', 'inf', '-inf', 'WITHSCORES', 'LIMIT', o, c],
        ['ZRANGEBYLEX', 'l', '-', '+', 'LIMIT', o, c], ['ZREVRANGEBYLEX', 'l', '+', '-', 'LIMIT', o, c]);
    }
    cmds.push(
      ['ZRANGE', 'z', '0', '1', 'LIMIT', '0', '1'], ['ZRANGE', 'z', '0', '1', 'REV', 'REV'], ['ZRANGE', 'z', '0', '1', 'BYSCORE', 'BYLEX'],
      ['ZRANGE', 'z', '0', '1', 'BYSCORE', 'BYSCORE'], ['ZRANGE', 'l', '-', '+', 'BYLEX', 'WITHSCORES'], ['ZRANGE', 'z', '0', '1', 'LIMIT', '0'],
      ['ZRANGE', 'z', '0', '1', 'BYSCORE', 'LIMIT', 'x', '1'], ['ZRANGE', 'z', '0', '1', 'BYSCORE', 'LIMIT', '0', 'y', 'FOO'], ['ZRANGE', 'z', '0', '1', 'FOO'],
      ['ZRANGE', 'z', 'a', '1'], ['ZRANGE', 'z', '0', '1.5'], ['ZRANGE', 'z', 'x', '1', 'BYSCORE'], ['ZRANGE', 'z', '(', '1', 'BYSCORE'], ['ZRANGE', 'z', 'a', 'b', 'BYLEX'],
      ['ZRANGEBYSCORE', 'z', 'nan', '1'], ['ZRANGEBYSCORE', 'z', '1 ', '2'], ['ZRANGEBYSCORE', 'z', '0x1', '0x2', 'WITHSCORES'], ['ZRANGEBYSCORE', 'z', '1e400', '2'],
      ['ZRANGEBYSCORE', 'z', '0', '1', 'BYSCORE'], ['ZRANGEBYSCORE', 'z', '0', '1', 'REV'], ['ZRANGEBYSCORE', 'z', '0', '1', 'LIMIT', '1'],
      ['ZREVRANGE', 'z', '0', '1', 'REV'], ['ZREVRANGE', 'z', '0', '1', 'LIMIT', '0', '1'], ['ZRANGEBYLEX', 'l', '-', '+', 'WITHSCORES'],
      ['ZRANGEBYLEX', 'l', 'a', '+'], ['ZRANGEBYLEX', 'l', '+x', '+'], ['ZRANGEBYLEX', 'l', '-', '++'], ['ZRANGEBYLEX', 'l', '', '+'],
      ['ZLEXCOUNT', 'l', 'x', '+'], ['ZCOUNT', 'z', 'x', '1'], ['ZCOUNT', 'z', '1', 'nan'],
      ['ZRANGE', 'nokey', '0', '-1'], ['ZRANGE', 'nokey', 'x', '1'], ['ZRANGEBYSCORE', 'nokey', '0', '1'], ['ZCOUNT', 'nokey', '0', '1'], ['ZLEXCOUNT', 'nokey', '-', '+'],
      ['ZRANGE', 'str', '0', '1'], ['ZRANGE', 'str', 'x', '1'], ['ZRANGEBYLEX', 'str', '-', '+'], ['ZCOUNT', 'str', '0', '1'], ['ZLEXCOUNT', 'str', '-', '+'],
    );
    await bothProtocols(cmds);
  });

  it('lex ranges over unequal scores in a listpack walk exactly as Redis does', async () => {
    const cmds: Arg[][] = [['ZADD', 'mix', '1', 'd', '2', 'a', '3', 'c', '4', 'b', '5', 'e']];
    for (const [a, b] of ['[b [c', '(a +', '- [b', '[c [a', '(c (e', '[a [a'].map((s) => s.split(' '))) {
      cmds.push(['ZRANGEBYLEX', 'mix', a, b], ['ZREVRANGEBYLEX', 'mix', b, a], ['ZLEXCOUNT', 'mix', a, b], ['ZRANGEBYLEX', 'mix', a, b, 'LIMIT', '1', '1']);
    }
    cmds.push(['ZREMRANGEBYLEX', 'mix', '[b', '[c'], ['ZRANGE', 'mix', '0', '-1']);
    await check(cmds);
  });

  it('ZRANGESTORE and ZREMRANGEBY*', async () => {
    await bothProtocols([
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], ['ZADD', 'l', '0', 'a', '0', 'b', '0', 'c'], ['SET', 'str', 'v'],
      ['ZRANGESTORE', 'd', 'z', '1', '3'], ['ZRANGE', 'd', '0', '-1', 'WITHSCORES'], ['OBJECT', 'ENCODING', 'd'],
      ['ZRANGESTORE', 'd', 'z', '(1', '4', 'BYSCORE', 'REV', 'LIMIT', '1', '2'], ['ZRANGESTORE', 'd', 'z', '4', '(1', 'BYSCORE', 'REV', 'LIMIT', '1', '2'],
      ['ZRANGE', 'd', '0', '-1', 'WITHSCORES'], ['ZRANGESTORE', 'd', 'l', '[b', '+', 'BYLEX'], ['ZRANGE', 'd', '0', '-1'],
      ['ZRANGESTORE', 'd', 'z', '10', '20'], ['EXISTS', 'd'], ['ZRANGESTORE', 'd', 'nokey', '0', '-1'],
      ['SET', 'd', 'x'], ['EXPIRE', 'd', '100'], ['ZRANGESTORE', 'd', 'z', '0', '0'], ['TTL', 'd'], ['TYPE', 'd'],
      ['ZRANGESTORE', 'd', 'str', '0', '1'], ['ZRANGESTORE', 'str', 'z', '0', '1'], ['TYPE', 'str'], ['SET', 'str', 'v'],
      ['ZRANGESTORE', 'd', 'z', '0', '1', 'WITHSCORES'], ['ZRANGESTORE', 'd', 'z', '0', '1', 'LIMIT', '0', '1'], ['ZRANGESTORE', 'z', 'z', '0', '2'], ['ZRANGE', 'z', '0', '-1'],
      ['ZADD', 'z', '4', 'd', '5', 'e', '6', 'f'],
      ['ZREMRANGEBYRANK', 'z', '0', '0'], ['ZREMRANGEBYRANK', 'z', '-2', '-1'], ['ZREMRANGEBYRANK', 'z', '5', '1'], ['ZREMRANGEBYRANK', 'z', 'x', '1'],
      ['ZREMRANGEBYRANK', 'nokey', '0', '1'], ['ZREMRANGEBYRANK', 'str', '0', '1'], ['ZREMRANGEBYRANK', 'nokey', 'x', '1'], ['ZRANGE', 'z', '0', '-1'],
      ['ZREMRANGEBYSCORE', 'z', '(3', '4'], ['ZREMRANGEBYSCORE', 'z', 'x', '4'], ['ZREMRANGEBYSCORE', 'z', '10', '1'], ['ZREMRANGEBYSCORE', 'str', '0', '1'],
      ['ZREMRANGEBYLEX', 'l', '(a', '+'], ['ZREMRANGEBYLEX', 'l', 'a', '+'], ['ZREMRANGEBYLEX', 'str', '-', '+'], ['ZRANGE', 'l', '0', '-1'],
      ['ZREMRANGEBYSCORE', 'z', '-inf', '+inf'], ['EXISTS', 'z'], ['ZREMRANGEBYLEX', 'l', '-', '+'], ['EXISTS', 'l'],
    ]);
  });

  it('pops: ZPOPMIN ZPOPMAX ZMPOP and the blocking forms when data is there', async () => {
    await bothProtocols([
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'], ['ZADD', 'y', '7', 'q'], ['SET', 'str', 'v'],
      ['ZPOPMIN', 'z'], ['ZPOPMAX', 'z'], ['ZPOPMIN', 'z', '1'], ['ZPOPMIN', 'z', '0'], ['ZPOPMAX', 'z', '2'],
      ['ZPOPMIN', 'z', '-1'], ['ZPOPMIN', 'z', 'x'], ['ZPOPMIN', 'z', '1', '2'], ['ZPOPMIN', 'nokey'], ['ZPOPMIN', 'nokey', '3'], ['ZPOPMIN', 'nokey', '-1'],
      ['ZPOPMIN', 'str'], ['ZPOPMIN', 'str', '-1'], ['ZPOPMIN', 'z', '100'], ['EXISTS', 'z'],
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'],
      ['ZMPOP', '1', 'z', 'MIN'], ['ZMPOP', '2', 'nokey', 'z', 'MAX', 'COUNT', '5'], ['ZMPOP', '2', 'nokey', 'y', 'min', 'count', '1'],
      ['ZMPOP', '1', 'nokey', 'MIN'], ['ZMPOP', '2', 'str', 'y', 'MIN'], ['ZMPOP', '0', 'z', 'MIN'], ['ZMPOP', 'x', 'z', 'MIN'], ['ZMPOP', '-1', 'z', 'MIN'],
      ['ZMPOP', '1', 'z', 'MID'], ['ZMPOP', '2', 'z', 'MIN'], ['ZMPOP', '9223372036854775807', 'z', 'MIN'], ['ZMPOP', '1', 'z', 'MIN', 'COUNT'],
      ['ZMPOP', '1', 'z', 'MIN', 'COUNT', '0'], ['ZMPOP', '1', 'z', 'MIN', 'COUNT', 'x'], ['ZMPOP', '1', 'z', 'MIN', 'COUNT', '1', 'COUNT', '1'], ['ZMPOP', '1', 'z', 'MIN', 'FOO'],
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e', '6', 'f', '7', 'g', '8', 'h'], ['ZADD', 'w', '9', 'w'],
      ['BZPOPMIN', 'nokey', 'z', '0'], ['BZPOPMAX', 'z', 'w', '0.5'], ['BZPOPMIN', 'str', 'z', '0'], ['BZPOPMIN', 'z', 'x'], ['BZPOPMIN', 'z', '-1'],
      ['BZPOPMIN', 'z', '1e30'], ['BZPOPMIN', 'z', 'inf'], ['BZPOPMIN', 'z', 'nan'], ['BZPOPMIN', 'z', ' 1'], ['BZPOPMIN', 'z', '0x10'], ['BZPOPMIN', 'z', '-0.0001'],
      ['BZMPOP', '0', '1', 'z', 'MAX'], ['BZMPOP', '0', '2', 'nokey', 'w', 'MIN', 'COUNT', '10'], ['ZCARD', 'z'], ['BZMPOP', 'x', '1', 'z', 'MIN'], ['BZMPOP', '-1', '1', 'z', 'MIN'],
      ['BZMPOP', '0', '0', 'z', 'MIN'], ['BZMPOP', '0', '1', 'z', 'FOO'], ['BZMPOP', '0', '1', 'str', 'MIN'], ['BZMPOP', '0', '1', 'z', 'MIN', 'COUNT', '0'],
      // Inside MULTI the blocking forms answer at once: a null array when nothing is there.
      ['MULTI'], ['BZPOPMIN', 'nokey', '0'], ['BZMPOP', '0', '1', 'nokey', 'MIN'], ['BZPOPMAX', 'z', '0'], ['EXEC'],
    ]);
  });

  it('blocking pops time out with a null array and are served by a later write', async () => {
    await check([['BZPOPMIN', 'nokey', '0.05'], ['BZMPOP', '0.05', '1', 'nokey', 'MIN'], ['BZPOPMAX', 'nokey', 'other', '0.01']]);
    for (const port of [servers.keyfork.port, servers.redis.port]) {
      const [waiter, writer] = await Promise.all([RawConnection.connect(port), RawConnection.connect(port)]);
      try {
        const pending = waiter.send('BZMPOP', '5', '2', 'b1', 'b2', 'MAX', 'COUNT', '2');
        await new Promise((r) => setTimeout(r, 50));
        await writer.send('ZADD', 'b2', '1', 'x', '2', 'y', '3', 'z');
        const got = await pending;
        expect(got).toEqual({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('b2') }, { t: 'array', v: [
          { t: 'array', v: [{ t: 'bulk', v: Buffer.from('z') }, { t: 'bulk', v: Buffer.from('3') }] },
          { t: 'array', v: [{ t: 'bulk', v: Buffer.from('y') }, { t: 'bulk', v: Buffer.from('2') }] },
        ] }] });
        expect(await writer.send('ZRANGE', 'b2', '0', '-1')).toEqual({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('x') }] });
        await writer.send('DEL', 'b2');
      } finally {
        waiter.close();
        writer.close();
      }
    }
  });

  it('ZUNION ZINTER ZDIFF, STORE forms, WEIGHTS, AGGREGATE, sets as inputs, ZINTERCARD', async () => {
    await bothProtocols([
      ['ZADD', 'z1', '1', 'a', '2', 'b', '3', 'c'], ['ZADD', 'z2', '10', 'b', '20', 'c', '30', 'd'], ['ZADD', 'z3', 'inf', 'a', '-inf', 'c', '0.1', 'd'],
      ['SADD', 's1', 'a', 'd', 'x'], ['SADD', 'si', '1', '2', 'a'], ['SET', 'str', 'v'],
      ['ZUNION', '2', 'z1', 'z2'], ['ZUNION', '2', 'z1', 'z2', 'WITHSCORES'], ['ZUNION', '3', 'z1', 'z2', 's1', 'WITHSCORES'],
      ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '2', '0.5', 'WITHSCORES'], ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE', 'MIN', 'WITHSCORES'],
      ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE', 'max', 'WEIGHTS', '-1', '1', 'WITHSCORES'], ['ZUNION', '3', 'z1', 'z2', 'z3', 'WITHSCORES'],
      ['ZUNION', '2', 'z1', 'z3', 'WEIGHTS', '0', '1', 'WITHSCORES'], ['ZUNION', '2', 'z3', 'z3', 'WEIGHTS', '1', '-1', 'WITHSCORES'],
      ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '0x2', '1e-2', 'WITHSCORES'],
      ['ZINTER', '2', 'z1', 'z2', 'WITHSCORES'], ['ZINTER', '3', 'z1', 'z2', 'z3', 'WITHSCORES'], ['ZINTER', '2', 'z1', 's1', 'WITHSCORES'],
      ['ZINTER', '2', 'z1', 'z3', 'WEIGHTS', '1', '0', 'WITHSCORES'], ['ZINTER', '2', 'z3', 'z1', 'AGGREGATE', 'MIN', 'WEIGHTS', '0', '1', 'WITHSCORES'],
      ['ZINTER', '2', 'z1', 'nokey'], ['ZINTER', '1', 'si', 'WITHSCORES'], ['ZINTER', '2', 'z3', 'z3', 'WEIGHTS', '1', '-1', 'WITHSCORES'],
      ['ZDIFF', '2', 'z1', 'z2', 'WITHSCORES'], ['ZDIFF', '2', 's1', 'z1', 'WITHSCORES'], ['ZDIFF', '1', 'nokey'], ['ZDIFF', '3', 'z1', 'nokey', 's1'],
      ['ZDIFF', '2', 'z1', 'z2', 'WEIGHTS', '1', '1'], ['ZDIFF', '2', 'z1', 'z2', 'AGGREGATE', 'SUM'],
      ['ZUNION', '0', 'z1'], ['ZUNION', '-1', 'z1'], ['ZUNION', 'x', 'z1'], ['ZUNION', '3', 'z1', 'z2'], ['ZUNION', '2', 'z1', 'str'], ['ZUNION', '2', 'z1', 'str', 'FOO'],
      ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '1'], ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '1', 'x'], ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '1', 'nan'],
      ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE'], ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE', 'AVG'], ['ZUNION', '2', 'z1', 'z2', 'FOO'],
      ['ZUNIONSTORE', 'd', '2', 'z1', 'z2'], ['ZRANGE', 'd', '0', '-1', 'WITHSCORES'], ['OBJECT', 'ENCODING', 'd'],
      ['ZUNIONSTORE', 'd', '2', 'z1', 'z2', 'WITHSCORES'], ['ZUNIONSTORE', 'd', '0', 'z1'], ['ZINTERSTORE', 'd', '0', 'z1'], ['ZDIFFSTORE', 'd', '0', 'z1'],
      ['ZINTERSTORE', 'd', '2', 'z1', 'z2', 'WEIGHTS', '2', '3'], ['ZRANGE', 'd', '0', '-1', 'WITHSCORES'],
      ['ZINTERSTORE', 'd', '2', 'z1', 'nokey'], ['EXISTS', 'd'], ['ZDIFFSTORE', 'd', '2', 'z1', 'z2'], ['ZRANGE', 'd', '0', '-1', 'WITHSCORES'],
      ['ZUNIONSTORE', 'z1', '2', 'z1', 's1'], ['ZRANGE', 'z1', '0', '-1', 'WITHSCORES'], ['ZUNIONSTORE', 'str', '1', 'z2'], ['TYPE', 'str'],
      ['ZINTERCARD', '2', 'z1', 'z2'], ['ZINTERCARD', '2', 'z1', 'z2', 'LIMIT', '1'], ['ZINTERCARD', '2', 'z1', 'z2', 'LIMIT', '0'], ['ZINTERCARD', '2', 'z1', 's1'],
      ['ZINTERCARD', '1', 'nokey'], ['ZINTERCARD', '0', 'z1'], ['ZINTERCARD', 'x', 'z1'], ['ZINTERCARD', '3', 'z1', 'z2'], ['ZINTERCARD', '1', 'z1', 'LIMIT', '-1'],
      ['ZINTERCARD', '1', 'z1', 'LIMIT', 'x'], ['ZINTERCARD', '1', 'z1', 'LIMIT'], ['ZINTERCARD', '1', 'z1', 'WITHSCORES'], ['ZINTERCARD', '1', 'z1', 'LIMIT', '2', 'LIMIT', '3'],
      ['SET', 'str', 'v'], ['ZINTERCARD', '1', 'str', 'LIMIT', 'x'], ['ZINTERCARD', '2', 'z1', 'str'],
    ]);
  });

  it('encodings: listpack limits, one-way conversion, STORE destinations, negative zero', async () => {
    const many = Array.from({ length: 129 }, (_, i) => [String(i % 7), `m${i}`]).flat();
    const long = 'x'.repeat(65);
    await check([
      ['ZADD', 'a', ...many.slice(0, 256)], ['OBJECT', 'ENCODING', 'a'], ['ZADD', 'a', ...many.slice(256)], ['OBJECT', 'ENCODING', 'a'],
      ['ZREMRANGEBYRANK', 'a', '0', '-3'], ['OBJECT', 'ENCODING', 'a'], ['ZRANGE', 'a', '0', '-1', 'WITHSCORES'],
      ['ZADD', 'b', '1', 'x'.repeat(64)], ['OBJECT', 'ENCODING', 'b'], ['ZADD', 'b', '2', long], ['OBJECT', 'ENCODING', 'b'], ['ZREM', 'b', long], ['OBJECT', 'ENCODING', 'b'],
      ['ZADD', 'c', '1', long], ['OBJECT', 'ENCODING', 'c'],
      ['ZUNIONSTORE', 'd', '1', 'b'], ['OBJECT', 'ENCODING', 'd'], ['ZRANGESTORE', 'e', 'a', '0', '0'], ['OBJECT', 'ENCODING', 'e'],
      ['ZADD', 'big', ...Array.from({ length: 200 }, (_, i) => [String(i), `k${i}`]).flat()], ['ZRANGESTORE', 'f', 'big', '0', '127'], ['OBJECT', 'ENCODING', 'f'],
      ['ZRANGESTORE', 'f', 'big', '0', '128'], ['OBJECT', 'ENCODING', 'f'], ['ZRANGESTORE', 'f', 'big', '0', '100', 'BYSCORE'], ['OBJECT', 'ENCODING', 'f'],
      ['ZINTERSTORE', 'g', '2', 'big', 'big'], ['OBJECT', 'ENCODING', 'g'], ['ZDIFFSTORE', 'g', '2', 'big', 'f'], ['OBJECT', 'ENCODING', 'g'],
      ['ZADD', 'nz', '-0', 'a'], ['ZSCORE', 'nz', 'a'], ['ZADD', 'big', '-0', 'nz'], ['ZSCORE', 'big', 'nz'], ['ZRANGEBYSCORE', 'big', '-0', '0', 'WITHSCORES'],
      ['ZRANGESTORE', 'h', 'big', '0', '0', 'BYSCORE'], ['ZSCORE', 'h', 'nz'],
      ['CONFIG', 'SET', 'zset-max-listpack-entries', '0'], ['ZADD', 'i', '1', 'a'], ['OBJECT', 'ENCODING', 'i'],
      ['CONFIG', 'SET', 'zset-max-listpack-entries', '2'], ['ZADD', 'j', '1', 'a', '1', 'a', '1', 'a'], ['OBJECT', 'ENCODING', 'j'], ['ZADD', 'j', '2', 'b', '3', 'c'], ['OBJECT', 'ENCODING', 'j'],
      ['CONFIG', 'SET', 'zset-max-listpack-value', '3'], ['ZUNIONSTORE', 'k', '1', 'j'], ['OBJECT', 'ENCODING', 'k'], ['ZADD', 'l', '1', 'abcd'], ['OBJECT', 'ENCODING', 'l'],
    ]);
  });

  it('ZSCAN: listpacks whole, skiplists by cursor, options and errors', async () => {
    const big = Array.from({ length: 300 }, (_, i) => [String(i / 4), `e${i}`]).flat();
    const cmds: Arg[][] = [
      ['ZADD', 'z', '1', 'a', '2.5', 'b', '-0', 'c', '1e-310', 'd', 'inf', 'e'], ['ZADD', 'big', ...big], ['ZADD', 'big', '-0', 'negz'], ['SET', 'str', 'v'],
      ['ZSCAN', 'z', '0'], ['ZSCAN', 'z', '0', 'MATCH', '[ab]*'], ['ZSCAN', 'z', '0', 'COUNT', '1'], ['ZSCAN', 'z', '', 'MATCH', '*'], ['ZSCAN', 'z', '-1'], ['ZSCAN', 'z', '+0'],
      ['ZSCAN', 'z', ' 0'], ['ZSCAN', 'z', 'x'], ['ZSCAN', 'z', '18446744073709551616'], ['ZSCAN', 'z', '0', 'COUNT', '0'], ['ZSCAN', 'z', '0', 'COUNT', 'x'],
      ['ZSCAN', 'z', '0', 'TYPE', 'zset'], ['ZSCAN', 'z', '0', 'MATCH'], ['ZSCAN', 'z', '0', 'FOO', 'bar'], ['ZSCAN', 'nokey', '0', 'COUNT', '0'], ['ZSCAN', 'str', '0'], ['ZSCAN', 'str', 'x'],
    ];
    await bothProtocols(cmds);
    // A full cursor walk over a skiplist returns every element (with its score) at least once.
    for (const port of [servers.keyfork.port, servers.redis.port]) {
      const conn = await RawConnection.connect(port);
      try {
        const seen = new Map<string, string>();
        let cursor = '0';
        let rounds = 0;
        do {
          const r = await conn.send('ZSCAN', 'big', cursor, 'COUNT', '7', 'MATCH', 'e1*');
          const [next, flat] = items(r);
          cursor = text(next);
          const f = items(flat);
          for (let i = 0; i < f.length; i += 2) seen.set(text(f[i]), text(f[i + 1]));
          rounds++;
        } while (cursor !== '0' && rounds < 10_000);
        const want = Array.from({ length: 300 }, (_, i) => i).filter((i) => String(i).startsWith('1'));
        expect(seen.size).toBe(want.length);
        for (const i of want) expect(seen.get(`e${i}`)).toBe(String(i / 4));
        expect(rounds).toBeGreaterThan(1);
      } finally {
        conn.close();
      }
    }
  });

  it('ZRANDMEMBER: arguments, whole-set replies, sampling properties', async () => {
    await bothProtocols([
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'], ['SET', 'str', 'v'],
      ['ZRANDMEMBER', 'z', '3'], ['ZRANDMEMBER', 'z', '100', 'WITHSCORES'], ['ZRANDMEMBER', 'z', '0'], ['ZRANDMEMBER', 'z', '0', 'WITHSCORES'],
      ['ZRANDMEMBER', 'nokey'], ['ZRANDMEMBER', 'nokey', '5'], ['ZRANDMEMBER', 'nokey', '-5', 'WITHSCORES'], ['ZRANDMEMBER', 'z', 'x'], ['ZRANDMEMBER', 'z', 'x', 'foo'],
      ['ZRANDMEMBER', 'nokey', '1', 'foo'], ['ZRANDMEMBER', 'str', '1', 'foo'], ['ZRANDMEMBER', 'str'], ['ZRANDMEMBER', 'str', '1'], ['ZRANDMEMBER', 'z', '1', 'WITHSCORES', 'x'],
      ['ZRANDMEMBER', 'z', '-9223372036854775808'], ['ZRANDMEMBER', 'z', '-9223372036854775807', 'WITHSCORES'], ['ZRANDMEMBER', 'z', '4611686018427387904', 'WITHSCORES'],
      ['ZADD', 'one', '5', 'only'], ['ZRANDMEMBER', 'one'], ['ZRANDMEMBER', 'one', '-3', 'WITHSCORES'], ['ZRANDMEMBER', 'one', '1', 'WITHSCORES'],
    ]);
    const conn = await RawConnection.connect(servers.keyfork.port);
    try {
      for (const [key, n] of [['small', 20], ['large', 300]] as const) {
        await conn.send('ZADD', key, ...Array.from({ length: n }, (_, i) => [String(i), `m${i}`]).flat());
        for (const count of [1, 5, Math.floor(n / 2) + 1, n - 1]) {
          const got = items(await conn.send('ZRANDMEMBER', key, String(count), 'WITHSCORES')).map(text);
          expect(got.length).toBe(2 * count);
          const members = got.filter((_, i) => i % 2 === 0);
          expect(new Set(members).size).toBe(count);
          for (let i = 0; i < got.length; i += 2) expect(`m${got[i + 1]}`).toBe(got[i]);
        }
        const rep = items(await conn.send('ZRANDMEMBER', key, String(-3 * n))).map(text);
        expect(rep.length).toBe(3 * n);
        expect(rep.every((m) => /^m\d+$/.test(m) && Number(m.slice(1)) < n)).toBe(true);
        expect(new Set(rep).size).toBeGreaterThan(n / 2);
      }
    } finally {
      conn.close();
    }
  });

  // Random sequences over a few keys: "z*" keys get any scores, "l*" keys only score 0 (lex
  // ranges are defined for equal scores), "s1" is a set, "str" a string.
  const generate = (seed: number, length: number): Arg[][] => {
    const r = rng(seed);
    const zkeys = ['z1', 'z2', 'z3', 'nokey', 'str', 's1'];
    const lkeys = ['l1', 'l2'];
    const members = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'aa', '', 'B'];
    const scores = ['0', '1', '-1', '2', '1.5', '3', '-2.25', 'inf', '-inf', '1e3', '0.1', '7'];
    const badScores = ['nan', 'x', ' 1', '1e400', ''];
    const bounds = ['-inf', '+inf', '0', '1', '(1', '2', '(2', '3', '(-inf', '1.5', '(0.1', 'x', 'nan'];
    const lexBounds = ['-', '+', '[a', '(a', '[c', '(c', '[aa', '[', '(', 'a', '[f', '(g'];
    const ints = ['0', '1', '2', '-1', '-2', '5', '-10', '100', 'x'];
    const score = () => (r() < 0.05 ? pick(r, badScores) : pick(r, scores));
    const member = () => pick(r, members);
    const zkey = () => pick(r, zkeys);
    const opts = (...xs: Arg[][]) => xs.filter(() => r() < 0.4).flat();
    const limit = () => (r() < 0.4 ? ['LIMIT', pick(r, ints), pick(r, ints)] : []);
    const cmds: Arg[][] = [['SADD', 's1', 'a', 'c', 'x'], ['SET', 'str', 'v']];
    for (let i = 0; i < length; i++) {
      const k = zkey();
      const lk = pick(r, lkeys);
      const x = r();
      if (x < 0.18) {
        const pairs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => [score(), member()]).flat();
        cmds.push(['ZADD', k, ...opts(['NX'], ['XX'], ['GT'], ['LT'], ['CH'], ['INCR']), ...pairs]);
      } else if (x < 0.24) {
        cmds.push(['ZADD', lk, ...Array.from({ length: 1 + Math.floor(r() * 3) }, () => ['0', member()]).flat()]);
      } else if (x < 0.28) {
        cmds.push(['ZINCRBY', k, score(), member()]);
      } else if (x < 0.33) {
        cmds.push(['ZREM', pick(r, [k, lk]), member(), member()]);
      } else if (x < 0.45) {
        const kind = pick(r, ['rank', 'score', 'lex']);
        const key = kind === 'lex' ? lk : k;
        const range = kind === 'rank' ? [pick(r, ints), pick(r, ints)] : kind === 'score' ? [pick(r, bounds), pick(r, bounds)] : [pick(r, lexBounds), pick(r, lexBounds)];
        const by = kind === 'rank' ? (r() < 0.1 ? ['BYSCORE'] : []) : [kind === 'score' ? 'BYSCORE' : 'BYLEX'];
        cmds.push(['ZRANGE', key, ...range, ...by, ...opts(['REV'], ['WITHSCORES']), ...limit()]);
      } else if (x < 0.55) {
        const c = pick(r, ['ZRANGEBYSCORE', 'ZREVRANGEBYSCORE', 'ZRANGEBYLEX', 'ZREVRANGEBYLEX', 'ZREVRANGE', 'ZCOUNT', 'ZLEXCOUNT']);
        const lexy = c.includes('LEX');
        const range = c === 'ZREVRANGE' ? [pick(r, ints), pick(r, ints)] : lexy ? [pick(r, lexBounds), pick(r, lexBounds)] : [pick(r, bounds), pick(r, bounds)];
        const extra = c.endsWith('COUNT') ? [] : [...opts(['WITHSCORES']), ...limit()];
        cmds.push([c, lexy ? lk : k, ...range, ...extra]);
      } else if (x < 0.62) {
        cmds.push(pick(r, [['ZCARD', k], ['ZSCORE', k, member()], ['ZMSCORE', k, member(), member()], ['ZRANK', k, member()], ['ZREVRANK', lk, member()], ['ZSCAN', lk, '0']]));
      } else if (x < 0.68) {
        const c = pick(r, ['ZREMRANGEBYRANK', 'ZREMRANGEBYSCORE', 'ZREMRANGEBYLEX']);
        const range = c === 'ZREMRANGEBYRANK' ? [pick(r, ints), pick(r, ints)] : c === 'ZREMRANGEBYSCORE' ? [pick(r, bounds), pick(r, bounds)] : [pick(r, lexBounds), pick(r, lexBounds)];
        cmds.push([c, c === 'ZREMRANGEBYLEX' ? lk : k, ...range]);
      } else if (x < 0.76) {
        cmds.push(pick(r, [
          ['ZPOPMIN', k], ['ZPOPMAX', k, pick(r, ints)], ['ZMPOP', '2', k, zkey(), pick(r, ['MIN', 'MAX']), ...(r() < 0.5 ? ['COUNT', pick(r, ints)] : [])],
          ['BZPOPMIN', k, zkey(), '0.01'], ['BZMPOP', '0.01', '1', k, 'MAX'],
        ]));
      } else if (x < 0.9) {
        const op = pick(r, ['ZUNION', 'ZINTER', 'ZDIFF', 'ZUNIONSTORE', 'ZINTERSTORE', 'ZDIFFSTORE', 'ZINTERCARD']);
        const n = 1 + Math.floor(r() * 3);
        const keys = Array.from({ length: n }, () => pick(r, [...zkeys, ...lkeys]));
        const dst = op.endsWith('STORE') ? [pick(r, ['z1', 'z3', 'd1', 'l2'])] : [];
        const extra = op === 'ZINTERCARD' ? opts(['LIMIT', pick(r, ints)])
          : [...opts(['WEIGHTS', ...keys.map(() => pick(r, ['1', '2', '-1', '0.5', '0', 'inf']))], ['AGGREGATE', pick(r, ['SUM', 'MIN', 'MAX'])]), ...(op.endsWith('STORE') ? [] : opts(['WITHSCORES']))];
        cmds.push([op, ...dst, String(r() < 0.05 ? n + 1 : n), ...keys, ...extra]);
      } else {
        cmds.push(pick(r, [
          ['ZRANGESTORE', pick(r, ['d1', 'z2']), k, pick(r, ints), pick(r, ints)], ['ZRANGESTORE', 'd1', lk, pick(r, lexBounds), pick(r, lexBounds), 'BYLEX', ...limit()],
          ['ZRANGE', 'd1', '0', '-1', 'WITHSCORES'], ['OBJECT', 'ENCODING', k], ['ZRANDMEMBER', k, '100', 'WITHSCORES'], ['DEL', k],
        ]));
      }
    }
    return cmds;
  };

  for (const [seed, listpackEntries] of [[1, '128'], [2, '128'], [3, '3'], [4, '0'], [5, '5'], [6, '2'], [7, '128'], [8, '4']] as const) {
    it(`random sequence ${seed} (zset-max-listpack-entries ${listpackEntries}, RESP${seed % 2 === 0 ? 3 : 2})`, async () => {
      const cmds = generate(seed * 7919, 600);
      await check([['CONFIG', 'SET', 'zset-max-listpack-entries', listpackEntries], ...cmds], seed % 2 === 0);
    });
  }
});
