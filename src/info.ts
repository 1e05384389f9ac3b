// INFO: Redis 7.0.15's sections, fields and field order (genRedisInfoString), with keyfork's
// live values. Where a Redis field measures something keyfork does not have (jemalloc,
// Lua, AOF, I/O threads) it reports what is true here: zero / off. The replication section
// is replication's own (replication/index.ts).
//
// Memory: used_memory is what the allocators hand out, as Redis's is: the addon's allocations
// (the keyspace; counted as they happen) plus the rest of the C heap in use (Buffers, Node's
// own) and V8's used heap (see memory.ts). used_memory_rss is the process's resident set;
// their ratio is the fragmentation.
//
// Latencystats is not produced: it needs a per-call latency histogram in the dispatcher.
import { clusterBus } from './cluster/bus';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from './commands/table';
import { memoryOverhead } from './memory-stats';
import { native } from './native';
import type { Server } from './server';
import { KEYFORK_VERSION, REDIS_VERSION } from './version';

type Field = [name: string, value: string | number];

/** run_id: 40 random hex characters, created once per server (Redis's server.runid). */
const runIds = new WeakMap<Server, string>();

function runId(server: Server): string {
  let id = runIds.get(server);
  if (!id) {
    id = randomBytes(20).toString('hex');
    runIds.set(server, id);
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// Section selection (genInfoSectionDict)

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'module_list', 'errorstats', 'cluster', 'keyspace'];

export interface SectionSelection {
  names: Set<string>;
  all: boolean;
}

export function selectSections(args: string[]): SectionSelection {
  if (args.length === 0) return { names: new Set(DEFAULT_SECTIONS), all: false };
  const names = new Set<string>();
  let all = false;
  for (const a of args) {
    const s = a.toLowerCase();
    if (s === 'default') DEFAULT_SECTIONS.forEach((d) => names.add(d));
    // "everything" adds module-generated sections to "all"; keyfork has no modules.
    else if (s === 'all' || s === 'everything') all = true;
    else names.add(s);
  }
  return { names, all };
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

/** bytesToHuman. */
export function bytesToHuman(n: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  if (n < 1024) return `${n}B`;
  let d = n;
  for (const u of units) {
    d /= 1024;
    if (d < 1024 || u === 'P') return `${d.toFixed(2)}${u}`;
  }
  return `${n}B`;
}

/** %ld.%06ld of a microsecond count. */
function seconds6(usec: number): string {
  const whole = Math.floor(usec / 1e6);
  return `${whole}.${String(Math.floor(usec - whole * 1e6)).padStart(6, '0')}`;
}

function ratio(a: number, b: number): string {
  return b === 0 ? '0.00' : (a / b).toFixed(2);
}

// ---------------------------------------------------------------------------------------------
// Sections

function multiplexingApi(): string {
  switch (process.platform) {
    case 'linux': return 'epoll';
    case 'darwin':
    case 'freebsd':
    case 'openbsd': return 'kqueue';
    case 'sunos': return 'evport';
    default: return 'select';
  }
}

function supervisedMode(server: Server): string {
  let mode = 'no';
  try {
    mode = server.config.get('supervised');
  } catch {
    return 'no';
  }
  if (mode === 'auto') {
    if (process.env.UPSTART_JOB) return 'upstart';
    if (process.env.NOTIFY_SOCKET) return 'systemd';
    return 'no';
  }
  return mode === 'upstart' || mode === 'systemd' ? mode : 'no';
}

function serverSection(server: Server): Field[] {
  const nowUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const uptime = server.uptimeSeconds();
  const main = process.argv[1] ? path.resolve(process.argv[1]) : process.execPath;
  return [
    ['redis_version', REDIS_VERSION],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_build_id', buildId()],
    ['redis_mode', 'standalone'],
    ['os', `${os.type()} ${os.release()} ${os.machine()}`],
    ['arch_bits', process.arch.endsWith('64') ? 64 : 32],
    ['monotonic_clock', 'POSIX clock_gettime'],
    ['multiplexing_api', multiplexingApi()],
    ['atomicvar_api', 'c11-builtin'],
    ['gcc_version', '0.0.0'],
    ['process_id', process.pid],
    ['process_supervised', supervisedMode(server)],
    ['run_id', runId(server)],
    ['tcp_port', Number(server.config.get('port'))],
    ['server_time_usec', nowUs],
    ['uptime_in_seconds', uptime],
    ['uptime_in_days', Math.floor(uptime / 86400)],
    ['hz', server.hz],
    ['configured_hz', Number(server.config.get('hz'))],
    ['lru_clock', Math.floor(Date.now() / 1000) & 0xffffff],
    ['executable', main],
    ['config_file', server.config.configFile ?? ''],
    ['io_threads_active', 0],
    ...server.shutdown.infoFields(),
    ['keyfork_version', KEYFORK_VERSION],
    // Directives set to a value keyfork does not act on yet (see src/config/consumers.ts).
    ['keyfork_unsupported_configs_set', server.config.unsupportedSet().join(',')],
  ];
}

/** A stable id of this build: keyfork's version and the Node.js runtime it runs on. */
function buildId(): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(`keyfork ${KEYFORK_VERSION} node ${process.version}`)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16);
}

