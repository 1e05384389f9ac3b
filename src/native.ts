// The typed surface of the Rust addon (native/src/lib.rs). Everything that crosses the
// boundary is declared here; keys and values travel as Buffers, never as JS strings.
import { addonPath, availablePlatforms, missingAddonMessage, packageRoot, platformName } from './native-platform';

/** exec() return codes besides a reply length. */
export const REPLY_PENDING = -1;
export const WOULD_BLOCK = -2;
export const EXEC_RESP3 = 1;
export const EXEC_MAY_BLOCK = 2;
/** A blocked client's command run again: keys now of another type are skipped. */
export const EXEC_RETRY = 4;
/** The client's ACL user may not read every key with this command (SORT refuses BY/GET patterns). */
export const EXEC_KEYS_RESTRICTED = 8;
/** The reply goes to a normal / a pubsub client: its class's output hard limit stops random picks. */
export const EXEC_OBUF_NORMAL = 16;
export const EXEC_OBUF_PUBSUB = 32;

/** setExpiry modes (native keyspace::Expiry): a master deletes expired keys; a replica's clients
 * see them as absent while they stay until the master's DEL; the master's stream sees them. */
export const EXPIRY_DELETE = 0;
export const EXPIRY_LOGICAL = 1;
export const EXPIRY_IGNORE = 2;

/** A record of the snapshot child's report pipe: [kind, ...fields] (see persistence/children.ts). */
export type ChildReport = [number, ...(number | string)[]];

/** What loadRdb found. */
export interface RdbLoadReport {
  keysLoaded: number;
  keysExpired: number;
  rdbVersion?: number;
  redisVer?: string | null;
  ctime?: number | null;
  usedMem?: number | null;
  /** The aof-base AUX field (1 in an AOF base file), null when absent. */
  aofBase?: number | null;
  /** Empty collections skipped (Redis logs each of the first 10 as a warning). */
  emptyKeysSkipped?: number;
  /** Lines Redis logs as warnings during a successful load. */
  warnings?: string[];
  /** The replication position the file was saved at (null when it has none). */
  replStreamDb?: number | null;
  replId?: string | null;
  replOffset?: number | null;
  /**
   * A master's start-up load: the DELs of the keys it found expired, for its new backlog
   * (`stream` null when they outgrew it; `db` the database they selected last, -1 none).
   */
  expiredDels?: { stream: Buffer | null; bytes: number; db: number };
}

/**
 * What a load does with the keys whose TTL passed. Redis's rdbLoad drops them only in a master
 * (iAmMaster): a replica keeps them until its master's DEL arrives. A master's start-up load
 * also records their DELs for its new backlog (an ExpiredDelsFeed).
 */
export type ExpiredAtLoad = 'drop' | 'keep' | ExpiredDelsFeed;

/** What a master's start-up load records of the keys it drops as expired: see RdbLoadReport. */
export interface ExpiredDelsFeed {
  /** repl-backlog-size: a longer stream is not kept. */
  cap: number;
  /** lazyfree-lazy-expire: UNLINK rather than DEL. */
  unlink: boolean;
}

/** aofLoadOpen's result (native/src/aof/mod.rs). */
export interface AofLoadOpened {
  status: 'ready' | 'not_exist' | 'open_error' | 'empty';
  error?: string;
  size?: number;
  /** The file starts with an RDB part (a base file, or an old-style preamble). */
  rdb?: boolean;
}

/** aofLoadRun's result: where the replay stopped. */
export interface AofLoadStep {
  step: 'done' | 'yield' | 'rdb_done' | 'rdb_failed' | 'eof_in_multi' | 'truncated' | 'format' | 'read_error' | 'foreign';
  /** Bytes of the file loaded so far. */
  loaded: number;
  validUpTo: number;
  validBeforeMulti: number;
  commands: number;
  /** 'rdb_done': what the RDB part held. */
  report?: RdbLoadReport;
  error?: string;
  /** 'foreign': the command TypeScript must run, and its db. */
  db?: number;
  argv?: Buffer[];
  /**
   * Error replies of the commands replayed in this run, flattened by four: the command Redis
   * logs ("exec" inside a transaction), the command that failed, whether EXEC ran it, the error.
   */
  errors?: Array<string | boolean>;
}

