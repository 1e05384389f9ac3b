// The master side of replication, as Redis 7.0's replication.c runs it: SYNC/PSYNC (partial
// resync from the backlog, else a full resync through a forked child: a disk BGSAVE whose file
// is then sent, or a diskless child streaming to the replicas' sockets), REPLCONF, the
// replication stream with its SELECTs, keepalives and PINGs, ACKs, WAIT, min-replicas-* and
// the replica output-buffer limit. The one-child rule decides when a sync may fork.
import type { Client } from '../client';
import { consume } from '../config/consumers';
import { splitArgs } from '../config/splitargs';
import { native } from '../native';
import { parseInteger } from '../commands/types';
import type { ActiveChild, ChildExit } from '../persistence/children';
import { SIGUSR1 } from '../persistence/children';
import { rdbWriteOptions } from '../persistence/rdb';
import { replicaSyncTrigger } from '../persistence/triggers';
import type { Server } from '../server';
import type { Failover } from './failover';
import { CAPA_EOF, CAPA_PSYNC2, RDB_EXCLUDE_DATA, RDB_EXCLUDE_FUNCTIONS, ReplicaLink } from './link';
import { randomHex40, type ReplicationState } from './state';
import { DisklessTransfer, sendRdbFile, type TransferHost } from './transfer';

/** The handler of one sync child: what replicas it serves and how its pipe is drained. */
interface SocketSync {
  child: ActiveChild | null;
  transfer: DisklessTransfer;
  /** The child's exit, kept until the pipe has been read to its end. */
  exit: ChildExit | null;
}

/** What the master side needs from the rest of replication. */
export interface MasterContext {
  /** We replicate from a master ourselves (the stream is our master's, proxied). */
  isReplica(): boolean;
  /** A replica of ours may only sync while our own link is up. */
  linkUp(): boolean;
  /** The RDB's replication AUX fields: [streamDb, replid, offset]. */
  saveInfo(): [number, string, number];
  /** Bytes the master adds to the stream itself (PING, REPLCONF GETACK). */
  feed(data: Buffer): void;
  /** Everything executed so far into the stream (before an offset is read, before a fork). */
  settle(): void;
  /** The stream that follows starts with a SELECT. */
  resetStreamDb(): void;
  failover(): Failover;
  /** PSYNC ... FAILOVER from our master: we become a master (the one that sent it follows us). */
  promoteForFailover(client: Client): void;
  /** A FAILOVER with a timeout pauses writes: no PING may move the offset it waits for. */
  pingsHeld(): boolean;
}

const REPL_DISABLE_TCP_NODELAY = consume('repl-disable-tcp-nodelay', 'test/server/replication.test.ts');
const REPL_BACKLOG_SIZE = consume('repl-backlog-size', 'test/server/replication.test.ts');
const REPL_BACKLOG_TTL = consume('repl-backlog-ttl', 'test/server/replication.test.ts');
const REPL_DISKLESS_SYNC = consume('repl-diskless-sync', 'test/server/replication.test.ts', 'test/server/replication-children.test.ts');
const REPL_DISKLESS_SYNC_DELAY = consume('repl-diskless-sync-delay', 'test/server/replication-children.test.ts');
const REPL_DISKLESS_SYNC_MAX_REPLICAS = consume('repl-diskless-sync-max-replicas', 'test/server/replication-children.test.ts');
const REPL_PING_REPLICA_PERIOD = consume('repl-ping-replica-period', 'test/server/replication.test.ts');
const REPL_TIMEOUT = consume('repl-timeout', 'test/server/replication-faults.test.ts');
const MIN_REPLICAS_TO_WRITE = consume('min-replicas-to-write', 'test/server/replication.test.ts');
const MIN_REPLICAS_MAX_LAG = consume('min-replicas-max-lag', 'test/server/replication.test.ts');

const PING_COMMAND = Buffer.from('*1\r\n$4\r\nPING\r\n');
const GETACK_COMMAND = Buffer.from('*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n');
const NEWLINE = Buffer.from('\n');

