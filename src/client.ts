// One connection: its socket, request parser, selected database, protocol version and the
// per-client state of transactions, pub/sub and blocking.
import { RequestParser } from './protocol/parse';
import { argvBytes, type Request } from './commands/types';
import type { ReplyWriter } from './protocol/reply';
import type { User } from './acl/user';
import type { TrackingState } from './tracking';
import type { ReplicaLink } from './replication/link';
import type { MasterLink } from './replication/replica';

let nextClientId = 1;

/**
 * Takes a client id for a client Redis has and keyfork does not need (its module system's
 * reused context client): ids are observable (CLIENT ID, CLIENT LIST) and Redis's first
 * connection gets 3.
 */
export function skipClientId(): void {
  nextClientId++;
}

/** Redis's client types (getClientType): what CLIENT LIST TYPE / CLIENT KILL TYPE select and what output-buffer class applies. */
export type ClientType = 'normal' | 'replica' | 'pubsub' | 'master';

export interface QueuedCommand {
  name: string;
  req: Request;
  /** It writes (a script by its declared flags): EXEC of this queue counts as a write. */
  write: boolean;
  /** It may replicate (Redis's CMD_MAY_REPLICATE): a WRITE pause holds EXEC of this queue back. */
  mayReplicate: boolean;
  /** It reads the keyspace (Redis's CMD_READONLY). */
  read: boolean;
  /** It may run while loading (Redis's CMD_LOADING). */
  loading: boolean;
  /** It may not run during an async load (Redis's CMD_NO_ASYNC_LOADING). */
  noAsyncLoading: boolean;
  /** It may run on a stale replica (Redis's CMD_STALE): EXEC of a queue holding another is refused. */
  stale: boolean;
  /** The command may grow memory (Redis's denyoom): EXEC is refused when out of memory. */
  denyOom: boolean;
}

export interface BlockedState {
  /** The command to run again when a key is written. */
  req: Request;
  /** The request as the client sent it, when `req` differs (XREAD's `$` resolved): the slow log's. */
  original?: Request;
  /** How long the call that blocked took (Redis's c->duration): counted again when it is served. */
  callUsec?: number;
  name: string;
  db: number;
  keys: Buffer[];
  /** Where each of `keys` is among the request's arguments. */
  keyPositions: number[];
  /** Absolute ms, or 0 for no timeout. */
  deadline: number;
  timer?: NodeJS.Timeout;
  /** Sequence number: clients blocked earlier are served first. */
  seq: number;
  /** WAIT: the replication offset and how many replicas must acknowledge it. */
  wait?: { offset: number; numReplicas: number };
  /** The reply on timeout (and CLIENT UNBLOCK TIMEOUT); the null array when absent. */
  timeoutReply?: (out: ReplyWriter) => void;
}

/**
 * What the server needs of a client's connection: a node:net socket (TLS, unix sockets, the
 * busy pump's accepts) or a NativeSocket (src/native-socket.ts: a TCP connection the addon
 * owns on Node's loop).
 */
export interface ClientSocket {
  readonly destroyed: boolean;
  readonly writable: boolean;
  /** Output handed to the socket layer and not yet written to the kernel. */
  readonly writableLength: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  write(data: Buffer): unknown;
  /** Closes once the queued output is written. */
  end(): unknown;
  destroy(): unknown;
  /** Input the socket layer keeps before the parser sees it (an unfinished request). */
  readonly bufferedInput?: number;
}

export class Client {
  readonly id = nextClientId++;
  readonly parser: RequestParser;
  db = 0;
  resp = 2;
  name = '';
  /** The ACL user (the default user until AUTH/HELLO AUTH) and whether it authenticated. */
  user!: User;
  authenticated = false;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  lastCommand = 'NULL';
  /** Set by QUIT / protocol errors / CLIENT KILL: close once the pending replies are written. */
  closeAfterReply = false;
  closed = false;
  /** CLIENT NO-EVICT */
  noEvict = false;
  /** Client eviction (src/client-eviction.ts): the memory last counted for it, and its size class. */
  evictionMemory = 0;
  evictionBucket: Set<Client> | null = null;
  libName = '';
  libVer = '';
  /** MONITOR: a replica-like link that still counts as a normal client, as in Redis. */
  isMonitor = false;
  /** The distinct keys it WATCHes (their bookkeeping counts in its memory, as in Redis). */
  watchedKeys = 0;
  /** When the output first went over the soft limit (ms), 0 while under it (obuf_soft_limit_reached_time). */
  softLimitSince = 0;

  // CLIENT REPLY: OFF drops every reply; SKIP drops the next command's (push messages pass).
  replyOff = false;
  replySkip = false;
  replySkipNext = false;

  // MULTI/EXEC
  /** Cluster mode: ASKING was sent (CLIENT_ASKING) / READONLY is on (CLIENT_READONLY). */
  asking = false;
  readonly = false;
  inMulti = false;
  multiQueue: QueuedCommand[] = [];
  multiError = false;
  /** While EXEC runs the queue: its length (Redis keeps the MULTI flag and state until the end), else -1. */
  execRunning = -1;

  // Pub/Sub
  channels = new Set<string>();
  patterns = new Set<string>();
  shardChannels = new Set<string>();

  // Blocking
  blocked: BlockedState | null = null;
  /** CLIENT TRACKING: null while off (src/tracking.ts). */
  tracking: TrackingState | null = null;

