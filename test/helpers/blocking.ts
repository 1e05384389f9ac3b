// Differential scenarios with clients parked in blocking commands: each scenario runs against
// keyfork and redis-server 7.0, records what every client received (and whether it was still
// blocked at checkpoints), and the two transcripts must be identical.
import { expect } from 'vitest';
import type { BothServers } from './diff';
import { formatReply, RawConnection } from './resp';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function blockedClients(admin: RawConnection): Promise<number> {
  const r = await admin.send('INFO', 'clients');
  const text = r.t === 'bulk' && r.v ? r.v.toString() : '';
  return Number(/^blocked_clients:(\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Waits until `n` clients are blocked, so a following write is sure to find them parked. */
export async function untilBlocked(admin: RawConnection, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await blockedClients(admin)) === n) return;
    await sleep(10);
  }
  throw new Error(`expected ${n} blocked clients, have ${await blockedClients(admin)}`);
}

/** 'blocked' when no reply arrives within `ms`, else the reply. */
export async function replyOrBlocked(conn: RawConnection, ms = 150): Promise<string> {
  try {
    return formatReply(await conn.readReply(ms));
  } catch {
    return 'blocked';
  }
}

export interface Scenario {
  /** The transcript: every observation in order. */
  log: string[];
  /** Connections: [0] is the admin/writer, the others are waiters. */
  conns: RawConnection[];
}

/** Runs `body` on a fresh keyspace of the server at `port` with `waiters` extra connections. */
export async function runOn(port: number, waiters: number, body: (s: Scenario) => Promise<void>, resp3 = false): Promise<string[]> {
  const conns = await Promise.all(Array.from({ length: waiters + 1 }, (_, i) => RawConnection.connect(port, { resp3: resp3 && i > 0 })));
  try {
    await conns[0].send('FLUSHALL');
    const s: Scenario = { log: [], conns };
    await body(s);
    s.log.push(`blocked at end: ${await blockedClients(conns[0])}`);
    return s.log;
  } finally {
    conns.forEach((c) => c.close());
  }
}

/** The scenario on both servers; returns Redis's transcript after checking keyfork's equals it. */
export async function differential(servers: BothServers, waiters: number, body: (s: Scenario) => Promise<void>, resp3 = false): Promise<string[]> {
  const redis = await runOn(servers.redis.port, waiters, body, resp3);
  const keyfork = await runOn(servers.keyfork.port, waiters, body, resp3);
  expect(keyfork.join('\n')).toBe(redis.join('\n'));
  return redis;
}
