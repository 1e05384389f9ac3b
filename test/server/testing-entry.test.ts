// keyfork/testing: the global setups for vitest and jest, used by two small projects under
// test/fixtures exactly as the README shows, each run by its own test runner.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/servers';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
/** The fixtures resolve `keyfork` as an installed project would: node_modules/keyfork. */
const LINK = path.join(FIXTURES, 'node_modules', 'keyfork');

function run(bin: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    delete env.REDIS_URL;
    for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k === 'TEST' || k === 'NODE_OPTIONS') delete env[k];
    const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'node_modules', bin), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, output }));
  });
}

/** The URL the fixture's test printed; the server behind it must be gone once the runner ended. */
async function urlGone(output: string): Promise<void> {
  const m = /KEYFORK_FIXTURE_URL=redis:\/\/127\.0\.0\.1:(\d+)/.exec(output);
  expect(m, output).not.toBeNull();
  const net = await import('node:net');
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(Number(m![1]), '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
  expect(refused).toBe(true);
}

describe('keyfork/testing', () => {
  beforeAll(() => {
    fs.mkdirSync(path.dirname(LINK), { recursive: true });
    fs.rmSync(LINK, { force: true });
    fs.symlinkSync(REPO_ROOT, LINK, 'dir');
  });
  afterAll(() => {
    fs.rmSync(path.dirname(LINK), { recursive: true, force: true });
  });

  it('vitest: globalSetup keyfork/testing/vitest gives the test files REDIS_URL', async () => {
    const r = await run('vitest/vitest.mjs', ['run', '--root', path.join(FIXTURES, 'testing-vitest')], path.join(FIXTURES, 'testing-vitest'));
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/1 passed/);
    await urlGone(r.output);
  }, 60_000);

  it('jest: globalSetup/globalTeardown keyfork/testing/jest-* give the test files REDIS_URL', async () => {
    const r = await run('jest/bin/jest.js', ['--rootDir', path.join(FIXTURES, 'testing-jest'), '--ci'], path.join(FIXTURES, 'testing-jest'));
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Tests:\s+1 passed/);
    await urlGone(r.output);
  }, 90_000);
});
