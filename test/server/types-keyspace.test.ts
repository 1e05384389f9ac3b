// Streams, HyperLogLog and geo keys in the keyspace machinery, differentially against
// redis-server 7.0: WATCH invalidated by their writes (and not by their reads), TYPE, OBJECT
// ENCODING, SCAN TYPE, RENAME / MOVE / COPY / SWAPDB of a stream with its groups, INFO keyspace
// and commandstats; and blocked readers woken when a stream or sorted set arrives at their key by
// RENAME, MOVE, COPY, RESTORE, SWAPDB, GEOADD or GEOSEARCHSTORE.
import { expect, it } from 'vitest';
import { differential as onBoth, replyOrBlocked, untilBlocked, type Scenario } from '../helpers/blocking';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, formatReply, type Arg, type Reply } from '../helpers/resp';
import { zeroStreamTimes } from '../helpers/stream-times';

let servers: BothServers;
const differential = (waiters: number, body: (s: Scenario) => Promise<void>) => onBoth(servers, waiters, body);
const encode = (...args: string[]) => encodeCommand(args);

/** SCAN's key list in hash order, INFO's machine-dependent usec and its hash-ordered lines, stream times. */
function normalize(command: Arg[], reply: Reply): Reply {
  const name = command[0].toString().toUpperCase();
  if (name === 'SCAN' && reply.t === 'array' && reply.v?.length === 2) {
    const [cursor, keys] = reply.v;
    if (keys.t === 'array' && keys.v) return { t: 'array', v: [cursor, { t: 'array', v: [...keys.v].sort((a, b) => formatReply(a).localeCompare(formatReply(b))) }] };
  }
  if (name === 'INFO' && reply.t === 'bulk' && reply.v) {
    // avg_ttl is an estimate the active expire cycle samples when it runs: not compared.
    const lines = reply.v.toString('latin1').split('\r\n').map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+/, 'usec=U').replace(/avg_ttl=\d+/, 'avg_ttl=A'));
    return { t: 'bulk', v: Buffer.from(lines.filter((l) => l && !l.startsWith('#')).sort().join('\n'), 'latin1') };
  }
  return zeroStreamTimes(command, reply);
}

const check = async (commands: Arg[][], resp3 = false) => {
  const mismatches = await compareSequences([['FLUSHALL'], ...commands], { servers, resp3, normalize });
  expect(formatMismatches(mismatches)).toBe('');
};

