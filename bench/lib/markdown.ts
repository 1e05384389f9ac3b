// latest.md: the results as tables a person can read, with keyfork/redis-server ratios next to
// the absolute figures, and everything needed to reproduce them (machine, commands, date).
import type { MachineInfo } from './machine';
import type {
  AllResults, MemorySection, PerServer, ReplicationSection, SaveDatasetResult, SaveSection, SaveServerResult, SectionMeta,
  ThroughputSection,
} from './results';

const DASH = '—';

export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** keyfork / redis-server, or a dash when either side is missing. */
export function ratio(keyfork: number | null | undefined, redis: number | null | undefined): string {
  if (keyfork == null || redis == null || !Number.isFinite(keyfork) || !Number.isFinite(redis) || redis === 0) return DASH;
  return `${(keyfork / redis).toFixed(2)}×`;
}

function table(header: string[], rows: string[][], align: Array<'l' | 'r'>): string {
  const sep = align.map((a) => (a === 'r' ? '---:' : ':---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function describeMachineLine(m: MachineInfo): string {
  return `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.kernel}, Node ${m.node}, `
    + `redis-server ${m.redisVersion ?? 'not installed'}, keyfork ${m.keyforkCommit ?? 'unknown commit'}, `
    + `THP ${m.transparentHugePages ?? '?'}, vm.overcommit_memory ${m.overcommitMemory ?? '?'}`;
}

function metaBlock(s: SectionMeta): string {
  const lines = [`Run ${s.date} on ${describeMachineLine(s.machine)}.`, '', `Invocation: \`${s.invocation}\``];
  if (s.notes.length > 0) lines.push('', 'Notes (what was skipped or not measured, and why):', ...s.notes.map((n) => `- ${n}`));
  lines.push('', '<details><summary>Commands used</summary>', '', '```', ...s.commands, '```', '', '</details>');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Save

type Pick = (r: SaveServerResult, ds: SaveDatasetResult) => number | null;

const MB = 1e6;
const perSec = (n: number, ms: number | null) => (ms === null || ms <= 0 ? null : n / (ms / 1000));
export const saveKeysPerSec: Pick = (r, ds) => perSec(ds.keys, r.bgsaveChildMs);
const saveMbPerSec: Pick = (r) => (r.rdbBytes === null ? null : perSec(r.rdbBytes / MB, r.bgsaveChildMs));

const SAVE_METRICS: Array<{ label: string; pick: Pick; digits: number; startup?: boolean }> = [
  { label: 'BGSAVE child time, ms (started -> DB saved on disk, median)', pick: (r) => r.bgsaveChildMs, digits: 0 },
  { label: 'BGSAVE until reaped, ms (started -> terminated with success)', pick: (r) => r.bgsaveTotalMs, digits: 0 },
  { label: 'keys/s written by the child', pick: saveKeysPerSec, digits: 0 },
  { label: 'RDB MB/s written by the child', pick: saveMbPerSec, digits: 1 },
  { label: 'fork time, ms (latest_fork_usec)', pick: (r) => (r.forkUs === null ? null : r.forkUs / 1000), digits: 2 },
  { label: 'fork time per GB of RSS, ms', pick: (r) => (r.forkUs === null || !r.rss ? null : r.forkUs / 1000 / (r.rss / 1e9)), digits: 2 },
  { label: 'RDB size, MB', pick: (r) => (r.rdbBytes === null ? null : r.rdbBytes / MB), digits: 2 },
  { label: 'used_memory per key, bytes', pick: (r, ds) => (r.usedMemory === null ? null : r.usedMemory / ds.keys), digits: 1 },
  { label: 'RSS per key, bytes', pick: (r, ds) => (r.rss === null ? null : r.rss / ds.keys), digits: 1 },
  { label: 'foreground SAVE, ms', pick: (r) => r.saveMs, digits: 0 },
  { label: 'BGSAVE under writes: child time, ms', pick: (r) => r.cowChildMs, digits: 0 },
  { label: 'BGSAVE under writes: writes acknowledged during the save', pick: (r) => r.cowWrites, digits: 0 },
  { label: 'BGSAVE under writes: copy-on-write, MB (rdb_last_cow_size)', pick: (r) => (r.cowBytes === null ? null : r.cowBytes / MB), digits: 2 },
  { label: 'BGSAVE under writes: copy-on-write per write, KB', pick: (r) => (r.cowBytes === null || !r.cowWrites ? null : r.cowBytes / r.cowWrites / 1000), digits: 2 },
  { label: 'start-up with the RDB: spawn -> Ready to accept connections, ms', pick: (r) => r.startupReadyMs, digits: 0, startup: true },
  { label: 'start-up: "DB loaded from disk", s', pick: (r) => r.startupLoadLogSec, digits: 3, startup: true },
  { label: 'start-up: keys after loading', pick: (r) => r.startupKeys, digits: 0, startup: true },
  { label: 'loading the dataset into the server (client side), s', pick: (r) => r.loadSeconds, digits: 2 },
];

function pair<T>(p: PerServer<T>, f: (v: T) => number | null): [number | null, number | null] {
  return [p.keyfork ? f(p.keyfork) : null, p.redis ? f(p.redis) : null];
}

/** Ratios only mean something when both servers ended up holding the whole dataset. */
function comparable(ds: SaveDatasetResult): boolean {
  const { keyfork, redis } = ds.servers;
  return keyfork?.dbsize === ds.keys && redis?.dbsize === ds.keys;
}

const NOT_COMPARABLE = 'n/c';

function saveRatio(ds: SaveDatasetResult, k: number | null, r: number | null, sameFile = false): string {
  if (!ds.servers.keyfork || !ds.servers.redis) return DASH;
  return comparable(ds) || sameFile ? ratio(k, r) : NOT_COMPARABLE;
}

export function renderSaveSection(s: SaveSection): string {
  const out: string[] = ['## Save throughput against dataset size', '', metaBlock(s), ''];
  out.push('Ratios are keyfork / redis-server: below 1 is better for times, sizes and memory; above 1 is better for keys/s and MB/s.', '');
  out.push(table(
    ['dataset', 'keys', 'keyfork keys/s', 'redis keys/s', 'ratio', 'keyfork BGSAVE ms', 'redis BGSAVE ms', 'ratio'],
    s.datasets.map((ds) => {
      const [kk, rk] = pair(ds.servers, (r) => saveKeysPerSec(r, ds));
      const [kt, rt] = pair(ds.servers, (r) => r.bgsaveChildMs);
      return [ds.name, fmt(ds.keys), fmt(kk), fmt(rk), saveRatio(ds, kk, rk), fmt(kt), fmt(rt), saveRatio(ds, kt, rt)];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ));
  for (const ds of s.datasets) {
    out.push('', `### ${ds.name}`, '', `${ds.describe}. BGSAVE runs: ${s.repeats} per server, alternating; copy-on-write load ${fmt(s.cowWriteRate)} writes/s.`
      + (ds.startupRdbFrom ? ` Start-up loads ${ds.startupRdbFrom}'s RDB file in both servers.` : '')
      + (ds.keyforkRdbInRedis ? ` keyfork's RDB in redis-server: ${ds.keyforkRdbInRedis}.` : ''), '');
    out.push(table(['metric', 'keyfork', 'redis-server', 'keyfork / redis'],
      SAVE_METRICS.map((m) => {
        const [k, r] = pair(ds.servers, (v) => m.pick(v, ds));
        return [m.label, fmt(k, m.digits), fmt(r, m.digits), saveRatio(ds, k, r, m.startup)];
      }), ['l', 'r', 'r', 'r']));
    if (!comparable(ds) && ds.servers.redis) {
      out.push('', `n/c: not comparable, the servers did not hold the same ${fmt(ds.keys)} keys after loading (start-up rows load the same file and stay comparable).`);
    }
    for (const [name, res] of [['keyfork', ds.servers.keyfork], ['redis-server', ds.servers.redis]] as const) {
      if (res && res.notes.length > 0) out.push('', `${name}: ${res.notes.join('; ')}.`);
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Command throughput

/** "bench / server" busy shares of one run, e.g. "99% / 61%". */
function busyCell(r: { benchBusy?: number; serverBusy?: number } | null | undefined): string {
  if (!r || r.benchBusy === undefined || r.serverBusy === undefined) return DASH;
  return `${Math.round(r.benchBusy * 100)}% / ${Math.round(r.serverBusy * 100)}%`;
}

export function renderThroughputSection(s: ThroughputSection, heading = '## Command throughput (redis-benchmark)'): string {
  const out = [heading, '', metaBlock(s), ''];
  if (s.limit) out.push(`At the memory limit: ${s.limit}.`, '');
  const scaling = [...new Set(s.rows.map((r) => r.clients ?? s.clients))].filter((c) => c !== s.clients);
  const scalingN = s.scalingRequests !== undefined && s.scalingRequests !== s.requests ? `, -n ${fmt(s.scalingRequests)}` : '';
  out.push(`redis-benchmark -c ${s.clients}${scaling.length ? ` (and -c ${scaling.join(', ')} at -P 1${scalingN} for connection scaling)` : ''}, -n ${fmt(s.requests)} at -P 1 and ${fmt(s.pipelinedRequests)} when pipelined, one test at a time, servers alternating. `
    + 'Server CPU per request is the server process\'s on-CPU time over the test (sum of its threads\' /proc/PID/task/*/schedstat, '
    + 'split into user (u) and system (s) time in the proportion of utime:stime from /proc/PID/stat), divided by the requests'
    + `${s.pinned ? `; ${s.pinned}` : ''}. Ratios are keyfork / redis-server (rps: higher is better; CPU: lower is better). `
    + 'Which side limits rps: redis-benchmark\'s own CPU time per request (its rusage; LRANGE_* include the LPUSH phase) and the share of '
    + 'one core each side was busy over the run (CPU time / wall time); a side near 100% is the bottleneck, and while redis-benchmark is, '
    + 'the rps ratio measures the load generator more than the server; with neither near 100%, other load on the machine or the '
    + 'request/reply round trip limits it.', '');
  out.push(table(
    ['test', '-P', '-c', 'keyfork rps', 'redis rps', 'rps ratio', 'keyfork CPU us/req', 'redis CPU us/req', 'CPU ratio', 'keyfork p50 ms', 'redis p50 ms',
      'redis-benchmark CPU us/req (keyfork / redis run)', 'busy, keyfork run: bench / server', 'busy, redis run: bench / server'],
    s.rows.map((row) => {
      const [kr, rr] = pair(row.servers, (v) => v.rps);
      const [kc, rc] = pair(row.servers, (v) => v.cpuUsPerRequest);
      const [kp, rp] = pair(row.servers, (v) => v.p50Ms);
      const cpuCell = (v: number | null, p: PerServer<{ userUsPerRequest: number; systemUsPerRequest: number }>['keyfork']) =>
        v === null || !p ? DASH : `${fmt(v, 2)} (${fmt(p.userUsPerRequest, 2)} u + ${fmt(p.systemUsPerRequest, 2)} s)`;
      const [kb, rb] = pair(row.servers, (v) => v.benchCpuUsPerRequest ?? null);
      const benchCell = kb === null && rb === null ? DASH : `${kb === null ? DASH : fmt(kb, 2)} / ${rb === null ? DASH : fmt(rb, 2)}`;
      return [row.test, String(row.pipeline), String(row.clients ?? s.clients), fmt(kr), fmt(rr), ratio(kr, rr), cpuCell(kc, row.servers.keyfork),
        cpuCell(rc, row.servers.redis), ratio(kc, rc), fmt(kp, 3), fmt(rp, 3), benchCell, busyCell(row.servers.keyfork), busyCell(row.servers.redis)];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ));
  const notes = s.rows.filter((r) => r.notes.length > 0);
  if (notes.length > 0) out.push('', ...notes.map((r) => `- ${r.test} -P ${r.pipeline} -c ${r.clients ?? s.clients}: ${r.notes.join('; ')}`));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Memory per element

export function renderMemorySection(s: MemorySection): string {
  const out = ['## Memory per element', '', metaBlock(s), ''];
  out.push('Bytes per element: the growth of INFO memory used_memory and of the process RSS (VmRSS) while the data was loaded into a fresh server, '
    + 'divided by the number of elements (a string key counts as one). Ratios are keyfork / redis-server: below 1 is better.', '');
  out.push(table(
    ['case', 'redis encoding', 'keys x elements', 'keyfork used_memory B', 'redis used_memory B', 'ratio', 'keyfork RSS B', 'redis RSS B', 'ratio'],
    s.rows.map((row) => {
      const [ku, ru] = pair(row.servers, (v) => v.usedMemoryPerElement);
      const [kr, rr] = pair(row.servers, (v) => v.rssPerElement);
      const re = row.servers.redis?.encoding;
      const ke = row.servers.keyfork?.encoding;
      const enc = re && ke && re !== ke ? `${re} (keyfork: ${ke})` : re ?? ke ?? DASH;
      return [row.name, enc, `${fmt(row.keys)} x ${fmt(row.elementsPerKey)}`, fmt(ku, 1), fmt(ru, 1), ratio(ku, ru), fmt(kr, 1), fmt(rr, 1), ratio(kr, rr)];
    }),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ));
  const notes = s.rows.filter((r) => r.notes.length > 0);
  if (notes.length > 0) out.push('', ...notes.map((r) => `- ${r.name}: ${r.notes.join('; ')}`));
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Replication

export function renderReplicationSection(s: ReplicationSection): string {
  const out = ['## Replication', '', metaBlock(s), ''];
  out.push('Full sync of each dataset from the master (keyfork or redis-server) to a fresh redis-server replica. '
    + '"master" is the master\'s own log from `Replica ... asks for synchronization` to `Synchronization with replica ... succeeded`; '
    + '"end to end" runs to the replica\'s `MASTER <-> REPLICA sync: Finished with success` (its load included). '
    + 'Ratios are keyfork / redis-server: below 1 is better.', '');
  out.push(table(
    ['dataset', 'mode', 'keyfork master ms', 'redis master ms', 'ratio', 'keyfork end to end ms', 'redis end to end ms', 'ratio', 'digests equal'],
    s.fullSyncs.map((row) => {
      const [km, rm] = pair(row.servers, (v) => v.masterMs);
      const [ke, re] = pair(row.servers, (v) => v.endToEndMs);
      const same = [row.servers.keyfork, row.servers.redis].filter(Boolean).every((v) => v!.digestMatches);
      return [row.dataset, row.mode, fmt(km), fmt(rm), ratio(km, rm), fmt(ke), fmt(re), ratio(ke, re), same ? 'yes' : 'NO'];
    }),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  ));
  out.push('', `Writes on a master with two redis-server replicas attached: redis-benchmark -c ${s.clients} -n ${fmt(s.requests)}; `
    + 'rps ratio keyfork / redis-server (above 1 is better); "in sync": both replicas reached the master\'s offset and digest afterwards.', '');
  out.push(table(
    ['test', '-P', 'keyfork rps', 'redis rps', 'ratio', 'in sync'],
    s.writes.map((row) => {
      const [k, r] = pair(row.servers, (v) => v.rps);
      const sync = [row.servers.keyfork, row.servers.redis].filter(Boolean).every((v) => v!.replicasInSync);
      return [row.test, String(row.pipeline), fmt(k), fmt(r), ratio(k, r), sync ? 'yes' : 'NO'];
    }),
    ['l', 'r', 'r', 'r', 'r', 'l'],
  ));
  const notes = [...s.fullSyncs.flatMap((r) => r.notes.map((n) => `${r.dataset} ${r.mode}: ${n}`)), ...s.writes.flatMap((r) => r.notes.map((n) => `${r.test} -P ${r.pipeline}: ${n}`))];
  if (notes.length > 0) out.push('', ...notes.map((n) => `- ${n}`));
  return out.join('\n');
}

export function renderMarkdown(all: AllResults): string {
  const out = ['# keyfork benchmarks: latest results', '',
    'Generated by `npm run bench` (or one of `node dist/bench/{save,throughput,memory,replication}.js`); raw figures in `latest.json`, '
    + 'plot in [`latest.svg`](latest.svg). Both servers run on loopback on the same machine in the same run, alternating. '
    + 'Absolute figures depend on the machine; the keyfork / redis-server ratios are the point.', '',
    '![save throughput and ratios](latest.svg)', ''];
  if (all.save) out.push(renderSaveSection(all.save), '');
  if (all.throughput) out.push(renderThroughputSection(all.throughput), '');
  if (all.memory) out.push(renderMemorySection(all.memory), '');
  if (all.eviction) out.push(renderThroughputSection(all.eviction, '## Throughput at the memory limit (every write evicts)'), '');
  if (all.replication) out.push(renderReplicationSection(all.replication), '');
  if (!all.save && !all.throughput && !all.memory && !all.eviction && !all.replication) out.push('No results yet.', '');
  return out.join('\n');
}
