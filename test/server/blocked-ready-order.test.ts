// A client blocked on several keys, when more than one of them gets data in one MULTI/EXEC or
// one script: Redis 7.0 serves it from the key that became ready first (handleClientsBlockedOnKeys
// walks server.ready_keys in the order keys were signalled), not from the first non-empty key in
// argument order, and XREAD's reply then holds that stream alone. Every scenario runs on keyfork
// and redis-server; the transcripts must be identical.
import { expect, it } from 'vitest';
import { differential, replyOrBlocked, untilBlocked } from '../helpers/blocking';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, formatReply, type Arg } from '../helpers/resp';

let servers: BothServers;

interface Shape {
  /** The blocking command, on keys k1 and k2 (in that argument order). */
  block: Arg[];
  /** Commands before it blocks (consumer groups). */
  setup?: Arg[][];
  /** Writes that give key `k` data. */
  feed: (k: string, tag: string) => Arg[];
  /** Reads what is left in key `k`. */
  left: (k: string) => Arg[];
}

const lists = (block: Arg[]): Shape => ({ block, feed: (k, tag) => ['RPUSH', k, `${tag}1`, `${tag}2`], left: (k) => ['LRANGE', k, '0', '-1'] });
const zsets = (block: Arg[]): Shape => ({ block, feed: (k, tag) => ['ZADD', k, '1', `${tag}1`, '2', `${tag}2`], left: (k) => ['ZRANGE', k, '0', '-1', 'WITHSCORES'] });
const streams = (block: Arg[], setup: Arg[][] = []): Shape => ({
  block,
  setup,
  feed: (k, tag) => ['XADD', k, tag === 'second' ? '2-1' : '1-1', 'f', tag],
  left: (k) => ['XLEN', k],
});

const SHAPES: Shape[] = [
  lists(['BLPOP', 'k1', 'k2', '0']),
  lists(['BRPOP', 'k1', 'k2', '0']),
  lists(['BLMPOP', '0', '2', 'k1', 'k2', 'LEFT', 'COUNT', '5']),
  lists(['BLMPOP', '0', '2', 'k1', 'k2', 'RIGHT']),
  zsets(['BZPOPMIN', 'k1', 'k2', '0']),
  zsets(['BZPOPMAX', 'k1', 'k2', '0']),
  zsets(['BZMPOP', '0', '2', 'k1', 'k2', 'MAX', 'COUNT', '5']),
  zsets(['BZMPOP', '0', '2', 'k1', 'k2', 'MIN']),
  streams(['XREAD', 'BLOCK', '0', 'STREAMS', 'k1', 'k2', '$', '$']),
  streams(['XREAD', 'COUNT', '5', 'BLOCK', '0', 'STREAMS', 'k1', 'k2', '0-0', '0-0']),
  streams(['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 'k1', 'k2', '>', '>'],
    [['XGROUP', 'CREATE', 'k1', 'g', '$', 'MKSTREAM'], ['XGROUP', 'CREATE', 'k2', 'g', '$', 'MKSTREAM']]),
];

const name = (shape: Shape) => shape.block.join(' ');

/** The Lua call of a command, for the script form. */
const luaCall = (args: Arg[]) => `redis.call(${args.map((a) => `'${a.toString()}'`).join(', ')})`;

describeDifferential('blocked clients served from the key that became ready first vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  for (const via of ['MULTI', 'script'] as const) {
    it(`several keys ready in one ${via}: the first one signalled serves the client (${SHAPES.length} command shapes, both orders)`, async () => {
      for (const shape of SHAPES) {
        for (const [first, second] of [['k2', 'k1'], ['k1', 'k2']]) {
          const log = await differential(servers, 1, async ({ log, conns: [admin, waiter] }) => {
            for (const cmd of shape.setup ?? []) await admin.send(...cmd);
            waiter.write(encodeCommand(shape.block));
            await untilBlocked(admin, 1);
            const writes = [shape.feed(first, 'first'), shape.feed(second, 'second')];
            if (via === 'MULTI') {
              await admin.send('MULTI');
              for (const w of writes) await admin.send(...w);
              log.push(`exec: ${formatReply(await admin.send('EXEC'))}`);
            } else {
              log.push(`eval: ${formatReply(await admin.send('EVAL', writes.map(luaCall).join(' '), '0'))}`);
            }
            log.push(`waiter: ${await replyOrBlocked(waiter, 1000)}`);
            for (const k of ['k1', 'k2']) log.push(`${k}: ${formatReply(await admin.send(...shape.left(k)))}`);
          });
          expect(log.join('\n'), `${name(shape)} via ${via}, ${first} first`).not.toContain('waiter: blocked');
        }
      }
    }, 120_000);
  }

  it('the key signalled first but emptied again, or of another type, does not serve: the next ready key does', async () => {
    for (const between of [['DEL', 'k2'], ['LPOP', 'k2', '2'], ['SET', 'k2', 'string']] as Arg[][]) {
      const log = await differential(servers, 1, async ({ log, conns: [admin, waiter] }) => {
        waiter.write(encodeCommand(['BLPOP', 'k1', 'k2', '0']));
        await untilBlocked(admin, 1);
        await admin.send('MULTI');
        if (between[0] !== 'SET') await admin.send('RPUSH', 'k2', 'x', 'y');
        await admin.send(...between);
        await admin.send('RPUSH', 'k1', 'a');
        log.push(`exec: ${formatReply(await admin.send('EXEC'))}`);
        log.push(`waiter: ${await replyOrBlocked(waiter, 1000)}`);
      });
      expect(log.join('\n'), between.join(' ')).toContain('waiter: 1) "k1"');
    }
  });

  it('two waiters: the one blocked first takes the first ready key; the other waits for its own key', async () => {
    const log = await differential(servers, 2, async ({ log, conns: [admin, both, onlyK2] }) => {
      both.write(encodeCommand(['BZPOPMAX', 'k1', 'k2', '0']));
      await untilBlocked(admin, 1);
      onlyK2.write(encodeCommand(['BZPOPMAX', 'k2', '0']));
      await untilBlocked(admin, 2);
      await admin.send('MULTI');
      await admin.send('ZADD', 'k2', '1', 'x');
      await admin.send('ZADD', 'k1', '1', 'y');
      log.push(`exec: ${formatReply(await admin.send('EXEC'))}`);
      log.push(`both: ${await replyOrBlocked(both, 1000)}`, `onlyK2: ${await replyOrBlocked(onlyK2)}`);
      log.push(`k1: ${formatReply(await admin.send('ZRANGE', 'k1', '0', '-1'))}`);
      log.push(`zadd: ${formatReply(await admin.send('ZADD', 'k2', '2', 'z'))}`, `onlyK2: ${await replyOrBlocked(onlyK2, 1000)}`);
    });
    expect(log).toContain('onlyK2: blocked');
  });
});