export interface NativeAddon {
  init(databases: number): void;
  /** Names of the data commands the addon implements; exec() takes an index into this list. */
  commandNames(): string[];
  /** Use execNative(): everything but the command number travels through bound arrays and Buffers. */
  exec(cmd: number): number;
  bindExecParams(params: Int32Array, offsets: Int32Array): void;
  bindExecInput(input: Buffer): void;
  bindExecOutput(output: Buffer): void;
  /**
   * Registers a native command for the batch fast path (see native/src/batch.rs); `blockOption`:
   * it blocks only with a BLOCK option (XREAD, XREADGROUP), and runs there only without one.
   */
  /** `firstKey` -1: cluster mode leaves the command to TypeScript; else its COMMAND INFO key range. */
  setFastCommand(name: string, index: number, arity: number, isWrite: boolean, denyOom: boolean, blockOption: boolean, firstKey: number, lastKey: number, step: number): void;
  bindBatchLog(log: Int32Array): void;
  execBatch(input: Buffer): void;
  takeReply(): Buffer;
  /** The timeout in ms (0: forever) of the command that just answered WOULD_BLOCK. */
  blockTimeoutMs(): number;
  /** [index, Buffer, ...]: arguments the command that just answered WOULD_BLOCK resolved (XREAD's `$`). */
  blockRewrite(): (number | Buffer)[];
  setSetting(name: string, value: number): boolean;
  // Propagation (native/src/propagate.rs; src/propagate.ts wraps these).
  bindPropagation(status: Int32Array): void;
  /** The targets consumers subscribed to (PROPAGATE_* bits; 0: nothing is recorded). */
  setPropagation(targets: number): void;
  takePropagated(into: Buffer): number;
  propagateCommand(db: number, target: number, argv: Buffer[]): void;
  propagationEnter(): void;
  propagationLeave(): void;
  /** A setting given by name (maxmemory-policy). */
  setSettingString(name: string, value: string): boolean;
  /** Memory in use outside the addon's allocator, and what does not count against maxmemory. */
  setMemoryOutside(bytes: number, notCounted: number): void;
  /** maxmemory's check: 0 under the limit, 1 still evicting, 2 over it with nothing to evict. */
  performEvictions(): number;
  /** [used_memory, evicted_keys, total exceeded us, current exceeded us, still evicting 0/1]. */
  evictionStats(): number[];
  /** Per non-empty database, flattened: [db, keys, bytes of its key table]. */
  keyspaceOverhead(): number[];
  /** The longest [eviction-cycle, eviction-del, eviction-lazyfree, expire-del] in ms since the last call. */
  takeLatency(): [number, number, number, number];
  /** [lazyfree_pending_objects, lazyfreed_objects]. */
  lazyfreeStats(): [number, number];
  dirty(): number;
  subtractDirty(n: number): void;
  /** Empties every database without counting a change or propagating anything (emptyData). */
  emptyData(): void;
  /** Per database, flattened: keys, expires, avg_ttl. */
  keyspaceInfo(): number[];
  /** expired_keys, expired_stale_perc, expired_time_cap_reached_count, keyspace_hits, keyspace_misses, slave_expires_tracked_keys. */
  keyspaceStats(): number[];
  /** Per database: the keyspace table's buckets (both arrays while rehashing), Redis's dictSlots. */
  keyspaceSlots(): number[];
  resetStats(): void;
  /** One slow expire cycle of at most budgetMicros; effort is active-expire-effort - 1 (0..9). */
  activeExpireCycle(budgetMicros: number, effort: number): number;
  setActiveExpire(on: boolean): void;
  /** The cron's active rehashing: up to budgetMicros on one rehashing keyspace table; true if one was. */
  rehashKeyspace(budgetMicros: number): boolean;
  /** CLIENT PAUSE: expired keys are hidden, not deleted, and the active cycle waits. */
  setExpirePaused(on: boolean): void;
  setTrackModified(on: boolean): void;
  /** How keys past their TTL behave: EXPIRY_DELETE, EXPIRY_LOGICAL or EXPIRY_IGNORE. */
  setExpiry(mode: number): void;
  /** [db, key | null, ...]: keys modified since the last call (null: the whole db). */
  takeModified(): (number | Buffer | null)[];
  /** The keyspace-event classes handlers record (src/config/specials.ts bits; 0: none). */
  setNotifyMask(classes: number): void;
  /**
   * [sequence number of the first, event, db, key, reply bytes before it, ...]: the keyspace
   * events recorded since the last call, null when none.
   */
  takeKeyspaceEvents(): (string | number | Buffer)[] | null;
  // Client-side caching (native/src/keyspace/tracking.rs; src/tracking.ts).
  /** The client read these keys and may cache them. */
  trackingRemember(client: number, keys: Buffer[]): void;
  /** Some client tracks: invalidations are queued (the table shrinks either way). */
  trackingSetActive(on: boolean): void;
  /** Every prefix BCAST clients follow. */
  trackingSetPrefixes(prefixes: Buffer[]): void;
  /** tracking-table-max-keys: evicts random keys (queued as invalidations) down to it. */
  trackingLimit(maxKeys: number): void;
  /**
   * null when nothing happened, else [invalidations, broadcast]: key, the sequence number of
   * the keyspace event recorded next, id count, ids... (a flush: null and its sequence
   * number); broadcast: key, modifier client id (0: none) pairs.
   */
  trackingTake(): [(Buffer | number | null)[], (Buffer | number)[]] | null;
  /** [keys in the table, client ids stored in it]. */
  trackingStats(): number[];
  // The forked child's pipe and process (native/src/snapshot.rs).
  /** Everything the child sent since the last call: records, then `true` once its pipe closed. */
  readChildReports(fd: number): (ChildReport | boolean)[];
  /** null while the child runs, else [exitCode, signal] (exitCode -1 when a signal ended it). */
  waitChild(pid: number): [number, number] | null;
  killChild(pid: number, signal: number): void;
  closeFd(fd: number): void;
  /** Calls `onReadable` whenever `fd` is readable (uv_poll on Node's loop); returns a watch id. */
  watchFd(fd: number, onReadable: () => void): number;
  /** Stops a watchFd; call it before closing the descriptor. */
  unwatchFd(id: number): void;
  /** A non-blocking send(2) of buffer[0, length) to a socket: bytes written (0: full) or -errno. */
  sendSocket(fd: number, buffer: Buffer, length: number): number;
  // Client sockets owned by the addon on Node's loop (native/src/sockets.rs).
  /**
   * `callback(id, n, lastCommand)` is entered when TypeScript must act for an adopted client: n
   * bytes wait at the start of `readBuffer` (0: look at its output queue), -1: it is gone.
   * lastCommand is the native index of the last command run for it natively since, or -1;
   * slow is 1 when runs slow enough for the slow log wait (sockTakeSlow).
   * It returns the client's mode: `db << 1 | resp3` while the fast path may serve it, else -1.
   * `accept(fd)` gets each connection accepted on a listener (sockListen): 1 when it took the
   * descriptor (adopted, or refused and closed), 0 for the addon to close it.
   */
  sockInit(callback: (id: number, n: number, lastCommand: number, slow: number) => number, readBuffer: Buffer, accept: (fd: number) => number): void;
  /**
   * Takes over the connection on `fd` as client `id`: on a duplicate (`duplicate`: the caller
   * closes `fd`) or on `fd` itself (accepted by the addon). Returns the addon's descriptor.
   */
  sockAdopt(fd: number, id: number, duplicate: boolean): number;
  /** Accepts the connections of listening socket `fd` in the addon (on a duplicate: the caller closes `fd`): [listener id, the addon's descriptor]. */
  sockListen(fd: number): [number, number];
  /** Stops accepting on a sockListen listener and closes its descriptor. */
  sockUnlisten(id: number): void;
  /** [remote address, remote port, local address, local port] of a TCP connection. */
  sockAddresses(fd: number): [string | undefined, number | undefined, string | undefined, number | undefined];
  /** Writes buffer[0, length) after what is queued: bytes still queued, -1 when the connection failed. */
  sockSend(id: number, buffer: Buffer, length: number): number;
  sockQueued(id: number): number;
  /** Bytes of an unfinished request the addon keeps for the client. */
  sockInput(id: number): number;
  /** Moves the kept unfinished request to the start of the read buffer (its length); reads go to TypeScript until a native mode is returned again. */
  sockTakeInput(id: number): number;
  /** Closes at once, or once the queued output is written (graceful, or the peer is gone). */
  sockClose(id: number, graceful: boolean): void;
  /** The server's half of the gate and the batch's limits; slowUsec -1: no run is slow. */
  sockGate(open: boolean, writesRefused: boolean, maxBulk: number, slowUsec: number, trackLatency: boolean, obufLimit: number): void;
  /** The runs slow enough for the slow log / latency monitor: [requests, usec each, ...]. */
  sockTakeSlow(id: number): (Buffer | number)[];
  /** 0 when a TCP listener can be bound at host:port now, else the errno (-1: unresolvable). */
  sockBindProbe(host: string, port: number): number;
  /** A client's mode outside its own JS entry; id -1: every client to TypeScript. */
  sockMode(id: number, mode: number): void;
  /** [last activity ms, last command run natively since asked (native index) or -1]. */
  sockActivity(id: number): [number, number];
  /** Takes what ran natively: [reads, netIn, netOut, writes, commands, [index, calls, failed, usec, ...], [errorCode, count, ...], [index, usec, calls, ...]]. */
  sockStats(): [number, number, number, number, number, number[], (string | number)[], number[]];
  /** Writes now the replies the addon queued for the end of the loop's batch of events. */
  sockFlush(): void;
  /** prctl(PR_SET_THP_DISABLE): true when transparent huge pages are now off for this process. */
  disableThp(): boolean;
  // Process-level calls (native/src/procctl.rs, used by src/proc.ts).
  /** What the next forked child sets after the fork: its title, oom_score_adj and CPUs (null: left alone). */
  prepareChild(title: string | null, oomScoreAdj: number | null, cpus: number[] | null): void;
  /** Bytes of a process title /proc/PID/cmdline can show (the argv area less its NUL). */
  titleCapacity(): number;
  /** prctl(PR_GET_NAME) / prctl(PR_SET_NAME) of the calling (JS) thread: /proc/PID/comm. */
  threadName(): string;
  setThreadName(name: string): void;
  /** sched_setaffinity / sched_getaffinity of the calling thread (tid 0) or thread `tid`. */
  setAffinity(cpus: number[]): void;
  affinity(tid?: number): number[];
  /** bio_cpulist: the CPUs background threads (lazy free) started from now on run on. */
  setBioAffinity(cpus: number[]): void;
  /** One datagram to the Unix socket at `path` ('@' first: abstract): 0, or -errno. */
  sendDatagram(path: string, payload: Buffer): number;
  /** A datagram socket bound at `path` (the tests' receiving end); closeFd() closes it. */
  bindDatagram(path: string): number;
  /** The next datagram waiting on `fd`, or null. */
  recvDatagram(fd: number): Buffer | null;
  /** raise(3). */
  raiseSignal(signal: number): void;
  // Cluster mode (native/src/cluster.rs).
  /** Keeps db 0's index by hash slot (built from its keys now) or drops it. */
  clusterSlotIndex(on: boolean): void;
  countKeysInSlot(slot: number): number;
  /** Up to `max` key names of `slot`. */
  getKeysInSlot(slot: number, max: number): Buffer[];
  /** delKeysInSlot: deletes every key of `slot` (DELs propagated); how many. */
  delKeysInSlot(slot: number): number;
  /** The slots db 0 holds keys in, ascending. */
  slotsWithKeys(): number[];
  keyHashSlot(key: Buffer): number;
  /** db 0 holds `key` (no stats, no LRU; an expired key goes). */
  clusterKeyExists(key: Buffer): boolean;
  /** The slots the fast paths may serve (2048 bytes), or null when cluster mode is off. */
  clusterServedSlots(bitmap: Buffer | null): void;
  /** flock(fd, LOCK_EX|LOCK_NB): 0, or the errno. */
  lockFile(fd: number): number;
  // Redis's crash report and watchdog (native/src/crash.rs, src/crash-report.ts).
  /**
   * Remembers the main thread, finds V8's WebAssembly trap handler (true when found); from
   * then on a panic of the JS thread's native code calls `onPanic` once its call is unwound.
   */
  crashInit(onPanic: () => void): boolean;
  /** The native panic being reported (message, file:line), or null. */
  crashPanicInfo(): [string, string] | null;
  /** What the fatal-signal handler needs; `crashLog` installs or removes the handlers. */
  /** native/src/cmd/random_picks.rs: client-output-buffer-limit's hard limits (normal, pubsub). */
  setOutputHardLimits(normal: number, pubsub: number): void;
  /** native/src/log_queue.rs: lines a native command logged, [level 0-3, text, ...]. */
  takeLogLines(): Array<number | string>;
  /** native/src/shutdown_signal.rs: a second SIGINT exits at delivery (sigShutdownHandler). */
  installShutdownSignals(): void;
  shutdownSignalPending(): boolean;
  clearShutdownSignal(): void;
  shutdownSignalLoading(loading: boolean): void;
  crashSettings(logFd: number, role: string, tzOffsetSeconds: number, memcheck: boolean, pidfile: string, crashLog: boolean): void;
  /** The report's text after the registers (INFO OUTPUT ... CONFIG DEBUG OUTPUT). */
  crashReportText(text: string): void;
  /** The bug report's START line, once per process. */
  bugReportStart(): void;
  /** logStackTrace from here (serverPanic / serverAssert). */
  crashStackTrace(): void;
  /** The fast memory test section, when crash-memcheck-enabled. */
  crashMemtest(): void;
  /** bugReportEnd(0, 0): END text, then exit(1) when `exit`, else abort(). */
  crashPanicEnd(exit: boolean): never;
  /** DEBUG SEGFAULT: writes to a read-only page. */
  debugSegfault(): void;
  /** applyWatchdogPeriod (0: off). */
  watchdogPeriod(ms: number): void;
  /** watchdogScheduleSignal: SIGALRM to the main thread in `ms`. */
  watchdogSchedule(ms: number): void;
  /** socket-mark-id: SO_MARK on `fd`; the error text, or null. */
  setSocketMark(fd: number, mark: number): string | null;
  // The RDB format (native/src/persist); absent from an addon built before it.
  /** Forks the child that writes temp-<pid>.rdb and renames it over `filename`: [pid, readFd, forkUsec, totalKeys]. */
  forkRdb?(filename: string, compress: boolean, checksum: boolean, keySaveDelayUs: number, streamDb?: number, replId?: string, replOffset?: number): [number, number, number, number];
  /** A save in this process: [keys, bytes]; throws an Error whose message is the reason. */
  saveRdb?(filename: string, compress: boolean, checksum: boolean, keySaveDelay: number, streamDb?: number, replId?: string, replOffset?: number): [number, number];
  /**
   * Loads an RDB file into the keyspace; throws an Error whose message is the reason (keys loaded
   * before the error stay). A key already present is an error unless `allowDup` (DEBUG RELOAD
   * MERGE), which replaces it.
   */
  loadRdb?(file: string, allowDup?: boolean): RdbLoadReport;
  // The append-only file (native/src/aof).
  /** Forks the rewrite child (temp-rewriteaof-bg-<pid>.aof): [pid, readFd, forkUsec, totalKeys]. */
  forkAofRewrite(rdbPreamble: boolean, compress: boolean, checksum: boolean, incrementalFsync: boolean, keySaveDelayUs: number, timestamp: boolean): [number, number, number, number];
  /** A rewrite in this process into `target`: [keys, bytes]; throws Error(Redis's log text). */
  rewriteAof(target: string, rdbPreamble: boolean, compress: boolean, checksum: boolean, incrementalFsync: boolean, keySaveDelayUs: number, timestamp: boolean): [number, number];
  aofLoadOpen(path: string): AofLoadOpened;
  /** Loads about `budgetBytes` more; see AofLoadStep. */
  aofLoadRun(budgetBytes: number): AofLoadStep;
  aofLoadClose(): void;
  /**
   * A diskless sync's child: streams `$EOF:<eofMark>\r\n`, the RDB and the mark into a pipe:
   * [pid, reportFd, dataFd (the pipe's read end), forkUsec, totalKeys]. The last three
   * arguments, optional, are the replication position written as AUX fields.
   */
  /** `exclude`: REPLCONF rdb-filter-only's RDB_EXCLUDE_* bits (1 the data, 2 the functions). */
  forkRdbToPipe(compress: boolean, checksum: boolean, keySaveDelayUs: number, eofMark: string, streamDb?: number, replId?: string, replOffset?: number, exclude?: number): [number, number, number, number, number];

