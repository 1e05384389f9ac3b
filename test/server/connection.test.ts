// Connecting real clients (ioredis and node-redis in RESP2 and RESP3, redis-cli), whose ready
// checks run HELLO / INFO / CLIENT SETINFO; then the server commands TIME, ROLE, READONLY,
// READWRITE and SHUTDOWN, differentially against the real redis-server 7.0.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import IORedis from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, withBothServers, type BothServers, useBothServers } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { redisServerPath, startKeyfork, type RunningServer } from '../helpers/servers';

const run = promisify(execFile);

describe('client libraries and redis-cli against keyfork', () => {
  let keyfork: RunningServer;
  beforeAll(async () => {
    keyfork = await startKeyfork();
  });
  afterAll(async () => {
    await keyfork?.stop();
  });

  for (const protocol of [2, 3] as const) {
    it(`ioredis (RESP${protocol}) passes its INFO ready check and runs commands`, async () => {
      const client = new IORedis({ port: keyfork.port, host: '127.0.0.1', protocol, lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        expect(client.status).toBe('ready');
        expect(await client.set('ioredis:k', 'v')).toBe('OK');
        expect(await client.get('ioredis:k')).toBe('v');
        const info = await client.info('server');
        expect(info).toContain('redis_version:7.0.15');
        expect(await client.client('ID')).toEqual(expect.any(Number));
      } finally {
        client.disconnect();
      }
    });

    it(`node-redis (RESP${protocol}) connects (HELLO, CLIENT SETINFO ignored) and runs commands`, async () => {
      const client = createClient({ socket: { port: keyfork.port, host: '127.0.0.1', reconnectStrategy: false }, RESP: protocol, name: 'nr-client' });
      client.on('error', () => undefined);
      try {
        await client.connect();
        expect(await client.set('node-redis:k', 'v')).toBe('OK');
        expect(await client.get('node-redis:k')).toBe('v');
        expect(String(await client.info('keyspace'))).toMatch(/^# Keyspace\r\ndb0:keys=\d+,expires=0,avg_ttl=0\r\n/);
        expect(await client.clientGetName()).toBe('nr-client');
        const list = String(await client.sendCommand(['CLIENT', 'LIST']));
        expect(list).toMatch(new RegExp(`name=nr-client .* resp=${protocol}\\n`));
      } finally {
        client.destroy();
      }
    });
  }

  it('redis-cli runs commands and prints INFO', async () => {
    const cli = redisServerPath() ? path.join(path.dirname(redisServerPath() as string), 'redis-cli') : 'redis-cli';
    const { stdout } = await run(cli, ['-p', String(keyfork.port), 'INFO', 'server']);
    expect(stdout).toContain('redis_version:7.0.15');
    expect(stdout).toContain(`tcp_port:${keyfork.port}`);
    const ping = await run(cli, ['-p', String(keyfork.port), '-3', 'PING']);
    expect(ping.stdout.trim()).toBe('PONG');
    const role = await run(cli, ['-p', String(keyfork.port), 'ROLE']);
    expect(role.stdout.trim().split('\n')).toEqual(['master', '0']);
  });
});

let servers: BothServers;

describeDifferential('server commands vs redis-server 7.0', () => {
  useBothServers((s) => (servers = s));

  const check = async (commands: Arg[][], resp3 = false) => {
    const mismatches = await compareSequences(commands, { servers, resp3 });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('ROLE, READONLY, READWRITE, TIME / ROLE / SHUTDOWN argument errors', async () => {
    for (const resp3 of [false, true]) {
      await check([
        ['ROLE'], ['ROLE', 'x'], ['READONLY'], ['READWRITE'], ['READONLY', 'x'], ['TIME', 'x'],
        ['SHUTDOWN', 'foo'], ['SHUTDOWN', 'SAVE', 'NOSAVE'], ['SHUTDOWN', 'ABORT', 'NOW'], ['SHUTDOWN', 'ABORT', 'FORCE'],
        ['SHUTDOWN', 'abort'], ['SHUTDOWN', 'NOSAVE', 'ABORT'],
      ], resp3);
    }
  });

  it('connection commands: PING, ECHO, SELECT, HELLO, AUTH, RESET, QUIT', async () => {
    for (const resp3 of [false, true]) {
      await check([
        ['PING'], ['PING', 'hi'], ['PING', 'a', 'b'], ['ECHO', 'x'], ['ECHO'], ['SELECT', '1'], ['SELECT', '16'], ['SELECT', 'x'],
        ['SELECT', '0'], ['AUTH', 'pw'], ['AUTH', 'default', 'pw'], ['AUTH', 'a', 'b', 'c'], ['HELLO', '4'], ['HELLO', 'x'],
        ['HELLO', '3', 'SETNAME', 'a b'], ['HELLO', '2', 'FOO'], ['HELLO', '2', 'AUTH', 'default'], ['RESET'], ['QUIT'],
      ], resp3);
    }
  });

  it('pipelined PINGs (the batch fast path runs them natively) reply and count as redis-server\'s', async () => {
    for (const resp3 of [false, true]) {
      const seen = await Promise.all([servers.keyfork, servers.redis].map(async (server) => {
        const c = await RawConnection.connect(server.port, { resp3 });
        try {
          await c.send('CONFIG', 'RESETSTAT');
          const replies = await c.pipeline([['PING'], ['SET', 'k', 'v'], ['ping', 'hello'], ['PING', 'a', 'b'], ['GET', 'k'], ['PiNg'], ['PING', '']]);
          const stats = await c.send('INFO', 'commandstats');
          const line = (stats.t === 'bulk' || stats.t === 'verbatim' ? String(stats.v) : '').split('\r\n').find((l) => l.startsWith('cmdstat_ping:')) ?? '';
          return { replies, ping: line.replace(/usec=\d+,usec_per_call=[\d.]+,/, '') };
        } finally {
          c.close();
        }
      }));
      expect(seen[0]).toEqual(seen[1]);
    }
  });

  it('TIME is the wall clock as two bulk strings', async () => {
    const time = async (port: number): Promise<Reply> => {
      const c = await RawConnection.connect(port);
      try {
        return await c.send('TIME');
      } finally {
        c.close();
      }
    };
    const [k, r] = await Promise.all([time(servers.keyfork.port), time(servers.redis.port)]);
    const parts = (x: Reply) => (x.t === 'array' && x.v ? x.v.map((p) => (p.t === 'bulk' && p.v ? p.v.toString() : '?')) : []);
    const [ks, kus] = parts(k);
    const [rs] = parts(r);
    expect(parts(k)).toHaveLength(2);
    expect(ks).toMatch(/^\d+$/);
    expect(kus).toMatch(/^\d{1,6}$/);
    expect(Math.abs(Number(ks) - Number(rs))).toBeLessThanOrEqual(1);
    expect(Math.abs(Number(ks) * 1000 + Number(kus) / 1000 - Date.now())).toBeLessThan(2000);
  });
});

describeDifferential('SHUTDOWN vs redis-server 7.0', () => {
  for (const args of [['NOSAVE'], ['NOW', 'NOSAVE', 'FORCE'], []]) {
    it(`SHUTDOWN${args.map((a) => ` ${a}`).join('')} closes the connection without a reply and exits with status 0`, async () => {
      await withBothServers(async (both) => {
        const outcome = async (server: RunningServer) => {
          const exited = new Promise((resolve) => server.proc.once('exit', (code, signal) => resolve({ code, signal })));
          const c = await RawConnection.connect(server.port);
          const reply = await c.send('SHUTDOWN', ...args).then((r) => r, (err: Error) => `closed: ${/closed|ECONNRESET/.test(err.message)}`);
          const status = await exited;
          c.close();
          return { reply, status };
        };
        const [k, r] = await Promise.all([outcome(both.keyfork), outcome(both.redis)]);
        expect(k).toEqual(r);
        expect(k.status).toEqual({ code: 0, signal: null });
      }, { keyfork: { args: ['--save', ''] } });
    });
  }
});
