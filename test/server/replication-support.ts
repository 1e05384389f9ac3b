// Shared by the replication tests: servers that clean up after each test, commands as strings,
// waiting for a link to come up and for two servers to hold the same data.
import { afterEach } from 'vitest';
import { RawConnection, type Arg } from '../helpers/resp';
import { startKeyfork, startRedis, type RunningServer } from '../helpers/servers';
import { infoSection, show, waitFor } from './persistence-support';

export { checkRdb, show, sleep, waitFor } from './persistence-support';

export interface Node {
  server: RunningServer;
  conn: RawConnection;
  kind: 'keyfork' | 'redis';
}

const nodes: Node[] = [];

/** Call once per test file: every node started by a test is stopped after it. */
export function stopNodesAfterEach(): void {
  afterEach(async () => {
    const all = nodes.splice(0);
    for (const n of all) n.conn.close();
    await Promise.all(all.map((n) => n.server.stop('SIGKILL')));
  });
}

export async function keyforkNode(args: string[] = []): Promise<Node> {
  const server = await startKeyfork({ args: ['--enable-debug-command', 'yes', '--save', '', ...args] });
  const node: Node = { server, conn: await RawConnection.connect(server.port), kind: 'keyfork' };
  nodes.push(node);
  return node;
}

/** A redis-server; `--port N` in `args` puts it on that port (a master coming back). */
export async function redisNode(args: string[] = []): Promise<Node> {
  const started = await startRedis({ args });
  const portArg = args.indexOf('--port');
  const server = portArg >= 0 ? { ...started, port: Number(args[portArg + 1]) } : started;
  const node: Node = { server, conn: await RawConnection.connect(server.port), kind: 'redis' };
  nodes.push(node);
  return node;
}

/** A command's reply as a line: `+OK`, `-ERR ...`, `:1`, `(nil)`, or the bulk's text. */
export async function cmd(node: Node, ...args: Arg[]): Promise<string> {
  const reply = await node.conn.send(...args);
  return reply.t === 'bulk' && reply.v === null ? '(nil)' : show(reply);
}

export function info(node: Node, section = 'replication'): Promise<Map<string, string>> {
  return infoSection(node.conn, section);
}

/** Waits until `replica` reports its link to the master up and nothing left to sync. */
export async function waitLinkUp(replica: Node, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const f = await info(replica);
      return f.get('master_link_status') === 'up' && f.get('master_sync_in_progress') === '0';
    },
    `the link of ${replica.kind} ${replica.server.port} to come up`,
    timeoutMs,
  );
}

/** Waits until the replica applied everything the master produced so far, then compares digests. */
export async function waitInSync(master: Node, replica: Node, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const m = (await info(master)).get('master_repl_offset');
      const r = (await info(replica)).get('master_repl_offset');
      if (m !== r) return false;
      return (await cmd(master, 'DEBUG', 'DIGEST')) === (await cmd(replica, 'DEBUG', 'DIGEST'));
    },
    `${replica.kind} ${replica.server.port} to hold what ${master.kind} ${master.server.port} holds`,
    timeoutMs,
  );
}

/** Waits for a line containing `text` in a node's log. */
export async function waitLog(node: Node, text: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => node.server.output().includes(text), `"${text}" in the log of ${node.kind} ${node.server.port}`, timeoutMs);
}

/** Some data of every type in three databases. */
export async function fillMixed(node: Node, prefix = 'k', count = 200): Promise<void> {
  const cmds: Arg[][] = [];
  for (let i = 0; i < count; i++) {
    cmds.push(['SET', `${prefix}:s:${i}`, `value-${i}`.repeat(1 + (i % 5))]);
    cmds.push(['HSET', `${prefix}:h:${i % 20}`, `f${i}`, `${i}`]);
    cmds.push(['RPUSH', `${prefix}:l:${i % 10}`, `e${i}`]);
    cmds.push(['SADD', `${prefix}:set:${i % 10}`, `${i}`]);
    cmds.push(['ZADD', `${prefix}:z:${i % 10}`, `${i / 3}`, `m${i}`]);
  }
  cmds.push(['SET', `${prefix}:ttl`, 'x', 'EX', '1000']);
  for (const db of ['1', '2']) cmds.push(['SELECT', db], ['SET', `${prefix}:db`, db], ['SELECT', '0']);
  await node.conn.pipeline(cmds);
}
