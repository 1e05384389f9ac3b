// Starting keyfork and redis-server the same way for every benchmark: loopback, a free port, a
// fresh temp dir, a log file (timings are read from its timestamps), no save rules, no AOF.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type ParsedFlags, parseCountList } from './args';
import { trackChild, trackTempDir, removeTempDir } from './cleanup';
import { REPO_ROOT, fromRepo, which } from './paths';
import { note } from './progress';
import { RespClient } from './resp';

export type ServerKind = 'keyfork' | 'redis';

export const LABEL: Record<ServerKind, string> = { keyfork: 'keyfork', redis: 'redis-server' };

export interface Toolchain {
  keyforkMain: string;
  redisServer: string | null;
  redisBenchmark: string | null;
  taskset: string | null;
  /** Notes for the report about what was skipped and why. */
  notes: string[];
}

const INSTALL_HINT = 'apt-get install redis-server redis-tools';

/** Checks what is installed and built; prints one clear line per missing piece. */
export function checkPrerequisites(flags: ParsedFlags, needs: { benchmarkTool?: boolean } = {}): Toolchain {
  const keyforkMain = fromRepo(String(flags['keyfork-main']));
  if (!fs.existsSync(keyforkMain)) {
    throw new Error(`keyfork is not built (${keyforkMain} does not exist): run npm run build`);
  }
  const notes: string[] = [];
  let redisServer: string | null = null;
  if (flags['no-redis']) notes.push('redis-server not run (--no-redis): comparison columns skipped');
  else {
    redisServer = flags['redis-server'] ? String(flags['redis-server']) : which('redis-server');
    if (!redisServer || !fs.existsSync(redisServer)) {
      redisServer = null;
      notes.push(`redis-server not found: comparison columns skipped; ${INSTALL_HINT}`);
    } else {
      const version = redisVersion(redisServer);
      if (version !== null && !version.startsWith('7.0.')) notes.push(`redis-server is ${version}, not 7.0: keyfork targets 7.0's behaviour, ratios may differ`);
    }
  }
  const redisBenchmark = which('redis-benchmark');
  if (needs.benchmarkTool && !redisBenchmark) {
    notes.push(`redis-benchmark not found: command throughput cannot be measured; ${INSTALL_HINT}`);
  }
  const taskset = flags['no-pin'] ? null : which('taskset');
  for (const n of notes) note(n);
  return { keyforkMain, redisServer, redisBenchmark, taskset, notes };
}

/**
 * What a side-by-side redis-benchmark script reads from its flags (pipelines, clients, rounds,
 * requests, pipelined-requests): the tools, the runs, and the pinning (servers on the last
 * core, redis-benchmark on core 0 behind `loadPrefix`) when there are two cores and taskset.
 */
export function sideBySidePlan(flags: ParsedFlags) {
  const tools = checkPrerequisites(flags, { benchmarkTool: true });
  const redisBenchmark = tools.redisBenchmark;
  if (!redisBenchmark) throw new Error('redis-benchmark not found: apt-get install redis-tools');
  const cores = os.cpus().length;
  const pin = tools.taskset !== null && cores >= 2;
  return {
    tools,
    redisBenchmark,
    pipelines: parseCountList('pipelines', String(flags.pipelines)),
    clients: Number(flags.clients),
    rounds: Math.max(1, Number(flags.rounds)),
    requestsFor: (pipeline: number) => Number(pipeline > 1 ? flags['pipelined-requests'] : flags.requests),
    serverCpu: pin ? cores - 1 : null,
    loadPrefix: pin ? [tools.taskset as string, '-c', '0'] : [],
    kinds: serverKinds(tools),
  };
}

function redisVersion(binary: string): string | null {
  try {
    return /v=(\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? null;
  } catch {
    return null;
  }
}

export function serverKinds(tools: Toolchain): ServerKind[] {
  return tools.redisServer ? ['keyfork', 'redis'] : ['keyfork'];
}

/** Alternates the order between rounds so drift on a shared machine hits both servers alike. */
export function alternate<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

export interface StartOptions {
  /** Reuse this directory (e.g. one holding an RDB to load); otherwise a fresh temp dir. */
  dir?: string;
  /** Pin the server to this CPU with taskset (the snapshot child inherits it). */
  cpu?: number | null;
  /** More directives, after the defaults (so they override them: `--appendonly yes`). */
  args?: string[];
}

export interface Server {
  kind: ServerKind;
  pid: number;
  port: number;
  dir: string;
  logFile: string;
  /** The exact command line, for the report. */
  commandLine: string;
  /** Milliseconds from spawn() to "Ready to accept connections" appearing in the log. */
  readyMs: number;
  /** Log text written during this start-up, up to the ready line. */
  startupLog: string;
  client: RespClient;
  stop(): Promise<void>;
}

const READY = 'Ready to accept connections';

export function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `keyfork-bench-${label}-`));
  trackTempDir(dir);
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function quote(arg: string): string {
  return arg === '' ? "''" : /[\s'"$]/.test(arg) ? `'${arg.replace(/'/g, `'\\''`)}'` : arg;
}

export function shellLine(argv: string[]): string {
  return argv.map(quote).join(' ');
}

export async function startServer(tools: Toolchain, kind: ServerKind, opts: StartOptions = {}): Promise<Server> {
  const dir = opts.dir ?? makeTempDir(kind);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnOnce(tools, kind, dir, port, opts, opts.dir === undefined);
    } catch (err) {
      if (!String((err as Error).message).includes('Address already in use') || attempt >= 3) throw err;
    }
  }
}

async function spawnOnce(tools: Toolchain, kind: ServerKind, dir: string, port: number, opts: StartOptions, ownsDir: boolean): Promise<Server> {
  const logFile = path.join(dir, 'server.log');
  const common = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', logFile,
    '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--enable-debug-command', 'yes',
    ...(opts.args ?? [])];
  let argv: string[];
  if (kind === 'keyfork') argv = [process.execPath, tools.keyforkMain, ...common];
  else {
    if (!tools.redisServer) throw new Error('redis-server is not available');
    argv = [tools.redisServer, ...common];
  }
  if (opts.cpu !== undefined && opts.cpu !== null && tools.taskset) argv = [tools.taskset, '-c', String(opts.cpu), ...argv];

  const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let output = '';
  const keep = (c: Buffer) => {
    output = (output + c.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exited = `exited with code ${code} signal ${signal}`;
    resolve();
  }));

  // Wait for the ready line in the log: the time to it is the start-up (and RDB load) time.
  const deadline = Date.now() + 10 * 60_000;
  let log = '';
  let readyMs = 0;
  for (;;) {
    log = readFrom(logFile, logStart);
    if (log.includes(READY)) {
      readyMs = performance.now() - t0;
      break;
    }
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill('SIGKILL');
      throw new Error(`${LABEL[kind]} did not start (${exited ?? 'timed out'})\n$ ${shellLine(argv)}\n${output}${log}`);
    }
    await sleep(5);
  }
  const client = await RespClient.connect(port);
  // Shown in the report: relative to the repo, with the per-run port and directory as variables.
  const commandLine = shellLine(argv).replaceAll(dir, '$DIR').replace(` ${port} `, ' $PORT ')
    .replace(process.execPath, 'node').replaceAll(`${REPO_ROOT}/`, '');
  return {
    kind, pid: child.pid as number, port, dir, logFile, commandLine, readyMs, startupLog: log, client,
    stop: async () => {
      client.close();
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exitPromise;
        clearTimeout(killer);
      }
      if (ownsDir) removeTempDir(dir);
    },
  };
}

export function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return '';
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export function logSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