export class Master {
  /** server.slaves: every client that issued SYNC/PSYNC, in arrival order. */
  readonly replicas: ReplicaLink[] = [];
  /** Unix seconds since when no replica is connected (the backlog's TTL counts from it). */
  noReplicasSince: number;
  /** min-replicas-to-write: replicas online whose last ACK is recent enough. */
  goodReplicas = 0;
  syncFull = 0;
  syncPartialOk = 0;
  syncPartialErr = 0;
  private socketSync: SocketSync | null = null;
  private cronLoops = 0;
  /** WAIT asked for ACKs: a REPLCONF GETACK goes out once the current event is done. */
  private ackRequested = false;
  private readonly waiting: Client[] = [];
  private waitCheckScheduled = false;

  constructor(
    private readonly server: Server,
    private readonly state: ReplicationState,
    private readonly ctx: MasterContext,
  ) {
    this.noReplicasSince = this.nowSec();
    // CONFIG SET of either setting recounts at once, as replication.c's updateGoodSlaves: the
    // count is kept only while both are set, so the first write after enabling would otherwise
    // see a stale 0 until the next cron.
    server.config.onChange(MIN_REPLICAS_TO_WRITE, () => this.refreshGoodReplicas());
    server.config.onChange(MIN_REPLICAS_MAX_LAG, () => this.refreshGoodReplicas());
    server.persistence.onBackgroundSaveDone((ok) => this.updateReplicasWaitingBgsave(ok, false));
    server.persistence.children.register('sync', {
      onExit: (child, exit) => this.syncChildExited(child, exit),
      startScheduled: () => {
        this.startPendingFork();
        return true;
      },
    });
  }

  private nowSec(): number {
    return Math.floor(Date.now() / 1000);
  }

  private get log() {
    return this.server.log;
  }

  private get config() {
    return this.server.config;
  }

  private readonly transferHost: TransferHost = {
    send: (client, data) => this.server.send(client, data),
    nowSec: () => this.nowSec(),
  };

  /** The link of a client that sent REPLCONF or SYNC (created on first use). */
  linkOf(client: Client): ReplicaLink {
    if (!client.replicaLink) client.replicaLink = new ReplicaLink(client);
    return client.replicaLink;
  }

  // ---------------------------------------------------------------------------------------
  // The stream

  /** Stream bytes for every replica past WAIT_BGSAVE_START (queued until its RDB is sent). */
  sendToReplicas(data: Buffer): void {
    for (const link of this.replicas) {
      if (link.state === 'wait_bgsave_start' || link.rdbOnly) continue;
      if (link.streaming) {
        this.server.send(link.client, data);
        continue;
      }
      link.pending.push(data);
      link.pendingBytes += data.length;
      this.server.enforceOutputLimit(link.client);
    }
  }

  // ---------------------------------------------------------------------------------------
  // SYNC / PSYNC

