// Failover of a keyfork group by the real redis-sentinel 7.0: three sentinels monitor a keyfork
// master with two keyfork replicas, the master is killed with SIGKILL, the sentinels agree that
// it is down, elect a leader, promote a replica (MULTI; REPLICAOF NO ONE; CONFIG REWRITE;
// CLIENT KILL ...; EXEC) and point the other one at it. An ioredis client configured with the
// sentinels follows the new master and keeps writing, and every write acknowledged by WAIT 1
// before the kill is on the new master.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection } from '../helpers/resp';
import { startKeyfork } from '../helpers/servers';
import { cmd, info, sleep, waitFor, waitInSync, waitLinkUp, type Node } from './replication-support';

const SENTINEL = ['/usr/bin/redis-sentinel', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'redis-sentinel'))].find((f) => fs.existsSync(f));

interface Sentinel {
  port: number;
  proc: ChildProcess;
  log: () => string;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A keyfork node with a config file (CONFIG REWRITE, which Sentinel sends, has one to write). */
async function keyforkWithConfig(dir: string, name: string, lines: string[]): Promise<Node> {
  const configFile = path.join(dir, `${name}.conf`);
  fs.writeFileSync(configFile, ['save ""', 'repl-diskless-sync-delay 0', ...lines, ''].join('\n'));
  const server = await startKeyfork({ configFile, args: ['--enable-debug-command', 'yes'] });
  const node: Node = { server, conn: await RawConnection.connect(server.port), kind: 'keyfork' };
  cleanups.push(async () => {
    node.conn.close();
    await server.stop('SIGKILL');
  });
  return node;
}

async function startSentinel(dir: string, masterPort: number): Promise<Sentinel> {
  const port = await freePort();
  const file = path.join(dir, `sentinel-${port}.conf`);
  fs.writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor mymaster 127.0.0.1 ${masterPort} 2`,
      // 2000, as Redis's own sentinel tests: not 1000, the period at which a sentinel reconnects
      // a link. +switch-master closes the link to the master and starts the new master's ping
      // clock (act_ping_time) at once, but the link is reconnected only a second after the last
      // (failed) attempt to reach the dead master: with 1000 the new master, whatever server it
      // is, is judged +sdown when +switch-master came within a tick after such an attempt, and
      // the other sentinels' "down" replies about the old master (kept for 5 s) make it +odown
      // at once: a second failover was tried (13:22 on 2026-12-06, 55 ms before the PONG came).
      'sentinel down-after-milliseconds mymaster 2000',
      'sentinel failover-timeout mymaster 10000',
      'sentinel parallel-syncs mymaster 1',
      '',
    ].join('\n'),
  );
  const proc = spawn(SENTINEL as string, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  cleanups.push(() => {
    proc.kill('SIGKILL');
  });
  const sentinel = { port, proc, log: () => out };
  await waitFor(async () => (await RawConnection.connect(port).then((c) => (c.close(), true)).catch(() => false)), `sentinel on ${port}`, 10_000);
  return sentinel;
}

/** SENTINEL MASTER mymaster as field -> value, through a short-lived connection. */
async function masterState(sentinel: Sentinel): Promise<Map<string, string>> {
  const c = await RawConnection.connect(sentinel.port);
  try {
    const reply = await c.send('SENTINEL', 'MASTER', 'mymaster');
    const items = reply.t === 'array' && reply.v ? reply.v : [];
    const text = items.map((r) => (r.t === 'bulk' && r.v ? r.v.toString() : ''));
    const fields = new Map<string, string>();
    for (let i = 0; i + 1 < text.length; i += 2) fields.set(text[i], text[i + 1]);
    return fields;
  } finally {
    c.close();
  }
}

describeDifferential('failover with the real redis-sentinel 7.0', () => {
  it.skipIf(!SENTINEL)('three sentinels promote a keyfork replica when the keyfork master dies; ioredis follows; WAIT-acknowledged writes survive', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-sentinel-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const master = await keyforkWithConfig(dir, 'master', []);
    const replicas = [
      await keyforkWithConfig(dir, 'replica-a', [`replicaof 127.0.0.1 ${master.server.port}`]),
      await keyforkWithConfig(dir, 'replica-b', [`replicaof 127.0.0.1 ${master.server.port}`]),
    ];
    for (const r of replicas) await waitLinkUp(r);
    const sentinels: Sentinel[] = [];
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(dir, master.server.port));
    // Every sentinel knows both replicas (from the master's INFO) and the two other sentinels
    // (from the hello messages they PUBLISH on keyfork's __sentinel__:hello channel).
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const m = await masterState(s);
          if (m.get('num-slaves') !== '2' || m.get('num-other-sentinels') !== '2') return false;
        }
        return true;
      },
      'every sentinel to see 2 replicas and 2 other sentinels',
      30_000,
    );

    const client = new Redis({
      sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      name: 'mymaster',
      maxRetriesPerRequest: null,
      retryStrategy: () => 100,
      sentinelRetryStrategy: () => 100,
    });
    client.on('error', () => undefined); // reconnection attempts while the master is gone
    cleanups.push(() => void client.disconnect());
    // Writes acknowledged by at least one replica before the kill.
    const acked: number[] = [];
    for (let i = 0; i < 200; i++) {
      await client.set(`w:${i}`, String(i));
      if (Number(await client.call('WAIT', '1', '2000')) >= 1) acked.push(i);
    }
    expect(acked.length).toBe(200);

    master.server.proc.kill('SIGKILL');
    const oldPort = master.server.port;
    // ioredis keeps writing: its commands wait while the master is gone, then go to whichever
    // node the sentinels name.
    const after: number[] = [];
    const deadline = Date.now() + 60_000;
    for (let i = 200; after.length < 50 && Date.now() < deadline; i++) {
      try {
        await client.set(`w:${i}`, String(i));
        after.push(i);
      } catch {
        await sleep(100);
      }
    }
    expect(after.length).toBe(50);

    const switched = new RegExp(`\\+switch-master mymaster 127\\.0\\.0\\.1 ${oldPort} 127\\.0\\.0\\.1 (\\d+)`);
    await waitFor(() => sentinels.every((s) => switched.test(s.log())), 'every sentinel to log +switch-master', 30_000);
    const newPort = Number(switched.exec(sentinels[0].log())![1]);
    const promoted = replicas.find((r) => r.server.port === newPort)!;
    const other = replicas.find((r) => r.server.port !== newPort)!;
    expect(promoted).toBeDefined();
    expect(other).toBeDefined();
    // Sentinel's transaction ends with CLIENT KILL TYPE normal: our connections went with it.
    for (const node of [promoted, other]) {
      node.conn.close();
      node.conn = await RawConnection.connect(node.server.port);
    }
    expect((await info(promoted)).get('role')).toBe('master');

    // The other replica follows the new master, continuing the same history.
    await waitFor(async () => (await info(other)).get('master_port') === String(newPort), 'the other replica to follow the new master', 30_000);
    await waitLinkUp(other);
    await waitInSync(promoted, other);
    expect(other.server.output()).toContain('Successful partial resynchronization with master.');
    expect(promoted.server.output()).toMatch(/MASTER MODE enabled \(user request from 'id=\d+ .*name=sentinel-/);
    // The leader's log: the promotion and the other replica's reconfiguration, as with Redis nodes.
    const leader = sentinels.find((s) => s.log().includes(`+elected-leader master mymaster 127.0.0.1 ${oldPort}`))!;
    expect(leader).toBeDefined();
    for (const event of ['+selected-slave', '+failover-state-send-slaveof-noone', '+promoted-slave', '+slave-reconf-sent', '+failover-end']) {
      expect(leader.log()).toContain(event);
    }
    // CONFIG REWRITE in Sentinel's transaction kept the new roles in the config files.
    const conf = (node: Node) => fs.readFileSync(path.join(dir, `${node === replicas[0] ? 'replica-a' : 'replica-b'}.conf`), 'utf8');
    expect(conf(promoted)).not.toMatch(/^replicaof /m);
    await waitFor(() => new RegExp(`^replicaof 127\\.0\\.0\\.1 ${newPort}$`, 'm').test(conf(other)), 'the other replica to rewrite its config', 10_000);

    // Nothing acknowledged was lost; the writes made after the failover are there too.
    const values = await promoted.conn.send('MGET', ...[...acked, ...after].map((i) => `w:${i}`));
    const got = values.t === 'array' && values.v ? values.v.map((r) => (r.t === 'bulk' && r.v ? Number(r.v.toString()) : null)) : [];
    expect(got).toEqual([...acked, ...after]);
    expect(await cmd(other, 'GET', `w:${after[after.length - 1]}`)).toBe(String(after[after.length - 1]));
    // The promoted keyfork answered every sentinel's PINGs in time all along: none judged it down
    // (which would start a second failover).
    for (const s of sentinels) expect(s.log()).not.toContain(`+sdown master mymaster 127.0.0.1 ${newPort}`);
  });
});
