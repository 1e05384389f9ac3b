// Resharding between real cluster nodes, as on redis-server 7.0.15: MIGRATE in cluster mode
// sends RESTORE-ASKING (the importing target serves it without a redirection), so
// `redis-cli --cluster reshard` / `rebalance` move keys between keyfork nodes, between keyfork
// and redis-server nodes both ways, and the hand-driven migration (SETSLOT IMPORTING /
// MIGRATING, GETKEYSINSLOT, MIGRATE, -ASK, ASKING, SETSLOT NODE) answers as redis-server's.
// Every scenario runs once on keyfork nodes and once on redis-server nodes; replies and
// redis-cli's output are compared after naming each node's ports and id N0, N1, ...
// Nodes run with --cluster-node-timeout 1500 (startNode); every redis-cli call has a timeout.
import IORedis from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply, type Arg } from '../helpers/resp';
import { type Kind, type Node, cli, info, run, startNode, stopStartedNodes, text, waitUntil } from '../helpers/cluster-nodes';

afterEach(stopStartedNodes);

/** CRC16/XMODEM of the hash tag rule's bytes: Redis's keyHashSlot. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const b of Buffer.from(key)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** A hash tag for each wanted slot (found by counting up: a few hundred thousand tries). */
function tagsFor(slots: number[]): Map<number, string> {
  const want = new Set(slots);
  const out = new Map<number, string>();
  for (let n = 0; out.size < want.size && n < 5_000_000; n++) {
    const s = keySlot(`t${n}`);
    if (want.has(s) && !out.has(s)) out.set(s, `t${n}`);
  }
  return out;
}

/** Replaces each node's ports and id with its name, so two runs' texts can be compared. */
function namer(nodes: Node[]): (s: string) => string {
  return (s) => {
    nodes.forEach((n, i) => {
      s = s.split(n.id).join(`ID${i}`);
      s = s.split(`127.0.0.1:${n.server.port}@${n.bus}`).join(`N${i}@bus`);
      s = s.split(`127.0.0.1:${n.server.port}`).join(`N${i}`);
      s = s.split(`:${n.server.port}`).join(`:N${i}port`);
    });
    return s;
  };
}

