// Redirection (getNodeByQuery) against the real redis-server 7.0, without any cluster bus: each
// node is started from a nodes.conf naming itself (A) and a second master (B, never running)
// that owns slots 5461-10922, so every answer is decided by the node alone: MOVED, ASK,
// TRYAGAIN, CROSSSLOT, the three CLUSTERDOWN texts, ASKING on importing slots, READONLY on a
// replica, transactions, scripts' declared keys and sharded pub/sub.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { untilBlocked } from '../helpers/blocking';
import { describeDifferential } from '../helpers/diff';
import { encodeCommand, formatReply, RawConnection, type Arg } from '../helpers/resp';
import { compareNodes, NODE_A, NODE_B, startClusterNode, stopAll, waitState, WHICH, type ClusterNodeServer } from './cluster-support';

// Key tags: {a} -> 15495 and {b} -> 3300 are A's; {c} -> 7365 and {z} -> 8157 are B's.
const B_ADDR = '127.0.0.1:30001@40001';
const TWO_MASTERS =
  `${NODE_A} 127.0.0.1:{port}@{cport} myself,master - 0 0 1 connected 0-5460 10923-16383\n` +
  `${NODE_B} ${B_ADDR} master - 0 0 2 connected 5461-10922\n` +
  'vars currentEpoch 2 lastVoteEpoch 0\n';
const REPLICA_OF_B =
  `${NODE_A} 127.0.0.1:{port}@{cport} myself,slave ${NODE_B} 0 0 2 connected\n` +
  `${NODE_B} ${B_ADDR} master - 0 0 2 connected 0-16383\n` +
  'vars currentEpoch 2 lastVoteEpoch 0\n';

interface Pair {
  nodes: ClusterNodeServer[];
  conns: RawConnection[];
}

async function startPair(conf: string, args: string[] = []): Promise<Pair> {
  const nodes: ClusterNodeServer[] = [];
  for (const which of WHICH) nodes.push(await startClusterNode(which, { nodesConf: conf, args }));
  await Promise.all(nodes.map((n) => waitState(n.port, 'ok')));
  const conns = await Promise.all(nodes.map((n) => RawConnection.connect(n.port)));
  return { nodes, conns };
}

async function check(pair: Pair, commands: Arg[][]): Promise<void> {
  const diffs = await compareNodes({ node: pair.nodes[0], conn: pair.conns[0] }, { node: pair.nodes[1], conn: pair.conns[1] }, commands);
  expect(diffs.join('\n\n')).toBe('');
}

async function closePair(pair: Pair | undefined): Promise<void> {
  pair?.conns.forEach((c) => c.close());
  await stopAll(pair?.nodes ?? []);
}

