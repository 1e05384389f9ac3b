// TLS (tls-port and the tls-* directives) against the real redis-server 7.0 built with TLS:
// the same handshakes succeed and fail on both (client certificates yes/no/optional, protocol
// versions, cipher lists and their order, session resumption, an encrypted key, a CA
// directory, DH parameters), redis-cli --tls, ioredis and node-redis work over it, and bad
// settings stop start-up or refuse CONFIG SET with Redis's words. Certificates are generated
// here with openssl.
import { execFileSync, spawnSync } from 'node:child_process';
import { constants } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import Redis from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection } from '../helpers/resp';
import { FREE_PORT, keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

let dir = '';
const file = (name: string) => path.join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 (key also encrypted), a client certificate, and a client certificate from another CA. */
function makeCertificates(): void {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-tls-'));
  fs.writeFileSync(file('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  for (const [name, ca] of [['server', 'ca'], ['client', 'ca'], ['stranger', 'other-ca']]) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'ext');
  }
  openssl('pkey', '-in', 'server.key', '-aes256', '-passout', 'pass:sesame', '-out', 'server-encrypted.key');
  openssl('genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', 'dh.pem');
  // A CA directory as OpenSSL reads it: the certificate under its subject hash (and a stray
  // file that a lookup by hash never opens).
  fs.mkdirSync(file('cadir'));
  const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', file('ca.crt')], { encoding: 'utf8' }).trim();
  fs.copyFileSync(file('ca.crt'), path.join(dir, 'cadir', `${hash}.0`));
  fs.copyFileSync(file('other-ca.crt'), path.join(dir, 'cadir', 'other.pem'));
}

/** A pair of servers with `args` (tls-port added), each with its TLS port. */
interface Pair {
  keyfork: RunningServer & { tlsPort: number };
  redis: RunningServer & { tlsPort: number };
}

async function startPair(args: string[]): Promise<Pair> {
  const all = ['--tls-port', FREE_PORT, '--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.crt'), ...args];
  const [k, r] = await Promise.all([startKeyfork({ args: all }), startRedis({ args: all })]);
  return { keyfork: { ...k, tlsPort: k.extraPorts[0] }, redis: { ...r, tlsPort: r.extraPorts[0] } };
}

async function stopPair(p: Pair): Promise<void> {
  await Promise.all([p.keyfork.stop(), p.redis.stop()]);
}

interface Probe {
  ok: boolean;
  reply?: string;
  protocol?: string | null;
  cipher?: string;
  reused?: boolean;
  session?: Buffer;
}

/** One TLS connection: handshake, PING, and what was negotiated; ok false when either fails. */
function probe(port: number, opts: tls.ConnectionOptions & { client?: 'client' | 'stranger' | 'none' } = {}): Promise<Probe> {
  const who = opts.client ?? 'client';
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    const socket = tls.connect({
      host: '127.0.0.1', port, ca: fs.readFileSync(file('ca.crt')),
      ...(who === 'none' ? {} : { cert: fs.readFileSync(file(`${who}.crt`)), key: fs.readFileSync(file(`${who}.key`)) }),
      ...opts,
    });
    let text = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      const info: Probe = { ok, reply: text };
      if (ok) Object.assign(info, { protocol: socket.getProtocol(), cipher: socket.getCipher()?.name, reused: socket.isSessionReused(), session: session ?? socket.getSession() });
      socket.destroy();
      resolve(info);
    };
    const timer = setTimeout(() => done(false), 3000);
    socket.on('session', (s) => (session = s));
    socket.on('secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      text += d.toString();
      if (text.endsWith('\r\n')) done(text === '+PONG\r\n');
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/** `fn` on both servers' TLS ports: the results, keyfork's first. */
async function onBoth<T>(p: Pair, fn: (port: number) => Promise<T>): Promise<[T, T]> {
  return Promise.all([fn(p.keyfork.tlsPort), fn(p.redis.tlsPort)]);
}

describeDifferential('TLS', () => {
  beforeAll(() => makeCertificates());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tls-auth-clients yes (the default), optional and no: the same handshakes succeed', async () => {
    for (const mode of ['yes', 'optional', 'no']) {
      const p = await startPair(['--tls-auth-clients', mode]);
      try {
        for (const client of ['client', 'stranger', 'none'] as const) {
          const [k, r] = await onBoth(p, (port) => probe(port, { client }));
          expect(k.ok, `${mode} ${client}`).toBe(r.ok);
        }
      } finally {
        await stopPair(p);
      }
    }
  }, 60_000);

  it('tls-protocols, tls-ciphers, tls-ciphersuites and tls-prefer-server-ciphers negotiate what Redis negotiates', async () => {
    const p = await startPair(['--tls-protocols', 'TLSv1.2']);
    const admin = await Promise.all([p.keyfork.port, p.redis.port].map((port) => RawConnection.connect(port)));
    const configSet = (...args: string[]) => Promise.all(admin.map((c) => c.send('CONFIG', 'SET', ...args)));
    const cases: [string[], tls.ConnectionOptions][] = [
      [['tls-protocols', 'TLSv1.2'], { maxVersion: 'TLSv1.3' }],
      [['tls-protocols', 'TLSv1.2'], { minVersion: 'TLSv1.3' }],
      [['tls-protocols', 'TLSv1.3'], { maxVersion: 'TLSv1.2' }],
      [['tls-protocols', 'TLSv1.2 TLSv1.3'], {}],
      [['tls-ciphersuites', 'TLS_AES_128_GCM_SHA256'], {}],
      [['tls-protocols', 'TLSv1.2', 'tls-ciphers', 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256'], { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' }],
      [['tls-prefer-server-ciphers', 'yes'], { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' }],
      [['tls-ciphers', 'DHE-RSA-AES128-GCM-SHA256'], { ciphers: 'DHE-RSA-AES128-GCM-SHA256' }],
      [['tls-dh-params-file', file('dh.pem')], { ciphers: 'DHE-RSA-AES128-GCM-SHA256' }],
    ];
    try {
      for (const [settings, client] of cases) {
        const replies = await configSet(...settings);
        expect(replies[0], settings.join(' ')).toEqual(replies[1]);
        const [k, r] = await onBoth(p, (port) => probe(port, client));
        const what = `${settings.join(' ')} / ${JSON.stringify(client)}`;
        expect({ ok: k.ok, protocol: k.protocol, cipher: k.cipher }, what).toEqual({ ok: r.ok, protocol: r.protocol, cipher: r.cipher });
      }
    } finally {
      for (const c of admin) c.close();
      await stopPair(p);
    }
  }, 60_000);

  it('tls-session-caching: a session is resumed only while caching is on', async () => {
    const p = await startPair(['--tls-protocols', 'TLSv1.2']);
    const admin = await Promise.all([p.keyfork.port, p.redis.port].map((port) => RawConnection.connect(port)));
    try {
      for (const caching of ['yes', 'no']) {
        await Promise.all(admin.map((c) => c.send('CONFIG', 'SET', 'tls-session-caching', caching)));
        const [k, r] = await onBoth(p, async (port) => {
          const first = await probe(port);
          const second = await probe(port, { session: first.session });
          return second.reused;
        });
        // With caching off Redis even fails the handshake of a client offering a session
        // (OpenSSL's "internal error" alert: no session id context); keyfork starts a new
        // session instead. Either way nothing is resumed.
        expect(k === true, `caching ${caching}`).toBe(r === true);
        expect(r === true).toBe(caching === 'yes');
      }
    } finally {
      for (const c of admin) c.close();
      await stopPair(p);
    }
  }, 60_000);

  it('sessions resume by ticket only (tls-session-cache-size is inert), tls-session-cache-timeout ends them', async () => {
    const p = await startPair(['--tls-protocols', 'TLSv1.2', '--tls-session-cache-size', '1']);
    // Without tickets a client could only resume through a session-id cache: Redis never does.
    const noTicket = { secureOptions: constants.SSL_OP_NO_TICKET };
    const admin = await Promise.all([p.keyfork.port, p.redis.port].map((port) => RawConnection.connect(port)));
    try {
      const [k, r] = await onBoth(p, async (port) => {
        const a = await probe(port, noTicket);
        const b = await probe(port, noTicket);
        const resumedA = (await probe(port, { ...noTicket, session: a.session })).reused;
        const resumedB = (await probe(port, { ...noTicket, session: b.session })).reused;
        return { resumedA, resumedB };
      });
      expect(k).toEqual(r);
      expect(r).toEqual({ resumedA: false, resumedB: false });
      await Promise.all(admin.map((c) => c.send('CONFIG', 'SET', 'tls-session-cache-timeout', '1')));
      const [kt, rt] = await onBoth(p, async (port) => {
        const first = await probe(port);
        await new Promise((done) => setTimeout(done, 2100));
        return (await probe(port, { session: first.session })).reused;
      });
      expect(kt).toBe(rt);
      expect(rt).toBe(false);
    } finally {
      for (const c of admin) c.close();
      await stopPair(p);
    }
  }, 60_000);

  it('an encrypted key with tls-key-file-pass, and a CA directory', async () => {
    // The CA file names another CA: the client's certificate verifies through the directory.
    const p = await startPair(['--tls-key-file', file('server-encrypted.key'), '--tls-key-file-pass', 'sesame',
      '--tls-ca-cert-file', file('other-ca.crt'), '--tls-ca-cert-dir', file('cadir')]);
    try {
      const [k, r] = await onBoth(p, (port) => probe(port));
      expect(k.ok).toBe(true);
      expect(r.ok).toBe(true);
      const [ks, rs] = await onBoth(p, (port) => probe(port, { client: 'stranger' }));
      expect(ks.ok).toBe(rs.ok);
    } finally {
      await stopPair(p);
    }
  }, 60_000);

  it('redis-cli --tls, ioredis and node-redis talk to keyfork over TLS', async () => {
    const p = await startPair([]);
    const ca = fs.readFileSync(file('ca.crt'));
    const cert = fs.readFileSync(file('client.crt'));
    const key = fs.readFileSync(file('client.key'));
    try {
      for (const s of [p.keyfork, p.redis]) {
        const cli = spawnSync('redis-cli', ['--tls', '--cacert', file('ca.crt'), '--cert', file('client.crt'), '--key', file('client.key'),
          '-h', '127.0.0.1', '-p', String(s.tlsPort), 'SET', 'cli', 'yes'], { encoding: 'utf8', timeout: 10_000 });
        expect(cli.stdout.trim(), cli.stderr).toBe('OK');
      }
      const io = new Redis({ host: '127.0.0.1', port: p.keyfork.tlsPort, tls: { ca, cert, key }, lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await io.connect();
        expect(await io.get('cli')).toBe('yes');
        expect(await io.set('io', 'redis')).toBe('OK');
      } finally {
        io.disconnect();
      }
      const nr = createClient({ socket: { host: '127.0.0.1', port: p.keyfork.tlsPort, tls: true, ca, cert, key } });
      nr.on('error', () => {});
      await nr.connect();
      try {
        expect(await nr.get('io')).toBe('redis');
        expect(await nr.hSet('h', { a: '1', b: '2' })).toBe(2);
        expect(await nr.hGetAll('h')).toEqual({ a: '1', b: '2' });
      } finally {
        await nr.quit();
      }
    } finally {
      await stopPair(p);
    }
  }, 60_000);

  it('bad settings: start-up stops, CONFIG SET is refused, with Redis\'s words', async () => {
    const startUp = (binary: string, args: string[]) => {
      const argv = binary === process.execPath ? [keyforkMainPath(), ...args] : args;
      const r = spawnSync(binary, argv, { encoding: 'utf8', timeout: 15_000 });
      return { status: r.status, output: r.stdout + r.stderr };
    };
    for (const args of [['--tls-cert-file', file('server.crt')], ['--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key')]]) {
      const port = String(await freePort());
      const tlsPort = String(await freePort());
      const [k, r] = [process.execPath, redisServerPath()!].map((b) => startUp(b, ['--port', port, '--tls-port', tlsPort, '--save', '', ...args]));
      expect(r.status).toBe(1);
      expect(k.status, k.output).toBe(1);
      for (const line of ['Failed to configure TLS. Check logs for more info.', args.length === 2 ? 'No tls-key-file configured!' : 'Either tls-ca-cert-file or tls-ca-cert-dir must be specified']) {
        expect(r.output).toContain(line);
        expect(k.output).toContain(line);
      }
    }
    const p = await startPair([]);
    try {
      const replies = await Promise.all([p.keyfork.port, p.redis.port].map(async (port) => {
        const c = await RawConnection.connect(port);
        const bad = await c.send('CONFIG', 'SET', 'tls-cert-file', file('nosuch.crt'));
        const kept = await c.send('CONFIG', 'GET', 'tls-cert-file');
        const protocols = await c.send('CONFIG', 'SET', 'tls-protocols', 'SSLv3');
        c.close();
        return [bad, kept, protocols];
      }));
      expect(replies[0]).toEqual(replies[1]);
      const [k] = await onBoth(p, (port) => probe(port));
      expect(k.ok).toBe(true);
    } finally {
      await stopPair(p);
    }
  }, 60_000);
});
