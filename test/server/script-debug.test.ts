// SCRIPT DEBUG, the Lua debugger: the same sessions are driven on keyfork and on redis-server
// 7.0.15 over raw connections (every byte the debugger sends is compared) and through
// `redis-cli --ldb` / `--ldb-sync-mode` fed on stdin (its whole output is compared). SYNC
// keeps the script's changes and holds the server; YES runs in a forked child: the server
// keeps answering and the changes are gone with the child.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { describeDifferential, useBothServers, withBothServers, type BothServers } from '../helpers/diff';
import { encodeCommand, RawConnection, type Arg } from '../helpers/resp';
import { redisServerPath } from '../helpers/servers';

let servers: BothServers;
const both = (): [string, number][] => [['keyfork', servers.keyfork.port], ['redis', servers.redis.port]];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the first complete RESP reply in `b` from `at` ends, or -1 while it is incomplete. */
function replyEnd(b: Buffer, at: number): number {
  if (at >= b.length) return -1;
  const cr = b.indexOf('\r\n', at);
  if (cr < 0) return -1;
  const type = String.fromCharCode(b[at]);
  const n = Number(b.latin1Slice(at + 1, cr));
  if ('+-:_,#('.includes(type)) return cr + 2;
  if (type === '$' || type === '=') return n < 0 ? cr + 2 : (cr + 2 + n + 2 <= b.length ? cr + 2 + n + 2 : -1);
  if ('*~%'.includes(type)) {
    let p = cr + 2;
    for (let i = 0; i < (n < 0 ? 0 : type === '%' ? 2 * n : n); i++) {
      p = replyEnd(b, p);
      if (p < 0) return -1;
    }
    return p;
  }
  return -1;
}

/** A raw connection that keeps every byte received: the transcript of a session. */
class Session {
  private buf = Buffer.alloc(0);
  private consumed = 0;
  closed = false;
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d) => (this.buf = Buffer.concat([this.buf, d])));
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => (this.closed = true));
  }

  static connect(port: number): Promise<Session> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Session(s)));
      s.once('error', reject);
    });
  }

  /** Sends a command and waits for `replies` complete replies (5 s at most). */
  async send(args: Arg[], replies = 1): Promise<void> {
    this.sock.write(encodeCommand(args));
    await this.expect(replies);
  }

  async expect(replies: number): Promise<void> {
    for (let i = 0; i < replies; i++) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const end = replyEnd(this.buf, this.consumed);
        if (end >= 0) {
          this.consumed = end;
          break;
        }
        if (Date.now() > deadline) throw new Error(`no reply; transcript so far: ${JSON.stringify(this.text())}`);
        await sleep(5);
      }
    }
  }

  /** Waits (2 s at most) for the server to close the connection. */
  async untilClosed(): Promise<boolean> {
    for (let i = 0; i < 400 && !this.closed; i++) await sleep(5);
    return this.closed;
  }

  text(): string {
    return this.buf.latin1Slice(0, this.buf.length);
  }

  close(): void {
    this.sock.destroy();
  }
}

type Step = [Arg[], number];

/** Runs `steps` (command, replies expected) on a fresh connection; the transcript and whether it closed. */
async function transcript(port: number, steps: Step[], ends: boolean): Promise<{ text: string; closed: boolean }> {
  const s = await Session.connect(port);
  try {
    for (const [args, n] of steps) await s.send(args, n);
    const closed = ends ? await s.untilClosed() : s.closed;
    return { text: s.text(), closed };
  } finally {
    s.close();
  }
}

/** The same session on both servers: identical bytes, and the connection closed after a session. */
async function sameTranscripts(steps: Step[], setup: Arg[][] = [], ends = true): Promise<string> {
  const out: string[] = [];
  for (const [, port] of both()) {
    const admin = await RawConnection.connect(port);
    try {
      await admin.send('FLUSHALL');
      for (const c of setup) await admin.send(...c);
    } finally {
      admin.close();
    }
    const t = await transcript(port, steps, ends);
    out.push(JSON.stringify(t));
  }
  expect(out[0]).toBe(out[1]);
  return JSON.parse(out[0]).text as string;
}

const SCRIPT = [
  'local a = 1',
  'local t = {1,2,"x",{y=3},true}',
  "redis.call('set', KEYS[1], ARGV[1])",
  "redis.debug('hello', a, t)",
  "local v = redis.call('get', KEYS[1])",
  'redis.breakpoint()',
  'a = a + 1',
  'local function f(n)',
  '  return n * 2',
  'end',
  'a = f(a)',
  "redis.call('rpush', 'list', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)",
  'return {a, v}',
].join('\n');

