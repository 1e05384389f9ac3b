// Replicas and failover over the cluster bus, keyfork with redis-server 7.0 nodes: CLUSTER
// REPLICATE (the data through keyfork's replication), automatic failover of a killed master
// with votes from the other masters (FAILOVER_AUTH_REQUEST/ACK), CLUSTER FAILOVER's manual
// handshake (MFSTART, the paused master's offset) and its errors as redis-server's.
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply } from '../helpers/resp';
import { type Kind, type Node, cli, info, run, startNode, started, stopStartedNodes, text, waitUntil as waitFor } from '../helpers/cluster-nodes';

afterEach(stopStartedNodes);

/** Failovers take longer than the bus tests' waits: 30 s by default here. */
const waitUntil = (what: string, pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => waitFor(what, pred, timeoutMs);

/** The flags and master of `id` in n's CLUSTER NODES. */
async function roleOf(n: Node, id: string): Promise<{ flags: string[]; master: string }> {
  const line = text(await n.conn.send('CLUSTER', 'NODES')).split('\n').find((l) => l.startsWith(id));
  if (!line) return { flags: [], master: '' };
  const f = line.split(' ');
  return { flags: f[2].split(','), master: f[3] };
}

/** Three masters and three replicas by redis-cli --cluster create --cluster-replicas 1. */
async function sixNodes(kinds: Kind[]): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const k of kinds) nodes.push(await startNode(k));
  await run(cli(), ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.server.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
  await waitUntil('cluster_state:ok everywhere', async () => {
    for (const n of nodes) {
      const i = await info(n);
      if (i.cluster_state !== 'ok' || i.cluster_known_nodes !== '6') return false;
    }
    return true;
  });
  return nodes;
}

describeDifferential('cluster failover', () => {
  it('a killed master is replaced by its replica, voted in by the other masters', async () => {
    // Masters first (redis-cli takes the first three as masters): two kinds on each side.
    const nodes = await sixNodes(['keyfork', 'redis', 'keyfork', 'redis', 'keyfork', 'keyfork']);
    const masters = nodes.slice(0, 3);
    const replicas = nodes.slice(3);
    // Every replica knows its master and replicates it.
    for (const r of replicas) {
      await waitUntil('a replica linked to its master', async () => {
        const role = await roleOf(r, r.id);
        return role.flags.includes('slave') && masters.some((m) => m.id === role.master);
      });
    }
    // Kill a master that has a keyfork replica.
    let victim: Node | undefined;
    let heir: Node | undefined;
    for (const r of replicas) {
      if (r.kind !== 'keyfork') continue;
      const role = await roleOf(r, r.id);
      victim = masters.find((m) => m.id === role.master);
      heir = r;
      break;
    }
    if (!victim || !heir) throw new Error('no keyfork replica');
    // The replica has its master's data (Redis refuses to fail over a replica that never synced).
    await waitUntil('the heir in sync', async () => text(await heir!.conn.send('INFO', 'replication')).includes('master_link_status:up'));
    await victim.server.stop('SIGKILL');
    started.splice(started.indexOf(victim), 1);
    victim.conn.close();
    const survivors = nodes.filter((n) => n !== victim);
    await waitUntil('the replica promoted', async () => (await roleOf(heir!, heir!.id)).flags.includes('master'), 30_000);
    await waitUntil('everybody sees the new master and cluster ok', async () => {
      for (const n of survivors) {
        if ((await info(n)).cluster_state !== 'ok') return false;
        if (!(await roleOf(n, heir!.id)).flags.includes('master')) return false;
      }
      return true;
    }, 30_000);
    expect(heir.server.output()).toContain("Failover election won: I'm the new master.");
    const voters = survivors.filter((n) => masters.includes(n));
    const granted = voters.filter((n) => n.server.output().includes(`Failover auth granted to ${heir!.id}`));
    expect(granted.length).toBeGreaterThan(0);
  }, 120_000);

  it('CLUSTER FAILOVER swaps a replica with its live master', async () => {
    const nodes = await sixNodes(['keyfork', 'keyfork', 'redis', 'keyfork', 'redis', 'keyfork']);
    const replicas = nodes.slice(3);
    const r = replicas.find((n) => n.kind === 'keyfork')!;
    await waitUntil('replica linked', async () => (await roleOf(r, r.id)).flags.includes('slave'));
    const oldMaster = (await roleOf(r, r.id)).master;
    await waitUntil('replication in sync', async () => text(await r.conn.send('INFO', 'replication')).includes('master_link_status:up'));
    expect(text(await r.conn.send('CLUSTER', 'FAILOVER'))).toBe('OK');
    await waitUntil('roles swapped', async () => {
      const me = await roleOf(r, r.id);
      const old = await roleOf(r, oldMaster);
      return me.flags.includes('master') && old.flags.includes('slave') && old.master === r.id;
    });
    expect(r.server.output()).toContain('Manual failover user request accepted.');
    expect(r.server.output()).toContain('All master replication stream processed, manual failover can start.');
  }, 120_000);

  it('CLUSTER FAILOVER and REPLICATE refuse as redis-server does', async () => {
    const got: Record<string, string[]> = {};
    for (const kind of ['keyfork', 'redis'] as Kind[]) {
      const a = await startNode(kind);
      const b = await startNode(kind);
      await a.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(b.server.port), String(b.bus));
      await waitUntil('met', async () => (await roleOf(a, b.id)).flags.includes('master') && (await roleOf(b, a.id)).flags.includes('master'));
      const out: string[] = [];
      for (const c of [
        ['CLUSTER', 'FAILOVER'],
        ['CLUSTER', 'FAILOVER', 'bogus'],
        ['CLUSTER', 'FAILOVER', 'force', 'x'],
        ['CLUSTER', 'REPLICATE', 'abc'],
        ['CLUSTER', 'REPLICATE', a.id],
      ]) out.push(formatReply(await a.conn.send(...c)));
      await a.conn.send('CLUSTER', 'ADDSLOTS', '0');
      out.push(formatReply(await a.conn.send('CLUSTER', 'REPLICATE', b.id)));
      await a.conn.send('CLUSTER', 'DELSLOTS', '0');
      out.push(formatReply(await a.conn.send('CLUSTER', 'REPLICATE', b.id)));
      // b learns a's new role from its PINGs: then a is no master to replicate.
      await waitUntil('b sees a as a replica', async () => (await roleOf(b, a.id)).flags.includes('slave'));
      out.push(formatReply(await b.conn.send('CLUSTER', 'REPLICATE', a.id)));
      out.push(formatReply(await a.conn.send('CLUSTER', 'FAILOVER', 'bogus')));
      got[kind] = out;
      for (const n of started.splice(0)) {
        n.conn.close();
        await n.server.stop('SIGKILL');
      }
    }
    expect(got.keyfork).toEqual(got.redis);
  }, 60_000);
});
