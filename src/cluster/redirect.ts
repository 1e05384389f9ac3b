// Redirection: Redis's getNodeByQuery and clusterRedirectClient. Which node serves a command,
// from its keys (a transaction's queued commands for EXEC, the channels of the sharded pub/sub
// commands), the slot's owner, its migrating/importing state, ASKING, READONLY on a replica
// and the cluster's state; and the error a client gets when that node is not this one.
import type { Client } from '../client';
import { getKeys } from '../commands/keys-of';
import type { Command } from '../commands/table';
import { argStr, type Request } from '../commands/types';
import { consume } from '../config/consumers';
import { native } from '../native';
import type { Server } from '../server';
import { nodePortFor } from './bus/ports';
import { preferredEndpoint } from './commands';
import type { Cluster } from './index';
import { keyHashSlotOf } from './keyslot';
import { CLUSTER_FAIL, CLUSTER_OK, type ClusterNode } from './state';

const ROUTING = 'test/server/cluster-routing.test.ts';
const ALLOW_READS_WHEN_DOWN = consume('cluster-allow-reads-when-down', ROUTING);
const ALLOW_PUBSUBSHARD_WHEN_DOWN = consume('cluster-allow-pubsubshard-when-down', ROUTING);

export const REDIR_NONE = 0;
export const REDIR_CROSS_SLOT = 1;
export const REDIR_UNSTABLE = 2;
export const REDIR_ASK = 3;
export const REDIR_MOVED = 4;
export const REDIR_DOWN_STATE = 5;
export const REDIR_DOWN_UNBOUND = 6;
export const REDIR_DOWN_RO_STATE = 7;

export interface Routing {
  /** The node to serve the command (null with an error code). */
  node: ClusterNode | null;
  slot: number;
  code: number;
}

const PUBSUB_SHARD = new Set(['ssubscribe', 'sunsubscribe', 'spublish']);

/** processCommand's test: a command without key specs (and not EXEC) is never redirected. */
export function mayRedirect(cmd: Command): boolean {
  return cmd.spec.key_specs.length > 0 || cmd.flags.has('movablekeys') || cmd.name === 'exec';
}

/** The positions of `cmd`'s keys in `req` (its channels for the sharded pub/sub commands). */
function keyPositions(cmd: Command, req: Request): number[] {
  if (PUBSUB_SHARD.has(cmd.name)) {
    if (cmd.name === 'spublish') return req.argc > 1 ? [1] : [];
    const out: number[] = [];
    for (let i = 1; i < req.argc; i++) out.push(i);
    return out;
  }
  const argv: string[] = [];
  for (let i = 0; i < req.argc; i++) argv.push(argStr(req, i));
  return getKeys(cmd, argv).map((k) => k.pos);
}

function commandByName(server: Server, name: string): Command | undefined {
  const [top, sub] = name.split('|');
  const cmd = server.commands.get(top);
  return sub ? cmd?.subcommands?.get(sub) : cmd;
}

