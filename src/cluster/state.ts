// The cluster's model as one node sees it: Redis's clusterState and clusterNode (cluster.h),
// with the mutations cluster.c makes on them. Two helpers share it: core (the config file,
// CLUSTER's slot commands, redirection) and bus (src/cluster/bus/: links, gossip, failure
// detection, failover). Neither keeps a second copy of any of this; bus's per-link state
// hangs off ClusterNode.link / inboundLink, typed by bus.
//
// Mutations that Redis follows with clusterDoBeforeSleep(flags) call todo() here; core's
// before-sleep task runs them (update the state, save and fsync nodes.conf) once per loop.
import { randomBytes } from 'node:crypto';

export const CLUSTER_SLOTS = 16384;
export const CLUSTER_NAMELEN = 40;
export const CLUSTER_OK = 0;
export const CLUSTER_FAIL = 1;
/** Redis's CLUSTER_PORT_INCR: the bus port when cluster-port is 0. */
export const CLUSTER_PORT_INCR = 10000;

// clusterNode.flags (CLUSTER_NODE_*), the same bits as Redis: bus sends them in gossip.
export const NODE_MASTER = 1;
export const NODE_SLAVE = 2;
export const NODE_PFAIL = 4;
export const NODE_FAIL = 8;
export const NODE_MYSELF = 16;
export const NODE_HANDSHAKE = 32;
export const NODE_NOADDR = 64;
export const NODE_MEET = 128;
export const NODE_MIGRATE_TO = 256;
export const NODE_NOFAILOVER = 512;

// clusterState.todo_before_sleep (CLUSTER_TODO_*).
export const TODO_HANDLE_FAILOVER = 1 << 0;
export const TODO_UPDATE_STATE = 1 << 1;
export const TODO_SAVE_CONFIG = 1 << 2;
export const TODO_FSYNC_CONFIG = 1 << 3;
export const TODO_HANDLE_MANUALFAILOVER = 1 << 4;

/** Redis's CLUSTERMSG_TYPE_COUNT: the per-type message counters of CLUSTER INFO. */
export const CLUSTERMSG_TYPE_COUNT = 11;
/** CLUSTER_BLACKLIST_TTL: seconds a forgotten node is not re-added by gossip. */
export const CLUSTER_BLACKLIST_TTL = 60;
/** CLUSTER_FAIL_REPORT_VALIDITY_MULT: fail reports live node_timeout * this. */
export const CLUSTER_FAIL_REPORT_VALIDITY_MULT = 2;
// clusterUpdateState's delays (ms).
const CLUSTER_MAX_REJOIN_DELAY = 5000;
const CLUSTER_MIN_REJOIN_DELAY = 500;
const CLUSTER_WRITABLE_DELAY = 2000;

// cant_failover_reason (CLUSTER_CANT_FAILOVER_*).
export const CANT_FAILOVER_NONE = 0;
export const CANT_FAILOVER_DATA_AGE = 1;
export const CANT_FAILOVER_WAITING_DELAY = 2;
export const CANT_FAILOVER_EXPIRED = 3;
export const CANT_FAILOVER_WAITING_VOTES = 4;

/** What the model needs from the rest of the server (keyspace, config, log, clock). */
export interface ClusterEnv {
  /** Keys of `slot` in db 0 (countKeysInSlot). */
  countKeysInSlot(slot: number): number;
  /** Deletes every key of `slot` (delKeysInSlot: propagated as DELs); returns how many. */
  delKeysInSlot(slot: number): number;
  /** A slot left this node's shard: its shard channels' subscribers are unsubscribed (removeChannelsInSlot). */
  slotLeftShard(slot: number): void;
  /** The slots this node serves changed (the fast paths' bitmap, redirection caches). */
  slotsChanged(): void;
  nodeTimeout(): number;
  requireFullCoverage(): boolean;
  log(level: 'debug' | 'verbose' | 'notice' | 'warning', message: string): void;
  /** state.todo() was called: a before-sleep pass must run soon. */
  beforeSleepNeeded(): void;
  /** mstime(). */
  now(): number;
}

