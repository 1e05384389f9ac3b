// The append-only file, keyfork vs redis-server in the same run:
// - SET throughput with appendonly yes under each appendfsync policy, redis-benchmark at -P 1
//   and -P 16, with the server's CPU time per request from /proc (the same method as
//   throughput.ts);
// - BGREWRITEAOF of the 1M strings and the 1M mixed datasets (save.ts's datasets): the
//   child's time from each server's own log lines ("rewriting started by pid" -> "Successfully
//   created the temporary AOF base file"), as keys/s.
// Writes bench/results/aof.md (and prints it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FlagSpec, type ParsedFlags, parseCountList } from './lib/args';
import { type Dataset, loadDataset, mixedDataset, stringDataset } from './lib/datasets';
import { describeMachine } from './lib/machine';
import { cpuDelta, preciseSplit, processCpu } from './lib/proc';
import { note, step } from './lib/progress';
import { type Benchmark, runMain, writeReport } from './lib/script';
import { LogCursor } from './lib/serverlog';
import { LABEL, type ServerKind, type Toolchain, alternate, checkPrerequisites, serverKinds, shellLine, startServer } from './lib/servers';
import { parseCsv, runBenchmarkTool } from './throughput';

export const FLAGS: FlagSpec[] = [
  { name: 'policies', kind: 'list', help: 'appendfsync policies for the SET test', default: 'always,everysec,no' },
  { name: 'pipelines', kind: 'list', help: 'pipeline depths (-P)', default: '1,16' },
  { name: 'requests', kind: 'int', help: 'SET requests at -P 1 (-n)', default: 100000 },
  { name: 'pipelined-requests', kind: 'int', help: 'SET requests at -P above 1 (-n)', default: 1000000 },
  { name: 'clients', kind: 'int', help: 'parallel connections (-c)', default: 50 },
  { name: 'rewrite-sizes', kind: 'list', help: 'dataset sizes for BGREWRITEAOF, strings and mixed, or "none"', default: '1M' },
  { name: 'repeats', kind: 'int', help: 'BGREWRITEAOF runs per server and dataset (median reported)', default: 3 },
];

interface ThroughputResult {
  rps: number;
  cpuUsPerRequest: number;
}

interface Row {
  label: string;
  keyfork: ThroughputResult | null;
  redis: ThroughputResult | null;
}

