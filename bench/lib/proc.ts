// Reading a process's CPU time and memory from /proc (Linux), so a server's own cost can be
// measured apart from the load generator and from other processes on the machine.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface CpuTime {
  userSec: number;
  systemSec: number;
  /**
   * On-CPU time summed over the threads' /proc/PID/task/TID/schedstat (nanoseconds), or null
   * without schedstats. utime/stime come in clock ticks (10 ms): 100k pipelined requests at
   * 1 us each are only 10 ticks, so the total uses the precise figure when there is one.
   */
  runSec: number | null;
}

/**
 * CPU seconds of this process's children that have ended and been waited for (cutime + cstime
 * of /proc/self/stat, in clock ticks): the before/after difference around one child's run is
 * that child's own CPU time (a load generator's), with no wrapper around its command.
 */
export function endedChildrenCpuSec(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3; cutime is field 16, cstime field 17.
  return (Number(rest[13]) + Number(rest[14])) / clockTicks();
}

/** utime + stime of a process (all its threads; not its children), in seconds. */
export function processCpu(pid: number): CpuTime {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it start behind the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const hz = clockTicks();
  return { userSec: Number(rest[11]) / hz, systemSec: Number(rest[12]) / hz, runSec: threadRunTime(pid) };
}

function threadRunTime(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return Number.isFinite(ns) ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

export function cpuDelta(before: CpuTime, after: CpuTime): CpuTime {
  return {
    userSec: after.userSec - before.userSec,
    systemSec: after.systemSec - before.systemSec,
    runSec: before.runSec === null || after.runSec === null ? null : after.runSec - before.runSec,
  };
}

/**
 * CPU seconds split into user and system: the precise total (schedstat) shared out in the
 * proportion of the tick counts, or the tick counts themselves without schedstat.
 */
export function preciseSplit(d: CpuTime): { userSec: number; systemSec: number } {
  const ticks = d.userSec + d.systemSec;
  if (d.runSec === null) return { userSec: d.userSec, systemSec: d.systemSec };
  if (ticks <= 0) return { userSec: d.runSec, systemSec: 0 };
  return { userSec: (d.runSec * d.userSec) / ticks, systemSec: (d.runSec * d.systemSec) / ticks };
}

/** VmRSS of a process in bytes, or null if it is gone. */
export function residentBytes(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** MemAvailable from /proc/meminfo in bytes. */
export function availableMemory(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
