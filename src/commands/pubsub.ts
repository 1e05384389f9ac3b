// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH; the sharded SSUBSCRIBE,
// SUNSUBSCRIBE, SPUBLISH (a standalone server is one shard: shard channels are a namespace of
// their own); PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB/HELP.
import { clusterBus } from '../cluster/bus';
import { stringMatch } from '../config/glob';
import { PROPAGATE_REPL } from '../propagate';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { arg, argStr, ReplyError, subcommandSyntaxError, type Ctx, type Handler } from './types';

function names(ctx: Ctx): string[] {
  const out: string[] = [];
  for (let i = 1; i < ctx.req.argc; i++) out.push(arg(ctx.req, i).toString('latin1'));
  return out;
}

/**
 * Redis's CLIENT_DENY_BLOCKING clients may not subscribe: a script, and a transaction being
 * executed, where only (P)SUBSCRIBE are let through (Redis keeps that for compatibility).
 */
function refuseDenyBlocking(ctx: Ctx, cmd: string, allowedInExec: boolean): void {
  const { server, client } = ctx;
  if (server.scripting.isScriptClient(client) || (!allowedInExec && server.execDepth > 0)) {
    throw new ReplyError(`ERR ${cmd} isn't allowed for a DENY BLOCKING client`);
  }
}

const subscribe: Handler = (ctx) => {
  refuseDenyBlocking(ctx, 'SUBSCRIBE', true);
  ctx.server.pubsub.subscribe(ctx.client, ctx.out, names(ctx), 'channel');
};
const psubscribe: Handler = (ctx) => {
  refuseDenyBlocking(ctx, 'PSUBSCRIBE', true);
  ctx.server.pubsub.subscribe(ctx.client, ctx.out, names(ctx), 'pattern');
};
const ssubscribe: Handler = (ctx) => {
  refuseDenyBlocking(ctx, 'SSUBSCRIBE', false);
  ctx.server.pubsub.subscribe(ctx.client, ctx.out, names(ctx), 'shard');
};
const unsubscribe: Handler = (ctx) => ctx.server.pubsub.unsubscribe(ctx.client, ctx.out, names(ctx), 'channel');
const punsubscribe: Handler = (ctx) => ctx.server.pubsub.unsubscribe(ctx.client, ctx.out, names(ctx), 'pattern');
const sunsubscribe: Handler = (ctx) => ctx.server.pubsub.unsubscribe(ctx.client, ctx.out, names(ctx), 'shard');

const publish: Handler = (ctx) => {
  ctx.out.int(ctx.server.pubsub.publish(arg(ctx.req, 1), arg(ctx.req, 2)));
  // Cluster mode: every node hears it over the bus (clusterPropagatePublish), replicas
  // included. Otherwise replicas get every PUBLISH (Redis's forceCommandPropagation(c,
  // PROPAGATE_REPL)): their subscribers hear it too. The AOF does not.
  const bus = clusterBus();
  if (ctx.server.cluster && bus) bus.propagatePublish(arg(ctx.req, 1), arg(ctx.req, 2), false);
  else ctx.server.propagation.propagate(ctx.client.db, [arg(ctx.req, 0), arg(ctx.req, 1), arg(ctx.req, 2)], PROPAGATE_REPL);
};
const spublish: Handler = (ctx) => {
  ctx.out.int(ctx.server.pubsub.publishShard(arg(ctx.req, 1), arg(ctx.req, 2)));
  // Cluster mode: the other nodes of this shard hear it over the bus.
  const bus = clusterBus();
  if (ctx.server.cluster && bus) bus.propagatePublish(arg(ctx.req, 1), arg(ctx.req, 2), true);
};

/** PUBSUB CHANNELS / SHARDCHANNELS [pattern]. */
function listChannels(ctx: Ctx, subscribers: Map<string, Set<unknown>>): void {
  if (ctx.req.argc > 3) throw subcommandSyntaxError(ctx.req);
  const pattern = ctx.req.argc > 2 ? argStr(ctx.req, 2) : null;
  const list = [...subscribers.keys()].filter((c) => pattern === null || stringMatch(pattern, c, false));
  ctx.out.array(list.length);
  for (const c of list) ctx.out.bulk(Buffer.from(c, 'latin1'));
}

/** PUBSUB NUMSUB / SHARDNUMSUB: a flat array of name, count pairs in RESP3 too, as Redis 7.0 answers it. */
function countSubscribers(ctx: Ctx, subscribers: Map<string, Set<unknown>>): void {
  const { out, req } = ctx;
  out.array((req.argc - 2) * 2);
  for (let i = 2; i < req.argc; i++) {
    const name = arg(req, i);
    out.bulk(name);
    out.int(subscribers.get(name.toString('latin1'))?.size ?? 0);
  }
}

const pubsubChannels: Handler = (ctx) => listChannels(ctx, ctx.server.pubsub.channels);
const pubsubShardchannels: Handler = (ctx) => listChannels(ctx, ctx.server.pubsub.shardChannels);
const pubsubNumsub: Handler = (ctx) => countSubscribers(ctx, ctx.server.pubsub.channels);
const pubsubShardnumsub: Handler = (ctx) => countSubscribers(ctx, ctx.server.pubsub.shardChannels);

const pubsubNumpat: Handler = (ctx) => {
  ctx.out.int(ctx.server.pubsub.patterns.size);
};

const PUBSUB_HELP: HelpEntry[] = [
  ['channels', 'CHANNELS [<pattern>]', ["Return the currently active channels matching a <pattern> (default: '*')."]],
  ['numpat', 'NUMPAT', ['Return number of subscriptions to patterns.']],
  ['numsub', 'NUMSUB [<channel> ...]', [
    'Return the number of subscribers for the specified channels, excluding',
    'pattern subscriptions(default: no channels).',
  ]],
  ['shardchannels', 'SHARDCHANNELS [<pattern>]', ["Return the currently active shard level channels matching a <pattern> (default: '*')."]],
  ['shardnumsub', 'SHARDNUMSUB [<shardchannel> ...]', ['Return the number of subscribers for the specified shard level channel(s)']],
];

const pubsubHelp: Handler = (ctx) => {
  writeHelp(ctx, PUBSUB_HELP, subcommandPresent(ctx.server, 'pubsub'));
};

export const pubsubCommands: [string, Handler][] = [
  ['subscribe', subscribe],
  ['unsubscribe', unsubscribe],
  ['psubscribe', psubscribe],
  ['punsubscribe', punsubscribe],
  ['publish', publish],
  ['ssubscribe', ssubscribe],
  ['sunsubscribe', sunsubscribe],
  ['spublish', spublish],
  ['pubsub|channels', pubsubChannels],
  ['pubsub|shardchannels', pubsubShardchannels],
  ['pubsub|numsub', pubsubNumsub],
  ['pubsub|shardnumsub', pubsubShardnumsub],
  ['pubsub|numpat', pubsubNumpat],
  ['pubsub|help', pubsubHelp],
];
