// The cluster bus (cluster.c's messaging half): the listener on the bus port, a link to every
// known node and the links they open to us, MEET handshakes, PING/PONG with gossip, failure
// detection (PFAIL from our own pings, FAIL from a majority of masters' reports), FAIL and
// UPDATE messages, epochs, slot ownership learned from peers, PUBLISH/SPUBLISH across nodes,
// and the CLUSTER subcommands that act on links (MEET, FORGET, LINKS, COUNT-FAILURE-REPORTS).
// The node table and slot map are src/cluster/state.ts (core's); this file calls its methods.
import net from 'node:net';
import type tls from 'node:tls';
import { consume } from '../../config/consumers';
import { StartupAbort } from '../../errors';
import { strerror } from '../../config/errors';
import { tlsConnectError } from '../../tls';
import type { Cluster } from '../index';
import {
  CLUSTER_SLOTS,
  type ClusterNode,
  type ClusterState,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MEET,
  NODE_MIGRATE_TO,
  NODE_MYSELF,
  NODE_NOADDR,
  NODE_NOFAILOVER,
  NODE_PFAIL,
  NODE_SLAVE,
  TODO_FSYNC_CONFIG,
  TODO_SAVE_CONFIG,
  TODO_UPDATE_STATE,
} from '../state';
import { ClusterLink } from './link';
import { allowReplicaMigration, Failover } from './failover';
import {
  blankMessage,
  decode,
  encode,
  EXT_HOSTNAME,
  extensionString,
  hostnameExtension,
  messageTypeName,
  MFLAG0_EXT_DATA,
  MFLAG0_PAUSED,
  MSG_FAIL,
  MSG_FAILOVER_AUTH_ACK,
  MSG_FAILOVER_AUTH_REQUEST,
  MSG_MEET,
  MSG_MFSTART,
  MSG_PING,
  MSG_PONG,
  MSG_PUBLISH,
  MSG_PUBLISHSHARD,
  MSG_TYPE_COUNT,
  MSG_UPDATE,
  type ClusterMsg,
  type GossipEntry,
  validate,
} from './message';

const BUS_TEST = 'test/server/cluster-bus.test.ts';
const NODE_TIMEOUT = consume('cluster-node-timeout', BUS_TEST);
const SENDBUF_LIMIT = consume('cluster-link-sendbuf-limit', BUS_TEST);
const BIND_SOURCE_ADDR = consume('bind-source-addr', BUS_TEST);
const BIND = consume('bind', BUS_TEST);
const ANNOUNCE_IP = consume('cluster-announce-ip', 'test/server/cluster-start.test.ts');

/** CLUSTER_FAIL_UNDO_TIME_MULT. */
const FAIL_UNDO_TIME_MULT = 2;
/** sizeof(clusterLink) on 64-bit Linux, for mem_cluster_links. */
const LINK_STRUCT_SIZE = 64;

/** The one bus of this process (cluster mode runs one node per process). */
let active: ClusterBus | null = null;

/** The running bus, or null when cluster mode is off. */
export function clusterBus(): ClusterBus | null {
  return active;
}

function isValidNodeName(name: string): boolean {
  return /^[a-z0-9]{40}$/.test(name);
}

