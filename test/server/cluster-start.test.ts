// Cluster mode's start-up against the real redis-server 7.0: nodes.conf created with a new name
// (Redis's log lines and file format), kept across a restart, locked against a second node,
// refused when corrupted; the announced address directives in CLUSTER NODES and nodes.conf;
// INFO's cluster section; and cluster mode's limits on databases and REPLICAOF.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDifferential } from '../helpers/diff';
import { freePort } from '../helpers/ports';
import { RawConnection, type Arg, type Reply } from '../helpers/resp';
import { keyforkMainPath, redisServerPath } from '../helpers/servers';
import { compareNodes, messages, NODE_A, NODE_B, nodesText, startClusterNode, stopAll, tempDir, WHICH, type ClusterNodeServer, type Which } from './cluster-support';

const HEX40 = /^[0-9a-f]{40}$/;

function text(r: { t: string; v?: unknown }): string {
  return Buffer.isBuffer(r.v) ? r.v.toString() : String(r.v);
}

/** Starts a server expected to stop at start-up: its exit (code or signal) and log lines. */
function startupOutcome(which: Which, dir: string, args: string[]): Promise<{ code: number | null; signal: string | null; lines: string[] }> {
  const [cmd, argv] =
    which === 'keyfork'
      ? [process.execPath, [keyforkMainPath(), '--dir', dir, ...args]]
      : [redisServerPath() as string, ['--dir', dir, '--save', '', '--daemonize', 'no', ...args]];
  return new Promise((resolve) => {
    const proc = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines: messages(out) });
    });
  });
}

async function clusterArgs(): Promise<string[]> {
  return ['--port', String(await freePort()), '--cluster-enabled', 'yes', '--cluster-port', String(await freePort())];
}

