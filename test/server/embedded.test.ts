// startServer(): keyfork from a test suite, driven by ioredis and node-redis, as a project would
// use it instead of a Docker Redis. By default each server is a child process (several per test
// process); `inProcess: true` runs one inside the test's own process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type InProcessServer, type RunningServer } from '../../src/index';
import { REPO_ROOT } from '../helpers/servers';
import { alive, waitFor } from './persistence-support';

describe('startServer (child processes, the default)', () => {
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    [a, b] = await Promise.all([startServer(), startServer({ config: { 'hash-max-listpack-entries': 7, save: '3600 1' } })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('runs several servers at once, each with its own port, directory and config', async () => {
    expect(a.port).not.toBe(b.port);
    expect(a.dir).not.toBe(b.dir);
    expect(a.pid).not.toBe(process.pid);
    expect(a.url).toBe(`redis://127.0.0.1:${a.port}`);
    const ra = new Redis(a.url);
    const rb = new Redis(b.url);
    try {
      await ra.set('where', 'a');
      await rb.set('where', 'b');
      expect(await ra.get('where')).toBe('a');
      expect(await rb.get('where')).toBe('b');
      expect(await ra.config('GET', 'hash-max-listpack-entries')).toEqual(['hash-max-listpack-entries', '512']);
      expect(await rb.config('GET', 'hash-max-listpack-entries')).toEqual(['hash-max-listpack-entries', '7']);
      expect(await rb.config('GET', 'dir')).toEqual(['dir', b.dir]);
      expect(await rb.bgsave()).toBe('Background saving started');
      await waitFor(() => fs.existsSync(path.join(b.dir, 'dump.rdb')), 'dump.rdb in its own dir');
      expect(fs.existsSync(path.join(a.dir, 'dump.rdb'))).toBe(false);
    } finally {
      ra.disconnect();
      rb.disconnect();
    }
  });

  it('serves node-redis (HELLO 3)', async () => {
    const client = createClient({ url: a.url, RESP: 3 });
    await client.connect();
    expect(await client.get('where')).toBe('a');
    await client.quit();
  });

  it('close() stops the process and removes its temporary directory', async () => {
    const c = await startServer();
    expect(alive(c.pid)).toBe(true);
    await c.close();
    expect(alive(c.pid)).toBe(false);
    expect(fs.existsSync(c.dir)).toBe(false);
    await c.close(); // twice is fine
  });

  it('a start-up failure rejects with what the server said', async () => {
    await expect(startServer({ config: { 'no-such-directive': 'x' } })).rejects.toThrow(/Bad directive or wrong number of arguments/);
  });
});

/** Runs a script that starts a server through the built package, then dies as told. */
function orphanScript(ending: 'exit' | 'hang'): Promise<{ pid: number; dir: string; parent: number }> {
  const index = path.join(REPO_ROOT, 'dist', 'src', 'index.js');
  const code = `
    const { startServer } = require(${JSON.stringify(index)});
    startServer().then((s) => {
      console.log(JSON.stringify({ pid: s.pid, dir: s.dir, parent: process.pid }));
      if (${JSON.stringify(ending)} === 'exit') setTimeout(() => process.exit(0), 50);
    });`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out));
    });
    proc.on('error', reject);
  });
}

describe('startServer cleans up after its process', () => {
  it('when the test process exits, its servers stop and their directories go', async () => {
    const s = await orphanScript('exit');
    await waitFor(() => !alive(s.pid), 'the server to stop', 15_000);
    await waitFor(() => !fs.existsSync(s.dir), 'the directory to go', 5_000);
  });

  it('when the test process is killed outright, its servers stop on their own', async () => {
    const s = await orphanScript('hang');
    expect(alive(s.pid)).toBe(true);
    process.kill(s.parent, 'SIGKILL');
    await waitFor(() => !alive(s.pid), 'the server to stop', 15_000);
  });
});

describe('startServer (inProcess)', () => {
  let running: InProcessServer;
  beforeAll(async () => {
    running = await startServer({ inProcess: true });
  });
  afterAll(async () => {
    await running?.close();
  });

  it('binds a free port in this process and serves ioredis', async () => {
    expect(running.port).toBeGreaterThan(0);
    expect(running.pid).toBe(process.pid);
    expect(running.server).toBeDefined();
    const client = new Redis({ port: running.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
    expect(await client.set('greeting', 'hello')).toBe('OK');
    expect(await client.get('greeting')).toBe('hello');
    client.disconnect();
  });

  it('refuses a second in-process server, while child servers still start', async () => {
    await expect(startServer({ inProcess: true })).rejects.toThrow(/already running/);
    const child = await startServer();
    await child.close();
  });
});