  /** syncCommand. `argv` is [name, replid?, offset?]. Replies are written straight to the socket. */
  sync(client: Client, argv: string[]): void {
    const link = this.linkOf(client);
    if (link.isReplica) return; // already a replica: SYNC is ignored
    const psync = argv[0].toLowerCase() === 'psync';
    if (psync && argv.length > 3 && argv[3].toLowerCase() === 'failover') {
      // Our master hands its role over to us (its FAILOVER found us synced).
      this.log.warning(`Failover request received for replid ${argv[1]}.`);
      if (!this.ctx.isReplica()) return this.replyError(client, "ERR PSYNC FAILOVER can't be sent to a master.");
      if (argv[1].toLowerCase() !== this.state.replid) return this.replyError(client, 'ERR PSYNC FAILOVER replid must match my replid.');
      this.ctx.promoteForFailover(client);
    }
    if (this.ctx.failover().state !== 'no-failover') {
      return this.replyError(client, "NOMASTERLINK Can't SYNC while failing over");
    }
    if (this.ctx.isReplica() && !this.ctx.linkUp()) {
      return this.replyError(client, "NOMASTERLINK Can't SYNC while not connected with my master");
    }
    if ((this.server.current === client && this.server.out.len > 0) || client.socket.writableLength > 0) {
      return this.replyError(client, 'ERR SYNC and PSYNC are invalid with pending output');
    }
    // A filtered RDB only goes through a socket, never over the snapshot file.
    if (link.rdbReq !== 0 && (link.capa & CAPA_EOF) === 0) return this.replyError(client, 'ERR Filtered replica requires EOF capability');
    this.log.notice(`Replica ${link.name} asks for synchronization`);
    // The backlog and the offsets below include every write executed so far.
    this.ctx.settle();
    if (psync) {
      const offset = parseInteger(argv[2]);
      if (offset === null) {
        this.replyError(client, 'ERR value is not an integer or out of range');
        this.log.warning(`Replica ${link.name} asks for synchronization but with a wrong offset`);
        return;
      }
      if (this.tryPartialResync(link, argv[1], offset)) {
        this.syncPartialOk++;
        return;
      }
      if (argv[1] !== '?') this.syncPartialErr++;
    } else {
      link.prePsync = true;
    }
    this.syncFull++;
    link.state = 'wait_bgsave_start';
    if (this.config.bool(REPL_DISABLE_TCP_NODELAY)) native.setTcpNoDelay(client.fd, false);
    this.replicas.push(link);
    if (this.replicas.length === 1 && !this.state.backlog) {
      // A new history: no replica may continue an old one with us.
      this.state.changeReplicationId();
      this.state.clearReplicationId2();
      this.state.createBacklog(this.config.int(REPL_BACKLOG_SIZE));
      this.log.notice(`Replication backlog created, my new replication IDs are '${this.state.replid}' and '${this.state.replid2}'`);
    }
    const children = this.server.persistence.children;
    const running = children.runningKind();
    if (running === 'rdb') {
      // A disk BGSAVE runs: usable when it was started for replicas that register the stream
      // since its fork, and this replica can read what it writes.
      const other = this.replicas.find((r) => r !== link && r.state === 'wait_bgsave_end' && !r.socketTarget && (!r.rdbOnly || link.rdbOnly));
      if (other && (link.capa & other.capa) === other.capa && link.rdbReq === other.rdbReq) {
        if (!link.rdbOnly) {
          link.pending = [...other.pending];
          link.pendingBytes = other.pendingBytes;
        }
        this.setupFullResync(link, other.psyncInitialOffset, false);
        this.log.notice('Waiting for end of BGSAVE for SYNC');
      } else {
        this.log.notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
        this.scheduleSync();
      }
    } else if (running === 'sync' || this.socketSync) {
      this.log.notice('Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC');
      this.scheduleSync();
    } else if (this.config.bool(REPL_DISKLESS_SYNC) && link.capa & CAPA_EOF && this.config.int(REPL_DISKLESS_SYNC_DELAY) > 0) {
      this.log.notice('Delay next BGSAVE for diskless SYNC');
    } else if (!children.busy()) {
      this.startBgsaveForReplication(link.capa, link.rdbReq);
    } else {
      this.log.notice('No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed');
      this.scheduleSync();
    }
  }

  /** The replicas waiting for the next sync child, in the words INFO shows (keyfork_scheduled_sync). */
  private scheduleSync(): void {
    const waiting = this.replicas.filter((r) => r.state === 'wait_bgsave_start').map((r) => r.name);
    this.server.persistence.children.schedule('sync', `replicas waiting: ${waiting.join(', ')}`, true);
  }

  private replyError(client: Client, text: string): void {
    this.server.sendTo(client, (out) => out.error(text));
  }

  /** masterTryPartialResynchronization: true when the replica continues from the backlog. */
  private tryPartialResync(link: ReplicaLink, replid: string, offset: number): boolean {
    const st = this.state;
    const sameHistory = replid.toLowerCase() === st.replid || (replid.toLowerCase() === st.replid2 && offset <= st.secondReplOffset);
    if (!sameHistory) {
      if (replid !== '?') {
        if (replid.toLowerCase() !== st.replid && replid.toLowerCase() !== st.replid2) {
          this.log.notice(
            `Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '${replid}', my replication IDs are '${st.replid}' and '${st.replid2}')`,
          );
        } else {
          this.log.notice(`Partial resynchronization not accepted: Requested offset for second ID was ${offset}, but I can reply up to ${st.secondReplOffset}`);
        }
      } else {
        this.log.notice(`Full resync requested by replica ${link.name}`);
      }
      return false;
    }
    if (!st.backlog || !st.backlog.covers(offset)) {
      this.log.notice(`Unable to partial resync with replica ${link.name} for lack of backlog (Replica request was: ${offset}).`);
      if (offset > st.masterReplOffset) {
        this.log.warning(`Warning: replica ${link.name} tried to PSYNC with an offset that is greater than the master replication offset.`);
      }
      return false;
    }
    link.state = 'online';
    link.ackTime = this.nowSec();
    link.startStreamOnAck = false;
    this.replicas.push(link);
    const reply = link.capa & CAPA_PSYNC2 ? `+CONTINUE ${st.replid}\r\n` : '+CONTINUE\r\n';
    this.server.send(link.client, Buffer.from(reply));
    let sent = 0;
    for (const part of st.backlog.readFrom(offset)) {
      this.server.send(link.client, part);
      sent += part.length;
    }
    this.log.notice(`Partial resynchronization request from ${link.name} accepted. Sending ${sent} bytes of backlog starting from offset ${offset}.`);
    this.refreshGoodReplicas();
    return true;
  }

