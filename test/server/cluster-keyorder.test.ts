// CLUSTER GETKEYSINSLOT's order against redis-server 7.0.15: Redis lists a slot's keys newest
// first (each new dict entry goes to the head of its slot's list), so an overwrite keeps a key's
// place, a key deleted and added again (RENAME, COPY, RESTORE REPLACE, a TTL run out) moves to
// the head, keys arriving by MIGRATE come newest first on the target, and after an RDB load the
// file's last key comes first. Single cluster-enabled nodes with every slot, no bus.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { formatReply, RawConnection, type Arg } from '../helpers/resp';
import { NODE_A, NODE_B, startClusterNode, stopAll, tempDir, waitState, WHICH, type ClusterNodeServer, type Which } from './cluster-support';

const conf = (name: string) => `${name} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n`;

/** The slot of hash tag "t". */
const SLOT = '15891';

let started: ClusterNodeServer[] = [];
let conns: RawConnection[] = [];
afterEach(async () => {
  conns.forEach((c) => c.close());
  conns = [];
  await stopAll(started);
  started = [];
});

async function node(which: Which, opts: { name?: string; dir?: string; slots?: boolean } = {}): Promise<{ n: ClusterNodeServer; c: RawConnection }> {
  const dir = opts.dir ?? tempDir();
  const n = await startClusterNode(which, { nodesConf: conf(opts.name ?? NODE_A), dir });
  started.push(n);
  const c = await RawConnection.connect(n.port);
  conns.push(c);
  if (opts.slots !== false) {
    expect(formatReply(await c.send('CLUSTER', 'ADDSLOTSRANGE', '0', '16383'))).toBe('OK');
    await waitState(n.port, 'ok');
  }
  return { n, c };
}

/** Runs `commands` on both connections, then returns each one's GETKEYSINSLOT of the slot. */
async function run(c: RawConnection, commands: Arg[][]): Promise<string[]> {
  const out: string[] = [];
  for (const cmd of commands) out.push(`${cmd.join(' ')} -> ${formatReply(await c.send(...cmd))}`);
  out.push(formatReply(await c.send('CLUSTER', 'GETKEYSINSLOT', SLOT, '1000')));
  return out;
}

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `{t}${prefix}${i}`);

