// Save throughput against dataset size: BGSAVE (child time from the log), fork time, RDB size,
// memory per key, copy-on-write under a write load, foreground SAVE, and start-up load time of
// the same RDB file, for keyfork and redis-server side by side.
import fs from 'node:fs';
import path from 'node:path';
import { type FlagSpec, type ParsedFlags, UsageError, parseCountList, shortCount } from './lib/args';
import { CommandBatch, type Dataset, loadDataset, mixedDataset, streamDataset, stringDataset } from './lib/datasets';
import { NOT_YET, USED_MEMORY_IS_RSS, dbsize, infoNumber, usedMemoryIsRss } from './lib/info';
import { describeMachine } from './lib/machine';
import { availableMemory, residentBytes } from './lib/proc';
import { note, step } from './lib/progress';
import { renderSaveSection } from './lib/markdown';
import { type SaveDatasetResult, type SaveSection, type SaveServerResult, median } from './lib/results';
import { RespClient, RespError, isUnknownCommand, replyText, shortError } from './lib/resp';
import { type Benchmark, invocation, publish, runMain } from './lib/script';
import { LogCursor, bgsaveTimeline, keysLoaded, loadSeconds, parseLogLines } from './lib/serverlog';
import {
  LABEL, type Server, type ServerKind, type Toolchain, alternate, checkPrerequisites, makeTempDir, serverKinds, sleep, startServer,
} from './lib/servers';
import { removeTempDir } from './lib/cleanup';

const QUICK_SIZES = '10k,100k,1M,4M';
const FULL_SIZES = '10k,100k,1M,4M,10M';
const QUICK_MIXED_SIZES = '10k,100k,1M';
const FULL_MIXED_SIZES = '10k,100k,1M,4M,10M';

/** What a run measures per dataset; --steps picks some (each needs only the loaded dataset). */
const ALL_STEPS = ['bgsave', 'save', 'cow', 'startup'] as const;
type Step = (typeof ALL_STEPS)[number];

function parseSteps(text: string): Set<Step> {
  const steps = new Set<Step>();
  for (const s of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(ALL_STEPS as readonly string[]).includes(s)) throw new UsageError(`--steps: unknown step ${s} (known: ${ALL_STEPS.join(', ')})`);
    steps.add(s as Step);
  }
  if (steps.size === 0) throw new UsageError('--steps: name at least one step');
  if (steps.has('startup') && !steps.has('bgsave')) throw new UsageError('--steps: startup loads the RDB file the bgsave step writes: add bgsave');
  return steps;
}

export const FLAGS: FlagSpec[] = [
  { name: 'sizes', kind: 'list', help: `string dataset sizes (${QUICK_SIZES} by default, ${FULL_SIZES} with --full)` },
  { name: 'mixed-sizes', kind: 'list', help: `mixed dataset sizes, or "none" (${QUICK_MIXED_SIZES} by default, ${FULL_MIXED_SIZES} with --full)` },
  { name: 'stream-sizes', kind: 'list', help: 'stream dataset sizes in entries, or "none" (none by default, 1M with --full)' },
  { name: 'full', kind: 'bool', help: 'the full set of sizes; sizes that do not fit in free memory are skipped', default: false },
  { name: 'repeats', kind: 'int', help: 'BGSAVE runs per server and dataset, alternating servers (median reported)', default: 3 },
  { name: 'cow-rate', kind: 'int', help: 'writes per second sent during the copy-on-write BGSAVE', default: 20000 },
  { name: 'cow-writes', kind: 'int', help: 'stop the copy-on-write load after this many writes (no limit by default): the same number for both servers when it fits in both saves, whose CoW per write falls as more writes hit pages copied already' },
  { name: 'steps', kind: 'list', help: `what to measure per dataset, of ${ALL_STEPS.join(',')} (all by default): e.g. --steps bgsave,cow for saves and copy-on-write only`, default: ALL_STEPS.join(',') },
  { name: 'loader', kind: 'string', help: 'auto | populate | resp: how string datasets are loaded (auto: DEBUG POPULATE where supported)', default: 'auto' },
];