  /** The key is stored but its time has passed (not yet lazily deleted). */
  keyExpired(db: number, key: Buffer): boolean;
  // Scripting (native/src/script): EVAL and FUNCTION on the dlopen'd liblua5.1.
  /** [true, library file] or [false, why scripting is unavailable]. Builds the interpreters. */
  scriptingStatus(): [boolean, string];
  /** The JS function scripts call back: TypeScript commands, log lines, the busy pump. */
  bindScriptHost(host: (op: number, a?: unknown, b?: unknown, c?: unknown) => unknown): void;
  /** scriptRun's scalar parameters and results, and its per-command statistics log. */
  bindScriptParams(params: Int32Array, log: Int32Array): void;
  /** A command redis.call may run: name ("get", "config|get"), its id in scriptLog, native index or -1, arity, flags. */
  setScriptCommand(name: string, id: number, nativeIndex: number, arity: number, flags: number): void;
  /** Flags of what EVAL (kind 0/2: body), EVALSHA (1/3: sha) or FCALL (4/5: name) would run; -1 unknown. */
  scriptFlags(kind: number, what: Buffer): number;
  /** [vm eval, scripts eval, cached scripts, vm functions, functions, functions count, libraries]. */
  scriptMemory(): number[];
  /** Use runScriptNative(). */
  scriptRun(kind: number, input: Buffer, out: Buffer): number;
  /** The AOF's MISCONF text for the next runs whose writes are refused (null: a failed save's). */
  scriptAofRefusal(text: string | null): void;
  /** Error codes of the commands that failed in the last run. */
  takeScriptErrors(): string[];
  /** Statistics the log could not hold: [id, calls, usec, failed, rejected, ...]. */
  takeScriptStats(): number[];
  /** Drops every function library (DEBUG RELOAD empties them with the data). */
  functionsFlush(): void;
  // SCRIPT DEBUG (native/src/script/ldb.rs)
  /** SCRIPT DEBUG YES/SYNC: a fresh debugger (no breakpoints, maxlen 256). */
  ldbEnable(): void;
  /** The debugging client's descriptor for the scriptRun that follows. */
  ldbPrepare(fd: number): void;
  /** Reaps ended forked sessions: their pids, then the number still running. */
  ldbReap(): number[];
  /** Kills the forked sessions (shutdown): their pids. */
  ldbKill(): number[];
  // WATCH (native/src/keyspace/watch.rs): judged by the keyspace at every modification.
  /** WATCH of one key by a client (remembers whether the key is already logically expired). */
  watchKey(client: number, db: number, key: Buffer): void;
  /** Forgets the client's watched keys; `clearDirty` also resets its failed-transaction flag. */
  unwatchAll(client: number, clearDirty: boolean): void;
  /** 0 clean, 1 a watched key was touched (dirty), 2 a key live when watched has expired since. */
  watchState(client: number): number;
  /** glibc malloc_trim: returns free heap memory to the kernel, all but heapUsage()[3] at the top. */
  trimMemory(): boolean;
  /**
   * Extends the keyspace heap's huge page advice to the whole heap if it grew or shrank since
   * (native/src/alloc.rs keep_heap_advised; nothing unless keyfork keeps it on huge pages).
   */
  keepHeapAdvised(): void;
  /** tcp-keepalive on a socket's fd as Redis's anetKeepAlive sets it (idle, interval/3, 3 probes). */
  setTcpKeepalive(fd: number, seconds: number): void;
  /** TCP_NODELAY on a socket (repl-disable-tcp-nodelay turns it off for replicas). */
  setTcpNoDelay(fd: number, on: boolean): void;
  /** serverCron's migrateCloseTimedoutSockets: closes MIGRATE's connections idle for over 10 s. */
  migrateCloseIdle(): void;
  /** INFO's migrate_cached_sockets: MIGRATE's open connections. */
  migrateCachedSockets(): number;
  /** tls-cluster: MIGRATE connects through the TLS relay at 127.0.0.1:port, opening with `secret` (port 0: plain TCP). */
  migrateTlsRelay(port: number, secret: Buffer): void;
  /** DEBUG QUICKLIST-PACKED-THRESHOLD: false when out of range (0 restores 1 GiB). */
  setListPackedThreshold(bytes: number): boolean;
  /**
   * [C heap bytes in use, free bytes the allocator holds] (glibc mallinfo2), bytes the addon
   * holds, and the free bytes at the heap's top that trimMemory keeps (the advised room of a heap
   * on huge pages, 0 otherwise).
   */
  heapUsage(): [number, number, number, number];
  [more: string]: unknown;
}

