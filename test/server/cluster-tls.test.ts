// tls-cluster and cluster-announce-tls-port, against redis-server 7.0.15 built with TLS: the bus
// speaks TLS both ways (each node presents its certificate, a peer without a valid one is
// refused whatever tls-auth-clients says), a node's client port is its TLS port and the
// plaintext one travels as pport, and CLUSTER NODES / SLOTS / SHARDS / REPLICAS and MOVED / ASK
// answer each client with the port of its own connection type. Keyfork-only clusters form, fail
// over and serve `redis-cli --tls -c`; mixed clusters meet in both directions.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { type Kind, type Node, cli, info, sleep, startNode, started, stopStartedNodes, text, waitUntil as waitFor } from '../helpers/cluster-nodes';
import { formatReply, RawConnection, type Reply } from '../helpers/resp';
import { FREE_PORT, startKeyfork, startRedis } from '../helpers/servers';
import { type Certificates, makeCertificates } from '../helpers/tls-certs';

const execFileP = promisify(execFile);
/** execFile with the command's output in the error (redis-cli says why it failed on stdout). */
async function run(file: string, args: string[], opts: { timeout?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileP(file, args, { timeout: 30_000, ...opts });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}
let certs: Certificates;

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs?.remove());
afterEach(stopStartedNodes);

const waitUntil = (what: string, pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => waitFor(what, pred, timeoutMs);

/** A node's TLS settings: its own certificate serves clients and the bus (both ways). */
function tlsArgs(): string[] {
  return ['--tls-port', FREE_PORT, '--tls-cert-file', certs.file('server.crt'), '--tls-key-file', certs.file('server.key'),
    '--tls-ca-cert-file', certs.file('ca.crt'), '--tls-cluster', 'yes', '--tls-replication', 'yes'];
}

interface TlsNode extends Node {
  tlsPort: number;
  /** A connection over TLS, as a client with its certificate. */
  tconn: RawConnection;
}

function clientTls(): tls.ConnectionOptions {
  return { ca: fs.readFileSync(certs.file('ca.crt')), cert: fs.readFileSync(certs.file('client.crt')), key: fs.readFileSync(certs.file('client.key')) };
}

const tlsConns: RawConnection[] = [];
afterEach(() => {
  for (const c of tlsConns.splice(0)) c.close();
});

async function startTlsNode(kind: Kind, extra: string[] = []): Promise<TlsNode> {
  const node = await startNode(kind, [...tlsArgs(), ...extra]);
  const tlsPort = node.server.extraPorts[0];
  const tconn = await RawConnection.connect(tlsPort, { tls: clientTls() });
  tlsConns.push(tconn);
  return Object.assign(node, { tlsPort, tconn });
}

const cliTls = (): string[] => ['--tls', '--cacert', certs.file('ca.crt'), '--cert', certs.file('client.crt'), '--key', certs.file('client.key')];

/** The CLUSTER NODES line of `id` as `n` shows it. */
async function lineOf(conn: RawConnection, id: string): Promise<string[]> {
  const line = text(await conn.send('CLUSTER', 'NODES')).split('\n').find((l) => l.startsWith(id));
  return line ? line.split(' ') : [];
}

/** Every node knows `count` nodes and the cluster is ok. */
async function converged(nodes: Node[], count: number): Promise<void> {
  await waitUntil(`${count} nodes, cluster ok everywhere`, async () => {
    for (const n of nodes) {
      const i = await info(n);
      if (i.cluster_state !== 'ok' || i.cluster_known_nodes !== String(count)) return false;
    }
    return true;
  });
}

/** A CLUSTER NODES reply without what differs from node to node (myself, ping/pong times, link state). */
function nodesView(reply: string): string[] {
  return reply.split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    f[2] = f[2].replace('myself,', '');
    f[4] = f[5] = '_';
    return f.join(' ');
  }).sort();
}

