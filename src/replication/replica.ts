// The replica side of replication, as Redis 7.0 runs it: REPLICAOF, the connection and
// handshake with the master (PING, AUTH, REPLCONF listening-port / ip-address / capa, PSYNC or
// SYNC), the RDB transfer (`$<len>` or `$EOF:<mark>`, to a temp file or to memory as
// repl-diskless-load says), loading it, then applying the master's stream through a client
// flagged as the master, with ACKs, timeouts, reconnection and the cached master that makes
// a partial resync possible after a dropped link or a change of master.
//
// Unlike Redis (which flushes its data before loading unless repl-diskless-load is swapdb),
// keyfork always loads into a fresh keyspace and swaps it in once the whole payload loaded:
// a truncated or corrupt transfer never costs the replica the data it had. A disk-less
// transfer shows as Redis's load from the socket does, from its first byte: loading (clients
// get LOADING), or under swapdb from the master whose history the data follows, an async load
// (the old data keeps being served).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from '../client';
import { clientInfoLine } from '../commands/client-cmd';
import { consume } from '../config/consumers';
import { native, type RdbLoadReport } from '../native';
import type { Server } from '../server';
import type { Failover } from './failover';
import type { ReplicationState } from './state';
import { nodeTls } from '../tls';

const MASTERAUTH = consume('masterauth', 'test/server/replication.test.ts');
const MASTERUSER = consume('masteruser', 'test/server/replication.test.ts');
const REPLICA_ANNOUNCE_IP = consume('replica-announce-ip', 'test/server/replication.test.ts');
const REPLICA_ANNOUNCE_PORT = consume('replica-announce-port', 'test/server/replication.test.ts');
const REPL_DISKLESS_LOAD = consume('repl-diskless-load', 'test/server/replication.test.ts');
const REPL_BACKLOG_SIZE = consume('repl-backlog-size', 'test/server/replication.test.ts');
const REPL_TIMEOUT = consume('repl-timeout', 'test/server/replication-faults.test.ts');
const RDB_DEL_SYNC_FILES = consume('rdb-del-sync-files', 'test/server/replication-faults.test.ts');
const BIND_SOURCE_ADDR = consume('bind-source-addr', 'test/server/replication-bind-source.test.ts');

export type LinkState =
  | 'none'
  | 'connect'
  | 'connecting'
  | 'receive_ping_reply'
  | 'receive_auth_reply'
  | 'receive_port_reply'
  | 'receive_ip_reply'
  | 'receive_capa_reply'
  | 'receive_psync_reply'
  | 'transfer'
  | 'connected';

const HANDSHAKE_STATES: ReadonlySet<LinkState> = new Set([
  'receive_ping_reply',
  'receive_auth_reply',
  'receive_port_reply',
  'receive_ip_reply',
  'receive_capa_reply',
  'receive_psync_reply',
]);

const EOF_MARK_LEN = 40;
/**
 * What Redis 7.0 names as the reason when a synchronous handshake read or write fails: its
 * socket connection never records errno on that path, so strerror(0) (measured, for a closed
 * link and for a reset one).
 */
const SYNC_IO_ERROR = 'Success';

/** What a replica keeps of its master's stream (Redis's master / cached_master client). */
export class MasterLink {
  /** Offset of the last stream byte applied (reploff). */
  reploff: number;
  /** Offset of the last stream byte received (read_reploff). */
  readReploff: number;
  /** Bytes received and not yet applied; proxied to our own replicas once applied. */
  private unapplied: Buffer[] = [];
  /** parser.consumed() at the last applied byte. */
  private appliedConsumed = 0;
  /** The master is pre-PSYNC (answered SYNC): it expects no ACKs. */
  prePsync: boolean;

  constructor(
    public replid: string,
    offset: number,
    public db: number,
  ) {
    this.reploff = offset;
    this.readReploff = offset;
    this.prePsync = offset === -1;
  }

  received(chunk: Buffer): void {
    this.unapplied.push(chunk);
    this.readReploff += chunk.length;
  }

  /** What the master client applied since the last call (it is not in the middle of a MULTI). */
  takeApplied(consumed: number): Buffer | null {
    const n = consumed - this.appliedConsumed;
    if (n <= 0) return null;
    this.appliedConsumed = consumed;
    this.reploff += n;
    let out: Buffer;
    if (this.unapplied[0].length === n) {
      out = this.unapplied.shift()!;
    } else if (this.unapplied[0].length > n) {
      out = this.unapplied[0].subarray(0, n);
      this.unapplied[0] = this.unapplied[0].subarray(n);
    } else {
      const parts: Buffer[] = [];
      let left = n;
      while (left > 0) {
        const head = this.unapplied[0];
        if (head.length <= left) {
          parts.push(head);
          this.unapplied.shift();
          left -= head.length;
        } else {
          parts.push(head.subarray(0, left));
          this.unapplied[0] = head.subarray(left);
          left = 0;
        }
      }
      out = Buffer.concat(parts, n);
    }
    return out;
  }