  /** replicationSetupSlaveForFullResync: the RDB it gets corresponds to `offset`. */
  private setupFullResync(link: ReplicaLink, offset: number, socketTarget: boolean): void {
    link.psyncInitialOffset = offset;
    link.state = 'wait_bgsave_end';
    link.socketTarget = socketTarget;
    // The stream that follows the RDB starts with a SELECT, whatever was selected before.
    this.ctx.resetStreamDb();
    if (!link.prePsync) this.server.send(link.client, Buffer.from(`+FULLRESYNC ${this.state.replid} ${offset}\r\n`));
  }

  /** startBgsaveForReplication: true when the child forked. */
  private startBgsaveForReplication(mincapa: number, req: number): boolean {
    // The snapshot and the offset it corresponds to must agree: no write may wait undrained.
    this.ctx.settle();
    // A filtered RDB always goes to sockets: the snapshot file must stay whole.
    const socketTarget = (this.config.bool(REPL_DISKLESS_SYNC) || req !== 0) && (mincapa & CAPA_EOF) !== 0;
    this.log.notice(`Starting BGSAVE for SYNC with target: ${socketTarget ? 'replicas sockets' : 'disk'}`);
    const trigger = replicaSyncTrigger(this.replicas.filter((r) => r.state === 'wait_bgsave_start' && r.rdbReq === req).map((r) => r.name).join(', '));
    const ok = socketTarget
      ? this.startSocketSync(trigger, req)
      : this.server.persistence.startBackgroundSave(trigger, { forReplication: true });
    if (!ok) {
      this.log.warning('BGSAVE for replication failed');
      for (const link of [...this.replicas]) {
        if (link.state !== 'wait_bgsave_start') continue;
        this.removeReplica(link);
        link.state = 'none';
        this.replyError(link.client, "ERR BGSAVE failed, replication can't continue");
        this.closeAfterWrites(link.client);
      }
      return false;
    }
    if (!socketTarget) {
      for (const link of this.replicas) {
        if (link.state === 'wait_bgsave_start' && link.rdbReq === req) this.setupFullResync(link, this.state.masterReplOffset, false);
      }
    }
    return true;
  }

  /** rdbSaveToSlavesSockets: forks the child that streams one RDB to every waiting replica. */
  private startSocketSync(trigger: string, req: number): boolean {
    // Only the replicas that want this RDB's parts (the others wait for the next child).
    const targets = this.replicas.filter((r) => r.state === 'wait_bgsave_start' && r.rdbReq === req);
    for (const link of targets) this.setupFullResync(link, this.state.masterReplOffset, true);
    const persistence = this.server.persistence;
    const cfg = this.config;
    let dataFd = -1;
    let child: ActiveChild;
    try {
      const [streamDb, replid, offset] = this.ctx.saveInfo();
      child = persistence.children.start('sync', trigger, () => {
        const [pid, readFd, fd, forkUsec, totalKeys] = native.forkRdbToPipe(
          ...rdbWriteOptions(cfg),
          randomHex40(),
          streamDb,
          replid,
          offset,
          req,
        );
        dataFd = fd;
        return { pid, readFd, forkUsec, totalKeys };
      });
    } catch (err) {
      this.log.warning((err as Error).message);
      // Back to waiting: the caller drops them with an error, as Redis does.
      for (const link of targets) link.state = 'wait_bgsave_start';
      return false;
    }
    this.log.notice(`Background RDB transfer started by pid ${child.pid}`);
    persistence.rdbSaveTimeStart = this.nowSec();
    const transfer = new DisklessTransfer(this.transferHost, dataFd, targets);
    const sync: SocketSync = { child, transfer, exit: null };
    this.socketSync = sync;
    transfer.onEnd = (stillUp) => {
      // The child's own last lines (its CoW report) come first, as in Redis's log.
      persistence.children.drainReports();
      this.log.warning(`Diskless rdb transfer, done reading from pipe, ${stillUp} replicas still up.`);
      if (sync.exit) this.socketSyncDone(sync);
    };
    transfer.onAbandoned = () => {
      this.log.warning('Diskless rdb transfer, last replica dropped, killing fork child.');
      if (persistence.children.active === child) persistence.children.signal(SIGUSR1);
    };
    return true;
  }

