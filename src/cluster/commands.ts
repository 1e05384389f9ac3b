// CLUSTER's subcommands (clusterCommand in cluster.c) and ASKING / READONLY / READWRITE. This
// file is the CLUSTER dispatcher: the bus's subcommands (MEET, FORGET, REPLICATE, FAILOVER,
// LINKS, COUNT-FAILURE-REPORTS) register here through registerClusterSubcommand. With cluster
// mode off every one of them answers Redis's "cluster support disabled".
import { subcommandPresent, writeHelp, type HelpEntry } from '../commands/command-cmd';
import { arg, argStr, ReplyError, type Ctx, type Handler } from '../commands/types';
import type { ReplyWriter } from '../protocol/reply';
import { consume } from '../config/consumers';
import { native } from '../native';
import type { Cluster } from './index';
import { keyHashSlot } from './keyslot';
import { nodePortFor, shardPorts, usePlaintextPort } from './bus/ports';
import { nodeDescription, nodesDescription } from './nodes-conf';
import { CLUSTER_SLOTS, NODE_MYSELF, TODO_FSYNC_CONFIG, TODO_SAVE_CONFIG, TODO_UPDATE_STATE, type ClusterNode } from './state';

const PREFERRED_ENDPOINT = consume('cluster-preferred-endpoint-type', 'test/server/cluster-start.test.ts');

export const CLUSTER_DISABLED = 'ERR This instance has cluster support disabled';

/** A CLUSTER subcommand's handler: ctx plus the cluster (never null: the wrapper checks). */
export type ClusterHandler = (ctx: Ctx, cluster: Cluster) => void;

const registered = new Map<string, ClusterHandler>();

/** The bus's subcommands (`cluster|meet`...) join the table through here, before the server starts. */
export function registerClusterSubcommand(name: string, handler: ClusterHandler): void {
  registered.set(name, handler);
}

function enabled(handler: ClusterHandler): Handler {
  return (ctx) => {
    const cluster = ctx.server.cluster;
    if (!cluster) throw new ReplyError(CLUSTER_DISABLED);
    handler(ctx, cluster);
  };
}

/** getLongLongFromObject: a long long, or null. */
function longLong(s: string): bigint | null {
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v < 2n ** 63n ? v : null;
}

const NOT_INTEGER = 'ERR value is not an integer or out of range';

/** getSlotOrReply. */
function slotArg(ctx: Ctx, i: number): number {
  const v = longLong(argStr(ctx.req, i));
  if (v === null || v < 0n || v >= BigInt(CLUSTER_SLOTS)) throw new ReplyError('ERR Invalid or out of range slot');
  return Number(v);
}

/** Keys in database `db` (dictSize). */
function dbSize(db: number): number {
  return native.keyspaceInfo()[db * 3] ?? 0;
}

function syntaxError(ctx: Ctx): never {
  throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${argStr(ctx.req, 1).slice(0, 128)}'. Try CLUSTER HELP.`);
}

/** clusterNodePreferredEndpoint. */
export function preferredEndpoint(cluster: Cluster, node: ClusterNode): string {
  switch (cluster.server.config.str(PREFERRED_ENDPOINT)) {
    case 'ip':
      return node.ip;
    case 'hostname':
      return node.hostname !== '' ? node.hostname : '?';
    default:
      return '?';
  }
}

/** addNodeToNodeReply: [endpoint, port, id, {other endpoints}]. */
function writeNodeForSlots(ctx: Ctx, cluster: Cluster, node: ClusterNode): void {
  const { out } = ctx;
  const type = cluster.server.config.str(PREFERRED_ENDPOINT);
  out.array(4);
  if (type === 'ip') out.bulk(node.ip);
  else if (type === 'hostname') out.bulk(node.hostname !== '' ? node.hostname : '?');
  else out.null();
  out.int(nodePortFor(cluster, ctx.client, node));
  out.bulk(node.name);
  const extra: Array<[string, string]> = [];
  if (type !== 'ip') extra.push(['ip', node.ip]);
  if (type !== 'hostname' && node.hostname !== '') extra.push(['hostname', node.hostname]);
  out.map(extra.length);
  for (const [k, v] of extra) {
    out.bulk(k);
    out.bulk(v);
  }
}