  /** The link dropped: what was received but not applied is discarded (read_reploff = reploff). */
  resetUnapplied(): void {
    this.unapplied = [];
    this.appliedConsumed = 0;
    this.readReploff = this.reploff;
  }
}

/** An RDB payload being received. */
interface Transfer {
  /** -1 until the `$` line arrived; then the payload size (0 for an EOF-marked stream). */
  size: number;
  read: number;
  usemark: boolean;
  mark: Buffer;
  /** The last 40 bytes received (EOF mark detection). */
  last: Buffer;
  /** Disk: the temp file and its descriptor; memory: the chunks. */
  tmpfile: string | null;
  fd: number;
  chunks: Buffer[];
  toDisk: boolean;
  /** The payload is complete and loading (the socket is paused meanwhile). */
  loading: boolean;
  /** The link dropped while it was loading. */
  linkLost: boolean;
}

/** What the replica side needs of the rest of replication. */
export interface ReplicaContext {
  state: ReplicationState;
  /** Stream bytes applied from the master: into our backlog and to our own replicas. */
  proxy(data: Buffer): void;
  /** Our own replicas must resync (our history changed). */
  disconnectReplicas(): void;
  /** A FAILOVER of ours in progress: our PSYNC to the target says so, its answer ends it. */
  failover(): Failover;
}

export class Replica {
  masterHost: string | null = null;
  masterPort = 0;
  linkState: LinkState = 'none';
  /** The master client while connected (its `masterLink` is the stream state). */
  master: Client | null = null;
  /** The master's state kept after the link dropped, for a partial resync (cached_master). */
  cached: MasterLink | null = null;
  /** Unix seconds the link went down (0: up or never connected). */
  downSince = 0;
  /** Unix seconds of the last I/O with the master during connect/handshake/transfer. */
  lastIo = 0;
  private socket: net.Socket | null = null;
  private inbuf: Buffer = Buffer.alloc(0);
  private transfer: Transfer | null = null;
  private masterReplid = '';
  private masterInitialOffset = -1;

  constructor(
    private readonly server: Server,
    private readonly ctx: ReplicaContext,
  ) {}

  private get log() {
    return this.server.log;
  }

  private get config() {
    return this.server.config;
  }

  private nowSec(): number {
    return Math.floor(Date.now() / 1000);
  }

  inHandshake(): boolean {
    return HANDSHAKE_STATES.has(this.linkState);
  }

  /** ROLE's word for the link state. */
  roleState(): string {
    if (this.inHandshake()) return 'handshake';
    switch (this.linkState) {
      case 'none': return 'none';
      case 'connect': return 'connect';
      case 'connecting': return 'connecting';
      case 'transfer': return 'sync';
      case 'connected': return 'connected';
      default: return 'unknown';
    }
  }

  get transferProgress(): { size: number; read: number } | null {
    return this.transfer && this.linkState === 'transfer' ? { size: Math.max(0, this.transfer.size), read: this.transfer.read } : null;
  }

  // ---------------------------------------------------------------------------------------
  // Becoming a replica / a master

  /** replicationSetMaster: `wasMaster` means we had no master before (our own history goes on). */
  setMaster(host: string, port: number): void {
    const wasMaster = this.masterHost === null;
    this.masterHost = null;
    if (this.master) this.server.freeClient(this.master);
    this.server.blocking.disconnectAll('UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)');
    this.masterHost = host;
    this.masterPort = port;
    this.cancelHandshake(false);
    if (wasMaster) {
      this.discardCached();
      this.cacheMasterUsingMyself();
    }
    this.linkState = 'connect';
    this.log.notice(`Connecting to MASTER ${host}:${port}`);
    this.connect();
  }

  /** replicationUnsetMaster: we become a master, continuing our history under a new id. */
  unsetMaster(): void {
    if (this.masterHost === null) return;
    this.masterHost = null;
    if (this.master) this.server.freeClient(this.master);
    this.discardCached();
    this.cancelHandshake(false);
    this.ctx.state.shiftReplicationId();
    this.ctx.disconnectReplicas();
    this.linkState = 'none';
    this.downSince = 0;
  }

