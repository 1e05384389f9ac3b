// Latency while the keyspace's table grows: pipelined SETs of new keys fill a fresh server past
// powers of two (the table doubles as it fills up at each one), one batch in flight at a time,
// and every batch's round trip is timed. A resize that moves every entry at once stalls the
// batch that triggers it (hundreds of ms at 2^20 keys); Redis moves a bucket per command and
// ~1 ms per cron run instead. Reported per server: the worst batch, the worst around the last
// power of two crossed (from the batch that starts the growth to half the table's size later,
// while the rehash runs), p99.9 and p50 of all batches, and SETs per second; keyfork/redis-server
// ratios. Servers are pinned to the last core and this client to core 0 when taskset exists.
import os from 'node:os';
import { type FlagSpec, type ParsedFlags, shortCount } from './lib/args';
import { encodeCommand } from './lib/resp';
import { fmt, ratio } from './lib/markdown';
import { step } from './lib/progress';
import { type Benchmark, runMain, writeReport } from './lib/script';
import { LABEL, type ServerKind, alternate, checkPrerequisites, serverKinds, startServer } from './lib/servers';

export const FLAGS: FlagSpec[] = [
  { name: 'rehash-keys', kind: 'int', help: 'keys to SET into each fresh server (1,310,720 = 2^20 + 2^18: the table grows at 2^20)', default: 1_310_720 },
  { name: 'full', kind: 'bool', help: 'fill past 2^21 (2,621,440 keys) instead of --rehash-keys', default: false },
  { name: 'rehash-pipeline', kind: 'int', help: 'SETs per batch (one batch in flight)', default: 16 },
  { name: 'rehash-rounds', kind: 'int', help: 'fills per server, alternating which server goes first; the figures are the worst round\'s', default: 1 },
];

/** What one fill of one server measured (milliseconds per batch round trip). */
interface FillResult {
  worstMs: number;
  /** The first key of the worst batch. */
  worstAtKey: number;
  worstAtGrowthMs: number;
  p999Ms: number;
  p50Ms: number;
  setsPerSec: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** The largest power of two below `keys`: the growth measured (the table doubles when it holds that many). */
function lastBoundary(keys: number): number {
  return 2 ** Math.floor(Math.log2(keys - 1));
}

async function fill(kind: ServerKind, flags: ParsedFlags, keys: number, pipeline: number, commands: string[]): Promise<FillResult> {
  const tools = checkPrerequisites(flags);
  const cpu = tools.taskset && os.cpus().length >= 2 ? os.cpus().length - 1 : null;
  const server = await startServer(tools, kind, { cpu });
  commands.push(server.commandLine);
  try {
    const batches = Math.ceil(keys / pipeline);
    const ms = new Float64Array(batches);
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const first = b * pipeline;
      const count = Math.min(pipeline, keys - first);
      const parts: Buffer[] = [];
      for (let i = first; i < first + count; i++) parts.push(encodeCommand(['SET', `key:${i}`, 'v']));
      const payload = Buffer.concat(parts);
      const t0 = performance.now();
      const r = await server.client.sendBatch(payload, count);
      ms[b] = performance.now() - t0;
      if (r.errors > 0) throw new Error(`${LABEL[kind]}: SET failed: ${r.firstError}`);
    }
    const seconds = (performance.now() - started) / 1000;
    const dbsize = Number(await server.client.callOk('DBSIZE'));
    if (dbsize !== keys) throw new Error(`${LABEL[kind]}: DBSIZE ${dbsize} after ${keys} SETs`);
    // The batch holding the key that finds the table full, to half a table's keys later.
    const boundary = lastBoundary(keys);
    const from = Math.floor(boundary / pipeline);
    const to = Math.min(batches, Math.ceil((boundary + boundary / 2) / pipeline));
    let worstAtGrowthMs = 0;
    for (let b = from; b < to; b++) worstAtGrowthMs = Math.max(worstAtGrowthMs, ms[b]);
    const sorted = Float64Array.from(ms).sort();
    return {
      worstMs: sorted[sorted.length - 1],
      worstAtKey: ms.indexOf(sorted[sorted.length - 1]) * pipeline,
      worstAtGrowthMs,
      p999Ms: percentile(sorted, 0.999),
      p50Ms: percentile(sorted, 0.5),
      setsPerSec: keys / seconds,
    };
  } finally {
    await server.stop();
  }
}

export async function run(flags: ParsedFlags): Promise<void> {
  const keys = flags.full ? 2_621_440 : Number(flags['rehash-keys']);
  if (keys < 1024) throw new Error('--rehash-keys: at least 1024');
  const pipeline = Math.max(1, Number(flags['rehash-pipeline']));
  const rounds = Math.max(1, Number(flags['rehash-rounds']));
  const tools = checkPrerequisites(flags);
  const kinds = serverKinds(tools);
  const results: Partial<Record<ServerKind, FillResult>> = {};
  const commands: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const kind of alternate(kinds, round)) {
      step(`rehash: ${LABEL[kind]}, ${keys.toLocaleString('en-US')} SETs in batches of ${pipeline} (round ${round + 1}/${rounds})`);
      const r = await fill(kind, flags, keys, pipeline, commands);
      const prev = results[kind];
      // The worst round: a latency figure is about the worst case.
      results[kind] = prev === undefined ? r : {
        worstMs: Math.max(prev.worstMs, r.worstMs),
        worstAtKey: prev.worstMs >= r.worstMs ? prev.worstAtKey : r.worstAtKey,
        worstAtGrowthMs: Math.max(prev.worstAtGrowthMs, r.worstAtGrowthMs),
        p999Ms: Math.max(prev.p999Ms, r.p999Ms),
        p50Ms: Math.max(prev.p50Ms, r.p50Ms),
        setsPerSec: Math.min(prev.setsPerSec, r.setsPerSec),
      };
    }
  }
  const boundary = lastBoundary(keys);
  const rows: Array<[string, (r: FillResult) => number, number]> = [
    ['worst batch (ms)', (r) => r.worstMs, 1],
    ['worst batch: its first key', (r) => r.worstAtKey, 0],
    [`worst batch from key ${shortCount(boundary)} (growth to ${shortCount(boundary * 2)} buckets) to ${shortCount(boundary * 1.5)} (ms)`, (r) => r.worstAtGrowthMs, 1],
    ['p99.9 batch (ms)', (r) => r.p999Ms, 2],
    ['p50 batch (ms)', (r) => r.p50Ms, 3],
    ['SETs per second', (r) => r.setsPerSec, 0],
  ];
  const k = results.keyfork;
  const rd = results.redis;
  const body = [
    `## Latency while the keyspace table grows (${keys.toLocaleString('en-US')} SETs of new keys, ${pipeline} per batch, one batch in flight)`,
    '',
    '| figure | keyfork | redis-server | keyfork / redis |',
    '|:---|---:|---:|---:|',
    ...rows.map(([name, pick, digits]) => {
      // Where the worst batch was is a position, not a figure to compare.
      const compared = name.includes('first key') ? '' : ratio(k && pick(k), rd && pick(rd));
      return `| ${name} | ${fmt(k && pick(k), digits)} | ${fmt(rd && pick(rd), digits)} | ${compared} |`;
    }),
    '',
    ...tools.notes.map((n) => `Note: ${n}`),
  ];
  writeReport(flags, 'rehash', body, commands);
}

export const benchmark: Benchmark = {
  name: 'rehash',
  summary: 'Worst and p99.9 latency of pipelined SETs while the keyspace table grows past powers of two, keyfork vs redis-server.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
