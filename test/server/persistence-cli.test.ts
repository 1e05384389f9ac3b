// `keyfork bgsave` / `bgrewriteaof` / `status` as an operator runs them: real processes against
// a real keyfork and, since they speak plain RESP, against redis-server.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection } from '../helpers/resp';
import { REPO_ROOT, startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { checkRdb, dumpPath, infoSection, show, waitFor } from './persistence-support';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
const DEBUG = ['--enable-debug-command', 'yes'];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], onStdout?: (soFar: string) => void): Promise<CliRun> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} does not exist: run npm run build first`);
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.REDISCLI_AUTH;
    const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout);
    });
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** cli-progress's line when stdout is not a terminal: a line a second. */
const PROGRESS_LINE = /^[#.]{24} \d+% \| [\d,]+\/[\d,]+ keys/;
const RUNNING_SAVE = /A save started by BGSAVE from 127\.0\.0\.1:\d+ at \d\d:\d\d:\d\d is \d+% done(, about [\w ]+ left)?/;

/** A keyfork with `keys` keys whose BGSAVE takes about keys/1000 s. */
async function slowSaver(keys: number, args: string[] = []): Promise<{ server: RunningServer; c: RawConnection }> {
  const server = await startKeyfork({ args: ['--save', '', ...DEBUG, ...args] });
  const c = await RawConnection.connect(server.port);
  await c.send('DEBUG', 'POPULATE', String(keys));
  await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
  return { server, c };
}

describe('keyfork bgsave', () => {
  it('--wait starts a save, draws progress lines and exits 0 when it succeeded', async () => {
    const { server, c } = await slowSaver(2500);
    try {
      const run = await runCli(['bgsave', '--wait', '--port', String(server.port)]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe('Background saving started');
      const progress = lines.filter((l) => PROGRESS_LINE.test(l));
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.some((l) => / \| [\d.]+ KB \| elapsed \d+:\d\d \| ETA (\d+:\d\d|--:--)$/.test(l))).toBe(true);
      expect(run.stdout).toMatch(/\nBackground saving terminated with success in \d+\.\d s \(2,500 keys, [\d.]+ KB\)\n$/);
      expect(checkRdb(dumpPath(server)).ok).toBe(true);
      expect((await infoSection(c)).get('rdb_saves')).toBe('1');
      c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('--wait joins a save already running, saying what triggered it', async () => {
    const { server, c } = await slowSaver(1500);
    try {
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      const run = await runCli(['bgsave', '--wait', '--port', String(server.port)]);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^${RUNNING_SAVE.source}; waiting for it\\.$`));
      expect((await infoSection(c)).get('rdb_saves')).toBe('1'); // joined, not a second save
      c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('a refused BGSAVE explains itself; --schedule saves after the running one', async () => {
    const { server, c } = await slowSaver(1500);
    try {
      await c.send('CLIENT', 'SETNAME', 'nightly');
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      const refused = await runCli(['bgsave', '--port', String(server.port)]);
      expect(refused.code).toBe(1);
      const [error, why] = refused.stderr.split('\n');
      expect(error).toBe('(error) ERR Background save already in progress');
      expect(why).toMatch(/^A save started by BGSAVE from 127\.0\.0\.1:\d+ \(name nightly\) at \d\d:\d\d:\d\d is \d+% done/);
      expect(why).toMatch(/; use --wait to follow it or --schedule to run after it\.$/);
      const scheduled = await runCli(['bgsave', '--schedule', '--port', String(server.port)]);
      expect(scheduled.code).toBe(0);
      expect(scheduled.stdout).toMatch(/ \(name nightly\) at .*; a new save starts when it ends\.\n/);
      expect(scheduled.stdout).toMatch(/\nBackground saving started\n$/);
      const info = await infoSection(c);
      expect(info.get('rdb_saves')).toBe('2');
      expect(info.get('keyfork_child_trigger')).toMatch(/^BGSAVE from 127\.0\.0\.1:\d+$/);
      c.close();
    } finally {
      await server.stop();
    }
  }, 40_000);

  it('--wait exits 1 with the reason when the save fails', async () => {
    const { server, c } = await slowSaver(2000);
    try {
      let killed = false;
      const run = await runCli(['bgsave', '--wait', '--port', String(server.port)], (out) => {
        if (killed || !out.includes('Background saving started')) return;
        killed = true;
        void infoSection(c).then((i) => process.kill(Number(i.get('keyfork_child_pid')), 'SIGKILL'));
      });
      expect(killed).toBe(true);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('Background saving failed: the child was terminated by signal 9\n');
      c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('authenticates with --password and reports a wrong one', async () => {
    const server = await startKeyfork({ args: ['--save', '', '--requirepass', 's3cret'] });
    try {
      const ok = await runCli(['bgsave', '--wait', '--port', String(server.port), '--password', 's3cret']);
      expect(ok.code).toBe(0);
      const bad = await runCli(['bgsave', '-p', String(server.port), '-a', 'nope']);
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/WRONGPASS invalid username-password pair/);
      const none = await runCli(['bgsave', '--wait', '--port', String(server.port)]);
      expect(none.code).toBe(3);
      expect(none.stderr).toMatch(/NOAUTH Authentication required/);
    } finally {
      await server.stop();
    }
  });

  it('without --wait only starts the save; usage and connection errors have their own exit codes', async () => {
    const server = await startKeyfork({ args: ['--save', ''] });
    try {
      const run = await runCli(['bgsave', '-h', '127.0.0.1', '-p', String(server.port)]);
      expect(run).toMatchObject({ code: 0, stdout: 'Background saving started\n' });
      const c = await RawConnection.connect(server.port);
      await waitFor(async () => (await infoSection(c)).get('rdb_bgsave_in_progress') === '0', 'save end');
      c.close();
    } finally {
      await server.stop();
    }
    const port = await freePort();
    const refused = await runCli(['bgsave', '--wait', '--port', String(port)]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(`keyfork: could not connect to 127.0.0.1:${port}: connection refused\n`);
    const badPort = await runCli(['bgsave', '--port', 'x']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/invalid port: x/);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli([])).code).toBe(2);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: keyfork \[options\] \[command\]/);
    expect(help.stdout).toMatch(/status \[options\]/);
    expect(help.stdout).toMatch(/bgrewriteaof \[options\]/);
    const statusHelp = await runCli(['status', '--help']);
    expect(statusHelp.stdout).toMatch(/-h, --host <host>/);
    expect(statusHelp.stdout).toMatch(/-w, --watch/);
  });
});

