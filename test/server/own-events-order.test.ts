// Where a RESP3 client subscribed to keyspace events receives the events of its OWN commands
// among the bytes of their replies, against the real redis-server 7.0, byte for byte. Redis
// writes a push into the client's buffer the moment notifyKeyspaceEvent runs, so the order
// is each command's own: LPUSH, HSET, ZADD, EXPIRE, SUNIONSTORE, the STORE forms, XGROUP
// CREATE reply first; MSET, DEL, RENAME, SPOP notify first; ZPOPMIN/ZMPOP put the event after
// the reply's headers; XREADGROUP/XCLAIM/XAUTOCLAIM create the consumer in the middle of their
// reply; MGET and SORT ... GET expire keys lazily between their elements; a served blocked
// client gets some events before, some after its reply; inside MULTI each command's events
// sit among its own reply; a script's come before its reply. The client also tracks the keys
// (CLIENT TRACKING ON): its own invalidations always follow the reply.
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand } from '../helpers/resp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw connection that keeps every byte it receives. */
class Tap {
  private received = '';
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c) => (this.received += c.toString('latin1')));
  }

  static async open(port: number): Promise<Tap> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Tap(socket);
  }

  take(): string {
    const t = this.received;
    this.received = '';
    return t;
  }

  /** Sends a command, then waits for bytes and 25 ms without more (at most 3 s). */
  async call(args: string[]): Promise<string> {
    this.socket.write(encodeCommand(args));
    return this.settle();
  }

  /**
   * Waits until everything sent before has been answered (an ECHO's reply comes after them),
   * then drops what was received. Pushes caused by the other client's commands arrive on their
   * own schedule: without this, `call` may settle on them while its own reply is still on the
   * way, and the reply would land in the next case's bytes.
   */
  async drain(): Promise<void> {
    const marker = `drained-${Date.now()}-${Math.random()}`;
    const end = `$${marker.length}\r\n${marker}\r\n`;
    this.socket.write(encodeCommand(['ECHO', marker]));
    const deadline = Date.now() + 3_000;
    while (!this.received.includes(end) && Date.now() < deadline) await sleep(5);
    this.take();
  }

  async settle(): Promise<string> {
    const deadline = Date.now() + 3_000;
    let last = -1;
    let since = Date.now();
    while (Date.now() < deadline) {
      await sleep(5);
      if (this.received.length !== last) {
        last = this.received.length;
        since = Date.now();
      } else if (last > 0 && Date.now() - since >= 25) {
        break;
      }
    }
    return this.take();
  }
}

/**
 * One case: `setup` by another client on an emptied keyspace, `read` keys the subscriber
 * reads first (so that it tracks them), `wait` ms, then the subscriber's own commands `run`,
 * and `other`: commands of the other client while the subscriber waits (a blocked pop).
 */
interface Case {
  run: string[][];
  setup?: string[][];
  read?: string[];
  wait?: number;
  other?: string[][];
}

const c = (run: string[] | string[][], setup: string[][] = [], read: string[] = [], extra: Partial<Case> = {}): Case => ({
  run: Array.isArray(run[0]) ? (run as string[][]) : [run as string[]],
  setup,
  read,
  ...extra,
});

/** Runs the cases on one server: what the subscriber received in each. */
async function play(port: number, flags: string, cases: Case[]): Promise<string[]> {
  const a = await Tap.open(port);
  const b = await Tap.open(port);
  try {
    await b.call(['CONFIG', 'SET', 'notify-keyspace-events', flags]);
    await a.call(['HELLO', '3']);
    await a.call(['CLIENT', 'TRACKING', 'ON']);
    await a.call(['PSUBSCRIBE', '__key*@*__:*']);
    const out: string[] = [];
    for (const k of cases) {
      await b.call(['FLUSHALL']);
      for (const step of k.setup ?? []) await b.call(step);
      if (k.read?.length) await a.call(['MGET', ...k.read]);
      if (k.wait) await sleep(k.wait);
      await a.drain();
      let got = '';
      for (const step of k.run) {
        if (k.other) a.socket.write(encodeCommand(step));
        else got += await a.call(step);
      }
      if (k.other) {
        await sleep(50);
        for (const step of k.other) await b.call(step);
        got += await a.settle();
      }
      out.push(got);
    }
    await b.call(['CONFIG', 'SET', 'notify-keyspace-events', '']);
    await b.call(['DEBUG', 'SET-ACTIVE-EXPIRE', '1']);
    return out;
  } finally {
    a.socket.destroy();
    b.socket.destroy();
  }
}