/** The replication offset a node shows (its own for myself). */
function replOffsetOf(cluster: Cluster, node: ClusterNode): bigint {
  if (!(node.flags & NODE_MYSELF)) return node.replOffset;
  const repl = cluster.server.replication;
  if (!node.isSlave) return BigInt(repl.state.masterReplOffset);
  const link = repl.replica.master?.masterLink ?? repl.replica.cached;
  return BigInt(link ? link.reploff : 0);
}

/** isReplicaAvailable. */
function replicaAvailable(cluster: Cluster, node: ClusterNode): boolean {
  if (node.failed) return false;
  return replOffsetOf(cluster, node) !== 0n;
}

function clusterSlots(ctx: Ctx, cluster: Cluster): void {
  const { out } = ctx;
  const slots = cluster.state.slots;
  const ranges: Array<[ClusterNode, number, number]> = [];
  let n: ClusterNode | null = null;
  let start = -1;
  for (let i = 0; i <= CLUSTER_SLOTS; i++) {
    const owner = i < CLUSTER_SLOTS ? slots[i] : null;
    if (n === null) {
      if (i === CLUSTER_SLOTS) break;
      n = owner;
      start = i;
      continue;
    }
    if (i === CLUSTER_SLOTS || owner !== n) {
      ranges.push([n, start, i - 1]);
      if (i === CLUSTER_SLOTS) break;
      n = owner;
      start = i;
    }
  }
  out.array(ranges.length);
  for (const [node, from, to] of ranges) {
    const replicas = node.slaves.filter((s) => replicaAvailable(cluster, s));
    out.array(3 + replicas.length);
    out.int(from);
    out.int(to);
    writeNodeForSlots(ctx, cluster, node);
    for (const r of replicas) writeNodeForSlots(ctx, cluster, r);
  }
}

/** addNodeDetailsToShardReply. */
function writeShardNode(out: ReplyWriter, cluster: Cluster, node: ClusterNode): void {
  const fields: Array<[string, string | number | bigint]> = [['id', node.name]];
  const ports = shardPorts(cluster, node);
  if (ports.port) fields.push(['port', ports.port]);
  if (ports.tlsPort) fields.push(['tls-port', ports.tlsPort]);
  fields.push(['ip', node.ip], ['endpoint', preferredEndpoint(cluster, node)]);
  if (node.hostname !== '') fields.push(['hostname', node.hostname]);
  const offset = replOffsetOf(cluster, node);
  fields.push(['role', node.isSlave ? 'replica' : 'master'], ['replication-offset', offset]);
  fields.push(['health', node.failed ? 'fail' : node.isSlave && offset === 0n ? 'loading' : 'online']);
  out.map(fields.length);
  for (const [k, v] of fields) {
    out.bulk(k);
    if (typeof v === 'string') out.bulk(v);
    else out.int(v);
  }
}

function clusterShards(ctx: Ctx, cluster: Cluster): void {
  const { out } = ctx;
  const masters = [...cluster.state.nodes.values()].filter((n) => n.isMaster);
  out.array(masters.length);
  for (const master of masters) {
    out.map(2);
    out.bulk('slots');
    const ranges = master.slotRanges();
    out.array(ranges.length * 2);
    for (const [a, b] of ranges) {
      out.int(a);
      out.int(b);
    }
    out.bulk('nodes');
    const members = [master, ...master.slaves];
    out.array(members.length);
    for (const m of members) writeShardNode(out, cluster, m);
  }
}

const MESSAGE_TYPES = ['ping', 'pong', 'meet', 'fail', 'publish', 'auth-req', 'auth-ack', 'update', 'mfstart', 'module', 'publishshard'];