function clientsSection(server: Server): Field[] {
  let inTimeoutTable = 0;
  let replicas = 0;
  for (const c of server.clients.values()) {
    if (c.blocked && c.blocked.deadline > 0) inTimeoutTable++;
    if (c.isReplica) replicas++;
  }
  const peaks = server.clientLimits.recentPeaks(server.clients.values());
  return [
    // Replicas are counted apart (connected_slaves), as Redis's clients less its slaves.
    ['connected_clients', server.clients.size - replicas],
    ['cluster_connections', server.cluster ? (server.cluster.state.nodes.size - 1) * 2 : 0],
    ['maxclients', Number(server.config.get('maxclients'))],
    ['client_recent_max_input_buffer', peaks.input],
    ['client_recent_max_output_buffer', peaks.output],
    ['blocked_clients', server.blocking.count + server.clientPause.waiting],
    ['tracking_clients', server.clientTracking.count],
    ['clients_in_timeout_table', inTimeoutTable],
  ];
}

function memorySection(server: Server): Field[] {
  const mh = memoryOverhead(server);
  const { used, rss, peak, startup, active } = mh;
  const free = active - used;
  const [lazyPending, lazyFreed] = native.lazyfreeStats();
  const maxmemory = Number(server.config.get('maxmemory'));
  const total = os.totalmem();
  return [
    ['used_memory', used],
    ['used_memory_human', bytesToHuman(used)],
    ['used_memory_rss', rss],
    ['used_memory_rss_human', bytesToHuman(rss)],
    ['used_memory_peak', peak],
    ['used_memory_peak_human', bytesToHuman(peak)],
    ['used_memory_peak_perc', `${mh.peakPerc.toFixed(2)}%`],
    ['used_memory_overhead', mh.overheadTotal],
    ['used_memory_startup', startup],
    ['used_memory_dataset', mh.dataset],
    ['used_memory_dataset_perc', `${mh.datasetPerc.toFixed(2)}%`],
    ['allocator_allocated', used],
    ['allocator_active', active],
    ['allocator_resident', rss],
    ['total_system_memory', total],
    ['total_system_memory_human', bytesToHuman(total)],
    ...server.scripting.memoryFields(bytesToHuman),
    ['maxmemory', maxmemory],
    ['maxmemory_human', bytesToHuman(maxmemory)],
    ['maxmemory_policy', server.config.get('maxmemory-policy')],
    ['allocator_frag_ratio', ratio(active, used)],
    ['allocator_frag_bytes', free],
    ['allocator_rss_ratio', ratio(rss, active)],
    ['allocator_rss_bytes', rss - active],
    ['rss_overhead_ratio', ratio(rss, rss)],
    ['rss_overhead_bytes', 0],
    ['mem_fragmentation_ratio', ratio(rss, used)],
    ['mem_fragmentation_bytes', rss - used],
    ['mem_not_counted_for_evict', server.notCountedForEvict()],
    ['mem_replication_backlog', mh.replicationBacklog],
    ['mem_total_replication_buffers', mh.replicationBacklog + mh.clientsReplicas],
    ['mem_clients_slaves', mh.clientsReplicas],
    ['mem_clients_normal', mh.clientsNormal],
    ['mem_cluster_links', clusterBus()?.linksMemory ?? 0],
    ['mem_aof_buffer', mh.aofBuffer],
    ['mem_allocator', 'libc'],
    ['active_defrag_running', 0],
    ['lazyfree_pending_objects', lazyPending],
    ['lazyfreed_objects', lazyFreed],
    ['keyfork_used_memory_addon', mh.addon],
  ];
}

function persistenceSection(server: Server): Field[] {
  return server.persistence.infoFields();
}

