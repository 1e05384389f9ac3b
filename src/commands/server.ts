// Server commands answered in TypeScript: INFO, TIME, SHUTDOWN and OBJECT HELP (READONLY /
// READWRITE are cluster/commands.ts'). ROLE is replication's (replication/commands.ts). DBSIZE,
// SWAPDB, FLUSH* and OBJECT's key subcommands are native; LASTSAVE belongs to
// commands/persistence.ts; MEMORY, SLOWLOG and LATENCY to memory-cmd.ts and latency-cmd.ts.
import { infoString } from '../info';
import { commandTrigger } from '../persistence/triggers';
import type { ShutdownFlags } from '../shutdown';
import { subcommandPresent, writeHelp, type HelpEntry } from './command-cmd';
import { argStr, ReplyError, type Ctx, type Handler } from './types';

function info(ctx: Ctx): void {
  const args: string[] = [];
  for (let i = 1; i < ctx.req.argc; i++) args.push(argStr(ctx.req, i));
  ctx.out.verbatim(infoString(ctx.server, args));
}

function time(ctx: Ctx): void {
  const usec = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const sec = Math.floor(usec / 1e6);
  ctx.out.array(2);
  ctx.out.bulk(String(sec));
  ctx.out.bulk(String(usec - sec * 1e6));
}

/**
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: src/shutdown.ts runs it; the client stays
 * blocked while the server waits for its replicas, and gets an error if the shutdown fails
 * or is aborted.
 */
function shutdown(ctx: Ctx): void {
  const { req, server } = ctx;
  const flags: ShutdownFlags = {};
  let abort = false;
  for (let i = 1; i < req.argc; i++) {
    const opt = argStr(req, i).toLowerCase();
    if (opt === 'nosave') flags.nosave = true;
    else if (opt === 'save') flags.save = true;
    else if (opt === 'now') flags.now = true;
    else if (opt === 'force') flags.force = true;
    else if (opt === 'abort') abort = true;
    else throw new ReplyError('ERR syntax error');
  }
  const anyFlag = flags.nosave || flags.save || flags.now || flags.force;
  if ((abort && anyFlag) || (flags.nosave && flags.save)) throw new ReplyError('ERR syntax error');
  if (abort) {
    if (!server.shutdown.abort()) throw new ReplyError('ERR No shutdown in progress.');
    ctx.out.ok();
    return;
  }
  // Inside EXEC a client may not block, and SHUTDOWN blocks while it waits for replicas.
  if (!flags.now && server.execDepth > 0) {
    throw new ReplyError("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
  }
  // While a script is busy, only SHUTDOWN NOSAVE may end the server (a save would store the
  // script's partial writes).
  if (server.scripting.busy && !flags.nosave) throw new ReplyError(server.scripting.busyError());
  const error = server.shutdown.command(ctx.client, flags, commandTrigger('SHUTDOWN', ctx.client));
  if (error !== null) throw new ReplyError(error);
}

const OBJECT_HELP: HelpEntry[] = [
  ['encoding', 'ENCODING <key>', [
    'Return the kind of internal representation used in order to store the value',
    'associated with a <key>.',
  ]],
  ['freq', 'FREQ <key>', [
    'Return the access frequency index of the <key>. The returned integer is',
    'proportional to the logarithm of the recent access frequency of the key.',
  ]],
  ['idletime', 'IDLETIME <key>', [
    'Return the idle time of the <key>, that is the approximated number of',
    'seconds elapsed since the last access to the key.',
  ]],
  ['refcount', 'REFCOUNT <key>', [
    'Return the number of references of the value associated with the specified',
    '<key>.',
  ]],
];

function objectHelp(ctx: Ctx): void {
  writeHelp(ctx, OBJECT_HELP, subcommandPresent(ctx.server, 'object'));
}

export const serverCommands: [string, Handler][] = [
  ['info', info],
  ['time', time],
  ['shutdown', shutdown],
  ['object|help', objectHelp],
];