/** The prebuilt or locally built binary for this platform (see native-platform.ts). */
function load(): NativeAddon {
  const root = packageRoot();
  const name = platformName();
  const file = addonPath(root, name);
  try {
    return require(file) as NativeAddon;
  } catch (err) {
    throw new Error(missingAddonMessage(file, name, availablePlatforms(root), err));
  }
}

export const native: NativeAddon = load();

/**
 * exec()'s scalar parameters (db, argc, output position, flags, client id) and argument
 * offsets; execBatch's extra inputs and its results share the same array (lib.rs: P_ and R_).
 */
const execParams = new Int32Array(15);
let execOffsets = new Int32Array(1024);
// The Buffers bound last: a pipelined batch shares one input Buffer and the reply writer keeps
// its Buffer until it grows, so rebinding is rare.
let boundInput: Buffer | null = null;
let boundOutput: Buffer | null = null;
native.bindExecParams(execParams, execOffsets);

function bindBuffers(input: Buffer, out: Buffer): void {
  if (input !== boundInput) {
    native.bindExecInput(input);
    boundInput = input;
  }
  if (out !== boundOutput) {
    native.bindExecOutput(out);
    boundOutput = out;
  }
}

/** What execBatch ran: `batchLog` holds (native index, reply position or -1) per command. */
export const MAX_BATCH = 1024;
export const batchLog = new Int32Array(2 * MAX_BATCH);
native.bindBatchLog(batchLog);