/**
 * Resident bytes of the servers loaded at once, to skip sizes that cannot fit. 250 bytes per key
 * and 50 per element fit redis-server's measured RSS (2026-12-07: 4.03 GB for the mixed 4M-key
 * dataset, 59M elements; 187 bytes per 100-byte string). keyfork measured 0.78x of that estimate
 * for mixed keys and 0.76x for strings, so it is counted at 0.85x. Copy-on-write during the
 * saves (61 MB at most in latest.md) and the bench itself fit in a fixed GiB.
 */
const KEYFORK_SHARE_OF_ESTIMATE = 0.85;
const FIXED_HEADROOM_BYTES = 2 ** 30;

function estimatedBytes(ds: Dataset, kinds: ServerKind[]): number {
  const redisBytes = ds.keys * 250 + ds.elements * 50;
  const servers = kinds.reduce((sum, kind) => sum + redisBytes * (kind === 'keyfork' ? KEYFORK_SHARE_OF_ESTIMATE : 1), 0);
  return servers + FIXED_HEADROOM_BYTES;
}


export async function run(flags: ParsedFlags): Promise<void> {
  const tools = checkPrerequisites(flags);
  const kinds = serverKinds(tools);
  const full = Boolean(flags.full);
  const sizes = parseCountList('sizes', String(flags.sizes ?? (full ? FULL_SIZES : QUICK_SIZES)));
  const mixedText = String(flags['mixed-sizes'] ?? (full ? FULL_MIXED_SIZES : QUICK_MIXED_SIZES));
  const mixedSizes = mixedText === 'none' ? [] : parseCountList('mixed-sizes', mixedText);
  const streamText = String(flags['stream-sizes'] ?? (full ? '1M' : 'none'));
  const streamSizes = streamText === 'none' ? [] : parseCountList('stream-sizes', streamText);
  const loader = String(flags.loader);
  if (!['auto', 'populate', 'resp'].includes(loader)) throw new Error(`--loader must be auto, populate or resp (got ${loader})`);
  const repeats = Number(flags.repeats);
  const cowRate = Number(flags['cow-rate']);
  const cowWrites = flags['cow-writes'] === undefined ? null : Number(flags['cow-writes']);
  const steps = parseSteps(String(flags.steps));

  const section: SaveSection = {
    date: new Date().toISOString(), machine: describeMachine(tools.redisServer), commands: [], notes: [...tools.notes],
    invocation: invocation(), repeats, cowWriteRate: cowRate, datasets: [],
  };
  const addCommand = (c: string) => {
    if (!section.commands.includes(c)) section.commands.push(c);
  };
  addCommand('BGSAVE; timed from the log: "Background saving started by pid" -> "DB saved on disk" (child) and -> "Background saving terminated with success"');
  addCommand('SAVE; timed by the client (send -> +OK)');
  addCommand(`copy-on-write: BGSAVE while a second connection sends ${cowRate} writes/s${cowWrites === null ? '' : ` (${cowWrites} at most)`} to random existing keys (SET of 100-byte values to strings, XADD to streams); INFO persistence rdb_last_cow_size, per write acknowledged before the child's "DB saved on disk"`);

  const datasets = [...sizes.map(stringDataset), ...mixedSizes.map(mixedDataset), ...streamSizes.map(streamDataset)];
  for (const [index, ds] of datasets.entries()) {
    const need = estimatedBytes(ds, kinds);
    if (need > availableMemory() * 0.9) {
      const msg = `${ds.name} skipped: needs about ${(need / 2 ** 30).toFixed(1)} GiB, ${(availableMemory() / 2 ** 30).toFixed(1)} GiB available`;
      note(msg);
      section.notes.push(msg);
      continue;
    }
    step(`dataset ${index + 1}/${datasets.length}: ${ds.describe}`);
    section.datasets.push(await measureDataset(tools, kinds, ds, { loader, repeats, cowRate, cowWrites, steps, round: index, addCommand }));
  }
  process.stdout.write('\n' + renderSaveSection(section) + '\n');
  publish(flags, 'save', section);
}