  /** replicationCacheMasterUsingMyself: we may continue our own history with the new master. */
  private cacheMasterUsingMyself(): void {
    this.log.notice(
      'Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.',
    );
    this.cached = new MasterLink(this.ctx.state.replid, this.ctx.state.masterReplOffset, 0);
  }

  /** At start-up, an RDB saved with a replication position lets a replica continue from it. */
  restoreFromRdb(report: RdbLoadReport): void {
    if (this.masterHost === null || !report.replId || typeof report.replOffset !== 'number') return;
    if (typeof report.replStreamDb !== 'number' || report.replStreamDb < 0) return;
    this.ctx.state.replid = report.replId;
    this.ctx.state.masterReplOffset = report.replOffset;
    this.cacheMasterUsingMyself();
    this.cached!.db = report.replStreamDb;
  }

  private discardCached(): void {
    if (!this.cached) return;
    this.log.notice('Discarding previously cached master state.');
    this.cached = null;
  }

  // ---------------------------------------------------------------------------------------
  // Connecting and the handshake

  /** connectWithMaster. */
  private connect(): void {
    if (this.masterHost === null) return;
    this.lastIo = this.nowSec();
    this.linkState = 'connecting';
    this.dial(this.server.config.optionalStr(BIND_SOURCE_ADDR));
    this.log.notice('MASTER <-> REPLICA sync started');
  }

