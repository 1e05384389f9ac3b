// Memory per element for each type at small (listpack / intset) and large (hashtable,
// skiplist, quicklist of many nodes) sizes: the same data loaded into a fresh keyfork and a
// fresh redis-server, measured as the growth of INFO used_memory and of the process RSS.
import { type FlagSpec, type ParsedFlags } from './lib/args';
import { CommandBatch, type Dataset, loadDataset, populateValue } from './lib/datasets';
import { NOT_YET, USED_MEMORY_IS_RSS, dbsize, infoNumber, usedMemoryIsRss } from './lib/info';
import { describeMachine } from './lib/machine';
import { renderMemorySection } from './lib/markdown';
import { residentBytes } from './lib/proc';
import { step } from './lib/progress';
import type { MemoryRow, MemorySection, MemoryServerResult } from './lib/results';
import { isUnknownCommand, replyText, shortError } from './lib/resp';
import { type Benchmark, invocation, publish, runMain } from './lib/script';
import { LABEL, type ServerKind, type Toolchain, alternate, checkPrerequisites, serverKinds, sleep, startServer } from './lib/servers';

export const FLAGS: FlagSpec[] = [
  { name: 'elements', kind: 'int', help: 'elements loaded per case (2M with --full)', default: 500000 },
  { name: 'cases', kind: 'list', help: 'only these cases (names as in the table)' },
  { name: 'full', kind: 'bool', help: '2M elements per case unless --elements is given', default: false },
];

interface MemoryCase {
  name: string;
  type: string;
  /** Elements per key (1 for strings). */
  perKey: number;
  /** The command that creates key i. */
  command(i: number, into: CommandBatch): void;
}

/** Members of a small-then-large collection: short strings, different per key. */
const member = (j: number, i: number) => `m:${j}:${i}`;

function collection(name: string, type: string, perKey: number, make: (i: number) => string[]): MemoryCase {
  return { name, type, perKey, command: (i, into) => into.add(make(i)) };
}

function range(n: number, f: (j: number) => string[]): string[] {
  const out: string[] = [];
  for (let j = 0; j < n; j++) out.push(...f(j));
  return out;
}

/** Sizes chosen to sit inside (10) and far beyond (1000) Redis 7.0's default listpack/intset limits. */
const CASES: MemoryCase[] = [
  collection('string-int', 'string', 1, (i) => ['SET', `key:${i}`, String(i * 7)]),
  collection('string-10B', 'string', 1, (i) => ['SET', `key:${i}`, `v${String(i).padStart(9, '0')}`]),
  collection('string-100B', 'string', 1, (i) => ['SET', `key:${i}`, populateValue(i)]),
  collection('list-10', 'list', 10, (i) => ['RPUSH', `list:${i}`, ...range(10, (j) => [member(j, i)])]),
  collection('list-1000', 'list', 1000, (i) => ['RPUSH', `list:${i}`, ...range(1000, (j) => [member(j, i)])]),
  collection('hash-10', 'hash', 10, (i) => ['HSET', `hash:${i}`, ...range(10, (j) => [`f${j}`, member(j, i)])]),
  collection('hash-1000', 'hash', 1000, (i) => ['HSET', `hash:${i}`, ...range(1000, (j) => [`f${j}`, member(j, i)])]),
  collection('set-int-10', 'set', 10, (i) => ['SADD', `set:${i}`, ...range(10, (j) => [String(i * 10 + j)])]),
  collection('set-10', 'set', 10, (i) => ['SADD', `set:${i}`, ...range(10, (j) => [member(j, i)])]),
  collection('set-1000', 'set', 1000, (i) => ['SADD', `set:${i}`, ...range(1000, (j) => [member(j, i)])]),
  collection('zset-10', 'zset', 10, (i) => ['ZADD', `zset:${i}`, ...range(10, (j) => [String(j * 1.5), member(j, i)])]),
  collection('zset-1000', 'zset', 1000, (i) => ['ZADD', `zset:${i}`, ...range(1000, (j) => [String(j * 1.5), member(j, i)])]),
  // One XADD per entry (explicit IDs, so both servers build the same nodes): an entry of two
  // fields; a stream of 100 fills one node, one of 10000 a hundred.
  entries('stream-100', 100),
  entries('stream-10000', 10000),
  // HLLs: per element added; an HLL's own size is the figure times the elements per key.
  collection('hll-sparse-100', 'hll', 100, (i) => ['PFADD', `hll:${i}`, ...range(100, (j) => [member(j, i)])]),
  collection('hll-dense-5000', 'hll', 5000, (i) => ['PFADD', `hll:${i}`, ...range(5000, (j) => [member(j, i)])]),
];

function entries(name: string, perKey: number): MemoryCase {
  return {
    name,
    type: 'stream',
    perKey,
    command: (i, into) => {
      for (let j = 1; j <= perKey; j++) into.add(['XADD', `stream:${i}`, `${j}-0`, 'event', 'click', 'user', member(j, i)]);
    },
  };
}

