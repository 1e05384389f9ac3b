// socket-mark-id against redis-server 7.0.15: the TCP listeners carry SO_MARK (ss's fwmark) and
// so do the connections accepted on them, on both of keyfork's socket paths (addon-owned and
// node:net); without CAP_NET_ADMIN the setsockopt fails silently as in Redis (the server
// starts, unmarked, and logs nothing about it); the directive is immutable.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

const run = promisify(execFile);

/** [state, fwmark] of every TCP socket on `port` (listeners and the server's end of connections). */
async function marks(port: number): Promise<string[]> {
  const { stdout } = await run('ss', ['-Htane', `( sport = :${port} )`], { timeout: 10_000 });
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => `${l.split(/\s+/)[0]} ${/fwmark:(0x[0-9a-f]+)/.exec(l)?.[1] ?? 'none'}`)
    .sort();
}

/** The marks seen while one client connection is open. */
async function marksWithClient(server: RunningServer): Promise<string[]> {
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  try {
    // The server has accepted once it answers.
    socket.write('PING\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    return await marks(server.port);
  } finally {
    socket.destroy();
  }
}

async function both(opts: ServerOptions, env: Record<string, string> = {}): Promise<[RunningServer, RunningServer]> {
  const [k, r] = await Promise.all([startKeyfork({ ...opts, env }), startRedis(opts)]);
  return [k, r];
}

const lines = (output: string): string[] => output.split('\n').map((l) => l.replace(/^\d+:[A-Z] [^#*.-]+[#*.-] /, ''));

describeDifferential('socket-mark-id', () => {
  for (const sockets of ['native', 'node'] as const) {
    it(`marks the listeners and the accepted connections as Redis does (${sockets} sockets)`, async () => {
      const [k, r] = await both({ args: ['--save', '', '--bind', '127.0.0.1', '--socket-mark-id', '42'] }, { KEYFORK_SOCKETS: sockets });
      try {
        const [km, rm] = await Promise.all([marksWithClient(k), marksWithClient(r)]);
        expect(rm).toEqual(['ESTAB 0x2a', 'LISTEN 0x2a']);
        expect(km).toEqual(rm);
      } finally {
        await Promise.all([k.stop(), r.stop()]);
      }
    }, 40_000);
  }

  it('leaves the sockets unmarked by default, and the directive is immutable', async () => {
    const [k, r] = await both({ args: ['--save', '', '--bind', '127.0.0.1'] });
    try {
      const [km, rm] = await Promise.all([marksWithClient(k), marksWithClient(r)]);
      expect(rm).toEqual(['ESTAB none', 'LISTEN none']);
      expect(km).toEqual(rm);
      const mismatches = await compareSequences([
        ['CONFIG', 'GET', 'socket-mark-id'],
        ['CONFIG', 'SET', 'socket-mark-id', '5'],
        ['CONFIG', 'SET', 'socket-mark-id', '-1'],
        ['CONFIG', 'GET', 'socket-mark-id'],
      ], { servers: { keyfork: k, redis: r } });
      expect(mismatches, formatMismatches(mismatches)).toEqual([]);
    } finally {
      await Promise.all([k.stop(), r.stop()]);
    }
  }, 40_000);

  it('marks the tls-port listener too (listenToPort serves both ports)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-mark-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    const tls = ['--tls-cert-file', path.join(dir, 'c.pem'), '--tls-key-file', path.join(dir, 'k.pem'), '--tls-ca-cert-file', path.join(dir, 'c.pem')];
    const [kp, rp] = [await freePort(), await freePort()];
    const args = ['--save', '', '--bind', '127.0.0.1', '--socket-mark-id', '7', ...tls];
    const [k, r] = await Promise.all([
      startKeyfork({ args: [...args, '--tls-port', String(kp)] }),
      startRedis({ args: [...args, '--tls-port', String(rp)] }),
    ]);
    try {
      const [km, rm] = await Promise.all([marks(kp), marks(rp)]);
      expect(rm).toEqual(['LISTEN 0x7']);
      expect(km).toEqual(rm);
    } finally {
      await Promise.all([k.stop(), r.stop()]);
    }
  }, 40_000);

  it('without CAP_NET_ADMIN the mark is silently not set, as Redis ignores the failure', async () => {
    // Dropped from the bounding and inheritable sets, root's exec no longer holds them.
    const prefix = ['setpriv', '--bounding-set', '-net_admin,-net_raw', '--inh-caps', '-net_admin,-net_raw'];
    const [k, r] = await both({ prefix, args: ['--save', '', '--bind', '127.0.0.1', '--socket-mark-id', '42'] });
    try {
      const [km, rm] = await Promise.all([marksWithClient(k), marksWithClient(r)]);
      expect(rm).toEqual(['ESTAB none', 'LISTEN none']);
      expect(km).toEqual(rm);
      for (const server of [k, r]) {
        expect(lines(server.output()).filter((l) => /setsockopt|mark/i.test(l))).toEqual([]);
      }
    } finally {
      await Promise.all([k.stop(), r.stop()]);
    }
  }, 40_000);
});
