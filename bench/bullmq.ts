// BullMQ throughput: a producer adding jobs (one Queue.add, i.e. one EVALSHA, per job, a window
// of them in flight) and a Worker processing them (an empty processor, `--concurrency` jobs at a
// time), keyfork against redis-server, servers alternating. Jobs per second for each phase and
// the server's own CPU time per job (/proc/PID/stat), which the shared load generator (this very
// process) does not decide. Prints a Markdown table and writes it to bench/results/bullmq.md.
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import { type FlagSpec, type ParsedFlags } from './lib/args';
import { describeMachine } from './lib/machine';
import { describeMachineLine } from './lib/markdown';
import { cpuDelta, preciseSplit, processCpu } from './lib/proc';
import { step } from './lib/progress';
import { type Benchmark, runMain, writeReport } from './lib/script';
import { LABEL, type Server, type ServerKind, alternate, checkPrerequisites, serverKinds, startServer } from './lib/servers';

export const FLAGS: FlagSpec[] = [
  { name: 'jobs', kind: 'int', help: 'jobs added and processed per run', default: 20000 },
  { name: 'in-flight', kind: 'int', help: 'Queue.add calls in flight at once while adding', default: 100 },
  { name: 'concurrency', kind: 'int', help: "the Worker's concurrency", default: 50 },
  { name: 'rounds', kind: 'int', help: 'measurements per server (the median is kept)', default: 3 },
];

interface Measure {
  addJobsPerSec: number;
  addCpuUs: number;
  processJobsPerSec: number;
  processCpuUs: number;
}

/** CPU seconds `pid` used while `work` ran, and the wall time it took. */
async function measured(pid: number, work: () => Promise<void>): Promise<{ sec: number; cpuSec: number }> {
  const before = processCpu(pid);
  const t0 = performance.now();
  await work();
  const sec = (performance.now() - t0) / 1000;
  const used = preciseSplit(cpuDelta(before, processCpu(pid)));
  return { sec, cpuSec: used.userSec + used.systemSec };
}

async function oneRun(server: Server, jobs: number, inFlight: number, concurrency: number): Promise<Measure> {
  const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
  await server.client.call('FLUSHALL');
  const queue = new Queue('bench', { connection, defaultJobOptions: { removeOnComplete: 1000 } });
  await queue.waitUntilReady();
  const payload = { user: 42, action: 'resize', sizes: [64, 128, 256] };
  try {
    const add = await measured(server.pid, async () => {
      let next = 0;
      const producer = async () => {
        while (next < jobs) {
          const n = next++;
          await queue.add('work', { ...payload, n });
        }
      };
      await Promise.all(Array.from({ length: inFlight }, producer));
    });
    const waiting = await queue.getWaitingCount();
    if (waiting !== jobs) throw new Error(`${LABEL[server.kind]}: ${waiting} jobs waiting, ${jobs} added`);
    let done = 0;
    let worker: Worker | undefined;
    const processing = await measured(server.pid, async () => {
      await new Promise<void>((resolve, reject) => {
        worker = new Worker('bench', async () => undefined, { connection, concurrency });
        worker.on('completed', () => {
          if (++done === jobs) resolve();
        });
        worker.on('failed', (_job, err) => reject(err));
        worker.on('error', reject);
      });
    });
    await worker?.close();
    return {
      addJobsPerSec: jobs / add.sec,
      addCpuUs: (add.cpuSec * 1e6) / jobs,
      processJobsPerSec: jobs / processing.sec,
      processCpuUs: (processing.cpuSec * 1e6) / jobs,
    };
  } finally {
    await queue.close();
  }
}

export async function run(flags: ParsedFlags): Promise<void> {
  const tools = checkPrerequisites(flags);
  const jobs = Number(flags.jobs);
  const inFlight = Math.max(1, Number(flags['in-flight']));
  const concurrency = Math.max(1, Number(flags.concurrency));
  const rounds = Math.max(1, Number(flags.rounds));
  const cores = os.cpus().length;
  const serverCpu = tools.taskset !== null && cores >= 2 ? cores - 1 : null;
  const kinds = serverKinds(tools);
  const servers = new Map<ServerKind, Server>();
  const results = new Map<ServerKind, Measure[]>();
  const commandLines: string[] = [];
  try {
    for (const kind of kinds) {
      const s = await startServer(tools, kind, { cpu: serverCpu });
      servers.set(kind, s);
      commandLines.push(s.commandLine);
    }
    for (let r = 0; r < rounds; r++) {
      for (const kind of alternate(kinds, r)) {
        const m = await oneRun(servers.get(kind)!, jobs, inFlight, concurrency);
        results.set(kind, [...(results.get(kind) ?? []), m]);
        step(`${LABEL[kind].padEnd(12)} add ${Math.round(m.addJobsPerSec).toLocaleString('en-US').padStart(7)} jobs/s (${m.addCpuUs.toFixed(1)} us CPU/job), `
          + `process ${Math.round(m.processJobsPerSec).toLocaleString('en-US').padStart(7)} jobs/s (${m.processCpuUs.toFixed(1)} us CPU/job)`);
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  const median = (kind: ServerKind, f: (m: Measure) => number) => {
    const values = (results.get(kind) ?? []).map(f).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)];
  };
  const lines = [
    '## BullMQ: adding and processing jobs',
    '',
    `${new Date().toISOString()}, ${describeMachineLine(describeMachine(tools.redisServer))}; ${jobs} jobs per run, ${inFlight} adds in flight, `
      + `Worker concurrency ${concurrency}, removeOnComplete 1000; median of ${rounds} runs; ${os.loadavg()[0].toFixed(2)} load average at the end. `
      + 'The producer and the worker run in the benchmark process (one Node thread), which bounds the rates of both servers alike; '
      + "the server's CPU per job is the figure to compare.",
    '',
    '| phase | keyfork jobs/s | redis-server jobs/s | rate ratio | keyfork CPU us/job | redis-server CPU us/job | CPU ratio |',
    '|---|---|---|---|---|---|---|',
  ];
  const phases: [string, (m: Measure) => number, (m: Measure) => number][] = [
    ['Queue.add', (m) => m.addJobsPerSec, (m) => m.addCpuUs],
    ['Worker (empty processor)', (m) => m.processJobsPerSec, (m) => m.processCpuUs],
  ];
  for (const [label, rate, cpu] of phases) {
    const [kr, kc] = [median('keyfork', rate), median('keyfork', cpu)];
    if (!results.has('redis')) {
      lines.push(`| ${label} | ${Math.round(kr)} | - | - | ${kc.toFixed(1)} | - | - |`);
      continue;
    }
    const [rr, rc] = [median('redis', rate), median('redis', cpu)];
    lines.push(`| ${label} | ${Math.round(kr)} | ${Math.round(rr)} | ${(kr / rr).toFixed(2)} | ${kc.toFixed(1)} | ${rc.toFixed(1)} | ${(kc / rc).toFixed(2)} |`);
  }
  writeReport(flags, 'bullmq', lines, commandLines);
}

export const benchmark: Benchmark = {
  name: 'bullmq',
  summary: 'BullMQ throughput, keyfork vs redis-server: Queue.add and a Worker with an empty processor, servers alternating,\n'
    + "with the server's CPU time per job from /proc/PID/stat.",
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
