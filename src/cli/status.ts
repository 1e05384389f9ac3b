// What `keyfork status` shows, as data: built from INFO and CONFIG GET, so the same model
// feeds the screen, `--json` and the explanation of a refused BGSAVE. Against Redis it holds
// what Redis exposes and lists, in `needsKeyfork`, what only keyfork's INFO fields tell.
import { RespClient } from './resp-client';

export type Info = Map<string, string>;

export function parseInfo(text: string): Info {
  const info = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) info.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return info;
}

/** A numeric field, `fallback` when absent or not a number. */
export function num(info: Info, field: string, fallback = -1): number {
  const v = info.get(field);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/** A keyfork text field: null when the server does not have it, else the text (maybe empty). */
function words(info: Info, field: string): string | null {
  return info.has(field) ? (info.get(field) as string) : null;
}

export async function readInfo(client: RespClient, section?: string): Promise<Info> {
  const reply = await client.call(...(section ? ['INFO', section] : ['INFO']));
  if (reply instanceof Error) throw reply;
  if (typeof reply !== 'string') throw new Error('INFO did not return a bulk string');
  return parseInfo(reply);
}

export type ChildType = 'rdb' | 'aof-rewrite' | 'sync';

export interface ChildView {
  type: ChildType;
  /** What triggered it, null when the server does not say (Redis). */
  trigger: string | null;
  pid: number | null;
  /** Unix seconds. */
  startTime: number;
  elapsedMs: number;
  progressPerc: number;
  keysDone: number;
  keysTotal: number;
  /** Bytes the child wrote so far, null when the server does not say. */
  bytesWritten: number | null;
  keysPerSec: number | null;
  /** Seconds left: keyfork's own estimate, else extrapolated here from the keys; null before any. */
  etaSec: number | null;
  cowBytes: number;
  cowPeakBytes: number;
  forkUsec: number;
}

export interface SaveRuleView {
  seconds: number;
  changes: number;
  /** due: both conditions met, the next cron starts it; time: waits for the seconds; changes: needs more changes. */
  state: 'due' | 'time' | 'changes';
  firesInSec: number | null;
  changesMissing: number;
}

export interface ReplicaView {
  addr: string;
  state: string;
  offset: number;
  lagSec: number;
  lagBytes: number;
}

export interface StatusModel {
  server: {
    addr: string;
    software: 'keyfork' | 'redis';
    redisVersion: string;
    keyforkVersion: string | null;
    role: string;
    uptimeSec: number;
    keys: number;
    usedMemoryBytes: number;
    usedMemoryPeakBytes: number;
    clients: number;
    blockedClients: number;
    /** The server's clock, unix ms. */
    timeMs: number;
  };
  child: ChildView | null;
  /** Work waiting for the running child: keyfork's trigger words, true when Redis only says "scheduled". */
  waiting: { rdb: string | null; aofRewrite: string | boolean | null; sync: string | null };
  lastSave: {
    status: string;
    /** Unix seconds of the last successful save (LASTSAVE). */
    time: number;
    durationSec: number | null;
    error: string | null;
    trigger: string | null;
    bgsaveTrigger: string | null;
    bgsaveStoppedBy: string | null;
  };
  lastRewrite: { status: string; count: number; durationSec: number | null; trigger: string | null; error: string | null };
  changesSinceSave: number;
  saveRules: SaveRuleView[] | null;
  aof: { enabled: boolean; lastWriteStatus: string; currentBytes: number | null; baseBytes: number | null };
  replicas: ReplicaView[];
  disk: {
    dir: string | null;
    dbfilename: string | null;
    freeBytes: number | null;
    rdbFileBytes: number | null;
    /** What the next RDB will take: the running save's extrapolation, else the last file. */
    expectedRdbBytes: number | null;
  };
  /** Directives set that keyfork accepts but does not act on yet; null when the server does not say. */
  unsupportedConfigs: string[] | null;
  /** What this server's INFO does not tell (a Redis): shown as "needs keyfork". */
  needsKeyfork: string[];
}

/** The configuration the view needs; null where CONFIG GET was refused. */
export interface StatusConfig {
  save: string | null;
  dir: string | null;
  dbfilename: string | null;
}

export async function readConfig(client: RespClient): Promise<StatusConfig> {
  const config: StatusConfig = { save: null, dir: null, dbfilename: null };
  for (const name of ['save', 'dir', 'dbfilename'] as const) {
    const reply = await client.call('CONFIG', 'GET', name);
    if (Array.isArray(reply) && typeof reply[1] === 'string') config[name] = reply[1];
  }
  return config;
}

function childFrom(info: Info, keyfork: boolean): ChildView | null {
  let type: ChildType | null;
  if (keyfork) {
    const t = info.get('keyfork_child_type');
    type = t === 'rdb' || t === 'aof-rewrite' || t === 'sync' ? t : null;
  } else if (num(info, 'rdb_bgsave_in_progress', 0) === 1) type = 'rdb';
  else if (num(info, 'aof_rewrite_in_progress', 0) === 1) type = 'aof-rewrite';
  else type = null;
  if (!type) return null;
  const keysDone = Math.max(0, num(info, 'current_save_keys_processed', 0));
  const keysTotal = Math.max(0, num(info, 'current_save_keys_total', 0));
  const elapsedMs = keyfork
    ? Math.max(0, num(info, 'keyfork_child_elapsed_ms', 0))
    : Math.max(0, num(info, type === 'rdb' ? 'rdb_current_bgsave_time_sec' : 'aof_current_rewrite_time_sec', 0)) * 1000;
  const serverSec = num(info, 'server_time_usec', Date.now() * 1000) / 1e6;
  let etaSec: number | null = keyfork ? num(info, 'keyfork_child_eta_sec', -1) : -1;
  if (etaSec < 0) etaSec = keysDone > 0 && keysTotal > 0 ? Math.ceil((elapsedMs * Math.max(0, keysTotal - keysDone)) / keysDone / 1000) : null;
  return {
    type,
    trigger: keyfork ? info.get('keyfork_child_trigger') ?? '' : null,
    pid: keyfork ? num(info, 'keyfork_child_pid') : null,
    startTime: keyfork ? num(info, 'keyfork_child_start_time') : Math.floor(serverSec - elapsedMs / 1000),
    elapsedMs,
    progressPerc: keysTotal > 0 ? Math.min(100, (keysDone / keysTotal) * 100) : num(info, 'current_fork_perc', 0),
    keysDone,
    keysTotal,
    bytesWritten: keyfork ? num(info, 'keyfork_child_bytes_written', 0) : null,
    keysPerSec: elapsedMs > 0 && keysDone > 0 ? Math.round((keysDone * 1000) / elapsedMs) : null,
    etaSec,
    cowBytes: Math.max(0, num(info, 'current_cow_size', 0)),
    cowPeakBytes: Math.max(0, num(info, 'current_cow_peak', 0)),
    forkUsec: Math.max(0, num(info, 'latest_fork_usec', 0)),
  };
}

/** `save` as CONFIG GET prints it ("900 1 300 10") against the changes and time since the last save. */
export function saveRulesFrom(save: string, changes: number, sinceSaveSec: number): SaveRuleView[] {
  const parts = save.trim() === '' ? [] : save.trim().split(/\s+/).map(Number);
  const rules: SaveRuleView[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const [seconds, needed] = [parts[i], parts[i + 1]];
    const changesMissing = Math.max(0, needed - changes);
    // serverCron fires a rule once `changes >= needed` and strictly more than `seconds` passed.
    const timeLeft = Math.max(0, seconds + 1 - sinceSaveSec);
    const state = changesMissing > 0 ? 'changes' : timeLeft > 0 ? 'time' : 'due';
    rules.push({ seconds, changes: needed, state, firesInSec: state === 'changes' ? null : timeLeft, changesMissing });
  }
  return rules;
}

function replicasFrom(info: Info): ReplicaView[] {
  const masterOffset = num(info, 'master_repl_offset', 0);
  const replicas: ReplicaView[] = [];
  for (const [name, value] of info) {
    if (!/^slave\d+$/.test(name)) continue;
    const f = new Map(value.split(',').map((kv) => kv.split('=') as [string, string]));
    const offset = Number(f.get('offset') ?? 0);
    replicas.push({
      addr: `${f.get('ip') ?? '?'}:${f.get('port') ?? '?'}`,
      state: f.get('state') ?? '?',
      offset,
      lagSec: Number(f.get('lag') ?? -1),
      lagBytes: Math.max(0, masterOffset - offset),
    });
  }
  return replicas;
}

function totalKeys(info: Info): number {
  let keys = 0;
  for (const [name, value] of info) {
    const m = /^db\d+$/.test(name) ? /keys=(\d+)/.exec(value) : null;
    if (m) keys += Number(m[1]);
  }
  return keys;
}

const nonNegative = (n: number): number | null => (n >= 0 ? n : null);

export function buildStatus(info: Info, config: StatusConfig, addr: string, nowMs: number = Date.now()): StatusModel {
  const keyfork = info.has('keyfork_version');
  const timeMs = info.has('server_time_usec') ? Math.floor(num(info, 'server_time_usec') / 1000) : nowMs;
  const child = childFrom(info, keyfork);
  const changes = Math.max(0, num(info, 'rdb_changes_since_last_save', 0));
  const lastSaveTime = num(info, 'rdb_last_save_time', 0);
  const rdbFileBytes = keyfork ? nonNegative(num(info, 'keyfork_rdb_file_bytes')) : null;
  let expectedRdbBytes = rdbFileBytes;
  if (child && child.type !== 'aof-rewrite' && child.bytesWritten && child.progressPerc >= 1) {
    expectedRdbBytes = Math.round(child.bytesWritten / (child.progressPerc / 100));
  }
  const aofRewriteWaiting = words(info, 'keyfork_scheduled_aof_rewrite');
  return {
    server: {
      addr,
      software: keyfork ? 'keyfork' : 'redis',
      redisVersion: info.get('redis_version') ?? '?',
      keyforkVersion: info.get('keyfork_version') ?? null,
      role: info.get('role') ?? '?',
      uptimeSec: Math.max(0, num(info, 'uptime_in_seconds', 0)),
      keys: totalKeys(info),
      usedMemoryBytes: Math.max(0, num(info, 'used_memory', 0)),
      usedMemoryPeakBytes: Math.max(0, num(info, 'used_memory_peak', 0)),
      clients: Math.max(0, num(info, 'connected_clients', 0)),
      blockedClients: Math.max(0, num(info, 'blocked_clients', 0)),
      timeMs,
    },
    child,
    waiting: {
      rdb: words(info, 'keyfork_scheduled_rdb') || null,
      aofRewrite: aofRewriteWaiting !== null ? aofRewriteWaiting || null : num(info, 'aof_rewrite_scheduled', 0) === 1 || null,
      sync: words(info, 'keyfork_scheduled_sync') || null,
    },
    lastSave: {
      status: info.get('rdb_last_bgsave_status') ?? '?',
      time: lastSaveTime,
      durationSec: nonNegative(num(info, 'rdb_last_bgsave_time_sec')),
      error: words(info, 'keyfork_last_bgsave_error') || null,
      trigger: words(info, 'keyfork_last_save_trigger') || null,
      bgsaveTrigger: words(info, 'keyfork_last_bgsave_trigger') || null,
      bgsaveStoppedBy: words(info, 'keyfork_last_bgsave_stopped_by') || null,
    },
    lastRewrite: {
      status: info.get('aof_last_bgrewrite_status') ?? '?',
      count: Math.max(0, num(info, 'aof_rewrites', 0)),
      durationSec: nonNegative(num(info, 'aof_last_rewrite_time_sec')),
      trigger: words(info, 'keyfork_last_aof_rewrite_trigger') || null,
      error: words(info, 'keyfork_last_aof_rewrite_error') || null,
    },
    changesSinceSave: changes,
    saveRules: config.save === null ? null : saveRulesFrom(config.save, changes, Math.floor(timeMs / 1000) - lastSaveTime),
    aof: {
      enabled: num(info, 'aof_enabled', 0) === 1,
      lastWriteStatus: info.get('aof_last_write_status') ?? '?',
      currentBytes: info.has('aof_current_size') ? num(info, 'aof_current_size') : null,
      baseBytes: info.has('aof_base_size') ? num(info, 'aof_base_size') : null,
    },
    replicas: replicasFrom(info),
    disk: {
      dir: config.dir,
      dbfilename: config.dbfilename,
      freeBytes: keyfork ? nonNegative(num(info, 'keyfork_dir_free_bytes')) : null,
      rdbFileBytes,
      expectedRdbBytes,
    },
    unsupportedConfigs: info.has('keyfork_unsupported_configs_set')
      ? (info.get('keyfork_unsupported_configs_set') as string).split(',').filter(Boolean)
      : null,
    needsKeyfork: keyfork ? [] : ['what triggered the child', 'its pid', 'bytes written', 'what waits its turn', 'what triggered the last save', 'free disk space'],
  };
}

/** One look at the server: INFO, the save rules and dir. */
export async function fetchStatus(client: RespClient, addr: string): Promise<StatusModel> {
  const info = await readInfo(client);
  return buildStatus(info, await readConfig(client), addr);
}