export interface BatchResult {
  consumed: number;
  outPos: number;
  executed: number;
  pending: boolean;
  /** Microseconds spent evicting before the commands (maxmemory): not their duration. */
  evictUsec: number;
}

/**
 * The fast path: runs the plain data commands of `input[pos, end)` in one native call, until
 * one needs TypeScript (see native/src/batch.rs). Replies are written into `out` at `outPos`.
 */
export function execBatchNative(
  db: number,
  input: Buffer,
  pos: number,
  end: number,
  out: Buffer,
  outPos: number,
  flags: number,
  clientId: number,
  maxBulk: number,
  writesRefused: boolean,
): BatchResult {
  if (out !== boundOutput) {
    native.bindExecOutput(out);
    boundOutput = out;
  }
  execParams[0] = db;
  execParams[2] = outPos;
  execParams[3] = flags;
  execParams[4] = clientId;
  execParams[5] = pos;
  execParams[6] = Math.min(maxBulk, 0x7fffffff);
  execParams[7] = MAX_BATCH;
  execParams[8] = writesRefused ? 1 : 0;
  execParams[13] = end;
  native.execBatch(input);
  return { consumed: execParams[9], outPos: execParams[10], executed: execParams[11], pending: execParams[12] !== 0, evictUsec: execParams[14] };
}

