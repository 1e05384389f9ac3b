// CLIENT: ID, INFO, LIST, KILL, GETNAME, SETNAME, NO-EVICT, REPLY, UNBLOCK, TRACKING, CACHING,
// GETREDIR, TRACKINGINFO, HELP (PAUSE/UNPAUSE live in src/client-pause.ts).
import type { User } from '../acl/user';
import type { Client, ClientType } from '../client';
import type { Server } from '../server';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { arg, argStr, argvBytes, parseInteger, ReplyError, subcommandSyntaxError, type Ctx, type Handler, type Request } from './types';
import { WatchVerdict } from '../watch';

const SYNTAX_ERROR = 'ERR syntax error';

/** Loopback or unix-socket peers (Redis's islocalClient), for the "local" protected settings. */
export function isLocalClient(client: Client): boolean {
  if (client.unixSocket !== null) return true;
  const host = client.socket.remoteAddress;
  if (host === undefined) return client.socket.remotePort === undefined; // no peer (a fake client)
  return host === '127.0.0.1' || host === '::1' || host === '::ffff:127.0.0.1';
}

/** getClientTypeByName: null for an unknown name. */
function clientTypeByName(name: string): ClientType | null {
  switch (name.toLowerCase()) {
    case 'normal': return 'normal';
    case 'slave':
    case 'replica': return 'replica';
    case 'pubsub': return 'pubsub';
    case 'master': return 'master';
    default: return null;
  }
}

/** Redis's flag letters, in its order; N when none applies. */
function flagLetters(server: Server, client: Client): string {
  let flags = '';
  if (client.isMonitor) flags += 'O';
  else if (client.isReplica) flags += 'S';
  if (client.isMaster) flags += 'M';
  if (client.totalSubscriptions > 0) flags += 'P';
  if (client.inMulti || client.execRunning >= 0) flags += 'x';
  if (client.blocked || client.postponed) flags += 'b';
  if (client.tracking) flags += 't';
  if (client.tracking?.brokenRedirect) flags += 'R';
  if (client.tracking?.bcast) flags += 'B';
  if (server.watches.verdict(client) === WatchVerdict.Touched) flags += 'd';
  if (client.closeAfterReply) flags += 'c';
  if (client.unixSocket !== null) flags += 'U';
  if (client.readonly) flags += 'r';
  if (client.noEvict) flags += 'e';
  return flags || 'N';
}

/** Bytes of the queued MULTI commands, as Redis counts them (arguments plus a pointer each). */
function multiBytes(client: Client): number {
  let n = 0;
  for (const q of client.multiQueue) n += argvBytes(q.req) + POINTER * q.req.argc;
  return n;
}

/** What a client's buffers hold: pending input, queued MULTI commands, unsent output (its share of used_memory). */
export function clientMemory(client: Client): number {
  return client.inputBytes() + multiBytes(client) + client.outputBytes();
}

const POINTER = 8;

/** A list node (adlist.h listNode: prev, next, value). */
const LIST_NODE = 24;
/** A dict entry (dict.h dictEntry: key, value, next). */
const DICT_ENTRY = 24;
/** WATCH's per-key record (multi.c watchedKey: key, db, client, flags; padded). */
const WATCHED_KEY = 32;
/** A queued MULTI command's slot (multi.c multiCmd: argv, argv_len, argc, cmd). */
const MULTI_CMD = 24;
/** sizeof(raxNode) * sizeof(raxNode*), as Redis 7.0 counts each node of a prefix tree. */
const RAX_NODE = 4 * 8;

/** The slots of a dict of `n` entries that only grew: 4 at first, doubled when full. */
function dictSlots(n: number): number {
  return n === 0 ? 0 : Math.max(4, 2 ** Math.ceil(Math.log2(n)));
}

/**
 * What Redis 7.0's getClientMemoryUsage adds beyond the buffers for a client's bookkeeping:
 * watched keys and queued command slots (multiStateMemOverhead), subscriptions
 * (pubsubMemOverhead) and tracking prefixes (nodes of their radix tree; keyfork counts two per
 * prefix, as inserting a key into a compressed tree adds about that many). It lets
 * maxmemory-clients evict a client that only keeps watching or subscribing.
 */
function bookkeepingBytes(client: Client): number {
  let n = client.watchedKeys * (LIST_NODE + WATCHED_KEY);
  const queued = client.multiQueue.length;
  if (queued > 0) n += MULTI_CMD * Math.max(2, 2 ** Math.ceil(Math.log2(queued)));
  if (client.totalSubscriptions > 0) {
    n += client.patterns.size * LIST_NODE;
    n += client.channels.size * DICT_ENTRY + dictSlots(client.channels.size) * POINTER;
    n += client.shardChannels.size * DICT_ENTRY + dictSlots(client.shardChannels.size) * POINTER;
  }
  if (client.tracking !== null) n += 2 * client.tracking.prefixes.length * RAX_NODE;
  return n;
}