function firstKey(c: MemoryCase): string {
  const batch = new CommandBatch();
  c.command(0, batch);
  // The key is the second argument of the first command: *N\r\n$len\r\nCMD\r\n$len\r\nKEY\r\n.
  return batch.take().toString('latin1').split('\r\n')[4];
}

export async function run(flags: ParsedFlags): Promise<void> {
  const tools = checkPrerequisites(flags);
  const kinds = serverKinds(tools);
  const elements = flags.full && flags.elements === 500000 ? 2_000_000 : Number(flags.elements);
  const only = flags.cases ? new Set(String(flags.cases).split(',').map((s) => s.trim())) : null;
  const cases = CASES.filter((c) => !only || only.has(c.name));
  if (cases.length === 0) throw new Error(`--cases matched nothing (cases: ${CASES.map((c) => c.name).join(', ')})`);
  const section: MemorySection = {
    date: new Date().toISOString(), machine: describeMachine(tools.redisServer), commands: [], notes: [...tools.notes],
    invocation: invocation(), rows: [],
  };
  for (const [index, c] of cases.entries()) {
    const keys = Math.max(1, Math.round(elements / c.perKey));
    step(`case ${index + 1}/${cases.length}: ${c.name} (${keys.toLocaleString('en-US')} keys x ${c.perKey})`);
    const row: MemoryRow = { name: c.name, type: c.type, elementsPerKey: c.perKey, keys, elements: keys * c.perKey, servers: { keyfork: null, redis: null }, notes: [] };
    for (const kind of alternate(kinds, index)) {
      row.servers[kind] = await measureCase(tools, kind, c, keys, row, section);
    }
    section.rows.push(row);
  }
  section.commands.push('load: pipelined SET / RPUSH / HSET / SADD / ZADD, one command per key, 512 KiB batches, into a freshly started server');
  section.commands.push('measure: INFO memory used_memory and /proc/PID/status VmRSS before and after the load (2.5 s after it), OBJECT ENCODING of the first key');
  process.stdout.write('\n' + renderMemorySection(section) + '\n');
  publish(flags, 'memory', section);
}

async function measureCase(tools: Toolchain, kind: ServerKind, c: MemoryCase, keys: number, row: MemoryRow, section: MemorySection): Promise<MemoryServerResult | null> {
  const server = await startServer(tools, kind);
  if (!section.commands.includes(server.commandLine)) section.commands.push(server.commandLine);
  try {
    const usedBefore = await infoNumber(server.client, 'memory', 'used_memory');
    const rssBefore = residentBytes(server.pid);
    const ds: Dataset = { name: c.name, keys, elements: keys * c.perKey, describe: c.name, commandsFor: c.command };
    const load = await loadDataset(server.client, ds, `${LABEL[kind]} load`);
    if (load.errors > 0) {
      const why = /unknown command/i.test(load.firstError ?? '') ? NOT_YET : 'load failed';
      row.notes.push(`${LABEL[kind]}: ${shortError(load.firstError)} (${why})`);
      return null;
    }
    const count = await dbsize(server.client);
    if (count !== null && count !== keys) row.notes.push(`${LABEL[kind]}: DBSIZE ${count}, expected ${keys}`);
    // Let both servers' allocators settle: jemalloc purges dirty pages on a decay timer, and
    // keyfork's cron (once a second) collects dead request Buffers and trims the C heap.
    await sleep(2500);
    const usedAfter = await infoNumber(server.client, 'memory', 'used_memory');
    const rssAfter = residentBytes(server.pid);
    const enc = await server.client.call('OBJECT', 'ENCODING', firstKey(c));
    if (usedBefore === null || usedAfter === null) row.notes.push(`${LABEL[kind]}: INFO memory used_memory ${NOT_YET}`);
    else if (await usedMemoryIsRss(server.client)) {
      const msg = `${LABEL[kind]}: ${USED_MEMORY_IS_RSS}`;
      if (!section.notes.includes(msg)) section.notes.push(msg);
    }
    if (isUnknownCommand(enc)) row.notes.push(`${LABEL[kind]}: OBJECT ENCODING ${NOT_YET}`);
    const n = keys * c.perKey;
    return {
      usedMemoryPerElement: usedBefore !== null && usedAfter !== null ? (usedAfter - usedBefore) / n : null,
      rssPerElement: rssBefore !== null && rssAfter !== null ? (rssAfter - rssBefore) / n : null,
      encoding: typeof enc === 'string' || Buffer.isBuffer(enc) ? replyText(enc) : null,
    };
  } finally {
    await server.stop();
  }
}

export const benchmark: Benchmark = {
  name: 'memory',
  summary: 'Memory per element, keyfork vs redis-server: strings, lists, hashes, sets and sorted sets at small (listpack/intset)\n'
    + 'and large sizes, as the growth of INFO used_memory and of RSS while loading into a fresh server.',
  flags: FLAGS,
  run,
};

if (require.main === module) runMain(benchmark);
