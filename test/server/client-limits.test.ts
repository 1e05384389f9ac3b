// Client memory limits, side by side with redis-server 7.0: client-output-buffer-limit for the
// pubsub and normal classes (hard and soft), a pipelining client that does not read, maxclients
// and the INFO clients figures that report them.
import net from 'node:net';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';
import { encodeCommand, formatReply, RawConnection, type Reply } from '../helpers/resp';
import type { RunningServer } from '../helpers/servers';

let servers: BothServers;
const both = () => [servers.keyfork, servers.redis];

const text = (r: Reply): string => {
  if ((r.t === 'bulk' || r.t === 'verbatim' || r.t === 'simple') && r.v !== null) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
};

/** A connection that subscribes, reads the confirmation and then stops reading. */
async function stalledSubscriber(port: number, name: string, channel: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  socket.write(Buffer.concat([encodeCommand(['CLIENT', 'SETNAME', name]), encodeCommand(['SUBSCRIBE', channel])]));
  await new Promise<void>((resolve) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.includes('subscribe')) {
        socket.off('data', onData);
        socket.pause();
        resolve();
      }
    };
    socket.on('data', onData);
  });
  return socket;
}

/** CLIENT LIST fields of the client named `name`, or null when it is gone. */
async function clientFields(conn: RawConnection, name: string): Promise<Map<string, string> | null> {
  const list = text(await conn.send('CLIENT', 'LIST'));
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  if (!line) return null;
  return new Map(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

async function infoField(conn: RawConnection, section: string, field: string): Promise<number> {
  const info = text(await conn.send('INFO', section));
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  if (!m) throw new Error(`no ${field} in INFO ${section}`);
  return Number(m[1]);
}

const DROP_LINE = /Client id=\d+ addr=\S+ .*name=(\S+) .* scheduled to be closed ASAP for overcoming of output buffer limits\./;

/** The names of the clients the server logged as dropped for their output buffers. */
const droppedNames = (server: RunningServer) => [...server.output().matchAll(new RegExp(DROP_LINE, 'g'))].map((m) => m[1]);

/** Publishes `count` messages of `size` bytes, in pipelined groups of 16. */
async function publish(conn: RawConnection, channel: string, size: number, count: number): Promise<void> {
  const payload = Buffer.alloc(size, 'x');
  for (let sent = 0; sent < count; sent += 16) {
    const n = Math.min(16, count - sent);
    await conn.pipeline(Array.from({ length: n }, () => ['PUBLISH', channel, payload]));
  }
}

describeDifferential('client limits vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  it('a pub/sub subscriber that stops reading is dropped at the default hard limit (32mb), with Redis\'s log line', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      const usedBefore = await infoField(admin, 'memory', 'used_memory');
      const sub = await stalledSubscriber(server.port, 'slowsub', 'news');
      try {
        // 1 MB messages: the kernel's socket buffers take a few MB, the rest queues in the server.
        await publish(admin, 'news', 1024 * 1024, 64);
        expect(await waitFor(async () => (await clientFields(admin, 'slowsub')) === null, 5000), server.proc.spawnfile).toBe(true);
        expect(await waitFor(async () => droppedNames(server).includes('slowsub'), 5000), server.output()).toBe(true);
        // The subscriber is gone: PUBLISH reaches nobody.
        expect(await admin.send('PUBLISH', 'news', 'x')).toEqual({ t: 'int', v: 0 });
        // And the memory its output held is given back.
        const returned = await waitFor(async () => (await infoField(admin, 'memory', 'used_memory')) < usedBefore + 4 * 1024 * 1024, 8000);
        expect(returned, `used_memory ${await infoField(admin, 'memory', 'used_memory')} vs ${usedBefore} before`).toBe(true);
      } finally {
        sub.destroy();
        admin.close();
      }
    }
  });

  it('the soft limit drops a subscriber that stays over it for longer than its seconds', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      // 3 seconds over the soft limit: publishing 24 MB must end well within them, also on a
      // loaded machine (with 1 s it sometimes did not, and the subscriber was gone too early).
      expect(text(await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 4mb 3'))).toBe('OK');
      const sub = await stalledSubscriber(server.port, 'softsub', 'soft');
      try {
        await publish(admin, 'soft', 1024 * 1024, 24);
        // Over the soft limit, but not yet for more than its seconds: still connected.
        expect(await clientFields(admin, 'softsub')).not.toBeNull();
        // "More than 3 seconds" is counted in whole seconds of the server's clock (unixtime
        // minus the second the limit was first seen exceeded, during the publish): 3.3 s after
        // the publish can still count as 3. After 4 s of real time it counts as at least 4.
        await new Promise((r) => setTimeout(r, 4300));
        // Redis checks the limit when output is added: one more message closes it.
        await admin.send('PUBLISH', 'soft', 'y');
        expect(await waitFor(async () => (await clientFields(admin, 'softsub')) === null, 5000)).toBe(true);
      } finally {
        sub.destroy();
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
        admin.close();
      }
    }
  });

  it('a normal client that pipelines without reading is not dropped (no limit by default) and shows its output in CLIENT LIST', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      await admin.send('SET', 'big', Buffer.alloc(512 * 1024, 'v'));
      const reader = net.connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => reader.once('connect', () => resolve()));
      reader.on('error', () => {});
      reader.pause();
      try {
        reader.write(encodeCommand(['CLIENT', 'SETNAME', 'piper']));
        reader.write(Buffer.concat(Array.from({ length: 80 }, () => encodeCommand(['GET', 'big']))));
        // 40 MB of replies: far beyond what the kernel buffers hold.
        const grew = await waitFor(async () => {
          const f = await clientFields(admin, 'piper');
          return f !== null && Number(f.get('omem')) > 8 * 1024 * 1024;
        }, 5000);
        expect(grew, server.proc.spawnfile).toBe(true);
        const f = await clientFields(admin, 'piper');
        // omem is in output blocks (oll: Redis's reply list, keyfork's one queue); tot-mem adds
        // the query buffer and the fixed client size to it.
        expect(Number(f?.get('oll')), server.proc.spawnfile).toBeGreaterThanOrEqual(1);
        expect(f?.get('events')).toBe('rw');
        expect(Number(f?.get('tot-mem'))).toBeGreaterThan(Number(f?.get('omem')) + Number(f?.get('qbuf')) + Number(f?.get('qbuf-free')));
        expect(await infoField(admin, 'clients', 'client_recent_max_output_buffer')).toBeGreaterThan(8 * 1024 * 1024);
        // Still connected once it reads again: every reply arrives.
        let received = 0;
        const done = new Promise<void>((resolve) => {
          reader.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received >= 80 * (512 * 1024 + 11) + 5) resolve();
          });
        });
        reader.resume();
        await done;
        expect(await clientFields(admin, 'piper')).not.toBeNull();
      } finally {
        reader.destroy();
        admin.close();
      }
    }
  });

  it('the normal class can be limited too', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      await admin.send('SET', 'big', Buffer.alloc(512 * 1024, 'v'));
      await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 2mb 0 0');
      const reader = net.connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => reader.once('connect', () => resolve()));
      reader.on('error', () => {});
      reader.pause();
      try {
        reader.write(encodeCommand(['CLIENT', 'SETNAME', 'limited']));
        reader.write(Buffer.concat(Array.from({ length: 80 }, () => encodeCommand(['GET', 'big']))));
        expect(await waitFor(async () => (await clientFields(admin, 'limited')) === null, 5000)).toBe(true);
        expect(await waitFor(async () => droppedNames(server).includes('limited'), 5000), server.output()).toBe(true);
      } finally {
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
        reader.destroy();
        admin.close();
      }
    }
  });
});

