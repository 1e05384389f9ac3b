// The server: listeners, clients, the shared reply writer, the cron (hz) and the pieces
// that span clients (blocking, WATCH invalidation, pub/sub, persistence).
import * as net from 'node:net';
import * as os from 'node:os';
import type * as tls from 'node:tls';
import { Acl } from './acl';
import { Blocking } from './blocking';
import { Client, skipClientId } from './client';
import { ClientLimits } from './client-limits';
import { ClientEviction } from './client-eviction';
import { clientInfoLine, clientMemory, isLocalClient } from './commands/client-cmd';
import { Dispatcher, nativeHandler, outputClassFlag } from './commands/dispatch';
import { tsHandlers } from './commands/registry';
import { CommandTable, type Command } from './commands/table';
import type { Request } from './commands/types';
import type { Config } from './config';
import { strerror } from './config/errors';
import { ListenFailure } from './errors';
import { consume } from './config/consumers';
import { LatencyMonitor } from './latency';
import { Maxmemory } from './maxmemory';
import { MemoryAccounting, MemoryHousekeeping } from './memory';
import { KeyspaceEvents } from './keyspace-events';
import { TLS_PORT, TlsListeners } from './tls';
import { UnixListener } from './unix-socket';
import { levelAt, log, type Logger } from './log';
import { batchLog, EXEC_RESP3, execBatchNative, EXPIRY_DELETE, EXPIRY_IGNORE, EXPIRY_LOGICAL, native } from './native';
import { Parse, RequestParser } from './protocol/parse';
import { ReplyWriter } from './protocol/reply';
import { ClientPause } from './client-pause';
import { Shutdown } from './shutdown';
import { Monitors } from './monitor';
import { NativeSocket } from './native-socket';
import { aclRulesVersion } from './acl/user';
import { PubSub } from './pubsub';
import { Persistence } from './persistence/rdb';
import { quoteRepr } from './config/splitargs';
import { Scripting } from './scripting';
import { Aof, createAofClient } from './persistence/aof';
import { makeRequest } from './commands/types';
import { BeforeSleep } from './before-sleep';
import { Propagation } from './propagate';
import { Replication } from './replication';
import { Slowlog } from './slowlog';
import { ServerStats } from './stats';
import { Watches } from './watch';
import { ClientTracking } from './tracking';
import type { Cluster } from './cluster';
import { CrashReport } from './crash-report';
import { markListener } from './socket-mark';

export { KEYFORK_VERSION, REDIS_VERSION } from './version';

/** Every client socket is read into one static Buffer of this size (Node's own read size). */
const READ_BUFFER_SIZE = 64 * 1024;

/** The parts of a node:net handle the server takes over from an accepted socket. */
interface AcceptedSocket {
  _handle: { fd?: number } | null;
}

/** A bound TCP listener: node:net's server, or (native sockets) the addon accepting on its socket. */
interface Listener {
  /** The listening socket's descriptor (a busy script's event pump accepts on it). */
  readonly fd: number;
  /** Stops listening; resolves once the port is released. */
  close(): Promise<void>;
}

/**
 * Who owns accepted TCP clients' sockets: `native` (the addon, on Node's loop: see
 * src/native-socket.ts) or `node` (node:net with a static read buffer). KEYFORK_SOCKETS in the
 * environment chooses; unix sockets, TLS and the busy pump's accepts always use node:net.
 */
const SOCKETS_NATIVE_DEFAULT = true;

/**
 * Redis's ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC: the cron may spend 25% of its period expiring,
 * 2 points more per step of active-expire-effort above 1 (expire.c).
 */
const EXPIRE_TIME_PERCENT = 25;
/** Redis's MAX_CLIENTS_PER_CLOCK_TICK: dynamic-hz doubles hz while more clients than this share a tick. */
const MAX_CLIENTS_PER_CLOCK_TICK = 200;
/** Redis's CONFIG_MAX_HZ. */
const MAX_HZ = 500;
/** Redis's incrementallyRehash: a rehashing keyspace table gets 1 ms of each cron run. */
const ACTIVE_REHASH_BUDGET_US = 1000;

const PROOF = 'test/server/directives.test.ts';
const DATABASES = consume('databases', PROOF);
const PORT = consume('port', PROOF);
const BIND = consume('bind', PROOF);
const TCP_BACKLOG = consume('tcp-backlog', PROOF);
const TCP_KEEPALIVE = consume('tcp-keepalive', PROOF);
const MAXCLIENTS = consume('maxclients', PROOF);
const TIMEOUT = consume('timeout', PROOF);
const PROTECTED_MODE = consume('protected-mode', 'test/server/protected-mode.test.ts');
const HZ = consume('hz', PROOF);
const DYNAMIC_HZ = consume('dynamic-hz', 'test/server/cron-hz.test.ts');
const ACTIVE_EXPIRE_EFFORT = consume('active-expire-effort', 'test/server/cron-hz.test.ts');
const ACTIVEREHASHING = consume('activerehashing', 'test/server/rehash.test.ts');
const LOGLEVEL = consume('loglevel', PROOF);
const LOGFILE = consume('logfile', PROOF);
const CLIENT_QUERY_BUFFER_LIMIT = consume('client-query-buffer-limit', PROOF);
const PROTO_MAX_BULK_LEN = consume('proto-max-bulk-len', 'test/server/strings.test.ts');
const RDBCOMPRESSION = consume('rdbcompression', 'test/server/debug-object.test.ts');
const RDBCHECKSUM = consume('rdbchecksum', PROOF);
/** A replica does not evict (read by the addon's performEvictions). */
const REPLICA_IGNORE_MAXMEMORY = consume('replica-ignore-maxmemory', 'test/server/replication.test.ts');
/** Which deletions free values on the lazy free thread (native/src/lazyfree.rs). */
const LAZYFREE = [
  consume('lazyfree-lazy-eviction', 'test/server/memory-cmd.test.ts'),
  consume('lazyfree-lazy-expire', 'test/server/memory-cmd.test.ts', 'test/server/aof-propagation.test.ts'),
  consume('lazyfree-lazy-server-del', 'test/server/memory-cmd.test.ts'),
  consume('lazyfree-lazy-user-del', 'test/server/memory-cmd.test.ts'),
  consume('lazyfree-lazy-user-flush', 'test/server/memory-cmd.test.ts'),
];
/** Pushed to the addon, which reads them where Redis does (encodings, DEBUG OBJECT, DUMP). */
const NATIVE_SETTINGS = [
  consume('hash-max-listpack-entries', 'test/server/hashes.test.ts'),
  consume('hash-max-listpack-value', 'test/server/hashes.test.ts'),
  consume('set-max-intset-entries', 'test/server/sets.test.ts'),
  consume('zset-max-listpack-entries', 'test/server/zsets.test.ts'),
  consume('zset-max-listpack-value', 'test/server/zsets.test.ts'),
  consume('list-max-listpack-size', 'test/server/lists.test.ts'),
  consume('list-compress-depth', 'test/server/list-compress.test.ts'),
  consume('key-load-delay', 'test/server/loading.test.ts'),
  consume('stream-node-max-bytes', 'test/server/streams.test.ts'),
  consume('stream-node-max-entries', 'test/server/streams.test.ts'),
  consume('hll-sparse-max-bytes', 'test/server/hll.test.ts'),
  PROTO_MAX_BULK_LEN,
];

const PROTECTED_MODE_DENIED = Buffer.from(
  '-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. ' +
    'In this mode connections are only accepted from the loopback interface. ' +
    'If you want to connect from external computers to Redis you may adopt one of the following solutions: ' +
    "1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
    "2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. " +
    "3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
    '4) Setup a an authentication password for the default user. ' +
    'NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n',
);

