// Replica failover (cluster.c's SLAVE and manual failover parts): a replica whose master is
// FAIL asks the masters for votes (FAILOVER_AUTH_REQUEST), a master grants at most one vote per
// epoch (FAILOVER_AUTH_ACK), the winner takes its master's slots with the election's epoch and
// tells everybody with PONGs. CLUSTER FAILOVER [FORCE|TAKEOVER] runs the manual variant
// (MFSTART: the master pauses writes and announces its offset), and orphaned masters get a
// replica from the master with the most (replica migration).
import { consume } from '../../config/consumers';
import type { Cluster } from '../index';
import {
  CANT_FAILOVER_DATA_AGE,
  CANT_FAILOVER_EXPIRED,
  CANT_FAILOVER_NONE,
  CANT_FAILOVER_WAITING_DELAY,
  CANT_FAILOVER_WAITING_VOTES,
  CLUSTER_OK,
  CLUSTER_SLOTS,
  type ClusterNode,
  NODE_NOFAILOVER,
  TODO_FSYNC_CONFIG,
  TODO_HANDLE_FAILOVER,
  TODO_HANDLE_MANUALFAILOVER,
  TODO_SAVE_CONFIG,
  TODO_UPDATE_STATE,
} from '../state';
import { MFLAG0_FORCEACK, MSG_FAILOVER_AUTH_ACK, MSG_FAILOVER_AUTH_REQUEST, MSG_MFSTART, type ClusterMsg } from './message';

const REPL_PING_PERIOD = consume('repl-ping-replica-period', 'test/server/replication.test.ts');
const FAILOVER_TEST = 'test/server/cluster-failover.test.ts';
const NO_FAILOVER = consume('cluster-replica-no-failover', FAILOVER_TEST);
const MIGRATION_BARRIER = consume('cluster-migration-barrier', FAILOVER_TEST);
const ALLOW_MIGRATION = consume('cluster-allow-replica-migration', FAILOVER_TEST);
const VALIDITY_FACTOR = consume('cluster-replica-validity-factor', FAILOVER_TEST);

/** CLUSTER_MF_TIMEOUT. */
/** clusterUpdateSlotsConfigWith's migration rule reads it too. */
export function allowReplicaMigration(cluster: Cluster): boolean {
  return cluster.server.config.bool(ALLOW_MIGRATION);
}

export const MF_TIMEOUT = 5000;
/** CLUSTER_MF_PAUSE_MULT. */
const MF_PAUSE_MULT = 2;
/** CLUSTER_SLAVE_MIGRATION_DELAY. */
const MIGRATION_DELAY = 5000;
/** CLUSTER_CANT_FAILOVER_RELOG_PERIOD (seconds). */
const RELOG_PERIOD = 60 * 5;

/** What failover needs from the bus. */
export interface FailoverBus {
  header(type: number): ClusterMsg;
  encode(m: ClusterMsg): Buffer;
  broadcast(msg: Buffer): void;
  sendTo(node: ClusterNode, msg: Buffer): void;
  broadcastPong(localSlavesOnly: boolean): void;
  setMaster(node: ClusterNode): void;
}

