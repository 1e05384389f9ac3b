// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT/HELP.
import { stringMatch } from '../config/glob';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { arg, argStr, ReplyError, type Ctx, type Handler } from './types';

function names(ctx: Ctx): string[] {
  const out: string[] = [];
  for (let i = 1; i < ctx.req.argc; i++) out.push(arg(ctx.req, i).toString('latin1'));
  return out;
}

/** Redis refuses (P)SUBSCRIBE inside MULTI for RESP2 clients. */
function refuseInMulti(ctx: Ctx, cmd: string): void {
  if (ctx.client.inMulti && ctx.client.resp === 2) {
    throw new ReplyError(`ERR ${cmd} isn't allowed for a DENY BLOCKING client`);
  }
}

const subscribe: Handler = (ctx) => {
  refuseInMulti(ctx, 'SUBSCRIBE');
  ctx.server.pubsub.subscribe(ctx.client, ctx.out, names(ctx), false);
};
const psubscribe: Handler = (ctx) => {
  refuseInMulti(ctx, 'PSUBSCRIBE');
  ctx.server.pubsub.subscribe(ctx.client, ctx.out, names(ctx), true);
};
const unsubscribe: Handler = (ctx) => ctx.server.pubsub.unsubscribe(ctx.client, ctx.out, names(ctx), false);
const punsubscribe: Handler = (ctx) => ctx.server.pubsub.unsubscribe(ctx.client, ctx.out, names(ctx), true);

const publish: Handler = (ctx) => {
  ctx.out.int(ctx.server.pubsub.publish(arg(ctx.req, 1), arg(ctx.req, 2)));
};

const pubsubChannels: Handler = (ctx) => {
  const pattern = ctx.req.argc > 2 ? argStr(ctx.req, 2) : null;
  const list = [...ctx.server.pubsub.channels.keys()].filter((c) => pattern === null || stringMatch(pattern, c, false));
  ctx.out.array(list.length);
  for (const c of list) ctx.out.bulk(Buffer.from(c, 'latin1'));
};

const pubsubNumsub: Handler = (ctx) => {
  const { out, req } = ctx;
  // A flat array of name, count pairs in RESP3 too, as Redis 7.0 answers it.
  out.array((req.argc - 2) * 2);
  for (let i = 2; i < req.argc; i++) {
    const name = arg(req, i);
    out.bulk(name);
    out.int(ctx.server.pubsub.channels.get(name.toString('latin1'))?.size ?? 0);
  }
};

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
  writeHelp(ctx.out, 'PUBSUB', PUBSUB_HELP, subcommandPresent(ctx.server, 'pubsub'));
};

export const pubsubCommands: [string, Handler][] = [
  ['subscribe', subscribe],
  ['unsubscribe', unsubscribe],
  ['psubscribe', psubscribe],
  ['punsubscribe', punsubscribe],
  ['publish', publish],
  ['pubsub|channels', pubsubChannels],
  ['pubsub|numsub', pubsubNumsub],
  ['pubsub|numpat', pubsubNumpat],
  ['pubsub|help', pubsubHelp],
];