describeDifferential('cluster redirection (differential, nodes from nodes.conf)', () => {
  let pair: Pair | undefined;
  beforeAll(async () => {
    pair = await startPair(TWO_MASTERS);
  }, 60_000);
  afterAll(async () => {
    await closePair(pair);
  });

  it('serves its own slots, MOVEs the others, refuses cross-slot keys', async () => {
    await check(pair!, [
      ['SET', '{a}1', 'x'],
      ['GET', '{a}1'],
      ['GET', '{c}1'],
      ['SET', '{z}1', 'y'],
      ['MSET', '{a}1', '1', '{a}2', '2'],
      ['MSET', '{a}1', '1', '{b}2', '2'],
      ['MGET', '{a}1', '{c}1'],
      ['DEL', '{c}1', '{c}2'],
      ['DEL', '{a}1', '{a}1'],
      ['EXISTS', 'foo'],
      ['GET', 'g'],
      ['PING'],
      ['DBSIZE'],
      ['KEYS', '*'],
      ['RANDOMKEY'],
      ['SCAN', '0'],
      ['EVAL', "return redis.call('get', KEYS[1])", '1', '{a}2'],
      ['EVAL', "return redis.call('get', KEYS[1])", '1', '{c}2'],
      ['EVAL', 'return 1', '2', '{a}2', '{c}2'],
      ['EVAL', 'return 1', '0'],
      ['EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '1', '{c}2'],
      ['FCALL', 'nosuch', '1', '{c}2'],
      ['OBJECT', 'ENCODING', '{c}2'],
      ['SORT', '{c}list'],
      ['SORT', '{a}list', 'STORE', '{c}dst'],
      ['BLPOP', '{c}l', '0'],
      ['XREAD', 'STREAMS', '{a}s', '{c}s', '0', '0'],
      ['ZUNIONSTORE', '{a}d', '2', '{a}1', '{c}1'],
      ['SPUBLISH', '{c}ch', 'm'],
      ['SPUBLISH', '{a}ch', 'm'],
      ['SSUBSCRIBE', '{c}ch'],
      ['SSUBSCRIBE', '{a}ch', '{c}ch'],
      ['PUBLISH', '{c}ch', 'm'],
      ['CLUSTER', 'COUNTKEYSINSLOT', '15495'],
      ['CLUSTER', 'GETKEYSINSLOT', '15495', '10'],
      ['INFO', 'errorstats'],
    ]);
  });

  it('routes every command of a pipeline (the fast paths check slots natively)', async () => {
    const pipeline: Arg[][] = [];
    for (let i = 0; i < 30; i++) {
      pipeline.push(['SET', `{a}p${i}`, String(i)], ['GET', `{c}p${i}`], ['INCR', `{b}n`], ['MGET', `{a}p${i}`, `{z}p${i}`], ['GET', `{a}p${i}`]);
    }
    pipeline.push(['MOVE', '{a}p1', '1'], ['COPY', '{a}p1', '{a}q', 'DB', '1'], ['PING'], ['DBSIZE'], ['ASKING'], ['GET', '{a}p2'], ['DEL', '{b}n']);
    const [k, r] = await Promise.all(pair!.conns.map((c) => c.pipeline(pipeline)));
    const { normalizePorts } = await import('./cluster-support');
    const text = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const kn = k.map((x) => text(normalizePorts(x, pair!.nodes[0])));
    const rn = r.map((x) => text(normalizePorts(x, pair!.nodes[1])));
    for (let i = 0; i < pipeline.length; i++) expect(kn[i], pipeline[i].join(' ')).toBe(rn[i]);
    await check(pair!, [['INFO', 'errorstats'], ['CLUSTER', 'COUNTKEYSINSLOT', '15495']]);
  });

  it('routes the calls of scripts: non-local keys, one slot for flagged scripts, no-cluster', async () => {
    await check(pair!, [
      ['SET', '{a}s', 'x'],
      ['EVAL', "return redis.call('get', '{a}s')", '0'],
      ['EVAL', "return redis.call('get', '{c}s')", '0'],
      ['EVAL', "return redis.pcall('get', '{c}s')", '0'],
      ['EVAL', "redis.call('get', '{a}s'); return redis.call('get', '{b}s')", '0'],
      ['EVAL', "#!lua\nredis.call('get', '{a}s'); return redis.call('get', '{b}s')", '0'],
      ['EVAL', "#!lua flags=allow-cross-slot-keys\nredis.call('get', '{a}s'); return redis.call('get', '{b}s')", '0'],
      ['EVAL', "#!lua\nreturn redis.call('get', '{b}s')", '1', '{a}s'],
      ['EVAL', "#!lua flags=no-cluster\nreturn 1", '0'],
      ['EVAL', "#!lua flags=no-cluster\nreturn 1", '2', 'x'],
      ['EVAL', "return redis.call('ping')", '0'],
      ['EVAL', "return redis.acl_check_cmd('get', '{c}s')", '0'],
      ['CLUSTER', 'DELSLOTS', '15495'],
      ['EVAL', "return redis.call('get', '{b}s')", '0'],
      ['CONFIG', 'SET', 'cluster-allow-reads-when-down', 'yes'],
      ['EVAL', "return redis.call('get', '{b}s')", '0'],
      ['EVAL', "return redis.call('set', '{b}s', '1')", '0'],
      ['CONFIG', 'SET', 'cluster-allow-reads-when-down', 'no'],
      ['CLUSTER', 'ADDSLOTS', '15495'],
      ['INFO', 'errorstats'],
    ]);
    await Promise.all(pair!.nodes.map((n) => waitState(n.port, 'ok')));
  });

  it('answers a transaction redirection at queueing time and at EXEC', async () => {
    await check(pair!, [
      ['MULTI'],
      ['SET', '{a}t', '1'],
      ['SET', '{c}t', '1'],
      ['EXEC'],
      ['MULTI'],
      ['SET', '{a}t', '1'],
      ['GET', '{a}t'],
      ['EXEC'],
    ]);
    // The slot moves away between queueing and EXEC: EXEC itself answers MOVED.
    const others = await Promise.all(pair!.nodes.map((n) => RawConnection.connect(n.port)));
    try {
      await check(pair!, [['MULTI'], ['GET', '{b}t'], ['SET', '{b}u', '1']]);
      for (const o of others) expect(await o.send('CLUSTER', 'SETSLOT', '3300', 'NODE', NODE_B)).toEqual({ t: 'simple', v: 'OK' });
      await check(pair!, [['EXEC'], ['GET', '{b}t'], ['CLUSTER', 'SETSLOT', '3300', 'NODE', NODE_A], ['GET', '{b}t']]);
    } finally {
      others.forEach((o) => o.close());
    }
  });

  it('asks for a migrating slot\'s missing keys, TRYAGAINs partial ones, serves ASKING on an importing slot', async () => {
    await check(pair!, [
      ['SET', '{b}here', '1'],
      ['CLUSTER', 'SETSLOT', '3300', 'MIGRATING', NODE_B],
      ['GET', '{b}here'],
      ['GET', '{b}gone'],
      ['MGET', '{b}here', '{b}gone'],
      ['MGET', '{b}gone', '{b}gone2'],
      ['SET', '{b}new', '1'],
      ['CLUSTER', 'SETSLOT', '7365', 'IMPORTING', NODE_B],
      ['GET', '{c}x'],
      ['ASKING'],
      ['GET', '{c}x'],
      ['GET', '{c}x'],
      ['ASKING'],
      ['SET', '{c}x', '1'],
      ['ASKING'],
      ['MGET', '{c}x', '{c}y'],
      ['ASKING'],
      ['MGET', '{c}x', '{c}x'],
      ['CLUSTER', 'NODES'],
      ['CLUSTER', 'SETSLOT', '7365', 'STABLE'],
      ['CLUSTER', 'SETSLOT', '3300', 'STABLE'],
      ['GET', '{b}gone'],
      ['DEL', '{b}here'],
    ]);
  });

  it('says CLUSTERDOWN in its three ways, and serves reads or shard channels when allowed', async () => {
    await check(pair!, [
      ['SET', '{b}k', 'v'],
      ['CLUSTER', 'DELSLOTS', '15495'],
      ['GET', '{a}k'],
      ['GET', '{b}k'],
      ['SPUBLISH', '{b}ch', 'm'],
      ['CONFIG', 'SET', 'cluster-allow-reads-when-down', 'yes'],
      ['GET', '{b}k'],
      ['SET', '{b}k', 'w'],
      ['GET', '{a}k'],
      ['MULTI'],
      ['SET', '{b}k', 'w'],
      ['EXEC'],
      ['CONFIG', 'SET', 'cluster-allow-pubsubshard-when-down', 'no'],
      ['SPUBLISH', '{b}ch', 'm'],
      ['CONFIG', 'SET', 'cluster-allow-pubsubshard-when-down', 'yes'],
      ['CONFIG', 'SET', 'cluster-allow-reads-when-down', 'no'],
      ['CLUSTER', 'INFO'],
      ['CONFIG', 'SET', 'cluster-require-full-coverage', 'no'],
    ]);
    // The cron recomputes a failed state every 100 ms.
    await Promise.all(pair!.nodes.map((n) => waitState(n.port, 'ok')));
    await check(pair!, [['GET', '{b}k'], ['GET', '{a}k'], ['CLUSTER', 'INFO'], ['CLUSTER', 'ADDSLOTS', '15495'], ['CONFIG', 'SET', 'cluster-require-full-coverage', 'yes'], ['DEL', '{b}k']]);
  });
});

describeDifferential('cluster: clients blocked on keys, DEBUG CLUSTERLINK (differential)', () => {
  let pair: Pair | undefined;
  beforeAll(async () => {
    pair = await startPair(TWO_MASTERS, ['--enable-debug-command', 'yes']);
  }, 60_000);
  afterAll(async () => {
    await closePair(pair);
  });

  /** What a client blocked in BRPOP on slot 3300 ({b}) gets once `change` ran on each node. */
  async function blockedReplies(change: Arg[][]): Promise<string[]> {
    const replies: string[] = [];
    for (const node of pair!.nodes) {
      const blocked = await RawConnection.connect(node.port);
      const admin = await RawConnection.connect(node.port);
      try {
        blocked.write(encodeCommand(['BRPOP', '{b}q', '0']));
        await untilBlocked(admin, 1);
        for (const c of change) await admin.send(...c);
        replies.push(`${node.which}: ${formatReply(await blocked.readReply(5000))}`);
      } finally {
        blocked.close();
        admin.close();
      }
    }
    return replies;
  }

  it('gets MOVED once its slot is given away, CLUSTERDOWN once the cluster fails', async () => {
    const moved = await blockedReplies([['CLUSTER', 'SETSLOT', '3300', 'NODE', NODE_B]]);
    expect(moved[0].replace(/^\w+: /, '')).toBe(moved[1].replace(/^\w+: /, ''));
    expect(moved[0]).toContain('MOVED 3300 127.0.0.1:30001');
    await check(pair!, [['CLUSTER', 'SETSLOT', '3300', 'NODE', NODE_A], ['LPUSH', '{b}q', 'x'], ['BRPOP', '{b}q', '0']]);

    const down = await blockedReplies([['CLUSTER', 'DELSLOTS', '3300']]);
    expect(down[0].replace(/^\w+: /, '')).toBe(down[1].replace(/^\w+: /, ''));
    expect(down[0]).toContain('CLUSTERDOWN The cluster is down');
    await check(pair!, [['CLUSTER', 'ADDSLOTS', '3300']]);
    await Promise.all(pair!.nodes.map((n) => waitState(n.port, 'ok')));
  });

  // Killing a link that is not there (B never runs) crashes 7.0.15 (freeClusterLink(NULL));
  // links being dropped and coming back are the suite's unit/cluster/links.
  it('DEBUG CLUSTERLINK KILL: an unknown node, wrong arguments', async () => {
    await check(pair!, [
      ['DEBUG', 'CLUSTERLINK', 'KILL', 'from', 'nosuch'],
      ['DEBUG', 'CLUSTERLINK', 'KILL', 'to', NODE_B.slice(0, 10)],
      ['DEBUG', 'CLUSTERLINK', 'KILL', 'to'],
      ['DEBUG', 'CLUSTERLINK', 'STOP', 'to', NODE_B],
    ]);
  });
});

describeDifferential('cluster redirection on a replica (differential)', () => {
  let pair: Pair | undefined;
  beforeAll(async () => {
    pair = await startPair(REPLICA_OF_B);
  }, 60_000);
  afterAll(async () => {
    await closePair(pair);
  });

  it('MOVEs to its master unless READONLY, and never for writes', async () => {
    await check(pair!, [
      ['GET', '{a}1'],
      ['READONLY'],
      ['GET', '{a}1'],
      ['MGET', '{a}1', '{a}2'],
      ['SET', '{a}1', 'x'],
      ['MULTI'],
      ['GET', '{a}1'],
      ['EXEC'],
      ['SPUBLISH', '{a}ch', 'm'],
      ['READWRITE'],
      ['GET', '{a}1'],
      ['SPUBLISH', '{a}ch', 'm'],
      ['CLUSTER', 'SETSLOT', '1', 'STABLE'],
      ['CLUSTER', 'REPLICAS', NODE_B],
      ['CLUSTER', 'REPLICAS', NODE_A],
      ['CLUSTER', 'SLOTS'],
      ['CLUSTER', 'INFO'],
    ]);
  });
});
