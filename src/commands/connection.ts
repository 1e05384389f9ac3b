// Connection commands: PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH.
import { REDIS_VERSION } from '../server';
import { arg, argStr, parseInteger, ReplyError, type Ctx, type Handler } from './types';
import { consume } from '../config/consumers';

const NOT_INTEGER = 'ERR value is not an integer or out of range';

function ping(ctx: Ctx): void {
  const { out, client, req } = ctx;
  if (req.argc > 2) throw new ReplyError("ERR wrong number of arguments for 'ping' command");
  if (client.inPubSubContext) {
    out.array(2);
    out.bulk('pong');
    out.bulk(req.argc === 2 ? arg(req, 1) : Buffer.alloc(0));
    return;
  }
  if (req.argc === 2) out.bulk(arg(req, 1));
  else out.simple('PONG');
}

const DATABASES = consume('databases', 'test/server/directives.test.ts');

function select(ctx: Ctx): void {
  const n = parseInteger(argStr(ctx.req, 1));
  if (n === null) throw new ReplyError(NOT_INTEGER);
  if (ctx.server.cluster && n !== 0) throw new ReplyError('ERR SELECT is not allowed in cluster mode');
  if (n < 0 || n >= ctx.server.config.int(DATABASES)) throw new ReplyError('ERR DB index is out of range');
  ctx.client.db = n;
  ctx.out.ok();
}

function quit(ctx: Ctx): void {
  ctx.out.ok();
  ctx.client.closeAfterReply = true;
}

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

function auth(ctx: Ctx): void {
  const { req, server, client } = ctx;
  if (req.argc > 3) throw new ReplyError('ERR syntax error');
  if (req.argc === 2 && server.acl.defaultUser.noPass) {
    throw new ReplyError(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  const username = req.argc === 3 ? argStr(req, 1) : 'default';
  if (!server.acl.authenticate(client, username, arg(req, req.argc - 1), argStr(req, 0))) throw new ReplyError(WRONGPASS);
  ctx.out.ok();
}

function hello(ctx: Ctx): void {
  const { req, client, server, out } = ctx;
  let proto = client.resp;
  let i = 1;
  if (req.argc >= 2) {
    const v = parseInteger(argStr(req, 1));
    if (v === null) throw new ReplyError('ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) throw new ReplyError('NOPROTO unsupported protocol version');
    proto = v;
    i = 2;
  }
  let setName: string | null = null;
  let credentials: { username: string; password: Buffer } | null = null;
  for (; i < req.argc; i++) {
    const opt = argStr(req, i).toLowerCase();
    const left = req.argc - i - 1;
    if (opt === 'auth' && left >= 2) {
      credentials = { username: argStr(req, i + 1), password: arg(req, i + 2) };
      i += 2;
    } else if (opt === 'setname' && left >= 1) {
      setName = argStr(req, i + 1);
      if (/[\s\x00-\x1f\x7f]/.test(setName)) {
        throw new ReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
      }
      i += 1;
    } else {
      throw new ReplyError(`ERR Syntax error in HELLO option '${argStr(req, i)}'`);
    }
  }
  if (credentials && !server.acl.authenticate(client, credentials.username, credentials.password, argStr(req, 0))) {
    throw new ReplyError(WRONGPASS);
  }
  if (!client.authenticated) {
    throw new ReplyError('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  }
  if (setName !== null) client.name = setName;
  client.resp = proto;
  out.resp3 = proto === 3;
  out.map(7);
  out.bulk('server');
  out.bulk('redis');
  out.bulk('version');
  out.bulk(REDIS_VERSION);
  out.bulk('proto');
  out.int(proto);
  out.bulk('id');
  out.int(client.id);
  out.bulk('mode');
  out.bulk('standalone');
  out.bulk('role');
  out.bulk(server.replicationRole());
  out.bulk('modules');
  out.array(0);
}

function reset(ctx: Ctx): void {
  const { client, server } = ctx;
  client.inMulti = false;
  client.multiQueue = [];
  client.multiError = false;
  server.watches.unwatchAll(client);
  server.pubsub.unsubscribeAll(client, false);
  server.monitors.remove(client);
  server.clientTracking.disable(client);
  client.replyOff = false;
  client.replySkipNext = false;
  client.db = 0;
  client.resp = 2;
  ctx.out.resp3 = false;
  client.name = '';
  client.noEvict = false;
  client.asking = false;
  client.readonly = false;
  server.acl.setDefaultAuth(client);
  ctx.out.simple('RESET');
}

function echo(ctx: Ctx): void {
  ctx.out.bulk(arg(ctx.req, 1));
}

export const connectionCommands: [string, Handler][] = [
  ['ping', ping],
  ['echo', echo],
  ['select', select],
  ['quit', quit],
  ['auth', auth],
  ['hello', hello],
  ['reset', reset],
];