/** The request's argument offsets into the bound offsets array (grown and rebound when needed). */
function copyOffsets(req: { offsets: Int32Array; argc: number }): void {
  const n = req.argc * 2;
  if (n > execOffsets.length) {
    execOffsets = new Int32Array(Math.max(n, execOffsets.length * 2));
    native.bindExecParams(execParams, execOffsets);
  }
  const offsets = req.offsets;
  for (let i = 0; i < n; i++) execOffsets[i] = offsets[i];
}

/**
 * Runs native data command `cmd` on a request, writing its reply into `out` at `outPos`.
 * Returns the reply length, REPLY_PENDING or WOULD_BLOCK.
 */
export function execNative(
  cmd: number,
  db: number,
  req: { input: Buffer; offsets: Int32Array; argc: number },
  out: Buffer,
  outPos: number,
  flags: number,
  clientId: number,
): number {
  copyOffsets(req);
  bindBuffers(req.input, out);
  execParams[0] = db;
  execParams[1] = req.argc;
  execParams[2] = outPos;
  execParams[3] = flags;
  execParams[4] = clientId;
  return native.exec(cmd);
}

/** scriptRun kinds. */
export const SCRIPT_EVAL = 0;
export const SCRIPT_EVALSHA = 1;
export const SCRIPT_EVAL_RO = 2;
export const SCRIPT_EVALSHA_RO = 3;
export const SCRIPT_FCALL = 4;
export const SCRIPT_FCALL_RO = 5;

