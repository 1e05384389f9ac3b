// Programmatic use: run a real keyfork from Node, e.g. in a test suite.
//
//   const { url, close } = await startServer({ config: { maxmemory: '100mb' } });
//
// By default each server is its own child process (keyfork-server with an IPC channel), so one
// test process can run several at once, each with its own port, data directory and config.
// They stop on close() and when this process exits, however it exits. `inProcess: true` runs
// the server inside this process instead (the keyspace lives in the native addon and is per
// process, so only one such server at a time).
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from './config';
import { directiveHooks } from './directive-hooks';
import { packageRoot } from './native-platform';
import type { Server } from './server';
import { bringUp, STARTED_BY_ENV, TEMP_DIR_ENV } from './start';

export interface StartOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** redis.conf directives by name, e.g. { save: '', maxmemory: '100mb' }. */
  config?: Record<string, string | number | boolean>;
  /** A redis.conf file read before `config`. */
  configFile?: string;
  /** Data directory (dump.rdb...); a fresh temporary one, removed on close, when omitted. */
  dir?: string;
  /** Run inside this process (one server per process) instead of a child process. */
  inProcess?: boolean;
}

export interface RunningServer {
  host: string;
  port: number;
  /** redis://127.0.0.1:<port>, for clients that take a URL (REDIS_URL). */
  url: string;
  dir: string;
  /** The server's process id (this process's own in-process). */
  pid: number;
  /** The Server object, in-process mode only. */
  server?: Server;
  /** What the server logged so far (child-process mode; in-process it logs to this process). */
  output(): string;
  /** Stops the server (no final save) and removes its temporary directory. */
  close(): Promise<void>;
}

export interface InProcessServer extends RunningServer {
  server: Server;
}

const HOST = '127.0.0.1';
/** Test servers keep quiet and do not save unless asked. */
const DEFAULTS: Record<string, string | number | boolean> = { bind: HOST, loglevel: 'warning', save: '' };
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;

let inProcessServer: Server | null = null;

function directiveArgs(config: Record<string, string | number | boolean>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    args.push(`--${name}`, typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value));
  }
  return args;
}

function serverArgs(opts: StartOptions, dir: string): string[] {
  const merged = { ...DEFAULTS, ...(opts.config ?? {}), port: opts.port ?? 0, dir };
  return [...(opts.configFile ? [path.resolve(opts.configFile)] : []), ...directiveArgs(merged)];
}

/** The data directory, and whether close() removes it. */
function dataDir(opts: StartOptions): { dir: string; temporary: boolean } {
  if (opts.dir) return { dir: path.resolve(opts.dir), temporary: false };
  return { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-')), temporary: true };
}

export function startServer(opts: StartOptions & { inProcess: true }): Promise<InProcessServer>;
export function startServer(opts?: StartOptions): Promise<RunningServer>;
export function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  return opts.inProcess ? startInProcess(opts) : startChild(opts);
}

async function startInProcess(opts: StartOptions): Promise<InProcessServer> {
  if (inProcessServer) throw new Error('keyfork: a server is already running in this process (the keyspace is per process)');
  const { dir, temporary } = dataDir(opts);
  const config = loadConfig(serverArgs(opts, dir), { loudUnsupported: true, ...directiveHooks() });
  const { server, port } = await bringUp(config, true);
  inProcessServer = server;
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    dir,
    pid: process.pid,
    server,
    output: () => '',
    close: async () => {
      await server.close();
      inProcessServer = null;
      if (temporary) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Child servers still running, stopped when this process exits. */
const children = new Set<{ proc: ChildProcess }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A server stops when its IPC channel closes (main.ts), which this process's end does however
  // it ends; on a normal exit, close the channels at once rather than when the OS gets to it.
  process.once('exit', () => {
    for (const c of children) if (c.proc.connected) c.proc.disconnect();
  });
}

/** keyfork-server's script: beside this file once compiled, dist/src/main.js when run from src (tsx, vitest). */
function mainScript(): string {
  const beside = path.join(__dirname, 'main.js');
  return fs.existsSync(beside) ? beside : path.join(packageRoot(), 'dist', 'src', 'main.js');
}

async function startChild(opts: StartOptions): Promise<RunningServer> {
  const { dir, temporary } = dataDir(opts);
  const proc = fork(mainScript(), serverArgs(opts, dir), {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, [STARTED_BY_ENV]: 'startServer', [TEMP_DIR_ENV]: temporary ? dir : '' },
    // The server must not inherit the test runner's flags (loaders, inspectors).
    execArgv: [],
  });
  let output = '';
  const record = (d: Buffer) => {
    output += d.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  proc.stdout?.on('data', record);
  proc.stderr?.on('data', record);
  const entry = { proc };
  children.add(entry);
  installExitHook();
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => children.delete(entry));

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`keyfork did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      proc.on('message', (msg: { keyforkReady?: number }) => {
        if (typeof msg?.keyforkReady === 'number') {
          clearTimeout(timer);
          resolve(msg.keyforkReady);
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`keyfork exited during start-up (${signal ?? `code ${code}`})`));
      });
    });
  } catch (err) {
    proc.kill('SIGKILL');
    await exited;
    if (temporary) fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}:\n${output}`);
  }

  let closing: Promise<void> | null = null;
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    dir,
    pid: proc.pid as number,
    output: () => output,
    close: () =>
      (closing ??= (async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          // Disconnecting is the stop request (main.ts): no final save, children stopped.
          if (proc.connected) proc.disconnect();
          else proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        if (temporary) fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

export type { Server };
