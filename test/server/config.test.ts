// CONFIG GET / SET / RESETSTAT / REWRITE / HELP and DEBUG (with its enable-debug-command gate),
// differentially against the real redis-server 7.0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSequences, describeDifferential, formatMismatches, withBothServers, type BothServers } from '../helpers/diff';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { startKeyfork, startRedis } from '../helpers/servers';

let servers: BothServers;

const text = (r: Reply): string => {
  if ((r.t === 'bulk' || r.t === 'verbatim') && r.v) return r.v.toString('latin1');
  throw new Error(`not a string reply: ${formatReply(r)}`);
};

function field(s: string, name: string): string {
  const m = new RegExp(`^${name}:(.*)\r$`, 'm').exec(s);
  if (!m) throw new Error(`no ${name} in INFO`);
  return m[1];
}

const NOT_ALLOWED =
  'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.';

describeDifferential('CONFIG and DEBUG vs redis-server 7.0', () => {
  beforeAll(async () => {
    const [keyfork, redis] = await Promise.all([
      startKeyfork({ args: ['--save', '', '--enable-debug-command', 'yes'] }),
      startRedis(),
    ]);
    servers = { keyfork, redis };
  });
  afterAll(async () => {
    await Promise.all([servers?.keyfork.stop(), servers?.redis.stop()]);
  });

  const check = async (commands: Arg[][], resp3 = false) => {
    const mismatches = await compareSequences(commands, { servers, resp3, unordered: new Set(['config|get']) });
    expect(formatMismatches(mismatches)).toBe('');
  };

  it('CONFIG GET: names, aliases, patterns, RESP2 array / RESP3 map', async () => {
    for (const resp3 of [false, true]) {
      await check([
        ['CONFIG', 'GET', 'maxmemory'], ['CONFIG', 'GET', 'MAXMEMORY', 'hz', 'nosuch'], ['CONFIG', 'GET', 'nosuch'],
        ['CONFIG', 'GET', 'maxmemory-p*'], ['CONFIG', 'GET', '*-max-listpack-*'], ['CONFIG', 'GET', 'slaveof', 'replicaof'],
        ['CONFIG', 'GET', 'save', 'appendonly'], ['CONFIG', 'GET'],
      ], resp3);
    }
  });

  it('CONFIG SET: values, several pairs, errors, and the value CONFIG GET then shows', async () => {
    await check([
      ['CONFIG', 'SET', 'proto-max-bulk-len', '10mb'], ['CONFIG', 'GET', 'proto-max-bulk-len'],
      ['CONFIG', 'SET', 'hz', '20', 'maxmemory-policy', 'allkeys-lru'], ['CONFIG', 'GET', 'hz', 'maxmemory-policy'],
      ['CONFIG', 'SET', 'MaxMemory', '0'], ['CONFIG', 'SET', 'Proto-Max-Bulk-Len', '512mb'], ['CONFIG', 'SET', 'hz', 'abc'], ['CONFIG', 'SET', 'nosuch', '1'],
      ['CONFIG', 'SET', 'daemonize', 'yes'], ['CONFIG', 'SET', 'dir', '/tmp'], ['CONFIG', 'SET', 'hz', '10', 'hz', '11'],
      ['CONFIG', 'SET', 'hz'], ['CONFIG', 'SET', 'hz', '10', 'maxmemory'], ['CONFIG', 'SET', 'maxmemory-policy', 'bogus'],
      ['CONFIG', 'SET', 'hz', '10', 'maxmemory-policy', 'noeviction'], ['CONFIG', 'GET', 'hz', 'maxmemory-policy'],
      ['CONFIG', 'NOSUCH'], ['CONFIG'], ['CONFIG', 'HELP'], ['CONFIG', 'HELP', 'x'], ['CONFIG', 'RESETSTAT', 'x'], ['CONFIG', 'REWRITE', 'x'],
    ]);
  });

  it('CONFIG RESETSTAT zeroes the INFO counters (stats, keyspace hits, command and error stats)', async () => {
    const c = await RawConnection.connect(servers.keyfork.port);
    try {
      await c.send('SET', 'rs', '1');
      await c.send('GET', 'rs');
      await c.send('GET', 'rs-missing');
      await c.send('GET');
      const before = text(await c.send('INFO', 'everything'));
      expect(Number(field(before, 'total_commands_processed'))).toBeGreaterThan(3);
      expect(Number(field(before, 'keyspace_hits'))).toBeGreaterThan(0);
      expect(before).toContain('errorstat_ERR:');
      expect(await c.send('CONFIG', 'RESETSTAT')).toEqual({ t: 'simple', v: 'OK' });
      const after = text(await c.send('INFO', 'everything'));
      // RESETSTAT itself ran after the reset, as in Redis.
      expect(field(after, 'total_commands_processed')).toBe('1');
      expect(field(after, 'keyspace_hits')).toBe('0');
      expect(field(after, 'keyspace_misses')).toBe('0');
      expect(field(after, 'total_error_replies')).toBe('0');
      expect(after).not.toContain('errorstat_');
      expect(after).not.toContain('cmdstat_get');
      expect(after).toContain('cmdstat_config|resetstat:calls=1,');
    } finally {
      c.close();
    }
  });

  it('CONFIG REWRITE without a config file', async () => {
    await check([['CONFIG', 'REWRITE']]);
  });

  it('DEBUG subcommands and errors', async () => {
    await check([
      ['DEBUG', 'SLEEP', '0'], ['DEBUG', 'SLEEP'], ['DEBUG', 'SLEEP', 'abc'], ['DEBUG', 'SLEEP', '-1'], ['DEBUG', 'SLEEP', '0', 'x'],
      ['DEBUG', 'SET-ACTIVE-EXPIRE', '1'], ['DEBUG', 'set-active-expire', 'x'], ['DEBUG', 'SET-ACTIVE-EXPIRE'],
      ['DEBUG', 'LOG', 'hello from the test'], ['DEBUG', 'LOG'], ['DEBUG', 'ERROR', 'MYERR something failed'], ['DEBUG', 'ERROR', 'a\r\nb'],
      ['DEBUG', 'ERROR', '-X', 'y'], ['DEBUG', 'ERROR'], ['DEBUG', 'nosuch'], ['Debug', 'NoSuch', 'x'], ['DEBUG'],
      ['DEBUG', 'HELP', 'x'], ['DEBUG', 'CHANGE-REPL-ID'], ['DEBUG', 'CHANGE-REPL-ID', 'x'],
      ['FLUSHALL'], ['DEBUG', 'DIGEST'], ['DEBUG', 'DIGEST', 'x'], ['SET', 'a', '1'], ['DEBUG', 'DIGEST-VALUE', 'a', 'nokey'], ['DEBUG', 'DIGEST-VALUE'],
      ['DEBUG', 'POPULATE', '5'], ['DBSIZE'], ['DEBUG', 'POPULATE', '-1'], ['DEBUG', 'POPULATE'], ['DEBUG', 'DIGEST'],
    ]);
  });

  it('DEBUG HELP lists the implemented subcommands in Redis\'s words and order', async () => {
    const help = async (port: number) => {
      const c = await RawConnection.connect(port);
      try {
        const r = await c.send('DEBUG', 'HELP');
        return r.t === 'array' && r.v ? r.v.map((l) => (l.t === 'simple' ? l.v : '?')) : [];
      } finally {
        c.close();
      }
    };
    const [k, r] = await Promise.all([help(servers.keyfork.port), help(servers.redis.port)]);
    expect(k[0]).toBe(r[0]);
    let at = 0;
    for (const l of k) {
      const found = r.indexOf(l, at);
      expect(found, l).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
    for (const sub of ['SLEEP <seconds>', 'SET-ACTIVE-EXPIRE <0|1>', 'LOG <message>', 'ERROR <string>', 'CHANGE-REPL-ID']) expect(k).toContain(sub);
  });

  it('DEBUG SLEEP stops the whole server for that long', async () => {
    const sleeper = await RawConnection.connect(servers.keyfork.port);
    const other = await RawConnection.connect(servers.keyfork.port);
    try {
      const t0 = Date.now();
      const sleeping = sleeper.send('DEBUG', 'SLEEP', '0.3');
      await new Promise((r) => setTimeout(r, 50));
      const pong = await other.send('PING');
      const pongAt = Date.now() - t0;
      expect(await sleeping).toEqual({ t: 'simple', v: 'OK' });
      expect(pong).toEqual({ t: 'simple', v: 'PONG' });
      expect(pongAt).toBeGreaterThanOrEqual(290);
    } finally {
      sleeper.close();
      other.close();
    }
  });

  it('DEBUG SET-ACTIVE-EXPIRE 0 leaves expired keys to lazy expiry', async () => {
    const scenario = async (port: number) => {
      const c = await RawConnection.connect(port);
      try {
        const out: Reply[] = [];
        await c.send('FLUSHALL');
        out.push(await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '0'));
        await c.send('SET', 'short', '1', 'PX', '20');
        await new Promise((r) => setTimeout(r, 400));
        out.push(await c.send('DBSIZE'));
        out.push(await c.send('DEBUG', 'SET-ACTIVE-EXPIRE', '1'));
        await new Promise((r) => setTimeout(r, 600));
        out.push(await c.send('DBSIZE'));
        return out;
      } finally {
        c.close();
      }
    };
    const [k, r] = await Promise.all([scenario(servers.keyfork.port), scenario(servers.redis.port)]);
    expect(k).toEqual(r);
    expect(k[1]).toEqual({ t: 'int', v: 1 });
  });
});