/** CLUSTER SHARDS with the replication offsets (which move) blanked. */
function shardsView(reply: Reply): string {
  const blank = (r: Reply): Reply => {
    if (r.t !== 'array' || r.v === null) return r;
    const v = r.v.map(blank);
    for (let i = 0; i + 1 < v.length; i++) {
      const k = v[i];
      if (k.t === 'bulk' && k.v?.toString() === 'replication-offset') v[i + 1] = { t: 'int', v: 0 };
    }
    return { t: 'array', v };
  };
  // The shards come in each server's own node-table order: compare them as a set.
  const b = blank(reply);
  return b.t === 'array' && b.v ? b.v.map((x) => formatReply(x)).sort().join('\n') : formatReply(b);
}

describeDifferential('cluster bus over TLS', () => {
  it('keyfork nodes form a cluster over the TLS bus, answer redis-cli --tls -c and fail over', async () => {
    const masters = [await startTlsNode('keyfork'), await startTlsNode('keyfork'), await startTlsNode('keyfork')];
    await run(cli(), [...cliTls(), '--cluster', 'create', ...masters.map((n) => `127.0.0.1:${n.tlsPort}`), '--cluster-yes'], { timeout: 60_000 });
    await converged(masters, 3);
    // The nodes learned each other's TLS port from the bus (the message's port) and the plaintext
    // one (its pport): a TLS client is told the TLS ports, a plaintext one the plaintext ports.
    for (const n of masters) {
      for (const m of masters) {
        expect((await lineOf(n.tconn, m.id))[1]).toBe(`127.0.0.1:${m.tlsPort}@${m.bus}`);
        expect((await lineOf(n.conn, m.id))[1]).toBe(`127.0.0.1:${m.server.port}@${m.bus}`);
      }
    }
    // nodes.conf keeps the TLS ports (Redis 7.0 writes the client port, TLS's here).
    await masters[0].conn.send('CLUSTER', 'SAVECONFIG');
    const conf = fs.readFileSync(path.join(masters[0].server.dir, 'nodes.conf'), 'utf8');
    for (const m of masters) expect(conf).toContain(`127.0.0.1:${m.tlsPort}@${m.bus}`);
    // redis-cli --tls -c follows MOVED to the TLS ports; plain redis-cli -c to the plaintext ones.
    for (let i = 0; i < 6; i++) {
      const set = await run(cli(), [...cliTls(), '-c', '-p', String(masters[i % 3].tlsPort), 'SET', `key:${i}`, `v${i}`]);
      expect(set.stdout.trim()).toBe('OK');
      const get = await run(cli(), ['-c', '-p', String(masters[(i + 1) % 3].server.port), 'GET', `key:${i}`]);
      expect(get.stdout.trim()).toBe(`v${i}`);
    }
    const check = await run(cli(), [...cliTls(), '--cluster', 'check', `127.0.0.1:${masters[0].tlsPort}`], { timeout: 30_000 });
    expect(check.stdout).toContain('[OK] All 16384 slots covered.');

    // A replica joins over the TLS bus (MEET to the TLS node's bus) and replicates over TLS.
    const replica = await startTlsNode('keyfork');
    expect(text(await replica.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(masters[0].tlsPort), String(masters[0].bus)))).toBe('OK');
    await waitUntil('the new node known everywhere', async () => (await info(replica)).cluster_known_nodes === '4' && (await lineOf(masters[1].conn, replica.id)).length > 0);
    const victim = masters[0];
    await waitUntil('replica known as such', async () => {
      const r = await replica.conn.send('CLUSTER', 'REPLICATE', victim.id);
      return text(r) === 'OK';
    });
    await waitUntil('replica in sync', async () => text(await replica.conn.send('INFO', 'replication')).includes('master_link_status:up'));
    // CLUSTER REPLICAS: the port of the asking connection's type.
    expect(formatReply(await victim.tconn.send('CLUSTER', 'REPLICAS', victim.id))).toContain(`127.0.0.1:${replica.tlsPort}@${replica.bus}`);
    const plainReplicas = await victim.conn.send('CLUSTER', 'REPLICAS', victim.id);
    expect(formatReply(plainReplicas)).toContain(`127.0.0.1:${replica.server.port}@${replica.bus}`);

    await victim.server.stop('SIGKILL');
    started.splice(started.indexOf(victim), 1);
    victim.conn.close();
    const survivors = [masters[1], masters[2], replica];
    await waitUntil('the replica promoted, cluster ok', async () => {
      for (const n of survivors) {
        if ((await info(n)).cluster_state !== 'ok') return false;
        if (!(await lineOf(n.conn, replica.id))[2]?.includes('master')) return false;
      }
      return true;
    }, 40_000);
    expect(replica.server.output()).toContain("Failover election won: I'm the new master.");
    // The data moved with the slots, and the redirections now name the heir's ports.
    const key = ['key:0', 'key:1', 'key:2', 'key:3', 'key:4', 'key:5'];
    for (let i = 0; i < key.length; i++) {
      const get = await run(cli(), [...cliTls(), '-c', '-p', String(masters[1].tlsPort), 'GET', key[i]]);
      expect(get.stdout.trim()).toBe(`v${i}`);
    }
  }, 180_000);

  it('keyfork and redis-server nodes meet over the TLS bus in both directions and agree on every port', async () => {
    const k1 = await startTlsNode('keyfork');
    const r1 = await startTlsNode('redis');
    const k2 = await startTlsNode('keyfork');
    const r2 = await startTlsNode('redis');
    const all = [k1, r1, k2, r2];
    // keyfork meets redis, redis meets keyfork (each side opens the first link).
    expect(text(await k1.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(r1.tlsPort), String(r1.bus)))).toBe('OK');
    expect(text(await r1.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(k2.tlsPort), String(k2.bus)))).toBe('OK');
    expect(text(await r2.conn.send('CLUSTER', 'MEET', '127.0.0.1', String(k1.tlsPort), String(k1.bus)))).toBe('OK');
    await waitUntil('four nodes known everywhere', async () => {
      for (const n of all) if ((await info(n)).cluster_known_nodes !== '4') return false;
      return true;
    });
    const ranges = [['0', '4095'], ['4096', '8191'], ['8192', '12287'], ['12288', '16383']];
    for (let i = 0; i < all.length; i++) expect(text(await all[i].conn.send('CLUSTER', 'ADDSLOTSRANGE', ...ranges[i]))).toBe('OK');
    await converged(all, 4);
    await waitUntil('one view everywhere', async () => {
      const views = await Promise.all(all.map(async (n) => nodesView(text(await n.tconn.send('CLUSTER', 'NODES'))).join('\n')));
      return views.every((v) => v === views[0] && !v.includes('fail') && (v.match(/ connected/g) ?? []).length === 4);
    });
    // Every node's view of every other, on each connection type, is the same on keyfork and
    // Redis: the TLS ports (the header's port) and the plaintext ones (its pport) crossed the
    // bus in both directions.
    for (const conn of ['tconn', 'conn'] as const) {
      const kv = nodesView(text(await k1[conn].send('CLUSTER', 'NODES')));
      const rv = nodesView(text(await r1[conn].send('CLUSTER', 'NODES')));
      expect(kv).toEqual(rv);
      for (const n of all) expect(kv.join('\n')).toContain(`${n.id} 127.0.0.1:${conn === 'tconn' ? n.tlsPort : n.server.port}@${n.bus}`);
      // CLUSTER SLOTS, the same topology asked on both kinds of node.
      expect(formatReply(await k2[conn].send('CLUSTER', 'SLOTS'))).toBe(formatReply(await r2[conn].send('CLUSTER', 'SLOTS')));
      // CLUSTER SHARDS names both ports whoever asks.
      expect(shardsView(await k1[conn].send('CLUSTER', 'SHARDS'))).toBe(shardsView(await r1[conn].send('CLUSTER', 'SHARDS')));
      // MOVED to a third node (a keyfork one and a Redis one): the port of the client's connection type.
      for (const owner of [k2, r2]) {
        const key = keyIn(ranges[all.indexOf(owner)]);
        const moved = await Promise.all([k1, r1].map(async (n) => text(await n[conn].send('GET', key))));
        expect(moved[0]).toBe(`MOVED ${keySlot(key)} 127.0.0.1:${conn === 'tconn' ? owner.tlsPort : owner.server.port}`);
        expect(moved[1]).toBe(moved[0]);
      }
    }
    const slotsTls = formatReply(await k1.tconn.send('CLUSTER', 'SLOTS'));
    const slotsPlain = formatReply(await k1.conn.send('CLUSTER', 'SLOTS'));
    const shards = formatReply(await k1.conn.send('CLUSTER', 'SHARDS'));
    for (const n of all) {
      expect(slotsTls).toContain(String(n.tlsPort));
      expect(slotsPlain).toContain(String(n.server.port));
      expect(shards).toContain(String(n.tlsPort));
      expect(shards).toContain(String(n.server.port));
    }

    // ASK during a migration: keyfork's k2 (a slot moving to Redis's r1) and Redis's r2 (a slot
    // moving to keyfork's k1) name the target's port of the client's connection type.
    for (const [source, target] of [[k2, r1], [r2, k1]] as const) {
      const key = keyIn(ranges[all.indexOf(source)]);
      expect(text(await source.conn.send('CLUSTER', 'SETSLOT', String(keySlot(key)), 'MIGRATING', target.id))).toBe('OK');
      for (const conn of ['tconn', 'conn'] as const) {
        expect(text(await source[conn].send('GET', key))).toBe(`ASK ${keySlot(key)} 127.0.0.1:${conn === 'tconn' ? target.tlsPort : target.server.port}`);
      }
    }
  }, 180_000);

  it('cluster-announce-tls-port and cluster-announce-port shape the ports as in Redis', async () => {
    const cases: string[][] = [
      [],
      ['--cluster-announce-tls-port', '7443'],
      ['--cluster-announce-tls-port', '7443', '--cluster-announce-port', '7001'],
      ['--cluster-announce-port', '7001'],
      ['--cluster-announce-bus-port', '17001'],
    ];
    for (const extra of cases) {
      const nodes = [await startTlsNode('keyfork', extra), await startTlsNode('redis', extra)];
      const seen: string[][] = [];
      for (const n of nodes) {
        await n.conn.send('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
        const norm = (s: string) => s.replaceAll(n.id, 'ID').replaceAll(String(n.tlsPort), 'TLS').replaceAll(String(n.server.port), 'PLAIN').replaceAll(String(n.bus), 'BUS');
        const out: string[] = [];
        for (const conn of [n.tconn, n.conn]) {
          out.push(norm(nodesView(text(await conn.send('CLUSTER', 'NODES'))).join('\n')));
          out.push(norm(formatReply(await conn.send('CLUSTER', 'SLOTS'))));
          out.push(norm(shardsView(await conn.send('CLUSTER', 'SHARDS'))));
        }
        await n.conn.send('CLUSTER', 'SAVECONFIG');
        const conf = fs.readFileSync(path.join(n.server.dir, 'nodes.conf'), 'utf8').split('\n')[0].split(' ').slice(1, 2).join(' ');
        out.push(norm(conf));
        seen.push(out);
      }
      expect(seen[0], `with ${extra.join(' ') || 'no announcements'}`).toEqual(seen[1]);
      await stopStartedNodes();
    }
    // CONFIG SET moves the announced ports at once (the next command sees them).
    const nodes = [await startTlsNode('keyfork'), await startTlsNode('redis')];
    const seen: string[][] = [];
    for (const n of nodes) {
      const norm = (s: string) => s.replaceAll(n.id, 'ID').replaceAll(String(n.tlsPort), 'TLS').replaceAll(String(n.server.port), 'PLAIN').replaceAll(String(n.bus), 'BUS');
      const out: string[] = [];
      for (const [name, value] of [['cluster-announce-port', '7001'], ['cluster-announce-tls-port', '7443'], ['cluster-announce-bus-port', '17001'], ['cluster-announce-tls-port', '0'], ['cluster-announce-port', '0']]) {
        out.push(text(await n.conn.send('CONFIG', 'SET', name, value)));
        for (const conn of [n.conn, n.tconn]) {
          out.push(norm(text(await conn.send('CLUSTER', 'NODES'))));
          out.push(norm(shardsView(await conn.send('CLUSTER', 'SHARDS'))));
        }
      }
      seen.push(out);
    }
    expect(seen[0]).toEqual(seen[1]);
  }, 120_000);

  it('the bus refuses a peer without a valid certificate whatever tls-auth-clients says, as Redis does', async () => {
    for (const auth of ['yes', 'no']) {
      const nodes = [await startTlsNode('keyfork', ['--tls-auth-clients', auth, '--loglevel', 'verbose']), await startTlsNode('redis', ['--tls-auth-clients', auth, '--loglevel', 'verbose'])];
      for (const n of nodes) {
        const outcomes: string[] = [];
        for (const who of ['none', 'stranger', 'client'] as const) {
          outcomes.push(await busHandshake(n.bus, who));
        }
        // A good certificate gets in (and may send anything); the others are cut off.
        expect(outcomes, `${n.kind} tls-auth-clients ${auth}`).toEqual(['refused', 'refused', 'accepted']);
        await waitUntil('the refusals logged', async () => (n.server.output().match(/Error accepting cluster node connection: /g) ?? []).length >= 2, 10_000);
        const lines = n.server.output().split('\n').filter((l) => l.includes('Error accepting cluster node connection: ')).map((l) => l.replace(/^.*? - /, ''));
        expect(lines.slice(0, 2)).toEqual([
          'Error accepting cluster node connection: error:0A0000C7:SSL routines::peer did not return a certificate',
          'Error accepting cluster node connection: error:0A000086:SSL routines::certificate verify failed',
        ]);
      }
      // A plaintext peer is not a bus message: nothing it sends is processed.
      for (const n of nodes) {
        const before = (await info(n)).cluster_stats_messages_received ?? '0';
        const sock = net.connect(n.bus, '127.0.0.1');
        sock.on('error', () => undefined); // the node may reset it
        await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
        sock.write(Buffer.concat([Buffer.from('RCmb'), Buffer.alloc(2300)]));
        await sleep(300);
        sock.destroy();
        expect((await info(n)).cluster_stats_messages_received ?? '0').toBe(before);
      }
      await stopStartedNodes();
    }
  }, 120_000);

  it('MIGRATE goes over TLS with tls-cluster, as Redis, and redis-cli --tls --cluster reshard moves slots between keyfork nodes', async () => {
    // Sources keyfork and Redis, each migrating to a TLS target of either kind: the same replies.
    const [k, r] = [await startTlsNode('keyfork'), await startTlsNode('redis')];
    const targets = [await startTlsNode('keyfork'), await startTlsNode('redis')];
    for (const n of [k, r, ...targets]) expect(text(await n.conn.send('CLUSTER', 'ADDSLOTSRANGE', '0', '16383'))).toBe('OK');
    await converged([k, r, ...targets], 1);
    const replies: string[][] = [];
    for (const source of [k, r]) {
      const out: string[] = [];
      for (const t of targets) {
        const key = `mig:${source.kind}:${t.kind}`;
        await source.conn.send('SET', key, 'payload');
        out.push(formatReply(await source.conn.send('MIGRATE', '127.0.0.1', String(t.tlsPort), key, '0', '5000')));
        out.push(formatReply(await t.conn.send('GET', key)));
        out.push(formatReply(await source.conn.send('EXISTS', key)));
        // The plaintext port does not speak TLS: the connection cannot be made.
        await source.conn.send('SET', key, 'again');
        out.push(formatReply(await source.conn.send('MIGRATE', '127.0.0.1', String(t.server.port), key, '0', '2000')));
        out.push(formatReply(await source.conn.send('EXISTS', key)));
      }
      replies.push(out);
    }
    expect(replies[0]).toEqual(replies[1]);
    expect(replies[0][0]).toBe('OK');
    expect(replies[0][1]).toBe('"payload"');
    expect(replies[0][3]).toBe('(error) IOERR error or timeout connecting to the client');
    await stopStartedNodes();

    // Resharding a TLS cluster of keyfork masters with redis-cli: MIGRATE over TLS, keys follow.
    const masters = [await startTlsNode('keyfork'), await startTlsNode('keyfork'), await startTlsNode('redis')];
    await run(cli(), [...cliTls(), '--cluster', 'create', ...masters.map((n) => `127.0.0.1:${n.tlsPort}`), '--cluster-yes'], { timeout: 60_000 });
    await converged(masters, 3);
    // redis-cli moves a source's lowest slots first: keys in slots 0-299 travel keyfork ->
    // keyfork -> Redis -> keyfork, each hop a MIGRATE over TLS.
    const keys = keysIn(['0', '299'], 20);
    for (const key of keys) expect((await run(cli(), [...cliTls(), '-c', '-p', String(masters[1].tlsPort), 'SET', key, `v-${key}`])).stdout.trim()).toBe('OK');
    expect(text(await masters[0].conn.send('DBSIZE'))).toBe('20');
    for (const [from, to] of [[0, 1], [1, 2], [2, 0]]) {
      await run(cli(), [...cliTls(), '--cluster', 'reshard', `127.0.0.1:${masters[0].tlsPort}`, '--cluster-from', masters[from].id, '--cluster-to', masters[to].id,
        '--cluster-slots', '300', '--cluster-yes'], { timeout: 60_000 });
      expect(text(await masters[to].conn.send('DBSIZE'))).toBe('20');
      expect(text(await masters[from].conn.send('DBSIZE'))).toBe('0');
    }
    const check = await run(cli(), [...cliTls(), '--cluster', 'check', `127.0.0.1:${masters[0].tlsPort}`], { timeout: 30_000 });
    expect(check.stdout).toContain('[OK] All 16384 slots covered.');
    for (const key of keys) {
      const get = await run(cli(), [...cliTls(), '-c', '-p', String(masters[2].tlsPort), 'GET', key]);
      expect(get.stdout.trim()).toBe(`v-${key}`);
    }
  }, 180_000);

  it('tls-cluster without a CA stops start-up with Redis words', async () => {
    const args = ['--cluster-enabled', 'yes', '--tls-cluster', 'yes', '--tls-auth-clients', 'no', '--tls-port', FREE_PORT,
      '--tls-cert-file', certs.file('server.crt'), '--tls-key-file', certs.file('server.key')];
    const outputs: string[] = [];
    for (const start of [startKeyfork, startRedis]) {
      const err = await start({ args }).then((s) => { void s.stop('SIGKILL'); return null; }, (e: Error) => e);
      expect(err).not.toBeNull();
      outputs.push(String((err as Error & { output?: string }).output ?? err!.message));
    }
    for (const o of outputs) {
      expect(o).toContain('Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!');
      expect(o).toContain('Failed to configure TLS. Check logs for more info.');
    }
  }, 60_000);
});