async function clusterCreate(nodes: Node[]): Promise<void> {
  await run(cli(), ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.server.port}`), '--cluster-yes'], { timeout: 60_000 });
  await waitConverged(nodes);
}

async function waitConverged(nodes: Node[]): Promise<void> {
  await waitUntil('cluster_state:ok and every node known everywhere', async () => {
    for (const n of nodes) {
      const i = await info(n);
      if (i.cluster_state !== 'ok' || i.cluster_known_nodes !== String(nodes.length)) return false;
    }
    return true;
  }, 30_000);
}

/** `redis-cli --cluster check`, repeated until clean (the bus needs a moment to spread a change). */
async function checkClean(n: Node): Promise<string> {
  let last = '';
  await waitUntil('redis-cli --cluster check clean', async () => {
    const r = await run(cli(), ['--cluster', 'check', `127.0.0.1:${n.server.port}`], { timeout: 20_000 }).catch((e) => e as { stdout: string });
    last = r.stdout;
    return last.includes('[OK] All nodes agree about slots configuration.') && last.includes('[OK] All 16384 slots covered.') &&
      !last.includes('[ERR]') && !last.includes('[WARNING]');
  }, 30_000);
  return last;
}

/** Sends a command to the node serving its key, following MOVED. */
async function routed(nodes: Node[], ...args: Arg[]): Promise<string> {
  let node = nodes[0];
  for (let hop = 0; hop < 3; hop++) {
    const r = formatReply(await node.conn.send(...args));
    const m = /MOVED \d+ 127\.0\.0\.1:(\d+)/.exec(r);
    if (!m) return r;
    node = nodes.find((x) => x.server.port === Number(m[1])) as Node;
  }
  throw new Error('redirection loop');
}

interface Dataset {
  /** key -> what ioredis should read back: a string, a hash, or a zset's flat WITHSCORES list. */
  strings: Map<string, string>;
  hashes: Map<string, Record<string, string>>;
  zsets: Map<string, string[]>;
  expiring: string[];
}

/** Three keys of different types (one with a TTL) in each of `slots`, plus keys all over. */
async function fill(nodes: Node[], slots: number[], spread: number): Promise<Dataset> {
  const d: Dataset = { strings: new Map(), hashes: new Map(), zsets: new Map(), expiring: [] };
  for (const [slot, tag] of tagsFor(slots)) {
    const s = `{${tag}}:s`, h = `{${tag}}:h`, z = `{${tag}}:z`;
    expect(await routed(nodes, 'SET', s, `v${slot}`, 'PX', '600000')).toBe('OK');
    d.strings.set(s, `v${slot}`);
    d.expiring.push(s);
    await routed(nodes, 'HSET', h, 'a', '1', 'b', String(slot));
    d.hashes.set(h, { a: '1', b: String(slot) });
    await routed(nodes, 'ZADD', z, '1.5', 'x', String(slot), 'y');
    d.zsets.set(z, ['x', '1.5', 'y', String(slot)]);
  }
  for (let i = 0; i < spread; i++) {
    expect(await routed(nodes, 'SET', `spread:${i}`, `value-${i}`)).toBe('OK');
    d.strings.set(`spread:${i}`, `value-${i}`);
  }
  // ZRANGE WITHSCORES orders by score: 1.5 first, then the slot number (>= 0, but 0 < 1.5).
  for (const [k, v] of d.zsets) if (Number(v[3]) < 1.5) d.zsets.set(k, [v[2], v[3], v[0], v[1]]);
  return d;
}

/** Every key of `d`, read through ioredis's Cluster client (which follows the new slot map). */
async function readAll(entry: Node, d: Dataset): Promise<void> {
  const cluster = new IORedis.Cluster([{ host: '127.0.0.1', port: entry.server.port }], { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 2 } });
  try {
    await cluster.connect();
    for (const [k, v] of d.strings) expect(await cluster.get(k)).toBe(v);
    for (const [k, v] of d.hashes) expect(await cluster.hgetall(k)).toEqual(v);
    for (const [k, v] of d.zsets) expect(await cluster.zrange(k, '0', '-1', 'WITHSCORES')).toEqual(v);
    for (const k of d.expiring) {
      const ttl = await cluster.pttl(k);
      expect(ttl).toBeGreaterThan(500_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    }
  } finally {
    cluster.disconnect();
  }
}

/** Each node's DBSIZE and its slot count in its own CLUSTER INFO-free view (CLUSTER NODES of myself). */
async function shape(nodes: Node[]): Promise<string[]> {
  const out: string[] = [];
  for (const [i, n] of nodes.entries()) {
    const mine = text(await n.conn.send('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself')) as string;
    out.push(`N${i} keys=${formatReply(await n.conn.send('DBSIZE'))} slots=${mine.split(' ').slice(8).join(' ')}`);
  }
  return out;
}

/** redis-cli's text without what is neither the cluster's shape nor its words. */
function cliText(s: string, name: (s: string) => string): string[] {
  return name(s).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '').sort();
}

async function reshard(from: Node, to: Node, entry: Node, slots: number): Promise<string> {
  const { stdout } = await run(cli(), ['--cluster', 'reshard', `127.0.0.1:${entry.server.port}`, '--cluster-from', from.id,
    '--cluster-to', to.id, '--cluster-slots', String(slots), '--cluster-yes'], { timeout: 60_000 });
  return stdout;
}

/** The configEpoch log lines of each node ("New configEpoch set to", "configEpoch updated after importing slot"). */
function epochLog(nodes: Node[]): string[] {
  return nodes.map((n, i) => `N${i}: ` + n.server.output().split('\n')
    .filter((l) => /configEpoch updated after importing|New configEpoch set to/.test(l))
    .map((l) => l.replace(/^.*?(configEpoch updated|New configEpoch)/, '$1')).join(' | '));
}

describeDifferential('cluster resharding', () => {
  it('a slot migrated by hand: IMPORTING / MIGRATING, MIGRATE, -ASK, ASKING, GETKEYSINSLOT, SETSLOT NODE', async () => {
    const transcripts: Record<string, string[]> = {};
    const logs: Record<string, string[]> = {};
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const nodes = [await startNode(kind), await startNode(kind), await startNode(kind)];
      await clusterCreate(nodes);
      const [src, dst, third] = nodes;
      const name = namer(nodes);
      const slot = 100;
      const tag = tagsFor([slot]).get(slot) as string;
      const [a, b, c, missing] = ['a', 'b', 'c', 'missing'].map((x) => `{${tag}}${x}`);
      const got: string[] = [];
      const say = async (who: number, ...args: Arg[]) => {
        const shown = args.map((x) => nodes.findIndex((n) => String(n.server.port) === x)).map((i, j) => (i >= 0 ? `N${i}port` : String(args[j])));
        got.push(name(`N${who} ${shown.join(' ')} -> ${formatReply(await nodes[who].conn.send(...args))}`));
      };
      const dstPort = String(dst.server.port);
      await say(0, 'SET', a, '1');
      await say(0, 'RPUSH', b, 'x', 'y');
      await say(0, 'SET', c, '3', 'PX', '600000');
      // MIGRATE to a node that does not import the slot: its MOVED comes back as the error.
      await say(0, 'MIGRATE', '127.0.0.1', dstPort, a, '0', '5000');
      await say(1, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', src.id);
      await say(0, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dst.id);
      await say(0, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      got.push(`N0 GETKEYSINSLOT ${((await src.conn.send('CLUSTER', 'GETKEYSINSLOT', String(slot), '10')) as { v: Array<{ v: Buffer }> }).v.map((r) => r.v.toString()).sort().join(',')}`);
      await say(0, 'MIGRATE', '127.0.0.1', dstPort, a, '0', '5000');
      await say(0, 'GET', a);
      await say(0, 'LRANGE', b, '0', '-1');
      await say(0, 'MGET', a, c);
      await say(0, 'SET', a, 'new');
      await say(1, 'GET', a);
      await say(1, 'ASKING');
      await say(1, 'GET', a);
      await say(1, 'GET', a);
      await say(1, 'ASKING');
      await say(1, 'GET', b);
      // Several keys on the importer: served only when it has them all.
      await say(1, 'ASKING');
      await say(1, 'MGET', a, b);
      await say(1, 'ASKING');
      await say(1, 'MGET', a, a);
      // A new key of the open slot: the source does not have it, so it goes to the target.
      await say(0, 'SET', missing, 'n');
      await say(1, 'ASKING');
      await say(1, 'SET', missing, 'n');
      await say(1, 'ASKING');
      await say(1, 'EXISTS', missing);
      await say(2, 'GET', a);
      await say(0, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      await say(1, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      // Redis lists a slot's keys newest first, keyfork's index in its own order (cluster-core.md).
      got.push(`N1 GETKEYSINSLOT ${((await dst.conn.send('CLUSTER', 'GETKEYSINSLOT', String(slot), '10')) as { v: Array<{ v: Buffer }> }).v.map((r) => r.v.toString()).sort().join(',')}`);
      // The cluster's nodes still see the source as the owner.
      await say(0, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dst.id);
      await say(0, 'MIGRATE', '127.0.0.1', dstPort, '', '0', '5000', 'KEYS', b, c, missing);
      await say(0, 'MIGRATE', '127.0.0.1', dstPort, '', '0', '5000', 'KEYS', b);
      await say(0, 'GET', b);
      await say(0, 'MGET', a, b);
      await say(0, 'DEL', a, b);
      await say(0, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      await say(1, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      const epochsBefore = await info(dst);
      await say(1, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dst.id);
      await say(0, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', dst.id);
      const epochsAfter = await info(dst);
      got.push(`dst epoch ${epochsBefore.cluster_my_epoch} -> ${epochsAfter.cluster_my_epoch}, current ${epochsBefore.cluster_current_epoch} -> ${epochsAfter.cluster_current_epoch}`);
      await say(0, 'GET', a);
      await say(1, 'GET', a);
      await say(1, 'PTTL', c);
      // The third node learns the new owner from the bus (dst's new, higher configEpoch wins).
      await waitUntil('the third node routing the slot to dst', async () =>
        formatReply(await third.conn.send('GET', a)).includes(`MOVED ${slot} 127.0.0.1:${dstPort}`), 15_000);
      await say(2, 'GET', a);
      await say(2, 'CLUSTER', 'SETSLOT', String(slot), 'STABLE');
      const stats = text(await dst.conn.send('INFO', 'commandstats')).split('\r\n').filter((l) => /^cmdstat_(restore|restore-asking|select|asking):/.test(l))
        .map((l) => l.replace(/,usec=.*?,usec_per_call=[^,]*/, ''));
      // INFO's order of commands is redis-server's dict order.
      got.push(...stats.sort());
      got.push(...(await shape(nodes)));
      transcripts[kind] = got;
      logs[kind] = epochLog(nodes);
      await checkClean(third);
      await stopStartedNodes();
    }
    // PTTL's exact value differs by the milliseconds each run took.
    const ttl = (l: string) => l.replace(/PTTL (\S+) -> \(integer\) 5\d{5}$/, 'PTTL $1 -> (integer) 5xxxxx');
    expect(transcripts.keyfork.map(ttl)).toEqual(transcripts.redis.map(ttl));
    expect(logs.keyfork).toEqual(logs.redis);
  }, 150_000);

  it('redis-cli --cluster reshard between keyfork masters moves the keys as between redis-server masters', async () => {
    const results: Record<string, unknown> = {};
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const nodes = [await startNode(kind), await startNode(kind), await startNode(kind)];
      await clusterCreate(nodes);
      const name = namer(nodes);
      const moving = Array.from({ length: 40 }, (_, i) => i);
      const d = await fill(nodes, moving, 150);
      const before = await shape(nodes);
      const out = await reshard(nodes[0], nodes[1], nodes[2], 40);
      await checkClean(nodes[2]);
      const after = await shape(nodes);
      await readAll(nodes[0], d);
      results[kind] = { before, after, out: cliText(out, name), epochs: epochLog(nodes) };
      // Resharded keys moved: dst owns slots 0-39 and holds their 120 keys.
      expect(after[1]).toContain('0-39');
      await stopStartedNodes();
    }
    expect(results.keyfork).toEqual(results.redis);
  }, 180_000);

  it('reshard between keyfork and redis-server masters, both directions', async () => {
    // keyfork N0 -> redis N1, then redis N1 -> keyfork N2: the same 30 slots' keys hop twice.
    const nodes = [await startNode('keyfork'), await startNode('redis'), await startNode('keyfork')];
    await clusterCreate(nodes);
    const moving = Array.from({ length: 30 }, (_, i) => i);
    const d = await fill(nodes, moving, 100);
    const keys0 = Number(formatReply(await nodes[0].conn.send('DBSIZE')).replace('(integer) ', ''));
    const out1 = await reshard(nodes[0], nodes[1], nodes[0], 30);
    expect(out1).toContain('Moving slot 29 from');
    await checkClean(nodes[1]);
    expect(formatReply(await nodes[0].conn.send('DBSIZE'))).toBe(`(integer) ${keys0 - 90}`);
    expect(formatReply(await nodes[1].conn.send('CLUSTER', 'COUNTKEYSINSLOT', '7'))).toBe('(integer) 3');
    await readAll(nodes[2], d);
    // redis-server's slots are taken from its lowest: 0-29 again.
    const out2 = await reshard(nodes[1], nodes[2], nodes[1], 30);
    expect(out2).toContain('Moving slot 29 from');
    await checkClean(nodes[0]);
    expect(formatReply(await nodes[2].conn.send('CLUSTER', 'COUNTKEYSINSLOT', '7'))).toBe('(integer) 3');
    expect(formatReply(await nodes[1].conn.send('CLUSTER', 'COUNTKEYSINSLOT', '7'))).toBe('(integer) 0');
    const mine = text(await nodes[2].conn.send('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself')) as string;
    expect(mine.split(' ').slice(8)).toEqual(['0-29', '10923-16383']);
    await readAll(nodes[1], d);
    // The redis-server node answers for the moved slots with MOVED to the keyfork node.
    const k = [...d.hashes.keys()][0];
    expect(formatReply(await nodes[1].conn.send('HGETALL', k))).toBe(`(error) MOVED ${keySlot(k)} 127.0.0.1:${nodes[2].server.port}`);
  }, 150_000);

  it('add-node (empty master and replica), rebalance --cluster-use-empty-masters, del-node', async () => {
    const results: Record<string, unknown> = {};
    for (const kind of ['redis', 'keyfork'] as Kind[]) {
      const nodes = [await startNode(kind), await startNode(kind), await startNode(kind)];
      await clusterCreate(nodes);
      const d = await fill(nodes, [0, 5461, 10923, 16383], 200);
      const fresh = await startNode(kind);
      const replica = await startNode(kind);
      const all = [...nodes, fresh, replica];
      const name = namer(all);
      const add = await run(cli(), ['--cluster', 'add-node', `127.0.0.1:${fresh.server.port}`, `127.0.0.1:${nodes[0].server.port}`], { timeout: 60_000 });
      await waitConverged([...nodes, fresh]);
      const addSlave = await run(cli(), ['--cluster', 'add-node', `127.0.0.1:${replica.server.port}`, `127.0.0.1:${nodes[0].server.port}`,
        '--cluster-slave', '--cluster-master-id', fresh.id], { timeout: 60_000 });
      await waitConverged(all);
      await checkClean(nodes[1]);
      // The new master's weight of 0.05 asks for 1/61 of the slots (268), not a quarter: the same
      // per-slot steps as a full rebalance (IMPORTING, MIGRATING, GETKEYSINSLOT, MIGRATE, SETSLOT
      // NODE on every master) in a few seconds.
      const rebalance = await run(cli(), ['--cluster', 'rebalance', `127.0.0.1:${nodes[0].server.port}`, '--cluster-use-empty-masters',
        '--cluster-weight', `${fresh.id}=0.05`], { timeout: 120_000 });
      await checkClean(fresh);
      const counts: string[] = [];
      for (const n of [...nodes, fresh]) counts.push(text(await n.conn.send('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'))!.split(' ').slice(8).join(' '));
      // The replica follows the new master and holds the same keys.
      await waitUntil('the replica in sync', async () => formatReply(await replica.conn.send('DBSIZE')) === formatReply(await fresh.conn.send('DBSIZE')) &&
        (await info(replica)).cluster_state === 'ok', 20_000);
      expect(formatReply(await fresh.conn.send('DBSIZE'))).not.toBe('(integer) 0');
      await readAll(fresh, d);
      const del = await run(cli(), ['--cluster', 'del-node', `127.0.0.1:${nodes[0].server.port}`, replica.id], { timeout: 60_000 });
      await waitUntil('the replica forgotten everywhere', async () => {
        for (const n of [...nodes, fresh]) if (text(await n.conn.send('CLUSTER', 'NODES')).includes(replica.id)) return false;
        return true;
      }, 15_000);
      const delMaster = await run(cli(), ['--cluster', 'del-node', `127.0.0.1:${nodes[0].server.port}`, fresh.id], { timeout: 60_000 }).catch((e) => e as { stdout: string });
      results[kind] = {
        add: cliText(add.stdout, name),
        addSlave: cliText(addSlave.stdout, name),
        rebalance: cliText(rebalance.stdout, name).filter((l) => !/^Moving slot \d+ from/.test(l)),
        moved: rebalance.stdout.match(/Moving slot \d+ from/g)?.length,
        counts,
        del: cliText(del.stdout, name),
        delMaster: cliText(delMaster.stdout, name),
        // The deleted node was reset (CLUSTER RESET SOFT): it knows only itself.
        deletedKnows: (await info(replica)).cluster_known_nodes,
      };
      await stopStartedNodes();
    }
    expect(results.keyfork).toEqual(results.redis);
  }, 240_000);


  it('ioredis follows -ASK through an open migration, keyfork -> redis-server and redis-server -> keyfork', async () => {
    const nodes = [await startNode('keyfork'), await startNode('redis'), await startNode('keyfork')];
    await clusterCreate(nodes);
    const client = new IORedis.Cluster([{ host: '127.0.0.1', port: nodes[2].server.port }], { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 2 } });
    try {
      await client.connect();
      // Slot 200 (N0, keyfork) goes to N1 (redis-server); slot 6000 (N1) goes to N2 (keyfork).
      for (const [slot, src, dst] of [[200, nodes[0], nodes[1]], [6000, nodes[1], nodes[2]]] as Array<[number, Node, Node]>) {
        const tag = tagsFor([slot]).get(slot) as string;
        const keys = Array.from({ length: 20 }, (_, i) => `{${tag}}:${i}`);
        for (const k of keys) expect(await client.set(k, `v-${k}`)).toBe('OK');
        expect(text(await dst.conn.send('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', src.id))).toBe('OK');
        expect(text(await src.conn.send('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dst.id))).toBe('OK');
        expect(text(await src.conn.send('MIGRATE', '127.0.0.1', String(dst.server.port), '', '0', '5000', 'KEYS', ...keys.slice(0, 10)))).toBe('OK');
        expect(formatReply(await src.conn.send('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe('(integer) 10');
        expect(formatReply(await dst.conn.send('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe('(integer) 10');
        // Half moved: the moved ones answer -ASK on the source, the client retries with ASKING.
        for (const k of keys) expect(await client.get(k)).toBe(`v-${k}`);
        // A new key of the open slot is missing on the source: -ASK sends it to the target.
        expect(await client.set(`{${tag}}:new`, 'n')).toBe('OK');
        expect(formatReply(await dst.conn.send('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe('(integer) 11');
        expect(text(await src.conn.send('MIGRATE', '127.0.0.1', String(dst.server.port), '', '0', '5000', 'KEYS', ...keys.slice(10)))).toBe('OK');
        for (const n of [dst, src, nodes.find((x) => x !== src && x !== dst) as Node]) {
          expect(text(await n.conn.send('CLUSTER', 'SETSLOT', String(slot), 'NODE', dst.id))).toBe('OK');
        }
        for (const k of keys) expect(await client.get(k)).toBe(`v-${k}`);
        expect(await client.get(`{${tag}}:new`)).toBe('n');
        expect(formatReply(await dst.conn.send('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe('(integer) 21');
        expect(formatReply(await src.conn.send('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe('(integer) 0');
      }
      await checkClean(nodes[0]);
    } finally {
      client.disconnect();
    }
  }, 90_000);
});