/** genClusterInfoString. */
export function clusterInfoString(cluster: Cluster): string {
  const state = cluster.state;
  const assigned = state.assignedSlots;
  let ok = 0;
  let pfail = 0;
  let fail = 0;
  for (const [n, count] of state.slotOwners()) {
    if (n.failed) fail += count;
    else if (n.timedOut) pfail += count;
    else ok += count;
  }
  const myself = state.myself;
  const myEpoch = myself.isSlave && myself.slaveof ? myself.slaveof.configEpoch : myself.configEpoch;
  let info =
    `cluster_state:${state.state === 0 ? 'ok' : 'fail'}\r\n` +
    `cluster_slots_assigned:${assigned}\r\n` +
    `cluster_slots_ok:${ok}\r\n` +
    `cluster_slots_pfail:${pfail}\r\n` +
    `cluster_slots_fail:${fail}\r\n` +
    `cluster_known_nodes:${state.nodes.size}\r\n` +
    `cluster_size:${state.size}\r\n` +
    `cluster_current_epoch:${state.currentEpoch}\r\n` +
    `cluster_my_epoch:${myEpoch}\r\n`;
  let sent = 0;
  state.statsBusMessagesSent.forEach((n, i) => {
    if (n === 0) return;
    sent += n;
    info += `cluster_stats_messages_${MESSAGE_TYPES[i]}_sent:${n}\r\n`;
  });
  info += `cluster_stats_messages_sent:${sent}\r\n`;
  let received = 0;
  state.statsBusMessagesReceived.forEach((n, i) => {
    if (n === 0) return;
    received += n;
    info += `cluster_stats_messages_${MESSAGE_TYPES[i]}_received:${n}\r\n`;
  });
  info += `cluster_stats_messages_received:${received}\r\n`;
  info += `total_cluster_links_buffer_limit_exceeded:${state.statClusterLinksBufferLimitExceeded}\r\n`;
  return info;
}

/** checkSlotAssignmentsOrReply over [start, end], marking `chosen`. */
function checkSlots(cluster: Cluster, chosen: Uint8Array, del: boolean, start: number, end: number): void {
  for (let slot = start; slot <= end; slot++) {
    const owner = cluster.state.slots[slot];
    if (del && owner === null) throw new ReplyError(`ERR Slot ${slot} is already unassigned`);
    if (!del && owner !== null) throw new ReplyError(`ERR Slot ${slot} is already busy`);
    if (chosen[slot]++ === 1) throw new ReplyError(`ERR Slot ${slot} specified multiple times`);
  }
}

/** clusterUpdateSlots. */
function updateSlots(cluster: Cluster, chosen: Uint8Array, del: boolean): void {
  const state = cluster.state;
  for (let j = 0; j < CLUSTER_SLOTS; j++) {
    if (!chosen[j]) continue;
    state.setImporting(j, null);
    if (del) state.delSlot(j);
    else state.addSlot(state.myself, j);
  }
  state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
}

function addDelSlots(del: boolean): ClusterHandler {
  return (ctx, cluster) => {
    const { req } = ctx;
    for (let j = 2; j < req.argc; j++) slotArg(ctx, j);
    const chosen = new Uint8Array(CLUSTER_SLOTS);
    for (let j = 2; j < req.argc; j++) {
      const slot = slotArg(ctx, j);
      checkSlots(cluster, chosen, del, slot, slot);
    }
    updateSlots(cluster, chosen, del);
    ctx.out.ok();
  };
}

function addDelSlotsRange(del: boolean): ClusterHandler {
  return (ctx, cluster) => {
    const { req } = ctx;
    if (req.argc % 2 === 1) throw new ReplyError(`ERR wrong number of arguments for '${ctx.name}' command`);
    const chosen = new Uint8Array(CLUSTER_SLOTS);
    for (let j = 2; j < req.argc; j += 2) {
      const start = slotArg(ctx, j);
      const end = slotArg(ctx, j + 1);
      if (start > end) throw new ReplyError(`ERR start slot number ${start} is greater than end slot number ${end}`);
      checkSlots(cluster, chosen, del, start, end);
    }
    updateSlots(cluster, chosen, del);
    ctx.out.ok();
  };
}