/** CRC16/XMODEM of the hash tag rule's bytes: Redis's keyHashSlot. */
function keySlot(key: string): number {
  let crc = 0;
  for (const b of Buffer.from(key)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** `count` keys (no hash tag) whose slots are in [lo, hi]. */
function keysIn([lo, hi]: string[], count: number): string[] {
  const out: string[] = [];
  for (let n = 0; n < 1_000_000 && out.length < count; n++) {
    const s = keySlot(`key:${n}`);
    if (s >= Number(lo) && s <= Number(hi)) out.push(`key:${n}`);
  }
  if (out.length < count) throw new Error('no key found');
  return out;
}

const keyIn = (range: string[]): string => keysIn(range, 1)[0];

/** One TLS handshake with a bus port as `who`, then a moment to see whether the node cut us off. */
function busHandshake(port: number, who: 'none' | 'stranger' | 'client'): Promise<'accepted' | 'refused'> {
  return new Promise((resolve) => {
    const cred = who === 'none' ? {} : { cert: fs.readFileSync(certs.file(`${who}.crt`)), key: fs.readFileSync(certs.file(`${who}.key`)) };
    const sock = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(certs.file('ca.crt')), checkServerIdentity: () => undefined, ...cred });
    let settled = false;
    const done = (v: 'accepted' | 'refused') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    // TLS 1.3: the client finishes first; a refusal arrives as an alert (an error or a close) right after.
    const timer = setTimeout(() => done('accepted'), 1000);
    sock.on('error', () => done('refused'));
    sock.on('close', () => done('refused'));
  });
}