/** Opaque to core: bus's link objects. */
export interface ClusterLinkLike {
  readonly ctime?: number;
}

export interface FailReport {
  node: ClusterNode;
  time: number;
}

/** A 40-hex node name from the OS's randomness (getRandomHexChars). */
export function randomNodeName(): string {
  return randomBytes(CLUSTER_NAMELEN / 2).toString('hex');
}

/**
 * The set bits of a slot bitmap (slot s: byte s>>3, bit s&7) as ascending [start, end] ranges.
 * Whole bytes of 0x00 or 0xff are taken eight slots at a time: nodes.conf and CLUSTER NODES
 * print every node's ranges after each slot change, and bit by bit that was 16384 tests a node.
 */
export function slotRangesOf(bitmap: Uint8Array): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < bitmap.length; i++) {
    const byte = bitmap[i];
    const base = i << 3;
    if (byte === 0xff) {
      if (start === -1) start = base;
      continue;
    }
    if (byte === 0) {
      if (start !== -1) {
        ranges.push([start, base - 1]);
        start = -1;
      }
      continue;
    }
    for (let b = 0; b < 8; b++) {
      const set = (byte & (1 << b)) !== 0;
      if (set && start === -1) start = base + b;
      else if (!set && start !== -1) {
        ranges.push([start, base + b - 1]);
        start = -1;
      }
    }
  }
  if (start !== -1) ranges.push([start, bitmap.length * 8 - 1]);
  return ranges;
}

export class ClusterNode {
  /** Creation time (mstime). */
  ctime: number;
  name: string;
  flags: number;
  configEpoch = 0n;
  /** The slots this node claims, one bit each (slot s: byte s>>3, bit s&7, as Redis's bitmapTestBit). */
  readonly slots = new Uint8Array(CLUSTER_SLOTS / 8);
  numslots = 0;
  slaves: ClusterNode[] = [];
  slaveof: ClusterNode | null = null;
  pingSent = 0;
  pongReceived = 0;
  dataReceived = 0;
  failTime = 0;
  votedTime = 0;
  replOffsetTime = 0;
  orphanedTime = 0;
  replOffset = 0n;
  ip = '';
  hostname = '';
  /** Clients' port (TLS's when tls-cluster), pport the plaintext one, cport the bus's. */
  port = 0;
  pport = 0;
  cport = 0;
  link: ClusterLinkLike | null = null;
  inboundLink: ClusterLinkLike | null = null;
  failReports: FailReport[] = [];

  constructor(name: string | null, flags: number, now: number) {
    this.name = name ?? randomNodeName();
    this.flags = flags;
    this.ctime = now;
  }

  get isMaster(): boolean { return (this.flags & NODE_MASTER) !== 0; }
  get isSlave(): boolean { return (this.flags & NODE_SLAVE) !== 0; }
  get inHandshake(): boolean { return (this.flags & NODE_HANDSHAKE) !== 0; }
  get hasAddr(): boolean { return (this.flags & NODE_NOADDR) === 0; }
  get timedOut(): boolean { return (this.flags & NODE_PFAIL) !== 0; }
  get failed(): boolean { return (this.flags & NODE_FAIL) !== 0; }
  get cantFailover(): boolean { return (this.flags & NODE_NOFAILOVER) !== 0; }

  hasSlot(slot: number): boolean {
    return (this.slots[slot >> 3] & (1 << (slot & 7))) !== 0;
  }

  /** clusterNodeSetSlotBit's bit part: true when it was already set. */
  setSlotBit(slot: number): boolean {
    const old = this.hasSlot(slot);
    this.slots[slot >> 3] |= 1 << (slot & 7);
    if (!old) this.numslots++;
    return old;
  }

  /** clusterNodeClearSlotBit: true when it was set. */
  clearSlotBit(slot: number): boolean {
    const old = this.hasSlot(slot);
    this.slots[slot >> 3] &= ~(1 << (slot & 7));
    if (old) this.numslots--;
    return old;
  }

