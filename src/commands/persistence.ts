// Persistence commands: SAVE, BGSAVE [SCHEDULE], LASTSAVE, and FLUSHALL's save (the flush
// itself is the addon's; this wraps it with what Redis does around it).
import { native } from '../native';
import { commandTrigger } from '../persistence/triggers';
import { nativeHandler } from './dispatch';
import { argStr, ReplyError, type Ctx, type Handler } from './types';

const SAVE_IN_PROGRESS = 'ERR Background save already in progress';

function save(ctx: Ctx): void {
  const persistence = ctx.server.persistence;
  if (persistence.rdbChildRunning()) throw new ReplyError(SAVE_IN_PROGRESS);
  persistence.rdbSaves++;
  if (!persistence.saveForeground(commandTrigger('SAVE', ctx.client))) throw new ReplyError('ERR');
  ctx.out.ok();
}

function bgsave(ctx: Ctx): void {
  const { req, server, out } = ctx;
  let schedule = false;
  if (req.argc > 1) {
    if (req.argc === 2 && argStr(req, 1).toLowerCase() === 'schedule') schedule = true;
    else throw new ReplyError('ERR syntax error');
  }
  const persistence = server.persistence;
  if (persistence.rdbChildRunning()) throw new ReplyError(SAVE_IN_PROGRESS);
  // Inside EXEC a fork would snapshot a half-applied transaction: Redis defers it.
  const inExec = server.execDepth > 0;
  if (persistence.children.busy() || inExec) {
    if (!schedule && !inExec) {
      throw new ReplyError(
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
      );
    }
    persistence.children.schedule('rdb', commandTrigger(schedule ? 'BGSAVE SCHEDULE' : 'BGSAVE', ctx.client));
    out.simple('Background saving scheduled');
    return;
  }
  if (!persistence.startBackgroundSave(commandTrigger('BGSAVE', ctx.client))) throw new ReplyError('ERR');
  out.simple('Background saving started');
}

/** BGREWRITEAOF: the rewrite, scheduled behind another child, or refused (aof.ts). */
function bgrewriteaof(ctx: Ctx): void {
  const result = ctx.server.aof.bgrewriteaof(commandTrigger('BGREWRITEAOF', ctx.client));
  if (!result.ok) throw new ReplyError(result.text);
  ctx.out.simple(result.text);
}

function lastsave(ctx: Ctx): void {
  ctx.out.int(ctx.server.persistence.lastSaveTime);
}

/** FLUSHALL: the native flush, then stop a running save and save when save rules exist. */
function flushall(ctx: Ctx): void {
  const start = ctx.out.len;
  nativeHandler(ctx.server.commands.nativeIndex('flushall'))(ctx);
  const failed = ctx.out.len > start && ctx.out.buf[start] === 0x2d; /* '-': bad arguments */
  if (!failed) ctx.server.persistence.afterFlushAll(commandTrigger('FLUSHALL', ctx.client));
}

export function persistenceCommands(): [string, Handler][] {
  const commands: [string, Handler][] = [
    ['save', save],
    ['bgsave', bgsave],
    ['bgrewriteaof', bgrewriteaof],
    ['lastsave', lastsave],
  ];
  // The wrapper needs the native flush it wraps (an addon without one has no FLUSHALL at all).
  if (native.commandNames().includes('flushall')) commands.push(['flushall', flushall]);
  return commands;
}