/**
 * Sends `commands` on a new connection in one write and collects what comes back until the
 * server closes it (or `ms` pass): the bytes and whether it was closed.
 */
async function sendUntilClosed(port: number, commands: (string | Buffer)[][], ms: number): Promise<{ received: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.write(Buffer.concat(commands.map((c) => encodeCommand(c))));
  const wasClosed = await closed;
  socket.destroy();
  return { received, closed: wasClosed };
}

describeDifferential('client-output-buffer-limit: replies are judged before they are written', () => {
  useBothServers((s) => (servers = s));

  // Redis adds a command's replies to the client's buffers and checks the limit as they grow;
  // it writes them only before it sleeps, so a client that goes past the hard limit with one
  // read's replies receives none of them (tests/unit/obuf-limits.tcl "No response for ...").
  it('a single reply past the normal hard limit is never sent (LRANGE, KEYS)', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      try {
        await admin.send('FLUSHALL');
        const item = Buffer.alloc(1000, 'x');
        await admin.pipeline(Array.from({ length: 150 }, () => ['LPUSH', 'biglist', item]));
        await admin.pipeline(Array.from({ length: 1000 }, (_, i) => ['SET', `${'k'.repeat(100)}${i}`, 'v']));
        expect(text(await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 100000 0 0'))).toBe('OK');
        for (const command of [['LRANGE', 'biglist', '0', '-1'], ['KEYS', '*']]) {
          const r = await sendUntilClosed(server.port, [command], 5000);
          expect({ command: command[0], ...r }, server.proc.spawnfile).toEqual({ command: command[0], received: '', closed: true });
        }
      } finally {
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
        admin.close();
      }
    }
  });

  it('a pipeline whose replies together pass the limit gets none; a transaction still runs to its end', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      try {
        await admin.send('FLUSHALL');
        await admin.send('SET', 'bigkey', Buffer.alloc(10000, 'x'));
        expect(text(await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 100000 0 0'))).toBe('OK');
        // Plain GETs (the fast paths' commands): 15 x 10 KB in one read.
        const pipeline = Array.from({ length: 15 }, (_, i) => [['SET', `p${i}`, `${i}`], ['GET', `p${i}`], ['GET', 'bigkey']]).flat();
        const r = await sendUntilClosed(server.port, pipeline, 5000);
        expect(r, server.proc.spawnfile).toEqual({ received: '', closed: true });
        const tx = await sendUntilClosed(server.port, [
          ['CLIENT', 'SETNAME', 'tx'], ['MULTI'], ['SET', 'k2', 'v2'],
          ...Array.from({ length: 12 }, () => ['GET', 'bigkey']), ['SET', 'k3', 'v3'], ['EXEC'],
        ], 5000);
        expect(tx.closed, server.proc.spawnfile).toBe(true);
        expect(tx.received).not.toContain('xxxx');
        // Every command of the transaction ran, though its reply was never sent.
        expect(await admin.send('MGET', 'k2', 'k3'), server.proc.spawnfile).toEqual({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('v2') }, { t: 'bulk', v: Buffer.from('v3') }] });
      } finally {
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
        admin.close();
      }
    }
  });

  // Redis builds a reply of picks with repetition pick by pick and stops once its client is to
  // be closed (tests/unit/obuf-limits.tcl "HRANDFIELD with huge count stopped mid-run"); a
  // script's call has no client limit, and the pubsub class has limits of its own.
  it('random picks with a huge negative count stop at the client\'s hard limit, not in a script or another class', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      try {
        await admin.send('FLUSHALL');
        await admin.pipeline([['HSET', 'h', 'a', 'b'], ['SADD', 's', 'm'], ['ZADD', 'z', '1', 'm']]);
        expect(text(await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1000000 0 0 pubsub 0 0 0'))).toBe('OK');
        for (const command of [['HRANDFIELD', 'h', '-999999999'], ['SRANDMEMBER', 's', '-999999999'], ['ZRANDMEMBER', 'z', '-999999999', 'WITHSCORES']]) {
          const r = await sendUntilClosed(server.port, [command], 20_000);
          expect({ command: command[0], ...r }, server.proc.spawnfile).toEqual({ command: command[0], received: '', closed: true });
        }
        // 200,000 picks (1.4 MB) inside a script: all of them.
        expect(await admin.send('EVAL', "return #redis.call('srandmember', KEYS[1], -200000)", '1', 's'), server.proc.spawnfile).toEqual({ t: 'int', v: 200000 });
        // A RESP3 subscriber is in the pubsub class, which has no limit here: the whole reply.
        const sub = await RawConnection.connect(server.port, { resp3: true, replyTimeoutMs: 20_000 });
        try {
          await sub.send('SUBSCRIBE', 'ch');
          const picks = await sub.send('SRANDMEMBER', 's', '-200000');
          expect(picks.t === 'array' ? picks.v?.length : picks.t, server.proc.spawnfile).toBe(200000);
        } finally {
          sub.close();
        }
        expect(text(await admin.send('PING'))).toBe('PONG');
      } finally {
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0 pubsub 32mb 8mb 60');
        admin.close();
      }
    }
  }, 60_000);

  it('the soft limit\'s time runs out without any more traffic', async () => {
    for (const server of both()) {
      const admin = await RawConnection.connect(server.port);
      expect(text(await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 1mb 2'))).toBe('OK');
      const sub = await stalledSubscriber(server.port, 'quietsub', 'quiet');
      try {
        // Publish until the server holds more than the soft limit (the kernel's socket buffers
        // take some MB first), then no traffic at all.
        let omem = 0;
        for (let round = 0; round < 200 && omem <= 1024 * 1024; round++) {
          await publish(admin, 'quiet', 256 * 1024, 4);
          omem = Number((await clientFields(admin, 'quietsub'))?.get('omem') ?? 0);
        }
        expect(omem, server.proc.spawnfile).toBeGreaterThan(1024 * 1024);
        expect(await waitFor(async () => (await clientFields(admin, 'quietsub')) === null, 6000), server.proc.spawnfile).toBe(true);
        // The clients cron frees it at once: Redis's log line says "closed", not "scheduled".
        expect(server.output(), server.proc.spawnfile).toMatch(/Client id=\d+ .*name=quietsub .* closed for overcoming of output buffer limits\./);
      } finally {
        sub.destroy();
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
        admin.close();
      }
    }
  });
});
