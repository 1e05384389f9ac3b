// Real cluster nodes (keyfork or redis-server 7.0) on their own bus ports, shared by the bus and
// failover tests: each test file calls stopStartedNodes() after each test.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';
import { RawConnection, type Reply } from './resp';
import { redisServerPath, startKeyfork, startRedis, type RunningServer } from './servers';

export const run = promisify(execFile);
export const cli = (): string => path.join(path.dirname(redisServerPath() as string), 'redis-cli');
export const text = (r: Reply): string => ('v' in r ? (Buffer.isBuffer(r.v) ? r.v.toString('latin1') : String(r.v)) : '');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Kind = 'keyfork' | 'redis';

export interface Node {
  kind: Kind;
  server: RunningServer;
  bus: number;
  conn: RawConnection;
  id: string;
}

/** The nodes started by startNode and not yet stopped (a test that kills one takes it out). */
export const started: Node[] = [];

export async function startNode(kind: Kind, extra: string[] = []): Promise<Node> {
  const bus = await freePort();
  const args = ['--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-node-timeout', '1500', ...extra];
  const server = kind === 'keyfork' ? await startKeyfork({ args }) : await startRedis({ args });
  const conn = await RawConnection.connect(server.port);
  const id = text(await conn.send('CLUSTER', 'MYID'));
  const node = { kind, server, bus, conn, id };
  started.push(node);
  return node;
}

export async function stopStartedNodes(): Promise<void> {
  for (const n of started.splice(0)) {
    n.conn.close();
    await n.server.stop('SIGKILL');
  }
}

export async function info(n: Node): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of text(await n.conn.send('CLUSTER', 'INFO')).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function waitUntil(what: string, pred: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}