  private syncChildExited(child: ActiveChild, exit: ChildExit): void {
    const sync = this.socketSync;
    if (!sync || sync.child !== child) return;
    sync.exit = exit;
    // The child may be reaped before the last of its bytes were read from the pipe.
    if (sync.transfer.ended) this.socketSyncDone(sync);
  }

  /** backgroundSaveDoneHandlerSocket, once the child is gone and its pipe drained. */
  private socketSyncDone(sync: SocketSync): void {
    if (this.socketSync !== sync) return;
    this.socketSync = null;
    const exit = sync.exit ?? { code: 1, signal: 0 };
    const ok = exit.signal === 0 && exit.code === 0;
    if (ok) this.log.notice('Background RDB transfer terminated with success');
    else if (exit.signal === 0) this.log.warning('Background transfer error');
    else this.log.warning(`Background transfer terminated by signal ${exit.signal}`);
    const persistence = this.server.persistence;
    if (persistence.rdbSaveTimeStart >= 0) persistence.lastBgsaveDurationSec = this.nowSec() - persistence.rdbSaveTimeStart;
    persistence.rdbSaveTimeStart = -1;
    this.updateReplicasWaitingBgsave(ok, true, sync.transfer);
    this.startPendingFork();
  }

  /** updateSlavesWaitingBgsave: a BGSAVE for replicas ended (disk file or socket stream). */
  private updateReplicasWaitingBgsave(ok: boolean, socket: boolean, transfer?: DisklessTransfer): void {
    for (const link of [...this.replicas]) {
      if (link.state !== 'wait_bgsave_end' || link.socketTarget !== socket) continue;
      if (transfer && !transfer.targets.has(link)) continue;
      if (!ok) {
        this.log.warning('SYNC failed. BGSAVE child returned an error');
        this.server.freeClient(link.client);
        continue;
      }
      if (socket) {
        this.log.notice(
          `Streamed RDB transfer with replica ${link.name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming`,
        );
        if (!this.putOnline(link)) {
          this.closeAfterWrites(link.client);
          continue;
        }
        link.startStreamOnAck = true;
        continue;
      }
      link.state = 'send_bulk';
      const started = sendRdbFile(this.transferHost, link, this.server.persistence.filename(), (error) => {
        if (error !== null) {
          this.log.warning(`Read error sending DB to replica: ${error}`);
          this.server.freeClient(link.client);
          return;
        }
        if (!this.putOnline(link)) {
          this.closeAfterWrites(link.client);
          return;
        }
        this.startCommandStream(link);
      });
      if (!started.ok) {
        this.log.warning(`SYNC failed. Can't open/stat DB after BGSAVE: ${started.failure}`);
        this.server.freeClient(link.client);
      }
    }
    // Replicas that arrived during this BGSAVE and could not attach to it.
    if (!socket) this.startPendingFork();
  }

  /** Closes a client once what was written to it has left (its RDB, an error). */
  private closeAfterWrites(client: Client): void {
    if (client.closed) return;
    if (this.server.current === client) {
      client.closeAfterReply = true;
      return;
    }
    // Closed once its queued output is written (as Server's close after a reply).
    client.socket.end();
    this.server.freeClient(client);
  }

