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

/**
 * Whether process `pid` itself holds a TCP socket listening on `port` (IPv4 or IPv6), read
 * from /proc: a connect() would also succeed when another test's server took the port meanwhile.
 */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return false;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1])) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}
