// Keyspace notifications (notify-keyspace-events) against the real redis-server: the same
// events, on the same channels, in the same order, for every write command keyfork has and
// for generated sequences; lazy and active expiry, "new" and "keymiss"; RESP2 messages and
// RESP3 push messages, including a RESP3 client that receives the events of its own commands.
import { expect, it } from 'vitest';
import { describeDifferential, formatMismatches, compareOnConnections, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { pick, rng } from '../helpers/random';

const MARKER = 'keyspace-events-test-marker';
/** Stands for the server's own DUMP of a string (RESTORE's payload). */
const DUMPED = 'DUMP-OF-A-STRING';

/** Subscribes to every keyspace/keyevent channel (and a marker channel) on `port`. */
async function subscriber(port: number, resp3: boolean): Promise<RawConnection> {
  const sub = await RawConnection.connect(port, { resp3 });
  await sub.send('PSUBSCRIBE', '__key*__:*');
  await sub.send('SUBSCRIBE', MARKER);
  return sub;
}

/** Every message `sub` received until the marker, as "channel message" lines. */
async function drain(sub: RawConnection, publisher: RawConnection): Promise<string[]> {
  await publisher.send('PUBLISH', MARKER, 'end');
  const lines: string[] = [];
  for (;;) {
    const r = await sub.readReply();
    const parts = r.t === 'array' || r.t === 'push' ? r.v ?? [] : [];
    const text = parts.map((p) => (p.t === 'bulk' && p.v ? p.v.toString('latin1') : formatReply(p)));
    if (text[0] === 'message' && text[1] === MARKER) return lines;
    lines.push(text.slice(1).join(' '));
  }
}

interface Run {
  replies: Reply[];
  events: string[];
}

/** Runs `commands` on a fresh database of `port` with `flags` and returns replies and events. */
async function run(port: number, flags: string, commands: Arg[][], opts: { resp3?: boolean } = {}): Promise<Run> {
  const admin = await RawConnection.connect(port);
  const writer = await RawConnection.connect(port);
  await admin.send('FLUSHALL');
  await admin.send('CONFIG', 'SET', 'notify-keyspace-events', flags);
  await admin.send('SET', 'dumped', 'value');
  const dump = await admin.send('DUMP', 'dumped');
  await admin.send('DEL', 'dumped');
  const payload = dump.t === 'bulk' && dump.v ? dump.v : Buffer.alloc(0);
  const sub = await subscriber(port, opts.resp3 ?? false);
  try {
    const replies: Reply[] = [];
    for (const c of commands) replies.push(await writer.send(...c.map((a) => (a === DUMPED ? payload : a))));
    return { replies, events: await drain(sub, admin) };
  } finally {
    await admin.send('CONFIG', 'SET', 'notify-keyspace-events', '');
    sub.close();
    writer.close();
    admin.close();
  }
}

async function expectSameEvents(servers: BothServers, flags: string, commands: Arg[][], opts: { resp3?: boolean } = {}): Promise<string[]> {
  const [k, r] = await Promise.all([run(servers.keyfork.port, flags, commands, opts), run(servers.redis.port, flags, commands, opts)]);
  const differing = k.replies.flatMap((reply, i) =>
    formatReply(reply) === formatReply(r.replies[i]) ? [] : [`#${i} ${commands[i].map(String).join(' ')}\n  keyfork: ${formatReply(reply)}\n  redis:   ${formatReply(r.replies[i])}`]);
  expect(differing.join('\n')).toBe('');
  expect(k.events.join('\n')).toBe(r.events.join('\n'));
  return r.events;
}

/** Every write command keyfork has, with the edge cases that change which events Redis emits. */
const EVERY_WRITE: Arg[][] = [
  // strings
  ['SET', 's', 'v'], ['SET', 's', 'w', 'EX', '100'], ['SET', 's', 'x', 'NX'], ['SET', 's', 'y', 'XX', 'KEEPTTL'],
  ['SET', 's2', '1', 'PXAT', '99999999999999', 'GET'], ['SETNX', 's3', 'a'], ['SETNX', 's3', 'b'], ['SETEX', 's4', '10', 'v'],
  ['PSETEX', 's5', '10000', 'v'], ['MSET', 'm1', 'a', 'm2', 'b'], ['MSETNX', 'm1', 'a', 'm3', 'c'], ['MSETNX', 'm4', 'a', 'm5', 'b'],
  ['GETSET', 's', 'z'], ['GETSET', 'gs', 'z'], ['GETDEL', 's3'], ['GETDEL', 'nothing'], ['GETEX', 's4', 'EX', '50'],
  ['GETEX', 's4', 'PERSIST'], ['GETEX', 's4', 'PERSIST'], ['GETEX', 's5', 'PXAT', '1'], ['GETEX', 'm1'],
  ['APPEND', 'ap', 'x'], ['APPEND', 'ap', 'y'], ['SETRANGE', 'sr', '3', 'abc'], ['SETRANGE', 'sr', '0', ''], ['SETRANGE', 'sr0', '5', ''],
  ['INCR', 'n'], ['DECR', 'n'], ['INCRBY', 'n', '5'], ['DECRBY', 'n', '2'], ['INCRBYFLOAT', 'n', '1.5'], ['INCR', 's'],
  // bits
  ['SETBIT', 'b', '7', '1'], ['SETBIT', 'b', '7', '1'], ['SETBIT', 'b', '100', '0'], ['BITFIELD', 'bf', 'SET', 'u8', '0', '255', 'GET', 'u8', '0'],
  ['BITFIELD', 'bf', 'SET', 'u8', '0', '255'], ['BITOP', 'OR', 'bo', 'b', 'bf'], ['BITOP', 'AND', 'bo', 'nothing1', 'nothing2'],
  ['BITOP', 'AND', 'bo', 'nothing1'],
  // keys
  ['DEL', 'm2', 'nothing', 'm1'], ['UNLINK', 'm3'], ['RENAME', 'ap', 'ap2'], ['RENAME', 'ap2', 'ap2'], ['RENAMENX', 'ap2', 'n'],
  ['RENAMENX', 'ap2', 'ap3'], ['MOVE', 'ap3', '1'], ['MOVE', 'ap3', '1'], ['COPY', 'n', 'n2'], ['COPY', 'n', 'n2', 'REPLACE'],
  ['COPY', 'n', 'n2', 'DB', '2'], ['EXPIRE', 'n', '100'], ['PEXPIRE', 'n', '100000', 'XX'], ['EXPIREAT', 'n', '99999999999', 'GT'],
  ['PEXPIREAT', 'n', '9999999999999', 'NX'], ['PERSIST', 'n'], ['PERSIST', 'n'], ['EXPIRE', 'n2', '-1'], ['PEXPIREAT', 'gs', '1'],
  ['TOUCH', 's'], ['EXISTS', 's', 'nope'], ['TYPE', 'nope'], ['SWAPDB', '0', '1'], ['SWAPDB', '0', '1'],
  // lists
  ['LPUSH', 'l', 'a', 'b', 'c'], ['RPUSH', 'l', 'd'], ['LPUSHX', 'lx', 'a'], ['RPUSHX', 'l', 'e'], ['LSET', 'l', '0', 'C'],
  ['LINSERT', 'l', 'BEFORE', 'a', 'z'], ['LINSERT', 'l', 'AFTER', 'missing', 'z'], ['LREM', 'l', '0', 'z'], ['LREM', 'l', '0', 'zz'],
  ['LTRIM', 'l', '0', '-1'], ['LPOP', 'l'], ['RPOP', 'l', '2'], ['LPOP', 'l', '0'], ['RPUSH', 'l2', 'x'], ['LMOVE', 'l2', 'l3', 'LEFT', 'RIGHT'],
  ['RPOPLPUSH', 'l3', 'l3'], ['RPOPLPUSH', 'l', 'l4'], ['LMPOP', '2', 'nothing', 'l4', 'LEFT', 'COUNT', '5'], ['LTRIM', 'l', '5', '1'],
  ['RPUSH', 'l5', 'a', 'b'], ['BLPOP', 'l5', '0.01'], ['BRPOP', 'l5', '0.01'], ['BLPOP', 'l5', '0.01'], ['RPUSH', 'l6', 'a'],
  ['BLMOVE', 'l6', 'l7', 'RIGHT', 'LEFT', '0.01'], ['BRPOPLPUSH', 'l7', 'l6', '0.01'], ['BLMPOP', '0.01', '1', 'l6', 'RIGHT'],
  // hashes
  ['HSET', 'h', 'a', '1', 'b', '2'], ['HMSET', 'h', 'a', '3'], ['HSETNX', 'h', 'a', '1'], ['HSETNX', 'h', 'c', '1'], ['HINCRBY', 'h', 'n', '2'],
  ['HINCRBYFLOAT', 'h', 'f', '1.5'], ['HDEL', 'h', 'zz'], ['HDEL', 'h', 'a', 'b'], ['HDEL', 'h', 'c', 'n', 'f'], ['HGET', 'h', 'a'],
  // sets
  ['SADD', 'st', 'a', 'b', 'c'], ['SADD', 'st', 'a'], ['SREM', 'st', 'zz'], ['SREM', 'st', 'a'], ['SMOVE', 'st', 'st2', 'b'],
  ['SMOVE', 'st', 'st2', 'c'], ['SMOVE', 'st2', 'st2', 'b'], ['SADD', 'st3', '1'], ['SPOP', 'st3'], ['SADD', 'st3', '1', '2'],
  ['SPOP', 'st3', '0'], ['SPOP', 'st3', '5'], ['SADD', 'sa', '1', '2', '3'], ['SADD', 'sb', '2', '3', '4'],
  ['SINTERSTORE', 'si', 'sa', 'sb'], ['SUNIONSTORE', 'su', 'sa', 'sb'], ['SDIFFSTORE', 'sd', 'sa', 'sb'], ['SINTERSTORE', 'si', 'sa', 'nothing'],
  ['SDIFFSTORE', 'sd', 'sa', 'sa'], ['SUNIONSTORE', 'nothing3', 'nothing1'],
  // sorted sets
  ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'], ['ZADD', 'z', 'XX', '5', 'new'], ['ZADD', 'z', 'NX', '1', 'a'], ['ZADD', 'z', 'INCR', '2', 'a'],
  ['ZADD', 'zx', 'XX', '1', 'a'], ['ZINCRBY', 'z', '1', 'b'], ['ZREM', 'z', 'zz'], ['ZREM', 'z', 'c'], ['ZADD', 'z', '4', 'd', '5', 'e', '6', 'f'],
  ['ZREMRANGEBYRANK', 'z', '0', '0'], ['ZREMRANGEBYSCORE', 'z', '100', '200'], ['ZREMRANGEBYSCORE', 'z', '4', '4'],
  ['ZREMRANGEBYLEX', 'z', '-', '+'], ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'], ['ZPOPMIN', 'z'], ['ZPOPMAX', 'z', '5'], ['ZPOPMIN', 'z', '0'],
  ['ZADD', 'za', '1', 'x', '2', 'y'], ['ZADD', 'zb', '2', 'y', '3', 'w'], ['ZUNIONSTORE', 'zu', '2', 'za', 'zb'], ['ZINTERSTORE', 'zi', '2', 'za', 'zb'],
  ['ZDIFFSTORE', 'zd', '2', 'za', 'zb'], ['ZDIFFSTORE', 'zd', '2', 'za', 'za'], ['ZRANGESTORE', 'zr', 'za', '0', '-1'], ['ZRANGESTORE', 'zr', 'za', '5', '6'],
  ['ZMPOP', '2', 'nothing', 'za', 'MIN', 'COUNT', '9'], ['BZPOPMIN', 'zb', '0.01'], ['BZPOPMAX', 'zb', '0.01'], ['BZMPOP', '0.01', '1', 'zu', 'MAX'],
  // DUMP/RESTORE
  ['RESTORE', 'r', '0', DUMPED], ['RESTORE', 'r', '0', DUMPED, 'REPLACE'], ['RESTORE', 'r', '1', DUMPED, 'REPLACE', 'ABSTTL'],
  ['RESTORE', 'r2', '100000', DUMPED],
  // scripts (their commands run natively, from Rust)
  ['EVAL', "redis.call('SET', KEYS[1], 'v') redis.call('LPUSH', KEYS[2], 'a') return redis.call('DEL', KEYS[1], KEYS[2])", '2', 'sk', 'sl'],
  // the rest
  ['FLUSHDB'], ['SET', 'a', '1'], ['FLUSHALL'],
];

/** Streams, HyperLogLog, geo and SORT: every command that writes, with the cases that change which events Redis emits. */
const TYPES_WRITES: Arg[][] = [
  // streams (explicit IDs keep the replies equal)
  ['XADD', 'x', '1-1', 'f', 'v'], ['XADD', 'x', '1-2', 'f', 'v'], ['XADD', 'x', 'MAXLEN', '1', '1-3', 'f', 'v'], ['XADD', 'x', 'MAXLEN', '5', '1-4', 'f', 'v'],
  ['XADD', 'nox', 'NOMKSTREAM', '1-1', 'f', 'v'], ['XADD', 'x', '1-1', 'f', 'v'], ['XTRIM', 'x', 'MAXLEN', '1'], ['XTRIM', 'x', 'MAXLEN', '1'],
  ['XTRIM', 'nox', 'MINID', '5'], ['XADD', 'x', '2-1', 'a', '1'], ['XADD', 'x', '2-2', 'b', '2'], ['XDEL', 'x', '2-1', '9-9'], ['XDEL', 'x', '9-9'],
  ['XSETID', 'x', '5-0'], ['XSETID', 'nox', '5-0'], ['XGROUP', 'CREATE', 'x', 'g', '0'], ['XGROUP', 'CREATE', 'x', 'g', '0'],
  ['XGROUP', 'CREATE', 'y', 'g', '$', 'MKSTREAM'], ['XGROUP', 'SETID', 'x', 'g', '0'], ['XGROUP', 'CREATECONSUMER', 'x', 'g', 'c1'],
  ['XGROUP', 'CREATECONSUMER', 'x', 'g', 'c1'], ['XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 'x', '>'], ['XREADGROUP', 'GROUP', 'g', 'c3', 'STREAMS', 'x', '>'],
  ['XREADGROUP', 'GROUP', 'g', 'c2', 'NOACK', 'STREAMS', 'x', '0'], ['XACK', 'x', 'g', '1-4'], ['XCLAIM', 'x', 'g', 'c4', '0', '2-2'],
  ['XCLAIM', 'x', 'g', 'c5', '0', '9-9'], ['XAUTOCLAIM', 'x', 'g', 'c6', '0', '0'], ['XAUTOCLAIM', 'x', 'g', 'c7', '0', '0', 'JUSTID'],
  ['XGROUP', 'DELCONSUMER', 'x', 'g', 'c1'], ['XGROUP', 'DELCONSUMER', 'x', 'g', 'nobody'], ['XGROUP', 'DESTROY', 'x', 'g'],
  ['XGROUP', 'DESTROY', 'x', 'g'], ['XADD', 'x', '*', 'f'], ['DEL', 'x'],
  // HyperLogLog
  ['PFADD', 'h1', 'a', 'b'], ['PFADD', 'h1', 'a'], ['PFADD', 'h2'], ['PFADD', 'h2'], ['PFADD', 'h3', 'c'], ['PFCOUNT', 'h1', 'h3'],
  ['PFCOUNT', 'h1'], ['PFMERGE', 'h4', 'h1', 'h3'], ['PFMERGE', 'h4'], ['PFMERGE', 'h5', 'nothing'], ['PFDEBUG', 'TODENSE', 'h1'],
  ['PFDEBUG', 'GETREG', 'h3'],
  // geo
  ['GEOADD', 'geo', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania'], ['GEOADD', 'geo', 'NX', '13.361389', '38.115556', 'Palermo'],
  ['GEOADD', 'geo', 'XX', 'CH', '13.5', '38.1', 'Palermo'], ['GEORADIUS', 'geo', '15', '37', '200', 'km', 'STORE', 'gs1'],
  ['GEORADIUS', 'geo', '15', '37', '1', 'm', 'STORE', 'gs1'], ['GEORADIUSBYMEMBER', 'geo', 'Palermo', '300', 'km', 'STOREDIST', 'gs2'],
  ['GEOSEARCHSTORE', 'gs3', 'geo', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'], ['GEOSEARCHSTORE', 'gs3', 'geo', 'FROMLONLAT', '0', '0', 'BYBOX', '1', '1', 'km'],
  ['GEOSEARCHSTORE', 'gs3', 'nothing', 'FROMLONLAT', '0', '0', 'BYRADIUS', '1', 'km'], ['GEORADIUS', 'nothing', '0', '0', '1', 'km', 'STORE', 'gs2'],
  ['GEOSEARCH', 'geo', 'FROMMEMBER', 'Catania', 'BYRADIUS', '500', 'km', 'ASC'],
  // SORT
  ['RPUSH', 'sl', '3', '1', '2'], ['SET', 'w_1', '30'], ['SET', 'w_2', '20'], ['SET', 'w_3', '10'], ['SORT', 'sl', 'STORE', 'so'],
  ['SORT', 'sl', 'BY', 'w_*', 'GET', '#', 'GET', 'w_*', 'STORE', 'so'], ['SORT', 'sl', 'LIMIT', '5', '5', 'STORE', 'so'], ['SORT', 'sl', 'LIMIT', '5', '5', 'STORE', 'so'],
  ['SORT', 'nothing', 'STORE', 'so2'], ['SORT_RO', 'sl', 'DESC'], ['SORT', 'sl', 'ALPHA'],
];

/** A seeded random sequence over a few keys of every type, including wrong-type errors. */
function randomSequence(seed: number, length: number): Arg[][] {
  const r = rng(seed);
  const key = () => pick(r, ['a', 'b', 'c', 'd']);
  const num = () => String(Math.floor(r() * 7) - 2);
  const member = () => pick(r, ['x', 'y', 'z', '1', '2']);
  const gens: (() => Arg[])[] = [
    () => ['SET', key(), member()], () => ['SET', key(), member(), pick(r, ['NX', 'XX', 'GET'])], () => ['DEL', key(), key()],
    () => ['INCRBY', key(), num()], () => ['APPEND', key(), member()], () => ['GETDEL', key()], () => ['GET', key()],
    () => ['LPUSH', key(), member(), member()], () => ['RPOP', key()], () => ['LPOP', key(), '2'], () => ['LREM', key(), '0', member()],
    () => ['LMOVE', key(), key(), 'LEFT', 'RIGHT'], () => ['LTRIM', key(), num(), num()], () => ['HSET', key(), member(), member()],
    () => ['HDEL', key(), member(), member()], () => ['HINCRBY', key(), member(), num()], () => ['SADD', key(), member(), member()],
    () => ['SREM', key(), member()], () => ['SMOVE', key(), key(), member()], () => ['SINTERSTORE', key(), key(), key()],
    () => ['SUNIONSTORE', key(), key(), key()], () => ['ZADD', key(), num(), member()], () => ['ZINCRBY', key(), num(), member()],
    () => ['ZREM', key(), member()], () => ['ZPOPMIN', key()], () => ['ZUNIONSTORE', key(), '2', key(), key()],
    () => ['ZREMRANGEBYRANK', key(), num(), num()], () => ['RENAME', key(), key()], () => ['COPY', key(), key(), 'REPLACE'],
    () => ['EXPIRE', key(), num()], () => ['PERSIST', key()], () => ['SETRANGE', key(), '1', member()], () => ['SETBIT', key(), num().replace('-', ''), '1'],
    () => ['EXISTS', key()], () => ['TYPE', key()], () => ['MSET', key(), member(), key(), member()],
  ];
  return Array.from({ length }, () => pick(r, gens)());
}

describeDifferential('keyspace notifications', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('every write command emits the events Redis emits, in its order (KEA)', async () => {
    const events = await expectSameEvents(servers, 'KEA', EVERY_WRITE);
    expect(events.length).toBeGreaterThan(250);
  });

  it('streams, HyperLogLog, geo and SORT emit the events Redis emits, in its order', async () => {
    const events = await expectSameEvents(servers, 'KEAnm', TYPES_WRITES);
    for (const e of ['xadd', 'xtrim', 'xdel', 'xsetid', 'xgroup-create', 'xgroup-setid', 'xgroup-createconsumer', 'xgroup-delconsumer',
      'xgroup-destroy', 'pfadd', 'zadd', 'georadiusstore', 'geosearchstore', 'sortstore']) expect(events.join('\n')).toContain(`:${e} `);
    for (const flags of ['Kt', 'Et', 'E$', 'Ez', 'El', 'Eg', 'Kn']) await expectSameEvents(servers, flags, TYPES_WRITES);
  });

  it('"new" and "keymiss" (not part of A), with the other classes', async () => {
    const events = await expectSameEvents(servers, 'KEAnm', EVERY_WRITE.slice(0, 80));
    expect(events.some((e) => e.endsWith(' new') || e.includes(':new '))).toBe(true);
    expect(events.some((e) => e.includes('keymiss'))).toBe(true);
  });

  it('each class alone, keyspace only and keyevent only', async () => {
    for (const flags of ['Kg', 'E$', 'Kl', 'Es', 'Kh', 'Ez', 'Kx', 'En', 'Km', 'g$lshzt', 'KE']) {
      await expectSameEvents(servers, flags, EVERY_WRITE);
    }
  });

  it('generated sequences', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) await expectSameEvents(servers, 'KEAnm', randomSequence(seed, 150));
  });

  it('RESP3 subscribers get push messages', async () => {
    await expectSameEvents(servers, 'KEA', EVERY_WRITE.slice(0, 60), { resp3: true });
  });

  it('a lazily expired key emits "expired" (then "new" when it is written again)', async () => {
    const commands: Arg[][] = [['SET', 'e', '1', 'PX', '1'], ['DEBUG', 'SLEEP', '0.02'], ['GET', 'e'], ['SET', 'f', '1', 'PX', '1'],
      ['DEBUG', 'SLEEP', '0.02'], ['LPUSH', 'f', 'x'], ['SET', 'g', '1', 'PX', '1'], ['DEBUG', 'SLEEP', '0.02'], ['SINTERSTORE', 'g', 'f', 'f']];
    await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
      const c = await RawConnection.connect(s.port);
      await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      c.close();
    }));
    try {
      await expectSameEvents(servers, 'KEAn', commands);
    } finally {
      await Promise.all([servers.keyfork, servers.redis].map(async (s) => {
        const c = await RawConnection.connect(s.port);
        await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
        c.close();
      }));
    }
  });

  it('the active expire cycle emits "expired" for keys nobody reads', async () => {
    for (const s of [servers.keyfork, servers.redis]) {
      const admin = await RawConnection.connect(s.port);
      await admin.send('FLUSHALL');
      await admin.send('CONFIG', 'SET', 'notify-keyspace-events', 'Ex');
      const sub = await RawConnection.connect(s.port);
      await sub.send('SUBSCRIBE', '__keyevent@0__:expired');
      await admin.send('SET', 'short', 'v', 'PX', '20');
      const msg = await sub.readReply(5000);
      expect(formatReply(msg)).toContain('short');
      await admin.send('CONFIG', 'SET', 'notify-keyspace-events', '');
      sub.close();
      admin.close();
    }
  });

  it('keys evicted under maxmemory emit "evicted" (every key, whichever order the policy picks)', async () => {
    const evictedBy = async (port: number) => {
      const admin = await RawConnection.connect(port);
      const sub = await RawConnection.connect(port);
      try {
        await admin.send('FLUSHALL');
        await admin.send('CONFIG', 'SET', 'notify-keyspace-events', 'Ee');
        await admin.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random');
        await sub.send('SUBSCRIBE', '__keyevent@0__:evicted');
        for (let i = 0; i < 10; i++) await admin.send('SET', `victim:${i}`, 'v');
        await admin.send('CONFIG', 'SET', 'maxmemory', '1');
        // Both servers evict everything they can before refusing the write.
        const reply = formatReply(await admin.send('SET', 'refused', 'v'));
        const keys: string[] = [];
        while (keys.length < 10) {
          const msg = await sub.readReply(5000);
          const parts = msg.t === 'array' || msg.t === 'push' ? msg.v ?? [] : [];
          keys.push(parts[2]?.t === 'bulk' && parts[2].v ? parts[2].v.toString() : formatReply(msg));
        }
        return { reply, keys: keys.sort() };
      } finally {
        await admin.send('CONFIG', 'SET', 'maxmemory', '0');
        await admin.send('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
        await admin.send('CONFIG', 'SET', 'notify-keyspace-events', '');
        sub.close();
        admin.close();
      }
    };
    const [k, r] = [await evictedBy(servers.keyfork.port), await evictedBy(servers.redis.port)];
    expect(k).toEqual(r);
    expect(k.keys).toEqual(Array.from({ length: 10 }, (_, i) => `victim:${i}`).sort());
  });

  it('a RESP3 client subscribed to its own keys gets each event before the reply, also inside EXEC', async () => {
    const script: Arg[][] = [['CONFIG', 'SET', 'notify-keyspace-events', 'KEA'], ['SUBSCRIBE', '__keyspace@0__:own'],
      ['SET', 'own', '1'], ['GET', 'own'], ['MULTI'], ['INCR', 'own'], ['GET', 'own'], ['DEL', 'own'], ['EXEC'], ['PING'],
      ['CONFIG', 'SET', 'notify-keyspace-events', '']];
    const transcript = async (port: number) => {
      const c = await RawConnection.connect(port, { resp3: true });
      c.write(Buffer.concat(script.map(encodeCommand)));
      const seen: string[] = [];
      for (;;) {
        const r = await c.readReply(1500).catch(() => null);
        if (r === null) break;
        seen.push(formatReply(r));
      }
      c.close();
      return seen;
    };
    const [k, r] = await Promise.all([transcript(servers.keyfork.port), transcript(servers.redis.port)]);
    expect(k.join('\n')).toBe(r.join('\n'));
  });

  it('CONFIG SET notify-keyspace-events reads back as Redis prints it', async () => {
    const commands: Arg[][] = [];
    for (const flags of ['KEA', 'AKE', 'gKx', 'Ag', 'KEAnm', 'lsE', 'm', 'n', '$', 'A', 'KEg$lshzxetd', 'bad', '']) {
      commands.push(['CONFIG', 'SET', 'notify-keyspace-events', flags], ['CONFIG', 'GET', 'notify-keyspace-events']);
    }
    const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
    try {
      expect(formatMismatches(await compareOnConnections(k, r, commands))).toBe('');
    } finally {
      k.close();
      r.close();
    }
  });
});