  /**
   * replicaPutOnline (Redis 7.0.15): false for a replica that asked for the RDB only
   * (redis-cli --rdb), which the caller disconnects now.
   */
  private putOnline(link: ReplicaLink): boolean {
    if (link.rdbOnly) {
      link.state = 'rdb_transmitted';
      this.log.notice(`RDB transfer completed, rdb only replica (${link.name}) should be disconnected asap`);
      return false;
    }
    link.state = 'online';
    link.ackTime = this.nowSec();
    this.refreshGoodReplicas();
    this.log.notice(`Synchronization with replica ${link.name} succeeded`);
    return true;
  }

  /** replicaStartCommandStream: the stream accumulated since the fork goes out. */
  private startCommandStream(link: ReplicaLink): void {
    link.startStreamOnAck = false;
    const pending = link.pending;
    link.pending = [];
    link.pendingBytes = 0;
    for (const data of pending) this.server.send(link.client, data);
  }

  /** replicationStartPendingFork: replicas waiting for a BGSAVE get one when nothing runs. */
  startPendingFork(): void {
    const children = this.server.persistence.children;
    if (children.busy() || this.socketSync) return;
    // The first waiting replica's parts decide the child; replicas wanting others wait for the next.
    const first = this.replicas.find((r) => r.state === 'wait_bgsave_start');
    if (!first) return;
    const waiting = this.replicas.filter((r) => r.state === 'wait_bgsave_start' && r.rdbReq === first.rdbReq);
    const now = Date.now();
    const maxIdle = Math.max(...waiting.map((r) => Math.floor((now - r.client.lastInteraction) / 1000)));
    const mincapa = waiting.reduce((capa, r) => capa & r.capa, ~0);
    const diskless = this.config.bool(REPL_DISKLESS_SYNC);
    const maxReplicas = this.config.int(REPL_DISKLESS_SYNC_MAX_REPLICAS);
    if (!diskless || (maxReplicas > 0 && waiting.length >= maxReplicas) || maxIdle >= this.config.int(REPL_DISKLESS_SYNC_DELAY)) {
      this.startBgsaveForReplication(mincapa, first.rdbReq);
    }
  }

  // ---------------------------------------------------------------------------------------
  // REPLCONF

  /** replconfCommand's options; writes +OK unless the option answers nothing (ACK, GETACK). */
  replconf(client: Client, argv: string[], reply: { ok(): void; error(text: string): void }, sendAck: () => void): void {
    if (argv.length % 2 === 0) return reply.error('ERR syntax error');
    const link = this.linkOf(client);
    for (let j = 1; j < argv.length; j += 2) {
      const option = argv[j].toLowerCase();
      const value = argv[j + 1];
      if (option === 'listening-port') {
        const port = parseInteger(value);
        if (port === null) return reply.error('ERR value is not an integer or out of range');
        link.listeningPort = port;
      } else if (option === 'ip-address') {
        if (Buffer.byteLength(value, 'latin1') >= 256) {
          return reply.error(`ERR REPLCONF ip-address provided by replica instance is too long: ${Buffer.byteLength(value, 'latin1')} bytes`);
        }
        link.announcedAddr = value;
      } else if (option === 'capa') {
        const capa = value.toLowerCase();
        if (capa === 'eof') link.capa |= CAPA_EOF;
        else if (capa === 'psync2') link.capa |= CAPA_PSYNC2;
      } else if (option === 'ack') {
        if (!link.isReplica) return;
        const offset = parseInteger(value);
        if (offset === null) return;
        if (offset > link.ackOffset) link.ackOffset = offset;
        link.ackTime = this.nowSec();
        if (link.startStreamOnAck && link.state === 'online') this.startCommandStream(link);
        this.scheduleWaitCheck();
        // A FAILOVER waits for this: judged once this event is done (it frees clients).
        if (this.ctx.failover().state === 'waiting-for-sync') setImmediate(() => this.ctx.failover().update());
        return;
      } else if (option === 'getack') {
        sendAck();
        return;
      } else if (option === 'rdb-only') {
        const v = parseInteger(value);
        if (v === null) return reply.error('ERR value is not an integer or out of range');
        if (v < 0 || v > 1) return reply.error('ERR value is out of range, value must between 0 and 1');
        link.rdbOnly = v === 1;
      } else if (option === 'rdb-filter-only') {
        // Include filters: the RDB leaves out everything they do not name ("" leaves it empty).
        const filters = splitArgs(value);
        if (filters === null) return reply.error('ERR Missing rdb-filter-only values');
        let req = RDB_EXCLUDE_DATA | RDB_EXCLUDE_FUNCTIONS;
        for (const filter of filters) {
          if (filter.toLowerCase() !== 'functions') return reply.error(`ERR Unsupported rdb-filter-only option: ${filter}`);
          req &= ~RDB_EXCLUDE_FUNCTIONS;
        }
        link.rdbReq = req;
      } else {
        return reply.error(`ERR Unrecognized REPLCONF option: ${argv[j]}`);
      }
    }
    reply.ok();
  }

