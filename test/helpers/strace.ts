// Servers run under strace with chosen system calls held (strace's fault injection,
// delay_enter): a step that takes microseconds on any disk is made slow on both servers, so
// that what a server does while it waits, or whether it waits at all, shows.
import { spawnSync } from 'node:child_process';
import { describe } from 'vitest';
import { describeDifferential } from './diff';
import { infoNumber as infoField } from './info';
import { RawConnection } from './resp';
import { startKeyfork, startRedis, type RunningServer } from './servers';

/** A server with the name a test's messages give it. */
export type Labelled = [label: string, server: RunningServer];

/** Each traced system call waits this long (us) before it runs: 3 ms, 2 whole ones at least. */
export const DELAY_US = 3000;

/** strace runs here: installed, and allowed to trace (ptrace) what it starts. */
export const straceWorks = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=none', 'true'], { timeout: 10_000 }).status === 0;

/**
 * Starts keyfork and redis-server (with `args`), each under strace holding every `syscalls`
 * call (only those naming one of `paths`, when given) for `delayUs` (DELAY_US by default); runs `fn` and stops both.
 * strace 6.1 cannot kill what it traces when it stops, so each server is killed by its own
 * pid (INFO's process_id) and strace then exits with it.
 */
export async function withDelayedSyscalls(
  syscalls: string[],
  paths: string[],
  args: string[],
  fn: (pair: Labelled[]) => Promise<void>,
  delayUs = DELAY_US,
): Promise<void> {
  const set = syscalls.join(',');
  const prefix = ['strace', '-f', '--seccomp-bpf', '-qq', '-o', '/dev/null', '-e', `trace=${set}`, '-e', `inject=${set}:delay_enter=${delayUs}`, ...paths.flatMap((p) => ['-P', p])];
  const started: Array<{ server: RunningServer; pid: number }> = [];
  try {
    for (const start of [startKeyfork, startRedis]) {
      const server = await start({ prefix, args: [...args, ...(start === startKeyfork ? ['--enable-debug-command', 'yes'] : [])] });
      const conn = await RawConnection.connect(server.port);
      try {
        started.push({ server, pid: await infoField(conn, 'server', 'process_id') });
      } catch (err) {
        await server.stop('SIGKILL');
        throw err;
      } finally {
        conn.close();
      }
    }
    await fn([['keyfork', started[0].server], ['redis', started[1].server]]);
  } finally {
    for (const { server, pid } of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await server.stop('SIGKILL');
    }
  }
}
export const describeTraced = straceWorks ? describeDifferential : (name: string, fn: () => void) => describe.skip(`${name} (skipped: strace cannot trace here)`, fn);