/** Pushes and invalidations in a readable form: `<event key>`, `<inv key>`. */
function readable(bytes: string): string {
  return bytes
    .replace(/>4\r\n\$8\r\npmessage\r\n\$12\r\n__key\*@\*__:\*\r\n\$\d+\r\n__keyspace@\d__:([^\r]*)\r\n\$\d+\r\n([^\r]*)\r\n/g, '<$2 $1>')
    .replace(/>4\r\n\$8\r\npmessage\r\n\$12\r\n__key\*@\*__:\*\r\n\$\d+\r\n__keyevent@\d__:[^\r]*\r\n\$\d+\r\n[^\r]*\r\n/g, '')
    .replace(/>2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$\d+\r\n([^\r]*)\r\n/g, '<inv $1>')
    .replace(/\r\n/g, ' ');
}

async function same(servers: BothServers, cases: Case[], flags = 'KEA'): Promise<void> {
  const [k, r] = await Promise.all([play(servers.keyfork.port, flags, cases), play(servers.redis.port, flags, cases)]);
  const show = (out: string[]) => cases.map((x, i) => `${x.run.map((s) => s.join(' ')).join('; ')} -> ${readable(out[i])}`).join('\n');
  expect(show(k)).toBe(show(r));
  // Each case produced something, and the comparison saw the raw bytes too.
  expect(r.every((bytes) => bytes.length > 0)).toBe(true);
  expect(k).toEqual(r);
}

const STRING: string[][] = [['SET', 'k', '1']];
const STREAM_READ: string[][] = [['XADD', 'x', '1-1', 'f', 'v'], ['XGROUP', 'CREATE', 'x', 'g', '0'], ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'x', '>']];