  // ---------------------------------------------------------------------------------------
  // Replicas going away

  /** A client is being freed: forget it as a replica (and its RDB transfer). */
  clientFreed(client: Client): void {
    const link = client.replicaLink;
    if (!link || !link.isReplica) return;
    this.log.warning(`Connection with replica ${link.name} lost.`);
    link.cancelBulk?.();
    this.socketSync?.transfer.drop(link);
    this.removeReplica(link);
    if (link.state === 'wait_bgsave_end' && !link.socketTarget && !this.replicas.some((r) => r.state === 'wait_bgsave_end')) {
      this.server.persistence.stopSaveNoOneNeeds();
    }
  }

  private removeReplica(link: ReplicaLink): void {
    const i = this.replicas.indexOf(link);
    if (i < 0) return;
    this.replicas.splice(i, 1);
    if (this.replicas.length === 0) this.noReplicasSince = this.nowSec();
    this.refreshGoodReplicas();
    this.scheduleWaitCheck();
  }

  /** disconnectSlaves: our history changed; they must reconnect and resync. */
  disconnectAll(): void {
    for (const link of [...this.replicas]) this.server.freeClient(link.client);
  }

  // ---------------------------------------------------------------------------------------
  // The cron (replicationCron's master half, once a second)

  cron(): void {
    const now = this.nowSec();
    const period = Math.max(1, this.config.int(REPL_PING_REPLICA_PERIOD));
    if (this.cronLoops % period === 0 && this.replicas.length > 0 && !this.ctx.isReplica() && !this.ctx.pingsHeld()) {
      this.feedOwnCommand(PING_COMMAND);
    }
    this.cronLoops++;
    // Newlines keep a replica that waits for its RDB from timing out.
    for (const link of this.replicas) {
      const presync = link.state === 'wait_bgsave_start' || (link.state === 'wait_bgsave_end' && !link.socketTarget);
      if (presync) this.server.send(link.client, NEWLINE);
    }
    const timeout = this.config.int(REPL_TIMEOUT);
    for (const link of [...this.replicas]) {
      if (link.state === 'online' && !link.prePsync && now - link.ackTime > timeout) {
        this.log.warning(`Disconnecting timedout replica (streaming sync): ${link.name}`);
        this.server.freeClient(link.client);
        continue;
      }
      if (link.state === 'wait_bgsave_end' && link.socketTarget && link.lastPartialWrite !== 0 && now - link.lastPartialWrite > timeout) {
        this.log.warning(`Disconnecting timedout replica (full sync): ${link.name}`);
        this.server.freeClient(link.client);
      }
    }
    // A backlog nobody used for repl-backlog-ttl seconds goes (only on a master).
    const ttl = this.config.int(REPL_BACKLOG_TTL);
    if (this.replicas.length === 0 && ttl > 0 && this.state.backlog && !this.ctx.isReplica() && now - this.noReplicasSince > ttl) {
      this.state.changeReplicationId();
      this.state.clearReplicationId2();
      this.state.freeBacklog();
      this.log.notice(`Replication backlog freed after ${ttl} seconds without connected replicas.`);
    }
    this.startPendingFork();
    this.refreshGoodReplicas();
    for (const link of this.replicas) this.server.enforceOutputLimit(link.client);
  }

  /** A command the master itself adds to the stream (PING, REPLCONF GETACK), in the current db. */
  private feedOwnCommand(command: Buffer): void {
    this.ctx.feed(command);
  }

