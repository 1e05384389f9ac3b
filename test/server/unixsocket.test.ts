// unixsocket and unixsocketperm against the real redis-server 7.0: each server listens on a
// socket file in its own temp dir (beside TCP, or alone with port 0); its clients are ordinary
// clients whose addresses are `<path>:0` with flag U; the file is replaced at start-up, chmod'ed,
// and removed at shutdown; a path that cannot be bound stops start-up with Redis's log line.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import IORedis from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer, type ServerOptions } from '../helpers/servers';

const run = promisify(execFile);
const cliPath = (): string => path.join(path.dirname(redisServerPath() as string), 'redis-cli');

type Which = 'keyfork' | 'redis';
const WHICH: Which[] = ['keyfork', 'redis'];

/** A fresh directory for one server's socket (short: sun_path holds 107 bytes). */
function socketDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kf-us-'));
}

interface UnixServer {
  server: RunningServer;
  sock: string;
}

async function startWithSocket(which: Which, args: string[] = [], sock = path.join(socketDir(), 's.sock')): Promise<UnixServer> {
  const opts: ServerOptions = { args: ['--unixsocket', sock, ...args] };
  const server = which === 'keyfork' ? await startKeyfork(opts) : await startRedis(opts);
  return { server, sock };
}

/** `text` with the server's socket path as <path>, to compare the two servers. */
const norm = (text: string, sock: string): string => text.split(sock).join('<path>');

/** The server's log lines without the `pid:role date time level` prefix. */
function messages(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.replace(/^\d+:[A-Z] \d{2} \w{3} \d{4} [\d:.]+ [.\-*#] /, '').trim())
    .filter(Boolean);
}

async function cli(sock: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(cliPath(), ['-s', sock, ...args], { timeout: 10_000 });
  return stdout;
}

function ioredis(sock: string): IORedis {
  return new IORedis({ path: sock, lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: true });
}

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

/** Starts a server that is expected to exit at start-up: its exit code and log lines. */
function startupOutcome(which: Which, args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const dir = socketDir();
  const [cmd, argv] =
    which === 'keyfork'
      ? [process.execPath, [keyforkMainPath(), '--dir', dir, ...args]]
      : [redisServerPath() as string, ['--dir', dir, '--save', '', '--daemonize', 'no', ...args]];
  return new Promise((resolve) => {
    const proc = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    // 'close': the exit status and all of the piped output.
    proc.on('close', (code) => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, lines: messages(out) });
    });
  });
}

