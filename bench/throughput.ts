// Command throughput: redis-benchmark against keyfork and redis-server, one test at a time,
// alternating servers, with the server's own CPU time per request read from /proc/PID/stat,
// so a noisy neighbour or the load generator does not decide the ratio.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { type FlagSpec, type ParsedFlags, UsageError, parseCountList } from './lib/args';
import { CommandBatch } from './lib/datasets';
import { trackChild } from './lib/cleanup';
import { NOT_YET, infoNumber, knowsCommand } from './lib/info';
import { describeMachine } from './lib/machine';
import { renderThroughputSection } from './lib/markdown';
import { cpuDelta, endedChildrenCpuSec, preciseSplit, processCpu } from './lib/proc';
import { note, step } from './lib/progress';
import type { PerServer, ThroughputRow, ThroughputSection, ThroughputServerResult } from './lib/results';
import { type Benchmark, invocation, publish, runMain } from './lib/script';
import { LABEL, type Server, type ServerKind, alternate, checkPrerequisites, serverKinds, shellLine, startServer } from './lib/servers';

/** redis-benchmark's own default test set, in its order. */
const DEFAULT_TESTS = 'ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset';

/** The commands a redis-benchmark test sends (LRANGE_* fills its list with LPUSH first). */
const TEST_COMMANDS: Record<string, string[]> = {
  ping_inline: ['PING'], ping_mbulk: ['PING'], set: ['SET'], get: ['GET'], incr: ['INCR'], lpush: ['LPUSH'], rpush: ['RPUSH'],
  lpop: ['LPOP'], rpop: ['RPOP'], sadd: ['SADD'], hset: ['HSET'], spop: ['SPOP'], zadd: ['ZADD'], zpopmin: ['ZPOPMIN'],
  lrange_100: ['LPUSH', 'LRANGE'], lrange_300: ['LPUSH', 'LRANGE'], lrange_500: ['LPUSH', 'LRANGE'], lrange_600: ['LPUSH', 'LRANGE'],
  mset: ['MSET'],
  xadd: ['XADD'], xrange: ['XADD', 'XRANGE'], xreadgroup: ['XADD', 'XGROUP', 'XREADGROUP'], xack: ['XADD', 'XGROUP', 'XREADGROUP', 'XACK'],
  pfadd: ['PFADD'], pfcount: ['PFADD', 'PFCOUNT'], geoadd: ['GEOADD'], geosearch: ['GEOADD', 'GEOSEARCH'],
};

/**
 * Tests of commands redis-benchmark has no -t for: the command it sends (with __rand_int__ over
 * `random` values), and the data it needs first, loaded into a flushed server before the run.
 */
interface CustomTest {
  command: string[];
  random?: number;
  setup?(add: (args: string[]) => void, requests: number): void;
}

const STREAM = 'bench:stream';
const CUSTOM_TESTS: Record<string, CustomTest> = {
  xadd: { command: ['XADD', STREAM, '*', 'event', 'click', 'user', '12345'] },
  xrange: {
    command: ['XRANGE', STREAM, '-', '+', 'COUNT', '10'],
    setup: (add) => { for (let i = 1; i <= 1000; i++) add(['XADD', STREAM, `1-${i}`, 'event', 'click', 'user', String(i)]); },
  },
  // Every read takes one new entry into the consumer's pending list: one entry per request.
  xreadgroup: {
    command: ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', STREAM, '>'],
    setup: (add, requests) => {
      for (let i = 1; i <= requests; i++) add(['XADD', STREAM, `1-${i}`, 'event', 'click', 'user', String(i)]);
      add(['XGROUP', 'CREATE', STREAM, 'g', '0']);
    },
  },
  // Acknowledges random entries of a pending list of 100k (an entry acknowledged twice is a no-op).
  xack: {
    command: ['XACK', STREAM, 'g', '1-__rand_int__'],
    random: 100000,
    setup: (add) => {
      for (let i = 0; i < 100000; i++) add(['XADD', STREAM, `1-${i}`, 'event', 'click']);
      add(['XGROUP', 'CREATE', STREAM, 'g', '0']);
      for (let i = 0; i < 100; i++) add(['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1000', 'STREAMS', STREAM, '>']);
    },
  },
  pfadd: { command: ['PFADD', 'bench:hll', 'element:__rand_int__'], random: 1000000 },
  // Two dense HLLs merged for every count (a single key's cached cardinality would cost nothing).
  pfcount: {
    command: ['PFCOUNT', 'bench:hll:a', 'bench:hll:b'],
    setup: (add) => {
      for (const k of ['a', 'b']) for (let i = 0; i < 100; i++) add(['PFADD', `bench:hll:${k}`, ...Array.from({ length: 1000 }, (_, j) => `${k}:${i}:${j}`)]);
    },
  },
  geoadd: { command: ['GEOADD', 'bench:geo', '13.361389', '38.115556', 'member:__rand_int__'], random: 1000000 },
  // Ten nearest of 100k points spread over about 4 x 4 degrees.
  geosearch: {
    command: ['GEOSEARCH', 'bench:geo', 'FROMLONLAT', '13.36', '38.11', 'BYRADIUS', '20', 'km', 'ASC', 'COUNT', '10'],
    setup: (add) => {
      for (let i = 0; i < 100000; i++) add(['GEOADD', 'bench:geo', (11.36 + ((i * 7919) % 40000) / 10000).toFixed(6), (36.11 + ((i * 104729) % 40000) / 10000).toFixed(6), `m${i}`]);
    },
  },
};

