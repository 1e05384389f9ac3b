// XREAD and XREADGROUP with BLOCK, several clients parked on both servers (helpers/blocking.ts):
// served in the order they blocked, `$` resolved when the client blocked, `>` served from the
// group's last ID when the entries arrive, the default COUNT of a blocked read, a group
// destroyed under a blocked reader, keys deleted or retyped meanwhile (a group reader is told,
// a plain reader keeps waiting), and timeouts.
import { expect, it } from 'vitest';
import { differential as onBoth, replyOrBlocked, untilBlocked, type Scenario } from '../helpers/blocking';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, formatReply } from '../helpers/resp';

let servers: BothServers;
const differential = (waiters: number, body: (s: Scenario) => Promise<void>, resp3 = false) => onBoth(servers, waiters, body, resp3);
const encode = (...args: string[]) => encodeCommand(args);

describeDifferential('blocking stream reads vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  it('a timeout answers the null array; MULTI never blocks', async () => {
    for (const resp3 of [false, true]) {
      const log = await differential(1, async ({ log, conns: [a, w] }) => {
        await a.send('XADD', 's', '1-0', 'f', 'v');
        await a.send('XGROUP', 'CREATE', 's', 'g', '$');
        log.push(formatReply(await w.send('XREAD', 'BLOCK', '50', 'STREAMS', 's', 'nokey', '$', '0')));
        log.push(formatReply(await w.send('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '50', 'STREAMS', 's', '>')));
        log.push(formatReply(await w.send('XINFO', 'CONSUMERS', 's', 'g')));
        await w.send('MULTI');
        await w.send('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
        log.push(formatReply(await w.send('EXEC')));
      }, resp3);
      expect(log[0]).toMatch(/nil|null|\*-1|_/);
    }
  });

  it('every XREAD reader gets the new entries; `$` is resolved when the client blocks', async () => {
    for (const resp3 of [false, true]) {
      const log = await differential(3, async ({ log, conns: [a, w1, w2, w3] }) => {
        await a.send('XADD', 's', '5-0', 'f', 'old');
        w1.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'));
        w2.write(encode('XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 'other', 's', '$', '$'));
        w3.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 's', '7-0'));
        await untilBlocked(a, 3);
        // Two entries in one transaction: a reader that resolved `$` late would see none.
        await a.send('MULTI');
        await a.send('XADD', 's', '6-0', 'f', 'a');
        await a.send('XADD', 's', '7-0', 'f', 'b');
        await a.send('EXEC');
        for (const w of [w1, w2, w3]) log.push(await replyOrBlocked(w));
        await a.send('XADD', 's', '8-0', 'f', 'c');
        log.push(await replyOrBlocked(w3));
      }, resp3);
      expect(log[0]).toContain('6-0');
      expect(log[0]).toContain('7-0');
      expect(log[2]).toBe('blocked');
    }
  });

  it('only the stream that received entries is in a blocked reader\'s reply', async () => {
    const log = await differential(1, async ({ log, conns: [a, w] }) => {
      w.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 'x', 'y', 'z', '$', '$', '$'));
      await untilBlocked(a, 1);
      await a.send('XADD', 'y', '1-0', 'f', 'v');
      log.push(await replyOrBlocked(w));
    });
    expect(log[0]).toContain('y');
  });

  it('a reader blocked when its new entries are already gone gets the stream with no entries (a group reader\'s consumer is created)', async () => {
    for (const resp3 of [false, true]) {
      const log = await differential(4, async ({ log, conns: [a, w1, w2, w3, w4] }) => {
        await a.send('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
        w1.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'));
        w2.write(encode('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', 's', '>'));
        w3.write(encode('XREADGROUP', 'GROUP', 'g', 'c2', 'NOACK', 'BLOCK', '0', 'STREAMS', 's', '>'));
        await untilBlocked(a, 3);
        await a.send('XADD', 's', 'MAXLEN', '0', '1-1', 'f', 'v');
        for (const w of [w1, w2, w3]) log.push(await replyOrBlocked(w));
        log.push(formatReply(await a.send('XINFO', 'GROUPS', 's')));
        w4.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'));
        await untilBlocked(a, 1);
        await a.send('MULTI');
        await a.send('XADD', 's', '2-1', 'f', 'v');
        await a.send('XDEL', 's', '2-1');
        await a.send('EXEC');
        log.push(await replyOrBlocked(w4));
      }, resp3);
      expect(log[0]).not.toBe('blocked');
    }
  });

  it('a blocked read without COUNT gets at most 1000 entries', async () => {
    const log = await differential(1, async ({ log, conns: [a, w] }) => {
      w.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'));
      await untilBlocked(a, 1);
      await a.send('MULTI');
      for (let i = 1; i <= 1005; i++) await a.send('XADD', 's', `${i}-0`, 'f', String(i));
      await a.send('EXEC');
      const reply = await w.readReply(5000);
      log.push(String(JSON.stringify(reply).split('"bulk"').length));
    });
    expect(log.length).toBe(2);
  });

  it('XREADGROUP `>`: one consumer per new entry, in the order they blocked; NOACK', async () => {
    for (const resp3 of [false, true]) {
      await differential(4, async ({ log, conns: [a, w1, w2, w3, w4] }) => {
        await a.send('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
        await a.send('XGROUP', 'CREATE', 's', 'h', '$');
        w1.write(encode('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', 's', '>'));
        await untilBlocked(a, 1);
        w2.write(encode('XREADGROUP', 'GROUP', 'g', 'c2', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 's', '>'));
        await untilBlocked(a, 2);
        w3.write(encode('XREADGROUP', 'GROUP', 'h', 'c3', 'NOACK', 'BLOCK', '0', 'STREAMS', 's', '>'));
        await untilBlocked(a, 3);
        w4.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'));
        await untilBlocked(a, 4);
        await a.send('XADD', 's', '1-0', 'f', 'one');
        for (const w of [w1, w2, w3, w4]) log.push(await replyOrBlocked(w));
        await a.send('XADD', 's', '2-0', 'f', 'two');
        log.push(await replyOrBlocked(w2));
        log.push(formatReply(await a.send('XPENDING', 's', 'g')));
        log.push(formatReply(await a.send('XPENDING', 's', 'h')));
        log.push(formatReply(await a.send('XINFO', 'GROUPS', 's')));
      }, resp3);
    }
  });

  it('a destroyed group, a deleted key and a retyped key while readers are blocked', async () => {
    const log = await differential(3, async ({ log, conns: [a, w1, w2, w3] }) => {
      await a.send('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
      await a.send('XGROUP', 'CREATE', 't', 'g', '$', 'MKSTREAM');
      w1.write(encode('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', 's', '>'));
      w2.write(encode('XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '0', 'STREAMS', 't', '>'));
      w3.write(encode('XREAD', 'BLOCK', '0', 'STREAMS', 'u', '$'));
      await untilBlocked(a, 3);
      await a.send('XGROUP', 'DESTROY', 's', 'g');
      log.push(await replyOrBlocked(w1));
      await a.send('DEL', 't');
      await a.send('SET', 'u', 'string now');
      log.push(await replyOrBlocked(w2), await replyOrBlocked(w3));
      await a.send('XADD', 't', '1-0', 'f', 'v');
      log.push(await replyOrBlocked(w2));
      await a.send('DEL', 'u');
      await a.send('XADD', 'u', '1-0', 'f', 'v');
      log.push(await replyOrBlocked(w3));
    });
    expect(log[0]).toContain('NOGROUP');
    expect(log[1]).toContain('UNBLOCKED');
    expect(log[2]).toBe('blocked');
  });
});