describeDifferential('unixsocket', () => {
  const servers = {} as Record<Which, UnixServer>;
  beforeAll(async () => {
    const [k, r] = await Promise.all(WHICH.map((w) => startWithSocket(w, ['--unixsocketperm', '700'])));
    servers.keyfork = k;
    servers.redis = r;
  });
  afterAll(async () => {
    await Promise.all(Object.values(servers).map((s) => s.server.stop()));
  });
  const both = async <T>(fn: (s: UnixServer) => Promise<T>): Promise<[T, T]> => Promise.all([fn(servers.keyfork), fn(servers.redis)]);

  it('logs where it is ready, and the file is a socket with unixsocketperm\'s mode', async () => {
    const [k, r] = await both(async ({ server, sock }) => {
      // The harness returns on the first ready line; the second is a separate write.
      await until(() => server.output().includes('ready to accept connections at'));
      const st = fs.statSync(sock);
      const lines = messages(server.output()).filter((l) => /ready to accept/i.test(l));
      return { socket: st.isSocket(), mode: (st.mode & 0o777).toString(8), lines: lines.map((l) => norm(l, sock)) };
    });
    expect(r).toEqual({ socket: true, mode: '700', lines: ['Ready to accept connections', 'The server is now ready to accept connections at <path>'] });
    expect(k).toEqual(r);
  });

  it('redis-cli -s runs commands; CONFIG GET answers and CONFIG SET is refused as immutable', async () => {
    const [k, r] = await both(async ({ sock }) => {
      const out: string[] = [];
      out.push(await cli(sock, 'SET', 'unix:k', 'v'));
      out.push(await cli(sock, 'GET', 'unix:k'));
      // One name at a time: a pattern's order is Redis's dict order (seeded per process).
      out.push(await cli(sock, 'CONFIG', 'GET', 'unixsocket'));
      out.push(await cli(sock, 'CONFIG', 'GET', 'unixsocketperm'));
      out.push(await cli(sock, 'CONFIG', 'SET', 'unixsocketperm', '777'));
      out.push(await cli(sock, 'CONFIG', 'SET', 'unixsocket', '/tmp/elsewhere.sock'));
      return out.map((o) => norm(o, sock));
    });
    expect(r[1]).toBe('v\n');
    expect(r[3]).toBe('unixsocketperm\n700\n');
    expect(r[4]).toContain("can't set immutable config");
    expect(k).toEqual(r);
  });

  it('node-redis connects with socket.path (HELLO 3) and runs commands', async () => {
    const [k, r] = await both(async ({ sock }) => {
      const client = createClient({ socket: { path: sock, reconnectStrategy: false }, RESP: 3, name: 'nr-unix' });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.set('unix:nr', 'v');
        const info = String(await client.sendCommand(['CLIENT', 'INFO']));
        const f = Object.fromEntries(info.trim().split(' ').map((kv) => kv.split('=')));
        return norm(JSON.stringify([await client.get('unix:nr'), f.addr, f.laddr, f.flags, f.name, f.resp]), sock);
      } finally {
        client.destroy();
      }
    });
    expect(r).toBe(JSON.stringify(['v', '<path>:0', '<path>:0', 'U', 'nr-unix', '3']));
    expect(k).toEqual(r);
  });

  it('CLIENT LIST and CLIENT INFO show <path>:0 and flag U; MONITOR shows unix:<path>', async () => {
    const [k, r] = await both(async ({ sock }) => {
      const a = ioredis(sock);
      const b = ioredis(sock);
      const mon = ioredis(sock);
      try {
        await Promise.all([a.connect(), b.connect(), mon.connect()]);
        const monitor = await mon.monitor();
        const seen: string[] = [];
        monitor.on('monitor', (_time: string, args: string[], source: string, database: string) => seen.push(`${database} ${source} ${args.join(' ')}`));
        await a.set('unix:m', '1');
        await b.call('CLIENT', 'NO-EVICT', 'on');
        await b.multi().get('unix:m').exec();
        const fields = (line: string) => {
          const f = Object.fromEntries(line.trim().split(' ').map((kv) => kv.split('=')));
          return `addr=${f.addr} laddr=${f.laddr} flags=${f.flags} cmd=${f.cmd}`;
        };
        const list = String(await a.call('CLIENT', 'LIST')).trim().split('\n').map(fields).sort();
        const info = fields(String(await b.call('CLIENT', 'INFO')));
        await until(() => seen.length >= 4);
        monitor.disconnect();
        return norm(JSON.stringify({ list, info, seen }), sock);
      } finally {
        a.disconnect();
        b.disconnect();
        mon.disconnect();
      }
    });
    expect(r).toContain('addr=<path>:0 laddr=<path>:0 flags=U cmd=client|list');
    expect(r).toContain('0 unix:<path> set unix:m 1');
    expect(k).toEqual(r);
  });

  it('CLIENT KILL ADDR and LADDR match <path>:0; protected mode lets unix clients in', async () => {
    const [k, r] = await both(async ({ sock }) => {
      const victims = [ioredis(sock), ioredis(sock)];
      const killer = ioredis(sock);
      for (const c of victims) c.on('error', () => undefined);
      try {
        await Promise.all([...victims, killer].map((c) => c.connect()));
        // Protected mode is on and the default user has no password: still served.
        const protectedMode = await killer.config('GET', 'protected-mode');
        const ping = await victims[0].ping();
        const byAddr = await killer.call('CLIENT', 'KILL', 'ADDR', `${sock}:0`);
        await until(() => victims.every((v) => v.status !== 'ready'));
        const byLaddr = await killer.call('CLIENT', 'KILL', 'LADDR', `${sock}:0`, 'SKIPME', 'no');
        return { protectedMode, ping, byAddr, byLaddr };
      } finally {
        for (const c of [...victims, killer]) c.disconnect();
      }
    });
    expect(r).toEqual({ protectedMode: ['protected-mode', 'yes'], ping: 'PONG', byAddr: 2, byLaddr: 1 });
    expect(k).toEqual(r);
  });

  it('pub/sub, blocking pops and MULTI over the socket', async () => {
    const [k, r] = await both(async ({ sock }) => {
      const sub = ioredis(sock);
      const pub = ioredis(sock);
      const blocker = ioredis(sock);
      try {
        await Promise.all([sub.connect(), pub.connect(), blocker.connect()]);
        const got: string[] = [];
        sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
        await sub.subscribe('unix:ch');
        const receivers = await pub.publish('unix:ch', 'hello');
        const popped = blocker.blpop('unix:list', 5);
        await until(async () => /blocked_clients:1/.test(await pub.info('clients')));
        await pub.lpush('unix:list', 'x');
        const pop = await popped;
        const exec = await pub.multi().incr('unix:n').incr('unix:n').exec();
        await until(() => got.length === 1);
        return { receivers, got, pop, exec };
      } finally {
        for (const c of [sub, pub, blocker]) c.disconnect();
      }
    });
    expect(r).toEqual({ receivers: 1, got: ['unix:ch:hello'], pop: ['unix:list', 'x'], exec: [[null, 1], [null, 2]] });
    expect(k).toEqual(r);
  });

  it('an idle unix client is closed by timeout', async () => {
    const [k, r] = await both(async ({ sock }) => {
      const admin = ioredis(sock);
      const idle = ioredis(sock);
      idle.on('error', () => undefined);
      try {
        await Promise.all([admin.connect(), idle.connect()]);
        await admin.config('SET', 'timeout', '1');
        const id = await idle.client('ID');
        const closed = await until(async () => !String(await admin.call('CLIENT', 'LIST')).includes(`id=${id} `), 6000);
        await admin.config('SET', 'timeout', '0');
        return closed;
      } finally {
        admin.disconnect();
        idle.disconnect();
      }
    });
    expect(r).toBe(true);
    expect(k).toBe(r);
  });
});

