// set-proc-title and proc-title-template: the title `ps` shows (/proc/PID/cmdline) for the
// server and its forked children, and the thread name (/proc/PID/comm), compared with
// redis-server 7.0.15 run the same way. Redis's {title} is its argv[0] (here the absolute path
// the harness runs it by); keyfork's, run as node main.js, is "keyfork-server": titles are
// compared with that swapped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDifferential, withBothServers } from '../helpers/diff';
import { until } from '../helpers/info';
import { childrenOf } from '../helpers/proc';
import { RawConnection, formatReply, type Reply } from '../helpers/resp';
import { keyforkMainPath, redisServerPath, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

/** The title as `ps` shows it: /proc/PID/cmdline up to its first NUL. */
function title(pid: number): string {
  const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  const nul = raw.indexOf('\0');
  return nul < 0 ? raw : raw.slice(0, nul);
}

function comm(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
}

/** What {title} is on each server: normalised to TITLE for comparison. */
const TITLE = '<title>';
function normalise(s: RunningServer, which: 'keyfork' | 'redis', text: string): string {
  const own = which === 'redis' ? redisServerPath()! : 'keyfork-server';
  return text.split(own).join(TITLE).split(String(s.port)).join('<port>');
}

async function send(port: number, ...args: string[]): Promise<Reply> {
  const c = await RawConnection.connect(port);
  try {
    return await c.send(...args);
  } finally {
    c.close();
  }
}

describeDifferential('process title (differential)', () => {
  it('the default title is "<argv0> *:<port>", the thread name is left alone', async () => {
    await withBothServers(async ({ keyfork, redis }) => {
      expect(normalise(keyfork, 'keyfork', title(keyfork.pid))).toBe(`${TITLE} *:<port>`);
      expect(normalise(redis, 'redis', title(redis.pid))).toBe(`${TITLE} *:<port>`);
      expect(comm(redis.pid)).toBe('redis-server');
      // keyfork's thread name is its executable's, as Redis's: node's.
      expect(comm(keyfork.pid)).toBe(path.basename(process.execPath).slice(0, 15));
    });
  });

  it('{listen-addr} is the first bind address', async () => {
    const opts = { args: ['--bind', '127.0.0.1'] };
    await withBothServers(async ({ keyfork, redis }) => {
      expect(normalise(keyfork, 'keyfork', title(keyfork.pid))).toBe(`${TITLE} 127.0.0.1:<port>`);
      expect(normalise(redis, 'redis', title(redis.pid))).toBe(`${TITLE} 127.0.0.1:<port>`);
    }, { keyfork: opts, redis: opts });
  });

  it('a template from the command line, with every variable', async () => {
    const opts = { args: ['--proc-title-template', '{title} {port} {tls-port} [{unixsocket}] [{config-file}] [{server-mode}] {{x}'] };
    await withBothServers(async ({ keyfork, redis }) => {
      const k = normalise(keyfork, 'keyfork', title(keyfork.pid));
      expect(k).toBe(normalise(redis, 'redis', title(redis.pid)));
      expect(k).toBe(`${TITLE} <port> 0 [] [-] [] {x}`);
    }, { keyfork: opts, redis: opts });
  });

  it('{title} is the link keyfork was run through when named otherwise, as Redis shows its argv[0]', async () => {
    // A drop-in: tools that start `redis-server` by path, through a link to keyfork's script.
    // npm's own link (keyfork-server) is the command itself.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-title-link-'));
    const saved = process.env.KEYFORK_MAIN;
    try {
      for (const [name, want] of [['redis-server', path.join(dir, 'redis-server')], ['keyfork-server', 'keyfork-server']]) {
        const link = path.join(dir, name);
        fs.symlinkSync(keyforkMainPath(), link);
        process.env.KEYFORK_MAIN = link;
        const keyfork = await startKeyfork();
        try {
          expect(title(keyfork.pid)).toBe(`${want} *:${keyfork.port}`);
        } finally {
          await keyfork.stop();
        }
      }
    } finally {
      if (saved === undefined) delete process.env.KEYFORK_MAIN;
      else process.env.KEYFORK_MAIN = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('{config-file} is the absolute path of the config file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-title-'));
    const file = path.join(dir, 'server.conf');
    fs.writeFileSync(file, 'proc-title-template "{title} [{config-file}]"\n');
    const opts = { configFile: file };
    try {
      await withBothServers(async ({ keyfork, redis }) => {
        expect(normalise(keyfork, 'keyfork', title(keyfork.pid))).toBe(`${TITLE} [${file}]`);
        expect(normalise(redis, 'redis', title(redis.pid))).toBe(`${TITLE} [${file}]`);
      }, { keyfork: opts, redis: opts });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CONFIG SET proc-title-template: replies, and the title changes at once (or not at all)', async () => {
    const templates = [
      '{title} {port}',
      '{listen-addr}',
      '  {title}  ',
      'abc',
      '{title}{title}',
      '',
      '{}',
      '{{title}}',
      '{title}}',
      'x{',
      '}',
      '{port',
      '{bogus}',
      '{title} {server-mode}',
      '  {port}  tail  ',
      '{listen-addr} {title}',
      '{config-file}',
      '{unixsocket}',
    ];
    await withBothServers(async ({ keyfork, redis }) => {
      const seen: Record<'keyfork' | 'redis', string[]> = { keyfork: [], redis: [] };
      for (const template of templates) {
        for (const [which, s] of [['keyfork', keyfork], ['redis', redis]] as const) {
          const reply = await send(s.port, 'CONFIG', 'SET', 'proc-title-template', template);
          const got = await send(s.port, 'CONFIG', 'GET', 'proc-title-template');
          seen[which].push(`${JSON.stringify(template)} -> ${formatReply(reply)} | ${formatReply(got)} | ${normalise(s, which, title(s.pid))}`);
        }
      }
      expect(seen.keyfork).toEqual(seen.redis);
    });
  });

  it('set-proc-title no: the command line stays, yet a new template is shown', async () => {
    const opts = { args: ['--set-proc-title', 'no'] };
    await withBothServers(async ({ keyfork, redis }) => {
      expect(title(keyfork.pid)).toBe(process.execPath);
      expect(title(redis.pid)).toBe(redisServerPath());
      for (const [which, s] of [['keyfork', keyfork], ['redis', redis]] as const) {
        expect(formatReply(await send(s.port, 'CONFIG', 'SET', 'set-proc-title', 'yes'))).toContain("can't set immutable config");
        await send(s.port, 'CONFIG', 'SET', 'proc-title-template', '{title} on {port}');
        expect(normalise(s, which, title(s.pid))).toBe(`${TITLE} on <port>`);
      }
    }, { keyfork: opts, redis: opts });
  });

  /** The title of the child a command forks, read while it is slowed down by rdb-key-save-delay. */
  async function childTitle(s: RunningServer, which: 'keyfork' | 'redis', ...command: string[]): Promise<string> {
    // 5 keys at 200 ms each: the child lives about a second.
    await send(s.port, 'CONFIG', 'SET', 'rdb-key-save-delay', '200000');
    try {
      await send(s.port, ...command);
      let kids: number[] = [];
      // A child shows its parent's title until it sets its own, a moment after the fork.
      const parents = title(s.pid);
      expect(await until(async () => (kids = childrenOf(s.pid)).length > 0 && title(kids[0]) !== parents, 5000)).toBe(true);
      return normalise(s, which, title(kids[0]));
    } finally {
      await send(s.port, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
      await until(async () => childrenOf(s.pid).length === 0, 10_000);
    }
  }

  it('forked children show redis-rdb-bgsave and redis-aof-rewrite through the template', async () => {
    const opts = { args: ['--proc-title-template', '{title} {listen-addr} child-of-{port}', '--enable-debug-command', 'yes'] };
    await withBothServers(async ({ keyfork, redis }) => {
      for (const [which, s] of [['keyfork', keyfork], ['redis', redis]] as const) {
        await send(s.port, 'DEBUG', 'POPULATE', '5');
        expect(await childTitle(s, which, 'BGSAVE'), which).toBe('redis-rdb-bgsave *:<port> child-of-<port>');
        expect(await childTitle(s, which, 'BGREWRITEAOF'), which).toBe('redis-aof-rewrite *:<port> child-of-<port>');
        // The parent keeps its own.
        expect(normalise(s, which, title(s.pid))).toBe(`${TITLE} *:<port> child-of-<port>`);
      }
    }, { keyfork: opts, redis: opts });
  });

  it('the child of a disk-less sync to replicas shows redis-rdb-to-slaves', async () => {
    const opts = { args: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--enable-debug-command', 'yes'] };
    await withBothServers(async ({ keyfork, redis }) => {
      for (const [which, s] of [['keyfork', keyfork], ['redis', redis]] as const) {
        await send(s.port, 'DEBUG', 'POPULATE', '5');
        await send(s.port, 'CONFIG', 'SET', 'rdb-key-save-delay', '200000');
        const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(s.port)] });
        try {
          let kids: number[] = [];
          expect(await until(async () => (kids = childrenOf(s.pid)).length > 0, 5000), which).toBe(true);
          expect(normalise(s, which, title(kids[0])), which).toBe('redis-rdb-to-slaves *:<port>');
        } finally {
          await send(s.port, 'CONFIG', 'SET', 'rdb-key-save-delay', '0');
          await replica.stop();
          await until(async () => childrenOf(s.pid).length === 0, 10_000);
        }
      }
    }, { keyfork: opts, redis: opts });
  });
});

describe('process title: what Node lets keyfork show', () => {
  it('a title longer than the argv memory is cut at its size, and the thread name stays', async () => {
    const s = await startKeyfork();
    try {
      const cmdline = fs.readFileSync(`/proc/${s.pid}/cmdline`, 'latin1');
      const capacity = cmdline.length - 1;
      const long = 'x'.repeat(capacity + 50);
      expect(formatReply(await send(s.port, 'CONFIG', 'SET', 'proc-title-template', `${long} {title}`))).toBe('OK');
      expect(title(s.pid)).toBe(long.slice(0, capacity));
      expect(comm(s.pid)).toBe(path.basename(process.execPath).slice(0, 15));
    } finally {
      await s.stop();
    }
  });
});