export const FLAGS: FlagSpec[] = [
  { name: 'tests', kind: 'list', help: `redis-benchmark tests (-t), run one at a time; also ${Object.keys(CUSTOM_TESTS).join(', ')}`, default: DEFAULT_TESTS },
  { name: 'pipelines', kind: 'list', help: 'pipeline depths (-P)', default: '1,16' },
  { name: 'requests', kind: 'int', help: 'requests per test at -P 1 (-n)', default: 100000 },
  { name: 'pipelined-requests', kind: 'int', help: 'requests per test at -P above 1 (-n): pipelined requests cost ~1 us, so more are needed for a stable figure', default: 1000000 },
  { name: 'clients', kind: 'int', help: 'parallel connections (-c)', default: 50 },
  { name: 'scaling-clients', kind: 'int', help: 'then every test again at -P 1 with this many connections (connection scaling)', default: 1000 },
  { name: 'scaling-requests', kind: 'int', help: 'requests per test of the connection-scaling pass (-n): at 100,000 a 1000-connection run lasts ~2 s and one stalled second moves it by a third', default: 300000 },
  { name: 'no-scaling', kind: 'bool', help: 'skip the connection-scaling pass', default: false },
  { name: 'keyspace', kind: 'int', help: 'random keys (-r); without it redis-benchmark uses one key per test' },
  { name: 'repeats', kind: 'int', help: 'runs of each test per server, alternating; the table gives each figure\'s median and the notes every run\'s rps (the machine\'s noise)', default: 1 },
  { name: 'full', kind: 'bool', help: '5 times the default request counts', default: false },
];

export interface CsvRow {
  test: string;
  rps: number;
  p50Ms: number;
}

export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('","').map((c) => c.replace(/^"|"$/g, ''));
    if (cells.length < 5 || cells[0] === 'test') continue;
    rows.push({ test: cells[0], rps: Number(cells[1]), p50Ms: Number(cells[4]) });
  }
  return rows;
}