describe('keyfork status', () => {
  it('shows the running child, its trigger and progress, the save rules and the disk (text and --json)', async () => {
    const { server, c } = await slowSaver(3000, ['--save', '3600 1 300 100']);
    try {
      await c.send('SET', 'a', '1');
      await c.send('CLIENT', 'SETNAME', 'backup');
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      await waitFor(async () => Number((await infoSection(c)).get('current_save_keys_processed')) > 100, 'progress');
      const json = await runCli(['status', '--json', '-p', String(server.port)]);
      expect(json.code).toBe(0);
      const m = JSON.parse(json.stdout);
      expect(m.server).toMatchObject({ software: 'keyfork', redisVersion: '7.0.15', keys: 3001 });
      expect(m.child).toMatchObject({ type: 'rdb', keysTotal: 3001 });
      expect(m.child.trigger).toMatch(/^BGSAVE from 127\.0\.0\.1:\d+ \(name backup\)$/);
      expect(m.child.pid).toBeGreaterThan(0);
      expect(m.child.bytesWritten).toBeGreaterThan(0);
      expect(m.saveRules).toEqual([
        { seconds: 3600, changes: 1, state: 'time', firesInSec: expect.any(Number), changesMissing: 0 },
        { seconds: 300, changes: 100, state: 'changes', firesInSec: null, changesMissing: 99 },
      ]);
      expect(m.disk.dir).toBe(server.dir);
      expect(m.disk.freeBytes).toBeGreaterThan(0);
      expect(m.needsKeyfork).toEqual([]);

      const text = await runCli(['status', '-p', String(server.port)]);
      expect(text.code).toBe(0);
      const lines = text.stdout.split('\n');
      expect(lines[0]).toMatch(/^keyfork [\d.]+ \(Redis 7\.0\.15\) 127\.0\.0\.1:\d+ · master · up \d+ s · 3,001 keys/);
      expect(text.stdout).toMatch(/Running +RDB save, pid \d+, forked in [\d.]+ ms\n +triggered by BGSAVE from 127\.0\.0\.1:\d+ \(name backup\)\n/);
      expect(text.stdout).toMatch(/\n +[#.]{24} +[\d.]+%  [\d,]+\/3,001 keys  [\d.]+ KB written\n/);
      expect(text.stdout).toMatch(/\n +save 3600 1 +fires in /);
      expect(text.stdout).toMatch(/\n +save 300 100 +needs 99 more changes\n/);
      expect(text.stdout).toMatch(/\nDisk +\S+: [\d.]+ [KMGT]B free/);
      expect(text.stdout).not.toMatch(/\x1b\[/); // no colours when not on a terminal
      c.close();
    } finally {
      await server.stop();
    }
  }, 40_000);

  it('bgrewriteaof: follows a rewrite to its end', async () => {
    const server = await startKeyfork({ args: ['--save', '', '--appendonly', 'yes', '--enable-debug-command', 'yes'] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('DEBUG', 'POPULATE', '2000');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
      const run = await runCli(['bgrewriteaof', '--wait', '-p', String(server.port)]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Background append only file rewriting started\n/);
      expect(run.stdout).toMatch(/Background AOF rewrite terminated with success in \d+\.\d s \(2,000 keys/);
      c.close();
    } finally {
      await server.stop();
    }
  });
});

describeDifferential('keyfork bgsave, bgrewriteaof and status against redis-server', () => {
  it('bgsave --wait works with Redis too (progress from current_save_keys_*)', async () => {
    const redis = await startRedis();
    try {
      const c = await RawConnection.connect(redis.port);
      await c.send('DEBUG', 'POPULATE', '2000');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
      const run = await runCli(['bgsave', '--wait', '--port', String(redis.port)]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Background saving started\n/);
      expect(run.stdout).toMatch(/Background saving terminated with success in \d+\.\d s \(2,000 keys\)\n$/);
      c.close();
    } finally {
      await redis.stop();
    }
  }, 30_000);

  it('bgrewriteaof --wait follows a Redis rewrite to its end', async () => {
    const redis = await startRedis();
    try {
      const c = await RawConnection.connect(redis.port);
      await c.send('DEBUG', 'POPULATE', '2000');
      const run = await runCli(['bgrewriteaof', '--wait', '--port', String(redis.port)]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Background append only file rewriting started\n/);
      expect(run.stdout).toMatch(/Background AOF rewrite terminated with success in \d+\.\d s/);
      expect((await infoSection(c)).get('aof_rewrites')).toBe('1');
      c.close();
    } finally {
      await redis.stop();
    }
  }, 30_000);

  it('connects over TLS (--tls --cacert), and refuses a certificate it cannot verify', async () => {
    const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem',
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: certs });
    expect(made.status, 'openssl is needed for this test (.ci/run installs it)').toBe(0);
    const tlsPort = await freePort();
    const redis = await startRedis({ args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', path.join(certs, 'cert.pem'),
      '--tls-key-file', path.join(certs, 'key.pem'), '--tls-ca-cert-file', path.join(certs, 'cert.pem'), '--tls-auth-clients', 'no'] });
    try {
      const ok = await runCli(['status', '--json', '-p', String(tlsPort), '--tls', '--cacert', path.join(certs, 'cert.pem')]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).server.software).toBe('redis');
      const unverified = await runCli(['status', '-p', String(tlsPort), '--tls']);
      expect(unverified.code).toBe(3);
      expect(unverified.stderr).toMatch(/self-signed certificate/);
      expect((await runCli(['status', '--json', '-p', String(tlsPort), '--tls', '--insecure'])).code).toBe(0);
    } finally {
      await redis.stop();
      fs.rmSync(certs, { recursive: true, force: true });
    }
  }, 30_000);

  it('status shows what Redis exposes and says which fields need keyfork', async () => {
    const redis = await startRedis();
    try {
      const c = await RawConnection.connect(redis.port);
      await c.send('DEBUG', 'POPULATE', '3000');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
      await c.send('BGSAVE');
      await waitFor(async () => Number((await infoSection(c)).get('current_save_keys_processed')) > 0, 'redis progress', 10_000);
      const json = JSON.parse((await runCli(['status', '--json', '-p', String(redis.port)])).stdout);
      expect(json.server.software).toBe('redis');
      expect(json.child).toMatchObject({ type: 'rdb', trigger: null, pid: null, bytesWritten: null, keysTotal: 3000 });
      expect(json.disk.freeBytes).toBe(null);
      expect(json.needsKeyfork).toContain('what triggered the child');
      const text = (await runCli(['status', '-p', String(redis.port)])).stdout;
      expect(text).toMatch(/^Redis 7\.0\.15 127\.0\.0\.1:\d+/);
      expect(text).toMatch(/triggered by \(trigger: needs keyfork\)/);
      expect(text).toMatch(/Redis does not expose what triggered the child, .*: those need keyfork\./);
      c.close();
    } finally {
      await redis.stop();
    }
  }, 30_000);
});