  /** The command CLIENT PAUSE holds back (processed again when the pause ends). */
  postponed: Request | null = null;

  // Replication
  /** Set once it sent REPLCONF or SYNC/PSYNC: one of our replicas (or becoming one). */
  replicaLink: ReplicaLink | null = null;
  /** This connection is our master's: the replication stream we apply. */
  masterLink: MasterLink | null = null;
  /** The replication offset right after this client's last propagated write (WAIT). */
  woff = 0;

  /** One of our replicas (it issued SYNC/PSYNC): the replica output-buffer class. */
  get isReplica(): boolean {
    return this.replicaLink?.isReplica ?? false;
  }

  /** The link to our master: never limited, never evicted, never answered. */
  get isMaster(): boolean {
    return this.masterLink !== null;
  }

  /** Redis's AOF-loading fake client (CLIENT_ID_AOF), which replays the AOF's commands. */
  isAofLoader = false;

  /**
   * mustObeyClient: what the master or the AOF sends already happened, so a script it runs is
   * not refused for a read-only replica, a stale link or maxmemory.
   */
  get mustObey(): boolean {
    return this.isMaster || this.isAofLoader;
  }

  readonly addr: string;
  readonly laddr: string;
  /** The socket's descriptor (for an adopted socket, the addon's own), -1 when none. */
  fd: number;
  /**
   * The descriptor Server.send may write to directly (bypassing node:net's stream while nothing
   * is queued in it), or -1. Only a plain TCP or unix stream socket the server accepted itself
   * qualifies: a TLS socket's bytes must go through its TLS layer.
   */
  writeFd = -1;

  /**
   * The unixsocket path for a connection accepted there (Redis's CLIENT_UNIX_SOCKET: flag U,
   * both addresses `<path>:0`, MONITOR's `unix:<path>`), else null.
   */
  readonly unixSocket: string | null;

  /** `authRequired`: whether the server needs clients to AUTH (the parser asks before it admits a big request). */
  constructor(readonly socket: ClientSocket, maxBulkLen: () => number, fd?: number, unixSocket?: string, authRequired: () => boolean = () => false) {
    this.parser = new RequestParser(maxBulkLen, () => !this.authenticated && authRequired());
    this.unixSocket = unixSocket ?? null;
    this.addr = unixSocket !== undefined ? `${unixSocket}:0` : formatAddr(socket.remoteAddress, socket.remotePort);
    this.laddr = unixSocket !== undefined ? `${unixSocket}:0` : formatAddr(socket.localAddress, socket.localPort);
    this.fd = fd ?? (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  }

  /** Received bytes not yet run: the parser's and the socket layer's. */
  inputBytes(): number {
    return this.parser.pending() + (this.socket.bufferedInput ?? 0);
  }

  /**
   * The query buffer as CLIENT LIST shows it (Redis's sdslen and sdsavail of c->querybuf):
   * `length`, the parser's data (see RequestParser.length) and the unfinished request the
   * socket layer keeps; `free`, the rest of the parser's own Buffer.
   */
  queryBuffer(): { length: number; free: number } {
    return { length: this.parser.length() + (this.socket.bufferedInput ?? 0), free: this.parser.free() };
  }

  /**
   * The memory behind the client's input, as Redis's clientsCronTrackExpansiveClients counts it
   * (client_recent_max_input_buffer): the query buffer's allocation (with `sincePeak`, the
   * largest since the last such call: the clients cron's sample) and the unfinished request the
   * native layer keeps, plus a blocked command's arguments (kept until it is served, like
   * Redis's argv: their bytes and a pointer each).
   */
  inputMemory(sincePeak: boolean): number {
    const queryBuffer = sincePeak ? this.parser.takeAllocatedPeak() : this.parser.allocated();
    const blocked = this.blocked ? argvBytes(this.blocked.req) + 8 * this.blocked.req.argc : 0;
    return queryBuffer + (this.socket.bufferedInput ?? 0) + blocked;
  }

  get repliesMuted(): boolean {
    return this.replyOff || this.replySkip;
  }

  /** Channels and patterns (what SUBSCRIBE's and PSUBSCRIBE's notices count). */
  get subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }

  /** Every subscription, shard channels included: Redis's CLIENT_PUBSUB is set while it is not 0. */
  get totalSubscriptions(): number {
    return this.channels.size + this.patterns.size + this.shardChannels.size;
  }

  /** getClientType: master, replica (not MONITOR), pubsub (any subscription), else normal. */
  get type(): ClientType {
    if (this.isMaster) return 'master';
    if (this.isReplica && !this.isMonitor) return 'replica';
    if (this.totalSubscriptions > 0) return 'pubsub';
    return 'normal';
  }

  /**
   * Reply bytes handed to the socket layer and not yet written to the kernel: CLIENT LIST
   * omem, the output-buffer limits, INFO's client memory. The one place that knows how the
   * socket layer queues output.
   */
  outputBytes(): number {
    // A replica's stream waiting for its RDB to be sent is output it has not received yet.
    return this.socket.writableLength + (this.replicaLink?.pendingBytes ?? 0);
  }

  /** RESP2 clients with subscriptions may only run (P)(UN)SUBSCRIBE, PING, QUIT and RESET. */
  get inPubSubContext(): boolean {
    return this.resp === 2 && this.totalSubscriptions > 0;
  }
}

function formatAddr(host: string | undefined, port: number | undefined): string {
  if (!host) return '?:0';
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return `${h}:${port ?? 0}`;
}