/** Runs redis-benchmark to completion; rejects with its stderr when it fails. */
export function runBenchmarkTool(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-benchmark exited with ${code}: ${err.trim() || out.trim()}`))));
  });
}

/**
 * A memory limit to run the tests at (the eviction benchmark): each server gets maxmemory and
 * the policy, is filled with `valueSize`-byte values until it evicts, and every test writes
 * random keys of a large keyspace, so that (nearly) every write evicts.
 */
export interface MemoryLimit {
  maxmemory: string;
  policies: string[];
  valueSize: number;
  keyspace: number;
}

export async function run(flags: ParsedFlags): Promise<void> {
  await runThroughput(flags, String(flags.tests), null);
}

export async function runThroughput(flags: ParsedFlags, testList: string, limit: MemoryLimit | null): Promise<void> {
  const tools = checkPrerequisites(flags, { benchmarkTool: true });
  if (!tools.redisBenchmark) throw new Error('redis-benchmark not found: apt-get install redis-tools (it comes with redis-server)');
  const tests = testList.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  for (const t of tests) if (!TEST_COMMANDS[t]) throw new UsageError(`--tests: unknown test '${t}' (known: ${Object.keys(TEST_COMMANDS).join(', ')})`);
  const pipelines = parseCountList('pipelines', String(flags.pipelines));
  const scale = flags.full ? 5 : 1;
  const clients = Number(flags.clients);
  const requestsFor = (pipeline: number, conns = clients) =>
    scale * Number(pipeline > 1 ? flags['pipelined-requests'] : conns !== clients ? flags['scaling-requests'] : flags.requests);
  const repeats = Number(flags.repeats ?? 1);
  if (!Number.isInteger(repeats) || repeats < 1) throw new UsageError('--repeats: a count of 1 or more');
  const scalingClients = Number(flags['scaling-clients']);
  // Each pass: (pipeline, connections). At the memory limit only the configured connections.
  const passes: [number, number][] = pipelines.map((p) => [p, clients]);
  if (!limit && !flags['no-scaling'] && scalingClients !== clients) passes.push([1, scalingClients]);
  const keyspace = limit ? limit.keyspace : flags.keyspace === undefined ? null : Number(flags.keyspace);

  // Two cores or more: the server gets the last core, redis-benchmark the first, so the
  // load generator does not steal the server's CPU (the measured per-request CPU is the server's).
  const cores = os.cpus().length;
  const pin = tools.taskset !== null && cores >= 2;
  const serverCpu = pin ? cores - 1 : null;
  const pinned = pin ? `servers pinned to CPU ${serverCpu}, redis-benchmark to CPU 0 (taskset)` : null;
  if (!pin && !flags['no-pin']) note('taskset not found or a single core: servers and redis-benchmark are not pinned');

  const kinds = serverKinds(tools);
  const section: ThroughputSection = {
    date: new Date().toISOString(), machine: describeMachine(tools.redisServer), commands: [], notes: [...tools.notes],
    invocation: invocation(), clients, requests: requestsFor(1), pipelinedRequests: requestsFor(16), scalingRequests: passes.some(([, c]) => c !== clients) ? requestsFor(1, scalingClients) : undefined, pinned, rows: [],
    limit: limit ? `maxmemory ${limit.maxmemory}, ${limit.valueSize}-byte values, ${limit.keyspace.toLocaleString('en-US')} random keys; each server filled until it evicts before each test` : undefined,
  };
  const servers = new Map<ServerKind, Server>();
  try {
    for (const kind of kinds) {
      const s = await startServer(tools, kind, { cpu: serverCpu });
      servers.set(kind, s);
      section.commands.push(s.commandLine);
    }
    const benchArgv = (port: number, test: string, pipeline: number, conns: number) => {
      const custom = CUSTOM_TESTS[test];
      const random = custom ? custom.random : keyspace;
      return [
        ...(pin ? [tools.taskset as string, '-c', '0'] : []), tools.redisBenchmark as string, '-h', '127.0.0.1', '-p', String(port),
        '-c', String(conns), '-n', String(requestsFor(pipeline, conns)), '-P', String(pipeline), ...(random ? ['-r', String(random)] : []),
        ...(limit ? ['-d', String(limit.valueSize)] : []), '--csv', ...(custom ? custom.command : ['-t', test])];
    };
    for (const [p, conns] of passes) section.commands.push(shellLine(benchArgv(0, '<test>', p, conns)).replace(' -p 0 ', ' -p $PORT '));

    const missing = new Map<ServerKind, Set<string>>();
    for (const [kind, s] of servers) {
      const unknown = new Set<string>();
      for (const cmd of new Set(tests.flatMap((t) => TEST_COMMANDS[t]))) if (!(await knowsCommand(s.client, cmd))) unknown.add(cmd);
      missing.set(kind, unknown);
      if (unknown.size > 0) note(`${LABEL[kind]} does not know ${[...unknown].join(', ')}: those tests are skipped for it`);
    }

    let round = 0;
    const policies = limit ? limit.policies : [null];
    const total = tests.length * passes.length * policies.length;
    for (const policy of policies) for (const [pipeline, conns] of passes) {
      for (const test of tests) {
        const name = policy ? `${test.toUpperCase()} ${policy}` : test.toUpperCase();
        step(`test ${round + 1}/${total}: ${name} -P ${pipeline} -c ${conns}`);
        const row: ThroughputRow = { test: name, pipeline, clients: conns, servers: { keyfork: null, redis: null }, notes: [] };
        const runs = new Map<ServerKind, ThroughputServerResult[]>();
        for (let repeat = 0; repeat < repeats; repeat++) for (const kind of alternate(kinds, round + repeat)) {
          const lacking = TEST_COMMANDS[test].filter((c) => missing.get(kind)!.has(c));
          if (lacking.length > 0) {
            if (repeat === 0) row.notes.push(`${LABEL[kind]}: ${lacking.join(', ')} ${NOT_YET}`);
            continue;
          }
          const server = servers.get(kind)!;
          try {
            if (limit && policy) await fillToLimit(server, limit, policy, benchArgv(server.port, 'set', 16, conns));
            const evictedBefore = limit ? await infoNumber(server.client, 'stats', 'evicted_keys') : 0;
            const custom = CUSTOM_TESTS[test];
            if (custom) await prepare(server, custom, requestsFor(pipeline, conns));
            const result = await measureOne(server, benchArgv(server.port, test, pipeline, conns), test, requestsFor(pipeline, conns), section.rows, kind, pipeline, conns);
            runs.set(kind, [...(runs.get(kind) ?? []), result]);
            if (limit) {
              const evicted = ((await infoNumber(server.client, 'stats', 'evicted_keys')) ?? 0) - (evictedBefore ?? 0);
              row.notes.push(`${LABEL[kind]}: ${evicted.toLocaleString('en-US')} keys evicted during the test (${((100 * evicted) / requestsFor(pipeline, conns)).toFixed(0)}% of the writes)`);
            }
            step(`  ${LABEL[kind].padEnd(12)} ${Math.round(result.rps).toLocaleString('en-US').padStart(9)} rps, ${result.cpuUsPerRequest.toFixed(2)} us CPU/request`
              + `, busy: redis-benchmark ${busyPercent(result.benchBusy)}, server ${busyPercent(result.serverBusy)}`);
          } catch (err) {
            row.notes.push(`${LABEL[kind]}: ${(err as Error).message.split('\n')[0]}`);
            note(`${LABEL[kind]}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
        for (const [kind, results] of runs) row.servers[kind] = medianRun(results);
        if (repeats > 1) {
          row.notes.push(`median of ${repeats} alternating runs; rps per run: `
            + [...runs].map(([kind, results]) => `${LABEL[kind]} ${results.map((r) => Math.round(r.rps).toLocaleString('en-US')).join(', ')}`).join('; '));
        }
        if (test.startsWith('lrange') && (row.servers.keyfork || row.servers.redis)) row.notes.push('CPU per request excludes the LPUSH requests redis-benchmark sends first to fill the list (estimated from the LPUSH test, or split evenly without one)');
        section.rows.push(row);
        round++;
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  process.stdout.write('\n' + renderThroughputSection(section) + '\n');
  publish(flags, limit ? 'eviction' : 'throughput', section);
}

