// Resharding speed: three cluster-enabled masters of one server on loopback, joined with
// `redis-cli --cluster create`, then `redis-cli --cluster reshard` of --cluster-slots empty slots
// from the first master to the second, timed as a whole (per slot redis-cli sends SETSLOT
// IMPORTING / MIGRATING, GETKEYSINSLOT, then SETSLOT NODE to every master, and each node saves
// nodes.conf and gossips the change), and `redis-benchmark -c 1 CLUSTER SETSLOT <slot> STABLE`'s
// p50 on the first master. Servers alternate between rounds; the report keeps each round's
// figures and the best, with keyfork / redis-server ratios. Writes bench/results/cluster.md
// (not part of `npm run bench`).
import { execFile } from 'node:child_process';
import { type FlagSpec, type ParsedFlags } from './lib/args';
import { describeMachine } from './lib/machine';
import { describeMachineLine, fmt, ratio } from './lib/markdown';
import { which } from './lib/paths';
import { step } from './lib/progress';
import { replyText } from './lib/resp';
import { type Benchmark, runMain, writeReport } from './lib/script';
import { LABEL, type Server, type ServerKind, alternate, checkPrerequisites, freePort, serverKinds, shellLine, sleep, startServer } from './lib/servers';
import { parseCsv, runBenchmarkTool } from './throughput';

export const FLAGS: FlagSpec[] = [
  { name: 'cluster-slots', kind: 'int', help: 'empty slots moved by redis-cli --cluster reshard', default: 1000 },
  { name: 'setslot-requests', kind: 'int', help: 'CLUSTER SETSLOT STABLE requests for the p50 (redis-benchmark -c 1 -n)', default: 2000 },
  { name: 'rounds', kind: 'int', help: 'clusters started per server, alternating which server goes first', default: 2 },
];

interface RoundResult {
  createSec: number;
  reshardSec: number;
  setslotP50Ms: number;
}

