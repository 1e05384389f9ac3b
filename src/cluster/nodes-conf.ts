// nodes.conf: the cluster's view as CLUSTER NODES prints it (clusterGenNodesDescription) plus
// Redis's "vars" line, and its loader (clusterLoadConfig) with Redis's tolerances: atoi/strtoull
// readings of numbers, a missing "@cport" meaning port + 10000, unknown nodes created as
// referenced, an unknown flag a panic, anything else malformed "corrupted".
import { splitArgs } from '../config/splitargs';
import {
  CLUSTER_NAMELEN,
  CLUSTER_PORT_INCR,
  CLUSTER_SLOTS,
  ClusterNode,
  ClusterState,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MYSELF,
  NODE_NOADDR,
  NODE_NOFAILOVER,
  NODE_PFAIL,
  NODE_SLAVE,
} from './state';

/** representClusterNodeFlags, in Redis's order. */
const FLAG_NAMES: Array<[number, string]> = [
  [NODE_MYSELF, 'myself'],
  [NODE_MASTER, 'master'],
  [NODE_SLAVE, 'slave'],
  [NODE_PFAIL, 'fail?'],
  [NODE_FAIL, 'fail'],
  [NODE_HANDSHAKE, 'handshake'],
  [NODE_NOADDR, 'noaddr'],
  [NODE_NOFAILOVER, 'nofailover'],
];

export function representFlags(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
  return names.length ? names.join(',') : 'noflags';
}

/** clusterGenNodeDescription: one CLUSTER NODES line without its newline. */
export function nodeDescription(state: ClusterState, node: ClusterNode, usePport = false): string {
  const port = usePport && node.pport ? node.pport : node.port;
  let line = `${node.name} ${node.ip}:${port}@${node.cport}`;
  if (node.hostname !== '') line += `,${node.hostname}`;
  line += ` ${representFlags(node.flags)} ${node.slaveof ? node.slaveof.name : '-'}`;
  const epoch = node.isSlave && node.slaveof ? node.slaveof.configEpoch : node.configEpoch;
  const linked = node.link !== null || (node.flags & NODE_MYSELF) !== 0;
  line += ` ${node.pingSent} ${node.pongReceived} ${epoch} ${linked ? 'connected' : 'disconnected'}`;
  for (const [start, end] of node.slotRanges()) line += start === end ? ` ${start}` : ` ${start}-${end}`;
  if (node.flags & NODE_MYSELF && state.openSlotCount > 0) {
    for (const j of state.openSlots()) {
      const to = state.migratingSlotsTo[j];
      const from = state.importingSlotsFrom[j];
      if (to) line += ` [${j}->-${to.name}]`;
      else if (from) line += ` [${j}-<-${from.name}]`;
    }
  }
  return line;
}

/** clusterGenNodesDescription: every node not flagged with one of `filter`'s bits, a line each. */
export function nodesDescription(state: ClusterState, filter: number, usePport = false): string {
  let out = '';
  for (const node of state.nodes.values()) {
    if (node.flags & filter) continue;
    out += nodeDescription(state, node, usePport) + '\n';
  }
  return out;
}

/** What clusterSaveConfig writes. */
export function nodesConfText(state: ClusterState): string {
  return nodesDescription(state, NODE_HANDSHAKE) + `vars currentEpoch ${state.currentEpoch} lastVoteEpoch ${state.lastVoteEpoch}\n`;
}

/** C's atoi (leading blanks, a sign, digits; 0 when none), 32-bit wrapped as glibc's. */
export function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  if (!m) return 0;
  return Number(BigInt.asIntN(32, BigInt(m[1])));
}

/** C's strtoull in base 10 (a '-' negates modulo 2^64; overflow saturates). */
export function strtoull(s: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(s);
  if (!m) return 0n;
  let v = BigInt(m[2]);
  if (v > 0xffffffffffffffffn) return 0xffffffffffffffffn;
  if (m[1] === '-') v = BigInt.asUintN(64, -v);
  return v;
}

/** The file is malformed: Redis logs "Unrecoverable error: corrupted cluster config file." and exits 1. */
export class CorruptedNodesConf extends Error {}

/** An unknown flag: Redis panics (serverPanic) with this text. */
export class UnknownNodeFlag extends Error {}

/**
 * clusterLoadConfig's parsing into `state` (which has no nodes yet). Returns myself; throws
 * CorruptedNodesConf or UnknownNodeFlag. `now` stands in for mstime() where Redis stamps times.
 */
