// Replicas and failover over the cluster bus, keyfork with redis-server 7.0 nodes: CLUSTER
// REPLICATE (the data through keyfork's replication), automatic failover of a killed master
// with votes from the other masters (FAILOVER_AUTH_REQUEST/ACK), CLUSTER FAILOVER's manual
// handshake (MFSTART, the paused master's offset) and its errors as redis-server's.
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply } from '../helpers/resp';
import { type Kind, type Node, cli, info, run, sleep, startNode, started, stopStartedNodes, text, waitUntil as waitFor } from '../helpers/cluster-nodes';

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
async function sixNodes(kinds: Kind[], extra: string[] = []): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const k of kinds) nodes.push(await startNode(k, extra));
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

  it('cluster-replica-no-failover: the replica is flagged nofailover on every node and is not promoted', async () => {
    const nodes = await sixNodes(['keyfork', 'redis', 'keyfork', 'keyfork', 'redis', 'keyfork']);
    const masters = nodes.slice(0, 3);
    let heir: Node | undefined;
    let victim: Node | undefined;
    for (const r of nodes.slice(3)) {
      if (r.kind !== 'keyfork') continue;
      await waitUntil('replica linked', async () => (await roleOf(r, r.id)).flags.includes('slave'));
      heir = r;
      const masterId = (await roleOf(r, r.id)).master;
      victim = masters.find((m) => m.id === masterId);
      break;
    }
    if (!heir || !victim) throw new Error('no keyfork replica');
    expect(text(await heir.conn.send('CONFIG', 'SET', 'cluster-replica-no-failover', 'yes'))).toBe('OK');
    // The flag travels in our PINGs: redis-server nodes show it too.
    for (const n of nodes) {
      await waitUntil('nofailover seen', async () => (await roleOf(n, heir!.id)).flags.includes('nofailover'));
    }
    await waitUntil('the heir in sync', async () => text(await heir!.conn.send('INFO', 'replication')).includes('master_link_status:up'));
    await victim.server.stop('SIGKILL');
    started.splice(started.indexOf(victim), 1);
    victim.conn.close();
    await waitUntil('the master failed', async () => (await roleOf(heir!, victim!.id)).flags.includes('fail'));
    await sleep(5000);
    expect((await roleOf(heir, heir.id)).flags).toContain('slave');
    expect(heir.server.output()).not.toContain('Starting a failover election');
    expect((await info(heir)).cluster_state).toBe('fail');
  }, 120_000);

  it('replica migration to an orphaned master follows cluster-migration-barrier and cluster-allow-replica-migration', async () => {
    const nodes = await sixNodes(['keyfork', 'keyfork', 'keyfork', 'keyfork', 'keyfork', 'keyfork']);
    const masters = nodes.slice(0, 3);
    const replicas = nodes.slice(3);
    const masterOf = async (r: Node) => (await roleOf(r, r.id)).master;
    for (const r of replicas) {
      await waitUntil('replica linked', async () => {
        const m = await masterOf(r);
        return masters.some((x) => x.id === m) && (await roleOf(r, r.id)).flags.includes('slave');
      });
    }
    // A seventh node becomes m1's second replica; m2's replica dies: m2 is orphaned (its
    // replica failed), m1 has two working ones.
    const [m1, m2] = masters;
    let dead: Node | undefined;
    for (const r of replicas) if ((await masterOf(r)) === m2.id) dead = r;
    if (!dead) throw new Error('no replica of m2');
    const extra = await startNode('keyfork');
    nodes.push(extra);
    replicas.push(extra);
    await extra.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(m1.server.port), String(m1.bus));
    await waitUntil('the new node known', async () => (await roleOf(extra, m1.id)).flags.includes('master') && (await info(extra)).cluster_known_nodes === '7');
    expect(text(await extra.conn.send('CLUSTER', 'REPLICATE', m1.id))).toBe('OK');
    for (const n of nodes) await n.conn.send('CONFIG', 'SET', 'cluster-migration-barrier', '2');
    const replicasOf = async (m: Node) => {
      const lines = text(await m.conn.send('CLUSTER', 'NODES')).trim().split('\n');
      return lines.filter((l) => l.split(' ')[3] === m.id && !l.split(' ')[2].split(',').includes('fail')).length;
    };
    await dead.server.stop('SIGKILL');
    started.splice(started.indexOf(dead), 1);
    dead.conn.close();
    nodes.splice(nodes.indexOf(dead), 1);
    replicas.splice(replicas.indexOf(dead), 1);
    await waitUntil('the dead replica failed', async () => (await roleOf(m1, dead!.id)).flags.includes('fail'));
    await waitUntil('m1 has two replicas', async () => (await replicasOf(m1)) === 2);
    // Barrier 2: a replica leaves only a master keeping more than two working ones.
    await sleep(7000);
    expect(await replicasOf(m2)).toBe(0);
    // Barrier 1 but migration disallowed: still none.
    for (const n of nodes) {
      await n.conn.send('CONFIG', 'SET', 'cluster-migration-barrier', '1');
      await n.conn.send('CONFIG', 'SET', 'cluster-allow-replica-migration', 'no');
    }
    await sleep(7000);
    expect(await replicasOf(m2)).toBe(0);
    // Allowed: one of m1's replicas migrates.
    for (const n of nodes) await n.conn.send('CONFIG', 'SET', 'cluster-allow-replica-migration', 'yes');
    await waitUntil('m2 has a replica again', async () => (await replicasOf(m2)) === 1, 20_000);
    const logs = replicas.map((r) => r.server.output()).join('');
    expect(logs).toContain(`Migrating to orphaned master ${m2.id}`);
  }, 120_000);

  it('cluster-replica-validity-factor: a replica cut off from its master too long does not fail over', async () => {
    const nodes = await sixNodes(['keyfork', 'keyfork', 'keyfork', 'keyfork', 'keyfork', 'keyfork']);
    const masters = nodes.slice(0, 3);
    const heir = nodes[3];
    await waitUntil('replica linked', async () => (await roleOf(heir, heir.id)).flags.includes('slave'));
    const masterId = (await roleOf(heir, heir.id)).master;
    const victim = masters.find((m) => m.id === masterId)!;
    await waitUntil('the heir in sync', async () => text(await heir.conn.send('INFO', 'replication')).includes('master_link_status:up'));
    // Allowed data age: repl-ping-replica-period 1 s + node timeout 1.5 s * factor 1.
    await heir.conn.send('CONFIG', 'SET', 'cluster-replica-validity-factor', '1');
    await heir.conn.send('CONFIG', 'SET', 'repl-ping-replica-period', '1');
    // The master refuses the replica from now on: its replication link stays down.
    await victim.conn.send('CONFIG', 'SET', 'requirepass', 'secret');
    await victim.conn.send('CLIENT', 'KILL', 'TYPE', 'replica');
    await waitUntil('link down', async () => text(await heir.conn.send('INFO', 'replication')).includes('master_link_status:down'));
    await sleep(4000);
    await victim.server.stop('SIGKILL');
    started.splice(started.indexOf(victim), 1);
    victim.conn.close();
    await waitUntil('the refusal logged', async () => heir.server.output().includes(
      "Currently unable to failover: Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option."), 30_000);
    expect((await roleOf(heir, heir.id)).flags).toContain('slave');
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
