// Shared by the cluster-*.test.ts files: cluster-mode nodes of keyfork and of the real
// redis-server 7.0, started from a nodes.conf the test writes (so that a node knows a topology
// without any cluster bus), and a reply comparison that maps each server's own ports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatReply, RawConnection, type Arg, type Reply } from '../helpers/resp';
import { replyKey } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';

export type Which = 'keyfork' | 'redis';
export const WHICH: Which[] = ['keyfork', 'redis'];

/** Fixed node names, so that both servers' replies name the same nodes. */
export const NODE_A = 'a'.repeat(39) + '1';
export const NODE_B = 'b'.repeat(39) + '2';
export const NODE_C = 'c'.repeat(39) + '3';

export interface ClusterNodeServer {
  which: Which;
  server: RunningServer;
  port: number;
  cport: number;
  dir: string;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kf-cluster-'));
}

/**
 * A cluster-mode node on a free port with a free bus port (a random port + 10000 may pass
 * 65535); `nodesConf` is written first when given (its `{port}` / `{cport}` stand for the node's own).
 */
export async function startClusterNode(which: Which, opts: { args?: string[]; nodesConf?: string; dir?: string } = {}): Promise<ClusterNodeServer> {
  const dir = opts.dir ?? tempDir();
  const cport = await freePort();
  if (opts.nodesConf !== undefined) fs.writeFileSync(path.join(dir, 'nodes.conf'), opts.nodesConf.split('{cport}').join(String(cport)));
  const args = ['--cluster-enabled', 'yes', '--cluster-port', String(cport), '--cluster-node-timeout', '60000', ...(opts.args ?? [])];
  const server = which === 'keyfork' ? await startKeyfork({ dir, args }) : await startRedis({ dir, args });
  return { which, server, port: server.port, cport, dir };
}

/** Waits (bounded) until CLUSTER INFO says cluster_state:<want>. */
export async function waitState(port: number, want: 'ok' | 'fail', ms = 8000): Promise<void> {
  const conn = await RawConnection.connect(port);
  try {
    const end = Date.now() + ms;
    for (;;) {
      const r = await conn.send('CLUSTER', 'INFO');
      const text = r.t === 'bulk' || r.t === 'verbatim' ? (r.v as Buffer).toString() : '';
      if (text.includes(`cluster_state:${want}`)) return;
      if (Date.now() > end) throw new Error(`cluster_state never became ${want} on ${port}: ${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    conn.close();
  }
}

/** The server's log lines without the `pid:role date time level` prefix. */
export function messages(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.replace(/^\d+:[A-Z] \d{2} \w{3} \d{4} [\d:.]+ [.\-*#] /, '').trim())
    .filter(Boolean);
}

/** `reply` with the node's own port and bus port as {port} / {cport}. */
export function normalizePorts(reply: Reply, node: ClusterNodeServer): Reply {
  const text = (s: string) => s.split(`:${node.port}@${node.cport}`).join(':{port}@{cport}').split(String(node.cport)).join('{cport}').split(String(node.port)).join('{port}');
  const walk = (r: Reply): Reply => {
    switch (r.t) {
      case 'bulk':
        return r.v === null ? r : { t: 'bulk', v: Buffer.from(text(r.v.toString('latin1')), 'latin1') };
      case 'verbatim':
        return { ...r, v: Buffer.from(text(r.v.toString('latin1')), 'latin1') };
      case 'simple':
      case 'error':
        return { ...r, v: text(r.v) };
      case 'int':
        return Number(r.v) === node.port ? { t: 'simple', v: '{port}' } : Number(r.v) === node.cport ? { t: 'simple', v: '{cport}' } : r;
      case 'array':
        return r.v === null ? r : { t: 'array', v: r.v.map(walk) };
      case 'set':
      case 'push':
        return { t: r.t, v: r.v.map(walk) };
      case 'map':
        return { t: 'map', v: r.v.map(([k, v]) => [walk(k), walk(v)] as [Reply, Reply]) };
      default:
        return r;
    }
  };
  return walk(reply);
}

/**
 * CLUSTER INFO without the bus's message counters (redis-server's bus pings the nodes it
 * loaded; keyfork's bus is another helper's work).
 */
export function withoutBusStats(reply: Reply): Reply {
  if ((reply.t !== 'bulk' && reply.t !== 'verbatim') || reply.v === null) return reply;
  const s = reply.v.toString('latin1');
  if (!s.startsWith('cluster_state:')) return reply;
  return { ...reply, v: Buffer.from(s.replace(/cluster_stats_messages_(\w+_)?(sent|received):\d+\r\n/g, ''), 'latin1') };
}

/**
 * CLUSTER NODES / nodes.conf text compared across servers: lines sorted (Redis walks a dict
 * seeded per process), and for other nodes the bus's fields (ping sent, pong received, link
 * state) masked: they are the cluster bus's doing.
 */
export function nodesText(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.includes('myself') || l.startsWith('vars') ? l : l.replace(/ (\d+) (\d+) (\d+) (connected|disconnected)/, ' P P $3 L')))
    .sort()
    .join('\n');
}

function maskNodes(command: Arg[], reply: Reply): Reply {
  const isNodes = command.length === 2 && String(command[0]).toLowerCase() === 'cluster' && String(command[1]).toLowerCase() === 'nodes';
  if (!isNodes || (reply.t !== 'bulk' && reply.t !== 'verbatim') || reply.v === null) return reply;
  return { ...reply, v: Buffer.from(nodesText(reply.v.toString('latin1')), 'latin1') };
}

/** Sends each command to both nodes and returns a report of the replies that differ (after port mapping). */
export async function compareNodes(
  k: { node: ClusterNodeServer; conn: RawConnection },
  r: { node: ClusterNodeServer; conn: RawConnection },
  commands: Arg[][],
  normalize: (command: Arg[], reply: Reply) => Reply = (_c, x) => x,
): Promise<string[]> {
  const diffs: string[] = [];
  for (const command of commands) {
    const [kr, rr] = await Promise.all([k.conn.send(...command), r.conn.send(...command)]);
    const kn = normalize(command, maskNodes(command, withoutBusStats(normalizePorts(kr, k.node))));
    const rn = normalize(command, maskNodes(command, withoutBusStats(normalizePorts(rr, r.node))));
    if (replyKey(kn) !== replyKey(rn)) {
      diffs.push(`${command.map(String).join(' ')}\n  keyfork: ${formatReply(kn)}\n  redis:   ${formatReply(rn)}`);
    }
  }
  return diffs;
}

export async function stopAll(nodes: Array<ClusterNodeServer | undefined>): Promise<void> {
  await Promise.all(nodes.map((n) => n?.server.stop()));
}
