// The replication commands: SYNC, PSYNC, REPLCONF (the replicas' side of the protocol),
// REPLICAOF / SLAVEOF, ROLE, WAIT and FAILOVER.
import { argStr, parseInteger, ReplyError, type Ctx, type Handler } from '../commands/types';

function argv(ctx: Ctx): string[] {
  const out: string[] = [];
  for (let i = 0; i < ctx.req.argc; i++) out.push(argStr(ctx.req, i));
  return out;
}

function sync(ctx: Ctx): void {
  ctx.server.replication.master.sync(ctx.client, argv(ctx));
}

function replconf(ctx: Ctx): void {
  const { server, client, out } = ctx;
  server.replication.master.replconf(
    client,
    argv(ctx),
    { ok: () => out.ok(), error: (text) => out.error(text) },
    () => {
      // REPLCONF GETACK comes from our master: answer with what we applied.
      if (client.isMaster) server.replication.replica.sendAck();
    },
  );
}

function replicaof(ctx: Ctx): void {
  // Cluster mode sets up replication from the cluster's view (CLUSTER REPLICATE).
  if (ctx.server.cluster) throw new ReplyError('ERR REPLICAOF not allowed in cluster mode.');
  if (ctx.server.replication.failover.state !== 'no-failover') throw new ReplyError('ERR REPLICAOF not allowed while failing over.');
  const host = argStr(ctx.req, 1);
  const portText = argStr(ctx.req, 2);
  let target: { host: string; port: number } | null = null;
  if (!(host.toLowerCase() === 'no' && portText.toLowerCase() === 'one')) {
    if (ctx.client.isReplica) throw new ReplyError('ERR Command is not valid when client is a replica.');
    const port = parseInteger(portText);
    if (port === null || port < 0 || port > 65535) throw new ReplyError('ERR Invalid master port');
    target = { host, port };
  }
  const reply = ctx.server.replication.replicaof(ctx.client, target);
  if (reply.startsWith('-')) throw new ReplyError(reply.slice(1));
  ctx.out.simple(reply.slice(1));
}

function role(ctx: Ctx): void {
  ctx.server.replication.role(ctx.out);
}

/** WAIT numreplicas timeout: blocks until that many replicas acknowledged this client's writes. */
function wait(ctx: Ctx): void {
  const { server, client, out } = ctx;
  const replication = server.replication;
  if (replication.isReplica()) {
    throw new ReplyError(
      'ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.',
    );
  }
  const numReplicas = parseInteger(argStr(ctx.req, 1));
  if (numReplicas === null) throw new ReplyError('ERR value is not an integer or out of range');
  const timeout = parseInteger(argStr(ctx.req, 2));
  if (timeout === null) throw new ReplyError('ERR timeout is not an integer or out of range');
  if (timeout < 0) throw new ReplyError('ERR timeout is negative');
  // This client's writes of the same batch (SET x; WAIT 1 0) are in the stream first.
  replication.noteWrites(client);
  replication.settle();
  const offset = client.woff;
  const acked = replication.master.countAcks(offset);
  // Inside MULTI/EXEC nothing may block: the count so far is the answer.
  if (acked >= numReplicas || server.execDepth > 0) {
    out.int(acked);
    return;
  }
  server.blocking.blockFor(client, 'wait', timeout, { offset, numReplicas }, (w) => w.int(replication.master.countAcks(offset)));
  replication.master.waitFor(client);
}

/** FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]. */
function failover(ctx: Ctx): void {
  const error = ctx.server.replication.failover.command(argv(ctx).slice(1));
  if (error !== null) throw new ReplyError(error);
  ctx.out.ok();
}

export const replicationCommands: [string, Handler][] = [
  ['sync', sync],
  ['psync', sync],
  ['replconf', replconf],
  ['replicaof', replicaof],
  ['slaveof', replicaof],
  ['role', role],
  ['wait', wait],
  ['failover', failover],
];
