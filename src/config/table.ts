// Every Redis 7.0.15 config as one row of data. Names, aliases, defaults (as CONFIG GET
// prints them), bounds, mutability and flags follow Redis 7.0.15's config.c and were
// checked against a real redis-server 7.0.15 (CONFIG GET * on a default instance, and
// CONFIG SET of invalid values on every config).

import {
  boolCodec,
  Codec,
  ConfigView,
  EnumEntry,
  enumCodec,
  NumericKind,
  numericCodec,
  stringCodec,
} from './codecs';
import { INT_MAX, INT_MIN, LLONG_MAX, UINT_MAX, ULLONG_MAX } from './numbers';
import {
  bindCodec,
  clientOutputBufferLimitCodec,
  dirCodec,
  latencyPercentilesCodec,
  notifyKeyspaceEventsCodec,
  oomScoreAdjValuesCodec,
  replicaOfCodec,
  saveCodec,
} from './specials';

export type ConfigType = 'bool' | 'int' | 'uint' | 'memory' | 'string' | 'enum' | 'special';

export interface ConfigRow {
  /** Canonical name (what CONFIG REWRITE writes). */
  readonly name: string;
  /** Old names still accepted (hash-max-ziplist-entries, slaveof, ...). */
  readonly aliases: readonly string[];
  readonly type: ConfigType;
  /** Default as CONFIG GET prints it. `dir` defaults to the working directory at startup. */
  readonly default: string;
  /** False for IMMUTABLE_CONFIG: settable in the config file / argv only. */
  readonly mutable: boolean;
  /** PROTECTED_CONFIG: CONFIG SET needs enable-protected-configs yes (or local). */
  readonly protected: boolean;
  /** HIDDEN_CONFIG: CONFIG GET reports it only when asked for by its exact name. */
  readonly hidden: boolean;
  /** SENSITIVE_CONFIG: the value must be redacted from SLOWLOG / MONITOR. */
  readonly sensitive: boolean;
  /** DENY_LOADING_CONFIG: CONFIG SET refuses it while a dataset is loading. */
  readonly denyLoading: boolean;
  /** Takes several arguments (save 900 1 300 10). */
  readonly multiArg: boolean;
  /**
   * Why the value changes nothing a user could observe in keyfork (allocator tuning that does
   * not apply...). Such a directive is "inert"; see consumers.ts for "applied".
   */
  readonly inert?: string;
  /**
   * For a directive keyfork does not act on yet: the Redis feature it would need, as the
   * refusal or warning names it ("AOF persistence").
   */
  readonly missing?: string;
  /**
   * For an unsupported directive: true when this non-default value (CONFIG GET form) promises
   * durability, data safety, security, limits or topology keyfork does not provide, so that
   * start-up stops and CONFIG SET is refused; otherwise setting it only logs a warning.
   */
  readonly promises: (value: string) => boolean;
  /** Which values `promises` refuses, in words for the README; null when none. */
  readonly refusedValues: string | null;
  readonly min?: bigint;
  readonly max?: bigint;
  readonly enumValues?: readonly string[];
  readonly numericKind?: NumericKind;
  /** Parse / print / rewrite behaviour. */
  readonly codec: Codec<unknown>;
}

interface RowOptions {
  alias?: string;
  mutable?: boolean; // default true
  protected?: boolean;
  hidden?: boolean;
  sensitive?: boolean;
  denyLoading?: boolean;
  inert?: string;
  missing?: string;
  /** Which non-default values refuse (true: all of them); see ConfigRow.promises. */
  promises?: true | { when: (value: string) => boolean; values: string };
}

function row(
  name: string,
  type: ConfigType,
  def: string,
  codec: Codec<unknown>,
  opts: RowOptions,
  extra: Partial<Pick<ConfigRow, 'min' | 'max' | 'enumValues' | 'numericKind'>> = {},
): ConfigRow {
  return {
    name,
    aliases: opts.alias ? [opts.alias] : [],
    type,
    default: def,
    mutable: opts.mutable ?? true,
    protected: opts.protected ?? false,
    hidden: opts.hidden ?? false,
    sensitive: opts.sensitive ?? false,
    denyLoading: opts.denyLoading ?? false,
    multiArg: codec.multiArg,
    inert: opts.inert,
    missing: opts.missing,
    promises: opts.promises === true ? () => true : (opts.promises?.when ?? (() => false)),
    refusedValues: opts.promises === true ? 'any non-default value' : (opts.promises?.values ?? null),
    codec,
    ...extra,
  };
}

