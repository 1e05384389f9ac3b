// MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis 7.0's semantics: queueing errors abort
// EXEC (EXECABORT), runtime errors inside EXEC do not stop the rest, a modified WATCHed key
// makes EXEC answer the null array.
import type { Client } from '../client';
import type { Server } from '../server';
import { WatchVerdict } from '../watch';
import { arg, ReplyError, type Ctx, type Handler } from './types';

function multi(ctx: Ctx): void {
  if (ctx.client.inMulti) throw new ReplyError('ERR MULTI calls can not be nested');
  ctx.client.inMulti = true;
  ctx.client.multiQueue = [];
  ctx.client.multiError = false;
  ctx.out.ok();
}

/** Leaves MULTI: the queue, the error flag and the WATCHed keys go (discardTransaction). */
export function discardTransaction(server: Server, client: Client): void {
  client.inMulti = false;
  client.multiQueue = [];
  client.multiError = false;
  server.watches.unwatchAll(client);
}

function discard(ctx: Ctx): void {
  if (!ctx.client.inMulti) throw new ReplyError('ERR DISCARD without MULTI');
  discardTransaction(ctx.server, ctx.client);
  ctx.out.ok();
}

function exec(ctx: Ctx): void {
  const { client, server, out } = ctx;
  if (!client.inMulti) throw new ReplyError('ERR EXEC without MULTI');
  const queue = client.multiQueue;
  // The server-state checks (MISCONF, LOADING...) ran before, in the dispatcher (processCommand).
  if (client.multiError) {
    discardTransaction(server, client);
    throw new ReplyError('EXECABORT Transaction discarded because of previous errors.');
  }
  if (server.watches.verdict(client) !== WatchVerdict.Clean) {
    discardTransaction(server, client);
    out.nullArray();
    return;
  }
  client.inMulti = false;
  client.multiQueue = [];
  server.watches.unwatchAll(client);
  out.array(queue.length);
  server.execDepth++;
  // One execution unit: what the queued commands propagate goes out together, inside
  // MULTI/EXEC when it is more than one command (src/propagate.ts).
  server.propagation.enter();
  client.execRunning = queue.length;
  try {
    for (const q of queue) {
      const found = server.dispatcher.lookup(client, q.req);
      if (typeof found === 'string') out.error(found);
      else if (!client.user.unrestricted && server.acl.deniedAtExec(client, found, q.req, out)) continue;
      else server.dispatcher.call(client, found, q.req);
    }
  } finally {
    server.propagation.leave();
    server.execDepth--;
    client.execRunning = -1;
  }
}

function watch(ctx: Ctx): void {
  const { client, server, req } = ctx;
  if (client.inMulti) throw new ReplyError('ERR WATCH inside MULTI is not allowed');
  for (let i = 1; i < req.argc; i++) {
    const key = arg(req, i);
    server.watches.watch(client, client.db, key);
  }
  ctx.out.ok();
}

function unwatch(ctx: Ctx): void {
  ctx.server.watches.unwatchAll(ctx.client);
  ctx.out.ok();
}

export const transactionCommands: [string, Handler][] = [
  ['multi', multi],
  ['exec', exec],
  ['discard', discard],
  ['watch', watch],
  ['unwatch', unwatch],
];