describeDifferential('cluster mode start-up (differential)', () => {
  it('creates nodes.conf with a new name, logs it, and keeps it across a restart', async () => {
    for (const which of WHICH) {
      let node: ClusterNodeServer | undefined = await startClusterNode(which);
      try {
        const lines = messages(node.server.output());
        const created = lines.find((l) => l.startsWith("No cluster configuration found, I'm "));
        expect(created, `${which}: ${lines.join('\n')}`).toBeDefined();
        const name = created!.slice(-40);
        expect(name).toMatch(HEX40);
        expect(lines).toContain(`Running mode=cluster, port=${node.port}.`);
        // Saved before the ports were known, as Redis's clusterInit does.
        expect(fs.readFileSync(path.join(node.dir, 'nodes.conf'), 'latin1'), which).toBe(
          `${name} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n`,
        );
        const conn = await RawConnection.connect(node.port);
        expect(text(await conn.send('CLUSTER', 'MYID'))).toBe(name);
        expect(text(await conn.send('CLUSTER', 'NODES'))).toBe(`${name} :${node.port}@${node.cport} myself,master - 0 0 0 connected\n`);
        expect(text(await conn.send('INFO', 'cluster'))).toBe('# Cluster\r\ncluster_enabled:1\r\n');
        expect(text(await conn.send('CLUSTER', 'ADDSLOTSRANGE', '0', '99'))).toBe('OK');
        expect(text(await conn.send('CLUSTER', 'SAVECONFIG'))).toBe('OK');
        conn.close();
        expect(fs.readFileSync(path.join(node.dir, 'nodes.conf'), 'latin1')).toBe(
          `${name} :${node.port}@${node.cport} myself,master - 0 0 0 connected 0-99\nvars currentEpoch 0 lastVoteEpoch 0\n`,
        );
        const dir = node.dir;
        await node.server.stop();
        node = await startClusterNode(which, { dir });
        const again = messages(node.server.output());
        expect(again, which).toContain(`Node configuration loaded, I'm ${name}`);
        const conn2 = await RawConnection.connect(node.port);
        expect(text(await conn2.send('CLUSTER', 'MYID'))).toBe(name);
        expect(text(await conn2.send('CLUSTER', 'NODES'))).toBe(`${name} :${node.port}@${node.cport} myself,master - 0 0 0 connected 0-99\n`);
        conn2.close();
      } finally {
        await stopAll([node]);
      }
    }
  });

  it('uses cluster-config-file relative to dir', async () => {
    for (const which of WHICH) {
      const node = await startClusterNode(which, { args: ['--cluster-config-file', 'my-nodes.conf'] });
      try {
        const conf = fs.readFileSync(path.join(node.dir, 'my-nodes.conf'), 'latin1');
        expect(conf, which).toMatch(/^[0-9a-f]{40} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n$/);
        expect(fs.existsSync(path.join(node.dir, 'nodes.conf')), which).toBe(false);
      } finally {
        await stopAll([node]);
      }
    }
  });

  it('refuses a nodes.conf another running node holds, as Redis words it', async () => {
    for (const which of WHICH) {
      const first = await startClusterNode(which);
      try {
        const second = await startupOutcome(which, first.dir, await clusterArgs());
        expect(second.code, which).toBe(1);
        expect(second.lines, which).toContain(
          'Sorry, the cluster configuration file nodes.conf is already used by a different Redis Cluster node. ' +
            'Please make sure that different nodes use different cluster configuration files.',
        );
      } finally {
        await stopAll([first]);
      }
    }
  });

  it('stops on a corrupted nodes.conf with Redis words (and panics on an unknown flag)', async () => {
    const cases: Array<{ conf: string; line: string; panic?: boolean }> = [
      { conf: 'garbage\n', line: 'Unrecoverable error: corrupted cluster config file.' },
      { conf: `${NODE_A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16384\n`, line: 'Unrecoverable error: corrupted cluster config file.' },
      { conf: `${NODE_A} 127.0.0.1 myself,master - 0 0 1 connected\n`, line: 'Unrecoverable error: corrupted cluster config file.' },
      { conf: `${NODE_A} 127.0.0.1:7000@17000 master - 0 0 1 connected\n`, line: 'Unrecoverable error: corrupted cluster config file.' },
      { conf: `${NODE_A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected "unbalanced\n`, line: 'Unrecoverable error: corrupted cluster config file.' },
      { conf: `${NODE_A} 127.0.0.1:7000@17000 myself,bogus - 0 0 1 connected\n`, line: 'Guru Meditation: Unknown flag in redis cluster config file', panic: true },
    ];
    for (const c of cases) {
      for (const which of WHICH) {
        const dir = tempDir();
        fs.writeFileSync(path.join(dir, 'nodes.conf'), c.conf);
        const out = await startupOutcome(which, dir, await clusterArgs());
        if (c.panic) {
          expect(out.signal ?? out.code, `${which}: ${c.conf}`).not.toBe(0);
          expect(out.lines.some((l) => l.startsWith(c.line)), `${which}: ${out.lines.join('\n')}`).toBe(true);
        } else {
          expect(out.code, `${which}: ${c.conf}`).toBe(1);
          expect(out.lines, `${which}: ${c.conf}`).toContain(c.line);
        }
      }
    }
  });

  it('loads other nodes, slots, epochs and open slots, and writes them back in the same format', async () => {
    const conf =
      `${NODE_B} 127.0.0.1:7002@17002,host-b master - 0 1700000000000 3 connected 5461-10922 12000\n` +
      `${NODE_A} 127.0.0.1:7001@17001 myself,master - 0 0 2 connected 0-5460 10923-11999 12001-16383 [100->-${NODE_B}] [5461-<-${NODE_B}]\n` +
      'vars currentEpoch 5 lastVoteEpoch 4\n';
    const nodes: ClusterNodeServer[] = [];
    try {
      for (const which of WHICH) nodes.push(await startClusterNode(which, { nodesConf: conf }));
      const [k, r] = await Promise.all(nodes.map((n) => RawConnection.connect(n.port)));
      // ping/pong times are the load's clock: compare them as present or absent.
      const times = (_c: Arg[], reply: Reply): Reply => {
        if (reply.t !== 'verbatim' && reply.t !== 'bulk') return reply;
        if (reply.v === null) return reply;
        const s = reply.v.toString('latin1').replace(/ (\d+) (\d+) (\d+) (connected|disconnected)/g, (_m, p, q, e, l) => ` ${p === '0' ? 0 : 'T'} ${q === '0' ? 0 : 'T'} ${e} ${l}`);
        return { ...reply, v: Buffer.from(s, 'latin1') };
      };
      const diffs = await compareNodes({ node: nodes[0], conn: k }, { node: nodes[1], conn: r }, [
        ['CLUSTER', 'MYID'],
        ['CLUSTER', 'INFO'],
        ['CLUSTER', 'SAVECONFIG'],
        ['CLUSTER', 'COUNTKEYSINSLOT', '100'],
      ], times);
      expect(diffs.join('\n\n')).toBe('');
      // CLUSTER NODES lines in the dict's order for Redis: compare them sorted.
      const lines = async (c: RawConnection, n: ClusterNodeServer) => nodesText(text(await c.send('CLUSTER', 'NODES')).split(`:${n.port}@${n.cport}`).join(':P@C'));
      expect(await lines(k, nodes[0])).toEqual(await lines(r, nodes[1]));
      const file = (n: ClusterNodeServer) => nodesText(fs.readFileSync(path.join(n.dir, 'nodes.conf'), 'latin1').split(`:${n.port}@${n.cport}`).join(':P@C'));
      expect(file(nodes[0])).toEqual(file(nodes[1]));
      // The loaded pong time is kept as "some time" (the load's clock). The bus then pings the
      // node (its pong is old) on a link that may or may not connect, as redis-server does.
      expect(text(await k.send('CLUSTER', 'NODES'))).toMatch(new RegExp(`${NODE_B} 127.0.0.1:7002@17002,host-b master - \\d+ \\d{13} 3 (dis)?connected 5461-10922 12000`));
      k.close();
      r.close();
    } finally {
      await stopAll(nodes);
    }
  });

  it('announces cluster-announce-ip/-port/-bus-port/-hostname in CLUSTER NODES and nodes.conf', async () => {
    const conf = `${NODE_A} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n`;
    const args = ['--cluster-announce-ip', '10.1.2.3', '--cluster-announce-port', '7777', '--cluster-announce-bus-port', '17777', '--cluster-announce-hostname', 'node-a.example'];
    const nodes: ClusterNodeServer[] = [];
    try {
      for (const which of WHICH) nodes.push(await startClusterNode(which, { nodesConf: conf, args }));
      const [k, r] = await Promise.all(nodes.map((n) => RawConnection.connect(n.port)));
      const commands = [
        ['CLUSTER', 'NODES'],
        ['CLUSTER', 'ADDSLOTS', '7'],
        ['CLUSTER', 'SLOTS'],
        ['CLUSTER', 'SHARDS'],
        ['CONFIG', 'SET', 'cluster-preferred-endpoint-type', 'hostname'],
        ['CLUSTER', 'SLOTS'],
        ['CLUSTER', 'SHARDS'],
        ['CONFIG', 'SET', 'cluster-preferred-endpoint-type', 'unknown-endpoint'],
        ['CLUSTER', 'SLOTS'],
        ['CONFIG', 'SET', 'cluster-announce-ip', '10.9.9.9'],
        ['CONFIG', 'SET', 'cluster-announce-hostname', ''],
        ['CLUSTER', 'SAVECONFIG'],
      ];
      expect((await compareNodes({ node: nodes[0], conn: k }, { node: nodes[1], conn: r }, commands)).join('\n\n')).toBe('');
      // The cron (every 100 ms) takes the new announced values, then the file has them.
      await new Promise((res) => setTimeout(res, 400));
      expect((await compareNodes({ node: nodes[0], conn: k }, { node: nodes[1], conn: r }, [['CLUSTER', 'NODES'], ['CLUSTER', 'SAVECONFIG']])).join('\n\n')).toBe('');
      const file = (n: ClusterNodeServer) => fs.readFileSync(path.join(n.dir, 'nodes.conf'), 'latin1');
      expect(file(nodes[0])).toBe(file(nodes[1]));
      expect(file(nodes[0])).toContain('10.9.9.9:7777@17777 myself,master');
      k.close();
      r.close();
    } finally {
      await stopAll(nodes);
    }
  });

  it('keeps to db 0 and refuses REPLICAOF in cluster mode', async () => {
    const nodes: ClusterNodeServer[] = [];
    try {
      for (const which of WHICH) nodes.push(await startClusterNode(which));
      const [k, r] = await Promise.all(nodes.map((n) => RawConnection.connect(n.port)));
      const commands = [
        ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383'],
        ['SELECT', '0'],
        ['SELECT', '1'],
        ['SELECT', '99'],
        ['SELECT', 'x'],
        ['SET', '{a}1', 'v'],
        ['MOVE', '{a}1', '1'],
        ['SWAPDB', '0', '1'],
        ['COPY', '{a}1', '{a}2', 'DB', '1'],
        ['COPY', '{a}1', '{a}2', 'DB', '0'],
        ['COPY', '{a}1', '{a}3', 'DB', '99'],
        ['COPY', '{a}1', '{a}3', 'DB', 'x'],
        ['COPY', '{a}1', '{a}3', 'BOGUS'],
        ['COPY', '{a}1', '{a}3', 'REPLACE', 'DB', '2'],
        ['REPLICAOF', '127.0.0.1', '1'],
        ['REPLICAOF', 'NO', 'ONE'],
        ['INFO', 'cluster'],
      ];
      expect((await compareNodes({ node: nodes[0], conn: k }, { node: nodes[1], conn: r }, commands)).join('\n\n')).toBe('');
      k.close();
      r.close();
    } finally {
      await stopAll(nodes);
    }
  });
});

describe('cluster mode off', () => {
  let server: ClusterNodeServer['server'] | undefined;
  beforeAll(async () => {
    const { startKeyfork } = await import('../helpers/servers');
    server = await startKeyfork();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers cluster support disabled, as Redis does', async () => {
    const conn = await RawConnection.connect(server!.port);
    for (const cmd of [['CLUSTER', 'INFO'], ['CLUSTER', 'HELP'], ['CLUSTER', 'KEYSLOT', 'x'], ['ASKING'], ['READONLY'], ['READWRITE']]) {
      expect(await conn.send(...cmd)).toEqual({ t: 'error', v: 'ERR This instance has cluster support disabled' });
    }
    expect(text(await conn.send('INFO', 'cluster'))).toBe('# Cluster\r\ncluster_enabled:0\r\n');
    expect(fs.existsSync(path.join(server!.dir, 'nodes.conf'))).toBe(false);
    conn.close();
  });
});
