// Cluster mode, the node's own half: clusterInit (the config file's lock, load or creation,
// myself's announced address), clusterBeforeSleep (state, save, fsync), the state part of
// clusterCron, and the keyspace checks of start-up (verifyClusterConfigWithData). The cluster
// bus (src/cluster/bus/) hooks its own work in through `cronHooks`, `beforeSleepHooks` and
// the state's methods. `server.cluster` is null when cluster mode is off.
import * as fs from 'node:fs';
import { consume } from '../config/consumers';
import { strerror } from '../config/errors';
import { StartupAbort } from '../errors';
import { native } from '../native';
import { serverPanic } from '../panic';
import type { Server } from '../server';
import { argStr, ReplyError, type Request } from '../commands/types';
import { keyHashSlot } from './keyslot';
import { CorruptedNodesConf, loadNodesConf, nodesConfText, UnknownNodeFlag } from './nodes-conf';
import { blockedClientRouting, redirectionError } from './redirect';
import {
  CLUSTER_FAIL,
  CLUSTER_OK,
  CLUSTER_PORT_INCR,
  CLUSTER_SLOTS,
  ClusterState,
  NODE_MASTER,
  type ClusterNode,
  TODO_FSYNC_CONFIG,
  TODO_HANDLE_FAILOVER,
  TODO_HANDLE_MANUALFAILOVER,
  TODO_SAVE_CONFIG,
  TODO_UPDATE_STATE,
  randomNodeName,
  type ClusterEnv,
} from './state';

const START = 'test/server/cluster-start.test.ts';
const ROUTING = 'test/server/cluster-routing.test.ts';
export const CLUSTER_ENABLED = consume('cluster-enabled', START);
const CONFIG_FILE = consume('cluster-config-file', START);
const CLUSTER_PORT = consume('cluster-port', START);
const ANNOUNCE_IP = consume('cluster-announce-ip', START);
const ANNOUNCE_PORT = consume('cluster-announce-port', START);
const ANNOUNCE_BUS_PORT = consume('cluster-announce-bus-port', START);
const ANNOUNCE_HOSTNAME = consume('cluster-announce-hostname', START);
const ANNOUNCE_TLS_PORT = consume('cluster-announce-tls-port', 'test/server/cluster-tls.test.ts');
const REQUIRE_FULL_COVERAGE = consume('cluster-require-full-coverage', ROUTING);
const PORT = consume('port', 'test/server/directives.test.ts');
const BIND = consume('bind', 'test/server/directives.test.ts');
const DATABASES = consume('databases', 'test/server/directives.test.ts');

/** Redis's clusterNodeTimeout default, until the bus (which acts on cluster-node-timeout) reads it. */
const NODE_TIMEOUT_DEFAULT = 15000;

export class Cluster {
  readonly state: ClusterState;
  /** The descriptor holding the config file's flock (kept open for the process's life). */
  lockFd = -1;
  readonly configFile: string;
  /** clusterCron's other work (the bus's), every 100 ms. */
  readonly cronHooks: Array<() => void> = [];
  /** clusterBeforeSleep's failover handling (bus): called with the todo flags set. */
  failoverHandler: ((flags: number) => void) | null = null;
  /** The node timeout the state's delays use (bus sets it from cluster-node-timeout). */
  nodeTimeout = NODE_TIMEOUT_DEFAULT;
  private prevAnnounceIp: string | null = null;
  /** clusterSetMaster (bus: myself becomes a replica of `node`); null until the bus sets it. */
  setMaster: ((node: ClusterNode) => void) | null = null;
  /** clusterBroadcastPong(CLUSTER_BROADCAST_ALL) (bus). */
  broadcastPong: (() => void) | null = null;
  /** resetManualFailover (bus). */
  resetManualFailover: (() => void) | null = null;
  /** A PONG to every node is due at the next before-sleep pass (broadcastPongSoon). */
  private pongDue = false;

  private constructor(
    readonly server: Server,
    stateOf: (env: ClusterEnv) => ClusterState,
  ) {
    this.configFile = server.config.str(CONFIG_FILE);
    const log = server.log;
    const env: ClusterEnv = {
      countKeysInSlot: (slot) => native.countKeysInSlot(slot),
      delKeysInSlot: (slot) => native.delKeysInSlot(slot),
      slotLeftShard: (slot) => server.pubsub.removeShardChannelsInSlot(slot, keyHashSlot),
      slotsChanged: () => {},
      nodeTimeout: () => this.nodeTimeout,
      requireFullCoverage: () => server.config.bool(REQUIRE_FULL_COVERAGE),
      log: (level, message) => log.log(level, message),
      now: () => Date.now(),
      beforeSleepNeeded: () => {
        this.pushServed();
        server.beforeSleep.schedule();
      },
    };
    this.state = stateOf(env);
  }

