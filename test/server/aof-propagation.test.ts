// What keyfork writes to its AOF for a command sequence, compared with what a real
// redis-server 7.0 writes for the same sequence: Redis's propagation rewrites (absolute times,
// SET ... KEEPTTL for INCRBYFLOAT, SREM for SPOP, the non-blocking forms of blocking pops...),
// MULTI/EXEC around execution units, lazy and active expiry as DEL, SELECT where the db changes.
// Absolute times may differ by the few ms between the two servers' clocks.
import fs from 'node:fs';
import { beforeEach, expect, it } from 'vitest';
import { describeDifferential, useBothServers, type BothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';
import { incrFile, parseAofCommands } from './aof-support';
import { sleep } from './persistence-support';

const ARGS = ['--appendonly', 'yes', '--appendfsync', 'always', '--enable-debug-command', 'yes'];

/** Absolute ms times of the two servers agree within this much. */
const CLOCK_SLACK_MS = 10_000;

function sameWord(k: string, r: string): boolean {
  if (k === r) return true;
  const ts = /^\d{13}$/;
  return ts.test(k) && ts.test(r) && Math.abs(Number(k) - Number(r)) < CLOCK_SLACK_MS;
}

function sameCommands(k: string[][], r: string[][]): boolean {
  return k.length === r.length && k.every((c, i) => c.length === r[i].length && c.every((w, j) => sameWord(w, r[i][j])));
}

const show = (cmds: string[][]) => cmds.map((c) => c.join(' ')).join('\n');

describeDifferential('AOF propagation vs redis-server 7.0', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ARGS }, redis: { args: ARGS } });
  let conns: { k: RawConnection; r: RawConnection };
  let marks: [number, number];

  beforeEach(async () => {
    conns?.k.close();
    conns?.r.close();
    const [k, r] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
    conns = { k, r };
    await Promise.all([k.send('FLUSHALL'), r.send('FLUSHALL')]);
    marks = [fs.statSync(incrFile(servers.keyfork)).size, fs.statSync(incrFile(servers.redis)).size];
  });

  /** What each server appended since the test began. */
  function appended(): [string[][], string[][]] {
    const read = (s: RunningServer, from: number) => parseAofCommands(fs.readFileSync(incrFile(s)).subarray(from));
    return [read(servers.keyfork, marks[0]), read(servers.redis, marks[1])];
  }

  async function both(...commands: Arg[][]): Promise<void> {
    for (const c of commands) {
      const [k, r] = await Promise.all([conns.k.send(...c), conns.r.send(...c)]);
      // A whole set popped comes in each server's own set order.
      const key = (reply: unknown) => {
        const items = (reply as { t: string; v: unknown[] }).v;
        return String(c[0]).toUpperCase() === 'SPOP' && Array.isArray(items) ? items.map((i) => JSON.stringify(i)).sort().join() : JSON.stringify(reply);
      };
      expect(key(k), c.join(' ')).toBe(key(r));
    }
  }

  function expectSameAof(): string[][] {
    const [k, r] = appended();
    expect(sameCommands(k, r), `keyfork:\n${show(k)}\n\nredis:\n${show(r)}`).toBe(true);
    return k;
  }

  const P = (s: string) => s.split(' ');

  it('transactions: one command is not wrapped, several are, reads propagate nothing, SELECT inside', async () => {
    await both(P('MULTI'), P('SET a 1'), P('EXEC'));
    await both(P('MULTI'), P('SET a 1'), P('SET b 2'), P('EXEC'));
    await both(P('MULTI'), P('GET a'), P('EXISTS b'), P('EXEC'));
    await both(P('MULTI'), P('SET a 1'), P('SELECT 1'), P('SET b 2'), P('EXEC'));
    await both(P('SET c 3'), P('SELECT 0'), P('MULTI'), P('SET x 1'), P('DISCARD'));
    await both(P('MULTI'), P('INCR n'), P('INCR n'), P('GET n'), P('EXEC'));
    expectSameAof();
  });

  it('strings: SET options, SETEX, GETSET, GETDEL, GETEX, INCRBYFLOAT', async () => {
    await both(
      P('SET k v EX 100'), P('SET k v PX 100000'), P('SET k v EXAT 2000000000'), P('SET k v PXAT 2000000000123'),
      P('SET k2 v KEEPTTL'), P('SET k v GET EX 5'), P('SET k v GET'), P('SET k v get KEEPTTL GET'), P('SETEX k 10 v'),
      P('PSETEX k 10000 v'), P('SETNX k v'), P('SETNX k3 v'), P('SET k v NX'), P('SET k v XX'), P('SET missing v XX'),
      P('GETSET k w'), P('GETDEL k'), P('GETDEL k'), P('SET g v'), P('GETEX g'), P('GETEX g EX 100'),
      P('GETEX g PX 100000'), P('GETEX g EXAT 2000000000'), P('GETEX g PERSIST'), P('GETEX g PERSIST'),
      P('GETEX g PXAT 1'), P('GETEX nokey EX 10'), P('SET f 1.5'), P('INCRBYFLOAT f 2'), P('INCRBYFLOAT f 1e3'),
      P('SET n 10'), P('INCRBY n 5'), P('DECR n'), P('APPEND n x'), P('SETRANGE n 5 y'), P('MSET a 1 b 2'),
      P('MSETNX a 1 c 3'), P('MSETNX c 3 d 4'),
    );
    expectSameAof();
  });

  it('the EXPIRE family as PEXPIREAT, times already past as DEL, PERSIST', async () => {
    await both(
      P('EXPIRE nokey 10'), P('SET k v'), P('EXPIRE k 100'), P('PEXPIRE k 100000'), P('EXPIREAT k 2000000000'),
      P('PEXPIREAT k 2000000000000'), P('EXPIRE k 100 NX'), P('EXPIRE k 200 XX'), P('pexpire k 300000 gt'),
      P('EXPIRE k 10 GT'), P('PERSIST k'), P('PERSIST k'), P('EXPIRE k -1'), P('SET k v'), P('EXPIREAT k 1'),
      P('SET k v'), P('PEXPIRE k 0'), P('SET k v'), P('PEXPIREAT k 1 XX'),
    );
    expectSameAof();
  });

  it('collections: HINCRBYFLOAT, SPOP, pops with counts, LMPOP / ZMPOP, ZINCRBY', async () => {
    await both(
      P('HSET h f 1.5'), P('HINCRBYFLOAT h f 1'), P('HINCRBYFLOAT h g 2.0e0'), P('HDEL h g nope'),
      P('SADD s a'), P('SPOP s'), P('SPOP s'), P('SADD s a b c'), P('SPOP s 0'), P('SPOP s 3'), P('SADD s x'), P('SPOP s 10'),
      P('SADD s y z'), P('SMOVE s s2 y'), P('SREM s z nope'),
      P('RPUSH l a b c d e f'), P('LPOP l'), P('RPOP l 2'), P('LPOP nokey'), P('LMPOP 1 l LEFT COUNT 10'),
      P('RPUSH l a b'), P('LMPOP 2 nokey l RIGHT'), P('LMOVE l l2 LEFT RIGHT'), P('RPOPLPUSH l2 l3'),
      P('ZADD z 1 a 2 b 3 c 4 d 5 e'), P('ZPOPMIN z'), P('ZPOPMAX z 1'), P('ZMPOP 1 z MIN'), P('ZMPOP 1 z MAX COUNT 10'),
      P('ZADD z 1 a'), P('ZINCRBY z 1.5 a'), P('ZADD z INCR 2 a'), P('ZADD z NX 5 a'), P('ZREM z a'),
    );
    expectSameAof();
  });

  it('blocking pops that find data at once propagate their non-blocking forms', async () => {
    await both(
      P('RPUSH l a b c d e'), P('BLPOP l 0'), P('BRPOP nokey l 0'), P('BLMOVE l l2 LEFT right 0'), P('BRPOPLPUSH l l2 0'),
      P('BLMPOP 0 1 l2 RIGHT COUNT 5'), P('BLMPOP 0 2 nokey l LEFT'), P('ZADD z 1 a 2 b 3 c'), P('BZPOPMIN z 0'),
      P('BZPOPMAX z 0'), P('BZMPOP 0 1 z MIN COUNT 3'), P('MULTI'), P('BLPOP nothing 0'), P('EXEC'),
    );
    expectSameAof();
  });

  it('clients served after blocking get the forms Redis writes for them', async () => {
    const pushes = [P('RPUSH q1 a'), P('RPUSH q2 a b'), P('ZADD z1 1 a 2 b'), P('ZADD z2 1 a 2 b'), P('RPUSH q3 x y'), P('RPUSH q4 m'), P('RPUSH q5 n')];
    const waiting = [P('BRPOPLPUSH q1 d1 0'), P('BLMPOP 0 2 q0 q2 RIGHT COUNT 3'), P('BZPOPMIN z1 0'), P('BZMPOP 0 1 z2 MAX COUNT 5'),
      P('BLMPOP 0 1 q3 left'), P('BLMOVE q4 d4 right LEFT 0'), P('BLPOP q5 0')];
    for (let i = 0; i < waiting.length; i++) {
      const [bk, br] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
      const replies = Promise.all([bk.send(...waiting[i]), br.send(...waiting[i])]);
      await sleep(50);
      await both(pushes[i]);
      const [k, r] = await replies;
      expect(JSON.stringify(k)).toBe(JSON.stringify(r));
      bk.close();
      br.close();
    }
    expectSameAof();
  });

  it('streams: generated IDs and approximate trims as what they became; XTRIM, XDEL, groups, XSETID', async () => {
    // IDs after 99999999999999-5 do not depend on the clock: `*` gives the next sequence on both
    // servers. An approximate trim with LIMIT is left out: Redis 7.0 propagates it as `= <n>
    // LIMIT <count>`, which its own AOF loader then refuses (LIMIT needs `~`); keyfork writes it as given.
    await both(
      P('XADD s 99999999999999-5 f v'), P('XADD s * f v'), P('XADD s 99999999999999-* f v'), P('XADD s 99999999999999-9 f v'),
      ...Array.from({ length: 120 }, (_, i) => P(`XADD t MAXLEN ~ 10 1-${i + 1} n ${i}`)), P('XADD t MINID ~ 1-50 1-500 n x'),
      P('XADD t MAXLEN = 100 1-501 n y'), P('XTRIM t MAXLEN ~ 20'), P('XTRIM t MAXLEN 30'), P('CONFIG SET stream-node-max-entries 4'),
      ...Array.from({ length: 40 }, (_, i) => P(`XADD w 1-${i + 1} n ${i}`)), P('XTRIM w MAXLEN ~ 10'), P('XTRIM w MINID ~ 1-30'),
      P('CONFIG SET stream-node-max-entries 100'),
      P('XTRIM t MINID ~ 1-300'), P('XDEL t 1-501 1-1'), P('XGROUP CREATE t g $'), P('XGROUP CREATE u g 0 MKSTREAM'),
      P('XGROUP SETID t g 0'), P('XGROUP CREATECONSUMER t g alice'), P('XGROUP DELCONSUMER t g alice'), P('XGROUP DESTROY t g'),
      P('XSETID u 5-5'), P('XADD s NOMKSTREAM * f v'), P('XADD nokey NOMKSTREAM * f v'),
    );
    expectSameAof();
  });

  it('consumer groups: XREADGROUP, XCLAIM and XAUTOCLAIM as XCLAIM ... FORCE JUSTID LASTID, XGROUP SETID and CREATECONSUMER; replay gives the same groups', async () => {
    await both(
      P('XADD s 1-1 a 1'), P('XADD s 1-2 b 2'), P('XADD s 1-3 c 3'), P('XGROUP CREATE s g 0'),
      P('XREADGROUP GROUP g alice COUNT 2 STREAMS s >'), P('XREADGROUP GROUP g bob NOACK STREAMS s >'),
      P('XREADGROUP GROUP g alice STREAMS s 0'), P('XREADGROUP GROUP g carol STREAMS s >'), P('XREADGROUP GROUP g dave NOACK STREAMS s >'),
      P('XDEL s 1-2'), P('XCLAIM s g erin 0 1-1 1-2'), P('XCLAIM s g erin 0 1-3 LASTID 5-0'), P('XCLAIM s g erin 0 LASTID 6-0 JUSTID'),
      P('XCLAIM s g erin 0 1-1 RETRYCOUNT 7 TIME 1000 JUSTID'), P('XCLAIM s g erin 0 1-3 FORCE'),
      P('XADD s 7-1 d 4'), P('XREADGROUP GROUP g alice STREAMS s >'), P('XDEL s 7-1'), P('XAUTOCLAIM s g frank 0 0'),
      P('XAUTOCLAIM s g frank 0 0 JUSTID'), P('XAUTOCLAIM s g frank 0 0 COUNT 1'),
      P('XADD s 8-1 e 5'), P('XADD s 8-2 f 6'), P('XADD t 1-1 x 1'), P('XGROUP CREATE t g 0'),
      P('XREADGROUP GROUP g gina NOACK COUNT 1 STREAMS s t > >'), P('XREADGROUP GROUP g gina STREAMS s t > >'),
      P('MULTI'), P('XADD s 9-1 g 7'), P('XREADGROUP GROUP g hank STREAMS s >'), P('EXEC'),
      P('XGROUP SETID s g 0'), P('XREADGROUP GROUP g ivan COUNT 1 STREAMS s >'), P('XCLAIM s g erin 0 9-9'),
    );
    // Served after blocking: with and without NOACK (the consumer is created as it is served).
    await both(P('XGROUP CREATE b g $ MKSTREAM'), P('XGROUP CREATE c g $ MKSTREAM'));
    for (const [read, write] of [[P('XREADGROUP GROUP g jack BLOCK 0 STREAMS b >'), P('XADD b 1-1 h 8')],
      [P('XREADGROUP GROUP g kate NOACK BLOCK 0 STREAMS c >'), P('XADD c 2-1 y 2')]]) {
      const [bk, br] = await Promise.all([RawConnection.connect(servers.keyfork.port), RawConnection.connect(servers.redis.port)]);
      const replies = Promise.all([bk.send(...read), br.send(...read)]);
      await sleep(50);
      await both(write);
      const [k, r] = await replies;
      expect(JSON.stringify(k)).toBe(JSON.stringify(r));
      bk.close();
      br.close();
    }
    const k = expectSameAof();
    expect(k.filter((c) => c[0] === 'XCLAIM').length).toBeGreaterThan(10);
    expect(k.some((c) => c[0] === 'XREADGROUP' || c[0] === 'XAUTOCLAIM')).toBe(false);
    // Replaying the AOF rebuilds the groups as Redis's replay does: PELs with their delivery
    // times and counts, consumers, last IDs. Consumers' seen-time is the time of the replay, and
    // Redis 7.0's own replay loses a group's entries-read (and so its lag) when only XCLAIM's
    // LASTID moved it: keyfork's replay must end where Redis's does.
    const blank = (r: Reply, names: string[]): Reply => (r.t === 'array' && r.v
      ? { t: 'array', v: r.v.map((x, i) => (i > 0 && names.includes(formatReply(r.v![i - 1])) ? { t: 'null' } : blank(x, names))) }
      : r);
    const untimed = (r: Reply): Reply => (r.t === 'array' && r.v ? { t: 'array', v: r.v.map(untimed) } : r.t === 'int' && r.v > 1e12 ? { t: 'int', v: 0 } : r);
    const streams = async (conn: RawConnection): Promise<Reply> =>
      blank({ t: 'array', v: await Promise.all(['s', 't', 'b', 'c'].map((key) => conn.send('XINFO', 'STREAM', key, 'FULL'))) }, ['"seen-time"']);
    const before = await Promise.all([streams(conns.k), streams(conns.r)]);
    await both(P('DEBUG LOADAOF'));
    const after = await Promise.all([streams(conns.k), streams(conns.r)]);
    expect(formatReply(untimed(before[0]))).toBe(formatReply(untimed(before[1])));
    expect(formatReply(untimed(after[0]))).toBe(formatReply(untimed(after[1])));
    const counterless = (r: Reply) => formatReply(blank(r, ['"entries-read"', '"lag"']));
    expect(counterless(after[0])).toBe(counterless(before[0]));
  });

  it('DEBUG LOADAOF and DEBUG RELOAD empty the data without propagating it: a restart finds every key and library', async () => {
    const lib = "#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    await both(P('SET a 1'), ['FUNCTION', 'LOAD', lib], P('DEBUG LOADAOF'), P('SET b 2'), P('DEBUG RELOAD'), P('SET c 3'), P('DEBUG LOADAOF'),
      P('MGET a b c'), ['FCALL', 'f', '0']);
    expect(expectSameAof().some((c) => c[0] === 'FLUSHALL')).toBe(false);
  });

  it('keyspace commands, FLUSHALL on an empty server, RESTORE with relative TTLs', async () => {
    const [dump] = await Promise.all([conns.k.send('SET', 'src', 'value'), conns.r.send('SET', 'src', 'value')]).then(async () => [
      await conns.k.send('DUMP', 'src'),
    ]);
    const payload = (dump as { v: Buffer }).v;
    await both(
      P('SET a 1'), P('COPY a b'), P('COPY a c DB 2'), P('MOVE b 3'), P('RENAME a d'), P('RENAME nokey e'), P('RENAMENX d c'),
      P('DEL c d nokey'), P('UNLINK src'), P('SWAPDB 0 1'), P('SWAPDB 0 1'), P('FLUSHDB'), P('FLUSHALL'), P('FLUSHALL ASYNC'),
      ['RESTORE', 'r', '100000', payload], ['RESTORE', 'r2', '0', payload], ['RESTORE', 'r', '2000000000000', payload, 'ABSTTL', 'REPLACE'],
      ['RESTORE', 'r2', '1', payload, 'ABSTTL', 'REPLACE'], ['RESTORE', 'r3', '1', payload, 'ABSTTL'],
    );
    expectSameAof();
  });

  it('lazy expiry is a DEL, wrapped with the command or transaction that found it', async () => {
    await both(P('DEBUG SET-ACTIVE-EXPIRE 0'), P('SET e1 v PX 1'), P('SET e2 v PX 1'), P('SET e3 v PX 1'), P('SET e4 v PX 1'), P('SET e5 v PX 1'));
    await sleep(30);
    await both(P('GET e1'), P('SET e2 new'), P('MULTI'), P('SET a 1'), P('GET e3'), P('EXEC'), P('MULTI'), P('GET e4'), P('EXISTS e5'), P('EXEC'));
    await both(P('DEBUG SET-ACTIVE-EXPIRE 1'));
    expectSameAof();
  });

  it('SCAN and RANDOMKEY leave their lazy-expiry DELs unwrapped at top level, wrapped inside MULTI (CMD_TOUCHES_ARBITRARY_KEYS)', async () => {
    const expiring = (db: number, prefix: string) => [P(`SELECT ${db}`), P(`SET ${prefix}1 v PX 1`), P(`SET ${prefix}2 v PX 1`)];
    await both(P('DEBUG SET-ACTIVE-EXPIRE 0'), ...expiring(0, 's'), ...expiring(1, 'r'), ...expiring(2, 'm'));
    await sleep(30);
    await both(P('SELECT 0'), P('SCAN 0 COUNT 100'), P('SELECT 1'), P('RANDOMKEY'), P('SELECT 2'), P('MULTI'), P('SCAN 0 COUNT 100'), P('EXEC'));
    await both(P('SELECT 0'), P('DEBUG SET-ACTIVE-EXPIRE 1'));
    // Each server deletes in its own table order: compare with the key's number left out.
    const [k, r] = appended().map((cmds) => cmds.map((c) => c.join(' ').replace(/^DEL ([srm])\d$/, 'DEL $1#').replace(/PXAT \d{13}$/, 'PXAT T')));
    expect(k).toEqual(r);
    expect(r.slice(-10)).toEqual(['SELECT 0', 'DEL s#', 'DEL s#', 'SELECT 1', 'DEL r#', 'DEL r#', 'SELECT 2', 'MULTI', 'DEL m#', 'DEL m#', 'EXEC'].slice(-10));
  });

  it('DEBUG AOF-FLUSH-SLEEP makes each write of the AOF buffer wait first (0 turns it off)', async () => {
    const timed = async (conn: RawConnection) => {
      const t = performance.now();
      expect(await conn.send('SET', 'slept', 'v')).toEqual({ t: 'simple', v: 'OK' });
      return performance.now() - t;
    };
    for (const conn of [conns.k, conns.r]) {
      expect(await conn.send('DEBUG', 'AOF-FLUSH-SLEEP', '300000')).toEqual({ t: 'simple', v: 'OK' });
      expect(await timed(conn)).toBeGreaterThanOrEqual(290);
      expect(await conn.send('DEBUG', 'AOF-FLUSH-SLEEP', '0')).toEqual({ t: 'simple', v: 'OK' });
      expect(await timed(conn)).toBeLessThan(250);
    }
    expectSameAof();
  });

  it('lazyfree-lazy-expire yes: expired keys propagate as UNLINK', async () => {
    await both(P('CONFIG SET lazyfree-lazy-expire yes'), P('DEBUG SET-ACTIVE-EXPIRE 0'), P('SET u1 v PX 1'), P('SET u2 v PX 1'));
    await sleep(30);
    await both(P('GET u1'), P('EXPIRE u2 -1'), P('DEBUG SET-ACTIVE-EXPIRE 1'), P('CONFIG SET lazyfree-lazy-expire no'));
    expect(expectSameAof().map((c) => c[0])).toContain('UNLINK');
  });

  it('active expiry propagates one DEL per key, never wrapped', async () => {
    // Active expiry waits until every key is written: on a loaded machine a cycle between the
    // SETs expires the first keys before SELECT 5 is propagated, and the SELECTs differ.
    await both(P('DEBUG SET-ACTIVE-EXPIRE 0'), P('SET x1 v PX 1'), P('SET x2 v PX 1'), P('SET x3 v PX 1'), P('SELECT 5'), P('SET x4 v PX 1'), P('SELECT 0'));
    await sleep(5);
    await both(P('DEBUG SET-ACTIVE-EXPIRE 1'));
    const gone = async (conn: RawConnection) => {
      for (let i = 0; i < 100; i++) {
        const info = (await conn.send('INFO', 'keyspace')) as { v: Buffer };
        if (!String(info.v).includes('keys=')) return;
        await sleep(50);
      }
    };
    await Promise.all([gone(conns.k), gone(conns.r)]);
    const [k, r] = appended();
    // The cycle visits keys in hash order, which differs: compare what was written, not the order.
    const sorted = (cmds: string[][]) => cmds.map((c) => c.join(' ')).filter((c) => !c.startsWith('SET')).sort();
    expect(sorted(k)).toEqual(sorted(r));
    expect(k.some((c) => c[0] === 'MULTI')).toBe(false);
  });

  it('eviction propagates a DEL per evicted key (UNLINK under lazyfree-lazy-eviction), as Redis does', async () => {
    try {
      await both(P('SET a 1'), P('SET b 2'), P('SET c 3'), P('CONFIG SET maxmemory-policy allkeys-random'));
      // Lowering maxmemory below what is used evicts at once, inside CONFIG SET.
      await both(P('CONFIG SET maxmemory 1'), P('CONFIG SET maxmemory 0'), P('DBSIZE'));
      await both(P('CONFIG SET lazyfree-lazy-eviction yes'), P('SET d 4'), P('CONFIG SET maxmemory 1'), P('CONFIG SET maxmemory 0'));
    } finally {
      await both(P('CONFIG SET maxmemory 0'), P('CONFIG SET lazyfree-lazy-eviction no'), P('CONFIG SET maxmemory-policy noeviction'));
    }
    const [k, r] = appended();
    // Which key goes first is random: compare what was written, in each server's order.
    const sorted = (cmds: string[][]) => cmds.map((c) => c.join(' ')).sort();
    expect(sorted(k), `keyfork:\n${show(k)}\n\nredis:\n${show(r)}`).toEqual(sorted(r));
    expect(k.filter((c) => c[0] === 'DEL').length).toBe(3);
    expect(k.filter((c) => c[0] === 'UNLINK')).toEqual([['UNLINK', 'd']]);
  });

  it('SPOP with a count below the set size is one SREM per member, in one transaction', async () => {
    await both(P('SADD s a b c d e f'), P('SCARD s'));
    await Promise.all([conns.k.send('SPOP', 's', '3'), conns.r.send('SPOP', 's', '3')]);
    const [k, r] = appended();
    const shape = (cmds: string[][]) => cmds.map((c) => (c[0] === 'SREM' ? 'SREM s *' : c.join(' ')));
    expect(shape(k)).toEqual(shape(r));
    expect(shape(k)).toContain('SREM s *');
  });
  it('scripts propagate their effects: one command bare, several in MULTI/EXEC, with the rewrites and redis.set_repl', async () => {
    const E = (body: string, ...rest: string[]) => ['EVAL', body, String(rest.length ? 1 : 0), ...rest];
    await both(
      E("redis.call('SET', KEYS[1], '1')", 'a'),
      E("redis.call('SET', 'b', '2') redis.call('INCR', 'n')"),
      E("return redis.call('GET', 'a')"),
      E("redis.call('SET', 'c', '3', 'EX', '100') redis.call('INCRBYFLOAT', 'f', '1.5') return redis.call('GETDEL', 'a')"),
      E("redis.call('SELECT', '2') redis.call('SET', 'z', '1')"),
      P('SET back 0'),
      E("redis.set_repl(redis.REPL_NONE) redis.call('SET', 'hidden', '1') redis.set_repl(redis.REPL_REPLICA) redis.call('SET', 'replicas', '1') redis.set_repl(redis.REPL_ALL) redis.call('SET', 'shown', '1')"),
      E("redis.call('SET', 'p', '1') return redis.call('INCR', 'p2', 'extra')"),
      E("redis.call('SET', 'p3', 'x') redis.call('INCR', 'p3')"),
      E("redis.call('PUBLISH', 'ch', 'm')"),
      P('MULTI'), E("redis.call('SET', 'm1', '1')"), P('SET m2 2'), P('EXEC'),
      P('SCRIPT LOAD return 1'),
    );
    const lib = "#!lua name=lib\nredis.register_function('f', function(keys, args) redis.call('SET', keys[1], args[1]) redis.call('INCR', 'cnt') end)";
    await both(['FUNCTION', 'LOAD', lib], ['FCALL', 'f', '1', 'fk', 'fv'], ['FUNCTION', 'DELETE', 'lib'], ['FUNCTION', 'FLUSH']);
    const k = expectSameAof();
    expect(k.map((c) => c[0])).toContain('MULTI');
    expect(k.some((c) => c[1] === 'hidden')).toBe(false);
  });

  it('redis.set_repl holds for a user with ACL restrictions (its calls run through TypeScript\'s dispatch)', async () => {
    await both(P('ACL SETUSER restricted on nopass +@all ~* resetchannels'), P('AUTH restricted x'));
    const E = (body: string) => ['EVAL', body, '0'];
    await both(
      E("redis.set_repl(redis.REPL_NONE) redis.call('SET', 'hidden', '1') redis.set_repl(redis.REPL_REPLICA) redis.call('SET', 'replicas', '1') redis.set_repl(redis.REPL_ALL) redis.call('SET', 'shown', '1')"),
      E("redis.set_repl(redis.REPL_AOF) redis.call('INCR', 'aof-only') redis.call('XADD', 's', '1-1', 'f', 'v')"),
      E("redis.set_repl(redis.REPL_NONE) redis.call('DEL', 'shown') redis.set_repl(redis.REPL_ALL) return redis.call('EXISTS', 'shown')"),
    );
    const k = expectSameAof();
    expect(k.some((c) => c[1] === 'hidden' || c[1] === 'replicas')).toBe(false);
    expect(k.some((c) => c[1] === 'aof-only')).toBe(true);
  });
});