  /** The claimed slots as [start, end] ranges (clusterGenNodesSlotsInfo's pairs). */
  slotRanges(): Array<[number, number]> {
    return slotRangesOf(this.slots);
  }

  /** clusterCountNonFailingSlaves. */
  nonFailingSlaves(): number {
    let n = 0;
    for (const s of this.slaves) if (!s.failed) n++;
    return n;
  }
}

export class ClusterState {
  /** This node (set by the constructor, or by the nodes.conf loader). */
  myself!: ClusterNode;
  currentEpoch = 0n;
  state = CLUSTER_FAIL;
  /** Masters serving at least one slot (clusterUpdateState). */
  size = 1;
  readonly nodes = new Map<string, ClusterNode>();
  /** Forgotten nodes: name -> expiry (unix seconds), as nodes_black_list. */
  readonly blacklist = new Map<string, number>();
  // Open slots: written only through setMigrating / setImporting / closeSlot / closeAllSlots,
  // which keep `openSlots` (the slots with either entry set) exact, so that what prints or
  // serves open slots visits those few instead of all 16384.
  private readonly migrating: Array<ClusterNode | null> = new Array(CLUSTER_SLOTS).fill(null);
  private readonly importing: Array<ClusterNode | null> = new Array(CLUSTER_SLOTS).fill(null);
  readonly migratingSlotsTo: ReadonlyArray<ClusterNode | null> = this.migrating;
  readonly importingSlotsFrom: ReadonlyArray<ClusterNode | null> = this.importing;
  private readonly open = new Set<number>();
  /** Slot owners: written only through addSlot / delSlot, which keep `owners` and `assigned`. */
  private readonly owners_: Array<ClusterNode | null> = new Array(CLUSTER_SLOTS).fill(null);
  readonly slots: ReadonlyArray<ClusterNode | null> = this.owners_;
  /** Slots with an owner, and how many each owner has (clusterUpdateState's coverage without a walk). */
  private assigned = 0;
  private readonly owners = new Map<ClusterNode, number>();
  // Elections (a replica's side).
  failoverAuthTime = 0;
  failoverAuthCount = 0;
  failoverAuthSent = 0;
  failoverAuthRank = 0;
  failoverAuthEpoch = 0n;
  cantFailoverReason = CANT_FAILOVER_NONE;
  // Manual failover.
  mfEnd = 0;
  mfSlave: ClusterNode | null = null;
  mfMasterOffset = -1n;
  mfCanStart = 0;
  /** Elections (a master's side). */
  lastVoteEpoch = 0n;
  todoBeforeSleep = 0;
  readonly statsBusMessagesSent: number[] = new Array(CLUSTERMSG_TYPE_COUNT).fill(0);
  readonly statsBusMessagesReceived: number[] = new Array(CLUSTERMSG_TYPE_COUNT).fill(0);
  statsPfailNodes = 0;
  statClusterLinksBufferLimitExceeded = 0;
  /** clusterUpdateState's statics. */
  private amongMinorityTime = 0;
  private firstUpdateTime = 0;
  /** The slots myself serves, one bit each, kept with `slots` (the fast paths' check). */
  readonly mySlots = new Uint8Array(CLUSTER_SLOTS / 8);

  /** A fresh myself (a new random name) unless `fresh` is false: the loader sets myself then. */
  constructor(readonly env: ClusterEnv, fresh = true) {
    if (fresh) {
      this.myself = new ClusterNode(null, NODE_MYSELF | NODE_MASTER, env.now());
      this.nodes.set(this.myself.name, this.myself);
    }
  }

  /** clusterDoBeforeSleep: work for the next before-sleep pass. */
  todo(flags: number): void {
    this.todoBeforeSleep |= flags;
    this.env.beforeSleepNeeded();
  }

  /** Runs before a node leaves the table (bus frees its links). */
  readonly nodeDeletionHooks: Array<(node: ClusterNode) => void> = [];

  /** Rebuilds the bitmap of myself's slots (after loading, or a change of myself). */
  recomputeMySlots(): void {
    this.mySlots.set(this.myself.slots);
    this.servedVersion++;
  }