describeDifferential('streams, HyperLogLog and geo keys in the keyspace vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--save', ''] } });

  it('WATCH: writes to a stream, an HLL or a geo set abort the transaction, reads do not', async () => {
    const txn = (watched: string, between: Arg[]): Arg[][] => [['WATCH', watched], between, ['MULTI'], ['PING'], ['EXEC']];
    await check([
      ['XADD', 's', '1-0', 'f', 'v'], ['XGROUP', 'CREATE', 's', 'g', '0'], ['PFADD', 'h', 'a'], ['GEOADD', 'geo', '13.36', '38.11', 'Palermo'],
      ...txn('s', ['XRANGE', 's', '-', '+']), ...txn('s', ['XINFO', 'STREAM', 's']), ...txn('s', ['XADD', 's', '2-0', 'f', 'v']),
      ...txn('s', ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '>']), ...txn('s', ['XACK', 's', 'g', '1-0']),
      ...txn('s', ['XGROUP', 'CREATECONSUMER', 's', 'g', 'c2']), ...txn('s', ['XTRIM', 's', 'MAXLEN', '100']),
      ...txn('s', ['XTRIM', 's', 'MAXLEN', '1']), ...txn('s', ['XSETID', 's', '5-0']), ...txn('s', ['XDEL', 's', '9-9']),
      ...txn('h', ['PFCOUNT', 'h']), ...txn('h', ['PFADD', 'h', 'a']), ...txn('h', ['PFADD', 'h', 'b']), ...txn('h', ['PFMERGE', 'h2', 'h']),
      ...txn('h2', ['PFMERGE', 'h2', 'h']),
      ...txn('geo', ['GEOPOS', 'geo', 'Palermo']), ...txn('geo', ['GEOSEARCH', 'geo', 'FROMLONLAT', '13', '38', 'BYRADIUS', '100', 'km']),
      ...txn('geo', ['GEOADD', 'geo', 'XX', '13.36', '38.11', 'Palermo']), ...txn('geo', ['GEOADD', 'geo', '15.08', '37.5', 'Catania']),
      ...txn('out', ['GEOSEARCHSTORE', 'out', 'geo', 'FROMLONLAT', '13', '38', 'BYRADIUS', '500', 'km']),
      ...txn('sorted', ['SORT', 'nokey', 'STORE', 'sorted']),
    ]);
  });

  it('TYPE, OBJECT ENCODING, SCAN TYPE, INFO keyspace', async () => {
    await check([
      ['XADD', 's', '1-0', 'f', 'v'], ['PFADD', 'h', 'a', 'b'], ['GEOADD', 'geo', '13.36', '38.11', 'Palermo'], ['SET', 'str', 'x'],
      ['XADD', 'expiring', '1-0', 'f', 'v'], ['EXPIRE', 'expiring', '1000'],
      ['TYPE', 's'], ['TYPE', 'h'], ['TYPE', 'geo'], ['OBJECT', 'ENCODING', 's'], ['OBJECT', 'ENCODING', 'h'], ['OBJECT', 'ENCODING', 'geo'],
      ['SCAN', '0', 'TYPE', 'stream', 'COUNT', '100'], ['SCAN', '0', 'TYPE', 'string', 'COUNT', '100'], ['SCAN', '0', 'TYPE', 'zset', 'COUNT', '100'],
      ['SCAN', '0', 'TYPE', 'STREAM', 'COUNT', '100'], ['INFO', 'keyspace'],
    ]);
  });

  it('RENAME, MOVE, COPY and SWAPDB carry a stream with its groups, consumers and pending entries', async () => {
    const full = (key: string): Arg[] => ['XINFO', 'STREAM', key, 'FULL'];
    await check([
      ['XADD', 's', '1-0', 'f', 'a'], ['XADD', 's', '2-0', 'f', 'b'], ['XADD', 's', '3-0', 'f', 'c'], ['XDEL', 's', '2-0'],
      ['XGROUP', 'CREATE', 's', 'g', '0'], ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '1', 'STREAMS', 's', '>'],
      ['COPY', 's', 'copied'], ['XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 'copied', '>'], full('s'), full('copied'),
      ['XADD', 'copied', '9-0', 'f', 'z'], ['XLEN', 's'], ['XLEN', 'copied'],
      ['RENAME', 's', 'renamed'], ['EXISTS', 's'], full('renamed'), ['XACK', 'renamed', 'g', '1-0'], ['XPENDING', 'renamed', 'g'],
      ['MOVE', 'renamed', '1'], ['SELECT', '1'], full('renamed'), ['COPY', 'renamed', 'back', 'DB', '0'], ['SELECT', '0'], full('back'),
      ['SWAPDB', '0', '1'], ['KEYS', '*'], full('renamed'), ['RENAMENX', 'renamed', 'other'], ['TYPE', 'other'],
      ['PFADD', 'h', 'x', 'y'], ['COPY', 'h', 'h2'], ['PFADD', 'h2', 'z'], ['PFCOUNT', 'h'], ['PFCOUNT', 'h2'], ['RENAME', 'h2', 'h3'], ['GET', 'h3'],
    ]);
  });

  it('commandstats count stream, HLL, geo and SORT calls and their failures', async () => {
    await check([
      ['CONFIG', 'RESETSTAT'],
      ['XADD', 's', '1-0', 'f', 'v'], ['XADD', 's', '1-0', 'f', 'v'], ['XADD', 's'], ['XRANGE', 's', '-', '+'], ['XREAD', 'STREAMS', 's', '0'],
      ['XGROUP', 'CREATE', 's', 'g', '0'], ['XGROUP', 'CREATE', 's', 'g', '0'], ['XGROUP', 'NOSUCH'], ['XINFO', 'STREAM', 's'], ['XINFO', 'GROUPS', 'nokey'],
      ['PFADD', 'h', 'a'], ['PFCOUNT', 'h'], ['SET', 'str', 'x'], ['PFCOUNT', 'str'], ['PFMERGE', 'h', 'str'],
      ['GEOADD', 'geo', '13.36', '38.11', 'Palermo'], ['GEOADD', 'geo', '200', '38', 'bad'], ['GEODIST', 'geo', 'Palermo', 'nobody'],
      ['SORT', 'nokey'], ['SORT', 'str'], ['SORT_RO', 'nokey', 'STORE', 'x'],
      ['INFO', 'commandstats'], ['INFO', 'errorstats'],
    ]);
  });

  it('blocked stream readers are woken by RENAME, MOVE, COPY, RESTORE and SWAPDB bringing a stream', async () => {
    const log = await differential(5, async ({ log, conns: [a, w1, w2, w3, w4, w5] }) => {
      await a.send('XADD', 'src', '5-0', 'f', 'v');
      const dump = await a.send('DUMP', 'src');
      for (const [w, key] of [[w1, 'r'], [w2, 'm'], [w3, 'c'], [w4, 'd'], [w5, 'sw']] as const) w.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', key, '1-0'));
      await untilBlocked(a, 5);
      await a.send('COPY', 'src', 'c');
      log.push(await replyOrBlocked(w3));
      await a.send('RENAME', 'src', 'r');
      log.push(await replyOrBlocked(w1));
      await a.send('SELECT', '1');
      await a.send('XADD', 'm', '7-0', 'f', 'moved');
      await a.send('MOVE', 'm', '0');
      log.push(await replyOrBlocked(w2));
      if (dump.t !== 'bulk' || !dump.v) throw new Error('DUMP answered no payload');
      await a.send('SELECT', '0');
      await a.send('RESTORE', 'd', '0', dump.v);
      log.push(await replyOrBlocked(w4));
      await a.send('SELECT', '1');
      await a.send('XADD', 'sw', '8-0', 'f', 'swapped');
      await a.send('SWAPDB', '0', '1');
      log.push(await replyOrBlocked(w5));
    });
    expect(log.slice(0, 5).every((l) => l !== 'blocked')).toBe(true);
  });

  it('blocked sorted-set pops are woken by GEOADD and GEOSEARCHSTORE', async () => {
    await differential(2, async ({ log, conns: [a, w1, w2] }) => {
      w1.write(encode('BZPOPMIN', 'geo', '0'));
      w2.write(encode('BZPOPMAX', 'near', '0'));
      await untilBlocked(a, 2);
      await a.send('GEOADD', 'geo', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania');
      log.push(await replyOrBlocked(w1));
      await a.send('GEOSEARCHSTORE', 'near', 'geo', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'STOREDIST');
      log.push(await replyOrBlocked(w2));
    });
  });
});
