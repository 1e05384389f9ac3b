// Reading a server's forked children from /proc (the process-level directive tests: titles,
// OOM scores, CPU lists of RDB/AOF children, for keyfork and redis-server alike).
import fs from 'node:fs';
import { until } from './info';

/** Live children of `pid` (no /proc/PID/task/TID/children here: each process's stat names its parent). */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * A child sets itself up right after its fork (Redis: OOM score, title, then CPUs; keyfork the
 * same before any work): once its title is a child's, it is then sleeping in
 * rdb-key-save-delay; a moment later everything is set.
 */
export async function settled(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  await until(async () => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('redis-');
    } catch {
      return true;
    }
  }, 5000);
  await new Promise((r) => setTimeout(r, 150));
}