const IMMUTABLE: RowOptions = { mutable: false };

function bool(name: string, def: boolean, opts: RowOptions = {}, validate?: (value: boolean) => string | null): ConfigRow {
  return row(name, 'bool', def ? 'yes' : 'no', boolCodec(validate) as Codec<unknown>, opts);
}

function str(
  name: string,
  def: string | null,
  emptyIsNull: boolean,
  opts: RowOptions = {},
  validate?: (value: string, view: ConfigView) => string | null,
): ConfigRow {
  return row(name, 'string', def ?? '', stringCodec({ emptyIsNull, validate }) as Codec<unknown>, opts);
}

function enumeration(
  name: string,
  entries: readonly EnumEntry[],
  def: string,
  opts: RowOptions = {},
  enumOpts: { bitflags?: boolean; validate?: (v: number) => string | null } = {},
): ConfigRow {
  return row(name, 'enum', def, enumCodec(entries, enumOpts) as Codec<unknown>, opts, {
    enumValues: entries.map((e) => e.name),
  });
}

interface NumberOptions extends RowOptions {
  memory?: boolean;
  percent?: boolean;
  octal?: boolean;
  normalize?: (v: bigint) => bigint;
}

function num(
  name: string,
  kind: NumericKind,
  min: bigint,
  max: bigint,
  def: bigint,
  opts: NumberOptions = {},
): ConfigRow {
  const codec = numericCodec({
    kind,
    min,
    max,
    memory: opts.memory,
    percent: opts.percent,
    octal: opts.octal,
    normalize: opts.normalize,
  });
  const type: ConfigType = opts.memory
    ? 'memory'
    : kind === 'uint' || kind === 'ulong' || kind === 'ulonglong' || kind === 'size_t'
      ? 'uint'
      : 'int';
  return row(name, type, codec.format(def, NO_VIEW), codec as Codec<unknown>, opts, {
    min,
    max,
    numericKind: kind,
  });
}

function special(name: string, def: string, codec: Codec<unknown>, opts: RowOptions = {}): ConfigRow {
  return row(name, 'special', def, codec, opts);
}

// Numeric defaults are formatted without needing the rest of the configuration.
const NO_VIEW: ConfigView = {
  value: () => undefined,
  configFile: null,
  cwd: () => '',
};

const LONG_MAX = LLONG_MAX; // 64-bit Linux
const SSIZE_MAX = LLONG_MAX;
const KB = 1024n;
const MB = 1024n * KB;
const GB = 1024n * MB;

// --- enums -------------------------------------------------------------------------------

const e = (...names: string[]): EnumEntry[] => names.map((name, value) => ({ name, value }));

