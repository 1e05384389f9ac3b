// Replication: one object per server that holds its replication history (ids, offset, backlog)
// and both roles, the master side (our replicas) and the replica side (our master). The
// replication stream is fed here: by the propagation layer with the commands this server
// executes (a master), or with the bytes applied from our master (a replica, proxied as they
// are to our own replicas: chains).
import type { Client } from '../client';
import { clientInfoLine } from '../commands/client-cmd';
import type { Command } from '../commands/table';
import type { Request } from '../commands/types';
import type { ReplyWriter } from '../protocol/reply';
import { consume } from '../config/consumers';
import { EXPIRY_DELETE, EXPIRY_LOGICAL, native, SCRIPT_NOREPLICAS, SCRIPT_READONLY_REPLICA, SCRIPT_STALE, type ExpiredAtLoad, type RdbLoadReport } from '../native';
import type { Server } from '../server';
import { PROPAGATE_REPL, type PropagationConsumer } from '../propagate';
import { Failover } from './failover';
import { PropagationErrors } from './propagation-errors';
import { Master } from './master';
import { Replica } from './replica';
import { ReplicationState } from './state';

/** Redis's CONFIG_REPL_BACKLOG_MIN_SIZE: CONFIG SET repl-backlog-size never goes below it. */
const BACKLOG_MIN_SIZE = 16 * 1024;

const REPLICAOF = consume('replicaof', 'test/server/replication.test.ts');
const REPL_BACKLOG_SIZE = consume('repl-backlog-size', 'test/server/replication.test.ts');
const LAZYFREE_LAZY_EXPIRE = consume('lazyfree-lazy-expire', 'test/server/psync-restart-expired.test.ts');
const REPLICA_READ_ONLY = consume('replica-read-only', 'test/server/replication.test.ts');
const REPLICA_SERVE_STALE_DATA = consume('replica-serve-stale-data', 'test/server/replication-faults.test.ts');
const REPLICA_PRIORITY = consume('replica-priority', 'test/server/replication.test.ts');
const REPLICA_ANNOUNCED = consume('replica-announced', 'test/server/replication.test.ts');

export const READONLY_ERROR = "READONLY You can't write against a read only replica.";
export const NOREPLICAS_ERROR = 'NOREPLICAS Not enough good replicas to write.';
export const MASTERDOWN_ERROR = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

export class Replication {
  readonly state: ReplicationState;
  readonly master: Master;
  readonly replica: Replica;
  readonly failover: Failover;
  /** Errors our master's stream met, disk errors while applying it (propagation-errors.ts). */
  readonly errors: PropagationErrors;
  /** This server's subscription to propagation (see updatePropagation). */
  private consumer: PropagationConsumer | null = null;
  /** Told of each change of role (true: now a replica), e.g. the OOM score's class (src/proc.ts). */
  readonly roleListeners: Array<(replica: boolean) => void> = [];
  /** Clients whose propagated writes wait for the next drain (their WAIT offset follows it). */
  private readonly writers = new Set<Client>();