function statsSection(server: Server): Field[] {
  const s = server.stats;
  const [expiredKeys, staleFraction, timeCapReached, hits, misses, replicaTtlKeys] = native.keyspaceStats();
  const forks = server.persistence.forkStats();
  const [, evictedKeys, exceededTotalUs, exceededNowUs] = native.evictionStats();
  const [trackingKeys, trackingItems] = server.clientTracking.tableStats();
  return [
    ['total_connections_received', s.connectionsReceived],
    ['total_commands_processed', s.commandsProcessed],
    ['instantaneous_ops_per_sec', Math.floor(s.opsPerSec.value)],
    ['total_net_input_bytes', s.netInputBytes],
    ['total_net_output_bytes', s.netOutputBytes],
    ['total_net_repl_input_bytes', s.netReplInputBytes],
    ['total_net_repl_output_bytes', s.netReplOutputBytes],
    ['instantaneous_input_kbps', s.inputKbps.value.toFixed(2)],
    ['instantaneous_output_kbps', s.outputKbps.value.toFixed(2)],
    ['instantaneous_input_repl_kbps', s.replInputKbps.value.toFixed(2)],
    ['instantaneous_output_repl_kbps', s.replOutputKbps.value.toFixed(2)],
    ['rejected_connections', s.rejectedConnections],
    ['sync_full', server.replication.master.syncFull],
    ['sync_partial_ok', server.replication.master.syncPartialOk],
    ['sync_partial_err', server.replication.master.syncPartialErr],
    ['expired_keys', expiredKeys],
    ['expired_stale_perc', (staleFraction * 100).toFixed(2)],
    ['expired_time_cap_reached_count', timeCapReached],
    ['expire_cycle_cpu_milliseconds', 0],
    ['evicted_keys', evictedKeys],
    ['evicted_clients', s.evictedClients],
    ['total_eviction_exceeded_time', Math.floor((exceededTotalUs + exceededNowUs) / 1000)],
    ['current_eviction_exceeded_time', Math.floor(exceededNowUs / 1000)],
    ['keyspace_hits', hits],
    ['keyspace_misses', misses],
    ['pubsub_channels', server.pubsub.channels.size],
    ['pubsub_patterns', server.pubsub.patterns.size],
    ['pubsubshard_channels', server.pubsub.shardChannels.size],
    ['latest_fork_usec', forks.latestForkUsec],
    ['total_forks', forks.totalForks],
    ['migrate_cached_sockets', native.migrateCachedSockets()],
    ['slave_expires_tracked_keys', replicaTtlKeys],
    ['active_defrag_hits', 0],
    ['active_defrag_misses', 0],
    ['active_defrag_key_hits', 0],
    ['active_defrag_key_misses', 0],
    ['total_active_defrag_time', 0],
    ['current_active_defrag_time', 0],
    ['tracking_total_keys', trackingKeys],
    ['tracking_total_items', trackingItems],
    ['tracking_total_prefixes', server.clientTracking.totalPrefixes],
    ['unexpected_error_replies', server.replication.errors.count],
    ['total_error_replies', s.totalErrorReplies],
    ['dump_payload_sanitizations', 0],
    ['total_reads_processed', s.readsProcessed],
    ['total_writes_processed', s.writesProcessed],
    ['io_threaded_reads_processed', 0],
    ['io_threaded_writes_processed', 0],
    ['reply_buffer_shrinks', 0],
    ['reply_buffer_expands', 0],
  ];
}

/** utime/stime (and cutime/cstime) in microseconds from a /proc stat line, or null. */
function procStatTimes(file: string): { user: number; sys: number; childUser: number; childSys: number } | null {
  try {
    const text = fs.readFileSync(file, 'latin1');
    // Fields after the parenthesised command name; utime is field 14 of the whole line.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const tick = 1e6 / 100; // USER_HZ is 100 on every Linux ABI Node supports
    const at = (field: number) => Number(rest[field - 3]) * tick;
    return { user: at(14), sys: at(15), childUser: at(16), childSys: at(17) };
  } catch {
    return null;
  }
}

function cpuSection(): Field[] {
  const usage = process.cpuUsage();
  const proc = procStatTimes('/proc/self/stat');
  const mainThread = procStatTimes(`/proc/self/task/${process.pid}/stat`);
  return [
    ['used_cpu_sys', seconds6(usage.system)],
    ['used_cpu_user', seconds6(usage.user)],
    // Reaped children: the forked snapshot processes.
    ['used_cpu_sys_children', seconds6(proc?.childSys ?? 0)],
    ['used_cpu_user_children', seconds6(proc?.childUser ?? 0)],
    ['used_cpu_sys_main_thread', seconds6(mainThread?.sys ?? usage.system)],
    ['used_cpu_user_main_thread', seconds6(mainThread?.user ?? usage.user)],
  ];
}