const SUPERVISED = e('upstart', 'systemd', 'auto', 'no');
const SYSLOG_FACILITY = e('user', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7');
const REPL_DISKLESS_LOAD = e('disabled', 'on-empty-db', 'swapdb');
const LOGLEVEL = e('debug', 'verbose', 'notice', 'warning');
const MAXMEMORY_POLICY = e(
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'noeviction',
);
const APPENDFSYNC = e('everysec', 'always', 'no');
// "yes" and "relative" are the same setting; CONFIG GET prints the first name, "yes".
const OOM_SCORE_ADJ: EnumEntry[] = [
  { name: 'no', value: 0 },
  { name: 'yes', value: 1 },
  { name: 'relative', value: 1 },
  { name: 'absolute', value: 2 },
];
const ACL_PUBSUB_DEFAULT = e('allchannels', 'resetchannels');
const SANITIZE_DUMP_PAYLOAD = e('no', 'yes', 'clients');
const PROTECTED_ACTION = e('no', 'yes', 'local');
const CLUSTER_ENDPOINT_TYPE = e('ip', 'hostname', 'unknown-endpoint');
const PROPAGATION_ERROR_BEHAVIOR = e('ignore', 'panic', 'panic-on-replicas');
const TLS_AUTH_CLIENTS = e('no', 'yes', 'optional');
export const SHUTDOWN_FLAGS = { save: 1, nosave: 2, now: 4, force: 8 } as const;
const SHUTDOWN_ON_SIGNAL: EnumEntry[] = [
  { name: 'default', value: 0 },
  { name: 'save', value: SHUTDOWN_FLAGS.save },
  { name: 'nosave', value: SHUTDOWN_FLAGS.nosave },
  { name: 'now', value: SHUTDOWN_FLAGS.now },
  { name: 'force', value: SHUTDOWN_FLAGS.force },
];
const validShutdownFlags = (v: number): string | null =>
  v & SHUTDOWN_FLAGS.save && v & SHUTDOWN_FLAGS.nosave
    ? "shutdown options SAVE and NOSAVE can't be used simultaneously"
    : null;

// --- string validators -------------------------------------------------------------------

const isBaseName = (v: string): boolean => !v.includes('/') && !v.includes('\\');

const validDbFilename = (v: string): string | null =>
  isBaseName(v) ? null : "dbfilename can't be a path, just a filename";

const validAofFilename = (v: string): string | null => {
  if (v === '') return "appendfilename can't be empty";
  return isBaseName(v) ? null : "appendfilename can't be a path, just a filename";
};

const validAofDirname = (v: string): string | null => {
  if (v === '') return "appenddirname can't be empty";
  return isBaseName(v) ? null : "appenddirname can't be a path, just a dirname";
};

const NET_HOST_STR_LEN = 256;
const validAnnouncedHostname = (v: string): string | null => {
  if (v.length >= NET_HOST_STR_LEN) return `Hostnames must be less than ${NET_HOST_STR_LEN} characters`;
  if (!/^[A-Za-z0-9.-]*$/.test(v)) return 'Hostnames may only contain alphanumeric characters, hyphens or dots';
  return null;
};

/**
 * proc-title-template: the template must expand (known {variables}, no unterminated '{')
 * to something non-blank, using the values the server would substitute right now.
 */
export function expandProcTitleTemplate(template: string, title: string, view: ConfigView): string | null {
  const valueOf = (variable: string): string | null => {
    const port = Number(view.value('port') as bigint);
    const tlsPort = Number(view.value('tls-port') as bigint);
    const unixsocket = (view.value('unixsocket') as string | null) ?? '';
    switch (variable) {
      case 'title':
        return title;
      case 'listen-addr': {
        if (port || tlsPort) {
          const bind = (view.value('bind') as string[] | undefined) ?? [];
          return `${bind.length ? bind[0] : '*'}:${port || tlsPort}`;
        }
        return `unixsocket:${unixsocket}`;
      }
      case 'server-mode':
        return view.value('cluster-enabled') ? '[cluster]' : '';
      case 'config-file':
        // Redis shows "-" when it runs without a config file.
        return view.configFile ?? '-';
      case 'port':
        return String(port);
      case 'tls-port':
        return String(tlsPort);
      case 'unixsocket':
        return unixsocket;
      default:
        return null;
    }
  };
  let out = '';
  let p = 0;
  while (p < template.length) {
    const open = template.indexOf('{', p);
    if (open < 0) {
      out += template.slice(p);
      break;
    }
    out += template.slice(p, open);
    if (open + 1 >= template.length) return null; // premature end
    if (template[open + 1] === '{') {
      out += '{';
      p = open + 2;
      continue;
    }
    const close = template.indexOf('}', open + 1);
    if (close < 0) return null;
    const value = valueOf(template.slice(open + 1, close));
    if (value === null) return null;
    out += value;
    p = close + 1;
  }
  return out.replace(/^ +| +$/g, '');
}

const validProcTitleTemplate = (v: string, view: ConfigView): string | null => {
  const expanded = expandProcTitleTemplate(v, '', view);
  return expanded === null || expanded.length === 0
    ? 'template format is invalid or contains unknown variables'
    : null;
};

// hz is a hint: out-of-range values are accepted and clamped (CONFIG_MIN_HZ..CONFIG_MAX_HZ).
const clampHz = (v: bigint): bigint => (v < 1n ? 1n : v > 500n ? 500n : v);

// --- what keyfork does with each directive ------------------------------------------------
// A directive is applied because code consumes it (consumers.ts): that is never written here.
// Every other row says why it is inert, or which feature it waits for (then setting it to a
// non-default value warns, or refuses where `promises` says the value promises something).

// (Every directive is applied or inert now: a row that waits for a feature again gives
// `{ missing: '<feature>', promises }`.)
const inert = (reason: string): RowOptions => ({ inert: reason });
const fixed = (opts: RowOptions): RowOptions => ({ ...IMMUTABLE, ...opts });

// keyfork has no allocator to defragment (it does not use jemalloc). Redis built without its
// patched jemalloc (no HAVE_DEFRAG; Debian's redis-server 7.0.15 is such a build) refuses
// `activedefrag yes` at start-up and on CONFIG SET, and keeps the tuning values, which then
// drive nothing: keyfork is that build.
const NO_DEFRAG_BUILD = "behaves as a Redis built without jemalloc's defragmenter";
const DEFRAG = inert(`${NO_DEFRAG_BUILD}: the value is kept (CONFIG GET, CONFIG REWRITE) and drives nothing there either`);
const noActiveDefrag = (on: boolean): string | null =>
  on
    ? 'Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution'
    : null;

// --- the table -----------------------------------------------------------------------------

export const CONFIG_TABLE: readonly ConfigRow[] = [
  // bool
  bool('rdbchecksum', true, IMMUTABLE),
  bool('daemonize', false, IMMUTABLE),
  bool('io-threads-do-reads', false, fixed(inert("threaded I/O only tunes throughput; keyfork's sockets are served by Node's event loop"))),
  bool('always-show-logo', false, IMMUTABLE),
  bool('protected-mode', true),
  bool('rdbcompression', true),
  bool('rdb-del-sync-files', false),
  bool('activerehashing', true),
  bool('stop-writes-on-bgsave-error', true),
  bool('set-proc-title', true, IMMUTABLE),
  bool('dynamic-hz', true),
  bool('lazyfree-lazy-eviction', false),
  bool('lazyfree-lazy-expire', false),
  bool('lazyfree-lazy-server-del', false),
  bool('lazyfree-lazy-user-del', false),
  bool('lazyfree-lazy-user-flush', false),
  bool('repl-disable-tcp-nodelay', false),
  bool('repl-diskless-sync', true),
  bool('aof-rewrite-incremental-fsync', true),
  bool('no-appendfsync-on-rewrite', false),
  bool('cluster-require-full-coverage', true),
  bool('rdb-save-incremental-fsync', true, inert('the save child fsyncs the file once before renaming it; incremental fsync only smooths disk writes')),
  bool('aof-load-truncated', true),
  bool('aof-use-rdb-preamble', true),
  bool('aof-timestamp-enabled', false),
  bool('cluster-replica-no-failover', false, { alias: 'cluster-slave-no-failover' }),
  bool('replica-lazy-flush', false, { alias: 'slave-lazy-flush', ...inert('a keyfork replica always frees the data a full sync replaces in a background thread') }),
  bool('replica-serve-stale-data', true, { alias: 'slave-serve-stale-data' }),
  bool('replica-read-only', true, { alias: 'slave-read-only' }),
  bool('replica-ignore-maxmemory', true, { alias: 'slave-ignore-maxmemory' }),
  bool('jemalloc-bg-thread', true, inert('keyfork does not use jemalloc')),
  bool('activedefrag', false, inert(`${NO_DEFRAG_BUILD}: \`activedefrag yes\` is refused with that build's error, at start-up and on CONFIG SET`), noActiveDefrag),
  bool('syslog-enabled', false, IMMUTABLE),
  bool('cluster-enabled', false, fixed({})),
  bool('appendonly', false, { denyLoading: true }),
  bool('cluster-allow-reads-when-down', false),
  bool('cluster-allow-pubsubshard-when-down', true),
  bool('crash-log-enabled', true),
  bool('crash-memcheck-enabled', true),
  bool('use-exit-on-panic', false, { hidden: true }),
  bool('disable-thp', true, IMMUTABLE),
  bool('cluster-allow-replica-migration', true),
  bool('replica-announced', true),
  bool('latency-tracking', true),
  bool('aof-disable-auto-gc', false),
  bool('replica-ignore-disk-write-errors', false),
  bool('tls-cluster', false),
  bool('tls-replication', false),
  bool('tls-prefer-server-ciphers', false),
  bool('tls-session-caching', true),

  // string (third argument: EMPTY_STRING_IS_NULL)
  str('aclfile', '', false, fixed({})),
  str('unixsocket', null, true, IMMUTABLE),
  str('pidfile', null, true, IMMUTABLE),
  str('replica-announce-ip', null, true, { alias: 'slave-announce-ip' }),
  str('masteruser', null, true, { sensitive: true }),
  str('cluster-announce-ip', null, true),
  str('cluster-config-file', 'nodes.conf', false, fixed({})),
  str('cluster-announce-hostname', null, true, {}, validAnnouncedHostname),
  str('syslog-ident', 'redis', false, IMMUTABLE),
  str('dbfilename', 'dump.rdb', false, { protected: true }, validDbFilename),
  str('appendfilename', 'appendonly.aof', false, IMMUTABLE, validAofFilename),
  str('appenddirname', 'appendonlydir', false, IMMUTABLE, validAofDirname),
  str('server_cpulist', null, true, IMMUTABLE),
  str('bio_cpulist', null, true, IMMUTABLE),
  str('aof_rewrite_cpulist', null, true, IMMUTABLE),
  str('bgsave_cpulist', null, true, IMMUTABLE),
  str('ignore-warnings', '', false, inert('keyfork runs none of the start-up checks it silences (ARM64-COW-BUG)')),
  str('proc-title-template', '{title} {listen-addr} {server-mode}', false, {}, validProcTitleTemplate),
  str('bind-source-addr', null, true),
  str('logfile', '', false, IMMUTABLE),
  str('masterauth', null, true, { sensitive: true }),
  str('requirepass', null, true, { sensitive: true }),
  str('tls-cert-file', null, true),
  str('tls-key-file', null, true),
  str('tls-key-file-pass', null, true),
  str('tls-client-cert-file', null, true),
  str('tls-client-key-file', null, true),
  str('tls-client-key-file-pass', null, true),
  str('tls-dh-params-file', null, true),
  str('tls-ca-cert-file', null, true),
  str('tls-ca-cert-dir', null, true),
  str('tls-protocols', null, true),
  str('tls-ciphers', null, true),
  str('tls-ciphersuites', null, true),

  // enum
  enumeration('supervised', SUPERVISED, 'no', IMMUTABLE),
  enumeration('syslog-facility', SYSLOG_FACILITY, 'local0', IMMUTABLE),
  enumeration('repl-diskless-load', REPL_DISKLESS_LOAD, 'disabled', { denyLoading: true }),
  enumeration('loglevel', LOGLEVEL, 'notice'),
  enumeration('maxmemory-policy', MAXMEMORY_POLICY, 'noeviction'),
  enumeration('appendfsync', APPENDFSYNC, 'everysec'),
  enumeration('oom-score-adj', OOM_SCORE_ADJ, 'no'),
  enumeration('acl-pubsub-default', ACL_PUBSUB_DEFAULT, 'resetchannels'),
  enumeration('sanitize-dump-payload', SANITIZE_DUMP_PAYLOAD, 'no', inert('keyfork always checks RESTORE payloads and RDB files in full, as with "yes"')),
  enumeration('enable-protected-configs', PROTECTED_ACTION, 'no', IMMUTABLE),
  enumeration('enable-debug-command', PROTECTED_ACTION, 'no', IMMUTABLE),
  enumeration('enable-module-command', PROTECTED_ACTION, 'no', IMMUTABLE),
  enumeration('cluster-preferred-endpoint-type', CLUSTER_ENDPOINT_TYPE, 'ip'),
  enumeration('propagation-error-behavior', PROPAGATION_ERROR_BEHAVIOR, 'ignore'),
  enumeration('shutdown-on-sigint', SHUTDOWN_ON_SIGNAL, 'default', {}, { bitflags: true, validate: validShutdownFlags }),
  enumeration('shutdown-on-sigterm', SHUTDOWN_ON_SIGNAL, 'default', {}, { bitflags: true, validate: validShutdownFlags }),
  enumeration('tls-auth-clients', TLS_AUTH_CLIENTS, 'yes'),

  // int
  num('databases', 'int', 1n, INT_MAX, 16n, IMMUTABLE),
  num('port', 'int', 0n, 65535n, 6379n),
  num('io-threads', 'int', 1n, 128n, 1n, fixed(inert("threaded I/O only tunes throughput; keyfork's sockets are served by Node's event loop"))),
  num('auto-aof-rewrite-percentage', 'int', 0n, INT_MAX, 100n),
  num('cluster-replica-validity-factor', 'int', 0n, INT_MAX, 10n, { alias: 'cluster-slave-validity-factor' }),
  num('list-max-listpack-size', 'int', INT_MIN, INT_MAX, -2n, { alias: 'list-max-ziplist-size' }),
  num('tcp-keepalive', 'int', 0n, INT_MAX, 300n),
  num('cluster-migration-barrier', 'int', 0n, INT_MAX, 1n),
  num('active-defrag-cycle-min', 'int', 1n, 99n, 1n, DEFRAG),
  num('active-defrag-cycle-max', 'int', 1n, 99n, 25n, DEFRAG),
  num('active-defrag-threshold-lower', 'int', 0n, 1000n, 10n, DEFRAG),
  num('active-defrag-threshold-upper', 'int', 0n, 1000n, 100n, DEFRAG),
  num('lfu-log-factor', 'int', 0n, INT_MAX, 10n),
  num('lfu-decay-time', 'int', 0n, INT_MAX, 1n),
  num('replica-priority', 'int', 0n, INT_MAX, 100n, { alias: 'slave-priority' }),
  num('repl-diskless-sync-delay', 'int', 0n, INT_MAX, 5n),
  num('maxmemory-samples', 'int', 1n, INT_MAX, 5n),
  num('maxmemory-eviction-tenacity', 'int', 0n, 100n, 10n),
  num('timeout', 'int', 0n, INT_MAX, 0n),
  num('replica-announce-port', 'int', 0n, 65535n, 0n, { alias: 'slave-announce-port' }),
  num('tcp-backlog', 'int', 0n, INT_MAX, 511n, IMMUTABLE),
  num('cluster-port', 'int', 0n, 65535n, 0n, fixed({})),
  num('cluster-announce-bus-port', 'int', 0n, 65535n, 0n),
  num('cluster-announce-port', 'int', 0n, 65535n, 0n),
  num('cluster-announce-tls-port', 'int', 0n, 65535n, 0n),
  num('repl-timeout', 'int', 1n, INT_MAX, 60n),
  num('repl-ping-replica-period', 'int', 1n, INT_MAX, 10n, { alias: 'repl-ping-slave-period' }),
  num('list-compress-depth', 'int', 0n, INT_MAX, 0n),
  num('rdb-key-save-delay', 'int', INT_MIN, INT_MAX, 0n, { hidden: true }),
  num('key-load-delay', 'int', INT_MIN, INT_MAX, 0n, { hidden: true }),
  num('active-expire-effort', 'int', 1n, 10n, 1n),
  num('hz', 'int', 0n, INT_MAX, 10n, { normalize: clampHz }),
  num('min-replicas-to-write', 'int', 0n, INT_MAX, 0n, { alias: 'min-slaves-to-write' }),
  num('min-replicas-max-lag', 'int', 0n, INT_MAX, 10n, { alias: 'min-slaves-max-lag' }),
  num('watchdog-period', 'int', 0n, INT_MAX, 0n, { hidden: true }),
  num('shutdown-timeout', 'int', 0n, INT_MAX, 10n),
  num('repl-diskless-sync-max-replicas', 'int', 0n, INT_MAX, 0n),
  num('tls-port', 'int', 0n, 65535n, 0n),
  num('tls-session-cache-size', 'int', 0n, INT_MAX, 20n * 1024n, inert('Redis 7.0 resumes TLS sessions by ticket only (a session id it cached is never resumed), so the size of that cache is not observable; keyfork keeps no id cache')),
  num('tls-session-cache-timeout', 'int', 0n, INT_MAX, 300n),

  // unsigned int
  num('maxclients', 'uint', 1n, UINT_MAX, 10000n),
  num('unixsocketperm', 'uint', 0n, 0o777n, 0n, { ...IMMUTABLE, octal: true }),
  num('socket-mark-id', 'uint', 0n, UINT_MAX, 0n, IMMUTABLE),

  // unsigned long
  num('active-defrag-max-scan-fields', 'ulong', 1n, LONG_MAX, 1000n, DEFRAG),
  num('slowlog-max-len', 'ulong', 0n, LONG_MAX, 128n),
  num('acllog-max-len', 'ulong', 0n, LONG_MAX, 128n),

  // long long
  num('busy-reply-threshold', 'longlong', 0n, LONG_MAX, 5000n, { alias: 'lua-time-limit' }),
  num('cluster-node-timeout', 'longlong', 0n, LLONG_MAX, 15000n),
  num('slowlog-log-slower-than', 'longlong', -1n, LLONG_MAX, 10000n),
  num('latency-monitor-threshold', 'longlong', 0n, LLONG_MAX, 0n),
  num('proto-max-bulk-len', 'longlong', MB, LONG_MAX, 512n * MB, { memory: true }),
  num('stream-node-max-entries', 'longlong', 0n, LLONG_MAX, 100n),
  num('repl-backlog-size', 'longlong', 1n, LLONG_MAX, MB, { memory: true }),

  // unsigned long long
  num('maxmemory', 'ulonglong', 0n, ULLONG_MAX, 0n, { memory: true }),
  num('cluster-link-sendbuf-limit', 'ulonglong', 0n, ULLONG_MAX, 0n, { memory: true }),

  // size_t / ssize_t
  num('hash-max-listpack-entries', 'size_t', 0n, LONG_MAX, 512n, { alias: 'hash-max-ziplist-entries' }),
  num('set-max-intset-entries', 'size_t', 0n, LONG_MAX, 512n),
  num('zset-max-listpack-entries', 'size_t', 0n, LONG_MAX, 128n, { alias: 'zset-max-ziplist-entries' }),
  num('active-defrag-ignore-bytes', 'size_t', 1n, LLONG_MAX, 100n * MB, { memory: true, ...DEFRAG }),
  num('hash-max-listpack-value', 'size_t', 0n, LONG_MAX, 64n, { memory: true, alias: 'hash-max-ziplist-value' }),
  num('stream-node-max-bytes', 'size_t', 0n, LONG_MAX, 4096n, { memory: true }),
  num('zset-max-listpack-value', 'size_t', 0n, LONG_MAX, 64n, { memory: true, alias: 'zset-max-ziplist-value' }),
  num('hll-sparse-max-bytes', 'size_t', 0n, LONG_MAX, 3000n, { memory: true }),
  num('tracking-table-max-keys', 'size_t', 0n, LONG_MAX, 1000000n),
  num('client-query-buffer-limit', 'size_t', MB, LONG_MAX, GB, { memory: true }),
  num('maxmemory-clients', 'ssize_t', -100n, SSIZE_MAX, 0n, { memory: true, percent: true }),

  // time_t / off_t
  num('repl-backlog-ttl', 'time_t', 0n, LONG_MAX, 3600n),
  num('auto-aof-rewrite-min-size', 'off_t', 0n, LLONG_MAX, 64n * MB, { memory: true }),
  num('loading-process-events-interval-bytes', 'off_t', 1024n, INT_MAX, 2n * MB, { hidden: true }),

  // special
  special('dir', '', dirCodec as Codec<unknown>, { protected: true, denyLoading: true }),
  special('save', '3600 1 300 100 60 10000', saveCodec as Codec<unknown>),
  special(
    'client-output-buffer-limit',
    'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60',
    clientOutputBufferLimitCodec as Codec<unknown>,
  ),
  special('oom-score-adj-values', '0 200 800', oomScoreAdjValuesCodec as Codec<unknown>),
  special('notify-keyspace-events', '', notifyKeyspaceEventsCodec as Codec<unknown>),
  special('bind', '* -::*', bindCodec as Codec<unknown>),
  special('replicaof', '', replicaOfCodec as Codec<unknown>, { alias: 'slaveof', mutable: false }),
  special('latency-tracking-info-percentiles', '50 99 99.9', latencyPercentilesCodec as Codec<unknown>),
];

/** Lower-cased name or alias -> row. */
const BY_NAME: ReadonlyMap<string, ConfigRow> = (() => {
  const map = new Map<string, ConfigRow>();
  for (const r of CONFIG_TABLE) {
    for (const n of [r.name, ...r.aliases]) {
      if (map.has(n)) throw new Error(`duplicate config name in table: ${n}`);
      map.set(n, r);
    }
  }
  return map;
})();

/** Looks a config up by name or alias, case-insensitively. */
export function findConfigRow(name: string): ConfigRow | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Every row (canonical names only), in table order. */
export function configRows(): readonly ConfigRow[] {
  return CONFIG_TABLE;
}
