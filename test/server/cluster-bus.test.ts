// The cluster bus between real processes: keyfork nodes form a cluster with each other and with
// redis-server 7.0 nodes (redis-cli --cluster create / check), agree on the topology, detect a
// killed node within the node timeout, carry PUBLISH to every node; CLUSTER MEET, FORGET,
// LINKS and COUNT-FAILURE-REPORTS answer as redis-server's do. Every node starts with its own
// --cluster-port and --cluster-node-timeout 1500 (startNode): the bus runs on cluster-port, and
// the failure test's waits are sized on cluster-node-timeout.
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection, formatReply, type Reply } from '../helpers/resp';
import { type Kind, type Node, cli, info, run, sleep, startNode, started, stopStartedNodes, text, waitUntil } from '../helpers/cluster-nodes';

afterEach(stopStartedNodes);

/** CLUSTER NODES as each node sees the cluster, without what is local (myself, ping/pong times, link state). */
async function topology(n: Node): Promise<string[]> {
  const lines = text(await n.conn.send('CLUSTER', 'NODES')).trim().split('\n');
  return lines.map((l) => {
    const f = l.split(' ');
    const flags = f[2].split(',').filter((x) => x !== 'myself').join(',');
    return [f[0], f[1], flags, f[3], f[6], ...f.slice(8)].join(' ');
  }).sort();
}