function commandStatsLines(commands: Iterable<Command>, out: string[]): void {
  for (const c of commands) {
    const s = c.stats;
    if (s.calls || s.failed || s.rejected) {
      const perCall = s.calls === 0 ? 0 : s.usec / s.calls;
      out.push(`cmdstat_${c.name}:calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${perCall.toFixed(2)},rejected_calls=${s.rejected},failed_calls=${s.failed}`);
    }
    if (c.subcommands) commandStatsLines(c.subcommands.values(), out);
  }
}

/** %f then trailing zeros (and a trailing point) removed: Redis's trimDoubleString. */
function percentileLabel(p: number): string {
  return p.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

/** latency_percentiles_usec_<command>:p50=...,p99=...,p99.9=... for each command called. */
function latencyStatsLines(server: Server): string[] {
  if (!server.latency.tracking) return [];
  const percentiles = server.latency.percentiles;
  const out: string[] = [];
  for (const cmd of server.commands.everything()) {
    const h = cmd.stats.latency;
    if (!h) continue;
    const fields = percentiles.map((p) => `p${percentileLabel(p)}=${(h.valueAtPercentile(p) / 1000).toFixed(3)}`);
    out.push(`latency_percentiles_usec_${cmd.name}:${fields.join(',')}`);
  }
  return out;
}

function errorStatsLines(server: Server): string[] {
  // Redis keeps them in a radix tree: byte order.
  const codes = [...server.stats.errors.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return codes.map(([code, count]) => `errorstat_${code}:count=${count}`);
}

function keyspaceLines(): string[] {
  const rows = native.keyspaceInfo();
  const lines: string[] = [];
  for (let db = 0; db * 3 < rows.length; db++) {
    const [keys, expires, avgTtl] = rows.slice(db * 3, db * 3 + 3);
    if (keys > 0) lines.push(`db${db}:keys=${keys},expires=${expires},avg_ttl=${avgTtl}`);
  }
  return lines;
}

const fieldLines = (fields: Field[]): string[] => fields.map(([k, v]) => `${k}:${v}`);

interface Section {
  title: string;
  /** The names that select it (besides "all"). */
  names: string[];
  lines: (server: Server) => string[];
}

const SECTIONS: Section[] = [
  { title: 'Server', names: ['server'], lines: (s) => fieldLines(serverSection(s)) },
  { title: 'Clients', names: ['clients'], lines: (s) => fieldLines(clientsSection(s)) },
  { title: 'Memory', names: ['memory'], lines: (s) => fieldLines(memorySection(s)) },
  { title: 'Persistence', names: ['persistence'], lines: (s) => fieldLines(persistenceSection(s)) },
  { title: 'Stats', names: ['stats'], lines: (s) => fieldLines(statsSection(s)) },
  { title: 'Replication', names: ['replication'], lines: (s) => s.replication.infoLines() },
  { title: 'CPU', names: ['cpu'], lines: () => fieldLines(cpuSection()) },
  { title: 'Modules', names: ['module_list', 'modules'], lines: () => [] },
  {
    title: 'Commandstats',
    names: ['commandstats'],
    lines: (s) => {
      const out: string[] = [];
      commandStatsLines(s.commands.all(), out);
      return out;
    },
  },
  { title: 'Errorstats', names: ['errorstats'], lines: errorStatsLines },
  { title: 'Latencystats', names: ['latencystats'], lines: latencyStatsLines },
  { title: 'Cluster', names: ['cluster'], lines: (server) => [`cluster_enabled:${server.cluster ? 1 : 0}`] },
  { title: 'Keyspace', names: ['keyspace'], lines: keyspaceLines },
];

/** The INFO text for the given arguments (section names, "default", "all", "everything"). */
export function infoString(server: Server, args: string[]): string {
  const selection = selectSections(args);
  server.absorbSocketStats();
  const parts: string[] = [];
  for (const section of SECTIONS) {
    if (!selection.all && !section.names.some((n) => selection.names.has(n))) continue;
    const body = section.lines(server).map((l) => `${l}\r\n`).join('');
    parts.push(`# ${section.title}\r\n${body}`);
  }
  return parts.join('\r\n');
}
