// Redis's crash report against redis-server 7.0.15: DEBUG SEGFAULT, a fatal signal sent by
// kill, DEBUG PANIC and DEBUG ASSERT leave the same report in the log (START line, the
// crash or Guru Meditation lines, the sections in Redis's order, the fast memory test, the END
// text) and the process ends as Redis's does (the signal's default action, abort(), or exit(1)
// under use-exit-on-panic); crash-log-enabled no and crash-memcheck-enabled no drop what they
// drop in Redis; a forked save child that crashes writes no report of its parent. DEBUG OOM is
// a panic of the addon's Rust code: keyfork-server reports it as Redis's serverPanic and dies,
// an embedded server answers the one command with an error and goes on.
import { expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { childrenOf } from '../helpers/proc';
import { startServer } from '../../src/index';

type Exit = { code: number | null; signal: NodeJS.Signals | null };

function exited(server: RunningServer): Promise<Exit> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
    return Promise.resolve({ code: server.proc.exitCode, signal: server.proc.signalCode });
  }
  return new Promise((resolve) => server.proc.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Log messages without the `pid:role date time level` prefix; raw lines stay as they are. */
const messages = (output: string): string[] =>
  output.split('\n').map((l) => l.replace(/^\d+:[A-Z] \d{2} \w{3} \d{4} [\d:.]+ [.\-*#] /, ''));

/** The report: from the START line to the end of the output. */
function report(output: string): string[] {
  const all = messages(output);
  const start = all.findIndex((l) => l.startsWith('=== REDIS BUG REPORT START'));
  return start < 0 ? [] : all.slice(start);
}

const sections = (lines: string[]): string[] => lines.filter((l) => /^------ .* ------$|^=== /.test(l));

/** The lines of one `------ NAME ------` section. */
function section(lines: string[], name: string): string[] {
  const at = lines.indexOf(`------ ${name} ------`);
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && (/^------ .* ------$/.test(l) || l.startsWith('=== REDIS BUG REPORT END')));
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

/** Starts both, sends `command` on one connection to each (the reply never comes), waits for both to die. */
async function crashBoth(args: string[], command: string[]): Promise<{ k: { exit: Exit; out: string }; r: { exit: Exit; out: string } }> {
  const base = ['--save', '', '--enable-debug-command', 'yes', ...args];
  const [k, r] = await Promise.all([startKeyfork({ args: base }), startRedis({ args: base })]);
  try {
    const crash = async (s: RunningServer) => {
      const c = await RawConnection.connect(s.port);
      await c.send('SET', 'foo', 'bar');
      c.write(`*${command.length}\r\n${command.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`);
      const exit = await exited(s);
      c.close();
      return { exit, out: s.output() };
    };
    const [kr, rr] = await Promise.all([crash(k), crash(r)]);
    return { k: kr, r: rr };
  } finally {
    await Promise.all([k.stop('SIGKILL'), r.stop('SIGKILL')]);
  }
}

const END = [
  '=== REDIS BUG REPORT END. Make sure to include from START to END. ===',
  '',
  '       Please report the crash by opening an issue on github:',
  '',
  '           http://github.com/redis/redis/issues',
  '',
  "  If a Redis module was involved, please open in the module's repo instead.",
  '',
  '  Suspect RAM error? Use redis-server --test-memory to verify it.',
  '',
  '  Some other issues could be detected by redis-server --check-system',
];

describeDifferential("Redis's crash report", () => {
  it('DEBUG SEGFAULT: the same report, sections and end, then death by SIGSEGV', async () => {
    const { k, r } = await crashBoth([], ['DEBUG', 'SEGFAULT']);
    expect(r.exit.signal).toBe('SIGSEGV');
    expect(k.exit.signal, k.out.slice(-3000)).toBe('SIGSEGV');
    const kr = report(k.out);
    const rr = report(r.out);
    expect(sections(kr)).toEqual(sections(rr));
    for (const lines of [kr, rr]) {
      expect(lines[1]).toBe('Redis 7.0.15 crashed by signal: 11, si_code: 2');
      expect(lines[2]).toMatch(/^Accessing address: 0x[0-9a-f]+$/);
      expect(lines[3]).toMatch(/^Crashed running the instruction at: 0x[0-9a-f]+$/);
      expect(lines.slice(lines.indexOf('EIP:') + 1, lines.indexOf('EIP:') + 2)[0]).toMatch(/\[0x[0-9a-f]+\]$/);
      expect(lines.filter((l) => /^(RAX|RCX|RDI|RBP|R8 |R10|R12|R14|RIP):[0-9a-f]{16} /.test(l))).toHaveLength(9);
      expect(lines.filter((l) => /^\([0-9a-f]{16}\) -> [0-9a-f]{16}$/.test(l))).toHaveLength(16);
      expect(lines.join('\n')).toContain("argv[0]: '\"DEBUG\"'\nargv[1]: '\"SEGFAULT\"'");
      expect(section(lines, 'FAST MEMORY TEST').at(-2)).toBe(
        'Fast memory test PASSED, however your memory can still be broken. Please run a memory test for several hours if possible.',
      );
      expect(lines.slice(lines.indexOf(END[0])).slice(0, END.length)).toEqual(END);
    }
    // The same INFO sections, client list shape and debug configs.
    const titles = (lines: string[]) => section(lines, 'INFO OUTPUT').filter((l) => l.startsWith('# '));
    expect(titles(kr)).toEqual(titles(rr));
    expect(section(kr, 'INFO OUTPUT')).toContain('redis_version:7.0.15\r');
    expect(section(kr, 'CLIENT LIST OUTPUT').filter((l) => l.startsWith('id='))).toHaveLength(1);
    expect(new Set(section(kr, 'CONFIG DEBUG OUTPUT'))).toEqual(new Set(section(rr, 'CONFIG DEBUG OUTPUT')));
  }, 90_000);

  it('a fatal signal sent by kill names the sender; crash-memcheck-enabled no drops the memory test', async () => {
    const base = ['--save', '', '--crash-memcheck-enabled', 'no'];
    const [k, r] = await Promise.all([startKeyfork({ args: base }), startRedis({ args: base })]);
    try {
      const outs = await Promise.all([k, r].map(async (s) => {
        process.kill(s.pid, 'SIGBUS');
        const exit = await exited(s);
        return { exit, lines: report(s.output()) };
      }));
      const [ko, ro] = outs;
      expect(ro.exit.signal).toBe('SIGBUS');
      expect(ko.exit.signal).toBe('SIGBUS');
      expect(sections(ko.lines)).toEqual(sections(ro.lines));
      expect(sections(ro.lines)).not.toContain('------ FAST MEMORY TEST ------');
      // si_addr shares its bytes with si_pid and si_uid: both print the sender's pid as an address.
      expect(ko.lines.slice(1, 4)).toEqual(ro.lines.slice(1, 4));
      expect(ro.lines.slice(1, 4)).toEqual([
        'Redis 7.0.15 crashed by signal: 7, si_code: 0',
        `Accessing address: 0x${process.pid.toString(16)}`,
        `Killed by PID: ${process.pid}, UID: ${process.getuid?.()}`,
      ]);
    } finally {
      await Promise.all([k.stop('SIGKILL'), r.stop('SIGKILL')]);
    }
  }, 60_000);

  it('crash-log-enabled no (also set by CONFIG SET): no report, the default action of the signal', async () => {
    const { k, r } = await crashBoth(['--crash-log-enabled', 'no'], ['DEBUG', 'SEGFAULT']);
    expect(r.exit.signal).toBe('SIGSEGV');
    expect(k.exit.signal).toBe('SIGSEGV');
    expect(report(r.out)).toEqual([]);
    expect(report(k.out)).toEqual([]);
    const base = ['--save', '', '--enable-debug-command', 'yes'];
    const server = await startKeyfork({ args: base });
    try {
      const c = await RawConnection.connect(server.port);
      expect(await c.send('CONFIG', 'SET', 'crash-log-enabled', 'no')).toEqual({ t: 'simple', v: 'OK' });
      c.write('*2\r\n$5\r\nDEBUG\r\n$8\r\nSEGFAULT\r\n');
      expect((await exited(server)).signal).toBe('SIGSEGV');
      expect(report(server.output())).toEqual([]);
      c.close();
    } finally {
      await server.stop('SIGKILL');
    }
  }, 90_000);

  it('DEBUG PANIC: Guru Meditation, the stack trace and the report, then abort()', async () => {
    const { k, r } = await crashBoth(['--crash-memcheck-enabled', 'no'], ['DEBUG', 'PANIC']);
    expect(r.exit.signal).toBe('SIGABRT');
    expect(k.exit.signal).toBe('SIGABRT');
    const kr = report(k.out);
    const rr = report(r.out);
    expect(sections(kr)).toEqual(sections(rr));
    for (const lines of [kr, rr]) {
      expect(lines.slice(1, 3)).toEqual(['------------------------------------------------', '!!! Software Failure. Press left mouse button to continue']);
      expect(lines[3]).toMatch(/^Guru Meditation: DEBUG PANIC called at Unix time \d+ #\S+$/);
      expect(lines.slice(4, 7)).toEqual(['', '------ STACK TRACE ------', '']);
      expect(lines[7]).toBe('Backtrace:');
      expect(lines.slice(lines.indexOf(END[0])).slice(0, END.length)).toEqual(END);
    }
  }, 90_000);

  it('DEBUG ASSERT with crash-log-enabled no and use-exit-on-panic yes: the assertion context only, then exit(1)', async () => {
    const { k, r } = await crashBoth(['--crash-log-enabled', 'no', '--use-exit-on-panic', 'yes'], ['DEBUG', 'ASSERT']);
    expect(r.exit.code).toBe(1);
    expect(k.exit.code).toBe(1);
    const at = (lines: string[]) => lines.map((l) => l.replace(/^==> \S+ /, '==> <where> ').replace(/^client->conn = fd=\d+$/, 'client->conn = fd=N'));
    expect(at(report(k.out))).toEqual(at(report(r.out)));
    expect(report(k.out)).toContain('=== ASSERTION FAILED OBJECT CONTEXT ===');
  }, 90_000);

  it('DEBUG OOM, a panic of the addon\'s code: the out-of-memory line, Guru Meditation with the panic\'s message and place, the report, then abort()', async () => {
    const { k, r } = await crashBoth(['--crash-memcheck-enabled', 'no'], ['DEBUG', 'OOM']);
    expect(r.exit.signal).toBe('SIGABRT');
    expect(k.exit.signal, k.out.slice(-3000)).toBe('SIGABRT');
    const size = '9223372036854775807';
    for (const out of [k.out, r.out]) {
      const all = messages(out);
      const start = all.indexOf('=== REDIS BUG REPORT START: Cut & paste starting from here ===');
      expect(all[start - 3]).toBe(`Out Of Memory allocating ${size} bytes!`);
    }
    const kr = report(k.out);
    const rr = report(r.out);
    expect(sections(kr)).toEqual(sections(rr));
    const guru = `Guru Meditation: Redis aborting for OUT OF MEMORY. Allocating ${size} bytes! #`;
    expect(rr[3]).toMatch(/ #server\.c:\d+$/);
    expect(kr[3]).toMatch(/ #native\/src\/[\w/]+\.rs:\d+$/);
    for (const lines of [kr, rr]) {
      expect(lines.slice(1, 3)).toEqual(['------------------------------------------------', '!!! Software Failure. Press left mouse button to continue']);
      expect(lines[3].startsWith(guru)).toBe(true);
      expect(lines.slice(4, 8)).toEqual(['', '------ STACK TRACE ------', '', 'Backtrace:']);
      expect(section(lines, 'CURRENT CLIENT INFO').slice(1)).toEqual(["argv[0]: '\"DEBUG\"'", "argv[1]: '\"OOM\"'", '']);
      expect(lines.slice(lines.indexOf(END[0])).slice(0, END.length)).toEqual(END);
    }
    // The trace starts where the panic happened, inside the addon, not in the report's code.
    const trace = section(kr, 'STACK TRACE').filter((l) => l.includes('['));
    expect(trace[0]).toContain('keyfork.linux-x64-gnu.node');
    expect(section(kr, 'CLIENT LIST OUTPUT').filter((l) => l.startsWith('id='))).toHaveLength(1);
    expect(new Set(section(kr, 'CONFIG DEBUG OUTPUT'))).toEqual(new Set(section(rr, 'CONFIG DEBUG OUTPUT')));
  }, 90_000);

  it('DEBUG OOM with crash-log-enabled no and use-exit-on-panic yes: the head and END only, then exit(1)', async () => {
    const { k, r } = await crashBoth(['--crash-log-enabled', 'no', '--use-exit-on-panic', 'yes'], ['DEBUG', 'OOM']);
    expect(r.exit.code).toBe(1);
    expect(k.exit.code, k.out.slice(-3000)).toBe(1);
    const at = (lines: string[]) => lines.map((l) => l.replace(/ #\S+$/, ' #<where>'));
    expect(at(report(k.out))).toEqual(at(report(r.out)));
    expect(report(k.out)).not.toContain('------ STACK TRACE ------');
  }, 90_000);

  it('an embedded server (startServer inProcess) leaves its host alive: DEBUG OOM is an error reply', async () => {
    const running = await startServer({ inProcess: true, config: { 'enable-debug-command': 'yes' } });
    try {
      const c = await RawConnection.connect(running.port);
      expect(await c.send('DEBUG', 'OOM')).toEqual({
        t: 'error',
        v: 'ERR internal error: keyfork native panic: Redis aborting for OUT OF MEMORY. Allocating 9223372036854775807 bytes!',
      });
      await c.send('SET', 'after', 'panic');
      expect(await c.send('GET', 'after')).toEqual({ t: 'bulk', v: Buffer.from('panic') });
      c.close();
    } finally {
      await running.close();
    }
  }, 60_000);

  it('a forked save child that dies by SIGSEGV writes no report; the parent goes on', async () => {
    const server = await startKeyfork({ args: ['--save', '', '--enable-debug-command', 'yes', '--rdb-key-save-delay', '100000'] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('DEBUG', 'POPULATE', '100');
      expect(await c.send('BGSAVE')).toEqual({ t: 'simple', v: 'Background saving started' });
      let child: number | undefined;
      for (let i = 0; i < 100 && child === undefined; i++) {
        child = childrenOf(server.pid)[0];
        if (child === undefined) await new Promise((res) => setTimeout(res, 50));
      }
      expect(child).toBeDefined();
      process.kill(child!, 'SIGSEGV');
      let log = '';
      for (let i = 0; i < 100 && !log.includes('terminated by signal'); i++) {
        await new Promise((res) => setTimeout(res, 50));
        log = server.output();
      }
      expect(log).toContain('Background saving terminated by signal 11');
      expect(log).not.toContain('REDIS BUG REPORT');
      expect(await c.send('PING')).toEqual({ t: 'simple', v: 'PONG' });
      c.close();
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);
});