export class Server {
  readonly log: Logger = log;
  readonly commands: CommandTable;
  readonly dispatcher: Dispatcher;
  readonly acl: Acl;
  out = new ReplyWriter();
  readonly clients = new Map<number, Client>();
  readonly stats = new ServerStats();
  readonly blocking: Blocking;
  readonly watches: Watches;
  readonly pubsub: PubSub;
  readonly monitors: Monitors;
  readonly clientPause: ClientPause;
  /** SHUTDOWN and the signals: the one sequence that ends the server (src/shutdown.ts). */
  readonly shutdown: Shutdown;
  /** What the crash handler and the watchdog need (src/crash-report.ts). */
  crash!: CrashReport;
  readonly keyspaceEvents: KeyspaceEvents;
  /** CLIENT TRACKING and its invalidation messages (src/tracking.ts). */
  readonly clientTracking: ClientTracking;
  readonly persistence: Persistence;
  readonly clientLimits: ClientLimits;
  /** maxmemory-clients (src/client-eviction.ts). */
  readonly clientEviction: ClientEviction;
  readonly scripting: Scripting;
  /** The append-only file (src/persistence/aof.ts). */
  readonly aof: Aof;
  /** What executed writes become for the AOF and replicas (seam 3, src/propagate.ts). */
  readonly propagation: Propagation;
  /** Work before replies go out, once per event-loop iteration (src/before-sleep.ts). */
  readonly beforeSleep: BeforeSleep;
  readonly tls: TlsListeners;
  /** The unixsocket listener (src/unix-socket.ts). */
  readonly unix: UnixListener;
  readonly replication: Replication;
  /** Cluster mode's node (src/cluster/), made at start-up; null when cluster mode is off. */
  cluster: Cluster | null = null;
  readonly startTime = Date.now();
  private readonly housekeeping = new MemoryHousekeeping();
  readonly memory: MemoryAccounting;
  readonly maxmemory: Maxmemory;
  readonly slowlog: Slowlog;
  readonly latency: LatencyMonitor;
  /** Buffers that do not count against maxmemory besides replicas' output (the AOF buffer). */
  private readonly notCountedSourceList: Array<() => number> = [];
  /**
   * Where every client socket's reads land: a read is processed before the next one, and the
   * parser copies out only what is left unparsed, so a read allocates nothing.
   */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  /** Cached wall clock in ms, refreshed per event (Redis's server.mstime). */
  clock = Date.now();
  private loadingNow = false;
  /** Loading a dataset (Redis's server.loading); the addon's signal handler words its line by it. */
  get loading(): boolean {
    return this.loadingNow;
  }
  set loading(on: boolean) {
    if (on === this.loadingNow) return;
    native.shutdownSignalLoading(on);
    this.loadingNow = on;
    if (!on) this.asyncLoading = false;
    // A load may start outside any command (a replica's transfer): the addon's clients are
    // sent to TypeScript (LOADING) at once, and back once it ends.
    this.pushSocketGate();
  }
  /**
   * The load is a replica's async load (Redis's server.async_loading: repl-diskless-load swapdb
   * from the master whose history the data already follows): clients keep being served the
   * old data, except the no-async-loading commands. Ends with the load.
   */
  asyncLoading = false;
  /** The end of the last top-level command call (performance.now() ms), see Dispatcher.call. */
  callClock = 0;
  /** Command calls in progress (EXEC nests calls). */
  callDepth = 0;
  /** >0 while EXEC runs queued commands (blocking commands must not block then). */
  execDepth = 0;
  /** True while any client WATCHes or is blocked: the keyspace logs modified keys for us. */
  tracking = false;
  /** The client whose batch is running: replies to it go to `out`, others get direct writes. */
  current: Client | null = null;
  private listeners: Listener[] = [];
  /** The port actually bound (differs from the config when it is 0). */
  private boundPort = 0;
  private cronTimer: NodeJS.Timeout | null = null;
  private cronLoops = 0;
  /** serverCron's frequency now: INFO's hz (configured_hz is the directive). */
  hz = 10;
  /** DEBUG PAUSE-CRON. */
  cronPaused = false;
  /** Configuration read on every request, cached here and refreshed when it changes. */
  readonly limits = { protoMaxBulkLen: 0, queryBufferLimit: 0 };
  /** Accepted TCP clients are adopted by the addon (NativeSocket) rather than node:net. */
  readonly nativeSockets = process.env.KEYFORK_SOCKETS ? process.env.KEYFORK_SOCKETS === 'native' : SOCKETS_NATIVE_DEFAULT;
  /** What the addon was last told of the server's half of the gate (see pushSocketGate). */
  private socketGate = { open: false, writesRefused: false, maxBulk: -1, slowUsec: -1, trackLatency: false, obufLimit: -1, aclRules: -1 };

  constructor(readonly config: Config) {
    native.init(config.int(DATABASES));
    this.propagation = new Propagation();
    this.beforeSleep = new BeforeSleep(
      (client, data) => {
        // A client closed meanwhile gets nothing, unless it is closing after these replies.
        if (!client.socket.destroyed && (!client.closed || client.closeAfterReply)) this.writeNow(client, data, data.length);
      },
      (client) => this.closeNow(client),
    );
    this.beforeSleep.addTask(() => this.cluster?.beforeSleep());
    this.beforeSleep.addTask(() => this.propagation.drain());
    this.commands = new CommandTable(tsHandlers(), native.commandNames(), nativeHandler);
    for (const { from, to } of config.extra.renameCommands) this.commands.rename(from, to);
    this.dispatcher = new Dispatcher(this);
    this.acl = new Acl(this, this.commands);
    this.commands.registerFastPath((name, index, arity, isWrite, denyOom, blockOption, firstKey, lastKey, step) =>
      native.setFastCommand(name, index, arity, isWrite, denyOom, blockOption, firstKey, lastKey, step));
    this.blocking = new Blocking(this);
    this.watches = new Watches(this);
    this.pubsub = new PubSub(this);
    this.monitors = new Monitors(this);
    this.clientPause = new ClientPause(this);
    this.shutdown = new Shutdown(this);
    this.keyspaceEvents = new KeyspaceEvents(this);
    this.clientTracking = new ClientTracking(this);
    this.persistence = new Persistence(this);
    this.clientLimits = new ClientLimits(config);
    this.clientEviction = new ClientEviction(config, {
      clients: () => this.clients.values(),
      evict: (client) => {
        this.log.notice(`Evicting client: ${clientInfoLine(this, client, null)}`);
        this.freeClient(client);
        this.stats.evictedClients++;
      },
      warn: (message) => this.log.warning(message),
    });
    // Redis's moduleInitModulesSystem creates its reused context client (id 1) before the
    // scripting engine's client (2, keyfork's script client).
    skipClientId();
    this.scripting = new Scripting(this);
    this.aof = new Aof(
      {
        config,
        log: this.log,
        propagation: this.propagation,
        beforeSleep: this.beforeSleep,
        loadingProgress: (progress) => this.persistence.setLoadingProgress(progress),
        inExec: () => this.execDepth > 0,
        runForeign: (db, argv) => this.runAofCommand(db, argv),
        replayError: (loggedAs, command, inExec, error) => this.aofReplayError(loggedAs, command, inExec, error),
        // Redis's createAOFClient for each non-empty file it loads (a client id each).
        newReplayClient: () => void (this.aofClientInstance = createAofClient(this.acl.superuser)),
        logRdbReport: (report) => this.persistence.logRdbReport(report),
        // The monitor is made below; samples come later.
        latency: { addSampleIfNeeded: (event: string, ms: number) => this.latency.addSampleIfNeeded(event, ms) },
      },
      this.persistence.children,
      native,
      () => this.persistence.installExitHook(),
    );
    this.persistence.aof = this.aof;
    // Redis's freeMemoryGetNotCountedMemory: the AOF buffer does not count against maxmemory.
    this.addNotCountedMemory(() => this.aof.writer.bufLen);
    this.memory = new MemoryAccounting(() => this.clientBuffersBytes(), () => this.notCountedForEvict());
    this.maxmemory = new Maxmemory(config, this.memory, this.log, () => this.publishServerChanges());
    this.slowlog = new Slowlog(config, (name) => config.row(name)?.sensitive ?? false);
    this.latency = new LatencyMonitor(config);
    this.persistence.children.onFork = (usec) => this.latency.noteFork(usec, this.memory.sample().used);
    this.tls = new TlsListeners(
      config,
      this.log,
      (socket) => this.addTlsClient(socket),
      (socket) => this.logAccepted(socket.remoteAddress, socket.remotePort),
    );
    this.unix = new UnixListener(config, this.log, (socket) => this.accept(socket, this.unix.path ?? undefined));
    this.replication = new Replication(this);
    config.setLog((level, message) => this.log.log(level, message));
    for (const setting of NATIVE_SETTINGS) {
      const push = () => {
        if (!native.setSetting(setting.name, config.int(setting))) throw new Error(`the addon does not read ${setting.name}`);
      };
      push();
      config.onChange(setting, push);
    }
    for (const flag of [RDBCOMPRESSION, RDBCHECKSUM, REPLICA_IGNORE_MAXMEMORY, ...LAZYFREE]) {
      const push = () => native.setSetting(flag.name, config.bool(flag) ? 1 : 0);
      push();
      config.onChange(flag, push);
    }
    this.log.setLevel(config.str(LOGLEVEL));
    this.log.setFile(config.str(LOGFILE));
    config.onChange(LOGLEVEL, () => this.log.setLevel(config.str(LOGLEVEL)));
    config.onChange(LOGFILE, () => this.log.setFile(config.str(LOGFILE)));
    config.onChange(HZ, () => this.startCron());
    config.onApply(PORT, () => this.checkListen('Unable to listen on this port. Check server logs.'));
    config.onApply(BIND, () => this.checkListen('Failed to bind to specified addresses.'));
    config.onChange(PORT, () => void this.rebind());
    config.onChange(BIND, () => void this.rebind());
    config.onApply(TLS_PORT, () => this.tls.prepareForPort());
    config.onChange(TLS_PORT, () => void this.rebind());
    const refreshLimits = () => {
      this.limits.protoMaxBulkLen = config.int(PROTO_MAX_BULK_LEN);
      this.limits.queryBufferLimit = config.int(CLIENT_QUERY_BUFFER_LIMIT);
    };
    refreshLimits();
    config.onChange(PROTO_MAX_BULK_LEN, refreshLimits);
    config.onChange(CLIENT_QUERY_BUFFER_LIMIT, refreshLimits);
    if (this.nativeSockets) {
      native.sockInit((id, n, lastCommand, slow) => this.onSocketEvent(id, n, lastCommand, slow), this.readBuffer, (fd) => this.acceptNative(fd));
    }
    this.crash = new CrashReport(this);
  }