describeDifferential('enable-debug-command', () => {
  for (const setting of ['no', 'local', 'yes']) {
    it(`enable-debug-command ${setting}`, async () => {
      await withBothServers(async (both) => {
        const mismatches = await compareSequences([
          ['DEBUG', 'SLEEP', '0'], ['DEBUG', 'nosuch'], ['DEBUG', 'HELP', 'x'], ['DEBUG'], ['MULTI'], ['DEBUG', 'SLEEP', '0'], ['EXEC'],
        ], { servers: both });
        expect(formatMismatches(mismatches)).toBe('');
        const c = await RawConnection.connect(both.keyfork.port);
        try {
          const reply = await c.send('DEBUG', 'SLEEP', '0');
          expect(reply).toEqual(setting === 'no' ? { t: 'error', v: NOT_ALLOWED } : { t: 'simple', v: 'OK' });
        } finally {
          c.close();
        }
      }, {
        keyfork: { args: setting === 'no' ? [] : ['--enable-debug-command', setting] },
        redis: { args: ['--enable-debug-command', setting] },
      });
    });
  }
});

/** Log lines arrive through a pipe: wait a little for `line` before failing. */
async function logged(server: { output(): string }, line: string): Promise<void> {
  for (let i = 0; i < 100 && !server.output().includes(line); i++) await new Promise((r) => setTimeout(r, 20));
  expect(server.output()).toContain(line);
}

describe('CONFIG REWRITE with a config file', () => {
  it('writes the changed values into the file, and reports a file it cannot write', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-rewrite-'));
    const confDir = path.join(dir, 'conf');
    fs.mkdirSync(confDir);
    const conf = path.join(confDir, 'keyfork.conf');
    fs.writeFileSync(conf, 'save ""\nhz 15\n');
    const server = await startKeyfork({ configFile: conf, dir });
    const c = await RawConnection.connect(server.port);
    try {
      expect(await c.send('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru', 'hz', '12')).toEqual({ t: 'simple', v: 'OK' });
      expect(await c.send('CONFIG', 'REWRITE')).toEqual({ t: 'simple', v: 'OK' });
      const written = fs.readFileSync(conf, 'utf8');
      expect(written).toMatch(/^hz 12$/m);
      expect(written).toMatch(/^maxmemory-policy allkeys-lru$/m);
      await logged(server, 'CONFIG REWRITE executed with success.');
      fs.rmSync(confDir, { recursive: true });
      expect(await c.send('CONFIG', 'REWRITE')).toEqual({ t: 'error', v: 'ERR Rewriting config file: No such file or directory' });
      await logged(server, 'CONFIG REWRITE failed: No such file or directory');
    } finally {
      c.close();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
