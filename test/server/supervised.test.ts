// `supervised`: what systemd hears on NOTIFY_SOCKET (a datagram socket this test binds), what
// is logged when it cannot be told, and upstart's SIGSTOP, compared with redis-server 7.0.15.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { native } from '../../src/native';
import { describeDifferential } from '../helpers/diff';
import { until } from '../helpers/info';
import { freePort } from '../helpers/ports';
import { RawConnection, formatReply } from '../helpers/resp';
import { keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

type Which = 'keyfork' | 'redis';
/** Both without save rules unless a test gives some (the harness gives redis-server `--save ''` only). */
const start = (which: Which, opts: ServerOptions): Promise<RunningServer> => {
  const withSave = { ...opts, args: ['--save', '', ...(opts.args ?? [])] };
  return which === 'keyfork' ? startKeyfork(withSave) : startRedis(withSave);
};

let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'supervised-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A bound datagram socket: the NOTIFY_SOCKET systemd would give. */
class NotifySocket {
  readonly fd: number;
  readonly got: string[] = [];
  constructor(readonly path: string) {
    this.fd = native.bindDatagram(path);
  }
  drain(): string[] {
    for (let i = 0; i < 1000; i++) {
      const d = native.recvDatagram(this.fd);
      if (d === null) break;
      this.got.push(d.toString('latin1'));
    }
    return this.got;
  }
  async waitFor(count: number, ms = 5000): Promise<string[]> {
    await until(async () => this.drain().length >= count, ms);
    return this.drain();
  }
  close(): void {
    native.closeFd(this.fd);
    fs.rmSync(this.path, { force: true });
  }
}

let seq = 0;
const socketPath = (which: Which) => path.join(tmp, `${which}-${++seq}.sock`);

/** The log's messages (the part after the level mark) that speak of supervision. */
function supervisionLines(output: string): string[] {
  return output
    .split('\n')
    .map((l) => /^\d+:([CMS]) .{24} [.\-*#] (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && /supervis|Supervis|systemd|upstart/.test(m[2]))
    .map((m) => `${m[1]} ${m[2]}`);
}

async function send(port: number, ...args: string[]): Promise<string> {
  const c = await RawConnection.connect(port);
  try {
    return formatReply(await c.send(...args));
  } finally {
    c.close();
  }
}

describeDifferential('supervised (differential)', () => {
  it('systemd: loading, ready and stopping are sent on NOTIFY_SOCKET', async () => {
    const seen: Record<Which, { msgs: string[]; lines: string[] }> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const sock = new NotifySocket(socketPath(which));
      try {
        const s = await start(which, { args: ['--supervised', 'systemd'], env: { NOTIFY_SOCKET: sock.path } });
        await sock.waitFor(3);
        // keyfork's SIGTERM handler comes a moment after its ready line (see the seams log).
        await send(s.port, 'PING');
        await s.stop();
        seen[which] = { msgs: await sock.waitFor(4), lines: supervisionLines(s.output()) };
      } finally {
        sock.close();
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis.msgs).toEqual(['STATUS=Redis is loading...\n', 'STATUS=Ready to accept connections\n', 'READY=1\n', 'STOPPING=1\n']);
  });

  it('systemd: a replica is ready read-only, then says when its sync finished', async () => {
    const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
    try {
      const seen: Record<Which, string[]> = {} as never;
      for (const which of ['keyfork', 'redis'] as const) {
        const sock = new NotifySocket(socketPath(which));
        try {
          const s = await start(which, {
            args: ['--supervised', 'auto', '--replicaof', '127.0.0.1', String(master.port)],
            env: { NOTIFY_SOCKET: sock.path },
          });
          await sock.waitFor(4);
          await send(s.port, 'PING');
          await s.stop();
          seen[which] = await sock.waitFor(5);
        } finally {
          sock.close();
        }
      }
      expect(seen.keyfork).toEqual(seen.redis);
      expect(seen.redis).toEqual([
        'STATUS=Redis is loading...\n',
        'STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n',
        'READY=1\n',
        'STATUS=MASTER <-> REPLICA sync: Finished with success. Ready to accept connections in read-write mode.\n',
        'STOPPING=1\n',
      ]);
    } finally {
      await master.stop();
    }
  });

  it('systemd: SHUTDOWN that saves, and one whose save fails', async () => {
    const seen: Record<Which, string[]> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const sock = new NotifySocket(socketPath(which));
      const gone = fs.mkdtempSync(path.join(tmp, 'gone-'));
      try {
        const s = await start(which, { args: ['--supervised', 'systemd', '--save', '900 1', '--enable-protected-configs', 'yes'], env: { NOTIFY_SOCKET: sock.path } });
        await sock.waitFor(3);
        await send(s.port, 'SET', 'k', 'v');
        await send(s.port, 'CONFIG', 'SET', 'dir', gone);
        fs.rmdirSync(gone);
        expect(await send(s.port, 'SHUTDOWN')).toContain('Errors trying to SHUTDOWN');
        await send(s.port, 'CONFIG', 'SET', 'dir', s.dir);
        await send(s.port, 'SHUTDOWN').catch(() => '');
        await s.stop();
        seen[which] = await sock.waitFor(9);
      } finally {
        sock.close();
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis.slice(3)).toEqual([
      'STOPPING=1\n',
      'STATUS=Saving the final RDB snapshot\n',
      "STATUS=Error trying to save the DB, can't exit.\n",
      'STOPPING=1\n',
      'STATUS=Saving the final RDB snapshot\n',
    ]);
  });

  it('systemd that cannot be told: the errors Redis logs (no socket, relative path, nobody bound, abstract)', async () => {
    const cases: Array<{ env: Record<string, string>; mode: string }> = [
      { env: {}, mode: 'systemd' },
      { env: { NOTIFY_SOCKET: 'relative.sock' }, mode: 'systemd' },
      { env: { NOTIFY_SOCKET: '' }, mode: 'systemd' },
      { env: { NOTIFY_SOCKET: path.join(tmp, 'nobody.sock') }, mode: 'systemd' },
      { env: { NOTIFY_SOCKET: `@keyfork-test-nobody-${process.pid}` }, mode: 'systemd' },
      // auto that detects systemd but cannot tell it: nothing more is sent (or logged).
      { env: { NOTIFY_SOCKET: path.join(tmp, 'nobody.sock') }, mode: 'auto' },
      // auto with neither variable: not supervised, nothing logged.
      { env: {}, mode: 'auto' },
    ];
    for (const c of cases) {
      const seen: Record<Which, string[]> = {} as never;
      for (const which of ['keyfork', 'redis'] as const) {
        const s = await start(which, { args: ['--supervised', c.mode, '--loglevel', 'verbose'], env: c.env });
        await send(s.port, 'PING');
        await s.stop();
        seen[which] = supervisionLines(s.output());
      }
      expect(seen.keyfork, JSON.stringify(c)).toEqual(seen.redis);
    }
  });

  /** Starts a server without the harness (which waits for its ready line): upstart stops it first. */
  async function spawnRaw(which: Which, args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; port: number; out: () => string }> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(tmp, `${which}-`));
    const base = ['--port', String(port), '--dir', dir, '--save', '', ...args];
    const proc =
      which === 'keyfork'
        ? spawn(process.execPath, [keyforkMainPath(), ...base], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(redisServerPath()!, base, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    return { proc, port, out: () => out };
  }

  const state = (pid: number) => /State:\s+(\S)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];

  it('upstart: the server stops itself (SIGSTOP) before it listens, and runs on once continued', async () => {
    const seen: Record<Which, string[]> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const s = await spawnRaw(which, ['--supervised', 'auto', '--loglevel', 'verbose'], { UPSTART_JOB: 'redis' });
      try {
        expect(await until(async () => state(s.proc.pid!) === 'T', 10_000), which).toBe(true);
        expect(s.out()).not.toContain('Ready to accept connections');
        expect(await send(s.port, 'PING').then(() => 'answered', () => 'refused')).toBe('refused');
        s.proc.kill('SIGCONT');
        expect(await until(async () => s.out().includes('Ready to accept connections'), 10_000), which).toBe(true);
        expect(await send(s.port, 'PING')).toBe('PONG');
        seen[which] = supervisionLines(s.out());
      } finally {
        s.proc.kill('SIGCONT');
        s.proc.kill('SIGKILL');
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toEqual(['C Upstart supervision detected.', 'C supervised by upstart, will stop to signal readiness.']);
  });

  it('upstart without UPSTART_JOB: a warning, and no stop', async () => {
    const seen: Record<Which, string[]> = {} as never;
    for (const which of ['keyfork', 'redis'] as const) {
      const s = await start(which, { args: ['--supervised', 'upstart'] });
      await send(s.port, 'PING');
      await s.stop();
      seen[which] = supervisionLines(s.output());
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toEqual(['C upstart supervision requested, but UPSTART_JOB not found!']);
  });
});
