// Client eviction (maxmemory-clients) side by side with redis-server 7.0.15: when the memory of
// the normal and pub/sub clients (CLIENT LIST tot-mem summed) reaches the limit, the clients
// using the most are disconnected ("Evicting client: <client info>" at notice level,
// INFO evicted_clients) until the sum is under it; CLIENT NO-EVICT clients, replicas and
// masters are never evicted. Every load here is bounded in count and time.
import net from 'node:net';
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, RawConnection, type Arg } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';
import { infoNumber, replyText as text, until } from '../helpers/info';
import { cmd, keyforkNode, redisNode, stopNodesAfterEach, waitLinkUp, type Node } from './replication-support';

let servers: BothServers;
const both = (): Array<[string, RunningServer]> => [['keyfork', servers.keyfork], ['redis', servers.redis]];

const OK = { t: 'simple', v: 'OK' };

/** A connection that protects itself from eviction (the test's own eyes on the server). */
async function watcher(port: number): Promise<RawConnection> {
  const conn = await RawConnection.connect(port);
  expect(await conn.send('CLIENT', 'NO-EVICT', 'on')).toEqual(OK);
  return conn;
}

async function clientId(conn: RawConnection): Promise<number> {
  const r = await conn.send('CLIENT', 'ID');
  if (r.t !== 'int') throw new Error('CLIENT ID');
  return Number(r.v);
}

async function listedLine(conn: RawConnection, id: number): Promise<string> {
  return text(await conn.send('CLIENT', 'LIST', 'ID', String(id))).trim();
}

/** Sends the start of `SET key <size bytes>`: the request's head and `sent` bytes of the value. */
function partialSet(conn: RawConnection, key: string, size: number, sent: number): void {
  const request = encodeCommand(['SET', key, Buffer.alloc(size, 'x')]);
  const head = request.length - size - 2;
  conn.write(request.subarray(0, head + sent));
}

/** The notice Redis logs for each evicted client, with the client's CLIENT LIST line. */
const evictionLines = (server: RunningServer, id: number): string[] =>
  server.output().split('\n').filter((l) => new RegExp(`\\* Evicting client: id=${id} addr=`).test(l));

const OVER_WARNING = /# Over client maxmemory after evicting all evictable clients/;

async function setBoth(...args: Arg[]): Promise<void> {
  for (const [label, server] of both()) {
    const conn = await watcher(server.port);
    try {
      expect(await conn.send(...args), label).toEqual(OK);
    } finally {
      conn.close();
    }
  }
}

/**
 * Runs `body` on each server in turn with maxmemory-clients at `limit` (turned off after), with
 * a protected connection to watch through.
 */
async function withLimit(limit: string, body: (label: string, server: RunningServer, eyes: RawConnection) => Promise<void>): Promise<void> {
  await setBoth('CONFIG', 'SET', 'maxmemory-clients', limit);
  try {
    for (const [label, server] of both()) {
      const eyes = await watcher(server.port);
      try {
        await body(label, server, eyes);
      } finally {
        eyes.close();
      }
    }
  } finally {
    await setBoth('CONFIG', 'SET', 'maxmemory-clients', '0');
  }
}

