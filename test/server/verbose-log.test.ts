// The lines Redis 7.0.15 writes at loglevel verbose and debug, against the real redis-server:
// serverCron's summaries (each non-empty database's keys, volatile keys and table slots at
// verbose, the clients and memory at debug) from its first run, which comes right after the
// ready line; each connection's "Accepted" line (TCP, unix socket, TLS; also for a connection
// maxclients refuses), "Client closed connection <client info>" when the peer closes,
// "Reading from client: <strerror>" when the read fails; and a failed TLS handshake in
// OpenSSL's words. Both of keyfork's socket paths: addon-owned sockets and node:net.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

type Kind = 'redis' | 'keyfork' | 'keyfork-node';
const KINDS: Kind[] = ['redis', 'keyfork', 'keyfork-node'];

function start(kind: Kind, opts: ServerOptions): Promise<RunningServer> {
  if (kind === 'redis') return startRedis(opts);
  const env = kind === 'keyfork-node' ? { KEYFORK_SOCKETS: 'node' } : undefined;
  return startKeyfork({ ...opts, env, args: ['--save', '', '--appendonly', 'no', ...(opts.args ?? [])] });
}

/** CLIENT LIST fields the closed-connection line is compared on (sizes and ages are keyfork's own). */
const INFO_FIELDS = ['addr', 'laddr', 'name', 'flags', 'db', 'sub', 'psub', 'multi', 'cmd', 'user', 'resp'];