describeDifferential('unixsocket start-up and shutdown', () => {
  it('a stale file at the path is replaced by the socket', async () => {
    for (const which of WHICH) {
      const sock = path.join(socketDir(), 's.sock');
      fs.writeFileSync(sock, 'left over');
      const { server } = await startWithSocket(which, [], sock);
      try {
        expect(fs.statSync(sock).isSocket(), which).toBe(true);
        expect(await cli(sock, 'PING'), which).toBe('PONG\n');
      } finally {
        await server.stop();
      }
    }
  });

  it('SHUTDOWN and SIGTERM remove the file, with Redis\'s notice; a file already gone gets its warning', async () => {
    const results: Record<Which, string[][]> = { keyfork: [], redis: [] };
    for (const which of WHICH) {
      for (const how of ['SHUTDOWN', 'SIGTERM', 'gone'] as const) {
        const { server, sock } = await startWithSocket(which);
        // Served once: the server is past start-up (keyfork's signal handlers are in place).
        expect(await cli(sock, 'PING')).toBe('PONG\n');
        if (how === 'SIGTERM') expect(await server.stop('SIGTERM'), `${which} SIGTERM`).toEqual({ code: 0, signal: null });
        else {
          if (how === 'gone') fs.unlinkSync(sock);
          await cli(sock, 'SHUTDOWN', 'NOSAVE').catch(() => undefined);
          await server.stop();
        }
        expect(fs.existsSync(sock), `${which} ${how}`).toBe(false);
        // 'exit' can come before the last of the piped output.
        await until(() => server.output().includes('bye bye'));
        const lines = messages(server.output());
        const from = lines.findIndex((l) => l.startsWith('User requested shutdown'));
        results[which].push(lines.slice(from).filter((l) => /unix socket|bye bye/.test(l)));
      }
    }
    expect(results.redis[0]).toEqual(['Removing the unix socket file.', 'Redis is now ready to exit, bye bye...']);
    expect(results.redis[2]).toEqual([
      'Removing the unix socket file.',
      'Error removing the unix socket file: No such file or directory',
      'Redis is now ready to exit, bye bye...',
    ]);
    expect(results.keyfork).toEqual(results.redis);
  });

  it('a path in a missing directory stops start-up as Redis does', async () => {
    const [k, r] = await Promise.all(
      WHICH.map((w) => startupOutcome(w, ['--port', '0', '--unixsocket', '/nonexistent-kf-dir/s.sock'])),
    );
    expect(r.code).toBe(1);
    expect(r.lines.at(-1)).toBe('Failed opening Unix socket: bind: No such file or directory');
    expect(k.code).toBe(r.code);
    expect(k.lines.at(-1)).toBe(r.lines.at(-1));
  });

  it('a path longer than sun_path holds stops start-up as Redis does (not a truncated bind)', async () => {
    for (const length of [107, 108]) {
      const dir = socketDir();
      const sock = path.join(dir, 'x'.repeat(length - dir.length - 1));
      const [k, r] = await Promise.all(
        WHICH.map(async (w) => {
          if (length === 108) return startupOutcome(w, ['--port', '0', '--unixsocket', sock]);
          // 107 bytes and the NUL fill sun_path: served.
          const { server } = await startWithSocket(w, [], sock);
          const ping = await cli(sock, 'PING');
          await server.stop();
          return { code: null, lines: [ping] };
        }),
      );
      if (length === 108) expect(r.lines.at(-1)).toBe('Failed opening Unix socket: unix socket path too long (108), must be under 108');
      else expect(r.lines).toEqual(['PONG\n']);
      expect({ code: k.code, last: k.lines.at(-1) }).toEqual({ code: r.code, last: r.lines.at(-1) });
      expect(fs.readdirSync(dir)).toEqual([]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unixsocketperm outside 0..777 or not octal is a fatal config error', async () => {
    for (const value of ['1777', '888', 'abc']) {
      const [k, r] = await Promise.all(
        WHICH.map((w) => startupOutcome(w, ['--port', '0', '--unixsocket', '/tmp/unused-kf.sock', '--unixsocketperm', value])),
      );
      expect(r.code, value).toBe(1);
      expect(k.code, value).toBe(1);
      expect(k.lines.slice(-2), value).toEqual(r.lines.slice(-2));
    }
  });

  it('port 0 with a unixsocket listens on the socket alone', async () => {
    const outcomes = await Promise.all(
      WHICH.map(async (which) => {
        const dir = socketDir();
        const sock = path.join(dir, 's.sock');
        const [cmd, argv] =
          which === 'keyfork'
            ? [process.execPath, [keyforkMainPath(), '--port', '0', '--dir', dir, '--unixsocket', sock]]
            : [redisServerPath() as string, ['--port', '0', '--dir', dir, '--save', '', '--unixsocket', sock]];
        const proc = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        proc.stdout.on('data', (d) => (out += d));
        proc.stderr.on('data', (d) => (out += d));
        const exited = new Promise((r) => proc.on('exit', r));
        try {
          await until(() => out.includes('ready to accept connections at'), 10_000);
          const tcp = (await run('ss', ['-Hltnp'])).stdout.split('\n').filter((l) => l.includes(`pid=${proc.pid},`));
          const ping = await cli(sock, 'PING');
          const ready = messages(out).filter((l) => /ready to accept|Running mode/i.test(l)).map((l) => norm(l, sock));
          return { tcp, ping, ready };
        } finally {
          proc.kill('SIGKILL');
          await exited;
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
    );
    expect(outcomes[1]).toEqual({
      tcp: [],
      ping: 'PONG\n',
      ready: ['Running mode=standalone, port=0.', 'The server is now ready to accept connections at <path>'],
    });
    expect(outcomes[0]).toEqual(outcomes[1]);
  });
});

describeDifferential('unixsocket and the fork child', () => {
  it('the save child does not keep the unix listener open', async () => {
    const { server, sock } = await startWithSocket('keyfork', ['--rdb-key-save-delay', '20000', '--enable-debug-command', 'yes']);
    const c = ioredis(sock);
    try {
      await c.connect();
      await c.call('DEBUG', 'POPULATE', '200');
      await c.bgsave();
      const children = (): number[] => {
        try {
          return fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        } catch {
          return [];
        }
      };
      expect(await until(() => children().length > 0)).toBe(true);
      const child = children()[0];
      // The listener's inode, from the kernel's table of unix sockets (the bound path is listed).
      const row = fs.readFileSync('/proc/net/unix', 'utf8').split('\n').find((l) => l.endsWith(` ${sock}`));
      expect(row).toBeDefined();
      const inode = row!.trim().split(/\s+/)[6];
      const sockets = (pid: number) =>
        fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
          try {
            return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        });
      expect(sockets(server.pid)).toContain(`socket:[${inode}]`);
      expect(sockets(child)).not.toContain(`socket:[${inode}]`);
    } finally {
      c.disconnect();
      await server.stop('SIGKILL');
    }
  });
});
