// Replication, keyfork vs redis-server as the master, side by side: the time of a full sync of
// 1M strings and of the 1M mixed dataset to a fresh redis-server replica (disk and diskless),
// read from the servers' own log timestamps, and write throughput (redis-benchmark) on a
// master with two redis-server replicas attached, which must end with the master's data.
import { type FlagSpec, type ParsedFlags, parseCountList } from './lib/args';
import { type Dataset, loadDataset, mixedDataset, stringDataset } from './lib/datasets';
import { describeMachine } from './lib/machine';
import { renderReplicationSection } from './lib/markdown';
import { note, step } from './lib/progress';
import type { FullSyncResult, FullSyncRow, ReplicatedWriteRow, ReplicationSection } from './lib/results';
import { replyText } from './lib/resp';
import { type Benchmark, invocation, publish, runMain } from './lib/script';
import { parseCsv, runBenchmarkTool } from './throughput';
import { LogCursor } from './lib/serverlog';
import { LABEL, type Server, type ServerKind, type Toolchain, alternate, checkPrerequisites, serverKinds, shellLine, sleep, startServer } from './lib/servers';

export const FLAGS: FlagSpec[] = [
  // Named apart from save's --sizes/--mixed-sizes and throughput's --requests: `npm run bench` parses
  // one set of flags for every benchmark, and a shared name would take the other benchmark's default.
  { name: 'sync-sizes', kind: 'list', help: 'string dataset sizes for the full sync', default: '1M' },
  { name: 'sync-mixed-sizes', kind: 'list', help: 'mixed dataset sizes for the full sync, or "none"', default: '1M' },
  { name: 'modes', kind: 'list', help: 'full sync modes: disk, diskless', default: 'disk,diskless' },
  { name: 'write-tests', kind: 'list', help: 'redis-benchmark tests run against a master with two replicas', default: 'set,lpush,incr' },
  { name: 'pipelines', kind: 'list', help: 'pipeline depths (-P) of the write tests', default: '1,16' },
  { name: 'write-requests', kind: 'int', help: 'requests per write test (-n)', default: 200000 },
  { name: 'clients', kind: 'int', help: 'parallel connections of the write tests (-c)', default: 50 },
];

const SYNC_TIMEOUT_MS = 10 * 60_000;

/** Master settings for a mode; the diskless delay is 0 so the sync starts at once. */
function modeArgs(mode: 'disk' | 'diskless'): string[] {
  return ['repl-diskless-sync', mode === 'diskless' ? 'yes' : 'no', 'repl-diskless-sync-delay', '0'];
}

async function info(server: Server, section: string): Promise<Map<string, string>> {
  const text = replyText(await server.client.call('INFO', section));
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Waits until `replica` applied everything `master` produced and holds the same digest. */
async function inSync(master: Server, replica: Server, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [m, r] = [await info(master, 'replication'), await info(replica, 'replication')];
    if (r.get('master_link_status') === 'up' && m.get('master_repl_offset') === r.get('master_repl_offset')) {
      if (replyText(await master.client.call('DEBUG', 'DIGEST')) === replyText(await replica.client.call('DEBUG', 'DIGEST'))) return true;
    }
    await sleep(100);
  }
  return false;
}

async function fullSync(tools: Toolchain, master: Server): Promise<FullSyncResult> {
  const masterLog = new LogCursor(master.logFile);
  const replica = await startServer(tools, 'redis', { args: ['--replicaof', '127.0.0.1', String(master.port)] });
  try {
    const name = `127.0.0.1:${replica.port}`;
    const asks = new RegExp(`^Replica ${name.replace(/\./g, '\\.')} asks for synchronization`);
    const succeeded = new RegExp(`^Synchronization with replica ${name.replace(/\./g, '\\.')} succeeded`);
    const mLines = await masterLog.waitFor(succeeded, SYNC_TIMEOUT_MS);
    const replicaLog = new LogCursor(replica.logFile, true);
    const rLines = await replicaLog.waitFor(/^MASTER <-> REPLICA sync: Finished with success/, SYNC_TIMEOUT_MS);
    const start = mLines.find((l) => asks.test(l.message))?.time ?? null;
    const masterDone = mLines.find((l) => succeeded.test(l.message))?.time ?? null;
    const replicaDone = rLines.find((l) => l.message.startsWith('MASTER <-> REPLICA sync: Finished with success'))?.time ?? null;
    return {
      masterMs: start !== null && masterDone !== null ? masterDone - start : null,
      endToEndMs: start !== null && replicaDone !== null ? replicaDone - start : null,
      digestMatches: await inSync(master, replica, 60_000),
    };
  } finally {
    await replica.stop();
  }
}

async function measureFullSyncs(tools: Toolchain, kinds: ServerKind[], ds: Dataset, modes: Array<'disk' | 'diskless'>, section: ReplicationSection): Promise<void> {
  const masters = new Map<ServerKind, Server>();
  try {
    for (const kind of kinds) {
      const s = await startServer(tools, kind);
      masters.set(kind, s);
      if (!section.commands.includes(s.commandLine)) section.commands.push(s.commandLine);
      const loaded = await loadDataset(s.client, ds, `${LABEL[kind]}: loading ${ds.name}`);
      if (loaded.errors > 0) throw new Error(`${LABEL[kind]}: ${loaded.errors} errors loading ${ds.name}: ${loaded.firstError}`);
    }
    for (const [round, mode] of modes.entries()) {
      const row: FullSyncRow = { dataset: ds.name, describe: ds.describe, keys: ds.keys, mode, servers: { keyfork: null, redis: null }, notes: [] };
      for (const kind of alternate(kinds, round)) {
        const master = masters.get(kind)!;
        await master.client.callOk('CONFIG', 'SET', ...modeArgs(mode));
        step(`  ${ds.name} ${mode}: ${LABEL[kind]} master -> redis-server replica`);
        row.servers[kind] = await fullSync(tools, master);
        const r = row.servers[kind]!;
        step(`    master ${r.masterMs} ms, end to end ${r.endToEndMs} ms, digest ${r.digestMatches ? 'equal' : 'DIFFERENT'}`);
        if (!r.digestMatches) row.notes.push(`${LABEL[kind]}: the replica did not end with the master's digest`);
      }
      section.fullSyncs.push(row);
    }
  } finally {
    for (const s of masters.values()) await s.stop();
  }
}