/** The log lines after the ready line(s), as `mark message`, with what differs per run normalized. */
function linesAfterReady(server: RunningServer, dir: string): string[] {
  const lines = server.output().split('\n');
  let from = lines.findIndex((l) => l.endsWith('Ready to accept connections'));
  while (from + 1 < lines.length && lines[from + 1].includes('ready to accept connections at')) from++;
  return lines
    .slice(from + 1)
    .filter((l) => /^\d+:[MS] /.test(l))
    .map((l) => l.replace(/^\d+:[MS] \d+ \w+ \d+ [\d:.]+ /, ''))
    .map((l) => l.split(dir).join('DIR').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:P').replace(/\d+ bytes in use/, 'N bytes in use'))
    .map((l) => {
      const closed = /^(- Client closed connection )(.*)$/.exec(l);
      if (!closed) return l.replace(/ \(conn: fd=\d+\)$/, '');
      const fields = new Map(closed[2].split(' ').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
      return closed[1] + INFO_FIELDS.map((f) => `${f}=${fields.get(f)}`).join(' ');
    });
}

/** Waits (at most 5 s) until the server's output holds `count` lines after its ready line. */
async function untilLines(server: RunningServer, dir: string, count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const lines = linesAfterReady(server, dir);
    if (lines.length >= count) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
  return linesAfterReady(server, dir);
}

function connect(options: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(options, () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends a command and waits for the reply's first bytes. */
function roundTrip(s: net.Socket | tls.TLSSocket, command: string): Promise<string> {
  return new Promise((resolve) => {
    s.once('data', (d: Buffer) => resolve(d.toString()));
    s.write(command);
  });
}

let dir = '';
const file = (name: string) => path.join(dir, name);

describeDifferential('verbose and debug log lines', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-verbose-log-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serverCron\'s first run right after the ready line: the DB and clients summaries', async () => {
    // A dataset saved by redis-server: 3 keys, one with a TTL.
    const seed = await startRedis({ dir: fs.mkdtempSync(path.join(dir, 'seed-')) });
    const c = await RawConnection.connect(seed.port);
    await c.send('MSET', 'a', '1', 'b', '2', 'c', '3');
    await c.send('EXPIRE', 'a', '1000');
    await c.send('SAVE');
    c.close();
    await seed.stop();
    for (const kind of KINDS) {
      const sub = fs.mkdtempSync(path.join(dir, `${kind}-`));
      fs.copyFileSync(path.join(seed.dir, 'dump.rdb'), path.join(sub, 'dump.rdb'));
      const server = await start(kind, { dir: sub, args: ['--loglevel', 'debug'] });
      try {
        // Within 3 s (the next summaries are due 5 s later).
        let lines: string[] = [];
        for (let i = 0; i < 60 && !lines.some((l) => l.endsWith('bytes in use')); i++) {
          await new Promise((r) => setTimeout(r, 50));
          lines = linesAfterReady(server, sub);
        }
        expect(lines.slice(0, 2), `${kind}\n${server.output()}`).toEqual(['- DB 0: 3 keys (1 volatile) in 4 slots HT.', '. 0 clients connected (0 replicas), N bytes in use']);
      } finally {
        await server.stop();
      }
    }
  }, 60_000);

  it('connections over TCP and the unix socket: accepted, closed by the peer, reset, refused at maxclients', async () => {
    const seen = new Map<Kind, string[]>();
    for (const kind of KINDS) {
      const sub = fs.mkdtempSync(path.join(dir, `${kind}-`));
      const sock = path.join(sub, 'redis.sock');
      const server = await start(kind, { dir: sub, args: ['--loglevel', 'verbose', '--unixsocket', sock] });
      try {
        let expected = 0;
        const step = async (count: number) => {
          expected += count;
          return untilLines(server, sub, expected);
        };
        // TCP: a command, then the peer closes.
        const a = await connect({ port: server.port, host: '127.0.0.1' });
        await roundTrip(a, 'CLIENT SETNAME first\r\n');
        a.end();
        await step(2);
        // The unix socket, in MULTI.
        const u = await connect({ path: sock });
        await roundTrip(u, 'MULTI\r\n');
        await roundTrip(u, 'PING\r\n');
        u.end();
        await step(2);
        // A reset connection.
        const r = await connect({ port: server.port, host: '127.0.0.1' });
        await roundTrip(r, 'SELECT 3\r\n');
        r.resetAndDestroy();
        await step(2);
        // maxclients: the refused connection was accepted first.
        const holder = await connect({ port: server.port, host: '127.0.0.1' });
        await roundTrip(holder, 'CONFIG SET maxclients 1\r\n');
        await step(1);
        const refused = await connect({ port: server.port, host: '127.0.0.1' });
        expect(await new Promise<string>((resolve) => refused.once('data', (d: Buffer) => resolve(d.toString())))).toBe('-ERR max number of clients reached\r\n');
        refused.destroy();
        await step(1);
        await roundTrip(holder, 'CONFIG SET maxclients 10000\r\n');
        holder.end();
        seen.set(kind, await step(1));
      } finally {
        await server.stop();
      }
    }
    const redis = seen.get('redis')!;
    expect(redis).toContain('- Reading from client: Connection reset by peer');
    expect(redis[1]).toBe('- Client closed connection addr=127.0.0.1:P laddr=127.0.0.1:P name=first flags=N db=0 sub=0 psub=0 multi=-1 cmd=client|setname user=default resp=2');
    expect(seen.get('keyfork')).toEqual(redis);
    expect(seen.get('keyfork-node')).toEqual(redis);
  }, 60_000);

  it('TLS: accepted before the handshake; failed handshakes in OpenSSL\'s words', async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    fs.writeFileSync(file('ext'), 'subjectAltName=IP:127.0.0.1\n');
    for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
    for (const [name, ca] of [['server', 'ca'], ['client', 'ca'], ['stranger', 'other-ca']]) {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'ext');
    }
    const seen = new Map<Kind, string[]>();
    for (const kind of ['redis', 'keyfork'] as const) {
      const sub = fs.mkdtempSync(path.join(dir, `${kind}-`));
      const tlsPort = 20000 + Math.floor(Math.random() * 20000);
      const server = await start(kind, {
        dir: sub,
        args: ['--loglevel', 'verbose', '--tls-port', String(tlsPort), '--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.crt')],
      });
      try {
        let expected = 0;
        const step = async (count: number) => {
          expected += count;
          return untilLines(server, sub, expected);
        };
        const secure = (cert: string | null) =>
          new Promise<void>((resolve) => {
            const s = tls.connect({ port: tlsPort, host: '127.0.0.1', ca: fs.readFileSync(file('ca.crt')), ...(cert ? { cert: fs.readFileSync(file(`${cert}.crt`)), key: fs.readFileSync(file(`${cert}.key`)) } : {}) });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            s.on('secureConnect', () => s.write('PING\r\n'));
            s.on('data', () => s.end());
          });
        // Plain text on the TLS port.
        const plain = await connect({ port: tlsPort, host: '127.0.0.1' });
        plain.write('PING\r\n');
        plain.on('error', () => undefined);
        await step(2);
        plain.destroy();
        await secure(null);
        await step(2);
        await secure('stranger');
        await step(2);
        // Gone before any handshake.
        (await connect({ port: tlsPort, host: '127.0.0.1' })).end();
        seen.set(kind, await step(2));
      } finally {
        await server.stop();
      }
    }
    const redis = seen.get('redis')!;
    expect(redis).toEqual([
      '- Accepted 127.0.0.1:P',
      '# Error accepting a client connection: error:0A00010B:SSL routines::wrong version number',
      '- Accepted 127.0.0.1:P',
      '# Error accepting a client connection: error:0A0000C7:SSL routines::peer did not return a certificate',
      '- Accepted 127.0.0.1:P',
      '# Error accepting a client connection: error:0A000086:SSL routines::certificate verify failed',
      '- Accepted 127.0.0.1:P',
      '# Error accepting a client connection: error:0A000126:SSL routines::unexpected eof while reading',
    ]);
    expect(seen.get('keyfork')).toEqual(redis);
  }, 90_000);
});