interface RewriteRow {
  dataset: string;
  keys: number;
  keyforkMs: number | null;
  redisMs: number | null;
  keyforkBytes: number | null;
  redisBytes: number | null;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function setThroughput(tools: Toolchain, kinds: ServerKind[], flags: ParsedFlags, rows: Row[], commands: string[]): Promise<void> {
  const policies = String(flags.policies).split(',').map((p) => p.trim()).filter(Boolean);
  const pipelines = parseCountList('pipelines', String(flags.pipelines));
  const cores = os.cpus().length;
  const pin = tools.taskset !== null && cores >= 2;
  const serverCpu = pin ? cores - 1 : null;
  let round = 0;
  for (const policy of policies) {
    const servers = new Map<ServerKind, Awaited<ReturnType<typeof startServer>>>();
    try {
      for (const kind of kinds) {
        const s = await startServer(tools, kind, { cpu: serverCpu, args: ['--appendonly', 'yes', '--appendfsync', policy] });
        servers.set(kind, s);
        commands.push(s.commandLine);
      }
      for (const pipeline of pipelines) {
        const requests = Number(pipeline > 1 ? flags['pipelined-requests'] : flags.requests);
        const row: Row = { label: `SET -P ${pipeline}, appendfsync ${policy}`, keyfork: null, redis: null };
        step(row.label);
        for (const kind of alternate(kinds, round++)) {
          const server = servers.get(kind)!;
          const argv = [...(pin ? [tools.taskset as string, '-c', '0'] : []), tools.redisBenchmark as string, '-h', '127.0.0.1',
            '-p', String(server.port), '-c', String(flags.clients), '-n', String(requests), '-P', String(pipeline), '-t', 'set', '--csv'];
          if (kind === kinds[0] && pipeline === pipelines[0]) commands.push(shellLine(argv).replace(` -p ${server.port} `, ' -p $PORT '));
          const before = processCpu(server.pid);
          const csv = await runBenchmarkTool(argv);
          const used = preciseSplit(cpuDelta(before, processCpu(server.pid)));
          const set = parseCsv(csv).find((r) => r.test.startsWith('SET'));
          if (!set) throw new Error(`no SET line in redis-benchmark's output: ${csv.slice(0, 200)}`);
          row[kind] = { rps: set.rps, cpuUsPerRequest: ((used.userSec + used.systemSec) * 1e6) / requests };
          step(`  ${LABEL[kind].padEnd(12)} ${Math.round(set.rps).toLocaleString('en-US').padStart(9)} rps, ${row[kind]!.cpuUsPerRequest.toFixed(2)} us CPU/request`);
        }
        rows.push(row);
      }
    } finally {
      for (const s of servers.values()) await s.stop();
    }
  }
}

/** One BGREWRITEAOF: the child's time from the log, and the base file's size. */
async function timedRewrite(server: Awaited<ReturnType<typeof startServer>>): Promise<{ ms: number; bytes: number }> {
  const cursor = new LogCursor(server.logFile);
  const reply = await server.client.call('BGREWRITEAOF');
  if (typeof reply !== 'string' || !reply.includes('started')) throw new Error(`BGREWRITEAOF: ${String(reply)}`);
  const lines = await cursor.waitFor(/Background AOF rewrite finished successfully|Background AOF rewrite terminated with error/, 20 * 60_000);
  const started = lines.find((l) => /Background append only file rewriting started by pid/.test(l.message));
  const created = lines.find((l) => /Successfully created the temporary AOF base file/.test(l.message));
  if (!started || !created) throw new Error('the rewrite did not succeed (see the server log)');
  const base = lines.map((l) => /into (appendonly\.aof\.\d+\.base\.\w+)$/.exec(l.message)?.[1]).find(Boolean);
  const bytes = base ? fs.statSync(path.join(server.dir, 'appendonlydir', base)).size : 0;
  return { ms: created.time - started.time, bytes };
}

async function rewrites(tools: Toolchain, kinds: ServerKind[], flags: ParsedFlags, rows: RewriteRow[], commands: string[]): Promise<void> {
  const text = String(flags['rewrite-sizes']);
  if (text === 'none') return;
  const sizes = parseCountList('rewrite-sizes', text);
  const datasets: Dataset[] = [...sizes.map(stringDataset), ...sizes.map(mixedDataset)];
  for (const [index, ds] of datasets.entries()) {
    const row: RewriteRow = { dataset: ds.describe, keys: ds.keys, keyforkMs: null, redisMs: null, keyforkBytes: null, redisBytes: null };
    const servers = new Map<ServerKind, Awaited<ReturnType<typeof startServer>>>();
    const runs = new Map<ServerKind, number[]>(kinds.map((k) => [k, []]));
    try {
      for (const kind of alternate(kinds, index)) {
        const s = await startServer(tools, kind, { args: ['--appendonly', 'yes'] });
        servers.set(kind, s);
        commands.push(s.commandLine);
        step(`${LABEL[kind]}: loading ${ds.name}`);
        await loadDataset(s.client, ds, `${LABEL[kind]} ${ds.name}`);
      }
      for (let r = 0; r < Number(flags.repeats); r++) {
        for (const kind of alternate(kinds, r)) {
          const { ms, bytes } = await timedRewrite(servers.get(kind)!);
          runs.get(kind)!.push(ms);
          row[kind === 'keyfork' ? 'keyforkBytes' : 'redisBytes'] = bytes;
          step(`  ${LABEL[kind].padEnd(12)} BGREWRITEAOF ${r + 1}: ${ms} ms (${Math.round((ds.keys * 1000) / Math.max(1, ms)).toLocaleString('en-US')} keys/s)`);
        }
      }
      row.keyforkMs = median(runs.get('keyfork') ?? []);
      row.redisMs = median(runs.get('redis') ?? []);
    } finally {
      for (const s of servers.values()) await s.stop();
    }
    rows.push(row);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : 'n/a');

function render(date: string, machine: string, load: string, rows: Row[], rw: RewriteRow[]): string[] {
  return [
    '# AOF benchmark: keyfork vs redis-server 7.0',
    '',
    `${date}; ${machine}; load average at start ${load}.`,
    '',
    '## SET with appendonly yes',
    '',
    '| test | keyfork rps | redis rps | rps ratio | keyfork CPU us/req | redis CPU us/req | CPU ratio |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.keyfork ? fmt(r.keyfork.rps) : 'n/a'} | ${r.redis ? fmt(r.redis.rps) : 'n/a'} | ${ratio(r.keyfork?.rps, r.redis?.rps)} | ${r.keyfork?.cpuUsPerRequest.toFixed(2) ?? 'n/a'} | ${r.redis?.cpuUsPerRequest.toFixed(2) ?? 'n/a'} | ${ratio(r.keyfork?.cpuUsPerRequest, r.redis?.cpuUsPerRequest)} |`),
    '',
    '## BGREWRITEAOF (aof-use-rdb-preamble yes, the default; child time from the log)',
    '',
    '| dataset | keyfork keys/s | redis keys/s | keyfork / redis | base file bytes (keyfork / redis) |',
    '|---|---:|---:|---:|---|',
    ...rw.map((r) => {
      const k = r.keyforkMs ? (r.keys * 1000) / Math.max(1, r.keyforkMs) : null;
      const s = r.redisMs ? (r.keys * 1000) / Math.max(1, r.redisMs) : null;
      return `| ${r.dataset} | ${k ? fmt(k) : 'n/a'} | ${s ? fmt(s) : 'n/a'} | ${ratio(k, s)} | ${r.keyforkBytes ?? 'n/a'} / ${r.redisBytes ?? 'n/a'} |`;
    }),
  ];
}

export async function run(flags: ParsedFlags): Promise<void> {
  const tools = checkPrerequisites(flags, { benchmarkTool: true });
  if (!tools.redisBenchmark) throw new Error('redis-benchmark not found: apt-get install redis-tools');
  const kinds = serverKinds(tools);
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  if (Number(load) > 1) note(`load average ${load}: the machine is busy, ratios are less reliable`);
  const rows: Row[] = [];
  const rw: RewriteRow[] = [];
  const commands: string[] = [];
  await setThroughput(tools, kinds, flags, rows, commands);
  await rewrites(tools, kinds, flags, rw, commands);
  const m = describeMachine(tools.redisServer);
  const machine = `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.kernel}, Node ${m.node}, redis-server ${m.redisVersion ?? 'n/a'}, keyfork ${m.keyforkCommit ?? '?'}`;
  writeReport(flags, 'aof', render(new Date().toISOString(), machine, load, rows, rw), commands);
}

export const benchmark: Benchmark = {
  name: 'aof',
  summary: 'The AOF, keyfork vs redis-server: SET throughput and CPU per request under each appendfsync policy\n'
    + '(-P 1 and -P 16), and BGREWRITEAOF keys/s of the 1M strings and 1M mixed datasets. Writes bench/results/aof.md.',
  flags: FLAGS,
  run,
};


if (require.main === module) runMain(benchmark);