  createNode(name: string | null, flags: number): ClusterNode {
    return new ClusterNode(name, flags, this.env.now());
  }

  /** clusterLookupNode. */
  lookupNode(name: string): ClusterNode | undefined {
    return this.nodes.get(name);
  }

  /** clusterAddNode. */
  addNode(node: ClusterNode): void {
    this.nodes.set(node.name, node);
  }

  /**
   * clusterDelNode: its importing/migrating entries and slots are dropped, its fail reports
   * about others removed, then the node (freeClusterNode: its replicas lose their master, it
   * leaves its master's list). Bus frees the node's links before calling this.
   */
  delNode(node: ClusterNode): void {
    for (const hook of this.nodeDeletionHooks) hook(node);
    for (const j of [...this.open]) {
      if (this.importing[j] === node) this.setImporting(j, null);
      if (this.migrating[j] === node) this.setMigrating(j, null);
    }
    this.delNodeSlots(node);
    for (const other of this.nodes.values()) {
      if (other !== node) this.nodeDelFailureReport(other, node);
    }
    for (const s of node.slaves) s.slaveof = null;
    if (node.isSlave && node.slaveof) this.nodeRemoveSlave(node.slaveof, node);
    this.nodes.delete(node.name);
  }

  /** clusterRenameNode: a handshake node learns its real name. */
  renameNode(node: ClusterNode, newName: string): void {
    this.env.log('debug', `Renaming node ${node.name} into ${newName}`);
    this.nodes.delete(node.name);
    node.name = newName;
    this.nodes.set(newName, node);
  }

  // ---- replicas ----

  /** clusterNodeAddSlave: false when already there. */
  nodeAddSlave(master: ClusterNode, slave: ClusterNode): boolean {
    if (master.slaves.includes(slave)) return false;
    master.slaves.push(slave);
    master.flags |= NODE_MIGRATE_TO;
    return true;
  }

  /** clusterNodeRemoveSlave: false when not there. */
  nodeRemoveSlave(master: ClusterNode, slave: ClusterNode): boolean {
    const i = master.slaves.indexOf(slave);
    if (i < 0) return false;
    master.slaves.splice(i, 1);
    if (master.slaves.length === 0) master.flags &= ~NODE_MIGRATE_TO;
    return true;
  }

  /** clusterSetNodeAsMaster. */
  setNodeAsMaster(node: ClusterNode): void {
    if (node.isMaster) return;
    if (node.slaveof) {
      this.nodeRemoveSlave(node.slaveof, node);
      if (node !== this.myself) node.flags |= NODE_MIGRATE_TO;
    }
    node.flags &= ~NODE_SLAVE;
    node.flags |= NODE_MASTER;
    node.slaveof = null;
    this.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
  }

  /** clusterMastersHaveSlaves. */
  mastersHaveSlaves(): boolean {
    for (const n of this.nodes.values()) {
      if (n.isSlave) continue;
      if (n.slaves.length) return true;
    }
    return false;
  }

  // ---- slots ----

  /** clusterAddSlot: false when the slot already has an owner. */
  addSlot(node: ClusterNode, slot: number): boolean {
    if (this.owners_[slot]) return false;
    this.nodeSetSlotBit(node, slot);
    this.owners_[slot] = node;
    this.assigned++;
    this.owners.set(node, (this.owners.get(node) ?? 0) + 1);
    if (node === this.myself) this.markMine(slot, true);
    return true;
  }

  /** clusterDelSlot: false when the slot had no owner. */
  delSlot(slot: number): boolean {
    const n = this.slots[slot];
    if (!n) return false;
    // The shard's channels of this slot go with it (Redis: when myself serves it, as master or replica).
    const master = n.isSlave && n.slaveof ? n.slaveof : n;
    if (master === this.myself || this.myself.slaveof === master) this.env.slotLeftShard(slot);
    n.clearSlotBit(slot);
    this.owners_[slot] = null;
    this.assigned--;
    const left = (this.owners.get(n) ?? 0) - 1;
    if (left > 0) this.owners.set(n, left);
    else this.owners.delete(n);
    if (n === this.myself) this.markMine(slot, false);
    return true;
  }