describeDifferential('client eviction (maxmemory-clients) vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s), { keyfork: { args: ['--enable-debug-command', 'yes'] }, redis: { args: ['--enable-debug-command', 'yes'] } });

  it('CONFIG SET / GET maxmemory-clients: bytes, percentages of maxmemory shown with %, and the same refusals', async () => {
    const commands: Arg[][] = [
      ['CONFIG', 'GET', 'maxmemory-clients'],
      ['CONFIG', 'SET', 'maxmemory-clients', '10%'],
      ['CONFIG', 'GET', 'maxmemory-clients'],
      ['CONFIG', 'SET', 'maxmemory-clients', '100%'],
      ['CONFIG', 'GET', 'maxmemory-clients'],
      ['CONFIG', 'SET', 'maxmemory-clients', '0%'],
      ['CONFIG', 'GET', 'maxmemory-clients'],
      ['CONFIG', 'SET', 'maxmemory-clients', '101%'],
      ['CONFIG', 'SET', 'maxmemory-clients', '-5'],
      ['CONFIG', 'SET', 'maxmemory-clients', '-5%'],
      ['CONFIG', 'SET', 'maxmemory-clients', '1mb'],
      ['CONFIG', 'GET', 'maxmemory-clients'],
      ['CONFIG', 'SET', 'maxmemory-clients', '5000'],
      ['CONFIG', 'GET', 'maxmemory-clients'],
      ['CONFIG', 'SET', 'maxmemory-clients', 'lots'],
      ['CONFIG', 'SET', 'maxmemory-clients', '0'],
      ['CONFIG', 'GET', 'maxmemory-clients'],
    ];
    const mismatches = await compareSequences(commands, { servers });
    expect(formatMismatches(mismatches)).toBe('');
  });

  it('DEBUG CLIENT-EVICTION: refused while off; the size classes, with a 1 MB partial request in the 1-2 MB one', async () => {
    expect(formatMismatches(await compareSequences([['DEBUG', 'CLIENT-EVICTION'], ['DEBUG', 'CLIENT-EVICTION', 'x']], { servers }))).toBe('');
    const tables: string[] = [];
    await withLimit('10mb', async (label, server, eyes) => {
      const c = await RawConnection.connect(server.port);
      try {
        partialSet(c, 'big', 1024 * 1024, 300 * 1024);
        // Each line: the class's range, then the memory and the number of its evictable clients.
        const classes = async () => text(await eyes.send('DEBUG', 'CLIENT-EVICTION')).split('\n').filter(Boolean)
          .map((l) => /^(bucket .*: )tot-mem: +(\d+), clients: (\d+)$/.exec(l)!);
        expect(await until(async () => (await classes())[6][3] === '1', 10_000), `${label}: ${text(await eyes.send('DEBUG', 'CLIENT-EVICTION'))}`).toBe(true);
        const lines = await classes();
        expect(lines.length, label).toBe(19);
        expect(Number(lines[6][2]), label).toBeGreaterThanOrEqual(1024 * 1024);
        expect(lines.slice(7).every((m) => m[2] === '0' && m[3] === '0'), label).toBe(true);
        tables.push(lines.map((m) => m[1]).join('\n'));
      } finally {
        c.close();
      }
    });
    expect(tables[0]).toBe(tables[1]);
  });

  it('a client whose query buffer holds a big partial argument is evicted, logged and counted; the command never runs', async () => {
    await withLimit('200000', async (label, server, eyes) => {
      const c = await RawConnection.connect(server.port);
      try {
        const before = await infoNumber(eyes, 'stats', 'evicted_clients');
        const id = await clientId(c);
        expect(await c.send('SET', 'small', 'v'), label).toEqual(OK);
        partialSet(c, 'big', 1024 * 1024, 300 * 1024);
        expect(await c.waitClose(10_000), label).toBe(true);
        expect(await infoNumber(eyes, 'stats', 'evicted_clients'), label).toBe(before + 1);
        expect(await listedLine(eyes, id), label).toBe('');
        expect(await eyes.send('EXISTS', 'big', 'small'), label).toEqual({ t: 'int', v: 1 });
        expect(await until(async () => evictionLines(server, id).length === 1, 5000), `${label}: ${server.output().slice(-2000)}`).toBe(true);
        expect(evictionLines(server, id)[0], label).toMatch(/ flags=N .* qbuf=\d+ qbuf-free=\d+ argv-mem=6 .* tot-mem=\d+ .* cmd=set /);
        expect(await eyes.send('CONFIG', 'RESETSTAT'), label).toEqual(OK);
        expect(await infoNumber(eyes, 'stats', 'evicted_clients'), label).toBe(0);
      } finally {
        c.close();
      }
    });
  });

  it('CLIENT NO-EVICT protects a client over the limit: the others are evicted after their reply, with Redis\'s warning', async () => {
    await withLimit('200000', async (label, server, eyes) => {
      const big = await watcher(server.port);
      try {
        const bigId = await clientId(big);
        const before = await infoNumber(eyes, 'stats', 'evicted_clients');
        partialSet(big, 'big', 1024 * 1024, 300 * 1024);
        expect(await until(async () => / qbuf=(\d{6,}) /.test(await listedLine(eyes, bigId)), 10_000), label).toBe(true);
        expect(await listedLine(eyes, bigId), label).toMatch(/ flags=e /);
        // A new client over the limit gets the reply to its command, and then it is evicted.
        const other = await RawConnection.connect(server.port);
        expect(await other.send('PING'), label).toEqual({ t: 'simple', v: 'PONG' });
        expect(await other.waitClose(10_000), label).toBe(true);
        other.close();
        expect(await infoNumber(eyes, 'stats', 'evicted_clients'), label).toBe(before + 1);
        expect(await until(async () => OVER_WARNING.test(server.output()), 5000), label).toBe(true);
        expect(big.isClosed(), label).toBe(false);
        expect(eyes.isClosed(), label).toBe(false);
      } finally {
        big.close();
      }
    });
  });

  it('a subscriber that does not read is evicted once its output buffer takes the sum over the limit', async () => {
    await withLimit('1mb', async (label, server, eyes) => {
      const subscriber = net.connect(server.port, '127.0.0.1');
      subscriber.on('error', () => {});
      // A paused socket does not see its end: the subscriber is looked for in CLIENT LIST.
      const listed = async () => text(await eyes.send('CLIENT', 'LIST')).includes(' name=stalled ');
      try {
        const before = await infoNumber(eyes, 'stats', 'evicted_clients');
        await new Promise<void>((resolve) => {
          let seen = '';
          subscriber.on('data', function onData(chunk: Buffer) {
            seen += chunk.toString('latin1');
            if (seen.includes('subscribe')) {
              subscriber.off('data', onData);
              subscriber.pause();
              resolve();
            }
          });
          subscriber.write(Buffer.concat([encodeCommand(['CLIENT', 'SETNAME', 'stalled']), encodeCommand(['SUBSCRIBE', 'ch'])]));
        });
        expect(await listed(), label).toBe(true);
        // Bounded: at most 400 messages of 64 KB (25 MB, under the pubsub class's 32 MB hard
        // output limit), in pipelined groups of 8, until the subscriber is gone.
        const payload = Buffer.alloc(64 * 1024, 'p');
        for (let sent = 0; sent < 400 && (await listed()); sent += 8) {
          await eyes.pipeline(Array.from({ length: 8 }, () => ['PUBLISH', 'ch', payload]));
        }
        expect(await until(async () => !(await listed()), 10_000), label).toBe(true);
        expect(await infoNumber(eyes, 'stats', 'evicted_clients'), label).toBe(before + 1);
        const line = server.output().split('\n').find((l) => /\* Evicting client: .* name=stalled .* flags=P .* sub=1 /.test(l));
        expect(line, `${label}: ${server.output().slice(-2000)}`).toBeDefined();
        expect(Number(/ omem=(\d+) /.exec(line!)![1]), label).toBeGreaterThan(0);
      } finally {
        subscriber.destroy();
      }
    });
  });

  it('a percentage is of maxmemory: it evicts with maxmemory set and does nothing while maxmemory is 0', async () => {
    await withLimit('1%', async (label, server, eyes) => {
      try {
        const before = await infoNumber(eyes, 'stats', 'evicted_clients');
        // maxmemory 0: no limit at all, a 2 MB argument arrives whole and runs.
        const unlimited = await RawConnection.connect(server.port);
        partialSet(unlimited, 'p', 2 * 1024 * 1024, 1536 * 1024);
        unlimited.write(Buffer.concat([Buffer.alloc(512 * 1024, 'x'), Buffer.from('\r\n')]));
        expect(await unlimited.readReply(), label).toEqual(OK);
        unlimited.close();
        expect(await infoNumber(eyes, 'stats', 'evicted_clients'), label).toBe(before);
        // maxmemory 200 MB: 1% is 2 MB, which the same request's query buffer reaches.
        expect(await eyes.send('CONFIG', 'SET', 'maxmemory', '200mb'), label).toEqual(OK);
        const limited = await RawConnection.connect(server.port);
        partialSet(limited, 'p', 4 * 1024 * 1024, 2 * 1024 * 1024);
        expect(await limited.waitClose(10_000), label).toBe(true);
        limited.close();
        expect(await infoNumber(eyes, 'stats', 'evicted_clients'), label).toBe(before + 1);
      } finally {
        await eyes.send('CONFIG', 'SET', 'maxmemory', '0');
        await eyes.send('DEL', 'p');
      }
    });
  });
});