  /**
   * The connection to the master, from `source` (bind-source-addr) when given. Redis binds on a
   * best-effort basis (connTCPConnect's ANET_CONNECT_BE_BINDING): when the address cannot be
   * bound (not local, not an address) the connection goes out unbound, without a log line.
   */
  private dial(source: string | null): void {
    const options: net.NetConnectOpts = { host: this.masterHost!, port: this.masterPort, noDelay: true };
    // Node binds only literal addresses; Redis would resolve a host name (getaddrinfo).
    if (source !== null && net.isIP(source) !== 0) options.localAddress = source;
    // tls-replication: the link is TLS, connected once the handshake is done (Redis's TLS
    // connection fires its connect handler then).
    const secure = this.server.tls.replicationOptions();
    const socket = secure ? nodeTls().connect({ ...secure, ...options }) : net.connect(options);
    this.socket = socket;
    this.inbuf = Buffer.alloc(0);
    socket.on(secure ? 'secureConnect' : 'connect', () => {
      if (this.socket !== socket || this.linkState !== 'connecting') return;
      this.log.notice('Non blocking connect for SYNC fired the event.');
      this.linkState = 'receive_ping_reply';
      this.sendCommand(['PING']);
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.lastIo = this.nowSec();
      this.server.stats.netReplInputBytes += chunk.length;
      this.inbuf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
      this.advance();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket !== socket) return;
      if (options.localAddress !== undefined && err.syscall === 'bind' && this.linkState === 'connecting') {
        this.dial(null);
        return;
      }
      if (this.transfer?.loading) {
        this.transfer.linkLost = true;
        return;
      }
      if (this.linkState === 'transfer') {
        this.log.warning(`I/O error trying to sync with MASTER: ${strerror(err)}`);
        this.cancelHandshake(true);
      } else if (this.inHandshake()) {
        this.noReply();
      } else {
        this.log.warning(`Error condition on socket for SYNC: ${strerror(err)}`);
        this.handshakeFailed();
      }
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      if (this.transfer?.loading) {
        this.transfer.linkLost = true;
        return;
      }
      if (this.linkState === 'transfer') {
        this.log.warning('I/O error trying to sync with MASTER: connection lost');
        this.cancelHandshake(true);
      } else if (this.inHandshake()) {
        this.noReply();
      } else {
        this.log.warning('Error condition on socket for SYNC: Connection reset by peer');
        this.handshakeFailed();
      }
    });
  }

  /** `failed` hears of a write the socket could not make (Redis's synchronous write failing). */
  private sendCommand(argv: string[], failed?: () => void): void {
    let text = `*${argv.length}\r\n`;
    for (const a of argv) text += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    const socket = this.socket;
    socket?.write(text, failed && ((err) => {
      if (err && this.socket === socket) failed();
    }));
  }

  /**
   * The link ended while a handshake reply was awaited: Redis's receiveSynchronousResponse
   * failing. Without the PSYNC's answer a failover of ours ends (the target did not take over);
   * otherwise the cron connects again.
   */
  private noReply(): void {
    this.log.warning(`Failed to read response from the server: ${SYNC_IO_ERROR}`);
    if (this.linkState === 'receive_psync_reply') {
      this.log.warning('Master did not reply to PSYNC, will try later');
      if (this.ctx.failover().psyncAnswered(false)) return;
    } else {
      this.log.warning('Master did not respond to command during SYNC handshake');
    }
    this.handshakeFailed();
  }

  /**
   * connSyncReadLine into a `size`-byte buffer: one line without its newline (and CR), at most
   * size - 1 bytes: a longer line is cut there and its rest read as what follows (Redis reads
   * handshake replies into 256 bytes, the transfer's header into 1024). Null until it arrived.
   */
  private readLine(size = 256): string | null {
    const max = size - 1;
    const nl = this.inbuf.indexOf(10);
    if (nl < 0 || nl >= max) {
      if (this.inbuf.length < max) return null;
      const cut = this.inbuf.subarray(0, max).toString('latin1');
      this.inbuf = this.inbuf.subarray(max);
      return cut;
    }
    let end = nl;
    if (end > 0 && this.inbuf[end - 1] === 13) end--;
    const line = this.inbuf.subarray(0, end).toString('latin1');
    this.inbuf = this.inbuf.subarray(nl + 1);
    return line;
  }

  /** syncWithMaster's reading half: consumes what arrived in the current state. */
  private advance(): void {
    for (;;) {
      const state = this.linkState;
      if (state === 'transfer') {
        this.readTransfer();
        return;
      }
      if (!this.inHandshake()) return;
      const line = this.readLine();
      if (line === null) return;
      if (!this.handshakeReply(state, line)) return;
    }
  }

  /** Handles the reply expected in `state`; false when the handshake stopped. */
  private handshakeReply(state: LinkState, reply: string): boolean {
    switch (state) {
      case 'receive_ping_reply':
        // +PONG, or an authentication error (AUTH comes next).
        if (!reply.startsWith('+') && !reply.startsWith('-NOAUTH') && !reply.startsWith('-NOPERM') && !reply.startsWith('-ERR operation not permitted')) {
          this.log.warning(`Error reply to PING from master: '${reply}'`);
          this.handshakeFailed();
          return false;
        }
        this.log.notice('Master replied to PING, replication can continue...');
        this.sendHandshake();
        return true;
      case 'receive_auth_reply':
        if (reply.startsWith('-')) {
          this.log.warning(`Unable to AUTH to MASTER: ${reply}`);
          this.handshakeFailed();
          return false;
        }
        this.linkState = 'receive_port_reply';
        return true;
      case 'receive_port_reply':
        if (reply.startsWith('-')) this.log.notice(`(Non critical) Master does not understand REPLCONF listening-port: ${reply}`);
        this.linkState = this.config.optionalStr(REPLICA_ANNOUNCE_IP) !== null ? 'receive_ip_reply' : 'receive_capa_reply';
        return true;
      case 'receive_ip_reply':
        if (reply.startsWith('-')) this.log.notice(`(Non critical) Master does not understand REPLCONF ip-address: ${reply}`);
        this.linkState = 'receive_capa_reply';
        return true;
      case 'receive_capa_reply':
        if (reply.startsWith('-')) this.log.notice(`(Non critical) Master does not understand REPLCONF capa: ${reply}`);
        this.sendPsync();
        return true;
      case 'receive_psync_reply':
        return this.psyncReply(reply);
      default:
        return false;
    }
  }

  /** AUTH, REPLCONF listening-port, [ip-address], capa: sent together, replies read in order. */
  private sendHandshake(): void {
    const masterauth = this.config.optionalStr(MASTERAUTH);
    if (masterauth !== null && masterauth !== '') {
      const masteruser = this.config.optionalStr(MASTERUSER);
      this.sendCommand(masteruser ? ['AUTH', masteruser, masterauth] : ['AUTH', masterauth]);
    }
    const announcePort = this.config.int(REPLICA_ANNOUNCE_PORT);
    this.sendCommand(['REPLCONF', 'listening-port', String(announcePort || this.server.listeningPort())]);
    const announceIp = this.config.optionalStr(REPLICA_ANNOUNCE_IP);
    if (announceIp !== null) this.sendCommand(['REPLCONF', 'ip-address', announceIp]);
    this.sendCommand(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    this.linkState = masterauth ? 'receive_auth_reply' : 'receive_port_reply';
  }

  /** slaveTryPartialResynchronization's writing half. */
  private sendPsync(): void {
    this.masterInitialOffset = -1;
    let argv: string[];
    if (this.cached) {
      const offset = String(this.cached.reploff + 1);
      this.log.notice(`Trying a partial resynchronization (request ${this.cached.replid}:${offset}).`);
      argv = ['PSYNC', this.cached.replid, offset];
    } else {
      this.log.notice('Partial resynchronization not possible (no cached master)');
      argv = ['PSYNC', '?', '-1'];
    }
    if (this.ctx.failover().inProgress) argv.push('FAILOVER');
    this.sendCommand(argv, () => this.psyncWriteFailed());
    this.linkState = 'receive_psync_reply';
  }

  /**
   * The PSYNC could not be written (the target reset the link): a failover of ours is aborted
   * there, as Redis's syncWithMaster does, and the handshake ends.
   */
  private psyncWriteFailed(): void {
    if (this.linkState !== 'receive_psync_reply') return;
    this.log.warning(`Unable to send PSYNC to master: -Writing to master: ${SYNC_IO_ERROR}`);
    this.ctx.failover().abort('Write error to failover target');
    this.log.warning('Sending command to master in replication handshake: Write error sending the PSYNC command.');
    if (this.masterHost !== null) this.handshakeFailed();
  }

  /** slaveTryPartialResynchronization's reading half. */
  private psyncReply(reply: string): boolean {
    if (reply === '') return true; // a newline keepalive while the master prepares
    // A FAILOVER of ours ends with the target's answer: taken over, or refused (then we are a
    // master again and the handshake stops).
    const failover = this.ctx.failover();
    if (reply.startsWith('+FULLRESYNC')) {
      const parts = reply.split(' ');
      if (parts.length < 3 || parts[1].length !== 40) {
        this.log.warning('Master replied with wrong +FULLRESYNC syntax.');
        this.masterReplid = '';
      } else {
        this.masterReplid = parts[1];
        this.masterInitialOffset = Number.parseInt(parts[2], 10) || 0;
        this.log.notice(`Full resync from master: ${this.masterReplid}:${this.masterInitialOffset}`);
      }
      failover.psyncAnswered(true);
      return this.beginTransfer();
    }
    if (reply.startsWith('+CONTINUE')) {
      this.log.notice('Successful partial resynchronization with master.');
      const newId = reply.slice(10).trim();
      const cached = this.cached!;
      if (newId.length === 40 && newId !== cached.replid) {
        this.log.warning(`Master replication ID changed to ${newId}`);
        const st = this.ctx.state;
        st.replid2 = cached.replid;
        st.secondReplOffset = st.masterReplOffset + 1;
        st.replid = newId;
        cached.replid = newId;
        this.ctx.disconnectReplicas();
      }
      this.resurrectCached();
      failover.psyncAnswered(true);
      this.log.notice('MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.');
      return false;
    }
    if (reply.startsWith('-NOMASTERLINK') || reply.startsWith('-LOADING')) {
      this.log.notice(`Master is currently unable to PSYNC but should be in the future: ${reply}`);
      if (failover.psyncAnswered(false)) return false;
      this.handshakeFailed();
      return false;
    }
    if (reply.startsWith('-ERR')) this.log.notice(`Master does not support PSYNC or is in error state (reply: ${reply})`);
    else this.log.warning(`Unexpected reply to PSYNC from master: ${reply}`);
    if (failover.psyncAnswered(false)) return false;
    this.log.notice('Retrying with SYNC...');
    this.socket?.write('SYNC\r\n');
    return this.beginTransfer();
  }

  /** repl-diskless-load: load from the socket's bytes in memory instead of a temp file. */
  private disklessLoad(): boolean {
    const mode = this.config.str(REPL_DISKLESS_LOAD);
    return mode === 'swapdb' || (mode === 'on-empty-db' && native.keyspaceInfo().every((v, i) => i % 3 !== 0 || v === 0));
  }

  private beginTransfer(): boolean {
    const toDisk = !this.disklessLoad();
    let tmpfile: string | null = null;
    let fd = -1;
    if (toDisk) {
      tmpfile = `temp-${this.nowSec()}.${process.pid}.rdb`;
      try {
        fd = fs.openSync(tmpfile, 'wx', 0o644);
      } catch (err) {
        this.log.warning(`Opening the temp file needed for MASTER <-> REPLICA synchronization: ${strerror(err as NodeJS.ErrnoException)}`);
        this.handshakeFailed();
        return false;
      }
    }
    this.transfer = {
      size: -1, read: 0, usemark: false, mark: Buffer.alloc(0), last: Buffer.alloc(0), tmpfile, fd, chunks: [], toDisk, loading: false, linkLost: false,
    };
    this.linkState = 'transfer';
    this.lastIo = this.nowSec();
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // The RDB transfer

  /** readSyncBulkPayload. */
  private readTransfer(): void {
    const t = this.transfer!;
    if (t.size === -1) {
      for (;;) {
        const line = this.readLine(1024);
        if (line === null) return;
        if (line === '') continue; // keepalive
        if (line.startsWith('-')) {
          this.log.warning(`MASTER aborted replication with an error: ${line.slice(1)}`);
          this.cancelHandshake(false);
          this.linkState = 'connect';
          return;
        }
        if (!line.startsWith('$')) {
          this.log.warning(`Bad protocol from MASTER, the first byte is not '$' (we received '${line}'), are you sure the host and port are right?`);
          this.cancelHandshake(false);
          this.linkState = 'connect';
          return;
        }
        const where = t.toDisk ? 'to disk' : 'to parser';
        if (line.startsWith('$EOF:') && line.length >= 5 + EOF_MARK_LEN) {
          t.usemark = true;
          t.mark = Buffer.from(line.slice(5, 5 + EOF_MARK_LEN), 'latin1');
          t.size = 0;
          this.log.notice(`MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF ${where}`);
        } else {
          t.size = Number.parseInt(line.slice(1), 10) || 0;
          this.log.notice(`MASTER <-> REPLICA sync: receiving ${t.size} bytes from master ${where}`);
        }
        if (!t.toDisk) this.startDisklessLoad(t);
        break;
      }
    }
    if (this.inbuf.length === 0) return;
    let data: Buffer = this.inbuf;
    let rest: Buffer = Buffer.alloc(0);
    if (!t.usemark) {
      const left = t.size - t.read;
      if (data.length > left) {
        rest = data.subarray(left);
        data = data.subarray(0, left);
      }
    }
    this.inbuf = Buffer.alloc(0);
    t.read += data.length;
    if (t.toDisk) {
      try {
        fs.writeSync(t.fd, data);
      } catch (err) {
        this.log.warning(
          `Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: ${strerror(err as NodeJS.ErrnoException)}`,
        );
        this.cancelHandshake(false);
        this.linkState = 'connect';
        return;
      }
    } else {
      t.chunks.push(data);
      this.server.persistence.setLoadingProgress({ totalBytes: t.size, loadedBytes: t.read });
    }
    let done = false;
    if (t.usemark) {
      t.last = Buffer.concat([t.last, data]).subarray(-EOF_MARK_LEN);
      done = t.last.length === EOF_MARK_LEN && t.last.equals(t.mark);
    } else {
      done = t.read === t.size;
    }
    if (done) void this.transferComplete(rest);
  }

  /**
   * The whole payload arrived: load it (in slices: clients get LOADING meanwhile, and the
   * master's socket waits), then become the master's replica.
   */
  private async transferComplete(rest: Buffer): Promise<void> {
    const t = this.transfer!;
    const payloadBytes = t.usemark ? t.read - EOF_MARK_LEN : t.read;
    let source: string | Buffer;
    if (t.toDisk) {
      try {
        if (t.usemark) fs.ftruncateSync(t.fd, payloadBytes);
        fs.fsyncSync(t.fd);
        fs.closeSync(t.fd);
        t.fd = -1;
      } catch (err) {
        this.log.warning(`Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: ${strerror(err as NodeJS.ErrnoException)}`);
        this.cancelHandshake(true);
        return;
      }
      source = path.resolve(t.tmpfile!);
    } else {
      source = Buffer.concat(t.chunks, t.read).subarray(0, payloadBytes);
      t.chunks = [];
    }
    if (t.toDisk) this.log.notice('MASTER <-> REPLICA sync: Loading DB in memory');
    t.loading = true;
    this.socket?.pause();
    const report = await this.server.persistence.loadReplicationPayload(source);
    t.loading = false;
    this.lastIo = this.nowSec();
    if (this.transfer !== t) return; // given up meanwhile (REPLICAOF NO ONE, shutdown)
    if (report === null) {
      this.log.warning(`Failed trying to load the MASTER synchronization DB from ${t.toDisk ? 'disk' : 'socket'}, check server logs.`);
      this.log.notice('MASTER <-> REPLICA sync: Discarding temporary DB in background');
      this.cancelHandshake(true);
      return;
    }
    if (t.toDisk) this.keepReceivedFile(t.tmpfile!);
    t.tmpfile = null;
    this.transfer = null;
    // replicationAttachToNewMaster: a new history; our own replicas must resync.
    this.discardCached();
    this.ctx.disconnectReplicas();
    this.ctx.state.freeBacklog();
    this.log.notice('MASTER <-> REPLICA sync: Swapping active DB with loaded DB');
    this.log.notice('MASTER <-> REPLICA sync: Discarding old DB in background');
    const link = new MasterLink(this.masterReplid, this.masterInitialOffset, typeof report.replStreamDb === 'number' && report.replStreamDb >= 0 ? report.replStreamDb : 0);
    const st = this.ctx.state;
    st.replid = link.replid;
    st.masterReplOffset = link.reploff;
    st.clearReplicationId2();
    if (!st.backlog) st.createBacklog(this.config.int(REPL_BACKLOG_SIZE));
    if (t.linkLost) {
      // The data is in; the link is not: the next connection continues from this position.
      this.closeTransferSocket();
      this.cached = link;
      this.linkState = 'connect';
      this.downSince = this.nowSec();
      this.log.warning('I/O error trying to sync with MASTER: connection lost');
      return;
    }
    this.attachMaster(link, rest);
    this.log.notice('MASTER <-> REPLICA sync: Finished with success');
    if (t.usemark) this.sendAck();
  }

  /** The received RDB becomes dbfilename (Redis keeps it as its own persistence file). */
  private keepReceivedFile(tmpfile: string): void {
    const persistence = this.server.persistence;
    const dbfilename = persistence.filename();
    try {
      if (this.config.bool(RDB_DEL_SYNC_FILES) && persistence.allPersistenceDisabled()) {
        this.log.notice('Removing the RDB file obtained from the master. This replica has persistence disabled');
        fs.unlinkSync(tmpfile);
        return;
      }
      fs.renameSync(tmpfile, dbfilename);
    } catch (err) {
      this.log.warning(`Failed trying to rename the temp DB into ${dbfilename} in MASTER <-> REPLICA synchronization: ${strerror(err as NodeJS.ErrnoException)}`);
      try {
        fs.unlinkSync(tmpfile);
      } catch {
        // already gone
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // The master client

  /** replicationCreateMasterClient / replicationResurrectCachedMaster on the current socket. */
  private attachMaster(link: MasterLink, rest: Buffer): void {
    const socket = this.socket!;
    this.socket = null;
    socket.removeAllListeners('data');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    const client = new Client(socket, () => this.server.limits.protoMaxBulkLen);
    // Redis's master client has no user: no ACL rule applies to what the master sends.
    client.user = this.server.acl.superuser;
    client.authenticated = true;
    client.db = link.db;
    client.masterLink = link;
    this.master = client;
    this.linkState = 'connected';
    this.downSince = 0;
    this.server.track(client);
    socket.on('data', (chunk: Buffer) => this.masterData(client, chunk));
    socket.resume();
    if (rest.length > 0) this.masterData(client, rest);
  }

  private resurrectCached(): void {
    const link = this.cached!;
    this.cached = null;
    const rest = this.inbuf;
    this.inbuf = Buffer.alloc(0);
    if (!this.ctx.state.backlog) this.ctx.state.createBacklog(this.config.int(REPL_BACKLOG_SIZE));
    this.attachMaster(link, rest);
  }

  private masterData(client: Client, chunk: Buffer): void {
    const link = client.masterLink!;
    this.server.stats.netReplInputBytes += chunk.length;
    link.received(chunk);
    this.server.runMasterInput(client, chunk);
  }

  /**
   * After the master client ran commands: what it applied goes on to our replicas and backlog.
   * A command CLIENT PAUSE holds back is not applied yet (Redis moves reploff in
   * commandProcessed only), so slave_repl_offset stays behind slave_read_repl_offset meanwhile.
   */
  commandsApplied(client: Client): void {
    if (client.inMulti || client.postponed) return;
    const applied = client.masterLink!.takeApplied(client.parser.consumed());
    if (applied) this.ctx.proxy(applied);
  }

  /** REPLCONF ACK <offset applied> to the master (also the answer to REPLCONF GETACK). */
  sendAck(): void {
    const client = this.master;
    if (!client || !client.masterLink) return;
    const offset = String(client.masterLink.reploff);
    this.server.send(client, Buffer.from(`*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$${offset.length}\r\n${offset}\r\n`));
  }

  /** The master client is being freed: keep its state for a partial resync, then reconnect. */
  masterClientFreed(client: Client): void {
    if (client !== this.master) return;
    this.log.warning('Connection with master lost.');
    this.log.notice('Caching the disconnected master state.');
    const link = client.masterLink!;
    link.resetUnapplied();
    link.db = client.db;
    this.cached = link;
    this.master = null;
    this.linkState = 'connect';
    this.downSince = this.nowSec();
    if (this.masterHost !== null) {
      this.log.notice(`Reconnecting to MASTER ${this.masterHost}:${this.masterPort}`);
      this.connect();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Failures

  /** syncWithMaster's `error:` path: close, and let the cron try again. */
  private handshakeFailed(): void {
    this.closeTransferSocket();
    this.abortTransferFile();
    this.linkState = 'connect';
  }

  /** cancelReplicationHandshake: true when there was a handshake or transfer to cancel. */
  cancelHandshake(reconnect: boolean): boolean {
    if (this.linkState === 'transfer') {
      this.closeTransferSocket();
      this.abortTransferFile();
      this.linkState = 'connect';
    } else if (this.linkState === 'connecting' || this.inHandshake()) {
      this.closeTransferSocket();
      this.linkState = 'connect';
    } else {
      return false;
    }
    if (!reconnect || this.masterHost === null) return true;
    this.log.notice(`Reconnecting to MASTER ${this.masterHost}:${this.masterPort} after failure`);
    this.connect();
    return true;
  }

  private closeTransferSocket(): void {
    const socket = this.socket;
    this.socket = null;
    this.inbuf = Buffer.alloc(0);
    socket?.destroy();
  }

  private abortTransferFile(): void {
    const t = this.transfer;
    this.transfer = null;
    if (!t) return;
    // A disk-less transfer given up before its payload was in (the load's own end clears it).
    if (!t.toDisk && !t.loading && t.size >= 0) this.server.persistence.setLoadingProgress(null);
    if (t.fd >= 0) fs.closeSync(t.fd);
    if (t.tmpfile) {
      try {
        fs.unlinkSync(t.tmpfile);
      } catch {
        // never written
      }
    }
  }

  /**
   * readSyncBulkPayload's startLoading for a load from the socket: an async load under swapdb
   * when this replica's data already follows the master's history (its replid is the one the
   * master's FULLRESYNC named), else a load that refuses clients until it ends.
   */
  private startDisklessLoad(t: Transfer): void {
    const asyncLoad = this.config.str(REPL_DISKLESS_LOAD) === 'swapdb' && this.ctx.state.replid === this.masterReplid;
    this.log.notice('MASTER <-> REPLICA sync: Loading DB in memory');
    this.server.persistence.setLoadingProgress({ totalBytes: t.size, loadedBytes: 0 });
    this.server.asyncLoading = asyncLoad;
  }

  // ---------------------------------------------------------------------------------------
  // The cron (replicationCron's replica half, once a second)

  /** The cron while loading: only a transfer in progress has a deadline. */
  transferCron(): void {
    if (this.linkState === 'transfer' && this.transfer && !this.transfer.loading) this.cron();
  }

  cron(): void {
    if (this.masterHost === null) return;
    const now = this.nowSec();
    const timeout = this.config.int(REPL_TIMEOUT);
    if ((this.linkState === 'connecting' || this.inHandshake()) && now - this.lastIo > timeout) {
      this.log.warning('Timeout connecting to the MASTER...');
      this.cancelHandshake(true);
    }
    if (this.linkState === 'transfer' && now - this.lastIo > timeout) {
      this.log.warning(
        "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.",
      );
      this.cancelHandshake(true);
    }
    if (this.linkState === 'connected' && this.master && now - Math.floor(this.master.lastInteraction / 1000) > timeout) {
      this.log.warning('MASTER timeout: no data nor PING received...');
      this.server.freeClient(this.master);
    }
    if (this.linkState === 'connect') {
      this.log.notice(`Connecting to MASTER ${this.masterHost}:${this.masterPort}`);
      this.connect();
    }
    if (this.master?.masterLink && !this.master.masterLink.prePsync) this.sendAck();
  }

  /** For log lines naming the client that asked (catClientInfoString). */
  describe(client: Client): string {
    return clientInfoLine(this.server, client, null);
  }
}

/** strerror's words for the errors a connection meets (Node gives codes). */
function strerror(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED': return 'Connection refused';
    case 'ECONNRESET': return 'Connection reset by peer';
    case 'ETIMEDOUT': return 'Connection timed out';
    case 'EHOSTUNREACH': return 'No route to host';
    case 'ENETUNREACH': return 'Network is unreachable';
    case 'EPIPE': return 'Broken pipe';
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EEXIST': return 'File exists';
    case 'ENOSPC': return 'No space left on device';
    default: return err.message;
  }
}
