// The start-up load seen from a client, as Redis 7.0 shows it: the server listens while it
// loads, answers LOADING to data commands, and INFO persistence carries the loading_* fields.
// key-load-delay (a pause per key, a Redis test knob) stretches a small load to a few seconds,
// and loading-process-events-interval-bytes 1024 lets clients in every kilobyte of the file.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection } from '../helpers/resp';
import { keyforkMainPath, redisServerPath, startKeyfork } from '../helpers/servers';
import { infoFields, infoSection, show, waitFor } from './persistence-support';

const KEYS = 2000;
/** 1.5 ms a key: about three seconds of loading for KEYS keys (room for a loaded machine). */
const LOAD_DELAY_US = 1500;
const LOADING_FIELDS = ['loading_start_time', 'loading_total_bytes', 'loading_rdb_used_mem', 'loading_loaded_bytes',
  'loading_loaded_perc', 'loading_eta_seconds'];

interface Loading {
  proc: ChildProcess;
  port: number;
  output: () => string;
}

/** Starts a server on `dir`'s dump.rdb without waiting for it to be ready. */
async function startLoading(kind: 'keyfork' | 'redis', dir: string): Promise<Loading> {
  const port = await freePort();
  const args = ['--port', String(port), '--dir', dir, '--save', '', '--key-load-delay', String(LOAD_DELAY_US),
    '--loading-process-events-interval-bytes', '1024'];
  const proc = kind === 'keyfork'
    ? spawn(process.execPath, [keyforkMainPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(redisServerPath() as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, port, output: () => out };
}

async function connectWhenListening(port: number): Promise<RawConnection> {
  return waitFor(async () => RawConnection.connect(port).catch(() => null), `a listener on port ${port}`, 10_000);
}

/** What a client sees while the server loads: INFO's loading fields and a data command's reply. */
async function observeLoading(kind: 'keyfork' | 'redis', dir: string) {
  const server = await startLoading(kind, dir);
  try {
    const c = await connectWhenListening(server.port);
    // One write: INFO and GET are answered from the same moment of the load.
    const [info, reply] = await c.pipeline([['INFO', 'persistence'], ['GET', 'key:1']]);
    const during = infoFields(info);
    const get = show(reply);
    await waitFor(async () => (await infoSection(c)).get('loading') === '0', 'the load to end', 30_000);
    const after = await infoSection(c);
    const dbsize = show(await c.send('DBSIZE'));
    c.close();
    return { during, get, after, dbsize, log: server.output() };
  } finally {
    server.proc.kill('SIGKILL');
  }
}

describe('start-up load', () => {
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-loading-'));
    const s = await startKeyfork({ dir, args: ['--enable-debug-command', 'yes', '--save', ''] });
    const c = await RawConnection.connect(s.port);
    await c.send('DEBUG', 'POPULATE', String(KEYS));
    await c.send('SAVE');
    c.close();
    await s.stop();
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens while loading: LOADING for data commands, loading_* fields in INFO, Redis\'s log lines', async () => {
    const seen = await observeLoading('keyfork', dir);
    expect(seen.during.get('loading')).toBe('1');
    expect([...seen.during.keys()].filter((k) => k.startsWith('loading_'))).toEqual(LOADING_FIELDS);
    expect(Number(seen.during.get('loading_total_bytes'))).toBe(fs.statSync(path.join(dir, 'dump.rdb')).size);
    const perc = Number(seen.during.get('loading_loaded_perc'));
    expect(perc).toBeGreaterThanOrEqual(0);
    expect(perc).toBeLessThan(100);
    expect(seen.get).toBe('-LOADING Redis is loading the dataset in memory');
    expect([...seen.after.keys()].some((k) => k.startsWith('loading_'))).toBe(false);
    expect(seen.after.get('rdb_last_load_keys_loaded')).toBe(String(KEYS));
    expect(seen.dbsize).toBe(`:${KEYS}`);
    const lines = ['Loading RDB produced by version', 'RDB age', 'RDB memory usage when created', 'Done loading RDB, keys loaded: 2000',
      'DB loaded from disk', 'Ready to accept connections'];
    const at = lines.map((l) => seen.log.indexOf(l));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  describeDifferential('as redis-server 7.0 shows it', () => {
    it('the same LOADING error and loading_* field names while the same file loads', async () => {
      const [k, r] = await Promise.all([observeLoading('keyfork', dir), observeLoading('redis', dir)]);
      const shape = (s: typeof k) => ({
        loading: s.during.get('loading'),
        fields: [...s.during.keys()].filter((f) => f.startsWith('loading_')),
        get: s.get,
        dbsize: s.dbsize,
      });
      expect(shape(r).loading).toBe('1');
      expect(shape(k)).toEqual(shape(r));
    });
  });
});
