// Everything a benchmark starts (servers, redis-benchmark, temp dirs) is registered here and is
// stopped or removed when the script ends: normally, on an exception, or on Ctrl-C / SIGTERM.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let keepDirs = false;
let installed = false;

export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

export function setKeepDirs(keep: boolean): void {
  keepDirs = keep;
}

export function removeTempDir(dir: string): void {
  if (keepDirs) return;
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Last resort, synchronous: the process is exiting, so whatever still runs is killed. */
function killEverythingNow(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  if (!keepDirs) for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  else if (tempDirs.size > 0) process.stderr.write(`kept temp dirs: ${[...tempDirs].join(' ')}\n`);
  tempDirs.clear();
}

async function stopOnSignal(signal: NodeJS.Signals): Promise<void> {
  process.stderr.write(`\n${signal} received: stopping ${children.size} child process(es)...\n`);
  // SIGTERM first: a server then also kills its own snapshot child; SIGKILL whatever is left.
  for (const child of children) child.kill('SIGTERM');
  const deadline = Date.now() + 5000;
  while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  killEverythingNow();
  process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
}

function install(): void {
  if (installed) return;
  installed = true;
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) {
        killEverythingNow();
        process.exit(1);
      }
      stopping = true;
      void stopOnSignal(signal);
    });
  }
  process.on('exit', killEverythingNow);
}