  /** clusterDelNodeSlots: how many were deleted. */
  delNodeSlots(node: ClusterNode): number {
    let deleted = 0;
    for (const [start, end] of node.slotRanges()) {
      for (let j = start; j <= end; j++) {
        this.delSlot(j);
        deleted++;
      }
    }
    return deleted;
  }

  /** How many slots have an owner (CLUSTER INFO's cluster_slots_assigned). */
  get assignedSlots(): number {
    return this.assigned;
  }

  /** Each node owning slots, with how many (by `slots`, as CLUSTER INFO counts them). */
  slotOwners(): ReadonlyMap<ClusterNode, number> {
    return this.owners;
  }

  /** clusterNodeSetSlotBit with its MIGRATE_TO rule for a master's first slot. */
  nodeSetSlotBit(node: ClusterNode, slot: number): boolean {
    const old = node.setSlotBit(slot);
    if (!old && node.numslots === 1 && this.mastersHaveSlaves()) node.flags |= NODE_MIGRATE_TO;
    return old;
  }

  /** clusterCloseAllSlots. */
  closeAllSlots(): void {
    for (const j of this.open) {
      if (this.migrating[j]) this.servedVersion++;
      this.migrating[j] = null;
      this.importing[j] = null;
    }
    this.open.clear();
  }

  /** migrating_slots_to[slot] = node. */
  setMigrating(slot: number, node: ClusterNode | null): void {
    if (this.migrating[slot] === node) return;
    // The fast paths do not serve a migrating slot (its missing keys are ASKed).
    if (this.migrating[slot] === null || node === null) this.servedVersion++;
    this.migrating[slot] = node;
    this.noteOpen(slot);
  }

  /** importing_slots_from[slot] = node. */
  setImporting(slot: number, node: ClusterNode | null): void {
    this.importing[slot] = node;
    this.noteOpen(slot);
  }

  /** SETSLOT STABLE: neither migrating nor importing. */
  closeSlot(slot: number): void {
    this.setImporting(slot, null);
    this.setMigrating(slot, null);
  }

  /** The slots migrating or importing, ascending (nodes.conf's [slot->-node] entries). */
  openSlots(): number[] {
    return [...this.open].sort((a, b) => a - b);
  }

  /** How many slots are migrating or importing. */
  get openSlotCount(): number {
    return this.open.size;
  }

  private noteOpen(slot: number): void {
    if (this.migrating[slot] !== null || this.importing[slot] !== null) this.open.add(slot);
    else this.open.delete(slot);
  }

  /** Does myself serve `slot` (as its owner)? */
  servesSlot(slot: number): boolean {
    return (this.mySlots[slot >> 3] & (1 << (slot & 7))) !== 0;
  }

  private markMine(slot: number, mine: boolean): void {
    if (mine) this.mySlots[slot >> 3] |= 1 << (slot & 7);
    else this.mySlots[slot >> 3] &= ~(1 << (slot & 7));
    this.servedVersion++;
  }

  /**
   * Bumped whenever myself's slots or the migrating set may have changed: core recomputes the
   * fast paths' bitmap only then (or when the state or myself's role changed).
   */
  servedVersion = 0;

  // ---- failure reports ----

  /** clusterNodeAddFailureReport: true when it is a new report. */
  nodeAddFailureReport(failing: ClusterNode, sender: ClusterNode): boolean {
    const now = this.env.now();
    for (const r of failing.failReports) {
      if (r.node === sender) {
        r.time = now;
        return false;
      }
    }
    failing.failReports.push({ node: sender, time: now });
    return true;
  }

  /** clusterNodeCleanupFailureReports. */
  nodeCleanupFailureReports(node: ClusterNode): void {
    const maxtime = this.env.nodeTimeout() * CLUSTER_FAIL_REPORT_VALIDITY_MULT;
    const now = this.env.now();
    node.failReports = node.failReports.filter((r) => now - r.time <= maxtime);
  }