/**
 * The fixed part of CLIENT LIST tot-mem. Redis 7.0 counts zmalloc_size(c), its client
 * struct's allocation: 768 bytes in 7.0.15 on x86-64 (jemalloc's class; a fresh client's
 * tot-mem less its query buffer, reply buffer and arguments). keyfork's per-client objects
 * live on the V8 heap, where one object's size is not measured: tot-mem takes Redis's figure,
 * so that a client's total and INFO's mem_clients_normal read as Redis's do.
 */
export const CLIENT_STRUCT_BYTES = 768;

/**
 * The arguments a client holds (Redis's c->argv): the command it is running, the one it is
 * blocked in, or those of an unfinished request that arrived whole.
 */
function heldArgv(client: Client, running: Ctx | null): { argc: number; bytes: number } {
  const req = running && running.client === client ? running.req : client.blocked?.req;
  return req ? { argc: req.argc, bytes: argvBytes(req) } : client.parser.partialArgv();
}

/**
 * A client's memory as CLIENT LIST shows it, Redis 7.0's fields (catClientInfoString) over
 * keyfork's buffers:
 * - qbuf / qbuf-free: the query buffer's data and the rest of its allocation (sdslen /
 *   sdsavail; see Client.queryBuffer).
 * - argv-mem: the bytes of the arguments it holds (argv_len_sum: a running or blocked
 *   command's, or the complete ones of a request on its way); multi-mem: its queued
 *   MULTI commands (mstate.argv_len_sums).
 * - obl / oll / omem: Redis keeps replies in a 16 KB buffer (obl: bytes in it) and then a list
 *   of blocks (oll blocks, omem bytes). keyfork has no per-client reply buffer (replies are
 *   sent as they are made) and queues what the socket did not take in one buffer: obl is 0,
 *   oll the one block while output waits, omem its bytes.
 * - tot-mem: getClientMemoryUsage, the sum of the above (the query buffer's whole allocation,
 *   a pointer per held argument) and the fixed client size.
 */
export interface ClientMemoryFields {
  qbuf: number;
  qbufFree: number;
  argvMem: number;
  multiMem: number;
  obl: number;
  oll: number;
  omem: number;
  totMem: number;
}

export function clientMemoryFields(client: Client, running: Ctx | null): ClientMemoryFields {
  const { length: qbuf, free: qbufFree } = client.queryBuffer();
  const { argc, bytes: argvMem } = heldArgv(client, running);
  const multiMem = multiBytes(client);
  const omem = client.outputBytes();
  const totMem = qbuf + qbufFree + argvMem + POINTER * argc + multiMem + omem + CLIENT_STRUCT_BYTES + bookkeepingBytes(client);
  return { qbuf, qbufFree, argvMem, multiMem, obl: 0, oll: omem > 0 ? 1 : 0, omem, totMem };
}

/**
 * One CLIENT LIST line (catClientInfoString), without the trailing newline. `running` is
 * the request being executed for `ctx.client`: its arguments are still "in use" like Redis's
 * argv, and its name is the client's current command.
 */
export function clientInfoLine(server: Server, client: Client, running: Ctx | null): string {
  const now = Date.now();
  server.syncSocketActivity(client);
  const current = running && running.client === client ? running : null;
  const mem = clientMemoryFields(client, current);
  const fields: [string, string | number][] = [
    ['id', client.id],
    ['addr', client.addr],
    ['laddr', client.laddr],
    ['fd', client.fd],
    ['name', client.name],
    ['age', Math.floor((now - client.createdAt) / 1000)],
    ['idle', Math.floor((now - client.lastInteraction) / 1000)],
    ['flags', flagLetters(server, client)],
    ['db', client.db],
    ['sub', client.channels.size],
    ['psub', client.patterns.size],
    ['ssub', client.shardChannels.size],
    ['multi', client.inMulti ? client.multiQueue.length : client.execRunning],
    ['qbuf', mem.qbuf],
    ['qbuf-free', mem.qbufFree],
    ['argv-mem', mem.argvMem],
    ['multi-mem', mem.multiMem],
    // No per-client reply buffer (see clientMemoryFields): its size and peak are 0.
    ['rbs', 0],
    ['rbp', 0],
    ['obl', mem.obl],
    ['oll', mem.oll],
    ['omem', mem.omem],
    ['tot-mem', mem.totMem],
    ['events', mem.omem > 0 ? 'rw' : 'r'],
    ['cmd', current ? current.name : client.lastCommand],
    ['user', client.user.name],
    ['redir', client.tracking ? client.tracking.redirect : -1],
    ['resp', client.resp],
  ];
  return fields.map(([k, v]) => `${k}=${v}`).join(' ');
}