describeDifferential('CLUSTER GETKEYSINSLOT order (differential)', () => {
  it('lists keys newest first through overwrites, deletes, renames and copies', async () => {
    const script: Arg[][] = [
      ...keys('k', 40).map((k) => ['SET', k, 'v']),
      ['CLUSTER', 'GETKEYSINSLOT', SLOT, '5'],
      // Overwrites keep a key's place.
      ['SET', '{t}k3', 'w'],
      ['APPEND', '{t}k5', 'x'],
      ['INCR', '{t}n'],
      ['SET', '{t}k7', '12'],
      ['INCR', '{t}k7'],
      ['EXPIRE', '{t}k9', '1000'],
      ['PERSIST', '{t}k9'],
      ['SADD', '{t}s1', 'a'],
      ['SADD', '{t}s2', 'b'],
      ['SUNIONSTORE', '{t}k11', '{t}s1', '{t}s2'],
      ['CLUSTER', 'GETKEYSINSLOT', SLOT, '1000'],
      // Deleted and added again: the head.
      ['DEL', '{t}k0', '{t}k20'],
      ['SET', '{t}k0', 'again'],
      ['UNLINK', '{t}k21'],
      ['RENAME', '{t}k1', '{t}r1'],
      ['RENAME', '{t}k2', '{t}k30'],
      ['RENAME', '{t}k4', '{t}k4'],
      ['RENAMENX', '{t}k6', '{t}r6'],
      ['COPY', '{t}k8', '{t}c8'],
      ['COPY', '{t}k10', '{t}k31', 'REPLACE'],
      ['LPUSH', '{t}l', 'a'],
      ['LPOP', '{t}l'],
      ['LPUSH', '{t}l', 'b'],
      ['GETDEL', '{t}k12'],
      ['SET', '{t}k12', 'back'],
      ['SUNIONSTORE', '{t}k13', '{t}nosuch'],
      ['CLUSTER', 'GETKEYSINSLOT', SLOT, '1000'],
      ['CLUSTER', 'COUNTKEYSINSLOT', SLOT],
    ];
    const [k, r] = [await node('keyfork'), await node('redis')];
    const [kr, rr] = await Promise.all([run(k.c, script), run(r.c, script)]);
    expect(kr.join('\n')).toBe(rr.join('\n'));
  });

  it('puts a key whose TTL ran out and was set again at the head, and RESTORE REPLACE too', async () => {
    const prepare: Arg[][] = [...keys('k', 10).map((k) => ['SET', k, 'v']), ['PEXPIRE', '{t}k2', '50'], ['PEXPIRE', '{t}k4', '50']];
    const [k, r] = [await node('keyfork'), await node('redis')];
    await Promise.all([run(k.c, prepare), run(r.c, prepare)]);
    await new Promise((res) => setTimeout(res, 150));
    const dump = async (c: RawConnection) => {
      const d = await c.send('DUMP', '{t}k6');
      return d.t === 'bulk' && d.v ? d.v : Buffer.alloc(0);
    };
    const after = async (c: RawConnection) =>
      run(c, [['SET', '{t}k2', 'new'], ['SET', '{t}k9', 'over'], ['RESTORE', '{t}k6', '0', await dump(c), 'REPLACE'], ['RESTORE', '{t}k60', '0', await dump(c)], ['GET', '{t}k4'], ['SET', '{t}k4', 'x']]);
    const [kr, rr] = await Promise.all([after(k.c), after(r.c)]);
    expect(kr.join('\n')).toBe(rr.join('\n'));
  });

  it('orders keys moved by MIGRATE on the target as they arrived', async () => {
    const out: Record<Which, string[]> = { keyfork: [], redis: [] };
    for (const which of WHICH) {
      const src = await node(which);
      const dst = await node(which, { name: NODE_B });
      const script: Arg[][] = [
        ...keys('m', 12).map((k) => ['SET', k, 'v']),
        ['MIGRATE', '127.0.0.1', String(dst.n.port), '{t}m3', '0', '5000'],
        ['MIGRATE', '127.0.0.1', String(dst.n.port), '', '0', '5000', 'KEYS', '{t}m0', '{t}m7', '{t}m5'],
        ['MIGRATE', '127.0.0.1', String(dst.n.port), '', '0', '5000', 'COPY', 'KEYS', '{t}m9', '{t}m1'],
        ['SET', '{t}m5', 'again'],
        ['MIGRATE', '127.0.0.1', String(dst.n.port), '', '0', '5000', 'REPLACE', 'KEYS', '{t}m5', '{t}m8'],
      ];
      out[which].push(...(await run(src.c, script)).map((l) => l.split(String(dst.n.port)).join('PORT')));
      out[which].push(formatReply(await dst.c.send('CLUSTER', 'GETKEYSINSLOT', SLOT, '1000')));
    }
    expect(out.keyfork.join('\n')).toBe(out.redis.join('\n'));
  });

  it('lists keys loaded from an RDB file last loaded first', async () => {
    // redis-server writes the file; both servers load the same bytes.
    const writer = await node('redis');
    const fill: Arg[][] = [...keys('f', 60).map((k, i) => ['SET', k, String(i)]), ['HSET', '{t}h', 'a', '1'], ['SET', 'elsewhere', '1'], ['SAVE']];
    await run(writer.c, fill);
    const rdb = fs.readFileSync(path.join(writer.n.dir, 'dump.rdb'));
    const out: Record<Which, string[]> = { keyfork: [], redis: [] };
    for (const which of WHICH) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'dump.rdb'), rdb);
      const { c } = await node(which, { name: NODE_B, dir, slots: false });
      out[which] = await run(c, [['DBSIZE'], ['CLUSTER', 'COUNTKEYSINSLOT', SLOT]]);
    }
    expect(out.keyfork.join('\n')).toBe(out.redis.join('\n'));
  });
});
