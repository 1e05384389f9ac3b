// Scripting throughput: EVALSHA of a small script (one GET and one SET through redis.call)
// with redis-benchmark at -P 1 and -P 16, keyfork against redis-server, servers alternating,
// with the server's own CPU time per request from /proc/PID/stat. Prints a Markdown table and
// writes it to bench/results/scripting.md.
import os from 'node:os';
import { type FlagSpec, type ParsedFlags } from './lib/args';
import { describeMachine } from './lib/machine';
import { describeMachineLine } from './lib/markdown';
import { cpuDelta, preciseSplit, processCpu } from './lib/proc';
import { note, step } from './lib/progress';
import { replyText } from './lib/resp';
import { type Benchmark, runMain, writeReport } from './lib/script';
import { LABEL, type Server, type ServerKind, alternate, shellLine, sideBySidePlan, startServer } from './lib/servers';
import { parseCsv, runBenchmarkTool } from './throughput';

/** The script: a read and a write through redis.call, as the benchmark asks. */
const SCRIPT = 'local v = redis.call("GET", KEYS[1]) return redis.call("SET", KEYS[1], ARGV[1])';

export const FLAGS: FlagSpec[] = [
  { name: 'pipelines', kind: 'list', help: 'pipeline depths (-P)', default: '1,16' },
  { name: 'requests', kind: 'int', help: 'requests per run at -P 1 (-n)', default: 100000 },
  { name: 'pipelined-requests', kind: 'int', help: 'requests per run at -P above 1', default: 500000 },
  { name: 'clients', kind: 'int', help: 'parallel connections (-c)', default: 50 },
  { name: 'rounds', kind: 'int', help: 'measurements per server and depth (the median is kept)', default: 3 },
];

interface Measure {
  rps: number;
  cpuUs: number;
}

export async function run(flags: ParsedFlags): Promise<void> {
  const { tools, redisBenchmark, pipelines, clients, rounds, requestsFor, serverCpu, loadPrefix, kinds } = sideBySidePlan(flags);
  const servers = new Map<ServerKind, Server>();
  const shas = new Map<ServerKind, string>();
  const results = new Map<string, Measure[]>();
  const commandLines: string[] = [];
  const argv = (port: number, sha: string, p: number) => [
    ...loadPrefix, redisBenchmark, '-h', '127.0.0.1', '-p', String(port),
    '-c', String(clients), '-n', String(requestsFor(p)), '-P', String(p), '-r', '100000', '--csv',
    'EVALSHA', sha, '1', 'key:__rand_int__', 'value'];
  try {
    for (const kind of kinds) {
      const s = await startServer(tools, kind, { cpu: serverCpu });
      servers.set(kind, s);
      commandLines.push(s.commandLine);
      const sha = replyText(await s.client.call('SCRIPT', 'LOAD', SCRIPT));
      if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`${LABEL[kind]}: SCRIPT LOAD answered ${sha}`);
      shas.set(kind, sha);
    }
    for (const p of pipelines) commandLines.push(shellLine(argv(0, '<sha>', p)).replace(' -p 0 ', ' -p $PORT '));
    let round = 0;
    for (const p of pipelines) {
      for (let r = 0; r < rounds; r++) {
        for (const kind of alternate(kinds, round++)) {
          const s = servers.get(kind)!;
          const before = processCpu(s.pid);
          const csv = await runBenchmarkTool(argv(s.port, shas.get(kind)!, p));
          const used = preciseSplit(cpuDelta(before, processCpu(s.pid)));
          const row = parseCsv(csv)[0];
          if (!row) throw new Error(`no result line from redis-benchmark: ${csv.slice(0, 200)}`);
          const m = { rps: row.rps, cpuUs: ((used.userSec + used.systemSec) * 1e6) / requestsFor(p) };
          const key = `${kind} ${p}`;
          results.set(key, [...(results.get(key) ?? []), m]);
          step(`EVALSHA -P ${p} ${LABEL[kind].padEnd(12)} ${Math.round(m.rps).toLocaleString('en-US').padStart(9)} rps, ${m.cpuUs.toFixed(2)} us CPU/request`);
        }
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  const median = (ms: Measure[], f: (m: Measure) => number) => [...ms].map(f).sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  const lines = [
    `## Scripting: EVALSHA (one GET and one SET through redis.call)`,
    '',
    `${new Date().toISOString()}, ${describeMachineLine(describeMachine(tools.redisServer))}; median of ${rounds} runs; ${os.loadavg()[0].toFixed(2)} load average at the end.`,
    '',
    '| -P | keyfork rps | redis-server rps | rps ratio | keyfork CPU us/req | redis-server CPU us/req | CPU ratio |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const p of pipelines) {
    const k = results.get(`keyfork ${p}`);
    const r = results.get(`redis ${p}`);
    if (!k || !r) {
      note(`-P ${p}: a server is missing`);
      continue;
    }
    const [kr, rr, kc, rc] = [median(k, (m) => m.rps), median(r, (m) => m.rps), median(k, (m) => m.cpuUs), median(r, (m) => m.cpuUs)];
    lines.push(`| ${p} | ${Math.round(kr)} | ${Math.round(rr)} | ${(kr / rr).toFixed(2)} | ${kc.toFixed(2)} | ${rc.toFixed(2)} | ${(kc / rc).toFixed(2)} |`);
  }
  writeReport(flags, 'scripting', lines, commandLines);
}

export const benchmark: Benchmark = {
  name: 'scripting',
  summary: 'EVALSHA throughput, keyfork vs redis-server: redis-benchmark -c 50 at -P 1 and -P 16, servers alternating,\n'
    + "with the server's CPU time per request from /proc/PID/stat.",
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