/** Each figure's median over repeated runs of one test on one server. */
function medianRun(results: ThroughputServerResult[]): ThroughputServerResult {
  const median = (pick: (r: ThroughputServerResult) => number | undefined): number | undefined => {
    const values = results.map(pick).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    if (values.length === 0) return undefined;
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  };
  return {
    rps: median((r) => r.rps)!, p50Ms: median((r) => r.p50Ms)!, cpuUsPerRequest: median((r) => r.cpuUsPerRequest)!,
    userUsPerRequest: median((r) => r.userUsPerRequest)!, systemUsPerRequest: median((r) => r.systemUsPerRequest)!,
    benchCpuUsPerRequest: median((r) => r.benchCpuUsPerRequest), benchBusy: median((r) => r.benchBusy), serverBusy: median((r) => r.serverBusy),
  };
}

function busyPercent(share: number | undefined): string {
  return share === undefined ? '?' : `${Math.round(share * 100)}%`;
}

/** Sets the limit and the policy, then writes random keys until the server evicts. */
async function fillToLimit(server: Server, limit: MemoryLimit, policy: string, fillArgv: string[]): Promise<void> {
  await server.client.callOk('FLUSHALL');
  await server.client.callOk('CONFIG', 'SET', 'maxmemory', limit.maxmemory, 'maxmemory-policy', policy);
  await server.client.callOk('CONFIG', 'RESETSTAT');
  for (let round = 0; round < 20 && ((await infoNumber(server.client, 'stats', 'evicted_keys')) ?? 0) === 0; round++) {
    const n = fillArgv.indexOf('-n');
    const argv = [...fillArgv];
    argv[n + 1] = '200000';
    await runBenchmarkTool(argv);
  }
}