  constructor(private readonly server: Server) {
    this.errors = new PropagationErrors(server);
    this.state = new ReplicationState(server.log, () => this.updatePropagation());
    this.master = new Master(server, this.state, {
      isReplica: () => this.isReplica(),
      linkUp: () => this.replica.linkState === 'connected',
      saveInfo: () => this.saveInfo() ?? [0, this.state.replid, this.state.masterReplOffset],
      feed: (data) => this.feedStream(data),
      settle: () => this.settle(),
      resetStreamDb: () => this.resetStreamDb(),
      failover: () => this.failover,
      promoteForFailover: (client) => {
        this.promote();
        this.server.log.notice(`MASTER MODE enabled (failover request from '${clientInfoLine(this.server, client, null)}')`);
      },
      pingsHeld: () => this.failover.endTime !== 0 && server.clientPause.kind !== null,
    });
    this.replica = new Replica(server, {
      state: this.state,
      proxy: (data) => this.feedStream(data),
      disconnectReplicas: () => this.master.disconnectAll(),
      failover: () => this.failover,
    });
    this.failover = new Failover({
      log: server.log,
      isReplica: () => this.isReplica(),
      replicas: () => this.master.replicas,
      settledOffset: () => {
        this.settle();
        return this.state.masterReplOffset;
      },
      follow: (host, port) => this.follow(host, port),
      promote: () => this.promote(),
      pauseWrites: () => server.clientPause.pause('failover', Infinity, 'write'),
      resumeWrites: () => server.clientPause.unpause('failover'),
    });
    const config = server.config;
    config.onChange(REPL_BACKLOG_SIZE, () => {
      let size = config.int(REPL_BACKLOG_SIZE);
      if (size < BACKLOG_MIN_SIZE) {
        size = BACKLOG_MIN_SIZE;
        config.setByServer(REPL_BACKLOG_SIZE, BigInt(size));
      }
      this.state.backlog?.resize(size, this.state.masterReplOffset);
    });
    server.persistence.replicationInfo = () => this.saveInfo();
    server.clientPause.onResume(() => this.master.sendAckRequest());
    // After each turn's drain: the WAIT offsets of the clients whose writes it carried.
    server.beforeSleep.addTask(() => this.settle());
    server.persistence.replicasNeedRdbFile = () =>
      this.master.replicas.some((r) => r.state === 'wait_bgsave_start' || r.state === 'wait_bgsave_end' || r.state === 'send_bulk');
  }

  /** replicaof from the configuration: connect once the server is up (the cron does). */
  startFromConfig(): void {
    const target = this.server.config.replicaOf(REPLICAOF);
    if (!target) return;
    this.replica.masterHost = target.host;
    this.replica.masterPort = target.port;
    this.replica.linkState = 'connect';
    this.roleChanged(target);
  }

  isReplica(): boolean {
    return this.replica.masterHost !== null;
  }

  // ---------------------------------------------------------------------------------------
  // The stream

  /**
   * A master with a backlog consumes propagation (src/propagate.ts, the one layer that also
   * feeds the AOF): what executed writes become, with the SELECTs this stream needs. Redis
   * feeds its replicas' stream only then (replicationFeedSlaves); a replica forwards its
   * master's stream instead. Called whenever the role or the backlog changes.
   */
  updatePropagation(): void {
    const wanted = !this.isReplica() && this.state.backlog !== null;
    if (wanted && !this.consumer) {
      this.consumer = this.server.propagation.subscribe(PROPAGATE_REPL, { write: (data, start, end) => this.propagated(data, start, end) });
    } else if (!wanted && this.consumer) {
      const consumer = this.consumer;
      this.consumer = null;
      consumer.unsubscribe();
    }
  }

  /** The propagation consumer's sink: whole commands into the stream. */
  private propagated(data: Buffer, start: number, end: number): void {
    // The Buffer is reused after this call; the stream may keep these bytes (replicas that wait
    // for their RDB), so they are copied once.
    this.feedStream(Buffer.from(data.subarray(start, end)));
    // A drain inside a command's execution hands over what that client's commands propagated.
    const current = this.server.current;
    if (current && !current.isMaster) this.writers.add(current);
  }

  /**
   * After `client`'s batch (and before its WAIT): if it left propagated writes waiting for the next drain, its WAIT
   * offset (Redis's c->woff) is the stream's offset once they are in (conservative: other
   * clients' writes of the same turn may come with them).
   */
  noteWrites(client: Client): void {
    if (this.consumer && !client.isMaster && this.server.propagation.waiting) this.writers.add(client);
  }

  /**
   * Everything executed so far into the stream, and the WAIT offsets of the clients whose
   * writes it carried. Before an offset is read for a sync, before a fork, before WAIT.
   */
  settle(): void {
    this.server.propagation.drain();
    if (this.writers.size === 0) return;
    const offset = this.state.masterReplOffset;
    for (const client of this.writers) client.woff = offset;
    this.writers.clear();
  }

  /** The stream that follows starts with a SELECT (a full resync begins). */
  resetStreamDb(): void {
    this.consumer?.resetSelectedDb();
  }

  /** Bytes of the stream: into the backlog (moving the offset), then to every replica. */
  feedStream(data: Buffer): void {
    this.state.advance(data);
    this.master.sendToReplicas(data);
  }