  /** clusterNodeDelFailureReport: true when there was one. */
  nodeDelFailureReport(node: ClusterNode, sender: ClusterNode): boolean {
    const i = node.failReports.findIndex((r) => r.node === sender);
    if (i < 0) return false;
    node.failReports.splice(i, 1);
    this.nodeCleanupFailureReports(node);
    return true;
  }

  /** clusterNodeFailureReportsCount (after dropping stale reports). */
  nodeFailureReportsCount(node: ClusterNode): number {
    this.nodeCleanupFailureReports(node);
    return node.failReports.length;
  }

  // ---- blacklist (CLUSTER FORGET) ----

  /** clusterBlacklistCleanup. */
  blacklistCleanup(): void {
    const now = Math.floor(this.env.now() / 1000);
    for (const [name, expire] of this.blacklist) if (expire < now) this.blacklist.delete(name);
  }

  /** clusterBlacklistAddNode. */
  blacklistAdd(node: ClusterNode): void {
    this.blacklistCleanup();
    this.blacklist.set(node.name, Math.floor(this.env.now() / 1000) + CLUSTER_BLACKLIST_TTL);
  }

  /** clusterBlacklistExists. */
  blacklistExists(name: string): boolean {
    this.blacklistCleanup();
    return this.blacklist.has(name);
  }

  // ---- epochs ----

  /** clusterGetMaxEpoch: the greatest configEpoch known, or currentEpoch if greater. */
  maxEpoch(): bigint {
    let max = 0n;
    for (const n of this.nodes.values()) if (n.configEpoch > max) max = n.configEpoch;
    return max > this.currentEpoch ? max : this.currentEpoch;
  }

  /**
   * clusterBumpConfigEpochWithoutConsensus: myself takes a new epoch unless it already holds
   * the greatest one alone; true when bumped.
   */
  bumpConfigEpochWithoutConsensus(): boolean {
    const max = this.maxEpoch();
    if (this.myself.configEpoch === 0n || this.myself.configEpoch !== max) {
      this.currentEpoch++;
      this.myself.configEpoch = this.currentEpoch;
      this.todo(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
      this.env.log('warning', `New configEpoch set to ${this.myself.configEpoch}`);
      return true;
    }
    return false;
  }

  // ---- state ----

  /** Every slot has an owner and no owner is failing (clusterUpdateState's slot walk, from counts). */
  fullyCovered(): boolean {
    if (this.assigned < CLUSTER_SLOTS) return false;
    for (const n of this.owners.keys()) if (n.failed) return false;
    return true;
  }

  /** clusterUpdateState: ok or fail from slot coverage and reachable masters, with Redis's delays. */
  updateState(): void {
    const now = this.env.now();
    this.todoBeforeSleep &= ~TODO_UPDATE_STATE;
    if (this.firstUpdateTime === 0) this.firstUpdateTime = now;
    if (this.myself.isMaster && this.state === CLUSTER_FAIL && now - this.firstUpdateTime < CLUSTER_WRITABLE_DELAY) return;
    let newState = CLUSTER_OK;
    if (this.env.requireFullCoverage() && !this.fullyCovered()) newState = CLUSTER_FAIL;
    let reachable = 0;
    this.size = 0;
    for (const n of this.nodes.values()) {
      if (n.isMaster && n.numslots) {
        this.size++;
        if ((n.flags & (NODE_FAIL | NODE_PFAIL)) === 0) reachable++;
      }
    }
    if (reachable < Math.floor(this.size / 2) + 1) {
      newState = CLUSTER_FAIL;
      this.amongMinorityTime = now;
    }
    if (newState !== this.state) {
      const rejoinDelay = Math.min(CLUSTER_MAX_REJOIN_DELAY, Math.max(CLUSTER_MIN_REJOIN_DELAY, this.env.nodeTimeout()));
      if (newState === CLUSTER_OK && this.myself.isMaster && now - this.amongMinorityTime < rejoinDelay) return;
      this.env.log('warning', `Cluster state changed: ${newState === CLUSTER_OK ? 'ok' : 'fail'}`);
      this.state = newState;
    }
  }
}
