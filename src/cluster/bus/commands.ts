// CLUSTER's subcommands that act on the bus (clusterCommand in cluster.c): MEET, FORGET,
// LINKS and COUNT-FAILURE-REPORTS, registered into core's CLUSTER dispatcher.
import { argStr, ReplyError, type Ctx } from '../../commands/types';
import type { Cluster } from '../index';
import { registerClusterSubcommand } from '../commands';
import { native } from '../../native';
import { CLUSTER_PORT_INCR, TODO_SAVE_CONFIG, TODO_UPDATE_STATE } from '../state';
import { clusterBus, type ClusterBus } from './index';

function busOf(): ClusterBus {
  const bus = clusterBus();
  if (!bus) throw new ReplyError('ERR cluster bus not running');
  return bus;
}

/** getLongLongFromObject. */
function longLong(s: string): number | null {
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  if (v < -(2n ** 63n) || v >= 2n ** 63n) return null;
  return Number(v);
}

/** clusterLookupNode with the name as typed (verifyClusterNodeId first). */
function lookup(cluster: Cluster, name: string) {
  if (!/^[a-z0-9]{40}$/.test(name)) return undefined;
  return cluster.state.lookupNode(name);
}

function meet(ctx: Ctx): void {
  const argc = ctx.req.argc;
  if (argc !== 4 && argc !== 5) {
    throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${argStr(ctx.req, 1).slice(0, 128)}'. Try CLUSTER HELP.`);
  }
  const port = longLong(argStr(ctx.req, 3));
  if (port === null) throw new ReplyError(`ERR Invalid TCP base port specified: ${argStr(ctx.req, 3)}`);
  let cport: number;
  if (argc === 5) {
    const c = longLong(argStr(ctx.req, 4));
    if (c === null) throw new ReplyError(`ERR Invalid TCP bus port specified: ${argStr(ctx.req, 4)}`);
    cport = c;
  } else {
    cport = port + CLUSTER_PORT_INCR;
  }
  // A handshake already in progress with that address is not an error (EAGAIN answers OK).
  if (busOf().startHandshake(argStr(ctx.req, 2), port, cport) === 'EINVAL') {
    throw new ReplyError(`ERR Invalid node address specified: ${argStr(ctx.req, 2)}:${argStr(ctx.req, 3)}`);
  }
  ctx.out.ok();
}

function forget(ctx: Ctx, cluster: Cluster): void {
  const name = argStr(ctx.req, 2);
  const n = lookup(cluster, name);
  const myself = cluster.state.myself;
  if (!n) throw new ReplyError(`ERR Unknown node ${name}`);
  if (n === myself) throw new ReplyError("ERR I tried hard but I can't forget myself...");
  if (myself.isSlave && myself.slaveof === n) throw new ReplyError("ERR Can't forget my master!");
  busOf().forget(n);
  ctx.out.ok();
}

function countFailureReports(ctx: Ctx, cluster: Cluster): void {
  const name = argStr(ctx.req, 2);
  const n = lookup(cluster, name);
  if (!n) throw new ReplyError(`ERR Unknown node ${name}`);
  ctx.out.int(busOf().failureReports(n));
}

/** addReplyClusterLinksDescription. */
function links(ctx: Ctx): void {
  const all = busOf().links();
  ctx.out.array(all.length);
  for (const link of all) {
    ctx.out.map(6);
    ctx.out.bulk('direction');
    ctx.out.bulk(link.inbound ? 'from' : 'to');
    ctx.out.bulk('node');
    ctx.out.bulk(link.node ? link.node.name : '');
    ctx.out.bulk('create-time');
    ctx.out.int(link.ctime);
    ctx.out.bulk('events');
    // Every link reads; it waits to write while its send buffer holds bytes.
    ctx.out.bulk(link.connected ? (link.sendBufferUsed > 0 ? 'rw' : 'r') : link.sendBufferUsed > 0 ? 'w' : '');
    ctx.out.bulk('send-buffer-allocated');
    ctx.out.int(link.sendBufferUsed);
    ctx.out.bulk('send-buffer-used');
    ctx.out.int(link.sendBufferUsed);
  }
}

/** CLUSTER REPLICATE <node-id>. */
function replicate(ctx: Ctx, cluster: Cluster): void {
  const name = argStr(ctx.req, 2);
  const n = lookup(cluster, name);
  const myself = cluster.state.myself;
  if (!n) throw new ReplyError(`ERR Unknown node ${name}`);
  if (n === myself) throw new ReplyError("ERR Can't replicate myself");
  if (n.isSlave) throw new ReplyError('ERR I can only replicate a master, not a replica.');
  if (myself.isMaster && (myself.numslots !== 0 || (native.keyspaceInfo()[0] ?? 0) !== 0)) {
    throw new ReplyError('ERR To set a master the node must be empty and without assigned slots.');
  }
  busOf().setMaster(n);
  cluster.state.todo(TODO_UPDATE_STATE | TODO_SAVE_CONFIG);
  ctx.out.ok();
}

/** CLUSTER FAILOVER [FORCE|TAKEOVER]. */
function failover(ctx: Ctx, cluster: Cluster): void {
  const argc = ctx.req.argc;
  if (argc !== 2 && argc !== 3) {
    throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${argStr(ctx.req, 1).slice(0, 128)}'. Try CLUSTER HELP.`);
  }
  let force = false;
  let takeover = false;
  if (argc === 3) {
    const opt = argStr(ctx.req, 2).toLowerCase();
    if (opt === 'force') force = true;
    else if (opt === 'takeover') {
      takeover = true;
      force = true;
    } else throw new ReplyError('ERR syntax error');
  }
  const myself = cluster.state.myself;
  if (myself.isMaster) throw new ReplyError('ERR You should send CLUSTER FAILOVER to a replica');
  if (myself.slaveof === null) throw new ReplyError("ERR I'm a replica but my master is unknown to me");
  if (!force && (myself.slaveof.failed || myself.slaveof.link === null)) {
    throw new ReplyError('ERR Master is down or failed, please use CLUSTER FAILOVER FORCE');
  }
  busOf().failover.start(force, takeover);
  ctx.out.ok();
}

registerClusterSubcommand('cluster|failover', failover);
registerClusterSubcommand('cluster|replicate', replicate);
registerClusterSubcommand('cluster|meet', meet);
registerClusterSubcommand('cluster|forget', forget);
registerClusterSubcommand('cluster|count-failure-reports', countFailureReports);
registerClusterSubcommand('cluster|links', links);
