// Starting real server processes for tests: keyfork (the built dist/src/main.js) and, for
// differential tests, the real redis-server. Each runs on its own free port in its own temp dir,
// records its stdout/stderr, and is SIGKILLed when the test worker exits if a test forgot to stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const READY_LINE = 'Ready to accept connections';
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 15_000;
const PORT_ATTEMPTS = 3;

/** In `args`, replaced by a port free a moment ago, picked anew on each start attempt. */
export const FREE_PORT = '{free-port}';

export interface ServerOptions {
  /** Extra command-line arguments, after the ones the helper adds (so they can override them). */
  args?: string[];
  /** Config file passed as the first argument, as redis-server accepts it. */
  configFile?: string;
  /** Working/data directory; a fresh temp dir (removed when the worker exits) if omitted. */
  dir?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /**
   * Runs the server through this command (e.g. `unshare -m ...`): prefix[0] is executed with
   * the rest of `prefix`, then the server's own command line as further arguments.
   */
  prefix?: string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningServer {
  port: number;
  /** The ports that replaced each FREE_PORT of `args`, in order. */
  extraPorts: number[];
  pid: number;
  dir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (SIGTERM by default), SIGKILL after 15 s, and resolves with the exit status. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

/** The keyfork entry point; KEYFORK_MAIN overrides it (e.g. to test another build). */
export function keyforkMainPath(): string {
  return process.env.KEYFORK_MAIN ?? path.join(REPO_ROOT, 'dist', 'src', 'main.js');
}

export async function startKeyfork(opts: ServerOptions = {}): Promise<RunningServer> {
  const main = keyforkMainPath();
  if (!fs.existsSync(main)) throw new Error(`${main} does not exist: run npm run build first`);
  return startWithFreePort('keyfork', opts, (port, dir, args) => ({
    command: process.execPath,
    argv: [main, ...configArg(opts), '--port', String(port), '--dir', dir, ...args],
  }));
}

let redisPathCache: string | null | undefined;

/** Absolute path of redis-server (REDIS_SERVER overrides the PATH lookup), or null if not installed. */
export function redisServerPath(): string | null {
  if (redisPathCache !== undefined) return redisPathCache;
  const candidates = process.env.REDIS_SERVER
    ? [process.env.REDIS_SERVER]
    : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'redis-server'));
  redisPathCache = candidates.find(isExecutable) ?? null;
  return redisPathCache;
}

export function redisAvailable(): boolean {
  return redisServerPath() !== null;
}

export async function startRedis(opts: ServerOptions = {}): Promise<RunningServer> {
  const binary = redisServerPath();
  if (binary === null) throw new Error('redis-server is not installed');
  return startWithFreePort('redis-server', opts, (port, dir, args) => ({
    command: binary,
    argv: [...configArg(opts), '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--enable-debug-command', 'yes', ...args],
  }));
}

// ---------------------------------------------------------------------------------------------

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function configArg(opts: ServerOptions): string[] {
  return opts.configFile ? [path.resolve(opts.configFile)] : [];
}

type CommandLine = { command: string; argv: string[] };

/**
 * freePort() releases the port before the server binds it, so a parallel test can take it in
 * between; a start that fails with "Address already in use" is retried on a new port (and new
 * FREE_PORT ports).
 */
async function startWithFreePort(
  label: string,
  opts: ServerOptions,
  commandLine: (port: number, dir: string, args: string[]) => CommandLine,
): Promise<RunningServer> {
  const dir = opts.dir ?? makeTempDir(label);
  const template = opts.args ?? [];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const extraPorts: number[] = [];
    const args: string[] = [];
    for (const a of template) {
      if (a !== FREE_PORT) { args.push(a); continue; }
      extraPorts.push(await freePort());
      args.push(String(extraPorts[extraPorts.length - 1]));
    }
    try {
      const line = commandLine(port, dir, args);
      const cmd = opts.prefix ? { command: opts.prefix[0], argv: [...opts.prefix.slice(1), line.command, ...line.argv] } : line;
      return { ...(await spawnServer(label, port, dir, cmd, opts.env)), extraPorts };
    } catch (err) {
      const portTaken = err instanceof StartError && err.output.includes('Address already in use');
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

class StartError extends Error {
  constructor(message: string, readonly output: string) {
    super(message);
  }
}

function spawnServer(label: string, port: number, dir: string, cmd: CommandLine, env?: Record<string, string>): Promise<RunningServer> {
  const proc = spawn(cmd.command, cmd.argv, {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  registerCleanup();
  let output = '';
  let exitStatus: ExitStatus | null = null;
  const exited = new Promise<ExitStatus>((resolve) => {
    proc.on('exit', (code, signal) => {
      exitStatus = { code, signal };
      live.delete(proc);
      resolve(exitStatus);
    });
  });
  const cmdText = [cmd.command, ...cmd.argv].map((a) => (a === '' || /\s/.test(a) ? JSON.stringify(a) : a)).join(' ');

  return new Promise<RunningServer>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        proc.kill('SIGKILL');
        reject(err);
        return;
      }
      resolve({
        port,
        extraPorts: [],
        pid: proc.pid as number,
        dir,
        proc,
        output: () => output,
        stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
          if (exitStatus) return exitStatus;
          proc.kill(signal);
          const grace = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
          const status = await exited;
          clearTimeout(grace);
          return status;
        },
      });
    };
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!settled && output.includes(READY_LINE)) finish(null);
    };
    proc.stdout?.on('data', onOutput);
    proc.stderr?.on('data', onOutput);
    proc.on('error', (err) => finish(new StartError(`${label} could not be started (${cmdText}): ${err.message}`, output)));
    void exited.then((s) => finish(new StartError(
      `${label} exited (code ${s.code}, signal ${s.signal}) before "${READY_LINE}"\n$ ${cmdText}\n${output}`, output)));
    const timer = setTimeout(() => finish(new StartError(
      `${label} did not log "${READY_LINE}" within ${START_TIMEOUT_MS} ms\n$ ${cmdText}\n${output}`, output)), START_TIMEOUT_MS);
  });
}

// ---------------------------------------------------------------------------------------------
// Safety net: whatever a test leaves running dies with the worker.

const live = new Set<ChildProcess>();
const tempDirs: string[] = [];
let cleanupRegistered = false;

function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `keyfork-test-${label}-`));
  tempDirs.push(dir);
  return dir;
}

function killAllAndClean(): void {
  for (const proc of live) {
    try {
      proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

function registerCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.on('exit', killAllAndClean);
  // 'exit' does not run when the worker dies of a signal: clean up, then let the signal act as it
  // would have (our handler removed, so the default action or the other handlers apply).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      killAllAndClean();
      process.off(sig, handler);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}