  // ---------------------------------------------------------------------------------------
  // min-replicas-to-write / min-replicas-max-lag

  /** min-replicas-to-write and min-replicas-max-lag are both set: writes count good replicas. */
  minReplicasEnforced(): boolean {
    return this.config.int(MIN_REPLICAS_TO_WRITE) !== 0 && this.config.int(MIN_REPLICAS_MAX_LAG) !== 0;
  }

  refreshGoodReplicas(): void {
    if (!this.minReplicasEnforced()) return;
    const maxLag = this.config.int(MIN_REPLICAS_MAX_LAG);
    const now = this.nowSec();
    this.goodReplicas = this.replicas.filter((r) => r.state === 'online' && now - r.ackTime <= maxLag).length;
  }

  /** checkGoodReplicasStatus: false when writes must get NOREPLICAS. */
  enoughGoodReplicas(): boolean {
    if (this.ctx.isReplica()) return true;
    return !this.minReplicasEnforced() || this.goodReplicas >= this.config.int(MIN_REPLICAS_TO_WRITE);
  }

  // ---------------------------------------------------------------------------------------
  // WAIT

  /** replicationCountAcksByOffset. */
  countAcks(offset: number): number {
    return this.replicas.filter((r) => r.state === 'online' && r.ackOffset >= offset).length;
  }

  /**
   * WAIT blocked `client`: ask the replicas for an ACK once this event is done, or once
   * clients are not paused any more (the GETACK would move the offset a FAILOVER waits for).
   */
  waitFor(client: Client): void {
    this.waiting.push(client);
    if (!this.ackRequested) {
      this.ackRequested = true;
      setImmediate(() => this.sendAckRequest());
    }
  }

  /** Sends the REPLCONF GETACK that WAIT asked for, unless clients are paused. */
  sendAckRequest(): void {
    if (!this.ackRequested || this.server.clientPause.kind !== null) return;
    this.ackRequested = false;
    if (this.replicas.length > 0) this.feedOwnCommand(GETACK_COMMAND);
  }

  /** sendGetackToReplicas: every replica is asked for an ACK now (a shutdown waits for them). */
  requestAcks(): void {
    if (this.replicas.length > 0) this.feedOwnCommand(GETACK_COMMAND);
  }

  /** A WAIT client went away or timed out. */
  forgetWaiting(client: Client): void {
    const i = this.waiting.indexOf(client);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private scheduleWaitCheck(): void {
    if (this.waitCheckScheduled || this.waiting.length === 0) return;
    this.waitCheckScheduled = true;
    setImmediate(() => {
      this.waitCheckScheduled = false;
      this.processWaiting();
    });
  }

  /** processClientsWaitingReplicas. */
  private processWaiting(): void {
    for (const client of [...this.waiting]) {
      const wait = client.blocked?.wait;
      if (!wait) {
        this.forgetWaiting(client);
        continue;
      }
      const acked = this.countAcks(wait.offset);
      if (acked >= wait.numReplicas) {
        this.forgetWaiting(client);
        this.server.blocking.release(client, (out) => out.int(acked));
      }
    }
  }

  /** CONFIG RESETSTAT. */
  resetStats(): void {
    this.syncFull = 0;
    this.syncPartialOk = 0;
    this.syncPartialErr = 0;
  }

  // ---------------------------------------------------------------------------------------
  // INFO / ROLE

  /** INFO replication's slaveN lines. */
  infoLines(): string[] {
    const now = this.nowSec();
    const lines: string[] = [];
    for (const link of this.replicas) {
      const state = link.infoState;
      if (state === '') continue;
      const lag = link.state === 'online' ? now - link.ackTime : 0;
      lines.push(`slave${lines.length}:ip=${link.ip},port=${link.listeningPort},state=${state},offset=${link.ackOffset},lag=${lag}`);
    }
    return lines;
  }

  /** ROLE's replica triples (online replicas only). */
  onlineReplicas(): ReplicaLink[] {
    return this.replicas.filter((r) => r.state === 'online');
  }

  /** Bytes queued for replicas (INFO memory mem_clients_slaves). */
  queuedBytes(): number {
    let n = 0;
    for (const link of this.replicas) n += link.pendingBytes + link.client.socket.writableLength;
    return n;
  }
}

