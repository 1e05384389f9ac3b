// Blocking list commands with real clients parked on both servers (helpers/blocking.ts). Scenarios
// also assert the expected outcome on Redis itself, so a scenario that stops exercising what it
// claims fails.
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { differential as onBoth, replyOrBlocked, untilBlocked, type Scenario } from '../helpers/blocking';
import { encodeCommand, formatReply, RawConnection, type Reply } from '../helpers/resp';

let servers: BothServers;
const differential = (waiters: number, body: (s: Scenario) => Promise<void>, resp3 = false) => onBoth(servers, waiters, body, resp3);

const bulk = (s: string): Reply => ({ t: 'bulk', v: Buffer.from(s) });
const arr = (...v: Reply[]): Reply => ({ t: 'array', v });
const encode = (...args: string[]) => encodeCommand(args);

describeDifferential('blocking list commands vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  it('a timeout answers the null array, for every blocking list command and both protocols', async () => {
    for (const resp3 of [false, true]) {
      const log = await differential(1, async ({ log, conns: [, w] }) => {
        for (const cmd of [['BLPOP', 'nokey', '0.05'], ['BRPOP', 'a', 'b', '0.05'], ['BLMOVE', 'nokey', 'd', 'LEFT', 'RIGHT', '0.05'],
          ['BRPOPLPUSH', 'nokey', 'd', '0.05'], ['BLMPOP', '0.05', '2', 'a', 'b', 'RIGHT', 'COUNT', '3']]) {
          log.push(`${cmd[0]}: ${formatReply(await w.send(...cmd))}`);
        }
        log.push(`dest created: ${formatReply(await w.send('EXISTS', 'd'))}`);
      }, resp3);
      const timedOut = formatReply(resp3 ? { t: 'null' } : { t: 'array', v: null });
      expect(log.slice(0, 5)).toEqual(['BLPOP', 'BRPOP', 'BLMOVE', 'BRPOPLPUSH', 'BLMPOP'].map((c) => `${c}: ${timedOut}`));
    }
    // The exact wire type, checked directly on keyfork as well as through the transcript above.
    const conn = await RawConnection.connect(servers.keyfork.port);
    try {
      expect(await conn.send('BLPOP', 'nokey', '0.01')).toEqual({ t: 'array', v: null });
      expect(await conn.send('BLMOVE', 'nokey', 'd', 'LEFT', 'LEFT', '0.01')).toEqual({ t: 'array', v: null });
    } finally {
      conn.close();
    }
    const conn3 = await RawConnection.connect(servers.keyfork.port, { resp3: true });
    try {
      expect(await conn3.send('BRPOP', 'nokey', '0.01')).toEqual({ t: 'null' });
    } finally {
      conn3.close();
    }
  });

  it('fractional timeouts wait about that long; tiny ones round up to a millisecond, not forever', async () => {
    for (const port of [servers.keyfork.port, servers.redis.port]) {
      const conn = await RawConnection.connect(port);
      try {
        let t = Date.now();
        expect(await conn.send('BLPOP', 'nokey', '0.3')).toEqual({ t: 'array', v: null });
        const waited = Date.now() - t;
        expect(waited).toBeGreaterThanOrEqual(280);
        expect(waited).toBeLessThan(1500);
        t = Date.now();
        expect(await conn.send('BLPOP', 'nokey', '0.0001')).toEqual({ t: 'array', v: null });
        expect(Date.now() - t).toBeLessThan(1000);
      } finally {
        conn.close();
      }
    }
  });

  it('clients blocked on one key are served in the order they blocked, one element each', async () => {
    const log = await differential(3, async ({ log, conns: [admin, c1, c2, c3] }) => {
      c1.write(encode('BLPOP', 'q', '0'));
      await untilBlocked(admin, 1);
      c2.write(encode('BLPOP', 'q', '0'));
      await untilBlocked(admin, 2);
      c3.write(encode('BRPOP', 'q', '0'));
      await untilBlocked(admin, 3);
      log.push(`rpush: ${formatReply(await admin.send('RPUSH', 'q', 'a', 'b'))}`);
      log.push(`c1: ${await replyOrBlocked(c1)}`, `c2: ${await replyOrBlocked(c2)}`, `c3: ${await replyOrBlocked(c3)}`);
      log.push(`rpush: ${formatReply(await admin.send('RPUSH', 'q', 'c', 'd'))}`);
      log.push(`c3: ${await replyOrBlocked(c3)}`, `left: ${formatReply(await admin.send('LRANGE', 'q', '0', '-1'))}`);
    });
    expect(log).toContain(`c1: ${formatReply(arr(bulk('q'), bulk('a')))}`);
    expect(log).toContain('c3: blocked');
    expect(log).toContain(`c3: ${formatReply(arr(bulk('q'), bulk('d')))}`);
  });

  it('a client blocked on several keys is served by whichever gets data; LPUSH of many feeds BRPOP its tail', async () => {
    const log = await differential(2, async ({ log, conns: [admin, w1, w2] }) => {
      w1.write(encode('BLPOP', 'k1', 'k2', 'k3', '0'));
      w2.write(encode('BRPOP', 'k3', '0'));
      await untilBlocked(admin, 2);
      log.push(`rpush k2: ${formatReply(await admin.send('RPUSH', 'k2', 'x'))}`);
      log.push(`w1: ${await replyOrBlocked(w1)}`, `k2 exists: ${formatReply(await admin.send('EXISTS', 'k2'))}`);
      log.push(`lpush k3: ${formatReply(await admin.send('LPUSH', 'k3', 'a', 'b', 'c'))}`);
      log.push(`w2: ${await replyOrBlocked(w2)}`, `k3: ${formatReply(await admin.send('LRANGE', 'k3', '0', '-1'))}`);
    });
    expect(log).toContain(`w1: ${formatReply(arr(bulk('k2'), bulk('x')))}`);
    expect(log).toContain(`w2: ${formatReply(arr(bulk('k3'), bulk('a')))}`);
  });

  it('BLMOVE wakes on its source, and the element it pushes wakes a client blocked on the destination', async () => {
    const log = await differential(2, async ({ log, conns: [admin, mover, popper] }) => {
      mover.write(encode('BLMOVE', 'src', 'mid', 'RIGHT', 'LEFT', '0'));
      popper.write(encode('BLPOP', 'mid', '0'));
      await untilBlocked(admin, 2);
      log.push(`rpush mid-less: ${formatReply(await admin.send('RPUSH', 'other', 'zzz'))}`);
      log.push(`mover: ${await replyOrBlocked(mover, 100)}`);
      log.push(`rpush src: ${formatReply(await admin.send('RPUSH', 'src', 'x', 'y'))}`);
      log.push(`mover: ${await replyOrBlocked(mover)}`, `popper: ${await replyOrBlocked(popper)}`);
      log.push(`src: ${formatReply(await admin.send('LRANGE', 'src', '0', '-1'))}`, `mid: ${formatReply(await admin.send('EXISTS', 'mid'))}`);
      mover.write(encode('BRPOPLPUSH', 'ring', 'ring', '0'));
      await untilBlocked(admin, 1);
      log.push(`rpush ring: ${formatReply(await admin.send('RPUSH', 'ring', '1', '2'))}`);
      log.push(`mover: ${await replyOrBlocked(mover)}`, `ring: ${formatReply(await admin.send('LRANGE', 'ring', '0', '-1'))}`);
    });
    expect(log).toContain(`mover: ${formatReply(bulk('y'))}`);
    expect(log).toContain(`popper: ${formatReply(arr(bulk('mid'), bulk('y')))}`);
  });

  it('writes inside MULTI/EXEC serve blocked clients after EXEC; BLMPOP takes COUNT from the first ready key', async () => {
    const log = await differential(2, async ({ log, conns: [admin, w1, w2] }) => {
      w1.write(encode('BLPOP', 'k', '0'));
      w2.write(encode('BLMPOP', '0', '2', 'm1', 'm2', 'LEFT', 'COUNT', '3'));
      await untilBlocked(admin, 2);
      for (const cmd of [['MULTI'], ['RPUSH', 'k', 'a'], ['RPUSH', 'k', 'b'], ['RPUSH', 'm2', '1', '2'], ['EXEC']]) {
        log.push(`${cmd[0]}: ${formatReply(await admin.send(...cmd))}`);
      }
      log.push(`w1: ${await replyOrBlocked(w1)}`, `w2: ${await replyOrBlocked(w2)}`);
      log.push(`k: ${formatReply(await admin.send('LRANGE', 'k', '0', '-1'))}`, `m2: ${formatReply(await admin.send('EXISTS', 'm2'))}`);
    });
    expect(log).toContain(`w1: ${formatReply(arr(bulk('k'), bulk('a')))}`);
    expect(log).toContain(`w2: ${formatReply(arr(bulk('m2'), arr(bulk('1'), bulk('2'))))}`);
  });

  it('a key turned into another type keeps the client blocked; it is served once a list appears', async () => {
    const log = await differential(1, async ({ log, conns: [admin, w] }) => {
      w.write(encode('BLPOP', 'k', '0'));
      await untilBlocked(admin, 1);
      log.push(`set: ${formatReply(await admin.send('SET', 'k', 'str'))}`, `w: ${await replyOrBlocked(w)}`);
      log.push(`del: ${formatReply(await admin.send('DEL', 'k'))}`, `rpush: ${formatReply(await admin.send('RPUSH', 'k', 'v'))}`);
      log.push(`w: ${await replyOrBlocked(w)}`);
    });
    expect(log).toContain('w: blocked');
    expect(log).toContain(`w: ${formatReply(arr(bulk('k'), bulk('v')))}`);
  });

  it('a key named twice waits once: served by either key, then blocks again cleanly (Redis issue #801)', async () => {
    const log = await differential(1, async ({ log, conns: [admin, w] }) => {
      for (const key of ['l1', 'l2']) {
        w.write(encode('BLPOP', 'l1', 'l2', 'l2', 'l1', '0'));
        await untilBlocked(admin, 1);
        log.push(`lpush ${key}: ${formatReply(await admin.send('LPUSH', key, key + 'v'))}`, `w: ${await replyOrBlocked(w)}`);
      }
      w.write(encode('BRPOP', 'l1', 'l1', '0'));
      await untilBlocked(admin, 1);
      log.push(`rpush: ${formatReply(await admin.send('RPUSH', 'l1', 'a', 'b'))}`, `w: ${await replyOrBlocked(w)}`);
      log.push(`left: ${formatReply(await admin.send('LRANGE', 'l1', '0', '-1'))}`);
    });
    expect(log).toContain(`w: ${formatReply(arr(bulk('l2'), bulk('l2v')))}`);
    expect(log).toContain(`w: ${formatReply(arr(bulk('l1'), bulk('b')))}`);
  });

  it('a waiter on several keys skips one that became another type and is served by the next', async () => {
    const log = await differential(2, async ({ log, conns: [admin, w, z] }) => {
      w.write(encode('BLPOP', 'x', 'y', '0'));
      z.write(encode('BZPOPMIN', 'zx', 'zy', '0'));
      await untilBlocked(admin, 2);
      log.push(`set: ${formatReply(await admin.send('SET', 'x', 'str'))}`, `w: ${await replyOrBlocked(w)}`);
      log.push(`rpush: ${formatReply(await admin.send('RPUSH', 'y', 'v'))}`, `w: ${await replyOrBlocked(w)}`);
      log.push(`set: ${formatReply(await admin.send('SET', 'zx', 'str'))}`, `z: ${await replyOrBlocked(z)}`);
      log.push(`zadd: ${formatReply(await admin.send('ZADD', 'zy', '1', 'm'))}`, `z: ${await replyOrBlocked(z)}`);
    });
    expect(log).toContain(`w: ${formatReply(arr(bulk('y'), bulk('v')))}`);
    expect(log.filter((l) => l === 'z: blocked')).toHaveLength(1);
  });

  it('commands pipelined behind a blocking one run after it is served; RESP3 replies keep their types', async () => {
    const log = await differential(1, async ({ log, conns: [admin, w] }) => {
      w.write(Buffer.concat([encode('BLPOP', 'k', '0'), encode('PING'), encode('LLEN', 'k')]));
      await untilBlocked(admin, 1);
      log.push(`w: ${await replyOrBlocked(w, 100)}`);
      log.push(`rpush: ${formatReply(await admin.send('RPUSH', 'k', 'a', 'b'))}`);
      log.push(`w: ${await replyOrBlocked(w)}`, `w: ${await replyOrBlocked(w)}`, `w: ${await replyOrBlocked(w)}`);
    }, true);
    expect(log).toContain(`w: ${formatReply(arr(bulk('k'), bulk('a')))}`);
    expect(log).toContain(`w: ${formatReply({ t: 'int', v: 1 })}`);
  });
});