/** scriptParams: inputs (db, argc, output position, flags, client id, busy ms) and results. */
export const scriptParams = new Int32Array(10);
/** Per-command statistics of a run: [command id, calls, usec, failed, rejected] each. */
export const SCRIPT_LOG_FIELDS = 5;
export const scriptLog = new Int32Array(SCRIPT_LOG_FIELDS * 64);
native.bindScriptParams(scriptParams, scriptLog);

export const SCRIPT_RESP3 = 1;
export const SCRIPT_IN_MULTI = 2;
export const SCRIPT_WRITES_REFUSED = 4;
export const SCRIPT_OOM = 8;
export const SCRIPT_CALLS_VIA_TS = 16;
/** The caller tracks keys: each read-only call makes it remember the script's KEYS. */
export const SCRIPT_TRACKING = 32;
/** A read-only replica runs the script for one of its clients: writes get READONLY. */
export const SCRIPT_READONLY_REPLICA = 64;
/** min-replicas-to-write is not met: writes get NOREPLICAS. */
export const SCRIPT_NOREPLICAS = 128;
/** A stale replica runs the script: it refuses scripts without allow-stale, calls of commands not flagged stale. */
export const SCRIPT_STALE = 1024;
/** SCRIPT DEBUG SYNC: the session runs in this process, the server waiting. */
export const SCRIPT_DEBUG_SYNC = 256;
/** SCRIPT DEBUG YES: the session runs in a forked child (scriptRun returns SCRIPT_FORKED - pid). */
export const SCRIPT_DEBUG_FORK = 512;
export const SCRIPT_FORKED = -100;
/** Result flags. */
export const SCRIPT_WROTE = 1;
export const SCRIPT_ERROR_COUNTED = 2;
export const SCRIPT_TIMED_OUT = 4;

/**
 * Runs EVAL/EVALSHA/FCALL (`kind`) on a request; the reply goes into `out` at `outPos`.
 * Returns its length or REPLY_PENDING. Results are in scriptParams[6..9] and scriptLog.
 */
export function runScriptNative(
  kind: number,
  db: number,
  req: { input: Buffer; offsets: Int32Array; argc: number },
  out: Buffer,
  outPos: number,
  flags: number,
  clientId: number,
  busyMs: number,
): number {
  copyOffsets(req);
  scriptParams[0] = db;
  scriptParams[1] = req.argc;
  scriptParams[2] = outPos;
  scriptParams[3] = flags;
  scriptParams[4] = clientId;
  scriptParams[5] = Math.max(0, Math.min(busyMs, 0x7fffffff));
  return native.scriptRun(kind, req.input, out);
}