describeDifferential('keyspace events of a RESP3 client\'s own commands, among its replies', () => {
  let servers: BothServers;
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] } });

  it('strings and keys: EXPIRE replies first, SET/MSET/DEL/RENAME/COPY/MOVE notify first', async () => {
    await same(servers, [
      c(['SET', 'k', 'v', 'EX', '100'], [], ['k']),
      c(['MSET', 'k', '1', 'd', '2'], [], ['k', 'd']),
      c(['GETSET', 'k', 'v'], STRING, ['k']),
      c(['GETDEL', 'k'], STRING, ['k']),
      c(['GETEX', 'k', 'EX', '100'], STRING, ['k']),
      c(['INCRBYFLOAT', 'k', '1.5'], STRING, ['k']),
      c(['SETRANGE', 'k', '0', 'v'], [], ['k']),
      c(['DEL', 'k', 'nosuch', 'd'], [['SET', 'k', '1'], ['SET', 'd', '2']], ['k', 'd']),
      c(['RENAME', 'k', 'd'], STRING, ['k', 'd']),
      c(['COPY', 'k', 'd', 'REPLACE'], [['SET', 'k', '1'], ['SET', 'd', '2']], ['k', 'd']),
      c(['MOVE', 'k', '1'], STRING, ['k']),
      c(['EXPIRE', 'k', '100'], STRING, ['k']),
      c(['EXPIRE', 'k', '-1'], STRING, ['k']),
      c(['PERSIST', 'k'], [['SET', 'k', '1', 'EX', '100']], ['k']),
      c(['SETBIT', 'b', '7', '1'], [], ['b']),
      c(['BITFIELD', 'b', 'SET', 'u8', '0', '1', 'INCRBY', 'u8', '0', '2'], [], ['b']),
      c(['BITOP', 'OR', 'd', 'n1'], [['SET', 'd', 'x']], ['d']),
      c(['PFADD', 'p', 'a', 'b'], [], ['p']),
      c(['SORT', 'l', 'STORE', 'd'], [['RPUSH', 'l', '3', '1', '2']], ['d']),
    ]);
  });

  it('lists: pushes and LSET reply first, pops notify first, LMOVE between the two', async () => {
    await same(servers, [
      c(['LPUSH', 'l', 'a', 'b'], [], ['l']),
      c(['RPUSHX', 'l', 'a'], [['RPUSH', 'l', 'x']], ['l']),
      c(['LINSERT', 'l', 'BEFORE', 'x', 'y'], [['RPUSH', 'l', 'x']], ['l']),
      c(['LSET', 'l', '0', 'y'], [['RPUSH', 'l', 'x']], ['l']),
      c(['LPOP', 'l'], [['RPUSH', 'l', 'x']], ['l']),
      c(['RPOP', 'l', '5'], [['RPUSH', 'l', 'x', 'y']], ['l']),
      c(['LREM', 'l', '0', 'x'], [['RPUSH', 'l', 'x', 'y', 'x']], ['l']),
      c(['LTRIM', 'l', '5', '-1'], [['RPUSH', 'l', 'x', 'y']], ['l']),
      c(['LMOVE', 'l', 'm', 'LEFT', 'RIGHT'], [['RPUSH', 'l', 'x']], ['l', 'm']),
      c(['RPOPLPUSH', 'l', 'l'], [['RPUSH', 'l', 'x', 'y']], ['l']),
      c(['LMPOP', '2', 'l', 'm', 'LEFT', 'COUNT', '2'], [['RPUSH', 'm', 'x', 'y', 'z']], ['l', 'm']),
      c(['BLMOVE', 'l', 'm', 'LEFT', 'LEFT', '0'], [['RPUSH', 'l', 'x']], ['l', 'm']),
    ]);
  });

  it('sets and hashes: SPOP notifies first and deletes after its reply; HSET, HINCRBY and the STORE forms reply first', async () => {
    await same(servers, [
      c(['SADD', 's', 'a', 'b'], [], ['s']),
      c(['SREM', 's', 'a', 'b'], [['SADD', 's', 'a', 'b']], ['s']),
      c(['SPOP', 's'], [['SADD', 's', 'a']], ['s']),
      c(['SPOP', 's', '1'], [['SADD', 's', 'a']], ['s']),
      c(['SMOVE', 's', 't', 'a'], [['SADD', 's', 'a']], ['s', 't']),
      c(['SINTERSTORE', 'd', 's', 't'], [['SADD', 's', 'a', 'b'], ['SADD', 't', 'a']], ['d']),
      c(['SINTERSTORE', 'd', 's', 't'], [['SADD', 's', 'a', 'b'], ['SADD', 't', 'c'], ['SET', 'd', 'x']], ['d']),
      c(['SINTERSTORE', 'd', 's', 'none'], [['SADD', 's', 'a', 'b'], ['SET', 'd', 'x']], ['d']),
      c(['SUNIONSTORE', 'd', 's', 't'], [['SADD', 's', 'a', 'b'], ['SADD', 't', 'a']], ['d']),
      c(['SUNIONSTORE', 'd', 'n1', 'n2'], [['SET', 'd', 'x']], ['d']),
      c(['SDIFFSTORE', 'd', 's', 't'], [['SADD', 's', 'a'], ['SADD', 't', 'a'], ['SET', 'd', 'x']], ['d']),
      c(['SDIFFSTORE', 'd', 'none', 't'], [['SADD', 't', 'a'], ['SET', 'd', 'x']], ['d']),
      c(['HSET', 'h', 'f', 'v', 'g', 'w'], [], ['h']),
      c(['HMSET', 'h', 'f', 'v'], [], ['h']),
      c(['HSETNX', 'h', 'f', 'v'], [], ['h']),
      c(['HDEL', 'h', 'f', 'g'], [['HSET', 'h', 'f', '1', 'g', '2']], ['h']),
      c(['HINCRBY', 'h', 'f', '2'], [], ['h']),
      c(['HINCRBYFLOAT', 'h', 'f', '2.5'], [], ['h']),
    ]);
  });

  it('sorted sets: ZADD/ZINCRBY and the STORE forms reply first, pops notify after their headers', async () => {
    await same(servers, [
      c(['ZADD', 'z', '1', 'a'], [], ['z']),
      c(['ZADD', 'z', 'GT', 'CH', '5', 'a', '1', 'b'], [['ZADD', 'z', '1', 'a']], ['z']),
      c(['ZADD', 'z', 'INCR', '1', 'a'], [], ['z']),
      c(['ZINCRBY', 'z', '1', 'a'], [], ['z']),
      c(['ZADD', 'z', 'INCR', '+inf', 'a'], [['ZADD', 'z', '-inf', 'a']], ['z']),
      c(['ZREM', 'z', 'a'], [['ZADD', 'z', '1', 'a']], ['z']),
      c(['ZPOPMIN', 'z'], [['ZADD', 'z', '1', 'a', '2', 'b']], ['z']),
      c(['ZPOPMAX', 'z', '5'], [['ZADD', 'z', '1', 'a', '2', 'b']], ['z']),
      c(['BZPOPMIN', 'z', '0'], [['ZADD', 'z', '1', 'a']], ['z']),
      c(['ZMPOP', '1', 'z', 'MIN'], [['ZADD', 'z', '1', 'a']], ['z']),
      c(['BZMPOP', '0', '1', 'z', 'MAX', 'COUNT', '3'], [['ZADD', 'z', '1', 'a', '2', 'b']], ['z']),
      c(['ZREMRANGEBYSCORE', 'z', '0', '5'], [['ZADD', 'z', '1', 'a', '2', 'b']], ['z']),
      c(['ZUNIONSTORE', 'd', '2', 'z', 'y'], [['ZADD', 'z', '1', 'a'], ['ZADD', 'y', '2', 'b']], ['d']),
      c(['ZINTERSTORE', 'd', '2', 'z', 'y'], [['ZADD', 'z', '1', 'a'], ['ZADD', 'y', '2', 'b'], ['SET', 'd', 'x']], ['d']),
      c(['ZDIFFSTORE', 'd', '1', 'z'], [['ZADD', 'z', '1', 'a']], ['d']),
      c(['ZRANGESTORE', 'd', 'z', '0', '-1'], [['ZADD', 'z', '1', 'a']], ['d']),
      c(['ZRANGESTORE', 'd', 'z', '5', '6'], [['ZADD', 'z', '1', 'a'], ['SET', 'd', 'x']], ['d']),
      c(['GEOADD', 'g', '13.36', '38.11', 'Palermo'], [], ['g']),
      c(['GEOSEARCHSTORE', 'd', 'g', 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'], [['GEOADD', 'g', '13.36', '38.11', 'Palermo']], ['d']),
    ]);
  });

  it('streams: XADD, XGROUP and XSETID reply first; consumers created in the middle of XREADGROUP, XCLAIM and XAUTOCLAIM', async () => {
    await same(servers, [
      c(['XADD', 'x', '1-1', 'f', 'v'], [], ['x']),
      c(['XADD', 'x', 'MAXLEN', '1', '3-1', 'f', 'v'], [['XADD', 'x', '1-1', 'f', 'v'], ['XADD', 'x', '2-1', 'f', 'v']], ['x']),
      c(['XDEL', 'x', '1-1'], [['XADD', 'x', '1-1', 'f', 'v']], ['x']),
      c(['XTRIM', 'x', 'MAXLEN', '0'], [['XADD', 'x', '1-1', 'f', 'v']], ['x']),
      c(['XSETID', 'x', '5-5'], [['XADD', 'x', '1-1', 'f', 'v']], ['x']),
      c(['XGROUP', 'CREATE', 'x', 'g', '$', 'MKSTREAM'], [], ['x']),
      c(['XGROUP', 'SETID', 'x', 'g', '0'], [['XGROUP', 'CREATE', 'x', 'g', '$', 'MKSTREAM']], ['x']),
      c(['XGROUP', 'DESTROY', 'x', 'g'], [['XGROUP', 'CREATE', 'x', 'g', '$', 'MKSTREAM']], ['x']),
      c(['XGROUP', 'CREATECONSUMER', 'x', 'g', 'c'], [['XGROUP', 'CREATE', 'x', 'g', '$', 'MKSTREAM']], ['x']),
      c(['XGROUP', 'DELCONSUMER', 'x', 'g', 'c'], STREAM_READ, ['x']),
      c(['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'x', '>'], STREAM_READ.slice(0, 2), ['x']),
      c(['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'x', 'y', '>', '>'],
        [['XADD', 'x', '1-1', 'f', 'v'], ['XADD', 'y', '1-1', 'f', 'v'], ['XGROUP', 'CREATE', 'x', 'g', '0'], ['XGROUP', 'CREATE', 'y', 'g', '0']], ['x', 'y']),
      c(['XCLAIM', 'x', 'g', 'c2', '0', '1-1'], STREAM_READ, ['x']),
      c(['XCLAIM', 'x', 'g', 'c2', '0', '1-1', 'JUSTID'], STREAM_READ, ['x']),
      c(['XAUTOCLAIM', 'x', 'g', 'c2', '0', '0'], STREAM_READ, ['x']),
    ]);
  });

  it('MULTI/EXEC, scripts, lazy expiry in the middle of MGET and SORT GET, errors', async () => {
    await same(servers, [
      c([['MULTI'], ['SET', 'k', '1'], ['SUNIONSTORE', 'd', 's'], ['LPUSH', 'l', 'x'], ['ZPOPMIN', 'z'], ['EXPIRE', 'k', '100'], ['EXEC']],
        [['SADD', 's', 'a'], ['ZADD', 'z', '1', 'a']], ['k', 'd', 'l', 'z']),
      c([['MULTI'], ['INCR', 'k'], ['LPUSH', 'k', 'x'], ['SET', 'k', '5'], ['EXEC']], [['SET', 'k', 'a']], ['k']),
      c(['EVAL', "redis.call('lpush', KEYS[1], 'a') redis.call('zadd', KEYS[2], 1, 'm') return redis.call('zpopmin', KEYS[2])", '2', 'l', 'z'], [], ['l', 'z']),
      c(['MGET', 'e1', 'k', 'e2'], [['DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['SET', 'e1', '1', 'PX', '150'], ['SET', 'e2', '1', 'PX', '150']], [], { wait: 250 }),
      c(['SORT', 'l', 'BY', 'nosort', 'GET', 'e*'],
        [['DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['RPUSH', 'l', '1', '2'], ['SET', 'e1', 'x', 'PX', '150'], ['SET', 'e2', 'y', 'PX', '150']], [], { wait: 250 }),
      c(['LPUSH', 'l', 'x'], [['DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['SET', 'l', '1', 'PX', '150']], ['l'], { wait: 250 }),
      c(['HSET', 'h', 'f', 'v'], [['SET', 'h', 'x']], ['h']),
      c(['ZINCRBY', 'z', 'nan', 'a'], [['ZADD', 'z', '1', 'a']], ['z']),
    ]);
  });

  it('a blocked client served by another\'s write: its pop\'s events around its reply as Redis serves it', async () => {
    await same(servers, [
      c(['BLPOP', 'l', '5'], [], ['l'], { other: [['LPUSH', 'l', 'x', 'y']] }),
      c(['BLMOVE', 'l', 'm', 'LEFT', 'LEFT', '5'], [], ['l', 'm'], { other: [['LPUSH', 'l', 'x']] }),
      c(['BLMPOP', '5', '1', 'l', 'LEFT', 'COUNT', '3'], [], ['l'], { other: [['RPUSH', 'l', 'x', 'y']] }),
      c(['BZPOPMIN', 'z', '5'], [], ['z'], { other: [['ZADD', 'z', '1', 'a']] }),
      c(['BZMPOP', '5', '1', 'z', 'MIN', 'COUNT', '3'], [], ['z'], { other: [['ZADD', 'z', '1', 'a', '2', 'b']] }),
      c(['XREAD', 'BLOCK', '5000', 'STREAMS', 'x', '$'], [], ['x'], { other: [['XADD', 'x', '1-1', 'f', 'v']] }),
      c(['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '5000', 'STREAMS', 'x', '>'], [['XGROUP', 'CREATE', 'x', 'g', '$', 'MKSTREAM']], ['x'],
        { other: [['XADD', 'x', '1-1', 'f', 'v']] }),
    ]);
  });

  it('"new" and "keymiss" events (KEAnm): where creations and misses fall, none for OBJECT', async () => {
    await same(servers, [
      c(['MGET', 'x1', 'x2']),
      c(['SORT', 'l', 'BY', 'nosort', 'GET', 'm*'], [['RPUSH', 'l', '1', '2']]),
      c(['XREAD', 'STREAMS', 'x1', 'x2', '0', '0']),
      c(['OBJECT', 'ENCODING', 'x1']),
      c(['OBJECT', 'FREQ', 'x1']),
      c(['TYPE', 'x1']),
      c(['LPUSH', 'new1', 'a']),
      c(['SUNIONSTORE', 'new2', 's'], [['SADD', 's', 'a']]),
      c(['XGROUP', 'CREATE', 'new3', 'g', '$', 'MKSTREAM']),
      c(['RPOPLPUSH', 'l', 'new4'], [['RPUSH', 'l', '1']]),
      c(['HINCRBY', 'new5', 'f', '1']),
    ], 'KEAnm');
  });
});