function setSlot(ctx: Ctx, cluster: Cluster): void {
  const { req } = ctx;
  const state = cluster.state;
  const myself = state.myself;
  if (myself.isSlave) throw new ReplyError('ERR Please use SETSLOT only with masters.');
  const slot = slotArg(ctx, 2);
  const action = argStr(ctx.req, 3).toLowerCase();
  const nodeArg = req.argc === 5 ? argStr(req, 4) : '';
  const lookup = (unknown: string): ClusterNode => {
    const n = state.lookupNode(nodeArg);
    if (!n) throw new ReplyError(`ERR ${unknown} ${nodeArg}`);
    if (n.isSlave) throw new ReplyError('ERR Target node is not a master');
    return n;
  };
  if (action === 'migrating' && req.argc === 5) {
    if (state.slots[slot] !== myself) throw new ReplyError(`ERR I'm not the owner of hash slot ${slot}`);
    state.setMigrating(slot, lookup("I don't know about node"));
  } else if (action === 'importing' && req.argc === 5) {
    if (state.slots[slot] === myself) throw new ReplyError(`ERR I'm already the owner of hash slot ${slot}`);
    state.setImporting(slot, lookup("I don't know about node"));
  } else if (action === 'stable' && req.argc === 4) {
    state.closeSlot(slot);
  } else if (action === 'node' && req.argc === 5) {
    const n = lookup('Unknown node');
    const keys = state.env.countKeysInSlot(slot);
    if (state.slots[slot] === myself && n !== myself && keys !== 0) {
      throw new ReplyError(`ERR Can't assign hashslot ${slot} to a different node while I still hold keys for this hash slot.`);
    }
    if (keys === 0 && state.migratingSlotsTo[slot]) state.setMigrating(slot, null);
    const wasMine = state.slots[slot] === myself;
    state.delSlot(slot);
    state.addSlot(n, slot);
    if (wasMine && n !== myself && myself.numslots === 0 && cluster.server.config.get('cluster-allow-replica-migration') === 'yes' && cluster.setMaster) {
      cluster.server.log.warning(`Configuration change detected. Reconfiguring myself as a replica of ${n.name}`);
      cluster.setMaster(n);
      state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE | TODO_FSYNC_CONFIG);
    }
    if (n === myself && state.importingSlotsFrom[slot]) {
      if (state.bumpConfigEpochWithoutConsensus()) cluster.server.log.warning(`configEpoch updated after importing slot ${slot}`);
      state.setImporting(slot, null);
      cluster.broadcastPongSoon();
    }
  } else {
    throw new ReplyError('ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP');
  }
  state.todo(TODO_SAVE_CONFIG | TODO_UPDATE_STATE);
  ctx.out.ok();
}

function replicas(ctx: Ctx, cluster: Cluster): void {
  const name = argStr(ctx.req, 2);
  const n = cluster.state.lookupNode(name);
  if (!n) throw new ReplyError(`ERR Unknown node ${name}`);
  if (n.isSlave) throw new ReplyError('ERR The specified node is not a master');
  ctx.out.array(n.slaves.length);
  const usePport = usePlaintextPort(cluster, ctx.client);
  for (const s of n.slaves) ctx.out.bulk(nodeDescription(cluster.state, s, usePport));
}

function setConfigEpoch(ctx: Ctx, cluster: Cluster): void {
  const epoch = longLong(argStr(ctx.req, 2));
  if (epoch === null) throw new ReplyError(NOT_INTEGER);
  const state = cluster.state;
  if (epoch < 0n) throw new ReplyError(`ERR Invalid config epoch specified: ${epoch}`);
  if (state.nodes.size > 1) throw new ReplyError('ERR The user can assign a config epoch only when the node does not know any other node.');
  if (state.myself.configEpoch !== 0n) throw new ReplyError('ERR Node config epoch is already non-zero');
  state.myself.configEpoch = epoch;
  cluster.server.log.warning(`configEpoch set to ${epoch} via CLUSTER SET-CONFIG-EPOCH`);
  if (state.currentEpoch < epoch) state.currentEpoch = epoch;
  state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
  ctx.out.ok();
}

