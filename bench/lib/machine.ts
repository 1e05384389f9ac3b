// The machine a run happened on, recorded next to every result: figures from a 2-core VM and
// from a 32-core workstation are not comparable, ratios between two servers mostly are.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { REPO_ROOT } from './paths';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  node: string;
  redisVersion: string | null;
  keyforkCommit: string | null;
  transparentHugePages: string | null;
  overcommitMemory: string | null;
}

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: REPO_ROOT }).trim();
  } catch {
    return null;
  }
}

export function describeMachine(redisServer: string | null): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo') ?? '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const redisLine = redisServer ? run(redisServer, ['--version']) : null;
  const commit = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  return {
    cpuModel: model,
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redisVersion: redisLine ? (/v=(\S+)/.exec(redisLine)?.[1] ?? redisLine) : null,
    keyforkCommit: commit ? `${commit}${dirty ? ' (with uncommitted changes)' : ''}` : null,
    transparentHugePages: /\[(\w+)\]/.exec(readOr('/sys/kernel/mm/transparent_hugepage/enabled') ?? '')?.[1] ?? null,
    overcommitMemory: readOr('/proc/sys/vm/overcommit_memory'),
  };
}
