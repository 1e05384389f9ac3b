// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT.
import { stringMatch } from '../config/glob';
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
  out.map(req.argc - 2);
  for (let i = 2; i < req.argc; i++) {
    const name = arg(req, i);
    out.bulk(name);
    out.int(ctx.server.pubsub.channels.get(name.toString('latin1'))?.size ?? 0);
  }
};

const pubsubNumpat: Handler = (ctx) => {
  ctx.out.int(ctx.server.pubsub.patterns.size);
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
];