/** A flushed server holding what a custom test reads (sent pipelined, in 1 MiB batches). */
async function prepare(server: Server, test: CustomTest, requests: number): Promise<void> {
  await server.client.call('FLUSHALL');
  if (!test.setup) return;
  const batch = new CommandBatch();
  const sent: Promise<{ errors: number; firstError: string | null }>[] = [];
  const flush = () => {
    const n = batch.count;
    if (n > 0) sent.push(server.client.sendBatch(batch.take(), n));
  };
  test.setup((args) => {
    batch.add(args);
    if (batch.bytes >= 1 << 20) flush();
  }, requests);
  flush();
  for (const r of await Promise.all(sent)) if (r.errors > 0) throw new Error(`preparing the data failed: ${r.firstError}`);
}

async function measureOne(
  server: Server, argv: string[], test: string, requests: number, earlier: ThroughputRow[], kind: ServerKind, pipeline: number,
  clients: number,
): Promise<ThroughputServerResult> {
  const before = processCpu(server.pid);
  const benchBefore = endedChildrenCpuSec();
  const started = process.hrtime.bigint();
  const csv = await runBenchmarkTool(argv);
  const wallSec = Number(process.hrtime.bigint() - started) / 1e9;
  const benchSec = endedChildrenCpuSec() - benchBefore;
  const delta = cpuDelta(before, processCpu(server.pid));
  const used = preciseSplit(delta);
  const rows = parseCsv(csv);
  const main = rows.find((r) => r.test.split(' ')[0] === test.toUpperCase() && !r.test.includes('needed'));
  if (!main) throw new Error(`no ${test.toUpperCase()} line in redis-benchmark's output: ${csv.trim().slice(0, 200)}`);
  let userSec = used.userSec;
  let systemSec = used.systemSec;
  let counted = requests;
  if (rows.length > 1) {
    // LRANGE_*: subtract the preparatory LPUSH requests' CPU, measured by the LPUSH test if it ran.
    const lpush = earlier.find((r) => r.test === 'LPUSH' && r.pipeline === pipeline && (r.clients ?? clients) === clients)?.servers[kind as keyof PerServer<unknown>];
    const extra = requests * (rows.length - 1);
    if (lpush) {
      userSec = Math.max(0, userSec - (lpush.userUsPerRequest * extra) / 1e6);
      systemSec = Math.max(0, systemSec - (lpush.systemUsPerRequest * extra) / 1e6);
    } else counted += extra;
  }
  const userUs = (userSec * 1e6) / counted;
  const systemUs = (systemSec * 1e6) / counted;
  // Which side limits rps: each one's share of its core over the whole run (with LRANGE_*'s
  // LPUSH phase, which both sides run alike), and the load generator's CPU per request.
  const serverSec = delta.runSec ?? used.userSec + used.systemSec;
  return {
    rps: main.rps, p50Ms: main.p50Ms, cpuUsPerRequest: userUs + systemUs, userUsPerRequest: userUs, systemUsPerRequest: systemUs,
    benchCpuUsPerRequest: (benchSec * 1e6) / (requests * rows.length), benchBusy: benchSec / wallSec, serverBusy: serverSec / wallSec,
  };
}

export const benchmark: Benchmark = {
  name: 'throughput',
  summary: 'Command throughput, keyfork vs redis-server: redis-benchmark -c 50 at -P 1 and -P 16 per test, servers alternating,\n'
    + 'with the server\'s CPU time per request from /proc/PID/stat.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
