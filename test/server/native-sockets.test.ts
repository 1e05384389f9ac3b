// Client sockets owned by the addon (KEYFORK_SOCKETS=native, native/src/sockets.rs) against the
// node:net path (KEYFORK_SOCKETS=node): the same replies in the same order, whoever answers
// them, and the same bookkeeping (CLIENT LIST, INFO, timeouts, output limits) for commands the
// addon ran without entering JavaScript.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCommand, formatReply, RawConnection } from '../helpers/resp';
import { startKeyfork, type RunningServer } from '../helpers/servers';

/** Reads from a raw socket until `bytes` have arrived (or it closes): what arrived. */
function readBytes(socket: net.Socket, bytes: number, ms = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      n += chunk.length;
      if (n >= bytes) done();
    };
    const timer = setTimeout(() => reject(new Error(`only ${n} of ${bytes} bytes within ${ms} ms`)), ms);
    socket.on('data', onData);
    socket.once('close', done);
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function clientField(list: string, id: number, field: string): string | undefined {
  const line = list.split('\n').find((l) => l.startsWith(`id=${id} `));
  return line?.match(new RegExp(`(?:^| )${field}=(\\S*)`))?.[1];
}

/** A number field of INFO all. */
async function infoNumber(conn: RawConnection, field: string): Promise<number> {
  return Number(new RegExp(`${field}:(\\d+)`).exec(formatReply(await conn.send('INFO', 'all')))?.[1]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

for (const mode of ['native', 'node'] as const) {
  describe(`client sockets: ${mode}`, () => {
    let keyfork: RunningServer;
    beforeAll(async () => {
      keyfork = await startKeyfork({ env: { KEYFORK_SOCKETS: mode } });
    });
    afterAll(async () => {
      await keyfork?.stop();
    });

    it('keeps reply order when data commands and TypeScript commands share a chunk', async () => {
      const c = await RawConnection.connect(keyfork.port);
      try {
        await c.send('PING');
        const replies = await c.pipeline([
          ['SET', 'order:k', '1'],
          ['INCR', 'order:k'],
          ['ECHO', 'between'],
          ['GET', 'order:k'],
          ['CLIENT', 'SETNAME', 'orderly'],
          ['INCRBY', 'order:k', '10'],
          ['LPUSH', 'order:l', 'a', 'b'],
          ['NOSUCHCOMMAND'],
          ['GET', 'order:k'],
          ['CLIENT', 'GETNAME'],
        ]);
        expect(replies.map(formatReply)).toEqual([
          'OK', '(integer) 2', '"between"', '"2"', 'OK', '(integer) 12', '(integer) 2',
          "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ", '"12"', '"orderly"',
        ]);
      } finally {
        c.close();
      }
    });

    it('answers a request that arrives a few bytes at a time, once', async () => {
      const c = await RawConnection.connect(keyfork.port);
      try {
        await c.send('SET', 'split:k', 'value');
        const wire = Buffer.concat([encodeCommand(['GET', 'split:k']), encodeCommand(['STRLEN', 'split:k'])]);
        for (let i = 0; i < wire.length; i += 3) {
          c.write(wire.subarray(i, i + 3));
          await sleep(2);
        }
        expect(formatReply(await c.readReply())).toBe('"value"');
        expect(formatReply(await c.readReply())).toBe('(integer) 5');
        expect(formatReply(await c.send('PING'))).toBe('PONG');
      } finally {
        c.close();
      }
    });

    it('delivers large replies whole to a client that reads slowly', async () => {
      const c = await RawConnection.connect(keyfork.port);
      const value = Buffer.alloc(3 * 1024 * 1024, 'x');
      try {
        expect(formatReply(await c.send('SET', 'big:k', value))).toBe('OK');
      } finally {
        c.close();
      }
      const s = await connect(keyfork.port);
      try {
        s.pause();
        s.write(encodeCommand(['PING']));
        for (let i = 0; i < 4; i++) s.write(Buffer.concat([encodeCommand(['GET', 'big:k']), encodeCommand(['PING'])]));
        await sleep(300);
        const reply = Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n+PONG\r\n')]);
        const expected = Buffer.concat([Buffer.from('+PONG\r\n'), reply, reply, reply, reply]);
        const got = readBytes(s, expected.length);
        s.resume();
        expect((await got).equals(expected)).toBe(true);
      } finally {
        s.destroy();
      }
    });

    it('counts data commands and their errors in INFO and shows them in CLIENT LIST', async () => {
      const c = await RawConnection.connect(keyfork.port);
      const watcher = await RawConnection.connect(keyfork.port);
      try {
        await c.send('CONFIG', 'RESETSTAT');
        await c.send('LPUSH', 'stats:list', 'x');
        const id = Number(formatReply(await c.send('CLIENT', 'ID')).replace('(integer) ', ''));
        await c.pipeline(Array.from({ length: 50 }, () => ['GET', 'stats:k']));
        await c.pipeline(Array.from({ length: 3 }, () => ['GET', 'stats:list']));
        c.write(encodeCommand(['GET', 'stats:k']).subarray(0, 10));
        await sleep(100);
        const list = formatReply(await watcher.send('CLIENT', 'LIST')).replace(/^"|"$/g, '').replace(/\\n/g, '\n');
        expect(clientField(list, id, 'cmd')).toBe('get');
        expect(clientField(list, id, 'qbuf')).toBe('10');
        const info = formatReply(await watcher.send('INFO', 'all'));
        expect(info).toMatch(/cmdstat_get:calls=53,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=3/);
        expect(info).toMatch(/errorstat_WRONGTYPE:count=3/);
        const histogram = formatReply(await watcher.send('LATENCY', 'HISTOGRAM', 'get'));
        expect(histogram).toMatch(/"calls"\n\s*\d+\) \(integer\) 53/);
        c.write(encodeCommand(['GET', 'stats:k']).subarray(10));
        expect(formatReply(await c.readReply())).toBe('(nil)');
      } finally {
        c.close();
        watcher.close();
      }
    });

    it('logs data commands in the slow log when they pass its threshold', async () => {
      const c = await RawConnection.connect(keyfork.port);
      try {
        await c.send('PING');
        await c.send('SLOWLOG', 'RESET');
        await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
        await c.pipeline([['SET', 'slow:k', 'v1'], ['GET', 'slow:k']]);
        await c.send('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
        const log = formatReply(await c.send('SLOWLOG', 'GET', '10'));
        expect(log).toContain('"GET"');
        expect(log).toContain('"SET"');
        expect(log).toContain('"v1"');
      } finally {
        c.close();
      }
    });

    it('keeps a client busy with data commands past the timeout, and closes an idle one', async () => {
      const admin = await RawConnection.connect(keyfork.port);
      const busy = await RawConnection.connect(keyfork.port);
      const idle = await RawConnection.connect(keyfork.port);
      try {
        await busy.send('PING');
        await idle.send('PING');
        await admin.send('CONFIG', 'SET', 'timeout', '1');
        for (let i = 0; i < 10; i++) {
          expect(formatReply(await busy.send('GET', 'timeout:k'))).toBe('(nil)');
          await sleep(250);
        }
        expect(idle.isClosed()).toBe(true);
        expect(busy.isClosed()).toBe(false);
      } finally {
        admin.close();
        const reset = await RawConnection.connect(keyfork.port);
        await reset.send('CONFIG', 'SET', 'timeout', '0');
        reset.close();
        busy.close();
        idle.close();
      }
    });

    it('closes a client whose data command replies pass client-output-buffer-limit', async () => {
      const admin = await RawConnection.connect(keyfork.port);
      await admin.send('SET', 'limit:k', Buffer.alloc(1024 * 1024, 'y'));
      await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 2mb 0 0');
      const s = await connect(keyfork.port);
      try {
        s.on('error', () => undefined);
        s.pause();
        s.write(encodeCommand(['CLIENT', 'SETNAME', 'limited']));
        await sleep(50);
        for (let i = 0; i < 20; i++) s.write(encodeCommand(['GET', 'limit:k']));
        let present = true;
        for (let i = 0; i < 100 && present; i++) {
          await sleep(100);
          present = formatReply(await admin.send('CLIENT', 'LIST')).includes('name=limited');
        }
        expect(present).toBe(false);
      } finally {
        s.destroy();
        await admin.send('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
        admin.close();
      }
    });

    it('accepts a burst of connections, each a client with its own addresses, and frees them', async () => {
      const admin = await RawConnection.connect(keyfork.port);
      const sockets: net.Socket[] = [];
      try {
        const infoField = (field: string) => infoNumber(admin, field);
        const received = await infoField('total_connections_received');
        sockets.push(...(await Promise.all(Array.from({ length: 200 }, () => connect(keyfork.port)))));
        const pongs = await Promise.all(sockets.map(async (s) => {
          s.write('PING\r\n');
          return (await readBytes(s, 7)).toString();
        }));
        expect(new Set(pongs)).toEqual(new Set(['+PONG\r\n']));
        expect(await infoField('connected_clients')).toBe(201);
        expect(await infoField('total_connections_received')).toBe(received + 200);
        const list = formatReply(await admin.send('CLIENT', 'LIST')).replace(/^"|"$/g, '').replace(/\\n/g, '\n');
        const first = sockets[0];
        const line = list.split('\n').find((l) => l.includes(` addr=127.0.0.1:${first.localPort} `));
        expect(line, list.slice(0, 300)).toContain(` laddr=127.0.0.1:${keyfork.port} `);
        const closed = sockets.map((s) => new Promise<void>((r) => s.once('close', () => r())));
        for (const s of sockets) s.end();
        await Promise.all(closed);
        for (let i = 0; i < 100 && (await infoField('connected_clients')) !== 1; i++) await sleep(20);
        expect(await infoField('connected_clients')).toBe(1);
      } finally {
        for (const s of sockets) s.destroy();
        admin.close();
      }
    });

    it('refuses connections past maxclients with Redis\'s error, and counts them', async () => {
      const admin = await RawConnection.connect(keyfork.port);
      const sockets: net.Socket[] = [];
      try {
        const infoField = (field: string) => infoNumber(admin, field);
        // Earlier tests' connections may still be closing: only this one must be left.
        for (let i = 0; i < 100 && (await infoField('connected_clients')) !== 1; i++) await sleep(20);
        const rejected = await infoField('rejected_connections');
        await admin.send('CONFIG', 'SET', 'maxclients', '3');
        for (let i = 0; i < 2; i++) {
          const s = await connect(keyfork.port);
          sockets.push(s);
          s.write('PING\r\n');
          expect((await readBytes(s, 7)).toString()).toBe('+PONG\r\n');
        }
        const refused = await connect(keyfork.port);
        sockets.push(refused);
        expect((await readBytes(refused, 1000)).toString()).toBe('-ERR max number of clients reached\r\n');
        expect(await infoField('rejected_connections')).toBe(rejected + 1);
        expect(await infoField('connected_clients')).toBe(3);
      } finally {
        await admin.send('CONFIG', 'SET', 'maxclients', '10000');
        for (const s of sockets) s.destroy();
        admin.close();
      }
    });

    it('moves its listener with CONFIG SET port: the old port is released', async () => {
      const admin = await RawConnection.connect(keyfork.port);
      const oldPort = keyfork.port;
      const free = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, '127.0.0.1', () => {
          const port = (probe.address() as net.AddressInfo).port;
          probe.close(() => resolve(port));
        });
      });
      try {
        expect(formatReply(await admin.send('CONFIG', 'SET', 'port', String(free)))).toBe('OK');
        let moved: RawConnection | null = null;
        for (let i = 0; i < 100 && !moved; i++) moved = await RawConnection.connect(free).catch(() => null) ?? (await sleep(20), null);
        expect(moved).not.toBeNull();
        expect(formatReply(await moved!.send('PING'))).toBe('PONG');
        // A connection that raced into the old listener's accept queue while it closed is reset
        // (ECONNRESET) or even accepted: only a refusal shows the port released, so wait for one.
        let refusedError = '';
        for (let i = 0; i < 100 && refusedError !== 'ECONNREFUSED'; i++) {
          refusedError = await connect(oldPort).then((s) => (s.destroy(), ''), (err: NodeJS.ErrnoException) => err.code ?? 'error');
          if (refusedError !== 'ECONNREFUSED') await sleep(20);
        }
        expect(refusedError).toBe('ECONNREFUSED');
        // The connection made before the move is still served.
        expect(formatReply(await admin.send('PING'))).toBe('PONG');
        expect(formatReply(await moved!.send('CONFIG', 'SET', 'port', String(oldPort)))).toBe('OK');
        moved!.close();
        let back: RawConnection | null = null;
        for (let i = 0; i < 100 && !back; i++) back = await RawConnection.connect(oldPort).catch(() => null) ?? (await sleep(20), null);
        expect(formatReply(await back!.send('PING'))).toBe('PONG');
        back!.close();
      } finally {
        admin.close();
      }
    });

    it('answers what was pipelined before QUIT and then closes', async () => {
      const s = await connect(keyfork.port);
      try {
        s.write(encodeCommand(['PING']));
        expect((await readBytes(s, 7)).toString()).toBe('+PONG\r\n');
        const closed = new Promise<void>((r) => s.once('close', () => r()));
        s.write(Buffer.concat([encodeCommand(['SET', 'quit:k', 'v']), encodeCommand(['GET', 'quit:k']), encodeCommand(['QUIT']), encodeCommand(['GET', 'quit:k'])]));
        expect((await readBytes(s, 17)).toString()).toBe('+OK\r\n$1\r\nv\r\n+OK\r\n');
        await closed;
      } finally {
        s.destroy();
      }
    });
  });
}