  /**
   * Binds every configured address; resolves to the port actually bound. Port 0 picks a free
   * port (how startServer() and the tests run keyfork), except beside a unixsocket: there it
   * means no TCP listener, as in Redis.
   */
  async listen(): Promise<number> {
    const port = this.config.int(PORT);
    const binds = this.config.bindAddresses(BIND);
    const tcp = port !== 0 || this.unix.path === null;
    let bound = port;
    for (const spec of binds) {
      const optional = spec.startsWith('-');
      const host = optional ? spec.slice(1) : spec;
      const addr = host === '*' ? '0.0.0.0' : host;
      try {
        if (tcp) bound = await this.listenOne(addr, bound);
      } catch (err) {
        if (optional) continue;
        throw this.listenFailure(host, bound, 'TCP', err);
      }
      if (this.tls.port === 0) continue;
      try {
        await this.tls.listen(addr, this.config.int(TCP_BACKLOG));
      } catch (err) {
        if (optional) continue;
        throw this.listenFailure(host, this.tls.port, 'TLS', err);
      }
    }
    this.startCron();
    this.boundPort = bound;
    return bound;
  }

  /** listenToPort's warning for an address that could not be bound, and the error to abort with. */
  private listenFailure(host: string, port: number, kind: 'TCP' | 'TLS', err: unknown): ListenFailure {
    this.log.warning(`Warning: Could not create server TCP listening socket ${host}:${port}: bind: ${strerror(err)}`);
    return new ListenFailure(`Failed listening on port ${port} (${kind}), aborting.`);
  }

  /** The TCP port clients reach us on (REPLCONF listening-port). */
  listeningPort(): number {
    return this.boundPort || this.config.int(PORT);
  }

  /**
   * CONFIG SET port/bind: listen on the new addresses, then close the old listeners. Node binds
   * asynchronously: what checkListen could not foresee fails here, is logged, and the old
   * listeners stay, as Redis keeps them when a change fails. The CONFIG SET that caused it
   * answers once this is done (takeRebinding).
   */
  private rebind(): Promise<void> {
    const done = this.rebindNow();
    this.rebinding = done;
    return done;
  }

  /**
   * The listeners a CONFIG SET of port/bind is moving to, until they listen (taken once by the
   * command, which answers after them: Redis replies with the new listeners bound).
   */
  private rebinding: Promise<void> | null = null;

  takeRebinding(): Promise<void> | null {
    const r = this.rebinding;
    this.rebinding = null;
    return r;
  }

  private async rebindNow(): Promise<void> {
    const old = this.listeners;
    const oldTls = this.tls.takeListeners();
    this.listeners = [];
    try {
      await this.listen();
    } catch (err) {
      for (const l of this.listeners) l.close();
      this.listeners = old;
      this.tls.restoreListeners(oldTls);
      this.log.warning(`Unable to listen on this port: ${(err as Error).message}`);
      return;
    }
    // The old listeners stop listening at once; node:net's close completes only once their
    // connections have ended, which a CONFIG SET waiting for this must not wait for.
    for (const l of old) void l.close();
    for (const l of oldTls) l.close();
  }

  /**
   * CONFIG SET port/bind: Redis binds the new listeners before it replies and refuses the
   * change (keeping the old ones) when it cannot. Node binds later, so each required address is
   * tried now and released; the listeners follow (rebind). An address in use while our own
   * listeners hold that port is left to rebind, as Redis closes its old listeners first.
   */
  private checkListen(reason: string): void {
    const port = this.config.int(PORT);
    if (port === 0) return;
    for (const spec of this.config.bindAddresses(BIND)) {
      if (spec.startsWith('-')) continue;
      const addr = spec === '*' ? '0.0.0.0' : spec;
      const errno = native.sockBindProbe(addr, port);
      if (errno === 0 || (errno === os.constants.errno.EADDRINUSE && port === this.boundPort)) continue;
      const code = Object.entries(os.constants.errno).find(([, n]) => n === errno)?.[0];
      const why = code ? strerror(Object.assign(new Error(code), { code })) : 'Name or service not known';
      this.log.warning(`Warning: Could not create server TCP listening socket ${spec}:${port}: bind: ${why}`);
      throw new Error(reason);
    }
  }

