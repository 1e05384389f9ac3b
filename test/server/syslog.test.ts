// syslog-enabled, syslog-ident, syslog-facility: the datagrams each server sends to /dev/log,
// compared with redis-server 7.0.15. Both run in a private mount namespace whose /dev holds
// null, zero, random, urandom and a /dev/log that leads to a datagram socket this test binds,
// so neither needs the machine's syslog (nor root's /dev/log).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { native } from '../../src/native';
import { describeDifferential } from '../helpers/diff';
import { until } from '../helpers/info';
import { RawConnection, formatReply } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

type Which = 'keyfork' | 'redis';

const canUnshare = (() => {
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d"; r=$?; rmdir "$d"; exit $r'], { encoding: 'utf8' });
  return probe.status === 0;
})();

let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'syslog-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the server with its own /dev, whose `log` is a symlink to `socket`. */
function devLogTo(socket: string): string[] {
  const script = [
    'd=$(mktemp -d)',
    'mount --bind /dev "$d"',
    'mount -t tmpfs -o size=1m tmpfs /dev',
    'for n in null zero urandom random; do touch /dev/$n && mount --bind "$d/$n" /dev/$n || exit 1; done',
    'ln -s /proc/self/fd /dev/fd',
    `ln -s '${socket}' /dev/log`,
    'exec "$@"',
  ].join(' && ');
  return ['unshare', '-m', 'sh', '-c', script, 'sh'];
}

async function collect(which: Which, args: string[], during?: (s: RunningServer) => Promise<void>): Promise<string[]> {
  const socket = path.join(tmp, `${which}-${Date.now()}.sock`);
  const fd = native.bindDatagram(socket);
  const got: string[] = [];
  const drain = () => {
    for (let d = native.recvDatagram(fd); d !== null; d = native.recvDatagram(fd)) got.push(d.toString('latin1'));
  };
  // A Unix datagram socket queues a few datagrams only (net.unix.max_dgram_qlen); then the
  // sender blocks, as syslog(3) blocks a server whose syslog daemon stalls: read as they come.
  const reader = setInterval(drain, 5);
  try {
    const opts: ServerOptions = { args: ['--save', '', ...args], prefix: devLogTo(socket) };
    const s = which === 'keyfork' ? await startKeyfork(opts) : await startRedis(opts);
    const c = await RawConnection.connect(s.port);
    await c.send('PING');
    c.close();
    await during?.(s);
    await s.stop();
    await until(async () => (drain(), got.some((m) => m.endsWith('ready to exit, bye bye...'))), 5000);
    drain();
    return got;
  } finally {
    clearInterval(reader);
    native.closeFd(fd);
    fs.rmSync(socket, { force: true });
  }
}

/** `<PRI>Mmm dd hh:mm:ss tag: message` with the tag's own name, the pid and the time masked. */
function normalise(which: Which, datagram: string): string {
  const m = /^<(\d+)>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) ([^:[]+)(\[\d+\])?: ([\s\S]*)$/.exec(datagram);
  if (!m) return `unparsed: ${datagram}`;
  const own = which === 'redis' ? 'redis-server' : 'keyfork-server';
  const tag = m[3] === own ? '<program>' : m[3];
  return `<${m[1]}> ${tag}${m[4] ? '[pid]' : ''}: ${m[5].replace(/\d+/g, 'N')}`;
}

/** Messages (digits masked) both servers log the same way (keyfork logs some of its own, Redis some keyfork has no cause for). */
const COMPARED = [
  /^oONOoONOoONOo Redis is starting/, // digits are masked
  /^Server initialized$/,
  /^Ready to accept connections$/,
  /^User requested shutdown/,
  /^Redis is now ready to exit/,
  /^DB saved on disk$/,
  /^Background saving started by pid/,
  /^Background saving terminated with success$/,
  /^Closing idle client$/,
  /doesn't exist$/,
  /^ {16}_._/,
];

function comparable(which: Which, got: string[]): string[] {
  return got.map((d) => normalise(which, d)).filter((line) => COMPARED.some((re) => re.test(line.slice(line.indexOf(': ') + 2))));
}

const describeIf = canUnshare ? describeDifferential : (name: string, fn: () => void) => describeDifferential(`${name} (skipped: unshare -m not allowed)`, () => it.skip('needs a private mount namespace', fn));

describeIf('syslog (differential)', () => {
  it('ident, facility and level of each line; before openlog, glibc defaults', async () => {
    const args = ['--syslog-enabled', 'yes', '--syslog-ident', 'myredis', '--syslog-facility', 'local3', '--loglevel', 'debug', '--always-show-logo', 'yes',
      '--timeout', '1', '--appendonly', 'yes'];
    const seen = {} as Record<Which, string[]>;
    const stamps = {} as Record<Which, string[]>;
    for (const which of ['keyfork', 'redis'] as const) {
      const got = await collect(which, args, async (s) => {
        const c = await RawConnection.connect(s.port);
        await c.send('BGSAVE');
        await until(async () => /rdb_bgsave_in_progress:0/.test(formatReply(await c.send('INFO', 'persistence'))), 5000);
        // Left idle past `timeout`: closed by the server (a verbose line).
        await new Promise((r) => setTimeout(r, 2500));
        c.close();
      });
      seen[which] = comparable(which, got);
      stamps[which] = got.map((d) => /^<\d+>(.{15}) /.exec(d)?.[1] ?? d);
    }
    expect(seen.keyfork).toEqual(seen.redis);
    // Digits are masked: oO0Oo... reads oONOo...
    expect(seen.redis).toContain('<12> <program>: oONOoONOoONOo Redis is starting oONOoONOoONOo');
    expect(seen.redis).toContain('<156> myredis[pid]: Server initialized');
    expect(seen.redis).toContain('<157> myredis[pid]: Ready to accept connections');
    expect(seen.redis).toContain('<158> myredis[pid]: Closing idle client');
    expect(seen.redis.some((l) => l.startsWith('<159> myredis[pid]: The AOF'))).toBe(true);
    // The child's own line, under its own pid.
    expect(seen.redis).toContain('<157> myredis[pid]: DB saved on disk');
    const now = new Date();
    for (const which of ['keyfork', 'redis'] as const) {
      for (const stamp of stamps[which]) expect(Math.abs(Date.parse(`${stamp} ${now.getFullYear()}`) - now.getTime()), stamp).toBeLessThan(120_000);
    }
  });

  it('loglevel (notice) filters what syslog gets; syslog-enabled no sends nothing', async () => {
    const seen = {} as Record<Which, { warning: string[]; off: number }>;
    for (const which of ['keyfork', 'redis'] as const) {
      const warning = comparable(which, await collect(which, ['--syslog-enabled', 'yes', '--loglevel', 'notice']));
      const off = (await collect(which, ['--loglevel', 'debug'])).length;
      seen[which] = { warning, off };
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis.off).toBe(0);
    expect(seen.redis.warning).toContain('<132> redis[pid]: User requested shutdown...');
    expect(seen.redis.warning.some((l) => l.includes('Client closed connection'))).toBe(false);
    expect(seen.redis.warning).toContain('<133> redis[pid]: Ready to accept connections');
  });
});
