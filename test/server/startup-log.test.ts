// The start-up face of Redis, against the real redis-server 7.0: the ASCII logo (always-show-logo
// yes, or a terminal on stdout with logfile "") with version, bits, mode, port and PID, else the
// "Running mode" line; and the lines Redis logs when the RDB file cannot be loaded (a checksum
// failure, a truncated file), which scripts and log watchers written for Redis look for.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection } from '../helpers/resp';
import { keyforkMainPath, redisServerPath, startRedis } from '../helpers/servers';

type Server = 'keyfork' | 'redis';

function commandLine(server: Server, args: string[]): [string, string[]] {
  return server === 'keyfork' ? [process.execPath, [keyforkMainPath(), ...args]] : [redisServerPath()!, args];
}

/** Runs a server for at most `seconds` (SIGINT then), returning its exit status and output. */
function runFor(server: Server, args: string[], seconds: number, cwd: string): { status: number | null; output: string } {
  const [binary, argv] = commandLine(server, args);
  const r = spawnSync('timeout', ['-s', 'INT', String(seconds), binary, ...argv], { encoding: 'utf8', cwd });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** The logo block of a start-up output, port and PID replaced, and the PID it showed. */
function logoOf(output: string): { logo: string; pidShown: number; pid: number } {
  const lines = output.replace(/\r/g, '').split('\n');
  const start = lines.findIndex((l) => l.includes('_._'));
  const end = lines.indexOf('', start);
  const block = lines.slice(start, end + 1);
  const pidShown = Number(/PID: (\d+)/.exec(block.join('\n'))?.[1]);
  const pid = Number(/pid=(\d+), just started/.exec(output)?.[1]);
  return { logo: block.join('\n').replace(/Port: \d+/, 'Port: N').replace(/PID: \d+/, 'PID: N'), pidShown, pid };
}

/**
 * The server's output from its start to its ready line, run for `seconds` in a network namespace
 * of its own (no arguments means port 6379: it must not meet another test's server), with
 * `stdin` as its standard input. Each line as `role mark message`; what differs by design goes:
 * keyfork's own version note, the memory overcommit warning (its jemalloc sentence), argv[0].
 */
function startupLines(server: Server, args: string[], stdin: string, cwd: string, seconds = 3): Promise<string[]> {
  const [binary, argv] = commandLine(server, args);
  const child = spawn('unshare', ['-n', 'timeout', '-s', 'INT', String(seconds), binary, ...argv], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(stdin);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => {
    child.on('close', () => {
      const lines = out.split('\n');
      const ready = lines.findIndex((l) => l.endsWith('Ready to accept connections'));
      resolve(
        lines
          .slice(0, ready + 1)
          .map((l) => l.replace(/^\d+:([A-Z]) \d+ \w+ \d+ [\d:.]+ /, '$1 '))
          .map((l) => l.replace(/ \(keyfork [^)]*\)$/, '').replace(/pid=\d+/, 'pid=N').replace(/use \S+ \/path/, 'use ARGV0 /path'))
          .filter((l) => !l.includes('WARNING Memory overcommit must be enabled')),
      );
    });
  });
}

let dir = '';