  private listenOne(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
      srv.once('error', reject);
      srv.listen({ host, port, backlog: this.config.int(TCP_BACKLOG), ipv6Only: host.includes(':') }, () => {
        srv.off('error', reject);
        const bound = (srv.address() as net.AddressInfo).port;
        markListener(this.config, srv);
        this.listeners.push(this.takeListener(srv));
        resolve(bound);
      });
    });
  }

  /**
   * A bound server as a Listener. With native sockets the addon accepts on a duplicate of its
   * socket (one JavaScript call per connection, no node:net socket) and Node's server closes
   * (the socket stays bound through the duplicate); otherwise node:net accepts.
   */
  private takeListener(srv: net.Server): Listener {
    const fd = (srv as unknown as AcceptedSocket)._handle?.fd ?? -1;
    if (this.nativeSockets && fd >= 0) {
      try {
        const [id, own] = native.sockListen(fd);
        srv.close();
        return {
          fd: own,
          close: () => {
            native.sockUnlisten(id);
            return Promise.resolve();
          },
        };
      } catch (err) {
        this.log.warning(`Accepting connections natively failed (${(err as Error).message}): node:net accepts them`);
      }
    }
    return { fd, close: () => new Promise<void>((r) => srv.close(() => r())) };
  }

  /**
   * Redis's accept handlers' verbose line, written before the maxclients check (a refused
   * connection was accepted too).
   */
  logAccepted(address: string | undefined, port: number | undefined, unixSocket?: string): void {
    if (!this.log.enabled('verbose')) return;
    this.log.verbose(unixSocket !== undefined ? `Accepted connection to ${unixSocket}` : `Accepted ${address ?? '?'}:${port ?? 0}`);
  }

  /**
   * The peer closed its side (Redis's read of 0 bytes, `failure` undefined) or a read or write
   * failed (`failure`: the errno's name): the verbose line Redis writes before freeing the client.
   */
  logPeerGone(client: Client, failure?: { syscall: 'read' | 'write'; code: string }): void {
    if (client.closed || !this.log.enabled('verbose')) return;
    if (failure === undefined) {
      this.log.verbose(`Client closed connection ${clientInfoLine(this, client, null)}`);
      return;
    }
    const text = strerror(Object.assign(new Error(failure.code), { code: failure.code }));
    this.log.verbose(failure.syscall === 'read' ? `Reading from client: ${text}` : `Error writing to client: ${text}`);
  }

  /**
   * Counts a new connection and refuses it past maxclients (Redis's acceptCommonHandler): true
   * when `refuse` has been given the error to send.
   */
  private refusedAtMaxclients(refuse: (error: string) => void): boolean {
    this.stats.connectionsReceived++;
    if (this.clients.size < this.config.int(MAXCLIENTS)) return false;
    this.stats.rejectedConnections++;
    refuse('-ERR max number of clients reached\r\n');
    return true;
  }

  /**
   * A connection the addon accepted on a listener (native/src/sockets.rs on_listener): counted,
   * refused past maxclients, else adopted. 1 when the descriptor is taken, 0 for the addon to
   * close it.
   */
  private acceptNative(fd: number): number {
    const [remoteAddress, remotePort, localAddress, localPort] = native.sockAddresses(fd);
    this.logAccepted(remoteAddress, remotePort);
    if (this.refusedAtMaxclients((error) => native.sendSocket(fd, Buffer.from(error), error.length))) return 0;
    return this.adoptFd(fd, false, remoteAddress, remotePort, localAddress, localPort) ? 1 : 0;
  }

  /** A connection node:net accepted: on a TCP listener, or on the unixsocket (`unixSocket`, its path). */
  private accept(accepted: net.Socket, unixSocket?: string): void {
    this.logAccepted(accepted.remoteAddress, accepted.remotePort, unixSocket);
    if (this.refusedAtMaxclients((error) => accepted.end(error))) return;
    // The addon adopts TCP connections only; a unix one stays with node:net (issue 14).
    if (this.nativeSockets && unixSocket === undefined && this.adopt(accepted)) return;
    // Node 20's net.Server does not pass `onread` (read into a caller's Buffer) to the sockets
    // it accepts, so they are accepted paused and their handle moves to a socket that has it.
    // The accepted socket is detached first: destroying it closes nothing and takes it off the
    // listener's connection count, as its close would have.
    const handle = (accepted as unknown as AcceptedSocket)._handle;
    (accepted as unknown as AcceptedSocket)._handle = null;
    accepted.destroy();
    this.addClient({ handle, unixSocket });
  }

  /**
   * Hands an accepted TCP connection to the addon (a NativeSocket client): it keeps a duplicate
   * descriptor and the node:net socket is closed. False when the addon could not take it.
   */
  private adopt(accepted: net.Socket): boolean {
    const fd = (accepted as unknown as AcceptedSocket)._handle?.fd ?? -1;
    if (fd < 0 || accepted.remoteAddress === undefined) return false;
    if (!this.adoptFd(fd, true, accepted.remoteAddress, accepted.remotePort, accepted.localAddress, accepted.localPort)) return false;
    accepted.destroy();
    return true;
  }

  /**
   * Makes the connection on `fd` a client whose socket the addon owns (on a duplicate when
   * `duplicate`: node:net keeps `fd`). False when the addon could not take it.
   */
  /** Redis's authRequired() less the client's own state: the default user needs a password. */
  private readonly authRequired = (): boolean => this.acl.authRequired;

  private adoptFd(fd: number, duplicate: boolean, remoteAddress?: string, remotePort?: number, localAddress?: string, localPort?: number): boolean {
    const socket = new NativeSocket(remoteAddress, remotePort, localAddress, localPort);
    const client = new Client(socket, () => this.limits.protoMaxBulkLen, undefined, undefined, this.authRequired);
    try {
      client.fd = native.sockAdopt(fd, client.id, duplicate);
    } catch (err) {
      this.log.warning(`Accepting a client natively failed (${(err as Error).message})${duplicate ? ': it is served through node:net' : ''}`);
      return false;
    }
    socket.id = client.id;
    this.register(client);
    // Its first chunk may be served natively too: the gate as it stands, the client's half now.
    this.pushSocketGate();
    native.sockMode(client.id, this.socketMode(client));
    return true;
  }

  /**
   * An adopted client's socket event (native/src/sockets.rs): `n` unconsumed bytes at the
   * start of the read buffer to run (0: only its queued output to check), -1 when the
   * connection is gone. `lastCommand` is the native index of the last command the addon ran
   * for it since it last told us; `slow` says runs slow enough for the slow log wait. Returns
   * the client's mode for the addon (see socketMode).
   */
  private onSocketEvent(id: number, n: number, lastCommand: number, slow: number): number {
    const client = this.clients.get(id);
    if (!client) {
      native.sockClose(id, false);
      return -1;
    }
    if (lastCommand >= 0) this.noteNativeCommand(client, lastCommand);
    if (slow) {
      const runs = native.sockTakeSlow(id);
      for (let i = 0; i < runs.length; i += 2) this.noteSlowBatch(client, runs[i] as Buffer, runs[i + 1] as number);
    }
    if (n < 0) {
      this.logPeerGone(client, socketFailure(n));
      this.freeClient(client);
    } else if (!client.closed) {
      // Replies the addon queued up to the normal class's limit are judged before anything
      // more of the client runs (the addon stopped there) and before its memory counts for
      // client eviction: the output limit goes first, as in Redis.
      if (this.clientLimits.normalLimit !== 0 && this.enforceOutputLimit(client)) {
        // Nothing loops over the clients here: it is freed now, before the loop's next turn
        // can read another client's CLIENT LIST (Redis frees it before it sleeps).
        this.freeClient(client);
        this.pushSocketGate();
        return -1;
      }
      if (n > 0) client.parser.feed(this.readBuffer, n);
      this.resumeClient(client);
      this.enforceOutputLimit(client);
      if (n === 0 && this.clientEviction.limit !== 0) this.clientMemoryChanged(client);
    }
    this.pushSocketGate();
    return this.socketMode(client);
  }

  /**
   * The client's half of the fast-path gate for the addon: `db << 1 | resp3` while the addon
   * may run its next chunk's data commands itself (the same gate as processInput's, with
   * nothing of the client's left to run), else -1 (every read comes to TypeScript).
   */
  private socketMode(client: Client): number {
    if (client.closed || client.closeAfterReply || client.blocked || client.postponed || client.parser.pending() > 0 || !this.clientFastPathOpen(client)) return -1;
    return (client.db << 1) | (client.resp === 3 ? 1 : 0);
  }

  /**
   * The server's half of the gate for the addon, told when it changes: the batch gate, and
   * nothing that must see each command's effects from TypeScript (keyspace events, blocked
   * clients' keys, propagation, client-side caching's invalidations while a client tracks). Called after every command-running entry and by the cron;
   * an ACL change sends every adopted client back to TypeScript until its next entry.
   */
  pushSocketGate(): void {
    if (!this.nativeSockets) return;
    const gate = this.socketGate;
    if (gate.aclRules !== aclRulesVersion.value) {
      gate.aclRules = aclRulesVersion.value;
      native.sockMode(-1, -1);
    }
    const open = this.serverFastPathOpen() && !this.keyspaceEvents.on && !this.tracking && !this.propagation.active && !this.clientTracking.active;
    const writesRefused = open && (this.persistence.writesRefused() || this.replication.writesMayBeRefused(null));
    const maxBulk = this.limits.protoMaxBulkLen;
    const slowest = Math.min(this.slowlog.minLoggedUsec, this.latency.minSampledUsec);
    const slowUsec = slowest === Infinity ? -1 : slowest;
    const trackLatency = this.latency.tracking;
    const obufLimit = this.clientLimits.normalLimit;
    if (open === gate.open && writesRefused === gate.writesRefused && maxBulk === gate.maxBulk && slowUsec === gate.slowUsec && trackLatency === gate.trackLatency && obufLimit === gate.obufLimit) return;
    Object.assign(gate, { open, writesRefused, maxBulk, slowUsec, trackLatency, obufLimit });
    native.sockGate(open, writesRefused, maxBulk, slowUsec, trackLatency, obufLimit);
  }

  /** Writes the lines a native command logged (native/src/log_queue.rs). */
  logNativeLines(): void {
    const lines = native.takeLogLines();
    for (let i = 0; i + 1 < lines.length; i += 2) this.log.log(levelAt(lines[i] as number), lines[i + 1] as string);
  }

  /** A command the addon ran for `client` is its last command (CLIENT LIST cmd). */
  private noteNativeCommand(client: Client, index: number): void {
    const cmd = this.commands.byNativeIndex(index);
    if (cmd) client.lastCommand = cmd.name;
  }

  /** Brings an adopted client's last command and activity time up to date (CLIENT LIST, timeouts). */
  syncSocketActivity(client: Client): void {
    const socket = client.socket;
    if (!(socket instanceof NativeSocket) || socket.destroyed) return;
    const [at, last] = native.sockActivity(client.id);
    if (at > client.lastInteraction) client.lastInteraction = at;
    if (last >= 0) this.noteNativeCommand(client, last);
  }

  /** Adds what the addon ran on adopted clients to the statistics (INFO, the cron's samples). */
  absorbSocketStats(): void {
    if (!this.nativeSockets) return;
    const [reads, netIn, netOut, writes, commands, byCommand, errors, latencies] = native.sockStats();
    const stats = this.stats;
    stats.readsProcessed += reads;
    stats.netInputBytes += netIn;
    stats.netOutputBytes += netOut;
    stats.writesProcessed += writes;
    stats.commandsProcessed += commands;
    for (let i = 0; i < byCommand.length; i += 4) {
      const cmd = this.commands.byNativeIndex(byCommand[i]);
      if (!cmd) continue;
      cmd.stats.calls += byCommand[i + 1];
      cmd.stats.failed += byCommand[i + 2];
      cmd.stats.usec += byCommand[i + 3];
    }
    for (let i = 0; i < errors.length; i += 2) stats.countError(errors[i] as string, errors[i + 1] as number);
    for (let i = 0; i < latencies.length; i += 3) {
      const cmd = this.commands.byNativeIndex(latencies[i]);
      if (cmd) this.latency.recordCall(cmd, latencies[i + 1], latencies[i + 2]);
    }
  }

  /**
   * A connection accepted by a busy script's event pump (scripting.ts), which reads the
   * listeners itself while Node's loop cannot run: it becomes a client like any other.
   */
  acceptFd(fd: number): void {
    if (this.log.enabled('verbose')) {
      // A descriptor of the unixsocket has no TCP addresses.
      const [address, port] = native.sockAddresses(fd);
      if (address === undefined) this.logAccepted(undefined, undefined, this.unix.path ?? '');
      else this.logAccepted(address, port);
    }
    if (this.refusedAtMaxclients((error) => new net.Socket({ fd, readable: true, writable: true }).end(error))) return;
    this.addClient({ fd });
  }

  /** The listening sockets' descriptors (the unixsocket's included). */
  listenerFds(): number[] {
    return [...this.listeners.map((l) => l.fd), this.unix.fd].filter((fd) => fd >= 0);
  }

  /**
   * Wraps an accepted connection (a libuv handle or a descriptor) as a client reading into the
   * shared Buffer. `unixSocket`: accepted on the unixsocket; a bare descriptor (the busy pump's)
   * is known to be one by the pipe handle node:net makes for it.
   */
  private addClient(from: { handle?: unknown; fd?: number; unixSocket?: string }): void {
    let client: Client | null = null;
    const { unixSocket, ...source } = from;
    const socket = new net.Socket({
      ...source,
      readable: true,
      writable: true,
      noDelay: true,
      onread: { buffer: this.readBuffer, callback: (n: number) => void (client && this.onRead(client, n)) },
    } as net.SocketConstructorOpts);
    let unix = unixSocket;
    if (from.fd !== undefined) {
      const handle = (socket as unknown as { _handle: object | null })._handle;
      if (handle?.constructor.name === 'Pipe' && this.unix.path !== null) unix = this.unix.path;
      else socket.setNoDelay(true);
    }
    client = new Client(socket, () => this.limits.protoMaxBulkLen, undefined, unix, this.authRequired);
    client.writeFd = client.fd;
    this.register(client);
  }

  /**
   * A connection on tls-port, once its handshake is done: a client whose bytes arrive
   * decrypted as 'data' events and whose replies go through the TLS layer (writeFd -1).
   */
  private addTlsClient(socket: tls.TLSSocket): void {
    if (this.refusedAtMaxclients((error) => socket.end(error))) return;
    socket.setNoDelay(true);
    const client = new Client(socket, () => this.limits.protoMaxBulkLen, undefined, undefined, this.authRequired);
    socket.on('data', (chunk: Buffer) => this.onData(client, chunk));
    this.register(client);
  }

  /** What every accepted client gets: the default user, keepalive, close handling, protected mode. */
  private register(client: Client): void {
    this.acl.setDefaultAuth(client);
    this.track(client);
    this.denyIfProtected(client);
  }

  /** Registers a connection (accepted, or the one to our master) for its lifetime: keepalive, close handling. */
  track(client: Client): void {
    const socket = client.socket;
    this.clients.set(client.id, client);
    const keepalive = this.config.int(TCP_KEEPALIVE);
    // Node's setKeepAlive probes every second, ten times; Redis every interval/3, three times.
    // Not for a unix socket (Redis's setsockopt fails there and is ignored).
    if (keepalive > 0 && client.unixSocket === null) native.setTcpKeepalive(client.fd, keepalive);
    const owner = client;
    // An adopted socket reports its end through onSocketEvent.
    if (!(socket instanceof NativeSocket)) {
      (socket as net.Socket).on('end', () => this.logPeerGone(owner));
      (socket as net.Socket).on('error', (err: NodeJS.ErrnoException) => {
        const syscall = err.syscall === 'read' ? 'read' : err.syscall?.startsWith('write') ? 'write' : null;
        if (syscall && err.code) this.logPeerGone(owner, { syscall, code: err.code });
        this.freeClient(owner);
      });
      (socket as net.Socket).on('close', () => this.freeClient(owner));
    }
  }

  /**
   * Protected mode (Redis 7.0's clientAcceptHandler): while protected-mode is on and the default
   * user needs no password, a connection whose peer is not 127.0.0.1 or ::1 gets the DENIED
   * message and is closed. Other loopback addresses (127.0.0.2) count as remote, as in Redis.
   */
  private denyIfProtected(client: Client): void {
    if (!this.config.bool(PROTECTED_MODE) || !this.acl.defaultUser.noPass || isLocalClient(client)) return;
    this.send(client, PROTECTED_MODE_DENIED);
    this.stats.rejectedConnections++;
    this.freeClientAsync(client);
  }

  private onRead(client: Client, n: number): void {
    if (client.closed) return;
    this.stats.netInputBytes += n;
    this.stats.readsProcessed++;
    client.parser.feed(this.readBuffer, n);
    this.resumeClient(client);
  }

  /** Bytes of a client read through a stream (TLS) rather than into the shared read buffer. */
  private onData(client: Client, chunk: Buffer): void {
    if (client.closed) return;
    this.stats.netInputBytes += chunk.length;
    this.stats.readsProcessed++;
    client.parser.feed(chunk, chunk.length);
    this.resumeClient(client);
  }

  /**
   * Bytes a client sent while a script is past busy-reply-threshold (read by the script's event
   * pump, see scripting.ts): dispatched as usual, replies through their own writer, the
   * running script's client and writer untouched.
   */
  serveWhileBusy(client: Client, chunk: Buffer): void {
    const savedOut = this.out;
    const savedCurrent = this.current;
    this.out = new ReplyWriter(4096);
    try {
      this.stats.netInputBytes += chunk.length;
      this.stats.readsProcessed++;
      if (client.socket instanceof NativeSocket) {
        // The pump read the socket itself: an unfinished request the addon kept comes first.
        this.syncSocketActivity(client);
        const kept = native.sockTakeInput(client.id);
        if (kept > 0) client.parser.feed(this.readBuffer, kept);
      }
      client.parser.feed(chunk, chunk.length);
      this.resumeClient(client);
    } finally {
      this.out = savedOut;
      this.current = savedCurrent;
    }
  }

  /** Runs what `client` has buffered and flushes its replies (new data, or after unblocking). */
  resumeClient(client: Client): void {
    if (client.closed) return;
    this.clock = Date.now();
    this.callClock = performance.now();
    this.current = client;
    this.out.resp3 = client.resp === 3;
    try {
      // A command CLIENT PAUSE held back runs first, judged again from the start.
      const postponed = client.postponed;
      if (postponed) {
        client.postponed = null;
        this.dispatcher.run(client, postponed);
        this.out.resp3 = client.resp === 3;
        if (client.isMaster) this.replication.replica.commandsApplied(client);
      }
      this.processInput(client);
    } finally {
      this.current = null;
      client.parser.release();
      this.flush(client);
      if (this.clientEviction.limit !== 0) this.clientMemoryChanged(client);
      this.pushSocketGate();
    }
  }

  /**
   * After a client's input or output changed (a read processed, a socket event): its memory is
   * taken again and the clients over maxmemory-clients are evicted (Redis's beforeSleep). Not
   * while a command runs (a busy script's event pump serves clients from inside one).
   */
  private clientMemoryChanged(client: Client): void {
    this.clientEviction.update(client);
    if (this.callDepth === 0) this.clientEviction.evictIfOver();
  }

  /** Runs every complete command buffered for `client` (stops while it is blocked). */
  processInput(client: Client): void {
    const parser = client.parser;
    while (!client.closeAfterReply && !client.blocked && !client.postponed && !client.closed) {
      if (this.fastPathOpen(client)) this.runBatch(client);
      const r = parser.next();
      if (r === Parse.Command) {
        // processCommand evicts clients before each command, possibly this one.
        if (this.clientEviction.limit !== 0 && this.callDepth === 0) {
          this.clientEviction.evictIfOver();
          if (client.closed) break;
        }
        this.dispatcher.run(client, parser);
        this.out.resp3 = client.resp === 3; // HELLO may have switched it
        if (client.isMaster) this.replication.replica.commandsApplied(client);
      } else if (r === Parse.Empty) {
        continue;
      } else if (r === Parse.Error) {
        this.out.error(parser.error);
        this.stats.countError(parser.error);
        this.log.verbose(`Protocol error (${parser.error.slice(20)}) from client: id=${client.id} addr=${client.addr}`);
        client.closeAfterReply = true;
      } else {
        if (parser.pending() > this.limits.queryBufferLimit) {
          const { buf, pos } = parser.contiguous();
          const head = quoteRepr(buf.latin1Slice(pos, pos + Math.min(64, parser.pending())));
          this.log.warning(`Closing client that reached max query buffer length: ${clientInfoLine(this, client, null)} (qbuf initial bytes: ${head})`);
          this.freeClient(client);
        }
        break;
      }
    }
  }

  /**
   * The native batch fast path serves a plain client: authenticated, not in MULTI, without
   * subscriptions (a RESP2 pub/sub context refuses data commands; a RESP3 subscriber may get
   * the keyspace events of its own commands, which go before each reply), nothing loading,
   * and no client blocked (a blocked client must be served right after the command that
   * feeds it, before the next one runs), nobody in MONITOR mode (every command is shown to
   * them from Dispatcher.call), and the client does not track keys (its reads are remembered
   * and its invalidations follow each reply, from Dispatcher.call).
   */
  private fastPathOpen(client: Client): boolean {
    return this.clientFastPathOpen(client) && this.serverFastPathOpen();
  }

  /** The client's half of fastPathOpen. */
  private clientFastPathOpen(client: Client): boolean {
    // ASKING covers one command, which TypeScript must see to drop it (cluster mode).
    // A replica's link must not be answered (Dispatcher.run drops a replica that is).
    return client.authenticated && client.user.unrestricted && !client.inMulti && client.totalSubscriptions === 0 && !client.repliesMuted && !client.replySkipNext &&
      client.tracking === null && !client.asking && !client.isReplica;
  }

  /** The server's half of fastPathOpen (a replica refusing stale reads sends everything to TypeScript). */
  private serverFastPathOpen(): boolean {
    return !this.loading && this.blocking.count === 0 && !this.scripting.busy && !this.monitors.active && this.clientPause.kind === null &&
      !this.replication.servingStaleRefused();
  }

  /** The batch must stop at a write: TypeScript words its refusal (MISCONF, NOREPLICAS, READONLY). */
  private writesRefusedTo(client: Client): boolean {
    return this.persistence.writesRefused() || this.replication.writesMayBeRefused(client);
  }

  /** Runs the plain data commands at the head of `client`'s input in one native call. */
  private runBatch(client: Client): void {
    const { buf, pos, end } = client.parser.contiguous();
    if (pos >= end) return;
    // trackingLimitUsedSlots runs before each command in Redis; the batch's client does not
    // track, so the table cannot grow during the batch: once before it is the same.
    if (this.clientTracking.active) this.clientTracking.limitTable(client);
    const out = this.out;
    out.ensure(64 * 1024);
    const flags = (out.resp3 ? EXEC_RESP3 : 0) | outputClassFlag(client);
    const result = execBatchNative(client.db, buf, pos, end, out.buf, out.len, flags, client.id, this.limits.protoMaxBulkLen, this.writesRefusedTo(client));
    if (result.executed === 0) return;
    client.lastInteraction = this.clock;
    client.parser.advance(result.consumed);
    out.len = result.outPos;
    if (result.pending) out.raw(native.takeReply());
    // Command statistics for the whole batch: calls and failures exactly, time shared evenly.
    const t1 = performance.now();
    const usecEach = Math.max(0, (t1 - this.callClock) * 1000 - result.evictUsec) / result.executed;
    this.callClock = t1;
    if (this.slowlog.wouldLog(usecEach) || this.latency.wouldSample(usecEach / 1000)) this.noteSlowBatch(client, buf.subarray(pos, pos + result.consumed), usecEach);
    let cmd: Command | undefined;
    // The latency histograms get each run of one command at once (pipelines repeat a command).
    let run: Command | undefined;
    let runLength = 0;
    for (let i = 0; i < result.executed; i++) {
      cmd = this.commands.byNativeIndex(batchLog[2 * i]);
      if (!cmd) continue;
      cmd.stats.calls++;
      cmd.stats.usec += usecEach;
      if (cmd !== run) {
        if (run) this.latency.recordCall(run, usecEach, runLength);
        run = cmd;
        runLength = 0;
      }
      runLength++;
      const at = batchLog[2 * i + 1];
      if (at >= 0 && out.buf[at] === 0x2d /* '-' */) {
        cmd.stats.failed++;
        this.stats.countError(out.buf.latin1Slice(at + 1, Math.min(out.len, at + 64)));
        if (client.isMaster) {
          const cr = out.buf.indexOf(13, at);
          this.replication.errors.afterErrorReply(client, out.buf.latin1Slice(at + 1, cr < 0 ? out.len : cr), cmd.name);
        }
      }
    }
    if (run) this.latency.recordCall(run, usecEach, runLength);
    this.stats.commandsProcessed += result.executed;
    if (cmd) client.lastCommand = cmd.name;
    this.deliverKeyspaceChanges(client, false);
    if (this.tracking) this.afterWrite();
    if (client.isMaster) this.replication.replica.commandsApplied(client);
  }

  /**
   * Our master's stream: its commands run like a client's, but nothing is answered (Redis
   * never replies to its master, except REPLCONF ACK, which is sent directly), and keys are
   * as the master sees them (none expires on its own).
   */
  runMasterInput(client: Client, chunk: Buffer): void {
    if (client.closed) return;
    client.lastInteraction = Date.now();
    client.parser.feed(chunk);
    native.setExpiry(EXPIRY_IGNORE);
    try {
      this.resumeClient(client);
    } finally {
      native.setExpiry(this.replication.isReplica() ? EXPIRY_LOGICAL : EXPIRY_DELETE);
    }
  }

  /**
   * A batch whose commands took long enough, each, for the slow log or the latency monitor:
   * its requests are framed again to log them (the fast path keeps no arguments).
   */
  private noteSlowBatch(client: Client, requests: Buffer, usecEach: number): void {
    const parser = new RequestParser(() => this.limits.protoMaxBulkLen);
    parser.feed(Buffer.from(requests));
    while (parser.next() === Parse.Command) {
      const found = this.dispatcher.lookup(client, parser);
      if (typeof found === 'string') continue;
      this.noteCallLatency(client, found, parser, usecEach);
    }
  }

  /** The slow log and the latency monitor's command events, after a call that did not block. */
  noteCallLatency(client: Client, cmd: Command, req: Request, usec: number): void {
    this.latency.addSampleIfNeeded(cmd.flags.has('fast') ? 'fast-command' : 'command', usec / 1000);
    this.slowlog.record(client, cmd, req, Math.round(usec));
  }

  /** Writes what the shared writer holds for `client`, once per read batch. */
  flush(client: Client): void {
    if (this.out.len > 0) {
      // Replies never go to our master, nor to a replica (its link carries the stream only).
      if (!client.isMaster && !client.isReplica) this.send(client, this.out.buf, this.out.len);
      this.out.len = 0;
    }
    if (this.propagation.waiting) {
      this.replication.noteWrites(client);
      this.beforeSleep.schedule();
    }
    if (client.closeAfterReply && !client.closed) {
      client.closed = true;
      if (!this.beforeSleep.holdClose(client)) this.closeNow(client);
    }
  }

  private closeNow(client: Client): void {
    client.socket.end();
    this.freeClient(client);
  }

  /**
   * Start and end offsets in the shared writer of push messages written for the running client
   * while its replies are muted (CLIENT REPLY OFF/SKIP): Redis's CLIENT_PUSHING, they reach it.
   */
  readonly pushSpans: number[] = [];

  /** Appends a push message for the running client (pub/sub notices and messages). */
  writePush(write: (out: ReplyWriter) => void): void {
    const start = this.out.len;
    write(this.out);
    if (this.current?.repliesMuted) this.pushSpans.push(start, this.out.len);
  }

  /** Drops what a muted client's command wrote from `start` on, keeping the pushes recorded after `spansFrom`. */
  dropReplies(start: number, spansFrom: number): void {
    const spans = this.pushSpans.splice(spansFrom);
    const kept = spans.length === 0 ? null : Buffer.concat(spans.flatMap((v, i) => (i % 2 === 0 ? [Buffer.from(this.out.buf.subarray(v, spans[i + 1]))] : [])));
    this.out.len = start;
    if (kept) this.out.raw(kept);
  }

  /**
   * Sends a reply to a client that is not the one running (pub/sub messages, unblocked
   * clients). For the running client it goes into the shared writer, keeping reply order.
   */
  sendTo(client: Client, write: (out: ReplyWriter) => void): void {
    if (client.closed) return;
    if (client === this.current) {
      this.writePush(write);
      return;
    }
    const w = new ReplyWriter(256);
    w.resp3 = client.resp === 3;
    write(w);
    this.send(client, w.buf, w.len);
  }

  /**
   * The one way bytes reach a client's socket. Every reply path (a batch's flush, pub/sub
   * messages, unblocked clients, and MONITOR, tracking, replica links as they come) writes
   * through here, so that reply order, output accounting and output-buffer limits live in
   * one place, and the socket layer can change under it.
   *
   * Writes `data[0, length)`; the caller may reuse `data` as soon as this returns (what the
   * socket cannot take now is copied). When nothing is queued before it, the bytes go to the
   * socket in one non-blocking send(2) from the addon: no Buffer and no stream request per
   * reply. The rest, and every write while something is queued, goes through node:net, which
   * keeps the order and reports errors ('error' -> freeClient).
   */
  send(client: Client, data: Buffer, length = data.length): void {
    if (client.closed || length === 0) return;
    // Redis adds a command's replies to the client's buffer before writing any and checks the
    // limit as they grow: a reply past the hard limit is never sent (only a write this large can be).
    if (length >= this.clientLimits.minHard && this.clientLimits.replyBreaksHard(client, length)) {
      this.closeForOutput(client);
      return;
    }
    if (client.isReplica) this.stats.netReplOutputBytes += length;
    else this.stats.netOutputBytes += length;
    this.stats.writesProcessed++;
    // A reply may not overtake the AOF write of what it acknowledges (see before-sleep.ts).
    if (this.beforeSleep.hold(client, data, length)) return;
    this.writeNow(client, data, length);
  }

  /** The socket write under send(), also for replies released by beforeSleep. */
  private writeNow(client: Client, data: Buffer, length: number): void {
    const socket = client.socket;
    if (socket instanceof NativeSocket) {
      const queued = socket.send(data, length);
      if (queued < 0) this.freeClientAsync(client);
      else if (queued > 0) this.outputQueued(client);
      return;
    }
    let sent = 0;
    if (client.writeFd >= 0 && socket.writable && socket.writableLength === 0) {
      sent = native.sendSocket(client.writeFd, data, length);
      if (sent === length) return;
      if (sent < 0) sent = 0;
    }
    socket.write(Buffer.from(data.subarray(sent, length)));
    this.outputQueued(client);
  }

  /** Output waits for `client`: its output-buffer limit, and its memory for maxmemory-clients. */
  private outputQueued(client: Client): void {
    if (this.enforceOutputLimit(client)) return;
    if (this.clientEviction.limit !== 0) this.clientEviction.update(client);
  }

  /**
   * client-output-buffer-limit: closes `client` (on the next turn) when its pending output
   * breaks its class's limit. Also for output queued outside the socket (a replica's stream
   * waiting for its RDB to be sent). True when it is being closed.
   */
  enforceOutputLimit(client: Client, fromCron = false): boolean {
    if (client.closed || !this.clientLimits.outputExceeded(client)) return false;
    this.closeForOutput(client, fromCron);
    return true;
  }

  /**
   * Closes `client` for its output buffer limit: freed on the next turn, and none of its
   * pending output is written any more (Redis writes nothing to a CLIENT_CLOSE_ASAP client).
   */
  private closeForOutput(client: Client, fromCron = false): void {
    // The clients cron frees such a client at once, and says so.
    const how = fromCron ? 'closed' : 'scheduled to be closed ASAP';
    this.log.warning(`Client ${clientInfoLine(this, client, null)} ${how} for overcoming of output buffer limits.`);
    this.freeClientAsync(client);
    this.clientLimits.underSoft(client);
    if (!client.socket.destroyed) client.socket.destroy();
  }

  /**
   * Closes `client` on the next turn of the event loop, dropping its pending output (Redis's
   * freeClientAsync): safe from inside loops over clients, such as PUBLISH's.
   */
  freeClientAsync(client: Client): void {
    if (client.closed) return;
    client.closed = true;
    setImmediate(() => this.freeClient(client));
  }

  freeClient(client: Client): void {
    this.clientEviction.forget(client);
    this.clientLimits.underSoft(client);
    if (!this.clients.has(client.id)) return;
    this.clients.delete(client.id);
    client.closed = true;
    this.replication.clientFreed(client);
    this.blocking.remove(client);
    this.watches.unwatchAll(client);
    this.pubsub.unsubscribeAll(client, false);
    this.monitors.remove(client);
    this.clientPause.remove(client);
    this.clientTracking.disable(client);
    if (!client.socket.destroyed) client.socket.destroy();
  }

  /** MEMORY PURGE. */
  purgeMemory(): void {
    this.housekeeping.purge();
  }

  /** What every client's buffers hold (their share of used_memory). */
  clientBuffersBytes(): number {
    let n = 0;
    for (const c of this.clients.values()) n += clientMemory(c);
    return n;
  }

  /**
   * mem_not_counted_for_evict: replicas' pending output and the sources registered with
   * addNotCountedMemory (Redis: the AOF buffer and the replication buffer beyond the backlog),
   * which maxmemory ignores so that propagating evictions cannot feed more evictions.
   */
  notCountedForEvict(): number {
    let n = 0;
    for (const c of this.clients.values()) if (c.type === 'replica') n += c.outputBytes();
    return n + this.notCountedSources();
  }

  /** What the sources registered with addNotCountedMemory hold (INFO mem_aof_buffer). */
  notCountedSources(): number {
    let n = 0;
    for (const source of this.notCountedSourceList) n += source();
    return n;
  }

  addNotCountedMemory(source: () => number): void {
    this.notCountedSourceList.push(source);
  }

  /** Re-evaluates whether the keyspace must log modified keys for blocked clients. */
  updateTracking(): void {
    const want = this.blocking.count > 0;
    if (want !== this.tracking) {
      this.tracking = want;
      native.setTrackModified(want);
    }
  }

  /**
   * What the keyspace recorded reaches the clients in the order it happened: keyspace events
   * and client-side caching's invalidations merged, as Redis writes each (signalModifiedKey,
   * notifyKeyspaceEvent) to the clients while the command runs, key after key. `running`,
   * `executing`: see ClientTracking.drain; `replyOf`, `replyStart`: the client whose reply
   * starts there in the shared writer (its own events go before it, KeyspaceEvents.take).
   */
  deliverKeyspaceChanges(running: Client | null, executing: boolean, replyOf: Client | null = null, replyStart = 0): void {
    const events = this.keyspaceEvents.on ? this.keyspaceEvents.take(replyOf, replyStart) : null;
    if (this.clientTracking.active) this.clientTracking.drain(running, executing, events);
    events?.finish();
  }

  /**
   * After changes the server made on its own (the expire cycle, a background eviction step):
   * clients hear of them now (keyspace events, invalidations, blocked clients' keys), replicas
   * and the AOF before sleeping.
   */
  private publishServerChanges(): void {
    this.deliverKeyspaceChanges(null, false);
    if (this.tracking) this.afterWrite();
    if (this.propagation.waiting) this.beforeSleep.schedule();
  }

  /** After a command while tracking: hand the modified keys to blocked clients. */
  afterWrite(): void {
    const mods = native.takeModified();
    if (mods.length === 0) return;
    this.blocking.keysModified(mods);
  }

  private startCron(firstInMs?: number): void {
    if (this.cronTimer) clearTimeout(this.cronTimer);
    this.hz = Math.min(MAX_HZ, Math.max(1, this.config.int(HZ)));
    this.scheduleCron(firstInMs);
  }

  /**
   * Once the server is up (loaded, listening): Redis's serverCron timer is created 1 ms ahead
   * and its event loop starts after the load, so its first run comes right after the ready
   * line, with cronloops 0 (every run_with_period task is due: the verbose DB lines, the
   * replica's first connection to its master...).
   */
  cronFromStart(): void {
    this.startCron(1);
  }

  /** As Redis's event loop: the next run is 1000/hz ms after this one returns, at this run's hz. */
  private scheduleCron(inMs = Math.floor(1000 / this.hz)): void {
    const timer = setTimeout(() => {
      this.hz = this.adaptHz();
      try {
        this.cron(this.hz);
      } finally {
        // close() (or a restart from CONFIG SET hz) replaced or dropped this timer meanwhile.
        if (this.cronTimer === timer) this.scheduleCron();
      }
    }, inMs);
    timer.unref?.();
    this.cronTimer = timer;
  }

  /**
   * serverCron's hz for this run: the configured one, doubled while dynamic-hz finds more than
   * 200 clients per tick (integer division, as C), at most 500.
   */
  private adaptHz(): number {
    let hz = Math.min(MAX_HZ, Math.max(1, this.config.int(HZ)));
    if (!this.config.bool(DYNAMIC_HZ)) return hz;
    while (Math.floor(this.clients.size / hz) > MAX_CLIENTS_PER_CLOCK_TICK) {
      hz *= 2;
      if (hz > MAX_HZ) return MAX_HZ;
    }
    return hz;
  }

  private cron(hz: number): void {
    // The watchdog is re-armed first, as serverCron does, even while the cron is paused.
    this.crash.cron(Date.now());
    // DEBUG PAUSE-CRON 1: serverCron does nothing (blocked clients' timeouts still fire).
    if (this.cronPaused) return;
    this.clock = Date.now();
    this.shutdown.cron();
    // While the start-up load runs in slices, Redis runs no serverCron work (expiry, saves,
    // client timeouts) on the half-loaded dataset. A replica's disk-less transfer counts as
    // loading (Redis loads it as it arrives) but waits on the network: its timeout still runs.
    if (this.loading) {
      this.replication.transferCron();
      return;
    }
    this.logCronSummary(hz);
    this.clientPause.endIfDue(this.clock);
    // active-expire-effort 1..10 as expire.c rescales it to 0..9.
    const effort = this.config.int(ACTIVE_EXPIRE_EFFORT) - 1;
    const budgetUs = Math.max(1, Math.floor((EXPIRE_TIME_PERCENT + 2 * effort) * 1_000_000 / hz / 100));
    const expireStart = performance.now();
    native.activeExpireCycle(budgetUs, effort);
    this.latency.addSampleIfNeeded('expire-cycle', performance.now() - expireStart);
    // databasesCron: a keyspace table left rehashing moves on without commands (never while
    // a forked child exists, which the addon knows).
    if (this.config.bool(ACTIVEREHASHING)) native.rehashKeyspace(ACTIVE_REHASH_BUDGET_US);
    this.publishServerChanges();
    this.absorbSocketStats();
    this.pushSocketGate();
    this.stats.sample(this.clock);
    this.clientLimits.trackPeaks(this.clients.values(), this.clock);
    // As clientsCron: a soft limit's time runs out without any traffic from the client.
    for (const c of this.clientLimits.overSoft) this.enforceOutputLimit(c, true);
    if (this.callDepth === 0) this.clientEviction.cron(this.clients.size, hz);
    this.closeIdleClients();
    this.persistence.cron();
    this.aof.cron(this.cronLoops, hz);
    this.maxmemory.cron();
    if (this.clientTracking.active) this.clientTracking.limitTable(null);
    // What the addon measured since the last tick (the samples carry this tick's second).
    const [evictionCycle, evictionDel, evictionLazyfree, expireDel] = native.takeLatency();
    this.latency.addSampleIfNeeded('eviction-cycle', evictionCycle);
    this.latency.addSampleIfNeeded('eviction-del', evictionDel);
    this.latency.addSampleIfNeeded('eviction-lazyfree', evictionLazyfree);
    this.latency.addSampleIfNeeded('expire-del', expireDel);
    // replicationCron: every second, every 100 ms while a failover runs (Redis hurries the
    // handshake with the target, reconnecting to one that dropped the link that often).
    if (runWithPeriod(this.replication.failover.state === 'no-failover' ? 1000 : 100, hz, this.cronLoops)) this.replication.cron();
    if (this.cluster !== null && runWithPeriod(100, hz, this.cronLoops)) this.cluster.cron();
    if (runWithPeriod(1000, hz, this.cronLoops)) native.migrateCloseIdle();
    if (this.cronLoops % hz === 0) {
      this.housekeeping.run(this.clientBuffersBytes());
      this.memory.sample();
    }
    // As server.cronloops: counted at the end of the run, so the first run sees 0.
    this.cronLoops++;
  }

  /**
   * serverCron's two summaries every 5 s: at verbose each non-empty database's keys, volatile
   * keys and table slots; at debug the clients (replicas apart) and the memory in use.
   */
  private logCronSummary(hz: number): void {
    if (!runWithPeriod(5000, hz, this.cronLoops)) return;
    if (this.log.enabled('verbose')) {
      const info = native.keyspaceInfo();
      const slots = native.keyspaceSlots();
      for (let db = 0; db < slots.length; db++) {
        const [keys, volatile] = [info[db * 3], info[db * 3 + 1]];
        if (keys > 0 || volatile > 0) this.log.verbose(`DB ${db}: ${keys} keys (${volatile} volatile) in ${slots[db]} slots HT.`);
      }
    }
    if (this.log.enabled('debug')) {
      let replicas = 0;
      for (const c of this.clients.values()) if (c.type === 'replica') replicas++;
      this.log.debug(`${this.clients.size - replicas} clients connected (${replicas} replicas), ${this.memory.sample().used} bytes in use`);
    }
  }


  private closeIdleClients(): void {
    const timeout = this.config.int(TIMEOUT);
    if (timeout <= 0) return;
    for (const c of this.clients.values()) {
      if (c.blocked || c.postponed || c.totalSubscriptions > 0) continue;
      this.syncSocketActivity(c);
      if (this.clock - c.lastInteraction > timeout * 1000) {
        this.log.verbose('Closing idle client');
        this.freeClient(c);
      }
    }
  }

  /** Stops listening and closes every client (SHUTDOWN, close() of the embedded server). */
  async close(): Promise<void> {
    if (this.cronTimer) clearTimeout(this.cronTimer);
    this.cronTimer = null;
    for (const c of [...this.clients.values()]) this.freeClient(c);
    await Promise.all([...this.listeners.map((l) => l.close()), this.tls.close()]);
    this.listeners = [];
    this.unix.close();
  }

  /**
   * The last step of a shutdown (src/shutdown.ts), right before the process exits: the
   * listeners stop (closeListeningSockets) and the clients' connections go.
   */
  closeForExit(): void {
    if (this.cronTimer) clearInterval(this.cronTimer);
    this.cronTimer = null;
    for (const l of this.listeners) void l.close();
    void this.tls.close();
    // closeListeningSockets(1): the unixsocket's file goes, with Redis's notice (unixsock's seam).
    this.unix.close();
    for (const c of this.clients.values()) c.socket.destroy();
  }

  /**
   * A command of an AOF file the addon does not implement, run by a client of its own whose
   * replies are discarded; 'unknown' when no such command exists.
   */
  private runAofCommand(db: number, argv: Buffer[]): 'ok' | 'unknown' {
    const req = makeRequest(argv);
    const found = this.dispatcher.lookup(this.aofClient, req);
    if (typeof found === 'string') return 'unknown';
    this.aofClient.db = db;
    const mark = this.out.len;
    this.dispatcher.call(this.aofClient, found, req);
    // call() counted the error; the CRITICAL line is the AOF client's (afterErrorReply).
    if (this.out.len > mark && this.out.buf[mark] === 0x2d /* '-' */) {
      const cr = this.out.buf.indexOf(13, mark);
      this.replication.errors.afterAofError(this.out.buf.latin1Slice(mark + 1, cr < 0 ? this.out.len : cr), found.name);
    }
    this.out.len = mark;
    return 'ok';
  }

  /**
   * A command the addon replayed from the AOF replied an error: counted as Redis counts its
   * AOF client's errors (the error statistics; a command EXEC ran also its failed calls, its
   * calls not being counted while loading), then afterErrorReply's line.
   */
  private aofReplayError(loggedAs: string, command: string, inExec: boolean, error: string): void {
    this.stats.countError(error);
    if (inExec) {
      const cmd = this.commands.lookupArgv(command.split('|'));
      if (cmd) cmd.stats.failed++;
    }
    this.replication.errors.afterAofError(error, loggedAs);
  }

  private aofClientInstance: Client | null = null;

  private get aofClient(): Client {
    return (this.aofClientInstance ??= createAofClient(this.acl.superuser));
  }

  /** HELLO's role. */
  replicationRole(): string {
    return this.replication.isReplica() ? 'replica' : 'master';
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startTime) / 1000);
  }
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, errno]) => [errno, name]));

/**
 * An adopted socket's end as onSocketEvent gets it (native/src/sockets.rs gone_code): -1 the
 * end of stream, -(1000 + errno) a failed read, -(2000 + errno) a failed write.
 */
function socketFailure(n: number): { syscall: 'read' | 'write'; code: string } | undefined {
  if (n === -1) return undefined;
  const [syscall, errno] = n <= -2000 ? (['write', -n - 2000] as const) : (['read', -n - 1000] as const);
  return { syscall, code: ERRNO_NAMES.get(errno) ?? `errno ${errno}` };
}

/** Redis's run_with_period(ms) in serverCron, at `hz` calls a second (integer arithmetic, as C). */
function runWithPeriod(ms: number, hz: number, cronLoops: number): boolean {
  const tick = Math.floor(1000 / hz);
  return ms <= tick || cronLoops % Math.floor(ms / tick) === 0;
}