export class Failover {
  private lastLogTime = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly bus: FailoverBus,
  ) {
    this.updateMyselfFlags();
    cluster.server.config.onChange(NO_FAILOVER, () => this.updateMyselfFlags());
  }

  /** clusterUpdateMyselfFlags: myself carries NOFAILOVER while cluster-replica-no-failover is set (peers see it). */
  updateMyselfFlags(): void {
    const myself = this.myself;
    const old = myself.flags;
    myself.flags &= ~NODE_NOFAILOVER;
    if (this.cluster.server.config.bool(NO_FAILOVER)) myself.flags |= NODE_NOFAILOVER;
    if (myself.flags !== old) this.state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
  }

  private get state() {
    return this.cluster.state;
  }

  private get myself() {
    return this.cluster.state.myself;
  }

  private get log() {
    return this.cluster.server.log;
  }

  private nodeTimeout(): number {
    return this.cluster.nodeTimeout;
  }

  /** replicationGetSlaveOffset. */
  private replicaOffset(): bigint {
    const repl = this.cluster.server.replication;
    const link = repl.replica.master?.masterLink ?? repl.replica.cached;
    return BigInt(link ? link.reploff : 0);
  }

  /** resetManualFailover. */
  resetManualFailover(): void {
    const state = this.state;
    if (state.mfSlave) this.cluster.server.clientPause.unpause('failover');
    state.mfEnd = 0;
    state.mfCanStart = 0;
    state.mfSlave = null;
    state.mfMasterOffset = -1n;
  }

  /** clusterSendFailoverAuthIfNeeded: a master's vote. */
  handleAuthRequest(node: ClusterNode, request: ClusterMsg): void {
    const state = this.state;
    const myself = this.myself;
    const master = node.slaveof;
    const requestCurrentEpoch = request.currentEpoch;
    const requestConfigEpoch = request.configEpoch;
    const forceAck = (request.mflags[0] & MFLAG0_FORCEACK) !== 0;
    if (myself.isSlave || myself.numslots === 0) return;
    if (requestCurrentEpoch < state.currentEpoch) {
      this.log.warning(`Failover auth denied to ${node.name}: reqEpoch (${requestCurrentEpoch}) < curEpoch(${state.currentEpoch})`);
      return;
    }
    if (state.lastVoteEpoch === state.currentEpoch) {
      this.log.warning(`Failover auth denied to ${node.name}: already voted for epoch ${state.currentEpoch}`);
      return;
    }
    if (node.isMaster || master === null || (!master.failed && !forceAck)) {
      if (node.isMaster) this.log.warning(`Failover auth denied to ${node.name}: it is a master node`);
      else if (master === null) this.log.warning(`Failover auth denied to ${node.name}: I don't know its master`);
      else if (!master.failed) this.log.warning(`Failover auth denied to ${node.name}: its master is up`);
      return;
    }
    const now = Date.now();
    if (now - master.votedTime < this.nodeTimeout() * 2) {
      this.log.warning(`Failover auth denied to ${node.name}: can't vote about this master before ${this.nodeTimeout() * 2 - (now - master.votedTime)} milliseconds`);
      return;
    }
    for (let j = 0; j < CLUSTER_SLOTS; j++) {
      if (!(request.myslots[j >> 3] & (1 << (j & 7)))) continue;
      const owner = state.slots[j];
      if (owner === null || owner.configEpoch <= requestConfigEpoch) continue;
      this.log.warning(`Failover auth denied to ${node.name}: slot ${j} epoch (${owner.configEpoch}) > reqEpoch (${requestConfigEpoch})`);
      return;
    }
    state.lastVoteEpoch = state.currentEpoch;
    master.votedTime = now;
    state.todo(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
    this.bus.sendTo(node, this.bus.encode(this.bus.header(MSG_FAILOVER_AUTH_ACK)));
    this.log.warning(`Failover auth granted to ${node.name} for epoch ${state.currentEpoch}`);
  }

  /** A FAILOVER_AUTH_ACK: counted when it comes from a master with slots, for our election. */
  handleAuthAck(sender: ClusterNode, senderCurrentEpoch: bigint): void {
    const state = this.state;
    if (sender.isMaster && sender.numslots > 0 && senderCurrentEpoch >= state.failoverAuthEpoch) {
      state.failoverAuthCount++;
      state.todo(TODO_HANDLE_FAILOVER);
    }
  }

  /** MFSTART from one of our replicas: pause writes and let it catch up. */
  handleMfStart(sender: ClusterNode): boolean {
    const state = this.state;
    if (sender.slaveof !== this.myself) return false;
    this.resetManualFailover();
    const now = Date.now();
    state.mfEnd = now + MF_TIMEOUT;
    state.mfSlave = sender;
    this.cluster.server.clientPause.pause('failover', now + MF_TIMEOUT * MF_PAUSE_MULT, 'write');
    this.log.warning(`Manual failover requested by replica ${sender.name}.`);
    return true;
  }

  /** A packet from our master flagged PAUSED during a manual failover: its final offset. */
  handlePausedOffset(sender: ClusterNode): void {
    const state = this.state;
    if (state.mfEnd && this.myself.isSlave && this.myself.slaveof === sender && state.mfMasterOffset === -1n) {
      state.mfMasterOffset = sender.replOffset;
      state.todo(TODO_HANDLE_MANUALFAILOVER);
      this.log.warning(`Received replication offset for paused master manual failover: ${state.mfMasterOffset}`);
    }
  }

  /** clusterGetSlaveRank. */
  private rank(): number {
    const master = this.myself.slaveof;
    if (!master) return 0;
    const myoffset = this.replicaOffset();
    let rank = 0;
    for (const s of master.slaves) {
      if (s !== this.myself && !s.cantFailover && s.replOffset > myoffset) rank++;
    }
    return rank;
  }

  /** clusterLogCantFailover. */
  private logCantFailover(reason: number): void {
    const state = this.state;
    const nologFailTime = this.nodeTimeout() + 5000;
    const nowSec = Math.floor(Date.now() / 1000);
    if (reason === state.cantFailoverReason && nowSec - this.lastLogTime < RELOG_PERIOD) return;
    state.cantFailoverReason = reason;
    const master = this.myself.slaveof;
    if (master && master.failed && Date.now() - master.failTime < nologFailTime) return;
    let msg: string;
    switch (reason) {
      case CANT_FAILOVER_DATA_AGE:
        msg = "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.";
        break;
      case CANT_FAILOVER_WAITING_DELAY:
        msg = 'Waiting the delay before I can start a new failover.';
        break;
      case CANT_FAILOVER_EXPIRED:
        msg = 'Failover attempt expired.';
        break;
      case CANT_FAILOVER_WAITING_VOTES:
        msg = 'Waiting for votes, but majority still not reached.';
        break;
      default:
        msg = 'Unknown reason code.';
    }
    this.lastLogTime = nowSec;
    this.log.warning(`Currently unable to failover: ${msg}`);
  }

  /** clusterFailoverReplaceYourMaster. */
  private replaceMaster(): void {
    const state = this.state;
    const myself = this.myself;
    const oldmaster = myself.slaveof;
    if (myself.isMaster || oldmaster === null) return;
    state.setNodeAsMaster(myself);
    this.cluster.server.replication.unsetMasterForCluster();
    for (let j = 0; j < CLUSTER_SLOTS; j++) {
      if (oldmaster.hasSlot(j)) {
        state.delSlot(j);
        state.addSlot(myself, j);
      }
    }
    state.updateState();
    this.cluster.saveConfigOrDie(true);
    this.bus.broadcastPong(false);
    this.resetManualFailover();
  }

  /** clusterHandleSlaveFailover. */
  handleSlaveFailover(): void {
    const state = this.state;
    const myself = this.myself;
    const now = Date.now();
    const authAge = now - state.failoverAuthTime;
    const neededQuorum = Math.floor(state.size / 2) + 1;
    const manual = state.mfEnd !== 0 && state.mfCanStart !== 0;
    const config = this.cluster.server.config;
    state.todoBeforeSleep &= ~TODO_HANDLE_FAILOVER;
    let authTimeout = this.nodeTimeout() * 2;
    if (authTimeout < 2000) authTimeout = 2000;
    const authRetryTime = authTimeout * 2;
    const master = myself.slaveof;
    if (myself.isMaster || master === null || (!master.failed && !manual) || (config.bool(NO_FAILOVER) && !manual) || master.numslots === 0) {
      state.cantFailoverReason = CANT_FAILOVER_NONE;
      return;
    }
    const replica = this.cluster.server.replication.replica;
    const nowSec = Math.floor(now / 1000);
    let dataAge: number;
    if (replica.master) dataAge = (nowSec - Math.floor(replica.master.lastInteraction / 1000)) * 1000;
    else dataAge = (nowSec - replica.downSince) * 1000;
    if (dataAge > this.nodeTimeout()) dataAge -= this.nodeTimeout();
    const factor = Number(config.int(VALIDITY_FACTOR));
    if (factor && dataAge > Number(config.int(REPL_PING_PERIOD)) * 1000 + this.nodeTimeout() * factor) {
      if (!manual) {
        this.logCantFailover(CANT_FAILOVER_DATA_AGE);
        return;
      }
    }
    if (authAge > authRetryTime) {
      state.failoverAuthTime = now + 500 + Math.floor(Math.random() * 500);
      state.failoverAuthCount = 0;
      state.failoverAuthSent = 0;
      state.failoverAuthRank = this.rank();
      state.failoverAuthTime += state.failoverAuthRank * 1000;
      if (state.mfEnd) {
        state.failoverAuthTime = Date.now();
        state.failoverAuthRank = 0;
        state.todo(TODO_HANDLE_FAILOVER);
      }
      this.log.warning(`Start of election delayed for ${state.failoverAuthTime - Date.now()} milliseconds (rank #${state.failoverAuthRank}, offset ${this.replicaOffset()}).`);
      this.bus.broadcastPong(true);
      return;
    }
    if (state.failoverAuthSent === 0 && state.mfEnd === 0) {
      const newrank = this.rank();
      if (newrank > state.failoverAuthRank) {
        const added = (newrank - state.failoverAuthRank) * 1000;
        state.failoverAuthTime += added;
        state.failoverAuthRank = newrank;
        this.log.warning(`Replica rank updated to #${newrank}, added ${added} milliseconds of delay.`);
      }
    }
    if (Date.now() < state.failoverAuthTime) {
      this.logCantFailover(CANT_FAILOVER_WAITING_DELAY);
      return;
    }
    if (authAge > authTimeout) {
      this.logCantFailover(CANT_FAILOVER_EXPIRED);
      return;
    }
    if (state.failoverAuthSent === 0) {
      state.currentEpoch++;
      state.failoverAuthEpoch = state.currentEpoch;
      this.log.warning(`Starting a failover election for epoch ${state.currentEpoch}.`);
      const req = this.bus.header(MSG_FAILOVER_AUTH_REQUEST);
      if (state.mfEnd) req.mflags[0] |= MFLAG0_FORCEACK;
      this.bus.broadcast(this.bus.encode(req));
      state.failoverAuthSent = 1;
      state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
      return;
    }
    if (state.failoverAuthCount >= neededQuorum) {
      this.log.warning("Failover election won: I'm the new master.");
      if (myself.configEpoch < state.failoverAuthEpoch) {
        myself.configEpoch = state.failoverAuthEpoch;
        this.log.warning(`configEpoch set to ${myself.configEpoch} after successful failover`);
      }
      this.replaceMaster();
    } else {
      this.logCantFailover(CANT_FAILOVER_WAITING_VOTES);
    }
  }

  /** clusterHandleManualFailover. */
  handleManualFailover(): void {
    const state = this.state;
    if (state.mfEnd === 0) return;
    if (state.mfCanStart) return;
    if (state.mfMasterOffset === -1n) return;
    if (state.mfMasterOffset === this.replicaOffset()) {
      state.mfCanStart = 1;
      this.log.warning('All master replication stream processed, manual failover can start.');
      state.todo(TODO_HANDLE_FAILOVER);
      return;
    }
    state.todo(TODO_HANDLE_MANUALFAILOVER);
  }

  /** manualFailoverCheckTimeout. */
  checkManualTimeout(): void {
    const state = this.state;
    if (state.mfEnd && state.mfEnd < Date.now()) {
      this.log.warning('Manual failover timed out.');
      this.resetManualFailover();
    }
  }

  /** clusterBeforeSleep's failover part. */
  beforeSleep(flags: number): void {
    if (flags & TODO_HANDLE_MANUALFAILOVER) {
      if (this.myself.isSlave) {
        this.handleManualFailover();
        this.handleSlaveFailover();
      }
    } else if (flags & TODO_HANDLE_FAILOVER) {
      this.handleSlaveFailover();
    }
  }

  /** clusterCron's replica part: manual failover, election, migration. */
  cron(orphanedMasters: number, maxSlaves: number, thisSlaves: number): void {
    this.checkManualTimeout();
    if (!this.myself.isSlave) return;
    this.handleManualFailover();
    this.handleSlaveFailover();
    if (orphanedMasters && maxSlaves >= 2 && thisSlaves === maxSlaves && this.cluster.server.config.bool(ALLOW_MIGRATION)) {
      this.handleSlaveMigration(maxSlaves);
    }
  }

  /** clusterHandleSlaveMigration. */
  private handleSlaveMigration(maxSlaves: number): void {
    const state = this.state;
    const myself = this.myself;
    const mymaster = myself.slaveof;
    if (state.state !== CLUSTER_OK) return;
    if (mymaster === null) return;
    let okslaves = 0;
    for (const s of mymaster.slaves) if (!s.failed && !s.timedOut) okslaves++;
    if (okslaves <= Number(this.cluster.server.config.int(MIGRATION_BARRIER))) return;
    let candidate: ClusterNode = myself;
    let target: ClusterNode | null = null;
    for (const node of state.nodes.values()) {
      let ok = 0;
      let orphaned = true;
      if (node.isSlave || node.failed) orphaned = false;
      if (!(node.flags & 256 /* MIGRATE_TO */)) orphaned = false;
      if (node.isMaster) ok = node.nonFailingSlaves();
      if (ok > 0) orphaned = false;
      if (orphaned) {
        if (!target && node.numslots > 0) target = node;
        if (!node.orphanedTime) node.orphanedTime = Date.now();
      } else {
        node.orphanedTime = 0;
      }
      if (ok === maxSlaves) {
        for (const s of node.slaves) if (s.name < candidate.name) candidate = s;
      }
    }
    if (target && candidate === myself && Date.now() - target.orphanedTime > MIGRATION_DELAY) {
      this.log.warning(`Migrating to orphaned master ${target.name}`);
      this.bus.setMaster(target);
    }
  }

  /** CLUSTER FAILOVER [FORCE|TAKEOVER] once its checks passed. */
  start(force: boolean, takeover: boolean): void {
    const state = this.state;
    this.resetManualFailover();
    state.mfEnd = Date.now() + MF_TIMEOUT;
    if (takeover) {
      this.log.warning('Taking over the master (user request).');
      state.bumpConfigEpochWithoutConsensus();
      this.replaceMaster();
    } else if (force) {
      this.log.warning('Forced failover user request accepted.');
      state.mfCanStart = 1;
    } else {
      this.log.warning('Manual failover user request accepted.');
      const master = this.myself.slaveof;
      if (master) this.bus.sendTo(master, this.bus.encode(this.bus.header(MSG_MFSTART)));
    }
  }
}