  /** What the start-up load does with the keys whose TTL passed (a master also records their DELs). */
  expiredAtStartup(): ExpiredAtLoad {
    if (this.isReplica()) return 'keep';
    return { cap: this.server.config.int(REPL_BACKLOG_SIZE), unlink: this.server.config.bool(LAZYFREE_LAZY_EXPIRE) };
  }

  /**
   * At start-up, the replication position an RDB was saved at (loadDataFromDisk): a replica
   * caches a master of it; a master keeps it as id 2 and continues its offset from it, so that
   * its old replicas resync partially after a restart. Its backlog starts with the DELs of the
   * keys that expired while the file loaded (they reach those replicas first); when they
   * outgrew it, the backlog is empty past them and the replicas resync fully.
   */
  restoreFromRdb(report: RdbLoadReport): void {
    if (this.isReplica()) return this.replica.restoreFromRdb(report);
    if (!report.replId || typeof report.replOffset !== 'number') return;
    if (typeof report.replStreamDb !== 'number' || report.replStreamDb < 0) return;
    // Keys dropped without their DELs (an addon that does not record them): a new history.
    const dels = report.expiredDels;
    if (report.keysExpired > 0 && !dels) return;
    const st = this.state;
    if (dels && dels.bytes > 0) {
      if (dels.stream) {
        if (!st.backlog) st.createBacklog(this.server.config.int(REPL_BACKLOG_SIZE));
        st.advance(dels.stream);
        // The stream goes on in the database the DELs selected last, as Redis's slaveseldb.
        if (this.consumer) this.consumer.selectedDb = dels.db;
      } else {
        // They outgrew the backlog: it starts after them, and no replica continues.
        if (st.backlog) st.freeBacklog();
        st.masterReplOffset += dels.bytes;
      }
    }
    st.replid2 = report.replId;
    st.secondReplOffset = report.replOffset + 1;
    st.masterReplOffset += report.replOffset;
    if (st.backlog) st.backlog.offset = st.masterReplOffset - st.backlog.histlen + 1;
    else st.createBacklog(this.server.config.int(REPL_BACKLOG_SIZE));
    this.master.noReplicasSince = Math.floor(Date.now() / 1000);
  }

  /**
   * DEBUG REPLICATE: a command made up by the caller joins the stream in the stream's current
   * db, as replicationFeedSlaves with slaveseldb (a replica, or a master with neither backlog
   * nor replicas, feeds nothing).
   */
  feedCommand(argv: Buffer[]): void {
    if (this.isReplica() || (!this.state.backlog && this.master.replicas.length === 0)) return;
    this.settle();
    const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
    for (const a of argv) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
    this.feedStream(Buffer.concat(parts));
  }