describeDifferential('client eviction counts a client\'s bookkeeping (vs redis-server 7.0)', () => {
  useBothServers((s) => (servers = s));

  // tests/unit/client-eviction.tcl "avoid client eviction when client is freed by output
  // buffer limit": replies past client-output-buffer-limit close their clients, whose memory
  // then does not make maxmemory-clients evict an innocent client.
  it('clients closed for their output buffer limit do not get another client evicted', async () => {
    for (const [label, server] of both()) {
      const eyes = await watcher(server.port);
      const qbuf = await RawConnection.connect(server.port);
      const readers = [await RawConnection.connect(server.port), await RawConnection.connect(server.port)];
      try {
        expect(await eyes.send('CONFIG', 'SET', 'maxmemory-clients', '10mb'), label).toEqual(OK);
        expect(await eyes.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 3mb 0 0'), label).toEqual(OK);
        expect(await eyes.send('SETRANGE', 'k', String(4 * 1024 * 1024), 'v'), label).toEqual({ t: 'int', v: 4 * 1024 * 1024 + 1 });
        const qbufId = await clientId(qbuf);
        // 6 MB of an argument that never ends: with one 4 MB reply, over 10 MB.
        partialSet(qbuf, 'never', 6 * 1024 * 1024, 6 * 1024 * 1024);
        expect(await until(async () => / qbuf=(\d{7})/.test(await listedLine(eyes, qbufId)), 10_000), label).toBe(true);
        // Both GETs arrive while the server is stopped: it runs them in one go.
        process.kill(server.pid, 'SIGSTOP');
        try {
          for (const r of readers) r.write(encodeCommand(['GET', 'k']));
          await new Promise((r) => setTimeout(r, 100));
        } finally {
          process.kill(server.pid, 'SIGCONT');
        }
        for (const r of readers) expect(await r.waitClose(5000), label).toBe(true);
        expect(await listedLine(eyes, qbufId), label).toContain(`id=${qbufId} `);
        expect(evictionLines(server, qbufId), label).toEqual([]);
      } finally {
        for (const r of [qbuf, ...readers]) r.close();
        await eyes.send('CONFIG', 'SET', 'maxmemory-clients', '0');
        await eyes.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
        await eyes.send('DEL', 'k');
        eyes.close();
      }
    }
  });

  // Redis 7.0's getClientMemoryUsage adds the watched keys' records, the subscriptions' dict
  // entries and list nodes to a client's memory: a client that only keeps watching or
  // subscribing is evicted (tests/unit/client-eviction.tcl "watched key list", "pubsub").
  for (const command of ['WATCH', 'SUBSCRIBE', 'PSUBSCRIBE']) {
    it(`a client that keeps adding with ${command} is evicted, well before 20000 of them`, async () => {
      for (const [label, server] of both()) {
        const eyes = await watcher(server.port);
        const c = await RawConnection.connect(server.port);
        try {
          expect(await eyes.send('CONFIG', 'SET', 'maxmemory-clients', '200000'), label).toEqual(OK);
          let sent = 0;
          // Groups of 250 in one write each, every reply read before the next group.
          while (sent < 20_000 && !c.isClosed()) {
            const group = Array.from({ length: 250 }, (_, i) => [command, `k${sent + i}`]);
            sent += group.length;
            try {
              await c.pipeline(group);
            } catch {
              break;
            }
          }
          expect(await c.waitClose(5000), `${label} after ${sent}`).toBe(true);
          expect(sent, label).toBeLessThan(20_000);
        } finally {
          c.close();
          await eyes.send('CONFIG', 'SET', 'maxmemory-clients', '0');
          eyes.close();
        }
      }
    });
  }
});

describeDifferential('client eviction never takes replicas or the master link (vs redis-server 7.0)', () => {
  stopNodesAfterEach();

  for (const kind of ['keyfork', 'redis'] as const) {
    it(`${kind}: a stopped replica's output buffer over maxmemory-clients keeps its link; a normal client in its place is evicted`, async () => {
      const start = kind === 'keyfork' ? keyforkNode : redisNode;
      const master: Node = await start();
      const replica: Node = await start(['--replicaof', '127.0.0.1', String(master.server.port)]);
      await waitLinkUp(replica);
      expect(await cmd(master, 'CLIENT', 'NO-EVICT', 'on')).toBe('+OK');
      expect(await cmd(replica, 'CLIENT', 'NO-EVICT', 'on')).toBe('+OK');
      expect(await cmd(master, 'CONFIG', 'SET', 'maxmemory-clients', '131072')).toBe('+OK');
      expect(await cmd(replica, 'CONFIG', 'SET', 'maxmemory-clients', '131072')).toBe('+OK');
      const firstId = async (node: Node, type: string) => Number(/^id=(\d+) /.exec(text(await node.conn.send('CLIENT', 'LIST', 'TYPE', type)))![1]);
      const replicaId = await firstId(master, 'replica');
      const masterLinkId = await firstId(replica, 'master');
      process.kill(replica.server.pid, 'SIGSTOP');
      try {
        // Bounded: 16 values of 1 MB (16 MB, under the replica class's 64 MB soft limit).
        const value = Buffer.alloc(1024 * 1024, 'r');
        for (let i = 0; i < 16; i++) expect(await cmd(master, 'SET', `r${i}`, value)).toBe('+OK');
        const line = text(await master.conn.send('CLIENT', 'LIST', 'TYPE', 'replica'));
        expect(Number(/ tot-mem=(\d+) /.exec(line)![1]), line).toBeGreaterThan(131072);
        // The master's own normal clients are still evicted meanwhile.
        const c = await RawConnection.connect(master.server.port);
        partialSet(c, 'big', 1024 * 1024, 300 * 1024);
        expect(await c.waitClose(10_000)).toBe(true);
        c.close();
      } finally {
        process.kill(replica.server.pid, 'SIGCONT');
      }
      expect(await infoNumber(master.conn, 'stats', 'evicted_clients')).toBe(1);
      expect(text(await master.conn.send('CLIENT', 'LIST', 'TYPE', 'replica'))).toMatch(new RegExp(`^id=${replicaId} `));
      // The replica's master link (which just received 16 MB) was not evicted either.
      await waitLinkUp(replica);
      expect(await infoNumber(replica.conn, 'stats', 'evicted_clients')).toBe(0);
      expect(await firstId(replica, 'master')).toBe(masterLinkId);
    }, 60_000);
  }
});
