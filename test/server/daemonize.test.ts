// daemonize yes: what an operator sees of redis-server 7.0.15 and of keyfork. The command
// exits 0 at once (before the server loads or listens, even when it then fails), the daemon
// runs in its own session with stdin/stdout/stderr on /dev/null, writes its pidfile (Redis's
// default /var/run/redis.pid when none is set) and removes it at shutdown.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { until } from '../helpers/info';
import { freePort } from '../helpers/ports';
import { RawConnection, formatReply } from '../helpers/resp';
import { keyforkMainPath, redisServerPath } from '../helpers/servers';

type Which = 'keyfork' | 'redis';

let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'daemonize-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the launching command (`stdin` its standard input) and resolves with its exit code. */
function launch(which: Which, args: string[], stdin?: string): Promise<{ code: number | null; output: string }> {
  const [cmd, argv] = which === 'keyfork' ? [process.execPath, [keyforkMainPath(), ...args]] : [redisServerPath()!, args];
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) p.stdin?.end(stdin);
    let output = '';
    p.stdout?.on('data', (d) => (output += d));
    p.stderr?.on('data', (d) => (output += d));
    // A server that does not daemonize never exits: stopped after 15 s, as a failure to see.
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));

/** What the daemon looks like: its session, its standard descriptors. */
function daemonView(pid: number): Record<string, string> {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    ownSession: String(Number(f[3]) === pid), // session id (field 6)
    ownGroup: String(Number(f[2]) === pid),
    stdin: fs.readlinkSync(`/proc/${pid}/fd/0`),
    stdout: fs.readlinkSync(`/proc/${pid}/fd/1`),
    stderr: fs.readlinkSync(`/proc/${pid}/fd/2`),
  };
}

async function send(port: number, ...args: string[]): Promise<string> {
  const c = await RawConnection.connect(port);
  try {
    return formatReply(await c.send(...args));
  } finally {
    c.close();
  }
}

async function pidFrom(file: string): Promise<number> {
  let pid = 0;
  await until(async () => {
    try {
      pid = Number(fs.readFileSync(file, 'latin1').trim());
    } catch {
      pid = 0;
    }
    return pid > 0;
  }, 10_000);
  return pid;
}

describeDifferential('daemonize (differential)', () => {
  it('exits 0 at once; the daemon has its own session, /dev/null stdio, its pidfile, its log', async () => {
    const seen = {} as Record<Which, unknown>;
    for (const which of ['keyfork', 'redis'] as const) {
      const dir = fs.mkdtempSync(path.join(tmp, `${which}-`));
      const port = await freePort();
      const pidfile = path.join(dir, 'server.pid');
      const logfile = path.join(dir, 'server.log');
      const launched = await launch(which, ['--daemonize', 'yes', '--port', String(port), '--dir', dir, '--pidfile', pidfile, '--logfile', logfile, '--save', '']);
      const pid = await pidFrom(pidfile);
      try {
        await until(async () => (await send(port, 'PING').catch(() => '')) === 'PONG', 10_000);
        seen[which] = {
          code: launched.code,
          printed: launched.output,
          daemon: daemonView(pid),
          ping: await send(port, 'PING'),
          daemonize: await send(port, 'CONFIG', 'GET', 'daemonize'),
          logged: /Ready to accept connections/.test(fs.readFileSync(logfile, 'latin1')),
        };
        await send(port, 'SHUTDOWN', 'NOSAVE').catch(() => '');
        await until(async () => !alive(pid), 10_000);
        (seen[which] as Record<string, unknown>).pidfileAfterShutdown = fs.existsSync(pidfile);
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toMatchObject({ code: 0, printed: '', daemon: { ownSession: 'true', stdin: '/dev/null', stdout: '/dev/null' }, pidfileAfterShutdown: false });
  });

  it('a configuration read from stdin (`-`) is the daemon\'s, whose stdin is /dev/null', async () => {
    const seen = {} as Record<Which, unknown>;
    for (const which of ['keyfork', 'redis'] as const) {
      const dir = fs.mkdtempSync(path.join(tmp, `${which}-`));
      const port = await freePort();
      const pidfile = path.join(dir, 'server.pid');
      const logfile = path.join(dir, 'server.log');
      // Where the daemon lives on the command line (a daemon that missed stdin is still found
      // and stopped); what it must get from stdin, there.
      const args = ['--daemonize', 'yes', '--port', String(port), '--dir', dir, '--pidfile', pidfile, '--logfile', logfile, '--save', '', '-'];
      const launched = await launch(which, args, 'maxclients 321\nloglevel verbose\n');
      const pid = await pidFrom(pidfile);
      try {
        await until(async () => (await send(port, 'PING').catch(() => '')) === 'PONG', 10_000);
        seen[which] = { code: launched.code, maxclients: await send(port, 'CONFIG', 'GET', 'maxclients'), loglevel: await send(port, 'CONFIG', 'GET', 'loglevel'), stdin: daemonView(pid).stdin };
        await send(port, 'SHUTDOWN', 'NOSAVE').catch(() => '');
        await until(async () => !alive(pid), 10_000);
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toMatchObject({ code: 0, stdin: '/dev/null' });
  });

  it('a daemon that fails to start: the command still exited 0; the log says why, no pidfile', async () => {
    const seen = {} as Record<Which, unknown>;
    for (const which of ['keyfork', 'redis'] as const) {
      const dir = fs.mkdtempSync(path.join(tmp, `${which}-`));
      const port = await freePort();
      const logfile = path.join(dir, 'server.log');
      const pidfile = path.join(dir, 'server.pid');
      const launched = await launch(which, ['--daemonize', 'yes', '--port', String(port), '--bind', '192.0.2.1', '--dir', dir, '--pidfile', pidfile, '--logfile', logfile, '--save', '']);
      await until(async () => fs.existsSync(logfile) && /aborting/.test(fs.readFileSync(logfile, 'latin1')), 10_000);
      const log = fs.readFileSync(logfile, 'latin1');
      seen[which] = { code: launched.code, aborted: log.split('\n').filter((l) => /aborting/.test(l)).map((l) => l.replace(/^\d+:[A-Z] .{24} /, '').split(String(port)).join('<port>')), pidfile: fs.existsSync(pidfile) };
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toMatchObject({ code: 0, pidfile: false });
  });

  it.skipIf(fs.existsSync('/var/run/redis.pid') || process.getuid?.() !== 0)('without a pidfile: /var/run/redis.pid, shown by CONFIG GET, removed at shutdown', async () => {
    const seen = {} as Record<Which, unknown>;
    for (const which of ['keyfork', 'redis'] as const) {
      const dir = fs.mkdtempSync(path.join(tmp, `${which}-`));
      const port = await freePort();
      const launched = await launch(which, ['--daemonize', 'yes', '--port', String(port), '--dir', dir, '--save', '']);
      const pid = await pidFrom('/var/run/redis.pid');
      try {
        await until(async () => (await send(port, 'PING').catch(() => '')) === 'PONG', 10_000);
        seen[which] = { code: launched.code, pidfile: await send(port, 'CONFIG', 'GET', 'pidfile'), stdout: daemonView(pid).stdout };
        await send(port, 'SHUTDOWN', 'NOSAVE').catch(() => '');
        await until(async () => !alive(pid), 10_000);
        (seen[which] as Record<string, unknown>).removed = !fs.existsSync('/var/run/redis.pid');
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
        fs.rmSync('/var/run/redis.pid', { force: true });
      }
    }
    expect(seen.keyfork).toEqual(seen.redis);
    expect(seen.redis).toMatchObject({ code: 0, stdout: '/dev/null', removed: true });
  });
});