/** rps of the test's own line in redis-benchmark's --csv output. */
function csvRps(csv: string, test: string): number {
  const row = parseCsv(csv).find((r) => r.test.split(' ')[0] === test.toUpperCase());
  if (!row) throw new Error(`no ${test.toUpperCase()} line in redis-benchmark's output: ${csv.trim().slice(0, 200)}`);
  return row.rps;
}

async function measureWrites(tools: Toolchain, kinds: ServerKind[], flags: ParsedFlags, section: ReplicationSection): Promise<void> {
  const tests = String(flags['write-tests']).split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  const pipelines = parseCountList('pipelines', String(flags.pipelines));
  const groups = new Map<ServerKind, { master: Server; replicas: Server[] }>();
  try {
    for (const kind of kinds) {
      const master = await startServer(tools, kind, { args: ['--repl-diskless-sync-delay', '0'] });
      const replicas: Server[] = [];
      for (let i = 0; i < 2; i++) replicas.push(await startServer(tools, 'redis', { args: ['--replicaof', '127.0.0.1', String(master.port)] }));
      groups.set(kind, { master, replicas });
      for (const r of replicas) if (!(await inSync(master, r, 60_000))) throw new Error(`${LABEL[kind]}: a replica did not come up`);
    }
    const argv = (port: number, test: string, pipeline: number) => [
      tools.redisBenchmark as string, '-h', '127.0.0.1', '-p', String(port), '-c', String(section.clients), '-n', String(section.requests),
      '-P', String(pipeline), '-r', '100000', '-t', test, '--csv'];
    section.commands.push(shellLine(argv(0, '<test>', 1)).replace(' -p 0 ', ' -p $PORT '));
    let round = 0;
    for (const test of tests) {
      for (const pipeline of pipelines) {
        const row: ReplicatedWriteRow = { test: test.toUpperCase(), pipeline, servers: { keyfork: null, redis: null }, notes: [] };
        for (const kind of alternate(kinds, round++)) {
          const { master, replicas } = groups.get(kind)!;
          step(`  ${test.toUpperCase()} -P ${pipeline}: ${LABEL[kind]} master with 2 replicas`);
          const rps = csvRps(await runBenchmarkTool(argv(master.port, test, pipeline)), test);
          let replicasInSync = true;
          for (const r of replicas) replicasInSync = (await inSync(master, r, 120_000)) && replicasInSync;
          row.servers[kind] = { rps, replicasInSync };
          step(`    ${Math.round(rps).toLocaleString('en-US')} rps, replicas ${replicasInSync ? 'in sync' : 'NOT in sync'}`);
          if (!replicasInSync) row.notes.push(`${LABEL[kind]}: the replicas did not reach the master's offset and digest`);
        }
        section.writes.push(row);
      }
    }
  } finally {
    for (const g of groups.values()) {
      for (const r of g.replicas) await r.stop();
      await g.master.stop();
    }
  }
}

export async function run(flags: ParsedFlags): Promise<void> {
  const tools = checkPrerequisites(flags, { benchmarkTool: true });
  if (!tools.redisServer) throw new Error('redis-server is needed: the replicas are real redis-server processes');
  const kinds = serverKinds(tools);
  const modes = String(flags.modes).split(',').map((m) => m.trim()) as Array<'disk' | 'diskless'>;
  for (const m of modes) if (m !== 'disk' && m !== 'diskless') throw new Error(`--modes: unknown mode '${m}'`);
  const sizes = parseCountList('sync-sizes', String(flags['sync-sizes']));
  const mixedText = String(flags['sync-mixed-sizes']);
  const mixed = mixedText === 'none' ? [] : parseCountList('sync-mixed-sizes', mixedText);
  const section: ReplicationSection = {
    date: new Date().toISOString(), machine: describeMachine(tools.redisServer), commands: [], notes: [...tools.notes],
    invocation: invocation(), fullSyncs: [], writes: [], clients: Number(flags.clients), requests: Number(flags['write-requests']),
  };
  section.commands.push('replicas: redis-server ... --replicaof 127.0.0.1 $MASTER_PORT; master: CONFIG SET repl-diskless-sync yes|no repl-diskless-sync-delay 0');
  const datasets = [...sizes.map(stringDataset), ...mixed.map(mixedDataset)];
  for (const [i, ds] of datasets.entries()) {
    step(`full sync ${i + 1}/${datasets.length}: ${ds.describe}`);
    await measureFullSyncs(tools, kinds, ds, modes, section);
  }
  if (!tools.redisBenchmark) note('redis-benchmark not found: write throughput with replicas not measured');
  else {
    step('writes on a master with two replicas');
    await measureWrites(tools, kinds, flags, section);
  }
  process.stdout.write('\n' + renderReplicationSection(section) + '\n');
  publish(flags, 'replication', section);
}

export const benchmark: Benchmark = {
  name: 'replication',
  summary: 'Replication, keyfork vs redis-server as the master: full sync time of 1M strings and 1M mixed keys to a real\n'
    + 'redis-server replica (disk and diskless), and write throughput with two replicas attached.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
