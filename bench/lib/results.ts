// The raw results each benchmark records (bench/results/latest.json). Every script replaces its
// own section and re-renders latest.md and latest.svg from the whole file, so running one
// benchmark alone keeps the others' last results in the report.
import fs from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './machine';

export type PerServer<T> = { keyfork: T | null; redis: T | null };

export interface SectionMeta {
  date: string;
  machine: MachineInfo;
  /** The exact command lines used (servers, load generators), for reproduction. */
  commands: string[];
  /** What was skipped and why ("not supported by this keyfork build yet", ...). */
  notes: string[];
  /** How the script was invoked. */
  invocation: string;
}

export interface SaveServerResult {
  loadSeconds: number | null;
  dbsize: number | null;
  usedMemory: number | null;
  rss: number | null;
  /** Median over the runs: "Background saving started" -> "DB saved on disk" (child's work). */
  bgsaveChildMs: number | null;
  /** Median: "started" -> "Background saving terminated with success" (includes reaping). */
  bgsaveTotalMs: number | null;
  bgsaveRuns: number[];
  forkUs: number | null;
  rdbBytes: number | null;
  saveMs: number | null;
  cowBytes: number | null;
  cowLogPeakMb: number | null;
  cowWrites: number | null;
  cowChildMs: number | null;
  /** Start-up with the reference RDB in the directory: spawn -> "Ready to accept connections". */
  startupReadyMs: number | null;
  /** "DB loaded from disk: N seconds" from the server's own log. */
  startupLoadLogSec: number | null;
  startupKeys: number | null;
  notes: string[];
}

export interface SaveDatasetResult {
  name: string;
  describe: string;
  keys: number;
  elements: number;
  /** Which server wrote the RDB file both servers loaded at start-up. */
  startupRdbFrom: string | null;
  /** Cross-check: redis-server loading keyfork's RDB (keys loaded), when both exist. */
  keyforkRdbInRedis: string | null;
  servers: PerServer<SaveServerResult>;
}

export interface SaveSection extends SectionMeta {
  repeats: number;
  cowWriteRate: number;
  datasets: SaveDatasetResult[];
}

export interface ThroughputServerResult {
  rps: number;
  p50Ms: number;
  cpuUsPerRequest: number;
  userUsPerRequest: number;
  systemUsPerRequest: number;
  /**
   * redis-benchmark's own CPU time per request in this run (its rusage, LRANGE_*'s LPUSH phase
   * included), and the share of one core each side was busy over the run (CPU time / wall
   * time): a side near 100% limits rps. Absent in results from before they were measured.
   */
  benchCpuUsPerRequest?: number;
  benchBusy?: number;
  serverBusy?: number;
}

export interface ThroughputRow {
  test: string;
  pipeline: number;
  /** Connections (-c); absent in results from before the connection-scaling pass: the section's. */
  clients?: number;
  servers: PerServer<ThroughputServerResult>;
  notes: string[];
}

export interface ThroughputSection extends SectionMeta {
  clients: number;
  /** -n at -P 1 and at deeper pipelines. */
  requests: number;
  pipelinedRequests: number;
  /** -n of the connection-scaling pass (absent in results written before it had its own). */
  scalingRequests?: number;
  pinned: string | null;
  rows: ThroughputRow[];
  /** The memory limit the tests ran at (the eviction benchmark). */
  limit?: string;
}

export interface MemoryServerResult {
  usedMemoryPerElement: number | null;
  rssPerElement: number | null;
  encoding: string | null;
}

export interface MemoryRow {
  name: string;
  type: string;
  elementsPerKey: number;
  keys: number;
  elements: number;
  servers: PerServer<MemoryServerResult>;
  notes: string[];
}

export interface MemorySection extends SectionMeta {
  rows: MemoryRow[];
}

/** One full sync of a dataset to a fresh redis-server replica, timed from both logs. */
export interface FullSyncResult {
  /** Master's log: "Replica ... asks for synchronization" -> "Synchronization with replica ... succeeded". */
  masterMs: number | null;
  /** "asks for synchronization" (master) -> "MASTER <-> REPLICA sync: Finished with success" (replica). */
  endToEndMs: number | null;
  /** The replica ended with the master's DEBUG DIGEST. */
  digestMatches: boolean;
}

export interface FullSyncRow {
  dataset: string;
  describe: string;
  keys: number;
  mode: 'disk' | 'diskless';
  servers: PerServer<FullSyncResult>;
  notes: string[];
}

export interface ReplicatedWriteRow {
  test: string;
  pipeline: number;
  /** redis-benchmark rps against a master with two redis-server replicas attached. */
  servers: PerServer<{ rps: number; replicasInSync: boolean }>;
  notes: string[];
}

export interface ReplicationSection extends SectionMeta {
  fullSyncs: FullSyncRow[];
  writes: ReplicatedWriteRow[];
  clients: number;
  requests: number;
}

export interface AllResults {
  save?: SaveSection;
  throughput?: ThroughputSection;
  memory?: MemorySection;
  /** Throughput at the memory limit, every write evicting. */
  eviction?: ThroughputSection;
  replication?: ReplicationSection;
}

export function readResults(dir: string): AllResults {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as AllResults;
  } catch {
    return {};
  }
}

export function writeSection<K extends keyof AllResults>(dir: string, key: K, section: AllResults[K]): AllResults {
  fs.mkdirSync(dir, { recursive: true });
  const all = readResults(dir);
  all[key] = section;
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(all, null, 2) + '\n');
  return all;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