function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export class ClusterBus {
  private readonly listeners: net.Server[] = [];
  private iteration = 0;
  /** Inbound links not yet tied to a node (Redis keeps them only through their connection). */
  private readonly looseLinks = new Set<ClusterLink>();
  /** tls-cluster's handshakes on accepted connections (made when first needed). */
  private tlsAcceptor: tls.Server | null = null;
  /** server.stat_cluster_links_memory, refreshed by the cron. */
  linksMemory = 0;
  readonly failover: Failover;

  private constructor(readonly cluster: Cluster) {
    this.failover = new Failover(cluster, {
      header: (type) => this.buildHeader(type),
      encode,
      broadcast: (msg) => this.broadcast(msg),
      sendTo: (node, msg) => {
        if (node.link) this.sendMessage(node.link as ClusterLink, msg);
      },
      broadcastPong: (local) => this.broadcastPong(local),
      setMaster: (node) => this.setMaster(node),
    });
  }

  private get state(): ClusterState {
    return this.cluster.state;
  }

  private get myself(): ClusterNode {
    return this.cluster.state.myself;
  }

  private get log() {
    return this.cluster.server.log;
  }

  private nodeTimeout(): number {
    return Number(this.cluster.server.config.int(NODE_TIMEOUT));
  }

  /** clusterInit's bus part: listen on the bus port of every bind address. */
  static async start(cluster: Cluster): Promise<ClusterBus> {
    const bus = new ClusterBus(cluster);
    const config = cluster.server.config;
    cluster.nodeTimeout = bus.nodeTimeout();
    config.onChange(NODE_TIMEOUT, () => {
      cluster.nodeTimeout = bus.nodeTimeout();
    });
    const cport = cluster.busPort();
    for (const spec of config.bindAddresses(BIND)) {
      const optional = spec.startsWith('-');
      const host = optional ? spec.slice(1) : spec;
      const addr = host === '*' ? '0.0.0.0' : host;
      try {
        bus.listeners.push(await bus.listenOne(addr, cport));
      } catch (err) {
        if (optional) continue;
        cluster.server.log.warning(`Warning: Could not create server TCP listening socket ${host}:${cport}: bind: ${strerror(err)}`);
        for (const l of bus.listeners) l.close();
        const message = `Failed listening on port ${cport} (cluster), aborting.`;
        cluster.server.log.warning(message);
        throw new StartupAbort(message);
      }
    }
    cluster.cronHooks.push(() => bus.cron());
    cluster.state.nodeDeletionHooks.push((node) => bus.freeNodeLinks(node));
    cluster.broadcastPong = () => bus.broadcastPong(false);
    cluster.setMaster = (node) => bus.setMaster(node);
    cluster.resetManualFailover = () => bus.failover.resetManualFailover();
    cluster.failoverHandler = (flags) => bus.failover.beforeSleep(flags);
    active = bus;
    return bus;
  }

  private listenOne(host: string, port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ noDelay: true }, (sock) => this.accept(sock));
      srv.once('error', reject);
      srv.listen({ host, port, backlog: 511, ipv6Only: host.includes(':') }, () => {
        srv.off('error', reject);
        resolve(srv);
      });
    });
  }

  close(): void {
    for (const l of this.listeners) l.close();
    for (const n of this.state.nodes.values()) this.freeNodeLinks(n);
    for (const l of this.looseLinks) l.close();
    this.looseLinks.clear();
    if (this.tlsAcceptor) this.cluster.server.tls.dropClusterAcceptor(this.tlsAcceptor);
    this.tlsAcceptor = null;
    if (active === this) active = null;
  }

  // ---- links ----

  private linkEvents = {
    message: (link: ClusterLink, msg: Buffer) => this.processPacket(link, msg),
    badFrame: (link: ClusterLink) => {
      this.log.warning('Bad message length or signature received from Cluster bus.');
      this.freeLink(link);
    },
    ioError: (link: ClusterLink, err: Error | null) => {
      this.log.debug(`I/O error reading from node link: ${err ? strerror(err) : 'connection closed'}`);
      this.freeLink(link);
    },
  };

  /** clusterAcceptHandler. */
  private accept(sock: net.Socket): void {
    const server = this.cluster.server;
    // Starting up: UPDATE messages may touch the data being loaded (Redis leaves them queued).
    if (server.loading && !server.replication.isReplica()) {
      sock.destroy();
      return;
    }
    sock.setNoDelay(true);
    sock.setKeepAlive(true, this.nodeTimeout() * 2);
    this.log.verbose(`Accepting cluster node connection from ${normalizeIp(sock.remoteAddress)}:${sock.remotePort}`);
    // tls-cluster: the link exists once the handshake is done (connAccept's handler).
    if (server.tls.cluster) {
      this.tlsAcceptor ??= server.tls.clusterAcceptor(
        (secured) => this.accepted(secured),
        (reason) => this.log.verbose(`Error accepting cluster node connection: ${reason}`),
      );
      this.tlsAcceptor.emit('connection', sock);
      return;
    }
    this.accepted(sock);
  }

  /** clusterConnAcceptHandler: a link not yet tied to a node. */
  private accepted(sock: net.Socket): void {
    const link = new ClusterLink(sock, null, Date.now(), this.linkEvents);
    link.connected = true;
    this.looseLinks.add(link);
  }

  /** freeClusterLink. */
  freeLink(link: ClusterLink): void {
    link.close();
    this.looseLinks.delete(link);
    const node = link.node;
    if (node) {
      if (node.link === link) node.link = null;
      else if (node.inboundLink === link) node.inboundLink = null;
    }
  }

  /**
   * DEBUG CLUSTERLINK KILL: drops the link to `node` ('to'), from it ('from') or both ('all');
   * the cron reconnects the outbound one, the peer the other. false for an unknown direction.
   */
  killLinks(node: ClusterNode, direction: string): boolean {
    const to = direction === 'to' || direction === 'all';
    const from = direction === 'from' || direction === 'all';
    if (!to && !from) return false;
    if (to && node.link) this.freeLink(node.link as ClusterLink);
    if (from && node.inboundLink) this.freeLink(node.inboundLink as ClusterLink);
    return true;
  }

  private freeNodeLinks(node: ClusterNode): void {
    this.killLinks(node, 'all');
  }

  /** setClusterNodeToInboundClusterLink. */
  private setInboundLink(node: ClusterNode, link: ClusterLink): void {
    if (node.inboundLink && node.inboundLink !== link) {
      this.log.debug(`Replacing inbound link from node ${node.name}`);
      this.freeLink(node.inboundLink as ClusterLink);
    }
    node.inboundLink = link;
    link.node = node;
    this.looseLinks.delete(link);
  }

  /** clusterNodeCronHandleReconnect's connect: an outbound link to `node`'s bus port. */
  private connect(node: ClusterNode): void {
    const source = this.cluster.server.config.optionalStr(BIND_SOURCE_ADDR);
    const options: net.TcpNetConnectOpts = { host: node.ip, port: node.cport, noDelay: true };
    // Best-effort binding, as connTCPConnect's: a source that cannot be bound is dropped.
    if (source !== null && net.isIP(source) !== 0) options.localAddress = source;
    const secure = this.cluster.server.tls.cluster;
    const open = (opts: net.TcpNetConnectOpts): ClusterLink => {
      const sock = secure ? this.cluster.server.tls.connectCluster(opts) : net.connect(opts);
      const link = new ClusterLink(sock, node, Date.now(), {
        ...this.linkEvents,
        ioError: (l, err) => {
          const syscall = (err as NodeJS.ErrnoException | null)?.syscall;
          if (!l.connected && syscall === 'bind' && opts.localAddress !== undefined && node.link === l) {
            l.close();
            node.link = open({ ...opts, localAddress: undefined });
            return;
          }
          if (!l.connected) {
            // The cron's PING queued on the connecting link has set pingSent: that is what makes
            // an unreachable node time out.
            const reason = err ? (secure ? tlsConnectError(err) : strerror(err)) : 'connection closed';
            this.log.verbose(`Connection with Node ${node.name} at ${node.ip}:${node.cport} failed: ${reason}`);
          } else {
            this.log.debug(`I/O error reading from node link: ${err ? strerror(err) : 'connection closed'}`);
          }
          this.freeLink(l);
        },
      });
      sock.on(secure ? 'secureConnect' : 'connect', () => this.linkConnected(link));
      return link;
    };
    node.link = open(options);
  }

  /** clusterLinkConnectHandler. */
  private linkConnected(link: ClusterLink): void {
    const node = link.node;
    if (link.freed || !node) return;
    link.connected = true;
    const oldPingSent = node.pingSent;
    this.sendPing(link, node.flags & NODE_MEET ? MSG_MEET : MSG_PING);
    if (oldPingSent) node.pingSent = oldPingSent;
    node.flags &= ~NODE_MEET;
    this.log.debug(`Connecting with Node ${node.name} at ${node.ip}:${node.cport}`);
  }

  /** clusterSendMessage. */
  private sendMessage(link: ClusterLink, msg: Buffer): void {
    link.send(msg);
    const type = msg.readUInt16BE(12);
    if (type < MSG_TYPE_COUNT) this.state.statsBusMessagesSent[type]++;
  }

  /** clusterBroadcastMessage: every node with a link, except myself and handshake nodes. */
  private broadcast(msg: Buffer): void {
    for (const node of [...this.state.nodes.values()]) {
      if (!node.link) continue;
      if (node.flags & (NODE_MYSELF | NODE_HANDSHAKE)) continue;
      this.sendMessage(node.link as ClusterLink, msg);
    }
  }

  // ---- messages ----

  /** The replication offset myself announces. */
  private myReplOffset(): bigint {
    const repl = this.cluster.server.replication;
    if (!this.myself.isSlave) return BigInt(repl.state.masterReplOffset);
    const link = repl.replica.master?.masterLink ?? repl.replica.cached;
    return BigInt(link ? link.reploff : 0);
  }

  /** clusterBuildMessageHdr. */
  private buildHeader(type: number): ClusterMsg {
    const myself = this.myself;
    const master = myself.isSlave && myself.slaveof ? myself.slaveof : myself;
    const m = blankMessage(type, myself.name);
    const announceIp = this.cluster.server.config.optionalStr(ANNOUNCE_IP);
    if (announceIp) m.myip = { value: announceIp };
    m.port = myself.port;
    m.pport = myself.pport;
    m.cport = myself.cport;
    m.myslots = master.slots;
    m.slaveof = myself.slaveof ? myself.slaveof.name : null;
    m.flags = myself.flags & 0xffff;
    m.state = this.state.state;
    m.currentEpoch = this.state.currentEpoch;
    m.configEpoch = master.configEpoch;
    m.offset = this.myReplOffset();
    if (myself.isMaster && this.state.mfEnd) m.mflags[0] |= MFLAG0_PAUSED;
    return m;
  }

  private gossipEntry(n: ClusterNode): GossipEntry {
    return {
      nodename: n.name,
      pingSent: Math.floor(n.pingSent / 1000) >>> 0,
      pongReceived: Math.floor(n.pongReceived / 1000) >>> 0,
      ip: { value: n.ip },
      port: n.port,
      cport: n.cport,
      flags: n.flags & 0xffff,
      pport: n.pport,
      notused1: 0,
    };
  }

  /** clusterSendPing: a PING, PONG or MEET with gossip about a tenth of the nodes and every PFAIL one. */
  sendPing(link: ClusterLink, type: number): void {
    const nodes = [...this.state.nodes.values()];
    let freshnodes = nodes.length - 2;
    let wanted = Math.floor(nodes.length / 10);
    if (wanted < 3) wanted = 3;
    if (wanted > freshnodes) wanted = freshnodes;
    if (!link.inbound && type === MSG_PING && link.node) link.node.pingSent = Date.now();
    const m = this.buildHeader(type);
    const gossip: GossipEntry[] = [];
    const chosen = new Set<ClusterNode>();
    let maxiterations = wanted * 3;
    while (freshnodes > 0 && gossip.length < wanted && maxiterations-- > 0) {
      const n = nodes[Math.floor(Math.random() * nodes.length)];
      if (n === this.myself) continue;
      if (n.flags & NODE_PFAIL) continue;
      if (n.flags & (NODE_HANDSHAKE | NODE_NOADDR) || (n.link === null && n.numslots === 0)) {
        freshnodes--;
        continue;
      }
      if (chosen.has(n)) continue;
      chosen.add(n);
      gossip.push(this.gossipEntry(n));
      freshnodes--;
    }
    let pfailWanted = this.state.statsPfailNodes;
    if (pfailWanted > 0) {
      for (const n of nodes) {
        if (pfailWanted <= 0) break;
        if (n.flags & (NODE_HANDSHAKE | NODE_NOADDR)) continue;
        if (!(n.flags & NODE_PFAIL)) continue;
        gossip.push(this.gossipEntry(n));
        pfailWanted--;
      }
    }
    m.gossip = gossip;
    m.count = gossip.length;
    if (this.myself.hostname !== '') {
      m.mflags[0] |= MFLAG0_EXT_DATA;
      m.pingExts = [hostnameExtension(this.myself.hostname)];
      m.extensions = 1;
    }
    this.sendMessage(link, encode(m));
  }

  /** clusterBroadcastPong: to every node (or only the replicas of our shard). */
  broadcastPong(localSlavesOnly: boolean): void {
    for (const node of [...this.state.nodes.values()]) {
      if (!node.link) continue;
      if (node === this.myself || node.inHandshake) continue;
      if (localSlavesOnly) {
        const local = node.isSlave && node.slaveof && (node.slaveof === this.myself || node.slaveof === this.myself.slaveof);
        if (!local) continue;
      }
      this.sendPing(node.link as ClusterLink, MSG_PONG);
    }
  }

  /** clusterSendFail. */
  private sendFail(name: string): void {
    const m = this.buildHeader(MSG_FAIL);
    m.failNode = name;
    this.broadcast(encode(m));
  }

  /** clusterSendUpdate. */
  private sendUpdate(link: ClusterLink | null, node: ClusterNode): void {
    if (!link) return;
    const m = this.buildHeader(MSG_UPDATE);
    m.updateNode = node.name;
    m.updateConfigEpoch = node.configEpoch;
    m.updateSlots = node.slots;
    this.sendMessage(link, encode(m));
  }

  private publishMessage(type: number, channel: Buffer, message: Buffer): Buffer {
    const m = this.buildHeader(type);
    m.channel = channel;
    m.message = message;
    return encode(m);
  }

  /** clusterPropagatePublish: PUBLISH to every node, SPUBLISH to the nodes of our shard. */
  propagatePublish(channel: Buffer, message: Buffer, sharded: boolean): void {
    if (!sharded) {
      this.broadcast(this.publishMessage(MSG_PUBLISH, channel, message));
      return;
    }
    const primary = this.myself.isMaster ? this.myself : this.myself.slaveof;
    if (!primary) return;
    const msg = this.publishMessage(MSG_PUBLISHSHARD, channel, message);
    for (const node of [primary, ...primary.slaves]) {
      if (node !== this.myself && node.link) this.sendMessage(node.link as ClusterLink, msg);
    }
  }

  // ---- receiving ----

  /** nodeIp2String: the announced address, else the link's peer address. */
  private peerIp(link: ClusterLink, announced: string): string {
    if (announced !== '') return announced;
    return normalizeIp(link.sock.remoteAddress);
  }

  /** getNodeFromLinkAndMsg. */
  private senderOf(link: ClusterLink, m: ClusterMsg): ClusterNode | null {
    if (link.node && !link.node.inHandshake) return link.node;
    const sender = isValidNodeName(m.sender) ? this.state.lookupNode(m.sender) ?? null : null;
    if (sender && !link.node) this.setInboundLink(sender, link);
    return sender;
  }

  /**
   * clusterProcessPacket: false when the link was freed (the caller stops reading it).
   */
  private processPacket(link: ClusterLink, raw: Buffer): boolean {
    const state = this.state;
    const totlen = raw.readUInt32BE(4);
    const type = raw.readUInt16BE(12);
    const now = Date.now();
    if (type < MSG_TYPE_COUNT) state.statsBusMessagesReceived[type]++;
    this.log.debug(`--- Processing packet of type ${messageTypeName(type)}, ${totlen} bytes`);
    const problem = validate(raw);
    if (problem !== null) {
      if (problem !== '') this.log.warning(problem);
      return true;
    }
    let m: ClusterMsg;
    try {
      m = decode(raw);
    } catch {
      return true;
    }
    const flags = m.flags;
    let senderCurrentEpoch = 0n;
    let senderConfigEpoch = 0n;
    const sender = this.senderOf(link, m);
    if (sender) sender.dataReceived = now;
    if (sender && !sender.inHandshake) {
      senderCurrentEpoch = m.currentEpoch;
      senderConfigEpoch = m.configEpoch;
      if (senderCurrentEpoch > state.currentEpoch) state.currentEpoch = senderCurrentEpoch;
      if (senderConfigEpoch > sender.configEpoch) {
        sender.configEpoch = senderConfigEpoch;
        state.todo(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
      }
      sender.replOffset = m.offset;
      sender.replOffsetTime = now;
      if (m.mflags[0] & MFLAG0_PAUSED) this.failover.handlePausedOffset(sender);
    }

    if (type === MSG_PING || type === MSG_MEET) {
      // Our own address, from the connection a peer reached us on (unless announced).
      const announceIp = this.cluster.server.config.optionalStr(ANNOUNCE_IP);
      if ((type === MSG_MEET || this.myself.ip === '') && !announceIp) {
        const ip = normalizeIp(link.sock.localAddress);
        if (ip && ip !== this.myself.ip) {
          this.myself.ip = ip;
          this.log.warning(`IP address for this node updated to ${this.myself.ip}`);
          state.todo(TODO_SAVE_CONFIG);
        }
      }
      if (!sender && type === MSG_MEET) {
        const node = state.createNode(null, NODE_HANDSHAKE);
        node.ip = this.peerIp(link, m.myip.value);
        node.port = m.port;
        node.pport = m.pport;
        node.cport = m.cport;
        state.addNode(node);
        state.todo(TODO_SAVE_CONFIG);
        this.processGossip(m, link);
      }
      this.sendPing(link, MSG_PONG);
    }

    if (type === MSG_PING || type === MSG_PONG || type === MSG_MEET) {
      this.log.debug(`${messageTypeName(type)} packet received: ${link.node ? link.node.name : 'NULL'}`);
      if (!link.inbound && link.node) {
        if (link.node.inHandshake) {
          if (sender) {
            this.log.verbose(`Handshake: we already know node ${sender.name}, updating the address if needed.`);
            if (this.updateAddressIfNeeded(sender, link, m)) state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
            state.delNode(link.node);
            return false;
          }
          if (!isValidNodeName(m.sender)) {
            this.freeLink(link);
            return false;
          }
          state.renameNode(link.node, m.sender);
          this.log.debug(`Handshake with node ${link.node.name} completed.`);
          link.node.flags &= ~NODE_HANDSHAKE;
          link.node.flags |= flags & (NODE_MASTER | NODE_SLAVE);
          state.todo(TODO_SAVE_CONFIG);
        } else if (link.node.name !== m.sender) {
          const node = link.node;
          this.log.debug(`PONG contains mismatching sender ID. About node ${node.name} added ${now - node.ctime} ms ago, having flags ${node.flags}`);
          node.flags |= NODE_NOADDR;
          node.ip = '';
          node.port = 0;
          node.pport = 0;
          node.cport = 0;
          this.freeLink(link);
          state.todo(TODO_SAVE_CONFIG);
          return false;
        }
      }

      if (sender) {
        sender.flags = (sender.flags & ~NODE_NOFAILOVER) | (flags & NODE_NOFAILOVER);
      }
      if (sender && type === MSG_PING && !sender.inHandshake && this.updateAddressIfNeeded(sender, link, m)) {
        state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
      }

      if (!link.inbound && type === MSG_PONG && link.node) {
        const node = link.node;
        node.pongReceived = now;
        node.pingSent = 0;
        if (node.timedOut) {
          node.flags &= ~NODE_PFAIL;
          state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
        } else if (node.failed) {
          this.clearNodeFailureIfNeeded(node);
        }
      }

      // Role switches.
      if (sender) {
        if (m.slaveof === null) {
          state.setNodeAsMaster(sender);
        } else {
          const master = isValidNodeName(m.slaveof) ? state.lookupNode(m.slaveof) ?? null : null;
          if (sender.isMaster) {
            state.delNodeSlots(sender);
            sender.flags &= ~(NODE_MASTER | NODE_MIGRATE_TO);
            sender.flags |= NODE_SLAVE;
            state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
          }
          if (master && sender.slaveof !== master) {
            if (sender.slaveof) state.nodeRemoveSlave(sender.slaveof, sender);
            state.nodeAddSlave(master, sender);
            sender.slaveof = master;
            state.todo(TODO_SAVE_CONFIG);
          }
        }
      }

      // Slots: the sender's claim against our view.
      let senderMaster: ClusterNode | null = null;
      let dirtySlots = false;
      if (sender) {
        senderMaster = sender.isMaster ? sender : sender.slaveof;
        if (senderMaster) dirtySlots = !bitmapsEqual(senderMaster.slots, m.myslots);
      }
      if (sender && sender.isMaster && dirtySlots) this.updateSlotsConfigWith(sender, senderConfigEpoch, m.myslots);
      if (sender && dirtySlots) {
        for (let j = 0; j < CLUSTER_SLOTS; j++) {
          if (!testBit(m.myslots, j)) continue;
          const owner = state.slots[j];
          if (owner === sender || owner === null) continue;
          if (owner.configEpoch > senderConfigEpoch) {
            this.log.verbose(`Node ${sender.name} has old slots configuration, sending an UPDATE message about ${owner.name}`);
            this.sendUpdate(sender.link as ClusterLink | null, owner);
            break;
          }
        }
      }
      if (sender && this.myself.isMaster && sender.isMaster && senderConfigEpoch === this.myself.configEpoch) {
        this.handleConfigEpochCollision(sender);
      }
      if (sender) {
        this.processGossip(m, link);
        this.processPingExtensions(m, sender);
      }
    } else if (type === MSG_FAIL) {
      if (sender) {
        const failing = isValidNodeName(m.failNode!) ? state.lookupNode(m.failNode!) : undefined;
        if (failing && !(failing.flags & (NODE_FAIL | NODE_MYSELF))) {
          this.log.notice(`FAIL message received from ${m.sender} about ${m.failNode}`);
          failing.flags |= NODE_FAIL;
          failing.failTime = now;
          failing.flags &= ~NODE_PFAIL;
          state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
        }
      } else {
        this.log.notice(`Ignoring FAIL message from unknown node ${m.sender} about ${m.failNode}`);
      }
    } else if (type === MSG_PUBLISH || type === MSG_PUBLISHSHARD) {
      if (!sender) return true;
      const pubsub = this.cluster.server.pubsub;
      if (type === MSG_PUBLISH) pubsub.publish(m.channel!, m.message!);
      else pubsub.publishShard(m.channel!, m.message!);
    } else if (type === MSG_UPDATE) {
      if (!sender) return true;
      const n = isValidNodeName(m.updateNode!) ? state.lookupNode(m.updateNode!) : undefined;
      if (!n) return true;
      const reported = m.updateConfigEpoch!;
      if (n.configEpoch >= reported) return true;
      if (n.isSlave) state.setNodeAsMaster(n);
      n.configEpoch = reported;
      state.todo(TODO_SAVE_CONFIG | TODO_FSYNC_CONFIG);
      this.updateSlotsConfigWith(n, reported, m.updateSlots!);
    } else if (type === MSG_FAILOVER_AUTH_REQUEST) {
      if (!sender) return true;
      this.failover.handleAuthRequest(sender, m);
    } else if (type === MSG_FAILOVER_AUTH_ACK) {
      if (!sender) return true;
      this.failover.handleAuthAck(sender, senderCurrentEpoch);
    } else if (type === MSG_MFSTART) {
      if (!sender) return true;
      // The replica learns our offset from the PING, flagged PAUSED.
      if (this.failover.handleMfStart(sender)) this.sendPing(link, MSG_PING);
    } else if (type >= MSG_TYPE_COUNT) {
      this.log.warning(`Received unknown packet type: ${type}`);
    }
    // MODULE messages: keyfork loads no modules, so nobody receives them.
    return !link.freed;
  }

  /** clusterProcessPingExtensions (7.0: the hostname only). */
  private processPingExtensions(m: ClusterMsg, sender: ClusterNode): void {
    let hostname: string | null = null;
    for (const ext of m.pingExts ?? []) {
      if (ext.type === EXT_HOSTNAME) hostname = extensionString(ext);
      else this.log.warning(`Received unknown extension type ${ext.type}`);
    }
    // updateAnnouncedHostname: no extension means no announced hostname.
    if (hostname !== null && hostname === sender.hostname) return;
    if (hostname === null && sender.hostname === '') return;
    sender.hostname = hostname ?? '';
    this.state.todo(TODO_SAVE_CONFIG);
  }

  /** nodeUpdateAddressIfNeeded: true when the address changed. */
  private updateAddressIfNeeded(node: ClusterNode, link: ClusterLink, m: ClusterMsg): boolean {
    if (link === node.link) return false;
    const ip = this.peerIp(link, m.myip.value);
    if (node.port === m.port && node.cport === m.cport && node.pport === m.pport && ip === node.ip) return false;
    node.ip = ip;
    node.port = m.port;
    node.pport = m.pport;
    node.cport = m.cport;
    if (node.link) this.freeLink(node.link as ClusterLink);
    node.flags &= ~NODE_NOADDR;
    this.log.warning(`Address updated for node ${node.name}, now ${node.ip}:${node.port}`);
    if (this.myself.isSlave && this.myself.slaveof === node) {
      this.cluster.server.replication.followForCluster(node.ip, node.port);
    }
    return true;
  }

  /** clusterProcessGossipSection. */
  private processGossip(m: ClusterMsg, link: ClusterLink): void {
    const state = this.state;
    const sender = link.node ? link.node : isValidNodeName(m.sender) ? state.lookupNode(m.sender) ?? null : null;
    for (const g of m.gossip ?? []) {
      const flags = g.flags;
      this.log.debug(`GOSSIP ${g.nodename} ${g.ip.value}:${g.port}@${g.cport} ${flagsText(flags)}`);
      const node = isValidNodeName(g.nodename) ? state.lookupNode(g.nodename) : undefined;
      if (node) {
        if (sender && sender.isMaster && node !== this.myself) {
          if (flags & (NODE_FAIL | NODE_PFAIL)) {
            if (state.nodeAddFailureReport(node, sender)) {
              this.log.verbose(`Node ${sender.name} reported node ${node.name} as not reachable.`);
            }
            this.markNodeAsFailingIfNeeded(node);
          } else if (state.nodeDelFailureReport(node, sender)) {
            this.log.verbose(`Node ${sender.name} reported node ${node.name} is back online.`);
          }
        }
        if (!(flags & (NODE_FAIL | NODE_PFAIL)) && node.pingSent === 0 && state.nodeFailureReportsCount(node) === 0) {
          const pongtime = g.pongReceived * 1000;
          if (pongtime <= Date.now() + 500 && pongtime > node.pongReceived) node.pongReceived = pongtime;
        }
        if (node.flags & (NODE_FAIL | NODE_PFAIL) && !(flags & NODE_NOADDR) && !(flags & (NODE_FAIL | NODE_PFAIL)) &&
          (node.ip.toLowerCase() !== g.ip.value.toLowerCase() || node.port !== g.port || node.cport !== g.cport)) {
          if (node.link) this.freeLink(node.link as ClusterLink);
          node.ip = g.ip.value;
          node.port = g.port;
          node.pport = g.pport;
          node.cport = g.cport;
          node.flags &= ~NODE_NOADDR;
        }
      } else if (sender && !(flags & NODE_NOADDR) && isValidNodeName(g.nodename) && !state.blacklistExists(g.nodename)) {
        const n = state.createNode(g.nodename, flags);
        n.ip = g.ip.value;
        n.port = g.port;
        n.pport = g.pport;
        n.cport = g.cport;
        state.addNode(n);
      }
    }
  }

  /** markNodeAsFailingIfNeeded. */
  private markNodeAsFailingIfNeeded(node: ClusterNode): void {
    const neededQuorum = Math.floor(this.state.size / 2) + 1;
    if (!node.timedOut) return;
    if (node.failed) return;
    let failures = this.state.nodeFailureReportsCount(node);
    if (this.myself.isMaster) failures++;
    if (failures < neededQuorum) return;
    this.log.notice(`Marking node ${node.name} as failing (quorum reached).`);
    node.flags &= ~NODE_PFAIL;
    node.flags |= NODE_FAIL;
    node.failTime = Date.now();
    this.sendFail(node.name);
    this.state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
  }

  /** clearNodeFailureIfNeeded. */
  private clearNodeFailureIfNeeded(node: ClusterNode): void {
    const now = Date.now();
    if (node.isSlave || node.numslots === 0) {
      this.log.notice(`Clear FAIL state for node ${node.name}: ${node.isSlave ? 'replica' : 'master without slots'} is reachable again.`);
      node.flags &= ~NODE_FAIL;
      this.state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
    }
    if (node.isMaster && node.numslots > 0 && now - node.failTime > this.nodeTimeout() * FAIL_UNDO_TIME_MULT) {
      this.log.notice(`Clear FAIL state for node ${node.name}: is reachable again and nobody is serving its slots after some time.`);
      node.flags &= ~NODE_FAIL;
      this.state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
    }
  }

  /** clusterHandleConfigEpochCollision: the node with the smaller name moves on. */
  private handleConfigEpochCollision(sender: ClusterNode): void {
    const myself = this.myself;
    if (sender.configEpoch !== myself.configEpoch || !sender.isMaster || !myself.isMaster) return;
    if (sender.name <= myself.name) return;
    this.state.currentEpoch++;
    myself.configEpoch = this.state.currentEpoch;
    this.cluster.saveConfigOrDie(true);
    this.log.verbose(`WARNING: configEpoch collision with node ${sender.name}. configEpoch set to ${myself.configEpoch}`);
  }

  /** clusterUpdateSlotsConfigWith. */
  private updateSlotsConfigWith(sender: ClusterNode, senderConfigEpoch: bigint, slots: Uint8Array): void {
    const state = this.state;
    const myself = this.myself;
    const curmaster = myself.isMaster ? myself : myself.slaveof;
    let newmaster: ClusterNode | null = null;
    const dirty: number[] = [];
    let senderSlots = 0;
    let migratedOurSlots = 0;
    if (sender === myself) {
      this.log.warning('Discarding UPDATE message about myself.');
      return;
    }
    for (let j = 0; j < CLUSTER_SLOTS; j++) {
      if (!testBit(slots, j)) continue;
      senderSlots++;
      const owner = state.slots[j];
      if (owner === sender) continue;
      if (state.importingSlotsFrom[j]) continue;
      if (owner === null || owner.configEpoch < senderConfigEpoch) {
        if (owner === myself && state.env.countKeysInSlot(j) && sender !== myself) dirty.push(j);
        if (owner === curmaster) {
          newmaster = sender;
          migratedOurSlots++;
        }
        state.delSlot(j);
        state.addSlot(sender, j);
        state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
      }
    }
    const allowMigration = allowReplicaMigration(this.cluster);
    if (newmaster && curmaster && curmaster.numslots === 0 && (allowMigration || senderSlots === migratedOurSlots)) {
      this.log.warning(`Configuration change detected. Reconfiguring myself as a replica of ${sender.name}`);
      this.cluster.setMaster?.(sender);
      state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
    } else if (myself.slaveof && myself.slaveof.slaveof) {
      this.log.warning(`I'm a sub-replica! Reconfiguring myself as a replica of grandmaster ${myself.slaveof.slaveof.name}`);
      this.cluster.setMaster?.(myself.slaveof.slaveof);
      state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
    } else if (dirty.length) {
      for (const j of dirty) state.env.delKeysInSlot(j);
    }
  }

  // ---- cron ----

  /** clusterCron's bus work, every 100 ms. */
  cron(): void {
    const state = this.state;
    const timeout = this.nodeTimeout();
    let now = Date.now();
    this.iteration++;
    let updateState = false;
    const handshakeTimeout = Math.max(timeout, 1000);
    state.statsPfailNodes = 0;
    this.linksMemory = 0;
    const limit = Number(this.cluster.server.config.int(SENDBUF_LIMIT));
    for (const node of [...state.nodes.values()]) {
      if (limit > 0) {
        for (const l of [node.link, node.inboundLink] as Array<ClusterLink | null>) {
          if (!l || l.sendBufferUsed <= limit) continue;
          this.log.warning(`Freeing cluster link(${l.inbound ? 'from' : 'to'} node ${node.name}, used memory: ${l.sendBufferUsed}) due to exceeding send buffer memory limit.`);
          this.freeLink(l);
          state.statClusterLinksBufferLimitExceeded++;
        }
      }
      for (const l of [node.link, node.inboundLink] as Array<ClusterLink | null>) {
        if (l) this.linksMemory += LINK_STRUCT_SIZE + l.sendBufferUsed + l.rcvbufAlloc;
      }
      if (node.flags & (NODE_MYSELF | NODE_NOADDR)) continue;
      if (node.flags & NODE_PFAIL) state.statsPfailNodes++;
      if (node.inHandshake && now - node.ctime > handshakeTimeout) {
        state.delNode(node);
        continue;
      }
      if (node.link === null) this.connect(node);
    }

    // Once a second, ping the one of five random nodes we heard from least recently.
    if (this.iteration % 10 === 0) {
      const nodes = [...state.nodes.values()];
      let minPongNode: ClusterNode | null = null;
      for (let j = 0; j < 5 && nodes.length; j++) {
        const n = nodes[Math.floor(Math.random() * nodes.length)];
        if (n.link === null || n.pingSent !== 0) continue;
        if (n.flags & (NODE_MYSELF | NODE_HANDSHAKE)) continue;
        if (minPongNode === null || minPongNode.pongReceived > n.pongReceived) minPongNode = n;
      }
      if (minPongNode) {
        this.log.debug(`Pinging node ${minPongNode.name}`);
        this.sendPing(minPongNode.link as ClusterLink, MSG_PING);
      }
    }

    let orphanedMasters = 0;
    let maxSlaves = 0;
    let thisSlaves = 0;
    const myself = this.myself;
    for (const node of [...state.nodes.values()]) {
      now = Date.now();
      if (node.flags & (NODE_MYSELF | NODE_NOADDR | NODE_HANDSHAKE)) continue;
      if (myself.isSlave && node.isMaster && !node.failed) {
        const okslaves = node.nonFailingSlaves();
        if (okslaves === 0 && node.numslots > 0 && node.flags & NODE_MIGRATE_TO) orphanedMasters++;
        if (okslaves > maxSlaves) maxSlaves = okslaves;
        if (myself.slaveof === node) thisSlaves = okslaves;
      }
      const pingDelay = now - node.pingSent;
      const dataDelay = now - node.dataReceived;
      const link = node.link as ClusterLink | null;
      if (link && now - link.ctime > timeout && node.pingSent && pingDelay > timeout / 2 && dataDelay > timeout / 2) {
        this.freeLink(link);
      }
      if (node.link && node.pingSent === 0 && now - node.pongReceived > timeout / 2) {
        this.sendPing(node.link as ClusterLink, MSG_PING);
        continue;
      }
      // A master in a manual failover keeps pinging the replica (its PAUSED offset).
      if (state.mfEnd && myself.isMaster && state.mfSlave === node && node.link) {
        this.sendPing(node.link as ClusterLink, MSG_PING);
        continue;
      }
      if (node.pingSent === 0) continue;
      const nodeDelay = Math.min(pingDelay, dataDelay);
      if (nodeDelay > timeout && !(node.flags & (NODE_PFAIL | NODE_FAIL))) {
        this.log.debug(`*** NODE ${node.name} possibly failing`);
        node.flags |= NODE_PFAIL;
        updateState = true;
      }
    }
    // A replica whose replication is off (a loaded nodes.conf) starts it once its master has an address.
    if (myself.isSlave && !this.cluster.server.replication.isReplica() && myself.slaveof && myself.slaveof.hasAddr) {
      this.cluster.server.replication.followForCluster(myself.slaveof.ip, myself.slaveof.port);
    }
    this.failover.cron(orphanedMasters, maxSlaves, thisSlaves);
    if (updateState) state.updateState();
  }

  /** clusterSetMaster: myself becomes a replica of `n` (its data through keyfork's replication). */
  setMaster(n: ClusterNode): void {
    const state = this.state;
    const myself = this.myself;
    if (myself.isMaster) {
      myself.flags &= ~(NODE_MASTER | NODE_MIGRATE_TO);
      myself.flags |= NODE_SLAVE;
      state.closeAllSlots();
    } else if (myself.slaveof) {
      state.nodeRemoveSlave(myself.slaveof, myself);
    }
    myself.slaveof = n;
    state.nodeAddSlave(n, myself);
    this.cluster.server.replication.followForCluster(n.ip, n.port);
    this.cluster.resetManualFailover?.();
  }

  // ---- CLUSTER subcommands ----

  /** clusterStartHandshake: false with 'EINVAL' or 'EAGAIN'. */
  startHandshake(ip: string, port: number, cport: number): 'ok' | 'EINVAL' | 'EAGAIN' {
    const family = net.isIP(ip);
    if (family === 0) return 'EINVAL';
    if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) return 'EINVAL';
    const norm = normalizeAddress(ip, family);
    for (const n of this.state.nodes.values()) {
      if (n.inHandshake && n.ip.toLowerCase() === norm.toLowerCase() && n.port === port && n.cport === cport) return 'EAGAIN';
    }
    const n = this.state.createNode(null, NODE_HANDSHAKE | NODE_MEET);
    n.ip = norm;
    n.port = port;
    n.cport = cport;
    this.state.addNode(n);
    return 'ok';
  }

  /** CLUSTER FORGET's work once the node is known forgettable. */
  forget(node: ClusterNode): void {
    this.state.blacklistAdd(node);
    this.state.delNode(node);
    this.state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
  }

  /** The links CLUSTER LINKS lists: every node's outbound then inbound link. */
  links(): ClusterLink[] {
    const out: ClusterLink[] = [];
    for (const n of this.state.nodes.values()) {
      if (n.link) out.push(n.link as ClusterLink);
      if (n.inboundLink) out.push(n.inboundLink as ClusterLink);
    }
    return out;
  }

  /** The failure reports of `node` still valid (clusterNodeFailureReportsCount). */
  failureReports(node: ClusterNode): number {
    return this.state.nodeFailureReportsCount(node);
  }
}


/** inet_ntop's form of an address (IPv6 compressed, lower case). */
function normalizeAddress(ip: string, family: number): string {
  if (family === 4) return ip.split('.').map((p) => String(Number(p))).join('.');
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

function testBit(bits: Uint8Array, j: number): boolean {
  return (bits[j >> 3] & (1 << (j & 7))) !== 0;
}

function bitmapsEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** representClusterNodeFlags, for the GOSSIP debug line. */
function flagsText(flags: number): string {
  const names: Array<[number, string]> = [
    [NODE_MYSELF, 'myself'], [NODE_MASTER, 'master'], [NODE_SLAVE, 'slave'], [NODE_PFAIL, 'fail?'], [NODE_FAIL, 'fail'],
    [NODE_HANDSHAKE, 'handshake'], [NODE_NOADDR, 'noaddr'], [NODE_NOFAILOVER, 'nofailover'],
  ];
  const parts = names.filter(([bit]) => flags & bit).map(([, n]) => n);
  return parts.length ? parts.join(',') : 'noflags';
}