function clientId(ctx: Ctx): void {
  ctx.out.int(ctx.client.id);
}

function clientInfo(ctx: Ctx): void {
  ctx.out.verbatim(`${clientInfoLine(ctx.server, ctx.client, ctx)}\n`);
}

function clientList(ctx: Ctx): void {
  const { req, server } = ctx;
  let lines: string[];
  if (req.argc === 4 && argStr(req, 2).toLowerCase() === 'type') {
    const type = clientTypeByName(argStr(req, 3));
    if (type === null) throw new ReplyError(`ERR Unknown client type '${argStr(req, 3)}'`);
    lines = [...server.clients.values()].filter((c) => c.type === type).map((c) => clientInfoLine(server, c, ctx));
  } else if (req.argc > 3 && argStr(req, 2).toLowerCase() === 'id') {
    lines = [];
    for (let i = 3; i < req.argc; i++) {
      const id = parseInteger(argStr(req, i));
      if (id === null) throw new ReplyError('ERR Invalid client ID');
      const c = server.clients.get(id);
      if (c) lines.push(clientInfoLine(server, c, ctx));
    }
  } else if (req.argc !== 2) {
    throw new ReplyError(SYNTAX_ERROR);
  } else {
    lines = [...server.clients.values()].map((c) => clientInfoLine(server, c, ctx));
  }
  ctx.out.verbatim(lines.map((l) => `${l}\n`).join(''));
}

/** Client names are shown in CLIENT LIST, split on spaces: printable ASCII only. */
function validClientName(name: Buffer): boolean {
  for (const b of name) if (b < 0x21 || b > 0x7e) return false;
  return true;
}

function clientSetName(ctx: Ctx): void {
  const name = arg(ctx.req, 2);
  if (!validClientName(name)) throw new ReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
  ctx.client.name = name.toString('latin1');
  ctx.out.ok();
}

function clientGetName(ctx: Ctx): void {
  if (ctx.client.name === '') ctx.out.null();
  else ctx.out.bulk(ctx.client.name);
}

interface KillFilter {
  addr?: string;
  laddr?: string;
  type?: ClientType;
  id?: number;
  user?: User;
  skipMe: boolean;
}