describeDifferential('start-up log', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-startup-log-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('always-show-logo yes prints Redis\'s logo with version, bits, mode, port and PID', async () => {
    const port = String(await freePort());
    const [k, r] = (['keyfork', 'redis'] as const).map((s) => runFor(s, ['--port', port, '--save', '', '--always-show-logo', 'yes'], 3, dir));
    const [kl, rl] = [logoOf(k.output), logoOf(r.output)];
    expect(rl.logo).toContain('Redis 7.0.15 (00000000/0) 64 bit');
    expect(kl.logo).toBe(rl.logo);
    expect(k.output).toContain(`Port: ${port}`);
    expect(kl.pidShown).toBe(kl.pid);
    expect(k.output).not.toContain('Running mode=');
  }, 30_000);

  it('without it, a pipe gets the "Running mode" line and a terminal gets the logo', async () => {
    const port = String(await freePort());
    const [k, r] = (['keyfork', 'redis'] as const).map((s) => runFor(s, ['--port', port, '--save', ''], 3, dir));
    for (const out of [k.output, r.output]) {
      expect(out).toContain(`Running mode=standalone, port=${port}.`);
      expect(out).not.toContain('_._');
    }
    // script(1) gives the server a terminal on stdout.
    const onTerminal = (s: Server) => {
      const [binary, argv] = commandLine(s, ['--port', port, '--save', '']);
      const inner = ['timeout', '-s', 'INT', '3', binary, ...argv].map((a) => `'${a}'`).join(' ');
      return spawnSync('script', ['-qfec', inner, '/dev/null'], { encoding: 'utf8', cwd: dir }).stdout;
    };
    const [kt, rt] = [onTerminal('keyfork'), onTerminal('redis')];
    expect(logoOf(rt).logo).toContain('Running in standalone mode');
    expect(logoOf(kt).logo).toBe(logoOf(rt).logo);
    expect(kt).not.toContain('Running mode=');
  }, 30_000);

  it('the lines up to the ready line, started with no arguments, arguments, a file, stdin (`-`) and their mixes', async () => {
    const port = String(await freePort());
    fs.writeFileSync(path.join(dir, 'a.conf'), `port ${port}\nsave ""\n`);
    const conf = path.join(dir, 'a.conf');
    const cases: [string[], string][] = [
      [[], ''],
      [['--port', port, '--save', ''], ''],
      [[conf], ''],
      [[conf, '--loglevel', 'verbose'], ''],
      [['-'], `port ${port}\nsave ""\n`],
      [[conf, '-'], 'loglevel notice\n'],
      [['--save', '', '-'], `port ${port}\n`],
    ];
    for (const [args, stdin] of cases) {
      const [k, r] = await Promise.all(
        (['keyfork', 'redis'] as const).map((s) => startupLines(s, args, stdin, fs.mkdtempSync(path.join(dir, `${s}-`)))),
      );
      expect(r.at(-1), `${args.join(' ')}: ${r.join('\n')}`).toMatch(/Ready to accept connections$/);
      expect(k, args.join(' ')).toEqual(r);
    }
  }, 60_000);

  it('a port already in use: Redis\'s two lines, exit 1', async () => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '0.0.0.0', resolve));
    try {
      const lines = (server: Server) => {
        const r = runFor(server, ['--port', String(port), '--save', ''], 10, dir);
        const said = r.output.split('\n').filter((l) => /Could not create server|Failed listening/.test(l)).map((l) => l.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ /, ''));
        return { status: r.status, said };
      };
      const redis = lines('redis');
      expect(redis).toEqual({ status: 1, said: [`# Warning: Could not create server TCP listening socket *:${port}: bind: Address already in use`, `# Failed listening on port ${port} (TCP), aborting.`] });
      expect(lines('keyfork')).toEqual(redis);
    } finally {
      holder.close();
    }
  });

  it('an RDB file that fails its checksum, ends early or holds a bad type: Redis\'s lines, redis-check-rdb\'s report, exit 1', async () => {
    // A real file from redis-server, then a copy with its checksum broken.
    const redis = await startRedis({ dir });
    const c = await RawConnection.connect(redis.port);
    await c.send('SET', 'foo', 'bar');
    await c.send('RPUSH', 'list', 'a', 'b');
    await c.send('SAVE');
    c.close();
    await redis.stop();
    const good = fs.readFileSync(path.join(dir, 'dump.rdb'));
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1] ^= 0xff;
    const truncated = good.subarray(0, good.indexOf('bar') - 1);
    const badType = Buffer.from(good);
    badType[good.indexOf('foo') - 2] = 200;
    const cutInChecksum = good.subarray(0, good.length - 4);
    const cases: [Buffer, string[]][] = [
      [badType, []],
      [cutInChecksum, []],
      [badCrc, ['Loading RDB produced by version 7.0.15', 'Wrong RDB checksum expected: (', 'Internal error in RDB reading offset 0, function at rdb.c:3225 -> RDB CRC error']],
      [truncated, ['Short read or OOM loading DB. Unrecoverable error, aborting now.', 'Internal error in RDB reading offset 0, function at rdb.c:3249 -> Unexpected EOF reading RDB file']],
    ];
    for (const [bytes, lines] of cases) {
      const port = String(await freePort());
      const results = (['keyfork', 'redis'] as const).map((s) => {
        const sub = fs.mkdtempSync(path.join(dir, s));
        fs.writeFileSync(path.join(sub, 'dump.rdb'), bytes);
        return runFor(s, ['--port', port, '--dir', sub, '--save', ''], 10, sub);
      });
      // Then redis-check-rdb's report on the file, the same lines.
      const report = (output: string) => output.split('\n').filter((l) => /^(\[offset \d+\] |--- RDB ERROR|\[additional info\] |\[info\] )/.test(l));
      expect(report(results[0].output), results[0].output).toEqual(report(results[1].output));
      expect(report(results[1].output)).toContain('--- RDB ERROR DETECTED ---');
      for (const { status, output } of results) {
        expect(status, output).toBe(1);
        // In this order, each as a log line's message.
        let at = 0;
        for (const line of lines) {
          const found = Math.max(output.indexOf(`# ${line}`, at), output.indexOf(`* ${line}`, at));
          expect(found, `${line}\n${output}`).toBeGreaterThan(at - 1);
          at = found;
        }
      }
    }
  }, 60_000);
});