function reset(ctx: Ctx, cluster: Cluster): void {
  const { req } = ctx;
  if (req.argc > 3) syntaxError(ctx);
  let hard = false;
  if (req.argc === 3) {
    const mode = argStr(req, 2).toLowerCase();
    if (mode === 'hard') hard = true;
    else if (mode !== 'soft') throw new ReplyError('ERR syntax error');
  }
  if (cluster.state.myself.isMaster && dbSize(ctx.client.db) !== 0) {
    throw new ReplyError("ERR CLUSTER RESET can't be called with master nodes containing keys");
  }
  cluster.reset(hard);
  ctx.out.ok();
}

const HELP: HelpEntry[] = [
  ['addslots', 'ADDSLOTS <slot> [<slot> ...]', ['Assign slots to current node.']],
  ['addslotsrange', 'ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]', ['Assign slots which are between <start-slot> and <end-slot> to current node.']],
  ['bumpepoch', 'BUMPEPOCH', ['Advance the cluster config epoch.']],
  ['count-failure-reports', 'COUNT-FAILURE-REPORTS <node-id>', ['Return number of failure reports for <node-id>.']],
  ['countkeysinslot', 'COUNTKEYSINSLOT <slot>', ['Return the number of keys in <slot>.']],
  ['delslots', 'DELSLOTS <slot> [<slot> ...]', ['Delete slots information from current node.']],
  ['delslotsrange', 'DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]', ['Delete slots information which are between <start-slot> and <end-slot> from current node.']],
  ['failover', 'FAILOVER [FORCE|TAKEOVER]', ['Promote current replica node to being a master.']],
  ['forget', 'FORGET <node-id>', ['Remove a node from the cluster.']],
  ['getkeysinslot', 'GETKEYSINSLOT <slot> <count>', ['Return key names stored by current node in a slot.']],
  ['flushslots', 'FLUSHSLOTS', ['Delete current node own slots information.']],
  ['info', 'INFO', ['Return information about the cluster.']],
  ['keyslot', 'KEYSLOT <key>', ['Return the hash slot for <key>.']],
  ['meet', 'MEET <ip> <port> [<bus-port>]', ['Connect nodes into a working cluster.']],
  ['myid', 'MYID', ['Return the node id.']],
  ['nodes', 'NODES', ['Return cluster configuration seen by node. Output format:', '<id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...']],
  ['replicate', 'REPLICATE <node-id>', ['Configure current node as replica to <node-id>.']],
  ['reset', 'RESET [HARD|SOFT]', ['Reset current node (default: soft).']],
  ['set-config-epoch', 'SET-CONFIG-EPOCH <epoch>', ['Set config epoch of current node.']],
  ['setslot', 'SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)', ['Set slot state.']],
  ['replicas', 'REPLICAS <node-id>', ['Return <node-id> replicas.']],
  ['saveconfig', 'SAVECONFIG', ['Force saving cluster configuration on disk.']],
  ['slots', 'SLOTS', ['Return information about slots range mappings. Each range is made of:', 'start, end, master and replicas IP addresses, ports and ids']],
  ['shards', 'SHARDS', ['Return information about slot range mappings and the nodes associated with them.']],
  ['links', 'LINKS', ['Return information about all network links between this node and its peers.', 'Output format is an array where each array element is a map containing attributes of a link']],
];

