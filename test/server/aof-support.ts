// Helpers for the AOF tests: the appendonlydir of a server, its manifest and files, starting a
// server that is expected to refuse to start, and the RESP commands of an AOF file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keyforkMainPath, redisServerPath, type RunningServer } from '../helpers/servers';

export const AOF_DIR = 'appendonlydir';
export const MANIFEST = 'appendonly.aof.manifest';

export function aofDir(serverOrDir: RunningServer | string): string {
  return path.join(typeof serverOrDir === 'string' ? serverOrDir : serverOrDir.dir, AOF_DIR);
}

export function manifestText(serverOrDir: RunningServer | string): string {
  return fs.readFileSync(path.join(aofDir(serverOrDir), MANIFEST), 'latin1');
}

/** The directory's files, sorted (the manifest included). */
export function aofFiles(serverOrDir: RunningServer | string): string[] {
  return fs.readdirSync(aofDir(serverOrDir)).sort();
}

/** The incremental file being appended to (the manifest's last `type i` line). */
export function incrFile(serverOrDir: RunningServer | string): string {
  const incr = manifestText(serverOrDir).split('\n').filter((l) => l.endsWith(' type i')).pop();
  if (!incr) throw new Error('no incr file in the manifest');
  return path.join(aofDir(serverOrDir), incr.split(' ')[1]);
}

/** RESP commands of an AOF file (no RDB part) as words. */
export function parseAofCommands(bytes: Buffer): string[][] {
  const text = bytes.toString('latin1');
  const out: string[][] = [];
  let at = 0;
  while (at < text.length) {
    if (text[at] === '#') {
      at = text.indexOf('\n', at) + 1;
      continue;
    }
    const eol = text.indexOf('\r\n', at);
    if (text[at] !== '*' || eol < 0) throw new Error(`not a command at ${at}: ${JSON.stringify(text.slice(at, at + 40))}`);
    const argc = Number(text.slice(at + 1, eol));
    at = eol + 2;
    const argv: string[] = [];
    for (let i = 0; i < argc; i++) {
      const lenEnd = text.indexOf('\r\n', at);
      const len = Number(text.slice(at + 1, lenEnd));
      argv.push(text.slice(lenEnd + 2, lenEnd + 2 + len));
      at = lenEnd + 2 + len + 2;
    }
    out.push(argv);
  }
  return out;
}

/** `*N $len arg ...` for hand-written AOF files. */
export function resp(...argv: string[]): string {
  return `*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** A temp directory of this test file (removed when the worker exits). */
const temps: string[] = [];
process.once('exit', () => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `keyfork-aof-${label}-`));
  temps.push(dir);
  return dir;
}

/** Copies a directory tree (a prepared data dir, one copy per server). */
export function copyDir(from: string): string {
  const to = tempDir('copy');
  fs.cpSync(from, to, { recursive: true });
  return to;
}

export interface Refused {
  code: number | null;
  output: string;
}

/**
 * Starts a server on `dir` that is expected to exit at start-up (a bad AOF): its exit code
 * and output. A server that starts instead is killed after `timeoutMs` (code null).
 */
export function startupOutcome(which: 'keyfork' | 'redis', dir: string, args: string[], timeoutMs = 10_000): Refused {
  const common = ['--dir', dir, '--save', '', '--appendonly', 'yes', ...args];
  // keyfork takes port 0 (any free port); Redis insists on a listener: a unix socket, no TCP.
  const r =
    which === 'keyfork'
      ? spawnSync(process.execPath, [keyforkMainPath(), '--port', '0', ...common], { cwd: dir, encoding: 'utf8', timeout: timeoutMs })
      : spawnSync(redisServerPath() as string, ['--port', '0', '--unixsocket', path.join(dir, 'server.sock'), ...common, '--daemonize', 'no'],
        { cwd: dir, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The log lines of `output` without their `pid:role date time level` prefix. */
export function messages(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.replace(/^\d+:[A-Z] \d{2} \w{3} \d{4} [\d:.]+ [.\-*#] /, '').trim())
    .filter(Boolean);
}