interface DatasetOptions {
  loader: string;
  repeats: number;
  cowRate: number;
  cowWrites: number | null;
  steps: Set<Step>;
  round: number;
  addCommand(c: string): void;
}

function emptyResult(): SaveServerResult {
  return {
    loadSeconds: null, dbsize: null, usedMemory: null, rss: null, bgsaveChildMs: null, bgsaveTotalMs: null, bgsaveRuns: [],
    forkUs: null, rdbBytes: null, saveMs: null, cowBytes: null, cowLogPeakMb: null, cowWrites: null, cowChildMs: null,
    startupReadyMs: null, startupLoadLogSec: null, startupKeys: null, notes: [],
  };
}

async function measureDataset(tools: Toolchain, kinds: ServerKind[], ds: Dataset, opts: DatasetOptions): Promise<SaveDatasetResult> {
  const results = new Map<ServerKind, SaveServerResult>(kinds.map((k) => [k, emptyResult()]));
  const servers = new Map<ServerKind, Server>();
  const order = alternate(kinds, opts.round);
  const bgsaveSupported = new Map<ServerKind, boolean>();
  const totalRuns = new Map<ServerKind, number[]>(kinds.map((k) => [k, []]));
  const rdbCopies = new Map<ServerKind, string>();
  const holding = makeTempDir('rdb');
  try {
    for (const kind of order) {
      const server = await startServer(tools, kind);
      servers.set(kind, server);
      opts.addCommand(server.commandLine);
      await loadInto(server, ds, opts, results.get(kind)!);
    }
    // Saves run one at a time, alternating servers between runs.
    for (let r = 0; opts.steps.has('bgsave') && r < opts.repeats; r++) {
      for (const kind of alternate(order, r)) {
        if (bgsaveSupported.get(kind) === false) continue;
        const res = results.get(kind)!;
        const outcome = await timedBgsave(servers.get(kind)!, ds, `${LABEL[kind]} BGSAVE ${r + 1}/${opts.repeats}`);
        if (typeof outcome === 'string') {
          bgsaveSupported.set(kind, false);
          res.notes.push(`BGSAVE: ${outcome}`);
          continue;
        }
        bgsaveSupported.set(kind, true);
        step(`    ${outcome.childMs} ms in the child (${Math.round(ds.keys / (outcome.childMs / 1000)).toLocaleString('en-US')} keys/s), ${outcome.totalMs} ms until reaped`);
        res.bgsaveRuns.push(outcome.childMs);
        totalRuns.get(kind)!.push(outcome.totalMs);
      }
    }
    for (const kind of opts.steps.has('bgsave') ? order : []) {
      const res = results.get(kind)!;
      const server = servers.get(kind)!;
      res.bgsaveChildMs = median(res.bgsaveRuns);
      res.bgsaveTotalMs = median(totalRuns.get(kind)!);
      if (bgsaveSupported.get(kind)) {
        res.forkUs = await infoNumber(server.client, 'stats', 'latest_fork_usec');
        if (res.forkUs === null) res.notes.push(`fork time: INFO stats latest_fork_usec ${NOT_YET}`);
        else if (res.forkUs === 0) {
          // A fork always takes some microseconds; 0 after a successful BGSAVE means "not recorded".
          res.forkUs = null;
          res.notes.push('fork time: INFO stats latest_fork_usec is still 0 after a BGSAVE (not recorded by this build)');
        }
        const rdb = path.join(server.dir, 'dump.rdb');
        if (fs.existsSync(rdb)) {
          res.rdbBytes = fs.statSync(rdb).size;
          const copy = path.join(holding, `${kind}.rdb`);
          fs.copyFileSync(rdb, copy);
          rdbCopies.set(kind, copy);
        } else res.notes.push('BGSAVE reported success but dump.rdb is missing');
      }
    }
    if (opts.steps.has('save')) for (const kind of alternate(order, 1)) await timedSave(servers.get(kind)!, results.get(kind)!);
    for (const kind of opts.steps.has('cow') ? order : []) {
      if (bgsaveSupported.get(kind) !== false) await measureCow(servers.get(kind)!, ds, opts.cowRate, opts.cowWrites, results.get(kind)!);
      else results.get(kind)!.notes.push('copy-on-write: needs BGSAVE');
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }

  // Start-up: both servers load the same file, redis-server's when there is one.
  const reference = rdbCopies.has('redis') ? 'redis' : rdbCopies.has('keyfork') ? 'keyfork' : null;
  let keyforkRdbInRedis: string | null = null;
  if (!opts.steps.has('startup')) {
    // Not measured (--steps).
  } else if (reference) {
    for (const kind of alternate(order, 1)) await timedStartup(tools, kind, rdbCopies.get(reference)!, ds, results.get(kind)!, LABEL[reference]);
    if (rdbCopies.has('keyfork') && tools.redisServer) keyforkRdbInRedis = await crossLoad(tools, rdbCopies.get('keyfork')!);
  } else for (const res of results.values()) res.notes.push('start-up load: no RDB file was produced');
  removeTempDir(holding);

  return {
    name: ds.name, describe: ds.describe, keys: ds.keys, elements: ds.elements,
    startupRdbFrom: reference ? LABEL[reference] : null, keyforkRdbInRedis,
    servers: { keyfork: results.get('keyfork') ?? null, redis: results.get('redis') ?? null },
  };
}

async function loadInto(server: Server, ds: Dataset, opts: DatasetOptions, res: SaveServerResult): Promise<void> {
  const label = `${LABEL[server.kind]} load`;
  const usedBefore = await infoNumber(server.client, 'memory', 'used_memory');
  const rssBefore = residentBytes(server.pid);
  const t0 = performance.now();
  let loaded = false;
  if (ds.name.startsWith('strings-') && opts.loader !== 'resp') {
    step(`  ${label}: DEBUG POPULATE ${ds.keys} key 100`);
    const reply = await server.client.call('DEBUG', 'POPULATE', ds.keys, 'key', 100);
    if (reply === 'OK') {
      loaded = true;
      res.loadSeconds = (performance.now() - t0) / 1000;
      opts.addCommand(`load (${LABEL[server.kind]}): DEBUG POPULATE ${ds.keys} key 100`);
    } else if (opts.loader === 'populate') {
      throw new Error(`${LABEL[server.kind]}: DEBUG POPULATE failed (${replyText(reply)}) and --loader populate was given`);
    } else {
      note(`${LABEL[server.kind]}: DEBUG POPULATE unavailable (${replyText(reply)}); loading with pipelined SETs`);
    }
  }
  if (!loaded) {
    const r = await loadDataset(server.client, ds, label);
    res.loadSeconds = r.seconds;
    opts.addCommand(`load (${LABEL[server.kind]}): pipelined ${ds.name.startsWith('strings-') ? 'SET' : 'SET/HSET/RPUSH/SADD/ZADD'} commands over one connection, 512 KiB batches, 4 in flight`);
    if (r.errors > 0) {
      const unsupported = /unknown command/i.test(r.firstError ?? '');
      res.notes.push(`load: ${r.errors} of ${r.commands} commands failed (${shortError(r.firstError)})${unsupported ? ` — ${NOT_YET}` : ''}`);
    }
  }
  res.dbsize = await dbsize(server.client);
  if (res.dbsize === null) res.notes.push(`DBSIZE ${NOT_YET}`);
  else if (res.dbsize !== ds.keys) res.notes.push(`DBSIZE is ${res.dbsize}, expected ${ds.keys}`);
  const usedAfter = await infoNumber(server.client, 'memory', 'used_memory');
  res.usedMemory = usedBefore !== null && usedAfter !== null ? usedAfter - usedBefore : null;
  if (res.usedMemory === null) res.notes.push(`INFO memory used_memory ${NOT_YET}`);
  else if (await usedMemoryIsRss(server.client)) res.notes.push(USED_MEMORY_IS_RSS);
  const rssAfter = residentBytes(server.pid);
  res.rss = rssBefore !== null && rssAfter !== null ? rssAfter - rssBefore : null;
}

interface BgsaveOutcome {
  childMs: number;
  totalMs: number;
  cowPeakMb: number | null;
  /** The child's "DB saved on disk" (ms since the epoch, from the log). */
  savedAt: number;
}

/** Runs one BGSAVE and times it from the log; a string explains why it could not be measured. */
async function timedBgsave(server: Server, ds: Dataset, label: string, duringSave?: () => Promise<void>): Promise<BgsaveOutcome | string> {
  const cursor = new LogCursor(server.logFile);
  step(`  ${label}`);
  const reply = await server.client.call('BGSAVE');
  if (isUnknownCommand(reply)) return NOT_YET;
  if (reply instanceof RespError || reply !== 'Background saving started') return `unexpected reply ${replyText(reply)}`;
  const timeoutMs = 60_000 + ds.elements * 0.05;
  const finished = cursor.waitFor(/^Background saving (terminated with success|error)/, timeoutMs);
  if (duringSave) await duringSave();
  let lines;
  try {
    lines = await finished;
  } catch (err) {
    return (err as Error).message;
  }
  const t = bgsaveTimeline(lines);
  if (!t) return 'no "Background saving started by pid" line in the log';
  if (!t.ok) return `the save failed: ${t.errorLine ?? 'Background saving error'}`;
  if (t.savedAt === null) return 'no "DB saved on disk" line from the child in the log';
  return { childMs: t.savedAt - t.startedAt, totalMs: (t.terminatedAt ?? t.savedAt) - t.startedAt, cowPeakMb: t.cowPeakMb, savedAt: t.savedAt };
}

async function timedSave(server: Server, res: SaveServerResult): Promise<void> {
  step(`  ${LABEL[server.kind]} SAVE`);
  const t0 = performance.now();
  const reply = await server.client.call('SAVE');
  const ms = performance.now() - t0;
  if (isUnknownCommand(reply)) res.notes.push(`SAVE: ${NOT_YET}`);
  else if (reply !== 'OK') res.notes.push(`SAVE: unexpected reply ${replyText(reply)}`);
  else res.saveMs = ms;
}

/** A deterministic pseudo-random sequence (xorshift32), the same for both servers. */
function randomSequence(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

async function measureCow(server: Server, ds: Dataset, rate: number, limit: number | null, res: SaveServerResult): Promise<void> {
  const writer = await RespClient.connect(server.port);
  const next = randomSequence(12345);
  const writeFor = ds.writeFor ?? (() => null);
  let stop = false;
  let writes = 0;
  let writeErrors = 0;
  // When each batch was acknowledged and the writes done by then: only writes the server
  // executed before the child finished can have copied pages it reports.
  const acked: Array<[number, number]> = [];
  // Writes are paced in 10 ms ticks, so both servers receive the same load over time.
  const perTick = Math.max(1, Math.round(rate / 100));
  let sent = 0;
  const load = async () => {
    const batch = new CommandBatch();
    let due = performance.now();
    while (!stop && (limit === null || sent < limit)) {
      for (let n = 0; n < perTick && (limit === null || sent < limit); n++, sent++) {
        let i = next() % ds.keys;
        let write = writeFor(i);
        for (let tries = 0; write === null && tries < ds.keys; tries++) {
          i = (i + 1) % ds.keys;
          write = writeFor(i);
        }
        if (write) batch.add(write);
      }
      const count = batch.count;
      const r = await writer.sendBatch(batch.take(), count);
      writes += r.replies - r.errors;
      writeErrors += r.errors;
      acked.push([Date.now(), writes]);
      due += 10;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  };
  let loadDone: Promise<void> = Promise.resolve();
  const outcome = await timedBgsave(server, ds, `${LABEL[server.kind]} BGSAVE with ${rate} writes/s (copy-on-write)`, async () => {
    loadDone = load();
  });
  stop = true;
  await loadDone;
  writer.close();
  if (typeof outcome === 'string') {
    res.notes.push(`copy-on-write BGSAVE: ${outcome}`);
    return;
  }
  res.cowChildMs = outcome.childMs;
  res.cowLogPeakMb = outcome.cowPeakMb;
  res.cowWrites = acked.filter(([at]) => at <= outcome.savedAt).at(-1)?.[1] ?? 0;
  if (writeErrors > 0) res.notes.push(`copy-on-write: ${writeErrors} writes failed`);
  res.cowBytes = await infoNumber(server.client, 'persistence', 'rdb_last_cow_size');
  if (res.cowBytes === null) res.notes.push(`copy-on-write: INFO persistence rdb_last_cow_size ${NOT_YET}`);
  else {
    const perWrite = res.cowWrites > 0 ? `, ${(res.cowBytes / res.cowWrites / 1024).toFixed(2)} KB per write` : '';
    step(`    ${(res.cowBytes / 1e6).toFixed(1)} MB copied during ${outcome.childMs} ms, ${res.cowWrites} writes before the child's end (${writes} sent in all)${perWrite}`);
  }
}

async function timedStartup(tools: Toolchain, kind: ServerKind, rdb: string, ds: Dataset, res: SaveServerResult, from: string): Promise<void> {
  const dir = makeTempDir(`${kind}-startup`);
  fs.copyFileSync(rdb, path.join(dir, 'dump.rdb'));
  step(`  ${LABEL[kind]} start-up with ${from}'s RDB`);
  let server: Server;
  try {
    server = await startServer(tools, kind, { dir });
  } catch (err) {
    res.notes.push(`start-up load of ${from}'s RDB failed: ${firstLine((err as Error).message)}`);
    removeTempDir(dir);
    return;
  }
  const lines = parseLogLines(server.startupLog);
  res.startupReadyMs = server.readyMs;
  res.startupLoadLogSec = loadSeconds(lines);
  res.startupKeys = (await dbsize(server.client)) ?? keysLoaded(lines);
  if (res.startupLoadLogSec === null) res.notes.push('start-up: no "DB loaded from disk" line in the log');
  if (res.startupKeys !== null && res.startupKeys !== ds.keys) res.notes.push(`start-up: ${res.startupKeys} keys loaded, expected ${ds.keys}`);
  await server.stop();
  removeTempDir(dir);
}

/** Loads keyfork's RDB into redis-server: the format check that matters most to users. */
async function crossLoad(tools: Toolchain, keyforkRdb: string): Promise<string> {
  const dir = makeTempDir('crossload');
  fs.copyFileSync(keyforkRdb, path.join(dir, 'dump.rdb'));
  step(`  redis-server start-up with keyfork's RDB (format check)`);
  try {
    const server = await startServer(tools, 'redis', { dir });
    const keys = await dbsize(server.client);
    await server.stop();
    return `loaded, ${keys} keys`;
  } catch (err) {
    return `failed: ${firstLine((err as Error).message)}`;
  } finally {
    removeTempDir(dir);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

export const benchmark: Benchmark = {
  name: 'save',
  summary: 'Save throughput against dataset size, keyfork vs redis-server: BGSAVE time (from the servers\' logs),\n'
    + 'keys/s, MB/s, fork time, RDB size, memory per key, copy-on-write under writes, SAVE, start-up load time.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