async function clusterCreate(nodes: Node[]): Promise<string> {
  const { stdout } = await run(cli(), ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.server.port}`), '--cluster-yes'], { timeout: 60_000 });
  return stdout;
}

async function waitConverged(nodes: Node[]): Promise<void> {
  await waitUntil('cluster_state:ok on every node', async () => {
    for (const n of nodes) if ((await info(n)).cluster_state !== 'ok') return false;
    return true;
  });
  await waitUntil('every node seeing every other', async () => {
    for (const n of nodes) if ((await info(n)).cluster_known_nodes !== String(nodes.length)) return false;
    return true;
  });
}

describeDifferential('cluster bus', () => {
  it('redis-cli --cluster create of three keyfork masters converges and checks clean', async () => {
    const nodes = [await startNode('keyfork'), await startNode('keyfork'), await startNode('keyfork')];
    const out = await clusterCreate(nodes);
    expect(out).toContain('[OK] All 16384 slots covered.');
    await waitConverged(nodes);
    const { stdout } = await run(cli(), ['--cluster', 'check', `127.0.0.1:${nodes[0].server.port}`], { timeout: 30_000 });
    expect(stdout).toContain('[OK] All nodes agree about slots configuration.');
    expect(stdout).toContain('[OK] All 16384 slots covered.');
    expect(stdout).not.toContain('[ERR]');
    expect(stdout).not.toContain('[WARNING]');
    const views = await Promise.all(nodes.map(topology));
    expect(views[1]).toEqual(views[0]);
    expect(views[2]).toEqual(views[0]);
    // configEpoch collisions resolved: three distinct epochs.
    expect(new Set(views[0].map((l) => l.split(' ')[4])).size).toBe(3);
    for (const n of nodes) {
      const i = await info(n);
      expect(Number(i.cluster_stats_messages_ping_sent ?? 0) + Number(i.cluster_stats_messages_meet_sent ?? 0)).toBeGreaterThan(0);
      expect(Number(i.cluster_stats_messages_pong_received)).toBeGreaterThan(0);
    }
  }, 60_000);

  it('a mixed cluster of keyfork and redis-server nodes converges with one topology', async () => {
    const nodes = [await startNode('keyfork'), await startNode('redis'), await startNode('keyfork'), await startNode('redis')];
    await clusterCreate(nodes);
    await waitConverged(nodes);
    await waitUntil('one topology everywhere', async () => {
      const views = await Promise.all(nodes.map(topology));
      return views.every((v) => JSON.stringify(v) === JSON.stringify(views[0]));
    });
    const { stdout } = await run(cli(), ['--cluster', 'check', `127.0.0.1:${nodes[1].server.port}`], { timeout: 30_000 });
    expect(stdout).toContain('[OK] All nodes agree about slots configuration.');
    expect(stdout).not.toContain('[ERR]');
    // A key routed by a redis-server node lands on the keyfork owner and back.
    const slotOwner = text(await nodes[1].conn.send('SET', 'k', 'v'));
    expect(slotOwner === 'OK' || slotOwner.startsWith('MOVED')).toBe(true);
  }, 90_000);

  it('a killed node is marked fail by the others within the node timeout, and PUBLISH reaches every node', async () => {
    const nodes = [await startNode('keyfork'), await startNode('redis'), await startNode('keyfork')];
    await clusterCreate(nodes);
    await waitConverged(nodes);

    // PUBLISH on one node reaches subscribers on every node (keyfork -> both kinds, redis -> keyfork).
    const subs = await Promise.all(nodes.map(async (n) => {
      const c = await RawConnection.connect(n.server.port);
      await c.send('SUBSCRIBE', 'news');
      return c;
    }));
    for (const from of [0, 1]) {
      const receivers = await nodes[from].conn.send('PUBLISH', 'news', `from-${from}`);
      expect(formatReply(receivers)).toContain('1');
      for (const s of subs) {
        const msg = await s.readReply();
        expect(formatReply(msg)).toContain(`from-${from}`);
      }
    }
    for (const s of subs) s.close();

    // Kill the redis-server node: both keyfork nodes mark it fail.
    const victim = nodes[1];
    const killedAt = Date.now();
    await victim.server.stop('SIGKILL');
    started.splice(started.indexOf(victim), 1);
    victim.conn.close();
    for (const n of [nodes[0], nodes[2]]) {
      await waitUntil('the killed node flagged fail', async () => {
        const line = text(await n.conn.send('CLUSTER', 'NODES')).split('\n').find((l) => l.startsWith(victim.id));
        return line !== undefined && line.split(' ')[2].split(',').includes('fail');
      }, 15_000);
    }
    // Node timeout 1.5 s: PFAIL after it, FAIL as soon as the other master's report arrives.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const logs = nodes[0].server.output() + nodes[2].server.output();
    expect(logs).toMatch(new RegExp(`Marking node ${victim.id} as failing \\(quorum reached\\)\\.|FAIL message received from [0-9a-f]{40} about ${victim.id}`));
    await waitUntil('cluster_state:fail (a third of the slots is lost)', async () => (await info(nodes[0])).cluster_state === 'fail');
  }, 90_000);

  it('CLUSTER MEET, FORGET and COUNT-FAILURE-REPORTS errors and LINKS as redis-server', async () => {
    const replies: Record<string, string[]> = {};
    for (const kind of ['keyfork', 'redis'] as Kind[]) {
      const a = await startNode(kind);
      const b = await startNode(kind === 'keyfork' ? 'redis' : 'keyfork');
      const cases: string[][] = [
        ['CLUSTER', 'MEET', '127.0.0.1', 'x'],
        ['CLUSTER', 'MEET', '127.0.0.1', '7000', 'y'],
        ['CLUSTER', 'MEET', 'nohost', '7000'],
        ['CLUSTER', 'MEET', '127.0.0.1', '70000'],
        ['CLUSTER', 'MEET', '127.0.0.1', '7000', '1', '2'],
        ['CLUSTER', 'FORGET', 'abc'],
        ['CLUSTER', 'FORGET', a.id],
        ['CLUSTER', 'COUNT-FAILURE-REPORTS', 'abc'],
        ['CLUSTER', 'COUNT-FAILURE-REPORTS', a.id],
      ];
      const got: string[] = [];
      for (const c of cases) got.push(formatReply(await a.conn.send(...c)));
      replies[kind] = got;
      expect(text(await a.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(b.server.port), String(b.bus)))).toBe('OK');
      await waitUntil('two known nodes', async () => (await info(a)).cluster_known_nodes === '2' && (await info(b)).cluster_known_nodes === '2');
      await waitUntil('links both ways', async () => {
        const l = await a.conn.send('CLUSTER', 'LINKS');
        return l.t === 'array' && (l.v?.length ?? 0) === 2;
      });
      const links = await a.conn.send('CLUSTER', 'LINKS');
      const shape = ((links as { v: Reply[] }).v).map((m) => {
        const kv = ((m as { v: Reply[] }).v).map(text);
        const o: Record<string, string> = {};
        for (let i = 0; i < kv.length; i += 2) o[kv[i]] = kv[i + 1];
        return `${Object.keys(o).join(',')} ${o.direction} ${o.node === b.id}`;
      }).sort();
      expect(shape).toEqual([
        'direction,node,create-time,events,send-buffer-allocated,send-buffer-used from true',
        'direction,node,create-time,events,send-buffer-allocated,send-buffer-used to true',
      ]);
      expect(formatReply(await a.conn.send('CLUSTER', 'COUNT-FAILURE-REPORTS', b.id))).toBe('(integer) 0');
      // FORGET: gone from CLUSTER NODES, and not re-added by b's gossip for a minute.
      expect(text(await a.conn.send('CLUSTER', 'FORGET', b.id))).toBe('OK');
      await sleep(1500);
      expect(text(await a.conn.send('CLUSTER', 'NODES'))).not.toContain(b.id);
      for (const n of started.splice(0)) {
        n.conn.close();
        await n.server.stop('SIGKILL');
      }
    }
    expect(replies.keyfork).toEqual(replies.redis);
  }, 60_000);

  it('cluster-link-sendbuf-limit frees a link whose send buffer outgrows it, as redis-server does', async () => {
    const seen: Record<string, boolean> = {};
    for (const kind of ['keyfork', 'redis'] as Kind[]) {
      const a = await startNode(kind, ['--cluster-link-sendbuf-limit', String(256 * 1024)]);
      const b = await startNode(kind === 'keyfork' ? 'redis' : 'keyfork');
      await a.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(b.server.port), String(b.bus));
      await waitUntil('met', async () => (await info(a)).cluster_known_nodes === '2' && (await info(b)).cluster_known_nodes === '2');
      await sleep(500);
      // b stops reading: a's PUBLISH traffic to it piles up in a's send buffer.
      process.kill(b.server.pid, 'SIGSTOP');
      try {
        const big = 'x'.repeat(256 * 1024);
        for (let i = 0; i < 80; i++) await a.conn.send('PUBLISH', 'ch', big);
        await waitUntil('the link freed', async () => Number((await info(a)).total_cluster_links_buffer_limit_exceeded) >= 1, 20_000);
      } finally {
        process.kill(b.server.pid, 'SIGCONT');
      }
      seen[kind] = /Freeing cluster link\(to node [0-9a-f]{40}, used memory: \d+\) due to exceeding send buffer memory limit\./.test(a.server.output());
      for (const n of started.splice(0)) {
        n.conn.close();
        await n.server.stop('SIGKILL');
      }
    }
    expect(seen).toEqual({ keyfork: true, redis: true });
  }, 90_000);

  it('bus links leave from bind-source-addr, as redis-server logs them', async () => {
    const logs: string[] = [];
    for (const kind of ['keyfork', 'redis'] as Kind[]) {
      const target = await startNode(kind === 'keyfork' ? 'redis' : 'keyfork', ['--loglevel', 'verbose']);
      const a = await startNode(kind, ['--bind-source-addr', '127.0.0.2']);
      await a.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(target.server.port), String(target.bus));
      await waitUntil('the accepted connection logged', async () => /Accepting cluster node connection from 127\.0\.0\.2:\d+/.test(target.server.output()));
      logs.push(kind);
      for (const n of started.splice(0)) {
        n.conn.close();
        await n.server.stop('SIGKILL');
      }
    }
    expect(logs).toEqual(['keyfork', 'redis']);
  }, 60_000);
});