export function loadNodesConf(state: ClusterState, text: string, now: number, warn: (message: string) => void): ClusterNode {
  let myself: ClusterNode | null = null;
  const lookupOrCreate = (name: string): ClusterNode => {
    let n = state.lookupNode(name);
    if (!n) {
      n = state.createNode(name.slice(0, CLUSTER_NAMELEN), 0);
      state.addNode(n);
    }
    return n;
  };
  for (const rawLine of splitLines(text)) {
    if (rawLine === '' || rawLine[0] === '\n' || rawLine[0] === '\0') continue;
    const argv = splitArgs(rawLine);
    if (argv === null || argv.length === 0) throw new CorruptedNodesConf();
    if (argv[0].toLowerCase() === 'vars') {
      for (let j = 1; j < argv.length; j += 2) {
        const name = argv[j];
        const value = argv[j + 1] ?? '';
        if (name.toLowerCase() === 'currentepoch') state.currentEpoch = strtoull(value);
        else if (name.toLowerCase() === 'lastvoteepoch') state.lastVoteEpoch = strtoull(value);
        else warn(`Skipping unknown cluster config variable '${name}'`);
      }
      continue;
    }
    if (argv.length < 8) throw new CorruptedNodesConf();
    const n = lookupOrCreate(argv[0]);
    // ip:port[@cport][,hostname]
    let addr = argv[1];
    const comma = addr.indexOf(',');
    if (comma >= 0) {
      n.hostname = addr.slice(comma + 1);
      addr = addr.slice(0, comma);
    } else {
      n.hostname = '';
    }
    const colon = addr.lastIndexOf(':');
    if (colon < 0) throw new CorruptedNodesConf();
    n.ip = addr.slice(0, colon);
    const portPart = addr.slice(colon + 1);
    const at = portPart.indexOf('@');
    n.port = atoi(at >= 0 ? portPart.slice(0, at) : portPart);
    n.cport = at >= 0 ? atoi(portPart.slice(at + 1)) : n.port + CLUSTER_PORT_INCR;
    for (const flag of argv[2].split(',')) {
      switch (flag.toLowerCase()) {
        case 'myself':
          if (myself !== null) throw new UnknownNodeFlag('server.cluster->myself == NULL');
          myself = n;
          state.myself = n;
          n.flags |= NODE_MYSELF;
          break;
        case 'master':
          n.flags |= NODE_MASTER;
          break;
        case 'slave':
          n.flags |= NODE_SLAVE;
          break;
        case 'fail?':
          n.flags |= NODE_PFAIL;
          break;
        case 'fail':
          n.flags |= NODE_FAIL;
          n.failTime = now;
          break;
        case 'handshake':
          n.flags |= NODE_HANDSHAKE;
          break;
        case 'noaddr':
          n.flags |= NODE_NOADDR;
          break;
        case 'nofailover':
          n.flags |= NODE_NOFAILOVER;
          break;
        case 'noflags':
          break;
        default:
          throw new UnknownNodeFlag('Unknown flag in redis cluster config file');
      }
    }
    if (argv[3][0] !== '-') {
      const master = lookupOrCreate(argv[3]);
      n.slaveof = master;
      state.nodeAddSlave(master, n);
    }
    if (atoi(argv[4])) n.pingSent = now;
    if (atoi(argv[5])) n.pongReceived = now;
    n.configEpoch = strtoull(argv[6]);
    for (let j = 8; j < argv.length; j++) {
      const a = argv[j];
      let start: number;
      let stop: number;
      if (a[0] === '[') {
        // [slot->-node] (migrating) or [slot-<-node] (importing)
        const dash = a.indexOf('-');
        if (dash < 0) throw new UnknownNodeFlag('p != NULL');
        const direction = a[dash + 1];
        const slot = atoi(a.slice(1, dash));
        if (slot < 0 || slot >= CLUSTER_SLOTS) throw new CorruptedNodesConf();
        let name = a.slice(dash + 3);
        const close = name.indexOf(']');
        if (close >= 0) name = name.slice(0, close);
        const cn = lookupOrCreate(name);
        if (direction === '>') state.setMigrating(slot, cn);
        else state.setImporting(slot, cn);
        continue;
      }
      const dash = a.indexOf('-');
      if (dash >= 0) {
        start = atoi(a.slice(0, dash));
        stop = atoi(a.slice(dash + 1));
      } else {
        start = stop = atoi(a);
      }
      if (start < 0 || start >= CLUSTER_SLOTS || stop < 0 || stop >= CLUSTER_SLOTS) throw new CorruptedNodesConf();
      while (start <= stop) state.addSlot(n, start++);
    }
  }
  if (myself === null) throw new CorruptedNodesConf();
  return myself;
}

/** fgets's lines: each keeps its '\n' (a blank line is "\n"). */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let from = 0;
  while (from < text.length) {
    const nl = text.indexOf('\n', from);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push(text.slice(from, end));
    from = end;
  }
  return lines;
}
