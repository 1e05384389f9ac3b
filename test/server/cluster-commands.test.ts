// CLUSTER's node commands against the real redis-server 7.0 (one node each, the same node name
// from a written nodes.conf, so replies compare byte for byte once ports are mapped), and a
// single-node keyfork cluster served to the clients Redis users test clusters with: redis-cli -c,
// ioredis's Cluster and node-redis's createCluster.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import IORedis from 'ioredis';
import { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { redisServerPath } from '../helpers/servers';
import { compareNodes, NODE_A, NODE_B, startClusterNode, stopAll, waitState, WHICH, type ClusterNodeServer } from './cluster-support';

const run = promisify(execFile);
const FRESH = `${NODE_A} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n`;

describeDifferential('CLUSTER subcommands (differential)', () => {
  let nodes: ClusterNodeServer[] = [];
  let conns: RawConnection[] = [];
  beforeAll(async () => {
    for (const which of WHICH) nodes.push(await startClusterNode(which, { nodesConf: FRESH }));
    conns = await Promise.all(nodes.map((n) => RawConnection.connect(n.port)));
  }, 60_000);
  afterAll(async () => {
    conns.forEach((c) => c.close());
    await stopAll(nodes);
  });

  const check = async (commands: Arg[][]) => {
    const diffs = await compareNodes({ node: nodes[0], conn: conns[0] }, { node: nodes[1], conn: conns[1] }, commands);
    expect(diffs.join('\n\n')).toBe('');
  };

  it('assigns and removes slots with Redis errors', async () => {
    await check([
      ['CLUSTER', 'INFO'],
      ['CLUSTER', 'SLOTS'],
      ['CLUSTER', 'SHARDS'],
      ['CLUSTER', 'ADDSLOTS'],
      ['CLUSTER', 'ADDSLOTS', 'x'],
      ['CLUSTER', 'ADDSLOTS', '-1'],
      ['CLUSTER', 'ADDSLOTS', '16384'],
      ['CLUSTER', 'ADDSLOTS', '1', '2', '1'],
      ['CLUSTER', 'ADDSLOTS', '5', 'x'],
      ['CLUSTER', 'ADDSLOTS', '5', '6', '100'],
      ['CLUSTER', 'ADDSLOTS', '6'],
      ['CLUSTER', 'ADDSLOTSRANGE', '10', '20', '30'],
      ['CLUSTER', 'ADDSLOTSRANGE', '20', '10'],
      ['CLUSTER', 'ADDSLOTSRANGE', '10', '20', '15', '25'],
      ['CLUSTER', 'ADDSLOTSRANGE', '10', '20', '1000', '1999'],
      ['CLUSTER', 'ADDSLOTSRANGE', '99999999999999999999', '1'],
      ['CLUSTER', 'DELSLOTS', '7'],
      ['CLUSTER', 'DELSLOTS', '5', '5'],
      ['CLUSTER', 'DELSLOTS', '5'],
      ['CLUSTER', 'DELSLOTSRANGE', '1000', '1001', '1500', '1600'],
      ['CLUSTER', 'DELSLOTSRANGE', '1000', '1001'],
      ['CLUSTER', 'DELSLOTSRANGE', '1'],
      ['CLUSTER', 'NODES'],
      ['CLUSTER', 'SLOTS'],
      ['CLUSTER', 'SHARDS'],
      ['CLUSTER', 'INFO'],
      ['CLUSTER', 'FLUSHSLOTS'],
      ['CLUSTER', 'INFO'],
      ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383'],
    ]);
  });

  it('counts and lists keys by slot from the slot index', async () => {
    const keys: Arg[][] = [];
    for (let i = 0; i < 40; i++) keys.push(['SET', `{t}${i}`, 'v'], ['SET', `k${i}`, 'v']);
    // A master serves keys 2 s after its first state update at the earliest (CLUSTER_WRITABLE_DELAY).
    await Promise.all(nodes.map((n) => waitState(n.port, 'ok')));
    await check([
      ...keys,
      ['CLUSTER', 'KEYSLOT', '{t}1'],
      ['CLUSTER', 'KEYSLOT', ''],
      ['CLUSTER', 'KEYSLOT', 'foo{}{bar}'],
      ['CLUSTER', 'KEYSLOT', 'foo{{bar}}zap'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '15891'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '0'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '16384'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '-1'],
      ['CLUSTER', 'COUNTKEYSINSLOT', 'x'],
      ['CLUSTER', 'GETKEYSINSLOT', '15891', '100'],
      ['CLUSTER', 'GETKEYSINSLOT', '15891', '0'],
      ['CLUSTER', 'GETKEYSINSLOT', '15891', '-1'],
      ['CLUSTER', 'GETKEYSINSLOT', '16384', '1'],
      ['CLUSTER', 'GETKEYSINSLOT', 'x', '1'],
      ['CLUSTER', 'GETKEYSINSLOT', '1', 'x'],
      ['DEL', '{t}1', '{t}2'],
      ['EXPIRE', '{t}3', '100'],
      ['RENAME', '{t}4', '{t}x'],
      ['COPY', '{t}5', '{t}y'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '15891'],
      ['CLUSTER', 'GETKEYSINSLOT', '15891', '100'],
      ['CLUSTER', 'FLUSHSLOTS'],
      ['CLUSTER', 'RESET'],
      ['FLUSHALL'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '15891'],
      ['CLUSTER', 'GETKEYSINSLOT', '15891', '100'],
    ]);
    // GETKEYSINSLOT with a count below the slot's keys returns that many, newest first.
    await check([['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']]);
    await Promise.all(nodes.map((n) => waitState(n.port, 'ok')));
    await check(keys);
    for (const c of conns) {
      const r = await c.send('CLUSTER', 'GETKEYSINSLOT', '15891', '7');
      expect(r.t === 'array' && r.v?.length, JSON.stringify(r) + JSON.stringify(await c.send('CLUSTER', 'COUNTKEYSINSLOT', '15891')) + JSON.stringify(await c.send('DBSIZE'))).toBe(7);
    }
  });

  it('sets slot states, epochs and resets as Redis does', async () => {
    await check([
      ['FLUSHALL'],
      ['CLUSTER', 'SETSLOT', '1', 'MIGRATING', NODE_B],
      ['CLUSTER', 'SETSLOT', '1', 'MIGRATING', NODE_A],
      ['CLUSTER', 'SETSLOT', '1', 'IMPORTING', NODE_A],
      ['CLUSTER', 'SETSLOT', '1', 'NODE', NODE_B],
      ['CLUSTER', 'SETSLOT', '1', 'STABLE', 'x'],
      ['CLUSTER', 'SETSLOT', '1', 'BOGUS'],
      ['CLUSTER', 'SETSLOT', '99999', 'STABLE'],
      ['CLUSTER', 'SETSLOT', '1'],
      ['CLUSTER', 'SETSLOT', '1', 'STABLE'],
      ['CLUSTER', 'SETSLOT', '1', 'NODE', NODE_A],
      ['CLUSTER', 'DELSLOTS', '1'],
      ['CLUSTER', 'SETSLOT', '1', 'IMPORTING', NODE_A],
      ['CLUSTER', 'NODES'],
      ['CLUSTER', 'SETSLOT', '1', 'NODE', NODE_A],
      ['CLUSTER', 'NODES'],
      ['CLUSTER', 'INFO'],
      ['SET', '{x}1', 'v'],
      ['CLUSTER', 'KEYSLOT', '{x}1'],
      ['CLUSTER', 'SETSLOT', '16287', 'NODE', NODE_A],
      ['CLUSTER', 'BUMPEPOCH'],
      ['CLUSTER', 'BUMPEPOCH'],
      ['CLUSTER', 'SET-CONFIG-EPOCH', '5'],
      ['CLUSTER', 'SET-CONFIG-EPOCH', 'x'],
      ['CLUSTER', 'SET-CONFIG-EPOCH', '-1'],
      ['CLUSTER', 'REPLICAS', NODE_A],
      ['CLUSTER', 'SLAVES', NODE_A],
      ['CLUSTER', 'REPLICAS', NODE_B],
      ['CLUSTER', 'RESET'],
      ['CLUSTER', 'RESET', 'BOGUS'],
      ['CLUSTER', 'RESET', 'HARD', 'X'],
      ['FLUSHALL'],
      ['CLUSTER', 'RESET', 'SOFT'],
      ['CLUSTER', 'INFO'],
      ['CLUSTER', 'NODES'],
      ['CLUSTER', 'SET-CONFIG-EPOCH', '7'],
      ['CLUSTER', 'INFO'],
      ['CLUSTER', 'BOGUS'],
      ['CLUSTER'],
      ['CLUSTER', 'INFO', 'x'],
      ['ASKING', 'x'],
    ]);
    // RESET HARD: epochs back to 0 and a new name, logged.
    for (const [i, c] of conns.entries()) {
      expect(await c.send('CLUSTER', 'RESET', 'HARD')).toEqual({ t: 'simple', v: 'OK' });
      const id = await c.send('CLUSTER', 'MYID');
      const name = (id as { v: Buffer }).v.toString();
      expect(name).not.toBe(NODE_A);
      expect(nodes[i].server.output()).toContain(`Node hard reset, now I'm ${name}`);
      expect(nodes[i].server.output()).toContain('configEpoch set to 0 via CLUSTER RESET HARD');
    }
  });

  it('lists the same HELP lines (bus subcommands aside) and COMMAND entries', async () => {
    const [k, r] = await Promise.all(conns.map((c) => c.send('CLUSTER', 'HELP')));
    const lines = (x: Reply) => (x.t === 'array' && x.v ? x.v.map((e) => String((e as { v: unknown }).v)) : []);
    const theirs = lines(r);
    const ours = lines(k);
    // Every line keyfork prints is Redis's, in Redis's order.
    expect(theirs.filter((l) => ours.includes(l))).toEqual(ours);
    expect(ours).toContain('ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]');
    await check([
      ['COMMAND', 'INFO', 'asking', 'readonly', 'readwrite'],
      ['COMMAND', 'INFO', 'cluster|info', 'cluster|nodes', 'cluster|setslot', 'cluster|countkeysinslot', 'cluster|getkeysinslot'],
      ['COMMAND', 'DOCS', 'cluster|addslotsrange'],
    ]);
  });
});

describe('a single-node keyfork cluster served to cluster clients', () => {
  let node: ClusterNodeServer | undefined;
  beforeAll(async () => {
    node = await startClusterNode('keyfork', { nodesConf: `${NODE_A} 127.0.0.1:{port}@{cport} myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n` });
    const conn = await RawConnection.connect(node.port);
    await conn.send('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    conn.close();
    await waitState(node.port, 'ok');
  }, 60_000);
  afterAll(async () => {
    await stopAll([node]);
  });

  it('redis-cli -c', async () => {
    if (!redisServerPath()) return;
    const cli = path.join(path.dirname(redisServerPath() as string), 'redis-cli');
    const call = async (...args: string[]) => (await run(cli, ['-c', '-p', String(node!.port), ...args], { timeout: 10_000 })).stdout.trim();
    expect(await call('SET', 'foo', 'bar')).toBe('OK');
    expect(await call('GET', 'foo')).toBe('bar');
    expect(await call('CLUSTER', 'KEYSLOT', 'foo')).toBe('12182');
    const check = await run(cli, ['--cluster', 'check', `127.0.0.1:${node!.port}`], { timeout: 20_000 }).catch((e) => e as { stdout: string });
    expect(check.stdout).toContain('[OK] All 16384 slots covered.');
  });

  it('ioredis Cluster', async () => {
    const cluster = new IORedis.Cluster([{ host: '127.0.0.1', port: node!.port }], { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } });
    try {
      await cluster.connect();
      await cluster.set('user:{42}:name', 'ada');
      expect(await cluster.get('user:{42}:name')).toBe('ada');
      await cluster.mset('{t}a', '1', '{t}b', '2');
      expect(await cluster.mget('{t}a', '{t}b')).toEqual(['1', '2']);
      const nodes = cluster.nodes('master');
      expect(nodes.length).toBe(1);
    } finally {
      cluster.disconnect();
    }
  });

  it('node-redis createCluster', async () => {
    const cluster = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${node!.port}` }] });
    cluster.on('error', () => {});
    await cluster.connect();
    try {
      await cluster.set('k{1}', 'v1');
      expect(await cluster.get('k{1}')).toBe('v1');
      expect(await cluster.incr('counter')).toBe(1);
      expect(cluster.masters.length).toBe(1);
    } finally {
      await cluster.disconnect();
    }
  });
});