const core: Array<[string, ClusterHandler]> = [
  ['cluster|help', (ctx) => writeHelp(ctx, HELP, subcommandPresent(ctx.server, 'cluster'))],
  ['cluster|info', (ctx, cluster) => ctx.out.verbatim(clusterInfoString(cluster))],
  ['cluster|myid', (ctx, cluster) => ctx.out.bulk(cluster.state.myself.name)],
  ['cluster|nodes', (ctx, cluster) => ctx.out.verbatim(nodesDescription(cluster.state, 0, usePlaintextPort(cluster, ctx.client)))],
  ['cluster|slots', clusterSlots],
  ['cluster|shards', clusterShards],
  ['cluster|keyslot', (ctx) => ctx.out.int(keyHashSlot(arg(ctx.req, 2)))],
  [
    'cluster|countkeysinslot',
    (ctx, cluster) => {
      const slot = longLong(argStr(ctx.req, 2));
      if (slot === null) throw new ReplyError(NOT_INTEGER);
      if (slot < 0n || slot >= BigInt(CLUSTER_SLOTS)) throw new ReplyError('ERR Invalid slot');
      ctx.out.int(cluster.state.env.countKeysInSlot(Number(slot)));
    },
  ],
  [
    'cluster|getkeysinslot',
    (ctx, cluster) => {
      const slot = longLong(argStr(ctx.req, 2));
      if (slot === null) throw new ReplyError(NOT_INTEGER);
      const max = longLong(argStr(ctx.req, 3));
      if (max === null) throw new ReplyError(NOT_INTEGER);
      if (slot < 0n || slot >= BigInt(CLUSTER_SLOTS) || max < 0n) throw new ReplyError('ERR Invalid slot or number of keys');
      const count = cluster.state.env.countKeysInSlot(Number(slot));
      const keys = native.getKeysInSlot(Number(slot), Number(max > BigInt(count) ? BigInt(count) : max));
      ctx.out.array(keys.length);
      for (const k of keys) ctx.out.bulk(k);
    },
  ],
  ['cluster|addslots', addDelSlots(false)],
  ['cluster|delslots', addDelSlots(true)],
  ['cluster|addslotsrange', addDelSlotsRange(false)],
  ['cluster|delslotsrange', addDelSlotsRange(true)],
  [
    'cluster|flushslots',
    (ctx, cluster) => {
      if (dbSize(0) !== 0) throw new ReplyError('ERR DB must be empty to perform CLUSTER FLUSHSLOTS.');
      cluster.state.delNodeSlots(cluster.state.myself);
      cluster.state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
      ctx.out.ok();
    },
  ],
  ['cluster|setslot', setSlot],
  [
    'cluster|bumpepoch',
    (ctx, cluster) => {
      const bumped = cluster.state.bumpConfigEpochWithoutConsensus();
      ctx.out.simple(`${bumped ? 'BUMPED' : 'STILL'} ${cluster.state.myself.configEpoch}`);
    },
  ],
  ['cluster|set-config-epoch', setConfigEpoch],
  ['cluster|reset', reset],
  [
    'cluster|saveconfig',
    (ctx, cluster) => {
      if (cluster.saveConfig(true)) ctx.out.ok();
      else throw new ReplyError(`ERR error saving the cluster node config: ${cluster.lastSaveError}`);
    },
  ],
  ['cluster|replicas', replicas],
  ['cluster|slaves', replicas],
];

for (const [name, handler] of core) registerClusterSubcommand(name, handler);

/** ASKING: the next command may touch an importing slot (CLIENT_ASKING). */
function asking(ctx: Ctx): void {
  if (!ctx.server.cluster) throw new ReplyError(CLUSTER_DISABLED);
  ctx.client.asking = true;
  ctx.out.ok();
}

/** READONLY / READWRITE: a replica's client may read its master's slots. */
function readonly(on: boolean): Handler {
  return (ctx) => {
    if (!ctx.server.cluster) throw new ReplyError(CLUSTER_DISABLED);
    ctx.client.readonly = on;
    ctx.out.ok();
  };
}

/** Every handler, bus's included (call after the bus's modules registered theirs). */
export function clusterCommands(): Array<[string, Handler]> {
  return [...[...registered].map(([name, h]): [string, Handler] => [name, enabled(h)]), ['asking', asking], ['readonly', readonly(true)], ['readwrite', readonly(false)]];
}