/** getNodeByQuery. `isWrite` is the command's own write flag (EXEC: its queue's, for READONLY). */
export function getNodeByQuery(cluster: Cluster, client: Client, cmd: Command, req: Request, execWrites: boolean): Routing {
  const server = cluster.server;
  const state = cluster.state;
  const myself = state.myself;
  let units: Array<{ cmd: Command; req: Request }>;
  if (cmd.name === 'exec') {
    if (!client.inMulti) return { node: myself, slot: -1, code: REDIR_NONE };
    units = [];
    for (const q of client.multiQueue) {
      const c = commandByName(server, q.name);
      if (c) units.push({ cmd: c, req: q.req });
    }
  } else {
    units = [{ cmd, req }];
  }
  const isPubsubShard = PUBSUB_SHARD.has(cmd.name);
  let n: ClusterNode | null = null;
  let firstKey: Buffer | null = null;
  let slot = 0;
  let multipleKeys = false;
  let migrating = false;
  let importing = false;
  let missing = 0;
  let existing = 0;
  for (const unit of units) {
    for (const pos of keyPositions(unit.cmd, unit.req)) {
      const start = unit.req.offsets[2 * pos];
      const end = unit.req.offsets[2 * pos + 1];
      const key = unit.req.input.subarray(start, end);
      const thisSlot = keyHashSlotOf(unit.req.input, start, end);
      if (firstKey === null) {
        firstKey = key;
        slot = thisSlot;
        n = state.slots[slot];
        if (n === null) return { node: null, slot, code: REDIR_DOWN_UNBOUND };
        if (n === myself && state.migratingSlotsTo[slot] !== null) migrating = true;
        else if (state.importingSlotsFrom[slot] !== null) importing = true;
      } else if (!firstKey.equals(key)) {
        if (slot !== thisSlot) return { node: null, slot, code: REDIR_CROSS_SLOT };
        multipleKeys = true;
      }
      if ((migrating || importing) && !isPubsubShard) {
        if (native.clusterKeyExists(key)) existing++;
        else missing++;
      }
    }
  }
  // No key at all: served here, and no slot (-1) for a script's cross-slot check.
  if (n === null) return { node: myself, slot: -1, code: REDIR_NONE };
  if (state.state !== CLUSTER_OK) {
    const config = server.config;
    if (isPubsubShard) {
      if (!config.bool(ALLOW_PUBSUBSHARD_WHEN_DOWN)) return { node: null, slot, code: REDIR_DOWN_STATE };
    } else if (!config.bool(ALLOW_READS_WHEN_DOWN)) {
      return { node: null, slot, code: REDIR_DOWN_STATE };
    } else if (cmd.isWrite) {
      return { node: null, slot, code: REDIR_DOWN_RO_STATE };
    }
  }
  if ((migrating || importing) && cmd.name === 'migrate') return { node: myself, slot, code: REDIR_NONE };
  if (migrating && missing) {
    if (existing) return { node: null, slot, code: REDIR_UNSTABLE };
    return { node: state.migratingSlotsTo[slot], slot, code: REDIR_ASK };
  }
  if (importing && (client.asking || cmd.flags.has('asking'))) {
    if (multipleKeys && missing) return { node: null, slot, code: REDIR_UNSTABLE };
    return { node: myself, slot, code: REDIR_NONE };
  }
  const isWrite = cmd.isWrite || (cmd.name === 'exec' && execWrites);
  if ((client.readonly || isPubsubShard) && !isWrite && myself.isSlave && myself.slaveof === n) {
    return { node: myself, slot, code: REDIR_NONE };
  }
  return { node: n, slot, code: n !== myself ? REDIR_MOVED : REDIR_NONE };
}

/**
 * clusterRedirectBlockedClientIfNeeded: a client blocked on keys (BLPOP, BZPOPMIN, XREAD...)
 * whose slot this node no longer serves, or blocked while the cluster is down, gets the error
 * a new command would get instead of waiting for a write that may never come here. Returns the
 * routing to answer with, or null when the client stays blocked. Redis checks the first key
 * only: a blocked command's keys all share one slot.
 */
export function blockedClientRouting(cluster: Cluster, client: Client): Routing | null {
  const blocked = client.blocked;
  if (!blocked || blocked.keys.length === 0) return null;
  const state = cluster.state;
  const slot = keyHashSlotOf(blocked.keys[0], 0, blocked.keys[0].length);
  if (state.state === CLUSTER_FAIL) return { node: null, slot, code: REDIR_DOWN_STATE };
  let node = state.slots[slot];
  const myself = state.myself;
  const isWrite = cluster.server.commands.get(blocked.name)?.isWrite ?? true;
  if (client.readonly && !isWrite && myself.isSlave && myself.slaveof === node) node = myself;
  if (node === myself || state.importingSlotsFrom[slot] !== null) return null;
  return node === null ? { node: null, slot, code: REDIR_DOWN_UNBOUND } : { node, slot, code: REDIR_MOVED };
}

/** clusterRedirectClient's error text. */
export function redirectionError(cluster: Cluster, routing: Routing, client?: Client): string {
  switch (routing.code) {
    case REDIR_CROSS_SLOT:
      return "CROSSSLOT Keys in request don't hash to the same slot";
    case REDIR_UNSTABLE:
      return 'TRYAGAIN Multiple keys request during rehashing of slot';
    case REDIR_DOWN_STATE:
      return 'CLUSTERDOWN The cluster is down';
    case REDIR_DOWN_RO_STATE:
      return 'CLUSTERDOWN The cluster is down and only accepts read commands';
    case REDIR_DOWN_UNBOUND:
      return 'CLUSTERDOWN Hash slot not served';
    case REDIR_MOVED:
    case REDIR_ASK: {
      const n = routing.node as ClusterNode;
      return `${routing.code === REDIR_ASK ? 'ASK' : 'MOVED'} ${routing.slot} ${preferredEndpoint(cluster, n)}:${nodePortFor(cluster, client, n)}`;
    }
    default:
      throw new Error(`getNodeByQuery() unknown error ${routing.code}`);
  }
}
