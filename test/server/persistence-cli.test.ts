// `keyfork bgsave --wait`: starts or joins a save, shows its progress, and exits with the
// save's outcome; against keyfork and, since it speaks plain RESP, against redis-server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderProgress } from '../../src/cli';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection } from '../helpers/resp';
import { REPO_ROOT, startKeyfork, startRedis } from '../helpers/servers';
import { checkRdb, dumpPath, infoSection, show, waitFor } from './persistence-support';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
const DEBUG = ['--enable-debug-command', 'yes'];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], onStdout?: (soFar: string) => void): Promise<CliRun> {
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

const PROGRESS_LINE = /\[[#.]{24}\]\s+\d+\.\d%  [\d,]+\/[\d,]+ keys/;

describe('keyfork bgsave', () => {
  it('--wait starts a save, draws progress lines and exits 0 when it succeeded', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('DEBUG', 'POPULATE', '2500');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000'); // about 3 s
      const run = await runCli(['bgsave', '--wait', '--port', String(server.port)]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe('Background saving started');
      const progress = lines.filter((l) => PROGRESS_LINE.test(l));
      expect(progress.length).toBeGreaterThanOrEqual(2); // one a second when not on a terminal
      expect(progress.some((l) => / MB  elapsed \d+:\d\d  ETA (\d+:\d\d|--:--)$/.test(l))).toBe(true);
      expect(run.stdout).toMatch(/\nBackground saving terminated with success in \d+\.\d s \(2,500 keys, \d+\.\d MB\)\n$/);
      expect(checkRdb(dumpPath(server)).ok).toBe(true);
      expect((await infoSection(c)).get('rdb_saves')).toBe('1');
      c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('--wait joins a save already running instead of failing', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('DEBUG', 'POPULATE', '1500');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
      expect(show(await c.send('BGSAVE'))).toBe('+Background saving started');
      const pid = (await infoSection(c)).get('keyfork_save_child_pid');
      const run = await runCli(['bgsave', '--wait', '--port', String(server.port)]);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n')[0]).toBe(`A background save is already running (pid ${pid}): waiting for it.`);
      expect((await infoSection(c)).get('rdb_saves')).toBe('1'); // joined, not a second save
      c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('--wait exits 1 with the reason when the save fails', async () => {
    const server = await startKeyfork({ args: ['--save', '', ...DEBUG] });
    try {
      const c = await RawConnection.connect(server.port);
      await c.send('DEBUG', 'POPULATE', '2000');
      await c.send('CONFIG', 'SET', 'rdb-key-save-delay', '1000');
      let killed = false;
      const run = await runCli(['bgsave', '--wait', '--port', String(server.port)], (out) => {
        if (killed || !out.includes('Background saving started')) return;
        killed = true;
        void infoSection(c).then((i) => process.kill(Number(i.get('keyfork_save_child_pid')), 'SIGKILL'));
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
      const bad = await runCli(['bgsave', '--port', String(server.port), '--password', 'nope']);
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
      const run = await runCli(['bgsave', '--port', String(server.port)]);
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
    expect((await runCli(['bgsave', '--port', 'x'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: keyfork bgsave \[--wait\]/);
  });

  it('renders the bar, counts, megabytes, elapsed time and ETA', () => {
    expect(renderProgress({ keysDone: 500_000, keysTotal: 1_000_000, bytes: 52_428_800, elapsedMs: 3_200, etaSec: 4 })).toBe(
      '[############............]  50.0%  500,000/1,000,000 keys  50.0 MB  elapsed 0:03  ETA 0:04',
    );
    expect(renderProgress({ keysDone: 0, keysTotal: 0, bytes: -1, elapsedMs: 3_725_000, etaSec: -1 })).toBe(
      '[........................]   0.0%  0/0 keys  elapsed 1:02:05  ETA --:--',
    );
  });
});

describeDifferential('keyfork bgsave against redis-server', () => {
  it('--wait works with Redis too (progress from current_save_keys_*)', async () => {
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
});