  /**
   * clusterInit, at start-up after the listeners are bound: null when cluster mode is off.
   * Logs Redis's words and throws StartupAbort where Redis exits.
   */
  static init(server: Server): Cluster | null {
    const config = server.config;
    if (!config.bool(CLUSTER_ENABLED)) return null;
    const log = server.log;
    const file = config.str(CONFIG_FILE);
    const fatal = (message: string): never => {
      log.warning(message);
      throw new StartupAbort(message);
    };
    // clusterLockConfig: opening creates the file, so a second node racing us locks it too.
    let lockFd = -1;
    try {
      lockFd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    } catch (err) {
      fatal(`Can't open ${file} in order to acquire a lock: ${strerror(err)}`);
    }
    const errno = native.lockFile(lockFd);
    if (errno !== 0) {
      fs.closeSync(lockFd);
      if (errno === 11 /* EWOULDBLOCK */) {
        fatal(
          `Sorry, the cluster configuration file ${file} is already used by a different Redis Cluster node. ` +
            'Please make sure that different nodes use different cluster configuration files.',
        );
      }
      fatal(`Impossible to lock ${file}: errno ${errno}`);
    }
    native.clusterSlotIndex(true);
    let saveconf = false;
    const cluster = new Cluster(server, (env) => {
      const loaded = Cluster.load(file, env, log, fatal);
      if (loaded) return loaded;
      const state = new ClusterState(env);
      log.notice(`No cluster configuration found, I'm ${state.myself.name}`);
      saveconf = true;
      return state;
    });
    cluster.lockFd = lockFd;
    if (saveconf && !cluster.saveConfig(true)) fatal("Fatal: can't update cluster config file.");
    // Port sanity check II and the bus's address.
    const port = cluster.clientPort();
    if (!config.int(CLUSTER_PORT) && port > 65535 - CLUSTER_PORT_INCR) {
      fatal(
        'Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. ' +
          'Your Redis port number must be 55535 or less.',
      );
    }
    if (config.bindAddresses(BIND).length === 0) fatal('No bind address is configured, but it is required for the Cluster bus.');
    cluster.updateMyselfAnnounced();
    // clusterUpdateMyselfAnnouncedPorts on CONFIG SET: CLUSTER NODES shows the new ports at once.
    // (Not on tls-cluster: Redis's applyTlsCfg leaves them until the next change; the cron here
    // catches up within 100 ms, the bus headers are fresh on both.)
    for (const d of [ANNOUNCE_PORT, ANNOUNCE_TLS_PORT, ANNOUNCE_BUS_PORT]) config.onChange(d, () => cluster.updateMyselfAnnounced());
    restrictDatabaseCommands(server);
    cluster.pushServed();
    return cluster;
  }