describeDifferential('SCRIPT DEBUG (the Lua debugger)', () => {
  useBothServers((s) => (servers = s));

  it('SCRIPT DEBUG replies and errors, EVALSHA, pipelines and MULTI', async () => {
    const text = await sameTranscripts([
      [['SCRIPT', 'DEBUG', 'maybe'], 1],
      [['SCRIPT', 'DEBUG', 'no'], 1],
      [['script', 'debug', 'SYNC'], 1],
      [['EVALSHA', 'abc', '0'], 1],
      [['EVALSHA', '0123456789012345678901234567890123456789', '0'], 1],
      [['EVALSHA_RO', '0123456789012345678901234567890123456789', '0'], 1],
      [['SCRIPT', 'DEBUG', 'no'], 1],
      [['EVAL', 'return 7', '0'], 1],
      [['MULTI'], 1],
      [['SCRIPT', 'DEBUG', 'yes'], 1],
      [['EVAL', 'return 1', '0'], 1],
      [['EXEC'], 1],
      [['SCRIPT', 'DEBUG'], 1],
      [['SCRIPT', 'DEBUG', 'yes', 'no'], 1],
    ], [], false);
    expect(text).toContain('-ERR Please use EVAL instead of EVALSHA for debugging');
    expect(text).toContain('-ERR SCRIPT DEBUG must be called outside a pipeline');
    // A pipeline: SCRIPT DEBUG after a reply not yet written is refused.
    const out: string[] = [];
    for (const [, port] of both()) {
      const s = await Session.connect(port);
      try {
        (s as unknown as { sock: net.Socket }).sock.write(Buffer.concat([encodeCommand(['PING']), encodeCommand(['SCRIPT', 'DEBUG', 'sync'])]));
        await s.expect(2);
        out.push(s.text());
      } finally {
        s.close();
      }
    }
    expect(out[0]).toBe(out[1]);
    expect(out[0]).toBe('+PONG\r\n-ERR SCRIPT DEBUG must be called outside a pipeline\r\n');
  });

  it('SYNC: every debugger command, byte for byte, and the changes are kept', async () => {
    const text = await sameTranscripts([
      [['SCRIPT', 'DEBUG', 'SYNC'], 1],
      [['EVAL', SCRIPT, '1', 'k', 'v'], 1],
      [['help'], 1],
      [['s'], 1],
      [['next'], 1],
      [['print'], 1],
      [['p', 'a'], 1],
      [['p', 'KEYS'], 1],
      [['p', 'ARGV'], 1],
      [['p', 'nosuch'], 1],
      [['list'], 1],
      [['l', '2', '1'], 1],
      [['l', '0'], 1],
      [['whole'], 1],
      [['b', '7'], 1],
      [['break', '9', '100', 'x', '-3'], 1],
      [['b'], 1],
      [['b', '-9'], 1],
      [['t'], 1],
      [['e', 'a+1'], 1],
      [['eval', 'error("boom")'], 1],
      [['e', 'local', 'x', '='], 1],
      [['e', '{1,', '"two",', 'nil,', 'false}'], 1],
      [['r', 'get', 'k'], 1],
      [['redis', 'ping'], 1],
      [['r'], 1],
      [['m'], 1],
      [['maxlen', '10'], 1],
      [['maxlen', '0'], 1],
      [['m', '300'], 1],
      [['bogus'], 1],
      [['s'], 1],
      [['s'], 1],
      [['c'], 1],
      [['b', '9'], 1],
      [['c'], 1],
      [['t'], 1],
      [['print'], 1],
      [['b', '0'], 1],
      [['b', '12'], 1],
      [['c'], 1],
      [['s'], 1],
      [['c'], 2],
    ]);
    expect(text).toContain('+<redis> rpush list 1 2 3 4 5 6 7 8 ... (3 more)');
    expect(text).toContain('+In f:');
    expect(text).toContain('+* Stopped at 7, stop reason = redis.breakpoint() called');
    expect(text).toContain('+<debug> line 4: "hello", 1, {1; 2; "x"; {["y"]=3}; true}');
    expect(text).toMatch(/\+<endsession>\r\n\*2\r\n:4\r\n\$1\r\nv\r\n$/);
    for (const [, port] of both()) {
      const c = await RawConnection.connect(port);
      try {
        expect(await c.send('GET', 'k')).toEqual({ t: 'bulk', v: Buffer.from('v') });
        expect(await c.send('LLEN', 'list')).toEqual({ t: 'int', v: 12 });
      } finally {
        c.close();
      }
    }
  });

  it('maxlen trims long replies and values (with the hint once), abort ends the script', async () => {
    const script = "local big = string.rep('x', 300)\nredis.call('echo', big)\nredis.call('echo', big)\nreturn big";
    await sameTranscripts([
      [['SCRIPT', 'DEBUG', 'SYNC'], 1],
      [['EVAL', script, '0'], 1],
      [['s'], 1],
      [['p', 'big'], 1],
      [['s'], 1],
      [['m', '70'], 1],
      [['s'], 1],
      [['abort'], 2],
    ]);
  });

  it('a script past busy-reply-threshold stops with the timeout reason', async () => {
    const config: Arg[][] = [['CONFIG', 'SET', 'busy-reply-threshold', '100']];
    try {
      const text = await sameTranscripts([
        [['SCRIPT', 'DEBUG', 'SYNC'], 1],
        [['EVAL', 'local i = 0\nwhile true do i = i + 1 end', '0'], 1],
        [['c'], 1],
        [['abort'], 2],
      ], config);
      expect(text).toContain('+* Stopped at 2, stop reason = timeout reached, infinite loop?\r\n');
    } finally {
      for (const [, port] of both()) {
        const c = await RawConnection.connect(port);
        await c.send('CONFIG', 'SET', 'busy-reply-threshold', '5000');
        c.close();
      }
    }
  });

  it('script errors, numkeys errors and the client leaving mid-session', async () => {
    await sameTranscripts([
      [['SCRIPT', 'DEBUG', 'SYNC'], 1],
      [['EVAL', 'return 1', 'x'], 2],
    ]);
    await sameTranscripts([
      [['SCRIPT', 'DEBUG', 'SYNC'], 1],
      [['EVAL', 'local x = 1\nredis.call("nosuch")\nreturn x', '0'], 1],
      [['s'], 1],
      [['s'], 2],
    ]);
    await sameTranscripts([
      [['SCRIPT', 'DEBUG', 'SYNC'], 1],
      [['EVAL', 'local x = 1\nerror("mine")', '0'], 1],
      [['c'], 2],
    ]);
    // The client goes away at a stop: the script runs to its end without stopping again.
    for (const [, port] of both()) {
      const s = await Session.connect(port);
      await s.send(['SCRIPT', 'DEBUG', 'SYNC']);
      await s.send(['EVAL', "redis.call('set', 'gone', '1')\nredis.call('incr', 'gone')", '0']);
      s.close();
      const c = await RawConnection.connect(port);
      try {
        expect(await c.send('GET', 'gone')).toEqual({ t: 'bulk', v: Buffer.from('2') });
      } finally {
        c.close();
      }
    }
  });

  it('SYNC holds the server; YES forks: others are served and the changes are rolled back', async () => {
    for (const [name, port] of both()) {
      const admin = await RawConnection.connect(port);
      const other = await RawConnection.connect(port, { replyTimeoutMs: 10_000 });
      try {
        await admin.send('FLUSHALL');
        // SYNC: PING from another client waits for the session's end.
        const sync = await Session.connect(port);
        await sync.send(['SCRIPT', 'DEBUG', 'SYNC']);
        await sync.send(['EVAL', "redis.call('set', 'kept', '1')\nreturn 1", '0']);
        let answered = false;
        const ping = other.send('PING').then((r) => (answered = true, r));
        await sleep(300);
        expect(answered, name).toBe(false);
        await sync.send(['c'], 2);
        expect(await ping).toEqual({ t: 'simple', v: 'PONG' });
        expect(await sync.untilClosed(), name).toBe(true);
        sync.close();
        // YES: the session waits at line 1 while the server answers.
        const fork = await Session.connect(port);
        await fork.send(['SCRIPT', 'DEBUG', 'YES']);
        await fork.send(['EVAL', "redis.call('set', 'gone', '1')\nredis.call('set', 'kept', '2')\nreturn redis.call('get', 'kept')", '0']);
        expect(await other.send('PING')).toEqual({ t: 'simple', v: 'PONG' });
        await fork.send(['s'], 1);
        await fork.send(['s'], 1);
        expect(await other.send('EXISTS', 'gone')).toEqual({ t: 'int', v: 0 });
        await fork.send(['c'], 2);
        expect(fork.text()).toMatch(/\+<endsession>\r\n\$1\r\n2\r\n$/);
        expect(await fork.untilClosed(), name).toBe(true);
        fork.close();
        expect(await other.send('GET', 'kept')).toEqual({ t: 'bulk', v: Buffer.from('1') });
        expect(await other.send('EXISTS', 'gone')).toEqual({ t: 'int', v: 0 });
      } finally {
        admin.close();
        other.close();
      }
    }
    // The forked session's lines are in the log, as the child's (role C).
    for (let i = 0; i < 100 && !servers.keyfork.output().includes('Lua debugging session child exiting'); i++) await sleep(20);
    expect(servers.keyfork.output()).toMatch(/\d+:C .* # Redis forked for debugging eval/);
    expect(servers.keyfork.output()).toMatch(/\d+:C .* # Lua debugging session child exiting/);
    expect(servers.keyfork.output()).toMatch(/\d+:M .* # Redis synchronous debugging eval session started/);
  });

  it('an eval whose error is a table (Redis 7.0.15 crashes printing it) shows its text', async () => {
    const s = await Session.connect(servers.keyfork.port);
    try {
      await s.send(['SCRIPT', 'DEBUG', 'SYNC']);
      await s.send(['EVAL', 'return 1', '0']);
      await s.send(['e', 'redis.call("nosuch")']);
      await s.send(['c'], 2);
      expect(s.text()).toContain('*1\r\n+<error> ERR Unknown Redis command called from script\r\n*1\r\n+<endsession>\r\n:1\r\n');
    } finally {
      s.close();
    }
  });

  it('a forked session answers an error for a command that lives in TypeScript (keyfork)', async () => {
    const s = await Session.connect(servers.keyfork.port);
    try {
      await s.send(['SCRIPT', 'DEBUG', 'YES']);
      await s.send(['EVAL', "redis.call('set', 'x', '1')\nreturn redis.pcall('publish', 'c', 'm')", '0']);
      await s.send(['s']);
      await s.send(['s'], 2);
      const error = 'this command cannot run in a forked debugging session (SCRIPT DEBUG YES) of keyfork: use SCRIPT DEBUG SYNC';
      expect(s.text()).toContain(`+<redis> publish c m\r\n+<error> ${error}\r\n+<endsession>\r\n-ERR ${error}\r\n`);
      expect(await s.untilClosed()).toBe(true);
    } finally {
      s.close();
    }
  });

  it('redis.debug() and redis.breakpoint() outside a session', async () => {
    for (const [, port] of both()) {
      const c = await RawConnection.connect(port);
      try {
        expect(await c.send('EVAL', "redis.debug('x', 1)\nreturn redis.breakpoint()", '0')).toEqual({ t: 'bulk', v: null });
        expect(await c.send('EVAL', "return {redis.debug('x')}", '0')).toEqual({ t: 'array', v: [] });
      } finally {
        c.close();
      }
    }
  });

  it('SHUTDOWN kills the forked sessions', async () => {
    await withBothServers(async (pair) => {
      for (const server of [pair.keyfork, pair.redis]) {
        const fork = await Session.connect(server.port);
        await fork.send(['SCRIPT', 'DEBUG', 'YES']);
        await fork.send(['EVAL', 'return 1', '0']);
        const admin = await RawConnection.connect(server.port);
        admin.write(encodeCommand(['SHUTDOWN', 'NOSAVE']));
        expect(await fork.untilClosed()).toBe(true);
        fork.close();
        admin.close();
        for (let i = 0; i < 100 && !/Killing debugging session \d+/.test(server.output()); i++) await sleep(20);
        expect(server.output()).toMatch(/# Killing debugging session \d+/);
      }
    });
  });

  it('redis-cli --ldb and --ldb-sync-mode tell the same story', async () => {
    const cli = path.join(path.dirname(redisServerPath() as string), 'redis-cli');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldb-'));
    const file = path.join(dir, 'script.lua');
    fs.writeFileSync(file, SCRIPT + '\n');
    const input = 'help\ns\nn\nprint\np t\nl\nw\nb 9\nb\nt\ne a * 10\nr get k\nm 60\nbogus\nc\ns\ns\nc\nc\n';
    const run = (port: number, mode: string): Promise<string> =>
      new Promise((resolve) => {
        const child = execFile(cli, ['-p', String(port), mode, '--eval', file, 'k', ',', 'v'], { timeout: 20_000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
        child.stdin?.end(input);
      });
    try {
      for (const mode of ['--ldb-sync-mode', '--ldb']) {
        const [k, r] = [await run(servers.keyfork.port, mode), await run(servers.redis.port, mode)];
        expect(k).toBe(r);
        expect(k).toContain('redis.breakpoint() called');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