/** Runs a tool to completion (bounded by `timeoutMs`); rejects with its output when it fails. */
function tool(argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${shellLine(argv)}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Polls `check` every 50 ms until it holds, for at most `ms`. */
async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function clusterRound(kind: ServerKind, flags: ParsedFlags, redisCli: string, redisBenchmark: string, commands: string[]): Promise<RoundResult> {
  const tools = checkPrerequisites(flags);
  const servers: Server[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      // An explicit bus port: a free port + 10000 may pass 65535.
      const busPort = await freePort();
      const server = await startServer(tools, kind, { args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf'] });
      servers.push(server);
      commands.push(server.commandLine.replace(` ${busPort}`, ' $BUSPORT'));
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    const create = [redisCli, '--cluster', 'create', ...addrs, '--cluster-yes'];
    commands.push(shellLine([...create.slice(0, 3), '$A', '$B', '$C', '--cluster-yes']));
    let t0 = performance.now();
    await tool(create, 120_000);
    // Every node knows the others and agrees on the slots before the reshard's own check.
    await waitFor('the three nodes to agree', 60_000, async () => {
      for (const s of servers) {
        const info = replyText(await s.client.call('CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok') || !info.includes('cluster_known_nodes:3')) return false;
      }
      const check = await tool([redisCli, '--cluster', 'check', addrs[0]], 30_000).catch(() => '');
      return check.includes('[OK] All nodes agree about slots configuration.') && check.includes('[OK] All 16384 slots covered.');
    });
    const createSec = (performance.now() - t0) / 1000;
    const ids = await Promise.all(servers.map(async (s) => replyText(await s.client.callOk('CLUSTER', 'MYID'))));
    const slots = Number(flags['cluster-slots']);
    const reshard = [redisCli, '--cluster', 'reshard', addrs[0], '--cluster-from', ids[0], '--cluster-to', ids[1], '--cluster-slots', String(slots), '--cluster-yes'];
    commands.push(shellLine([...reshard.slice(0, 3), '$A', '--cluster-from', '$ID_A', '--cluster-to', '$ID_B', ...reshard.slice(8)]));
    t0 = performance.now();
    const out = await tool(reshard, 600_000);
    const reshardSec = (performance.now() - t0) / 1000;
    const moved = (out.match(/^Moving slot \d+ from /gm) ?? []).length;
    if (moved !== slots) throw new Error(`${LABEL[kind]}: redis-cli moved ${moved} slots, not ${slots}\n${out.slice(-2000)}`);
    const bench = [redisBenchmark, '-h', '127.0.0.1', '-p', String(servers[0].port), '-c', '1', '-n', String(flags['setslot-requests']), '--csv', 'CLUSTER', 'SETSLOT', '5', 'STABLE'];
    commands.push(shellLine(bench).replace(` ${servers[0].port} `, ' $PORT '));
    const row = parseCsv(await runBenchmarkTool(bench))[0];
    if (!row) throw new Error(`${LABEL[kind]}: no redis-benchmark row for CLUSTER SETSLOT`);
    return { createSec, reshardSec, setslotP50Ms: row.p50Ms };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

export async function run(flags: ParsedFlags): Promise<void> {
  const tools = checkPrerequisites(flags);
  const redisCli = which('redis-cli');
  const redisBenchmark = which('redis-benchmark');
  if (!redisCli || !redisBenchmark) throw new Error('redis-cli and redis-benchmark are needed: apt-get install redis-tools');
  const slots = Number(flags['cluster-slots']);
  if (!(slots >= 1 && slots <= 16384)) throw new Error('--cluster-slots: 1 to 16384');
  const rounds = Math.max(1, Number(flags.rounds));
  const kinds = serverKinds(tools);
  const results: Record<ServerKind, RoundResult[]> = { keyfork: [], redis: [] };
  const commands: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const kind of alternate(kinds, round)) {
      step(`cluster: ${LABEL[kind]}, create 3 masters, reshard ${slots} slots (round ${round + 1}/${rounds})`);
      results[kind].push(await clusterRound(kind, flags, redisCli, redisBenchmark, commands));
    }
  }
  const best = (kind: ServerKind, pick: (r: RoundResult) => number): number | null => (results[kind].length ? Math.min(...results[kind].map(pick)) : null);
  const each = (kind: ServerKind, pick: (r: RoundResult) => number, digits: number) => results[kind].map((r) => fmt(pick(r), digits)).join(', ');
  const rows: Array<[string, (r: RoundResult) => number, number]> = [
    [`\`--cluster reshard\` of ${slots} empty slots (s)`, (r) => r.reshardSec, 2],
    ['`CLUSTER SETSLOT 5 STABLE` p50, -c 1 (ms)', (r) => r.setslotP50Ms, 3],
    ['`--cluster create` until every node agrees (s)', (r) => r.createSec, 2],
  ];
  const machine = describeMachine(tools.redisServer);
  const body = [
    `## Cluster resharding (three masters on loopback, ${rounds} round${rounds > 1 ? 's' : ''} per server)`,
    '',
    `Run ${new Date().toISOString()} on ${describeMachineLine(machine)}.`,
    '',
    '| figure | keyfork (best) | redis-server (best) | keyfork / redis | keyfork (each round) | redis-server (each round) |',
    '|:---|---:|---:|---:|---:|---:|',
    ...rows.map(([name, pick, digits]) => {
      const k = best('keyfork', pick);
      const r = best('redis', pick);
      return `| ${name} | ${fmt(k, digits)} | ${fmt(r, digits)} | ${ratio(k, r)} | ${each('keyfork', pick, digits)} | ${each('redis', pick, digits)} |`;
    }),
    '',
    'The create row includes the wait for `redis-cli --cluster check` to pass on every node (the bus spreading the new configuration), polled every 50 ms.',
    ...tools.notes.map((n) => `Note: ${n}`),
  ];
  writeReport(flags, 'cluster', body, commands);
}

export const benchmark: Benchmark = {
  name: 'cluster',
  summary: 'redis-cli --cluster reshard of empty slots between three masters and CLUSTER SETSLOT p50, keyfork vs redis-server.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