  /** clusterLoadConfig: the state from `file`, or null when there is none (or it is empty). */
  private static load(file: string, env: ClusterEnv, log: Server['log'], fatal: (message: string) => never): ClusterState | null {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return fatal(`Loading the cluster node config from ${file}: ${strerror(err)}`);
    }
    if (text.length === 0) return null;
    const state = new ClusterState(env, false);
    try {
      loadNodesConf(state, text, env.now(), (m) => log.warning(m));
    } catch (err) {
      if (err instanceof UnknownNodeFlag) serverPanic(log, err.message, 'cluster/nodes-conf.ts');
      if (err instanceof CorruptedNodesConf) fatal('Unrecoverable error: corrupted cluster config file.');
      throw err;
    }
    state.recomputeMySlots();
    log.notice(`Node configuration loaded, I'm ${state.myself.name}`);
    const max = state.maxEpoch();
    if (max > state.currentEpoch) state.currentEpoch = max;
    return state;
  }

  /**
   * clusterSaveConfig: the file is rewritten in place with one write (padded with newlines to
   * the old length, then truncated), as Redis does, so that the lock on it stays valid.
   * False on an I/O failure (`lastSaveError` says why).
   */
  saveConfig(doFsync: boolean): boolean {
    const state = this.state;
    state.todoBeforeSleep &= ~TODO_SAVE_CONFIG;
    const content = Buffer.from(nodesConfText(state), 'latin1');
    let fd = -1;
    try {
      fd = fs.openSync(this.configFile, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
      let data = content;
      const size = fs.fstatSync(fd).size;
      if (size > content.length) data = Buffer.concat([content, Buffer.alloc(size - content.length, 0x0a)]);
      const written = fs.writeSync(fd, data, 0, data.length, 0);
      if (written !== data.length) throw Object.assign(new Error('short write'), { code: 'EIO', errno: 5 });
      if (doFsync) {
        state.todoBeforeSleep &= ~TODO_FSYNC_CONFIG;
        fs.fsyncSync(fd);
      }
      if (data.length !== content.length) {
        try {
          fs.ftruncateSync(fd, content.length);
        } catch {
          // Not critical: the padding is blank lines, which the loader skips.
        }
      }
      return true;
    } catch (err) {
      this.lastSaveError = strerror(err);
      return false;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  lastSaveError = '';

  /** clusterSaveConfigOrDie. */
  saveConfigOrDie(doFsync: boolean): void {
    if (!this.saveConfig(doFsync)) {
      this.server.log.warning("Fatal: can't update cluster config file.");
      process.exit(1);
    }
  }

  /** clusterBeforeSleep. */
  beforeSleep(): void {
    const state = this.state;
    const flags = state.todoBeforeSleep;
    state.todoBeforeSleep = 0;
    if (flags & (TODO_HANDLE_MANUALFAILOVER | TODO_HANDLE_FAILOVER)) this.failoverHandler?.(flags);
    if (flags & TODO_UPDATE_STATE) state.updateState();
    if (flags & TODO_SAVE_CONFIG) this.saveConfigOrDie((flags & TODO_FSYNC_CONFIG) !== 0);
    if (this.pongDue) {
      this.pongDue = false;
      this.broadcastPong?.();
    }
    this.pushServed();
  }

  /**
   * SETSLOT ... NODE's PONG to every node (clusterBroadcastPong after importing a slot), sent
   * after the command's reply as Redis's is: Redis queues it on the links and writes it once
   * the event loop polls again, after beforeSleep wrote the replies. Written at once, it reached
   * the other masters before redis-cli's own SETSLOT ... NODE did, so each of them took the slot
   * from the PONG instead (clusterUpdateSlotsConfigWith: a nodes.conf save with fsync per slot)
   * and answered redis-cli only after that fsync.
   */
  broadcastPongSoon(): void {
    this.pongDue = true;
    this.server.beforeSleep.schedule();
  }

  private served = Buffer.alloc(CLUSTER_SLOTS / 8);
  private servedPushed = false;
  /** What `served` was computed from: state.servedVersion, and whether myself served at all. */
  private servedFrom = -1;
  private servedOn = false;

  /**
   * Tells the fast paths which slots they may serve: myself's, less the migrating ones (their
   * missing keys are ASKed), none while the cluster is down. Every todo() and loop pass calls
   * this, so nothing is computed unless its inputs changed, and nothing sent unless it did.
   */
  pushServed(): void {
    const state = this.state;
    const on = state.state === CLUSTER_OK && state.myself.isMaster;
    if (this.servedPushed && state.servedVersion === this.servedFrom && on === this.servedOn) return;
    this.servedFrom = state.servedVersion;
    this.servedOn = on;
    const next = Buffer.alloc(CLUSTER_SLOTS / 8);
    if (on) {
      next.set(state.mySlots);
      for (const j of state.openSlots()) if (state.migratingSlotsTo[j]) next[j >> 3] &= ~(1 << (j & 7));
    }
    if (this.servedPushed && next.equals(this.served)) return;
    this.served = next;
    this.servedPushed = true;
    native.clusterServedSlots(next);
  }

  /** The state part of clusterCron (every 100 ms), then the bus's. */
  cron(): void {
    this.updateMyselfAnnounced();
    for (const hook of this.cronHooks) hook();
    if (this.state.state === CLUSTER_FAIL) this.state.updateState();
    this.pushServed();
    // clientsCron's part: clients blocked on keys of a slot that moved away, or while the
    // cluster is down, get the error a new command would.
    if (this.server.blocking.count > 0) {
      this.server.blocking.unblockWithErrors((client) => {
        const routing = blockedClientRouting(this, client);
        return routing === null ? null : redirectionError(this, routing, client);
      });
    }
  }

  /**
   * What myself announces: clusterUpdateMyselfIp (cluster-announce-ip, or the address peers
   * see, which the bus learns), deriveAnnouncedPorts and clusterUpdateMyselfHostname.
   */
  updateMyselfAnnounced(): void {
    const config = this.server.config;
    const myself = this.state.myself;
    const ip = config.optionalStr(ANNOUNCE_IP);
    if (ip !== this.prevAnnounceIp) {
      this.prevAnnounceIp = ip;
      myself.ip = ip ?? '';
    }
    // deriveAnnouncedPorts: with tls-cluster the client port is the TLS one and the plaintext
    // one travels as pport; cluster-announce-tls-port replaces both (pport by
    // cluster-announce-port, even 0), else cluster-announce-port replaces the client port.
    const tlsCluster = this.server.tls.cluster;
    const announceTls = config.int(ANNOUNCE_TLS_PORT);
    const announce = config.int(ANNOUNCE_PORT);
    if (tlsCluster && announceTls) {
      myself.port = announceTls;
      myself.pport = announce;
    } else {
      myself.port = announce || this.clientPort();
      myself.pport = tlsCluster ? this.server.listeningPort() : 0;
    }
    myself.cport = config.int(ANNOUNCE_BUS_PORT) || this.busPort();
    myself.hostname = config.optionalStr(ANNOUNCE_HOSTNAME) ?? '';
  }

  /** The port clients reach this node on: the one listened on, else the configured one (tls-port with tls-cluster). */
  private clientPort(): number {
    if (this.server.tls.cluster) return this.server.tls.port;
    return this.server.listeningPort() || this.server.config.int(PORT);
  }

  /** clusterInit's bus port: cluster-port, else the client port + 10000 (the bus listens here). */
  busPort(): number {
    return this.server.config.int(CLUSTER_PORT) || this.clientPort() + CLUSTER_PORT_INCR;
  }

  /**
   * verifyClusterConfigWithData, after the start-up load: keys only in db 0; a slot with keys
   * but no owner becomes ours, one owned by another node is importing from it.
   */
  verifyWithData(keysOutsideDb0: boolean): void {
    const log = this.server.log;
    if (keysOutsideDb0) {
      const message = "You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.";
      log.warning(message);
      throw new StartupAbort(message);
    }
    const state = this.state;
    if (state.myself.isSlave) return;
    let update = false;
    for (const slot of native.slotsWithKeys()) {
      const owner = state.slots[slot];
      if (owner === state.myself || state.importingSlotsFrom[slot]) continue;
      update = true;
      if (owner === null) {
        log.warning(`I have keys for unassigned slot ${slot}. Taking responsibility for it.`);
        state.addSlot(state.myself, slot);
      } else {
        log.warning(`I have keys for slot ${slot}, but the slot is assigned to another node. Setting it to importing state.`);
        state.setImporting(slot, owner);
      }
    }
    if (update) this.saveConfigOrDie(true);
  }

  /**
   * clusterReset: a replica turns master (its data emptied), slots closed and unassigned,
   * every other node forgotten; HARD also zeroes the epochs and takes a new name.
   */
  reset(hard: boolean): void {
    const state = this.state;
    const myself = state.myself;
    const log = this.server.log;
    if (myself.isSlave) {
      state.setNodeAsMaster(myself);
      this.server.replication.unsetMasterForCluster();
      native.emptyData();
    }
    state.closeAllSlots();
    this.resetManualFailover?.();
    for (let j = 0; j < state.slots.length; j++) state.delSlot(j);
    for (const node of [...state.nodes.values()]) if (node !== myself) state.delNode(node);
    if (hard) {
      state.currentEpoch = 0n;
      state.lastVoteEpoch = 0n;
      myself.configEpoch = 0n;
      log.warning('configEpoch set to 0 via CLUSTER RESET HARD');
      state.renameNode(myself, randomNodeName());
      log.notice(`Node hard reset, now I'm ${myself.name}`);
    }
    state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
  }

  /** Is myself a master (CLUSTER_NODE_MASTER)? */
  get isMaster(): boolean {
    return (this.state.myself.flags & NODE_MASTER) !== 0;
  }
}

/**
 * MOVE, SWAPDB and COPY ... DB n are refused in cluster mode with Redis's words (the addon runs
 * them otherwise; the fast paths are closed in cluster mode, so every call comes through here).
 */
function restrictDatabaseCommands(server: Server): void {
  const wrap = (name: string, refusal: (req: Request) => string | null) => {
    const cmd = server.commands.get(name);
    if (!cmd) return;
    const inner = cmd.handler;
    cmd.handler = (ctx) => {
      const error = refusal(ctx.req);
      if (error !== null) throw new ReplyError(error);
      inner(ctx);
    };
  };
  wrap('move', () => 'ERR MOVE is not allowed in cluster mode');
  wrap('swapdb', () => 'ERR SWAPDB is not allowed in cluster mode');
  // copyCommand parses its options first (their errors come from the addon as usual), then
  // refuses another database.
  wrap('copy', (req) => {
    let dbid = 0;
    for (let j = 3; j < req.argc; j++) {
      const opt = argStr(req, j).toLowerCase();
      if (opt === 'replace') continue;
      if (opt !== 'db' || j + 1 >= req.argc) return null;
      const text = argStr(req, j + 1);
      if (!/^-?(0|[1-9][0-9]*)$/.test(text)) return null;
      const n = Number(text);
      if (n < 0 || n >= server.config.int(DATABASES)) return null;
      dbid = n;
      j++;
    }
    return dbid !== 0 ? 'ERR Copying to another database is not allowed in cluster mode' : null;
  });
}