function parseKillFilter(server: Server, req: Request): KillFilter {
  if (req.argc === 3) return { addr: argStr(req, 2), skipMe: false }; // old form: may kill itself
  const filter: KillFilter = { skipMe: true };
  for (let i = 2; i < req.argc; i += 2) {
    const opt = argStr(req, i).toLowerCase();
    if (i + 1 >= req.argc) throw new ReplyError(SYNTAX_ERROR);
    const value = argStr(req, i + 1);
    if (opt === 'id') {
      const id = parseInteger(value);
      if (id === null || id < 1) throw new ReplyError('ERR client-id should be greater than 0');
      filter.id = id;
    } else if (opt === 'type') {
      const type = clientTypeByName(value);
      if (type === null) throw new ReplyError(`ERR Unknown client type '${value}'`);
      filter.type = type;
    } else if (opt === 'addr') {
      filter.addr = value;
    } else if (opt === 'laddr') {
      filter.laddr = value;
    } else if (opt === 'user') {
      const user = server.acl.users.get(value);
      if (!user) throw new ReplyError(`ERR No such user '${value}'`);
      filter.user = user;
    } else if (opt === 'skipme') {
      const v = value.toLowerCase();
      if (v === 'yes') filter.skipMe = true;
      else if (v === 'no') filter.skipMe = false;
      else throw new ReplyError(SYNTAX_ERROR);
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  return filter;
}

function clientKill(ctx: Ctx): void {
  const { req, server, client: self } = ctx;
  const filter = parseKillFilter(server, req);
  let killed = 0;
  let killSelf = false;
  for (const c of [...server.clients.values()]) {
    if (filter.addr !== undefined && c.addr !== filter.addr) continue;
    if (filter.laddr !== undefined && c.laddr !== filter.laddr) continue;
    if (filter.type !== undefined && c.type !== filter.type) continue;
    if (filter.id !== undefined && c.id !== filter.id) continue;
    if (filter.user !== undefined && c.user !== filter.user) continue;
    if (c === self && filter.skipMe) continue;
    if (c === self) killSelf = true;
    else server.freeClient(c);
    killed++;
  }
  if (req.argc === 3) {
    if (killed === 0) throw new ReplyError('ERR No such client');
    ctx.out.ok();
  } else {
    ctx.out.int(killed);
  }
  // The reply still goes out; then the connection closes.
  if (killSelf) self.closeAfterReply = true;
}

function clientNoEvict(ctx: Ctx): void {
  const v = argStr(ctx.req, 2).toLowerCase();
  if (v === 'on') ctx.client.noEvict = true;
  else if (v === 'off') ctx.client.noEvict = false;
  else throw new ReplyError(SYNTAX_ERROR);
  ctx.out.ok();
}

/** CLIENT REPLY ON|OFF|SKIP: OFF and SKIP answer nothing (they are muted already). */
function clientReply(ctx: Ctx): void {
  const { client } = ctx;
  const mode = argStr(ctx.req, 2).toLowerCase();
  if (mode === 'on') {
    client.replyOff = false;
    client.replySkip = false;
    ctx.out.ok();
  } else if (mode === 'off') {
    client.replyOff = true;
  } else if (mode === 'skip') {
    if (!client.replyOff) client.replySkipNext = true;
  } else {
    throw new ReplyError(SYNTAX_ERROR);
  }
}

function clientUnblock(ctx: Ctx): void {
  const { req, server } = ctx;
  if (req.argc > 4) {
    // clientCommand's fallback (addReplySubcommandSyntaxError): names argv[1] as sent.
    throw subcommandSyntaxError(req);
  }
  let withError = false;
  if (req.argc === 4) {
    const reason = argStr(req, 3).toLowerCase();
    if (reason === 'error') withError = true;
    else if (reason !== 'timeout') throw new ReplyError('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
  }
  const id = parseInteger(argStr(req, 2));
  if (id === null) throw new ReplyError('ERR value is not an integer or out of range');
  const target = server.clients.get(id);
  ctx.out.int(target && server.blocking.unblock(target, withError) ? 1 : 0);
}

/**
 * CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP]:
 * options are parsed first (the redirection must exist now), then checked against each
 * other and the client's current mode, in Redis 7.0's order and words.
 */
function clientTracking(ctx: Ctx): void {
  const { req, server, client, out } = ctx;
  let redirect = 0;
  const options = { bcast: false, optin: false, optout: false, noloop: false };
  const prefixes: Buffer[] = [];
  for (let j = 3; j < req.argc; j++) {
    const opt = argStr(req, j).toLowerCase();
    const moreArgs = req.argc - 1 - j > 0;
    if (opt === 'redirect' && moreArgs) {
      j++;
      if (redirect !== 0) throw new ReplyError('ERR A client can only redirect to a single other client');
      const id = parseInteger(argStr(req, j));
      if (id === null) throw new ReplyError('ERR value is not an integer or out of range');
      if (!server.clients.has(id)) throw new ReplyError('ERR The client ID you want redirect to does not exist');
      redirect = id;
    } else if (opt === 'bcast') {
      options.bcast = true;
    } else if (opt === 'optin') {
      options.optin = true;
    } else if (opt === 'optout') {
      options.optout = true;
    } else if (opt === 'noloop') {
      options.noloop = true;
    } else if (opt === 'prefix' && moreArgs) {
      j++;
      prefixes.push(arg(req, j));
    } else {
      throw new ReplyError(SYNTAX_ERROR);
    }
  }
  const mode = argStr(req, 2).toLowerCase();
  if (mode === 'off') {
    server.clientTracking.disable(client);
    out.ok();
    return;
  }
  if (mode !== 'on') throw new ReplyError(SYNTAX_ERROR);
  const current = client.tracking;
  if (!options.bcast && prefixes.length > 0) throw new ReplyError('ERR PREFIX option requires BCAST mode to be enabled');
  if (current && current.bcast !== options.bcast) {
    throw new ReplyError("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
  }
  if (options.bcast && (options.optin || options.optout)) throw new ReplyError('ERR OPTIN and OPTOUT are not compatible with BCAST');
  if (options.optin && options.optout) throw new ReplyError("ERR You can't specify both OPTIN mode and OPTOUT mode");
  if ((options.optin && current?.optout) || (options.optout && current?.optin)) {
    throw new ReplyError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
  }
  if (options.bcast) {
    const collision = server.clientTracking.prefixCollision(client, prefixes);
    if (collision) {
      out.error(collision.error);
      // Redis reports an overlap found past the first prefix and enables tracking anyway.
      if (collision.stop) return;
    }
  }
  server.clientTracking.enable(client, redirect, options, prefixes);
  out.ok();
}

/** CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN / OPTOUT). */
function clientCaching(ctx: Ctx): void {
  const state = ctx.client.tracking;
  if (!state) throw new ReplyError('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
  const opt = argStr(ctx.req, 2).toLowerCase();
  if (opt === 'yes') {
    if (!state.optin) throw new ReplyError('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
  } else if (opt === 'no') {
    if (!state.optout) throw new ReplyError('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
  } else {
    throw new ReplyError(SYNTAX_ERROR);
  }
  state.caching = true;
  ctx.out.ok();
}

function clientGetRedir(ctx: Ctx): void {
  const state = ctx.client.tracking;
  ctx.out.int(state ? state.redirect : -1);
}

function clientTrackingInfo(ctx: Ctx): void {
  const { out } = ctx;
  const state = ctx.client.tracking;
  const flags: string[] = [state ? 'on' : 'off'];
  if (state) {
    if (state.bcast) flags.push('bcast');
    if (state.optin) flags.push('optin');
    if (state.optin && state.caching) flags.push('caching-yes');
    if (state.optout) flags.push('optout');
    if (state.optout && state.caching) flags.push('caching-no');
    if (state.noloop) flags.push('noloop');
    if (state.brokenRedirect) flags.push('broken_redirect');
  }
  out.map(3);
  out.bulk('flags');
  out.set(flags.length);
  for (const f of flags) out.bulk(f);
  out.bulk('redirect');
  out.int(state ? state.redirect : -1);
  out.bulk('prefixes');
  const prefixes = state?.prefixes ?? [];
  out.array(prefixes.length);
  for (const p of prefixes) out.bulk(p);
}

const CLIENT_HELP: HelpEntry[] = [
  ['caching', 'CACHING (YES|NO)', ['Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.']],
  ['getredir', 'GETREDIR', ['Return the client ID we are redirecting to when tracking is enabled.']],
  ['getname', 'GETNAME', ['Return the name of the current connection.']],
  ['id', 'ID', ['Return the ID of the current connection.']],
  ['info', 'INFO', ['Return information about the current client connection.']],
  ['kill', 'KILL <ip:port>', ['Kill connection made from <ip:port>.']],
  ['kill', 'KILL <option> <value> [<option> <value> [...]]', [
    'Kill connections. Options are:',
    '* ADDR (<ip:port>|<unixsocket>:0)',
    '  Kill connections made from the specified address',
    '* LADDR (<ip:port>|<unixsocket>:0)',
    '  Kill connections made to specified local address',
    '* TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
    '  Kill connections by type.',
    '* USER <username>',
    '  Kill connections authenticated by <username>.',
    '* SKIPME (YES|NO)',
    '  Skip killing current connection (default: yes).',
  ]],
  ['list', 'LIST [options ...]', [
    'Return information about client connections. Options:',
    '* TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
    '  Return clients of specified type.',
  ]],
  ['unpause', 'UNPAUSE', ['Stop the current client pause, resuming traffic.']],
  ['pause', 'PAUSE <timeout> [WRITE|ALL]', ['Suspend all, or just write, clients for <timeout> milliseconds.']],
  ['reply', 'REPLY (ON|OFF|SKIP)', ['Control the replies sent to the current connection.']],
  ['setname', 'SETNAME <name>', ['Assign the name <name> to the current connection.']],
  ['unblock', 'UNBLOCK <clientid> [TIMEOUT|ERROR]', ['Unblock the specified blocked client.']],
  ['tracking', 'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]', [
    '     [OPTIN] [OPTOUT] [NOLOOP]',
    'Control server assisted client side caching.',
  ]],
  ['trackinginfo', 'TRACKINGINFO', ['Report tracking status for the current connection.']],
  ['no-evict', 'NO-EVICT (ON|OFF)', ['Protect current client connection from eviction.']],
];

function clientHelp(ctx: Ctx): void {
  writeHelp(ctx, CLIENT_HELP, subcommandPresent(ctx.server, 'client'));
}

export const clientCommands: [string, Handler][] = [
  ['client|id', clientId],
  ['client|info', clientInfo],
  ['client|list', clientList],
  ['client|kill', clientKill],
  ['client|setname', clientSetName],
  ['client|getname', clientGetName],
  ['client|no-evict', clientNoEvict],
  ['client|reply', clientReply],
  ['client|unblock', clientUnblock],
  ['client|tracking', clientTracking],
  ['client|caching', clientCaching],
  ['client|getredir', clientGetRedir],
  ['client|trackinginfo', clientTrackingInfo],
  ['client|help', clientHelp],
];