  /** rdbPopulateSaveInfo: the replication position an RDB saved now corresponds to, or null. */
  saveInfo(): [number, string, number] | null {
    const st = this.state;
    if (!this.isReplica() && st.backlog) {
      this.settle();
      const streamDb = this.consumer?.selectedDb ?? -1;
      return [streamDb === -1 ? 0 : streamDb, st.replid, st.masterReplOffset];
    }
    const master = this.replica.master;
    if (master) return [master.db, st.replid, st.masterReplOffset];
    if (this.replica.cached) return [this.replica.cached.db, st.replid, st.masterReplOffset];
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // Roles

  /** REPLICAOF host port / NO ONE (`host` null). Returns the reply text (+OK or an error). */
  replicaof(client: Client, target: { host: string; port: number } | null): string {
    const replica = this.replica;
    // What ran before the change belongs to the history (and the replicas) we had.
    this.settle();
    if (target === null) {
      if (this.isReplica()) {
        this.promote();
        this.server.log.notice(`MASTER MODE enabled (user request from '${clientInfoLine(this.server, client, null)}')`);
      }
      return '+OK';
    }
    if (replica.masterHost !== null && replica.masterHost.toLowerCase() === target.host.toLowerCase() && replica.masterPort === target.port) {
      this.server.log.notice('REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.');
      return '+OK Already connected to specified master';
    }
    this.follow(target.host, target.port);
    this.server.log.notice(`REPLICAOF ${target.host}:${target.port} enabled (user request from '${clientInfoLine(this.server, client, null)}')`);
    return '+OK';
  }

  /** replicationSetMaster with what comes with it: become the replica of host:port. */
  private follow(host: string, port: number): void {
    this.settle();
    this.roleChanged({ host, port });
    this.replica.setMaster(host, port);
    this.updatePropagation();
  }

  /** Cluster mode's replicationSetMaster (CLUSTER REPLICATE, a failover's loser). */
  followForCluster(host: string, port: number): void {
    this.follow(host, port);
  }

  /** Cluster mode's replicationUnsetMaster (CLUSTER RESET of a replica, a won failover). */
  unsetMasterForCluster(): void {
    this.promote();
  }

  /** replicationUnsetMaster with what comes with it: a master again, continuing the history. */
  private promote(): void {
    if (!this.isReplica()) return;
    this.roleChanged(null);
    this.replica.unsetMaster();
    this.updatePropagation();
    this.master.noReplicasSince = Math.floor(Date.now() / 1000);
  }

  /** What comes with a change of role: config replicaof, the log's role letter, key expiry. */
  private roleChanged(target: { host: string; port: number } | null): void {
    this.server.config.setByServer(REPLICAOF, target);
    this.server.log.role = target ? 'S' : 'M';
    native.setExpiry(target ? EXPIRY_LOGICAL : EXPIRY_DELETE);
    for (const listener of this.roleListeners) listener(target !== null);
  }

  /** ROLE. */
  role(out: ReplyWriter): void {
    const replica = this.replica;
    if (!this.isReplica()) {
      const online = this.master.onlineReplicas();
      out.array(3);
      out.bulk('master');
      out.int(this.state.masterReplOffset);
      out.array(online.length);
      for (const link of online) {
        out.array(3);
        out.bulk(link.ip);
        out.bulk(String(link.listeningPort));
        out.bulk(String(link.ackOffset));
      }
      return;
    }
    out.array(5);
    out.bulk('slave');
    out.bulk(replica.masterHost!);
    out.int(replica.masterPort);
    out.bulk(replica.roleState());
    out.int(replica.master?.masterLink ? replica.master.masterLink.reploff : -1);
  }

  // ---------------------------------------------------------------------------------------
  // Which commands may run

  /**
   * processCommand's replication checks for a write (`isWrite`): NOREPLICAS, then READONLY.
   * Our master's own stream is never refused.
   */
  writeRefusal(client: Client): string | null {
    if (client.isMaster) return null;
    if (!this.master.enoughGoodReplicas()) return NOREPLICAS_ERROR;
    if (this.isReplica() && this.server.config.bool(REPLICA_READ_ONLY)) return READONLY_ERROR;
    return null;
  }

  /**
   * The script-run flags for `client` (scriptVerifyWriteCommandAllow): its scripts' writes get
   * READONLY on a read-only replica and NOREPLICAS without enough good replicas. What the
   * master sends, or the AOF replays, is obeyed (mustObeyClient).
   */
  scriptFlags(client: Client): number {
    if (client.isMaster) return 0;
    let flags = 0;
    if (!this.master.enoughGoodReplicas()) flags |= SCRIPT_NOREPLICAS;
    if (client.mustObey) return flags; // the AOF's scripts
    if (this.isReplica() && this.server.config.bool(REPLICA_READ_ONLY)) flags |= SCRIPT_READONLY_REPLICA;
    if (this.servesNoStaleData()) flags |= SCRIPT_STALE;
    return flags;
  }

  /** A replica whose link is down, with replica-serve-stale-data no (Redis's running_stale). */
  servesNoStaleData(): boolean {
    return this.isReplica() && this.replica.linkState !== 'connected' && !this.server.config.bool(REPLICA_SERVE_STALE_DATA);
  }

  /**
   * replica-serve-stale-data no: with the link down only commands flagged `stale` run, and EXEC
   * only when its queue (`queuedNotStale`: it holds a command not so flagged) would.
   */
  staleRefusal(cmd: Command, queuedNotStale = false, req?: Request): string | null {
    if (!this.servesNoStaleData()) return null;
    // A script declaring flags is stale-allowed by allow-stale only.
    const stale = (req && this.server.scripting.declaredStale(cmd, req)) ?? cmd.flags.has('stale');
    if (stale && !queuedNotStale) return null;
    return MASTERDOWN_ERROR;
  }

  /** The fast path runs no write for `client` (null: any client of ours) while writes may be refused to it. */
  writesMayBeRefused(client: Client | null): boolean {
    if (client?.isMaster) return false;
    return this.isReplica() || !this.master.enoughGoodReplicas();
  }

  /** Nothing but `stale` commands may run (the fast path stays closed). */
  servingStaleRefused(): boolean {
    return this.isReplica() && this.replica.linkState !== 'connected' && !this.server.config.bool(REPLICA_SERVE_STALE_DATA);
  }

  // ---------------------------------------------------------------------------------------
  // Housekeeping

  clientFreed(client: Client): void {
    if (client.isMaster) this.replica.masterClientFreed(client);
    else this.master.clientFreed(client);
    if (client.blocked?.wait) this.master.forgetWaiting(client);
    this.writers.delete(client);
  }

  /** replicationCron, once a second. */
  cron(): void {
    this.failover.update();
    this.replica.cron();
    this.master.cron();
  }

  /** The part of the cron that runs while a dataset loads: a replica's transfer timeout. */
  transferCron(): void {
    this.replica.transferCron();
  }

  // ---------------------------------------------------------------------------------------
  // INFO

  /** INFO replication, field for field as Redis 7.0. */
  infoLines(): string[] {
    const st = this.state;
    const replica = this.replica;
    const cfg = this.server.config;
    const now = Math.floor(Date.now() / 1000);
    const lines: string[] = [`role:${this.isReplica() ? 'slave' : 'master'}`];
    if (this.isReplica()) {
      const link = replica.master?.masterLink ?? replica.cached;
      const replOffset = link ? link.reploff : 1;
      const readOffset = link ? link.readReploff : 1;
      lines.push(
        `master_host:${replica.masterHost}`,
        `master_port:${replica.masterPort}`,
        `master_link_status:${replica.linkState === 'connected' ? 'up' : 'down'}`,
        `master_last_io_seconds_ago:${replica.master ? now - Math.floor(replica.master.lastInteraction / 1000) : -1}`,
        `master_sync_in_progress:${replica.linkState === 'transfer' ? 1 : 0}`,
        `slave_read_repl_offset:${readOffset}`,
        `slave_repl_offset:${replOffset}`,
      );
      const progress = replica.transferProgress;
      if (progress) {
        const perc = progress.size ? (progress.read / progress.size) * 100 : 0;
        lines.push(
          `master_sync_total_bytes:${progress.size}`,
          `master_sync_read_bytes:${progress.read}`,
          `master_sync_left_bytes:${progress.size - progress.read}`,
          `master_sync_perc:${perc.toFixed(2)}`,
          `master_sync_last_io_seconds_ago:${now - replica.lastIo}`,
        );
      }
      if (replica.linkState !== 'connected') {
        lines.push(`master_link_down_since_seconds:${replica.downSince ? now - replica.downSince : -1}`);
      }
      lines.push(
        `slave_priority:${cfg.int(REPLICA_PRIORITY)}`,
        `slave_read_only:${cfg.bool(REPLICA_READ_ONLY) ? 1 : 0}`,
        `replica_announced:${cfg.bool(REPLICA_ANNOUNCED) ? 1 : 0}`,
      );
    }
    lines.push(`connected_slaves:${this.master.replicas.length}`);
    if (this.master.minReplicasEnforced()) {
      lines.push(`min_slaves_good_slaves:${this.master.goodReplicas}`);
    }
    lines.push(...this.master.infoLines());
    lines.push(
      `master_failover_state:${this.failover.state}`,
      `master_replid:${st.replid}`,
      `master_replid2:${st.replid2}`,
      `master_repl_offset:${st.masterReplOffset}`,
      `second_repl_offset:${st.secondReplOffset}`,
      `repl_backlog_active:${st.backlog ? 1 : 0}`,
      `repl_backlog_size:${cfg.int(REPL_BACKLOG_SIZE)}`,
      `repl_backlog_first_byte_offset:${st.backlog ? st.backlog.offset : 0}`,
      `repl_backlog_histlen:${st.backlog ? st.backlog.histlen : 0}`,
    );
    return lines;
  }
}
